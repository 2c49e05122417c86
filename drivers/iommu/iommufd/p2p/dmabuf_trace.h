/* SPDX-License-Identifier: GPL-2.0 */
/*
 * iommufd dma-buf importer tracepoints.
 *
 * A dma-buf is named by the inode number of its file, the number that
 * <debugfs>/dma_buf/bufinfo, /proc/<pid>/fdinfo/<fd> and
 * <debugfs>/iommufd/dmabuf_areas show.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM iommufd_dmabuf

#if !defined(_TRACE_IOMMUFD_DMABUF_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TRACE_IOMMUFD_DMABUF_H

#include <linux/tracepoint.h>

TRACE_EVENT(iommufd_dmabuf_map,
	    TP_PROTO(unsigned long ino, u32 ioas_id, unsigned long iova,
		     unsigned long length, unsigned long offset,
		     unsigned int domains, bool revoked),
	    TP_ARGS(ino, ioas_id, iova, length, offset, domains, revoked),
	    TP_STRUCT__entry(__field(unsigned long, ino)
			     __field(u32, ioas_id)
			     __field(unsigned long, iova)
			     __field(unsigned long, length)
			     __field(unsigned long, offset)
			     __field(unsigned int, domains)
			     __field(bool, revoked)),
	    TP_fast_assign(__entry->ino = ino;
			   __entry->ioas_id = ioas_id;
			   __entry->iova = iova;
			   __entry->length = length;
			   __entry->offset = offset;
			   __entry->domains = domains;
			   __entry->revoked = revoked;),
	    TP_printk("dmabuf=%lu ioas=%u iova=%#lx length=%#lx offset=%#lx domains=%u revoked=%d",
		      __entry->ino, __entry->ioas_id, __entry->iova,
		      __entry->length, __entry->offset, __entry->domains,
		      __entry->revoked)
);

TRACE_EVENT(iommufd_dmabuf_map_va,
	    TP_PROTO(unsigned long ino, unsigned long uaddr,
		     unsigned long length, int ret),
	    TP_ARGS(ino, uaddr, length, ret),
	    TP_STRUCT__entry(__field(unsigned long, ino)
			     __field(unsigned long, uaddr)
			     __field(unsigned long, length)
			     __field(int, ret)),
	    TP_fast_assign(__entry->ino = ino;
			   __entry->uaddr = uaddr;
			   __entry->length = length;
			   __entry->ret = ret;),
	    TP_printk("dmabuf=%lu source=va uaddr=%#lx length=%#lx ret=%d",
		      __entry->ino, __entry->uaddr, __entry->length,
		      __entry->ret)
);

/* An automatic IOVA congruent to @phys modulo @size; @iova 0: none free */
TRACE_EVENT(iommufd_dmabuf_alloc_iova,
	    TP_PROTO(unsigned long ino, u64 phys, unsigned long length,
		     unsigned long size, unsigned long iova),
	    TP_ARGS(ino, phys, length, size, iova),
	    TP_STRUCT__entry(__field(unsigned long, ino)
			     __field(u64, phys)
			     __field(unsigned long, length)
			     __field(unsigned long, size)
			     __field(unsigned long, iova)),
	    TP_fast_assign(__entry->ino = ino;
			   __entry->phys = phys;
			   __entry->length = length;
			   __entry->size = size;
			   __entry->iova = iova;),
	    TP_printk("dmabuf=%lu phys=%#llx length=%#lx congruent=%#lx iova=%#lx",
		      __entry->ino, __entry->phys, __entry->length,
		      __entry->size, __entry->iova)
);

TRACE_EVENT(iommufd_dmabuf_unmap,
	    TP_PROTO(unsigned long ino, u32 ioas_id, unsigned long iova,
		     unsigned long length, unsigned int domains),
	    TP_ARGS(ino, ioas_id, iova, length, domains),
	    TP_STRUCT__entry(__field(unsigned long, ino)
			     __field(u32, ioas_id)
			     __field(unsigned long, iova)
			     __field(unsigned long, length)
			     __field(unsigned int, domains)),
	    TP_fast_assign(__entry->ino = ino;
			   __entry->ioas_id = ioas_id;
			   __entry->iova = iova;
			   __entry->length = length;
			   __entry->domains = domains;),
	    TP_printk("dmabuf=%lu ioas=%u iova=%#lx length=%#lx domains=%u",
		      __entry->ino, __entry->ioas_id, __entry->iova,
		      __entry->length, __entry->domains)
);

