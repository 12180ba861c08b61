/*
 * netframe — the framing NASDAQ carries ITCH in over the network:
 * SoupBinTCP 3.0 packets (TCP) and MoldUDP64 1.00 packets (UDP).
 *
 * Pure and bounds-checked: every parser is given the bytes it may read and
 * reads nothing past them; a view it hands out points into those bytes
 * (zero-copy: the ITCH message of a Sequenced Data packet or of a message
 * block is decoded where it lies). Integers are big-endian, read byte by
 * byte. Layouts: reference protocols-risk.md section 1 "Framing".
 *
 * SoupBinTCP: `[u16 length of what follows][type][payload]`.
 * MoldUDP64:  `session(10) seq(u64) count(u16)` then count blocks
 *             `[u16 length][message]`; count 0 a heartbeat, 0xFFFF the end
 *             of the session (both carry the next expected seq).
 */
#ifndef GANTRY_NETFRAME_H
#define GANTRY_NETFRAME_H

#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------ SoupBinTCP */

enum {
	SOUP_LOGIN_LEN = 49,	    /* a Login Request on the wire */
	SOUP_ACCEPTED_PAYLOAD = 30, /* session(10) + seq(20 ASCII) */
	SOUP_MAX_PACKET = 2 + 65535,
};

struct soup_packet {
	char type;
	const uint8_t *payload; /* not owned: inside the bytes parsed */
	size_t len;		/* payload bytes */
};

/* One packet at the start of p (avail bytes): the bytes it takes (> 0), 0
 * when more bytes are needed, -1 when the length field is 0 (no type). */
long soup_parse(const uint8_t *p, size_t avail, struct soup_packet *out);
/* A packet of type with len payload bytes into out (cap bytes): its size,
 * 0 when it does not fit or len > 65534. */
size_t soup_build(uint8_t *out, size_t cap, char type, const uint8_t *payload, size_t len);

/* Login Request: user (6), password (10), session (10, "" the current),
 * sequence number (20 ASCII, 0 the most recent), each space-padded; longer
 * values are refused (-1). 0 with SOUP_LOGIN_LEN bytes in out. */
int soup_login_request(uint8_t out[SOUP_LOGIN_LEN], const char *user, const char *pass,
		       const char *session, uint64_t seq);
struct soup_login {
	char user[7], pass[11], session[11];
	uint64_t seq;
};
/* A Login Request's payload (46 bytes) parsed, fields trimmed: 0, or -1. */
int soup_login_parse(const struct soup_packet *pk, struct soup_login *out);
/* Login Accepted's payload: session (trimmed) and the next sequence number.
 * 0, or -1 when malformed. */
int soup_accepted_parse(const struct soup_packet *pk, char session[11], uint64_t *seq);
/* Login Accepted's payload from a session and sequence number (30 bytes). */
void soup_accepted_build(uint8_t out[SOUP_ACCEPTED_PAYLOAD], const char *session, uint64_t seq);

/* ------------------------------------------------------------ MoldUDP64 */

enum {
	MOLD_HDR_LEN = 20,
	MOLD_HEARTBEAT = 0,
	MOLD_END = 0xFFFF,
	MOLD_REQUEST_LEN = 20,
	MOLD_MAX_PACKET = 65507,
};

struct mold_header {
	char session[11]; /* NUL-terminated, as sent (10 bytes, padding kept) */
	uint64_t seq;
	uint16_t count;
};

/* The header of a packet of len bytes, and every block checked to lie
 * inside it (count blocks, each length > 0). 0; -1 a header too short;
 * -2 a block past the end (bad_off: where). Heartbeats and the end of
 * session have no blocks. */
int mold_parse(const uint8_t *p, size_t len, struct mold_header *h, size_t *bad_off);

/* The blocks of a packet mold_parse accepted, one at a time. */
struct mold_iter {
	const uint8_t *p;
	size_t len, pos;
	unsigned left;
};
void mold_iter_init(struct mold_iter *it, const uint8_t *p, size_t len,
		    const struct mold_header *h);
/* 1 and the message in *msg / *mlen; 0 after the last. */
int mold_iter_next(struct mold_iter *it, const uint8_t **msg, size_t *mlen);

/* A packet header into out (20 bytes). */
void mold_header_build(uint8_t out[MOLD_HDR_LEN], const char *session, uint64_t seq,
		       uint16_t count);
/* A re-request `session(10) seq(u64) count(u16)`: the same 20 bytes. */
static inline void mold_request_build(uint8_t out[MOLD_REQUEST_LEN], const char *session,
				      uint64_t seq, uint16_t count)
{
	mold_header_build(out, session, seq, count);
}
/* A re-request parsed: 0, or -1 when it is not 20 bytes. */
int mold_request_parse(const uint8_t *p, size_t len, struct mold_header *h);

#endif
