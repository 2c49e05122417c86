// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests for IOMMU_IOAS_MAP_FILE (the 6.12 backport in
 * drivers/iommu/iommufd/p2p/), using the iommufd mock domains of
 * CONFIG_IOMMUFD_TEST.
 *
 * Every test runs for each backing (4K shmem, THP shmem, 2M hugetlbfs, 1G
 * hugetlbfs) with no domain, one mock domain and two mock domains, except 1G
 * with two mock domains: mock IOPTEs are 2K, so a 1G area is half a million
 * of them per domain, which takes minutes under emulation and tests nothing
 * that 2M with two domains does not. Backings that the machine cannot
 * provide are skipped with the reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/iommufd.h>
#include "compat.h"
#include "../iommu/iommufd_utils.h"
#include "p2p_utils.h"

#define SZ_2M 0x00200000UL
#define SZ_1G 0x40000000UL
/* MOCK_IO_PAGE_SIZE in drivers/iommu/iommufd/selftest.c */
#define MOCK_PAGE_SIZE (PAGE_SIZE / 2)

/* IOMMU_TEST_OP_ACCESS_PAGES refuses more than 16M */
#define MAX_ACCESS_PAGES (8UL << 20)
/*
 * The harness's 30 s default is too short for 1G pages under an emulated,
 * KASAN-instrumented kernel; this is only a hang guard.
 */
#define MAP_FILE_TIMEOUT 300
#define THP_KNOB "/sys/kernel/mm/transparent_hugepage/shmem_enabled"

enum backing {
	BACKING_SHMEM,
	BACKING_THP,
	BACKING_HUGETLB_2M,
	BACKING_HUGETLB_1G,
};

static __attribute__((constructor)) void setup_sizes(void)
{
	PAGE_SIZE = sysconf(_SC_PAGE_SIZE);
}

static long read_long(const char *path)
{
	char buf[64];
	ssize_t len;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return -1;
	buf[len] = 0;
	return strtol(buf, NULL, 10);
}

static long hugetlb_free_now(unsigned long size)
{
	char path[128];

	snprintf(path, sizeof(path),
		 "/sys/kernel/mm/hugepages/hugepages-%lukB/free_hugepages",
		 size / 1024);
	return read_long(path);
}

/*
 * Free huge pages of @size, waiting up to 20 s for at least @want: a page
 * freed by the previous test returns to the pool from a workqueue.
 */
static long hugetlb_free(unsigned long size, long want)
{
	long n = hugetlb_free_now(size);
	int i;

	for (i = 0; i < 200 && n >= 0 && n < want; i++) {
		usleep(100 * 1000);
		n = hugetlb_free_now(size);
	}
	return n;
}

/* Returns the bracketed word of a sysfs multiple choice file */
static int read_choice(const char *path, char *out, size_t out_len)
{
	char buf[256];
	char *start, *end;
	ssize_t len;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return -1;
	buf[len] = 0;
	start = strchr(buf, '[');
	end = start ? strchr(start, ']') : NULL;
	if (!end || (size_t)(end - start) >= out_len)
		return -1;
	memcpy(out, start + 1, end - start - 1);
	out[end - start - 1] = 0;
	return 0;
}

/* MAP_SHARED mapping of the whole file at an address aligned to @align */
static void *mmap_aligned(int mfd, size_t size, size_t align)
{
	uint8_t *res, *aligned;

	res = mmap(NULL, size + align, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED)
		return MAP_FAILED;
	aligned = (uint8_t *)(((uintptr_t)res + align - 1) & ~(align - 1));
	if (aligned != res)
		munmap(res, aligned - res);
	munmap(aligned + size, res + align - aligned);
	return mmap(aligned, size, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_FIXED, mfd, 0);
}

/* Every page gets a different byte, and its own index in the first word */
static void fill_pattern(uint8_t *buf, size_t size, unsigned int seed)
{
	size_t i;

	for (i = 0; i < size; i += PAGE_SIZE) {
		memset(buf + i, (i / PAGE_SIZE * 7 + seed) & 0xff, PAGE_SIZE);
		*(uint64_t *)(buf + i) = i / PAGE_SIZE + seed;
	}
}

static int _test_ioctl_ioas_copy(int fd, unsigned int dst_ioas_id,
				 uint64_t dst_iova, unsigned int src_ioas_id,
				 uint64_t src_iova, uint64_t length,
				 unsigned int flags)
{
	struct iommu_ioas_copy cmd = {
		.size = sizeof(cmd),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | flags,
		.dst_ioas_id = dst_ioas_id,
		.src_ioas_id = src_ioas_id,
		.length = length,
		.dst_iova = dst_iova,
		.src_iova = src_iova,
	};

	return ioctl(fd, IOMMU_IOAS_COPY, &cmd);
}

/* Check that each mock domain maps iova to the pages under the CPU pointer */
static int _check_mock_iova(int fd, unsigned int hwpt_id, void *ptr,
			    uint64_t iova, uint64_t length)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_MD_CHECK_MAP,
		.id = hwpt_id,
		.check_map = { .iova = iova,
			       .length = length,
			       .uptr = (uintptr_t)ptr },
	};

	return ioctl(fd, _IOMMU_TEST_CMD(IOMMU_TEST_OP_MD_CHECK_MAP), &cmd);
}

#define check_mock_iova(_ptr, _iova, _length)                                \
	({                                                                   \
		unsigned int __i;                                            \
									     \
		for (__i = 0; __i != variant->mock_domains; __i++)           \
			ASSERT_EQ(0, _check_mock_iova(self->fd,              \
						      self->hwpt_ids[__i],   \
						      _ptr, _iova, _length)); \
	})

FIXTURE(map_file)
{
	int fd;
	uint32_t ioas_id;
	uint32_t stdev_ids[2];
	uint32_t hwpt_ids[2];
	int mfd;
	uint8_t *buf;
	size_t size;
	/* Size of the folios the backing is expected to use */
	size_t folio_size;
	char thp_saved[32];
};

FIXTURE_VARIANT(map_file)
{
	enum backing backing;
	unsigned int mock_domains;
};

FIXTURE_SETUP(map_file)
{
	unsigned int mfd_flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
	char choice[32];
	unsigned int i;

	self->mfd = -1;
	self->fd = -1;
	self->buf = NULL;
	self->thp_saved[0] = 0;

	switch (variant->backing) {
	case BACKING_SHMEM:
		self->folio_size = PAGE_SIZE;
		self->size = 64 * PAGE_SIZE;
		break;
	case BACKING_THP:
		self->folio_size = SZ_2M;
		self->size = 2 * SZ_2M;
		if (read_choice(THP_KNOB, choice, sizeof(choice)))
			SKIP(return, "no shmem THP support (%s)", THP_KNOB);
		if (!strcmp(choice, "never") || !strcmp(choice, "deny")) {
			if (p2p_write_str(THP_KNOB, "advise"))
				SKIP(return, "shmem THP is %s and %s is read only",
				     choice, THP_KNOB);
			snprintf(self->thp_saved, sizeof(self->thp_saved),
				 "%s", choice);
		}
		break;
	case BACKING_HUGETLB_2M:
		self->folio_size = SZ_2M;
		self->size = 2 * SZ_2M;
		mfd_flags |= MFD_HUGETLB | MFD_HUGE_2MB;
		if (hugetlb_free(SZ_2M, 2) < 2)
			SKIP(return, "needs 2 free 2M hugetlb pages");
		break;
	case BACKING_HUGETLB_1G:
		self->folio_size = SZ_1G;
		self->size = SZ_1G;
		mfd_flags |= MFD_HUGETLB | MFD_HUGE_1GB;
		if (hugetlb_free(SZ_1G, 1) < 1)
			SKIP(return, "needs 1 free 1G hugetlb page (hugepagesz=1G hugepages=1)");
		break;
	}

	self->mfd = memfd_create("map_file", mfd_flags);
	ASSERT_LE(0, self->mfd);
	ASSERT_EQ(0, ftruncate(self->mfd, self->size));
	self->buf = mmap_aligned(self->mfd, self->size, self->folio_size);
	ASSERT_NE(MAP_FAILED, self->buf);
	if (variant->backing == BACKING_THP)
		ASSERT_EQ(0, madvise(self->buf, self->size, MADV_HUGEPAGE));
	/* Populates the page cache, with large folios where possible */
	fill_pattern(self->buf, self->size, 1);

	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_NE(-1, self->fd);
	test_ioctl_ioas_alloc(&self->ioas_id);
	/*
	 * Keep automatic IOVAs inside the mock aperture, so that a mock domain
	 * can be attached after a map in the no-domain variants (an area below
	 * the aperture makes the attach fail with EADDRINUSE).
	 */
	ASSERT_EQ(0, p2p_allow_mock_aperture(self->fd, self->ioas_id));
	for (i = 0; i != variant->mock_domains; i++)
		test_cmd_mock_domain(self->ioas_id, &self->stdev_ids[i],
				     &self->hwpt_ids[i], NULL);
}

