/*
 * risk_config — the deploy config's `risk` table, and `ctl set risk.KEY=VALUE`.
 *
 * One table of keys drives both paths, so a value the config refuses is
 * refused at run time too, with the same words: `risk.KEY: expected ..., got ...`.
 * Loading is all or nothing: limits are built in a local copy and stored only
 * when every key is valid. The Lua table is read raw (no metamethods) and the
 * stack is left as it was found.
 */
#include "risk_config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "lua_compat.h"

enum kind {
	K_WHOLE,	/* a positive whole number */
	K_NONNEG_WHOLE, /* a whole number >= 0 */
	K_NUMBER,	/* a positive number */
	K_PCT,		/* above 0, at most 100 */
	K_RATE,		/* whole, 1..RISK_RATE_CAP */
	K_FILLS,	/* whole, 1..RISK_THROTTLE_CAP */
	K_MS,		/* milliseconds in the config, nanoseconds in the limits */
	K_BOOL,
	K_POSITION,   /* max_position: number or { default = , SYM = } */
	K_THROTTLE,   /* { fills = , window_ms = } */
	K_RESTRICTED, /* { "SYM", ... } */
};

#define MAX_MS 1e12 /* ~31 years: keeps the nanoseconds inside int64_t */

struct key_desc {
	const char *name;
	enum kind kind;
	size_t off;
	int64_t unset_ns; /* K_MS: the disabled value */
	bool in_config;	  /* a key of the `risk` table */
	bool settable;	  /* accepted by risk_limits_set */
};

#define F(field) offsetof(struct risk_limits, field)
static const struct key_desc keys[] = {
    {"max_order_qty", K_WHOLE, F(max_order_qty), 0, true, true},
    {"max_order_notional", K_NUMBER, F(max_order_notional), 0, true, true},
    {"max_position", K_POSITION, F(max_position), 0, true, true},
    {"price_collar_pct", K_PCT, F(price_collar_pct), 0, true, true},
    {"stale_reference_ms", K_MS, F(stale_reference_ns), RISK_UNSET_NS, true, true},
    {"max_gross_exposure", K_NUMBER, F(max_gross_exposure), 0, true, true},
    {"max_open_orders", K_WHOLE, F(max_open_orders), 0, true, true},
    {"max_orders_per_sec", K_RATE, F(max_orders_per_sec), 0, true, true},
    {"max_msgs_per_sec", K_RATE, F(max_msgs_per_sec), 0, true, true},
    {"duplicate_window_ms", K_MS, F(duplicate_window_ns), 0, true, true},
    {"max_daily_loss", K_NUMBER, F(max_daily_loss), 0, true, true},
    {"max_drawdown", K_NUMBER, F(max_drawdown), 0, true, true},
    {"max_drawdown_pct", K_PCT, F(max_drawdown_pct), 0, true, true},
    {"throttle", K_THROTTLE, 0, 0, true, false},
    {"throttle.fills", K_FILLS, F(throttle_fills), 0, false, true},
    {"throttle.window_ms", K_MS, F(throttle_window_ns), 0, false, true},
    {"restricted", K_RESTRICTED, 0, 0, true, false},
    {"reduce_only_when_halted", K_BOOL, F(reduce_only_when_halted), 0, true, true},
};
#undef F
#define NKEYS (sizeof keys / sizeof keys[0])

static const struct key_desc *find_key(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}


static bool is_whole(double v)
{
	return v >= -9007199254740992.0 && v <= 9007199254740992.0 && v == (double)(int64_t)v;
}

