/*
 * config — see config.h. The Lua state stays open after loading so that the
 * risk section can be read by risk_limits_from_lua without a second copy.
 * It is a vm.c core (host/vm/vm-internal.h): the same capped allocator as a
 * strategy's, and a budget of instructions rather than CPU time, so that a
 * config passes or fails the same way on every machine.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bars.h"
#include "log.h"
#include "timefmt.h"
#include "tz.h"
#include "vm-internal.h"

#define CONFIG_MEMORY (16u << 20)
#define CONFIG_INSTRUCTIONS 10000000

static const char *const top_keys[] = {"params", "risk", "firm_risk", "sandbox", "http",
				       "journal", "fees", "cash", "seed", "venue", "feed", "log",
				       "symbols", "data", "timezone", "sim", "warmup",
				       "session_open", "data_checks", "alerts", NULL};

static int number_field(lua_State *L, int tbl, const char *section, const char *key, double min,
			double *out, struct deploy_config *c, char *err, size_t errlen)
{
	int t = lua_getfield(L, tbl, key);
	if (t == LUA_TNIL) {
		lua_pop(L, 1);
		return 0;
	}
	if (t != LUA_TNUMBER || !isfinite(lua_tonumber(L, -1)) || lua_tonumber(L, -1) < min ||
	    (min > 0 && lua_tonumber(L, -1) == 0)) {
		errf(err, errlen, "%s: %s%s%s: expected a %s number, got %s", c->path,
		     section, *section ? "." : "", key, min > 0 ? "positive" : "non-negative",
		     t == LUA_TNUMBER ? lua_tostring(L, -1) : lua_typename(L, t));
		return -1;
	}
	*out = lua_tonumber(L, -1);
	lua_pop(L, 1);
	return 0;
}

static int check_keys(lua_State *L, int tbl, const char *section, const char *const *known,
		      struct deploy_config *c, char *err, size_t errlen)
{
	lua_pushnil(L);
	while (lua_next(L, tbl) != 0) {
		lua_pop(L, 1);
		int ok = 0;
		if (lua_type(L, -1) == LUA_TSTRING)
			for (int i = 0; known[i]; i++)
				ok |= strcmp(lua_tostring(L, -1), known[i]) == 0;
		if (!ok) {
			char list[256];
			size_t n = 0;
			for (int i = 0; known[i] && n < sizeof list; i++)
				n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "",
						      known[i]);
			errf(err, errlen, "%s: unknown key '%s%s%s' (known: %s)", c->path, section,
			     *section ? "." : "",
			     lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?", list);
			lua_pop(L, 1);
			return -1;
		}
	}
	return 0;
}

static int add_param(struct deploy_config *c, lua_State *L, const char *scope, const char *key,
		     char *err, size_t errlen)
{
	struct param *p = realloc(c->params, (size_t)(c->nparams + 1) * sizeof *p);
	if (!p) {
		errf(err, errlen, "out of memory");
		return -1;
	}
	c->params = p;
	p = &c->params[c->nparams];
	memset(p, 0, sizeof *p);
	int n = snprintf(p->key, sizeof p->key, "%s%s%s", scope ? scope : "", scope ? "." : "", key);
	if (n < 0 || (size_t)n >= sizeof p->key) {
		errf(err, errlen, "%s: params.%s: name too long", c->path, key);
		return -1;
	}
	p->origin = c->path;
	switch (lua_type(L, -1)) {
	case LUA_TNUMBER:
		if (lua_isinteger(L, -1)) {
			p->kind = PARAM_INTEGER;
			p->integer = lua_tointeger(L, -1);
		} else {
			p->kind = PARAM_NUMBER;
			p->num = lua_tonumber(L, -1);
		}
		break;
	case LUA_TBOOLEAN:
		p->kind = PARAM_BOOLEAN;
		p->boolean = lua_toboolean(L, -1);
		break;
	case LUA_TSTRING:
		p->kind = PARAM_STRING;
		p->str = strdup(lua_tostring(L, -1));
		if (!p->str) {
			errf(err, errlen, "out of memory");
			return -1;
		}
		break;
	default:
		errf(err, errlen, "%s: params.%s%s%s: expected a number, string or boolean, got %s",
		     c->path, scope ? scope : "", scope ? "." : "", key, luaL_typename(L, -1));
		return -1;
	}
	c->nparams++;
	return 0;
}

static int read_params(struct deploy_config *c, lua_State *L, int tbl, char *err, size_t errlen)
{
	lua_pushnil(L);
	while (lua_next(L, tbl) != 0) {
		if (lua_type(L, -2) != LUA_TSTRING) {
			errf(err, errlen, "%s: params: keys must be names", c->path);
			return -1;
		}
		const char *k = lua_tostring(L, -2);
		if (lua_istable(L, -1)) { /* params for one strategy, by name */
			int inner = lua_gettop(L);
			lua_pushnil(L);
			while (lua_next(L, inner) != 0) {
				if (lua_type(L, -2) != LUA_TSTRING ||
				    add_param(c, L, k, lua_tostring(L, -2), err, errlen) != 0) {
					if (lua_type(L, -2) != LUA_TSTRING)
						errf(err, errlen, "%s: params.%s: keys must be names",
						     c->path, k);
					return -1;
				}
				lua_pop(L, 1);
			}
		} else if (add_param(c, L, NULL, k, err, errlen) != 0) {
			return -1;
		}
		lua_pop(L, 1);
	}
	return 0;
}

