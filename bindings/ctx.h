/*
 * ctx — the host as one strategy sees it: `ctx:buy`, `ctx:position`, ...
 * Written only against host/engine.h.
 */
#ifndef GANTRY_BINDINGS_CTX_H
#define GANTRY_BINDINGS_CTX_H

#include "lua_compat.h"

struct strategy;

/* Takes a light userdata (struct strategy *, may be NULL for `gantry check`)
 * as its argument; returns the ctx table (methods, `params`, `state`). */
int luaopen_gantry_ctx(lua_State *L);

#if GANTRY_LUAJIT
#include <stdint.h>

/* The boxed event structs of bindings/ffi/gantry.lua (the same layout, which
 * ctx_ffi_install checks): the host writes them, strategies read them. */
struct gantry_ev_bar {
	double time, open, high, low, close, volume;
	int32_t sym_;
};
struct gantry_ev_book {
	double time, bid, bid_qty, ask, ask_qty;
	int32_t sym_;
};
struct gantry_ev_trade {
	double time, price, qty;
	int32_t sym_, side_;
};

struct gantry_ffi;
struct ctx_boxes {
	struct gantry_ev_bar *bar;
	struct gantry_ev_book *book;
	struct gantry_ev_trade *trade;
	struct gantry_ffi *api; /* in the state's memory: read it only while the state lives */
};

/* With the ctx table at `ctx` (from luaopen_gantry_ctx, same host): runs
 * bindings/ffi/gantry.lua, which puts the FFI ctx:buy, ctx:sell and
 * ctx:position on ctx and makes the three event boxes. Pushes the boxes (bar,
 * book, trade) and fills their addresses in; 0, or -1 with the error on the
 * stack. */
int ctx_ffi_install(lua_State *L, struct strategy *s, int ctx, struct ctx_boxes *out);
/* How many orders went through the FFI ctx:buy and ctx:sell. */
uint64_t ctx_ffi_orders(const struct ctx_boxes *b);
#endif

#endif
