-- Timeframes aligned to the session (timeframes_align = "session"): a
-- frame's bars start at the session's open in the exchange's zone, on
-- either side of a change of UTC offset; UTC alignment stays the default.
local T = require "support"

-- n minute bars of X from epoch second t0, volume 1 each.
local function minutes(dir, t0, n)
  local rows = { "datetime,open,high,low,close,volume" }
  for i = 0, n - 1 do
    rows[#rows + 1] = string.format("%s,100,101,99,100,1", os.date("!%Y-%m-%d %H:%M:%S", t0 + i * 60))
  end
  return T.write(dir .. "/X.csv", table.concat(rows, "\n") .. "\n")
end

local function frames(dir, data, align, extra)
  local s = T.write(dir .. "/s.lua", [[
    local S = { params = { symbol = "X" }, timeframes = { "1h", "1d" }]] .. align .. [[ }
    function S.on_bar(ctx, bar)
      if bar.timeframe then
        ctx:log("info", "%s %d %d", bar.timeframe, math.floor(bar.time / 1e9), bar.volume)
      end
    end
    return S]])
  local args = { "backtest", s, "--data", data, "--out", dir .. "/o", "--overwrite", "--no-report", "--quiet" }
  for _, a in ipairs(extra or {}) do args[#args + 1] = a end
  local code, _, err = T.gantry(args, dir)
  assert.equal(0, code, err)
  local t = {}
  for tf, at, vol in err:gmatch("INFO s: %[event [^%]]+%] (%w+) (%d+) (%d+)") do
    t[#t + 1] = string.format("%s %s %s", tf, os.date("!%m-%d %H:%M", tonumber(at)), vol)
  end
  return t
end

describe("timeframes_align", function()
  local dir
  before_each(function() dir = T.tmpdir() end)
  after_each(function() T.rmdir(dir) end)

  it("\"session\": a 1h frame starts at 09:30 New York, in winter (UTC-5) and summer (UTC-4)", function()
    -- 2024-03-08 09:30 EST is 14:30 UTC; 130 minutes
    local got = frames(dir, minutes(dir, 1709908200, 130), ', timeframes_align = "session"')
    assert.same({ "1h 03-08 14:30 60", "1h 03-08 15:30 60", "1h 03-08 16:30 10", "1d 03-08 14:30 130" }, got)
    -- 2024-03-11 09:30 EDT is 13:30 UTC, after the clocks went forward
    got = frames(dir, minutes(dir, 1710163800, 70), ', timeframes_align = "session"')
    assert.same({ "1h 03-11 13:30 60", "1h 03-11 14:30 10", "1d 03-11 13:30 70" }, got)
  end)

  it("the open and the zone come from the deploy config", function()
    local cfg = T.write(dir .. "/d.lua", 'return { timezone = "Europe/London", session_open = "08:00" }')
    -- 2024-03-08 08:00 in London is 08:00 UTC
    local got = frames(dir, minutes(dir, 1709884800, 90), ', timeframes_align = "session"', { "--config", cfg })
    assert.same({ "1h 03-08 08:00 60", "1h 03-08 09:00 30", "1d 03-08 08:00 90" }, got)
  end)

  it("\"utc\" (the default): frames at multiples of their length since the epoch", function()
    local got = frames(dir, minutes(dir, 1709908200, 130), "")
    assert.same({ "1h 03-08 14:00 30", "1h 03-08 15:00 60", "1h 03-08 16:00 40", "1d 03-08 00:00 130" }, got)
  end)

  it("refuses another value, and a session_open that is not a time of day", function()
    local s = T.write(dir .. "/s.lua", [[return { timeframes = { "1h" }, timeframes_align = "exchange",
      on_bar = function() end }]])
    local code, _, err = T.gantry({ "backtest", s, "--data", minutes(dir, 1709908200, 3) }, dir)
    assert.equal(2, code)
    assert.matches('timeframes_align must be "utc" or "session", got exchange', err, 1, true)
    local cfg = T.write(dir .. "/d.lua", 'return { session_open = "9:30" }')
    code, _, err = T.gantry({ "backtest", s, "--data", dir .. "/X.csv", "--config", cfg }, dir)
    assert.equal(2, code)
    assert.matches(cfg .. ': session_open: expected a time of day "HH:MM" or "HH:MM:SS", e.g. "09:30"', err, 1, true)
  end)
end)
