// SPDX-License-Identifier: GPL-2.0
/*
 * VM-style P2P through iommufd, end to end, under a vIOMMU (VT-d, AMD-Vi
 * or virtio-iommu, whichever the VM has): the edu device (00:01.0) is
 * attached through /dev/vfio/devices to an IOAS, like a passed-through
 * device of a VM.  A BAR of an exporting vfio-pci device is exported as a
 * dma-buf and mapped into that IOAS with IOMMU_IOAS_MAP_FILE.  edu DMA to
 * the IOVA must land in the BAR (read back through the BAR's mmap, and in
 * the host's backing file for ivshmem).
 *
 * For each revoke trigger the exporting device has: while revoked, edu DMA
 * to the IOVA must not land (the IOPTEs are gone, the IOMMU faults it);
 * after the restore it lands again with no userspace remap.  The upstream
 * flow (UNMAP, then MAP_FILE again after the reset) works too, and so do
 * dma-bufs with several ranges.  A bounded race runs revokes, maps, unmaps,
 * copies and DMA at once.
 *
 * The va_* tests map the BAR the way VMMs before QEMU 11 do, by passing the
 * address of a BAR mmap to IOMMU_IOAS_MAP; the kernel turns it into the
 * same revocable dma-buf mapping (drivers/iommu/iommufd/p2p/bar_va.c).
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>

#include <linux/iommufd.h>
#include "compat.h"
#include "../kselftest_harness.h"
#include "p2p_utils.h"

#define BAR		VFIO_PCI_BAR2_REGION_INDEX
#define PAGE		4096ULL
#define IOVA		0x20000000ULL
/*
 * edu's DMA buffer is not reachable through its BAR: data goes in and out
 * of it by DMA, through a memfd mapped at IOVA_MEM.
 */
#define IOVA_MEM	0x10000000ULL
#define MEM_SIZE	0x10000ULL
#define SENTINEL	DMABUF_SENTINEL
/* BAR areas of this file, one per test (other files stay below 0x900000) */
#define AREA(n)		(0xc00000ULL + (n) * 0x20000ULL)
#define POLLS		100

FIXTURE(vmp2p) {
	const char *bdf;	/* of the exporter, for the triggers */
	int iommufd;
	uint32_t ioas;
	struct p2p_dev edu;
	struct p2p_dev exp;
	void *bar;
	int dfd;
	int memfd;
	uint8_t *mem;
	/* va_* tests: map by address, through a second mmap of the BAR */
	bool by_va;
	uint8_t *vabar;
	uint64_t vabar_size;
	/* deferred_* tests: iommufd.dmabuf_restore_inline before the test */
	char inline_saved[32];
};

FIXTURE_VARIANT(vmp2p) {
	const char *bdf;
	const char *shm;
};

FIXTURE_VARIANT_ADD(vmp2p, ivshmem_root) {
	.bdf = P2P_IVSHMEM0, .shm = "small",
};

FIXTURE_VARIANT_ADD(vmp2p, ivshmem_rootport) {
	.bdf = P2P_IVSHMEM_RP, .shm = "rp",
};

FIXTURE_VARIANT_ADD(vmp2p, nvme_cmb) {
	.bdf = P2P_NVME, .shm = NULL,
};

static int open_exporter(struct _test_data_vmp2p *self, const char *bdf)
{
	if (p2p_open_iommufd_dev(&self->exp, bdf, self->iommufd, self->ioas))
		return -1;
	self->bar = p2p_map_bar(&self->exp, BAR);
	if (!self->bar)
		return -1;
	return p2p_cmd_bits(&self->exp, PCI_COMMAND_MEMORY, 0);
}

FIXTURE_SETUP(vmp2p)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };

	self->bdf = variant->bdf;
	self->edu.fd = -1;
	self->exp.fd = -1;
	self->dfd = -1;
	self->iommufd = -1;
	self->memfd = -1;
	self->mem = MAP_FAILED;
	self->vabar = MAP_FAILED;
	self->inline_saved[0] = 0;
	if (!p2p_dev_present(P2P_EDU0))
		SKIP(return, "%s is not bound to vfio-pci", P2P_EDU0);
	if (!p2p_dev_present(variant->bdf))
		SKIP(return, "%s is not bound to vfio-pci", variant->bdf);
	if (p2p_iommu_group(P2P_EDU0) < 0)
		SKIP(return, "no vIOMMU in this VM");
	self->iommufd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->iommufd);
	ASSERT_EQ(0, ioctl(self->iommufd, IOMMU_IOAS_ALLOC, &alloc));
	self->ioas = alloc.out_ioas_id;
	ASSERT_EQ(0, p2p_open_iommufd_dev(&self->edu, P2P_EDU0, self->iommufd,
					  self->ioas));
	ASSERT_NE(NULL, p2p_map_bar(&self->edu, 0));
	ASSERT_EQ(0, p2p_cmd_bits(&self->edu,
				  PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 0));
	ASSERT_EQ(0, open_exporter(self, variant->bdf));

	self->memfd = memfd_create("edu-staging", MFD_CLOEXEC);
	ASSERT_LE(0, self->memfd);
	ASSERT_EQ(0, ftruncate(self->memfd, MEM_SIZE));
	self->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			 self->memfd, 0);
	ASSERT_NE(MAP_FAILED, self->mem);
	memset(self->mem, 0, MEM_SIZE);
	test_ioctl_ioas_map_file_id(self->iommufd, self->ioas, self->memfd, 0,
				    MEM_SIZE, IOVA_MEM, MAP_RW);
}

static void deferred_undo(struct _test_data_vmp2p *self);

FIXTURE_TEARDOWN(vmp2p)
{
	deferred_undo(self);
	if (self->vabar != MAP_FAILED)
		munmap(self->vabar, self->vabar_size);
	if (self->mem != MAP_FAILED)
		munmap(self->mem, MEM_SIZE);
	if (self->memfd >= 0)
		close(self->memfd);
	if (self->dfd >= 0)
		close(self->dfd);
	p2p_dev_close(&self->exp);
	p2p_dev_close(&self->edu);
	if (self->iommufd >= 0)
		close(self->iommufd);
}

/* Put @len bytes of @data into edu's buffer at @buf_off, through the memfd */
static int edu_load(struct _test_data_vmp2p *self, unsigned int buf_off,
		    const void *data, size_t len)
{
	memcpy(self->mem + buf_off, data, len);
	return edu_dma(&self->edu, IOVA_MEM + buf_off, buf_off, len, false);
}

/* Get @len bytes of edu's buffer at @buf_off, through the memfd */
static int edu_fetch(struct _test_data_vmp2p *self, unsigned int buf_off,
		     void *data, size_t len)
{
	memset(self->mem + buf_off, 0, len);
	if (edu_dma(&self->edu, IOVA_MEM + buf_off, buf_off, len, true))
		return -1;
	memcpy(data, self->mem + buf_off, len);
	return 0;
}

/*
 * edu writes @msg to @iova, which maps BAR offset @bar_off: it must land
 * there, over a CPU-written sentinel.  It is also reported to the host
 * check.
 */
static void edu_write(struct __test_metadata *_metadata,
		      struct _test_data_vmp2p *self,
		      const struct _fixture_variant_vmp2p *variant,
		      uint64_t iova, uint64_t bar_off, const char *msg)
{
	size_t len = strlen(msg) + 1;
	char got[256];

	mmio_fill(self->bar, bar_off, SENTINEL, len);
	EXPECT_EQ(0, edu_load(self, 0, msg, len));
	EXPECT_EQ(0, edu_dma(&self->edu, iova, 0, len, true));
	mmio_copy_from(got, self->bar, bar_off, len);
	EXPECT_EQ(0, memcmp(got, msg, len)) {
		TH_LOG("'%s' did not land at BAR offset %#llx", msg,
		       (unsigned long long)bar_off);
	}
	if (variant->shm)
		p2p_host_expect(variant->shm, bar_off, msg, len, msg);
}

/*
 * A write that must not land.  The BAR cannot be read by the CPU while
 * revoked (vfio-pci zaps its mmap), so: blocked_arm() puts a sentinel in
 * the BAR before the revoke, blocked_dma() has edu write while revoked,
 * and blocked_check() looks at the sentinel once the BAR is back.
 */
#define BLOCKED_LEN	32

