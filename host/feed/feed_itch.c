/*
 * feed_itch — a NASDAQ TotalView-ITCH 5.0 day (file or gzip) as a feed.
 *
 * The decoder and the books run over every message (the books filtered to
 * the subscribed symbols, so the others cost a flag test); only a message
 * of a subscribed symbol that did something becomes an event. Before a
 * message applies, event time moves to its timestamp (the sink's advance:
 * a simulated order due by then reaches its venue first, against the book
 * as it was). Event time is the day's midnight (--date) plus the message's
 * timestamp and never goes back (with --lenient, a message that does is
 * counted and given the time before it). Equity is sampled once a second.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "book.h"
#include "feed.h"
#include "itch.h"
#include "log.h"
#include "oms.h"
#include "probe.h"
#include "symtab.h"

struct feed_itch {
	struct feed base;
	struct itch_feed_config cfg;
	struct symtab *symtab; /* borrowed */
	struct book_set *books;
	struct itch_reader rd;
	int reader_open, ended;
	struct book_ahead ahead; /* prefetch hints for the books (book_prefetch) */
	struct feed_sink sink;
	int *sym_of_loc;	 /* locate -> symbol id, -1 unknown */
	uint16_t *loc_of_sym; /* symbol id -> locate, 0 unknown */
	int64_t now;
	long messages, warnings;
	struct book_event bev;
	/* a network feed's stream (feed_itch_open_stream): no reader; where the
	 * next message sits in the recorded file framing, for messages */
	int stream;
	uint64_t stream_off, last_ts;
};

static int subscribe(struct feed_itch *x, const char *name, char *err, size_t errlen)
{
	int sym = symtab_intern(x->symtab, name, strlen(name));
	if (sym < 0 || strlen(name) > 8) {
		errf(err, errlen, "'%s' is not an ITCH symbol (1 to 8 characters)", name);
		return -1;
	}
	book_subscribe_name(x->books, name);
	return 0;
}

/* The symbol id of a subscribed locate, learnt from its name on first use. */
static int symbol_of(struct feed_itch *x, uint16_t loc)
{
	int sym = x->sym_of_loc[loc];
	if (sym >= 0)
		return sym;
	struct book_status st;
	book_status(x->books, loc, &st);
	sym = symtab_intern(x->symtab, st.name, strlen(st.name));
	if (sym < 0)
		return -1;
	x->sym_of_loc[loc] = sym;
	x->loc_of_sym[sym] = loc;
	return sym;
}

static int locate_of(const struct feed_itch *x, int sym)
{
	return sym >= 0 && sym < SYMTAB_MAX ? x->loc_of_sym[sym] : 0;
}

/* A data problem at the reader's position: an error, or with --lenient a
 * warning (the first ten printed) unless the data cannot go on. */
static int data_error(struct feed_itch *x, int rc, char *err, size_t errlen)
{
	if (x->cfg.lenient && rc != ITCH_ERR_TRUNCATED && rc != ITCH_ERR_IO) {
		if (x->warnings++ < 10)
			log_msg(LOG_WARN, "itch", "%s: byte %llu: %s", x->cfg.path,
				(unsigned long long)x->rd.err_offset, x->rd.err_text);
		return 0;
	}
	errf(err, errlen, "%s: byte %llu: %s", x->cfg.path, (unsigned long long)x->rd.err_offset,
	     x->rd.err_text);
	return -1;
}

static int finish(struct feed_itch *x)
{
	if (!x->ended) {
		x->ended = 1;
		PROBE_CLOSE();
		if (x->warnings > 10)
			log_msg(LOG_WARN, "itch", "%s: %ld warnings in all", x->cfg.path, x->warnings);
	}
	return 0;
}

static int itch_start(struct feed *f, const struct feed_sink *sink, char *err, size_t errlen)
{
	struct feed_itch *x = (struct feed_itch *)f;
	x->sink = *sink;
	(void)err; /* only a probe build can fail here */
	(void)errlen;
	if (PROBE_OPEN(err, errlen) != 0)
		return -1;
	book_prefetch_start(x->books, &x->rd, &x->ahead);
	return 0;
}

