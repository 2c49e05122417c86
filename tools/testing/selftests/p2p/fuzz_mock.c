// SPDX-License-Identifier: GPL-2.0
/*
 * Stateful fuzzer of IOMMU_IOAS_MAP_FILE with dma-bufs of iommufd's mock
 * exporter and memfds, on mock domains (CONFIG_IOMMUFD_TEST), in the VM
 * without a vIOMMU.  The engine is fuzz_common.c; this file adds the mock
 * operations: dma-buf creation with valid and invalid arguments, revoke
 * and restore, mock domains attached and destroyed (IOAS 0 keeps one for
 * good).  After every burst the IOPTEs of every mock domain are read back:
 * none for a revoked dma-buf area, the exporter's physical addresses with
 * MMIO and the right write permission for an active one, the memfd's pages
 * for a memfd area, nothing next to an area; and each mock dma-buf has
 * exactly one attachment per MAP_FILE still mapped.
 *
 *   fuzz_mock [--seed=N] [--seconds=N | --ops=N] [--threads=N] [--serial]
 *             [--trace] [harness options]
 */
#define FUZZ_NAME		"fuzz_mock"
#define FUZZ_DEFAULT_SECONDS	60
#define FUZZ_DEFAULT_THREADS	4

#include "fuzz_common.c"

#define MK_DOMAINS	3

struct mk_domain {
	pthread_mutex_t lock;
	bool present;
	uint32_t stdev, hwpt;
};

struct mk_state {
	uint32_t base_stdev, base_hwpt;	/* IOAS 0's domain, kept */
	struct mk_domain dom[FZ_NIOAS][MK_DOMAINS];
};

static struct mk_state mk;

static int mk_cmd(struct fz_ctx *ctx, struct iommu_test_cmd *cmd)
{
	cmd->size = sizeof(*cmd);
	return fz_ioctl(ctx->iommufd, IOMMU_TEST_CMD, cmd);
}

static int mk_domain_add(struct fz_ctx *ctx, uint32_t ioas_id, uint32_t flags,
			 uint32_t *stdev, uint32_t *hwpt)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS,
		.id = ioas_id,
		.mock_domain_flags = { .dev_flags = flags },
	};
	int ret = mk_cmd(ctx, &cmd);

	if (!ret) {
		*stdev = cmd.mock_domain_flags.out_stdev_id;
		*hwpt = cmd.mock_domain_flags.out_hwpt_id;
	}
	return ret;
}

static int mk_destroy(struct fz_ctx *ctx, uint32_t id)
{
	struct iommu_destroy d = { .size = sizeof(d), .id = id };

	return fz_ioctl(ctx->iommufd, IOMMU_DESTROY, &d);
}

static int be_setup(struct fz_ctx *ctx)
{
	struct iommu_test_dmabuf_range r = { .length = FZ_PAGE };
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_DMABUF_GET_RANGES,
		.dmabuf_get_ranges = { .open_flags = O_RDWR, .nr_ranges = 1,
				       .ranges = (uintptr_t)&r },
	};
	unsigned int i, j;
	int fd;

	memset(&mk, 0, sizeof(mk));
	for (i = 0; i < FZ_NIOAS; i++)
		for (j = 0; j < MK_DOMAINS; j++)
			pthread_mutex_init(&mk.dom[i][j].lock, NULL);
	cmd.size = sizeof(cmd);
	fd = ioctl(ctx->iommufd, IOMMU_TEST_CMD, &cmd);
	if (fd < 0)
		return -ENODEV;
	close(fd);
	if (mk_domain_add(ctx, ctx->ioas[0].id, 0, &mk.base_stdev,
			  &mk.base_hwpt))
		return -ENODEV;
	ctx->have_hugetlb = fz_free_hugepages() >= 64;
	return 0;
}

static void be_teardown(struct fz_ctx *ctx)
{
	unsigned int i, j;

	for (i = 0; i < FZ_NIOAS; i++)
		for (j = 0; j < MK_DOMAINS; j++)
			if (mk.dom[i][j].present && ctx->iommufd >= 0)
				mk_destroy(ctx, mk.dom[i][j].stdev);
	memset(mk.dom, 0, sizeof(mk.dom));
}

