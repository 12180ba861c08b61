/*
 * feed_soup — a SoupBinTCP 3.0 client (a bufferevent on the feed's base):
 * login, accepted / rejected, sequenced data, a heartbeat after 1 s without
 * sending, link loss after timeout= s (15) without hearing the server, end
 * of session, logout. On a lost link it reconnects with backoff (0.1 s
 * doubling to 5 s; retries= consecutive failures, 0 for ever) and logs in
 * again from the next sequence number it needs, so no message is lost or
 * seen twice: a message numbered below it is dropped (counted), one above
 * it cannot be had again from that server and is a lost gap.
 *
 * The password comes from a file (passfile=PATH, its first line), never
 * from the command line: pass= is refused.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "clock.h"
#include "feed_net-internal.h"
#include "log.h"
#include "netframe.h"

enum soup_state { SOUP_IDLE, SOUP_CONNECTING, SOUP_LOGIN, SOUP_ACTIVE, SOUP_ENDED };

struct soup {
	struct feed_net *n;
	struct event_base *evb;
	struct bufferevent *bev;
	struct event *timer, *retry_ev;
	struct sockaddr_in addr;
	char user[7], pass[11], session[11];
	int state;
	uint64_t next_seq; /* the next message the feed needs */
	uint64_t rx_seq;   /* the number of the next S packet on this session */
	size_t drain;	   /* the packet handed out last, drained at the next pull */
	int64_t last_rx, last_tx;
	double timeout_s, backoff;
	int retries, failures;
};

static void soup_connect(struct soup *s);

static void send_packet(struct soup *s, const uint8_t *p, size_t len)
{
	if (s->bev && bufferevent_write(s->bev, p, len) == 0)
		s->last_tx = clock_mono_ns();
}

/* The link is gone: drop it and come back after the backoff. */
static void link_lost(struct soup *s, const char *why)
{
	if (s->bev) {
		bufferevent_free(s->bev);
		s->bev = NULL;
	}
	s->drain = 0;
	if (s->state == SOUP_ENDED)
		return;
	s->state = SOUP_IDLE;
	net_down(s->n, NET_COND_SESSION, "%s", why);
	s->failures++;
	if (s->retries > 0 && s->failures > s->retries) {
		net_fatal(s->n, "gave up after %d attempts to reach the server (retries=%d): %s",
			  s->failures, s->retries, why);
		return;
	}
	net_stats(s->n)->reconnects++;
	struct timeval tv = {(time_t)s->backoff,
			     (suseconds_t)((s->backoff - (time_t)s->backoff) * 1e6)};
	log_msg(LOG_INFO, "soup", "%s: reconnecting in %.1f s from message %llu", net_name(s->n),
		s->backoff, (unsigned long long)s->next_seq);
	evtimer_add(s->retry_ev, &tv);
	s->backoff = s->backoff * 2 > 5 ? 5 : s->backoff * 2;
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	struct soup *s = arg;
	if (what & BEV_EVENT_CONNECTED) {
		uint8_t login[SOUP_LOGIN_LEN];
		soup_login_request(login, s->user, s->pass, s->session, s->next_seq);
		int fd = (int)bufferevent_getfd(s->bev), one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		s->state = SOUP_LOGIN;
		s->last_rx = clock_mono_ns();
		send_packet(s, login, sizeof login);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		char why[160];
		snprintf(why, sizeof why, "%s",
			 what & BEV_EVENT_EOF	       ? "the server closed the connection"
			 : s->state == SOUP_CONNECTING ? "cannot connect"
						       : "connection error");
		if (what & BEV_EVENT_ERROR && errno)
			snprintf(why + strlen(why), sizeof why - strlen(why), ": %s",
				 strerror(errno));
		link_lost(s, why);
	}
}

static void on_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	struct soup *s = arg;
	s->last_rx = clock_mono_ns(); /* the data waits in the buffer for pull */
}

static void soup_connect(struct soup *s)
{
	s->bev = bufferevent_socket_new(s->evb, -1, BEV_OPT_CLOSE_ON_FREE);
	if (!s->bev) {
		net_fatal(s->n, "out of memory");
		return;
	}
	bufferevent_setcb(s->bev, on_read, NULL, on_event, s);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	s->state = SOUP_CONNECTING;
	if (bufferevent_socket_connect(s->bev, (struct sockaddr *)&s->addr, sizeof s->addr) != 0)
		link_lost(s, "cannot connect");
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	soup_connect(arg);
}

/* Heartbeats out after 1 s of silence; the link is lost after timeout s
 * without a byte from the server. */
