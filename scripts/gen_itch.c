/*
 * gen_itch — a seeded, consistent synthetic TotalView-ITCH 5.0 day.
 *
 *   gen_itch --out FILE[.gz] [--seed N] [--messages N] [--symbols N]
 *            [--live N] [--truth SYM,SYM --truth-out FILE]
 *
 * System events, the stock directory, adds (A, F), executions (E, C) at the
 * head of the best level, partial cancels (X), deletes (D), replaces (U),
 * hidden trades (P), opening and closing crosses (Q) with NOII (I), one halt
 * and resume (H), a few Y, L, N and B. Symbol activity is Zipf-like (the
 * symbol at locate 1, "AAAA", is the busiest); prices sit on a one-cent grid
 * within a 128-tick window per symbol and books never cross. Timestamps never
 * go backwards. Output streams: memory is the live-order set only.
 *
 * The generator keeps its own simple book (a FIFO per price index), apart
 * from host/book.c, and --truth-out writes the final book of the chosen
 * symbols as `gantry itch FILE --book SYM` prints it, one line per symbol.
 * Same seed and options, same bytes.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define W 128 /* price indices per symbol */
#define TICK 100
#define DAY_START 10800000000000ull /* 03:00 */
#define SYS_START 14400000000000ull /* 04:00 */
#define MKT_OPEN 34200000000000ull  /* 09:30 */
#define MKT_CLOSE 57600000000000ull /* 16:00 */
#define SYS_END 72000000000000ull   /* 20:00 */

/* ------------------------------------------------------------ rng */

static uint64_t rng_s[4];

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t rnd(void)
{
	uint64_t r = rotl(rng_s[1] * 5, 7) * 9, t = rng_s[1] << 17;
	rng_s[2] ^= rng_s[0];
	rng_s[3] ^= rng_s[1];
	rng_s[1] ^= rng_s[2];
	rng_s[0] ^= rng_s[3];
	rng_s[2] ^= t;
	rng_s[3] = rotl(rng_s[3], 45);
	return r;
}

static inline uint32_t below(uint32_t n) /* uniform in [0, n) */
{
	return (uint32_t)(((rnd() >> 32) * (uint64_t)n) >> 32);
}

static inline double unit(void)
{
	return (double)(rnd() >> 11) * 0x1p-53;
}

static inline uint32_t geometric(double p, uint32_t max) /* P(k) = p (1-p)^k */
{
	uint32_t k = 0;
	while (k < max && unit() > p)
		k++;
	return k;
}

/* ------------------------------------------------------------ output */

static struct {
	FILE *f;
	gzFile gz;
	uint8_t buf[1 << 20];
	size_t n;
	uint64_t messages;
	int failed;
} out;

static void out_flush(void)
{
	if (out.n == 0)
		return;
	if (out.gz) {
		if (gzwrite(out.gz, out.buf, (unsigned)out.n) != (int)out.n)
			out.failed = 1;
	} else if (fwrite(out.buf, 1, out.n, out.f) != out.n) {
		out.failed = 1;
	}
	out.n = 0;
}

static uint64_t now_ts;

/* Starts a message of type t and length len; returns its bytes (header set). */
static uint8_t *msg(char t, size_t len, uint16_t locate, uint16_t tracking)
{
	if (out.n + len + 2 > sizeof out.buf)
		out_flush();
	uint8_t *f = out.buf + out.n;
	out.n += len + 2;
	out.messages++;
	f[0] = (uint8_t)(len >> 8);
	f[1] = (uint8_t)len;
	uint8_t *m = f + 2;
	memset(m, ' ', len);
	m[0] = (uint8_t)t;
	m[1] = (uint8_t)(locate >> 8);
	m[2] = (uint8_t)locate;
	m[3] = (uint8_t)(tracking >> 8);
	m[4] = (uint8_t)tracking;
	for (int i = 0; i < 6; i++)
		m[5 + i] = (uint8_t)(now_ts >> (8 * (5 - i)));
	return m;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * (3 - i)));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static void put_alpha(uint8_t *p, const char *s, size_t n)
{
	size_t k = strlen(s);
	memcpy(p, s, k < n ? k : n);
}

