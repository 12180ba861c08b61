/*
 * prom — /metrics: the Prometheus text format 0.0.4 from the engine's live
 * counters (stats.h), the book of record and the alert rules. One row of
 * the table below is one metric: its name, type, help and the function
 * that writes its samples; adding a metric is adding a row (and its
 * function). Names follow Prometheus' rules: a gantry_ prefix, base units
 * (seconds, bytes, ratios), _total on counters.
 *
 * Feed lag is the last event's age while no feed gives an exchange stamp to
 * compare. The journal's lag (0 without a journal: nothing waits) is what a
 * crash now would lose under the group-commit policy.
 */
#include <math.h>
#include <string.h>

#include "http-internal.h"
#include "journal_rec.h"
#include "promtext.h"
#include "version.h"

#define SINK http_evbuffer_sink

struct metric_desc {
	const char *name, *type, *help;
	void (*emit)(struct http_server *h, const char *name, struct evbuffer *out);
};

struct fixed {
	char *p;
	size_t n, cap;
};

static void to_fixed(void *ud, const char *p, size_t n)
{
	struct fixed *f = ud;
	if (f->n + n < f->cap) {
		memcpy(f->p + f->n, p, n);
		f->n += n;
	}
	f->p[f->n] = '\0';
}

/* s escaped as a label value into buf (cut short when too long). */
static const char *escaped(const char *s, char *buf, size_t n)
{
	struct fixed f = {buf, 0, n};
	buf[0] = '\0';
	prom_escape(s, to_fixed, &f);
	return buf;
}

/* `strategy="NAME"` (escaped) into buf. */
static const char *strat_label(struct http_server *h, int i, char *buf, size_t n)
{
	struct strategy_view v;
	char e[160];
	engine_describe(engine_strategy(h->e, i), &v);
	snprintf(buf, n, "strategy=\"%s\"", escaped(v.name, e, sizeof e));
	return buf;
}

static void sym_label(struct http_server *h, int i, int sym, char *buf, size_t n)
{
	char sl[300], e[160];
	snprintf(buf, n, "%s,symbol=\"%s\"", strat_label(h, i, sl, sizeof sl),
		 escaped(symtab_name(engine_symtab(h->e), sym), e, sizeof e));
}

/* One sample a strategy, from f(h, i). */
static void per_strategy(struct http_server *h, const char *name, struct evbuffer *out,
			 double (*f)(struct http_server *h, int i))
{
	char l[300];
	for (int i = 0; engine_oms(h->e) && i < engine_nstrat(h->e); i++)
		prom_sample(name, strat_label(h, i, l, sizeof l), f(h, i), SINK, out);
}

static const struct account *acct(struct http_server *h, int i)
{
	return oms_account(engine_oms(h->e), i);
}

static double f_events(struct http_server *h, int i)
{
	return (double)engine_strat_stats(engine_strategy(h->e, i))->events;
}
static double f_orders(struct http_server *h, int i) { return (double)acct(h, i)->orders; }
static double f_fills(struct http_server *h, int i) { return (double)acct(h, i)->fills; }
static double f_rejects(struct http_server *h, int i) { return (double)acct(h, i)->rejects; }
static double f_open(struct http_server *h, int i)
{
	return (double)oms_open_count(engine_oms(h->e), i);
}
static double f_equity(struct http_server *h, int i) { return oms_equity(engine_oms(h->e), i); }
static double f_cash(struct http_server *h, int i) { return acct(h, i)->cash; }
static double f_pnl(struct http_server *h, int i) { return oms_pnl(engine_oms(h->e), i, -1); }
static double f_dd(struct http_server *h, int i) { return http_drawdown(h, i); }
static double f_exposure(struct http_server *h, int i) { return http_exposure(h, i); }
static double f_halts(struct http_server *h, int i)
{
	return (double)engine_strat_stats(engine_strategy(h->e, i))->halts;
}
static double f_reloads(struct http_server *h, int i)
{
	return (double)engine_strat_stats(engine_strategy(h->e, i))->reloads;
}
static double f_memory(struct http_server *h, int i)
{
	struct strategy_view v;
	engine_describe(engine_strategy(h->e, i), &v);
	return (double)v.memory;
}

