/*
 * test_metrics — Sharpe, Sortino, max drawdown and total return of a small
 * equity stream worked by hand, the zero-variance convention, and the
 * periods per year read from the median time step.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "metrics.h"

#define DAY (86400LL * 1000000000LL)
#define MIN (60LL * 1000000000LL)

static void test_hand_computed_daily(void)
{
	/*
	 * start 100, then daily: 110, 99, 108.9, 108.9
	 *   r = 110/100 - 1 = 0.1, 99/110 - 1 = -0.1, 108.9/99 - 1 = 0.1, 0
	 *   mean = 0.1 / 4 = 0.025
	 *   deviations 0.075, -0.125, 0.075, -0.025; squares sum
	 *     0.005625 + 0.015625 + 0.005625 + 0.000625 = 0.0275
	 *   sd (n - 1) = sqrt(0.0275 / 3) = 0.0957427108
	 *   P = 252 (median step one day)
	 *   Sharpe = 0.025 / 0.0957427108 * sqrt(252) = 0.2611164839 * 15.8745079 = 4.1450957
	 *   downside = sqrt((-0.1)^2 / 4) = sqrt(0.0025) = 0.05
	 *   Sortino = 0.025 / 0.05 * sqrt(252) = 0.5 * 15.8745079 = 7.9372539
	 *   peak 110, trough 99: max drawdown = 11 / 110 = 0.1
	 *   total return = 108.9 / 100 - 1 = 0.089
	 */
	struct metrics_acc a;
	struct metrics m;
	metrics_init(&a, 100);
	metrics_add(&a, 1 * DAY, 110);
	metrics_add(&a, 2 * DAY, 99);
	metrics_add(&a, 3 * DAY, 108.9);
	metrics_add(&a, 4 * DAY, 108.9);
	metrics_finish(&a, &m);
	CHECK_NEAR(m.start_equity, 100, 1e-12);
	CHECK_NEAR(m.final_equity, 108.9, 1e-12);
	CHECK_NEAR(m.total_return, 0.089, 1e-12);
	CHECK_NEAR(m.median_spacing_s, 86400, 1e-9);
	CHECK_NEAR(m.periods_per_year, 252, 1e-12);
	CHECK_NEAR(m.sharpe, 4.1450957, 1e-6);
	CHECK_NEAR(m.sortino, 7.9372539, 1e-6);
	CHECK_NEAR(m.max_drawdown, 0.1, 1e-12);
	metrics_free(&a);
}

static void test_drawdown_from_start_and_deepest(void)
{
	/*
	 * start 100: 90 (dd 10%), 120 (new peak), 60 (dd 50%), 100, 130, 117 (dd 10%)
	 * max drawdown = (120 - 60) / 120 = 0.5; final 117, total return 0.17
	 */
	static const double eq[] = {90, 120, 60, 100, 130, 117};
	struct metrics_acc a;
	struct metrics m;
	metrics_init(&a, 100);
	for (int i = 0; i < 6; i++)
		metrics_add(&a, (int64_t)(i + 1) * DAY, eq[i]);
	metrics_finish(&a, &m);
	CHECK_NEAR(m.max_drawdown, 0.5, 1e-12);
	CHECK_NEAR(m.total_return, 0.17, 1e-12);
	metrics_free(&a);

	/* only a drop from the start: 100 -> 80, drawdown 0.2 */
	metrics_init(&a, 100);
	metrics_add(&a, DAY, 80);
	metrics_finish(&a, &m);
	CHECK_NEAR(m.max_drawdown, 0.2, 1e-12);
	CHECK_NEAR(m.total_return, -0.2, 1e-12);
	/* one return: no sd (n - 1 = 0), Sharpe 0; Sortino = -0.2 / 0.2 * sqrt(252) */
	CHECK_NEAR(m.sharpe, 0, 0);
	CHECK_NEAR(m.sortino, -sqrt(252), 1e-9);
	metrics_free(&a);
}

