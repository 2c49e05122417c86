// SPDX-License-Identifier: GPL-2.0
/*
 * VFIO_DEVICE_FEATURE_DMA_BUF: validation, P2P DMA by a dma-buf importer
 * into an exported BAR, dma-bufs born revoked, close while imported and
 * many dma-bufs per device.  The revocation triggers are tested on every
 * kind of device in vfio_dmabuf_revoke.c.
 *
 * Rig: 00:02.0 ivshmem-plain (16 MiB BAR2, backing file "small") bound to
 * vfio-pci and exported; 00:03.0 edu bound to the test importer
 * ("p2p_importer" driver, /dev/p2p_importer<N>) doing the DMA.
 *
 * Every DMA that must land first finds a CPU-written sentinel in the BAR,
 * and every successful DMA is also reported with P2P-HOST-EXPECT so that the
 * host checks the backing file.  Each test uses its own BAR2 area, so later
 * tests never overwrite what an earlier one asked the host to check.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>

#include "../kselftest_harness.h"
#include "p2p_utils.h"

#define SHM_BAR		VFIO_PCI_BAR2_REGION_INDEX
#define PAGE		4096ULL
#define SENTINEL	DMABUF_SENTINEL

/* BAR2 areas, one per test */
#define AREA_P2P0	0x100000ULL
#define AREA_P2P1	0x110000ULL
#define AREA_CLOSE	0x240000ULL
#define AREA_BORN	0x250000ULL
#define AREA_MANY	0x300000ULL
#define AREA_VALID	0x400000ULL	/* validation only, never written */

#define MANY_BUFS	64
#define MANY_IMPORTERS	8

FIXTURE(dmabuf) {
	int iommufd;
	uint32_t ioas_id;
	struct p2p_dev shm;
	void *bar;
	uint64_t bar_size;
	int imp;
};

FIXTURE_SETUP(dmabuf)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct vfio_region_info info = {
		.argsz = sizeof(info), .index = SHM_BAR,
	};

	self->iommufd = -1;
	self->shm.fd = -1;
	self->imp = -1;
	if (!p2p_dev_present(P2P_IVSHMEM0))
		SKIP(return, "%s is not bound to vfio-pci", P2P_IVSHMEM0);
	if (p2p_iommu_group(P2P_IVSHMEM0) < 0)
		SKIP(return, "no IOMMU groups (VM without a vIOMMU)");

	self->iommufd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->iommufd);
	ASSERT_EQ(0, ioctl(self->iommufd, IOMMU_IOAS_ALLOC, &alloc));
	self->ioas_id = alloc.out_ioas_id;
	ASSERT_EQ(0, p2p_open_iommufd_dev(&self->shm, P2P_IVSHMEM0,
					  self->iommufd, self->ioas_id));
	ASSERT_EQ(0, ioctl(self->shm.fd, VFIO_DEVICE_GET_REGION_INFO, &info));
	self->bar_size = info.size;
	ASSERT_LE(AREA_VALID + 0x100000ULL, self->bar_size);
	self->bar = p2p_map_bar(&self->shm, SHM_BAR);
	ASSERT_NE(NULL, self->bar);
	ASSERT_EQ(0, p2p_cmd_bits(&self->shm, PCI_COMMAND_MEMORY, 0));

	self->imp = p2p_importer_open(P2P_EDU1);
}

FIXTURE_TEARDOWN(dmabuf)
{
	if (self->imp >= 0)
		close(self->imp);
	p2p_dev_close(&self->shm);
	if (self->iommufd >= 0)
		close(self->iommufd);
}

/* Helpers take FIXTURE_DATA(dmabuf), that is struct _test_data_dmabuf. */
static int shm_export1(struct _test_data_dmabuf *self, uint64_t off, uint64_t len)
{
	return dmabuf_export1(self->shm.fd, SHM_BAR, off, len);
}

