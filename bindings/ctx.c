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
#include <stdlib.h>
#include <string.h>

#include "bars.h"
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
	static const char *const tifs[] = {"day", "ioc", "gtc", "fok"};
	static const int tif_values[] = {TIF_DAY, TIF_IOC, TIF_GTC, TIF_FOK};
	/* prices and distances: positive numbers (0 in req means none) */
	static const char *const nums[] = {"stop", "trail", "trail_pct", "take_profit", "stop_loss"};
	const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
	for (int i = 0; i < 5; i++) {
		if (strcmp(k, nums[i]) != 0)
			continue;
		*why = "a positive number";
		double v = lua_type(L, -1) == LUA_TNUMBER ? lua_tonumber(L, -1) : NAN;
		if (!(v > 0 && isfinite(v)))
			return -1;
		double *to[] = {&req->stop, &req->trail, &req->trail, &req->take_profit,
				&req->stop_loss};
		*to[i] = v;
		req->trail_pct |= i == 2;
		return 0;
	}
	if (!strcmp(k, "limit")) {
		*why = "a number";
		if (lua_type(L, -1) != LUA_TNUMBER)
			return -1;
		req->limit = lua_tonumber(L, -1);
		return 0;
	}
	if (!strcmp(k, "tif")) {
		*why = "\"day\", \"ioc\", \"gtc\" or \"fok\"";
		const char *v = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
		for (int i = 0; i < 4; i++)
			if (!strcmp(v, tifs[i])) {
				req->tif = tif_values[i];
				return 0;
			}
		return -1;
	}
	*why = NULL; /* not an option */
	return -1;
}

/* Options that cannot go together: the key named, and with what (NULL: none). */
static const char *option_conflict(lua_State *L, int idx, const char **with)
{
	static const char *const pairs[][2] = {
		{"trail", "trail_pct"}, {"trail", "stop"}, {"trail_pct", "stop"}, {"trail", "limit"},
		{"trail_pct", "limit"}};
	for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
		int both = lua_getfield(L, idx, pairs[i][0]) != LUA_TNIL;
		both &= lua_getfield(L, idx, pairs[i][1]) != LUA_TNIL;
		lua_pop(L, 2);
		if (both) {
			*with = pairs[i][1];
			return pairs[i][0];
		}
	}
	return NULL;
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
		const char *with = NULL, *clash = nbad ? NULL : option_conflict(L, idx, &with);
		if (!nbad && !clash && (req->stop > 0 || req->trail > 0) &&
		    (req->tif == TIF_IOC || req->tif == TIF_FOK)) { /* a stop waits: day or gtc */
			clash = "tif";
			with = req->stop > 0 ? "stop" : "a trailing stop";
		}
		if (!nbad && !clash)
			return 0;
		if (clash) {
			snprintf(bad, sizeof bad, "%s", clash);
			snprintf(msg, sizeof msg, "ctx:%s refused: bad_option: %s cannot go with %s",
				 method, clash, with);
		} else if (bad_why)
			snprintf(msg, sizeof msg, "ctx:%s refused: bad_option: %s must be %s",
				 method, bad, bad_why);
		else
			snprintf(msg, sizeof msg, "ctx:%s refused: bad_option: unknown option '%s' "
						  "(the options are limit, tif, stop, trail, trail_pct, "
						  "take_profit and stop_loss)", method, bad);
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

/* One key of ctx:replace's table into *qty / *price: 0, or -1 (bad). */
static int replace_option(lua_State *L, double *qty, double *price)
{
	const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
	double v = lua_type(L, -1) == LUA_TNUMBER ? lua_tonumber(L, -1) : NAN;
	if (strcmp(k, "qty") != 0 && strcmp(k, "price") != 0)
		return -1;
	if (!(v > 0 && isfinite(v)))
		return -1;
	*(k[0] == 'q' ? qty : price) = v;
	return 0;
}

/* ctx:replace(id, {qty =, price =}): true, or nil and the reason; a key
 * other than qty and price, or a value that is not a positive number, is
 * "bad_option: KEY" (the first such key in byte order), as for ctx:buy. */