/* ------------------------------------------------------------ model */

struct order {
	uint64_t ref;
	uint32_t shares;
	uint32_t prev, next; /* FIFO at its level; next = free list */
	uint32_t live_pos;   /* index in its symbol's live array */
	uint32_t sym;
	uint8_t side, lvl;
};

struct sym {
	char name[9];
	uint32_t base;        /* price of index 0 */
	uint32_t (*fifo)[2][W]; /* [0] heads, [1] tails, 0 = empty; lazily allocated */
	uint32_t *live;
	uint32_t nlive, cap;
	uint32_t target;      /* live orders it tends to */
	int best[2];          /* bid: highest index with orders (-1), ask: lowest (W) */
	int anchor;
	int halted;
};

static struct order *ord;
static uint32_t ord_cap = 1, free_id;
static struct sym *syms;
static uint32_t nsym;
static uint64_t next_ref = 1, next_match = 1;

/* The last adds, newest at ring_head - 1: most cancels, replaces and
 * deletes hit young orders, as on a real day. */
#define RING 65536
static struct {
	uint32_t id;
	uint64_t ref;
} ring[RING];
static uint32_t ring_head;

static void ring_push(uint32_t id)
{
	ring[ring_head % RING].id = id;
	ring[ring_head % RING].ref = ord[id].ref;
	ring_head++;
}

static uint32_t order_new(void)
{
	if (free_id) {
		uint32_t id = free_id;
		free_id = ord[id].next;
		return id;
	}
	if ((ord_cap & (ord_cap - 1)) == 0) {
		struct order *o = realloc(ord, (size_t)ord_cap * 2 * sizeof *o);
		if (!o) {
			fprintf(stderr, "gen_itch: out of memory\n");
			exit(1);
		}
		ord = o;
	}
	return ord_cap++;
}

static void link_order(struct sym *y, uint32_t id)
{
	struct order *o = &ord[id];
	if (!y->fifo && !(y->fifo = calloc(2, sizeof *y->fifo))) {
		fprintf(stderr, "gen_itch: out of memory\n");
		exit(1);
	}
	uint32_t *head = &y->fifo[0][o->side][o->lvl], *tail = &y->fifo[1][o->side][o->lvl];
	o->prev = *tail;
	o->next = 0;
	if (*tail)
		ord[*tail].next = id;
	else
		*head = id;
	*tail = id;
	if (o->side == 0 ? (int)o->lvl > y->best[0] : (int)o->lvl < y->best[1])
		y->best[o->side] = o->lvl;
	if (y->nlive == y->cap) {
		y->cap = y->cap ? y->cap * 2 : 16;
		y->live = realloc(y->live, y->cap * sizeof *y->live);
		if (!y->live) {
			fprintf(stderr, "gen_itch: out of memory\n");
			exit(1);
		}
	}
	o->live_pos = y->nlive;
	y->live[y->nlive++] = id;
}

static void unlink_order(struct sym *y, uint32_t id)
{
	struct order *o = &ord[id];
	uint32_t *head = &y->fifo[0][o->side][o->lvl], *tail = &y->fifo[1][o->side][o->lvl];
	if (o->prev)
		ord[o->prev].next = o->next;
	else
		*head = o->next;
	if (o->next)
		ord[o->next].prev = o->prev;
	else
		*tail = o->prev;
	if (*head == 0 && y->best[o->side] == o->lvl) {
		int i = o->lvl;
		if (o->side == 0)
			while (i >= 0 && y->fifo[0][0][i] == 0)
				i--;
		else
			while (i < W && y->fifo[0][1][i] == 0)
				i++;
		y->best[o->side] = i;
	}
	uint32_t last = y->live[--y->nlive];
	y->live[o->live_pos] = last;
	ord[last].live_pos = o->live_pos;
}

static void order_free(uint32_t id)
{
	ord[id].ref = 0;
	ord[id].next = free_id;
	free_id = id;
}

static uint32_t price_of(const struct sym *y, int lvl)
{
	return y->base + (uint32_t)lvl * TICK;
}

