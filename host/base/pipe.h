/*
 * pipe — a single-producer single-consumer hand-off of fixed-size batches
 * between two threads: the bar reader runs ahead of the strategies on the
 * other core, and the equity writer formats behind them.
 *
 * A lock is taken once per batch (thousands of items), never per item. The
 * producer fills a batch in place and commits it; the consumer reads it in
 * place and releases it. Order is preserved, so output is deterministic.
 */
#ifndef GANTRY_PIPE_H
#define GANTRY_PIPE_H

#include <pthread.h>
#include <stddef.h>

#define PIPE_SLOTS 8

struct pipe {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *mem;
	size_t item_size, batch;
	size_t count[PIPE_SLOTS];
	int head, tail, full; /* head: next to read, tail: next to write, full: committed slots */
	int closed, cancelled;
};

int pipe_init(struct pipe *p, size_t item_size, size_t batch);
void pipe_destroy(struct pipe *p);

/* Producer: a batch to fill (batch items), or NULL when the consumer cancelled. */
void *pipe_write_begin(struct pipe *p);
void pipe_write_commit(struct pipe *p, size_t count);
void pipe_close(struct pipe *p);

/* Consumer: the next batch and its count, or NULL at the end. */
void *pipe_read_begin(struct pipe *p, size_t *count);
void pipe_read_done(struct pipe *p);
/* Consumer gives up: the producer's next write_begin returns NULL. */
void pipe_cancel(struct pipe *p);

#endif
