// SPDX-License-Identifier: GPL-2.0
/*
 * Mock dma-buf exporter for the iommufd selftests, and the dma-buf test ops.
 *
 * The mock exporter makes dma-bufs out of N physically contiguous chunks of
 * ordinary pages and offers them to dma-buf-phys importers only, like the
 * vfio-pci exporter offers BARs. Each range is one alloc_pages() block, so a
 * range of 2^n pages is naturally aligned, and tests can check that iommufd
 * maps it with huge IOPTEs. MOCK_DMABUF_MISALIGN starts each range one page
 * into its block instead.
 *
 * Test ops (see iommufd_test.h for the layouts):
 *
 *  IOMMU_TEST_OP_DMABUF_GET         one range of dmabuf_get.length bytes
 *  IOMMU_TEST_OP_DMABUF_REVOKE      revoke or restore, with move_notify
 *  IOMMU_TEST_OP_MD_CHECK_DMABUF    does a mock domain map a slice of a
 *                                   mock dma-buf at an IOVA
 *  IOMMU_TEST_OP_DMABUF_GET_RANGES  N ranges, their physical addresses are
 *                                   written back to userspace
 *  IOMMU_TEST_OP_MD_READ_IOPTE      the physical address and prot a mock
 *                                   domain maps at an IOVA, or -ENOENT
 *  IOMMU_TEST_OP_DMABUF_QUERY       attachments of any dma-buf, ranges and
 *                                   state of a mock one
 *  IOMMU_TEST_OP_DMABUF_AREAS       the importer's dma-buf areas, counted
 *                                   as <debugfs>/iommufd/ shows them, and
 *                                   the state and counters of one
 *
 * The first three follow upstream's numbers and layouts. DMABUF_GET and
 * DMABUF_REVOKE behave as upstream's, except that the dma-buf has pages
 * from alloc_pages() and its file gets exactly the requested open_flags (a
 * read-only dma-buf cannot be mapped IOMMU_IOAS_MAP_WRITEABLE here).
 */
#include <linux/dma-buf.h>
#include <linux/dma-buf-phys.h>
#include <linux/dma-resv.h>
#include <linux/fcntl.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "../iommufd_private.h"
#include "../iommufd_test.h"
#include "dmabuf.h"
#include "selftest_dmabuf.h"

/**
 * struct iommufd_test_dmabuf_chunk - one range of a mock dma-buf
 * @page: first page of the alloc_pages() block
 * @order: order of the block
 * @skip: pages of the block before the range (MOCK_DMABUF_MISALIGN)
 * @len: length of the range in bytes
 */
struct iommufd_test_dmabuf_chunk {
	struct page *page;
	unsigned int order;
	unsigned int skip;
	size_t len;
};

/**
 * struct iommufd_test_dmabuf - exporter private data of a mock dma-buf
 * @revoked: access revoked; protected by the reservation lock
 * @nr_ranges: number of entries in @ranges
 * @ranges: the ranges, in dma-buf order; immutable
 */
struct iommufd_test_dmabuf {
	bool revoked;
	unsigned int nr_ranges;
	struct iommufd_test_dmabuf_chunk ranges[] __counted_by(nr_ranges);
};

static phys_addr_t
iommufd_test_dmabuf_chunk_phys(const struct iommufd_test_dmabuf_chunk *c)
{
	return page_to_phys(c->page) + (phys_addr_t)c->skip * PAGE_SIZE;
}

static struct dma_buf_phys_exporter iommufd_test_dmabuf_exporter;

static int iommufd_test_dmabuf_attach(struct dma_buf *dmabuf,
				      struct dma_buf_attachment *attach)
{
	/* There is no DMA mapping to give anybody else */
	if (!dma_buf_phys_is_attachment(&iommufd_test_dmabuf_exporter, attach))
		return -EOPNOTSUPP;
	return 0;
}

/* pin/unpin make the exporter dynamic: no mapping at attach time */
static int iommufd_test_dmabuf_pin(struct dma_buf_attachment *attach)
{
	return -EOPNOTSUPP;
}

