/*
 * test_oms — order states, positions and average prices, cash and fees,
 * equity and P&L against marks, round trips and wins, working quantity and
 * the listener's events in order.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "oms.h"

/* ---------------------------------------------------------------- listener */

struct rec {
	int kind;
	int64_t id;
	int status;
	double qty, price, fee; /* of the fill */
	double order_filled;    /* what the order said at the time of the event */
};

struct recorder {
	struct rec ev[64];
	int n;
};

static void record(void *ud, const struct oms_event *ev)
{
	struct recorder *r = ud;
	if (r->n == 64)
		return;
	struct rec *e = &r->ev[r->n++];
	memset(e, 0, sizeof *e);
	e->kind = ev->kind;
	e->id = ev->order->id;
	e->status = ev->order->status;
	e->order_filled = ev->order->filled;
	if (ev->kind == OMS_EV_FILL && ev->fill) {
		e->qty = ev->fill->qty;
		e->price = ev->fill->price;
		e->fee = ev->fill->fee;
	}
}

/* An accepted market order of strategy 0 in sym, filled in one go. */
static struct order *trade(struct oms *o, int sym, int side, double qty, double price, double fee)
{
	struct order *ord = oms_create(o, 0, sym, side, ORD_MARKET, TIF_DAY, qty, 0, 1, 1);
	oms_accept(o, ord, 1);
	oms_fill(o, ord, qty, price, fee, 2);
	return ord;
}

/* ---------------------------------------------------------------- states */

static void test_create_and_ids(void)
{
	struct oms *o = oms_new(2, 1000);
	CHECK_EQ_INT(oms_nstrat(o), 2);
	CHECK_EQ_INT(oms_count(o), 0);
	struct order *a = oms_create(o, 0, 3, SIDE_BUY, ORD_LIMIT, TIF_IOC, 10, 9.5, 111, 7);
	CHECK(a != NULL);
	CHECK_EQ_INT(a->id, 1);
	CHECK_EQ_INT(a->status, ST_NEW);
	CHECK_EQ_INT(a->strat, 0);
	CHECK_EQ_INT(a->sym, 3);
	CHECK_EQ_INT(a->side, SIDE_BUY);
	CHECK_EQ_INT(a->type, ORD_LIMIT);
	CHECK_EQ_INT(a->tif, TIF_IOC);
	CHECK_NEAR(a->qty, 10, 0);
	CHECK_NEAR(a->price, 9.5, 0);
	CHECK_EQ_INT(a->created, 111);
	CHECK_EQ_INT(a->version, 7);
	CHECK(!oms_is_open(a)); /* NEW is not yet working */
	int64_t aid = a->id;
	struct order *b = oms_create(o, 1, 0, SIDE_SELL, ORD_MARKET, TIF_DAY, 5, 0, 112, 1);
	CHECK_EQ_INT(b->id, 2);
	CHECK_EQ_INT(oms_count(o), 2);
	CHECK(oms_get(o, aid) != NULL && oms_get(o, aid)->sym == 3);
	CHECK(oms_get(o, 2) == b);
	CHECK(oms_get(o, 0) == NULL);
	CHECK(oms_get(o, 3) == NULL);
	CHECK(oms_get(o, -1) == NULL);
	CHECK_EQ_INT(oms_account(o, 0)->orders, 1);
	CHECK_EQ_INT(oms_account(o, 1)->orders, 1);
	CHECK_STR(oms_side_name(SIDE_BUY), "buy");
	CHECK_STR(oms_side_name(SIDE_SELL), "sell");
	CHECK_STR(oms_tif_name(TIF_IOC), "ioc");
	CHECK_STR(oms_tif_name(TIF_DAY), "day");
	CHECK_STR(oms_tif_name(TIF_GTC), "gtc");
	CHECK_STR(oms_status_name(ST_FILLED), "filled");
	CHECK_STR(oms_status_name(ST_PARTIAL), "partially_filled");
	CHECK_STR(oms_status_name(ST_CANCELED), "canceled");
	CHECK_STR(oms_status_name(ST__COUNT), "?");
	CHECK_STR(oms_status_name(-1), "?");
	oms_free(o);
}

