/*
 * engine-internal — the engine's own structs, for the files of the engine
 * layer only (engine.c, output.c). Everything else goes through engine.h.
 */
#ifndef GANTRY_ENGINE_INTERNAL_H
#define GANTRY_ENGINE_INTERNAL_H

#include <stdio.h>

#include "clock.h"
#include "ctx.h"
#include "engine.h"
#include "equity_log.h"
#include "feed.h"
#include "series.h"
#include "stats.h"
#include "venue.h"

struct strat_timer {
	char name[VM_TIMER_NAME_MAX];
	int64_t deadline; /* 0 = unused */
	int daily; /* ctx:at: 1 + seconds after local midnight; 0: a one-shot ctx:timer */
	int unarmed; /* ctx:at before the first event: its deadline is found at that event */
};

#define STRAT_MAX_TIMERS VM_TIMER_MAX

/* One `ctl set KEY=VALUE` of a strategy's parameter, the last for its key. */
struct strat_set {
	char key[128]; /* as engine_set reads it */
	char *value; /* owned */
};

struct strategy {
	int id;
	char name[64];
	const char *path;
	struct vm *vm;
	struct engine *eng;
	struct vm_host host; /* what its ctx talks to: stays at this address */
	struct vm_info info;
	int state;
	char reason[1024]; /* why it is halted or quarantined; a failure's first line */
	int version;
	unsigned char *subscribed; /* per symbol id; NULL = every symbol */
	struct strat_timer timers[STRAT_MAX_TIMERS];
	struct history *hist; /* history.h: bars and timeframes; NULL when it asks for none */
	struct risk_state *risk; /* owned */
	struct param *params;	 /* owned copy of the overrides, for reloads */
	int nparams;
	struct strat_set *sets; /* the operator's `ctl set`s, re-applied to each new version */
	int nsets, sets_cap;
	uint64_t hash; /* FNV-1a of the source of the running version */
	double peak_equity, day_equity, last_equity;
	int64_t day; /* UTC day of day_equity */
	struct strat_stats stats; /* stats.h: /metrics and alerts */
};

struct notif;

struct instrument {
	double lot;  /* quantity step; 0: whole shares */
	double tick; /* price grid; 0: not checked */
};

struct engine {
	struct engine_config cfg;
	struct symtab *symtab; /* borrowed */
	struct clock clock;
	struct oms *oms;
	struct feed *feed;   /* borrowed */
	struct venue venue;  /* owned (ops->free) */
	struct strategy *strats;
	int nstrat;
	struct notif *q; /* fills and order updates waiting for a safe point */
	int qn, qcap;
	struct bar *last; /* per symbol: the last bar (or mark), for ctx:book and references */
	int nlast;
	struct instrument *instr; /* per symbol: lot and tick from the config (0: defaults) */
	int ninstr;
	int64_t next_timer;
	int64_t next_close; /* the earliest end of a timeframe's bar being built */
	int nhist;	    /* strategies with a history (history or timeframes) */
	struct tz *tz;	    /* the exchange's time zone, for ctx:at; loaded at the first */
	int64_t cur; /* the event time being processed */
	int64_t sample_ns; /* one equity point per this much event time (0: per distinct time) */
	struct feed_event ev; /* the event fetched, not yet dispatched */
	int have_ev;
	const char *stop_reason; /* why working orders are cancelled at the end */
	int failed;
	int ended; /* engine_end ran: a remote venue's late reports reach no strategy */
	char failure[2048]; /* the first strategy failure: who, in what event, why */
	int64_t failed_at;  /* its event time; INT64_MIN before the first event */
	/* outputs, written as the run goes */
	FILE *fills_csv, *equity_csv; /* equity_csv passes to eqlog at the start */
	FILE *orders_csv;   /* a running host's: a row per change of an order; NULL in backtests */
	long orders_start;  /* where this run's rows begin in orders.csv (after a resumed run's) */
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
	struct bracket *brk; /* brackets.c: entries whose exits follow their fills */
	int nbrk, brk_cap;
	int64_t risk_skip; /* an order risk_account_of leaves out (a replace's old self) */
	int warming;	   /* warmup.c: history through the strategies, orders refused */
	long warm_refused; /* orders refused while warming up */
	struct data_gate *gate; /* datagate.c: the integrity checks; NULL until the first event */
	struct engine_stats stats; /* stats.h */
	struct jrec *jr; /* journal_rec.c: the journal; NULL without one */
	int feed_down; /* feed_health.c: orders refused (feed_unhealthy) until the feed is up */
};

/* datagate.c. Checks the event just fetched: 1 deliver it, 0 hold it back
 * (fetch the next); the findings of what was delivered, for ctx:data_flags
 * (self: the strategy); counts by kind (-1 each when nothing was checked);
 * the totals logged at the end. */
int data_gate_pass(struct engine *e);
int data_gate_flags(void *self, const char **names, int max);
void engine_data_check_counts(const struct engine *e, long *counts);
void data_gate_report(const struct engine *e);
void data_gate_free(struct engine *e);

/* brackets.c. A bracket's entry as the order path took it (0, or -1 out of
 * memory); its exits for what has filled since the last call (after every
 * venue call that can fill; nothing when no bracket is open); ctx:oco. */
struct bracket;
const char *brackets_check(const struct order_request *req);
int brackets_add(struct engine *e, const struct order *entry, const struct order_request *req);
void brackets_settle(struct engine *e);
int brackets_oco(struct strategy *s, int64_t a, int64_t b, const char **reason);
void brackets_free(struct engine *e);
/* engine.c: a bracket's exit through the order path (the exit gate: it may
 * only reduce the position; allowed while halted or quarantined). */
int64_t engine_exit_order(struct strategy *s, const struct order_request *req, const char **reason);

/* replace.c: ctx:replace. 0, or -1 with *reason (a refusal by risk or the
 * venue is also an on_order with it, the order unchanged). qty, price: NAN
 * keeps the order's. */
int engine_replace_order(struct strategy *s, int64_t id, double qty, double price,
			 const char **reason);
/* session.c: h's timeframes aligned to the session's open in the exchange's
 * zone (loaded here if no one did). 0, or -1 (logged; UTC stays). */
int engine_session_align(struct engine *e, struct history *h);
/* engine.c: the strategy's risk check of req, the account seen without the
 * open order skip (0: none), as order_path checks a new order. */
enum risk_reason engine_risk_gate(struct strategy *s, const struct order_request *req,
				  int64_t skip);
/* feed_health.c: a feed's health changed (pause or resume the strategies,
 * on_feed); engine.c: a strategy's working orders, but a bracket's exits,
 * cancelled (the count). */
int engine_feed_status(struct engine *e, const struct feed_status *st);
int engine_cancel_working(struct strategy *s);
/* What follows a callback's return (a failure halts the strategy). */
void engine_after_callback(struct engine *e, struct strategy *s, int rc, const char *what);

#define ENGINE_REPORT_FILLS 5000

#endif