static void iommufd_test_dmabuf_unpin(struct dma_buf_attachment *attach)
{
}

static struct sg_table *
iommufd_test_dmabuf_map(struct dma_buf_attachment *attach,
			enum dma_data_direction dir)
{
	return ERR_PTR(-EOPNOTSUPP);
}

static void iommufd_test_dmabuf_unmap(struct dma_buf_attachment *attach,
				      struct sg_table *sgt,
				      enum dma_data_direction dir)
{
}

static void iommufd_test_dmabuf_free(struct iommufd_test_dmabuf *priv)
{
	unsigned int i;

	for (i = 0; i != priv->nr_ranges; i++)
		if (priv->ranges[i].page)
			__free_pages(priv->ranges[i].page,
				     priv->ranges[i].order);
	kfree(priv);
}

static void iommufd_test_dmabuf_release(struct dma_buf *dmabuf)
{
	iommufd_test_dmabuf_free(dmabuf->priv);
}

static const struct dma_buf_ops iommufd_test_dmabuf_ops = {
	.attach = iommufd_test_dmabuf_attach,
	.pin = iommufd_test_dmabuf_pin,
	.unpin = iommufd_test_dmabuf_unpin,
	.map_dma_buf = iommufd_test_dmabuf_map,
	.unmap_dma_buf = iommufd_test_dmabuf_unmap,
	.release = iommufd_test_dmabuf_release,
};

static int iommufd_test_dmabuf_map_phys(struct dma_buf_attachment *attach,
					struct phys_vec **phys)
{
	struct iommufd_test_dmabuf *priv = attach->dmabuf->priv;
	struct phys_vec *p;
	unsigned int i;

	dma_resv_assert_held(attach->dmabuf->resv);

	if (priv->revoked)
		return -ENODEV;
	p = kvmalloc_array(priv->nr_ranges, sizeof(*p), GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	for (i = 0; i != priv->nr_ranges; i++) {
		p[i].paddr = iommufd_test_dmabuf_chunk_phys(&priv->ranges[i]);
		p[i].len = priv->ranges[i].len;
	}
	*phys = p;
	return priv->nr_ranges;
}

static const struct dma_buf_phys_ops iommufd_test_dmabuf_phys_ops = {
	.map_phys = iommufd_test_dmabuf_map_phys,
};

static struct dma_buf_phys_exporter iommufd_test_dmabuf_exporter = {
	.dmabuf_ops = &iommufd_test_dmabuf_ops,
	.phys_ops = &iommufd_test_dmabuf_phys_ops,
	.owner = THIS_MODULE,
};

static bool iommufd_test_dmabuf_registered;

/* The mock dma-buf of @fd, with a reference, or an ERR_PTR */
static struct dma_buf *iommufd_test_dmabuf_get_mock(int fd, int not_mock_err)
{
	struct dma_buf *dmabuf;

	dmabuf = dma_buf_get(fd);
	if (IS_ERR(dmabuf))
		return dmabuf;
	if (dmabuf->ops != &iommufd_test_dmabuf_ops) {
		dma_buf_put(dmabuf);
		return ERR_PTR(not_mock_err);
	}
	return dmabuf;
}

/*
 * Make a mock dma-buf of @nr ranges of @ranges[i].length bytes and return
 * its fd. The physical addresses go to @ranges[i].out_phys before the fd
 * exists, so the caller can copy them out and still fail cleanly.
 */
static int iommufd_test_dmabuf_create(struct iommu_test_dmabuf_range *ranges,
				      unsigned int nr, u32 flags,
				      u32 open_flags,
				      struct iommu_test_dmabuf_range __user *uranges)
{
	unsigned int skip = (flags & MOCK_DMABUF_MISALIGN) ? 1 : 0;
	DEFINE_DMA_BUF_EXPORT_INFO(exp_info);
	struct iommufd_test_dmabuf *priv;
	struct dma_buf *dmabuf;
	size_t size = 0;
	unsigned int i;
	int rc;

