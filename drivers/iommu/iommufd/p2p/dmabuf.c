// SPDX-License-Identifier: GPL-2.0
/*
 * IOMMU_IOAS_MAP_FILE of a dma-buf: the importer and its revoke/restore
 * tracker.
 *
 * See p2p/dmabuf.h for the design, the invariant and the lock order.
 */
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/dma-buf.h>
#include <linux/dma-buf-phys.h>
#include <linux/dma-resv.h>
#include <linux/fault-inject.h>
#include <linux/fs.h>
#include <linux/iommu.h>
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "../double_span.h"
#include "../iommufd_private.h"
#include "dmabuf.h"
#include "p2p.h"

#define CREATE_TRACE_POINTS
#include "dmabuf_trace.h"

MODULE_IMPORT_NS(DMA_BUF);

/* See "Lock order" in dmabuf.h */
static struct lock_class_key iopt_dmabuf_mutex_key;

/* Backoff of the restore retry, see "Restore retry" in dmabuf.h */
#define IOPT_DMABUF_RETRY_MIN_MS	10
#define IOPT_DMABUF_RETRY_MAX_MS	1000

/*
 * Restores that need more IOPTEs than this, over all areas and domains,
 * are deferred to iopt_dmabuf_wq, see "Deferred restore" in dmabuf.h.
 * 16384 IOPTEs is a 64 MiB BAR in 4K IOPTEs or a BAR of almost 32 GiB in
 * 2M IOPTEs; a BAR in 1G IOPTEs costs a few thousand at most.
 */
static unsigned int dmabuf_restore_inline = 16384;
module_param(dmabuf_restore_inline, uint, 0644);
MODULE_PARM_DESC(dmabuf_restore_inline,
		 "Restore dma-buf IOPTEs inside the exporter's notification when at most this many are needed, else in a work item (default: 16384; 0: always deferred)");

/*
 * Large IOPTE sizes, largest first, for which an automatic IOVA is made
 * congruent: 1G and 2M, as on x86-64. Restores are costed with the sizes
 * each domain supports, see iopt_dmabuf_restore_cost().
 */
static const unsigned long iopt_dmabuf_iopte_sizes[] = { SZ_1G, SZ_2M };

/*
 * iommufd's misc device: the struct device of every dma-buf attachment of
 * the importer, which exporters name in their logs and debugfs. Nothing
 * DMAs through it.
 */
static struct device *iopt_dmabuf_dev;

/* Runs restore_work for deferred restores and retries */
static struct workqueue_struct *iopt_dmabuf_wq;
/*
 * Deferred restores queued and not finished, over every iommufd, for
 * debugfs; each iommufd_ctx counts its own in dmabuf_deferred.
 */
atomic_t iopt_dmabuf_nr_deferred = ATOMIC_INIT(0);

#if IS_ENABLED(CONFIG_IOMMUFD_TEST)
/* Tests hold a deferred restore in flight: restore_work sleeps first */
static unsigned int dmabuf_restore_test_delay_ms;
module_param(dmabuf_restore_test_delay_ms, uint, 0644);
MODULE_PARM_DESC(dmabuf_restore_test_delay_ms,
		 "Test only: delay, in ms, of every dma-buf restore work before it takes any lock (default: 0)");

static void iopt_dmabuf_test_delay(void)
{
	unsigned int ms = READ_ONCE(dmabuf_restore_test_delay_ms);

	if (ms)
		msleep(ms);
}
#else
static void iopt_dmabuf_test_delay(void) { }
#endif

#if IS_ENABLED(CONFIG_IOMMUFD_TEST) && IS_ENABLED(CONFIG_FAULT_INJECTION)
/*
 * <debugfs>/fail_iommufd_dmabuf_map: fail the iommu_map() of dma-buf
 * areas, in any context (the restore retry runs in a kworker, which a
 * task-filtered failslab or a task's fail-nth cannot reach).
 */
static DECLARE_FAULT_ATTR(iopt_dmabuf_fail_map_attr);

static bool iopt_dmabuf_fail_map(size_t size)
{
	return should_fail(&iopt_dmabuf_fail_map_attr, size);
}
#else
static bool iopt_dmabuf_fail_map(size_t size)
{
	return false;
}
#endif

#if IS_ENABLED(CONFIG_IOMMUFD_TEST) && \
	IS_ENABLED(CONFIG_FAULT_INJECTION_DEBUG_FS)
static struct dentry *iopt_dmabuf_fail_map_dir;

static void iopt_dmabuf_fail_map_init(void)
{
	/* Quiet by default: every retry would print a stack otherwise */
	iopt_dmabuf_fail_map_attr.verbose = 0;
	iopt_dmabuf_fail_map_dir =
		fault_create_debugfs_attr("fail_iommufd_dmabuf_map", NULL,
					  &iopt_dmabuf_fail_map_attr);
	if (IS_ERR(iopt_dmabuf_fail_map_dir))
		iopt_dmabuf_fail_map_dir = NULL;
}

static void iopt_dmabuf_fail_map_exit(void)
{
	debugfs_remove_recursive(iopt_dmabuf_fail_map_dir);
	iopt_dmabuf_fail_map_dir = NULL;
}
#else
static void iopt_dmabuf_fail_map_init(void) { }
static void iopt_dmabuf_fail_map_exit(void) { }
#endif

/**
 * iopt_dmabuf_ino() - Name of a dma-buf for traces and debugfs
 * @idma: the importer state
 *
 * Return: the inode number of the dma-buf's file.
 */
unsigned long iopt_dmabuf_ino(const struct iopt_dmabuf *idma)
{
	return file_inode(idma->dmabuf->file)->i_ino;
}

/**
 * iopt_dmabuf_ioas_id() - ID of the IOAS an area belongs to
 * @area: an area that is recorded in an iopt_dmabuf
 *
 * Return: the object ID of the IOAS that embeds @area->iopt.
 */
u32 iopt_dmabuf_ioas_id(const struct iopt_area *area)
{
	return container_of(area->iopt, struct iommufd_ioas, iopt)->obj.id;
}

/* Merge ranges that are physically contiguous, in place */
static unsigned int iopt_dmabuf_merge_ranges(struct phys_vec *r,
					     unsigned int nr)
{
	unsigned int i, out = 0;

	for (i = 1; i < nr; i++) {
		if (r[out].paddr + r[out].len == r[i].paddr)
			r[out].len += r[i].len;
		else
			r[++out] = r[i];
	}
	return out + 1;
}

