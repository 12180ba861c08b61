/*
 * sandbox — what a strategy's Lua state holds, and nothing more: the
 * libraries bindings/linit.c lists, opened in its order, of which the last,
 * gantry.sandbox (bindings/sandbox.c), replaces what would reach past the
 * sandbox: print logs, load takes text only, require reads gantry.* from the
 * stdlib and the strategy's own modules beside it, setmetatable refuses
 * __gc, collectgarbage only counts, patterns are guarded, coroutine.resume
 * lets the CPU budget follow into the coroutine.
 *
 * Whoever opens a sandbox (host/vm) fills one struct sandbox_env and puts its
 * address in the registry at SANDBOX_ENV before walking sandbox_libs; the
 * functions keep it as an upvalue, so it must outlive the Lua state. Nothing
 * here knows the VM or the engine: the host is reached through struct
 * vm_host (bindings/ctx.h), the budget through the two resume callbacks.
 */
#ifndef GANTRY_BINDINGS_SANDBOX_H
#define GANTRY_BINDINGS_SANDBOX_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "lua_compat.h"

struct vm_host;

#define SANDBOX_ENV "gantry.sandbox" /* registry key: light userdata, struct sandbox_env */
#define SANDBOX_MAX_MODULES 16

struct sandbox_env {
	struct vm_host *host; /* print logs through it; NULL: print writes to stderr */
	char stdlib[PATH_MAX]; /* require "gantry.x" reads stdlib/gantry/x.lua */
	char dir[PATH_MAX];    /* require "x" reads dir/x.lua; "": gantry.* only */
	/* the strategy's own modules it required (for the file watcher), filled in by require */
	char modules[SANDBOX_MAX_MODULES][PATH_MAX];
	int nmodules;
	uint64_t seed; /* math.random's, so a backtest replays */
	/* coroutine.resume brackets the resume with these: enter(ud, co) returns
	 * the coroutine that ran before, which leave(ud, prev) restores */
	lua_State *(*resume_enter)(void *ud, lua_State *co);
	void (*resume_leave)(void *ud, lua_State *prev);
	void *ud;
};

/*
 * The libraries a sandbox opens, in order (bindings/linit.c; copy and edit
 * it to choose them). The standard ones are opened as Lua's linit.c does
 * (luaL_requiref, a global of their name). An entry named gantry.* is the
 * host's own: called with its name, it changes the globals opened before it
 * and returns nothing; it is no module, and must not be recorded as one (a
 * Lua 5.4 traceback names a function after the loaded table it is found in).
 */
extern const luaL_Reg sandbox_libs[];

/* On: require keeps each stdlib module's compiled chunk for the rest of the
 * process and loads it again from there while its source is unchanged (a
 * sweep's worker, which opens a sandbox per combination); so does
 * sandbox_load_text. Off frees them. Every sandbox still runs the chunk
 * afresh: nothing is shared between states but the bytecode. Off by default. */
void sandbox_cache_stdlib(int on);
/* luaL_loadbufferx(L, src, len, name, "t"), through that cache when it is
 * on (keyed by name and the source's bytes). */
int sandbox_load_text(lua_State *L, const char *src, size_t len, const char *name);
/* The chunks the cache holds (for the tests). */
int sandbox_cache_count(void);

/* Replaces the base functions above. */
int luaopen_gantry_sandbox(lua_State *L);

/* LuaJIT only (bindings/compat_luajit.c): table.pack and table.unpack for
 * strategies written for 5.4. */
int luaopen_gantry_compat(lua_State *L);

/* Reads a whole file (a Lua source) into a malloc'd buffer: 0, or -1 with
 * errno set. */
int sandbox_read_file(const char *path, char **out, size_t *len);

#endif
