/*
 * vm — the engine-agnostic part of the VM, written once against
 * bindings/lua_compat.h for both backends (vm_lua54.c, vm_luajit.c) and for
 * the host's other Lua states (the deploy config, the report).
 *
 * Memory: a counting allocator refuses growth past the cap and flags it, so
 * a strategy that catches the error with pcall is still halted.
 * CPU: host/vm/watchdog.c interrupts a call past its budget by arming a
 * count hook that raises an error at every instruction until the call
 * returns; the flag makes the halt stick even through pcall. Off the main
 * thread a count hook reads the thread's CPU clock instead, and the deploy
 * config counts instructions (no clock: the same file always passes or fails).
 *
 * A strategy: one protected-call path with a traceback, its loading (module,
 * callbacks, params, symbols; a field of its table the host does not read,
 * or no callback that could act, is an error: a typo must not run silently),
 * params as a listing (sorted) and set one at a time, the copy of its state
 * as plain data on a hot reload. Event pushing that
 * differs (5.4's setters, LuaJIT's boxes) and the escape from JIT-compiled
 * code are the backends'; each calls back through vm->pcall.
 */
#include "vm-internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "grow.h"
#include "log.h"
#include "paths.h"

_Static_assert(K__COUNT <= SLOT_CB0 - SLOT_KEYS, "the key slots overlap the callback slots");
_Static_assert(offsetof(struct vm, core) == 0, "the allocator's userdata is the vm");

const char *const vm_key_names[K__COUNT] = {
	"symbol", "time",  "open", "high", "low",     "close",	"volume",
	"bid",	  "bid_qty", "ask", "ask_qty", "price", "qty",	"side",
	"id",	  "order_id", "filled", "avg_price", "status", "reason", "fee", "origin",
	"timeframe", "type", "stop", "bracket_exit", "oco"};

const char *const vm_cb_names[NCB] = {"on_start", "on_bar",	 "on_book",   "on_trade",
				      "on_order", "on_fill",	 "on_timer",  "on_reload",
				      "on_stop",  "on_params", "on_feed"};

const struct event_kind vm_event_kinds[EV__COUNT] = {
	[EV_BAR] = {SLOT_BAR, CB_BAR, "on_bar", 7,
		    {K_SYMBOL, K_TIME, K_OPEN, K_HIGH, K_LOW, K_CLOSE, K_VOLUME}},
	[EV_BOOK] = {SLOT_BOOK, CB_BOOK, "on_book", 6,
		     {K_SYMBOL, K_TIME, K_BID, K_BID_QTY, K_ASK, K_ASK_QTY}},
	[EV_TRADE] = {SLOT_TRADE, CB_TRADE, "on_trade", 5, {K_SYMBOL, K_TIME, K_PRICE, K_QTY, K_SIDE}},
	[EV_ORDER] = {SLOT_ORDER, CB_ORDER, "on_order", 14,
		      {K_ID, K_SYMBOL, K_SIDE, K_QTY, K_FILLED, K_PRICE, K_AVG_PRICE, K_STATUS,
		       K_REASON, K_ORIGIN, K_TYPE, K_STOP, K_BRACKET_EXIT, K_OCO}},
	[EV_FILL] = {SLOT_FILL, CB_FILL, "on_fill", 7,
		     {K_ORDER_ID, K_SYMBOL, K_SIDE, K_QTY, K_PRICE, K_FEE, K_TIME}},
	[EV_FRAME] = {SLOT_FRAME, CB_BAR, "on_bar", 8,
		      {K_SYMBOL, K_TIME, K_OPEN, K_HIGH, K_LOW, K_CLOSE, K_VOLUME, K_TIMEFRAME}},
};

#define MEM_SLACK (1u << 20) /* room to report the error once the cap is hit */

/* ------------------------------------------------------------ memory */

void *vm_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct vm_core *c = ud;
	size_t old = ptr ? osize : 0;
	if (nsize == 0) {
		free(ptr);
		c->mem_used -= old;
		return NULL;
	}
	if (c->mem_limit && nsize > old) {
		size_t cap = c->mem_limit + (c->mem_exceeded ? MEM_SLACK : 0);
		if (c->mem_used + (nsize - old) > cap) {
			c->mem_exceeded = 1;
			return NULL;
		}
	}
	void *p = realloc(ptr, nsize);
	if (p)
		c->mem_used = c->mem_used - old + nsize;
	return p;
}

void vm_core_init(struct vm_core *c, size_t memory_limit, int64_t budget_ns)
{
	memset(c, 0, sizeof *c);
	c->mem_limit = memory_limit;
	c->budget_ns = budget_ns;
	c->interrupt = vm_interrupt;
}

lua_State *vm_core_newstate(struct vm_core *c)
{
	return c->L = lua_newstate(vm_alloc, c);
}

/* ------------------------------------------------------------ CPU budget */

_Thread_local int vm_callback_depth;

static struct vm_core *core_of(lua_State *L)
{
	void *ud;
	lua_getallocf(L, &ud);
	return ud;
}

void vm_budget_hook(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	struct vm_core *c = core_of(L);
	if (c->overrun)
		luaL_error(L, "%s", c->overrun);
	char msg[64];
	snprintf(msg, sizeof msg, "cpu budget of %.3g ms exceeded", (double)c->budget_ns / 1e6);
	luaL_error(L, "%s", msg);
}

/* Runs in a signal handler: lua_sethook is safe to call asynchronously. */
void vm_interrupt(void *target, const void *uc, int nth)
{
	struct vm_core *c = target;
	(void)uc;
	(void)nth;
	c->interrupted = 1;
	lua_sethook(c->L, vm_budget_hook, LUA_MASKCOUNT, 1);
	lua_State *co = c->running;
	if (co)
		lua_sethook(co, vm_budget_hook, LUA_MASKCOUNT, 1);
}

static void disarm(struct vm_core *c)
{
	lua_sethook(c->L, NULL, 0, 0);
	if (c->running)
		lua_sethook(c->running, NULL, 0, 0);
	c->running = NULL;
}


/* Off the main thread the watchdog cannot reach us: look at the clock every
 * 1000 instructions instead (only while a file loads, never per event). */
void vm_clock_hook(lua_State *L, lua_Debug *ar)
{
	struct vm_core *c = core_of(L);
	if (clock_thread_ns() > c->deadline) {
		c->interrupted = 1;
		lua_sethook(L, vm_budget_hook, LUA_MASKCOUNT, 1);
		vm_budget_hook(L, ar);
	}
}

/* coroutine.resume's brackets (struct sandbox_env): the budget's hook must
 * reach the coroutine that runs, and one already armed reaches it at once. */
static lua_State *resume_enter(void *ud, lua_State *co)
{
	struct vm_core *c = ud;
	lua_State *prev = c->running;
	c->running = co;
	if (c->interrupted)
		lua_sethook(co, vm_budget_hook, LUA_MASKCOUNT, 1);
	return prev;
}

static void resume_leave(void *ud, lua_State *prev)
{
	struct vm_core *c = ud;
	c->running = prev;
}

