/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dma-buf backed iopt_pages: internal definitions of the importer.
 *
 * IOMMU_IOAS_MAP_FILE accepts a dma-buf whose exporter offers its physical
 * ranges (include/linux/dma-buf-phys.h). The iopt_pages gets type
 * IOPT_ADDRESS_DMABUF and a struct iopt_dmabuf. Nothing is pinned or
 * accounted: the ranges are MMIO that the exporter owns, and it can take
 * them away at any time with move_notify.
 *
 * The generic pfn_reader/batch machinery of pages.c is not used. pages.c
 * and io_pagetable.c hand every domain fill/unfill of a dma-buf area to
 * dmabuf.c (see p2p.h), which maps each physically contiguous range with a
 * single iommu_map() (IOMMU_MMIO, no IOMMU_CACHE) and records every
 * (area, domain) pair it is responsible for:
 *
 *   struct iopt_dmabuf              one per iopt_pages
 *     areas: struct iopt_dmabuf_area      one per iopt_area using the pages
 *       domains: struct iopt_dmabuf_domain  one per domain the area is in
 *
 * Invariant, under iopt_pages::mutex: every recorded (area, domain) pair
 * has the whole IOVA range of the area mapped to the current ranges if
 * !revoked, and nothing mapped if revoked.
 *
 * Revoke and restore: the exporter calls move_notify with the reservation
 * lock held. The importer asks for the ranges again. -ENODEV (or any
 * error) means revoke: every recorded pair is unmapped (iommu_unmap()
 * flushes the IOTLB before returning) and the ranges are forgotten. Ranges
 * while revoked mean restore: every recorded pair is mapped again, so all
 * domains get their IOPTEs back without any action from userspace. Ranges
 * that differ from the current ones while mapped are a move: unmap, then
 * map the new ranges.
 *
 * Restore retry: a restore can fail (no memory for the ranges or for IOMMU
 * page tables). The pages then stay revoked, which is safe, but the
 * exporter will not send another move_notify until its next state change.
 * So the failure is counted and iopt_dmabuf::restore_work tries again,
 * after 10 ms, doubling up to 1 s, until a restore succeeds, the pages
 * have no area left, the exporter revokes (or restores by itself) again,
 * or the pages are released. The work does what move_notify does: it
 * takes dma_buf::resv, reads the ranges, then takes iopt_pages::mutex.
 * It is only queued under iopt_pages::mutex while an area is recorded;
 * iopt_dmabuf_release() runs when no area is left and cancels it
 * synchronously before it detaches, so it never outlives the attachment.
 * UNMAP and MAP_FILE from userspace keep working in every state.
 *
 * Deferred restore: the revoke is always done inside move_notify, so no
 * DMA reaches the BAR once the exporter's revoke returns. Putting the
 * IOPTEs back is not needed for that, and for a large area in small
 * IOPTEs (a 64 GiB BAR in 4K IOPTEs is 16M of them) it takes far longer
 * than the exporter's reset itself. So a restore whose estimated number of
 * IOPTEs, over all areas and domains (each domain costed with the largest
 * IOPTE size up to 1G that its pgsize_bitmap offers and the congruence of
 * IOVA and physical address allows), is above the dmabuf_restore_inline
 * module parameter (16384 by default) is not done in move_notify: the
 * pages stay revoked, retry_pending and deferred are set and restore_work
 * is queued at once on iopt_dmabuf_wq. It does what a retry does: takes
 * dma_buf::resv, reads the ranges again, takes iopt_pages::mutex, and
 * restores if the state still calls for it; a failure starts the retry
 * backoff. Small restores (every 16 MiB BAR, any BAR in 1G IOPTEs) stay
 * inside move_notify, so their users see no change. A revoke that comes
 * while the work is queued or running clears retry_pending, and the work
 * then leaves the pages revoked; a restore that comes meanwhile queues it
 * again; unmapping the last area stops it, and iopt_dmabuf_release()
 * waits for it, as for a retry. Each deferred restore is counted in
 * iommufd_ctx::dmabuf_deferred of the iommufd that mapped the dma-buf
 * (IOMMU_IOAS_COPY stays inside one iommufd, so its pages have one), from
 * the deferral until restore_work put the IOPTEs back, failed, or gave up;
 * a retry after a failure is not counted. iopt_dmabuf_wait_restores(),
 * called at the start of every iommufd ioctl except the test ops, waits
 * (killable) until that iommufd's count is 0: after the exporter says the
 * BAR is back, the user's next call on the same iommufd returns with the
 * IOPTEs back, and other iommufds never wait for it. The iommufd_ctx
 * outlives the count: iommufd_fops_release() destroys every object, which
 * releases every iopt_pages, and iopt_dmabuf_release() cancels or waits
 * for restore_work and drops the count, before the ctx is freed.
 * Limitation: restore_work holds dma_buf::resv and iopt_pages::mutex for
 * the whole restore, so a revoke by the exporter that comes meanwhile
 * waits for it to finish; restoring in chunks is left for later.
 *
 * Lock order (outermost first). This extends the order documented above
 * struct io_pagetable in iommufd_private.h; the exporter's locks, which
 * nest outside dma_buf::resv, are in include/linux/dma-buf-phys.h:
 *
 *   iommufd_ctx::dmabuf_restore_wait      waited on at ioctl entry, no lock held
 *   io_pagetable::domains_rwsem
 *     io_pagetable::iova_rwsem
 *       iopt_dmabuf_all_lock              debugfs list
 *       iopt_dmabuf::restore_work         waited for at release
 *         dma_buf::resv                   dma_buf_detach() at release
 *           iopt_pages::mutex             own lock class for dma-buf pages
 *             iommu driver locks, fs_reclaim (page table allocation)
 *
 * - move_notify runs with dma_buf::resv held and only takes
 *   iopt_pages::mutex. It never takes domains_rwsem or iova_rwsem, which
 *   is why the (area, domain) pairs are recorded under iopt_pages::mutex
 *   instead of being looked up in the io_pagetable.
 * - dma_buf::resv is never taken with iopt_pages::mutex held:
 *   dma_buf_detach() runs from iopt_release_pages(), which holds no
 *   pages mutex (it may hold domains_rwsem and iova_rwsem).
 * - restore_work takes dma_buf::resv, then iopt_pages::mutex, exactly like
 *   move_notify, and nothing else. iopt_dmabuf_release() waits for it with
 *   neither held. move_notify only queues or cancels it without waiting.
 * - Map time attaches and reads the ranges before any io_pagetable lock.
 * - dma-buf pages never call GUP, so mmap_lock is not taken under their
 *   iopt_pages::mutex. They get a lock class of their own because
 *   mmap_lock -> dma_buf::resv exists elsewhere (dma_resv_lockdep()) while
 *   user VA pages take mmap_lock under their iopt_pages::mutex.
 *
 * Lifetime: the iopt_pages holds a reference on the dma-buf and the
 * attachment from creation until iopt_release_pages(). Areas are recorded
 * by iopt_dmabuf_fill_domains() and dropped by iopt_dmabuf_unfill_domains(),
 * which pages.c calls for every area of every iopt_pages.
 */