/* Expect the dma-buf request to fail with @err. */
#define EXPECT_FEATURE_ERR(err, ...) \
	EXPECT_EQ(-(err), dmabuf_feature_raw(self->shm.fd, __VA_ARGS__))

static int dma_msg(struct __test_metadata *_metadata,
		   struct _test_data_dmabuf *self, int imp, uint64_t off,
		   uint64_t bar_off, const char *msg, const char *name)
{
	return imp_dma_msg(_metadata, imp, self->bar, "small", off, bar_off,
			   msg, name);
}

TEST_F(dmabuf, feature_probe)
{
	struct vfio_region_dma_range r = { .offset = AREA_VALID, .length = PAGE };

	EXPECT_EQ(0, dmabuf_feature_raw(self->shm.fd, VFIO_DEVICE_FEATURE_PROBE |
					VFIO_DEVICE_FEATURE_GET, SHM_BAR, 0, 0,
					0, NULL, 0, 0));
	EXPECT_EQ(0, dmabuf_feature_raw(self->shm.fd, VFIO_DEVICE_FEATURE_PROBE,
					SHM_BAR, 0, 0, 0, NULL, 0, 0));
	EXPECT_FEATURE_ERR(EINVAL, VFIO_DEVICE_FEATURE_PROBE |
			   VFIO_DEVICE_FEATURE_SET, SHM_BAR, 0, 0, 1, &r, 1, 0);
	EXPECT_FEATURE_ERR(EINVAL, VFIO_DEVICE_FEATURE_SET, SHM_BAR, 0, 0,
			   1, &r, 1, 0);
	/* GET without the dma_buf header */
	EXPECT_FEATURE_ERR(EINVAL, VFIO_DEVICE_FEATURE_GET, SHM_BAR, 0, 0,
			   1, &r, 1,
			   -(long)(sizeof(struct vfio_device_feature_dma_buf) +
				   sizeof(r)));
}

TEST_F(dmabuf, flags_and_nr_ranges)
{
	struct vfio_region_dma_range r = { .offset = AREA_VALID, .length = PAGE };

	EXPECT_FEATURE_ERR(EINVAL, VFIO_DEVICE_FEATURE_GET, SHM_BAR, O_RDWR,
			   1, 1, &r, 1, 0);
	EXPECT_FEATURE_ERR(EINVAL, VFIO_DEVICE_FEATURE_GET, SHM_BAR, O_RDWR,
			   0x80000000, 1, &r, 1, 0);
	EXPECT_FEATURE_ERR(EINVAL, VFIO_DEVICE_FEATURE_GET, SHM_BAR, O_RDWR,
			   0, 0, NULL, 0, 0);
	/* argsz must cover nr_ranges ranges */
	EXPECT_FEATURE_ERR(EINVAL, VFIO_DEVICE_FEATURE_GET, SHM_BAR, O_RDWR,
			   0, 2, &r, 1, 0);
	EXPECT_FEATURE_ERR(EINVAL, VFIO_DEVICE_FEATURE_GET, SHM_BAR, O_RDWR,
			   0, 1, &r, 1, -1);
	/* More than the documented cap */
	EXPECT_FEATURE_ERR(E2BIG, VFIO_DEVICE_FEATURE_GET, SHM_BAR, O_RDWR,
			   0, DMABUF_MAX_RANGES + 1, &r, 1, 0);
	EXPECT_FEATURE_ERR(E2BIG, VFIO_DEVICE_FEATURE_GET, SHM_BAR, O_RDWR,
			   0, 0xffffffff, &r, 1, 0);
}

