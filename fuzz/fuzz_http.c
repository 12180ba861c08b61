/*
 * fuzz_http — libFuzzer target over the HTTP side's own parsing (evhttp
 * parses the request line and headers; what gantry reads after it is
 * here): the token file, the /api routes with their query and JSON body
 * arguments, the alert rules' fields, the webhook URL and its template, and
 * the Prometheus label escaping. The first byte picks the parser; the rest
 * is its input.
 *
 *   make http-fuzz        FUZZ_SECONDS (60) of fuzzing from fuzz/corpus-http
 *   make http-fuzz-smoke  a short deterministic pass (make test runs it)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert_rule.h"
#include "httpreq.h"
#include "promtext.h"
#include "tokens.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void count(void *ud, const char *p, size_t n)
{
	(void)p;
	*(size_t *)ud += n;
}

/* A NUL-terminated copy of [p, p + n). */
static char *dup_n(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);
	if (!s)
		abort();
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static void fuzz_api(const uint8_t *d, size_t n)
{
	/* METHOD-bit, then URI up to a newline, then the body */
	const char *method = n && (d[0] & 1) ? "POST" : "GET";
	if (n)
		d++, n--;
	const uint8_t *nl = memchr(d, '\n', n);
	size_t ul = nl ? (size_t)(nl - d) : n;
	char *uri = dup_n(d, ul);
	const char *body = nl ? (const char *)nl + 1 : "";
	size_t blen = nl ? n - ul - 1 : 0;
	struct api_request r;
	char err[512];
	int code = api_parse(method, uri, body, blen, &r, err, sizeof err);
	if (code == 200 && (strlen(r.line) >= sizeof r.line || !r.need))
		abort();
	char out[64];
	jsonflat_get(body, blen, "strategy", out, sizeof out);
	query_get(uri, "strategy", out, sizeof out);
	free(uri);
}

static void fuzz_rules(const uint8_t *d, size_t n)
{
	/* lines of KEY=VALUE into one rule, then the checks */
	char *s = dup_n(d, n), *save = NULL, err[512];
	struct alert_rule r;
	alert_rule_init(&r);
	for (char *line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = '\0';
		alert_rule_set(&r, line, eq + 1, err, sizeof err);
	}
	alert_rule_check(&r, err, sizeof err);
	if (r.name[sizeof r.name - 1] || r.strategy[sizeof r.strategy - 1])
		abort();
	free(s);
}

static void fuzz_webhook(const uint8_t *d, size_t n)
{
	/* a URL up to a newline, then a template */
	const uint8_t *nl = memchr(d, '\n', n);
	size_t ul = nl ? (size_t)(nl - d) : n;
	char *url = dup_n(d, ul), *tmpl = dup_n(nl ? nl + 1 : d + n, nl ? n - ul - 1 : 0), err[256];
	struct alert_webhook w;
	memset(&w, 0, sizeof w);
	if (alert_url_parse(&w, url, err, sizeof err) == 0 && (w.port < 1 || w.port > 65535))
		abort();
	struct alert_fields f = {"r\"", "critical", "firing", url, "s\\", "drawdown", "t", 1.5, 0.05};
	char out[1024];
	size_t len = alert_render(tmpl, &f, out, sizeof out);
	if (len >= sizeof out || strlen(out) != len)
		abort();
	size_t total = 0;
	prom_escape(url, count, &total);
	free(url);
	free(tmpl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const uint8_t *d = data + 1;
	size_t n = size - 1;
	char err[512];
	switch (data[0] % 4) {
	case 0: {
		struct token_set ts;
		if (tokens_parse((const char *)d, n, "fuzz", &ts, err, sizeof err) == 0) {
			for (int i = 0; i < ts.n; i++)
				if (tokens_find(&ts, ts.t[i].secret, strlen(ts.t[i].secret)) == NULL ||
				    !ts.t[i].rights)
					abort();
			tokens_find(&ts, (const char *)d, n);
			tokens_free(&ts);
		}
		break;
	}
	case 1:
		fuzz_api(d, n);
		break;
	case 2:
		fuzz_rules(d, n);
		break;
	default:
		fuzz_webhook(d, n);
		break;
	}
	return 0;
}
