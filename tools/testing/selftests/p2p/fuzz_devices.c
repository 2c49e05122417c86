// SPDX-License-Identifier: GPL-2.0
/*
 * Stateful fuzzer of VFIO dma-buf export and IOMMU_IOAS_MAP_FILE with the
 * rig's real devices under emulated VT-d.  The engine is fuzz_common.c;
 * this file adds the device operations: VFIO_DEVICE_FEATURE_DMA_BUF of the
 * ivshmem BAR2 at 00:02.0 and 01:00.0 with valid and invalid arguments,
 * the revoke triggers each has (memory decode off/on through the config
 * region, low power entry/exit, VFIO_DEVICE_RESET on the one behind a root
 * port, and the documented error without a reset method), closing and
 * reopening an exporter (attached to a random IOAS), and attaching,
 * moving and detaching a third device (e1000e) to give an IOAS another
 * VT-d domain.
 *
 * The edu device (00:01.0) is attached to IOAS 0.  Every few seconds of
 * the run, in a quiesced check, edu writes a unique token to an IOVA of a
 * random area of IOAS 0: it must land in the BAR (or memfd) when the area
 * is active and writeable, and must never be found there when the area is
 * revoked or read-only (checked at once if the BAR can be read, else as
 * soon as it can).  Each check also compares the vfio dma-buf debugfs list
 * with the model (dma-bufs per device and state).
 *
 *   fuzz_devices [--seed=N] [--seconds=N | --ops=N] [--threads=N]
 *                [--serial] [--trace] [harness options]
 */
#define FUZZ_NAME		"fuzz_devices"
#define FUZZ_DEFAULT_SECONDS	60
#define FUZZ_DEFAULT_THREADS	3

#include "fuzz_common.c"

#define DV_BAR		VFIO_PCI_BAR2_REGION_INDEX
#define DV_NDEV		2
#define DV_IOVA_MEM	0x10000000ULL
#define DV_MEM_SIZE	0x10000ULL
#define DV_TOKEN	32
#define DV_PENDING	32
#define DV_DMA_PERIOD	2.0	/* seconds between edu DMA checks */
/* Exports stay in the first 4M of BAR2, in 64K chunks */
#define DV_CHUNK	0x10000ULL
#define DV_CHUNKS	64

struct fz_dev {
	const char *bdf;
	pthread_rwlock_t lock;	/* write: triggers, close; read: export */
	struct p2p_dev pd;
	void *bar;
	uint64_t region_size[VFIO_PCI_ROM_REGION_INDEX];
	bool has_reset;
	/* The model, changed under the write lock with gen odd */
	unsigned int gen;
	unsigned int epoch;
	bool mem_on, lowpower;
	unsigned int nr_exports;
};

struct dv_probe {
	struct fz_dev *dev;
	uint64_t bar_off;
	char token[DV_TOKEN];
};

struct dv_state {
	struct fz_dev dev[DV_NDEV];
	struct p2p_dev edu;
	struct p2p_dev holder;
	pthread_mutex_t holder_lock;
	int holder_ioas;	/* -1: detached */
	struct fz_obj *mem;	/* edu staging memfd at DV_IOVA_MEM */
	struct dv_probe pending[DV_PENDING];
	unsigned int nr_pending;
	unsigned int tokens;
	double last_dma;
};

static struct dv_state dv;

static int dv_cmd_mem(struct fz_dev *d, bool on);
static int dv_low_power(struct fz_dev *d, bool on);
static void dv_check_pending(struct fz_ctx *ctx, bool all);

static bool dev_revoked(struct fz_dev *d)
{
	return !__atomic_load_n(&d->mem_on, __ATOMIC_SEQ_CST) ||
	       __atomic_load_n(&d->lowpower, __ATOMIC_SEQ_CST);
}

static bool be_obj_revoked(struct fz_obj *obj)
{
	struct fz_dev *d = obj->dev;

	return obj->epoch != __atomic_load_n(&d->epoch, __ATOMIC_SEQ_CST) ||
	       dev_revoked(d);
}

static unsigned int be_obj_gen(struct fz_obj *obj)
{
	return __atomic_load_n(&obj->dev->gen, __ATOMIC_SEQ_CST);
}