static void be_after_close(struct fz_ctx *ctx)
{
}

static bool be_obj_revoked(struct fz_obj *obj)
{
	return __atomic_load_n(&obj->revoked, __ATOMIC_SEQ_CST);
}

static unsigned int be_obj_gen(struct fz_obj *obj)
{
	return __atomic_load_n(&obj->gen, __ATOMIC_SEQ_CST);
}

static void be_obj_close(struct fz_obj *obj)
{
}

/* A mock dma-buf with random ranges, or a request with one bad argument */
static void mk_op_dmabuf_new(struct fz_thread *th)
{
	struct fz_ctx *ctx = th->ctx;
	struct iommu_test_dmabuf_range r[MOCK_DMABUF_MAX_RANGES + 1] = { 0 };
	struct iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_DMABUF_GET_RANGES };
	unsigned int nr = 1 + fz_rand(th, FZ_MAX_RANGES), i;
	unsigned int fault = fz_rand(th, 40);
	uint32_t open_flags = fz_chance(th, 20) ? O_RDONLY : O_RDWR;
	uint32_t flags = fz_chance(th, 15) ? MOCK_DMABUF_MISALIGN : 0;
	struct fz_slot *s = NULL;
	struct fz_obj *obj;
	int want = 0, fd;

	for (i = 0; i < nr; i++)
		r[i].length = FZ_PAGE * (fz_chance(th, 5) ? 256 :
					 1 + fz_rand(th, 8));
	switch (fault) {
	case 0:
		nr = 0;
		want = -EINVAL;
		break;
	case 1:
		nr = MOCK_DMABUF_MAX_RANGES + 1;
		want = -EINVAL;
		break;
	case 2:
		r[fz_rand(th, nr)].length = 0;
		want = -EINVAL;
		break;
	case 3:
		r[fz_rand(th, nr)].length += 1 + fz_rand(th, FZ_PAGE - 1);
		want = -EINVAL;
		break;
	case 4:
		r[fz_rand(th, nr)].length = MOCK_DMABUF_MAX_RANGE_SIZE + FZ_PAGE;
		want = -EINVAL;
		break;
	case 5:
		flags |= 1U << (1 + fz_rand(th, 31));
		want = -EINVAL;
		break;
	case 6:
		open_flags |= O_CREAT;
		want = -EINVAL;
		break;
	}
	cmd.dmabuf_get_ranges.open_flags = open_flags | O_CLOEXEC;
	cmd.dmabuf_get_ranges.nr_ranges = nr;
	cmd.dmabuf_get_ranges.ranges = (uintptr_t)r;
	cmd.dmabuf_get_ranges.flags = flags;
	if (!want) {
		s = fz_slot_excl(th, ctx->dmabufs);
		if (!s)
			return;
		fz_slot_clear(s);
	}
	fz_op(th, "mock_dmabuf nr %u len %#llx,%#llx,... flags %#x open %#x",
	      nr, (unsigned long long)r[0].length,
	      (unsigned long long)r[1].length, flags, open_flags);
	cmd.size = sizeof(cmd);
	fd = ioctl(ctx->iommufd, IOMMU_TEST_CMD, &cmd);
	if (!fz_expect(th, fd < 0 ? -errno : 0, want) || fd < 0)
		goto out;
	obj = fz_obj_new(ctx, FZ_DMABUF);
	if (!obj) {
		close(fd);
		goto out;
	}
	obj->fd = fd;
	obj->writable = open_flags == O_RDWR;
	obj->nr = nr;
	for (i = 0; i < nr; i++) {
		obj->len[i] = r[i].length;
		obj->phys[i] = r[i].out_phys;
		obj->size += r[i].length;
	}
	s->obj = obj;
out:
	if (s)
		fz_slot_put(s);
}

