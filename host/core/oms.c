/*
 * oms — orders in chunks that never move (id = index + 1), per-strategy accounts
 * with per-symbol positions (flat arrays indexed by symbol id), the open
 * orders of each strategy in an unordered array (swap-remove, O(1)).
 *
 * Position arithmetic: adding to a position moves the average price;
 * reducing realises (price - avg) * closed * sign; a flip realises the whole
 * old position and opens the rest at the fill price. A round trip runs from
 * flat to flat; a flip closes one and opens the next.
 */
#include "oms.h"
#include "grow.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct open_list {
	struct order **v;
	int n, cap;
};

/* Orders live in chunks of ORDER_CHUNK, allocated as they are needed and
 * never moved: a pointer to an order stays good for the oms's life. (A
 * single array that doubled by realloc moved every order at each growth; on
 * the machine we measure on, the order after such a move took 3 to 25 us.) */
#define ORDER_CHUNK_BITS 14
#define ORDER_CHUNK ((int64_t)1 << ORDER_CHUNK_BITS) /* 16384 orders, 1.75 MB */

struct oms {
	struct order **chunk; /* [nchunk], chunk k: indices k * ORDER_CHUNK .. */
	int nchunk, chunk_cap;
	int64_t n;
	int64_t touched; /* slots below it were written ahead by oms_reserve */
	struct account *acct;
	struct open_list *open;
	int nstrat;
	double *marks;
	int nmarks;
	oms_listener listener;
	void *listener_ud;
};

static const char *const status_names[ST__COUNT] = {
	"new",	    "pending",	     "accepted", "partially_filled", "filled",  "cancel_pending",
	"canceled", "replace_pending", "replaced", "rejected",	      "expired"};

const char *oms_status_name(int status)
{
	return (unsigned)status < ST__COUNT ? status_names[status] : "?";
}

const char *oms_side_name(int side)
{
	return side == SIDE_BUY ? "buy" : "sell";
}

const char *oms_tif_name(int tif)
{
	return tif == TIF_IOC ? "ioc" : tif == TIF_GTC ? "gtc" : tif == TIF_FOK ? "fok" : "day";
}

const char *oms_type_name(const struct order *o)
{
	static const char *const names[] = {"market", "limit", "stop", "stop_limit"};
	if (o->trail > 0)
		return "trailing_stop";
	return (unsigned)o->type < 4 ? names[o->type] : "?";
}

const char *oms_origin_name(int origin)
{
	return origin == ORIGIN_OPERATOR ? "operator" : "strategy";
}

/*
 * One spare chunk per process, for a process that runs many backtests one
 * after the other (a sweep's worker, oms_keep_spare_chunk): the chunk of a
 * freed oms is kept with only the slots it wrote zeroed again, instead of
 * a fresh 1.75 MB calloc per run (zeroed in full when the allocator hands
 * back heap memory: a tenth of a sweep's backtest). Off by default.
 */
static struct {
	int on;
	struct order *c;
} spare;

void oms_keep_spare_chunk(int on)
{
	spare.on = on;
	if (!on) {
		free(spare.c);
		spare.c = NULL;
	}
}

struct oms *oms_new(int nstrat, double start_cash)
{
	struct oms *o = calloc(1, sizeof *o);
	if (!o)
		return NULL;
	o->nstrat = nstrat;
	o->acct = calloc((size_t)nstrat, sizeof *o->acct);
	o->open = calloc((size_t)nstrat, sizeof *o->open);
	if (!o->acct || !o->open) {
		oms_free(o);
		return NULL;
	}
	for (int i = 0; i < nstrat; i++)
		o->acct[i].start_cash = o->acct[i].cash = start_cash;
	return o;
}

