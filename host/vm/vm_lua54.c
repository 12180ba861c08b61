/*
 * vm_lua54 — the Lua 5.4 backend of host/vm/vm.h (the default build). One
 * lua_State per strategy; what both backends share is host/vm/vm.c.
 *
 * Events are reused tables whose fields are set in Lua bytecode: a setter
 * per event kind, compiled at open and kept in a stack slot out of the
 * strategy's reach,
 *     function(cb, ctx, ev, v1, ..., vN) ev.k1 = v1 ... return cb(ctx, ev) end
 * so C pushes N values and makes one protected call, instead of N rawsets
 * through the API. A SETFIELD on a table without a metatable is a rawset;
 * the event table is the strategy's, so when it has been given a metatable
 * (a __newindex could see the writes) the fields go in with rawset as
 * before. The setter tail-calls the callback: error(msg, 2) and tracebacks
 * see what they saw when C called the callback (the message handler drops
 * the one "(...tail calls...)" line the setter's tail call adds).
 */
#include <stdio.h>
#include <string.h>

#include "vm-internal.h"

struct vm54 {
	struct vm vm;		/* first: see vm-internal.h */
	const void *via_setter; /* the callback a setter is running (see msgh), else NULL */
};

static struct vm54 *vm54(struct vm *vm)
{
	return (struct vm54 *)vm;
}

/* ------------------------------------------------------------ traceback */

/* The deepest stack level (lauxlib's lastlevel: a bound, then a bisection). */
static int last_level(lua_State *L)
{
	lua_Debug ar;
	int lo = 1, hi = 1;
	while (lua_getstack(L, hi, &ar)) {
		lo = hi;
		hi *= 2;
	}
	while (lo < hi) {
		int m = (lo + hi) / 2;
		if (lua_getstack(L, m, &ar))
			lo = m + 1;
		else
			hi = m;
	}
	return hi - 1;
}

/* The traceback at -1 ends with the "(...tail calls...)" of the setter's
 * tail call when the callback itself is the bottom frame: drop that line, so
 * a strategy's traceback reads as when C called the callback directly. */
static void drop_setter_tail(lua_State *L)
{
	static const char tail[] = "\n\t(...tail calls...)";
	const size_t tn = sizeof tail - 1;
	const struct vm54 *vm = vm54(vm_of(L));
	size_t n;
	const char *tb = lua_tolstring(L, -1, &n);
	lua_Debug ar;
	if (!vm->via_setter || n < tn || memcmp(tb + n - tn, tail, tn) != 0 ||
	    !lua_getstack(L, last_level(L), &ar) || !lua_getinfo(L, "tf", &ar))
		return;
	int ours = ar.istailcall && lua_topointer(L, -1) == vm->via_setter;
	lua_pop(L, 1);
	if (ours) {
		lua_pushlstring(L, tb, n - tn);
		lua_remove(L, -2);
	}
}

static int msgh(lua_State *L)
{
	if (vm_traceback(L))
		drop_setter_tail(L);
	return 1;
}

/* ------------------------------------------------------------ events */

/* The setters of vm_event_kinds, one per kind, into their slots. */
static int compile_setters(struct vm *vm, char *err, size_t errlen)
{
	lua_State *L = vm->core.L;
	for (int kind = 0; kind < EV__COUNT; kind++) {
		const struct event_kind *k = &vm_event_kinds[kind];
		char src[1024];
		size_t n = (size_t)snprintf(src, sizeof src, "return function(cb, ctx, ev");
		for (int i = 0; i < k->nfields; i++)
			n += (size_t)snprintf(src + n, sizeof src - n, ", v%d", i + 1);
		n += (size_t)snprintf(src + n, sizeof src - n, ")\n");
		for (int i = 0; i < k->nfields; i++)
			n += (size_t)snprintf(src + n, sizeof src - n, "  ev.%s = v%d\n",
					      vm_key_names[k->keys[i]], i + 1);
		n += (size_t)snprintf(src + n, sizeof src - n, "  return cb(ctx, ev)\nend\n");
		if (sandbox_load_text(L, src, n, "=(event fields)") != LUA_OK ||
		    lua_pcall(L, 0, 1, 0) != LUA_OK)
			return vm_fail(err, errlen, "%s: cannot compile the event setters: %s",
				       vm->path, lua_tostring(L, -1));
		lua_replace(L, SLOT_SET0 + kind);
	}
	return 0;
}

