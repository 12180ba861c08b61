/*
 * engine_internal — what the run loops (engine.c for bars, tick.c for order
 * books) share inside the engine. Not for bindings or commands.
 */
#ifndef GANTRY_ENGINE_INTERNAL_H
#define GANTRY_ENGINE_INTERNAL_H

#include "engine.h"

/* Delivers queued fills and order updates to their strategies. */
void engine_deliver(struct engine *e);
/* A callback failed: quarantine the strategy, cancel its orders. */
void engine_failed(struct engine *e, struct strategy *s, int status);
/* One equity point (all strategies), P&L limits watched. */
void engine_record_equity(struct engine *e, int64_t t);
/* Timers due at or before t, each at its deadline. */
void engine_fire_timers(struct engine *e, int64_t t);
/* Per-symbol arrays cover sym. 0 or -1. */
int engine_grow_symbols(struct engine *e, int sym);
/* Whether sym is charted in the report. */
int engine_charts(struct engine *e, int sym);
/* Oms, venue (the bar simulator unless one is set), on_start. */
void engine_run_start(struct engine *e);
/* Cancel what is working, on_stop. */
void engine_run_stop(struct engine *e, int64_t t);
/* The ITCH locate of a symbol, -1 when none. */
int engine_locate(const struct engine *e, int sym);

#endif