	if (!nr || nr > MOCK_DMABUF_MAX_RANGES ||
	    (flags & ~MOCK_DMABUF_MISALIGN) ||
	    (open_flags & ~(O_ACCMODE | O_CLOEXEC | O_NONBLOCK)))
		return -EINVAL;
	for (i = 0; i != nr; i++) {
		u64 len = ranges[i].length;

		if (!len || len % PAGE_SIZE || len > MOCK_DMABUF_MAX_RANGE_SIZE ||
		    get_order(len + skip * PAGE_SIZE) > MAX_PAGE_ORDER)
			return -EINVAL;
		size += len;
	}

	priv = kzalloc(struct_size(priv, ranges, nr), GFP_KERNEL_ACCOUNT);
	if (!priv)
		return -ENOMEM;
	priv->nr_ranges = nr;
	for (i = 0; i != nr; i++) {
		struct iommufd_test_dmabuf_chunk *c = &priv->ranges[i];

		c->len = ranges[i].length;
		c->skip = skip;
		c->order = get_order(c->len + skip * PAGE_SIZE);
		c->page = alloc_pages(GFP_KERNEL_ACCOUNT | __GFP_ZERO |
				      __GFP_NOWARN, c->order);
		if (!c->page) {
			rc = -ENOMEM;
			goto err_free;
		}
		ranges[i].out_phys = iommufd_test_dmabuf_chunk_phys(c);
	}

	if (uranges &&
	    copy_to_user(uranges, ranges, array_size(nr, sizeof(*ranges)))) {
		rc = -EFAULT;
		goto err_free;
	}

	exp_info.ops = &iommufd_test_dmabuf_ops;
	exp_info.size = size;
	exp_info.flags = open_flags;
	exp_info.priv = priv;
	dmabuf = dma_buf_export(&exp_info);
	if (IS_ERR(dmabuf)) {
		rc = PTR_ERR(dmabuf);
		goto err_free;
	}

	/* From here on the dma-buf owns priv */
	rc = dma_buf_fd(dmabuf, open_flags);
	if (rc < 0)
		dma_buf_put(dmabuf);
	return rc;

err_free:
	iommufd_test_dmabuf_free(priv);
	return rc;
}

/* IOMMU_TEST_OP_DMABUF_GET: one range, as upstream */
static int iommufd_test_dmabuf_get(u32 length, u32 open_flags)
{
	struct iommu_test_dmabuf_range range = { .length = length };

	if (!length || length % PAGE_SIZE || length > PAGE_SIZE * 512)
		return -EINVAL;
	return iommufd_test_dmabuf_create(&range, 1, 0, open_flags, NULL);
}

static int iommufd_test_dmabuf_get_ranges(struct iommu_test_cmd *cmd)
{
	struct iommu_test_dmabuf_range __user *uranges =
		u64_to_user_ptr(cmd->dmabuf_get_ranges.ranges);
	u32 nr = cmd->dmabuf_get_ranges.nr_ranges;
	struct iommu_test_dmabuf_range *ranges;
	int rc;

	if (!nr || nr > MOCK_DMABUF_MAX_RANGES)
		return -EINVAL;
	ranges = memdup_array_user(uranges, nr, sizeof(*ranges));
	if (IS_ERR(ranges))
		return PTR_ERR(ranges);
	rc = iommufd_test_dmabuf_create(ranges, nr,
					cmd->dmabuf_get_ranges.flags,
					cmd->dmabuf_get_ranges.open_flags,
					uranges);
	kfree(ranges);
	return rc;
}

/* IOMMU_TEST_OP_DMABUF_REVOKE: move_notify even without a change, as upstream */
static int iommufd_test_dmabuf_revoke(int fd, bool revoked)
{
	struct iommufd_test_dmabuf *priv;
	struct dma_buf *dmabuf;

	dmabuf = iommufd_test_dmabuf_get_mock(fd, -EOPNOTSUPP);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);

	priv = dmabuf->priv;
	dma_resv_lock(dmabuf->resv, NULL);
	priv->revoked = revoked;
	dma_buf_move_notify(dmabuf);
	dma_resv_unlock(dmabuf->resv);

	dma_buf_put(dmabuf);
	return 0;
}

