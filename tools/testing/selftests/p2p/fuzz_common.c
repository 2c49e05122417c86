// SPDX-License-Identifier: GPL-2.0
/*
 * Stateful fuzzer engine for the P2P feature, shared by fuzz_mock.c (mock
 * exporter and mock domains) and fuzz_devices.c (vfio-pci exporters, edu
 * DMA under VT-d).  Included by them, not built on its own.
 *
 * Threads share one iommufd, two IOASes, the domains and the exporters.
 * Each thread draws its operations from its own PRNG, seeded from the run
 * seed and its index, so a seed gives the same per-thread sequences every
 * time; --serial runs them interleaved round robin in one thread, which
 * replays a seed exactly.
 *
 * A model predicts the result of every call.  Objects (memfds, dma-bufs)
 * live in shared pools, each slot with a rwlock so that an fd is never
 * closed under another thread.  IOVA space: each thread owns a window of
 * every IOAS for its fixed IOVA maps; an operation whose range leaves the
 * window, or that lets the kernel choose the IOVA, holds the IOAS range
 * lock for writing, the others for reading, so the areas a thread can see
 * in its range are stable while its call runs.  The revoke state of a
 * dma-buf is read before and after a map (a sequence count): when it
 * changed during the call either outcome is accepted.
 *
 * Every FUZZ_CHECK_EVERY operations the threads are quiesced (a writer
 * preferring rwlock) and the invariants are checked: the importer's
 * dma-buf areas (IOMMU_TEST_OP_DMABUF_AREAS) match the model area for
 * area, and the backend checks IOPTEs or DMA.  At the end everything is
 * closed and no dma-buf area, nor (fuzz_devices) any vfio export in its
 * debugfs list, may be left.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <linux/iommufd.h>
#include "compat.h"
#include "../kselftest_harness.h"
#include "p2p_utils.h"

#define FZ_PAGE			4096ULL
#define FZ_MAX_THREADS		8
#define FZ_NIOAS		2
#define FZ_MAX_AREAS		1024
#define FZ_MAX_RANGES		4
#define FZ_POOL			12
#define FZ_AREAS_PER_THREAD	24
#define FZ_CHECK_EVERY		48
#define FZ_HISTORY		16
#define FZ_DESC			256
/* Automatic IOVAs stay in [16M, 2G), the mock aperture */
#define FZ_ALLOW_START		0x1000000ULL
#define FZ_ALLOW_LAST		0x7fffffffULL
/* Thread windows for fixed IOVAs: [1G + t * 128M, +128M) */
#define FZ_WIN_BASE		0x40000000ULL
#define FZ_WIN_SIZE		(128ULL << 20)
#define FZ_MAP_RW		(IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)
#define FZ_BAD_ID		0xfffffu
#define FZ_BAD_FD		100000

/* Command line, see fz_parse_args() */
static uint64_t fz_opt_seed;
static bool fz_opt_seed_set;
static unsigned int fz_opt_seconds = FUZZ_DEFAULT_SECONDS;
static uint64_t fz_opt_ops;
static unsigned int fz_opt_threads = FUZZ_DEFAULT_THREADS;
static bool fz_opt_serial;
static bool fz_opt_trace;
static bool fz_opt_no_hugetlb;

enum fz_kind { FZ_MEMFD, FZ_DMABUF };

struct fz_dev;

/* A memfd or a dma-buf; freed when no slot and no area refers to it */
struct fz_obj {
	enum fz_kind kind;
	unsigned int id;	/* for the op log */
	int refs;		/* atomic: slot + areas */
	int fd;			/* -1 once closed */
	int rofd;		/* memfd: a read-only fd of the same file */
	uint64_t size;
	bool writable;		/* dma-buf: fd is O_RDWR */
	bool sealed;		/* memfd: F_SEAL_FUTURE_WRITE */
	bool hugetlb;
	void *map;		/* memfd: shared mapping of the whole file */
	unsigned int nr;
	uint64_t len[FZ_MAX_RANGES];
	uint64_t phys[FZ_MAX_RANGES];	/* mock: CPU phys, device: BAR offset */
	/* mock dma-buf */
	pthread_mutex_t revoke_lock;
	unsigned int gen;	/* odd while a revoke or restore runs */
	bool revoked;
	/* device dma-buf */
	struct fz_dev *dev;
	unsigned int epoch;	/* dev->epoch at export; dead if different */
};

struct fz_area {
	unsigned int ioas;	/* index */
	uint64_t iova, len;
	struct fz_obj *obj;
	uint64_t off;		/* of the first byte in obj */
	bool write;		/* IOMMU_IOAS_MAP_WRITEABLE */
	bool pages_write;	/* the pages allow it (inherited by copies) */
	int owner;		/* thread, -1 for the checker's own */
	unsigned int pages_id;	/* one per MAP_FILE, shared by its copies */
};

struct fz_ioas {
	uint32_t id;
	pthread_rwlock_t range_lock;
	pthread_mutex_t reg_lock;
	struct fz_area *areas[FZ_MAX_AREAS];
	unsigned int nr;
};

struct fz_slot {
	pthread_rwlock_t lock;
	struct fz_obj *obj;
};

struct fz_ctx;

struct fz_thread {
	struct fz_ctx *ctx;
	int idx;
	pthread_t tid;
	uint64_t rng;
	uint64_t ops, budget;
	unsigned int nr_areas;
	char desc[FZ_DESC];
	char hist[FZ_HISTORY][FZ_DESC];
	unsigned int nhist;
};

struct fz_stats {
	uint64_t ops, ok, errs, skips, checks, dma_checks, iopte_checks;
};

struct fz_ctx {
	struct __test_metadata *md;
	uint64_t seed;
	unsigned int nthreads;
	bool serial;
	int iommufd;
	struct fz_ioas ioas[FZ_NIOAS];
	struct fz_slot memfds[FZ_POOL];
	struct fz_slot dmabufs[FZ_POOL];
	pthread_rwlock_t quiesce;
	struct fz_thread th[FZ_MAX_THREADS];
	int stop;
	int failed;
	char fail_msg[4096];
	pthread_mutex_t fail_lock;
	pthread_mutex_t stats_lock;
	struct fz_stats st;
	unsigned int next_obj_id;
	unsigned int next_pages_id;
	bool have_hugetlb;
	uint64_t check_rng;
	void *be;		/* backend state */
};