static uint16_t loc_of(const struct sym *y)
{
	return (uint16_t)(y - syms + 1);
}

static uint32_t lot(void)
{
	if (below(10) == 0)
		return 1 + below(99); /* odd lot */
	return 100 * (1 + geometric(0.45, 20));
}

/* A price index for a new order on side that cannot lock or cross; -1 if none. */
static int place(const struct sym *y, int side)
{
	int k = (int)geometric(0.3, W);
	if (side == 0) {
		int top = y->best[1] < W ? y->best[1] - 1 : (y->best[0] >= 0 ? y->best[0] : y->anchor);
		int lvl = top - k;
		if (lvl < 0)
			lvl = top;
		return lvl >= 0 && lvl < y->best[1] ? lvl : -1;
	}
	int bot = y->best[0] >= 0 ? y->best[0] + 1 : (y->best[1] < W ? y->best[1] : y->anchor + 1);
	int lvl = bot + k;
	if (lvl >= W)
		lvl = bot;
	return lvl < W && lvl > y->best[0] ? lvl : -1;
}

static const char *const mpids[] = {"NSDQ", "VIRT", "GSCO", "MSCO", "JPMS", "UBSS", "CDRG"};

static int gen_add(struct sym *y)
{
	int side = (int)below(2);
	int lvl = place(y, side);
	if (lvl < 0) {
		side ^= 1;
		if ((lvl = place(y, side)) < 0)
			return -1;
	}
	uint32_t id = order_new();
	struct order *o = &ord[id];
	o->ref = next_ref++;
	o->shares = lot();
	o->sym = (uint32_t)(y - syms);
	o->side = (uint8_t)side;
	o->lvl = (uint8_t)lvl;
	int f = below(10) == 0;
	uint8_t *m = msg(f ? 'F' : 'A', f ? 40 : 36, loc_of(y), 0);
	put64(m + 11, o->ref);
	m[19] = side ? 'S' : 'B';
	put32(m + 20, o->shares);
	put_alpha(m + 24, y->name, 8);
	put32(m + 32, price_of(y, lvl));
	if (f)
		put_alpha(m + 36, mpids[below(7)], 4);
	link_order(y, id);
	ring_push(id);
	return 0;
}

static void gen_exec(struct sym *y)
{
	/* hit the head of the best level; lean against the drift from the anchor */
	int mid = y->best[0] >= 0 && y->best[1] < W ? (y->best[0] + y->best[1]) / 2 : y->anchor;
	double pbid = 0.5 + 0.45 * (double)(mid - W / 2) / (W / 2);
	int side = unit() < pbid ? 0 : 1;
	if ((side == 0 && y->best[0] < 0) || (side == 1 && y->best[1] >= W))
		side ^= 1;
	if ((side == 0 && y->best[0] < 0) || (side == 1 && y->best[1] >= W))
		return;
	uint32_t id = y->fifo[0][side][y->best[side]];
	struct order *o = &ord[id];
	uint32_t qty = below(3) == 0 ? o->shares : 1 + below(o->shares);
	int c = below(8) == 0;
	uint8_t *m = msg(c ? 'C' : 'E', c ? 36 : 31, loc_of(y), 0);
	put64(m + 11, o->ref);
	put32(m + 19, qty);
	put64(m + 23, next_match++);
	if (c) {
		m[31] = below(4) ? 'Y' : 'N';
		put32(m + 32, price_of(y, o->lvl));
	}
	y->anchor = o->lvl;
	o->shares -= qty;
	if (o->shares == 0) {
		unlink_order(y, id);
		order_free(id);
	}
}

static void gen_cancel(struct sym *y, uint32_t id)
{
	struct order *o = &ord[id];
	if (o->shares > 1 && below(6) == 0) {
		uint32_t qty = 1 + below(o->shares - 1);
		uint8_t *m = msg('X', 23, loc_of(y), 0);
		put64(m + 11, o->ref);
		put32(m + 19, qty);
		o->shares -= qty;
		return;
	}
	uint8_t *m = msg('D', 19, loc_of(y), 0);
	put64(m + 11, o->ref);
	unlink_order(y, id);
	order_free(id);
}

