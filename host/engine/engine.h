/*
 * engine — one run of one or more strategies: the clock, a feed, a venue,
 * the order book of record, and the order path every order takes (sanity
 * and risk in C, then the venue). Opaque: commands and the control socket
 * go through the functions below; strategies reach it through the host
 * table their VM was given (bindings/ctx.h), which the engine fills.
 *
 * One run loop serves every feed (feed.h) and every venue (venue.h) in every
 * mode: a backtest calls engine_run; a running host (paper, live) calls
 * engine_fetch / engine_dispatch from its event loop, so that commands,
 * reloads and signals always act between two events.
 */
#ifndef GANTRY_ENGINE_H
#define GANTRY_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "feed.h"
#include "oms.h"
#include "risk.h"
#include "symtab.h"
#include "venue.h"
#include "vm.h"

struct engine;
struct strategy;

/* halted: still sees market data and its fills, but risk refuses its new
 * orders (or lets only position-reducing ones through, by config);
 * quarantined: failed, no callbacks, until resume or a reload. */
enum strat_state { STRAT_RUNNING, STRAT_HALTED, STRAT_QUARANTINED };

struct engine_config {
	double cash;
	uint64_t seed;
	size_t memory_limit;
	double callback_ms;
	int leave_orders_on_halt; /* sandbox.on_halt = "leave": a failed strategy's orders stay */
	int fail_fast;		  /* backtests: a failed strategy ends the run */
	int write_through; /* a running host: each row reaches its file as it happens, orders.csv too */
	int log_event_time; /* backtests: log lines carry the event time (log_set_event_time) */
	const char *timezone; /* the exchange's, for ctx:at (borrowed); NULL: America/New_York */
	int has_session_open; /* the session's open (session.c), else 09:30 in timezone */
	int session_open_sec; /* seconds after local midnight */
};

#define ENGINE_MAX_STRATEGIES 64

struct engine *engine_new(const struct engine_config *cfg, struct symtab *st);
void engine_free(struct engine *e);
/* Loads one more strategy. 0, or -1 with err (bad file, bad params). */
int engine_add_strategy(struct engine *e, const char *path, const struct param *params,
			int nparams, char *err, size_t errlen);
/* Every strategy's declared symbols, in order (the ITCH feed's books). */
int engine_symbols(struct engine *e, const char **names, int max);
/* Subscriptions against the symbols the data is known to hold (ndata < 0:
 * unknown yet). 0, or -1 with err naming the missing symbol. */
int engine_subscribe(struct engine *e, const int *data_syms, int ndata, char *err, size_t errlen);
/* The order book of record, made once every strategy is loaded (a venue
 * is built over it). NULL when out of memory. */
struct oms *engine_open_oms(struct engine *e);
/* The feed (borrowed) and the venue (owned from here: freed by
 * venue.ops->free with the engine). */
void engine_attach(struct engine *e, struct feed *feed, struct venue venue);
/* Opens fills.csv and equity.csv in dir (write_through: orders.csv too),
 * new, or appended to with resume. 0 or -1 with err. */
int engine_open_outputs(struct engine *e, const char *dir, int resume, char *err, size_t errlen);
/* write_through: equity rows held for the writer thread go to it now (a
 * running host calls this at least once a second). */
void engine_flush(struct engine *e);
/* A symbol's quantity step (lot > 0: 0.0001 for fractions of a coin; 1 is
 * whole shares, the default) and price grid (tick, 0: not checked). 0, or -1
 * on a bad value. */
int engine_set_instrument(struct engine *e, int sym, double lot, double tick);
/* The run's limits (firm: all strategies together), to load or change;
 * engine_limits_changed after a change. */
struct risk_limits *engine_limits(struct engine *e, int firm);
void engine_limits_changed(struct engine *e);
/* The data integrity checks and policy of the run (datagate.c; without a
 * call, datacheck_defaults). 0, or -1 out of memory. */
struct datacheck_config;
int engine_set_data_checks(struct engine *e, const struct datacheck_config *c);

/* ------------------------------------------------------------ running */

