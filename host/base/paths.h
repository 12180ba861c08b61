/*
 * paths — where gantry finds its own files at run time (the Lua stdlib),
 * found from where the binary is, so that a moved or installed binary
 * works; nothing is compiled in. In order:
 *   $GANTRY_STDLIB, when set;
 *   BIN/../share/gantry/stdlib, as `make install` lays it out
 *   (PREFIX/bin/gantry, PREFIX/share/gantry/stdlib);
 *   the stdlib/ of the tree the binary was built in: the first in BIN's
 *   directory or up to four above it (./gantry, build/san/gantry,
 *   build/luajit/rel/bench/bench_vm).
 * BIN is the directory of /proc/self/exe.
 */
#ifndef GANTRY_PATHS_H
#define GANTRY_PATHS_H

/* The stdlib's directory (it holds gantry/ta.lua ...). When none of the
 * places has one, the installed layout's path, for the error to name. */
const char *paths_stdlib(void);

#endif
