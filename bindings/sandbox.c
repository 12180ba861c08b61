/*
 * sandbox — luaopen_gantry_sandbox: the base functions a strategy sees,
 * opened last in a sandbox (bindings/linit.c) over the standard libraries.
 *
 * base without dofile/loadfile (load takes text chunks only, in the
 * strategy's environment; collectgarbage answers "count" only; print goes
 * to the log; setmetatable refuses __gc), string without dump (its metatable
 * hidden), coroutine.resume and wrap that tell the VM which coroutine runs
 * (so the CPU budget reaches it), xpcall whose handler runs outside the
 * error, string patterns guarded against matching that would run in C past
 * any budget. require loads gantry.* from the stdlib and modules beside the
 * strategy, as text, in the sandbox. Under LuaJIT, getfenv, setfenv,
 * newproxy, gcinfo, loadstring, module and jit are removed too.
 *
 * The order of what is done here is the order the globals are written in:
 * it is kept so that a strategy's pairs(_G) reads the same from build to build.
 * The functions hold struct sandbox_env (bindings/sandbox.h) as an upvalue.
 */
#include "sandbox.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "log.h"

static struct sandbox_env *env_of(lua_State *L)
{
	return lua_touserdata(L, lua_upvalueindex(1));
}

static int sb_print(lua_State *L)
{
	struct sandbox_env *env = env_of(L);
	luaL_Buffer b;
	int n = lua_gettop(L);
	luaL_buffinit(L, &b);
	for (int i = 1; i <= n; i++) {
		if (i > 1)
			luaL_addchar(&b, '\t');
		luaL_tolstring(L, i, NULL);
		luaL_addvalue(&b);
	}
	luaL_pushresult(&b);
	struct vm_host *h = env->host;
	if (h)
		h->ops->log(h->self, LOG_INFO, lua_tostring(L, -1));
	else
		fprintf(stderr, "%s\n", lua_tostring(L, -1));
	return 0;
}

static int sb_load(lua_State *L)
{
	size_t len;
	const char *chunk = lua_tolstring(L, 1, &len);
	if (!chunk || lua_type(L, 1) != LUA_TSTRING)
		return luaL_error(L, "load: only text chunks (strings) are allowed in the sandbox");
	const char *name = luaL_optstring(L, 2, "=(load)");
	const char *mode = luaL_optstring(L, 3, "t");
	if (strcmp(mode, "t") != 0)
		return luaL_error(L, "load: binary chunks are not allowed (mode must be \"t\")");
	int has_env = !lua_isnone(L, 4);
	/* LuaJIT's environment is a table: its lua_setfenv would read anything as one */
	if (GANTRY_LUAJIT && has_env && !lua_istable(L, 4))
		return luaL_error(L, "load: the environment must be a table (got %s)",
				  luaL_typename(L, 4));
	if (luaL_loadbufferx(L, chunk, len, name, "t") != LUA_OK) {
		lua_pushnil(L);
		lua_insert(L, -2);
		return 2;
	}
	if (has_env) {
		lua_pushvalue(L, 4);
		lua_setchunkenv(L, -2);
	}
	return 1;
}

static int sb_collectgarbage(lua_State *L)
{
	const char *opt = luaL_optstring(L, 1, "count");
	if (strcmp(opt, "count") != 0)
		return luaL_error(L, "collectgarbage: only \"count\" is allowed in the sandbox");
	int kb = lua_gc(L, LUA_GCCOUNT, 0), b = lua_gc(L, LUA_GCCOUNTB, 0);
	lua_pushnumber(L, (lua_Number)kb + (lua_Number)b / 1024);
	return 1;
}

static int sb_setmetatable(lua_State *L)
{
	if (lua_istable(L, 2) && lua_getfield(L, 2, "__gc") != LUA_TNIL)
		return luaL_error(L, "setmetatable: __gc metamethods are not allowed in the sandbox");
	lua_settop(L, 2);
	lua_getfield(L, LUA_REGISTRYINDEX, "gantry.setmetatable");
	lua_insert(L, 1);
	lua_call(L, 2, 1);
	return 1;
}

/* coroutine.resume (upvalue 2) that tells the VM which coroutine runs. */
static int sb_resume(lua_State *L)
{
	struct sandbox_env *env = env_of(L);
	lua_State *co = lua_tothread(L, 1);
	luaL_argexpected(L, co, 1, "coroutine");
	lua_State *prev = env->resume_enter(env->ud, co);
	lua_pushvalue(L, lua_upvalueindex(2));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	env->resume_leave(env->ud, prev);
	return lua_gettop(L);
}

