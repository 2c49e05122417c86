// SPDX-License-Identifier: GPL-2.0
/*
 * IOMMU_IOAS_MAP_FILE of dma-bufs, against iommufd's mock exporter and mock
 * domains (CONFIG_IOMMUFD_TEST): the IOPTEs each domain holds are read back
 * and compared with the physical ranges of the dma-buf, mapped, revoked
 * (none left), restored (the same ones back) and copied.  Also every errno,
 * emulated access and split refusal, foreign exporters (udmabuf, vgem
 * through libdrm) that must leave nothing attached, and no pinning.
 *
 * Runs in the VM without a vIOMMU, where the mock domains are not shadowed.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/iommufd.h>
#include <linux/udmabuf.h>
#include <linux/vfio.h>
#include <xf86drm.h>

#include "compat.h"
#include "../iommu/iommufd_utils.h"
#include "p2p_utils.h"

#define MAX_RANGES 4
#define DMABUF_AREAS "/sys/kernel/debug/iommufd/dmabuf_areas"
/* Fails the importer's iommu_map() in any context, kworkers included */
#define FAIL_MAP "/sys/kernel/debug/fail_iommufd_dmabuf_map"

static __attribute__((constructor)) void setup_sizes(void)
{
	PAGE_SIZE = sysconf(_SC_PAGE_SIZE);
}

/* A mock dma-buf of @nr ranges of @pages[i] pages; fd or -errno */
static int mock_dmabuf(int fd, const unsigned int *pages, unsigned int nr,
		       uint32_t open_flags, uint32_t flags,
		       struct iommu_test_dmabuf_range *r)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_DMABUF_GET_RANGES,
		.dmabuf_get_ranges = {
			.open_flags = open_flags,
			.nr_ranges = nr,
			.ranges = (uintptr_t)r,
			.flags = flags,
		},
	};
	unsigned int i;
	int ret;

	for (i = 0; i < nr; i++)
		r[i].length = (uint64_t)pages[i] * PAGE_SIZE;
	ret = ioctl(fd, IOMMU_TEST_CMD, &cmd);
	return ret < 0 ? -errno : ret;
}

static int mock_revoke(int fd, int dfd, bool revoked)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_DMABUF_REVOKE,
		.dmabuf_revoke = { .dmabuf_fd = dfd, .revoked = revoked },
	};

	return ioctl(fd, IOMMU_TEST_CMD, &cmd) ? -errno : 0;
}

/* Attachments of any dma-buf; -errno */
static int dmabuf_attachments(int fd, int dfd)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_DMABUF_QUERY,
		.dmabuf_query = { .dmabuf_fd = dfd },
	};

	if (ioctl(fd, IOMMU_TEST_CMD, &cmd))
		return -errno;
	return cmd.dmabuf_query.out_nr_attachments;
}

static int read_iopte(int fd, uint32_t hwpt, uint64_t iova, uint64_t *phys,
		      uint32_t *flags)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_MD_READ_IOPTE,
		.id = hwpt,
		.md_read_iopte = { .iova = iova },
	};

	if (ioctl(fd, IOMMU_TEST_CMD, &cmd))
		return -errno;
	*phys = cmd.md_read_iopte.out_phys;
	*flags = cmd.md_read_iopte.out_flags;
	return 0;
}

/*
 * Check the IOPTEs of @hwpt for the dma-buf bytes [@start, @start + @len)
 * mapped at @iova: each page maps the physical address of its range, as
 * MMIO without CACHE, writeable iff @write.  With @revoked, nothing may be
 * mapped.  Returns the number of bad pages.
 */
static int check_iova(struct __test_metadata *_metadata, int fd,
		      uint32_t hwpt, const struct iommu_test_dmabuf_range *r,
		      unsigned int nr, uint64_t start, uint64_t len,
		      uint64_t iova, bool write, bool revoked)
{
	uint64_t off = 0, phys;
	unsigned int i;
	uint32_t flags;
	int bad = 0, ret;

	for (i = 0; i < nr; i++) {
		uint64_t p;

		for (p = 0; p < r[i].length; p += PAGE_SIZE, off += PAGE_SIZE) {
			if (off < start || off >= start + len)
				continue;
			ret = read_iopte(fd, hwpt, iova + off - start, &phys,
					 &flags);
			if (revoked) {
				if (ret != -ENOENT) {
					TH_LOG("iova %#llx still mapped after revoke",
					       (unsigned long long)(iova + off - start));
					bad++;
				}
				continue;
			}
			if (ret || phys != r[i].out_phys + p ||
			    !(flags & MOCK_IOPTE_MMIO) ||
			    (flags & MOCK_IOPTE_CACHE) ||
			    !(flags & MOCK_IOPTE_READ) ||
			    !!(flags & MOCK_IOPTE_WRITE) != write) {
				TH_LOG("iova %#llx: ret %d phys %#llx flags %#x, want %#llx",
				       (unsigned long long)(iova + off - start),
				       ret, (unsigned long long)phys, flags,
				       (unsigned long long)(r[i].out_phys + p));
				bad++;
			}
		}
	}
	return bad;
}

/*
 * Counter @name ("restores", "restore_errors", "retries", ...) of the
 * first line of DMABUF_AREAS; -1 if there is no line or no such field.
 * Only the test of the debugfs text reads it; the others ask
 * IOMMU_TEST_OP_DMABUF_AREAS.
 */
static long area_counter(const char *name)
{
	char line[512], key[64];
	long val = -1;
	char *p;
	FILE *f;

	f = fopen(DMABUF_AREAS, "r");
	if (!f)
		return -1;
	snprintf(key, sizeof(key), " %s ", name);
	if (fgets(line, sizeof(line), f)) {
		p = strstr(line, key);
		if (p)
			val = strtol(p + strlen(key), NULL, 10);
	}
	fclose(f);
	return val;
}

/* Make every iommu_map() of a dma-buf area fail (@on) or work again */
static int fail_map(bool on)
{
	if (!on)
		return p2p_write_str(FAIL_MAP "/times", "0") ||
		       p2p_write_str(FAIL_MAP "/probability", "0");
	return p2p_write_str(FAIL_MAP "/verbose", "0") ||
	       p2p_write_str(FAIL_MAP "/task-filter", "N") ||
	       p2p_write_str(FAIL_MAP "/interval", "1") ||
	       p2p_write_str(FAIL_MAP "/space", "0") ||
	       p2p_write_str(FAIL_MAP "/probability", "100") ||
	       p2p_write_str(FAIL_MAP "/times", "-1");
}

FIXTURE(dmabuf) {
	int fd;
	uint32_t ioas_id;
	uint32_t hwpt_ids[2];
	uint32_t stdev_ids[2];
	int dfd;
	struct iommu_test_dmabuf_range r[MAX_RANGES];
	uint64_t size;
};

FIXTURE_VARIANT(dmabuf) {
	unsigned int mock_domains;
	unsigned int nr;
	unsigned int pages[MAX_RANGES];
};

FIXTURE_VARIANT_ADD(dmabuf, one_range_no_domain) {
	.mock_domains = 0, .nr = 1, .pages = { 8 },
};

FIXTURE_VARIANT_ADD(dmabuf, one_range_mock_domain) {
	.mock_domains = 1, .nr = 1, .pages = { 8 },
};

FIXTURE_VARIANT_ADD(dmabuf, three_ranges_mock_domain) {
	.mock_domains = 1, .nr = 3, .pages = { 2, 1, 5 },
};

FIXTURE_VARIANT_ADD(dmabuf, three_ranges_two_mock_domains) {
	.mock_domains = 2, .nr = 3, .pages = { 3, 4, 1 },
};

