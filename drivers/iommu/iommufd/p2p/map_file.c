// SPDX-License-Identifier: GPL-2.0
/*
 * IOMMU_IOAS_MAP_FILE: map a byte range of a shmem or hugetlbfs file (usually
 * a memfd) into an IOAS, without going through a user VA.
 *
 * The mapping is an ordinary iopt_area whose iopt_pages has type
 * IOPT_ADDRESS_FILE. Like IOMMU_IOAS_MAP, nothing is pinned at map time when
 * the IOAS has no domain; pinning happens when a domain is filled or an
 * in-kernel access pins or copies the range. A range that is past the end of
 * the file fails at that point with -EINVAL, from memfd_pin_folios().
 *
 * Pinning uses memfd_pin_folios(), which pins each folio once and allocates
 * any missing folio. pages.c wants one FOLL_PIN reference per PAGE_SIZE page
 * so that it can unpin any sub range, so the pin of a large folio is raised
 * to the number of its pages that are used, with one atomic add per folio.
 * The pfn_reader then takes the folios as they are: each folio becomes one
 * PFN run in the pfn_batch (iopt_file_folios_to_batch()), so the work of a
 * map scales with the number of folios, not of pages, and batch_to_domain()
 * can use large IOPTEs when the IOVA has the same alignment (see
 * iopt_pages_align_addr()). Unpinning goes through
 * unpin_user_page_range_dirty_lock(), which drops a folio run in one step.
 * Only in-kernel accesses, which keep a page array and the pinned_pfns
 * xarray anyway, get the folios expanded into pages
 * (iopt_file_pin_pages()).
 *
 * Truncation, hole punching and sealing: pinned folios hold a reference, so
 * when the file is truncated or a hole is punched the page cache forgets
 * them but the memory is not freed or reused until iommufd unpins it, which
 * happens only after the IOVA is unmapped from every domain (see
 * __iopt_area_unfill_domain()). A device can therefore keep reading and
 * writing the old pages, which are no longer part of the file, but never
 * memory that was handed back to the allocator. Ranges that were not pinned
 * at truncation time are looked up again at the next pin and see the new
 * file size. This is the same behaviour as IOMMU_IOAS_MAP of a MAP_SHARED
 * mapping of the file, and the same as upstream.
 *
 * A dma-buf fd is not a file to pin from: it is imported by p2p/dmabuf.c.
 */
#include <linux/dma-buf.h>
#include <linux/err.h>
#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/hugetlb.h>
#include <linux/iommu.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>
#include <linux/vmstat.h>
#include <uapi/linux/iommufd.h>

#include "../iommufd_private.h"
#include "p2p.h"

/*
 * Add @pins FOLL_PIN references to a large folio that memfd_pin_folios()
 * already pinned once. This does what try_grab_folio(folio, pins, FOLL_PIN)
 * does for a large folio, which is what upstream folio_add_pins() (v6.13)
 * wraps; 6.12 exports neither. Only large folios get here: a small folio
 * holds a single page and never needs more than the one pin. The result is
 * undone by unpin_user_page*() exactly like a pin_user_pages() pin.
 */
static void iopt_file_folio_add_pins(struct folio *folio, unsigned int pins)
{
	VM_WARN_ON_ONCE(!folio_test_large(folio));
	VM_WARN_ON_ONCE(!folio_maybe_dma_pinned(folio));

	folio_ref_add(folio, pins);
	atomic_add(pins, &folio->_pincount);
	node_stat_mod_folio(folio, NR_FOLL_PIN_ACQUIRED, pins);
}

/*
 * shmem keeps fallocate()d folios !uptodate and zeroes them at the first CPU
 * access. memfd_pin_folios() in this kernel returns such folios as they are,
 * so a device write into one would be wiped by that later zeroing. Do the
 * zeroing now, under the folio lock, as the shmem fault path does; whoever
 * takes the lock first initialises the folio, the other sees it uptodate.
 * hugetlbfs folios are always uptodate.
 */
static void iopt_file_folio_init(struct folio *folio)
{
	if (folio_test_uptodate(folio))
		return;
	folio_lock(folio);
	if (!folio_test_uptodate(folio)) {
		folio_zero_range(folio, 0, folio_size(folio));
		flush_dcache_folio(folio);
		folio_mark_uptodate(folio);
	}
	folio_unlock(folio);
}

