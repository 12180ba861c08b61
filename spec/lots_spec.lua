-- Fractional quantities (issue 12, item 13): a symbol's lot from the deploy
-- config allows fractions of it; the default stays whole shares.
local T = require "support"

local function bars(dir)
  local rows = { "datetime,open,high,low,close,volume" }
  for i = 1, 20 do
    local p = 42000 + i * 10
    rows[#rows + 1] = ("2024-01-%02d,%d,%d,%d,%d,12.5"):format(i, p, p + 50, p - 50, p + 5)
  end
  return T.write(dir .. "/BTCUSDT.csv", table.concat(rows, "\n") .. "\n")
end

local strategy = [[
  local S = { params = { qty = 0.0015 }, symbols = { "BTCUSDT" } }
  local n = 0
  function S.on_bar(ctx, bar)
    n = n + 1
    if n == 2 then
      local id, why = ctx:buy("BTCUSDT", ctx.params.qty)
      ctx:log("info", "buy: %s %s", tostring(id), tostring(why))
    elseif n == 5 then
      ctx:log("info", "position %.4f", ctx:position("BTCUSDT"))
      ctx:sell("BTCUSDT", 0.0005)
    elseif n == 8 then
      ctx:log("info", "position %.4f", ctx:position("BTCUSDT"))
    end
  end
  function S.on_fill(ctx, f) ctx:log("info", "fill %s %s", tostring(f.qty), f.side) end
  function S.on_order(ctx, o)
    if o.status == "filled" then ctx:log("info", "order %d %s of %s", o.id, tostring(o.filled), tostring(o.qty)) end
  end
  return S]]

describe("fractional quantities", function()
  local dir
  before_each(function() dir = T.tmpdir() end)
  after_each(function() T.rmdir(dir) end)

  it("are whole shares by default: a fraction is refused as bad_qty", function()
    local s = T.write(dir .. "/s.lua", strategy)
    local code, _, err = T.gantry({ "backtest", s, "--data", bars(dir), "--out", dir .. "/o", "--quiet",
                                    "--no-report" })
    assert.equal(0, code, err)
    assert.matches("buy: nil bad_qty", err, 1, true)
  end)

  it("trade in the config's lots: fills, positions and the files carry the fractions", function()
    local s = T.write(dir .. "/s.lua", strategy)
    local cfg = T.write(dir .. "/deploy.lua", "return { symbols = { BTCUSDT = { lot = 0.0001, tick = 0.01 } } }")
    local code, _, err = T.gantry({ "backtest", s, "--data", bars(dir), "--config", cfg, "--out", dir .. "/o",
                                    "--quiet", "--no-report" })
    assert.equal(0, code, err)
    assert.matches("buy: 1 nil", err, 1, true)
    assert.matches("position 0.0015", err, 1, true)
    assert.matches("position 0.0010", err, 1, true)
    -- callbacks see the fractions, not the whole part of them
    assert.matches("fill 0.0015 buy", err, 1, true)
    assert.matches("order 2 0.0005 of 0.0005", err, 1, true)
    local fills = T.lines(dir .. "/o/fills.csv")
    assert.equal(3, #fills, table.concat(fills, "\n"))
    assert.matches("^2024%-01%-03T00:00:00%.000000Z,BTCUSDT,buy,0%.0015,42030,1,0$", fills[2])
    assert.matches("^2024%-01%-06T00:00:00%.000000Z,BTCUSDT,sell,0%.0005,42060,2,0$", fills[3])
    local orders = T.lines(dir .. "/o/orders.csv")
    assert.matches(",BTCUSDT,buy,market,0%.0015,,day,filled,0%.0015,42030,", orders[2])
  end)

  it("refuses a quantity off the lot grid, and a bad lot in the config", function()
    local s = T.write(dir .. "/s.lua", strategy)
    local cfg = T.write(dir .. "/deploy.lua", "return { symbols = { BTCUSDT = { lot = 0.001 } } }")
    local code, _, err = T.gantry({ "backtest", s, "--data", bars(dir), "--config", cfg, "--out", dir .. "/o",
                                    "--quiet", "--no-report" })
    assert.equal(0, code, err)
    assert.matches("buy: nil bad_qty", err, 1, true) -- 0.0015 is 1.5 lots of 0.001
    local bad = T.write(dir .. "/bad.lua", "return { symbols = { BTCUSDT = { lot = -1 } } }")
    code, _, err = T.gantry({ "backtest", s, "--data", bars(dir), "--config", bad, "--out", dir .. "/o2" })
    assert.equal(2, code)
    assert.matches("symbols.BTCUSDT.lot: expected a positive number, got -1", err, 1, true)
    local typo = T.write(dir .. "/typo.lua", "return { symbols = { BTCUSDT = { lots = 0.1 } } }")
    code, _, err = T.gantry({ "backtest", s, "--data", bars(dir), "--config", typo, "--out", dir .. "/o3" })
    assert.equal(2, code)
    assert.matches("symbols.BTCUSDT.lots", err, 1, true)
  end)
end)
