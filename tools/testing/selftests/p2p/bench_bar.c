// SPDX-License-Identifier: GPL-2.0
/*
 * Mapping BARs for P2P, and resetting a device whose BAR is mapped.
 *
 * The large BAR (ivshmem 00:04.0, BAR2, 8 GiB by default) in an IOAS with
 * edu 00:01.0's emulated VT-d domain attached, each map and its unmap
 * timed apart:
 *  - IOMMU_IOAS_MAP_FILE of a dma-buf of the whole BAR at a kernel-chosen,
 *    a 1G-aligned and a 4K-misaligned IOVA;
 *  - a slice of it from BAR+4K to the end at a kernel-chosen IOVA and at a
 *    fixed IOVA congruent to the BAR address (so large IOPTEs fit);
 *  - IOMMU_IOAS_MAP of the BAR's mmap address (the by-address path of
 *    VMMs before QEMU 11; upstream says EFAULT);
 *  - the type1 driver's VFIO_IOMMU_MAP_DMA of the same address, with the
 *    BAR and edu in a legacy container.
 *
 * VFIO_DEVICE_RESET of the ivshmem behind a root port (01:00.0, the one
 * with a reset method; its size is the VM's P2P_RP_BAR) with nothing
 * mapped, a 2 MiB area, and its whole BAR in 4K and in large IOPTEs
 * mapped; and the time from the reset until the area is usable again:
 * the area's line in <debugfs>/iommufd/dmabuf_areas says "state mapped"
 * with one more restore than before. A kernel without that file does not
 * restore an area after a reset (upstream keeps it revoked until it is
 * unmapped and mapped again): that row says so.
 *
 * bench_bar [REPS]; output: bench_util.h. Figures come from TCG emulation.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/iommufd.h>
#include "compat.h"
#include "p2p_utils.h"
#include "bench_util.h"

#define BAR	VFIO_PCI_BAR2_REGION_INDEX
/* 1G aligned, so that a BAR can take 1G IOPTEs wherever it allows */
#define IOVA	0x4000000000ULL
#define IOVA_RP	0x6000000000ULL
#define SZ_4K	0x1000ULL
#define SZ_2M	0x200000ULL
#define AREAS	"/sys/kernel/debug/iommufd/dmabuf_areas"
#define RESTORE_TIMEOUT	10.0

static int reps;
static int iommufd = -1;
static uint32_t ioas;

/* MAP_FILE of @dfd from @start for @len at @iova, or anywhere if ~0 */
static int map_file(int dfd, uint64_t start, uint64_t len, uint64_t *iova)
{
	return _test_ioctl_ioas_map_file(iommufd, ioas, dfd, start, len,
					 iova,
					 *iova == ~0ULL ? MAP_RW :
					 MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA);
}

/* Map and unmap @reps times; @dfd < 0 maps @va by address at @iova */
static void bench_map(const char *what, int dfd, void *va, uint64_t start,
		      uint64_t len, uint64_t iova)
{
	double map[BENCH_MAX_REPS], unmap[BENCH_MAX_REPS], t0, t1;
	char rm[128], ru[128];
	uint64_t at;
	int i, rc = 0;

	snprintf(rm, sizeof(rm), "BAR %s: map", what);
	snprintf(ru, sizeof(ru), "BAR %s: unmap", what);
	for (i = 0; i < reps; i++) {
		at = iova;
		t0 = bench_now();
		rc = dfd >= 0 ? map_file(dfd, start, len, &at) :
				 p2p_map_va(iommufd, ioas, va, len, at, MAP_RW);
		t1 = bench_now();
		if (rc)
			break;
		rc = p2p_unmap(iommufd, ioas, at, len);
		if (rc)
			break;
		map[i] = (t1 - t0) * 1e3;
		unmap[i] = (bench_now() - t1) * 1e3;
	}
	if (rc) {
		bench_na_err(rm, "ms", -rc, dfd < 0 && rc == -EFAULT ?
			     "no map of a BAR by address" : NULL);
		bench_na_err(ru, "ms", -rc, "no map");
		return;
	}
	bench_row(rm, "ms", map, reps);
	bench_row(ru, "ms", unmap, reps);
}

