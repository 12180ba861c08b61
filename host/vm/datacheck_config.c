/*
 * datacheck_config — see datacheck_config.h. A check's value is its level
 * ("error", "warn", "off", or false for off) or a table with `level` and
 * the check's own numbers.
 */
#include "datacheck_config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

/* What each check's table may hold besides `level`. */
static const char *const extra_keys[DC__COUNT][3] = {
    [DC_GAPS] = {"interval"},
    [DC_JUMP] = {"sigmas", "pct"},
    [DC_STALE] = {"run"},
    [DC_VOLUME_SPIKE] = {"sigmas"},
};

static int level_of(lua_State *L, int idx, const char *path, const char *key, int *out, char *err,
		    size_t errlen)
{
	if (lua_type(L, idx) == LUA_TBOOLEAN && !lua_toboolean(L, idx)) {
		*out = DC_OFF;
		return 0;
	}
	const char *s = lua_type(L, idx) == LUA_TSTRING ? lua_tostring(L, idx) : NULL;
	if (s && (!strcmp(s, "error") || !strcmp(s, "warn") || !strcmp(s, "off"))) {
		*out = !strcmp(s, "error") ? DC_ERROR : !strcmp(s, "warn") ? DC_WARN : DC_OFF;
		return 0;
	}
	return errf_fail(err, errlen,
			 "%s: data_checks.%s: expected \"error\", \"warn\" or \"off\" "
			 "(or false), got %s",
			 path, key, s ? s : luaL_typename(L, idx));
}

static int number_of(lua_State *L, int idx, const char *path, const char *check, const char *key,
		     double min, double *out, char *err, size_t errlen)
{
	if (lua_type(L, idx) != LUA_TNUMBER || !isfinite(lua_tonumber(L, idx)) ||
	    lua_tonumber(L, idx) < min)
		return errf_fail(
		    err, errlen, "%s: data_checks.%s%s%s: expected a number >= %g, got %s", path,
		    check, *check ? "." : "", key, min,
		    lua_type(L, idx) == LUA_TNUMBER ? lua_tostring(L, idx) : luaL_typename(L, idx));
	*out = lua_tonumber(L, idx);
	return 0;
}

/* A number of one check's table into the config. */
static int check_number(lua_State *L, int idx, const char *path, int kind, const char *key,
			struct datacheck_config *c, char *err, size_t errlen)
{
	const char *name = datacheck_name(kind);
	if (kind == DC_GAPS && lua_type(L, idx) == LUA_TSTRING &&
	    !strcmp(lua_tostring(L, idx), "auto")) {
		c->gap_interval_s = 0;
		return 0;
	}
	double v;
	if (number_of(L, idx, path, name, key, 0, &v, err, errlen) != 0)
		return -1;
	if (kind == DC_GAPS)
		c->gap_interval_s = v;
	else if (kind == DC_JUMP && !strcmp(key, "sigmas"))
		c->jump_sigmas = v;
	else if (kind == DC_JUMP)
		c->jump_pct = v;
	else if (kind == DC_STALE)
		c->stale_run = v > 1e6 ? 1000000 : (int)v;
	else
		c->volume_sigmas = v;
	return 0;
}

static int check_table(lua_State *L, int idx, const char *path, int kind,
		       struct datacheck_config *c, char *err, size_t errlen)
{
	const char *name = datacheck_name(kind);
	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {
		const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
		int rc = -1, known = 0;
		if (key && !strcmp(key, "level")) {
			char full[64];
			snprintf(full, sizeof full, "%s.level", name);
			known = 1;
			rc = level_of(L, lua_gettop(L), path, full, &c->level[kind], err, errlen);
		}
		for (int i = 0; !known && key && i < 3 && extra_keys[kind][i]; i++)
			if (!strcmp(key, extra_keys[kind][i])) {
				known = 1;
				rc =
				    check_number(L, lua_gettop(L), path, kind, key, c, err, errlen);
			}
		if (!known) {
			char list[128] = "level";
			for (int i = 0; i < 3 && extra_keys[kind][i]; i++)
				snprintf(list + strlen(list), sizeof list - strlen(list), ", %s",
					 extra_keys[kind][i]);
			errf(err, errlen, "%s: data_checks.%s: unknown key '%s' (keys: %s)", path,
			     name, key ? key : "?", list);
		}
		lua_pop(L, 1);
		if (rc != 0) {
			lua_pop(L, 1);
			return -1;
		}
	}
	return 0;
}