FIXTURE_SETUP(dmabuf)
{
	unsigned int i;

	self->dfd = -1;
	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->fd);
	test_ioctl_ioas_alloc(&self->ioas_id);
	ASSERT_EQ(0, p2p_allow_mock_aperture(self->fd, self->ioas_id));
	for (i = 0; i != variant->mock_domains; i++)
		test_cmd_mock_domain(self->ioas_id, &self->stdev_ids[i],
				     &self->hwpt_ids[i], NULL);
	self->dfd = mock_dmabuf(self->fd, variant->pages, variant->nr,
				O_RDWR | O_CLOEXEC, 0, self->r);
	ASSERT_LE(0, self->dfd);
	self->size = 0;
	for (i = 0; i < variant->nr; i++)
		self->size += self->r[i].length;
	ASSERT_EQ((off_t)self->size, lseek(self->dfd, 0, SEEK_END));
}

FIXTURE_TEARDOWN(dmabuf)
{
	/* A test that failed while injecting must not break the next one */
	if (!access(FAIL_MAP, F_OK))
		fail_map(false);
	teardown_iommufd(self->fd, _metadata);
	if (self->dfd >= 0)
		close(self->dfd);
}

/* Check every mock domain of the fixture */
#define check_all(_start, _len, _iova, _write, _revoked)                     \
	({                                                                     \
		unsigned int __i;                                              \
									       \
		for (__i = 0; __i != variant->mock_domains; __i++)             \
			EXPECT_EQ(0, check_iova(_metadata, self->fd,           \
						self->hwpt_ids[__i], self->r,  \
						variant->nr, _start, _len,     \
						_iova, _write, _revoked));     \
	})

TEST_F(dmabuf, map_layout)
{
	uint64_t iova = 0;

	test_ioctl_ioas_map_file(self->dfd, 0, self->size, &iova);
	check_all(0, self->size, iova, true, false);
	EXPECT_EQ(1, dmabuf_attachments(self->fd, self->dfd));
	EXPECT_EQ(1, p2p_areas(self->fd).mapped);

	/* A domain attached after the map gets the same IOPTEs */
	if (variant->mock_domains < 2) {
		uint32_t hwpt;

		test_cmd_mock_domain(self->ioas_id, NULL, &hwpt, NULL);
		EXPECT_EQ(0, check_iova(_metadata, self->fd, hwpt, self->r,
					variant->nr, 0, self->size, iova,
					true, false));
	}

	test_ioctl_ioas_unmap(iova, self->size);
	check_all(0, self->size, iova, true, true);
	/* The unmap released the attachment */
	EXPECT_EQ(0, dmabuf_attachments(self->fd, self->dfd));
	EXPECT_EQ(0, p2p_areas_global().nr);
}

/* A slice that starts inside the second page and ends before the last */
TEST_F(dmabuf, map_slice)
{
	uint64_t start = PAGE_SIZE, len = self->size - 2 * PAGE_SIZE;
	uint64_t iova = MOCK_APERTURE_START + 64 * PAGE_SIZE;

	test_ioctl_ioas_map_file_fixed(self->dfd, start, len, iova);
	check_all(start, len, iova, true, false);
	test_ioctl_ioas_unmap(iova, len);
}

TEST_F(dmabuf, bounds)
{
	test_err_ioctl_ioas_map_file(EINVAL, self->dfd, 0, 0, MAP_RW);
	test_err_ioctl_ioas_map_file(EINVAL, self->dfd, 0,
				     self->size + PAGE_SIZE, MAP_RW);
	test_err_ioctl_ioas_map_file(EINVAL, self->dfd, self->size, PAGE_SIZE,
				     MAP_RW);
	test_err_ioctl_ioas_map_file(EINVAL, self->dfd, PAGE_SIZE, self->size,
				     MAP_RW);
	test_err_ioctl_ioas_map_file(EOVERFLOW, self->dfd, -PAGE_SIZE,
				     2 * PAGE_SIZE, MAP_RW);
	test_err_ioctl_ioas_map_file(EINVAL, self->dfd, 0, PAGE_SIZE, 0);
	test_err_ioctl_ioas_map_file(EBADF, 1000, 0, PAGE_SIZE, MAP_RW);
	EXPECT_EQ(0, dmabuf_attachments(self->fd, self->dfd));
}

TEST_F(dmabuf, revoke_restore)
{
	struct p2p_areas areas;
	uint64_t iova = 0;

	test_ioctl_ioas_map_file(self->dfd, 0, self->size, &iova);
	check_all(0, self->size, iova, true, false);

	ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, true));
	check_all(0, self->size, iova, true, true);
	EXPECT_EQ(1, p2p_areas(self->fd).revoked);
	/* Revoking twice is harmless */
	ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, true));

	/* Restored with no userspace remap: the same IOPTEs are back */
	ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, false));
	check_all(0, self->size, iova, true, false);
	areas = p2p_areas(self->fd);
	EXPECT_EQ(1, areas.nr);
	EXPECT_EQ(1, areas.revokes);
	EXPECT_EQ(1, areas.restores);

	/* And again */
	ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, true));
	check_all(0, self->size, iova, true, true);
	ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, false));
	check_all(0, self->size, iova, true, false);
	test_ioctl_ioas_unmap(iova, self->size);
}

/* A domain attached while revoked is mapped at the restore */
TEST_F(dmabuf, attach_while_revoked)
{
	uint64_t iova = 0;
	uint32_t hwpt;

	test_ioctl_ioas_map_file(self->dfd, 0, self->size, &iova);
	ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, true));
	test_cmd_mock_domain(self->ioas_id, NULL, &hwpt, NULL);
	EXPECT_EQ(0, check_iova(_metadata, self->fd, hwpt, self->r,
				variant->nr, 0, self->size, iova, true, true));
	ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, false));
	EXPECT_EQ(0, check_iova(_metadata, self->fd, hwpt, self->r,
				variant->nr, 0, self->size, iova, true,
				false));
	check_all(0, self->size, iova, true, false);
}

/*
 * A restore whose iommu_map() fails leaves the IOPTEs absent, and the
 * importer retries on its own: once the maps work again the same IOPTEs
 * come back with no userspace action, and every failure and the success
 * are counted.
 */
TEST_F(dmabuf, restore_retry)
{
	long errors, retries;
	uint64_t iova = 0;
	int ms;

	if (access(FAIL_MAP, F_OK))
		SKIP(return, "no %s (CONFIG_IOMMUFD_TEST, CONFIG_FAULT_INJECTION_DEBUG_FS)",
		     FAIL_MAP);
	test_ioctl_ioas_map_file(self->dfd, 0, self->size, &iova);
	check_all(0, self->size, iova, true, false);
	ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, true));

	ASSERT_EQ(0, fail_map(true));
	/* The exporter's restore itself succeeds; the importer's map fails */
	EXPECT_EQ(0, mock_revoke(self->fd, self->dfd, false));
	if (!variant->mock_domains) {
		/* Nothing to map: restored at once, whatever fails */
		ASSERT_EQ(0, fail_map(false));
		EXPECT_EQ(1, p2p_areas(self->fd).mapped);
		EXPECT_EQ(1, p2p_areas(self->fd).restores);
		EXPECT_EQ(0, p2p_areas(self->fd).restore_errors);
		EXPECT_EQ(0, p2p_areas(self->fd).retries);
		test_ioctl_ioas_unmap(iova, self->size);
		return;
	}
	check_all(0, self->size, iova, true, true);
	EXPECT_EQ(1, p2p_areas(self->fd).revoked);
	EXPECT_LE(1, p2p_areas(self->fd).restore_errors);

	/* Retries keep failing while the maps fail: still nothing mapped */
	p2p_sleep_ms(500);
	check_all(0, self->size, iova, true, true);
	errors = p2p_areas(self->fd).restore_errors;
	retries = p2p_areas(self->fd).retries;
	EXPECT_LE(2, errors);
	EXPECT_LE(1, retries);
	EXPECT_EQ(0, p2p_areas(self->fd).restores);

	/* Maps work again: the IOPTEs come back within the backoff cap */
	ASSERT_EQ(0, fail_map(false));
	for (ms = 0; ms < 5000; ms += 10) {
		if (p2p_areas(self->fd).mapped == 1)
			break;
		p2p_sleep_ms(10);
	}
	ASSERT_EQ(1, p2p_areas(self->fd).mapped) {
		TH_LOG("not restored %d ms after the maps work again", ms);
	}
	TH_LOG("restored %d ms after the maps work again", ms);
	check_all(0, self->size, iova, true, false);
	/* The one restore is the retry that succeeded */
	EXPECT_EQ(1, p2p_areas(self->fd).restores);
	EXPECT_LE(errors, p2p_areas(self->fd).restore_errors);
	EXPECT_LT(retries, p2p_areas(self->fd).retries);
	/* Every failure but move_notify's was a retry, plus the success */
	EXPECT_EQ(p2p_areas(self->fd).restore_errors, p2p_areas(self->fd).retries);

	/* Nothing is left retrying: a later revoke and restore are as usual */
	ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, true));
	check_all(0, self->size, iova, true, true);
	ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, false));
	check_all(0, self->size, iova, true, false);
	test_ioctl_ioas_unmap(iova, self->size);
}