/*
 * Pin the folios holding pages @start_index to @start_index + @npages - 1 of
 * @pages into @folios, at most @max_folios of them, and raise the pin of each
 * large folio to the number of its pages that are used, with one atomic add
 * per folio. *@first is the page of folios[0] that is page @start_index and
 * *@nr the number of folios. Returns the number of pages pinned (at least
 * one) or a negative errno, with nothing left pinned.
 */
static long iopt_file_pin_range(struct iopt_pages *pages,
				struct folio **folios, unsigned long max_folios,
				unsigned long start_index, unsigned long npages,
				unsigned long *first, unsigned int *nr)
{
	unsigned long skip, done, n;
	unsigned int i, nr_folios;
	pgoff_t offset;
	loff_t start;
	long rc;

	lockdep_assert_held(&pages->mutex);
	if (WARN_ON(!iopt_pages_is_file(pages) || !npages || !max_folios))
		return -EINVAL;

	/* memfd_pin_folios() takes an unsigned int count */
	max_folios = min_t(unsigned long, max_folios, UINT_MAX);
	start = pages->start + (loff_t)start_index * PAGE_SIZE;
	rc = memfd_pin_folios(pages->file, start,
			      start + (loff_t)npages * PAGE_SIZE - 1, folios,
			      max_folios, &offset);
	if (rc < 0)
		return rc;
	if (WARN_ON(!rc))
		return -EFAULT;
	nr_folios = rc;
	for (i = 0; i != nr_folios; i++)
		iopt_file_folio_init(folios[i]);

	*first = offset >> PAGE_SHIFT;
	for (i = 0, done = 0, skip = *first; i != nr_folios; i++, skip = 0) {
		if (WARN_ON_ONCE(done == npages)) {
			/* Cannot happen, every folio overlaps the range */
			unpin_folios(&folios[i], nr_folios - i);
			nr_folios = i;
			break;
		}
		n = min_t(unsigned long, folio_nr_pages(folios[i]) - skip,
			  npages - done);
		if (n > 1)
			iopt_file_folio_add_pins(folios[i], n - 1);
		done += n;
	}
	*nr = nr_folios;
	return done;
}

/**
 * iopt_file_pin_folios() - Pin a range of a file backed iopt_pages by folio
 * @pages: The IOPT_ADDRESS_FILE pages to pin from
 * @ff: Filled in with the pinned folios and the range they cover
 * @folios: Storage for the folio array, kept by @ff until it is consumed
 * @max_folios: Number of entries @folios has room for
 * @start_index: First page index, in PAGE_SIZE units from @pages->start
 * @npages: Number of pages wanted
 *
 * Called from pfn_reader_user_pin() under @pages->mutex in place of
 * pin_user_pages_fast(), for a pfn_reader. The pages are then handed to the
 * batch by iopt_file_folios_to_batch(); whatever is left is released by
 * iopt_file_folios_unpin(). Each page carries one FOLL_PIN reference, so
 * the batch's unpin_user_page_range_dirty_lock() balances it.
 *
 * Return: the number of pages pinned, which may be less than @npages when
 * @max_folios folios do not cover them, or a negative errno. Nothing is
 * left pinned on error.
 */
long iopt_file_pin_folios(struct iopt_pages *pages,
			  struct iopt_file_folios *ff, struct folio **folios,
			  unsigned long max_folios, unsigned long start_index,
			  unsigned long npages)
{
	unsigned long first;
	unsigned int nr;
	long rc;

	rc = iopt_file_pin_range(pages, folios, max_folios, start_index,
				 npages, &first, &nr);
	if (rc < 0)
		return rc;
	ff->folios = folios;
	ff->nr = nr;
	ff->cur = 0;
	ff->cur_first = first;
	ff->index = start_index;
	ff->end = start_index + rc;
	return rc;
}

/* Consume @n pages of the current folio run of @ff */
static void iopt_file_folios_advance(struct iopt_file_folios *ff,
				     unsigned long n)
{
	ff->index += n;
	ff->cur_first += n;
	if (ff->cur_first == folio_nr_pages(ff->folios[ff->cur])) {
		ff->cur++;
		ff->cur_first = 0;
	}
}

/* Pages of the current folio of @ff that are pinned and not yet consumed */
static unsigned long iopt_file_folios_run(struct iopt_file_folios *ff)
{
	return min_t(unsigned long,
		     folio_nr_pages(ff->folios[ff->cur]) - ff->cur_first,
		     ff->end - ff->index);
}

