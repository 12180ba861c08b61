/*
 * book — L3 books: orders by reference in a direct table, sorted level arrays.
 *
 * Invariants: every live order is in exactly one of the two order stores and
 * at exactly one level (the one with its locate, side and key); a level
 * exists iff it has at least one order; level.shares and level.orders are the
 * sums over its orders. Time priority is an arrival number per order (a
 * level's queue is its orders by seq), not links: adding or removing an order
 * touches no other order. Levels of a side are sorted by a key that grows
 * towards the best price (bid: price, ask: ~price), so the best level of
 * either side is the last element and the same code serves both sides.
 *
 * Orders. NASDAQ hands out order references in increasing order through the
 * day, and most orders die young. So an order lives in a direct table at
 * index ref mod 2^dbits, a 16-byte record that names the rest of its
 * reference (the tag): finding an order is one memory access, with no hash
 * probe in front of it, and the records of orders added together share cache
 * lines. When an add lands on a slot still held by an older live order (one
 * that outlived 2^dbits newer references), the older one moves to the
 * overflow table, open addressing by full reference with linear probing and
 * backward-shift deletion. A reference too large for a tag goes there
 * directly. Any order of references works; increasing ones are fast.
 * Arrival numbers sit in an array beside the direct table: written once per
 * add, read only by tools and tests.
 */
#include "book.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define XMIN_BITS 10

/* Message types as bits (type - 'A'), so that a type is dispatched with one
 * test: those that name an order by reference (A F E C X D U), and those that
 * book_apply handles as order messages (with the trades P Q). */
#define TYPE_BIT(c) (1u << ((c) - 'A'))
#define ORDER_REF_TYPES                                                                    \
	(TYPE_BIT('A') | TYPE_BIT('F') | TYPE_BIT('E') | TYPE_BIT('C') | TYPE_BIT('X') |    \
	 TYPE_BIT('D') | TYPE_BIT('U'))
#define ORDER_MSG_TYPES (ORDER_REF_TYPES | TYPE_BIT('P') | TYPE_BIT('Q'))

struct level {
	uint32_t key;    /* bid: price, ask: ~price */
	uint32_t orders;
	uint64_t shares;
};

struct side {
	struct level *lv; /* sorted by key, best last; owned */
	uint32_t n, cap;
};

/* A symbol: one cache line. The crossed/locked tallies, touched only when
 * the book changes state, live in book_set.tally. */
struct sym {
	struct side side[2];
	uint32_t best[2]; /* key of each side's best level (when the side has one) */
	uint32_t live;
	uint8_t subscribed, named, cross_state, op_halted;
	char trading_state, reg_sho;
	char name[9];
} __attribute__((aligned(64)));
_Static_assert(sizeof(struct sym) == 64, "struct sym is one cache line");

struct tally {
	uint64_t crossed, locked;
};

/* A live order: 16 bytes, four to a cache line. */
struct order {
	uint32_t tag;    /* direct table: (ref >> dbits) + 1; overflow: 1; 0: free */
	uint32_t shares;
	uint32_t key;
	uint16_t locate;
	uint8_t side;
	uint8_t over;    /* 1: lives in the overflow table */
};

/* An order in the overflow table. */
struct xorder {
	uint64_t ref;
	uint64_t seq;
	struct order o; /* o.tag 0: the slot is empty */
};

struct book_set {
	struct sym *sym; /* [BOOK_LOCATES], mmap'ed: pages appear as locates are used */
	struct tally *tally; /* [BOOK_LOCATES] (sym_map) */
	uint16_t *touched; /* locates that ever had a level (sym_map) */
	uint16_t *named;   /* locates with a name, in naming order (sym_map) */
	uint32_t ntouched;
	size_t map_len;
	struct order *dir; /* [dmask + 1], the order with reference r at r & dmask */
	uint64_t *dseq;    /* arrival numbers of dir's orders */
	uint64_t dmask;
	unsigned dbits;
	struct xorder *xo; /* overflow table [xmask + 1] */
	uint64_t xmask, nx;
	uint64_t xmax_ref; /* no reference above it was ever in the overflow table */
	unsigned xbits;
	uint64_t live, peak;
	uint64_t seq; /* next arrival number */
	uint64_t crossed, locked;
	uint32_t nsymbols;
	int filter;
	char system_event;
	char (*pending)[9]; /* names waiting for a locate */
	size_t npending;
};

/* ------------------------------------------------------------ memory */

/* The order tables are touched at random: they live in anonymous mappings
 * with transparent huge pages asked for, so that a lookup costs a cache miss
 * and not also a TLB miss. Zero-filled, like calloc. */
static void *big_alloc(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	madvise(p, len, MADV_HUGEPAGE);
	return p;
}

/* Faults every page of a fresh mapping in now (zero-filled by the kernel on
 * this first write), so that no page fault lands in the message loop: a
 * first touch costs microseconds (more under a hypervisor), in the middle of
 * a tick otherwise. */
static void prefault(void *p, size_t len)
{
	volatile uint8_t *b = p;
	for (size_t i = 0; i < len; i += 4096)
		b[i] = 0;
}

