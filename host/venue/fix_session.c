/*
 * fix_session — the FIX 4.4 initiator (see fix_session.h for its contract).
 *
 * One timer (every 100 ms) does everything time-driven: heartbeats, the
 * TestRequest after a silence and the disconnect after an unanswered one,
 * the Logon/Logout answer timeouts and the schedule. A read never closes
 * the connection under its own feet: it marks the session for closing and
 * the close happens when the read callback is done with the input buffer.
 */
#include "fix_session.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "timefmt.h"
#include "tz.h"

#define MAX_MSG 8192
#define LOGOUT_WAIT_S 2.0
#define SEQ_FILE_LEN 42 /* "%020lld %020lld\n" */

enum sess_state { S_IDLE, S_CONNECTING, S_LOGON_SENT, S_UP, S_LOGOUT_SENT, S_CLOSED };

struct stored {
	int64_t seq, ns;
	off_t off;
	uint32_t len;
};

struct held {
	int64_t seq;
	char *bytes;
	size_t len;
};

struct fix_session {
	struct fix_session_config c;
	struct fix_session_cb cb;
	struct event_base *base;
	struct bufferevent *bev;
	SSL_CTX *ssl_ctx;
	SSL *ssl; /* owned by bev once made */
	struct event *timer, *retry;
	int state, stopping, fatal, want_close, retry_armed;
	char close_why[160];
	int64_t next_out, next_in;
	int seq_fd, out_fd;
	char *seq_map; /* the seqs file, mapped: a number moves without a syscall */
	off_t out_end; /* the outbound store's size */
	char seq_path[4096], out_path[4096];
	struct stored *store;
	int nstore, store_cap;
	struct held *held;
	int nheld, held_cap;
	int64_t resend_target; /* the highest seq seen when we asked for a resend, 0 none */
	double last_sent, last_recv, state_since, test_sent;
	int test_out;
	long test_n;
	double backoff;
	int ever_up;
	struct fix_writer w;
	char sbuf[MAX_MSG];
	struct fix_msg m;  /* big: kept here, not on the stack */
	struct fix_msg rm; /* a stored message being resent (while m is being handled) */
	struct fix_session_stats st;
};

static double mono(void)
{
	return clock_mono_s();
}

/* ------------------------------------------------------------ the store */

static int save_seqs(struct fix_session *s)
{
	char line[64];
	int n = snprintf(line, sizeof line, "%020lld %020lld\n", (long long)s->next_out,
			 (long long)s->next_in);
	if (s->seq_map) { /* shared mapping: the kernel writes it back, as it would a write() */
		memcpy(s->seq_map, line, SEQ_FILE_LEN);
		return 0;
	}
	if (pwrite(s->seq_fd, line, (size_t)n, 0) != n) {
		log_msg(LOG_ERROR, "fix", "%s: cannot write: %s", s->seq_path, strerror(errno));
		return -1;
	}
	return 0;
}

static int store_add(struct fix_session *s, int64_t seq, int64_t ns, off_t off, uint32_t len)
{
	if (s->nstore == s->store_cap) {
		int cap = s->store_cap ? 2 * s->store_cap : 256;
		struct stored *v = realloc(s->store, (size_t)cap * sizeof *v);
		if (!v)
			return -1;
		s->store = v;
		s->store_cap = cap;
	}
	s->store[s->nstore++] = (struct stored){seq, ns, off, len};
	return 0;
}

/* A number at p ending in sep: what follows sep, or NULL when malformed. */
static const char *read_num(const char *p, char sep, long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(p, &end, 10);
	if (end == p || errno != 0 || *end != sep)
		return NULL;
	*out = v;
	return end + 1;
}

/* The outbound store: records `SEQ LEN NS\n<message>\n`, appended. */
static int load_store(struct fix_session *s, char *err, size_t errlen)
{
	struct stat sb;
	if (fstat(s->out_fd, &sb) != 0)
		return errf_fail(err, errlen, "%s: %s", s->out_path, strerror(errno));
	off_t size = sb.st_size, at = 0;
	char head[80];
	while (at < size) {
		ssize_t r = pread(s->out_fd, head, sizeof head - 1, at);
		if (r <= 0)
			break;
		head[r] = '\0';
		char *nl = memchr(head, '\n', (size_t)r);
		long long seq = 0, len = -1, ns = 0;
		const char *q = nl ? read_num(head, ' ', &seq) : NULL;
		q = q ? read_num(q, ' ', &len) : NULL;
		q = q ? read_num(q, '\n', &ns) : NULL;
		if (!q || len < 0 || len > MAX_MSG)
			return errf_fail(err, errlen,
					 "%s: byte %lld: not a message record (remove the "
					 "store to start the session over)",
					 s->out_path, (long long)at);
		off_t body = at + (nl - head) + 1;
		if (body + (off_t)len + 1 > size)
			break; /* a record cut short by a crash: the rest is lost, resends gap-fill
				  it */
		if (store_add(s, seq, ns, body, (uint32_t)len) != 0)
			return errf_fail(err, errlen, "out of memory");
		at = body + (off_t)len + 1;
	}
	s->out_end = at; /* a cut record is written over */
	return 0;
}

