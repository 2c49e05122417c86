// SPDX-License-Identifier: GPL-2.0
/*
 * Pin-and-map throughput of memfds: IOMMU_IOAS_MAP_FILE of the memfd and
 * IOMMU_IOAS_MAP of a shared mapping of it, map and unmap timed apart,
 * into an IOAS with a real (emulated VT-d) domain, edu 00:01.0's, attached
 * so that every map pins and programs IOPTEs; and, for reference, the type1
 * driver's VFIO_IOMMU_MAP_DMA of the same mapping, with the other edu
 * (00:03.0) in a legacy container. Backings: 4K shmem, THP shmem, hugetlb
 * 2M and 1G; sizes 64 MiB, 1 GiB and LARGE_MIB.
 *
 * bench_map_file [REPS [LARGE_MIB]]
 *
 * 1G huge pages must be reserved at boot (hugepagesz=1G hugepages=N, N >=
 * LARGE_MIB / 1024); they are given back after their rows, and the 2M pool
 * is sized at run time, so that every backing can use most of the VM.
 * Output: bench_util.h. Figures come from TCG emulation: compare only
 * figures of the same VM definition.
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

#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U
#endif
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define IOVA	0x100000000ULL
#define MAP_RW_FIXED	(MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA)
#define HP_DIR	"/sys/kernel/mm/hugepages/hugepages-"

struct backing {
	const char *name;
	unsigned int memfd_flags;
	int thp;
	unsigned int hp_kb;	/* hugetlb page size, 0 for shmem */
};

/* 1G first: its pool is reserved at boot and given back after its rows */
static const struct backing backings[] = {
	{ "hugetlb 1G", MFD_HUGETLB | MFD_HUGE_1GB, 0, 1048576 },
	{ "hugetlb 2M", MFD_HUGETLB | MFD_HUGE_2MB, 0, 2048 },
	{ "THP shmem", 0, 1, 0 },
	{ "4K shmem", 0, 0, 0 },
};

static int reps;
static int iommufd = -1, container = -1;
static uint32_t ioas;

static void set_thp(const char *mode)
{
	p2p_write_str("/sys/kernel/mm/transparent_hugepage/shmem_enabled", mode);
}

static void set_pool(unsigned int kb, unsigned long nr)
{
	char path[128], val[32];

	snprintf(path, sizeof(path), HP_DIR "%ukB/nr_hugepages", kb);
	snprintf(val, sizeof(val), "%lu", nr);
	p2p_write_str(path, val);
}

/* ", N of M pages free" of the @kb huge page pool */
static const char *pool_state(unsigned int kb)
{
	static char buf[64];
	unsigned long nr = 0, nfree = 0;
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), HP_DIR "%ukB/nr_hugepages", kb);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%lu", &nr) != 1)
			nr = 0;
		fclose(f);
	}
	snprintf(path, sizeof(path), HP_DIR "%ukB/free_hugepages", kb);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%lu", &nfree) != 1)
			nfree = 0;
		fclose(f);
	}
	snprintf(buf, sizeof(buf), ", %lu of %lu pages free", nfree, nr);
	return buf;
}

/*
 * Allocate the file's memory. A huge page freed by the previous size can
 * take a moment to return to the pool (its vmemmap is restored from a
 * workqueue), so retry ENOSPC for a while. 0 or -errno.
 */
static int populate(int memfd, size_t size)
{
	int i;

	for (i = 0; i < 50; i++) {
		if (!fallocate(memfd, 0, 0, size))
			return 0;
		if (errno != ENOSPC)
			return -errno;
		p2p_sleep_ms(100);
	}
	return -ENOSPC;
}

static int unmap_all(void)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .iova = 0, .length = UINT64_MAX,
	};

	return ioctl(iommufd, IOMMU_IOAS_UNMAP, &cmd) ? -errno : 0;
}

enum how { BY_FILE, BY_VA, BY_TYPE1 };

static const char *const how_name[] = {
	[BY_FILE] = "MAP_FILE", [BY_VA] = "IOAS_MAP", [BY_TYPE1] = "type1 MAP_DMA",
};

/* One map and unmap; their seconds in @tm and @tu. 0 or -errno. */
static int map_once(enum how how, int memfd, void *va, size_t size,
		    double *tm, double *tu)
{
	struct iommu_ioas_map m = {
		.size = sizeof(m), .flags = MAP_RW_FIXED, .ioas_id = ioas,
		.user_va = (uintptr_t)va, .length = size, .iova = IOVA,
	};
	uint64_t iova = IOVA;
	double t0, t1;
	int rc;

	t0 = bench_now();
	switch (how) {
	case BY_FILE:
		rc = _test_ioctl_ioas_map_file(iommufd, ioas, memfd, 0, size,
					       &iova, MAP_RW_FIXED);
		break;
	case BY_VA:
		rc = ioctl(iommufd, IOMMU_IOAS_MAP, &m);
		break;
	default:
		rc = dma_map(container, va, IOVA, size);
		break;
	}
	t1 = bench_now();
	if (rc)
		return -errno;
	rc = how == BY_TYPE1 ? dma_unmap(container, IOVA, size) : unmap_all();
	if (rc)
		return how == BY_TYPE1 ? -errno : rc;
	*tm = t1 - t0;
	*tu = bench_now() - t1;
	return 0;
}

