/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the p2p selftests that use iommufd's mock domains and mock
 * accesses (CONFIG_IOMMUFD_TEST).  Include after iommufd_utils.h.
 */
#ifndef __P2P_MOCK_UTIL_H
#define __P2P_MOCK_UTIL_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/iommufd.h>
#include "../../../../drivers/iommu/iommufd/iommufd_test.h"
#include "vfio_util.h"

static inline int _test_cmd_access_rw(int fd, unsigned int access_id,
				      uint64_t iova, void *data, size_t length,
				      unsigned int flags)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_ACCESS_RW,
		.id = access_id,
		.access_rw = { .iova = iova,
			       .length = length,
			       .uptr = (uintptr_t)data,
			       .flags = flags },
	};

	return ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

#define test_cmd_access_rw(access_id, iova, data, length, flags)             \
	ASSERT_EQ(0, _test_cmd_access_rw(self->fd, access_id, iova, data,    \
					 length, flags))

static inline int _test_cmd_access_pages(int fd, unsigned int access_id,
					 uint64_t iova, size_t length,
					 void *uptr, unsigned int flags,
					 __u32 *access_pages_id)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_ACCESS_PAGES,
		.id = access_id,
		.access_pages = { .flags = flags,
				  .iova = iova,
				  .length = length,
				  .uptr = (uintptr_t)uptr },
	};
	int ret;

	ret = ioctl(fd, IOMMU_TEST_CMD, &cmd);
	if (!ret)
		*access_pages_id = cmd.access_pages.out_access_pages_id;
	return ret;
}

#define test_cmd_access_pages(access_id, iova, length, uptr, flags, id_p)    \
	ASSERT_EQ(0, _test_cmd_access_pages(self->fd, access_id, iova,       \
					    length, uptr, flags, id_p))

/*
 * Keep automatic IOVAs of @ioas_id inside the mock aperture, so that a mock
 * domain can be attached after a map (an area below the aperture makes the
 * attach fail with EADDRINUSE).  0 or -1.
 */
static inline int p2p_allow_mock_aperture(int fd, uint32_t ioas_id)
{
	struct iommu_iova_range aperture = {
		.start = MOCK_APERTURE_START,
		.last = MOCK_APERTURE_LAST,
	};
	struct iommu_ioas_allow_iovas allow = {
		.size = sizeof(allow),
		.ioas_id = ioas_id,
		.num_iovas = 1,
		.allowed_iovas = (uintptr_t)&aperture,
	};

	return ioctl(fd, IOMMU_IOAS_ALLOW_IOVAS, &allow);
}

/* Outstanding FOLL_PIN references in the whole system */
static inline long pins_outstanding(void)
{
	char line[128];
	long acq = -1, rel = -1;
	FILE *f;

	/* Fold the per-cpu counters so the values are exact */
	if (p2p_write_str("/proc/sys/vm/stat_refresh", "1"))
		return -1;
	f = fopen("/proc/vmstat", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "nr_foll_pin_acquired %ld", &acq) == 1)
			continue;
		if (sscanf(line, "nr_foll_pin_released %ld", &rel) == 1)
			continue;
	}
	fclose(f);
	if (acq < 0 || rel < 0)
		return -1;
	return acq - rel;
}

#endif /* __P2P_MOCK_UTIL_H */
