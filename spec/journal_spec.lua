-- The journal (issue 14): what a paper host writes, `gantry journal --dump,
-- --verify, --stats` on it, torn and damaged records, the flags and config
-- keys, and recovery with the sanitized build: halts, `ctl set`s, ctx.state
-- and orders come back after a SIGKILL. The crash torture test is
-- spec/journal_crash_spec.lua; the format's C tests spec/c/test_journal.c.
local T = require "support"

local STRAT = T.root .. "/spec/fixtures/journal/busy.lua"

-- Control commands through the release binary when there is one: each start
-- of the sanitized build costs ASan's set-up (the host under test is still
-- the binary under test).
local CTL_BIN = (not T.luajit and io.open(T.root .. "/gantry", "r")) and (T.root .. "/gantry") or T.bin
local function ctl(sock, ...)
  return T.gantry({ "ctl", sock, ... }, nil, nil, CTL_BIN)
end
local function await_ctl(sock, h)
  assert(T.wait_for(function() return ctl(sock, "status") == 0 end, 10),
    "the control socket never answered: " .. (T.read(h.err) or ""))
end

local function segs(dir)
  local p = io.popen("ls " .. T.quote(dir) .. " | sort")
  local t = {}
  for l in p:lines() do t[#t + 1] = l end
  p:close()
  return t
end

local function size(path)
  local f = assert(io.open(path, "rb"))
  local n = f:seek("end")
  f:close()
  return n
end

describe("gantry journal", function()
  local dir, data
  before_each(function()
    dir = T.tmpdir()
    os.execute("mkdir -p " .. T.quote(dir .. "/data"))
    T.gen_bars(dir .. "/data", "--bars 150 --symbols AAA,BBB --seed 2")
    data = { "--feed", "file:" .. dir .. "/data/AAA.csv", "--feed", "file:" .. dir .. "/data/BBB.csv" }
  end)
  after_each(function() T.rmdir(dir) end)

  local function paper(out, extra)
    local args = { "paper", STRAT, "--out", dir .. "/" .. out, "--no-report", "--quiet",
      "--no-watch", "--callback-ms", "5000" }
    for _, a in ipairs(data) do args[#args + 1] = a end
    for _, a in ipairs(extra or {}) do args[#args + 1] = a end
    return T.gantry(args, dir)
  end

  it("is written by paper into OUT/journal and dumped as JSON lines", function()
    local code, _, err = paper("p")
    assert.are.equal(0, code, err)
    assert.are.same({ "00000001.gjl" }, segs(dir .. "/p/journal"))
    local c, out = T.gantry({ "journal", dir .. "/p/journal", "--dump" }, dir)
    assert.are.equal(0, c)
    local types, lines, seq = {}, 0, 0
    for l in out:gmatch("[^\n]+") do
      lines = lines + 1
      local s = tonumber(l:match('^{"seq": (%d+)'))
      assert.are.equal(seq + 1, s)
      seq = s
      types[l:match('"type": "([%a_]+)"')] = true
    end
    for _, t in ipairs({ "load", "txn_begin", "sent", "acknowledged", "fill", "filled",
      "cancel_requested", "cancelled", "risk_refused", "txn_end", "snapshot", "cancel_all" }) do
      assert.is_true(types[t] == true, "no " .. t .. " record")
    end
    assert.matches('"type": "load", "who": "host", "strategy": "busy", "version": 1, "hash": "%x+"', out)
    assert.matches('"type": "sent", "who": "strategy", "strategy": "busy".-"symbol": "[AB]+", "side": "%a+"', out)
    local s = T.json(select(2, T.gantry({ "journal", dir .. "/p/journal", "--stats" }, dir)))
    assert.are.equal(lines, s.records)
    assert.are.equal(1, s.segments)
    assert.are.equal(lines, s.last_seq)
    assert.are.equal(size(dir .. "/p/journal/00000001.gjl"), s.bytes)
    local v, vout = T.gantry({ "journal", dir .. "/p/journal", "--verify" }, dir)
    assert.are.equal(0, v)
    assert.matches("ok: " .. lines .. " records in 1 segments, seq 1%.%." .. lines, vout)
    -- --overwrite replaces the out dir's journal with its other files
    local o, _, oerr = paper("p", { "--overwrite" })
    assert.are.equal(0, o, oerr)
    assert.matches("journal: --overwrite: 1 segments of the earlier run removed", oerr, 1, true)
    assert.are.same({ "00000001.gjl" }, segs(dir .. "/p/journal"))
    assert.are.equal(lines, T.json(select(2, T.gantry({ "journal", dir .. "/p/journal", "--stats" }, dir))).records)
  end)

  it("reports a torn last record and cuts it, and names a damaged one's offset", function()
    assert.are.equal(0, (paper("p")))
    local seg = dir .. "/p/journal/00000001.gjl"
    local full = size(seg)
    os.execute("truncate -s " .. (full - 5) .. " " .. T.quote(seg))
    local c, out, err = T.gantry({ "journal", dir .. "/p/journal", "--verify" }, dir)
    assert.are.equal(0, c, err)
    assert.matches("WARN journal: .-00000001%.gjl: torn last record at offset %d+ %(%d+ bytes: a record running past the end of the file%): cut", err)
    assert.matches("%(a torn last record cut%)", out)
    -- a host resuming on it cuts the tail and goes on in a new segment
    local r, _, rerr = paper("p", { "--resume" })
    assert.are.equal(0, r, rerr)
    assert.matches("torn last record at offset %d+", rerr)
    assert.is_true(size(seg) < full - 5)
    assert.are.equal(0, (T.gantry({ "journal", dir .. "/p/journal", "--verify" }, dir)))
    -- a damaged record with data after it: an error naming the offset, exit 1
    local f = assert(io.open(seg, "r+b"))
    f:seek("set", 16 + 45) -- inside the first record's payload
    local b = f:read(1)
    f:seek("set", 16 + 45)
    f:write(string.char((b:byte() + 1) % 256))
    f:close()
    c, out, err = T.gantry({ "journal", dir .. "/p/journal", "--verify" }, dir)
    assert.are.equal(1, c)
    assert.matches("gantry: .-/p/journal/00000001%.gjl: damaged record at offset 16: its CRC does not match", err)
    c, _, err = T.gantry({ "journal", dir .. "/p/journal", "--dump" }, dir)
    assert.are.equal(1, c)
    -- and a host refuses to start on it
    c, _, err = paper("p", { "--resume" })
    assert.are.equal(2, c)
    assert.matches("damaged record at offset 16", err)
  end)

  it("refuses bad usage and what is not a journal, naming it", function()
    local cases = {
      { {}, "gantry: journal: which directory%?" },
      { { dir }, "gantry: journal: what to do%? %-%-dump, %-%-verify or %-%-stats" },
      { { dir, "--dump", "--stats" }, "gantry: journal: choose one of %-%-dump, %-%-verify, %-%-stats" },
      { { dir, "--dmup" }, "gantry: journal: unknown option '%-%-dmup'" },
      { { dir .. "/nope", "--verify" }, "gantry: /.-/nope: No such file or directory" },
      { { dir .. "/data", "--verify" }, "gantry: /.-/data: no journal segments here" },
      { { dir .. "/data/AAA.csv", "--stats" }, "gantry: /.-/AAA%.csv: not a directory" },
    }
    for _, k in ipairs(cases) do
      local args = { "journal" }
      for _, a in ipairs(k[1]) do args[#args + 1] = a end
      local c, _, err = T.gantry(args, dir)
      assert.are.equal(2, c)
      assert.matches(k[2], err)
    end
    -- a segment that is not one
    os.execute("mkdir -p " .. T.quote(dir .. "/j"))
    T.write(dir .. "/j/00000001.gjl", "not a journal at all, just words\n")
    local c, _, err = T.gantry({ "journal", dir .. "/j", "--verify" }, dir)
    assert.are.equal(1, c)
    assert.matches("00000001%.gjl: offset 0: not a gantry journal segment", err)
  end)

  it("takes --journal, --journal-fsync and the config's journal table, and checks them", function()
    local c, _, err = paper("p", { "--journal-fsync", "sometimes" })
    assert.are.equal(2, c)
    assert.matches("%-%-journal%-fsync: journal fsync 'sometimes': expected always, group, group:N%[us|ms%]", err)
    c, _, err = paper("q", { "--snapshot-every", "x" })
    assert.are.equal(2, c)
    assert.matches("%-%-snapshot%-every x: expected a whole number of events", err)
    T.write(dir .. "/bad.lua", 'return { journal = { dir = "j", fsnyc = "off" } }')
    c, _, err = paper("r", { "--config", dir .. "/bad.lua" })
    assert.are.equal(2, c)
    assert.matches("bad%.lua: journal: unknown key 'fsnyc' %(known: dir, fsync, segment_mb, compress, snapshot_every%)", err)
    T.write(dir .. "/bad2.lua", 'return { journal = 7 }')
    c, _, err = paper("r2", { "--config", dir .. "/bad2.lua" })
    assert.are.equal(2, c)
    assert.matches("bad2%.lua: journal: expected a directory %(a string%) or a table", err)
    T.write(dir .. "/ok.lua", ('return { journal = { dir = %q, fsync = "group:1ms", segment_mb = 1, compress = true, snapshot_every = 50 } }'):format(dir .. "/cj"))
    c, _, err = paper("s", { "--config", dir .. "/ok.lua" })
    assert.are.equal(0, c, err)
    assert.matches("INFO journal: .-/cj %(fsync group%)", err)
    local s = T.json(select(2, T.gantry({ "journal", dir .. "/cj", "--stats" }, dir)))
    assert.is_true(s.records > 50)
    local _, dump = T.gantry({ "journal", dir .. "/cj", "--dump" }, dir)
    local snaps = select(2, dump:gsub('"type": "snapshot"', ""))
    assert.are.equal(math.floor(300 / 50) + 1, snaps) -- every 50 events, and at the stop
    -- a backtest journals only when asked, and never onto an old journal
    local bt = { "backtest", STRAT, "--data", dir .. "/data/AAA.csv", "--out", dir .. "/bt",
      "--no-report", "--quiet", "--journal", dir .. "/btj" }
    c, _, err = T.gantry(bt, dir)
    assert.are.equal(0, c, err)
    assert.are.equal(0, (T.gantry({ "journal", dir .. "/btj", "--verify" }, dir)))
    bt[6] = dir .. "/bt2"
    c, _, err = T.gantry(bt, dir)
    assert.are.equal(2, c)
    assert.matches("btj: already holds a journal; a backtest starts a new one", err)
    -- nor does paper start on one without --resume
    c, _, err = paper("t", { "--journal", dir .. "/btj" })
    assert.are.equal(2, c)
    assert.matches("btj: holds the journal of an earlier run; %-%-resume recovers from it", err)
  end)

  it("refuses to recover onto other strategies, other data or a venue it cannot replay", function()
    assert.are.equal(0, (paper("p")))
    -- another strategy on the same out dir
    local other = T.write(dir .. "/other.lua", "return { name = 'other', on_bar = function() end }")
    local args = { "paper", other, "--out", dir .. "/p", "--no-report", "--quiet", "--no-watch", "--resume" }
    for _, a in ipairs(data) do args[#args + 1] = a end
    local c, _, err = T.gantry(args, dir)
    assert.are.equal(2, c)
    assert.matches("the journal's strategy 0 is 'busy'; this host's is 'other': a journal belongs to the strategies that wrote it", err, 1, true)
    -- less data than the journal went through
    os.execute("head -n 101 " .. T.quote(dir .. "/data/AAA.csv") .. " > " .. T.quote(dir .. "/AAA.csv"))
    c, _, err = T.gantry({ "paper", STRAT, "--out", dir .. "/p", "--no-report", "--quiet", "--no-watch",
      "--resume", "--feed", "file:" .. dir .. "/AAA.csv" }, dir)
    assert.are.equal(2, c)
    assert.matches("where the feed ends: it was written over other data", err, 1, true)
    -- a venue whose state cannot be rebuilt by replay
    c, _, err = paper("p", { "--resume", "--venue", "async:1" })
    assert.are.equal(2, c)
    assert.matches("recovery needs a venue it can replay (sim) or ask (reconcile); venue 'async' can do neither yet", err, 1, true)
    -- and config values out of range, each named
    for _, k in ipairs({ { "segment_mb = 0", "journal.segment_mb: expected a size in MB from 1 to 1024" },
      { "snapshot_every = -1", "journal.snapshot_every: expected a whole number of events" },
      { 'compress = "yes"', "journal.compress: expected true or false" },
      { "fsync = 5", "journal.fsync: expected a string" } }) do
      T.write(dir .. "/c.lua", "return { journal = { " .. k[1] .. " } }")
      c, _, err = paper("cfg", { "--config", dir .. "/c.lua" })
      assert.are.equal(2, c)
      assert.matches("c.lua: " .. k[2], err, 1, true)
    end
  end)

  it("brings back halts, ctl sets, ctx.state and working orders after SIGKILL", function()
    local sock = dir .. "/ctl.sock"
    local args = { "paper", STRAT, "--out", dir .. "/p", "--ctl", sock, "--no-report",
      "--no-watch", "--callback-ms", "5000", "--linger", "--snapshot-every", "100" }
    for _, a in ipairs(data) do args[#args + 1] = a end
    local h = T.spawn(args, dir)
    await_ctl(sock, h)
    assert.is_truthy(T.wait_for(function()
      local _, out = ctl(sock, "status")
      return out:find('"feed": "done"', 1, true)
    end, 20))
    local sc, so, se = ctl(sock, "set", "busy.qty=7")
    assert.are.equal(0, sc, so .. se)
    assert.are.equal(0, (ctl(sock, "halt", "busy")))
    local _, before = ctl(sock, "status")
    -- the host itself (h.pid is the shell around it): its pid is in the out dir's lock
    local pid = assert(tonumber((T.read(dir .. "/p/.lock") or ""):match("%d+")), "no lock")
    os.execute("kill -9 " .. pid)
    assert.are.equal(137, T.wait_exit(h, 10))
    -- the restart: everything from the journal, nothing sent again
    local h2 = T.spawn((function()
      local a = { table.unpack(args) }
      a[#a + 1] = "--resume"
      return a
    end)(), dir)
    await_ctl(sock, h2)
    local _, after = ctl(sock, "status")
    assert.are.equal(0, (ctl(sock, "stop")))
    assert.are.equal(0, T.wait_exit(h2, 20), T.read(h2.err))
    local err = T.read(h2.err)
    assert.matches('"state": "halted"', after)
    assert.matches('"reason": "operator"', after)
    assert.matches('"qty": 7', after)
    assert.matches("INFO journal: recovered: %d+ orders %(%d+ working%), %d+ fills, resumed after event 300", err)
    assert.matches("start 2 after 300 bars", err) -- ctx.state from the last snapshot
    -- the same positions, cash and orders as before the kill
    local function part(s, key) return s:match('"' .. key .. '": (%b[])') or s:match('"' .. key .. '": (%b{})') end
    assert.are.equal(part(before, "positions"), part(after, "positions"))
    local _, dump = T.gantry({ "journal", dir .. "/p/journal", "--dump" }, dir)
    local sent = {}
    for id in dump:gmatch('"type": "sent"[^\n]-"order_id": (%d+)') do
      assert.is_nil(sent[id], "order " .. id .. " sent twice")
      sent[id] = true
    end
    assert.matches('"type": "halt", "who": "operator"', dump)
    assert.matches('"type": "param_change", "who": "operator", "key": "busy.qty", "old": "10", "new": "7"', dump)
    assert.matches('"type": "operator", "who": "operator", "command": "halt busy", "by": "ctl %(uid %d+%)"', dump)
    assert.matches('"type": "recovered"', dump)
  end)
end)

describe("journal fuzzing", function()
  it("survives the seed corpus and 20000 mutated inputs (make fuzz-journal-smoke)", function()
    local p = io.popen("make -s --no-print-directory fuzz-journal-smoke 2>&1; echo \"exit=$?\"")
    local out = p:read("a")
    p:close()
    assert.matches("exit=0", out, out)
    assert.matches("number_of_executed_units: 20000", out)
  end)
end)
