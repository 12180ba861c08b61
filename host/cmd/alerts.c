/*
 * alerts — the deploy config's alert rules (host/base/alert_rule.h),
 * evaluated on the host's loop every cfg->every seconds (0.25 by default).
 * Each rule has one instance per strategy (conditions of a strategy) or one
 * for the host (feed, venue, latency, reject rate); an instance fires once
 * when its condition becomes true (deduplicated while it stays true) and
 * sends a recovery notice when it clears. Actions: a log line, a webhook
 * POST, halt or flatten (the instance's strategy, the rule's, or all).
 *
 * The webhook is an async evhttp client: one delivery at a time in order,
 * each attempt with a timeout, a failure (no connection, a timeout, a
 * status >= 300) retried after 0.25 s, 0.5 s, 1 s ... (at most 8 s) up to
 * the configured retries; the queue is bounded (the oldest dropped, said in
 * the log). Nothing waits: trading goes on between attempts.
 */
#include <event2/http.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alert_rule.h"
#include "http-internal.h"
#include "jsonfmt.h"
#include "log.h"
#include "timefmt.h"

#define ALERT_RECENT 64
#define HOOK_QUEUE 64

struct instance {
	int firing;
	int64_t since; /* wall ns */
	double value;
};

struct window {
	/* one sample a second, for latency (histograms) or rejects (counts) */
	struct histo *h;
	long *n;
	int cap, len, head;
	int64_t last;
};

struct recent {
	int64_t time;
	int rule, strat; /* strat -1: the host */
	int firing;
	double value;
	char summary[200];
};

struct delivery {
	char *body;
	int attempts;
};

struct alerts {
	struct http_server *h;
	const struct alert_rule *rules;
	int nrules, nstrat;
	struct instance *inst; /* nrules x (nstrat + 1); the last column: the host */
	struct window *win;    /* per rule */
	long *fired;	       /* per rule */
	struct recent recent[ALERT_RECENT];
	int nrecent, recent_head;
	struct delivery queue[HOOK_QUEUE];
	int qhead, qlen, in_flight;
	struct evhttp_connection *conn; /* the delivery in flight's (frees itself when done) */
	struct event *retry;
	long delivered, failed_attempts, dropped;
};

static struct instance *inst_of(struct alerts *a, int rule, int strat)
{
	return &a->inst[rule * (a->nstrat + 1) + (strat < 0 ? a->nstrat : strat)];
}

static const char *strat_name(struct alerts *a, int i)
{
	if (i < 0)
		return "";
	struct strategy_view v;
	engine_describe(engine_strategy(a->h->e, i), &v);
	return v.name;
}

/* ------------------------------------------------------------ webhook */

static void deliver_next(struct alerts *a);

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	deliver_next(arg);
}

static void on_hook_done(struct evhttp_request *req, void *arg)
{
	struct alerts *a = arg;
	int code = req ? evhttp_request_get_response_code(req) : 0;
	a->in_flight = 0;
	a->conn = NULL;
	struct delivery *d = &a->queue[a->qhead];
	if (a->qlen == 0)
		return;
	if (code >= 200 && code < 300) {
		a->delivered++;
		free(d->body);
		d->body = NULL;
		a->qhead = (a->qhead + 1) % HOOK_QUEUE;
		a->qlen--;
		if (a->qlen)
			event_active(a->retry, EV_TIMEOUT, 0);
		return;
	}
	a->failed_attempts++;
	d->attempts++;
	const struct alert_webhook *w = &a->h->cfg->hook;
	if (d->attempts > w->retries) {
		log_msg(LOG_ERROR, "alert", "webhook %s: gave up after %d attempts (last: %s)", w->url,
			d->attempts, code ? "an error status" : "no answer");
		free(d->body);
		d->body = NULL;
		a->qhead = (a->qhead + 1) % HOOK_QUEUE;
		a->qlen--;
		if (a->qlen)
			event_active(a->retry, EV_TIMEOUT, 0);
		return;
	}
	double wait = 0.25 * (double)(1 << (d->attempts - 1 < 5 ? d->attempts - 1 : 5));
	log_msg(LOG_WARN, "alert", "webhook %s: %s%.0d; retry %d of %d in %.2f s", w->url,
		code ? "status " : "no answer", code, d->attempts, w->retries, wait);
	struct timeval tv = {(time_t)wait, (suseconds_t)((wait - (time_t)wait) * 1e6)};
	evtimer_add(a->retry, &tv);
}

