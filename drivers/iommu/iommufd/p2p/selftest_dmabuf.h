/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Mock dma-buf exporter and dma-buf test ops of the iommufd selftest.
 *
 * selftest.c dispatches the dma-buf test ops to p2p/selftest_dmabuf.c, which
 * in turn reads the mock page table through iommufd_test_md_read_iopte().
 */
#ifndef __IOMMUFD_P2P_SELFTEST_DMABUF_H
#define __IOMMUFD_P2P_SELFTEST_DMABUF_H

#include <linux/errno.h>
#include <linux/types.h>

struct iommu_domain;
struct iommu_test_cmd;
struct iommufd_ucmd;

/* selftest.c */
int iommufd_test_md_read_iopte(struct iommu_domain *domain, unsigned long iova,
			       phys_addr_t *phys, u32 *flags);

/* selftest_dmabuf.c */
#if IS_ENABLED(CONFIG_DMA_SHARED_BUFFER)
int iommufd_test_dmabuf(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd);
void iommufd_test_dmabuf_init(void);
void iommufd_test_dmabuf_exit(void);
#else
static inline int iommufd_test_dmabuf(struct iommufd_ucmd *ucmd,
				      struct iommu_test_cmd *cmd)
{
	return -EOPNOTSUPP;
}

static inline void iommufd_test_dmabuf_init(void) { }
static inline void iommufd_test_dmabuf_exit(void) { }
#endif

#endif /* __IOMMUFD_P2P_SELFTEST_DMABUF_H */
