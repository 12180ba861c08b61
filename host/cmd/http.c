/*
 * http — see http.h. One evhttp on the host's loop; every request is
 * answered from the loop's thread, so /api commands act between two events
 * exactly as the control socket's do (they are the same ctl_execute).
 *
 * Limits: request headers 8 KiB, bodies 4 KiB (HTTPREQ_BODY_MAX), a
 * 10-second I/O timeout, and a token bucket of cfg->rate requests a second
 * (burst twice that) over all clients: past it, 429 with Retry-After.
 */
#include "http-internal.h"

#include <errno.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/keyvalq_struct.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "alert_rule.h"
#include "clock.h"
#include "httpreq.h"
#include "jsonfmt.h"
#include "log.h"
#include "paths.h"
#include "timefmt.h"

#define HTTP_HEADERS_MAX 8192

void http_evbuffer_sink(void *ud, const char *p, size_t n)
{
	evbuffer_add(ud, p, n);
}

/* ------------------------------------------------------------ replies */

static void reply(struct http_server *h, struct evhttp_request *req, int code, const char *type,
		  struct evbuffer *body)
{
	struct evkeyvalq *hd = evhttp_request_get_output_headers(req);
	evhttp_add_header(hd, "Content-Type", type);
	evhttp_add_header(hd, "Cache-Control", "no-store");
	evhttp_add_header(hd, "X-Content-Type-Options", "nosniff");
	h->requests[code < 300 ? 0 : code < 400 ? 1 : code == 401 ? 4 : code == 429 ? 5
			 : code < 500 ? 2 : 3]++;
	const char *why = code == 200 ? "OK" : code == 400 ? "Bad Request" : code == 401 ? "Unauthorized"
			: code == 403 ? "Forbidden" : code == 404 ? "Not Found"
			: code == 405 ? "Method Not Allowed" : code == 413 ? "Payload Too Large"
			: code == 429 ? "Too Many Requests" : "Error";
	evhttp_send_reply(req, code, why, body);
}

static void reply_error(struct http_server *h, struct evhttp_request *req, int code,
			const char *msg)
{
	struct evbuffer *b = evbuffer_new();
	if (!b) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	evbuffer_add_printf(b, "{\"ok\": false, \"error\": ");
	json_quote(msg, http_evbuffer_sink, b);
	evbuffer_add_printf(b, "}\n");
	if (code == 401)
		evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
				  "Bearer realm=\"gantry\"");
	if (code == 429)
		evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
	reply(h, req, code, "application/json", b);
	evbuffer_free(b);
}

/* ------------------------------------------------------------ auth */

static const char *peer(struct evhttp_request *req)
{
	struct evhttp_connection *c = evhttp_request_get_connection(req);
	const char *addr = NULL;
	ev_uint16_t port = 0;
	if (c)
		evhttp_connection_get_peer(c, (char **)&addr, &port);
	return addr ? addr : "?";
}

/* The token the request carries, or NULL (and the reply sent: 401 / 403). */
static const struct token *authorize(struct http_server *h, struct evhttp_request *req,
				     unsigned need)
{
	if (h->tokens.n == 0) {
		reply_error(h, req, 401, "no token file is configured (http.token_file): the API is "
					 "closed");
		return NULL;
	}
	const char *a = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	if (!a || strncasecmp(a, "Bearer ", 7) != 0) {
		reply_error(h, req, 401, "expected Authorization: Bearer TOKEN");
		return NULL;
	}
	const char *s = a + 7;
	while (*s == ' ')
		s++;
	const struct token *t = tokens_find(&h->tokens, s, strlen(s));
	if (!t) {
		log_msg(LOG_WARN, "api", "refused an unknown token from %s", peer(req));
		reply_error(h, req, 401, "unknown token");
		return NULL;
	}
	if (!(t->rights & need)) {
		char msg[160];
		snprintf(msg, sizeof msg, "the token's scope (%s) does not allow this", t->scope);
		log_msg(LOG_WARN, "api", "refused %s (%s) from %s: %s", t->name, t->scope, peer(req),
			msg);
		reply_error(h, req, 403, msg);
		return NULL;
	}
	return t;
}

/* ------------------------------------------------------------ rate */

