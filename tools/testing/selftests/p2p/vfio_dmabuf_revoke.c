// SPDX-License-Identifier: GPL-2.0
/*
 * Revocation of VFIO dma-bufs on every trigger, on every kind of device the
 * rig has.  Each variant exports a memory BAR of one vfio-pci device:
 *
 *   ivshmem_root      00:02.0 ivshmem on the root bus: no PM capability, no
 *                     reset method (BAR2, host file "small")
 *   ivshmem_rootport  01:00.0 ivshmem alone behind a root port: secondary
 *                     bus reset, so VFIO_DEVICE_RESET, hot reset and sysfs
 *                     reset (BAR2, host file "rp")
 *   nvme_cmb          02:00.0 nvme, BAR2 is its controller memory buffer:
 *                     PM capability (D3hot) and PCIe FLR
 *
 * The test importer (edu 00:03.0, "p2p_importer") imports the dma-buf and
 * DMAs into it.  For each trigger: the importer gets move_notify and
 * unmaps, DMA fails with ENODEV and does not land, and after the device is
 * usable again DMA lands again.  A trigger that the device cannot do is a
 * skip that names the missing capability.
 *
 * The injected AER error is tested on the e1000e (03:00.0), the one
 * emulated endpoint with an AER capability.
 */
#include <fcntl.h>
#include <sys/klog.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "../kselftest_harness.h"
#include "p2p_utils.h"

#define BAR		VFIO_PCI_BAR2_REGION_INDEX
#define PAGE		4096ULL

/*
 * BAR areas, one per test, so that later tests never overwrite what an
 * earlier one asked the host to check.  00:02.0 shares its BAR with
 * vfio_dmabuf.c, which stays below 0x500000.
 */
#define AREA(n)		(0x800000ULL + (n) * 0x10000ULL)

/* klogctl() actions, see syslog(2) */
#define SYSLOG_ACTION_READ_ALL		3
#define SYSLOG_ACTION_SIZE_BUFFER	10

/* How long an asynchronous restore (work item) may take, in 100 ms steps */
#define RESTORE_POLLS	100

FIXTURE(revoke) {
	const char *bdf;	/* of the variant, for the triggers */
	int iommufd;
	uint32_t ioas_id;
	struct p2p_dev dev;
	void *bar;
	int imp;
};

FIXTURE_VARIANT(revoke) {
	const char *bdf;
	const char *shm;	/* host backing file of the BAR, or NULL */
};

FIXTURE_VARIANT_ADD(revoke, ivshmem_root) {
	.bdf = P2P_IVSHMEM0,
	.shm = "small",
};

FIXTURE_VARIANT_ADD(revoke, ivshmem_rootport) {
	.bdf = P2P_IVSHMEM_RP,
	.shm = "rp",
};

FIXTURE_VARIANT_ADD(revoke, nvme_cmb) {
	.bdf = P2P_NVME,
	.shm = NULL,
};

static int open_dev(struct _test_data_revoke *self, const char *bdf)
{
	if (p2p_open_iommufd_dev(&self->dev, bdf, self->iommufd,
				 self->ioas_id))
		return -1;
	self->bar = p2p_map_bar(&self->dev, BAR);
	if (!self->bar)
		return -1;
	return p2p_cmd_bits(&self->dev, PCI_COMMAND_MEMORY, 0);
}

FIXTURE_SETUP(revoke)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };

	self->bdf = variant->bdf;
	self->iommufd = -1;
	self->dev.fd = -1;
	self->imp = -1;
	if (!p2p_dev_present(variant->bdf))
		SKIP(return, "%s is not bound to vfio-pci", variant->bdf);
	if (p2p_iommu_group(variant->bdf) < 0)
		SKIP(return, "no IOMMU groups (VM without a vIOMMU)");
	self->imp = p2p_importer_open(P2P_EDU1);
	if (self->imp < 0)
		SKIP(return, "%s not bound to %s", P2P_EDU1,
		     P2P_IMPORTER_DRIVER_NAME);

	self->iommufd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->iommufd);
	ASSERT_EQ(0, ioctl(self->iommufd, IOMMU_IOAS_ALLOC, &alloc));
	self->ioas_id = alloc.out_ioas_id;
	ASSERT_EQ(0, open_dev(self, variant->bdf));
}

