// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-pci dma-buf exporter: VFIO_DEVICE_FEATURE_DMA_BUF and dma_buf_ops.
 *
 * See vfio_pci_dmabuf.h for the state machine and the lock order.
 */
#include <linux/dma-buf-phys.h>
#include <linux/dma-resv.h>
#include <linux/fcntl.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>

#include "vfio_pci_dmabuf.h"

#define CREATE_TRACE_POINTS
#include "vfio_pci_dmabuf_trace.h"

MODULE_IMPORT_NS(DMA_BUF);

static atomic64_t vfio_pci_dmabuf_next_id = ATOMIC64_INIT(0);

static struct dma_buf_phys_exporter vfio_pci_dmabuf_phys_exporter;

/**
 * vfio_pci_dmabuf_is_phys - is this a physical address importer's attachment
 * @attach: an attachment of a vfio-pci dma-buf
 *
 * Return: true for an attachment of dma_buf_phys_attach() (iommufd).
 */
bool vfio_pci_dmabuf_is_phys(const struct dma_buf_attachment *attach)
{
	return dma_buf_phys_is_attachment(&vfio_pci_dmabuf_phys_exporter,
					  attach);
}

static int vfio_pci_dmabuf_attach(struct dma_buf *dmabuf,
				  struct dma_buf_attachment *attach)
{
	struct vfio_pci_dmabuf *priv = dmabuf->priv;
	struct pci_dev *pdev = priv->pdev;
	struct vfio_pci_dmabuf_attach *ap;
	enum vfio_pci_dmabuf_path type = VFIO_PCI_DMABUF_PATH_NONE;
	bool phys = vfio_pci_dmabuf_is_phys(attach);
	enum vfio_pci_dmabuf_state state;
	int ret;

	/*
	 * Only importers that can take P2P addresses and that unmap on
	 * move_notify: access to MMIO must be revocable.
	 */
	if (!attach->peer2peer || !attach->importer_ops ||
	    !attach->importer_ops->move_notify) {
		ret = -EOPNOTSUPP;
		goto out;
	}

	/*
	 * ->attach runs without the reservation lock held.  A physical
	 * address importer may attach while the dma-buf is revoked: it gets
	 * no ranges until the restore's move_notify (a BAR mapped by address
	 * while it does not decode).  Every other importer maps at once, so
	 * it is refused unless ACTIVE.  Nobody attaches to a DEAD one.
	 */
	dma_resv_lock(dmabuf->resv, NULL);
	state = priv->state;
	dma_resv_unlock(dmabuf->resv);
	if (state == VFIO_PCI_DMABUF_DEAD ||
	    (state != VFIO_PCI_DMABUF_ACTIVE && !phys)) {
		ret = -ENODEV;
		goto out;
	}

	/*
	 * A physical address importer (iommufd) has no DMA device and never
	 * maps: it reads the ranges with dma_buf_phys_map() and puts
	 * them into IOMMU page tables of its own. No attach->priv.
	 */
	if (phys) {
		ret = 0;
		goto out;
	}

	ret = vfio_pci_dmabuf_p2p_type(pdev, attach->dev, &type);
	if (ret)
		goto out;

	ap = kzalloc(sizeof(*ap), GFP_KERNEL);
	if (!ap) {
		ret = -ENOMEM;
		goto out;
	}
	ap->map_type = type;
	attach->priv = ap;
out:
	trace_vfio_pci_dmabuf_attach(pci_name(pdev), priv->id,
				     dev_name(attach->dev),
				     phys ? "phys" :
					    vfio_pci_dmabuf_map_type_name(type),
				     ret);
	return ret;
}

static void vfio_pci_dmabuf_detach(struct dma_buf *dmabuf,
				   struct dma_buf_attachment *attach)
{
	kfree(attach->priv);
	attach->priv = NULL;
}

/*
 * Having pin/unpin makes the exporter dynamic, so that the dma-buf core
 * never caches a mapping at attach time.  Pinning MMIO that the user can
 * disable at any time is not possible.
 */
static int vfio_pci_dmabuf_pin(struct dma_buf_attachment *attach)
{
	return -EOPNOTSUPP;
}

static void vfio_pci_dmabuf_unpin(struct dma_buf_attachment *attach)
{
}

static struct sg_table *
vfio_pci_dmabuf_map(struct dma_buf_attachment *attach,
		    enum dma_data_direction dir)
{
	struct vfio_pci_dmabuf *priv = attach->dmabuf->priv;
	struct vfio_pci_dmabuf_attach *ap = attach->priv;
	struct sg_table *sgt;

	dma_resv_assert_held(attach->dmabuf->resv);

