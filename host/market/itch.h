/*
 * itch — NASDAQ TotalView-ITCH 5.0 decoder and file reader.
 *
 * Zero-copy: a decoded message is a view (struct itch_msg) over the bytes it
 * came from; the header is decoded into the view, body fields are read on
 * demand with the itch_* accessors below at the offsets of the spec. Every
 * message's length is checked against its type's fixed length before a view
 * is handed out, so an accessor at a valid offset never reads out of bounds.
 * Integers are big-endian and read byte by byte (no unaligned casts).
 *
 * Files are NASDAQ's daily framing `[u16 BE length][message]`, plain (mmap)
 * or gzip (streamed through a bounded buffer). A view returned by
 * itch_reader_next stays valid until the next call on the same reader.
 */
#ifndef GANTRY_ITCH_H
#define GANTRY_ITCH_H

#include <stddef.h>
#include <stdint.h>

/* Field offsets from the start of a message (spec section "Message table"). */
enum {
	ITCH_HDR_LEN = 11,
	ITCH_OFF_REF = 11,         /* A F E C X D U P: order reference (u64)     */
	ITCH_OFF_ADD_SIDE = 19,    /* A F P: side 'B'/'S'                        */
	ITCH_OFF_ADD_SHARES = 20,  /* A F P: shares (u32)                        */
	ITCH_OFF_ADD_STOCK = 24,   /* A F P: stock (8)                           */
	ITCH_OFF_ADD_PRICE = 32,   /* A F P: price (u32, 4 decimals)             */
	ITCH_OFF_EXEC_SHARES = 19, /* E C X: executed / cancelled shares (u32)   */
	ITCH_OFF_EXEC_MATCH = 23,  /* E C: match number (u64)                    */
	ITCH_OFF_C_PRINTABLE = 31,
	ITCH_OFF_C_PRICE = 32,
	ITCH_OFF_U_NEWREF = 19,
	ITCH_OFF_U_SHARES = 27,
	ITCH_OFF_U_PRICE = 31,
	ITCH_OFF_P_MATCH = 36,
	ITCH_OFF_Q_SHARES = 11, /* u64 */
	ITCH_OFF_Q_STOCK = 19,
	ITCH_OFF_Q_PRICE = 27,
	ITCH_OFF_Q_MATCH = 31,
	ITCH_OFF_Q_TYPE = 39,
	ITCH_OFF_STOCK = 11, /* R H Y K J h N O: stock (8) */
	ITCH_OFF_H_STATE = 19,
	ITCH_OFF_Y_ACTION = 19,
	ITCH_OFF_h_MARKET = 19,
	ITCH_OFF_h_ACTION = 20,
	ITCH_OFF_S_EVENT = 11,
	ITCH_MAX_LEN = 50,
};

/* One decoded message: the header, and the bytes for the body accessors. */
struct itch_msg {
	const uint8_t *p; /* the message, p[0] is the type; not owned */
	uint64_t ts;      /* ns since midnight (48 bits) */
	uint16_t len;
	uint16_t locate;
	uint16_t tracking;
	char type;
};

/* Decode errors and data-integrity errors (negative, errno-style). */
enum itch_err {
	ITCH_OK = 0,
	ITCH_ERR_TRUNCATED = -1,  /* the file ends inside a frame */
	ITCH_ERR_LENGTH = -2,     /* frame length is not the fixed length of its type */
	ITCH_ERR_TYPE = -3,       /* unknown message type */
	ITCH_ERR_TIME = -4,       /* timestamp lower than the previous message's */
	ITCH_ERR_IO = -5,         /* read or gzip error */
	ITCH_ERR_UNKNOWN_REF = -6, /* reported by the book: reference to an order not in it */
	ITCH_ERR_DUP_REF = -7,    /* reported by the book: add with a live reference */
	ITCH_ERR_OVER_REDUCE = -8, /* reported by the book: exec/cancel more than the order has */
	ITCH_ERR_COUNT_ = 9,
};

