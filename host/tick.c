/*
 * tick — order-book backtests on NASDAQ TotalView-ITCH 5.0.
 *
 * The decoder and the books run over the whole file (the books filtered to
 * the subscribed symbols, so the others cost a flag test); only events of a
 * subscribed symbol reach the engine: venue matching (host/simbook.c), marks
 * at the mid, on_book when the top of book changed, on_trade on executions
 * (E, C) and non-displayed trades (P, Q). Equity is sampled once per second
 * of event time (and at the end). Event time is the day's midnight (--date)
 * plus the message's timestamp.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "book.h"
#include "engine_internal.h"
#include "itch.h"
#include "log.h"
#include "simbook.h"

static const struct vm_ops *const vm = &vm_backend;

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void engine_probe_order(struct engine *e)
{
	struct tick_probe *pr = e->probe;
	int64_t now = mono_ns(), d = (now - pr->t0) / 10;
	pr->hist[d < 0 ? 0 : d >= PROBE_BUCKETS ? PROBE_BUCKETS - 1 : d]++;
	pr->window_ns += now - pr->t0;
	if (pr->trace && d >= 200) { /* 2 us or more: where it went */
		int64_t prev = pr->t0;
		fprintf(pr->trace, "%ld %ld %lld", pr->order, pr->msg, (long long)(now - prev));
		for (int k = 0; k < PROBE_STAGES; k++) {
			fprintf(pr->trace, " %lld", (long long)(pr->at[k] - prev));
			prev = pr->at[k];
		}
		/* the window's start, CLOCK_MONOTONIC: lines up with perf record -k mono */
		fprintf(pr->trace, " %lld %lld\n", (long long)(now - prev), (long long)pr->t0);
	}
	pr->order++;
}

void engine_probe_mark(struct engine *e, int stage)
{
	e->probe->at[stage] = mono_ns();
}

static int subscribe(struct engine *e, const char *name, char *err, size_t errlen)
{
	int sym = symtab_intern(e->symtab, name, strlen(name));
	if (sym < 0 || strlen(name) > 8) {
		errf(err, errlen, "'%s' is not an ITCH symbol (1 to 8 characters)", name);
		return -1;
	}
	book_subscribe_name(e->books, name);
	return 0;
}

static int setup(struct engine *e, const struct tick_config *tc, char *err, size_t errlen)
{
	/* faulted in up front: no page fault inside a tick */
	struct book_config bc = {.prefault = 1};
	e->books = book_set_new(&bc);
	e->sym_of_loc = malloc(BOOK_LOCATES * sizeof *e->sym_of_loc);
	e->loc_of_sym = calloc(SYMTAB_MAX, sizeof *e->loc_of_sym);
	if (!e->books || !e->sym_of_loc || !e->loc_of_sym) {
		errf(err, errlen, "out of memory");
		return -1;
	}
	for (int i = 0; i < BOOK_LOCATES; i++)
		e->sym_of_loc[i] = -1;
	book_set_filter(e->books, 1);
	int n = 0;
	for (int i = 0; i < tc->nsymbols; i++, n++)
		if (subscribe(e, tc->symbols[i], err, errlen) != 0)
			return -1;
	for (int i = 0; i < e->nstrat; i++)
		for (int k = 0; k < e->strats[i].info.nsymbols; k++, n++)
			if (subscribe(e, e->strats[i].info.symbols[k], err, errlen) != 0)
				return -1;
	if (n == 0) {
		errf(err, errlen, "%s: an order-book backtest needs its symbols: --symbol A,B or "
				  "`symbols` in the strategy", tc->path);
		return -1;
	}
	e->oms = oms_new(e->nstrat, e->cfg.cash);
	if (!e->oms)
		return errf(err, errlen, "out of memory"), -1;
	e->simbook = simbook_new(e->oms, e->books, &e->cfg.sim, tc->latency_ns);
	if (!e->simbook)
		return errf(err, errlen, "out of memory"), -1;
	e->venue = &simbook_venue;
	e->venue_self = e->simbook;
	e->date_ns = tc->date_ns;
	return 0;
}

