// SPDX-License-Identifier: GPL-2.0
/*
 * Pin-and-map throughput: IOMMU_IOAS_MAP_FILE of a memfd against
 * IOMMU_IOAS_MAP of a shared mapping of the same memfd, into an IOAS that has
 * a real (emulated VT-d) domain, edu's, attached so that every map pins and
 * programs IOPTEs. Prints a table and CSV lines prefixed "P2P-BENCH-CSV,".
 *
 * Figures come from TCG emulation: compare only ratios from the same run.
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
#include "vfio_util.h"

#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U
#endif
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define IOVA	0x100000000ULL
#define MAP_RW	(IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE | \
		 IOMMU_IOAS_MAP_FIXED_IOVA)
#define SEED_BYTES 1.6e12	/* the seed talk: 1.6 TB pinned ... */
#define SEED_SECS 390.0		/* ... in about 390 s */

struct backing {
	const char *name;
	unsigned int memfd_flags;
	int thp;
};

static const struct backing backings[] = {
	{ "4K shmem", 0, 0 },
	{ "THP shmem", 0, 1 },
	{ "hugetlb 2M", MFD_HUGETLB | (21U << 26), 0 },
	{ "hugetlb 1G", MFD_HUGETLB | (30U << 26), 0 },
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void set_thp(const char *mode)
{
	int fd = open("/sys/kernel/mm/transparent_hugepage/shmem_enabled", O_WRONLY);

	if (fd >= 0) {
		if (write(fd, mode, strlen(mode)) < 0)
			perror("shmem_enabled");
		close(fd);
	}
}

/*
 * Allocate the file's memory. A huge page freed by the previous round can
 * take a moment to return to the pool (its vmemmap is restored from a
 * workqueue), so retry ENOSPC for a while.
 */
static int populate(int memfd, size_t size)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	int i;

	for (i = 0; i < 50; i++) {
		if (!fallocate(memfd, 0, 0, size))
			return 0;
		if (errno != ENOSPC)
			return -1;
		nanosleep(&ts, NULL);
	}
	return -1;
}

static int unmap_all(int iommufd, uint32_t ioas)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .iova = 0, .length = UINT64_MAX,
	};

	return ioctl(iommufd, IOMMU_IOAS_UNMAP, &cmd);
}

/* Seconds for one map of @size bytes, by MAP_FILE (@va == NULL) or by MAP. */
static double time_map(int iommufd, uint32_t ioas, int memfd, void *va, size_t size)
{
	struct iommu_ioas_map_file mf = {
		.size = sizeof(mf), .flags = MAP_RW, .ioas_id = ioas, .fd = memfd,
		.start = 0, .length = size, .iova = IOVA,
	};
	struct iommu_ioas_map m = {
		.size = sizeof(m), .flags = MAP_RW, .ioas_id = ioas,
		.user_va = (uintptr_t)va, .length = size, .iova = IOVA,
	};
	double t0 = now(), t;
	int rc;

	rc = va ? ioctl(iommufd, IOMMU_IOAS_MAP, &m) : ioctl(iommufd, IOMMU_IOAS_MAP_FILE, &mf);
	t = now() - t0;
	if (rc) {
		fprintf(stderr, "# %s of %zu MiB failed: %s\n", va ? "MAP" : "MAP_FILE",
			size >> 20, strerror(errno));
		return -1;
	}
	if (unmap_all(iommufd, ioas))
		return -1;
	return t;
}

static double best_of(int reps, int iommufd, uint32_t ioas, int memfd, void *va, size_t size)
{
	double best = -1, t;
	int i;

	for (i = 0; i < reps; i++) {
		t = time_map(iommufd, ioas, memfd, va, size);
		if (t < 0)
			return -1;
		if (best < 0 || t < best)
			best = t;
	}
	return best;
}

int main(int argc, char **argv)
{
	static const size_t sizes_mb[] = { 64, 256, 1024 };
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	int reps = argc > 1 ? atoi(argv[1]) : 3;
	struct p2p_dev edu;
	unsigned int b, s;
	int iommufd;

	iommufd = open("/dev/iommu", O_RDWR);
	if (iommufd < 0 || ioctl(iommufd, IOMMU_IOAS_ALLOC, &alloc)) {
		perror("iommufd");
		return 1;
	}
	if (p2p_open_iommufd_dev(&edu, P2P_EDU0, iommufd, alloc.out_ioas_id)) {
		perror("attach edu to the IOAS (needs the VT-d VM)");
		return 1;
	}
	printf("# pin+map into an IOAS with an emulated VT-d domain, best of %d\n", reps);
	printf("# figures come from TCG emulation: compare ratios from the same run only\n");
	printf("%-11s %7s %12s %12s %7s %14s\n", "backing", "MiB", "MAP GiB/s",
	       "FILE GiB/s", "ratio", "1.6TB FILE s");
	printf("P2P-BENCH-CSV,backing,mib,map_gibps,map_file_gibps,ratio,file_1p6tb_s,seed_s\n");
	for (b = 0; b < ARRAY_SIZE(backings); b++) {
		const struct backing *bk = &backings[b];

		set_thp(bk->thp ? "always" : "never");
		for (s = 0; s < ARRAY_SIZE(sizes_mb); s++) {
			size_t size = sizes_mb[s] << 20;
			double tm, tf, gm, gf;
			void *va;
			int memfd;

			memfd = memfd_create("bench", bk->memfd_flags);
			if (memfd < 0 || populate(memfd, size)) {
				printf("%-11s %7zu  skipped: %s\n", bk->name, sizes_mb[s],
				       strerror(errno));
				if (memfd >= 0)
					close(memfd);
				continue;
			}
			va = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
				  memfd, 0);
			if (va == MAP_FAILED) {
				printf("%-11s %7zu  skipped: mmap: %s\n", bk->name, sizes_mb[s],
				       strerror(errno));
				close(memfd);
				continue;
			}
			tm = best_of(reps, iommufd, alloc.out_ioas_id, memfd, va, size);
			tf = best_of(reps, iommufd, alloc.out_ioas_id, memfd, NULL, size);
			munmap(va, size);
			close(memfd);
			if (tm <= 0 || tf <= 0) {
				printf("%-11s %7zu  failed\n", bk->name, sizes_mb[s]);
				continue;
			}
			gm = size / tm / (1 << 30);
			gf = size / tf / (1 << 30);
			printf("%-11s %7zu %12.2f %12.2f %6.2fx %14.0f\n", bk->name, sizes_mb[s],
			       gm, gf, gf / gm, SEED_BYTES / (gf * (1 << 30)));
			printf("P2P-BENCH-CSV,%s,%zu,%.3f,%.3f,%.3f,%.1f,%.0f\n", bk->name,
			       sizes_mb[s], gm, gf, gf / gm, SEED_BYTES / (gf * (1 << 30)),
			       SEED_SECS);
		}
	}
	set_thp("never");
	printf("# seed figure: 1.6 TB pinned in %.0f s (about 4.2 GB/s) on real hardware\n",
	       SEED_SECS);
	p2p_dev_close(&edu);
	return 0;
}