static bool iopt_dmabuf_same_ranges(const struct iopt_dmabuf *idma,
				    const struct phys_vec *r,
				    unsigned int nr)
{
	unsigned int i;

	if (idma->nr_ranges != nr)
		return false;
	for (i = 0; i != nr; i++)
		if (idma->ranges[i].paddr != r[i].paddr ||
		    idma->ranges[i].len != r[i].len)
			return false;
	return true;
}

/* Unmap the whole IOVA range of @area, which must be fully mapped */
static void iopt_dmabuf_iommu_unmap(struct iommu_domain *domain,
				    unsigned long iova, size_t size)
{
	size_t ret;

	ret = iommu_unmap(domain, iova, size);
	/* Same rule as iommu_unmap_nofail() in pages.c */
	WARN_ON(ret != size);
}

static int iopt_dmabuf_iommu_map(struct iopt_area *area,
				 struct iommu_domain *domain,
				 unsigned long iova, phys_addr_t paddr,
				 size_t size, int prot)
{
	unsigned long start_iova = iova;
	int rc;

	if (iopt_dmabuf_fail_map(size))
		return -ENOMEM;

	/*
	 * One call per physically contiguous piece lets the IOMMU driver use
	 * the largest IOPTEs the alignment allows. vfio type1 compatibility
	 * (disable_large_pages) promises PAGE_SIZE IOPTEs, like
	 * batch_iommu_map_small().
	 */
	if (!READ_ONCE(area->iopt->disable_large_pages))
		return iommu_map(domain, iova, paddr, size, prot,
				 GFP_KERNEL_ACCOUNT);

	while (size) {
		rc = iommu_map(domain, iova, paddr, PAGE_SIZE, prot,
			       GFP_KERNEL_ACCOUNT);
		if (rc)
			goto err_unmap;
		iova += PAGE_SIZE;
		paddr += PAGE_SIZE;
		size -= min_t(size_t, size, PAGE_SIZE);
	}
	return 0;

err_unmap:
	if (iova != start_iova)
		iopt_dmabuf_iommu_unmap(domain, start_iova, iova - start_iova);
	return rc;
}

/*
 * Map the whole IOVA range of @area to the current ranges. Byte @iova of the
 * area is byte @off of the dma-buf; each range that overlaps the area gets
 * one iommu_map(). On failure nothing is left mapped.
 */
static int iopt_dmabuf_map_area(struct iopt_dmabuf *idma,
				struct iopt_area *area,
				struct iommu_domain *domain)
{
	unsigned long iova = iopt_area_iova(area);
	unsigned long off = idma->start + iopt_area_start_byte(area, iova);
	unsigned long end = off + iopt_area_length(area);
	unsigned long mapped = iova;
	unsigned long roff = 0;
	unsigned int i;
	int prot;
	int rc;

	lockdep_assert_held(&idma->pages->mutex);
	if (WARN_ON(idma->revoked))
		return -EINVAL;

	/* MMIO: uncached, whatever the IOAS asked for memory */
	prot = (area->iommu_prot & ~IOMMU_CACHE) | IOMMU_MMIO;

	for (i = 0; i != idma->nr_ranges && roff < end;
	     roff += idma->ranges[i].len, i++) {
		const struct phys_vec *r = &idma->ranges[i];
		unsigned long s, e;

		if (roff + r->len <= off)
			continue;
		s = max(off, roff);
		e = min_t(unsigned long, end, roff + r->len);
		rc = iopt_dmabuf_iommu_map(area, domain, iova + (s - off),
					   r->paddr + (s - roff), e - s, prot);
		if (rc)
			goto err_unmap;
		mapped = iova + (e - off);
	}
	/* dma_buf_phys_map() checked that the ranges cover the dma-buf */
	if (WARN_ON(mapped != iova + iopt_area_length(area))) {
		rc = -EINVAL;
		goto err_unmap;
	}
	return 0;

err_unmap:
	if (mapped != iova)
		iopt_dmabuf_iommu_unmap(domain, iova, mapped - iova);
	return rc;
}

static void iopt_dmabuf_unmap_area(struct iopt_dmabuf *idma,
				   struct iopt_area *area,
				   struct iommu_domain *domain)
{
	lockdep_assert_held(&idma->pages->mutex);
	if (!idma->revoked)
		iopt_dmabuf_iommu_unmap(domain, iopt_area_iova(area),
					iopt_area_length(area));
}

static struct iopt_dmabuf_area *iopt_dmabuf_find_area(struct iopt_dmabuf *idma,
						      struct iopt_area *area)
{
	struct iopt_dmabuf_area *da;

	lockdep_assert_held(&idma->pages->mutex);
	list_for_each_entry(da, &idma->areas, node)
		if (da->area == area)
			return da;
	return NULL;
}

/* Remove every IOPTE of every recorded pair, see "Invariant" in dmabuf.h */
static void iopt_dmabuf_revoke(struct iopt_dmabuf *idma, int reason)
{
	struct iopt_dmabuf_domain *dd;
	struct iopt_dmabuf_area *da;
	unsigned int areas = 0, unmapped = 0;

	lockdep_assert_held(&idma->pages->mutex);
	if (idma->revoked)
		return;

	list_for_each_entry(da, &idma->areas, node) {
		areas++;
		list_for_each_entry(dd, &da->domains, node) {
			iopt_dmabuf_unmap_area(idma, da->area, dd->domain);
			unmapped++;
		}
	}
	idma->revoked = true;
	kvfree(idma->ranges);
	idma->ranges = NULL;
	idma->nr_ranges = 0;
	idma->revoke_count++;
	trace_iommufd_dmabuf_revoke(iopt_dmabuf_ino(idma), areas, unmapped,
				    reason);
}

/*
 * Install @ranges (consumed) and put back every IOPTE. All or nothing: if a
 * map fails, the pairs already mapped are unmapped and the pages stay
 * revoked. @attempt is 0 for move_notify, N for the Nth retry.
 */
