// SPDX-License-Identifier: GPL-2.0-only
/*
 * Physical address ranges of a dma-buf, see include/linux/dma-buf-phys.h.
 *
 * A small registry maps the &struct dma_buf_ops of an exporter to its
 * &struct dma_buf_phys_ops. Importers attach through dma_buf_phys_attach(),
 * with a struct device owned by this file, so that the exporter's ->attach()
 * can tell a physical address importer from a DMA importer with
 * dma_buf_attachment_is_phys() and skip everything that needs a real DMA
 * device (P2P distance, DMA mapping).
 *
 * Lifetime: dma_buf_export() takes a reference on the exporter's module for
 * each dma-buf, so a registered exporter cannot go away while one of its
 * dma-bufs exists, and the dma_buf_phys_ops found for a dma-buf stay valid
 * for as long as the caller holds a reference on that dma-buf.
 *
 * Locking: dma_buf_phys_lock only protects the registry. Lock order: see
 * include/linux/dma-buf-phys.h.
 */
#include <linux/device.h>
#include <linux/dma-buf.h>
#include <linux/dma-buf-phys.h>
#include <linux/dma-resv.h>
#include <linux/export.h>
#include <linux/file.h>
#include <linux/init.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>

static DEFINE_MUTEX(dma_buf_phys_lock);
static LIST_HEAD(dma_buf_phys_exporters);
/* The struct device of every physical address attachment */
static struct device *dma_buf_phys_dev;

static struct dma_buf_phys_exporter *
dma_buf_phys_find(const struct dma_buf_ops *ops)
{
	struct dma_buf_phys_exporter *exp;

	lockdep_assert_held(&dma_buf_phys_lock);

	list_for_each_entry(exp, &dma_buf_phys_exporters, node)
		if (exp->dmabuf_ops == ops)
			return exp;
	return NULL;
}

static const struct dma_buf_phys_ops *
dma_buf_phys_lookup(const struct dma_buf *dmabuf)
{
	const struct dma_buf_phys_ops *phys_ops = NULL;
	struct dma_buf_phys_exporter *exp;

	mutex_lock(&dma_buf_phys_lock);
	exp = dma_buf_phys_find(dmabuf->ops);
	if (exp)
		phys_ops = exp->phys_ops;
	mutex_unlock(&dma_buf_phys_lock);
	return phys_ops;
}

/**
 * dma_buf_phys_register - offer the physical ranges of an exporter's dma-bufs
 * @exp: registration, with @exp->dmabuf_ops and @exp->phys_ops filled in
 *
 * From now on dma_buf_phys_attach() accepts every dma-buf whose ops are
 * @exp->dmabuf_ops. The exporter's &dma_buf_ops.attach must accept
 * attachments for which dma_buf_attachment_is_phys() is true, and its
 * &dma_buf_ops.pin must exist (dynamic exporter), so that the dma-buf core
 * does not map such an attachment at attach time.
 *
 * @exp must stay valid until dma_buf_phys_unregister(). Typically called
 * from module init.
 *
 * Return: 0, -EINVAL for an incomplete @exp, -EEXIST if @exp->dmabuf_ops is
 * already registered.
 */
int dma_buf_phys_register(struct dma_buf_phys_exporter *exp)
{
	int ret = 0;

	if (WARN_ON(!exp || !exp->dmabuf_ops || !exp->phys_ops ||
		    !exp->phys_ops->get_ranges || !exp->dmabuf_ops->pin))
		return -EINVAL;

	mutex_lock(&dma_buf_phys_lock);
	if (dma_buf_phys_find(exp->dmabuf_ops))
		ret = -EEXIST;
	else
		list_add_tail(&exp->node, &dma_buf_phys_exporters);
	mutex_unlock(&dma_buf_phys_lock);
	return ret;
}
EXPORT_SYMBOL_NS_GPL(dma_buf_phys_register, DMA_BUF);

/**
 * dma_buf_phys_unregister - undo dma_buf_phys_register()
 * @exp: a registered exporter
 *
 * New attachments are refused afterwards. The caller must make sure that
 * none of its dma-bufs exist any more, which is the case in module exit
 * because each dma-buf holds a reference on the exporter's module.
 */
void dma_buf_phys_unregister(struct dma_buf_phys_exporter *exp)
{
	mutex_lock(&dma_buf_phys_lock);
	list_del_init(&exp->node);
	mutex_unlock(&dma_buf_phys_lock);
}
EXPORT_SYMBOL_NS_GPL(dma_buf_phys_unregister, DMA_BUF);

/**
 * dma_buf_phys_supported - does the exporter of a dma-buf offer its ranges
 * @dmabuf: a dma-buf the caller holds a reference on
 *
 * Return: true if dma_buf_phys_attach() would not refuse @dmabuf because of
 * its exporter.
 */
bool dma_buf_phys_supported(struct dma_buf *dmabuf)
{
	return dma_buf_phys_dev && dma_buf_phys_lookup(dmabuf);
}
EXPORT_SYMBOL_NS_GPL(dma_buf_phys_supported, DMA_BUF);

