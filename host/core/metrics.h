/*
 * metrics — performance figures from the equity stream, computed as it
 * goes (fixed memory however long the run; see README, "How each metric is
 * computed").
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

#define METRICS_SPACINGS 65536

struct metrics_acc {
	double start, prev, peak, mdd, mean, m2, down;
	size_t n;
	int64_t last_t;
	int64_t *spacing; /* an evenly strided sample of the time steps */
	size_t nspacing;
	uint64_t stride, steps;
};

void metrics_init(struct metrics_acc *a, double start_equity);
void metrics_add(struct metrics_acc *a, int64_t t, double equity);
void metrics_finish(const struct metrics_acc *a, struct metrics *m);
void metrics_free(struct metrics_acc *a);

/* Periods per year from the median time step (s): >= 25 days 12, >= 6 days
 * 52, >= 20 h 252, else 252 * 23400 / step (a 6.5-hour trading day). */
double metrics_periods_per_year(double median_spacing_s);

#endif