FIXTURE_TEARDOWN(revoke)
{
	if (self->imp >= 0)
		close(self->imp);
	p2p_dev_close(&self->dev);
	if (self->iommufd >= 0)
		close(self->iommufd);
}

static int dma_msg(struct __test_metadata *_metadata,
		   struct _test_data_revoke *self,
		   const struct _fixture_variant_revoke *variant, uint64_t off,
		   uint64_t bar_off, const char *msg)
{
	return imp_dma_msg(_metadata, self->imp, self->bar, variant->shm, off,
			   bar_off, msg, msg);
}

/*
 * Export and import one page at BAR offset @area, and check that a DMA
 * lands.  Returns the dma-buf fd; the importer's status is in @st.
 */
static int setup_import(struct __test_metadata *_metadata,
			struct _test_data_revoke *self,
			const struct _fixture_variant_revoke *variant,
			uint64_t area, const char *name,
			struct p2p_importer_status *st)
{
	char msg[128];
	int fd;

	fd = dmabuf_export1(self->dev.fd, BAR, area, PAGE);
	if (fd < 0)
		return fd;
	EXPECT_EQ(0, imp_import(self->imp, fd));
	snprintf(msg, sizeof(msg), "P2P-DMABUF %s %s before", variant->bdf,
		 name);
	EXPECT_EQ(0, dma_msg(_metadata, self, variant, 0, area, msg));
	EXPECT_EQ(0, imp_status(self->imp, st));
	EXPECT_EQ(1U, st->mapped);
	return fd;
}

/* The importer got move_notify for the revoke and holds no mapping. */
static void expect_revoked(struct __test_metadata *_metadata,
			   struct _test_data_revoke *self,
			   const struct p2p_importer_status *before)
{
	struct p2p_importer_status st;

	ASSERT_EQ(0, imp_status(self->imp, &st));
	EXPECT_LT(before->move_notify_count, st.move_notify_count);
	EXPECT_EQ(0U, st.mapped);
}

/*
 * DMA must land again at @area + 0x800.  With @wait, the restore happens
 * asynchronously: retry while the dma-buf is still revoked.
 */
static void expect_restored(struct __test_metadata *_metadata,
			    struct _test_data_revoke *self,
			    const struct _fixture_variant_revoke *variant,
			    uint64_t area, const char *name, bool wait)
{
	char msg[128];
	int i, ret;

	snprintf(msg, sizeof(msg), "P2P-DMABUF %s %s after restore",
		 variant->bdf, name);
	for (i = 0; i < RESTORE_POLLS; i++) {
		ret = dma_msg(_metadata, self, variant, 0x800, area + 0x800,
			      msg);
		if (ret != -ENODEV || !wait)
			break;
		p2p_sleep_ms(100);
	}
	EXPECT_EQ(0, ret) {
		TH_LOG("%s: not restored", name);
	}
}

/*
 * A trigger with separate revoke and restore steps: revoke, check that DMA
 * fails with ENODEV and does not land, restore and check that DMA lands
 * again.
 */
static void revoke_cycle(struct __test_metadata *_metadata,
			 struct _test_data_revoke *self,
			 const struct _fixture_variant_revoke *variant,
			 uint64_t area, const struct p2p_trigger *t)
{
	struct p2p_importer_status st0, st;
	int fd;

	fd = setup_import(_metadata, self, variant, area, t->name, &st0);
	ASSERT_LE(0, fd);
	mmio_fill(self->bar, area + 0x800, DMABUF_SENTINEL, 0x100);

	ASSERT_EQ(0, t->revoke(&self->dev, self->bdf));
	expect_revoked(_metadata, self, &st0);
	EXPECT_EQ(-ENODEV, imp_dma(self->imp, 0x800, 0x100, 0, true));
	ASSERT_EQ(0, imp_status(self->imp, &st));
	EXPECT_EQ(ENODEV, st.last_map_error);

	ASSERT_EQ(0, t->restore(&self->dev, self->bdf));
	EXPECT_TRUE(mmio_all(self->bar, area + 0x800, DMABUF_SENTINEL,
			     0x100)) {
		TH_LOG("%s: DMA landed while revoked", t->name);
	}
	expect_restored(_metadata, self, variant, area, t->name, false);
	ASSERT_EQ(0, imp_status(self->imp, &st));
	EXPECT_EQ(1U, st.mapped);
	EXPECT_LT(st0.map_count, st.map_count);
	EXPECT_EQ(0, imp_release(self->imp));
	close(fd);
}

