/*
 * venue_async — see venue_async.h. Requests wait in one FIFO with the
 * count of market events still to pass; the inner venue sees them in the
 * order they were made.
 */
#include "venue_async.h"

#include <stdio.h>
#include <stdlib.h>

#include "grow.h"

enum { REQ_SUBMIT, REQ_CANCEL, REQ_REPLACE };

struct request {
	int kind;
	int64_t id;
	int wait; /* market events still to pass */
	double qty, price; /* REQ_REPLACE: what was asked */
};

struct venue_async {
	struct oms *oms;
	struct venue inner;
	int after;
	struct request *q;
	int n, cap;
};

struct venue_async *venue_async_new(struct oms *oms, struct venue inner, int after)
{
	struct venue_async *a = calloc(1, sizeof *a);
	if (!a)
		return NULL;
	a->oms = oms;
	a->inner = inner;
	a->after = after;
	return a;
}

static int push(struct venue_async *a, int kind, int64_t id)
{
	struct request *q = grow_array(a->q, &a->cap, a->n + 1, sizeof *q, 16);
	if (!q)
		return -1;
	a->q = q;
	a->q[a->n++] = (struct request){kind, id, a->after, 0, 0};
	return 0;
}

static int queued_submit(const struct venue_async *a, int64_t id)
{
	for (int i = 0; i < a->n; i++)
		if (a->q[i].kind == REQ_SUBMIT && a->q[i].id == id)
			return i;
	return -1;
}

static int async_submit(void *self, struct order *o, int64_t now)
{
	struct venue_async *a = self;
	if (push(a, REQ_SUBMIT, o->id) != 0)
		return -1;
	oms_pending(a->oms, o, now);
	return 0;
}

static int async_cancel(void *self, struct order *o, int64_t now)
{
	struct venue_async *a = self;
	if (!oms_is_open(o) || o->status == ST_CANCEL_PENDING)
		return -1;
	if (push(a, REQ_CANCEL, o->id) != 0)
		return -1;
	oms_cancel_pending(a->oms, o, now);
	return 0;
}

/* A replace waits as a cancel does (ST_REPLACE_PENDING: the order works on
 * at its old quantity and price meanwhile), then reaches the inner venue. */
static int async_replace(void *self, struct order *o, double qty, double price, int64_t now)
{
	struct venue_async *a = self;
	if (!oms_is_open(o) || o->status != (o->filled > 0 ? ST_PARTIAL : ST_ACCEPTED) ||
	    queued_submit(a, o->id) >= 0)
		return -1; /* not at the venue yet, or a cancel or replace is on its way */
	if (push(a, REQ_REPLACE, o->id) != 0)
		return -1;
	a->q[a->n - 1].qty = qty;
	a->q[a->n - 1].price = price;
	oms_replace_pending(a->oms, o, now);
	return 0;
}

/* One request reaches the inner venue. */
static void release(struct venue_async *a, const struct request *r, int64_t now)
{
	struct order *o = oms_get(a->oms, r->id);
	if (!o || !oms_is_open(o))
		return;
	if (r->kind == REQ_SUBMIT) {
		if (o->status == ST_CANCEL_PENDING) /* cancelled on the way: never reaches it */
			oms_cancel(a->oms, o, "canceled", now);
		else if (a->inner.ops->submit(a->inner.self, o, now) != 0)
			oms_reject(a->oms, o, "venue", -1);
		return;
	}
	if (r->kind == REQ_REPLACE) {
		if (o->status == ST_CANCEL_PENDING) /* a cancel follows: it decides */
			return;
		/* fills since it was sent may have passed the new quantity: done */
		double qty = r->qty > o->filled ? r->qty : o->filled;
		if (a->inner.ops->replace(a->inner.self, o, qty, r->price, now) != 0)
			oms_replace_rejected(a->oms, o, "venue", now);
		return;
	}
	if (a->inner.ops->cancel(a->inner.self, o, now) != 0)
		oms_cancel_rejected(a->oms, o, "too_late", now);
}

/* The venue matches first: what becomes due at this event arrives after it
 * (an acknowledgement at bar t is matched from bar t + 1, as any order the
 * bar model sees). */
static void async_market(void *self, const struct feed_event *ev, int64_t now)
{
	struct venue_async *a = self;
	a->inner.ops->market(a->inner.self, ev, now);
	int k = 0;
	for (int i = 0; i < a->n; i++) {
		struct request r = a->q[i];
		if (--r.wait > 0) {
			a->q[k++] = r;
			continue;
		}
		release(a, &r, now);
	}
	a->n = k;
}

static void async_cancel_all(void *self, const char *reason, int64_t now)
{
	struct venue_async *a = self;
	/* the end of a run: what never reached the venue is cancelled here */
	for (int i = 0; i < a->n; i++) {
		struct order *o = oms_get(a->oms, a->q[i].id);
		if (a->q[i].kind == REQ_SUBMIT && o && oms_is_open(o))
			oms_cancel(a->oms, o, reason, now);
	}
	a->n = 0;
	a->inner.ops->cancel_all(a->inner.self, reason, now);
}

static int64_t async_due(void *self)
{
	struct venue_async *a = self;
	return a->inner.ops->due(a->inner.self);
}

static void async_advance(void *self, int64_t now)
{
	struct venue_async *a = self;
	a->inner.ops->advance(a->inner.self, now);
}

static void async_status(void *self, struct venue_status *out)
{
	struct venue_async *a = self;
	a->inner.ops->status(a->inner.self, out);
	snprintf(out->detail, sizeof out->detail, "asynchronous test venue (%d events late)",
		 a->after);
}

static void async_free(void *self)
{
	struct venue_async *a = self;
	if (!a)
		return;
	a->inner.ops->free(a->inner.self);
	free(a->q);
	free(a);
}

const struct venue_ops venue_async_ops = {
	.name = "async",
	.submit = async_submit,
	.cancel = async_cancel,
	.replace = async_replace,
	.cancel_all = async_cancel_all,
	.market = async_market,
	.due = async_due,
	.advance = async_advance,
	.status = async_status,
	.free = async_free,
};
