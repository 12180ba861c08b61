/*
 * httpreq — see httpreq.h. The JSON reader handles one object of scalar
 * members (what every endpoint takes); nested values are skipped over
 * bracket by bracket, strings with their escapes, so a body of any shape is
 * read or refused, never overrun.
 */
#include "httpreq.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "tokens.h"

/* ------------------------------------------------------------ JSON */

struct jr {
	const char *p, *end;
};

static void ws(struct jr *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
					   : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* A string at r->p (on its quote) into out (NULL: skipped). Its length, -1 bad. */
static int jstring(struct jr *r, char *out, size_t outlen)
{
	size_t n = 0;
	if (r->p >= r->end || *r->p != '"')
		return -1;
	r->p++;
	while (r->p < r->end && *r->p != '"') {
		char c = *r->p++;
		if ((unsigned char)c < 0x20)
			return -1;
		if (c == '\\') {
			if (r->p >= r->end)
				return -1;
			char e = *r->p++;
			switch (e) {
			case '"': case '\\': case '/': c = e; break;
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'u': {
				int v = 0;
				for (int i = 0; i < 4; i++) {
					int h = r->p < r->end ? hexval(*r->p++) : -1;
					if (h < 0)
						return -1;
					v = v * 16 + h;
				}
				if (v == 0 || v > 0x7f)
					return -1; /* arguments are ASCII */
				c = (char)v;
				break;
			}
			default:
				return -1;
			}
		}
		if (out) {
			if (n + 1 >= outlen)
				return -1;
			out[n] = c;
		}
		n++;
	}
	if (r->p >= r->end)
		return -1;
	r->p++;
	if (out)
		out[n] = '\0';
	return (int)n;
}

/* Skips one value (any JSON value, nesting bounded). 0, -1 bad. */
static int jskip(struct jr *r, int depth)
{
	ws(r);
	if (r->p >= r->end || depth > 32)
		return -1;
	if (*r->p == '"')
		return jstring(r, NULL, 0) < 0 ? -1 : 0;
	if (*r->p == '{' || *r->p == '[') {
		char close = *r->p == '{' ? '}' : ']';
		int obj = *r->p == '{';
		r->p++;
		ws(r);
		if (r->p < r->end && *r->p == close) {
			r->p++;
			return 0;
		}
		for (;;) {
			if (obj) {
				ws(r);
				if (jstring(r, NULL, 0) < 0)
					return -1;
				ws(r);
				if (r->p >= r->end || *r->p++ != ':')
					return -1;
			}
			if (jskip(r, depth + 1) != 0)
				return -1;
			ws(r);
			if (r->p >= r->end)
				return -1;
			if (*r->p == close) {
				r->p++;
				return 0;
			}
			if (*r->p++ != ',')
				return -1;
		}
	}
	const char *s = r->p;
	while (r->p < r->end && (strchr("+-.eE", *r->p) || (*r->p >= '0' && *r->p <= '9') ||
				 (*r->p >= 'a' && *r->p <= 'z')))
		r->p++;
	return r->p > s ? 0 : -1;
}

int jsonflat_get(const char *body, size_t len, const char *key, char *out, size_t outlen)
{
	struct jr r = {body, body + len};
	int found = 0;
	ws(&r);
	if (r.p >= r.end || *r.p++ != '{' || outlen == 0)
		return -1;
	ws(&r);
	if (r.p < r.end && *r.p == '}')
		r.p++;
	else
		for (;;) {
			char name[64];
			ws(&r);
			if (jstring(&r, name, sizeof name) < 0)
				return -1;
			ws(&r);
			if (r.p >= r.end || *r.p++ != ':')
				return -1;
			ws(&r);
			if (!found && !strcmp(name, key)) {
				if (r.p < r.end && *r.p == '"') {
					if (jstring(&r, out, outlen) < 0)
						return -1;
				} else {
					const char *s = r.p;
					if (r.p < r.end && (*r.p == '{' || *r.p == '['))
						return -1; /* arguments are scalars */
					if (jskip(&r, 0) != 0 || (size_t)(r.p - s) >= outlen)
						return -1;
					memcpy(out, s, (size_t)(r.p - s));
					out[r.p - s] = '\0';
				}
				found = 1;
			} else if (jskip(&r, 0) != 0) {
				return -1;
			}
			ws(&r);
			if (r.p >= r.end)
				return -1;
			if (*r.p == '}') {
				r.p++;
				break;
			}
			if (*r.p++ != ',')
				return -1;
		}
	ws(&r);
	return r.p == r.end ? found : -1;
}

/* ------------------------------------------------------------ query */

int query_get(const char *q, const char *key, char *out, size_t outlen)
{
	size_t kl = strlen(key);
	while (q && *q) {
		const char *amp = strchr(q, '&'), *end = amp ? amp : q + strlen(q);
		const char *eq = memchr(q, '=', (size_t)(end - q));
		const char *kend = eq ? eq : end;
		if ((size_t)(kend - q) == kl && !memcmp(q, key, kl)) {
			size_t n = 0;
			for (const char *s = eq ? eq + 1 : end; s < end; s++) {
				char c = *s;
				if (c == '+') {
					c = ' ';
				} else if (c == '%') {
					if (end - s < 3 || hexval(s[1]) < 0 || hexval(s[2]) < 0)
						return -1;
					c = (char)(hexval(s[1]) * 16 + hexval(s[2]));
					s += 2;
				}
				if (n + 1 >= outlen)
					return -1;
				out[n++] = c;
			}
			if (outlen == 0)
				return -1;
			out[n] = '\0';
			return 1;
		}
		q = amp ? amp + 1 : NULL;
	}
	return 0;
}

/* ------------------------------------------------------------ routes */

static int name_ok(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '_' || *s == '.' || *s == '-'))
			return 0;
	return 1;
}

