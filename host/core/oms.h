/*
 * oms — the order book of record: every order a strategy sent, its state,
 * fills, positions, average prices, cash, realised and unrealised P&L and
 * fees, per strategy (each strategy is its own account) and per symbol.
 *
 * Invariants: an order id is its index + 1 and is never reused; quantities
 * are whole shares held as doubles (exact up to 2^53); cash moves only on
 * fills; every state change is reported as a struct oms_event to the
 * listener (the journal and the engine) before it is acted on.
 */
#ifndef GANTRY_OMS_H
#define GANTRY_OMS_H

#include <stdint.h>

enum side { SIDE_BUY = 1, SIDE_SELL = -1 };
/* ORD_STOP: a market order once the market reaches `stop`; ORD_STOP_LIMIT:
 * a limit order at `price` once it does. A trailing stop is an ORD_STOP
 * whose stop follows the market by `trail` (price units, or percent with
 * trail_pct); the venue moves it (sim.c, simbook.c). */
enum ord_type { ORD_MARKET, ORD_LIMIT, ORD_STOP, ORD_STOP_LIMIT };
enum tif { TIF_DAY, TIF_IOC, TIF_GTC, TIF_FOK };
/* What a bracket's child is (engine/brackets.c): its exits survive a halt. */
enum ord_role { ROLE_NONE, ROLE_TAKE_PROFIT, ROLE_STOP_LOSS };
/* Who sent an order: its strategy, or the operator on the strategy's
 * account (`gantry ctl flatten`), whose orders skip the limits but may only
 * reduce a position (engine.c, order_path). */
enum ord_origin { ORIGIN_STRATEGY, ORIGIN_OPERATOR };

enum ord_status {
	ST_NEW,
	ST_PENDING,
	ST_ACCEPTED,
	ST_PARTIAL,
	ST_FILLED,
	ST_CANCEL_PENDING,
	ST_CANCELED,
	ST_REPLACE_PENDING,
	ST_REPLACED,
	ST_REJECTED,
	ST_EXPIRED,
	ST__COUNT
};

struct order {
	int64_t id;
	int strat, sym;
	int side; /* enum side */
	int type; /* enum ord_type */
	int tif;  /* enum tif */
	int status;
	double qty, filled, price, avg_price, fees;
	int64_t created, updated; /* event time, ns */
	const char *reason;       /* static string: risk reason, "end_of_data", ... */
	int version;              /* strategy version that placed it */
	int open_index;           /* position in the open list, -1 when done */
	int origin;               /* enum ord_origin; oms_create sets ORIGIN_STRATEGY */
	unsigned char trail_pct;  /* trail is a percentage of trail_best */
	unsigned char triggered;  /* a stop that has triggered: works as its market/limit */
	unsigned char role;	  /* enum ord_role */
	/* stops (0 for other types): the trigger price, the trailing distance
	 * (0: not trailing) and the best price seen since placing it */
	double stop, trail, trail_best;
	int64_t oco; /* the other of its one-cancels-other pair, 0: none */
	int replaces; /* replaces the venue confirmed (oms_replace) */
};

struct position {
	double qty;       /* signed */
	double avg_price; /* of the open quantity */
	double realized;  /* before fees */
	double fees;
	/* round trip in progress: from flat to flat (a flip closes one and opens one) */
	double trip_pnl;
};

struct account {
	double start_cash, cash;
	struct position *pos; /* per symbol id; grows with the symbol table */
	int npos;
	double fees;
	int *held; /* symbol ids with a non-zero position, in no order */
	int nheld, held_cap;
	long fills, round_trips, wins;
	long losses;		      /* round trips that lost (a trip of 0 is neither) */
	double gross_win, gross_loss; /* their P&L net of fees: sums of wins, of losses (<= 0) */
	long orders, rejects;
	long rejects_by_reason[32];
	long bracket_ambiguous; /* bars that reached both of an OCO pair (sim.c) */
	long oco_pairs;		/* OCO pairs linked (brackets' exits, ctx:oco) */
};

struct fill {
	int64_t order_id;
	int strat, sym, side;
	double qty, price, fee;
	int64_t time;
};

enum oms_event_kind { OMS_EV_ORDER, OMS_EV_FILL };

struct oms_event {
	int kind;
	const struct order *order;
	const struct fill *fill; /* OMS_EV_FILL */
};

/* An order as a strategy (or the operator) asks for it, before any check. */
struct order_request {
	int sym;
	int side;
	double qty;
	double limit; /* NAN = market */
	int tif;
	/* 0 = none (a designated initializer leaves them so) */
	double stop;			/* stop (with limit: stop limit) */
	double trail;			/* trailing stop distance (trail_pct: percent) */
	int trail_pct;
	double take_profit, stop_loss; /* a bracket's exits, placed as the entry fills */
	int role;			/* enum ord_role: a bracket's exit (engine only) */
};

