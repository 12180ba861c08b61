-- The LuaJIT fast path (make VM=luajit): the hot structs as FFI types, and
-- ctx:buy, ctx:sell and ctx:position as FFI calls into the host.
--
-- Runs once per strategy, in its sandbox, before the strategy is loaded; the
-- host compiles it into the binary (bindings/ctx_ffi_luajit.c). It receives
-- the ffi module, which the strategy never sees: what it hands out are
-- closures over it, and event boxes whose metatables it cannot reach
-- (getmetatable answers "ffi" for every cdata; setmetatable refuses one).
--
-- Events. bar, book and trade events are boxed C structs the host fills in
-- place before each callback, so a strategy reads b.bid as one load in
-- JIT-compiled code. Their fields are the contract's; `symbol` (and a
-- trade's `side`) are strings looked up by __index, cached per symbol. Times
-- are doubles (nanoseconds since the epoch: LuaJIT has one number type).
--
-- Orders. The fast closures take the common shapes, ctx:buy(sym, qty) and
-- ctx:position(sym), for symbols the host knows; anything else (an options
-- table, a bad argument, an unknown symbol) goes to the C API method, which
-- checks and answers as it always did (it alone reads an options table: a
-- key it does not know refuses the order, bad_option). Either way the order
-- goes through the host's submit (struct vm_host): sanity and risk in C,
-- never bypassed.
local ffi, api_ptr, ctx, classic, side_buy, side_sell = ...

ffi.cdef [[
struct gantry_ev_bar { double time, open, high, low, close, volume; int32_t sym_;
                       const char *tf_; };
struct gantry_ev_book { double time, bid, bid_qty, ask, ask_qty; int32_t sym_; };
struct gantry_ev_trade { double time, price, qty; int32_t sym_, side_; };
struct gantry_ffi {
  void *s;
  int64_t (*submit)(const struct gantry_ffi *api, int32_t sym, int32_t side, double qty,
                    const char **reason);
  double (*position)(void *s, int32_t sym);
  int32_t (*symbol)(void *s, const char *name, size_t len);
  const char *(*name)(void *s, int32_t sym);
  uint64_t orders; /* through submit: the host logs it (GANTRY_LOG=debug) */
};
]]

local api = ffi.cast("const struct gantry_ffi *", api_ptr)
local S = api.s
local submit, position, symbol, name = api.submit, api.position, api.symbol, api.name
local string_of, type, tonumber = ffi.string, type, tonumber

local names = {} -- symbol id -> name
local function symbol_name(id)
  local n = names[id]
  if n == nil then
    n = string_of(name(S, id))
    names[id] = n
  end
  return n
end

local sides = { [side_buy] = "buy", [side_sell] = "sell" }

local function index_symbol(e, k)
  if k == "symbol" then return symbol_name(e.sym_) end
end

local timeframes = {} -- a timeframe's name, by the address the host writes
ffi.metatype("struct gantry_ev_bar", {
  __index = function(e, k)
    if k == "symbol" then return symbol_name(e.sym_) end
    if k == "timeframe" and e.tf_ ~= nil then
      local at = tonumber(ffi.cast("intptr_t", e.tf_))
      local n = timeframes[at]
      if n == nil then
        n = string_of(e.tf_)
        timeframes[at] = n
      end
      return n
    end
  end,
})
ffi.metatype("struct gantry_ev_book", { __index = index_symbol })
ffi.metatype("struct gantry_ev_trade", {
  __index = function(e, k)
    if k == "symbol" then return symbol_name(e.sym_) end
    if k == "side" then return sides[e.side_] end
  end,
})

local boxes = {
  ffi.new("struct gantry_ev_bar"), ffi.new("struct gantry_ev_book"),
  ffi.new("struct gantry_ev_trade"),
}
local sizes = {
  ffi.sizeof("struct gantry_ev_bar"), ffi.sizeof("struct gantry_ev_book"),
  ffi.sizeof("struct gantry_ev_trade"), ffi.sizeof("struct gantry_ffi"),
}

if S ~= nil then -- a running host (not `gantry check`): the fast methods
  local ids = {} -- symbol name -> id, for names the host knows
  -- the id of a name the host knows, else false
  local function id_of(sym)
    local id = ids[sym]
    if id then return id end
    if type(sym) ~= "string" then return false end
    id = symbol(S, sym, #sym)
    if id < 0 then return false end
    ids[sym] = id
    return id
  end

  local reason = ffi.new("const char *[1]")
  local function rejected()
    local r = reason[0]
    if r == nil then return nil end
    return nil, string_of(r)
  end

  -- the C method is tail-called: its argument errors name ctx:buy as before
  local function order_method(side, c_method)
    return function(...)
      local _, sym, qty, opts = ...
      local id = id_of(sym)
      if not id or opts ~= nil or type(qty) ~= "number" then return c_method(...) end
      local r = submit(api, id, side, qty, reason)
      if r > 0 then return tonumber(r) end
      return rejected()
    end
  end
  ctx.buy = order_method(side_buy, classic.buy)
  ctx.sell = order_method(side_sell, classic.sell)
  local held = classic.position
  ctx.position = function(...)
    local _, sym = ...
    local id = id_of(sym)
    if not id then return held(...) end
    return position(S, id)
  end
end

return boxes[1], boxes[2], boxes[3], sizes