/**
 * iopt_file_folios_to_batch() - Move pinned folio runs into a pfn_batch
 * @ff: The folios from iopt_file_pin_folios()
 * @batch: The batch to fill
 * @start_index: The page index the caller expects next, for checking
 *
 * Adds one PFN run per folio until the pinned range is used up or the batch
 * is full. The pins move with the pages into the batch.
 *
 * Context: iopt_pages::mutex held, as for iopt_file_pin_folios().
 */
void iopt_file_folios_to_batch(struct iopt_file_folios *ff,
			       struct pfn_batch *batch,
			       unsigned long start_index)
{
	if (WARN_ON_ONCE(start_index != ff->index))
		return;

	while (ff->index != ff->end) {
		struct folio *folio = ff->folios[ff->cur];
		unsigned long n = iopt_file_folios_run(ff);
		unsigned long added;

		added = iopt_batch_add_pfns(batch,
					    folio_pfn(folio) + ff->cur_first, n);
		if (!added)
			return;
		iopt_file_folios_advance(ff, added);
		if (added != n)
			return;
	}
}

/**
 * iopt_file_folios_unpin() - Unpin the pages that no batch took
 * @ff: The folios from iopt_file_pin_folios()
 * @start_index: The first page index not taken, for checking
 *
 * Drops the FOLL_PIN reference of every page from @start_index to the end
 * of the pinned range, one folio run at a time, and empties @ff.
 *
 * Context: iopt_pages::mutex held, as for iopt_file_pin_folios().
 */
void iopt_file_folios_unpin(struct iopt_file_folios *ff,
			    unsigned long start_index)
{
	WARN_ON_ONCE(start_index != ff->index);

	while (ff->index != ff->end) {
		unsigned long n = iopt_file_folios_run(ff);

		unpin_user_page_range_dirty_lock(folio_page(ff->folios[ff->cur],
							    ff->cur_first),
						 n, false);
		iopt_file_folios_advance(ff, n);
	}
}

/**
 * iopt_file_pin_pages() - Pin a range of a file backed iopt_pages
 * @pages: The IOPT_ADDRESS_FILE pages to pin from
 * @start_index: First page index, in PAGE_SIZE units from @pages->start
 * @npages: Number of pages wanted, @out_pages has room for this many
 * @out_pages: Output array of pinned pages
 *
 * Called from pfn_reader_user_pin() under @pages->mutex for in-kernel
 * accesses, which need a page array. Each returned page carries one FOLL_PIN
 * reference and is released with unpin_user_page() or friends.
 *
 * @out_pages first receives the folio array from memfd_pin_folios() and is
 * then expanded in place into pages, from the end towards the front. Folio i
 * expands to at least one page starting at position >= i, so no folio
 * pointer is overwritten before it has been read. The kernel is built with
 * -fno-strict-aliasing, which makes the shared storage legal.
 *
 * Return: the number of pages pinned, which may be less than @npages, or a
 * negative errno. Nothing is left pinned on error.
 */
long iopt_file_pin_pages(struct iopt_pages *pages, unsigned long start_index,
			 unsigned long npages, struct page **out_pages)
{
	struct folio **folios = (struct folio **)out_pages;
	unsigned long first, last_n, n, j, k;
	unsigned int nr, i;
	long done;

	done = iopt_file_pin_range(pages, folios, npages, start_index, npages,
				   &first, &nr);
	if (done < 0)
		return done;

	/* Every folio but the last is used to its end */
	last_n = done;
	for (i = 0; i + 1 < nr; i++)
		last_n -= folio_nr_pages(folios[i]) - (i ? 0 : first);

	/* Expand the folios into pages, back to front, see above */
	j = done;
	for (i = nr; i-- > 0;) {
		struct folio *folio = folios[i];
		unsigned long skip = i ? 0 : first;

		n = i == nr - 1 ? last_n : folio_nr_pages(folio) - skip;
		j -= n;
		for (k = 0; k != n; k++)
			out_pages[j + k] = folio_page(folio, skip + k);
	}
	WARN_ON_ONCE(j);
	return done;
}

/**
 * iopt_file_release() - Drop what a file backed iopt_pages holds on its file
 * @pages: The IOPT_ADDRESS_FILE pages being freed
 *
 * Called by iopt_release_pages() once nothing is pinned any more.
 */
void iopt_file_release(struct iopt_pages *pages)
{
	if (pages->writable)
		mapping_unmap_writable(pages->file->f_mapping);
	fput(pages->file);
}