static int iopt_dmabuf_restore(struct iopt_dmabuf *idma,
			       struct phys_vec *ranges,
			       unsigned int nr, unsigned int attempt)
{
	struct iopt_dmabuf_domain *dd, *failed_dd = NULL;
	struct iopt_dmabuf_area *da, *failed_da = NULL;
	unsigned int areas = 0, mapped = 0;
	int rc = 0;

	lockdep_assert_held(&idma->pages->mutex);
	if (WARN_ON(!idma->revoked)) {
		kvfree(ranges);
		return -EINVAL;
	}

	idma->ranges = ranges;
	idma->nr_ranges = nr;
	idma->revoked = false;

	list_for_each_entry(da, &idma->areas, node) {
		areas++;
		list_for_each_entry(dd, &da->domains, node) {
			rc = iopt_dmabuf_map_area(idma, da->area, dd->domain);
			if (rc) {
				failed_da = da;
				failed_dd = dd;
				goto err_unmap;
			}
			mapped++;
		}
	}
	idma->restore_count++;
	trace_iommufd_dmabuf_restore(iopt_dmabuf_ino(idma), areas, mapped, nr,
				     attempt, 0);
	return 0;

err_unmap:
	list_for_each_entry(da, &idma->areas, node) {
		list_for_each_entry(dd, &da->domains, node) {
			if (dd == failed_dd)
				break;
			iopt_dmabuf_unmap_area(idma, da->area, dd->domain);
		}
		if (da == failed_da)
			break;
	}
	idma->revoked = true;
	kvfree(idma->ranges);
	idma->ranges = NULL;
	idma->nr_ranges = 0;
	idma->restore_errors++;
	trace_iommufd_dmabuf_restore(iopt_dmabuf_ino(idma), areas, mapped, nr,
				     attempt, rc);
	return rc;
}

/*
 * A deferred restore of @idma is over: put back, failed (a retry may
 * follow, which nobody waits for) or given up. Wakes the callers of
 * iopt_dmabuf_wait_restores() on the iommufd when it was its last one.
 */
static void iopt_dmabuf_deferred_done(struct iopt_dmabuf *idma)
{
	struct iommufd_ctx *ictx = idma->ictx;

	idma->deferred = false;
	atomic_dec(&iopt_dmabuf_nr_deferred);
	/* Fully ordered: the IOPTEs of the restore are visible before it */
	if (atomic_dec_and_test(&ictx->dmabuf_deferred))
		wake_up_all(&ictx->dmabuf_restore_wait);
}

/* Track whether the work queued for @idma is a deferred restore */
static void iopt_dmabuf_set_deferred(struct iopt_dmabuf *idma, bool deferred)
{
	lockdep_assert_held(&idma->pages->mutex);

	if (idma->deferred == deferred)
		return;
	if (deferred) {
		idma->deferred = true;
		atomic_inc(&iopt_dmabuf_nr_deferred);
		atomic_inc(&idma->ictx->dmabuf_deferred);
	} else {
		iopt_dmabuf_deferred_done(idma);
	}
}

/*
 * Roughly how many IOPTEs a map of @size bytes from @pa at @iova takes in a
 * domain that supports the IOPTE sizes of @pgsizes: the largest of them up
 * to 1G that is at most @size and on which both addresses agree, plus, at
 * each edge, the smaller sizes up to the next larger one. A domain with
 * PAGE_SIZE IOPTEs only (e.g. some virtio-iommu) costs one per page.
 */
static unsigned long iopt_dmabuf_nr_ioptes(unsigned long iova, u64 pa,
					   unsigned long size,
					   unsigned long pgsizes)
{
	unsigned long min_pgsize, pgsize, smaller, n;
	u64 diff = (u64)iova ^ pa;

	/* Sizes of at most 1G at which @iova and @pa are congruent */
	pgsizes &= SZ_1G | (SZ_1G - 1);
	if (diff)
		pgsizes &= GENMASK_ULL(__ffs64(diff), 0);
	if (!pgsizes)
		return DIV_ROUND_UP(size, PAGE_SIZE);
	min_pgsize = 1UL << __ffs(pgsizes);
	if (size < min_pgsize)
		return 1;

	/* The largest size that fits, then the edges in the smaller ones */
	pgsizes &= GENMASK(__fls(size), 0);
	pgsize = 1UL << __fls(pgsizes);
	n = size / pgsize;
	for (smaller = pgsizes & (pgsize - 1); smaller;
	     smaller &= ~(1UL << __fls(smaller))) {
		unsigned long q = 1UL << __fls(smaller);
		unsigned long next = 1UL << __ffs(pgsizes & ~(2 * q - 1));

		n += 2 * (next / q);
	}
	return min(n, DIV_ROUND_UP(size, min_pgsize));
}

/* IOPTEs a restore of @area to @ranges puts back in a domain of @pgsizes */
static unsigned long iopt_dmabuf_area_cost(struct iopt_dmabuf *idma,
					   struct iopt_area *area,
					   const struct phys_vec *ranges,
					   unsigned int nr, unsigned long pgsizes)
{
	unsigned long iova = iopt_area_iova(area);
	unsigned long off = idma->start + iopt_area_start_byte(area, iova);
	unsigned long end = off + iopt_area_length(area);
	unsigned long roff = 0, n = 0;
	unsigned int i;

	for (i = 0; i != nr && roff < end; roff += ranges[i].len, i++) {
		unsigned long s, e;

		if (roff + ranges[i].len <= off)
			continue;
		s = max(off, roff);
		e = min_t(unsigned long, end, roff + ranges[i].len);
		n += iopt_dmabuf_nr_ioptes(iova + (s - off),
					   ranges[i].paddr + (s - roff), e - s,
					   pgsizes);
	}
	return n;
}

/*
 * IOPTEs a restore to @ranges puts back, over every recorded pair, each
 * domain costed with the IOPTE sizes it supports. An io_pagetable that
 * promises PAGE_SIZE IOPTEs (disable_large_pages) gets nothing larger.
 */
static unsigned long iopt_dmabuf_restore_cost(struct iopt_dmabuf *idma,
					      const struct phys_vec *ranges,
					      unsigned int nr)
{
	struct iopt_dmabuf_domain *dd;
	struct iopt_dmabuf_area *da;
	unsigned long cost = 0;

	lockdep_assert_held(&idma->pages->mutex);

	list_for_each_entry(da, &idma->areas, node) {
		bool small = READ_ONCE(da->area->iopt->disable_large_pages);

		list_for_each_entry(dd, &da->domains, node) {
			unsigned long pgsizes = dd->domain->pgsize_bitmap;

			if (small)
				pgsizes &= PAGE_SIZE | (PAGE_SIZE - 1);
			cost += iopt_dmabuf_area_cost(idma, da->area, ranges,
						      nr, pgsizes);
		}
	}
	return cost;
}

/*
 * Put the IOPTEs back from iopt_dmabuf_wq instead of inside move_notify,
 * see "Deferred restore" in dmabuf.h. A restore already deferred or
 * waiting for a retry is run as soon as possible.
 */
