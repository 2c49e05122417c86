/* SPDX-License-Identifier: GPL-2.0 */
/*
 * File backed iopt_pages, used by IOMMU_IOAS_MAP_FILE.
 *
 * An iopt_pages of type IOPT_ADDRESS_FILE takes its PFNs from a shmem or
 * hugetlbfs file (normally a memfd) instead of from a range of user VA. The
 * rest of iommufd does not care where the PFNs come from, so the file type
 * only needs these hooks:
 *
 *  - iopt_file_pin_folios(), called by pfn_reader_user_pin() in pages.c for
 *    a pfn_reader, where the user VA type calls pin_user_pages_*(). It pins
 *    whole folios into a struct iopt_file_folios, and
 *    iopt_file_folios_to_batch() moves them into the pfn_batch one folio
 *    run at a time (iopt_batch_add_pfns()), never page by page. Each page
 *    that reaches the batch carries one FOLL_PIN reference, taken with one
 *    atomic add per folio, so every existing unpin path in pages.c works
 *    unchanged; unpin_user_page_range_dirty_lock() releases a folio run in
 *    one step. iopt_file_folios_unpin() drops what the batch did not take.
 *  - iopt_file_pin_pages(), the same pins expanded into a page array, for
 *    in-kernel accesses (iopt_pages_fill_xarray()), which need pages.
 *  - iopt_file_release(), called by iopt_release_pages() to drop the file.
 *  - iopt_pages_rw_access() always uses the pfn_reader for file pages, there
 *    is no VA to copy_to_user() through.
 *  - iopt_pages_align_addr(), used by io_pagetable.c to pick an IOVA that
 *    keeps the alignment of the file offset, so large folios can be mapped
 *    with large IOPTEs.
 *
 * dma-buf backed iopt_pages (IOPT_ADDRESS_DMABUF, p2p/dmabuf.c) do not use
 * the pfn_reader at all. pages.c and io_pagetable.c hand them over with:
 *
 *  - iopt_dmabuf_fill_domains()/iopt_dmabuf_unfill_domains() in place of
 *    iopt_area_fill_domains()/iopt_area_unfill_domains(),
 *  - iopt_dmabuf_fill_domain()/iopt_dmabuf_unfill_domain() in place of
 *    iopt_area_fill_domain()/iopt_area_unfill_domain(),
 *  - iopt_dmabuf_unmap_domain() in place of iopt_area_unmap_domain(),
 *  - iopt_dmabuf_release() from iopt_release_pages(),
 *  - -EINVAL for in-kernel accesses and -EOPNOTSUPP for area splits.
 *
 * Their lock order is in p2p/dmabuf.h, the order across the dma-buf
 * reservation lock in include/linux/dma-buf-phys.h.
 *
 * Lifetime: the iopt_pages holds a reference on the file (get_file()) from
 * creation until iopt_release_pages(). A writeable iopt_pages also holds
 * mapping_map_writable() on the file's address_space for the same time, so
 * the file cannot become F_SEAL_WRITE sealed while the device may write it.
 *
 * Lock order of file pages (outermost first), extending the one above
 * struct io_pagetable in iommufd_private.h:
 *
 *   iommufd object reference on the IOAS (not a lock, taken first)
 *   io_pagetable::domains_rwsem
 *   io_pagetable::iova_rwsem
 *   iopt_pages::mutex
 *     mm locks taken inside memfd_pin_folios(): page cache and folio locks,
 *     hugetlb_fault_mutex_table[] when it allocates a hugetlb folio, and
 *     the rmap locks of page migration (FOLL_LONGTERM semantics)
 *     source_mm->mmap_lock (only the existing RLIMIT accounting takes it)
 *
 * fget() is called before any iommufd lock is taken. The last fput() runs
 * from iopt_release_pages(), possibly under domains_rwsem, which is fine as
 * fput() defers the real release. Nothing here takes the inode lock
 * (i_rwsem), and the paths that do (truncate, fallocate, F_ADD_SEALS) never
 * take an iommufd lock, so there is no inversion with them.
 */
