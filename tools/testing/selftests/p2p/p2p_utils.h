/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers of the P2P selftests, in the manner of ../iommu/iommufd_utils.h:
 * a _test_*() function returns 0 or -errno, a test_ioctl_*() macro asserts
 * that it succeeded and a test_err_*() macro that it failed with exactly
 * the given errno. By concern:
 *
 *   1. The rig: its devices, sysfs and the host's checks
 *   2. iommufd: IOMMU_IOAS_MAP_FILE, IOMMU_IOAS_MAP, IOMMU_IOAS_UNMAP
 *   3. vfio devices: open, config space, BARs and MMIO; the type1 container
 *   4. vfio dma-buf export (VFIO_DEVICE_FEATURE_DMA_BUF)
 *   5. edu: its DMA engine, and the test importer (p2p_importer)
 *   6. Revoke triggers: one table for every test program
 *   7. iommufd test ops (CONFIG_IOMMUFD_TEST): mock accesses, aperture,
 *      the importer's dma-buf areas
 *
 * Programs that use ../iommu/iommufd_utils.h include it first.
 */
#ifndef __P2P_UTILS_H
#define __P2P_UTILS_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/iommufd.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "compat.h"
#include "../../../../drivers/iommu/iommufd/iommufd_test.h"
#include "../../../../lib/test_p2p_importer_uapi.h"

/* Same as ../iommu/iommufd_utils.h: @cmd returned -1 with errno set */
#ifndef EXPECT_ERRNO
#define EXPECT_ERRNO(expected_errno, cmd)         \
	({                                        \
		ASSERT_EQ(-1, cmd);               \
		EXPECT_EQ(expected_errno, errno); \
	})
#endif

/* ---- 1. The rig ---------------------------------------------------- */

/* Guest PCI addresses of the rig's devices (scripts/vm.sh). */
#define P2P_EDU0	"0000:00:01.0"
#define P2P_IVSHMEM0	"0000:00:02.0"
#define P2P_EDU1	"0000:00:03.0"
#define P2P_IVSHMEM1	"0000:00:04.0"
/* Each alone behind its own PCIe root port */
#define P2P_IVSHMEM_RP	"0000:01:00.0"
#define P2P_NVME	"0000:02:00.0"
#define P2P_E1000E	"0000:03:00.0"

/* The device exists in the guest and is bound to the driver @drv. */
static inline bool p2p_dev_driver_is(const char *bdf, const char *drv)
{
	char path[PATH_MAX], link[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return false;
	link[n] = 0;
	return !strcmp(basename(link), drv);
}

/* Device is present in the guest and bound to vfio-pci. */
static inline bool p2p_dev_present(const char *bdf)
{
	return p2p_dev_driver_is(bdf, "vfio-pci");
}

static inline int p2p_iommu_group(const char *bdf)
{
	char path[PATH_MAX], link[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -1;
	link[n] = 0;
	return atoi(basename(link));
}

/*
 * Open the character device a driver created for @bdf: the first entry
 * named @prefix* in the device's sysfs directory @subdir, as @devdir/<name>.
 * Returns the fd or -1.
 */
static inline int p2p_open_dev_node(const char *bdf, const char *subdir,
				    const char *prefix, const char *devdir, int flags)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int fd = -1;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", bdf, subdir);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, prefix, strlen(prefix)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", devdir, de->d_name);
		fd = open(path, flags);
		break;
	}
	closedir(d);
	return fd;
}

/* Open /dev/vfio/devices/vfioN for the device (iommufd cdev path). */
static inline int p2p_open_cdev(const char *bdf)
{
	return p2p_open_dev_node(bdf, "vfio-dev", "vfio", "/dev/vfio/devices", O_RDWR);
}

/* Write @str to the file @path; 0 or -1 */
static inline int p2p_write_str(const char *path, const char *str)
{
	ssize_t len;
	int fd;

	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	len = write(fd, str, strlen(str));
	close(fd);
	return len == (ssize_t)strlen(str) ? 0 : -1;
}

static inline void p2p_sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Lines of the file @path that contain @needle; -1 if it cannot be read */
static inline int p2p_count_lines(const char *path, const char *needle)
{
	char line[512];
	int n = 0;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			n++;
	fclose(f);
	return n;
}

/* Ask the host runner to check bytes in a device's backing file after the run. */
static inline void p2p_host_expect(const char *shm, uint64_t off, const void *data,
				   size_t len, const char *name)
{
	const unsigned char *p = data;
	size_t i;

	printf("P2P-HOST-EXPECT %s %llx ", shm, (unsigned long long)off);
	for (i = 0; i < len; i++)
		printf("%02x", p[i]);
	printf(" %s\n", name);
	fflush(stdout);
}

