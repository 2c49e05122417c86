/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vfio-pci dma-buf exporter: internal definitions.
 *
 * A vfio-pci device exports ranges of one of its memory BARs as a dma-buf
 * (VFIO_DEVICE_FEATURE_DMA_BUF).  Only dynamic, peer-to-peer capable
 * importers (move_notify) may attach.  Access is revoked whenever the BAR
 * stops decoding and restored when it decodes again.
 *
 * Per dma-buf state machine (the state is protected by the dma-buf's
 * reservation lock and changed with vdev->dmabuf_lock held):
 *
 *   ACTIVE  --revoke-->  REVOKED      move_notify, wait for fences + unmaps
 *   REVOKED --restore--> ACTIVE       move_notify, only if the BAR decodes
 *   ACTIVE  --close-->   DEAD         move_notify, wait for fences + unmaps
 *   REVOKED --close-->   DEAD         nothing mapped, nothing to notify
 *
 * A dma-buf created while the BAR does not decode starts REVOKED.  DEAD is
 * final: the device was closed, the dma-buf left vdev->dmabufs and will
 * never map again.  attach and map_dma_buf fail with -ENODEV unless ACTIVE,
 * except that a physical address importer may attach while REVOKED.
 *
 * Physical address importers (vfio_pci_dmabuf_is_phys(): iommufd, see
 * include/linux/dma-buf-phys.h) attach without a P2P path and never map:
 * map_dma_buf refuses them with -EOPNOTSUPP.  They read the BAR's CPU
 * physical ranges with dma_buf_phys_map(), which answers -ENODEV
 * unless ACTIVE, and remove their IOMMU mappings synchronously inside the
 * move_notify of a revoke, so they never count in nr_mappings.  The
 * move_notify of a restore lets them map again.
 *
 * Lock order of the exporter's locks (the locks below dmabuf->resv, taken
 * by importers, are in include/linux/dma-buf-phys.h):
 *
 *   vdev->memory_lock (write)          (vfio-pci hooks, restore; read: export)
 *     vdev->dmabuf_lock                (vdev->dmabufs, dmabuf_host_resets)
 *       dmabuf->resv                   (state, attachments)
 *
 *   device_lock(&pdev->dev)            (PCI core reset and AER callbacks)
 *     vdev->dmabuf_lock
 *
 *   vfio_pci_dmabuf_all_lock (debugfs list)
 *     dmabuf->resv
 *
 * Every revoke and restore issued by vfio-pci holds memory_lock for write,
 * asserted with lockdep.  Restoring always holds memory_lock, because it
 * reads the virtual command register and the power state.  Only the PCI
 * core's reset_prepare and error_detected callbacks revoke with
 * dmabuf_lock alone: around a reset the PCI core blocks user config space
 * access while vfio-pci may hold memory_lock waiting in
 * pci_user_write_config_word(), so memory_lock cannot be taken there.
 * Their restore runs from a work item that takes memory_lock.
 *
 * A dma-buf on vdev->dmabufs cannot be freed while dmabuf_lock is held,
 * because ->release() takes it to unlink the dma-buf before the dma-buf
 * core frees it.  Nothing that holds a reservation lock takes dmabuf_lock
 * or memory_lock: map_dma_buf runs with the reservation lock held and only
 * looks at the dma-buf state.
 *
 * Lifetime.  Each dma-buf on vdev->dmabufs holds a registration reference
 * of the vfio device, so the vfio_pci_core_device cannot go away while the
 * device is open and exports.  The reference is owned by whoever clears
 * priv->vdev, which is done under the reservation lock: close of the device
 * (vfio_pci_dmabuf_close(), the dma-buf becomes DEAD) or ->release() of the
 * dma-buf, whichever comes first.  After close the dma-buf no longer
 * refers to the device at all, so an unbind, a hot unplug or disabling
 * SR-IOV never waits for the holder of a dead dma-buf file; ->release()
 * then touches nothing but the dma-buf.  priv->pdev is a plain pci_dev
 * reference, valid until ->release(), for names and the P2P path.
 *
 * Bounded waits.  A revoke first moves every dma-buf of the device out of
 * ACTIVE and notifies its importers, then waits for all their fences and
 * unmaps, for at most vfio_pci_dmabuf_unmap_timeout_ms in total (module
 * parameter of vfio-pci-core, dmabuf_unmap_timeout_ms).  Revokes run from
 * device resets and AER recovery under device_lock, so one importer that
 * does not unmap must not hang the PCI core: when the bound expires the
 * late importers are named in the log and the revoke goes on; the BAR
 * stays vfio-pci's.  The revoke at close is not bounded: after it the
 * dma-bufs let go of the device, which may then be unbound and its BAR
 * given to another owner, so it waits for every importer.
 */
