/*
 * http_config — see http_config.h. Reads the config's table (index 1 of its
 * Lua state, as config.c leaves it) without running anything.
 */
#include "http_config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"

static void resolve(char *out, size_t n, const char *cfg_path, const char *p)
{
	const char *slash = cfg_path ? strrchr(cfg_path, '/') : NULL;
	if (p[0] == '/' || !slash)
		snprintf(out, n, "%s", p);
	else
		snprintf(out, n, "%.*s/%s", (int)(slash - cfg_path), cfg_path, p);
}

/* A string field of the table at tbl: 1 read, 0 absent, -1 error. */
static int str_field(lua_State *L, int tbl, const char *key, char *out, size_t n, const char *where,
		     char *err, size_t errlen)
{
	int t = lua_getfield(L, tbl, key);
	int rc = 0;
	if (t == LUA_TSTRING && lua_rawlen(L, -1) < n && lua_rawlen(L, -1) > 0) {
		snprintf(out, n, "%s", lua_tostring(L, -1));
		rc = 1;
	} else if (t != LUA_TNIL) {
		errf(err, errlen, "%s.%s: expected a non-empty string%s", where, key,
		     t == LUA_TSTRING ? " (too long)" : "");
		rc = -1;
	}
	lua_pop(L, 1);
	return rc;
}

static int num_field(lua_State *L, int tbl, const char *key, double lo, double hi, double *out,
		     const char *where, char *err, size_t errlen)
{
	int t = lua_getfield(L, tbl, key);
	int rc = 0;
	if (t == LUA_TNUMBER && isfinite(lua_tonumber(L, -1)) && lua_tonumber(L, -1) >= lo &&
	    lua_tonumber(L, -1) <= hi)
		*out = lua_tonumber(L, -1);
	else if (t != LUA_TNIL) {
		errf(err, errlen, "%s.%s: expected a number from %g to %g", where, key, lo, hi);
		rc = -1;
	}
	lua_pop(L, 1);
	return rc;
}

static int only_keys(lua_State *L, int tbl, const char *const *known, const char *where, char *err,
		     size_t errlen)
{
	lua_pushnil(L);
	while (lua_next(L, tbl)) {
		lua_pop(L, 1);
		int ok = 0;
		for (int i = 0; known[i] && lua_type(L, -1) == LUA_TSTRING; i++)
			ok |= !strcmp(lua_tostring(L, -1), known[i]);
		if (!ok) {
			errf(err, errlen, "%s: unknown key '%s'", where,
			     lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?");
			lua_pop(L, 1);
			return -1;
		}
	}
	return 0;
}

static int read_http(struct http_config *h, lua_State *L, int tbl, const char *cfg, char *err,
		     size_t errlen)
{
	static const char *const keys[] = {"listen", "token_file", "tls", "rate", "history", "sample",
					   NULL};
	char where[4200], tmp[4096];
	snprintf(where, sizeof where, "%s: http", cfg);
	if (only_keys(L, tbl, keys, where, err, errlen) ||
	    str_field(L, tbl, "listen", h->listen, sizeof h->listen, where, err, errlen) < 0)
		return -1;
	int r = str_field(L, tbl, "token_file", tmp, sizeof tmp, where, err, errlen);
	if (r < 0)
		return -1;
	if (r > 0)
		resolve(h->token_file, sizeof h->token_file, cfg, tmp);
	double hist = h->history, sample = h->sample;
	if (num_field(L, tbl, "rate", 1, 100000, &h->rate, where, err, errlen) ||
	    num_field(L, tbl, "history", 10, 86400, &hist, where, err, errlen) ||
	    num_field(L, tbl, "sample", 1, 1024, &sample, where, err, errlen))
		return -1;
	h->history = (int)hist;
	h->sample = (int)sample;
	if (sample != h->sample || (h->sample & (h->sample - 1)))
		return errf_fail(err, errlen, "%s.sample: expected a power of two (1, 2, 4 ... 1024)",
				 where);
	int t = lua_getfield(L, tbl, "tls"), tls = lua_gettop(L);
	if (t == LUA_TTABLE) {
		static const char *const tk[] = {"cert", "key", NULL};
		char w2[4300];
		snprintf(w2, sizeof w2, "%s.tls", where);
		char cert[4096] = "", key[4096] = "";
		if (only_keys(L, tls, tk, w2, err, errlen) ||
		    str_field(L, tls, "cert", cert, sizeof cert, w2, err, errlen) <= 0 ||
		    str_field(L, tls, "key", key, sizeof key, w2, err, errlen) <= 0) {
			if (!*err)
				errf(err, errlen, "%s: needs both cert and key (PEM files)", w2);
			return -1;
		}
		resolve(h->tls_cert, sizeof h->tls_cert, cfg, cert);
		resolve(h->tls_key, sizeof h->tls_key, cfg, key);
	} else if (t != LUA_TNIL) {
		errf(err, errlen, "%s.tls: expected a table { cert = ..., key = ... }", where);
		return -1;
	}
	lua_pop(L, 1);
	return 0;
}

/* One field of a rule as text for alert_rule_set. */
static int rule_value(lua_State *L, int idx, char *out, size_t n)
{
	int t = lua_type(L, idx);
	if (t == LUA_TSTRING) {
		snprintf(out, n, "%s", lua_tostring(L, idx));
		return 0;
	}
	if (t == LUA_TNUMBER) {
		snprintf(out, n, "%.17g", lua_tonumber(L, idx));
		return 0;
	}
	if (t == LUA_TTABLE) { /* actions = { "log", "halt" } */
		size_t used = 0;
		out[0] = '\0';
		for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, idx); i++) {
			if (lua_rawgeti(L, idx, i) != LUA_TSTRING) {
				lua_pop(L, 1);
				return -1;
			}
			int w = snprintf(out + used, n - used, "%s%s", used ? "," : "",
					 lua_tostring(L, -1));
			lua_pop(L, 1);
			if (w < 0 || (size_t)w >= n - used)
				return -1;
			used += (size_t)w;
		}
		return 0;
	}
	return -1;
}