static void test_zero_variance(void)
{
	struct metrics_acc a;
	struct metrics m;
	metrics_init(&a, 1000);
	for (int i = 1; i <= 20; i++)
		metrics_add(&a, i * DAY, 1000);
	metrics_finish(&a, &m);
	CHECK_NEAR(m.sharpe, 0, 0);
	CHECK_NEAR(m.sortino, 0, 0);
	CHECK_NEAR(m.max_drawdown, 0, 0);
	CHECK_NEAR(m.total_return, 0, 0);
	CHECK(!isnan(m.sharpe) && !isnan(m.sortino));
	metrics_free(&a);

	/* only gains: no downside, Sortino 0 (not inf) while Sharpe is finite > 0 */
	metrics_init(&a, 100);
	metrics_add(&a, DAY, 101);
	metrics_add(&a, 2 * DAY, 103);
	metrics_add(&a, 3 * DAY, 104);
	metrics_finish(&a, &m);
	CHECK_NEAR(m.sortino, 0, 0);
	CHECK(m.sharpe > 0 && isfinite(m.sharpe));
	CHECK_NEAR(m.max_drawdown, 0, 0);
	metrics_free(&a);
}

static void test_no_points(void)
{
	struct metrics_acc a;
	struct metrics m;
	metrics_init(&a, 5000);
	metrics_finish(&a, &m);
	CHECK_NEAR(m.start_equity, 5000, 0);
	CHECK_NEAR(m.final_equity, 5000, 0);
	CHECK_NEAR(m.total_return, 0, 0);
	CHECK_NEAR(m.sharpe, 0, 0);
	CHECK_NEAR(m.max_drawdown, 0, 0);
	CHECK_NEAR(m.periods_per_year, 252, 0);
	metrics_free(&a);
}

static void test_periods_per_year(void)
{
	CHECK_NEAR(metrics_periods_per_year(86400), 252, 0);
	CHECK_NEAR(metrics_periods_per_year(7 * 86400), 52, 0);
	CHECK_NEAR(metrics_periods_per_year(30 * 86400), 12, 0);
	CHECK_NEAR(metrics_periods_per_year(31 * 86400), 12, 0);
	CHECK_NEAR(metrics_periods_per_year(60), 252 * 390, 1e-9);
	CHECK_NEAR(metrics_periods_per_year(300), 252 * 78, 1e-9);
	CHECK_NEAR(metrics_periods_per_year(3600), 252 * 6.5, 1e-9);
	CHECK_NEAR(metrics_periods_per_year(1), 252 * 23400, 1e-6);
	/* the boundaries */
	CHECK_NEAR(metrics_periods_per_year(25 * 86400), 12, 0);
	CHECK_NEAR(metrics_periods_per_year(25 * 86400 - 1), 52, 0);
	CHECK_NEAR(metrics_periods_per_year(6 * 86400), 52, 0);
	CHECK_NEAR(metrics_periods_per_year(6 * 86400 - 1), 252, 0);
	CHECK_NEAR(metrics_periods_per_year(20 * 3600), 252, 0);
	CHECK_NEAR(metrics_periods_per_year(3 * 86400), 252, 0); /* a weekend gap */
	CHECK_NEAR(metrics_periods_per_year(0), 252, 0);
}