/* What is wrong with v for a numeric kind ("expected ..."), or NULL. */
static const char *complaint(enum kind k, double v)
{
	if (isnan(v) || isinf(v))
		return "expected a finite number";
	switch (k) {
	case K_NONNEG_WHOLE:
		if (v < 0)
			return "expected a non-negative number";
		return is_whole(v) ? NULL : "expected a whole number";
	case K_WHOLE:
		if (v <= 0)
			return "expected a positive number";
		return is_whole(v) ? NULL : "expected a whole number";
	case K_RATE:
		if (v <= 0)
			return "expected a positive number";
		if (!is_whole(v) || v > RISK_RATE_CAP)
			return "expected a whole number from 1 to 4096";
		return NULL;
	case K_FILLS:
		if (v <= 0)
			return "expected a positive number";
		if (!is_whole(v) || v > RISK_THROTTLE_CAP)
			return "expected a whole number from 1 to 256";
		return NULL;
	case K_PCT:
		if (v <= 0)
			return "expected a positive number";
		return v <= 100 ? NULL : "expected a percentage of at most 100";
	case K_MS:
		if (v <= 0)
			return "expected a positive number";
		return v <= MAX_MS ? NULL : "expected at most 1e12 milliseconds";
	case K_NUMBER:
		return v > 0 ? NULL : "expected a positive number";
	default:
		return "expected a number";
	}
}

static void store_number(struct risk_limits *l, const struct key_desc *d, double v)
{
	char *field = (char *)l + d->off;
	if (d->kind == K_MS) {
		int64_t ns = (int64_t)llround(v * 1e6);
		*(int64_t *)(void *)field = ns > 0 ? ns : 1;
	} else {
		*(double *)(void *)field = v;
	}
}

static void format_number(char *buf, size_t n, double v)
{
	if (isnan(v))
		snprintf(buf, n, "nan"); /* not "-nan": the sign of a NaN says nothing */
	else
		snprintf(buf, n, "%.15g", v);
}

/* ---- Lua ---- */

struct loader {
	lua_State *L;
	struct risk_limits *l;
	int (*symbol_id)(void *ud, const char *sym);
	void *ud;
	char *err;
	size_t errlen;
};

/* "number -5", "string \"abc\"", "boolean true", "table" ... */
static void describe(lua_State *L, int idx, char *buf, size_t n)
{
	switch (lua_type(L, idx)) {
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx))
			snprintf(buf, n, "%lld", (long long)lua_tointeger(L, idx));
		else
			format_number(buf, n, lua_tonumber(L, idx));
		break;
	case LUA_TSTRING:
		snprintf(buf, n, "string \"%.40s\"", lua_tostring(L, idx));
		break;
	case LUA_TBOOLEAN:
		snprintf(buf, n, "boolean %s", lua_toboolean(L, idx) ? "true" : "false");
		break;
	default:
		snprintf(buf, n, "%s", lua_typename(L, lua_type(L, idx)));
		break;
	}
}

static int fail_value(struct loader *c, const char *path, const char *expected, int idx)
{
	char got[80];
	describe(c->L, idx, got, sizeof got);
	return errf_fail(c->err, c->errlen, "risk.%s: %s, got %s", path, expected, got);
}

/* The number at idx, validated for kind; -1 with the error set. */
static int lua_number_of(struct loader *c, const char *path, enum kind k, int idx, double *out)
{
	if (lua_type(c->L, idx) != LUA_TNUMBER)
		return fail_value(c, path, "expected a number", idx);
	double v = lua_tonumber(c->L, idx);
	const char *what = complaint(k, v);
	if (what)
		return fail_value(c, path, what, idx);
	*out = v;
	return 0;
}

/* The id of a symbol that may carry per-symbol limits. */
static int symbol_of(struct loader *c, const char *path, const char *sym, int *out)
{
	int id = c->symbol_id ? c->symbol_id(c->ud, sym) : -1;
	if (id < 0)
		return errf_fail(c->err, c->errlen, "risk.%s: unknown symbol \"%s\"", path, sym);
	if (id >= RISK_MAX_SYMBOLS)
		return errf_fail(c->err, c->errlen,
			    "risk.%s: symbol \"%s\" has id %d, beyond the per-symbol table "
			    "(ids 0 to %d)",
			    path, sym, id, RISK_MAX_SYMBOLS - 1);
	*out = id;
	return 0;
}

