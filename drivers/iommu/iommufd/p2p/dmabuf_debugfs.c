// SPDX-License-Identifier: GPL-2.0
/*
 * iommufd dma-buf importer: list of every dma-buf area.
 *
 * <debugfs>/iommufd/dmabuf_areas prints one line per area whose pages are a
 * dma-buf, every field a "name value" pair:
 *
 *   ioas <id> iova <first>-<last> dmabuf <ino> exporter <name>
 *          offset <dma-buf offset of the first byte> domains <n>
 *          state <mapped|revoked> revokes <n> restores <n>
 *          restore_errors <n> retries <n> deferred <n> pending <0|1>
 *
 * (one line). <ino> is the inode number of the dma-buf file, as in
 * <debugfs>/dma_buf/bufinfo. The counters belong to the dma-buf pages and
 * are shared by all areas made from the same IOMMU_IOAS_MAP_FILE,
 * including IOMMU_IOAS_COPY copies. restore_errors counts every failed
 * restore and retries every restore the retry work attempted after one
 * failed (see "Restore retry" in p2p/dmabuf.h), deferred every restore
 * left to the restore work (see "Deferred restore" there); pending is 1
 * while a deferred or retried restore waits for that work. An area that
 * was mapped while no domain was attached shows "domains 0".
 *
 * <debugfs>/iommufd/dmabuf_deferred prints "deferred <n>": the deferred
 * restores queued and not finished, over every iommufd. Each of them makes
 * the next ioctl on its iommufd wait; retries are not counted. It is 0
 * once every deferred restore put its IOPTEs back, failed or was given up.
 */
#include <linux/debugfs.h>
#include <linux/dma-buf.h>
#include <linux/seq_file.h>

#include "dmabuf.h"

/* Protects iopt_dmabuf_all; taken before any iopt_pages::mutex */
DEFINE_MUTEX(iopt_dmabuf_all_lock);
/* Every dma-buf iopt_pages, struct iopt_dmabuf::all_node */
LIST_HEAD(iopt_dmabuf_all);

#ifdef CONFIG_DEBUG_FS
static struct dentry *iopt_dmabuf_dir;

static void iopt_dmabuf_show_one(struct seq_file *s, struct iopt_dmabuf *idma)
{
	struct iopt_dmabuf_area *da;

	mutex_lock(&idma->pages->mutex);
	list_for_each_entry(da, &idma->areas, node) {
		struct iopt_area *area = da->area;

		seq_printf(s,
			   "ioas %u iova %#lx-%#lx dmabuf %lu exporter %s source %s offset %#lx domains %u state %s revokes %lu restores %lu restore_errors %lu retries %lu deferred %lu pending %d\n",
			   iopt_dmabuf_ioas_id(area), iopt_area_iova(area),
			   iopt_area_last_iova(area), iopt_dmabuf_ino(idma),
			   idma->dmabuf->exp_name, idma->from_va ? "va" : "fd",
			   idma->start +
				   iopt_area_start_byte(area, iopt_area_iova(area)),
			   da->nr_domains, idma->revoked ? "revoked" : "mapped",
			   idma->revoke_count, idma->restore_count,
			   idma->restore_errors, idma->restore_retries,
			   idma->restore_deferrals, idma->retry_pending);
	}
	mutex_unlock(&idma->pages->mutex);
}

static int iopt_dmabuf_areas_show(struct seq_file *s, void *unused)
{
	struct iopt_dmabuf *idma;
	int ret;

	ret = mutex_lock_interruptible(&iopt_dmabuf_all_lock);
	if (ret)
		return ret;
	list_for_each_entry(idma, &iopt_dmabuf_all, all_node)
		iopt_dmabuf_show_one(s, idma);
	mutex_unlock(&iopt_dmabuf_all_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(iopt_dmabuf_areas);

static int iopt_dmabuf_deferred_show(struct seq_file *s, void *unused)
{
	seq_printf(s, "deferred %d\n", atomic_read(&iopt_dmabuf_nr_deferred));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(iopt_dmabuf_deferred);

/**
 * iopt_dmabuf_debugfs_init() - Create <debugfs>/iommufd/dmabuf_areas and
 * <debugfs>/iommufd/dmabuf_deferred
 */
void iopt_dmabuf_debugfs_init(void)
{
	iopt_dmabuf_dir = debugfs_create_dir("iommufd", NULL);
	debugfs_create_file("dmabuf_areas", 0400, iopt_dmabuf_dir, NULL,
			    &iopt_dmabuf_areas_fops);
	debugfs_create_file("dmabuf_deferred", 0400, iopt_dmabuf_dir, NULL,
			    &iopt_dmabuf_deferred_fops);
}

/**
 * iopt_dmabuf_debugfs_exit() - Remove <debugfs>/iommufd/
 */
void iopt_dmabuf_debugfs_exit(void)
{
	debugfs_remove_recursive(iopt_dmabuf_dir);
	iopt_dmabuf_dir = NULL;
}
#endif /* CONFIG_DEBUG_FS */
