/*
 * test_venue_fix — the FIX venue and its session against a counterparty
 * written here on the codec (a listener on 127.0.0.1, an ephemeral port):
 * cancel/replace at the venue level (OrderCancelReplaceRequest, pending
 * replace, replaced, a replace rejected), cancel, a report for an unknown
 * order counted, a garbled message dropped, a bad field answered with a
 * session Reject, and an incoming gap filled through a ResendRequest before
 * the message after it is applied. Every wait is bounded.
 */
#include "check.h"
#include "clock.h"
#include "fix.h"
#include "oms.h"
#include "symtab.h"
#include "venue_fix.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* ------------------------------------------------------------ the counterparty */

struct peer {
	struct bufferevent *bev;
	int64_t out_seq;
	int replace_reject; /* answer the next G with 35=9 */
	/* what it received */
	int got_logon, got_d, got_g, got_f, got_reject, got_resend;
	int64_t reject_ref_seq, reject_ref_tag, resend_begin;
	char g_orig[32], g_id[32], g_qty[16], g_px[16], f_orig[32];
	char raw[4][512]; /* messages to send as they are (garbled, ...) */
};

static struct peer P;

static void psend(const char *type, const char *body, int64_t seq)
{
	char buf[1024], raw[512];
	struct fix_writer w;
	fix_begin(&w, buf, sizeof buf, type);
	fix_add_str(&w, 49, "EXEC");
	fix_add_str(&w, 56, "HOST");
	fix_add_int(&w, 34, seq);
	fix_add_time(&w, 52, clock_wall_ns());
	size_t n = strlen(body);
	for (size_t i = 0; i < n; i++)
		raw[i] = body[i] == '|' ? FIX_SOH : body[i];
	fix_add_raw(&w, raw, n);
	const char *m;
	long len = fix_finish(&w, &m);
	bufferevent_write(P.bev, m, (size_t)len);
}

static void reply(const char *type, const char *body)
{
	psend(type, body, P.out_seq++);
}

static void on_msg(const struct fix_msg *m)
{
	char id[32] = "", orig[32] = "", b[512];
	fix_get_str(m, 11, id, sizeof id);
	fix_get_str(m, 41, orig, sizeof orig);
	switch (m->type[0]) {
	case 'A':
		P.got_logon++;
		reply("A", "98=0|108=30|");
		break;
	case 'D':
		P.got_d++;
		snprintf(b, sizeof b, "37=O1|17=E%d|150=0|39=0|54=1|151=100|14=0|6=0|11=%s|55=XYZ|",
			 P.got_d, id);
		reply("8", b);
		break;
	case 'G':
		P.got_g++;
		snprintf(P.g_orig, sizeof P.g_orig, "%s", orig);
		snprintf(P.g_id, sizeof P.g_id, "%s", id);
		fix_get_str(m, 38, P.g_qty, sizeof P.g_qty);
		fix_get_str(m, 44, P.g_px, sizeof P.g_px);
		if (P.replace_reject) {
			snprintf(b, sizeof b, "37=O1|11=%s|41=%s|39=0|434=2|102=0|58=too late|", id,
				 orig);
			reply("9", b);
		} else {
			snprintf(b, sizeof b,
				 "37=O1|17=G%dE|150=E|39=E|54=1|151=100|14=0|6=0|11=%s|41=%s|",
				 P.got_g, id, orig);
			reply("8", b);
			snprintf(b, sizeof b,
				 "37=O1|17=G%dR|150=5|39=0|54=1|151=%s|14=0|6=0|11=%s|41=%s|38=%s|"
				 "44=%s|",
				 P.got_g, P.g_qty, id, orig, P.g_qty, P.g_px);
			reply("8", b);
		}
		break;
	case 'F':
		P.got_f++;
		snprintf(P.f_orig, sizeof P.f_orig, "%s", orig);
		snprintf(b, sizeof b, "37=O1|17=C1|150=4|39=4|54=1|151=0|14=0|6=0|11=%s|41=%s|", id,
			 orig);
		reply("8", b);
		break;
	case '1':
		fix_get_str(m, 112, id, sizeof id);
		snprintf(b, sizeof b, "112=%s|", id);
		reply("0", b);
		break;
	case '3':
		P.got_reject++;
		fix_get_int(m, 45, &P.reject_ref_seq);
		fix_get_int(m, 371, &P.reject_ref_tag);
		break;
	case '2':
		P.got_resend++;
		fix_get_int(m, 7, &P.resend_begin);
		/* the one skipped comes back as a gap fill (the test skips one) */
		snprintf(b, sizeof b, "123=Y|36=%lld|", (long long)P.resend_begin + 1);
		psend("4", b, P.resend_begin);
		break;
	case '5':
		reply("5", "");
		break;
	}
}