/* Ranges on an inaccessible page: EFAULT from copying them. */
TEST_F(dmabuf, ranges_efault)
{
	size_t hdr = sizeof(struct vfio_device_feature) +
		     sizeof(struct vfio_device_feature_dma_buf);
	struct vfio_device_feature_dma_buf *db;
	struct vfio_device_feature *feat;
	char *mem;

	mem = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	ASSERT_EQ(0, mprotect(mem + PAGE, PAGE, PROT_NONE));

	/* Header ends exactly where the inaccessible page starts */
	feat = (void *)(mem + PAGE - hdr);
	db = (void *)feat->data;
	feat->argsz = hdr + sizeof(struct vfio_region_dma_range);
	feat->flags = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_DMA_BUF;
	db->region_index = SHM_BAR;
	db->open_flags = O_RDWR;
	db->flags = 0;
	db->nr_ranges = 1;
	EXPECT_EQ(-1, ioctl(self->shm.fd, VFIO_DEVICE_FEATURE, feat));
	EXPECT_EQ(EFAULT, errno);
	munmap(mem, 2 * PAGE);
}

TEST_F(dmabuf, max_ranges)
{
	struct vfio_region_dma_range r[DMABUF_MAX_RANGES + 1];
	int i, fd;

	for (i = 0; i <= DMABUF_MAX_RANGES; i++) {
		r[i].offset = AREA_VALID + i * PAGE;
		r[i].length = PAGE;
	}
	EXPECT_FEATURE_ERR(E2BIG, VFIO_DEVICE_FEATURE_GET, SHM_BAR, O_RDWR, 0,
			   DMABUF_MAX_RANGES + 1, r, DMABUF_MAX_RANGES + 1, 0);
	fd = dmabuf_export(self->shm.fd, SHM_BAR, r, DMABUF_MAX_RANGES);
	ASSERT_LE(0, fd);
	EXPECT_EQ((off_t)(DMABUF_MAX_RANGES * PAGE), lseek(fd, 0, SEEK_END));
	close(fd);
}

TEST_F(dmabuf, open_flags)
{
	static const uint32_t bad[] = {
		O_CREAT, O_TRUNC, O_APPEND, O_EXCL, O_NOCTTY, O_SYNC,
		O_DIRECTORY, 0x80000000,
	};
	struct vfio_region_dma_range r = { .offset = AREA_VALID, .length = PAGE };
	unsigned int i;
	int fd;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_FEATURE_ERR(EINVAL, VFIO_DEVICE_FEATURE_GET, SHM_BAR,
				   O_RDWR | bad[i], 0, 1, &r, 1, 0) {
			TH_LOG("open_flags %#x accepted", bad[i]);
		}
	}

	fd = dmabuf_feature_raw(self->shm.fd, VFIO_DEVICE_FEATURE_GET, SHM_BAR,
				O_RDWR | O_CLOEXEC | O_NONBLOCK, 0, 1, &r, 1, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(O_NONBLOCK, fcntl(fd, F_GETFL) & O_NONBLOCK);
	close(fd);

	fd = dmabuf_feature_raw(self->shm.fd, VFIO_DEVICE_FEATURE_GET, SHM_BAR,
				O_RDONLY, 0, 1, &r, 1, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
}

TEST_F(dmabuf, region_index)
{
	static const uint32_t not_bar[] = {
		VFIO_PCI_ROM_REGION_INDEX, VFIO_PCI_CONFIG_REGION_INDEX,
		VFIO_PCI_VGA_REGION_INDEX, VFIO_PCI_NUM_REGIONS, 100,
		0xffffffff,
	};
	/* ivshmem-plain: BAR0 registers, BAR2+3 64-bit memory, no 1, 4, 5 */
	static const uint32_t absent[] = { 1, 3, 4, 5 };
	struct vfio_region_dma_range r = { .offset = 0, .length = PAGE };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(not_bar); i++) {
		EXPECT_FEATURE_ERR(ENODEV, VFIO_DEVICE_FEATURE_GET, not_bar[i],
				   O_RDWR, 0, 1, &r, 1, 0) {
			TH_LOG("region %u", not_bar[i]);
		}
	}
	for (i = 0; i < ARRAY_SIZE(absent); i++) {
		EXPECT_FEATURE_ERR(ENODEV, VFIO_DEVICE_FEATURE_GET, absent[i],
				   O_RDWR, 0, 1, &r, 1, 0) {
			TH_LOG("BAR %u", absent[i]);
		}
	}
}