/*
 * A reset: revoke and restore both happen inside the call.  The importer
 * must have seen move_notify and unmapped; afterwards DMA lands again (at
 * once, or once the asynchronous restore ran).
 */
static void reset_cycle(struct __test_metadata *_metadata,
			struct _test_data_revoke *self,
			const struct _fixture_variant_revoke *variant,
			uint64_t area, const struct p2p_trigger *t)
{
	struct p2p_importer_status st0;
	int fd;

	fd = setup_import(_metadata, self, variant, area, t->name, &st0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, t->revoke(&self->dev, self->bdf));
	expect_revoked(_metadata, self, &st0);
	expect_restored(_metadata, self, variant, area, t->name,
			t->async_restore);
	EXPECT_EQ(0, imp_release(self->imp));
	close(fd);
}

/*
 * Trigger @id of p2p_trigger() at BAR area @area of the variant's device,
 * or skip with what the device lacks.
 */
static void trigger_test(struct __test_metadata *_metadata,
			 struct _test_data_revoke *self,
			 const struct _fixture_variant_revoke *variant,
			 uint64_t area, enum p2p_trigger_id id)
{
	const struct p2p_trigger *t = p2p_trigger(id);
	const char *missing = p2p_trigger_missing(t, &self->dev, self->bdf);

	if (missing)
		SKIP(return, "%s lacks %s", variant->bdf, missing);
	if (t->restore)
		revoke_cycle(_metadata, self, variant, area, t);
	else
		reset_cycle(_metadata, self, variant, area, t);
}

TEST_F_TIMEOUT(revoke, command_mem, 90)
{
	trigger_test(_metadata, self, variant, AREA(0), P2P_TRIG_CMD_MEM);
}

TEST_F_TIMEOUT(revoke, pm_d3hot, 90)
{
	trigger_test(_metadata, self, variant, AREA(1), P2P_TRIG_PM_D3HOT);
}

TEST_F_TIMEOUT(revoke, low_power, 90)
{
	trigger_test(_metadata, self, variant, AREA(2), P2P_TRIG_LOW_POWER);
}

TEST_F_TIMEOUT(revoke, low_power_wakeup, 90)
{
	trigger_test(_metadata, self, variant, AREA(3),
		     P2P_TRIG_LOW_POWER_WAKEUP);
}

TEST_F_TIMEOUT(revoke, device_reset, 90)
{
	trigger_test(_metadata, self, variant, AREA(4), P2P_TRIG_DEVICE_RESET);
}

TEST_F_TIMEOUT(revoke, hot_reset, 90)
{
	trigger_test(_metadata, self, variant, AREA(5), P2P_TRIG_HOT_RESET);
}

TEST_F_TIMEOUT(revoke, virtual_flr, 90)
{
	trigger_test(_metadata, self, variant, AREA(6), P2P_TRIG_VIRTUAL_FLR);
}

TEST_F_TIMEOUT(revoke, virtual_af_flr, 90)
{
	trigger_test(_metadata, self, variant, AREA(7),
		     P2P_TRIG_VIRTUAL_AF_FLR);
}

TEST_F_TIMEOUT(revoke, sysfs_reset, 90)
{
	trigger_test(_metadata, self, variant, AREA(8), P2P_TRIG_SYSFS_RESET);
}

