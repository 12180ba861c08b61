/*
 * http — the monitoring and control server of a running host (paper, live),
 * on the host's libevent loop (evhttp; TLS through bufferevent_openssl when
 * configured): /metrics (Prometheus text), /api/... (every `gantry ctl`
 * command as JSON, bearer tokens with scopes: host/base/tokens.h), the
 * dashboard page, and the alert rules (alerts.c) evaluated on the same loop.
 * Requests run between two events, like ctl's; nothing here touches the hot
 * path but the counters the engine keeps (host/engine/stats.h).
 */
#ifndef GANTRY_HTTP_H
#define GANTRY_HTTP_H

#include <event2/event.h>

#include "ctl.h"
#include "engine.h"
#include "http_config.h"

struct http_server;

/* Starts what cfg enables (a listener when cfg->listen is set; the alert
 * rules). cfg is borrowed for the server's life; feed_done (borrowed) is 1
 * once the feed has ended; audit_path ("" none) gets a JSON line per API
 * command. NULL with err when the address, the token file or TLS is bad. */
struct http_server *http_start(struct event_base *base, struct engine *e,
			       const struct ctl_hooks *hooks, const struct http_config *cfg,
			       const int *feed_done, const char *audit_path, char *err,
			       size_t errlen);
void http_close(struct http_server *h);

#endif
