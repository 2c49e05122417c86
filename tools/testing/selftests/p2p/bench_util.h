/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Output of the benchmarks (bench_map_file.c, bench_bar.c). The same static
 * binaries run on this tree's kernel and on an upstream one; whatever a
 * kernel lacks is detected at run time and reported as an "n/a (reason)"
 * row, never skipped. Each timed sample is one line
 *
 *	P2P-BENCH,<row>,<unit>,<value>
 *
 * and a row that cannot be measured is
 *
 *	P2P-BENCH,<row>,<unit>,n/a (<reason>)
 *
 * so that the host (scripts/bench-report.py) can take medians over the
 * samples of several VM boots. A row name has no comma. <unit> is GiB/s (higher is better) or ms
 * (lower is better). A human-readable line with this run's median follows
 * each row.
 */
#ifndef __P2P_BENCH_UTIL_H
#define __P2P_BENCH_UTIL_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_MAX_REPS	64

static inline double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline const char *bench_errname(int err)
{
	switch (err) {
	case ENOTTY: return "ENOTTY";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EFAULT: return "EFAULT";
	case EINVAL: return "EINVAL";
	case ENODEV: return "ENODEV";
	case ENOENT: return "ENOENT";
	case ENOSPC: return "ENOSPC";
	case ENOMEM: return "ENOMEM";
	case EPERM: return "EPERM";
	case EBUSY: return "EBUSY";
	case ETIMEDOUT: return "ETIMEDOUT";
	default: return "error";
	}
}

/* A row that this kernel cannot measure, with why */
static inline void bench_na(const char *row, const char *unit, const char *why)
{
	printf("P2P-BENCH,%s,%s,n/a (%s)\n", row, unit, why);
	printf("# %-52s %12s  n/a (%s)\n", row, unit, why);
	fflush(stdout);
}

/* The same, for a failed call: "<ENAME>: <strerror>[, <what>]" */
static inline void bench_na_err(const char *row, const char *unit, int err,
				const char *what)
{
	char why[160];

	snprintf(why, sizeof(why), "%s: %s%s%s", bench_errname(err),
		 strerror(err), what ? ", " : "", what ? what : "");
	bench_na(row, unit, why);
}

static int bench_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Print the @n samples of @row and this run's median */
static inline void bench_row(const char *row, const char *unit,
			     const double *v, int n)
{
	double s[BENCH_MAX_REPS], med;
	int i;

	if (n <= 0)
		return;
	for (i = 0; i < n; i++) {
		printf("P2P-BENCH,%s,%s,%.6g\n", row, unit, v[i]);
		s[i] = v[i];
	}
	qsort(s, n, sizeof(s[0]), bench_cmp);
	med = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	printf("# %-52s %12s %12.3f  (median of %d)\n", row, unit, med, n);
	fflush(stdout);
}

/* GiB/s of @bytes in @secs */
static inline double bench_gibps(double bytes, double secs)
{
	return secs > 0 ? bytes / secs / (1ULL << 30) : 0;
}

static inline int bench_reps(int argc, char **argv)
{
	int reps = argc > 1 ? atoi(argv[1]) : 5;

	if (reps < 1)
		reps = 1;
	return reps > BENCH_MAX_REPS ? BENCH_MAX_REPS : reps;
}

#endif
