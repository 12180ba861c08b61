/*
 * test_risk — every pre-trade check at its limit and one unit over, for the
 * strategy's limits and for the firm's; windows, halts, reduce-only; the
 * config loader's and `ctl set`'s error texts.
 */
#include "lua_compat.h"
#include "check.h"
#include "risk_config.h"


#include <stdlib.h>

#define T0 1700000000000000000LL /* a plausible now, in ns */
#define MS 1000000LL
#define SEC RISK_NS_PER_SEC

static struct risk_limits L, FL;    /* strategy, firm */
static struct risk_state S, S2, FS; /* two strategies, the firm */

/* The second pass runs every test again with the limits narrowed
 * (risk_limits_narrow on a copy, as the engine does after each change): a
 * check skipped by the mask must never change an answer. */
static bool narrowed;

static enum risk_reason check_as_engine(const struct risk_limits *l, struct risk_state *s,
					const struct risk_limits *fl, struct risk_state *fs,
					const struct risk_order *o, const struct risk_view *v)
{
	if (!narrowed)
		return risk_check(l, s, fl, fs, o, v);
	static struct risk_limits nl, nfl;
	nl = *l;
	risk_limits_narrow(&nl);
	if (fl) {
		nfl = *fl;
		risk_limits_narrow(&nfl);
	}
	return risk_check(&nl, s, fl ? &nfl : NULL, fs, o, v);
}

static void reset(void)
{
	risk_limits_init(&L);
	risk_limits_init(&FL);
	risk_state_init(&S);
	risk_state_init(&S2);
	risk_state_init(&FS);
}

static struct risk_view view(void)
{
	struct risk_view v;
	memset(&v, 0, sizeof v);
	v.ref_price = 100.0;
	v.ref_ns = T0;
	v.tick = 0.01;
	v.symbol_known = true;
	v.trading = true;
	v.now_ns = T0;
	v.strat.equity = v.strat.peak_equity = 1e6;
	v.firm.equity = v.firm.peak_equity = 1e7;
	return v;
}

static struct risk_order order(enum risk_side side, double qty, double price)
{
	struct risk_order o = {
	    .strategy = 1, .symbol = 5, .side = side, .qty = qty, .price = price};
	return o;
}

static struct risk_order buy(double qty, double price)
{
	return order(RISK_BUY, qty, price);
}

static struct risk_order sell(double qty, double price)
{
	return order(RISK_SELL, qty, price);
}

static struct risk_order cancel(void)
{
	struct risk_order o = {.strategy = 1, .symbol = 5, .is_cancel = true};
	return o;
}

static enum risk_reason chk(struct risk_order o, struct risk_view v)
{
	return check_as_engine(&L, &S, &FL, &FS, &o, &v);
}

static enum risk_reason chk2(struct risk_order o, struct risk_view v)
{
	return check_as_engine(&L, &S2, &FL, &FS, &o, &v);
}

/*
 * The shape of most tests: with the limit set on one account (strategy, then
 * firm), the order `make(false)` builds is accepted, the one `make(true)`
 * builds is rejected with `want`, counted against that account only, and
 * records nothing; with every limit disabled the over order passes.
 * make fills the figures of the account under test (a).
 */
typedef void (*set_fn)(struct risk_limits *);
typedef void (*make_fn)(bool over, struct risk_order *, struct risk_view *, struct risk_account *);

static void boundary(set_fn set, make_fn make, enum risk_reason want)
{
	for (int firm = 0; firm <= 1; firm++) {
		struct risk_order o;
		struct risk_view v;
		reset();
		set(firm ? &FL : &L);

		v = view();
		make(false, &o, &v, firm ? &v.firm : &v.strat);
		CHECK_EQ_INT(check_as_engine(&L, &S, &FL, &FS, &o, &v), RISK_OK);

		v = view();
		v.now_ns += SEC; /* the over order comes later: no window overlaps */
		make(true, &o, &v, firm ? &v.firm : &v.strat);
		CHECK_EQ_INT(check_as_engine(&L, &S, &FL, &FS, &o, &v), want);
		CHECK_EQ_INT((firm ? &FS : &S)->rejects[want], 1);
		CHECK_EQ_INT((firm ? &S : &FS)->rejects[want], 0);
		CHECK_EQ_INT(S.accepted, 1);
		CHECK_EQ_INT(FS.accepted, 1);
		CHECK_EQ_INT(S.orders.count, 1);
		CHECK_EQ_INT(FS.orders.count, 1);
		CHECK(!S.halted && !FS.halted);

		/* the limit, not something else, rejected it */
		reset();
		v = view();
		make(true, &o, &v, firm ? &v.firm : &v.strat);
		CHECK_EQ_INT(check_as_engine(&L, &S, &FL, &FS, &o, &v), RISK_OK);
	}
}

/* ---------------------------------------------------------------- names */

static void test_reason_names(void)
{
	static const char *const words[] = {
	    "ok",
	    "max_order_qty",
	    "max_order_notional",
	    "max_position",
	    "price_collar",
	    "stale_reference",
	    "rate_limit",
	    "max_open_orders",
	    "max_loss",
	    "max_drawdown",
	    "halted",
	    "restricted",
	    "duplicate",
	    "self_cross",
	    "max_gross_exposure",
	    "throttle",
	    "bad_qty",
	    "bad_price",
	    "unknown_symbol",
	    "not_trading",
	    "off_tick",
	};
	CHECK_EQ_INT(RISK_OK, 0);
	CHECK_EQ_INT(sizeof words / sizeof words[0], RISK_REASON_COUNT);
	for (int i = 0; i < RISK_REASON_COUNT; i++) {
		CHECK_STR(risk_reason_name((enum risk_reason)i), words[i]);
		CHECK_EQ_INT(risk_reason_from_name(words[i]), i);
	}
	CHECK_STR(risk_reason_name(RISK_MAX_POSITION), "max_position");
	CHECK_STR(risk_reason_name(RISK_SELF_CROSS), "self_cross");
	CHECK_STR(risk_reason_name(RISK_REASON_COUNT), "unknown");
	CHECK_STR(risk_reason_name((enum risk_reason) - 1), "unknown");
	CHECK_EQ_INT(risk_reason_from_name("nope"), -1);
}

/* ---------------------------------------------------------------- defaults, sanity */

static void test_all_disabled_accepts(void)
{
	reset();
	struct risk_view v = view();
	v.ref_price = 0; /* no reference at all */
	v.strat.position = 1e12;
	v.strat.open_orders = 1e9;
	v.strat.gross_exposure = 1e15;
	v.strat.pnl = -1e12;
	v.strat.equity = 0;
	CHECK_EQ_INT(chk(buy(1e9, 0), v), RISK_OK);
	CHECK_EQ_INT(chk(buy(1e9, 0), v), RISK_OK); /* no duplicate window */
	CHECK_EQ_INT(chk(sell(5, 99.5), v), RISK_OK);
	CHECK_EQ_INT(
	    check_as_engine(&L, &S, NULL, NULL, &(struct risk_order){.symbol = 1, .qty = 1}, &v),
	    RISK_OK);
	CHECK(!S.halted);
	CHECK_EQ_INT(S.checked, 4);
	CHECK_EQ_INT(S.accepted, 4);
	CHECK_EQ_INT(FS.checked, 3); /* the NULL-firm call left the firm alone */
}

static void test_zero_limits_fail_closed(void)
{
	/* limits never initialised are all 0: nothing goes out */
	reset();
	memset(&L, 0, sizeof L);
	CHECK_EQ_INT(chk(buy(1, 100), view()), RISK_MAX_ORDER_QTY);
	/* a rate of 0 (set by hand; config and ctl refuse it) blocks every order */
	reset();
	L.max_orders_per_sec = 0;
	CHECK_EQ_INT(chk(buy(1, 100), view()), RISK_RATE_LIMIT);
	reset();
	L.max_msgs_per_sec = 0.5;
	CHECK_EQ_INT(chk(cancel(), view()), RISK_RATE_LIMIT);
	/* a rate over the ring's capacity acts as the capacity */
	reset();
	L.max_orders_per_sec = 1e9;
	struct risk_view v = view();
	int ok = 0;
	for (int i = 0; i < RISK_RATE_CAP; i++)
		ok += chk(buy(1, 100), v) == RISK_OK;
	CHECK_EQ_INT(ok, RISK_RATE_CAP);
	CHECK_EQ_INT(chk(buy(1, 100), v), RISK_RATE_LIMIT);
}

static void test_bad_qty(void)
{
	reset();
	struct risk_view v = view();
	CHECK_EQ_INT(chk(buy(1, 100), v), RISK_OK);
	CHECK_EQ_INT(chk(buy(0, 100), v), RISK_BAD_QTY);
	CHECK_EQ_INT(chk(buy(-1, 100), v), RISK_BAD_QTY);
	CHECK_EQ_INT(chk(buy(0.5, 100), v), RISK_BAD_QTY);
	CHECK_EQ_INT(chk(buy(1.5, 100), v), RISK_BAD_QTY);
	CHECK_EQ_INT(chk(sell(NAN, 100), v), RISK_BAD_QTY);
	CHECK_EQ_INT(chk(sell(INFINITY, 100), v), RISK_BAD_QTY);
	CHECK_EQ_INT(chk(sell(1e300, 100), v), RISK_BAD_QTY);
	CHECK_EQ_INT(chk(sell(9007199254740992.0, 100), v), RISK_OK); /* 2^53 */
	CHECK_EQ_INT(S.rejects[RISK_BAD_QTY], 7);
	CHECK_EQ_INT(S.accepted, 2);
}

static void test_bad_price(void)
{
	reset();
	struct risk_view v = view();
	CHECK_EQ_INT(chk(buy(1, -0.01), v), RISK_BAD_PRICE);
	CHECK_EQ_INT(chk(buy(1, INFINITY), v), RISK_BAD_PRICE);
	CHECK_EQ_INT(chk(buy(1, -INFINITY), v), RISK_BAD_PRICE);
	CHECK_EQ_INT(chk(buy(1, 0), v), RISK_OK);   /* market */
	CHECK_EQ_INT(chk(buy(1, NAN), v), RISK_OK); /* market */
	CHECK_EQ_INT(chk(buy(1, 0.01), v), RISK_OK);
	CHECK_EQ_INT(S.rejects[RISK_BAD_PRICE], 3);
}

static void test_unknown_symbol_not_trading(void)
{
	reset();
	struct risk_view v = view();
	struct risk_order o = buy(1, 100);
	v.symbol_known = false;
	CHECK_EQ_INT(chk(o, v), RISK_UNKNOWN_SYMBOL);
	v.symbol_known = true;
	o.symbol = -1;
	CHECK_EQ_INT(chk(o, v), RISK_UNKNOWN_SYMBOL);
	o.symbol = RISK_MAX_SYMBOLS + 10; /* beyond the per-symbol table: still fine */
	CHECK_EQ_INT(chk(o, v), RISK_OK);
	v.trading = false;
	CHECK_EQ_INT(chk(buy(1, 100), v), RISK_NOT_TRADING);
	v.trading = true;
	CHECK_EQ_INT(chk(buy(2, 100), v), RISK_OK);
	CHECK_EQ_INT(S.rejects[RISK_UNKNOWN_SYMBOL], 2);
	CHECK_EQ_INT(S.rejects[RISK_NOT_TRADING], 1);
}