/* Backend, implemented by the including file */
static int be_setup(struct fz_ctx *ctx);
static void be_op(struct fz_thread *th);
static void be_check(struct fz_ctx *ctx);
static void be_teardown(struct fz_ctx *ctx);
static void be_after_close(struct fz_ctx *ctx);
static bool be_obj_revoked(struct fz_obj *obj);
static unsigned int be_obj_gen(struct fz_obj *obj);
static void be_obj_close(struct fz_obj *obj);

/* --- random numbers: splitmix64 --- */
static uint64_t fz_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t fz_rand(struct fz_thread *th, uint64_t n)
{
	return n ? fz_next(&th->rng) % n : 0;
}

static bool fz_chance(struct fz_thread *th, unsigned int pct)
{
	return fz_rand(th, 100) < pct;
}

/* --- reporting --- */
static void fz_stat(struct fz_ctx *ctx, uint64_t *field)
{
	pthread_mutex_lock(&ctx->stats_lock);
	(*field)++;
	pthread_mutex_unlock(&ctx->stats_lock);
}

static void fz_fail(struct fz_ctx *ctx, struct fz_thread *th,
		    const char *fmt, ...)
{
	char msg[1024];
	size_t n;
	va_list ap;
	unsigned int i;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&ctx->fail_lock);
	if (!ctx->failed) {
		ctx->failed = 1;
		n = snprintf(ctx->fail_msg, sizeof(ctx->fail_msg),
			     "seed %#llx threads %u%s: %s%s%s",
			     (unsigned long long)ctx->seed, ctx->nthreads,
			     ctx->serial ? " serial" : "",
			     th ? th->desc : "", th ? ": " : "", msg);
		/* The operations of the thread before this one */
		for (i = th && th->nhist > 1 ? th->nhist - 1 : 0;
		     th && i-- > 0 && th->nhist - 1 - i <= 8 &&
		     n < sizeof(ctx->fail_msg) - FZ_DESC - 8;)
			n += snprintf(ctx->fail_msg + n,
				      sizeof(ctx->fail_msg) - n,
				      "\n#   before: %s",
				      th->hist[i % FZ_HISTORY]);
	}
	__atomic_store_n(&ctx->stop, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&ctx->fail_lock);
}

static bool fz_stopped(struct fz_ctx *ctx)
{
	return __atomic_load_n(&ctx->stop, __ATOMIC_SEQ_CST);
}

/* Start describing an operation of @th; logged with --trace */
static void fz_op(struct fz_thread *th, const char *fmt, ...)
{
	char body[FZ_DESC - 32];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	snprintf(th->desc, sizeof(th->desc), "t%d #%llu %s", th->idx,
		 (unsigned long long)th->ops, body);
	memcpy(th->hist[th->nhist++ % FZ_HISTORY], th->desc, FZ_DESC);
	if (fz_opt_trace) {
		printf("# %s\n", th->desc);
		fflush(stdout);
	}
}

static const char *fz_errname(int ret)
{
	static __thread char buf[32];

	if (!ret)
		return "0";
	snprintf(buf, sizeof(buf), "%s", strerror(-ret));
	return buf;
}

/*
 * The call gave @ret (0 or -errno); @want or, if @alt is not 1, @alt were
 * expected.  Returns true if @ret is one of them.
 */
static bool fz_expect2(struct fz_thread *th, int ret, int want, int alt)
{
	if (ret == want || (alt != 1 && ret == alt)) {
		fz_stat(th->ctx, ret ? &th->ctx->st.errs : &th->ctx->st.ok);
		return true;
	}
	if (alt != 1)
		fz_fail(th->ctx, th, "got %d (%s), want %d or %d", ret,
			fz_errname(ret), want, alt);
	else
		fz_fail(th->ctx, th, "got %d (%s), want %d (%s)", ret,
			fz_errname(ret), want, strerror(-want));
	return false;
}

static bool fz_expect(struct fz_thread *th, int ret, int want)
{
	return fz_expect2(th, ret, want, 1);
}

static int fz_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

/* --- objects --- */
static struct fz_obj *fz_obj_new(struct fz_ctx *ctx, enum fz_kind kind)
{
	struct fz_obj *obj = calloc(1, sizeof(*obj));

	if (!obj)
		return NULL;
	obj->kind = kind;
	obj->refs = 1;
	obj->fd = -1;
	obj->rofd = -1;
	obj->id = __atomic_add_fetch(&ctx->next_obj_id, 1, __ATOMIC_RELAXED);
	pthread_mutex_init(&obj->revoke_lock, NULL);
	return obj;
}

static void fz_obj_get(struct fz_obj *obj)
{
	__atomic_add_fetch(&obj->refs, 1, __ATOMIC_SEQ_CST);
}

static void fz_obj_close_fds(struct fz_obj *obj)
{
	if (obj->kind == FZ_DMABUF)
		be_obj_close(obj);
	if (obj->fd >= 0)
		close(obj->fd);
	if (obj->rofd >= 0)
		close(obj->rofd);
	obj->fd = -1;
	obj->rofd = -1;
}

static void fz_obj_put(struct fz_obj *obj)
{
	if (__atomic_sub_fetch(&obj->refs, 1, __ATOMIC_SEQ_CST))
		return;
	fz_obj_close_fds(obj);
	if (obj->map)
		munmap(obj->map, obj->size);
	free(obj);
}

static const char *fz_obj_name(struct fz_obj *obj, char *buf, size_t len)
{
	snprintf(buf, len, "%s#%u", obj->kind == FZ_MEMFD ?
		 (obj->hugetlb ? "hugetlb" : "shmem") : "dmabuf", obj->id);
	return buf;
}

/* Pick a used slot of @pool and read-lock it; NULL if none is free now */
static struct fz_slot *fz_slot_get(struct fz_thread *th, struct fz_slot *pool)
{
	struct fz_slot *s = &pool[fz_rand(th, FZ_POOL)];

	if (pthread_rwlock_tryrdlock(&s->lock))
		return NULL;
	if (!s->obj) {
		pthread_rwlock_unlock(&s->lock);
		return NULL;
	}
	return s;
}

/* Pick a slot of @pool and write-lock it */
static struct fz_slot *fz_slot_excl(struct fz_thread *th, struct fz_slot *pool)
{
	struct fz_slot *s = &pool[fz_rand(th, FZ_POOL)];

	if (pthread_rwlock_trywrlock(&s->lock))
		return NULL;
	return s;
}

static void fz_slot_put(struct fz_slot *s)
{
	pthread_rwlock_unlock(&s->lock);
}

/* Close the object of a write-locked slot */
static void fz_slot_clear(struct fz_slot *s)
{
	struct fz_obj *obj = s->obj;

	s->obj = NULL;
	if (!obj)
		return;
	fz_obj_close_fds(obj);
	fz_obj_put(obj);
}