TRACE_EVENT(iommufd_dmabuf_revoke,
	    TP_PROTO(unsigned long ino, unsigned int areas,
		     unsigned int unmapped, int reason),
	    TP_ARGS(ino, areas, unmapped, reason),
	    TP_STRUCT__entry(__field(unsigned long, ino)
			     __field(unsigned int, areas)
			     __field(unsigned int, unmapped)
			     __field(int, reason)),
	    TP_fast_assign(__entry->ino = ino;
			   __entry->areas = areas;
			   __entry->unmapped = unmapped;
			   __entry->reason = reason;),
	    TP_printk("dmabuf=%lu areas=%u unmapped=%u reason=%d",
		      __entry->ino, __entry->areas, __entry->unmapped,
		      __entry->reason)
);

/*
 * One per restore, successful (ret=0) or not. attempt=0 is the restore of
 * a move_notify, attempt=N the Nth retry by the restore work after it.
 */
TRACE_EVENT(iommufd_dmabuf_restore,
	    TP_PROTO(unsigned long ino, unsigned int areas, unsigned int mapped,
		     unsigned int nr_ranges, unsigned int attempt, int ret),
	    TP_ARGS(ino, areas, mapped, nr_ranges, attempt, ret),
	    TP_STRUCT__entry(__field(unsigned long, ino)
			     __field(unsigned int, areas)
			     __field(unsigned int, mapped)
			     __field(unsigned int, nr_ranges)
			     __field(unsigned int, attempt)
			     __field(int, ret)),
	    TP_fast_assign(__entry->ino = ino;
			   __entry->areas = areas;
			   __entry->mapped = mapped;
			   __entry->nr_ranges = nr_ranges;
			   __entry->attempt = attempt;
			   __entry->ret = ret;),
	    TP_printk("dmabuf=%lu areas=%u mapped=%u ranges=%u attempt=%u ret=%d",
		      __entry->ino, __entry->areas, __entry->mapped,
		      __entry->nr_ranges, __entry->attempt, __entry->ret)
);

/* A failed restore: the retry @attempt is queued to run after @delay_ms */
TRACE_EVENT(iommufd_dmabuf_restore_retry,
	    TP_PROTO(unsigned long ino, unsigned int attempt,
		     unsigned int delay_ms, int err),
	    TP_ARGS(ino, attempt, delay_ms, err),
	    TP_STRUCT__entry(__field(unsigned long, ino)
			     __field(unsigned int, attempt)
			     __field(unsigned int, delay_ms)
			     __field(int, err)),
	    TP_fast_assign(__entry->ino = ino;
			   __entry->attempt = attempt;
			   __entry->delay_ms = delay_ms;
			   __entry->err = err;),
	    TP_printk("dmabuf=%lu attempt=%u delay_ms=%u err=%d", __entry->ino,
		      __entry->attempt, __entry->delay_ms, __entry->err)
);

/* A restore of about @ioptes IOPTEs was left to the restore work */
TRACE_EVENT(iommufd_dmabuf_restore_defer,
	    TP_PROTO(unsigned long ino, unsigned long ioptes),
	    TP_ARGS(ino, ioptes),
	    TP_STRUCT__entry(__field(unsigned long, ino)
			     __field(unsigned long, ioptes)),
	    TP_fast_assign(__entry->ino = ino;
			   __entry->ioptes = ioptes;),
	    TP_printk("dmabuf=%lu ioptes=%lu", __entry->ino, __entry->ioptes)
);

TRACE_EVENT(iommufd_dmabuf_release,
	    TP_PROTO(unsigned long ino, unsigned long revokes,
		     unsigned long restores),
	    TP_ARGS(ino, revokes, restores),
	    TP_STRUCT__entry(__field(unsigned long, ino)
			     __field(unsigned long, revokes)
			     __field(unsigned long, restores)),
	    TP_fast_assign(__entry->ino = ino;
			   __entry->revokes = revokes;
			   __entry->restores = restores;),
	    TP_printk("dmabuf=%lu revokes=%lu restores=%lu", __entry->ino,
		      __entry->revokes, __entry->restores)
);

#endif /* _TRACE_IOMMUFD_DMABUF_H */

/* The Makefile adds this directory to the include path */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE dmabuf_trace

/* This part must be outside protection */
#include <trace/define_trace.h>