static void test_transitions(void)
{
	struct oms *o = oms_new(1, 1000);
	struct recorder r = {0};
	oms_set_listener(o, record, &r);

	/* accept -> open; cancel -> closed with its reason */
	struct order *a = oms_create(o, 0, 0, SIDE_BUY, ORD_LIMIT, TIF_DAY, 10, 9, 100, 1);
	oms_accept(o, a, 101);
	CHECK_EQ_INT(a->status, ST_ACCEPTED);
	CHECK_EQ_INT(a->updated, 101);
	CHECK(oms_is_open(a));
	CHECK_EQ_INT(oms_open_count(o, 0), 1);
	CHECK(oms_open_at(o, 0, 0) == a);
	oms_cancel(o, a, "canceled", 102);
	CHECK_EQ_INT(a->status, ST_CANCELED);
	CHECK_STR(a->reason, "canceled");
	CHECK_EQ_INT(a->updated, 102);
	CHECK(!oms_is_open(a));
	CHECK_EQ_INT(oms_open_count(o, 0), 0);

	/* expire */
	struct order *b = oms_create(o, 0, 0, SIDE_BUY, ORD_LIMIT, TIF_IOC, 10, 9, 103, 1);
	oms_accept(o, b, 103);
	oms_expire(o, b, "ioc", 104);
	CHECK_EQ_INT(b->status, ST_EXPIRED);
	CHECK_STR(b->reason, "ioc");
	CHECK(!oms_is_open(b));
	CHECK_EQ_INT(oms_open_count(o, 0), 0);

	/* reject: never open, counted by reason */
	struct order *c = oms_create(o, 0, 0, SIDE_SELL, ORD_MARKET, TIF_DAY, 10, 0, 105, 1);
	oms_reject(o, c, "max_position", 3);
	CHECK_EQ_INT(c->status, ST_REJECTED);
	CHECK_STR(c->reason, "max_position");
	CHECK(!oms_is_open(c));
	CHECK_EQ_INT(oms_account(o, 0)->rejects, 1);
	CHECK_EQ_INT(oms_account(o, 0)->rejects_by_reason[3], 1);
	oms_reject(o, oms_create(o, 0, 0, SIDE_SELL, ORD_MARKET, TIF_DAY, 1, 0, 105, 1), "x", 99);
	CHECK_EQ_INT(oms_account(o, 0)->rejects, 2); /* an out-of-range code still counts */

	/* partial then full fill */
	struct order *d = oms_create(o, 0, 0, SIDE_BUY, ORD_MARKET, TIF_DAY, 10, 0, 106, 1);
	oms_accept(o, d, 106);
	oms_fill(o, d, 4, 10, 0, 107);
	CHECK_EQ_INT(d->status, ST_PARTIAL);
	CHECK(oms_is_open(d));
	CHECK_EQ_INT(oms_open_count(o, 0), 1);
	CHECK_NEAR(d->filled, 4, 0);
	oms_fill(o, d, 6, 11, 0, 108);
	CHECK_EQ_INT(d->status, ST_FILLED);
	CHECK(!oms_is_open(d));
	CHECK_NEAR(d->filled, 10, 0);
	CHECK_NEAR(d->avg_price, (4 * 10 + 6 * 11) / 10.0, 1e-12); /* 10.6 */
	CHECK_EQ_INT(d->updated, 108);
	CHECK_EQ_INT(oms_open_count(o, 0), 0);

	/* the events, in order */
	static const struct {
		int kind;
		int64_t id;
		int status;
	} want[] = {
		{OMS_EV_ORDER, 1, ST_ACCEPTED}, {OMS_EV_ORDER, 1, ST_CANCELED},
		{OMS_EV_ORDER, 2, ST_ACCEPTED}, {OMS_EV_ORDER, 2, ST_EXPIRED},
		{OMS_EV_ORDER, 3, ST_REJECTED}, {OMS_EV_ORDER, 4, ST_REJECTED},
		{OMS_EV_ORDER, 5, ST_ACCEPTED}, {OMS_EV_FILL, 5, ST_ACCEPTED},
		{OMS_EV_ORDER, 5, ST_PARTIAL},	{OMS_EV_FILL, 5, ST_PARTIAL},
		{OMS_EV_ORDER, 5, ST_FILLED},
	};
	int nwant = (int)(sizeof want / sizeof want[0]);
	CHECK_EQ_INT(r.n, nwant);
	int mismatch = 0;
	for (int i = 0; i < nwant && i < r.n; i++)
		if (r.ev[i].kind != want[i].kind || r.ev[i].id != want[i].id ||
		    r.ev[i].status != want[i].status) {
			fprintf(stderr, "  event %d: kind %d id %lld status %d\n", i, r.ev[i].kind,
				(long long)r.ev[i].id, r.ev[i].status);
			mismatch++;
		}
	CHECK_EQ_INT(mismatch, 0);
	/* the fill event carries the fill and the order already counts it */
	CHECK_NEAR(r.ev[7].qty, 4, 0);
	CHECK_NEAR(r.ev[7].price, 10, 0);
	CHECK_NEAR(r.ev[7].order_filled, 4, 0);
	CHECK_NEAR(r.ev[9].qty, 6, 0);
	CHECK_NEAR(r.ev[9].price, 11, 0);
	CHECK_NEAR(r.ev[9].order_filled, 10, 0);
	oms_free(o);
}