/* ---- 2. iommufd ---------------------------------------------------- */

/* Both directions, the usual protection of a test mapping */
#ifndef MAP_RW
#define MAP_RW (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)
#endif

/*
 * IOMMU_IOAS_MAP_FILE of @length bytes of @mfd from @start into @ioas_id of
 * the iommufd @fd: at *@iova with IOMMU_IOAS_MAP_FIXED_IOVA in @flags, else
 * where the kernel chooses, returned in *@iova. Returns 0 or -errno (errno
 * is left set). Every test maps files through this, except the ones that
 * pass a malformed struct on purpose.
 */
static inline int _test_ioctl_ioas_map_file(int fd, __u32 ioas_id, int mfd,
					    uint64_t start, uint64_t length,
					    uint64_t *iova, __u32 flags)
{
	struct iommu_ioas_map_file cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.ioas_id = ioas_id,
		.fd = mfd,
		.start = start,
		.length = length,
	};
	int ret;

	if (flags & IOMMU_IOAS_MAP_FIXED_IOVA)
		cmd.iova = *iova;
	ret = ioctl(fd, IOMMU_IOAS_MAP_FILE, &cmd);
	*iova = cmd.iova;
	return ret ? -errno : 0;
}

/*
 * The test_ioctl_* forms assert success, the test_err_* forms the exact
 * errno. Without a suffix they map into self->ioas_id of self->fd, as
 * ../iommu/iommufd_utils.h does; the _id forms name the iommufd and the
 * IOAS and map at a fixed IOVA.
 */
#define test_ioctl_ioas_map_file(mfd, start, length, iova_p)                 \
	ASSERT_EQ(0, _test_ioctl_ioas_map_file(self->fd, self->ioas_id, mfd, \
					       start, length, iova_p,        \
					       MAP_RW))

#define test_ioctl_ioas_map_file_fixed(mfd, start, length, iova)            \
	({                                                                    \
		uint64_t __iova = (iova);                                        \
		ASSERT_EQ(0, _test_ioctl_ioas_map_file(                       \
				     self->fd, self->ioas_id, mfd, start,     \
				     length, &__iova,                         \
				     IOMMU_IOAS_MAP_FIXED_IOVA | MAP_RW));    \
	})

#define test_err_ioctl_ioas_map_file(_errno, mfd, start, length, flags)     \
	({                                                                    \
		uint64_t __iova = MOCK_APERTURE_START;                           \
		EXPECT_EQ(-(_errno), _test_ioctl_ioas_map_file(               \
					     self->fd, self->ioas_id, mfd,    \
					     start, length, &__iova, flags)); \
	})

#define test_ioctl_ioas_map_file_id(fd, ioas_id, mfd, start, length, iova,  \
				    flags)                                    \
	({                                                                    \
		uint64_t __iova = (iova);                                        \
		ASSERT_EQ(0, _test_ioctl_ioas_map_file(                       \
				     fd, ioas_id, mfd, start, length, &__iova,\
				     (flags) | IOMMU_IOAS_MAP_FIXED_IOVA));   \
	})

#define test_err_ioctl_ioas_map_file_id(_errno, fd, ioas_id, mfd, start,    \
					length, iova, flags)                  \
	({                                                                    \
		uint64_t __iova = (iova);                                        \
		EXPECT_EQ(-(_errno),                                          \
			  _test_ioctl_ioas_map_file(                          \
				  fd, ioas_id, mfd, start, length, &__iova,   \
				  (flags) | IOMMU_IOAS_MAP_FIXED_IOVA));      \
	})

/* IOMMU_IOAS_MAP of @length bytes at user address @va at the fixed @iova */
static inline int p2p_map_va(int iommufd, uint32_t ioas, void *va,
			     uint64_t length, uint64_t iova, uint32_t flags)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = flags | IOMMU_IOAS_MAP_FIXED_IOVA,
		.ioas_id = ioas,
		.user_va = (uintptr_t)va,
		.length = length,
		.iova = iova,
	};

	return ioctl(iommufd, IOMMU_IOAS_MAP, &cmd) ? -errno : 0;
}

static inline int p2p_unmap(int iommufd, uint32_t ioas, uint64_t iova,
			    uint64_t length)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .iova = iova,
		.length = length,
	};

	return ioctl(iommufd, IOMMU_IOAS_UNMAP, &cmd) ? -errno : 0;
}

/* ---- 3. vfio devices ----------------------------------------------- */

struct p2p_dev {
	int fd;			/* vfio device fd */
	struct vfio_region_info cfg;
	void *bar[VFIO_PCI_NUM_REGIONS];
	size_t bar_size[VFIO_PCI_NUM_REGIONS];
};

