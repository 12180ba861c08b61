/*
 * simbook — see simbook.h. Working orders sit in one small array (a
 * strategy's working orders number in the tens, not the thousands);
 * prices are ITCH u32 with 4 decimals inside, doubles at the oms.
 */
#include "simbook.h"

#include "feed.h"
#include "grow.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEPTH 64

struct sb_order {
	int64_t id;
	int64_t arrive; /* event time it reaches the venue */
	uint16_t locate;
	char side;	/* 'B' or 'S' */
	uint32_t px;	/* 0: market */
	int arrived;
	int stop_wait; /* a stop not triggered yet: held, arrive = INT64_MAX */
	double ahead; /* shares ahead in the queue at px */
};

struct simbook {
	struct oms *oms;
	struct book_set *books;
	struct sim_config cfg;
	int64_t latency;
	struct sb_order *v;
	int n, cap;
	struct feed *feed; /* borrowed: the ITCH feed whose books these are */
};

static double to_px(uint32_t p)
{
	return (double)p / 1e4;
}

struct simbook *simbook_new(struct oms *oms, struct feed *itch, const struct sim_config *cfg,
			    int64_t latency_ns)
{
	struct simbook *sb = calloc(1, sizeof *sb);
	if (!sb)
		return NULL;
	sb->oms = oms;
	sb->feed = itch;
	sb->books = feed_itch_books(itch);
	sb->cfg = *cfg;
	sb->latency = latency_ns;
	return sb;
}

void simbook_free(struct simbook *sb)
{
	if (!sb)
		return;
	free(sb->v);
	free(sb);
}

static double fee(const struct simbook *sb, double qty, double price)
{
	return qty * sb->cfg.fee_per_share + qty * price * sb->cfg.fee_bps / 1e4;
}

static void remove_at(struct simbook *sb, int i)
{
	sb->v[i] = sb->v[--sb->n];
}

static int find(const struct simbook *sb, int64_t id)
{
	for (int i = 0; i < sb->n; i++)
		if (sb->v[i].id == id)
			return i;
	return -1;
}

static void fill(struct simbook *sb, struct order *o, double qty, double px, int64_t now)
{
	if (qty > 0)
		oms_fill(sb->oms, o, qty, px, fee(sb, qty, px), now);
}

/* Shares displayed at px on a side (0 when no such level). */
static double level_shares(const struct simbook *sb, uint16_t loc, char side, uint32_t px)
{
	struct book_level_info lv[DEPTH];
	size_t n = book_depth(sb->books, loc, side == 'B' ? BOOK_BID : BOOK_ASK, lv, DEPTH);
	for (size_t i = 0; i < n; i++)
		if (lv[i].price == px)
			return (double)lv[i].shares;
	return 0;
}

/* Walks the other side up to the limit (0: any price). Returns what is left. */
static double take(struct simbook *sb, struct order *o, const struct sb_order *so, int64_t now)
{
	struct book_level_info lv[DEPTH];
	size_t n = book_depth(sb->books, so->locate, so->side == 'B' ? BOOK_ASK : BOOK_BID, lv, DEPTH);
	double left = o->qty - o->filled;
	for (size_t i = 0; i < n && left > 0; i++) {
		if (so->px && (so->side == 'B' ? lv[i].price > so->px : lv[i].price < so->px))
			break;
		double q = fmin(left, (double)lv[i].shares);
		fill(sb, o, q, to_px(lv[i].price), now);
		left -= q;
	}
	return left;
}

/* Shares displayed on the other side up to so's limit (0: any price). */
static double available(const struct simbook *sb, const struct sb_order *so)
{
	struct book_level_info lv[DEPTH];
	size_t n = book_depth(sb->books, so->locate, so->side == 'B' ? BOOK_ASK : BOOK_BID, lv, DEPTH);
	double sum = 0;
	for (size_t i = 0; i < n; i++) {
		if (so->px && (so->side == 'B' ? lv[i].price > so->px : lv[i].price < so->px))
			break;
		sum += (double)lv[i].shares;
	}
	return sum;
}

static void arrive(struct simbook *sb, int i, int64_t now)
{
	struct sb_order *so = &sb->v[i];
	struct order *o = oms_get(sb->oms, so->id);
	so->arrived = 1;
	if (!oms_is_open(o)) {
		remove_at(sb, i);
		return;
	}
	if (o->tif == TIF_FOK && available(sb, so) < o->qty - o->filled) {
		oms_expire(sb->oms, o, "fok", now); /* all or nothing */
		remove_at(sb, i);
		return;
	}
	double left = take(sb, o, so, now);
	if (left <= 0) {
		remove_at(sb, i);
		return;
	}
	if (so->px == 0 || o->tif == TIF_IOC || o->tif == TIF_FOK) {
		if (so->px == 0)
			oms_cancel(sb->oms, o, "no_liquidity", now);
		else
			oms_expire(sb->oms, o, "ioc", now);
		remove_at(sb, i);
		return;
	}
	so->ahead = level_shares(sb, so->locate, so->side, so->px);
}

