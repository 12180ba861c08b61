/*
 * test_sim — the contract's bar execution model through the venue interface:
 * market orders fill at the next bar's open, limits when the bar trades
 * through them (at the limit or the better open), nothing on the bar that
 * created the order, IOC gets one bar, per-symbol matching, fees, slippage,
 * cancel and cancel-all.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "oms.h"
#include "sim.h"

#define T(i) ((int64_t)(i) * 86400LL * 1000000000LL)

struct fills {
	int n;
	double qty[16], price[16], fee[16];
	int64_t time[16], id[16];
};

static void on_event(void *ud, const struct oms_event *ev)
{
	struct fills *f = ud;
	if (ev->kind != OMS_EV_FILL || f->n == 16)
		return;
	f->qty[f->n] = ev->fill->qty;
	f->price[f->n] = ev->fill->price;
	f->fee[f->n] = ev->fill->fee;
	f->time[f->n] = ev->fill->time;
	f->id[f->n] = ev->fill->order_id;
	f->n++;
}

struct rig {
	struct oms *oms;
	struct sim *sim;
	struct fills fills;
};

static void rig_open(struct rig *r, double fee_per_share, double fee_bps, double slippage_bps)
{
	memset(r, 0, sizeof *r);
	struct sim_config cfg = {.fee_per_share = fee_per_share, .fee_bps = fee_bps,
				 .slippage_bps = slippage_bps};
	r->oms = oms_new(1, 100000);
	r->sim = sim_new(r->oms, &cfg);
	oms_set_listener(r->oms, on_event, &r->fills);
}

static void rig_close(struct rig *r)
{
	sim_free(r->sim);
	oms_free(r->oms);
}

/* Creates and submits an order; returns its id (orders may move, ids do not). */
static int64_t place(struct rig *r, int sym, int side, int type, int tif, double qty,
		     double price, int64_t now)
{
	struct order *o = oms_create(r->oms, 0, sym, side, type, tif, qty, price, now, 1);
	if (!o)
		return 0;
	int64_t id = o->id;
	if (sim_venue.submit(r->sim, o, now) != 0)
		return -id;
	return id;
}

static struct order *get(struct rig *r, int64_t id)
{
	return oms_get(r->oms, id);
}

static void bar(struct rig *r, int sym, int64_t t, double o, double h, double l, double c)
{
	struct bar b = {t, o, h, l, c, 1000, sym};
	sim_on_bar(r->sim, &b);
}

static void test_submit_accepts(void)
{
	struct rig r;
	rig_open(&r, 0, 0, 0);
	CHECK_STR(sim_venue.name, "sim");
	int64_t id = place(&r, 0, SIDE_BUY, ORD_MARKET, TIF_DAY, 10, 0, T(1));
	CHECK(id > 0);
	CHECK_EQ_INT(get(&r, id)->status, ST_ACCEPTED);
	CHECK_EQ_INT(oms_open_count(r.oms, 0), 1);
	CHECK_EQ_INT(r.fills.n, 0); /* nothing fills on submit */
	rig_close(&r);
}

static void test_market_fills_at_next_open(void)
{
	struct rig r;
	rig_open(&r, 0, 0, 0);
	/* placed while handling the bar at T(1): that bar must not fill it */
	int64_t id = place(&r, 0, SIDE_BUY, ORD_MARKET, TIF_DAY, 10, 0, T(1));
	bar(&r, 0, T(1), 100, 105, 95, 101);
	CHECK_EQ_INT(get(&r, id)->status, ST_ACCEPTED);
	CHECK_EQ_INT(r.fills.n, 0);
	bar(&r, 0, T(2), 102, 108, 99, 107);
	CHECK_EQ_INT(get(&r, id)->status, ST_FILLED);
	CHECK_EQ_INT(r.fills.n, 1);
	CHECK_NEAR(r.fills.price[0], 102, 0); /* the open, not the close or the high */
	CHECK_NEAR(r.fills.qty[0], 10, 0);
	CHECK_EQ_INT(r.fills.time[0], T(2));
	CHECK_EQ_INT(get(&r, id)->updated, T(2));
	CHECK_NEAR(oms_position(r.oms, 0, 0)->qty, 10, 0);
	CHECK_NEAR(oms_account(r.oms, 0)->cash, 100000 - 1020, 1e-9);
	CHECK_EQ_INT(oms_open_count(r.oms, 0), 0);
	/* filled orders do not fill again */
	bar(&r, 0, T(3), 110, 111, 109, 110);
	CHECK_EQ_INT(r.fills.n, 1);

	/* a market sell the same way */
	id = place(&r, 0, SIDE_SELL, ORD_MARKET, TIF_DAY, 4, 0, T(3));
	bar(&r, 0, T(4), 90, 95, 85, 92);
	CHECK_EQ_INT(get(&r, id)->status, ST_FILLED);
	CHECK_NEAR(r.fills.price[1], 90, 0);
	CHECK_NEAR(oms_position(r.oms, 0, 0)->qty, 6, 0);
	rig_close(&r);
}

