/*
 * httpreq — what an /api request asks for, from its method, URI and body,
 * before anything runs: the `gantry ctl` command line it maps to (the one
 * command path: ctl_execute runs it) and the right it needs (tokens.h).
 * Pure and bounds-checked: the fuzz target's entry.
 *
 *   GET  /api/status | /api/history | /api/alerts | /api/latency   read
 *   POST /api/halt | /api/flatten        [strategy]         risk
 *   POST /api/resume | /api/reload       [strategy]         trade
 *   POST /api/set   key, value   risk.* / firm_risk.*: risk, else trade
 *   POST /api/stop                                           admin
 *
 * Arguments come from the query (?strategy=mm) or a flat JSON object body
 * ({"strategy": "mm"}, {"key": "qty", "value": 5}); a strategy name is
 * [A-Za-z0-9_.-], a key and value have no space or control character.
 */
#ifndef GANTRY_HTTPREQ_H
#define GANTRY_HTTPREQ_H

#include <stddef.h>

#define HTTPREQ_BODY_MAX 4096

enum api_kind { API_CTL, API_HISTORY, API_ALERTS, API_LATENCY };

struct api_request {
	int kind;	/* enum api_kind */
	unsigned need;	/* the right it needs (RIGHT_*) */
	char line[512]; /* API_CTL: the ctl command line */
};

/* 200 and out filled; else the HTTP status (400 bad argument, 404 no such
 * endpoint, 405 wrong method, 413 body too long) with err saying why. */
int api_parse(const char *method, const char *uri, const char *body, size_t blen,
	      struct api_request *out, char *err, size_t errlen);

/* A flat JSON object's member: its string (unescaped) or number/true/false
 * text into out. 1 found, 0 absent, -1 malformed JSON or too long for out. */
int jsonflat_get(const char *body, size_t len, const char *key, char *out, size_t outlen);

/* A query string's (a=1&b=x%20y) argument, percent-decoded. 1, 0, -1 as above. */
int query_get(const char *query, const char *key, char *out, size_t outlen);

#endif