static void deliver_next(struct alerts *a)
{
	if (a->in_flight || a->qlen == 0)
		return;
	const struct alert_webhook *w = &a->h->cfg->hook;
	struct delivery *d = &a->queue[a->qhead];
	struct evhttp_connection *c = evhttp_connection_base_new(a->h->base, NULL, w->host,
								 (ev_uint16_t)w->port);
	struct evhttp_request *req = c ? evhttp_request_new(on_hook_done, a) : NULL;
	if (!req) {
		if (c)
			evhttp_connection_free(c);
		struct timeval tv = {1, 0};
		evtimer_add(a->retry, &tv);
		return;
	}
	struct timeval to = {(time_t)w->timeout_s,
			     (suseconds_t)((w->timeout_s - (time_t)w->timeout_s) * 1e6)};
	evhttp_connection_set_timeout_tv(c, &to);
	evhttp_connection_free_on_completion(c);
	struct evkeyvalq *hd = evhttp_request_get_output_headers(req);
	char host[300];
	snprintf(host, sizeof host, w->port == 80 ? "%s" : "%s:%d", w->host, w->port);
	evhttp_add_header(hd, "Host", host);
	evhttp_add_header(hd, "Content-Type", "application/json");
	evhttp_add_header(hd, "Connection", "close");
	evbuffer_add(evhttp_request_get_output_buffer(req), d->body, strlen(d->body));
	a->in_flight = 1;
	a->conn = c;
	if (evhttp_make_request(c, req, EVHTTP_REQ_POST, w->path) != 0) {
		/* the request was freed by evhttp_make_request on failure */
		a->in_flight = 0;
		a->conn = NULL;
		evhttp_connection_free(c);
		struct timeval tv = {1, 0};
		evtimer_add(a->retry, &tv);
	}
}

static void enqueue(struct alerts *a, char *body)
{
	if (a->qlen == HOOK_QUEUE) { /* the oldest goes: a stuck sink must not grow memory */
		struct delivery *old = &a->queue[a->qhead];
		if (!a->in_flight) {
			free(old->body);
			a->qhead = (a->qhead + 1) % HOOK_QUEUE;
			a->qlen--;
			a->dropped++;
			log_msg(LOG_ERROR, "alert", "webhook queue full: dropped the oldest notice");
		} else {
			free(body);
			a->dropped++;
			return;
		}
	}
	struct delivery *d = &a->queue[(a->qhead + a->qlen) % HOOK_QUEUE];
	d->body = body;
	d->attempts = 0;
	a->qlen++;
	deliver_next(a);
}

/* ------------------------------------------------------------ firing */

static void summary(struct alerts *a, const struct alert_rule *r, int strat, double v, char *buf,
		    size_t n)
{
	const char *s = strat >= 0 ? strat_name(a, strat) : r->strategy;
	snprintf(buf, n, "%s%s%s: %s %.6g over %.6g", r->name, *s ? " " : "", s,
		 alert_when_name(r->when), v, r->over);
	if (r->when == ALERT_VENUE_DOWN || r->when == ALERT_HALTED || r->when == ALERT_MARKET_HALT)
		snprintf(buf, n, "%s%s%s: %s", r->name, *s ? " " : "", s, alert_when_name(r->when));
}

static void act(struct alerts *a, const struct alert_rule *r, int strat)
{
	if (!(r->actions & (ACT_HALT | ACT_FLATTEN)) || !engine_oms(a->h->e))
		return;
	char why[128];
	snprintf(why, sizeof why, "alert %s", r->name);
	for (int i = 0; i < a->nstrat; i++) {
		if (strat >= 0 && i != strat)
			continue;
		if (strat < 0 && *r->strategy && strcmp(strat_name(a, i), r->strategy) != 0)
			continue;
		struct strategy *s = engine_strategy(a->h->e, i);
		if (r->actions & ACT_HALT)
			engine_halt(s, why);
		if (r->actions & ACT_FLATTEN)
			engine_flatten(s);
	}
}

