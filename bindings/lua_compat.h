/*
 * lua_compat — the Lua C API the host is written against, on both VMs:
 * Lua 5.4 (the default build) and LuaJIT 2.1 (`make VM=luajit`, the Lua 5.1
 * API plus LuaJIT's 5.2 extensions).
 *
 * Include this instead of <lua.h>/<lauxlib.h>/<lualib.h>. Under Lua 5.4 it
 * adds nothing. Under LuaJIT it supplies the 5.3/5.4 calls the host uses, with
 * their 5.4 meaning: lua_getfield and friends return the type they pushed,
 * lua_isinteger says whether a number has an integral value (LuaJIT has one
 * number type, a double), luaL_tolstring, lua_absindex, luaL_requiref. And
 * two of the host's own: lua_setchunkenv, lua_interpreted.
 * GANTRY_LUAJIT is 1 under LuaJIT, 0 otherwise.
 */
#ifndef GANTRY_LUA_COMPAT_H
#define GANTRY_LUA_COMPAT_H

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#if LUA_VERSION_NUM >= 504
#define GANTRY_LUAJIT 0
#define lua_interpreted(L) ((void)(L))
#elif defined(GANTRY_VM_luajit)
#define GANTRY_LUAJIT 1
#include <luajit.h>
#include <math.h>
#include <stdio.h>

#define LUA_OK 0
#define LUA_GNAME "_G"
#define lua_rawlen(L, i) lua_objlen((L), (i))
#define luaL_len(L, i) ((lua_Integer)lua_objlen((L), (i)))
#define lua_newuserdatauv(L, sz, nuv) ((void)(nuv), lua_newuserdata((L), (sz)))
#define lua_pushglobaltable(L) lua_pushvalue((L), LUA_GLOBALSINDEX)
#define luaL_argexpected(L, cond, arg, tname) \
	((void)((cond) || luaL_typerror((L), (arg), (tname))))

static inline int compat_getfield(lua_State *L, int idx, const char *k)
{
	(lua_getfield)(L, idx, k);
	return lua_type(L, -1);
}
static inline int compat_rawgeti(lua_State *L, int idx, lua_Integer n)
{
	(lua_rawgeti)(L, idx, (int)n);
	return lua_type(L, -1);
}
static inline int compat_rawget(lua_State *L, int idx)
{
	(lua_rawget)(L, idx);
	return lua_type(L, -1);
}
/* From here on L runs in the interpreter: LuaJIT's compiled code never
 * checks hooks, so a state whose CPU budget is a hook must not compile. */
#define lua_interpreted(L) ((void)luaJIT_setmode((L), 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF))

#define lua_getfield compat_getfield
#define lua_rawgeti compat_rawgeti
#define lua_rawget compat_rawget

static inline int lua_absindex(lua_State *L, int idx)
{
	return (idx > 0 || idx <= LUA_REGISTRYINDEX) ? idx : lua_gettop(L) + idx + 1;
}

/* A number with an integral value that a double holds exactly. */
static inline int lua_isinteger(lua_State *L, int idx)
{
	if (lua_type(L, idx) != LUA_TNUMBER)
		return 0;
	lua_Number n = lua_tonumber(L, idx);
	return n == floor(n) && fabs(n) <= 9007199254740992.0;
}

/* tostring(v) without calling the global: __tostring, else by type. */
static inline const char *luaL_tolstring(lua_State *L, int idx, size_t *len)
{
	idx = lua_absindex(L, idx);
	if (luaL_callmeta(L, idx, "__tostring")) {
		if (!lua_isstring(L, -1))
			luaL_error(L, "'__tostring' must return a string");
	} else {
		switch (lua_type(L, idx)) {
		case LUA_TNUMBER: { /* as 5.4 shows it: integers in full, others "%.14g" */
			char num[64];
			lua_Number n = lua_tonumber(L, idx);
			snprintf(num, sizeof num, lua_isinteger(L, idx) ? "%.0f" : "%.14g", (double)n);
			lua_pushstring(L, num);
			break;
		}
		case LUA_TSTRING: lua_pushvalue(L, idx); break;
		case LUA_TBOOLEAN: lua_pushstring(L, lua_toboolean(L, idx) ? "true" : "false"); break;
		case LUA_TNIL: lua_pushliteral(L, "nil"); break;
		default:
			lua_pushfstring(L, "%s: %p", luaL_typename(L, idx), lua_topointer(L, idx));
			break;
		}
	}
	return lua_tolstring(L, -1, len);
}

/* Calls openf(modname) and leaves the module on the stack; sets the global
 * when glb (there is no package.loaded in the sandbox to record it in). */
static inline void luaL_requiref(lua_State *L, const char *modname, lua_CFunction openf, int glb)
{
	lua_pushcfunction(L, openf);
	lua_pushstring(L, modname);
	lua_call(L, 1, 1);
	if (glb) {
		lua_pushvalue(L, -1);
		lua_setglobal(L, modname);
	}
}
#else
#error "lua_compat.h: Lua 5.4 or LuaJIT 2.1 (GANTRY_VM_luajit) expected"
#endif

/* Pops the table on top and makes it the environment of the chunk at idx
 * (_ENV, its first upvalue, in 5.4; its function environment in LuaJIT).
 * LuaJIT's lua_setfenv does not check that it is given a table, and would
 * read any other value as one: anything else is popped and ignored here. */
static inline void lua_setchunkenv(lua_State *L, int idx)
{
#if GANTRY_LUAJIT
	if (lua_istable(L, -1))
		lua_setfenv(L, idx);
	else
		lua_pop(L, 1);
#else
	if (!lua_setupvalue(L, idx, 1))
		lua_pop(L, 1);
#endif
}

#endif
