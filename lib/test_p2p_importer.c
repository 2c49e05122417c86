// SPDX-License-Identifier: GPL-2.0-only
/*
 * Test-only P2P dma-buf importer for QEMU's edu device (1234:11e8).
 *
 * Binds only through driver_override (no ID table):
 *   echo p2p_importer > /sys/bus/pci/devices/<bdf>/driver_override
 *   echo <bdf> > /sys/bus/pci/drivers_probe
 * and then offers /dev/p2p_importer<N>, see test_p2p_importer_uapi.h.
 *
 * Each open file can import one dma-buf as a dynamic, peer-to-peer
 * importer.  move_notify waits for the edu DMA engine to be idle and
 * unmaps; the next DMA request maps again, which fails (ENODEV) while the
 * exporter has the dma-buf revoked.  An import may instead ask for the
 * unmap to happen late, from a delayed work item, which is how a slow or
 * misbehaving importer looks to the exporter.
 *
 * edu registers (QEMU docs/specs/edu.txt): 0x80 DMA source, 0x88 DMA
 * destination, 0x90 count, 0x98 command (bit 0 start/busy, bit 1 set:
 * edu buffer to RAM).  The 4 KiB buffer is at device address 0x40000.
 * QEMU aborts on a DMA outside that buffer, so every request is checked.
 *
 * Lock order: idev->lock -> dma-buf reservation lock -> idev->dma_lock.
 * move_notify runs with the reservation lock held and only takes dma_lock.
 * The delayed unmap work takes the reservation lock alone; it is cancelled
 * under idev->lock before the import is released.
 * No user copies are done with any of these locks held.
 */
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/delay.h>
#include <linux/idr.h>
#include <linux/io-64-nonatomic-lo-hi.h>
#include <linux/jiffies.h>
#include <linux/kref.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>

#include "test_p2p_importer_uapi.h"

MODULE_IMPORT_NS(DMA_BUF);

#define EDU_VENDOR		0x1234
#define EDU_DEVICE		0x11e8
#define EDU_REG_ID		0x00
#define EDU_REG_DMA_SRC		0x80
#define EDU_REG_DMA_DST		0x88
#define EDU_REG_DMA_CNT		0x90
#define EDU_REG_DMA_CMD		0x98
#define EDU_REGS_SIZE		0x100
#define EDU_CMD_RUN		0x1
#define EDU_CMD_TO_RAM		0x2
#define EDU_BUF_ADDR		0x40000
#define EDU_DMA_TIMEOUT_MS	5000

struct p2p_imp_dev {
	struct pci_dev *pdev;
	void __iomem *regs;
	struct miscdevice misc;
	char name[32];
	int id;
	struct kref kref;
	/* Serialises ioctls, open/release and remove; protects ctxs, gone */
	struct mutex lock;
	struct list_head ctxs;
	bool gone;
	/* Serialises use of the DMA engine and of the bounce buffer */
	struct mutex dma_lock;
	void *bounce;
	dma_addr_t bounce_dma;
};

struct p2p_imp_ctx {
	struct p2p_imp_dev *idev;
	struct list_head node;
	struct dma_buf *dmabuf;
	struct dma_buf_attachment *attach;
	/* Set at import; 0 means unmap inside move_notify */
	unsigned int unmap_delay_ms;
	struct delayed_work unmap_work;
	/* Below: protected by the reservation lock of @dmabuf */
	struct sg_table *sgt;
	u64 move_notify_count;
	u64 map_count;
	u64 unmap_count;
	int last_map_error;
};

static DEFINE_IDA(p2p_imp_ida);

static void p2p_imp_dev_free(struct kref *kref)
{
	struct p2p_imp_dev *idev = container_of(kref, struct p2p_imp_dev, kref);

	ida_free(&p2p_imp_ida, idev->id);
	mutex_destroy(&idev->lock);
	mutex_destroy(&idev->dma_lock);
	kfree(idev);
}

