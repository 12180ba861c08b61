/*
 * feedpeer — the exchange side of the network feed specs: a SoupBinTCP 3.0
 * server and a MoldUDP64 publisher with its re-request server, replaying an
 * ITCH day (NASDAQ file framing, e.g. scripts/gen_itch's) with injected
 * faults. 127.0.0.1 only; every wait is bounded (--timeout-s, 60).
 *
 *   feedpeer soup --day FILE --port-file F [--session S] [--user U --passfile P]
 *            [--disconnect-at N] [--restart-at N] [--stall-at N --stall-ms M]
 *            [--quiet-at N --quiet-ms M] [--no-end] [--batch N]
 *   feedpeer mold --day FILE --to 127.0.0.1:PORT --port-file F [--session S]
 *            [--per-packet N] [--drop I,J] [--dup I,J] [--swap I,J] [--drop-every K]
 *            [--deny-rerequest] [--delay-ms N] [--linger-ms N] [--restart-at I]
 *            [--rr-port P]
 *   either: [--send-log FILE] (u64 CLOCK_MONOTONIC ns each message was sent,
 *            by sequence number; for bench_netfeed) [--pace-us N] (a pause
 *            after each batch or packet)
 *   feedpeer udp-port          a free UDP port on 127.0.0.1
 *
 * soup: one client at a time; --disconnect-at N resets the connection (RST:
 * what was in flight is lost) after message N; --restart-at N closes the
 * listening socket too and listens again 300 ms later; --stall-at sends
 * nothing at all for M ms (the client's link-loss timeout), --quiet-at only
 * heartbeats (a stale feed). A bad user or password gets Login Rejected 'A'.
 * mold: packet indexes (0-based) to drop (served by the re-request server
 * only), duplicate, or swap with the next; --restart-at I pauses 300 ms
 * before packet I (a publisher restart: the stream resumes where it was).
 * The port file is written when the server listens (soup: the TCP port;
 * mold: the re-request port, --rr-port or a free one).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "netframe.h"

static const uint8_t *day;
static size_t day_len;
static size_t *msg_off; /* offset of message i+1's length field */
static size_t nmsg;
static double deadline;
/* --send-log: CLOCK_MONOTONIC ns at which each message was handed to the
 * kernel (by sequence number), for bench_netfeed's latency; --pace-us */
static uint64_t *sent_at;
static const char *send_log;
static long pace_us;

static void stamp(uint64_t from, uint64_t to)
{
	if (!sent_at)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	for (uint64_t s = from; s < to; s++)
		sent_at[s - 1] = ns;
}

static void write_send_log(void)
{
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", send_log ? send_log : "");
	FILE *f = send_log ? fopen(tmp, "wb") : NULL;
	if (f) {
		fwrite(sent_at, sizeof *sent_at, nmsg, f);
		fclose(f);
		rename(tmp, send_log); /* whole, or not there */
	}
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "feedpeer: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void check_deadline(void)
{
	if (now_s() > deadline) {
		fprintf(stderr, "feedpeer: --timeout-s reached\n");
		exit(3);
	}
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void load_day(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		die(path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *b = malloc((size_t)n + 1);
	if (!b || fread(b, 1, (size_t)n, f) != (size_t)n)
		die(path);
	fclose(f);
	day = b;
	day_len = (size_t)n;
	size_t cap = 1024;
	msg_off = malloc(cap * sizeof *msg_off);
	for (size_t pos = 0; pos + 2 <= day_len;) {
		size_t l = (size_t)day[pos] << 8 | day[pos + 1];
		if (pos + 2 + l > day_len)
			break;
		if (nmsg == cap)
			msg_off = realloc(msg_off, (cap *= 2) * sizeof *msg_off);
		msg_off[nmsg++] = pos;
		pos += 2 + l;
	}
}

/* message seq (1-based): its bytes and length */
static const uint8_t *msg(uint64_t seq, size_t *len)
{
	size_t o = msg_off[seq - 1];
	*len = (size_t)day[o] << 8 | day[o + 1];
	return day + o + 2;
}

static void write_port(const char *path, int port)
{
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		die(tmp);
	fprintf(f, "%d\n", port);
	fclose(f);
	if (rename(tmp, path) != 0)
		die(path);
}

static int bound_port(int fd)
{
	struct sockaddr_in a;
	socklen_t l = sizeof a;
	getsockname(fd, (struct sockaddr *)&a, &l);
	return ntohs(a.sin_port);
}

static int in_list(const char *list, long i)
{
	if (!list)
		return 0;
	for (const char *p = list; *p;) {
		char *end;
		long v = strtol(p, &end, 10);
		if (end == p)
			return 0;
		if (v == i)
			return 1;
		p = *end == ',' ? end + 1 : end;
	}
	return 0;
}

/* ------------------------------------------------------------ soup */

struct soup_opts {
	const char *session, *user, *pass;
	long disconnect_at, restart_at, stall_at, stall_ms, quiet_at, quiet_ms, batch;
	int no_end;
};

static int listen_on(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 4) != 0)
		die("bind/listen");
	return fd;
}

static int send_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int send_packet(int fd, char type, const uint8_t *payload, size_t len)
{
	uint8_t buf[3 + 65536];
	size_t n = soup_build(buf, sizeof buf, type, payload, len);
	return send_all(fd, buf, n);
}

/* Reads the Login Request (bounded): 0 and *lg, or -1. */
static int read_login(int fd, struct soup_login *lg)
{
	uint8_t buf[256];
	size_t have = 0;
	while (have < SOUP_LOGIN_LEN) {
		check_deadline();
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, 1000) <= 0)
			continue;
		ssize_t k = recv(fd, buf + have, sizeof buf - have, 0);
		if (k <= 0)
			return -1;
		have += (size_t)k;
		struct soup_packet pk;
		long used = soup_parse(buf, have, &pk);
		if (used < 0)
			return -1;
		if (used > 0)
			return soup_login_parse(&pk, lg);
	}
	return -1;
}

