-- Network feeds: gantry paper on a SoupBinTCP feed and on a MoldUDP64 feed
-- from the test peers (spec/peers/feedpeer.c, 127.0.0.1, bounded), replaying
-- a generated ITCH day with injected faults. After every fault the books a
-- strategy sees equal those of the file replay of the same day, the
-- recording (--record) is the day byte for byte (no message skipped or seen
-- twice), and feed health pauses and resumes the strategies.
local T = require "support"

local q = T.quote
local FEEDPEER = T.tools .. "/feedpeer"

-- Follows AAAA and AAAB; counts what it sees; prints its books at the end,
-- and what feed health told it. On the first down it tries an order (the
-- reason it gets is printed); a resting order waits far from the market.
local WATCHER = [[
local S = {}
function S.symbols() return { "AAAA", "AAAB" } end
local n = { books = 0, trades = 0, feed = {}, resting = false, canceled = 0 }
function S.on_book(ctx, b)
  n.books = n.books + 1
  if not n.resting and b.symbol == "AAAA" and b.bid > 0 then
    n.resting = ctx:buy("AAAA", 1, { limit = 0.01 }) and true or false
  end
end
function S.on_trade(ctx, t) n.trades = n.trades + 1 end
function S.on_order(ctx, o) if o.status == "canceled" and o.reason ~= "end_of_data" then n.canceled = n.canceled + 1 end end
-- each status as state:reason, a down with what an order got meanwhile
function S.on_feed(ctx, f)
  local e = f.state .. ":" .. f.reason
  if f.state == "down" then
    local id, why = ctx:buy("AAAA", 1)
    e = e .. "=" .. (id and "accepted" or why)
  end
  n.feed[#n.feed + 1] = e
end
local function side(levels)
  local t = {}
  for _, l in ipairs(levels) do t[#t + 1] = string.format("%.4f/%d/%d", l[1], l[2], l[3]) end
  return table.concat(t, " ")
end
function S.on_stop(ctx)
  for _, s in ipairs({ "AAAA", "AAAB" }) do
    local d = ctx:book(s, 10)
    ctx:log("info", "BOOK %s bids %s asks %s", s, side(d.bids), side(d.asks))
  end
  ctx:log("info", "SEEN books=%d trades=%d", n.books, n.trades)
  ctx:log("info", "FEED %s canceled=%d", table.concat(n.feed, ","), n.canceled)
end
return S]]

describe("network feeds", function()
  local dir, day, strat, peers, h

  -- the day, made once per test (small: 30,000 messages, 20 symbols)
  before_each(function()
    dir = T.tmpdir()
    day = dir .. "/day.itch"
    peers = {}
    local code, _, err = T.sh(q(T.tools .. "/gen_itch") .. " --out " .. q(day) ..
      " --messages 30000 --symbols 20 --live 3000 --seed 7 --truth AAAA --truth-out " .. q(dir .. "/truth"))
    assert.equal(0, code, err)
    strat = T.write(dir .. "/watch.lua", WATCHER)
  end)
  after_each(function()
    T.reap(h)
    for _, pid in ipairs(peers) do os.execute("kill -9 " .. pid .. " 2>/dev/null") end
    T.rmdir(dir)
  end)

  -- feedpeer in the background (its own pid); its stderr in dir/peer.err
  local function peer(args)
    local parts = { "exec", q(FEEDPEER) }
    for _, a in ipairs(args) do parts[#parts + 1] = q(a) end
    parts[#parts + 1] = "--timeout-s 40 2>>" .. q(dir .. "/peer.err")
    local p = io.popen("sh -c " .. q(table.concat(parts, " ")) .. " >/dev/null 2>&1 & echo $!")
    local pid = p:read("l")
    p:close()
    peers[#peers + 1] = pid
    return pid
  end

  local function port_of(file)
    local v = T.wait_for(function() return T.read(file) end, 10)
    assert(v, "the peer never listened: " .. (T.read(dir .. "/peer.err") or ""))
    return tonumber(v:match("%d+"))
  end

  local function udp_port()
    local code, out = T.sh(q(FEEDPEER) .. " udp-port")
    assert.equal(0, code)
    return tonumber(out:match("%d+"))
  end

  -- the lines of the watcher's report in a log
  local function report(err)
    local t = {}
    for l in err:gmatch("[^\n]+") do
      local r = l:match("s?t?r?a?t?%S*: (BOOK .*)") or l:match(": (SEEN .*)") or l:match(": (FEED .*)")
      if r then t[#t + 1] = r end
    end
    return t
  end

  local function file_run()
    local code, _, err = T.gantry({ "paper", strat, "--feed", "file:" .. day, "--out", dir .. "/file",
                                    "--no-report", "--no-watch", "--quiet" }, dir)
    assert.equal(0, code, err)
    return report(err)
  end

  local function net_run(url, name, extra)
    local args = { "paper", strat, "--feed", url, "--record", dir .. "/" .. name .. ".itch",
                   "--out", dir .. "/" .. name, "--ctl", dir .. "/" .. name .. ".sock",
                   "--no-report", "--no-watch", "--quiet" }
    for _, a in ipairs(extra or {}) do args[#args + 1] = a end
    h = T.spawn(args, dir)
    return h
  end

  local function finish(timeout)
    local rc = T.wait_exit(h, timeout or 30)
    return rc, T.read(h.err) or ""
  end

  -- the same books, the same events, the recording is the day
  local function same_as_file(err, name)
    local want, got = file_run(), report(err)
    assert.equal(want[1], got[1], err)
    assert.equal(want[2], got[2])
    assert.truthy(want[1]:match("^BOOK AAAA bids %d"), want[1])
    assert.equal(T.read(day), T.read(dir .. "/" .. name .. ".itch"), "the recording differs from the day")
    -- and the recording replays as the day: gantry itch --book equals the generator's truth
    local code, out = T.gantry({ "itch", dir .. "/" .. name .. ".itch", "--book", "AAAA" }, dir)
    assert.equal(0, code)
    assert.equal(T.read(dir .. "/truth"), out)
  end

  local function feed_line(err) return err:match("FEED ([^\n]*)") or "" end

  describe("SoupBinTCP", function()
    local function soup(extra)
      local pf = dir .. "/soup.port"
      T.write(dir .. "/pass", "s3cret\n")
      os.execute("chmod 600 " .. q(dir .. "/pass"))
      local args = { "soup", "--day", day, "--port-file", pf, "--user", "gantry", "--passfile", dir .. "/pass" }
      for _, a in ipairs(extra or {}) do args[#args + 1] = a end
      peer(args)
      return port_of(pf)
    end

    it("receives a clean session: books equal the file replay's, the recording is the day", function()
      local port = soup()
      -- the password file from the deploy config (feed.passfile)
      local cfg = T.write(dir .. "/deploy.lua", ("return { feed = { passfile = %q } }"):format(dir .. "/pass"))
      net_run(("soup://127.0.0.1:%d?user=gantry&session=TEST000001"):format(port), "s", { "--config", cfg })
      local rc, err = finish()
      assert.equal(0, rc, err)
      same_as_file(err, "s")
      assert.matches("end of session after 30%d%d%d messages", err)
    end)

    it("rides a reset connection, a server restart and a silent link, from the message it needs", function()
      local port = soup({ "--disconnect-at", "5000", "--restart-at", "12000",
                          "--stall-at", "20000", "--stall-ms", "1500", "--batch", "500" })
      net_run(("soup://127.0.0.1:%d?user=gantry&passfile=%s&timeout=0.5&retries=20"):format(port, dir .. "/pass"), "s")
      local rc, err = finish()
      assert.equal(0, rc, err)
      same_as_file(err, "s")
      assert.matches("down %(session_lost%): [^\n]*connection", err) -- closed, or reset
      assert.matches("down %(session_lost%): nothing from the server for 0.5 s", err)
      assert.matches("reconnecting in 0.1 s from message %d+", err)
      assert.matches("reconnecting in 0.2 s from message %d+", err) -- the restart: backoff
      -- the strategies were paused while the session was lost (orders refused), and told
      local f = feed_line(err)
      local _, lost = f:gsub("down:session_lost=feed_unhealthy,up:recovered", "")
      assert.equal(3, lost, f)
      local peer_log = T.read(dir .. "/peer.err")
      for _, w in ipairs({ "disconnect after 5000", "restart after 12000", "stall after 20000" }) do
        assert.matches(w, peer_log, 1, true)
      end
    end)

    it("pauses on a stale feed (heartbeats, no messages, market open), cancels by on_down=cancel, resumes", function()
      -- message 15000 of the day falls in market hours
      local port = soup({ "--quiet-at", "15000", "--quiet-ms", "1500" })
      net_run(("soup://127.0.0.1:%d?user=gantry&passfile=%s&stale=0.5&on_down=cancel"):format(port, dir .. "/pass"), "s")
      local rc, err = finish()
      assert.equal(0, rc, err)
      assert.matches("down %(stale%): no message for 0.%d s while the market is open", err)
      local f = feed_line(err)
      assert.matches("down:stale=feed_unhealthy,up:recovered canceled=1", f, 1, true)
      assert.equal(T.read(day), T.read(dir .. "/s.itch"))
    end)

    it("pauses while a followed book stays crossed (crossed_ms=), resumes when it uncrosses", function()
      -- a small day: AAAA's bid 10.00, then an ask at 9.99 (crossed), a pause, the ask deleted
      local function msg(kind, locate, body)
        return string.pack(">c1I2I2I6", kind, locate, 0, 34200000000000) .. body
      end
      local function S(code) return msg("S", 0, code) end
      local function add(ref, side, price)
        return msg("A", 1, string.pack(">I8c1I4c8I4", ref, side, 100, "AAAA    ", price))
      end
      local dir_msg = msg("R", 1, "AAAA    QN" .. string.pack(">I4", 100) .. "NC  P  1N" .. string.pack(">I4", 0) .. "N")
      local msgs = { S("O"), dir_msg, S("Q"), add(1, "B", 100000), add(2, "S", 99900),
                     msg("D", 1, string.pack(">I8", 2)), add(3, "S", 100100), S("M"), S("C") }
      local framed = {}
      for _, m in ipairs(msgs) do framed[#framed + 1] = string.pack(">s2", m) end
      T.write(day, table.concat(framed))
      T.write(strat, [[
        local S = {}
        function S.symbols() return { "AAAA" } end
        local seen = {}
        function S.on_book(ctx, b) end
        function S.on_feed(ctx, f) seen[#seen + 1] = f.state .. ":" .. f.reason end
        function S.on_stop(ctx) ctx:log("info", "FEED %s", table.concat(seen, ",")) end
        return S]])
      local port = soup({ "--quiet-at", "5", "--quiet-ms", "900", "--batch", "1" })
      net_run(("soup://127.0.0.1:%d?user=gantry&passfile=%s&crossed_ms=200"):format(port, dir .. "/pass"), "s")
      local rc, err = finish()
      assert.equal(0, rc, err)
      assert.matches("down %(crossed%): a followed book crossed for 200 ms", err)
      assert.matches("FEED down:connecting,up:recovered,down:crossed,up:recovered", err, 1, true)
    end)

    it("stops with exit 2 when the login is refused (bad password)", function()
      local port = soup()
      T.write(dir .. "/wrong", "nope\n")
      net_run(("soup://127.0.0.1:%d?user=gantry&passfile=%s"):format(port, dir .. "/wrong"), "s")
      local rc, err = finish()
      assert.equal(2, rc)
      assert.matches("soup://127.0.0.1:%d+: login rejected: not authorized %(check user= and the password in passfile=%)", err)
      assert.not_matches("nope", err)
    end)

    it("refuses a password on the command line, unknown keys and bad values", function()
      local cases = {
        { "soup://127.0.0.1:9?user=u&pass=p", "pass= puts the password on the command line" },
        { "soup://127.0.0.1:9?user=u&pasfile=x", "soup://: unknown key 'pasfile'" },
        { "soup://127.0.0.1:9?timeout=0", "soup://: timeout=0: expected a number from 0.1 to 3600" },
        { "soup://127.0.0.1?user=u", "expected HOST:PORT after soup://" },
        { "soup://127.0.0.1:9?user=u&passfile=" .. dir .. "/none", "passfile=" .. dir .. "/none: No such file" },
        { "soup://127.0.0.1:9?on_down=flatten", "on_down=flatten: expected keep (the default) or cancel" },
        { "mold://127.0.0.1:9?rerequest=nowhere", "mold://: rerequest=nowhere: expected HOST:PORT" },
        { "tcp://127.0.0.1:9", "--feed tcp://127.0.0.1:9: expected file:PATH" },
      }
      for _, c in ipairs(cases) do
        local code, _, err = T.gantry({ "paper", strat, "--feed", c[1], "--out", dir .. "/bad", "--no-report" }, dir)
        assert.equal(2, code, c[1])
        assert.matches(c[2], err, 1, true)
      end
      local cfg = T.write(dir .. "/bad.lua", "return { feed = { passfile = 3 } }")
      local code, _, err = T.gantry({ "paper", strat, "--feed", "soup://127.0.0.1:9?user=u", "--config", cfg,
                                      "--out", dir .. "/bad", "--no-report" }, dir)
      assert.equal(2, code)
      assert.matches("bad.lua: feed.passfile: expected a file name (a string)", err, 1, true)
      code, _, err = T.gantry({ "paper", strat, "--feed", "file:" .. day, "--record", dir .. "/r.itch",
                                      "--out", dir .. "/bad", "--no-report" }, dir)
      assert.equal(2, code)
      assert.matches("--record applies to network feeds (soup://, mold://)", err, 1, true)
      code, _, err = T.gantry({ "paper", strat, "--feed", "soup://127.0.0.1:9?user=u", "--feed", "file:" .. day,
                                "--out", dir .. "/bad", "--no-report" }, dir)
      assert.equal(2, code)
      assert.matches("a network feed is a run's only --feed", err, 1, true)
    end)

    it("gives up after retries= attempts when no server answers (exit 2)", function()
      local port = udp_port() -- nothing listens on it over TCP
      net_run(("soup://127.0.0.1:%d?user=u&retries=2"):format(port), "s")
      local rc, err = finish()
      assert.equal(2, rc)
      assert.matches("gave up after 3 attempts to reach the server %(retries=2%)", err)
    end)
  end)

  describe("MoldUDP64", function()
    local function mold(extra, url_extra)
      local u, r = udp_port(), udp_port()
      net_run(("mold://127.0.0.1:%d?rerequest=127.0.0.1:%d%s"):format(u, r, url_extra or ""), "m")
      T.await_ctl(dir .. "/m.sock", h) -- bound before the first packet
      local args = { "mold", "--day", day, "--to", "127.0.0.1:" .. u, "--rr-port", tostring(r),
                     "--port-file", dir .. "/mold.port", "--delay-ms", "50", "--linger-ms", "2500" }
      for _, a in ipairs(extra or {}) do args[#args + 1] = a end
      peer(args)
    end

    it("receives a clean session: books equal the file replay's", function()
      mold()
      local rc, err = finish()
      assert.equal(0, rc, err)
      same_as_file(err, "m")
      assert.matches("end of session at message 30%d%d%d", err)
    end)

    it("recovers dropped, duplicated, reordered packets and a publisher pause from the re-request server", function()
      mold({ "--drop", "3,40,41,200", "--dup", "7,100", "--swap", "20,300", "--restart-at", "500" })
      local rc, err = finish()
      assert.equal(0, rc, err)
      same_as_file(err, "m")
      assert.matches("down %(gap%): messages %d+ to %d+ missing", err)
      local f = feed_line(err)
      assert.matches("down:gap=feed_unhealthy,up:recovered", f, 1, true)
      assert.matches("re%-request", T.read(dir .. "/peer.err"))
    end)

    it("gives up a gap after retries= re-requests: counted, logged, the feed stays down", function()
      mold({ "--drop", "100", "--deny-rerequest" }, "&retries=2")
      local rc, err = finish()
      assert.equal(0, rc, err)
      assert.matches("ERROR mold: mold://127.0.0.1:%d+: %d+ messages lost: the books are not whole", err)
      assert.matches("down %(gap_lost%): gave up messages %d+ to %d+ after 2 re%-requests", err)
      assert.matches("down:gap_lost=feed_unhealthy canceled=0$", feed_line(err))
      -- what the lost messages leave wrong in the books is warned of, not fatal
      assert.matches("WARN itch: mold://127.0.0.1:%d+: byte %d+: a reference to an order not in the book", err)
      assert.not_equal(T.read(day), T.read(dir .. "/m.itch"))
    end)
  end)
end)
