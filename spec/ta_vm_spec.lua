-- gantry.ta inside the strategy sandbox of the binary under test (Lua 5.4 or
-- LuaJIT, whichever it embeds): a strategy feeds the bars of
-- spec/fixtures/talib/reference.csv to every indicator and logs what they
-- return; each value must match TA-Lib's (the same columns and tolerance as
-- spec/ta_spec.lua), nil exactly where TA-Lib has none.

local T = require "support"

local FIXTURE = T.root .. "/spec/fixtures/talib/reference.csv"

local function read_fixture()
  local f = assert(io.open(FIXTURE, "r"))
  local header = {}
  for name in f:read("l"):gmatch("[^,]+") do header[#header + 1] = name end
  local series = {}
  for line in f:lines() do
    local row, k = { line = line }, 0
    for cell in (line .. ","):gmatch("([^,]*),") do
      k = k + 1
      if cell ~= "" then row[header[k]] = assert(tonumber(cell), cell) end
      if k <= 7 then row["raw_" .. header[k]] = cell end
    end
    series[row.series] = series[row.series] or {}
    table.insert(series[row.series], row)
  end
  f:close()
  return series
end

-- What the strategy logs, in order, and the fixture column (or a function
-- of the row) each is compared with.
local OUTPUTS = {
  { "atr.value", "atr" }, { "rsi.value", "rsi" }, { "std.value", "stddev_exact" },
  { "adx.adx", "adx" }, { "adx.plus_di", "plus_di" }, { "adx.minus_di", "minus_di" },
  { "sto.k", "stoch_k" }, { "sto.d", "stoch_d" }, { "cci.value", "cci_exact" },
  { "obv.value", "obv" }, { "roc.value", "roc" }, { "wr.value", "willr" },
  { "sar.value", "sar" }, { "don.upper", "don_upper" }, { "don.lower", "don_lower" },
  { "kc.middle", "kc_middle" },
  { "kc.upper", function(r) return r.kc_atr and r.kc_middle and r.kc_middle + 2 * r.kc_atr end },
}

local STRATEGY = [[
local ta = require "gantry.ta"
local S = {}
local atr, rsi, std = ta.atr(14), ta.rsi(14), ta.stddev(20)
local adx, sto, cci = ta.adx(14), ta.stoch(), ta.cci(14)
local obv, roc, wr = ta.obv(), ta.roc(10), ta.willr(14)
local sar, don, kc = ta.sar(0.02, 0.2), ta.donchian(20), ta.keltner(20, 2, 10)
local function f(v) if v == nil then return "nil" end return string.format("%.17g", v) end
function S.on_bar(ctx, b)
  atr:update(b.high, b.low, b.close); rsi:update(b.close); std:update(b.close)
  adx:update(b.high, b.low, b.close); sto:update(b.high, b.low, b.close)
  cci:update(b.high, b.low, b.close); obv:update(b.close, b.volume)
  roc:update(b.close); wr:update(b.high, b.low, b.close); sar:update(b.high, b.low)
  don:update(b.high, b.low); kc:update(b.high, b.low, b.close)
  ctx:log("info", "ta %s", table.concat({ f(atr.value), f(rsi.value), f(std.value),
    f(adx.adx), f(adx.plus_di), f(adx.minus_di), f(sto.k), f(sto.d), f(cci.value),
    f(obv.value), f(roc.value), f(wr.value), f(sar.value), f(don.upper), f(don.lower),
    f(kc.middle), f(kc.upper) }, " "))
end
return S
]]

describe("gantry.ta in the strategy sandbox (" .. T.vm .. ")", function()
  local dir
  before_each(function() dir = T.tmpdir() end)
  after_each(function() T.rmdir(dir) end)

  local SERIES = read_fixture()
  for sid = 1, #SERIES do
    it("matches TA-Lib bar for bar on fixture series " .. sid, function()
      local rows = SERIES[sid]
      local csv = { "datetime,open,high,low,close,volume" }
      for i, r in ipairs(rows) do
        local day = os.date("!%Y-%m-%d", 1704067200 + (i - 1) * 86400)
        csv[#csv + 1] = table.concat({ day, r.raw_open, r.raw_high, r.raw_low, r.raw_close,
                                       r.raw_volume }, ",")
      end
      local data = T.write(dir .. "/TA.csv", table.concat(csv, "\n") .. "\n")
      local s = T.write(dir .. "/s.lua", STRATEGY)
      local code, _, err = T.gantry({ "backtest", s, "--data", data, "--out", dir .. "/o",
                                      "--no-report", "--quiet" })
      assert.equal(0, code, err)
      local got = {}
      for vals in err:gmatch("INFO s: [^\n]-ta ([^\n]*)") do got[#got + 1] = vals end
      assert.equal(#rows, #got, "logged lines: " .. #got .. "\n" .. err:sub(1, 2000))
      for i, r in ipairs(rows) do
        local k = 0
        for v in got[i]:gmatch("%S+") do
          k = k + 1
          local name, col = OUTPUTS[k][1], OUTPUTS[k][2]
          local want
          if type(col) == "function" then want = col(r) else want = r[col] end
          local where = string.format("%s, series %d bar %d", name, sid, i)
          if want == nil then
            assert(v == "nil", where .. ": expected nil, got " .. v)
          else
            local x = tonumber(v)
            assert(x, where .. ": expected " .. want .. ", got " .. v)
            local scale = math.abs(want) > 1 and math.abs(want) or 1
            assert(math.abs(x - want) <= 1e-9 * scale,
              string.format("%s: expected %.17g, got %.17g", where, want, x))
          end
        end
        assert.equal(#OUTPUTS, k)
      end
    end)
  end
end)