/* One table's keys over c; `bars` / `ticks` inside it only at the top. */
static int read_table(lua_State *L, int idx, const char *path, int top, int ticks,
		      struct datacheck_config *c, char *err, size_t errlen)
{
	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {
		int v = lua_gettop(L), rc = 0;
		const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
		int kind = datacheck_kind(key);
		if (kind >= 0 && lua_type(L, v) == LUA_TTABLE) {
			rc = check_table(L, v, path, kind, c, err, errlen);
		} else if (kind >= 0) {
			rc = level_of(L, v, path, key, &c->level[kind], err, errlen);
		} else if (!strcmp(key, "policy")) {
			const char *p = lua_type(L, v) == LUA_TSTRING ? lua_tostring(L, v) : "";
			if (!strcmp(p, "pass") || !strcmp(p, "flag") || !strcmp(p, "hold"))
				c->policy = !strcmp(p, "hold")	 ? DC_HOLD
					    : !strcmp(p, "flag") ? DC_FLAG
								 : DC_PASS;
			else
				rc = errf_fail(err, errlen,
					       "%s: data_checks.policy: expected \"pass\", "
					       "\"flag\" or \"hold\", got %s",
					       path, *p ? p : luaL_typename(L, v));
		} else if (!strcmp(key, "window") || !strcmp(key, "warmup")) {
			double n = 0;
			rc = number_of(L, v, path, "", key, 1, &n, err, errlen);
			if (!rc && !strcmp(key, "window"))
				c->window = n > 1e6 ? 1000000 : (int)n;
			else if (!rc)
				c->warmup = n > 1e6 ? 1000000 : (int)n;
		} else if (top && (!strcmp(key, "bars") || !strcmp(key, "ticks"))) {
			if (lua_type(L, v) != LUA_TTABLE)
				rc = errf_fail(err, errlen, "%s: data_checks.%s: expected a table",
					       path, key);
			/* read after the top level, so that it wins whatever the order */
		} else {
			rc = errf_fail(
			    err, errlen,
			    "%s: data_checks: unknown key '%s' (keys: prices, ohlc, time_back, "
			    "duplicates, gaps, jump, stale, volume_spike, crossed, policy, "
			    "window, warmup, bars, ticks)",
			    path, key);
		}
		lua_pop(L, 1);
		if (rc != 0) {
			lua_pop(L, 1);
			return -1;
		}
	}
	if (!top)
		return 0;
	const char *own = ticks ? "ticks" : "bars";
	if (lua_getfield(L, idx, own) == LUA_TTABLE) {
		char inner[1024];
		int rc = read_table(L, lua_gettop(L), path, 0, ticks, c, inner, sizeof inner);
		lua_pop(L, 1);
		if (rc != 0) { /* name the sub-table: data_checks.bars.KEY */
			const char *at = strstr(inner, "data_checks");
			if (at)
				errf(err, errlen, "%s: data_checks.%s%s", path, own,
				     at + strlen("data_checks"));
			else
				errf(err, errlen, "%s", inner);
			return -1;
		}
		return 0;
	}
	lua_pop(L, 1);
	return 0;
}

int datacheck_config_from_lua(lua_State *L, int idx, const char *path, int ticks,
			      struct datacheck_config *out, char *err, size_t errlen)
{
	struct datacheck_config c;
	datacheck_defaults(&c);
	idx = lua_absindex(L, idx);
	if (lua_type(L, idx) == LUA_TBOOLEAN && !lua_toboolean(L, idx)) {
		c.disabled = 1;
		*out = c;
		return 0;
	}
	if (lua_type(L, idx) != LUA_TTABLE)
		return errf_fail(err, errlen, "%s: data_checks: expected a table (or false)", path);
	if (read_table(L, idx, path, 1, ticks, &c, err, errlen) != 0)
		return -1;
	*out = c;
	return 0;
}

int config_data_checks(const struct deploy_config *c, int ticks, struct datacheck_config *out,
		       char *err, size_t errlen)
{
	datacheck_defaults(out);
	if (!c->L)
		return 0;
	int t = lua_getfield(c->L, 1, "data_checks");
	int rc = t == LUA_TNIL
		     ? 0
		     : datacheck_config_from_lua(c->L, -1, c->path, ticks, out, err, errlen);
	lua_pop(c->L, 1);
	return rc;
}
