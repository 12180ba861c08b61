/*
 * stats — the engine's live counters, for /metrics and the alert rules:
 * updated in place on the hot path (plain increments) and read when
 * scraped, from the same thread, between two events. Nothing here
 * allocates or takes a lock.
 *
 * Latency needs the clock: while timing is on (a host with an HTTP server)
 * one event in `sample` (a power of two; 1: every event) is timed: one
 * monotonic clock read at its dispatch (tick-to-order's start), two around
 * each callback, one per order. Other events cost a counter and a mask.
 */
#ifndef GANTRY_STATS_H
#define GANTRY_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "histo.h"
#include "venue.h"

struct engine;
struct strategy;

struct strat_stats {
	long events; /* callbacks delivered (bars, books, trades) */
	long halts, reloads;
	struct histo callback;	    /* time in its market-data callbacks */
	struct histo tick_to_order; /* from the event's dispatch to the order handed to the venue */
};

struct engine_stats {
	int timing;
	unsigned sample_mask; /* sample - 1 */
	unsigned seq;	      /* events dispatched while timing, for the sampling */
	int64_t tick_t0; /* a timed dispatch under way's start (mono ns); 0 otherwise */
};

static inline int64_t stats_begin(const struct engine_stats *g)
{
	return g->tick_t0 ? clock_mono_ns() : 0;
}

static inline void stats_end(struct strat_stats *s, int64_t t0)
{
	s->events++;
	if (t0)
		histo_add(&s->callback, clock_mono_ns() - t0);
}

/* Turns the clocks on (a monitored host: one event in sample timed, sample
 * a power of two) or off (a backtest: counts only). */
void engine_set_timing(struct engine *e, int on, unsigned sample);
const struct engine_stats *engine_stats(const struct engine *e);
const struct strat_stats *engine_strat_stats(const struct strategy *s);
/* The venue's session (VENUE_UP when the venue has no status op). */
void engine_venue_status(struct engine *e, struct venue_status *out);
/* Whether sym trades now (a market halt or pause says 0). */
int engine_symbol_trading(struct engine *e, int sym);
/* The sandbox memory cap in bytes (0: none). */
size_t engine_memory_limit(const struct engine *e);
/* The venue's name ("sim", "fix" ...). */
const char *engine_venue_kind(const struct engine *e);

#endif
