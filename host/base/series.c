#include "series.h"

#include <stdlib.h>

int series_push(struct series *s, int64_t t, double v)
{
	if (!s->t) {
		s->t = malloc(SERIES_CAP * sizeof *s->t);
		s->v = malloc(SERIES_CAP * sizeof *s->v);
		if (!s->t || !s->v) {
			series_free(s);
			return -1;
		}
		s->stride = 1;
	}
	uint64_t i = s->count++;
	s->last_t = t;
	s->last_v = v;
	s->last_kept = 0;
	if (i % s->stride != 0)
		return 0;
	if (s->n == SERIES_CAP) {
		for (size_t k = 0; k < SERIES_CAP / 2; k++) {
			s->t[k] = s->t[2 * k];
			s->v[k] = s->v[2 * k];
		}
		s->n = SERIES_CAP / 2;
		s->stride *= 2;
		if (i % s->stride != 0)
			return 0;
	}
	s->t[s->n] = t;
	s->v[s->n++] = v;
	s->last_kept = 1;
	return 0;
}

size_t series_points(const struct series *s, int64_t *t, double *v)
{
	size_t n = s->n;
	for (size_t k = 0; k < n; k++) {
		t[k] = s->t[k];
		v[k] = s->v[k];
	}
	if (s->count > 0 && !s->last_kept) {
		t[n] = s->last_t;
		v[n++] = s->last_v;
	}
	return n;
}

void series_free(struct series *s)
{
	free(s->t);
	free(s->v);
	s->t = NULL;
	s->v = NULL;
	s->n = 0;
}
