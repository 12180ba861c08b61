/*
 * book — L3 books: an order pool, a hash by reference, sorted level arrays.
 *
 * Invariants: every live order is in the hash and at exactly one level (the
 * one with its locate, side and key); a level exists iff it has at least one
 * order; level.shares and level.orders are the sums over its orders. Time
 * priority is an arrival number per order (a level's queue is its orders by
 * seq), not links: adding or removing an order touches no other order, which
 * on a book bigger than the caches saves a miss or two per message. Levels of a side are sorted by a
 * key that grows towards the best price (bid: price, ask: ~price), so the
 * best level of either side is the last element and the same code serves
 * both sides.
 *
 * The hash is open addressing with linear probing and backward-shift
 * deletion (no tombstones). A slot holds the order's home position and pool
 * index, so probes and deletions rarely touch the pool. References are
 * hashed by blocks of 64: consecutive references land in consecutive slots
 * (they are added together and mostly die young), blocks are scattered.
 */
#include "book.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define NIL UINT32_MAX
#define BLOCK_BITS 6

struct level {
	uint32_t key;    /* bid: price, ask: ~price */
	uint32_t orders;
	uint64_t shares;
};

struct side {
	struct level *lv; /* sorted by key, best last; owned */
	uint32_t n, cap;
};

struct sym {
	struct side side[2];
	uint64_t live, crossed, locked;
	char name[9];
	char trading_state, reg_sho;
	uint8_t op_halted, subscribed, named, cross_state;
};

struct order {
	uint64_t ref;
	uint64_t seq;    /* arrival number: time priority within the level */
	uint32_t shares;
	uint32_t key;
	uint32_t next;   /* free list */
	uint16_t locate;
	uint8_t side;
};

