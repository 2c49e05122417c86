// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-pci dma-buf exporter: list of every exported dma-buf.
 *
 * <debugfs>/vfio_pci_dmabuf/exports prints, per dma-buf:
 *
 *   dmabuf <id> dev <bdf> bar <n> size 0x<size> state <state>
 *          revokes <count> last_revoke <reason> mappings <n>
 *     range <i> offset 0x<offset> length 0x<length>
 *     importer <device> map <bus_addr|host_bridge|phys>
 *
 * (the first record is one line).
 */
#include <linux/debugfs.h>
#include <linux/dma-resv.h>
#include <linux/seq_file.h>

#include "vfio_pci_dmabuf.h"

/* Protects vfio_pci_dmabuf_all; taken before any reservation lock */
DEFINE_MUTEX(vfio_pci_dmabuf_all_lock);
/* Every exported dma-buf, for debugfs */
LIST_HEAD(vfio_pci_dmabuf_all);

#ifdef CONFIG_DEBUG_FS
static struct dentry *vfio_pci_dmabuf_dir;

static const char *vfio_pci_dmabuf_state_name(enum vfio_pci_dmabuf_state s)
{
	switch (s) {
	case VFIO_PCI_DMABUF_ACTIVE:
		return "active";
	case VFIO_PCI_DMABUF_REVOKED:
		return "revoked";
	case VFIO_PCI_DMABUF_DEAD:
		return "dead";
	}
	return "unknown";
}

static int vfio_pci_dmabuf_show_one(struct seq_file *s,
				    struct vfio_pci_dmabuf *priv)
{
	struct dma_buf_attachment *attach;
	int ret;
	u32 i;

	ret = dma_resv_lock_interruptible(priv->dmabuf->resv, NULL);
	if (ret)
		return ret;

	seq_printf(s,
		   "dmabuf %llu dev %s bar %u size %#zx source %s state %s revokes %lu last_revoke %s mappings %d\n",
		   priv->id, pci_name(priv->pdev), priv->bar, priv->size,
		   priv->from_va ? "va" : "fd",
		   vfio_pci_dmabuf_state_name(priv->state), priv->revoke_count,
		   priv->revoke_count ?
			vfio_pci_dmabuf_reason_name(priv->last_reason) : "-",
		   atomic_read(&priv->nr_mappings));
	for (i = 0; i < priv->nr_ranges; i++)
		seq_printf(s, "  range %u offset %#llx length %#llx\n", i,
			   priv->ranges[i].offset, priv->ranges[i].length);
	list_for_each_entry(attach, &priv->dmabuf->attachments, node) {
		struct vfio_pci_dmabuf_attach *ap = attach->priv;
		const char *map = "none";

		if (ap)
			map = vfio_pci_dmabuf_map_type_name(ap->map_type);
		else if (vfio_pci_dmabuf_is_phys(attach))
			map = "phys";
		seq_printf(s, "  importer %s map %s\n", dev_name(attach->dev),
			   map);
	}

	dma_resv_unlock(priv->dmabuf->resv);
	return 0;
}

static int vfio_pci_dmabuf_exports_show(struct seq_file *s, void *unused)
{
	struct vfio_pci_dmabuf *priv;
	int ret = 0;

	ret = mutex_lock_interruptible(&vfio_pci_dmabuf_all_lock);
	if (ret)
		return ret;
	list_for_each_entry(priv, &vfio_pci_dmabuf_all, all_node) {
		ret = vfio_pci_dmabuf_show_one(s, priv);
		if (ret)
			break;
	}
	mutex_unlock(&vfio_pci_dmabuf_all_lock);
	return ret;
}
DEFINE_SHOW_ATTRIBUTE(vfio_pci_dmabuf_exports);

/**
 * vfio_pci_dmabuf_debugfs_init - create <debugfs>/vfio_pci_dmabuf/
 */
void vfio_pci_dmabuf_debugfs_init(void)
{
	vfio_pci_dmabuf_dir = debugfs_create_dir("vfio_pci_dmabuf", NULL);
	debugfs_create_file("exports", 0400, vfio_pci_dmabuf_dir, NULL,
			    &vfio_pci_dmabuf_exports_fops);
}

/**
 * vfio_pci_dmabuf_debugfs_exit - remove <debugfs>/vfio_pci_dmabuf/
 */
void vfio_pci_dmabuf_debugfs_exit(void)
{
	debugfs_remove_recursive(vfio_pci_dmabuf_dir);
	vfio_pci_dmabuf_dir = NULL;
}
#endif /* CONFIG_DEBUG_FS */
