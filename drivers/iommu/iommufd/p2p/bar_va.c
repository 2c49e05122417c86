// SPDX-License-Identifier: GPL-2.0
/*
 * P2P for VMMs that map BARs by address.
 *
 * A VMM that predates VFIO_DEVICE_FEATURE_DMA_BUF gives the devices of a VM
 * access to each other's BARs by passing the address of a BAR mmap to
 * IOMMU_IOAS_MAP, or to VFIO_IOMMU_MAP_DMA on iommufd's type1 compatible
 * container. iommufd cannot pin such a VM_PFNMAP range. When the whole
 * range lies in one VMA that an exporter of the physical ranges interface
 * made (a vfio-pci BAR mmap, see dma_buf_phys_get_vma_dmabuf()), it is
 * mapped exactly as IOMMU_IOAS_MAP_FILE of a dma-buf of that BAR slice
 * would be: MMIO IOPTEs, nothing pinned or charged, revoked and restored
 * with the exporter's state, large IOPTEs where the alignment allows.
 *
 * The dma-buf is internal: the iopt_pages holds the only reference, no fd
 * refers to it. Its lifetime is the exporter's, as with MAP_FILE: munmap()
 * of the VMA changes nothing, closing the device revokes the mapping for
 * good, IOMMU_IOAS_UNMAP removes it.
 *
 * Any other range takes the ordinary user memory path. A range that starts
 * in such a VMA but cannot be exported (it runs past the VMA, the BAR is
 * not mmap-able or smaller than a page, the VMA does not allow the access)
 * fails with -EFAULT, as it did before this existed. A BAR that does not
 * decode at the time of the map is mapped revoked, and its IOPTEs appear
 * when it decodes again: VMMs that map by address do not retry.
 *
 * iommufd.map_bar_va=0 turns this off: every BAR address is -EFAULT, as
 * upstream does.
 *
 * Locking: dma_buf_phys_get_vma_dmabuf() takes mmap_lock to find the VMA
 * and drops it before the exporter takes its locks (see
 * drivers/vfio/pci/dmabuf/vfio_pci_dmabuf.h). No iommufd lock is held
 * here, as for IOMMU_IOAS_MAP_FILE.
 */
#include <linux/dma-buf.h>
#include <linux/dma-buf-phys.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>

#include "../iommufd_private.h"
#include "dmabuf.h"
#include "dmabuf_trace.h"
#include "p2p.h"

static bool map_bar_va = true;
module_param(map_bar_va, bool, 0644);
MODULE_PARM_DESC(map_bar_va,
		 "Map a vfio-pci BAR mmap given to IOMMU_IOAS_MAP or VFIO_IOMMU_MAP_DMA as a revocable P2P mapping (default: on; off: EFAULT, as upstream)");

/*
 * What the user sees of a BAR range that cannot be exported: EFAULT, as
 * before this path existed, except for what is not about the range itself.
 */
static int iopt_bar_va_errno(long err)
{
	if (err == -EINTR || err == -ENOMEM)
		return err;
	return -EFAULT;
}

/**
 * iopt_try_map_bar_va() - Map a user range that is a BAR mmap as P2P
 * @ictx: the iommufd context
 * @iopt: the io_pagetable
 * @iova: in: the IOVA with IOPT_ALLOC_IOVA clear; out: the IOVA used
 * @uptr: user address of the range
 * @length: number of bytes
 * @iommu_prot: IOMMU_READ/IOMMU_WRITE/IOMMU_CACHE, as for user memory
 * @flags: IOPT_ALLOC_IOVA or 0
 * @rc: the result, when this function took the range
 *
 * Called by iopt_map_user_pages() before it treats @uptr as memory to pin.
 *
 * Context: no iommufd lock held; takes current->mm's mmap_lock.
 * Return: false if the range is not a BAR mmap (or the feature is off):
 * the caller maps it as user memory. true if it was handled; then @rc is
 * 0 (also when the BAR does not decode right now: the area starts revoked
 * and is mapped when it decodes again), -EFAULT if the BAR range cannot be
 * exported, -ENOMEM, -EINTR, or an errno of iopt_map_pages().
 */
bool iopt_try_map_bar_va(struct iommufd_ctx *ictx, struct io_pagetable *iopt,
			 unsigned long *iova, void __user *uptr,
			 unsigned long length, int iommu_prot,
			 unsigned int flags, int *rc)
{
	unsigned long addr = (uintptr_t)uptr;
	struct iopt_pages *pages;
	struct dma_buf *dmabuf;

	if (!READ_ONCE(map_bar_va) || !length)
		return false;

	dmabuf = dma_buf_phys_get_vma_dmabuf(current->mm, addr, length,
					     iommu_prot & IOMMU_WRITE);
	if (!dmabuf)
		return false;
	if (IS_ERR(dmabuf)) {
		*rc = iopt_bar_va_errno(PTR_ERR(dmabuf));
		trace_iommufd_dmabuf_map_va(0, addr, length, *rc);
		return true;
	}

	pages = iopt_alloc_dmabuf_pages(ictx, dmabuf, 0, length,
					iommu_prot & IOMMU_READ,
					iommu_prot & IOMMU_WRITE, true);
	/* pages has its own reference on success */
	dma_buf_put(dmabuf);
	if (IS_ERR(pages)) {
		*rc = iopt_bar_va_errno(PTR_ERR(pages));
		trace_iommufd_dmabuf_map_va(0, addr, length, *rc);
		return true;
	}
	trace_iommufd_dmabuf_map_va(iopt_dmabuf_ino(pages->dmabuf), addr,
				    length, 0);

	*rc = iopt_map_p2p_pages(ictx, iopt, iova, pages, 0, length, iommu_prot,
				 flags);
	return true;
}
