/*
 * feed_net — an ITCH day over the network (SoupBinTCP or MoldUDP64) as a
 * feed: the transport hands out sequenced messages in order, each decoded
 * where it lies by the same decoder and books as a file replay
 * (feed_itch_push), so the books equal those of the file replay of the day.
 *
 * Event time is the exchange's (the message timestamps on --date's
 * midnight, as a file replay's), so a recorded day (--record: NASDAQ's file
 * framing, each message as received) replays as a backtest byte for byte.
 *
 * The transport's sockets live on this feed's own libevent base, run only
 * inside next() when nothing is buffered (at most NET_WAIT_MS, then
 * FEED_WAIT so the host's loop can serve its control socket), and every
 * NET_POLL_EVERY messages while data flows (heartbeats, timeouts).
 *
 * Health: the feed is up when no condition (feed_net-internal.h) holds; a
 * change is handed out as a FEED_STATUS event between two market events.
 * Stale (no message for stale= seconds between the day's start and end of
 * market hours) and crossed (a followed book crossed for crossed_ms=) are
 * judged here; gaps and sessions by the transport.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book.h"
#include "clock.h"
#include "feed_net-internal.h"
#include "log.h"
#include "symtab.h"

#define NET_WAIT_MS 5
#define NET_POLL_EVERY 1024

struct feed_net {
	struct feed base;
	struct feed *itch; /* owned: the decoder and books */
	const struct net_transport_ops *t;
	void *tself;
	struct event_base *evb;
	struct event *wait_ev, *health_ev;
	char name[512];
	FILE *rec;
	char *rec_buf;
	int since_poll, ended;
	char fatal[1024];
	/* health */
	int conds, shown_up, announced; /* conditions now; the state last handed out */
	const char *reason, *shown_reason;
	char detail[256];
	double stale_s, crossed_ms;
	int cancel_orders;
	int64_t last_msg_mono, crossed_since;
	int crossed_sym;
	int64_t last_time, day_ns;
	struct feed_net_stats st;
};

/* ------------------------------------------------------------ urls */

static int hexval(int c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/* %XX decoded into out (cap bytes): 0, or -1 too long / bad escape. */
static int unescape(const char *s, size_t n, char *out, size_t cap)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '%') {
			if (i + 2 >= n || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0)
				return -1;
			c = hexval(s[i + 1]) * 16 + hexval(s[i + 2]);
			i += 2;
		}
		if (k + 1 >= cap)
			return -1;
		out[k++] = (char)c;
	}
	out[k] = '\0';
	return 0;
}

static int parse_url(const char *url, struct net_url *u, char *err, size_t errlen)
{
	memset(u, 0, sizeof *u);
	const char *sep = strstr(url, "://");
	if (!sep || (size_t)(sep - url) >= sizeof u->scheme)
		return errf_fail(err, errlen,
				 "--feed %s: expected soup://HOST:PORT?... or "
				 "mold://GROUP:PORT?...",
				 url);
	memcpy(u->scheme, url, (size_t)(sep - url));
	const char *h = sep + 3, *q = strchr(h, '?');
	const char *hend = q ? q : h + strlen(h);
	const char *colon = NULL;
	for (const char *c = h; c < hend; c++)
		if (*c == ':')
			colon = c;
	if (!colon || colon == h || (size_t)(colon - h) >= sizeof u->host)
		return errf_fail(err, errlen, "--feed %s: expected HOST:PORT after %s://", url,
				 u->scheme);
	memcpy(u->host, h, (size_t)(colon - h));
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (end != hend || colon + 1 == hend || port < 0 || port > 65535)
		return errf_fail(err, errlen,
				 "--feed %s: the port must be a number from 0 to 65535", url);
	u->port = (int)port;
	while (q && *q) {
		const char *k = q + 1, *amp = strchr(k, '&'), *kend = amp ? amp : k + strlen(k);
		const char *eq = memchr(k, '=', (size_t)(kend - k));
		if (!eq || eq == k || u->nkeys == NET_URL_KEYS ||
		    (size_t)(eq - k) >= sizeof u->key[0] ||
		    unescape(eq + 1, (size_t)(kend - eq - 1), u->val[u->nkeys], sizeof u->val[0]))
			return errf_fail(err, errlen,
					 "--feed %s: expected KEY=VALUE pairs after '?' "
					 "(at most %d, values up to 255 bytes)",
					 url, NET_URL_KEYS);
		memcpy(u->key[u->nkeys], k, (size_t)(eq - k));
		u->nkeys++;
		q = amp;
	}
	return 0;
}