static void blocked_arm(struct _test_data_vmp2p *self, uint64_t bar_off)
{
	mmio_fill(self->bar, bar_off, SENTINEL, BLOCKED_LEN);
}

static int blocked_dma(struct _test_data_vmp2p *self, uint64_t iova)
{
	static const char msg[BLOCKED_LEN] = "P2P-IOMMUFD must not land";

	if (edu_load(self, 0, msg, sizeof(msg)))
		return -1;
	return edu_dma(&self->edu, iova, 0, sizeof(msg), true);
}

static bool blocked_check(struct _test_data_vmp2p *self, uint64_t bar_off)
{
	return mmio_all(self->bar, bar_off, SENTINEL, BLOCKED_LEN);
}

/* mmap the exporter's BAR once more: the address a VMM would map */
static uint8_t *map_bar_again(struct _test_data_vmp2p *self, uint32_t index,
			      uint64_t *size)
{
	struct vfio_region_info info = { .argsz = sizeof(info), .index = index };
	void *p;

	if (ioctl(self->exp.fd, VFIO_DEVICE_GET_REGION_INFO, &info) ||
	    !(info.flags & VFIO_REGION_INFO_FLAG_MMAP) || !info.size)
		return MAP_FAILED;
	*size = (info.size + PAGE - 1) & ~(PAGE - 1);
	p = mmap(NULL, *size, PROT_READ | PROT_WRITE, MAP_SHARED, self->exp.fd,
		 info.offset);
	return p;
}

/*
 * Export @nr ranges and map the whole dma-buf at IOVA; or, for the va_*
 * tests, map the one range by the address of a BAR mmap.
 */
static int export_map(struct _test_data_vmp2p *self,
		      const struct vfio_region_dma_range *r, unsigned int nr,
		      uint32_t map_flags)
{
	uint64_t size = 0;
	uint64_t iova = IOVA;
	unsigned int i;

	if (self->by_va) {
		if (nr != 1)
			return -EINVAL;
		if (self->vabar == MAP_FAILED)
			self->vabar = map_bar_again(self, BAR,
						    &self->vabar_size);
		if (self->vabar == MAP_FAILED)
			return -errno;
		return p2p_map_va(self->iommufd, self->ioas,
				  self->vabar + r->offset, r->length, IOVA,
				  map_flags);
	}
	for (i = 0; i < nr; i++)
		size += r[i].length;
	self->dfd = dmabuf_export(self->exp.fd, BAR, r, nr);
	if (self->dfd < 0)
		return self->dfd;
	return _test_ioctl_ioas_map_file(self->iommufd, self->ioas, self->dfd, 0,
					 size, &iova,
					 map_flags | IOMMU_IOAS_MAP_FIXED_IOVA);
}

TEST_F_TIMEOUT(vmp2p, write_and_read, 120)
{
	struct vfio_region_dma_range r = { AREA(0), PAGE };
	char pattern[64], got[64];
	char msg[96];
	unsigned int i;

	ASSERT_EQ(0, export_map(self, &r, 1, MAP_RW));
	snprintf(msg, sizeof(msg), "P2P-IOMMUFD %s edu wrote the BAR",
		 variant->bdf);
	edu_write(_metadata, self, variant, IOVA + 0x100, AREA(0) + 0x100, msg);

	/* Other direction: the CPU writes the BAR, edu reads it */
	for (i = 0; i < sizeof(pattern); i++)
		pattern[i] = (char)(0x41 + i % 26);
	mmio_copy_to(self->bar, AREA(0) + 0x800, pattern, sizeof(pattern));
	ASSERT_EQ(0, edu_dma(&self->edu, IOVA + 0x800, 0x200, sizeof(pattern),
			     false));
	ASSERT_EQ(0, edu_fetch(self, 0x200, got, sizeof(got)));
	EXPECT_EQ(0, memcmp(pattern, got, sizeof(got)));
	EXPECT_EQ(1, p2p_areas(self->iommufd).mapped);
	EXPECT_EQ(0, p2p_unmap(self->iommufd, self->ioas, IOVA, PAGE));
}

/* One IOVA area over three BAR ranges, in an order that is not the BAR's */
TEST_F_TIMEOUT(vmp2p, multi_range, 120)
{
	struct vfio_region_dma_range r[3] = {
		{ AREA(1) + 0x8000, PAGE },
		{ AREA(1), 2 * PAGE },
		{ AREA(1) + 0x4000, PAGE },
	};
	uint64_t iova_off[3] = { 0x10, PAGE + 0x1800, 3 * PAGE + 0x20 };
	uint64_t bar_off[3] = {
		AREA(1) + 0x8000 + 0x10, AREA(1) + 0x1800,
		AREA(1) + 0x4000 + 0x20,
	};
	char msg[96];
	int i;

	ASSERT_EQ(0, export_map(self, r, 3, MAP_RW));
	for (i = 0; i < 3; i++) {
		snprintf(msg, sizeof(msg), "P2P-IOMMUFD %s range %d",
			 variant->bdf, i);
		edu_write(_metadata, self, variant, IOVA + iova_off[i],
			  bar_off[i], msg);
	}
	EXPECT_EQ(0, p2p_unmap(self->iommufd, self->ioas, IOVA, 4 * PAGE));
}

/* A read-only dma-buf: WRITEABLE is EPERM, a READABLE mapping blocks writes */
TEST_F_TIMEOUT(vmp2p, read_only_dmabuf, 120)
{
	struct vfio_region_dma_range r = { AREA(2), PAGE };
	uint8_t got[16];

	self->dfd = dmabuf_feature_raw(self->exp.fd, VFIO_DEVICE_FEATURE_GET,
				       BAR, O_RDONLY | O_CLOEXEC, 0, 1, &r, 1,
				       0);
	ASSERT_LE(0, self->dfd);
	test_err_ioctl_ioas_map_file_id(EPERM, self->iommufd, self->ioas,
					self->dfd, 0, PAGE, IOVA, MAP_RW);
	test_ioctl_ioas_map_file_id(self->iommufd, self->ioas, self->dfd, 0,
				    PAGE, IOVA, IOMMU_IOAS_MAP_READABLE);
	blocked_arm(self, AREA(2));
	EXPECT_EQ(0, blocked_dma(self, IOVA));
	EXPECT_TRUE(blocked_check(self, AREA(2)));
	mmio_fill(self->bar, AREA(2) + 0x100, 0x5a, sizeof(got));
	ASSERT_EQ(0, edu_dma(&self->edu, IOVA + 0x100, 0x300, sizeof(got),
			     false));
	ASSERT_EQ(0, edu_fetch(self, 0x300, got, sizeof(got)));
	EXPECT_EQ(0x5a, got[0]);
	EXPECT_EQ(0x5a, got[sizeof(got) - 1]);
}

/*
 * The one dma-buf area of the system, through the test op: its pages were
 * revoked @revokes and restored @restores times (-1: either)
 */
static bool area_counts(struct _test_data_vmp2p *self, long revokes,
			long restores)
{
	struct p2p_areas a = p2p_areas(self->iommufd);

	return a.nr == 1 && (revokes < 0 || a.revokes == revokes) &&
	       (restores < 0 || a.restores == restores);
}

/* A trigger with separate revoke and restore steps */
static void revoke_cycle(struct __test_metadata *_metadata,
			 struct _test_data_vmp2p *self,
			 const struct _fixture_variant_vmp2p *variant,
			 uint64_t area, const struct p2p_trigger *t,
			 const char *name)
{
	struct vfio_region_dma_range r = { area, PAGE };
	char msg[96];

	ASSERT_EQ(0, export_map(self, &r, 1, MAP_RW));
	snprintf(msg, sizeof(msg), "P2P-IOMMUFD %s %s before", variant->bdf,
		 name);
	edu_write(_metadata, self, variant, IOVA, area, msg);

	blocked_arm(self, area + 0x400);
	ASSERT_EQ(0, t->revoke(&self->exp, self->bdf));
	EXPECT_EQ(1, p2p_areas(self->iommufd).revoked);
	EXPECT_EQ(0, blocked_dma(self, IOVA + 0x400));

	ASSERT_EQ(0, t->restore(&self->exp, self->bdf));
	EXPECT_EQ(1, p2p_areas(self->iommufd).mapped);
	EXPECT_TRUE(blocked_check(self, area + 0x400)) {
		TH_LOG("%s: DMA landed while revoked", name);
	}
	snprintf(msg, sizeof(msg), "P2P-IOMMUFD %s %s restored", variant->bdf,
		 name);
	edu_write(_metadata, self, variant, IOVA + 0x800, area + 0x800, msg);
	EXPECT_EQ(0, p2p_unmap(self->iommufd, self->ioas, IOVA, PAGE));
}