static int ctx_replace(lua_State *L)
{
	struct vm_host *h = host(L);
	int64_t id = (int64_t)luaL_checkinteger(L, 2);
	luaL_checktype(L, 3, LUA_TTABLE);
	double qty = NAN, price = NAN;
	char bad[72] = "";
	const char *reason = NULL;
	lua_pushnil(L);
	while (lua_next(L, 3) != 0) {
		if (replace_option(L, &qty, &price) != 0) {
			char key[72];
			if (lua_type(L, -2) == LUA_TSTRING)
				snprintf(key, sizeof key, "%.64s", lua_tostring(L, -2));
			else
				snprintf(key, sizeof key, "[%s]", luaL_typename(L, -2));
			if (!bad[0] || strcmp(key, bad) < 0)
				memcpy(bad, key, sizeof bad);
		}
		lua_pop(L, 1);
	}
	if (bad[0] || lua_getmetatable(L, 3)) {
		char msg[160];
		snprintf(msg, sizeof msg, "ctx:replace refused: bad_option: %s (the options are qty and "
					  "price, positive numbers)", bad[0] ? bad : "[metatable]");
		h->ops->log(h->self, LOG_WARN, msg);
		lua_pushnil(L);
		lua_pushfstring(L, "bad_option: %s", bad[0] ? bad : "[metatable]");
		return 2;
	}
	if (h->ops->replace(h->self, id, qty, price, &reason) == 0) {
		lua_pushboolean(L, 1);
		return 1;
	}
	lua_pushnil(L);
	lua_pushstring(L, reason);
	return 2;
}

/* ctx:oco(id1, id2): when one fills the other shrinks by as much, when one
 * is cancelled (or expires) so is the other; held by the host. */
static int ctx_oco(lua_State *L)
{
	struct vm_host *h = host(L);
	const char *reason = NULL;
	int64_t a = (int64_t)luaL_checkinteger(L, 2), b = (int64_t)luaL_checkinteger(L, 3);
	if (h->ops->oco(h->self, a, b, &reason) == 0) {
		lua_pushboolean(L, 1);
		return 1;
	}
	lua_pushnil(L);
	lua_pushstring(L, reason);
	return 2;
}

/* ctx:data_flags(): the data checks that flagged the value being
 * delivered, as a list of names ({"jump", "stale"}), or nil (docs/data.md). */
static int ctx_data_flags(lua_State *L)
{
	struct vm_host *h = host(L);
	const char *names[32];
	int n = h->ops->data_flags ? h->ops->data_flags(h->self, names, 32) : 0;
	if (n <= 0) {
		lua_pushnil(L);
		return 1;
	}
	lua_createtable(L, n, 0);
	for (int i = 0; i < n; i++) {
		lua_pushstring(L, names[i]);
		lua_rawseti(L, -2, i + 1);
	}
	return 1;
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
	ctx_push_qty(L, q);
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
	lua_createtable(L, 0, 14);
	lua_pushinteger(L, (lua_Integer)o->id);
	lua_setfield(L, -2, "id");
	lua_pushstring(L, symtab_name(h->symtab, o->sym));
	lua_setfield(L, -2, "symbol");
	lua_pushstring(L, oms_side_name(o->side));
	lua_setfield(L, -2, "side");
	ctx_push_qty(L, o->qty);
	lua_setfield(L, -2, "qty");
	ctx_push_qty(L, o->filled);
	lua_setfield(L, -2, "filled");
	if (o->type == ORD_LIMIT || o->type == ORD_STOP_LIMIT) {
		lua_pushnumber(L, o->price);
		lua_setfield(L, -2, "price");
	}
	if (o->stop > 0) { /* where a stop (a trailing stop: now) triggers */
		lua_pushnumber(L, o->stop);
		lua_setfield(L, -2, "stop");
	}
	lua_pushstring(L, oms_status_name(o->status));
	lua_setfield(L, -2, "status");
	lua_pushstring(L, oms_tif_name(o->tif));
	lua_setfield(L, -2, "tif");
	lua_pushstring(L, oms_origin_name(o->origin));
	lua_setfield(L, -2, "origin");
	lua_pushstring(L, oms_type_name(o));
	lua_setfield(L, -2, "type");
	if (o->role == ROLE_TAKE_PROFIT || o->role == ROLE_STOP_LOSS) { /* a bracket's exit */
		lua_pushstring(L, o->role == ROLE_TAKE_PROFIT ? "take_profit" : "stop_loss");
		lua_setfield(L, -2, "bracket_exit");
	}
	if (o->oco) {
		lua_pushinteger(L, (lua_Integer)o->oco);
		lua_setfield(L, -2, "oco");
	}
}