/*
 * Unmapping, or closing everything, while a retry is pending: the retry
 * stops with the last area, and the release waits for it.
 */
TEST_F(dmabuf, restore_retry_unmap)
{
	uint64_t iova = 0;

	if (access(FAIL_MAP, F_OK))
		SKIP(return, "no %s (CONFIG_IOMMUFD_TEST, CONFIG_FAULT_INJECTION_DEBUG_FS)",
		     FAIL_MAP);
	test_ioctl_ioas_map_file(self->dfd, 0, self->size, &iova);
	ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, true));
	ASSERT_EQ(0, fail_map(true));
	EXPECT_EQ(0, mock_revoke(self->fd, self->dfd, false));
	p2p_sleep_ms(50);
	test_ioctl_ioas_unmap(iova, self->size);
	EXPECT_EQ(0, dmabuf_attachments(self->fd, self->dfd));
	EXPECT_EQ(0, p2p_areas_global().nr);

	/* And once more, dropping the whole iommufd instead */
	iova = 0;
	ASSERT_EQ(0, fail_map(false));
	test_ioctl_ioas_map_file(self->dfd, 0, self->size, &iova);
	ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, true));
	ASSERT_EQ(0, fail_map(true));
	EXPECT_EQ(0, mock_revoke(self->fd, self->dfd, false));
	p2p_sleep_ms(50);
	ASSERT_EQ(0, close(self->fd));
	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->fd);
	EXPECT_EQ(0, dmabuf_attachments(self->fd, self->dfd));
	EXPECT_EQ(0, p2p_areas_global().nr);
	ASSERT_EQ(0, fail_map(false));
}

/* Mapping a revoked dma-buf: ENODEV, and nothing stays attached */
TEST_F(dmabuf, map_revoked)
{
	uint64_t iova = 0;

	ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, true));
	test_err_ioctl_ioas_map_file(ENODEV, self->dfd, 0, self->size, MAP_RW);
	EXPECT_EQ(0, dmabuf_attachments(self->fd, self->dfd));
	ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, false));
	test_ioctl_ioas_map_file(self->dfd, 0, self->size, &iova);
	check_all(0, self->size, iova, true, false);
}

/* What an upstream VMM does around a reset: unmap, and map again after */
TEST_F(dmabuf, unmap_map_around_revoke)
{
	uint64_t iova = MOCK_APERTURE_START, iova2;

	test_ioctl_ioas_map_file_fixed(self->dfd, 0, self->size, iova);
	ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, true));
	test_ioctl_ioas_unmap(iova, self->size);
	ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, false));
	iova2 = iova;
	test_ioctl_ioas_map_file_fixed(self->dfd, 0, self->size, iova2);
	check_all(0, self->size, iova, true, false);
	EXPECT_EQ(1, dmabuf_attachments(self->fd, self->dfd));
}

TEST_F(dmabuf, copy_follows_source)
{
	uint64_t iova = 0, dst = MOCK_APERTURE_START + (1ULL << 24);
	struct iommu_ioas_copy copy = {
		.size = sizeof(copy),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | MAP_RW,
		.length = 0,
	};
	uint32_t ioas2, hwpt2;

	test_ioctl_ioas_map_file(self->dfd, 0, self->size, &iova);
	test_ioctl_ioas_alloc(&ioas2);
	test_cmd_mock_domain(ioas2, NULL, &hwpt2, NULL);
	copy.dst_ioas_id = ioas2;
	copy.src_ioas_id = self->ioas_id;
	copy.dst_iova = dst;
	copy.src_iova = iova;
	copy.length = self->size;
	ASSERT_EQ(0, ioctl(self->fd, IOMMU_IOAS_COPY, &copy));
	EXPECT_EQ(0, check_iova(_metadata, self->fd, hwpt2, self->r,
				variant->nr, 0, self->size, dst, true, false));

	ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, true));
	check_all(0, self->size, iova, true, true);
	EXPECT_EQ(0, check_iova(_metadata, self->fd, hwpt2, self->r,
				variant->nr, 0, self->size, dst, true, true));
	ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, false));
	check_all(0, self->size, iova, true, false);
	EXPECT_EQ(0, check_iova(_metadata, self->fd, hwpt2, self->r,
				variant->nr, 0, self->size, dst, true, false));

	/* The copy outlives the source's unmap, with one attachment */
	test_ioctl_ioas_unmap(iova, self->size);
	EXPECT_EQ(1, dmabuf_attachments(self->fd, self->dfd));
	EXPECT_EQ(0, check_iova(_metadata, self->fd, hwpt2, self->r,
				variant->nr, 0, self->size, dst, true, false));
	test_ioctl_ioas_unmap_id(ioas2, dst, self->size);
	EXPECT_EQ(0, dmabuf_attachments(self->fd, self->dfd));
}

