/*
 * ctl — the control socket of a running host (paper, live): a Unix-domain
 * socket, mode 0600, one command a connection, one JSON object back.
 *
 *   status | halt [S] | resume [S] | flatten [S] | reload [S] | set K=V | stop
 *
 * The server side runs in the host's libevent loop; `gantry ctl` is the client.
 */
#ifndef GANTRY_CTL_H
#define GANTRY_CTL_H

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "engine.h"

struct ctl_server;

struct ctl_hooks {
	/* Hot reload of one strategy (NULL: all). Writes a JSON object into out. */
	void (*reload)(void *ud, struct strategy *s, struct evbuffer *out);
	/* `stop`: the host finishes cleanly. */
	void (*stop)(void *ud);
	/* Extra status fields (mode, feed state), written as `"k": v, ` pairs. */
	void (*status)(void *ud, struct evbuffer *out);
	void *ud;
	/* live: `halt` is answered once the venue has confirmed every cancel (or
	 * a timeout): the hook takes the reply and sends it with ctl_reply.
	 * NULL: answered at once. */
	void (*halt_reply)(void *ud, struct bufferevent *bev, struct evbuffer *reply);
};

/* Sends a reply held back by halt_reply and closes the connection after it. */
void ctl_reply(struct bufferevent *bev, struct evbuffer *reply);

/* Binds path: a stale socket (its host gone) is replaced; one a live host
 * listens on is refused, naming its pid. NULL with err on failure. */
struct ctl_server *ctl_listen(struct event_base *base, const char *path, struct engine *e,
			      const struct ctl_hooks *hooks, char *err, size_t errlen);
void ctl_close(struct ctl_server *c);

/* A JSON string literal into out. */
void ctl_json_str(struct evbuffer *out, const char *s);

/* Runs one command line against the engine; the reply goes into out. */
void ctl_execute(struct engine *e, const struct ctl_hooks *hooks, const char *line,
		 struct evbuffer *out);

/* ctl_orders.c: an open order's type, stop, trail, bracket role and OCO
 * sibling as JSON members, each followed by ", ". */
void ctl_order_marks(struct evbuffer *out, const struct order *o);

#endif
