/*
 * bench_risk — the cost of risk_check per order with every limit enabled,
 * strategy and firm, on varied inputs (symbols, sides, sizes, prices around
 * the reference, market orders, cancels, repeats, stale references, working
 * orders and positions), with time moving on ~1 ms per order.
 *
 * Inputs (order + view, 256 bytes each) are precomputed and cycled, in two
 * sizes: 1024 distinct inputs (256 KiB, cache-resident, like a view the
 * caller has just built) and 16384 (4 MiB, streamed from L3/memory on every
 * check). For each, "harness" is the same loop reading the same input lines
 * without calling risk_check: what the loop itself costs.
 *
 * Two measurements:
 *   batch:  clock_gettime around batches of BATCH checks; median and p99 of
 *           the per-check mean of each batch (the tail of single checks is
 *           smoothed by the batch);
 *   single: rdtsc around each check (x86-64 only), minus the measured cost of
 *           an empty rdtsc pair, converted with a TSC rate calibrated against
 *           CLOCK_MONOTONIC.
 * Allocation is counted by interposing malloc/calloc/realloc/free in this
 * program; the count during the timed loops is printed and must be 0.
 *
 * Usage: bench_risk [CHECKS]   (default 4194304)
 */
#include "risk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

/* ---- allocation counter (interposes the C library's allocator) ---- */

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t m);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

static volatile unsigned long alloc_calls;

void *malloc(size_t n)
{
	alloc_calls++;
	return __libc_malloc(n);
}
void *calloc(size_t n, size_t m)
{
	alloc_calls++;
	return __libc_calloc(n, m);
}
void *realloc(void *p, size_t n)
{
	alloc_calls++;
	return __libc_realloc(p, n);
}
void free(void *p)
{
	__libc_free(p);
}

/* ---- inputs ---- */

#define NIN 16384 /* distinct inputs, at most; cycled */
#define NSYM 500
#define NSTRAT 4
#define BATCH 64

struct input {
	struct risk_order order;
	struct risk_view view;
	int64_t step_ns;    /* time since the previous check */
	int64_t ref_age_ns; /* age of the reference at this check */
	bool fill_before;   /* a fill arrives before this order */
};

static struct input in[NIN];
static struct risk_limits lim[NSTRAT], firm_lim;
static struct risk_state st[NSTRAT], firm_st;

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t next_u64(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}
static double uniform(void)
{
	return (double)(next_u64() >> 11) / 9007199254740992.0;
}
static int below(int n)
{
	return (int)(next_u64() % (uint64_t)n);
}

static void setup_limits(struct risk_limits *l, double scale)
{
	risk_limits_init(l);
	l->max_order_qty = 5000;
	l->max_order_notional = 1e6 * scale;
	l->max_position.max_long = l->max_position.max_short = 20000 * scale;
	for (int s = 0; s < 40; s++)
		risk_limits_set_position(l, s * 7, 8000 * scale, 4000 * scale);
	for (int s = 0; s < 8; s++)
		risk_limits_restrict(l, 100 + s * 50, true);
	l->price_collar_pct = 5;
	l->stale_reference_ns = 500 * 1000000LL;
	l->max_gross_exposure = 5e7 * scale;
	l->max_open_orders = 200 * scale;
	l->max_orders_per_sec = 4000;
	l->max_msgs_per_sec = 4096;
	l->duplicate_window_ns = 50 * 1000000LL;
	l->max_daily_loss = 1e6 * scale;
	l->max_drawdown = 2e6 * scale;
	l->max_drawdown_pct = 20;
	l->throttle_fills = 256;
	l->throttle_window_ns = 60 * RISK_NS_PER_SEC;
	l->reduce_only_when_halted = true;
}

static void fill_account(struct risk_account *a, double ref, double scale)
{
	a->position = (double)(below(20001) - 10000) * scale;
	a->working_buy = below(3000) * scale;
	a->working_sell = below(3000) * scale;
	a->open_orders = below(190) * scale;
	a->gross_exposure = uniform() * 4.5e7 * scale;
	/* own quotes, when there are some, a little away from the reference */
	a->resting_buy = below(2) ? ref * (1 - 0.005 * (1 + below(4))) : 0;
	a->resting_sell = below(2) ? ref * (1 + 0.005 * (1 + below(4))) : 0;
	a->pnl = (uniform() - 0.6) * 5e5 * scale;
	a->peak_equity = 1e7 * scale;
	a->equity = a->peak_equity + a->pnl - uniform() * 5e5 * scale;
}