static void test_open_list_swap_remove(void)
{
	struct oms *o = oms_new(2, 0);
	struct order *ord[5];
	for (int i = 0; i < 5; i++) {
		ord[i] = oms_create(o, 0, 0, SIDE_BUY, ORD_LIMIT, TIF_DAY, 1, 1, 0, 1);
		oms_accept(o, ord[i], 0);
	}
	struct order *other = oms_create(o, 1, 0, SIDE_BUY, ORD_LIMIT, TIF_DAY, 1, 1, 0, 1);
	oms_accept(o, other, 0);
	CHECK_EQ_INT(oms_open_count(o, 0), 5);
	CHECK_EQ_INT(oms_open_count(o, 1), 1);
	oms_cancel(o, ord[1], "canceled", 1);
	oms_cancel(o, ord[4], "canceled", 1);
	CHECK_EQ_INT(oms_open_count(o, 0), 3);
	/* the open list holds exactly 1, 3, 4 (ids 1, 3, 4) and each knows its index */
	int seen = 0, index_ok = 1;
	for (int i = 0; i < oms_open_count(o, 0); i++) {
		struct order *x = oms_open_at(o, 0, i);
		seen |= 1 << (int)(x->id - 1);
		index_ok &= x->open_index == i;
	}
	CHECK_EQ_INT(seen, (1 << 0) | (1 << 2) | (1 << 3));
	CHECK(index_ok);
	CHECK_EQ_INT(ord[1]->open_index, -1);
	oms_free(o);
}

/* Orders live in one array that grows: the open lists must follow it. */
/* 40,000 orders fill more than two chunks of the order store: every order
 * stays where it was made (a pointer to it stays good), and ids still map. */
static void test_many_orders_keep_open_list_valid(void)
{
	struct oms *o = oms_new(1, 0);
	enum { N = 40000 };
	int n = N, moved = 0, wrong = 0;
	struct order **made = calloc(N, sizeof *made);
	for (int i = 0; i < n; i++) {
		struct order *x = oms_create(o, 0, i % 3, SIDE_BUY, ORD_LIMIT, TIF_DAY, 2, 1, i, 1);
		if (!x)
			break;
		made[i] = x;
		oms_accept(o, x, i);
	}
	for (int i = 0; i < n; i++) {
		moved += oms_get(o, i + 1) != made[i];
		wrong += made[i] == NULL || made[i]->id != i + 1 || made[i]->created != i;
	}
	free(made);
	CHECK_EQ_INT(moved, 0);
	CHECK_EQ_INT(wrong, 0);
	CHECK(oms_get(o, 0) == NULL && oms_get(o, n + 1) == NULL);
	CHECK_EQ_INT(oms_count(o), n);
	CHECK_EQ_INT(oms_open_count(o, 0), n);
	int bad = 0;
	for (int i = 0; i < oms_open_count(o, 0); i++) {
		struct order *x = oms_open_at(o, 0, i);
		if (x != oms_get(o, x->id) || x->open_index != i)
			bad++;
	}
	CHECK_EQ_INT(bad, 0);
	double buy, sell;
	oms_working(o, 0, 1, &buy, &sell);
	CHECK_NEAR(buy, 2 * (n / 3), 0);
	CHECK_NEAR(sell, 0, 0);
	oms_free(o);
}