static void notify(struct alerts *a, int rule, int strat, int firing, double v)
{
	const struct alert_rule *r = &a->rules[rule];
	char sum[200], iso[TIME_ISO_LEN + 1];
	summary(a, r, strat, v, sum, sizeof sum);
	time_format_iso(clock_wall_ns(), iso);
	struct recent *rc = &a->recent[(a->recent_head + a->nrecent) % ALERT_RECENT];
	if (a->nrecent == ALERT_RECENT)
		a->recent_head = (a->recent_head + 1) % ALERT_RECENT;
	else
		a->nrecent++;
	*rc = (struct recent){clock_wall_ns(), rule, strat, firing, v, ""};
	snprintf(rc->summary, sizeof rc->summary, "%s", sum);
	if (firing)
		a->fired[rule]++;
	if (r->actions & ACT_LOG)
		log_msg(firing && r->severity == SEV_CRITICAL ? LOG_ERROR : LOG_WARN, "alert", "%s %s: %s",
			firing ? "FIRING" : "resolved", alert_severity_name(r->severity), sum);
	if (r->actions & ACT_WEBHOOK && a->h->cfg->hook.url[0]) {
		const char *s = strat >= 0 ? strat_name(a, strat) : r->strategy;
		struct alert_fields f = {r->name, alert_severity_name(r->severity),
					 firing ? "firing" : "resolved", sum, s,
					 alert_when_name(r->when), iso, v, r->over};
		const char *t = a->h->cfg->hook.template_text ? a->h->cfg->hook.template_text
							      : ALERT_DEFAULT_TEMPLATE;
		size_t cap = strlen(t) * 2 + 2048;
		char *body = malloc(cap);
		if (body) {
			alert_render(t, &f, body, cap);
			enqueue(a, body);
		}
	}
	if (firing)
		act(a, r, strat);
}

static void update(struct alerts *a, int rule, int strat, int cond, double v)
{
	struct instance *in = inst_of(a, rule, strat);
	in->value = v;
	if (cond && !in->firing) {
		in->firing = 1;
		in->since = clock_wall_ns();
		notify(a, rule, strat, 1, v);
	} else if (!cond && in->firing) {
		in->firing = 0;
		notify(a, rule, strat, 0, v);
	}
}

/* ------------------------------------------------------------ windows */

static long rejects_of(struct alerts *a, const struct alert_rule *r)
{
	long n = 0;
	struct oms *oms = engine_oms(a->h->e);
	for (int i = 0; oms && i < a->nstrat; i++)
		if (!*r->strategy || !strcmp(strat_name(a, i), r->strategy))
			n += oms_account(oms, i)->rejects;
	return n;
}

/* Pushes this second's sample (at most one a second); returns the oldest
 * sample's index within the window, or -1 when empty. */
static int window_push(struct alerts *a, struct window *w, const struct alert_rule *r)
{
	int64_t now = clock_mono_ns();
	if (w->len && now - w->last < 1000000000LL)
		return w->head;
	w->last = now;
	int at = (w->head + w->len) % w->cap;
	if (w->len == w->cap)
		w->head = (w->head + 1) % w->cap;
	else
		w->len++;
	if (w->h)
		http_merged_histo(a->h, r->of_callback, r->strategy, &w->h[at]);
	else
		w->n[at] = rejects_of(a, r);
	return w->head;
}

/* ------------------------------------------------------------ rules */

static int strat_selected(struct alerts *a, const struct alert_rule *r, int i)
{
	return !*r->strategy || !strcmp(strat_name(a, i), r->strategy);
}