static void fill_event(struct feed_itch *x, int sym, int64_t now, struct feed_event *ev)
{
	const struct book_event *b = &x->bev;
	struct book_top t;
	book_top(x->books, b->locate, &t);
	ev->kind = FEED_BOOK;
	ev->time = now;
	ev->sym = sym;
	ev->book = b;
	ev->top_changed = b->top_changed;
	ev->has_trade = b->has_trade;
	ev->top = (struct top_of_book){now, sym, t.bid / 1e4, (double)t.bid_qty, t.ask / 1e4,
				       (double)t.ask_qty};
	if (b->has_trade)
		ev->trade = (struct trade_event){now, sym, b->trade_price / 1e4, (double)b->trade_qty,
						 b->trade_side == 'B'   ? SIDE_SELL
						 : b->trade_side == 'S' ? SIDE_BUY
									: 0};
	ev->mark = (t.bid && t.ask) ? (t.bid + t.ask) / 2e4
		   : b->has_trade   ? b->trade_price / 1e4
				    : (t.bid ? t.bid : t.ask) / 1e4;
}

/* One decoded message through the books: 1 an event in ev, 0 none, -1 an
 * error in err. idle: whether the message did nothing for the probe. */
static int apply(struct feed_itch *x, const struct itch_msg *m, struct feed_event *ev, char *err,
		 size_t errlen)
{
	int64_t now = x->cfg.date_ns + (int64_t)m->ts;
	if (now < x->now)
		now = x->now; /* lenient: time never goes back for the engine */
	int idle = 1;
	if (x->sink.due(x->sink.due_ud) <= now) {
		idle = 0;
		x->now = now;
		x->sink.advance(x->sink.ud, now);
	}
	PROBE_MARK(PROBE_ARRIVED);
	int brc = book_apply(x->books, m, &x->bev);
	PROBE_MARK(PROBE_BOOKED);
	if (brc < 0) {
		x->rd.err_offset = x->stream ? x->stream_off : itch_reader_offset(&x->rd);
		snprintf(x->rd.err_text, sizeof x->rd.err_text, "%s",
			 brc == ITCH_ERR_UNKNOWN_REF ? "a reference to an order not in the book"
			 : brc == ITCH_ERR_DUP_REF   ? "an add of an order already in the book"
						     : "more shares than the order has");
		if (data_error(x, brc, err, errlen) != 0)
			return -1;
	}
	x->messages++;
	const struct book_event *b = &x->bev;
	if (!b->subscribed || b->kind == BOOK_EV_NONE || b->kind == BOOK_EV_DIRECTORY ||
	    b->kind == BOOK_EV_INFO) {
		if (idle && !b->subscribed && brc >= 0)
			PROBE_IDLE();
		return 0;
	}
	int sym = symbol_of(x, b->locate);
	if (sym < 0)
		return 0;
	x->now = now;
	fill_event(x, sym, now, ev);
	return 1;
}

static int itch_next(struct feed *f, struct feed_event *ev, char *err, size_t errlen)
{
	struct feed_itch *x = (struct feed_itch *)f;
	struct itch_msg m;
	if (x->ended)
		return 0;
	for (;;) {
		PROBE_MESSAGE();
		book_prefetch_step(x->books, &x->rd, &x->ahead); /* inside the probe's window */
		int rc = itch_reader_next(&x->rd, &m);
		PROBE_MARK(PROBE_DECODED);
		if (rc == 0)
			return finish(x);
		if (rc < 0 && rc != ITCH_ERR_TIME) {
			if (data_error(x, rc, err, errlen) != 0)
				return -1;
			if (rc == ITCH_ERR_TRUNCATED || rc == ITCH_ERR_IO)
				return finish(x);
			continue;
		}
		if (rc == ITCH_ERR_TIME && data_error(x, rc, err, errlen) != 0)
			return -1;
		int r = apply(x, &m, ev, err, errlen);
		if (r != 0)
			return r;
	}
}