static int rate_ok(struct http_server *h)
{
	int64_t now = clock_mono_ns();
	double burst = h->cfg->rate * 2;
	h->bucket += (double)(now - h->bucket_t) / 1e9 * h->cfg->rate;
	if (h->bucket > burst)
		h->bucket = burst;
	h->bucket_t = now;
	if (h->bucket < 1)
		return 0;
	h->bucket -= 1;
	return 1;
}

/* ------------------------------------------------------------ history */

static void snapshot(struct http_server *h)
{
	struct oms *oms = engine_oms(h->e);
	if (!oms || !h->h_time)
		return;
	int at = (h->hist_head + h->hist_n) % h->hist_cap;
	if (h->hist_n == h->hist_cap)
		h->hist_head = (h->hist_head + 1) % h->hist_cap;
	else
		h->hist_n++;
	h->h_time[at] = clock_wall_ns();
	h->h_events[at] = engine_events(h->e);
	for (int i = 0; i < h->nstrat; i++) {
		h->h_eq[at * h->nstrat + i] = oms_equity(oms, i);
		h->h_pnl[at * h->nstrat + i] = oms_pnl(oms, i, -1);
	}
}

static void history_json(struct http_server *h, struct evbuffer *out)
{
	evbuffer_add_printf(out, "{\"ok\": true, \"interval_s\": 1, \"strategies\": [");
	for (int i = 0; i < h->nstrat; i++) {
		struct strategy_view v;
		engine_describe(engine_strategy(h->e, i), &v);
		evbuffer_add_printf(out, "%s", i ? ", " : "");
		json_quote(v.name, http_evbuffer_sink, out);
	}
	evbuffer_add_printf(out, "], \"points\": [");
	for (int k = 0; k < h->hist_n; k++) {
		int at = (h->hist_head + k) % h->hist_cap;
		evbuffer_add_printf(out, "%s{\"time\": %lld, \"events\": %ld, \"equity\": [", k ? ", " : "",
				    (long long)(h->h_time[at] / 1000000), h->h_events[at]);
		for (int i = 0; i < h->nstrat; i++)
			evbuffer_add_printf(out, "%s%.10g", i ? ", " : "", h->h_eq[at * h->nstrat + i]);
		evbuffer_add_printf(out, "], \"pnl\": [");
		for (int i = 0; i < h->nstrat; i++)
			evbuffer_add_printf(out, "%s%.10g", i ? ", " : "", h->h_pnl[at * h->nstrat + i]);
		evbuffer_add_printf(out, "]}");
	}
	evbuffer_add_printf(out, "]}\n");
}

static void histo_json(struct evbuffer *out, const struct histo *hs)
{
	evbuffer_add_printf(out, "{\"count\": %llu, \"sum_s\": %.9g, \"p50_s\": %.9g, \"p99_s\": %.9g, "
				 "\"buckets\": [",
			    (unsigned long long)hs->n, (double)hs->sum_ns / 1e9,
			    histo_quantile(hs, 0.5) < 1e9 ? histo_quantile(hs, 0.5) : -1,
			    histo_quantile(hs, 0.99) < 1e9 ? histo_quantile(hs, 0.99) : -1);
	for (int i = 0; i <= HISTO_BUCKETS; i++)
		evbuffer_add_printf(out, "%s[%.9g, %llu]", i ? ", " : "",
				    i < HISTO_BUCKETS ? (double)histo_bounds_ns[i] / 1e9 : -1.0,
				    (unsigned long long)hs->count[i]);
	evbuffer_add_printf(out, "]}");
}

static void latency_json(struct http_server *h, struct evbuffer *out)
{
	struct histo cb, t2o;
	http_merged_histo(h, 1, "", &cb);
	http_merged_histo(h, 0, "", &t2o);
	evbuffer_add_printf(out, "{\"ok\": true, \"callback\": ");
	histo_json(out, &cb);
	evbuffer_add_printf(out, ", \"tick_to_order\": ");
	histo_json(out, &t2o);
	evbuffer_add_printf(out, "}\n");
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct http_server *h = arg;
	struct oms *oms = engine_oms(h->e);
	for (int i = 0; oms && i < h->nstrat; i++) {
		double eq = oms_equity(oms, i);
		if (eq > h->peak[i])
			h->peak[i] = eq;
	}
	int64_t now = clock_mono_ns();
	if (now - h->last_snap >= 1000000000LL) {
		h->last_snap = now;
		snapshot(h);
	}
	if (h->alerts)
		alerts_eval(h->alerts);
}