static int word_ok(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

/* An argument from the query, else the body. 1, 0 absent, -1 malformed. */
static int arg(const char *query, const char *body, size_t blen, const char *key, char *out,
	       size_t outlen)
{
	int r = query ? query_get(query, key, out, outlen) : 0;
	if (r != 0)
		return r;
	if (blen == 0)
		return 0;
	return jsonflat_get(body, blen, key, out, outlen);
}

static const struct {
	const char *path, *method;
	int kind;
	unsigned need;
	int takes; /* 0 nothing, 1 a strategy, 2 key and value */
} routes[] = {
	{"status", "GET", API_CTL, RIGHT_READ, 0},    {"history", "GET", API_HISTORY, RIGHT_READ, 0},
	{"alerts", "GET", API_ALERTS, RIGHT_READ, 0}, {"halt", "POST", API_CTL, RIGHT_RISK, 1},
	{"flatten", "POST", API_CTL, RIGHT_RISK, 1},  {"resume", "POST", API_CTL, RIGHT_TRADE, 1},
	{"reload", "POST", API_CTL, RIGHT_TRADE, 1},  {"set", "POST", API_CTL, RIGHT_TRADE, 2},
	{"stop", "POST", API_CTL, RIGHT_ADMIN, 0},    {"latency", "GET", API_LATENCY, RIGHT_READ, 0},
};

int api_parse(const char *method, const char *uri, const char *body, size_t blen,
	      struct api_request *out, char *err, size_t errlen)
{
	char path[64];
	memset(out, 0, sizeof *out);
	if (blen > HTTPREQ_BODY_MAX) {
		errf(err, errlen, "request body over %d bytes", HTTPREQ_BODY_MAX);
		return 413;
	}
	if (strncmp(uri, "/api/", 5) != 0) {
		errf(err, errlen, "no such endpoint");
		return 404;
	}
	const char *p = uri + 5, *qm = strchr(p, '?');
	size_t pl = qm ? (size_t)(qm - p) : strlen(p);
	if (pl >= sizeof path) {
		errf(err, errlen, "no such endpoint");
		return 404;
	}
	memcpy(path, p, pl);
	path[pl] = '\0';
	const char *query = qm ? qm + 1 : NULL;
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		if (strcmp(routes[i].path, path) != 0)
			continue;
		if (strcmp(routes[i].method, method) != 0) {
			errf(err, errlen, "/api/%s takes %s", path, routes[i].method);
			return 405;
		}
		out->kind = routes[i].kind;
		out->need = routes[i].need;
		char a[128] = "", b[256] = "";
		if (routes[i].takes == 1) {
			int r = arg(query, body, blen, "strategy", a, sizeof a);
			if (r < 0 || (r > 0 && (!name_ok(a) || !*a))) {
				errf(err, errlen, "strategy: expected a strategy's name ([A-Za-z0-9_.-])");
				return 400;
			}
			snprintf(out->line, sizeof out->line, "%s%s%s", path, *a ? " " : "", a);
		} else if (routes[i].takes == 2) {
			int rk = arg(query, body, blen, "key", a, sizeof a);
			int rv = arg(query, body, blen, "value", b, sizeof b);
			if (rk <= 0 || rv <= 0 || !word_ok(a) || !word_ok(b) || strchr(a, '=')) {
				errf(err, errlen, "set: expected a key and a value (no spaces), as "
						  "{\"key\": \"risk.max_order_qty\", \"value\": 500}");
				return 400;
			}
			if (!strncmp(a, "risk.", 5) || !strncmp(a, "firm_risk.", 10))
				out->need = RIGHT_RISK;
			snprintf(out->line, sizeof out->line, "set %s=%s", a, b);
		} else {
			snprintf(out->line, sizeof out->line, "%s", path);
		}
		if (blen && routes[i].takes == 0 && jsonflat_get(body, blen, "", a, sizeof a) < 0) {
			errf(err, errlen, "the body is not a JSON object");
			return 400;
		}
		return 200;
	}
	errf(err, errlen, "no such endpoint /api/%s (status, history, alerts, latency, "
			  "halt, resume, flatten, reload, set, stop)", path);
	return 404;
}