#ifndef __IOMMUFD_P2P_DMABUF_H
#define __IOMMUFD_P2P_DMABUF_H

#include <linux/dma-buf-phys.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/workqueue.h>

#include "../io_pagetable.h"

struct dma_buf;
struct dma_buf_attachment;
struct iommu_domain;
struct iommufd_ctx;

/**
 * struct iopt_dmabuf_domain - a domain a dma-buf area is filled into
 * @node: entry in &iopt_dmabuf_area.domains
 * @domain: the domain
 */
struct iopt_dmabuf_domain {
	struct list_head node;
	struct iommu_domain *domain;
};

/**
 * struct iopt_dmabuf_area - an area whose pages are a dma-buf
 * @node: entry in &iopt_dmabuf.areas
 * @area: the area; valid while it is recorded
 * @domains: struct iopt_dmabuf_domain, the domains the area is filled into
 * @nr_domains: number of entries in @domains
 */
struct iopt_dmabuf_area {
	struct list_head node;
	struct iopt_area *area;
	struct list_head domains;
	unsigned int nr_domains;
};

/**
 * struct iopt_dmabuf - importer state of a dma-buf backed iopt_pages
 * @pages: the iopt_pages this belongs to
 * @ictx: the iommufd that made @pages; counts its deferred restores
 * @dmabuf: the dma-buf, referenced until iopt_dmabuf_release()
 * @phys: the dma_buf_phys_attach() attachment; @phys.attach is NULL until
 *	attached
 * @start: offset in the dma-buf of byte 0 of page index 0, page aligned
 * @all_node: entry in the debugfs list, protected by iopt_dmabuf_all_lock
 * @ranges: the current ranges, physically contiguous neighbours merged;
 *	NULL while revoked
 * @nr_ranges: number of entries in @ranges
 * @from_va: made for an IOMMU_IOAS_MAP or VFIO_IOMMU_MAP_DMA of a BAR mmap
 *	(p2p/bar_va.c), not for IOMMU_IOAS_MAP_FILE; set before the first map
 * @revoked: no IOPTE exists for any recorded pair
 * @areas: struct iopt_dmabuf_area, every area using @pages
 * @revoke_count: number of times the IOPTEs were removed by move_notify
 * @restore_count: number of times they were put back, by move_notify or by
 *	@restore_work
 * @restore_errors: number of restores that failed and left @revoked set,
 *	retried ones included
 * @restore_retries: number of restores @restore_work attempted
 * @retry_pending: a failed or deferred restore waits for @restore_work
 * @deferred: @restore_work is queued for a deferred restore, not a retry;
 *	counted in iopt_dmabuf_nr_deferred and @ictx->dmabuf_deferred
 * @restore_deferrals: number of restores move_notify left to @restore_work
 * @retry_attempt: number of the next retry since the last failure that
 *	move_notify saw, from 1
 * @retry_delay_ms: delay before that retry
 * @restore_work: retries a failed restore and does deferred ones, see
 *	"Restore retry" and "Deferred restore" above
 *
 * Every field from @ranges on is protected by @pages->mutex.
 */