static void test_off_tick(void)
{
	reset();
	struct risk_view v = view();
	CHECK_EQ_INT(chk(buy(1, 100.01), v), RISK_OK);
	CHECK_EQ_INT(chk(buy(1, 100.005), v), RISK_OFF_TICK);
	CHECK_EQ_INT(chk(buy(1, 100.011), v), RISK_OFF_TICK);
	CHECK_EQ_INT(chk(buy(1, 100.00001), v), RISK_OFF_TICK); /* a thousandth of a tick */
	CHECK_EQ_INT(chk(buy(1, 123456.78), v), RISK_OK);
	CHECK_EQ_INT(chk(buy(1, 0.07), v), RISK_OK);
	CHECK_EQ_INT(chk(buy(1, 0), v), RISK_OK); /* market: no grid */
	v.tick = 0.05;
	CHECK_EQ_INT(chk(buy(1, 10.15), v), RISK_OK);
	CHECK_EQ_INT(chk(buy(1, 10.12), v), RISK_OFF_TICK);
	v.tick = 0; /* unknown: not checked */
	CHECK_EQ_INT(chk(buy(1, 10.123456), v), RISK_OK);
	v.tick = 0.0001;
	CHECK_EQ_INT(chk(buy(1, 1234.5678), v), RISK_OK);
	CHECK_EQ_INT(chk(buy(1, 1234.56785), v), RISK_OFF_TICK);
	CHECK_EQ_INT(S.rejects[RISK_OFF_TICK], 5);
}

/* ---------------------------------------------------------------- fat finger */

static void set_qty(struct risk_limits *l)
{
	l->max_order_qty = 1000;
}
static void make_qty(bool over, struct risk_order *o, struct risk_view *v, struct risk_account *a)
{
	(void)v, (void)a;
	*o = buy(over ? 1001 : 1000, 100);
}

static void test_max_order_qty(void)
{
	boundary(set_qty, make_qty, RISK_MAX_ORDER_QTY);
	reset();
	set_qty(&L);
	CHECK_EQ_INT(chk(sell(1001, 0), view()), RISK_MAX_ORDER_QTY); /* sells and markets too */
	CHECK_EQ_INT(chk(sell(1000, 0), view()), RISK_OK);
}

static void set_notional(struct risk_limits *l)
{
	l->max_order_notional = 10000;
}
static void make_notional(bool over, struct risk_order *o, struct risk_view *v,
			  struct risk_account *a)
{
	(void)v, (void)a;
	*o = sell(100, over ? 100.01 : 100.00);
}
static void make_notional_market(bool over, struct risk_order *o, struct risk_view *v,
				 struct risk_account *a)
{
	(void)a;
	*o = buy(100, 0);
	v->ref_price = over ? 100.01 : 100.0; /* a market order is valued at the reference */
}

static void test_max_order_notional(void)
{
	boundary(set_notional, make_notional, RISK_MAX_ORDER_NOTIONAL);
	boundary(set_notional, make_notional_market, RISK_MAX_ORDER_NOTIONAL);
}

/* ---------------------------------------------------------------- price collar */

static void set_collar(struct risk_limits *l)
{
	l->price_collar_pct = 5;
}
static void make_collar_up(bool over, struct risk_order *o, struct risk_view *v,
			   struct risk_account *a)
{
	(void)v, (void)a;
	*o = buy(10, over ? 105.01 : 105.00);
}
static void make_collar_down(bool over, struct risk_order *o, struct risk_view *v,
			     struct risk_account *a)
{
	(void)v, (void)a;
	*o = sell(10, over ? 94.99 : 95.00);
}
static void make_collar_odd(bool over, struct risk_order *o, struct risk_view *v,
			    struct risk_account *a)
{
	(void)a;
	v->ref_price = 123.45;
	v->tick = 0.00001;
	*o = buy(10, over ? 129.62251 : 129.6225); /* 123.45 * 1.05 = 129.6225 */
}

/* 11.40 * 1.05 = 11.97 exactly, yet in doubles |11.97 - 11.4| > 11.4 * 5 / 100 */
static void make_collar_fp(bool over, struct risk_order *o, struct risk_view *v,
			   struct risk_account *a)
{
	(void)a;
	v->ref_price = 11.40;
	*o = buy(10, over ? 11.98 : 11.97);
}

static void test_price_collar(void)
{
	boundary(set_collar, make_collar_up, RISK_PRICE_COLLAR);
	boundary(set_collar, make_collar_down, RISK_PRICE_COLLAR);
	boundary(set_collar, make_collar_odd, RISK_PRICE_COLLAR);
	boundary(set_collar, make_collar_fp, RISK_PRICE_COLLAR);
	/* a market order has no price to collar, but needs a live reference */
	reset();
	set_collar(&L);
	CHECK_EQ_INT(chk(buy(10, 0), view()), RISK_OK);
}

static void set_stale(struct risk_limits *l)
{
	l->price_collar_pct = 5;
	l->stale_reference_ns = 500 * MS;
}
static void make_stale(bool over, struct risk_order *o, struct risk_view *v, struct risk_account *a)
{
	(void)a;
	*o = buy(10, 101);
	v->ref_ns = v->now_ns - 500 * MS - (over ? 1 : 0);
}
static void make_stale_market(bool over, struct risk_order *o, struct risk_view *v,
			      struct risk_account *a)
{
	(void)a;
	*o = sell(10, 0);
	v->ref_ns = v->now_ns - 500 * MS - (over ? 1 : 0);
}

static void test_stale_reference(void)
{
	boundary(set_stale, make_stale, RISK_STALE_REFERENCE);
	boundary(set_stale, make_stale_market, RISK_STALE_REFERENCE);

	/* a missing reference fails closed whenever a limit needs it */
	reset();
	set_collar(&L);
	struct risk_view v = view();
	v.ref_price = 0;
	CHECK_EQ_INT(chk(buy(10, 100), v), RISK_STALE_REFERENCE);
	v.ref_price = NAN;
	CHECK_EQ_INT(chk(buy(10, 100), v), RISK_STALE_REFERENCE);
	v.ref_price = INFINITY;
	CHECK_EQ_INT(chk(buy(10, 100), v), RISK_STALE_REFERENCE);

	reset();
	L.max_order_notional = 1e9; /* a market order cannot be valued */
	CHECK_EQ_INT(chk(buy(10, 0), v), RISK_STALE_REFERENCE);
	CHECK_EQ_INT(chk(buy(10, 100), v), RISK_OK); /* a limit order can */

	reset();
	L.max_gross_exposure = 1e9;
	CHECK_EQ_INT(chk(sell(10, 0), v), RISK_STALE_REFERENCE);

	reset(); /* no limit uses the reference: no verdict on it */
	L.stale_reference_ns = 1;
	v.ref_ns = 0;
	CHECK_EQ_INT(chk(sell(10, 0), v), RISK_OK);

	reset(); /* a reference stamped from the future, or far past, never overflows */
	set_stale(&L);
	v = view();
	v.ref_ns = INT64_MIN;
	CHECK_EQ_INT(chk(buy(10, 100), v), RISK_STALE_REFERENCE);
	v.ref_ns = INT64_MAX;
	CHECK_EQ_INT(chk(buy(10, 100), v), RISK_OK);
}

/* ---------------------------------------------------------------- positions, exposure */

static void set_position(struct risk_limits *l)
{
	l->max_position.max_long = 1000;
	l->max_position.max_short = 800;
}
static void make_long(bool over, struct risk_order *o, struct risk_view *v, struct risk_account *a)
{
	(void)v;
	a->position = 500;
	a->working_buy = 400;  /* counted at its worst */
	a->working_sell = 300; /* does not offset */
	*o = buy(over ? 101 : 100, 100);
}
static void make_short(bool over, struct risk_order *o, struct risk_view *v, struct risk_account *a)
{
	(void)v;
	a->position = -300;
	a->working_sell = 400;
	a->working_buy = 700;
	*o = sell(over ? 101 : 100, 100);
}
static void make_short_from_long(bool over, struct risk_order *o, struct risk_view *v,
				 struct risk_account *a)
{
	(void)v;
	a->position = 200;
	*o = sell(over ? 1001 : 1000, 100); /* ends at -800 */
}

static void test_max_position(void)
{
	boundary(set_position, make_long, RISK_MAX_POSITION);
	boundary(set_position, make_short, RISK_MAX_POSITION);
	boundary(set_position, make_short_from_long, RISK_MAX_POSITION);

	/* the strategy's limit reads the strategy's figures, not the firm's */
	reset();
	set_position(&L);
	struct risk_view v = view();
	v.firm.position = 1e6;
	CHECK_EQ_INT(chk(buy(1000, 100), v), RISK_OK);
	v = view();
	v.strat.position = 1;
	CHECK_EQ_INT(chk(buy(1000, 100), v), RISK_MAX_POSITION);

	/* an order that reduces a position over the limit passes */
	reset();
	set_position(&L);
	v = view();
	v.strat.position = -5000;
	CHECK_EQ_INT(chk(buy(100, 100), v), RISK_OK);
	v.strat.position = 5000;
	CHECK_EQ_INT(chk(sell(100, 100.01), v), RISK_OK);

	/* a zero limit allows flat only */
	reset();
	L.max_position.max_long = L.max_position.max_short = 0;
	CHECK_EQ_INT(chk(buy(1, 100), view()), RISK_MAX_POSITION);
	v = view();
	v.strat.position = -1;
	CHECK_EQ_INT(chk(buy(1, 100), v), RISK_OK);
}

static void set_override(struct risk_limits *l)
{
	l->max_position.max_long = l->max_position.max_short = 1000;
	CHECK_EQ_INT(risk_limits_set_position(l, 5, 50, 20), 0);
}
static void make_override_long(bool over, struct risk_order *o, struct risk_view *v,
			       struct risk_account *a)
{
	(void)v, (void)a;
	*o = buy(over ? 51 : 50, 100);
}
static void make_override_short(bool over, struct risk_order *o, struct risk_view *v,
				struct risk_account *a)
{
	(void)v, (void)a;
	*o = sell(over ? 21 : 20, 100);
}