TEST_F(dmabuf, access_refused)
{
	uint64_t iova = 0;
	uint32_t access_id, pages_id;
	char buf[64];

	test_ioctl_ioas_map_file(self->dfd, 0, self->size, &iova);
	test_cmd_create_access(self->ioas_id, &access_id,
			       MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
	EXPECT_ERRNO(EINVAL, _test_cmd_access_pages(self->fd, access_id, iova,
						    PAGE_SIZE, NULL, 0,
						    &pages_id));
	EXPECT_ERRNO(EINVAL, _test_cmd_access_rw(self->fd, access_id, iova,
						 buf, sizeof(buf), 0));
	EXPECT_ERRNO(EINVAL, _test_cmd_access_rw(self->fd, access_id, iova,
						 buf, sizeof(buf),
						 MOCK_ACCESS_RW_WRITE));
	test_cmd_destroy_access(access_id);
	check_all(0, self->size, iova, true, false);
}

/* The write permission of the mapping follows the dma-buf fd's mode */
TEST_F(dmabuf, write_needs_rdwr_fd)
{
	struct iommu_test_dmabuf_range r[MAX_RANGES];
	uint64_t iova = 0;
	int ro;

	ro = mock_dmabuf(self->fd, variant->pages, variant->nr,
			 O_RDONLY | O_CLOEXEC, 0, r);
	ASSERT_LE(0, ro);
	test_err_ioctl_ioas_map_file(EPERM, ro, 0, self->size, MAP_RW);
	EXPECT_EQ(0, dmabuf_attachments(self->fd, ro));
	ASSERT_EQ(0, _test_ioctl_ioas_map_file(self->fd, self->ioas_id, ro, 0, self->size,
					       &iova, IOMMU_IOAS_MAP_READABLE));
	memcpy(self->r, r, sizeof(r));
	check_all(0, self->size, iova, false, false);
	test_ioctl_ioas_unmap(iova, self->size);
	close(ro);
}

/* And the read permission: an O_WRONLY dma-buf gives no READABLE mapping */
TEST_F(dmabuf, read_needs_readable_fd)
{
	struct iommu_test_dmabuf_range r[MAX_RANGES];
	uint64_t iova = 0, phys;
	unsigned int i;
	uint32_t flags;
	int wo;

	wo = mock_dmabuf(self->fd, variant->pages, variant->nr,
			 O_WRONLY | O_CLOEXEC, 0, r);
	ASSERT_LE(0, wo);
	test_err_ioctl_ioas_map_file(EPERM, wo, 0, self->size, MAP_RW);
	test_err_ioctl_ioas_map_file(EPERM, wo, 0, self->size,
				     IOMMU_IOAS_MAP_READABLE);
	/* Refused before anything was attached */
	EXPECT_EQ(0, dmabuf_attachments(self->fd, wo));
	ASSERT_EQ(0, _test_ioctl_ioas_map_file(self->fd, self->ioas_id, wo, 0, self->size,
					       &iova, IOMMU_IOAS_MAP_WRITEABLE));
	for (i = 0; i != variant->mock_domains; i++) {
		ASSERT_EQ(0, read_iopte(self->fd, self->hwpt_ids[i], iova,
					&phys, &flags));
		EXPECT_EQ(r[0].out_phys, phys);
		EXPECT_EQ(MOCK_IOPTE_WRITE | MOCK_IOPTE_MMIO,
			  flags & (MOCK_IOPTE_READ | MOCK_IOPTE_WRITE |
				   MOCK_IOPTE_MMIO | MOCK_IOPTE_CACHE));
	}
	test_ioctl_ioas_unmap(iova, self->size);
	close(wo);
}

/* vfio type1 compat unmaps can cut areas; a dma-buf area is not cut */
TEST_F(dmabuf, split_refused)
{
	struct iommu_vfio_ioas vfio_ioas = {
		.size = sizeof(vfio_ioas),
		.op = IOMMU_VFIO_IOAS_SET,
	};
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
	};
	uint64_t iova = MOCK_APERTURE_START;
	uint32_t ioas;

	/* type1 v1 compat (small pages, cuts at unmap) on a fresh IOAS */
	test_ioctl_ioas_alloc(&ioas);
	vfio_ioas.ioas_id = ioas;
	ASSERT_EQ(0, ioctl(self->fd, IOMMU_VFIO_IOAS, &vfio_ioas));
	ASSERT_EQ(0, ioctl(self->fd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU));
	ASSERT_EQ(0, _test_ioctl_ioas_map_file(self->fd, ioas, self->dfd, 0, self->size, &iova,
					       MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA));
	unmap.iova = iova + PAGE_SIZE;
	unmap.size = PAGE_SIZE;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, VFIO_IOMMU_UNMAP_DMA, &unmap));
	/* The whole area still unmaps */
	unmap.iova = iova;
	unmap.size = self->size;
	EXPECT_EQ(0, ioctl(self->fd, VFIO_IOMMU_UNMAP_DMA, &unmap));
	EXPECT_EQ(self->size, unmap.size);
}

/* MMIO is never pinned */
TEST_F(dmabuf, no_pins)
{
	long before = pins_outstanding();
	uint64_t iova = 0;

	if (before < 0)
		SKIP(return, "no FOLL_PIN counters in /proc/vmstat");
	test_ioctl_ioas_map_file(self->dfd, 0, self->size, &iova);
	EXPECT_EQ(before, pins_outstanding());
	test_ioctl_ioas_unmap(iova, self->size);
}

/* A udmabuf over a memfd: another exporter */
static int make_udmabuf(size_t size, int *memfd)
{
	struct udmabuf_create create = { .flags = UDMABUF_FLAGS_CLOEXEC };
	int dev, fd;

	dev = open("/dev/udmabuf", O_RDWR);
	if (dev < 0)
		return -1;
	*memfd = memfd_create("udmabuf", MFD_ALLOW_SEALING);
	if (*memfd < 0 || ftruncate(*memfd, size) ||
	    fcntl(*memfd, F_ADD_SEALS, F_SEAL_SHRINK)) {
		close(dev);
		return -1;
	}
	create.memfd = *memfd;
	create.size = size;
	fd = ioctl(dev, UDMABUF_CREATE, &create);
	close(dev);
	return fd;
}

TEST_F(dmabuf, foreign_udmabuf)
{
	int memfd = -1, fd;

	fd = make_udmabuf(4 * PAGE_SIZE, &memfd);
	if (fd < 0)
		SKIP(return, "no udmabuf (CONFIG_UDMABUF)");
	test_err_ioctl_ioas_map_file(EOPNOTSUPP, fd, 0, 4 * PAGE_SIZE, MAP_RW);
	EXPECT_EQ(0, dmabuf_attachments(self->fd, fd));
	/* Nothing of it stayed mapped or pinned either */
	test_err_ioctl_ioas_unmap(ENOENT, MOCK_APERTURE_START, 4 * PAGE_SIZE);
	close(fd);
	close(memfd);
}

/* A vgem PRIME buffer, made through libdrm: another exporter */
TEST_F(dmabuf, foreign_vgem)
{
	struct drm_mode_create_dumb dumb = {
		.width = 1024, .height = 4, .bpp = 32,
	};
	drmVersionPtr ver;
	int card, fd = -1;
	char path[32];
	int i;

	for (i = 0, card = -1; i < 8 && card < 0; i++) {
		snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		card = open(path, O_RDWR | O_CLOEXEC);
		if (card < 0)
			continue;
		ver = drmGetVersion(card);
		if (!ver || strcmp(ver->name, "vgem")) {
			close(card);
			card = -1;
		}
		drmFreeVersion(ver);
	}
	if (card < 0)
		SKIP(return, "no vgem device (CONFIG_DRM_VGEM)");
	ASSERT_EQ(0, drmIoctl(card, DRM_IOCTL_MODE_CREATE_DUMB, &dumb));
	ASSERT_EQ(0, drmPrimeHandleToFD(card, dumb.handle, DRM_CLOEXEC | DRM_RDWR,
					&fd));
	ASSERT_LE(0, fd);
	test_err_ioctl_ioas_map_file(EOPNOTSUPP, fd, 0, PAGE_SIZE, MAP_RW);
	EXPECT_EQ(0, dmabuf_attachments(self->fd, fd));
	close(fd);
	close(card);
}

/* Large IOPTEs: a 1 MiB aligned range on a domain with 1 MiB pages */
FIXTURE(dmabuf_huge) {
	int fd;
	uint32_t ioas_id;
	uint32_t hwpt;
};

FIXTURE_SETUP(dmabuf_huge)
{
	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->fd);
	test_ioctl_ioas_alloc(&self->ioas_id);
	test_cmd_mock_domain_flags(self->ioas_id, MOCK_FLAGS_DEVICE_HUGE_IOVA,
				   NULL, &self->hwpt, NULL);
}

FIXTURE_TEARDOWN(dmabuf_huge)
{
	teardown_iommufd(self->fd, _metadata);
}