static int p2p_edu_wait_idle(struct p2p_imp_dev *idev)
{
	unsigned long timeout = jiffies + msecs_to_jiffies(EDU_DMA_TIMEOUT_MS);

	lockdep_assert_held(&idev->dma_lock);
	for (;;) {
		if (!(readq(idev->regs + EDU_REG_DMA_CMD) & EDU_CMD_RUN))
			return 0;
		if (time_after(jiffies, timeout))
			return -ETIMEDOUT;
		usleep_range(1000, 2000);
	}
}

/* One DMA between @addr and the edu buffer at @edu_off, then wait. */
static int p2p_edu_dma(struct p2p_imp_dev *idev, dma_addr_t addr,
		       u32 edu_off, u32 len, bool to_ram)
{
	u64 buf = EDU_BUF_ADDR + edu_off;
	int ret;

	lockdep_assert_held(&idev->dma_lock);
	if (idev->gone)
		return -ENODEV;
	if (!len || len > P2P_IMPORTER_EDU_BUF_SIZE ||
	    edu_off > P2P_IMPORTER_EDU_BUF_SIZE - len)
		return -EINVAL;

	ret = p2p_edu_wait_idle(idev);
	if (ret)
		return ret;
	writeq(to_ram ? buf : addr, idev->regs + EDU_REG_DMA_SRC);
	writeq(to_ram ? addr : buf, idev->regs + EDU_REG_DMA_DST);
	writeq(len, idev->regs + EDU_REG_DMA_CNT);
	writeq(EDU_CMD_RUN | (to_ram ? EDU_CMD_TO_RAM : 0),
	       idev->regs + EDU_REG_DMA_CMD);
	ret = p2p_edu_wait_idle(idev);
	if (ret)
		pci_err(idev->pdev, "edu DMA did not complete\n");
	return ret;
}

static void p2p_imp_unmap_locked(struct p2p_imp_ctx *ctx)
{
	dma_resv_assert_held(ctx->dmabuf->resv);
	if (!ctx->sgt)
		return;
	dma_buf_unmap_attachment(ctx->attach, ctx->sgt, DMA_BIDIRECTIONAL);
	ctx->sgt = NULL;
	ctx->unmap_count++;
}

static int p2p_imp_map_locked(struct p2p_imp_ctx *ctx)
{
	struct sg_table *sgt;
	long ret;

	dma_resv_assert_held(ctx->dmabuf->resv);
	if (ctx->sgt)
		return 0;

	sgt = dma_buf_map_attachment(ctx->attach, DMA_BIDIRECTIONAL);
	if (IS_ERR(sgt)) {
		ctx->last_map_error = -PTR_ERR(sgt);
		return PTR_ERR(sgt);
	}
	ctx->sgt = sgt;
	ctx->map_count++;
	ctx->last_map_error = 0;

	/* Dynamic importers wait for the exporter's kernel fences. */
	ret = dma_resv_wait_timeout(ctx->dmabuf->resv, DMA_RESV_USAGE_KERNEL,
				    true, MAX_SCHEDULE_TIMEOUT);
	return ret < 0 ? ret : 0;
}

static void p2p_imp_unmap_work(struct work_struct *work)
{
	struct p2p_imp_ctx *ctx = container_of(to_delayed_work(work),
					       struct p2p_imp_ctx, unmap_work);

	dma_resv_lock(ctx->dmabuf->resv, NULL);
	p2p_imp_unmap_locked(ctx);
	dma_resv_unlock(ctx->dmabuf->resv);
}

static void p2p_imp_move_notify(struct dma_buf_attachment *attach)
{
	struct p2p_imp_ctx *ctx = attach->importer_priv;
	struct p2p_imp_dev *idev = ctx->idev;

	dma_resv_assert_held(attach->dmabuf->resv);
	ctx->move_notify_count++;

	/* A late importer: keep the mapping for a while */
	if (ctx->unmap_delay_ms) {
		schedule_delayed_work(&ctx->unmap_work,
				      msecs_to_jiffies(ctx->unmap_delay_ms));
		return;
	}

	/*
	 * DMA is issued with the reservation lock held, so none of ours can
	 * be running; still make sure the engine is idle before the address
	 * goes away.
	 */
	mutex_lock(&idev->dma_lock);
	if (!idev->gone && p2p_edu_wait_idle(idev))
		pci_warn(idev->pdev, "edu DMA still busy at move_notify\n");
	mutex_unlock(&idev->dma_lock);

	p2p_imp_unmap_locked(ctx);
}

