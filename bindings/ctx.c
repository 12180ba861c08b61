/*
 * ctx — luaopen_gantry_ctx builds the table a strategy receives as `ctx`.
 * Methods are closures over one userdata (the strategy pointer and the last
 * symbol looked up); they are fields of ctx itself, so `ctx:buy` is one
 * table lookup, and also the __index of a metatable whose __metatable field
 * hides it: a strategy that overwrites ctx.buy changes only what its own
 * code calls (ctx.buy = nil finds the method again), never what the core
 * does. Every order goes through engine_submit (sanity and risk in C).
 */
#include "ctx.h"

#include <math.h>
#include <string.h>

#include "engine.h"
#include "log.h"

/* The methods' upvalue. */
struct ctx_host {
	struct strategy *s; /* NULL for `gantry check` */
	int last_id;	    /* the symbol id of the last lookup, or -1 */
};

static struct ctx_host *ctx_host(lua_State *L)
{
	struct ctx_host *h = lua_touserdata(L, lua_upvalueindex(1));
	if (!h->s)
		luaL_error(L, "ctx is not connected to a running host (gantry check loads only)");
	return h;
}

static struct strategy *host(lua_State *L)
{
	return ctx_host(L)->s;
}

/* Whether sym (len bytes, no NUL among them) is name; short: no libc call. */
static inline int same_name(const char *name, const char *sym, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (name[i] != sym[i] || sym[i] == '\0')
			return 0;
	return name[len] == '\0';
}

/* The symbol id of a name: a strategy names the same symbol call after call,
 * so the last id is tried first (its name compared, so it is always right). */
static int symbol_arg(lua_State *L, struct ctx_host *h, int arg)
{
	size_t len;
	const char *sym = luaL_checklstring(L, arg, &len);
	const struct symtab *st = engine_symtab(h->s->eng);
	if (h->last_id >= 0 && len <= SYMTAB_NAME_MAX) {
		/* names are SYMTAB_NAME_MAX + 1 bytes: name[len] is inside */
		const char *name = symtab_name(st, h->last_id);
		if (same_name(name, sym, len))
			return h->last_id;
	}
	int id = symtab_find(st, sym, len);
	if (id >= 0)
		h->last_id = id;
	return id;
}

static int tif_arg(lua_State *L, int idx)
{
	static const char *const names[] = {"day", "ioc", "gtc", NULL};
	static const int values[] = {TIF_DAY, TIF_IOC, TIF_GTC};
	return values[luaL_checkoption(L, idx, "day", names)];
}

static int order(lua_State *L, int side)
{
	struct ctx_host *h = ctx_host(L);
	struct strategy *s = h->s;
	struct order_request req = {.side = side, .limit = NAN, .tif = TIF_DAY};
	const char *reason = NULL;
	req.sym = symbol_arg(L, h, 2);
	req.qty = luaL_checknumber(L, 3);
	if (!lua_isnoneornil(L, 4)) {
		luaL_checktype(L, 4, LUA_TTABLE);
		if (lua_getfield(L, 4, "limit") != LUA_TNIL) {
			int ok;
			req.limit = lua_tonumberx(L, -1, &ok);
			if (!ok)
				return luaL_error(L, "ctx:%s: limit must be a number",
						  side == SIDE_BUY ? "buy" : "sell");
		}
		lua_getfield(L, 4, "tif");
		req.tif = tif_arg(L, -1);
		lua_pop(L, 2);
	}
	int64_t id = req.sym < 0 ? 0 : engine_submit(s, &req, &reason);
	if (id > 0) {
		lua_pushinteger(L, (lua_Integer)id);
		return 1;
	}
	lua_pushnil(L);
	lua_pushstring(L, req.sym < 0 ? "unknown_symbol" : reason);
	return 2;
}

static int ctx_buy(lua_State *L)
{
	return order(L, SIDE_BUY);
}

static int ctx_sell(lua_State *L)
{
	return order(L, SIDE_SELL);
}

static int ctx_cancel(lua_State *L)
{
	struct strategy *s = host(L);
	const char *reason = NULL;
	if (engine_cancel(s, (int64_t)luaL_checkinteger(L, 2), &reason) == 0) {
		lua_pushboolean(L, 1);
		return 1;
	}
	lua_pushnil(L);
	lua_pushstring(L, reason);
	return 2;
}