static void huge_case(struct __test_metadata *_metadata,
		      struct _test_data_dmabuf_huge *self, uint32_t flags,
		      bool want_huge)
{
	unsigned int pages = (1U << 20) / PAGE_SIZE;
	struct iommu_test_dmabuf_range r;
	uint64_t iova = 0, phys;
	uint32_t ioflags;
	int dfd;

	dfd = mock_dmabuf(self->fd, &pages, 1, O_RDWR, flags, &r);
	ASSERT_LE(0, dfd);
	test_ioctl_ioas_map_file(dfd, 0, r.length, &iova);
	/* An aligned range gets an IOVA that keeps the physical alignment */
	if (want_huge)
		EXPECT_EQ(r.out_phys & ((1U << 20) - 1),
			  iova & ((1U << 20) - 1));
	ASSERT_EQ(0, read_iopte(self->fd, self->hwpt, iova, &phys, &ioflags));
	EXPECT_EQ(r.out_phys, phys);
	EXPECT_EQ(want_huge, !!(ioflags & MOCK_IOPTE_HUGE));
	test_ioctl_ioas_unmap(iova, r.length);
	close(dfd);
}

TEST_F(dmabuf_huge, aligned)
{
	huge_case(_metadata, self, 0, true);
}

TEST_F(dmabuf_huge, misaligned)
{
	huge_case(_metadata, self, MOCK_DMABUF_MISALIGN, false);
}

/*
 * The IOVA alignment that follows the physical address of a dma-buf is a
 * hint: without a hole at that alignment, automatic IOVA falls back to
 * 2M, then PAGE_SIZE, and only then fails with ENOSPC.  The dma-buf is one
 * 4M range of an order-10 block, so the ideal alignment is 4M; the IOAS
 * allows exactly one window, placed so that the best alignment in it is
 * known.
 */
#define ALIGN_SIZE	(4ULL << 20)
#define ALIGN_BASE	0x40000000ULL	/* 4M aligned, in the mock aperture */

FIXTURE(dmabuf_align) {
	int fd;
	uint32_t ioas_id;
	uint32_t hwpt;
	int dfd;
	struct iommu_test_dmabuf_range r;
};

FIXTURE_SETUP(dmabuf_align)
{
	unsigned int pages = ALIGN_SIZE / PAGE_SIZE;

	self->dfd = -1;
	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->fd);
	test_ioctl_ioas_alloc(&self->ioas_id);
	test_cmd_mock_domain(self->ioas_id, NULL, &self->hwpt, NULL);
	self->dfd = mock_dmabuf(self->fd, &pages, 1, O_RDWR | O_CLOEXEC, 0,
				&self->r);
	ASSERT_LE(0, self->dfd);
	ASSERT_EQ(0, self->r.out_phys % ALIGN_SIZE);
}

FIXTURE_TEARDOWN(dmabuf_align)
{
	teardown_iommufd(self->fd, _metadata);
	if (self->dfd >= 0)
		close(self->dfd);
}

/* Allow only [@start, @start + @len) in the IOAS */
static int allow_window(int fd, uint32_t ioas_id, uint64_t start,
			uint64_t len)
{
	struct iommu_iova_range range = { .start = start,
					  .last = start + len - 1 };
	struct iommu_ioas_allow_iovas allow = {
		.size = sizeof(allow),
		.ioas_id = ioas_id,
		.num_iovas = 1,
		.allowed_iovas = (uintptr_t)&range,
	};

	return ioctl(fd, IOMMU_IOAS_ALLOW_IOVAS, &allow) ? -errno : 0;
}

/* Largest power of two that divides @iova */
static uint64_t iova_align(uint64_t iova)
{
	return iova & -iova;
}

static void align_case(struct __test_metadata *_metadata,
		       struct _test_data_dmabuf_align *self, uint64_t start,
		       uint64_t want_align)
{
	uint64_t iova = 0;

	ASSERT_EQ(0, allow_window(self->fd, self->ioas_id, start,
				  ALIGN_SIZE));
	test_ioctl_ioas_map_file(self->dfd, 0, ALIGN_SIZE, &iova);
	EXPECT_EQ(start, iova);
	EXPECT_EQ(want_align, iova_align(iova));
	EXPECT_EQ(0, check_iova(_metadata, self->fd, self->hwpt, &self->r, 1,
				0, ALIGN_SIZE, iova, true, false));
	test_ioctl_ioas_unmap(iova, ALIGN_SIZE);
}

/* A window with room at the ideal alignment gets it (the control case) */
TEST_F(dmabuf_align, ideal)
{
	uint64_t iova = 0;

	ASSERT_EQ(0, allow_window(self->fd, self->ioas_id, ALIGN_BASE,
				  2 * ALIGN_SIZE));
	test_ioctl_ioas_map_file(self->dfd, 0, ALIGN_SIZE, &iova);
	EXPECT_EQ(0, iova % ALIGN_SIZE);
	EXPECT_EQ(0, check_iova(_metadata, self->fd, self->hwpt, &self->r, 1,
				0, ALIGN_SIZE, iova, true, false));
	test_ioctl_ioas_unmap(iova, ALIGN_SIZE);
}

/* The only fitting IOVA is 2M aligned, not 4M */
TEST_F(dmabuf_align, fallback_2m)
{
	align_case(_metadata, self, ALIGN_BASE + (2ULL << 20), 2ULL << 20);
}

/* The only fitting IOVA is PAGE_SIZE aligned, not 2M */
TEST_F(dmabuf_align, fallback_page)
{
	align_case(_metadata, self, ALIGN_BASE + (2ULL << 20) + PAGE_SIZE,
		   PAGE_SIZE);
}

/* The window is holed by a fixed map so that only a 2M aligned gap fits */
TEST_F(dmabuf_align, fallback_2m_fragmented)
{
	unsigned int pages = (2ULL << 20) / PAGE_SIZE;
	struct iommu_test_dmabuf_range r2;
	uint64_t iova = ALIGN_BASE, iova2 = 0;
	int dfd2;

	/* [BASE, BASE + 2M) taken, [BASE + 2M, BASE + 6M) free, then end */
	ASSERT_EQ(0, allow_window(self->fd, self->ioas_id, ALIGN_BASE,
				  ALIGN_SIZE + (2ULL << 20)));
	dfd2 = mock_dmabuf(self->fd, &pages, 1, O_RDWR | O_CLOEXEC, 0, &r2);
	ASSERT_LE(0, dfd2);
	test_ioctl_ioas_map_file_fixed(dfd2, 0, 2ULL << 20, iova);
	test_ioctl_ioas_map_file(self->dfd, 0, ALIGN_SIZE, &iova2);
	EXPECT_EQ(ALIGN_BASE + (2ULL << 20), iova2);
	EXPECT_EQ(0, check_iova(_metadata, self->fd, self->hwpt, &self->r, 1,
				0, ALIGN_SIZE, iova2, true, false));
	EXPECT_EQ(0, check_iova(_metadata, self->fd, self->hwpt, &r2, 1, 0,
				2ULL << 20, iova, true, false));
	test_ioctl_ioas_unmap(iova2, ALIGN_SIZE);
	test_ioctl_ioas_unmap(iova, 2ULL << 20);
	close(dfd2);
}

/* No window of the size at any alignment: ENOSPC, nothing attached */
TEST_F(dmabuf_align, enospc)
{
	ASSERT_EQ(0, allow_window(self->fd, self->ioas_id,
				  ALIGN_BASE + PAGE_SIZE,
				  ALIGN_SIZE - PAGE_SIZE));
	test_err_ioctl_ioas_map_file(ENOSPC, self->dfd, 0, ALIGN_SIZE, MAP_RW);
	EXPECT_EQ(0, dmabuf_attachments(self->fd, self->dfd));
	EXPECT_EQ(0, p2p_areas_global().nr);
}

/*
 * Automatic IOVA congruent to the physical address modulo the largest
 * IOPTE size the slice can use, for any start offset.  The dma-buf is two
 * 4M ranges, each an order-10 block (so 4M aligned); the IOAS allows
 * windows from CONG_BASE, so the lowest congruent IOVA is known exactly.
 */
#define SZ_2M		(2ULL << 20)
#define SZ_4M		(4ULL << 20)
#define CONG_BASE	0x40000000ULL	/* 1G aligned, in the mock aperture */