static void store_append(struct fix_session *s, int64_t seq, const char *msg, size_t len)
{
	char head[80];
	int64_t ns = clock_wall_ns();
	int hn = snprintf(head, sizeof head, "%lld %zu %lld\n", (long long)seq, len, (long long)ns);
	struct iovec iov[3] = {{head, (size_t)hn}, {(void *)msg, len}, {"\n", 1}};
	off_t end = s->out_end;
	ssize_t want = hn + (ssize_t)len + 1;
	if (pwritev(s->out_fd, iov, 3, end) != want ||
	    store_add(s, seq, ns, end + hn, (uint32_t)len) != 0)
		log_msg(LOG_ERROR, "fix", "%s: cannot store message %lld: %s", s->out_path,
			(long long)seq, strerror(errno));
	else
		s->out_end = end + want;
}

static void store_reset(struct fix_session *s)
{
	if (ftruncate(s->out_fd, 0) != 0)
		log_msg(LOG_ERROR, "fix", "%s: cannot truncate: %s", s->out_path, strerror(errno));
	s->nstore = 0;
	s->out_end = 0;
}

static int open_store(struct fix_session *s, char *err, size_t errlen)
{
	const char *dir = s->c.store_dir ? s->c.store_dir : ".";
	snprintf(s->seq_path, sizeof s->seq_path, "%s/%s-%s.seqs", dir, s->c.sender, s->c.target);
	snprintf(s->out_path, sizeof s->out_path, "%s/%s-%s.out", dir, s->c.sender, s->c.target);
	s->seq_fd = open(s->seq_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->seq_fd < 0)
		return errf_fail(err, errlen, "%s: %s", s->seq_path, strerror(errno));
	char line[64] = "";
	ssize_t r = pread(s->seq_fd, line, sizeof line - 1, 0);
	long long o = 1, i = 1;
	if (r > 0) {
		line[r] = '\0';
		const char *q = read_num(line, ' ', &o);
		if (!q || !read_num(q, '\n', &i) || o < 1 || i < 1)
			return errf_fail(err, errlen, "%s: expected two sequence numbers",
					 s->seq_path);
	}
	s->next_out = o;
	s->next_in = i;
	if (ftruncate(s->seq_fd, SEQ_FILE_LEN) == 0) {
		void *p =
		    mmap(NULL, SEQ_FILE_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, s->seq_fd, 0);
		s->seq_map = p == MAP_FAILED ? NULL : p;
	}
	save_seqs(s);
	s->out_fd = open(s->out_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->out_fd < 0)
		return errf_fail(err, errlen, "%s: %s", s->out_path, strerror(errno));
	return load_store(s, err, errlen);
}

/* ------------------------------------------------------------ sending */

static void header(struct fix_session *s, const char *type, int64_t seq)
{
	fix_begin(&s->w, s->sbuf, sizeof s->sbuf, type);
	fix_add_str(&s->w, 49, s->c.sender);
	fix_add_str(&s->w, 56, s->c.target);
	fix_add_int(&s->w, 34, seq);
}

static void header_now(struct fix_session *s, const char *type, int64_t seq)
{
	header(s, type, seq);
	fix_add_time(&s->w, 52, clock_wall_ns());
}

/* Finishes the message in s->w and writes it; store: keep it for resends. */
static int put(struct fix_session *s, int64_t seq, int store)
{
	const char *msg;
	long n = fix_finish(&s->w, &msg);
	if (n < 0) {
		log_msg(LOG_ERROR, "fix", "message %lld too long: not sent", (long long)seq);
		return -1;
	}
	if (store)
		store_append(s, seq, msg, (size_t)n);
	if (!s->bev)
		return 0;
	/* plain TCP with nothing queued: straight to the socket, not a loop
	 * turn later (an order's latency); what does not fit is queued */
	size_t done = 0;
	if (!s->c.tls && s->state != S_CONNECTING &&
	    evbuffer_get_length(bufferevent_get_output(s->bev)) == 0) {
		ssize_t w =
		    send(bufferevent_getfd(s->bev), msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0)
			done = (size_t)w;
	}
	if (done < (size_t)n && bufferevent_write(s->bev, msg + done, (size_t)n - done) != 0)
		return -1;
	s->last_sent = mono();
	return 0;
}

/* An admin message with the next number: the caller adds its body between. */
static void admin_begin(struct fix_session *s, const char *type)
{
	header_now(s, type, s->next_out);
}

static void admin_send(struct fix_session *s)
{
	put(s, s->next_out++, 0);
	save_seqs(s);
}

