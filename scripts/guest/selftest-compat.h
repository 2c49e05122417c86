/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Build compatibility for the base kernel's iommu selftests.
 *
 * Debian's 6.12 source carries selftests from later stable updates that use
 * uapi and mock-driver names this kernel's headers do not have yet. These
 * userspace-only definitions (values as in upstream Linux) let them compile;
 * the tests that need the kernel side are listed, with the reason, in
 * scripts/guest/iommu-known-skips. Included ahead of every source file.
 */
#ifndef __P2P_SELFTEST_COMPAT_H
#define __P2P_SELFTEST_COMPAT_H

/* IOMMU_GET_HW_INFO input type (upstream: a union with out_data_type). */
#define in_data_type out_data_type
#define IOMMU_HW_INFO_FLAG_INPUT_TYPE (1 << 0)
#define IOMMU_HW_INFO_TYPE_DEFAULT 0

/* Mock driver PASID support (drivers/iommu/iommufd/iommufd_test.h). */
#define MOCK_FLAGS_DEVICE_PASID (1 << 2)
#define MOCK_PASID_WIDTH 20

#endif