/*
 * A reset revokes and restores inside the call.  Afterwards the mapping is
 * back by itself: DMA lands with no remap (the restore of a host reset
 * runs from a work item: poll for it).
 */
static void reset_cycle(struct __test_metadata *_metadata,
			struct _test_data_vmp2p *self,
			const struct _fixture_variant_vmp2p *variant,
			uint64_t area, const struct p2p_trigger *t,
			const char *name)
{
	struct vfio_region_dma_range r = { area, PAGE };
	char msg[96];
	int i;

	ASSERT_EQ(0, export_map(self, &r, 1, MAP_RW));
	snprintf(msg, sizeof(msg), "P2P-IOMMUFD %s %s before", variant->bdf,
		 name);
	edu_write(_metadata, self, variant, IOVA, area, msg);
	ASSERT_EQ(0, t->revoke(&self->exp, self->bdf));
	for (i = 0; t->async_restore && i < POLLS; i++) {
		if (area_counts(self, 1, 1))
			break;
		p2p_sleep_ms(100);
	}
	EXPECT_TRUE(area_counts(self, 1, 1));
	snprintf(msg, sizeof(msg), "P2P-IOMMUFD %s %s after", variant->bdf,
		 name);
	edu_write(_metadata, self, variant, IOVA + 0x800, area + 0x800, msg);
	EXPECT_EQ(0, p2p_unmap(self->iommufd, self->ioas, IOVA, PAGE));
}

/*
 * Trigger @id of p2p_trigger() at BAR area @area of the exporter, mapped
 * by fd or (@by_va) by address, or skip with what the exporter lacks.
 */
static void trigger_test(struct __test_metadata *_metadata,
			 struct _test_data_vmp2p *self,
			 const struct _fixture_variant_vmp2p *variant,
			 uint64_t area, enum p2p_trigger_id id, bool by_va)
{
	const struct p2p_trigger *t = p2p_trigger(id);
	const char *missing = p2p_trigger_missing(t, &self->exp, self->bdf);
	char name[64];

	if (missing)
		SKIP(return, "%s lacks %s", variant->bdf, missing);
	self->by_va = by_va;
	snprintf(name, sizeof(name), "%s%s", by_va ? "va " : "", t->name);
	if (t->restore)
		revoke_cycle(_metadata, self, variant, area, t, name);
	else
		reset_cycle(_metadata, self, variant, area, t, name);
}

TEST_F_TIMEOUT(vmp2p, revoke_command_mem, 120)
{
	trigger_test(_metadata, self, variant, AREA(3), P2P_TRIG_CMD_MEM,
		     false);
}

TEST_F_TIMEOUT(vmp2p, revoke_low_power, 120)
{
	trigger_test(_metadata, self, variant, AREA(4), P2P_TRIG_LOW_POWER,
		     false);
}

TEST_F_TIMEOUT(vmp2p, device_reset, 120)
{
	trigger_test(_metadata, self, variant, AREA(5), P2P_TRIG_DEVICE_RESET,
		     false);
}

TEST_F_TIMEOUT(vmp2p, hot_reset, 120)
{
	trigger_test(_metadata, self, variant, AREA(6), P2P_TRIG_HOT_RESET,
		     false);
}

TEST_F_TIMEOUT(vmp2p, sysfs_reset, 120)
{
	trigger_test(_metadata, self, variant, AREA(7), P2P_TRIG_SYSFS_RESET,
		     false);
}

/* The upstream flow: unmap around the revoke, map again afterwards */
TEST_F_TIMEOUT(vmp2p, unmap_and_map_again, 120)
{
	struct vfio_region_dma_range r = { AREA(8), PAGE };

	ASSERT_EQ(0, export_map(self, &r, 1, MAP_RW));
	edu_write(_metadata, self, variant, IOVA, AREA(8),
		  "P2P-IOMMUFD unmap/map before");
	ASSERT_EQ(0, p2p_trig_low_power(&self->exp, 0));
	ASSERT_EQ(0, p2p_unmap(self->iommufd, self->ioas, IOVA, PAGE));
	/* Revoked: mapping again is ENODEV */
	test_err_ioctl_ioas_map_file_id(ENODEV, self->iommufd, self->ioas,
					self->dfd, 0, PAGE, IOVA, MAP_RW);
	ASSERT_EQ(0, p2p_trig_low_power(&self->exp, 1));
	test_ioctl_ioas_map_file_id(self->iommufd, self->ioas, self->dfd, 0,
				    PAGE, IOVA, MAP_RW);
	edu_write(_metadata, self, variant, IOVA + 0x800, AREA(8) + 0x800,
		  "P2P-IOMMUFD unmap/map after");
}

/* Closing the exporting device revokes for good */
TEST_F_TIMEOUT(vmp2p, close_exporter, 120)
{
	struct vfio_region_dma_range r = { AREA(9), PAGE };

	ASSERT_EQ(0, export_map(self, &r, 1, MAP_RW));
	edu_write(_metadata, self, variant, IOVA, AREA(9),
		  "P2P-IOMMUFD close before");
	blocked_arm(self, AREA(9) + 0x800);
	p2p_dev_close(&self->exp);
	self->bar = NULL;
	EXPECT_EQ(1, p2p_areas(self->iommufd).revoked);

	/* edu's DMA faults; open the device again to look at the BAR */
	EXPECT_EQ(0, blocked_dma(self, IOVA + 0x800));
	ASSERT_EQ(0, open_exporter(self, variant->bdf));
	EXPECT_TRUE(blocked_check(self, AREA(9) + 0x800));
	/* Still revoked after the reopen: the dma-buf is dead */
	EXPECT_EQ(1, p2p_areas(self->iommufd).revoked);
	test_err_ioctl_ioas_map_file_id(ENODEV, self->iommufd, self->ioas,
					self->dfd, 0, PAGE, IOVA + PAGE,
					MAP_RW);
	EXPECT_EQ(0, p2p_unmap(self->iommufd, self->ioas, IOVA, PAGE));
}

#define MAP_BAR_VA_PARAM	"/sys/module/iommufd/parameters/map_bar_va"

/*
 * By address: edu writes and reads the BAR through an IOAS_MAP of its mmap,
 * the area is shown as coming from a VA, and munmap() of that mmap leaves
 * the mapping in place.
 */
TEST_F_TIMEOUT(vmp2p, va_map, 120)
{
	struct vfio_region_dma_range r = { AREA(12), 2 * PAGE };
	char pattern[64], got[64];
	unsigned int i;

	self->by_va = true;
	ASSERT_EQ(0, export_map(self, &r, 1, MAP_RW));
	EXPECT_EQ(1, p2p_areas(self->iommufd).from_va);
	EXPECT_EQ(1, p2p_areas(self->iommufd).mapped);
	edu_write(_metadata, self, variant, IOVA + 0x100, AREA(12) + 0x100,
		  "P2P-IOMMUFD by VA");

	for (i = 0; i < sizeof(pattern); i++)
		pattern[i] = (char)(0x61 + i % 26);
	mmio_copy_to(self->bar, AREA(12) + PAGE + 0x80, pattern,
		     sizeof(pattern));
	ASSERT_EQ(0, edu_dma(&self->edu, IOVA + PAGE + 0x80, 0x200,
			     sizeof(pattern), false));
	ASSERT_EQ(0, edu_fetch(self, 0x200, got, sizeof(got)));
	EXPECT_EQ(0, memcmp(pattern, got, sizeof(got)));

	/* The mapping belongs to the device, not to the VMA */
	ASSERT_EQ(0, munmap(self->vabar, self->vabar_size));
	self->vabar = MAP_FAILED;
	edu_write(_metadata, self, variant, IOVA + 0x800, AREA(12) + 0x800,
		  "P2P-IOMMUFD by VA after munmap");
	EXPECT_EQ(0, p2p_unmap(self->iommufd, self->ioas, IOVA, 2 * PAGE));
	EXPECT_EQ(0, p2p_areas(self->iommufd).from_va);
}

TEST_F_TIMEOUT(vmp2p, va_revoke_command_mem, 120)
{
	trigger_test(_metadata, self, variant, AREA(13), P2P_TRIG_CMD_MEM,
		     true);
}