/* When the next order reaches the venue (INT64_MAX: none). */
static int64_t simbook_due(void *self)
{
	const struct simbook *sb = self;
	int64_t t = INT64_MAX;
	for (int i = 0; i < sb->n; i++)
		if (!sb->v[i].arrived && sb->v[i].arrive < t)
			t = sb->v[i].arrive;
	return t;
}

/* Orders whose arrival time has come, before the message at now applies. */
static void simbook_advance(void *self, int64_t now)
{
	struct simbook *sb = self;
	/* in order of arrival, then of id: two orders due at once keep their order */
	for (;;) {
		int best = -1;
		for (int i = 0; i < sb->n; i++) {
			const struct sb_order *so = &sb->v[i];
			if (!so->arrived && so->arrive <= now &&
			    (best < 0 || so->arrive < sb->v[best].arrive ||
			     (so->arrive == sb->v[best].arrive && so->id < sb->v[best].id)))
				best = i;
		}
		if (best < 0)
			return;
		arrive(sb, best, sb->v[best].arrive);
	}
}

/* An execution or cancel at a resting order's level; a better price on the
 * other side that reaches it. */
static int on_resting(struct simbook *sb, int i, const struct book_event *ev, int64_t now)
{
	struct sb_order *so = &sb->v[i];
	struct order *o = oms_get(sb->oms, so->id);
	if (!oms_is_open(o))
		return 1;
	double left = o->qty - o->filled;
	/* executions, cancels, deletes and the old level of a replace at our price */
	if (ev->side == so->side && ev->price == so->px && ev->delta < 0) {
		double d = (double)-ev->delta;
		if (ev->kind == BOOK_EV_EXEC) {
			double through = d - so->ahead;
			so->ahead = fmax(0, so->ahead - d);
			if (through > 0)
				fill(sb, o, fmin(through, left), to_px(so->px), now);
		} else {
			double level = level_shares(sb, so->locate, so->side, so->px) + d;
			so->ahead = level > 0 ? fmax(0, so->ahead - d * so->ahead / level) : 0;
		}
	}
	left = o->qty - o->filled;
	if (left > 0 && ev->top_changed) {
		struct book_top top;
		book_top(sb->books, so->locate, &top);
		if (so->side == 'B' && top.ask && top.ask <= so->px)
			fill(sb, o, fmin(left, (double)top.ask_qty), to_px(so->px), now);
		else if (so->side == 'S' && top.bid && top.bid >= so->px)
			fill(sb, o, fmin(left, (double)top.bid_qty), to_px(so->px), now);
	}
	return !oms_is_open(o);
}

/* The price a held stop watches in ev (0: none here): the trade's, or with
 * stop_on_touch the best price of the side it would take. */
static double stop_watch(const struct simbook *sb, const struct sb_order *so,
			 const struct book_event *ev)
{
	if (!sb->cfg.stop_on_touch)
		return ev->has_trade && ev->trade_price ? to_px(ev->trade_price) : 0;
	if (!ev->top_changed)
		return 0;
	struct book_top top;
	book_top(sb->books, so->locate, &top);
	return to_px(so->side == 'B' ? top.ask : top.bid);
}

/* A held stop: triggered when the watched price reaches it (it then goes to
 * the venue, after the latency, as a market or limit order); a trailing
 * stop that did not trigger follows the watched price, never away. */
static int on_stop(struct simbook *sb, struct sb_order *so, const struct book_event *ev,
		   int64_t now)
{
	struct order *o = oms_get(sb->oms, so->id);
	if (!oms_is_open(o)) /* cancelled as the other of an OCO pair: dropped */
		return 1;
	double p = stop_watch(sb, so, ev);
	if (!(p > 0))
		return 0;
	int buy = so->side == 'B';
	if (buy ? p >= o->stop : p <= o->stop) {
		so->stop_wait = 0;
		o->triggered = 1;
		so->arrive = now + sb->latency;
		return 0;
	}
	if (o->trail > 0) {
		if (buy ? p < o->trail_best : p > o->trail_best)
			o->trail_best = p;
		double d = o->trail_pct ? o->trail_best * o->trail / 100 : o->trail;
		double stop = buy ? o->trail_best + d : o->trail_best - d;
		if (buy ? stop < o->stop : stop > o->stop)
			o->stop = stop;
	}
	return 0;
}

/* One book event of a locate, after book_apply: queue positions and fills. */
static void on_event(struct simbook *sb, const struct book_event *ev, int64_t now)
{
	for (int i = 0; i < sb->n;) {
		struct sb_order *so = &sb->v[i];
		if (so->locate == ev->locate && so->stop_wait && on_stop(sb, so, ev, now)) {
			remove_at(sb, i);
			continue;
		}
		if (so->arrived && so->locate == ev->locate && on_resting(sb, i, ev, now))
			remove_at(sb, i);
		else
			i++;
	}
}