const char *net_url_get(const struct net_url *u, const char *key)
{
	for (int i = 0; i < u->nkeys; i++)
		if (!strcmp(u->key[i], key))
			return u->val[i];
	return NULL;
}

int net_url_num(const struct net_url *u, const char *key, double min, double max, double def,
		double *out, char *err, size_t errlen)
{
	const char *v = net_url_get(u, key);
	if (!v) {
		*out = def;
		return 0;
	}
	char *end;
	errno = 0;
	double x = strtod(v, &end);
	if (!*v || *end || errno || !isfinite(x) || x < min || x > max)
		return errf_fail(err, errlen, "%s://: %s=%s: expected a number from %g to %g",
				 u->scheme, key, v, min, max);
	*out = x;
	return 0;
}

/* Every key is one the scheme knows: a typo is an error, not a default. */
static int check_keys(const struct net_url *u, const char *const *known, char *err, size_t errlen)
{
	for (int i = 0; i < u->nkeys; i++) {
		int ok = 0;
		for (int k = 0; known[k]; k++)
			ok |= !strcmp(u->key[i], known[k]);
		if (!ok)
			return errf_fail(err, errlen,
					 "%s://: unknown key '%s' (see gantry paper --help)",
					 u->scheme, u->key[i]);
	}
	return 0;
}

static const char *default_passfile; /* borrowed: the deploy config's */

void feed_net_default_passfile(const char *path)
{
	default_passfile = path;
}

const char *net_default_passfile(void)
{
	return default_passfile;
}

int feed_net_scheme(const char *url)
{
	return !strncmp(url, "soup://", 7) || !strncmp(url, "mold://", 7);
}

/* ------------------------------------------------------------ health */

static const char *cond_word(int cond)
{
	return cond & NET_COND_LOST	    ? "gap_lost"
	       : cond & NET_COND_SESSION    ? "session_lost"
	       : cond & NET_COND_CONNECTING ? "connecting"
	       : cond & NET_COND_GAP	    ? "gap"
	       : cond & NET_COND_STALE	    ? "stale"
	       : cond & NET_COND_CROSSED    ? "crossed"
					    : "recovered";
}

void net_down(struct feed_net *n, int cond, const char *fmt, ...)
{
	int was = n->conds;
	n->conds |= cond;
	if (was & cond)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(n->detail, sizeof n->detail, fmt, ap);
	va_end(ap);
	n->reason = cond_word(cond);
	n->st.reason = n->reason;
	if (cond == NET_COND_LOST) /* what the lost messages leave wrong: warned of */
		feed_itch_lenient(n->itch);
	log_msg(cond == NET_COND_CONNECTING ? LOG_INFO : LOG_WARN, "feed", "%s: down (%s): %s",
		n->name, n->reason, n->detail);
}

void net_up(struct feed_net *n, int cond)
{
	if (!(n->conds & cond))
		return;
	n->conds &= ~cond;
	if (n->conds == 0) {
		snprintf(n->detail, sizeof n->detail, "whole again after %s", cond_word(cond));
		log_msg(LOG_INFO, "feed", "%s: up: %s", n->name, n->detail);
	}
}

void net_fatal(struct feed_net *n, const char *fmt, ...)
{
	if (n->fatal[0])
		return;
	va_list ap;
	va_start(ap, fmt);
	char m[900];
	vsnprintf(m, sizeof m, fmt, ap);
	va_end(ap);
	snprintf(n->fatal, sizeof n->fatal, "%s: %s", n->name, m);
}

struct feed_net_stats *net_stats(struct feed_net *n)
{
	return &n->st;
}

struct event_base *net_base(struct feed_net *n)
{
	return n->evb;
}

const char *net_name(const struct feed_net *n)
{
	return n->name;
}

