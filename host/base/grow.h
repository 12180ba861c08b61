/*
 * grow — the one way the host grows an array: double the capacity (from
 * `min`) until `need` elements fit, zero the new ones. Used off the hot
 * path or amortised (per new symbol, per 2^k orders).
 */
#ifndef GANTRY_GROW_H
#define GANTRY_GROW_H

#include <stdlib.h>
#include <string.h>

/* The array, moved or not, with *cap >= need; NULL when memory ran out (the
 * old array and *cap are then untouched and still valid). */
static inline void *grow_array(void *p, int *cap, int need, size_t elem, int min)
{
	if (need <= *cap)
		return p;
	int n = *cap > 0 ? *cap : min;
	while (n < need)
		n *= 2;
	char *q = realloc(p, (size_t)n * elem);
	if (!q)
		return NULL;
	memset(q + (size_t)*cap * elem, 0, (size_t)(n - *cap) * elem);
	*cap = n;
	return q;
}

#endif