static void test_position_overrides(void)
{
	boundary(set_override, make_override_long, RISK_MAX_POSITION);
	boundary(set_override, make_override_short, RISK_MAX_POSITION);

	reset();
	set_override(&L);
	struct risk_order o = buy(1000, 100);
	o.symbol = 6; /* no override: the default */
	CHECK_EQ_INT(chk(o, view()), RISK_OK);
	o.qty = 1001;
	CHECK_EQ_INT(chk(o, view()), RISK_MAX_POSITION);
	CHECK_NEAR(risk_limits_position(&L, 5).max_long, 50, 0);
	CHECK_NEAR(risk_limits_position(&L, 5).max_short, 20, 0);
	CHECK_NEAR(risk_limits_position(&L, 6).max_long, 1000, 0);
	CHECK_NEAR(risk_limits_position(&L, -1).max_long, 1000, 0);
	CHECK_NEAR(risk_limits_position(&L, RISK_MAX_SYMBOLS).max_long, 1000, 0);

	/* replacing an override reuses its slot; the table has a fixed capacity */
	CHECK_EQ_INT(risk_limits_set_position(&L, 5, 60, 30), 0);
	CHECK_EQ_INT(L.n_overrides, 1);
	CHECK_NEAR(risk_limits_position(&L, 5).max_long, 60, 0);
	for (int i = 100; i < 100 + RISK_MAX_OVERRIDES - 1; i++)
		CHECK_EQ_INT(risk_limits_set_position(&L, i, 1, 1), 0);
	CHECK_EQ_INT(L.n_overrides, RISK_MAX_OVERRIDES);
	CHECK_EQ_INT(risk_limits_set_position(&L, 7, 1, 1), -1);
	CHECK_EQ_INT(risk_limits_set_position(&L, 100, 2, 2), 0); /* existing: fine */
	CHECK_EQ_INT(risk_limits_set_position(&L, -1, 1, 1), -1);
	CHECK_EQ_INT(risk_limits_set_position(&L, RISK_MAX_SYMBOLS, 1, 1), -1);
}

static void set_gross(struct risk_limits *l)
{
	l->max_gross_exposure = 1e6;
}
static void make_gross(bool over, struct risk_order *o, struct risk_view *v, struct risk_account *a)
{
	(void)v;
	a->gross_exposure = 990000;
	*o = buy(100, over ? 100.01 : 100.00);
}
static void make_gross_market(bool over, struct risk_order *o, struct risk_view *v,
			      struct risk_account *a)
{
	a->gross_exposure = 990000;
	v->ref_price = over ? 100.01 : 100.00;
	*o = sell(100, 0);
}

static void test_max_gross_exposure(void)
{
	boundary(set_gross, make_gross, RISK_MAX_GROSS_EXPOSURE);
	boundary(set_gross, make_gross_market, RISK_MAX_GROSS_EXPOSURE);

	/* a reducing order is let through over the limit */
	reset();
	set_gross(&L);
	struct risk_view v = view();
	v.strat.gross_exposure = 2e6;
	v.strat.position = 500;
	CHECK_EQ_INT(chk(sell(500, 100), v), RISK_OK);
	CHECK_EQ_INT(chk(sell(501, 100), v), RISK_MAX_GROSS_EXPOSURE); /* crosses zero */
	CHECK_EQ_INT(chk(buy(1, 100), v), RISK_MAX_GROSS_EXPOSURE);
	v.strat.gross_exposure = NAN; /* a figure gone bad fails closed */
	CHECK_EQ_INT(chk(buy(1, 100), v), RISK_MAX_GROSS_EXPOSURE);
}

static void set_open(struct risk_limits *l)
{
	l->max_open_orders = 10;
}
static void make_open(bool over, struct risk_order *o, struct risk_view *v, struct risk_account *a)
{
	(void)v;
	a->open_orders = over ? 10 : 9;
	*o = buy(1, 100);
}

static void test_max_open_orders(void)
{
	boundary(set_open, make_open, RISK_MAX_OPEN_ORDERS);
}

/* ---------------------------------------------------------------- restricted, self-cross */

static void set_restricted(struct risk_limits *l)
{
	CHECK_EQ_INT(risk_limits_restrict(l, 9, true), 0);
}
static void make_restricted(bool over, struct risk_order *o, struct risk_view *v,
			    struct risk_account *a)
{
	(void)v, (void)a;
	*o = sell(1, 100);
	o->symbol = over ? 9 : 8;
}

static void test_restricted(void)
{
	boundary(set_restricted, make_restricted, RISK_RESTRICTED);
	reset();
	set_restricted(&L);
	struct risk_order o = buy(1, 0);
	o.symbol = 9;
	CHECK_EQ_INT(chk(o, view()), RISK_RESTRICTED);
	o.symbol = 9 + 64; /* same bit in another word */
	CHECK_EQ_INT(chk(o, view()), RISK_OK);
	CHECK_EQ_INT(risk_limits_restrict(&L, 9, false), 0);
	o.symbol = 9;
	CHECK_EQ_INT(chk(o, view()), RISK_OK);
	CHECK_EQ_INT(risk_limits_restrict(&L, RISK_MAX_SYMBOLS - 1, true), 0);
	o.symbol = RISK_MAX_SYMBOLS - 1;
	CHECK_EQ_INT(chk(o, view()), RISK_RESTRICTED);
	CHECK_EQ_INT(risk_limits_restrict(&L, RISK_MAX_SYMBOLS, true), -1);
	CHECK_EQ_INT(risk_limits_restrict(&L, -1, true), -1);
}

static void make_cross_buy(bool over, struct risk_order *o, struct risk_view *v,
			   struct risk_account *a)
{
	(void)v;
	a->resting_sell = 100.50;
	a->resting_buy = 99.00;
	*o = buy(10, over ? 100.50 : 100.49);
}
static void make_cross_sell(bool over, struct risk_order *o, struct risk_view *v,
			    struct risk_account *a)
{
	(void)v;
	a->resting_buy = 99.50;
	a->resting_sell = 101.00;
	*o = sell(10, over ? 99.50 : 99.51);
}

static void test_self_cross(void)
{
	/* always on: the "limit" is the account's own resting orders */
	for (int firm = 0; firm <= 1; firm++) {
		reset();
		struct risk_order o;
		struct risk_view v = view();
		make_cross_buy(false, &o, &v, firm ? &v.firm : &v.strat);
		CHECK_EQ_INT(chk(o, v), RISK_OK);
		make_cross_buy(true, &o, &v, firm ? &v.firm : &v.strat);
		CHECK_EQ_INT(chk(o, v), RISK_SELF_CROSS);
		CHECK_EQ_INT((firm ? &FS : &S)->rejects[RISK_SELF_CROSS], 1);
		CHECK_EQ_INT((firm ? &S : &FS)->rejects[RISK_SELF_CROSS], 0);
		make_cross_sell(false, &o, &v, firm ? &v.firm : &v.strat);
		CHECK_EQ_INT(chk(o, v), RISK_OK);
		make_cross_sell(true, &o, &v, firm ? &v.firm : &v.strat);
		CHECK_EQ_INT(chk(o, v), RISK_SELF_CROSS);
		CHECK_EQ_INT(chk(buy(10, 0), v), RISK_SELF_CROSS); /* a market buy crosses */
		CHECK_EQ_INT(chk(sell(10, 0), v), RISK_SELF_CROSS);
	}
	/* the firm view is used only when there are firm limits */
	reset();
	struct risk_view v = view();
	v.firm.resting_sell = 100;
	struct risk_order o = buy(1, 101);
	CHECK_EQ_INT(check_as_engine(&L, &S, NULL, &FS, &o, &v), RISK_OK);
	CHECK_EQ_INT(FS.checked, 0);
	/* no resting orders: nothing to cross */
	CHECK_EQ_INT(chk(buy(1, 0), view()), RISK_OK);
}

/* ---------------------------------------------------------------- rates */

static void test_rate_limit_window_slides(void)
{
	for (int firm = 0; firm <= 1; firm++) {
		reset();
		(firm ? &FL : &L)->max_orders_per_sec = 1;
		struct risk_view v = view();
		CHECK_EQ_INT(chk(buy(1, 100), v), RISK_OK); /* at t */
		v.now_ns = T0 + SEC - 1;
		CHECK_EQ_INT(chk(buy(2, 100), v), RISK_RATE_LIMIT);
		v.now_ns = T0 + SEC; /* t + 1 s: t has left the window */
		CHECK_EQ_INT(chk(buy(3, 100), v), RISK_OK);
		CHECK_EQ_INT(chk(buy(4, 100), v), RISK_RATE_LIMIT);
		CHECK_EQ_INT((firm ? &FS : &S)->rejects[RISK_RATE_LIMIT], 2);
		CHECK_EQ_INT((firm ? &S : &FS)->rejects[RISK_RATE_LIMIT], 0);
	}
}

static void test_rate_limit_at_limit(void)
{
	for (int firm = 0; firm <= 1; firm++) {
		reset();
		(firm ? &FL : &L)->max_orders_per_sec = 50;
		struct risk_view v = view();
		for (int i = 0; i < 50; i++) {
			v.now_ns = T0 + i * 10 * MS; /* 50 orders within 0.5 s */
			CHECK_EQ_INT(chk(buy(1 + i, 100), v), RISK_OK);
		}
		v.now_ns = T0 + 999 * MS;
		CHECK_EQ_INT(chk(buy(999, 100), v), RISK_RATE_LIMIT); /* the 51st */
		v.now_ns = T0 + SEC; /* the first left: one more fits */
		CHECK_EQ_INT(chk(buy(999, 100), v), RISK_OK);
		CHECK_EQ_INT(chk(buy(998, 100), v), RISK_RATE_LIMIT);
		v.now_ns = T0 + SEC + 10 * MS;
		CHECK_EQ_INT(chk(buy(998, 100), v), RISK_OK);
	}
}

static void test_rejected_orders_do_not_consume_rate(void)
{
	reset();
	L.max_orders_per_sec = 2;
	L.max_msgs_per_sec = 2;
	L.max_order_qty = 100;
	struct risk_view v = view();
	/* rejected for another reason: no budget used */
	for (int i = 0; i < 5; i++)
		CHECK_EQ_INT(chk(buy(101, 100), v), RISK_MAX_ORDER_QTY);
	CHECK_EQ_INT(S.orders.count, 0);
	CHECK_EQ_INT(S.msgs.count, 0);
	CHECK_EQ_INT(chk(buy(1, 100), v), RISK_OK);
	v.now_ns = T0 + 500 * MS;
	CHECK_EQ_INT(chk(buy(2, 100), v), RISK_OK);
	/* rejected by the rate limit itself: no budget used either */
	for (int i = 0; i < 5; i++) {
		v.now_ns = T0 + 600 * MS + i;
		CHECK_EQ_INT(chk(buy(3, 100), v), RISK_RATE_LIMIT);
	}
	CHECK_EQ_INT(S.orders.count, 2);
	v.now_ns = T0 + SEC; /* only the order at +0.5 s remains in the window */
	CHECK_EQ_INT(chk(buy(3, 100), v), RISK_OK);
	CHECK_EQ_INT(chk(buy(4, 100), v), RISK_RATE_LIMIT);

	/* an order the firm rejects is not counted against the strategy */
	reset();
	FL.max_order_qty = 100;
	L.max_orders_per_sec = 1;
	CHECK_EQ_INT(chk(buy(101, 100), view()), RISK_MAX_ORDER_QTY);
	CHECK_EQ_INT(S.orders.count, 0);
	CHECK_EQ_INT(chk(buy(100, 100), view()), RISK_OK);
}

