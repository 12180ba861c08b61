-- make install, and a binary that finds its stdlib from where it is: an
-- installed tree moved elsewhere still runs a strategy that requires
-- gantry.ta, with the clone's stdlib out of its reach.
local T = require "support"

local STRATEGY = [[
  local ta = require "gantry.ta"
  local S = { params = { symbol = "XYZ" } }
  local sma
  function S.on_start(ctx) sma = ta.sma(3) end
  function S.on_bar(ctx, bar) if sma:update(bar.close) and ctx:position("XYZ") == 0 then ctx:buy("XYZ", 1) end end
  return S]]

local function day_bars(dir, n)
  local rows = { "datetime,open,high,low,close,volume" }
  for i = 1, n do
    local d = os.date("!%Y-%m-%d", 1704067200 + (i - 1) * 86400)
    rows[#rows + 1] = string.format("%s,100,105,95,%d,1000", d, 100 + i % 5)
  end
  return T.write(dir .. "/XYZ.csv", table.concat(rows, "\n") .. "\n")
end

describe("make install", function()
  local dir
  before_each(function() dir = T.tmpdir() end)
  after_each(function() T.rmdir(dir) end)

  it("installs a tree that runs wherever it is moved", function()
    local code, out, err = T.sh("make --no-print-directory install PREFIX=" .. T.quote(dir .. "/prefix"))
    assert.equal(0, code, out .. err)
    assert.truthy(T.read(dir .. "/prefix/share/gantry/stdlib/gantry/ta.lua"))
    assert.truthy(T.read(dir .. "/prefix/share/gantry/stdlib/gantry/report.lua"))
    -- moved: nothing left where it was installed, nor a path to the clone
    os.execute("mv " .. T.quote(dir .. "/prefix") .. " " .. T.quote(dir .. "/moved"))
    day_bars(dir, 20)
    T.write(dir .. "/s.lua", STRATEGY)
    local bin = dir .. "/moved/bin/gantry"
    code, out, err = T.sh("cd " .. T.quote(dir) .. " && env -u GANTRY_STDLIB " .. T.quote(bin)
      .. " backtest s.lua --data XYZ.csv --out o --quiet")
    assert.equal(0, code, err)
    assert.truthy(T.read(dir .. "/o/report.html"), "the report (stdlib/gantry/report.lua) was written")
    assert.truthy(#T.lines(dir .. "/o/fills.csv") > 1)
  end)
end)

describe("the stdlib", function()
  local dir
  before_each(function() dir = T.tmpdir() end)
  after_each(function() T.rmdir(dir) end)

  -- a copy of the binary alone: no stdlib beside it or above it
  local function lone_binary()
    os.execute("mkdir -p " .. T.quote(dir .. "/a/b/c/d/bin") .. " && cp " .. T.quote(T.bin) .. " "
      .. T.quote(dir .. "/a/b/c/d/bin/gantry"))
    day_bars(dir, 20)
    T.write(dir .. "/s.lua", STRATEGY)
    return dir .. "/a/b/c/d/bin/gantry"
  end

  it("is found from GANTRY_STDLIB before anything beside the binary", function()
    local bin = lone_binary()
    local code, _, err = T.sh("cd " .. T.quote(dir) .. " && GANTRY_STDLIB=" .. T.quote(T.root .. "/stdlib") .. " "
      .. T.quote(bin) .. " backtest s.lua --data XYZ.csv --out o --quiet")
    assert.equal(0, code, err)
  end)

  it("missing, names where it was looked for and GANTRY_STDLIB", function()
    local bin = lone_binary()
    local code, _, err = T.sh("cd " .. T.quote(dir) .. " && env -u GANTRY_STDLIB " .. T.quote(bin)
      .. " backtest s.lua --data XYZ.csv --out o --quiet")
    assert.equal(2, code)
    assert.matches("module 'gantry.ta' not found (looked for " .. dir .. "/a/b/c/d/bin/../share/gantry/stdlib/gantry/ta.lua; "
      .. "GANTRY_STDLIB names the stdlib's directory)", err, 1, true)
  end)
end)
