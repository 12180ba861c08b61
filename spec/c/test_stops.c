/*
 * test_stops — stops in the bar model and OCO pairs in the book of record:
 * a stop at its trigger and through a gap, stop limits triggered at the
 * open and inside the bar, a trailing stop that moves (by closes or by
 * extremes) and never away, FOK, the bar that reaches both of an OCO pair,
 * and a partial fill of one reducing the other.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "oms.h"
#include "sim.h"

#define T(i) ((int64_t)(i)*86400LL * 1000000000LL)

struct rig {
	struct oms *oms;
	struct sim *sim;
	int fills;
	double last_px;
};

static void on_event(void *ud, const struct oms_event *ev)
{
	struct rig *r = ud;
	if (ev->kind == OMS_EV_FILL) {
		r->fills++;
		r->last_px = ev->fill->price;
	}
}

static void rig_open(struct rig *r, int trail_extreme)
{
	memset(r, 0, sizeof *r);
	struct sim_config cfg = {.trail_extreme = trail_extreme};
	r->oms = oms_new(1, 100000);
	r->sim = sim_new(r->oms, &cfg);
	oms_set_listener(r->oms, on_event, r);
}

static void rig_close(struct rig *r)
{
	sim_free(r->sim);
	oms_free(r->oms);
}

/* A stop (limit NAN: stop market) placed at T(1); trail > 0: trailing from best. */
static struct order *stop(struct rig *r, int side, double stop_px, double limit, double trail,
			  double best)
{
	int type = isnan(limit) ? ORD_STOP : ORD_STOP_LIMIT;
	struct order *o =
	    oms_create(r->oms, 0, 0, side, type, TIF_GTC, 1, isnan(limit) ? 0 : limit, T(1), 1);
	o->stop = stop_px;
	o->trail = trail;
	o->trail_best = best;
	sim_venue.submit(r->sim, o, T(1));
	return o;
}

static struct order *limit(struct rig *r, int side, double px, int tif)
{
	struct order *o = oms_create(r->oms, 0, 0, side, ORD_LIMIT, tif, 1, px, T(1), 1);
	sim_venue.submit(r->sim, o, T(1));
	return o;
}

static void bar(struct rig *r, int64_t t, double o, double h, double l, double c)
{
	struct bar b = {t, o, h, l, c, 1000, 0};
	sim_on_bar(r->sim, &b);
}

static void test_stop_touch_and_gap(void)
{
	struct rig r;
	rig_open(&r, 0);
	struct order *buy = stop(&r, SIDE_BUY, 105, NAN, 0, 0);
	struct order *sell = stop(&r, SIDE_SELL, 95, NAN, 0, 0);
	bar(&r, T(1), 90, 110, 80, 100); /* the bar that placed them: never */
	CHECK_EQ_INT(r.fills, 0);
	bar(&r, T(2), 100, 104.99, 95.01, 100); /* near, not reached */
	CHECK_EQ_INT(r.fills, 0);
	bar(&r, T(3), 101, 105, 99, 104); /* the high touches: at the stop */
	CHECK_EQ_INT(buy->status, ST_FILLED);
	CHECK_NEAR(buy->avg_price, 105, 0);
	bar(&r, T(4), 93, 94, 90, 92); /* opens through the sell stop: at the open */
	CHECK_EQ_INT(sell->status, ST_FILLED);
	CHECK_NEAR(sell->avg_price, 93, 0);
	rig_close(&r);
}

static void test_stop_limit(void)
{
	struct rig r;
	rig_open(&r, 0);
	/* triggered at the open (107 >= 105): a limit 106 for the bar, low 106.5: no */
	struct order *a = stop(&r, SIDE_BUY, 105, 106, 0, 0);
	bar(&r, T(2), 107, 108, 106.5, 107);
	CHECK_EQ_INT(a->status, ST_ACCEPTED);
	CHECK_EQ_INT(a->triggered, 1);
	bar(&r, T(3), 106.5, 107, 105, 106);
	CHECK_NEAR(a->avg_price, 106, 0);
	rig_close(&r);

	rig_open(&r, 0);
	/* inside the bar, limit at or over the stop: the stop price */
	struct order *b = stop(&r, SIDE_BUY, 105, 105, 0, 0);
	/* inside the bar, limit under it: not this bar, then a limit */
	struct order *c = stop(&r, SIDE_BUY, 105, 104, 0, 0);
	bar(&r, T(2), 103, 106, 102, 105);
	CHECK_EQ_INT(b->status, ST_FILLED);
	CHECK_NEAR(b->avg_price, 105, 0);
	CHECK_EQ_INT(c->status, ST_ACCEPTED);
	bar(&r, T(3), 104.5, 105, 103.5, 104);
	CHECK_EQ_INT(c->status, ST_FILLED);
	CHECK_NEAR(c->avg_price, 104, 0);
	rig_close(&r);
}

