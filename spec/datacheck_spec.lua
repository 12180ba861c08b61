-- Data integrity (issue 17 item 5): `gantry data check` finds each defect
-- planted in a CSV file and an ITCH day and stays silent on clean data; the
-- deploy config's data_checks; the policies pass, flag and hold seen
-- through a strategy. Every file is made here, in a temporary directory.
local T = require "support"

local BIN, TOOLS, q = T.bin, T.tools, T.quote

local tmp
local function run(cmd) return T.sh(cmd, tmp) end

-- Weekday i (0 = Monday 2024-01-01) as YYYY-MM-DD.
local function weekday(i)
  local days = (i // 5) * 7 + i % 5
  return os.date("!%Y-%m-%d", 1704067200 + days * 86400)
end

-- A calm series: the close swings +-0.5 % around 100, volumes 1000..1060.
local function row(i, o)
  o = o or {}
  local p = 100 * (1 + 0.005 * math.sin(i))
  local c = o.close or p
  return string.format("%s,%s,%s,%s,%s,%s", o.date or weekday(i), o.open or p,
    o.high or math.max(p, c) * 1.002, o.low or math.min(p, c) * 0.998, c, o.volume or 1000 + (i % 7) * 10)
end

-- DEF.csv with one defect of each kind at a known line (line = i + 2 until
-- the skipped weekday 45, i + 1 after it).
local function planted(path)
  local lines = { "datetime,open,high,low,close,volume" }
  local stale = 100 * (1 + 0.005 * math.sin(64))
  for i = 0, 79 do
    local o
    if i == 30 then o = { low = 0 }                                    -- prices
    elseif i == 35 then o = { high = 99, low = 101, close = 100, open = 100 } -- ohlc
    elseif i == 40 then o = { volume = "null" }                        -- prices (volume)
    elseif i == 50 then o = { close = 130, high = 131 }                -- jump
    elseif i == 55 then o = { volume = 10000000 }                      -- volume_spike
    elseif i == 60 then o = { date = weekday(20) }                     -- time_back
    elseif i == 61 then o = { date = weekday(59) }                     -- duplicates (and 60, 61 missing)
    elseif i >= 64 and i <= 69 then o = { close = stale, open = stale, high = stale, low = stale } -- stale
    end
    if i ~= 45 then lines[#lines + 1] = row(i, o) end                -- gaps (at 46)
  end
  T.write(path, table.concat(lines, "\n") .. "\n")
end

local function count(out, check)
  return tonumber(out:match("\n" .. check .. "%s+%a+%s+(%d+)\n"))
end

describe("gantry data check", function()
  setup(function() tmp = T.tmpdir() end)
  teardown(function() T.rmdir(tmp) end)

  describe("on CSV bars", function()
    it("finds each planted defect, with FILE:LINE, and exits 1 on an error-level finding", function()
      local csv = tmp .. "/DEF.csv"
      planted(csv)
      local cfg = T.write(tmp .. "/checks.lua", "return { data_checks = { stale = { run = 5 } } }")
      local html = tmp .. "/check.html"
      local code, out, err = run(q(BIN) .. " data check " .. q(csv) .. " --config " .. q(cfg)
        .. " --html " .. q(html))
      assert.are.equal(1, code, err)
      assert.are.equal(2, count(out, "prices"))
      assert.are.equal(1, count(out, "ohlc"))
      assert.are.equal(1, count(out, "time_back"))
      assert.are.equal(1, count(out, "duplicates"))
      assert.are.equal(2, count(out, "gaps")) -- 45, and 60 and 61 (their rows went back)
      assert.are.equal(1, count(out, "jump"))
      assert.are.equal(1, count(out, "volume_spike"))
      assert.are.equal(2, count(out, "stale"))
      assert.are.equal(0, count(out, "crossed"))
      assert.truthy(out:find("DEF.csv:32  DEF  " .. weekday(30) .. "T00:00:00.000000Z  low 0 is not a positive price", 1, true))
      assert.truthy(out:find("DEF.csv:37  DEF  " .. weekday(35), 1, true))
      assert.truthy(out:find("high 99 is below low 101", 1, true))
      assert.truthy(out:find("volume nan is not a volume", 1, true))
      assert.truthy(out:find("DEF.csv:47  DEF  " .. weekday(46) .. "T00:00:00.000000Z  1 bar missing before it", 1, true))
      assert.truthy(out:find("jump %+30%.%d+%% from 99%.%d+"))
      assert.truthy(out:find("close [%d.]+ for 5 bars in a row"))
      assert.truthy(out:find("result: 4 findings at error level, 7 warnings", 1, true))
      local page = assert(T.read(html))
      for _, k in ipairs { "prices", "ohlc", "time_back", "duplicates", "gaps", "jump", "volume_spike", "stale" } do
        assert.truthy(page:find('<circle class="finding %a+" data%-check="' .. k .. '"'), k)
      end
      assert.falsy(page:find('data-check="crossed" cx', 1, true))
      assert.falsy(page:find("https?://")) -- nothing fetched
    end)

    it("exits 0 with warnings only", function()
      local csv = T.write(tmp .. "/W.csv", "datetime,open,high,low,close,volume\n"
        .. row(0) .. "\n" .. row(1) .. "\n" .. row(3) .. "\n")
      local code, out = run(q(BIN) .. " data check " .. q(csv))
      assert.are.equal(0, code)
      assert.are.equal(1, count(out, "gaps"))
      assert.truthy(out:find("result: 0 findings at error level, 1 warning\n", 1, true))
    end)

    it("is silent on generated bars, daily and intraday", function()
      local dir = tmp .. "/clean"
      assert.are.equal(0, (run(q(T.root .. "/scripts/gen_bars") .. " --seed 42 --bars 1000 --symbols AAPL,MSFT,IBM --corr 0.8 --out " .. q(dir))))
      assert.are.equal(0, (run(q(T.root .. "/scripts/gen_bars") .. " --seed 7 --bars 3000 --symbols 2 --interval 5m --file " .. q(dir .. "/intraday.csv"))))
      for _, f in ipairs { "AAPL.csv MSFT.csv IBM.csv", "intraday.csv" } do
        local files = f:gsub("(%S+)", function(x) return q(dir .. "/" .. x) end)
        local code, out = run(q(BIN) .. " data check " .. files)
        assert.are.equal(0, code, out)
        assert.truthy(out:find("result: 0 findings at error level, 0 warnings", 1, true), out)
      end
    end)
  end)

  describe("on an ITCH day", function()
    local function frame(msg) return string.pack(">s2", msg) end
    local function hdr(t, ts) return t .. string.pack(">I2I2I6", 1, 0, ts) end
    local function add(ref, side, price, ts)
      return frame(hdr("A", ts) .. string.pack(">I8c1I4c8I4", ref, side, 100, "TEST    ", price))
    end
    local function trade(price, ts, match)
      return frame(hdr("P", ts) .. string.pack(">I8c1I4c8I4I8", 0, "B", 100, "TEST    ", price, match))
    end

    it("finds a crossed book, time going back, a trade at 0 and a price jump", function()
      local s = 34200 * 1000000000 -- 09:30
      local day = add(1, "B", 100000, s) .. add(2, "S", 100100, s + 1000)
        .. trade(100050, s + 2000, 1)
        .. add(3, "B", 100500, s + 3000)    -- bid 10.05 over ask 10.01: crossed
        .. trade(0, s + 4000, 2)            -- a trade at 0
        .. trade(150000, s + 5000, 3)       -- +49.93 % (config: pct 20)
        .. trade(100060, s + 6000, 4)       -- back: no finding
        .. trade(100070, s + 1500, 5)       -- 1.5 us before the last message
      local path = T.write(tmp .. "/faults.itch", day)
      local cfg = T.write(tmp .. "/ticks.lua", "return { data_checks = { ticks = { jump = { pct = 20 } } } }")
      local code, out, err = run(q(BIN) .. " data check " .. q(path) .. " --config " .. q(cfg))
      assert.are.equal(1, code, err)
      assert.are.equal(1, count(out, "crossed"))
      assert.are.equal(1, count(out, "prices"))
      assert.are.equal(1, count(out, "jump"))
      assert.are.equal(1, count(out, "time_back"))
      assert.are.equal(0, count(out, "gaps"))
      assert.truthy(out:find("TEST  09:30:00.000003000  crossed: bid 10.05 above ask 10.01", 1, true))
      assert.truthy(out:find("trade price 0 is not a positive price", 1, true))
      assert.truthy(out:find("jump +49.93% from 10.005\n", 1, true))
      assert.truthy(out:find("time goes back 4.5e-06 s", 1, true))
      assert.truthy(out:find("faults.itch: byte %d+  TEST"))
    end)

    it("is silent on a generated day", function()
      local path = tmp .. "/day.itch"
      assert.are.equal(0, (run(q(TOOLS .. "/gen_itch") .. " --seed 7 --messages 100000 --symbols 10 --live 10000 --out " .. q(path))))
      local code, out = run(q(BIN) .. " data check " .. q(path))
      assert.are.equal(0, code, out)
      assert.truthy(out:find("result: 0 findings at error level, 0 warnings", 1, true))
    end)
  end)

  describe("bad usage", function()
    local cases = {
      { "data", "data: expected 'check'" },
      { "data check", "data check: no FILE given" },
      { "data check --bogus x.csv", "data check: unknown option '--bogus'" },
      { "data check x.csv --html", "data check: --html needs a file name" },
      { "data check NOFILE.csv", "NOFILE.csv: cannot open" },
      { "data check a.itch b.csv", "data check: an ITCH day is checked alone" },
    }
    for _, c in ipairs(cases) do
      it("exits 2 for 'gantry " .. c[1] .. "'", function()
        local code, _, err = run(q(BIN) .. " " .. c[1])
        assert.are.equal(2, code)
        assert.truthy(err:find(c[2], 1, true), err)
      end)
    end

    it("exits 2 on a bad data_checks key or value, naming it", function()
      local csv = T.write(tmp .. "/OK.csv", "datetime,open,high,low,close,volume\n" .. row(0) .. "\n")
      local bad = {
        { "{ prices = 'loud' }", "data_checks.prices: expected \"error\", \"warn\" or \"off\" (or false), got loud" },
        { "{ jump = { sigma = 3 } }", "data_checks.jump: unknown key 'sigma' (keys: level, sigmas, pct)" },
        { "{ jump = { pct = -1 } }", "data_checks.jump.pct: expected a number >= 0, got -1" },
        { "{ policy = 'drop' }", "data_checks.policy: expected \"pass\", \"flag\" or \"hold\", got drop" },
        { "{ bars = { gaps = { interval = 'x' } } }", "data_checks.bars.gaps.interval: expected a number >= 0, got string" },
        { "{ nope = 1 }", "data_checks: unknown key 'nope'" },
      }
      for i, b in ipairs(bad) do
        local cfg = T.write(tmp .. "/bad" .. i .. ".lua", "return { data_checks = " .. b[1] .. " }")
        local code, _, err = run(q(BIN) .. " data check " .. q(csv) .. " --config " .. q(cfg))
        assert.are.equal(2, code, b[1])
        assert.truthy(err:find(b[2], 1, true), err)
      end
    end)

    it("exits 2 on a row that cannot be read, with FILE:LINE", function()
      local csv = T.write(tmp .. "/BAD.csv", "datetime,open,high,low,close,volume\n" .. row(0) .. "\n2024-01-02,abc,1,1,1,1\n")
      local code, _, err = run(q(BIN) .. " data check " .. q(csv))
      assert.are.equal(2, code)
      assert.truthy(err:find("BAD.csv:3: bad number 'abc' in column 'open'", 1, true), err)
    end)
  end)
end)

describe("data checks in a run", function()
  setup(function() tmp = T.tmpdir() end)
  teardown(function() T.rmdir(tmp) end)

  -- Logs every bar it sees, with ctx:data_flags().
  local PROBE = [[
local S = {}
function S.on_bar(ctx, bar)
  local f = ctx:data_flags()
  ctx:log("info", "BAR %s %.2f %s", bar.symbol, bar.close, f and table.concat(f, ",") or "-")
end
return S
]]

  -- 40 calm bars and a 30 % spike at bar 30 (the reader takes it: a valid bar).
  local function spiky()
    local lines = { "datetime,open,high,low,close,volume" }
    for i = 0, 39 do
      lines[#lines + 1] = row(i, i == 30 and { close = 130, high = 131 } or nil)
    end
    return T.write(tmp .. "/SPK.csv", table.concat(lines, "\n") .. "\n")
  end

  local function backtest(policy, level)
    local strat = T.write(tmp .. "/probe.lua", PROBE)
    local cfg = T.write(tmp .. "/" .. policy .. ".lua", string.format(
      "return { data_checks = { policy = %q, jump = { pct = 20, level = %q } } }", policy, level))
    local out = tmp .. "/out-" .. policy
    local code, o, err = run(q(BIN) .. " backtest " .. q(strat) .. " --data " .. q(spiky())
      .. " --config " .. q(cfg) .. " --out " .. q(out) .. " --overwrite --quiet")
    assert.are.equal(0, code, err)
    local bars = {}
    for sym, close, flags in err:gmatch("BAR (%S+) (%S+) (%S+)") do bars[#bars + 1] = { close = close, flags = flags } end
    return bars, T.read(out .. "/summary.json"), err, o
  end

  it("pass: every bar delivered, none flagged, the finding counted and logged", function()
    local bars, summary, err = backtest("pass", "warn")
    assert.are.equal(40, #bars)
    assert.are.equal("130.00", bars[31].close)
    for _, b in ipairs(bars) do assert.are.equal("-", b.flags) end
    assert.truthy(summary:find('"data_findings": 1, ', 1, true) and summary:find('"data_jump": 1,', 1, true), summary)
    assert.truthy(err:find("WARN data: [event " .. weekday(29) .. "T00:00:00.000000Z] SPK at " .. weekday(30)
      .. "T00:00:00.000000Z: jump: jump +30.43% from 99.66818306", 1, true), err)
  end)

  it("flag: the bar delivered with ctx:data_flags() naming the check", function()
    local bars, summary = backtest("flag", "warn")
    assert.are.equal(40, #bars)
    assert.are.equal("jump", bars[31].flags)
    assert.are.equal("-", bars[30].flags)
    assert.are.equal("-", bars[32].flags)
    assert.truthy(summary:find('"data_findings": 1, ', 1, true) and summary:find('"data_jump": 1,', 1, true), summary)
  end)

  it("hold: an error-level finding's bar is not delivered; a warning's is flagged", function()
    local bars, summary, err = backtest("hold", "error")
    assert.are.equal(39, #bars)
    for _, b in ipairs(bars) do assert.are_not.equal("130.00", b.close) end
    assert.truthy(summary:find('"data_findings": 1, ', 1, true) and summary:find('"data_jump": 1,', 1, true), summary)
    assert.truthy(err:find("ERROR data: [event " .. weekday(29) .. "T00:00:00.000000Z] SPK at " .. weekday(30) .. "T00:00:00.000000Z: jump:", 1, true), err)
    bars = backtest("hold", "warn")
    assert.are.equal(40, #bars)
    assert.are.equal("jump", bars[31].flags)
  end)

  it("hold on an ITCH day: a trade at 0 is held back, a crossed quote and a jump are flagged", function()
    local function frame(msg) return string.pack(">s2", msg) end
    local function hdr(t, ts) return t .. string.pack(">I2I2I6", 1, 0, ts) end
    local function add(ref, side, price, ts)
      return frame(hdr("A", ts) .. string.pack(">I8c1I4c8I4", ref, side, 100, "TEST    ", price))
    end
    local function trade(price, ts, match)
      return frame(hdr("P", ts) .. string.pack(">I8c1I4c8I4I8", 0, "B", 100, "TEST    ", price, match))
    end
    local s = 34200 * 1000000000
    local day = T.write(tmp .. "/run.itch", add(1, "B", 100000, s) .. add(2, "S", 100100, s + 1000)
      .. trade(100050, s + 2000, 1) .. add(3, "B", 100500, s + 3000) .. trade(0, s + 4000, 2)
      .. trade(150000, s + 5000, 3) .. trade(100060, s + 6000, 4))
    local strat = T.write(tmp .. "/ticks.lua", [[
local S = { params = { symbol = "TEST" } }
function S.symbols(p) return { p.symbol } end
local function flags(ctx) local f = ctx:data_flags(); return f and table.concat(f, ",") or "-" end
function S.on_book(ctx, b) ctx:log("info", "BOOK %.2f %.2f %s", b.bid, b.ask, flags(ctx)) end
function S.on_trade(ctx, t) ctx:log("info", "TRADE %.4f %s", t.price, flags(ctx)) end
return S
]])
    local cfg = T.write(tmp .. "/tickhold.lua", "return { data_checks = { policy = 'hold', ticks = { jump = { pct = 20 } } } }")
    local code, _, err = run(q(BIN) .. " backtest " .. q(strat) .. " --data " .. q(day) .. " --config " .. q(cfg)
      .. " --out " .. q(tmp .. "/tick-out") .. " --quiet")
    assert.are.equal(0, code, err)
    local seen = {}
    for what in err:gmatch("INFO ticks: %[event [^%]]+%] ([^\n]+)") do seen[#seen + 1] = what end
    assert.are.same({ "BOOK 10.00 0.00 -", "BOOK 10.00 10.01 -", "TRADE 10.0050 -", "BOOK 10.05 10.01 crossed",
      "TRADE 15.0000 jump", "TRADE 10.0060 -" }, seen)
    local summary = T.read(tmp .. "/tick-out/summary.json")
    assert.truthy(summary:find('"data_findings": 3, "data_prices": 1,', 1, true) and summary:find('"data_jump": 1,', 1, true)
      and summary:find('"data_crossed": 1}', 1, true), summary)
  end)

  it("counts nothing on clean data and writes the counts to summary.json", function()
    local strat = T.write(tmp .. "/probe.lua", PROBE)
    local dir = tmp .. "/clean"
    run(q(T.root .. "/scripts/gen_bars") .. " --seed 42 --bars 504 --symbols AAPL --out " .. q(dir))
    local code, _, err = run(q(BIN) .. " backtest " .. q(strat) .. " --data " .. q(dir .. "/AAPL.csv")
      .. " --out " .. q(tmp .. "/clean-out") .. " --quiet")
    assert.are.equal(0, code, err)
    local s = T.read(tmp .. "/clean-out/summary.json")
    assert.truthy(s:find('"data_findings": 0, "data_prices": 0, "data_ohlc": 0, "data_time_back": 0, "data_duplicates": 0, '
      .. '"data_gaps": 0, "data_jump": 0, "data_stale": 0, "data_volume_spike": 0, "data_crossed": 0}', 1, true), s)
    assert.falsy(err:find("data:", 1, true))
  end)

  it("a bad data_checks in the deploy config stops the backtest with exit 2", function()
    local strat = T.write(tmp .. "/probe.lua", PROBE)
    local cfg = T.write(tmp .. "/badrun.lua", "return { data_checks = { policy = 'drop' } }")
    local code, _, err = run(q(BIN) .. " backtest " .. q(strat) .. " --data " .. q(spiky())
      .. " --config " .. q(cfg) .. " --out " .. q(tmp .. "/bad-out") .. " --quiet")
    assert.are.equal(2, code)
    assert.truthy(err:find("badrun.lua: data_checks.policy: expected \"pass\", \"flag\" or \"hold\", got drop", 1, true), err)
  end)
end)
