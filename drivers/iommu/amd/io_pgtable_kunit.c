// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: the leaf PTEs of the AMD IOMMU page tables (v1 and v2). A mapping
 * of memory gets the memory encryption (C) bit of the table; a mapping
 * with IOMMU_MMIO, such as a PCI BAR mapped for peer-to-peer DMA, gets
 * none, so that the IOMMU sends the DMA to the BAR.
 *
 * Each case builds a private page table that no IOMMU walks and maps one
 * page through the driver's map_pages op, the path of iommu_map(). The
 * table gets a C-bit of its own, the one an SME host would use, so the
 * case runs on any machine: with or without an AMD IOMMU, with or without
 * memory encryption. Nothing is ever accessed at the mapped addresses.
 */
#include <kunit/test.h>
#include <linux/io-pgtable.h>
#include <linux/iommu.h>
#include <linux/sizes.h>
#include <linux/slab.h>

#include "amd_iommu.h"

/* Where Zen parts put the C-bit; inside PM_ADDR_MASK */
#define TEST_C_BIT	BIT_ULL(47)
#define TEST_IOVA	0x1000000UL
/* Page aligned for the largest size below (2M); never accessed */
#define TEST_PADDR	0xfe000000ULL

struct amd_pte_case {
	const char *name;
	enum io_pgtable_fmt fmt;
	size_t pgsize;
	int prot;
	bool c_bit;	/* the leaf must carry TEST_C_BIT */
};

static const struct amd_pte_case amd_pte_cases[] = {
	{ "v1 4K memory", AMD_IOMMU_V1, SZ_4K, IOMMU_READ | IOMMU_WRITE, true },
	{ "v1 4K MMIO", AMD_IOMMU_V1, SZ_4K,
	  IOMMU_READ | IOMMU_WRITE | IOMMU_MMIO, false },
	{ "v1 4K MMIO read-only", AMD_IOMMU_V1, SZ_4K, IOMMU_READ | IOMMU_MMIO,
	  false },
	/* Not a level size: 16 repeated PTEs that encode the size */
	{ "v1 64K memory", AMD_IOMMU_V1, SZ_64K, IOMMU_READ | IOMMU_WRITE, true },
	{ "v1 64K MMIO", AMD_IOMMU_V1, SZ_64K,
	  IOMMU_READ | IOMMU_WRITE | IOMMU_MMIO, false },
	{ "v1 2M MMIO", AMD_IOMMU_V1, SZ_2M,
	  IOMMU_READ | IOMMU_WRITE | IOMMU_MMIO, false },
	{ "v2 4K memory", AMD_IOMMU_V2, SZ_4K, IOMMU_READ | IOMMU_WRITE, true },
	{ "v2 4K MMIO", AMD_IOMMU_V2, SZ_4K,
	  IOMMU_READ | IOMMU_WRITE | IOMMU_MMIO, false },
	{ "v2 2M MMIO", AMD_IOMMU_V2, SZ_2M,
	  IOMMU_READ | IOMMU_WRITE | IOMMU_MMIO, false },
};

