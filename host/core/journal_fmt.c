/*
 * journal_fmt — payload encoding, decoding and JSON. The decoder reads
 * through a cursor that refuses to pass the end: a truncated or hostile
 * payload gives an error, never a read out of bounds.
 */
#include "journal_fmt.h"

#include "timefmt.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_names[J_TYPE_COUNT] = {"unknown",
						     "txn_begin",
						     "txn_end",
						     "created",
						     "sent",
						     "pending",
						     "acknowledged",
						     "rejected",
						     "risk_refused",
						     "replaced",
						     "cancel_requested",
						     "cancel_pending",
						     "cancel_rejected",
						     "cancelled",
						     "partially_filled",
						     "filled",
						     "expired",
						     "fill",
						     "halt",
						     "resume",
						     "param_change",
						     "limit_change",
						     "load",
						     "reload",
						     "operator",
						     "venue_session",
						     "snapshot",
						     "void",
						     "recovered",
						     "replace_requested",
						     "cancel_all",
						     "market",
						     "oco_link"};

const char *jfmt_type_name(int type)
{
	return type > 0 && type < J_TYPE_COUNT ? type_names[type] : "unknown";
}

const char *jfmt_who_name(int who)
{
	static const char *const n[] = {"host", "strategy", "operator", "risk", "venue"};
	return who >= 0 && who < 5 ? n[who] : "unknown";
}

const char *jfmt_txn_name(int kind)
{
	static const char *const n[] = {"event", "operator", "start", "stop", "recovery"};
	return kind >= 0 && kind < 5 ? n[kind] : "unknown";
}

int jfmt_is_order(int type)
{
	return (type >= J_CREATED && type <= J_EXPIRED) || type == J_REPLACE_REQUESTED;
}

/* ------------------------------------------------------------ encoding */

void jbuf_reset(struct jbuf *b)
{
	b->n = 0;
	b->oom = 0;
}

