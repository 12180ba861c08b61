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


/* The fill price of o on bar b, or NAN when it does not trade. */
static double fill_price(const struct sim *s, const struct order *o, const struct bar *b)
{
	if (o->type == ORD_MARKET) {
		double slip = 1 + o->side * s->cfg.slippage_bps / 1e4;
		return b->open * slip;
	}
	if (o->side == SIDE_BUY)
		return b->low <= o->price ? fmin(b->open, o->price) : NAN;
	return b->high >= o->price ? fmax(b->open, o->price) : NAN;
}

void sim_on_bar(struct sim *s, const struct bar *b)
{
	if (b->sym >= s->nsym)
		return;
	struct id_list *l = &s->by_sym[b->sym];
	for (int i = 0; i < l->n;) {
		struct order *o = oms_get(s->oms, l->v[i]);
		if (o->created >= b->time || !oms_is_open(o)) {
			i++;
			continue;
		}
		double px = fill_price(s, o, b);
		if (!isnan(px)) {
			double qty = o->qty - o->filled;
			l->v[i] = l->v[--l->n];
			oms_fill(s->oms, o, qty, px, sim_fee(s, qty, px), b->time);
		} else if (o->tif == TIF_IOC) {
			l->v[i] = l->v[--l->n];
			oms_expire(s->oms, o, "ioc", b->time);
		} else {
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
};