/* ---------------------------------------------------------------- positions */

static void test_buy_then_sell_realises(void)
{
	struct oms *o = oms_new(1, 10000);
	trade(o, 0, SIDE_BUY, 100, 10, 0);
	struct position *p = oms_position(o, 0, 0);
	CHECK_NEAR(p->qty, 100, 0);
	CHECK_NEAR(p->avg_price, 10, 0);
	CHECK_NEAR(oms_account(o, 0)->cash, 10000 - 1000, 1e-9);
	trade(o, 0, SIDE_SELL, 40, 12, 0);
	p = oms_position(o, 0, 0);
	CHECK_NEAR(p->qty, 60, 0);
	CHECK_NEAR(p->avg_price, 10, 0);         /* reducing keeps the average */
	CHECK_NEAR(p->realized, (12 - 10) * 40, 1e-9); /* 80 */
	trade(o, 0, SIDE_SELL, 60, 9, 0);
	p = oms_position(o, 0, 0);
	CHECK_NEAR(p->qty, 0, 0);
	CHECK_NEAR(p->avg_price, 0, 0);
	CHECK_NEAR(p->realized, 80 + (9 - 10) * 60, 1e-9); /* 20 */
	/* cash: 10000 - 1000 + 480 + 540 = 10020 */
	CHECK_NEAR(oms_account(o, 0)->cash, 10020, 1e-9);
	CHECK_NEAR(oms_equity(o, 0), 10020, 1e-9);
	CHECK_NEAR(oms_pnl(o, 0, 0), 20, 1e-9);
	CHECK_NEAR(oms_pnl(o, 0, -1), 20, 1e-9);
	CHECK_EQ_INT(oms_account(o, 0)->fills, 3);
	oms_free(o);
}

static void test_adding_moves_average(void)
{
	struct oms *o = oms_new(1, 0);
	trade(o, 0, SIDE_BUY, 100, 10, 0);
	trade(o, 0, SIDE_BUY, 300, 12, 0);
	/* (100 * 10 + 300 * 12) / 400 = 4600 / 400 = 11.5 */
	CHECK_NEAR(oms_position(o, 0, 0)->avg_price, 11.5, 1e-12);
	CHECK_NEAR(oms_position(o, 0, 0)->qty, 400, 0);
	CHECK_NEAR(oms_position(o, 0, 0)->realized, 0, 0);
	/* shorts too: sell 50 @ 20, sell 150 @ 24 -> avg (1000 + 3600) / 200 = 23 */
	trade(o, 1, SIDE_SELL, 50, 20, 0);
	trade(o, 1, SIDE_SELL, 150, 24, 0);
	CHECK_NEAR(oms_position(o, 0, 1)->qty, -200, 0);
	CHECK_NEAR(oms_position(o, 0, 1)->avg_price, 23, 1e-12);
	oms_free(o);
}

static void test_short_position(void)
{
	struct oms *o = oms_new(1, 5000);
	trade(o, 2, SIDE_SELL, 100, 50, 0);
	struct position *p = oms_position(o, 0, 2);
	CHECK_NEAR(p->qty, -100, 0);
	CHECK_NEAR(p->avg_price, 50, 0);
	CHECK_NEAR(oms_account(o, 0)->cash, 5000 + 5000, 1e-9); /* a short sale adds cash */
	oms_mark(o, 2, 45);
	/* equity = 10000 + (-100) * 45 = 5500; unrealised = -100 * (45 - 50) = 500 */
	CHECK_NEAR(oms_equity(o, 0), 5500, 1e-9);
	CHECK_NEAR(oms_unrealized(o, 0, 2), 500, 1e-9);
	CHECK_NEAR(oms_pnl(o, 0, 2), 500, 1e-9);
	trade(o, 2, SIDE_BUY, 100, 47, 0); /* cover: (47 - 50) * 100 * -1 = +300 */
	p = oms_position(o, 0, 2);
	CHECK_NEAR(p->qty, 0, 0);
	CHECK_NEAR(p->realized, 300, 1e-9);
	CHECK_NEAR(oms_account(o, 0)->cash, 5300, 1e-9);
	CHECK_NEAR(oms_pnl(o, 0, -1), 300, 1e-9);
	CHECK_EQ_INT(oms_account(o, 0)->round_trips, 1);
	CHECK_EQ_INT(oms_account(o, 0)->wins, 1);
	oms_free(o);
}

