/*
 * symtab — open addressing over FNV-1a, power-of-two buckets, grown at 50 %.
 */
#include "symtab.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct symtab {
	char (*names)[SYMTAB_NAME_MAX + 1];
	int count, cap;
	int *buckets; /* id + 1, 0 = empty */
	int nbuckets;
};

static uint32_t hash_name(const char *s, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h;
}

struct symtab *symtab_new(void)
{
	struct symtab *st = calloc(1, sizeof *st);
	if (!st)
		return NULL;
	st->cap = 64;
	st->nbuckets = 256;
	st->names = calloc((size_t)st->cap, sizeof *st->names);
	st->buckets = calloc((size_t)st->nbuckets, sizeof *st->buckets);
	if (!st->names || !st->buckets) {
		symtab_free(st);
		return NULL;
	}
	return st;
}

void symtab_free(struct symtab *st)
{
	if (!st)
		return;
	free(st->names);
	free(st->buckets);
	free(st);
}

static int lookup(const struct symtab *st, const char *name, size_t len, uint32_t *slot)
{
	uint32_t mask = (uint32_t)st->nbuckets - 1, i = hash_name(name, len) & mask;
	*slot = i;
	for (;; i = (i + 1) & mask) {
		int b = st->buckets[i];
		if (b == 0) {
			*slot = i;
			return -1;
		}
		const char *n = st->names[b - 1];
		if (strncmp(n, name, len) == 0 && n[len] == '\0')
			return b - 1;
	}
}

int symtab_find(const struct symtab *st, const char *name, size_t len)
{
	uint32_t slot;
	if (len == 0 || len > SYMTAB_NAME_MAX)
		return -1;
	return lookup(st, name, len, &slot);
}

static int grow(struct symtab *st)
{
	if (st->count == st->cap) {
		int ncap = st->cap * 2;
		void *n = realloc(st->names, (size_t)ncap * sizeof *st->names);
		if (!n)
			return -1;
		st->names = n;
		st->cap = ncap;
	}
	if (st->count * 2 >= st->nbuckets) {
		int nb = st->nbuckets * 2;
		int *b = calloc((size_t)nb, sizeof *b);
		if (!b)
			return -1;
		free(st->buckets);
		st->buckets = b;
		st->nbuckets = nb;
		for (int id = 0; id < st->count; id++) {
			uint32_t slot;
			lookup(st, st->names[id], strlen(st->names[id]), &slot);
			st->buckets[slot] = id + 1;
		}
	}
	return 0;
}

int symtab_intern(struct symtab *st, const char *name, size_t len)
{
	uint32_t slot;
	if (len == 0 || len > SYMTAB_NAME_MAX || memchr(name, '\0', len))
		return -1;
	int id = lookup(st, name, len, &slot);
	if (id >= 0)
		return id;
	if (st->count >= SYMTAB_MAX || grow(st) != 0)
		return -1;
	lookup(st, name, len, &slot); /* buckets may have moved */
	id = st->count++;
	memcpy(st->names[id], name, len);
	st->names[id][len] = '\0';
	st->buckets[slot] = id + 1;
	return id;
}

const char *symtab_name(const struct symtab *st, int id)
{
	return (id >= 0 && id < st->count) ? st->names[id] : "?";
}

int symtab_count(const struct symtab *st)
{
	return st->count;
}
