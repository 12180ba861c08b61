/*
 * venue_fix — the FIX 4.4 venue (see venue_fix.h for its contract).
 *
 * Each order of the oms has a slot here (by order id): the generation of
 * the ClOrdID the venue holds now, the one of a cancel or replace in
 * flight, the venue's OrderID, and whether the host holds it as a stop the
 * venue does not take. Reports are matched by ClOrdID (11), else by
 * OrigClOrdID (41).
 */
#include "venue_fix.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "feed.h"
#include "log.h"

struct vf_order {
	int64_t id;	  /* 0: a slot this venue never saw */
	int gen, cur_gen; /* the last ClOrdID made; the one the venue holds */
	int pend_gen;	  /* a cancel or replace in flight, 0 none */
	char pend_kind;	  /* 'F' or 'G' */
	unsigned char host_stop;
	const char
	    *cancel_why; /* static: why we asked to cancel ("canceled", "end_of_data"), NULL none */
	double rq, rp;	 /* a replace's asked quantity and price */
	unsigned char recovered; /* from the journal: asked about at the venue (reconcile) */
};

struct venue_fix {
	struct oms *oms;
	const struct symtab *st;
	struct venue_fix_config c;
	struct fix_session *sess;
	struct vf_order *ord;
	int64_t nord;
	int run;
	void (*fn)(void *ud, int ev, const char *detail);
	void *ud;
	long requests, synced, sync_n;
	int sync_out, ever_up, told_stops;
	char sync_id[32];
	char fatal[512];
	struct venue_fix_stats stats;
	/* recovery (reconcile): the run the journal's orders were sent in, the
	 * orders to ask about at the next logon */
	int prev_run, resumed, recovering; /* recovering: asks left for the next logon */
	int64_t *ask;
	int nask, capask;
};

static int64_t vnow(const struct venue_fix *v)
{
	return v->c.now ? v->c.now(v->c.now_ud) : clock_wall_ns();
}

static void notify(struct venue_fix *v, int ev, const char *detail)
{
	if (v->fn)
		v->fn(v->ud, ev, detail);
}

/* ------------------------------------------------------------ ClOrdIDs */

static int next_run(const char *dir, const char *sender, const char *target, char *err,
		    size_t errlen)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s-%s.run", dir ? dir : ".", sender, target);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return errf_fail(err, errlen, "%s: %s", path, strerror(errno));
	char b[32] = "";
	ssize_t r = pread(fd, b, sizeof b - 1, 0);
	char *end;
	long run = r > 0 ? strtol(b, &end, 10) : 0;
	run = run < 0 || run >= 999999999 ? 1 : run + 1;
	int n = snprintf(b, sizeof b, "%012ld\n", run);
	if (pwrite(fd, b, (size_t)n, 0) != n || fsync(fd) != 0) {
		close(fd);
		return errf_fail(err, errlen, "%s: cannot write: %s", path, strerror(errno));
	}
	close(fd);
	return (int)run;
}

/* A resumed host goes on with its last run's ClOrdIDs (its order ids go on
 * from the journal, so none repeats): the run file is set back to it. */
static int set_run(const char *dir, const char *sender, const char *target, int run)
{
	char path[4096], b[32];
	snprintf(path, sizeof path, "%s/%s-%s.run", dir ? dir : ".", sender, target);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	int n = snprintf(b, sizeof b, "%012d\n", run);
	int rc = pwrite(fd, b, (size_t)n, 0) == n && fsync(fd) == 0 ? 0 : -1;
	close(fd);
	return rc;
}

static void clordid(const struct venue_fix *v, int64_t id, int gen, char *out, size_t len)
{
	snprintf(out, len, "R%d-%lld-%d", v->run, (long long)id, gen);
}

static struct vf_order *slot(struct venue_fix *v, int64_t id)
{
	if (id <= 0)
		return NULL;
	if (id > v->nord) {
		int64_t n = v->nord ? v->nord : 1024;
		while (n < id)
			n *= 2;
		struct vf_order *p = realloc(v->ord, (size_t)n * sizeof *p);
		if (!p)
			return NULL;
		memset(p + v->nord, 0, (size_t)(n - v->nord) * sizeof *p);
		v->ord = p;
		v->nord = n;
	}
	return &v->ord[id - 1];
}

