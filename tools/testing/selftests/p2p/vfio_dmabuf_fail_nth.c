// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection over every vfio-pci dma-buf export path, on the rig's
 * real (emulated) devices under VT-d.  For nth = 1, 2, ... until the whole
 * sequence runs without an injected failure, the task's fail-nth makes the
 * nth allocation (failslab, fail_page_alloc, or the importer's iommu_map())
 * of this sequence fail:
 *
 *   VFIO_DEVICE_FEATURE_DMA_BUF export of a BAR slice,
 *   IOMMU_IOAS_MAP_FILE of it into an IOAS the device is attached to,
 *   PCI_COMMAND memory off (revoke) and on (restore) through the vfio
 *   config region, IOMMU_IOAS_UNMAP, close of the dma-buf and the device.
 *
 * The step that saw the failure must fail with a clean errno (an export
 * leaves no fd behind); the rest of the sequence is then finished without
 * injection and must work fully: the dma-buf maps, its area is restored
 * after the revoke (by the importer's retry if the restore's map was the
 * one that failed), unmaps and closes.  After each round no fd, no dma-buf
 * area and no export of the device is left, and the device can be opened,
 * reset (when it has a reset) and exported again.  Leaks and kernel reports
 * are found by the kmemleak scan and the log check of the run.
 *
 * The close of the device is swept only with P2P_FAIL_NTH_DEVICE_CLOSE=1:
 * on this kernel an allocation failed there (in the IOMMU driver, while
 * the group goes back to its own domain) makes iommu_device_release_dma_
 * owner() WARN in __iommu_group_set_domain_nofail(), which is not part of
 * the export paths and would fail every device suite of the run.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/syscall.h>

#include <linux/iommufd.h>
#include "compat.h"
#include "../kselftest_harness.h"
#include "p2p_utils.h"

#define BAR		VFIO_PCI_BAR2_REGION_INDEX
#define SLICE		0x100000ULL
#define IOVA		0x20000000ULL
#define MAX_NTH		2000
/* A restore whose map failed is retried within the importer's backoff */
#define RESTORE_MS	3000

/* The steps of one round, in order */
enum step {
	STEP_EXPORT,
	STEP_MAP,
	STEP_MEM_OFF,
	STEP_MEM_ON,
	STEP_UNMAP,
	STEP_CLOSE_DMABUF,
	STEP_CLOSE_DEVICE,
	NR_STEPS,
};

static const char *const step_name[NR_STEPS] = {
	"export", "map_file", "memory off", "memory on", "unmap",
	"close dma-buf", "close device",
};

static bool have_fault_injection;

static int write_at(int dfd, const char *name, const char *val)
{
	int fd = openat(dfd, name, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

/*
 * As the base iommufd_fail_nth: every allocation may be failed, including
 * sleeping ones, and the injected failures do not print stacks.
 */
static __attribute__((constructor)) void setup_fault_injection(void)
{
	DIR *debugfs = opendir("/sys/kernel/debug/");
	struct dirent *de;
	char name[300];

	if (!debugfs)
		return;
	if (write_at(dirfd(debugfs), "failslab/ignore-gfp-wait", "N")) {
		closedir(debugfs);
		return;
	}
	write_at(dirfd(debugfs), "fail_page_alloc/ignore-gfp-wait", "N");
	write_at(dirfd(debugfs), "fail_page_alloc/ignore-gfp-highmem", "N");
	while ((de = readdir(debugfs))) {
		if (strncmp(de->d_name, "fail", 4))
			continue;
		snprintf(name, sizeof(name), "%s/verbose", de->d_name);
		write_at(dirfd(debugfs), name, "0");
	}
	closedir(debugfs);
	have_fault_injection = true;
}

static int count_fds(void)
{
	struct dirent *de;
	int n = 0;
	DIR *d;

	d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	/* The directory's own fd */
	return n - 1;
}

/*
 * Errnos an injected allocation failure may surface as.  EBUSY: the PCI
 * core reports a region request that could not allocate as busy (export
 * claims the BAR).  ENOENT: iommufd's own injection point in
 * iommufd_get_object() (CONFIG_IOMMUFD_TEST) fails object lookups so.
 */
static bool clean_errno(int err)
{
	return err == ENOMEM || err == ENFILE || err == EMFILE ||
	       err == ENOSPC || err == EFAULT || err == EBUSY ||
	       err == ENOENT;
}

FIXTURE(fail_nth) {
	int nth_fd;
	int iommufd;
	uint32_t ioas;
	struct p2p_dev dev;
	int dfd;
	bool has_reset;
	bool by_va;
};

FIXTURE_VARIANT(fail_nth) {
	const char *bdf;
	/*
	 * Map by address, as VMMs before QEMU 11 do: the export step is the
	 * BAR mmap, the map step IOMMU_IOAS_MAP of it (p2p/bar_va.c), the
	 * dma-buf close its munmap.
	 */
	bool by_va;
};

/* No reset method: open and close are cheap */
FIXTURE_VARIANT_ADD(fail_nth, ivshmem_root) {
	.bdf = P2P_IVSHMEM0,
};

/* Alone behind a root port: VFIO_DEVICE_RESET is a bus reset */
FIXTURE_VARIANT_ADD(fail_nth, ivshmem_rootport) {
	.bdf = P2P_IVSHMEM_RP,
};

FIXTURE_VARIANT_ADD(fail_nth, ivshmem_root_by_va) {
	.bdf = P2P_IVSHMEM0,
	.by_va = true,
};

FIXTURE_SETUP(fail_nth)
{
	char path[64];

	self->nth_fd = -1;
	self->iommufd = -1;
	self->dev.fd = -1;
	self->dfd = -1;
	self->by_va = variant->by_va;
	if (!have_fault_injection)
		SKIP(return, "no failslab in debugfs (CONFIG_FAILSLAB)");
	if (!p2p_dev_present(variant->bdf))
		SKIP(return, "%s is not bound to vfio-pci", variant->bdf);
	if (p2p_iommu_group(variant->bdf) < 0)
		SKIP(return, "no vIOMMU in this VM");
	snprintf(path, sizeof(path), "/proc/self/task/%ld/fail-nth",
		 (long)syscall(SYS_gettid));
	self->nth_fd = open(path, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->nth_fd);
}

FIXTURE_TEARDOWN(fail_nth)
{
	if (self->nth_fd >= 0)
		pwrite(self->nth_fd, "0", 1, 0);
	if (self->dfd >= 0)
		close(self->dfd);
	p2p_dev_close(&self->dev);
	if (self->iommufd >= 0)
		close(self->iommufd);
	if (self->nth_fd >= 0)
		close(self->nth_fd);
}

/* A fresh iommufd and IOAS with the device attached, outside injection */
static int open_round(struct _test_data_fail_nth *self, const char *bdf)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };

	self->iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (self->iommufd < 0)
		return -1;
	if (ioctl(self->iommufd, IOMMU_IOAS_ALLOC, &alloc))
		return -1;
	self->ioas = alloc.out_ioas_id;
	if (p2p_open_iommufd_dev(&self->dev, bdf, self->iommufd, self->ioas))
		return -1;
	self->has_reset = p2p_has_reset(&self->dev);
	return p2p_cmd_bits(&self->dev, PCI_COMMAND_MEMORY, 0);
}

/* Poll the dma-buf area until it is mapped again; true if it is */
static bool wait_mapped(int iommufd)
{
	int ms;

	for (ms = 0; ms < RESTORE_MS; ms += 10) {
		if (p2p_areas(iommufd).mapped == 1)
			return true;
		p2p_sleep_ms(10);
	}
	return false;
}

/* The by-address steps; 0 or -errno */
static int run_step_by_va(struct _test_data_fail_nth *self, enum step s)
{
	int ret;

	switch (s) {
	case STEP_EXPORT:
		return p2p_map_bar(&self->dev, BAR) ? 0 : -errno;
	case STEP_MAP:
		return p2p_map_va(self->iommufd, self->ioas, self->dev.bar[BAR],
				  SLICE, IOVA, MAP_RW);
	case STEP_CLOSE_DMABUF:
		ret = munmap(self->dev.bar[BAR], self->dev.bar_size[BAR]) ?
			-errno : 0;
		self->dev.bar[BAR] = NULL;
		return ret;
	default:
		return -EINVAL;
	}
}

/* Run step @s of a round; 0 or -errno */
static int run_step(struct _test_data_fail_nth *self, enum step s)
{
	uint64_t iova;
	int ret;

	if (self->by_va &&
	    (s == STEP_EXPORT || s == STEP_MAP || s == STEP_CLOSE_DMABUF))
		return run_step_by_va(self, s);

	switch (s) {
	case STEP_EXPORT:
		ret = dmabuf_export1(self->dev.fd, BAR, 0, SLICE);
		if (ret >= 0) {
			self->dfd = ret;
			ret = 0;
		}
		return ret;
	case STEP_MAP:
		iova = IOVA;
		return _test_ioctl_ioas_map_file(self->iommufd, self->ioas,
						 self->dfd, 0, SLICE, &iova,
						 MAP_RW |
						 IOMMU_IOAS_MAP_FIXED_IOVA);
	case STEP_MEM_OFF:
		return p2p_trig_cmd_mem(&self->dev, 0) ? -errno : 0;
	case STEP_MEM_ON:
		return p2p_trig_cmd_mem(&self->dev, 1) ? -errno : 0;
	case STEP_UNMAP:
		return p2p_unmap(self->iommufd, self->ioas, IOVA, SLICE);
	case STEP_CLOSE_DMABUF:
		ret = close(self->dfd) ? -errno : 0;
		self->dfd = -1;
		return ret;
	case STEP_CLOSE_DEVICE:
		ret = close(self->dev.fd) ? -errno : 0;
		self->dev.fd = -1;
		return ret;
	default:
		return -EINVAL;
	}
}

/*
 * Arm fail-nth with @nth (0: no injection) and run the steps; the first
 * step that fails stops the injected part. Returns that step or NR_STEPS,
 * with its -errno in @err, whether the nth failure was injected at all in
 * @fired, and the step to finish the round from in @next.
 */
static enum step injected_round(struct __test_metadata *_metadata,
				struct _test_data_fail_nth *self,
				unsigned int nth, int *err, bool *fired,
				enum step *next)
{
	const char *env = getenv("P2P_FAIL_NTH_DEVICE_CLOSE");
	enum step s, last = NR_STEPS;
	char buf[32];
	ssize_t n;

	if (!env || strcmp(env, "1"))
		last = STEP_CLOSE_DEVICE;
	*err = 0;
	n = snprintf(buf, sizeof(buf), "%u", nth);
	if (nth)
		ASSERT_EQ(n, pwrite(self->nth_fd, buf, n, 0));
	for (s = 0; s < last; s++) {
		*err = run_step(self, s);
		if (*err)
			break;
	}
	/* Read before anything else can count down, then disarm */
	memset(buf, 0, sizeof(buf));
	n = pread(self->nth_fd, buf, sizeof(buf) - 1, 0);
	ASSERT_EQ(1, pwrite(self->nth_fd, "0", 1, 0));
	ASSERT_LT(0, n);
	*fired = nth && atoi(buf) == 0;
	*next = s;
	return s < last ? s : NR_STEPS;
}

/*
 * Finish a round without injection from step @from, which failed, or
 * which is NR_STEPS.  Everything must work now.
 */
static void finish_round(struct __test_metadata *_metadata,
			 struct _test_data_fail_nth *self, enum step from,
			 unsigned int nth)
{
	enum step s;

	/*
	 * The restore at memory on worked, or its map failed and the retry
	 * is due: the area must be mapped again before the unmap.
	 */
	if (from == STEP_UNMAP)
		EXPECT_TRUE(wait_mapped(self->iommufd)) {
			TH_LOG("nth %u: area not restored %d ms after memory on",
			       nth, RESTORE_MS);
		}
	for (s = from; s < NR_STEPS; s++) {
		EXPECT_EQ(0, run_step(self, s)) {
			TH_LOG("nth %u: %s failed without injection", nth,
			       step_name[s]);
		}
		if (s == STEP_MEM_ON)
			EXPECT_TRUE(wait_mapped(self->iommufd)) {
				TH_LOG("nth %u: area not restored %d ms after memory on",
				       nth, RESTORE_MS);
			}
	}
}

/* Nothing of the round is left, and the device still resets and exports */
static void check_clean(struct __test_metadata *_metadata,
			struct _test_data_fail_nth *self, const char *bdf,
			int fds, unsigned int nth)
{
	int dfd;

	close(self->iommufd);
	self->iommufd = -1;
	EXPECT_EQ(fds, count_fds()) {
		TH_LOG("nth %u: fds leaked", nth);
	}
	EXPECT_EQ(0, p2p_areas_global().nr) {
		TH_LOG("nth %u: a dma-buf area is left", nth);
	}
	EXPECT_EQ(0, dmabuf_debugfs_count(bdf)) {
		TH_LOG("nth %u: an export of %s is left", nth, bdf);
	}

	ASSERT_EQ(0, open_round(self, bdf));
	if (self->has_reset)
		EXPECT_EQ(0, p2p_device_reset(&self->dev)) {
			TH_LOG("nth %u: VFIO_DEVICE_RESET failed", nth);
		}
	dfd = dmabuf_export1(self->dev.fd, BAR, 0, SLICE);
	EXPECT_LE(0, dfd) {
		TH_LOG("nth %u: export failed: %d", nth, dfd);
	}
	if (dfd >= 0)
		close(dfd);
	p2p_dev_close(&self->dev);
	close(self->iommufd);
	self->iommufd = -1;
}

TEST_F_TIMEOUT(fail_nth, export_map_revoke_close, 1200)
{
	unsigned int nth, injected = 0, per_step[NR_STEPS] = {};
	bool fired = true, clean;
	enum step s, next;
	int fds, err;

	fds = count_fds();
	ASSERT_LT(0, fds);
	for (nth = 1; fired; nth++) {
		ASSERT_GT(MAX_NTH, nth);
		ASSERT_EQ(0, open_round(self, variant->bdf));
		s = injected_round(_metadata, self, nth, &err, &fired, &next);
		if (s < NR_STEPS) {
			/* Only an injected failure may stop a step */
			ASSERT_TRUE(fired) {
				TH_LOG("nth %u: %s failed with %d, nothing injected",
				       nth, step_name[s], err);
			}
			EXPECT_TRUE(clean_errno(-err)) {
				TH_LOG("nth %u: %s failed with %d", nth,
				       step_name[s], err);
			}
			/* A failed export leaves no fd behind */
			if (s == STEP_EXPORT)
				EXPECT_EQ(-1, self->dfd);
			per_step[s]++;
		}
		if (fired)
			injected++;
		finish_round(_metadata, self, next, nth);
		/* A round that left something behind spoils the next ones */
		clean = !_metadata->exit_code;
		check_clean(_metadata, self, variant->bdf, fds, nth);
		if (clean && _metadata->exit_code)
			break;
	}
	TH_LOG("%u injection points; failures seen by step:", injected);
	for (s = 0; s < NR_STEPS; s++)
		TH_LOG("  %-14s %u", step_name[s], per_step[s]);
	/* Each user-visible step can fail: the sweep reached them */
	EXPECT_LT(0, per_step[STEP_EXPORT]);
	EXPECT_LT(0, per_step[STEP_MAP]);
}

TEST_HARNESS_MAIN