static inline int p2p_dev_setup(struct p2p_dev *dev, int fd)
{
	memset(dev, 0, sizeof(*dev));
	dev->fd = fd;
	dev->cfg.argsz = sizeof(dev->cfg);
	dev->cfg.index = VFIO_PCI_CONFIG_REGION_INDEX;
	return ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, &dev->cfg);
}

/* Unmap the BARs and close the device; safe to call again. */
static inline void p2p_dev_close(struct p2p_dev *dev)
{
	int i;

	for (i = 0; i < VFIO_PCI_NUM_REGIONS; i++) {
		if (dev->bar[i])
			munmap(dev->bar[i], dev->bar_size[i]);
		dev->bar[i] = NULL;
	}
	if (dev->fd >= 0)
		close(dev->fd);
	dev->fd = -1;
}

static inline int p2p_cfg_read16(struct p2p_dev *dev, int off, uint16_t *val)
{
	return pread(dev->fd, val, 2, dev->cfg.offset + off) == 2 ? 0 : -1;
}

static inline int p2p_cfg_write16(struct p2p_dev *dev, int off, uint16_t val)
{
	return pwrite(dev->fd, &val, 2, dev->cfg.offset + off) == 2 ? 0 : -1;
}

/* Set (or clear) bits in PCI_COMMAND. */
static inline int p2p_cmd_bits(struct p2p_dev *dev, uint16_t set, uint16_t clear)
{
	uint16_t cmd;

	if (p2p_cfg_read16(dev, PCI_COMMAND, &cmd))
		return -1;
	cmd = (cmd | set) & ~clear;
	return p2p_cfg_write16(dev, PCI_COMMAND, cmd);
}

/*
 * Bind a vfio cdev to @iommufd and attach it to page table @pt_id (an IOAS
 * or a HWPT). Returns 0 or -1 with errno set.
 */
static inline int p2p_iommufd_attach(int dev_fd, int iommufd, uint32_t pt_id,
				     uint32_t *dev_id)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind), .iommufd = iommufd,
	};
	struct vfio_device_attach_iommufd_pt attach = {
		.argsz = sizeof(attach), .pt_id = pt_id,
	};

	if (ioctl(dev_fd, VFIO_DEVICE_BIND_IOMMUFD, &bind))
		return -1;
	if (dev_id)
		*dev_id = bind.out_devid;
	return ioctl(dev_fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach);
}

/*
 * Open @bdf through /dev/vfio/devices and attach it to @ioas_id of
 * @iommufd. Returns 0 or -1.
 */
static inline int p2p_open_iommufd_dev(struct p2p_dev *dev, const char *bdf,
				       int iommufd, uint32_t ioas_id)
{
	int fd = p2p_open_cdev(bdf);

	if (fd < 0)
		return -1;
	/* A cdev answers nothing but BIND until it is bound. */
	if (p2p_iommufd_attach(fd, iommufd, ioas_id, NULL)) {
		close(fd);
		dev->fd = -1;
		return -1;
	}
	if (p2p_dev_setup(dev, fd)) {
		p2p_dev_close(dev);
		return -1;
	}
	return 0;
}

/* mmap a BAR of the device; returns NULL on failure. */
static inline void *p2p_map_bar(struct p2p_dev *dev, int bar)
{
	struct vfio_region_info info = { .argsz = sizeof(info), .index = bar };
	void *p;

	if (dev->bar[bar])
		return dev->bar[bar];
	if (ioctl(dev->fd, VFIO_DEVICE_GET_REGION_INFO, &info))
		return NULL;
	if (!(info.flags & VFIO_REGION_INFO_FLAG_MMAP) || !info.size)
		return NULL;
	p = mmap(NULL, info.size, PROT_READ | PROT_WRITE, MAP_SHARED, dev->fd,
		 info.offset);
	if (p == MAP_FAILED)
		return NULL;
	dev->bar[bar] = p;
	dev->bar_size[bar] = info.size;
	return p;
}

/* Config space reads of other widths */
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

/* MMIO accessors: relaxed atomics are never merged or elided by the compiler. */
static inline uint64_t mmio_read64(void *base, unsigned int off)
{
	return __atomic_load_n((uint64_t *)((char *)base + off), __ATOMIC_RELAXED);
}

static inline void mmio_write64(void *base, unsigned int off, uint64_t val)
{
	__atomic_store_n((uint64_t *)((char *)base + off), val, __ATOMIC_RELAXED);
}

static inline uint32_t mmio_read32(void *base, unsigned int off)
{
	return __atomic_load_n((uint32_t *)((char *)base + off), __ATOMIC_RELAXED);
}