static void test_flip_long_to_short(void)
{
	struct oms *o = oms_new(1, 0);
	trade(o, 0, SIDE_BUY, 100, 10, 0);
	trade(o, 0, SIDE_SELL, 150, 12, 0);
	struct position *p = oms_position(o, 0, 0);
	/* the whole long is realised: (12 - 10) * 100 = 200; the rest, -50, opens at 12 */
	CHECK_NEAR(p->realized, 200, 1e-9);
	CHECK_NEAR(p->qty, -50, 0);
	CHECK_NEAR(p->avg_price, 12, 0);
	CHECK_EQ_INT(oms_account(o, 0)->round_trips, 1);
	CHECK_EQ_INT(oms_account(o, 0)->wins, 1);
	/* and back: buy 80 @ 11 covers 50 at +1 each (+50) and opens 30 long at 11 */
	trade(o, 0, SIDE_BUY, 80, 11, 0);
	p = oms_position(o, 0, 0);
	CHECK_NEAR(p->realized, 250, 1e-9);
	CHECK_NEAR(p->qty, 30, 0);
	CHECK_NEAR(p->avg_price, 11, 0);
	CHECK_EQ_INT(oms_account(o, 0)->round_trips, 2);
	CHECK_EQ_INT(oms_account(o, 0)->wins, 2);
	CHECK_EQ_INT(oms_account(o, 0)->losses, 0);
	CHECK_NEAR(oms_account(o, 0)->gross_win, 250, 1e-9); /* 200 + 50: the trips' P&L */
	CHECK_NEAR(oms_account(o, 0)->gross_loss, 0, 0);
	/* cash: -1000 + 1800 - 880 = -80; equity at mark 11: -80 + 30 * 11 = 250 */
	CHECK_NEAR(oms_account(o, 0)->cash, -80, 1e-9);
	oms_mark(o, 0, 11);
	CHECK_NEAR(oms_equity(o, 0), 250, 1e-9);
	oms_free(o);
}

static void test_fees_cash_and_trip_wins(void)
{
	struct oms *o = oms_new(1, 10000);
	/* a trip that makes 1 before fees and pays 2 in fees is a loss */
	trade(o, 0, SIDE_BUY, 100, 10, 1);
	CHECK_NEAR(oms_account(o, 0)->cash, 10000 - 1000 - 1, 1e-9);
	trade(o, 0, SIDE_SELL, 100, 10.01, 1);
	CHECK_NEAR(oms_account(o, 0)->cash, 10000 - 1000 - 1 + 1001 - 1, 1e-9); /* 9999 */
	struct account *a = oms_account(o, 0);
	CHECK_EQ_INT(a->round_trips, 1);
	CHECK_EQ_INT(a->wins, 0);
	CHECK_EQ_INT(a->losses, 1);
	CHECK_NEAR(a->gross_loss, -1, 1e-9); /* 1 made, 2 in fees */
	CHECK_NEAR(a->fees, 2, 1e-12);
	CHECK_NEAR(oms_position(o, 0, 0)->fees, 2, 1e-12);
	CHECK_NEAR(oms_position(o, 0, 0)->realized, 1, 1e-9);
	CHECK_NEAR(oms_pnl(o, 0, 0), -1, 1e-9); /* realised - fees */
	CHECK_NEAR(oms_pnl(o, 0, -1), -1, 1e-9);

	/* a winning trip with fees; fees accumulate across symbols */
	trade(o, 1, SIDE_BUY, 10, 100, 0.5);
	trade(o, 1, SIDE_SELL, 10, 110, 0.5);
	CHECK_EQ_INT(a->round_trips, 2);
	CHECK_EQ_INT(a->wins, 1);
	CHECK_NEAR(a->fees, 3, 1e-12);
	CHECK_NEAR(oms_pnl(o, 0, 1), 99, 1e-9);
	CHECK_NEAR(oms_pnl(o, 0, -1), 98, 1e-9);
	CHECK_NEAR(oms_equity(o, 0), 10098, 1e-9);

	/* a partial close is not a trip */
	trade(o, 1, SIDE_BUY, 10, 100, 0);
	trade(o, 1, SIDE_SELL, 5, 101, 0);
	CHECK_EQ_INT(a->round_trips, 2);
	/* an order's own fees sum over its fills */
	struct order *x = oms_create(o, 0, 1, SIDE_SELL, ORD_MARKET, TIF_DAY, 5, 0, 3, 1);
	oms_accept(o, x, 3);
	oms_fill(o, x, 2, 101, 0.25, 4);
	oms_fill(o, x, 3, 101, 0.5, 5);
	CHECK_NEAR(x->fees, 0.75, 1e-12);
	CHECK_EQ_INT(a->round_trips, 3);
	CHECK_EQ_INT(a->wins, 2); /* (101 - 100) * 10 - 0.75 = 9.25 > 0 */
	/* a break-even trip is a trip, not a win */
	trade(o, 2, SIDE_SELL, 10, 10, 0);
	trade(o, 2, SIDE_BUY, 10, 10, 0);
	CHECK_EQ_INT(a->round_trips, 4);
	CHECK_EQ_INT(a->wins, 2);
	oms_free(o);
}