/* The order a ClOrdID of this run names, and its generation. */
static struct vf_order *by_clordid(struct venue_fix *v, const struct fix_msg *m, int tag, int *gen)
{
	char s[64], *p, *q;
	if (fix_get_str(m, tag, s, sizeof s) != 0 || s[0] != 'R')
		return NULL;
	long run = strtol(s + 1, &p, 10);
	if (p == s + 1 || *p != '-' || run != v->run)
		return NULL;
	long long id = strtoll(p + 1, &q, 10);
	if (q == p + 1 || *q != '-' || id <= 0 || id > v->nord || v->ord[id - 1].id != id)
		return NULL;
	long g = strtol(q + 1, &p, 10);
	if (p == q + 1 || *p != '\0' || g < 0 || g > 1000000)
		return NULL;
	*gen = (int)g;
	return &v->ord[id - 1];
}

/* ------------------------------------------------------------ sending */

static char side_char(int side)
{
	return side == SIDE_BUY ? '1' : '2';
}

static char ordtype_char(const struct venue_fix *v, const struct order *o, int held)
{
	if (o->type == ORD_LIMIT || (o->type == ORD_STOP_LIMIT && held))
		return '2';
	if (o->type == ORD_STOP && !held && v->c.native_stops)
		return '3';
	if (o->type == ORD_STOP_LIMIT && !held && v->c.native_stops)
		return '4';
	return '1';
}

static char tif_char(int tif)
{
	switch (tif) {
	case TIF_IOC:
		return '3';
	case TIF_GTC:
		return '1';
	case TIF_FOK:
		return '4';
	default:
		return '0';
	}
}

static void common(struct venue_fix *v, struct fix_writer *w, const struct order *o)
{
	const char *sym = symtab_name(v->st, o->sym);
	if (v->c.account)
		fix_add_str(w, 1, v->c.account);
	fix_add_str(w, 55, sym ? sym : "?");
	fix_add_char(w, 54, side_char(o->side));
	fix_add_time(w, 60, clock_wall_ns());
}

/* NewOrderSingle for o (triggered: a held stop the market reached). */
static int send_new(struct venue_fix *v, struct order *o, struct vf_order *f, int triggered)
{
	struct fix_writer *w = fix_session_begin(v->sess, "D");
	if (!w)
		return -1;
	char id[64];
	clordid(v, o->id, f->gen, id, sizeof id);
	fix_add_str(w, 11, id);
	common(v, w, o);
	fix_add_price(w, 38, o->qty);
	char t = ordtype_char(v, o, triggered);
	fix_add_char(w, 40, t);
	if (t == '2' || t == '4')
		fix_add_price(w, 44, o->price);
	if (t == '3' || t == '4')
		fix_add_price(w, 99, o->stop);
	fix_add_char(w, 59, tif_char(o->tif));
	if (fix_session_send(v->sess) != 0)
		return -1;
	v->requests++;
	v->stats.sent_new++;
	return 0;
}

static int vf_submit(void *self, struct order *o, int64_t now)
{
	struct venue_fix *v = self;
	struct vf_order *f = slot(v, o->id);
	if (!f) {
		o->reason = "out_of_memory";
		return -1;
	}
	if (!fix_session_up(v->sess)) {
		o->reason = "venue_down";
		return -1;
	}
	*f = (struct vf_order){.id = o->id};
	int stop = o->type == ORD_STOP || o->type == ORD_STOP_LIMIT;
	if (stop && (!v->c.native_stops || o->trail != 0)) {
		if (!v->told_stops++)
			log_msg(LOG_INFO, "fix",
				"stops are held by the host and sent when the market "
				"reaches them (venue.order_types has no %s)",
				o->trail != 0 ? "trailing stop" : "stop");
		f->host_stop = 1;
		oms_accept(v->oms, o, now);
		return 0;
	}
	if (send_new(v, o, f, 0) != 0) {
		o->reason = "venue_down";
		return -1;
	}
	oms_pending(v->oms, o, now);
	return 0;
}

