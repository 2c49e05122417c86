/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Physical address ranges of a dma-buf, for importers that program an IOMMU
 * themselves.
 *
 * Some importers do not DMA through a struct device of their own: iommufd
 * puts the memory of a dma-buf into IOMMU page tables that other devices use.
 * It needs the CPU physical addresses of the buffer, not a scatterlist of DMA
 * addresses for one device. This interface hands those addresses over.
 *
 * Exporters opt in with dma_buf_phys_register(), which pairs their
 * &struct dma_buf_ops with a &struct dma_buf_phys_ops. Importers attach with
 * dma_buf_phys_attach(), which refuses dma-bufs of any other exporter before
 * anything is attached and remembers the exporter in the importer's
 * &struct dma_buf_phys_attachment, so that dma_buf_phys_map() asks it for
 * the ranges in one call, under the reservation lock, without looking it up
 * again. The exporter's &dma_buf_ops.attach recognises such attachments with
 * dma_buf_phys_is_attachment().
 *
 * An exporter may also recognise user mappings of device memory that its
 * driver made (a BAR mmap) and make a dma-buf of them, so that an importer
 * handed a user address range can treat it like that dma-buf, see
 * dma_buf_phys_get_vma_dmabuf().
 *
 * The ranges describe device memory (MMIO): there may be no struct page
 * behind them and the importer must not assume CPU cache coherency, so they
 * are mapped uncached (IOMMU_MMIO, no IOMMU_CACHE).
 *
 * Only dynamic importers are accepted. move_notify() means "the ranges may
 * have changed or gone": the importer must stop all access to the old ranges
 * before move_notify() returns, then call dma_buf_phys_map() again. -ENODEV
 * from it means the exporter revoked access; a later move_notify() tells the
 * importer to look again.
 *
 * Lock order across this interface, outermost first. This is the one
 * statement of the order between exporters and importers; each driver
 * states the order of its own locks in its header and points here for the
 * locks around the reservation lock:
 *
 *   exporter locks held to revoke or restore
 *       (vfio-pci: memory_lock, then dmabuf_lock,
 *       see drivers/vfio/pci/dmabuf/vfio_pci_dmabuf.h)
 *     dma_buf::resv                   move_notify, dma_buf_phys_map(), detach
 *       importer locks taken by move_notify
 *           (iommufd: iopt_pages::mutex,
 *           see drivers/iommu/iommufd/p2p/dmabuf.h)
 *
 *   importer locks held at detach
 *       (iommufd: io_pagetable::domains_rwsem, then iova_rwsem)
 *     dma_buf::resv
 *
 *   mm_struct::mmap_lock              dma_buf_phys_get_vma_dmabuf()
 *     dma_buf_phys_lock               &dma_buf_phys_ops.vma_is_ours
 *
 * dma_buf_phys_lock only guards the list of registered exporters and
 * nothing is taken inside it: dma_buf_phys_attach() holds it to find the
 * exporter, with no other lock held, and drops it before attaching;
 * dma_buf_phys_map() does not take it. An exporter takes none of its locks with a reservation
 * lock held, an importer takes no reservation lock with a lock held that
 * its move_notify takes, and &dma_buf_phys_ops.vma_get_dmabuf runs with the
 * mmap_lock dropped, because an export takes the exporter's locks.
 */
#ifndef __LINUX_DMA_BUF_PHYS_H
#define __LINUX_DMA_BUF_PHYS_H

#include <linux/dma-buf.h>
#include <linux/list.h>
#include <linux/types.h>

struct device;
struct mm_struct;
struct module;
struct vm_area_struct;

/**
 * struct phys_vec - one physically contiguous piece of a dma-buf
 * @paddr: CPU physical address of the piece, PAGE_SIZE aligned
 * @len: length in bytes, a non zero multiple of PAGE_SIZE
 *
 * The layout and names of the struct of the same name in the
 * include/linux/types.h of later kernels, where vfio-pci hands it to
 * iommufd; see Documentation/driver-api/dma-buf-phys.rst.
 */
struct phys_vec {
	phys_addr_t paddr;
	size_t len;
};

/**
 * struct dma_buf_phys_vma - what an exporter is told of a user mapping
 * @file: the mapped file, referenced by the caller for the duration of
 *	&dma_buf_phys_ops.vma_get_dmabuf
 * @private: vm_private_data of the VMA
 * @start: first address of the VMA
 * @end: first address after the VMA
 * @pgoff: vm_pgoff of the VMA
 * @flags: vm_flags of the VMA
 *
 * A copy taken under the mmap_lock, so that the exporter can export
 * without holding it.
 */
struct dma_buf_phys_vma {
	struct file *file;
	void *private;
	unsigned long start;
	unsigned long end;
	unsigned long pgoff;
	unsigned long flags;
};

/**
 * struct dma_buf_phys_ops - exporter side of the physical ranges interface
 */
struct dma_buf_phys_ops {
	/**
	 * @map_phys:
	 *
	 * Hand out the physical ranges of the whole dma-buf, in dma-buf
	 * offset order: allocate an array with kvmalloc_array(), fill it,
	 * store it in @phys and return the number of entries. The caller
	 * frees it with kvfree(). The ranges must be page aligned, non
	 * empty, and add up to exactly the dma-buf size.
	 *
	 * Return -ENODEV while access is revoked, -ENOMEM if the array
	 * cannot be allocated; @phys is not set then. The answer may only
	 * change under the reservation lock, and every change must be
	 * followed by dma_buf_move_notify() before the lock is dropped.
	 *
	 * Called with the reservation lock of @attach->dmabuf held, for an
	 * attachment of dma_buf_phys_attach() only.
	 */
	int (*map_phys)(struct dma_buf_attachment *attach,
			struct phys_vec **phys);

