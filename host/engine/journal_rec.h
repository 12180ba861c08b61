/*
 * journal_rec — the engine's side of the journal (host/core/journal.h):
 * what it writes and when, and the recovery of a host started on an
 * existing journal. docs/journal.md says what each record means.
 *
 * Writing. The venue the engine holds is wrapped: each submit, cancel,
 * replace and cancel-all is journaled and committed (durably, as the fsync
 * policy says) before the call reaches the venue; a commit that fails
 * refuses the order ("venue"), so nothing leaves that is not on record. The
 * oms listener journals every state change and fill. Each event that wrote
 * anything is a transaction (txn_begin ... txn_end, with its feed position);
 * so are the start (on_start), each control command, and the stop.
 *
 * Recovery (jrec_recover, from engine_begin, before on_start). The records
 * are replayed in order against a fresh simulator and the same feed: each
 * journaled action is done again, each acknowledgement and fill it gives
 * must be the journaled one (a difference halts the strategy with the
 * reason). A transaction that never ended (the host died inside an event)
 * is void: written back as a `void` record, its order ids burnt, its event
 * taken again. Then the strategies' snapshots (ctx.state), halts, versions,
 * `ctl set`s and risk windows are restored, fills.csv and orders.csv are
 * cut back to what the journal holds, and the feed resumes after the last
 * event that was done.
 */
#ifndef GANTRY_JOURNAL_REC_H
#define GANTRY_JOURNAL_REC_H

#include <stdint.h>

#include "journal.h"

struct engine;
struct strategy;
struct oms_event;
struct feed_event;
struct jrec;

struct jrec_config {
	const char *dir; /* the journal's directory (made if missing) */
	struct journal_opts opts;
	long snapshot_every; /* events between ctx.state snapshots; 0: only at a clean stop */
	const char *outdir;  /* the run's files, cut back at recovery; NULL: none */
	int fresh_only;	     /* a backtest: a journal that already has records is refused */
};

/* Opens the journal and wraps the engine's venue (after engine_attach).
 * 0, or -1 with err. */
int jrec_attach(struct engine *e, const struct jrec_config *c, char *err, size_t errlen);
/* Closes the journal (engine_free). */
void jrec_free(struct engine *e);
/* The journal's lag: bytes not yet on disk, and how long the oldest has
 * waited (ns); 0 without a journal. For /metrics. */
uint64_t jrec_lag_bytes(const struct engine *e);
int64_t jrec_lag_ns(const struct engine *e);

/* ---- hooks, each called from one place in the engine (or ctl) ---- */

/* The oms listener's first step: 1 when the event was the recovery's own
 * (the engine does nothing more with it), else 0 (journaled). */
int jrec_oms(struct jrec *jr, const struct oms_event *ev);
void jrec_event_begin(struct jrec *jr, const struct feed_event *ev);
void jrec_event_end(struct engine *e);
/* Rebuilds the host from the journal before on_start (nothing to do on a
 * new journal). 0, or -1 with err (the journal is damaged, or was written
 * by other strategies or other data). */
int jrec_recover(struct engine *e, char *err, size_t errlen);
void jrec_stop_begin(struct jrec *jr);
void jrec_stop_end(struct engine *e);
/* state: 0 resumed, 1 halted, 2 quarantined (failed). */
void jrec_halt(struct strategy *s, const char *reason, int state);
void jrec_set(struct engine *e, const char *kv, const char *old);
void jrec_reload(struct strategy *s, const char *msg, int ok);
/* A control command: its own transaction, until jrec_operator_done. These
 * three do nothing without a journal (ctl calls them unconditionally). */
void jrec_operator(struct engine *e, const char *line, const char *who);
void jrec_operator_done(struct engine *e);
void jrec_oco(struct engine *e, int64_t a, int64_t b);
/* A venue's session went up or down (a logon, a disconnect): the FIX
 * venue's session reports (struct venue_report) call this. No journal:
 * nothing. */
void jrec_venue_session(struct engine *e, int up, const char *detail);

#endif