/*
 * Lua patterns run in C, out of the hook's reach: a pattern with q
 * variable-length items can take len^(q+1) steps on a len-byte subject
 * (every start position, then every split) and hold the host past any
 * budget. The sandbox's string.find, match, gmatch and gsub refuse a pattern
 * whose len^(q+1) passes PATTERN_STEPS, about a quarter of a second of
 * matching at worst; the budget catches the callback as soon as it returns.
 */
#define PATTERN_STEPS 1e8

static int pattern_quantifiers(const char *p, size_t n)
{
	int q = 0, in_set = 0;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (c == '%') {
			i++; /* an escape, a class, %b xy, %f[...] */
			if (i < n && p[i] == 'b')
				i += 2;
		} else if (in_set) {
			in_set = c != ']';
		} else if (c == '[') {
			in_set = 1;
			if (i + 1 < n && p[i + 1] == '^')
				i++;
			if (i + 1 < n && p[i + 1] == ']')
				i++;
		} else if ((c == '*' || c == '+' || c == '-' || c == '?') && i > 0) {
			q++;
		}
	}
	return q;
}

static int sb_pattern(lua_State *L)
{
	size_t len, plen;
	luaL_checklstring(L, 1, &len);
	const char *pat = luaL_checklstring(L, 2, &plen);
	int plain = lua_toboolean(L, 4) && lua_tointeger(L, lua_upvalueindex(2)) == 1;
	if (!plain) {
		int q = pattern_quantifiers(pat, plen);
		if (q >= 1 && pow((double)len, q + 1) > PATTERN_STEPS)
			return luaL_error(L, "pattern too costly for the sandbox: %d quantifiers over a "
					     "%d-byte string (len^(q+1) must stay under 1e8)",
					  q, (int)len);
	}
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

/* xpcall whose handler runs after the error, not inside it: Lua runs a
 * message handler with hooks off when the error came from a hook (the CPU
 * budget's), so a looping handler could never be stopped. The handler still
 * gets the error and its result is returned; it runs under the budget. */
static const char xpcall_src[] =
	"local pcall, pack, unpack = ...\n"
	"return function(f, h, ...)\n"
	"  local r = pack(pcall(f, ...))\n"
	"  if r[1] then return unpack(r, 1, r.n) end\n"
	"  return false, h(r[2])\n"
	"end\n";

/* coroutine.wrap in terms of the resume above. */
static const char wrap_src[] =
	"local create, resume, error, pack, unpack = ...\n"
	"return function(f)\n"
	"  local co = create(f)\n"
	"  return function(...)\n"
	"    local r = pack(resume(co, ...))\n"
	"    if r[1] then return unpack(r, 2, r.n) end\n"
	"    error(r[2], 0)\n"
	"  end\n"
	"end\n";

static int valid_module_name(const char *s)
{
	if (!*s || *s == '.')
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || (*s == '.' && s[1] != '.' && s[1])))
			return 0;
	return 1;
}

int sandbox_read_file(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	size_t cap = 8192, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (n < cap)
			break;
		char *nb = realloc(buf, cap *= 2);
		if (!nb) {
			free(buf);
			buf = NULL;
		} else {
			buf = nb;
		}
	}
	int err = ferror(f);
	fclose(f);
	if (!buf || err) {
		free(buf);
		return -1;
	}
	*out = buf;
	*len = n;
	return 0;
}

/*
 * Compiled chunks kept by a process that opens many sandboxes one after the
 * other (a sweep's worker: gantry.ta is 1,100 lines, and compiling it was a
 * quarter of a backtest): the stdlib's modules, the strategy, the VM's own
 * small chunks. Off unless sandbox_cache_stdlib(1): a chunk is reused only
 * for the same chunk name and byte-identical source, so an edited file is
 * compiled again. The bytecode is ours (made by lua_dump from what the
 * parser produced in this process, debug information kept, so messages and
 * tracebacks read as from source) and never reaches a strategy; each
 * sandbox still gets its own fresh function and tables from it.
 */
#define STDLIB_CACHE_MAX 32

struct cached_chunk {
	char *name, *src, *code;
	size_t srclen, codelen, codecap;
};

static struct {
	int on, n;
	struct cached_chunk c[STDLIB_CACHE_MAX];
} stdlib_cache;

