/*
 * metrics — simple per-period returns r_i = e_i / e_(i-1) - 1 of the equity
 * stream (one point per distinct event time; e_0 is the start equity).
 * Sharpe = mean(r) / sd(r) * sqrt(P), sd with n - 1 (Welford, stable over
 * millions of tiny returns); Sortino = mean(r) / sqrt(sum(min(r, 0)^2) / n)
 * * sqrt(P); both 0 when the denominator is 0. Max drawdown = max over t of
 * (peak_t - e_t) / peak_t, a fraction. P comes from the median time step,
 * taken over an evenly strided sample of at most METRICS_SPACINGS steps.
 * CAGR over the event time from the first point to the last (365.25-day
 * years); volatility sd(r) * sqrt(P); Calmar CAGR / max drawdown; exposure
 * the share of points with a position held; a drawdown stretch runs from a
 * running peak (the point at it, or the start) to the first point back at
 * it, or to the last point when it never is.
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
	a->first_t = a->peak_t = INT64_MIN;
	a->long_start = a->long_end = INT64_MIN;
	a->mdd_days = NAN;
}

#define DAY_NS 86400e9

/* A drawdown stretch ended at (t, i): the longest so far? the deepest? */
static void close_stretch(struct metrics_acc *a, int64_t t, long i)
{
	int64_t dur = t - a->peak_t;
	if (a->long_start == INT64_MIN || dur > a->long_ns) {
		a->long_ns = dur;
		a->long_start = a->peak_t;
		a->long_end = t;
		a->long_points = i - a->peak_i;
	}
	if (a->dd_depth >= a->mdd)
		a->mdd_days = (double)dur / DAY_NS;
	a->dd_depth = 0;
}

/* Before the peak moves: the stretch under way, its depth, its end. */
static void track_stretch(struct metrics_acc *a, int64_t t, double e)
{
	long i = (long)a->n;
	if (a->first_t == INT64_MIN)
		a->first_t = a->peak_t = t; /* the start equity has no time: the first point's */
	if (e >= a->peak) {
		if (a->dd_depth > 0)
			close_stretch(a, t, i);
		a->peak_t = t;
		a->peak_i = i;
	} else if (a->peak > 0 && (a->peak - e) / a->peak > a->dd_depth) {
		a->dd_depth = (a->peak - e) / a->peak;
	}
}

void metrics_add_held(struct metrics_acc *a, int64_t t, double e, int held)
{
	a->held_points += held != 0;
	metrics_add(a, t, e);
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
	track_stretch(a, t, e);
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
	m->volatility = sd * ann;
	double years = a->n > 1 ? (double)(a->last_t - a->first_t) / (365.25 * DAY_NS) : 0;
	m->cagr = NAN;
	if (years > 0 && a->start > 0)
		m->cagr = m->final_equity > 0 ? pow(m->final_equity / a->start, 1 / years) - 1 : -1;
	m->calmar = a->mdd > 0 && isfinite(m->cagr) ? m->cagr / a->mdd : NAN;
	m->exposure = a->n ? (double)a->held_points / (double)a->n : NAN;
	/* the stretch still under way ends at the last point */
	struct metrics_acc end = *a;
	if (end.dd_depth > 0)
		close_stretch(&end, end.last_t, (long)end.n);
	m->longest_dd_start = end.long_start;
	m->longest_dd_end = end.long_end;
	m->longest_dd_days = end.long_start != INT64_MIN ? (double)end.long_ns / DAY_NS : 0;
	m->longest_dd_points = end.long_points;
	m->max_dd_days = a->mdd > 0 ? end.mdd_days : 0;
}

void metrics_trade_stats(const struct metrics_trips *t, struct metrics_trade_stats *out)
{
	out->profit_factor =
	    t->losses > 0 && t->gross_loss < 0 ? t->gross_win / -t->gross_loss : NAN;
	out->expectancy = t->trips > 0 ? (t->gross_win + t->gross_loss) / (double)t->trips : NAN;
	out->avg_win = t->wins > 0 ? t->gross_win / (double)t->wins : NAN;
	out->avg_loss = t->losses > 0 ? t->gross_loss / (double)t->losses : NAN;
}

void metrics_free(struct metrics_acc *a)
{
	free(a->spacing);
	a->spacing = NULL;
}