	if (priv->state != VFIO_PCI_DMABUF_ACTIVE)
		return ERR_PTR(-ENODEV);
	/* Physical address importers read the ranges instead */
	if (vfio_pci_dmabuf_is_phys(attach))
		return ERR_PTR(-EOPNOTSUPP);
	if (WARN_ON_ONCE(!ap))
		return ERR_PTR(-EINVAL);

	sgt = vfio_pci_dmabuf_p2p_map(priv, attach->dev, ap->map_type, dir);
	if (!IS_ERR(sgt)) {
		ap->nr_mapped++;
		atomic_inc(&priv->nr_mappings);
	}
	return sgt;
}

static void vfio_pci_dmabuf_unmap(struct dma_buf_attachment *attach,
				  struct sg_table *sgt,
				  enum dma_data_direction dir)
{
	struct vfio_pci_dmabuf *priv = attach->dmabuf->priv;
	struct vfio_pci_dmabuf_attach *ap = attach->priv;

	vfio_pci_dmabuf_p2p_unmap(attach->dev, ap->map_type, sgt, dir);
	ap->nr_mapped--;
	if (atomic_dec_and_test(&priv->nr_mappings))
		wake_up_all(&priv->unmap_wq);
}

/**
 * vfio_pci_dmabuf_take_vdev - detach a dma-buf from its device
 * @priv: the dma-buf
 *
 * Clears @priv->vdev under the reservation lock.  The caller that gets the
 * device back owns the registration reference the dma-buf held and must
 * unlink @priv from the device's list and drop the reference; a second
 * caller gets NULL.  See "Lifetime" in vfio_pci_dmabuf.h.
 *
 * Context: takes the reservation lock of the dma-buf.
 * Return: the device, or NULL if the dma-buf was already detached.
 */
struct vfio_pci_core_device *vfio_pci_dmabuf_take_vdev(struct vfio_pci_dmabuf *priv)
{
	struct vfio_pci_core_device *vdev;

	dma_resv_lock(priv->dmabuf->resv, NULL);
	vdev = priv->vdev;
	priv->vdev = NULL;
	dma_resv_unlock(priv->dmabuf->resv);
	return vdev;
}

static void vfio_pci_dmabuf_release(struct dma_buf *dmabuf)
{
	struct vfio_pci_dmabuf *priv = dmabuf->priv;
	struct vfio_pci_core_device *vdev;

	mutex_lock(&vfio_pci_dmabuf_all_lock);
	list_del(&priv->all_node);
	mutex_unlock(&vfio_pci_dmabuf_all_lock);

	/*
	 * Still attached to an open device: leave its list, then drop the
	 * registration.  After vfio_pci_dmabuf_close() there is no device to
	 * touch: it may be unbound and freed already.
	 */
	vdev = vfio_pci_dmabuf_take_vdev(priv);
	if (vdev) {
		mutex_lock(&vdev->dmabuf_lock);
		list_del_init(&priv->dev_node);
		mutex_unlock(&vdev->dmabuf_lock);
		vfio_device_put_registration(&vdev->vdev);
	}

	WARN_ON(atomic_read(&priv->nr_mappings));
	trace_vfio_pci_dmabuf_release(pci_name(priv->pdev), priv->id,
				      priv->revoke_count);

	pci_dev_put(priv->pdev);
	kfree(priv->ranges);
	kfree(priv);
}

static const struct dma_buf_ops vfio_pci_dmabuf_ops = {
	.attach = vfio_pci_dmabuf_attach,
	.detach = vfio_pci_dmabuf_detach,
	.pin = vfio_pci_dmabuf_pin,
	.unpin = vfio_pci_dmabuf_unpin,
	.map_dma_buf = vfio_pci_dmabuf_map,
	.unmap_dma_buf = vfio_pci_dmabuf_unmap,
	.release = vfio_pci_dmabuf_release,
	/* No mmap, vmap or CPU access: dma_buf_mmap() fails with -EINVAL. */
};

static bool vfio_pci_dmabuf_vma_is_ours(struct vm_area_struct *vma);
static struct dma_buf *
vfio_pci_dmabuf_vma_get(const struct dma_buf_phys_vma *vma, unsigned long addr,
			unsigned long len, bool writable);

/*
 * dma_buf_phys_ops.map_phys: the CPU physical addresses of the exported
 * slices, while ACTIVE. Revoke and restore already send move_notify under
 * the reservation lock after changing the state, which is what a physical
 * address importer needs to drop and re-create its IOMMU mappings: it
 * unmaps synchronously inside move_notify, so nr_mappings does not count
 * it.
 */