/* An I/O BAR on one of the rig's vfio-pci devices, if any. */
static int find_io_bar(struct p2p_dev *dev)
{
	uint32_t val;
	int bar;

	for (bar = 0; bar < 6; bar++) {
		if (p2p_cfg_read32(dev, PCI_BASE_ADDRESS_0 + 4 * bar, &val))
			continue;
		if (val & PCI_BASE_ADDRESS_SPACE_IO)
			return bar;
		if ((val & PCI_BASE_ADDRESS_MEM_TYPE_MASK) ==
		    PCI_BASE_ADDRESS_MEM_TYPE_64)
			bar++;
	}
	return -1;
}

TEST_F(dmabuf, bar_not_memory)
{
	static const char * const bdfs[] = {
		P2P_IVSHMEM0, P2P_EDU0, P2P_IVSHMEM1, P2P_E1000E,
	};
	struct vfio_region_dma_range r = { .offset = 0, .length = PAGE };
	struct p2p_dev dev = { .fd = -1 };
	unsigned int i;
	int bar = -1;

	bar = find_io_bar(&self->shm);
	if (bar >= 0) {
		EXPECT_FEATURE_ERR(EINVAL, VFIO_DEVICE_FEATURE_GET, bar,
				   O_RDWR, 0, 1, &r, 1, 0);
		return;
	}
	for (i = 1; i < ARRAY_SIZE(bdfs); i++) {
		if (!p2p_dev_present(bdfs[i]))
			continue;
		if (p2p_open_iommufd_dev(&dev, bdfs[i], self->iommufd,
					 self->ioas_id))
			continue;
		bar = find_io_bar(&dev);
		if (bar >= 0) {
			EXPECT_EQ(-EINVAL,
				  dmabuf_feature_raw(dev.fd,
						     VFIO_DEVICE_FEATURE_GET,
						     bar, O_RDWR, 0, 1, &r, 1,
						     0));
			p2p_dev_close(&dev);
			return;
		}
		p2p_dev_close(&dev);
	}
	SKIP(return, "no vfio-pci device of the rig has an I/O BAR");
}

TEST_F(dmabuf, bad_ranges)
{
	uint64_t sz = self->bar_size;
	struct {
		const char *name;
		uint64_t offset, length;
		int err;
	} c[] = {
		{ "length 0", AREA_VALID, 0, EINVAL },
		{ "offset unaligned", AREA_VALID + 0x800, PAGE, EINVAL },
		{ "length unaligned", AREA_VALID, PAGE + 0x800, EINVAL },
		{ "length < page", AREA_VALID, 0x800, EINVAL },
		{ "starts at BAR end", sz, PAGE, EINVAL },
		{ "crosses BAR end", sz - PAGE, 2 * PAGE, EINVAL },
		{ "longer than BAR", 0, sz + PAGE, EINVAL },
		{ "far past BAR end", 1ULL << 40, PAGE, EINVAL },
		{ "offset overflows", 0xfffffffffffff000ULL, PAGE, EOVERFLOW },
		{ "end overflows", PAGE, 0xfffffffffffff000ULL, EOVERFLOW },
	};
	struct vfio_region_dma_range r;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		r.offset = c[i].offset;
		r.length = c[i].length;
		EXPECT_FEATURE_ERR(c[i].err, VFIO_DEVICE_FEATURE_GET, SHM_BAR,
				   O_RDWR, 0, 1, &r, 1, 0) {
			TH_LOG("%s", c[i].name);
		}
	}

	/* A bad range after a good one */
	{
		struct vfio_region_dma_range two[2] = {
			{ AREA_VALID, PAGE }, { sz, PAGE },
		};

		EXPECT_FEATURE_ERR(EINVAL, VFIO_DEVICE_FEATURE_GET, SHM_BAR,
				   O_RDWR, 0, 2, two, 2, 0);
	}

	/* ivshmem BAR0 is 256 bytes: no page fits in it */
	r.offset = 0;
	r.length = PAGE;
	EXPECT_FEATURE_ERR(EINVAL, VFIO_DEVICE_FEATURE_GET,
			   VFIO_PCI_BAR0_REGION_INDEX, O_RDWR, 0, 1, &r, 1, 0);
}

