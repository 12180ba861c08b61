/*
 * book — per-symbol L3 order books built from ITCH 5.0 messages.
 *
 * One struct book_set holds every symbol of a feed, indexed by stock locate
 * (a flat array of 65536). Every live order sits in one pool and one open
 * addressing hash keyed by order reference; each order carries an arrival
 * number (time priority within its level), each price level its total shares
 * and order count.
 * Levels of a side are a sorted array, best last, so the top of book and the
 * levels near it move cheaply.
 *
 * Rules (TotalView-ITCH 5.0): A/F add at the back of the level; E/C/X reduce
 * (the order leaves at 0); D removes; U = delete + add under the new
 * reference at the back of its new level (same side and symbol); P, Q and B
 * never touch the displayed book; R names a locate; H, h, Y set a symbol's
 * trading state, operational halt and Reg SHO flag; S the market's event.
 * Crossed and locked books are counted, never hidden or corrected.
 *
 * Memory: pools grow geometrically only when full (sized up front from
 * struct book_config); steady state allocates nothing. Prices are the ITCH
 * u32 with 4 implied decimals throughout.
 */
#ifndef GANTRY_BOOK_H
#define GANTRY_BOOK_H

#include "itch.h"

#include <stddef.h>
#include <stdint.h>

enum { BOOK_BID = 0, BOOK_ASK = 1, BOOK_LOCATES = 65536 };

/* What a message did to the books (filled by book_apply). */
enum book_ev_kind {
	BOOK_EV_NONE = 0,  /* nothing for the book (or locate not subscribed) */
	BOOK_EV_ADD,       /* A, F */
	BOOK_EV_EXEC,      /* E, C: a resting order executed (a trade) */
	BOOK_EV_CANCEL,    /* X */
	BOOK_EV_DELETE,    /* D */
	BOOK_EV_REPLACE,   /* U */
	BOOK_EV_TRADE,     /* P: hidden/non-displayed execution, book unchanged */
	BOOK_EV_CROSS,     /* Q: cross trade, book unchanged */
	BOOK_EV_BROKEN,    /* B */
	BOOK_EV_STATE,     /* H, h, Y, S: a trading-state change */
	BOOK_EV_DIRECTORY, /* R */
	BOOK_EV_INFO,      /* I, N, L, J, K, V, W, O: informational */
};

struct book_event {
	uint64_t ts;
	uint64_t ref;       /* order concerned (U: the original) */
	uint64_t new_ref;   /* U: the new reference */
	uint16_t locate;
	uint8_t kind;        /* enum book_ev_kind */
	uint8_t subscribed;  /* the locate is subscribed (always 1 without a filter) */
	uint8_t top_changed; /* best bid or best ask (price or shares) changed */
	uint8_t removed;     /* the order left the book (D, last share of E/C/X, U) */
	char side;           /* 'B' or 'S': side of the level(s) changed, 0 if none */
	/* level change: delta shares at price on side (U: the old level) */
	uint32_t price;
	int64_t delta;
	/* U only: the level the order moved to (+shares) */
	uint32_t new_price;
	int64_t new_delta;
	/* trades (E, C, P, Q): has_trade = 1 */
	uint8_t has_trade;
	uint8_t printable;   /* C: 'Y' -> 1; E, P, Q: 1 */
	char trade_side;     /* E/C: side of the resting order; P: its side; Q: 0 */
	uint32_t trade_price;
	uint64_t trade_qty;
};

struct book_top {
	uint32_t bid, ask;         /* 0 when the side is empty */
	uint64_t bid_qty, ask_qty;
};

struct book_level_info {
	uint32_t price;
	uint32_t orders;
	uint64_t shares;
};

/* A symbol's state besides its book. */
struct book_status {
	char name[9];        /* "" until R (or a message carrying the stock) names it */
	char trading_state;  /* H: 'H' halted 'P' paused 'Q' quotation 'T' trading; 0 unknown */
	char reg_sho;        /* Y: '0' '1' '2'; 0 unknown */
	uint8_t op_halted;   /* h: bit 0 Nasdaq 'Q', bit 1 BX 'B', bit 2 PSX 'X' */
	uint8_t subscribed;
	uint8_t cross_state; /* 0 normal, 1 locked, 2 crossed (now) */
	uint64_t live_orders;
	uint64_t crossed;    /* times the book became crossed (bid > ask) */
	uint64_t locked;     /* times the book became locked (bid == ask) */
};

struct book_config {
	uint32_t orders_hint; /* expected peak live orders (the direct table gets four slots
				 * for each, rounded up to a power of two); 0: 1M */
	int prefault;         /* fault the tables in up front (about 100 MB by default), so
			       * that no page fault lands in the message loop */
};

struct book_set; /* opaque */

/* NULL on out of memory. */
struct book_set *book_set_new(const struct book_config *cfg);
void book_set_free(struct book_set *s);

/*
 * Applies one decoded message. Returns 0, or a negative itch_err when the
 * message contradicts the book (ITCH_ERR_UNKNOWN_REF: E/C/X/D/U of an order
 * not in the book, ignored; ITCH_ERR_DUP_REF: an add whose reference is live,
 * ignored; ITCH_ERR_OVER_REDUCE: more shares executed or cancelled than the
 * order has, the order is removed). The books stay consistent either way.
 * ev (may be NULL) says what happened.
 */
