/*
 * bench_stats — what the engine's live counters (host/engine/stats.h) add to
 * one callback and one order, measured in a tight loop around a stand-in
 * callback: timing off (a backtest: one branch and one increment) against
 * timing on (a monitored host: two monotonic clock reads and a histogram
 * add per callback, one clock read and a histogram add per order), in
 * alternated rounds; the best round of each. Prints ns per call.
 */
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "stats.h"

#define N 5000000
#define ROUNDS 5

static volatile unsigned sink;

/* The stand-in for a strategy's callback: a little work the compiler keeps. */
static void callback(unsigned i)
{
	sink += i * 2654435761u;
}

static double run_events(int timing)
{
	struct engine_stats g;
	struct strat_stats s;
	memset(&g, 0, sizeof g);
	memset(&s, 0, sizeof s);
	g.timing = timing;
	int64_t t0 = clock_mono_ns();
	for (unsigned i = 0; i < N; i++) {
		int64_t c = stats_begin(&g);
		callback(i);
		stats_end(&s, c);
	}
	return (double)(clock_mono_ns() - t0) / N;
}

static double run_orders(int timing)
{
	struct strat_stats s;
	memset(&s, 0, sizeof s);
	int64_t tick = timing ? clock_mono_ns() : 0;
	int64_t t0 = clock_mono_ns();
	for (unsigned i = 0; i < N; i++) {
		callback(i);
		if (tick)
			histo_add(&s.tick_to_order, clock_mono_ns() - tick);
	}
	return (double)(clock_mono_ns() - t0) / N;
}

int main(void)
{
	double best[4] = {1e9, 1e9, 1e9, 1e9};
	for (int r = 0; r < ROUNDS; r++) {
		double v[4] = {run_events(0), run_events(1), run_orders(0), run_orders(1)};
		for (int k = 0; k < 4; k++)
			if (v[k] < best[k])
				best[k] = v[k];
	}
	printf("stats per callback: %.1f ns timing off (backtest), %.1f ns on (--http): +%.1f ns\n",
	       best[0], best[1], best[1] - best[0]);
	printf("stats per order:    %.1f ns timing off, %.1f ns on: +%.1f ns (best of %d alternated "
	       "rounds of %d)\n", best[2], best[3], best[3] - best[2], ROUNDS, N);
	return 0;
}
