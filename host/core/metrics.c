/*
 * metrics — simple per-period returns r_i = e_i / e_(i-1) - 1 of the equity
 * stream (one point per distinct event time; e_0 is the start equity).
 * Sharpe = mean(r) / sd(r) * sqrt(P), sd with n - 1 (Welford, stable over
 * millions of tiny returns); Sortino = mean(r) / sqrt(sum(min(r, 0)^2) / n)
 * * sqrt(P); both 0 when the denominator is 0. Max drawdown = max over t of
 * (peak_t - e_t) / peak_t, a fraction. P comes from the median time step,
 * taken over an evenly strided sample of at most METRICS_SPACINGS steps.
 */
#include "metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void metrics_init(struct metrics_acc *a, double start)
{
	memset(a, 0, sizeof *a);
	a->start = a->prev = a->peak = start;
	a->last_t = INT64_MIN;
	a->stride = 1;
}

static void add_spacing(struct metrics_acc *a, int64_t d)
{
	if (!a->spacing && !(a->spacing = malloc(METRICS_SPACINGS * sizeof *a->spacing)))
		return;
	uint64_t i = a->steps++;
	if (i % a->stride != 0)
		return;
	if (a->nspacing == METRICS_SPACINGS) {
		for (size_t k = 0; k < METRICS_SPACINGS / 2; k++)
			a->spacing[k] = a->spacing[2 * k];
		a->nspacing = METRICS_SPACINGS / 2;
		a->stride *= 2;
		if (i % a->stride != 0)
			return;
	}
	a->spacing[a->nspacing++] = d;
}

void metrics_add(struct metrics_acc *a, int64_t t, double e)
{
	double r = a->prev != 0 ? e / a->prev - 1 : 0;
	a->prev = e;
	a->n++;
	double delta = r - a->mean;
	a->mean += delta / (double)a->n;
	a->m2 += delta * (r - a->mean);
	if (r < 0)
		a->down += r * r;
	if (e > a->peak)
		a->peak = e;
	if (a->peak > 0 && (a->peak - e) / a->peak > a->mdd)
		a->mdd = (a->peak - e) / a->peak;
	if (a->last_t != INT64_MIN)
		add_spacing(a, t - a->last_t);
	a->last_t = t;
}

static int cmp_i64(const void *x, const void *y)
{
	int64_t p = *(const int64_t *)x, q = *(const int64_t *)y;
	return (p > q) - (p < q);
}

/* The k-th smallest of d[0..n), as d[k] after a sort would hold it, in O(n):
 * a three-way partition (time steps repeat: a day, a weekend, a bar) round
 * a median of three; after 64 rounds that did not finish, the rest is
 * sorted, so an unlucky input costs no more than the qsort it replaced.
 * A backtest's time steps are mostly equal, and the sort was 3 % of a
 * sweep's backtest. */
static int64_t select_k(int64_t *d, size_t n, size_t k)
{
	size_t lo = 0, hi = n; /* k in [lo, hi) */
	for (int round = 0; hi - lo > 1; round++) {
		if (round == 64) {
			qsort(d + lo, hi - lo, sizeof *d, cmp_i64);
			break;
		}
		int64_t a = d[lo], b = d[lo + (hi - lo) / 2], c = d[hi - 1];
		int64_t p = a < b ? (b < c ? b : a < c ? c : a) : (a < c ? a : b < c ? c : b);
		size_t lt = lo, i = lo, gt = hi; /* [lo,lt) < p, [lt,i) == p, [gt,hi) > p */
		while (i < gt) {
			int64_t v = d[i];
			if (v < p) {
				d[i++] = d[lt];
				d[lt++] = v;
			} else if (v > p) {
				d[i] = d[--gt];
				d[gt] = v;
			} else {
				i++;
			}
		}
		if (k < lt)
			hi = lt;
		else if (k >= gt)
			lo = gt;
		else
			return p;
	}
	return d[k];
}

double metrics_periods_per_year(double med)
{
	if (med <= 0)
		return 252;
	if (med >= 25 * 86400.0)
		return 12;
	if (med >= 6 * 86400.0)
		return 52;
	if (med >= 20 * 3600.0)
		return 252;
	return 252.0 * 23400.0 / med;
}

void metrics_finish(const struct metrics_acc *a, struct metrics *m)
{
	memset(m, 0, sizeof *m);
	m->start_equity = a->start;
	m->final_equity = a->n ? a->prev : a->start;
	m->total_return = a->start != 0 ? m->final_equity / a->start - 1 : 0;
	if (a->nspacing > 0) {
		int64_t *d = malloc(a->nspacing * sizeof *d);
		if (d) {
			memcpy(d, a->spacing, a->nspacing * sizeof *d);
			m->median_spacing_s =
			    (double)select_k(d, a->nspacing, (a->nspacing - 1) / 2) / 1e9;
			free(d);
		}
	}
	m->periods_per_year = metrics_periods_per_year(m->median_spacing_s);
	double sd = a->n > 1 ? sqrt(a->m2 / (double)(a->n - 1)) : 0;
	double dd = a->n > 0 ? sqrt(a->down / (double)a->n) : 0;
	double ann = sqrt(m->periods_per_year);
	m->sharpe = sd > 0 ? a->mean / sd * ann : 0;
	m->sortino = dd > 0 ? a->mean / dd * ann : 0;
	m->max_drawdown = a->mdd;
}

void metrics_free(struct metrics_acc *a)
{
	free(a->spacing);
	a->spacing = NULL;
}
