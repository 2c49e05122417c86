/* SPDX-License-Identifier: GPL-2.0 */
/*
 * File backed iopt_pages, used by IOMMU_IOAS_MAP_FILE.
 *
 * An iopt_pages of type IOPT_ADDRESS_FILE takes its PFNs from a shmem or
 * hugetlbfs file (normally a memfd) instead of from a range of user VA. The
 * rest of iommufd does not care where the PFNs come from, so the file type
 * only needs these hooks:
 *
 *  - iopt_file_pin_pages(), called by pfn_reader_user_pin() in pages.c where
 *    the user VA type calls pin_user_pages_*(). It returns pages carrying one
 *    FOLL_PIN reference each, so every existing unpin path in pages.c works
 *    unchanged.
 *  - iopt_file_release(), called by iopt_release_pages() to drop the file.
 *  - iopt_pages_rw_access() always uses the pfn_reader for file pages, there
 *    is no VA to copy_to_user() through.
 *  - iopt_pages_align_addr(), used by io_pagetable.c to pick an IOVA that
 *    keeps the alignment of the file offset, so large folios can be mapped
 *    with large IOPTEs.
 *
 * Lifetime: the iopt_pages holds a reference on the file (get_file()) from
 * creation until iopt_release_pages(). A writeable iopt_pages also holds
 * mapping_map_writable() on the file's address_space for the same time, so
 * the file cannot become F_SEAL_WRITE sealed while the device may write it.
 *
 * Lock order (outermost first):
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

#include "../io_pagetable.h"

struct page;

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
 * iopt_pages_align_addr() - Address whose alignment the IOVA should follow
 * @pages: The pages being mapped
 * @start_byte: Byte offset of the mapping inside @pages
 *
 * Automatic IOVA allocation keeps the low bits of the source address so that
 * huge pages can be mapped with huge IOPTEs. For user VA that is the VA, for
 * a file it is the offset in the file, which is what decides the folio
 * alignment in the page cache.
 *
 * Return: the source address of byte @start_byte of @pages.
 */
static inline unsigned long iopt_pages_align_addr(const struct iopt_pages *pages,
						  unsigned long start_byte)
{
	if (iopt_pages_is_file(pages))
		return pages->start + start_byte;
	return (uintptr_t)pages->uptr + start_byte;
}

#endif