static void test_equity_marks_and_pnl_per_symbol(void)
{
	struct oms *o = oms_new(2, 1000);
	CHECK(isnan(oms_mark_of(o, 0)));
	CHECK(isnan(oms_mark_of(o, 100)));
	trade(o, 0, SIDE_BUY, 10, 20, 0);  /* sym 0: long 10 @ 20 */
	trade(o, 1, SIDE_SELL, 5, 40, 0);  /* sym 1: short 5 @ 40 */
	/* cash: 1000 - 200 + 200 = 1000. No marks yet: positions valued at their average */
	CHECK_NEAR(oms_account(o, 0)->cash, 1000, 1e-9);
	CHECK_NEAR(oms_equity(o, 0), 1000 + 200 - 200, 1e-9);
	CHECK_NEAR(oms_unrealized(o, 0, 0), 0, 1e-12);
	oms_mark(o, 0, 25);
	oms_mark(o, 1, 38);
	CHECK_NEAR(oms_mark_of(o, 0), 25, 0);
	CHECK_NEAR(oms_mark_of(o, 1), 38, 0);
	/* equity = 1000 + 10 * 25 + (-5) * 38 = 1060 */
	CHECK_NEAR(oms_equity(o, 0), 1060, 1e-9);
	CHECK_NEAR(oms_pnl(o, 0, 0), 50, 1e-9); /* 10 * (25 - 20) */
	CHECK_NEAR(oms_pnl(o, 0, 1), 10, 1e-9); /* -5 * (38 - 40) */
	CHECK_NEAR(oms_pnl(o, 0, -1), 60, 1e-9);
	CHECK_NEAR(oms_pnl(o, 0, 7), 0, 0);	/* a symbol never traded */
	CHECK_NEAR(oms_pnl(o, 0, 5000), 0, 0); /* beyond the table */
	/* the other strategy is its own account */
	CHECK_NEAR(oms_equity(o, 1), 1000, 0);
	CHECK_NEAR(oms_pnl(o, 1, -1), 0, 0);
	CHECK_NEAR(oms_position(o, 1, 0)->qty, 0, 0);
	CHECK_NEAR(oms_position(o, 0, 9999)->qty, 0, 0);
	/* a mark on a high symbol id grows the table */
	oms_mark(o, 300, 1.5);
	CHECK_NEAR(oms_mark_of(o, 300), 1.5, 0);
	CHECK(isnan(oms_mark_of(o, 299)));
	oms_free(o);
}