struct fix_writer *fix_session_begin(struct fix_session *s, const char *type)
{
	if (s->state != S_UP)
		return NULL;
	header_now(s, type, s->next_out);
	return &s->w;
}

int fix_session_send(struct fix_session *s)
{
	int rc = put(s, s->next_out++, 1);
	save_seqs(s);
	return rc;
}

int fix_session_test_request(struct fix_session *s, const char *id)
{
	if (s->state != S_UP)
		return -1;
	admin_begin(s, "1");
	fix_add_str(&s->w, 112, id);
	admin_send(s);
	return 0;
}

static void send_reject(struct fix_session *s, int64_t ref_seq, int ref_tag, const char *ref_type,
			int reason, const char *text)
{
	admin_begin(s, "3");
	fix_add_int(&s->w, 45, ref_seq);
	if (ref_tag > 0)
		fix_add_int(&s->w, 371, ref_tag);
	if (ref_type && *ref_type)
		fix_add_str(&s->w, 372, ref_type);
	fix_add_int(&s->w, 373, reason);
	if (text && *text)
		fix_add_str(&s->w, 58, text);
	admin_send(s);
	s->st.rejects_sent++;
	log_msg(LOG_WARN, "fix", "sent Reject of message %lld: tag %d: %s", (long long)ref_seq,
		ref_tag, text);
}

static void send_logout(struct fix_session *s, const char *text)
{
	admin_begin(s, "5");
	if (text && *text)
		fix_add_str(&s->w, 58, text);
	admin_send(s);
	s->state = S_LOGOUT_SENT;
	s->state_since = mono();
}

static void send_logon(struct fix_session *s)
{
	if (s->c.reset_on_logon) {
		s->next_out = 1;
		s->next_in = 1;
		store_reset(s);
	}
	admin_begin(s, "A");
	fix_add_int(&s->w, 98, 0);
	fix_add_int(&s->w, 108, s->c.heartbeat_s);
	if (s->c.reset_on_logon)
		fix_add_char(&s->w, 141, 'Y');
	if (s->c.username)
		fix_add_str(&s->w, 553, s->c.username);
	if (s->c.password)
		fix_add_str(&s->w, 554, s->c.password);
	admin_send(s);
	s->state = S_LOGON_SENT;
	s->state_since = mono();
}

/* SequenceReset-GapFill at seq: the counterparty's next is to. */
static void send_gap_fill(struct fix_session *s, int64_t seq, int64_t to)
{
	header(s, "4", seq);
	fix_add_char(&s->w, 43, 'Y');
	fix_add_time(&s->w, 52, clock_wall_ns());
	fix_add_char(&s->w, 123, 'Y');
	fix_add_int(&s->w, 36, to);
	put(s, seq, 0);
	s->st.gap_filled += to - seq;
}

