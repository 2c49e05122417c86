// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-pci dma-buf exporter: revocation and restoration.
 *
 * vfio-pci calls these hooks at every point where memory decode of the
 * BARs goes away (revoke) or may have come back (restore), with
 * vdev->memory_lock held for write, right next to the existing zap of the
 * user's BAR mmaps.  Resets and errors reported by the PCI core revoke
 * under vdev->dmabuf_lock alone and restore from a work item, see
 * vfio_pci_dmabuf_reset_prepare().  See vfio_pci_dmabuf.h for the state
 * machine and the lock order.
 */
#include <linux/dma-resv.h>
#include <linux/jiffies.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>
#include <linux/workqueue.h>

#include "vfio_pci_dmabuf.h"
#include "vfio_pci_dmabuf_trace.h"

/*
 * How long a revoke waits for the importers' fences and unmaps.  It runs
 * under device_lock from PCI core resets and AER recovery, so it must end:
 * an importer that does not unmap in time is named in the log and the
 * revoke goes on without it.
 */
unsigned int vfio_pci_dmabuf_unmap_timeout_ms = 10000;
module_param_named(dmabuf_unmap_timeout_ms, vfio_pci_dmabuf_unmap_timeout_ms,
		   uint, 0644);
/* How often an unbounded wait (close) says that it still waits */
#define VFIO_PCI_DMABUF_UNMAP_WARN	(10 * HZ)

MODULE_PARM_DESC(dmabuf_unmap_timeout_ms,
		 "Longest wait, in ms, for dma-buf importers to stop using a BAR that is being revoked (default: 10000)");

/**
 * vfio_pci_dmabuf_reason_name - name of a revocation reason
 * @why: reason
 *
 * Return: a static string.
 */
const char *vfio_pci_dmabuf_reason_name(enum vfio_pci_dmabuf_reason why)
{
	switch (why) {
	case VFIO_PCI_DMABUF_REASON_CMD_MEM:
		return "command-mem";
	case VFIO_PCI_DMABUF_REASON_D3:
		return "d3hot";
	case VFIO_PCI_DMABUF_REASON_FLR:
		return "flr";
	case VFIO_PCI_DMABUF_REASON_RESET:
		return "device-reset";
	case VFIO_PCI_DMABUF_REASON_HOT_RESET:
		return "hot-reset";
	case VFIO_PCI_DMABUF_REASON_LOW_POWER:
		return "low-power";
	case VFIO_PCI_DMABUF_REASON_HOST_RESET:
		return "host-reset";
	case VFIO_PCI_DMABUF_REASON_AER:
		return "aer";
	case VFIO_PCI_DMABUF_REASON_CLOSE:
		return "close";
	}
	return "unknown";
}

/**
 * vfio_pci_dmabuf_mem_usable - may exported BARs be accessed right now
 * @vdev: an open device
 *
 * True when the user has memory decode enabled, the device is in D0-D2,
 * not in a low power state entered through the vfio feature, not inside a
 * host-initiated reset, not offline after an AER error, and the command
 * register really decodes memory (catches resets vfio did not see).
 *
 * Context: vdev->memory_lock and vdev->dmabuf_lock held; the device is
 * open (vconfig exists).
 * Return: true if exported ranges may be used.
 */
bool vfio_pci_dmabuf_mem_usable(struct vfio_pci_core_device *vdev)
{
	struct pci_dev *pdev = vdev->pdev;
	u16 cmd;

	lockdep_assert_held(&vdev->memory_lock);
	lockdep_assert_held(&vdev->dmabuf_lock);

	if (vdev->pm_runtime_engaged || vdev->dmabuf_host_resets ||
	    pci_channel_offline(pdev) || !__vfio_pci_memory_enabled(vdev))
		return false;
	if (pdev->no_command_memory)
		return true;
	if (pci_read_config_word(pdev, PCI_COMMAND, &cmd) || cmd == 0xffff)
		return false;
	return cmd & PCI_COMMAND_MEMORY;
}