/* ------------------------------------------------------------ audit */

static void audit(struct http_server *h, const struct token *t, struct evhttp_request *req,
		  const char *line, int ok)
{
	log_msg(LOG_WARN, "api", "%s by %s (%s) from %s: %s", line, t->name, t->scope, peer(req),
		ok ? "ok" : "refused");
	if (!h->audit)
		return;
	char iso[TIME_ISO_LEN + 1];
	time_format_iso(clock_wall_ns(), iso);
	struct evbuffer *b = evbuffer_new();
	if (!b)
		return;
	evbuffer_add_printf(b, "{\"time\": \"%s\", \"who\": ", iso);
	json_quote(t->name, http_evbuffer_sink, b);
	evbuffer_add_printf(b, ", \"scope\": \"%s\", \"from\": ", t->scope);
	json_quote(peer(req), http_evbuffer_sink, b);
	evbuffer_add_printf(b, ", \"command\": ");
	json_quote(line, http_evbuffer_sink, b);
	evbuffer_add_printf(b, ", \"ok\": %s}\n", ok ? "true" : "false");
	size_t n = evbuffer_get_length(b);
	fwrite(evbuffer_pullup(b, -1), 1, n, h->audit);
	fflush(h->audit);
	evbuffer_free(b);
}

/* ------------------------------------------------------------ routes */

static void api(struct http_server *h, struct evhttp_request *req, const char *uri)
{
	char body[HTTPREQ_BODY_MAX + 1], err[512];
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t blen = evbuffer_get_length(in);
	if (blen > HTTPREQ_BODY_MAX) {
		reply_error(h, req, 413, "request body over 4096 bytes");
		return;
	}
	evbuffer_copyout(in, body, blen);
	body[blen] = '\0';
	const char *method = evhttp_request_get_command(req) == EVHTTP_REQ_GET ? "GET"
			     : evhttp_request_get_command(req) == EVHTTP_REQ_POST ? "POST" : "OTHER";
	struct api_request ar;
	int code = api_parse(method, uri, body, blen, &ar, err, sizeof err);
	if (code != 200) {
		reply_error(h, req, code, err);
		return;
	}
	const struct token *t = authorize(h, req, ar.need);
	if (!t)
		return;
	struct evbuffer *out = evbuffer_new();
	if (!out) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	if (ar.kind == API_HISTORY) {
		history_json(h, out);
	} else if (ar.kind == API_ALERTS) {
		if (h->alerts)
			alerts_json(h->alerts, out);
		else
			evbuffer_add_printf(out, "{\"ok\": true, \"rules\": [], \"active\": [], "
						 "\"recent\": []}\n");
	} else if (ar.kind == API_LATENCY) {
		latency_json(h, out);
	} else {
		ctl_execute(h->e, &h->hooks, ar.line, out);
		size_t n = evbuffer_get_length(out);
		const char *s = (const char *)evbuffer_pullup(out, -1);
		int ok = s && n >= 12 && memcmp(s, "{\"ok\": true", 11) == 0;
		if (strcmp(ar.line, "status") != 0)
			audit(h, t, req, ar.line, ok);
		if (!ok)
			code = 400;
	}
	reply(h, req, code, "application/json", out);
	evbuffer_free(out);
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct http_server *h = arg;
	if (!rate_ok(h)) {
		reply_error(h, req, 429, "too many requests; try again in a second");
		return;
	}
	const char *uri = evhttp_request_get_uri(req);
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	if (!uri) {
		reply_error(h, req, 400, "no URI");
		return;
	}
	if (!strncmp(uri, "/api/", 5)) {
		api(h, req, uri);
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		reply_error(h, req, 405, "GET only");
		return;
	}
	size_t pl = strcspn(uri, "?");
	if (pl == 8 && !strncmp(uri, "/metrics", 8)) {
		if (h->tokens.n && !authorize(h, req, RIGHT_READ))
			return;
		struct evbuffer *out = evbuffer_new();
		if (!out)
			return evhttp_send_error(req, 500, NULL);
		prom_write(h, out);
		reply(h, req, 200, "text/plain; version=0.0.4; charset=utf-8", out);
		evbuffer_free(out);
	} else if ((pl == 1 && uri[0] == '/') || (pl == 10 && !strncmp(uri, "/dashboard", 10))) {
		if (!h->page) {
			reply_error(h, req, 404, "the dashboard page (stdlib/gantry/dashboard.html) "
						 "was not found beside the binary");
			return;
		}
		struct evbuffer *out = evbuffer_new();
		if (!out)
			return evhttp_send_error(req, 500, NULL);
		evbuffer_add(out, h->page, h->page_len);
		evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Security-Policy",
				  "default-src 'self'; script-src 'unsafe-inline'; style-src "
				  "'unsafe-inline'; img-src 'self' data:; connect-src 'self'");
		reply(h, req, 200, "text/html; charset=utf-8", out);
		evbuffer_free(out);
	} else {
		reply_error(h, req, 404, "no such page (/metrics, /api/..., /dashboard)");
	}
}

