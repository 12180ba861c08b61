/*
 * test_chunk_cache — sandbox_load_text's per-process cache of compiled
 * chunks (a sweep's worker): off, it is luaL_loadbufferx and keeps nothing;
 * on, a chunk is compiled once per name and source and then loaded from its
 * bytecode, each load a fresh function (no state shared between loads),
 * with its line information (errors name file and line as from source); an
 * edited source under the same name is compiled again; a syntax error is
 * reported and not kept; off frees every chunk.
 */
#include <string.h>

#include "check.h"
#include "lua_compat.h"
#include "sandbox.h"

#include <lauxlib.h>
#include <lualib.h>

static const char src[] = "local n = 0\n"
			  "local t = {}\n"
			  "return function(x)\n"
			  "  n = n + 1\n"
			  "  if x == 'boom' then error('boom here') end\n"
			  "  t[#t + 1] = x\n"
			  "  return n, #t\n"
			  "end\n";

/* Loads src as name, runs the chunk, leaves the function it returns. */
static int load_fn(lua_State *L, const char *s, const char *name)
{
	if (sandbox_load_text(L, s, strlen(s), name) != LUA_OK)
		return -1;
	return lua_pcall(L, 0, 1, 0) == LUA_OK ? 0 : -1;
}

static void test_off_keeps_nothing(void)
{
	lua_State *L = luaL_newstate();
	luaL_openlibs(L);
	sandbox_cache_stdlib(0);
	CHECK_EQ_INT(load_fn(L, src, "@x.lua"), 0);
	CHECK_EQ_INT(sandbox_cache_count(), 0);
	lua_close(L);
}

static void test_on_compiles_once_and_loads_fresh(void)
{
	sandbox_cache_stdlib(1);
	lua_State *L = luaL_newstate();
	luaL_openlibs(L);
	CHECK_EQ_INT(load_fn(L, src, "@x.lua"), 0);
	CHECK_EQ_INT(sandbox_cache_count(), 1);
	CHECK_EQ_INT(load_fn(L, src, "@x.lua"), 0); /* from the bytecode */
	CHECK_EQ_INT(sandbox_cache_count(), 1);
	/* two functions, each with its own upvalues: calls to one leave the other */
	lua_pushvalue(L, -2);
	lua_pushstring(L, "a");
	lua_call(L, 1, 2);
	CHECK_EQ_INT((int)lua_tointeger(L, -2), 1);
	lua_pop(L, 2);
	lua_pushvalue(L, -2);
	lua_pushstring(L, "b");
	lua_call(L, 1, 2);
	CHECK_EQ_INT((int)lua_tointeger(L, -2), 2);
	lua_pop(L, 2);
	lua_pushvalue(L, -1);
	lua_pushstring(L, "c");
	lua_call(L, 1, 2);
	CHECK_EQ_INT((int)lua_tointeger(L, -2), 1); /* the cached load's count starts afresh */
	lua_pop(L, 2);
	/* the cached chunk's errors name the file and line, as from source */
	lua_pushvalue(L, -1);
	lua_pushstring(L, "boom");
	CHECK(lua_pcall(L, 1, 0, 0) != LUA_OK);
	CHECK_STR(lua_tostring(L, -1), "x.lua:5: boom here");
	lua_close(L);

	/* in another state (a sweep's next run) the chunk loads as well */
	L = luaL_newstate();
	luaL_openlibs(L);
	CHECK_EQ_INT(load_fn(L, src, "@x.lua"), 0);
	CHECK_EQ_INT(sandbox_cache_count(), 1);
	lua_pushstring(L, "a");
	lua_call(L, 1, 2);
	CHECK_EQ_INT((int)lua_tointeger(L, -2), 1);
	lua_close(L);
	sandbox_cache_stdlib(0);
	CHECK_EQ_INT(sandbox_cache_count(), 0);
}

static void test_edited_source_and_errors(void)
{
	sandbox_cache_stdlib(1);
	lua_State *L = luaL_newstate();
	luaL_openlibs(L);
	CHECK_EQ_INT(load_fn(L, "return function() return 1 end", "@y.lua"), 0);
	/* the same name with other text: compiled again, the new text runs */
	CHECK_EQ_INT(load_fn(L, "return function() return 2 end", "@y.lua"), 0);
	CHECK_EQ_INT(sandbox_cache_count(), 2);
	lua_call(L, 0, 1);
	CHECK_EQ_INT((int)lua_tointeger(L, -1), 2);
	lua_settop(L, 0);
	/* a syntax error: reported with its line, nothing kept */
	const char bad[] = "local a =\n= 1\n";
	CHECK(sandbox_load_text(L, bad, strlen(bad), "@z.lua") == LUA_ERRSYNTAX);
	CHECK(strstr(lua_tostring(L, -1), "z.lua:2:") != NULL);
	CHECK_EQ_INT(sandbox_cache_count(), 2);
	lua_close(L);
	sandbox_cache_stdlib(0);
}

int main(void)
{
	RUN(test_off_keeps_nothing);
	RUN(test_on_compiles_once_and_loads_fresh);
	RUN(test_edited_source_and_errors);
	return check_summary();
}
