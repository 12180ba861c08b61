-- A warm start (paper --warmup FILE, or the deploy config's `warmup`):
-- history through the strategy before the first live event, its orders
-- refused (warming_up), ctx:bars and timeframes filled, nothing written but
-- log lines.
local T = require "support"

-- Daily bars of X in DIR/X.csv, from day `from` (1: 2024-01-01) for n days.
local function days(dir, from, n)
  local rows = { "datetime,open,high,low,close,volume" }
  for i = from, from + n - 1 do
    local d = os.date("!%Y-%m-%d", 1704067200 + (i - 1) * 86400)
    rows[#rows + 1] = string.format("%s,%d,%d,%d,%d,1000", d, 100 + i, 102 + i, 99 + i, 101 + i)
  end
  T.sh("mkdir -p " .. T.quote(dir))
  return T.write(dir .. "/X.csv", table.concat(rows, "\n") .. "\n")
end

-- Needs five closed bars (and a closed 2-day bar) before it buys, once.
local strategy = [[
  local S = { params = { symbol = "X" }, history = 5, timeframes = { "2d" } }
  local function day(t) return math.floor(t / 86400e9) end
  function S.on_bar(ctx, bar)
    if bar.timeframe then return end
    local b, f = ctx:bars("X", 5), ctx:bars("X", 10, "2d")
    if #b < 5 or #f < 1 then
      ctx:log("info", "not ready on day %d (%d bars)", day(bar.time), #b)
      return
    end
    if ctx.state.sent then return end
    local id, why = ctx:buy("X", 1)
    ctx:log("info", "buy on day %d: %s %s (2d bars %d)", day(bar.time), tostring(id), tostring(why), #f)
    ctx.state.sent = id ~= nil
  end
  function S.on_order(ctx, o) ctx:log("info", "order %d %s %s", o.id, o.status, o.reason or "") end
  return S]]

local D11 = 19733 -- 2024-01-11, in days since the epoch

describe("paper --warmup", function()
  local dir
  before_each(function() dir = T.tmpdir() end)
  after_each(function() T.rmdir(dir) end)

  local function paper(extra)
    local s = T.write(dir .. "/s.lua", strategy)
    local live = days(dir .. "/live", 11, 5)
    local args = { "paper", s, "--feed", "file:" .. live, "--out", dir .. "/o", "--overwrite", "--no-watch" }
    for _, a in ipairs(extra or {}) do args[#args + 1] = a end
    return T.gantry(args, dir)
  end

  it("makes a strategy that needs five bars trade on the first live bar", function()
    local warm = days(dir .. "/hist", 1, 10)
    local code, _, err = paper({ "--warmup", warm })
    assert.equal(0, code, err)
    -- during the warm-up: ready from its fifth bar on, every order refused
    assert.truthy(err:match("INFO s: buy on day " .. (D11 - 6) .. ": nil warming_up"), err)
    assert.truthy(err:match("INFO warmup: " .. warm:gsub("%p", "%%%0") .. ": 10 events %(2024%-01%-01T00:00:00%.000000Z"
      .. " to 2024%-01%-10T00:00:00%.000000Z%) through 1 strategy, 6 orders refused %(warming_up%)"), err)
    -- live: the first bar buys
    assert.truthy(err:match("INFO s: buy on day " .. D11 .. ": 1 nil %(2d bars %d+%)"), err)
    assert.falsy(err:match("not ready on day " .. D11), err)
    -- nothing of the warm-up in the outputs: one order, one fill, equity from the live feed only
    local orders = T.csv(dir .. "/o/orders.csv")
    assert.equal(1, orders[#orders].id + 0)
    local fills = T.csv(dir .. "/o/fills.csv")
    assert.equal(1, #fills)
    assert.equal("2024-01-12T00:00:00.000000Z", fills[1].time)
    local eq = T.csv(dir .. "/o/equity.csv")
    assert.is_true(#eq > 0)
    for _, r in ipairs(eq) do assert.is_true(r.time >= "2024-01-11", r.time) end
    assert.falsy(err:match("order %d+ rejected"), err)
  end)

  it("without it the strategy waits for five live bars", function()
    local code, _, err = paper()
    assert.equal(0, code, err)
    assert.truthy(err:match("INFO s: not ready on day " .. D11 .. " %(1 bars%)"), err)
    assert.truthy(err:match("INFO s: buy on day " .. (D11 + 4) .. ": 1 nil"), err)
  end)

  it("takes the path from the deploy config's `warmup`", function()
    local warm = days(dir .. "/hist", 1, 10)
    local cfg = T.write(dir .. "/deploy.lua", "return { warmup = " .. string.format("%q", warm) .. " }")
    local code, _, err = paper({ "--config", cfg })
    assert.equal(0, code, err)
    assert.truthy(err:match("INFO s: buy on day " .. D11 .. ": 1 nil"), err)
  end)

  it("refuses a warm-up file it cannot read, and a config value that is not a path", function()
    local code, _, err = paper({ "--warmup", dir .. "/none.csv" })
    assert.equal(2, code)
    assert.matches("gantry: --warmup " .. dir .. "/none.csv", err, 1, true)
    local cfg = T.write(dir .. "/deploy.lua", "return { warmup = 5 }")
    code, _, err = paper({ "--config", cfg })
    assert.equal(2, code)
    assert.matches(cfg .. ": warmup: expected the path of a data file (a string)", err, 1, true)
  end)

  it("stops at a bad row of the warm-up file with its line, exit 2, before the feed", function()
    T.sh("mkdir -p " .. T.quote(dir .. "/hist"))
    local warm = T.write(dir .. "/hist/X.csv", "datetime,open,high,low,close,volume\n"
      .. "2024-01-01,100,102,99,101,1000\n2024-01-02,100,98,99,101,1000\n")
    local code, _, err = paper({ "--warmup", warm })
    assert.equal(2, code, err)
    assert.matches("gantry: " .. warm .. ":3: high 98 is below low 99", err, 1, true)
    assert.falsy(err:match("buy on day"), err)
  end)

  it("is for running hosts: backtest does not take it", function()
    local s = T.write(dir .. "/s.lua", strategy)
    local data = days(dir, 1, 3)
    local code, _, err = T.gantry({ "backtest", s, "--data", data, "--warmup", data })
    assert.equal(2, code)
    assert.matches("--warmup", err, 1, true)
  end)
end)