static struct stored *stored_at(struct fix_session *s, int64_t seq)
{
	/* numbers grow through the store (a reset empties it): binary search */
	int lo = 0, hi = s->nstore - 1;
	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		if (s->store[mid].seq == seq)
			return &s->store[mid];
		if (s->store[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

static int is_header_tag(int tag)
{
	return tag == 8 || tag == 9 || tag == 35 || tag == 49 || tag == 56 || tag == 34 ||
	       tag == 52 || tag == 43 || tag == 97 || tag == 122 || tag == 10;
}

/* An application message again: 43=Y, 122 its first SendingTime. */
static int resend_one(struct fix_session *s, const struct stored *st)
{
	char raw[MAX_MSG];
	if (pread(s->out_fd, raw, st->len, st->off) != (ssize_t)st->len)
		return -1;
	struct fix_msg *m = &s->rm;
	struct fix_error err;
	if (fix_parse(raw, st->len, m, &err) != 0)
		return -1;
	size_t tn;
	const char *t = fix_get(m, 52, &tn);
	header(s, m->type, st->seq);
	fix_add_char(&s->w, 43, 'Y');
	fix_add_time(&s->w, 52, clock_wall_ns());
	fix_add_strn(&s->w, 122, t, tn);
	for (int i = 0; i < m->nfields; i++)
		if (!is_header_tag(m->f[i].tag))
			fix_add_strn(&s->w, m->f[i].tag, raw + m->f[i].off, m->f[i].len);
	s->st.resent++;
	return put(s, st->seq, 0);
}

static void answer_resend(struct fix_session *s, int64_t begin, int64_t end)
{
	int64_t last = s->next_out - 1;
	if (end == 0 || end > last)
		end = last;
	log_msg(LOG_INFO, "fix", "ResendRequest %lld..%lld", (long long)begin, (long long)end);
	int64_t gap = 0; /* the first of a run to gap-fill, 0 none */
	int64_t now = clock_wall_ns();
	for (int64_t q = begin; q <= end; q++) {
		struct stored *st = stored_at(s, q);
		int fresh = st && (s->c.resend_max_age_s < 0 ||
				   (double)(now - st->ns) / 1e9 <= s->c.resend_max_age_s);
		if (!fresh) {
			if (!gap)
				gap = q;
			continue;
		}
		if (gap) {
			send_gap_fill(s, gap, q);
			gap = 0;
		}
		if (resend_one(s, st) != 0) {
			log_msg(LOG_WARN, "fix", "stored message %lld unreadable: gap-filled",
				(long long)q);
			send_gap_fill(s, q, q + 1);
		}
	}
	if (gap)
		send_gap_fill(s, gap, end + 1);
}

/* ------------------------------------------------------------ connection */

static void mark_close(struct fix_session *s, const char *why)
{
	if (!s->want_close) {
		s->want_close = 1;
		snprintf(s->close_why, sizeof s->close_why, "%s", why);
	}
}

static void drop_held(struct fix_session *s)
{
	for (int i = 0; i < s->nheld; i++)
		free(s->held[i].bytes);
	s->nheld = 0;
}

static void arm_retry(struct fix_session *s)
{
	if (s->stopping || s->fatal || s->retry_armed)
		return;
	double d = s->backoff;
	struct timeval tv = {(time_t)d, (suseconds_t)((d - (double)(time_t)d) * 1e6)};
	s->retry_armed = 1;
	evtimer_add(s->retry, &tv);
	log_msg(LOG_INFO, "fix", "reconnecting in %.1f s", d);
	s->backoff = s->backoff * 2 > s->c.reconnect_max_s ? s->c.reconnect_max_s : s->backoff * 2;
}

static void close_conn(struct fix_session *s, const char *why, int retry)
{
	int was_up = s->state == S_UP || s->state == S_LOGOUT_SENT;
	if (s->bev) {
		bufferevent_free(s->bev);
		s->bev = NULL;
		s->ssl = NULL;
	}
	s->want_close = 0;
	drop_held(s);
	s->resend_target = 0;
	s->test_out = 0;
	s->st.disconnects++;
	s->state = s->stopping || s->fatal ? S_CLOSED : S_IDLE;
	log_msg(was_up ? LOG_WARN : LOG_INFO, "fix", "disconnected: %s", why);
	if (was_up && s->cb.state)
		s->cb.state(s->cb.ud, 0, why);
	if (retry && s->state == S_IDLE)
		arm_retry(s);
}

static void go_fatal(struct fix_session *s, const char *msg)
{
	s->fatal = 1;
	close_conn(s, msg, 0);
	log_msg(LOG_ERROR, "fix", "%s", msg);
	if (s->cb.fatal)
		s->cb.fatal(s->cb.ud, msg);
}

/* The certificate's problem in words, or NULL when the handshake failed
 * for another reason. */
static const char *tls_problem(struct fix_session *s, char *buf, size_t len)
{
	if (!s->ssl)
		return NULL;
	long vr = SSL_get_verify_result(s->ssl);
	if (vr != X509_V_OK) {
		snprintf(buf, len, "certificate verify failed: %s",
			 X509_verify_cert_error_string(vr));
		return buf;
	}
	unsigned long e = bufferevent_get_openssl_error(s->bev);
	if (e) {
		char b[256];
		ERR_error_string_n(e, b, sizeof b);
		snprintf(buf, len, "handshake failed: %s", b);
		return buf;
	}
	return NULL;
}

static void handle(struct fix_session *s, const char *buf, size_t len);

static void on_read(struct bufferevent *bev, void *arg)
{
	struct fix_session *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	while (!s->want_close) {
		size_t n = evbuffer_get_length(in);
		if (n == 0)
			break;
		const char *p = (const char *)evbuffer_pullup(in, -1);
		size_t used;
		const char *why;
		int rc = fix_frame(p, n, MAX_MSG, &used, &why);
		if (rc == FIX_FRAME_MORE)
			break;
		if (rc == FIX_FRAME_GARBLED) {
			s->st.garbled++;
			log_msg(LOG_WARN, "fix", "dropped %zu garbled bytes (%s)", used, why);
		} else {
			s->last_recv = mono();
			handle(s, p, used);
		}
		evbuffer_drain(in, used);
	}
	if (s->want_close)
		close_conn(s, s->close_why, 1);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	struct fix_session *s = arg;
	if (what & BEV_EVENT_CONNECTED) {
		log_msg(LOG_INFO, "fix", "connected to %s:%d%s", s->c.host, s->c.port,
			s->c.tls ? " (TLS)" : "");
		bufferevent_enable(s->bev, EV_READ | EV_WRITE);
		int one = 1; /* small messages, each on its own: no Nagle delay */
		setsockopt(bufferevent_getfd(s->bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		send_logon(s);
		return;
	}
	char buf[512], line[700];
	const char *tls =
	    s->c.tls && s->state == S_CONNECTING ? tls_problem(s, buf, sizeof buf) : NULL;
	if (tls) {
		snprintf(line, sizeof line, "%s://%s:%d: TLS: %s", "fixs", s->c.host, s->c.port,
			 tls);
		go_fatal(s, line);
		return;
	}
	const char *why = what & BEV_EVENT_EOF	     ? "connection closed by the counterparty"
			  : what & BEV_EVENT_TIMEOUT ? "timed out"
						     : NULL;
	if (!why) {
		int e = EVUTIL_SOCKET_ERROR();
		snprintf(buf, sizeof buf, "%s:%d: %s", s->c.host, s->c.port,
			 e ? evutil_socket_error_to_string(e) : "connection error");
		why = buf;
	}
	close_conn(s, why, 1);
}

static int connect_now(struct fix_session *s)
{
	char port[16];
	snprintf(port, sizeof port, "%d", s->c.port);
	struct evutil_addrinfo hints = {0}, *ai = NULL;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	int gr = evutil_getaddrinfo(s->c.host, port, &hints, &ai);
	if (gr != 0) {
		log_msg(LOG_WARN, "fix", "%s: %s", s->c.host, evutil_gai_strerror(gr));
		arm_retry(s);
		return -1;
	}
	if (s->c.tls) {
		s->ssl = SSL_new(s->ssl_ctx);
		const char *name = s->c.server_name ? s->c.server_name : s->c.host;
		X509_VERIFY_PARAM *vp = SSL_get0_param(s->ssl);
		if (X509_VERIFY_PARAM_set1_ip_asc(vp, name) != 1) { /* a name, not an address */
			X509_VERIFY_PARAM_set1_host(vp, name, 0);
			SSL_set_tlsext_host_name(s->ssl, name);
		}
		s->bev = bufferevent_openssl_socket_new(
		    s->base, -1, s->ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	} else {
		s->bev = bufferevent_socket_new(s->base, -1, BEV_OPT_CLOSE_ON_FREE);
	}
	if (!s->bev) {
		if (s->ssl)
			SSL_free(s->ssl);
		s->ssl = NULL;
		evutil_freeaddrinfo(ai);
		log_msg(LOG_ERROR, "fix", "cannot make a connection (out of memory)");
		arm_retry(s);
		return -1;
	}
	bufferevent_setcb(s->bev, on_read, NULL, on_event, s);
	s->state = S_CONNECTING;
	s->state_since = mono();
	int rc = bufferevent_socket_connect(s->bev, ai->ai_addr, (int)ai->ai_addrlen);
	evutil_freeaddrinfo(ai);
	if (rc != 0) {
		close_conn(s, "cannot connect", 1);
		return -1;
	}
	return 0;
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct fix_session *s = arg;
	s->retry_armed = 0;
	if (s->state == S_IDLE && !s->stopping && !s->fatal)
		connect_now(s);
}

/* ------------------------------------------------------------ schedule */

static int in_schedule(const struct fix_session *s)
{
	if (!s->c.has_schedule)
		return 1;
	int64_t t = clock_wall_ns() / NS_PER_SEC;
	if (s->c.tz)
		t += tz_offset_at(s->c.tz, t);
	int64_t day = t >= 0 ? t / 86400 : (t - 86399) / 86400;
	int sec = (int)(t - day * 86400);
	int dow = (int)(((day % 7) + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
	unsigned m = s->c.days_mask ? s->c.days_mask : 0x7f;
	int today = (m >> dow) & 1, yday = (m >> ((dow + 6) % 7)) & 1;
	if (s->c.start_s == s->c.end_s)
		return today;
	if (s->c.start_s < s->c.end_s)
		return today && sec >= s->c.start_s && sec < s->c.end_s;
	return (today && sec >= s->c.start_s) || (yday && sec < s->c.end_s);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct fix_session *s = arg;
	double now = mono(), hb = s->c.heartbeat_s;
	int open = in_schedule(s);
	switch (s->state) {
	case S_IDLE:
		if (open && !s->retry_armed && !s->stopping && !s->fatal)
			connect_now(s);
		break;
	case S_CONNECTING:
	case S_LOGON_SENT:
		if (now - s->state_since > s->c.connect_timeout_s)
			close_conn(s,
				   s->state == S_CONNECTING ? "connect timed out"
							    : "no answer to Logon",
				   1);
		break;
	case S_UP:
		if (!open && !s->stopping) {
			log_msg(LOG_INFO, "fix", "the session schedule ends: logging out");
			send_logout(s, "end of session");
			break;
		}
		if (now - s->last_sent >= hb) {
			admin_begin(s, "0");
			admin_send(s);
		}
		if (s->test_out && now - s->test_sent > hb + 1) {
			close_conn(s, "no Heartbeat answering our TestRequest", 1);
		} else if (!s->test_out && now - s->last_recv > hb * 1.2 + 0.5) {
			char id[32];
			snprintf(id, sizeof id, "TEST-%ld", ++s->test_n);
			admin_begin(s, "1");
			fix_add_str(&s->w, 112, id);
			admin_send(s);
			s->test_out = 1;
			s->test_sent = now;
		}
		break;
	case S_LOGOUT_SENT:
		if (now - s->state_since > LOGOUT_WAIT_S)
			close_conn(s, "Logout not answered", 1);
		break;
	default:
		break;
	}
}

/* ------------------------------------------------------------ receiving */

static void dispatch(struct fix_session *s, const struct fix_msg *m);

static void hold(struct fix_session *s, const char *buf, size_t len, int64_t seq)
{
	for (int i = 0; i < s->nheld; i++)
		if (s->held[i].seq == seq)
			return; /* held already */
	if (s->nheld == s->held_cap) {
		int cap = s->held_cap ? 2 * s->held_cap : 16;
		struct held *v = realloc(s->held, (size_t)cap * sizeof *v);
		if (!v)
			return; /* asked again by the next resend */
		s->held = v;
		s->held_cap = cap;
	}
	char *b = malloc(len);
	if (!b)
		return;
	memcpy(b, buf, len);
	s->held[s->nheld++] = (struct held){seq, b, len};
}

/* Held messages that are next now, in order. */
static void drain_held(struct fix_session *s)
{
	for (int again = 1; again && !s->want_close;) {
		again = 0;
		for (int i = 0; i < s->nheld; i++) {
			struct held h = s->held[i];
			if (h.seq > s->next_in)
				continue;
			s->held[i] = s->held[--s->nheld];
			if (h.seq == s->next_in) {
				struct fix_error err;
				if (fix_parse(h.bytes, h.len, &s->m, &err) == 0)
					dispatch(s, &s->m);
				again = 1;
			}
			free(h.bytes);
			break;
		}
	}
	if (s->resend_target && s->next_in > s->resend_target)
		s->resend_target = 0;
}

static void too_low(struct fix_session *s, const struct fix_msg *m)
{
	char text[128];
	snprintf(text, sizeof text, "MsgSeqNum too low, expecting %lld but received %lld",
		 (long long)s->next_in, (long long)m->seq);
	s->st.too_low++;
	log_msg(LOG_WARN, "fix", "%s", text);
	if (s->c.too_low == FIX_TOO_LOW_REJECT && s->state == S_UP) {
		send_reject(s, m->seq, 34, m->type, FIX_REJ_BAD_VALUE, text);
		return;
	}
	send_logout(s, text);
	mark_close(s, text);
}

static void on_logon(struct fix_session *s, const struct fix_msg *m)
{
	if (m->seq < s->next_in && fix_get_char(m, 141) != 'Y') {
		too_low(s, m);
		return;
	}
	s->state = S_UP;
	s->backoff = s->c.reconnect_min_s;
	s->st.logons++;
	s->last_recv = mono();
	if (m->seq > s->next_in) {
		s->resend_target = m->seq; /* the Logon's own number comes back as a gap fill */
		admin_begin(s, "2");
		fix_add_int(&s->w, 7, s->next_in);
		fix_add_int(&s->w, 16, 0);
		admin_send(s);
		s->st.resend_requests_sent++;
		log_msg(LOG_INFO, "fix", "logged on; gap %lld..%lld: ResendRequest sent",
			(long long)s->next_in, (long long)m->seq - 1);
	} else {
		s->next_in = m->seq + 1;
		save_seqs(s);
		log_msg(LOG_INFO, "fix", "logged on as %s to %s (next out %lld, in %lld)",
			s->c.sender, s->c.target, (long long)s->next_out, (long long)s->next_in);
	}
	s->ever_up = 1;
	if (s->cb.state)
		s->cb.state(s->cb.ud, 1, "logged on");
}

/* A message whose number is next (or a held one whose turn came). */
static void dispatch(struct fix_session *s, const struct fix_msg *m)
{
	s->next_in = m->seq + 1;
	char id[64] = "", text[256] = "";
	int64_t a = 0, b = 0;
	switch (m->type[1] ? 0 : m->type[0]) {
	case '0':
		fix_get_str(m, 112, id, sizeof id);
		if (*id && strncmp(id, "TEST-", 5) == 0)
			s->test_out = 0;
		else if (*id && s->cb.heartbeat)
			s->cb.heartbeat(s->cb.ud, id);
		break;
	case '1':
		fix_get_str(m, 112, id, sizeof id);
		admin_begin(s, "0");
		fix_add_str(&s->w, 112, id);
		admin_send(s);
		break;
	case '2':
		s->st.resend_requests_received++;
		if (fix_get_int(m, 7, &a) != 0 || fix_get_int(m, 16, &b) != 0 || a < 1 || b < 0) {
			send_reject(s, m->seq, fix_find(m, 7) < 0 ? 7 : 16, "2", FIX_REJ_BAD_VALUE,
				    "bad BeginSeqNo or EndSeqNo");
			break;
		}
		answer_resend(s, a, b);
		break;
	case '3':
		s->st.rejects_received++;
		fix_get_int(m, 45, &a);
		fix_get_int(m, 371, &b);
		fix_get_str(m, 58, text, sizeof text);
		log_msg(LOG_WARN, "fix",
			"counterparty rejected our message %lld (tag %lld, reason %c): %s",
			(long long)a, (long long)b,
			fix_get_char(m, 373) ? fix_get_char(m, 373) : '?', text);
		break;
	case '4':
		if (fix_get_int(m, 36, &a) != 0 || a < m->seq + 1) {
			send_reject(s, m->seq, 36, "4", FIX_REJ_BAD_VALUE,
				    "NewSeqNo below the next");
			break;
		}
		s->next_in = a;
		break;
	case '5':
		fix_get_str(m, 58, text, sizeof text);
		if (s->state != S_LOGOUT_SENT)
			send_logout(s, "");
		snprintf(id, sizeof id, "Logout%s%.40s", *text ? ": " : "", text);
		mark_close(s, id);
		break;
	case 'A':
		log_msg(LOG_WARN, "fix", "Logon while logged on: ignored");
		break;
	default:
		if (s->cb.app)
			s->cb.app(s->cb.ud, m);
	}
	save_seqs(s);
}

static void handle(struct fix_session *s, const char *buf, size_t len)
{
	struct fix_msg *m = &s->m;
	struct fix_error err;
	if (fix_parse(buf, len, m, &err) != 0) {
		if (m->seq <= 0 || s->state != S_UP) {
			s->st.garbled++;
			log_msg(LOG_WARN, "fix",
				"dropped a message with no usable MsgSeqNum: %s (tag %d)", err.text,
				err.ref_tag);
			return;
		}
		send_reject(s, m->seq, err.ref_tag, m->type, err.reason, err.text);
		if (m->seq == s->next_in) {
			s->next_in++;
			save_seqs(s);
			drain_held(s);
		}
		return;
	}
	size_t n, k;
	const char *v = fix_get(m, 49, &n), *w = fix_get(m, 56, &k);
	int comp_ok = strlen(s->c.target) == n && memcmp(v, s->c.target, n) == 0 &&
		      strlen(s->c.sender) == k && memcmp(w, s->c.sender, k) == 0;
	if (!comp_ok) {
		if (s->state == S_UP)
			send_reject(s, m->seq, 49, m->type, FIX_REJ_COMPID, "CompID problem");
		send_logout(s, "CompID problem");
		mark_close(s, "CompID problem");
		return;
	}
	if (s->state == S_LOGON_SENT) {
		if (strcmp(m->type, "A") == 0) {
			on_logon(s, m);
		} else if (strcmp(m->type, "5") == 0) {
			char text[256] = "", line[400];
			fix_get_str(m, 58, text, sizeof text);
			snprintf(line, sizeof line, "%s:%d: logon refused: %s", s->c.host,
				 s->c.port, *text ? text : "Logout without a reason");
			go_fatal(s, line);
		} else {
			mark_close(s, "first message was not a Logon");
		}
		return;
	}
	if (s->state != S_UP && s->state != S_LOGOUT_SENT)
		return;
	char gf = fix_get_char(m, 123);
	if (strcmp(m->type, "4") == 0 && gf != 'Y') { /* SequenceReset-Reset: whatever its number */
		int64_t to;
		if (fix_get_int(m, 36, &to) != 0 || to < s->next_in) {
			send_reject(s, m->seq, 36, "4", FIX_REJ_BAD_VALUE,
				    "NewSeqNo below the next");
			return;
		}
		log_msg(LOG_INFO, "fix", "SequenceReset: next incoming %lld", (long long)to);
		s->next_in = to;
		save_seqs(s);
		drain_held(s);
		return;
	}
	if (m->seq > s->next_in) {
		hold(s, buf, len, m->seq);
		if (strcmp(m->type, "2") == 0) { /* answer theirs now: both may be waiting */
			int64_t a, b;
			if (fix_get_int(m, 7, &a) == 0 && fix_get_int(m, 16, &b) == 0 && a >= 1)
				answer_resend(s, a, b);
		}
		if (!s->resend_target) {
			s->resend_target = m->seq;
			admin_begin(s, "2");
			fix_add_int(&s->w, 7, s->next_in);
			fix_add_int(&s->w, 16, 0);
			admin_send(s);
			s->st.resend_requests_sent++;
			log_msg(LOG_INFO, "fix",
				"gap: expected %lld, received %lld: ResendRequest sent",
				(long long)s->next_in, (long long)m->seq);
		}
		return;
	}
	if (m->seq < s->next_in) {
		if (m->poss_dup)
			return; /* had it already */
		too_low(s, m);
		return;
	}
	dispatch(s, m);
	drain_held(s);
}

/* ------------------------------------------------------------ life */

static SSL_CTX *tls_context(const struct fix_session_config *c, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		return errf(err, errlen, "TLS: cannot make a context"), NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	const char *what = NULL, *file = NULL;
	if (!c->ca_file)
		what = "venue.tls.ca_file is required for fixs://", file = "";
	else if (SSL_CTX_load_verify_locations(ctx, c->ca_file, NULL) != 1)
		what = "cannot read the CA file", file = c->ca_file;
	else if (c->cert_file && SSL_CTX_use_certificate_chain_file(ctx, c->cert_file) != 1)
		what = "cannot read the client certificate", file = c->cert_file;
	else if (c->key_file &&
		 SSL_CTX_use_PrivateKey_file(ctx, c->key_file, SSL_FILETYPE_PEM) != 1)
		what = "cannot read the client key", file = c->key_file;
	else if (c->cert_file && c->key_file && SSL_CTX_check_private_key(ctx) != 1)
		what = "the client key does not match its certificate", file = c->key_file;
	if (what) {
		ERR_clear_error();
		SSL_CTX_free(ctx);
		errf(err, errlen, "%s%s%s", file, *file ? ": " : "", what);
		return NULL;
	}
	return ctx;
}

struct fix_session *fix_session_new(const struct fix_session_config *c,
				    const struct fix_session_cb *cb, char *err, size_t errlen)
{
	struct fix_session *s = calloc(1, sizeof *s);
	if (!s)
		return errf(err, errlen, "out of memory"), NULL;
	s->c = *c;
	if (s->c.heartbeat_s <= 0)
		s->c.heartbeat_s = 30;
	if (s->c.reconnect_min_s <= 0)
		s->c.reconnect_min_s = 1;
	if (s->c.reconnect_max_s < s->c.reconnect_min_s)
		s->c.reconnect_max_s = s->c.reconnect_min_s > 30 ? s->c.reconnect_min_s : 30;
	if (s->c.connect_timeout_s <= 0)
		s->c.connect_timeout_s = 10;
	s->backoff = s->c.reconnect_min_s;
	s->cb = *cb;
	s->seq_fd = s->out_fd = -1;
	if (c->tls && !(s->ssl_ctx = tls_context(c, err, errlen))) {
		fix_session_free(s);
		return NULL;
	}
	return s;
}

int fix_session_start(struct fix_session *s, struct event_base *base, char *err, size_t errlen)
{
	if (open_store(s, err, errlen) != 0)
		return -1;
	s->base = base;
	s->timer = event_new(base, -1, EV_PERSIST, on_timer, s);
	s->retry = evtimer_new(base, on_retry, s);
	if (!s->timer || !s->retry)
		return errf_fail(err, errlen, "out of memory");
	struct timeval tick = {0, 100000};
	event_add(s->timer, &tick);
	if (in_schedule(s))
		connect_now(s);
	else
		log_msg(LOG_INFO, "fix", "outside the session schedule: waiting");
	return 0;
}

void fix_session_stop(struct fix_session *s)
{
	s->stopping = 1;
	if (s->state == S_UP)
		send_logout(s, "");
	else if (s->state != S_LOGOUT_SENT && s->state != S_CLOSED)
		close_conn(s, "stopped", 0);
}

void fix_session_detach(struct fix_session *s)
{
	if (s->bev)
		bufferevent_free(s->bev);
	s->bev = NULL;
	s->ssl = NULL;
	if (s->timer)
		event_free(s->timer);
	if (s->retry)
		event_free(s->retry);
	s->timer = s->retry = NULL;
	s->state = S_CLOSED;
}

int fix_session_up(const struct fix_session *s)
{
	return s->state == S_UP;
}

int fix_session_closed(const struct fix_session *s)
{
	return s->state == S_CLOSED;
}

void fix_session_stats(const struct fix_session *s, struct fix_session_stats *out)
{
	*out = s->st;
	out->next_out = s->next_out;
	out->next_in = s->next_in;
}

void fix_session_free(struct fix_session *s)
{
	if (!s)
		return;
	fix_session_detach(s);
	if (s->ssl_ctx)
		SSL_CTX_free(s->ssl_ctx);
	drop_held(s);
	free(s->held);
	free(s->store);
	if (s->seq_map)
		munmap(s->seq_map, SEQ_FILE_LEN);
	if (s->seq_fd >= 0) {
		fsync(s->seq_fd);
		close(s->seq_fd);
	}
	if (s->out_fd >= 0) {
		fsync(s->out_fd);
		close(s->out_fd);
	}
	free(s);
}