/* Revoke or restore a mock dma-buf (also when already in that state) */
static void mk_op_revoke(struct fz_thread *th)
{
	struct fz_ctx *ctx = th->ctx;
	struct fz_slot *s = fz_slot_get(th, ctx->dmabufs);
	struct iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_DMABUF_REVOKE };
	struct fz_obj *obj;
	bool revoke;
	int ret;

	if (!s)
		return;
	obj = s->obj;
	revoke = fz_chance(th, 50);
	fz_op(th, "mock_revoke dmabuf#%u %s", obj->id,
	      revoke ? "revoke" : "restore");
	pthread_mutex_lock(&obj->revoke_lock);
	__atomic_add_fetch(&obj->gen, 1, __ATOMIC_SEQ_CST);
	cmd.dmabuf_revoke.dmabuf_fd = obj->fd;
	cmd.dmabuf_revoke.revoked = revoke;
	ret = mk_cmd(ctx, &cmd);
	if (fz_expect(th, ret, 0))
		__atomic_store_n(&obj->revoked, revoke, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&obj->gen, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&obj->revoke_lock);
	fz_slot_put(s);
}

/* Attach a mock domain to an IOAS, or destroy one */
static void mk_op_domain(struct fz_thread *th)
{
	struct fz_ctx *ctx = th->ctx;
	unsigned int i = fz_rand(th, FZ_NIOAS);
	struct mk_domain *d = &mk.dom[i][fz_rand(th, MK_DOMAINS)];
	uint32_t flags = fz_chance(th, 30) ? MOCK_FLAGS_DEVICE_HUGE_IOVA : 0;
	int ret;

	if (pthread_mutex_trylock(&d->lock))
		return;
	if (d->present) {
		fz_op(th, "mock_domain destroy stdev %u (ioas %u hwpt %u)",
		      d->stdev, i, d->hwpt);
		if (fz_expect(th, mk_destroy(ctx, d->stdev), 0))
			d->present = false;
	} else {
		fz_op(th, "mock_domain attach ioas %u(%u) flags %#x", i,
		      ctx->ioas[i].id, flags);
		ret = mk_domain_add(ctx, ctx->ioas[i].id, flags, &d->stdev,
				    &d->hwpt);
		if (fz_expect(th, ret, 0))
			d->present = true;
	}
	pthread_mutex_unlock(&d->lock);
}

static void be_op(struct fz_thread *th)
{
	unsigned int r = fz_rand(th, 36);

	if (r < 10)
		mk_op_dmabuf_new(th);
	else if (r < 13)
		fz_op_close(th, th->ctx->dmabufs);
	else if (r < 28)
		mk_op_revoke(th);
	else
		mk_op_domain(th);
}

/* --- checks --- */
static int mk_read_iopte(struct fz_ctx *ctx, uint32_t hwpt, uint64_t iova,
			 uint64_t *phys, uint32_t *flags)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MD_READ_IOPTE,
		.id = hwpt,
		.md_read_iopte = { .iova = iova },
	};
	int ret = mk_cmd(ctx, &cmd);

	*phys = cmd.md_read_iopte.out_phys;
	*flags = cmd.md_read_iopte.out_flags;
	return ret;
}

/* Physical address of byte @off of a mock dma-buf */
static uint64_t mk_phys(struct fz_obj *obj, uint64_t off)
{
	unsigned int i;

	for (i = 0; i < obj->nr; i++) {
		if (off < obj->len[i])
			return obj->phys[i] + off;
		off -= obj->len[i];
	}
	return ~0ULL;
}

static bool mk_covered(struct fz_ioas *io, uint64_t iova)
{
	unsigned int k;

	for (k = 0; k < io->nr; k++)
		if (fz_overlaps(io->areas[k], iova, 1))
			return true;
	return false;
}