/* The median step, not the mean: daily bars with weekend gaps stay daily. */
static void test_median_spacing_from_stream(void)
{
	struct metrics_acc a;
	struct metrics m;
	metrics_init(&a, 100);
	int64_t t = 0;
	for (int i = 0; i < 50; i++) {
		t += (i % 5 == 4) ? 3 * DAY : DAY; /* Mon..Fri then a weekend */
		metrics_add(&a, t, 100 + i);
	}
	metrics_finish(&a, &m);
	CHECK_NEAR(m.median_spacing_s, 86400, 1e-9);
	CHECK_NEAR(m.periods_per_year, 252, 0);
	metrics_free(&a);

	/* weekly with one short step: the median (7 days) decides, not the minimum */
	metrics_init(&a, 100);
	t = 0;
	for (int i = 0; i < 6; i++) {
		t += i == 2 ? DAY : 7 * DAY;
		metrics_add(&a, t, 100 + i);
	}
	metrics_finish(&a, &m);
	CHECK_NEAR(m.median_spacing_s, 7 * 86400, 1e-9);
	CHECK_NEAR(m.periods_per_year, 52, 0);
	metrics_free(&a);

	/* three days of 1-minute bars with overnight gaps: 60 s, not the gap */
	metrics_init(&a, 100);
	for (int d = 0; d < 3; d++)
		for (int i = 0; i < 390; i++)
			metrics_add(&a, d * DAY + i * MIN, 100 + (i % 3));
	metrics_finish(&a, &m);
	CHECK_NEAR(m.median_spacing_s, 60, 1e-9);
	CHECK_NEAR(m.periods_per_year, 252 * 390, 1e-9);
	metrics_free(&a);

	/* weekly */
	metrics_init(&a, 100);
	for (int i = 1; i <= 10; i++)
		metrics_add(&a, i * 7 * DAY, 100 + i);
	metrics_finish(&a, &m);
	CHECK_NEAR(m.periods_per_year, 52, 0);
	metrics_free(&a);

	/* one-minute bars, more steps than METRICS_SPACINGS: still 60 s and
	 * 252 * 390 periods, and the sample stays bounded */
	metrics_init(&a, 100);
	long n = METRICS_SPACINGS * 3 + 11;
	for (long i = 0; i < n; i++)
		metrics_add(&a, (int64_t)i * MIN, 100 + (double)(i % 7));
	metrics_finish(&a, &m);
	CHECK(a.nspacing <= METRICS_SPACINGS);
	CHECK(a.stride > 1);
	CHECK_NEAR(m.median_spacing_s, 60, 1e-9);
	CHECK_NEAR(m.periods_per_year, 252 * 390, 1e-9);
	metrics_free(&a);
}

/* The Sharpe does not depend on the level of equity, only on the returns;
 * annualising scales by sqrt(P). */
static void test_scale_invariance_and_annualisation(void)
{
	static const double eq[] = {101, 99.5, 102, 103.5, 101, 104};
	struct metrics_acc a, b, c;
	struct metrics ma, mb, mc;
	metrics_init(&a, 100);
	metrics_init(&b, 1e6);
	metrics_init(&c, 100);
	for (int i = 0; i < 6; i++) {
		metrics_add(&a, (int64_t)(i + 1) * DAY, eq[i]);
		metrics_add(&b, (int64_t)(i + 1) * DAY, eq[i] * 1e4);
		metrics_add(&c, (int64_t)(i + 1) * MIN, eq[i]);
	}
	metrics_finish(&a, &ma);
	metrics_finish(&b, &mb);
	metrics_finish(&c, &mc);
	CHECK_NEAR(ma.sharpe, mb.sharpe, 1e-9);
	CHECK_NEAR(ma.sortino, mb.sortino, 1e-9);
	CHECK_NEAR(ma.max_drawdown, mb.max_drawdown, 1e-12);
	CHECK_NEAR(mc.sharpe / ma.sharpe, sqrt(390.0), 1e-9);
	metrics_free(&a);
	metrics_free(&b);
	metrics_free(&c);
}

