/*
 * output — the files a run leaves in its out directory (summary.json,
 * orders.csv, report.html; fills.csv and equity.csv, and a running host's
 * orders.csv, are streamed by the engine) and the summary printed at the end.
 */
#ifndef GANTRY_OUTPUT_H
#define GANTRY_OUTPUT_H

#include <stdio.h>

#include "engine.h"
#include "metrics.h"

#define DATACHECK_KINDS 9 /* datacheck.h DC__COUNT, checked in output.c */

struct run_summary {
	char strategy[256];
	long events, fills, round_trips, wins, orders, rejects;
	long oco_pairs, bracket_ambiguous; /* summary.json has the count when a pair existed */
	struct metrics m;
	double win_rate;
	long losses;
	struct metrics_trade_stats trade; /* profit factor, expectancy, average win and loss */
	double benchmark_return; /* buy and hold of the charted symbols, equal weights; NAN: none */
	long data_checks[DATACHECK_KINDS]; /* findings by kind (datacheck.h); < 0: no checks ran */
	double elapsed_s, events_per_s;
	long skipped_rows; /* CSV rows skipped by --lenient; < 0: not lenient, not written */
	/* a run a strategy's failure ended (exit 1): status "failed", not "ok" */
	int failed;
	char error[2048];  /* engine_failure */
	int64_t failed_at; /* its event time; INT64_MIN: before the first event */
};

/* mkdir -p; 0 or -1 with err. */
int output_mkdirs(const char *dir, char *err, size_t errlen);
/* DIR/NAME opened for writing, or NULL with `PATH: cannot write: why` in err. */
FILE *output_create(const char *dir, const char *name, char *err, size_t errlen);
/* A CSV file of rows written as a run goes: new with its header, or with
 * resume an existing one of ours appended to (a header that differs is an
 * error; a half-written last row is cut). buffer: its stdio buffer, 0 for a
 * line-buffered file (each row reaches the file as it ends). The offset
 * where this run's rows begin in *start (may be NULL). NULL with err. */
FILE *output_open_csv(const char *dir, const char *name, const char *header, int resume,
		      size_t buffer, long *start, char *err, size_t errlen);
/* orders.csv: its header, and one order's row as the order is now. */
extern const char output_orders_header[];
void output_order_row(FILE *f, struct engine *e, const struct order *o);
void output_summarize(struct engine *e, double elapsed_s, struct run_summary *out);
int output_summary_json(const char *dir, const struct run_summary *s, char *err, size_t errlen);
/* summary.json's text, the same bytes, to f (a sweep's worker: to memory). */
void output_summary_write(FILE *f, const struct run_summary *s);
/* orders.csv at the end: one row per order (a running host that streamed
 * a row per change compacts its rows to that). */
int output_orders_csv(const char *dir, struct engine *e, char *err, size_t errlen);
void output_print(FILE *f, const struct run_summary *s, const char *dir);
/* Renders report.html with stdlib/gantry/report.lua in a trusted state. */
int output_report(const char *dir, struct engine *e, const struct run_summary *s, char *err,
		  size_t errlen);

#endif