static void drain_input(int fd)
{
	uint8_t b[4096];
	while (recv(fd, b, sizeof b, MSG_DONTWAIT) > 0)
		;
}

static void reset_close(int fd)
{
	struct linger lg = {1, 0};
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(fd);
}

/* Heartbeats every 200 ms for ms (nothing at all with hb 0). */
static int idle_for(int fd, long ms, int hb)
{
	double end = now_s() + (double)ms / 1000;
	while (now_s() < end) {
		check_deadline();
		if (hb && send_packet(fd, 'H', NULL, 0) != 0)
			return -1;
		drain_input(fd);
		sleep_ms(200);
	}
	return 0;
}

static int run_soup(const struct soup_opts *o, const char *port_file)
{
	int lfd = listen_on(0), port = bound_port(lfd);
	write_port(port_file, port);
	int disconnected = 0, restarted = 0, stalled = 0, quieted = 0;
	for (;;) {
		check_deadline();
		struct pollfd p = {lfd, POLLIN, 0};
		if (poll(&p, 1, 500) <= 0)
			continue;
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			continue;
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		struct soup_login lg;
		if (read_login(fd, &lg) != 0) {
			close(fd);
			continue;
		}
		if ((o->user && strcmp(lg.user, o->user)) ||
		    (o->pass && strcmp(lg.pass, o->pass))) {
			fprintf(stderr, "feedpeer: login of '%s' rejected\n", lg.user);
			send_packet(fd, 'J', (const uint8_t *)"A", 1);
			sleep_ms(100);
			close(fd);
			continue;
		}
		uint64_t seq = lg.seq ? lg.seq : 1;
		if (seq > nmsg + 1)
			seq = nmsg + 1;
		uint8_t acc[SOUP_ACCEPTED_PAYLOAD];
		soup_accepted_build(acc, o->session, seq);
		fprintf(stderr, "feedpeer: login of '%s' from %llu\n", lg.user,
			(unsigned long long)seq);
		if (send_packet(fd, 'A', acc, sizeof acc) != 0) {
			close(fd);
			continue;
		}
		uint8_t out[1 << 16];
		size_t used = 0;
		int broke = 0;
		uint64_t batch_from = seq;
		for (; seq <= nmsg; seq++) {
			size_t len;
			const uint8_t *m = msg(seq, &len);
			used += soup_build(out + used, sizeof out - used, 'S', m, len);
			int cut = (!disconnected && (long)seq == o->disconnect_at) ||
				  (!restarted && (long)seq == o->restart_at);
			int pause = (!stalled && (long)seq == o->stall_at) ||
				    (!quieted && (long)seq == o->quiet_at);
			if (used + 3 + 64 > sizeof out || (long)(seq % (uint64_t)o->batch) == 0 ||
			    cut || pause || seq == nmsg) {
				if (send_all(fd, out, used) != 0) {
					broke = 1;
					break;
				}
				stamp(batch_from, seq + 1);
				batch_from = seq + 1;
				used = 0;
				drain_input(fd);
				if (pace_us)
					usleep((useconds_t)pace_us);
			}
			if (cut && !disconnected && (long)seq == o->disconnect_at) {
				disconnected = 1;
				fprintf(stderr, "feedpeer: disconnect after %llu\n",
					(unsigned long long)seq);
				sleep_ms(20);
				reset_close(fd);
				broke = 2;
				break;
			}
			if (cut && !restarted && (long)seq == o->restart_at) {
				restarted = 1;
				fprintf(stderr, "feedpeer: restart after %llu\n",
					(unsigned long long)seq);
				reset_close(fd);
				close(lfd);
				sleep_ms(300);
				lfd = listen_on(port);
				broke = 2;
				break;
			}
			if (!stalled && (long)seq == o->stall_at) {
				stalled = 1;
				fprintf(stderr, "feedpeer: stall after %llu\n",
					(unsigned long long)seq);
				idle_for(fd, o->stall_ms, 0);
			}
			if (!quieted && (long)seq == o->quiet_at) {
				quieted = 1;
				fprintf(stderr, "feedpeer: quiet after %llu\n",
					(unsigned long long)seq);
				if (idle_for(fd, o->quiet_ms, 1) != 0) {
					broke = 1;
					break;
				}
			}
		}
		if (broke) {
			if (broke == 1)
				close(fd);
			continue;
		}
		if (!o->no_end) {
			send_packet(fd, 'Z', NULL, 0);
			fprintf(stderr, "feedpeer: end of session after %zu\n", nmsg);
		}
		/* until the client logs out or goes (bounded) */
		double until = now_s() + 5;
		while (now_s() < until) {
			struct pollfd q = {fd, POLLIN, 0};
			if (poll(&q, 1, 200) > 0) {
				uint8_t b[256];
				if (recv(fd, b, sizeof b, 0) <= 0)
					break;
			}
			if (o->no_end)
				send_packet(fd, 'H', NULL, 0);
		}
		close(fd);
		close(lfd);
		write_send_log();
		return 0;
	}
}