/*
 * What a VMM that maps a BAR by dma-buf pays for it: the export, the map,
 * and, after the unmap, the close; the by-address map does all of it.
 */
static void bench_export_map(struct p2p_dev *dev, uint64_t len, uint64_t iova)
{
	double map[BENCH_MAX_REPS], t0, t1;
	const char *what = "BAR whole by dma-buf export and MAP_FILE at an aligned IOVA: map";
	int i, dfd, rc = 0;
	uint64_t at;

	for (i = 0; i < reps; i++) {
		at = iova;
		t0 = bench_now();
		dfd = dmabuf_export1(dev->fd, BAR, 0, len);
		if (dfd < 0) {
			rc = dfd;
			break;
		}
		rc = map_file(dfd, 0, len, &at);
		t1 = bench_now();
		if (!rc)
			rc = p2p_unmap(iommufd, ioas, at, len);
		close(dfd);
		if (rc)
			break;
		map[i] = (t1 - t0) * 1e3;
	}
	if (rc) {
		bench_na_err(what, "ms", -rc, NULL);
		return;
	}
	bench_row(what, "ms", map, reps);
}

/*
 * The area at @iova in dmabuf_areas: its restore count in @restores and
 * whether it is mapped. 0, or -ENOENT with no such line.
 */
static int area_state(uint64_t iova, unsigned long *restores, int *mapped)
{
	char line[512], key[64], state[16];
	const char *p;
	int rc = -ENOENT;
	FILE *f;

	f = fopen(AREAS, "r");
	if (!f)
		return -errno;
	snprintf(key, sizeof(key), "ioas %u iova %#llx-", ioas,
		 (unsigned long long)iova);
	while (fgets(line, sizeof(line), f)) {
		if (!strstr(line, key))
			continue;
		p = strstr(line, " state ");
		if (!p || sscanf(p, " state %15s", state) != 1)
			continue;
		p = strstr(line, " restores ");
		if (!p || sscanf(p, " restores %lu", restores) != 1)
			continue;
		*mapped = !strcmp(state, "mapped");
		rc = 0;
		break;
	}
	fclose(f);
	return rc;
}

enum reset_case { R_NONE, R_2M, R_4K, R_HUGE };

static const char *const reset_name[] = {
	[R_NONE] = "nothing mapped",
	[R_2M] = "2 MiB area mapped",
	[R_4K] = "whole BAR mapped in 4K IOPTEs",
	[R_HUGE] = "whole BAR mapped in large IOPTEs",
};

