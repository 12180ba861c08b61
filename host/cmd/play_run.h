/*
 * play_run — backtests for playbooks, run in this process's children:
 * backtest{} (one run, every output file) and sweep{} (worker processes,
 * each loading the data once and running many combinations, each in a
 * fresh engine and sandbox; results streamed back over a pipe).
 *
 * Both are lua_CFunctions for struct play_host (bindings/play.h): they read
 * their request from the table at index 1. Paths in it were checked by
 * stdlib/gantry/play.lua through the native module before they get here.
 */
#ifndef GANTRY_PLAY_RUN_H
#define GANTRY_PLAY_RUN_H

struct lua_State;

/* backtest{strategy=, data={...}, params={"k=v",...}, config=, from=, to=,
 * out=DIR, cash=}: status (0 ok, 1 the strategy failed, 2 bad input) and
 * the error text. Writes DIR/summary.json, fills.csv, orders.csv,
 * equity.csv and report.html. */
int play_run_backtest(struct lua_State *L);

/* sweep{strategy=, data={...}, config=, from=, to=, jobs=, out=FILE,
 * combos={{key=, params={"k=v",...}, json="{...}"}, ...}, progress=}:
 * done (computed now), resumed (found in an earlier run's file), errors,
 * and the index and error of the first failed combination (or nil). */
int play_run_sweep(struct lua_State *L);

/* span{data={...}}: the first and last bar's time (epoch seconds) and the count. */
int play_run_span(struct lua_State *L);

#endif