void oms_free(struct oms *o)
{
	if (!o)
		return;
	for (int i = 0; o->acct && i < o->nstrat; i++) {
		free(o->acct[i].pos);
		free(o->acct[i].held);
	}
	for (int i = 0; o->open && i < o->nstrat; i++)
		free(o->open[i].v);
	free(o->acct);
	free(o->open);
	/* slots below max(n, touched) are the only ones ever written */
	int64_t used = o->n > o->touched ? o->n : o->touched;
	for (int k = 0; k < o->nchunk; k++) {
		int64_t lo = (int64_t)k << ORDER_CHUNK_BITS, w = used - lo;
		if (spare.on && !spare.c) {
			w = w < 0 ? 0 : w > ORDER_CHUNK ? ORDER_CHUNK : w;
			memset(o->chunk[k], 0, (size_t)w * sizeof *o->chunk[k]);
			spare.c = o->chunk[k];
		} else {
			free(o->chunk[k]);
		}
	}
	free(o->chunk);
	free(o->marks);
	free(o);
}

void oms_set_listener(struct oms *o, oms_listener fn, void *ud)
{
	o->listener = fn;
	o->listener_ud = ud;
}

static void emit(struct oms *o, int kind, const struct order *ord, const struct fill *f)
{
	if (o->listener) {
		struct oms_event ev = {kind, ord, f};
		o->listener(o->listener_ud, &ev);
	}
}

int oms_nstrat(const struct oms *o)
{
	return o->nstrat;
}

struct account *oms_account(struct oms *o, int strat)
{
	return &o->acct[strat];
}

/* Grows a strategy's position array to cover sym. */
static struct position *position_slot(struct oms *o, int strat, int sym)
{
	struct account *a = &o->acct[strat];
	/* held lists symbols with a position: it never needs more room than pos */
	int *h = grow_array(a->held, &a->held_cap, sym + 1, sizeof *h, 16);
	if (!h)
		return NULL;
	a->held = h;
	struct position *p = grow_array(a->pos, &a->npos, sym + 1, sizeof *p, 16);
	if (!p)
		return NULL;
	a->pos = p;
	return &a->pos[sym];
}

struct position *oms_position(struct oms *o, int strat, int sym)
{
	static struct position flat;
	struct account *a = &o->acct[strat];
	if (sym < 0 || sym >= a->npos) {
		memset(&flat, 0, sizeof flat);
		return &flat;
	}
	return &a->pos[sym];
}

/* One more chunk; -1 when memory ran out. calloc: the pages of a fresh
 * chunk are mapped as the slots are first written. */
static int add_chunk(struct oms *o)
{
	struct order **v = grow_array(o->chunk, &o->chunk_cap, o->nchunk + 1, sizeof *v, 16);
	if (!v)
		return -1;
	o->chunk = v;
	struct order *c = spare.c ? spare.c : calloc((size_t)ORDER_CHUNK, sizeof *c);
	if (!c)
		return -1;
	spare.c = NULL;
	o->chunk[o->nchunk++] = c;
	return 0;
}

static inline struct order *slot(const struct oms *o, int64_t i)
{
	return &o->chunk[i >> ORDER_CHUNK_BITS][i & (ORDER_CHUNK - 1)];
}

/* Slots the next orders will be written to, written now (and the chunk they
 * fall in, allocated now). The first write to a page can trap (a fresh page
 * the allocator handed over unwritten, or, under a hypervisor, a page whose
 * write it tracks), 10 to 30 us each on the machine we measure on, and that
 * belongs between events, not inside a tick. */
#define TOUCH_AHEAD ((int64_t)4 * 4096 / (int64_t)sizeof(struct order))
_Static_assert(sizeof(struct order) <= 4096, "a slot spans at most two pages");

void oms_reserve(struct oms *o)
{
	int64_t to = o->n + TOUCH_AHEAD;
	/* the next chunk when this one is half used: out of memory, oms_create says so */
	if (((o->n + ORDER_CHUNK / 2) >> ORDER_CHUNK_BITS) >= o->nchunk && add_chunk(o) != 0)
		return;
	if (to > (int64_t)o->nchunk << ORDER_CHUNK_BITS)
		to = (int64_t)o->nchunk << ORDER_CHUNK_BITS;
	/* both ends of each slot: a slot is smaller than a page, so every page
	 * one spans is written (a chunk's last slot can end on a page of its own) */
	for (int64_t at = o->touched > o->n ? o->touched : o->n; at < to; at++) {
		volatile char *b = (volatile char *)slot(o, at);
		b[0] = 0; /* a free slot: zero already */
		b[sizeof(struct order) - 1] = 0;
	}
	if (to > o->touched)
		o->touched = to;
}