/* A position limit: a number (both sides) or { long = n, short = n }. */
static int lua_position(struct loader *c, const char *path, int idx,
			struct risk_position_limit *out)
{
	lua_State *L = c->L;
	struct risk_position_limit p = {RISK_UNSET, RISK_UNSET};
	char sub[160];
	if (lua_type(L, idx) == LUA_TNUMBER) {
		if (lua_number_of(c, path, K_NONNEG_WHOLE, idx, &p.max_long))
			return -1;
		p.max_short = p.max_long;
		*out = p;
		return 0;
	}
	if (lua_type(L, idx) != LUA_TTABLE)
		return fail_value(c, path, "expected a number or a table { long = n, short = n }",
				  idx);
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
		double *side = !k			 ? NULL
			       : strcmp(k, "long") == 0	 ? &p.max_long
			       : strcmp(k, "short") == 0 ? &p.max_short
							 : NULL;
		if (!side) {
			char kd[80];
			describe(L, -2, kd, sizeof kd);
			lua_pop(L, 2);
			return errf_fail(c->err, c->errlen,
				    "risk.%s: unknown key %s (expected long or short)", path,
				    k ? k : kd);
		}
		snprintf(sub, sizeof sub, "%s.%s", path, k);
		if (lua_number_of(c, sub, K_NONNEG_WHOLE, lua_gettop(L), side)) {
			lua_pop(L, 2);
			return -1;
		}
		lua_pop(L, 1);
	}
	*out = p;
	return 0;
}

static int lua_max_position(struct loader *c, int idx)
{
	lua_State *L = c->L;
	if (lua_type(L, idx) != LUA_TTABLE)
		return lua_position(c, "max_position", idx, &c->l->max_position);
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		int v = lua_gettop(L);
		if (lua_type(L, -2) != LUA_TSTRING) {
			char kd[80];
			describe(L, -2, kd, sizeof kd);
			lua_pop(L, 2);
			return errf_fail(c->err, c->errlen,
				    "risk.max_position: expected symbol names or default as keys, "
				    "got %s",
				    kd);
		}
		const char *sym = lua_tostring(L, -2);
		char path[160];
		snprintf(path, sizeof path, "max_position.%s", sym);
		struct risk_position_limit p;
		int id = -1;
		int rc = lua_position(c, path, v, &p);
		if (rc == 0 && strcmp(sym, "default") == 0) {
			c->l->max_position = p;
		} else if (rc == 0 && (rc = symbol_of(c, path, sym, &id)) == 0 &&
			   risk_limits_set_position(c->l, id, p.max_long, p.max_short) != 0) {
			rc = errf_fail(c->err, c->errlen,
				  "risk.max_position: more than %d per-symbol limits (the table's "
				  "capacity)",
				  RISK_MAX_OVERRIDES);
		}
		if (rc) {
			lua_pop(L, 2);
			return -1;
		}
		lua_pop(L, 1);
	}
	return 0;
}

static int lua_throttle(struct loader *c, int idx)
{
	lua_State *L = c->L;
	double fills = 0, window_ms = 0;
	if (lua_type(L, idx) != LUA_TTABLE)
		return fail_value(c, "throttle", "expected a table { fills = N, window_ms = M }",
				  idx);
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
		int rc;
		if (strcmp(k, "fills") == 0) {
			rc = lua_number_of(c, "throttle.fills", K_FILLS, lua_gettop(L), &fills);
		} else if (strcmp(k, "window_ms") == 0) {
			rc =
			    lua_number_of(c, "throttle.window_ms", K_MS, lua_gettop(L), &window_ms);
		} else {
			char kd[80];
			describe(L, -2, kd, sizeof kd);
			rc = errf_fail(c->err, c->errlen,
				  "risk.throttle: unknown key %s (expected fills and window_ms)",
				  *k ? k : kd);
		}
		if (rc) {
			lua_pop(L, 2);
			return -1;
		}
		lua_pop(L, 1);
	}
	if (fills == 0 || window_ms == 0)
		return errf_fail(c->err, c->errlen,
			    "risk.throttle: expected both fills and window_ms, e.g. "
			    "{ fills = 10, window_ms = 60000 }");
	store_number(c->l, find_key("throttle.fills"), fills);
	store_number(c->l, find_key("throttle.window_ms"), window_ms);
	return 0;
}

