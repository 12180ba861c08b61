/*
 * play — the C side of a playbook (`gantry play`): the native module
 * `gantry.play.native` that stdlib/gantry/play.lua is written over.
 *
 * What it gives: the wall clock and sleep, log lines, SHA-256, files read
 * and written only under the working directory or the output directory
 * (every path a playbook names is checked against both, after symlinks are
 * resolved), the gantry binary started as a child (never another program),
 * bounded waits on children, one control-socket request, the deployment
 * record (JSON lines chained by the SHA-256 of the line before, appended
 * under an flock) and its verifier.
 *
 * What needs the engine (a backtest run in this process's child, a sweep
 * over worker processes) comes through struct play_host, filled by the
 * command (host/cmd/play.c): nothing here includes an engine header.
 */
#ifndef GANTRY_BINDINGS_PLAY_H
#define GANTRY_BINDINGS_PLAY_H

#include <stddef.h>

#include "lua_compat.h"
#include "play_record.h"

struct play_host {
	/* backtest{...} and sweep{...}: the Lua table at index 1, results
	 * pushed; they return the number of results (lua_CFunction). */
	int (*backtest)(lua_State *L);
	int (*sweep)(lua_State *L);
	int (*span)(lua_State *L); /* the data's first and last time */
};

/* The two roots every path must be under (absolute, resolved) and the host.
 * Borrowed: must outlive the state. */
void play_bindings_init(const char *cwd, const char *outdir, const struct play_host *host);

/* The native module's table (luaL_Reg); pushed on L. */
int luaopen_gantry_play_native(lua_State *L);

/* A path under one of the roots: its resolved absolute form in out (which
 * may not exist yet; its directory must). 0, or -1 with err. */
int play_path_check(const char *path, char *out, size_t outlen, char *err, size_t errlen);

#endif