void sandbox_cache_stdlib(int on)
{
	for (int i = 0; !on && i < stdlib_cache.n; i++) {
		free(stdlib_cache.c[i].name);
		free(stdlib_cache.c[i].src);
		free(stdlib_cache.c[i].code);
	}
	if (!on)
		stdlib_cache.n = 0;
	stdlib_cache.on = on;
}

int sandbox_cache_count(void)
{
	return stdlib_cache.n;
}

static int dump_to(lua_State *L, const void *p, size_t n, void *ud)
{
	(void)L;
	struct cached_chunk *c = ud;
	if (c->codelen + n > c->codecap) {
		size_t cap = c->codecap ? c->codecap : 4096;
		while (cap < c->codelen + n)
			cap *= 2;
		char *nc = realloc(c->code, cap);
		if (!nc)
			return 1;
		c->code = nc;
		c->codecap = cap;
	}
	memcpy(c->code + c->codelen, p, n);
	c->codelen += n;
	return 0;
}

int sandbox_load_text(lua_State *L, const char *src, size_t len, const char *name)
{
	if (!stdlib_cache.on)
		return luaL_loadbufferx(L, src, len, name, "t");
	for (int i = 0; i < stdlib_cache.n; i++) {
		const struct cached_chunk *c = &stdlib_cache.c[i];
		if (c->srclen == len && !strcmp(c->name, name) && !memcmp(c->src, src, len))
			return luaL_loadbufferx(L, c->code, c->codelen, name, "b");
	}
	int rc = luaL_loadbufferx(L, src, len, name, "t");
	if (rc != LUA_OK || stdlib_cache.n == STDLIB_CACHE_MAX)
		return rc;
	struct cached_chunk c = {.name = strdup(name), .src = malloc(len + 1), .srclen = len};
	if (c.name && c.src) {
		memcpy(c.src, src, len);
#if GANTRY_LUAJIT
		int bad = lua_dump(L, dump_to, &c);
#else
		int bad = lua_dump(L, dump_to, &c, 0);
#endif
		if (!bad) {
			stdlib_cache.c[stdlib_cache.n++] = c;
			return rc;
		}
	}
	free(c.name);
	free(c.src);
	free(c.code);
	return rc;
}

static int sb_require(lua_State *L)
{
	struct sandbox_env *env = env_of(L);
	const char *name = luaL_checkstring(L, 1);
	lua_getfield(L, LUA_REGISTRYINDEX, "gantry.loaded");
	if (lua_getfield(L, -1, name) != LUA_TNIL)
		return 1;
	lua_pop(L, 1);
	if (!valid_module_name(name))
		return luaL_error(L, "require: bad module name '%s'", name);
	int stdlib = strncmp(name, "gantry.", 7) == 0;
	if (!stdlib && !env->dir[0])
		return luaL_error(L, "require: module '%s' not found (only gantry.* modules here)",
				  name);
	char path[PATH_MAX * 2], rel[256];
	int n = snprintf(rel, sizeof rel, "%s", stdlib ? name + 7 : name);
	if (n < 0 || (size_t)n >= sizeof rel)
		return luaL_error(L, "require: module name too long");
	for (char *p = rel; *p; p++)
		if (*p == '.')
			*p = '/';
	if (stdlib)
		snprintf(path, sizeof path, "%s/gantry/%s.lua", env->stdlib, rel);
	else
		snprintf(path, sizeof path, "%s/%s.lua", env->dir, rel);
	char *src;
	size_t len;
	if (sandbox_read_file(path, &src, &len) != 0)
		return luaL_error(L, "require: module '%s' not found (looked for %s%s)", name, path,
				  stdlib ? "; GANTRY_STDLIB names the stdlib's directory" : "");
	if (!stdlib && env->nmodules < SANDBOX_MAX_MODULES)
		snprintf(env->modules[env->nmodules++], sizeof env->modules[0], "%s", path);
	lua_pushfstring(L, "@%s", path);
	int rc = stdlib ? sandbox_load_text(L, src, len, lua_tostring(L, -1))
			: luaL_loadbufferx(L, src, len, lua_tostring(L, -1), "t");
	free(src);
	if (rc != LUA_OK)
		return lua_error(L);
	lua_pushstring(L, name);
	lua_call(L, 1, 1);
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		lua_pushboolean(L, 1);
	}
	lua_pushvalue(L, -1);
	lua_setfield(L, -4, name); /* gantry.loaded[name] */
	return 1;
}