TEST_F(dmabuf, overlap)
{
	const uint64_t a = AREA_VALID;
	struct {
		const char *name;
		struct vfio_region_dma_range r[3];
		unsigned int nr;
		int err;
	} c[] = {
		{ "partial", { { a, 2 * PAGE }, { a + PAGE, PAGE } }, 2, EINVAL },
		{ "identical", { { a, PAGE }, { a, PAGE } }, 2, EINVAL },
		{ "contained, unsorted",
		  { { a + 2 * PAGE, PAGE }, { a, 4 * PAGE } }, 2, EINVAL },
		{ "third overlaps first",
		  { { a, 2 * PAGE }, { a + 4 * PAGE, PAGE }, { a + PAGE, PAGE } },
		  3, EINVAL },
		{ "adjacent", { { a + PAGE, PAGE }, { a, PAGE } }, 2, 0 },
		{ "disjoint, unsorted",
		  { { a + 8 * PAGE, PAGE }, { a, PAGE }, { a + 4 * PAGE, PAGE } },
		  3, 0 },
	};
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		ret = dmabuf_export(self->shm.fd, SHM_BAR, c[i].r, c[i].nr);
		if (c[i].err) {
			EXPECT_EQ(-c[i].err, ret) {
				TH_LOG("%s", c[i].name);
			}
		} else {
			EXPECT_LE(0, ret) {
				TH_LOG("%s: %d", c[i].name, ret);
			}
			if (ret >= 0) {
				EXPECT_EQ((off_t)(c[i].nr * PAGE),
					  lseek(ret, 0, SEEK_END));
				close(ret);
			}
		}
	}
}

TEST_F(dmabuf, export_no_cpu_mmap)
{
	struct vfio_region_dma_range r[2] = {
		{ AREA_VALID, PAGE }, { AREA_VALID + 16 * PAGE, 2 * PAGE },
	};
	void *p;
	int fd;

	fd = dmabuf_export(self->shm.fd, SHM_BAR, r, 2);
	ASSERT_LE(0, fd);
	EXPECT_EQ((off_t)(3 * PAGE), lseek(fd, 0, SEEK_END));
	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	if (p != MAP_FAILED)
		munmap(p, PAGE);
	close(fd);
}

TEST_F(dmabuf, importer_refusals)
{
	int fd;

	if (self->imp < 0)
		SKIP(return, "%s not bound to %s", P2P_EDU1,
		     P2P_IMPORTER_DRIVER_NAME);
	fd = shm_export1(self, AREA_VALID, PAGE);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EOPNOTSUPP, imp_import_flags(self->imp, fd,
						P2P_IMPORTER_IMPORT_NO_P2P,
						NULL));
	EXPECT_EQ(-EOPNOTSUPP, imp_import_flags(self->imp, fd,
						P2P_IMPORTER_IMPORT_STATIC,
						NULL));
	EXPECT_EQ(0, imp_import(self->imp, fd));
	EXPECT_EQ(-EBUSY, imp_import(self->imp, fd));
	EXPECT_EQ(0, imp_release(self->imp));
	EXPECT_EQ(-ENOENT, imp_release(self->imp));
	close(fd);
}