static void big_free(void *p, size_t len)
{
	if (p)
		munmap(p, len);
}

/* ------------------------------------------------------------ overflow */

static inline uint64_t xhome(const struct book_set *s, uint64_t ref)
{
	return (ref * 0x9E3779B97F4A7C15ull) >> (64 - s->xbits);
}

static inline struct xorder *x_find(const struct book_set *s, uint64_t ref)
{
	for (uint64_t i = xhome(s, ref);; i = (i + 1) & s->xmask) {
		struct xorder *x = &s->xo[i];
		if (!x->o.tag)
			return NULL;
		if (x->ref == ref)
			return x;
	}
}

/* Places an order known to be absent; room was made by x_reserve. */
static struct order *x_put(struct book_set *s, uint64_t ref, uint64_t seq, const struct order *o)
{
	uint64_t i = xhome(s, ref);
	while (s->xo[i].o.tag)
		i = (i + 1) & s->xmask;
	struct xorder *x = &s->xo[i];
	x->ref = ref;
	x->seq = seq;
	x->o = *o;
	x->o.tag = 1;
	x->o.over = 1;
	s->nx++;
	if (ref > s->xmax_ref)
		s->xmax_ref = ref;
	return &x->o;
}

static void x_del(struct book_set *s, struct xorder *x)
{
	uint64_t i = (uint64_t)(x - s->xo), j = i;
	for (;;) {
		j = (j + 1) & s->xmask;
		if (!s->xo[j].o.tag)
			break;
		uint64_t h = xhome(s, s->xo[j].ref);
		/* j's entry may move to i unless its home lies cyclically in (i, j] */
		int stays = i <= j ? (h > i && h <= j) : (h > i || h <= j);
		if (!stays) {
			s->xo[i] = s->xo[j];
			i = j;
		}
	}
	s->xo[i].o.tag = 0;
	s->nx--;
}

static int x_alloc(struct book_set *s, unsigned bits)
{
	struct xorder *xo = big_alloc(((size_t)1 << bits) * sizeof *xo);
	if (!xo)
		return -1;
	struct xorder *old = s->xo;
	uint64_t oldn = old ? s->xmask + 1 : 0;
	s->xo = xo;
	s->xbits = bits;
	s->xmask = ((uint64_t)1 << bits) - 1;
	s->nx = 0;
	for (uint64_t i = 0; i < oldn; i++)
		if (old[i].o.tag)
			x_put(s, old[i].ref, old[i].seq, &old[i].o);
	big_free(old, oldn * sizeof *old);
	return 0;
}

/* Room for one more overflow order (the table at most half full). */
static inline int x_reserve(struct book_set *s)
{
	if (__builtin_expect(s->nx + 1 > (s->xmask + 1) / 2, 0))
		return x_alloc(s, s->xbits + 1);
	return 0;
}

/* ------------------------------------------------------------ orders by reference */

/* Whether the direct record o, in ref's slot, is ref's order. */
static inline int holds(const struct book_set *s, const struct order *o, uint64_t ref)
{
	return (uint64_t)o->tag == (ref >> s->dbits) + 1;
}

/* The overflow entry of an order with o->over set. */
static inline struct xorder *xorder_of(const struct order *o)
{
	return (struct xorder *)(void *)((char *)o - offsetof(struct xorder, o));
}

static inline struct order *find_order(const struct book_set *s, uint64_t ref)
{
	struct order *o = &s->dir[ref & s->dmask];
	if (__builtin_expect(holds(s, o, ref), 1))
		return o;
	if (s->nx) {
		struct xorder *x = x_find(s, ref);
		return x ? &x->o : NULL;
	}
	return NULL;
}

static inline uint64_t seq_of(const struct book_set *s, const struct order *o)
{
	return o->over ? xorder_of(o)->seq : s->dseq[o - s->dir];
}

static inline void free_order(struct book_set *s, struct order *o)
{
	if (__builtin_expect(o->over, 0))
		x_del(s, xorder_of(o));
	else
		o->tag = 0;
}

/* A free record for a new order ref, known to be absent; x_reserve made
 * room. An older order in its direct slot moves to the overflow table. */
/* The reference of a direct-table record. */
static inline uint64_t dir_ref(const struct book_set *s, uint64_t i)
{
	return (uint64_t)(s->dir[i].tag - 1) << s->dbits | i;
}

static inline struct order *place_order(struct book_set *s, uint64_t ref)
{
	uint64_t hi = ref >> s->dbits, i = ref & s->dmask;
	uint64_t seq = s->seq++;
	if (__builtin_expect(hi >= UINT32_MAX, 0))
		return x_put(s, ref, seq, &(struct order){0});
	struct order *o = &s->dir[i];
	if (__builtin_expect(o->tag != 0, 0))
		x_put(s, dir_ref(s, i), s->dseq[i], o);
	o->tag = (uint32_t)hi + 1;
	o->over = 0;
	s->dseq[i] = seq;
	return o;
}

/* ------------------------------------------------------------ levels */

