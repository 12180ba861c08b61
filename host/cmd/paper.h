/*
 * paper — a running host on a replayed feed (any feed the engine has): the engine driven by a
 * libevent loop, with the control socket, SIGTERM/SIGINT (stop cleanly:
 * cancel working orders, flush the files) and SIGHUP (reload).
 */
#ifndef GANTRY_PAPER_H
#define GANTRY_PAPER_H

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "engine.h"
#include "http_config.h"

/* A remote venue the loop drives (live: FIX); NULL in paper mode. */
struct paper_venue {
	/* connect on the loop; wake(wake_ud) when the venue has news */
	int (*start)(void *ud, struct event_base *base, void (*wake)(void *), void *wake_ud,
		     char *err, size_t errlen);
	int (*busy)(void *ud);		/* answers owed: a replayed feed waits (wait_s at most) */
	void (*stop)(void *ud);		/* log out */
	int (*closed)(void *ud);	/* logged out */
	const char *(*fatal)(void *ud); /* why the venue cannot go on (exit 2), or NULL */
	int (*up)(void *ud);		/* logged on */
	void (*detach)(void *ud);	/* free what it holds of the loop (before the loop goes) */
	void (*status)(void *ud, struct evbuffer *out); /* `"k": v, ` pairs for ctl status */
	/* `halt`'s reply, sent once the venue confirmed the cancels (ctl.h) */
	void (*halt_reply)(void *ud, struct bufferevent *bev, struct evbuffer *reply);
	double wait_s;
	void *ud;
};

struct paper_opts {
	const char *ctl_path;
	double speed; /* 0: as fast as possible; 1: real time; 10: ten times faster */
	int linger;   /* after the feed ends, keep serving ctl until `stop` */
	int watch_files; /* reload a strategy when its file (or a module it required) is saved */
	struct feed *warmup;	 /* --warmup: history before the first event (engine_warmup); borrowed */
	const char *warmup_path; /* its name in the log */
	const struct http_config *http; /* NULL or !enabled: no HTTP server, no alerts (http.h) */
	const char *audit_path;		/* the API's audit lines (JSON) */
	const struct paper_venue *venue; /* live: the FIX venue (paper_live.c); NULL: none */
	const char *mode;		 /* "paper" (NULL) or "live", for status and the log */
};

/* Runs the engine's feed to its end (or `stop`): the engine_end status. */
int paper_run(struct engine *e, const struct paper_opts *po, char *err, size_t errlen);

#endif