static void test_msgs_per_sec_counts_cancels(void)
{
	for (int firm = 0; firm <= 1; firm++) {
		reset();
		(firm ? &FL : &L)->max_msgs_per_sec = 3;
		struct risk_view v = view();
		CHECK_EQ_INT(chk(buy(1, 100), v), RISK_OK);
		CHECK_EQ_INT(chk(cancel(), v), RISK_OK);
		CHECK_EQ_INT(chk(buy(2, 100), v), RISK_OK);
		CHECK_EQ_INT(chk(buy(3, 100), v), RISK_RATE_LIMIT);
		CHECK_EQ_INT(chk(cancel(), v), RISK_RATE_LIMIT);
		v.now_ns = T0 + SEC; /* all three have left the window */
		for (int i = 0; i < 3; i++)
			CHECK_EQ_INT(chk(cancel(), v), RISK_OK);
		CHECK_EQ_INT(chk(cancel(), v), RISK_RATE_LIMIT);
		CHECK_EQ_INT((firm ? &FS : &S)->rejects[RISK_RATE_LIMIT], 3);
	}
	/* cancels are messages, not orders */
	reset();
	L.max_orders_per_sec = 2;
	struct risk_view v = view();
	CHECK_EQ_INT(chk(buy(1, 100), v), RISK_OK);
	for (int i = 0; i < 20; i++)
		CHECK_EQ_INT(chk(cancel(), v), RISK_OK);
	CHECK_EQ_INT(chk(buy(2, 100), v), RISK_OK);
	CHECK_EQ_INT(chk(buy(3, 100), v), RISK_RATE_LIMIT);
	CHECK_EQ_INT(chk(cancel(), v), RISK_OK);
	CHECK_EQ_INT(S.orders.count, 2);
	CHECK_EQ_INT(S.msgs.count, 23);
}

static void test_firm_rate_spans_strategies(void)
{
	reset();
	FL.max_orders_per_sec = 2;
	struct risk_view v = view();
	CHECK_EQ_INT(chk(buy(1, 100), v), RISK_OK);
	CHECK_EQ_INT(chk2(buy(1, 100), v), RISK_OK);
	CHECK_EQ_INT(chk2(buy(2, 100), v), RISK_RATE_LIMIT);
	CHECK_EQ_INT(chk(buy(2, 100), v), RISK_RATE_LIMIT);
	CHECK_EQ_INT(FS.rejects[RISK_RATE_LIMIT], 2);
	CHECK_EQ_INT(S.orders.count, 1);
	CHECK_EQ_INT(S2.orders.count, 1);
	CHECK_EQ_INT(FS.orders.count, 2);
}

/* A brute-force oracle: accepted iff fewer than limit accepted in (now - 1 s, now]. */
static int64_t accepted_at[3 * RISK_RATE_CAP];

static void test_rate_ring_wraps(void)
{
	for (int limit = 1; limit <= RISK_RATE_CAP; limit *= 8) {
		reset();
		L.max_orders_per_sec = limit;
		int lim = limit, n = 0, ok = 0, agree = 0;
		struct risk_view v = view();
		/* 3x the ring at 1.5x the limit, uneven gaps: the ring wraps */
		int total = 3 * RISK_RATE_CAP;
		for (int i = 0; i < total; i++) {
			v.now_ns = T0 + (int64_t)i * SEC * 2 / (3 * lim) + (i % 7) * 1000;
			int in_window = 0;
			for (int j = n - 1; j >= 0 && v.now_ns - accepted_at[j] < SEC; j--)
				in_window++;
			bool want = in_window < lim;
			bool got = chk(buy(1, 100), v) == RISK_OK;
			agree += want == got;
			if (got) {
				accepted_at[n++] = v.now_ns;
				ok++;
			}
		}
		CHECK_EQ_INT(agree, total);
		CHECK(ok > lim);
		CHECK(ok < total);
		CHECK_EQ_INT(S.orders.count, ok < RISK_RATE_CAP ? ok : RISK_RATE_CAP);
		CHECK_EQ_INT(ok + (int)S.rejects[RISK_RATE_LIMIT], total);
	}
}

/* ---------------------------------------------------------------- duplicates */

static void test_duplicate_window(void)
{
	for (int firm = 0; firm <= 1; firm++) {
		reset();
		(firm ? &FL : &L)->duplicate_window_ns = 100 * MS;
		struct risk_view v = view();
		CHECK_EQ_INT(chk(buy(100, 100.25), v), RISK_OK);
		v.now_ns = T0 + 100 * MS - 1; /* inside */
		CHECK_EQ_INT(chk(buy(100, 100.25), v), RISK_DUPLICATE);
		CHECK_EQ_INT((firm ? &FS : &S)->rejects[RISK_DUPLICATE], 1);
		CHECK_EQ_INT((firm ? &S : &FS)->rejects[RISK_DUPLICATE], 0);
		/* any difference is not a duplicate */
		CHECK_EQ_INT(chk(buy(101, 100.25), v), RISK_OK);
		CHECK_EQ_INT(chk(buy(100, 100.26), v), RISK_OK);
		CHECK_EQ_INT(chk(sell(100, 100.25), v), RISK_OK);
		struct risk_order o = buy(100, 100.25);
		o.symbol = 6;
		CHECK_EQ_INT(chk(o, v), RISK_OK);
		v.now_ns = T0 + 100 * MS; /* outside: the first has expired */
		CHECK_EQ_INT(chk(buy(100, 100.25), v), RISK_OK);
		/* ... but the repeat just accepted is now the one to match */
		CHECK_EQ_INT(chk(buy(100, 100.25), v), RISK_DUPLICATE);
	}
	/* market orders: same side, symbol and qty */
	reset();
	L.duplicate_window_ns = 100 * MS;
	CHECK_EQ_INT(chk(sell(5, 0), view()), RISK_OK);
	CHECK_EQ_INT(chk(sell(5, NAN), view()), RISK_DUPLICATE);
	CHECK_EQ_INT(chk(sell(5, 100), view()), RISK_OK);
	/* a rejected order is not remembered */
	reset();
	L.duplicate_window_ns = 100 * MS;
	L.max_open_orders = 1;
	struct risk_view v = view();
	v.strat.open_orders = 1;
	CHECK_EQ_INT(chk(buy(7, 100), v), RISK_MAX_OPEN_ORDERS);
	CHECK_EQ_INT(chk(buy(7, 100), view()), RISK_OK);
	CHECK_EQ_INT(chk(buy(7, 100), view()), RISK_DUPLICATE);
}

/* The table set an order was recorded in (by looking into a scratch state). */
static int dup_set_of(struct risk_order o)
{
	static struct risk_state scratch;
	struct risk_limits none;
	struct risk_view v = view();
	risk_limits_init(&none);
	risk_state_init(&scratch);
	if (check_as_engine(&none, &scratch, NULL, NULL, &o, &v) != RISK_OK)
		return -1;
	for (int set = 0; set < RISK_DUP_SETS; set++)
		for (int w = 0; w < RISK_DUP_WAYS; w++)
			if (scratch.dup[set][w].qty == o.qty)
				return set;
	return -1;
}

static int dup_entries(const struct risk_state *st)
{
	int n = 0;
	for (int set = 0; set < RISK_DUP_SETS; set++)
		for (int w = 0; w < RISK_DUP_WAYS; w++)
			n += st->dup[set][w].qty != 0;
	return n;
}

static void test_duplicate_table_capacity(void)
{
	reset();
	L.duplicate_window_ns = SEC;
	struct risk_view v = view();
	/* 32 different recent orders are all remembered */
	int dups = 0;
	for (int i = 0; i < 32; i++)
		CHECK_EQ_INT(chk(buy(1 + i, 100), v), RISK_OK);
	for (int i = 0; i < 32; i++)
		dups += chk(buy(1 + i, 100), v) == RISK_DUPLICATE;
	CHECK_EQ_INT(dups, 32);
	CHECK_EQ_INT(dup_entries(&S), 32);
	/* orders spread over the sets: no set took more than half */
	int per_set[RISK_DUP_SETS] = {0}, most = 0;
	for (int q = 1; q <= 256; q++) {
		int set = dup_set_of(buy(q, 100));
		CHECK(set >= 0);
		if (set >= 0 && ++per_set[set] > most)
			most = per_set[set];
	}
	CHECK(most <= 16);

	/* a set keeps its 4 newest: five orders of one set evict the oldest */
	int target = dup_set_of(buy(1, 100)), found = 0;
	double same[RISK_DUP_WAYS + 1];
	for (int q = 1; q < 100000 && found < RISK_DUP_WAYS + 1; q++)
		if (dup_set_of(buy(q, 100)) == target)
			same[found++] = q;
	CHECK_EQ_INT(found, RISK_DUP_WAYS + 1);
	reset();
	L.duplicate_window_ns = SEC;
	for (int i = 0; i < found; i++) {
		v.now_ns = T0 + i;
		CHECK_EQ_INT(chk(buy(same[i], 100), v), RISK_OK);
	}
	CHECK_EQ_INT(dup_entries(&S), RISK_DUP_WAYS);
	CHECK_EQ_INT(chk(buy(same[1], 100), v), RISK_DUPLICATE);
	CHECK_EQ_INT(chk(buy(same[4], 100), v), RISK_DUPLICATE);
	CHECK_EQ_INT(chk(buy(same[0], 100), v), RISK_OK); /* evicted: the documented limit */
	/* which evicted same[1], now the oldest */
	CHECK_EQ_INT(chk(buy(same[1], 100), v), RISK_OK);
	CHECK_EQ_INT(chk(buy(same[2], 100), v), RISK_OK); /* same[2] went for same[1] */
	CHECK_EQ_INT(chk(buy(same[4], 100), v), RISK_DUPLICATE);
	CHECK_EQ_INT(dup_entries(&S), RISK_DUP_WAYS);
}

/* ---------------------------------------------------------------- halts */