int feed_itch_push(struct feed *f, const uint8_t *msg, size_t len, struct feed_event *ev,
		   char *err, size_t errlen)
{
	struct feed_itch *x = (struct feed_itch *)f;
	struct itch_msg m;
	uint64_t off = x->stream_off;
	x->stream_off += 2 + len;
	int rc = itch_decode(msg, len, &m);
	if (rc == ITCH_OK && m.ts < x->last_ts) {
		rc = ITCH_ERR_TIME;
		snprintf(x->rd.err_text, sizeof x->rd.err_text,
			 "timestamp %llu earlier than the message before (%llu)",
			 (unsigned long long)m.ts, (unsigned long long)x->last_ts);
	} else if (rc != ITCH_OK) {
		snprintf(x->rd.err_text, sizeof x->rd.err_text, "%s",
			 rc == ITCH_ERR_TYPE ? "unknown message type"
					     : "length does not match the message type");
	}
	if (rc != ITCH_OK) {
		x->rd.err_offset = off;
		if (data_error(x, rc, err, errlen) != 0)
			return -1;
		if (rc != ITCH_ERR_TIME)
			return 0;
	} else {
		x->last_ts = m.ts;
	}
	return apply(x, &m, ev, err, errlen);
}

static long itch_messages(const struct feed *f)
{
	return ((const struct feed_itch *)f)->messages;
}

static int itch_symbols(struct feed *f, int *syms, int max)
{
	(void)f;
	(void)syms;
	(void)max;
	return -1; /* the day names its symbols as it goes */
}

static int itch_top(const struct feed *f, int sym, struct top_of_book *out)
{
	const struct feed_itch *x = (const struct feed_itch *)f;
	int loc = locate_of(x, sym);
	if (loc <= 0)
		return -1;
	struct book_top t;
	book_top(x->books, (uint16_t)loc, &t);
	out->sym = sym;
	out->bid = t.bid / 1e4;
	out->ask = t.ask / 1e4;
	out->bid_qty = (double)t.bid_qty;
	out->ask_qty = (double)t.ask_qty;
	return 0;
}

static int itch_depth(const struct feed *f, int sym, int side, double (*out)[3], int n)
{
	const struct feed_itch *x = (const struct feed_itch *)f;
	int loc = locate_of(x, sym);
	if (loc <= 0)
		return 0;
	struct book_level_info lv[64];
	size_t k = book_depth(x->books, (uint16_t)loc, side ? BOOK_ASK : BOOK_BID, lv,
			      (size_t)(n < 64 ? n : 64));
	for (size_t i = 0; i < k; i++) {
		out[i][0] = lv[i].price / 1e4;
		out[i][1] = (double)lv[i].shares;
		out[i][2] = (double)lv[i].orders;
	}
	return (int)k;
}

/* Halted (H), paused (P) or an operational halt (h): no trading. */
static int itch_trading(const struct feed *f, int sym)
{
	const struct feed_itch *x = (const struct feed_itch *)f;
	int loc = locate_of(x, sym);
	if (loc <= 0)
		return 1;
	struct book_status st;
	book_status(x->books, (uint16_t)loc, &st);
	return (st.trading_state == 0 || st.trading_state == 'T' || st.trading_state == 'Q') &&
	       !st.op_halted;
}

static void itch_close(struct feed *f)
{
	struct feed_itch *x = (struct feed_itch *)f;
	if (x->reader_open)
		itch_reader_close(&x->rd);
	finish(x);
	book_set_free(x->books);
	free(x->sym_of_loc);
	free(x->loc_of_sym);
	free(x);
}