static void test_working(void)
{
	struct oms *o = oms_new(2, 0);
	struct order *b1 = oms_create(o, 0, 4, SIDE_BUY, ORD_LIMIT, TIF_DAY, 100, 9, 0, 1);
	struct order *b2 = oms_create(o, 0, 4, SIDE_BUY, ORD_LIMIT, TIF_DAY, 50, 8, 0, 1);
	struct order *s1 = oms_create(o, 0, 4, SIDE_SELL, ORD_LIMIT, TIF_DAY, 30, 11, 0, 1);
	struct order *n1 = oms_create(o, 0, 4, SIDE_SELL, ORD_LIMIT, TIF_DAY, 70, 11, 0, 1);
	struct order *x1 = oms_create(o, 0, 5, SIDE_BUY, ORD_LIMIT, TIF_DAY, 7, 11, 0, 1);
	struct order *y1 = oms_create(o, 1, 4, SIDE_BUY, ORD_LIMIT, TIF_DAY, 9, 11, 0, 1);
	oms_accept(o, b1, 0);
	oms_accept(o, b2, 0);
	oms_accept(o, s1, 0);
	oms_accept(o, x1, 0);
	oms_accept(o, y1, 0);
	(void)n1; /* still NEW: not working */
	double buy = -1, sell = -1;
	oms_working(o, 0, 4, &buy, &sell);
	CHECK_NEAR(buy, 150, 0);
	CHECK_NEAR(sell, 30, 0);
	oms_fill(o, b1, 60, 9, 0, 1); /* the remainder counts */
	oms_working(o, 0, 4, &buy, &sell);
	CHECK_NEAR(buy, 90, 0);
	oms_cancel(o, b2, "canceled", 2);
	oms_working(o, 0, 4, &buy, &sell);
	CHECK_NEAR(buy, 40, 0);
	oms_working(o, 0, 5, &buy, &sell);
	CHECK_NEAR(buy, 7, 0);
	CHECK_NEAR(sell, 0, 0);
	oms_working(o, 1, 4, &buy, &sell);
	CHECK_NEAR(buy, 9, 0);
	oms_working(o, 0, 6, &buy, &sell);
	CHECK_NEAR(buy + sell, 0, 0);
	oms_free(o);
}

static void test_held_positions_follow_flat(void)
{
	struct oms *o = oms_new(1, 0);
	trade(o, 0, SIDE_BUY, 1, 10, 0);
	trade(o, 1, SIDE_BUY, 1, 10, 0);
	trade(o, 2, SIDE_BUY, 1, 10, 0);
	CHECK_EQ_INT(oms_account(o, 0)->nheld, 3);
	trade(o, 1, SIDE_SELL, 1, 10, 0);
	CHECK_EQ_INT(oms_account(o, 0)->nheld, 2);
	oms_mark(o, 0, 20);
	oms_mark(o, 1, 1000); /* flat: must not count */
	oms_mark(o, 2, 30);
	/* cash -30 + 10 = -20; + 20 + 30 = 30 */
	CHECK_NEAR(oms_equity(o, 0), 30, 1e-9);
	oms_free(o);
}

/* oms_reserve grows the array between events: the orders an event then
 * makes land in room already there (the array does not move under them),
 * and open orders stay reachable across the move. */