/* Index of the level with key, or -(insertion point) - 1. Searches from the
 * best end, where nearly all activity is, then bisects the rest. */
static inline long level_find(const struct side *sd, uint32_t key)
{
	const struct level *lv = sd->lv;
	uint32_t i = sd->n, stop = sd->n > 8 ? sd->n - 8 : 0;
	while (i > stop) {
		uint32_t k = lv[i - 1].key;
		if (k == key)
			return (long)i - 1;
		if (k < key)
			return -(long)i - 1;
		i--;
	}
	uint32_t lo = 0, hi = stop;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (lv[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < stop && lv[lo].key == key)
		return lo;
	return -(long)lo - 1;
}

static struct level *level_insert(struct side *sd, uint32_t pos, uint32_t key)
{
	if (sd->n == sd->cap) {
		uint32_t cap = sd->cap ? sd->cap * 2 : 8;
		struct level *lv = realloc(sd->lv, (size_t)cap * sizeof *lv);
		if (!lv)
			return NULL;
		sd->lv = lv;
		sd->cap = cap;
	}
	memmove(sd->lv + pos + 1, sd->lv + pos, (size_t)(sd->n - pos) * sizeof *sd->lv);
	sd->n++;
	struct level *l = &sd->lv[pos];
	l->key = key;
	l->orders = 0;
	l->shares = 0;
	return l;
}

static inline void level_remove(struct side *sd, uint32_t pos)
{
	sd->n--;
	memmove(sd->lv + pos, sd->lv + pos + 1, (size_t)(sd->n - pos) * sizeof *sd->lv);
}

static inline uint32_t key_of(int side, uint32_t price)
{
	return side == BOOK_BID ? price : ~price;
}

static inline uint32_t price_of(int side, uint32_t key)
{
	return side == BOOK_BID ? key : ~key;
}

/* The best level as (key, shares); shares UINT64_MAX when the side is empty. */
struct best {
	uint32_t key;
	uint64_t shares;
};

static inline struct best best_of(const struct side *sd)
{
	struct best b = {0, UINT64_MAX};
	if (sd->n) {
		b.key = sd->lv[sd->n - 1].key;
		b.shares = sd->lv[sd->n - 1].shares;
	}
	return b;
}

static void check_cross(struct book_set *s, struct sym *y)
{
	uint8_t st = 0;
	if (y->side[BOOK_BID].n && y->side[BOOK_ASK].n) {
		uint32_t bp = y->best[BOOK_BID], ap = ~y->best[BOOK_ASK];
		st = bp > ap ? 2 : bp == ap ? 1 : 0;
	}
	if (st != y->cross_state) {
		struct tally *t = &s->tally[y - s->sym];
		if (st == 2) {
			t->crossed++;
			s->crossed++;
		} else if (st == 1) {
			t->locked++;
			s->locked++;
		}
		y->cross_state = st;
	}
}

/* ------------------------------------------------------------ names */

static void name_sym(struct book_set *s, uint16_t locate, const struct itch_msg *m, unsigned off)
{
	struct sym *y = &s->sym[locate];
	if (!y->named)
		s->named[s->nsymbols++] = locate;
	y->named = 1;
	itch_alpha(m, off, 8, y->name);
	for (size_t i = 0; i < s->npending; i++)
		if (strcmp(s->pending[i], y->name) == 0)
			y->subscribed = 1;
}

/* ------------------------------------------------------------ orders */

static inline int order_exists(const struct book_set *s, uint64_t ref)
{
	return holds(s, &s->dir[ref & s->dmask], ref) ||
	       (s->nx && ref <= s->xmax_ref && x_find(s, ref));
}

/* The best level of side changed (price or shares). */
static inline void top_changed(struct book_set *s, struct sym *y, int side, struct book_event *ev)
{
	const struct side *sd = &y->side[side];
	if (sd->n)
		y->best[side] = sd->lv[sd->n - 1].key;
	ev->top_changed = 1;
	check_cross(s, y);
}

static int add_order(struct book_set *s, uint16_t locate, uint64_t ref, int side,
		     uint32_t shares, uint32_t price, struct book_event *ev)
{
	if (order_exists(s, ref))
		return ITCH_ERR_DUP_REF;
	if (x_reserve(s) != 0)
		return ITCH_ERR_IO;
	struct sym *y = &s->sym[locate];
	struct side *sd = &y->side[side];
	if (__builtin_expect(!y->side[0].lv && !y->side[1].lv, 0))
		s->touched[s->ntouched++] = locate;
	uint32_t key = key_of(side, price);
	long li = level_find(sd, key);
	int fresh = li < 0;
	struct level *l;
	if (fresh) {
		li = -li - 1;
		if (!(l = level_insert(sd, (uint32_t)li, key)))
			return ITCH_ERR_IO;
	} else {
		l = &sd->lv[li];
	}
	l->orders++;
	l->shares += shares;
	struct order *o = place_order(s, ref);
	o->shares = shares;
	o->key = key;
	o->locate = locate;
	o->side = (uint8_t)side;
	y->live++;
	if (++s->live > s->peak)
		s->peak = s->live;
	ev->side = side == BOOK_BID ? 'B' : 'S';
	ev->price = price;
	ev->delta = shares;
	if ((uint32_t)li == sd->n - 1 && (fresh || shares))
		top_changed(s, y, side, ev);
	return 0;
}

/* Takes order o (at level li of sd) out of the book; returns whether the
 * level went with it. */
static inline int remove_order(struct book_set *s, struct sym *y, struct side *sd, uint32_t li,
			       struct order *o)
{
	struct level *l = &sd->lv[li];
	l->shares -= o->shares;
	int gone = --l->orders == 0;
	if (gone)
		level_remove(sd, li);
	free_order(s, o);
	y->live--;
	s->live--;
	return gone;
}

static inline uint32_t level_index(const struct side *sd, uint32_t key)
{
	long li = level_find(sd, key);
	return li >= 0 ? (uint32_t)li : 0; /* present by invariant */
}

/* E, C, X: take shares off an order; D: take all (all = 1). */
static int reduce_order(struct book_set *s, uint64_t ref, uint32_t shares, int all,
			struct book_event *ev)
{
	struct order *o = find_order(s, ref);
	if (!o)
		return ITCH_ERR_UNKNOWN_REF;
	int o_side = o->side;
	struct sym *y = &s->sym[o->locate];
	struct side *sd = &y->side[o_side];
	int rc = 0;
	ev->locate = o->locate;
	ev->side = o->side == BOOK_BID ? 'B' : 'S';
	ev->price = price_of(o->side, o->key);
	if (all) {
		shares = o->shares;
	} else if (shares > o->shares) {
		rc = ITCH_ERR_OVER_REDUCE;
		shares = o->shares;
	}
	ev->delta = -(int64_t)shares;
	uint32_t li = level_index(sd, o->key);
	int top = li == sd->n - 1, gone = 0;
	if (all || shares == o->shares) {
		ev->removed = 1;
		gone = remove_order(s, y, sd, li, o);
	} else {
		o->shares -= shares;
		sd->lv[li].shares -= shares;
	}
	if (top && (shares || gone))
		top_changed(s, y, o_side, ev);
	return rc;
}

static int replace_order(struct book_set *s, const struct itch_msg *m, struct book_event *ev)
{
	uint64_t ref = itch_u64(m, ITCH_OFF_REF), nref = itch_u64(m, ITCH_OFF_U_NEWREF);
	ev->ref = ref;
	ev->new_ref = nref;
	struct order *o = find_order(s, ref);
	if (!o)
		return ITCH_ERR_UNKNOWN_REF;
	if (nref != ref && order_exists(s, nref))
		return ITCH_ERR_DUP_REF;
	uint16_t locate = o->locate;
	int side = o->side;
	struct sym *y = &s->sym[locate];
	struct side *sd = &y->side[side];
	struct best before = best_of(sd);
	ev->price = price_of(side, o->key);
	ev->delta = -(int64_t)o->shares;
	ev->removed = 1;
	remove_order(s, y, sd, level_index(sd, o->key), o);
	struct book_event add = {0};
	uint32_t nshares = itch_u32(m, ITCH_OFF_U_SHARES), nprice = itch_u32(m, ITCH_OFF_U_PRICE);
	int rc = add_order(s, locate, nref, side, nshares, nprice, &add);
	ev->locate = locate;
	ev->side = side == BOOK_BID ? 'B' : 'S';
	ev->new_price = nprice;
	ev->new_delta = nshares;
	struct best after = best_of(sd);
	if (after.key != before.key || after.shares != before.shares)
		top_changed(s, y, side, ev);
	return rc;
}

/* ------------------------------------------------------------ apply */

static inline void trade(struct book_event *ev, uint32_t price, uint64_t qty, char side, int printable)
{
	ev->has_trade = 1;
	ev->trade_price = price;
	ev->trade_qty = qty;
	ev->trade_side = side;
	ev->printable = (uint8_t)printable;
}

static int apply_order_msg(struct book_set *s, const struct itch_msg *m, struct book_event *ev)
{
	struct sym *y = &s->sym[m->locate];
	int rc;
	switch (m->type) {
	case 'A':
	case 'F': {
		if (__builtin_expect(!y->named, 0))
			name_sym(s, m->locate, m, ITCH_OFF_ADD_STOCK);
		ev->kind = BOOK_EV_ADD;
		ev->ref = itch_u64(m, ITCH_OFF_REF);
		int side = itch_ch(m, ITCH_OFF_ADD_SIDE) == 'B' ? BOOK_BID : BOOK_ASK;
		return add_order(s, m->locate, ev->ref, side, itch_u32(m, ITCH_OFF_ADD_SHARES),
				 itch_u32(m, ITCH_OFF_ADD_PRICE), ev);
	}
	case 'E':
	case 'C':
		ev->kind = BOOK_EV_EXEC;
		ev->ref = itch_u64(m, ITCH_OFF_REF);
		rc = reduce_order(s, ev->ref, itch_u32(m, ITCH_OFF_EXEC_SHARES), 0, ev);
		if (rc != ITCH_ERR_UNKNOWN_REF) {
			if (m->type == 'E')
				trade(ev, ev->price, (uint64_t)-ev->delta, ev->side, 1);
			else
				trade(ev, itch_u32(m, ITCH_OFF_C_PRICE), (uint64_t)-ev->delta, ev->side,
				      itch_ch(m, ITCH_OFF_C_PRINTABLE) == 'Y');
		}
		return rc;
	case 'X':
		ev->kind = BOOK_EV_CANCEL;
		ev->ref = itch_u64(m, ITCH_OFF_REF);
		return reduce_order(s, ev->ref, itch_u32(m, ITCH_OFF_EXEC_SHARES), 0, ev);
	case 'D':
		ev->kind = BOOK_EV_DELETE;
		ev->ref = itch_u64(m, ITCH_OFF_REF);
		return reduce_order(s, ev->ref, 0, 1, ev);
	case 'U':
		ev->kind = BOOK_EV_REPLACE;
		return replace_order(s, m, ev);
	case 'P':
		if (__builtin_expect(!y->named, 0))
			name_sym(s, m->locate, m, ITCH_OFF_ADD_STOCK);
		ev->kind = BOOK_EV_TRADE;
		ev->ref = itch_u64(m, ITCH_OFF_REF);
		trade(ev, itch_u32(m, ITCH_OFF_ADD_PRICE), itch_u32(m, ITCH_OFF_ADD_SHARES),
		      itch_ch(m, ITCH_OFF_ADD_SIDE), 1);
		return 0;
	case 'Q':
		if (__builtin_expect(!y->named, 0))
			name_sym(s, m->locate, m, ITCH_OFF_Q_STOCK);
		ev->kind = BOOK_EV_CROSS;
		trade(ev, itch_u32(m, ITCH_OFF_Q_PRICE), itch_u64(m, ITCH_OFF_Q_SHARES), 0, 1);
		return 0;
	default:
		return 0;
	}
}

static void apply_state_msg(struct book_set *s, const struct itch_msg *m, struct book_event *ev)
{
	struct sym *y = &s->sym[m->locate];
	unsigned off = itch_stock_off(m->type);
	if (off && (!y->named || m->type == 'R'))
		name_sym(s, m->locate, m, off);
	switch (m->type) {
	case 'R':
		ev->kind = BOOK_EV_DIRECTORY;
		break;
	case 'S':
		s->system_event = itch_ch(m, ITCH_OFF_S_EVENT);
		ev->kind = BOOK_EV_STATE;
		break;
	case 'H':
		y->trading_state = itch_ch(m, ITCH_OFF_H_STATE);
		ev->kind = BOOK_EV_STATE;
		break;
	case 'Y':
		y->reg_sho = itch_ch(m, ITCH_OFF_Y_ACTION);
		ev->kind = BOOK_EV_STATE;
		break;
	case 'h': {
		char mk = itch_ch(m, ITCH_OFF_h_MARKET);
		uint8_t bit = mk == 'Q' ? 1 : mk == 'B' ? 2 : mk == 'X' ? 4 : 0;
		if (itch_ch(m, ITCH_OFF_h_ACTION) == 'H')
			y->op_halted |= bit;
		else
			y->op_halted &= (uint8_t)~bit;
		ev->kind = BOOK_EV_STATE;
		break;
	}
	case 'B':
		ev->kind = BOOK_EV_BROKEN;
		break;
	default:
		ev->kind = BOOK_EV_INFO;
		break;
	}
}

int book_apply(struct book_set *s, const struct itch_msg *m, struct book_event *ev)
{
	struct book_event scratch;
	if (!ev)
		ev = &scratch;
	ev->ts = m->ts;
	ev->locate = m->locate;
	ev->kind = BOOK_EV_NONE;
	ev->top_changed = 0;
	ev->removed = 0;
	ev->side = 0;
	ev->has_trade = 0;
	ev->subscribed = !s->filter || s->sym[m->locate].subscribed;
	unsigned t = (unsigned)(uint8_t)m->type - 'A';
	if (__builtin_expect(t >= 32 || !(ORDER_MSG_TYPES >> t & 1), 0)) {
		apply_state_msg(s, m, ev);
		return 0;
	}
	if (__builtin_expect(!ev->subscribed, 0)) {
		/* an unnamed locate may be named (and subscribed) by this message */
		unsigned off = itch_stock_off(m->type);
		if (!off || s->sym[m->locate].named)
			return 0;
		name_sym(s, m->locate, m, off);
		if (!(ev->subscribed = s->sym[m->locate].subscribed))
			return 0;
	}
	return apply_order_msg(s, m, ev);
}

/* ------------------------------------------------------------ prefetch */

enum { NOT_ORDER = 32 };

/* For the hints: type - 'A' of an A F E C X D U frame long enough for its
 * reference (frames are checked against their type only when decoded), or
 * NOT_ORDER. */
static inline unsigned order_type(const uint8_t *msg, size_t len)
{
	if (len < ITCH_OFF_REF + 8)
		return NOT_ORDER;
	unsigned t = (unsigned)msg[0] - 'A';
	return t < 32 && (ORDER_REF_TYPES >> t & 1) ? t : NOT_ORDER;
}

void book_prefetch(const struct book_set *s, const uint8_t *msg, size_t len)
{
	if (order_type(msg, len) == NOT_ORDER)
		return;
	uint64_t ref = itch_be64(msg + ITCH_OFF_REF);
	const struct sym *y = &s->sym[itch_be16(msg + 1)];
	__builtin_prefetch(y);
	if (!s->filter || y->subscribed) /* filtered: a flag read, in cache for busy symbols */
		__builtin_prefetch(&s->dir[ref & s->dmask], 1);
}

void book_prefetch_near(const struct book_set *s, const uint8_t *msg, size_t len)
{
	unsigned t = order_type(msg, len);
	if (t == NOT_ORDER)
		return;
	uint64_t ref = itch_be64(msg + ITCH_OFF_REF);
	const struct sym *y = &s->sym[itch_be16(msg + 1)];
	if (s->filter && !y->subscribed)
		return;
	int side;
	const struct order *o = &s->dir[ref & s->dmask]; /* fetched by the far stage */
	if (t == 0 || t == 'F' - 'A') {
		/* order_type let through frames of ITCH_OFF_REF + 8 bytes: the
		 * side byte is one further */
		side = len > ITCH_OFF_ADD_SIDE && msg[ITCH_OFF_ADD_SIDE] == 'B' ? BOOK_BID : BOOK_ASK;
		/* an older order in the slot moves to the overflow table on this
		 * add: its home there, too */
		if (o->tag && !holds(s, o, ref))
			__builtin_prefetch(&s->xo[xhome(s, dir_ref(s, ref & s->dmask))], 1);
	} else if (holds(s, o, ref)) {
		side = o->side & 1;
	} else {
		if (s->nx)
			__builtin_prefetch(&s->xo[xhome(s, ref)]);
		return;
	}
	const struct side *sd = &y->side[side];
	if (sd->n)
		__builtin_prefetch(&sd->lv[sd->n - 1], 1);
}

/* ------------------------------------------------------------ set */

struct book_set *book_set_new(const struct book_config *cfg)
{
	uint32_t hint = cfg && cfg->orders_hint ? cfg->orders_hint : 1u << 20;
	if (hint > (1u << 30))
		hint = 1u << 30;
	struct book_set *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	/* one anonymous mapping: untouched locates cost no memory */
	size_t len = BOOK_LOCATES * (sizeof *s->sym + sizeof *s->tally + 2 * sizeof(uint16_t));
	void *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map != MAP_FAILED) {
		madvise(map, len, MADV_HUGEPAGE);
		s->map_len = len;
		s->sym = map;
		s->tally = (struct tally *)(s->sym + BOOK_LOCATES);
		s->touched = (uint16_t *)(s->tally + BOOK_LOCATES);
		s->named = s->touched + BOOK_LOCATES;
	}
	/* the direct table: four slots an expected live order. An order moves
	 * to the overflow table only when it outlives 2^dbits newer references;
	 * on the generated 50M-message day (1.09M live at the peak) that is 6%
	 * of adds with the default 4M slots, 1% with 8M. */
	s->dbits = 10;
	while (((uint64_t)1 << s->dbits) < (uint64_t)hint * 4)
		s->dbits++;
	s->dmask = ((uint64_t)1 << s->dbits) - 1;
	s->dir = big_alloc((s->dmask + 1) * sizeof *s->dir);
	s->dseq = big_alloc((s->dmask + 1) * sizeof *s->dseq);
	/* the overflow table starts at 1/64 of the direct one: on the generated
	 * 50M-message day it then doubles three times (nine from 1024 slots) */
	unsigned xbits = s->dbits > XMIN_BITS + 6 ? s->dbits - 6 : XMIN_BITS;
	if (!s->sym || !s->dir || !s->dseq || x_alloc(s, xbits) != 0) {
		book_set_free(s);
		return NULL;
	}
	if (cfg && cfg->prefault) {
		prefault(s->dir, (s->dmask + 1) * sizeof *s->dir);
		prefault(s->dseq, (s->dmask + 1) * sizeof *s->dseq);
		prefault(s->xo, (s->xmask + 1) * sizeof *s->xo);
		prefault(s->sym, s->map_len);
	}
	return s;
}