/* --- IOVA model --- */
static uint64_t fz_win(int t)
{
	return FZ_WIN_BASE + (uint64_t)t * FZ_WIN_SIZE;
}

static bool fz_in_win(int t, uint64_t iova, uint64_t len)
{
	return iova >= fz_win(t) && len <= FZ_WIN_SIZE &&
	       iova - fz_win(t) <= FZ_WIN_SIZE - len;
}

static bool fz_overlaps(const struct fz_area *a, uint64_t iova, uint64_t len)
{
	return a->iova < iova + len && iova < a->iova + a->len;
}

/* Lock the range of IOAS @i for an operation of @th on [iova, +len) */
static bool fz_range_lock(struct fz_thread *th, unsigned int i, bool fixed,
			  uint64_t iova, uint64_t len)
{
	struct fz_ioas *io = &th->ctx->ioas[i];
	bool excl = !fixed || !fz_in_win(th->idx, iova, len);

	if (excl)
		pthread_rwlock_wrlock(&io->range_lock);
	else
		pthread_rwlock_rdlock(&io->range_lock);
	return excl;
}

static void fz_range_unlock(struct fz_thread *th, unsigned int i)
{
	pthread_rwlock_unlock(&th->ctx->ioas[i].range_lock);
}

/* Any area of IOAS @i in [iova, +len)?  @foreign: only other owners' */
static bool fz_reg_overlap(struct fz_ctx *ctx, unsigned int i, uint64_t iova,
			   uint64_t len, int foreign_of)
{
	struct fz_ioas *io = &ctx->ioas[i];
	bool ret = false;
	unsigned int k;

	pthread_mutex_lock(&io->reg_lock);
	for (k = 0; k < io->nr && !ret; k++)
		if (fz_overlaps(io->areas[k], iova, len) &&
		    (foreign_of < -1 || io->areas[k]->owner != foreign_of))
			ret = true;
	pthread_mutex_unlock(&io->reg_lock);
	return ret;
}

static struct fz_area *fz_reg_add(struct fz_ctx *ctx, unsigned int i,
				  uint64_t iova, uint64_t len,
				  struct fz_obj *obj, uint64_t off, bool write,
				  bool pages_write, int owner)
{
	struct fz_ioas *io = &ctx->ioas[i];
	struct fz_area *a = calloc(1, sizeof(*a)), *ret = a;

	if (!a)
		return NULL;
	*a = (struct fz_area){ .ioas = i, .iova = iova, .len = len,
			       .obj = obj, .off = off, .write = write,
			       .pages_write = pages_write, .owner = owner };
	fz_obj_get(obj);
	pthread_mutex_lock(&io->reg_lock);
	if (io->nr < FZ_MAX_AREAS) {
		io->areas[io->nr++] = a;
		a = NULL;
	}
	pthread_mutex_unlock(&io->reg_lock);
	if (a) {
		/* The model is full: the caller unmaps it again */
		fz_obj_put(obj);
		free(a);
		return NULL;
	}
	if (owner >= 0)
		ctx->th[owner].nr_areas++;
	return ret;
}

static void fz_reg_del(struct fz_ctx *ctx, struct fz_area *a)
{
	struct fz_ioas *io = &ctx->ioas[a->ioas];
	unsigned int k;

	pthread_mutex_lock(&io->reg_lock);
	for (k = 0; k < io->nr; k++)
		if (io->areas[k] == a)
			break;
	if (k < io->nr)
		io->areas[k] = io->areas[--io->nr];
	pthread_mutex_unlock(&io->reg_lock);
	if (a->owner >= 0)
		ctx->th[a->owner].nr_areas--;
	fz_obj_put(a->obj);
	free(a);
}

/* A random area of @th (any IOAS), or NULL */
static struct fz_area *fz_my_area(struct fz_thread *th, unsigned int *ioas)
{
	struct fz_ctx *ctx = th->ctx;
	struct fz_area *mine[FZ_AREAS_PER_THREAD * 4];
	unsigned int n = 0, i, k;

	for (i = 0; i < FZ_NIOAS; i++) {
		pthread_mutex_lock(&ctx->ioas[i].reg_lock);
		for (k = 0; k < ctx->ioas[i].nr; k++)
			if (ctx->ioas[i].areas[k]->owner == th->idx &&
			    n < ARRAY_SIZE(mine))
				mine[n++] = ctx->ioas[i].areas[k];
		pthread_mutex_unlock(&ctx->ioas[i].reg_lock);
	}
	if (!n)
		return NULL;
	i = fz_rand(th, n);
	if (ioas)
		*ioas = mine[i]->ioas;
	return mine[i];
}

/* A fixed IOVA for @len bytes in the window of @th */
static uint64_t fz_pick_iova(struct fz_thread *th, uint64_t len)
{
	uint64_t pages = FZ_WIN_SIZE / FZ_PAGE - len / FZ_PAGE;

	return fz_win(th->idx) + fz_rand(th, pages + 1) * FZ_PAGE;
}

/* --- generic operations --- */
struct fz_map_args {
	unsigned int ioas;
	uint32_t ioas_id;
	int fd;
	uint64_t start, length, iova;
	uint32_t flags;
};

static int fz_map_file(struct fz_ctx *ctx, struct fz_map_args *m)
{
	return _test_ioctl_ioas_map_file(ctx->iommufd, m->ioas_id, m->fd,
					 m->start, m->length, &m->iova,
					 m->flags);
}

static int fz_unmap(struct fz_ctx *ctx, uint32_t ioas_id, uint64_t iova,
		    uint64_t len, uint64_t *unmapped)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd), .ioas_id = ioas_id, .iova = iova,
		.length = len,
	};
	int ret = fz_ioctl(ctx->iommufd, IOMMU_IOAS_UNMAP, &cmd);

	if (unmapped)
		*unmapped = ret ? 0 : cmd.length;
	return ret;
}

enum fz_fault {
	FZ_OK, FZ_BADFLAG, FZ_NORW, FZ_BADIOAS, FZ_LEN0, FZ_OVERFLOW,
	FZ_PASTEND, FZ_BADFD, FZ_UNALIGNED, FZ_NOTSHMEM, FZ_NFAULTS,
};

static const char *const fz_fault_name[] = {
	"ok", "bad-flag", "no-rw", "bad-ioas", "len0", "overflow", "past-end",
	"bad-fd", "unaligned-iova", "not-shmem",
};