TEST_F_TIMEOUT(vmp2p, va_revoke_low_power, 120)
{
	trigger_test(_metadata, self, variant, AREA(14), P2P_TRIG_LOW_POWER,
		     true);
}

TEST_F_TIMEOUT(vmp2p, va_device_reset, 120)
{
	trigger_test(_metadata, self, variant, AREA(15), P2P_TRIG_DEVICE_RESET,
		     true);
}

TEST_F_TIMEOUT(vmp2p, va_hot_reset, 120)
{
	trigger_test(_metadata, self, variant, AREA(16), P2P_TRIG_HOT_RESET,
		     true);
}

TEST_F_TIMEOUT(vmp2p, va_sysfs_reset, 120)
{
	trigger_test(_metadata, self, variant, AREA(17), P2P_TRIG_SYSFS_RESET,
		     true);
}

/* Closing the device revokes a by-address mapping for good */
TEST_F_TIMEOUT(vmp2p, va_close_exporter, 120)
{
	struct vfio_region_dma_range r = { AREA(18), PAGE };

	self->by_va = true;
	ASSERT_EQ(0, export_map(self, &r, 1, MAP_RW));
	edu_write(_metadata, self, variant, IOVA, AREA(18),
		  "P2P-IOMMUFD va close before");
	blocked_arm(self, AREA(18) + 0x800);
	/* The second mmap would keep the device open */
	ASSERT_EQ(0, munmap(self->vabar, self->vabar_size));
	self->vabar = MAP_FAILED;
	p2p_dev_close(&self->exp);
	self->bar = NULL;
	EXPECT_EQ(1, p2p_areas(self->iommufd).revoked);

	EXPECT_EQ(0, blocked_dma(self, IOVA + 0x800));
	ASSERT_EQ(0, open_exporter(self, variant->bdf));
	EXPECT_TRUE(blocked_check(self, AREA(18) + 0x800));
	EXPECT_EQ(1, p2p_areas(self->iommufd).revoked);
	EXPECT_EQ(0, p2p_unmap(self->iommufd, self->ioas, IOVA, PAGE));
}

/*
 * Ranges that are not one exportable BAR mapping fail with EFAULT, as
 * before, and leave nothing behind: a range running past the BAR mmap, RAM
 * followed by BAR and BAR followed by RAM.
 */
TEST_F_TIMEOUT(vmp2p, va_spanning_efault, 120)
{
	struct vfio_region_info info = { .argsz = sizeof(info), .index = BAR };
	const int prot = PROT_READ | PROT_WRITE;
	uint8_t *bar, *two;
	uint64_t size;

	bar = map_bar_again(self, BAR, &size);
	ASSERT_NE(MAP_FAILED, bar);
	EXPECT_EQ(-EFAULT, p2p_map_va(self->iommufd, self->ioas,
				      bar + size - PAGE, 2 * PAGE, IOVA,
				      MAP_RW));
	munmap(bar, size);

	/* Two pages of anonymous memory, one of them replaced by the BAR */
	ASSERT_EQ(0, ioctl(self->exp.fd, VFIO_DEVICE_GET_REGION_INFO, &info));
	two = mmap(NULL, 2 * PAGE, prot,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, two);
	ASSERT_NE(MAP_FAILED, mmap(two + PAGE, PAGE, prot,
				   MAP_SHARED | MAP_FIXED, self->exp.fd,
				   info.offset));
	EXPECT_EQ(-EFAULT, p2p_map_va(self->iommufd, self->ioas, two, 2 * PAGE,
				      IOVA, MAP_RW));
	ASSERT_NE(MAP_FAILED, mmap(two, PAGE, prot, MAP_SHARED | MAP_FIXED,
				   self->exp.fd, info.offset));
	ASSERT_NE(MAP_FAILED, mmap(two + PAGE, PAGE, prot,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED |
					   MAP_POPULATE, -1, 0));
	EXPECT_EQ(-EFAULT, p2p_map_va(self->iommufd, self->ioas, two, 2 * PAGE,
				      IOVA, MAP_RW));
	munmap(two, 2 * PAGE);

	/* Nothing was left at IOVA */
	EXPECT_EQ(0, p2p_areas(self->iommufd).from_va);
	test_ioctl_ioas_map_file_id(self->iommufd, self->ioas, self->memfd, 0,
				    PAGE, IOVA, MAP_RW);
	EXPECT_EQ(0, p2p_unmap(self->iommufd, self->ioas, IOVA, PAGE));
}

/*
 * Mapped by address while the BAR does not decode: the area starts revoked
 * (a VMM that maps by address does not retry) and is mapped once it
 * decodes again.
 */
TEST_F_TIMEOUT(vmp2p, va_map_while_revoked, 120)
{
	struct vfio_region_dma_range r = { AREA(20), PAGE };

	self->by_va = true;
	blocked_arm(self, AREA(20) + 0x400);
	ASSERT_EQ(0, p2p_trig_cmd_mem(&self->exp, 0));
	ASSERT_EQ(0, export_map(self, &r, 1, MAP_RW));
	EXPECT_EQ(1, p2p_areas(self->iommufd).revoked);
	EXPECT_EQ(0, blocked_dma(self, IOVA + 0x400));
	ASSERT_EQ(0, p2p_trig_cmd_mem(&self->exp, 1));
	EXPECT_EQ(1, p2p_areas(self->iommufd).mapped);
	EXPECT_TRUE(blocked_check(self, AREA(20) + 0x400));
	edu_write(_metadata, self, variant, IOVA, AREA(20),
		  "P2P-IOMMUFD va mapped while revoked");
	EXPECT_EQ(0, p2p_unmap(self->iommufd, self->ioas, IOVA, PAGE));
}

/*
 * The permissions and the offset of the VMA count: a read-only mmap gives
 * no writeable mapping, and an mmap that starts inside the BAR maps the
 * BAR from there.
 */
TEST_F_TIMEOUT(vmp2p, va_vma_prot_and_offset, 120)
{
	struct vfio_region_info info = { .argsz = sizeof(info), .index = BAR };
	uint8_t *ro, *mid;

	ASSERT_EQ(0, ioctl(self->exp.fd, VFIO_DEVICE_GET_REGION_INFO, &info));
	ro = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, self->exp.fd,
		  info.offset + AREA(21));
	ASSERT_NE(MAP_FAILED, ro);
	EXPECT_EQ(-EFAULT, p2p_map_va(self->iommufd, self->ioas, ro, PAGE,
				      IOVA, MAP_RW));
	ASSERT_EQ(0, p2p_map_va(self->iommufd, self->ioas, ro, PAGE, IOVA,
				IOMMU_IOAS_MAP_READABLE));
	blocked_arm(self, AREA(21));
	EXPECT_EQ(0, blocked_dma(self, IOVA));
	EXPECT_TRUE(blocked_check(self, AREA(21))) {
		TH_LOG("a read-only VMA gave a writeable IOMMU mapping");
	}
	EXPECT_EQ(0, p2p_unmap(self->iommufd, self->ioas, IOVA, PAGE));
	munmap(ro, PAGE);

	mid = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		   self->exp.fd, info.offset + AREA(22));
	ASSERT_NE(MAP_FAILED, mid);
	ASSERT_EQ(0, p2p_map_va(self->iommufd, self->ioas, mid + PAGE, PAGE,
				IOVA, MAP_RW));
	edu_write(_metadata, self, variant, IOVA + 0x40, AREA(22) + PAGE + 0x40,
		  "P2P-IOMMUFD va mmap inside the BAR");
	EXPECT_EQ(0, p2p_unmap(self->iommufd, self->ioas, IOVA, PAGE));
	munmap(mid, 2 * PAGE);
}

/* A BAR smaller than a page is refused by the exporter: EFAULT */
TEST_F_TIMEOUT(vmp2p, va_subpage_bar_efault, 120)
{
	struct vfio_region_info info = {
		.argsz = sizeof(info), .index = VFIO_PCI_BAR0_REGION_INDEX,
	};
	uint64_t size;
	uint8_t *bar0;

	if (ioctl(self->exp.fd, VFIO_DEVICE_GET_REGION_INFO, &info) ||
	    info.size >= PAGE)
		SKIP(return, "%s has no BAR0 smaller than a page", variant->bdf);
	bar0 = map_bar_again(self, VFIO_PCI_BAR0_REGION_INDEX, &size);
	if (bar0 == MAP_FAILED)
		SKIP(return, "%s: BAR0 of %llu bytes is not mmap-able",
		     variant->bdf, (unsigned long long)info.size);
	EXPECT_EQ(-EFAULT, p2p_map_va(self->iommufd, self->ioas, bar0, PAGE,
				      IOVA, MAP_RW));
	EXPECT_EQ(0, p2p_areas(self->iommufd).from_va);
	munmap(bar0, size);
}