static unsigned int vfio_pci_dmabuf_nr_attach(struct vfio_pci_dmabuf *priv)
{
	struct dma_buf_attachment *attach;
	unsigned int n = 0;

	dma_resv_assert_held(priv->dmabuf->resv);
	list_for_each_entry(attach, &priv->dmabuf->attachments, node)
		n++;
	return n;
}

/*
 * Name the importers a revoke gave up waiting for: after the fence wait
 * every attachment (a fence does not say whose it is), after the unmap
 * wait those with sg_tables still mapped.
 */
static void vfio_pci_dmabuf_report_importers(struct vfio_pci_dmabuf *priv,
					     bool fences)
{
	struct dma_buf_attachment *attach;

	dma_resv_assert_held(priv->dmabuf->resv);
	list_for_each_entry(attach, &priv->dmabuf->attachments, node) {
		struct vfio_pci_dmabuf_attach *ap = attach->priv;

		/*
		 * Physical address importers never map and add no fences:
		 * they unmap inside move_notify, see the header.
		 */
		if (vfio_pci_dmabuf_is_phys(attach) ||
		    (!fences && !ap->nr_mapped))
			continue;
		pci_warn(priv->pdev,
			 "dma-buf %llu: importer %s (%s) did not %s within %u ms, revoking anyway\n",
			 priv->id, dev_name(attach->dev),
			 dev_driver_string(attach->dev),
			 fences ? "signal its fences" : "unmap",
			 READ_ONCE(vfio_pci_dmabuf_unmap_timeout_ms));
	}
}

/* Time left until @deadline, at least 0; MAX_SCHEDULE_TIMEOUT if unbounded */
static long vfio_pci_dmabuf_left(unsigned long deadline, bool bounded)
{
	if (!bounded)
		return MAX_SCHEDULE_TIMEOUT;
	return max_t(long, (long)(deadline - jiffies), 0);
}

/*
 * Wait for the importers' fences (bookkeeping usage covers all of them)
 * and until every sg_table is unmapped.  @bounded: until @deadline at the
 * latest, then name the importers that are late and go on.  Unbounded (a
 * close, after which the BAR is released and may get a new owner): wait as
 * long as it takes, and say so every VFIO_PCI_DMABUF_UNMAP_WARN.
 */
static void vfio_pci_dmabuf_wait_idle(struct vfio_pci_dmabuf *priv,
				      unsigned long deadline, bool bounded)
{
	struct dma_resv *resv = priv->dmabuf->resv;
	long ret;

	dma_resv_lock(resv, NULL);
	ret = dma_resv_wait_timeout(resv, DMA_RESV_USAGE_BOOKKEEP, false,
				    vfio_pci_dmabuf_left(deadline, bounded));
	if (ret <= 0)
		vfio_pci_dmabuf_report_importers(priv, true);
	dma_resv_unlock(resv);

	if (!bounded) {
		while (!wait_event_timeout(priv->unmap_wq,
					   !atomic_read(&priv->nr_mappings),
					   VFIO_PCI_DMABUF_UNMAP_WARN))
			pci_warn(priv->pdev,
				 "dma-buf %llu: %d mapping(s) still alive after move_notify, waiting before the BAR is released\n",
				 priv->id, atomic_read(&priv->nr_mappings));
		return;
	}

	if (wait_event_timeout(priv->unmap_wq, !atomic_read(&priv->nr_mappings),
			       vfio_pci_dmabuf_left(deadline, true)))
		return;

	dma_resv_lock(resv, NULL);
	if (atomic_read(&priv->nr_mappings)) {
		trace_vfio_pci_dmabuf_unmap_timeout(pci_name(priv->pdev),
						    priv->id,
						    atomic_read(&priv->nr_mappings));
		vfio_pci_dmabuf_report_importers(priv, false);
	}
	dma_resv_unlock(resv);
}

/*
 * Move every dma-buf of @vdev out of ACTIVE, in two passes: first each one
 * changes state and its importers get move_notify, then the importers of
 * all of them are waited for, against one deadline for the whole revoke
 * (vfio_pci_dmabuf_unmap_timeout_ms) when @bounded.  A device with many
 * dma-bufs (one per BAR mapping a VMM made by address) therefore waits no
 * longer than one with a single dma-buf.
 */
