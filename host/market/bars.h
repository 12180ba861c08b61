/*
 * bars — CSV bars: one reader per file (mmap, no allocation per row) and a
 * merge of several readers by time.
 *
 * A file has a header naming at least datetime,open,high,low,close,volume
 * (any order, case-insensitive, `date` accepted for `datetime`, unknown
 * columns ignored) and optionally `symbol`; else every row belongs to the
 * default symbol (--symbol, else the file's base name). Rows must be in time
 * order: within one symbol strictly increasing, across the file never going
 * back. Every malformed row is an error `FILE:LINE: what is wrong`.
 */
#ifndef GANTRY_BARS_H
#define GANTRY_BARS_H

#include <stddef.h>
#include <stdint.h>

#include "symtab.h"

struct bar {
	int64_t time; /* ns since the epoch, UTC */
	double open, high, low, close, volume;
	int sym; /* symtab id */
};

#define BARS_MAX_COLS 32

struct bars_file {
	const char *path; /* borrowed */
	const char *data; /* mmap'd file */
	size_t size, pos;
	int line;
	int ncols;
	int col[7]; /* column index of datetime,open,high,low,close,volume,symbol; -1 absent */
	int default_sym;
	struct symtab *symtab; /* borrowed */
	int64_t last_time;
	int64_t *last_by_sym; /* per symbol id, for the strictly-increasing rule */
	int nlast;
	long rows;
};

/* Opens and reads the header. Returns 0, or -1 with err set. */
int bars_open(struct bars_file *bf, const char *path, struct symtab *st,
	      const char *default_symbol, char *err, size_t errlen);
/* 1 and *out on a row, 0 at the end (an error if the file had no rows), -1 and err. */
int bars_next(struct bars_file *bf, struct bar *out, char *err, size_t errlen);
void bars_close(struct bars_file *bf);

/* Merges several files by time; ties go to the file given first. */
struct bars_feed {
	struct bars_file *files;
	struct bar *head;
	int *live;
	int n;
};

int bars_feed_open(struct bars_feed *f, const char *const *paths, int n, struct symtab *st,
		   const char *default_symbol, char *err, size_t errlen);
int bars_feed_next(struct bars_feed *f, struct bar *out, char *err, size_t errlen);
void bars_feed_close(struct bars_feed *f);

/* Exposed for tests: parses a decimal number (optional sign, fraction, exponent)
 * from s[0..len). Returns 0 and *out, or -1. */
int bars_parse_number(const char *s, size_t len, double *out);

#endif