/* ------------------------------------------------------------ start */

static struct bufferevent *tls_bev(struct event_base *base, void *arg)
{
	struct http_server *h = arg;
	SSL *ssl = SSL_new(h->ssl_ctx);
	if (!ssl)
		return NULL;
	return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
					      BEV_OPT_CLOSE_ON_FREE);
}

static int tls_setup(struct http_server *h, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx)
		return errf_fail(err, errlen, "http.tls: cannot create a TLS context");
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	h->ssl_ctx = ctx;
	if (SSL_CTX_use_certificate_chain_file(ctx, h->cfg->tls_cert) != 1)
		return errf_fail(err, errlen, "%s: cannot read the TLS certificate (PEM)",
				 h->cfg->tls_cert);
	if (SSL_CTX_use_PrivateKey_file(ctx, h->cfg->tls_key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		return errf_fail(err, errlen, "%s: cannot read the TLS key, or it does not match %s",
				 h->cfg->tls_key, h->cfg->tls_cert);
	ERR_clear_error();
	evhttp_set_bevcb(h->http, tls_bev, h);
	return 0;
}

static int bind_listen(struct http_server *h, char *err, size_t errlen)
{
	char host[128];
	const char *colon = strrchr(h->cfg->listen, ':');
	char *end = NULL;
	long port = colon ? strtol(colon + 1, &end, 10) : -1;
	if (!colon || colon == h->cfg->listen || !end || *end || end == colon + 1 || port < 0 ||
	    port > 65535 || (size_t)(colon - h->cfg->listen) >= sizeof host)
		return errf_fail(err, errlen, "http.listen: expected HOST:PORT (127.0.0.1:8080; port 0: "
					      "any free one), got '%s'", h->cfg->listen);
	memcpy(host, h->cfg->listen, (size_t)(colon - h->cfg->listen));
	host[colon - h->cfg->listen] = '\0';
	struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(h->http, host,
									(ev_uint16_t)port);
	if (!bs)
		return errf_fail(err, errlen, "http.listen: cannot listen on %s: %s", h->cfg->listen,
				 strerror(errno));
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	socklen_t sl = sizeof ss;
	int bound = (int)port;
	if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss, &sl) == 0)
		bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						       : ((struct sockaddr_in *)&ss)->sin_port);
	log_msg(LOG_INFO, "http", "listening on %s://%s:%d (/metrics, /api, /dashboard)%s",
		h->ssl_ctx ? "https" : "http", host, bound,
		h->tokens.n ? "" : "; no token file: the API is closed");
	return 0;
}

static void read_page(struct http_server *h)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/gantry/dashboard.html", paths_stdlib());
	FILE *f = fopen(path, "rb");
	if (!f) {
		log_msg(LOG_WARN, "http", "%s: not found; /dashboard answers 404", path);
		return;
	}
	size_t cap = 1 << 16, n = 0;
	char *b = malloc(cap);
	size_t r;
	while (b && (r = fread(b + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap) {
			char *g = cap < (8u << 20) ? realloc(b, cap * 2) : NULL;
			if (!g) {
				free(b);
				b = NULL;
				break;
			}
			b = g;
			cap *= 2;
		}
	}
	fclose(f);
	h->page = b;
	h->page_len = b ? n : 0;
}

