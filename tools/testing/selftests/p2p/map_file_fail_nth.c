// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection over IOMMU_IOAS_MAP_FILE: every allocation on the map,
 * pin, access and unmap paths of a memfd mapping, and on the map, revoke,
 * restore, copy and unmap paths of a dma-buf mapping, is failed in turn (the
 * fail_nth machinery of the base iommufd_fail_nth test, which this file
 * includes). Each failure must unwind cleanly: no crash, no WARN, no leak,
 * which the rig checks in the kernel log (KASAN, kmemleak, lockdep).
 *
 * The binary also carries the base file's own tests; the rig runs it with
 * "-f map_file_fail_nth" so that only the tests below run here.
 */
#include "compat.h"
#include "../iommu/iommufd_fail_nth.c"
#include "p2p_utils.h"

/*
 * The sweeps below reach more sites than the base ones (the dma-buf one
 * goes through map, revoke, restore and its retry, copy and unmap): give
 * them more than the harness's 30 s under a debug kernel in TCG.
 */
#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT 300

#define MF_SIZE (64 * 1024)

FIXTURE(map_file_fail_nth)
{
	int fd;
	int mfd;
	uint32_t access_id;
	/* A mock dma-buf of two ranges, made outside injection through sfd */
	int sfd;
	int dfd;
	uint64_t dsize;
};

FIXTURE_SETUP(map_file_fail_nth)
{
	struct iommu_test_dmabuf_range r[2] = {
		{ .length = 2 * PAGE_SIZE }, { .length = PAGE_SIZE },
	};
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_DMABUF_GET_RANGES,
		.dmabuf_get_ranges = { .open_flags = O_RDWR,
				       .nr_ranges = 2,
				       .ranges = (uintptr_t)r },
	};

	self->fd = -1;
	self->access_id = 0;
	/* The file exists before injection starts: it is not under test. */
	self->mfd = memfd_create("fail_nth", 0);
	ASSERT_LE(0, self->mfd);
	ASSERT_EQ(0, ftruncate(self->mfd, MF_SIZE));

	self->sfd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->sfd);
	self->dfd = ioctl(self->sfd, IOMMU_TEST_CMD, &cmd);
	ASSERT_LE(0, self->dfd);
	self->dsize = r[0].length + r[1].length;
}

FIXTURE_TEARDOWN(map_file_fail_nth)
{
	if (self->access_id)
		assert(_test_cmd_destroy_access(self->access_id) == 0);
	teardown_iommufd(self->fd, _metadata);
	close(self->mfd);
	close(self->dfd);
	close(self->sfd);
}

static int dmabuf_revoke(int fd, int dfd, bool revoked)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_DMABUF_REVOKE,
		.dmabuf_revoke = { .dmabuf_fd = dfd, .revoked = revoked },
	};

	return ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

static int mf_map(int fd, uint32_t ioas_id, int mfd, uint64_t *iova)
{
	/* Inside the mock aperture, so a domain can attach later */
	*iova = MOCK_APERTURE_START;
	return _test_ioctl_ioas_map_file(fd, ioas_id, mfd, 0, MF_SIZE, iova,
					 MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA);
}

/* Open the iommufd and allocate an IOAS, both under fault injection. */
static int open_ioas(int *fd, uint32_t *ioas_id)
{
	*fd = open("/dev/iommu", O_RDWR);
	if (*fd == -1)
		return -1;
	return _test_ioctl_ioas_alloc(*fd, ioas_id);
}

/* No domain: map, in-kernel read and write (pins on demand), unmap. */
TEST_FAIL_NTH(map_file_fail_nth, file_map_access_rw)
{
	uint8_t buf[128];
	uint32_t ioas_id;
	uint64_t iova;

	fail_nth_enable();

	if (open_ioas(&self->fd, &ioas_id))
		return -1;
	if (mf_map(self->fd, ioas_id, self->mfd, &iova))
		return -1;
	if (_test_cmd_create_access(self->fd, ioas_id, &self->access_id, 0))
		return -1;
	{
		struct iommu_test_cmd rw = {
			.size = sizeof(rw),
			.op = IOMMU_TEST_OP_ACCESS_RW,
			.id = self->access_id,
			.access_rw = { .iova = iova + PAGE_SIZE - 13,
				       .length = sizeof(buf),
				       .uptr = (uintptr_t)buf },
		};

		if (ioctl(self->fd, _IOMMU_TEST_CMD(IOMMU_TEST_OP_ACCESS_RW), &rw))
			return -1;
		rw.access_rw.flags = MOCK_ACCESS_RW_WRITE;
		if (ioctl(self->fd, _IOMMU_TEST_CMD(IOMMU_TEST_OP_ACCESS_RW), &rw))
			return -1;
	}
	if (_test_ioctl_ioas_unmap(self->fd, ioas_id, iova, MF_SIZE, NULL))
		return -1;
	return 0;
}

