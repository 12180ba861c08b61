/*
 * feed_mold — a MoldUDP64 receiver: a UDP socket joined to GROUP:PORT
 * (multicast, iface= the interface's address) or bound to it (unicast, for
 * tests), sequence tracking, heartbeats, end of session, duplicate and
 * out-of-order packets.
 *
 * Invariant: next_seq is the first message not yet handed out; a packet
 * starting past it opens a gap [next_seq, its seq) and is kept (copied) in
 * order in `ahead` until the gap fills. Gaps are asked of the re-request
 * server (rerequest=HOST:PORT) from the data socket, so the answers come back
 * to it; again after 0.1 s doubling to 2 s, retries= times (8); then the
 * messages are given up (counted, the feed stays down: its books are wrong).
 * Packets of another session are dropped (counted).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "feed_net-internal.h"
#include "log.h"
#include "netframe.h"

#define MOLD_AHEAD_MAX 8192 /* packets kept while a gap is open */

struct ahead_pkt {
	uint64_t seq;
	unsigned count;
	size_t len;
	uint8_t *buf;
};

struct mold {
	struct feed_net *n;
	struct event_base *evb;
	int fd;
	struct event *rd_ev, *timer;
	struct sockaddr_in rereq;
	int has_rereq;
	char session[11];
	int have_session;
	uint64_t next_seq;
	/* the packet being handed out */
	uint8_t *cur;
	size_t cur_len;
	struct mold_iter it;
	uint64_t it_seq;
	struct ahead_pkt *ahead;
	int nahead;
	/* the gap */
	int gap_open, tries, max_tries;
	uint64_t gap_from, gap_to;
	uint64_t hi; /* the highest next sequence number the server told of */
	int64_t next_try, last_rx;
	double backoff, timeout_s;
	int ended;
	uint64_t end_seq;
	uint64_t bad, foreign;
};

static void send_request(struct mold *m)
{
	if (!m->has_rereq || !m->have_session || m->gap_to <= m->next_seq)
		return;
	uint64_t want = m->gap_to - m->next_seq;
	uint8_t req[MOLD_REQUEST_LEN];
	mold_request_build(req, m->session, m->next_seq, (uint16_t)(want > 65534 ? 65534 : want));
	if (sendto(m->fd, req, sizeof req, 0, (struct sockaddr *)&m->rereq, sizeof m->rereq) < 0)
		log_msg(LOG_WARN, "mold", "%s: re-request: %s", net_name(m->n), strerror(errno));
}

/* Messages [next_seq, to) are missing: ask for them now, and again from
 * the timer until they came or the retries are spent. */
static void open_gap(struct mold *m, uint64_t to)
{
	struct feed_net_stats *st = net_stats(m->n);
	st->gaps++;
	st->gap_messages += to - m->next_seq;
	m->gap_open = 1;
	m->gap_from = m->next_seq;
	m->gap_to = to;
	m->tries = 0;
	m->backoff = 0.1;
	net_down(m->n, NET_COND_GAP, "messages %llu to %llu missing",
		 (unsigned long long)m->next_seq, (unsigned long long)to - 1);
	m->next_try = clock_mono_ns() + (int64_t)(m->backoff * 1e9);
	if (m->max_tries > 0 && m->has_rereq) {
		send_request(m);
		m->tries = 1;
	}
}

/* The gap is behind us once next_seq reached its end. */
static void gap_progress(struct mold *m)
{
	if (m->gap_open && m->next_seq >= m->gap_to) {
		m->gap_open = 0;
		net_stats(m->n)->recovered += m->gap_to - m->gap_from;
		net_up(m->n, NET_COND_GAP);
	}
}

/* Retries spent: the missing messages are given up, the stream goes on
 * from the first one held (the books are no longer whole: down for good). */