/* The whole run: 0 done, 1 a strategy failed (message logged), 2 bad data (err). */
int engine_run(struct engine *e, char *err, size_t errlen);
/* The same in steps, for a host that runs an event loop: begin (on_start;
 * 0, or -1 with err), then fetch (1 an event waiting, 0 the end, -1 bad
 * data) and dispatch (0, or -1 with err) until the end, then end (as run).
 * engine_next_time is the fetched event's time (for pacing a replay). */
int engine_begin(struct engine *e, char *err, size_t errlen);
int engine_fetch(struct engine *e, char *err, size_t errlen);
int64_t engine_next_time(const struct engine *e);
int engine_dispatch(struct engine *e, char *err, size_t errlen);
int engine_end(struct engine *e, int data_error, char *err, size_t errlen);
/* A warm start (warmup.c), after engine_begin and before the first event:
 * every event of history (a feed, owned by the caller, not started) through
 * the strategies with their orders refused ("warming_up") and nothing
 * written but log lines; what names it in the log. 0, or -1 with err (bad
 * data). */
int engine_warmup(struct engine *e, struct feed *history, const char *what, char *err,
		  size_t errlen);
/* A remote venue reported between two events (live): the queued order
 * updates and fills go to their strategies now. */
void engine_deliver(struct engine *e);
/* Why working orders are cancelled at the end ("end_of_data" by default). */
void engine_set_stop_reason(struct engine *e, const char *why);
/* A strategy failed and the run ends (fail_fast). */
int engine_stopped(const struct engine *e);
/* The first strategy failure ("" when none): "NAME failed in on_bar of SYM
 * at TIME: FILE:LINE: message", without the traceback (the log has it); its
 * event time, INT64_MIN when none or before the first event. */
const char *engine_failure(const struct engine *e);
int64_t engine_failed_at(const struct engine *e);

/* ------------------------------------------------------------ inspecting */

int64_t engine_now(const struct engine *e);
long engine_events(const struct engine *e);
struct oms *engine_oms(struct engine *e);
struct symtab *engine_symtab(struct engine *e);
long engine_rejects(const struct engine *e, enum risk_reason r);
int engine_nstrat(const struct engine *e);
struct strategy *engine_strategy(struct engine *e, int i);
struct strategy *engine_find(struct engine *e, const char *name);

struct strategy_view {
	int id; /* its account in the oms */
	const char *name, *path, *reason;
	int state; /* enum strat_state */
	int version;
	uint64_t hash;
	size_t memory;
};
void engine_describe(const struct strategy *s, struct strategy_view *out);
/* Its parameters as they are now (defaults, overrides, `set`s) as one JSON
 * object, keys sorted, through put. */
void engine_params_json(const struct strategy *s, json_sink put, void *ud);
/* The strategy's file and the modules it required beside it (for a watcher). */
int engine_strategy_files(const struct strategy *s, const char **paths, int max);

/* ------------------------------------------------------------ operator */

/* halt: block new orders, cancel working ones but a bracket's exits
 * (returns the count); resume:
 * running again; flatten: cancel, then close every position at market as
 * the operator's orders (allowed while halted). */
int engine_halt(struct strategy *s, const char *reason);
int engine_resume(struct strategy *s);
int engine_flatten(struct strategy *s);
/* Hot reload between two events: compile and load the file in a fresh
 * sandbox, migrate ctx.state, swap. On any failure the running version
 * stays. 0 and msg "version N ok (swap X ms)", or -1 and msg why. */
int engine_reload(struct strategy *s, char *msg, size_t msglen);

/* The same in two steps, so the compile can run off the loop: prepare opens
 * the new version (safe on a helper thread: it reads only what never changes
 * during a run), commit migrates the state and swaps (between two events,
 * on the loop's thread). commit consumes job->next either way. */
struct reload_job {
	struct strategy *s;
	struct vm *next;
	uint64_t hash;
	int off_thread;
	double prepare_ms, commit_ms;
	char err[2048];
};
int engine_reload_prepare(struct strategy *s, struct reload_job *job, int off_thread);
int engine_reload_commit(struct reload_job *job, char *msg, size_t msglen);
/* `set KEY=VALUE`: a parameter (`k` for all, `name.k` for one), validated
 * against its type, or a limit (`risk.KEY`, `firm_risk.KEY`). Old value in old. */
int engine_set(struct engine *e, const char *kv, char *old, size_t oldlen, char *err,
	       size_t errlen);

#endif