/* ------------------------------------------------------------ mold */

struct mold_opts {
	const char *session, *drop, *dup, *swap;
	long per_packet, drop_every, delay_ms, linger_ms, restart_at, rr_port;
	int deny;
	struct sockaddr_in to;
};

/* Packet i: messages [first[i], first[i+1]) (1-based seqs). */
static uint64_t *first;
static size_t npkt;

static void plan_packets(long per)
{
	first = malloc((nmsg + 2) * sizeof *first);
	uint64_t s = 1;
	while (s <= nmsg) {
		first[npkt++] = s;
		size_t bytes = MOLD_HDR_LEN;
		long k = 0;
		while (s <= nmsg && k < per) {
			size_t len;
			msg(s, &len);
			if (bytes + 2 + len > 1400)
				break;
			bytes += 2 + len;
			s++;
			k++;
		}
	}
	first[npkt] = nmsg + 1;
}

static size_t build(uint8_t *out, const char *session, uint64_t from, uint64_t to)
{
	mold_header_build(out, session, from, (uint16_t)(to - from));
	size_t pos = MOLD_HDR_LEN;
	for (uint64_t s = from; s < to; s++) {
		size_t len;
		const uint8_t *m = msg(s, &len);
		out[pos] = (uint8_t)(len >> 8);
		out[pos + 1] = (uint8_t)len;
		memcpy(out + pos + 2, m, len);
		pos += 2 + len;
	}
	return pos;
}

static void send_pkt(int fd, const struct sockaddr_in *to, const struct mold_opts *o, size_t i)
{
	uint8_t buf[2048];
	size_t n = build(buf, o->session, first[i], first[i + 1]);
	for (int tries = 0; tries < 100; tries++) {
		if (sendto(fd, buf, n, 0, (const struct sockaddr *)to, sizeof *to) >= 0) {
			stamp(first[i], first[i + 1]);
			if (pace_us)
				usleep((useconds_t)pace_us);
			return;
		}
		if (errno != ENOBUFS && errno != EAGAIN)
			return;
		sleep_ms(1);
	}
}

