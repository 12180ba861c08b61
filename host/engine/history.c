/*
 * history — the rings and the timeframes' bars of one strategy (history.h).
 *
 * Per symbol id, a slot made when the symbol is first seen: 1 + nframes
 * rings of depth bars (the feed's, then each timeframe's) and the bar each
 * timeframe is building. Nothing is allocated after a
 * symbol's first bar or trade.
 */
#include "history.h"

#include <stdlib.h>
#include <string.h>
struct ring {
	struct bar *bars; /* depth of them; NULL when depth is 0 */
	int head;	  /* where the next goes */
	int count;
};

struct hsym {
	int seen;
	struct ring rings[1 + HISTORY_MAX_FRAMES]; /* [0] the feed's */
	struct bar open[HISTORY_MAX_FRAMES];	   /* being built */
	int64_t end[HISTORY_MAX_FRAMES];	   /* its end, when building */
	unsigned char building[HISTORY_MAX_FRAMES];
};

struct history {
	int depth, nframes;
	char names[HISTORY_MAX_FRAMES][HISTORY_FRAME_NAME];
	int64_t len[HISTORY_MAX_FRAMES];
	struct hsym *syms; /* by symbol id */
	int nsyms;
	int64_t next_close;
	history_bounds bounds; /* NULL: epoch multiples */
	void *bounds_ud;
};

struct history *history_new(int depth, const char (*names)[HISTORY_FRAME_NAME],
			    const int64_t *frame_ns, int nframes)
{
	if (depth < 0 || depth > HISTORY_MAX_DEPTH || nframes < 0 || nframes > HISTORY_MAX_FRAMES)
		return NULL;
	struct history *h = calloc(1, sizeof *h);
	if (!h)
		return NULL;
	h->depth = depth;
	h->nframes = nframes;
	for (int f = 0; f < nframes; f++) {
		memcpy(h->names[f], names[f], HISTORY_FRAME_NAME);
		h->names[f][HISTORY_FRAME_NAME - 1] = '\0';
		h->len[f] = frame_ns[f];
	}
	h->next_close = INT64_MAX;
	return h;
}

void history_free(struct history *h)
{
	if (!h)
		return;
	for (int i = 0; i < h->nsyms; i++)
		for (int r = 0; r <= h->nframes; r++)
			free(h->syms[i].rings[r].bars);
	free(h->syms);
	free(h);
}

int history_same(const struct history *h, int depth, const char (*names)[HISTORY_FRAME_NAME],
		 const int64_t *frame_ns, int nframes)
{
	if (h->depth != depth || h->nframes != nframes)
		return 0;
	for (int f = 0; f < nframes; f++)
		if (h->len[f] != frame_ns[f] || strncmp(h->names[f], names[f], HISTORY_FRAME_NAME))
			return 0;
	return 1;
}

/* The slot of sym, made (with its rings) the first time: NULL out of memory. */
static struct hsym *slot(struct history *h, int sym)
{
	if (sym < 0)
		return NULL;
	if (sym >= h->nsyms) {
		int n = h->nsyms ? h->nsyms : 16;
		while (n <= sym)
			n *= 2;
		struct hsym *p = realloc(h->syms, (size_t)n * sizeof *p);
		if (!p)
			return NULL;
		memset(p + h->nsyms, 0, (size_t)(n - h->nsyms) * sizeof *p);
		h->syms = p;
		h->nsyms = n;
	}
	struct hsym *s = &h->syms[sym];
	if (!s->seen && h->depth > 0)
		for (int r = 0; r <= h->nframes; r++)
			if (!s->rings[r].bars &&
			    !(s->rings[r].bars = calloc((size_t)h->depth, sizeof(struct bar))))
				return NULL; /* the ones made are kept, freed with h */
	s->seen = 1;
	return s;
}

static void ring_push(struct ring *r, int depth, const struct bar *b)
{
	if (depth == 0)
		return;
	r->bars[r->head] = *b;
	r->head = (r->head + 1) % depth;
	if (r->count < depth)
		r->count++;
}

static int64_t floor_to(int64_t t, int64_t len)
{
	int64_t q = t / len;
	if (t % len != 0 && t < 0)
		q--;
	return q * len;
}

