/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for vfio_dmabuf.c: VFIO_DEVICE_FEATURE_DMA_BUF, the test-only
 * P2P importer (lib/test_p2p_importer.c) and config
 * space access.  Builds on vfio_util.h.
 */
#ifndef __P2P_DMABUF_UTIL_H
#define __P2P_DMABUF_UTIL_H

#include <linux/iommufd.h>

#include "vfio_util.h"
#include "../../../../lib/test_p2p_importer_uapi.h"

/* uapi of the kernel under test; absent from older installed headers */
#ifndef VFIO_DEVICE_FEATURE_DMA_BUF
#define VFIO_DEVICE_FEATURE_DMA_BUF 11
struct vfio_region_dma_range {
	__u64 offset;
	__u64 length;
};

struct vfio_device_feature_dma_buf {
	__u32 region_index;
	__u32 open_flags;
	__u32 flags;
	__u32 nr_ranges;
	struct vfio_region_dma_range dma_ranges[];
};
#endif

/* Documented cap on nr_ranges (E2BIG above). */
#define DMABUF_MAX_RANGES	256

#define DMABUF_DEBUGFS_EXPORTS "/sys/kernel/debug/vfio_pci_dmabuf/exports"

/*
 * Issue VFIO_DEVICE_FEATURE for the dma-buf feature.  @argsz_adj is added
 * to the argsz that exactly covers @nr_ranges ranges (negative to make it
 * short).  @nr_ranges is what the header claims; @nr_copy ranges are put
 * in the buffer.  Returns the ioctl result (fd or 0), or -errno.
 */
static inline int dmabuf_feature_raw(int devfd, uint32_t flags,
				     uint32_t region, uint32_t open_flags,
				     uint32_t dflags, uint32_t nr_ranges,
				     const struct vfio_region_dma_range *ranges,
				     uint32_t nr_copy, long argsz_adj)
{
	size_t len = sizeof(struct vfio_device_feature) +
		     sizeof(struct vfio_device_feature_dma_buf) +
		     (size_t)nr_copy * sizeof(struct vfio_region_dma_range);
	struct vfio_device_feature *feat;
	struct vfio_device_feature_dma_buf *db;
	int ret;

	feat = calloc(1, len);
	if (!feat)
		return -ENOMEM;
	db = (void *)feat->data;
	feat->argsz = (uint32_t)((long)len + argsz_adj);
	feat->flags = flags | VFIO_DEVICE_FEATURE_DMA_BUF;
	db->region_index = region;
	db->open_flags = open_flags;
	db->flags = dflags;
	db->nr_ranges = nr_ranges;
	if (nr_copy)
		memcpy(db->dma_ranges, ranges, nr_copy * sizeof(*ranges));
	ret = ioctl(devfd, VFIO_DEVICE_FEATURE, feat);
	if (ret < 0)
		ret = -errno;
	free(feat);
	return ret;
}

/* Create a dma-buf of @nr ranges of @bar; fd or -errno. */
static inline int dmabuf_export(int devfd, uint32_t bar,
				const struct vfio_region_dma_range *ranges,
				uint32_t nr)
{
	return dmabuf_feature_raw(devfd, VFIO_DEVICE_FEATURE_GET, bar,
				  O_RDWR | O_CLOEXEC, 0, nr, ranges, nr, 0);
}

static inline int dmabuf_export1(int devfd, uint32_t bar, uint64_t offset,
				 uint64_t length)
{
	struct vfio_region_dma_range r = { .offset = offset, .length = length };

	return dmabuf_export(devfd, bar, &r, 1);
}

/* Config space accessors missing from vfio_util.h. */
static inline int p2p_cfg_read8(struct p2p_dev *dev, int off, uint8_t *val)
{
	return pread(dev->fd, val, 1, dev->cfg.offset + off) == 1 ? 0 : -1;
}

static inline int p2p_cfg_read32(struct p2p_dev *dev, int off, uint32_t *val)
{
	return pread(dev->fd, val, 4, dev->cfg.offset + off) == 4 ? 0 : -1;
}