/* `symbols = { BTCUSDT = { lot = 0.0001, tick = 0.01 }, ... }`: what trades
 * in fractions, and on what price grid. */
static int read_symbols(struct deploy_config *c, lua_State *L, int tbl, char *err,
			size_t errlen)
{
	static const char *const keys[] = {"lot", "tick", NULL};
	lua_pushnil(L);
	while (lua_next(L, tbl) != 0) {
		if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TTABLE) {
			errf(err, errlen, "%s: symbols: expected SYMBOL = { lot = N, tick = N }",
			     c->path);
			return -1;
		}
		const char *name = lua_tostring(L, -2);
		char section[64];
		snprintf(section, sizeof section, "symbols.%s", name);
		struct config_symbol *v = realloc(c->symbols, (size_t)(c->nsymbols + 1) * sizeof *v);
		if (!v)
			return errf(err, errlen, "out of memory"), -1;
		c->symbols = v;
		struct config_symbol *y = &c->symbols[c->nsymbols];
		memset(y, 0, sizeof *y);
		if (strlen(name) >= sizeof y->name) {
			errf(err, errlen, "%s: %s: a symbol name is at most %zu characters", c->path,
			     section, sizeof y->name - 1);
			return -1;
		}
		snprintf(y->name, sizeof y->name, "%s", name);
		int s = lua_gettop(L);
		if (check_keys(L, s, section, keys, c, err, errlen) ||
		    number_field(L, s, section, "lot", 1e-300, &y->lot, c, err, errlen) ||
		    number_field(L, s, section, "tick", 1e-300, &y->tick, c, err, errlen))
			return -1;
		c->nsymbols++;
		lua_pop(L, 1);
	}
	return 0;
}

/* Appends piece (after sep when *s is not empty) to the owned string *s. */
static int append(char **s, const char *sep, const char *piece)
{
	size_t n = *s ? strlen(*s) : 0, k = strlen(piece), g = n ? strlen(sep) : 0;
	char *p = realloc(*s, n + g + k + 1);
	if (!p)
		return -1;
	memcpy(p + n, sep, g);
	memcpy(p + n + g, piece, k + 1);
	*s = p;
	return 0;
}

/* A column name: a string that a CSV header can hold. */
static const char *column_name(lua_State *L, int idx)
{
	const char *v = lua_type(L, idx) == LUA_TSTRING ? lua_tostring(L, idx) : NULL;
	return v && *v && !strchr(v, ',') ? v : NULL;
}