/* Answers the re-requests waiting (each with the packets of what it asks). */
static void serve_requests(int rfd, const struct mold_opts *o)
{
	uint8_t buf[256];
	struct sockaddr_in from;
	socklen_t fl = sizeof from;
	ssize_t k;
	while ((k = recvfrom(rfd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &fl)) >=
	       0) {
		struct mold_header h;
		if (mold_request_parse(buf, (size_t)k, &h) != 0 || o->deny)
			continue;
		uint64_t end = h.seq + h.count;
		if (end > nmsg + 1)
			end = nmsg + 1;
		fprintf(stderr, "feedpeer: re-request %llu+%u\n", (unsigned long long)h.seq,
			h.count);
		for (uint64_t s = h.seq; s >= 1 && s < end;) {
			/* the original packet boundaries from s */
			size_t lo = 0, hi = npkt;
			while (hi - lo > 1) {
				size_t mid = (lo + hi) / 2;
				if (first[mid] <= s)
					lo = mid;
				else
					hi = mid;
			}
			uint64_t to = first[lo + 1] < end ? first[lo + 1] : end;
			uint8_t out[2048];
			size_t n = build(out, o->session, s, to);
			sendto(rfd, out, n, 0, (struct sockaddr *)&from, fl);
			s = to;
		}
		fl = sizeof from;
	}
}

static void control(int fd, int rfd, const struct mold_opts *o, uint64_t seq, uint16_t count)
{
	uint8_t buf[MOLD_HDR_LEN];
	mold_header_build(buf, o->session, seq, count);
	sendto(fd, buf, sizeof buf, 0, (const struct sockaddr *)&o->to, sizeof o->to);
	serve_requests(rfd, o);
}

static int run_mold(const struct mold_opts *o, const char *port_file)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0), rfd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || rfd < 0)
		die("socket");
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0)
		die("bind");
	a.sin_port = htons((uint16_t)o->rr_port);
	if (bind(rfd, (struct sockaddr *)&a, sizeof a) != 0)
		die("bind the re-request port");
	plan_packets(o->per_packet);
	write_port(port_file, bound_port(rfd));
	sleep_ms((int)o->delay_ms);
	for (size_t i = 0; i < npkt; i++) {
		check_deadline();
		if ((long)i == o->restart_at) {
			fprintf(stderr, "feedpeer: publisher restart before packet %zu\n", i);
			sleep_ms(300);
		}
		if (in_list(o->swap, (long)i) && i + 1 < npkt) {
			send_pkt(fd, &o->to, o, i + 1);
			send_pkt(fd, &o->to, o, i);
			i++;
		} else if (!in_list(o->drop, (long)i) &&
			   !(o->drop_every > 0 &&
			     i % (size_t)o->drop_every == (size_t)o->drop_every - 1)) {
			send_pkt(fd, &o->to, o, i);
			if (in_list(o->dup, (long)i))
				send_pkt(fd, &o->to, o, i);
		}
		if (i % 32 == 31) {
			serve_requests(rfd, o);
			usleep(100);
		}
	}
	for (int k = 0; k < 2; k++) { /* heartbeats, then the end of the session */
		control(fd, rfd, o, nmsg + 1, MOLD_HEARTBEAT);
		sleep_ms(50);
	}
	double end = now_s() + (double)o->linger_ms / 1000, next = 0;
	while (now_s() < end) {
		check_deadline();
		if (now_s() >= next) {
			control(fd, rfd, o, nmsg + 1, MOLD_END);
			next = now_s() + 0.1;
		}
		struct pollfd p = {rfd, POLLIN, 0};
		poll(&p, 1, 20);
		serve_requests(rfd, o);
	}
	close(fd);
	close(rfd);
	write_send_log();
	return 0;
}

static int free_udp_port(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0)
		die("bind");
	printf("%d\n", bound_port(fd));
	close(fd);
	return 0;
}