/* iommufd.map_bar_va=0: upstream's EFAULT */
TEST_F_TIMEOUT(vmp2p, va_opt_out, 120)
{
	struct vfio_region_dma_range r = { AREA(19), PAGE };

	if (access(MAP_BAR_VA_PARAM, W_OK))
		SKIP(return, "no %s", MAP_BAR_VA_PARAM);
	self->by_va = true;
	ASSERT_EQ(0, p2p_write_str(MAP_BAR_VA_PARAM, "0"));
	EXPECT_EQ(-EFAULT, export_map(self, &r, 1, MAP_RW));
	ASSERT_EQ(0, p2p_write_str(MAP_BAR_VA_PARAM, "1"));
	EXPECT_EQ(0, p2p_areas(self->iommufd).from_va);
	ASSERT_EQ(0, export_map(self, &r, 1, MAP_RW));
	edu_write(_metadata, self, variant, IOVA, AREA(19),
		  "P2P-IOMMUFD va after opt-in");
	EXPECT_EQ(0, p2p_unmap(self->iommufd, self->ioas, IOVA, PAGE));
}

/*
 * Races: for a bounded number of rounds, one thread revokes and restores
 * (memory decode, low power), one maps and unmaps a second dma-buf and
 * copies into a second IOAS, one creates and closes dma-bufs, one maps a
 * fresh BAR mmap by address, drops the VMA, copies the area into the
 * second IOAS and unmaps both, while the main thread has edu DMA into the
 * mapped BAR.
 *
 * A map that meets a revoked dma-buf fails with ENODEV, the one errno
 * MAP_FILE documents for it; every other failure of any thread is an
 * error.  How often the mapper finds the dma-buf active depends on the
 * speed of the IOMMU and of the triggers, so the revoker also opens
 * windows: after every RACE_WINDOW_EVERY-th restore it waits until the
 * mapper has mapped, copied and had edu DMA through the new mapping.
 * Nothing can revoke meanwhile, so in a window the map must succeed and
 * the DMA must land.  Afterwards, in a revoked state, no DMA may land;
 * restored, it must.  A map by address never fails: it is born revoked
 * when the BAR does not decode (see va_map_while_revoked).  The kernel
 * log is checked by the runner (lockdep, KASAN, WARN).
 */
#define RACE_ROUNDS		60U
#define RACE_WINDOW_EVERY	6U
#define RACE_WINDOWS		(RACE_ROUNDS / RACE_WINDOW_EVERY)
#define RACE_WINDOW_SECS	30
#define RACE_ERRNOS		256	/* errnos counted one by one */
#define RACE_DMA_LEN		32
/* Where the mapper's DMA goes: edu buffer, staging memfd, dfd2's page */
#define RACE_BUF_OFF		0x400
#define RACE_DMA_OFF		0x100

/* Failures of one kind of call, by errno; [0] counts errnos out of range */
struct race_errs {
	unsigned int n;
	unsigned int by_errno[RACE_ERRNOS];
};

struct race {
	struct _test_data_vmp2p *self;
	int dfd2;
	uint32_t ioas2;
	/* edu has one DMA engine: the main thread and the mapper share it */
	pthread_mutex_t edu_lock;
	/* the windows, see above */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned int windows, windows_done, windows_missed;
	bool revoker_done;
	/* counts of what succeeded */
	unsigned int revokes, maps, copies, exports, attempts, va_maps,
		     va_copies;
	unsigned int win_maps, win_copies, win_landed;
	/* and of what failed */
	struct race_errs revoke_err, map_err, copy_err, unmap_err, export_err,
			 export_map_err, win_map_err, win_dma_err, va_mmap_err,
			 va_map_err, va_copy_err;
};

static void race_err(struct race_errs *e, int err)
{
	err = err < 0 ? -err : err;
	e->n++;
	e->by_errno[err > 0 && err < RACE_ERRNOS ? err : 0]++;
}

/* Failures other than ENODEV */
static unsigned int race_not_enodev(const struct race_errs *e)
{
	return e->n - e->by_errno[ENODEV];
}

static void race_print_errs(const char *what, const struct race_errs *e)
{
	unsigned int i;

	if (!e->n)
		return;
	printf("# races: %s failed %u time(s):", what, e->n);
	for (i = 0; i < RACE_ERRNOS; i++)
		if (e->by_errno[i])
			printf(" %s x%u", i ? strerror(i) : "errno out of range",
			       e->by_errno[i]);
	printf("\n");
}

static void *race_revoker(void *arg)
{
	struct race *rc = arg;
	struct timespec deadline;
	unsigned int i;
	int ret;

	for (i = 0; i < RACE_ROUNDS; i++) {
		const struct p2p_trigger *t = p2p_trigger(i & 1 ?
							  P2P_TRIG_LOW_POWER :
							  P2P_TRIG_CMD_MEM);

		ret = t->revoke(&rc->self->exp, rc->self->bdf);
		if (ret)
			race_err(&rc->revoke_err, ret < 0 ? errno : ret);
		ret = t->restore(&rc->self->exp, rc->self->bdf);
		if (ret)
			race_err(&rc->revoke_err, ret < 0 ? errno : ret);
		else
			rc->revokes++;
		if (i % RACE_WINDOW_EVERY != RACE_WINDOW_EVERY - 1)
			continue;

		/* Active now, and it stays so until the mapper is through */
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += RACE_WINDOW_SECS;
		pthread_mutex_lock(&rc->lock);
		rc->windows++;
		pthread_cond_broadcast(&rc->cond);
		while (rc->windows_done != rc->windows)
			if (pthread_cond_timedwait(&rc->cond, &rc->lock,
						   &deadline) == ETIMEDOUT)
				break;
		if (rc->windows_done != rc->windows)
			rc->windows_missed++;
		pthread_mutex_unlock(&rc->lock);
	}
	pthread_mutex_lock(&rc->lock);
	rc->revoker_done = true;
	pthread_cond_broadcast(&rc->cond);
	pthread_mutex_unlock(&rc->lock);
	return NULL;
}

/* edu writes a message at @iova, which maps BAR offset @bar_off */
static bool race_dma_lands(struct race *rc, uint64_t iova, uint64_t bar_off,
			   unsigned int n)
{
	struct _test_data_vmp2p *self = rc->self;
	char msg[RACE_DMA_LEN], got[RACE_DMA_LEN];
	int ret;

	snprintf(msg, sizeof(msg), "P2P-IOMMUFD race window %u", n);
	mmio_fill(self->bar, bar_off, SENTINEL, sizeof(msg));
	pthread_mutex_lock(&rc->edu_lock);
	ret = edu_load(self, RACE_BUF_OFF, msg, sizeof(msg));
	if (!ret)
		ret = edu_dma(&self->edu, iova, RACE_BUF_OFF, sizeof(msg),
			      true);
	pthread_mutex_unlock(&rc->edu_lock);
	if (ret)
		return false;
	mmio_copy_from(got, self->bar, bar_off, sizeof(got));
	return !memcmp(got, msg, sizeof(msg));
}

/*
 * Copy the page mapped at @src_iova of the first IOAS to @dst_iova of the
 * second, then unmap both; counts the copy in @copies or its errno in @err.
 */
static void race_copy_unmap(struct race *rc, uint64_t src_iova,
			    uint64_t dst_iova, unsigned int *copies,
			    struct race_errs *err)
{
	struct iommu_ioas_copy copy = {
		.size = sizeof(copy),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | MAP_RW,
		.dst_ioas_id = rc->ioas2,
		.src_ioas_id = rc->self->ioas,
		.length = PAGE,
		.dst_iova = dst_iova,
		.src_iova = src_iova,
	};
	int iommufd = rc->self->iommufd;
	int ret;