/* `data = { columns = { datetime = "open_time" }, header = { "open_time", ... },
 * time_format = "ms", tz = "America/New_York" }`: how CSV files are read,
 * as --columns, --header, --time-format and --tz say (which win). */
static int read_data(struct deploy_config *c, lua_State *L, int tbl, char *err, size_t errlen)
{
	static const char *const keys[] = {"columns", "header", "time_format", "tz", NULL};
	if (check_keys(L, tbl, "data", keys, c, err, errlen) != 0)
		return -1;
	int t = lua_getfield(L, tbl, "columns"), sub = lua_gettop(L);
	if (t == LUA_TTABLE &&
	    check_keys(L, sub, "data.columns", bars_field_names, c, err, errlen) != 0)
		return -1;
	for (int k = 0; t == LUA_TTABLE && bars_field_names[k]; k++) {
		lua_getfield(L, sub, bars_field_names[k]);
		const char *v = column_name(L, -1);
		if (!v && !lua_isnil(L, -1))
			return errf(err, errlen, "%s: data.columns.%s: expected a column name (a "
						 "string)", c->path, bars_field_names[k]), -1;
		if (v && (append(&c->data_columns, ",", bars_field_names[k]) ||
			  append(&c->data_columns, "=", v)))
			return errf(err, errlen, "out of memory"), -1;
		lua_pop(L, 1);
	}
	if (t != LUA_TTABLE && t != LUA_TNIL)
		return errf(err, errlen, "%s: data.columns: expected a table { FIELD = \"NAME\" }",
			    c->path), -1;
	lua_pop(L, 1);
	t = lua_getfield(L, tbl, "header");
	size_t n = t == LUA_TTABLE ? lua_rawlen(L, -1) : 0;
	for (size_t i = 1; i <= n; i++) {
		lua_rawgeti(L, -1, (lua_Integer)i);
		const char *v = column_name(L, -1);
		if (!v || append(&c->data_header, ",", v))
			return errf(err, errlen, "%s: data.header[%zu]: expected a column name (a "
						 "string)", c->path, i), -1;
		lua_pop(L, 1);
	}
	if ((t != LUA_TTABLE && t != LUA_TNIL) || (t == LUA_TTABLE && n == 0))
		return errf(err, errlen, "%s: data.header: expected a list of column names",
			    c->path), -1;
	lua_pop(L, 1);
	t = lua_getfield(L, tbl, "time_format");
	if (t != LUA_TNIL && (t != LUA_TSTRING || time_form_from_name(lua_tostring(L, -1)) < 0))
		return errf(err, errlen, "%s: data.time_format: expected \"auto\", \"iso\", \"s\", "
					 "\"ms\", \"us\" or \"ns\"", c->path), -1;
	if (t != LUA_TNIL)
		c->data_time_form = time_form_from_name(lua_tostring(L, -1));
	lua_pop(L, 1);
	t = lua_getfield(L, tbl, "tz");
	if (t != LUA_TNIL && t != LUA_TSTRING)
		return errf(err, errlen, "%s: data.tz: expected a zone name (a string, e.g. "
					 "\"America/New_York\")", c->path), -1;
	if (t == LUA_TSTRING && !(c->data_tz = strdup(lua_tostring(L, -1))))
		return errf(err, errlen, "out of memory"), -1;
	lua_pop(L, 1);
	return 0;
}

/* `feed = { passfile = "secrets/soup" }`: the password file of a network
 * feed whose url names none (host/feed/feed_soup.c reads it). */
static int read_feed(struct deploy_config *c, lua_State *L, char *err, size_t errlen)
{
	static const char *const keys[] = {"passfile", NULL};
	int t = lua_getfield(L, 1, "feed");
	if (t == LUA_TNIL) {
		lua_pop(L, 1);
		return 0;
	}
	if (t != LUA_TTABLE)
		return errf(err, errlen, "%s: feed: expected a table { passfile = PATH }", c->path), -1;
	if (check_keys(L, lua_gettop(L), "feed", keys, c, err, errlen) != 0)
		return -1;
	t = lua_getfield(L, -1, "passfile");
	if (t != LUA_TNIL && (t != LUA_TSTRING || !*lua_tostring(L, -1)))
		return errf(err, errlen, "%s: feed.passfile: expected a file name (a string)", c->path), -1;
	if (t == LUA_TSTRING && !(c->feed_passfile = strdup(lua_tostring(L, -1))))
		return errf(err, errlen, "out of memory"), -1;
	lua_pop(L, 2);
	return 0;
}

