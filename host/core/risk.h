/*
 * risk — pre-trade risk checks, in C, for every order before it leaves.
 *
 * Pure and allocation-free: the caller (the order path) passes the limits,
 * the mutable per-account state and everything it knows about the market and
 * the account at this moment (struct risk_view); risk never calls back into
 * the oms, the book or the VM. Every order is checked against its strategy's
 * limits and state, and also against one firm-wide pair (pass NULL to skip).
 *
 * Invariants:
 *  - A limit at RISK_UNSET is disabled. risk_limits_init() disables them all;
 *    a limit equal to the order's figure passes, one unit over is rejected.
 *  - Only an accepted order changes rate windows, the duplicate table and the
 *    throttle; it counts at once (RTS 6 Art. 15(2)). A rejection changes
 *    nothing but counters and, for max_loss / max_drawdown / throttle, the
 *    halted flag.
 *  - Per-symbol tables are keyed by the caller's symbol id; ids at or over
 *    RISK_MAX_SYMBOLS cannot carry overrides or restrictions (config load
 *    fails if asked to) and use the defaults.
 */
#ifndef GANTRY_RISK_H
#define GANTRY_RISK_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Capacities (fixed: nothing grows after start-up). */
#define RISK_MAX_SYMBOLS 4096 /* symbol ids 0..4095 may have per-symbol limits */
#define RISK_MAX_OVERRIDES 64 /* per-symbol max_position entries */
#define RISK_RATE_CAP 4096    /* highest max_orders_per_sec / max_msgs_per_sec */
#define RISK_DUP_SETS 64      /* recent accepted orders for `duplicate`: a table of */
#define RISK_DUP_WAYS 4	      /* 64 sets x 4 ways; a set keeps its 4 newest orders */
#define RISK_THROTTLE_CAP 256 /* highest throttle.fills */

#define RISK_UNSET HUGE_VAL	/* a disabled double limit */
#define RISK_UNSET_NS INT64_MAX /* a disabled stale_reference_ns */
#define RISK_NS_PER_SEC 1000000000LL

/* Stable lowercase words (risk_reason_name); RISK_OK is 0. */
enum risk_reason {
	RISK_OK = 0,
	RISK_MAX_ORDER_QTY,
	RISK_MAX_ORDER_NOTIONAL,
	RISK_MAX_POSITION,
	RISK_PRICE_COLLAR,
	RISK_STALE_REFERENCE,
	RISK_RATE_LIMIT,
	RISK_MAX_OPEN_ORDERS,
	RISK_MAX_LOSS,
	RISK_MAX_DRAWDOWN,
	RISK_HALTED,
	RISK_RESTRICTED,
	RISK_DUPLICATE,
	RISK_SELF_CROSS,
	RISK_MAX_GROSS_EXPOSURE,
	RISK_THROTTLE,
	RISK_BAD_QTY,
	RISK_BAD_PRICE,
	RISK_UNKNOWN_SYMBOL,
	RISK_NOT_TRADING,
	RISK_OFF_TICK,
	RISK_REASON_COUNT
};

enum risk_side { RISK_BUY = 0, RISK_SELL = 1 };

struct risk_position_limit {
	double max_long;  /* position + working buys + this buy <= max_long */
	double max_short; /* -(position - working sells - this sell) <= max_short */
};

/* The checks of an account that unset limits switch off (risk_limits.off). */
enum risk_check_bit {
	RISK_CHK_RESTRICTED = 1 << 0,  /* a restricted symbol */
	RISK_CHK_ORDER_QTY = 1 << 1,   /* max_order_qty */
	RISK_CHK_PRICE = 1 << 2,       /* max_order_notional, price_collar, stale_reference */
	RISK_CHK_POSITION = 1 << 3,    /* max_position, default or per symbol */
	RISK_CHK_GROSS = 1 << 4,       /* max_gross_exposure */
	RISK_CHK_OPEN_ORDERS = 1 << 5, /* max_open_orders */
	RISK_CHK_DUPLICATE = 1 << 6,   /* duplicate_window */
	RISK_CHK_RATE = 1 << 7,	       /* max_orders_per_sec, max_msgs_per_sec */
	RISK_CHK_THROTTLE = 1 << 8,    /* throttle */
	RISK_CHK_LOSS = 1 << 9,	       /* max_daily_loss, max_drawdown(_pct) */
	RISK_CHK_ALL = (1 << 10) - 1
};

