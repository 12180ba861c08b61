/*
 * metrics — performance figures from an equity series (see README,
 * "How each metric is computed").
 */
#ifndef GANTRY_METRICS_H
#define GANTRY_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct metrics {
	double start_equity, final_equity, total_return;
	double sharpe, sortino, max_drawdown;
	double periods_per_year;
	double median_spacing_s;
};

/* periods per year from the median spacing of the times (ns): >= ~1 day:
 * 252 trading days (weekly 52, monthly 12); intraday: 252 * 23400 / spacing. */
double metrics_periods_per_year(const int64_t *t, size_t n, double *median_spacing_s);
void metrics_compute(const int64_t *t, const double *equity, size_t n, double start_equity,
		     struct metrics *m);

#endif