static const struct dma_buf_attach_ops p2p_imp_attach_ops = {
	.allow_peer2peer = true,
	.move_notify = p2p_imp_move_notify,
};

static const struct dma_buf_attach_ops p2p_imp_attach_ops_no_p2p = {
	.allow_peer2peer = false,
	.move_notify = p2p_imp_move_notify,
};

static void p2p_imp_release_import(struct p2p_imp_ctx *ctx)
{
	lockdep_assert_held(&ctx->idev->lock);
	if (!ctx->attach)
		return;

	cancel_delayed_work_sync(&ctx->unmap_work);
	dma_resv_lock(ctx->dmabuf->resv, NULL);
	p2p_imp_unmap_locked(ctx);
	dma_resv_unlock(ctx->dmabuf->resv);
	dma_buf_detach(ctx->dmabuf, ctx->attach);
	dma_buf_put(ctx->dmabuf);
	ctx->attach = NULL;
	ctx->dmabuf = NULL;
}

static int p2p_imp_import(struct p2p_imp_ctx *ctx,
			  struct p2p_importer_import *arg)
{
	struct p2p_imp_dev *idev = ctx->idev;
	struct dma_buf_attachment *attach;
	const struct dma_buf_attach_ops *ops;
	struct dma_buf *dmabuf;
	int ret;

	if (arg->flags & ~(P2P_IMPORTER_IMPORT_NO_P2P |
			   P2P_IMPORTER_IMPORT_STATIC) ||
	    arg->unmap_delay_ms > P2P_IMPORTER_MAX_UNMAP_DELAY_MS)
		return -EINVAL;

	dmabuf = dma_buf_get(arg->fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);

	mutex_lock(&idev->lock);
	if (idev->gone) {
		ret = -ENODEV;
		goto err_unlock;
	}
	if (ctx->attach) {
		ret = -EBUSY;
		goto err_unlock;
	}

	ops = arg->flags & P2P_IMPORTER_IMPORT_NO_P2P ?
		&p2p_imp_attach_ops_no_p2p : &p2p_imp_attach_ops;
	if (arg->flags & P2P_IMPORTER_IMPORT_STATIC)
		attach = dma_buf_attach(dmabuf, &idev->pdev->dev);
	else
		attach = dma_buf_dynamic_attach(dmabuf, &idev->pdev->dev, ops,
						ctx);
	if (IS_ERR(attach)) {
		ret = PTR_ERR(attach);
		goto err_unlock;
	}
	ctx->dmabuf = dmabuf;
	ctx->attach = attach;
	ctx->unmap_delay_ms = arg->unmap_delay_ms;

	dma_resv_lock(dmabuf->resv, NULL);
	ret = p2p_imp_map_locked(ctx);
	if (!ret) {
		arg->size = dmabuf->size;
		arg->nr_segs = ctx->sgt->nents;
	}
	dma_resv_unlock(dmabuf->resv);
	if (ret) {
		/* Drops the dma-buf reference taken above. */
		p2p_imp_release_import(ctx);
		mutex_unlock(&idev->lock);
		return ret;
	}
	mutex_unlock(&idev->lock);
	return 0;

err_unlock:
	mutex_unlock(&idev->lock);
	dma_buf_put(dmabuf);
	return ret;
}

/* Find the DMA address of [offset, offset + len) within one segment. */
static int p2p_imp_dma_addr(struct sg_table *sgt, u64 offset, u32 len,
			    dma_addr_t *addr)
{
	struct scatterlist *sg;
	u64 pos = 0;
	unsigned int i;

	for_each_sgtable_dma_sg(sgt, sg, i) {
		u64 seg = sg_dma_len(sg);

		if (offset < pos + seg) {
			if (offset + len > pos + seg)
				return -EINVAL;
			*addr = sg_dma_address(sg) + (offset - pos);
			return 0;
		}
		pos += seg;
	}
	return -EINVAL;
}