static int ctx_cancel_all(lua_State *L)
{
	struct ctx_host *h = ctx_host(L);
	struct strategy *s = h->s;
	int sym = -1;
	if (!lua_isnoneornil(L, 2) && (sym = symbol_arg(L, h, 2)) < 0) {
		lua_pushinteger(L, 0);
		return 1;
	}
	lua_pushinteger(L, engine_cancel_all(s, sym));
	return 1;
}

static int ctx_position(lua_State *L)
{
	struct ctx_host *h = ctx_host(L);
	struct strategy *s = h->s;
	int sym = symbol_arg(L, h, 2);
	double q = sym < 0 ? 0 : oms_position(engine_oms(s->eng), s->id, sym)->qty;
	lua_pushinteger(L, (lua_Integer)q);
	return 1;
}

static int ctx_cash(lua_State *L)
{
	struct strategy *s = host(L);
	lua_pushnumber(L, oms_account(engine_oms(s->eng), s->id)->cash);
	return 1;
}

static int ctx_equity(lua_State *L)
{
	struct strategy *s = host(L);
	lua_pushnumber(L, oms_equity(engine_oms(s->eng), s->id));
	return 1;
}

static int ctx_pnl(lua_State *L)
{
	struct ctx_host *h = ctx_host(L);
	struct strategy *s = h->s;
	int sym = -1;
	if (!lua_isnoneornil(L, 2) && (sym = symbol_arg(L, h, 2)) < 0) {
		lua_pushnumber(L, 0);
		return 1;
	}
	lua_pushnumber(L, oms_pnl(engine_oms(s->eng), s->id, sym));
	return 1;
}

static void push_order(lua_State *L, struct strategy *s, const struct order *o)
{
	lua_createtable(L, 0, 10);
	lua_pushinteger(L, (lua_Integer)o->id);
	lua_setfield(L, -2, "id");
	lua_pushstring(L, symtab_name(engine_symtab(s->eng), o->sym));
	lua_setfield(L, -2, "symbol");
	lua_pushstring(L, oms_side_name(o->side));
	lua_setfield(L, -2, "side");
	lua_pushinteger(L, (lua_Integer)o->qty);
	lua_setfield(L, -2, "qty");
	lua_pushinteger(L, (lua_Integer)o->filled);
	lua_setfield(L, -2, "filled");
	if (o->type == ORD_LIMIT) {
		lua_pushnumber(L, o->price);
		lua_setfield(L, -2, "price");
	}
	lua_pushstring(L, oms_status_name(o->status));
	lua_setfield(L, -2, "status");
	lua_pushstring(L, oms_tif_name(o->tif));
	lua_setfield(L, -2, "tif");
}

static int ctx_orders(lua_State *L)
{
	struct ctx_host *h = ctx_host(L);
	struct strategy *s = h->s;
	struct oms *oms = engine_oms(s->eng);
	int sym = -1, n = 0;
	if (!lua_isnoneornil(L, 2) && (sym = symbol_arg(L, h, 2)) < 0) {
		lua_newtable(L);
		return 1;
	}
	lua_newtable(L);
	int count = oms_open_count(oms, s->id);
	/* by id, so the list reads in the order the orders were sent */
	for (int64_t id = 1, seen = 0; seen < count && id <= oms_count(oms); id++) {
		const struct order *o = oms_get(oms, id);
		if (o->strat != s->id || !oms_is_open(o))
			continue;
		seen++;
		if (sym >= 0 && o->sym != sym)
			continue;
		push_order(L, s, o);
		lua_rawseti(L, -2, ++n);
	}
	return 1;
}

static void push_levels(lua_State *L, struct strategy *s, int sym, int side, int depth)
{
	double lv[64][3];
	int n = engine_depth(s->eng, sym, side, lv, depth < 64 ? depth : 64);
	lua_createtable(L, n, 0);
	for (int i = 0; i < n; i++) {
		lua_createtable(L, 3, 0);
		for (int k = 0; k < 3; k++) {
			lua_pushnumber(L, lv[i][k]);
			lua_rawseti(L, -2, k + 1);
		}
		lua_rawseti(L, -2, i + 1);
	}
}

/* ctx:book(sym): the top; ctx:book(sym, depth): { symbol, bids = {{price,
 * qty, orders}, ...}, asks = ... }, best first. */