struct oms;
typedef void (*oms_listener)(void *ud, const struct oms_event *ev);

struct oms *oms_new(int nstrat, double start_cash);
void oms_free(struct oms *o);
/* On: a freed oms's first order chunk is kept (only its written slots zeroed
 * again) for the next oms of this process, not freed; off frees it. For a
 * process that runs many backtests in a row (a sweep's worker). Off by default. */
void oms_keep_spare_chunk(int on);
void oms_set_listener(struct oms *o, oms_listener fn, void *ud);

/* A new order in ST_NEW (not yet checked). Returns NULL when out of memory. */
struct order *oms_create(struct oms *o, int strat, int sym, int side, int type, int tif,
			 double qty, double price, int64_t now, int version);
/* Between events: allocates the next chunk of order slots once the current
 * one is half used, and writes the pages of the next ~146 slots, so that an
 * event's oms_create neither allocates nor touches a fresh page (unless that
 * one event makes more orders than that). Orders never move. */
void oms_reserve(struct oms *o);
struct order *oms_get(struct oms *o, int64_t id);
int64_t oms_count(const struct oms *o);

/* State changes; each emits an event. */
void oms_reject(struct oms *o, struct order *ord, const char *reason, int reason_code);
void oms_accept(struct oms *o, struct order *ord, int64_t now);
/* Taken by a venue that has not acknowledged it yet: working (open, counted
 * by risk, cancelled by a kill switch), not yet accepted. */
void oms_pending(struct oms *o, struct order *ord, int64_t now);
/* A cancel sent, not yet confirmed; refused by the venue (the order works
 * on, reason says why the cancel failed). */
void oms_cancel_pending(struct oms *o, struct order *ord, int64_t now);
void oms_cancel_rejected(struct oms *o, struct order *ord, const char *reason, int64_t now);
/* A working order's new quantity and limit price (a limit or stop limit's;
 * other types keep theirs), as the venue confirmed them: the listener sees
 * it as ST_REPLACED, then it works on (accepted or partially filled). A
 * quantity at or below what filled (FIX: OrderQty <= CumQty) makes it done:
 * filled, reason "replaced". */
void oms_replace(struct oms *o, struct order *ord, double qty, double price, int64_t now);
/* A replace sent, not yet confirmed (ST_REPLACE_PENDING, still working at
 * its old quantity and price); refused by the engine or the venue: working
 * as before, reason says why (the order unchanged). */
void oms_replace_pending(struct oms *o, struct order *ord, int64_t now);
void oms_replace_rejected(struct oms *o, struct order *ord, const char *reason, int64_t now);
void oms_cancel(struct oms *o, struct order *ord, const char *reason, int64_t now);
void oms_expire(struct oms *o, struct order *ord, const char *reason, int64_t now);
/* An OCO pair: when one fills by q the other's quantity drops by q (to what
 * had filled: cancelled, reason "oco"); when one is cancelled, expires or
 * is rejected the other is cancelled, "oco". In the book of record at once,
 * so no venue can fill both; the simulators drop orders no longer open.
 * 0, or -1 when either is not open or already paired. */
int oms_link_oco(struct oms *o, struct order *a, struct order *b);
void oms_fill(struct oms *o, struct order *ord, double qty, double price, double fee, int64_t now);

/* Open (working) orders of a strategy: ST_ACCEPTED, ST_PARTIAL, pending states. */
int oms_open_count(const struct oms *o, int strat);
struct order *oms_open_at(struct oms *o, int strat, int i);
int oms_is_open(const struct order *ord);
/* Working quantity of a strategy in a symbol by side (unfilled remainder). */
void oms_working(const struct oms *o, int strat, int sym, double *buy, double *sell);

struct account *oms_account(struct oms *o, int strat);
struct position *oms_position(struct oms *o, int strat, int sym);
void oms_mark(struct oms *o, int sym, double price);
double oms_mark_of(const struct oms *o, int sym); /* NAN when none yet */
double oms_equity(const struct oms *o, int strat);
double oms_unrealized(const struct oms *o, int strat, int sym);
double oms_pnl(const struct oms *o, int strat, int sym); /* sym < 0: all */
int oms_nstrat(const struct oms *o);

const char *oms_status_name(int status);
const char *oms_side_name(int side);
const char *oms_tif_name(int tif);
/* "market", "limit", "stop", "stop_limit" or "trailing_stop" */
const char *oms_type_name(const struct order *o);
const char *oms_origin_name(int origin); /* "strategy" or "operator" */

#endif