static void mk_check_area(struct fz_ctx *ctx, uint32_t hwpt,
			  struct fz_ioas *io, struct fz_area *a)
{
	uint64_t pages = a->len / FZ_PAGE, p, phys, iova;
	struct iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_MD_CHECK_MAP };
	bool rev = a->obj->kind == FZ_DMABUF && be_obj_revoked(a->obj);
	unsigned int n, k;
	uint32_t flags;
	int ret;

	if (a->obj->kind == FZ_MEMFD) {
		cmd.id = hwpt;
		cmd.check_map.iova = a->iova;
		cmd.check_map.length = a->len;
		cmd.check_map.uptr = (uintptr_t)a->obj->map + a->off;
		ret = mk_cmd(ctx, &cmd);
		if (ret)
			fz_fail(ctx, NULL,
				"hwpt %u: memfd area %#llx+%#llx does not map the file's pages: %d",
				hwpt, (unsigned long long)a->iova,
				(unsigned long long)a->len, ret);
	}
	/* Revoked: every page (up to 64); else 4 samples with the ends */
	n = rev ? (pages < 64 ? pages : 64) : (pages < 4 ? pages : 4);
	for (k = 0; k < n && !ctx->failed; k++) {
		if (rev && pages <= 64)
			p = k;
		else if (k == 0)
			p = 0;
		else if (k == 1)
			p = pages - 1;
		else
			p = fz_next(&ctx->check_rng) % pages;
		iova = a->iova + p * FZ_PAGE;
		ret = mk_read_iopte(ctx, hwpt, iova, &phys, &flags);
		ctx->st.iopte_checks++;
		if (rev) {
			if (ret != -ENOENT)
				fz_fail(ctx, NULL,
					"hwpt %u: IOPTE at %#llx of revoked dmabuf#%u area (ret %d phys %#llx)",
					hwpt, (unsigned long long)iova,
					a->obj->id, ret,
					(unsigned long long)phys);
			continue;
		}
		if (ret) {
			fz_fail(ctx, NULL, "hwpt %u: no IOPTE at %#llx of %s#%u area: %d",
				hwpt, (unsigned long long)iova,
				a->obj->kind == FZ_DMABUF ? "dmabuf" : "memfd",
				a->obj->id, ret);
			continue;
		}
		if (!(flags & MOCK_IOPTE_READ) ||
		    !!(flags & MOCK_IOPTE_WRITE) != a->write)
			fz_fail(ctx, NULL, "hwpt %u: IOPTE at %#llx has flags %#x, write %d",
				hwpt, (unsigned long long)iova, flags, a->write);
		if (a->obj->kind == FZ_DMABUF &&
		    (phys != mk_phys(a->obj, a->off + p * FZ_PAGE) ||
		     !(flags & MOCK_IOPTE_MMIO) || (flags & MOCK_IOPTE_CACHE)))
			fz_fail(ctx, NULL,
				"hwpt %u: IOPTE at %#llx of dmabuf#%u: phys %#llx flags %#x, want %#llx MMIO",
				hwpt, (unsigned long long)iova, a->obj->id,
				(unsigned long long)phys, flags,
				(unsigned long long)mk_phys(a->obj,
							    a->off + p * FZ_PAGE));
		if (a->obj->kind == FZ_MEMFD && (flags & MOCK_IOPTE_MMIO))
			fz_fail(ctx, NULL, "hwpt %u: memfd IOPTE at %#llx is MMIO",
				hwpt, (unsigned long long)iova);
	}
	/* Nothing mapped right next to the area */
	for (k = 0; k < 2 && !ctx->failed; k++) {
		iova = k ? a->iova + a->len : a->iova - FZ_PAGE;
		if (mk_covered(io, iova))
			continue;
		ret = mk_read_iopte(ctx, hwpt, iova, &phys, &flags);
		if (ret != -ENOENT)
			fz_fail(ctx, NULL, "hwpt %u: IOPTE at %#llx outside any area (ret %d)",
				hwpt, (unsigned long long)iova, ret);
	}
}