#ifndef __VFIO_PCI_DMABUF_H
#define __VFIO_PCI_DMABUF_H

#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/list.h>
#include <linux/pci-p2pdma.h>
#include <linux/wait.h>

#include "../vfio_pci_priv.h"

/*
 * Cap on nr_ranges.  Each range costs at least one scatterlist entry and,
 * through the host bridge, one IOMMU mapping per map_dma_buf call; the
 * overlap check sorts the ranges.  256 ranges of 16 bytes keep the copied
 * array at one page and the work per map bounded, while still allowing a
 * fine-grained carve-out of a large BAR.
 */
#define VFIO_PCI_DMABUF_MAX_RANGES	256

/* Largest scatterlist entry: page aligned and below UINT_MAX. */
#define VFIO_PCI_DMABUF_MAX_SEG		SZ_2G

/* open_flags accepted for the dma-buf file. */
#define VFIO_PCI_DMABUF_OPEN_FLAGS	(O_ACCMODE | O_CLOEXEC | O_NONBLOCK)

/**
 * enum vfio_pci_dmabuf_path - how an importer reaches the BAR
 * @VFIO_PCI_DMABUF_PATH_NONE: no P2P path, attach fails
 * @VFIO_PCI_DMABUF_PATH_BUS_ADDR: common switch, no ACS redirect: the
 *	importer uses PCI bus addresses (PCI_P2PDMA_MAP_BUS_ADDR)
 * @VFIO_PCI_DMABUF_PATH_HOST_BRIDGE: through the host bridge and the
 *	importer's IOMMU: dma_map_resource() (PCI_P2PDMA_MAP_THRU_HOST_BRIDGE)
 */
enum vfio_pci_dmabuf_path {
	VFIO_PCI_DMABUF_PATH_NONE,
	VFIO_PCI_DMABUF_PATH_BUS_ADDR,
	VFIO_PCI_DMABUF_PATH_HOST_BRIDGE,
};

enum vfio_pci_dmabuf_state {
	VFIO_PCI_DMABUF_ACTIVE,
	VFIO_PCI_DMABUF_REVOKED,
	VFIO_PCI_DMABUF_DEAD,
};

/**
 * struct vfio_pci_dmabuf_range - one exported slice of the BAR
 * @offset: offset from the start of the BAR, as given by the user
 * @length: length in bytes, page aligned
 * @phys: CPU physical address of the slice
 * @bus: PCI bus address of the slice
 */
struct vfio_pci_dmabuf_range {
	u64 offset;
	u64 length;
	phys_addr_t phys;
	pci_bus_addr_t bus;
};

/**
 * struct vfio_pci_dmabuf - exporter private data of one dma-buf
 * @dmabuf: the dma-buf; valid until ->release() returns
 * @vdev: exporting device while the dma-buf holds its registration; NULL
 *	once the device was closed or the dma-buf released.  Written under
 *	the reservation lock, see "Lifetime" above
 * @pdev: exporting PCI device, referenced until ->release()
 * @dev_node: entry in @vdev->dmabufs, protected by vdev->dmabuf_lock
 * @all_node: entry in the debugfs list, protected by
 *	vfio_pci_dmabuf_all_lock
 * @id: sequence number for tracing and debugfs
 * @bar: exported BAR
 * @nr_ranges: number of entries in @ranges
 * @nr_segs: number of scatterlist entries a mapping needs
 * @size: sum of the range lengths, the dma-buf size
 * @from_va: made for an IOMMU mapping of a BAR mmap (IOMMU_IOAS_MAP or
 *	VFIO_IOMMU_MAP_DMA of its address); no fd refers to it
 * @ranges: the exported slices, in dma-buf order
 * @state: see enum vfio_pci_dmabuf_state; protected by the reservation lock
 * @revoke_count: number of ACTIVE -> REVOKED/DEAD transitions
 * @last_reason: reason of the last revocation
 * @revoke_wait: a revoke in progress still has to wait for this dma-buf's
 *	importers; protected by vdev->dmabuf_lock
 * @nr_mappings: live sg_tables handed out by map_dma_buf
 * @unmap_wq: woken when @nr_mappings drops to zero
 */