/* `timezone = "America/New_York"`: the exchange's zone (ctx:at), checked
 * against the tz database now. */
static int read_timezone(struct deploy_config *c, lua_State *L, char *err, size_t errlen)
{
	int t = lua_getfield(L, 1, "timezone");
	if (t == LUA_TNIL)
		return lua_pop(L, 1), 0;
	char why[256];
	struct tz *z = t == LUA_TSTRING ? tz_load(lua_tostring(L, -1), why, sizeof why) : NULL;
	if (!z)
		return errf(err, errlen, "%s: timezone: %s", c->path,
			    t == LUA_TSTRING ? why
					     : "expected a zone name (a string, e.g. "
					       "\"America/New_York\")"),
		       -1;
	tz_free(z);
	if (!(c->timezone = strdup(lua_tostring(L, -1))))
		return errf(err, errlen, "out of memory"), -1;
	lua_pop(L, 1);
	return 0;
}

/* `warmup = "PATH"`: history a running host replays first (a path as
 * --warmup takes it, from the working directory). */
static int read_warmup(struct deploy_config *c, lua_State *L, char *err, size_t errlen)
{
	int t = lua_getfield(L, 1, "warmup");
	if (t == LUA_TNIL)
		return lua_pop(L, 1), 0;
	if (t != LUA_TSTRING || !*lua_tostring(L, -1))
		return errf(err, errlen, "%s: warmup: expected the path of a data file (a string)",
			    c->path),
		       -1;
	if (!(c->warmup = strdup(lua_tostring(L, -1))))
		return errf(err, errlen, "out of memory"), -1;
	lua_pop(L, 1);
	return 0;
}

/* `session_open = "09:30"` (or "HH:MM:SS"): where a strategy's session-
 * aligned timeframes start, in the exchange's zone (`timezone`). */
static int read_session_open(struct deploy_config *c, lua_State *L, char *err, size_t errlen)
{
	int t = lua_getfield(L, 1, "session_open");
	if (t == LUA_TNIL)
		return lua_pop(L, 1), 0;
	const char *v = t == LUA_TSTRING ? lua_tostring(L, -1) : "";
	int h = -1, m = -1, sec = 0, n = 0;
	size_t len = strlen(v);
	if ((len == 5 && sscanf(v, "%2d:%2d%n", &h, &m, &n) == 2 && n == 5) ||
	    (len == 8 && sscanf(v, "%2d:%2d:%2d%n", &h, &m, &sec, &n) == 3 && n == 8)) {
		if (h >= 0 && h <= 23 && m >= 0 && m <= 59 && sec >= 0 && sec <= 59 &&
		    v[0] >= '0' && v[0] <= '9' && v[3] >= '0' && v[3] <= '9') {
			c->has_session_open = 1;
			c->session_open_sec = h * 3600 + m * 60 + sec;
			lua_pop(L, 1);
			return 0;
		}
	}
	return errf(err, errlen, "%s: session_open: expected a time of day \"HH:MM\" or "
				 "\"HH:MM:SS\", e.g. \"09:30\"", c->path),
	       -1;
}

/* One of two words at sim.KEY (the first is the default): 0 or 1 in *out,
 * -1 on anything else. */