static inline uint8_t mmio_read8(void *base, unsigned int off)
{
	return __atomic_load_n((uint8_t *)base + off, __ATOMIC_RELAXED);
}

/* Copy out of a BAR byte by byte (the CPU view of device memory). */
static inline void mmio_copy_from(void *dst, void *base, unsigned int off, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		((uint8_t *)dst)[i] = mmio_read8(base, off + i);
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

/* Add the IOMMU group of @bdf to a VFIO container; 0 or -1 */
static inline int container_add_group(int container, const char *bdf,
				      int *group_fd)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	char path[64];
	int g = p2p_iommu_group(bdf);

	if (g < 0)
		return -1;
	snprintf(path, sizeof(path), "/dev/vfio/%d", g);
	*group_fd = open(path, O_RDWR);
	if (*group_fd < 0)
		return -1;
	if (ioctl(*group_fd, VFIO_GROUP_GET_STATUS, &st) ||
	    !(st.flags & VFIO_GROUP_FLAGS_VIABLE))
		return -1;
	return ioctl(*group_fd, VFIO_GROUP_SET_CONTAINER, &container);
}

/* VFIO_IOMMU_MAP_DMA, read and write; 0 or -1 */
static inline int dma_map(int container, void *vaddr, uint64_t iova,
			  uint64_t size)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)vaddr,
		.iova = iova,
		.size = size,
	};

	return ioctl(container, VFIO_IOMMU_MAP_DMA, &map);
}

static inline int dma_unmap(int container, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap), .iova = iova, .size = size,
	};

	return ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap);
}

/* ---- 4. vfio dma-buf export ---------------------------------------- */

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

/* Count lines of the exporter's debugfs file containing @needle; -1 if n/a. */
static inline int dmabuf_debugfs_count(const char *needle)
{
	return p2p_count_lines(DMABUF_DEBUGFS_EXPORTS, needle);
}

/* ---- 5. edu and the test importer ---------------------------------- */

/* edu registers and its internal DMA buffer address. */
#define EDU_ID		0x00
#define EDU_DMA_SRC	0x80
#define EDU_DMA_DST	0x88
#define EDU_DMA_CNT	0x90
#define EDU_DMA_CMD	0x98
#define EDU_CMD_START	0x1
#define EDU_CMD_TO_RAM	0x2
#define EDU_BUF		0x40000
#define EDU_BUF_SIZE	4096

/*
 * One edu DMA of @len bytes between bus address @iova and the device buffer
 * at @buf_off. @to_iova selects the direction. Returns 0 when the engine
 * finished (whether or not the IOMMU let the transfer through), -1 on a
 * timeout.
 */
static inline int edu_dma(struct p2p_dev *edu, uint64_t iova, unsigned int buf_off,
			  uint32_t len, bool to_iova)
{
	struct timespec ts = { 0, 5 * 1000 * 1000 };
	int i;

	void *regs = edu->bar[0];

	mmio_write64(regs, EDU_DMA_SRC, to_iova ? EDU_BUF + buf_off : iova);
	mmio_write64(regs, EDU_DMA_DST, to_iova ? iova : EDU_BUF + buf_off);
	mmio_write64(regs, EDU_DMA_CNT, len);
	mmio_write64(regs, EDU_DMA_CMD, EDU_CMD_START | (to_iova ? EDU_CMD_TO_RAM : 0));
	for (i = 0; i < 2000; i++) {
		if (!(mmio_read64(regs, EDU_DMA_CMD) & EDU_CMD_START))
			return 0;
		nanosleep(&ts, NULL);
	}
	return -1;
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

/* ---- 6. Revoke triggers -------------------------------------------- */

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

/* Offset of the PCIe capability, or 0 */
static inline int p2p_pcie_cap(struct p2p_dev *dev)
{
	return p2p_find_cap(dev, PCI_CAP_ID_EXP);
}

/* True if the device advertises PCIe function level reset */
static inline bool p2p_has_flr(struct p2p_dev *dev)
{
	int exp = p2p_pcie_cap(dev);
	uint32_t devcap;

	if (!exp || p2p_cfg_read32(dev, exp + PCI_EXP_DEVCAP, &devcap))
		return false;
	return devcap & PCI_EXP_DEVCAP_FLR;
}

/* Virtual FLR: the user sets Initiate FLR in the emulated Device Control */
static inline int p2p_virtual_flr(struct p2p_dev *dev)
{
	int exp = p2p_pcie_cap(dev);
	uint16_t ctl;

	if (p2p_cfg_read16(dev, exp + PCI_EXP_DEVCTL, &ctl) ||
	    p2p_cfg_write16(dev, exp + PCI_EXP_DEVCTL,
			    ctl | PCI_EXP_DEVCTL_BCR_FLR))
		return -1;
	return p2p_cmd_bits(dev, PCI_COMMAND_MEMORY, 0);
}

/* D3hot (@on 0) or back to D0 (@on 1) through the PM capability */
static inline int p2p_trig_pm(struct p2p_dev *dev, int on)
{
	int pm = p2p_find_cap(dev, PCI_CAP_ID_PM);
	uint16_t ctrl;

	if (!pm || p2p_cfg_read16(dev, pm + PCI_PM_CTRL, &ctrl))
		return -1;
	ctrl &= ~PCI_PM_CTRL_STATE_MASK;
	if (!on)
		ctrl |= 3;	/* D3hot */
	if (p2p_cfg_write16(dev, pm + PCI_PM_CTRL, ctrl))
		return -1;
	/* Leaving D3hot without No_Soft_Reset may clear the command register */
	return on ? p2p_cmd_bits(dev, PCI_COMMAND_MEMORY, 0) : 0;
}

/* runtime_status of the device in sysfs, for messages */
static inline const char *p2p_rpm_status(const char *bdf)
{
	static char buf[32];
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path),
		 "/sys/bus/pci/devices/%s/power/runtime_status", bdf);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return "n/a";
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n - 1 : 0] = 0;
	return buf;
}