static unsigned int iopt_file_seals(struct file *file)
{
	if (shmem_file(file))
		return READ_ONCE(SHMEM_I(file_inode(file))->seals);
#ifdef CONFIG_HUGETLBFS
	if (is_file_hugepages(file))
		return READ_ONCE(HUGETLBFS_I(file_inode(file))->seals);
#endif
	return 0;
}

static struct iopt_pages *iopt_alloc_file_pages(struct file *file,
						unsigned long start,
						unsigned long length,
						bool readable, bool writable)
{
	unsigned long start_byte = start % PAGE_SIZE;
	struct iopt_pages *pages;
	unsigned long end;
	int rc;

	if (length && check_add_overflow(start, length - 1, &end))
		return ERR_PTR(-EOVERFLOW);

	/*
	 * memfd_pin_folios() can only pin shmem and hugetlbfs folios. Upstream
	 * finds out at the first pin; failing here is the same errno, earlier.
	 */
	if (!shmem_file(file) && !is_file_hugepages(file))
		return ERR_PTR(-EINVAL);

	/*
	 * Device reads must not see more than the fd holder can read: an
	 * O_WRONLY fd gives no READABLE mapping.  Writes are checked below.
	 */
	if (readable && !(file->f_mode & FMODE_READ))
		return ERR_PTR(-EPERM);

	/*
	 * A writeable mapping is a shared writable mapping of the file for
	 * the purpose of permissions and seals: the fd must allow writing,
	 * the file must not be write sealed, and F_SEAL_WRITE is refused
	 * while the mapping exists. F_SEAL_FUTURE_WRITE, like for mmap(),
	 * only stops new mappings.
	 */
	if (writable) {
		if (!(file->f_mode & FMODE_WRITE))
			return ERR_PTR(-EPERM);
		if (iopt_file_seals(file) & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE))
			return ERR_PTR(-EPERM);
		rc = mapping_map_writable(file->f_mapping);
		if (rc)
			return ERR_PTR(rc);
	}

	/*
	 * Reuse the user VA constructor for the common setup. Given the offset
	 * into the first page as the "VA", it checks the length and computes
	 * npages like for user memory, and leaves uptr NULL, so a path that
	 * missed the file type cannot reach user memory with it.
	 */
	pages = iopt_alloc_pages((void __user *)start_byte, length, writable);
	if (IS_ERR(pages)) {
		if (writable)
			mapping_unmap_writable(file->f_mapping);
		return pages;
	}
	pages->type = IOPT_ADDRESS_FILE;
	pages->file = get_file(file);
	pages->start = start - start_byte;
	return pages;
}

/*
 * A dma-buf goes to the dma-buf importer (p2p/dmabuf.c), any other file to
 * the shmem/hugetlbfs code above. *start_byte is the offset of the first
 * mapped byte from byte 0 of page index 0 of the new pages.
 */
static struct iopt_pages *iopt_map_file_alloc_pages(struct iommufd_ctx *ictx,
						    int fd,
						    unsigned long start,
						    unsigned long length,
						    bool readable,
						    bool writable,
						    unsigned long *start_byte)
{
	struct iopt_pages *pages;
	struct file *file;

	if (IS_ENABLED(CONFIG_DMA_SHARED_BUFFER)) {
		struct dma_buf *dmabuf = dma_buf_get(fd);

		if (!IS_ERR(dmabuf)) {
			pages = iopt_alloc_dmabuf_pages(ictx, dmabuf, start,
							length, readable,
							writable, false);
			/* pages has its own reference on success */
			dma_buf_put(dmabuf);
			*start_byte = start % PAGE_SIZE;
			return pages;
		}
	}

	file = fget(fd);
	if (!file)
		return ERR_PTR(-EBADF);
	pages = iopt_alloc_file_pages(file, start, length, readable,
				      writable);
	/* pages has its own reference on success */
	fput(file);
	if (!IS_ERR(pages))
		*start_byte = start - pages->start;
	return pages;
}

/**
 * iopt_map_p2p_pages() - Map one new iopt_pages into an io_pagetable
 * @ictx: the iommufd context, for the accounting mode
 * @iopt: the io_pagetable
 * @iova: in: the IOVA with IOPT_ALLOC_IOVA clear; out: the IOVA used
 * @pages: the pages, whose reference is consumed on success and failure
 * @start_byte: offset of the first mapped byte from byte 0 of page index 0
 * @length: number of bytes
 * @iommu_prot: IOMMU_READ/IOMMU_WRITE/IOMMU_CACHE
 * @flags: IOPT_ALLOC_IOVA or 0
 *
 * The tail shared by IOMMU_IOAS_MAP_FILE and the BAR-by-address path.
 *
 * Context: no iommufd lock held.
 * Return: 0 or a negative errno from iopt_map_pages().
 */
