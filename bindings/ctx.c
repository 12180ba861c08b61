/*
 * ctx — luaopen_gantry_ctx builds the table a strategy receives as `ctx`.
 * Methods are closures over one userdata (the host and the last symbol
 * looked up); they are fields of ctx itself, so `ctx:buy` is one table
 * lookup, and also the __index of a metatable whose __metatable field hides
 * it: a strategy that overwrites ctx.buy changes only what its own code
 * calls (ctx.buy = nil finds the method again), never what the core does.
 *
 * What acts goes through the host's ops (every order through submit: sanity
 * and risk in C; an order whose options table the host cannot read fully is
 * refused before, `nil, "bad_option: KEY"`); what only reads (positions,
 * cash, open orders) reads the order book of record, h->oms, at the call:
 * the engine sets it when the run starts, after the strategy is loaded.
 */
#include "ctx.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "symtab.h"

/* The methods' upvalue. */
struct ctx_host {
	struct vm_host *h; /* NULL for `gantry check` */
	int last_id;	   /* the symbol id of the last lookup, or -1 */
};

static struct ctx_host *ctx_host(lua_State *L)
{
	struct ctx_host *c = lua_touserdata(L, lua_upvalueindex(1));
	if (!c->h)
		luaL_error(L, "ctx is not connected to a running host (gantry check loads only)");
	return c;
}

