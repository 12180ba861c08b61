/*
 * ctx — the host as one strategy sees it: `ctx:buy`, `ctx:position`, ...
 * Written only against struct vm_host below: the engine fills one per
 * strategy; nothing here includes an engine header.
 */
#ifndef GANTRY_BINDINGS_CTX_H
#define GANTRY_BINDINGS_CTX_H

#include <stdint.h>

#include "event.h"
#include "lua_compat.h"
#include "oms.h"

struct symtab;
struct bar;

#define VM_TIMER_NAME_MAX 32 /* a timer's name, with its NUL */
#define VM_TIMER_MAX 16	     /* timers a strategy may set at once (ctx:timer's message) */

/*
 * The host as one strategy's VM sees it. The VM and the bindings never
 * include an engine header: every ctx method that acts goes through ops
 * (with self, the engine's strategy), and what is only read (positions,
 * cash, open orders) is read from the order book of record directly.
 * The engine owns the struct and keeps it at one address for the life of
 * the strategy; oms is NULL until the run starts.
 */
struct vm_host_ops {
	/* The order path: the order id (> 0), or 0 with *reason a stable word. */
	int64_t (*submit)(void *self, const struct order_request *req, const char **reason);
	/* 0, or -1 with *reason ("unknown_order", "not_open", "not_owner", ...). */
	int (*cancel)(void *self, int64_t id, const char **reason);
	int (*cancel_all)(void *self, int sym); /* sym < 0: all; the count */
	/* Top of book (bars: the last close both sides). 0, or -1 when none. */
	int (*top)(void *self, int sym, struct top_of_book *out);
	/* Levels of a side (0 bids, 1 asks), best first: price, shares, orders. */
	int (*depth)(void *self, int sym, int side, double (*out)[3], int n);
	int64_t (*now)(void *self);
	/* Sets (ms > 0) or clears a named timer; -1 when none is free. */
	int (*timer)(void *self, const char *name, double ms);
	void (*log)(void *self, int level, const char *msg);
	/* ctx:bars: how many closed bars of sym are kept in timeframe tf (NULL:
	 * the feed's own), -1 when the strategy has no timeframe tf; with out,
	 * the back-th newest of them (0: the newest) is copied there. */
	int (*bars)(void *self, int sym, const char *tf, int back, struct bar *out);
	/* ctx:at: a daily timer at sec seconds after midnight in the exchange's
	 * time zone. 0, or -1 with *reason. */
	int (*at)(void *self, const char *name, int sec, const char **reason);
	/* ctx:oco: two working orders of the strategy as a one-cancels-other
	 * pair. 0, or -1 with *reason. */
	int (*oco)(void *self, int64_t a, int64_t b, const char **reason);
	/* ctx:replace: a working order's quantity and/or limit price (NAN: keep
	 * it). 0, or -1 with *reason. */
	int (*replace)(void *self, int64_t id, double qty, double price, const char **reason);
};

struct vm_host {
	const struct vm_host_ops *ops;
	void *self;
	struct oms *oms; /* the book of record, read-only here; NULL before the run */
	int account;	 /* this strategy's account in it */
	const struct symtab *symtab;
};

/* A quantity as Lua sees it: an integer while it is whole (shares, as
 * always), a number for a fraction of a lot-traded symbol. */
static inline void ctx_push_qty(lua_State *L, double q)
{
	if (q >= -9.2e18 && q <= 9.2e18 && q == (double)(lua_Integer)q) /* in range: no UB */
		lua_pushinteger(L, (lua_Integer)q);
	else
		lua_pushnumber(L, q);
}

/* Takes a light userdata (struct vm_host *, may be NULL for `gantry check`)
 * as its argument; returns the ctx table (methods, `params`, `state`). The
 * host must outlive the Lua state. The LuaJIT fast path over it is
 * bindings/ctx_ffi.h. */
int luaopen_gantry_ctx(lua_State *L);

#endif