/*
 * IOMMU_IOAS_MAP_FILE of a random slice of @obj (slot read-locked by the
 * caller), valid or with one fault, at a fixed or automatic IOVA.
 */
static void fz_do_map(struct fz_thread *th, struct fz_obj *obj)
{
	struct fz_ctx *ctx = th->ctx;
	struct fz_map_args m = { 0 };
	enum fz_fault fault = FZ_OK;
	bool fixed, use_ro = false, revoked_a = false, racy = false, dmabuf;
	int want_args = 0, want_fd = 0, want_iova = 0, want_pin = 0;
	unsigned int g1 = 0, g2 = 0;
	uint64_t pages = obj->size / FZ_PAGE, first, n;
	struct fz_area *area = NULL;
	int want, ret, junk = -1;
	char name[32];

	m.ioas = fz_rand(th, FZ_NIOAS);
	m.ioas_id = ctx->ioas[m.ioas].id;
	first = fz_rand(th, pages);
	n = 1 + fz_rand(th, pages - first);
	if (fz_chance(th, 30))
		first = 0, n = pages;
	m.start = first * FZ_PAGE;
	m.length = n * FZ_PAGE;
	m.flags = fz_chance(th, 25) ? IOMMU_IOAS_MAP_READABLE : FZ_MAP_RW;
	m.fd = obj->fd;
	if (obj->kind == FZ_MEMFD && obj->rofd >= 0 && fz_chance(th, 20)) {
		m.fd = obj->rofd;
		use_ro = true;
	}
	fixed = fz_chance(th, 60);
	if (fz_chance(th, 25)) {
		fault = 1 + fz_rand(th, FZ_NFAULTS - 1);
		/* Faults that need a domain on the IOAS (IOAS 0 has one) */
		if (fault == FZ_UNALIGNED)
			fixed = true, m.ioas = 0;
		if (fault == FZ_PASTEND && obj->kind == FZ_MEMFD)
			m.ioas = 0;
		if (fault == FZ_NOTSHMEM)
			obj = NULL;
		m.ioas_id = ctx->ioas[m.ioas].id;
	}
	if (fixed) {
		m.flags |= IOMMU_IOAS_MAP_FIXED_IOVA;
		m.iova = fz_pick_iova(th, m.length);
		/*
		 * Sometimes right on an area of ours, for EEXIST; not for the
		 * faults that need IOAS 0's domain.
		 */
		if (fz_chance(th, 15) && fault != FZ_UNALIGNED &&
		    fault != FZ_PASTEND) {
			unsigned int i;
			struct fz_area *a = fz_my_area(th, &i);

			if (a && fz_in_win(th->idx, a->iova, m.length)) {
				m.iova = a->iova;
				m.ioas = i;
				m.ioas_id = ctx->ioas[i].id;
			}
		}
	}
	/*
	 * The kernel checks, in this order: the arguments, the fd (for a
	 * dma-buf: slice, permission, revoked), the IOVA, then the pinning
	 * of a memfd when the IOAS has a domain.  want_* follow that order.
	 */
	switch (fault) {
	case FZ_OK:
	case FZ_NFAULTS:
		break;
	case FZ_BADFLAG:
		m.flags |= 1U << (3 + fz_rand(th, 29));
		want_args = -EOPNOTSUPP;
		break;
	case FZ_NORW:
		m.flags &= ~FZ_MAP_RW;
		want_args = -EINVAL;
		break;
	case FZ_BADIOAS:
		m.ioas_id = FZ_BAD_ID;
		want_args = -ENOENT;
		break;
	case FZ_LEN0:
		/* A dma-buf checks it first, a memfd after the permission */
		m.length = 0;
		if (obj->kind == FZ_DMABUF)
			want_fd = -EINVAL;
		else
			want_iova = -EINVAL;
		break;
	case FZ_OVERFLOW:
		m.start = -FZ_PAGE;
		m.length = 2 * FZ_PAGE;
		want_fd = -EOVERFLOW;
		break;
	case FZ_PASTEND:
		m.start = obj->size - FZ_PAGE * (1 + fz_rand(th, pages));
		m.length = obj->size - m.start + FZ_PAGE * (1 + fz_rand(th, 4));
		if (obj->kind == FZ_DMABUF)
			want_fd = -EINVAL;
		else
			want_pin = -EINVAL;
		break;
	case FZ_BADFD:
		m.fd = FZ_BAD_FD;
		want_fd = -EBADF;
		break;
	case FZ_UNALIGNED:
		m.iova += 1 + fz_rand(th, 255);
		want_iova = -EINVAL;
		break;
	case FZ_NOTSHMEM:
		junk = eventfd(0, EFD_CLOEXEC);
		m.fd = junk;
		want_fd = -EINVAL;
		break;
	}
	if (fixed && fault == FZ_PASTEND)
		m.iova = fz_pick_iova(th, m.length);
	if (obj && !want_fd && (m.flags & IOMMU_IOAS_MAP_WRITEABLE) &&
	    (obj->kind == FZ_DMABUF ? !obj->writable : (use_ro || obj->sealed)))
		want_fd = -EPERM;
	dmabuf = obj && obj->kind == FZ_DMABUF && !want_args && !want_fd;

	fz_op(th,
	      "map_file ioas %u(%u) %s fd %d start %#llx len %#llx iova %#llx flags %#x fault %s",
	      m.ioas, m.ioas_id, obj ? fz_obj_name(obj, name, sizeof(name)) :
	      "eventfd", m.fd, (unsigned long long)m.start,
	      (unsigned long long)m.length, (unsigned long long)m.iova,
	      m.flags, fz_fault_name[fault]);

	fz_range_lock(th, m.ioas, fixed, m.iova, m.length);
	if (!want_iova && fixed &&
	    fz_reg_overlap(ctx, m.ioas, m.iova, m.length, -2))
		want_iova = -EEXIST;
	want = want_args ?: want_fd ?: want_iova ?: want_pin;
	if (dmabuf) {
		g1 = be_obj_gen(obj);
		revoked_a = be_obj_revoked(obj);
	}
	ret = fz_map_file(ctx, &m);
	if (dmabuf) {
		g2 = be_obj_gen(obj);
		racy = g1 != g2 || (g1 & 1);
		if (!racy && revoked_a)
			want = -ENODEV;
	}
	if (racy)
		fz_expect2(th, ret, want, -ENODEV);
	else
		fz_expect(th, ret, want);
	if (!ret && obj)
		area = fz_reg_add(ctx, m.ioas, m.iova, m.length, obj, m.start,
				  m.flags & IOMMU_IOAS_MAP_WRITEABLE,
				  m.flags & IOMMU_IOAS_MAP_WRITEABLE, th->idx);
	if (!ret && !area)
		fz_unmap(ctx, m.ioas_id, m.iova, m.length, NULL);
	if (area)
		area->pages_id = __atomic_add_fetch(&ctx->next_pages_id, 1,
						    __ATOMIC_RELAXED);
	if (!ret && !fixed && fz_opt_trace)
		printf("#   -> iova %#llx\n", (unsigned long long)m.iova);
	if (!ret && !fixed &&
	    (m.iova < FZ_ALLOW_START || m.iova + m.length - 1 > FZ_ALLOW_LAST))
		fz_fail(ctx, th, "automatic IOVA %#llx outside the allowed range",
			(unsigned long long)m.iova);
	fz_range_unlock(th, m.ioas);
	if (junk >= 0)
		close(junk);
}

