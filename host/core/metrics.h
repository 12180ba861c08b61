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
	/* NAN where undefined (summary.json: null); docs/report.md has each rule */
	double cagr;	   /* (final / start)^(1 / years) - 1, years of 365.25 days */
	double volatility; /* sd(r) * sqrt(P) */
	double calmar;	   /* cagr / max_drawdown */
	double exposure;   /* fraction of equity points with a position held */
	/* the longest stretch below a running peak: from the peak to the point
	 * back at it (or the last point), in days of event time and points */
	double longest_dd_days;
	long longest_dd_points;
	int64_t longest_dd_start, longest_dd_end; /* INT64_MIN: none */
	double max_dd_days; /* the same for the stretch holding the deepest drawdown */
};

/* Round trips (flat to flat) and what they made, net of fees. */
struct metrics_trips {
	long trips, wins, losses; /* a trip of exactly 0 is neither */
	double gross_win, gross_loss; /* sums of winning P&L, of losing P&L (<= 0) */
};

/* From trips: profit factor = gross_win / -gross_loss (NAN with no losing
 * trip), expectancy = net / trips, average win and loss (NAN with none). */
struct metrics_trade_stats {
	double profit_factor, expectancy, avg_win, avg_loss;
};
void metrics_trade_stats(const struct metrics_trips *t, struct metrics_trade_stats *out);

#define METRICS_SPACINGS 65536

struct metrics_acc {
	double start, prev, peak, mdd, mean, m2, down;
	size_t n;
	int64_t last_t;
	int64_t *spacing; /* an evenly strided sample of the time steps */
	size_t nspacing;
	uint64_t stride, steps;
	int64_t first_t;
	long held_points;
	/* the drawdown stretch under way: the peak's time and point index, its depth */
	int64_t peak_t;
	long peak_i;
	double dd_depth, mdd_days;
	int64_t long_ns, long_start, long_end;
	long long_points;
};

void metrics_init(struct metrics_acc *a, double start_equity);
void metrics_add(struct metrics_acc *a, int64_t t, double equity);
/* metrics_add, and whether a position is held at that point (exposure). */
void metrics_add_held(struct metrics_acc *a, int64_t t, double equity, int held);
void metrics_finish(const struct metrics_acc *a, struct metrics *m);
void metrics_free(struct metrics_acc *a);

/* Periods per year from the median time step (s): >= 25 days 12, >= 6 days
 * 52, >= 20 h 252, else 252 * 23400 / step (a 6.5-hour trading day). */
double metrics_periods_per_year(double median_spacing_s);

#endif