FIXTURE(dmabuf_congruent) {
	int fd;
	uint32_t ioas_id;
	uint32_t hwpt;
	int dfd;
	struct iommu_test_dmabuf_range r[2];
};

FIXTURE_SETUP(dmabuf_congruent)
{
	unsigned int pages[2] = { SZ_4M / PAGE_SIZE, SZ_4M / PAGE_SIZE };

	self->dfd = -1;
	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->fd);
	test_ioctl_ioas_alloc(&self->ioas_id);
	test_cmd_mock_domain(self->ioas_id, NULL, &self->hwpt, NULL);
	self->dfd = mock_dmabuf(self->fd, pages, 2, O_RDWR | O_CLOEXEC, 0,
				self->r);
	ASSERT_LE(0, self->dfd);
	ASSERT_EQ(0, self->r[0].out_phys % SZ_4M);
	ASSERT_EQ(0, self->r[1].out_phys % SZ_4M);
}

FIXTURE_TEARDOWN(dmabuf_congruent)
{
	teardown_iommufd(self->fd, _metadata);
	if (self->dfd >= 0)
		close(self->dfd);
}

/* Allow exactly the @nr windows [@starts[i], @starts[i] + @lens[i]) */
static int allow_windows(int fd, uint32_t ioas_id, const uint64_t *starts,
			 const uint64_t *lens, unsigned int nr)
{
	struct iommu_iova_range ranges[4];
	struct iommu_ioas_allow_iovas allow = {
		.size = sizeof(allow),
		.ioas_id = ioas_id,
		.num_iovas = nr,
		.allowed_iovas = (uintptr_t)ranges,
	};
	unsigned int i;

	for (i = 0; i < nr; i++) {
		ranges[i].start = starts[i];
		ranges[i].last = starts[i] + lens[i] - 1;
	}
	return ioctl(fd, IOMMU_IOAS_ALLOW_IOVAS, &allow) ? -errno : 0;
}

/* Is @iova congruent to @phys modulo @size? */
static bool congruent(uint64_t iova, uint64_t phys, uint64_t size)
{
	return !((iova - phys) & (size - 1));
}

/*
 * Map the slice [@start, @start + @len) at an automatic IOVA inside one
 * 64M window at CONG_BASE, check it is @want and every IOPTE is right.
 */
static void cong_case(struct __test_metadata *_metadata,
		      struct _test_data_dmabuf_congruent *self,
		      uint64_t start, uint64_t len, uint64_t want)
{
	uint64_t wstart = CONG_BASE, wlen = 64ULL << 20, iova = 0;

	ASSERT_EQ(0, allow_windows(self->fd, self->ioas_id, &wstart, &wlen,
				   1));
	test_ioctl_ioas_map_file(self->dfd, start, len, &iova);
	EXPECT_EQ(want, iova);
	EXPECT_EQ(0, check_iova(_metadata, self->fd, self->hwpt, self->r, 2,
				start, len, iova, true, false));
	test_ioctl_ioas_unmap(iova, len);
}

/* 4K into a range: congruent modulo 2M, the lowest such IOVA */
TEST_F(dmabuf_congruent, offset_4k)
{
	cong_case(_metadata, self, PAGE_SIZE, SZ_4M - PAGE_SIZE,
		  CONG_BASE + PAGE_SIZE);
	EXPECT_TRUE(congruent(CONG_BASE + PAGE_SIZE,
			      self->r[0].out_phys + PAGE_SIZE, SZ_2M));
}

/*
 * 2M+4K into the first range, into the second: the first range has no
 * whole 2M block left, the second does, and both agree modulo 2M.
 */
TEST_F(dmabuf_congruent, offset_2m_4k_multi_range)
{
	uint64_t start = SZ_2M + PAGE_SIZE, iova = CONG_BASE + PAGE_SIZE;

	cong_case(_metadata, self, start, 2 * SZ_4M - start, iova);
	EXPECT_TRUE(congruent(iova, self->r[0].out_phys + start, SZ_2M));
	/* Byte 0 of the second range is at slice offset 4M - start */
	EXPECT_TRUE(congruent(iova + SZ_4M - start, self->r[1].out_phys,
			      SZ_2M));
}

/* The last page of a range, then the next range: 4K below congruence */
TEST_F(dmabuf_congruent, offset_end_minus_4k)
{
	uint64_t start = SZ_4M - PAGE_SIZE;
	uint64_t iova = CONG_BASE + SZ_2M - PAGE_SIZE;

	cong_case(_metadata, self, start, SZ_4M + PAGE_SIZE, iova);
	EXPECT_TRUE(congruent(iova + PAGE_SIZE, self->r[1].out_phys, SZ_2M));
}

/* A slice with no whole 2M block gets the lowest page: no IOVA wasted */
TEST_F(dmabuf_congruent, small_slice_lowest)
{
	cong_case(_metadata, self, PAGE_SIZE, 1ULL << 20, CONG_BASE);
}

/* Only a hole of exactly the length: congruence falls back to PAGE_SIZE */
TEST_F(dmabuf_congruent, fallback_small_hole)
{
	uint64_t wstart = CONG_BASE, wlen = SZ_4M - PAGE_SIZE, iova = 0;

	ASSERT_EQ(0, allow_windows(self->fd, self->ioas_id, &wstart, &wlen,
				   1));
	test_ioctl_ioas_map_file(self->dfd, PAGE_SIZE, wlen, &iova);
	EXPECT_EQ(CONG_BASE, iova);
	EXPECT_FALSE(congruent(iova, self->r[0].out_phys + PAGE_SIZE, SZ_2M));
	EXPECT_EQ(0, check_iova(_metadata, self->fd, self->hwpt, self->r, 2,
				PAGE_SIZE, wlen, iova, true, false));
	test_ioctl_ioas_unmap(iova, wlen);
}

/* A higher congruent hole wins over a lower one that only fits */
TEST_F(dmabuf_congruent, prefers_congruent_hole)
{
	uint64_t starts[2] = { CONG_BASE, CONG_BASE + (64ULL << 20) };
	uint64_t lens[2] = { SZ_4M - PAGE_SIZE, 8 * SZ_2M };
	uint64_t iova = 0;

	ASSERT_EQ(0, allow_windows(self->fd, self->ioas_id, starts, lens, 2));
	test_ioctl_ioas_map_file(self->dfd, PAGE_SIZE, lens[0], &iova);
	EXPECT_EQ(starts[1] + PAGE_SIZE, iova);
	EXPECT_EQ(0, check_iova(_metadata, self->fd, self->hwpt, self->r, 2,
				PAGE_SIZE, lens[0], iova, true, false));
	test_ioctl_ioas_unmap(iova, lens[0]);
}

/* ENOSPC only when not even a PAGE_SIZE aligned hole fits */
TEST_F(dmabuf_congruent, enospc)
{
	uint64_t starts[2] = { CONG_BASE, CONG_BASE + (64ULL << 20) };
	uint64_t lens[2] = { SZ_4M - 2 * PAGE_SIZE, SZ_2M };

	ASSERT_EQ(0, allow_windows(self->fd, self->ioas_id, starts, lens, 2));
	test_err_ioctl_ioas_map_file(ENOSPC, self->dfd, PAGE_SIZE,
				     SZ_4M - PAGE_SIZE, MAP_RW);
	EXPECT_EQ(0, dmabuf_attachments(self->fd, self->dfd));
	EXPECT_EQ(0, p2p_areas_global().nr);
}

/*
 * Deferred restore (see the importer's "Deferred restore"): with
 * iommufd.dmabuf_restore_inline=0 every restore is left to a work item,
 * and dmabuf_restore_test_delay_ms holds that work before it takes any
 * lock, so the tests can act while a restore is in flight.  The revoke is
 * always synchronous; any ioctl on the same iommufd but the test ops
 * waits, killable, for its deferred restores.
 */
