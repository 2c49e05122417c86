/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Compatibility defines so that map_file.c and ../iommu/iommufd_utils.h build
 * against the uapi headers of the Debian 6.12 tree, with or without the
 * IOMMU_IOAS_MAP_FILE patches. Include after <linux/iommufd.h> and before
 * "../iommu/iommufd_utils.h". Every define is a no-op on newer headers.
 */
#ifndef __SELFTEST_P2P_COMPAT_H
#define __SELFTEST_P2P_COMPAT_H

#include <linux/types.h>
#include <linux/ioctl.h>
#include <linux/iommufd.h>

/*
 * The 6.12 stable iommufd_utils.h carries helpers from newer kernels that use
 * names the 6.12 uapi does not have. They are enum constants or struct
 * members upstream, so they cannot be tested with #ifdef; defining them as
 * macros after <linux/iommufd.h> is harmless in both cases.
 */
#ifndef IOMMU_HW_INFO_TYPE_DEFAULT
#define IOMMU_HW_INFO_TYPE_DEFAULT 0
#endif
#ifndef IOMMU_HW_INFO_FLAG_INPUT_TYPE
#define IOMMU_HW_INFO_FLAG_INPUT_TYPE 0x1
#endif
/* Upstream: union { __u32 in_data_type; __u32 out_data_type; } */
#ifndef in_data_type
#define in_data_type out_data_type
#endif

/* IOMMU_IOAS_MAP_FILE, identical to upstream v6.13 */
#ifndef IOMMU_IOAS_MAP_FILE
#define IOMMUFD_CMD_IOAS_MAP_FILE 0x8f
struct iommu_ioas_map_file {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__s32 fd;
	__aligned_u64 start;
	__aligned_u64 length;
	__aligned_u64 iova;
};

#define IOMMU_IOAS_MAP_FILE _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_MAP_FILE)
#endif

/*
 * Mock driver PASID support (iommufd_test.h, upstream 6.15), used by the
 * base tree's iommu/iommufd.c. This kernel's mock driver rejects the flag;
 * the rig reports the tests that depend on it as skipped.
 */
#ifndef MOCK_PASID_WIDTH
#define MOCK_FLAGS_DEVICE_PASID 0x4
#define MOCK_PASID_WIDTH 20
#endif

#ifndef MFD_HUGE_SHIFT
#define MFD_HUGE_SHIFT 26
#endif
#ifndef MFD_HUGE_2MB
#define MFD_HUGE_2MB (21U << MFD_HUGE_SHIFT)
#endif
#ifndef MFD_HUGE_1GB
#define MFD_HUGE_1GB (30U << MFD_HUGE_SHIFT)
#endif
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

#endif