static void test_max_loss_halts_until_resume(void)
{
	for (int firm = 0; firm <= 1; firm++) {
		reset();
		(firm ? &FL : &L)->max_daily_loss = 1000;
		struct risk_state *hs = firm ? &FS : &S;
		struct risk_view v = view();
		struct risk_account *a = firm ? &v.firm : &v.strat;
		a->pnl = -1000; /* at the limit */
		CHECK_EQ_INT(chk(buy(1, 100), v), RISK_OK);
		a->pnl = -1000.01;
		CHECK_EQ_INT(chk(buy(2, 100), v), RISK_MAX_LOSS);
		CHECK(hs->halted);
		CHECK_EQ_INT(hs->halt_reason, RISK_MAX_LOSS);
		CHECK_EQ_INT(hs->halted_at_ns, T0);
		a->pnl = 0; /* recovered: still halted until an operator resumes */
		CHECK_EQ_INT(chk(buy(3, 100), v), RISK_HALTED);
		CHECK_EQ_INT(chk(sell(3, 100), v), RISK_HALTED);
		CHECK_EQ_INT(hs->rejects[RISK_HALTED], 2);
		CHECK_EQ_INT(hs->rejects[RISK_MAX_LOSS], 1);
		CHECK_EQ_INT(chk(cancel(), v), RISK_OK); /* cancels still go out */
		risk_resume(hs);
		CHECK(!hs->halted);
		CHECK_EQ_INT(hs->halt_reason, RISK_OK);
		CHECK_EQ_INT(chk(buy(4, 100), v), RISK_OK);
		/* resumed while still over the limit: halts again */
		risk_resume(hs);
		a->pnl = -5000;
		CHECK_EQ_INT(chk(buy(5, 100), v), RISK_MAX_LOSS);
		CHECK(hs->halted);
	}
}

static void test_firm_halt_blocks_every_strategy(void)
{
	reset();
	FL.max_daily_loss = 1000;
	struct risk_view v = view();
	v.firm.pnl = -2000;
	CHECK_EQ_INT(chk(buy(1, 100), v), RISK_MAX_LOSS);
	CHECK(FS.halted);
	CHECK(!S.halted);
	CHECK_EQ_INT(chk2(buy(1, 100), view()), RISK_HALTED);
	CHECK_EQ_INT(S2.rejects[RISK_HALTED], 0);
	CHECK_EQ_INT(FS.rejects[RISK_HALTED], 1);
	risk_resume(&FS);
	CHECK_EQ_INT(chk2(buy(1, 100), view()), RISK_OK);
}

static void test_on_pnl(void)
{
	reset();
	L.max_daily_loss = 1000;
	L.max_drawdown = 5000;
	struct risk_account a = {.pnl = -1000, .equity = 95000, .peak_equity = 100000};
	CHECK_EQ_INT(risk_on_pnl(&L, &S, &a, T0), RISK_OK);
	CHECK(!S.halted);
	a.pnl = -1001;
	CHECK_EQ_INT(risk_on_pnl(&L, &S, &a, T0 + 5), RISK_MAX_LOSS);
	CHECK(S.halted);
	CHECK_EQ_INT(S.halt_reason, RISK_MAX_LOSS);
	CHECK_EQ_INT(S.halted_at_ns, T0 + 5);
	a.pnl = 0;
	a.equity = 94999;
	CHECK_EQ_INT(risk_on_pnl(&L, &S, &a, T0 + 9), RISK_MAX_DRAWDOWN);
	CHECK_EQ_INT(S.halt_reason, RISK_MAX_LOSS); /* the first reason stays */
	CHECK_EQ_INT(chk(buy(1, 100), view()), RISK_HALTED);
	risk_resume(&S);
	CHECK_EQ_INT(chk(buy(1, 100), view()), RISK_OK);
	/* NaN P&L fails closed when the limit is set, and is ignored when not */
	a = (struct risk_account){.pnl = NAN};
	CHECK_EQ_INT(risk_on_pnl(&L, &S, &a, T0), RISK_MAX_LOSS);
	risk_limits_init(&L);
	risk_resume(&S);
	CHECK_EQ_INT(risk_on_pnl(&L, &S, &a, T0), RISK_OK);
	CHECK(!S.halted);
}

static void set_drawdown(struct risk_limits *l)
{
	l->max_drawdown = 5000;
}
static void set_drawdown_pct(struct risk_limits *l)
{
	l->max_drawdown_pct = 10;
}

static void test_max_drawdown(void)
{
	for (int pct = 0; pct <= 1; pct++) {
		for (int firm = 0; firm <= 1; firm++) {
			reset();
			(pct ? set_drawdown_pct : set_drawdown)(firm ? &FL : &L);
			struct risk_state *hs = firm ? &FS : &S;
			struct risk_view v = view();
			struct risk_account *a = firm ? &v.firm : &v.strat;
			a->peak_equity = 100000;
			a->equity = pct ? 90000 : 95000;
			CHECK_EQ_INT(chk(buy(1, 100), v), RISK_OK);
			a->equity -= 1;
			CHECK_EQ_INT(chk(buy(2, 100), v), RISK_MAX_DRAWDOWN);
			CHECK(hs->halted);
			CHECK_EQ_INT(hs->halt_reason, RISK_MAX_DRAWDOWN);
			a->equity = a->peak_equity;
			CHECK_EQ_INT(chk(buy(3, 100), v), RISK_HALTED);
			risk_resume(hs);
			CHECK_EQ_INT(chk(buy(3, 100), v), RISK_OK);
		}
	}
}

static void test_throttle(void)
{
	for (int firm = 0; firm <= 1; firm++) {
		reset();
		struct risk_limits *tl = firm ? &FL : &L;
		struct risk_state *ts = firm ? &FS : &S;
		tl->throttle_fills = 2;
		tl->throttle_window_ns = SEC;
		struct risk_view v = view();
		/* orders without fills in between are no cycles */
		for (int i = 0; i < 10; i++)
			CHECK_EQ_INT(chk(buy(1 + i, 100), v), RISK_OK);
		/* two fill-then-re-enter cycles: at the limit */
		for (int i = 0; i < 2; i++) {
			v.now_ns += 100 * MS;
			risk_on_fill(ts, v.now_ns);
			risk_on_fill(ts, v.now_ns); /* partial fills of one order: one cycle */
			CHECK_EQ_INT(chk(buy(20 + i, 100), v), RISK_OK);
		}
		CHECK_EQ_INT(ts->cycle_count, 2);
		CHECK_EQ_INT(chk(buy(30, 100), v), RISK_OK); /* no fill since */
		v.now_ns += 100 * MS;
		risk_on_fill(ts, v.now_ns);
		CHECK_EQ_INT(chk(buy(31, 100), v), RISK_THROTTLE); /* the third */
		CHECK(ts->halted);
		CHECK_EQ_INT(ts->halt_reason, RISK_THROTTLE);
		CHECK_EQ_INT(ts->rejects[RISK_THROTTLE], 1);
		v.now_ns += 10 * SEC; /* time does not lift it: an operator must */
		CHECK_EQ_INT(chk(buy(32, 100), v), RISK_HALTED);
		risk_resume(ts);
		CHECK_EQ_INT(ts->cycle_count, 0);
		CHECK(!ts->fill_pending);
		CHECK_EQ_INT(chk(buy(33, 100), v), RISK_OK);
	}
}

static void test_throttle_window_slides(void)
{
	reset();
	L.throttle_fills = 2;
	L.throttle_window_ns = SEC;
	struct risk_view v = view();
	risk_on_fill(&S, v.now_ns);
	CHECK_EQ_INT(chk(buy(1, 100), v), RISK_OK); /* cycle at t */
	v.now_ns = T0 + 500 * MS;
	risk_on_fill(&S, v.now_ns);
	CHECK_EQ_INT(chk(buy(2, 100), v), RISK_OK); /* cycle at t + 0.5 s */
	v.now_ns = T0 + SEC;			    /* the cycle at t has left the window */
	risk_on_fill(&S, v.now_ns);
	CHECK_EQ_INT(chk(buy(3, 100), v), RISK_OK);
	v.now_ns = T0 + SEC + 400 * MS; /* cycles at +0.5 and +1.0 inside */
	risk_on_fill(&S, v.now_ns);
	CHECK_EQ_INT(chk(buy(4, 100), v), RISK_THROTTLE);
	/* a re-entry another check rejects is no cycle */
	reset();
	L.throttle_fills = 1;
	L.throttle_window_ns = SEC;
	L.max_order_qty = 10;
	risk_on_fill(&S, T0);
	CHECK_EQ_INT(chk(buy(11, 100), view()), RISK_MAX_ORDER_QTY);
	CHECK(S.fill_pending);
	CHECK_EQ_INT(chk(buy(10, 100), view()), RISK_OK);
	CHECK_EQ_INT(S.cycle_count, 1);
	CHECK(!S.halted);
}

static void test_operator_halt_and_reduce_only(void)
{
	reset();
	risk_halt(&S, RISK_OK, T0);
	CHECK(S.halted);
	CHECK_EQ_INT(S.halt_reason, RISK_HALTED);
	struct risk_view v = view();
	v.strat.position = 100;
	CHECK_EQ_INT(chk(sell(100, 100), v), RISK_HALTED); /* no reduce-only: nothing */
	risk_halt(&S, RISK_MAX_LOSS, T0);		   /* already halted: first reason kept */
	CHECK_EQ_INT(S.halt_reason, RISK_HALTED);

	L.reduce_only_when_halted = true;
	CHECK_EQ_INT(chk(sell(100, 100), v), RISK_OK);	   /* to flat */
	CHECK_EQ_INT(chk(sell(60, 100.01), v), RISK_OK);   /* towards flat */
	CHECK_EQ_INT(chk(sell(101, 100), v), RISK_HALTED); /* would go short */
	CHECK_EQ_INT(chk(buy(1, 100), v), RISK_HALTED);	   /* adds */
	v.strat.working_sell = 50;			   /* working sells count */
	CHECK_EQ_INT(chk(sell(50, 100.02), v), RISK_OK);
	CHECK_EQ_INT(chk(sell(51, 100), v), RISK_HALTED);
	v = view();
	v.strat.position = -40;
	CHECK_EQ_INT(chk(buy(40, 100), v), RISK_OK);
	CHECK_EQ_INT(chk(buy(41, 100), v), RISK_HALTED);
	CHECK_EQ_INT(chk(sell(1, 100), v), RISK_HALTED);
	v.strat.position = 0;
	CHECK_EQ_INT(chk(buy(1, 100.03), v), RISK_HALTED);
	CHECK_EQ_INT(chk(sell(1, 100.03), v), RISK_HALTED);
	/* reducing orders still face the other limits */
	L.max_order_qty = 10;
	v.strat.position = 100;
	CHECK_EQ_INT(chk(sell(11, 99), v), RISK_MAX_ORDER_QTY);
	risk_resume(&S);
	v.strat.position = 0;
	CHECK_EQ_INT(chk(buy(1, 99), v), RISK_OK);

	/* a loss trip with reduce-only: halts, yet lets the reducing order out */
	reset();
	L.max_daily_loss = 100;
	L.reduce_only_when_halted = true;
	v = view();
	v.strat.pnl = -500;
	v.strat.position = 10;
	CHECK_EQ_INT(chk(sell(10, 100), v), RISK_OK);
	CHECK(S.halted);
	CHECK_EQ_INT(S.halt_reason, RISK_MAX_LOSS);
	CHECK_EQ_INT(chk(buy(10, 100), v), RISK_HALTED);

	/* the firm's reduce-only reads the firm's position */
	reset();
	FL.reduce_only_when_halted = true;
	risk_halt(&FS, RISK_HALTED, T0);
	v = view();
	v.strat.position = 100; /* reduces the strategy, not the firm */
	v.firm.position = -100;
	CHECK_EQ_INT(chk(sell(10, 100), v), RISK_HALTED);
	CHECK_EQ_INT(chk(buy(10, 100), v), RISK_OK); /* reduces the firm */
	CHECK_EQ_INT(FS.rejects[RISK_HALTED], 1);
	CHECK_EQ_INT(S.rejects[RISK_HALTED], 0);
}