static void test_limit_buy(void)
{
	struct rig r;
	rig_open(&r, 0, 0, 0);
	int64_t a = place(&r, 0, SIDE_BUY, ORD_LIMIT, TIF_DAY, 5, 9.8, T(1));
	bar(&r, 0, T(1), 9.0, 9.5, 8.0, 9.2); /* creation bar: trades through, no fill */
	CHECK_EQ_INT(get(&r, a)->status, ST_ACCEPTED);
	bar(&r, 0, T(2), 10.0, 10.5, 9.9, 10.1); /* low 9.9 > 9.8: not reached */
	CHECK_EQ_INT(get(&r, a)->status, ST_ACCEPTED);
	bar(&r, 0, T(3), 10.0, 10.2, 9.7, 9.9); /* low 9.7 <= 9.8, open above: at the limit */
	CHECK_EQ_INT(get(&r, a)->status, ST_FILLED);
	CHECK_NEAR(r.fills.price[0], 9.8, 0);
	CHECK_EQ_INT(r.fills.time[0], T(3));

	/* the open is better than the limit: fill at the open */
	int64_t b = place(&r, 0, SIDE_BUY, ORD_LIMIT, TIF_DAY, 5, 9.8, T(3));
	bar(&r, 0, T(4), 9.5, 9.6, 9.4, 9.5);
	CHECK_EQ_INT(get(&r, b)->status, ST_FILLED);
	CHECK_NEAR(r.fills.price[1], 9.5, 0);

	/* the low touching the limit is enough */
	int64_t c = place(&r, 0, SIDE_BUY, ORD_LIMIT, TIF_DAY, 5, 9.0, T(4));
	bar(&r, 0, T(5), 9.3, 9.6, 9.0, 9.5);
	CHECK_EQ_INT(get(&r, c)->status, ST_FILLED);
	CHECK_NEAR(r.fills.price[2], 9.0, 0);
	rig_close(&r);
}

static void test_limit_sell(void)
{
	struct rig r;
	rig_open(&r, 0, 0, 0);
	int64_t a = place(&r, 0, SIDE_SELL, ORD_LIMIT, TIF_DAY, 5, 10.2, T(1));
	bar(&r, 0, T(2), 10.0, 10.1, 9.5, 10.0); /* high 10.1 < 10.2 */
	CHECK_EQ_INT(get(&r, a)->status, ST_ACCEPTED);
	bar(&r, 0, T(3), 10.0, 10.3, 9.9, 10.1); /* through, open below: at the limit */
	CHECK_EQ_INT(get(&r, a)->status, ST_FILLED);
	CHECK_NEAR(r.fills.price[0], 10.2, 0);

	int64_t b = place(&r, 0, SIDE_SELL, ORD_LIMIT, TIF_DAY, 5, 10.2, T(3));
	bar(&r, 0, T(4), 10.5, 10.6, 10.4, 10.5); /* gap up: the open is better */
	CHECK_EQ_INT(get(&r, b)->status, ST_FILLED);
	CHECK_NEAR(r.fills.price[1], 10.5, 0);

	int64_t c = place(&r, 0, SIDE_SELL, ORD_LIMIT, TIF_DAY, 5, 11, T(4));
	bar(&r, 0, T(5), 10.5, 11.0, 10.4, 10.9); /* high touches */
	CHECK_EQ_INT(get(&r, c)->status, ST_FILLED);
	CHECK_NEAR(r.fills.price[2], 11, 0);
	CHECK_NEAR(oms_position(r.oms, 0, 0)->qty, -15, 0);
	rig_close(&r);
}

