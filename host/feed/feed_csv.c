/*
 * feed_csv — CSV bars as a feed: the files merged by time (bars.h), decoded
 * ahead on a reader thread when that is safe (bar_reader.h). Every bar is
 * an event; equity is sampled at every distinct event time. The count of
 * skipped rows is atomic: the summary reads it while the reader thread may
 * still be running (a run that stopped early).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bar_reader.h"
#include "feed.h"

struct feed_csv {
	struct feed base;
	struct bars_feed files;
	struct bar_reader rd;
	int started;
	long bars;
};

static int csv_symbols(struct feed *f, int *syms, int max)
{
	struct feed_csv *c = (struct feed_csv *)f;
	int n = 0;
	for (int i = 0; i < c->files.n; i++) {
		const struct bars_file *bf = &c->files.files[i];
		if (bf->col[BARS_SYMBOL] >= 0)
			return -1; /* a symbol column: not known before reading */
		if (n < max)
			syms[n++] = bf->default_sym;
	}
	return n;
}

static int csv_start(struct feed *f, const struct feed_sink *sink, char *err, size_t errlen)
{
	(void)sink;
	(void)err;
	(void)errlen;
	struct feed_csv *c = (struct feed_csv *)f;
	c->started = 1;
	return bar_reader_start(&c->rd, &c->files);
}

static int csv_next(struct feed *f, struct feed_event *ev, char *err, size_t errlen)
{
	struct feed_csv *c = (struct feed_csv *)f;
	int r = bar_reader_next(&c->rd, &ev->bar, err, errlen);
	if (r <= 0)
		return r;
	ev->kind = FEED_BAR;
	ev->time = ev->bar.time;
	ev->sym = ev->bar.sym;
	c->bars++;
	return 1;
}

static long csv_messages(const struct feed *f)
{
	return ((const struct feed_csv *)f)->bars;
}

static void csv_close(struct feed *f)
{
	struct feed_csv *c = (struct feed_csv *)f;
	if (c->started)
		bar_reader_stop(&c->rd);
	bars_feed_close(&c->files);
	free(c);
}

static const struct feed_ops csv_ops = {
	.name = "csv",
	.live = 0,
	.equity_every_ns = 0,
	.symbols = csv_symbols,
	.start = csv_start,
	.next = csv_next,
	.messages = csv_messages,
	.close = csv_close,
};

long feed_csv_skipped(const struct feed *f)
{
	if (f->ops != &csv_ops)
		return -1;
	return atomic_load(&((const struct feed_csv *)f)->files.skipped);
}

struct feed *feed_csv_open(const char *const *paths, int n, struct symtab *st,
			   const struct bars_options *opt, char *err, size_t errlen)
{
	struct feed_csv *c = calloc(1, sizeof *c);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (bars_feed_open(&c->files, paths, n, st, opt, err, errlen) != 0) {
		free(c);
		return NULL;
	}
	c->base.ops = &csv_ops;
	c->base.path = n > 0 ? paths[0] : "";
	return &c->base;
}