/**
 * dma_buf_attachment_is_phys - is this a physical address attachment
 * @attach: an attachment, typically seen by an exporter's ->attach()
 *
 * Physical address attachments have no DMA device: the exporter must not
 * try to find a P2P path to @attach->dev or DMA map for it, and may refuse
 * &dma_buf_ops.map_dma_buf for it.
 *
 * Return: true if @attach was made by dma_buf_phys_attach().
 */
bool dma_buf_attachment_is_phys(const struct dma_buf_attachment *attach)
{
	return dma_buf_phys_dev && attach->dev == dma_buf_phys_dev;
}
EXPORT_SYMBOL_NS_GPL(dma_buf_attachment_is_phys, DMA_BUF);

/**
 * dma_buf_phys_attach - attach to a dma-buf to read its physical ranges
 * @dmabuf: the dma-buf; the caller holds a reference until after detach
 * @importer_ops: importer operations; @allow_peer2peer must be set and
 *	@move_notify must be provided
 * @importer_priv: stored in the attachment's @importer_priv
 *
 * The exporter must be registered with dma_buf_phys_register(); this is
 * checked before attaching, so a refused dma-buf is left exactly as it was.
 * The attachment is dynamic and never mapped by the dma-buf core.
 *
 * @importer_ops->move_notify can be called as soon as the attachment is on
 * the dma-buf's list, before this function returns, with the reservation
 * lock held.
 *
 * Context: may sleep; takes the reservation lock of @dmabuf, so the caller
 * must not hold it or any lock that nests inside it.
 * Return: the attachment, to be released with dma_buf_phys_detach(), or
 * ERR_PTR(-EOPNOTSUPP) if the exporter does not offer physical ranges,
 * ERR_PTR(-EINVAL) for bad @importer_ops, or any error of the exporter's
 * ->attach() (for instance -ENODEV when it is revoked).
 */
struct dma_buf_attachment *
dma_buf_phys_attach(struct dma_buf *dmabuf,
		    const struct dma_buf_attach_ops *importer_ops,
		    void *importer_priv)
{
	if (WARN_ON(!importer_ops || !importer_ops->move_notify ||
		    !importer_ops->allow_peer2peer))
		return ERR_PTR(-EINVAL);

	if (!dma_buf_phys_supported(dmabuf))
		return ERR_PTR(-EOPNOTSUPP);

	return dma_buf_dynamic_attach(dmabuf, dma_buf_phys_dev, importer_ops,
				      importer_priv);
}
EXPORT_SYMBOL_NS_GPL(dma_buf_phys_attach, DMA_BUF);

/**
 * dma_buf_phys_detach - release an attachment of dma_buf_phys_attach()
 * @attach: the attachment; freed by this call
 *
 * After this returns, @attach->importer_ops->move_notify is not called any
 * more for it.
 *
 * Context: may sleep; takes the reservation lock, so must not be called
 * with it held or with any importer lock that move_notify takes.
 */
void dma_buf_phys_detach(struct dma_buf_attachment *attach)
{
	if (WARN_ON(!dma_buf_attachment_is_phys(attach)))
		return;
	dma_buf_detach(attach->dmabuf, attach);
}
EXPORT_SYMBOL_NS_GPL(dma_buf_phys_detach, DMA_BUF);

static bool dma_buf_phys_ranges_valid(const struct dma_buf *dmabuf,
				      const struct dma_buf_phys_range *ranges,
				      unsigned int nr)
{
	size_t total = 0;
	unsigned int i;

	for (i = 0; i != nr; i++) {
		if (!ranges[i].len || !PAGE_ALIGNED(ranges[i].addr) ||
		    !PAGE_ALIGNED(ranges[i].len) ||
		    check_add_overflow(total, ranges[i].len, &total))
			return false;
	}
	return total == dmabuf->size;
}

/**
 * dma_buf_phys_get_ranges - read the physical ranges of a dma-buf
 * @attach: attachment made by dma_buf_phys_attach()
 * @ranges: on success, a kvmalloc()ed array the caller frees with kvfree()
 *
 * The ranges are in dma-buf offset order, page aligned, and cover the whole
 * dma-buf. They stay valid until the reservation lock is dropped; after
 * that, the next move_notify() of the attachment says they may have
 * changed.
 *
 * Context: reservation lock of @attach->dmabuf held; allocates with
 * GFP_KERNEL.
 * Return: the number of ranges (at least one), -ENODEV while the exporter
 * has revoked access, -ENOMEM, or -EINVAL if @attach is not a physical
 * address attachment or the exporter broke the rules of
 * &dma_buf_phys_ops.get_ranges.
 */
int dma_buf_phys_get_ranges(struct dma_buf_attachment *attach,
			    struct dma_buf_phys_range **ranges)
{
	const struct dma_buf_phys_ops *phys_ops;
	struct dma_buf *dmabuf = attach->dmabuf;
	struct dma_buf_phys_range *r;
	int nr, ret;