static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct soup *s = arg;
	if (s->state != SOUP_LOGIN && s->state != SOUP_ACTIVE)
		return;
	int64_t now = clock_mono_ns();
	if (now - s->last_tx >= 1000000000) {
		static const uint8_t hb[3] = {0, 1, 'R'};
		send_packet(s, hb, sizeof hb);
	}
	if ((double)(now - s->last_rx) / 1e9 >= s->timeout_s) {
		char why[96];
		snprintf(why, sizeof why, "nothing from the server for %.1f s", s->timeout_s);
		link_lost(s, why);
	}
}

static void accepted(struct soup *s, const struct soup_packet *pk)
{
	char session[11];
	uint64_t seq;
	if (soup_accepted_parse(pk, session, &seq) != 0) {
		link_lost(s, "a malformed Login Accepted");
		return;
	}
	if (s->session[0] && strcmp(session, s->session) != 0) {
		net_fatal(s->n, "the server accepted session '%s', not '%s'", session, s->session);
		return;
	}
	if (!s->session[0])
		snprintf(s->session, sizeof s->session, "%s", session);
	if (s->next_seq == 0) /* seq=0: from the most recent message */
		s->next_seq = seq;
	s->rx_seq = seq;
	if (seq > s->next_seq) {
		struct feed_net_stats *st = net_stats(s->n);
		st->gaps++;
		st->gap_messages += seq - s->next_seq;
		st->lost += seq - s->next_seq;
		net_down(s->n, NET_COND_LOST,
			 "the server restarts at message %llu, after %llu: "
			 "%llu messages lost",
			 (unsigned long long)seq, (unsigned long long)s->next_seq,
			 (unsigned long long)(seq - s->next_seq));
		s->next_seq = seq;
	}
	s->state = SOUP_ACTIVE;
	s->failures = 0;
	s->backoff = 0.1;
	log_msg(LOG_INFO, "soup", "%s: logged in, session %s from message %llu", net_name(s->n),
		s->session, (unsigned long long)seq);
	net_up(s->n, NET_COND_CONNECTING);
	net_up(s->n, NET_COND_SESSION);
}

static void rejected(struct soup *s, const struct soup_packet *pk)
{
	char code = pk->len >= 1 ? (char)pk->payload[0] : '?';
	if (code == 'A') {
		net_fatal(s->n, "login rejected: not authorized (check user= and the password in "
				"passfile=)");
		s->state = SOUP_ENDED;
		return;
	}
	link_lost(s, code == 'S' ? "login rejected: session not available"
				 : "login rejected (unknown reason code)");
}

static int soup_pull(void *t, const uint8_t **msg, size_t *len)
{
	struct soup *s = t;
	for (;;) {
		if (s->state == SOUP_ENDED)
			return -1;
		if (!s->bev)
			return 0;
		struct evbuffer *in = bufferevent_get_input(s->bev);
		if (s->drain) {
			evbuffer_drain(in, s->drain);
			s->drain = 0;
		}
		size_t avail = evbuffer_get_length(in);
		uint8_t hdr[2];
		if (avail < 2 || evbuffer_copyout(in, hdr, 2) != 2)
			return 0;
		size_t plen = (size_t)hdr[0] << 8 | hdr[1];
		if (plen == 0) {
			link_lost(s, "a packet of length 0 from the server");
			continue;
		}
		if (avail < 2 + plen)
			return 0;
		const uint8_t *p = evbuffer_pullup(in, (ev_ssize_t)(2 + plen));
		struct soup_packet pk;
		if (!p || soup_parse(p, 2 + plen, &pk) <= 0) {
			link_lost(s, "out of memory");
			continue;
		}
		s->drain = 2 + plen;
		switch (pk.type) {
		case 'S':
			if (s->state != SOUP_ACTIVE) {
				link_lost(s, "sequenced data before the login was accepted");
				continue;
			}
			if (s->rx_seq++ < s->next_seq) {
				net_stats(s->n)->duplicates++;
				continue;
			}
			s->next_seq++;
			*msg = pk.payload;
			*len = pk.len;
			return 1;
		case 'H':
			net_stats(s->n)->heartbeats_rx++;
			continue;
		case 'A':
			accepted(s, &pk);
			continue;
		case 'J':
			rejected(s, &pk);
			continue;
		case 'Z':
			s->state = SOUP_ENDED;
			log_msg(LOG_INFO, "soup", "%s: end of session at message %llu",
				net_name(s->n), (unsigned long long)s->next_seq);
			return -1;
		default: /* '+' debug, and what a later version adds */
			continue;
		}
	}
}

