-- The FIX 4.4 session of gantry live against the QuickFIX acceptor: logon
-- and heartbeats, TestRequest, resends both ways, the too-low MsgSeqNum
-- policy, ResetSeqNumFlag, and a restart of the acceptor. The acceptor's
-- record (spec/peers/README.md) says what it received. HeartBtInt 1 s, every
-- wait bounded.
local T = require("support")
local F = require("fix_support")

local function url(peer)
  return "fix://127.0.0.1:" .. peer.port .. "?sender=HOST&target=EXEC"
end

local n = 0
local function deploy(dir, venue)
  n = n + 1
  return T.write(dir .. "/deploy" .. n .. ".lua", "return { venue = { heartbeat_s = 1, store = '" .. dir
    .. "/store', connect_timeout_s = 1, reconnect_s = 0.2" .. (venue and (", " .. venue) or "") .. " } }\n")
end

-- A strategy that buys 1 XYZ at market on each of the first `k` bars.
local function buyer(dir, k)
  return T.write(dir .. "/buy.lua", ([[
    local S = { params = { symbol = "XYZ" } }
    function S.on_bar(ctx, bar)
      ctx.state.n = (ctx.state.n or 0) + 1
      if ctx.state.n <= %d then ctx:buy("XYZ", 1) end
    end
    return S]]):format(k))
end

local function run(dir, peer, k, venue)
  return T.gantry({ "live", buyer(dir, k), "--feed", "file:" .. dir .. "/XYZ.csv", "--venue", url(peer),
                    "--config", deploy(dir, venue), "--out", dir .. "/out", "--overwrite", "--no-report",
                    "--quiet" }, dir)
end