static void test_trailing(void)
{
	struct rig r;
	rig_open(&r, 0);
	struct order *o = stop(&r, SIDE_SELL, 98, NAN, 2, 100); /* placed at close 100 */
	bar(&r, T(2), 101, 104, 100, 103);
	CHECK_NEAR(o->stop, 101, 1e-12); /* follows the close */
	bar(&r, T(3), 102, 103, 101.5, 101.6);
	CHECK_NEAR(o->stop, 101, 1e-12); /* never away */
	bar(&r, T(4), 102.5, 103, 100.5, 101);
	CHECK_EQ_INT(o->status, ST_FILLED);
	CHECK_NEAR(o->avg_price, 101, 1e-12);
	rig_close(&r);

	rig_open(&r, 1); /* by the extremes: a buy trailing stop follows the lows */
	o = stop(&r, SIDE_BUY, 102, NAN, 2, 100);
	bar(&r, T(2), 99, 100, 97, 99);
	CHECK_NEAR(o->stop, 99, 1e-12);
	CHECK_EQ_INT(r.fills, 0);
	bar(&r, T(3), 98, 99.5, 97.5, 99);
	CHECK_NEAR(o->avg_price, 99, 1e-12);
	/* percent: 1 % of the best */
	struct order *p = oms_create(r.oms, 0, 0, SIDE_SELL, ORD_STOP, TIF_GTC, 1, 0, T(3), 1);
	p->trail = 1;
	p->trail_pct = 1;
	p->trail_best = 100;
	p->stop = 99;
	sim_venue.submit(r.sim, p, T(3));
	bar(&r, T(4), 100, 200, 99.5, 150);
	CHECK_NEAR(p->stop, 198, 1e-9);
	rig_close(&r);
}

static void test_fok(void)
{
	struct rig r;
	rig_open(&r, 0);
	struct order *a = limit(&r, SIDE_BUY, 90, TIF_FOK);
	struct order *b = limit(&r, SIDE_BUY, 100, TIF_FOK);
	bar(&r, T(2), 101, 102, 99, 100);
	CHECK_EQ_INT(a->status, ST_EXPIRED);
	CHECK(strcmp(a->reason, "fok") == 0);
	CHECK_EQ_INT(b->status, ST_FILLED);
	rig_close(&r);
}

/* A bracket's exits: a take-profit limit and a stop-loss stop, paired. */
static void exits(struct rig *r, struct order **tp, struct order **sl)
{
	*tp = limit(r, SIDE_SELL, 105, TIF_GTC);
	*sl = stop(r, SIDE_SELL, 96, NAN, 0, 0);
	CHECK_EQ_INT(oms_link_oco(r->oms, *tp, *sl), 0);
	CHECK_EQ_INT(oms_link_oco(r->oms, *tp, *sl), -1); /* once */
}

static void test_oco_both_reached(void)
{
	struct rig r;
	struct order *tp, *sl;
	rig_open(&r, 0);
	exits(&r, &tp, &sl);
	bar(&r, T(2), 100, 106, 95, 100); /* both: the stop-loss */
	CHECK_EQ_INT(r.fills, 1);
	CHECK_EQ_INT(sl->status, ST_FILLED);
	CHECK_NEAR(sl->avg_price, 96, 0);
	CHECK_EQ_INT(tp->status, ST_CANCELED);
	CHECK(strcmp(tp->reason, "oco") == 0);
	CHECK_EQ_INT(oms_account(r.oms, 0)->bracket_ambiguous, 1);
	rig_close(&r);

	rig_open(&r, 0);
	exits(&r, &tp, &sl);
	bar(&r, T(2), 107, 108, 95, 100); /* the open passed the take-profit */
	CHECK_EQ_INT(tp->status, ST_FILLED);
	CHECK_NEAR(tp->avg_price, 107, 0);
	CHECK_EQ_INT(sl->status, ST_CANCELED);
	CHECK_EQ_INT(oms_account(r.oms, 0)->bracket_ambiguous, 1);
	rig_close(&r);

	rig_open(&r, 0);
	exits(&r, &tp, &sl);
	bar(&r, T(2), 100, 106, 97, 100); /* one only: not ambiguous */
	CHECK_EQ_INT(tp->status, ST_FILLED);
	CHECK_EQ_INT(oms_account(r.oms, 0)->bracket_ambiguous, 0);
	rig_close(&r);
}

static void test_oco_partial_and_cancel(void)
{
	struct rig r;
	rig_open(&r, 0);
	struct order *a = oms_create(r.oms, 0, 0, SIDE_SELL, ORD_LIMIT, TIF_GTC, 100, 105, T(1), 1);
	struct order *b = oms_create(r.oms, 0, 0, SIDE_SELL, ORD_STOP, TIF_GTC, 100, 0, T(1), 1);
	oms_accept(r.oms, a, T(1));
	oms_accept(r.oms, b, T(1));
	CHECK_EQ_INT(oms_link_oco(r.oms, a, b), 0);
	oms_fill(r.oms, a, 40, 105, 0, T(2)); /* a partial fill reduces the other */
	CHECK_NEAR(b->qty, 60, 0);
	CHECK_EQ_INT(b->status, ST_ACCEPTED);
	oms_cancel(r.oms, a, "canceled", T(3)); /* a cancel cancels the other */
	CHECK_EQ_INT(b->status, ST_CANCELED);
	CHECK(strcmp(b->reason, "oco") == 0);
	rig_close(&r);
}

int main(void)
{
	RUN(test_stop_touch_and_gap);
	RUN(test_stop_limit);
	RUN(test_trailing);
	RUN(test_fok);
	RUN(test_oco_both_reached);
	RUN(test_oco_partial_and_cancel);
	return check_summary();
}