/* The symbol id of a subscribed locate, learnt from its name on first use. */
static int symbol_of(struct engine *e, uint16_t loc)
{
	int sym = e->sym_of_loc[loc];
	if (sym >= 0)
		return sym;
	struct book_status st;
	book_status(e->books, loc, &st);
	sym = symtab_intern(e->symtab, st.name, strlen(st.name));
	if (sym < 0 || engine_grow_symbols(e, sym) != 0)
		return -1;
	e->sym_of_loc[loc] = sym;
	e->loc_of_sym[sym] = loc;
	simbook_map(e->simbook, sym, loc);
	return sym;
}

static void mark(struct engine *e, int sym, uint16_t loc, const struct book_event *ev)
{
	struct book_top t;
	book_top(e->books, loc, &t);
	double px = (t.bid && t.ask) ? (t.bid + t.ask) / 2e4
		    : ev->has_trade  ? ev->trade_price / 1e4
				     : (t.bid ? t.bid : t.ask) / 1e4;
	if (px > 0) {
		oms_mark(e->oms, sym, px);
		e->last[sym].time = e->now;
		e->last[sym].close = px;
	}
}

static void callbacks(struct engine *e, int sym, uint16_t loc, const struct book_event *ev)
{
	struct top_of_book top;
	struct trade_event tr;
	if (ev->top_changed) {
		struct book_top t;
		book_top(e->books, loc, &t);
		top = (struct top_of_book){e->now, sym, t.bid / 1e4, (double)t.bid_qty, t.ask / 1e4,
					   (double)t.ask_qty};
	}
	if (ev->has_trade)
		tr = (struct trade_event){e->now, sym, ev->trade_price / 1e4, (double)ev->trade_qty,
					  ev->trade_side == 'B' ? SIDE_SELL
					  : ev->trade_side == 'S' ? SIDE_BUY
								  : 0};
	for (int i = 0; i < e->nstrat; i++) {
		struct strategy *s = &e->strats[i];
		if (s->state == STRAT_QUARANTINED || (s->subscribed && !s->subscribed[sym]))
			continue;
		int rc = VM_OK;
		if (ev->top_changed && (s->info.callbacks & VM_ON_BOOK))
			rc = vm->on_book(s->vm, &top);
		if (rc == VM_OK && ev->has_trade && (s->info.callbacks & VM_ON_TRADE))
			rc = vm->on_trade(s->vm, &tr);
		if (rc != VM_OK)
			engine_failed(e, s, rc);
		if (e->qn)
			engine_deliver(e);
	}
}

static int data_error(const struct tick_config *tc, struct itch_reader *rd, int rc, char *err,
		      size_t errlen, long *warnings)
{
	if (tc->lenient && rc != ITCH_ERR_TRUNCATED && rc != ITCH_ERR_IO) {
		if ((*warnings)++ < 10)
			log_msg(LOG_WARN, "itch", "%s: byte %llu: %s", tc->path,
				(unsigned long long)rd->err_offset, rd->err_text);
		return 0;
	}
	errf(err, errlen, "%s: byte %llu: %s", tc->path, (unsigned long long)rd->err_offset,
	     rd->err_text);
	return -1;
}

/* GANTRY_PROBE=FILE: the tick-to-order histogram's percentiles, one line
 * (for bench/tick.bench.sh; off otherwise: the clock is read only then). */
