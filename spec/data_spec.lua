-- Data as users have it: a Yahoo download, Binance klines with and without a
-- header, epoch times in every unit, UTC offsets, local exchange times in a
-- zone, other column names (--columns and the deploy config's `data`),
-- adjusted prices (--adjust), rows of nulls (--lenient), and several files or
-- a directory after one --data. Every sample is small, written by the spec
-- into its own temporary directory.
local T = require "support"

-- Logs every bar it sees as `BAR symbol open high low close volume`.
local PROBE = [[
local S = { params = { symbol = "*" } }
function S.symbols(p) if p.symbol == "*" then return {} end return { p.symbol } end
function S.on_bar(ctx, bar)
  ctx:log("info", "BAR %s %.6f %.6f %.6f %.6f %.6f", bar.symbol, bar.open, bar.high, bar.low,
          bar.close, bar.volume)
end
return S
]]

-- Buys one share on the first bar: it fills at the second bar's open.
local BUY_ONCE = [[
local S = { params = { symbol = "AAPL" } }
local done = false
function S.on_bar(ctx, bar)
  if not done then ctx:buy(bar.symbol, 1); done = true end
end
return S
]]

-- The README tour's strategy.
local TOUR = [[
local ta = require "gantry.ta"
local S = { params = { symbol = "SPY", period = 20, qty = 10 } }
local ema
function S.on_start(ctx) ema = ta.ema(ctx.params.period) end
function S.on_bar(ctx, bar)
  local e = ema:update(bar.close)
  if not e then return end
  local pos = ctx:position(bar.symbol)
  if bar.close > e and pos == 0 then
    ctx:buy(bar.symbol, ctx.params.qty)
  elseif bar.close < e and pos > 0 then
    ctx:sell(bar.symbol, pos)
  end
end
return S
]]

local YAHOO = table.concat({
  "Date,Open,High,Low,Close,Adj Close,Volume",
  "2024-01-02,187.149994,188.440002,183.889999,185.639999,184.734955,82488700",
  "2024-01-03,184.220001,185.880005,183.429993,184.250000,183.351761,58414500",
  "2024-01-04,182.149994,183.089996,180.880005,181.910004,181.023163,71983600",
  "2024-01-05,null,null,null,null,null,null",
  "2024-01-08,182.089996,185.600006,181.500000,185.559998,184.655334,59144500",
}, "\n") .. "\n"

local KLINE_HEADER = "open_time,open,high,low,close,volume,close_time,quote_volume,count,"
  .. "taker_buy_volume,taker_buy_quote_volume,ignore"

-- n hourly klines from 2024-01-01 00:00 UTC, in Binance's layout (ms epochs).
local function klines(n, header)
  local lines = { header }
  local t0, price = 1704067200000, 42000
  for i = 0, n - 1 do
    local o = price + (i * 37 % 11) * 10 - 50
    local c = o + ((i * 13) % 7 - 3) * 15
    local hi, lo = math.max(o, c) + 20, math.min(o, c) - 20
    lines[#lines + 1] = string.format("%d,%.2f,%.2f,%.2f,%.2f,%.5f,%d,%.6f,%d,%.5f,%.6f,0",
      t0 + i * 3600000, o, hi, lo, c, 100 + i, t0 + (i + 1) * 3600000 - 1, 4.2e6 + i, 4000 + i,
      50 + i, 2.1e6 + i)
  end
  return table.concat(lines, "\n") .. "\n"
end

local function csv(dir, name, header, rows)
  return T.write(dir .. "/" .. name, header .. "\n" .. table.concat(rows, "\n") .. "\n")
end

-- Runs a backtest; returns code, stderr and the out dir.
local function run(dir, strategy_src, args, env)
  local s = T.write(dir .. "/probe.lua", strategy_src)
  local out = dir .. "/out" .. tostring(os.time()) .. math.random(1e9)
  local full = { "backtest", s }
  for _, a in ipairs(args) do full[#full + 1] = a end
  for _, a in ipairs({ "--out", out, "--no-report", "--quiet" }) do full[#full + 1] = a end
  local code, _, err = T.gantry(full, dir, env)
  return code, err, out
end

-- The event times of a run: equity.csv's first column.
local function times(out)
  local t = {}
  for i, line in ipairs(T.lines(out .. "/equity.csv")) do
    if i > 1 then t[#t + 1] = line:match("^([^,]+)") end
  end
  return t
end

-- The bars PROBE logged: { symbol, open, high, low, close, volume } each.
local function bars(err)
  local t = {}
  for sym, o, h, l, c, v in err:gmatch("BAR (%S+) (%S+) (%S+) (%S+) (%S+) (%S+)") do
    t[#t + 1] = { sym = sym, open = tonumber(o), high = tonumber(h), low = tonumber(l),
                  close = tonumber(c), volume = tonumber(v) }
  end
  return t
end

local function usage_error(code, err, text)
  assert.equal(2, code, err)
  assert.matches("gantry: " .. text, err, 1, true)
end

describe("data: timestamps as users have them", function()
  local dir
  before_each(function() dir = T.tmpdir() end)
  after_each(function() T.rmdir(dir) end)

  it("runs the README tour on a Binance kline CSV with its header as downloaded", function()
    T.write(dir .. "/BTCUSDT.csv", klines(60, KLINE_HEADER))
    local code, err, out = run(dir, TOUR, { "--data", dir .. "/BTCUSDT.csv", "--param", "symbol=BTCUSDT",
      "--param", "qty=1" })
    assert.equal(0, code, err)
    local t = times(out)
    assert.equal(60, #t)
    assert.equal("2024-01-01T00:00:00.000000Z", t[1])
    assert.equal("2024-01-03T11:00:00.000000Z", t[60])
    assert.equal(60, T.json(T.read(out .. "/summary.json")).events)
  end)

  it("reads epoch seconds, milliseconds, microseconds and nanoseconds by their magnitude", function()
    csv(dir, "E.csv", "timestamp,open,high,low,close,volume", {
      "1704153600,1,1,1,1,1", "1704153601000,1,1,1,1,1", "1704153602000000,1,1,1,1,1",
      "1704153603000000000,1,1,1,1,1", "1704153604.5,1,1,1,1,1" })
    local code, err, out = run(dir, PROBE, { "--data", dir .. "/E.csv" })
    assert.equal(0, code, err)
    assert.same({ "2024-01-02T00:00:00.000000Z", "2024-01-02T00:00:01.000000Z",
                  "2024-01-02T00:00:02.000000Z", "2024-01-02T00:00:03.000000Z",
                  "2024-01-02T00:00:04.500000Z" }, times(out))
  end)

  it("reads every value in the unit --time-format names, and refuses one that is not", function()
    csv(dir, "S.csv", "datetime,open,high,low,close,volume", { "86400,1,1,1,1,1", "172800,1,1,1,1,1" })
    local code, err, out = run(dir, PROBE, { "--data", dir .. "/S.csv", "--time-format", "s" })
    assert.equal(0, code, err)
    assert.same({ "1970-01-02T00:00:00.000000Z", "1970-01-03T00:00:00.000000Z" }, times(out))
    -- without it, a small number is not taken for seconds
    code, err = run(dir, PROBE, { "--data", dir .. "/S.csv" })
    usage_error(code, err, dir .. "/S.csv:2: bad datetime '86400' (expected YYYY-MM-DD, "
      .. "YYYY-MM-DD HH:MM:SS or YYYY-MM-DDTHH:MM:SS, optionally with Z or +HH:MM; or seconds, "
      .. "ms, us or ns since the epoch)")
    T.write(dir .. "/K.csv", klines(3, KLINE_HEADER))
    code, err = run(dir, PROBE, { "--data", dir .. "/K.csv", "--time-format", "us" })
    assert.equal(0, code, err) -- microseconds of 1970: a valid, if odd, reading
    code, err = run(dir, PROBE, { "--data", dir .. "/K.csv", "--time-format", "iso" })
    usage_error(code, err, dir .. "/K.csv:2: bad datetime '1704067200000' (expected YYYY-MM-DD, "
      .. "YYYY-MM-DD HH:MM:SS or YYYY-MM-DDTHH:MM:SS, optionally with Z or +HH:MM: --time-format iso)")
    code, err = run(dir, PROBE, { "--data", dir .. "/K.csv", "--time-format", "minutes" })
    usage_error(code, err, "--time-format minutes: expected auto, iso, s, ms, us or ns")
  end)

  it("takes a UTC offset off, in each way it is written", function()
    csv(dir, "O.csv", "datetime,open,high,low,close,volume", {
      "2024-01-02T09:30:00-05:00,1,1,1,1,1", "2024-01-02 15:31:00+0100,1,1,1,1,1",
      "2024-01-02T19:32:00+05,1,1,1,1,1", "2024-01-02T14:33:00Z,1,1,1,1,1",
      "2024-01-02 05:00:00-10:00,1,1,1,1,1" })
    local code, err, out = run(dir, PROBE, { "--data", dir .. "/O.csv" })
    assert.equal(0, code, err)
    assert.same({ "2024-01-02T14:30:00.000000Z", "2024-01-02T14:31:00.000000Z",
                  "2024-01-02T14:32:00.000000Z", "2024-01-02T14:33:00.000000Z",
                  "2024-01-02T15:00:00.000000Z" }, times(out))
  end)

  it("reads local exchange times in --tz, whatever the machine's TZ", function()
    csv(dir, "SPY.csv", "datetime,open,high,low,close,volume", {
      "2024-03-08 15:59:00,1,1,1,1,1", -- EST
      "2024-03-11 09:30:00,1,1,1,1,1", -- EDT, after the change
      "2024-11-03 01:30:00,1,1,1,1,1", -- the hour that repeats: first EDT,
      "2024-11-03 01:10:00,1,1,1,1,1", -- then EST
      "2024-11-04,1,1,1,1,1",          -- midnight there
      "2024-11-04T12:00:00Z,1,1,1,1,1" }) -- a Z is UTC
    local want = { "2024-03-08T20:59:00.000000Z", "2024-03-11T13:30:00.000000Z",
                   "2024-11-03T05:30:00.000000Z", "2024-11-03T06:10:00.000000Z",
                   "2024-11-04T05:00:00.000000Z", "2024-11-04T12:00:00.000000Z" }
    for _, tz in ipairs({ "Asia/Tokyo", "America/Los_Angeles", "UTC" }) do
      local code, err, out = run(dir, PROBE, { "--data", dir .. "/SPY.csv", "--tz", "America/New_York" },
        "TZ=" .. tz)
      assert.equal(0, code, err)
      assert.same(want, times(out))
    end
    -- and the machine's TZ does not turn UTC data into local times
    csv(dir, "QQQ.csv", "datetime,open,high,low,close,volume", { "2024-03-08 15:59:00,1,1,1,1,1" })
    local code, err, out = run(dir, PROBE, { "--data", dir .. "/QQQ.csv" }, "TZ=America/New_York")
    assert.equal(0, code, err)
    assert.equal("2024-03-08T15:59:00.000000Z", times(out)[1])
  end)

  it("names an unknown zone, and a local time the clocks skip", function()
    csv(dir, "SPY.csv", "datetime,open,high,low,close,volume", { "2024-03-10 02:30:00,1,1,1,1,1" })
    local code, err = run(dir, PROBE, { "--data", dir .. "/SPY.csv", "--tz", "America/Gotham" })
    usage_error(code, err, "--tz: unknown time zone 'America/Gotham' (not in /usr/share/zoneinfo: "
      .. "a name of the tz database, e.g. America/New_York, Europe/London, UTC)")
    code, err = run(dir, PROBE, { "--data", dir .. "/SPY.csv", "--tz", "../../etc/passwd" })
    usage_error(code, err, "--tz: unknown time zone '../../etc/passwd'")
    code, err = run(dir, PROBE, { "--data", dir .. "/SPY.csv", "--tz", "America/New_York" })
    usage_error(code, err, dir .. "/SPY.csv:2: 2024-03-10 02:30:00 does not exist in "
      .. "America/New_York (the clocks skip it)")
  end)
end)

describe("data: column names", function()
  local dir
  before_each(function() dir = T.tmpdir() end)
  after_each(function() T.rmdir(dir) end)

  it("loads a Yahoo download as it is (capitalised names, Adj Close ignored)", function()
    T.write(dir .. "/AAPL.csv", YAHOO:gsub("2024%-01%-05,null[^\n]*\n", ""))
    local code, err, out = run(dir, PROBE, { "--data", dir .. "/AAPL.csv" })
    assert.equal(0, code, err)
    local b = bars(err)
    assert.equal(4, #b)
    assert.equal("AAPL", b[1].sym)
    assert.equal(185.639999, b[1].close)
    assert.equal(82488700, b[1].volume)
    assert.equal(4, #times(out))
  end)

  it("maps fields to other header names with --columns, repeated or comma-separated", function()
    csv(dir, "X.csv", "ts,o,h,l,Last,qty,close", { "2024-01-02,10,12,9,11,500,999" })
    local code, err = run(dir, PROBE, { "--data", dir .. "/X.csv", "--columns", "datetime=ts,open=o",
      "--columns", "high=h,low=l", "--columns=close=Last", "--columns", "volume=qty" })
    assert.equal(0, code, err)
    local b = bars(err)[1]
    assert.same({ 10, 12, 9, 11, 500 }, { b.open, b.high, b.low, b.close, b.volume })
  end)

  it("says what is wrong with a --columns, and which named column is missing", function()
    csv(dir, "X.csv", "datetime,open,high,low,close,volume", { "2024-01-02,1,1,1,1,1" })
    local code, err = run(dir, PROBE, { "--data", dir .. "/X.csv", "--columns", "price=Close" })
    usage_error(code, err, "--columns 'price=Close': unknown field 'price' (fields: datetime, open, "
      .. "high, low, close, volume, symbol, adj_close)")
    code, err = run(dir, PROBE, { "--data", dir .. "/X.csv", "--columns", "close" })
    usage_error(code, err, "--columns 'close': expected FIELD=NAME")
    code, err = run(dir, PROBE, { "--data", dir .. "/X.csv", "--columns", "close=Last" })
    usage_error(code, err, dir .. "/X.csv:1: header has no column 'Last' (--columns close=Last)")
    csv(dir, "Y.csv", "Date,Time,Open,High,Low,Close,Volume", { "2024-01-02,09:30:00,1,1,1,1,1" })
    code, err = run(dir, PROBE, { "--data", dir .. "/Y.csv" })
    usage_error(code, err, dir .. "/Y.csv:1: column 'datetime' appears twice (Date and Time): "
      .. "--columns datetime=NAME picks one")
  end)

  it("says a file has no header line and how to name its columns; --header does", function()
    T.write(dir .. "/BTCUSDT.csv", klines(5))
    local code, err = run(dir, PROBE, { "--data", dir .. "/BTCUSDT.csv" })
    usage_error(code, err, dir .. "/BTCUSDT.csv:1: no header line (the first line is data: "
      .. "'1704067200000,41950.00,41970.00,41885.00'); name the columns with --header, e.g. "
      .. "--header open_time,open,high,low,close,volume for Binance klines, or add a header line "
      .. "datetime,open,high,low,close,volume")
    local out
    code, err, out = run(dir, PROBE, { "--data", dir .. "/BTCUSDT.csv", "--header",
      "open_time,open,high,low,close,volume" })
    assert.equal(0, code, err)
    assert.equal(5, #bars(err))
    assert.equal("BTCUSDT", bars(err)[1].sym)
    assert.equal("2024-01-01T00:00:00.000000Z", times(out)[1])
    code, err = run(dir, PROBE, { "--data", dir .. "/BTCUSDT.csv", "--header",
      "open_time,open,high,low,close,volume,a,b,c,d,e,f,g" })
    usage_error(code, err, dir .. "/BTCUSDT.csv:1: --header names 13 columns, the first line has 12")
  end)

  it("reads the deploy config's data table; the command line wins", function()
    csv(dir, "X.csv", "ts,open,high,low,Last,volume", { "1704153600000,1,3,1,2,1" })
    local cfg = T.write(dir .. "/deploy.lua", [[
return { data = { columns = { datetime = "ts", close = "Last" }, time_format = "ms",
                  tz = "America/New_York" } }]])
    local code, err, out = run(dir, PROBE, { "--data", dir .. "/X.csv", "--config", cfg })
    assert.equal(0, code, err)
    assert.equal(2, bars(err)[1].close)
    assert.equal("2024-01-02T00:00:00.000000Z", times(out)[1]) -- an epoch: the zone does not apply
    code, err = run(dir, PROBE, { "--data", dir .. "/X.csv", "--config", cfg, "--time-format", "iso" })
    usage_error(code, err, dir .. "/X.csv:2: bad datetime '1704153600000'")
    csv(dir, "Y.csv", "ts,open,high,low,Last,volume", { "2024-01-02 09:30:00,1,3,1,2,1" })
    code, err, out = run(dir, PROBE, { "--data", dir .. "/Y.csv", "--config", cfg, "--time-format",
      "auto", "--tz", "Europe/London" })
    assert.equal(0, code, err)
    assert.equal("2024-01-02T09:30:00.000000Z", times(out)[1])
    code, err, out = run(dir, PROBE, { "--data", dir .. "/Y.csv", "--config", cfg, "--time-format", "auto" })
    assert.equal(0, code, err)
    assert.equal("2024-01-02T14:30:00.000000Z", times(out)[1])
    local hdr = T.write(dir .. "/hdr.lua", [[
return { data = { header = { "open_time", "open", "high", "low", "close", "volume" } } }]])
    T.write(dir .. "/BTCUSDT.csv", klines(2))
    code, err = run(dir, PROBE, { "--data", dir .. "/BTCUSDT.csv", "--config", hdr })
    assert.equal(0, code, err)
    assert.equal(2, #bars(err))
  end)

  it("refuses a data table it does not understand, naming the key", function()
    csv(dir, "X.csv", "datetime,open,high,low,close,volume", { "2024-01-02,1,1,1,1,1" })
    local cases = {
      { "data = { columns = {}, format = 'ms' }", "unknown key 'data.format' (known: columns, header, time_format, tz)" },
      { "data = { columns = { price = 'x' } }", "unknown key 'data.columns.price' (known: datetime, open, high, low, close, volume, symbol, adj_close)" },
      { "data = { columns = { close = 5 } }", "data.columns.close: expected a column name (a string)" },
      { "data = { header = 'a,b' }", "data.header: expected a list of column names" },
      { "data = { time_format = 'sec' }", 'data.time_format: expected "auto", "iso", "s", "ms", "us" or "ns"' },
      { "data = { tz = 5 }", 'data.tz: expected a zone name (a string, e.g. "America/New_York")' },
      { "data = { tz = 'America/Gotham' }", "data.tz: unknown time zone 'America/Gotham'" },
      { "data = 'x.csv'", "data: expected a table" },
    }
    for i, c in ipairs(cases) do
      local cfg = T.write(dir .. "/bad" .. i .. ".lua", "return { " .. c[1] .. " }")
      local code, err = run(dir, PROBE, { "--data", dir .. "/X.csv", "--config", cfg })
      usage_error(code, err, cfg .. ": " .. c[2])
    end
  end)
end)

describe("data: adjusted prices", function()
  local dir
  before_each(function() dir = T.tmpdir() end)
  after_each(function() T.rmdir(dir) end)

  it("--adjust backtests on ratio-adjusted OHLC, volume divided by the factor", function()
    T.write(dir .. "/AAPL.csv", table.concat({
      "Date,Open,High,Low,Close,Adj Close,Volume",
      "2024-01-02,100,110,90,100,50,1000", -- before a 2:1 split: factor 0.5
      "2024-01-03,102,104,100,103,51.5,3000",
      "2024-01-04,52,53,51,52,52,500",     -- after it: factor 1
    }, "\n") .. "\n")
    local code, err = run(dir, PROBE, { "--data", dir .. "/AAPL.csv", "--adjust" })
    assert.equal(0, code, err)
    local b = bars(err)
    assert.same({ 50, 55, 45, 50, 2000 }, { b[1].open, b[1].high, b[1].low, b[1].close, b[1].volume })
    assert.same({ 51, 52, 50, 51.5, 6000 }, { b[2].open, b[2].high, b[2].low, b[2].close, b[2].volume })
    assert.same({ 52, 53, 51, 52, 500 }, { b[3].open, b[3].high, b[3].low, b[3].close, b[3].volume })
    -- fills happen at the adjusted open
    local out
    code, err, out = run(dir, BUY_ONCE, { "--data", dir .. "/AAPL.csv", "--adjust" })
    assert.equal(0, code, err)
    local fills = T.csv(out .. "/fills.csv")
    assert.equal(1, #fills)
    assert.equal(51, tonumber(fills[1].price))
    -- and without --adjust at the open as written
    code, err, out = run(dir, BUY_ONCE, { "--data", dir .. "/AAPL.csv" })
    assert.equal(0, code, err)
    assert.equal(102, tonumber(T.csv(out .. "/fills.csv")[1].price))
  end)

  it("--adjust without an adjusted close column is an error naming the file", function()
    csv(dir, "AAPL.csv", "datetime,open,high,low,close,volume", { "2024-01-02,1,1,1,1,1" })
    local code, err = run(dir, PROBE, { "--data", dir .. "/AAPL.csv", "--adjust" })
    usage_error(code, err, dir .. "/AAPL.csv:1: --adjust needs an adjusted close column (Adj Close, "
      .. "adj_close or adjclose; or --columns adj_close=NAME)")
    csv(dir, "B.csv", "datetime,open,high,low,close,adjclose,volume", { "2024-01-02,2,2,2,2,1,1" })
    code, err = run(dir, PROBE, { "--data", dir .. "/B.csv", "--adjust" })
    assert.equal(0, code, err)
    assert.equal(1, bars(err)[1].close)
  end)
end)

describe("data: missing values", function()
  local dir
  before_each(function() dir = T.tmpdir() end)
  after_each(function() T.rmdir(dir) end)

  it("stops at a row of nulls with its line, exit 2, unless --lenient", function()
    T.write(dir .. "/AAPL.csv", YAHOO)
    local code, err = run(dir, PROBE, { "--data", dir .. "/AAPL.csv" })
    usage_error(code, err, dir .. "/AAPL.csv:5: missing value 'null' in column 'open' (--lenient "
      .. "skips rows with missing values)")
  end)

  it("--lenient skips rows with missing values, logs the first ten with FILE:LINE, counts them all", function()
    local rows = {}
    for d = 1, 28 do
      local day = string.format("2024-02-%02d", d)
      if d % 2 == 0 then
        rows[#rows + 1] = day .. ",null,null,null,null,null,null"
      elseif d == 3 then
        rows[#rows + 1] = day .. ",10,11,9,10,,1000" -- an empty adjusted close
      else
        rows[#rows + 1] = day .. ",10,11,9,10,10,1000"
      end
    end
    csv(dir, "AAPL.csv", "Date,Open,High,Low,Close,Adj Close,Volume", rows)
    local code, err, out = run(dir, PROBE, { "--data", dir .. "/AAPL.csv", "--lenient" })
    assert.equal(0, code, err)
    assert.equal(14, #bars(err)) -- the empty Adj Close is not read without --adjust
    local shown = 0
    for line in err:gmatch("[^\n]+") do
      if line:find("WARN bars: " .. dir .. "/AAPL.csv:", 1, true)
        and line:find("skipped a row: missing value 'null' in column 'open'", 1, true) then
        shown = shown + 1
      end
    end
    assert.equal(10, shown)
    assert.matches("AAPL.csv:3: skipped a row", err, 1, true)   -- the first, on its line
    assert.matches("AAPL.csv:21: skipped a row: missing value 'null' in column 'open' (further "
      .. "skipped rows are counted, the total shown at the end)", err, 1, true)
    assert.is_nil(err:find("AAPL.csv:23: skipped", 1, true))
    assert.matches("WARN bars: skipped 14 rows with missing values (--lenient)", err, 1, true)
    assert.equal(14, T.json(T.read(out .. "/summary.json")).skipped_rows)
    -- with --adjust the empty adjusted close is missing too
    code, err, out = run(dir, PROBE, { "--data", dir .. "/AAPL.csv", "--lenient", "--adjust" })
    assert.equal(0, code, err)
    assert.equal(13, #bars(err))
    assert.equal(15, T.json(T.read(out .. "/summary.json")).skipped_rows)
  end)

  it("writes skipped_rows only with --lenient; 0 when nothing was skipped", function()
    csv(dir, "AAPL.csv", "datetime,open,high,low,close,volume", { "2024-01-02,1,1,1,1,1" })
    local code, err, out = run(dir, PROBE, { "--data", dir .. "/AAPL.csv" })
    assert.equal(0, code, err)
    assert.is_nil(T.read(out .. "/summary.json"):find("skipped_rows", 1, true))
    code, err, out = run(dir, PROBE, { "--data", dir .. "/AAPL.csv", "--lenient" })
    assert.equal(0, code, err)
    assert.equal(0, T.json(T.read(out .. "/summary.json")).skipped_rows)
  end)

  it("--lenient does not skip a row that is wrong in another way", function()
    csv(dir, "AAPL.csv", "datetime,open,high,low,close,volume",
      { "2024-01-02,1,1,1,1,1", "2024-01-03,1,abc,1,1,1" })
    local code, err = run(dir, PROBE, { "--data", dir .. "/AAPL.csv", "--lenient" })
    usage_error(code, err, dir .. "/AAPL.csv:3: bad number 'abc' in column 'high'")
    csv(dir, "B.csv", "datetime,open,high,low,close,volume", { "2024-01-02,null,1,1,1,1" })
    code, err = run(dir, PROBE, { "--data", dir .. "/B.csv", "--lenient" })
    usage_error(code, err, dir .. "/B.csv: no bars after the header (1 rows skipped for missing values)")
  end)
end)

describe("data: the command line", function()
  local dir
  before_each(function() dir = T.tmpdir() end)
  after_each(function() T.rmdir(dir) end)

  it("takes several files after one --data, up to the next option", function()
    csv(dir, "AAA.csv", "datetime,open,high,low,close,volume", { "2024-01-02,1,1,1,1,1", "2024-01-04,1,1,1,1,1" })
    csv(dir, "BBB.csv", "datetime,open,high,low,close,volume", { "2024-01-03,2,2,2,2,2" })
    local code, err, out = run(dir, PROBE, { "--data", dir .. "/AAA.csv", dir .. "/BBB.csv", "--seed", "3" })
    assert.equal(0, code, err)
    local b = bars(err)
    assert.same({ "AAA", "BBB", "AAA" }, { b[1].sym, b[2].sym, b[3].sym })
    assert.equal(3, T.json(T.read(out .. "/summary.json")).events)
    -- a strategy after the data files is still a strategy
    local s2 = T.write(dir .. "/second.lua", PROBE)
    code, err = run(dir, PROBE, { "--data", dir .. "/AAA.csv", dir .. "/BBB.csv", s2 })
    assert.equal(0, code, err)
    assert.equal(6, #bars(err)) -- two strategies, three bars each
  end)

  it("takes a directory: every *.csv in it, in the order of their names", function()
    os.execute("mkdir -p " .. T.quote(dir .. "/bars"))
    csv(dir, "bars/MSFT.csv", "datetime,open,high,low,close,volume", { "2024-01-02,2,2,2,2,2" })
    csv(dir, "bars/AAPL.csv", "datetime,open,high,low,close,volume", { "2024-01-02,1,1,1,1,1" })
    T.write(dir .. "/bars/notes.txt", "not data\n")
    T.write(dir .. "/bars/.hidden.csv", "not data\n")
    local code, err = run(dir, PROBE, { "--data", dir .. "/bars/" })
    assert.equal(0, code, err)
    local b = bars(err)
    assert.same({ "AAPL", "MSFT" }, { b[1].sym, b[2].sym }) -- a tie: the first file's first
    os.execute("mkdir " .. T.quote(dir .. "/empty"))
    code, err = run(dir, PROBE, { "--data", dir .. "/empty" })
    usage_error(code, err, dir .. "/empty: no .csv files in the directory")
  end)

  it("says data is for --data when a strategy argument is a CSV file or a directory", function()
    csv(dir, "AAA.csv", "datetime,open,high,low,close,volume", { "2024-01-02,1,1,1,1,1" })
    local code, _, err = T.gantry({ "backtest", dir .. "/AAA.csv", "--data", dir .. "/AAA.csv" })
    usage_error(code, err, dir .. "/AAA.csv: a CSV file, not a strategy (a Lua file): data files go after --data")
    local s = T.write(dir .. "/s.lua", PROBE)
    code, _, err = T.gantry({ "backtest", s, dir, "--data", dir .. "/AAA.csv" })
    usage_error(code, err, dir .. ": a directory, not a strategy (a Lua file): data files go after --data")
    code, _, err = T.gantry({ "backtest", s, "--out", dir .. "/o", dir .. "/AAA.csv" })
    usage_error(code, err, dir .. "/AAA.csv: a CSV file, not a strategy (a Lua file): data files go after --data")
  end)

  it("keeps the CSV options to CSV data", function()
    T.write(dir .. "/day.itch", "")
    for _, opt in ipairs({ { "--columns", "close=C" }, { "--header", "a,b" }, { "--time-format", "ms" },
                           { "--tz", "UTC" }, { "--adjust" } }) do
      local args = { "--data", dir .. "/day.itch" }
      for _, a in ipairs(opt) do args[#args + 1] = a end
      local code, err = run(dir, PROBE, args)
      usage_error(code, err, "--columns, --header, --time-format, --tz and --adjust apply to CSV data")
    end
  end)
end)
