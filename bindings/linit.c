/*
 * linit — the libraries a strategy's sandbox opens, in the order they are
 * opened (host/vm walks this table). As Lua's own linit.c says: copy and edit
 * it to choose libraries. Whatever is listed is in every strategy's reach;
 * what is not (io, os, debug, package, ffi) is not there to take away.
 *
 * The standard ones become globals of their name; gantry.* entries are the
 * host's (bindings/sandbox.h): gantry.sandbox comes last, as it rewrites what
 * the ones before it put in place.
 */
#include "sandbox.h"

const luaL_Reg sandbox_libs[] = {
	{LUA_GNAME, luaopen_base}, /* LuaJIT: coroutine too */
	{LUA_STRLIBNAME, luaopen_string},
	{LUA_TABLIBNAME, luaopen_table},
	{LUA_MATHLIBNAME, luaopen_math},
#if GANTRY_LUAJIT
	{LUA_BITLIBNAME, luaopen_bit},
	/* opening it is what turns the compiler on; gantry.sandbox removes the global */
	{LUA_JITLIBNAME, luaopen_jit},
	{"gantry.compat", luaopen_gantry_compat}, /* table.pack and table.unpack */
#else
	{LUA_UTF8LIBNAME, luaopen_utf8},
	{LUA_COLIBNAME, luaopen_coroutine},
#endif
	{"gantry.sandbox", luaopen_gantry_sandbox},
	{NULL, NULL},
};