static int order_id_cmp(const void *a, const void *b)
{
	int64_t x = (*(struct order *const *)a)->id, y = (*(struct order *const *)b)->id;
	return (x > y) - (x < y);
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
	/* The open list only (walking every order ever made is quadratic over a
	 * long run); sorted by id, so the list reads in the order the orders
	 * were sent, as before. */
	int count = oms_open_count(oms, h->account);
	if (count == 0)
		return 1;
	struct order **v = lua_newuserdatauv(L, (size_t)count * sizeof *v, 0);
	for (int i = 0; i < count; i++)
		v[i] = oms_open_at(oms, h->account, i);
	qsort(v, (size_t)count, sizeof *v, order_id_cmp);
	for (int i = 0; i < count; i++) {
		if (sym >= 0 && v[i]->sym != sym)
			continue;
		push_order(L, h, v[i]);
		lua_rawseti(L, -3, ++n);
	}
	lua_pop(L, 1);
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

/* "HH:MM" or "HH:MM:SS" -> seconds after midnight; -1 when it is not one. */
static int time_of_day(const char *s)
{
	int v[3] = {0, 0, 0}, n = 0;
	const char *p = s;
	for (; n < 3; n++) {
		if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
			return -1;
		v[n] = (p[0] - '0') * 10 + (p[1] - '0');
		p += 2;
		if (*p != ':')
			break;
		p++;
	}
	if (*p || n == 0 || n == 3 || v[0] > 23 || v[1] > 59 || v[2] > 59)
		return -1;
	return v[0] * 3600 + v[1] * 60 + v[2];
}

/* ctx:at("15:55", name): on_timer(ctx, name) each day at that wall time of
 * the exchange's zone (the deploy config's `timezone`). */
static int ctx_at(lua_State *L)
{
	struct vm_host *h = host(L);
	const char *when = luaL_checkstring(L, 2);
	const char *name = luaL_checkstring(L, 3);
	if (strlen(name) >= VM_TIMER_NAME_MAX)
		return luaL_argerror(L, 3, "a timer's name is under 32 bytes");
	int sec = time_of_day(when);
	const char *reason = NULL;
	if (sec < 0) {
		lua_pushnil(L);
		lua_pushfstring(L, "bad time '%s' (expected HH:MM or HH:MM:SS, 00:00 to 23:59:59)",
				when);
		return 2;
	}
	if (h->ops->at(h->self, name, sec, &reason) != 0) {
		lua_pushnil(L);
		lua_pushstring(L, reason);
		return 2;
	}
	lua_pushboolean(L, 1);
	return 1;
}

static void push_bar(lua_State *L, const struct bar *b, const char *symbol, const char *tf)
{
	lua_createtable(L, 0, tf ? 8 : 7);
	lua_pushstring(L, symbol);
	lua_setfield(L, -2, "symbol");
	lua_pushinteger(L, (lua_Integer)b->time);
	lua_setfield(L, -2, "time");
	static const char *const keys[] = {"open", "high", "low", "close", "volume"};
	const double v[] = {b->open, b->high, b->low, b->close, b->volume};
	for (int i = 0; i < 5; i++) {
		lua_pushnumber(L, v[i]);
		lua_setfield(L, -2, keys[i]);
	}
	if (tf) {
		lua_pushstring(L, tf);
		lua_setfield(L, -2, "timeframe");
	}
}

/* ctx:bars(sym, n [, timeframe]): the last n closed bars, oldest first (as
 * many as are kept, up to the strategy's `history`). */
static int ctx_bars(lua_State *L)
{
	struct ctx_host *c = ctx_host(L);
	struct vm_host *h = c->h;
	int sym = symbol_arg(L, c, 2);
	lua_Integer n = luaL_checkinteger(L, 3);
	luaL_argcheck(L, n >= 1, 3, "a number of bars >= 1 expected");
	const char *tf = luaL_optstring(L, 4, NULL);
	int have = h->ops->bars(h->self, sym, tf, 0, NULL); /* sym < 0: none kept */
	if (have < 0)
		return luaL_argerror(L, 4, lua_pushfstring(L, "'%s' is not one of the strategy's "
							      "timeframes", tf));
	int m = n < have ? (int)n : have;
	lua_createtable(L, m, 0);
	for (int i = 0; i < m; i++) {
		struct bar b;
		if (h->ops->bars(h->self, sym, tf, m - 1 - i, &b) != 0)
			break;
		push_bar(L, &b, symtab_name(h->symtab, sym), tf);
		lua_rawseti(L, -2, i + 1);
	}
	return 1;
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
	{"log", ctx_log},	  {"bars", ctx_bars},	  {"at", ctx_at},
	{"oco", ctx_oco},	  {"replace", ctx_replace}, {"data_flags", ctx_data_flags},
	{NULL, NULL}};

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