void history_align(struct history *h, history_bounds bounds, void *ud)
{
	h->bounds = bounds;
	h->bounds_ud = ud;
}

int history_aligned(const struct history *h)
{
	return h->bounds != NULL;
}

/* One price (and volume) at time t into each timeframe's bar of s. */
static void build(struct history *h, struct hsym *s, const struct bar *b)
{
	for (int f = 0; f < h->nframes; f++) {
		struct bar *o = &s->open[f];
		if (s->building[f] && b->time >= o->time && b->time < s->end[f]) {
			o->high = b->high > o->high ? b->high : o->high;
			o->low = b->low < o->low ? b->low : o->low;
			o->close = b->close;
			o->volume += b->volume;
			continue;
		}
		int64_t start = floor_to(b->time, h->len[f]), end = start + h->len[f];
		if (h->bounds)
			h->bounds(h->bounds_ud, b->time, h->len[f], &start, &end);
		*o = *b;
		o->time = start;
		s->end[f] = end;
		s->building[f] = 1;
		if (s->end[f] < h->next_close)
			h->next_close = s->end[f];
	}
}

int history_add_bar(struct history *h, const struct bar *b)
{
	struct hsym *s = slot(h, b->sym);
	if (!s)
		return -1;
	ring_push(&s->rings[0], h->depth, b);
	build(h, s, b);
	return 0;
}

int history_add_trade(struct history *h, int sym, int64_t t, double price, double qty)
{
	if (h->nframes == 0)
		return 0;
	struct hsym *s = slot(h, sym);
	if (!s)
		return -1;
	struct bar b = {.time = t, .open = price, .high = price, .low = price, .close = price,
			.volume = qty, .sym = sym};
	build(h, s, &b);
	return 0;
}

int64_t history_next_close(const struct history *h)
{
	return h->next_close;
}

int history_pop_closed(struct history *h, int64_t t, struct bar *out, int *frame)
{
	if (h->next_close > t)
		return 0;
	int bs = -1, bf = -1;
	int64_t next = INT64_MAX;
	for (int i = 0; i < h->nsyms; i++)
		for (int f = 0; f < h->nframes; f++) {
			int64_t end = h->syms[i].end[f];
			if (!h->syms[i].building[f])
				continue;
			if (end < next)
				next = end;
			if (end <= t && (bs < 0 || end < h->syms[bs].end[bf] ||
					 (end == h->syms[bs].end[bf] && h->len[f] < h->len[bf])))
				bs = i, bf = f;
		}
	if (bs < 0) {
		h->next_close = next;
		return 0;
	}
	struct hsym *s = &h->syms[bs];
	*out = s->open[bf];
	*frame = bf;
	s->building[bf] = 0;
	ring_push(&s->rings[1 + bf], h->depth, out);
	h->next_close = INT64_MAX; /* recomputed: the next call scans */
	for (int i = 0; i < h->nsyms; i++)
		for (int f = 0; f < h->nframes; f++)
			if (h->syms[i].building[f] && h->syms[i].end[f] < h->next_close)
				h->next_close = h->syms[i].end[f];
	return 1;
}

int history_frame(const struct history *h, const char *name)
{
	for (int f = 0; f < h->nframes; f++)
		if (strcmp(h->names[f], name) == 0)
			return f;
	return -1;
}

const char *history_frame_name(const struct history *h, int frame)
{
	return frame >= 0 && frame < h->nframes ? h->names[frame] : NULL;
}

static const struct ring *ring_of(const struct history *h, int sym, int frame)
{
	if (sym < 0 || sym >= h->nsyms || frame < -1 || frame >= h->nframes || h->depth == 0)
		return NULL;
	return &h->syms[sym].rings[1 + frame];
}

int history_count(const struct history *h, int sym, int frame)
{
	const struct ring *r = ring_of(h, sym, frame);
	return r ? r->count : 0;
}

int history_get(const struct history *h, int sym, int frame, int back, struct bar *out)
{
	const struct ring *r = ring_of(h, sym, frame);
	if (!r || back < 0 || back >= r->count)
		return -1;
	*out = r->bars[((r->head - 1 - back) % h->depth + h->depth) % h->depth];
	return 0;
}
