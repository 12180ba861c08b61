/*
 * equity_log — the equity stream of a run: equity.csv rows, the performance
 * metrics and the chart sample, computed on a writer thread behind the run
 * when there is a file to write (in line without one, or when no thread can
 * be had). Rows are kept in order.
 */
#ifndef GANTRY_EQUITY_LOG_H
#define GANTRY_EQUITY_LOG_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include "metrics.h"
#include "pipe.h"
#include "series.h"

struct equity_row {
	int64_t t;
	double equity, cash;
	int held; /* a position is held at t (the exposure metric) */
};

struct equity_log {
	FILE *csv; /* owned; may be NULL */
	struct metrics_acc perf;
	struct series chart;
	int threaded, started;
	struct pipe pipe;
	pthread_t thread;
	struct equity_row *batch;
	size_t n;
	long rows;
};

/* Takes ownership of csv (may be NULL), its header written. */
void equity_log_start(struct equity_log *l, FILE *csv, double start_equity);
void equity_log_push(struct equity_log *l, int64_t t, double equity, double cash, int held);
/* Hands the rows pushed so far to the writer thread now, not when a batch
 * is full (a running host: rows reach a line-buffered csv as formatted). */
void equity_log_flush(struct equity_log *l);
/* Drains and joins; metrics and chart are then complete. Returns -1 on a write error. */
int equity_log_finish(struct equity_log *l);
void equity_log_free(struct equity_log *l);

#endif