static void gen_replace(struct sym *y, uint32_t id)
{
	struct order *o = &ord[id];
	unlink_order(y, id);
	int lvl = (int)o->lvl + (int)below(5) - 2;
	if (lvl < 0 || lvl >= W || (o->side == 0 ? lvl >= y->best[1] : lvl <= y->best[0]))
		lvl = o->lvl;
	/* the order was unlinked, so its own level no longer counts: recheck */
	if (o->side == 0 ? lvl >= y->best[1] : lvl <= y->best[0])
		lvl = o->lvl;
	uint8_t *m = msg('U', 35, loc_of(y), 0);
	put64(m + 11, o->ref);
	o->ref = next_ref++;
	o->lvl = (uint8_t)lvl;
	o->shares = lot();
	put64(m + 19, o->ref);
	put32(m + 27, o->shares);
	put32(m + 31, price_of(y, lvl));
	link_order(y, id);
	ring_push(id);
}

static void gen_hidden(struct sym *y)
{
	int lvl = y->best[0] >= 0 ? y->best[0] : y->anchor;
	uint8_t *m = msg('P', 44, loc_of(y), 0);
	put64(m + 11, 0);
	m[19] = 'B';
	put32(m + 20, lot());
	put_alpha(m + 24, y->name, 8);
	put32(m + 32, price_of(y, lvl));
	put64(m + 36, next_match++);
}

static void gen_cross(struct sym *y, char type)
{
	uint8_t *im = msg('I', 50, loc_of(y), 0);
	uint32_t px = price_of(y, y->anchor);
	put64(im + 11, 100 * (uint64_t)below(1000));
	put64(im + 19, 100 * (uint64_t)below(100));
	im[27] = "BSNO"[below(4)];
	put_alpha(im + 28, y->name, 8);
	put32(im + 36, px);
	put32(im + 40, px);
	put32(im + 44, px);
	im[48] = (uint8_t)type;
	im[49] = 'L';
	uint8_t *m = msg('Q', 40, loc_of(y), 0);
	put64(m + 11, 100 * (uint64_t)(1 + below(5000)));
	put_alpha(m + 19, y->name, 8);
	put32(m + 27, px);
	put64(m + 31, next_match++);
	m[39] = (uint8_t)type;
}

static void gen_system(char code)
{
	uint8_t *m = msg('S', 12, 0, 0);
	m[11] = (uint8_t)code;
}

static void gen_trading(struct sym *y, char state, const char *reason)
{
	uint8_t *m = msg('H', 25, loc_of(y), 0);
	put_alpha(m + 11, y->name, 8);
	m[19] = (uint8_t)state;
	put_alpha(m + 21, reason, 4);
}

static void gen_directory(struct sym *y)
{
	uint8_t *m = msg('R', 39, loc_of(y), 0);
	put_alpha(m + 11, y->name, 8);
	m[19] = "QGS"[below(3)];
	m[20] = 'N';
	put32(m + 21, 100);
	m[25] = 'N';
	m[26] = 'C';
	put_alpha(m + 27, "Z", 2);
	m[29] = 'P';
	m[30] = 'N';
	m[32] = '2';
	m[33] = 'N';
	put32(m + 34, 0);
	m[38] = 'N';
}

/* ------------------------------------------------------------ Zipf (alias) */

static double *alias_p;
static uint32_t *alias_a;