	/**
	 * @vma_is_ours:
	 *
	 * Optional, with @vma_get_dmabuf. Tell whether @vma is a user
	 * mapping of device memory made by the exporter's driver (not a
	 * dma-buf mmap), which @vma_get_dmabuf can turn into a dma-buf.
	 * Decide from the VMA's vm_ops, never from its PFNs. Only VM_PFNMAP
	 * VMAs are asked.
	 *
	 * Called with the mmap_lock of @vma held and dma_buf_phys_lock held:
	 * take no lock.
	 */
	bool (*vma_is_ours)(struct vm_area_struct *vma);

	/**
	 * @vma_get_dmabuf:
	 *
	 * Return a new dma-buf (the caller owns the reference) of the device
	 * memory behind the bytes [@addr, @addr + @len) of the mapping
	 * described by @vma, exactly as the exporter's own export of that
	 * memory would make it, or an ERR_PTR if the range cannot be exported
	 * (not wholly inside the mapping, not allowed by its permissions,
	 * refused by the exporter's rules). No file descriptor refers to the
	 * dma-buf.
	 *
	 * Called without the mmap_lock, after @vma_is_ours() said true; the
	 * caller holds a reference on @vma->file, which keeps what
	 * @vma->private points to alive.
	 */
	struct dma_buf *(*vma_get_dmabuf)(const struct dma_buf_phys_vma *vma,
					  unsigned long addr,
					  unsigned long len, bool writable);
};

/**
 * struct dma_buf_phys_exporter - registration of an exporter
 * @dmabuf_ops: the &struct dma_buf_ops of every dma-buf of this exporter;
 *	dma-bufs are matched to their exporter by this pointer
 * @phys_ops: the physical ranges operations of the exporter
 * @owner: module of the operations, held while &dma_buf_phys_ops.vma_get_dmabuf
 *	is called for a VMA, when no dma-buf of the exporter holds it yet
 * @importer_ops: set by dma_buf_phys_register(): the importer operations
 *	of every physical address attachment, see dma_buf_phys_is_attachment()
 * @node: private to dma-buf-phys.c
 */
struct dma_buf_phys_exporter {
	const struct dma_buf_ops *dmabuf_ops;
	const struct dma_buf_phys_ops *phys_ops;
	struct module *owner;
	const struct dma_buf_attach_ops *importer_ops;
	struct list_head node;
};

/**
 * struct dma_buf_phys_attachment - a physical address importer's attachment
 * @attach: the dma-buf attachment; set by dma_buf_phys_attach() when it
 *	returns, the importer's to pass to dma_buf_detach()
 * @move_notify: private: the importer's notification, set by
 *	dma_buf_phys_attach()
 * @exp: private: the exporter, found once by dma_buf_phys_attach()
 *
 * Embedded in the importer's own state, which must outlive the attachment.
 * Its address is the &dma_buf_attachment.importer_priv of the attachment:
 * the importer gets back to its state with container_of().
 */
struct dma_buf_phys_attachment {
	struct dma_buf_attachment *attach;
	void (*move_notify)(struct dma_buf_attachment *attach);
	const struct dma_buf_phys_exporter *exp;
};

/**
 * dma_buf_phys_is_attachment - is this a physical address attachment
 * @exp: the exporter's registration
 * @attach: an attachment to one of its dma-bufs, typically seen by its
 *	&dma_buf_ops.attach
 *
 * Physical address attachments have no DMA device: the exporter must not
 * try to find a P2P path to @attach->dev or DMA map for it, and may refuse
 * &dma_buf_ops.map_dma_buf for it. Only dma_buf_phys_attach() makes
 * attachments with these importer operations, so a DMA importer is never
 * taken for one.
 *
 * Return: true if @attach was made by dma_buf_phys_attach(); false for any
 * attachment while @exp is not registered.
 */
static inline bool
dma_buf_phys_is_attachment(const struct dma_buf_phys_exporter *exp,
			   const struct dma_buf_attachment *attach)
{
	return exp->importer_ops && attach->importer_ops == exp->importer_ops;
}

/**
 * dma_buf_phys_attachment - the physical address attachment of an attachment
 * @attach: an attachment for which dma_buf_phys_is_attachment() is true, or
 *	the argument of the importer's move_notify
 *
 * Return: the &struct dma_buf_phys_attachment embedded in the importer.
 */
static inline struct dma_buf_phys_attachment *
dma_buf_phys_attachment(const struct dma_buf_attachment *attach)
{
	return attach->importer_priv;
}

int dma_buf_phys_register(struct dma_buf_phys_exporter *exp);
void dma_buf_phys_unregister(struct dma_buf_phys_exporter *exp);
int dma_buf_phys_attach(struct dma_buf *dmabuf, struct device *dev,
			struct dma_buf_phys_attachment *pa,
			void (*move_notify)(struct dma_buf_attachment *attach));
int dma_buf_phys_map(struct dma_buf_attachment *attach,
		     struct phys_vec **phys);
struct dma_buf *dma_buf_phys_get_vma_dmabuf(struct mm_struct *mm,
					    unsigned long addr,
					    unsigned long len, bool writable);

#endif /* __LINUX_DMA_BUF_PHYS_H */