static void test_is_reducing(void)
{
	struct risk_account a = {.position = 10};
	struct risk_order o = sell(10, 1);
	CHECK(risk_is_reducing(&o, &a));
	o.qty = 11;
	CHECK(!risk_is_reducing(&o, &a));
	o.side = RISK_BUY;
	o.qty = 1;
	CHECK(!risk_is_reducing(&o, &a));
	a.position = 0;
	CHECK(!risk_is_reducing(&o, &a));
	o.side = RISK_SELL;
	CHECK(!risk_is_reducing(&o, &a));
	a.position = -3;
	a.working_buy = 2;
	o.side = RISK_BUY;
	CHECK(risk_is_reducing(&o, &a));
	o.qty = 2;
	CHECK(!risk_is_reducing(&o, &a));
}

static void test_cancels_skip_order_checks(void)
{
	reset();
	L.max_order_qty = 1;
	L.price_collar_pct = 1;
	CHECK_EQ_INT(risk_limits_restrict(&L, 5, true), 0);
	risk_halt(&S, RISK_HALTED, T0);
	struct risk_view v = view();
	v.symbol_known = false;
	v.trading = false;
	v.ref_price = 0;
	struct risk_order c = cancel();
	c.qty = -5; /* a cancel's quantity is not looked at */
	CHECK_EQ_INT(chk(c, v), RISK_OK);
	CHECK_EQ_INT(S.accepted, 1);
	CHECK_EQ_INT(S.orders.count, 0);
	CHECK_EQ_INT(S.msgs.count, 1);
	CHECK_EQ_INT(FS.msgs.count, 1);
	CHECK_EQ_INT(dup_entries(&S), 0);
}

static void test_check_order(void)
{
	/* sanity first, then the halt, then the limits in their stated order */
	reset();
	L.max_order_qty = 10;
	CHECK_EQ_INT(risk_limits_restrict(&L, 5, true), 0);
	risk_halt(&S, RISK_HALTED, T0);
	struct risk_view v = view();
	CHECK_EQ_INT(chk(buy(0, 100), v), RISK_BAD_QTY);
	CHECK_EQ_INT(chk(buy(11, 100), v), RISK_HALTED);
	risk_resume(&S);
	CHECK_EQ_INT(chk(buy(11, 100), v), RISK_RESTRICTED);
	CHECK_EQ_INT(risk_limits_restrict(&L, 5, false), 0);
	CHECK_EQ_INT(chk(buy(11, 100), v), RISK_MAX_ORDER_QTY);
	/* the strategy's limits before the firm's */
	FL.max_order_qty = 5;
	CHECK_EQ_INT(chk(buy(11, 100), v), RISK_MAX_ORDER_QTY);
	CHECK_EQ_INT(S.rejects[RISK_MAX_ORDER_QTY], 2);
	CHECK_EQ_INT(FS.rejects[RISK_MAX_ORDER_QTY], 0);
	CHECK_EQ_INT(chk(buy(6, 100), v), RISK_MAX_ORDER_QTY);
	CHECK_EQ_INT(FS.rejects[RISK_MAX_ORDER_QTY], 1);
	CHECK_EQ_INT(S.checked, 6);
	CHECK_EQ_INT(S.accepted, 0);
}

/* ---------------------------------------------------------------- config */

static lua_State *LS;

/* The test universe: AAPL 0, MSFT 1, XYZ 2, S<n> n, HUGE beyond the table. */
static int symbol_id(void *ud, const char *sym)
{
	int *calls = ud;
	(*calls)++;
	if (strcmp(sym, "AAPL") == 0)
		return 0;
	if (strcmp(sym, "MSFT") == 0)
		return 1;
	if (strcmp(sym, "XYZ") == 0)
		return 2;
	if (strcmp(sym, "HUGE") == 0)
		return RISK_MAX_SYMBOLS;
	if (sym[0] == 'S' && sym[1] >= '0' && sym[1] <= '9')
		return atoi(sym + 1);
	return -1;
}

static int calls;

/* Loads `return TABLE` through risk_limits_from_lua; err gets the message. */
static int load(const char *table, struct risk_limits *out, char *err, size_t errlen)
{
	char src[8192];
	snprintf(src, sizeof src, "return %s", table);
	int top = lua_gettop(LS);
	if (luaL_dostring(LS, src) != LUA_OK) {
		snprintf(err, errlen, "lua: %s", lua_tostring(LS, -1));
		lua_settop(LS, top);
		return -2;
	}
	lua_pushinteger(LS, 42); /* idx is not the top */
	int rc = risk_limits_from_lua(LS, -2, out, symbol_id, &calls, err, errlen);
	CHECK_EQ_INT(lua_gettop(LS), top + 2); /* the stack is left as found */
	lua_settop(LS, top);
	return rc;
}

static void expect_error(const char *table, const char *want)
{
	struct risk_limits l, before;
	char err[256] = "";
	risk_limits_init(&l);
	l.max_order_qty = 77; /* untouched on error */
	before = l;
	int rc = load(table, &l, err, sizeof err);
	CHECK_EQ_INT(rc, -1);
	CHECK_STR(err, want);
	CHECK(memcmp(&l, &before, sizeof l) == 0);
}

static void test_config_contract_example(void)
{
	struct risk_limits l;
	char err[256] = "";
	int rc = load("{ max_order_qty = 1000, max_order_notional = 1e6,"
		      "  max_position = { default = 5000, AAPL = 1000 },"
		      "  price_collar_pct = 5, max_orders_per_sec = 50, max_open_orders = 100,"
		      "  max_daily_loss = 50000, restricted = { \"XYZ\" } }",
		      &l, err, sizeof err);
	CHECK_EQ_INT(rc, 0);
	CHECK_STR(err, "");
	CHECK_NEAR(l.max_order_qty, 1000, 0);
	CHECK_NEAR(l.max_order_notional, 1e6, 0);
	CHECK_NEAR(l.max_position.max_long, 5000, 0);
	CHECK_NEAR(l.max_position.max_short, 5000, 0);
	CHECK_NEAR(risk_limits_position(&l, 0).max_long, 1000, 0);
	CHECK_NEAR(risk_limits_position(&l, 0).max_short, 1000, 0);
	CHECK_NEAR(risk_limits_position(&l, 1).max_long, 5000, 0);
	CHECK_EQ_INT(l.n_overrides, 1);
	CHECK_NEAR(l.price_collar_pct, 5, 0);
	CHECK_NEAR(l.max_orders_per_sec, 50, 0);
	CHECK_NEAR(l.max_open_orders, 100, 0);
	CHECK_NEAR(l.max_daily_loss, 50000, 0);
	/* what was not given stays disabled */
	CHECK(l.max_msgs_per_sec == RISK_UNSET);
	CHECK(l.max_gross_exposure == RISK_UNSET);
	CHECK(l.max_drawdown_pct == RISK_UNSET);
	CHECK(l.throttle_fills == RISK_UNSET);
	CHECK_EQ_INT(l.duplicate_window_ns, 0);
	CHECK(l.stale_reference_ns == RISK_UNSET_NS);
	CHECK(!l.reduce_only_when_halted);

	/* and the limits act: XYZ (id 2) restricted, AAPL (id 0) capped at 1000 */
	risk_state_init(&S);
	struct risk_view v = view();
	struct risk_order o = buy(10, 100);
	o.symbol = 2;
	CHECK_EQ_INT(check_as_engine(&l, &S, NULL, NULL, &o, &v), RISK_RESTRICTED);
	o.symbol = 0;
	o.qty = 1000;
	CHECK_EQ_INT(check_as_engine(&l, &S, NULL, NULL, &o, &v), RISK_OK);
	v.strat.position = 1;
	CHECK_EQ_INT(check_as_engine(&l, &S, NULL, NULL, &o, &v), RISK_MAX_POSITION);
}

static void test_config_extra_keys(void)
{
	struct risk_limits l;
	char err[256] = "";
	int rc =
	    load("{ max_msgs_per_sec = 4096, max_gross_exposure = 2.5e6, max_drawdown = 9000,"
		 "  max_drawdown_pct = 12.5, duplicate_window_ms = 250, stale_reference_ms = 0.5,"
		 "  throttle = { fills = 10, window_ms = 60000 }, reduce_only_when_halted = true,"
		 "  max_position = { default = { long = 300, short = 0 },"
		 "                   MSFT = { long = 7 }, S4095 = 9 },"
		 "  restricted = { \"AAPL\", \"S64\" } }",
		 &l, err, sizeof err);
	CHECK_EQ_INT(rc, 0);
	CHECK_STR(err, "");
	CHECK_NEAR(l.max_msgs_per_sec, 4096, 0);
	CHECK_NEAR(l.max_gross_exposure, 2.5e6, 0);
	CHECK_NEAR(l.max_drawdown, 9000, 0);
	CHECK_NEAR(l.max_drawdown_pct, 12.5, 0);
	CHECK_EQ_INT(l.duplicate_window_ns, 250 * MS);
	CHECK_EQ_INT(l.stale_reference_ns, 500000);
	CHECK_NEAR(l.throttle_fills, 10, 0);
	CHECK_EQ_INT(l.throttle_window_ns, 60 * SEC);
	CHECK(l.reduce_only_when_halted);
	CHECK_NEAR(l.max_position.max_long, 300, 0);
	CHECK_NEAR(l.max_position.max_short, 0, 0);
	CHECK_NEAR(risk_limits_position(&l, 1).max_long, 7, 0);
	CHECK(risk_limits_position(&l, 1).max_short == RISK_UNSET);
	CHECK_NEAR(risk_limits_position(&l, 4095).max_short, 9, 0);
	CHECK_EQ_INT(l.n_overrides, 2);
	CHECK(l.restricted[0] == 1); /* AAPL, id 0 */
	CHECK(l.restricted[1] == 1); /* S64 */
	CHECK(l.max_order_qty == RISK_UNSET);

	/* an empty table disables everything */
	rc = load("{}", &l, err, sizeof err);
	CHECK_EQ_INT(rc, 0);
	struct risk_limits init;
	risk_limits_init(&init);
	CHECK(memcmp(&l, &init, sizeof l) == 0);
}

