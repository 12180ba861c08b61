/*
 * output — the files a run leaves in its out directory (summary.json,
 * orders.csv, report.html; fills.csv and equity.csv are streamed by the
 * engine) and the summary printed at the end.
 */
#ifndef GANTRY_OUTPUT_H
#define GANTRY_OUTPUT_H

#include <stdio.h>

#include "engine.h"
#include "metrics.h"

struct run_summary {
	char strategy[256];
	long events, fills, round_trips, wins, orders, rejects;
	struct metrics m;
	double win_rate;
	double elapsed_s, events_per_s;
};

/* mkdir -p; 0 or -1 with err. */
int output_mkdirs(const char *dir, char *err, size_t errlen);
/* DIR/NAME opened for writing, or NULL with `PATH: cannot write: why` in err. */
FILE *output_create(const char *dir, const char *name, char *err, size_t errlen);
void output_summarize(struct engine *e, double elapsed_s, struct run_summary *out);
int output_summary_json(const char *dir, const struct run_summary *s, char *err, size_t errlen);
int output_orders_csv(const char *dir, struct engine *e, char *err, size_t errlen);
void output_print(FILE *f, const struct run_summary *s, const char *dir);
/* Renders report.html with stdlib/gantry/report.lua in a trusted state. */
int output_report(const char *dir, struct engine *e, const struct run_summary *s, char *err,
		  size_t errlen);

#endif
