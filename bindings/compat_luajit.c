/*
 * compat (LuaJIT only) — luaopen_gantry_compat: table.pack and table.unpack
 * as a strategy written for Lua 5.4 calls them. LuaJIT's base has a global
 * unpack; table.unpack is that same function. Opened by the sandbox
 * (bindings/linit.c) after the table library.
 */
#include "sandbox.h"

static const char table_pack_src[] =
	"local select = select\n"
	"return function(...) return { n = select('#', ...), ... } end\n";

int luaopen_gantry_compat(lua_State *L)
{
	lua_getglobal(L, "table");
	luaL_loadbufferx(L, table_pack_src, sizeof table_pack_src - 1, "=table.pack", "t");
	lua_call(L, 0, 1);
	lua_setfield(L, -2, "pack");
	lua_getglobal(L, "unpack");
	lua_setfield(L, -2, "unpack");
	return 0;
}