static int ctx_book(lua_State *L)
{
	struct ctx_host *h = ctx_host(L);
	struct strategy *s = h->s;
	struct top_of_book t;
	int sym = symbol_arg(L, h, 2);
	if (sym < 0 || engine_top(s->eng, sym, &t) != 0) {
		lua_pushnil(L);
		return 1;
	}
	if (!lua_isnoneornil(L, 3)) {
		lua_Integer depth = luaL_checkinteger(L, 3);
		luaL_argcheck(L, depth >= 1 && depth <= 64, 3, "depth must be 1 to 64");
		lua_createtable(L, 0, 3);
		lua_pushstring(L, symtab_name(engine_symtab(s->eng), sym));
		lua_setfield(L, -2, "symbol");
		push_levels(L, s, sym, 0, (int)depth);
		lua_setfield(L, -2, "bids");
		push_levels(L, s, sym, 1, (int)depth);
		lua_setfield(L, -2, "asks");
		return 1;
	}
	lua_createtable(L, 0, 6);
	lua_pushstring(L, symtab_name(engine_symtab(s->eng), sym));
	lua_setfield(L, -2, "symbol");
	lua_pushinteger(L, (lua_Integer)t.time);
	lua_setfield(L, -2, "time");
	lua_pushnumber(L, t.bid);
	lua_setfield(L, -2, "bid");
	lua_pushnumber(L, t.bid_qty);
	lua_setfield(L, -2, "bid_qty");
	lua_pushnumber(L, t.ask);
	lua_setfield(L, -2, "ask");
	lua_pushnumber(L, t.ask_qty);
	lua_setfield(L, -2, "ask_qty");
	return 1;
}

static int ctx_now(lua_State *L)
{
	struct strategy *s = host(L);
	lua_pushinteger(L, (lua_Integer)engine_now(s->eng));
	return 1;
}

static int ctx_timer(lua_State *L)
{
	struct strategy *s = host(L);
	const char *name = luaL_checkstring(L, 2);
	double ms = luaL_optnumber(L, 3, 0);
	if (!(ms >= 0) || strlen(name) >= sizeof s->timers[0].name)
		return luaL_error(L, "ctx:timer: a name under 32 bytes and ms >= 0 expected");
	if (engine_timer(s, name, ms) != 0)
		return luaL_error(L, "ctx:timer: at most %d timers", STRAT_MAX_TIMERS);
	return 0;
}

static int ctx_log(lua_State *L)
{
	struct strategy *s = host(L);
	static const char *const levels[] = {"debug", "info", "warn", "error", NULL};
	int level = luaL_checkoption(L, 2, "info", levels);
	int n = lua_gettop(L);
	if (n > 3) {
		/* string.format, the one captured before the strategy ran */
		lua_getfield(L, LUA_REGISTRYINDEX, "gantry.format");
		lua_insert(L, 3);
		lua_call(L, n - 2, 1);
	} else {
		luaL_checkstring(L, 3);
	}
	engine_log(s, level, lua_tostring(L, -1));
	return 0;
}

static const luaL_Reg ctx_methods[] = {
	{"buy", ctx_buy},	  {"sell", ctx_sell},	  {"cancel", ctx_cancel},
	{"cancel_all", ctx_cancel_all}, {"position", ctx_position}, {"cash", ctx_cash},
	{"equity", ctx_equity},	  {"pnl", ctx_pnl},	  {"orders", ctx_orders},
	{"book", ctx_book},	  {"now", ctx_now},	  {"timer", ctx_timer},
	{"log", ctx_log},	  {NULL, NULL}};

int luaopen_gantry_ctx(lua_State *L)
{
	void *s = lua_touserdata(L, 1);
	int nmethods = (int)(sizeof ctx_methods / sizeof ctx_methods[0]) - 1;
	lua_createtable(L, 0, nmethods + 2); /* ctx: the methods, params, state */
	int ctx = lua_gettop(L);
	lua_createtable(L, 0, 2); /* its metatable */
	lua_createtable(L, 0, nmethods);
	int methods = lua_gettop(L);
	struct ctx_host *h = lua_newuserdatauv(L, sizeof *h, 0);
	h->s = s;
	h->last_id = -1;
	luaL_setfuncs(L, ctx_methods, 1);
	lua_pushnil(L); /* each method a field of ctx too */
	while (lua_next(L, methods) != 0) {
		lua_pushvalue(L, -2);
		lua_insert(L, -2);
		lua_rawset(L, ctx);
	}
	lua_setfield(L, -2, "__index");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, ctx);
	return 1;
}