struct iopt_dmabuf {
	struct iopt_pages *pages;
	struct iommufd_ctx *ictx;
	struct dma_buf *dmabuf;
	struct dma_buf_phys_attachment phys;
	unsigned long start;
	struct list_head all_node;

	struct phys_vec *ranges;
	unsigned int nr_ranges;
	bool from_va;
	bool revoked;
	struct list_head areas;
	unsigned long revoke_count;
	unsigned long restore_count;
	unsigned long restore_errors;
	unsigned long restore_retries;
	bool retry_pending;
	bool deferred;
	unsigned long restore_deferrals;
	unsigned int retry_attempt;
	unsigned int retry_delay_ms;
	struct delayed_work restore_work;
};

/* dmabuf.c: deferred restores in flight, over every iommufd */
extern atomic_t iopt_dmabuf_nr_deferred;

/* dmabuf_debugfs.c */
extern struct mutex iopt_dmabuf_all_lock;
extern struct list_head iopt_dmabuf_all;
#ifdef CONFIG_DEBUG_FS
void iopt_dmabuf_debugfs_init(void);
void iopt_dmabuf_debugfs_exit(void);
#else
static inline void iopt_dmabuf_debugfs_init(void) { }
static inline void iopt_dmabuf_debugfs_exit(void) { }
#endif

unsigned long iopt_dmabuf_ino(const struct iopt_dmabuf *idma);
u32 iopt_dmabuf_ioas_id(const struct iopt_area *area);

#endif /* __IOMMUFD_P2P_DMABUF_H */