double http_drawdown(struct http_server *h, int i)
{
	double eq = oms_equity(engine_oms(h->e), i);
	if (i < ENGINE_MAX_STRATEGIES && eq > h->peak[i])
		h->peak[i] = eq;
	double peak = i < ENGINE_MAX_STRATEGIES ? h->peak[i] : eq;
	return peak > 0 && eq < peak ? (peak - eq) / peak : 0;
}

double http_exposure(struct http_server *h, int i)
{
	struct oms *oms = engine_oms(h->e);
	const struct account *a = oms_account(oms, i);
	double x = 0;
	for (int k = 0; k < a->nheld; k++) {
		double m = oms_mark_of(oms, a->held[k]);
		if (isfinite(m))
			x += fabs(oms_position(oms, i, a->held[k])->qty * m);
	}
	return x;
}

/* No clock on the hot path for this: the event count is watched from the
 * server's timer (every 0.25 s) and at each scrape; its age is how long the
 * count has not moved (to within that period). */
double http_event_age(struct http_server *h)
{
	int64_t now = clock_mono_ns();
	long ev = engine_events(h->e);
	if (ev != h->seen_events) {
		h->seen_events = ev;
		h->events_moved = now;
	}
	return (double)(now - h->events_moved) / 1e9;
}

void http_merged_histo(struct http_server *h, int callback, const char *name, struct histo *out)
{
	memset(out, 0, sizeof *out);
	for (int i = 0; i < engine_nstrat(h->e); i++) {
		struct strategy *s = engine_strategy(h->e, i);
		if (*name) {
			struct strategy_view v;
			engine_describe(s, &v);
			if (strcmp(v.name, name) != 0)
				continue;
		}
		const struct strat_stats *st = engine_strat_stats(s);
		histo_merge(out, callback ? &st->callback : &st->tick_to_order);
	}
}

/* ------------------------------------------------------------ emitters */

static void m_info(struct http_server *h, const char *name, struct evbuffer *out)
{
	char l[256];
	snprintf(l, sizeof l, "version=\"%s\",venue=\"%s\"", GANTRY_VERSION,
		 engine_venue_kind(h->e));
	prom_sample(name, l, 1, SINK, out);
}

static void m_strategy_info(struct http_server *h, const char *name, struct evbuffer *out)
{
	char l[400], sl[300];
	for (int i = 0; i < engine_nstrat(h->e); i++) {
		struct strategy_view v;
		engine_describe(engine_strategy(h->e, i), &v);
		snprintf(l, sizeof l, "%s,version=\"%d\",hash=\"%016llx\"",
			 strat_label(h, i, sl, sizeof sl), v.version, (unsigned long long)v.hash);
		prom_sample(name, l, 1, SINK, out);
	}
}

static void m_state(struct http_server *h, const char *name, struct evbuffer *out)
{
	static const char *const states[] = {"running", "halted", "quarantined"};
	char l[400], sl[300];
	for (int i = 0; i < engine_nstrat(h->e); i++) {
		struct strategy_view v;
		engine_describe(engine_strategy(h->e, i), &v);
		for (int k = 0; k < 3; k++) {
			snprintf(l, sizeof l, "%s,state=\"%s\"", strat_label(h, i, sl, sizeof sl),
				 states[k]);
			prom_sample(name, l, v.state == k, SINK, out);
		}
	}
}

static void m_events(struct http_server *h, const char *name, struct evbuffer *out)
{
	prom_sample(name, "", (double)engine_events(h->e), SINK, out);
}
static void m_strat_events(struct http_server *h, const char *n, struct evbuffer *o)
{
	per_strategy(h, n, o, f_events);
}
static void m_orders(struct http_server *h, const char *n, struct evbuffer *o)
{
	per_strategy(h, n, o, f_orders);
}
static void m_fills(struct http_server *h, const char *n, struct evbuffer *o)
{
	per_strategy(h, n, o, f_fills);
}
static void m_strat_rejects(struct http_server *h, const char *n, struct evbuffer *o)
{
	per_strategy(h, n, o, f_rejects);
}
static void m_open(struct http_server *h, const char *n, struct evbuffer *o)
{
	per_strategy(h, n, o, f_open);
}
static void m_equity(struct http_server *h, const char *n, struct evbuffer *o)
{
	per_strategy(h, n, o, f_equity);
}
static void m_cash(struct http_server *h, const char *n, struct evbuffer *o)
{
	per_strategy(h, n, o, f_cash);
}
static void m_pnl(struct http_server *h, const char *n, struct evbuffer *o)
{
	per_strategy(h, n, o, f_pnl);
}
static void m_dd(struct http_server *h, const char *n, struct evbuffer *o)
{
	per_strategy(h, n, o, f_dd);
}
static void m_exposure(struct http_server *h, const char *n, struct evbuffer *o)
{
	per_strategy(h, n, o, f_exposure);
}
static void m_halts(struct http_server *h, const char *n, struct evbuffer *o)
{
	per_strategy(h, n, o, f_halts);
}
static void m_reloads(struct http_server *h, const char *n, struct evbuffer *o)
{
	per_strategy(h, n, o, f_reloads);
}
static void m_memory(struct http_server *h, const char *n, struct evbuffer *o)
{
	per_strategy(h, n, o, f_memory);
}