static void be_obj_close(struct fz_obj *obj)
{
}

static void dev_gen_bump(struct fz_dev *d)
{
	__atomic_add_fetch(&d->gen, 1, __ATOMIC_SEQ_CST);
}

/* Open @d through its cdev, attach it to IOAS @i, map BAR2, decode on */
static int dev_open(struct fz_ctx *ctx, struct fz_dev *d, unsigned int i)
{
	unsigned int r;

	if (p2p_open_iommufd_dev(&d->pd, d->bdf, ctx->iommufd,
				 ctx->ioas[i].id))
		return -errno ?: -EIO;
	d->bar = p2p_map_bar(&d->pd, DV_BAR);
	if (!d->bar)
		return -EIO;
	for (r = 0; r < VFIO_PCI_ROM_REGION_INDEX; r++) {
		struct vfio_region_info info = { .argsz = sizeof(info),
						 .index = r };

		d->region_size[r] = ioctl(d->pd.fd, VFIO_DEVICE_GET_REGION_INFO,
					  &info) ? 0 : info.size;
	}
	d->has_reset = p2p_has_reset(&d->pd);
	if (p2p_cmd_bits(&d->pd, PCI_COMMAND_MEMORY, 0))
		return -EIO;
	d->mem_on = true;
	d->lowpower = false;
	return 0;
}

static int be_setup(struct fz_ctx *ctx)
{
	static const char *const bdfs[DV_NDEV] = { P2P_IVSHMEM0, P2P_IVSHMEM_RP };
	struct fz_obj *mem;
	unsigned int i;
	uint64_t iova;
	int ret;

	memset(&dv, 0, sizeof(dv));
	dv.edu.fd = -1;
	dv.holder.fd = -1;
	dv.holder_ioas = -1;
	pthread_mutex_init(&dv.holder_lock, NULL);
	for (i = 0; i < DV_NDEV; i++) {
		dv.dev[i].bdf = bdfs[i];
		dv.dev[i].pd.fd = -1;
		pthread_rwlock_init(&dv.dev[i].lock, NULL);
	}
	if (!p2p_dev_present(P2P_EDU0) || !p2p_dev_present(P2P_IVSHMEM0) ||
	    !p2p_dev_present(P2P_IVSHMEM_RP) || p2p_iommu_group(P2P_EDU0) < 0)
		return -ENODEV;
	if (p2p_open_iommufd_dev(&dv.edu, P2P_EDU0, ctx->iommufd,
				 ctx->ioas[0].id) ||
	    !p2p_map_bar(&dv.edu, 0) ||
	    p2p_cmd_bits(&dv.edu, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 0)) {
		snprintf(ctx->fail_msg, sizeof(ctx->fail_msg),
			 "cannot set up edu: %s", strerror(errno));
		return -EIO;
	}
	for (i = 0; i < DV_NDEV; i++) {
		ret = dev_open(ctx, &dv.dev[i], 1);
		if (ret) {
			snprintf(ctx->fail_msg, sizeof(ctx->fail_msg),
				 "cannot open %s: %d", dv.dev[i].bdf, ret);
			return ret;
		}
	}
	if (p2p_dev_present(P2P_E1000E) &&
	    !p2p_open_iommufd_dev(&dv.holder, P2P_E1000E, ctx->iommufd,
				  ctx->ioas[1].id))
		dv.holder_ioas = 1;

	/* edu's buffer is loaded by DMA from this memfd */
	mem = fz_obj_new(ctx, FZ_MEMFD);
	mem->size = DV_MEM_SIZE;
	mem->fd = memfd_create("edu-staging", MFD_CLOEXEC);
	if (mem->fd < 0 || ftruncate(mem->fd, mem->size))
		return -EIO;
	mem->map = mmap(NULL, mem->size, PROT_READ | PROT_WRITE, MAP_SHARED,
			mem->fd, 0);
	iova = DV_IOVA_MEM;
	if (mem->map == MAP_FAILED ||
	    _test_ioctl_ioas_map_file(ctx->iommufd, ctx->ioas[0].id, mem->fd, 0,
				      mem->size, &iova,
				      FZ_MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA))
		return -EIO;
	memset(mem->map, 0, mem->size);
	fz_reg_add(ctx, 0, DV_IOVA_MEM, mem->size, mem, 0, true, true, -1);
	dv.mem = mem;
	fz_obj_put(mem);	/* the area keeps it */

	ctx->have_hugetlb = fz_free_hugepages() >= 64;
	return 0;
}

