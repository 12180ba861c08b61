/*
 * bars — CSV bars: one reader per file (mmap, no allocation per row) and a
 * merge of several readers by time.
 *
 * A file has a header naming at least datetime,open,high,low,close,volume
 * (any order, case-insensitive, `date`, `time`, `timestamp` or `open_time`
 * accepted for `datetime`, unknown columns ignored) and optionally `symbol`
 * and an adjusted close (`adj_close`, `Adj Close`, `adjclose`); options name
 * other columns (--columns) or give the names of a file without a header
 * line (--header). Without a symbol column every row belongs to the default
 * symbol (--symbol, else the file's base name). Rows must be in time order:
 * within one symbol strictly increasing, across the file never going back.
 * Every malformed row is an error `FILE:LINE: what is wrong`; leniently, a
 * row with a missing value (empty, null, NaN, NA, N/A) is skipped and
 * counted instead, and nothing else is.
 */
#ifndef GANTRY_BARS_H
#define GANTRY_BARS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "symtab.h"
#include "timefmt.h"

struct tz;

struct bar {
	int64_t time; /* ns since the epoch, UTC */
	double open, high, low, close, volume;
	int sym; /* symtab id */
};

#define BARS_MAX_COLS 32

/* What a row holds, the index into a file's col[]. */
enum bars_field {
	BARS_TIME,
	BARS_OPEN,
	BARS_HIGH,
	BARS_LOW,
	BARS_CLOSE,
	BARS_VOLUME,
	BARS_SYMBOL,
	BARS_ADJ_CLOSE,
	BARS_NFIELDS
};

/* The fields' names, as --columns spells them ("datetime", ..., "adj_close"),
 * then NULL. */
extern const char *const bars_field_names[BARS_NFIELDS + 1];

/* How to read the files; zero is the default (names by the usual words,
 * a header line in every file, times in any form, UTC). */
struct bars_options {
	const char *symbol; /* of a file without a symbol column; NULL: its base name */
	/* the header name of a field (not terminated: len bytes), NULL: its usual
	 * names; set by bars_columns, borrowed */
	const char *name[BARS_NFIELDS];
	size_t namelen[BARS_NFIELDS];
	/* the column names of a file whose first line is data, comma-separated
	 * (borrowed); NULL: such a file is an error saying how to name them */
	const char *header;
	enum time_form time_form;
	const struct tz *tz; /* wall-clock times (no Z, no offset) are in this zone; NULL: UTC */
	int adjust;	     /* OHLC times adj_close / close, volume divided by it */
	int lenient;	     /* rows with a missing value: skipped and counted */
	/* gantry data check: values as they are (a missing price or volume reads
	 * NaN; no rule on prices, OHLC or time order is applied: datacheck.h
	 * reports them); only a row that cannot be read at all is an error */
	int raw;
};

/* Adds `FIELD=NAME[,FIELD=NAME...]` to o (a field named again: the later
 * name wins); the names point into spec, which must outlive o. 0, or -1 with
 * `'FIELD=NAME': what is wrong` in err. */
int bars_columns(struct bars_options *o, const char *spec, char *err, size_t errlen);

struct bars_file {
	const char *path; /* borrowed */
	const char *data; /* mmap'd file */
	size_t size, pos;
	int line;
	int ncols;
	int col[BARS_NFIELDS]; /* the column of each field; -1 absent */
	int default_sym;
	struct symtab *symtab; /* borrowed */
	struct bars_options opt;
	int64_t last_time;
	int64_t *last_by_sym; /* per symbol id, for the strictly-increasing rule */
	int nlast;
	long rows;
	long skipped;	    /* rows skipped for a missing value (opt.lenient) */
	atomic_long *total; /* the run's count of them, when in a bars_feed; NULL: alone */
};

/* Opens and reads the header. Returns 0, or -1 with err set. */
int bars_open(struct bars_file *bf, const char *path, struct symtab *st,
	      const struct bars_options *opt, char *err, size_t errlen);
/* 1 and *out on a row, 0 at the end (an error if the file had no rows), -1 and err. */
int bars_next(struct bars_file *bf, struct bar *out, char *err, size_t errlen);
void bars_close(struct bars_file *bf);

/* Merges several files by time; ties go to the file given first. opt->symbol
 * applies only when there is one file. */
struct bars_feed {
	struct bars_file *files;
	struct bar *head;
	int *live;
	int n;
	atomic_long skipped; /* rows skipped in every file; read from any thread */
	int ended;
};

int bars_feed_open(struct bars_feed *f, const char *const *paths, int n, struct symtab *st,
		   const struct bars_options *opt, char *err, size_t errlen);
int bars_feed_next(struct bars_feed *f, struct bar *out, char *err, size_t errlen);
void bars_feed_close(struct bars_feed *f);

/* Exposed for tests: parses a decimal number (optional sign, fraction, exponent)
 * from s[0..len). Returns 0 and *out, or -1. */
int bars_parse_number(const char *s, size_t len, double *out);

#endif
