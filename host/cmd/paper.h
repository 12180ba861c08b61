/*
 * paper — a running host on a replayed feed (any feed the engine has): the engine driven by a
 * libevent loop, with the control socket, SIGTERM/SIGINT (stop cleanly:
 * cancel working orders, flush the files) and SIGHUP (reload).
 */
#ifndef GANTRY_PAPER_H
#define GANTRY_PAPER_H

#include "engine.h"
#include "http_config.h"

struct paper_opts {
	const char *ctl_path;
	double speed; /* 0: as fast as possible; 1: real time; 10: ten times faster */
	int linger;   /* after the feed ends, keep serving ctl until `stop` */
	int watch_files; /* reload a strategy when its file (or a module it required) is saved */
	struct feed *warmup;	 /* --warmup: history before the first event (engine_warmup); borrowed */
	const char *warmup_path; /* its name in the log */
	const struct http_config *http; /* NULL or !enabled: no HTTP server, no alerts (http.h) */
	const char *audit_path;		/* the API's audit lines (JSON) */
};

/* Runs the engine's feed to its end (or `stop`): the engine_end status. */
int paper_run(struct engine *e, const struct paper_opts *po, char *err, size_t errlen);

#endif