static void setup_inputs(void)
{
	double ref[NSYM];
	for (int s = 0; s < NSYM; s++)
		ref[s] = 5 + below(50000) / 100.0;
	for (int i = 0; i < NIN; i++) {
		struct input *x = &in[i];
		if (i > 0 && below(50) == 0) { /* a repeat: duplicate if close enough */
			*x = in[i - 1];
			x->step_ns = below(80) * 1000000LL;
			continue;
		}
		int sym = below(NSYM);
		double r = ref[sym];
		struct risk_order *o = &x->order;
		o->strategy = below(NSTRAT);
		o->symbol = sym;
		o->side = below(2) ? RISK_BUY : RISK_SELL;
		o->qty = below(100) == 0 ? 5000 + below(2000) : 1 + below(1000);
		/* mostly near the reference; one in 50 far enough to hit the collar */
		double off = below(50) == 0 ? (uniform() - 0.5) * 0.2 : (uniform() - 0.5) * 0.008;
		o->price = below(10) == 0 ? 0 : (double)(int64_t)(r * (1 + off) * 100) / 100;
		o->is_cancel = below(20) == 0;

		struct risk_view *v = &x->view;
		v->ref_price = r;
		v->tick = 0.01;
		v->symbol_known = below(1000) != 0;
		v->trading = below(500) != 0;
		fill_account(&v->strat, r, 1);
		fill_account(&v->firm, r, 4);
		x->step_ns = 100000 + below(1800000); /* ~1 ms on average */
		x->ref_age_ns = below(100) == 0 ? 600 * 1000000LL : below(200) * 1000000LL;
		x->fill_before = below(500) == 0;
	}
}

/* ---- timing ---- */

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * RISK_NS_PER_SEC + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double pct(double *v, size_t n, double p)
{
	size_t k = (size_t)(p * (double)(n - 1) + 0.5);
	return v[k];
}

static int64_t now_ns = 1700000000000000000LL;
static unsigned long reasons[RISK_REASON_COUNT];

static int nin = NIN; /* the input set in use: a power of 2 */

/* Touches the lines of the input risk_check would read; checks nothing. */
__attribute__((noinline)) static enum risk_reason no_check(const struct risk_order *o,
							   const struct risk_view *v)
{
	double sum = o->qty + v->strat.position + v->strat.pnl + v->firm.position + v->firm.pnl +
		     v->ref_price;
	return sum != sum ? RISK_BAD_QTY : RISK_OK;
}

static inline enum risk_reason one_input(int i, bool check)
{
	struct input *x = &in[i];
	now_ns += x->step_ns;
	x->view.now_ns = now_ns;
	x->view.ref_ns = now_ns - x->ref_age_ns;
	struct risk_state *s = &st[x->order.strategy];
	if (x->fill_before) {
		risk_on_fill(s, now_ns);
		risk_on_fill(&firm_st, now_ns);
	}
	if (!check)
		return no_check(&x->order, &x->view);
	return risk_check(&lim[x->order.strategy], s, &firm_lim, &firm_st, &x->order, &x->view);
}

static inline enum risk_reason one_check(int i)
{
	return one_input(i, true);
}

/* Batches of BATCH; per-check ns of each batch into out, sorted. Returns
 * the mean over all. */
static double run_batches(bool check, long nbatch, double *out, unsigned long *allocs)
{
	static int idx;
	unsigned long before = alloc_calls;
	int64_t t_all = mono_ns();
	for (long b = 0; b < nbatch; b++) {
		int64_t t0 = mono_ns();
		for (int k = 0; k < BATCH; k++) {
			reasons[one_input(idx, check)]++;
			idx = (idx + 1) & (nin - 1);
		}
		out[b] = (double)(mono_ns() - t0) / BATCH;
	}
	t_all = mono_ns() - t_all;
	*allocs += alloc_calls - before;
	qsort(out, (size_t)nbatch, sizeof(double), cmp_double);
	return (double)t_all / (double)(nbatch * BATCH);
}