static void iopt_dmabuf_defer_restore(struct iopt_dmabuf *idma,
				      unsigned long cost)
{
	lockdep_assert_held(&idma->pages->mutex);

	idma->retry_pending = true;
	idma->restore_deferrals++;
	iopt_dmabuf_set_deferred(idma, true);
	trace_iommufd_dmabuf_restore_defer(iopt_dmabuf_ino(idma), cost);
	mod_delayed_work(iopt_dmabuf_wq, &idma->restore_work, 0);
}

/*
 * A restore failed with @err: queue restore_work, after the shortest delay
 * for the first failure since move_notify (@first), twice the previous one
 * otherwise. Never queued without an area, which iopt_dmabuf_release()
 * relies on.
 */
static void iopt_dmabuf_retry(struct iopt_dmabuf *idma, bool first, int err)
{
	lockdep_assert_held(&idma->pages->mutex);

	if (list_empty(&idma->areas)) {
		idma->retry_pending = false;
		iopt_dmabuf_set_deferred(idma, false);
		return;
	}
	if (first) {
		idma->retry_attempt = 1;
		idma->retry_delay_ms = IOPT_DMABUF_RETRY_MIN_MS;
	} else {
		idma->retry_attempt++;
		idma->retry_delay_ms = min_t(unsigned int,
					     idma->retry_delay_ms * 2,
					     IOPT_DMABUF_RETRY_MAX_MS);
	}
	idma->retry_pending = true;
	trace_iommufd_dmabuf_restore_retry(iopt_dmabuf_ino(idma),
					   idma->retry_attempt,
					   idma->retry_delay_ms, err);
	iopt_dmabuf_set_deferred(idma, false);
	mod_delayed_work(iopt_dmabuf_wq ?: system_wq, &idma->restore_work,
			 msecs_to_jiffies(idma->retry_delay_ms));
}

/* Nothing to retry any more; a running restore_work sees it and stops */
static void iopt_dmabuf_stop_retry(struct iopt_dmabuf *idma)
{
	lockdep_assert_held(&idma->pages->mutex);

	if (!idma->retry_pending)
		return;
	idma->retry_pending = false;
	iopt_dmabuf_set_deferred(idma, false);
	cancel_delayed_work(&idma->restore_work);
}

/*
 * Bring the IOPTEs in line with what the exporter says now. @nr < 0 is the
 * error of dma_buf_phys_map(): revoke. @ranges is consumed.
 */
static void iopt_dmabuf_update(struct iopt_dmabuf *idma,
			       struct phys_vec *ranges, int nr)
{
	unsigned long cost;
	int rc;

	lockdep_assert_held(&idma->pages->mutex);

	/*
	 * The exporter may have ranges but there was no memory to hand them
	 * over: the old ones may be stale, so unmap, and retry like a failed
	 * restore.
	 */
	if (nr == -ENOMEM) {
		iopt_dmabuf_revoke(idma, nr);
		idma->restore_errors++;
		trace_iommufd_dmabuf_restore(iopt_dmabuf_ino(idma), 0, 0, 0, 0,
					     nr);
		iopt_dmabuf_retry(idma, true, nr);
		return;
	}
	if (nr < 0) {
		/* The exporter's next restore notifies again */
		iopt_dmabuf_stop_retry(idma);
		iopt_dmabuf_revoke(idma, nr);
		return;
	}
	if (!idma->revoked) {
		/* A spurious notification, nothing moved */
		if (iopt_dmabuf_same_ranges(idma, ranges, nr)) {
			kvfree(ranges);
			return;
		}
		/* Moved: the old ranges must not be reachable any more */
		iopt_dmabuf_revoke(idma, 0);
	}
	/* Large restores leave the exporter's critical path */
	cost = iopt_dmabuf_restore_cost(idma, ranges, nr);
	if (iopt_dmabuf_wq && cost > READ_ONCE(dmabuf_restore_inline)) {
		kvfree(ranges);
		iopt_dmabuf_defer_restore(idma, cost);
		return;
	}
	rc = iopt_dmabuf_restore(idma, ranges, nr, 0);
	if (!rc) {
		iopt_dmabuf_stop_retry(idma);
		return;
	}
	pr_warn_ratelimited("iommufd: dma-buf %lu: restoring the IOMMU mappings failed (%d), retrying\n",
			    iopt_dmabuf_ino(idma), rc);
	iopt_dmabuf_retry(idma, true, rc);
}

/* Ranges of the dma-buf, merged; Context: reservation lock held */
static int iopt_dmabuf_get_ranges(struct dma_buf_attachment *attach,
				  struct phys_vec **ranges)
{
	int nr;

	nr = dma_buf_phys_map(attach, ranges);
	if (nr <= 0)
		return nr ? nr : -EINVAL;
	return iopt_dmabuf_merge_ranges(*ranges, nr);
}

/*
 * move_notify: the exporter revoked, restored or moved the dma-buf. Called
 * with the reservation lock held; takes only pages->mutex, and returns with
 * no IOPTE pointing at memory the exporter took away.
 */
static void iopt_dmabuf_move_notify(struct dma_buf_attachment *attach)
{
	struct iopt_dmabuf *idma = container_of(dma_buf_phys_attachment(attach),
						struct iopt_dmabuf, phys);
	struct iopt_pages *pages = idma->pages;
	struct phys_vec *ranges = NULL;
	int nr;

	dma_resv_assert_held(attach->dmabuf->resv);

	nr = iopt_dmabuf_get_ranges(attach, &ranges);
	mutex_lock(&pages->mutex);
	iopt_dmabuf_update(idma, ranges, nr);
	mutex_unlock(&pages->mutex);
}

/*
 * restore_work: try a failed restore again, as move_notify would, unless
 * the state changed since. Takes the reservation lock, then pages->mutex.
 */