/* Map an object of @pool */
static void fz_op_map(struct fz_thread *th, struct fz_slot *pool)
{
	struct fz_slot *s;

	if (th->nr_areas >= FZ_AREAS_PER_THREAD)
		return;
	s = fz_slot_get(th, pool);
	if (!s) {
		fz_stat(th->ctx, &th->ctx->st.skips);
		return;
	}
	fz_do_map(th, s->obj);
	fz_slot_put(s);
}

/*
 * IOMMU_IOAS_UNMAP over areas of @th: one whole area, a range cutting it
 * (ENOENT, nothing unmapped), a run of several, an empty range of the
 * window, or a bad IOAS.
 */
static void fz_op_unmap(struct fz_thread *th)
{
	struct fz_ctx *ctx = th->ctx;
	struct fz_area *a, *in[FZ_MAX_AREAS], *t;
	uint64_t iova, len, got = 0, want_len = 0;
	unsigned int i = 0, n = 0, k, j, kind = fz_rand(th, 10);
	struct fz_ioas *io;
	uint32_t id;
	int want = 0, ret;
	bool cut = false;

	a = fz_my_area(th, &i);
	if (!a || kind == 9) {
		i = fz_rand(th, FZ_NIOAS);
		len = FZ_PAGE * (1 + fz_rand(th, 16));
		iova = fz_pick_iova(th, len);
	} else if (kind < 5) {
		iova = a->iova;
		len = a->len;
	} else if (kind < 7) {
		/* Cut the area: start or end inside it */
		if (a->len == FZ_PAGE) {
			iova = a->iova;
			len = a->len;
		} else if (fz_chance(th, 50)) {
			iova = a->iova + FZ_PAGE;
			len = a->len - FZ_PAGE;
		} else {
			iova = a->iova;
			len = a->len - FZ_PAGE;
		}
	} else {
		/* From the area on, up to 64M further */
		iova = a->iova;
		len = a->len + FZ_PAGE * fz_rand(th, 16384);
		if (iova + len - 1 > FZ_ALLOW_LAST + 0x40000000ULL)
			len = a->len;
	}
	id = ctx->ioas[i].id;
	if (fz_chance(th, 3)) {
		id = FZ_BAD_ID;
		want = -ENOENT;
	}
	fz_op(th, "unmap ioas %u(%u) iova %#llx len %#llx", i, id,
	      (unsigned long long)iova, (unsigned long long)len);

	fz_range_lock(th, i, true, iova, len);
	io = &ctx->ioas[i];
	/* Nobody else's area may be touched; ours in order of IOVA */
	if (fz_reg_overlap(ctx, i, iova, len, th->idx)) {
		fz_range_unlock(th, i);
		fz_stat(ctx, &ctx->st.skips);
		return;
	}
	pthread_mutex_lock(&io->reg_lock);
	for (k = 0; k < io->nr; k++)
		if (fz_overlaps(io->areas[k], iova, len))
			in[n++] = io->areas[k];
	pthread_mutex_unlock(&io->reg_lock);
	for (k = 1; k < n; k++)
		for (j = k; j > 0 && in[j - 1]->iova > in[j]->iova; j--)
			t = in[j], in[j] = in[j - 1], in[j - 1] = t;
	if (!want) {
		for (k = 0; k < n; k++) {
			if (in[k]->iova < iova ||
			    in[k]->iova + in[k]->len > iova + len) {
				cut = true;
				break;
			}
			want_len += in[k]->len;
		}
		n = k;
		if (cut || !want_len)
			want = -ENOENT;
	}
	ret = fz_unmap(ctx, id, iova, len, &got);
	fz_expect(th, ret, want);
	if (!ret && got != want_len)
		fz_fail(ctx, th, "unmapped %#llx bytes, want %#llx",
			(unsigned long long)got, (unsigned long long)want_len);
	/* Areas before a cut are gone too */
	if (want != -ENOENT || cut)
		for (k = 0; k < n && id != FZ_BAD_ID; k++)
			fz_reg_del(ctx, in[k]);
	fz_range_unlock(th, i);
}