static void be_teardown(struct fz_ctx *ctx)
{
	unsigned int i;

	/* Restore every device, then no pending token may be in a BAR */
	for (i = 0; i < DV_NDEV && !ctx->failed; i++) {
		struct fz_dev *d = &dv.dev[i];

		if (d->pd.fd < 0)
			continue;
		if (d->lowpower && !dv_low_power(d, false))
			d->lowpower = false;
		if (!d->mem_on && !dv_cmd_mem(d, true))
			d->mem_on = true;
	}
	if (!ctx->failed)
		dv_check_pending(ctx, true);
	if (dv.nr_pending && !ctx->failed)
		fz_fail(ctx, NULL, "%u DMA probes could not be verified",
			dv.nr_pending);
	for (i = 0; i < DV_NDEV; i++)
		p2p_dev_close(&dv.dev[i].pd);
	p2p_dev_close(&dv.holder);
	p2p_dev_close(&dv.edu);
}

/* Called after the iommufd is closed: no dma-buf of ours may be left */
static void be_after_close(struct fz_ctx *ctx)
{
	int n = fz_wait_gone(DMABUF_DEBUGFS_EXPORTS, "dmabuf ");

	if (n)
		fz_fail(ctx, NULL, "%d vfio dma-bufs left in %s after close",
			n, DMABUF_DEBUGFS_EXPORTS);
}

/* --- operations --- */