int iopt_map_p2p_pages(struct iommufd_ctx *ictx, struct io_pagetable *iopt,
		       unsigned long *iova, struct iopt_pages *pages,
		       unsigned long start_byte, unsigned long length,
		       int iommu_prot, unsigned int flags)
{
	struct iopt_pages_list *elm;
	LIST_HEAD(pages_list);
	int rc;

	elm = kzalloc(sizeof(*elm), GFP_KERNEL_ACCOUNT);
	if (!elm) {
		iopt_put_pages(pages);
		return -ENOMEM;
	}
	if (ictx->account_mode == IOPT_PAGES_ACCOUNT_MM &&
	    pages->account_mode == IOPT_PAGES_ACCOUNT_USER)
		pages->account_mode = IOPT_PAGES_ACCOUNT_MM;
	elm->pages = pages;
	elm->start_byte = start_byte;
	elm->length = length;
	list_add(&elm->next, &pages_list);

	/*
	 * On success the area owns the pages reference and elm is left empty;
	 * on failure iopt_free_pages_list() undoes the area and the pages.
	 */
	rc = iopt_map_pages(iopt, &pages_list, length, iova, iommu_prot, flags);
	iopt_free_pages_list(&pages_list);
	return rc;
}

static int iopt_map_file_pages(struct iommufd_ctx *ictx,
			       struct io_pagetable *iopt, unsigned long *iova,
			       int fd, unsigned long start,
			       unsigned long length, int iommu_prot,
			       unsigned int flags)
{
	unsigned long start_byte;
	struct iopt_pages *pages;

	pages = iopt_map_file_alloc_pages(ictx, fd, start, length,
					  iommu_prot & IOMMU_READ,
					  iommu_prot & IOMMU_WRITE,
					  &start_byte);
	if (IS_ERR(pages))
		return PTR_ERR(pages);
	return iopt_map_p2p_pages(ictx, iopt, iova, pages, start_byte, length,
				  iommu_prot, flags);
}

/* Same conversion as ioas.c, where it is static */
static int iopt_file_iommu_prot(u32 map_flags)
{
	int iommu_prot = IOMMU_CACHE;

	if (map_flags & IOMMU_IOAS_MAP_WRITEABLE)
		iommu_prot |= IOMMU_WRITE;
	if (map_flags & IOMMU_IOAS_MAP_READABLE)
		iommu_prot |= IOMMU_READ;
	return iommu_prot;
}

/**
 * iommufd_ioas_map_file() - Handler for IOMMU_IOAS_MAP_FILE
 * @ucmd: The user command, holding a struct iommu_ioas_map_file
 *
 * Maps @length bytes of the file @fd starting at byte @start, with the same
 * flags, IOVA rules and errors as IOMMU_IOAS_MAP. See the uapi header for
 * the file specific rules. A dma-buf fd is handled by p2p/dmabuf.c.
 *
 * Return: 0 on success, with the chosen IOVA written back, or a negative
 * errno.
 */
int iommufd_ioas_map_file(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_map_file *cmd = ucmd->cmd;
	unsigned long iova = cmd->iova;
	struct iommufd_ioas *ioas;
	unsigned int flags = 0;
	int rc;

	if (cmd->flags &
	    ~(IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE |
	      IOMMU_IOAS_MAP_READABLE))
		return -EOPNOTSUPP;
	/* start only matters on 32 bit, where upstream truncates it */
	if (cmd->iova >= ULONG_MAX || cmd->length >= ULONG_MAX ||
	    overflows_type(cmd->start, unsigned long))
		return -EOVERFLOW;
	if (!(cmd->flags &
	      (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)))
		return -EINVAL;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	if (!(cmd->flags & IOMMU_IOAS_MAP_FIXED_IOVA))
		flags = IOPT_ALLOC_IOVA;
	rc = iopt_map_file_pages(ucmd->ictx, &ioas->iopt, &iova, cmd->fd,
				 cmd->start, cmd->length,
				 iopt_file_iommu_prot(cmd->flags), flags);
	if (rc)
		goto out_put;

	cmd->iova = iova;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
out_put:
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}
