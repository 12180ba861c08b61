/*
 * test_replace — a working order's replace in each simulated venue: the
 * bar simulator (the new quantity and price from the next bar), the ITCH
 * book model (a price change or a larger size loses the queue position, a
 * smaller size keeps it; a new price that crosses takes the book), and the
 * asynchronous test venue (pending, then replaced N events later; racing a
 * fill and a cancel); in the book of record, a replace to at or below what
 * filled makes the order done, and a refused replace leaves it unchanged.
 * Also an OCO pair's cancel racing a fill on the book model (at once, and a
 * triggered stop in flight when its sibling fills) and on the late venue.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "feed.h"
#include "oms.h"
#include "sim.h"
#include "simbook.h"
#include "symtab.h"
#include "venue_async.h"

#define T(i) ((int64_t)(i)*86400LL * 1000000000LL)

struct seen {
	int orders, fills;
	int status[64];
	double qty[64];
	const char *reason[64];
};

static void on_event(void *ud, const struct oms_event *ev)
{
	struct seen *s = ud;
	if (ev->kind == OMS_EV_FILL) {
		s->fills++;
		return;
	}
	if (s->orders < 64) {
		s->status[s->orders] = ev->order->status;
		s->qty[s->orders] = ev->order->qty;
		s->reason[s->orders] = ev->order->reason;
	}
	s->orders++;
}

/* ------------------------------------------------------------ bars */

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