/* Offset of standard capability @id, or 0. */
static inline int p2p_find_cap(struct p2p_dev *dev, uint8_t id)
{
	uint16_t status;
	uint8_t pos, cap;
	int ttl = 48;

	if (p2p_cfg_read16(dev, PCI_STATUS, &status) ||
	    !(status & PCI_STATUS_CAP_LIST))
		return 0;
	if (p2p_cfg_read8(dev, PCI_CAPABILITY_LIST, &pos))
		return 0;
	while (pos >= 0x40 && ttl--) {
		pos &= ~3;
		if (p2p_cfg_read8(dev, pos + PCI_CAP_LIST_ID, &cap))
			return 0;
		if (cap == id)
			return pos;
		if (p2p_cfg_read8(dev, pos + PCI_CAP_LIST_NEXT, &pos))
			return 0;
	}
	return 0;
}

/* Open /dev/p2p_importer<N> of the edu device @bdf; fd or -1. */
static inline int p2p_importer_open(const char *bdf)
{
	if (!p2p_dev_driver_is(bdf, P2P_IMPORTER_DRIVER_NAME))
		return -1;
	return p2p_open_dev_node(bdf, "misc", "p2p_importer", "/dev",
				 O_RDWR | O_CLOEXEC);
}

static inline int imp_import_flags(int imp, int dmabuf_fd, uint32_t flags,
				   struct p2p_importer_import *out)
{
	struct p2p_importer_import arg = { .fd = dmabuf_fd, .flags = flags };

	if (ioctl(imp, P2P_IMPORTER_IMPORT, &arg))
		return -errno;
	if (out)
		*out = arg;
	return 0;
}

static inline int imp_import(int imp, int dmabuf_fd)
{
	return imp_import_flags(imp, dmabuf_fd, 0, NULL);
}

static inline int imp_release(int imp)
{
	return ioctl(imp, P2P_IMPORTER_RELEASE) ? -errno : 0;
}

static inline int imp_status(int imp, struct p2p_importer_status *st)
{
	memset(st, 0, sizeof(*st));
	return ioctl(imp, P2P_IMPORTER_STATUS, st) ? -errno : 0;
}

/* One edu DMA between the edu buffer and the imported dma-buf; -errno. */
static inline int imp_dma(int imp, uint64_t offset, uint32_t len,
			  uint32_t edu_off, bool to_dmabuf)
{
	struct p2p_importer_dma arg = {
		.offset = offset, .len = len, .edu_off = edu_off,
		.dir = to_dmabuf ? P2P_IMPORTER_DMA_TO_DMABUF :
				   P2P_IMPORTER_DMA_FROM_DMABUF,
	};

	return ioctl(imp, P2P_IMPORTER_DMA, &arg) ? -errno : 0;
}

static inline int imp_buf(int imp, void *data, uint32_t len, uint32_t edu_off,
			  bool write)
{
	struct p2p_importer_buf arg = {
		.data = (uintptr_t)data, .edu_off = edu_off, .len = len,
	};

	return ioctl(imp, write ? P2P_IMPORTER_BUF_WRITE :
				  P2P_IMPORTER_BUF_READ, &arg) ? -errno : 0;
}

/* MMIO helpers for the exported BAR (uncached mapping, no memset). */
static inline void mmio_fill(void *base, uint64_t off, uint8_t val, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		__atomic_store_n((uint8_t *)base + off + i, val,
				 __ATOMIC_RELAXED);
}

static inline void mmio_copy_to(void *base, uint64_t off, const void *src,
				size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		__atomic_store_n((uint8_t *)base + off + i,
				 ((const uint8_t *)src)[i], __ATOMIC_RELAXED);
}

/* True if @len bytes at @off all equal @val. */
static inline bool mmio_all(void *base, uint64_t off, uint8_t val, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (mmio_read8(base, off + i) != val)
			return false;
	return true;
}

/* Count lines of the exporter's debugfs file containing @needle; -1 if n/a. */
static inline int dmabuf_debugfs_count(const char *needle)
{
	return p2p_count_lines(DMABUF_DEBUGFS_EXPORTS, needle);
}

/*
 * Revoke triggers on a vfio-pci device: each returns 0 or -1/-errno.
 * Two-step ones take @on (0 revokes, 1 restores); resets do both.
 */