struct book_set {
	struct sym *sym; /* [BOOK_LOCATES], mmap'ed: pages appear as locates are used */
	uint16_t *touched; /* locates that ever had a level (sym_map) */
	uint16_t *named;   /* locates with a name, in naming order (sym_map) */
	uint32_t ntouched;
	size_t map_len;
	struct order *ord;
	uint32_t ord_cap, ord_used, free_head;
	uint64_t *slot; /* home << 32 | (index + 1); 0 = empty */
	uint64_t hmask;
	unsigned hbits;
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

/* The pool and the hash are touched at random: they live in anonymous
 * mappings with transparent huge pages asked for, so that a lookup costs a
 * cache miss and not also a TLB miss. Zero-filled, like calloc. */
static void *big_alloc(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	madvise(p, len, MADV_HUGEPAGE);
	return p;
}

static void *big_grow(void *p, size_t old, size_t len)
{
	void *q = mremap(p, old, len, MREMAP_MAYMOVE);
	if (q == MAP_FAILED)
		return NULL;
	madvise(q, len, MADV_HUGEPAGE);
	return q;
}

static void big_free(void *p, size_t len)
{
	if (p)
		munmap(p, len);
}

/* ------------------------------------------------------------ hash */

static inline uint64_t home_of(const struct book_set *s, uint64_t ref)
{
	uint64_t blk = (ref >> BLOCK_BITS) * 0x9E3779B97F4A7C15ull;
	blk >>= 64 - (s->hbits - BLOCK_BITS);
	return blk << BLOCK_BITS | (ref & ((1u << BLOCK_BITS) - 1));
}

/* Pool index of ref and its slot, or NIL. */
static inline uint32_t hash_find(const struct book_set *s, uint64_t ref, uint64_t *pos)
{
	uint64_t home = home_of(s, ref), i = home;
	for (;;) {
		uint64_t v = s->slot[i];
		if (v == 0)
			return NIL;
		if ((v >> 32) == home) {
			uint32_t idx = (uint32_t)v - 1;
			if (s->ord[idx].ref == ref) {
				*pos = i;
				return idx;
			}
		}
		i = (i + 1) & s->hmask;
	}
}

static inline void hash_put(struct book_set *s, uint64_t ref, uint32_t idx)
{
	uint64_t home = home_of(s, ref), i = home;
	while (s->slot[i] != 0)
		i = (i + 1) & s->hmask;
	s->slot[i] = home << 32 | ((uint64_t)idx + 1);
}

static inline void hash_del(struct book_set *s, uint64_t i)
{
	uint64_t j = i;
	for (;;) {
		j = (j + 1) & s->hmask;
		uint64_t v = s->slot[j];
		if (v == 0)
			break;
		uint64_t h = v >> 32;
		/* v may move to i unless its home lies cyclically in (i, j] */
		int stays = i <= j ? (h > i && h <= j) : (h > i || h <= j);
		if (!stays) {
			s->slot[i] = v;
			i = j;
		}
	}
	s->slot[i] = 0;
}

static int hash_alloc(struct book_set *s, unsigned bits)
{
	uint64_t *slot = big_alloc(((size_t)1 << bits) * sizeof *slot);
	if (!slot)
		return -1;
	uint64_t *old = s->slot;
	uint64_t oldn = old ? s->hmask + 1 : 0;
	s->slot = slot;
	s->hbits = bits;
	s->hmask = ((uint64_t)1 << bits) - 1;
	for (uint64_t i = 0; i < oldn; i++)
		if (old[i]) {
			uint32_t idx = (uint32_t)old[i] - 1;
			hash_put(s, s->ord[idx].ref, idx);
		}
	big_free(old, oldn * sizeof *old);
	return 0;
}

/* ------------------------------------------------------------ pool */

static int pool_grow(struct book_set *s)
{
	if (s->ord_cap >= NIL / 2)
		return -1;
	uint32_t cap = s->ord_cap * 2;
	struct order *o = big_grow(s->ord, (size_t)s->ord_cap * sizeof *o, (size_t)cap * sizeof *o);
	if (!o)
		return -1;
	s->ord = o;
	s->ord_cap = cap;
	return 0;
}

/* Makes room for one more live order (pool and hash at most half full). */
static inline int reserve_order(struct book_set *s)
{
	if (__builtin_expect(s->live + 1 > (s->hmask + 1) / 2, 0) &&
	    hash_alloc(s, s->hbits + 1) != 0)
		return -1;
	if (s->free_head == NIL && s->ord_used == s->ord_cap && pool_grow(s) != 0)
		return -1;
	return 0;
}

static inline uint32_t pool_take(struct book_set *s)
{
	uint32_t idx = s->free_head;
	if (idx != NIL)
		s->free_head = s->ord[idx].next;
	else
		idx = s->ord_used++;
	return idx;
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
	const struct side *b = &y->side[BOOK_BID], *a = &y->side[BOOK_ASK];
	uint8_t st = 0;
	if (b->n && a->n) {
		uint32_t bp = b->lv[b->n - 1].key, ap = ~a->lv[a->n - 1].key;
		st = bp > ap ? 2 : bp == ap ? 1 : 0;
	}
	if (st != y->cross_state) {
		if (st == 2) {
			y->crossed++;
			s->crossed++;
		} else if (st == 1) {
			y->locked++;
			s->locked++;
		}
		y->cross_state = st;
	}
}

static inline void top_after(struct book_set *s, struct sym *y, const struct side *sd,
			     struct best before, struct book_event *ev)
{
	struct best after = best_of(sd);
	if (after.key != before.key || after.shares != before.shares) {
		ev->top_changed = 1;
		check_cross(s, y);
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

static int add_order(struct book_set *s, uint16_t locate, uint64_t ref, int side,
		     uint32_t shares, uint32_t price, struct book_event *ev)
{
	uint64_t pos;
	if (hash_find(s, ref, &pos) != NIL)
		return ITCH_ERR_DUP_REF;
	if (reserve_order(s) != 0)
		return ITCH_ERR_IO;
	struct sym *y = &s->sym[locate];
	struct side *sd = &y->side[side];
	if (__builtin_expect(!y->side[0].lv && !y->side[1].lv, 0))
		s->touched[s->ntouched++] = locate;
	struct best before = best_of(sd);
	uint32_t key = key_of(side, price);
	long li = level_find(sd, key);
	struct level *l = li >= 0 ? &sd->lv[li] : level_insert(sd, (uint32_t)(-li - 1), key);
	if (!l)
		return ITCH_ERR_IO;
	uint32_t idx = pool_take(s);
	struct order *o = &s->ord[idx];
	o->ref = ref;
	o->shares = shares;
	o->key = key;
	o->locate = locate;
	o->side = (uint8_t)side;
	o->seq = s->seq++;
	l->orders++;
	l->shares += shares;
	hash_put(s, ref, idx);
	y->live++;
	if (++s->live > s->peak)
		s->peak = s->live;
	ev->side = side == BOOK_BID ? 'B' : 'S';
	ev->price = price;
	ev->delta = shares;
	top_after(s, y, sd, before, ev);
	return 0;
}

/* Takes the order at pool index idx (hash slot pos) out of its level. */
static void remove_order(struct book_set *s, struct sym *y, struct side *sd, uint32_t li,
			 uint32_t idx, uint64_t pos)
{
	struct order *o = &s->ord[idx];
	struct level *l = &sd->lv[li];
	l->orders--;
	l->shares -= o->shares;
	if (l->orders == 0)
		level_remove(sd, li);
	hash_del(s, pos);
	o->next = s->free_head;
	s->free_head = idx;
	y->live--;
	s->live--;
}

static inline uint32_t level_index(const struct side *sd, uint32_t key)
{
	long li = level_find(sd, key);
	return li >= 0 ? (uint32_t)li : 0; /* present by invariant */
}

/* E, C, X: take shares off an order; D: take all (shares = 0 means all). */
static int reduce_order(struct book_set *s, uint64_t ref, uint32_t shares, int all,
			struct book_event *ev)
{
	uint64_t pos;
	uint32_t idx = hash_find(s, ref, &pos);
	if (idx == NIL)
		return ITCH_ERR_UNKNOWN_REF;
	struct order *o = &s->ord[idx];
	struct sym *y = &s->sym[o->locate];
	struct side *sd = &y->side[o->side];
	struct best before = best_of(sd);
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
	if (all || shares == o->shares) {
		ev->removed = 1;
		remove_order(s, y, sd, li, idx, pos);
	} else {
		o->shares -= shares;
		sd->lv[li].shares -= shares;
	}
	top_after(s, y, sd, before, ev);
	return rc;
}

static int replace_order(struct book_set *s, const struct itch_msg *m, struct book_event *ev)
{
	uint64_t ref = itch_u64(m, ITCH_OFF_REF), nref = itch_u64(m, ITCH_OFF_U_NEWREF);
	uint64_t pos, npos;
	ev->ref = ref;
	ev->new_ref = nref;
	uint32_t idx = hash_find(s, ref, &pos);
	if (idx == NIL)
		return ITCH_ERR_UNKNOWN_REF;
	if (nref != ref && hash_find(s, nref, &npos) != NIL)
		return ITCH_ERR_DUP_REF;
	struct order *o = &s->ord[idx];
	uint16_t locate = o->locate;
	int side = o->side;
	struct sym *y = &s->sym[locate];
	struct side *sd = &y->side[side];
	struct best before = best_of(sd);
	ev->price = price_of(side, o->key);
	ev->delta = -(int64_t)o->shares;
	ev->removed = 1;
	remove_order(s, y, sd, level_index(sd, o->key), idx, pos);
	struct book_event add = {0};
	uint32_t nshares = itch_u32(m, ITCH_OFF_U_SHARES), nprice = itch_u32(m, ITCH_OFF_U_PRICE);
	int rc = add_order(s, locate, nref, side, nshares, nprice, &add);
	ev->locate = locate;
	ev->side = side == BOOK_BID ? 'B' : 'S';
	ev->new_price = nprice;
	ev->new_delta = nshares;
	top_after(s, y, sd, before, ev);
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
	switch (m->type) {
	case 'A': case 'F': case 'E': case 'C': case 'X': case 'D': case 'U': case 'P': case 'Q':
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
	default:
		apply_state_msg(s, m, ev);
		return 0;
	}
}

/* ------------------------------------------------------------ prefetch */

void book_prefetch(const struct book_set *s, const uint8_t *msg, size_t len, int stage)
{
	if (!msg || len < ITCH_HDR_LEN + 8 || len != itch_type_len(msg[0]))
		return;
	char type = (char)msg[0];
	const struct sym *y = &s->sym[itch_be16(msg + 1)];
	uint64_t ref = itch_be64(msg + ITCH_OFF_REF);
	switch (type) {
	case 'A': case 'F': case 'E': case 'C': case 'X': case 'D': case 'U':
		break;
	default:
		return;
	}
	if (stage == 1) {
		__builtin_prefetch(y);
		__builtin_prefetch(&s->slot[home_of(s, ref)]);
		return;
	}
	if (type == 'A' || type == 'F') {
		const struct side *sd = &y->side[msg[ITCH_OFF_ADD_SIDE] == 'B' ? BOOK_BID : BOOK_ASK];
		if (sd->n)
			__builtin_prefetch(&sd->lv[sd->n - 1]);
		return;
	}
	/* the first slot with the right home is nearly always the order: take
	 * it without comparing references, which would wait for the order */
	uint64_t home = home_of(s, ref), i = home, v;
	while ((v = s->slot[i]) != 0 && (v >> 32) != home)
		i = (i + 1) & s->hmask;
	if (v == 0)
		return;
	__builtin_prefetch(&s->ord[(uint32_t)v - 1], 1);
	for (int side = 0; side < 2; side++)
		if (y->side[side].n)
			__builtin_prefetch(&y->side[side].lv[y->side[side].n - 1]);
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
	size_t len = BOOK_LOCATES * (sizeof *s->sym + 2 * sizeof(uint16_t));
	void *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map != MAP_FAILED) {
		madvise(map, len, MADV_HUGEPAGE);
		s->map_len = len;
		s->sym = map;
		s->touched = (uint16_t *)(s->sym + BOOK_LOCATES);
		s->named = s->touched + BOOK_LOCATES;
	}
	s->ord_cap = hint < 1024 ? 1024 : hint;
	s->ord = big_alloc((size_t)s->ord_cap * sizeof *s->ord);
	s->free_head = NIL;
	unsigned bits = 10;
	while (((uint64_t)1 << bits) < (uint64_t)s->ord_cap * 2)
		bits++;
	if (!s->sym || !s->ord || hash_alloc(s, bits) != 0) {
		book_set_free(s);
		return NULL;
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
	big_free(s->ord, (size_t)s->ord_cap * sizeof *s->ord);
	big_free(s->slot, (size_t)(s->hmask + 1) * sizeof *s->slot);
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
	st->crossed = y->crossed;
	st->locked = y->locked;
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
	uint64_t pos;
	uint32_t idx = hash_find(s, ref, &pos);
	if (idx == NIL)
		return 0;
	const struct order *o = &s->ord[idx];
	out->ref = ref;
	out->price = price_of(o->side, o->key);
	out->shares = o->shares;
	out->locate = o->locate;
	out->side = o->side == BOOK_BID ? 'B' : 'S';
	return 1;
}

int book_queue_ahead(const struct book_set *s, uint64_t ref, uint64_t *shares, uint32_t *orders)
{
	uint64_t pos;
	uint32_t idx = hash_find(s, ref, &pos);
	if (idx == NIL)
		return -1;
	const struct order *me = &s->ord[idx];
	*shares = 0;
	*orders = 0;
	for (uint64_t i = 0; i <= s->hmask; i++) {
		if (!s->slot[i])
			continue;
		const struct order *o = &s->ord[(uint32_t)s->slot[i] - 1];
		if (o->locate == me->locate && o->side == me->side && o->key == me->key &&
		    o->seq < me->seq) {
			*shares += o->shares;
			(*orders)++;
		}
	}
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
			first[2 * loc + (uint32_t)side] = (uint32_t)total;
			total += sd->n;
		}
	}
	*nlevels = total;
	return 0;
}

int book_verify(const struct book_set *s, char *err, size_t errlen)
{
	uint32_t *first = calloc(2 * (size_t)BOOK_LOCATES, sizeof *first);
	uint8_t *touched = calloc(BOOK_LOCATES, 1);
	uint64_t nlevels = 0, *sh = NULL, *live = calloc(BOOK_LOCATES, sizeof *live);
	uint32_t *cnt = NULL;
	int rc = -1;
	if (!first || !touched || !live) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (uint32_t t = 0; t < s->ntouched; t++)
		touched[s->touched[t]] = 1;
	if (verify_levels(s, first, &nlevels, err, errlen) != 0)
		goto out;
	sh = calloc(nlevels + 1, sizeof *sh);
	cnt = calloc(nlevels + 1, sizeof *cnt);
	if (!sh || !cnt) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	/* every order of the hash: found by its reference, at its level */
	uint64_t slots = 0;
	for (uint64_t i = 0; i <= s->hmask; i++) {
		if (!s->slot[i])
			continue;
		slots++;
		uint32_t idx = (uint32_t)s->slot[i] - 1;
		const struct order *o = &s->ord[idx];
		uint64_t pos = UINT64_MAX;
		long li = -1;
		if (idx < s->ord_used && o->side < 2 && touched[o->locate])
			li = level_find(&s->sym[o->locate].side[o->side], o->key);
		if (li < 0 || hash_find(s, o->ref, &pos) != idx || pos != i || o->seq >= s->seq) {
			snprintf(err, errlen, "order %llu inconsistent", (unsigned long long)o->ref);
			goto out;
		}
		uint64_t g = first[2 * o->locate + o->side] + (uint64_t)li;
		sh[g] += o->shares;
		cnt[g]++;
		live[o->locate]++;
	}
	for (uint32_t t = 0; t < s->ntouched; t++) {
		uint16_t loc = s->touched[t];
		for (int side = 0; side < 2; side++) {
			const struct side *sd = &s->sym[loc].side[side];
			for (uint32_t i = 0; i < sd->n; i++) {
				uint64_t g = first[2 * loc + (uint32_t)side] + i;
				if (cnt[g] != sd->lv[i].orders || sh[g] != sd->lv[i].shares) {
					snprintf(err, errlen, "locate %u side %d level %u: sums wrong", loc,
						 side, price_of(side, sd->lv[i].key));
					goto out;
				}
			}
		}
		if (live[loc] != s->sym[loc].live) {
			snprintf(err, errlen, "locate %u: live count wrong", loc);
			goto out;
		}
	}
	if (slots != s->live) {
		snprintf(err, errlen, "live %llu, in hash %llu", (unsigned long long)s->live,
			 (unsigned long long)slots);
		goto out;
	}
	rc = 0;
out:
	free(first);
	free(touched);
	free(live);
	free(sh);
	free(cnt);
	return rc;
}