/* The eventfd of a low power entry with wakeup, until its exit */
static int p2p_wakeup_efd = -1;

/*
 * Low power entry with a wakeup eventfd (@on 0), and its exit (@on 1): the
 * exit is the eventfd path, taken when the user touches the suspended
 * device (here: any device ioctl). The device suspends asynchronously
 * after the entry, so touch it until the wakeup is signalled (10 s).
 */
static inline int p2p_trig_low_power_wakeup(struct p2p_dev *dev,
					    const char *bdf, int on)
{
	struct {
		struct vfio_device_feature feat;
		struct vfio_device_low_power_entry_with_wakeup w;
	} arg = {
		.feat.argsz = sizeof(arg),
		.feat.flags = VFIO_DEVICE_FEATURE_SET |
			VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP,
	};
	struct vfio_device_info info = { .argsz = sizeof(info) };
	struct pollfd pfd;
	uint64_t n = 0;
	int i, ret = -1;

	if (!on) {
		p2p_wakeup_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (p2p_wakeup_efd < 0)
			return -1;
		arg.w.wakeup_eventfd = p2p_wakeup_efd;
		return ioctl(dev->fd, VFIO_DEVICE_FEATURE, &arg);
	}
	pfd.fd = p2p_wakeup_efd;
	pfd.events = POLLIN;
	for (i = 0; i < 100 && ret; i++) {
		if (ioctl(dev->fd, VFIO_DEVICE_GET_INFO, &info))
			break;
		if (poll(&pfd, 1, 100) == 1 &&
		    read(p2p_wakeup_efd, &n, sizeof(n)) == sizeof(n))
			ret = 0;
	}
	if (ret)
		printf("# %s: no wakeup signalled, runtime PM status %s\n",
		       bdf, p2p_rpm_status(bdf));
	close(p2p_wakeup_efd);
	p2p_wakeup_efd = -1;
	return ret;
}

/*
 * The table of revoke triggers, shared by the exporter tests
 * (vfio_dmabuf_revoke.c), the importer tests (map_file_dmabuf_e2e.c) and
 * the device fuzzer (fuzz_devices.c).
 */
enum p2p_trigger_id {
	P2P_TRIG_CMD_MEM,
	P2P_TRIG_PM_D3HOT,
	P2P_TRIG_LOW_POWER,
	P2P_TRIG_LOW_POWER_WAKEUP,
	P2P_TRIG_DEVICE_RESET,
	P2P_TRIG_HOT_RESET,
	P2P_TRIG_VIRTUAL_FLR,
	P2P_TRIG_VIRTUAL_AF_FLR,
	P2P_TRIG_SYSFS_RESET,
	P2P_TRIG_NR
};

/**
 * struct p2p_trigger - one way to revoke the dma-bufs of a vfio-pci device
 * @name: as in the names of the tests
 * @needs: what the device must have, and which rig device has it; the
 *	reason of the skip on a device without it
 * @has: whether @dev can do it; NULL: every device can
 * @revoke: revokes; for a reset (no @restore) the call revokes and restores
 * @restore: ends the revoke; NULL for a reset
 * @async_restore: a reset whose restore runs from a work item after
 *	@revoke returned: wait for it
 * @keeps_decoding: the device still decodes its BAR while revoked, so a DMA
 *	that does not land is evidence of the revoke itself (with memory
 *	decode off or in D3hot, the emulated device drops it anyway)
 *
 * Each function returns 0, or -1 or -errno.
 */