/* VFIO_DEVICE_FEATURE_DMA_BUF of BAR2, valid or with one bad argument */
static void dv_op_export(struct fz_thread *th)
{
	struct fz_ctx *ctx = th->ctx;
	struct fz_dev *d = &dv.dev[fz_rand(th, DV_NDEV)];
	struct vfio_region_dma_range r[FZ_MAX_RANGES + 1];
	uint32_t flags = VFIO_DEVICE_FEATURE_GET, region = DV_BAR, dflags = 0;
	uint32_t open_flags = fz_chance(th, 20) ? O_RDONLY : O_RDWR;
	unsigned int nr = 1 + fz_rand(th, FZ_MAX_RANGES), nr_copy, i, j;
	unsigned int fault = fz_rand(th, 36), chunks[FZ_MAX_RANGES];
	long argsz_adj = 0;
	struct fz_slot *s = NULL;
	struct fz_obj *obj;
	int want = 0, ret;

	/* Distinct 64K chunks, so that valid ranges never overlap */
	for (i = 0; i < nr; i++) {
		do {
			chunks[i] = fz_rand(th, DV_CHUNKS);
			for (j = 0; j < i && chunks[j] != chunks[i]; j++)
				;
		} while (j < i);
		r[i].length = FZ_PAGE * (1 + fz_rand(th, 4));
		r[i].offset = chunks[i] * DV_CHUNK +
			      FZ_PAGE * fz_rand(th, DV_CHUNK / FZ_PAGE - 4);
	}
	nr_copy = nr;
	switch (fault) {
	case 0:
		dflags = 1U << fz_rand(th, 32);
		want = -EINVAL;
		break;
	case 1:
		nr = 0;
		nr_copy = 0;
		want = -EINVAL;
		break;
	case 2:
		open_flags |= O_CREAT;
		want = -EINVAL;
		break;
	case 3:
		region = VFIO_PCI_ROM_REGION_INDEX + fz_rand(th, 4);
		want = -ENODEV;
		break;
	case 4:
		/* A BAR the device does not have */
		region = 1 + 2 * fz_rand(th, 3);	/* 1, 3, 5 */
		want = d->region_size[region] ? 0 : -ENODEV;
		if (!want)
			return;
		break;
	case 5:
		nr = DMABUF_MAX_RANGES + 1;
		want = -E2BIG;
		break;
	case 6:
		argsz_adj = -(long)sizeof(r[0]);
		want = -EINVAL;
		break;
	case 7:
		r[fz_rand(th, nr)].length = 0;
		want = -EINVAL;
		break;
	case 8:
		r[fz_rand(th, nr)].offset += 1 + fz_rand(th, FZ_PAGE - 1);
		want = -EINVAL;
		break;
	case 9:
		r[fz_rand(th, nr)].length += 1 + fz_rand(th, FZ_PAGE - 1);
		want = -EINVAL;
		break;
	case 10:
		r[0].offset = d->region_size[DV_BAR] - FZ_PAGE;
		r[0].length = 2 * FZ_PAGE;
		nr = 1;
		nr_copy = 1;
		want = -EINVAL;
		break;
	case 11:
		r[0].offset = -FZ_PAGE;
		r[0].length = FZ_PAGE;
		nr = 1;
		nr_copy = 1;
		want = -EOVERFLOW;
		break;
	case 12:
		if (nr < 2) {
			nr = 2;
			nr_copy = 2;
			r[1] = r[0];
		}
		r[1].offset = r[0].offset + r[0].length - FZ_PAGE;
		want = -EINVAL;
		break;
	case 13:
		/* BAR0 of ivshmem is 256 bytes: no page fits */
		region = VFIO_PCI_BAR0_REGION_INDEX;
		nr = 1;
		nr_copy = 1;
		r[0].offset = 0;
		r[0].length = FZ_PAGE;
		want = -EINVAL;
		break;
	case 14:
		flags = VFIO_DEVICE_FEATURE_SET;
		want = -EINVAL;
		break;
	case 15:
		flags = VFIO_DEVICE_FEATURE_PROBE |
			(fz_chance(th, 50) ? VFIO_DEVICE_FEATURE_GET : 0);
		want = 0;
		break;
	}
	if (fault > 15) {
		s = fz_slot_excl(th, ctx->dmabufs);
		if (!s)
			return;
		fz_slot_clear(s);
	}
	fz_op(th,
	      "export %s region %u nr %u [%#llx+%#llx %#llx+%#llx ...] open %#x flags %#x/%#x argsz%+ld",
	      d->bdf, region, nr, (unsigned long long)r[0].offset,
	      (unsigned long long)r[0].length,
	      (unsigned long long)(nr > 1 ? r[1].offset : 0),
	      (unsigned long long)(nr > 1 ? r[1].length : 0), open_flags,
	      flags, dflags, argsz_adj);
	pthread_rwlock_rdlock(&d->lock);
	ret = dmabuf_feature_raw(d->pd.fd, flags, region,
				 open_flags | O_CLOEXEC, dflags, nr, r,
				 nr_copy, argsz_adj);
	if (fault > 15) {
		if (fz_expect(th, ret < 0 ? ret : 0, 0) && ret > 0) {
			obj = fz_obj_new(ctx, FZ_DMABUF);
			obj->fd = ret;
			obj->writable = open_flags == O_RDWR;
			obj->nr = nr;
			obj->dev = d;
			obj->epoch = d->epoch;
			for (i = 0; i < nr; i++) {
				obj->len[i] = r[i].length;
				obj->phys[i] = r[i].offset;
				obj->size += r[i].length;
			}
			s->obj = obj;
		} else if (ret > 0) {
			close(ret);
		}
	} else {
		if (ret > 0) {
			close(ret);
			ret = 0;
			fz_fail(ctx, th, "a dma-buf for a bad request");
		} else {
			fz_expect(th, ret, want);
		}
	}
	pthread_rwlock_unlock(&d->lock);
	if (s)
		fz_slot_put(s);
}

/* Revoke (@revoke) or restore with trigger @id of p2p_trigger() */
static int dv_trigger(struct fz_dev *d, enum p2p_trigger_id id, bool revoke)
{
	const struct p2p_trigger *t = p2p_trigger(id);

	return revoke ? t->revoke(&d->pd, d->bdf) : t->restore(&d->pd, d->bdf);
}

static int dv_cmd_mem(struct fz_dev *d, bool on)
{
	return dv_trigger(d, P2P_TRIG_CMD_MEM, !on) ? -EIO : 0;
}