/* Every limit of one account (a strategy, or the firm). Plain data: copy it,
 * edit it with risk_limits_set, load it with risk_limits_from_lua. */
struct risk_limits {
	/* Checks known to be off (RISK_CHK_* bits): all of an off check's limits
	 * are unset, so it cannot fail, and risk_check skips it at no cost.
	 * Zero (risk_limits_init, or a struct never initialised) runs every check;
	 * the risk_limits_* functions only ever clear the bits of what they set;
	 * risk_limits_narrow sets the bits of the checks whose limits are unset.
	 * So: after writing fields by hand, narrow again or not at all. */
	uint32_t off;

	double max_order_qty;			 /* shares per order */
	double max_order_notional;		 /* qty * (limit price, else reference) */
	struct risk_position_limit max_position; /* default for every symbol */
	double price_collar_pct;		 /* |limit - reference| <= pct% of reference */
	int64_t stale_reference_ns;		 /* reference older than this: stale_reference */
	double max_gross_exposure;		 /* view gross + this order's notional */
	double max_open_orders;			 /* open orders + this one */
	double max_orders_per_sec;		 /* new orders in any 1 s sliding window */
	double max_msgs_per_sec;		 /* new orders + cancels in any 1 s window */
	int64_t duplicate_window_ns;		 /* 0 disables */
	double max_daily_loss;			 /* -(realised + unrealised) above it halts */
	double max_drawdown;			 /* peak equity - equity above it halts */
	double max_drawdown_pct;		 /* the same in % of peak equity */
	double throttle_fills;			 /* fill-then-re-enter cycles allowed per window */
	int64_t throttle_window_ns;
	bool reduce_only_when_halted; /* halted: let position-reducing orders pass */

	int n_overrides;
	uint8_t override_slot[RISK_MAX_SYMBOLS]; /* 0 none, else index + 1 */
	struct risk_position_limit override[RISK_MAX_OVERRIDES];
	uint64_t restricted[RISK_MAX_SYMBOLS / 64]; /* bit per symbol id */
};

/* Timestamps of the last RISK_RATE_CAP accepted messages, oldest overwritten. */
struct risk_rate_ring {
	uint32_t head; /* next slot to write */
	uint32_t count;
	int64_t ts[RISK_RATE_CAP];
};

struct risk_dup_entry {
	uint64_t key; /* symbol and side; 0 qty marks an empty entry */
	double qty;
	double price; /* 0 for a market order */
	int64_t ts;   /* when it was last accepted */
};

/* Mutable state of one account. Zero-filled (or risk_state_init) is ready. */
struct risk_state {
	bool halted;
	enum risk_reason halt_reason; /* RISK_HALTED (operator), MAX_LOSS, ... */
	int64_t halted_at_ns;

	struct risk_rate_ring orders; /* accepted new orders */
	struct risk_rate_ring msgs;   /* accepted new orders and cancels */

	/* recent accepted orders, by a hash of (symbol, side, qty, price) */
	struct risk_dup_entry dup[RISK_DUP_SETS][RISK_DUP_WAYS];

	bool fill_pending;		  /* a fill since the last accepted order */
	uint32_t cycle_head, cycle_count; /* fill-then-re-enter cycles */
	int64_t cycle_ts[RISK_THROTTLE_CAP];

	uint64_t checked, accepted;
	uint64_t rejects[RISK_REASON_COUNT]; /* by the limit of this account */
};

struct risk_order {
	int strategy; /* the caller's strategy id, for its logs; not checked */
	int symbol;   /* the caller's symbol id (>= 0) */
	enum risk_side side;
	double qty;	/* a positive whole number */
	double price;	/* limit price; 0 or NaN: market order */
	bool is_cancel; /* a cancel: counts as a message, nothing else */
};

