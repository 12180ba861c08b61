/*
 * alert_rule — see alert_rule.h. Numbers are read with strtod and must be
 * finite and non-negative; names are bounded; nothing here allocates but
 * the template the webhook owns.
 */
#include "alert_rule.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static const char *const when_names[] = {"",	      "latency_p99", "feed_stale",
					  "drawdown", "loss",	     "reject_rate",
					  "venue_down", "halted",    "market_halt",
					  "memory"};
static const char *const sev_names[] = {"info", "warning", "critical"};

const char *alert_when_name(int when)
{
	return when > 0 && when <= ALERT_MEMORY ? when_names[when] : "";
}

const char *alert_severity_name(int sev)
{
	return sev >= 0 && sev <= SEV_CRITICAL ? sev_names[sev] : "warning";
}

void alert_rule_init(struct alert_rule *r)
{
	memset(r, 0, sizeof *r);
	r->severity = SEV_WARNING;
	r->actions = ACT_LOG;
	r->window = 60;
}

static int number(const char *key, const char *v, double *out, char *err, size_t errlen)
{
	char *end;
	double d = strtod(v, &end);
	if (end == v || *end || !isfinite(d) || d < 0)
		return errf_fail(err, errlen, "%s: expected a non-negative number, got '%.40s'", key,
				 v);
	*out = d;
	return 0;
}

