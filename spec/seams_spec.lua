-- The engine's seams (issue 11): one run loop for every feed and venue,
-- paper on an ITCH day, a venue that answers late, and the layers' include
-- direction enforced by the build.
local T = require "support"

local function gen_day(dir)
  local code, _, err = T.sh(table.concat({ T.quote(T.tools .. "/gen_itch"), "--seed 7",
    "--messages 60000 --symbols 8 --live 8000 --out", T.quote(dir .. "/day.itch") }, " "))
  assert.equal(0, code, err)
  return dir .. "/day.itch"
end

local function gen_bars(dir)
  local code, _, err = T.sh(table.concat({ T.quote(T.root .. "/scripts/gen_bars"),
    "--seed 3 --bars 300 --symbols AAPL --out", T.quote(dir) }, " "))
  assert.equal(0, code, err)
  return dir .. "/AAPL.csv"
end

describe("one run loop for every feed", function()
  local dir
  before_each(function() dir = T.tmpdir() end)
  after_each(function() T.rmdir(dir) end)

  it("paper replays an ITCH day with the same fills as its backtest", function()
    local day = gen_day(dir)
    local strat = T.root .. "/strategies/book_imbalance.lua"
    local code, _, err = T.gantry({ "backtest", strat, "--data", day, "--out", dir .. "/bt", "--quiet",
                                    "--no-report" })
    assert.equal(0, code, err)
    code, _, err = T.gantry({ "paper", strat, "--feed", "file:" .. day, "--out", dir .. "/pp",
                              "--no-watch", "--quiet", "--no-report" })
    assert.equal(0, code, err)
    local fills = T.read(dir .. "/bt/fills.csv")
    assert.truthy(#T.lines(dir .. "/bt/fills.csv") > 2, fills)
    assert.equal(fills, T.read(dir .. "/pp/fills.csv"))
    assert.equal(T.read(dir .. "/bt/orders.csv"), T.read(dir .. "/pp/orders.csv"))
    assert.equal(T.read(dir .. "/bt/equity.csv"), T.read(dir .. "/pp/equity.csv"))
  end)

  it("paper refuses two ITCH feeds, naming the file", function()
    local code, _, err = T.gantry({ "paper", T.root .. "/strategies/book_imbalance.lua", "--feed",
      "file:a.itch", "--feed", "file:b.itch", "--out", dir .. "/o" })
    assert.equal(2, code)
    assert.matches("gantry: a.itch: an ITCH file is a run's only --feed", err, 1, true)
  end)
end)

describe("a venue that answers late (--venue async:N)", function()
  local dir
  before_each(function() dir = T.tmpdir() end)
  after_each(function() T.rmdir(dir) end)

  local watcher = [[
    local S = { params = { symbol = "AAPL" }, symbols = { "AAPL" } }
    local seen = {}
    function S.on_bar(ctx, bar)
      local pos = ctx:position("AAPL")
      if #ctx:orders("AAPL") > 0 then return end
      if pos == 0 then ctx:buy("AAPL", 10) else ctx:sell("AAPL", pos) end
    end
    function S.on_order(ctx, o)
      seen[o.id] = (seen[o.id] and seen[o.id] .. ">" or "") .. o.status
    end
    function S.on_stop(ctx)
      local n, pending_first = 0, 0
      for _, path in pairs(seen) do
        n = n + 1
        if path:match("^pending>accepted") then pending_first = pending_first + 1 end
      end
      ctx:log("info", "orders=%d pending_first=%d", n, pending_first)
    end
    return S]]

  it("leaves orders pending for N events; the strategy sees every step and trades on", function()
    local csv = gen_bars(dir)
    local s = T.write(dir .. "/w.lua", watcher)
    local code, _, err = T.gantry({ "backtest", s, "--data", csv, "--venue", "async:3", "--out",
                                    dir .. "/o", "--quiet", "--no-report" })
    assert.equal(0, code, err)
    local n, first = err:match("orders=(%d+) pending_first=(%d+)")
    assert.truthy(n, err)
    assert.truthy(tonumber(n) > 20, err)
    -- every order but a last one cancelled at the end went pending, then accepted
    assert.truthy(tonumber(first) >= tonumber(n) - 1, err)
    local filled = 0
    for _, l in ipairs(T.lines(dir .. "/o/orders.csv")) do
      if l:match(",filled,") then filled = filled + 1 end
    end
    assert.truthy(filled >= tonumber(n) - 1, "filled " .. filled)
    -- the same strategy with the immediate venue: the same number of trades or more
    code, _, err = T.gantry({ "backtest", s, "--data", csv, "--out", dir .. "/o2", "--quiet",
                              "--no-report" })
    assert.equal(0, code, err)
    assert.truthy(tonumber(err:match("orders=(%d+)")) >= tonumber(n), err)
  end)

  it("refuses a venue it does not know, saying which it has", function()
    local csv = gen_bars(dir)
    for _, v in ipairs({ "fix://x", "async:0", "async:x" }) do
      local code, _, err = T.gantry({ "backtest", T.root .. "/strategies/sma_cross.lua", "--data", csv,
                                      "--venue", v, "--out", dir .. "/o" })
      assert.equal(2, code)
      assert.matches("gantry: --venue " .. v .. ": expected sim (this build's venue) or async:N", err, 1, true)
    end
  end)
end)

describe("layers", function()
  local dir
  before_each(function() dir = T.tmpdir() end)
  after_each(function() T.rmdir(dir) end)

  local function layer_flags(layer)
    local p = io.popen("make -s --no-print-directory layer-flags LAYER=" .. layer)
    local f = p:read("a"):gsub("%s+$", "")
    p:close()
    return f
  end

  it("an include that points up does not compile", function()
    local src = T.write(dir .. "/up.c", '#include "engine.h"\nint up_unused(void);\n')
    local code, _, err = T.sh("cc " .. layer_flags("core") .. " -fsyntax-only " .. T.quote(src))
    assert.is_not.equal(0, code)
    assert.matches("engine.h: No such file or directory", err, 1, true)
    -- the same file, compiled as the engine layer, does
    code, _, err = T.sh("cc " .. layer_flags("engine") .. " -fsyntax-only " .. T.quote(src))
    assert.equal(0, code, err)
  end)

  it("the checker names the file and the include that points up", function()
    local code, out = T.sh("scripts/check_layers.sh")
    assert.equal(0, code, out)
    assert.matches("^%d+ passed, 0 failed\n$", out)
    os.execute("cp -r host bindings " .. T.quote(dir))
    T.write(dir .. "/host/core/oms_up.c", '#include "oms.h"\n#include "engine.h"\n')
    code, out = T.sh("scripts/check_layers.sh " .. T.quote(dir))
    assert.equal(1, code)
    assert.matches("FAIL host/core/oms_up.c: includes engine.h from engine, a layer above core", out, 1, true)
    assert.matches("%d+ passed, 1 failed", out)
  end)
end)