static void give_up(struct mold *m)
{
	uint64_t to = m->gap_to;
	if (to > m->next_seq) {
		net_stats(m->n)->lost += to - m->next_seq;
		net_down(m->n, NET_COND_LOST, "gave up messages %llu to %llu after %d re-requests",
			 (unsigned long long)m->next_seq, (unsigned long long)to - 1, m->tries);
		log_msg(LOG_ERROR, "mold", "%s: %llu messages lost: the books are not whole",
			net_name(m->n), (unsigned long long)(to - m->next_seq));
		m->next_seq = to;
	}
	m->gap_open = 0;
	net_up(m->n, NET_COND_GAP);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct mold *m = arg;
	int64_t now = clock_mono_ns();
	if (m->gap_open && now >= m->next_try) {
		if (m->tries >= m->max_tries || !m->has_rereq) {
			give_up(m);
		} else {
			send_request(m);
			m->tries++;
			m->backoff = m->backoff * 2 > 2 ? 2 : m->backoff * 2;
			m->next_try = now + (int64_t)(m->backoff * 1e9);
		}
	}
	if (m->last_rx && (double)(now - m->last_rx) / 1e9 >= m->timeout_s && !m->ended)
		net_down(m->n, NET_COND_SESSION, "no packet for %.1f s", m->timeout_s);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg; /* the datagrams wait in the socket for pull */
}

/* Keeps a packet that starts past next_seq, in order of seq; one already
 * held is a duplicate. */
static void keep_ahead(struct mold *m, const uint8_t *p, size_t len, const struct mold_header *h)
{
	int i = m->nahead;
	while (i > 0 && m->ahead[i - 1].seq > h->seq)
		i--;
	if (i > 0 && m->ahead[i - 1].seq == h->seq) {
		net_stats(m->n)->duplicates++;
		return;
	}
	if (m->nahead == MOLD_AHEAD_MAX)
		return; /* asked for again with the rest of the gap */
	uint8_t *copy = malloc(len);
	if (!copy)
		return;
	memcpy(copy, p, len);
	memmove(m->ahead + i + 1, m->ahead + i, (size_t)(m->nahead - i) * sizeof *m->ahead);
	m->ahead[i] = (struct ahead_pkt){h->seq, h->count, len, copy};
	m->nahead++;
	net_stats(m->n)->reordered++;
}

static void set_current(struct mold *m, const uint8_t *p, size_t len, const struct mold_header *h)
{
	if (p != m->cur)
		memcpy(m->cur, p, len);
	m->cur_len = len;
	mold_iter_init(&m->it, m->cur, len, h);
	m->it_seq = h->seq;
}

static void drop_ahead0(struct mold *m)
{
	free(m->ahead[0].buf);
	m->nahead--;
	memmove(m->ahead, m->ahead + 1, (size_t)m->nahead * sizeof *m->ahead);
}

/* A packet held ahead that now continues the stream becomes current. */
static int take_ahead(struct mold *m)
{
	while (m->nahead && m->ahead[0].seq + m->ahead[0].count <= m->next_seq)
		drop_ahead0(m); /* wholly seen meanwhile */
	if (!m->nahead || m->ahead[0].seq > m->next_seq)
		return 0;
	struct mold_header h;
	mold_parse(m->ahead[0].buf, m->ahead[0].len, &h, NULL);
	set_current(m, m->ahead[0].buf, m->ahead[0].len, &h);
	drop_ahead0(m);
	return 1;
}

/* One datagram in cur: made current when it continues the stream, kept
 * when it is ahead, dropped when seen or foreign. */