static void test_limit_never_reached_stays_open(void)
{
	struct rig r;
	rig_open(&r, 0, 0, 0);
	int64_t buy = place(&r, 0, SIDE_BUY, ORD_LIMIT, TIF_DAY, 5, 50, T(1));
	int64_t sell = place(&r, 0, SIDE_SELL, ORD_LIMIT, TIF_DAY, 5, 150, T(1));
	for (int i = 2; i < 30; i++)
		bar(&r, 0, T(i), 100, 100 + i, 100 - i, 100);
	CHECK_EQ_INT(get(&r, buy)->status, ST_ACCEPTED);
	CHECK_EQ_INT(get(&r, sell)->status, ST_ACCEPTED);
	CHECK_EQ_INT(oms_open_count(r.oms, 0), 2);
	CHECK_EQ_INT(r.fills.n, 0);
	rig_close(&r);
}

static void test_ioc(void)
{
	struct rig r;
	rig_open(&r, 0, 0, 0);
	int64_t a = place(&r, 0, SIDE_BUY, ORD_LIMIT, TIF_IOC, 5, 9, T(1));
	bar(&r, 0, T(1), 10, 11, 8, 10); /* its own bar does not count */
	CHECK_EQ_INT(get(&r, a)->status, ST_ACCEPTED);
	bar(&r, 0, T(2), 10, 11, 9.5, 10); /* one bar, not reached: expired */
	CHECK_EQ_INT(get(&r, a)->status, ST_EXPIRED);
	CHECK_STR(get(&r, a)->reason, "ioc");
	CHECK_EQ_INT(get(&r, a)->updated, T(2));
	CHECK(!oms_is_open(get(&r, a)));
	bar(&r, 0, T(3), 8, 9, 7, 8); /* would have filled now: too late */
	CHECK_EQ_INT(get(&r, a)->status, ST_EXPIRED);
	CHECK_EQ_INT(r.fills.n, 0);

	/* an IOC that can trade on its bar fills */
	int64_t b = place(&r, 0, SIDE_BUY, ORD_LIMIT, TIF_IOC, 5, 9, T(3));
	bar(&r, 0, T(4), 9.2, 9.5, 8.9, 9.1);
	CHECK_EQ_INT(get(&r, b)->status, ST_FILLED);
	CHECK_NEAR(r.fills.price[0], 9, 0);
	/* a market IOC fills at the next open */
	int64_t c = place(&r, 0, SIDE_SELL, ORD_MARKET, TIF_IOC, 5, 0, T(4));
	bar(&r, 0, T(5), 9.3, 9.5, 8.9, 9.1);
	CHECK_EQ_INT(get(&r, c)->status, ST_FILLED);
	CHECK_NEAR(r.fills.price[1], 9.3, 0);
	CHECK_EQ_INT(oms_open_count(r.oms, 0), 0);
	rig_close(&r);
}

static void test_other_symbols_untouched(void)
{
	struct rig r;
	rig_open(&r, 0, 0, 0);
	int64_t a = place(&r, 0, SIDE_BUY, ORD_MARKET, TIF_DAY, 5, 0, T(1));
	int64_t i = place(&r, 0, SIDE_BUY, ORD_LIMIT, TIF_IOC, 5, 1, T(1));
	bar(&r, 1, T(2), 50, 51, 49, 50); /* another symbol */
	bar(&r, 7, T(2), 50, 51, 49, 50); /* a symbol with no orders at all */
	CHECK_EQ_INT(get(&r, a)->status, ST_ACCEPTED);
	CHECK_EQ_INT(get(&r, i)->status, ST_ACCEPTED); /* IOC's bar is a bar of its symbol */
	CHECK_EQ_INT(r.fills.n, 0);
	bar(&r, 0, T(2), 20, 21, 19, 20);
	CHECK_EQ_INT(get(&r, a)->status, ST_FILLED);
	CHECK_NEAR(r.fills.price[0], 20, 0);
	CHECK_EQ_INT(get(&r, i)->status, ST_EXPIRED);
	CHECK_NEAR(oms_position(r.oms, 0, 1)->qty, 0, 0);
	rig_close(&r);
}

/* An order for B placed while handling A's bar at T must not fill on B's bar
 * at the same T (it closed at the same moment: that would be look-ahead). */
static void test_no_lookahead_across_symbols(void)
{
	struct rig r;
	rig_open(&r, 0, 0, 0);
	bar(&r, 0, T(1), 10, 11, 9, 10);
	int64_t id = place(&r, 1, SIDE_BUY, ORD_MARKET, TIF_DAY, 1, 0, T(1));
	bar(&r, 1, T(1), 30, 31, 29, 30);
	CHECK_EQ_INT(get(&r, id)->status, ST_ACCEPTED);
	bar(&r, 0, T(2), 10, 11, 9, 10);
	CHECK_EQ_INT(get(&r, id)->status, ST_ACCEPTED);
	bar(&r, 1, T(2), 32, 33, 31, 32);
	CHECK_EQ_INT(get(&r, id)->status, ST_FILLED);
	CHECK_NEAR(r.fills.price[0], 32, 0);
	rig_close(&r);
}