static void iopt_dmabuf_restore_work(struct work_struct *work)
{
	struct iopt_dmabuf *idma = container_of(to_delayed_work(work),
						struct iopt_dmabuf,
						restore_work);
	struct phys_vec *ranges = NULL;
	struct iopt_pages *pages = idma->pages;
	unsigned int attempt;
	bool deferred;
	int nr, rc;

	iopt_dmabuf_test_delay();
	dma_resv_lock(idma->dmabuf->resv, NULL);
	nr = iopt_dmabuf_get_ranges(idma->phys.attach, &ranges);
	mutex_lock(&pages->mutex);
	deferred = idma->deferred;
	/* Restored or revoked by move_notify, or unmapped, since */
	if (!idma->retry_pending || !idma->revoked ||
	    list_empty(&idma->areas)) {
		idma->retry_pending = false;
		goto out_free;
	}
	if (nr < 0 && nr != -ENOMEM) {
		/* Revoked again: the exporter's restore notifies */
		idma->retry_pending = false;
		goto out_unlock;
	}

	/* A deferred restore is move_notify's, not a retry */
	attempt = deferred ? 0 : idma->retry_attempt;
	if (!deferred)
		idma->restore_retries++;
	if (nr < 0) {
		idma->restore_errors++;
		trace_iommufd_dmabuf_restore(iopt_dmabuf_ino(idma), 0, 0, 0,
					     attempt, nr);
		iopt_dmabuf_retry(idma, deferred, nr);
		goto out_unlock;
	}
	rc = iopt_dmabuf_restore(idma, ranges, nr, attempt);
	if (rc)
		iopt_dmabuf_retry(idma, deferred, rc);
	else
		idma->retry_pending = false;
	goto out_unlock;

out_free:
	if (nr > 0)
		kvfree(ranges);
out_unlock:
	/*
	 * Only now, with the IOPTEs back (or the restore given up), may
	 * iopt_dmabuf_wait_restores() stop waiting for this one.
	 */
	iopt_dmabuf_set_deferred(idma, false);
	mutex_unlock(&pages->mutex);
	dma_resv_unlock(idma->dmabuf->resv);
}

/**
 * iopt_alloc_dmabuf_pages() - Make an iopt_pages for a slice of a dma-buf
 * @ictx: the iommufd whose IOAS maps the pages; it outlives them, as every
 *	object of it is destroyed before it is freed
 * @dmabuf: the dma-buf; the caller keeps its own reference
 * @start: byte offset in @dmabuf of the first byte to map
 * @length: number of bytes to map
 * @readable: the mapping may be IOMMU_READ
 * @writable: the mapping may be IOMMU_WRITE
 * @from_va: for a BAR mapped by address (p2p/bar_va.c): a revoked dma-buf
 *	gives revoked pages instead of -ENODEV
 *
 * Checks the request, attaches to @dmabuf with dma_buf_phys_attach() and
 * reads its ranges. The attachment and a dma-buf reference are held until
 * the iopt_pages is released. Nothing is pinned and nothing is charged.
 *
 * Context: no iommufd lock held; takes the reservation lock.
 * Return: the new pages, or ERR_PTR(-EINVAL) for an empty range or one
 * outside the dma-buf, ERR_PTR(-EOVERFLOW) if @start + @length overflows,
 * ERR_PTR(-EPERM) for @readable on a dma-buf file not open for reading or
 * @writable on one not open for writing,
 * ERR_PTR(-EOPNOTSUPP) if the exporter does not offer physical ranges (in
 * which case nothing was attached), ERR_PTR(-ENODEV) if the exporter has
 * revoked access (unless @from_va), or ERR_PTR(-ENOMEM).
 */
struct iopt_pages *iopt_alloc_dmabuf_pages(struct iommufd_ctx *ictx,
					   struct dma_buf *dmabuf,
					   unsigned long start,
					   unsigned long length, bool readable,
					   bool writable, bool from_va)
{
	unsigned long start_byte = start % PAGE_SIZE;
	struct phys_vec *ranges = NULL;
	struct iopt_pages *pages;
	struct iopt_dmabuf *idma;
	unsigned long last;
	int nr, rc;

	/* Same checks and errnos as upstream iopt_map_file_pages() */
	if (!length)
		return ERR_PTR(-EINVAL);
	if (check_add_overflow(start, length - 1, &last))
		return ERR_PTR(-EOVERFLOW);
	if (last >= dmabuf->size)
		return ERR_PTR(-EINVAL);
	/* Like a shared mmap() of the fd: its access mode bounds the device's */
	if (writable && !(dmabuf->file->f_mode & FMODE_WRITE))
		return ERR_PTR(-EPERM);
	if (readable && !(dmabuf->file->f_mode & FMODE_READ))
		return ERR_PTR(-EPERM);

	/* The offset into the first page, like a VA, sets page_offset */
	pages = iopt_alloc_pages((void __user *)start_byte, length, writable);
	if (IS_ERR(pages))
		return pages;
	lockdep_set_class(&pages->mutex, &iopt_dmabuf_mutex_key);
	/* MMIO is not memory the user pins: no locked_vm, no pinned_vm */
	pages->account_mode = IOPT_PAGES_ACCOUNT_NONE;

	idma = kzalloc(sizeof(*idma), GFP_KERNEL_ACCOUNT);
	if (!idma) {
		/* Still IOPT_ADDRESS_USER with nothing pinned: plain free */
		iopt_put_pages(pages);
		return ERR_PTR(-ENOMEM);
	}
	idma->pages = pages;
	idma->ictx = ictx;
	INIT_DELAYED_WORK(&idma->restore_work, iopt_dmabuf_restore_work);
	idma->dmabuf = dmabuf;
	get_dma_buf(dmabuf);
	idma->start = start - start_byte;
	idma->from_va = from_va;
	idma->revoked = true;
	INIT_LIST_HEAD(&idma->areas);
	INIT_LIST_HEAD(&idma->all_node);
	pages->dmabuf = idma;
	pages->type = IOPT_ADDRESS_DMABUF;

	/* A dma-buf of another exporter is refused before it is attached */
	rc = dma_buf_phys_attach(dmabuf, iopt_dmabuf_dev, &idma->phys,
				 iopt_dmabuf_move_notify);
	if (rc)
		goto err_put_pages;

	/* Also tells lockdep that pages->mutex nests inside the resv lock */
	dma_resv_lock(dmabuf->resv, NULL);
	nr = iopt_dmabuf_get_ranges(idma->phys.attach, &ranges);
	mutex_lock(&pages->mutex);
	/*
	 * A move_notify may have come in since the attachment went on the
	 * list. There are no areas yet, so only the state it left matters,
	 * and it is replaced by what the exporter says now. Such early
	 * notifications are not counted.
	 */
	kvfree(idma->ranges);
	idma->ranges = nr > 0 ? ranges : NULL;
	idma->nr_ranges = nr > 0 ? nr : 0;
	idma->revoked = nr <= 0;
	idma->revoke_count = 0;
	idma->restore_count = 0;
	idma->restore_errors = 0;
	idma->restore_retries = 0;
	idma->restore_deferrals = 0;
	mutex_unlock(&pages->mutex);
	dma_resv_unlock(dmabuf->resv);
	/*
	 * A BAR mapped by address may be mapped while it does not decode: a
	 * VMM that maps by address does not retry. It starts revoked and the
	 * exporter's restore maps it.
	 */
	if (nr < 0 && !(from_va && nr == -ENODEV)) {
		rc = nr;
		goto err_put_pages;
	}

	mutex_lock(&iopt_dmabuf_all_lock);
	list_add_tail(&idma->all_node, &iopt_dmabuf_all);
	mutex_unlock(&iopt_dmabuf_all_lock);
	return pages;

err_put_pages:
	/* iopt_dmabuf_release() detaches and drops the dma-buf */
	iopt_put_pages(pages);
	return ERR_PTR(rc);
}