static void vfio_pci_dmabuf_revoke_all(struct vfio_pci_core_device *vdev,
				       enum vfio_pci_dmabuf_state new_state,
				       enum vfio_pci_dmabuf_reason why,
				       bool bounded)
{
	unsigned long deadline = jiffies +
		msecs_to_jiffies(READ_ONCE(vfio_pci_dmabuf_unmap_timeout_ms));
	struct vfio_pci_dmabuf *priv;

	lockdep_assert_held(&vdev->dmabuf_lock);

	list_for_each_entry(priv, &vdev->dmabufs, dev_node) {
		struct dma_resv *resv = priv->dmabuf->resv;

		dma_resv_lock(resv, NULL);
		priv->revoke_wait = priv->state == VFIO_PCI_DMABUF_ACTIVE;
		priv->state = new_state;
		if (priv->revoke_wait) {
			priv->revoke_count++;
			priv->last_reason = why;
			trace_vfio_pci_dmabuf_revoke(pci_name(priv->pdev),
						     priv->id,
						     vfio_pci_dmabuf_reason_name(why),
						     vfio_pci_dmabuf_nr_attach(priv),
						     new_state == VFIO_PCI_DMABUF_DEAD);
			dma_buf_move_notify(priv->dmabuf);
		}
		dma_resv_unlock(resv);
	}

	list_for_each_entry(priv, &vdev->dmabufs, dev_node) {
		if (!priv->revoke_wait)
			continue;
		priv->revoke_wait = false;
		vfio_pci_dmabuf_wait_idle(priv, deadline, bounded);
	}
}

static void __vfio_pci_dmabuf_revoke(struct vfio_pci_core_device *vdev,
				     enum vfio_pci_dmabuf_reason why)
{
	vfio_pci_dmabuf_revoke_all(vdev, VFIO_PCI_DMABUF_REVOKED, why, true);
}

/**
 * vfio_pci_dmabuf_revoke - revoke every dma-buf of a device
 * @vdev: device whose BARs stop decoding
 * @why: reason, for tracing and debugfs
 *
 * Returns once no importer has the BARs mapped any more.
 *
 * Context: vdev->memory_lock held for write.
 */
void vfio_pci_dmabuf_revoke(struct vfio_pci_core_device *vdev,
			    enum vfio_pci_dmabuf_reason why)
{
	lockdep_assert_held_write(&vdev->memory_lock);

	mutex_lock(&vdev->dmabuf_lock);
	__vfio_pci_dmabuf_revoke(vdev, why);
	mutex_unlock(&vdev->dmabuf_lock);
}

/**
 * vfio_pci_dmabuf_restore - restore revoked dma-bufs if the BARs decode
 * @vdev: device whose BARs may decode again
 *
 * Does nothing unless vfio_pci_dmabuf_mem_usable().  Importers get a
 * move_notify so they can map again.
 *
 * Context: vdev->memory_lock held for write.
 */
void vfio_pci_dmabuf_restore(struct vfio_pci_core_device *vdev)
{
	struct vfio_pci_dmabuf *priv;

	lockdep_assert_held_write(&vdev->memory_lock);

	mutex_lock(&vdev->dmabuf_lock);
	/* Also covers devices that are not open: no vconfig to look at. */
	if (list_empty(&vdev->dmabufs) || !vfio_pci_dmabuf_mem_usable(vdev))
		goto out_unlock;

	list_for_each_entry(priv, &vdev->dmabufs, dev_node) {
		struct dma_resv *resv = priv->dmabuf->resv;

		dma_resv_lock(resv, NULL);
		if (priv->state == VFIO_PCI_DMABUF_REVOKED) {
			priv->state = VFIO_PCI_DMABUF_ACTIVE;
			trace_vfio_pci_dmabuf_restore(pci_name(vdev->pdev),
						      priv->id,
						      vfio_pci_dmabuf_nr_attach(priv));
			dma_buf_move_notify(priv->dmabuf);
		}
		dma_resv_unlock(resv);
	}
out_unlock:
	mutex_unlock(&vdev->dmabuf_lock);
}