static void soup_free(void *t)
{
	struct soup *s = t;
	if (s->bev && (s->state == SOUP_ACTIVE || s->state == SOUP_ENDED)) {
		/* logout, best effort: the socket is closed right after */
		static const uint8_t logout[3] = {0, 1, 'O'};
		int fd = (int)bufferevent_getfd(s->bev);
		if (fd >= 0 && send(fd, logout, sizeof logout, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			log_msg(LOG_DEBUG, "soup", "logout: %s", strerror(errno));
	}
	if (s->bev)
		bufferevent_free(s->bev);
	if (s->timer)
		event_free(s->timer);
	if (s->retry_ev)
		event_free(s->retry_ev);
	explicit_bzero(s->pass, sizeof s->pass);
	free(s);
}

/* The first line of the file, which only its owner may read. */
static int read_secret(const char *path, char *out, size_t cap, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return errf_fail(err, errlen, "soup://: passfile=%s: %s", path, strerror(errno));
	struct stat sb;
	if (fstat(fileno(f), &sb) == 0 && (sb.st_mode & 077))
		log_msg(LOG_WARN, "soup",
			"passfile=%s: readable by others (mode %03o); chmod 600 it", path,
			(unsigned)(sb.st_mode & 0777));
	char line[256];
	int ok = fgets(line, sizeof line, f) != NULL;
	fclose(f);
	line[ok ? strcspn(line, "\r\n") : 0] = '\0';
	if (strlen(line) >= cap) {
		explicit_bzero(line, sizeof line);
		return errf_fail(err, errlen,
				 "soup://: passfile=%s: a SoupBinTCP password has at "
				 "most %zu characters",
				 path, cap - 1);
	}
	memcpy(out, line, strlen(line) + 1);
	explicit_bzero(line, sizeof line);
	return 0;
}

void *soup_transport_open(struct feed_net *n, const struct net_url *u, char *err, size_t errlen)
{
	if (net_url_get(u, "pass"))
		return errf(err, errlen,
			    "soup://: pass= puts the password on the command line (and "
			    "in ps); put it in a file only you can read and give "
			    "passfile=PATH"),
		       NULL;
	struct soup *s = calloc(1, sizeof *s);
	if (!s)
		return errf(err, errlen, "out of memory"), NULL;
	s->n = n;
	s->evb = net_base(n);
	s->backoff = 0.1;
	const char *user = net_url_get(u, "user"), *session = net_url_get(u, "session"),
		   *passfile = net_url_get(u, "passfile");
	if (!passfile)
		passfile = net_default_passfile(); /* the deploy config's feed.passfile */
	double seq, timeout, retries;
	if (net_url_num(u, "seq", 0, 9e15, 1, &seq, err, errlen) ||
	    net_url_num(u, "timeout", 0.1, 3600, 15, &timeout, err, errlen) ||
	    net_url_num(u, "retries", 0, 1e6, 0, &retries, err, errlen))
		goto fail;
	if ((user && strlen(user) > 6) || (session && strlen(session) > 10)) {
		errf(err, errlen, "soup://: user= has at most 6 characters, session= at most 10");
		goto fail;
	}
	snprintf(s->user, sizeof s->user, "%s", user ? user : "");
	snprintf(s->session, sizeof s->session, "%s", session ? session : "");
	if (passfile && read_secret(passfile, s->pass, sizeof s->pass, err, errlen) != 0)
		goto fail;
	s->next_seq = (uint64_t)seq;
	s->timeout_s = timeout;
	s->retries = (int)retries;
	s->addr.sin_family = AF_INET;
	s->addr.sin_port = htons((uint16_t)u->port);
	if (inet_pton(AF_INET, !strcmp(u->host, "localhost") ? "127.0.0.1" : u->host,
		      &s->addr.sin_addr) != 1) {
		errf(err, errlen, "soup://%s:%d: the host must be an IPv4 address", u->host,
		     u->port);
		goto fail;
	}
	if (u->port == 0) {
		errf(err, errlen, "soup://%s:0: the server's port is needed", u->host);
		goto fail;
	}
	s->timer = event_new(s->evb, -1, EV_PERSIST, on_timer, s);
	s->retry_ev = evtimer_new(s->evb, on_retry, s);
	struct timeval quarter = {0, 250000};
	if (!s->timer || !s->retry_ev || event_add(s->timer, &quarter) != 0) {
		errf(err, errlen, "cannot create the event loop's timers");
		goto fail;
	}
	soup_connect(s);
	return s;
fail:
	soup_free(s);
	return NULL;
}

const struct net_transport_ops soup_transport_ops = {
    .name = "soup",
    .pull = soup_pull,
    .free = soup_free,
};