static int read_rule(struct alert_rule *r, lua_State *L, int tbl, const char *where, char *err,
		     size_t errlen)
{
	char e2[512];
	alert_rule_init(r);
	lua_pushnil(L);
	while (lua_next(L, tbl)) {
		char v[512];
		if (lua_type(L, -2) != LUA_TSTRING) {
			lua_pop(L, 2);
			return errf_fail(err, errlen, "%s: keys are names (name = ..., when = ...)", where);
		}
		const char *k = lua_tostring(L, -2);
		if (rule_value(L, lua_gettop(L), v, sizeof v) != 0) {
			errf(err, errlen, "%s.%s: expected a string, a number or a list of strings",
			     where, k);
			lua_pop(L, 2);
			return -1;
		}
		if (alert_rule_set(r, k, v, e2, sizeof e2) != 0) {
			errf(err, errlen, "%s.%s", where, e2);
			lua_pop(L, 2);
			return -1;
		}
		lua_pop(L, 1);
	}
	if (alert_rule_check(r, e2, sizeof e2) != 0)
		return errf_fail(err, errlen, "%s.%s", where, e2);
	return 0;
}

static int read_alerts(struct http_config *h, lua_State *L, int tbl, const char *cfg, char *err,
		       size_t errlen)
{
	static const char *const keys[] = {"every", "webhook", "rules", NULL};
	char where[4200];
	snprintf(where, sizeof where, "%s: alerts", cfg);
	if (only_keys(L, tbl, keys, where, err, errlen) ||
	    num_field(L, tbl, "every", 0.05, 1, &h->every, where, err, errlen))
		return -1;
	int t = lua_getfield(L, tbl, "webhook"), w = lua_gettop(L);
	if (t == LUA_TTABLE) {
		static const char *const wk[] = {"url", "template", "timeout", "retries", NULL};
		char w2[4300], url[512] = "", e2[256];
		snprintf(w2, sizeof w2, "%s.webhook", where);
		double retries = h->hook.retries;
		if (only_keys(L, w, wk, w2, err, errlen) ||
		    str_field(L, w, "url", url, sizeof url, w2, err, errlen) < 0 ||
		    num_field(L, w, "timeout", 0.1, 60, &h->hook.timeout_s, w2, err, errlen) ||
		    num_field(L, w, "retries", 0, 100, &retries, w2, err, errlen))
			return -1;
		h->hook.retries = (int)retries;
		if (alert_url_parse(&h->hook, url, e2, sizeof e2) != 0)
			return errf_fail(err, errlen, "%s.%s", w2, e2);
		if (lua_getfield(L, w, "template") == LUA_TSTRING) {
			h->hook.template_text = strdup(lua_tostring(L, -1));
		} else if (!lua_isnil(L, -1)) {
			errf(err, errlen, "%s.template: expected a string", w2);
			return -1;
		}
		lua_pop(L, 1);
	} else if (t != LUA_TNIL) {
		return errf_fail(err, errlen, "%s.webhook: expected a table { url = ... }", where);
	}
	lua_pop(L, 1);
	t = lua_getfield(L, tbl, "rules");
	int rules = lua_gettop(L);
	if (t == LUA_TTABLE) {
		int n = (int)lua_rawlen(L, rules);
		h->rules = calloc((size_t)(n ? n : 1), sizeof *h->rules);
		if (!h->rules)
			return errf_fail(err, errlen, "out of memory");
		for (int i = 1; i <= n; i++) {
			char w2[4300];
			snprintf(w2, sizeof w2, "%s.rules[%d]", where, i);
			if (lua_rawgeti(L, rules, i) != LUA_TTABLE)
				return errf_fail(err, errlen, "%s: expected a table", w2);
			if (read_rule(&h->rules[i - 1], L, lua_gettop(L), w2, err, errlen) != 0)
				return -1;
			if (!h->rules[i - 1].name[0])
				snprintf(h->rules[i - 1].name, sizeof h->rules[i - 1].name, "%s_%d",
					 alert_when_name(h->rules[i - 1].when), i);
			if ((h->rules[i - 1].actions & ACT_WEBHOOK) && !h->hook.url[0])
				return errf_fail(err, errlen, "%s.actions: webhook, but alerts.webhook "
							      "has no url", w2);
			h->nrules = i;
			lua_pop(L, 1);
		}
	} else if (t != LUA_TNIL) {
		return errf_fail(err, errlen, "%s.rules: expected a list of rules", where);
	}
	lua_pop(L, 1);
	return 0;
}

