/*
 * bar_reader — bars from a bars_feed, decoded on another thread when that
 * is safe (every file names its symbol up front, so the reader never adds to
 * the symbol table the strategies read), else in line. Errors arrive in
 * order, after every bar before them.
 */
#ifndef GANTRY_BAR_READER_H
#define GANTRY_BAR_READER_H

#include <pthread.h>

#include "bars.h"
#include "pipe.h"

struct bar_reader {
	struct bars_feed *feed;
	int threaded, started;
	struct pipe pipe;
	pthread_t thread;
	int status; /* the reader's last bars_feed_next result */
	char err[2048];
	struct bar *batch;
	size_t n, i;
};

int bar_reader_start(struct bar_reader *r, struct bars_feed *feed);
/* As bars_feed_next: 1 a bar, 0 the end, -1 an error in err. */
int bar_reader_next(struct bar_reader *r, struct bar *out, char *err, size_t errlen);
void bar_reader_stop(struct bar_reader *r);

#endif