static int lua_restricted(struct loader *c, int idx)
{
	lua_State *L = c->L;
	if (lua_type(L, idx) != LUA_TTABLE)
		return fail_value(c, "restricted", "expected a list of symbol names", idx);
	lua_Integer n = (lua_Integer)lua_rawlen(L, idx), seen = 0;
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		seen++;
		lua_pop(L, 1);
	}
	if (seen != n)
		return errf_fail(c->err, c->errlen,
			    "risk.restricted: expected a list of symbol names, e.g. "
			    "{ \"XYZ\" }, got a table with other keys");
	for (lua_Integer i = 1; i <= n; i++) {
		char path[48];
		snprintf(path, sizeof path, "restricted[%lld]", (long long)i);
		lua_rawgeti(L, idx, i);
		int id = -1;
		int rc = lua_type(L, -1) == LUA_TSTRING
			     ? symbol_of(c, path, lua_tostring(L, -1), &id)
			     : fail_value(c, path, "expected a symbol name", -1);
		lua_pop(L, 1);
		if (rc)
			return -1;
		risk_limits_restrict(c->l, id, true);
	}
	return 0;
}

static int lua_key(struct loader *c, const struct key_desc *d, int idx)
{
	double v;
	switch (d->kind) {
	case K_POSITION:
		return lua_max_position(c, idx);
	case K_THROTTLE:
		return lua_throttle(c, idx);
	case K_RESTRICTED:
		return lua_restricted(c, idx);
	case K_BOOL:
		if (lua_type(c->L, idx) != LUA_TBOOLEAN)
			return fail_value(c, d->name, "expected true or false", idx);
		*(bool *)(void *)((char *)c->l + d->off) = lua_toboolean(c->L, idx);
		return 0;
	default:
		if (lua_number_of(c, d->name, d->kind, idx, &v))
			return -1;
		store_number(c->l, d, v);
		return 0;
	}
}

int risk_limits_from_lua(lua_State *L, int idx, struct risk_limits *out,
			 int (*symbol_id)(void *ud, const char *sym), void *ud, char *err,
			 size_t errlen)
{
	struct risk_limits l;
	struct loader c = {L, &l, symbol_id, ud, err, errlen};
	idx = lua_absindex(L, idx);
	if (lua_type(L, idx) != LUA_TTABLE) {
		char got[80];
		describe(L, idx, got, sizeof got);
		return errf_fail(err, errlen, "risk: expected a table, got %s", got);
	}
	if (!lua_checkstack(L, 8))
		return errf_fail(err, errlen, "risk: out of Lua stack");
	risk_limits_init(&l);
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		const struct key_desc *d = NULL;
		int rc;
		if (lua_type(L, -2) != LUA_TSTRING) {
			char kd[80];
			describe(L, -2, kd, sizeof kd);
			rc = errf_fail(err, errlen, "risk: expected names as keys, got %s", kd);
		} else if (!(d = find_key(lua_tostring(L, -2))) || !d->in_config) {
			rc = errf_fail(err, errlen, "risk.%s: unknown key", lua_tostring(L, -2));
		} else {
			rc = lua_key(&c, d, lua_gettop(L));
		}
		if (rc) {
			lua_pop(L, 2);
			return -1;
		}
		lua_pop(L, 1);
	}
	memcpy(out, &l, sizeof l);
	return 0;
}

/* ---- ctl set / get ---- */

static const char *strip_prefix(const char *key)
{
	return strncmp(key, "risk.", 5) == 0 ? key + 5 : key;
}