/* Stale and crossed, judged on the wall clock a few times a second. */
static void on_health(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct feed_net *n = arg;
	int64_t now = clock_mono_ns();
	struct book_set *b = feed_itch_stream_books(n->itch);
	char ev = b ? book_system_event(b) : 0;
	int open = ev == 'Q'; /* between start and end of market hours */
	if (n->stale_s > 0 && open && n->last_msg_mono &&
	    (double)(now - n->last_msg_mono) / 1e9 >= n->stale_s)
		net_down(n, NET_COND_STALE, "no message for %.1f s while the market is open",
			 (double)(now - n->last_msg_mono) / 1e9);
	if (n->crossed_ms > 0 && n->crossed_since &&
	    (double)(now - n->crossed_since) / 1e6 >= n->crossed_ms)
		net_down(n, NET_COND_CROSSED, "%s crossed for %.0f ms",
			 n->crossed_sym >= 0 ? "a followed book" : "a book", n->crossed_ms);
}

/* After each event of a followed symbol: is its book crossed? */
static void watch_crossed(struct feed_net *n, const struct feed_event *ev)
{
	if (n->crossed_ms <= 0 || ev->kind != FEED_BOOK)
		return;
	int crossed = ev->top.bid > 0 && ev->top.ask > 0 && ev->top.bid >= ev->top.ask;
	if (crossed && !n->crossed_since) {
		n->crossed_since = clock_mono_ns();
		n->crossed_sym = ev->sym;
	} else if (!crossed && n->crossed_sym == ev->sym) {
		n->crossed_since = 0;
		n->crossed_sym = -1;
		net_up(n, NET_COND_CROSSED);
	}
}

/* A status event when the state (or, down, its reason) changed since the
 * last one handed out. */
static int status_due(struct feed_net *n, struct feed_event *ev)
{
	int up = n->conds == 0;
	const char *why = up ? "recovered" : cond_word(n->conds);
	if (n->announced && up == n->shown_up && (up || why == n->shown_reason))
		return 0;
	if (!n->announced && up)
		return 0; /* up from the start: nothing to say */
	n->announced = 1;
	n->shown_up = up;
	n->shown_reason = why;
	n->st.up = up;
	memset(ev, 0, sizeof *ev);
	ev->kind = FEED_STATUS;
	ev->time = n->last_time;
	ev->sym = -1;
	ev->status.up = up;
	ev->status.reason = why;
	ev->status.detail = n->detail;
	ev->status.cancel = n->cancel_orders;
	return 1;
}

/* ------------------------------------------------------------ the feed */

static void record(struct feed_net *n, const uint8_t *m, size_t len)
{
	uint8_t hdr[2] = {(uint8_t)(len >> 8), (uint8_t)len};
	if (fwrite(hdr, 1, 2, n->rec) != 2 || fwrite(m, 1, len, n->rec) != len) {
		net_fatal(n, "--record: cannot write: %s", strerror(errno));
		return;
	}
}

static void count(struct feed_net *n, const uint8_t *m, size_t len)
{
	n->st.messages++;
	n->st.bytes += len;
	n->last_msg_mono = clock_mono_ns();
	if (len >= 11) { /* lag: receive time - exchange stamp (ns since midnight) */
		uint64_t ts = 0;
		for (int i = 5; i < 11; i++)
			ts = ts << 8 | m[i];
		int64_t lag = clock_wall_ns() - n->day_ns - (int64_t)ts;
		n->st.lag_last_ns = lag;
		if (lag > n->st.lag_max_ns || n->st.messages == 1)
			n->st.lag_max_ns = lag;
		n->st.lag_mean_ns += ((double)lag - n->st.lag_mean_ns) / (double)n->st.messages;
	}
	if (n->conds & NET_COND_STALE)
		net_up(n, NET_COND_STALE);
}

static void on_wait(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg; /* only ends the wait */
}