/* IOMMU_IOAS_COPY of a slice of one of our areas */
static void fz_op_copy(struct fz_thread *th)
{
	struct fz_ctx *ctx = th->ctx;
	struct iommu_ioas_copy cmd = { .size = sizeof(cmd) };
	unsigned int si, di, k, fault = fz_rand(th, 12);
	uint64_t first, n, pages;
	int want = 0, want_iova = 0, ret;
	struct fz_area *a;
	bool fixed;

	if (th->nr_areas >= FZ_AREAS_PER_THREAD)
		return;
	a = fz_my_area(th, &si);
	if (!a)
		return;
	pages = a->len / FZ_PAGE;
	first = fz_rand(th, pages);
	n = 1 + fz_rand(th, pages - first);
	di = fz_rand(th, FZ_NIOAS);
	fixed = fz_chance(th, 60);
	cmd.src_ioas_id = ctx->ioas[si].id;
	cmd.dst_ioas_id = ctx->ioas[di].id;
	cmd.src_iova = a->iova + first * FZ_PAGE;
	cmd.length = n * FZ_PAGE;
	cmd.flags = fz_chance(th, 30) ? IOMMU_IOAS_MAP_READABLE : FZ_MAP_RW;
	if (fixed) {
		cmd.flags |= IOMMU_IOAS_MAP_FIXED_IOVA;
		cmd.dst_iova = fz_pick_iova(th, cmd.length);
	}
	if (fault == 0) {
		/* Not bit 16: MOCK_FLAGS_ACCESS_SYZ of IOMMUFD_TEST kernels */
		k = 3 + fz_rand(th, 28);
		cmd.flags |= 1U << (k == 16 ? 31 : k);
		want = -EOPNOTSUPP;
	} else if (fault == 1) {
		cmd.flags &= ~FZ_MAP_RW;
		want = -EINVAL;
	} else if (fault == 2) {
		cmd.src_ioas_id = FZ_BAD_ID;
		want = -ENOENT;
	} else if (fault == 3) {
		cmd.dst_ioas_id = FZ_BAD_ID;
		want = -ENOENT;
	} else if (fault == 4) {
		/* One page past the end of the area */
		cmd.length = a->len - first * FZ_PAGE + FZ_PAGE;
		want = -ENOENT;
	}
	fz_op(th, "copy ioas %u(%u) iova %#llx -> ioas %u(%u) iova %#llx len %#llx flags %#x",
	      si, cmd.src_ioas_id, (unsigned long long)cmd.src_iova, di,
	      cmd.dst_ioas_id, (unsigned long long)cmd.dst_iova,
	      (unsigned long long)cmd.length, cmd.flags);

	/*
	 * A source range past our area needs the source IOAS to itself;
	 * two IOAS locks are taken in index order.
	 */
	if (fault == 4 && si != di) {
		if (si < di) {
			fz_range_lock(th, si, false, 0, 0);
			fz_range_lock(th, di, fixed, cmd.dst_iova, cmd.length);
		} else {
			fz_range_lock(th, di, fixed, cmd.dst_iova, cmd.length);
			fz_range_lock(th, si, false, 0, 0);
		}
	} else {
		fz_range_lock(th, di, fixed && fault != 4, cmd.dst_iova,
			      cmd.length);
	}
	if (fault == 4 &&
	    fz_reg_overlap(ctx, si, a->iova + a->len, FZ_PAGE, -2)) {
		/* Something is mapped there: not the case we wanted */
		fz_stat(ctx, &ctx->st.skips);
		goto out;
	}
	/* The IOVA is checked before the permission of each area */
	if (fixed && fz_reg_overlap(ctx, di, cmd.dst_iova, cmd.length, -2))
		want_iova = -EEXIST;
	if ((cmd.flags & IOMMU_IOAS_MAP_WRITEABLE) && !a->pages_write &&
	    !want_iova)
		want_iova = -EPERM;
	want = want ?: want_iova;
	ret = fz_ioctl(ctx->iommufd, IOMMU_IOAS_COPY, &cmd);
	fz_expect(th, ret, want);
	if (!ret && !fixed && fz_opt_trace)
		printf("#   -> iova %#llx\n", (unsigned long long)cmd.dst_iova);
	if (!ret) {
		struct fz_area *c;

		c = fz_reg_add(ctx, di, cmd.dst_iova, cmd.length, a->obj,
			       a->off + first * FZ_PAGE,
			       cmd.flags & IOMMU_IOAS_MAP_WRITEABLE,
			       a->pages_write, th->idx);
		if (c)
			c->pages_id = a->pages_id;
		else
			fz_unmap(ctx, cmd.dst_ioas_id, cmd.dst_iova,
				 cmd.length, NULL);
	}
out:
	fz_range_unlock(th, di);
	if (fault == 4 && si != di)
		fz_range_unlock(th, si);
}

