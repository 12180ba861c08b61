/*
 * engine — one run of one or more strategies: the clock, the feed, the
 * venue, the order book of record, and the order path every strategy order
 * takes (sanity and risk in C, then the venue). The strategy bindings
 * (bindings/ctx.c) talk only to the functions below.
 */
#ifndef GANTRY_ENGINE_H
#define GANTRY_ENGINE_H

#include <stdint.h>
#include <stdio.h>

#include "oms.h"
#include "risk.h"
#include "symtab.h"
#include "vm.h"

struct engine;

/* halted: still sees market data and its fills, but risk refuses its new
 * orders (or lets only position-reducing ones through, by config);
 * quarantined: failed, no callbacks, until resume or a reload. */
enum strat_state { STRAT_RUNNING, STRAT_HALTED, STRAT_QUARANTINED };

#define STRAT_MAX_TIMERS 16

struct strat_timer {
	char name[32];
	int64_t deadline; /* 0 = unused */
};

struct strategy {
	int id;
	char name[64];
	const char *path;
	struct vm *vm;
	struct engine *eng;
	struct vm_info info;
	int state;
	char reason[256];
	int version;
	unsigned char *subscribed; /* per symbol id; NULL = every symbol */
	int nsubscribed;
	struct strat_timer timers[STRAT_MAX_TIMERS];
	struct risk_state *risk; /* owned */
	struct param *params;	 /* owned copy of the overrides, for reloads */
	int nparams;
	uint64_t hash; /* FNV-1a of the source of the running version */
	double peak_equity, day_equity, last_equity;
	int64_t day; /* UTC day of day_equity */
};

struct order_request {
	int sym;
	int side;
	double qty;
	double limit; /* NAN = market */
	int tif;
};

/* The order path. Returns the order id (> 0), or 0 with *reason a stable word. */
int64_t engine_submit(struct strategy *s, const struct order_request *req, const char **reason);
/* 0 done, or -1 with *reason ("unknown_order", "not_open", "not_owner"). */
int engine_cancel(struct strategy *s, int64_t id, const char **reason);
int engine_cancel_all(struct strategy *s, int sym); /* sym < 0: all; returns the count */

/* Operator actions. halt: block new orders, cancel working ones (returns the
 * count); resume: running again; flatten: cancel, then close every position
 * at market (allowed while halted). */
int engine_halt(struct strategy *s, const char *reason);
int engine_resume(struct strategy *s);
int engine_flatten(struct strategy *s);
struct strategy *engine_find(struct engine *e, const char *name);
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
 * against its type, or `risk.*` through the set hook. Old value in old. */
int engine_set(struct engine *e, const char *kv, char *old, size_t oldlen, char *err,
	       size_t errlen);

int64_t engine_now(const struct engine *e);
struct oms *engine_oms(struct engine *e);
struct symtab *engine_symtab(struct engine *e);
/* Top of book (bars: the last close on both sides, zero quantities). 0 or -1 when none. */
int engine_top(struct engine *e, int sym, struct top_of_book *out);
int engine_timer(struct strategy *s, const char *name, double ms);
void engine_log(struct strategy *s, int level, const char *msg);

/* ------------------------------------------------------------ running */

#include "bars.h"
#include "equity_log.h"
#include "metrics.h"
#include "series.h"
#include "sim.h"

struct engine_config {
	double cash;
	struct sim_config sim;
	uint64_t seed;
	size_t memory_limit;
	double callback_ms;
	int leave_orders_on_halt; /* sandbox.on_halt = "leave": a failed strategy's orders stay */
};


/* GANTRY_PROBE_TRACE: the clock at the end of stage k of the window. */
enum {
	PROBE_DECODED,	 /* the message read (and the prefetch hints given) */
	PROBE_ARRIVED,	 /* orders due at the simulated venue matched */
	PROBE_BOOKED,	 /* the message applied to the books */
	PROBE_CALLED,	 /* the rest of the host's work; the callback is called */
	PROBE_SUBMITTED, /* the strategy's order reached the host (risk, oms: the rest) */
	PROBE_STAGES
};
#define PROBE_BUCKETS 100000 /* 10 ns each: 0 .. 1 ms */

/* GANTRY_PROBE (host/tick.c): tick-to-order windows, timed. */
struct tick_probe {
	uint64_t hist[PROBE_BUCKETS]; /* window lengths */
	int64_t t0;		      /* when decoding of the current message started */
	int64_t window_ns;	      /* the orders' windows, summed */
	/* the machine's own interruptions, seen in the same run: messages that
	 * only passed the filter (idle), their time and how many took 2 us+ */
	int prev_idle; /* the message that started at t0 was idle */
	int64_t idle_ns;
	uint64_t idle_slow;
	/* GANTRY_PROBE_TRACE: where each slow window went */
	FILE *trace;
	int64_t at[PROBE_STAGES]; /* see engine_probe_mark */
	long msg, order;
};