static void bench_reset(struct p2p_dev *rp, int dfd, enum reset_case rc_case)
{
	double reset[BENCH_MAX_REPS], usable[BENCH_MAX_REPS], t0, t1, t;
	uint64_t size = rp->bar_size[BAR], len = 0, iova = IOVA_RP;
	unsigned long before, after;
	char rr[128], ru[128];
	int i, rc = 0, mapped, poll = 1;
	const char *why = NULL;

	snprintf(rr, sizeof(rr), "VFIO_DEVICE_RESET with %s", reset_name[rc_case]);
	snprintf(ru, sizeof(ru), "usable after the reset with %s", reset_name[rc_case]);
	if (rc_case == R_2M)
		len = SZ_2M;
	else if (rc_case != R_NONE)
		len = size;
	/* IOVA = BAR address + 4K (mod 2M): nothing larger than 4K fits */
	if (rc_case == R_4K)
		iova += SZ_4K;
	if (len) {
		rc = map_file(dfd, 0, len, &iova);
		if (rc) {
			bench_na_err(rr, "ms", -rc, "MAP_FILE of the BAR");
			bench_na_err(ru, "ms", -rc, "MAP_FILE of the BAR");
			return;
		}
		rc = area_state(iova, &before, &mapped);
		if (rc == -ENOENT && access(AREAS, F_OK)) {
			why = "not restored after a reset by this kernel";
			poll = 0;
		} else if (rc) {
			why = "the area is not in " AREAS;
			poll = 0;
		}
		rc = 0;
	}
	for (i = 0; i < reps; i++) {
		if (len && poll && area_state(iova, &before, &mapped)) {
			why = "the area left " AREAS;
			poll = 0;
		}
		t0 = bench_now();
		rc = p2p_device_reset(rp);
		t1 = bench_now();
		if (rc)
			break;
		reset[i] = (t1 - t0) * 1e3;
		if (!len || !poll)
			continue;
		/* the first read of the area after the reset counts */
		do {
			rc = area_state(iova, &after, &mapped);
			t = bench_now();
		} while ((rc || !mapped || after <= before) &&
			 t - t0 < RESTORE_TIMEOUT);
		rc = 0;
		if (t - t0 >= RESTORE_TIMEOUT) {
			why = "not restored within 10 s of the reset";
			poll = 0;
			continue;
		}
		usable[i] = (t - t0) * 1e3;
	}
	if (len)
		p2p_unmap(iommufd, ioas, iova, len);
	if (rc) {
		bench_na_err(rr, "ms", -rc, NULL);
		if (len)
			bench_na_err(ru, "ms", -rc, "no reset");
		return;
	}
	bench_row(rr, "ms", reset, reps);
	if (!len)
		return;
	if (poll)
		bench_row(ru, "ms", usable, reps);
	else
		bench_na(ru, "ms", why);
}

static void bench_type1(uint64_t size)
{
	double map[BENCH_MAX_REPS], unmap[BENCH_MAX_REPS], t0, t1;
	struct p2p_dev edu = { .fd = -1 }, bar = { .fd = -1 };
	static const char rm[] = "BAR whole by type1 MAP_DMA of the BAR address: map";
	static const char ru[] = "BAR whole by type1 MAP_DMA of the BAR address: unmap";
	int container, group[2] = { -1, -1 }, fd, i, err = 0;

	container = open("/dev/vfio/vfio", O_RDWR);
	if (container < 0 || access("/sys/module/vfio_iommu_type1", F_OK)) {
		bench_na(rm, "ms", "no type1 driver in this kernel");
		bench_na(ru, "ms", "no type1 driver in this kernel");
		if (container >= 0)
			close(container);
		return;
	}
	if (container_add_group(container, P2P_EDU0, &group[0]) ||
	    container_add_group(container, P2P_IVSHMEM1, &group[1]) ||
	    ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)) {
		err = errno;
		goto out;
	}
	fd = ioctl(group[0], VFIO_GROUP_GET_DEVICE_FD, P2P_EDU0);
	if (fd < 0 || p2p_dev_setup(&edu, fd)) {
		err = errno;
		goto out;
	}
	fd = ioctl(group[1], VFIO_GROUP_GET_DEVICE_FD, P2P_IVSHMEM1);
	if (fd < 0 || p2p_dev_setup(&bar, fd) || !p2p_map_bar(&bar, BAR)) {
		err = errno;
		goto out;
	}
	for (i = 0; i < reps && !err; i++) {
		t0 = bench_now();
		if (dma_map(container, bar.bar[BAR], IOVA, size)) {
			err = errno;
			break;
		}
		t1 = bench_now();
		if (dma_unmap(container, IOVA, size))
			err = errno;
		map[i] = (t1 - t0) * 1e3;
		unmap[i] = (bench_now() - t1) * 1e3;
	}
out:
	if (err) {
		bench_na_err(rm, "ms", err, NULL);
		bench_na_err(ru, "ms", err, NULL);
	} else {
		bench_row(rm, "ms", map, reps);
		bench_row(ru, "ms", unmap, reps);
	}
	p2p_dev_close(&bar);
	p2p_dev_close(&edu);
	for (i = 0; i < 2; i++)
		if (group[i] >= 0)
			close(group[i]);
	close(container);
}