static int p2p_imp_dma(struct p2p_imp_ctx *ctx, struct p2p_importer_dma *arg)
{
	struct p2p_imp_dev *idev = ctx->idev;
	dma_addr_t addr;
	int ret;

	if (arg->pad || (arg->dir != P2P_IMPORTER_DMA_TO_DMABUF &&
			 arg->dir != P2P_IMPORTER_DMA_FROM_DMABUF))
		return -EINVAL;
	if (!arg->len || arg->len > P2P_IMPORTER_EDU_BUF_SIZE ||
	    arg->edu_off > P2P_IMPORTER_EDU_BUF_SIZE - arg->len)
		return -EINVAL;

	mutex_lock(&idev->lock);
	if (idev->gone) {
		ret = -ENODEV;
		goto out_unlock;
	}
	if (!ctx->attach) {
		ret = -ENOENT;
		goto out_unlock;
	}
	if (arg->offset >= ctx->dmabuf->size ||
	    arg->len > ctx->dmabuf->size - arg->offset) {
		ret = -EINVAL;
		goto out_unlock;
	}

	dma_resv_lock(ctx->dmabuf->resv, NULL);
	/* Lazily map again after a move_notify; ENODEV while revoked. */
	ret = p2p_imp_map_locked(ctx);
	if (!ret)
		ret = p2p_imp_dma_addr(ctx->sgt, arg->offset, arg->len, &addr);
	if (!ret) {
		mutex_lock(&idev->dma_lock);
		ret = p2p_edu_dma(idev, addr, arg->edu_off, arg->len,
				  arg->dir == P2P_IMPORTER_DMA_TO_DMABUF);
		mutex_unlock(&idev->dma_lock);
	}
	dma_resv_unlock(ctx->dmabuf->resv);
out_unlock:
	mutex_unlock(&idev->lock);
	return ret;
}

static int p2p_imp_buf(struct p2p_imp_ctx *ctx, struct p2p_importer_buf *arg,
		       bool write)
{
	struct p2p_imp_dev *idev = ctx->idev;
	void __user *udata = u64_to_user_ptr(arg->data);
	void *tmp;
	int ret;

	if (!arg->len || arg->len > P2P_IMPORTER_EDU_BUF_SIZE ||
	    arg->edu_off > P2P_IMPORTER_EDU_BUF_SIZE - arg->len)
		return -EINVAL;

	tmp = kzalloc(arg->len, GFP_KERNEL);
	if (!tmp)
		return -ENOMEM;
	if (write && copy_from_user(tmp, udata, arg->len)) {
		ret = -EFAULT;
		goto out_free;
	}

	mutex_lock(&idev->lock);
	mutex_lock(&idev->dma_lock);
	if (write) {
		memcpy(idev->bounce, tmp, arg->len);
		/* RAM -> edu buffer */
		ret = p2p_edu_dma(idev, idev->bounce_dma, arg->edu_off,
				  arg->len, false);
	} else {
		/* edu buffer -> RAM */
		ret = p2p_edu_dma(idev, idev->bounce_dma, arg->edu_off,
				  arg->len, true);
		if (!ret)
			memcpy(tmp, idev->bounce, arg->len);
	}
	mutex_unlock(&idev->dma_lock);
	mutex_unlock(&idev->lock);

	if (!ret && !write && copy_to_user(udata, tmp, arg->len))
		ret = -EFAULT;
out_free:
	kfree(tmp);
	return ret;
}

static void p2p_imp_status(struct p2p_imp_ctx *ctx,
			   struct p2p_importer_status *st)
{
	struct p2p_imp_dev *idev = ctx->idev;