static void test_new_figures_daily(void)
{
	/*
	 * The stream of test_hand_computed_daily (start 100; 110, 99, 108.9,
	 * 108.9 on days 1..4): volatility = sd * sqrt(252) = 0.0957427108 *
	 * 15.8745079 = 1.5198684; CAGR over 3 days = 1.089^(365.25 / 3) - 1 =
	 * 32220.3966 (a short run's CAGR is large: documented); Calmar = CAGR /
	 * 0.1. Underwater from the peak 110 (day 1) to the end (day 4): the
	 * longest drawdown 3 days, 3 points, and it holds the deepest.
	 */
	struct metrics_acc a;
	struct metrics m;
	metrics_init(&a, 100);
	metrics_add_held(&a, 1 * DAY, 110, 1);
	metrics_add_held(&a, 2 * DAY, 99, 1);
	metrics_add_held(&a, 3 * DAY, 108.9, 0);
	metrics_add_held(&a, 4 * DAY, 108.9, 0);
	metrics_finish(&a, &m);
	CHECK_NEAR(m.volatility, 1.5198684, 1e-6);
	CHECK_NEAR(m.cagr, 32220.39658, 1e-4);
	CHECK_NEAR(m.calmar, 322203.9658, 1e-3);
	CHECK_NEAR(m.exposure, 0.5, 1e-12);
	CHECK_NEAR(m.longest_dd_days, 3, 1e-12);
	CHECK_EQ_INT(m.longest_dd_points, 3);
	CHECK_EQ_INT(m.longest_dd_start, 1 * DAY);
	CHECK_EQ_INT(m.longest_dd_end, 4 * DAY);
	CHECK_NEAR(m.max_dd_days, 3, 1e-12);
	metrics_free(&a);
}

static void test_cagr_two_years(void)
{
	/* 100 at the first point, 121 two years (730.5 days) later: CAGR 10 % */
	struct metrics_acc a;
	struct metrics m;
	metrics_init(&a, 100);
	metrics_add(&a, 0, 100);
	metrics_add(&a, (int64_t)(730.5 * 86400) * 1000000000LL, 121);
	metrics_finish(&a, &m);
	CHECK_NEAR(m.cagr, 0.1, 1e-12);
	CHECK(isnan(m.calmar)); /* no drawdown: Calmar undefined (null) */
	CHECK_NEAR(m.exposure, 0, 0);
	CHECK_NEAR(m.longest_dd_days, 0, 0);
	CHECK_EQ_INT(m.longest_dd_start, INT64_MIN);
	metrics_free(&a);
	/* one point: no span, no CAGR; a loss of everything: -100 % */
	metrics_init(&a, 100);
	metrics_add(&a, DAY, 50);
	metrics_finish(&a, &m);
	CHECK(isnan(m.cagr));
	metrics_free(&a);
	metrics_init(&a, 100);
	metrics_add(&a, DAY, 50);
	metrics_add(&a, 2 * DAY, 0);
	metrics_finish(&a, &m);
	CHECK_NEAR(m.cagr, -1, 0);
	CHECK_NEAR(m.calmar, -1, 1e-12); /* max drawdown 1 */
	metrics_free(&a);
}

static void test_drawdown_stretches(void)
{
	/*
	 * start 100; days 1..6: 90, 120, 60, 100, 130, 117.
	 * 90 is below the start: a stretch from day 1 (the start has no time of
	 * its own) to 120 on day 2: 1 day, 2 points (from the start, point 0).
	 * From the peak 120 (day 2) through 60 to 130 (day 5): 3 days, 3 points,
	 * the deepest (50 %). From 130 (day 5) to the end (day 6): 1 day.
	 * Exposure: held at 4 of 6 points.
	 */
	static const double eq[] = {90, 120, 60, 100, 130, 117};
	static const int held[] = {0, 1, 1, 0, 1, 1};
	struct metrics_acc a;
	struct metrics m;
	metrics_init(&a, 100);
	for (int i = 0; i < 6; i++)
		metrics_add_held(&a, (int64_t)(i + 1) * DAY, eq[i], held[i]);
	metrics_finish(&a, &m);
	CHECK_NEAR(m.longest_dd_days, 3, 1e-12);
	CHECK_EQ_INT(m.longest_dd_points, 3);
	CHECK_EQ_INT(m.longest_dd_start, 2 * DAY);
	CHECK_EQ_INT(m.longest_dd_end, 5 * DAY);
	CHECK_NEAR(m.max_dd_days, 3, 1e-12);
	CHECK_NEAR(m.exposure, 4.0 / 6.0, 1e-12);
	/* CAGR over 5 days: 1.17^(365.25 / 5) - 1; Calmar over 0.5 */
	CHECK_NEAR(m.cagr / 95713.38221674775, 1, 1e-9);
	CHECK_NEAR(m.calmar / 191426.7644334955, 1, 1e-9);
	metrics_free(&a);
}