static int vfio_pci_dmabuf_map_phys(struct dma_buf_attachment *attach,
				    struct phys_vec **phys)
{
	struct vfio_pci_dmabuf *priv = attach->dmabuf->priv;
	struct phys_vec *p;
	u32 i;

	dma_resv_assert_held(attach->dmabuf->resv);

	if (priv->state != VFIO_PCI_DMABUF_ACTIVE)
		return -ENODEV;
	p = kvmalloc_array(priv->nr_ranges, sizeof(*p), GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	for (i = 0; i < priv->nr_ranges; i++) {
		p[i].paddr = priv->ranges[i].phys;
		p[i].len = priv->ranges[i].length;
	}
	*phys = p;
	return priv->nr_ranges;
}

static const struct dma_buf_phys_ops vfio_pci_dmabuf_phys_ops = {
	.map_phys = vfio_pci_dmabuf_map_phys,
	.vma_is_ours = vfio_pci_dmabuf_vma_is_ours,
	.vma_get_dmabuf = vfio_pci_dmabuf_vma_get,
};

static struct dma_buf_phys_exporter vfio_pci_dmabuf_phys_exporter = {
	.dmabuf_ops = &vfio_pci_dmabuf_ops,
	.phys_ops = &vfio_pci_dmabuf_phys_ops,
	.owner = THIS_MODULE,
};

static bool vfio_pci_dmabuf_phys_registered;

static int vfio_pci_dmabuf_copy_ranges(struct vfio_pci_dmabuf *priv,
				       struct pci_dev *pdev,
				       const struct vfio_region_dma_range *r)
{
	resource_size_t start = pci_resource_start(pdev, priv->bar);
	pci_bus_addr_t bus = pci_bus_address(pdev, priv->bar);
	u32 i;

	priv->ranges = kcalloc(priv->nr_ranges, sizeof(*priv->ranges),
			       GFP_KERNEL_ACCOUNT);
	if (!priv->ranges)
		return -ENOMEM;

	for (i = 0; i < priv->nr_ranges; i++) {
		priv->ranges[i].offset = r[i].offset;
		priv->ranges[i].length = r[i].length;
		priv->ranges[i].phys = start + r[i].offset;
		priv->ranges[i].bus = bus + r[i].offset;
	}
	priv->nr_segs = vfio_pci_dmabuf_count_segs(priv);
	return 0;
}

static struct vfio_region_dma_range *
vfio_pci_dmabuf_get_args(struct vfio_device_feature_dma_buf __user *arg,
			 size_t argsz, struct vfio_device_feature_dma_buf *hdr)
{
	if (copy_from_user(hdr, arg, sizeof(*hdr)))
		return ERR_PTR(-EFAULT);

	if (hdr->flags || !hdr->nr_ranges)
		return ERR_PTR(-EINVAL);
	if (hdr->open_flags & ~VFIO_PCI_DMABUF_OPEN_FLAGS)
		return ERR_PTR(-EINVAL);
	/* For PCI the region index is the BAR number, ROM excluded. */
	if (hdr->region_index >= VFIO_PCI_ROM_REGION_INDEX)
		return ERR_PTR(-ENODEV);
	if (hdr->nr_ranges > VFIO_PCI_DMABUF_MAX_RANGES)
		return ERR_PTR(-E2BIG);
	/* argsz must cover every range; nr_ranges is capped, no overflow. */
	if (argsz < struct_size(hdr, dma_ranges, hdr->nr_ranges))
		return ERR_PTR(-EINVAL);

	return memdup_array_user(&arg->dma_ranges, hdr->nr_ranges,
				 sizeof(struct vfio_region_dma_range));
}

/*
 * Create a dma-buf of @nr_ranges @ranges (validated here, consumed) of BAR
 * @bar of @vdev, opened with @open_flags.  @from_va marks the dma-bufs made
 * for an IOMMU mapping of a BAR mmap, which no fd refers to.
 */
static struct dma_buf *
vfio_pci_dmabuf_create(struct vfio_pci_core_device *vdev, u32 bar,
		       struct vfio_region_dma_range *ranges, u32 nr_ranges,
		       u32 open_flags, bool from_va)
{
	DEFINE_DMA_BUF_EXPORT_INFO(exp_info);
	struct pci_dev *pdev = vdev->pdev;
	struct vfio_pci_dmabuf *priv;
	struct dma_buf *dmabuf;
	size_t size;
	int ret;

	ret = vfio_pci_dmabuf_check_bar(pdev, bar);
	if (ret)
		goto err_free_ranges;

	ret = vfio_pci_dmabuf_check_ranges(pdev, bar, ranges, nr_ranges, &size);
	if (ret)
		goto err_free_ranges;

	/*
	 * Claim the BAR for vfio-pci, as a BAR mmap would: -EBUSY if its
	 * region cannot be requested, -ENOMEM if it cannot be mapped.
	 */
	ret = vfio_pci_core_setup_barmap(vdev, bar);
	if (ret)
		goto err_free_ranges;

	priv = kzalloc(sizeof(*priv), GFP_KERNEL_ACCOUNT);
	if (!priv) {
		ret = -ENOMEM;
		goto err_free_ranges;
	}
	priv->vdev = vdev;
	priv->pdev = pdev;
	priv->bar = bar;
	priv->nr_ranges = nr_ranges;
	priv->size = size;
	priv->from_va = from_va;
	priv->id = atomic64_inc_return(&vfio_pci_dmabuf_next_id);
	priv->state = VFIO_PCI_DMABUF_REVOKED;
	INIT_LIST_HEAD(&priv->dev_node);
	INIT_LIST_HEAD(&priv->all_node);
	init_waitqueue_head(&priv->unmap_wq);
	atomic_set(&priv->nr_mappings, 0);

	ret = vfio_pci_dmabuf_copy_ranges(priv, pdev, ranges);
	if (ret)
		goto err_free_priv;
	kfree(ranges);
	ranges = NULL;

	if (!vfio_device_try_get_registration(&vdev->vdev)) {
		ret = -ENODEV;
		goto err_free_priv;
	}
	pci_dev_get(pdev);

	exp_info.ops = &vfio_pci_dmabuf_ops;
	exp_info.size = priv->size;
	exp_info.flags = open_flags;
	exp_info.priv = priv;

	dmabuf = dma_buf_export(&exp_info);
	if (IS_ERR(dmabuf)) {
		ret = PTR_ERR(dmabuf);
		goto err_put_registration;
	}
	priv->dmabuf = dmabuf;

	/* From here on the dma-buf owns priv; ->release() frees it. */
	mutex_lock(&vfio_pci_dmabuf_all_lock);
	list_add_tail(&priv->all_node, &vfio_pci_dmabuf_all);
	mutex_unlock(&vfio_pci_dmabuf_all_lock);

	/*
	 * memory_lock for read is enough to see a stable decode state:
	 * every revoke and restore of vfio-pci holds it for write, and those
	 * of the PCI core change it under dmabuf_lock.
	 */
	down_read(&vdev->memory_lock);
	mutex_lock(&vdev->dmabuf_lock);
	dma_resv_lock(dmabuf->resv, NULL);
	list_add_tail(&priv->dev_node, &vdev->dmabufs);
	/* Born revoked if the BAR does not decode right now. */
	if (vfio_pci_dmabuf_mem_usable(vdev))
		priv->state = VFIO_PCI_DMABUF_ACTIVE;
	dma_resv_unlock(dmabuf->resv);
	mutex_unlock(&vdev->dmabuf_lock);
	up_read(&vdev->memory_lock);

	trace_vfio_pci_dmabuf_export(pci_name(pdev), priv->id, priv->bar,
				     priv->nr_ranges, priv->size,
				     priv->state != VFIO_PCI_DMABUF_ACTIVE,
				     from_va);
	return dmabuf;

err_put_registration:
	pci_dev_put(pdev);
	vfio_device_put_registration(&vdev->vdev);
err_free_priv:
	kfree(priv->ranges);
	kfree(priv);
err_free_ranges:
	kfree(ranges);
	return ERR_PTR(ret);
}

/**
 * vfio_pci_dmabuf_feature - VFIO_DEVICE_FEATURE_DMA_BUF handler
 * @device: vfio device the feature ioctl was issued on
 * @flags: VFIO_DEVICE_FEATURE flags
 * @arg: user pointer to struct vfio_device_feature_dma_buf
 * @argsz: size of the user buffer at @arg
 *
 * Validates the request, creates a dma-buf covering the ranges of the BAR
 * and installs a file descriptor for it.
 *
 * Return: the new file descriptor, 0 for a successful PROBE, or a negative
 * errno.
 */
int vfio_pci_dmabuf_feature(struct vfio_device *device, u32 flags,
			    void __user *arg, size_t argsz)
{
	struct vfio_pci_core_device *vdev =
		container_of(device, struct vfio_pci_core_device, vdev);
	struct vfio_device_feature_dma_buf hdr;
	struct vfio_region_dma_range *ranges;
	struct dma_buf *dmabuf;
	int ret;

	/*
	 * Drivers that replace the ioctl handler present their own BAR
	 * layout; the dma-buf needs the real PCI resources.
	 */
	if (device->ops->ioctl != vfio_pci_core_ioctl)
		return -EOPNOTSUPP;

	ret = vfio_check_feature(flags, argsz, VFIO_DEVICE_FEATURE_GET,
				 sizeof(hdr));
	if (ret != 1)
		return ret;

	ranges = vfio_pci_dmabuf_get_args(arg, argsz, &hdr);
	if (IS_ERR(ranges))
		return PTR_ERR(ranges);

	dmabuf = vfio_pci_dmabuf_create(vdev, hdr.region_index, ranges,
					hdr.nr_ranges, hdr.open_flags, false);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);

