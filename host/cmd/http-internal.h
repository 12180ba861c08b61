/*
 * http-internal — the server's state, shared by http.c (server, API,
 * history), prom.c (/metrics) and alerts.c (rules, webhook). Loop thread only.
 */
#ifndef GANTRY_HTTP_INTERNAL_H
#define GANTRY_HTTP_INTERNAL_H

#include <event2/buffer.h>
#include <event2/http.h>
#include <stdio.h>

#include "http.h"
#include "stats.h"
#include "tokens.h"

struct alerts;

struct http_server {
	struct event_base *base;
	struct engine *e;
	struct ctl_hooks hooks;
	const struct http_config *cfg;
	const int *feed_done;
	struct evhttp *http;
	void *ssl_ctx; /* SSL_CTX *, NULL: plain */
	struct token_set tokens;
	FILE *audit;
	char *page; /* the dashboard, read at start; NULL: none found */
	size_t page_len;
	double bucket; /* rate limit: requests allowed now */
	int64_t bucket_t;
	long requests[6]; /* by class: 2xx 3xx 4xx 5xx, 401, 429 */
	int64_t started; /* wall ns */
	long seen_events;	 /* engine_events when last looked at */
	int64_t events_moved; /* mono ns when that count was first seen: the last event's age */
	/* equity peaks and the status history, one snapshot a second */
	double peak[ENGINE_MAX_STRATEGIES];
	int hist_cap, hist_n, hist_head, nstrat;
	int64_t *h_time;
	long *h_events;
	double *h_eq, *h_pnl; /* hist_cap x nstrat */
	int64_t last_snap;
	struct event *tick;
	struct alerts *alerts;
};

/* prom.c: the whole /metrics page. */
void prom_write(struct http_server *h, struct evbuffer *out);
/* prom.c: a strategy's drawdown from its peak (a fraction), its gross exposure. */
double http_drawdown(struct http_server *h, int i);
double http_exposure(struct http_server *h, int i);
/* prom.c: every strategy's histogram merged (callback or tick-to-order);
 * only one strategy when name is not "". */
void http_merged_histo(struct http_server *h, int callback, const char *name, struct histo *out);
/* Last event age in seconds (since the start before the first). */
double http_event_age(struct http_server *h);

/* alerts.c */
struct alerts *alerts_new(struct http_server *h, char *err, size_t errlen);
void alerts_eval(struct alerts *a);
void alerts_json(struct alerts *a, struct evbuffer *out);
/* For /metrics: each rule's state and count. */
void alerts_prom(struct alerts *a, struct evbuffer *out, int counts);
void alerts_free(struct alerts *a);

void http_evbuffer_sink(void *ud, const char *p, size_t n);

#endif