static int zipf_init(uint32_t n, double s)
{
	double *w = malloc(n * sizeof *w);
	uint32_t *small = malloc(n * sizeof *small), *large = malloc(n * sizeof *large);
	alias_p = malloc(n * sizeof *alias_p);
	alias_a = malloc(n * sizeof *alias_a);
	if (!w || !small || !large || !alias_p || !alias_a)
		return -1;
	double sum = 0;
	for (uint32_t i = 0; i < n; i++)
		sum += w[i] = 1.0 / pow(i + 1.0, s);
	uint32_t ns = 0, nl = 0;
	for (uint32_t i = 0; i < n; i++) {
		w[i] = w[i] / sum * n;
		if (w[i] < 1.0)
			small[ns++] = i;
		else
			large[nl++] = i;
	}
	while (ns && nl) {
		uint32_t l = small[--ns], g = large[--nl];
		alias_p[l] = w[l];
		alias_a[l] = g;
		w[g] = w[g] + w[l] - 1.0;
		if (w[g] < 1.0)
			small[ns++] = g;
		else
			large[nl++] = g;
	}
	while (nl)
		alias_p[large[--nl]] = 1.0, alias_a[large[nl]] = large[nl];
	while (ns)
		alias_p[small[--ns]] = 1.0, alias_a[small[ns]] = small[ns];
	free(w);
	free(small);
	free(large);
	return 0;
}

static uint32_t zipf_pick(void)
{
	uint32_t i = below(nsym);
	return unit() < alias_p[i] ? i : alias_a[i];
}

/* ------------------------------------------------------------ truth */

static void write_truth(FILE *f, const struct sym *y)
{
	fprintf(f, "{\"symbol\":\"%s\"", y->name);
	for (int side = 0; side < 2; side++) {
		fprintf(f, ",\"%s\":[", side ? "asks" : "bids");
		int first = 1;
		for (int k = 0; k < W; k++) {
			int lvl = side ? k : W - 1 - k;
			uint32_t id = y->fifo ? y->fifo[0][side][lvl] : 0;
			if (!id)
				continue;
			uint64_t sh = 0;
			uint32_t n = 0;
			for (; id; id = ord[id].next, n++)
				sh += ord[id].shares;
			uint32_t p = price_of(y, lvl);
			fprintf(f, "%s[\"%u.%04u\",%" PRIu64 ",%u]", first ? "" : ",", p / 10000, p % 10000,
				sh, n);
			first = 0;
		}
		fputc(']', f);
	}
	fputs("}\n", f);
}

/* ------------------------------------------------------------ main */

struct opts {
	uint64_t seed, messages, live;
	uint32_t symbols;
	double zipf;
	const char *out, *truth, *truth_out;
};

static void usage(FILE *f)
{
	fputs("usage: gen_itch --out FILE[.gz] [--seed N] [--messages N] [--symbols N]\n"
	      "                [--live N] [--zipf S] [--truth SYM,SYM --truth-out FILE]\n"
	      "  a consistent synthetic TotalView-ITCH 5.0 day, [u16 length][message] framing;\n"
	      "  symbols are AAAA, AAAB, ... at locates 1, 2, ... (busiest first).\n"
	      "  defaults: --seed 1 --messages 1000000 --symbols 1000 --live 200000 --zipf 1.0\n",
	      f);
}

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *v)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (!*s || *end || errno || x < min || x > max || *s == '-')
		return -1;
	*v = x;
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	*o = (struct opts){.seed = 1, .messages = 1000000, .live = 200000, .symbols = 1000, .zipf = 1.0};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t x;
		if (!strcmp(a, "--help")) {
			usage(stdout);
			exit(0);
		}
		if (!v) {
			fprintf(stderr, "gen_itch: %s needs a value (try --help)\n", a);
			return -1;
		}
		i++;
		if (!strcmp(a, "--seed") && !parse_u64(v, 0, UINT64_MAX, &x))
			o->seed = x;
		else if (!strcmp(a, "--messages") && !parse_u64(v, 1, 1ull << 40, &x))
			o->messages = x;
		else if (!strcmp(a, "--live") && !parse_u64(v, 1, 1ull << 28, &x))
			o->live = x;
		else if (!strcmp(a, "--symbols") && !parse_u64(v, 1, 60000, &x))
			o->symbols = (uint32_t)x;
		else if (!strcmp(a, "--zipf") && (o->zipf = strtod(v, NULL)) >= 0 && o->zipf <= 4)
			;
		else if (!strcmp(a, "--out"))
			o->out = v;
		else if (!strcmp(a, "--truth"))
			o->truth = v;
		else if (!strcmp(a, "--truth-out"))
			o->truth_out = v;
		else {
			fprintf(stderr, "gen_itch: bad option or value: %s %s (try --help)\n", a, v);
			return -1;
		}
	}
	if (!o->out || (!o->truth != !o->truth_out)) {
		fprintf(stderr, "gen_itch: --out FILE is required, --truth goes with --truth-out\n");
		return -1;
	}
	return 0;
}