static int simbook_submit(void *self, struct order *o, int64_t now)
{
	struct simbook *sb = self;
	int loc = feed_itch_locate(sb->feed, o->sym);
	if (loc <= 0) /* no message of the symbol yet */
		return -1;
	struct sb_order *v = grow_array(sb->v, &sb->cap, sb->n + 1, sizeof *v, 64);
	if (!v)
		return -1;
	sb->v = v;
	struct sb_order *so = &sb->v[sb->n++];
	memset(so, 0, sizeof *so);
	so->id = o->id;
	so->arrive = now + sb->latency;
	so->locate = (uint16_t)loc;
	so->side = o->side == SIDE_BUY ? 'B' : 'S';
	int limit = o->type == ORD_LIMIT || o->type == ORD_STOP_LIMIT;
	so->px = limit ? (uint32_t)llround(o->price * 1e4) : 0;
	so->stop_wait = o->type == ORD_STOP || o->type == ORD_STOP_LIMIT;
	if (so->stop_wait)
		so->arrive = INT64_MAX; /* held here until the market reaches it */
	oms_accept(sb->oms, o, now);
	if (sb->latency == 0 && !so->stop_wait)
		arrive(sb, sb->n - 1, now);
	return 0;
}

static int simbook_cancel(void *self, struct order *o, int64_t now)
{
	struct simbook *sb = self;
	if (!oms_is_open(o))
		return -1;
	int i = find(sb, o->id);
	if (i >= 0)
		remove_at(sb, i);
	oms_cancel(sb->oms, o, "canceled", now);
	return 0;
}


static void simbook_cancel_all(void *self, const char *reason, int64_t now)
{
	struct simbook *sb = self;
	while (sb->n > 0) {
		int min = 0;
		for (int i = 1; i < sb->n; i++)
			if (sb->v[i].id < sb->v[min].id)
				min = i;
		struct order *o = oms_get(sb->oms, sb->v[min].id);
		remove_at(sb, min);
		if (oms_is_open(o))
			oms_cancel(sb->oms, o, reason, now);
	}
}

/* Whether a resting order at so's price would trade with the other side's
 * best price now. */
static int crosses(const struct simbook *sb, const struct sb_order *so)
{
	struct book_top top;
	if (!so->px)
		return 0;
	book_top(sb->books, so->locate, &top);
	return so->side == 'B' ? top.ask && top.ask <= so->px : top.bid && top.bid >= so->px;
}

/* As a real venue does: a price change or a larger size goes to the back of
 * the queue at the (new) price; a smaller size keeps its place. A new price
 * that crosses the other side takes it at once (as an arriving limit). */
static int simbook_replace(void *self, struct order *o, double qty, double price, int64_t now)
{
	struct simbook *sb = self;
	int i = find(sb, o->id);
	if (!oms_is_open(o) || i < 0 || !(qty >= o->filled) ||
	    (o->type == ORD_LIMIT && !(price > 0)))
		return -1;
	int limit = o->type == ORD_LIMIT || o->type == ORD_STOP_LIMIT;
	struct sb_order *so = &sb->v[i];
	uint32_t px = limit ? (uint32_t)llround(price * 1e4) : so->px;
	int back = px != so->px || qty > o->qty;
	so->px = px;
	if (back && so->arrived)
		so->ahead = level_shares(sb, so->locate, so->side, so->px);
	int done = qty <= o->filled;
	if (done)
		remove_at(sb, i);
	oms_replace(sb->oms, o, qty, price, now);
	if (!done && back && so->arrived && !so->stop_wait && crosses(sb, so) &&
	    take(sb, o, so, now) <= 0) /* fills change no list here: i is still so */
		remove_at(sb, i);
	return 0;
}

static void simbook_market(void *self, const struct feed_event *ev, int64_t now)
{
	struct simbook *sb = self;
	if (ev->kind != FEED_BOOK)
		return;
	on_event(sb, ev->book, now);
}

static void simbook_status(void *self, struct venue_status *out)
{
	(void)self;
	out->state = VENUE_UP;
	snprintf(out->detail, sizeof out->detail, "simulated (order book)");
}

static void simbook_venue_free(void *self)
{
	simbook_free(self);
}

const struct venue_ops simbook_venue = {
	.name = "simbook",
	.submit = simbook_submit,
	.cancel = simbook_cancel,
	.replace = simbook_replace,
	.cancel_all = simbook_cancel_all,
	.market = simbook_market,
	.due = simbook_due,
	.advance = simbook_advance,
	.status = simbook_status,
	.free = simbook_venue_free,
};