/* A new memfd in a free slot: shmem, or hugetlb when available */
static void fz_op_memfd_new(struct fz_thread *th)
{
	struct fz_ctx *ctx = th->ctx;
	struct fz_slot *s = fz_slot_excl(th, ctx->memfds);
	bool huge = ctx->have_hugetlb && !fz_opt_no_hugetlb &&
		    fz_chance(th, 25);
	struct fz_obj *obj;
	char path[64];

	if (!s)
		return;
	fz_slot_clear(s);
	obj = fz_obj_new(ctx, FZ_MEMFD);
	if (!obj)
		goto out;
	obj->hugetlb = huge;
	obj->size = huge ? (2ULL << 20) * (1 + fz_rand(th, 2)) :
			   FZ_PAGE * (1 + fz_rand(th, 64));
	obj->sealed = fz_chance(th, 10);
	fz_op(th, "memfd_new %s#%u size %#llx%s", huge ? "hugetlb" : "shmem",
	      obj->id, (unsigned long long)obj->size,
	      obj->sealed ? " sealed" : "");
	obj->fd = memfd_create("fuzz", MFD_CLOEXEC | MFD_ALLOW_SEALING |
				       (huge ? MFD_HUGETLB : 0));
	if (obj->fd < 0 || ftruncate(obj->fd, obj->size)) {
		fz_fail(ctx, th, "memfd: %s", strerror(errno));
		fz_obj_put(obj);
		goto out;
	}
	obj->map = mmap(NULL, obj->size, PROT_READ | PROT_WRITE, MAP_SHARED,
			obj->fd, 0);
	if (obj->map == MAP_FAILED) {
		obj->map = NULL;
		fz_fail(ctx, th, "mmap memfd: %s", strerror(errno));
		fz_obj_put(obj);
		goto out;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", obj->fd);
	obj->rofd = open(path, O_RDONLY | O_CLOEXEC);
	if (obj->sealed && fcntl(obj->fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE)) {
		fz_fail(ctx, th, "seal: %s", strerror(errno));
		fz_obj_put(obj);
		goto out;
	}
	s->obj = obj;
	fz_stat(ctx, &ctx->st.ok);
out:
	fz_slot_put(s);
}

/* Close the fds of an object; its areas keep the file */
static void fz_op_close(struct fz_thread *th, struct fz_slot *pool)
{
	struct fz_slot *s = fz_slot_excl(th, pool);
	char name[32];

	if (!s)
		return;
	if (s->obj) {
		fz_op(th, "close %s", fz_obj_name(s->obj, name, sizeof(name)));
		fz_slot_clear(s);
		fz_stat(th->ctx, &th->ctx->st.ok);
	}
	fz_slot_put(s);
}

static void fz_thread_op(struct fz_thread *th)
{
	unsigned int r = fz_rand(th, 100);

	if (r < 8)
		fz_op_memfd_new(th);
	else if (r < 11)
		fz_op_close(th, th->ctx->memfds);
	else if (r < 24)
		fz_op_map(th, th->ctx->memfds);
	else if (r < 40)
		fz_op_map(th, th->ctx->dmabufs);
	else if (r < 56)
		fz_op_unmap(th);
	else if (r < 64)
		fz_op_copy(th);
	else
		be_op(th);
}

/* --- invariants --- */

/*
 * The importer's dma-buf areas (IOMMU_TEST_OP_DMABUF_AREAS) against the
 * model: as many as the model has, each with the IOVA range it has in its
 * IOAS, revoked iff the model says so, no restore errors.
 */
static void fz_check_areas(struct fz_ctx *ctx)
{
	struct p2p_areas all, a;
	unsigned int i, k, want = 0;

	all = p2p_areas(ctx->iommufd);
	if (all.nr < 0) {
		fz_fail(ctx, NULL, "IOMMU_TEST_OP_DMABUF_AREAS: %s",
			strerror(errno));
		return;
	}
	for (i = 0; i < FZ_NIOAS; i++) {
		for (k = 0; k < ctx->ioas[i].nr; k++) {
			struct fz_area *m = ctx->ioas[i].areas[k];
			uint64_t last = m->iova + m->len - 1;
			bool rev;

			if (m->obj->kind != FZ_DMABUF)
				continue;
			want++;
			a = p2p_area_at(ctx->iommufd, ctx->ioas[i].id, m->iova);
			if (!a.found || a.first != m->iova || a.last != last) {
				fz_fail(ctx, NULL,
					"area ioas %u %#lx-%#lx of the model: the importer has %#lx-%#lx",
					ctx->ioas[i].id, (unsigned long)m->iova,
					(unsigned long)last,
					(unsigned long)a.first,
					(unsigned long)a.last);
				continue;
			}
			rev = be_obj_revoked(m->obj);
			if (a.is_revoked != rev)
				fz_fail(ctx, NULL,
					"area %#lx-%#lx of %s is %s, model says %s",
					(unsigned long)m->iova,
					(unsigned long)last, "dmabuf",
					a.is_revoked ? "revoked" : "mapped",
					rev ? "revoked" : "mapped");
			if (a.restore_errors)
				fz_fail(ctx, NULL,
					"area %#lx-%#lx: %ld restore errors",
					(unsigned long)m->iova,
					(unsigned long)last, a.restore_errors);
		}
	}
	if (all.nr != (int)want)
		fz_fail(ctx, NULL, "%d dma-buf areas, model has %u", all.nr,
			want);
}

static void fz_check(struct fz_ctx *ctx)
{
	if (ctx->failed)
		return;
	fz_check_areas(ctx);
	if (!ctx->failed)
		be_check(ctx);
	ctx->st.checks++;
}

/* --- running --- */
static void *fz_thread_main(void *arg)
{
	struct fz_thread *th = arg;
	struct fz_ctx *ctx = th->ctx;

	while (!fz_stopped(ctx) && (!th->budget || th->ops < th->budget)) {
		pthread_rwlock_rdlock(&ctx->quiesce);
		fz_thread_op(th);
		pthread_rwlock_unlock(&ctx->quiesce);
		th->ops++;
		fz_stat(ctx, &ctx->st.ops);
	}
	return NULL;
}

static double fz_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int fz_ioas_alloc(struct fz_ctx *ctx, struct fz_ioas *io)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_iova_range r = {
		.start = FZ_ALLOW_START, .last = FZ_ALLOW_LAST,
	};
	struct iommu_ioas_allow_iovas allow = {
		.size = sizeof(allow), .num_iovas = 1,
		.allowed_iovas = (uintptr_t)&r,
	};

	if (ioctl(ctx->iommufd, IOMMU_IOAS_ALLOC, &alloc))
		return -1;
	io->id = alloc.out_ioas_id;
	allow.ioas_id = io->id;
	return ioctl(ctx->iommufd, IOMMU_IOAS_ALLOW_IOVAS, &allow);
}

static void fz_ctx_init(struct fz_ctx *ctx, struct __test_metadata *md,
			uint64_t seed, unsigned int nthreads, bool serial)
{
	pthread_rwlockattr_t attr;
	unsigned int i;

	memset(ctx, 0, sizeof(*ctx));
	ctx->md = md;
	ctx->seed = seed;
	ctx->nthreads = nthreads;
	ctx->serial = serial;
	ctx->iommufd = -1;
	ctx->check_rng = seed ^ 0xc4ec4ec4ec4ec4ecULL;
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&ctx->quiesce, &attr);
	pthread_rwlockattr_destroy(&attr);
	pthread_mutex_init(&ctx->fail_lock, NULL);
	pthread_mutex_init(&ctx->stats_lock, NULL);
	for (i = 0; i < FZ_NIOAS; i++) {
		pthread_rwlock_init(&ctx->ioas[i].range_lock, NULL);
		pthread_mutex_init(&ctx->ioas[i].reg_lock, NULL);
	}
	for (i = 0; i < FZ_POOL; i++) {
		pthread_rwlock_init(&ctx->memfds[i].lock, NULL);
		pthread_rwlock_init(&ctx->dmabufs[i].lock, NULL);
	}
	for (i = 0; i < nthreads; i++) {
		ctx->th[i].ctx = ctx;
		ctx->th[i].idx = i;
		ctx->th[i].rng = seed ^ (0x9e3779b97f4a7c15ULL * (i + 1));
		fz_next(&ctx->th[i].rng);
	}
}