/* A cancel or replace request: F or G for o's current ClOrdID. */
static int send_change(struct venue_fix *v, struct order *o, struct vf_order *f, char kind,
		       double qty, double price)
{
	struct fix_writer *w = fix_session_begin(v->sess, kind == 'F' ? "F" : "G");
	if (!w)
		return -1;
	char orig[64], id[64];
	clordid(v, o->id, f->cur_gen, orig, sizeof orig);
	clordid(v, o->id, f->gen + 1, id, sizeof id);
	fix_add_str(w, 41, orig);
	fix_add_str(w, 11, id);
	common(v, w, o);
	fix_add_price(w, 38, kind == 'F' ? o->qty : qty);
	if (kind == 'G') {
		char t = ordtype_char(v, o, 0);
		fix_add_char(w, 40, t);
		if (t == '2' || t == '4')
			fix_add_price(w, 44, price);
		if (t == '3' || t == '4')
			fix_add_price(w, 99, o->stop);
		fix_add_char(w, 59, tif_char(o->tif));
	}
	if (fix_session_send(v->sess) != 0)
		return -1;
	f->gen++;
	f->pend_gen = f->gen;
	f->pend_kind = kind;
	v->requests++;
	if (kind == 'F')
		v->stats.sent_cancel++;
	else
		v->stats.sent_replace++;
	return 0;
}

static int cancel_with(struct venue_fix *v, struct order *o, const char *why, int64_t now)
{
	struct vf_order *f = o->id <= v->nord ? &v->ord[o->id - 1] : NULL;
	if (!f || f->id != o->id || !oms_is_open(o))
		return -1;
	if (f->host_stop) { /* never left the host */
		oms_cancel(v->oms, o, why, now);
		return 0;
	}
	if (f->pend_kind == 'F')
		return 0; /* asked already */
	if (!fix_session_up(v->sess) || send_change(v, o, f, 'F', 0, 0) != 0)
		return -1;
	f->cancel_why = why;
	oms_cancel_pending(v->oms, o, now);
	return 0;
}

static int vf_cancel(void *self, struct order *o, int64_t now)
{
	return cancel_with(self, o, "canceled", now);
}

static int vf_replace(void *self, struct order *o, double qty, double price, int64_t now)
{
	struct venue_fix *v = self;
	struct vf_order *f = o->id <= v->nord ? &v->ord[o->id - 1] : NULL;
	if (!f || f->id != o->id || !oms_is_open(o) || f->pend_gen)
		return -1;
	if (f->host_stop) {
		oms_replace(v->oms, o, qty, price, now);
		return 0;
	}
	if (!fix_session_up(v->sess) || send_change(v, o, f, 'G', qty, price) != 0)
		return -1;
	f->rq = qty;
	f->rp = price;
	oms_replace_pending(v->oms, o, now);
	return 0;
}

static void vf_cancel_all(void *self, const char *reason, int64_t now)
{
	struct venue_fix *v = self;
	for (int s = 0; s < oms_nstrat(v->oms); s++)
		for (int i = oms_open_count(v->oms, s) - 1; i >= 0; i--) {
			if (i >= oms_open_count(v->oms, s))
				continue;
			cancel_with(v, oms_open_at(v->oms, s, i), reason, now);
		}
}

/* Held stops: sent once the market reaches them (the last price of a bar
 * or a trade, else the mark). */
static void vf_market(void *self, const struct feed_event *ev, int64_t now)
{
	struct venue_fix *v = self;
	double px = ev->kind == FEED_BAR ? ev->bar.close
		    : ev->has_trade	 ? ev->trade.price
					 : ev->mark;
	if (!(px > 0))
		return;
	for (int s = 0; s < oms_nstrat(v->oms); s++)
		for (int i = oms_open_count(v->oms, s) - 1; i >= 0; i--) {
			struct order *o = oms_open_at(v->oms, s, i);
			struct vf_order *f = o->id <= v->nord ? &v->ord[o->id - 1] : NULL;
			if (!f || !f->host_stop || o->sym != ev->sym)
				continue;
			if (o->trail != 0) { /* the stop follows the best price since placed */
				int better =
				    o->side == SIDE_BUY ? px < o->trail_best : px > o->trail_best;
				if (better) {
					o->trail_best = px;
					double d = o->trail_pct ? px * o->trail / 100 : o->trail;
					o->stop = o->side == SIDE_BUY ? px + d : px - d;
				}
			}
			int hit = o->side == SIDE_BUY ? px >= o->stop : px <= o->stop;
			if (!hit || !fix_session_up(v->sess))
				continue;
			if (send_new(v, o, f, 1) == 0) {
				f->host_stop = 0;
				o->triggered = 1;
				log_msg(LOG_INFO, "fix", "stop order %lld reached %.8g: sent",
					(long long)o->id, px);
			}
		}
	(void)now;
}