/* Physical address of byte @off of a mock dma-buf; @off is in the dma-buf */
static phys_addr_t iommufd_test_dmabuf_phys(struct iommufd_test_dmabuf *priv,
					    u64 off)
{
	unsigned int i;

	for (i = 0; i != priv->nr_ranges; i++) {
		if (off < priv->ranges[i].len)
			return iommufd_test_dmabuf_chunk_phys(&priv->ranges[i]) +
			       off;
		off -= priv->ranges[i].len;
	}
	WARN_ON(true);
	return 0;
}

static struct iommufd_hw_pagetable *
iommufd_test_dmabuf_get_hwpt(struct iommufd_ucmd *ucmd, u32 id)
{
	struct iommufd_object *obj;

	obj = iommufd_get_object(ucmd->ictx, id, IOMMUFD_OBJ_HWPT_PAGING);
	if (IS_ERR(obj))
		return ERR_CAST(obj);
	return container_of(obj, struct iommufd_hw_pagetable, obj);
}

/* IOMMU_TEST_OP_MD_CHECK_DMABUF: same checks as upstream, -ENOENT if unmapped */
static int iommufd_test_md_check_dmabuf(struct iommufd_ucmd *ucmd,
					struct iommu_test_cmd *cmd)
{
	u64 offset = cmd->check_dmabuf.offset;
	u64 length = cmd->check_dmabuf.length;
	u64 iova = cmd->check_dmabuf.iova;
	struct iommufd_hw_pagetable *hwpt;
	struct iommufd_test_dmabuf *priv;
	struct dma_buf *dmabuf;
	unsigned long page_size;
	u64 i, end;
	int rc;

	hwpt = iommufd_test_dmabuf_get_hwpt(ucmd, cmd->id);
	if (IS_ERR(hwpt))
		return PTR_ERR(hwpt);

	dmabuf = iommufd_test_dmabuf_get_mock(cmd->check_dmabuf.dmabuf_fd,
					      -EINVAL);
	if (IS_ERR(dmabuf)) {
		rc = PTR_ERR(dmabuf);
		goto out_put_hwpt;
	}
	priv = dmabuf->priv;

	page_size = 1UL << __ffs(hwpt->domain->pgsize_bitmap);
	if (iova % page_size || length % page_size || offset % page_size ||
	    check_add_overflow(offset, length, &end) || end > dmabuf->size) {
		rc = -EINVAL;
		goto out_put_dmabuf;
	}

	rc = 0;
	for (i = 0; i < length; i += page_size) {
		phys_addr_t phys;
		u32 flags;

		rc = iommufd_test_md_read_iopte(hwpt->domain, iova + i, &phys,
						&flags);
		if (rc)
			break;
		if (phys != iommufd_test_dmabuf_phys(priv, offset + i)) {
			rc = -EINVAL;
			break;
		}
	}

out_put_dmabuf:
	dma_buf_put(dmabuf);
out_put_hwpt:
	iommufd_put_object(ucmd->ictx, &hwpt->obj);
	return rc;
}

static int iommufd_test_md_read(struct iommufd_ucmd *ucmd,
				struct iommu_test_cmd *cmd)
{
	struct iommufd_hw_pagetable *hwpt;
	phys_addr_t phys;
	u32 flags;
	int rc;

	hwpt = iommufd_test_dmabuf_get_hwpt(ucmd, cmd->id);
	if (IS_ERR(hwpt))
		return PTR_ERR(hwpt);
	rc = iommufd_test_md_read_iopte(hwpt->domain, cmd->md_read_iopte.iova,
					&phys, &flags);
	iommufd_put_object(ucmd->ictx, &hwpt->obj);
	if (rc)
		return rc;

	cmd->md_read_iopte.out_phys = phys;
	cmd->md_read_iopte.out_flags = flags;
	return iommufd_ucmd_respond(ucmd, sizeof(*cmd));
}