static int history_alloc(struct http_server *h)
{
	h->nstrat = engine_nstrat(h->e);
	h->hist_cap = h->cfg->history > 0 ? h->cfg->history : 600;
	size_t cells = (size_t)h->hist_cap * (size_t)(h->nstrat ? h->nstrat : 1);
	h->h_time = calloc((size_t)h->hist_cap, sizeof *h->h_time);
	h->h_events = calloc((size_t)h->hist_cap, sizeof *h->h_events);
	h->h_eq = calloc(cells, sizeof *h->h_eq);
	h->h_pnl = calloc(cells, sizeof *h->h_pnl);
	return h->h_time && h->h_events && h->h_eq && h->h_pnl ? 0 : -1;
}

struct http_server *http_start(struct event_base *base, struct engine *e,
			       const struct ctl_hooks *hooks, const struct http_config *cfg,
			       const int *feed_done, const char *audit_path, char *err,
			       size_t errlen)
{
	struct http_server *h = calloc(1, sizeof *h);
	if (!h) {
		errf(err, errlen, "out of memory");
		return NULL;
	}
	h->base = base;
	h->e = e;
	h->hooks = *hooks;
	h->cfg = cfg;
	h->feed_done = feed_done;
	h->started = clock_wall_ns();
	h->events_moved = clock_mono_ns();
	h->seen_events = engine_events(e);
	h->bucket = cfg->rate * 2;
	h->bucket_t = clock_mono_ns();
	for (int i = 0; i < engine_nstrat(e) && i < ENGINE_MAX_STRATEGIES; i++)
		h->peak[i] = engine_oms(e) ? oms_equity(engine_oms(e), i) : 0;
	if (cfg->token_file[0] && tokens_load(cfg->token_file, &h->tokens, err, errlen) != 0)
		goto fail;
	if (audit_path && *audit_path) {
		int fd = open(audit_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		h->audit = fd >= 0 ? fdopen(fd, "a") : NULL;
		if (!h->audit) {
			errf(err, errlen, "%s: cannot open the audit file: %s", audit_path,
			     strerror(errno));
			if (fd >= 0)
				close(fd);
			goto fail;
		}
	}
	if (history_alloc(h) != 0) {
		errf(err, errlen, "out of memory");
		goto fail;
	}
	if (cfg->listen[0]) {
		h->http = evhttp_new(base);
		if (!h->http) {
			errf(err, errlen, "cannot create the HTTP server");
			goto fail;
		}
		evhttp_set_max_headers_size(h->http, HTTP_HEADERS_MAX);
		evhttp_set_max_body_size(h->http, HTTPREQ_BODY_MAX);
		evhttp_set_timeout(h->http, 10);
		evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD);
		evhttp_set_gencb(h->http, on_request, h);
		if (cfg->tls_cert[0] && tls_setup(h, err, errlen) != 0)
			goto fail;
		read_page(h);
		if (bind_listen(h, err, errlen) != 0)
			goto fail;
	}
	if (cfg->nrules && !(h->alerts = alerts_new(h, err, errlen)))
		goto fail;
	h->tick = event_new(base, -1, EV_PERSIST, on_tick, h);
	double every = cfg->every > 0 ? cfg->every : 0.25;
	struct timeval tv = {(time_t)every, (suseconds_t)((every - (time_t)every) * 1e6)};
	if (!h->tick || event_add(h->tick, &tv) != 0) {
		errf(err, errlen, "cannot arm the HTTP timer");
		goto fail;
	}
	engine_set_timing(e, 1, (unsigned)cfg->sample);
	return h;
fail:
	http_close(h);
	return NULL;
}

void http_close(struct http_server *h)
{
	if (!h)
		return;
	if (h->tick)
		event_free(h->tick);
	if (h->alerts)
		alerts_free(h->alerts);
	if (h->http)
		evhttp_free(h->http);
	if (h->ssl_ctx)
		SSL_CTX_free(h->ssl_ctx);
	if (h->audit)
		fclose(h->audit);
	tokens_free(&h->tokens);
	free(h->page);
	free(h->h_time);
	free(h->h_events);
	free(h->h_eq);
	free(h->h_pnl);
	free(h);
}
