/*
 * metrics — simple per-period returns r_i = e_i / e_(i-1) - 1 of the equity
 * series (one point per distinct event time, the start equity first).
 * Sharpe = mean(r) / sd(r) * sqrt(P), sd with n - 1; Sortino = mean(r) /
 * sqrt(sum(min(r, 0)^2) / n) * sqrt(P); both 0 when the denominator is 0.
 * Max drawdown = max over t of (peak_t - e_t) / peak_t, a fraction.
 */
#include "metrics.h"

#include <math.h>
#include <stdlib.h>

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

double metrics_periods_per_year(const int64_t *t, size_t n, double *median_spacing_s)
{
	*median_spacing_s = 0;
	if (n < 2)
		return 252;
	int64_t *d = malloc((n - 1) * sizeof *d);
	if (!d)
		return 252;
	for (size_t i = 1; i < n; i++)
		d[i - 1] = t[i] - t[i - 1];
	qsort(d, n - 1, sizeof *d, cmp_i64);
	double med = (double)d[(n - 1) / 2] / 1e9;
	free(d);
	*median_spacing_s = med;
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

void metrics_compute(const int64_t *t, const double *e, size_t n, double start, struct metrics *m)
{
	m->start_equity = start;
	m->final_equity = n ? e[n - 1] : start;
	m->total_return = start != 0 ? m->final_equity / start - 1 : 0;
	m->periods_per_year = metrics_periods_per_year(t, n, &m->median_spacing_s);
	double down = 0, prev = start, peak = start, mdd = 0;
	/* Welford for the variance: stable over millions of tiny returns */
	double mean = 0, m2 = 0;
	for (size_t i = 0; i < n; i++) {
		double r = prev != 0 ? e[i] / prev - 1 : 0;
		prev = e[i];
		double delta = r - mean;
		mean += delta / (double)(i + 1);
		m2 += delta * (r - mean);
		if (r < 0)
			down += r * r;
		if (e[i] > peak)
			peak = e[i];
		if (peak > 0 && (peak - e[i]) / peak > mdd)
			mdd = (peak - e[i]) / peak;
	}
	double sd = n > 1 ? sqrt(m2 / (double)(n - 1)) : 0;
	double dd = n > 0 ? sqrt(down / (double)n) : 0;
	double ann = sqrt(m->periods_per_year);
	m->sharpe = sd > 0 ? mean / sd * ann : 0;
	m->sortino = dd > 0 ? mean / dd * ann : 0;
	m->max_drawdown = mdd;
}
