/*
 * ctx_ffi (LuaJIT only) — see ctx_ffi.h. The FFI closures call back into C
 * through struct gantry_ffi, a block of function pointers in the strategy's
 * own Lua memory (kept alive from the registry): submit goes to the host's
 * order path as ctx:buy does, position reads the order book of record
 * directly, as ctx:position does. h->oms is read at each call: the engine
 * sets it when the run starts, after the strategy is loaded.
 */
#include "ctx_ffi.h"

#include <math.h>
#include <string.h>

#include "symtab.h"

/* bindings/ffi/gantry.lua, in the binary: a strategy runs wherever the binary
 * is, and its fast path cannot go missing or stale. */
__asm__(".pushsection .rodata\n"
	".balign 16\n"
	"gantry_ffi_lua:\n"
	".incbin \"bindings/ffi/gantry.lua\"\n"
	".byte 0\n"
	".popsection\n");
extern const char gantry_ffi_lua[] __asm__("gantry_ffi_lua");

/* What the FFI closures call: the same host calls as the C methods. */
struct gantry_ffi {
	struct vm_host *h;
	int64_t (*submit)(struct gantry_ffi *api, int32_t sym, int32_t side, double qty,
			  const char **reason);
	double (*position)(struct vm_host *h, int32_t sym);
	int32_t (*symbol)(struct vm_host *h, const char *name, size_t len);
	const char *(*name)(struct vm_host *h, int32_t sym);
	uint64_t orders; /* submitted through the fast path */
};

static int64_t ffi_submit(struct gantry_ffi *api, int32_t sym, int32_t side, double qty,
			  const char **reason)
{
	api->orders++;
	struct vm_host *h = api->h;
	struct order_request req = {.sym = sym, .side = side, .qty = qty, .limit = NAN,
				    .tif = TIF_DAY};
	*reason = NULL;
	return h->ops->submit(h->self, &req, reason);
}

static double ffi_position(struct vm_host *h, int32_t sym)
{
	/* what ctx:position pushes: the quantity as an integer */
	double q = oms_position(h->oms, h->account, sym)->qty;
	return q == 0 ? 0 : q; /* never -0: a flat position reads 0 */
}

static int32_t ffi_symbol(struct vm_host *h, const char *name, size_t len)
{
	return symtab_find(h->symtab, name, len);
}

static const char *ffi_name(struct vm_host *h, int32_t sym)
{
	return h ? symtab_name(h->symtab, sym) : "";
}

int ctx_ffi_install(lua_State *L, struct vm_host *h, int ctx, struct ctx_boxes *out)
{
	ctx = lua_absindex(L, ctx);
	if (luaL_loadbufferx(L, gantry_ffi_lua, strlen(gantry_ffi_lua), "=gantry.ffi", "t") !=
	    LUA_OK)
		return -1;
	lua_pushcfunction(L, luaopen_ffi);
	lua_call(L, 0, 1);
	struct gantry_ffi *api = lua_newuserdata(L, sizeof *api);
	*api = (struct gantry_ffi){h, ffi_submit, ffi_position, ffi_symbol, ffi_name, 0};
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