int vm_in_callback(void)
{
	return vm_callback_depth > 0;
}

void vm_core_call_abandoned(void)
{
	vm_callback_depth--;
	watchdog_leave();
}

/* ------------------------------------------------------------ sandbox */

void vm_open_sandbox(struct vm_core *c, struct sandbox_env *env)
{
	lua_State *L = c->L;
	env->resume_enter = resume_enter;
	env->resume_leave = resume_leave;
	env->ud = c;
	lua_pushlightuserdata(L, env);
	lua_setfield(L, LUA_REGISTRYINDEX, SANDBOX_ENV);
	for (const luaL_Reg *lib = sandbox_libs; lib->func; lib++) {
		if (strncmp(lib->name, "gantry.", 7) != 0) {
			luaL_requiref(L, lib->name, lib->func, 1);
			lua_pop(L, 1);
			continue;
		}
		/* the host's: it changes the globals and is no module, so it stays out
		 * of the loaded table (a traceback names a function by what is there) */
		lua_pushcfunction(L, lib->func);
		lua_pushstring(L, lib->name);
		lua_call(L, 1, 0);
	}
}

/* The directory of the stdlib: GANTRY_STDLIB, else beside the binary (paths.h). */
static void stdlib_dir(char *out, size_t len)
{
	snprintf(out, len, "%s", paths_stdlib());
}

/* ------------------------------------------------------------ traceback */

int vm_traceback(lua_State *L)
{
	const char *msg = lua_tostring(L, 1);
	if (!msg) {
		if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
			return 0;
		msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
	}
	luaL_traceback(L, L, msg, 1);
	return 1;
}

int vm_msgh(lua_State *L)
{
	vm_traceback(L);
	return 1;
}

/* ------------------------------------------------------------ calls */

int vm_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

int vm_call_failed(struct vm *vm, int rc, const char *what, int64_t budget)
{
	struct vm_core *c = &vm->core;
	lua_State *L = c->L;
	const char *msg = rc == LUA_OK ? "" : lua_tostring(L, -1);
	int status = VM_ERROR;
	if (c->interrupted) {
		disarm(c);
		status = VM_ERRCPU;
		/* the traceback's first line repeats what the hook said: keep the trace */
		if (msg && strncmp(msg, "cpu budget", 10) == 0 && strchr(msg, '\n'))
			msg = strchr(msg, '\n') + 1;
		snprintf(vm->err, sizeof vm->err, "%s: %s: cpu budget of %.3g ms exceeded%s%s",
			 vm->path, what, (double)budget / 1e6, msg && *msg ? "\n" : "",
			 msg ? msg : "");
		c->interrupted = 0;
	} else if (c->mem_exceeded) {
		status = VM_ERRMEM;
		snprintf(vm->err, sizeof vm->err, "%s: %s: memory cap of %.4g MB exceeded", vm->path,
			 what, (double)c->mem_limit / (1 << 20));
	} else {
		snprintf(vm->err, sizeof vm->err, "%s (in %s)", msg ? msg : "error", what);
	}
	lua_settop(L, SLOT_TOP);
	lua_gc(L, LUA_GCCOLLECT, 0); /* give back what the failed callback left behind */
	return status;
}

/* ------------------------------------------------------------ params */

/* Whether a parameter's default at idx makes it an integer parameter. Lua
 * 5.4 tells `3` from `3.0`; LuaJIT has one number type, so there every
 * number parameter takes any finite number (`entry = 2.0` must take 1.5). */
static int integer_param(lua_State *L, int idx)
{
	return !GANTRY_LUAJIT && lua_isinteger(L, idx);
}

/* t[k] at idx, raw: inspecting a strategy's tables from C (outside any
 * protected call, with no budget) must run none of its metamethods. */
static int raw_field(lua_State *L, int idx, const char *k)
{
	idx = lua_absindex(L, idx);
	lua_pushstring(L, k);
	return lua_rawget(L, idx);
}

/* Pushes the value at idx as text for a listing, calling nothing of the
 * strategy's: strings, numbers and booleans as tostring shows them, any
 * other value as its type in angle brackets. */
static const char *plain_text(lua_State *L, int idx)
{
	switch (lua_type(L, idx)) {
	case LUA_TSTRING:
	case LUA_TNUMBER:
		lua_pushvalue(L, idx);
		return lua_tostring(L, -1);
	case LUA_TBOOLEAN:
		lua_pushstring(L, lua_toboolean(L, idx) ? "true" : "false");
		return lua_tostring(L, -1);
	default: return lua_pushfstring(L, "<%s>", luaL_typename(L, idx));
	}
}

/* Converts text to the type of the default at -1; pushes the value. */
static int convert_text(lua_State *L, const struct param *p, const char *strat, char *err,
			size_t errlen)
{
	int t = lua_type(L, -1);
	const char *v = p->str;
	char *end;
	if (t == LUA_TNUMBER && integer_param(L, -1)) {
		errno = 0;
		long long x = strtoll(v, &end, 10);
		if (*v && !*end && errno == 0) {
			lua_pushinteger(L, x);
			return 0;
		}
		return vm_fail(err, errlen, "%s %s=%s: expected an integer for %s.%s", p->origin,
			       p->key, v, strat, p->key);
	}
	if (t == LUA_TNUMBER) {
		double x = strtod(v, &end);
		if (*v && !*end && isfinite(x)) {
			lua_pushnumber(L, x);
			return 0;
		}
		return vm_fail(err, errlen, "%s %s=%s: expected a number for %s.%s", p->origin,
			       p->key, v, strat, p->key);
	}
	if (t == LUA_TBOOLEAN) {
		if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes"))
			lua_pushboolean(L, 1);
		else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no"))
			lua_pushboolean(L, 0);
		else
			return vm_fail(err, errlen, "%s %s=%s: expected true or false for %s.%s",
				       p->origin, p->key, v, strat, p->key);
		return 0;
	}
	lua_pushstring(L, v);
	return 0;
}