/**
 * iopt_dmabuf_release() - Drop what a dma-buf iopt_pages holds
 * @pages: IOPT_ADDRESS_DMABUF pages being freed by iopt_release_pages()
 *
 * Waits for a queued or running restore retry, detaches, which waits for
 * a running move_notify and stops new ones, and drops the dma-buf
 * reference.
 *
 * Context: must not hold @pages->mutex or a reservation lock; may hold
 * domains_rwsem and iova_rwsem.
 */
void iopt_dmabuf_release(struct iopt_pages *pages)
{
	struct iopt_dmabuf *idma = pages->dmabuf;

	/* Detach takes the reservation lock, which nests outside */
	lockdep_assert_not_held(&pages->mutex);

	mutex_lock(&iopt_dmabuf_all_lock);
	list_del_init(&idma->all_node);
	mutex_unlock(&iopt_dmabuf_all_lock);

	/*
	 * The work takes the reservation lock and uses the attachment. No
	 * area is left, so no move_notify can queue it again before the
	 * detach (see iopt_dmabuf_retry()).
	 */
	cancel_delayed_work_sync(&idma->restore_work);
	/* Nothing can queue it any more, see above; the ictx is still alive */
	if (idma->deferred)
		iopt_dmabuf_deferred_done(idma);
	if (idma->phys.attach)
		dma_buf_detach(idma->dmabuf, idma->phys.attach);
	WARN_ON(!list_empty(&idma->areas));
	trace_iommufd_dmabuf_release(iopt_dmabuf_ino(idma), idma->revoke_count,
				     idma->restore_count);

	dma_buf_put(idma->dmabuf);
	kvfree(idma->ranges);
	kfree(idma);
	pages->dmabuf = NULL;
}

static struct iopt_dmabuf_domain *
iopt_dmabuf_add_domain(struct iopt_dmabuf *idma, struct iopt_dmabuf_area *da,
		       struct iommu_domain *domain)
{
	struct iopt_dmabuf_domain *dd;
	int rc;

	lockdep_assert_held(&idma->pages->mutex);

	list_for_each_entry(dd, &da->domains, node)
		if (WARN_ON(dd->domain == domain))
			return ERR_PTR(-EINVAL);

	dd = kzalloc(sizeof(*dd), GFP_KERNEL_ACCOUNT);
	if (!dd)
		return ERR_PTR(-ENOMEM);
	dd->domain = domain;
	if (!idma->revoked) {
		rc = iopt_dmabuf_map_area(idma, da->area, domain);
		if (rc) {
			kfree(dd);
			return ERR_PTR(rc);
		}
	}
	list_add_tail(&dd->node, &da->domains);
	da->nr_domains++;
	return dd;
}

static void iopt_dmabuf_del_domain(struct iopt_dmabuf *idma,
				   struct iopt_dmabuf_area *da,
				   struct iopt_dmabuf_domain *dd)
{
	iopt_dmabuf_unmap_area(idma, da->area, dd->domain);
	list_del(&dd->node);
	da->nr_domains--;
	kfree(dd);
}

static void iopt_dmabuf_del_all_domains(struct iopt_dmabuf *idma,
					struct iopt_dmabuf_area *da)
{
	struct iopt_dmabuf_domain *dd, *tmp;

	list_for_each_entry_safe(dd, tmp, &da->domains, node)
		iopt_dmabuf_del_domain(idma, da, dd);
}

/**
 * iopt_dmabuf_fill_domains() - iopt_area_fill_domains() for dma-buf pages
 * @area: a new area, not yet in the domains_itree
 * @pages: its dma-buf pages (@area->pages is still NULL)
 *
 * Records the area and fills it into every domain of the io_pagetable, or
 * only records the domains if the dma-buf is revoked right now.
 *
 * Context: domains_rwsem held for read. On failure nothing is changed.
 * Return: 0 or a negative errno from allocation or iommu_map().
 */
int iopt_dmabuf_fill_domains(struct iopt_area *area, struct iopt_pages *pages)
{
	struct iopt_dmabuf *idma = pages->dmabuf;
	struct iommu_domain *domain;
	struct iopt_dmabuf_area *da;
	unsigned long index;
	int rc = 0;

	lockdep_assert_held(&area->iopt->domains_rwsem);

	da = kzalloc(sizeof(*da), GFP_KERNEL_ACCOUNT);
	if (!da)
		return -ENOMEM;
	da->area = area;
	INIT_LIST_HEAD(&da->domains);

	mutex_lock(&pages->mutex);
	xa_for_each(&area->iopt->domains, index, domain) {
		struct iopt_dmabuf_domain *dd;

		dd = iopt_dmabuf_add_domain(idma, da, domain);
		if (IS_ERR(dd)) {
			rc = PTR_ERR(dd);
			goto err_del;
		}
	}
	/* The same bookkeeping as iopt_area_fill_domains() */
	if (da->nr_domains) {
		area->storage_domain = xa_load(&area->iopt->domains, 0);
		interval_tree_insert(&area->pages_node, &pages->domains_itree);
	}
	list_add_tail(&da->node, &idma->areas);
	trace_iommufd_dmabuf_map(iopt_dmabuf_ino(idma), iopt_dmabuf_ioas_id(area),
				 iopt_area_iova(area), iopt_area_length(area),
				 idma->start + iopt_area_start_byte(area,
								    iopt_area_iova(area)),
				 da->nr_domains, idma->revoked);
	mutex_unlock(&pages->mutex);
	return 0;

err_del:
	iopt_dmabuf_del_all_domains(idma, da);
	mutex_unlock(&pages->mutex);
	kfree(da);
	return rc;
}

/**
 * iopt_dmabuf_unfill_domains() - iopt_area_unfill_domains() for dma-buf pages
 * @area: an area being destroyed
 * @pages: its dma-buf pages (@area->pages is already NULL)
 *
 * Unmaps the area from every domain it is filled into and forgets it.
 *
 * Context: domains_rwsem held for read.
 */
void iopt_dmabuf_unfill_domains(struct iopt_area *area,
				struct iopt_pages *pages)
{
	struct iopt_dmabuf *idma = pages->dmabuf;
	struct iopt_dmabuf_area *da;