static int64_t vf_due(void *self)
{
	(void)self;
	return INT64_MAX;
}

static void vf_advance(void *self, int64_t now)
{
	(void)self;
	(void)now;
}

static void vf_status(void *self, struct venue_status *out)
{
	struct venue_fix *v = self;
	int up = fix_session_up(v->sess);
	out->state = up ? VENUE_UP : VENUE_DOWN;
	snprintf(out->detail, sizeof out->detail, "%s %s", v->c.url ? v->c.url : "fix",
		 up	       ? "logged on"
		 : v->fatal[0] ? v->fatal
			       : "down");
}

static void vf_free(void *self)
{
	struct venue_fix *v = self;
	if (!v)
		return;
	fix_session_free(v->sess);
	free(v->ord);
	free(v->ask);
	free(v);
}

/* ------------------------------------------------------------ recovery */

/* OrderStatusRequest (35=H) by the order's first ClOrdID (the venue knows
 * every ClOrdID an order had); 790 names it in the answer. */
static int send_status(struct venue_fix *v, const struct order *o)
{
	struct fix_writer *w = fix_session_begin(v->sess, "H");
	if (!w)
		return -1;
	char id[64], req[48];
	clordid(v, o->id, 0, id, sizeof id);
	snprintf(req, sizeof req, "RECON-%lld", (long long)o->id);
	const char *sym = symtab_name(v->st, o->sym);
	fix_add_str(w, 11, id);
	fix_add_str(w, 790, req);
	if (v->c.account)
		fix_add_str(w, 1, v->c.account);
	fix_add_str(w, 55, sym ? sym : "?");
	fix_add_char(w, 54, side_char(o->side)); /* no TransactTime: 35=H has none */
	if (fix_session_send(v->sess) != 0)
		return -1;
	v->requests++;
	v->stats.status_requests++;
	return 0;
}

/* At the logon after a restart: the mass status request (where the venue
 * takes it), then one status request per recovered working order. */
static void ask_recovered(struct venue_fix *v)
{
	if (!v->recovering)
		return;
	v->recovering = 0;
	if (v->c.mass_status) {
		struct fix_writer *w = fix_session_begin(v->sess, "AF");
		if (w) {
			char id[48];
			snprintf(id, sizeof id, "RECON-R%d", v->run);
			fix_add_str(w, 584, id);
			fix_add_char(w, 585, '7'); /* every order */
			if (fix_session_send(v->sess) == 0) {
				v->requests++;
				v->stats.status_requests++;
			}
		}
	}
	int sent = 0;
	for (int i = 0; i < v->nask; i++) {
		struct order *o = oms_get(v->oms, v->ask[i]);
		if (o && oms_is_open(o) && send_status(v, o) == 0)
			sent++;
	}
	log_msg(LOG_INFO, "fix",
		"recovery: asked the venue about %d working orders of the journal%s", sent,
		v->c.mass_status ? " (and every order it holds: mass status)" : "");
	v->nask = 0;
}