FIXTURE_TEARDOWN(map_file)
{
	/* The temp memory limit is global to the iommufd module */
	test_ioctl_set_default_memory_limit();
	/* Destroys every object, so everything is unpinned */
	teardown_iommufd(self->fd, _metadata);
	if (self->buf && self->buf != MAP_FAILED)
		munmap(self->buf, self->size);
	if (self->mfd >= 0)
		close(self->mfd);
	if (self->thp_saved[0])
		p2p_write_str(THP_KNOB, self->thp_saved);
}

FIXTURE_VARIANT_ADD(map_file, shmem_no_domain)
{
	.backing = BACKING_SHMEM,
};

FIXTURE_VARIANT_ADD(map_file, shmem_mock_domain)
{
	.backing = BACKING_SHMEM,
	.mock_domains = 1,
};

FIXTURE_VARIANT_ADD(map_file, shmem_two_mock_domains)
{
	.backing = BACKING_SHMEM,
	.mock_domains = 2,
};

FIXTURE_VARIANT_ADD(map_file, thp_no_domain)
{
	.backing = BACKING_THP,
};

FIXTURE_VARIANT_ADD(map_file, thp_mock_domain)
{
	.backing = BACKING_THP,
	.mock_domains = 1,
};

FIXTURE_VARIANT_ADD(map_file, thp_two_mock_domains)
{
	.backing = BACKING_THP,
	.mock_domains = 2,
};

FIXTURE_VARIANT_ADD(map_file, hugetlb_2m_no_domain)
{
	.backing = BACKING_HUGETLB_2M,
};

FIXTURE_VARIANT_ADD(map_file, hugetlb_2m_mock_domain)
{
	.backing = BACKING_HUGETLB_2M,
	.mock_domains = 1,
};

FIXTURE_VARIANT_ADD(map_file, hugetlb_2m_two_mock_domains)
{
	.backing = BACKING_HUGETLB_2M,
	.mock_domains = 2,
};

FIXTURE_VARIANT_ADD(map_file, hugetlb_1g_no_domain)
{
	.backing = BACKING_HUGETLB_1G,
};

FIXTURE_VARIANT_ADD(map_file, hugetlb_1g_mock_domain)
{
	.backing = BACKING_HUGETLB_1G,
	.mock_domains = 1,
};

TEST_F_TIMEOUT(map_file, map_unmap, MAP_FILE_TIMEOUT)
{
	size_t align = self->folio_size < SZ_2M ? self->folio_size : SZ_2M;
	uint64_t unmapped;
	uint64_t iova;

	test_ioctl_ioas_map_file(self->mfd, 0, self->size, &iova);
	ASSERT_NE(0, iova);
	/*
	 * Automatic IOVA keeps the alignment of the file offset (up to the
	 * PMD size), so folios can be mapped with large IOPTEs.
	 */
	ASSERT_EQ(0, iova % align);
	check_mock_iova(self->buf, iova, self->size);

	ASSERT_EQ(0, _test_ioctl_ioas_unmap(self->fd, self->ioas_id, iova,
					    self->size, &unmapped));
	ASSERT_EQ(self->size, unmapped);
	test_err_ioctl_ioas_unmap(ENOENT, iova, self->size);

	/* Read only works too */
	ASSERT_EQ(0, _test_ioctl_ioas_map_file(self->fd, self->ioas_id,
					       self->mfd, 0, self->size, &iova,
					       IOMMU_IOAS_MAP_READABLE));
	check_mock_iova(self->buf, iova, self->size);
	test_ioctl_ioas_unmap(iova, self->size);
}

TEST_F_TIMEOUT(map_file, fixed_iova, MAP_FILE_TIMEOUT)
{
	size_t half = self->size / 2;
	uint64_t iova = MOCK_APERTURE_START;
	uint64_t iova2 = MOCK_APERTURE_START + self->size;

	test_ioctl_ioas_map_file_fixed(self->mfd, 0, half, iova);
	/* Second half, and the first half again: two iopt_pages, one file */
	test_ioctl_ioas_map_file_fixed(self->mfd, half, half, iova + half);
	test_ioctl_ioas_map_file_fixed(self->mfd, 0, half, iova2);
	check_mock_iova(self->buf, iova, self->size);
	check_mock_iova(self->buf, iova2, half);

	/* Overlap */
	EXPECT_EQ(-EEXIST, _test_ioctl_ioas_map_file(self->fd, self->ioas_id,
						     self->mfd, 0, PAGE_SIZE, &iova2,
						     IOMMU_IOAS_MAP_FIXED_IOVA |
						     MAP_RW));
	iova2 = MOCK_APERTURE_START + half - PAGE_SIZE;
	EXPECT_EQ(-EEXIST, _test_ioctl_ioas_map_file(self->fd, self->ioas_id,
						     self->mfd, 0, 2 * PAGE_SIZE,
						     &iova2,
						     IOMMU_IOAS_MAP_FIXED_IOVA |
						     MAP_RW));

	/* One unmap can cover several areas */
	test_ioctl_ioas_unmap(iova, self->size + half);
}

TEST_F_TIMEOUT(map_file, alignment, MAP_FILE_TIMEOUT)
{
	uint64_t length = self->size - PAGE_SIZE;
	uint64_t iova;

	/* Sub page start, allowed by the mock domain IOVA alignment */
	test_ioctl_ioas_map_file(self->mfd, MOCK_PAGE_SIZE, length, &iova);
	ASSERT_EQ(MOCK_PAGE_SIZE, iova % PAGE_SIZE);
	check_mock_iova(self->buf + MOCK_PAGE_SIZE, iova, length);
	test_ioctl_ioas_unmap(iova, length);

	/* Byte granular offsets only work without a domain */
	if (variant->mock_domains) {
		test_err_ioctl_ioas_map_file(EINVAL, self->mfd, 1, length,
					     MAP_RW);
		iova = MOCK_APERTURE_START + 1;
		EXPECT_EQ(-EINVAL, _test_ioctl_ioas_map_file(self->fd, self->ioas_id,
							     self->mfd, 0, PAGE_SIZE,
							     &iova,
							     IOMMU_IOAS_MAP_FIXED_IOVA |
							     MAP_RW));
		test_err_ioctl_ioas_map_file(EINVAL, self->mfd, 0,
					     PAGE_SIZE + 1, MAP_RW);
	} else {
		test_ioctl_ioas_map_file(self->mfd, 1, length, &iova);
		ASSERT_EQ(1, iova % PAGE_SIZE);
		test_ioctl_ioas_unmap(iova, length);
	}

	/* A file offset that is PMD aligned gets a PMD aligned IOVA */
	if (self->folio_size == SZ_2M) {
		test_ioctl_ioas_map_file(self->mfd, SZ_2M, SZ_2M, &iova);
		ASSERT_EQ(0, iova % SZ_2M);
		check_mock_iova(self->buf + SZ_2M, iova, SZ_2M);
		test_ioctl_ioas_unmap(iova, SZ_2M);

		/* Misaligned by a page, still correct PFNs */
		test_ioctl_ioas_map_file(self->mfd, PAGE_SIZE, SZ_2M, &iova);
		ASSERT_EQ(0, iova % PAGE_SIZE);
		check_mock_iova(self->buf + PAGE_SIZE, iova, SZ_2M);
		test_ioctl_ioas_unmap(iova, SZ_2M);
	}
}