void book_set_free(struct book_set *s)
{
	if (!s)
		return;
	if (s->sym) {
		for (uint32_t i = 0; i < s->ntouched; i++) {
			free(s->sym[s->touched[i]].side[0].lv);
			free(s->sym[s->touched[i]].side[1].lv);
		}
		munmap(s->sym, s->map_len);
	}
	big_free(s->dir, (s->dmask + 1) * sizeof *s->dir);
	big_free(s->dseq, (s->dmask + 1) * sizeof *s->dseq);
	big_free(s->xo, s->xo ? (s->xmask + 1) * sizeof *s->xo : 0);
	free(s->pending);
	free(s);
}

void book_top(const struct book_set *s, uint16_t locate, struct book_top *top)
{
	const struct sym *y = &s->sym[locate];
	const struct side *b = &y->side[BOOK_BID], *a = &y->side[BOOK_ASK];
	top->bid = b->n ? b->lv[b->n - 1].key : 0;
	top->bid_qty = b->n ? b->lv[b->n - 1].shares : 0;
	top->ask = a->n ? ~a->lv[a->n - 1].key : 0;
	top->ask_qty = a->n ? a->lv[a->n - 1].shares : 0;
}

size_t book_depth(const struct book_set *s, uint16_t locate, int side,
		  struct book_level_info *out, size_t n)
{
	const struct side *sd = &s->sym[locate].side[side ? 1 : 0];
	size_t k = 0;
	for (uint32_t i = sd->n; i > 0 && k < n; i--, k++) {
		const struct level *l = &sd->lv[i - 1];
		out[k].price = price_of(side ? 1 : 0, l->key);
		out[k].orders = l->orders;
		out[k].shares = l->shares;
	}
	return k;
}

