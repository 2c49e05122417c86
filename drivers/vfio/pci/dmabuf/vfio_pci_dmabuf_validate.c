// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-pci dma-buf exporter: validation of VFIO_DEVICE_FEATURE_DMA_BUF.
 *
 * The errno of each check: see the table in
 * Documentation/userspace-api/vfio-dma-buf.rst.
 */
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/sort.h>

#include "vfio_pci_dmabuf.h"

/**
 * vfio_pci_dmabuf_check_bar - check that a BAR can back a dma-buf
 * @pdev: exporting device
 * @bar: BAR index, already checked to be below VFIO_PCI_ROM_REGION_INDEX
 *
 * Return: 0, -ENODEV for a BAR without an assigned resource, -EINVAL for a
 * BAR that does not decode memory.
 */
int vfio_pci_dmabuf_check_bar(struct pci_dev *pdev, u32 bar)
{
	unsigned long flags = pci_resource_flags(pdev, bar);

	if (!pci_resource_len(pdev, bar) || (flags & IORESOURCE_UNSET) ||
	    !pci_resource_start(pdev, bar))
		return -ENODEV;
	if (!(flags & IORESOURCE_MEM))
		return -EINVAL;
	return 0;
}

static int vfio_pci_dmabuf_cmp_range(const void *a, const void *b)
{
	const struct vfio_region_dma_range *ra = a, *rb = b;

	if (ra->offset < rb->offset)
		return -1;
	return ra->offset > rb->offset;
}

static int vfio_pci_dmabuf_check_overlap(const struct vfio_region_dma_range *r,
					 u32 nr)
{
	struct vfio_region_dma_range *sorted;
	int ret = 0;
	u32 i;

	if (nr < 2)
		return 0;

	sorted = kmemdup_array(r, nr, sizeof(*r), GFP_KERNEL);
	if (!sorted)
		return -ENOMEM;
	sort(sorted, nr, sizeof(*sorted), vfio_pci_dmabuf_cmp_range, NULL);

	/* Ranges were checked not to wrap, so offset + length is exact. */
	for (i = 1; i < nr; i++) {
		if (sorted[i - 1].offset + sorted[i - 1].length >
		    sorted[i].offset) {
			ret = -EINVAL;
			break;
		}
	}
	kfree(sorted);
	return ret;
}

/**
 * vfio_pci_dmabuf_check_ranges_in - validate ranges against a BAR's span
 * @start: CPU physical address of the first byte of the BAR
 * @end: CPU physical address of the last byte of the BAR
 * @ranges: ranges copied from the user, offsets relative to @start
 * @nr_ranges: number of @ranges, 1..VFIO_PCI_DMABUF_MAX_RANGES
 * @total: on success, the sum of the range lengths
 *
 * The device independent part of vfio_pci_dmabuf_check_ranges(), which
 * the KUnit suite tests directly.
 *
 * Return: 0, -EINVAL or -EOVERFLOW as described in
 * Documentation/userspace-api/vfio-dma-buf.rst, -ENOMEM.
 */
int vfio_pci_dmabuf_check_ranges_in(resource_size_t start,
				    resource_size_t end,
				    const struct vfio_region_dma_range *ranges,
				    u32 nr_ranges, size_t *total)
{
	size_t sum = 0;
	int ret;
	u32 i;

	for (i = 0; i < nr_ranges; i++) {
		u64 offset = ranges[i].offset;
		u64 length = ranges[i].length;
		u64 first, last;

		if (!length || !PAGE_ALIGNED(offset) || !PAGE_ALIGNED(length))
			return -EINVAL;
		if (check_add_overflow((u64)start, offset, &first) ||
		    check_add_overflow(first, length - 1, &last))
			return -EOVERFLOW;
		if (last > end)
			return -EINVAL;
		if (check_add_overflow(sum, (size_t)length, &sum))
			return -EINVAL;
	}

	ret = vfio_pci_dmabuf_check_overlap(ranges, nr_ranges);
	if (ret)
		return ret;

	*total = sum;
	return 0;
}

/**
 * vfio_pci_dmabuf_check_ranges - validate the ranges of a dma-buf request
 * @pdev: exporting device
 * @bar: BAR the ranges are relative to, already checked
 * @ranges: ranges copied from the user
 * @nr_ranges: number of @ranges, 1..VFIO_PCI_DMABUF_MAX_RANGES
 * @total: on success, the sum of the range lengths
 *
 * Return: see vfio_pci_dmabuf_check_ranges_in().
 */
int vfio_pci_dmabuf_check_ranges(struct pci_dev *pdev, u32 bar,
				 const struct vfio_region_dma_range *ranges,
				 u32 nr_ranges, size_t *total)
{
	return vfio_pci_dmabuf_check_ranges_in(pci_resource_start(pdev, bar),
					       pci_resource_end(pdev, bar),
					       ranges, nr_ranges, total);
}