static void test_config_negative_values(void)
{
	static const char *const positive[] = {
	    "max_order_qty",	   "max_order_notional", "price_collar_pct",   "stale_reference_ms",
	    "max_gross_exposure",  "max_open_orders",	 "max_orders_per_sec", "max_msgs_per_sec",
	    "duplicate_window_ms", "max_daily_loss",	 "max_drawdown",       "max_drawdown_pct",
	};
	char table[128], want[160];
	for (size_t i = 0; i < sizeof positive / sizeof positive[0]; i++) {
		snprintf(table, sizeof table, "{ %s = -5 }", positive[i]);
		snprintf(want, sizeof want, "risk.%s: expected a positive number, got -5",
			 positive[i]);
		expect_error(table, want);
		snprintf(table, sizeof table, "{ %s = 0 }", positive[i]);
		snprintf(want, sizeof want, "risk.%s: expected a positive number, got 0",
			 positive[i]);
		expect_error(table, want);
		snprintf(table, sizeof table, "{ %s = -0.25 }", positive[i]);
		snprintf(want, sizeof want, "risk.%s: expected a positive number, got -0.25",
			 positive[i]);
		expect_error(table, want);
	}
	expect_error("{ max_position = -5 }",
		     "risk.max_position: expected a non-negative number, got -5");
	expect_error("{ max_position = { default = -1 } }",
		     "risk.max_position.default: expected a non-negative number, got -1");
	expect_error("{ max_position = { AAPL = -2 } }",
		     "risk.max_position.AAPL: expected a non-negative number, got -2");
	expect_error("{ max_position = { AAPL = { long = 5, short = -3 } } }",
		     "risk.max_position.AAPL.short: expected a non-negative number, got -3");
	expect_error("{ throttle = { fills = -1, window_ms = 10 } }",
		     "risk.throttle.fills: expected a positive number, got -1");
	expect_error("{ throttle = { fills = 3, window_ms = -10 } }",
		     "risk.throttle.window_ms: expected a positive number, got -10");
}

static void test_config_wrong_types(void)
{
	static const char *const numeric[] = {
	    "max_order_qty",	   "max_order_notional", "price_collar_pct",   "stale_reference_ms",
	    "max_gross_exposure",  "max_open_orders",	 "max_orders_per_sec", "max_msgs_per_sec",
	    "duplicate_window_ms", "max_daily_loss",	 "max_drawdown",       "max_drawdown_pct",
	};
	char table[128], want[160];
	for (size_t i = 0; i < sizeof numeric / sizeof numeric[0]; i++) {
		snprintf(table, sizeof table, "{ %s = \"100\" }", numeric[i]);
		snprintf(want, sizeof want, "risk.%s: expected a number, got string \"100\"",
			 numeric[i]);
		expect_error(table, want);
		snprintf(table, sizeof table, "{ %s = true }", numeric[i]);
		snprintf(want, sizeof want, "risk.%s: expected a number, got boolean true",
			 numeric[i]);
		expect_error(table, want);
		snprintf(table, sizeof table, "{ %s = {} }", numeric[i]);
		snprintf(want, sizeof want, "risk.%s: expected a number, got table", numeric[i]);
		expect_error(table, want);
	}
	expect_error("{ max_position = \"5\" }",
		     "risk.max_position: expected a number or a table { long = n, short = n }, "
		     "got string \"5\"");
	expect_error(
	    "{ max_position = { AAPL = false } }",
	    "risk.max_position.AAPL: expected a number or a table { long = n, short = n }, "
	    "got boolean false");
	expect_error("{ max_position = { AAPL = { long = \"1\" } } }",
		     "risk.max_position.AAPL.long: expected a number, got string \"1\"");
	expect_error("{ reduce_only_when_halted = 1 }",
		     "risk.reduce_only_when_halted: expected true or false, got 1");
	expect_error("{ reduce_only_when_halted = \"yes\" }",
		     "risk.reduce_only_when_halted: expected true or false, got string \"yes\"");
	expect_error("{ throttle = 5 }",
		     "risk.throttle: expected a table { fills = N, window_ms = M }, got 5");
	expect_error("{ throttle = { fills = \"3\", window_ms = 10 } }",
		     "risk.throttle.fills: expected a number, got string \"3\"");
	expect_error("{ restricted = \"XYZ\" }",
		     "risk.restricted: expected a list of symbol names, got string \"XYZ\"");
	expect_error("{ restricted = { \"XYZ\", 5 } }",
		     "risk.restricted[2]: expected a symbol name, got 5");
	expect_error("{ restricted = { \"XYZ\", x = \"AAPL\" } }",
		     "risk.restricted: expected a list of symbol names, e.g. { \"XYZ\" }, got a "
		     "table with other keys");
	expect_error("{ [1] = 5 }", "risk: expected names as keys, got 1");
	expect_error("{ max_position = { [3] = 5 } }",
		     "risk.max_position: expected symbol names or default as keys, got 3");
	expect_error("{ max_order_qty = 0/0 }",
		     "risk.max_order_qty: expected a finite number, got nan");
	expect_error("{ max_order_qty = 1/0 }",
		     "risk.max_order_qty: expected a finite number, got inf");

	/* not a table at all */
	struct risk_limits l;
	char err[128];
	lua_pushstring(LS, "risk");
	CHECK_EQ_INT(risk_limits_from_lua(LS, -1, &l, symbol_id, &calls, err, sizeof err), -1);
	CHECK_STR(err, "risk: expected a table, got string \"risk\"");
	lua_pop(LS, 1);
}

static void test_config_bad_values(void)
{
	expect_error("{ max_order_qtty = 5 }", "risk.max_order_qtty: unknown key");
	expect_error("{ throttle = { fills = 3, window_ms = 10, burst = 1 } }",
		     "risk.throttle: unknown key burst (expected fills and window_ms)");
	expect_error("{ max_position = { AAPL = { long = 5, shrt = 3 } } }",
		     "risk.max_position.AAPL: unknown key shrt (expected long or short)");
	expect_error("{ ['throttle.fills'] = 3 }", "risk.throttle.fills: unknown key");
	expect_error("{ max_order_qty = 10.5 }",
		     "risk.max_order_qty: expected a whole number, got 10.5");
	expect_error("{ max_open_orders = 2.5 }",
		     "risk.max_open_orders: expected a whole number, got 2.5");
	expect_error("{ max_position = 7.5 }",
		     "risk.max_position: expected a whole number, got 7.5");
	expect_error("{ max_orders_per_sec = 4097 }",
		     "risk.max_orders_per_sec: expected a whole number from 1 to 4096, got 4097");
	expect_error("{ max_msgs_per_sec = 1.5 }",
		     "risk.max_msgs_per_sec: expected a whole number from 1 to 4096, got 1.5");
	expect_error("{ throttle = { fills = 257, window_ms = 10 } }",
		     "risk.throttle.fills: expected a whole number from 1 to 256, got 257");
	expect_error("{ price_collar_pct = 100.5 }",
		     "risk.price_collar_pct: expected a percentage of at most 100, got 100.5");
	expect_error("{ max_drawdown_pct = 101 }",
		     "risk.max_drawdown_pct: expected a percentage of at most 100, got 101");
	expect_error(
	    "{ duplicate_window_ms = 2e12 }",
	    "risk.duplicate_window_ms: expected at most 1e12 milliseconds, got 2000000000000");
	expect_error("{ throttle = { fills = 3 } }",
		     "risk.throttle: expected both fills and window_ms, e.g. "
		     "{ fills = 10, window_ms = 60000 }");
	expect_error("{ restricted = { \"NOPE\" } }",
		     "risk.restricted[1]: unknown symbol \"NOPE\"");
	expect_error("{ max_position = { NOPE = 5 } }",
		     "risk.max_position.NOPE: unknown symbol \"NOPE\"");
	expect_error("{ restricted = { \"HUGE\" } }",
		     "risk.restricted[1]: symbol \"HUGE\" has id 4096, beyond the per-symbol table "
		     "(ids 0 to 4095)");
	expect_error("{ max_position = { HUGE = 1 } }",
		     "risk.max_position.HUGE: symbol \"HUGE\" has id 4096, beyond the per-symbol "
		     "table (ids 0 to 4095)");

	/* more per-symbol limits than the table holds */
	char table[4096] = "{ max_position = { ";
	for (int i = 1; i <= RISK_MAX_OVERRIDES + 1; i++) {
		char one[32];
		snprintf(one, sizeof one, "S%d = %d, ", i, i);
		strcat(table, one);
	}
	strcat(table, "} }");
	expect_error(table, "risk.max_position: more than 64 per-symbol limits (the table's "
			    "capacity)");
	/* exactly at capacity loads */
	struct risk_limits l;
	char err[256] = "";
	strcpy(table, "{ max_position = { ");
	for (int i = 1; i <= RISK_MAX_OVERRIDES; i++) {
		char one[32];
		snprintf(one, sizeof one, "S%d = %d, ", i, i);
		strcat(table, one);
	}
	strcat(table, "} }");
	CHECK_EQ_INT(load(table, &l, err, sizeof err), 0);
	CHECK_EQ_INT(l.n_overrides, RISK_MAX_OVERRIDES);
	CHECK_NEAR(risk_limits_position(&l, 64).max_long, 64, 0);
	/* a NULL symbol function: any symbol is unknown */
	CHECK_EQ_INT(luaL_dostring(LS, "return { restricted = { 'AAPL' } }"), LUA_OK);
	CHECK_EQ_INT(risk_limits_from_lua(LS, -1, &l, NULL, NULL, err, sizeof err), -1);
	CHECK_STR(err, "risk.restricted[1]: unknown symbol \"AAPL\"");
	lua_pop(LS, 1);
}

/* ---------------------------------------------------------------- ctl set */