/* What the caller knows of one account at this moment. */
struct risk_account {
	double position;       /* signed quantity held in the order's symbol */
	double working_buy;    /* open buy quantity in the symbol */
	double working_sell;   /* open sell quantity in the symbol */
	double open_orders;    /* open orders, all symbols */
	double gross_exposure; /* sum |position| * price + working notional, all symbols */
	double resting_buy;    /* best price of own resting buys in the symbol, 0 none */
	double resting_sell;   /* best price of own resting sells in the symbol, 0 none */
	double pnl;	       /* realised + unrealised, today */
	double equity, peak_equity;
};

struct risk_view {
	struct risk_account strat; /* the strategy's figures */
	struct risk_account firm;  /* the firm's (all strategies); unused without firm limits */
	double ref_price;	   /* mid, else last trade, else close; 0 or NaN: none */
	int64_t ref_ns;		   /* when ref_price was observed */
	double tick;		   /* price grid; 0: unknown, not checked */
	double lot;		   /* quantity step (risk_qty_ok); 0: whole shares */
	bool symbol_known;
	bool trading; /* the symbol is in continuous trading (not halted/paused) */
	int64_t now_ns;
};

void risk_limits_init(struct risk_limits *l); /* every limit disabled */
/* The RISK_CHK_* bits of the limits set in l. */
uint32_t risk_limits_needed(const struct risk_limits *l);
/* off = the checks risk_limits_needed(l) leaves out: call when done editing l. */
void risk_limits_narrow(struct risk_limits *l);
void risk_state_init(struct risk_state *s);
const char *risk_reason_name(enum risk_reason r); /* "max_order_qty", "ok", ... */
/* The reason for a word, or -1. */
int risk_reason_from_name(const char *name);

/* Per-symbol limits (return 0, or -1 when the id or the table is out of room). */
int risk_limits_set_position(struct risk_limits *l, int symbol, double max_long, double max_short);
int risk_limits_restrict(struct risk_limits *l, int symbol, bool restricted);
struct risk_position_limit risk_limits_position(const struct risk_limits *l, int symbol);

/*
 * The pre-trade check. Returns RISK_OK and records the order (rate windows,
 * duplicate table, throttle) in both states, or the first reason it fails and
 * records nothing. firm_limits / firm_state may both be NULL.
 * A check may halt an account (max_loss, max_drawdown, throttle): look at
 * state->halted / firm_state->halted afterwards and cancel working orders.
 * A cancel (is_cancel) is checked against max_msgs_per_sec only, even halted.
 */
enum risk_reason risk_check(const struct risk_limits *limits, struct risk_state *state,
			    const struct risk_limits *firm_limits, struct risk_state *firm_state,
			    const struct risk_order *order, const struct risk_view *view);

/* Recovery (the journal): an order (or cancel) that passed risk_check
 * before the host restarted, recorded as risk_check recorded it (rate
 * windows, duplicate table, throttle), without checking it again. */
void risk_record(struct risk_state *state, struct risk_state *firm_state,
		 const struct risk_order *order, int64_t now_ns);

/* A fill arrived (call for the strategy and the firm): the next accepted
 * order is a re-entry cycle for the repeated-execution throttle. */
void risk_on_fill(struct risk_state *state, int64_t now_ns);

/* A P&L update: halts on max_loss / max_drawdown. Returns the breach or RISK_OK. */
enum risk_reason risk_on_pnl(const struct risk_limits *limits, struct risk_state *state,
			     const struct risk_account *acct, int64_t now_ns);

/* Operator kill switch and resume. Halting an already halted state keeps the
 * first reason. Resume clears the throttle history too; a loss still over
 * its limit halts again at the next check. */
void risk_halt(struct risk_state *state, enum risk_reason reason, int64_t now_ns);
void risk_resume(struct risk_state *state);

/* The one rule for an order's size, for every order (an operator's too): a
 * whole number of lots, from 1 to 2^53 of them; lot 0 or 1 is whole shares
 * (checked exactly), a fractional lot (crypto, FX: 0.0001) within 1e-9. */
bool risk_qty_ok(double qty, double lot);

/* Whether the order lowers |position| without crossing zero, counting the
 * account's working orders on its side. */
bool risk_is_reducing(const struct risk_order *order, const struct risk_account *acct);

#endif
