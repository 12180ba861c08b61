/*
 * paper — a running host on a replayed feed: the engine driven by a
 * libevent loop, with the control socket, SIGTERM/SIGINT (stop cleanly:
 * cancel working orders, flush the files) and SIGHUP (reload).
 */
#ifndef GANTRY_PAPER_H
#define GANTRY_PAPER_H

#include "bars.h"
#include "engine.h"

struct paper_opts {
	const char *ctl_path;
	double speed; /* 0: as fast as possible; 1: real time; 10: ten times faster */
	int linger;   /* after the feed ends, keep serving ctl until `stop` */
	/* hot reload of one strategy (NULL: all), called between two events */
	int (*reload)(void *ud, struct strategy *s, char *msg, size_t msglen);
	void *reload_ud;
	const char *const *watch; /* files to watch for hot reload (NULL-terminated), or NULL */
};

/* Runs to the end of the feed (or `stop`): the engine_end status. */
int paper_run(struct engine *e, struct bars_feed *feed, const struct paper_opts *po, char *err,
	      size_t errlen);

#endif