/**
 * vfio_pci_dmabuf_reset_begin - revoke before a reset issued by vfio-pci
 * @vdev: device about to be reset
 * @why: reason, for tracing and debugfs
 *
 * Records the current task as the owner of the reset, so that the
 * reset_prepare/reset_done callbacks the PCI core invokes from within the
 * reset leave the work to vfio_pci_dmabuf_reset_end().
 *
 * Context: vdev->memory_lock held for write.
 */
void vfio_pci_dmabuf_reset_begin(struct vfio_pci_core_device *vdev,
				 enum vfio_pci_dmabuf_reason why)
{
	lockdep_assert_held_write(&vdev->memory_lock);

	WRITE_ONCE(vdev->dmabuf_reset_owner, current);
	vfio_pci_dmabuf_revoke(vdev, why);
}

/**
 * vfio_pci_dmabuf_reset_end - restore after a reset issued by vfio-pci
 * @vdev: device that was reset (or whose reset failed)
 *
 * Context: vdev->memory_lock held for write.
 */
void vfio_pci_dmabuf_reset_end(struct vfio_pci_core_device *vdev)
{
	lockdep_assert_held_write(&vdev->memory_lock);

	WRITE_ONCE(vdev->dmabuf_reset_owner, NULL);
	vfio_pci_dmabuf_restore(vdev);
}

/**
 * vfio_pci_dmabuf_close - permanently revoke on close of the device
 * @vdev: device being closed; its BARs are about to be released
 *
 * Every dma-buf becomes DEAD and is detached from the device: it can never
 * map again, even if the device is opened again, and it drops the
 * registration reference it held, so unbinding the device does not wait
 * for the dma-buf files to be closed.  See "Lifetime" in vfio_pci_dmabuf.h.
 */
void vfio_pci_dmabuf_close(struct vfio_pci_core_device *vdev)
{
	struct vfio_pci_dmabuf *priv, *tmp;

	down_write(&vdev->memory_lock);
	mutex_lock(&vdev->dmabuf_lock);
	/*
	 * Not bounded: once the dma-bufs let go of the device, unbind may hand
	 * the BAR to another owner, so no importer may still map it.
	 */
	vfio_pci_dmabuf_revoke_all(vdev, VFIO_PCI_DMABUF_DEAD,
				   VFIO_PCI_DMABUF_REASON_CLOSE, false);
	list_for_each_entry_safe(priv, tmp, &vdev->dmabufs, dev_node) {
		list_del_init(&priv->dev_node);
		/* NULL if ->release() is waiting for dmabuf_lock to unlink */
		if (vfio_pci_dmabuf_take_vdev(priv))
			vfio_device_put_registration(&vdev->vdev);
	}
	mutex_unlock(&vdev->dmabuf_lock);
	up_write(&vdev->memory_lock);

	/* The list is empty, nothing queues the work any more. */
	cancel_work_sync(&vdev->dmabuf_restore_work);
}

/**
 * vfio_pci_dmabuf_restore_work - restore after a PCI core reset or AER
 * @work: vdev->dmabuf_restore_work
 *
 * Restoring needs memory_lock, which the PCI core callbacks cannot take:
 * they run with config space access blocked, and a memory_lock holder may
 * be waiting in pci_user_write_config_word().
 */
void vfio_pci_dmabuf_restore_work(struct work_struct *work)
{
	struct vfio_pci_core_device *vdev =
		container_of(work, struct vfio_pci_core_device,
			     dmabuf_restore_work);

	down_write(&vdev->memory_lock);
	vfio_pci_dmabuf_restore(vdev);
	up_write(&vdev->memory_lock);
}

static void vfio_pci_dmabuf_queue_restore(struct vfio_pci_core_device *vdev)
{
	lockdep_assert_held(&vdev->dmabuf_lock);

	if (!list_empty(&vdev->dmabufs))
		queue_work(system_wq, &vdev->dmabuf_restore_work);
}