static int dv_low_power(struct fz_dev *d, bool on)
{
	return dv_trigger(d, P2P_TRIG_LOW_POWER, on) ? -errno : 0;
}

/* A revoke trigger of the device, or its restore */
static void dv_op_trigger(struct fz_thread *th)
{
	struct fz_dev *d = &dv.dev[fz_rand(th, DV_NDEV)];
	unsigned int r = fz_rand(th, 10);
	int ret;

	pthread_rwlock_wrlock(&d->lock);
	dev_gen_bump(d);
	if (d->lowpower) {
		if (r < 2) {
			fz_op(th, "low_power_entry %s (again)", d->bdf);
			fz_expect(th, dv_low_power(d, true), -EINVAL);
		} else {
			fz_op(th, "low_power_exit %s", d->bdf);
			if (fz_expect(th, dv_low_power(d, false), 0))
				__atomic_store_n(&d->lowpower, false,
						 __ATOMIC_SEQ_CST);
		}
	} else if (r < 4) {
		fz_op(th, "command_mem %s %s", d->bdf,
		      d->mem_on ? "off" : "on");
		if (fz_expect(th, dv_cmd_mem(d, !d->mem_on), 0))
			__atomic_store_n(&d->mem_on, !d->mem_on,
					 __ATOMIC_SEQ_CST);
	} else if (r < 7) {
		fz_op(th, "low_power_entry %s", d->bdf);
		if (fz_expect(th, dv_low_power(d, true), 0))
			__atomic_store_n(&d->lowpower, true, __ATOMIC_SEQ_CST);
	} else if (r < 8) {
		fz_op(th, "low_power_exit %s (not in low power)", d->bdf);
		fz_expect(th, dv_low_power(d, false), 0);
	} else {
		fz_op(th, "device_reset %s%s", d->bdf,
		      d->has_reset ? "" : " (no reset method)");
		/* The trigger turns memory decode back on after the reset */
		ret = dv_trigger(d, P2P_TRIG_DEVICE_RESET, true);
		if (fz_expect(th, ret, d->has_reset ? 0 : -EINVAL) && !ret)
			__atomic_store_n(&d->mem_on, true, __ATOMIC_SEQ_CST);
	}
	dev_gen_bump(d);
	pthread_rwlock_unlock(&d->lock);
}

/* Close the exporter (its dma-bufs die) and open it again */
static void dv_op_reopen(struct fz_thread *th)
{
	struct fz_dev *d = &dv.dev[fz_rand(th, DV_NDEV)];
	unsigned int i = fz_rand(th, FZ_NIOAS);
	int ret;

	pthread_rwlock_wrlock(&d->lock);
	dev_gen_bump(d);
	fz_op(th, "reopen %s, attach to ioas %u", d->bdf, i);
	p2p_dev_close(&d->pd);
	d->bar = NULL;
	__atomic_add_fetch(&d->epoch, 1, __ATOMIC_SEQ_CST);
	ret = dev_open(th->ctx, d, i);
	fz_expect(th, ret, 0);
	dev_gen_bump(d);
	pthread_rwlock_unlock(&d->lock);
}

/* Attach the e1000e to an IOAS, move it, or detach it */
static void dv_op_holder(struct fz_thread *th)
{
	struct fz_ctx *ctx = th->ctx;
	struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at) };
	struct vfio_device_detach_iommufd_pt de = { .argsz = sizeof(de) };
	int ret;

	if (dv.holder.fd < 0 || pthread_mutex_trylock(&dv.holder_lock))
		return;
	if (dv.holder_ioas >= 0 && fz_chance(th, 40)) {
		fz_op(th, "detach %s from ioas %d", P2P_E1000E, dv.holder_ioas);
		ret = fz_ioctl(dv.holder.fd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &de);
		if (fz_expect(th, ret, 0))
			dv.holder_ioas = -1;
	} else {
		unsigned int i = fz_rand(th, FZ_NIOAS);

		fz_op(th, "attach %s to ioas %u (was %d)", P2P_E1000E, i,
		      dv.holder_ioas);
		at.pt_id = ctx->ioas[i].id;
		ret = fz_ioctl(dv.holder.fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at);
		if (fz_expect(th, ret, 0))
			dv.holder_ioas = i;
	}
	pthread_mutex_unlock(&dv.holder_lock);
}