int http_config_load(struct http_config *h, struct deploy_config *c, const char *flag, char *err,
		     size_t errlen)
{
	memset(h, 0, sizeof *h);
	h->rate = 50;
	h->history = 600;
	h->sample = 1;
	h->every = 0.25;
	h->hook.timeout_s = 2;
	h->hook.retries = 5;
	err[0] = '\0';
	if (c && c->L) {
		lua_State *L = c->L;
		int top = lua_gettop(L), rc = 0;
		if (lua_getfield(L, 1, "http") == LUA_TTABLE)
			rc = read_http(h, L, lua_gettop(L), c->path, err, errlen);
		else if (!lua_isnil(L, -1))
			rc = errf_fail(err, errlen, "%s: http: expected a table", c->path);
		lua_settop(L, top);
		if (rc == 0 && lua_getfield(L, 1, "alerts") == LUA_TTABLE)
			rc = read_alerts(h, L, lua_gettop(L), c->path, err, errlen);
		else if (rc == 0 && !lua_isnil(L, -1))
			rc = errf_fail(err, errlen, "%s: alerts: expected a table", c->path);
		lua_settop(L, top);
		if (rc != 0) {
			http_config_free(h);
			return -1;
		}
	}
	if (flag)
		snprintf(h->listen, sizeof h->listen, "%s", flag);
	h->enabled = h->listen[0] != '\0';
	if (!h->enabled && h->nrules > 0)
		h->enabled = 1; /* alerts run without a listener */
	return 0;
}

void http_config_free(struct http_config *h)
{
	free(h->rules);
	free(h->hook.template_text);
	h->rules = NULL;
	h->hook.template_text = NULL;
}
