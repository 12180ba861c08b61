#include "pipe.h"

#include <stdlib.h>
#include <string.h>

int pipe_init(struct pipe *p, size_t item_size, size_t batch)
{
	memset(p, 0, sizeof *p);
	p->item_size = item_size;
	p->batch = batch;
	p->mem = malloc(item_size * batch * PIPE_SLOTS);
	if (!p->mem)
		return -1;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	return 0;
}

void pipe_destroy(struct pipe *p)
{
	if (!p->mem)
		return;
	free(p->mem);
	p->mem = NULL;
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
}

static void *slot(struct pipe *p, int i)
{
	return p->mem + (size_t)i * p->item_size * p->batch;
}

void *pipe_write_begin(struct pipe *p)
{
	pthread_mutex_lock(&p->mu);
	while (p->full == PIPE_SLOTS && !p->cancelled)
		pthread_cond_wait(&p->cv, &p->mu);
	void *s = p->cancelled ? NULL : slot(p, p->tail);
	pthread_mutex_unlock(&p->mu);
	return s;
}

void pipe_write_commit(struct pipe *p, size_t count)
{
	pthread_mutex_lock(&p->mu);
	p->count[p->tail] = count;
	p->tail = (p->tail + 1) % PIPE_SLOTS;
	p->full++;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

void pipe_close(struct pipe *p)
{
	pthread_mutex_lock(&p->mu);
	p->closed = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

void *pipe_read_begin(struct pipe *p, size_t *count)
{
	pthread_mutex_lock(&p->mu);
	while (p->full == 0 && !p->closed)
		pthread_cond_wait(&p->cv, &p->mu);
	void *s = NULL;
	if (p->full > 0) {
		s = slot(p, p->head);
		*count = p->count[p->head];
	}
	pthread_mutex_unlock(&p->mu);
	return s;
}

void pipe_read_done(struct pipe *p)
{
	pthread_mutex_lock(&p->mu);
	p->head = (p->head + 1) % PIPE_SLOTS;
	p->full--;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

void pipe_cancel(struct pipe *p)
{
	pthread_mutex_lock(&p->mu);
	p->cancelled = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}