struct order *oms_create(struct oms *o, int strat, int sym, int side, int type, int tif,
			 double qty, double price, int64_t now, int version)
{
	if (!position_slot(o, strat, sym))
		return NULL;
	if ((o->n >> ORDER_CHUNK_BITS) >= o->nchunk && add_chunk(o) != 0)
		return NULL;
	struct order *ord = slot(o, o->n++);
	memset(ord, 0, sizeof *ord);
	ord->id = o->n;
	ord->strat = strat;
	ord->sym = sym;
	ord->side = side;
	ord->type = type;
	ord->tif = tif;
	ord->status = ST_NEW;
	ord->qty = qty;
	ord->price = price;
	ord->created = ord->updated = now;
	ord->version = version;
	ord->open_index = -1;
	ord->reason = "";
	o->acct[strat].orders++;
	return ord;
}

struct order *oms_get(struct oms *o, int64_t id)
{
	return (id >= 1 && id <= o->n) ? slot(o, id - 1) : NULL;
}

int64_t oms_count(const struct oms *o)
{
	return o->n;
}

int oms_is_open(const struct order *ord)
{
	switch (ord->status) {
	case ST_PENDING:
	case ST_ACCEPTED:
	case ST_PARTIAL:
	case ST_CANCEL_PENDING:
	case ST_REPLACE_PENDING:
		return 1;
	default:
		return 0;
	}
}

static void open_add(struct oms *o, struct order *ord)
{
	struct open_list *l = &o->open[ord->strat];
	if (ord->open_index >= 0)
		return;
	struct order **v = grow_array(l->v, &l->cap, l->n + 1, sizeof *v, 64);
	if (!v)
		return; /* the order stays out of the list */
	l->v = v;
	ord->open_index = l->n;
	l->v[l->n++] = ord;
}

static void open_remove(struct oms *o, struct order *ord)
{
	struct open_list *l = &o->open[ord->strat];
	int i = ord->open_index;
	if (i < 0)
		return;
	l->v[i] = l->v[--l->n];
	l->v[i]->open_index = i;
	ord->open_index = -1;
}

int oms_open_count(const struct oms *o, int strat)
{
	return o->open[strat].n;
}

struct order *oms_open_at(struct oms *o, int strat, int i)
{
	return o->open[strat].v[i];
}

void oms_working(const struct oms *o, int strat, int sym, double *buy, double *sell)
{
	const struct open_list *l = &o->open[strat];
	double b = 0, s = 0;
	for (int i = 0; i < l->n; i++) {
		const struct order *ord = l->v[i];
		if (ord->sym != sym)
			continue;
		if (ord->side == SIDE_BUY)
			b += ord->qty - ord->filled;
		else
			s += ord->qty - ord->filled;
	}
	*buy = b;
	*sell = s;
}

void oms_reject(struct oms *o, struct order *ord, const char *reason, int reason_code)
{
	struct account *a = &o->acct[ord->strat];
	ord->status = ST_REJECTED;
	ord->reason = reason;
	open_remove(o, ord); /* a venue may reject an order it had taken (ST_PENDING) */
	a->rejects++;
	if (reason_code >= 0 && reason_code < 32)
		a->rejects_by_reason[reason_code]++;
	emit(o, OMS_EV_ORDER, ord, NULL);
}

void oms_accept(struct oms *o, struct order *ord, int64_t now)
{
	ord->status = ST_ACCEPTED;
	ord->updated = now;
	open_add(o, ord);
	emit(o, OMS_EV_ORDER, ord, NULL);
}

static void finish(struct oms *o, struct order *ord, int status, const char *reason, int64_t now);

/* The working status an order returns to after a pending state. */
static int working_status(const struct order *ord)
{
	return ord->filled > 0 ? ST_PARTIAL : ST_ACCEPTED;
}

void oms_pending(struct oms *o, struct order *ord, int64_t now)
{
	ord->status = ST_PENDING;
	ord->updated = now;
	open_add(o, ord);
	emit(o, OMS_EV_ORDER, ord, NULL);
}

