/*
 * test_venue — the venue interface beyond submit and cancel: the bar
 * simulator's replace, the asynchronous test venue (orders pending for N
 * market events, then acknowledged and filled by the venue under it; a
 * cancel that races the acknowledgement; a cancel too late to stop a fill),
 * and the events every change sends to the book of record's listener.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "feed.h"
#include "oms.h"
#include "sim.h"
#include "venue_async.h"

#define T(i) ((int64_t)(i) * 86400LL * 1000000000LL)

struct seen {
	int orders, fills;
	int status[64]; /* the status of each order event, in order */
};

static void on_event(void *ud, const struct oms_event *ev)
{
	struct seen *s = ud;
	if (ev->kind == OMS_EV_FILL) {
		s->fills++;
		return;
	}
	if (s->orders < 64)
		s->status[s->orders] = ev->order->status;
	s->orders++;
}

struct rig {
	struct oms *oms;
	struct venue v;
	struct seen seen;
};

static void rig_open(struct rig *r, int late)
{
	memset(r, 0, sizeof *r);
	struct sim_config cfg = {0};
	r->oms = oms_new(1, 100000);
	r->v = (struct venue){&sim_venue, sim_new(r->oms, &cfg)};
	if (late)
		r->v = (struct venue){&venue_async_ops, venue_async_new(r->oms, r->v, late)};
	oms_set_listener(r->oms, on_event, &r->seen);
}

static void rig_close(struct rig *r)
{
	r->v.ops->free(r->v.self);
	oms_free(r->oms);
}

static int64_t place(struct rig *r, int side, int type, double qty, double price, int64_t now)
{
	struct order *o = oms_create(r->oms, 0, 0, side, type, TIF_DAY, qty, price, now, 1);
	if (!o || r->v.ops->submit(r->v.self, o, now) != 0)
		return -1;
	return o->id;
}

static void bar(struct rig *r, int64_t t, double o, double h, double l, double c)
{
	struct feed_event ev;
	memset(&ev, 0, sizeof ev);
	ev.kind = FEED_BAR;
	ev.time = t;
	ev.bar = (struct bar){t, o, h, l, c, 1000, 0};
	r->v.ops->market(r->v.self, &ev, t);
}

static struct order *get(struct rig *r, int64_t id)
{
	return oms_get(r->oms, id);
}

static void test_sim_replace(void)
{
	struct rig r;
	rig_open(&r, 0);
	int64_t id = place(&r, SIDE_BUY, ORD_LIMIT, 100, 10, T(1));
	CHECK_EQ_INT(r.v.ops->replace(r.v.self, get(&r, id), 50, 9, T(1)), 0);
	CHECK_NEAR(get(&r, id)->qty, 50, 0);
	CHECK_NEAR(get(&r, id)->price, 9, 0);
	CHECK_EQ_INT(r.seen.orders, 2); /* accepted, replaced */
	bar(&r, T(2), 9.5, 9.6, 9.2, 9.4); /* does not reach the new limit */
	CHECK_EQ_INT(r.seen.fills, 0);
	bar(&r, T(3), 9.5, 9.6, 8.5, 9.0); /* trades through 9 */
	CHECK_EQ_INT(get(&r, id)->status, ST_FILLED);
	CHECK_NEAR(get(&r, id)->avg_price, 9, 1e-12);
	CHECK_NEAR(get(&r, id)->filled, 50, 0);
	/* a done order cannot be replaced; nor a size below what filled */
	CHECK_EQ_INT(r.v.ops->replace(r.v.self, get(&r, id), 60, 9, T(3)), -1);
	int64_t b = place(&r, SIDE_BUY, ORD_LIMIT, 10, 10, T(3));
	CHECK_EQ_INT(r.v.ops->replace(r.v.self, get(&r, b), -1, 10, T(3)), -1);
	CHECK_EQ_INT(r.v.ops->replace(r.v.self, get(&r, b), 10, 0, T(3)), -1);
	CHECK_STR(r.v.ops->name, "sim");
	rig_close(&r);
}

static void test_async_acknowledges_late(void)
{
	struct rig r;
	rig_open(&r, 3);
	CHECK_STR(r.v.ops->name, "async");
	int64_t id = place(&r, SIDE_BUY, ORD_MARKET, 10, 0, T(1));
	CHECK(id > 0);
	CHECK_EQ_INT(get(&r, id)->status, ST_PENDING);
	CHECK_EQ_INT(oms_open_count(r.oms, 0), 1); /* working: risk counts it */
	bar(&r, T(2), 10, 11, 9, 10);
	bar(&r, T(3), 10, 11, 9, 10);
	CHECK_EQ_INT(get(&r, id)->status, ST_PENDING);
	CHECK_EQ_INT(r.seen.fills, 0);
	bar(&r, T(4), 12, 13, 11, 12); /* after the third: acknowledged, filled from the next bar */
	CHECK_EQ_INT(get(&r, id)->status, ST_ACCEPTED);
	bar(&r, T(5), 14, 15, 13, 14);
	CHECK_EQ_INT(get(&r, id)->status, ST_FILLED);
	CHECK_NEAR(get(&r, id)->avg_price, 14, 1e-12);
	CHECK_EQ_INT(r.seen.status[0], ST_PENDING);
	CHECK_EQ_INT(r.seen.status[1], ST_ACCEPTED);
	CHECK_EQ_INT(r.seen.fills, 1);
	rig_close(&r);
}