static int iommufd_test_dmabuf_query(struct iommufd_ucmd *ucmd,
				     struct iommu_test_cmd *cmd)
{
	struct iommu_test_dmabuf_range __user *uranges =
		u64_to_user_ptr(cmd->dmabuf_query.ranges);
	unsigned int nr_attach = 0, nr_phys = 0, i;
	struct dma_buf_attachment *attach;
	struct iommufd_test_dmabuf *priv;
	struct dma_buf *dmabuf;
	u32 flags = 0, nr = 0;
	int rc = 0;

	dmabuf = dma_buf_get(cmd->dmabuf_query.dmabuf_fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	priv = dmabuf->ops == &iommufd_test_dmabuf_ops ? dmabuf->priv : NULL;

	dma_resv_lock(dmabuf->resv, NULL);
	list_for_each_entry(attach, &dmabuf->attachments, node) {
		nr_attach++;
		if (dma_buf_phys_is_attachment(&iommufd_test_dmabuf_exporter,
					       attach))
			nr_phys++;
	}
	if (priv) {
		flags |= MOCK_DMABUF_QUERY_MOCK;
		if (priv->revoked)
			flags |= MOCK_DMABUF_QUERY_REVOKED;
		nr = priv->nr_ranges;
	}
	dma_resv_unlock(dmabuf->resv);

	/* The ranges of a mock dma-buf never change */
	for (i = 0; uranges && i != min(nr, cmd->dmabuf_query.nr_ranges); i++) {
		struct iommu_test_dmabuf_range r = {
			.length = priv->ranges[i].len,
			.out_phys = iommufd_test_dmabuf_chunk_phys(&priv->ranges[i]),
		};

		if (copy_to_user(&uranges[i], &r, sizeof(r))) {
			rc = -EFAULT;
			goto out_put;
		}
	}

	cmd->dmabuf_query.out_flags = flags;
	cmd->dmabuf_query.nr_ranges = nr;
	cmd->dmabuf_query.out_nr_attachments = nr_attach;
	cmd->dmabuf_query.out_nr_phys_attachments = nr_phys;
	cmd->dmabuf_query.out_size = dmabuf->size;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
out_put:
	dma_buf_put(dmabuf);
	return rc;
}

/*
 * Whether @area of @idma is the one IOMMU_TEST_OP_DMABUF_AREAS asks for:
 * the one at the IOVA in IOAS @cmd->id of this iommufd, or with @cmd->id 0
 * the first, as in the first line of debugfs
 */
static bool iommufd_test_dmabuf_area_is(struct iommufd_ucmd *ucmd,
					struct iommu_test_cmd *cmd,
					struct iopt_dmabuf *idma,
					struct iopt_area *area)
{
	u64 iova = cmd->dmabuf_areas.iova;

	if (!cmd->id)
		return true;
	return idma->ictx == ucmd->ictx &&
	       iopt_dmabuf_ioas_id(area) == cmd->id &&
	       iova >= iopt_area_iova(area) && iova <= iopt_area_last_iova(area);
}

/*
 * IOMMU_TEST_OP_DMABUF_AREAS: what <debugfs>/iommufd/dmabuf_areas and
 * dmabuf_deferred show, as numbers. The counters are those of the dma-buf
 * pages, shared by the areas made from one map, as in debugfs.
 */
static int iommufd_test_dmabuf_areas(struct iommufd_ucmd *ucmd,
				     struct iommu_test_cmd *cmd)
{
	struct iopt_dmabuf *idma;
	u32 flags = 0;
	int rc;

