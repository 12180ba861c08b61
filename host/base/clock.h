/*
 * clock — the only place gantry reads the time.
 *
 * Two kinds of time: the wall clock (UTC, for log lines, live trading and
 * file names) and a monotonic clock (for durations and pacing). A run's
 * own time is a struct clock: replayed event time in backtests and paper
 * replays (it moves only when the feed says so, so a strategy cannot tell a
 * replay from the day it was recorded), or the wall clock when the feed is
 * live. Nanoseconds since the epoch throughout.
 */
#ifndef GANTRY_CLOCK_H
#define GANTRY_CLOCK_H

#include <stdint.h>

int64_t clock_wall_ns(void);   /* CLOCK_REALTIME */
int64_t clock_mono_ns(void);   /* CLOCK_MONOTONIC: durations, pacing */
int64_t clock_thread_ns(void); /* the calling thread's CPU time (budgets) */

static inline double clock_mono_s(void)
{
	return (double)clock_mono_ns() / 1e9;
}

enum clock_kind { CLOCK_REPLAY, CLOCK_WALL };

struct clock {
	int kind;    /* enum clock_kind */
	int64_t now; /* CLOCK_REPLAY: the event time reached */
};

static inline void clock_init(struct clock *c, int kind)
{
	c->kind = kind;
	c->now = 0;
}

/* The run's time now. */
static inline int64_t clock_now(const struct clock *c)
{
	return c->kind == CLOCK_REPLAY ? c->now : clock_wall_ns();
}

/* Event time moved to t (replay: the clock follows the feed, never back). */
static inline void clock_set(struct clock *c, int64_t t)
{
	c->now = t;
}

#endif