static int sim_choice(struct deploy_config *c, lua_State *L, int s, const char *key,
		      const char *a, const char *b, int *out, char *err, size_t errlen)
{
	int t = lua_getfield(L, s, key);
	const char *v = t == LUA_TSTRING ? lua_tostring(L, -1) : "";
	if (t != LUA_TNIL && strcmp(v, a) != 0 && strcmp(v, b) != 0) {
		errf(err, errlen, "%s: sim.%s: expected \"%s\" or \"%s\"", c->path, key, a, b);
		return -1;
	}
	*out = t != LUA_TNIL && strcmp(v, b) == 0;
	lua_pop(L, 1);
	return 0;
}

/* `sim`: how the simulators treat stops (sim.h). */
static int read_sim(struct deploy_config *c, lua_State *L, char *err, size_t errlen)
{
	static const char *const sim_keys[] = {"trail_on", "stop_trigger", NULL};
	int t = lua_getfield(L, 1, "sim");
	if (t == LUA_TTABLE) {
		int s = lua_gettop(L);
		if (check_keys(L, s, "sim", sim_keys, c, err, errlen) ||
		    sim_choice(c, L, s, "trail_on", "close", "extreme", &c->trail_extreme, err,
			       errlen) ||
		    sim_choice(c, L, s, "stop_trigger", "trade", "touch", &c->stop_on_touch, err,
			       errlen))
			return -1;
	} else if (t != LUA_TNIL) {
		errf(err, errlen, "%s: sim: expected a table", c->path);
		return -1;
	}
	lua_pop(L, 1);
	return 0;
}

static int read_sections(struct deploy_config *c, lua_State *L, char *err, size_t errlen)
{
	static const char *const sandbox_keys[] = {"memory_mb", "callback_ms", "on_halt", NULL};
	static const char *const fee_keys[] = {"per_share", "bps", "slippage_bps", NULL};
	if (check_keys(L, 1, "", top_keys, c, err, errlen) != 0)
		return -1;
	if (number_field(L, 1, "", "cash", 1e-9, &c->cash, c, err, errlen) != 0 ||
	    read_timezone(c, L, err, errlen) != 0 || read_warmup(c, L, err, errlen) != 0 ||
	    read_session_open(c, L, err, errlen) != 0)
		return -1;
	int t = lua_getfield(L, 1, "params");
	if (t == LUA_TTABLE) {
		if (read_params(c, L, lua_gettop(L), err, errlen) != 0)
			return -1;
	} else if (t != LUA_TNIL) {
		errf(err, errlen, "%s: params: expected a table", c->path);
		return -1;
	}
	lua_pop(L, 1);
	t = lua_getfield(L, 1, "sandbox");
	if (t == LUA_TTABLE) {
		int s = lua_gettop(L);
		if (check_keys(L, s, "sandbox", sandbox_keys, c, err, errlen) ||
		    number_field(L, s, "sandbox", "memory_mb", 1e-9, &c->memory_mb, c, err, errlen) ||
		    number_field(L, s, "sandbox", "callback_ms", 1e-9, &c->callback_ms, c, err,
				 errlen))
			return -1;
		int t2 = lua_getfield(L, s, "on_halt");
		if (t2 != LUA_TNIL) {
			const char *v = t2 == LUA_TSTRING ? lua_tostring(L, -1) : "";
			if (strcmp(v, "cancel") != 0 && strcmp(v, "leave") != 0) {
				errf(err, errlen, "%s: sandbox.on_halt: expected \"cancel\" or \"leave\"",
				     c->path);
				return -1;
			}
			c->on_halt_leave = strcmp(v, "leave") == 0;
		}
		lua_pop(L, 1);
	} else if (t != LUA_TNIL) {
		errf(err, errlen, "%s: sandbox: expected a table", c->path);
		return -1;
	}
	lua_pop(L, 1);
	t = lua_getfield(L, 1, "fees");
	if (t == LUA_TTABLE) {
		int s = lua_gettop(L);
		if (check_keys(L, s, "fees", fee_keys, c, err, errlen) ||
		    number_field(L, s, "fees", "per_share", 0, &c->fee_per_share, c, err, errlen) ||
		    number_field(L, s, "fees", "bps", 0, &c->fee_bps, c, err, errlen) ||
		    number_field(L, s, "fees", "slippage_bps", 0, &c->slippage_bps, c, err, errlen))
			return -1;
	} else if (t != LUA_TNIL) {
		errf(err, errlen, "%s: fees: expected a table", c->path);
		return -1;
	}
	lua_pop(L, 1);
	if (read_sim(c, L, err, errlen) != 0)
		return -1;
	t = lua_getfield(L, 1, "symbols");
	if (t == LUA_TTABLE) {
		if (read_symbols(c, L, lua_gettop(L), err, errlen) != 0)
			return -1;
	} else if (t != LUA_TNIL) {
		errf(err, errlen, "%s: symbols: expected a table", c->path);
		return -1;
	}
	lua_pop(L, 1);
	t = lua_getfield(L, 1, "data");
	if (t == LUA_TTABLE) {
		if (read_data(c, L, lua_gettop(L), err, errlen) != 0)
			return -1;
	} else if (t != LUA_TNIL) {
		errf(err, errlen, "%s: data: expected a table", c->path);
		return -1;
	}
	lua_pop(L, 1);
	if (read_feed(c, L, err, errlen) != 0)
		return -1;
	static const char *const risk_keys[] = {"risk", "firm_risk"};
	for (int k = 0; k < 2; k++) {
		t = lua_getfield(L, 1, risk_keys[k]);
		lua_pop(L, 1);
		if (t != LUA_TNIL && t != LUA_TTABLE) {
			errf(err, errlen, "%s: %s: expected a table", c->path, risk_keys[k]);
			return -1;
		}
		c->has_risk |= (t == LUA_TTABLE) << k;
	}
	return 0;
}