static bool still_bound(const char *bdf)
{
	return p2p_dev_driver_is(bdf, "vfio-pci");
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

/* Kernel log lines that contain @needle; -1 if the log cannot be read */
static int klog_count(const char *needle)
{
	int size = klogctl(SYSLOG_ACTION_SIZE_BUFFER, NULL, 0);
	char *buf, *p;
	int len, n = 0;

	if (size <= 0)
		return -1;
	buf = malloc(size + 1);
	if (!buf)
		return -1;
	len = klogctl(SYSLOG_ACTION_READ_ALL, buf, size);
	if (len < 0) {
		free(buf);
		return -1;
	}
	buf[len] = 0;
	for (p = buf; (p = strstr(p, needle)); p++)
		n++;
	free(buf);
	return n;
}

#define UNMAP_TIMEOUT_PARAM \
	"/sys/module/vfio_pci_core/parameters/dmabuf_unmap_timeout_ms"

static int set_unmap_timeout(unsigned int ms)
{
	char val[16];

	snprintf(val, sizeof(val), "%u", ms);
	return p2p_write_str(UNMAP_TIMEOUT_PARAM, val);
}

/*
 * An importer that unmaps @delay_ms after move_notify, against an exporter
 * bound of @bound_ms.  Returns how long the revoke (memory decode off)
 * took, and checks whether the exporter named the importer.
 */
static uint64_t slow_importer_revoke(struct __test_metadata *_metadata,
				     struct _test_data_revoke *self,
				     uint64_t area, unsigned int delay_ms,
				     unsigned int bound_ms, bool named)
{
	const char *needle = "importer " P2P_EDU1 " (" P2P_IMPORTER_DRIVER_NAME
			     ") did not unmap";
	struct p2p_importer_import arg = { .unmap_delay_ms = delay_ms };
	int fd, before, after;
	uint64_t t0, took;

	if (access(UNMAP_TIMEOUT_PARAM, W_OK))
		SKIP(return 0, "no %s", UNMAP_TIMEOUT_PARAM);
	ASSERT_EQ(0, set_unmap_timeout(bound_ms));
	fd = dmabuf_export1(self->dev.fd, BAR, area, PAGE);
	ASSERT_LE(0, fd);
	arg.fd = fd;
	ASSERT_EQ(0, ioctl(self->imp, P2P_IMPORTER_IMPORT, &arg));
	before = klog_count(needle);
	ASSERT_LE(0, before);

	t0 = now_ms();
	ASSERT_EQ(0, p2p_trig_cmd_mem(&self->dev, 0));
	took = now_ms() - t0;
	after = klog_count(needle);
	EXPECT_EQ(named ? before + 1 : before, after) {
		TH_LOG("importer %s in the log after a revoke of %llu ms",
		       named ? "not named" : "named",
		       (unsigned long long)took);
	}

	/* Decode on again: DMA lands once the importer has unmapped */
	ASSERT_EQ(0, p2p_trig_cmd_mem(&self->dev, 1));
	EXPECT_EQ(0, set_unmap_timeout(10000));
	EXPECT_EQ(0, imp_release(self->imp));
	close(fd);
	return took;
}

/*
 * A revoke waits for an importer that is late but within the bound, and no
 * longer than that for one that never unmaps in time: device_lock and
 * memory_lock are held meanwhile.
 */
TEST_F_TIMEOUT(revoke, slow_importer_within_bound, 90)
{
	uint64_t took;

	took = slow_importer_revoke(_metadata, self, AREA(10), 300, 8000,
				    false);
	EXPECT_LE(300, took);
}

TEST_F_TIMEOUT(revoke, slow_importer_past_bound, 90)
{
	uint64_t took;

	took = slow_importer_revoke(_metadata, self, AREA(11), 20000, 1000,
				    true);
	/* The importer would have held it 20 s */
	EXPECT_LE(900, took);
	EXPECT_GT(8000, took) {
		TH_LOG("revoke took %llu ms, the bound is 1000 ms",
		       (unsigned long long)took);
	}
}

/* A host reset (device_lock held by the PCI core) is bounded too */
TEST_F_TIMEOUT(revoke, slow_importer_sysfs_reset, 90)
{
	struct p2p_importer_import arg = { .unmap_delay_ms = 20000 };
	uint64_t t0, took;
	int fd;

	if (access(p2p_sysfs_reset_path(variant->bdf), W_OK))
		SKIP(return, "%s has no reset method in sysfs", variant->bdf);
	if (access(UNMAP_TIMEOUT_PARAM, W_OK))
		SKIP(return, "no %s", UNMAP_TIMEOUT_PARAM);
	ASSERT_EQ(0, set_unmap_timeout(1000));
	fd = dmabuf_export1(self->dev.fd, BAR, AREA(12), PAGE);
	ASSERT_LE(0, fd);
	arg.fd = fd;
	ASSERT_EQ(0, ioctl(self->imp, P2P_IMPORTER_IMPORT, &arg));
	t0 = now_ms();
	EXPECT_EQ(0, p2p_sysfs_reset(self->bdf));
	took = now_ms() - t0;
	EXPECT_GT(8000, took) {
		TH_LOG("sysfs reset took %llu ms, the bound is 1000 ms",
		       (unsigned long long)took);
	}
	EXPECT_EQ(0, set_unmap_timeout(10000));
	EXPECT_EQ(0, imp_release(self->imp));
	close(fd);
}

/*
 * One bound for the whole revoke, however many dma-bufs the device has:
 * four dma-bufs, each imported by a file of the importer that unmaps 20 s
 * late, are revoked within about one bound, not four.
 */
#define MANY_SLOW	4

TEST_F_TIMEOUT(revoke, slow_importers_one_bound, 90)
{
	int imps[MANY_SLOW], fds[MANY_SLOW], i;
	uint64_t t0, took;

	if (access(UNMAP_TIMEOUT_PARAM, W_OK))
		SKIP(return, "no %s", UNMAP_TIMEOUT_PARAM);
	ASSERT_EQ(0, set_unmap_timeout(1000));
	for (i = 0; i < MANY_SLOW; i++) {
		struct p2p_importer_import arg = { .unmap_delay_ms = 20000 };

		imps[i] = p2p_importer_open(P2P_EDU1);
		ASSERT_LE(0, imps[i]);
		fds[i] = dmabuf_export1(self->dev.fd, BAR, AREA(16) + i * PAGE,
					PAGE);
		ASSERT_LE(0, fds[i]);
		arg.fd = fds[i];
		ASSERT_EQ(0, ioctl(imps[i], P2P_IMPORTER_IMPORT, &arg));
	}
	t0 = now_ms();
	ASSERT_EQ(0, p2p_trig_cmd_mem(&self->dev, 0));
	took = now_ms() - t0;
	EXPECT_LE(900, took);
	EXPECT_GT(2500, took) {
		TH_LOG("revoke of %d dma-bufs took %llu ms, the bound is 1000 ms",
		       MANY_SLOW, (unsigned long long)took);
	}
	ASSERT_EQ(0, p2p_trig_cmd_mem(&self->dev, 1));
	EXPECT_EQ(0, set_unmap_timeout(10000));
	for (i = 0; i < MANY_SLOW; i++) {
		EXPECT_EQ(0, imp_release(imps[i]));
		close(imps[i]);
		close(fds[i]);
	}
}

/*
 * The revoke at close is not bounded: after it the BAR may get another
 * owner, so close waits for a late importer even past the bound.
 */
TEST_F_TIMEOUT(revoke, slow_importer_close_waits, 90)
{
	struct p2p_importer_import arg = { .unmap_delay_ms = 2500 };
	struct p2p_importer_status st;
	uint64_t t0, took;
	int fd;

	if (access(UNMAP_TIMEOUT_PARAM, W_OK))
		SKIP(return, "no %s", UNMAP_TIMEOUT_PARAM);
	ASSERT_EQ(0, set_unmap_timeout(500));
	fd = dmabuf_export1(self->dev.fd, BAR, AREA(20), PAGE);
	ASSERT_LE(0, fd);
	arg.fd = fd;
	ASSERT_EQ(0, ioctl(self->imp, P2P_IMPORTER_IMPORT, &arg));
	t0 = now_ms();
	p2p_dev_close(&self->dev);
	took = now_ms() - t0;
	self->bar = NULL;
	EXPECT_LE(2300, took) {
		TH_LOG("close took %llu ms: it did not wait for the importer",
		       (unsigned long long)took);
	}
	/* The importer unmapped before close let go of the device */
	ASSERT_EQ(0, imp_status(self->imp, &st));
	EXPECT_EQ(0U, st.mapped);
	EXPECT_EQ(0, set_unmap_timeout(10000));
	EXPECT_EQ(0, imp_release(self->imp));
	close(fd);
	ASSERT_EQ(0, open_dev(self, variant->bdf));
}

/*
 * How long an unbind may take.  Before close detached the dma-bufs it
 * blocked until the holder exited, which this bound tells apart from a
 * slow emulated device (nvme resumes and resets on remove).
 */
#define UNBIND_MS	30000

/* Unbind @bdf from vfio-pci in a child; true if it finished within @ms */
static bool unbind_within(struct __test_metadata *_metadata, const char *bdf,
			  int keep_fd, unsigned int ms)
{
	unsigned int waited;
	int status = 0;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return false;
	if (!pid) {
		if (keep_fd >= 0)
			close(keep_fd);
		_exit(p2p_write_str("/sys/bus/pci/drivers/vfio-pci/unbind",
				    bdf) ? 1 : 0);
	}
	for (waited = 0; waited < ms; waited += 100) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) && !WEXITSTATUS(status);
		p2p_sleep_ms(100);
	}
	TH_LOG("unbind of %s still blocked after %u ms", bdf, ms);
	/* The writer sits in D state until the holder lets go */
	return false;
}