	memset(&cmd->dmabuf_areas.out_nr_areas, 0,
	       sizeof(cmd->dmabuf_areas) -
	       offsetof(typeof(cmd->dmabuf_areas), out_nr_areas));
	rc = mutex_lock_interruptible(&iopt_dmabuf_all_lock);
	if (rc)
		return rc;
	list_for_each_entry(idma, &iopt_dmabuf_all, all_node) {
		struct iopt_dmabuf_area *da;

		mutex_lock(&idma->pages->mutex);
		list_for_each_entry(da, &idma->areas, node) {
			cmd->dmabuf_areas.out_nr_areas++;
			cmd->dmabuf_areas.out_nr_revoked += idma->revoked;
			cmd->dmabuf_areas.out_nr_from_va += idma->from_va;
			cmd->dmabuf_areas.out_nr_pending += idma->retry_pending;
			if (flags ||
			    !iommufd_test_dmabuf_area_is(ucmd, cmd, idma, da->area))
				continue;
			flags = MOCK_DMABUF_AREA_FOUND |
				(idma->revoked ? MOCK_DMABUF_AREA_REVOKED : 0) |
				(idma->from_va ? MOCK_DMABUF_AREA_FROM_VA : 0) |
				(idma->retry_pending ? MOCK_DMABUF_AREA_PENDING : 0);
			cmd->dmabuf_areas.out_first = iopt_area_iova(da->area);
			cmd->dmabuf_areas.out_last =
				iopt_area_last_iova(da->area);
			cmd->dmabuf_areas.out_revokes = idma->revoke_count;
			cmd->dmabuf_areas.out_restores = idma->restore_count;
			cmd->dmabuf_areas.out_restore_errors = idma->restore_errors;
			cmd->dmabuf_areas.out_retries = idma->restore_retries;
			cmd->dmabuf_areas.out_deferred = idma->restore_deferrals;
		}
		mutex_unlock(&idma->pages->mutex);
	}
	mutex_unlock(&iopt_dmabuf_all_lock);
	cmd->dmabuf_areas.out_flags = flags;
	cmd->dmabuf_areas.out_nr_deferred =
		atomic_read(&iopt_dmabuf_nr_deferred);
	return iommufd_ucmd_respond(ucmd, sizeof(*cmd));
}

/**
 * iommufd_test_dmabuf() - Handle the dma-buf test ops
 * @ucmd: the IOMMU_TEST_CMD being executed
 * @cmd: its payload
 *
 * Return: a dma-buf fd for the GET ops, otherwise 0 or a negative errno.
 */
int iommufd_test_dmabuf(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	switch (cmd->op) {
	case IOMMU_TEST_OP_DMABUF_GET:
		/* A mock dma-buf that nobody can import is of no use */
		if (!iommufd_test_dmabuf_registered)
			return -EOPNOTSUPP;
		return iommufd_test_dmabuf_get(cmd->dmabuf_get.length,
					       cmd->dmabuf_get.open_flags);
	case IOMMU_TEST_OP_DMABUF_REVOKE:
		return iommufd_test_dmabuf_revoke(cmd->dmabuf_revoke.dmabuf_fd,
						  cmd->dmabuf_revoke.revoked);
	case IOMMU_TEST_OP_MD_CHECK_DMABUF:
		return iommufd_test_md_check_dmabuf(ucmd, cmd);
	case IOMMU_TEST_OP_DMABUF_GET_RANGES:
		if (!iommufd_test_dmabuf_registered)
			return -EOPNOTSUPP;
		return iommufd_test_dmabuf_get_ranges(cmd);
	case IOMMU_TEST_OP_MD_READ_IOPTE:
		return iommufd_test_md_read(ucmd, cmd);
	case IOMMU_TEST_OP_DMABUF_QUERY:
		return iommufd_test_dmabuf_query(ucmd, cmd);
	case IOMMU_TEST_OP_DMABUF_AREAS:
		return iommufd_test_dmabuf_areas(ucmd, cmd);
	}
	return -EOPNOTSUPP;
}

/**
 * iommufd_test_dmabuf_init() - Register the mock exporter with dma-buf-phys
 */
void iommufd_test_dmabuf_init(void)
{
	int rc;

	rc = dma_buf_phys_register(&iommufd_test_dmabuf_exporter);
	if (rc) {
		pr_warn("iommufd: mock dma-buf exporter not registered: %d\n",
			rc);
		return;
	}
	iommufd_test_dmabuf_registered = true;
}

/**
 * iommufd_test_dmabuf_exit() - Unregister the mock exporter
 *
 * Every mock dma-buf holds a reference on this module, none is left.
 */
void iommufd_test_dmabuf_exit(void)
{
	if (!iommufd_test_dmabuf_registered)
		return;
	dma_buf_phys_unregister(&iommufd_test_dmabuf_exporter);
	iommufd_test_dmabuf_registered = false;
}