static void eval_rule(struct alerts *a, int k)
{
	const struct alert_rule *r = &a->rules[k];
	struct http_server *h = a->h;
	struct oms *oms = engine_oms(h->e);
	switch (r->when) {
	case ALERT_LATENCY_P99: {
		struct window *w = &a->win[k];
		int old = window_push(a, w, r);
		struct histo now, d;
		http_merged_histo(h, r->of_callback, r->strategy, &now);
		histo_diff(&now, &w->h[old], &d);
		double p99 = histo_quantile(&d, 0.99);
		update(a, k, -1, p99 > r->over, isfinite(p99) ? p99 : 1e9);
		break;
	}
	case ALERT_REJECT_RATE: {
		struct window *w = &a->win[k];
		int old = window_push(a, w, r);
		double span = (double)(w->len - 1);
		double rate = span >= 1 ? (double)(rejects_of(a, r) - w->n[old]) / span : 0;
		update(a, k, -1, rate > r->over, rate);
		break;
	}
	case ALERT_FEED_STALE: {
		double age = http_event_age(h);
		struct venue_status st;
		engine_venue_status(h->e, &st);
		int open = !(h->feed_done && *h->feed_done) && st.state == VENUE_UP;
		update(a, k, -1, open && age > r->over, age);
		break;
	}
	case ALERT_VENUE_DOWN: {
		struct venue_status st;
		engine_venue_status(h->e, &st);
		update(a, k, -1, st.state != VENUE_UP, st.state != VENUE_UP);
		break;
	}
	default:
		for (int i = 0; oms && i < a->nstrat; i++) {
			if (!strat_selected(a, r, i))
				continue;
			struct strategy_view v;
			engine_describe(engine_strategy(h->e, i), &v);
			double val = 0;
			int cond = 0;
			if (r->when == ALERT_DRAWDOWN) {
				val = http_drawdown(h, i);
				cond = val > r->over;
			} else if (r->when == ALERT_LOSS) {
				val = -oms_pnl(oms, i, -1);
				cond = val > r->over;
			} else if (r->when == ALERT_HALTED) {
				cond = v.state != STRAT_RUNNING;
				val = v.state;
			} else if (r->when == ALERT_MEMORY) {
				size_t cap = engine_memory_limit(h->e);
				val = cap ? (double)v.memory / (double)cap : 0;
				cond = cap && val > r->over;
			} else if (r->when == ALERT_MARKET_HALT) {
				const struct account *ac = oms_account(oms, i);
				for (int s = 0; s < ac->nheld && !cond; s++)
					cond = !engine_symbol_trading(h->e, ac->held[s]);
				for (int s = 0; s < oms_open_count(oms, i) && !cond; s++)
					cond = !engine_symbol_trading(h->e, oms_open_at(oms, i, s)->sym);
				val = cond;
			}
			update(a, k, i, cond, val);
		}
	}
}

void alerts_eval(struct alerts *a)
{
	for (int k = 0; k < a->nrules; k++)
		eval_rule(a, k);
}

/* ------------------------------------------------------------ reports */

void alerts_json(struct alerts *a, struct evbuffer *out)
{
	char iso[TIME_ISO_LEN + 1];
	evbuffer_add_printf(out, "{\"ok\": true, \"webhook\": {\"delivered\": %ld, \"failed_attempts\": "
				 "%ld, \"queued\": %d, \"dropped\": %ld}, \"rules\": [",
			    a->delivered, a->failed_attempts, a->qlen, a->dropped);
	for (int k = 0; k < a->nrules; k++) {
		const struct alert_rule *r = &a->rules[k];
		evbuffer_add_printf(out, "%s{\"name\": ", k ? ", " : "");
		json_quote(r->name, http_evbuffer_sink, out);
		evbuffer_add_printf(out, ", \"when\": \"%s\", \"severity\": \"%s\", \"over\": %.10g, "
					 "\"fired\": %ld}",
				    alert_when_name(r->when), alert_severity_name(r->severity), r->over,
				    a->fired[k]);
	}
	evbuffer_add_printf(out, "], \"active\": [");
	int first = 1;
	for (int k = 0; k < a->nrules; k++)
		for (int i = -1; i < a->nstrat; i++) {
			struct instance *in = inst_of(a, k, i);
			if (!in->firing)
				continue;
			char sum[200];
			summary(a, &a->rules[k], i, in->value, sum, sizeof sum);
			time_format_iso(in->since, iso);
			evbuffer_add_printf(out, "%s{\"rule\": ", first ? "" : ", ");
			json_quote(a->rules[k].name, http_evbuffer_sink, out);
			evbuffer_add_printf(out, ", \"strategy\": ");
			json_quote(strat_name(a, i), http_evbuffer_sink, out);
			evbuffer_add_printf(out, ", \"severity\": \"%s\", \"since\": \"%s\", "
						 "\"value\": %.10g, \"summary\": ",
					    alert_severity_name(a->rules[k].severity), iso, in->value);
			json_quote(sum, http_evbuffer_sink, out);
			evbuffer_add_printf(out, "}");
			first = 0;
		}
	evbuffer_add_printf(out, "], \"recent\": [");
	for (int j = a->nrecent - 1; j >= 0; j--) { /* newest first */
		struct recent *rc = &a->recent[(a->recent_head + j) % ALERT_RECENT];
		time_format_iso(rc->time, iso);
		evbuffer_add_printf(out, "%s{\"time\": \"%s\", \"rule\": ", j == a->nrecent - 1 ? "" : ", ",
				    iso);
		json_quote(a->rules[rc->rule].name, http_evbuffer_sink, out);
		evbuffer_add_printf(out, ", \"status\": \"%s\", \"severity\": \"%s\", \"summary\": ",
				    rc->firing ? "firing" : "resolved",
				    alert_severity_name(a->rules[rc->rule].severity));
		json_quote(rc->summary, http_evbuffer_sink, out);
		evbuffer_add_printf(out, "}");
	}
	evbuffer_add_printf(out, "]}\n");
}

