// SPDX-License-Identifier: GPL-2.0
/*
 * P2P through iommufd's type1 compatible container, the way QEMU 7.2 and
 * other VMMs that use the legacy container API do it: VFIO_IOMMU_MAP_DMA of
 * the address of a BAR mmap.  On a kernel built with IOMMUFD_VFIO_CONTAINER
 * instead of the type1 driver (the rig's FLAVOR=compat), /dev/vfio/vfio is
 * iommufd, and the BAR range becomes a revocable dma-buf mapping
 * (drivers/iommu/iommufd/p2p/bar_va.c): edu DMA lands in the BAR, is
 * blocked while memory decode is off, and lands again once it is back.
 *
 * With the type1 driver (every other flavor) the tests skip: type1 maps
 * the BAR too but never revokes it, rig_smoke covers that.
 */
#include <sys/mman.h>

#include "../kselftest_harness.h"
#include "p2p_utils.h"

#define RAM_IOVA	0x100000ULL
#define BAR_IOVA	0x40000000ULL
#define PAGE		4096ULL
/* BAR2 area of 00:02.0 for this file: the other files stay below it */
#define AREA		0xb00000ULL
#define BLOCKED_LEN	32

FIXTURE(compat) {
	int container;
	int group[2];
	struct p2p_dev edu;
	struct p2p_dev shm;
	uint8_t *ram;
};

FIXTURE_SETUP(compat)
{
	int fd;

	self->container = -1;
	self->group[0] = -1;
	self->group[1] = -1;
	self->edu.fd = -1;
	self->shm.fd = -1;
	self->ram = MAP_FAILED;
	if (!access("/sys/module/vfio_iommu_type1", F_OK))
		SKIP(return, "%s is the type1 driver, not iommufd's (FLAVOR=compat)",
		     "/dev/vfio/vfio");
	if (!p2p_dev_present(P2P_EDU0) || !p2p_dev_present(P2P_IVSHMEM0))
		SKIP(return, "edu or ivshmem not bound to vfio-pci");
	if (p2p_iommu_group(P2P_EDU0) < 0)
		SKIP(return, "no IOMMU groups (VM without a vIOMMU)");
	self->container = open("/dev/vfio/vfio", O_RDWR);
	ASSERT_LE(0, self->container);
	ASSERT_EQ(VFIO_API_VERSION,
		  ioctl(self->container, VFIO_GET_API_VERSION));
	ASSERT_EQ(0, container_add_group(self->container, P2P_EDU0,
					 &self->group[0]));
	ASSERT_EQ(0, container_add_group(self->container, P2P_IVSHMEM0,
					 &self->group[1]));
	ASSERT_EQ(0, ioctl(self->container, VFIO_SET_IOMMU,
			   VFIO_TYPE1v2_IOMMU));

	fd = ioctl(self->group[0], VFIO_GROUP_GET_DEVICE_FD, P2P_EDU0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, p2p_dev_setup(&self->edu, fd));
	fd = ioctl(self->group[1], VFIO_GROUP_GET_DEVICE_FD, P2P_IVSHMEM0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, p2p_dev_setup(&self->shm, fd));
	ASSERT_NE(NULL, p2p_map_bar(&self->edu, 0));
	ASSERT_EQ(0, p2p_cmd_bits(&self->edu,
				  PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 0));
	ASSERT_NE(NULL, p2p_map_bar(&self->shm, 2));
	ASSERT_EQ(0, p2p_cmd_bits(&self->shm, PCI_COMMAND_MEMORY, 0));

	self->ram = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->ram);
	memset(self->ram, 0, PAGE);
	ASSERT_EQ(0, dma_map(self->container, self->ram, RAM_IOVA, PAGE));
}

FIXTURE_TEARDOWN(compat)
{
	p2p_dev_close(&self->edu);
	p2p_dev_close(&self->shm);
	if (self->group[0] >= 0)
		close(self->group[0]);
	if (self->group[1] >= 0)
		close(self->group[1]);
	if (self->container >= 0)
		close(self->container);
	if (self->ram != MAP_FAILED)
		munmap(self->ram, PAGE);
}

/* edu writes @len bytes of @data at @iova, through its buffer */
static int edu_write_iova(struct _test_data_compat *self, uint64_t iova,
			  const void *data, size_t len)
{
	memcpy(self->ram, data, len);
	if (edu_dma(&self->edu, RAM_IOVA, 0, len, false))
		return -1;
	return edu_dma(&self->edu, iova, 0, len, true);
}

static void expect_landed(struct __test_metadata *_metadata,
			  struct _test_data_compat *self, uint64_t off,
			  const char *msg)
{
	size_t len = strlen(msg) + 1;
	char got[128];

	mmio_fill(self->shm.bar[2], off, DMABUF_SENTINEL, len);
	ASSERT_EQ(0, edu_write_iova(self, BAR_IOVA + off - AREA, msg, len));
	mmio_copy_from(got, self->shm.bar[2], off, len);
	EXPECT_EQ(0, memcmp(got, msg, len)) {
		TH_LOG("'%s' did not land", msg);
	}
	p2p_host_expect("small", off, msg, len, msg);
}

TEST_F(compat, bar_by_va_revocable)
{
	static const char blocked[BLOCKED_LEN] = "P2P-COMPAT must not land";

	ASSERT_EQ(0, dma_map(self->container, self->shm.bar[2] + AREA,
			     BAR_IOVA, 2 * PAGE));
	EXPECT_EQ(1, p2p_areas_global().from_va);
	expect_landed(_metadata, self, AREA + 0x100,
		      "P2P-COMPAT edu wrote the BAR through MAP_DMA");

	/* Memory decode off: the IOPTEs go, the write does not land */
	mmio_fill(self->shm.bar[2], AREA + PAGE, DMABUF_SENTINEL, BLOCKED_LEN);
	ASSERT_EQ(0, p2p_trig_cmd_mem(&self->shm, 0));
	EXPECT_EQ(0, edu_write_iova(self, BAR_IOVA + PAGE, blocked,
				    sizeof(blocked)));
	ASSERT_EQ(0, p2p_trig_cmd_mem(&self->shm, 1));
	EXPECT_TRUE(mmio_all(self->shm.bar[2], AREA + PAGE, DMABUF_SENTINEL,
			     BLOCKED_LEN)) {
		TH_LOG("DMA landed while memory decode was off");
	}

	/* Back without a new MAP_DMA */
	expect_landed(_metadata, self, AREA + 0x800,
		      "P2P-COMPAT restored after memory decode");
	EXPECT_EQ(0, dma_unmap(self->container, BAR_IOVA, 2 * PAGE));
	EXPECT_EQ(0, p2p_areas_global().from_va);
}

TEST_HARNESS_MAIN
