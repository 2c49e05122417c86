// SPDX-License-Identifier: GPL-2.0-only
/*
 * Physical address ranges of a dma-buf, see include/linux/dma-buf-phys.h.
 *
 * A list of registrations pairs the &struct dma_buf_ops of an exporter with
 * its &struct dma_buf_phys_ops. dma_buf_phys_attach() looks the exporter up
 * once, stores it in the importer's &struct dma_buf_phys_attachment and
 * attaches with importer operations that only this file has, which is how
 * the exporter's ->attach() tells a physical address importer from a DMA
 * importer (dma_buf_phys_is_attachment()). dma_buf_phys_map() then calls
 * the exporter straight from the attachment.
 *
 * Lifetime: dma_buf_export() takes a reference on the exporter's module for
 * each dma-buf, so a registered exporter cannot go away while one of its
 * dma-bufs exists, and the registration found for a dma-buf stays valid for
 * as long as the caller holds a reference on that dma-buf.
 *
 * Locking: dma_buf_phys_lock only protects the list. Lock order: see
 * include/linux/dma-buf-phys.h.
 */
#include <linux/dma-buf.h>
#include <linux/dma-buf-phys.h>
#include <linux/dma-resv.h>
#include <linux/export.h>
#include <linux/file.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>

static DEFINE_MUTEX(dma_buf_phys_lock);
static LIST_HEAD(dma_buf_phys_exporters);

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

/* Hand the notification to the importer that dma_buf_phys_attach() saw */
static void dma_buf_phys_move_notify(struct dma_buf_attachment *attach)
{
	struct dma_buf_phys_attachment *pa = dma_buf_phys_attachment(attach);

	pa->move_notify(attach);
}

/*
 * The importer operations of every physical address attachment and of no
 * other: their address is the mark that dma_buf_phys_is_attachment() looks
 * for, and only dma_buf_phys_attach() uses it.
 */
static const struct dma_buf_attach_ops dma_buf_phys_importer_ops = {
	.allow_peer2peer = true,
	.move_notify = dma_buf_phys_move_notify,
};

/**
 * dma_buf_phys_register - offer the physical ranges of an exporter's dma-bufs
 * @exp: registration, with @exp->dmabuf_ops, @exp->phys_ops and @exp->owner
 *	filled in
 *
 * From now on dma_buf_phys_attach() accepts every dma-buf whose ops are
 * @exp->dmabuf_ops. The exporter's &dma_buf_ops.attach must accept
 * attachments for which dma_buf_phys_is_attachment() is true, and its
 * &dma_buf_ops.pin must exist (dynamic exporter), so that the dma-buf core
 * does not map such an attachment at attach time.
 *
 * @exp must stay valid until dma_buf_phys_unregister(). Typically called
 * from module init.
 *
 * Context: may sleep; takes dma_buf_phys_lock.
 * Return: 0, -EINVAL for an incomplete @exp, -EEXIST if @exp->dmabuf_ops is
 * already registered.
 */