static void probe_report(const struct tick_probe *pr, const char *path)
{
	uint64_t total = 0, seen = 0, over = 0;
	for (int i = 0; i < PROBE_BUCKETS; i++) {
		total += pr->hist[i];
		over += i >= 200 ? pr->hist[i] : 0; /* 2 us and more: the tail's target */
	}
	const double q[] = {0.5, 0.99, 0.999, 1.0};
	double v[4] = {0};
	int k = 0;
	for (int i = 0; i < PROBE_BUCKETS && k < 4; i++) {
		seen += pr->hist[i];
		while (k < 4 && total && (double)seen >= q[k] * (double)total)
			v[k++] = i * 10.0;
	}
	FILE *f = fopen(path, "w");
	if (!f)
		return;
	/* as many of the orders' windows as the machine alone would interrupt,
	 * at the rate it interrupted the idle messages of this run */
	double expect = pr->idle_ns > 0
			    ? (double)pr->idle_slow * (double)pr->window_ns / (double)pr->idle_ns
			    : 0;
	fprintf(f,
		"orders %llu  p50 %.0f ns  p99 %.0f ns  p99.9 %.0f ns  max %.0f ns  >=2us %llu%s  "
		"windows %.3f ms  idle %.3f ms, 2us+ %llu: expect %.1f\n",
		(unsigned long long)total, v[0], v[1], v[2], v[3], (unsigned long long)over,
		pr->hist[PROBE_BUCKETS - 1] ? " (max clipped at 1 ms)" : "",
		(double)pr->window_ns / 1e6, (double)pr->idle_ns / 1e6,
		(unsigned long long)pr->idle_slow, expect);
	fclose(f);
}