/* An event's fields are on the stack above its setter: set them, call. */
static inline int call_event(struct vm *vm, int kind)
{
	const struct event_kind *k = &vm_event_kinds[kind];
	lua_State *L = vm->core.L;
	if (lua_getmetatable(L, k->slot)) {
		lua_pop(L, 1);
		return vm_call_event_raw(vm, kind);
	}
	vm54(vm)->via_setter = vm->cb_fn[k->cb];
	int rc = vm_pcall(vm, 3 + k->nfields, 0, k->what, vm->core.budget_ns);
	vm54(vm)->via_setter = NULL;
	return rc;
}

/* A bar's fields, in the order the event setters take them. */
static inline void push_bar(struct vm *vm, lua_State *L, const struct bar *b)
{
	vm_push_symbol(vm, b->sym);
	lua_pushinteger(L, (lua_Integer)b->time);
	lua_pushnumber(L, b->open);
	lua_pushnumber(L, b->high);
	lua_pushnumber(L, b->low);
	lua_pushnumber(L, b->close);
	lua_pushnumber(L, b->volume);
}

static int lua54_on_bar(struct vm *vm, const struct bar *b)
{
	if (ABANDONED(vm))
		return VM_ERROR;
	lua_State *L = vm->core.L;
	vm_begin_event(vm, EV_BAR);
	push_bar(vm, L, b);
	return call_event(vm, EV_BAR);
}

/* A timeframe's bar: its own reused table, so the feed's bars never carry a
 * stale timeframe field and cost nothing more. */
static int lua54_on_frame_bar(struct vm *vm, const struct bar *b, int frame)
{
	if (ABANDONED(vm))
		return VM_ERROR;
	lua_State *L = vm->core.L;
	vm_begin_event(vm, EV_FRAME);
	push_bar(vm, L, b);
	lua_pushstring(L, vm->info.timeframes[frame]);
	return call_event(vm, EV_FRAME);
}

static int lua54_on_book(struct vm *vm, const struct top_of_book *t)
{
	if (ABANDONED(vm))
		return VM_ERROR;
	lua_State *L = vm->core.L;
	vm_begin_event(vm, EV_BOOK);
	vm_push_symbol(vm, t->sym);
	lua_pushinteger(L, (lua_Integer)t->time);
	lua_pushnumber(L, t->bid);
	lua_pushnumber(L, t->bid_qty);
	lua_pushnumber(L, t->ask);
	lua_pushnumber(L, t->ask_qty);
	return call_event(vm, EV_BOOK);
}

static int lua54_on_trade(struct vm *vm, const struct trade_event *t)
{
	if (ABANDONED(vm))
		return VM_ERROR;
	lua_State *L = vm->core.L;
	vm_begin_event(vm, EV_TRADE);
	vm_push_symbol(vm, t->sym);
	lua_pushinteger(L, (lua_Integer)t->time);
	lua_pushnumber(L, t->price);
	lua_pushnumber(L, t->qty);
	vm_push_str(L, t->side ? oms_side_name(t->side) : NULL);
	return call_event(vm, EV_TRADE);
}

/* ------------------------------------------------------------ open */

static void new_event_table(lua_State *L, int slot, int nfields)
{
	lua_createtable(L, 0, nfields);
	lua_replace(L, slot);
}

static struct vm *lua54_open(const struct vm_config *cfg, char *err, size_t errlen)
{
	struct vm *vm = vm_new(sizeof(struct vm54), cfg, msgh, err, errlen);
	if (!vm)
		return NULL;
	vm->call_event = call_event;
	if (vm_load(vm, cfg, err, errlen) != 0)
		goto failed;
	lua_State *L = vm->core.L;
	new_event_table(L, SLOT_BAR, 7);
	new_event_table(L, SLOT_BOOK, 6);
	new_event_table(L, SLOT_TRADE, 5);
	new_event_table(L, SLOT_FRAME, 8);
	if (compile_setters(vm, err, errlen) != 0)
		goto failed;
	vm->core.off_thread = 0; /* from here on it runs on the main thread */
	return vm;

failed:
	vm_free(vm);
	return NULL;
}

const struct vm_ops vm_backend = {
	.name = "Lua 5.4",
	.open = lua54_open,
	.close = vm_free,
	.on_bar = lua54_on_bar,
	.on_frame_bar = lua54_on_frame_bar,
	.on_book = lua54_on_book,
	.on_trade = lua54_on_trade,
	VM_SHARED_OPS,
};