	memset(st, 0, sizeof(*st));
	mutex_lock(&idev->lock);
	if (ctx->attach) {
		dma_resv_lock(ctx->dmabuf->resv, NULL);
		st->imported = 1;
		st->size = ctx->dmabuf->size;
		st->mapped = !!ctx->sgt;
		st->move_notify_count = ctx->move_notify_count;
		st->map_count = ctx->map_count;
		st->unmap_count = ctx->unmap_count;
		st->last_map_error = ctx->last_map_error;
		dma_resv_unlock(ctx->dmabuf->resv);
	}
	mutex_unlock(&idev->lock);
}

static long p2p_imp_ioctl(struct file *file, unsigned int cmd,
			  unsigned long uarg)
{
	struct p2p_imp_ctx *ctx = file->private_data;
	void __user *argp = (void __user *)uarg;
	union {
		struct p2p_importer_import import;
		struct p2p_importer_dma dma;
		struct p2p_importer_status status;
		struct p2p_importer_buf buf;
	} u;
	int ret;

	switch (cmd) {
	case P2P_IMPORTER_IMPORT:
		if (copy_from_user(&u.import, argp, sizeof(u.import)))
			return -EFAULT;
		ret = p2p_imp_import(ctx, &u.import);
		if (!ret && copy_to_user(argp, &u.import, sizeof(u.import)))
			ret = -EFAULT;
		return ret;
	case P2P_IMPORTER_RELEASE:
		mutex_lock(&ctx->idev->lock);
		ret = ctx->attach ? 0 : -ENOENT;
		p2p_imp_release_import(ctx);
		mutex_unlock(&ctx->idev->lock);
		return ret;
	case P2P_IMPORTER_DMA:
		if (copy_from_user(&u.dma, argp, sizeof(u.dma)))
			return -EFAULT;
		return p2p_imp_dma(ctx, &u.dma);
	case P2P_IMPORTER_STATUS:
		p2p_imp_status(ctx, &u.status);
		if (copy_to_user(argp, &u.status, sizeof(u.status)))
			return -EFAULT;
		return 0;
	case P2P_IMPORTER_BUF_WRITE:
	case P2P_IMPORTER_BUF_READ:
		if (copy_from_user(&u.buf, argp, sizeof(u.buf)))
			return -EFAULT;
		return p2p_imp_buf(ctx, &u.buf, cmd == P2P_IMPORTER_BUF_WRITE);
	default:
		return -ENOTTY;
	}
}

static int p2p_imp_open(struct inode *inode, struct file *file)
{
	struct miscdevice *misc = file->private_data;
	struct p2p_imp_dev *idev = container_of(misc, struct p2p_imp_dev, misc);
	struct p2p_imp_ctx *ctx;

	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return -ENOMEM;
	INIT_DELAYED_WORK(&ctx->unmap_work, p2p_imp_unmap_work);

	mutex_lock(&idev->lock);
	if (idev->gone) {
		mutex_unlock(&idev->lock);
		kfree(ctx);
		return -ENODEV;
	}
	ctx->idev = idev;
	kref_get(&idev->kref);
	list_add(&ctx->node, &idev->ctxs);
	mutex_unlock(&idev->lock);

	file->private_data = ctx;
	return nonseekable_open(inode, file);
}

static int p2p_imp_release(struct inode *inode, struct file *file)
{
	struct p2p_imp_ctx *ctx = file->private_data;
	struct p2p_imp_dev *idev = ctx->idev;

	mutex_lock(&idev->lock);
	p2p_imp_release_import(ctx);
	list_del(&ctx->node);
	mutex_unlock(&idev->lock);

	kfree(ctx);
	kref_put(&idev->kref, p2p_imp_dev_free);
	return 0;
}