/* The globals replaced, in the order they are set. */
static const luaL_Reg sandbox_funcs[] = {{"print", sb_print},
					 {"load", sb_load},
					 {"collectgarbage", sb_collectgarbage},
					 {"setmetatable", sb_setmetatable},
					 {"require", sb_require},
					 {NULL, NULL}};

/* Loads src (a chunk returning a function of the nargs values below it),
 * calls it with them; leaves the function it returns. */
static void make_from_source(lua_State *L, const char *src, size_t len, const char *name, int nargs)
{
	luaL_loadbufferx(L, src, len, name, "t");
	lua_insert(L, -nargs - 1);
	lua_call(L, nargs, 1);
}

/* Pushes table.pack and table.unpack. */
static void push_pack_unpack(lua_State *L)
{
	lua_getglobal(L, "table");
	lua_getfield(L, -1, "pack");
	lua_getfield(L, -2, "unpack");
	lua_remove(L, -3);
}

static void open_coroutine(lua_State *L, int env)
{
	lua_getglobal(L, "coroutine");
	lua_getfield(L, -1, "resume");
	lua_pushvalue(L, env);
	lua_insert(L, -2);
	lua_pushcclosure(L, sb_resume, 2);
	lua_pushvalue(L, -1);
	lua_setfield(L, -3, "resume");
	int resume = lua_gettop(L);
	lua_getfield(L, -2, "create");
	lua_pushvalue(L, resume);
	lua_getglobal(L, "error");
	push_pack_unpack(L);
	make_from_source(L, wrap_src, sizeof wrap_src - 1, "=coroutine.wrap", 5);
	lua_setfield(L, -3, "wrap");
	lua_pop(L, 2);
}

int luaopen_gantry_sandbox(lua_State *L)
{
	lua_getfield(L, LUA_REGISTRYINDEX, SANDBOX_ENV);
	struct sandbox_env *env = lua_touserdata(L, -1);
	if (!env)
		return luaL_error(L, "gantry.sandbox: no environment in the registry (" SANDBOX_ENV ")");
	int envi = lua_gettop(L);

	/* keep the originals the sandbox wraps */
	lua_getglobal(L, "setmetatable");
	lua_setfield(L, LUA_REGISTRYINDEX, "gantry.setmetatable");
	lua_getglobal(L, "string");
	lua_getfield(L, -1, "format");
	lua_setfield(L, LUA_REGISTRYINDEX, "gantry.format");
	lua_pushnil(L);
	lua_setfield(L, -2, "dump");
	lua_pop(L, 1);

	static const char *const removed[] = {
		"dofile", "loadfile", "require", "package", "io", "os", "debug",
		/* LuaJIT's base: environments, finalizable proxies, a second load */
		"getfenv", "setfenv", "newproxy", "gcinfo", "loadstring", "module", "jit", NULL};
	for (int i = 0; removed[i]; i++) {
		lua_pushnil(L);
		lua_setglobal(L, removed[i]);
	}
	lua_getglobal(L, LUA_GNAME);
	lua_pushvalue(L, envi);
	luaL_setfuncs(L, sandbox_funcs, 1);
	lua_pop(L, 1);
	lua_newtable(L);
	lua_setfield(L, LUA_REGISTRYINDEX, "gantry.loaded");

	/* the string metatable: hidden, so no strategy can change it */
	lua_pushliteral(L, "");
	lua_getmetatable(L, -1);
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_pop(L, 2);

	open_coroutine(L, envi);

	/* patterns guarded; xpcall without in-error handlers */
	static const char *const pattern_fns[] = {"find", "match", "gmatch", "gsub", NULL};
	lua_getglobal(L, "string");
	for (int i = 0; pattern_fns[i]; i++) {
		lua_getfield(L, -1, pattern_fns[i]);
		lua_pushinteger(L, i == 0); /* only find has a `plain` argument */
		lua_pushcclosure(L, sb_pattern, 2);
		lua_setfield(L, -2, pattern_fns[i]);
	}
	lua_pop(L, 1);
	lua_getglobal(L, "pcall");
	push_pack_unpack(L);
	make_from_source(L, xpcall_src, sizeof xpcall_src - 1, "=xpcall", 3);
	lua_setglobal(L, "xpcall");

	/* math.random, seeded per run so a backtest replays identically */
	lua_getglobal(L, "math");
	lua_getfield(L, -1, "randomseed");
	lua_pushinteger(L, (lua_Integer)env->seed);
	lua_call(L, 1, 0);
	lua_pop(L, 1);
	return 0;
}
