/*
 * probe — see probe.h. Only a GANTRY_PROBES build has any of this.
 */
#if GANTRY_PROBES
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "probe.h"

#define PROBE_BUCKETS 100000 /* 10 ns each: 0 .. 1 ms */

struct tick_probe {
	uint64_t hist[PROBE_BUCKETS]; /* window lengths */
	int64_t t0;		      /* when decoding of the current message started */
	int64_t window_ns;	      /* the orders' windows, summed */
	/* the machine's own interruptions, seen in the same run: messages that
	 * only passed the filter (idle), their time and how many took 2 us+ */
	int prev_idle; /* the message that started at t0 was idle */
	int64_t idle_ns;
	uint64_t idle_slow;
	const char *path;
	/* GANTRY_PROBE_TRACE: where each slow window went */
	FILE *trace;
	int64_t at[PROBE_STAGES];
	long msg, order;
};

struct tick_probe *probe_state;

int probe_open(char *err, size_t errlen)
{
	const char *path = getenv("GANTRY_PROBE"), *trace = getenv("GANTRY_PROBE_TRACE");
	if (!path || !*path)
		return 0;
	struct tick_probe *pr = calloc(1, sizeof *pr);
	if (!pr)
		return errf(err, errlen, "out of memory"), -1;
	pr->path = path;
	if (trace && *trace) {
		if (!(pr->trace = fopen(trace, "w"))) {
			errf(err, errlen, "GANTRY_PROBE_TRACE=%s: %s", trace, strerror(errno));
			free(pr);
			return -1;
		}
		fputs("# order message total_ns, then ns in: decode venue books host strategy order; "
		      "then the start (CLOCK_MONOTONIC ns)\n",
		      pr->trace);
	}
	probe_state = pr;
	return 0;
}

void probe_message(void)
{
	struct tick_probe *pr = probe_state;
	int64_t t = clock_mono_ns();
	if (pr->prev_idle) { /* the message before only passed the filter */
		pr->idle_ns += t - pr->t0;
		pr->idle_slow += t - pr->t0 >= 2000;
	}
	pr->t0 = t;
	pr->prev_idle = 0;
}

void probe_idle(void)
{
	probe_state->prev_idle = 1;
}

void probe_mark(int stage)
{
	struct tick_probe *pr = probe_state;
	if (!pr->trace)
		return;
	pr->at[stage] = clock_mono_ns();
	if (stage == PROBE_BOOKED)
		pr->msg++;
}

void probe_order(void)
{
	struct tick_probe *pr = probe_state;
	int64_t now = clock_mono_ns(), d = (now - pr->t0) / 10;
	pr->hist[d < 0 ? 0 : d >= PROBE_BUCKETS ? PROBE_BUCKETS - 1 : d]++;
	pr->window_ns += now - pr->t0;
	if (pr->trace && d >= 200) { /* 2 us or more: where it went */
		int64_t prev = pr->t0;
		fprintf(pr->trace, "%ld %ld %lld", pr->order, pr->msg, (long long)(now - prev));
		for (int k = 0; k < PROBE_STAGES; k++) {
			fprintf(pr->trace, " %lld", (long long)(pr->at[k] - prev));
			prev = pr->at[k];
		}
		/* the window's start, CLOCK_MONOTONIC: lines up with perf record -k mono */
		fprintf(pr->trace, " %lld %lld\n", (long long)(now - prev), (long long)pr->t0);
	}
	pr->order++;
}

/* The tick-to-order histogram's percentiles, one line. */
void probe_close(void)
{
	struct tick_probe *pr = probe_state;
	if (!pr)
		return;
	probe_state = NULL;
	uint64_t total = 0, seen = 0, over = 0;
	for (int i = 0; i < PROBE_BUCKETS; i++) {
		total += pr->hist[i];
		over += i >= 200 ? pr->hist[i] : 0; /* 2 us and more: the tail's target */
	}
	const double q[] = {0.5, 0.99, 0.999, 1.0};
	double v[4] = {0};
	int k = 0;
	for (int i = 0; i < PROBE_BUCKETS && k < 4; i++) {
		seen += pr->hist[i];
		while (k < 4 && total && (double)seen >= q[k] * (double)total)
			v[k++] = i * 10.0;
	}
	FILE *f = fopen(pr->path, "w");
	if (f) {
		/* as many of the orders' windows as the machine alone would
		 * interrupt, at the rate it interrupted the idle messages */
		double expect = pr->idle_ns > 0 ? (double)pr->idle_slow * (double)pr->window_ns /
							  (double)pr->idle_ns
						: 0;
		fprintf(f,
			"orders %llu  p50 %.0f ns  p99 %.0f ns  p99.9 %.0f ns  max %.0f ns  >=2us "
			"%llu%s  windows %.3f ms  idle %.3f ms, 2us+ %llu: expect %.1f\n",
			(unsigned long long)total, v[0], v[1], v[2], v[3], (unsigned long long)over,
			pr->hist[PROBE_BUCKETS - 1] ? " (max clipped at 1 ms)" : "",
			(double)pr->window_ns / 1e6, (double)pr->idle_ns / 1e6,
			(unsigned long long)pr->idle_slow, expect);
		fclose(f);
	}
	if (pr->trace)
		fclose(pr->trace);
	free(pr);
}
#else
/* ISO C wants a translation unit to declare something. */
typedef int probe_unused;
#endif