size_t book_levels(const struct book_set *s, uint16_t locate, int side)
{
	return s->sym[locate].side[side ? 1 : 0].n;
}

int book_locate(const struct book_set *s, const char *name)
{
	for (uint32_t i = s->nsymbols; i > 0; i--)
		if (strcmp(s->sym[s->named[i - 1]].name, name) == 0)
			return s->named[i - 1];
	return -1;
}

void book_status(const struct book_set *s, uint16_t locate, struct book_status *st)
{
	const struct sym *y = &s->sym[locate];
	memcpy(st->name, y->name, sizeof st->name);
	st->trading_state = y->trading_state;
	st->reg_sho = y->reg_sho;
	st->op_halted = y->op_halted;
	st->subscribed = y->subscribed;
	st->cross_state = y->cross_state;
	st->live_orders = y->live;
	st->crossed = s->tally[locate].crossed;
	st->locked = s->tally[locate].locked;
}

char book_system_event(const struct book_set *s)
{
	return s->system_event;
}

void book_set_filter(struct book_set *s, int on)
{
	s->filter = on != 0;
}

void book_subscribe(struct book_set *s, uint16_t locate, int on)
{
	s->sym[locate].subscribed = on != 0;
}

int book_subscribe_name(struct book_set *s, const char *name)
{
	if (strlen(name) > 8)
		return -1;
	char(*p)[9] = realloc(s->pending, (s->npending + 1) * sizeof *p);
	if (!p)
		return -1;
	s->pending = p;
	snprintf(p[s->npending++], 9, "%s", name);
	for (uint32_t i = 0; i < s->nsymbols; i++)
		if (strcmp(s->sym[s->named[i]].name, name) == 0)
			s->sym[s->named[i]].subscribed = 1;
	return 0;
}

