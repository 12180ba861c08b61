/*
 * history — one strategy's past bars, kept by the engine (not in Lua) so
 * that they outlive a hot reload: per symbol, a ring of the last `depth`
 * bars of the feed's own bars and of each timeframe, and the bar of each
 * timeframe being built from the feed's bars or from trades.
 *
 * A timeframe's bar covers [start, start + len), start a multiple of len
 * since the epoch (UTC), unless history_align gives other bounds (the
 * session's, engine/session.c); its time is its start. It is closed, never before,
 * when event time reaches its end (history_pop_closed): no look-ahead.
 * Memory is taken when a symbol is first seen, none per bar after that.
 */
#ifndef GANTRY_HISTORY_H
#define GANTRY_HISTORY_H

#include <stdint.h>

#include "bars.h"

#define HISTORY_MAX_FRAMES 8
#define HISTORY_MAX_DEPTH 100000
#define HISTORY_FRAME_NAME 8 /* "15m", "1h", with its NUL */

struct history;

/* depth bars per ring (0: none kept), nframes timeframes (names as the
 * strategy wrote them, lengths in ns). NULL when out of memory. */
struct history *history_new(int depth, const char (*names)[HISTORY_FRAME_NAME],
			    const int64_t *frame_ns, int nframes);
void history_free(struct history *h);
/* Whether h was made with this depth and these timeframes. */
int history_same(const struct history *h, int depth, const char (*names)[HISTORY_FRAME_NAME],
		 const int64_t *frame_ns, int nframes);

/* The bounds of the timeframe's bar (of length len) that holds t: [*start,
 * *end), start <= t < end. */
typedef void (*history_bounds)(void *ud, int64_t t, int64_t len, int64_t *start, int64_t *end);
/* Timeframes' bars from bounds (NULL: multiples of their length since the
 * epoch), for bars not yet begun. */
void history_align(struct history *h, history_bounds bounds, void *ud);
int history_aligned(const struct history *h); /* whether bounds are set */

/* A feed's bar: into the symbol's ring and each timeframe's bar. A trade:
 * into each timeframe's bar. 0, or -1 out of memory. */
int history_add_bar(struct history *h, const struct bar *b);
int history_add_trade(struct history *h, int sym, int64_t t, double price, double qty);

/* The earliest end of a timeframe's bar being built; INT64_MAX when none. */
int64_t history_next_close(const struct history *h);
/* Closes the earliest bar ending at or before t (shortest timeframe, then
 * lowest symbol id first on a tie), keeps it in its ring: 1 with it in out
 * and its timeframe's index in frame, 0 when none ends by t. */
int history_pop_closed(struct history *h, int64_t t, struct bar *out, int *frame);

/* The timeframe named name: its index, -1 when h has none of that name. */
int history_frame(const struct history *h, const char *name);
const char *history_frame_name(const struct history *h, int frame);
/* How many bars the ring of sym holds (frame -1: the feed's bars), and the
 * back-th newest of them (0 the newest): 0, or -1 out of range. */
int history_count(const struct history *h, int sym, int frame);
int history_get(const struct history *h, int sym, int frame, int back, struct bar *out);

#endif