	lockdep_assert_held(&area->iopt->domains_rwsem);

	mutex_lock(&pages->mutex);
	da = iopt_dmabuf_find_area(idma, area);
	if (WARN_ON(!da))
		goto out_unlock;

	trace_iommufd_dmabuf_unmap(iopt_dmabuf_ino(idma),
				   iopt_dmabuf_ioas_id(area),
				   iopt_area_iova(area), iopt_area_length(area),
				   da->nr_domains);
	iopt_dmabuf_del_all_domains(idma, da);
	if (area->storage_domain) {
		interval_tree_remove(&area->pages_node, &pages->domains_itree);
		area->storage_domain = NULL;
	}
	list_del(&da->node);
	kfree(da);
	/* Nothing left to restore */
	if (list_empty(&idma->areas))
		iopt_dmabuf_stop_retry(idma);
out_unlock:
	mutex_unlock(&pages->mutex);
}

/**
 * iopt_dmabuf_fill_domain() - iopt_area_fill_domain() for dma-buf pages
 * @area: a dma-buf area
 * @domain: a domain being added to the area's io_pagetable
 *
 * Context: @area->pages->mutex held, under domains_rwsem (write) and
 * iova_rwsem.
 * Return: 0, or a negative errno with nothing changed.
 */
int iopt_dmabuf_fill_domain(struct iopt_area *area, struct iommu_domain *domain)
{
	struct iopt_dmabuf *idma = area->pages->dmabuf;
	struct iopt_dmabuf_domain *dd;
	struct iopt_dmabuf_area *da;

	lockdep_assert_held(&area->pages->mutex);

	da = iopt_dmabuf_find_area(idma, area);
	if (WARN_ON(!da))
		return -EINVAL;
	dd = iopt_dmabuf_add_domain(idma, da, domain);
	return PTR_ERR_OR_ZERO(dd);
}

/**
 * iopt_dmabuf_unfill_domain() - iopt_area_unfill_domain() for dma-buf pages
 * @area: a dma-buf area
 * @pages: its pages
 * @domain: a domain the area is filled into
 *
 * Unmaps the area from @domain, unless revoked, and forgets the pair.
 *
 * Context: @pages->mutex held.
 */
void iopt_dmabuf_unfill_domain(struct iopt_area *area,
			       struct iopt_pages *pages,
			       struct iommu_domain *domain)
{
	struct iopt_dmabuf *idma = pages->dmabuf;
	struct iopt_dmabuf_domain *dd;
	struct iopt_dmabuf_area *da;

	lockdep_assert_held(&pages->mutex);

	da = iopt_dmabuf_find_area(idma, area);
	if (WARN_ON(!da))
		return;
	list_for_each_entry(dd, &da->domains, node) {
		if (dd->domain == domain) {
			iopt_dmabuf_del_domain(idma, da, dd);
			return;
		}
	}
	WARN_ON(true);
}

/**
 * iopt_dmabuf_unmap_domain() - iopt_area_unmap_domain() for dma-buf pages
 * @area: a dma-buf area
 * @domain: a domain being removed while others remain
 *
 * Context: domains_rwsem held for write and iova_rwsem held, not
 * @area->pages->mutex, which this takes.
 */
void iopt_dmabuf_unmap_domain(struct iopt_area *area,
			      struct iommu_domain *domain)
{
	struct iopt_pages *pages = area->pages;

	lockdep_assert_held_write(&area->iopt->domains_rwsem);

	mutex_lock(&pages->mutex);
	iopt_dmabuf_unfill_domain(area, pages, domain);
	mutex_unlock(&pages->mutex);
}

/**
 * iopt_dmabuf_align_addr() - iopt_pages_align_addr() for dma-buf pages
 * @pages: dma-buf pages being mapped
 * @start_byte: byte offset of the mapping inside @pages
 *
 * The physical address of the byte, so that the IOVA gets the alignment
 * of the BAR and the IOMMU can use large IOPTEs. While revoked there is no
 * physical address; the dma-buf offset is the best guess.
 *
 * Context: iova_rwsem held; takes @pages->mutex.
 * Return: the address whose low bits the IOVA should copy.
 */
unsigned long iopt_dmabuf_align_addr(struct iopt_pages *pages,
				     unsigned long start_byte)
{
	struct iopt_dmabuf *idma = pages->dmabuf;
	unsigned long off = idma->start + start_byte;
	unsigned long addr = off;
	unsigned long roff = 0;
	unsigned int i;

	mutex_lock(&pages->mutex);
	for (i = 0; i != idma->nr_ranges; roff += idma->ranges[i].len, i++) {
		if (off < roff + idma->ranges[i].len) {
			addr = idma->ranges[i].paddr + (off - roff);
			break;
		}
	}
	mutex_unlock(&pages->mutex);
	return addr;
}

/*
 * Can the slice [@off, @off + @length) of the dma-buf use IOPTEs of @size
 * at an IOVA congruent to its first byte's physical address modulo @size?
 * True if every range of the slice has the same physical address minus
 * slice offset modulo @size (then one IOVA makes them all congruent), and
 * at least one range holds a whole @size aligned block of the slice. The
 * physical address of byte 0 of the slice goes to @addr.
 */
static bool iopt_dmabuf_congruent(const struct phys_vec *ranges,
				  unsigned int nr, unsigned long off,
				  unsigned long length, unsigned long size,
				  u64 *addr)
{
	unsigned long end = off + length;
	unsigned long roff = 0;
	bool has_block = false;
	unsigned int i;

	for (i = 0; i != nr && roff < end; roff += ranges[i].len, i++) {
		const struct phys_vec *r = &ranges[i];
		unsigned long s, e;
		u64 pa, first;

		if (roff + r->len <= off)
			continue;
		s = max(off, roff);
		e = min_t(unsigned long, end, roff + r->len);
		pa = r->paddr + (s - roff);
		if (s == off)
			*addr = pa;
		else if ((pa - (s - off) - *addr) & (size - 1))
			return false;
		first = ALIGN(pa, size);
		if (first >= pa && first - pa <= e - s &&
		    e - s - (first - pa) >= size)
			has_block = true;
	}
	return has_block;
}

/* Lowest IOVA in [@start, @last] that is @offset modulo @size, with room */
static bool iopt_dmabuf_fit(unsigned long start, unsigned long last,
			    unsigned long length, unsigned long size,
			    unsigned long offset, unsigned long *iova)
{
	unsigned long x;

	if (check_add_overflow(start, (offset - start) & (size - 1), &x))
		return false;
	if (x > last || last - x < length - 1)
		return false;
	*iova = x;
	return true;
}