int book_subscribed(const struct book_set *s, uint16_t locate)
{
	return !s->filter || s->sym[locate].subscribed;
}

uint64_t book_live_orders(const struct book_set *s)
{
	return s->live;
}

uint64_t book_peak_orders(const struct book_set *s)
{
	return s->peak;
}

uint32_t book_symbols(const struct book_set *s)
{
	return s->nsymbols;
}

uint64_t book_crossed_total(const struct book_set *s)
{
	return s->crossed;
}

uint64_t book_locked_total(const struct book_set *s)
{
	return s->locked;
}

int book_order(const struct book_set *s, uint64_t ref, struct book_order_info *out)
{
	const struct order *o = find_order(s, ref);
	if (!o)
		return 0;
	out->ref = ref;
	out->price = price_of(o->side, o->key);
	out->shares = o->shares;
	out->locate = o->locate;
	out->side = o->side == BOOK_BID ? 'B' : 'S';
	return 1;
}

/* Calls fn on every live order with its reference and arrival number; stops
 * at the first non-zero return and returns it. */
static int each_order(const struct book_set *s,
		      int (*fn)(void *arg, uint64_t ref, uint64_t seq, const struct order *o),
		      void *arg)
{
	int rc;
	for (uint64_t i = 0; i <= s->dmask; i++)
		if (s->dir[i].tag && (rc = fn(arg, dir_ref(s, i), s->dseq[i], &s->dir[i])) != 0)
			return rc;
	for (uint64_t i = 0; i <= s->xmask; i++)
		if (s->xo[i].o.tag && (rc = fn(arg, s->xo[i].ref, s->xo[i].seq, &s->xo[i].o)) != 0)
			return rc;
	return 0;
}