/* Runs the transport's sockets for at most ms (0: what is ready now). */
static void poll_net(struct feed_net *n, int ms)
{
	if (ms == 0) {
		event_base_loop(n->evb, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		return;
	}
	struct timeval tv = {0, ms * 1000};
	evtimer_add(n->wait_ev, &tv);
	event_base_loop(n->evb, EVLOOP_ONCE);
	evtimer_del(n->wait_ev);
}

static int net_next(struct feed *f, struct feed_event *ev, char *err, size_t errlen)
{
	struct feed_net *n = (struct feed_net *)f;
	if (n->ended)
		return 0;
	for (int waited = 0;;) {
		if (n->fatal[0])
			return errf_fail(err, errlen, "%s", n->fatal);
		if (status_due(n, ev))
			return 1;
		const uint8_t *m;
		size_t len;
		int r = n->t->pull(n->tself, &m, &len);
		if (r == 1) {
			if (n->rec)
				record(n, m, len);
			count(n, m, len);
			int a = feed_itch_push(n->itch, m, len, ev, err, errlen);
			/* after the push: m lies in the transport's buffer */
			if (++n->since_poll >= NET_POLL_EVERY) {
				n->since_poll = 0;
				poll_net(n, 0);
			}
			if (a == 1) {
				n->last_time = ev->time;
				watch_crossed(n, ev);
			}
			if (a != 0)
				return a;
			continue;
		}
		if (n->fatal[0])
			return errf_fail(err, errlen, "%s", n->fatal);
		if (r < 0) {
			n->ended = 1;
			if (n->rec && fflush(n->rec) != 0)
				return errf_fail(err, errlen, "%s: --record: cannot write: %s",
						 n->name, strerror(errno));
			const struct feed_net_stats *t = &n->st;
			log_msg(LOG_INFO, "feed", "%s: end of session after %llu messages", n->name,
				(unsigned long long)t->messages);
			log_msg(LOG_INFO, "feed",
				"%s: %llu gaps (%llu messages: %llu recovered, %llu "
				"lost), %llu duplicates, %llu held out of order, %llu "
				"reconnects; lag mean %.3f ms, max %.3f ms",
				n->name, (unsigned long long)t->gaps,
				(unsigned long long)t->gap_messages,
				(unsigned long long)t->recovered, (unsigned long long)t->lost,
				(unsigned long long)t->duplicates, (unsigned long long)t->reordered,
				(unsigned long long)t->reconnects, t->lag_mean_ns / 1e6,
				(double)t->lag_max_ns / 1e6);
			return 0;
		}
		if (waited)
			return FEED_WAIT;
		if (n->rec)
			fflush(n->rec); /* idle: what was received is on disk */
		poll_net(n, NET_WAIT_MS);
		waited = 1;
	}
}

static void net_close(struct feed *f)
{
	struct feed_net *n = (struct feed_net *)f;
	if (n->tself)
		n->t->free(n->tself);
	if (n->wait_ev)
		event_free(n->wait_ev);
	if (n->health_ev)
		event_free(n->health_ev);
	if (n->evb)
		event_base_free(n->evb);
	if (n->rec)
		fclose(n->rec);
	free(n->rec_buf);
	feed_close(n->itch);
	free(n);
}

static int net_start(struct feed *f, const struct feed_sink *sink, char *err, size_t errlen)
{
	struct feed_net *n = (struct feed_net *)f;
	return n->itch->ops->start(n->itch, sink, err, errlen);
}

static int net_symbols(struct feed *f, int *syms, int max)
{
	(void)f;
	(void)syms;
	(void)max;
	return -1;
}

static long net_messages(const struct feed *f)
{
	const struct feed_net *n = (const struct feed_net *)f;
	return n->itch->ops->messages(n->itch);
}

static int net_top(const struct feed *f, int sym, struct top_of_book *out)
{
	const struct feed_net *n = (const struct feed_net *)f;
	return n->itch->ops->top(n->itch, sym, out);
}

static int net_depth(const struct feed *f, int sym, int side, double (*out)[3], int k)
{
	const struct feed_net *n = (const struct feed_net *)f;
	return n->itch->ops->depth(n->itch, sym, side, out, k);
}

static int net_trading(const struct feed *f, int sym)
{
	const struct feed_net *n = (const struct feed_net *)f;
	return n->itch->ops->trading(n->itch, sym);
}

static const struct feed_ops net_ops = {
    .name = "itch-net",
    .live = 0, /* the exchange's clock: the message timestamps */
    .equity_every_ns = 1000000000,
    .symbols = net_symbols,
    .start = net_start,
    .next = net_next,
    .messages = net_messages,
    .top = net_top,
    .depth = net_depth,
    .trading = net_trading,
    .close = net_close,
};

struct feed *feed_net_inner(struct feed *f)
{
	return f && f->ops == &net_ops ? ((struct feed_net *)f)->itch : f;
}

void feed_net_stats(const struct feed *f, struct feed_net_stats *out)
{
	memset(out, 0, sizeof *out);
	if (f && f->ops == &net_ops)
		*out = ((const struct feed_net *)f)->st;
}

static int open_transport(struct feed_net *n, const struct net_url *u, char *err, size_t errlen)
{
	static const char *const soup_keys[] = {"user",	   "pass",    "passfile",   "session",
						"seq",	   "stale",   "crossed_ms", "timeout",
						"retries", "on_down", NULL};
	static const char *const mold_keys[] = {"iface",   "rerequest",	 "seq",
						"stale",   "crossed_ms", "timeout",
						"retries", "on_down",	 NULL};
	int soup = !strcmp(u->scheme, "soup");
	if (check_keys(u, soup ? soup_keys : mold_keys, err, errlen) != 0)
		return -1;
	if (net_url_num(u, "stale", 0, 86400, 0, &n->stale_s, err, errlen) ||
	    net_url_num(u, "crossed_ms", 0, 3.6e6, 1000, &n->crossed_ms, err, errlen))
		return -1;
	const char *od = net_url_get(u, "on_down");
	if (od && strcmp(od, "cancel") && strcmp(od, "keep"))
		return errf_fail(err, errlen,
				 "%s://: on_down=%s: expected keep (the default) or cancel",
				 u->scheme, od);
	n->cancel_orders = od && !strcmp(od, "cancel");
	n->t = soup ? &soup_transport_ops : &mold_transport_ops;
	n->tself =
	    soup ? soup_transport_open(n, u, err, errlen) : mold_transport_open(n, u, err, errlen);
	return n->tself ? 0 : -1;
}

struct feed *feed_net_open(const char *url, const char *record_path,
			   const struct itch_feed_config *cfg, struct symtab *st, char *err,
			   size_t errlen)
{
	struct net_url u;
	if (parse_url(url, &u, err, errlen) != 0)
		return NULL;
	if (strcmp(u.scheme, "soup") && strcmp(u.scheme, "mold"))
		return errf(err, errlen, "--feed %s: expected soup:// or mold://", url), NULL;
	struct feed_net *n = calloc(1, sizeof *n);
	if (!n)
		return errf(err, errlen, "out of memory"), NULL;
	n->base.ops = &net_ops;
	n->base.path = cfg->path;
	n->crossed_sym = -1;
	n->shown_up = 1;
	n->day_ns = cfg->date_ns;
	if (!n->day_ns) { /* no --date: lag against today's midnight, UTC */
		int64_t w = clock_wall_ns();
		n->day_ns = w - w % (86400LL * 1000000000LL);
	}
	/* the name in messages: scheme://host:port, never the keys */
	snprintf(n->name, sizeof n->name, "%s://%s:%d", u.scheme, u.host, u.port);
	struct itch_feed_config c = *cfg;
	c.path = n->name;
	c.preload = 0;
	if (!(n->itch = feed_itch_open_stream(&c, st, err, errlen)))
		goto fail;
	if (!(n->evb = event_base_new()) || !(n->wait_ev = evtimer_new(n->evb, on_wait, NULL)) ||
	    !(n->health_ev = event_new(n->evb, -1, EV_PERSIST, on_health, n))) {
		errf(err, errlen, "cannot create the event loop");
		goto fail;
	}
	struct timeval quarter = {0, 250000};
	event_add(n->health_ev, &quarter);
	if (record_path) {
		if (!(n->rec = fopen(record_path, "wbx"))) {
			errf(err, errlen, "--record %s: %s%s", record_path, strerror(errno),
			     errno == EEXIST ? " (a recording is never overwritten)" : "");
			goto fail;
		}
		n->rec_buf = malloc(1 << 20);
		if (n->rec_buf)
			setvbuf(n->rec, n->rec_buf, _IOFBF, 1 << 20);
	}
	n->conds = NET_COND_CONNECTING;
	n->reason = "connecting";
	snprintf(n->detail, sizeof n->detail, "no session yet");
	if (open_transport(n, &u, err, errlen) != 0)
		goto fail;
	return &n->base;
fail:
	net_close(&n->base);
	return NULL;
}
