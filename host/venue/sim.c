/*
 * sim — working orders kept per symbol as arrays of order ids (ids stay
 * valid when the oms grows its order array). Matching walks only the
 * symbol of the bar; done orders are swap-removed.
 */
#include "sim.h"

#include "feed.h"
#include "grow.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct id_list {
	int64_t *v;
	int n, cap;
};

struct sim {
	struct oms *oms;
	struct sim_config cfg;
	struct id_list *by_sym;
	int nsym;
};

struct sim *sim_new(struct oms *oms, const struct sim_config *cfg)
{
	struct sim *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->oms = oms;
	s->cfg = *cfg;
	return s;
}

void sim_free(struct sim *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->nsym; i++)
		free(s->by_sym[i].v);
	free(s->by_sym);
	free(s);
}

static struct id_list *list_for(struct sim *s, int sym)
{
	struct id_list *l = grow_array(s->by_sym, &s->nsym, sym + 1, sizeof *l, 16);
	if (!l)
		return NULL;
	s->by_sym = l;
	return &s->by_sym[sym];
}

double sim_fee(const struct sim *s, double qty, double price)
{
	return qty * s->cfg.fee_per_share + qty * price * s->cfg.fee_bps / 1e4;
}

static int sim_submit(void *self, struct order *o, int64_t now)
{
	struct sim *s = self;
	struct id_list *l = list_for(s, o->sym);
	if (!l)
		return -1;
	int64_t *v = grow_array(l->v, &l->cap, l->n + 1, sizeof *v, 16);
	if (!v)
		return -1;
	l->v = v;
	l->v[l->n++] = o->id;
	oms_accept(s->oms, o, now);
	return 0;
}

static void list_remove(struct id_list *l, int64_t id)
{
	for (int i = 0; i < l->n; i++)
		if (l->v[i] == id) {
			l->v[i] = l->v[--l->n];
			return;
		}
}

static int sim_cancel(void *self, struct order *o, int64_t now)
{
	struct sim *s = self;
	if (!oms_is_open(o))
		return -1;
	if (o->sym < s->nsym)
		list_remove(&s->by_sym[o->sym], o->id);
	oms_cancel(s->oms, o, "canceled", now);
	return 0;
}


static double limit_price(const struct order *o, const struct bar *b)
{
	if (o->side == SIDE_BUY)
		return b->low <= o->price ? fmin(b->open, o->price) : NAN;
	return b->high >= o->price ? fmax(b->open, o->price) : NAN;
}

/* Where bar b reaches a stop: 2 at the open (a gap), 1 inside the bar, 0 not. */
static int stop_reached(const struct order *o, const struct bar *b)
{
	if (o->side == SIDE_BUY)
		return b->open >= o->stop ? 2 : b->high >= o->stop ? 1 : 0;
	return b->open <= o->stop ? 2 : b->low <= o->stop ? 1 : 0;
}

/* A stop limit: triggered at the open, a limit for the whole bar; inside the
 * bar, the stop price when the limit is at or beyond it, else a limit from
 * the next bar. Marks it triggered. */
static double stop_limit_price(struct order *o, const struct bar *b)
{
	if (o->triggered)
		return limit_price(o, b);
	int r = stop_reached(o, b);
	if (!r)
		return NAN;
	o->triggered = 1;
	if (r == 2)
		return limit_price(o, b);
	int marketable = o->side == SIDE_BUY ? o->price >= o->stop : o->price <= o->stop;
	return marketable ? o->stop : NAN;
}

/* The fill price of o on bar b, or NAN when it does not trade. */
static double fill_price(const struct sim *s, struct order *o, const struct bar *b)
{
	double slip = 1 + o->side * s->cfg.slippage_bps / 1e4;
	switch (o->type) {
	case ORD_MARKET:
		return b->open * slip;
	case ORD_STOP: {
		int r = stop_reached(o, b);
		return r == 2 ? b->open * slip : r == 1 ? o->stop * slip : NAN;
	}
	case ORD_STOP_LIMIT:
		return stop_limit_price(o, b);
	default:
		return limit_price(o, b);
	}
}

/* A trailing stop that did not fill follows the market, never away. */
static void trail_move(const struct sim *s, struct order *o, const struct bar *b)
{
	int sell = o->side == SIDE_SELL; /* protects a long: follows the highs */
	double ref = !s->cfg.trail_extreme ? b->close : sell ? b->high : b->low;
	if (sell ? ref > o->trail_best : ref < o->trail_best)
		o->trail_best = ref;
	double d = o->trail_pct ? o->trail_best * o->trail / 100 : o->trail;
	double stop = sell ? o->trail_best - d : o->trail_best + d;
	if (sell ? stop > o->stop : stop < o->stop)
		o->stop = stop;
}

/* Whether b's open passed o (it fills at the open). */
static int open_passed(const struct order *o, const struct bar *b)
{
	if (o->type == ORD_STOP || o->type == ORD_STOP_LIMIT)
		return stop_reached(o, b) == 2;
	return o->type == ORD_MARKET || limit_price(o, b) == b->open;
}