void oms_cancel_pending(struct oms *o, struct order *ord, int64_t now)
{
	ord->status = ST_CANCEL_PENDING;
	ord->updated = now;
	emit(o, OMS_EV_ORDER, ord, NULL);
}

void oms_cancel_rejected(struct oms *o, struct order *ord, const char *reason, int64_t now)
{
	ord->status = working_status(ord);
	ord->reason = reason;
	ord->updated = now;
	emit(o, OMS_EV_ORDER, ord, NULL);
}

void oms_replace(struct oms *o, struct order *ord, double qty, double price, int64_t now)
{
	ord->qty = qty > ord->filled ? qty : ord->filled;
	if (ord->type == ORD_LIMIT || ord->type == ORD_STOP_LIMIT)
		ord->price = price;
	ord->updated = now;
	ord->reason = "";
	ord->replaces++;
	if (ord->filled >= ord->qty) { /* reduced to what had filled: done (FIX) */
		finish(o, ord, ST_FILLED, "replaced", now);
		return;
	}
	/* ST_REPLACED is what the listener sees (FIX ExecType Replaced); the
	 * order then works on as before */
	ord->status = ST_REPLACED;
	emit(o, OMS_EV_ORDER, ord, NULL);
	ord->status = working_status(ord);
}

void oms_replace_pending(struct oms *o, struct order *ord, int64_t now)
{
	ord->status = ST_REPLACE_PENDING;
	ord->updated = now;
	emit(o, OMS_EV_ORDER, ord, NULL);
}

void oms_replace_rejected(struct oms *o, struct order *ord, const char *reason, int64_t now)
{
	ord->status = working_status(ord);
	ord->reason = reason;
	ord->updated = now;
	emit(o, OMS_EV_ORDER, ord, NULL);
}

static void finish(struct oms *o, struct order *ord, int status, const char *reason, int64_t now)
{
	ord->status = status;
	ord->reason = reason;
	ord->updated = now;
	open_remove(o, ord);
	emit(o, OMS_EV_ORDER, ord, NULL);
	struct order *sib = ord->oco ? oms_get(o, ord->oco) : NULL;
	if (sib && oms_is_open(sib) && status != ST_FILLED)
		finish(o, sib, ST_CANCELED, "oco", now); /* its sibling is no longer open: stops */
}

int oms_link_oco(struct oms *o, struct order *a, struct order *b)
{
	if (a == b || !oms_is_open(a) || !oms_is_open(b) || a->oco || b->oco ||
	    a->strat != b->strat)
		return -1;
	a->oco = b->id;
	b->oco = a->id;
	o->acct[a->strat].oco_pairs++;
	return 0;
}

/* One of an OCO pair filled q: the other works for q less. */
static void oco_filled(struct oms *o, struct order *ord, double q, int64_t now)
{
	struct order *sib = oms_get(o, ord->oco);
	if (!sib || !oms_is_open(sib))
		return;
	double left = sib->qty - q;
	if (left <= sib->filled) {
		finish(o, sib, ST_CANCELED, "oco", now);
		return;
	}
	sib->qty = left;
	sib->updated = now;
	emit(o, OMS_EV_ORDER, sib, NULL);
}

void oms_cancel(struct oms *o, struct order *ord, const char *reason, int64_t now)
{
	finish(o, ord, ST_CANCELED, reason, now);
}

void oms_expire(struct oms *o, struct order *ord, const char *reason, int64_t now)
{
	finish(o, ord, ST_EXPIRED, reason, now);
}

static void held_update(struct account *a, int sym, double before, double after)
{
	if (before == 0 && after != 0) {
		a->held[a->nheld++] = sym;
	} else if (before != 0 && after == 0) {
		for (int i = 0; i < a->nheld; i++)
			if (a->held[i] == sym) {
				a->held[i] = a->held[--a->nheld];
				break;
			}
	}
}