struct p2p_trigger {
	const char *name;
	const char *needs;
	bool (*has)(struct p2p_dev *dev, const char *bdf);
	int (*revoke)(struct p2p_dev *dev, const char *bdf);
	int (*restore)(struct p2p_dev *dev, const char *bdf);
	bool async_restore;
	bool keeps_decoding;
};

static inline int p2p_trig_mem_off(struct p2p_dev *dev, const char *bdf)
{
	return p2p_trig_cmd_mem(dev, 0);
}

static inline int p2p_trig_mem_on(struct p2p_dev *dev, const char *bdf)
{
	return p2p_trig_cmd_mem(dev, 1);
}

static inline bool p2p_trig_has_pm(struct p2p_dev *dev, const char *bdf)
{
	return p2p_find_cap(dev, PCI_CAP_ID_PM);
}

static inline int p2p_trig_d3hot(struct p2p_dev *dev, const char *bdf)
{
	return p2p_trig_pm(dev, 0);
}

static inline int p2p_trig_d0(struct p2p_dev *dev, const char *bdf)
{
	return p2p_trig_pm(dev, 1);
}

static inline int p2p_trig_lp_entry(struct p2p_dev *dev, const char *bdf)
{
	return p2p_trig_low_power(dev, 0);
}

static inline int p2p_trig_lp_exit(struct p2p_dev *dev, const char *bdf)
{
	return p2p_trig_low_power(dev, 1);
}

static inline int p2p_trig_lpw_entry(struct p2p_dev *dev, const char *bdf)
{
	return p2p_trig_low_power_wakeup(dev, bdf, 0);
}

static inline int p2p_trig_lpw_exit(struct p2p_dev *dev, const char *bdf)
{
	return p2p_trig_low_power_wakeup(dev, bdf, 1);
}

static inline bool p2p_trig_has_reset(struct p2p_dev *dev, const char *bdf)
{
	return p2p_has_reset(dev);
}

static inline int p2p_trig_device_reset(struct p2p_dev *dev, const char *bdf)
{
	return p2p_device_reset(dev);
}

static inline bool p2p_trig_has_hot_reset(struct p2p_dev *dev,
					  const char *bdf)
{
	return p2p_has_hot_reset(dev);
}

static inline int p2p_trig_hot_reset(struct p2p_dev *dev, const char *bdf)
{
	return p2p_hot_reset(dev);
}

static inline bool p2p_trig_has_flr(struct p2p_dev *dev, const char *bdf)
{
	return p2p_has_flr(dev);
}

static inline bool p2p_trig_has_af(struct p2p_dev *dev, const char *bdf)
{
	return p2p_find_cap(dev, PCI_CAP_ID_AF);
}

static inline int p2p_trig_vflr(struct p2p_dev *dev, const char *bdf)
{
	return p2p_virtual_flr(dev);
}

static inline bool p2p_trig_has_sysfs_reset(struct p2p_dev *dev,
					    const char *bdf)
{
	return !access(p2p_sysfs_reset_path(bdf), W_OK);
}

static inline int p2p_trig_sysfs_reset(struct p2p_dev *dev, const char *bdf)
{
	return p2p_sysfs_reset(bdf);
}

/* Entry @id of the table */
static inline const struct p2p_trigger *p2p_trigger(enum p2p_trigger_id id)
{
	static const struct p2p_trigger table[P2P_TRIG_NR] = {
		[P2P_TRIG_CMD_MEM] = {
			.name = "command_mem",
			.needs = "nothing (every device)",
			.revoke = p2p_trig_mem_off,
			.restore = p2p_trig_mem_on,
		},
		[P2P_TRIG_PM_D3HOT] = {
			.name = "pm_d3hot",
			.needs = "a PM capability (the rig's nvme)",
			.has = p2p_trig_has_pm,
			.revoke = p2p_trig_d3hot,
			.restore = p2p_trig_d0,
		},
		/* No real D3 under emulation: the BAR stays live */
		[P2P_TRIG_LOW_POWER] = {
			.name = "low_power",
			.needs = "nothing (every device)",
			.revoke = p2p_trig_lp_entry,
			.restore = p2p_trig_lp_exit,
			.keeps_decoding = true,
		},
		/* Upstream leaves dma-bufs revoked after this exit; we restore. */
		[P2P_TRIG_LOW_POWER_WAKEUP] = {
			.name = "low_power_wakeup",
			.needs = "nothing (every device)",
			.revoke = p2p_trig_lpw_entry,
			.restore = p2p_trig_lpw_exit,
			.keeps_decoding = true,
		},
		[P2P_TRIG_DEVICE_RESET] = {
			.name = "device_reset",
			.needs = "a reset method (nvme: FLR; ivshmem behind a root port)",
			.has = p2p_trig_has_reset,
			.revoke = p2p_trig_device_reset,
		},
		[P2P_TRIG_HOT_RESET] = {
			.name = "hot_reset",
			.needs = "a slot or bus reset (ivshmem or nvme behind a root port)",
			.has = p2p_trig_has_hot_reset,
			.revoke = p2p_trig_hot_reset,
		},
		[P2P_TRIG_VIRTUAL_FLR] = {
			.name = "virtual_flr",
			.needs = "PCIe FLR (the rig's nvme)",
			.has = p2p_trig_has_flr,
			.revoke = p2p_trig_vflr,
		},
		/* vfio-pci emulates AF FLR too; no emulated device has the capability */
		[P2P_TRIG_VIRTUAL_AF_FLR] = {
			.name = "virtual_af_flr",
			.needs = "an AF capability (no QEMU device has one)",
			.has = p2p_trig_has_af,
			.revoke = p2p_trig_vflr,
		},
		/* Revoked by reset_prepare, restored by a work item after reset_done */
		[P2P_TRIG_SYSFS_RESET] = {
			.name = "sysfs_reset",
			.needs = "a reset method in sysfs (nvme; ivshmem behind a root port)",
			.has = p2p_trig_has_sysfs_reset,
			.revoke = p2p_trig_sysfs_reset,
			.async_restore = true,
		},
	};

	return &table[id];
}