	ret = dma_buf_fd(dmabuf, hdr.open_flags);
	if (ret < 0)
		dma_buf_put(dmabuf);
	return ret;
}

/*
 * dma_buf_phys_ops.vma_is_ours: a BAR mmap of a vfio-pci device.  Called
 * with mmap_lock held; compares a pointer and takes no lock.
 */
static bool vfio_pci_dmabuf_vma_is_ours(struct vm_area_struct *vma)
{
	return vma->vm_ops == &vfio_pci_mmap_ops;
}

/*
 * dma_buf_phys_ops.vma_get_dmabuf: the same dma-buf VFIO_DEVICE_FEATURE_DMA_BUF
 * would give for the bytes [@addr, @addr + @len) of a BAR mmap, without an
 * fd.  The caller holds a reference on the device file of the mapping,
 * which keeps the device open, so @vma->private (the device) is valid.
 */
static struct dma_buf *
vfio_pci_dmabuf_vma_get(const struct dma_buf_phys_vma *vma, unsigned long addr,
			unsigned long len, bool writable)
{
	struct vfio_pci_core_device *vdev = vma->private;
	struct vfio_region_dma_range *range;
	unsigned long end;
	u32 bar;

	if (vdev->vdev.ops->ioctl != vfio_pci_core_ioctl)
		return ERR_PTR(-EOPNOTSUPP);
	/* All of it inside this one mapping, with its permissions */
	if (!len || addr < vma->start || check_add_overflow(addr, len, &end) ||
	    end > vma->end)
		return ERR_PTR(-EFAULT);
	if (!(vma->flags & VM_READ) || (writable && !(vma->flags & VM_WRITE)))
		return ERR_PTR(-EFAULT);

	range = kzalloc(sizeof(*range), GFP_KERNEL);
	if (!range)
		return ERR_PTR(-ENOMEM);
	bar = vma->pgoff >> (VFIO_PCI_OFFSET_SHIFT - PAGE_SHIFT);
	range->offset = ((u64)(vma->pgoff &
			       ((1UL << (VFIO_PCI_OFFSET_SHIFT - PAGE_SHIFT)) - 1))
			 << PAGE_SHIFT) + (addr - vma->start);
	range->length = len;
	return vfio_pci_dmabuf_create(vdev, bar, range, 1,
				      writable ? O_RDWR : O_RDONLY, true);
}