static void amd_pte_case_desc(const struct amd_pte_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(amd_pte, amd_pte_cases, amd_pte_case_desc);

/* Level of the leaf PTE of a mapping of @pgsize */
static int amd_pte_leaf_level(size_t pgsize)
{
	if (pgsize >= SZ_1G)
		return 2;
	if (pgsize >= SZ_2M)
		return 1;
	return 0;
}

/* Walk from the top level to the leaf PTE of @iova */
static u64 *amd_pte_walk(struct kunit *test, struct amd_io_pgtable *pgtable,
			 bool v2, unsigned long iova, int leaf_level)
{
	int level = v2 ? amd_iommu_gpt_level - 1 : pgtable->mode - 1;
	u64 *pt = v2 ? pgtable->pgd : pgtable->root;

	for (; level > leaf_level; level--) {
		u64 pte = pt[PM_LEVEL_INDEX(level, iova)];

		KUNIT_ASSERT_TRUE_MSG(test, IOMMU_PTE_PRESENT(pte),
				      "no table at level %d", level);
		/* Tables are memory: their C-bit is the CPU's, sme_me_mask */
		pt = iommu_phys_to_virt(pte & PM_ADDR_MASK);
	}
	return &pt[PM_LEVEL_INDEX(level, iova)];
}

static void amd_pte_test(struct kunit *test)
{
	const struct amd_pte_case *c = test->param_value;
	bool v2 = c->fmt == AMD_IOMMU_V2;
	const struct iommu_domain_ops *ops = amd_iommu_ops.default_domain_ops;
	struct protection_domain *pdom;
	struct io_pgtable_ops *pgtbl_ops;
	size_t mapped = 0;
	u64 pte, addr;
	u64 *leaf;
	int ret;

	pdom = kzalloc(sizeof(*pdom), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pdom);
	/* What protection_domain_alloc() sets up, with no ID and no IOMMU */
	spin_lock_init(&pdom->lock);
	INIT_LIST_HEAD(&pdom->dev_list);
	INIT_LIST_HEAD(&pdom->dev_data_list);
	xa_init(&pdom->iommu_array);
	pdom->iop.pgtbl.cfg.amd.nid = NUMA_NO_NODE;
	pdom->pd_mode = v2 ? PD_MODE_V2 : PD_MODE_V1;
	pgtbl_ops = alloc_io_pgtable_ops(c->fmt, &pdom->iop.pgtbl.cfg, pdom);
	if (!pgtbl_ops) {
		kfree(pdom);
		KUNIT_FAIL(test, "no page table");
		return;
	}
	KUNIT_EXPECT_EQ(test, pdom->iop.mem_enc, (u64)sme_me_mask);
	pdom->iop.mem_enc = TEST_C_BIT;

	ret = ops->map_pages(&pdom->domain, TEST_IOVA, TEST_PADDR, c->pgsize, 1,
			     c->prot, GFP_KERNEL, &mapped);
	KUNIT_EXPECT_EQ(test, ret, 0);
	KUNIT_EXPECT_EQ(test, mapped, c->pgsize);
	if (ret)
		goto out_free;

	leaf = amd_pte_walk(test, &pdom->iop, v2, TEST_IOVA,
			    amd_pte_leaf_level(c->pgsize));
	pte = *leaf;
	KUNIT_EXPECT_TRUE(test, IOMMU_PTE_PRESENT(pte));
	KUNIT_EXPECT_EQ_MSG(test, !!(pte & TEST_C_BIT), c->c_bit,
			    "PTE %#llx", pte);
	/* The rest of the address is the target's; v1 encodes sizes in it */
	addr = pte & PM_ADDR_MASK & ~TEST_C_BIT & ~((u64)c->pgsize - 1);
	KUNIT_EXPECT_EQ_MSG(test, addr, TEST_PADDR, "PTE %#llx", pte);
	if (!v2) {
		KUNIT_EXPECT_TRUE(test, pte & IOMMU_PTE_IR);
		KUNIT_EXPECT_EQ(test, !!(pte & IOMMU_PTE_IW),
				!!(c->prot & IOMMU_WRITE));
	}
	/* v1: every repeated PTE of a size that is not a level's alike */
	if (!v2 && c->pgsize == SZ_64K)
		KUNIT_EXPECT_EQ(test, leaf[SZ_64K / SZ_4K - 1], pte);
	/* What the IOMMU API reads back for MMIO is the BAR address */
	if (!c->c_bit)
		KUNIT_EXPECT_EQ(test,
				ops->iova_to_phys(&pdom->domain, TEST_IOVA),
				(phys_addr_t)TEST_PADDR);

	KUNIT_EXPECT_EQ(test, pgtbl_ops->unmap_pages(pgtbl_ops, TEST_IOVA,
						     c->pgsize, 1, NULL),
			c->pgsize);
out_free:
	free_io_pgtable_ops(pgtbl_ops);
	kfree(pdom);
}

static struct kunit_case amd_iommu_pte_cases[] = {
	KUNIT_CASE_PARAM(amd_pte_test, amd_pte_gen_params),
	{}
};

static struct kunit_suite amd_iommu_pte_suite = {
	.name = "amd-iommu-pte",
	.test_cases = amd_iommu_pte_cases,
};

kunit_test_suite(amd_iommu_pte_suite);

MODULE_DESCRIPTION("KUnit tests of the AMD IOMMU leaf PTEs");
MODULE_LICENSE("GPL");