#ifndef __IOMMUFD_P2P_H
#define __IOMMUFD_P2P_H

#include <linux/sizes.h>

#include "../io_pagetable.h"

struct device;
struct dma_buf;
struct iommu_domain;
struct page;

struct folio;
struct pfn_batch;

/**
 * struct iopt_file_folios - Folios pinned for a pfn_reader, not yet batched
 * @folios: The pinned folios, in file order (storage owned by the caller)
 * @nr: Number of entries in @folios
 * @cur: Entry of @folios holding page @index
 * @cur_first: Page of folios[@cur] that is page @index
 * @index: iopt_pages index of the next page to hand to the batch
 * @end: iopt_pages index after the last pinned page
 *
 * Pages @index to @end - 1 each hold one FOLL_PIN reference. Only the last
 * folio can have pages after @end - 1, and those are not pinned for us.
 */
struct iopt_file_folios {
	struct folio **folios;
	unsigned int nr;
	unsigned int cur;
	unsigned long cur_first;
	unsigned long index;
	unsigned long end;
};

unsigned long iopt_batch_add_pfns(struct pfn_batch *batch, unsigned long pfn,
				  unsigned long npfns);
long iopt_file_pin_folios(struct iopt_pages *pages,
			  struct iopt_file_folios *ff, struct folio **folios,
			  unsigned long max_folios, unsigned long start_index,
			  unsigned long npages);
void iopt_file_folios_to_batch(struct iopt_file_folios *ff,
			       struct pfn_batch *batch,
			       unsigned long start_index);
void iopt_file_folios_unpin(struct iopt_file_folios *ff,
			    unsigned long start_index);
long iopt_file_pin_pages(struct iopt_pages *pages, unsigned long start_index,
			 unsigned long npages, struct page **out_pages);
void iopt_file_release(struct iopt_pages *pages);

/**
 * iopt_pages_is_file() - Test if an iopt_pages is backed by a file
 * @pages: The pages to test
 *
 * Return: true for IOPT_ADDRESS_FILE pages, false for user VA pages.
 */
static inline bool iopt_pages_is_file(const struct iopt_pages *pages)
{
	return pages->type == IOPT_ADDRESS_FILE;
}

/**
 * iopt_pages_is_dmabuf() - Test if an iopt_pages is backed by a dma-buf
 * @pages: The pages to test
 *
 * Return: true for IOPT_ADDRESS_DMABUF pages. Always false without
 * CONFIG_DMA_SHARED_BUFFER, so the dma-buf calls compile away.
 */
static inline bool iopt_pages_is_dmabuf(const struct iopt_pages *pages)
{
	return IS_ENABLED(CONFIG_DMA_SHARED_BUFFER) &&
	       pages->type == IOPT_ADDRESS_DMABUF;
}

struct iommufd_ctx;
int iopt_map_p2p_pages(struct iommufd_ctx *ictx, struct io_pagetable *iopt,
		       unsigned long *iova, struct iopt_pages *pages,
		       unsigned long start_byte, unsigned long length,
		       int iommu_prot, unsigned int flags);

/* bar_va.c */
#if IS_ENABLED(CONFIG_DMA_SHARED_BUFFER)
bool iopt_try_map_bar_va(struct iommufd_ctx *ictx, struct io_pagetable *iopt,
			 unsigned long *iova, void __user *uptr,
			 unsigned long length, int iommu_prot,
			 unsigned int flags, int *rc);
#else
static inline bool iopt_try_map_bar_va(struct iommufd_ctx *ictx,
				       struct io_pagetable *iopt,
				       unsigned long *iova, void __user *uptr,
				       unsigned long length, int iommu_prot,
				       unsigned int flags, int *rc)
{
	return false;
}
#endif