static void be_op(struct fz_thread *th)
{
	unsigned int r = fz_rand(th, 36);

	if (r < 14)
		dv_op_export(th);
	else if (r < 17)
		fz_op_close(th, th->ctx->dmabufs);
	else if (r < 30)
		dv_op_trigger(th);
	else if (r < 32)
		dv_op_reopen(th);
	else
		dv_op_holder(th);
}

/* --- checks --- */
static const char *dv_state(struct fz_obj *obj)
{
	if (obj->epoch != obj->dev->epoch)
		return "dead";
	return dev_revoked(obj->dev) ? "revoked" : "active";
}

/* Add @obj to the @n objects of @seen unless it is there; the new count */
static unsigned int dv_see(struct fz_obj **seen, unsigned int n,
			   struct fz_obj *obj)
{
	unsigned int j;

	for (j = 0; j < n; j++)
		if (seen[j] == obj)
			return n;
	seen[n] = obj;
	return n + 1;
}

/* The vfio debugfs list: dma-bufs per device and state, as in the model */
static void dv_check_exports(struct fz_ctx *ctx)
{
	static const char *const states[] = { "active", "revoked", "dead" };
	struct fz_obj *seen[FZ_POOL + FZ_MAX_AREAS * FZ_NIOAS];
	unsigned int n = 0, i, k, j, dn, st;
	unsigned int want[DV_NDEV][3] = { 0 }, got[DV_NDEV][3] = { 0 };
	char line[512], bdf[32], state[16];
	FILE *f;

	for (k = 0; k < FZ_POOL; k++)
		if (ctx->dmabufs[k].obj)
			n = dv_see(seen, n, ctx->dmabufs[k].obj);
	for (i = 0; i < FZ_NIOAS; i++)
		for (k = 0; k < ctx->ioas[i].nr; k++)
			if (ctx->ioas[i].areas[k]->obj->kind == FZ_DMABUF)
				n = dv_see(seen, n, ctx->ioas[i].areas[k]->obj);
	for (j = 0; j < n; j++) {
		dn = seen[j]->dev - dv.dev;
		for (st = 0; strcmp(states[st], dv_state(seen[j])); st++)
			;
		want[dn][st]++;
	}
	f = fopen(DMABUF_DEBUGFS_EXPORTS, "r");
	if (!f) {
		fz_fail(ctx, NULL, "cannot read %s", DMABUF_DEBUGFS_EXPORTS);
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, " state ");

		if (sscanf(line, "dmabuf %*u dev %31s", bdf) != 1 || !p ||
		    sscanf(p, " state %15s", state) != 1)
			continue;
		for (dn = 0; dn < DV_NDEV && strcmp(dv.dev[dn].bdf, bdf); dn++)
			;
		for (st = 0; st < 3 && strcmp(states[st], state); st++)
			;
		if (dn == DV_NDEV || st == 3) {
			fz_fail(ctx, NULL, "vfio debugfs: unexpected %s", line);
			break;
		}
		got[dn][st]++;
	}
	fclose(f);
	for (dn = 0; dn < DV_NDEV; dn++)
		for (st = 0; st < 3; st++)
			if (got[dn][st] != want[dn][st])
				fz_fail(ctx, NULL,
					"vfio debugfs: %s has %u %s dma-bufs, the model %u",
					dv.dev[dn].bdf, got[dn][st],
					states[st], want[dn][st]);
}

static bool dv_accessible(struct fz_dev *d)
{
	return d->pd.fd >= 0 && d->bar && !dev_revoked(d);
}

/* BAR offset of byte @off of a vfio dma-buf */
static uint64_t dv_bar_off(struct fz_obj *obj, uint64_t off)
{
	unsigned int i;

	for (i = 0; i < obj->nr; i++) {
		if (off < obj->len[i])
			return obj->phys[i] + off;
		off -= obj->len[i];
	}
	return ~0ULL;
}