/* Several orders on one bar: the ones that trade fill, in one pass, and the
 * rest stay (the per-symbol list is swap-removed while walked). */
static void test_several_orders_one_bar(void)
{
	struct rig r;
	rig_open(&r, 0, 0, 0);
	int64_t m1 = place(&r, 0, SIDE_BUY, ORD_MARKET, TIF_DAY, 1, 0, T(1));
	int64_t l1 = place(&r, 0, SIDE_BUY, ORD_LIMIT, TIF_DAY, 2, 5, T(1)); /* not reached */
	int64_t m2 = place(&r, 0, SIDE_SELL, ORD_MARKET, TIF_DAY, 3, 0, T(1));
	int64_t l2 = place(&r, 0, SIDE_SELL, ORD_LIMIT, TIF_DAY, 4, 10.5, T(1));
	int64_t i1 = place(&r, 0, SIDE_SELL, ORD_LIMIT, TIF_IOC, 5, 50, T(1)); /* expires */
	bar(&r, 0, T(2), 10, 11, 9, 10);
	CHECK_EQ_INT(get(&r, m1)->status, ST_FILLED);
	CHECK_EQ_INT(get(&r, m2)->status, ST_FILLED);
	CHECK_EQ_INT(get(&r, l2)->status, ST_FILLED);
	CHECK_EQ_INT(get(&r, l1)->status, ST_ACCEPTED);
	CHECK_EQ_INT(get(&r, i1)->status, ST_EXPIRED);
	CHECK_EQ_INT(r.fills.n, 3);
	CHECK_NEAR(oms_position(r.oms, 0, 0)->qty, 1 - 3 - 4, 0);
	CHECK_EQ_INT(oms_open_count(r.oms, 0), 1);
	rig_close(&r);
}

static void test_fees(void)
{
	struct rig r;
	rig_open(&r, 0.01, 5, 0);
	/* 100 shares at 50: 100 * 0.01 + 100 * 50 * 5 / 10000 = 1 + 2.5 = 3.5 */
	CHECK_NEAR(sim_fee(r.sim, 100, 50), 3.5, 1e-12);
	CHECK_NEAR(sim_fee(r.sim, 0, 50), 0, 0);
	int64_t id = place(&r, 0, SIDE_BUY, ORD_MARKET, TIF_DAY, 100, 0, T(1));
	bar(&r, 0, T(2), 50, 51, 49, 50);
	CHECK_NEAR(r.fills.fee[0], 3.5, 1e-12);
	CHECK_NEAR(get(&r, id)->fees, 3.5, 1e-12);
	CHECK_NEAR(oms_account(r.oms, 0)->cash, 100000 - 5000 - 3.5, 1e-9);
	CHECK_NEAR(oms_account(r.oms, 0)->fees, 3.5, 1e-12);
	/* limit fill at 52: 0.01 * 100 + 5200 * 5e-4 = 1 + 2.6 */
	place(&r, 0, SIDE_SELL, ORD_LIMIT, TIF_DAY, 100, 52, T(2));
	bar(&r, 0, T(3), 51, 53, 50, 52);
	CHECK_NEAR(r.fills.fee[1], 3.6, 1e-12);
	CHECK_NEAR(oms_account(r.oms, 0)->fees, 7.1, 1e-12);
	rig_close(&r);

	/* the default: no fee */
	rig_open(&r, 0, 0, 0);
	place(&r, 0, SIDE_BUY, ORD_MARKET, TIF_DAY, 100, 0, T(1));
	bar(&r, 0, T(2), 50, 51, 49, 50);
	CHECK_NEAR(r.fills.fee[0], 0, 0);
	rig_close(&r);
}