struct engine {
	struct engine_config cfg;
	struct symtab *symtab; /* borrowed */
	struct oms *oms;
	struct sim *sim;
	const struct venue_ops *venue;
	void *venue_self;
	struct strategy *strats;
	int nstrat;
	int64_t now;
	struct notif *q;
	int qn, qcap;
	struct bar *last; /* per symbol: the last bar, for ctx:book and references */
	int nlast;
	int64_t next_timer;
	long events;
	int64_t cur;   /* the event time being processed */
	int fail_fast; /* backtests: a failed strategy ends the run */
	const char *stop_reason; /* why working orders are cancelled at the end */
	int failed;
	/* outputs, written as the run goes */
	FILE *fills_csv, *equity_csv; /* equity_csv passes to eqlog at the start */
	struct equity_log eqlog;
	struct series *prices; /* per symbol id, only for symbols in the report */
	int nprices;
	struct fill *fills; /* the first ENGINE_REPORT_FILLS, for the report */
	size_t nfills;
	struct risk_limits limits;	/* every strategy's */
	struct risk_limits firm_limits; /* all strategies together */
	struct risk_state *firm_risk;	/* owned */
	long rejects_by_reason[RISK_REASON_COUNT];
	int risk_active; /* a loss or drawdown limit is set: watch P&L per event time */
	/* order-book runs (host/tick.c) */
	struct book_set *books;	  /* owned */
	struct simbook *simbook;  /* owned; the venue of book runs */
	int *sym_of_loc;	  /* ITCH locate -> symbol id, -1 unknown */
	int *loc_of_sym;	  /* symbol id -> ITCH locate, 0 unknown */
	int64_t date_ns;	  /* midnight of the ITCH day */
	struct tick_probe *probe; /* GANTRY_PROBE: when measuring, else NULL */
	int (*set_hook)(void *ud, const char *key, const char *value, char *old, size_t oldlen,
			char *err, size_t errlen);
	void *set_hook_ud;
};

#define ENGINE_REPORT_FILLS 5000
#define ENGINE_MAX_STRATEGIES 64

struct engine *engine_new(const struct engine_config *cfg, struct symtab *st);
void engine_free(struct engine *e);
/* Loads one more strategy. 0, or -1 with err (bad file, bad params). */
int engine_add_strategy(struct engine *e, const char *path, const struct param *params,
			int nparams, char *err, size_t errlen);
/* Opens fills.csv and equity.csv in dir. 0 or -1 with err. */
int engine_open_outputs(struct engine *e, const char *dir, char *err, size_t errlen);
/* Subscriptions against the symbols the data is known to hold (-1 = unknown
 * yet). 0, or -1 with err naming the missing symbol. */
int engine_subscribe(struct engine *e, const int *data_syms, int ndata, char *err, size_t errlen);
/* Runs bars to the end: 0 done, 1 a strategy failed (message logged), 2 bad data (err). */
int engine_run_bars(struct engine *e, struct bars_feed *feed, char *err, size_t errlen);
/* The same, one step at a time, for hosts that run an event loop. */
void engine_begin(struct engine *e);
int engine_bar(struct engine *e, const struct bar *b, char *err, size_t errlen); /* 0 or -1 */
int engine_end(struct engine *e, int data_error, char *err, size_t errlen);	  /* as run */
const char *engine_failure(const struct engine *e);

/* Order-book (ITCH) backtests: host/tick.c. */
struct tick_config {
	const char *path;
	const char *const *symbols; /* --symbol names, besides the strategies' own */
	int nsymbols;
	int64_t date_ns;    /* the day's midnight, UTC */
	int64_t latency_ns; /* order to venue, in event time */
	int lenient;	    /* data integrity problems: warnings, not errors */
	int preload;	    /* --preload: the day read into memory first (itch_reader_load) */
};
int engine_run_itch(struct engine *e, const struct tick_config *tc, char *err, size_t errlen);
/* Levels of a side (0 bids, 1 asks), best first: price, shares, orders. */
int engine_depth(struct engine *e, int sym, int side, double (*out)[3], int n);
/* GANTRY_PROBE: one order handed to the venue, timed from the probe's t0. */
void engine_probe_order(struct engine *e);
/* GANTRY_PROBE_TRACE: the clock at the end of a stage (PROBE_*) of the window. */
void engine_probe_mark(struct engine *e, int stage);

#endif