/* Stable lowercase word for an error kind ("truncated", "length", ...). */
const char *itch_err_name(int err);

/* Fixed length of a message type, 0 for an unknown type. */
size_t itch_type_len(uint8_t type);

/* Decode the message of len bytes at p into *m (a view over p).
 * Returns ITCH_OK, ITCH_ERR_TYPE or ITCH_ERR_LENGTH. */
int itch_decode(const uint8_t *p, size_t len, struct itch_msg *m);

/* Big-endian reads, no alignment requirement. */
static inline uint16_t itch_be16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}
static inline uint32_t itch_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t itch_be48(const uint8_t *p)
{
	return (uint64_t)itch_be16(p) << 32 | itch_be32(p + 2);
}
static inline uint64_t itch_be64(const uint8_t *p)
{
	return (uint64_t)itch_be32(p) << 32 | itch_be32(p + 4);
}

/* Body accessors: the caller picks an offset valid for m->type. */
static inline uint32_t itch_u32(const struct itch_msg *m, unsigned off)
{
	return itch_be32(m->p + off);
}
static inline uint64_t itch_u64(const struct itch_msg *m, unsigned off)
{
	return itch_be64(m->p + off);
}
static inline char itch_ch(const struct itch_msg *m, unsigned off)
{
	return (char)m->p[off];
}
/* Copies an alpha field of n bytes without its trailing spaces, NUL-terminated
 * (out must hold n + 1 bytes); returns the length copied. */
size_t itch_alpha(const struct itch_msg *m, unsigned off, unsigned n, char *out);
/* The stock of a message that carries one (NULL-free "" for the others). */
size_t itch_stock(const struct itch_msg *m, char out[9]);
/* Offset of the stock field for this type, or 0 when it has none. */
unsigned itch_stock_off(char type);

/* Writes the message as one JSON object (no newline), the field names and
 * price strings of reference/data/itch50-real.jsonl. Returns bytes written,
 * or the size needed (snprintf-style) when it does not fit. */
size_t itch_to_json(const struct itch_msg *m, char *buf, size_t cap);

/* ------------------------------------------------------------ reader */

struct itch_reader {
	const char *path;     /* for messages; not owned */
	const uint8_t *base;  /* mapped file, memory buffer, or the gzip buffer */
	size_t size;          /* valid bytes at base */
	size_t pos;           /* next frame, relative to base */
	uint64_t base_off;    /* stream offset of base[0] (moves in gzip mode) */
	uint64_t last_ts;
	uint64_t messages;    /* messages handed out */
	uint64_t frame_off;   /* stream offset of the frame last handed out */
	int check_time;       /* report ITCH_ERR_TIME (default on) */
	int done;
	/* the last error: kind, byte offset of its frame, text */
	int err;
	uint64_t err_offset;
	char err_text[160];
	/* private */
	int fd;
	size_t map_len;
	void *mem;	/* itch_reader_load's copy (map_len bytes), else NULL */
	void *gz;
	uint8_t *buf;
	size_t buf_cap;
	int gz_eof;
};

/* Opens FILE (gzip detected by its magic bytes). 0, or -1 with a message
 * `FILE: what is wrong` in err. */
int itch_reader_open(struct itch_reader *rd, const char *path, char *err, size_t errlen);
/* A reader over len bytes at buf (not copied; must outlive the reader). */
void itch_reader_open_mem(struct itch_reader *rd, const uint8_t *buf, size_t len,
			  const char *name);
/*
 * Next message: 1 and *msg set; 0 at the end; negative itch_err on bad data,
 * with rd->err_offset the byte offset of the frame (its length field) and
 * rd->err_text what is wrong. After ITCH_ERR_LENGTH or ITCH_ERR_TYPE the
 * frame is skipped and the caller may go on; after ITCH_ERR_TIME *msg is
 * valid (the message itself is well formed) and the caller may use it;
 * ITCH_ERR_TRUNCATED and ITCH_ERR_IO end the stream.
 */