TEST_F_TIMEOUT(dmabuf, p2p_dma, 90)
{
	static const char msg0[] = "P2P-DMABUF edu wrote range 0 of the dma-buf";
	static const char msg1[] = "P2P-DMABUF edu wrote range 1 of the dma-buf";
	struct vfio_region_dma_range r[2] = {
		{ AREA_P2P0, PAGE }, { AREA_P2P1, 2 * PAGE },
	};
	struct p2p_importer_status st;
	char pattern[64], got[64];
	unsigned int i;
	int fd;

	if (self->imp < 0)
		SKIP(return, "%s not bound to %s", P2P_EDU1,
		     P2P_IMPORTER_DRIVER_NAME);
	fd = dmabuf_export(self->shm.fd, SHM_BAR, r, 2);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, imp_import(self->imp, fd));
	ASSERT_EQ(0, imp_status(self->imp, &st));
	EXPECT_EQ(1U, st.imported);
	EXPECT_EQ(1U, st.mapped);
	EXPECT_EQ(3 * PAGE, st.size);

	/* dma-buf offset 0 is BAR2 AREA_P2P0 */
	ASSERT_EQ(0, dma_msg(_metadata, self, self->imp, 0, AREA_P2P0, msg0,
			     "dmabuf p2p_dma range 0"));
	/* dma-buf offset PAGE + 0x800 is BAR2 AREA_P2P1 + 0x800 */
	ASSERT_EQ(0, dma_msg(_metadata, self, self->imp, PAGE + 0x800,
			     AREA_P2P1 + 0x800, msg1,
			     "dmabuf p2p_dma range 1"));

	/* Other direction: CPU writes the BAR, edu reads it through P2P */
	for (i = 0; i < sizeof(pattern); i++)
		pattern[i] = (char)(0x30 + i);
	mmio_copy_to(self->bar, AREA_P2P1 + PAGE, pattern, sizeof(pattern));
	ASSERT_EQ(0, imp_dma(self->imp, 2 * PAGE, sizeof(pattern), 0x200,
			     false));
	memset(got, 0, sizeof(got));
	ASSERT_EQ(0, imp_buf(self->imp, got, sizeof(got), 0x200, false));
	EXPECT_EQ(0, memcmp(pattern, got, sizeof(got)));

	/* Requests outside the dma-buf or across two ranges */
	EXPECT_EQ(-EINVAL, imp_dma(self->imp, 3 * PAGE, 16, 0, true));
	EXPECT_EQ(-EINVAL, imp_dma(self->imp, PAGE - 16, 32, 0, true));

	EXPECT_EQ(0, imp_release(self->imp));
	close(fd);
}

/* Revocation triggers are in vfio_dmabuf_revoke.c; these use MEM only. */
static int trig_cmd_mem(struct _test_data_dmabuf *self, int on)
{
	return on ? p2p_cmd_bits(&self->shm, PCI_COMMAND_MEMORY, 0) :
		    p2p_cmd_bits(&self->shm, 0, PCI_COMMAND_MEMORY);
}

TEST_F_TIMEOUT(dmabuf, born_revoked, 90)
{
	int fd;

	if (self->imp < 0)
		SKIP(return, "%s not bound to %s", P2P_EDU1,
		     P2P_IMPORTER_DRIVER_NAME);
	ASSERT_EQ(0, trig_cmd_mem(self, 0));
	fd = shm_export1(self, AREA_BORN, PAGE);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-ENODEV, imp_import(self->imp, fd));
	ASSERT_EQ(0, trig_cmd_mem(self, 1));
	ASSERT_EQ(0, imp_import(self->imp, fd));
	EXPECT_EQ(0, dma_msg(_metadata, self, self->imp, 0, AREA_BORN,
			     "P2P-DMABUF born revoked, restored",
			     "born revoked"));
	EXPECT_EQ(0, imp_release(self->imp));
	close(fd);
}