static const struct file_operations p2p_imp_fops = {
	.owner = THIS_MODULE,
	.open = p2p_imp_open,
	.release = p2p_imp_release,
	.unlocked_ioctl = p2p_imp_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static int p2p_imp_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct p2p_imp_dev *idev;
	int ret;

	/* No ID table: only reachable through driver_override. */
	if (pdev->vendor != EDU_VENDOR || pdev->device != EDU_DEVICE)
		return -ENODEV;

	idev = kzalloc(sizeof(*idev), GFP_KERNEL);
	if (!idev)
		return -ENOMEM;
	idev->pdev = pdev;
	kref_init(&idev->kref);
	mutex_init(&idev->lock);
	mutex_init(&idev->dma_lock);
	INIT_LIST_HEAD(&idev->ctxs);
	idev->id = ida_alloc(&p2p_imp_ida, GFP_KERNEL);
	if (idev->id < 0) {
		ret = idev->id;
		kfree(idev);
		return ret;
	}

	ret = pci_enable_device(pdev);
	if (ret)
		goto err_put;
	ret = pci_request_region(pdev, 0, P2P_IMPORTER_DRIVER_NAME);
	if (ret)
		goto err_disable;
	idev->regs = pci_iomap(pdev, 0, EDU_REGS_SIZE);
	if (!idev->regs) {
		ret = -ENOMEM;
		goto err_release;
	}
	if ((readl(idev->regs + EDU_REG_ID) & 0xff) != 0xed) {
		pci_err(pdev, "not an edu device\n");
		ret = -ENODEV;
		goto err_unmap;
	}

	ret = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));
	if (ret)
		goto err_unmap;
	pci_set_master(pdev);

	idev->bounce = dma_alloc_coherent(&pdev->dev,
					  P2P_IMPORTER_EDU_BUF_SIZE,
					  &idev->bounce_dma, GFP_KERNEL);
	if (!idev->bounce) {
		ret = -ENOMEM;
		goto err_master;
	}

	snprintf(idev->name, sizeof(idev->name), "p2p_importer%d", idev->id);
	idev->misc.minor = MISC_DYNAMIC_MINOR;
	idev->misc.name = idev->name;
	idev->misc.fops = &p2p_imp_fops;
	idev->misc.parent = &pdev->dev;
	idev->misc.mode = 0600;
	pci_set_drvdata(pdev, idev);

	ret = misc_register(&idev->misc);
	if (ret)
		goto err_free_bounce;

	pci_info(pdev, "test P2P dma-buf importer /dev/%s\n", idev->name);
	return 0;

err_free_bounce:
	dma_free_coherent(&pdev->dev, P2P_IMPORTER_EDU_BUF_SIZE, idev->bounce,
			  idev->bounce_dma);
err_master:
	pci_clear_master(pdev);
err_unmap:
	pci_iounmap(pdev, idev->regs);
err_release:
	pci_release_region(pdev, 0);
err_disable:
	pci_disable_device(pdev);
err_put:
	kref_put(&idev->kref, p2p_imp_dev_free);
	return ret;
}

static void p2p_imp_remove(struct pci_dev *pdev)
{
	struct p2p_imp_dev *idev = pci_get_drvdata(pdev);
	struct p2p_imp_ctx *ctx;

	misc_deregister(&idev->misc);

	/* Open files stay, but lose their imports and the device. */
	mutex_lock(&idev->lock);
	list_for_each_entry(ctx, &idev->ctxs, node)
		p2p_imp_release_import(ctx);
	mutex_lock(&idev->dma_lock);
	if (p2p_edu_wait_idle(idev))
		pci_warn(pdev, "edu DMA busy at remove\n");
	idev->gone = true;
	mutex_unlock(&idev->dma_lock);
	mutex_unlock(&idev->lock);

	dma_free_coherent(&pdev->dev, P2P_IMPORTER_EDU_BUF_SIZE, idev->bounce,
			  idev->bounce_dma);
	pci_clear_master(pdev);
	pci_iounmap(pdev, idev->regs);
	pci_release_region(pdev, 0);
	pci_disable_device(pdev);
	kref_put(&idev->kref, p2p_imp_dev_free);
}

static struct pci_driver p2p_imp_driver = {
	.name = P2P_IMPORTER_DRIVER_NAME,
	.id_table = NULL,
	.probe = p2p_imp_probe,
	.remove = p2p_imp_remove,
};
module_pci_driver(p2p_imp_driver);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Test-only P2P dma-buf importer for QEMU's edu device");