/* dmabuf.c, see p2p/dmabuf.h */
struct iopt_pages *iopt_alloc_dmabuf_pages(struct iommufd_ctx *ictx,
					   struct dma_buf *dmabuf,
					   unsigned long start,
					   unsigned long length, bool readable,
					   bool writable, bool from_va);
void iopt_dmabuf_release(struct iopt_pages *pages);
int iopt_dmabuf_fill_domains(struct iopt_area *area, struct iopt_pages *pages);
void iopt_dmabuf_unfill_domains(struct iopt_area *area,
				struct iopt_pages *pages);
int iopt_dmabuf_fill_domain(struct iopt_area *area,
			    struct iommu_domain *domain);
void iopt_dmabuf_unfill_domain(struct iopt_area *area,
			       struct iopt_pages *pages,
			       struct iommu_domain *domain);
void iopt_dmabuf_unmap_domain(struct iopt_area *area,
			      struct iommu_domain *domain);
unsigned long iopt_dmabuf_align_addr(struct iopt_pages *pages,
				     unsigned long start_byte);
int iopt_dmabuf_alloc_iova(struct io_pagetable *iopt, unsigned long *iova,
			   struct iopt_pages *pages, unsigned long start_byte,
			   unsigned long length);
#if IS_ENABLED(CONFIG_DMA_SHARED_BUFFER)
void iommufd_dmabuf_init(struct device *dev);
void iommufd_dmabuf_exit(void);
int iopt_dmabuf_wait_restores(struct iommufd_ctx *ictx);
#else
static inline void iommufd_dmabuf_init(struct device *dev) { }
static inline void iommufd_dmabuf_exit(void) { }
static inline int iopt_dmabuf_wait_restores(struct iommufd_ctx *ictx)
{
	return 0;
}
#endif

/**
 * iopt_pages_align_addr() - Address whose alignment the IOVA should follow
 * @pages: The pages being mapped
 * @start_byte: Byte offset of the mapping inside @pages
 *
 * Automatic IOVA allocation keeps the low bits of the source address so that
 * huge pages can be mapped with huge IOPTEs. For user VA that is the VA, for
 * a file it is the offset in the file, which is what decides the folio
 * alignment in the page cache, and for a dma-buf it is the physical address
 * of the byte, see iopt_dmabuf_align_addr().
 *
 * Context: may take @pages->mutex; called with iova_rwsem held.
 * Return: the source address of byte @start_byte of @pages.
 */
static inline unsigned long iopt_pages_align_addr(struct iopt_pages *pages,
						  unsigned long start_byte)
{
	if (iopt_pages_is_dmabuf(pages))
		return iopt_dmabuf_align_addr(pages, start_byte);
	if (iopt_pages_is_file(pages))
		return pages->start + start_byte;
	return (uintptr_t)pages->uptr + start_byte;
}

/**
 * iopt_pages_max_iova_align() - Cap on the automatic IOVA alignment
 * @iopt: The io_pagetable the pages are mapped into
 * @pages: The pages being mapped
 *
 * The IOVA allocator follows the alignment of iopt_pages_align_addr() up to
 * this size. Pinned memory cannot use IOPTEs larger than a THP. A dma-buf
 * area first gets an IOVA congruent to its physical address from
 * iopt_dmabuf_alloc_iova(); only when there is none left does it come
 * here, for any IOVA the IOAS can map.
 *
 * Return: the largest IOVA alignment worth asking for.
 */
static inline unsigned long
iopt_pages_max_iova_align(const struct io_pagetable *iopt,
			  const struct iopt_pages *pages)
{
	if (iopt_pages_is_dmabuf(pages))
		return max_t(unsigned long, PAGE_SIZE, iopt->iova_alignment);
#ifdef CONFIG_TRANSPARENT_HUGEPAGE
	return HPAGE_SIZE;
#else
	return PAGE_SIZE;
#endif
}

#endif