static void test_set_happy_path(void)
{
	struct risk_limits l;
	char old[64], err[160];
	risk_limits_init(&l);

	CHECK_EQ_INT(
	    risk_limits_set(&l, "risk.max_order_qty", "500", old, sizeof old, err, sizeof err), 0);
	CHECK_STR(old, "none");
	CHECK_NEAR(l.max_order_qty, 500, 0);
	CHECK_EQ_INT(risk_limits_set(&l, "max_order_qty", " 700", old, sizeof old, err, sizeof err),
		     0);
	CHECK_STR(old, "500");
	CHECK_NEAR(l.max_order_qty, 700, 0);

	CHECK_EQ_INT(risk_limits_set(&l, "risk.max_order_notional", "1.5e6", old, sizeof old, err,
				     sizeof err),
		     0);
	CHECK_NEAR(l.max_order_notional, 1.5e6, 0);
	CHECK_EQ_INT(risk_limits_set(&l, "risk.max_order_notional", "2000000.25", old, sizeof old,
				     err, sizeof err),
		     0);
	CHECK_STR(old, "1500000");

	CHECK_EQ_INT(risk_limits_set(&l, "risk.duplicate_window_ms", "250", old, sizeof old, err,
				     sizeof err),
		     0);
	CHECK_STR(old, "none");
	CHECK_EQ_INT(l.duplicate_window_ns, 250 * MS);
	CHECK_EQ_INT(risk_limits_set(&l, "risk.duplicate_window_ms", "none", old, sizeof old, err,
				     sizeof err),
		     0);
	CHECK_STR(old, "250");
	CHECK_EQ_INT(l.duplicate_window_ns, 0);

	CHECK_EQ_INT(
	    risk_limits_set(&l, "risk.stale_reference_ms", "1.5", old, sizeof old, err, sizeof err),
	    0);
	CHECK_EQ_INT(l.stale_reference_ns, 1500000);
	CHECK_EQ_INT(risk_limits_set(&l, "risk.stale_reference_ms", "none", old, sizeof old, err,
				     sizeof err),
		     0);
	CHECK_STR(old, "1.5");
	CHECK(l.stale_reference_ns == RISK_UNSET_NS);

	CHECK_EQ_INT(
	    risk_limits_set(&l, "risk.max_position", "0", old, sizeof old, err, sizeof err), 0);
	CHECK_STR(old, "none");
	CHECK_NEAR(l.max_position.max_long, 0, 0);
	CHECK_NEAR(l.max_position.max_short, 0, 0);
	l.max_position.max_long = 10;
	char got[64];
	CHECK_EQ_INT(risk_limits_get(&l, "risk.max_position", got, sizeof got), 0);
	CHECK_STR(got, "long=10,short=0");

	CHECK_EQ_INT(risk_limits_set(&l, "risk.reduce_only_when_halted", "true", old, sizeof old,
				     err, sizeof err),
		     0);
	CHECK_STR(old, "false");
	CHECK(l.reduce_only_when_halted);

	CHECK_EQ_INT(
	    risk_limits_set(&l, "risk.throttle.fills", "5", old, sizeof old, err, sizeof err), 0);
	CHECK_NEAR(l.throttle_fills, 5, 0);
	CHECK_EQ_INT(risk_limits_set(&l, "risk.throttle.window_ms", "60000", old, sizeof old, err,
				     sizeof err),
		     0);
	CHECK_EQ_INT(l.throttle_window_ns, 60 * SEC);

	CHECK_EQ_INT(
	    risk_limits_set(&l, "risk.max_order_qty", "none", old, sizeof old, err, sizeof err), 0);
	CHECK_STR(old, "700");
	CHECK(l.max_order_qty == RISK_UNSET);

	CHECK_EQ_INT(
	    risk_limits_set(&l, "risk.max_orders_per_sec", "4096", NULL, 0, err, sizeof err), 0);
	CHECK_EQ_INT(risk_limits_get(&l, "max_orders_per_sec", got, sizeof got), 0);
	CHECK_STR(got, "4096");
	CHECK_EQ_INT(risk_limits_get(&l, "risk.restricted", got, sizeof got), -1);
	CHECK_EQ_INT(risk_limits_get(&l, "risk.nope", got, sizeof got), -1);

	/* a limit set at run time acts on the next check */
	reset();
	CHECK_EQ_INT(
	    risk_limits_set(&L, "risk.max_order_qty", "10", old, sizeof old, err, sizeof err), 0);
	CHECK_EQ_INT(chk(buy(10, 100), view()), RISK_OK);
	CHECK_EQ_INT(chk(buy(11, 100), view()), RISK_MAX_ORDER_QTY);
}

static void expect_set_error(const char *key, const char *value, const char *want)
{
	struct risk_limits l, before;
	char old[64] = "untouched", err[200] = "";
	risk_limits_init(&l);
	l.max_order_qty = 77;
	before = l;
	CHECK_EQ_INT(risk_limits_set(&l, key, value, old, sizeof old, err, sizeof err), -1);
	CHECK_STR(err, want);
	CHECK_STR(old, "untouched");
	CHECK(memcmp(&l, &before, sizeof l) == 0);
}

static void test_set_bad_input(void)
{
	expect_set_error("risk.max_order_qtty", "5", "risk.max_order_qtty: unknown key");
	expect_set_error("risk.max_order_qty", "-5",
			 "risk.max_order_qty: expected a positive number, got -5");
	expect_set_error("risk.max_order_qty", "0",
			 "risk.max_order_qty: expected a positive number, got 0");
	expect_set_error("risk.max_order_qty", "10.5",
			 "risk.max_order_qty: expected a whole number, got 10.5");
	expect_set_error("risk.max_order_qty", "abc",
			 "risk.max_order_qty: expected a number (or none to disable), got \"abc\"");
	expect_set_error("risk.max_order_qty", "",
			 "risk.max_order_qty: expected a number (or none to disable), got \"\"");
	expect_set_error("risk.max_order_qty", "12x",
			 "risk.max_order_qty: expected a number (or none to disable), got \"12x\"");
	expect_set_error("risk.max_order_qty", "inf",
			 "risk.max_order_qty: expected a number (or none to disable), got \"inf\"");
	expect_set_error(
	    "risk.max_order_qty", "1e999",
	    "risk.max_order_qty: expected a number (or none to disable), got \"1e999\"");
	expect_set_error(
	    "risk.max_orders_per_sec", "5000",
	    "risk.max_orders_per_sec: expected a whole number from 1 to 4096, got 5000");
	expect_set_error("risk.price_collar_pct", "250",
			 "risk.price_collar_pct: expected a percentage of at most 100, got 250");
	expect_set_error("risk.max_position", "-1",
			 "risk.max_position: expected a non-negative number, got -1");
	expect_set_error("risk.reduce_only_when_halted", "yes",
			 "risk.reduce_only_when_halted: expected true or false, got \"yes\"");
	expect_set_error("risk.reduce_only_when_halted", "none",
			 "risk.reduce_only_when_halted: expected true or false, got \"none\"");
	expect_set_error("risk.restricted", "XYZ",
			 "risk.restricted: cannot be set at run time; edit the deploy config and "
			 "reload");
	expect_set_error("risk.throttle", "5",
			 "risk.throttle: cannot be set at run time; edit the deploy config and "
			 "reload");
	expect_set_error("risk.throttle.fills", "0",
			 "risk.throttle.fills: expected a positive number, got 0");
	expect_set_error("risk.duplicate_window_ms", "-1",
			 "risk.duplicate_window_ms: expected a positive number, got -1");
}

static void test_active_mask(void)
{
	struct risk_limits l;
	risk_limits_init(&l);
	CHECK_EQ_INT((int)l.off, 0); /* every check runs */
	risk_limits_narrow(&l);
	CHECK_EQ_INT((int)l.off, RISK_CHK_ALL);
	/* the setters only add bits: a narrowed mask never hides what they set */
	CHECK_EQ_INT(risk_limits_set_position(&l, 5, 50, 20), 0);
	CHECK_EQ_INT((int)l.off, RISK_CHK_ALL & ~RISK_CHK_POSITION);
	CHECK_EQ_INT(risk_limits_restrict(&l, 7, true), 0);
	CHECK_EQ_INT((int)l.off, RISK_CHK_ALL & ~(RISK_CHK_POSITION | RISK_CHK_RESTRICTED));
	char old[64], err[256];
	CHECK_EQ_INT(risk_limits_set(&l, "risk.max_order_qty", "10", old, sizeof old, err,
				     sizeof err), 0);
	CHECK((l.off & RISK_CHK_ORDER_QTY) == 0);
	CHECK_EQ_INT(risk_limits_set(&l, "max_order_qty", "none", old, sizeof old, err, sizeof err),
		     0);
	CHECK((l.off & RISK_CHK_ORDER_QTY) == 0); /* still runs until narrowed */
	risk_limits_narrow(&l);
	CHECK_EQ_INT((int)l.off, RISK_CHK_ALL & ~(RISK_CHK_POSITION | RISK_CHK_RESTRICTED));
	CHECK_EQ_INT(risk_limits_restrict(&l, 7, false), 0);
	risk_limits_narrow(&l);
	CHECK_EQ_INT((int)l.off, RISK_CHK_ALL & ~RISK_CHK_POSITION);
	/* every limit on: every bit */
	risk_limits_init(&l);
	l.max_order_qty = l.max_order_notional = l.price_collar_pct = l.max_gross_exposure = 1;
	l.max_position.max_long = l.max_open_orders = l.max_orders_per_sec = 1;
	l.duplicate_window_ns = 1;
	l.throttle_fills = l.max_daily_loss = 1;
	risk_limits_restrict(&l, 1, true);
	risk_limits_narrow(&l);
	CHECK_EQ_INT((int)l.off, 0);
	/* never initialised (all 0): every check runs, and fails closed */
	memset(&l, 0, sizeof l);
	CHECK_EQ_INT((int)l.off, 0);
}

/* The order tests, run twice: with every check's mask bit clear, and with
 * the masks narrowed as the engine narrows them. */
#define T(fn) {#fn, fn}
static const struct {
	const char *name;
	void (*fn)(void);
} order_tests[] = {
	T(test_all_disabled_accepts),
	T(test_zero_limits_fail_closed),
	T(test_bad_qty),
	T(test_bad_price),
	T(test_unknown_symbol_not_trading),
	T(test_off_tick),
	T(test_max_order_qty),
	T(test_max_order_notional),
	T(test_price_collar),
	T(test_stale_reference),
	T(test_max_position),
	T(test_position_overrides),
	T(test_max_gross_exposure),
	T(test_max_open_orders),
	T(test_restricted),
	T(test_self_cross),
	T(test_rate_limit_window_slides),
	T(test_rate_limit_at_limit),
	T(test_rejected_orders_do_not_consume_rate),
	T(test_msgs_per_sec_counts_cancels),
	T(test_firm_rate_spans_strategies),
	T(test_rate_ring_wraps),
	T(test_duplicate_window),
	T(test_duplicate_table_capacity),
	T(test_max_loss_halts_until_resume),
	T(test_firm_halt_blocks_every_strategy),
	T(test_on_pnl),
	T(test_max_drawdown),
	T(test_throttle),
	T(test_throttle_window_slides),
	T(test_operator_halt_and_reduce_only),
	T(test_is_reducing),
	T(test_cancels_skip_order_checks),
	T(test_check_order),
};
#undef T

int main(void)
{
	RUN(test_reason_names);
	for (int pass = 0; pass < 2; pass++) {
		narrowed = pass == 1;
		for (size_t i = 0; i < sizeof order_tests / sizeof *order_tests; i++) {
			fprintf(stderr, "-- %s%s\n", order_tests[i].name, narrowed ? " (narrowed)" : "");
			order_tests[i].fn();
		}
		if (pass == 0)
			RUN(test_active_mask);
	}
	narrowed = false;

	LS = luaL_newstate();
	RUN(test_config_contract_example);
	RUN(test_config_extra_keys);
	RUN(test_config_negative_values);
	RUN(test_config_wrong_types);
	RUN(test_config_bad_values);
	RUN(test_set_happy_path);
	RUN(test_set_bad_input);
	CHECK(calls > 0);
	lua_close(LS);
	return check_summary();
}
