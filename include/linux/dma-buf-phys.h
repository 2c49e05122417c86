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
 * Exporters opt in by registering a &struct dma_buf_phys_exporter that pairs
 * their &struct dma_buf_ops with a &struct dma_buf_phys_ops. Importers attach
 * with dma_buf_phys_attach(), which refuses dma-bufs of any other exporter
 * before anything is attached, and read the ranges with
 * dma_buf_phys_get_ranges() under the reservation lock.
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
 * before move_notify() returns, then call dma_buf_phys_get_ranges() again.
 * -ENODEV from it means the exporter revoked access; a later move_notify()
 * tells the importer to look again.
 *
 * Lock order across this interface, outermost first. This is the one
 * statement of the order between exporters and importers; each driver
 * states the order of its own locks in its header and points here for the
 * locks around the reservation lock:
 *
 *   exporter locks held to revoke or restore
 *       (vfio-pci: memory_lock, then dmabuf_lock,
 *       see drivers/vfio/pci/dmabuf/vfio_pci_dmabuf.h)
 *     dma_buf::resv                   move_notify, get_ranges, detach
 *       dma_buf_phys_lock             registry, dma_buf_phys_get_ranges()
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
 * An exporter takes none of its locks with a reservation lock held, an
 * importer takes no reservation lock with a lock held that its move_notify
 * takes, and &dma_buf_phys_ops.vma_get_dmabuf runs with the mmap_lock
 * dropped, because an export takes the exporter's locks.
 */
#ifndef __LINUX_DMA_BUF_PHYS_H
#define __LINUX_DMA_BUF_PHYS_H

#include <linux/list.h>
#include <linux/types.h>

struct dma_buf;
struct dma_buf_attach_ops;
struct mm_struct;
struct module;
struct vm_area_struct;
struct dma_buf_attachment;
struct dma_buf_ops;

/**
 * struct dma_buf_phys_range - one physically contiguous piece of a dma-buf
 * @addr: CPU physical address of the piece, PAGE_SIZE aligned
 * @len: length in bytes, a non zero multiple of PAGE_SIZE
 */
struct dma_buf_phys_range {
	phys_addr_t addr;
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
	 * @get_ranges:
	 *
	 * Report the physical ranges of the whole dma-buf, in dma-buf offset
	 * order. Fill at most @max_ranges entries of @ranges (@ranges may be
	 * NULL when @max_ranges is 0) and return the total number of ranges,
	 * which may be larger than @max_ranges. The ranges must be page
	 * aligned, non empty, and add up to exactly the dma-buf size.
	 *
	 * Return -ENODEV while access is revoked. The answer may only change
	 * under the reservation lock, and every change must be followed by
	 * dma_buf_move_notify() before the lock is dropped.
	 *
	 * Called with the reservation lock of attach->dmabuf held.
	 */
	int (*get_ranges)(struct dma_buf_attachment *attach,
			  struct dma_buf_phys_range *ranges,
			  unsigned int max_ranges);

	/**
	 * @vma_is_ours:
	 *
	 * Optional, with @vma_get_dmabuf. Tell whether @vma is a user
	 * mapping of device memory made by the exporter's driver (not a
	 * dma-buf mmap), which @vma_get_dmabuf can turn into a dma-buf.
	 * Decide from the VMA's vm_ops, never from its PFNs. Only VM_PFNMAP
	 * VMAs are asked.
	 *
	 * Called with the mmap_lock of @vma held and the registry lock of
	 * this interface held: take no lock.
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
 * @owner: module of the operations, held while one is called without the
 *	registry lock
 * @node: private to dma-buf-phys.c
 */
struct dma_buf_phys_exporter {
	const struct dma_buf_ops *dmabuf_ops;
	const struct dma_buf_phys_ops *phys_ops;
	struct module *owner;
	struct list_head node;
};

int dma_buf_phys_register(struct dma_buf_phys_exporter *exp);
void dma_buf_phys_unregister(struct dma_buf_phys_exporter *exp);

bool dma_buf_phys_supported(struct dma_buf *dmabuf);
bool dma_buf_attachment_is_phys(const struct dma_buf_attachment *attach);

struct dma_buf_attachment *
dma_buf_phys_attach(struct dma_buf *dmabuf,
		    const struct dma_buf_attach_ops *importer_ops,
		    void *importer_priv);
void dma_buf_phys_detach(struct dma_buf_attachment *attach);
int dma_buf_phys_get_ranges(struct dma_buf_attachment *attach,
			    struct dma_buf_phys_range **ranges);
struct dma_buf *dma_buf_phys_get_vma_dmabuf(struct mm_struct *mm,
					    unsigned long addr,
					    unsigned long len, bool writable);

#endif /* __LINUX_DMA_BUF_PHYS_H */
