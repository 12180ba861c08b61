/*
 * vm_state — a strategy's ctx.state as bytes and back, for the journal's
 * snapshots (restored into a restarted host before on_start runs again).
 *
 * Plain data only, as a hot reload copies it: tables, strings, numbers
 * (integers stay integers), booleans. A table reached twice is written
 * twice (no sharing survives); tables nested deeper than 64 are refused.
 * The bytes are a tagged preorder walk (docs/journal.md); loading checks
 * every length against what is left, so damaged bytes give an error.
 */
#ifndef GANTRY_VM_STATE_H
#define GANTRY_VM_STATE_H

#include <stddef.h>

#include "journal_fmt.h"
#include "vm.h"

/* ctx.state into b (reset first). 0, or -1 with err (not plain data, the
 * state is gone). */
int vm_state_save(struct vm *vm, struct jbuf *b, char *err, size_t errlen);
/* Sets ctx.state from bytes. 0, or -1 with err (damaged, over the memory cap). */
int vm_state_load(struct vm *vm, const unsigned char *p, size_t n, char *err, size_t errlen);

#endif