#define RESTORE_INLINE	"/sys/module/iommufd/parameters/dmabuf_restore_inline"
#define RESTORE_DELAY \
	"/sys/module/iommufd/parameters/dmabuf_restore_test_delay_ms"
/* Long enough that a loaded TCG guest still sees the restore in flight */
#define DEFER_DELAY_MS	"2000"

FIXTURE(dmabuf_deferred) {
	int fd;
	uint32_t ioas_id;
	uint32_t hwpt;
	int dfd;
	struct iommu_test_dmabuf_range r;
	uint64_t iova;
	char inline_saved[32];
};

static int read_str(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

FIXTURE_SETUP(dmabuf_deferred)
{
	unsigned int pages = 16;

	self->dfd = -1;
	self->inline_saved[0] = 0;
	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->fd);
	if (read_str(RESTORE_INLINE, self->inline_saved,
		     sizeof(self->inline_saved)) || access(RESTORE_DELAY, W_OK))
		SKIP(return, "no %s or %s", RESTORE_INLINE, RESTORE_DELAY);
	test_ioctl_ioas_alloc(&self->ioas_id);
	ASSERT_EQ(0, p2p_allow_mock_aperture(self->fd, self->ioas_id));
	test_cmd_mock_domain(self->ioas_id, NULL, &self->hwpt, NULL);
	self->dfd = mock_dmabuf(self->fd, &pages, 1, O_RDWR | O_CLOEXEC, 0,
				&self->r);
	ASSERT_LE(0, self->dfd);
	self->iova = 0;
	test_ioctl_ioas_map_file(self->dfd, 0, self->r.length, &self->iova);
	ASSERT_EQ(0, p2p_write_str(RESTORE_INLINE, "0"));
}

FIXTURE_TEARDOWN(dmabuf_deferred)
{
	if (self->inline_saved[0]) {
		p2p_write_str(RESTORE_DELAY, "0");
		p2p_write_str(RESTORE_INLINE, self->inline_saved);
	}
	if (self->fd >= 0)
		teardown_iommufd(self->fd, _metadata);
	if (self->dfd >= 0)
		close(self->dfd);
}

/* Any iommufd ioctl that is not a test op: waits for deferred restores */
static int flush_restores(int fd)
{
	struct iommu_option cmd = {
		.size = sizeof(cmd),
		.option_id = IOMMU_OPTION_RLIMIT_MODE,
		.op = IOMMU_OPTION_OP_GET,
	};

	return ioctl(fd, IOMMU_OPTION, &cmd) ? -errno : 0;
}

#define DMABUF_DEFERRED "/sys/kernel/debug/iommufd/dmabuf_deferred"

/* Deferred restores in flight over every iommufd; -1 if unreadable */
static long deferred_count(void)
{
	char buf[64];
	long val = -1;

	if (!read_str(DMABUF_DEFERRED, buf, sizeof(buf)))
		sscanf(buf, "deferred %ld", &val);
	return val;
}

#define check_deferred(_revoked)                                              \
	EXPECT_EQ(0, check_iova(_metadata, self->fd, self->hwpt, &self->r, 1, \
				0, self->r.length, self->iova, true,          \
				_revoked))

/*
 * The debugfs text of the one area and of the deferred restores: every
 * field of <debugfs>/iommufd/dmabuf_areas in its place, with the values
 * IOMMU_TEST_OP_DMABUF_AREAS gives, and "deferred <n>".
 */
static void check_debugfs_text(struct __test_metadata *_metadata,
			       struct _test_data_dmabuf_deferred *self)
{
	struct p2p_areas a = p2p_area_at(self->fd, self->ioas_id, self->iova);
	unsigned long first, last, ino, offset, revokes, restores, errors;
	unsigned long retries, deferred;
	unsigned int ioas, domains;
	char exporter[64], source[8], state[16], line[512];
	int pending, n;
	FILE *f;

	ASSERT_TRUE(a.found);
	f = fopen(DMABUF_AREAS, "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(line, sizeof(line), f));
	EXPECT_EQ(NULL, fgets(line + 256, sizeof(line) - 256, f));
	fclose(f);
	n = sscanf(line,
		   "ioas %u iova %lx-%lx dmabuf %lu exporter %63s source %7s offset %lx domains %u state %15s revokes %lu restores %lu restore_errors %lu retries %lu deferred %lu pending %d",
		   &ioas, &first, &last, &ino, exporter, source, &offset,
		   &domains, state, &revokes, &restores, &errors, &retries,
		   &deferred, &pending);
	ASSERT_EQ(15, n) {
		TH_LOG("debugfs line: %s", line);
	}
	EXPECT_EQ(self->ioas_id, ioas);
	EXPECT_EQ(a.first, first);
	EXPECT_EQ(a.last, last);
	EXPECT_STREQ("fd", source);
	EXPECT_EQ(0UL, offset);
	EXPECT_EQ(1U, domains);
	EXPECT_STREQ(a.is_revoked ? "revoked" : "mapped", state);
	EXPECT_EQ(a.revokes, (long)revokes);
	EXPECT_EQ(a.restores, (long)restores);
	EXPECT_EQ(a.restore_errors, (long)errors);
	EXPECT_EQ(a.retries, (long)retries);
	EXPECT_EQ(a.deferred, (long)deferred);
	EXPECT_EQ(a.is_pending, pending);
	EXPECT_EQ(a.nr_deferred, deferred_count());
}

/*
 * The restore returns at once; the IOPTEs are back by the next ioctl.
 * The one test of the debugfs text: it reads the counters there, and
 * checks every field against the test op.
 */
TEST_F(dmabuf_deferred, restore_flushed_by_ioctl)
{
	ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, true));
	check_deferred(true);
	ASSERT_EQ(0, p2p_write_str(RESTORE_DELAY, DEFER_DELAY_MS));
	ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, false));
	/* Test ops do not wait: the restore is still in flight */
	check_deferred(true);
	EXPECT_EQ(1, area_counter("pending"));
	EXPECT_EQ(1, area_counter("deferred"));
	EXPECT_EQ(0, area_counter("restores"));
	EXPECT_EQ(1, deferred_count());
	check_debugfs_text(_metadata, self);

	ASSERT_EQ(0, flush_restores(self->fd));
	check_deferred(false);
	EXPECT_EQ(0, area_counter("pending"));
	EXPECT_EQ(0, deferred_count());
	EXPECT_EQ(1, area_counter("restores"));
	EXPECT_EQ(0, area_counter("retries"));
	check_debugfs_text(_metadata, self);
}

/* A revoke while the restore is in flight wins; the next restore works */
TEST_F(dmabuf_deferred, revoke_while_in_flight)
{
	ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, true));
	ASSERT_EQ(0, p2p_write_str(RESTORE_DELAY, DEFER_DELAY_MS));
	ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, false));
	ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, true));
	check_deferred(true);
	EXPECT_EQ(0, p2p_areas(self->fd).is_pending);
	/* The work ran after the revoke and must have left nothing mapped */
	ASSERT_EQ(0, flush_restores(self->fd));
	p2p_sleep_ms(atoi(DEFER_DELAY_MS) + 200);
	check_deferred(true);
	EXPECT_EQ(0, p2p_areas(self->fd).restores);

	ASSERT_EQ(0, p2p_write_str(RESTORE_DELAY, "0"));
	ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, false));
	ASSERT_EQ(0, flush_restores(self->fd));
	check_deferred(false);
	EXPECT_EQ(1, p2p_areas(self->fd).restores);
	EXPECT_EQ(0, p2p_areas(self->fd).nr_deferred);
}