static void make_symbols(uint32_t n, uint64_t live)
{
	syms = calloc(n, sizeof *syms);
	if (!syms) {
		fprintf(stderr, "gen_itch: out of memory\n");
		exit(1);
	}
	nsym = n;
	for (uint32_t i = 0; i < n; i++) {
		struct sym *y = &syms[i];
		uint32_t v = i;
		for (int k = 3; k >= 0; k--, v /= 26)
			y->name[k] = (char)('A' + v % 26);
		y->base = (uint32_t)(200 + below(30000)) * TICK; /* $2.00 .. $302.00 */
		y->best[0] = -1;
		y->best[1] = W;
		y->anchor = W / 2;
	}
	double h = 0;
	for (uint32_t i = 0; i < n; i++)
		h += 1.0 / (i + 1.0);
	for (uint32_t i = 0; i < n; i++)
		syms[i].target = 4 + (uint32_t)((double)live / (h * (i + 1.0)));
}

/* A young live order (exponential age, mean ~300 adds), or 0. */
static uint32_t young_order(void)
{
	uint32_t age = (uint32_t)(-300.0 * log(1.0 - unit()));
	if (age >= RING || age >= ring_head)
		return 0;
	uint32_t k = (ring_head - 1 - age) % RING;
	uint32_t id = ring[k].id;
	if (id == 0 || id >= ord_cap || ord[id].ref != ring[k].ref || syms[ord[id].sym].halted)
		return 0;
	return id;
}

/* One message of continuous trading for a Zipf-chosen symbol. */
static void step(void)
{
	struct sym *y;
	do
		y = &syms[zipf_pick()];
	while (y->halted && y->nlive == 0);
	double r = unit();
	if (y->halted) {
		gen_cancel(y, y->live[below(y->nlive)]);
		return;
	}
	if (r < 0.015) {
		gen_hidden(y);
		return;
	}
	double padd = y->nlive < 4 ? 1.0 : y->nlive > y->target ? 0.35 : 0.55;
	if (unit() < padd && gen_add(y) == 0)
		return;
	if (y->nlive == 0) {
		gen_hidden(y);
		return;
	}
	double a = unit();
	if (a < 0.18) {
		gen_exec(y);
		return;
	}
	uint32_t id = below(4) ? young_order() : 0;
	if (id)
		y = &syms[ord[id].sym];
	else
		id = y->live[below(y->nlive)];
	if (a < 0.36)
		gen_replace(y, id);
	else
		gen_cancel(y, id);
}