static struct vfio_pci_core_device *vfio_pci_dmabuf_pdev_vdev(struct pci_dev *pdev)
{
	return dev_get_drvdata(&pdev->dev);
}

/**
 * vfio_pci_dmabuf_reset_prepare - pci_error_handlers.reset_prepare
 * @pdev: device about to be reset by the PCI core
 *
 * Revokes for resets vfio-pci did not start itself (sysfs reset, a bus
 * reset issued by someone else, vfio-pci's own reset at open).  Resets
 * started by vfio-pci already revoked and are recognised by the owner
 * recorded in vfio_pci_dmabuf_reset_begin().
 *
 * memory_lock is not taken: the PCI core blocks user config space access
 * of the device around the reset, and vfio-pci writes PCI_COMMAND with
 * pci_user_write_config_word() while holding memory_lock.  The dma-buf
 * list has its own lock for this reason.
 *
 * Context: device_lock(&pdev->dev) held, config space access blocked.
 */
void vfio_pci_dmabuf_reset_prepare(struct pci_dev *pdev)
{
	struct vfio_pci_core_device *vdev = vfio_pci_dmabuf_pdev_vdev(pdev);

	if (!vdev || READ_ONCE(vdev->dmabuf_reset_owner) == current)
		return;

	mutex_lock(&vdev->dmabuf_lock);
	vdev->dmabuf_host_resets++;
	__vfio_pci_dmabuf_revoke(vdev, VFIO_PCI_DMABUF_REASON_HOST_RESET);
	mutex_unlock(&vdev->dmabuf_lock);
}

/**
 * vfio_pci_dmabuf_reset_done - pci_error_handlers.reset_done
 * @pdev: device the PCI core finished resetting
 *
 * The dma-bufs are restored by vfio_pci_dmabuf_restore_work(), if the BARs
 * decode by then.
 *
 * Context: device_lock(&pdev->dev) held, config space access blocked.
 */
void vfio_pci_dmabuf_reset_done(struct pci_dev *pdev)
{
	struct vfio_pci_core_device *vdev = vfio_pci_dmabuf_pdev_vdev(pdev);

	if (!vdev || READ_ONCE(vdev->dmabuf_reset_owner) == current)
		return;

	mutex_lock(&vdev->dmabuf_lock);
	if (!WARN_ON_ONCE(!vdev->dmabuf_host_resets))
		vdev->dmabuf_host_resets--;
	vfio_pci_dmabuf_queue_restore(vdev);
	mutex_unlock(&vdev->dmabuf_lock);
}

/**
 * vfio_pci_dmabuf_error_detected - AER error_detected hook
 * @vdev: device with an error
 * @state: channel state reported by the AER core
 *
 * A frozen or dead link means MMIO is gone: revoke.  The AER core sets the
 * channel state before calling error_detected, so the dma-bufs cannot be
 * restored until the channel is back, see vfio_pci_dmabuf_resume().
 *
 * Context: device_lock held.
 */
void vfio_pci_dmabuf_error_detected(struct vfio_pci_core_device *vdev,
				    pci_channel_state_t state)
{
	if (state == pci_channel_io_normal)
		return;

	mutex_lock(&vdev->dmabuf_lock);
	__vfio_pci_dmabuf_revoke(vdev, VFIO_PCI_DMABUF_REASON_AER);
	mutex_unlock(&vdev->dmabuf_lock);
}

/**
 * vfio_pci_dmabuf_resume - pci_error_handlers.resume
 * @pdev: device that recovered from an AER error
 *
 * Queues a restore.  It only happens if the command register still decodes
 * memory; after a link reset it does not, and the user's next reset or
 * PCI_COMMAND write restores instead.
 *
 * Context: device_lock held.
 */
void vfio_pci_dmabuf_resume(struct pci_dev *pdev)
{
	struct vfio_pci_core_device *vdev = vfio_pci_dmabuf_pdev_vdev(pdev);

	if (!vdev)
		return;

	mutex_lock(&vdev->dmabuf_lock);
	vfio_pci_dmabuf_queue_restore(vdev);
	mutex_unlock(&vdev->dmabuf_lock);
}
