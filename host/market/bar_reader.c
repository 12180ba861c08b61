#include "bar_reader.h"

#include <string.h>

#include "log.h"

#define BATCH 4096

static void *read_ahead(void *arg)
{
	struct bar_reader *r = arg;
	for (;;) {
		struct bar *b = pipe_write_begin(&r->pipe);
		if (!b)
			break;
		size_t n = 0;
		int rc = 1;
		while (n < BATCH && (rc = bars_feed_next(r->feed, &b[n], r->err, sizeof r->err)) > 0)
			n++;
		if (n > 0)
			pipe_write_commit(&r->pipe, n);
		if (rc <= 0) {
			r->status = rc;
			break;
		}
	}
	pipe_close(&r->pipe);
	return NULL;
}

int bar_reader_start(struct bar_reader *r, struct bars_feed *feed)
{
	memset(r, 0, sizeof *r);
	r->feed = feed;
	int safe = 1;
	for (int i = 0; i < feed->n; i++)
		safe &= feed->files[i].col[6] < 0;
	if (!safe || pipe_init(&r->pipe, sizeof(struct bar), BATCH) != 0)
		return 0;
	if (pthread_create(&r->thread, NULL, read_ahead, r) != 0) {
		pipe_destroy(&r->pipe);
		return 0;
	}
	r->threaded = r->started = 1;
	log_msg(LOG_DEBUG, "bars", "decoding on a reader thread");
	return 0;
}

int bar_reader_next(struct bar_reader *r, struct bar *out, char *err, size_t errlen)
{
	if (!r->threaded)
		return bars_feed_next(r->feed, out, err, errlen);
	if (r->i == r->n) {
		if (r->batch)
			pipe_read_done(&r->pipe);
		r->batch = pipe_read_begin(&r->pipe, &r->n);
		r->i = 0;
		if (!r->batch) {
			r->n = 0;
			if (r->status < 0)
				errf(err, errlen, "%s", r->err);
			return r->status < 0 ? -1 : 0;
		}
	}
	*out = r->batch[r->i++];
	return 1;
}

void bar_reader_stop(struct bar_reader *r)
{
	if (!r->started)
		return;
	pipe_cancel(&r->pipe);
	pthread_join(r->thread, NULL);
	pipe_destroy(&r->pipe);
	r->started = 0;
}