static const struct feed_ops itch_ops = {
	.name = "itch",
	.live = 0,
	.equity_every_ns = 1000000000,
	.symbols = itch_symbols,
	.start = itch_start,
	.next = itch_next,
	.messages = itch_messages,
	.top = itch_top,
	.depth = itch_depth,
	.trading = itch_trading,
	.close = itch_close,
};

int feed_itch_locate(const struct feed *f, int sym)
{
	f = feed_net_inner((struct feed *)f);
	return f && f->ops == &itch_ops ? locate_of((const struct feed_itch *)f, sym) : 0;
}

struct book_set *feed_itch_books(struct feed *f)
{
	f = feed_net_inner(f);
	return f && f->ops == &itch_ops ? ((struct feed_itch *)f)->books : NULL;
}

/* --preload: the day in anonymous 2 MB pages, when it takes at most a
 * quarter of the machine's memory: no stall on a first touch of the file
 * inside a tick (setup pays for it: up to seconds of page zeroing). */
static void preload(struct feed_itch *x)
{
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
	if (pages > 0 && psize > 0 && itch_reader_load(&x->rd, (size_t)pages / 4 * (size_t)psize))
		log_msg(LOG_DEBUG, "itch", "%s: read into memory (%.0f MB)", x->cfg.path,
			(double)x->rd.size / (1 << 20));
	else
		log_msg(LOG_WARN, "itch", "%s: --preload: left mapped (gzip, more than a "
					  "quarter of memory, or no memory for it)", x->cfg.path);
}

static struct feed *open_itch(const struct itch_feed_config *cfg, struct symtab *st, int stream,
			      char *err, size_t errlen)
{
	struct feed_itch *x = calloc(1, sizeof *x);
	if (!x)
		return errf(err, errlen, "out of memory"), NULL;
	x->base.ops = &itch_ops;
	x->base.path = cfg->path;
	x->cfg = *cfg;
	x->symtab = st;
	x->now = INT64_MIN;
	/* faulted in up front: no page fault inside a tick */
	struct book_config bc = {.prefault = 1};
	x->books = book_set_new(&bc);
	x->sym_of_loc = malloc(BOOK_LOCATES * sizeof *x->sym_of_loc);
	x->loc_of_sym = calloc(SYMTAB_MAX, sizeof *x->loc_of_sym);
	if (!x->books || !x->sym_of_loc || !x->loc_of_sym) {
		errf(err, errlen, "out of memory");
		goto fail;
	}
	for (int i = 0; i < BOOK_LOCATES; i++)
		x->sym_of_loc[i] = -1;
	book_set_filter(x->books, 1);
	for (int i = 0; i < cfg->nsymbols; i++)
		if (subscribe(x, cfg->symbols[i], err, errlen) != 0)
			goto fail;
	if (cfg->nsymbols == 0) {
		errf(err, errlen, "%s: an order-book backtest needs its symbols: --symbol A,B or "
				  "`symbols` in the strategy", cfg->path);
		goto fail;
	}
	if (stream) {
		x->stream = 1;
		return &x->base;
	}
	if (itch_reader_open(&x->rd, cfg->path, err, errlen) != 0)
		goto fail;
	x->reader_open = 1;
	if (cfg->preload)
		preload(x);
	return &x->base;
fail:
	x->ended = 1;
	itch_close(&x->base);
	return NULL;
}

struct feed *feed_itch_open(const struct itch_feed_config *cfg, struct symtab *st, char *err,
			    size_t errlen)
{
	return open_itch(cfg, st, 0, err, errlen);
}

struct feed *feed_itch_open_stream(const struct itch_feed_config *cfg, struct symtab *st,
				   char *err, size_t errlen)
{
	return open_itch(cfg, st, 1, err, errlen);
}

void feed_itch_lenient(struct feed *f)
{
	if (f && f->ops == &itch_ops)
		((struct feed_itch *)f)->cfg.lenient = 1;
}

struct book_set *feed_itch_stream_books(struct feed *f)
{
	return f && f->ops == &itch_ops ? ((struct feed_itch *)f)->books : NULL;
}
