/*
 * symtab — interned instrument symbols: a name <-> a small dense id.
 *
 * Ids are 0..symtab_count()-1 in order of first sight, so every per-symbol
 * table in the host is a flat array indexed by id. Names are at most
 * SYMTAB_NAME_MAX bytes (ITCH stocks are 8).
 */
#ifndef GANTRY_SYMTAB_H
#define GANTRY_SYMTAB_H

#include <stddef.h>

#define SYMTAB_MAX 65536
#define SYMTAB_NAME_MAX 31

struct symtab;

struct symtab *symtab_new(void);
void symtab_free(struct symtab *st);
/* The id of name (len bytes), added when new; -1 when the table is full or the name is bad. */
int symtab_intern(struct symtab *st, const char *name, size_t len);
/* The id of name, or -1. */
int symtab_find(const struct symtab *st, const char *name, size_t len);
const char *symtab_name(const struct symtab *st, int id);
int symtab_count(const struct symtab *st);

#endif