void jbuf_free(struct jbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

static void bput(struct jbuf *b, const void *p, size_t n)
{
	if (b->oom)
		return;
	if (b->n + n > b->cap) {
		size_t cap = b->cap ? b->cap : 512;
		while (cap < b->n + n)
			cap *= 2;
		unsigned char *q = realloc(b->p, cap);
		if (!q) {
			b->oom = 1;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

void jbuf_u8(struct jbuf *b, unsigned v)
{
	unsigned char c = (unsigned char)v;
	bput(b, &c, 1);
}
void jbuf_u32(struct jbuf *b, uint32_t v)
{
	bput(b, &v, 4);
}
void jbuf_u64(struct jbuf *b, uint64_t v)
{
	bput(b, &v, 8);
}
void jbuf_f64(struct jbuf *b, double v)
{
	bput(b, &v, 8);
}
void jbuf_str(struct jbuf *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n > 65535)
		n = 65535;
	uint16_t k = (uint16_t)n;
	bput(b, &k, 2);
	if (n)
		bput(b, s, n);
}
void jbuf_blob(struct jbuf *b, const void *p, uint32_t n)
{
	jbuf_u32(b, n);
	if (n)
		bput(b, p, n);
}

void jfmt_order(struct jbuf *b, const struct jorder *o)
{
	jbuf_reset(b);
	jbuf_u64(b, (uint64_t)o->id);
	jbuf_u64(b, (uint64_t)o->oco);
	jbuf_u64(b, (uint64_t)o->created);
	jbuf_u64(b, (uint64_t)o->updated);
	jbuf_u32(b, (uint32_t)o->sym);
	const uint8_t small[8] = {o->side,   o->type, o->tif,	    o->status,
				  o->origin, o->role, o->trail_pct, o->triggered};
	bput(b, small, 8);
	const double d[8] = {o->qty,  o->filled, o->price, o->avg_price,
			     o->fees, o->stop,	 o->trail, o->trail_best};
	bput(b, d, sizeof d);
	jbuf_str(b, o->symbol);
	jbuf_str(b, o->reason);
}

void jfmt_fill(struct jbuf *b, const struct jfill *f)
{
	jbuf_reset(b);
	jbuf_u64(b, (uint64_t)f->order_id);
	jbuf_u64(b, (uint64_t)f->time);
	jbuf_u32(b, (uint32_t)f->sym);
	jbuf_u8(b, f->side);
	jbuf_f64(b, f->qty);
	jbuf_f64(b, f->price);
	jbuf_f64(b, f->fee);
	jbuf_str(b, f->symbol);
}

void jfmt_txn(struct jbuf *b, const struct jtxn *t)
{
	jbuf_reset(b);
	jbuf_u8(b, t->kind);
	jbuf_u64(b, t->feed_pos);
	jbuf_u64(b, (uint64_t)t->event_time);
}

void jfmt_text(struct jbuf *b, const char *a, const char *bb, const char *c)
{
	jbuf_reset(b);
	jbuf_str(b, a);
	jbuf_str(b, bb);
	jbuf_str(b, c);
}

void jfmt_snapshot(struct jbuf *b, const struct jsnapshot *s)
{
	jbuf_reset(b);
	jbuf_u64(b, s->feed_pos);
	jbuf_f64(b, s->peak_equity);
	jbuf_f64(b, s->day_equity);
	jbuf_f64(b, s->last_equity);
	jbuf_u64(b, (uint64_t)s->day);
	jbuf_u8(b, s->state);
	jbuf_str(b, s->reason);
	jbuf_blob(b, s->blob, s->bloblen);
}

void jfmt_void(struct jbuf *b, const struct jvoid *v)
{
	jbuf_reset(b);
	jbuf_u64(b, v->from_seq);
	jbuf_u64(b, v->to_seq);
	jbuf_u64(b, v->feed_pos);
	jbuf_str(b, v->reason);
}

void jfmt_recovered(struct jbuf *b, const struct jrecovered *r)
{
	jbuf_reset(b);
	jbuf_u64(b, r->feed_pos);
	jbuf_u64(b, r->orders);
	jbuf_u64(b, r->working);
	jbuf_u64(b, r->voided);
	jbuf_str(b, r->summary);
}

/* ------------------------------------------------------------ decoding */

struct cur {
	const unsigned char *p;
	size_t n, at;
	int bad;
};

static int take(struct cur *c, void *out, size_t k)
{
	if (c->bad || c->n - c->at < k) {
		c->bad = 1;
		memset(out, 0, k);
		return -1;
	}
	memcpy(out, c->p + c->at, k);
	c->at += k;
	return 0;
}

static uint8_t g8(struct cur *c)
{
	uint8_t v;
	take(c, &v, 1);
	return v;
}
static uint32_t g32(struct cur *c)
{
	uint32_t v;
	take(c, &v, 4);
	return v;
}
static uint64_t g64(struct cur *c)
{
	uint64_t v;
	take(c, &v, 8);
	return v;
}
static double gf(struct cur *c)
{
	double v;
	take(c, &v, 8);
	return v;
}
static void gstr(struct cur *c, char *out, size_t cap)
{
	uint16_t k;
	out[0] = '\0';
	if (take(c, &k, 2) != 0)
		return;
	if (c->n - c->at < k) {
		c->bad = 1;
		return;
	}
	size_t m = k < cap - 1 ? k : cap - 1;
	memcpy(out, c->p + c->at, m);
	out[m] = '\0';
	c->at += k;
}

int jfmt_decode(int type, const unsigned char *p, size_t n, union jpayload *out, char *err,
		size_t errlen)
{
	struct cur c = {p, n, 0, 0};
	memset(out, 0, sizeof *out);
	if (jfmt_is_order(type)) {
		struct jorder *o = &out->order;
		o->id = (int64_t)g64(&c);
		o->oco = (int64_t)g64(&c);
		o->created = (int64_t)g64(&c);
		o->updated = (int64_t)g64(&c);
		o->sym = (int32_t)g32(&c);
		uint8_t s[8];
		take(&c, s, 8);
		o->side = s[0], o->type = s[1], o->tif = s[2], o->status = s[3];
		o->origin = s[4], o->role = s[5], o->trail_pct = s[6], o->triggered = s[7];
		double d[8];
		take(&c, d, sizeof d);
		o->qty = d[0], o->filled = d[1], o->price = d[2], o->avg_price = d[3];
		o->fees = d[4], o->stop = d[5], o->trail = d[6], o->trail_best = d[7];
		gstr(&c, o->symbol, sizeof o->symbol);
		gstr(&c, o->reason, sizeof o->reason);
	} else if (type == J_FILL) {
		struct jfill *f = &out->fill;
		f->order_id = (int64_t)g64(&c);
		f->time = (int64_t)g64(&c);
		f->sym = (int32_t)g32(&c);
		f->side = g8(&c);
		f->qty = gf(&c);
		f->price = gf(&c);
		f->fee = gf(&c);
		gstr(&c, f->symbol, sizeof f->symbol);
	} else if (type == J_TXN_BEGIN || type == J_TXN_END) {
		out->txn.kind = g8(&c);
		out->txn.feed_pos = g64(&c);
		out->txn.event_time = (int64_t)g64(&c);
	} else if (type == J_SNAPSHOT) {
		struct jsnapshot *s = &out->snap;
		s->feed_pos = g64(&c);
		s->peak_equity = gf(&c);
		s->day_equity = gf(&c);
		s->last_equity = gf(&c);
		s->day = (int64_t)g64(&c);
		s->state = g8(&c);
		gstr(&c, s->reason, sizeof s->reason);
		s->bloblen = g32(&c);
		if (!c.bad && c.n - c.at < s->bloblen)
			c.bad = 1;
		else if (!c.bad)
			s->blob = p + c.at;
	} else if (type == J_VOID || type == J_OCO_LINK || type == J_MARKET) {
		out->vd.from_seq = g64(&c);
		out->vd.to_seq = g64(&c);
		out->vd.feed_pos = g64(&c);
		gstr(&c, out->vd.reason, sizeof out->vd.reason);
	} else if (type == J_RECOVERED) {
		out->rec.feed_pos = g64(&c);
		out->rec.orders = g64(&c);
		out->rec.working = g64(&c);
		out->rec.voided = g64(&c);
		gstr(&c, out->rec.summary, sizeof out->rec.summary);
	} else if (type >= J_HALT && type < J_TYPE_COUNT) {
		gstr(&c, out->text.a, sizeof out->text.a);
		gstr(&c, out->text.b, sizeof out->text.b);
		gstr(&c, out->text.c, sizeof out->text.c);
	} else {
		if (err && errlen)
			snprintf(err, errlen, "unknown record type %d", type);
		return -1;
	}
	if (c.bad) {
		if (err && errlen)
			snprintf(err, errlen, "%s record: payload of %zu bytes is short",
				 jfmt_type_name(type), n);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ JSON */

struct out {
	json_sink put;
	void *ud;
};

static void raw(struct out *o, const char *s)
{
	o->put(o->ud, s, strlen(s));
}

static void fmt(struct out *o, const char *f, ...) __attribute__((format(printf, 2, 3)));
static void fmt(struct out *o, const char *f, ...)
{
	char b[256];
	va_list ap;
	va_start(ap, f);
	int k = vsnprintf(b, sizeof b, f, ap);
	va_end(ap);
	if (k > 0)
		o->put(o->ud, b, (size_t)k < sizeof b ? (size_t)k : sizeof b - 1);
}

static void kstr(struct out *o, const char *k, const char *v)
{
	fmt(o, ", \"%s\": ", k);
	json_quote(v, o->put, o->ud);
}

static void knum(struct out *o, const char *k, double v)
{
	if (isfinite(v))
		fmt(o, ", \"%s\": %.17g", k, v);
	else
		fmt(o, ", \"%s\": null", k);
}

static void order_json(struct out *o, const struct jorder *r)
{
	static const char *const st[] = {
	    "new",	"pending",	   "accepted", "partial",  "filled", "cancel_pending",
	    "canceled", "replace_pending", "replaced", "rejected", "expired"};
	static const char *const ty[] = {"market", "limit", "stop", "stop_limit"};
	static const char *const tif[] = {"day", "ioc", "gtc", "fok"};
	fmt(o, ", \"order_id\": %" PRId64, r->id);
	kstr(o, "symbol", r->symbol);
	kstr(o, "side", r->side == 1 ? "buy" : r->side == 255 ? "sell" : "?");
	kstr(o, "order_type", r->type < 4 ? ty[r->type] : "?");
	kstr(o, "tif", r->tif < 4 ? tif[r->tif] : "?");
	kstr(o, "status", r->status < 11 ? st[r->status] : "?");
	knum(o, "qty", r->qty);
	knum(o, "filled", r->filled);
	knum(o, "price", r->price);
	knum(o, "avg_price", r->avg_price);
	knum(o, "fees", r->fees);
	if (r->stop != 0)
		knum(o, "stop", r->stop);
	if (r->trail != 0)
		knum(o, "trail", r->trail);
	if (r->oco)
		fmt(o, ", \"oco\": %" PRId64, r->oco);
	kstr(o, "origin", r->origin ? "operator" : "strategy");
	if (r->reason[0])
		kstr(o, "reason", r->reason);
}

void jfmt_json(const struct journal_record *r, const char *const *names, int nnames, json_sink put,
	       void *ud)
{
	struct out o = {put, ud};
	char t[TIME_ISO_LEN + 1];
	time_format_iso(r->h.time, t);
	fmt(&o, "{\"seq\": %" PRIu64 ", \"time\": \"%s\", \"time_ns\": %" PRId64, r->h.seq, t,
	    r->h.time);
	kstr(&o, "type", jfmt_type_name(r->h.type));
	kstr(&o, "who", jfmt_who_name(r->h.who));
	if (r->h.strat != JOURNAL_NO_STRAT) {
		if (r->h.strat < nnames && names[r->h.strat])
			kstr(&o, "strategy", names[r->h.strat]);
		else
			fmt(&o, ", \"strategy\": %u", (unsigned)r->h.strat);
		fmt(&o, ", \"version\": %" PRIu32 ", \"hash\": \"%016" PRIx64 "\"", r->h.version,
		    r->h.hash);
	}
	static union jpayload u; /* big: not on the stack; the dump is one thread */
	char err[128];
	if (jfmt_decode(r->h.type, r->payload, r->plen, &u, err, sizeof err) != 0) {
		kstr(&o, "error", err);
		raw(&o, "}");
		return;
	}
	int ty = r->h.type;
	if (jfmt_is_order(ty)) {
		order_json(&o, &u.order);
	} else if (ty == J_FILL) {
		fmt(&o, ", \"order_id\": %" PRId64, u.fill.order_id);
		kstr(&o, "symbol", u.fill.symbol);
		kstr(&o, "side", u.fill.side == 1 ? "buy" : "sell");
		knum(&o, "qty", u.fill.qty);
		knum(&o, "price", u.fill.price);
		knum(&o, "fee", u.fill.fee);
	} else if (ty == J_TXN_BEGIN || ty == J_TXN_END) {
		kstr(&o, "txn", jfmt_txn_name(u.txn.kind));
		fmt(&o, ", \"feed_pos\": %" PRIu64, u.txn.feed_pos);
	} else if (ty == J_SNAPSHOT) {
		fmt(&o, ", \"feed_pos\": %" PRIu64 ", \"state_bytes\": %" PRIu32, u.snap.feed_pos,
		    u.snap.bloblen);
		knum(&o, "peak_equity", u.snap.peak_equity);
		kstr(&o, "strategy_state",
		     u.snap.state == 0	 ? "running"
		     : u.snap.state == 1 ? "halted"
					 : "quarantined");
		if (u.snap.reason[0])
			kstr(&o, "reason", u.snap.reason);
	} else if (ty == J_OCO_LINK) {
		fmt(&o, ", \"order_a\": %" PRIu64 ", \"order_b\": %" PRIu64, u.vd.from_seq,
		    u.vd.to_seq);
	} else if (ty == J_MARKET) {
		fmt(&o, ", \"feed_pos\": %" PRIu64, u.vd.feed_pos);
	} else if (ty == J_CANCEL_ALL) {
		kstr(&o, "reason", u.text.a);
	} else if (ty == J_VOID) {
		fmt(&o,
		    ", \"from_seq\": %" PRIu64 ", \"to_seq\": %" PRIu64 ", \"feed_pos\": %" PRIu64,
		    u.vd.from_seq, u.vd.to_seq, u.vd.feed_pos);
		kstr(&o, "reason", u.vd.reason);
	} else if (ty == J_RECOVERED) {
		fmt(&o,
		    ", \"feed_pos\": %" PRIu64 ", \"orders\": %" PRIu64 ", \"working\": %" PRIu64
		    ", \"voided\": %" PRIu64,
		    u.rec.feed_pos, u.rec.orders, u.rec.working, u.rec.voided);
		kstr(&o, "summary", u.rec.summary);
	} else {
		static const char *const keys[][3] = {
		    /* J_HALT .. J_VENUE_SESSION */
		    {"reason", "by", ""},	 {"reason", "by", ""},
		    {"key", "old", "new"},	 {"key", "old", "new"},
		    {"path", "name", "result"},	 {"path", "message", "result"},
		    {"command", "by", "result"}, {"state", "detail", ""}};
		const char *const *k = keys[ty - J_HALT];
		kstr(&o, k[0], u.text.a);
		kstr(&o, k[1], u.text.b);
		if (k[2][0])
			kstr(&o, k[2], u.text.c);
	}
	raw(&o, "}");
}

/* ------------------------------------------------------------ ctx.state bytes */

#define STATE_DEPTH 64

static int state_value(struct cur *c, int depth, int *is_table);

static int state_table(struct cur *c, int depth)
{
	if (depth >= STATE_DEPTH)
		return -1;
	for (;;) {
		uint8_t t;
		if (c->n - c->at < 1)
			return -1;
		t = c->p[c->at];
		if (t == '}') {
			c->at++;
			return 0;
		}
		int kt;
		if (state_value(c, depth + 1, &kt) != 0 || kt || state_value(c, depth + 1, &kt) != 0)
			return -1; /* a key is never a table */
	}
}

static int state_value(struct cur *c, int depth, int *is_table)
{
	uint8_t t;
	uint32_t len;
	*is_table = 0;
	if (take(c, &t, 1) != 0)
		return -1;
	switch (t) {
	case 'T':
	case 'F':
		return 0;
	case 'I':
	case 'D':
		if (c->n - c->at < 8)
			return -1;
		c->at += 8;
		return 0;
	case 'S':
		if (take(c, &len, 4) != 0 || c->n - c->at < len)
			return -1;
		c->at += len;
		return 0;
	case '{':
		*is_table = 1;
		return state_table(c, depth);
	default:
		return -1;
	}
}

int jfmt_state_check(const unsigned char *p, size_t n, char *err, size_t errlen)
{
	struct cur c = {p, n, 0, 0};
	int table = 0;
	if (state_value(&c, 0, &table) != 0 || !table || c.at != n) {
		if (err && errlen)
			snprintf(err, errlen, "the snapshot's ctx.state is damaged near byte %zu", c.at);
		return -1;
	}
	return 0;
}
