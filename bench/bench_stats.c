/*
 * bench_stats — what the engine's live counters (host/engine/stats.h) add to
 * one event (dispatched to one strategy's callback) and one order, measured
 * in a tight loop around a stand-in callback: timing off (a backtest: two
 * branches and one increment) against timing on (a monitored host: three
 * monotonic clock reads and a histogram add per timed event, every event or
 * one in 16; one clock read and a histogram add per order), in
 * alternated rounds; the best round of each. Prints ns per call.
 */
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "stats.h"

#define N 5000000
#define ROUNDS 5 /* alternated: each round runs every variant once */

static volatile unsigned sink;

/* The stand-in for a strategy's callback: a little work the compiler keeps. */
static void callback(unsigned i)
{
	sink += i * 2654435761u;
}

/* engine_dispatch and call_bar as the engine does them, for N events. */
static double run_events(int timing, unsigned sample)
{
	struct engine_stats g;
	struct strat_stats s;
	memset(&g, 0, sizeof g);
	memset(&s, 0, sizeof s);
	g.timing = timing;
	g.sample_mask = sample - 1;
	int64_t t0 = clock_mono_ns();
	for (unsigned i = 0; i < N; i++) {
		if (g.timing && !(g.seq++ & g.sample_mask))
			g.tick_t0 = clock_mono_ns();
		int64_t c = stats_begin(&g);
		callback(i);
		stats_end(&s, c);
		g.tick_t0 = 0;
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
	double best[5] = {1e9, 1e9, 1e9, 1e9, 1e9};
	for (int r = 0; r < ROUNDS; r++) {
		double v[5] = {run_events(0, 1), run_events(1, 1), run_events(1, 16), run_orders(0),
			       run_orders(1)};
		for (int k = 0; k < 5; k++)
			if (v[k] < best[k])
				best[k] = v[k];
	}
	printf("stats per event (one callback): %.1f ns timing off (backtest); with --http %.1f ns "
	       "timing every event (+%.1f), %.1f ns one in 16 (http.sample = 16: +%.1f)\n",
	       best[0], best[1], best[1] - best[0], best[2], best[2] - best[0]);
	printf("stats per order (in a timed event): %.1f ns off, %.1f ns on: +%.1f ns (best of %d "
	       "alternated rounds of %d)\n", best[3], best[4], best[4] - best[3], ROUNDS, N);
	return 0;
}