struct ahead {
	const struct order *me;
	uint64_t seq, shares;
	uint32_t orders;
};

static int count_ahead(void *arg, uint64_t ref, uint64_t seq, const struct order *o)
{
	struct ahead *a = arg;
	(void)ref;
	if (o->locate == a->me->locate && o->side == a->me->side && o->key == a->me->key &&
	    seq < a->seq) {
		a->shares += o->shares;
		a->orders++;
	}
	return 0;
}

int book_queue_ahead(const struct book_set *s, uint64_t ref, uint64_t *shares, uint32_t *orders)
{
	const struct order *me = find_order(s, ref);
	if (!me)
		return -1;
	struct ahead a = {me, seq_of(s, me), 0, 0};
	each_order(s, count_ahead, &a);
	*shares = a.shares;
	*orders = a.orders;
	return 0;
}

/* Every level sorted and non-empty; first[] (2 per locate) gets the index
 * of each side's first level in one numbering of all levels. */
static int verify_levels(const struct book_set *s, uint32_t *first, uint64_t *nlevels,
			 char *err, size_t errlen)
{
	uint64_t total = 0;
	for (uint32_t t = 0; t < s->ntouched; t++) {
		uint16_t loc = s->touched[t];
		for (int side = 0; side < 2; side++) {
			const struct side *sd = &s->sym[loc].side[side];
			for (uint32_t i = 0; i < sd->n; i++) {
				if (i > 0 && sd->lv[i - 1].key >= sd->lv[i].key)
					return snprintf(err, errlen, "locate %u side %d: levels out of order",
							loc, side), -1;
				if (sd->lv[i].orders == 0)
					return snprintf(err, errlen, "locate %u side %d: empty level", loc,
							side), -1;
			}
			if (sd->n && s->sym[loc].best[side] != sd->lv[sd->n - 1].key)
				return snprintf(err, errlen, "locate %u side %d: best level out of date",
						loc, side), -1;
			first[2 * loc + (uint32_t)side] = (uint32_t)total;
			total += sd->n;
		}
	}
	*nlevels = total;
	return 0;
}