/* A mock domain attached first: the map pins the file and fills the domain. */
TEST_FAIL_NTH(map_file_fail_nth, file_map_domain)
{
	uint32_t ioas_id, stdev_id, hwpt_id;
	uint64_t iova;

	fail_nth_enable();

	if (open_ioas(&self->fd, &ioas_id))
		return -1;
	if (_test_cmd_mock_domain(self->fd, ioas_id, &stdev_id, &hwpt_id, NULL))
		return -1;
	if (mf_map(self->fd, ioas_id, self->mfd, &iova))
		return -1;
	if (_test_ioctl_destroy(self->fd, stdev_id))
		return -1;
	if (_test_cmd_mock_domain(self->fd, ioas_id, &stdev_id, &hwpt_id, NULL))
		return -1;
	if (_test_ioctl_ioas_unmap(self->fd, ioas_id, iova, MF_SIZE, NULL))
		return -1;
	return 0;
}

/* In-kernel pinning of a file area, then a domain filled from the pins. */
TEST_FAIL_NTH(map_file_fail_nth, file_access_pin_domain)
{
	uint32_t ioas_id, stdev_id, hwpt_id;
	__u32 access_pages_id;
	uint64_t iova;

	fail_nth_enable();

	if (open_ioas(&self->fd, &ioas_id))
		return -1;
	if (mf_map(self->fd, ioas_id, self->mfd, &iova))
		return -1;
	if (_test_cmd_create_access(self->fd, ioas_id, &self->access_id,
				    MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES))
		return -1;
	{
		struct iommu_test_cmd pin = {
			.size = sizeof(pin),
			.op = IOMMU_TEST_OP_ACCESS_PAGES,
			.id = self->access_id,
			.access_pages = { .iova = iova,
					  .length = 4 * PAGE_SIZE,
					  .uptr = 0 },
		};

		if (ioctl(self->fd, _IOMMU_TEST_CMD(IOMMU_TEST_OP_ACCESS_PAGES), &pin))
			return -1;
		access_pages_id = pin.access_pages.out_access_pages_id;
	}
	if (_test_cmd_mock_domain(self->fd, ioas_id, &stdev_id, &hwpt_id, NULL))
		return -1;
	if (_test_cmd_destroy_access_pages(self->fd, self->access_id, access_pages_id))
		return -1;
	if (_test_ioctl_ioas_unmap(self->fd, ioas_id, iova, MF_SIZE, NULL))
		return -1;
	return 0;
}

/*
 * A dma-buf: map into a mock domain, revoke, restore (whose IOPTE
 * allocations may fail: the area then stays revoked), copy into a second
 * IOAS with its own domain, unmap both.
 */
TEST_FAIL_NTH(map_file_fail_nth, dmabuf_map_revoke_copy)
{
	uint32_t ioas_id, ioas2, stdev_id, hwpt_id;
	uint64_t iova = MOCK_APERTURE_START;

	/* A previous round may have failed while it was revoked */
	if (dmabuf_revoke(self->sfd, self->dfd, false))
		return -1;

	fail_nth_enable();

	if (open_ioas(&self->fd, &ioas_id))
		return -1;
	if (_test_cmd_mock_domain(self->fd, ioas_id, &stdev_id, &hwpt_id, NULL))
		return -1;
	if (_test_ioctl_ioas_map_file(self->fd, ioas_id, self->dfd, 0,
				      self->dsize, &iova,
				      MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA))
		return -1;
	if (dmabuf_revoke(self->fd, self->dfd, true))
		return -1;
	if (dmabuf_revoke(self->fd, self->dfd, false))
		return -1;
	if (_test_ioctl_ioas_alloc(self->fd, &ioas2))
		return -1;
	if (_test_cmd_mock_domain(self->fd, ioas2, NULL, NULL, NULL))
		return -1;
	{
		struct iommu_ioas_copy copy = {
			.size = sizeof(copy),
			.flags = IOMMU_IOAS_MAP_FIXED_IOVA |
				 IOMMU_IOAS_MAP_READABLE,
			.dst_ioas_id = ioas2,
			.src_ioas_id = ioas_id,
			.length = self->dsize,
			.dst_iova = MOCK_APERTURE_START,
			.src_iova = MOCK_APERTURE_START,
		};

		if (ioctl(self->fd, IOMMU_IOAS_COPY, &copy))
			return -1;
	}
	if (_test_ioctl_ioas_unmap(self->fd, ioas_id, MOCK_APERTURE_START,
				   self->dsize, NULL))
		return -1;
	if (_test_ioctl_ioas_unmap(self->fd, ioas2, MOCK_APERTURE_START,
				   self->dsize, NULL))
		return -1;
	return 0;
}