static int open_bar(struct p2p_dev *dev, const char *bdf)
{
	if (p2p_open_iommufd_dev(dev, bdf, iommufd, ioas) ||
	    !p2p_map_bar(dev, BAR) ||
	    p2p_cmd_bits(dev, PCI_COMMAND_MEMORY, 0)) {
		fprintf(stderr, "# open %s: %s\n", bdf, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct p2p_dev edu, bar, rp = { .fd = -1 };
	uint64_t size;
	int dfd, rdfd, r;

	reps = bench_reps(argc, argv);
	iommufd = open("/dev/iommu", O_RDWR);
	if (iommufd < 0 || ioctl(iommufd, IOMMU_IOAS_ALLOC, &alloc)) {
		perror("iommufd");
		return 1;
	}
	ioas = alloc.out_ioas_id;
	if (p2p_open_iommufd_dev(&edu, P2P_EDU0, iommufd, ioas) ||
	    open_bar(&bar, P2P_IVSHMEM1)) {
		perror("open edu and the large ivshmem (needs the VT-d VM)");
		return 1;
	}
	size = bar.bar_size[BAR];
	printf("# BAR2 of %s: %llu MiB; edu's VT-d domain attached; %d reps\n",
	       P2P_IVSHMEM1, (unsigned long long)(size >> 20), reps);
	dfd = dmabuf_export1(bar.fd, BAR, 0, size);
	if (dfd < 0) {
		bench_na_err("BAR whole by MAP_FILE of a dma-buf at a kernel-chosen IOVA: map",
			     "ms", -dfd, "VFIO_DEVICE_FEATURE_DMA_BUF");
	} else {
		bench_map("whole by MAP_FILE of a dma-buf at a kernel-chosen IOVA", dfd,
			  NULL, 0, size, ~0ULL);
		bench_map("whole by MAP_FILE of a dma-buf at an aligned IOVA", dfd, NULL,
			  0, size, IOVA);
		bench_map("whole by MAP_FILE of a dma-buf at a 4K-misaligned IOVA", dfd,
			  NULL, 0, size, IOVA + SZ_4K);
		bench_map("slice from +4K by MAP_FILE at a kernel-chosen IOVA", dfd,
			  NULL, SZ_4K, size - SZ_4K, ~0ULL);
		bench_map("slice from +4K by MAP_FILE at a congruent IOVA", dfd, NULL,
			  SZ_4K, size - SZ_4K, IOVA + SZ_4K);
		close(dfd);
	}
	bench_export_map(&bar, size, IOVA);
	bench_map("whole by IOAS_MAP of the BAR address at an aligned IOVA", -1,
		  bar.bar[BAR], 0, size, IOVA);

	if (!p2p_dev_present(P2P_IVSHMEM_RP) || open_bar(&rp, P2P_IVSHMEM_RP)) {
		for (r = R_NONE; r <= R_HUGE; r++) {
			char row[128];

			snprintf(row, sizeof(row), "VFIO_DEVICE_RESET with %s",
				 reset_name[r]);
			bench_na(row, "ms", "no ivshmem behind a root port");
		}
	} else if (!p2p_has_reset(&rp)) {
		bench_na("VFIO_DEVICE_RESET with nothing mapped", "ms",
			 "the device has no reset method");
	} else {
		printf("# reset: BAR2 of %s: %llu MiB\n", P2P_IVSHMEM_RP,
		       (unsigned long long)(rp.bar_size[BAR] >> 20));
		rdfd = dmabuf_export1(rp.fd, BAR, 0, rp.bar_size[BAR]);
		for (r = R_NONE; r <= R_HUGE; r++)
			bench_reset(&rp, rdfd, r);
		if (rdfd >= 0)
			close(rdfd);
	}
	p2p_dev_close(&rp);
	p2p_dev_close(&bar);
	p2p_dev_close(&edu);
	close(iommufd);
	bench_type1(size);
	return 0;
}
