/*
 * histo — a latency histogram with fixed buckets from 1 us to 100 ms (1,
 * 2.5, 5 per decade), updated in place on the hot path by plain increments
 * and read when scraped. Counts are per bucket (not cumulative) so an add is
 * one compare loop and three increments; the exposition sums them.
 */
#ifndef GANTRY_HISTO_H
#define GANTRY_HISTO_H

#include <stdint.h>

#define HISTO_BUCKETS 16 /* finite upper bounds; one more bucket for +Inf */

extern const int64_t histo_bounds_ns[HISTO_BUCKETS];

struct histo {
	uint64_t count[HISTO_BUCKETS + 1];
	uint64_t n;
	int64_t sum_ns;
};

static inline void histo_add(struct histo *h, int64_t ns)
{
	int i = 0;
	while (i < HISTO_BUCKETS && ns > histo_bounds_ns[i])
		i++;
	h->count[i]++;
	h->n++;
	h->sum_ns += ns;
}

/* into += h */
void histo_merge(struct histo *into, const struct histo *h);
/* out = now - then (then an earlier copy of now: a window's counts) */
void histo_diff(const struct histo *now, const struct histo *then, struct histo *out);
/* The q-quantile (0 < q <= 1) as the upper bound of its bucket, in seconds;
 * 0 when empty; +Inf when it lies past 100 ms. */
double histo_quantile(const struct histo *h, double q);

#endif
