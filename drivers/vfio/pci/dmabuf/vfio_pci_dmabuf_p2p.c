// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-pci dma-buf exporter: P2P path selection and DMA address mapping.
 *
 * 6.12 has neither DMA_ATTR_MMIO nor a public pci_p2pdma_map_type() for
 * BARs without ZONE_DEVICE pages, so the exporter decides itself:
 *
 *  - pci_p2pdma_distance_many() (exported) tells whether P2P between the
 *    BAR owner and the importer is possible at all: a common upstream
 *    bridge, or a host bridge path that is whitelisted or on a CPU known
 *    to route P2P.  If not, attach fails with -EINVAL.
 *  - If provider and client share an upstream device and no port on the
 *    path redirects P2P upstream via ACS, TLPs are routed by the switch
 *    and never reach the IOMMU: the DMA address is the PCI bus address
 *    (PCI_P2PDMA_MAP_BUS_ADDR in PCI core terms).
 *  - Otherwise the TLPs go through the host bridge and the IOMMU: the BAR
 *    is mapped for the importer with dma_map_resource()
 *    (PCI_P2PDMA_MAP_THRU_HOST_BRIDGE).
 *
 * This mirrors calc_map_type_and_dist() in drivers/pci/p2pdma.c.
 */
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>

#include "vfio_pci_dmabuf.h"

/**
 * vfio_pci_dmabuf_map_type_name - name of a P2P mapping type for humans
 * @type: mapping type
 *
 * Return: a static string.
 */
const char *vfio_pci_dmabuf_map_type_name(enum vfio_pci_dmabuf_path type)
{
	switch (type) {
	case VFIO_PCI_DMABUF_PATH_BUS_ADDR:
		return "bus_addr";
	case VFIO_PCI_DMABUF_PATH_HOST_BRIDGE:
		return "host_bridge";
	default:
		return "none";
	}
}

static bool vfio_pci_dmabuf_acs_redirects(struct pci_dev *pdev)
{
	u16 ctrl;

	if (!pdev->acs_cap)
		return false;
	pci_read_config_word(pdev, pdev->acs_cap + PCI_ACS_CTRL, &ctrl);
	return ctrl & (PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_EC);
}

static struct pci_dev *vfio_pci_dmabuf_common_upstream(struct pci_dev *a,
						       struct pci_dev *b)
{
	struct pci_dev *up, *bb;

	for (up = a; up; up = pci_upstream_bridge(up))
		for (bb = b; bb; bb = pci_upstream_bridge(bb))
			if (up == bb)
				return up;
	return NULL;
}

static enum vfio_pci_dmabuf_path
vfio_pci_dmabuf_path_type(struct pci_dev *provider, struct pci_dev *client)
{
	struct pci_dev *common, *p;

	common = vfio_pci_dmabuf_common_upstream(provider, client);
	if (!common)
		return VFIO_PCI_DMABUF_PATH_HOST_BRIDGE;

	/* Provider side, including the common device, as the PCI core does. */
	for (p = provider; ; p = pci_upstream_bridge(p)) {
		if (vfio_pci_dmabuf_acs_redirects(p))
			return VFIO_PCI_DMABUF_PATH_HOST_BRIDGE;
		if (p == common)
			break;
	}
	for (p = client; p != common; p = pci_upstream_bridge(p))
		if (vfio_pci_dmabuf_acs_redirects(p))
			return VFIO_PCI_DMABUF_PATH_HOST_BRIDGE;

	return VFIO_PCI_DMABUF_PATH_BUS_ADDR;
}

static struct pci_dev *vfio_pci_dmabuf_pci_parent(struct device *dev)
{
	for (; dev; dev = dev->parent)
		if (dev_is_pci(dev))
			return to_pci_dev(dev);
	return NULL;
}

/**
 * vfio_pci_dmabuf_p2p_type - choose how an importer reaches the BAR
 * @provider: device owning the BAR
 * @client: the importer's DMA device
 * @type: on success, VFIO_PCI_DMABUF_PATH_BUS_ADDR or
 *	VFIO_PCI_DMABUF_PATH_HOST_BRIDGE
 *
 * Context: the importer holds a reference on @client for the attachment.
 * Return: 0, or -EINVAL when P2P between the two is not supported.
 */
int vfio_pci_dmabuf_p2p_type(struct pci_dev *provider, struct device *client,
			     enum vfio_pci_dmabuf_path *type)
{
	struct pci_dev *pclient = vfio_pci_dmabuf_pci_parent(client);
	enum vfio_pci_dmabuf_path t;

	if (!pclient) {
		dev_warn_ratelimited(client,
				     "not a PCI device, no P2P DMA to %s\n",
				     pci_name(provider));
		return -EINVAL;
	}

	t = vfio_pci_dmabuf_path_type(provider, pclient);

