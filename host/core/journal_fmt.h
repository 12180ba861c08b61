/*
 * journal_fmt — what the journal's records say: their types, their payloads
 * encoded and decoded (bounds-checked: a payload is untrusted input, and
 * fuzz/fuzz_journal.c runs the decoder), and one JSON object per record for
 * `gantry journal --dump`.
 *
 * A payload is a sequence of fields, little-endian: u8, u32, u64/i64,
 * f64 (IEEE-754 bits), str (u16 length + bytes, no terminator), blob (u32
 * length + bytes). Each type's fields are fixed (docs/journal.md). Fields
 * may be added at the end in a later version; a decoder ignores bytes past
 * the fields it knows.
 */
#ifndef GANTRY_JOURNAL_FMT_H
#define GANTRY_JOURNAL_FMT_H

#include <stddef.h>
#include <stdint.h>

#include "journal.h"
#include "jsonfmt.h"

enum jtype {
	J_TXN_BEGIN = 1, /* an event (or an operator command, the start, the stop) begins */
	J_TXN_END,	 /* ... and is done: what it wrote is whole */
	J_CREATED,	 /* the order path made an order (passed every check) */
	J_SENT,		 /* ... and hands it to the venue: on disk before it leaves */
	J_PENDING,	 /* the venue took it, not yet acknowledged */
	J_ACKNOWLEDGED,
	J_REJECTED,	/* by the venue */
	J_RISK_REFUSED, /* by a check of the order path (sanity, risk, gates) */
	J_REPLACED,
	J_CANCEL_REQUESTED, /* a cancel leaves for the venue */
	J_CANCEL_PENDING,
	J_CANCEL_REJECTED,
	J_CANCELLED,
	J_PARTIALLY_FILLED,
	J_FILLED,
	J_EXPIRED,
	J_FILL, /* one execution: quantity, price, fee */
	J_HALT,
	J_RESUME,
	J_PARAM_CHANGE,
	J_LIMIT_CHANGE,
	J_LOAD,	    /* a strategy loaded at start: path, name, version, source hash */
	J_RELOAD,   /* hot reload: the new version and hash, or why it failed */
	J_OPERATOR, /* a control command: text, who */
	J_VENUE_SESSION,
	J_SNAPSHOT,	     /* a strategy's ctx.state and figures between two events */
	J_VOID,		     /* records of an unfinished transaction, not applied (recovery) */
	J_RECOVERED,	     /* a host restarted on this journal: what it rebuilt */
	J_REPLACE_REQUESTED, /* a replace leaves for the venue (order: the new qty, price) */
	J_CANCEL_ALL,	     /* the venue is asked to cancel everything (reason) */
	J_MARKET,	     /* the venue saw the event's market here (not at its start) */
	J_OCO_LINK,	     /* two working orders became an OCO pair */
	J_TYPE_COUNT
};

enum jtxn_kind { JTXN_EVENT, JTXN_OPERATOR, JTXN_START, JTXN_STOP, JTXN_RECOVERY };

const char *jfmt_type_name(int type); /* "sent", ...; "unknown" */
const char *jfmt_who_name(int who);   /* "host", "strategy", ... */
const char *jfmt_txn_name(int kind);  /* "event", "operator", ... */
int jfmt_is_order(int type);	      /* J_CREATED .. J_EXPIRED, J_REPLACE_REQUESTED */

#define JFMT_STR 1024

struct jorder {
	int64_t id, oco, created, updated;
	int32_t sym;
	uint8_t side, type, tif, status, origin, role, trail_pct, triggered;
	double qty, filled, price, avg_price, fees, stop, trail, trail_best;
	char symbol[64];
	char reason[128];
};

struct jfill {
	int64_t order_id, time;
	int32_t sym;
	uint8_t side;
	double qty, price, fee;
	char symbol[64];
};

struct jtxn {
	uint8_t kind;
	uint64_t feed_pos; /* events taken from the feed so far (this one included) */
	int64_t event_time;
};

/* Up to three strings: halt/resume (reason, who), param/limit change (key,
 * old, new), load/reload (path, name or message, ok|failed), operator
 * (command, who), venue session (up|down, detail). */
struct jtext {
	char a[JFMT_STR], b[JFMT_STR], c[JFMT_STR];
};

struct jsnapshot {
	uint64_t feed_pos;
	double peak_equity, day_equity, last_equity;
	int64_t day;
	uint8_t state; /* the engine's enum strat_state */
	char reason[JFMT_STR];
	const unsigned char *blob; /* ctx.state (vm_state.h), points into the payload */
	uint32_t bloblen;
};

/* also J_OCO_LINK (from_seq, to_seq: the two order ids) and J_MARKET (feed_pos) */
struct jvoid {
	uint64_t from_seq, to_seq, feed_pos;
	char reason[256];
};

struct jrecovered {
	uint64_t feed_pos, orders, working, voided;
	char summary[JFMT_STR];
};

union jpayload {
	struct jorder order;
	struct jfill fill;
	struct jtxn txn;
	struct jtext text;
	struct jsnapshot snap;
	struct jvoid vd;
	struct jrecovered rec;
};

/* A growing payload under construction. */
struct jbuf {
	unsigned char *p;
	size_t n, cap;
	int oom;
};
void jbuf_reset(struct jbuf *b);
void jbuf_free(struct jbuf *b);
void jbuf_u8(struct jbuf *b, unsigned v);
void jbuf_u32(struct jbuf *b, uint32_t v);
void jbuf_u64(struct jbuf *b, uint64_t v);
void jbuf_f64(struct jbuf *b, double v);
void jbuf_str(struct jbuf *b, const char *s); /* NULL as "" ; cut at 65535 bytes */
void jbuf_blob(struct jbuf *b, const void *p, uint32_t n);

/* Encoders of each payload into b (reset first). */
void jfmt_order(struct jbuf *b, const struct jorder *o);
void jfmt_fill(struct jbuf *b, const struct jfill *f);
void jfmt_txn(struct jbuf *b, const struct jtxn *t);
void jfmt_text(struct jbuf *b, const char *a, const char *bb, const char *c);
void jfmt_snapshot(struct jbuf *b, const struct jsnapshot *s);
void jfmt_void(struct jbuf *b, const struct jvoid *v);
void jfmt_recovered(struct jbuf *b, const struct jrecovered *r);

/* A record's payload by its type. 0, or -1 with err (short, or a string
 * running past the end). Strings come out NUL-terminated, cut to fit. */
int jfmt_decode(int type, const unsigned char *p, size_t n, union jpayload *out, char *err,
		size_t errlen);

/* Whether a snapshot's ctx.state bytes are well formed (vm_state.h): tags
 * known, every length inside the buffer, tables closed, nesting at most 64,
 * nothing after the value, the value a table. 0, or -1 with err. The Lua
 * loader runs only on bytes that pass (fuzz/fuzz_journal.c checks this). */
int jfmt_state_check(const unsigned char *p, size_t n, char *err, size_t errlen);

/* One JSON object (no newline) for a record: seq, time, type, who,
 * strategy (names[strat] when known, else its number), version, hash, and
 * the payload's fields. A payload that does not decode gives "error". */
void jfmt_json(const struct journal_record *r, const char *const *names, int nnames, json_sink put,
	       void *ud);

#endif