/*
 * Rebind @bdf to vfio-pci (driver_override still names it), open it again
 * and show that a new dma-buf of it works: DMA by a second importer file
 * lands.
 */
static void rebind_and_use(struct __test_metadata *_metadata,
			   struct _test_data_revoke *self,
			   const struct _fixture_variant_revoke *variant,
			   uint64_t area)
{
	char msg[128];
	int imp2, fd;

	ASSERT_EQ(0, p2p_write_str("/sys/bus/pci/drivers_probe", variant->bdf));
	ASSERT_TRUE(still_bound(variant->bdf));
	ASSERT_EQ(0, open_dev(self, variant->bdf));
	imp2 = p2p_importer_open(P2P_EDU1);
	ASSERT_LE(0, imp2);
	fd = dmabuf_export1(self->dev.fd, BAR, area, PAGE);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, imp_import(imp2, fd));
	snprintf(msg, sizeof(msg), "P2P-DMABUF %s after rebind", variant->bdf);
	EXPECT_EQ(0, imp_dma_msg(_metadata, imp2, self->bar, variant->shm, 0,
				 area, msg, msg));
	EXPECT_EQ(0, imp_release(imp2));
	close(imp2);
	close(fd);
}

/*
 * Closing the device detaches its dma-bufs: a dma-buf still held by the
 * process, imported by the test importer and mapped into an IOAS does not
 * keep the device, so unbind completes at once.  The dma-buf stays dead
 * (MAP_FILE ENODEV, importer DMA ENODEV) and its release, after the device
 * is gone, touches nothing of it.  Runs last with the next test: it
 * rebinds.
 */