static void m_memory_limit(struct http_server *h, const char *name, struct evbuffer *out)
{
	prom_sample(name, "", (double)engine_memory_limit(h->e), SINK, out);
}

static void m_rejects(struct http_server *h, const char *name, struct evbuffer *out)
{
	char l[96];
	for (int r = 1; r < RISK_REASON_COUNT; r++) {
		snprintf(l, sizeof l, "reason=\"%s\"", risk_reason_name((enum risk_reason)r));
		prom_sample(name, l, (double)engine_rejects(h->e, (enum risk_reason)r), SINK, out);
	}
}

static void m_positions(struct http_server *h, const char *name, struct evbuffer *out)
{
	struct oms *oms = engine_oms(h->e);
	char l[512];
	for (int i = 0; oms && i < engine_nstrat(h->e); i++) {
		const struct account *a = oms_account(oms, i);
		for (int k = 0; k < a->nheld; k++) {
			sym_label(h, i, a->held[k], l, sizeof l);
			prom_sample(name, l, oms_position(oms, i, a->held[k])->qty, SINK, out);
		}
	}
}

static void histos(struct http_server *h, const char *name, struct evbuffer *out, int callback)
{
	char l[300];
	for (int i = 0; i < engine_nstrat(h->e); i++) {
		const struct strat_stats *st = engine_strat_stats(engine_strategy(h->e, i));
		prom_histo(name, strat_label(h, i, l, sizeof l),
			   callback ? &st->callback : &st->tick_to_order, SINK, out);
	}
}
static void m_callback(struct http_server *h, const char *n, struct evbuffer *o)
{
	histos(h, n, o, 1);
}
static void m_t2o(struct http_server *h, const char *n, struct evbuffer *o)
{
	histos(h, n, o, 0);
}

static void m_age(struct http_server *h, const char *name, struct evbuffer *out)
{
	prom_sample(name, "", http_event_age(h), SINK, out);
}

static void m_journal_lag(struct http_server *h, const char *name, struct evbuffer *out)
{
	prom_sample(name, "", (double)jrec_lag_ns(h->e) / 1e9, SINK, out);
}

static void m_journal_lag_bytes(struct http_server *h, const char *name, struct evbuffer *out)
{
	prom_sample(name, "", (double)jrec_lag_bytes(h->e), SINK, out);
}

static void m_feed_open(struct http_server *h, const char *name, struct evbuffer *out)
{
	prom_sample(name, "", h->feed_done && *h->feed_done ? 0 : 1, SINK, out);
}

static void m_venue(struct http_server *h, const char *name, struct evbuffer *out)
{
	struct venue_status st;
	engine_venue_status(h->e, &st);
	prom_sample(name, "", st.state == VENUE_UP, SINK, out);
}

static void m_alerts_firing(struct http_server *h, const char *name, struct evbuffer *out)
{
	(void)name;
	if (h->alerts)
		alerts_prom(h->alerts, out, 0);
}

static void m_alerts_total(struct http_server *h, const char *name, struct evbuffer *out)
{
	(void)name;
	if (h->alerts)
		alerts_prom(h->alerts, out, 1);
}

static void m_requests(struct http_server *h, const char *name, struct evbuffer *out)
{
	static const char *const cls[] = {"2xx", "3xx", "4xx", "5xx", "401", "429"};
	char l[32];
	for (int i = 0; i < 6; i++) {
		snprintf(l, sizeof l, "code=\"%s\"", cls[i]);
		prom_sample(name, l, (double)h->requests[i], SINK, out);
	}
}