/* Free 2M huge pages, or 0 */
static int fz_free_hugepages(void)
{
	FILE *f = fopen("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "r");
	int n = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%d", &n) != 1)
		n = 0;
	fclose(f);
	return n;
}

/* The importer's dma-buf areas, polled until none is left for up to 2 s */
static int fz_wait_no_areas(void)
{
	int i, n = 0;

	for (i = 0; i < 40; i++) {
		n = p2p_areas_global().nr;
		if (n <= 0)
			return n;
		p2p_sleep_ms(50);
	}
	return n;
}

/* Lines of @path that contain @needle, polled until 0 for up to 2 s */
static int fz_wait_gone(const char *path, const char *needle)
{
	int i, n = 0;

	for (i = 0; i < 40; i++) {
		n = p2p_count_lines(path, needle);
		if (n <= 0)
			return n;
		p2p_sleep_ms(50);
	}
	return n;
}

/* Close every object and the iommufd; nothing may be left */
static void fz_teardown(struct fz_ctx *ctx)
{
	unsigned int i, k;
	int n;

	for (i = 0; i < FZ_NIOAS; i++) {
		while (ctx->ioas[i].nr) {
			struct fz_area *a = ctx->ioas[i].areas[0];

			fz_reg_del(ctx, a);
		}
	}
	for (k = 0; k < FZ_POOL; k++) {
		fz_slot_clear(&ctx->memfds[k]);
		fz_slot_clear(&ctx->dmabufs[k]);
	}
	be_teardown(ctx);
	if (ctx->iommufd >= 0)
		close(ctx->iommufd);
	ctx->iommufd = -1;
	n = fz_wait_no_areas();
	if (n)
		fz_fail(ctx, NULL, "%d dma-buf areas left after close", n);
	be_after_close(ctx);
}

/*
 * One fuzzing run: @ops operations in total (0: until @seconds passed).
 * Fails the test on the first unexpected result or broken invariant.
 */
static void fz_run(struct __test_metadata *_metadata, uint64_t seed,
		   unsigned int nthreads, bool serial, uint64_t ops,
		   unsigned int seconds)
{
	static struct fz_ctx ctx_storage;
	struct fz_ctx *ctx = &ctx_storage;
	uint64_t last_check = 0, k;
	double t0, t_end, dt;
	unsigned int i;
	int ret;

	if (nthreads > FZ_MAX_THREADS)
		nthreads = FZ_MAX_THREADS;
	fz_ctx_init(ctx, _metadata, seed, nthreads, serial);
	printf("# fuzz: seed %#llx threads %u%s %s %llu\n",
	       (unsigned long long)seed, nthreads, serial ? " serial" : "",
	       ops ? "ops" : "seconds",
	       (unsigned long long)(ops ? ops : seconds));
	fflush(stdout);
	ctx->iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, ctx->iommufd);
	for (i = 0; i < FZ_NIOAS; i++)
		ASSERT_EQ(0, fz_ioas_alloc(ctx, &ctx->ioas[i]));
	ret = be_setup(ctx);
	if (ret == -ENODEV) {
		be_teardown(ctx);
		close(ctx->iommufd);
		SKIP(return, "the rig's devices for this fuzzer are missing");
	}
	ASSERT_EQ(0, ret) {
		TH_LOG("%s", ctx->fail_msg);
	}

	t0 = fz_now();
	t_end = t0 + seconds;
	if (serial) {
		for (k = 0; !ctx->failed && (ops ? k < ops : fz_now() < t_end);
		     k++) {
			struct fz_thread *th = &ctx->th[k % nthreads];

			fz_thread_op(th);
			th->ops++;
			ctx->st.ops++;
			if (ctx->st.ops - last_check >= FZ_CHECK_EVERY) {
				fz_check(ctx);
				last_check = ctx->st.ops;
			}
		}
	} else {
		for (i = 0; i < nthreads; i++) {
			ctx->th[i].budget = ops ? (ops + nthreads - 1) / nthreads : 0;
			ASSERT_EQ(0, pthread_create(&ctx->th[i].tid, NULL,
						    fz_thread_main,
						    &ctx->th[i]));
		}
		while (!fz_stopped(ctx)) {
			uint64_t done;

			p2p_sleep_ms(20);
			if (!ops && fz_now() >= t_end)
				break;
			pthread_mutex_lock(&ctx->stats_lock);
			done = ctx->st.ops;
			pthread_mutex_unlock(&ctx->stats_lock);
			if (ops && done >= ops)
				break;
			if (done - last_check < FZ_CHECK_EVERY)
				continue;
			pthread_rwlock_wrlock(&ctx->quiesce);
			fz_check(ctx);
			pthread_rwlock_unlock(&ctx->quiesce);
			last_check = done;
		}
		__atomic_store_n(&ctx->stop, 1, __ATOMIC_SEQ_CST);
		for (i = 0; i < nthreads; i++)
			pthread_join(ctx->th[i].tid, NULL);
	}
	fz_check(ctx);
	dt = fz_now() - t0;
	fz_teardown(ctx);
	printf("# fuzz: seed %#llx: %llu ops (%llu ok, %llu expected errors, ",
	       (unsigned long long)seed, (unsigned long long)ctx->st.ops,
	       (unsigned long long)ctx->st.ok, (unsigned long long)ctx->st.errs);
	printf("%llu skipped), %llu checks, %llu IOPTE checks, %llu DMA checks in %.1f s\n",
	       (unsigned long long)ctx->st.skips,
	       (unsigned long long)ctx->st.checks,
	       (unsigned long long)ctx->st.iopte_checks,
	       (unsigned long long)ctx->st.dma_checks, dt);
	printf("P2P-FUZZ-STATS %s seed=%#llx ops=%llu checks=%llu dma=%llu ",
	       FUZZ_NAME, (unsigned long long)seed,
	       (unsigned long long)ctx->st.ops,
	       (unsigned long long)ctx->st.checks,
	       (unsigned long long)ctx->st.dma_checks);
	printf("seconds=%.0f result=%s\n", dt, ctx->failed ? "fail" : "pass");
	fflush(stdout);
	ASSERT_EQ(0, ctx->failed) {
		TH_LOG("%s", ctx->fail_msg);
		TH_LOG("replay: %s --seed=%#llx --threads=%u --serial --ops=%llu",
		       FUZZ_NAME, (unsigned long long)seed, nthreads,
		       (unsigned long long)ctx->st.ops);
	}
}

/* Seeds that found something, replayed on every run */
struct fz_regress {
	uint64_t seed;
	unsigned int threads;
	bool serial;
	uint64_t ops;
};

/* Long options of the fuzzer; the rest goes to the harness */
static void fz_parse_args(int *argc, char **argv)
{
	int i, o = 1;

	for (i = 1; i < *argc; i++) {
		const char *a = argv[i];
		const char *v = strchr(a, '=');

		if (!strncmp(a, "--seed=", 7)) {
			fz_opt_seed = strtoull(v + 1, NULL, 0);
			fz_opt_seed_set = true;
		} else if (!strncmp(a, "--seconds=", 10)) {
			fz_opt_seconds = strtoul(v + 1, NULL, 0);
		} else if (!strncmp(a, "--ops=", 6)) {
			fz_opt_ops = strtoull(v + 1, NULL, 0);
		} else if (!strncmp(a, "--threads=", 10)) {
			fz_opt_threads = strtoul(v + 1, NULL, 0);
			if (!fz_opt_threads)
				fz_opt_threads = 1;
		} else if (!strcmp(a, "--serial")) {
			fz_opt_serial = true;
		} else if (!strcmp(a, "--trace")) {
			fz_opt_trace = true;
		} else if (!strcmp(a, "--no-hugetlb")) {
			fz_opt_no_hugetlb = true;
		} else {
			argv[o++] = argv[i];
		}
	}
	argv[o] = NULL;
	*argc = o;
	if (!fz_opt_seed_set) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		fz_opt_seed = ((uint64_t)ts.tv_sec << 20) ^ ts.tv_nsec ^
			      ((uint64_t)getpid() << 40);
	}
}