TEST_F_TIMEOUT(dmabuf, close_while_imported, 90)
{
	struct p2p_importer_status st0, st1;
	int fd, fd2;

	if (self->imp < 0)
		SKIP(return, "%s not bound to %s", P2P_EDU1,
		     P2P_IMPORTER_DRIVER_NAME);
	fd = shm_export1(self, AREA_CLOSE, PAGE);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, imp_import(self->imp, fd));
	ASSERT_EQ(0, dma_msg(_metadata, self, self->imp, 0, AREA_CLOSE,
			     "P2P-DMABUF before close", "close before"));
	ASSERT_EQ(0, imp_status(self->imp, &st0));

	/* Last close of the device: permanent revoke */
	p2p_dev_close(&self->shm);
	self->bar = NULL;
	ASSERT_EQ(0, imp_status(self->imp, &st1));
	EXPECT_LT(st0.move_notify_count, st1.move_notify_count);
	EXPECT_EQ(0U, st1.mapped);
	EXPECT_EQ(-ENODEV, imp_dma(self->imp, 0x800, 16, 0, true));

	/* Open again: the old dma-buf stays dead, a new one works */
	ASSERT_EQ(0, p2p_open_iommufd_dev(&self->shm, P2P_IVSHMEM0,
					  self->iommufd, self->ioas_id));
	self->bar = p2p_map_bar(&self->shm, SHM_BAR);
	ASSERT_NE(NULL, self->bar);
	ASSERT_EQ(0, p2p_cmd_bits(&self->shm, PCI_COMMAND_MEMORY, 0));
	mmio_fill(self->bar, AREA_CLOSE + 0x800, SENTINEL, 16);
	EXPECT_EQ(-ENODEV, imp_dma(self->imp, 0x800, 16, 0, true));
	EXPECT_TRUE(mmio_all(self->bar, AREA_CLOSE + 0x800, SENTINEL, 16));
	EXPECT_EQ(0, imp_release(self->imp));
	EXPECT_EQ(-ENODEV, imp_import(self->imp, fd));
	close(fd);

	fd2 = shm_export1(self, AREA_CLOSE, PAGE);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, imp_import(self->imp, fd2));
	EXPECT_EQ(0, dma_msg(_metadata, self, self->imp, 0x800,
			     AREA_CLOSE + 0x800, "P2P-DMABUF after reopen",
			     "close reopen"));
	EXPECT_EQ(0, imp_release(self->imp));
	close(fd2);
}

/* 32 edu DMAs of 100 ms each, plus TCG */
TEST_F_TIMEOUT(dmabuf, many_dmabufs, 180)
{
	struct p2p_importer_status st0[MANY_IMPORTERS], st;
	int fds[MANY_BUFS], imps[MANY_IMPORTERS];
	char msg[64], needle[64];
	int i, n;

	if (self->imp < 0)
		SKIP(return, "%s not bound to %s", P2P_EDU1,
		     P2P_IMPORTER_DRIVER_NAME);
	for (i = 0; i < MANY_IMPORTERS; i++)
		imps[i] = -1;
	for (i = 0; i < MANY_BUFS; i++) {
		fds[i] = shm_export1(self, AREA_MANY + i * PAGE, PAGE);
		ASSERT_LE(0, fds[i]);
	}
	/* Importer i imports dma-buf i * (MANY_BUFS / MANY_IMPORTERS) */
	for (i = 0; i < MANY_IMPORTERS; i++) {
		int b = i * (MANY_BUFS / MANY_IMPORTERS);

		imps[i] = p2p_importer_open(P2P_EDU1);
		ASSERT_LE(0, imps[i]);
		ASSERT_EQ(0, imp_import(imps[i], fds[b]));
		snprintf(msg, sizeof(msg), "P2P-DMABUF many %d before", b);
		ASSERT_EQ(0, dma_msg(_metadata, self, imps[i], 0,
				     AREA_MANY + b * PAGE, msg, msg));
		ASSERT_EQ(0, imp_status(imps[i], &st0[i]));
	}

	snprintf(needle, sizeof(needle), "dev %s", P2P_IVSHMEM0);
	n = dmabuf_debugfs_count(needle);
	if (n >= 0)
		EXPECT_LE(MANY_BUFS, n);

	ASSERT_EQ(0, trig_cmd_mem(self, 0));
	for (i = 0; i < MANY_IMPORTERS; i++) {
		ASSERT_EQ(0, imp_status(imps[i], &st));
		EXPECT_LT(st0[i].move_notify_count, st.move_notify_count);
		EXPECT_EQ(0U, st.mapped);
		EXPECT_EQ(-ENODEV, imp_dma(imps[i], 0x800, 16, 0, true));
	}
	n = dmabuf_debugfs_count("state revoked");
	if (n >= 0)
		EXPECT_LE(MANY_BUFS, n);

	ASSERT_EQ(0, trig_cmd_mem(self, 1));
	for (i = 0; i < MANY_IMPORTERS; i++) {
		int b = i * (MANY_BUFS / MANY_IMPORTERS);

		snprintf(msg, sizeof(msg), "P2P-DMABUF many %d after", b);
		EXPECT_EQ(0, dma_msg(_metadata, self, imps[i], 0x800,
				     AREA_MANY + b * PAGE + 0x800, msg, msg));
	}

	for (i = 0; i < MANY_IMPORTERS; i++) {
		EXPECT_EQ(0, imp_release(imps[i]));
		close(imps[i]);
	}
	for (i = 0; i < MANY_BUFS; i++)
		close(fds[i]);
}