/* NULL if @dev (at @bdf) can do trigger @t, else what it lacks */
static inline const char *p2p_trigger_missing(const struct p2p_trigger *t,
					      struct p2p_dev *dev,
					      const char *bdf)
{
	if (!t->has || t->has(dev, bdf))
		return NULL;
	return t->needs;
}

/* ---- 7. iommufd test ops ------------------------------------------- */

static inline int _test_cmd_access_rw(int fd, unsigned int access_id,
				      uint64_t iova, void *data, size_t length,
				      unsigned int flags)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_ACCESS_RW,
		.id = access_id,
		.access_rw = { .iova = iova,
			       .length = length,
			       .uptr = (uintptr_t)data,
			       .flags = flags },
	};

	return ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

#define test_cmd_access_rw(access_id, iova, data, length, flags)             \
	ASSERT_EQ(0, _test_cmd_access_rw(self->fd, access_id, iova, data,    \
					 length, flags))

static inline int _test_cmd_access_pages(int fd, unsigned int access_id,
					 uint64_t iova, size_t length,
					 void *uptr, unsigned int flags,
					 __u32 *access_pages_id)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_ACCESS_PAGES,
		.id = access_id,
		.access_pages = { .flags = flags,
				  .iova = iova,
				  .length = length,
				  .uptr = (uintptr_t)uptr },
	};
	int ret;

	ret = ioctl(fd, IOMMU_TEST_CMD, &cmd);
	if (!ret)
		*access_pages_id = cmd.access_pages.out_access_pages_id;
	return ret;
}

#define test_cmd_access_pages(access_id, iova, length, uptr, flags, id_p)    \
	ASSERT_EQ(0, _test_cmd_access_pages(self->fd, access_id, iova,       \
					    length, uptr, flags, id_p))

/*
 * Keep automatic IOVAs of @ioas_id inside the mock aperture, so that a mock
 * domain can be attached after a map (an area below the aperture makes the
 * attach fail with EADDRINUSE).  0 or -1.
 */
static inline int p2p_allow_mock_aperture(int fd, uint32_t ioas_id)
{
	struct iommu_iova_range aperture = {
		.start = MOCK_APERTURE_START,
		.last = MOCK_APERTURE_LAST,
	};
	struct iommu_ioas_allow_iovas allow = {
		.size = sizeof(allow),
		.ioas_id = ioas_id,
		.num_iovas = 1,
		.allowed_iovas = (uintptr_t)&aperture,
	};

	return ioctl(fd, IOMMU_IOAS_ALLOW_IOVAS, &allow);
}

/* Outstanding FOLL_PIN references in the whole system */
static inline long pins_outstanding(void)
{
	char line[128];
	long acq = -1, rel = -1;
	FILE *f;

	/* Fold the per-cpu counters so the values are exact */
	if (p2p_write_str("/proc/sys/vm/stat_refresh", "1"))
		return -1;
	f = fopen("/proc/vmstat", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "nr_foll_pin_acquired %ld", &acq) == 1)
			continue;
		if (sscanf(line, "nr_foll_pin_released %ld", &rel) == 1)
			continue;
	}
	fclose(f);
	if (acq < 0 || rel < 0)
		return -1;
	return acq - rel;
}