#if GANTRY_LUAJIT
/* ------------------------------------------------------------ LuaJIT FFI */

/* bindings/ffi/gantry.lua, in the binary: a strategy runs wherever the binary
 * is, and its fast path cannot go missing or stale. */
__asm__(".pushsection .rodata\n"
	".balign 16\n"
	"gantry_ffi_lua:\n"
	".incbin \"bindings/ffi/gantry.lua\"\n"
	".byte 0\n"
	".popsection\n");
extern const char gantry_ffi_lua[] __asm__("gantry_ffi_lua");

/* What the FFI closures call: the same engine calls as the methods above. */
struct gantry_ffi {
	struct strategy *s;
	int64_t (*submit)(struct gantry_ffi *api, int32_t sym, int32_t side, double qty,
			  const char **reason);
	double (*position)(struct strategy *s, int32_t sym);
	int32_t (*symbol)(struct strategy *s, const char *name, size_t len);
	const char *(*name)(struct strategy *s, int32_t sym);
	uint64_t orders; /* submitted through the fast path */
};

static int64_t ffi_submit(struct gantry_ffi *api, int32_t sym, int32_t side, double qty,
			  const char **reason)
{
	api->orders++;
	struct strategy *s = api->s;
	struct order_request req = {.sym = sym, .side = side, .qty = qty, .limit = NAN,
				    .tif = TIF_DAY};
	*reason = NULL;
	return engine_submit(s, &req, reason);
}

static double ffi_position(struct strategy *s, int32_t sym)
{
	/* what ctx_position pushes: the quantity as an integer */
	return (double)(int64_t)oms_position(engine_oms(s->eng), s->id, sym)->qty;
}

static int32_t ffi_symbol(struct strategy *s, const char *name, size_t len)
{
	return symtab_find(engine_symtab(s->eng), name, len);
}

static const char *ffi_name(struct strategy *s, int32_t sym)
{
	return s ? symtab_name(engine_symtab(s->eng), sym) : "";
}

int ctx_ffi_install(lua_State *L, struct strategy *s, int ctx, struct ctx_boxes *out)
{
	ctx = lua_absindex(L, ctx);
	if (luaL_loadbufferx(L, gantry_ffi_lua, strlen(gantry_ffi_lua), "=gantry.ffi", "t") !=
	    LUA_OK)
		return -1;
	lua_pushcfunction(L, luaopen_ffi);
	lua_call(L, 0, 1);
	struct gantry_ffi *api = lua_newuserdata(L, sizeof *api);
	*api = (struct gantry_ffi){s, ffi_submit, ffi_position, ffi_symbol, ffi_name, 0};
	out->api = api;
	lua_pushvalue(L, -1);
	lua_setfield(L, LUA_REGISTRYINDEX, "gantry.ffi"); /* keeps api alive */
	lua_pop(L, 1);
	lua_pushlightuserdata(L, api);
	lua_pushvalue(L, ctx);
	lua_getmetatable(L, ctx); /* the C methods, before the fast ones replace them */
	lua_getfield(L, -1, "__index");
	lua_remove(L, -2);
	lua_pushinteger(L, SIDE_BUY);
	lua_pushinteger(L, SIDE_SELL);
	if (lua_pcall(L, 6, 4, 0) != LUA_OK)
		return -1;
	static const size_t sizes[] = {sizeof(struct gantry_ev_bar), sizeof(struct gantry_ev_book),
				       sizeof(struct gantry_ev_trade), sizeof(struct gantry_ffi)};
	for (int i = 0; i < 4; i++) {
		lua_rawgeti(L, -1, i + 1);
		size_t got = (size_t)lua_tointeger(L, -1);
		lua_pop(L, 1);
		if (got != sizes[i]) {
			lua_pop(L, 4);
			lua_pushfstring(L, "gantry.ffi: struct %d is %d bytes in Lua, %d in C", i + 1,
					(int)got, (int)sizes[i]);
			return -1;
		}
	}
	lua_pop(L, 1);
	out->bar = (struct gantry_ev_bar *)lua_topointer(L, -3);
	out->book = (struct gantry_ev_book *)lua_topointer(L, -2);
	out->trade = (struct gantry_ev_trade *)lua_topointer(L, -1);
	return 0;
}

uint64_t ctx_ffi_orders(const struct ctx_boxes *b)
{
	return b->api ? b->api->orders : 0;
}
#endif