int dma_buf_phys_register(struct dma_buf_phys_exporter *exp)
{
	int ret = 0;

	if (WARN_ON(!exp || !exp->dmabuf_ops || !exp->phys_ops ||
		    !exp->phys_ops->map_phys || !exp->dmabuf_ops->pin))
		return -EINVAL;

	mutex_lock(&dma_buf_phys_lock);
	if (dma_buf_phys_find(exp->dmabuf_ops)) {
		ret = -EEXIST;
	} else {
		exp->importer_ops = &dma_buf_phys_importer_ops;
		list_add_tail(&exp->node, &dma_buf_phys_exporters);
	}
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
 *
 * Context: may sleep; takes dma_buf_phys_lock.
 */
void dma_buf_phys_unregister(struct dma_buf_phys_exporter *exp)
{
	/*
	 * importer_ops stays set: it is the marker of the attachments that
	 * are still being torn down, and the ops are static.
	 */
	mutex_lock(&dma_buf_phys_lock);
	list_del_init(&exp->node);
	mutex_unlock(&dma_buf_phys_lock);
}
EXPORT_SYMBOL_NS_GPL(dma_buf_phys_unregister, DMA_BUF);

/**
 * dma_buf_phys_attach - attach to a dma-buf to read its physical ranges
 * @dmabuf: the dma-buf; the caller holds a reference until after detach
 * @dev: a device of the importer, named by the exporter in its logs and
 *	debugfs; never used for DMA
 * @pa: the importer's attachment state, which must outlive the attachment;
 *	becomes &dma_buf_attachment.importer_priv
 * @move_notify: called, with the reservation lock held, whenever the
 *	ranges may have changed or gone; see the comment at the top of
 *	include/linux/dma-buf-phys.h
 *
 * The exporter must be registered with dma_buf_phys_register(); this is
 * checked before attaching, so a refused dma-buf is left exactly as it was.
 * The exporter is looked up here only: dma_buf_phys_map() finds it in @pa.
 * The attachment is dynamic, peer-to-peer and never mapped by the dma-buf
 * core; release it with dma_buf_detach().
 *
 * @move_notify can be called as soon as the attachment is on the dma-buf's
 * list, before this function returns and sets @pa->attach.
 *
 * Context: may sleep; takes dma_buf_phys_lock, then the reservation lock of
 * @dmabuf, so the caller must not hold it or any lock that nests inside it.
 * Return: 0 with @pa->attach set, -EOPNOTSUPP if the exporter does not
 * offer physical ranges, -EINVAL for a missing argument, or any error of
 * dma_buf_dynamic_attach() and the exporter's ->attach() (for instance
 * -ENODEV when it is revoked).
 */
int dma_buf_phys_attach(struct dma_buf *dmabuf, struct device *dev,
			struct dma_buf_phys_attachment *pa,
			void (*move_notify)(struct dma_buf_attachment *attach))
{
	const struct dma_buf_phys_exporter *exp;
	struct dma_buf_attachment *attach;

	if (WARN_ON(!pa))
		return -EINVAL;
	pa->attach = NULL;
	if (WARN_ON(!dmabuf || !dev || !move_notify))
		return -EINVAL;

	mutex_lock(&dma_buf_phys_lock);
	exp = dma_buf_phys_find(dmabuf->ops);
	mutex_unlock(&dma_buf_phys_lock);
	if (!exp)
		return -EOPNOTSUPP;

	pa->move_notify = move_notify;
	pa->exp = exp;
	attach = dma_buf_dynamic_attach(dmabuf, dev, &dma_buf_phys_importer_ops,
					pa);
	if (IS_ERR(attach))
		return PTR_ERR(attach);
	pa->attach = attach;
	return 0;
}
EXPORT_SYMBOL_NS_GPL(dma_buf_phys_attach, DMA_BUF);

static bool dma_buf_phys_valid(const struct dma_buf *dmabuf,
			       const struct phys_vec *phys, int nr)
{
	size_t total = 0;
	int i;

	for (i = 0; i != nr; i++) {
		if (!phys[i].len || !PAGE_ALIGNED(phys[i].paddr) ||
		    !PAGE_ALIGNED(phys[i].len) ||
		    check_add_overflow(total, phys[i].len, &total))
			return false;
	}
	return total == dmabuf->size;
}

/**
 * dma_buf_phys_map - read the physical ranges of a dma-buf
 * @attach: attachment made by dma_buf_phys_attach()
 * @phys: on success, a kvmalloc()ed array the caller frees with kvfree()
 *
 * Asks the exporter once (&dma_buf_phys_ops.map_phys) and checks its answer.
 * The ranges are in dma-buf offset order, page aligned, and cover the whole
 * dma-buf. They stay valid until the reservation lock is dropped; after
 * that, the next move_notify of the attachment says they may have changed.
 *
 * Context: reservation lock of @attach->dmabuf held; the exporter allocates
 * with GFP_KERNEL.
 * Return: the number of ranges (at least one), -ENODEV while the exporter
 * has revoked access, -ENOMEM, -EINVAL if @attach is not a physical address
 * attachment, or -EIO if the exporter broke the rules of
 * &dma_buf_phys_ops.map_phys (a bug of the exporter, not of the caller).
 */
int dma_buf_phys_map(struct dma_buf_attachment *attach,
		     struct phys_vec **phys)
{
	const struct dma_buf_phys_attachment *pa;
	struct phys_vec *p = NULL;
	int nr;

	dma_resv_assert_held(attach->dmabuf->resv);

	if (WARN_ON(attach->importer_ops != &dma_buf_phys_importer_ops))
		return -EINVAL;
	pa = dma_buf_phys_attachment(attach);

	nr = pa->exp->phys_ops->map_phys(attach, &p);
	if (nr < 0) {
		/* an exporter that failed must not have set it; be safe */
		kvfree(p);
		return nr;
	}
	if (WARN_ON_ONCE(!nr || !p || !dma_buf_phys_valid(attach->dmabuf, p, nr))) {
		kvfree(p);
		return -EIO;
	}
	*phys = p;
	return nr;
}
EXPORT_SYMBOL_NS_GPL(dma_buf_phys_map, DMA_BUF);

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