	if (!ioctl(iommufd, IOMMU_IOAS_COPY, &copy)) {
		(*copies)++;
		ret = p2p_unmap(iommufd, rc->ioas2, dst_iova, PAGE);
		if (ret)
			race_err(&rc->unmap_err, ret);
	} else {
		race_err(err, errno);
	}
	ret = p2p_unmap(iommufd, rc->self->ioas, src_iova, PAGE);
	if (ret)
		race_err(&rc->unmap_err, ret);
}

/* Map dfd2, copy it into the second IOAS, unmap both; 0 or -errno */
static int race_map_once(struct race *rc, bool window)
{
	int iommufd = rc->self->iommufd;
	uint64_t iova = IOVA + 0x100000;
	int ret;

	ret = _test_ioctl_ioas_map_file(iommufd, rc->self->ioas, rc->dfd2, 0,
					PAGE, &iova,
					MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA);
	if (ret)
		return ret;
	if (window) {
		rc->win_maps++;
		if (race_dma_lands(rc, IOVA + 0x100000 + RACE_DMA_OFF,
				   AREA(10) + 0x4000 + RACE_DMA_OFF,
				   rc->windows_done))
			rc->win_landed++;
		else
			race_err(&rc->win_dma_err, EIO);
	} else {
		rc->maps++;
	}
	/* The copy holds the same dma-buf pages: no IOMMU work, no revoke */
	race_copy_unmap(rc, IOVA + 0x100000, IOVA,
			window ? &rc->win_copies : &rc->copies, &rc->copy_err);
	return 0;
}

static void *race_mapper(void *arg)
{
	struct race *rc = arg;
	bool done, window;
	int ret;

	for (;;) {
		pthread_mutex_lock(&rc->lock);
		done = rc->revoker_done;
		window = rc->windows_done != rc->windows;
		pthread_mutex_unlock(&rc->lock);
		if (window) {
			ret = race_map_once(rc, true);
			if (ret)
				race_err(&rc->win_map_err, ret);
			pthread_mutex_lock(&rc->lock);
			rc->windows_done++;
			pthread_cond_broadcast(&rc->cond);
			pthread_mutex_unlock(&rc->lock);
			continue;
		}
		if (done)
			break;
		rc->attempts++;
		ret = race_map_once(rc, false);
		if (ret) {
			race_err(&rc->map_err, ret);
			/* Revoked: let the revoker have the CPU */
			p2p_sleep_ms(1);
		}
	}
	return NULL;
}

static void *race_exporter(void *arg)
{
	struct vfio_region_dma_range r = { AREA(11), PAGE };
	struct race *rc = arg;
	unsigned int i;
	uint64_t iova;
	int fd, ret;

	for (i = 0; i < RACE_ROUNDS; i++) {
		/* Born revoked if the BAR does not decode: never refused */
		fd = dmabuf_export(rc->self->exp.fd, BAR, &r, 1);
		if (fd < 0) {
			race_err(&rc->export_err, fd);
			continue;
		}
		rc->exports++;
		iova = IOVA + 0x200000;
		ret = _test_ioctl_ioas_map_file(rc->self->iommufd, rc->ioas2,
						fd, 0, PAGE, &iova,
						MAP_RW |
						IOMMU_IOAS_MAP_FIXED_IOVA);
		if (ret) {
			race_err(&rc->export_map_err, ret);
		} else {
			ret = p2p_unmap(rc->self->iommufd, rc->ioas2,
					IOVA + 0x200000, PAGE);
			if (ret)
				race_err(&rc->unmap_err, ret);
		}
		close(fd);
	}
	return NULL;
}

/* By address: a new VMA each round, gone before the area is unmapped */
static void *race_va_mapper(void *arg)
{
	struct race *rc = arg;
	unsigned int i;
	uint64_t size;
	uint8_t *bar;
	int ret;

	for (i = 0; i < RACE_ROUNDS; i++) {
		bar = map_bar_again(rc->self, BAR, &size);
		if (bar == MAP_FAILED) {
			race_err(&rc->va_mmap_err, errno);
			continue;
		}
		ret = p2p_map_va(rc->self->iommufd, rc->self->ioas,
				 bar + AREA(10) + 0x8000,
				 PAGE, IOVA + 0x300000, MAP_RW);
		munmap(bar, size);
		if (ret) {
			race_err(&rc->va_map_err, ret);
			continue;
		}
		rc->va_maps++;
		race_copy_unmap(rc, IOVA + 0x300000, IOVA + 0x300000,
				&rc->va_copies, &rc->va_copy_err);
	}
	return NULL;
}

TEST_F_TIMEOUT(vmp2p, races, 600)
{
	struct vfio_region_dma_range r = { AREA(10), PAGE };
	struct vfio_region_dma_range r2 = { AREA(10) + 0x4000, PAGE };
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct race *rc;
	pthread_t t[4];
	unsigned int i, dmas = 0;
	int ret;

	/* Too big for the stack of a harness test */
	rc = calloc(1, sizeof(*rc));
	ASSERT_NE(NULL, rc);
	rc->self = self;
	pthread_mutex_init(&rc->edu_lock, NULL);
	pthread_mutex_init(&rc->lock, NULL);
	pthread_cond_init(&rc->cond, NULL);
	ASSERT_EQ(0, export_map(self, &r, 1, MAP_RW));
	rc->dfd2 = dmabuf_export(self->exp.fd, BAR, &r2, 1);
	ASSERT_LE(0, rc->dfd2);
	ASSERT_EQ(0, ioctl(self->iommufd, IOMMU_IOAS_ALLOC, &alloc));
	rc->ioas2 = alloc.out_ioas_id;

	ASSERT_EQ(0, pthread_create(&t[0], NULL, race_revoker, rc));
	ASSERT_EQ(0, pthread_create(&t[1], NULL, race_mapper, rc));
	ASSERT_EQ(0, pthread_create(&t[2], NULL, race_exporter, rc));
	ASSERT_EQ(0, pthread_create(&t[3], NULL, race_va_mapper, rc));
	for (i = 0; i < RACE_ROUNDS / 4; i++) {
		pthread_mutex_lock(&rc->edu_lock);
		ret = edu_load(self, 0, "P2P-IOMMUFD race", 17);
		if (!ret)
			ret = edu_dma(&self->edu, IOVA, 0, 17, true);
		pthread_mutex_unlock(&rc->edu_lock);
		if (!ret)
			dmas++;
	}
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	printf("# races: %u revoke cycles, %u exports, %u DMAs\n", rc->revokes,
	       rc->exports, dmas);
	printf("# races: between windows %u of %u maps, %u copies\n", rc->maps,
	       rc->attempts, rc->copies);
	printf("# races: %u maps by address, %u copies of them\n", rc->va_maps,
	       rc->va_copies);
	printf("# races: %u windows, %u missed: %u maps, %u copies, %u DMAs landed\n",
	       rc->windows, rc->windows_missed, rc->win_maps, rc->win_copies,
	       rc->win_landed);
	race_print_errs("revoke or restore", &rc->revoke_err);
	race_print_errs("MAP_FILE between windows", &rc->map_err);
	race_print_errs("MAP_FILE in a window", &rc->win_map_err);
	race_print_errs("DMA in a window", &rc->win_dma_err);
	race_print_errs("COPY", &rc->copy_err);
	race_print_errs("UNMAP", &rc->unmap_err);
	race_print_errs("export", &rc->export_err);
	race_print_errs("MAP_FILE of a new export", &rc->export_map_err);
	race_print_errs("mmap of the BAR", &rc->va_mmap_err);
	race_print_errs("IOAS_MAP by address", &rc->va_map_err);
	race_print_errs("COPY of a map by address", &rc->va_copy_err);

	EXPECT_EQ(RACE_ROUNDS, rc->revokes);
	EXPECT_EQ(0U, rc->revoke_err.n);
	EXPECT_EQ(RACE_ROUNDS, rc->exports);
	EXPECT_EQ(0U, rc->export_err.n);
	EXPECT_EQ(RACE_ROUNDS / 4, dmas);
	/* Windows: nothing revokes, so each map succeeds and its DMA lands */
	EXPECT_EQ(RACE_WINDOWS, rc->windows);
	EXPECT_EQ(0U, rc->windows_missed);
	EXPECT_EQ(RACE_WINDOWS, rc->win_maps);
	EXPECT_EQ(RACE_WINDOWS, rc->win_copies);
	EXPECT_EQ(RACE_WINDOWS, rc->win_landed);
	/* Between windows a map may find the dma-buf revoked: ENODEV only */
	EXPECT_EQ(0U, race_not_enodev(&rc->map_err));
	EXPECT_EQ(0U, race_not_enodev(&rc->export_map_err));
	EXPECT_EQ(rc->maps, rc->copies);
	EXPECT_EQ(0U, rc->copy_err.n);
	EXPECT_EQ(0U, rc->unmap_err.n);
	/* By address: never refused, revoked or not */
	EXPECT_EQ(0U, rc->va_mmap_err.n);
	EXPECT_EQ(0U, rc->va_map_err.n);
	EXPECT_EQ(RACE_ROUNDS, rc->va_maps);
	EXPECT_EQ(RACE_ROUNDS, rc->va_copies);
	EXPECT_EQ(0U, rc->va_copy_err.n);
	EXPECT_EQ(0, p2p_areas(self->iommufd).from_va);

	/* Quiet again: revoked blocks, restored lands */
	ASSERT_EQ(0, p2p_cmd_bits(&self->exp, PCI_COMMAND_MEMORY, 0));
	blocked_arm(self, AREA(10) + 0x400);
	ASSERT_EQ(0, p2p_trig_low_power(&self->exp, 0));
	EXPECT_EQ(0, blocked_dma(self, IOVA + 0x400));
	ASSERT_EQ(0, p2p_trig_low_power(&self->exp, 1));
	EXPECT_TRUE(blocked_check(self, AREA(10) + 0x400));
	edu_write(_metadata, self, variant, IOVA + 0x800, AREA(10) + 0x800,
		  "P2P-IOMMUFD race restored");
	close(rc->dfd2);
	pthread_cond_destroy(&rc->cond);
	pthread_mutex_destroy(&rc->lock);
	pthread_mutex_destroy(&rc->edu_lock);
	free(rc);
}

