// SPDX-License-Identifier: GPL-2.0
/*
 * IOMMU_IOAS_MAP_FILE end to end: QEMU's edu device, bound to vfio-pci and
 * attached through /dev/vfio/devices to an IOAS under emulated VT-d, DMAs to
 * and from a memfd mapped with IOMMU_IOAS_MAP_FILE. The data is checked
 * through the memfd itself (pread), not through any user mapping.
 */
#include <linux/iommufd.h>
#include "compat.h"
#include "../kselftest_harness.h"
#include "p2p_utils.h"

#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U
#endif

#define IOVA		0x10000000ULL

FIXTURE(e2e) {
	int iommufd;
	uint32_t ioas;
	struct p2p_dev edu;
	int memfd;
	size_t size;
};

FIXTURE_VARIANT(e2e) {
	unsigned int memfd_flags;
	size_t size;
};

FIXTURE_VARIANT_ADD(e2e, shmem_4k) {
	.memfd_flags = 0,
	.size = 64 * 1024,
};

FIXTURE_VARIANT_ADD(e2e, hugetlb_2m) {
	.memfd_flags = MFD_HUGETLB,
	.size = 2 * 1024 * 1024,
};

FIXTURE_SETUP(e2e)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };

	self->edu.fd = -1;
	self->memfd = -1;
	if (!p2p_dev_present(P2P_EDU0))
		SKIP(return, "edu is not bound to vfio-pci");
	if (p2p_iommu_group(P2P_EDU0) < 0)
		SKIP(return, "no vIOMMU in this VM");
	self->iommufd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->iommufd);
	ASSERT_EQ(0, ioctl(self->iommufd, IOMMU_IOAS_ALLOC, &alloc));
	self->ioas = alloc.out_ioas_id;
	ASSERT_EQ(0, p2p_open_iommufd_dev(&self->edu, P2P_EDU0, self->iommufd, self->ioas)) {
		TH_LOG("attach %s through iommufd: %s", P2P_EDU0, strerror(errno));
	}
	ASSERT_NE(NULL, p2p_map_bar(&self->edu, 0));
	ASSERT_EQ(0, p2p_cmd_bits(&self->edu, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 0));

	self->size = variant->size;
	self->memfd = memfd_create("e2e", variant->memfd_flags);
	if (self->memfd < 0 && variant->memfd_flags)
		SKIP(return, "no hugetlb memfd: %s", strerror(errno));
	ASSERT_LE(0, self->memfd);
	if (ftruncate(self->memfd, self->size) && variant->memfd_flags)
		SKIP(return, "no free 2M huge page: %s", strerror(errno));
	/* Populate with zeroes (hugetlbfs has no write(), use fallocate). */
	ASSERT_EQ(0, fallocate(self->memfd, 0, 0, self->size));
}

FIXTURE_TEARDOWN(e2e)
{
	p2p_dev_close(&self->edu);
	if (self->memfd >= 0)
		close(self->memfd);
	close(self->iommufd);
}

static void memfd_write(int fd, size_t size, uint64_t off, const void *buf, size_t len)
{
	char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		return;
	memcpy(p + off, buf, len);
	munmap(p, size);
}

static void memfd_read(int fd, size_t size, uint64_t off, void *buf, size_t len)
{
	char *p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);

	memset(buf, 0, len);
	if (p == MAP_FAILED)
		return;
	memcpy(buf, p + off, len);
	munmap(p, size);
}

/* memfd -> edu -> another offset of the memfd, all through MAP_FILE IOVAs. */
TEST_F(e2e, dma_reads_and_writes_memfd)
{
	static const char msg[] = "MAP_FILE: edu copied this through the IOMMU";
	uint64_t src = 0x1000, dst = self->size - 0x1000;
	char got[sizeof(msg)];

	memfd_write(self->memfd, self->size, src, msg, sizeof(msg));
	test_ioctl_ioas_map_file_id(self->iommufd, self->ioas, self->memfd, 0,
				    self->size, IOVA, MAP_RW);
	ASSERT_EQ(0, edu_dma(&self->edu, IOVA + src, 0, sizeof(msg), false));
	ASSERT_EQ(0, edu_dma(&self->edu, IOVA + dst, 0, sizeof(msg), true));
	memfd_read(self->memfd, self->size, dst, got, sizeof(got));
	ASSERT_EQ(0, memcmp(got, msg, sizeof(msg)));
	ASSERT_EQ(0, p2p_unmap(self->iommufd, self->ioas, IOVA, self->size));
}

/* A mapping at a file offset: IOVA 0 of the area is byte @start of the file. */
TEST_F(e2e, dma_at_file_offset)
{
	static const char msg[] = "offset mapping";
	uint64_t start = self->size / 2;
	char got[sizeof(msg)];

	memfd_write(self->memfd, self->size, start + 0x10, msg, sizeof(msg));
	test_ioctl_ioas_map_file_id(self->iommufd, self->ioas, self->memfd,
				    start, self->size / 2, IOVA, MAP_RW);
	ASSERT_EQ(0, edu_dma(&self->edu, IOVA + 0x10, 0, sizeof(msg), false));
	ASSERT_EQ(0, edu_dma(&self->edu, IOVA + 0x100, 0, sizeof(msg), true));
	memfd_read(self->memfd, self->size, start + 0x100, got, sizeof(got));
	ASSERT_EQ(0, memcmp(got, msg, sizeof(msg)));
	ASSERT_EQ(0, p2p_unmap(self->iommufd, self->ioas, IOVA,
			       self->size / 2));
}

/* READABLE only: the device reads the memfd, its writes are blocked. */
TEST_F(e2e, read_only_mapping_blocks_device_writes)
{
	static const char msg[] = "read-only source";
	char got[sizeof(msg)], zero[sizeof(msg)] = { 0 };

	memfd_write(self->memfd, self->size, 0, msg, sizeof(msg));
	test_ioctl_ioas_map_file_id(self->iommufd, self->ioas, self->memfd, 0,
				    self->size, IOVA, IOMMU_IOAS_MAP_READABLE);
	ASSERT_EQ(0, edu_dma(&self->edu, IOVA, 0, sizeof(msg), false));
	ASSERT_EQ(0, edu_dma(&self->edu, IOVA + 0x800, 0, sizeof(msg), true));
	memfd_read(self->memfd, self->size, 0x800, got, sizeof(got));
	ASSERT_EQ(0, memcmp(got, zero, sizeof(zero)));
	ASSERT_EQ(0, p2p_unmap(self->iommufd, self->ioas, IOVA, self->size));
}

/* After IOAS_UNMAP the IOVA is gone: the device write does not land. */
TEST_F(e2e, unmap_blocks_dma)
{
	static const char msg[] = "must not land";
	char got[sizeof(msg)], zero[sizeof(msg)] = { 0 };

	memfd_write(self->memfd, self->size, 0, msg, sizeof(msg));
	test_ioctl_ioas_map_file_id(self->iommufd, self->ioas, self->memfd, 0,
				    self->size, IOVA, MAP_RW);
	/* Load the edu buffer while the mapping is valid, then unmap. */
	ASSERT_EQ(0, edu_dma(&self->edu, IOVA, 0, sizeof(msg), false));
	ASSERT_EQ(0, p2p_unmap(self->iommufd, self->ioas, IOVA, self->size));
	ASSERT_EQ(0, edu_dma(&self->edu, IOVA + 0x200, 0, sizeof(msg), true));
	memfd_read(self->memfd, self->size, 0x200, got, sizeof(got));
	ASSERT_EQ(0, memcmp(got, zero, sizeof(zero)));
}

TEST_HARNESS_MAIN