/**
 * struct p2p_areas - the iommufd importer's dma-buf areas, as numbers
 * @nr: areas of every iommufd ("state" lines of <debugfs>/iommufd/
 *	dmabuf_areas), -1 if the test op failed; so are the other counts
 * @revoked: of them, revoked ("state revoked")
 * @mapped: of them, not revoked ("state mapped")
 * @from_va: of them, mapped by address ("source va")
 * @pending: of them, waiting for the restore work ("pending 1")
 * @nr_deferred: deferred restores in flight (<debugfs>/iommufd/
 *	dmabuf_deferred)
 * @found: there is an area at the IOVA asked for (or a first one); the
 *	fields below are its own, the counters shared by the areas of one map
 * @is_revoked: it is revoked
 * @is_from_va: it was mapped by address
 * @is_pending: its restore waits for the restore work
 * @first: its first IOVA
 * @last: its last IOVA
 * @revokes: revokes of its dma-buf pages
 * @restores: restores
 * @restore_errors: restores that failed
 * @retries: restores retried after one failed
 * @deferred: restores left to the restore work
 */
struct p2p_areas {
	int nr, revoked, mapped, from_va, pending, nr_deferred;
	bool found, is_revoked, is_from_va, is_pending;
	uint64_t first, last;
	long revokes, restores, restore_errors, retries, deferred;
};

/*
 * IOMMU_TEST_OP_DMABUF_AREAS on the iommufd @fd: every dma-buf area, and
 * the one at @iova of its IOAS @ioas_id (0: the first of all). 0 or
 * -errno; on an error every count in *@a is -1.
 */
static inline int _test_cmd_dmabuf_areas(int fd, __u32 ioas_id,
					 uint64_t iova, struct p2p_areas *a)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_DMABUF_AREAS,
		.id = ioas_id,
		.dmabuf_areas = { .iova = iova },
	};
	__u32 flags;

	memset(a, 0, sizeof(*a));
	if (ioctl(fd, IOMMU_TEST_CMD, &cmd)) {
		int ret = -errno;

		a->nr = -1;
		a->revoked = -1;
		a->mapped = -1;
		a->from_va = -1;
		a->pending = -1;
		a->nr_deferred = -1;
		a->revokes = -1;
		a->restores = -1;
		a->restore_errors = -1;
		a->retries = -1;
		a->deferred = -1;
		errno = -ret;
		return ret;
	}
	flags = cmd.dmabuf_areas.out_flags;
	a->nr = cmd.dmabuf_areas.out_nr_areas;
	a->revoked = cmd.dmabuf_areas.out_nr_revoked;
	a->mapped = a->nr - a->revoked;
	a->from_va = cmd.dmabuf_areas.out_nr_from_va;
	a->pending = cmd.dmabuf_areas.out_nr_pending;
	a->nr_deferred = cmd.dmabuf_areas.out_nr_deferred;
	a->found = flags & MOCK_DMABUF_AREA_FOUND;
	a->is_revoked = flags & MOCK_DMABUF_AREA_REVOKED;
	a->is_from_va = flags & MOCK_DMABUF_AREA_FROM_VA;
	a->is_pending = flags & MOCK_DMABUF_AREA_PENDING;
	a->first = cmd.dmabuf_areas.out_first;
	a->last = cmd.dmabuf_areas.out_last;
	a->revokes = cmd.dmabuf_areas.out_revokes;
	a->restores = cmd.dmabuf_areas.out_restores;
	a->restore_errors = cmd.dmabuf_areas.out_restore_errors;
	a->retries = cmd.dmabuf_areas.out_retries;
	a->deferred = cmd.dmabuf_areas.out_deferred;
	return 0;
}

/*
 * The counts of every dma-buf area, asked through the iommufd @fd, and the
 * first area, the one the first line of debugfs shows
 */
static inline struct p2p_areas p2p_areas(int fd)
{
	struct p2p_areas a;

	_test_cmd_dmabuf_areas(fd, 0, 0, &a);
	return a;
}

/* The same, and the area at @iova of IOAS @ioas_id */
static inline struct p2p_areas p2p_area_at(int fd, __u32 ioas_id,
					   uint64_t iova)
{
	struct p2p_areas a;

	_test_cmd_dmabuf_areas(fd, ioas_id, iova, &a);
	return a;
}

/*
 * The same through an iommufd of its own, for when the test has none
 * open (the counts are of every iommufd)
 */
static inline struct p2p_areas p2p_areas_global(void)
{
	struct p2p_areas a;
	int fd = open("/dev/iommu", O_RDWR);

	_test_cmd_dmabuf_areas(fd, 0, 0, &a);
	if (fd >= 0)
		close(fd);
	return a;
}

#endif /* __P2P_UTILS_H */
