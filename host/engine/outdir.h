/*
 * outdir — the directory a run writes into (--out): a default name that
 * never collides, a lock that keeps a second host out, and what an earlier
 * run left there (a run refuses it unless told --resume or --overwrite).
 *
 * The lock is flock(2) on DIR/.lock, which holds the owner's pid: the kernel
 * drops it when the process dies, however it dies, so a crash never leaves a
 * directory locked; a clean exit removes the file.
 */
#ifndef GANTRY_OUTDIR_H
#define GANTRY_OUTDIR_H

#include <stddef.h>

/* Creates BASE, or BASE-2, BASE-3, ... when the name is taken (mkdir is the
 * test: two runs in the same second never share one); the parents as
 * needed. The name made in out. 0, or -1 with err. */
int outdir_make_unique(const char *base, char *out, size_t len, char *err, size_t errlen);

/* Locks dir for this process: a descriptor to pass to outdir_unlock, or -1
 * with err (another process holds it: err names its pid). */
int outdir_lock(const char *dir, char *err, size_t errlen);
void outdir_unlock(const char *dir, int fd);

/* The files of a run already in dir, as "fills.csv, orders.csv" in list
 * ("" when none); returns how many. */
int outdir_earlier_run(const char *dir, char *list, size_t len);
/* --overwrite: removes them, so no file of the earlier run outlives it
 * (a report this run does not write, say). 0, or -1 with err. */
int outdir_clear(const char *dir, char *err, size_t errlen);

#endif
