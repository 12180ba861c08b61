/*
 * paper_venue — what the paper loop does for a remote venue (gantry live):
 * hold a replayed feed while the venue owes answers (bounded), and at the
 * end let the venue answer the last cancels, log out, then end the loop.
 * paper.c calls these; the venue itself is behind struct paper_venue.
 */
#ifndef GANTRY_PAPER_VENUE_H
#define GANTRY_PAPER_VENUE_H

#include <event2/event.h>

#include "paper.h"

/* The feed's wait on the venue. */
struct venue_wait {
	int waiting, gave_up;
	double since;
};

/* 1: the next event waits (the caller looks again in 20 ms, or when the
 * venue wakes it); 0: go on. A wait longer than v->wait_s gives up (logged)
 * until the venue is no longer busy (the session is back). */
int venue_wait_hold(const struct paper_venue *v, struct venue_wait *w);

struct venue_close;

/* The end of a live run on base: NULL when out of memory. */
struct venue_close *venue_close_new(struct event_base *base, const struct paper_venue *v);
/* Starts the end (once): the venue's answers (wait_s at most, none when
 * fatal or down), Logout, its answer (3 s at most), then the loop exits. */
void venue_close_begin(struct venue_close *c, int fatal);
/* The venue has news: look again now. */
void venue_close_poke(struct venue_close *c);
void venue_close_free(struct venue_close *c);

#endif
