/*
 * paper_venue — the paper loop's side of a remote venue (see paper_venue.h).
 */
#include "paper_venue.h"

#include <stdlib.h>

#include "clock.h"
#include "log.h"

int venue_wait_hold(const struct paper_venue *v, struct venue_wait *w)
{
	if (!v->busy(v->ud)) {
		w->waiting = w->gave_up = 0;
		return 0;
	}
	if (w->gave_up)
		return 0;
	double now = clock_mono_s();
	if (!w->waiting) {
		w->waiting = 1;
		w->since = now;
	}
	if (now - w->since > v->wait_s) {
		log_msg(LOG_WARN, "live", "no answer from the venue in %.1f s: the feed goes on",
			v->wait_s);
		w->waiting = 0;
		w->gave_up = 1;
		return 0;
	}
	return 1;
}

struct venue_close {
	const struct paper_venue *v;
	struct event_base *base;
	struct event *ev;
	int begun, fatal, logout_sent;
	double since;
};

static void on_close_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct venue_close *c = arg;
	const struct paper_venue *v = c->v;
	double t = clock_mono_s() - c->since;
	struct timeval again = {0, 20000}, flush = {0, 50000}; /* the last ctl answers go out */
	if (!c->logout_sent) {
		if (!c->fatal && v->up(v->ud) && v->busy(v->ud) && t < v->wait_s) {
			evtimer_add(c->ev, &again);
			return;
		}
		v->stop(v->ud);
		c->logout_sent = 1;
		c->since = clock_mono_s();
		t = 0;
	}
	if (!v->closed(v->ud) && t < 3.0) {
		evtimer_add(c->ev, &again);
		return;
	}
	event_base_loopexit(c->base, &flush);
}

struct venue_close *venue_close_new(struct event_base *base, const struct paper_venue *v)
{
	struct venue_close *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->v = v;
	c->base = base;
	if (!(c->ev = evtimer_new(base, on_close_tick, c))) {
		free(c);
		return NULL;
	}
	return c;
}

void venue_close_begin(struct venue_close *c, int fatal)
{
	c->fatal |= fatal;
	if (c->begun)
		return;
	c->begun = 1;
	c->since = clock_mono_s();
	event_active(c->ev, EV_TIMEOUT, 0);
}

void venue_close_poke(struct venue_close *c)
{
	if (c->begun && evtimer_pending(c->ev, NULL))
		event_active(c->ev, EV_TIMEOUT, 0);
}

void venue_close_free(struct venue_close *c)
{
	if (!c)
		return;
	event_free(c->ev);
	free(c);
}
