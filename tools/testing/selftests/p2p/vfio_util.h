/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the P2P selftests: open vfio-pci devices (type1 group/container
 * or iommufd cdev), reach their config space and BARs, and drive QEMU's edu
 * DMA engine (docs/specs/edu.txt).
 */
#ifndef __P2P_VFIO_UTIL_H
#define __P2P_VFIO_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/iommufd.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>

/* Guest PCI addresses of the rig's devices (scripts/vm.sh). */
#define P2P_EDU0	"0000:00:01.0"
#define P2P_IVSHMEM0	"0000:00:02.0"
#define P2P_EDU1	"0000:00:03.0"
#define P2P_IVSHMEM1	"0000:00:04.0"
/* Each alone behind its own PCIe root port */
#define P2P_IVSHMEM_RP	"0000:01:00.0"
#define P2P_NVME	"0000:02:00.0"
#define P2P_E1000E	"0000:03:00.0"

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

struct p2p_dev {
	int fd;			/* vfio device fd */
	struct vfio_region_info cfg;
	void *bar[VFIO_PCI_NUM_REGIONS];
	size_t bar_size[VFIO_PCI_NUM_REGIONS];
};

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

/*
 * IOMMU_IOAS_MAP_FILE of @length bytes of @fd from @start at the fixed
 * @iova; 0 or -errno.
 */
static inline int p2p_map_file(int iommufd, uint32_t ioas, int fd,
			       uint64_t start, uint64_t length, uint64_t iova,
			       uint32_t flags)
{
	struct iommu_ioas_map_file cmd = {
		.size = sizeof(cmd),
		.flags = flags | IOMMU_IOAS_MAP_FIXED_IOVA,
		.ioas_id = ioas,
		.fd = fd,
		.start = start,
		.length = length,
		.iova = iova,
	};

	return ioctl(iommufd, IOMMU_IOAS_MAP_FILE, &cmd) ? -errno : 0;
}

/*
 * IOMMU_IOAS_MAP_FILE of @length bytes of @fd from @start at an IOVA the
 * kernel chooses, returned in *@iova; 0 or -errno.
 */
static inline int p2p_map_file_auto(int iommufd, uint32_t ioas, int fd,
				    uint64_t start, uint64_t length,
				    uint32_t flags, uint64_t *iova)
{
	struct iommu_ioas_map_file cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.ioas_id = ioas,
		.fd = fd,
		.start = start,
		.length = length,
	};

	if (ioctl(iommufd, IOMMU_IOAS_MAP_FILE, &cmd))
		return -errno;
	*iova = cmd.iova;
	return 0;
}

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

#endif /* __P2P_VFIO_UTIL_H */
