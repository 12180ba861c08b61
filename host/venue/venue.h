/*
 * venue — where orders go once the core has checked them, as a table of
 * operations (libevent's backends): each venue is one file exporting one
 * `const struct venue_ops`. Backends: the bar simulator (sim.c), the
 * order-book simulator (simbook.c), a test venue that answers late
 * (venue_async.c); FIX 4.4 plugs in the same way.
 *
 * A venue reports back asynchronously, never through return values alone:
 * acknowledgements, fills, rejects, cancels and expiries go into the order
 * book of record (oms_accept, oms_fill, oms_reject, oms_cancel, oms_expire),
 * whose listener is the engine; a venue's own health goes to the engine
 * through struct venue_report. The engine never assumes an order is
 * acknowledged when submit returns (a venue may leave it ST_PENDING), nor
 * that a cancel is done when cancel returns (ST_CANCEL_PENDING).
 */
#ifndef GANTRY_VENUE_H
#define GANTRY_VENUE_H

#include <stdint.h>

#include "oms.h"

struct feed_event;

/* What a venue tells the engine about itself. */
enum venue_state { VENUE_UP, VENUE_DOWN };

struct venue_status {
	int state; /* enum venue_state */
	char detail[128];
};

struct venue_report {
	/* The session went up or down (a disconnect, a logon). */
	void (*status)(void *ud, const struct venue_status *st);
	void *ud;
};

struct venue_ops {
	const char *name;
	/* Takes an order in ST_NEW and owns its fate from there: accepts it
	 * (now or later) or rejects it, through the oms. 0, or -1 when it could
	 * not even be taken (the caller rejects it as "venue"). */
	int (*submit)(void *self, struct order *o, int64_t now);
	/* Asks to cancel a working order: 0 when done or pending, -1 when not
	 * cancellable (already done, unknown here). */
	int (*cancel)(void *self, struct order *o, int64_t now);
	/* Asks to change a working order's quantity and/or price (limit
	 * orders). 0 when done or pending, -1 when refused. */
	int (*replace)(void *self, struct order *o, double qty, double price, int64_t now);
	/* Cancels every working order (the end of a run, a kill switch), in the
	 * order they were sent, with reason. */
	void (*cancel_all)(void *self, const char *reason, int64_t now);
	/* The market moved: a simulator matches its working orders here; a
	 * remote venue ignores it. */
	void (*market)(void *self, const struct feed_event *ev, int64_t now);
	/* The earliest event time at which the venue has work of its own (an
	 * order reaching a simulated venue after its latency), INT64_MAX if
	 * none; advance does that work up to now. */
	int64_t (*due)(void *self);
	void (*advance)(void *self, int64_t now);
	/* Health now. */
	void (*status)(void *self, struct venue_status *out);
	void (*free)(void *self);
	/* Recovery (docs/journal.md). replayable: an in-process simulator whose
	 * state died with the process; the journal's actions are replayed
	 * against a fresh one, with the feed, and must give the journaled
	 * acknowledgements and fills. reconcile (NULL: the venue cannot): a
	 * remote venue asked about an order the journal says is working (FIX:
	 * OrderStatusRequest; a mass status request where supported); the answer
	 * comes later through the oms like any report. 0, or -1 when it cannot
	 * ask (the host halts the strategy with the reason). Called once more
	 * with o NULL when every working order has been named (none, maybe):
	 * the venue's own list is asked for then (FIX: the mass status). */
	int replayable;
	int (*reconcile)(void *self, struct order *o, int64_t now);
};

/* A venue as the engine holds it. */
struct venue {
	const struct venue_ops *ops;
	void *self;
};

#endif