int engine_run_itch(struct engine *e, const struct tick_config *tc, char *err, size_t errlen)
{
	struct itch_reader rd;
	struct itch_msg m;
	struct book_event ev;
	long warnings = 0;
	if (setup(e, tc, err, errlen) != 0)
		return 2;
	if (itch_reader_open(&rd, tc->path, err, errlen) != 0)
		return 2;
	/* --preload: the day in anonymous 2 MB pages, when it takes at most a
	 * quarter of the machine's memory: no stall on a first touch of the file
	 * inside a tick (setup pays for it: up to seconds of page zeroing) */
	if (tc->preload) {
		long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
		if (pages > 0 && psize > 0 && itch_reader_load(&rd, (size_t)pages / 4 * (size_t)psize))
			log_msg(LOG_DEBUG, "itch", "%s: read into memory (%.0f MB)", tc->path,
				(double)rd.size / (1 << 20));
		else
			log_msg(LOG_WARN, "itch", "%s: --preload: left mapped (gzip, more than a "
						  "quarter of memory, or no memory for it)", tc->path);
	}
	int status = 0, rc;
	const char *probe = getenv("GANTRY_PROBE"), *trace = getenv("GANTRY_PROBE_TRACE");
	if (probe && *probe && !(e->probe = calloc(1, sizeof *e->probe)))
		return errf(err, errlen, "out of memory"), 2;
	struct tick_probe *pr = e->probe;
	if (pr && trace && *trace) {
		if (!(pr->trace = fopen(trace, "w")))
			return errf(err, errlen, "GANTRY_PROBE_TRACE=%s: %s", trace, strerror(errno)), 2;
		fputs("# order message total_ns, then ns in: decode venue books host strategy order; "
		      "then the start (CLOCK_MONOTONIC ns)\n",
		      pr->trace);
	}
	const int tracing = pr && pr->trace;
	engine_begin(e);
	struct book_ahead ahead; /* prefetch hints for the books (book_prefetch) */
	book_prefetch_start(e->books, &rd, &ahead);
	while (!e->failed) {
		if (pr) {
			int64_t t = mono_ns();
			if (pr->prev_idle) { /* the message before only passed the filter */
				pr->idle_ns += t - pr->t0;
				pr->idle_slow += t - pr->t0 >= 2000;
			}
			pr->t0 = t;
			pr->prev_idle = 0;
		}
		book_prefetch_step(e->books, &rd, &ahead); /* inside the probe's window: counted */
		rc = itch_reader_next(&rd, &m);
		if (tracing)
			engine_probe_mark(e, PROBE_DECODED);
		if (rc == 0)
			break;
		if (rc < 0 && rc != ITCH_ERR_TIME) {
			if (data_error(tc, &rd, rc, err, errlen, &warnings) != 0) {
				status = 2;
				break;
			}
			if (rc == ITCH_ERR_TRUNCATED || rc == ITCH_ERR_IO)
				break;
			continue;
		}
		if (rc == ITCH_ERR_TIME && data_error(tc, &rd, rc, err, errlen, &warnings) != 0) {
			status = 2;
			break;
		}
		int64_t now = e->date_ns + (int64_t)m.ts;
		if (now < e->now)
			now = e->now; /* lenient: time never goes back for the engine */
		int idle = 1;
		if (simbook_next_arrival(e->simbook) <= now) {
			idle = 0;
			e->now = now;
			simbook_arrivals(e->simbook, now);
			if (e->qn)
				engine_deliver(e);
		}
		if (tracing)
			engine_probe_mark(e, PROBE_ARRIVED);
		int brc = book_apply(e->books, &m, &ev);
		if (tracing) {
			engine_probe_mark(e, PROBE_BOOKED);
			pr->msg++;
		}
		if (brc < 0) {
			rd.err_offset = itch_reader_offset(&rd);
			snprintf(rd.err_text, sizeof rd.err_text, "%s",
				 brc == ITCH_ERR_UNKNOWN_REF ? "a reference to an order not in the book"
				 : brc == ITCH_ERR_DUP_REF   ? "an add of an order already in the book"
							     : "more shares than the order has");
			if (data_error(tc, &rd, brc, err, errlen, &warnings) != 0) {
				status = 2;
				break;
			}
		}
		e->events++;
		if (!ev.subscribed || ev.kind == BOOK_EV_NONE || ev.kind == BOOK_EV_DIRECTORY ||
		    ev.kind == BOOK_EV_INFO) {
			if (pr && idle && !ev.subscribed && brc >= 0)
				pr->prev_idle = 1;
			continue;
		}
		int sym = symbol_of(e, ev.locate);
		if (sym < 0)
			continue;
		if (e->cur != INT64_MIN && now / 1000000000 != e->cur / 1000000000)
			engine_record_equity(e, e->cur);
		e->cur = now;
		if (now >= e->next_timer)
			engine_fire_timers(e, now);
		e->now = now;
		simbook_on_event(e->simbook, &ev, now);
		if (e->qn)
			engine_deliver(e);
		mark(e, sym, ev.locate, &ev);
		if (engine_charts(e, sym) && (ev.top_changed || ev.has_trade))
			series_push(&e->prices[sym], now, e->last[sym].close);
		if (ev.top_changed || ev.has_trade) {
			if (tracing)
				engine_probe_mark(e, PROBE_CALLED);
			callbacks(e, sym, ev.locate, &ev);
		}
		oms_reserve(e->oms); /* between events: the next orders find their room */
	}
	itch_reader_close(&rd);
	if (pr)
		probe_report(pr, probe);
	if (warnings > 10)
		log_msg(LOG_WARN, "itch", "%s: %ld warnings in all", tc->path, warnings);
	int end = engine_end(e, status == 2, err, errlen);
	return status == 2 ? 2 : end;
}

int engine_depth(struct engine *e, int sym, int side, double (*out)[3], int n)
{
	if (!e->books) {
		struct top_of_book t;
		if (n < 1 || engine_top(e, sym, &t) != 0)
			return 0;
		out[0][0] = side ? t.ask : t.bid;
		out[0][1] = 0;
		out[0][2] = 0;
		return 1;
	}
	int loc = engine_locate(e, sym);
	if (loc <= 0)
		return 0;
	struct book_level_info lv[64];
	size_t k = book_depth(e->books, (uint16_t)loc, side ? BOOK_ASK : BOOK_BID, lv,
			      (size_t)(n < 64 ? n : 64));
	for (size_t i = 0; i < k; i++) {
		out[i][0] = lv[i].price / 1e4;
		out[i][1] = (double)lv[i].shares;
		out[i][2] = (double)lv[i].orders;
	}
	return (int)k;
}