static void test_reserve_keeps_room(void)
{
	struct oms *o = oms_new(2, 0);
	int made = 0, moved = 0;
	for (int i = 0; i < 3000; i++) {
		oms_reserve(o);
		struct order *a = oms_get(o, 1);
		struct order *ord = oms_create(o, i % 2, i % 7, SIDE_BUY, ORD_LIMIT, TIF_DAY, 1,
					       10, i, 1);
		made += ord != NULL;
		moved += i > 0 && oms_get(o, 1) != a; /* the array moved inside the "event" */
		if (ord && i % 3 == 0)
			oms_accept(o, ord, i);
	}
	CHECK_EQ_INT(made, 3000);
	CHECK_EQ_INT(moved, 0);
	CHECK_EQ_INT(oms_open_count(o, 0) + oms_open_count(o, 1), 1000);
	int stale = 0;
	for (int s = 0; s < 2; s++)
		for (int i = 0; i < oms_open_count(o, s); i++) {
			struct order *ord = oms_open_at(o, s, i);
			stale += ord != oms_get(o, ord->id) || ord->open_index != i || ord->strat != s;
		}
	CHECK_EQ_INT(stale, 0);
	/* the pages reserve writes ahead are free slots: no order is disturbed, and
	 * reserving again and again with no order in between stays inside the array */
	for (int i = 0; i < 100; i++)
		oms_reserve(o);
	int wrong = 0;
	for (int i = 0; i < 3000; i++) {
		const struct order *ord = oms_get(o, i + 1);
		wrong += ord->created != i || ord->sym != i % 7 || ord->strat != i % 2 || ord->qty != 1 ||
			 ord->price != 10;
	}
	CHECK_EQ_INT(wrong, 0);
	struct order *next = oms_create(o, 0, 3, SIDE_SELL, ORD_MARKET, TIF_DAY, 2, 0, 9, 1);
	CHECK(next && next->id == 3001 && next->filled == 0 && next->avg_price == 0 && next->fees == 0);
	/* without oms_reserve, oms_create still grows on its own */
	struct oms *p = oms_new(1, 0);
	for (int i = 0; i < 5000; i++)
		oms_create(p, 0, 1, SIDE_SELL, ORD_MARKET, TIF_DAY, 1, 0, i, 1);
	CHECK_EQ_INT(oms_count(p), 5000);
	CHECK_EQ_INT(oms_get(p, 5000)->id, 5000);
	oms_free(p);
	oms_free(o);
}

/* A sweep's worker keeps the first order chunk between runs: the next oms
 * gets the same memory back with every slot the last one wrote zero again. */
static void test_spare_chunk_comes_back_zeroed(void)
{
	oms_keep_spare_chunk(1);
	struct oms *o = oms_new(1, 1000);
	for (int i = 0; i < 3000; i++) {
		oms_reserve(o);
		struct order *ord = oms_create(o, 0, i % 5, SIDE_BUY, ORD_LIMIT, TIF_DAY, 2, 10,
					       i, 1);
		if (ord && i % 2 == 0)
			oms_accept(o, ord, i);
		if (ord && i % 4 == 0)
			oms_fill(o, ord, 1, 10, 0.5, i);
	}
	uintptr_t first = (uintptr_t)oms_get(o, 1);
	oms_free(o);

	o = oms_new(1, 1000);
	oms_reserve(o);
	struct order *a = oms_create(o, 0, 1, SIDE_SELL, ORD_MARKET, TIF_DAY, 3, 0, 7, 1);
	CHECK(a != NULL);
	CHECK((uintptr_t)a == first); /* the kept chunk, not a new one */
	CHECK_EQ_INT((int)a->id, 1);
	CHECK_NEAR(a->filled, 0, 0);
	CHECK_NEAR(a->fees, 0, 0);
	/* every slot after it (the 3,000 written before, and the ones reserved
	 * ahead of them) is zero again, as in a fresh chunk */
	const unsigned char *b = (const unsigned char *)(a + 1);
	size_t dirty = 0;
	for (size_t i = 0; i < 4000 * sizeof *a; i++)
		dirty += b[i] != 0;
	CHECK_EQ_INT((int)dirty, 0);
	oms_free(o);
	oms_keep_spare_chunk(0);

	/* off: nothing kept, a fresh oms works as before */
	o = oms_new(1, 1000);
	oms_reserve(o);
	CHECK(oms_create(o, 0, 1, SIDE_BUY, ORD_MARKET, TIF_DAY, 1, 0, 1, 1) != NULL);
	oms_free(o);
}

int main(void)
{
	RUN(test_create_and_ids);
	RUN(test_transitions);
	RUN(test_open_list_swap_remove);
	RUN(test_many_orders_keep_open_list_valid);
	RUN(test_buy_then_sell_realises);
	RUN(test_adding_moves_average);
	RUN(test_short_position);
	RUN(test_flip_long_to_short);
	RUN(test_fees_cash_and_trip_wins);
	RUN(test_equity_marks_and_pnl_per_symbol);
	RUN(test_working);
	RUN(test_held_positions_follow_flat);
	RUN(test_reserve_keeps_room);
	RUN(test_spare_chunk_comes_back_zeroed);
	return check_summary();
}