static struct order *place(struct rig *r, int side, int type, double qty, double price, int64_t now)
{
	struct order *o = oms_create(r->oms, 0, 0, side, type, TIF_DAY, qty, price, now, 1);
	if (!o || r->v.ops->submit(r->v.self, o, now) != 0)
		return NULL;
	return o;
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

static void test_bars_replace_from_next_bar(void)
{
	struct rig r;
	rig_open(&r, 0);
	struct order *o = place(&r, SIDE_BUY, ORD_LIMIT, 100, 9, T(1));
	bar(&r, T(2), 10, 11, 9.5, 10); /* not reached at 9 */
	CHECK_EQ_INT(r.v.ops->replace(r.v.self, o, 40, 10, T(2)), 0);
	CHECK_EQ_INT(r.seen.status[1], ST_REPLACED); /* what the strategy sees */
	CHECK_EQ_INT(o->status, ST_ACCEPTED);	     /* and works on */
	CHECK_EQ_INT(o->replaces, 1);
	CHECK(oms_is_open(o));
	bar(&r, T(3), 10.5, 11, 9.8, 10); /* reaches 10: the new price and size */
	CHECK_EQ_INT(o->status, ST_FILLED);
	CHECK_NEAR(o->filled, 40, 0);
	CHECK_NEAR(o->avg_price, 10, 1e-12);
	rig_close(&r);
}

static void test_replace_to_filled_is_done(void)
{
	struct rig r;
	rig_open(&r, 0);
	struct order *o = place(&r, SIDE_BUY, ORD_LIMIT, 100, 9, T(1));
	oms_fill(r.oms, o, 30, 9, 0, T(2)); /* partly filled elsewhere */
	CHECK_EQ_INT(o->status, ST_PARTIAL);
	CHECK_EQ_INT(r.v.ops->replace(r.v.self, o, 30, 9, T(2)), 0);
	CHECK_EQ_INT(o->status, ST_FILLED); /* FIX: OrderQty <= CumQty, done */
	CHECK_STR(o->reason, "replaced");
	CHECK(!oms_is_open(o));
	CHECK_EQ_INT(oms_open_count(r.oms, 0), 0);
	bar(&r, T(3), 8, 9, 7, 8); /* nothing more fills */
	CHECK_NEAR(o->filled, 30, 0);
	rig_close(&r);
}

static void test_replace_rejected_leaves_it(void)
{
	struct rig r;
	rig_open(&r, 0);
	struct order *o = place(&r, SIDE_SELL, ORD_LIMIT, 100, 12, T(1));
	oms_replace_rejected(r.oms, o, "max_position", T(1));
	CHECK_EQ_INT(o->status, ST_ACCEPTED);
	CHECK_STR(r.seen.reason[1], "max_position");
	CHECK_NEAR(o->qty, 100, 0);
	CHECK_NEAR(o->price, 12, 0);
	CHECK_EQ_INT(o->replaces, 0);
	rig_close(&r);
}

/* ------------------------------------------------------------ async */

static void test_async_pending_then_replaced(void)
{
	struct rig r;
	rig_open(&r, 2);
	struct order *o = place(&r, SIDE_BUY, ORD_LIMIT, 100, 5, T(1));
	CHECK_EQ_INT(r.v.ops->replace(r.v.self, o, 50, 6, T(1)), -1); /* not at the venue yet */
	bar(&r, T(2), 10, 11, 9, 10);
	bar(&r, T(3), 10, 11, 9, 10); /* acknowledged */
	CHECK_EQ_INT(o->status, ST_ACCEPTED);
	CHECK_EQ_INT(r.v.ops->replace(r.v.self, o, 50, 9.5, T(3)), 0);
	CHECK_EQ_INT(o->status, ST_REPLACE_PENDING);
	CHECK(oms_is_open(o));
	CHECK_EQ_INT(r.v.ops->replace(r.v.self, o, 40, 9.5, T(3)), -1); /* one at a time */
	CHECK_NEAR(o->qty, 100, 0); /* the old order works meanwhile */
	bar(&r, T(4), 10, 11, 9.6, 10);
	CHECK_EQ_INT(o->status, ST_REPLACE_PENDING);
	bar(&r, T(5), 10, 11, 9.6, 10); /* the replace arrives after this bar's matching */
	CHECK_EQ_INT(o->status, ST_ACCEPTED);
	CHECK_NEAR(o->qty, 50, 0);
	CHECK_NEAR(o->price, 9.5, 0);
	int n = r.seen.orders;
	CHECK_EQ_INT(r.seen.status[n - 2], ST_REPLACE_PENDING);
	CHECK_EQ_INT(r.seen.status[n - 1], ST_REPLACED);
	bar(&r, T(6), 9.7, 10, 9.4, 9.5);
	CHECK_EQ_INT(o->status, ST_FILLED);
	CHECK_NEAR(o->avg_price, 9.5, 1e-12);
	CHECK_NEAR(o->filled, 50, 0);
	rig_close(&r);
}

static void test_async_fill_races_replace(void)
{
	struct rig r;
	rig_open(&r, 1);
	struct order *o = place(&r, SIDE_BUY, ORD_LIMIT, 100, 10, T(1));
	bar(&r, T(2), 12, 13, 11, 12); /* acknowledged */
	CHECK_EQ_INT(r.v.ops->replace(r.v.self, o, 60, 10, T(2)), 0);
	/* the old order fills wholly before the replace arrives: too late */
	bar(&r, T(3), 10, 11, 9, 10);
	CHECK_EQ_INT(o->status, ST_FILLED);
	CHECK_NEAR(o->filled, 100, 0);
	CHECK_EQ_INT(o->replaces, 0);
	rig_close(&r);
}

static void test_async_cancel_during_replace(void)
{
	struct rig r;
	rig_open(&r, 1);
	struct order *o = place(&r, SIDE_BUY, ORD_LIMIT, 100, 5, T(1));
	bar(&r, T(2), 12, 13, 11, 12);
	CHECK_EQ_INT(r.v.ops->replace(r.v.self, o, 60, 6, T(2)), 0);
	CHECK_EQ_INT(r.v.ops->cancel(r.v.self, o, T(2)), 0);
	CHECK_EQ_INT(o->status, ST_CANCEL_PENDING);
	bar(&r, T(3), 12, 13, 11, 12); /* the cancel decides: cancelled, never replaced */
	CHECK_EQ_INT(o->status, ST_CANCELED);
	CHECK_EQ_INT(o->replaces, 0);
	rig_close(&r);
}

/* ------------------------------------------------------------ ITCH book */

static uint8_t *put(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	return p + n;
}

struct stream {
	uint8_t buf[4096];
	size_t n;
	uint64_t ts;
};

static uint8_t *msg(struct stream *s, char t, size_t len)
{
	put(s->buf + s->n, len, 2);
	uint8_t *m = s->buf + s->n + 2;
	s->n += 2 + len;
	memset(m, ' ', len);
	m[0] = (uint8_t)t;
	put(m + 1, 1, 2); /* locate 1 */
	put(m + 3, 0, 2);
	put(m + 5, s->ts += 1000, 6);
	return m;
}

static void add(struct stream *s, uint64_t ref, char side, uint32_t sh, uint32_t px)
{
	uint8_t *m = msg(s, 'A', 36);
	put(m + 11, ref, 8);
	m[19] = (uint8_t)side;
	put(m + 20, sh, 4);
	memcpy(m + 24, "AAAA", 4);
	put(m + 32, px, 4);
}

static void exec_msg(struct stream *s, uint64_t ref, uint32_t sh)
{
	uint8_t *m = msg(s, 'E', 31);
	put(m + 11, ref, 8);
	put(m + 19, sh, 4);
	put(m + 23, ref * 10, 8);
}

static void save(const char *path, const struct stream *s)
{
	FILE *f = fopen(path, "wb");
	CHECK(f != NULL);
	if (!f)
		return;
	fwrite(s->buf, 1, s->n, f);
	fclose(f);
}

/* An ITCH day of locate 1 (AAAA): bids 300 @ 10.00 (ref 2), 400 @ 9.99
 * (ref 4), asks 500 @ 10.01 (ref 1); after the pause (the place to
 * replace), 200 more join the bid at 10.00 (ref 3), then executions at
 * 10.00: 300 of ref 2, then 50 of ref 3. */
static void write_day(const char *path)
{
	static struct stream s;
	memset(&s, 0, sizeof s);
	s.ts = 34200000000000ull;
	add(&s, 1, 'S', 500, 100100);
	add(&s, 2, 'B', 300, 100000);
	add(&s, 4, 'B', 400, 99900);
	add(&s, 3, 'B', 200, 100000);
	exec_msg(&s, 2, 300);
	exec_msg(&s, 3, 50);
	save(path, &s);
}

struct brig {
	struct symtab *st;
	struct feed *feed;
	struct oms *oms;
	struct simbook *sb;
	struct seen seen;
	int sym;
	int64_t now; /* the last event's time */
};

static int64_t sb_due(void *ud)
{
	return simbook_venue.due(ud);
}

static void sb_advance(void *ud, int64_t t)
{
	struct brig *b = ud;
	simbook_venue.advance(b->sb, t);
}

static int brig_open_late(struct brig *b, const char *path, int64_t latency)
{
	memset(b, 0, sizeof *b);
	char err[256];
	static const char *const syms[] = {"AAAA"};
	b->st = symtab_new();
	struct itch_feed_config c = {.path = path, .symbols = syms, .nsymbols = 1};
	b->feed = feed_itch_open(&c, b->st, err, sizeof err);
	CHECK(b->feed != NULL);
	if (!b->feed)
		return -1;
	b->sym = symtab_find(b->st, "AAAA", 4);
	b->oms = oms_new(1, 1e6);
	struct sim_config cfg = {0};
	b->sb = simbook_new(b->oms, b->feed, &cfg, latency);
	oms_set_listener(b->oms, on_event, &b->seen);
	struct feed_sink sink = {sb_due, b->sb, sb_advance, b};
	CHECK_EQ_INT(b->feed->ops->start(b->feed, &sink, err, sizeof err), 0);
	return 0;
}

static int brig_open(struct brig *b, const char *path)
{
	return brig_open_late(b, path, 0);
}

/* The next n events of the day, through the venue. */
static void brig_step(struct brig *b, int n)
{
	char err[256];
	for (int i = 0; i < n; i++) {
		struct feed_event ev;
		if (b->feed->ops->next(b->feed, &ev, err, sizeof err) != 1)
			return;
		b->now = ev.time;
		simbook_venue.market(b->sb, &ev, ev.time);
	}
}

static void brig_close(struct brig *b)
{
	simbook_free(b->sb);
	feed_close(b->feed);
	oms_free(b->oms);
	symtab_free(b->st);
}

/* Our buy of 100 at 10.00 rests behind 300; 200 join behind it; then a
 * replace (how: 0 smaller, 1 larger, 2 a new price and back) before 350
 * execute at 10.00. Returns what our order filled. */
static double queue_case(const char *path, int how)
{
	struct brig b;
	if (brig_open(&b, path) != 0)
		return -1;
	brig_step(&b, 3); /* the three first adds */
	struct order *o =
	    oms_create(b.oms, 0, b.sym, SIDE_BUY, ORD_LIMIT, TIF_DAY, 100, 10.00, T(1), 1);
	CHECK_EQ_INT(simbook_venue.submit(b.sb, o, T(1)), 0);
	brig_step(&b, 1); /* ref 3 joins behind us */
	double qty = how == 0 ? 60 : how == 1 ? 150 : 100;
	double px = how == 2 ? 9.99 : 10.00;
	CHECK_EQ_INT(simbook_venue.replace(b.sb, o, qty, px, T(1)), 0);
	if (how == 2) /* and straight back to 10.00: the back of its queue */
		CHECK_EQ_INT(simbook_venue.replace(b.sb, o, qty, 10.00, T(1)), 0);
	brig_step(&b, 2); /* 300 then 50 execute at 10.00 */
	double filled = o->filled;
	brig_close(&b);
	return filled;
}

static void test_book_queue_kept_or_lost(void)
{
	char path[] = "/tmp/test_replace_XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	write_day(path);
	/* smaller: still first behind the 300, so the 50 after them are ours */
	CHECK_NEAR(queue_case(path, 0), 50, 0);
	/* larger: behind the 500 displayed then (300 + 200): nothing yet */
	CHECK_NEAR(queue_case(path, 1), 0, 0);
	/* a new price, even back to the old one: the back of the queue */
	CHECK_NEAR(queue_case(path, 2), 0, 0);
	unlink(path);
}

static void test_book_crossing_replace_takes(void)
{
	char path[] = "/tmp/test_replace_XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	write_day(path);
	struct brig b;
	if (brig_open(&b, path) == 0) {
		brig_step(&b, 3);
		struct order *o =
		    oms_create(b.oms, 0, b.sym, SIDE_BUY, ORD_LIMIT, TIF_DAY, 100, 9.95, T(1), 1);
		CHECK_EQ_INT(simbook_venue.submit(b.sb, o, T(1)), 0);
		CHECK_NEAR(o->filled, 0, 0);
		/* up to the ask: it takes 100 of the 500 displayed at 10.01 */
		CHECK_EQ_INT(simbook_venue.replace(b.sb, o, 100, 10.01, T(1)), 0);
		CHECK_EQ_INT(o->status, ST_FILLED);
		CHECK_NEAR(o->avg_price, 10.01, 1e-9);
		CHECK_EQ_INT(simbook_venue.replace(b.sb, o, 50, 10.01, T(1)), -1); /* done */
		brig_close(&b);
	}
	unlink(path);
}

/* ------------------------------------------------------------ OCO races */

/* An ITCH day for a take-profit (sell 50 @ 10.01) and a stop-loss (sell
 * stop @ 9.90) of a long: asks 500 @ 10.01 (ref 1), bids 300 @ 10.00 (ref
 * 2); [the orders go in]; five adds (bids at 9.90 ref 6, 9.80 ref 7 to 9,
 * then an ask of 100 @ 10.01 behind ours, ref 5); a trade at 9.90 (ref 6:
 * the stop triggers); 500 of ref 1 execute, then 50 of ref 5 (the
 * take-profit fills); four more adds. Messages 1 us apart. */
static void write_oco_day(const char *path)
{
	static struct stream s;
	memset(&s, 0, sizeof s);
	s.ts = 34200000000000ull;
	add(&s, 1, 'S', 500, 100100);
	add(&s, 2, 'B', 300, 100000);
	add(&s, 6, 'B', 100, 99000);
	add(&s, 7, 'B', 100, 98000);
	add(&s, 8, 'B', 100, 98000);
	add(&s, 9, 'B', 100, 98000);
	add(&s, 5, 'S', 100, 100100);
	exec_msg(&s, 6, 100);
	exec_msg(&s, 1, 500);
	exec_msg(&s, 5, 50);
	for (int i = 0; i < 4; i++)
		add(&s, 20 + (uint64_t)i, 'B', 100, 97000);
	save(path, &s);
}

/* The pair at the pause (after the two first messages); linked unless
 * alone. */
static void oco_pair(struct brig *b, struct order **tp, struct order **sl, int alone)
{
	int64_t now = b->now;
	*tp = oms_create(b->oms, 0, b->sym, SIDE_SELL, ORD_LIMIT, TIF_GTC, 50, 10.01, now, 1);
	*sl = oms_create(b->oms, 0, b->sym, SIDE_SELL, ORD_STOP, TIF_GTC, 50, 0, now, 1);
	(*sl)->stop = 9.90;
	CHECK_EQ_INT(simbook_venue.submit(b->sb, *tp, now), 0);
	CHECK_EQ_INT(simbook_venue.submit(b->sb, *sl, now), 0);
	if (!alone)
		CHECK_EQ_INT(oms_link_oco(b->oms, *tp, *sl), 0);
}

static void test_book_oco_fill_wins(void)
{
	char path[] = "/tmp/test_replace_XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	write_oco_day(path);
	struct brig b;
	struct order *tp, *sl;
	if (brig_open(&b, path) == 0) {
		brig_step(&b, 2);
		oco_pair(&b, &tp, &sl, 0);
		brig_step(&b, 5);
		/* the trade at 9.90: the stop triggers and, without latency,
		 * reaches the book at the next message, which is the execution
		 * ahead of the take-profit; the stop sells into the bids first */
		brig_step(&b, 1);
		CHECK_EQ_INT(tp->status, ST_ACCEPTED);
		brig_step(&b, 10);
		CHECK_EQ_INT(sl->status, ST_FILLED);
		CHECK_EQ_INT(tp->status, ST_CANCELED);
		CHECK_STR(tp->reason, "oco");
		CHECK_NEAR(tp->filled, 0, 0);
		CHECK_EQ_INT(simbook_venue.cancel(b.sb, tp, b.now),
			     -1); /* too late: it is closed */
		brig_close(&b);
	}
	unlink(path);
}

static void test_book_oco_cancel_wins(void)
{
	char path[] = "/tmp/test_replace_XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	write_oco_day(path);
	struct brig b;
	struct order *tp, *sl;
	if (brig_open(&b, path) == 0) {
		brig_step(&b, 2);
		oco_pair(&b, &tp, &sl, 0);
		brig_step(&b, 5);
		/* the strategy cancels the stop just before the trade that would
		 * trigger it: its sibling goes with it, and neither fills */
		CHECK_EQ_INT(simbook_venue.cancel(b.sb, sl, b.now), 0);
		CHECK_EQ_INT(tp->status, ST_CANCELED);
		CHECK_STR(tp->reason, "oco");
		brig_step(&b, 20);
		CHECK_NEAR(tp->filled + sl->filled, 0, 0);
		CHECK_EQ_INT(b.seen.fills, 0);
		brig_close(&b);
	}
	unlink(path);
}

/* With 5 us of latency the stop triggered by the trade is still on its
 * way when the take-profit fills (two messages later): it arrives
 * cancelled and never trades. Alone (no pair), the same stop sells. */
static void test_book_oco_stop_in_flight(void)
{
	char path[] = "/tmp/test_replace_XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	write_oco_day(path);
	for (int alone = 0; alone < 2; alone++) {
		struct brig b;
		struct order *tp, *sl;
		if (brig_open_late(&b, path, 5000) != 0)
			break;
		brig_step(&b, 2);
		oco_pair(&b, &tp, &sl, alone);
		brig_step(&b, 8); /* adds, the trade at 9.90, the execution ahead of ours */
		CHECK(sl->triggered);
		CHECK_NEAR(sl->filled, 0, 0); /* in flight */
		brig_step(&b, 1);	      /* 50 of ref 5: through the take-profit */
		CHECK_EQ_INT(tp->status, ST_FILLED);
		brig_step(&b, 4); /* past the stop's arrival */
		if (!alone) {
			CHECK_EQ_INT(sl->status, ST_CANCELED);
			CHECK_STR(sl->reason, "oco");
			CHECK_NEAR(sl->filled, 0, 0);
		} else {
			CHECK_EQ_INT(sl->status, ST_FILLED); /* the race is what the pair decides */
			CHECK_NEAR(sl->filled, 50, 0);
		}
		brig_close(&b);
	}
	unlink(path);
}

static void test_async_oco_cancel_races_fill(void)
{
	for (int which = 0; which < 2; which++) {
		struct rig r;
		rig_open(&r, 1);
		struct order *tp = place(&r, SIDE_SELL, ORD_LIMIT, 10, 105, T(1));
		struct order *sl =
		    oms_create(r.oms, 0, 0, SIDE_SELL, ORD_STOP, TIF_GTC, 10, 0, T(1), 1);
		sl->stop = 95;
		CHECK_EQ_INT(r.v.ops->submit(r.v.self, sl, T(1)), 0);
		CHECK_EQ_INT(oms_link_oco(r.oms, tp, sl), 0);
		bar(&r, T(2), 100, 101, 99, 100); /* both acknowledged */
		/* a cancel of one (0: the take-profit, 1: the stop) is on its way
		 * when the next bar fills the take-profit */
		struct order *gone = which ? sl : tp;
		CHECK_EQ_INT(r.v.ops->cancel(r.v.self, gone, T(2)), 0);
		CHECK_EQ_INT(gone->status, ST_CANCEL_PENDING);
		int before = r.seen.orders;
		bar(&r, T(3), 104, 106, 103, 105);
		CHECK_EQ_INT(tp->status,
			     ST_FILLED); /* the venue filled it before the cancel came */
		CHECK_EQ_INT(sl->status, ST_CANCELED);
		CHECK_STR(sl->reason, "oco");
		/* the cancel that arrives after finds it closed: no reject, no second event */
		int after = r.seen.orders;
		bar(&r, T(4), 90, 91, 80, 85); /* would have hit the stop */
		CHECK_EQ_INT(r.seen.orders, after);
		CHECK(after > before);
		CHECK_EQ_INT(r.seen.fills, 1);
		CHECK_EQ_INT(oms_open_count(r.oms, 0), 0);
		rig_close(&r);
	}
}

int main(void)
{
	RUN(test_bars_replace_from_next_bar);
	RUN(test_replace_to_filled_is_done);
	RUN(test_replace_rejected_leaves_it);
	RUN(test_async_pending_then_replaced);
	RUN(test_async_fill_races_replace);
	RUN(test_async_cancel_during_replace);
	RUN(test_book_queue_kept_or_lost);
	RUN(test_book_crossing_replace_takes);
	RUN(test_book_oco_fill_wins);
	RUN(test_book_oco_cancel_wins);
	RUN(test_book_oco_stop_in_flight);
	RUN(test_async_oco_cancel_races_fill);
	return check_summary();
}