/* Applies a signed quantity at price to a position; returns realised P&L. */
static double position_apply(struct position *p, double dq, double price)
{
	double realized = 0;
	if (p->qty == 0 || (p->qty > 0) == (dq > 0)) {
		double nq = p->qty + dq;
		p->avg_price = (p->avg_price * fabs(p->qty) + price * fabs(dq)) / fabs(nq);
		p->qty = nq;
		return 0;
	}
	double closing = fmin(fabs(dq), fabs(p->qty));
	double dir = p->qty > 0 ? 1.0 : -1.0;
	realized = (price - p->avg_price) * closing * dir;
	p->qty += dq;
	if (p->qty == 0)
		p->avg_price = 0;
	else if ((p->qty > 0) != (dir > 0))
		p->avg_price = price; /* flipped: the rest opens at this price */
	return realized;
}

void oms_fill(struct oms *o, struct order *ord, double qty, double price, double fee, int64_t now)
{
	struct account *a = &o->acct[ord->strat];
	struct position *p = position_slot(o, ord->strat, ord->sym);
	double before = p->qty, dq = qty * ord->side;
	double realized = position_apply(p, dq, price);

	p->realized += realized;
	p->fees += fee;
	a->fees += fee;
	a->cash -= dq * price + fee;
	a->fills++;

	/* round trips: flat -> flat; a flip closes one trip and starts the next */
	p->trip_pnl += realized - fee;
	int closed = before != 0 && (p->qty == 0 || (p->qty > 0) != (before > 0));
	if (closed) {
		/* on a flip the whole fee is charged to the closing trip */
		double trip = p->trip_pnl;
		p->trip_pnl = 0;
		a->round_trips++;
		a->wins += trip > 0;
		a->losses += trip < 0;
		if (trip > 0)
			a->gross_win += trip;
		else
			a->gross_loss += trip;
	}
	held_update(a, ord->sym, before, p->qty);

	ord->avg_price = (ord->avg_price * ord->filled + price * qty) / (ord->filled + qty);
	ord->filled += qty;
	ord->fees += fee;
	ord->updated = now;
	struct fill f = {ord->id, ord->strat, ord->sym, ord->side, qty, price, fee, now};
	emit(o, OMS_EV_FILL, ord, &f);
	if (ord->filled >= ord->qty)
		finish(o, ord, ST_FILLED, "", now);
	else {
		ord->status = ST_PARTIAL;
		emit(o, OMS_EV_ORDER, ord, NULL);
	}
	if (ord->oco)
		oco_filled(o, ord, qty, now);
}

void oms_mark(struct oms *o, int sym, double price)
{
	int had = o->nmarks;
	double *m = grow_array(o->marks, &o->nmarks, sym + 1, sizeof *m, 16);
	if (!m)
		return;
	for (int i = had; i < o->nmarks; i++)
		m[i] = NAN; /* no price seen yet */
	o->marks = m;
	o->marks[sym] = price;
}

double oms_mark_of(const struct oms *o, int sym)
{
	return (sym >= 0 && sym < o->nmarks) ? o->marks[sym] : NAN;
}

static double mark_or_avg(const struct oms *o, const struct position *p, int sym)
{
	double m = oms_mark_of(o, sym);
	return isnan(m) ? p->avg_price : m;
}

double oms_equity(const struct oms *o, int strat)
{
	const struct account *a = &o->acct[strat];
	double eq = a->cash;
	for (int i = 0; i < a->nheld; i++) {
		int s = a->held[i];
		eq += a->pos[s].qty * mark_or_avg(o, &a->pos[s], s);
	}
	return eq;
}

double oms_unrealized(const struct oms *o, int strat, int sym)
{
	const struct account *a = &o->acct[strat];
	if (sym < 0 || sym >= a->npos || a->pos[sym].qty == 0)
		return 0;
	const struct position *p = &a->pos[sym];
	return p->qty * (mark_or_avg(o, p, sym) - p->avg_price);
}

double oms_pnl(const struct oms *o, int strat, int sym)
{
	const struct account *a = &o->acct[strat];
	if (sym >= 0) {
		if (sym >= a->npos)
			return 0;
		return a->pos[sym].realized - a->pos[sym].fees + oms_unrealized(o, strat, sym);
	}
	return oms_equity(o, strat) - a->start_cash;
}