TEST_F_TIMEOUT(map_file, copy, MAP_FILE_TIMEOUT)
{
	size_t len = self->size / 2;
	uint8_t tmp[64];
	__u32 access_id;
	__u32 dst_ioas_id;
	__u32 dst_stdev_id;
	__u32 dst_hwpt_id;
	uint64_t iova = MOCK_APERTURE_START;
	__u64 copy_iova = MOCK_APERTURE_START + self->size;

	test_ioctl_ioas_map_file_fixed(self->mfd, 0, self->size, iova);

	/* Copy the second half into the same IOAS */
	ASSERT_EQ(0, _test_ioctl_ioas_copy(self->fd, self->ioas_id, copy_iova,
					   self->ioas_id, iova + len, len,
					   MAP_RW));
	check_mock_iova(self->buf + len, copy_iova, len);

	/* And all of it into another IOAS, with its own domain */
	test_ioctl_ioas_alloc(&dst_ioas_id);
	test_cmd_mock_domain(dst_ioas_id, &dst_stdev_id, &dst_hwpt_id, NULL);
	ASSERT_EQ(0, _test_ioctl_ioas_copy(self->fd, dst_ioas_id,
					   MOCK_APERTURE_START, self->ioas_id,
					   iova, self->size, MAP_RW));
	ASSERT_EQ(0, _check_mock_iova(self->fd, dst_hwpt_id, self->buf,
				      MOCK_APERTURE_START, self->size));

	/* The copy outlives the original */
	test_ioctl_ioas_unmap(iova, self->size);
	test_cmd_create_access(dst_ioas_id, &access_id, 0);
	test_cmd_access_rw(access_id, MOCK_APERTURE_START + self->size - 32,
			   tmp, sizeof(tmp) / 2, 0);
	ASSERT_EQ(0, memcmp(tmp, self->buf + self->size - 32,
			    sizeof(tmp) / 2));
	test_cmd_destroy_access(access_id);
	test_ioctl_ioas_unmap_id(dst_ioas_id, MOCK_APERTURE_START, self->size);
	test_ioctl_destroy(dst_stdev_id);
	test_ioctl_ioas_unmap(copy_iova, len);
}

/*
 * A fallocate()d range that the CPU never touched: what a device (here an
 * in-kernel access) writes through the mapping must stay in the file. shmem
 * would otherwise zero such a folio at the first CPU access after the write.
 */
TEST_F_TIMEOUT(map_file, fallocated_range_keeps_device_writes, MAP_FILE_TIMEOUT)
{
	static const char msg[] = "written through the IOMMU";
	char got[sizeof(msg)];
	__u32 access_id;
	uint64_t iova;
	int mfd;

	/*
	 * A second file of the variant's kind; the fixture's 1G file holds the
	 * only 1G page, so that variant uses 2M pages here.
	 */
	size_t size = variant->backing == BACKING_HUGETLB_1G ? SZ_2M : self->folio_size;

	mfd = memfd_create("fallocated", variant->backing >= BACKING_HUGETLB_2M ?
			   MFD_HUGETLB | MFD_HUGE_2MB : 0);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, ftruncate(mfd, size));
	ASSERT_EQ(0, fallocate(mfd, 0, 0, size));
	test_cmd_create_access(self->ioas_id, &access_id, 0);
	test_ioctl_ioas_map_file(mfd, 0, size, &iova);
	test_cmd_access_rw(access_id, iova + size - PAGE_SIZE + 8,
			   (void *)msg, sizeof(msg), MOCK_ACCESS_RW_WRITE);
	ASSERT_EQ(sizeof(got), pread(mfd, got, sizeof(got), size - PAGE_SIZE + 8));
	ASSERT_EQ(0, memcmp(got, msg, sizeof(msg)));
	test_cmd_destroy_access(access_id);
	test_ioctl_ioas_unmap(iova, size);
	close(mfd);
}

TEST_F_TIMEOUT(map_file, access_rw, MAP_FILE_TIMEOUT)
{
	static const unsigned int flags[] = { 0, MOCK_ACCESS_RW_SLOW_PATH };
	size_t len = 2 * PAGE_SIZE + 7;
	/* Offsets that straddle page and large folio boundaries */
	const uint64_t offs[] = { 0, PAGE_SIZE - 3, 5 * PAGE_SIZE + 17,
				  self->size / 2 - 100, self->size - len };
	uint8_t *tmp, *wr;
	__u32 access_id;
	unsigned int f;
	unsigned int i;
	uint64_t iova;

	tmp = malloc(len);
	wr = malloc(len);
	ASSERT_NE(NULL, tmp);
	ASSERT_NE(NULL, wr);
	test_cmd_create_access(self->ioas_id, &access_id, 0);
	test_ioctl_ioas_map_file(self->mfd, 0, self->size, &iova);

	for (f = 0; f != ARRAY_SIZE(flags); f++) {
		for (i = 0; i != ARRAY_SIZE(offs); i++) {
			test_cmd_access_rw(access_id, iova + offs[i], tmp,
					   len, flags[f]);
			ASSERT_EQ(0, memcmp(tmp, self->buf + offs[i], len));

			/* Writes land in the file */
			memset(wr, 0xa0 + i + f, len);
			test_cmd_access_rw(access_id, iova + offs[i], wr, len,
					   flags[f] | MOCK_ACCESS_RW_WRITE);
			ASSERT_EQ(0, memcmp(wr, self->buf + offs[i], len));
			ASSERT_EQ(len, pread(self->mfd, tmp, len, offs[i]));
			ASSERT_EQ(0, memcmp(wr, tmp, len));
		}
	}

	/* Across two areas of the same file */
	test_ioctl_ioas_unmap(iova, self->size);
	test_ioctl_ioas_map_file_fixed(self->mfd, 0, self->size / 2,
				       MOCK_APERTURE_START);
	test_ioctl_ioas_map_file_fixed(self->mfd, self->size / 2,
				       self->size / 2,
				       MOCK_APERTURE_START + self->size / 2);
	test_cmd_access_rw(access_id, MOCK_APERTURE_START + self->size / 2 - 5,
			   tmp, len, 0);
	ASSERT_EQ(0, memcmp(tmp, self->buf + self->size / 2 - 5, len));
	test_ioctl_ioas_unmap(MOCK_APERTURE_START, self->size);

	test_cmd_destroy_access(access_id);
	free(tmp);
	free(wr);
}

