/*
 * histo — see histo.h. The quantile is the bucket's upper bound: it never
 * under-reports, which is what a latency alert wants.
 */
#include "histo.h"

#include <math.h>

const int64_t histo_bounds_ns[HISTO_BUCKETS] = {
	1000,	 2500,	  5000,	   10000,    25000,    50000,	 100000,   250000,
	500000,	 1000000, 2500000, 5000000,  10000000, 25000000, 50000000, 100000000,
};

void histo_merge(struct histo *into, const struct histo *h)
{
	for (int i = 0; i <= HISTO_BUCKETS; i++)
		into->count[i] += h->count[i];
	into->n += h->n;
	into->sum_ns += h->sum_ns;
}

void histo_diff(const struct histo *now, const struct histo *then, struct histo *out)
{
	for (int i = 0; i <= HISTO_BUCKETS; i++)
		out->count[i] = now->count[i] - then->count[i];
	out->n = now->n - then->n;
	out->sum_ns = now->sum_ns - then->sum_ns;
}

double histo_quantile(const struct histo *h, double q)
{
	if (h->n == 0 || !(q > 0))
		return 0;
	double need = q * (double)h->n;
	uint64_t seen = 0;
	for (int i = 0; i < HISTO_BUCKETS; i++) {
		seen += h->count[i];
		if ((double)seen >= need)
			return (double)histo_bounds_ns[i] / 1e9;
	}
	return INFINITY;
}