static void row_name(char *buf, size_t len, const struct backing *bk,
		     size_t mib, enum how how, const char *op)
{
	snprintf(buf, len, "memfd %s %zu MiB: %s %s", bk->name, mib,
		 how_name[how], op);
}

static void bench_how(const struct backing *bk, size_t mib, enum how how,
		      int memfd, void *va, const char *absent)
{
	double map[BENCH_MAX_REPS], unmap[BENCH_MAX_REPS], tm = 0, tu = 0;
	size_t size = mib << 20;
	char rm[128], ru[128];
	int i, rc = 0;

	row_name(rm, sizeof(rm), bk, mib, how, "map");
	row_name(ru, sizeof(ru), bk, mib, how, "unmap");
	if (absent) {
		bench_na(rm, "GiB/s", absent);
		bench_na(ru, "GiB/s", absent);
		return;
	}
	for (i = 0; i < reps; i++) {
		rc = map_once(how, memfd, va, size, &tm, &tu);
		if (rc)
			break;
		map[i] = bench_gibps(size, tm);
		unmap[i] = bench_gibps(size, tu);
	}
	if (rc) {
		bench_na_err(rm, "GiB/s", -rc, NULL);
		bench_na_err(ru, "GiB/s", -rc, NULL);
		return;
	}
	bench_row(rm, "GiB/s", map, reps);
	bench_row(ru, "GiB/s", unmap, reps);
}

static void bench_size(const struct backing *bk, size_t mib,
		       const char *type1_absent)
{
	size_t size = mib << 20, vlen;
	char why[160];
	void *va = MAP_FAILED;
	int memfd, rc = 0;
	enum how h;

	memfd = memfd_create("bench", bk->memfd_flags);
	if (memfd < 0)
		rc = -errno;
	else
		rc = populate(memfd, size);
	/* a hugetlb mapping is unmapped in whole pages only */
	vlen = bk->hp_kb ? (size + bk->hp_kb * 1024UL - 1) / (bk->hp_kb * 1024UL) *
			   (bk->hp_kb * 1024UL) : size;
	if (!rc) {
		va = mmap(NULL, vlen, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_POPULATE, memfd, 0);
		if (va == MAP_FAILED)
			rc = -errno;
	}
	if (rc) {
		snprintf(why, sizeof(why), "%s: %s, allocating %zu MiB%s",
			 bench_errname(-rc), strerror(-rc), mib,
			 bk->hp_kb ? pool_state(bk->hp_kb) : "");
		for (h = BY_FILE; h <= BY_TYPE1; h++)
			bench_how(bk, mib, h, -1, NULL, why);
	} else {
		bench_how(bk, mib, BY_FILE, memfd, NULL, NULL);
		bench_how(bk, mib, BY_VA, memfd, va, NULL);
		bench_how(bk, mib, BY_TYPE1, memfd, va, type1_absent);
	}
	if (va != MAP_FAILED && munmap(va, vlen))
		perror("# munmap");
	if (memfd >= 0)
		close(memfd);
}

/*
 * A legacy container with the second edu, for the type1 rows; NULL or why
 * there are none.
 */
static const char *open_type1(void)
{
	static char why[160];
	int group = -1;

	container = open("/dev/vfio/vfio", O_RDWR);
	if (container < 0 || access("/sys/module/vfio_iommu_type1", F_OK)) {
		snprintf(why, sizeof(why), "no type1 driver in this kernel");
		return why;
	}
	if (container_add_group(container, P2P_EDU1, &group) ||
	    ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)) {
		snprintf(why, sizeof(why), "%s: %s, container with edu %s",
			 bench_errname(errno), strerror(errno), P2P_EDU1);
		return why;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	size_t large = argc > 2 ? strtoul(argv[2], NULL, 0) : 4096;
	size_t sizes_mib[] = { 64, 1024, large };
	const char *type1_absent;
	struct p2p_dev edu;
	unsigned int b, s;

	reps = bench_reps(argc, argv);
	iommufd = open("/dev/iommu", O_RDWR);
	if (iommufd < 0 || ioctl(iommufd, IOMMU_IOAS_ALLOC, &alloc)) {
		perror("iommufd");
		return 1;
	}
	ioas = alloc.out_ioas_id;
	if (p2p_open_iommufd_dev(&edu, P2P_EDU0, iommufd, ioas)) {
		perror("attach edu to the IOAS (needs the VT-d VM)");
		return 1;
	}
	type1_absent = open_type1();
	printf("# memfd pin+map into an IOAS with an emulated VT-d domain, %d reps, type1 %s\n",
	       reps, type1_absent ? type1_absent : "in a container with the other edu");
	for (b = 0; b < ARRAY_SIZE(backings); b++) {
		const struct backing *bk = &backings[b];

		set_thp(bk->thp ? "always" : "never");
		/* the 2M pool: the largest size and a little slack */
		if (bk->hp_kb == 2048)
			set_pool(2048, large / 2 + 16);
		for (s = 0; s < ARRAY_SIZE(sizes_mib); s++)
			bench_size(bk, sizes_mib[s], type1_absent);
		if (bk->hp_kb)
			set_pool(bk->hp_kb, 0);
	}
	set_thp("never");
	p2p_dev_close(&edu);
	if (container >= 0)
		close(container);
	close(iommufd);
	return 0;
}