static int vf_reconcile(void *self, struct order *o, int64_t now)
{
	(void)now;
	struct venue_fix *v = self;
	if (!v->resumed) {
		v->resumed = 1;
		if (v->prev_run > 0 && v->prev_run != v->run) {
			if (set_run(v->c.s.store_dir, v->c.s.sender, v->c.s.target, v->prev_run) != 0)
				return -1; /* the next start would not find these ClOrdIDs */
			v->run = v->prev_run;
		}
	}
	if (!o) { /* every working order named: ask at the logon (or now) */
		v->recovering = 1;
		if (fix_session_up(v->sess))
			ask_recovered(v);
		return 0;
	}
	struct vf_order *f = slot(v, o->id);
	if (!f)
		return -1;
	*f = (struct vf_order){.id = o->id, .recovered = 1};
	int stop = o->type == ORD_STOP || o->type == ORD_STOP_LIMIT;
	if (stop && !o->triggered && (!v->c.native_stops || o->trail != 0)) {
		f->host_stop = 1; /* held here, never sent: nothing to ask */
		return 0;
	}
	int64_t *a = v->ask;
	if (v->nask == v->capask) {
		int cap = v->capask ? v->capask * 2 : 64;
		if (!(a = realloc(v->ask, (size_t)cap * sizeof *a)))
			return -1;
		v->ask = a;
		v->capask = cap;
	}
	v->ask[v->nask++] = o->id;
	return 0;
}

const struct venue_ops venue_fix_ops = {
    .name = "fix",
    .submit = vf_submit,
    .cancel = vf_cancel,
    .replace = vf_replace,
    .cancel_all = vf_cancel_all,
    .market = vf_market,
    .due = vf_due,
    .advance = vf_advance,
    .status = vf_status,
    .free = vf_free,
    .reconcile = vf_reconcile,
};

/* ------------------------------------------------------------ receiving */

static void unknown(struct venue_fix *v, const struct fix_msg *m, const char *what)
{
	char id[64] = "?", oid[64] = "", orig[64] = "";
	fix_get_str(m, 11, id, sizeof id);
	fix_get_str(m, 37, oid, sizeof oid);
	fix_get_str(m, 41, orig, sizeof orig);
	v->stats.unknown_reports++;
	log_msg(LOG_WARN, "fix",
		"%s for an order this run does not know (11=%s%s%s 37=%s): "
		"counted, not applied",
		what, id, *orig ? " 41=" : "", orig, oid);
}

