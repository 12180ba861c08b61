/*
 * venue_fix — orders to a FIX 4.4 counterparty, behind struct venue_ops:
 * NewOrderSingle, OrderCancelRequest, OrderCancelReplaceRequest out;
 * ExecutionReport and OrderCancelReject in, driving the order book of
 * record (oms). The session (fix_session.c) carries them.
 *
 * Invariants:
 * - A ClOrdID is `R<run>-<order id>-<n>`: run is a number kept in
 *   STORE/SENDER-TARGET.run and raised at every start, so ClOrdIDs never
 *   repeat across restarts; n counts the order's cancel/replace requests.
 * - Positions and P&L move only on the venue's fills (150=F).
 * - A report for an order this run does not know is logged and counted
 *   (venue_fix_stats), never dropped silently.
 * - While the session is down, submit refuses with reason `venue_down`.
 */
#ifndef GANTRY_VENUE_FIX_H
#define GANTRY_VENUE_FIX_H

#include "fix_session.h"
#include "oms.h"
#include "symtab.h"
#include "venue.h"

struct venue_fix_config {
	struct fix_session_config s;
	int native_stops;	 /* send stops as OrdType 3/4; else the host holds them */
	int cancel_on_reconnect; /* cancel working orders once the session is back */
	int mass_status;	 /* the venue takes OrderMassStatusRequest (35=AF): asked at recovery */
	const char *account;	 /* tag 1, NULL: none */
	const char *url;	 /* for messages: fix://HOST:PORT or fixs://... */
	/* the run's time for the book of record (the engine's clock); NULL: the wall clock */
	int64_t (*now)(void *ud);
	void *now_ud;
};

enum venue_fix_event {
	VF_UP,	   /* logged on */
	VF_DOWN,   /* the session dropped */
	VF_REPORT, /* reports reached the oms: deliver them */
	VF_FATAL,  /* the session cannot go on (detail: one line) */
	VF_SYNC,   /* a barrier was answered */
	VF_UNSETTLED, /* recovery: a difference with the venue that no report settles (detail) */
};

struct venue_fix;

/* NULL with err (the TLS files). st: symbol names (borrowed). The store
 * (c->s.store_dir) is opened by venue_fix_start. */
struct venue_fix *venue_fix_new(struct oms *oms, const struct symtab *st,
				const struct venue_fix_config *c, char *err, size_t errlen);
void venue_fix_listen(struct venue_fix *v, void (*fn)(void *ud, int ev, const char *detail),
		      void *ud);
int venue_fix_start(struct venue_fix *v, struct event_base *base, char *err, size_t errlen);
/* Lets go of the loop before it is freed. */
void venue_fix_detach(struct venue_fix *v);
/* Why the session cannot go on (a certificate, refused credentials), or NULL. */
const char *venue_fix_fatal(const struct venue_fix *v);
/* Logout; venue_fix_closed once it is done. */
void venue_fix_stop(struct venue_fix *v);
int venue_fix_closed(const struct venue_fix *v);
int venue_fix_up(const struct venue_fix *v);
/* 1 while the venue owes answers to requests sent since the last barrier:
 * sends a TestRequest as a barrier when needed (its Heartbeat comes after
 * every earlier answer). A replayed feed waits on it, so a live run over a
 * file is deterministic. Also 1 while the session is down. */
int venue_fix_busy(struct venue_fix *v);

struct venue_fix_stats {
	long sent_new, sent_cancel, sent_replace, reports, unknown_reports, unhandled,
	    cancel_rejects, overfills;
	long status_requests, missed_fills, unsettled; /* recovery (reconcile) */
	struct fix_session_stats session;
};
void venue_fix_stats(const struct venue_fix *v, struct venue_fix_stats *out);

extern const struct venue_ops venue_fix_ops;

#endif