/*
 * The lowest free, allowed and unreserved IOVA congruent to @offset modulo
 * @size, never 0; the same walk as iopt_alloc_iova() in io_pagetable.c.
 */
static int iopt_dmabuf_find_iova(struct io_pagetable *iopt,
				 unsigned long *iova, unsigned long length,
				 unsigned long size, unsigned long offset)
{
	struct interval_tree_double_span_iter used;
	struct interval_tree_span_iter allowed;

	interval_tree_for_each_span(&allowed, &iopt->allowed_itree, PAGE_SIZE,
				    ULONG_MAX - PAGE_SIZE) {
		if (RB_EMPTY_ROOT(&iopt->allowed_itree.rb_root)) {
			allowed.start_used = PAGE_SIZE;
			allowed.last_used = ULONG_MAX - PAGE_SIZE;
			allowed.is_hole = false;
		}
		if (allowed.is_hole)
			continue;
		interval_tree_for_each_double_span(&used, &iopt->reserved_itree,
						   &iopt->area_itree,
						   allowed.start_used,
						   allowed.last_used) {
			if (used.is_used)
				continue;
			if (iopt_dmabuf_fit(used.start_hole, used.last_hole,
					    length, size, offset, iova))
				return 0;
		}
	}
	return -ENOSPC;
}

/**
 * iopt_dmabuf_alloc_iova() - Choose an IOVA for a dma-buf area
 * @iopt: the io_pagetable
 * @iova: out: the IOVA chosen
 * @pages: the dma-buf pages of the area (its first pages, for a list)
 * @start_byte: byte offset of the area inside @pages
 * @length: length of the whole mapping
 *
 * Large IOPTEs need the IOVA and the physical address to agree in every
 * bit below the IOPTE size, whatever the offset of the slice in the BAR.
 * For each size of iopt_dmabuf_iopte_sizes[], largest first, that the
 * slice can use (see iopt_dmabuf_congruent(): all its ranges congruent
 * with the first byte, one of them holding an aligned block of the size)
 * this looks for the lowest free IOVA congruent to the physical address
 * of the first byte, and falls back to the next smaller size when there
 * is none. While revoked the dma-buf offset stands in for the physical
 * address. An io_pagetable that promises PAGE_SIZE IOPTEs
 * (disable_large_pages) gets no congruent IOVA.
 *
 * Context: iova_rwsem held for write; takes @pages->mutex.
 * Return: 0 with *@iova set, or -ENOSPC: the caller then looks for a
 * PAGE_SIZE aligned IOVA, which is the last fallback.
 */
int iopt_dmabuf_alloc_iova(struct io_pagetable *iopt, unsigned long *iova,
			   struct iopt_pages *pages, unsigned long start_byte,
			   unsigned long length)
{
	struct iopt_dmabuf *idma = pages->dmabuf;
	unsigned long off = idma->start + start_byte;
	struct phys_vec whole = {
		.paddr = 0, .len = idma->dmabuf->size,
	};
	unsigned int i;
	int rc = -ENOSPC;

	lockdep_assert_held_write(&iopt->iova_rwsem);
	if (READ_ONCE(iopt->disable_large_pages) || !length ||
	    length >= ULONG_MAX / 2)
		return -ENOSPC;

	mutex_lock(&pages->mutex);
	for (i = 0; i != ARRAY_SIZE(iopt_dmabuf_iopte_sizes); i++) {
		unsigned long size = iopt_dmabuf_iopte_sizes[i];
		bool ok;
		u64 addr;

		if (size < iopt->iova_alignment)
			break;
		if (idma->ranges)
			ok = iopt_dmabuf_congruent(idma->ranges,
						   idma->nr_ranges, off,
						   length, size, &addr);
		else
			ok = iopt_dmabuf_congruent(&whole, 1, off, length,
						   size, &addr);
		/* iova_alignment is a power of two; no u64 division */
		if (!ok || (addr & (iopt->iova_alignment - 1)))
			continue;
		rc = iopt_dmabuf_find_iova(iopt, iova, length, size,
					   addr & (size - 1));
		trace_iommufd_dmabuf_alloc_iova(iopt_dmabuf_ino(idma), addr,
						length, size, rc ? 0 : *iova);
		if (!rc)
			break;
	}
	mutex_unlock(&pages->mutex);
	return rc;
}

/**
 * iopt_dmabuf_wait_restores() - Wait for the deferred restores of an iommufd
 * @ictx: the iommufd
 *
 * Every restore of a dma-buf mapped in @ictx that move_notify deferred
 * (see "Deferred restore" in p2p/dmabuf.h) has put the IOPTEs back, or has
 * failed and waits for its retry, when this returns 0. Restores deferred
 * for other iommufds and retries waiting for their backoff are not waited
 * for. Called at the start of every iommufd ioctl, so that a user who sees
 * the exporter restore (its reset ioctl returned, memory decode is on
 * again) and then makes any call on the same iommufd finds the mapping as
 * before. An atomic read when nothing is deferred.
 *
 * Context: process context, no iommufd, dma-buf or exporter lock held.
 * Return: 0, or -EINTR if a fatal signal came while waiting.
 */
int iopt_dmabuf_wait_restores(struct iommufd_ctx *ictx)
{
	if (wait_event_killable(ictx->dmabuf_restore_wait,
				!atomic_read(&ictx->dmabuf_deferred)))
		return -EINTR;
	return 0;
}

/**
 * iommufd_dmabuf_init() - Set up the dma-buf importer at module load
 * @dev: iommufd's misc device, registered for as long as the module is
 *	loaded; the device of every dma-buf attachment
 *
 * Without memory for its workqueue every restore is done inside
 * move_notify and retries go to system_wq.
 */
void iommufd_dmabuf_init(struct device *dev)
{
	iopt_dmabuf_dev = dev;
	iopt_dmabuf_wq = alloc_workqueue("iommufd_dmabuf_restore",
					 WQ_UNBOUND | WQ_MEM_RECLAIM, 0);
	iopt_dmabuf_debugfs_init();
	iopt_dmabuf_fail_map_init();
}

/**
 * iommufd_dmabuf_exit() - Tear down the dma-buf importer at module unload
 */
void iommufd_dmabuf_exit(void)
{
	iopt_dmabuf_fail_map_exit();
	iopt_dmabuf_debugfs_exit();
	if (iopt_dmabuf_wq)
		destroy_workqueue(iopt_dmabuf_wq);
	iopt_dmabuf_wq = NULL;
	iopt_dmabuf_dev = NULL;
}