void alerts_prom(struct alerts *a, struct evbuffer *out, int counts)
{
	for (int k = 0; k < a->nrules; k++) {
		char name[200], labels[300];
		size_t n = 0; /* the label value escaped (promtext's rule; names have no newline) */
		for (const char *c = a->rules[k].name; *c && n + 3 < sizeof name; c++) {
			if (*c == '"' || *c == '\\')
				name[n++] = '\\';
			name[n++] = *c;
		}
		name[n] = '\0';
		if (counts) {
			snprintf(labels, sizeof labels, "gantry_alerts_total{rule=\"%s\"} %ld\n", name,
				 a->fired[k]);
		} else {
			int firing = 0;
			for (int i = -1; i < a->nstrat; i++)
				firing |= inst_of(a, k, i)->firing;
			snprintf(labels, sizeof labels, "gantry_alert_firing{rule=\"%s\",severity=\"%s\"} "
							 "%d\n",
				 name, alert_severity_name(a->rules[k].severity), firing);
		}
		evbuffer_add(out, labels, strlen(labels));
	}
}

/* ------------------------------------------------------------ life */

struct alerts *alerts_new(struct http_server *h, char *err, size_t errlen)
{
	struct alerts *a = calloc(1, sizeof *a);
	if (!a) {
		errf(err, errlen, "out of memory");
		return NULL;
	}
	a->h = h;
	a->rules = h->cfg->rules;
	a->nrules = h->cfg->nrules;
	a->nstrat = engine_nstrat(h->e);
	a->inst = calloc((size_t)a->nrules * (size_t)(a->nstrat + 1), sizeof *a->inst);
	a->win = calloc((size_t)a->nrules, sizeof *a->win);
	a->fired = calloc((size_t)a->nrules, sizeof *a->fired);
	a->retry = evtimer_new(h->base, retry_cb, a);
	int ok = a->inst && a->win && a->fired && a->retry;
	for (int k = 0; ok && k < a->nrules; k++) {
		const struct alert_rule *r = &a->rules[k];
		if (*r->strategy && !engine_find(h->e, r->strategy)) {
			errf(err, errlen, "alerts: rule %s: no strategy named '%s'", r->name, r->strategy);
			alerts_free(a);
			return NULL;
		}
		struct window *w = &a->win[k];
		w->cap = (int)r->window + 1;
		if (r->when == ALERT_LATENCY_P99)
			ok = (w->h = calloc((size_t)w->cap, sizeof *w->h)) != NULL;
		else if (r->when == ALERT_REJECT_RATE)
			ok = (w->n = calloc((size_t)w->cap, sizeof *w->n)) != NULL;
	}
	if (!ok) {
		errf(err, errlen, "out of memory");
		alerts_free(a);
		return NULL;
	}
	log_msg(LOG_INFO, "alert", "%d rule%s, evaluated every %.2f s%s%s", a->nrules,
		a->nrules == 1 ? "" : "s", h->cfg->every, h->cfg->hook.url[0] ? "; webhook " : "",
		h->cfg->hook.url);
	return a;
}

void alerts_free(struct alerts *a)
{
	if (!a)
		return;
	for (int k = 0; a->win && k < a->nrules; k++) {
		free(a->win[k].h);
		free(a->win[k].n);
	}
	if (a->conn) /* a delivery still under way at exit: dropped, its request with it */
		evhttp_connection_free(a->conn);
	for (int i = 0; i < HOOK_QUEUE; i++)
		free(a->queue[i].body);
	if (a->retry)
		event_free(a->retry);
	free(a->inst);
	free(a->win);
	free(a->fired);
	free(a);
}