struct vfio_pci_dmabuf {
	struct dma_buf *dmabuf;
	struct vfio_pci_core_device *vdev;
	struct pci_dev *pdev;
	struct list_head dev_node;
	struct list_head all_node;
	u64 id;
	unsigned int bar;
	u32 nr_ranges;
	unsigned int nr_segs;
	size_t size;
	bool from_va;
	struct vfio_pci_dmabuf_range *ranges;
	enum vfio_pci_dmabuf_state state;
	unsigned long revoke_count;
	enum vfio_pci_dmabuf_reason last_reason;
	bool revoke_wait;
	atomic_t nr_mappings;
	wait_queue_head_t unmap_wq;
};

/**
 * struct vfio_pci_dmabuf_attach - exporter private data of one attachment
 * @map_type: how map_dma_buf translates the BAR for this importer
 * @nr_mapped: sg_tables of this importer not unmapped yet; protected by
 *	the reservation lock (dynamic importers map and unmap under it)
 */
struct vfio_pci_dmabuf_attach {
	enum vfio_pci_dmabuf_path map_type;
	unsigned int nr_mapped;
};

/* vfio_pci_dmabuf.c */
bool vfio_pci_dmabuf_is_phys(const struct dma_buf_attachment *attach);
struct vfio_pci_core_device *vfio_pci_dmabuf_take_vdev(struct vfio_pci_dmabuf *priv);

/* vfio_pci_dmabuf_validate.c */
int vfio_pci_dmabuf_check_bar(struct pci_dev *pdev, u32 bar);
int vfio_pci_dmabuf_check_ranges_in(resource_size_t start,
				    resource_size_t end,
				    const struct vfio_region_dma_range *ranges,
				    u32 nr_ranges, size_t *total);
int vfio_pci_dmabuf_check_ranges(struct pci_dev *pdev, u32 bar,
				 const struct vfio_region_dma_range *ranges,
				 u32 nr_ranges, size_t *total);

/* vfio_pci_dmabuf_p2p.c */
int vfio_pci_dmabuf_p2p_type(struct pci_dev *provider, struct device *client,
			     enum vfio_pci_dmabuf_path *type);
struct sg_table *vfio_pci_dmabuf_p2p_map(struct vfio_pci_dmabuf *priv,
					 struct device *dev,
					 enum vfio_pci_dmabuf_path type,
					 enum dma_data_direction dir);
void vfio_pci_dmabuf_p2p_unmap(struct device *dev,
			       enum vfio_pci_dmabuf_path type,
			       struct sg_table *sgt,
			       enum dma_data_direction dir);
unsigned int vfio_pci_dmabuf_count_segs(const struct vfio_pci_dmabuf *priv);
const char *vfio_pci_dmabuf_map_type_name(enum vfio_pci_dmabuf_path type);

/* vfio_pci_dmabuf_revoke.c */
extern unsigned int vfio_pci_dmabuf_unmap_timeout_ms;
bool vfio_pci_dmabuf_mem_usable(struct vfio_pci_core_device *vdev);
void vfio_pci_dmabuf_restore_work(struct work_struct *work);
const char *vfio_pci_dmabuf_reason_name(enum vfio_pci_dmabuf_reason why);

/* vfio_pci_dmabuf_debugfs.c */
extern struct mutex vfio_pci_dmabuf_all_lock;
extern struct list_head vfio_pci_dmabuf_all;
#ifdef CONFIG_DEBUG_FS
void vfio_pci_dmabuf_debugfs_init(void);
void vfio_pci_dmabuf_debugfs_exit(void);
#else
static inline void vfio_pci_dmabuf_debugfs_init(void) { }
static inline void vfio_pci_dmabuf_debugfs_exit(void) { }
#endif

#endif /* __VFIO_PCI_DMABUF_H */