static inline int itch_reader_next(struct itch_reader *rd, struct itch_msg *msg);
/* The out-of-line part of itch_reader_next: refills, the end, the errors. */
int itch_reader_next_slow(struct itch_reader *rd, struct itch_msg *msg);
int itch_reader_time_error(struct itch_reader *rd, const struct itch_msg *msg);
extern const uint8_t itch_len_table[256];
/* A second cursor over the stream, for prefetching ahead of the reader:
 * zero-initialise it, then each itch_reader_peek returns the message after
 * the one it returned last (never one the reader has passed), or NULL when
 * that frame is not buffered yet. Nothing is checked but bounds: a hint. */
struct itch_ahead {
	uint64_t off; /* stream offset of the next frame to peek */
};
static inline const uint8_t *itch_reader_peek(const struct itch_reader *rd,
					      struct itch_ahead *c, size_t *len);
/* Byte offset (in the decompressed stream) of the frame last handed out. */
uint64_t itch_reader_offset(const struct itch_reader *rd);
/* Bytes consumed so far (the whole stream once next returned 0). */
uint64_t itch_reader_bytes(const struct itch_reader *rd);
/* A mapped file of at most max bytes is read, before any message is, into
 * anonymous memory that asks for 2 MB pages, and the file unmapped (4 KB
 * anonymous pages were worse still on the machine we measure on).
 * Under nested paging the first touch of some 4 KB pages of a file mapping
 * stalls for several microseconds (a page walk through the host's tables);
 * a tick backtest reads its day this way so that no such stall lands inside
 * a tick. 1 when copied, 0 when left as it was (gzip, too big, no memory). */
int itch_reader_load(struct itch_reader *rd, size_t max);
void itch_reader_close(struct itch_reader *rd);

/* The view of a message whose length was checked against its type. */
static inline void itch_view(struct itch_msg *m, const uint8_t *p, size_t len)
{
	m->p = p;
	m->len = (uint16_t)len;
	m->type = (char)p[0];
	m->locate = itch_be16(p + 1);
	m->tracking = itch_be16(p + 3);
	m->ts = itch_be48(p + 5);
}

/* The common case inline: a well-formed frame wholly in the buffer. */
static inline int itch_reader_next(struct itch_reader *rd, struct itch_msg *msg)
{
	if (__builtin_expect(rd->size - rd->pos >= 2 + ITCH_MAX_LEN && !rd->done, 1)) {
		const uint8_t *f = rd->base + rd->pos;
		/* the hardware prefetcher stops at page boundaries; run ahead of it */
		__builtin_prefetch(f + 1024);
		size_t len = itch_be16(f);
		if (__builtin_expect(len != 0 && len == itch_len_table[f[2]], 1)) {
			itch_view(msg, f + 2, len);
			rd->frame_off = rd->base_off + rd->pos;
			rd->pos += 2 + len;
			rd->messages++;
			if (__builtin_expect(msg->ts < rd->last_ts, 0) && rd->check_time)
				return itch_reader_time_error(rd, msg);
			rd->last_ts = msg->ts;
			return 1;
		}
	}
	return itch_reader_next_slow(rd, msg);
}

static inline const uint8_t *itch_reader_peek(const struct itch_reader *rd,
					      struct itch_ahead *c, size_t *len)
{
	uint64_t cur = rd->base_off + rd->pos;
	if (c->off < cur)
		c->off = cur;
	size_t rel = (size_t)(c->off - rd->base_off);
	if (rel + 2 > rd->size)
		return NULL;
	size_t l = itch_be16(rd->base + rel);
	if (rel + 2 + l > rd->size)
		return NULL;
	c->off += 2 + l;
	*len = l;
	return rd->base + rel + 2;
}

#endif