void config_init(struct deploy_config *c)
{
	memset(c, 0, sizeof *c);
	c->memory_mb = c->callback_ms = c->fee_bps = c->fee_per_share = c->slippage_bps = -1;
	c->cash = -1;
	c->data_time_form = -1;
}

int config_load(struct deploy_config *c, const char *path, char *err, size_t errlen)
{
	config_init(c);
	c->path = path;
	struct vm_core *core = c->core = malloc(sizeof *core);
	if (!core) {
		errf(err, errlen, "%s: cannot create a Lua state", path);
		return -1;
	}
	vm_core_init(core, CONFIG_MEMORY, 0);
	core->instructions = CONFIG_INSTRUCTIONS;
	core->overrun = "the config runs too long (it must be data: a table of values)";
	lua_State *L = c->L = vm_core_newstate(core);
	if (!L) {
		errf(err, errlen, "%s: cannot create a Lua state", path);
		return -1;
	}
	lua_pushfstring(L, "@%s", path);
	int rc = luaL_loadfilex(L, path, "t");
	lua_remove(L, 1);
	if (rc == LUA_ERRFILE) {
		errf(err, errlen, "%s: cannot read the config", path);
		return -1;
	}
	if (rc != LUA_OK) {
		errf(err, errlen, "%s", lua_tostring(L, -1));
		return -1;
	}
	lua_newtable(L); /* no globals at all: data only */
	lua_setchunkenv(L, -2);
	if (vm_core_call(core, 0, 1, 0) != LUA_OK) {
		errf(err, errlen, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "config error");
		return -1;
	}
	if (!lua_istable(L, 1)) {
		errf(err, errlen, "%s: a deploy config must return a table (got %s)", path,
		     luaL_typename(L, 1));
		return -1;
	}
	lua_settop(L, 1);
	return read_sections(c, L, err, errlen);
}

void config_free(struct deploy_config *c)
{
	for (int i = 0; i < c->nparams; i++)
		if (c->params[i].kind == PARAM_STRING)
			free((void *)c->params[i].str);
	free(c->params);
	free(c->symbols);
	free(c->data_columns);
	free(c->data_header);
	free(c->data_tz);
	free(c->feed_passfile);
	free(c->timezone);
	free(c->warmup);
	if (c->L)
		lua_close(c->L);
	free(c->core); /* after the state: it is the state's allocator */
	config_init(c);
}
