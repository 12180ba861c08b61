-- The crash torture test (issue 14): a busy paper host killed with SIGKILL at
-- 100 seeded random instants and restarted on its journal each time
-- (build/tools/crash_torture). After every restart its cash, positions and
-- working orders equal those of an uninterrupted run at the same feed
-- position (each host writes one digest line after recovery and after every
-- event: GANTRY_JOURNAL_DIGEST), the simulator's replay agreed with every
-- journaled acknowledgement and fill (a difference would halt the strategy:
-- the log says "recovery:"), no order id was ever sent twice, and the files
-- at the end are the uninterrupted run's.
--
-- It runs the release binary of the VM under test when there is one
-- (./gantry, built by make test; ./gantry-luajit): a hundred starts of the
-- sanitized build cost a minute of ASan start-up alone. spec/journal_spec.lua
-- restarts the sanitized build.
local T = require "support"

local function bin()
  local rel = T.root .. (T.luajit and "/gantry-luajit" or "/gantry")
  local f = io.open(rel, "r")
  if f then f:close(); return rel end
  return T.bin
end

-- "POS WHY | ..." lines by position: event lines, and the stop's.
local function digests(path)
  local ev, stop, all, torn = {}, {}, {}, 0
  for l in io.lines(path) do
    -- a SIGKILL can cut the host's one write() of a line short (the kernel
    -- stops a write at a page boundary for a fatal signal): the next run's
    -- "recovered" line then follows the torn one on the same line, where its
    -- position cannot be told from the torn digits: both are dropped, counted
    if l:find(" recovered | ", 1, true) and not l:match("^%d+ recovered | ") then
      torn = torn + 1
      goto next
    end
    local pos, why, rest = l:match("^(%d+) (%a+) (.*)$")
    assert(pos, "a digest line without its position: " .. l)
    all[#all + 1] = { pos = pos, why = why, rest = rest }
    if why == "stop" then stop[pos] = rest elseif why == "event" then ev[pos] = rest end
    ::next::
  end
  return ev, stop, all, torn
end

local function without_ids(path)
  local out = {}
  for l in io.lines(path) do -- time,symbol,side,qty,price,order_id,fee
    out[#out + 1] = l:gsub("^([^,]*,[^,]*,[^,]*,[^,]*,[^,]*),[^,]*,", "%1,,")
  end
  return table.concat(out, "\n")
end

describe("journal crash torture", function()
  local dir
  before_each(function() dir = T.tmpdir() end)
  after_each(function() T.rmdir(dir) end)

  it("comes back exact after 100 SIGKILLs, never sending an order twice", function()
    os.execute("mkdir -p " .. T.quote(dir .. "/data"))
    T.gen_bars(dir .. "/data", "--bars 12000 --symbols AAA,BBB,CCC --seed 5")
    local strategy = T.root .. "/spec/fixtures/journal/busy.lua"
    local base = {}
    for _, a in ipairs({ "paper", strategy, "--feed", "file:" .. dir .. "/data/AAA.csv",
      "--feed", "file:" .. dir .. "/data/BBB.csv", "--feed", "file:" .. dir .. "/data/CCC.csv",
      "--no-report", "--quiet", "--no-watch", "--callback-ms", "5000" }) do
      base[#base + 1] = a
    end
    local function args(out)
      local t = { table.unpack(base) }
      t[#t + 1] = "--out"; t[#t + 1] = out
      return t
    end
    -- the uninterrupted run
    local code, _, err = T.gantry(args(dir .. "/ref"), dir,
      "GANTRY_JOURNAL_DIGEST=" .. T.quote(dir .. "/ref.dig"), bin())
    assert.are.equal(0, code, err)
    -- the tortured one
    local cmd = { T.quote(T.tools .. "/crash_torture"), "100", "20261207", "0", "10",
      T.quote(dir .. "/run.log"), T.quote(dir .. "/run.dig"), "--", T.quote(bin()) }
    for _, a in ipairs(args(dir .. "/run")) do cmd[#cmd + 1] = T.quote(a) end
    local tc, tout, terr = T.sh("GANTRY_JOURNAL_DIGEST=" .. T.quote(dir .. "/run.dig") .. " "
      .. table.concat(cmd, " "), dir)
    assert.are.equal(0, tc, tout .. terr .. (T.read(dir .. "/run.log") or ""):sub(-3000))
    assert.matches("kills 100, final exit 0", tout)

    -- every line a restarted host wrote is the uninterrupted run's at its position
    local ev, stop, _ = digests(dir .. "/ref.dig")
    local _, _, lines, torn = digests(dir .. "/run.dig")
    local recovered, checked, bad = 0, 0, {}
    for _, d in ipairs(lines) do
      local want = d.why == "stop" and stop[d.pos] or ev[d.pos]
      if d.why == "recovered" then
        recovered = recovered + 1
        if stop[d.pos] == d.rest then want = d.rest end -- restarted after the clean stop
      end
      checked = checked + 1
      if want ~= d.rest and #bad < 3 then
        bad[#bad + 1] = d.pos .. " " .. d.why .. "\n  got  " .. d.rest .. "\n  want " .. tostring(want)
      end
    end
    assert.are.same({}, bad)
    -- every restart recovered before it was killed; a run that ended by itself
    -- before its kill instant (a fast host near the feed's end) is started again
    -- and recovers once more
    local early = select(2, tout:gsub("\nrun %d+: exit %d+ before its kill", ""))
      + (tout:match("^run %d+: exit %d+ before its kill") and 1 or 0)
    assert.are.equal(100 + early, recovered + torn)
    assert.is_true(torn <= 5, torn .. " torn digest lines")
    assert.is_true(checked > 6000)
    local log = T.read(dir .. "/run.log")
    assert.is_nil(log:find("recovery: ", 1, true))
    assert.is_nil(log:find("failed in", 1, true))
    assert.are.equal(101 + early, select(2, log:gsub("INFO journal: recovered: ", "")) + 1)

    -- no order id sent twice (the journal across all 101 runs)
    local c2, dump = T.gantry({ "journal", dir .. "/run/journal", "--dump" }, dir, nil, bin())
    assert.are.equal(0, c2)
    local sent, dups, n, voids = {}, 0, 0, 0
    for l in dump:gmatch("[^\n]+") do
      if l:find('"type": "sent"', 1, true) then
        local id = l:match('"order_id": (%d+)')
        n = n + 1
        if sent[id] then dups = dups + 1 end
        sent[id] = true
      elseif l:find('"type": "void"', 1, true) then
        voids = voids + 1
      end
    end
    assert.are.equal(0, dups)
    assert.is_true(n > 3000, "a busy run: " .. n .. " orders sent")
    local v = T.gantry({ "journal", dir .. "/run/journal", "--verify" }, dir, nil, bin())
    assert.are.equal(0, v)

    -- the files at the end: the uninterrupted run's fills (order ids aside: a
    -- voided event burns the ids it had taken) and final figures
    assert.are.equal(without_ids(dir .. "/ref/fills.csv"), without_ids(dir .. "/run/fills.csv"))
    local a, b = T.json(T.read(dir .. "/ref/summary.json")), T.json(T.read(dir .. "/run/summary.json"))
    assert.are.equal(a.final_equity, b.final_equity)
    assert.are.equal(a.fills, b.fills)
    print(("\n    crash torture: %d kills, %d restarts checked, %d digest lines, %d orders sent, %d events voided"):format(
      100, recovered, checked, n, voids))
  end)
end)