static void format_limit(char *out, size_t n, double v)
{
	if (v >= RISK_UNSET)
		snprintf(out, n, "none");
	else
		format_number(out, n, v);
}

static void format_key(const struct risk_limits *l, const struct key_desc *d, char *out, size_t n)
{
	const char *field = (const char *)l + d->off;
	switch (d->kind) {
	case K_BOOL:
		snprintf(out, n, "%s", *(const bool *)(const void *)field ? "true" : "false");
		break;
	case K_MS: {
		int64_t ns = *(const int64_t *)(const void *)field;
		if (ns == d->unset_ns)
			snprintf(out, n, "none");
		else
			format_number(out, n, (double)ns / 1e6);
		break;
	}
	case K_POSITION:
		if (l->max_position.max_long == l->max_position.max_short) {
			format_limit(out, n, l->max_position.max_long);
		} else {
			char a[32], b[32];
			format_limit(a, sizeof a, l->max_position.max_long);
			format_limit(b, sizeof b, l->max_position.max_short);
			snprintf(out, n, "long=%s,short=%s", a, b);
		}
		break;
	default:
		format_limit(out, n, *(const double *)(const void *)field);
		break;
	}
}

int risk_limits_get(const struct risk_limits *l, const char *key, char *out, size_t outlen)
{
	const struct key_desc *d = find_key(strip_prefix(key));
	if (!d || !d->settable)
		return -1;
	format_key(l, d, out, outlen);
	return 0;
}

/* The whole of s as a finite number, spaces around allowed. */
static bool parse_number(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno == ERANGE)
		return false;
	while (*end == ' ' || *end == '\t')
		end++;
	if (*end != '\0' || !isfinite(v))
		return false;
	*out = v;
	return true;
}

static void disable(struct risk_limits *l, const struct key_desc *d)
{
	char *field = (char *)l + d->off;
	if (d->kind == K_MS)
		*(int64_t *)(void *)field = d->unset_ns;
	else if (d->kind == K_POSITION)
		l->max_position.max_long = l->max_position.max_short = RISK_UNSET;
	else
		*(double *)(void *)field = RISK_UNSET;
}

int risk_limits_set(struct risk_limits *l, const char *key, const char *value, char *old_out,
		    size_t oldlen, char *err, size_t errlen)
{
	const char *name = strip_prefix(key);
	const struct key_desc *d = find_key(name);
	if (!d)
		return errf_fail(err, errlen, "risk.%s: unknown key", name);
	if (!d->settable)
		return errf_fail(err, errlen,
			    "risk.%s: cannot be set at run time; edit the deploy config and reload",
			    name);
	while (*value == ' ' || *value == '\t')
		value++;

	char old[64];
	format_key(l, d, old, sizeof old);

	if (d->kind == K_BOOL) {
		bool b;
		if (strcmp(value, "true") == 0)
			b = true;
		else if (strcmp(value, "false") == 0)
			b = false;
		else
			return errf_fail(err, errlen, "risk.%s: expected true or false, got \"%.40s\"",
				    name, value);
		*(bool *)(void *)((char *)l + d->off) = b;
	} else if (strcmp(value, "none") == 0) {
		disable(l, d);
	} else {
		enum kind k = d->kind == K_POSITION ? K_NONNEG_WHOLE : d->kind;
		double v;
		if (!parse_number(value, &v))
			return errf_fail(
			    err, errlen,
			    "risk.%s: expected a number (or none to disable), got \"%.40s\"", name,
			    value);
		const char *what = complaint(k, v);
		if (what) {
			char got[40];
			format_number(got, sizeof got, v);
			return errf_fail(err, errlen, "risk.%s: %s, got %s", name, what, got);
		}
		if (d->kind == K_POSITION)
			l->max_position.max_long = l->max_position.max_short = v;
		else
			store_number(l, d, v);
	}
	l->off &= ~risk_limits_needed(l);
	if (old_out && oldlen)
		snprintf(old_out, oldlen, "%s", old);
	return 0;
}