int book_apply(struct book_set *s, const struct itch_msg *m, struct book_event *ev);

/*
 * Prefetch hints for a message that book_apply will see soon: msg/len are the
 * raw bytes of a frame ahead (from itch_reader_peek; msg may be malformed,
 * nothing is read past len, and NULL with len 0 does nothing). Books built
 * from memory are bound by cache misses; two stages hide most of them:
 * book_prefetch, about 16 messages ahead, asks for the symbol and the order's
 * slot of the direct table; book_prefetch_near, about 8 ahead, reads those
 * (arrived by then) and asks for the best level of the order's side, or the
 * overflow slot of an old order.
 *
 *   struct itch_ahead far = {0}, near = {0};
 *   for (i = 0; i < 16; i++) book_prefetch(itch_reader_peek(rd, &far, ..))
 *   for (i = 0; i < 8; i++)  book_prefetch_near(itch_reader_peek(rd, &near, ..))
 *   loop: itch_reader_next; both hints on the next peeks; book_apply
 */
void book_prefetch(const struct book_set *s, const uint8_t *msg, size_t len);
void book_prefetch_near(const struct book_set *s, const uint8_t *msg, size_t len);

/* The loop above, kept in step with a reader: book_prefetch_start before the
 * first itch_reader_next, book_prefetch_step once a message. */
enum { BOOK_AHEAD_FAR = 16, BOOK_AHEAD_NEAR = 8 };
struct book_ahead {
	struct itch_ahead far, near;
};

static inline void book_prefetch_step(const struct book_set *s, struct itch_reader *rd,
				      struct book_ahead *a)
{
	size_t len;
	const uint8_t *p;
	if ((p = itch_reader_peek(rd, &a->far, &len)))
		book_prefetch(s, p, len);
	if ((p = itch_reader_peek(rd, &a->near, &len)))
		book_prefetch_near(s, p, len);
}

static inline void book_prefetch_start(const struct book_set *s, struct itch_reader *rd,
				       struct book_ahead *a)
{
	size_t len;
	const uint8_t *p;
	*a = (struct book_ahead){0};
	for (int i = 0; i < BOOK_AHEAD_FAR; i++)
		if ((p = itch_reader_peek(rd, &a->far, &len)))
			book_prefetch(s, p, len);
	for (int i = 0; i < BOOK_AHEAD_NEAR; i++)
		if ((p = itch_reader_peek(rd, &a->near, &len)))
			book_prefetch_near(s, p, len);
}

/* Top of book of a locate. */
void book_top(const struct book_set *s, uint16_t locate, struct book_top *top);
/* Up to n levels of a side (BOOK_BID / BOOK_ASK), best first; returns how many. */
size_t book_depth(const struct book_set *s, uint16_t locate, int side,
		  struct book_level_info *out, size_t n);
/* Number of price levels on a side. */
size_t book_levels(const struct book_set *s, uint16_t locate, int side);
/* Locate of a symbol name (the last one R or a message gave it), -1 if none. */
int book_locate(const struct book_set *s, const char *name);
void book_status(const struct book_set *s, uint16_t locate, struct book_status *st);
/* The market-wide system event (S): 'O' 'S' 'Q' 'M' 'E' 'C', 0 before any. */
char book_system_event(const struct book_set *s);

/*
 * Subscriptions. Without a filter every locate is built. With
 * book_set_filter(s, 1) only subscribed locates are: messages of the others
 * cost a flag test (R, H, h, Y, S are always kept). Subscribe before the
 * symbol's first order message; a name waits for R (or the first message
 * naming it).
 */
void book_set_filter(struct book_set *s, int on);
void book_subscribe(struct book_set *s, uint16_t locate, int on);
int book_subscribe_name(struct book_set *s, const char *name);
int book_subscribed(const struct book_set *s, uint16_t locate);

/* Live orders in all books, and the most there ever were. */
uint64_t book_live_orders(const struct book_set *s);
uint64_t book_peak_orders(const struct book_set *s);
/* Locates with a name (symbols seen). */
uint32_t book_symbols(const struct book_set *s);
/* Total crossed / locked episodes over all symbols. */
uint64_t book_crossed_total(const struct book_set *s);
uint64_t book_locked_total(const struct book_set *s);

/* A live order: 1 and its fields, 0 if not in the book. */
struct book_order_info {
	uint64_t ref;
	uint32_t price;
	uint32_t shares;
	uint16_t locate;
	char side;
};
int book_order(const struct book_set *s, uint64_t ref, struct book_order_info *out);
/* Shares and orders ahead of ref in its level's queue (time priority); -1 if
 * the order is not in the book. Scans every live order: for tests and tools. */
int book_queue_ahead(const struct book_set *s, uint64_t ref, uint64_t *shares, uint32_t *orders);

/* Checks every invariant (levels sorted, sums, arrival numbers, hash); 0 ok, else
 * -1 and a description in err. O(book): for tests and fuzzing. */
int book_verify(const struct book_set *s, char *err, size_t errlen);

#endif