/* The venue cannot settle this: the host halts (live.c, VF_UNSETTLED). */
static void unsettled(struct venue_fix *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void unsettled(struct venue_fix *v, const char *fmt, ...)
{
	char d[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d, sizeof d, fmt, ap);
	va_end(ap);
	v->stats.unsettled++;
	log_msg(LOG_ERROR, "fix", "reconcile: %s", d);
	notify(v, VF_UNSETTLED, d);
}

/* An ExecutionReport 150=I (a status): every difference with the book of
 * record that it settles is applied through the oms (journaled, to the
 * strategy's on_order / on_fill); what it cannot settle halts. */
static void apply_status(struct venue_fix *v, struct vf_order *f, struct order *o, int gen,
			 const struct fix_msg *m, int64_t now)
{
	char st = fix_get_char(m, 39), text[128] = "";
	double cum = 0, avg = 0, vq = 0, vp = 0;
	fix_get_str(m, 58, text, sizeof text);
	int have_cum = fix_get_double(m, 14, &cum) == 0;
	fix_get_double(m, 6, &avg);
	log_msg(LOG_INFO, "fix", "order %lld status at the venue: 39=%c 14=%.10g", (long long)o->id,
		st ? st : '?', cum);
	if (st == '8') { /* rejected, or an order the venue does not know */
		if (!oms_is_open(o))
			return;
		log_msg(LOG_WARN, "fix", "reconcile: order %lld unknown at the venue (%s): cancelled",
			(long long)o->id, *text ? text : "rejected");
		if (o->status == ST_PENDING && o->filled == 0)
			oms_reject(v->oms, o, "unknown_at_venue", -1);
		else
			oms_cancel(v->oms, o, "unknown_at_venue", now);
		return;
	}
	if (gen > f->gen)
		f->gen = gen;
	f->cur_gen = gen;
	const double eps = 1e-9 * (o->qty > 1 ? o->qty : 1);
	if (have_cum && cum < o->filled - eps) {
		unsettled(v, "order %lld: the venue has %.10g filled, the journal %.10g",
			  (long long)o->id, cum, o->filled);
		return;
	}
	if (!oms_is_open(o)) {
		if (have_cum && cum > o->filled + eps)
			unsettled(v, "order %lld is %s here, the venue has %.10g filled, not %.10g",
				  (long long)o->id, oms_status_name(o->status), cum, o->filled);
		return;
	}
	/* a replace confirmed while the host was down */
	if ((st == '0' || st == '1') && fix_get_double(m, 38, &vq) == 0 && vq > 0 &&
	    (vq != o->qty || (o->type == ORD_LIMIT && fix_get_double(m, 44, &vp) == 0 &&
			      vp > 0 && vp != o->price))) {
		log_msg(LOG_WARN, "fix", "reconcile: order %lld was replaced at the venue: %.10g @ %.10g",
			(long long)o->id, vq, vp > 0 ? vp : o->price);
		oms_replace(v->oms, o, vq, vp > 0 ? vp : o->price, now);
		if (!oms_is_open(o))
			return;
	}
	if (have_cum && cum > o->filled + eps) {
		double q = cum - o->filled;
		double px = o->filled > 0 ? (avg * cum - o->avg_price * o->filled) / q : avg;
		if (!(px > 0))
			px = avg;
		if (!(px > 0)) {
			unsettled(v, "order %lld: a fill of %.10g the host missed, without a price",
				  (long long)o->id, q);
			return;
		}
		if (q > o->qty - o->filled)
			q = o->qty - o->filled;
		log_msg(LOG_WARN, "fix",
			"reconcile: order %lld: a fill of %.10g at %.10g the host missed: applied",
			(long long)o->id, q, px);
		if (o->status == ST_PENDING && q < o->qty - o->filled)
			oms_accept(v->oms, o, now);
		v->stats.missed_fills++;
		oms_fill(v->oms, o, q, px, 0, now);
		if (!oms_is_open(o))
			return;
	}
	switch (st) {
	case '0':
	case '1':
		if (o->status == ST_PENDING)
			oms_accept(v->oms, o, now);
		else if (o->status == ST_CANCEL_PENDING) /* the cancel never reached it */
			oms_cancel_rejected(v->oms, o, "cancel_lost", now);
		else if (o->status == ST_REPLACE_PENDING)
			oms_replace_rejected(v->oms, o, "replace_lost", now);
		break;
	case '4':
		oms_cancel(v->oms, o, "venue_canceled", now);
		break;
	case 'C':
		oms_expire(v->oms, o, "expired", now);
		break;
	case '3':
		oms_expire(v->oms, o, "done_for_day", now);
		break;
	case '2': /* filled at the venue, not all of it here: a fill without its quantity */
		unsettled(v, "order %lld filled at the venue, %.10g of %.10g here",
			  (long long)o->id, o->filled, o->qty);
		break;
	default:
		break; /* pending states: their answer comes */
	}
}

static void exec_report(struct venue_fix *v, const struct fix_msg *m)
{
	int gen = 0;
	struct vf_order *f = by_clordid(v, m, 11, &gen);
	if (!f)
		f = by_clordid(v, m, 41, &gen);
	char et = fix_get_char(m, 150);
	if (!f) {
		char what[48], oid[64] = "", mass[64] = "";
		snprintf(what, sizeof what, "ExecutionReport 150=%c", et ? et : '?');
		unknown(v, m, what);
		fix_get_str(m, 37, oid, sizeof oid);
		fix_get_str(m, 584, mass, sizeof mass);
		if (et == 'I' && *mass && *oid && strcmp(oid, "NONE") != 0 &&
		    fix_get_char(m, 39) != '8') {
			char id[64] = "?";
			fix_get_str(m, 11, id, sizeof id);
			unsettled(v, "the venue has working order %s (11=%s) that the journal "
				     "does not", oid, id);
		}
		return;
	}
	struct order *o = oms_get(v->oms, f->id);
	int64_t now = vnow(v);
	char text[128] = "";
	fix_get_str(m, 58, text, sizeof text);
	double q = 0, px = 0, fee = 0;
	v->stats.reports++;
	if (!oms_is_open(o) && et != 'I') {
		log_msg(LOG_WARN, "fix",
			"ExecutionReport 150=%c for order %lld, already %s: ignored", et,
			(long long)o->id, oms_status_name(o->status));
		v->stats.unhandled++;
		return;
	}
	switch (et) {
	case 'A': /* PendingNew: working, not acknowledged: as it is */
		break;
	case '0':
		if (o->status == ST_PENDING)
			oms_accept(v->oms, o, now);
		break;
	case 'F':
		if (fix_get_double(m, 32, &q) != 0 || fix_get_double(m, 31, &px) != 0 || !(q > 0) ||
		    !(px > 0)) {
			log_msg(LOG_ERROR, "fix",
				"fill for order %lld without LastQty/LastPx: not applied",
				(long long)o->id);
			v->stats.unhandled++;
			break;
		}
		if (q > o->qty - o->filled) {
			log_msg(LOG_ERROR, "fix",
				"order %lld: fill of %.8g over the %.8g left: applied as "
				"%.8g",
				(long long)o->id, q, o->qty - o->filled, o->qty - o->filled);
			v->stats.overfills++;
			q = o->qty - o->filled;
		}
		fix_get_double(m, 12, &fee);
		if (o->status == ST_PENDING && o->filled == 0 && q < o->qty)
			oms_accept(v->oms, o, now); /* a partial fill acknowledges it */
		oms_fill(v->oms, o, q, px, fee, now);
		break;
	case '4':
		oms_cancel(v->oms, o, f->cancel_why ? f->cancel_why : "venue_canceled", now);
		break;
	case '5': {
		double nq = f->rq, np = f->rp;
		fix_get_double(m, 38, &nq);
		fix_get_double(m, 44, &np);
		f->cur_gen = gen;
		f->pend_gen = 0;
		f->pend_kind = 0;
		oms_replace(v->oms, o, nq, np, now); /* ST_REPLACED seen, then working */
		break;
	}
	case '6':
		if (o->status != ST_CANCEL_PENDING)
			oms_cancel_pending(v->oms, o, now);
		break;
	case 'E':
		if (o->status != ST_REPLACE_PENDING)
			oms_replace_pending(v->oms, o, now);
		break;
	case '8':
		log_msg(LOG_WARN, "fix", "order %lld rejected by the venue: %s", (long long)o->id,
			*text ? text : "(no text)");
		if (o->status == ST_PENDING || o->status == ST_NEW)
			oms_reject(v->oms, o, "venue_rejected", -1);
		else
			oms_cancel(v->oms, o, "venue_rejected", now);
		break;
	case 'C':
		oms_expire(v->oms, o, "expired", now);
		break;
	case '3':
		oms_expire(v->oms, o, "done_for_day", now);
		break;
	case 'I':
		apply_status(v, f, o, gen, m, now);
		break;
	default:
		log_msg(LOG_WARN, "fix",
			"ExecutionReport 150=%c for order %lld: not applied "
			"(no trade corrections or restatements here)",
			et ? et : '?', (long long)o->id);
		v->stats.unhandled++;
	}
	if (gen == f->pend_gen && (et == '4' || et == '5' || et == '8'))
		f->pend_gen = 0, f->pend_kind = 0;
}

static void cancel_reject(struct venue_fix *v, const struct fix_msg *m)
{
	int gen = 0;
	struct vf_order *f = by_clordid(v, m, 41, &gen);
	if (!f)
		f = by_clordid(v, m, 11, &gen);
	if (!f) {
		unknown(v, m, "OrderCancelReject");
		return;
	}
	v->stats.cancel_rejects++;
	struct order *o = oms_get(v->oms, f->id);
	int64_t now = vnow(v);
	char to = fix_get_char(m, 434), why = fix_get_char(m, 102), text[128] = "";
	fix_get_str(m, 58, text, sizeof text);
	f->pend_gen = 0;
	f->pend_kind = 0;
	f->cancel_why = NULL;
	log_msg(LOG_WARN, "fix", "%s of order %lld rejected (102=%c): %s",
		to == '2' ? "replace" : "cancel", (long long)o->id, why ? why : '?', text);
	if (!oms_is_open(o))
		return;
	if (why == '1' && o->status == ST_PENDING) { /* never reached the venue */
		oms_reject(v->oms, o, "venue_unknown", -1);
		return;
	}
	if (to == '2')
		oms_replace_rejected(v->oms, o, "replace_rejected", now);
	else
		oms_cancel_rejected(v->oms, o, "cancel_rejected", now);
}

static void on_app(void *ud, const struct fix_msg *m)
{
	struct venue_fix *v = ud;
	if (strcmp(m->type, "8") == 0)
		exec_report(v, m);
	else if (strcmp(m->type, "9") == 0)
		cancel_reject(v, m);
	else {
		char text[128] = "";
		fix_get_str(m, 58, text, sizeof text);
		log_msg(LOG_WARN, "fix", "message type %s not handled: %s", m->type, text);
		v->stats.unhandled++;
	}
	notify(v, VF_REPORT, NULL);
}

static void on_state(void *ud, int up, const char *detail)
{
	struct venue_fix *v = ud;
	if (!up) {
		v->sync_out = 0;
		notify(v, VF_DOWN, detail);
		return;
	}
	int again = v->ever_up;
	v->ever_up = 1;
	ask_recovered(v);
	if (again && v->c.cancel_on_reconnect) {
		int n = 0;
		for (int s = 0; s < oms_nstrat(v->oms); s++)
			n += oms_open_count(v->oms, s);
		log_msg(LOG_WARN, "fix",
			"session back: cancelling %d working orders "
			"(venue.cancel_on_reconnect)",
			n);
		vf_cancel_all(v, "venue_reconnect", vnow(v));
	}
	notify(v, VF_UP, detail);
}

static void on_fatal(void *ud, const char *msg)
{
	struct venue_fix *v = ud;
	snprintf(v->fatal, sizeof v->fatal, "%s", msg);
	notify(v, VF_FATAL, msg);
}

static void on_heartbeat(void *ud, const char *id)
{
	struct venue_fix *v = ud;
	if (v->sync_out && strcmp(id, v->sync_id) == 0) {
		v->sync_out = 0;
		notify(v, VF_SYNC, NULL);
	}
}

/* ------------------------------------------------------------ life */

struct venue_fix *venue_fix_new(struct oms *oms, const struct symtab *st,
				const struct venue_fix_config *c, char *err, size_t errlen)
{
	struct venue_fix *v = calloc(1, sizeof *v);
	if (!v)
		return errf(err, errlen, "out of memory"), NULL;
	v->oms = oms;
	v->st = st;
	v->c = *c;
	struct fix_session_cb cb = {on_app, on_state, on_fatal, on_heartbeat, v};
	if (!(v->sess = fix_session_new(&c->s, &cb, err, errlen))) {
		free(v);
		return NULL;
	}
	return v;
}

void venue_fix_listen(struct venue_fix *v, void (*fn)(void *ud, int ev, const char *detail),
		      void *ud)
{
	v->fn = fn;
	v->ud = ud;
}

int venue_fix_start(struct venue_fix *v, struct event_base *base, char *err, size_t errlen)
{
	v->run = next_run(v->c.s.store_dir, v->c.s.sender, v->c.s.target, err, errlen);
	if (v->run < 0)
		return -1;
	v->prev_run = v->run - 1;
	return fix_session_start(v->sess, base, err, errlen);
}

void venue_fix_detach(struct venue_fix *v)
{
	fix_session_detach(v->sess);
}

const char *venue_fix_fatal(const struct venue_fix *v)
{
	return v->fatal[0] ? v->fatal : NULL;
}

void venue_fix_stop(struct venue_fix *v)
{
	fix_session_stop(v->sess);
}

int venue_fix_closed(const struct venue_fix *v)
{
	return fix_session_closed(v->sess);
}

int venue_fix_up(const struct venue_fix *v)
{
	return fix_session_up(v->sess);
}

int venue_fix_busy(struct venue_fix *v)
{
	if (!fix_session_up(v->sess))
		return 1;
	if (v->sync_out)
		return 1;
	if (v->requests == v->synced)
		return 0;
	snprintf(v->sync_id, sizeof v->sync_id, "SYNC-%ld", ++v->sync_n);
	if (fix_session_test_request(v->sess, v->sync_id) != 0)
		return 1;
	v->sync_out = 1;
	v->synced = v->requests;
	return 1;
}

void venue_fix_stats(const struct venue_fix *v, struct venue_fix_stats *out)
{
	*out = v->stats;
	fix_session_stats(v->sess, &out->session);
}
