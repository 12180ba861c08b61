/*
 * http_config — the deploy config's `http` and `alerts` sections (and the
 * --http flag over them), read from the config's Lua table into plain C:
 *
 *   http = { listen = "127.0.0.1:8080", token_file = "tokens",
 *            tls = { cert = "c.pem", key = "k.pem" }, rate = 50, history = 600 }
 *   alerts = { every = 0.25,
 *              webhook = { url = "http://127.0.0.1:9000/hook", template = "...",
 *                          timeout = 2, retries = 5 },
 *              rules = { { name = "dd", when = "drawdown", over = 0.05,
 *                          severity = "critical", actions = { "webhook", "halt" } }, ... } }
 *
 * Relative paths are taken from the config file's directory. Each rule's
 * fields go through alert_rule_set (host/base/alert_rule.h).
 */
#ifndef GANTRY_HTTP_CONFIG_H
#define GANTRY_HTTP_CONFIG_H

#include <stddef.h>

#include "alert_rule.h"

struct deploy_config;

struct http_config {
	int enabled;		/* a listen address from the config or --http */
	char listen[128];	/* HOST:PORT */
	char token_file[4096];	/* "" = none: the API refuses every request */
	char tls_cert[4096], tls_key[4096]; /* "" = plain HTTP */
	double rate;		/* requests a second (burst: twice that) */
	int history;		/* status snapshots kept, one a second */
	int sample;		/* one event in this many timed (latency histograms); 1: all */
	double every;		/* seconds between two evaluations of the rules */
	struct alert_rule *rules; /* owned */
	int nrules;
	struct alert_webhook hook; /* hook.url[0] == 0: none */
};

/* From the config (may be NULL: no --config) and --http ADDR (NULL: none).
 * 0, or -1 with err naming `CONFIG: http.KEY` or `alerts.rules[N].KEY`. */
int http_config_load(struct http_config *h, struct deploy_config *c, const char *listen_flag,
		     char *err, size_t errlen);
void http_config_free(struct http_config *h);

#endif