TEST_F_TIMEOUT(revoke, unbind_after_close, 90)
{
	const uint64_t iova = 0x40000000;
	int fd;

	fd = dmabuf_export1(self->dev.fd, BAR, AREA(9), PAGE);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, imp_import(self->imp, fd));
	test_ioctl_ioas_map_file_id(self->iommufd, self->ioas_id, fd, 0, PAGE,
				    iova, MAP_RW);
	p2p_dev_close(&self->dev);
	self->bar = NULL;
	/* The close revoked it for good */
	EXPECT_EQ(-ENODEV, imp_dma(self->imp, 0, 16, 0, true));

	ASSERT_TRUE(unbind_within(_metadata, variant->bdf, fd, UNBIND_MS));
	EXPECT_FALSE(still_bound(variant->bdf));

	/* Dead, with the device gone */
	test_err_ioctl_ioas_map_file_id(ENODEV, self->iommufd, self->ioas_id,
					fd, 0, PAGE, iova + PAGE,
					IOMMU_IOAS_MAP_READABLE);
	EXPECT_EQ(-ENODEV, imp_dma(self->imp, 0, 16, 0, true));

	rebind_and_use(_metadata, self, variant, AREA(13));
	/* The old dma-buf did not come back with the new open */
	EXPECT_EQ(-ENODEV, imp_dma(self->imp, 0, 16, 0, true));

	/* Releasing the dead dma-buf last touches no device state */
	EXPECT_EQ(0, p2p_unmap(self->iommufd, self->ioas_id, iova, PAGE));
	EXPECT_EQ(0, imp_release(self->imp));
	close(fd);
}

/*
 * Memory decode off (revoked), close of the device, then release of the
 * dma-buf, then unbind: the order in which upstream once underflowed a
 * reference count and hung.  The device must unbind and work again.
 */