static void peer_read(struct bufferevent *bev, void *arg)
{
	(void)arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	static struct fix_msg m;
	for (;;) {
		size_t n = evbuffer_get_length(in), used;
		const char *why;
		const char *p = (const char *)evbuffer_pullup(in, -1);
		if (n == 0 || fix_frame(p, n, 8192, &used, &why) == FIX_FRAME_MORE)
			break;
		struct fix_error err;
		if (fix_parse(p, used, &m, &err) == 0)
			on_msg(&m);
		evbuffer_drain(in, used);
	}
}

static void peer_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
			void *arg)
{
	(void)sa;
	(void)len;
	(void)arg;
	P.bev = bufferevent_socket_new(evconnlistener_get_base(l), fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(P.bev, peer_read, NULL, NULL, NULL);
	bufferevent_enable(P.bev, EV_READ | EV_WRITE);
}

/* ------------------------------------------------------------ helpers */

static struct event_base *base;

/* Runs the loop until cond holds or 5 s pass; 1 when it held. */
#define WAIT_FOR(cond)                                                                             \
	({                                                                                         \
		double t0_ = clock_mono_s();                                                       \
		while (!(cond) && clock_mono_s() - t0_ < 5)                                        \
			event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(1000);        \
		(cond) ? 1 : 0;                                                                    \
	})

int main(void)
{
	char dir[] = "/tmp/test_venue_fix.XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	base = event_base_new();
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	struct evconnlistener *l = evconnlistener_new_bind(
	    base, peer_accept, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 4,
	    (struct sockaddr *)&sin, sizeof sin);
	CHECK(l != NULL);
	socklen_t slen = sizeof sin;
	getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&sin, &slen);
	P.out_seq = 1;

	struct symtab *st = symtab_new();
	int xyz = symtab_intern(st, "XYZ", 3);
	struct oms *oms = oms_new(1, 1e6);
	struct venue_fix_config c = {.s = {.host = "127.0.0.1",
					   .port = ntohs(sin.sin_port),
					   .sender = "HOST",
					   .target = "EXEC",
					   .heartbeat_s = 30,
					   .store_dir = dir,
					   .resend_max_age_s = 60,
					   .reconnect_min_s = 0.1,
					   .connect_timeout_s = 2},
				     .url = "fix://test"};
	char err[512];
	struct venue_fix *v = venue_fix_new(oms, st, &c, err, sizeof err);
	CHECK(v != NULL);
	CHECK_EQ_INT(venue_fix_start(v, base, err, sizeof err), 0);
	CHECK(WAIT_FOR(venue_fix_up(v)));
	CHECK_EQ_INT(P.got_logon, 1);

	/* an order, acknowledged */
	struct order *o = oms_create(oms, 0, xyz, SIDE_BUY, ORD_LIMIT, TIF_DAY, 100, 10, 0, 1);
	CHECK_EQ_INT(venue_fix_ops.submit(v, o, 0), 0);
	CHECK_EQ_INT(o->status, ST_PENDING);
	CHECK(WAIT_FOR(o->status == ST_ACCEPTED));

	/* replace: pending replace, then replaced with the venue's quantity and price */
	CHECK_EQ_INT(venue_fix_ops.replace(v, o, 60, 10.5, 0), 0);
	CHECK_EQ_INT(o->status, ST_REPLACE_PENDING);
	CHECK_EQ_INT(venue_fix_ops.replace(v, o, 50, 10.5, 0), -1); /* one at a time */
	CHECK(WAIT_FOR(o->status == ST_ACCEPTED && o->qty == 60));
	CHECK_NEAR(o->price, 10.5, 0);
	CHECK_STR(P.g_orig, "R1-1-0");
	CHECK_STR(P.g_id, "R1-1-1");
	CHECK_STR(P.g_qty, "60");
	CHECK_STR(P.g_px, "10.5");

	/* a replace the venue refuses: working as it was */
	P.replace_reject = 1;
	CHECK_EQ_INT(venue_fix_ops.replace(v, o, 80, 11, 0), 0);
	CHECK(WAIT_FOR(o->status == ST_ACCEPTED && P.got_g == 2));
	CHECK_STR(o->reason, "replace_rejected");
	CHECK_NEAR(o->qty, 60, 0);
	CHECK_NEAR(o->price, 10.5, 0);
	CHECK_STR(P.g_orig, "R1-1-1"); /* the ClOrdID the venue holds */

	/* a garbled message is dropped; a bad field gets a Reject naming it */
	char junk[] = "8=FIX.4.4\0019=5\00135=0\00110=000\001";
	bufferevent_write(P.bev, junk, sizeof junk - 1);
	int64_t bad_seq = P.out_seq++;
	psend("0", "", bad_seq); /* well formed: 52 set */
	char bad[256];
	struct fix_writer w;
	fix_begin(&w, bad, sizeof bad, "0");
	fix_add_str(&w, 49, "EXEC");
	fix_add_str(&w, 56, "HOST");
	fix_add_int(&w, 34, P.out_seq);
	fix_add_str(&w, 52, "not a time");
	const char *bm;
	long bl = fix_finish(&w, &bm);
	bufferevent_write(P.bev, bm, (size_t)bl);
	int64_t rejected = P.out_seq++;
	CHECK(WAIT_FOR(P.got_reject == 1));
	CHECK_EQ_INT(P.reject_ref_seq, rejected);
	CHECK_EQ_INT(P.reject_ref_tag, 52);
	struct venue_fix_stats s;
	venue_fix_stats(v, &s);
	CHECK_EQ_INT(s.session.garbled, 1);
	CHECK_EQ_INT(s.session.next_in, P.out_seq); /* the rejected one consumed its number */

	/* a report for an order this run never sent: counted */
	reply("8", "37=X|17=X1|150=0|39=0|54=1|151=1|14=0|6=0|11=R9-9-0|55=XYZ|");
	CHECK(WAIT_FOR((venue_fix_stats(v, &s), s.unknown_reports == 1)));

	/* a gap: the message after it waits for the ResendRequest's gap fill */
	P.out_seq++; /* skip one */
	struct order *o2 = oms_create(oms, 0, xyz, SIDE_SELL, ORD_LIMIT, TIF_GTC, 5, 12, 0, 1);
	CHECK_EQ_INT(venue_fix_ops.submit(v, o2, 0), 0);
	CHECK(WAIT_FOR(o2->status == ST_ACCEPTED));
	CHECK_EQ_INT(P.got_resend, 1);
	CHECK_EQ_INT(P.resend_begin, P.out_seq - 2);

	/* cancel: F names the current ClOrdID, the venue's cancel ends it */
	CHECK_EQ_INT(venue_fix_ops.cancel(v, o, 0), 0);
	CHECK_EQ_INT(o->status, ST_CANCEL_PENDING);
	CHECK(WAIT_FOR(o->status == ST_CANCELED));
	CHECK_STR(o->reason, "canceled");
	CHECK_STR(P.f_orig, "R1-1-1");

	/* venue down: refused with its reason */
	venue_fix_stop(v);
	CHECK(WAIT_FOR(venue_fix_closed(v)));
	struct order *o3 = oms_create(oms, 0, xyz, SIDE_BUY, ORD_MARKET, TIF_DAY, 1, 0, 0, 1);
	CHECK_EQ_INT(venue_fix_ops.submit(v, o3, 0), -1);
	CHECK_STR(o3->reason, "venue_down");

	venue_fix_detach(v);
	venue_fix_ops.free(v);
	if (P.bev)
		bufferevent_free(P.bev);
	evconnlistener_free(l);
	event_base_free(base);
	oms_free(oms);
	symtab_free(st);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return check_summary();
}
