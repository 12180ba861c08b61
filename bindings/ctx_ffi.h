/*
 * ctx_ffi — the LuaJIT fast path over ctx (make VM=luajit; only its files
 * include this): bindings/ffi/gantry.lua, compiled into the binary, puts FFI
 * ctx:buy, ctx:sell and ctx:position on a strategy's ctx and makes the three
 * event boxes the VM writes bar, book and trade events into.
 *
 * The boxes' layout is bindings/ffi/gantry.lua's; ctx_ffi_install checks
 * that the two agree. Every order still goes through the host's submit
 * (struct vm_host, bindings/ctx.h): sanity and risk in C, never bypassed.
 */
#ifndef GANTRY_BINDINGS_CTX_FFI_H
#define GANTRY_BINDINGS_CTX_FFI_H

#include <stdint.h>

#include "ctx.h"

/* The boxed event structs: the host writes them, strategies read them. */
struct gantry_ev_bar {
	double time, open, high, low, close, volume;
	int32_t sym_;
	const char *tf_; /* a timeframe's bar: its name (the vm's); NULL the feed's */
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
int ctx_ffi_install(lua_State *L, struct vm_host *h, int ctx, struct ctx_boxes *out);
/* How many orders went through the FFI ctx:buy and ctx:sell. */
uint64_t ctx_ffi_orders(const struct ctx_boxes *b);

#endif
