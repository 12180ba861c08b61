/*
 * series — a bounded sample of a (time, value) stream for charts: at most
 * SERIES_CAP points, evenly strided over everything pushed. When full it
 * keeps every other point and doubles its stride, so memory is fixed
 * whatever the length of the run; the last point pushed is always kept.
 */
#ifndef GANTRY_SERIES_H
#define GANTRY_SERIES_H

#include <stddef.h>
#include <stdint.h>

#define SERIES_CAP 4096

struct series {
	int64_t *t;
	double *v;
	size_t n;
	uint64_t stride, count;
	int64_t last_t;
	double last_v;
	int last_kept; /* the last point pushed is the sample's last */
};

int series_push(struct series *s, int64_t t, double v);
/* Copies the sample plus the last point into t/v (SERIES_CAP + 1 each); returns the count. */
size_t series_points(const struct series *s, int64_t *t, double *v);
void series_free(struct series *s);

#endif
