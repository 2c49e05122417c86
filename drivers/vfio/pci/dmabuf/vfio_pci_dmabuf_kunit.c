// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests for the range validation of VFIO_DEVICE_FEATURE_DMA_BUF.
 *
 * vfio_pci_dmabuf_check_ranges_in() is tested against synthetic BARs, so
 * the corner cases no emulated device has (a BAR at the top of the
 * physical address space, a BAR of 2^63 bytes) are covered too.
 */
#include <kunit/test.h>

#include "vfio_pci_dmabuf.h"

#define PG	PAGE_SIZE

/* A 16 MiB BAR at 4 GiB */
#define BAR_START	0x100000000ULL
#define BAR_SIZE	(16ULL << 20)
#define BAR_END		(BAR_START + BAR_SIZE - 1)

struct vfio_pci_dmabuf_range_case {
	const char *name;
	u64 start, end;
	struct vfio_region_dma_range r[3];
	u32 nr;
	int err;
	size_t total;
};

static const struct vfio_pci_dmabuf_range_case vfio_pci_dmabuf_range_cases[] = {
	{ "one page", BAR_START, BAR_END, { { 0, PG } }, 1, 0, PG },
	{ "whole BAR", BAR_START, BAR_END, { { 0, BAR_SIZE } }, 1, 0,
	  BAR_SIZE },
	{ "last page", BAR_START, BAR_END, { { BAR_SIZE - PG, PG } }, 1, 0,
	  PG },
	{ "three disjoint, unsorted", BAR_START, BAR_END,
	  { { 8 * PG, PG }, { 0, 2 * PG }, { 4 * PG, PG } }, 3, 0, 4 * PG },
	{ "adjacent", BAR_START, BAR_END, { { PG, PG }, { 0, PG } }, 2, 0,
	  2 * PG },
	{ "length 0", BAR_START, BAR_END, { { 0, 0 } }, 1, -EINVAL },
	{ "offset unaligned", BAR_START, BAR_END, { { 0x800, PG } }, 1,
	  -EINVAL },
	{ "length unaligned", BAR_START, BAR_END, { { 0, PG + 1 } }, 1,
	  -EINVAL },
	{ "starts at the end", BAR_START, BAR_END, { { BAR_SIZE, PG } }, 1,
	  -EINVAL },
	{ "crosses the end", BAR_START, BAR_END, { { BAR_SIZE - PG, 2 * PG } },
	  1, -EINVAL },
	{ "second range bad", BAR_START, BAR_END,
	  { { 0, PG }, { BAR_SIZE, PG } }, 2, -EINVAL },
	{ "offset overflows", BAR_START, BAR_END, { { -PG, PG } }, 1,
	  -EOVERFLOW },
	{ "end overflows", BAR_START, BAR_END, { { PG, -PG } }, 1,
	  -EOVERFLOW },
	{ "BAR at the top, last page", -BAR_SIZE, U64_MAX,
	  { { BAR_SIZE - PG, PG } }, 1, 0, PG },
	{ "BAR at the top, one past", -BAR_SIZE, U64_MAX,
	  { { BAR_SIZE, PG } }, 1, -EOVERFLOW },
	{ "partial overlap", BAR_START, BAR_END,
	  { { 0, 2 * PG }, { PG, PG } }, 2, -EINVAL },
	{ "identical", BAR_START, BAR_END, { { 0, PG }, { 0, PG } }, 2,
	  -EINVAL },
	{ "contained, unsorted", BAR_START, BAR_END,
	  { { 2 * PG, PG }, { 0, 4 * PG } }, 2, -EINVAL },
	{ "third overlaps first", BAR_START, BAR_END,
	  { { 0, 2 * PG }, { 4 * PG, PG }, { PG, PG } }, 3, -EINVAL },
	/* The sum of the lengths must fit a size_t: 2^63 + 2^63 wraps */
	{ "total wraps", 0, U64_MAX,
	  { { 0, 1ULL << 63 }, { 1ULL << 63, 1ULL << 63 } }, 2, -EINVAL },
};

static void vfio_pci_dmabuf_range_desc(const struct vfio_pci_dmabuf_range_case *c,
				       char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(vfio_pci_dmabuf_range, vfio_pci_dmabuf_range_cases,
		  vfio_pci_dmabuf_range_desc);

static void vfio_pci_dmabuf_test_ranges(struct kunit *test)
{
	const struct vfio_pci_dmabuf_range_case *c = test->param_value;
	size_t total = 0xdead;
	int ret;

	ret = vfio_pci_dmabuf_check_ranges_in(c->start, c->end, c->r, c->nr,
					      &total);
	KUNIT_EXPECT_EQ(test, ret, c->err);
	/* total is only written on success */
	KUNIT_EXPECT_EQ(test, total, c->err ? 0xdead : c->total);
}

/* The cap on nr_ranges: VFIO_PCI_DMABUF_MAX_RANGES pages, one by one */
static void vfio_pci_dmabuf_test_max_ranges(struct kunit *test)
{
	struct vfio_region_dma_range *r;
	size_t total = 0;
	u32 i;

	r = kunit_kcalloc(test, VFIO_PCI_DMABUF_MAX_RANGES, sizeof(*r),
			  GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, r);
	/* Every other page, in reverse order */
	for (i = 0; i < VFIO_PCI_DMABUF_MAX_RANGES; i++) {
		r[i].offset = (u64)(VFIO_PCI_DMABUF_MAX_RANGES - 1 - i) * 2 * PG;
		r[i].length = PG;
	}
	KUNIT_EXPECT_EQ(test, 0,
			vfio_pci_dmabuf_check_ranges_in(BAR_START, BAR_END, r,
							VFIO_PCI_DMABUF_MAX_RANGES,
							&total));
	KUNIT_EXPECT_EQ(test, total, (size_t)VFIO_PCI_DMABUF_MAX_RANGES * PG);

	/* The last one (at offset 0) grows into the second to last */
	r[VFIO_PCI_DMABUF_MAX_RANGES - 1].length = 3 * PG;
	total = 0;
	KUNIT_EXPECT_EQ(test, -EINVAL,
			vfio_pci_dmabuf_check_ranges_in(BAR_START, BAR_END, r,
							VFIO_PCI_DMABUF_MAX_RANGES,
							&total));
	KUNIT_EXPECT_EQ(test, total, 0);
}

static struct kunit_case vfio_pci_dmabuf_test_cases[] = {
	KUNIT_CASE_PARAM(vfio_pci_dmabuf_test_ranges,
			 vfio_pci_dmabuf_range_gen_params),
	KUNIT_CASE(vfio_pci_dmabuf_test_max_ranges),
	{}
};

static struct kunit_suite vfio_pci_dmabuf_test_suite = {
	.name = "vfio_pci_dmabuf",
	.test_cases = vfio_pci_dmabuf_test_cases,
};

kunit_test_suite(vfio_pci_dmabuf_test_suite);