static inline int p2p_trig_cmd_mem(struct p2p_dev *dev, int on)
{
	return on ? p2p_cmd_bits(dev, PCI_COMMAND_MEMORY, 0) :
		    p2p_cmd_bits(dev, 0, PCI_COMMAND_MEMORY);
}

static inline int p2p_trig_low_power(struct p2p_dev *dev, int on)
{
	struct vfio_device_feature feat = {
		.argsz = sizeof(feat),
		.flags = VFIO_DEVICE_FEATURE_SET |
			 (on ? VFIO_DEVICE_FEATURE_LOW_POWER_EXIT :
			       VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY),
	};

	return ioctl(dev->fd, VFIO_DEVICE_FEATURE, &feat);
}

/* VFIO_DEVICE_RESET; the reset may clear the command register */
static inline int p2p_device_reset(struct p2p_dev *dev)
{
	if (ioctl(dev->fd, VFIO_DEVICE_RESET))
		return -errno;
	return p2p_cmd_bits(dev, PCI_COMMAND_MEMORY, 0);
}

/* VFIO_DEVICE_PCI_HOT_RESET of a cdev: zero fds, ownership via iommufd */
static inline int p2p_hot_reset(struct p2p_dev *dev)
{
	struct vfio_pci_hot_reset reset = { .argsz = sizeof(reset) };

	if (ioctl(dev->fd, VFIO_DEVICE_PCI_HOT_RESET, &reset))
		return -errno;
	return p2p_cmd_bits(dev, PCI_COMMAND_MEMORY, 0);
}

/* True if the device has a hot reset (slot or bus reset) */
static inline bool p2p_has_hot_reset(struct p2p_dev *dev)
{
	struct vfio_pci_hot_reset_info info = { .argsz = sizeof(info) };

	return !ioctl(dev->fd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, &info) ||
	       errno == ENOSPC;
}

/* True if the device has a reset method (VFIO_DEVICE_FLAGS_RESET) */
static inline bool p2p_has_reset(struct p2p_dev *dev)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };

	return !ioctl(dev->fd, VFIO_DEVICE_GET_INFO, &info) &&
	       (info.flags & VFIO_DEVICE_FLAGS_RESET);
}

static inline const char *p2p_sysfs_reset_path(const char *bdf)
{
	static char path[128];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/reset", bdf);
	return path;
}

/* A host-initiated reset through sysfs, behind vfio-pci's back */
static inline int p2p_sysfs_reset(const char *bdf)
{
	return p2p_write_str(p2p_sysfs_reset_path(bdf), "1");
}

/* Byte a test writes with the CPU where a DMA must (not) land. */
#define DMABUF_SENTINEL	0xa5

#ifdef __KSELFTEST_HARNESS_H
/*
 * Write @msg through importer @imp into dma-buf offset @off, which is BAR
 * offset @bar_off of the mapping @bar: check that it landed over a
 * sentinel, and ask the host to check the backing file @shm (NULL: the BAR
 * has no host file).  Returns the DMA's -errno; a DMA that succeeded but
 * did not land is a test failure.
 */
static inline int imp_dma_msg(struct __test_metadata *_metadata, int imp,
			      void *bar, const char *shm, uint64_t off,
			      uint64_t bar_off, const char *msg,
			      const char *name)
{
	size_t len = strlen(msg) + 1;
	char got[256];
	int ret;

	mmio_fill(bar, bar_off, DMABUF_SENTINEL, len);
	EXPECT_EQ(0, imp_buf(imp, (void *)msg, len, 0, true));
	ret = imp_dma(imp, off, len, 0, true);
	if (ret)
		return ret;
	mmio_copy_from(got, bar, bar_off, len);
	EXPECT_EQ(0, memcmp(got, msg, len)) {
		TH_LOG("%s: DMA did not land at BAR offset %#llx", name,
		       (unsigned long long)bar_off);
	}
	if (shm)
		p2p_host_expect(shm, bar_off, msg, len, name);
	return 0;
}
#endif

#endif /* __P2P_DMABUF_UTIL_H */