static char *read_first_line(const char *path)
{
	static char line[256];
	FILE *f = fopen(path, "r");
	if (!f || !fgets(line, sizeof line, f))
		die(path);
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	return line;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "udp-port"))
		return free_udp_port();
	if (argc < 2 || (strcmp(argv[1], "soup") && strcmp(argv[1], "mold"))) {
		fprintf(stderr, "usage: feedpeer soup|mold|udp-port ... (see its header)\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	struct soup_opts so = {.session = "TEST000001", .batch = 64};
	struct mold_opts mo = {.session = "TEST000001",
			       .per_packet = 32,
			       .linger_ms = 3000,
			       .delay_ms = 200,
			       .restart_at = -1};
	so.disconnect_at = so.restart_at = so.stall_at = so.quiet_at = -1;
	const char *dayf = NULL, *port_file = NULL;
	double timeout = 60;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int flag = !strcmp(a, "--no-end") || !strcmp(a, "--deny-rerequest");
		if (!flag && !v) {
			fprintf(stderr, "feedpeer: %s needs a value\n", a);
			return 2;
		}
		if (!strcmp(a, "--no-end"))
			so.no_end = 1;
		else if (!strcmp(a, "--deny-rerequest"))
			mo.deny = 1;
		else if (!strcmp(a, "--day"))
			dayf = v;
		else if (!strcmp(a, "--port-file"))
			port_file = v;
		else if (!strcmp(a, "--session"))
			so.session = mo.session = v;
		else if (!strcmp(a, "--user"))
			so.user = v;
		else if (!strcmp(a, "--passfile"))
			so.pass = read_first_line(v);
		else if (!strcmp(a, "--disconnect-at"))
			so.disconnect_at = atol(v);
		else if (!strcmp(a, "--restart-at"))
			so.restart_at = mo.restart_at = atol(v);
		else if (!strcmp(a, "--stall-at"))
			so.stall_at = atol(v);
		else if (!strcmp(a, "--stall-ms"))
			so.stall_ms = atol(v);
		else if (!strcmp(a, "--quiet-at"))
			so.quiet_at = atol(v);
		else if (!strcmp(a, "--quiet-ms"))
			so.quiet_ms = atol(v);
		else if (!strcmp(a, "--batch"))
			so.batch = atol(v) > 0 ? atol(v) : 1;
		else if (!strcmp(a, "--per-packet"))
			mo.per_packet = atol(v) > 0 ? atol(v) : 1;
		else if (!strcmp(a, "--drop"))
			mo.drop = v;
		else if (!strcmp(a, "--dup"))
			mo.dup = v;
		else if (!strcmp(a, "--swap"))
			mo.swap = v;
		else if (!strcmp(a, "--drop-every"))
			mo.drop_every = atol(v);
		else if (!strcmp(a, "--delay-ms"))
			mo.delay_ms = atol(v);
		else if (!strcmp(a, "--send-log"))
			send_log = v;
		else if (!strcmp(a, "--pace-us"))
			pace_us = atol(v);
		else if (!strcmp(a, "--rr-port"))
			mo.rr_port = atol(v);
		else if (!strcmp(a, "--linger-ms"))
			mo.linger_ms = atol(v);
		else if (!strcmp(a, "--timeout-s"))
			timeout = atof(v);
		else if (!strcmp(a, "--to")) {
			char host[64];
			const char *c = strrchr(v, ':');
			if (!c || (size_t)(c - v) >= sizeof host)
				return fprintf(stderr, "feedpeer: --to HOST:PORT\n"), 2;
			memcpy(host, v, (size_t)(c - v));
			host[c - v] = '\0';
			mo.to.sin_family = AF_INET;
			mo.to.sin_port = htons((uint16_t)atoi(c + 1));
			if (inet_pton(AF_INET, host, &mo.to.sin_addr) != 1)
				return fprintf(stderr, "feedpeer: --to %s: an IPv4 address\n", v),
				       2;
		} else {
			fprintf(stderr, "feedpeer: unknown option %s\n", a);
			return 2;
		}
		if (!flag)
			i++;
	}
	if (!dayf || !port_file)
		return fprintf(stderr, "feedpeer: --day and --port-file are needed\n"), 2;
	deadline = now_s() + timeout;
	load_day(dayf);
	if (send_log && !(sent_at = calloc(nmsg + 1, sizeof *sent_at)))
		die("calloc");
	return !strcmp(argv[1], "soup") ? run_soup(&so, port_file) : run_mold(&mo, port_file);
}