/**
 * vfio_pci_dmabuf_init_dev - initialise the dma-buf state of a device
 * @vdev: device being initialised by vfio_pci_core_init_dev()
 */
void vfio_pci_dmabuf_init_dev(struct vfio_pci_core_device *vdev)
{
	mutex_init(&vdev->dmabuf_lock);
	INIT_LIST_HEAD(&vdev->dmabufs);
	vdev->dmabuf_reset_owner = NULL;
	vdev->dmabuf_host_resets = 0;
	INIT_WORK(&vdev->dmabuf_restore_work, vfio_pci_dmabuf_restore_work);
}

/**
 * vfio_pci_dmabuf_module_init - set up the exporter when vfio-pci-core loads
 */
void vfio_pci_dmabuf_module_init(void)
{
	int ret;

	vfio_pci_dmabuf_debugfs_init();

	/* Without it iommufd cannot import, P2P importers still work */
	ret = dma_buf_phys_register(&vfio_pci_dmabuf_phys_exporter);
	if (ret)
		pr_warn("vfio-pci: dma-bufs not offered to IOMMU importers: %d\n",
			ret);
	else
		vfio_pci_dmabuf_phys_registered = true;
}

/**
 * vfio_pci_dmabuf_module_exit - tear down the exporter on module unload
 *
 * Every dma-buf holds a reference on this module, so none exist here.
 */
void vfio_pci_dmabuf_module_exit(void)
{
	if (vfio_pci_dmabuf_phys_registered)
		dma_buf_phys_unregister(&vfio_pci_dmabuf_phys_exporter);
	vfio_pci_dmabuf_phys_registered = false;
	vfio_pci_dmabuf_debugfs_exit();
}