#define RACE_THREADS	6
#define RACE_ROUNDS	10

struct export_race {
	pthread_barrier_t *barrier;
	int devfd;
	int ret;
};

static void *export_race_thread(void *arg)
{
	struct export_race *r = arg;

	pthread_barrier_wait(r->barrier);
	r->ret = dmabuf_export1(r->devfd, SHM_BAR, AREA_VALID, PAGE);
	return NULL;
}

/*
 * The first use of a BAR after open sets up its map.  Exports racing for
 * it from several threads must all succeed: none may see the region
 * claimed by another one and fail (ENODEV).  The device is opened again
 * for each round, and never mmap()ed, so every round races afresh.
 */
TEST(concurrent_first_export)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct export_race r[RACE_THREADS];
	pthread_t th[RACE_THREADS];
	pthread_barrier_t barrier;
	struct p2p_dev dev = { .fd = -1 };
	int iommufd, round, i, failed = 0;

	if (!p2p_dev_present(P2P_IVSHMEM0))
		SKIP(return, "%s is not bound to vfio-pci", P2P_IVSHMEM0);
	if (p2p_iommu_group(P2P_IVSHMEM0) < 0)
		SKIP(return, "no IOMMU groups (VM without a vIOMMU)");
	iommufd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, iommufd);
	ASSERT_EQ(0, ioctl(iommufd, IOMMU_IOAS_ALLOC, &alloc));

	for (round = 0; round < RACE_ROUNDS; round++) {
		ASSERT_EQ(0, p2p_open_iommufd_dev(&dev, P2P_IVSHMEM0, iommufd,
						  alloc.out_ioas_id));
		ASSERT_EQ(0, pthread_barrier_init(&barrier, NULL,
						  RACE_THREADS));
		for (i = 0; i < RACE_THREADS; i++) {
			r[i].barrier = &barrier;
			r[i].devfd = dev.fd;
			ASSERT_EQ(0, pthread_create(&th[i], NULL,
						    export_race_thread, &r[i]));
		}
		for (i = 0; i < RACE_THREADS; i++) {
			pthread_join(th[i], NULL);
			if (r[i].ret < 0) {
				TH_LOG("round %d thread %d: export failed: %s",
				       round, i, strerror(-r[i].ret));
				failed++;
			} else {
				close(r[i].ret);
			}
		}
		pthread_barrier_destroy(&barrier);
		p2p_dev_close(&dev);
	}
	EXPECT_EQ(0, failed);
	close(iommufd);
}

TEST_HARNESS_MAIN