/* Physical address of BAR @bar of @bdf, from sysfs; 0 if unknown */
static uint64_t bar_phys(const char *bdf, unsigned int bar)
{
	unsigned long long start = 0, end, flags;
	char path[128];
	unsigned int i;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource", bdf);
	f = fopen(path, "r");
	if (!f)
		return 0;
	for (i = 0; i <= bar; i++)
		if (fscanf(f, "%llx %llx %llx", &start, &end, &flags) != 3)
			start = 0;
	fclose(f);
	return start;
}

#define SZ_2M	0x200000ULL
#define SZ_1G	0x40000000ULL

/*
 * Automatic IOVA for a BAR slice that starts 4K into the BAR: congruent to
 * the BAR's physical address modulo 2M (the slice holds whole 2M blocks),
 * so the IOMMU can use 2M IOPTEs, and edu DMA through them lands.
 */
TEST_F_TIMEOUT(vmp2p, congruent_auto_iova, 120)
{
	/* BAR offset 4K up to 4M + 4K: [2M, 4M) is a whole 2M block */
	struct vfio_region_dma_range r = { PAGE, 2 * SZ_2M };
	uint64_t phys = bar_phys(variant->bdf, BAR), iova = 0;
	char msg[96];

	ASSERT_NE(0, phys);
	self->dfd = dmabuf_export(self->exp.fd, BAR, &r, 1);
	ASSERT_LE(0, self->dfd);
	ASSERT_EQ(0, _test_ioctl_ioas_map_file(self->iommufd, self->ioas,
					       self->dfd, 0, r.length, &iova,
					       MAP_RW));
	EXPECT_EQ(0, (iova - (phys + PAGE)) & (SZ_2M - 1)) {
		TH_LOG("iova %#llx, BAR slice at %#llx",
		       (unsigned long long)iova,
		       (unsigned long long)(phys + PAGE));
	}
	/* BAR offset 2M + 0x100, inside the 2M block */
	snprintf(msg, sizeof(msg), "P2P-IOMMUFD %s congruent IOVA",
		 variant->bdf);
	edu_write(_metadata, self, variant, iova + SZ_2M - PAGE + 0x100,
		  SZ_2M + 0x100, msg);
	EXPECT_EQ(0, p2p_unmap(self->iommufd, self->ioas, iova, r.length));
}

/*
 * Deferred restore under a real reset: with iommufd.dmabuf_restore_inline=0
 * every restore leaves the exporter's path for a work item, which
 * dmabuf_restore_test_delay_ms holds back.  Until it runs the IOPTEs are
 * absent (edu DMA does not land, though the BAR decodes again); the first
 * ioctl on the same iommufd waits for it, and DMA lands again.
 */
#define RESTORE_INLINE	"/sys/module/iommufd/parameters/dmabuf_restore_inline"
#define RESTORE_DELAY \
	"/sys/module/iommufd/parameters/dmabuf_restore_test_delay_ms"
#define DEFER_DELAY_MS	1500