static int copy(char *dst, size_t n, const char *key, const char *v, char *err, size_t errlen)
{
	if (strlen(v) >= n || !*v)
		return errf_fail(err, errlen, "%s: expected 1 to %zu characters", key, n - 1);
	for (const char *c = v; *c; c++)
		if ((unsigned char)*c < 0x20)
			return errf_fail(err, errlen, "%s: a control character", key);
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static int actions(struct alert_rule *r, const char *v, char *err, size_t errlen)
{
	static const char *const names[] = {"log", "webhook", "halt", "flatten"};
	unsigned acts = 0;
	const char *p = v;
	while (*p) {
		size_t n = strcspn(p, ", ");
		int hit = 0;
		for (int i = 0; i < 4 && n; i++)
			if (strlen(names[i]) == n && !strncmp(p, names[i], n)) {
				acts |= 1u << i;
				hit = 1;
			}
		if (n && !hit)
			return errf_fail(err, errlen, "actions: unknown action '%.*s' (log, webhook, "
						      "halt, flatten)", (int)(n > 32 ? 32 : n), p);
		p += n;
		while (*p == ',' || *p == ' ')
			p++;
	}
	r->actions = acts;
	return 0;
}

int alert_rule_set(struct alert_rule *r, const char *key, const char *v, char *err, size_t errlen)
{
	if (!strcmp(key, "name"))
		return copy(r->name, sizeof r->name, key, v, err, errlen);
	if (!strcmp(key, "strategy"))
		return copy(r->strategy, sizeof r->strategy, key, v, err, errlen);
	if (!strcmp(key, "when")) {
		for (int i = 1; i <= ALERT_MEMORY; i++)
			if (!strcmp(v, when_names[i])) {
				r->when = i;
				return 0;
			}
		return errf_fail(err, errlen, "when: unknown condition '%.40s' (latency_p99, "
					      "feed_stale, drawdown, loss, reject_rate, venue_down, "
					      "halted, market_halt, memory)", v);
	}
	if (!strcmp(key, "severity")) {
		for (int i = 0; i <= SEV_CRITICAL; i++)
			if (!strcmp(v, sev_names[i])) {
				r->severity = i;
				return 0;
			}
		return errf_fail(err, errlen, "severity: expected info, warning or critical, got "
					      "'%.40s'", v);
	}
	if (!strcmp(key, "actions"))
		return actions(r, v, err, errlen);
	if (!strcmp(key, "over")) {
		r->has_over = 1;
		return number(key, v, &r->over, err, errlen);
	}
	if (!strcmp(key, "window")) {
		if (number(key, v, &r->window, err, errlen) != 0)
			return -1;
		if (r->window < 1 || r->window > 3600)
			return errf_fail(err, errlen, "window: expected 1 to 3600 seconds");
		return 0;
	}
	if (!strcmp(key, "of")) {
		if (strcmp(v, "tick_to_order") != 0 && strcmp(v, "callback") != 0)
			return errf_fail(err, errlen, "of: expected tick_to_order or callback");
		r->of_callback = !strcmp(v, "callback");
		return 0;
	}
	return errf_fail(err, errlen, "unknown key '%.40s' (name, when, severity, actions, "
				      "strategy, over, window, of)", key);
}

int alert_rule_check(const struct alert_rule *r, char *err, size_t errlen)
{
	if (r->when == ALERT_NONE)
		return errf_fail(err, errlen, "when: missing (the condition the rule watches)");
	int needs = r->when == ALERT_LATENCY_P99 || r->when == ALERT_FEED_STALE ||
		    r->when == ALERT_DRAWDOWN || r->when == ALERT_LOSS ||
		    r->when == ALERT_REJECT_RATE || r->when == ALERT_MEMORY;
	if (needs && !r->has_over)
		return errf_fail(err, errlen, "over: %s needs a threshold", alert_when_name(r->when));
	if ((r->when == ALERT_DRAWDOWN || r->when == ALERT_MEMORY) && r->over > 1)
		return errf_fail(err, errlen, "over: %s is a fraction (0.05 = 5 %%), got %g",
				 alert_when_name(r->when), r->over);
	return 0;
}

int alert_url_parse(struct alert_webhook *w, const char *url, char *err, size_t errlen)
{
	if (strncmp(url, "http://", 7) != 0 || strlen(url) >= sizeof w->url)
		return errf_fail(err, errlen, "url: expected http://HOST[:PORT]/PATH (for https, "
					      "a local TLS relay)");
	const char *h = url + 7, *slash = strchr(h, '/');
	size_t hl = slash ? (size_t)(slash - h) : strlen(h);
	const char *colon = memchr(h, ':', hl);
	size_t nl = colon ? (size_t)(colon - h) : hl;
	if (nl == 0 || nl >= sizeof w->host)
		return errf_fail(err, errlen, "url: no host in '%.80s'", url);
	int port = 80;
	if (colon) {
		port = 0;
		const char *c = colon + 1;
		if (c == h + hl)
			return errf_fail(err, errlen, "url: no port after ':'");
		for (; c < h + hl; c++) {
			if (*c < '0' || *c > '9' || port > 65535)
				return errf_fail(err, errlen, "url: bad port in '%.80s'", url);
			port = port * 10 + (*c - '0');
		}
		if (port < 1 || port > 65535)
			return errf_fail(err, errlen, "url: bad port in '%.80s'", url);
	}
	const char *path = slash ? slash : "/";
	if (strlen(path) >= sizeof w->path)
		return errf_fail(err, errlen, "url: path too long");
	for (const char *c = url; *c; c++)
		if ((unsigned char)*c <= ' ')
			return errf_fail(err, errlen, "url: a space or control character");
	memcpy(w->url, url, strlen(url) + 1);
	memcpy(w->host, h, nl);
	w->host[nl] = '\0';
	w->port = port;
	memcpy(w->path, path, strlen(path) + 1);
	return 0;
}

/* Appends s JSON-escaped (no quotes) within out's room. */
static void put_json(const char *s, char *out, size_t outlen, size_t *n)
{
	for (; s && *s; s++) {
		char tmp[8];
		const char *piece = tmp;
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			snprintf(tmp, sizeof tmp, "\\%c", c);
		else if (c < 0x20)
			snprintf(tmp, sizeof tmp, "\\u%04x", c);
		else
			snprintf(tmp, sizeof tmp, "%c", c);
		size_t l = strlen(piece);
		if (*n + l >= outlen)
			return;
		memcpy(out + *n, piece, l + 1); /* with its NUL: out stays a string */
		*n += l;
	}
}

size_t alert_render(const char *t, const struct alert_fields *f, char *out, size_t outlen)
{
	size_t n = 0;
	if (outlen == 0)
		return 0;
	while (*t && n + 1 < outlen) {
		const char *close = !strncmp(t, "{{", 2) ? strstr(t + 2, "}}") : NULL;
		if (close) {
			char name[32], num[40];
			size_t l = (size_t)(close - t - 2);
			const char *v = NULL;
			if (l < sizeof name) {
				memcpy(name, t + 2, l);
				name[l] = '\0';
				if (!strcmp(name, "value") || !strcmp(name, "threshold")) {
					double d = !strcmp(name, "value") ? f->value : f->threshold;
					snprintf(num, sizeof num, "%.10g", isfinite(d) ? d : 0);
					v = num;
				} else {
					const char *keys[] = {"rule",	  "severity", "status", "summary",
							      "strategy", "when",     "time"};
					const char *vals[] = {f->rule,	   f->severity, f->status,
							      f->summary,  f->strategy, f->when,
							      f->time};
					for (int i = 0; i < 7; i++)
						if (!strcmp(name, keys[i]))
							v = vals[i] ? vals[i] : "";
				}
			}
			if (v) {
				put_json(v, out, outlen, &n);
				t = close + 2;
				continue;
			}
		}
		out[n++] = *t++;
	}
	out[n] = '\0';
	return n;
}