TEST_F_TIMEOUT(revoke, mem_off_close_release, 90)
{
	struct p2p_importer_status st;
	int fd;

	fd = dmabuf_export1(self->dev.fd, BAR, AREA(14), PAGE);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, imp_import(self->imp, fd));
	ASSERT_EQ(0, p2p_trig_cmd_mem(&self->dev, 0));
	ASSERT_EQ(0, imp_status(self->imp, &st));
	EXPECT_EQ(0U, st.mapped);
	p2p_dev_close(&self->dev);
	self->bar = NULL;
	EXPECT_EQ(0, imp_release(self->imp));
	close(fd);

	ASSERT_TRUE(unbind_within(_metadata, variant->bdf, -1, UNBIND_MS));
	EXPECT_FALSE(still_bound(variant->bdf));
	rebind_and_use(_metadata, self, variant, AREA(15));
}

/*
 * AER: inject an uncorrectable fatal error for the e1000e through
 * aer_inject.  The AER core calls error_detected (revoke), resets the link
 * below the root port (reset_prepare/reset_done) and resumes (restore).
 * e1000e's BARs are registers, so the DMA here reads the STATUS register.
 */
struct aer_error_inj {
	uint8_t bus, dev, fn;
	uint32_t uncor_status, cor_status;
	uint32_t header_log0, header_log1, header_log2, header_log3;
	uint32_t domain;
};

#define E1000E_STATUS	0x8

TEST(aer_fatal_error)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct aer_error_inj inj = {
		.bus = 3, .uncor_status = PCI_ERR_UNC_DLP,
	};
	struct p2p_importer_status st0, st;
	struct p2p_dev dev = { .fd = -1 };
	int iommufd, imp, fd, afd, i, ret;

	if (!p2p_dev_present(P2P_E1000E))
		SKIP(return, "%s is not bound to vfio-pci", P2P_E1000E);
	imp = p2p_importer_open(P2P_EDU1);
	if (imp < 0)
		SKIP(return, "%s not bound to %s", P2P_EDU1,
		     P2P_IMPORTER_DRIVER_NAME);
	afd = open("/dev/aer_inject", O_WRONLY);
	if (afd < 0) {
		close(imp);
		SKIP(return, "no /dev/aer_inject (CONFIG_PCIEAER_INJECT)");
	}
	iommufd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, iommufd);
	ASSERT_EQ(0, ioctl(iommufd, IOMMU_IOAS_ALLOC, &alloc));
	ASSERT_EQ(0, p2p_open_iommufd_dev(&dev, P2P_E1000E, iommufd,
					  alloc.out_ioas_id));
	ASSERT_EQ(0, p2p_cmd_bits(&dev, PCI_COMMAND_MEMORY, 0));

	fd = dmabuf_export1(dev.fd, VFIO_PCI_BAR0_REGION_INDEX, 0, PAGE);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, imp_import(imp, fd));
	ASSERT_EQ(0, imp_dma(imp, E1000E_STATUS, 4, 0, false));
	ASSERT_EQ(0, imp_status(imp, &st0));

	ASSERT_EQ((ssize_t)sizeof(inj), write(afd, &inj, sizeof(inj)));
	/* Recovery runs in the AER interrupt thread: wait for the revoke */
	for (i = 0; i < RESTORE_POLLS; i++) {
		ASSERT_EQ(0, imp_status(imp, &st));
		if (st.move_notify_count > st0.move_notify_count)
			break;
		p2p_sleep_ms(100);
	}
	EXPECT_LT(st0.move_notify_count, st.move_notify_count);

	/* After recovery, the user re-enables memory and DMA works again */
	for (i = 0; i < RESTORE_POLLS; i++) {
		p2p_cmd_bits(&dev, PCI_COMMAND_MEMORY, 0);
		ret = imp_dma(imp, E1000E_STATUS, 4, 0, false);
		if (ret != -ENODEV)
			break;
		p2p_sleep_ms(100);
	}
	EXPECT_EQ(0, ret);
	ASSERT_EQ(0, imp_status(imp, &st));
	EXPECT_LT(st0.map_count, st.map_count);

	EXPECT_EQ(0, imp_release(imp));
	close(fd);
	close(afd);
	close(imp);
	p2p_dev_close(&dev);
	close(iommufd);
}

TEST_HARNESS_MAIN
