/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vfio-pci dma-buf exporter tracepoints.
 *
 * Every event carries the exporting device and the dma-buf id that also
 * appears in <debugfs>/vfio_pci_dmabuf/exports.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM vfio_pci_dmabuf

#if !defined(_TRACE_VFIO_PCI_DMABUF_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TRACE_VFIO_PCI_DMABUF_H

#include <linux/tracepoint.h>

TRACE_EVENT(vfio_pci_dmabuf_export,
	    TP_PROTO(const char *dev, u64 id, unsigned int bar, u32 nr_ranges,
		     size_t size, bool revoked, bool from_va),
	    TP_ARGS(dev, id, bar, nr_ranges, size, revoked, from_va),
	    TP_STRUCT__entry(__string(dev, dev)
			     __field(u64, id)
			     __field(unsigned int, bar)
			     __field(u32, nr_ranges)
			     __field(size_t, size)
			     __field(bool, revoked)
			     __field(bool, from_va)),
	    TP_fast_assign(__assign_str(dev);
			   __entry->id = id;
			   __entry->bar = bar;
			   __entry->nr_ranges = nr_ranges;
			   __entry->size = size;
			   __entry->revoked = revoked;
			   __entry->from_va = from_va;),
	    TP_printk("%s dmabuf=%llu bar=%u ranges=%u size=%#zx revoked=%d source=%s",
		      __get_str(dev), __entry->id, __entry->bar,
		      __entry->nr_ranges, __entry->size, __entry->revoked,
		      __entry->from_va ? "va" : "fd")
);

TRACE_EVENT(vfio_pci_dmabuf_attach,
	    TP_PROTO(const char *dev, u64 id, const char *importer,
		     const char *map, int ret),
	    TP_ARGS(dev, id, importer, map, ret),
	    TP_STRUCT__entry(__string(dev, dev)
			     __field(u64, id)
			     __string(importer, importer)
			     __string(map, map)
			     __field(int, ret)),
	    TP_fast_assign(__assign_str(dev);
			   __entry->id = id;
			   __assign_str(importer);
			   __assign_str(map);
			   __entry->ret = ret;),
	    TP_printk("%s dmabuf=%llu importer=%s map=%s ret=%d",
		      __get_str(dev), __entry->id, __get_str(importer),
		      __get_str(map), __entry->ret)
);

TRACE_EVENT(vfio_pci_dmabuf_revoke,
	    TP_PROTO(const char *dev, u64 id, const char *reason,
		     unsigned int importers, bool permanent),
	    TP_ARGS(dev, id, reason, importers, permanent),
	    TP_STRUCT__entry(__string(dev, dev)
			     __field(u64, id)
			     __string(reason, reason)
			     __field(unsigned int, importers)
			     __field(bool, permanent)),
	    TP_fast_assign(__assign_str(dev);
			   __entry->id = id;
			   __assign_str(reason);
			   __entry->importers = importers;
			   __entry->permanent = permanent;),
	    TP_printk("%s dmabuf=%llu reason=%s importers=%u permanent=%d",
		      __get_str(dev), __entry->id, __get_str(reason),
		      __entry->importers, __entry->permanent)
);

TRACE_EVENT(vfio_pci_dmabuf_restore,
	    TP_PROTO(const char *dev, u64 id, unsigned int importers),
	    TP_ARGS(dev, id, importers),
	    TP_STRUCT__entry(__string(dev, dev)
			     __field(u64, id)
			     __field(unsigned int, importers)),
	    TP_fast_assign(__assign_str(dev);
			   __entry->id = id;
			   __entry->importers = importers;),
	    TP_printk("%s dmabuf=%llu importers=%u", __get_str(dev),
		      __entry->id, __entry->importers)
);

TRACE_EVENT(vfio_pci_dmabuf_unmap_timeout,
	    TP_PROTO(const char *dev, u64 id, int mappings),
	    TP_ARGS(dev, id, mappings),
	    TP_STRUCT__entry(__string(dev, dev)
			     __field(u64, id)
			     __field(int, mappings)),
	    TP_fast_assign(__assign_str(dev);
			   __entry->id = id;
			   __entry->mappings = mappings;),
	    TP_printk("%s dmabuf=%llu mappings=%d", __get_str(dev),
		      __entry->id, __entry->mappings)
);

TRACE_EVENT(vfio_pci_dmabuf_release,
	    TP_PROTO(const char *dev, u64 id, unsigned long revokes),
	    TP_ARGS(dev, id, revokes),
	    TP_STRUCT__entry(__string(dev, dev)
			     __field(u64, id)
			     __field(unsigned long, revokes)),
	    TP_fast_assign(__assign_str(dev);
			   __entry->id = id;
			   __entry->revokes = revokes;),
	    TP_printk("%s dmabuf=%llu revokes=%lu", __get_str(dev),
		      __entry->id, __entry->revokes)
);

#endif /* _TRACE_VFIO_PCI_DMABUF_H */

/* The Makefile adds this directory to the include path */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE vfio_pci_dmabuf_trace

/* This part must be outside protection */
#include <trace/define_trace.h>