TEST_F_TIMEOUT(map_file, access_pages, MAP_FILE_TIMEOUT)
{
	size_t plen = self->size < MAX_ACCESS_PAGES ? self->size :
						      MAX_ACCESS_PAGES;
	__u32 access_pages_id;
	__u32 stdev_id, hwpt_id;
	__u32 access_id;
	uint64_t iova;

	test_cmd_create_access(self->ioas_id, &access_id,
			       MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
	test_ioctl_ioas_map_file(self->mfd, 0, self->size, &iova);

	/* The kernel compares the pinned pages with the pages under buf */
	test_cmd_access_pages(access_id, iova, plen, self->buf,
			      MOCK_FLAGS_ACCESS_WRITE, &access_pages_id);

	/*
	 * A domain attached while pinned is filled from the pinned pages and
	 * the file for the rest
	 */
	test_cmd_mock_domain(self->ioas_id, &stdev_id, &hwpt_id, NULL);
	ASSERT_EQ(0, _check_mock_iova(self->fd, hwpt_id, self->buf, iova,
				      self->size));
	test_ioctl_destroy(stdev_id);
	test_cmd_destroy_access_pages(access_id, access_pages_id);

	/* A sub range, then unmap with it still pinned */
	test_cmd_access_pages(access_id, iova + PAGE_SIZE, 3 * PAGE_SIZE,
			      self->buf + PAGE_SIZE, 0, &access_pages_id);
	test_ioctl_ioas_unmap(iova, self->size);
	test_err_destroy_access_pages(ENOENT, access_id, access_pages_id);
	test_cmd_destroy_access(access_id);
}

/*
 * With a 16 byte temp memory limit pages are pinned two at a time, so nearly
 * every memfd_pin_folios() call starts or ends inside a large folio.
 */
TEST_F_TIMEOUT(map_file, small_batches, MAP_FILE_TIMEOUT)
{
	size_t plen = self->size < MAX_ACCESS_PAGES ? self->size :
						      MAX_ACCESS_PAGES;
	__u32 access_pages_id;
	__u32 stdev_id, hwpt_id;
	uint8_t tmp[3 * 4096];
	__u32 access_id;
	uint64_t iova;

	test_ioctl_set_temp_memory_limit(16);
	test_ioctl_ioas_map_file(self->mfd, PAGE_SIZE, self->size - PAGE_SIZE,
				 &iova);
	check_mock_iova(self->buf + PAGE_SIZE, iova, self->size - PAGE_SIZE);

	test_cmd_create_access(self->ioas_id, &access_id,
			       MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
	test_cmd_access_pages(access_id, iova + PAGE_SIZE,
			      plen - 2 * PAGE_SIZE, self->buf + 2 * PAGE_SIZE, 0,
			      &access_pages_id);
	test_cmd_access_rw(access_id, iova + 100, tmp, sizeof(tmp),
			   MOCK_ACCESS_RW_SLOW_PATH);
	ASSERT_EQ(0, memcmp(tmp, self->buf + PAGE_SIZE + 100, sizeof(tmp)));

	/* Domain filled from a mix of pinned pages and the file */
	test_cmd_mock_domain(self->ioas_id, &stdev_id, &hwpt_id, NULL);
	ASSERT_EQ(0, _check_mock_iova(self->fd, hwpt_id,
				      self->buf + PAGE_SIZE, iova,
				      self->size - PAGE_SIZE));
	test_cmd_destroy_access_pages(access_id, access_pages_id);
	test_ioctl_destroy(stdev_id);
	test_cmd_destroy_access(access_id);
	test_ioctl_ioas_unmap(iova, self->size - PAGE_SIZE);
	test_ioctl_set_default_memory_limit();
}

TEST_F_TIMEOUT(map_file, past_eof, MAP_FILE_TIMEOUT)
{
	uint8_t tmp[16];
	__u32 access_id;
	__u32 stdev_id;
	uint64_t iova;

	if (variant->mock_domains) {
		/* Pinned at map time */
		test_err_ioctl_ioas_map_file(EINVAL, self->mfd, 0,
					     self->size + PAGE_SIZE, MAP_RW);
		test_err_ioctl_ioas_map_file(EINVAL, self->mfd, self->size,
					     PAGE_SIZE, MAP_RW);
		return;
	}

	/* Without a domain nothing is pinned until it is used */
	test_ioctl_ioas_map_file(self->mfd, 0, self->size + PAGE_SIZE, &iova);
	test_cmd_create_access(self->ioas_id, &access_id, 0);
	test_cmd_access_rw(access_id, iova + self->size - sizeof(tmp), tmp,
			   sizeof(tmp), 0);
	ASSERT_EQ(0, memcmp(tmp, self->buf + self->size - sizeof(tmp),
			    sizeof(tmp)));
	EXPECT_ERRNO(EINVAL, _test_cmd_access_rw(self->fd, access_id,
						 iova + self->size, tmp,
						 sizeof(tmp), 0));
	test_cmd_destroy_access(access_id);

	/* Attaching a domain pins everything and fails */
	test_err_mock_domain(EINVAL, self->ioas_id, &stdev_id, NULL);
	test_ioctl_ioas_unmap(iova, self->size + PAGE_SIZE);
}

TEST_F_TIMEOUT(map_file, truncate, MAP_FILE_TIMEOUT)
{
	size_t len = 2 * PAGE_SIZE + 64;
	uint64_t off = self->size / 2 - PAGE_SIZE;
	__u32 access_pages_id = 0;
	uint8_t *old, *tmp;
	__u32 access_id;
	uint64_t iova;

	old = malloc(len);
	tmp = malloc(len);
	ASSERT_NE(NULL, old);
	ASSERT_NE(NULL, tmp);
	memcpy(old, self->buf + off, len);

	test_ioctl_ioas_map_file(self->mfd, 0, self->size, &iova);
	test_cmd_create_access(self->ioas_id, &access_id,
			       MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
	/* Without a domain, hold the pages with an access pin instead */
	if (!variant->mock_domains)
		test_cmd_access_pages(access_id, iova + off, 4 * PAGE_SIZE,
				      NULL, MOCK_FLAGS_ACCESS_WRITE,
				      &access_pages_id);

	/* The CPU mapping would SIGBUS from here on */
	ASSERT_EQ(0, munmap(self->buf, self->size));
	self->buf = NULL;
	ASSERT_EQ(0, ftruncate(self->mfd, 0));

	/* The pinned pages left the file but are still intact and in use */
	test_cmd_access_rw(access_id, iova + off, tmp, len, 0);
	ASSERT_EQ(0, memcmp(old, tmp, len));
	memset(tmp, 0x5a, len);
	test_cmd_access_rw(access_id, iova + off, tmp, len,
			   MOCK_ACCESS_RW_WRITE);
	test_cmd_access_rw(access_id, iova + off, old, len,
			   MOCK_ACCESS_RW_SLOW_PATH);
	ASSERT_EQ(0, memcmp(old, tmp, len));

	if (!variant->mock_domains) {
		test_cmd_destroy_access_pages(access_id, access_pages_id);
		/* Nothing pinned any more and the file is empty */
		EXPECT_ERRNO(EINVAL, _test_cmd_access_rw(self->fd, access_id,
							 iova + off, tmp, len,
							 0));
	}
	test_cmd_destroy_access(access_id);
	test_ioctl_ioas_unmap(iova, self->size);

	/* Grown again, the file has new zeroed pages, not the old ones */
	ASSERT_EQ(0, ftruncate(self->mfd, self->size));
	self->buf = mmap_aligned(self->mfd, self->size, self->folio_size);
	ASSERT_NE(MAP_FAILED, self->buf);
	ASSERT_EQ(0, self->buf[off]);
	memset(old, 0, len);
	ASSERT_EQ(0, memcmp(old, self->buf + off, len));
	test_ioctl_ioas_map_file(self->mfd, 0, self->size, &iova);
	check_mock_iova(self->buf, iova, self->size);
	test_ioctl_ioas_unmap(iova, self->size);
	free(old);
	free(tmp);
}

TEST_F_TIMEOUT(map_file, read_only_fd, MAP_FILE_TIMEOUT)
{
	uint8_t tmp[32];
	__u32 access_id;
	char path[64];
	uint64_t iova;
	int rfd;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", self->mfd);
	rfd = open(path, O_RDONLY);
	ASSERT_LE(0, rfd);

	test_err_ioctl_ioas_map_file(EPERM, rfd, 0, self->size, MAP_RW);
	test_err_ioctl_ioas_map_file(EPERM, rfd, 0, self->size,
				     IOMMU_IOAS_MAP_WRITEABLE);

	ASSERT_EQ(0, _test_ioctl_ioas_map_file(self->fd, self->ioas_id, rfd, 0,
					       self->size, &iova,
					       IOMMU_IOAS_MAP_READABLE));
	/* The mapping keeps the file, not the fd */
	ASSERT_EQ(0, close(rfd));
	check_mock_iova(self->buf, iova, self->size);

	test_cmd_create_access(self->ioas_id, &access_id, 0);
	test_cmd_access_rw(access_id, iova + 100, tmp, sizeof(tmp), 0);
	ASSERT_EQ(0, memcmp(tmp, self->buf + 100, sizeof(tmp)));
	EXPECT_ERRNO(EPERM, _test_cmd_access_rw(self->fd, access_id,
						iova + 100, tmp, sizeof(tmp),
						MOCK_ACCESS_RW_WRITE));
	test_cmd_destroy_access(access_id);

	/* Cannot be made writeable by copying it */
	EXPECT_ERRNO(EPERM, _test_ioctl_ioas_copy(self->fd, self->ioas_id,
						  iova + self->size,
						  self->ioas_id, iova,
						  PAGE_SIZE, MAP_RW));
	test_ioctl_ioas_unmap(iova, self->size);
}

TEST_F_TIMEOUT(map_file, seals, MAP_FILE_TIMEOUT)
{
	uint8_t tmp[32];
	__u32 access_id;
	uint64_t iova;

	/* A shared writable CPU mapping would block F_SEAL_WRITE by itself */
	ASSERT_EQ(0, munmap(self->buf, self->size));
	self->buf = NULL;

	/* A writeable IOMMU mapping counts as a writable mapping */
	test_ioctl_ioas_map_file(self->mfd, 0, self->size, &iova);
	EXPECT_ERRNO(EBUSY, fcntl(self->mfd, F_ADD_SEALS, F_SEAL_WRITE));
	test_ioctl_ioas_unmap(iova, self->size);

	ASSERT_EQ(0, fcntl(self->mfd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE));
	test_err_ioctl_ioas_map_file(EPERM, self->mfd, 0, self->size, MAP_RW);
	ASSERT_EQ(0, _test_ioctl_ioas_map_file(self->fd, self->ioas_id,
					       self->mfd, 0, self->size, &iova,
					       IOMMU_IOAS_MAP_READABLE));
	test_ioctl_ioas_unmap(iova, self->size);

	/* Fails with EBUSY if any page was left pinned */
	ASSERT_EQ(0, fcntl(self->mfd, F_ADD_SEALS, F_SEAL_WRITE));
	test_err_ioctl_ioas_map_file(EPERM, self->mfd, 0, self->size, MAP_RW);
	ASSERT_EQ(0, _test_ioctl_ioas_map_file(self->fd, self->ioas_id,
					       self->mfd, 0, self->size, &iova,
					       IOMMU_IOAS_MAP_READABLE));
	test_cmd_create_access(self->ioas_id, &access_id, 0);
	test_cmd_access_rw(access_id, iova + self->size - sizeof(tmp), tmp,
			   sizeof(tmp), 0);
	test_cmd_destroy_access(access_id);
	test_ioctl_ioas_unmap(iova, self->size);
}

TEST_F_TIMEOUT(map_file, errnos, MAP_FILE_TIMEOUT)
{
	struct iommu_ioas_map_file short_cmd = {
		.size = offsetof(struct iommu_ioas_map_file, iova),
		.flags = MAP_RW,
	};
	int pipefd[2];
	int closed_fd;
	int procfd;
	uint64_t iova;

	/* Bad fds */
	test_err_ioctl_ioas_map_file(EBADF, -1, 0, self->size, MAP_RW);
	closed_fd = dup(self->mfd);
	ASSERT_LE(0, closed_fd);
	ASSERT_EQ(0, close(closed_fd));
	test_err_ioctl_ioas_map_file(EBADF, closed_fd, 0, self->size,
				     MAP_RW);

	/* Files that are neither shmem nor hugetlbfs */
	ASSERT_EQ(0, pipe(pipefd));
	test_err_ioctl_ioas_map_file(EINVAL, pipefd[0], 0, PAGE_SIZE,
				     IOMMU_IOAS_MAP_READABLE);
	test_err_ioctl_ioas_map_file(EINVAL, pipefd[1], 0, PAGE_SIZE, MAP_RW);
	close(pipefd[0]);
	close(pipefd[1]);
	procfd = open("/proc/self/status", O_RDONLY);
	ASSERT_LE(0, procfd);
	test_err_ioctl_ioas_map_file(EINVAL, procfd, 0, PAGE_SIZE,
				     IOMMU_IOAS_MAP_READABLE);
	close(procfd);
	/* The iommufd itself is not memory either */
	test_err_ioctl_ioas_map_file(EINVAL, self->fd, 0, PAGE_SIZE,
				     IOMMU_IOAS_MAP_READABLE);

	/* Flags */
	test_err_ioctl_ioas_map_file(EOPNOTSUPP, self->mfd, 0, self->size,
				     MAP_RW | (1 << 3));
	test_err_ioctl_ioas_map_file(EOPNOTSUPP, self->mfd, 0, self->size,
				     MAP_RW | (1U << 31));
	test_err_ioctl_ioas_map_file(EINVAL, self->mfd, 0, self->size, 0);
	test_err_ioctl_ioas_map_file(EINVAL, self->mfd, 0, self->size,
				     IOMMU_IOAS_MAP_FIXED_IOVA);

	/* Length */
	test_err_ioctl_ioas_map_file(EINVAL, self->mfd, 0, 0, MAP_RW);
	test_err_ioctl_ioas_map_file(EOVERFLOW, self->mfd, 0, UINT64_MAX,
				     MAP_RW);
	test_err_ioctl_ioas_map_file(EOVERFLOW, self->mfd,
				     UINT64_MAX & ~(uint64_t)(PAGE_SIZE - 1),
				     2 * PAGE_SIZE, MAP_RW);
	test_err_ioctl_ioas_map_file(EOVERFLOW, self->mfd, UINT64_MAX,
				     PAGE_SIZE, MAP_RW);
	iova = UINT64_MAX & ~(uint64_t)(PAGE_SIZE - 1);
	EXPECT_EQ(-EOVERFLOW, _test_ioctl_ioas_map_file(self->fd, self->ioas_id,
							self->mfd, 0, 2 * PAGE_SIZE,
							&iova,
							IOMMU_IOAS_MAP_FIXED_IOVA |
							MAP_RW));

	/* IDs */
	EXPECT_EQ(-ENOENT, _test_ioctl_ioas_map_file(self->fd,
						     self->ioas_id + 1000,
						     self->mfd, 0,
						     self->size, &iova,
						     MAP_RW));
	if (variant->mock_domains)
		EXPECT_EQ(-ENOENT, _test_ioctl_ioas_map_file(self->fd,
							     self->hwpt_ids[0],
							     self->mfd, 0,
							     self->size, &iova,
							     MAP_RW));

	/* Overlap */
	test_ioctl_ioas_map_file_fixed(self->mfd, 0, self->size,
				       MOCK_APERTURE_START);
	test_err_ioctl_ioas_map_file(EEXIST, self->mfd, 0, PAGE_SIZE,
				     IOMMU_IOAS_MAP_FIXED_IOVA | MAP_RW);
	test_ioctl_ioas_unmap(MOCK_APERTURE_START, self->size);

	/*
	 * Too short for the struct: a raw ioctl, _test_ioctl_ioas_map_file()
	 * always passes a whole one
	 */
	short_cmd.ioas_id = self->ioas_id;
	short_cmd.fd = self->mfd;
	short_cmd.length = self->size;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, IOMMU_IOAS_MAP_FILE, &short_cmd));
}

TEST_F_TIMEOUT(map_file, pin_balance, MAP_FILE_TIMEOUT)
{
	size_t plen = self->size - 3 * PAGE_SIZE < MAX_ACCESS_PAGES ?
			      self->size - 3 * PAGE_SIZE :
			      MAX_ACCESS_PAGES;
	__u32 access_pages_id;
	__u32 access_id;
	long before, after;
	uint8_t tmp[64];
	uint64_t iova;
	int tries;

	before = pins_outstanding();
	if (before < 0)
		SKIP(return, "needs root for /proc/sys/vm/stat_refresh");

	for (tries = 0; tries != 3; tries++) {
		test_cmd_create_access(self->ioas_id, &access_id,
				       MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
		test_ioctl_ioas_map_file(self->mfd, PAGE_SIZE,
					 self->size - PAGE_SIZE, &iova);
		test_cmd_access_pages(access_id, iova + PAGE_SIZE, plen, NULL,
				      0, &access_pages_id);
		test_cmd_access_rw(access_id, iova, tmp, sizeof(tmp),
				   MOCK_ACCESS_RW_SLOW_PATH);
		test_cmd_destroy_access_pages(access_id, access_pages_id);
		test_cmd_access_rw(access_id, iova + self->size - 2 * PAGE_SIZE,
				   tmp, sizeof(tmp), 0);
		test_ioctl_ioas_unmap(iova, self->size - PAGE_SIZE);
		test_cmd_destroy_access(access_id);

		/* Other users of pins in the system can disturb the count */
		after = pins_outstanding();
		if (after == before)
			break;
		before = after;
	}
	ASSERT_NE(3, tries);
}

/* Pages of PAGE_SIZE that bytes @start to @start + @length - 1 touch */
static long pages_spanned(uint64_t start, uint64_t length)
{
	return (start + length + PAGE_SIZE - 1) / PAGE_SIZE - start / PAGE_SIZE;
}

/*
 * FOLL_PIN references held right after partial unmaps that cut folios: the
 * file is mapped as three areas whose boundaries fall inside folios (inside
 * the first and the last folio for 2M folios, inside the one 1G folio), so
 * each area pins only its part of a folio. With a domain every mapped page
 * holds exactly one pin, whatever the folio size; without one nothing is
 * pinned. After the last unmap nothing is pinned, the file truncates and
 * hugetlb gets every page back.
 */
TEST_F_TIMEOUT(map_file, partial_unmap_pins, MAP_FILE_TIMEOUT)
{
	uint64_t cuts[4] = { 0, 3 * PAGE_SIZE,
			     self->size - self->folio_size / 2 + 5 * PAGE_SIZE,
			     self->size };
	long per_page = variant->mock_domains ? 1 : 0;
	long want[4], got[4], before, free0 = 0;
	unsigned int i, tries;

	/* 4K shmem: cut at a page, there is no folio to split */
	if (self->folio_size == PAGE_SIZE)
		cuts[2] = self->size - 5 * PAGE_SIZE;
	if (pins_outstanding() < 0)
		SKIP(return, "needs root for /proc/sys/vm/stat_refresh");
	if (variant->backing == BACKING_HUGETLB_2M ||
	    variant->backing == BACKING_HUGETLB_1G)
		free0 = hugetlb_free_now(self->folio_size);

	want[0] = per_page * (self->size / PAGE_SIZE);
	want[1] = per_page * ((cuts[1] + cuts[3] - cuts[2]) / PAGE_SIZE);
	want[2] = per_page * ((cuts[3] - cuts[2]) / PAGE_SIZE);
	want[3] = 0;

	for (tries = 0; tries != 3; tries++) {
		before = pins_outstanding();
		for (i = 0; i != 3; i++)
			test_ioctl_ioas_map_file_fixed(self->mfd, cuts[i],
						       cuts[i + 1] - cuts[i],
						       MOCK_APERTURE_START +
						       cuts[i]);
		got[0] = pins_outstanding() - before;
		check_mock_iova(self->buf, MOCK_APERTURE_START, self->size);

		/* The middle area, which ends inside a folio */
		test_ioctl_ioas_unmap(MOCK_APERTURE_START + cuts[1],
				      cuts[2] - cuts[1]);
		got[1] = pins_outstanding() - before;
		test_err_ioctl_ioas_unmap(ENOENT, MOCK_APERTURE_START + cuts[1],
					  cuts[2] - cuts[1]);
		/* The rest of the cut folios still maps the right pages */
		check_mock_iova(self->buf, MOCK_APERTURE_START, cuts[1]);
		check_mock_iova(self->buf + cuts[2],
				MOCK_APERTURE_START + cuts[2],
				cuts[3] - cuts[2]);

		test_ioctl_ioas_unmap(MOCK_APERTURE_START, cuts[1]);
		got[2] = pins_outstanding() - before;
		check_mock_iova(self->buf + cuts[2],
				MOCK_APERTURE_START + cuts[2],
				cuts[3] - cuts[2]);

		test_ioctl_ioas_unmap(MOCK_APERTURE_START + cuts[2],
				      cuts[3] - cuts[2]);
		got[3] = pins_outstanding() - before;

		if (!memcmp(got, want, sizeof(got)))
			break;
		/* Other users of pins in the system can disturb the count */
		TH_LOG("pins %ld %ld %ld %ld, want %ld %ld %ld %ld", got[0],
		       got[1], got[2], got[3], want[0], want[1], want[2],
		       want[3]);
	}
	ASSERT_NE(3, tries);

	/* Nothing holds the folios any more: the file can go */
	ASSERT_EQ(0, ftruncate(self->mfd, 0));
	if (free0 >= 0 && (variant->backing == BACKING_HUGETLB_2M ||
			   variant->backing == BACKING_HUGETLB_1G)) {
		long nr = self->size / self->folio_size;

		ASSERT_EQ(free0 + nr, hugetlb_free(self->folio_size,
						   free0 + nr));
	}
}

/*
 * A start and a length that are not folio (nor page) aligned, and its first
 * half, mapped into two areas, so two iopt_pages pin the same folios; once
 * with the default temp memory and once with the smallest, where every pin
 * and every batch ends inside a folio. The domain must map exactly the
 * file's pages and the pins must come back to zero.
 */
TEST_F_TIMEOUT(map_file, unaligned_offsets, MAP_FILE_TIMEOUT)
{
	uint64_t start = 5 * PAGE_SIZE + MOCK_PAGE_SIZE;
	uint64_t length = self->size - start - 3 * PAGE_SIZE - MOCK_PAGE_SIZE;
	/* Half of it, so that two 1G folio maps fit in the mock aperture */
	uint64_t length2 = length / 2 / MOCK_PAGE_SIZE * MOCK_PAGE_SIZE;
	long per_map = variant->mock_domains ? pages_spanned(start, length) :
					       0;
	long per_map2 = variant->mock_domains ? pages_spanned(start, length2) :
						0;
	unsigned int limit, tries;
	long before, got[3];
	uint64_t iova1, iova2;

	if (pins_outstanding() < 0)
		SKIP(return, "needs root for /proc/sys/vm/stat_refresh");

	for (limit = 0; limit != 2; limit++) {
		if (limit)
			test_ioctl_set_temp_memory_limit(16);
		for (tries = 0; tries != 3; tries++) {
			before = pins_outstanding();
			test_ioctl_ioas_map_file(self->mfd, start, length,
						 &iova1);
			ASSERT_EQ(start % PAGE_SIZE, iova1 % PAGE_SIZE);
			check_mock_iova(self->buf + start, iova1, length);
			got[0] = pins_outstanding() - before;

			test_ioctl_ioas_map_file(self->mfd, start, length2,
						 &iova2);
			check_mock_iova(self->buf + start, iova2, length2);
			got[1] = pins_outstanding() - before;

			test_ioctl_ioas_unmap(iova1, length);
			check_mock_iova(self->buf + start, iova2, length2);
			test_ioctl_ioas_unmap(iova2, length2);
			got[2] = pins_outstanding() - before;

			if (got[0] == per_map &&
			    got[1] == per_map + per_map2 && !got[2])
				break;
			TH_LOG("pins %ld %ld %ld, want %ld %ld 0", got[0],
			       got[1], got[2], per_map, per_map + per_map2);
		}
		ASSERT_NE(3, tries);
	}
	test_ioctl_set_default_memory_limit();
}

static long meminfo_kb(const char *key)
{
	size_t klen = strlen(key);
	char line[128];
	long val = -1;
	FILE *f;

	f = fopen("/proc/meminfo", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			val = strtol(line + klen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return val;
}

/*
 * One mapping over a shmem file with small folios, a hole and huge folios:
 * the first 1M is written with THP off (4K folios), the next 1M is left for
 * the pin to allocate, the last 4M are written as 2M folios. Every page must
 * be mapped to the file's page and pinned once, also through a small temp
 * memory limit, and nothing is left pinned after the unmap.
 */
TEST_F_TIMEOUT(map_file, mixed_folio_sizes, MAP_FILE_TIMEOUT)
{
	const size_t size = 3 * SZ_2M;
	long huge0, before, got[2];
	unsigned int limit, tries;
	char choice[32];
	uint8_t *buf;
	uint64_t iova;
	int mfd;

	if (variant->backing != BACKING_THP)
		SKIP(return, "mixes folio sizes of the THP shmem backing");
	if (pins_outstanding() < 0)
		SKIP(return, "needs root for /proc/sys/vm/stat_refresh");
	ASSERT_EQ(0, read_choice(THP_KNOB, choice, sizeof(choice)));

	mfd = memfd_create("mixed", MFD_CLOEXEC);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, ftruncate(mfd, size));
	buf = mmap_aligned(mfd, size, SZ_2M);
	ASSERT_NE(MAP_FAILED, buf);

	ASSERT_EQ(0, p2p_write_str(THP_KNOB, "never"));
	fill_pattern(buf, SZ_2M / 2, 5);
	ASSERT_EQ(0, p2p_write_str(THP_KNOB, "advise"));
	huge0 = meminfo_kb("ShmemHugePages");
	ASSERT_EQ(0, madvise(buf + SZ_2M, 2 * SZ_2M, MADV_HUGEPAGE));
	fill_pattern(buf + SZ_2M, 2 * SZ_2M, 6);
	ASSERT_EQ(0, p2p_write_str(THP_KNOB, choice));
	if (meminfo_kb("ShmemHugePages") < huge0 + 2 * (long)(SZ_2M >> 10)) {
		munmap(buf, size);
		close(mfd);
		SKIP(return, "shmem did not allocate 2M folios");
	}

	for (limit = 0; limit != 2; limit++) {
		if (limit)
			test_ioctl_set_temp_memory_limit(16);
		for (tries = 0; tries != 3; tries++) {
			before = pins_outstanding();
			test_ioctl_ioas_map_file(mfd, 0, size, &iova);
			/* The pin filled the hole: compare after it */
			check_mock_iova(buf, iova, size);
			got[0] = pins_outstanding() - before;
			test_ioctl_ioas_unmap(iova, size);
			got[1] = pins_outstanding() - before;
			if (got[0] == (variant->mock_domains ?
					       (long)(size / PAGE_SIZE) : 0) &&
			    !got[1])
				break;
			TH_LOG("pins %ld %ld", got[0], got[1]);
		}
		ASSERT_NE(3, tries);
	}
	test_ioctl_set_default_memory_limit();
	munmap(buf, size);
	close(mfd);
}

/* The fd's access mode bounds the mapping both ways: O_WRONLY gives no reads */
TEST_F_TIMEOUT(map_file, write_only_fd, MAP_FILE_TIMEOUT)
{
	char path[64];
	uint64_t iova;
	int wfd;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", self->mfd);
	wfd = open(path, O_WRONLY);
	ASSERT_LE(0, wfd);

	test_err_ioctl_ioas_map_file(EPERM, wfd, 0, self->size, MAP_RW);
	test_err_ioctl_ioas_map_file(EPERM, wfd, 0, self->size,
				     IOMMU_IOAS_MAP_READABLE);
	/* Nothing was left behind: the whole range is still free */
	test_ioctl_ioas_map_file_fixed(self->mfd, 0, self->size,
				       MOCK_APERTURE_START);
	test_ioctl_ioas_unmap(MOCK_APERTURE_START, self->size);

	/* A write-only mapping is what the fd allows */
	ASSERT_EQ(0, _test_ioctl_ioas_map_file(self->fd, self->ioas_id, wfd, 0,
					       self->size, &iova,
					       IOMMU_IOAS_MAP_WRITEABLE));
	check_mock_iova(self->buf, iova, self->size);
	test_ioctl_ioas_unmap(iova, self->size);
	close(wfd);
}

/*
 * File pages do not depend on the mm of the process that mapped them: a
 * child maps and exits, then the parent attaches another domain (pins,
 * for the no-domain variants) and reads through an in-kernel access.
 */
TEST_F_TIMEOUT(map_file, mapper_exited, MAP_FILE_TIMEOUT)
{
	uint32_t stdev_id, hwpt_id;
	uint8_t tmp[64];
	__u32 access_id;
	uint64_t iova = MOCK_APERTURE_START;
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(_test_ioctl_ioas_map_file(self->fd, self->ioas_id,
						self->mfd, 0, self->size,
						&iova,
						IOMMU_IOAS_MAP_FIXED_IOVA |
						MAP_RW) ? 1 : 0);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	test_cmd_mock_domain(self->ioas_id, &stdev_id, &hwpt_id, NULL);
	ASSERT_EQ(0, _check_mock_iova(self->fd, hwpt_id, self->buf, iova,
				      self->size));
	check_mock_iova(self->buf, iova, self->size);

	test_cmd_create_access(self->ioas_id, &access_id,
			       MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
	test_cmd_access_rw(access_id, iova + self->size - sizeof(tmp), tmp,
			   sizeof(tmp), MOCK_ACCESS_RW_SLOW_PATH);
	ASSERT_EQ(0, memcmp(tmp, self->buf + self->size - sizeof(tmp),
			    sizeof(tmp)));
	test_cmd_destroy_access(access_id);
	test_ioctl_destroy(stdev_id);
	test_ioctl_ioas_unmap(iova, self->size);
}

#define HUGETLB_2M_SYSFS "/sys/kernel/mm/hugepages/hugepages-2048kB/"

/* Counters of the 2M pool: free and reserved pages */
static long hugetlb_2m(const char *what)
{
	char path[128];

	snprintf(path, sizeof(path), HUGETLB_2M_SYSFS "%s_hugepages", what);
	return read_long(path);
}

/*
 * Pinning a hugetlb memfd that nothing faulted or fallocated: the folios are
 * allocated by the pin.  They must be accounted like a fault's, so the pool
 * counters come back to where they were, another mapping's reservation is
 * not taken, and device writes land in the file.
 */
FIXTURE(hugetlb_unfaulted)
{
	int fd;
	uint32_t ioas_id;
	uint32_t stdev_id;
	uint32_t hwpt_id;
	int mfd;
	long free0, rsvd0;
	long overcommit;
};

#define OVERCOMMIT "/proc/sys/vm/nr_overcommit_hugepages"

FIXTURE_SETUP(hugetlb_unfaulted)
{
	self->fd = -1;
	self->mfd = -1;
	/* Surplus pages would let a pin past the pool succeed */
	self->overcommit = read_long(OVERCOMMIT);
	if (self->overcommit > 0 && p2p_write_str(OVERCOMMIT, "0"))
		SKIP(return, "cannot turn off %s", OVERCOMMIT);
	if (hugetlb_free(SZ_2M, 4) < 4)
		SKIP(return, "needs 4 free 2M hugetlb pages");
	self->free0 = hugetlb_2m("free");
	self->rsvd0 = hugetlb_2m("resv");
	ASSERT_LE(0, self->rsvd0);

	self->mfd = memfd_create("unfaulted", MFD_CLOEXEC | MFD_HUGETLB |
						      MFD_HUGE_2MB);
	ASSERT_LE(0, self->mfd);
	ASSERT_EQ(0, ftruncate(self->mfd, 2 * SZ_2M));
	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->fd);
	test_ioctl_ioas_alloc(&self->ioas_id);
	test_cmd_mock_domain(self->ioas_id, &self->stdev_id, &self->hwpt_id,
			     NULL);
}

FIXTURE_TEARDOWN(hugetlb_unfaulted)
{
	char val[32];

	if (self->overcommit > 0) {
		snprintf(val, sizeof(val), "%ld", self->overcommit);
		p2p_write_str(OVERCOMMIT, val);
	}
	if (self->fd >= 0)
		teardown_iommufd(self->fd, _metadata);
	if (self->mfd >= 0)
		close(self->mfd);
}

TEST_F_TIMEOUT(hugetlb_unfaulted, counters_balance, MAP_FILE_TIMEOUT)
{
	static const char msg[] = "written through the IOMMU";
	uint8_t tmp[sizeof(msg)];
	__u32 access_id;
	uint8_t *buf;
	uint64_t iova;

	test_ioctl_ioas_map_file(self->mfd, 0, 2 * SZ_2M, &iova);
	/* Never below what it was: an underflow shows as a huge count */
	EXPECT_EQ(self->rsvd0, hugetlb_2m("resv"));
	EXPECT_EQ(self->free0 - 2, hugetlb_2m("free"));

	/* A device write lands in the file */
	test_cmd_create_access(self->ioas_id, &access_id, 0);
	memcpy(tmp, msg, sizeof(msg));
	test_cmd_access_rw(access_id, iova + SZ_2M + 100, tmp, sizeof(tmp),
			   MOCK_ACCESS_RW_WRITE);
	test_cmd_destroy_access(access_id);
	buf = mmap(NULL, 2 * SZ_2M, PROT_READ, MAP_SHARED, self->mfd, 0);
	ASSERT_NE(MAP_FAILED, buf);
	EXPECT_EQ(0, memcmp(buf + SZ_2M + 100, msg, sizeof(msg)));
	munmap(buf, 2 * SZ_2M);

	test_ioctl_ioas_unmap(iova, 2 * SZ_2M);
	/* The page cache still holds the folios until the file goes */
	EXPECT_EQ(self->rsvd0, hugetlb_2m("resv"));
	close(self->mfd);
	self->mfd = -1;
	EXPECT_EQ(self->free0, hugetlb_free(SZ_2M, self->free0));
	EXPECT_EQ(self->rsvd0, hugetlb_2m("resv"));
}

TEST_F_TIMEOUT(hugetlb_unfaulted, keeps_others_reservations,
	       MAP_FILE_TIMEOUT)
{
	size_t other_size;
	uint8_t *other;
	int omfd, ret;
	long avail;
	uint64_t iova;

	/* Another task reserves all but one available page, not faulted */
	avail = self->free0 - self->rsvd0;
	if (avail < 4)
		SKIP(return, "needs 4 unreserved 2M hugetlb pages");
	other_size = (avail - 1) * SZ_2M;
	omfd = memfd_create("other", MFD_CLOEXEC | MFD_HUGETLB | MFD_HUGE_2MB);
	ASSERT_LE(0, omfd);
	ASSERT_EQ(0, ftruncate(omfd, other_size));
	other = mmap(NULL, other_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		     omfd, 0);
	ASSERT_NE(MAP_FAILED, other);
	ASSERT_EQ(self->free0 - 1, hugetlb_2m("resv"));

	/* Two pages wanted, one can be had without taking a reservation */
	ret = _test_ioctl_ioas_map_file(self->fd, self->ioas_id, self->mfd, 0,
					2 * SZ_2M, &iova, MAP_RW);
	EXPECT_EQ(-ENOMEM, ret);
	if (!ret)
		test_ioctl_ioas_unmap(iova, 2 * SZ_2M);
	EXPECT_EQ(self->free0 - 1, hugetlb_2m("resv"));

	/* The other task still gets what it reserved, up to its last page */
	memset(other + other_size - SZ_2M, 0x5a, 64);
	EXPECT_EQ(0x5a, other[other_size - SZ_2M + 63]);
	munmap(other, other_size);
	close(omfd);
	close(self->mfd);
	self->mfd = -1;
	EXPECT_EQ(self->free0, hugetlb_free(SZ_2M, self->free0));
	EXPECT_EQ(self->rsvd0, hugetlb_2m("resv"));
}

/*
 * Unmapping an area whose middle is still used by copies in another IOAS.
 * The area's storage domain is unmapped up to the end of a physically
 * contiguous run in one go, and the pages the copies use are then skipped
 * in between.  Nothing may read an IOVA of that domain after it was
 * unmapped; the mock domain warns when it is asked for one, which taints
 * the kernel.  2M hugetlbfs guarantees the contiguous run.  The variants
 * map the same file with IOMMU_IOAS_MAP_FILE and, through a MAP_SHARED
 * mapping of it, with IOMMU_IOAS_MAP.
 */
#define TAINT_WARN_BIT 512UL	/* TAINT_WARN, bit 9 */
/* Where the fuzzer found it: 28 pages at file offset 0x15000 */
#define SLICES_START 0x15000UL
#define SLICES_PAGES 28

FIXTURE(unmap_slices)
{
	int fd;
	int mfd;
	uint8_t *buf;
	uint32_t src_ioas_id, dst_ioas_id;
	uint32_t src_stdev_id, src_hwpt_id;
	uint32_t dst_stdev_id, dst_hwpt_id;
};

FIXTURE_VARIANT(unmap_slices)
{
	bool map_file;
};

FIXTURE_VARIANT_ADD(unmap_slices, map_file)
{
	.map_file = true,
};

FIXTURE_VARIANT_ADD(unmap_slices, ioas_map)
{
	.map_file = false,
};

FIXTURE_SETUP(unmap_slices)
{
	self->fd = -1;
	self->buf = NULL;
	self->mfd = -1;
	if (hugetlb_free(SZ_2M, 1) < 1)
		SKIP(return, "needs 1 free 2M hugetlb page");
	self->mfd = memfd_create("unmap_slices", MFD_CLOEXEC | MFD_HUGETLB |
				 MFD_HUGE_2MB);
	ASSERT_LE(0, self->mfd);
	ASSERT_EQ(0, ftruncate(self->mfd, SZ_2M));
	self->buf = mmap_aligned(self->mfd, SZ_2M, SZ_2M);
	ASSERT_NE(MAP_FAILED, self->buf);
	fill_pattern(self->buf, SZ_2M, 3);

	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_NE(-1, self->fd);
	test_ioctl_ioas_alloc(&self->src_ioas_id);
	test_ioctl_ioas_alloc(&self->dst_ioas_id);
	test_cmd_mock_domain(self->src_ioas_id, &self->src_stdev_id,
			     &self->src_hwpt_id, NULL);
	test_cmd_mock_domain(self->dst_ioas_id, &self->dst_stdev_id,
			     &self->dst_hwpt_id, NULL);
}

FIXTURE_TEARDOWN(unmap_slices)
{
	teardown_iommufd(self->fd, _metadata);
	if (self->buf && self->buf != MAP_FAILED)
		munmap(self->buf, SZ_2M);
	if (self->mfd >= 0)
		close(self->mfd);
}

TEST_F_TIMEOUT(unmap_slices, two_copied_slices, MAP_FILE_TIMEOUT)
{
	/* Two slices with a hole between them, both inside the run */
	static const struct { unsigned int first, n; } slice[] = {
		{ 4, 2 }, { 8, 2 },
	};
	size_t len = SLICES_PAGES * PAGE_SIZE;
	uint8_t *ptr = self->buf + SLICES_START;
	uint64_t iova = MOCK_APERTURE_START + SLICES_START;
	__u64 dst_iova[ARRAY_SIZE(slice)];
	long taint;
	unsigned int i;

	taint = read_long("/proc/sys/kernel/tainted");
	ASSERT_LE(0, taint);
	if (taint & TAINT_WARN_BIT)
		SKIP(return, "the kernel has warned already, a new warning would not show");

	if (variant->map_file) {
		ASSERT_EQ(0, _test_ioctl_ioas_map_file(self->fd,
						       self->src_ioas_id,
						       self->mfd, SLICES_START,
						       len, &iova,
						       IOMMU_IOAS_MAP_FIXED_IOVA |
						       MAP_RW));
	} else {
		test_ioctl_ioas_map_fixed_id(self->src_ioas_id, ptr, len, iova);
	}
	ASSERT_EQ(0, _check_mock_iova(self->fd, self->src_hwpt_id, ptr, iova,
				      len));

	for (i = 0; i != ARRAY_SIZE(slice); i++) {
		dst_iova[i] = MOCK_APERTURE_START + i * SZ_2M;
		ASSERT_EQ(0, _test_ioctl_ioas_copy(self->fd, self->dst_ioas_id,
						   dst_iova[i],
						   self->src_ioas_id,
						   iova + slice[i].first *
								  PAGE_SIZE,
						   slice[i].n * PAGE_SIZE,
						   MAP_RW));
	}

	test_ioctl_ioas_unmap_id(self->src_ioas_id, iova, len);
	EXPECT_EQ(0, read_long("/proc/sys/kernel/tainted") & TAINT_WARN_BIT);

	/* The copies keep their pages */
	for (i = 0; i != ARRAY_SIZE(slice); i++)
		ASSERT_EQ(0, _check_mock_iova(self->fd, self->dst_hwpt_id,
					      ptr + slice[i].first * PAGE_SIZE,
					      dst_iova[i],
					      slice[i].n * PAGE_SIZE));
	for (i = 0; i != ARRAY_SIZE(slice); i++)
		test_ioctl_ioas_unmap_id(self->dst_ioas_id, dst_iova[i],
					 slice[i].n * PAGE_SIZE);
	EXPECT_EQ(0, read_long("/proc/sys/kernel/tainted") & TAINT_WARN_BIT);
}

TEST_HARNESS_MAIN