	dma_resv_assert_held(dmabuf->resv);

	if (WARN_ON(!dma_buf_attachment_is_phys(attach)))
		return -EINVAL;
	phys_ops = dma_buf_phys_lookup(dmabuf);
	if (WARN_ON(!phys_ops))
		return -EINVAL;

	nr = phys_ops->get_ranges(attach, NULL, 0);
	if (nr < 0)
		return nr;
	if (WARN_ON_ONCE(!nr))
		return -EINVAL;

	r = kvmalloc_array(nr, sizeof(*r), GFP_KERNEL);
	if (!r)
		return -ENOMEM;

	ret = phys_ops->get_ranges(attach, r, nr);
	if (ret < 0)
		goto err_free;
	if (WARN_ON_ONCE(ret != nr || !dma_buf_phys_ranges_valid(dmabuf, r, nr))) {
		ret = -EINVAL;
		goto err_free;
	}
	*ranges = r;
	return nr;

err_free:
	kvfree(r);
	return ret;
}
EXPORT_SYMBOL_NS_GPL(dma_buf_phys_get_ranges, DMA_BUF);

static int __init dma_buf_phys_init(void)
{
	struct device *dev;

	dev = root_device_register("dma-buf-phys");
	if (IS_ERR(dev)) {
		pr_warn("dma-buf-phys: no device (%pe), physical ranges disabled\n",
			dev);
		return PTR_ERR(dev);
	}
	dma_buf_phys_dev = dev;
	return 0;
}
subsys_initcall(dma_buf_phys_init);

/**
 * dma_buf_phys_get_vma_dmabuf - the dma-buf behind a user mapping of device memory
 * @mm: address space of @addr; its mmap_lock must not be held
 * @addr: user address of the first byte
 * @len: number of bytes
 * @writable: the caller will let devices write
 *
 * Looks up the VMA at @addr and, if it is a PFN map, asks each registered
 * exporter whether it made it (&dma_buf_phys_ops.vma_is_ours). The one
 * that did makes a dma-buf of the range, with its own export rules and
 * without the mmap_lock held; the importer then maps it like any dma-buf
 * of that exporter, with the same revocation. The dma-buf lives as long as
 * the caller's reference, not as long as the VMA.
 *
 * Context: process context; takes @mm's mmap_lock for read and drops it
 * before the exporter exports.
 * Return: ERR_PTR(-EINTR) if a fatal signal interrupted the wait for the
 * mmap_lock. NULL if no exporter claims the VMA at @addr (or there is none):
 * the range is ordinary memory as far as this interface knows. A dma-buf
 * reference on success. An ERR_PTR from the exporter if it claims the VMA
 * but cannot export the range, for instance -EFAULT when the range does not
 * fit in that one VMA.
 */
struct dma_buf *dma_buf_phys_get_vma_dmabuf(struct mm_struct *mm,
					    unsigned long addr,
					    unsigned long len, bool writable)
{
	const struct dma_buf_phys_exporter *found = NULL;
	struct dma_buf_phys_exporter *exp;
	struct dma_buf_phys_vma info;
	struct vm_area_struct *vma;
	struct dma_buf *dmabuf;

	if (!mm)
		return NULL;
	if (mmap_read_lock_killable(mm))
		return ERR_PTR(-EINTR);
	vma = vma_lookup(mm, addr);
	/* Device mappings are PFN maps; ordinary memory is never asked */
	if (!vma || !(vma->vm_flags & VM_PFNMAP) || !vma->vm_file) {
		mmap_read_unlock(mm);
		return NULL;
	}

	mutex_lock(&dma_buf_phys_lock);
	list_for_each_entry(exp, &dma_buf_phys_exporters, node) {
		if (exp->phys_ops->vma_is_ours &&
		    exp->phys_ops->vma_get_dmabuf &&
		    exp->phys_ops->vma_is_ours(vma) &&
		    try_module_get(exp->owner)) {
			found = exp;
			break;
		}
	}
	mutex_unlock(&dma_buf_phys_lock);
	if (!found) {
		mmap_read_unlock(mm);
		return NULL;
	}

	/*
	 * Export without the mmap_lock: the exporter takes its device locks
	 * and reservation locks, and a revoke holding them must not stall
	 * the address space. The file reference keeps the device open.
	 */
	info.file = get_file(vma->vm_file);
	info.private = vma->vm_private_data;
	info.start = vma->vm_start;
	info.end = vma->vm_end;
	info.pgoff = vma->vm_pgoff;
	info.flags = vma->vm_flags;
	mmap_read_unlock(mm);

	dmabuf = found->phys_ops->vma_get_dmabuf(&info, addr, len, writable);
	fput(info.file);
	module_put(found->owner);
	return dmabuf;
}
EXPORT_SYMBOL_NS_GPL(dma_buf_phys_get_vma_dmabuf, DMA_BUF);