/* Revoke and restore again while in flight: one restore, none lost */
TEST_F(dmabuf_deferred, restore_again_while_in_flight)
{
	ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, true));
	ASSERT_EQ(0, p2p_write_str(RESTORE_DELAY, DEFER_DELAY_MS));
	ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, false));
	ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, true));
	ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, false));
	check_deferred(true);
	EXPECT_EQ(1, p2p_areas(self->fd).is_pending);
	ASSERT_EQ(0, flush_restores(self->fd));
	check_deferred(false);
	EXPECT_EQ(0, p2p_areas(self->fd).is_pending);
	EXPECT_EQ(1, p2p_areas(self->fd).restores);
	EXPECT_EQ(2, p2p_areas(self->fd).deferred);
}

/* Closing the iommufd (IOAS destroy, unmap, release) while in flight */
TEST_F(dmabuf_deferred, close_while_in_flight)
{
	int fd;

	ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, true));
	ASSERT_EQ(0, p2p_write_str(RESTORE_DELAY, DEFER_DELAY_MS));
	ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, false));
	EXPECT_EQ(1, p2p_areas(self->fd).is_pending);
	EXPECT_EQ(1, p2p_areas(self->fd).nr_deferred);
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	EXPECT_EQ(0, p2p_areas_global().nr);
	/* The release waited for the work or dropped its count */
	EXPECT_EQ(0, p2p_areas_global().nr_deferred);

	fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, dmabuf_attachments(fd, self->dfd));
	close(fd);
}

/* Back to back revoke and restore: never mapped right after a revoke */
TEST_F(dmabuf_deferred, revoke_restore_storm)
{
	unsigned int i, bad = 0;

	for (i = 0; i < 200; i++) {
		ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, true));
		bad += check_iova(_metadata, self->fd, self->hwpt, &self->r,
				  1, 0, self->r.length, self->iova, true,
				  true);
		ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, false));
	}
	EXPECT_EQ(0, bad);
	ASSERT_EQ(0, flush_restores(self->fd));
	check_deferred(false);
	EXPECT_EQ(0, p2p_areas(self->fd).nr_deferred);
}

struct storm {
	int fd;
	uint32_t ioas_id;
	int dfd;
	uint64_t length;
	int errors;
};

static void *storm_map_unmap(void *arg)
{
	struct storm *st = arg;
	unsigned int i;

	for (i = 0; i < 200; i++) {
		struct iommu_ioas_unmap unmap = {
			.size = sizeof(unmap), .ioas_id = st->ioas_id,
		};
		uint64_t iova = 0;
		int ret;

		/* A dma-buf its exporter revoked cannot be mapped: ENODEV */
		ret = _test_ioctl_ioas_map_file(st->fd, st->ioas_id, st->dfd, 0, st->length,
						&iova, MAP_RW);
		if (ret) {
			if (ret != -ENODEV)
				st->errors++;
			continue;
		}
		unmap.iova = iova;
		unmap.length = st->length;
		if (ioctl(st->fd, IOMMU_IOAS_UNMAP, &unmap))
			st->errors++;
	}
	return NULL;
}

/* Areas mapped and unmapped while restores are deferred and revoked */
TEST_F(dmabuf_deferred, unmap_while_deferred)
{
	struct storm st = {
		.fd = self->fd, .ioas_id = self->ioas_id, .dfd = self->dfd,
		.length = self->r.length,
	};
	unsigned int i;
	pthread_t t;

	ASSERT_EQ(0, pthread_create(&t, NULL, storm_map_unmap, &st));
	for (i = 0; i < 200; i++) {
		ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, i & 1));
		if (i % 16 == 0)
			p2p_sleep_ms(1);
	}
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(0, st.errors);
	ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, true));
	check_deferred(true);
	ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, false));
	ASSERT_EQ(0, flush_restores(self->fd));
	check_deferred(false);
	EXPECT_EQ(1, p2p_areas(self->fd).mapped);
	EXPECT_EQ(0, p2p_areas(self->fd).nr_deferred);
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Another iommufd does not wait for this one's deferred restore */
TEST_F(dmabuf_deferred, other_iommufd_does_not_wait)
{
	long long t0, took;
	int fd2;

	fd2 = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, true));
	ASSERT_EQ(0, p2p_write_str(RESTORE_DELAY, DEFER_DELAY_MS));
	ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, false));
	t0 = mono_ms();
	EXPECT_EQ(0, flush_restores(fd2));
	took = mono_ms() - t0;
	/* Had it waited, it would have returned with the IOPTEs back */
	check_deferred(true);
	EXPECT_EQ(1, p2p_areas(self->fd).is_pending);
	EXPECT_GT(atoi(DEFER_DELAY_MS) / 2, took);
	close(fd2);

	ASSERT_EQ(0, flush_restores(self->fd));
	check_deferred(false);
	EXPECT_EQ(0, p2p_areas(self->fd).is_pending);
	EXPECT_EQ(0, p2p_areas(self->fd).nr_deferred);
}

/* A fatal signal ends the wait for a deferred restore; it still lands */
TEST_F(dmabuf_deferred, wait_is_killable)
{
	long long t0, took;
	int status;
	pid_t pid;

	ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, true));
	ASSERT_EQ(0, p2p_write_str(RESTORE_DELAY, "4000"));
	ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, false));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		flush_restores(self->fd);
		_exit(0);
	}
	/* Let the child reach the wait */
	p2p_sleep_ms(500);
	t0 = mono_ms();
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	took = mono_ms() - t0;
	ASSERT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(SIGKILL, WTERMSIG(status));
	/* Killed in the wait, not after the restore */
	EXPECT_GT(2000, took);
	EXPECT_EQ(1, p2p_areas(self->fd).is_pending);
	EXPECT_EQ(1, p2p_areas(self->fd).nr_deferred);
	check_deferred(true);

	ASSERT_EQ(0, flush_restores(self->fd));
	check_deferred(false);
	EXPECT_EQ(0, p2p_areas(self->fd).is_pending);
	EXPECT_EQ(0, p2p_areas(self->fd).nr_deferred);
}

/*
 * A restore is costed in the IOPTE sizes of the domain: the mock domain
 * has PAGE_SIZE / 2 IOPTEs only, so the area costs two per page.
 */
TEST_F(dmabuf_deferred, cost_in_domain_iopte_size)
{
	unsigned long n = self->r.length / (PAGE_SIZE / 2);
	char buf[32];

	ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, true));
	ASSERT_EQ(0, p2p_write_str(RESTORE_DELAY, DEFER_DELAY_MS));
	/* One IOPTE more than allowed, though fewer pages: deferred */
	snprintf(buf, sizeof(buf), "%lu", n - 1);
	ASSERT_EQ(0, p2p_write_str(RESTORE_INLINE, buf));
	ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, false));
	check_deferred(true);
	EXPECT_EQ(1, p2p_areas(self->fd).is_pending);
	ASSERT_EQ(0, flush_restores(self->fd));
	check_deferred(false);

	/* Exactly as many as allowed: inline */
	ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, true));
	snprintf(buf, sizeof(buf), "%lu", n);
	ASSERT_EQ(0, p2p_write_str(RESTORE_INLINE, buf));
	ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, false));
	check_deferred(false);
	EXPECT_EQ(1, p2p_areas(self->fd).deferred);
	EXPECT_EQ(0, p2p_areas(self->fd).is_pending);
}

/* The default threshold: a small area is restored inside the notification */
TEST_F(dmabuf_deferred, small_restore_inline)
{
	ASSERT_EQ(0, p2p_write_str(RESTORE_INLINE, self->inline_saved));
	ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, true));
	ASSERT_EQ(0, p2p_write_str(RESTORE_DELAY, DEFER_DELAY_MS));
	ASSERT_EQ(0, mock_revoke(self->fd, self->dfd, false));
	check_deferred(false);
	EXPECT_EQ(0, p2p_areas(self->fd).deferred);
	EXPECT_EQ(0, p2p_areas(self->fd).is_pending);
}

TEST_HARNESS_MAIN