static void test_async_cancel_before_ack(void)
{
	struct rig r;
	rig_open(&r, 2);
	int64_t id = place(&r, SIDE_BUY, ORD_LIMIT, 10, 50, T(1));
	CHECK_EQ_INT(r.v.ops->cancel(r.v.self, get(&r, id), T(1)), 0);
	CHECK_EQ_INT(get(&r, id)->status, ST_CANCEL_PENDING);
	CHECK_EQ_INT(r.v.ops->cancel(r.v.self, get(&r, id), T(1)), -1); /* already asked */
	CHECK_EQ_INT(r.v.ops->replace(r.v.self, get(&r, id), 5, 50, T(1)), -1); /* not there yet */
	bar(&r, T(2), 40, 41, 39, 40);
	bar(&r, T(3), 40, 41, 39, 40); /* both requests arrive: it never reaches the book */
	CHECK_EQ_INT(get(&r, id)->status, ST_CANCELED);
	CHECK_EQ_INT(oms_open_count(r.oms, 0), 0);
	CHECK_EQ_INT(r.seen.orders, 3); /* pending, cancel pending, cancelled: never accepted */
	CHECK_EQ_INT(r.seen.status[2], ST_CANCELED);
	bar(&r, T(4), 40, 41, 39, 40);
	CHECK_EQ_INT(r.seen.fills, 0);
	rig_close(&r);
}

static void test_async_fill_races_cancel(void)
{
	struct rig r;
	rig_open(&r, 1);
	int64_t id = place(&r, SIDE_BUY, ORD_MARKET, 10, 0, T(1));
	int64_t lim = place(&r, SIDE_BUY, ORD_LIMIT, 10, 5, T(1));
	bar(&r, T(2), 10, 11, 9, 10); /* both acknowledged after this bar */
	CHECK_EQ_INT(get(&r, id)->status, ST_ACCEPTED);
	CHECK_EQ_INT(get(&r, lim)->status, ST_ACCEPTED);
	CHECK_EQ_INT(r.v.ops->cancel(r.v.self, get(&r, id), T(2)), 0);
	CHECK_EQ_INT(r.v.ops->cancel(r.v.self, get(&r, lim), T(2)), 0);
	CHECK_EQ_INT(get(&r, id)->status, ST_CANCEL_PENDING);
	/* the next bar fills the market order before its cancel arrives; the
	 * limit, not reached, is cancelled when its cancel does */
	bar(&r, T(3), 10, 11, 9, 10);
	CHECK_EQ_INT(get(&r, id)->status, ST_FILLED);
	CHECK_NEAR(get(&r, id)->avg_price, 10, 1e-12);
	CHECK_EQ_INT(get(&r, lim)->status, ST_CANCELED);
	CHECK_EQ_INT(r.seen.fills, 1);
	CHECK_EQ_INT(oms_open_count(r.oms, 0), 0);
	rig_close(&r);
}

static void test_async_cancel_all_at_the_end(void)
{
	struct rig r;
	rig_open(&r, 5);
	int64_t a = place(&r, SIDE_BUY, ORD_LIMIT, 10, 5, T(1));
	int64_t b = place(&r, SIDE_SELL, ORD_LIMIT, 10, 500, T(1));
	r.v.ops->cancel_all(r.v.self, "end_of_data", T(2));
	CHECK_EQ_INT(get(&r, a)->status, ST_CANCELED);
	CHECK_EQ_INT(get(&r, b)->status, ST_CANCELED);
	CHECK_STR(get(&r, a)->reason, "end_of_data");
	CHECK(r.v.ops->due(r.v.self) == INT64_MAX);
	struct venue_status st;
	r.v.ops->status(r.v.self, &st);
	CHECK_EQ_INT(st.state, VENUE_UP);
	CHECK(strstr(st.detail, "5 events late") != NULL);
	rig_close(&r);
}

int main(void)
{
	RUN(test_sim_replace);
	RUN(test_async_acknowledges_late);
	RUN(test_async_cancel_before_ack);
	RUN(test_async_fill_races_cancel);
	RUN(test_async_cancel_all_at_the_end);
	return check_summary();
}
