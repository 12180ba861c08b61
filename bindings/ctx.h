/*
 * ctx — the host as one strategy sees it: `ctx:buy`, `ctx:position`, ...
 * Written only against host/engine.h.
 */
#ifndef GANTRY_BINDINGS_CTX_H
#define GANTRY_BINDINGS_CTX_H

#include <lua.h>

/* Takes a light userdata (struct strategy *, may be NULL for `gantry check`)
 * as its argument; returns the ctx table (methods, `params`, `state`). */
int luaopen_gantry_ctx(lua_State *L);

#endif