int main(int argc, char **argv)
{
	struct opts o;
	if (parse_opts(argc, argv, &o) != 0)
		return 2;
	uint64_t seed = o.seed;
	for (int i = 0; i < 4; i++)
		rng_s[i] = splitmix(&seed);
	size_t olen = strlen(o.out);
	if (olen > 3 && !strcmp(o.out + olen - 3, ".gz"))
		out.gz = gzopen(o.out, "wb1");
	else
		out.f = fopen(o.out, "wb");
	if (!out.gz && !out.f) {
		fprintf(stderr, "gen_itch: %s: %s\n", o.out, strerror(errno));
		return 2;
	}
	make_symbols(o.symbols, o.live);
	if (zipf_init(nsym, o.zipf) != 0) {
		fprintf(stderr, "gen_itch: out of memory\n");
		return 1;
	}
	ord = malloc(sizeof *ord);

	/* the day: preamble, continuous trading between the crosses, the close */
	now_ts = DAY_START;
	gen_system('O');
	for (uint32_t i = 0; i < nsym; i++) {
		now_ts += 1000;
		gen_directory(&syms[i]);
	}
	for (uint32_t i = 0; i < nsym; i++) {
		now_ts += 1000;
		gen_trading(&syms[i], 'T', "");
		if (i % 97 == 3) {
			uint8_t *m = msg('Y', 20, loc_of(&syms[i]), 0);
			put_alpha(m + 11, syms[i].name, 8);
			m[19] = '0';
		}
		if (i % 13 == 0) {
			uint8_t *m = msg('L', 26, loc_of(&syms[i]), 0);
			put_alpha(m + 11, mpids[i % 7], 4);
			put_alpha(m + 15, syms[i].name, 8);
			m[23] = 'Y';
			m[24] = 'N';
			m[25] = 'A';
		}
	}
	now_ts = SYS_START;
	gen_system('S');
	uint64_t fixed = out.messages + 4 + 4 * (nsym < 50 ? nsym : 50) + 2;
	uint64_t body = o.messages > fixed ? o.messages - fixed : 0;
	uint64_t step_ns = (SYS_END - SYS_START - 1000000) / (body + 1);
	if (step_ns == 0)
		step_ns = 1;
	uint64_t open_at = body * (MKT_OPEN - SYS_START) / (SYS_END - SYS_START);
	uint64_t close_at = body * (MKT_CLOSE - SYS_START) / (SYS_END - SYS_START);
	uint32_t ncross = nsym < 50 ? nsym : 50;
	struct sym *halt = nsym >= 3 ? &syms[nsym > 10 ? 9 : nsym - 1] : NULL;
	uint64_t halt_at = body * 4 / 10, resume_at = body * 9 / 20, broken_at = body / 2;
	for (uint64_t i = 0; i < body; i++) {
		now_ts += 1 + below((uint32_t)(2 * step_ns - 1 > UINT32_MAX ? UINT32_MAX : 2 * step_ns - 1));
		if (i == open_at) {
			gen_system('Q');
			for (uint32_t k = 0; k < ncross; k++)
				gen_cross(&syms[k], 'O');
		}
		if (i == close_at) {
			for (uint32_t k = 0; k < ncross; k++)
				gen_cross(&syms[k], 'C');
			gen_system('M');
		}
		if (halt && i == halt_at) {
			halt->halted = 1;
			gen_trading(halt, 'H', "T1");
		}
		if (halt && i == resume_at) {
			halt->halted = 0;
			gen_trading(halt, 'T', "");
		}
		if (i == broken_at && next_match > 1) {
			uint8_t *m = msg('B', 19, 0, 0);
			put64(m + 11, next_match - 1);
		}
		if (below(4096) == 0) {
			struct sym *y = &syms[zipf_pick()];
			uint8_t *m = msg('N', 20, loc_of(y), 0);
			put_alpha(m + 11, y->name, 8);
			m[19] = "BSAN"[below(4)];
		}
		step();
	}
	if (body <= open_at) {
		gen_system('Q');
	}
	if (body <= close_at)
		gen_system('M');
	if (now_ts < SYS_END)
		now_ts = SYS_END;
	gen_system('E');
	gen_system('C');
	out_flush();
	int bad = out.failed;
	if (out.gz)
		bad |= gzclose(out.gz) != Z_OK;
	else
		bad |= fclose(out.f) != 0;
	if (bad) {
		fprintf(stderr, "gen_itch: %s: write failed\n", o.out);
		return 1;
	}
	if (o.truth) {
		FILE *tf = fopen(o.truth_out, "w");
		if (!tf) {
			fprintf(stderr, "gen_itch: %s: %s\n", o.truth_out, strerror(errno));
			return 2;
		}
		char list[1024];
		snprintf(list, sizeof list, "%s", o.truth);
		for (char *save, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			uint32_t i = 0;
			while (i < nsym && strcmp(syms[i].name, t) != 0)
				i++;
			if (i == nsym) {
				fprintf(stderr, "gen_itch: --truth: no symbol %s (names are AAAA, AAAB, ...)\n", t);
				fclose(tf);
				return 2;
			}
			write_truth(tf, &syms[i]);
		}
		if (fclose(tf) != 0)
			return 1;
	}
	fprintf(stderr, "gen_itch: %s: %" PRIu64 " messages, %" PRIu64 " orders added\n", o.out,
		out.messages, next_ref - 1);
	return 0;
}
