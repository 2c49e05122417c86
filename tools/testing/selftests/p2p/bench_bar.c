// SPDX-License-Identifier: GPL-2.0
/*
 * Mapping a whole BAR for P2P, three ways, in one run: IOMMU_IOAS_MAP_FILE
 * of a dma-buf of the BAR, IOMMU_IOAS_MAP of the BAR's mmap address (the
 * by-address path of VMMs before QEMU 11, p2p/bar_va.c), and the type1
 * driver's VFIO_IOMMU_MAP_DMA of the same address. The BAR is ivshmem's
 * large one (00:04.0, 8 GiB by default); edu (00:01.0) is attached so that
 * every map programs a real (emulated VT-d) domain. Map and unmap are
 * timed separately, best of N. Prints a table and "P2P-BENCH-CSV," lines.
 *
 * Figures come from TCG emulation: compare only ratios from the same run.
 * The type1 driver needs a kernel with VFIO_CONTAINER/VFIO_IOMMU_TYPE1 (not
 * FLAVOR=compat); without it that row says so.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/iommufd.h>
#include "compat.h"
#include "dmabuf_util.h"

#define BAR	VFIO_PCI_BAR2_REGION_INDEX
/* 1G aligned, so that the BAR can take 1G IOPTEs wherever it allows */
#define IOVA	0x4000000000ULL
#define MAP_RW	(IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE | \
		 IOMMU_IOAS_MAP_FIXED_IOVA)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct times {
	double map, unmap;
};

static void keep_best(struct times *best, double map, double unmap)
{
	if (best->map < 0 || map < best->map)
		best->map = map;
	if (best->unmap < 0 || unmap < best->unmap)
		best->unmap = unmap;
}

/* iommufd rows: @dfd >= 0 maps the dma-buf, otherwise @va */
static int time_iommufd(int iommufd, uint32_t ioas, int dfd, void *va,
			uint64_t size, int reps, struct times *best)
{
	struct iommu_ioas_map_file mf = {
		.size = sizeof(mf), .flags = MAP_RW, .ioas_id = ioas, .fd = dfd,
		.length = size, .iova = IOVA,
	};
	struct iommu_ioas_map m = {
		.size = sizeof(m), .flags = MAP_RW, .ioas_id = ioas,
		.user_va = (uintptr_t)va, .length = size, .iova = IOVA,
	};
	double t0, t1;
	int i, rc;

	for (i = 0; i < reps; i++) {
		t0 = now();
		rc = dfd >= 0 ? ioctl(iommufd, IOMMU_IOAS_MAP_FILE, &mf) :
				ioctl(iommufd, IOMMU_IOAS_MAP, &m);
		t1 = now();
		if (rc)
			return -errno;
		if (p2p_unmap(iommufd, ioas, IOVA, size))
			return -errno;
		keep_best(best, t1 - t0, now() - t1);
	}
	return 0;
}

static int time_type1(uint64_t size, int reps, struct times *best)
{
	struct p2p_dev edu = { .fd = -1 }, bar = { .fd = -1 };
	int container, group[2] = { -1, -1 }, fd, i, rc = 0;
	double t0, t1;

	if (access("/sys/module/vfio_iommu_type1", F_OK))
		return -ENODEV;
	container = open("/dev/vfio/vfio", O_RDWR);
	if (container < 0)
		return -errno;
	if (container_add_group(container, P2P_EDU0, &group[0]) ||
	    container_add_group(container, P2P_IVSHMEM1, &group[1]) ||
	    ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)) {
		rc = -errno;
		goto out;
	}
	fd = ioctl(group[0], VFIO_GROUP_GET_DEVICE_FD, P2P_EDU0);
	if (fd < 0 || p2p_dev_setup(&edu, fd)) {
		rc = -errno;
		goto out;
	}
	fd = ioctl(group[1], VFIO_GROUP_GET_DEVICE_FD, P2P_IVSHMEM1);
	if (fd < 0 || p2p_dev_setup(&bar, fd) || !p2p_map_bar(&bar, BAR)) {
		rc = -errno;
		goto out;
	}
	for (i = 0; i < reps; i++) {
		t0 = now();
		if (dma_map(container, bar.bar[BAR], IOVA, size)) {
			rc = -errno;
			break;
		}
		t1 = now();
		if (dma_unmap(container, IOVA, size)) {
			rc = -errno;
			break;
		}
		keep_best(best, t1 - t0, now() - t1);
	}