static void on_packet(struct mold *m, size_t len)
{
	struct mold_header h;
	size_t bad_off = 0;
	int rc = mold_parse(m->cur, len, &h, &bad_off);
	if (rc != 0) {
		if (m->bad++ < 10)
			log_msg(LOG_WARN, "mold",
				"%s: a malformed packet of %zu bytes (%s at byte "
				"%zu): dropped",
				net_name(m->n), len,
				rc == -1 ? "shorter than the header" : "a block past its end",
				bad_off);
		return;
	}
	if (!m->have_session) {
		memcpy(m->session, h.session, sizeof m->session);
		m->have_session = 1;
		log_msg(LOG_INFO, "mold", "%s: session %s", net_name(m->n), m->session);
	} else if (memcmp(h.session, m->session, 10) != 0) {
		if (m->foreign++ < 10)
			log_msg(LOG_WARN, "mold",
				"%s: a packet of session %s (following %s): dropped",
				net_name(m->n), h.session, m->session);
		return;
	}
	m->last_rx = clock_mono_ns();
	log_msg(LOG_DEBUG, "mold", "packet seq %llu count %u (next %llu)",
		(unsigned long long)h.seq, h.count, (unsigned long long)m->next_seq);
	net_up(m->n, NET_COND_CONNECTING);
	net_up(m->n, NET_COND_SESSION);
	int control = h.count == MOLD_HEARTBEAT || h.count == MOLD_END;
	uint64_t next = control ? h.seq : h.seq + h.count;
	if (m->next_seq == 0) /* seq=0: from the first packet heard */
		m->next_seq = h.seq;
	if (next > m->hi)
		m->hi = next;
	if (control) {
		if (h.count == MOLD_END && !m->ended) {
			m->ended = 1;
			m->end_seq = h.seq;
			log_msg(LOG_INFO, "mold", "%s: end of session at message %llu",
				net_name(m->n), (unsigned long long)h.seq);
		}
		if (h.count == MOLD_HEARTBEAT)
			net_stats(m->n)->heartbeats_rx++;
		return;
	}
	if (next <= m->next_seq)
		net_stats(m->n)->duplicates++;
	else if (h.seq > m->next_seq)
		keep_ahead(m, m->cur, len, &h);
	else
		set_current(m, m->cur, len, &h);
}

static int mold_pull(void *t, const uint8_t **msg, size_t *len)
{
	struct mold *m = t;
	for (;;) {
		const uint8_t *p;
		size_t n;
		while (mold_iter_next(&m->it, &p, &n)) {
			uint64_t s = m->it_seq++;
			if (s < m->next_seq)
				continue; /* a resent packet overlapping what was seen */
			m->next_seq++;
			if (m->gap_open && m->next_seq >= m->gap_to)
				gap_progress(m);
			*msg = p;
			*len = n;
			return 1;
		}
		if (take_ahead(m))
			continue;
		ssize_t k = recv(m->fd, m->cur, MOLD_MAX_PACKET, MSG_DONTWAIT);
		if (k >= 0) {
			m->it.left = 0;
			on_packet(m, (size_t)k);
			continue;
		}
		/* nothing more now: what is missing is missing */
		gap_progress(m);
		if (!m->gap_open && m->next_seq < m->hi)
			open_gap(m, m->nahead && m->ahead[0].seq < m->hi ? m->ahead[0].seq : m->hi);
		if (m->ended && m->next_seq >= m->end_seq && !m->gap_open)
			return -1;
		return 0;
	}
}

static void mold_free(void *t)
{
	struct mold *m = t;
	if (m->rd_ev)
		event_free(m->rd_ev);
	if (m->timer)
		event_free(m->timer);
	if (m->fd >= 0)
		close(m->fd);
	for (int i = 0; i < m->nahead; i++)
		free(m->ahead[i].buf);
	free(m->ahead);
	free(m->cur);
	free(m);
}

static int parse_hostport(const char *v, struct sockaddr_in *out)
{
	char host[64];
	const char *colon = strrchr(v, ':');
	if (!colon || colon == v || (size_t)(colon - v) >= sizeof host)
		return -1;
	memcpy(host, v, (size_t)(colon - v));
	host[colon - v] = '\0';
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (*end || colon[1] == '\0' || port <= 0 || port > 65535)
		return -1;
	memset(out, 0, sizeof *out);
	out->sin_family = AF_INET;
	out->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, !strcmp(host, "localhost") ? "127.0.0.1" : host,
			 &out->sin_addr) == 1
		   ? 0
		   : -1;
}