/* o would fill at *px on b; when its OCO sibling would too (the bar reached
 * both, in an order the bar does not tell), the one the open passed wins,
 * else the stop, else the older. Returns the winner (o or the sibling, *px
 * its price) and counts the ambiguity on the account. */
static struct order *oco_winner(const struct sim *s, struct order *o, const struct bar *b,
				double *px)
{
	struct order *sib = oms_get(s->oms, o->oco);
	if (!sib || !oms_is_open(sib) || sib->sym != o->sym || sib->created >= b->time)
		return o;
	double spx = fill_price(s, sib, b);
	if (isnan(spx))
		return o;
	oms_account(s->oms, o->strat)->bracket_ambiguous++;
	int o_open = open_passed(o, b), s_open = open_passed(sib, b);
	int o_stop = o->type == ORD_STOP || o->type == ORD_STOP_LIMIT;
	int s_stop = sib->type == ORD_STOP || sib->type == ORD_STOP_LIMIT;
	int sib_wins = o_open != s_open ? s_open : o_stop != s_stop ? s_stop : sib->id < o->id;
	if (!sib_wins)
		return o;
	*px = spx;
	return sib;
}

void sim_on_bar(struct sim *s, const struct bar *b)
{
	if (b->sym >= s->nsym)
		return;
	struct id_list *l = &s->by_sym[b->sym];
	for (int i = 0; i < l->n;) {
		struct order *o = oms_get(s->oms, l->v[i]);
		if (!oms_is_open(o)) { /* cancelled as the other of an OCO pair */
			l->v[i] = l->v[--l->n];
			continue;
		}
		if (o->created >= b->time) {
			i++;
			continue;
		}
		double px = fill_price(s, o, b);
		if (!isnan(px)) {
			struct order *w = o->oco ? oco_winner(s, o, b, &px) : o;
			double qty = w->qty - w->filled;
			if (w == o)
				l->v[i] = l->v[--l->n];
			/* the loser is cancelled by the oms (oco) and dropped above */
			oms_fill(s->oms, w, qty, px, sim_fee(s, qty, px), b->time);
		} else if (o->tif == TIF_IOC || o->tif == TIF_FOK) {
			l->v[i] = l->v[--l->n];
			oms_expire(s->oms, o, o->tif == TIF_IOC ? "ioc" : "fok", b->time);
		} else {
			if (o->trail > 0)
				trail_move(s, o, b);
			i++;
		}
	}
}

static int cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

void sim_cancel_all(struct sim *s, const char *reason, int64_t now)
{
	/* every working order, across symbols, cancelled in id order so the
	 * output reads in the order the orders were sent */
	size_t n = 0;
	for (int sym = 0; sym < s->nsym; sym++)
		n += (size_t)s->by_sym[sym].n;
	if (n == 0)
		return;
	int64_t *ids = malloc(n * sizeof *ids);
	if (!ids)
		return;
	size_t k = 0;
	for (int sym = 0; sym < s->nsym; sym++) {
		struct id_list *l = &s->by_sym[sym];
		for (int i = 0; i < l->n; i++)
			ids[k++] = l->v[i];
		l->n = 0;
	}
	qsort(ids, k, sizeof *ids, cmp_id);
	for (size_t i = 0; i < k; i++) {
		struct order *o = oms_get(s->oms, ids[i]);
		if (oms_is_open(o))
			oms_cancel(s->oms, o, reason, now);
	}
	free(ids);
}

/* A new quantity or price applies from the next bar: the bar model has no
 * queue to lose a place in. */
static int sim_replace(void *self, struct order *o, double qty, double price, int64_t now)
{
	struct sim *s = self;
	if (!oms_is_open(o) || !(qty >= o->filled) || (o->type == ORD_LIMIT && !(price > 0)))
		return -1;
	if (qty <= o->filled && o->sym < s->nsym)
		list_remove(&s->by_sym[o->sym], o->id);
	oms_replace(s->oms, o, qty, price, now);
	return 0;
}

static void sim_venue_cancel_all(void *self, const char *reason, int64_t now)
{
	sim_cancel_all(self, reason, now);
}

static void sim_market(void *self, const struct feed_event *ev, int64_t now)
{
	(void)now;
	if (ev->kind == FEED_BAR)
		sim_on_bar(self, &ev->bar);
}

static int64_t sim_due(void *self)
{
	(void)self;
	return INT64_MAX; /* nothing of its own: it moves with the bars */
}

static void sim_advance(void *self, int64_t now)
{
	(void)self;
	(void)now;
}

static void sim_status(void *self, struct venue_status *out)
{
	(void)self;
	out->state = VENUE_UP;
	snprintf(out->detail, sizeof out->detail, "simulated (bars)");
}

static void sim_venue_free(void *self)
{
	sim_free(self);
}

const struct venue_ops sim_venue = {
	.name = "sim",
	.submit = sim_submit,
	.cancel = sim_cancel,
	.replace = sim_replace,
	.cancel_all = sim_venue_cancel_all,
	.market = sim_market,
	.due = sim_due,
	.advance = sim_advance,
	.status = sim_status,
	.free = sim_venue_free,
	.replayable = 1, /* its state is the orders it was sent and the bars it saw */
};