int main(int argc, char **argv)
{
	long checks = argc > 1 ? atol(argv[1]) : 4194304L;
	if (checks < BATCH * 16)
		checks = BATCH * 16;
	long nbatch = checks / BATCH;
	checks = nbatch * BATCH;

	for (int s = 0; s < NSTRAT; s++) {
		setup_limits(&lim[s], 1);
		risk_state_init(&st[s]);
	}
	setup_limits(&firm_lim, 4);
	risk_state_init(&firm_st);
	setup_inputs();
	double *batch_ns = malloc(sizeof(double) * (size_t)nbatch);
	double *single_ns = malloc(sizeof(double) * (size_t)checks);
	if (!batch_ns || !single_ns) {
		fprintf(stderr, "bench_risk: out of memory\n");
		return 1;
	}

	/* warm up: caches, branch predictors, windows filled */
	int idx = 0;
	for (long i = 0; i < 200000; i++) {
		one_check(idx);
		idx = (idx + 1) & (NIN - 1);
	}

	printf("risk_check, every limit enabled, strategy + firm, %d symbols, %d strategies, "
	       "%ld checks a run\n",
	       NSYM, NSTRAT, checks);
	unsigned long allocs_batch = 0;
	static const int sizes[] = {1024, NIN};
	for (int z = 0; z < 2; z++) {
		nin = sizes[z];
		double mean = run_batches(true, nbatch, batch_ns, &allocs_batch);
		printf("inputs %5d (%4d KiB)  check:   mean %5.1f ns  median %5.1f ns  p99 %6.1f ns"
		       "   (per check, batches of %d, clock_gettime)\n",
		       nin, (int)(sizeof(struct input) * (size_t)nin / 1024), mean,
		       pct(batch_ns, (size_t)nbatch, 0.5), pct(batch_ns, (size_t)nbatch, 0.99),
		       BATCH);
		mean = run_batches(false, nbatch, batch_ns, &allocs_batch);
		printf("inputs %5d (%4d KiB)  harness: mean %5.1f ns  median %5.1f ns  p99 %6.1f ns"
		       "   (the loop reading the inputs, no check)\n",
		       nin, (int)(sizeof(struct input) * (size_t)nin / 1024), mean,
		       pct(batch_ns, (size_t)nbatch, 0.5), pct(batch_ns, (size_t)nbatch, 0.99));
	}
	nin = NIN;
	memset(reasons, 0, sizeof reasons);

#if defined(__x86_64__)
	/* calibrate the TSC, and the cost of an empty measurement */
	int64_t c0 = mono_ns();
	uint64_t r0 = __rdtsc();
	while (mono_ns() - c0 < 200000000)
		;
	double ns_per_tick = (double)(mono_ns() - c0) / (double)(__rdtsc() - r0);
	unsigned aux;
	uint64_t empty = UINT64_MAX;
	for (int i = 0; i < 100000; i++) {
		_mm_lfence();
		uint64_t a = __rdtsc();
		_mm_lfence();
		uint64_t z = __rdtscp(&aux);
		_mm_lfence();
		if (z - a < empty)
			empty = z - a;
	}
	unsigned long allocs_before = alloc_calls;
	for (long i = 0; i < checks; i++) {
		_mm_lfence();
		uint64_t a = __rdtsc();
		_mm_lfence();
		enum risk_reason r = one_check(idx);
		uint64_t z = __rdtscp(&aux);
		_mm_lfence();
		reasons[r]++;
		idx = (idx + 1) & (nin - 1);
		uint64_t d = z - a > empty ? z - a - empty : 0;
		single_ns[i] = (double)d * ns_per_tick;
	}
	unsigned long allocs_single = alloc_calls - allocs_before;
	qsort(single_ns, (size_t)checks, sizeof(double), cmp_double);
	printf("inputs 16384 single checks (rdtsc, %.0f ns pair overhead removed; coarse on VMs): "
	       "median %.1f ns  p90 %.1f ns  p99 %.1f ns  p99.9 %.1f ns\n",
	       (double)empty * ns_per_tick, pct(single_ns, (size_t)checks, 0.5),
	       pct(single_ns, (size_t)checks, 0.9), pct(single_ns, (size_t)checks, 0.99),
	       pct(single_ns, (size_t)checks, 0.999));
#else
	unsigned long allocs_single = 0;
	printf("single: rdtsc not available on this architecture\n");
#endif
	printf("allocations during timed checks: %lu\n", allocs_batch + allocs_single);

	unsigned long total = 0;
	for (int r = 0; r < RISK_REASON_COUNT; r++)
		total += reasons[r];
	printf("outcomes (single-check run):");
	for (int r = 0; r < RISK_REASON_COUNT; r++)
		if (reasons[r])
			printf(" %s %.1f%%", risk_reason_name((enum risk_reason)r),
			       100.0 * (double)reasons[r] / (double)total);
	printf("\nhalted: strategies");
	for (int s = 0; s < NSTRAT; s++)
		printf(" %s", st[s].halted ? risk_reason_name(st[s].halt_reason) : "no");
	printf(", firm %s\n", firm_st.halted ? risk_reason_name(firm_st.halt_reason) : "no");
	free(batch_ns);
	free(single_ns);
	return allocs_batch + allocs_single != 0;
}