static void test_slippage(void)
{
	struct rig r;
	rig_open(&r, 0, 0, 10); /* 10 bps */
	place(&r, 0, SIDE_BUY, ORD_MARKET, TIF_DAY, 1, 0, T(1));
	place(&r, 0, SIDE_SELL, ORD_MARKET, TIF_DAY, 1, 0, T(1));
	bar(&r, 0, T(2), 100, 101, 99, 100);
	CHECK_EQ_INT(r.fills.n, 2);
	/* buys pay up, sells receive less: 100 * (1 +- 0.001) */
	for (int i = 0; i < r.fills.n; i++) {
		if (r.fills.id[i] == 1)
			CHECK_NEAR(r.fills.price[i], 100.1, 1e-9);
		else
			CHECK_NEAR(r.fills.price[i], 99.9, 1e-9);
	}
	/* limits are not slipped */
	place(&r, 0, SIDE_BUY, ORD_LIMIT, TIF_DAY, 1, 99.5, T(2));
	bar(&r, 0, T(3), 100, 101, 99, 100);
	CHECK_NEAR(r.fills.price[2], 99.5, 0);
	rig_close(&r);
}

static void test_cancel(void)
{
	struct rig r;
	rig_open(&r, 0, 0, 0);
	int64_t a = place(&r, 0, SIDE_BUY, ORD_LIMIT, TIF_DAY, 5, 9, T(1));
	int64_t b = place(&r, 0, SIDE_BUY, ORD_MARKET, TIF_DAY, 5, 0, T(1));
	CHECK_EQ_INT(sim_venue.cancel(r.sim, get(&r, a), T(1)), 0);
	CHECK_EQ_INT(get(&r, a)->status, ST_CANCELED);
	CHECK_STR(get(&r, a)->reason, "canceled");
	CHECK_EQ_INT(sim_venue.cancel(r.sim, get(&r, a), T(1)), -1); /* already done */
	bar(&r, 0, T(2), 8, 10, 7, 8); /* would have filled a */
	CHECK_EQ_INT(get(&r, a)->status, ST_CANCELED);
	CHECK_EQ_INT(get(&r, b)->status, ST_FILLED);
	CHECK_EQ_INT(r.fills.n, 1);
	CHECK_EQ_INT(sim_venue.cancel(r.sim, get(&r, b), T(2)), -1); /* filled */
	CHECK_EQ_INT(get(&r, b)->status, ST_FILLED);
	rig_close(&r);
}

static void test_cancel_all(void)
{
	struct rig r;
	rig_open(&r, 0, 0, 0);
	int64_t ids[4];
	ids[0] = place(&r, 0, SIDE_BUY, ORD_LIMIT, TIF_DAY, 5, 1, T(1));
	ids[1] = place(&r, 3, SIDE_SELL, ORD_LIMIT, TIF_DAY, 5, 1000, T(1));
	ids[2] = place(&r, 0, SIDE_BUY, ORD_MARKET, TIF_DAY, 5, 0, T(1));
	ids[3] = place(&r, 20, SIDE_BUY, ORD_LIMIT, TIF_IOC, 5, 1, T(1));
	int64_t done = place(&r, 1, SIDE_BUY, ORD_MARKET, TIF_DAY, 5, 0, T(1));
	bar(&r, 1, T(2), 10, 11, 9, 10);
	CHECK_EQ_INT(get(&r, done)->status, ST_FILLED);
	sim_cancel_all(r.sim, "end_of_data", T(9));
	int ok = 0;
	for (int i = 0; i < 4; i++) {
		struct order *o = get(&r, ids[i]);
		ok += o->status == ST_CANCELED && strcmp(o->reason, "end_of_data") == 0 &&
		      o->updated == T(9);
	}
	CHECK_EQ_INT(ok, 4);
	CHECK_EQ_INT(get(&r, done)->status, ST_FILLED); /* done orders keep their state */
	CHECK_EQ_INT(oms_open_count(r.oms, 0), 0);
	/* nothing is left to match */
	bar(&r, 0, T(10), 1, 2000, 0.5, 1);
	bar(&r, 3, T(10), 1, 2000, 0.5, 1);
	CHECK_EQ_INT(r.fills.n, 1);
	/* again: nothing to do, no change */
	sim_cancel_all(r.sim, "again", T(11));
	CHECK_STR(get(&r, ids[0])->reason, "end_of_data");
	rig_close(&r);
}

int main(void)
{
	RUN(test_submit_accepts);
	RUN(test_market_fills_at_next_open);
	RUN(test_limit_buy);
	RUN(test_limit_sell);
	RUN(test_limit_never_reached_stays_open);
	RUN(test_ioc);
	RUN(test_other_symbols_untouched);
	RUN(test_no_lookahead_across_symbols);
	RUN(test_several_orders_one_bar);
	RUN(test_fees);
	RUN(test_slippage);
	RUN(test_cancel);
	RUN(test_cancel_all);
	return check_summary();
}