local function admin(peer, t)
  local out = {}
  for _, r in ipairs(peer:select("admin")) do
    if r.type == t then out[#out + 1] = r end
  end
  return out
end

local function filled(dir)
  local k = 0
  for _, r in ipairs(T.csv(dir .. "/out/orders.csv")) do
    if r.status == "filled" then k = k + 1 end
  end
  return k
end

describe("fix session", function()
  local dir
  before_each(function() dir = T.tmpdir() end)
  after_each(function() F.cleanup(); T.rmdir(dir) end)

  it("logs on, sends a Heartbeat every HeartBtInt and TestRequests, and logs out", function()
    T.day_bars(dir, 3)
    local peer = F.acceptor{ dir = dir, script = "price XYZ 100\n" }
    local sock = dir .. "/ctl.sock"
    local h = T.spawn({ "live", buyer(dir, 1), "--feed", "file:" .. dir .. "/XYZ.csv", "--venue", url(peer),
      "--config", deploy(dir), "--out", dir .. "/out", "--ctl", sock, "--linger", "--no-report", "--quiet" }, dir)
    T.await_ctl(sock, h)
    local ok = T.wait_for(function() return #admin(peer, "0") >= 2 end, 5)
    T.ctl(sock, "stop")
    assert.are.equal(0, T.wait_exit(h, 20), T.read(h.err))
    assert.truthy(ok, T.read(peer.record))
    local logon = peer:select("logon")[1]
    assert.are.equal(1, logon.heartbtint)
    assert.is_false(logon.reset)
    -- the barrier after the order is a TestRequest; the Logout closes the session
    assert.truthy(admin(peer, "1")[1].test_req_id:match("^SYNC%-1$"))
    assert.are.equal(1, #admin(peer, "5"))
    assert.are.equal(1, #peer:select("logout"))
  end)

  it("asks for a resend when the acceptor skips MsgSeqNums and processes what follows in order", function()
    T.day_bars(dir, 4)
    local peer = F.acceptor{ dir = dir, script = "price XYZ 100\ndefault ack fill\nfault gap at=1 count=2\n" }
    local code, _, err = run(dir, peer, 4)
    assert.are.equal(0, code, err)
    local rr = admin(peer, "2")
    assert.are.equal(1, #rr, T.read(peer.record))
    assert.are.equal(0, rr[1]["end"])
    assert.truthy(err:find("gap: expected", 1, true), err)
    assert.are.equal(4, filled(dir))
    assert.are.equal(4, peer:positions().XYZ.qty)
  end)

  it("a connection lost before the fill: after the new logon the fill comes by resend, once", function()
    T.day_bars(dir, 3)
    local peer = F.acceptor{ dir = dir, script = "price XYZ 100\ndefault ack fill\nfault drop at=1 before\n" }
    local code, _, err = run(dir, peer, 3, "reconnect_s = 0.1")
    assert.are.equal(0, code, err)
    assert.truthy(err:find("ResendRequest sent", 1, true), err)
    assert.are.equal(2, #peer:select("logon"))
    assert.are.equal(3, filled(dir))
    assert.are.equal(3, #T.csv(dir .. "/out/fills.csv")) -- each fill once
    assert.are.equal(3, peer:positions().XYZ.qty)
  end)

  it("answers the acceptor's ResendRequest: admin messages gap-filled, orders again with PossDupFlag", function()
    T.day_bars(dir, 4)
    local peer = F.acceptor{ dir = dir, script = "price XYZ 100\ndefault ack fill\nfault resend at=2 begin=1\n" }
    local code, _, err = run(dir, peer, 4)
    assert.are.equal(0, code, err)
    assert.truthy(err:find("ResendRequest 1..", 1, true), err)
    -- what came again, as the acceptor saw it (43=Y): Logon and TestRequests as
    -- SequenceReset-GapFill, the two orders themselves
    local again = peer:select("poss_dup")
    local gaps, orders = 0, {}
    for _, r in ipairs(again) do
      if r.type == "4" then
        assert.is_true(r.gap_fill)
        gaps = gaps + 1
      elseif r.type == "D" then
        orders[#orders + 1] = r.clordid
      end
    end
    assert.is_true(gaps >= 2, T.read(peer.record))
    assert.are.same({ "R1-1-0", "R1-2-0" }, orders)
    assert.are.equal(4, filled(dir))
  end)

  it("gap-fills orders older than resend_max_age_s instead of sending them again", function()
    T.day_bars(dir, 4)
    local peer = F.acceptor{ dir = dir, script = "price XYZ 100\ndefault ack fill\nfault resend at=2 begin=1\n" }
    local code, _, err = run(dir, peer, 4, "resend_max_age_s = 0")
    assert.are.equal(0, code, err)
    local again = peer:select("poss_dup")
    assert.is_true(#again >= 1, T.read(peer.record))
    for _, r in ipairs(again) do assert.are.equal("4", r.type) end
  end)

  it("a MsgSeqNum too low without PossDupFlag: Logout (the FIX rule), then a new logon", function()
    T.day_bars(dir, 4)
    local peer = F.acceptor{ dir = dir, script = "price XYZ 100\ndefault ack fill\nfault lowseq at=1\n" }
    local code, _, err = run(dir, peer, 4)
    assert.are.equal(0, code, err)
    assert.truthy(err:find("MsgSeqNum too low, expecting", 1, true), err)
    assert.is_true(#peer:select("logout") >= 1, T.read(peer.record))
    assert.is_true(#peer:select("logon") >= 2)
    assert.are.equal(4, filled(dir))
  end)

  it("a MsgSeqNum too low with too_low_seq = \"reject\": a session Reject, the session goes on", function()
    T.day_bars(dir, 4)
    local peer = F.acceptor{ dir = dir, script = "price XYZ 100\ndefault ack fill\nfault lowseq at=1\n" }
    local code, _, err = run(dir, peer, 4, "too_low_seq = 'reject'")
    assert.are.equal(0, code, err)
    local rj = admin(peer, "3")
    assert.are.equal(1, #rj, T.read(peer.record))
    assert.truthy(rj[1].text:find("MsgSeqNum too low", 1, true))
    assert.are.equal(1, #peer:select("logon"))
    assert.are.equal(4, filled(dir))
  end)

  it("connects only inside the session schedule", function()
    T.day_bars(dir, 2)
    local peer = F.acceptor{ dir = dir, script = "price XYZ 100\ndefault ack fill\n" }
    local now = os.time()
    local function hhmm(t) return os.date("!%H:%M", t) end
    -- a window that opened an hour ago (UTC, every day): trades
    local code, _, err = run(dir, peer, 1, "schedule = { start = '" .. hhmm(now - 3600) .. "', ['end'] = '"
      .. hhmm(now + 3600) .. "', tz = 'UTC' }")
    assert.are.equal(0, code, err)
    assert.are.equal(1, #peer:select("logon"))
    -- one that opens in two hours: no connection, orders refused
    code, _, err = run(dir, peer, 1, "connect_timeout_s = 0.3, schedule = { start = '" .. hhmm(now + 7200)
      .. "', ['end'] = '" .. hhmm(now + 10800) .. "', tz = 'UTC' }")
    assert.are.equal(0, code, err)
    assert.truthy(err:find("outside the session schedule", 1, true), err)
    assert.are.equal(1, #peer:select("logon"))
    local o = T.csv(dir .. "/out/orders.csv")
    assert.are.equal("venue_down", o[1].reason)
  end)

  it("ResetSeqNumFlag by config: both sides start again at 1", function()
    T.day_bars(dir, 2)
    local peer = F.acceptor{ dir = dir, script = "price XYZ 100\ndefault ack fill\n" }
    assert.are.equal(0, (run(dir, peer, 1)))
    local code, _, err = run(dir, peer, 1, "reset_on_logon = true")
    assert.are.equal(0, code, err)
    local logons = peer:select("logon")
    assert.is_false(logons[1].reset)
    assert.is_true(logons[2].reset)
    assert.are.equal(2, logons[2].in_seq)
  end)

  it("the acceptor is killed and restarted: the host reconnects and the session goes on from the stores", function()
    T.day_bars(dir, 400)
    local peer = F.acceptor{ dir = dir, script = "price XYZ 100\ndefault ack fill\n" }
    local sock = dir .. "/ctl.sock"
    local strat = T.write(dir .. "/two.lua", [[
      local S = { params = { symbol = "XYZ" } }
      function S.on_bar(ctx, bar)
        ctx.state.n = (ctx.state.n or 0) + 1
        if ctx.state.n == 1 or ctx.state.n == 300 then ctx:buy("XYZ", 1) end
      end
      return S]])
    -- the feed waits for the venue up to connect_timeout_s + 2 s: long enough for a restart
    -- on a loaded machine; retries every 0.2 s at most
    local cfg = T.write(dir .. "/restart.lua", "return { venue = { heartbeat_s = 1, store = '" .. dir
      .. "/store', connect_timeout_s = 8, reconnect_s = 0.1, reconnect_max_s = 0.2 } }\n")
    local h = T.spawn({ "live", strat, "--feed", "file:" .. dir .. "/XYZ.csv?speed=8640000", "--venue", url(peer),
      "--config", cfg, "--out", dir .. "/out", "--ctl", sock, "--linger", "--no-report", "--quiet" }, dir)
    T.await_ctl(sock, h)
    assert.truthy(peer:wait_record(function(r) return r.t == "exec" and r.n == 1 end))
    peer:kill()
    T.sleep(0.3)
    peer:restart()
    local back = T.wait_for(function() return #peer:select("logon") >= 2 end, 10)
    local second = T.wait_for(function() return #peer:select("order") >= 2 end, 15)
    T.ctl(sock, "stop")
    assert.are.equal(0, T.wait_exit(h, 20), T.read(h.err))
    assert.truthy(back, T.read(h.err))
    assert.truthy(second, T.read(h.err))
    local logons = peer:select("logon")
    assert.is_false(logons[2].reset)
    assert.is_true(logons[2].in_seq > logons[1].in_seq)
    assert.are.equal(2, peer:positions().XYZ.qty)
    assert.are.equal(2, filled(dir))
  end)
end)
