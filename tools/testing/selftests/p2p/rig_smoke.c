// SPDX-License-Identifier: GPL-2.0
/*
 * Rig smoke test: the VM has the devices the P2P tests need, they bind to
 * vfio-pci, and edu DMA through a VFIO type1 container reaches guest RAM and
 * the ivshmem BAR (P2P), and is blocked once the IOVA is unmapped.
 *
 * This uses only what a stock kernel has; it proves the rig, not our code.
 */
#include "../kselftest_harness.h"
#include "p2p_utils.h"

#define RAM_IOVA	0x100000ULL
#define BAR_IOVA	0x40000000ULL
#define PAGE		4096

TEST(devices_present)
{
	static const char * const bdfs[] = { P2P_EDU0, P2P_IVSHMEM0, P2P_IVSHMEM1 };
	unsigned int i;

	for (i = 0; i < 3; i++) {
		EXPECT_TRUE(p2p_dev_present(bdfs[i])) {
			TH_LOG("%s is not bound to vfio-pci", bdfs[i]);
		}
	}
	/* The second edu belongs to the test importer, when it is built. */
	EXPECT_EQ(0, access("/sys/bus/pci/devices/" P2P_EDU1, F_OK));
	EXPECT_EQ(0, access("/dev/iommu", R_OK | W_OK));
	EXPECT_EQ(0, access("/dev/vfio/devices", R_OK));
}

FIXTURE(type1) {
	int container;
	int group[2];
	struct p2p_dev edu;
	struct p2p_dev shm;
	void *ram;
};

FIXTURE_SETUP(type1)
{
	int fd;

	self->group[0] = -1;
	self->group[1] = -1;
	self->edu.fd = -1;
	self->shm.fd = -1;
	if (!p2p_dev_present(P2P_EDU0) || !p2p_dev_present(P2P_IVSHMEM0))
		SKIP(return, "edu or ivshmem not bound to vfio-pci");
	if (p2p_iommu_group(P2P_EDU0) < 0)
		SKIP(return, "no IOMMU groups (VM without a vIOMMU)");
	self->container = open("/dev/vfio/vfio", O_RDWR);
	ASSERT_LE(0, self->container);
	ASSERT_EQ(0, container_add_group(self->container, P2P_EDU0, &self->group[0]));
	ASSERT_EQ(0, container_add_group(self->container, P2P_IVSHMEM0, &self->group[1]));
	ASSERT_EQ(0, ioctl(self->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));

	fd = ioctl(self->group[0], VFIO_GROUP_GET_DEVICE_FD, P2P_EDU0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, p2p_dev_setup(&self->edu, fd));
	fd = ioctl(self->group[1], VFIO_GROUP_GET_DEVICE_FD, P2P_IVSHMEM0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, p2p_dev_setup(&self->shm, fd));

	ASSERT_NE(NULL, p2p_map_bar(&self->edu, 0));
	ASSERT_EQ(0x00ed, mmio_read32(self->edu.bar[0], EDU_ID) & 0xffff);
	ASSERT_EQ(0, p2p_cmd_bits(&self->edu, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 0));
	ASSERT_NE(NULL, p2p_map_bar(&self->shm, 2));

	self->ram = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->ram);
	memset(self->ram, 0, 2 * PAGE);
	ASSERT_EQ(0, dma_map(self->container, self->ram, RAM_IOVA, 2 * PAGE));
}

FIXTURE_TEARDOWN(type1)
{
	p2p_dev_close(&self->edu);
	p2p_dev_close(&self->shm);
	if (self->group[0] >= 0)
		close(self->group[0]);
	if (self->group[1] >= 0)
		close(self->group[1]);
}

/* RAM -> edu buffer -> RAM (second page): the engine and the IOMMU work. */
TEST_F(type1, edu_dma_ram_roundtrip)
{
	char *src = self->ram, *dst = (char *)self->ram + PAGE;

	snprintf(src, PAGE, "p2p rig: edu round trip");
	ASSERT_EQ(0, edu_dma(&self->edu, RAM_IOVA, 0, 64, false));
	ASSERT_EQ(0, edu_dma(&self->edu, RAM_IOVA + PAGE, 0, 64, true));
	ASSERT_STREQ(src, dst);
}

/* RAM -> edu -> ivshmem BAR2 through the IOMMU; blocked after unmap. */
TEST_F(type1, edu_dma_into_ivshmem_bar)
{
	static const char msg[] = "P2P-RIG-SMOKE edu wrote this into ivshmem BAR2";
	void *bar = self->shm.bar[2];
	char got[sizeof(msg)];
	unsigned int i;

	memset(bar, 0xa5, 256);
	memcpy(self->ram, msg, sizeof(msg));
	ASSERT_EQ(0, dma_map(self->container, self->shm.bar[2], BAR_IOVA, PAGE));
	ASSERT_EQ(0, edu_dma(&self->edu, RAM_IOVA, 0, sizeof(msg), false));
	ASSERT_EQ(0, edu_dma(&self->edu, BAR_IOVA, 0, sizeof(msg), true));
	mmio_copy_from(got, bar, 0, sizeof(msg));
	ASSERT_EQ(0, memcmp(got, msg, sizeof(msg)));
	p2p_host_expect("small", 0, msg, sizeof(msg),
			"type1 edu DMA landed in ivshmem backing file");

	/* Unmapped: the same DMA must not land; the sentinel stays. */
	ASSERT_EQ(0, dma_unmap(self->container, BAR_IOVA, PAGE));
	memset((char *)bar + 0x800, 0x5a, sizeof(msg));
	ASSERT_EQ(0, edu_dma(&self->edu, BAR_IOVA + 0x800, 0, sizeof(msg), true));
	for (i = 0; i < sizeof(msg); i++)
		ASSERT_EQ(0x5a, mmio_read8(bar, 0x800 + i));
	memset(got, 0x5a, sizeof(got));
	p2p_host_expect("small", 0x800, got, sizeof(got),
			"type1 DMA after unmap left the ivshmem backing file alone");
}

TEST_HARNESS_MAIN