static void m_uptime(struct http_server *h, const char *name, struct evbuffer *out)
{
	prom_sample(name, "", (double)h->started / 1e9, SINK, out);
}

static const struct metric_desc metrics[] = {
	{"gantry_build_info", "gauge", "The host's version and venue (always 1).", m_info},
	{"gantry_start_time_seconds", "gauge", "When the host started, Unix time.", m_uptime},
	{"gantry_strategy_info", "gauge", "A strategy's running version and source hash (always 1).",
	 m_strategy_info},
	{"gantry_strategy_state", "gauge", "1 for the strategy's state: running, halted or "
					   "quarantined.", m_state},
	{"gantry_events_total", "counter", "Market events the host dispatched.", m_events},
	{"gantry_strategy_events_total", "counter", "Market-data callbacks delivered, by strategy.",
	 m_strat_events},
	{"gantry_orders_total", "counter", "Orders placed (rejected ones too), by strategy.",
	 m_orders},
	{"gantry_fills_total", "counter", "Fills, by strategy.", m_fills},
	{"gantry_strategy_rejects_total", "counter", "Orders refused, by strategy.", m_strat_rejects},
	{"gantry_rejects_total", "counter", "Orders refused by risk, by reason.", m_rejects},
	{"gantry_open_orders", "gauge", "Working orders, by strategy.", m_open},
	{"gantry_position", "gauge", "Signed position in units, by strategy and symbol.",
	 m_positions},
	{"gantry_exposure_gross", "gauge", "Sum of |position x mark|, by strategy (account currency).",
	 m_exposure},
	{"gantry_equity", "gauge", "Equity at the marks, by strategy (account currency).", m_equity},
	{"gantry_cash", "gauge", "Cash, by strategy (account currency).", m_cash},
	{"gantry_pnl", "gauge", "Profit and loss since the start, by strategy (account currency).",
	 m_pnl},
	{"gantry_drawdown_ratio", "gauge", "Fall of equity from its peak (0.05 = 5 %), by strategy.",
	 m_dd},
	{"gantry_callback_duration_seconds", "histogram",
	 "Time in a strategy's market-data callbacks.", m_callback},
	{"gantry_tick_to_order_seconds", "histogram",
	 "From a market event's dispatch to the order it caused handed to the venue.", m_t2o},
	{"gantry_feed_last_event_age_seconds", "gauge", "Wall time since the last market event.",
	 m_age},
	{"gantry_feed_lag_seconds", "gauge", "Feed lag: the last event's age until a feed gives an "
					     "exchange stamp.", m_age},
	{"gantry_feed_open", "gauge", "1 while the feed is open (0 once it has ended).", m_feed_open},
	{"gantry_venue_up", "gauge", "1 while the venue's session is up.", m_venue},
	{"gantry_halts_total", "counter", "Times a strategy was halted, by strategy.", m_halts},
	{"gantry_reloads_total", "counter", "Hot reloads that succeeded, by strategy.", m_reloads},
	{"gantry_sandbox_memory_bytes", "gauge", "Memory a strategy's Lua state holds.", m_memory},
	{"gantry_sandbox_memory_limit_bytes", "gauge", "The sandbox memory cap (0: none).",
	 m_memory_limit},
	{"gantry_alert_firing", "gauge", "1 while an alert rule's condition holds, by rule.",
	 m_alerts_firing},
	{"gantry_alerts_total", "counter", "Times an alert rule fired, by rule.", m_alerts_total},
	{"gantry_http_requests_total", "counter", "HTTP requests answered, by status class.",
	 m_requests},
	{"gantry_journal_lag_seconds", "gauge",
	 "Age of the oldest journal record not yet synced to disk (0: none waits).", m_journal_lag},
	{"gantry_journal_lag_bytes", "gauge", "Journal bytes written but not yet synced to disk.",
	 m_journal_lag_bytes},
};

void prom_write(struct http_server *h, struct evbuffer *out)
{
	for (size_t i = 0; i < sizeof metrics / sizeof metrics[0]; i++) {
		prom_header(metrics[i].name, metrics[i].type, metrics[i].help, SINK, out);
		metrics[i].emit(h, metrics[i].name, out);
	}
}