/* Attachments of each open mock dma-buf: one per MAP_FILE still mapped */
static void mk_check_attachments(struct fz_ctx *ctx)
{
	struct iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_DMABUF_QUERY };
	unsigned int s, i, k, j, want;
	unsigned int ids[FZ_MAX_AREAS * FZ_NIOAS];
	struct fz_obj *obj;

	for (s = 0; s < FZ_POOL && !ctx->failed; s++) {
		obj = ctx->dmabufs[s].obj;
		if (!obj)
			continue;
		want = 0;
		for (i = 0; i < FZ_NIOAS; i++)
			for (k = 0; k < ctx->ioas[i].nr; k++) {
				struct fz_area *a = ctx->ioas[i].areas[k];

				if (a->obj != obj)
					continue;
				for (j = 0; j < want; j++)
					if (ids[j] == a->pages_id)
						break;
				if (j == want)
					ids[want++] = a->pages_id;
			}
		memset(&cmd.dmabuf_query, 0, sizeof(cmd.dmabuf_query));
		cmd.dmabuf_query.dmabuf_fd = obj->fd;
		if (mk_cmd(ctx, &cmd)) {
			fz_fail(ctx, NULL, "DMABUF_QUERY of dmabuf#%u: %s",
				obj->id, strerror(errno));
			continue;
		}
		if (cmd.dmabuf_query.out_nr_attachments != want)
			fz_fail(ctx, NULL, "dmabuf#%u has %u attachments, the model %u",
				obj->id, cmd.dmabuf_query.out_nr_attachments,
				want);
		if (!!(cmd.dmabuf_query.out_flags & MOCK_DMABUF_QUERY_REVOKED) !=
		    obj->revoked)
			fz_fail(ctx, NULL, "dmabuf#%u revoked %d, model %d",
				obj->id,
				!!(cmd.dmabuf_query.out_flags &
				   MOCK_DMABUF_QUERY_REVOKED), obj->revoked);
	}
}

static void mk_check_hwpt(struct fz_ctx *ctx, unsigned int i, uint32_t hwpt)
{
	struct fz_ioas *io = &ctx->ioas[i];
	unsigned int k;

	for (k = 0; k < io->nr && !ctx->failed; k++)
		mk_check_area(ctx, hwpt, io, io->areas[k]);
}

static void be_check(struct fz_ctx *ctx)
{
	unsigned int i, j;

	mk_check_hwpt(ctx, 0, mk.base_hwpt);
	for (i = 0; i < FZ_NIOAS; i++)
		for (j = 0; j < MK_DOMAINS; j++)
			if (mk.dom[i][j].present)
				mk_check_hwpt(ctx, i, mk.dom[i][j].hwpt);
	mk_check_attachments(ctx);
}

/* --- tests --- */

/*
 * Seeds replayed every run.  0x63ce8b37d98cf: at op 1297 (t0 #324, the
 * UNMAP of a shmem area of IOAS 1 whose slices were copied to IOAS 0,
 * with mock domains attached and destroyed in between) the kernel warned
 * in mock_domain_iova_to_phys() from batch_from_domain(): the unpin read
 * ahead of pages.c read an IOVA it had already unmapped (physically
 * contiguous pages around two copied slices).  map_file's unmap_slices
 * test has the minimal sequence.
 */
static const struct fz_regress regress[] = {
	{ .seed = 0x1, .threads = 4, .serial = true, .ops = 1500 },
	{ .seed = 0x2, .threads = 4, .serial = false, .ops = 1500 },
	{ .seed = 0x63ce8b37d98cf, .threads = 4, .serial = true, .ops = 1300 },
};

TEST(fuzz)
{
	fz_run(_metadata, fz_opt_seed, fz_opt_threads, fz_opt_serial,
	       fz_opt_ops, fz_opt_seconds);
}

TEST(regression_seeds)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(regress); i++)
		fz_run(_metadata, regress[i].seed, regress[i].threads,
		       regress[i].serial, regress[i].ops, 0);
}

int main(int argc, char **argv)
{
	fz_parse_args(&argc, argv);
	/* The harness kills a test after its timeout: give the run room */
	_fuzz_object.timeout = (fz_opt_ops ? 600 : fz_opt_seconds + 120);
	_regression_seeds_object.timeout = 600;
	return test_harness_run(argc, argv);
}
