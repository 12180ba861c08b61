/*
 * fix — the FIX 4.4 wire codec: an encoder that appends fields into a
 * caller's buffer (no allocation) and computes BodyLength and CheckSum, a
 * framer that finds one whole message in a byte stream, and a zero-copy
 * parser that indexes a message's tag=value fields as offsets into it.
 * Pure C: no libevent, no OpenSSL (the session, fix_session.c, drives it).
 *
 * Invariants: a message the framer hands out has `8=FIX.4.4`, a BodyLength
 * that reaches exactly `10=NNN<SOH>`, and the right CheckSum; anything else
 * is garbled and dropped (FIX session rules: no Reject, no seq change).
 * A framed message whose fields are bad (a tag not a number, an empty value,
 * 35 not third, a header field missing or malformed) is parsed far enough to
 * name the field: fix_parse returns the SessionRejectReason and RefTagID the
 * session answers with a Reject (35=3).
 */
#ifndef GANTRY_FIX_H
#define GANTRY_FIX_H

#include <stddef.h>
#include <stdint.h>

#define FIX_SOH '\001'
#define FIX_BEGIN "FIX.4.4"
#define FIX_MAX_FIELDS 128
#define FIX_IDX_TAGS 192
/* Room the encoder keeps in front of the body for `8=FIX.4.4|9=NNNNNN|`. */
#define FIX_HEAD_ROOM 24

/* ------------------------------------------------------------ encoding */

struct fix_writer {
	char *buf;
	size_t cap, len; /* body bytes are buf[FIX_HEAD_ROOM .. len) */
	int overflow;	 /* a field did not fit: fix_finish fails */
};

/* Starts a message of type msgtype ("D", "A", ...) in buf (cap bytes).
 * The header's other fields are the caller's (fix_add_*), in order. */
void fix_begin(struct fix_writer *w, char *buf, size_t cap, const char *msgtype);
void fix_add_str(struct fix_writer *w, int tag, const char *s);
void fix_add_strn(struct fix_writer *w, int tag, const char *s, size_t n);
void fix_add_int(struct fix_writer *w, int tag, int64_t v);
void fix_add_char(struct fix_writer *w, int tag, char c);
/* A decimal with up to 8 places, trailing zeros dropped (no exponent). */
void fix_add_price(struct fix_writer *w, int tag, double v);
/* UTCTimestamp `YYYYMMDD-HH:MM:SS.sss` of ns since the epoch. */
void fix_add_time(struct fix_writer *w, int tag, int64_t ns);
/* Copies raw `tag=value<SOH>` bytes (a stored message's body fields). */
void fix_add_raw(struct fix_writer *w, const char *p, size_t n);
/* Writes 8 and 9 before the body and 10 after it: *msg is the message's
 * first byte (inside buf), the return its length; -1 when it did not fit. */
long fix_finish(struct fix_writer *w, const char **msg);

/* ------------------------------------------------------------ framing */

enum fix_frame_rc {
	FIX_FRAME_OK,	   /* *used bytes are one good message */
	FIX_FRAME_MORE,	   /* need more bytes (nothing is wrong yet) */
	FIX_FRAME_GARBLED, /* drop *used bytes (a bad message or junk before one) */
};

/* Looks at the start of len bytes. GARBLED names why in *why (static). A
 * message longer than max_len is garbled (the stream resyncs on the next
 * `8=FIX`). */
int fix_frame(const char *buf, size_t len, size_t max_len, size_t *used, const char **why);

/* ------------------------------------------------------------ parsing */

struct fix_field {
	int tag;
	uint32_t off, len; /* the value: buf[off .. off+len) */
};

struct fix_msg {
	const char *buf; /* borrowed: the framed message */
	size_t len;
	int nfields;
	struct fix_field f[FIX_MAX_FIELDS];
	/* the first field of each tag below FIX_IDX_TAGS: index + 1, 0 absent
	 * (fix_find in one load for the tags a session and venue read) */
	unsigned char idx[FIX_IDX_TAGS];
	/* the header, decoded */
	char type[4]; /* MsgType, NUL-terminated (up to 3 chars) */
	int64_t seq;  /* 34 */
	int poss_dup; /* 43=Y */
};

/* SessionRejectReason (373) values the parser and session use. */
enum fix_reject_reason {
	FIX_REJ_INVALID_TAG = 0,
	FIX_REJ_REQUIRED_MISSING = 1,
	FIX_REJ_UNDEFINED_TAG = 3,
	FIX_REJ_NO_VALUE = 4,
	FIX_REJ_BAD_VALUE = 5,
	FIX_REJ_BAD_FORMAT = 6,
	FIX_REJ_COMPID = 9,
	FIX_REJ_SENDING_TIME = 10,
	FIX_REJ_BAD_MSGTYPE = 11,
	FIX_REJ_OUT_OF_ORDER = 14,
	FIX_REJ_OTHER = 99,
};

struct fix_error {
	int reason;  /* enum fix_reject_reason */
	int ref_tag; /* 371, 0 when none */
	char text[96];
};

/* Indexes a framed message. 0, or -1 with err (the fields before the bad one
 * stay indexed: m->seq and m->type are set when they were readable). */
int fix_parse(const char *buf, size_t len, struct fix_msg *m, struct fix_error *err);

/* The first field with tag: its index, or -1. */
int fix_find(const struct fix_msg *m, int tag);
/* Value of tag as a pointer and length; NULL when absent. */
const char *fix_get(const struct fix_msg *m, int tag, size_t *len);
/* 0 and *out, -1 when absent or not a number (ints: digits with an optional
 * '-'; doubles: digits with an optional '-' and '.'). */
int fix_get_int(const struct fix_msg *m, int tag, int64_t *out);
int fix_get_double(const struct fix_msg *m, int tag, double *out);
/* The value's first char, or 0 when absent or not one char. */
char fix_get_char(const struct fix_msg *m, int tag);
/* Copies the value as a C string (truncated to cap-1); 0, or -1 when absent. */
int fix_get_str(const struct fix_msg *m, int tag, char *out, size_t cap);
/* 1 for a session (admin) MsgType: 0 1 2 3 4 5 A. */
int fix_is_admin(const char *type);

/* Parses a UTCTimestamp (`YYYYMMDD-HH:MM:SS[.sss...]`); 0 and *ns, or -1. */
int fix_parse_time(const char *s, size_t len, int64_t *ns);

#endif