static struct vm_host *host(lua_State *L)
{
	return ctx_host(L)->h;
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
static int symbol_arg(lua_State *L, struct ctx_host *c, int arg)
{
	size_t len;
	const char *sym = luaL_checklstring(L, arg, &len);
	const struct symtab *st = c->h->symtab;
	if (c->last_id >= 0 && len <= SYMTAB_NAME_MAX) {
		/* names are SYMTAB_NAME_MAX + 1 bytes: name[len] is inside */
		const char *name = symtab_name(st, c->last_id);
		if (same_name(name, sym, len))
			return c->last_id;
	}
	int id = symtab_find(st, sym, len);
	if (id >= 0)
		c->last_id = id;
	return id;
}

/* One option of ctx:buy / ctx:sell (key at -2, value at -1) into req: 0, or
 * -1 with what is wrong with it in why. */
static int order_option(lua_State *L, struct order_request *req, const char **why)
{
	static const char *const tifs[] = {"day", "ioc", "gtc"};
	static const int tif_values[] = {TIF_DAY, TIF_IOC, TIF_GTC};
	const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
	if (!strcmp(k, "limit")) {
		*why = "a number";
		if (lua_type(L, -1) != LUA_TNUMBER)
			return -1;
		req->limit = lua_tonumber(L, -1);
		return 0;
	}
	if (!strcmp(k, "tif")) {
		*why = "\"day\", \"ioc\" or \"gtc\"";
		const char *v = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
		for (int i = 0; i < 3; i++)
			if (!strcmp(v, tifs[i])) {
				req->tif = tif_values[i];
				return 0;
			}
		return -1;
	}
	*why = NULL; /* not an option */
	return -1;
}

/* The options table at idx into req. An unknown key (a typo, `stop`, `type`)
 * or a value of the wrong type refuses the order, naming the key: the first
 * in byte order, so the answer is the same every run; sending it as a
 * market order would trade what the strategy did not ask for. 0, or -1
 * with the reason ("bad_option: KEY") pushed. */
static int order_options(lua_State *L, struct ctx_host *c, int idx, struct order_request *req)
{
	const char *bad_why = NULL, *method = req->side == SIDE_BUY ? "buy" : "sell";
	char bad[72] = "", key[72], msg[256];
	int nbad = 0;
	if (lua_getmetatable(L, idx)) { /* what its __index gives, a raw read would miss */
		lua_pop(L, 1);
		snprintf(bad, sizeof bad, "[metatable]");
		snprintf(msg, sizeof msg, "ctx:%s refused: bad_option: the options table has a "
					  "metatable (give a plain table)", method);
	} else {
		lua_pushnil(L);
		while (lua_next(L, idx) != 0) {
			const char *why;
			if (order_option(L, req, &why) != 0) {
				if (lua_type(L, -2) == LUA_TSTRING)
					snprintf(key, sizeof key, "%.64s", lua_tostring(L, -2));
				else
					snprintf(key, sizeof key, "[%s]", luaL_typename(L, -2));
				if (!nbad++ || strcmp(key, bad) < 0) {
					memcpy(bad, key, sizeof bad);
					bad_why = why;
				}
			}
			lua_pop(L, 1);
		}
		if (!nbad)
			return 0;
		if (bad_why)
			snprintf(msg, sizeof msg, "ctx:%s refused: bad_option: %s must be %s",
				 method, bad, bad_why);
		else
			snprintf(msg, sizeof msg, "ctx:%s refused: bad_option: unknown option '%s' "
						  "(the options are limit and tif)", method, bad);
	}
	c->h->ops->log(c->h->self, LOG_WARN, msg);
	lua_pushfstring(L, "bad_option: %s", bad);
	return -1;
}

static int order(lua_State *L, int side)
{
	struct ctx_host *c = ctx_host(L);
	struct vm_host *h = c->h;
	struct order_request req = {.side = side, .limit = NAN, .tif = TIF_DAY};
	const char *reason = NULL;
	req.sym = symbol_arg(L, c, 2);
	req.qty = luaL_checknumber(L, 3);
	if (!lua_isnoneornil(L, 4)) {
		luaL_checktype(L, 4, LUA_TTABLE);
		if (order_options(L, c, 4, &req) != 0) {
			lua_pushnil(L);
			lua_insert(L, -2);
			return 2;
		}
	}
	int64_t id = req.sym < 0 ? 0 : h->ops->submit(h->self, &req, &reason);
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
	struct vm_host *h = host(L);
	const char *reason = NULL;
	if (h->ops->cancel(h->self, (int64_t)luaL_checkinteger(L, 2), &reason) == 0) {
		lua_pushboolean(L, 1);
		return 1;
	}
	lua_pushnil(L);
	lua_pushstring(L, reason);
	return 2;
}

static int ctx_cancel_all(lua_State *L)
{
	struct ctx_host *c = ctx_host(L);
	struct vm_host *h = c->h;
	int sym = -1;
	if (!lua_isnoneornil(L, 2) && (sym = symbol_arg(L, c, 2)) < 0) {
		lua_pushinteger(L, 0);
		return 1;
	}
	lua_pushinteger(L, h->ops->cancel_all(h->self, sym));
	return 1;
}

static int ctx_position(lua_State *L)
{
	struct ctx_host *c = ctx_host(L);
	struct vm_host *h = c->h;
	int sym = symbol_arg(L, c, 2);
	double q = sym < 0 ? 0 : oms_position(h->oms, h->account, sym)->qty;
	if (q == (double)(lua_Integer)q)
		lua_pushinteger(L, (lua_Integer)q); /* whole shares: an integer, as always */
	else
		lua_pushnumber(L, q); /* a fraction of a lot-traded symbol */
	return 1;
}

static int ctx_cash(lua_State *L)
{
	struct vm_host *h = host(L);
	lua_pushnumber(L, oms_account(h->oms, h->account)->cash);
	return 1;
}

static int ctx_equity(lua_State *L)
{
	struct vm_host *h = host(L);
	lua_pushnumber(L, oms_equity(h->oms, h->account));
	return 1;
}

static int ctx_pnl(lua_State *L)
{
	struct ctx_host *c = ctx_host(L);
	struct vm_host *h = c->h;
	int sym = -1;
	if (!lua_isnoneornil(L, 2) && (sym = symbol_arg(L, c, 2)) < 0) {
		lua_pushnumber(L, 0);
		return 1;
	}
	lua_pushnumber(L, oms_pnl(h->oms, h->account, sym));
	return 1;
}

static void push_order(lua_State *L, const struct vm_host *h, const struct order *o)
{
	lua_createtable(L, 0, 11);
	lua_pushinteger(L, (lua_Integer)o->id);
	lua_setfield(L, -2, "id");
	lua_pushstring(L, symtab_name(h->symtab, o->sym));
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
	lua_pushstring(L, oms_origin_name(o->origin));
	lua_setfield(L, -2, "origin");
}

static int ctx_orders(lua_State *L)
{
	struct ctx_host *c = ctx_host(L);
	struct vm_host *h = c->h;
	struct oms *oms = h->oms;
	int sym = -1, n = 0;
	if (!lua_isnoneornil(L, 2) && (sym = symbol_arg(L, c, 2)) < 0) {
		lua_newtable(L);
		return 1;
	}
	lua_newtable(L);
	int count = oms_open_count(oms, h->account);
	/* by id, so the list reads in the order the orders were sent */
	for (int64_t id = 1, seen = 0; seen < count && id <= oms_count(oms); id++) {
		const struct order *o = oms_get(oms, id);
		if (o->strat != h->account || !oms_is_open(o))
			continue;
		seen++;
		if (sym >= 0 && o->sym != sym)
			continue;
		push_order(L, h, o);
		lua_rawseti(L, -2, ++n);
	}
	return 1;
}

static void push_levels(lua_State *L, struct vm_host *h, int sym, int side, int depth)
{
	double lv[64][3];
	int n = h->ops->depth(h->self, sym, side, lv, depth < 64 ? depth : 64);
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
	struct ctx_host *c = ctx_host(L);
	struct vm_host *h = c->h;
	struct top_of_book t;
	int sym = symbol_arg(L, c, 2);
	if (sym < 0 || h->ops->top(h->self, sym, &t) != 0) {
		lua_pushnil(L);
		return 1;
	}
	if (!lua_isnoneornil(L, 3)) {
		lua_Integer depth = luaL_checkinteger(L, 3);
		luaL_argcheck(L, depth >= 1 && depth <= 64, 3, "depth must be 1 to 64");
		lua_createtable(L, 0, 3);
		lua_pushstring(L, symtab_name(h->symtab, sym));
		lua_setfield(L, -2, "symbol");
		push_levels(L, h, sym, 0, (int)depth);
		lua_setfield(L, -2, "bids");
		push_levels(L, h, sym, 1, (int)depth);
		lua_setfield(L, -2, "asks");
		return 1;
	}
	lua_createtable(L, 0, 6);
	lua_pushstring(L, symtab_name(h->symtab, sym));
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
	struct vm_host *h = host(L);
	lua_pushinteger(L, (lua_Integer)h->ops->now(h->self));
	return 1;
}

static int ctx_timer(lua_State *L)
{
	struct vm_host *h = host(L);
	const char *name = luaL_checkstring(L, 2);
	double ms = luaL_optnumber(L, 3, 0);
	if (!(ms >= 0) || strlen(name) >= VM_TIMER_NAME_MAX)
		return luaL_error(L, "ctx:timer: a name under 32 bytes and ms >= 0 expected");
	if (h->ops->timer(h->self, name, ms) != 0)
		return luaL_error(L, "ctx:timer: at most %d timers", VM_TIMER_MAX);
	return 0;
}

static int ctx_log(lua_State *L)
{
	struct vm_host *h = host(L);
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
	h->ops->log(h->self, level, lua_tostring(L, -1));
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
	struct vm_host *vh = lua_touserdata(L, 1);
	int nmethods = (int)(sizeof ctx_methods / sizeof ctx_methods[0]) - 1;
	lua_createtable(L, 0, nmethods + 2); /* ctx: the methods, params, state */
	int ctx = lua_gettop(L);
	lua_createtable(L, 0, 2); /* its metatable */
	lua_createtable(L, 0, nmethods);
	int methods = lua_gettop(L);
	struct ctx_host *c = lua_newuserdatauv(L, sizeof *c, 0);
	c->h = vh;
	c->last_id = -1;
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