/* Converts an override to the type of the default at -1; pushes the value. */
static int convert_param(lua_State *L, const struct param *p, const char *strat, char *err,
			 size_t errlen)
{
	if (p->kind == PARAM_TEXT)
		return convert_text(L, p, strat, err, errlen);
	int t = lua_type(L, -1);
	int ok = (t == LUA_TNUMBER && integer_param(L, -1)) ? p->kind == PARAM_INTEGER
		 : t == LUA_TNUMBER ? (p->kind == PARAM_NUMBER || p->kind == PARAM_INTEGER)
		 : t == LUA_TBOOLEAN ? p->kind == PARAM_BOOLEAN
				     : p->kind == PARAM_STRING;
	if (!ok)
		return vm_fail(err, errlen, "%s: params.%s: expected %s for %s.%s like its default",
			       p->origin, p->key,
			       (t == LUA_TNUMBER && integer_param(L, -1)) ? "an integer"
			       : t == LUA_TNUMBER			 ? "a number"
			       : t == LUA_TBOOLEAN			 ? "a boolean"
									 : "a string",
			       strat, p->key);
	switch (p->kind) {
	case PARAM_INTEGER:
		if (t == LUA_TNUMBER && !integer_param(L, -1))
			lua_pushnumber(L, (lua_Number)p->integer);
		else
			lua_pushinteger(L, p->integer);
		break;
	case PARAM_NUMBER: lua_pushnumber(L, p->num); break;
	case PARAM_BOOLEAN: lua_pushboolean(L, p->boolean); break;
	default: lua_pushstring(L, p->str); break;
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The string keys of the table at idx, sorted: pairs' order is a hash's, and
 * listings and messages must read the same from run to run. A malloc'd
 * array of pointers to the table's own keys (valid while it is unchanged),
 * *n of them; NULL when there are none or memory ran out. Raw: no
 * metamethod of the strategy's runs. */
static const char **sorted_keys(lua_State *L, int idx, int *n)
{
	const char **k = NULL;
	int cap = 0;
	idx = lua_absindex(L, idx);
	*n = 0;
	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {
		lua_pop(L, 1);
		if (lua_type(L, -1) != LUA_TSTRING)
			continue;
		const char **more = grow_array(k, &cap, *n + 1, sizeof *k, 16);
		if (!more) {
			lua_pop(L, 1);
			break;
		}
		k = more;
		k[(*n)++] = lua_tostring(L, -1);
	}
	if (*n > 1)
		qsort(k, (size_t)*n, sizeof *k, cmp_str);
	return k;
}

/* Edits from a to b (insert, delete, change, two neighbours swapped), case
 * aside; 99 for names too long to be worth it. */
static int edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	int d[65][65];
	if (la > 64 || lb > 64)
		return 99;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = (int)i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (int)j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			int ca = tolower((unsigned char)a[i - 1]);
			int cb = tolower((unsigned char)b[j - 1]);
			int best = d[i - 1][j - 1] + (ca != cb);
			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == cb && d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	return d[la][lb];
}

/* The name of names that s most likely misspells (at most two edits, and few
 * for the names' length: `n` is no misspelling of `m`), or NULL. */
static const char *closest_name(const char *s, const char *const *names, int n)
{
	const char *best = NULL;
	int bestd = 3;
	for (int i = 0; i < n; i++) {
		size_t ls = strlen(s), ln = strlen(names[i]);
		int d = edit_distance(s, names[i]);
		if (d < bestd && (size_t)d * 3 <= (ls > ln ? ls : ln)) {
			best = names[i];
			bestd = d;
		}
	}
	return best;
}

/* What a message about an unknown key of the table at tbl adds: "known: a,
 * b" in sorted order, after "did you mean 'x'? " when key is close to one. */
static void known_keys(lua_State *L, int tbl, const char *key, char *buf, size_t len)
{
	int n;
	const char **k = sorted_keys(L, tbl, &n);
	const char *near = closest_name(key, k, n);
	size_t used = 0;
	int w = near ? snprintf(buf, len, "did you mean '%s'? known: ", near)
		     : snprintf(buf, len, "known: %s", n ? "" : "none");
	used = w > 0 && (size_t)w < len ? (size_t)w : len - 1;
	for (int i = 0; i < n && used < len - 1; i++) {
		w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", k[i]);
		used += w > 0 && (size_t)w < len - used ? (size_t)w : len - 1 - used;
	}
	free(k);
}

/* Builds ctx.params from the module's defaults and the overrides; at -1. */
static int merge_params(struct vm *vm, const struct vm_config *cfg, char *err, size_t errlen)
{
	lua_State *L = vm->core.L;
	lua_newtable(L);
	int merged = lua_gettop(L);
	int t = raw_field(L, SLOT_MODULE, "params");
	if (t != LUA_TNIL && t != LUA_TTABLE)
		return vm_fail(err, errlen, "%s: params must be a table", vm->path);
	if (t == LUA_TNIL) {
		lua_pop(L, 1);
		lua_newtable(L);
	}
	int defaults = lua_gettop(L);
	lua_pushnil(L);
	while (lua_next(L, defaults) != 0) {
		lua_pushvalue(L, -2);
		lua_insert(L, -2);
		lua_rawset(L, merged);
	}
	for (int i = 0; i < cfg->nparams; i++) {
		const struct param *p = &cfg->params[i];
		if (raw_field(L, defaults, p->key) == LUA_TNIL) {
			char known[512];
			known_keys(L, defaults, p->key, known, sizeof known);
			return vm_fail(err, errlen, "%s: unknown parameter '%s' for strategy %s "
						    "(%s)",
				       p->origin, p->key, vm->info.name, known);
		}
		if (convert_param(L, p, vm->info.name, err, errlen) != 0)
			return -1;
		lua_setfield(L, merged, p->key);
		lua_pop(L, 1);
	}
	lua_settop(L, merged);
	return 0;
}

/* Pushes ctx.params: 1 when it is a table, 0 (nil pushed) when the strategy
 * replaced it with something else: read raw, nothing of the strategy's runs
 * outside a protected call. */
static int push_params(struct vm *vm)
{
	lua_State *L = vm->core.L;
	if (raw_field(L, SLOT_CTX, "params") == LUA_TTABLE)
		return 1;
	lua_pop(L, 1);
	lua_pushnil(L);
	return 0;
}

void vm_describe_params(struct vm *vm, char *buf, size_t len)
{
	if (ABANDONED(vm)) {
		snprintf(buf, len, "  (abandoned: %s)\n", vm->err);
		return;
	}
	lua_State *L = vm->core.L;
	size_t n = 0;
	int nkeys = 0;
	buf[0] = '\0';
	const char **keys = push_params(vm) ? sorted_keys(L, -1, &nkeys) : NULL;
	int params = lua_gettop(L);
	for (int i = 0; i < nkeys && n < len; i++) {
		raw_field(L, params, keys[i]);
		const char *type = integer_param(L, -1) ? "integer" : luaL_typename(L, -1);
		const char *q = lua_type(L, -1) == LUA_TSTRING ? "\"" : "";
		const char *v = plain_text(L, -1);
		int w = snprintf(buf + n, len - n, "  %s = %s%s%s (%s)\n", keys[i], q, v, q, type);
		n += w > 0 ? (size_t)w : 0;
		lua_pop(L, 2);
	}
	free(keys);
	lua_settop(L, SLOT_TOP);
}

/* A param's value as JSON: numbers as Lua writes them (finite only: JSON has
 * no inf or nan), strings quoted, booleans; anything else null. */
static void param_json(lua_State *L, int idx, json_sink put, void *ud)
{
	switch (lua_type(L, idx)) {
	case LUA_TNUMBER:
		if (isfinite(lua_tonumber(L, idx))) {
			size_t n;
			lua_pushvalue(L, idx);
			const char *t = lua_tolstring(L, -1, &n);
			put(ud, t, n);
			lua_pop(L, 1);
			return;
		}
		break;
	case LUA_TSTRING: json_quote(lua_tostring(L, idx), put, ud); return;
	case LUA_TBOOLEAN:
		put(ud, lua_toboolean(L, idx) ? "true" : "false", lua_toboolean(L, idx) ? 4 : 5);
		return;
	default: break;
	}
	put(ud, "null", 4);
}

void vm_params_json(struct vm *vm, json_sink put, void *ud)
{
	if (ABANDONED(vm)) {
		put(ud, "null", 4);
		return;
	}
	lua_State *L = vm->core.L;
	int nkeys = 0;
	const char **keys = push_params(vm) ? sorted_keys(L, -1, &nkeys) : NULL;
	int params = lua_gettop(L);
	put(ud, "{", 1);
	for (int i = 0; i < nkeys; i++) {
		if (i)
			put(ud, ", ", 2);
		json_quote(keys[i], put, ud);
		put(ud, ": ", 2);
		raw_field(L, params, keys[i]);
		param_json(L, -1, put, ud);
		lua_pop(L, 1);
	}
	put(ud, "}", 1);
	free(keys);
	lua_settop(L, SLOT_TOP);
}

int vm_set_param(struct vm *vm, const char *key, const char *text, int apply, char *old,
		 size_t oldlen, char *err, size_t errlen)
{
	if (ABANDONED(vm))
		return vm_fail(err, errlen, "set %s: the strategy's Lua state is gone (%s); reload it",
			       key, vm->err);
	lua_State *L = vm->core.L;
	struct param p = {.kind = PARAM_TEXT, .str = text, .origin = "set"};
	snprintf(p.key, sizeof p.key, "%s", key);
	if (!push_params(vm)) {
		lua_settop(L, SLOT_TOP);
		return vm_fail(err, errlen, "set %s: strategy %s replaced ctx.params with "
					    "something that is not a table", key, vm->info.name);
	}
	int params = lua_gettop(L);
	if (raw_field(L, params, key) == LUA_TNIL) {
		char known[512];
		known_keys(L, params, key, known, sizeof known);
		vm_fail(err, errlen, "unknown parameter '%s' for strategy %s (%s)", key,
			vm->info.name, known);
		lua_settop(L, SLOT_TOP);
		return -1;
	}
	snprintf(old, oldlen, "%s", plain_text(L, -1));
	lua_pop(L, 1);
	int rc = convert_param(L, &p, vm->info.name, err, errlen);
	if (rc == 0 && apply) {
		lua_pushstring(L, key);
		lua_insert(L, -2);
		lua_rawset(L, params);
	}
	lua_settop(L, SLOT_TOP);
	return rc;
}

/* ------------------------------------------------------------ loading */

static void split_path(struct vm *vm, const char *path)
{
	snprintf(vm->path, sizeof vm->path, "%s", path);
	snprintf(vm->env.dir, sizeof vm->env.dir, "%s", path);
	char *slash = strrchr(vm->env.dir, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(vm->env.dir, sizeof vm->env.dir, ".");
	stdlib_dir(vm->env.stdlib, sizeof vm->env.stdlib);
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	snprintf(vm->info.name, sizeof vm->info.name, "%.*s", (int)strcspn(base, "."), base);
}

/* For each symbol, the string parameter (the first by name) whose value it
 * is: what a message about a symbol the data lacks tells the user to change. */
static void symbol_params(struct vm *vm, int params)
{
	lua_State *L = vm->core.L;
	int n;
	const char **keys = sorted_keys(L, params, &n);
	for (int k = 0; k < vm->info.nsymbols; k++)
		for (int i = 0; i < n && !vm->info.symbol_param[k][0]; i++) {
			if (raw_field(L, params, keys[i]) == LUA_TSTRING &&
			    strcmp(lua_tostring(L, -1), vm->info.symbols[k]) == 0)
				snprintf(vm->info.symbol_param[k], sizeof vm->info.symbol_param[k],
					 "%s", keys[i]);
			lua_pop(L, 1);
		}
	free(keys);
}

static int read_symbols(struct vm *vm, int params, char *err, size_t errlen)
{
	lua_State *L = vm->core.L;
	int t = raw_field(L, SLOT_MODULE, "symbols");
	if (t == LUA_TFUNCTION) { /* symbols(params) -> list, for symbols that are params */
		lua_pushvalue(L, params);
		if (vm->pcall(vm, 1, 1, "symbols", VM_LOAD_BUDGET_NS) != VM_OK)
			return vm_fail(err, errlen, "%s", vm->err);
		t = lua_type(L, -1);
	}
	if (t == LUA_TTABLE) {
		lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
		for (lua_Integer i = 1; i <= n; i++) {
			lua_rawgeti(L, -1, i);
			if (lua_type(L, -1) != LUA_TSTRING || lua_rawlen(L, -1) >= 32 ||
			    vm->info.nsymbols >= 64)
				return vm_fail(err, errlen, "%s: symbols must be a list of at most "
							    "64 names", vm->path);
			snprintf(vm->info.symbols[vm->info.nsymbols++], 32, "%s", lua_tostring(L, -1));
			lua_pop(L, 1);
		}
	} else if (t != LUA_TNIL) {
		return vm_fail(err, errlen, "%s: symbols must be a list of names", vm->path);
	} else if (lua_getfield(L, params, "symbol") == LUA_TSTRING && lua_rawlen(L, -1) < 32) {
		snprintf(vm->info.symbols[vm->info.nsymbols++], 32, "%s", lua_tostring(L, -1));
	}
	lua_settop(L, params);
	vm->info.symbols_declared = raw_field(L, SLOT_MODULE, "symbols") != LUA_TNIL;
	lua_pop(L, 1);
	symbol_params(vm, params);
	return 0;
}

/* Where the value at idx comes from, for a message: FILE:LINE of a Lua
 * function's first line, else the strategy's file. */
static void where_defined(struct vm *vm, int idx, char *buf, size_t len)
{
	lua_State *L = vm->core.L;
	lua_Debug ar;
	if (lua_type(L, idx) == LUA_TFUNCTION) {
		lua_pushvalue(L, idx);
		if (lua_getinfo(L, ">S", &ar) && ar.linedefined > 0 && ar.source[0] == '@') {
			snprintf(buf, len, "%s:%d", ar.source + 1, ar.linedefined);
			return;
		}
	}
	snprintf(buf, len, "%s", vm->path);
}

static int find_callbacks(struct vm *vm, char *err, size_t errlen)
{
	lua_State *L = vm->core.L;
	for (int i = 0; i < NCB; i++) {
		int t = raw_field(L, SLOT_MODULE, vm_cb_names[i]);
		if (t != LUA_TNIL && t != LUA_TFUNCTION)
			return vm_fail(err, errlen, "%s: %s must be a function, got a %s", vm->path,
				       vm_cb_names[i], lua_typename(L, t));
		if (t == LUA_TFUNCTION)
			vm->info.callbacks |= 1 << i;
		vm->cb_fn[i] = lua_topointer(L, -1);
		lua_replace(L, SLOT_CB0 + i);
	}
	return 0;
}

#define NFIELDS (6 + NCB)

/* "on_start, on_bar, ..., on_params": the callbacks, for messages. */
static void callback_list(char *buf, size_t len)
{
	size_t n = 0;
	buf[0] = '\0';
	for (int i = 0; i < NCB && n < len; i++) {
		int w = snprintf(buf + n, len - n, "%s%s", i ? ", " : "", vm_cb_names[i]);
		n += w > 0 ? (size_t)w : 0;
	}
}

/* Every field of the strategy table is one the host reads: a misspelt
 * callback (`onbar`) or field (`parms`, `symbol`) would otherwise be
 * ignored, and the run would make no orders and exit 0. */
static int check_fields(struct vm *vm, char *err, size_t errlen)
{
	lua_State *L = vm->core.L;
	const char *known[NFIELDS] = {"name", "params", "symbols", "history", "timeframes",
				      "timeframes_align"};
	char cbs[256], where[PATH_MAX + 16];
	for (int i = 0; i < NCB; i++)
		known[6 + i] = vm_cb_names[i];
	callback_list(cbs, sizeof cbs);
	int t = raw_field(L, SLOT_MODULE, "name");
	lua_pop(L, 1);
	if (t != LUA_TNIL && t != LUA_TSTRING)
		return vm_fail(err, errlen, "%s: name must be a string, got a %s", vm->path,
			       lua_typename(L, t));
	lua_pushnil(L);
	while (lua_next(L, SLOT_MODULE) != 0) {
		lua_pop(L, 1);
		if (lua_type(L, -1) != LUA_TSTRING) {
			const char *k = plain_text(L, -1);
			vm_fail(err, errlen, "%s: the strategy table has a field [%s]: its "
					     "fields are named (name, params, symbols, history, "
					     "timeframes, timeframes_align and the callbacks %s)",
				vm->path, k, cbs);
			lua_settop(L, SLOT_TOP);
			return -1;
		}
	}
	int n;
	const char **keys = sorted_keys(L, SLOT_MODULE, &n);
	for (int i = 0; i < n; i++) {
		int ok = 0;
		for (int j = 0; j < NFIELDS && !ok; j++)
			ok = strcmp(keys[i], known[j]) == 0;
		if (ok)
			continue;
		const char *near = closest_name(keys[i], known, NFIELDS);
		char hint[96] = "";
		if (near)
			snprintf(hint, sizeof hint, " (did you mean '%s'?)", near);
		raw_field(L, SLOT_MODULE, keys[i]);
		where_defined(vm, -1, where, sizeof where);
		if (strncmp(keys[i], "on_", 3) == 0)
			vm_fail(err, errlen, "%s: unknown callback '%s'%s; the callbacks are %s",
				where, keys[i], hint, cbs);
		else
			vm_fail(err, errlen, "%s: unknown field '%s' in the strategy table%s; "
					     "its fields are name, params, symbols, history, "
					     "timeframes, timeframes_align and the callbacks %s",
				where, keys[i], hint, cbs);
		free(keys);
		lua_settop(L, SLOT_TOP);
		return -1;
	}
	free(keys);
	return 0;
}

/* "5m" -> its length in ns: a whole number above 0 then s, m, h or d (at
 * most 366 days); 0 when s is not one. */
static int64_t timeframe_ns(const char *s)
{
	static const struct {
		char unit;
		int64_t ns;
	} units[] = {{'s', 1000000000LL}, {'m', 60000000000LL}, {'h', 3600000000000LL},
		     {'d', 86400000000000LL}};
	int64_t n = 0;
	const char *p = s;
	while (*p >= '0' && *p <= '9' && n <= 1000000)
		n = n * 10 + (*p++ - '0');
	if (p == s || n == 0 || p[1] != '\0')
		return 0;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (*p == units[i].unit && n * units[i].ns <= 366 * units[3].ns)
			return n * units[i].ns;
	return 0;
}

/* `history = N` and `timeframes = { "5m", ... }` into info; a bad value is
 * an error naming the field. */
static int read_history(struct vm *vm, char *err, size_t errlen)
{
	lua_State *L = vm->core.L;
	int t = raw_field(L, SLOT_MODULE, "history");
	if (t != LUA_TNIL) {
		lua_Number n = lua_tonumber(L, -1);
		if (t != LUA_TNUMBER || n != floor(n) || n < 0 || n > VM_MAX_HISTORY) {
			vm_fail(err, errlen, "%s: history must be a whole number of bars from 0 to "
					     "%d, got %s", vm->path, VM_MAX_HISTORY, plain_text(L, -1));
			lua_settop(L, SLOT_TOP);
			return -1;
		}
		vm->info.history = (int)n;
	}
	lua_pop(L, 1);
	t = raw_field(L, SLOT_MODULE, "timeframes");
	if (t != LUA_TNIL && t != LUA_TTABLE) {
		lua_settop(L, SLOT_TOP);
		return vm_fail(err, errlen, "%s: timeframes must be a list like { \"5m\", \"1h\" }, "
					    "got a %s", vm->path, lua_typename(L, t));
	}
	int n = t == LUA_TTABLE ? (int)lua_rawlen(L, -1) : 0;
	for (int i = 1; i <= n; i++) {
		lua_rawgeti(L, -1, i);
		const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
		int64_t ns = s && strlen(s) < sizeof vm->info.timeframes[0] ? timeframe_ns(s) : 0;
		if (!ns || i > VM_MAX_TIMEFRAMES) {
			vm_fail(err, errlen, ns ? "%s: timeframes: at most %d of them"
						: "%s: timeframes[%d]: '%s' is not a timeframe (a whole "
						  "number then s, m, h or d: \"30s\", \"5m\", \"1h\", \"1d\")",
				vm->path, ns ? VM_MAX_TIMEFRAMES : i, ns ? "" : plain_text(L, -1));
			lua_settop(L, SLOT_TOP);
			return -1;
		}
		for (int k = 0; k < vm->info.ntimeframes; k++)
			if (vm->info.timeframe_ns[k] == ns) {
				vm_fail(err, errlen, "%s: timeframes[%d]: '%s' is as long as '%s'", vm->path,
					i, s, vm->info.timeframes[k]);
				lua_settop(L, SLOT_TOP);
				return -1;
			}
		snprintf(vm->info.timeframes[vm->info.ntimeframes], sizeof vm->info.timeframes[0],
			 "%s", s);
		vm->info.timeframe_ns[vm->info.ntimeframes++] = ns;
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	t = raw_field(L, SLOT_MODULE, "timeframes_align");
	const char *a = t == LUA_TSTRING ? lua_tostring(L, -1) : "";
	if (t != LUA_TNIL && strcmp(a, "utc") != 0 && strcmp(a, "session") != 0) {
		vm_fail(err, errlen, "%s: timeframes_align must be \"utc\" or \"session\", got %s",
			vm->path, plain_text(L, -1));
		lua_settop(L, SLOT_TOP);
		return -1;
	}
	vm->info.timeframes_session = strcmp(a, "session") == 0;
	lua_pop(L, 1);
	return 0;
}

/* A strategy that could never act is a mistake: every other callback
 * follows from on_start or a market event (an order's updates, a timer one
 * of them armed). A callback defined as a global function instead of on the
 * table is the usual cause: name it. */
static int check_acts(struct vm *vm, char *err, size_t errlen)
{
	lua_State *L = vm->core.L;
	char where[PATH_MAX + 16];
	lua_pushglobaltable(L);
	int g = lua_gettop(L);
	for (int i = 0; i < NCB; i++) {
		if (vm->info.callbacks & (1 << i))
			continue;
		if (raw_field(L, g, vm_cb_names[i]) == LUA_TFUNCTION) {
			where_defined(vm, -1, where, sizeof where);
			lua_settop(L, g - 1);
			return vm_fail(err, errlen, "%s: %s is a global function, not a field of "
						    "the strategy table: define it as S.%s on the "
						    "table the file returns",
				       where, vm_cb_names[i], vm_cb_names[i]);
		}
		lua_pop(L, 1);
	}
	lua_settop(L, g - 1);
	if (!(vm->info.callbacks & (VM_ON_START | VM_ON_BAR | VM_ON_BOOK | VM_ON_TRADE)))
		return vm_fail(err, errlen, "%s: the strategy table has no on_start, on_bar, "
					    "on_book or on_trade, so the strategy could never act",
			       vm->path);
	return 0;
}

static int load_module(struct vm *vm, char *err, size_t errlen)
{
	lua_State *L = vm->core.L;
	char *src;
	size_t len;
	if (sandbox_read_file(vm->path, &src, &len) != 0)
		return vm_fail(err, errlen, "%s: cannot read: %s", vm->path, strerror(errno));
	if (len > 0 && src[0] == LUA_SIGNATURE[0]) {
		free(src);
		return vm_fail(err, errlen, "%s: binary chunks are not allowed (a strategy is Lua "
					    "source text)", vm->path);
	}
	lua_pushfstring(L, "@%s", vm->path);
	int rc = sandbox_load_text(L, src, len, lua_tostring(L, -1));
	free(src);
	lua_remove(L, -2);
	if (rc != LUA_OK)
		return vm_fail(err, errlen, "%s",
			       rc == LUA_ERRMEM ? "out of memory" : lua_tostring(L, -1));
	if (vm->pcall(vm, 0, 1, "load", VM_LOAD_BUDGET_NS) != VM_OK)
		return vm_fail(err, errlen, "%s", vm->err);
	if (!lua_istable(L, -1))
		return vm_fail(err, errlen, "%s: a strategy must return a table (got %s)", vm->path,
			       luaL_typename(L, -1));
	lua_replace(L, SLOT_MODULE);
	if (raw_field(L, SLOT_MODULE, "name") == LUA_TSTRING)
		snprintf(vm->info.name, sizeof vm->info.name, "%s", lua_tostring(L, -1));
	lua_pop(L, 1);
	return 0;
}

static void new_event_table(lua_State *L, int slot, int nfields)
{
	lua_createtable(L, 0, nfields);
	lua_replace(L, slot);
}

struct vm *vm_new(size_t size, const struct vm_config *cfg, lua_CFunction msgh, char *err,
		  size_t errlen)
{
	struct vm *vm = calloc(1, size);
	if (!vm) {
		vm_fail(err, errlen, "out of memory");
		return NULL;
	}
	vm_core_init(&vm->core, cfg->memory_limit, (int64_t)(cfg->callback_ms * 1e6));
	vm->core.off_thread = cfg->off_thread;
	vm->core.msgh = SLOT_MSGH;
	vm->host = cfg->host;
	vm->pcall = vm_pcall;
	vm->call_event = vm_call_event_raw;
	split_path(vm, cfg->path);
	lua_State *L = vm_core_newstate(&vm->core);
	if (!L) {
		vm_fail(err, errlen, "%s: cannot create a Lua state", cfg->path);
		free(vm);
		return NULL;
	}
	/* the persistent slots, and room above them for what a call pushes: the
	 * C API promises only LUA_MINSTACK free slots unless asked */
	if (!lua_checkstack(L, SLOT_TOP + 2 * LUA_MINSTACK)) {
		vm_fail(err, errlen, "%s: cannot grow the Lua stack", cfg->path);
		vm_free(vm);
		return NULL;
	}
	lua_settop(L, SLOT_TOP);
	lua_pushcfunction(L, msgh);
	lua_replace(L, SLOT_MSGH);
	vm->env.host = cfg->host;
	vm->env.seed = cfg->seed;
	vm_open_sandbox(&vm->core, &vm->env);

	/* on the main thread the load budget needs the watchdog too, even with no
	 * budget per callback (`gantry check`) */
	if (!vm->core.off_thread && watchdog_start() != 0)
		log_msg(LOG_WARN, "vm", "cannot start the watchdog: no CPU budget enforcement");

	/* ctx (its params and state come once the module is read), before the
	 * strategy runs: what the host's glue captures is the sandbox as built */
	lua_pushcfunction(L, luaopen_gantry_ctx);
	lua_pushlightuserdata(L, cfg->host);
	lua_call(L, 1, 1);
	lua_replace(L, SLOT_CTX);
	return vm;
}

int vm_load(struct vm *vm, const struct vm_config *cfg, char *err, size_t errlen)
{
	lua_State *L = vm->core.L;
	if (load_module(vm, err, errlen) != 0 || find_callbacks(vm, err, errlen) != 0 ||
	    check_fields(vm, err, errlen) != 0 || merge_params(vm, cfg, err, errlen) != 0 ||
	    read_symbols(vm, lua_gettop(L), err, errlen) || check_acts(vm, err, errlen) != 0)
		return -1;
	int params = lua_gettop(L);
	if (read_history(vm, err, errlen) != 0)
		return -1;
	lua_settop(L, params);

	/* ctx's params, and an empty state */
	lua_setfield(L, SLOT_CTX, "params");
	lua_newtable(L);
	lua_setfield(L, SLOT_CTX, "state");
	lua_settop(L, SLOT_TOP);

	new_event_table(L, SLOT_ORDER, 11);
	new_event_table(L, SLOT_FILL, 7);
	new_event_table(L, SLOT_SYMS, 0);
	for (int k = 0; k < K__COUNT; k++) {
		lua_pushstring(L, vm_key_names[k]);
		lua_replace(L, SLOT_KEYS + k);
	}
	return 0;
}

void vm_free(struct vm *vm)
{
	if (!vm)
		return;
	lua_close(vm->core.L); /* an abandoned one too: lua_close resets the stack and frames first */
	free(vm);
}

/* ------------------------------------------------------------ events */

int vm_on_order(struct vm *vm, const struct order *o)
{
	if (ABANDONED(vm))
		return VM_ERROR;
	lua_State *L = vm->core.L;
	vm_begin_event(vm, EV_ORDER);
	lua_pushinteger(L, (lua_Integer)o->id);
	vm_push_symbol(vm, o->sym);
	vm_push_str(L, oms_side_name(o->side));
	ctx_push_qty(L, o->qty);
	ctx_push_qty(L, o->filled);
	if (o->type == ORD_LIMIT || o->type == ORD_STOP_LIMIT)
		lua_pushnumber(L, o->price);
	else
		lua_pushnil(L);
	if (o->filled > 0)
		lua_pushnumber(L, o->avg_price);
	else
		lua_pushnil(L);
	vm_push_str(L, oms_status_name(o->status));
	vm_push_str(L, o->reason);
	vm_push_str(L, oms_origin_name(o->origin));
	vm_push_str(L, oms_type_name(o));
	if (o->stop > 0) /* where a stop triggers (a trailing stop: now) */
		lua_pushnumber(L, o->stop);
	else
		lua_pushnil(L);
	if (o->role == ROLE_TAKE_PROFIT || o->role == ROLE_STOP_LOSS) /* a bracket's exit */
		vm_push_str(L, o->role == ROLE_TAKE_PROFIT ? "take_profit" : "stop_loss");
	else
		lua_pushnil(L);
	if (o->oco)
		lua_pushinteger(L, (lua_Integer)o->oco);
	else
		lua_pushnil(L);
	return vm->call_event(vm, EV_ORDER);
}

int vm_on_fill(struct vm *vm, const struct fill *f)
{
	if (ABANDONED(vm))
		return VM_ERROR;
	lua_State *L = vm->core.L;
	vm_begin_event(vm, EV_FILL);
	lua_pushinteger(L, (lua_Integer)f->order_id);
	vm_push_symbol(vm, f->sym);
	vm_push_str(L, oms_side_name(f->side));
	ctx_push_qty(L, f->qty);
	lua_pushnumber(L, f->price);
	lua_pushnumber(L, f->fee);
	lua_pushinteger(L, (lua_Integer)f->time);
	return vm->call_event(vm, EV_FILL);
}

int vm_call_event_raw(struct vm *vm, int kind)
{
	lua_State *L = vm->core.L;
	const struct event_kind *k = &vm_event_kinds[kind];
	int first = lua_gettop(L) - k->nfields + 1;
	for (int i = 0; i < k->nfields; i++) {
		lua_pushvalue(L, SLOT_KEYS + k->keys[i]);
		lua_pushvalue(L, first + i);
		lua_rawset(L, k->slot);
	}
	lua_settop(L, first - 1);
	lua_remove(L, first - 4); /* the setter */
	return vm->pcall(vm, 2, 0, k->what, vm->core.budget_ns);
}

int vm_on_timer(struct vm *vm, const char *name)
{
	if (ABANDONED(vm))
		return VM_ERROR;
	lua_State *L = vm->core.L;
	lua_pushvalue(L, SLOT_CB0 + CB_TIMER);
	lua_pushvalue(L, SLOT_CTX);
	lua_pushstring(L, name);
	return vm->pcall(vm, 2, 0, "on_timer", vm->core.budget_ns);
}

static int call_plain(struct vm *vm, int cb, const char *what)
{
	lua_State *L = vm->core.L;
	lua_pushvalue(L, SLOT_CB0 + cb);
	lua_pushvalue(L, SLOT_CTX);
	return vm->pcall(vm, 1, 0, what, vm->core.budget_ns);
}

int vm_on_start(struct vm *vm)
{
	if (ABANDONED(vm))
		return VM_ERROR;
	return call_plain(vm, CB_START, "on_start");
}

int vm_on_stop(struct vm *vm)
{
	if (ABANDONED(vm))
		return VM_ERROR;
	return call_plain(vm, CB_STOP, "on_stop");
}

int vm_on_params(struct vm *vm, const char *const *keys, int nkeys)
{
	if (ABANDONED(vm))
		return VM_ERROR;
	lua_State *L = vm->core.L;
	lua_pushvalue(L, SLOT_CB0 + CB_PARAMS);
	lua_pushvalue(L, SLOT_CTX);
	lua_createtable(L, 0, nkeys);
	int changed = lua_gettop(L);
	if (push_params(vm))
		for (int i = 0; i < nkeys; i++) {
			lua_pushstring(L, keys[i]);
			lua_pushvalue(L, -1);
			lua_rawget(L, changed + 1);
			lua_rawset(L, changed);
		}
	lua_settop(L, changed);
	return vm->pcall(vm, 2, 0, "on_params", vm->core.budget_ns);
}

/* on_feed(ctx, {state = "up"|"down", reason = WORD, detail = TEXT}): rare,
 * so a fresh table each time. */
int vm_on_feed(struct vm *vm, int up, const char *reason, const char *detail)
{
	if (ABANDONED(vm))
		return VM_ERROR;
	lua_State *L = vm->core.L;
	lua_pushvalue(L, SLOT_CB0 + CB_FEED);
	lua_pushvalue(L, SLOT_CTX);
	lua_createtable(L, 0, 3);
	lua_pushstring(L, up ? "up" : "down");
	lua_setfield(L, -2, "state");
	lua_pushstring(L, reason ? reason : "");
	lua_setfield(L, -2, "reason");
	lua_pushstring(L, detail ? detail : "");
	lua_setfield(L, -2, "detail");
	return vm->pcall(vm, 2, 0, "on_feed", vm->core.budget_ns);
}

/* ------------------------------------------------------------ reload */

#define COPY_DEPTH 64

/* Copies the value at `idx` of from onto the top of to. seen (in from) maps
 * tables already copied to their index in made (in to): shared and cyclic
 * tables stay shared. */
static int copy_value(lua_State *from, int idx, lua_State *to, int seen, int made, int depth,
		      char *path, size_t plen, char *err, size_t errlen)
{
	idx = lua_absindex(from, idx);
	switch (lua_type(from, idx)) {
	case LUA_TNIL: lua_pushnil(to); return 0;
	case LUA_TBOOLEAN: lua_pushboolean(to, lua_toboolean(from, idx)); return 0;
	case LUA_TNUMBER:
		if (lua_isinteger(from, idx))
			lua_pushinteger(to, lua_tointeger(from, idx));
		else
			lua_pushnumber(to, lua_tonumber(from, idx));
		return 0;
	case LUA_TSTRING: {
		size_t n;
		const char *str = lua_tolstring(from, idx, &n);
		lua_pushlstring(to, str, n);
		return 0;
	}
	case LUA_TTABLE: break;
	default: {
		const struct vm *vm = vm_of(from);
		if (vm->copy_own && vm->copy_own(vm, idx, to) == 0)
			return 0;
		snprintf(err, errlen, "%s is a %s: only plain data (tables, strings, numbers, "
				      "booleans) survives a reload",
			 path, luaL_typename(from, idx));
		return -1;
	}
	}
	if (depth > COPY_DEPTH) {
		snprintf(err, errlen, "%s: tables nested more than %d deep", path, COPY_DEPTH);
		return -1;
	}
	lua_pushvalue(from, idx);
	if (lua_rawget(from, seen) == LUA_TNUMBER) {
		lua_rawgeti(to, made, lua_tointeger(from, -1));
		lua_pop(from, 1);
		return 0;
	}
	lua_pop(from, 1);
	lua_newtable(to);
	lua_Integer id = (lua_Integer)luaL_len(to, made) + 1;
	lua_pushvalue(to, -1);
	lua_rawseti(to, made, id);
	lua_pushvalue(from, idx);
	lua_pushinteger(from, id);
	lua_rawset(from, seen);
	size_t base = strlen(path);
	lua_pushnil(from);
	while (lua_next(from, idx) != 0) {
		int kt = lua_type(from, -2);
		if (kt != LUA_TSTRING && kt != LUA_TNUMBER && kt != LUA_TBOOLEAN) {
			snprintf(err, errlen, "%s has a %s key: only plain data survives a reload",
				 path, luaL_typename(from, -2));
			lua_pop(from, 2);
			return -1;
		}
		if (kt == LUA_TSTRING)
			snprintf(path + base, plen - base, ".%s", lua_tostring(from, -2));
		else if (kt == LUA_TNUMBER && lua_isinteger(from, -2))
			snprintf(path + base, plen - base, "[%lld]",
				 (long long)lua_tointeger(from, -2));
		else if (kt == LUA_TNUMBER)
			snprintf(path + base, plen - base, "[%g]", (double)lua_tonumber(from, -2));
		else
			snprintf(path + base, plen - base, "[%s]",
				 lua_toboolean(from, -2) ? "true" : "false");
		if (copy_value(from, -2, to, seen, made, depth + 1, path, plen, err, errlen) != 0 ||
		    copy_value(from, -1, to, seen, made, depth + 1, path, plen, err, errlen) != 0) {
			lua_pop(from, 2);
			return -1;
		}
		lua_rawset(to, -3);
		lua_pop(from, 1);
		path[base] = '\0';
	}
	return 0;
}

/* from's ctx.state, copied onto to's stack; 0, or -1 with err. */
static int copy_state(struct vm *from, struct vm *to, char *err, size_t errlen)
{
	lua_State *F = from->core.L, *T = to->core.L;
	char path[512] = "state";
	if (!lua_checkstack(F, 2 * COPY_DEPTH + 16)) {
		snprintf(err, errlen, "reload: out of stack");
		return -1;
	}
	lua_newtable(F);
	int seen = lua_gettop(F);
	lua_newtable(T);
	int made = lua_gettop(T);
	lua_getfield(F, SLOT_CTX, "state");
	int rc = copy_value(F, -1, T, seen, made, 0, path, sizeof path, err, errlen);
	lua_settop(F, SLOT_TOP);
	if (rc != 0 || to->core.mem_exceeded) {
		if (rc == 0)
			snprintf(err, errlen, "reload: the state does not fit in the memory cap");
		lua_settop(T, SLOT_TOP);
		to->core.mem_exceeded = 0;
		return -1;
	}
	lua_remove(T, made);
	return 0;
}

int vm_migrate(struct vm *from, struct vm *to, char *err, size_t errlen)
{
	if (ABANDONED(to))
		return vm_fail(err, errlen, "reload: %s", to->err);
	lua_State *T = to->core.L;
	if (!lua_checkstack(T, 2 * COPY_DEPTH + 16)) {
		snprintf(err, errlen, "reload: out of stack");
		return -1;
	}
	if (ABANDONED(from)) {
		/* its state went with it: the new version starts from an empty one */
		log_msg(LOG_WARN, "reload", "%s: the running version was stopped in JIT-compiled "
					    "code; its ctx.state is lost, the new version starts from an "
					    "empty one", from->path);
		lua_newtable(T);
	} else if (copy_state(from, to, err, errlen) != 0) {
		return -1;
	}
	if (to->info.callbacks & VM_ON_RELOAD) {
		lua_pushvalue(T, SLOT_CB0 + CB_RELOAD);
		lua_pushvalue(T, SLOT_CTX);
		lua_pushvalue(T, -3);
		lua_remove(T, -4);
		/* one result, left at the top on success */
		int64_t budget = to->core.budget_ns ? to->core.budget_ns : VM_LOAD_BUDGET_NS;
		if (to->pcall(to, 2, 1, "on_reload", budget) != VM_OK) {
			snprintf(err, errlen, "%s", to->err);
			return -1;
		}
		if (lua_isnil(T, -1)) {
			lua_pop(T, 1);
			lua_newtable(T);
		} else if (!lua_istable(T, -1)) {
			snprintf(err, errlen, "%s: on_reload must return the new state (a table), got %s",
				 to->path, luaL_typename(T, -1));
			lua_settop(T, SLOT_TOP);
			return -1;
		}
	}
	lua_setfield(T, SLOT_CTX, "state");
	lua_settop(T, SLOT_TOP);
	return 0;
}

/* ------------------------------------------------------------ the rest of vm_ops */

void vm_get_info(struct vm *vm, struct vm_info *out)
{
	*out = vm->info;
}

int vm_modules(struct vm *vm, const char **paths, int max)
{
	int n = 0;
	for (int i = 0; i < vm->env.nmodules && n < max; i++)
		paths[n++] = vm->env.modules[i];
	return n;
}

int vm_alive(struct vm *vm)
{
	return !ABANDONED(vm);
}

const char *vm_error(struct vm *vm)
{
	return vm->err;
}

size_t vm_memory(struct vm *vm)
{
	return vm->core.mem_used;
}

/* ------------------------------------------------------------ host scripts */

struct vm_script {
	struct vm_core core;	/* first: the allocator's userdata */
	struct sandbox_env env; /* no host, no directory: gantry.* only */
};

struct vm_script *vm_script_open(size_t memory_limit, double cpu_ms)
{
	struct vm_script *vs = calloc(1, sizeof *vs);
	if (!vs)
		return NULL;
	vm_core_init(&vs->core, memory_limit, (int64_t)(cpu_ms * 1e6));
	if (!vm_core_newstate(&vs->core)) {
		free(vs);
		return NULL;
	}
	stdlib_dir(vs->env.stdlib, sizeof vs->env.stdlib);
	vm_open_sandbox(&vs->core, &vs->env);
	/* the watchdog's hook is the budget here, and there is no escape from
	 * LuaJIT's compiled code: the sandbox's jit library turned it on */
	lua_interpreted(vs->core.L);
	if (watchdog_start() != 0)
		log_msg(LOG_WARN, "vm", "cannot start the watchdog: no CPU budget enforcement");
	return vs;
}

lua_State *vm_script_state(struct vm_script *vs)
{
	return vs->core.L;
}

int vm_script_call(struct vm_script *vs, int nargs, int nresults)
{
	struct vm_core *c = &vs->core;
	int rc = vm_core_call(c, nargs, nresults, c->budget_ns);
	int status = c->interrupted ? VM_ERRCPU : c->mem_exceeded ? VM_ERRMEM : rc ? VM_ERROR : VM_OK;
	if (status == VM_ERRCPU) {
		disarm(c);
		c->interrupted = 0;
		lua_pushfstring(c->L, "cpu budget of %d ms exceeded", (int)(c->budget_ns / 1000000));
	} else if (status == VM_ERRMEM) {
		/* the slack past the cap leaves room for this */
		lua_pushfstring(c->L, "memory cap of %d MB exceeded", (int)(c->mem_limit >> 20));
	}
	return status;
}

void vm_script_close(struct vm_script *vs)
{
	if (!vs)
		return;
	lua_close(vs->core.L);
	free(vs);
}

void vm_after_fork(void)
{
	vm_callback_depth = 0;
	watchdog_after_fork();
}
