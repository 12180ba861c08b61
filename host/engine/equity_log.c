/*
 * equity_log — see equity_log.h. Rows reach the writer thread a batch at a
 * time, or sooner at equity_log_flush (a running host's, once a second).
 */
#include "equity_log.h"

#include <math.h>
#include <string.h>

#include "numfmt.h"
#include "timefmt.h"

#define BATCH 4096

static void consume(struct equity_log *l, const struct equity_row *rows, size_t n)
{
	char buf[BATCH * 96 + 256], *p = buf;
	for (size_t i = 0; i < n; i++) {
		const struct equity_row *r = &rows[i];
		metrics_add_held(&l->perf, r->t, r->equity, r->held);
		series_push(&l->chart, r->t, r->equity);
		if (!l->csv)
			continue;
		p += time_format_iso(r->t, p);
		*p++ = ',';
		p = numfmt(p, r->equity, 4);
		*p++ = ',';
		p = numfmt(p, r->cash, 4);
		*p++ = ',';
		p = numfmt(p, r->equity - r->cash, 4);
		*p++ = '\n';
	}
	if (l->csv && p > buf)
		fwrite(buf, 1, (size_t)(p - buf), l->csv); // cppcheck-suppress uninitvar
}

static void *write_behind(void *arg)
{
	struct equity_log *l = arg;
	size_t n;
	struct equity_row *rows;
	while ((rows = pipe_read_begin(&l->pipe, &n))) {
		consume(l, rows, n);
		pipe_read_done(&l->pipe);
	}
	return NULL;
}

void equity_log_start(struct equity_log *l, FILE *csv, double start_equity)
{
	memset(l, 0, sizeof *l);
	l->csv = csv;
	metrics_init(&l->perf, start_equity);
	l->started = 1;
	/* no file: only the metrics and the chart, cheaper inline than a thread
	 * started and joined (a sweep's worker runs a backtest per millisecond) */
	if (!csv)
		return;
	if (pipe_init(&l->pipe, sizeof(struct equity_row), BATCH) != 0)
		return;
	if (pthread_create(&l->thread, NULL, write_behind, l) != 0) {
		pipe_destroy(&l->pipe);
		return;
	}
	l->threaded = 1;
}

static void flush_batch(struct equity_log *l)
{
	if (l->batch && l->n > 0)
		pipe_write_commit(&l->pipe, l->n);
	l->batch = NULL;
	l->n = 0;
}

void equity_log_push(struct equity_log *l, int64_t t, double equity, double cash, int held)
{
	struct equity_row row = {t, equity, cash, held};
	l->rows++;
	if (!l->threaded) {
		consume(l, &row, 1);
		return;
	}
	if (!l->batch && !(l->batch = pipe_write_begin(&l->pipe))) {
		consume(l, &row, 1); /* cannot happen: nobody cancels this pipe */
		return;
	}
	l->batch[l->n++] = row;
	if (l->n == BATCH)
		flush_batch(l);
}

void equity_log_flush(struct equity_log *l)
{
	if (l->threaded)
		flush_batch(l);
}

int equity_log_finish(struct equity_log *l)
{
	if (!l->started)
		return 0;
	if (l->threaded) {
		flush_batch(l);
		pipe_close(&l->pipe);
		pthread_join(l->thread, NULL);
		pipe_destroy(&l->pipe);
		l->threaded = 0;
	}
	int rc = 0;
	if (l->csv) {
		rc = (fflush(l->csv) != 0 || ferror(l->csv)) ? -1 : 0;
		if (fclose(l->csv) != 0)
			rc = -1;
		l->csv = NULL;
	}
	l->started = 0;
	return rc;
}

void equity_log_free(struct equity_log *l)
{
	equity_log_finish(l);
	metrics_free(&l->perf);
	series_free(&l->chart);
}