/* Pending tokens of revoked areas: never in the BAR */
static void dv_check_pending(struct fz_ctx *ctx, bool all)
{
	unsigned int k = 0;
	char got[DV_TOKEN];

	while (k < dv.nr_pending) {
		struct dv_probe *p = &dv.pending[k];

		if (!dv_accessible(p->dev)) {
			k++;
			continue;
		}
		mmio_copy_from(got, p->dev->bar, p->bar_off, DV_TOKEN);
		if (!memcmp(got, p->token, DV_TOKEN))
			fz_fail(ctx, NULL,
				"edu DMA to a revoked area landed in %s BAR2 at %#llx ('%s')",
				p->dev->bdf, (unsigned long long)p->bar_off,
				p->token);
		*p = dv.pending[--dv.nr_pending];
	}
	(void)all;
}

/* edu writes a fresh token to a random area of IOAS 0 */
static void dv_check_dma(struct fz_ctx *ctx)
{
	struct fz_ioas *io = &ctx->ioas[0];
	struct fz_area *cand[FZ_MAX_AREAS], *a;
	unsigned int n = 0, k;
	uint64_t p, o, iova, bar_off = 0;
	bool lands, rev = false;
	char token[DV_TOKEN], got[DV_TOKEN];
	void *dst;

	for (k = 0; k < io->nr; k++)
		if (io->areas[k]->owner >= 0)
			cand[n++] = io->areas[k];
	if (!n)
		return;
	a = cand[fz_next(&ctx->check_rng) % n];
	p = fz_next(&ctx->check_rng) % (a->len / FZ_PAGE);
	o = (fz_next(&ctx->check_rng) % ((FZ_PAGE - DV_TOKEN) / 8)) * 8;
	iova = a->iova + p * FZ_PAGE + o;
	memset(token, 0, sizeof(token));
	snprintf(token, sizeof(token), "FZ %llx %u",
		 (unsigned long long)ctx->seed, ++dv.tokens);
	if (a->obj->kind == FZ_DMABUF) {
		rev = be_obj_revoked(a->obj);
		bar_off = dv_bar_off(a->obj, a->off + p * FZ_PAGE + o);
	}
	lands = a->write && !rev;

	memcpy((char *)dv.mem->map, token, DV_TOKEN);
	if (edu_dma(&dv.edu, DV_IOVA_MEM, 0, DV_TOKEN, false) ||
	    edu_dma(&dv.edu, iova, 0, DV_TOKEN, true)) {
		fz_fail(ctx, NULL, "edu DMA timed out");
		return;
	}
	ctx->st.dma_checks++;
	if (a->obj->kind == FZ_MEMFD) {
		dst = (char *)a->obj->map + a->off + p * FZ_PAGE + o;
		memcpy(got, dst, DV_TOKEN);
	} else if (dv_accessible(a->obj->dev)) {
		mmio_copy_from(got, a->obj->dev->bar, bar_off, DV_TOKEN);
	} else {
		/* Look once the BAR can be read again */
		if (dv.nr_pending < DV_PENDING) {
			struct dv_probe *pp = &dv.pending[dv.nr_pending++];

			pp->dev = a->obj->dev;
			pp->bar_off = bar_off;
			memcpy(pp->token, token, DV_TOKEN);
		}
		return;
	}
	if (lands != !memcmp(got, token, DV_TOKEN))
		fz_fail(ctx, NULL, "edu DMA to iova %#llx (%s#%u, %s%s) %s",
			(unsigned long long)iova,
			a->obj->kind == FZ_MEMFD ? "memfd" : "dmabuf",
			a->obj->id, rev ? "revoked" : "active",
			a->write ? "" : ", read-only",
			lands ? "did not land" : "landed");
}

static void be_check(struct fz_ctx *ctx)
{
	dv_check_exports(ctx);
	dv_check_pending(ctx, false);
	if (!ctx->failed && fz_now() - dv.last_dma >= DV_DMA_PERIOD) {
		dv_check_dma(ctx);
		dv.last_dma = fz_now();
	}
}

/* --- tests --- */
static const struct fz_regress regress[] = {
	{ .seed = 0x1, .threads = 3, .serial = true, .ops = 600 },
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
	_fuzz_object.timeout = (fz_opt_ops ? 900 : fz_opt_seconds + 180);
	_regression_seeds_object.timeout = 600;
	return test_harness_run(argc, argv);
}