static int deferred_setup(struct _test_data_vmp2p *self)
{
	char buf[32];
	ssize_t n;
	int fd;

	fd = open(RESTORE_INLINE, O_RDONLY);
	if (fd < 0 || access(RESTORE_DELAY, W_OK)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	snprintf(self->inline_saved, sizeof(self->inline_saved), "%s", buf);
	snprintf(buf, sizeof(buf), "%d", DEFER_DELAY_MS);
	if (p2p_write_str(RESTORE_INLINE, "0") ||
	    p2p_write_str(RESTORE_DELAY, buf))
		return -1;
	return 0;
}

static void deferred_undo(struct _test_data_vmp2p *self)
{
	if (!self->inline_saved[0])
		return;
	p2p_write_str(RESTORE_DELAY, "0");
	p2p_write_str(RESTORE_INLINE, self->inline_saved);
	self->inline_saved[0] = 0;
}

/* Any ioctl but a test op waits for the iommufd's deferred restores */
static int flush_restores(int iommufd)
{
	struct iommu_option cmd = {
		.size = sizeof(cmd),
		.option_id = IOMMU_OPTION_RLIMIT_MODE,
		.op = IOMMU_OPTION_OP_GET,
	};

	return ioctl(iommufd, IOMMU_OPTION, &cmd) ? -errno : 0;
}

/* NULL when the deferred restore tests can run on this device, else why */
static const char *deferred_unsupported(struct _test_data_vmp2p *self)
{
	if (!p2p_has_reset(&self->exp))
		return "the device has no reset method";
	if (deferred_setup(self))
		return "no " RESTORE_INLINE " or " RESTORE_DELAY;
	return NULL;
}

/*
 * The deferred restore is through: the area's restores were deferred
 * @deferred times (-1: any), none is pending, nothing is deferred any
 * more, and edu DMA through the mapping lands again.
 */
static void deferred_end(struct __test_metadata *_metadata,
			 struct _test_data_vmp2p *self,
			 const struct _fixture_variant_vmp2p *variant,
			 uint64_t area, long deferred, const char *name)
{
	struct p2p_areas a;
	char msg[96];

	ASSERT_EQ(0, flush_restores(self->iommufd));
	EXPECT_TRUE(area_counts(self, 1, 1));
	a = p2p_areas(self->iommufd);
	EXPECT_EQ(0, a.pending);
	if (deferred < 0)
		deferred = a.deferred;
	EXPECT_EQ(deferred, a.deferred);
	EXPECT_EQ(0, a.nr_deferred);
	snprintf(msg, sizeof(msg), "P2P-IOMMUFD %s %s after", variant->bdf,
		 name);
	edu_write(_metadata, self, variant, IOVA + 0x800, area + 0x800, msg);
	EXPECT_EQ(0, p2p_unmap(self->iommufd, self->ioas, IOVA, PAGE));
}

static void deferred_begin(struct __test_metadata *_metadata,
			   struct _test_data_vmp2p *self,
			   const struct _fixture_variant_vmp2p *variant,
			   uint64_t area, const char *name)
{
	struct vfio_region_dma_range r = { area, PAGE };
	struct p2p_areas a;
	char msg[96];

	ASSERT_EQ(0, export_map(self, &r, 1, MAP_RW));
	snprintf(msg, sizeof(msg), "P2P-IOMMUFD %s %s before", variant->bdf,
		 name);
	edu_write(_metadata, self, variant, IOVA, area, msg);
	ASSERT_EQ(0, p2p_device_reset(&self->exp));
	/* The reset returned with the restore still in flight */
	a = p2p_areas(self->iommufd);
	EXPECT_EQ(1, a.pending);
	EXPECT_EQ(1, a.nr_deferred);
	EXPECT_EQ(1, a.revoked);
}

TEST_F_TIMEOUT(vmp2p, deferred_device_reset, 120)
{
	const char *why = deferred_unsupported(self);
	uint64_t area = AREA(23);

	if (why)
		SKIP(return, "%s: %s", variant->bdf, why);
	deferred_begin(_metadata, self, variant, area, "deferred reset");
	/* The BAR decodes again, the IOPTEs are not back: must not land */
	blocked_arm(self, area + 0x400);
	EXPECT_EQ(0, blocked_dma(self, IOVA + 0x400));
	EXPECT_TRUE(blocked_check(self, area + 0x400)) {
		TH_LOG("DMA landed before the deferred restore");
	}
	deferred_end(_metadata, self, variant, area, 1,
		     "deferred reset");
}

/* Memory decode off while the restore is in flight: the revoke wins */
TEST_F_TIMEOUT(vmp2p, deferred_revoke_in_flight, 120)
{
	const char *why = deferred_unsupported(self);
	uint64_t area = AREA(24);

	if (why)
		SKIP(return, "%s: %s", variant->bdf, why);
	deferred_begin(_metadata, self, variant, area, "revoke in flight");
	ASSERT_EQ(0, p2p_trig_cmd_mem(&self->exp, 0));
	EXPECT_TRUE(area_counts(self, -1, -1));
	EXPECT_EQ(0, p2p_areas(self->iommufd).pending);
	/* Let the held work run: it must leave the area revoked */
	p2p_sleep_ms(DEFER_DELAY_MS + 500);
	EXPECT_TRUE(area_counts(self, 1, 0));

	ASSERT_EQ(0, p2p_write_str(RESTORE_DELAY, "0"));
	ASSERT_EQ(0, p2p_trig_cmd_mem(&self->exp, 1));
	deferred_end(_metadata, self, variant, area, -1,
		     "revoke in flight");
}

/* Closing the exporter while the restore is in flight revokes for good */
TEST_F_TIMEOUT(vmp2p, deferred_close_in_flight, 120)
{
	const char *why = deferred_unsupported(self);
	uint64_t area = AREA(25);

	if (why)
		SKIP(return, "%s: %s", variant->bdf, why);
	deferred_begin(_metadata, self, variant, area, "close in flight");
	blocked_arm(self, area + 0x400);
	p2p_dev_close(&self->exp);
	self->bar = NULL;
	p2p_sleep_ms(DEFER_DELAY_MS + 500);
	ASSERT_EQ(0, flush_restores(self->iommufd));
	EXPECT_EQ(1, p2p_areas(self->iommufd).revoked);
	EXPECT_TRUE(area_counts(self, -1, 0));
	EXPECT_EQ(0, p2p_areas(self->iommufd).nr_deferred);
	EXPECT_EQ(0, blocked_dma(self, IOVA + 0x400));
	ASSERT_EQ(0, open_exporter(self, variant->bdf));
	EXPECT_TRUE(blocked_check(self, area + 0x400)) {
		TH_LOG("DMA landed after close");
	}
	EXPECT_EQ(0, p2p_unmap(self->iommufd, self->ioas, IOVA, PAGE));
}

/*
 * The large BAR (00:04.0, 8 GiB): a 2G slice 4K below the 1G boundary at
 * an automatic IOVA is congruent modulo 1G, and DMA through the 1G IOPTE
 * lands.  The map time at the automatic IOVA and at a congruent fixed IOVA
 * are logged for comparison (not asserted: TCG timing).
 */
static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

TEST(large_bar_congruent_1g)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct vfio_region_dma_range r = { SZ_1G - PAGE, 2 * SZ_1G };
	struct p2p_dev edu = { .fd = -1 }, exp = { .fd = -1 };
	static const char msg[] = "P2P-IOMMUFD large BAR 1G congruent";
	uint64_t phys, iova = 0, fixed;
	double t_auto, t_again, t_fixed;
	char got[sizeof(msg)];
	int iommufd, dfd;
	uint8_t *bar;

	if (!p2p_dev_present(P2P_EDU0) || !p2p_dev_present(P2P_IVSHMEM1))
		SKIP(return, "%s or %s is not bound to vfio-pci", P2P_EDU0,
		     P2P_IVSHMEM1);
	if (p2p_iommu_group(P2P_EDU0) < 0)
		SKIP(return, "no vIOMMU in this VM");
	phys = bar_phys(P2P_IVSHMEM1, BAR);
	ASSERT_NE(0, phys);
	iommufd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, iommufd);
	ASSERT_EQ(0, ioctl(iommufd, IOMMU_IOAS_ALLOC, &alloc));
	ASSERT_EQ(0, p2p_open_iommufd_dev(&edu, P2P_EDU0, iommufd,
					  alloc.out_ioas_id));
	ASSERT_NE(NULL, p2p_map_bar(&edu, 0));
	ASSERT_EQ(0, p2p_cmd_bits(&edu, PCI_COMMAND_MEMORY |
				  PCI_COMMAND_MASTER, 0));
	ASSERT_EQ(0, p2p_open_iommufd_dev(&exp, P2P_IVSHMEM1, iommufd,
					  alloc.out_ioas_id));
	bar = p2p_map_bar(&exp, BAR);
	ASSERT_NE(NULL, bar);
	ASSERT_EQ(0, p2p_cmd_bits(&exp, PCI_COMMAND_MEMORY, 0));
	dfd = dmabuf_export(exp.fd, BAR, &r, 1);
	if (dfd == -EINVAL)
		SKIP(return, "BAR of %s smaller than 3G", P2P_IVSHMEM1);
	ASSERT_LE(0, dfd);

	t_auto = now_s();
	ASSERT_EQ(0, _test_ioctl_ioas_map_file(iommufd, alloc.out_ioas_id, dfd,
					       0, r.length, &iova, MAP_RW));
	t_auto = now_s() - t_auto;
	EXPECT_EQ(0, (iova - (phys + r.offset)) & (SZ_1G - 1)) {
		TH_LOG("iova %#llx, BAR slice at %#llx",
		       (unsigned long long)iova,
		       (unsigned long long)(phys + r.offset));
	}
	/*
	 * Through the 1G IOPTE: edu reads BAR offset 1G + 0x100, which the
	 * CPU wrote, and writes it back at BAR offset 1G + 0x800.
	 */
	mmio_copy_to(bar, SZ_1G + 0x100, msg, sizeof(msg));
	mmio_fill(bar, SZ_1G + 0x800, 0, sizeof(msg));
	EXPECT_EQ(0, edu_dma(&edu, iova + PAGE + 0x100, 0, sizeof(msg),
			     false));
	EXPECT_EQ(0, edu_dma(&edu, iova + PAGE + 0x800, 0, sizeof(msg),
			     true));
	mmio_copy_from(got, bar, SZ_1G + 0x800, sizeof(msg));
	EXPECT_EQ(0, memcmp(got, msg, sizeof(msg)));
	ASSERT_EQ(0, p2p_unmap(iommufd, alloc.out_ioas_id, iova, r.length));

	/* The same slice at a fixed congruent IOVA, 64G up */
	fixed = (64ULL << 30) + ((phys + r.offset) & (SZ_1G - 1));
	t_fixed = now_s();
	test_ioctl_ioas_map_file_id(iommufd, alloc.out_ioas_id, dfd, 0,
				    r.length, fixed, MAP_RW);
	t_fixed = now_s() - t_fixed;
	EXPECT_EQ(0, p2p_unmap(iommufd, alloc.out_ioas_id, fixed, r.length));
	/* Once more: the first map also allocated the upper page tables */
	t_again = now_s();
	ASSERT_EQ(0, _test_ioctl_ioas_map_file(iommufd, alloc.out_ioas_id, dfd,
					       0, r.length, &iova, MAP_RW));
	t_again = now_s() - t_again;
	EXPECT_EQ(0, p2p_unmap(iommufd, alloc.out_ioas_id, iova, r.length));
	TH_LOG("BAR+1G-4K, 2G: auto IOVA %.3f ms, again %.3f ms, fixed %.3f ms",
	       t_auto * 1e3, t_again * 1e3, t_fixed * 1e3);
	close(dfd);
	p2p_dev_close(&exp);
	p2p_dev_close(&edu);
	close(iommufd);
}

TEST_HARNESS_MAIN