	if (pci_p2pdma_distance_many(provider, &client, 1, false) < 0) {
		dev_warn_ratelimited(&pclient->dev,
				     "no P2P DMA path to %s (host bridge not whitelisted)\n",
				     pci_name(provider));
		return -EINVAL;
	}

	*type = t;
	return 0;
}

/**
 * vfio_pci_dmabuf_count_segs - scatterlist entries needed for a mapping
 * @priv: dma-buf with its ranges filled in
 *
 * Return: the number of entries, each at most VFIO_PCI_DMABUF_MAX_SEG.
 */
unsigned int vfio_pci_dmabuf_count_segs(const struct vfio_pci_dmabuf *priv)
{
	unsigned int nents = 0;
	u32 i;

	for (i = 0; i < priv->nr_ranges; i++)
		nents += DIV_ROUND_UP_ULL(priv->ranges[i].length,
					  VFIO_PCI_DMABUF_MAX_SEG);
	return nents;
}

static void vfio_pci_dmabuf_unmap_segs(struct device *dev,
				       struct sg_table *sgt, unsigned int count,
				       enum dma_data_direction dir)
{
	struct scatterlist *sg;
	unsigned int i;

	for_each_sgtable_dma_sg(sgt, sg, i) {
		if (i >= count)
			break;
		dma_unmap_resource(dev, sg_dma_address(sg), sg_dma_len(sg),
				   dir, DMA_ATTR_SKIP_CPU_SYNC);
	}
}

/**
 * vfio_pci_dmabuf_p2p_map - build the sg_table of DMA addresses
 * @priv: dma-buf to map, ACTIVE
 * @dev: importer's DMA device
 * @type: path chosen at attach time
 * @dir: DMA direction
 *
 * Context: reservation lock of @priv->dmabuf held.
 * Return: an sg_table with DMA addresses only (no struct pages), or an
 * ERR_PTR.
 */
struct sg_table *vfio_pci_dmabuf_p2p_map(struct vfio_pci_dmabuf *priv,
					 struct device *dev,
					 enum vfio_pci_dmabuf_path type,
					 enum dma_data_direction dir)
{
	struct scatterlist *sg;
	struct sg_table *sgt;
	unsigned int mapped = 0;
	int ret;
	u32 i;

	if ((type != VFIO_PCI_DMABUF_PATH_BUS_ADDR &&
	     type != VFIO_PCI_DMABUF_PATH_HOST_BRIDGE) ||
	    !valid_dma_direction(dir))
		return ERR_PTR(-EINVAL);

	sgt = kzalloc(sizeof(*sgt), GFP_KERNEL);
	if (!sgt)
		return ERR_PTR(-ENOMEM);
	ret = sg_alloc_table(sgt, priv->nr_segs, GFP_KERNEL);
	if (ret)
		goto err_free;

	sg = sgt->sgl;
	for (i = 0; i < priv->nr_ranges; i++) {
		const struct vfio_pci_dmabuf_range *r = &priv->ranges[i];
		u64 off;

		for (off = 0; off < r->length; off += VFIO_PCI_DMABUF_MAX_SEG) {
			u32 len = min_t(u64, r->length - off,
					VFIO_PCI_DMABUF_MAX_SEG);
			dma_addr_t addr;

			if (type == VFIO_PCI_DMABUF_PATH_BUS_ADDR) {
				addr = r->bus + off;
			} else {
				addr = dma_map_resource(dev, r->phys + off, len,
							dir,
							DMA_ATTR_SKIP_CPU_SYNC);
				ret = dma_mapping_error(dev, addr);
				if (ret)
					goto err_unmap;
				mapped++;
			}
			/* MMIO: no struct page, importers use DMA fields. */
			sg_set_page(sg, NULL, len, 0);
			sg_dma_address(sg) = addr;
			sg_dma_len(sg) = len;
			if (type == VFIO_PCI_DMABUF_PATH_BUS_ADDR)
				sg_dma_mark_bus_address(sg);
			sg = sg_next(sg);
		}
	}
	WARN_ON_ONCE(sg);
	return sgt;

err_unmap:
	vfio_pci_dmabuf_unmap_segs(dev, sgt, mapped, dir);
	sg_free_table(sgt);
err_free:
	kfree(sgt);
	return ERR_PTR(ret);
}

/**
 * vfio_pci_dmabuf_p2p_unmap - undo vfio_pci_dmabuf_p2p_map()
 * @dev: importer's DMA device
 * @type: path chosen at attach time
 * @sgt: table returned by vfio_pci_dmabuf_p2p_map()
 * @dir: DMA direction used for the mapping
 */
void vfio_pci_dmabuf_p2p_unmap(struct device *dev,
			       enum vfio_pci_dmabuf_path type,
			       struct sg_table *sgt,
			       enum dma_data_direction dir)
{
	if (type == VFIO_PCI_DMABUF_PATH_HOST_BRIDGE)
		vfio_pci_dmabuf_unmap_segs(dev, sgt, sgt->nents, dir);
	sg_free_table(sgt);
	kfree(sgt);
}