static void test_trade_stats(void)
{
	/* trips +10, +20, +30, -15, 0: profit factor 60 / 15 = 4, expectancy
	 * 45 / 5 = 9, average win 20, average loss -15 */
	struct metrics_trips t = {5, 3, 1, 60, -15};
	struct metrics_trade_stats s;
	metrics_trade_stats(&t, &s);
	CHECK_NEAR(s.profit_factor, 4, 1e-12);
	CHECK_NEAR(s.expectancy, 9, 1e-12);
	CHECK_NEAR(s.avg_win, 20, 1e-12);
	CHECK_NEAR(s.avg_loss, -15, 1e-12);
	/* wins only: no profit factor (null), average loss undefined */
	struct metrics_trips w = {2, 2, 0, 30, 0};
	metrics_trade_stats(&w, &s);
	CHECK(isnan(s.profit_factor));
	CHECK(isnan(s.avg_loss));
	CHECK_NEAR(s.expectancy, 15, 1e-12);
	/* no trips: every figure undefined */
	struct metrics_trips none = {0, 0, 0, 0, 0};
	metrics_trade_stats(&none, &s);
	CHECK(isnan(s.profit_factor) && isnan(s.expectancy) && isnan(s.avg_win) && isnan(s.avg_loss));
}

static int cmp64(const void *x, const void *y)
{
	int64_t p = *(const int64_t *)x, q = *(const int64_t *)y;
	return (p > q) - (p < q);
}

/* The median step is found by selection, not a sort: over seeded streams of
 * every shape (few distinct steps, all distinct, sorted, reversed, all
 * equal, odd and even counts) it is the sorted array's middle element. */
static void test_median_spacing_matches_a_sort(void)
{
	uint64_t seed = 42;
	int wrong = 0, runs = 0;
	for (int shape = 0; shape < 5; shape++)
		for (int n = 1; n <= 600; n += 37) {
			int64_t steps[700], t = 0;
			struct metrics_acc a;
			struct metrics m;
			metrics_init(&a, 100);
			for (int i = 0; i < n; i++) {
				seed = seed * 6364136223846793005ull + 1442695040888963407ull;
				int64_t r = (int64_t)(seed >> 33);
				int64_t d = shape == 0	 ? (1 + r % 3) * DAY
					    : shape == 1 ? 1 + r % 1000000007
					    : shape == 2 ? (int64_t)i + 1
					    : shape == 3 ? (int64_t)(n - i)
							 : MIN;
				steps[i] = d;
				t += d;
				metrics_add(&a, t, 100 + (double)(r % 7));
			}
			metrics_finish(&a, &m);
			/* the first point has no step before it */
			int k = n - 1;
			if (k > 0) {
				qsort(steps + 1, (size_t)k, sizeof *steps, cmp64);
				wrong += m.median_spacing_s != (double)steps[1 + (k - 1) / 2] / 1e9;
				runs++;
			}
			metrics_free(&a);
		}
	CHECK(runs > 50);
	CHECK_EQ_INT(wrong, 0);
}

int main(void)
{
	RUN(test_new_figures_daily);
	RUN(test_cagr_two_years);
	RUN(test_drawdown_stretches);
	RUN(test_trade_stats);
	RUN(test_hand_computed_daily);
	RUN(test_drawdown_from_start_and_deepest);
	RUN(test_zero_variance);
	RUN(test_no_points);
	RUN(test_periods_per_year);
	RUN(test_median_spacing_from_stream);
	RUN(test_scale_invariance_and_annualisation);
	RUN(test_median_spacing_matches_a_sort);
	return check_summary();
}