struct census {
	const struct book_set *s;
	const uint32_t *first;
	const uint8_t *touched;
	uint64_t *sh, *live, orders;
	uint32_t *cnt;
	char *err;
	size_t errlen;
};

/* One live order: found by its reference, in the right store, at its level. */
static int tally_order(void *arg, uint64_t ref, uint64_t seq, const struct order *o)
{
	struct census *t = arg;
	const struct book_set *s = t->s;
	long li = -1;
	if (o->side < 2 && t->touched[o->locate])
		li = level_find(&s->sym[o->locate].side[o->side], o->key);
	int direct = (ref >> s->dbits) < UINT32_MAX && holds(s, &s->dir[ref & s->dmask], ref);
	if (li < 0 || find_order(s, ref) != o || seq >= s->seq || (o->over != 0) == direct ||
	    (o->over && ref > s->xmax_ref)) {
		snprintf(t->err, t->errlen, "order %llu inconsistent", (unsigned long long)ref);
		return -1;
	}
	uint64_t g = t->first[2 * o->locate + o->side] + (uint64_t)li;
	t->sh[g] += o->shares;
	t->cnt[g]++;
	t->live[o->locate]++;
	t->orders++;
	return 0;
}

int book_verify(const struct book_set *s, char *err, size_t errlen)
{
	uint32_t *first = calloc(2 * (size_t)BOOK_LOCATES, sizeof *first);
	uint8_t *touched = calloc(BOOK_LOCATES, 1);
	uint64_t nlevels = 0, *live = calloc(BOOK_LOCATES, sizeof *live);
	struct census t = {.s = s, .first = first, .touched = touched, .live = live, .err = err,
			  .errlen = errlen};
	int rc = -1;
	if (!first || !touched || !live) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (uint32_t i = 0; i < s->ntouched; i++)
		touched[s->touched[i]] = 1;
	if (verify_levels(s, first, &nlevels, err, errlen) != 0)
		goto out;
	t.sh = calloc(nlevels + 1, sizeof *t.sh);
	t.cnt = calloc(nlevels + 1, sizeof *t.cnt);
	if (!t.sh || !t.cnt) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (each_order(s, tally_order, &t) != 0)
		goto out;
	for (uint32_t i = 0; i < s->ntouched; i++) {
		uint16_t loc = s->touched[i];
		for (int side = 0; side < 2; side++) {
			const struct side *sd = &s->sym[loc].side[side];
			for (uint32_t k = 0; k < sd->n; k++) {
				uint64_t g = first[2 * loc + (uint32_t)side] + k;
				if (t.cnt[g] != sd->lv[k].orders || t.sh[g] != sd->lv[k].shares) {
					snprintf(err, errlen, "locate %u side %d level %u: sums wrong", loc,
						 side, price_of(side, sd->lv[k].key));
					goto out;
				}
			}
		}
		if (live[loc] != s->sym[loc].live) {
			snprintf(err, errlen, "locate %u: live count wrong", loc);
			goto out;
		}
	}
	uint64_t nx = 0;
	for (uint64_t i = 0; i <= s->xmask; i++)
		nx += s->xo[i].o.tag != 0;
	if (t.orders != s->live || nx != s->nx) {
		snprintf(err, errlen, "live %llu, in the tables %llu (overflow %llu, counted %llu)",
			 (unsigned long long)s->live, (unsigned long long)t.orders,
			 (unsigned long long)nx, (unsigned long long)s->nx);
		goto out;
	}
	rc = 0;
out:
	free(first);
	free(touched);
	free(live);
	free(t.sh);
	free(t.cnt);
	return rc;
}