out:
	p2p_dev_close(&bar);
	p2p_dev_close(&edu);
	for (i = 0; i < 2; i++)
		if (group[i] >= 0)
			close(group[i]);
	close(container);
	return rc;
}

static void row(const char *name, int rc, const struct times *t,
		const struct times *ref, uint64_t size)
{
	if (rc) {
		printf("%-26s  %s\n", name, rc == -ENODEV ?
		       "not in this kernel (no type1 driver)" : strerror(-rc));
		printf("P2P-BENCH-CSV,%s,%llu,,,,%s\n", name,
		       (unsigned long long)(size >> 20),
		       rc == -ENODEV ? "absent" : "failed");
		return;
	}
	printf("%-26s %12.3f %12.3f %10.2fx\n", name, t->map * 1e3,
	       t->unmap * 1e3, t->map / ref->map);
	printf("P2P-BENCH-CSV,%s,%llu,%.4f,%.4f,%.3f,ok\n", name,
	       (unsigned long long)(size >> 20), t->map * 1e3, t->unmap * 1e3,
	       t->map / ref->map);
}

int main(int argc, char **argv)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct times file = { -1, -1 }, va = { -1, -1 }, t1 = { -1, -1 };
	int reps = argc > 1 ? atoi(argv[1]) : 3;
	struct p2p_dev edu, bar;
	int iommufd, dfd, rc_file, rc_va, rc_t1;
	uint64_t size;

	iommufd = open("/dev/iommu", O_RDWR);
	if (iommufd < 0 || ioctl(iommufd, IOMMU_IOAS_ALLOC, &alloc)) {
		perror("iommufd");
		return 1;
	}
	if (p2p_open_iommufd_dev(&edu, P2P_EDU0, iommufd, alloc.out_ioas_id) ||
	    p2p_open_iommufd_dev(&bar, P2P_IVSHMEM1, iommufd,
				 alloc.out_ioas_id) ||
	    !p2p_map_bar(&bar, BAR) ||
	    p2p_cmd_bits(&bar, PCI_COMMAND_MEMORY, 0)) {
		perror("open edu and the large ivshmem (needs the VT-d VM)");
		return 1;
	}
	size = bar.bar_size[BAR];
	dfd = dmabuf_export1(bar.fd, BAR, 0, size);
	if (dfd < 0) {
		fprintf(stderr, "export: %s\n", strerror(-dfd));
		return 1;
	}
	rc_file = time_iommufd(iommufd, alloc.out_ioas_id, dfd, NULL, size,
			       reps, &file);
	rc_va = time_iommufd(iommufd, alloc.out_ioas_id, -1, bar.bar[BAR], size,
			     reps, &va);
	close(dfd);
	p2p_dev_close(&bar);
	p2p_dev_close(&edu);
	close(iommufd);
	rc_t1 = time_type1(size, reps, &t1);

	printf("# whole BAR of %llu MiB at a 1G aligned IOVA, edu's VT-d domain attached,",
	       (unsigned long long)(size >> 20));
	printf(" best of %d\n", reps);
	printf("# figures come from TCG emulation: compare ratios from the same run only\n");
	printf("%-26s %12s %12s %11s\n", "path", "map ms", "unmap ms",
	       "vs MAP_FILE");
	printf("P2P-BENCH-CSV,path,mib,map_ms,unmap_ms,vs_map_file,status\n");
	if (rc_file) {
		printf("MAP_FILE of the dma-buf failed: %s\n", strerror(-rc_file));
		return 1;
	}
	row("MAP_FILE (dma-buf)", 0, &file, &file, size);
	row("IOAS_MAP of the BAR VA", rc_va, &va, &file, size);
	row("type1 MAP_DMA of the VA", rc_t1, &t1, &file, size);
	if (!rc_va && !rc_t1)
		printf("# by VA: %.2fx MAP_FILE; type1 takes %.0fx as long as by VA\n",
		       va.map / file.map, t1.map / va.map);
	return rc_va ? 1 : 0;
}