/* The data socket: bound to the port, joined to the group when it is one. */
static int open_socket(struct mold *m, const struct net_url *u, char *err, size_t errlen)
{
	struct in_addr group;
	if (inet_pton(AF_INET, !strcmp(u->host, "localhost") ? "127.0.0.1" : u->host, &group) != 1)
		return errf_fail(err, errlen, "mold://%s:%d: the group must be an IPv4 address",
				 u->host, u->port);
	int multicast = (ntohl(group.s_addr) >> 28) == 14;
	m->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (m->fd < 0)
		return errf_fail(err, errlen, "mold://: socket: %s", strerror(errno));
	int one = 1, big = 8 << 20;
	setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	setsockopt(m->fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big); /* bursts wait in the kernel */
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)u->port)};
	a.sin_addr = multicast ? (struct in_addr){htonl(INADDR_ANY)} : group;
	if (bind(m->fd, (struct sockaddr *)&a, sizeof a) != 0)
		return errf_fail(err, errlen, "mold://%s:%d: cannot bind: %s", u->host, u->port,
				 strerror(errno));
	if (multicast) {
		struct ip_mreq mr = {.imr_multiaddr = group, .imr_interface = {htonl(INADDR_ANY)}};
		const char *iface = net_url_get(u, "iface");
		if (iface && *iface && inet_pton(AF_INET, iface, &mr.imr_interface) != 1)
			return errf_fail(err, errlen,
					 "mold://: iface=%s: expected the interface's "
					 "IPv4 address",
					 iface);
		if (setsockopt(m->fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof mr) != 0)
			return errf_fail(err, errlen, "mold://%s:%d: cannot join the group: %s",
					 u->host, u->port, strerror(errno));
	}
	return 0;
}

void *mold_transport_open(struct feed_net *n, const struct net_url *u, char *err, size_t errlen)
{
	struct mold *m = calloc(1, sizeof *m);
	if (!m)
		return errf(err, errlen, "out of memory"), NULL;
	m->n = n;
	m->fd = -1;
	m->evb = net_base(n);
	double seq, timeout, retries;
	const char *rr = net_url_get(u, "rerequest");
	if (net_url_num(u, "seq", 0, 9e15, 1, &seq, err, errlen) ||
	    net_url_num(u, "timeout", 0.1, 3600, 15, &timeout, err, errlen) ||
	    net_url_num(u, "retries", 0, 1000, 8, &retries, err, errlen))
		goto fail;
	if (rr && parse_hostport(rr, &m->rereq) != 0) {
		errf(err, errlen, "mold://: rerequest=%s: expected HOST:PORT (IPv4)", rr);
		goto fail;
	}
	m->has_rereq = rr != NULL;
	m->next_seq = (uint64_t)seq;
	m->timeout_s = timeout;
	m->max_tries = (int)retries;
	m->cur = malloc(MOLD_MAX_PACKET);
	m->ahead = calloc(MOLD_AHEAD_MAX, sizeof *m->ahead);
	if (!m->cur || !m->ahead) {
		errf(err, errlen, "out of memory");
		goto fail;
	}
	if (open_socket(m, u, err, errlen) != 0)
		goto fail;
	m->rd_ev = event_new(m->evb, m->fd, EV_READ | EV_PERSIST, on_readable, m);
	m->timer = event_new(m->evb, -1, EV_PERSIST, on_timer, m);
	struct timeval tick = {0, 50000};
	if (!m->rd_ev || !m->timer || event_add(m->rd_ev, NULL) || event_add(m->timer, &tick)) {
		errf(err, errlen, "cannot create the event loop's events");
		goto fail;
	}
	return m;
fail:
	mold_free(m);
	return NULL;
}

const struct net_transport_ops mold_transport_ops = {
    .name = "mold",
    .pull = mold_pull,
    .free = mold_free,
};
