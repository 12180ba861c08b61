-- The HTTP server of a running host: /metrics (promtool accepts it), the
-- API's tokens and scopes, limits, TLS, and the errors of its config.
local T = require "support"
local H = require "http_support"

local SPEED = tostring(86400 / 0.01) -- a daily bar every 10 ms

describe("http", function()
  local dir, h, port
  before_each(function() dir = T.tmpdir() end)
  after_each(function() H.reap(h, dir .. "/out/ctl.sock"); T.rmdir(dir) end)

  local strategy = [[
    local S = { params = { symbol = "XYZ" } }
    function S.on_bar(ctx, bar)
      if #ctx:orders() < 2 then ctx:buy("XYZ", 1, { limit = 50 }) end
      if not ctx.state.x then ctx.state.x = 1; ctx:buy("XYZ", 5) end
    end
    return S]]

  -- A host with the given http table (Lua text) or flags; returns its port.
  local function start(http, extra, src)
    H.tokens(dir)
    local data = T.day_bars(dir, 300)
    local cfg = T.write(dir .. "/deploy.lua", "return { http = " .. (http or "{}") .. " }")
    local s = T.write(dir .. "/s.lua", src or strategy)
    local args = { "paper", s, "--feed", "file:" .. data .. "?speed=" .. SPEED, "--config", cfg,
                   "--out", dir .. "/out", "--no-report", "--linger" }
    for _, a in ipairs(extra or {}) do args[#args + 1] = a end
    h = T.spawn(args, dir)
    port = H.port(h)
    return port
  end

  local function stop()
    T.ctl(dir .. "/out/ctl.sock", "stop")
    assert.equal(0, T.wait_exit(h))
  end

  it("serves /metrics in the Prometheus text format that promtool accepts", function()
    start('{ listen = "127.0.0.1:0", token_file = "tokens" }')
    T.sleep(0.5)
    local code, body = H.curl(port, "/metrics")
    assert.equal(401, code)
    code, body = H.curl(port, "/metrics", { token = H.READ })
    assert.equal(200, code)
    T.write(dir .. "/m.txt", body)
    local pc, pout, perr = T.sh("promtool check metrics < " .. T.quote(dir .. "/m.txt"))
    assert.equal(0, pc, pout .. perr)
    for _, want in ipairs({
      "# TYPE gantry_events_total counter", "# TYPE gantry_orders_total counter",
      "# TYPE gantry_callback_duration_seconds histogram",
      'gantry_tick_to_order_seconds_bucket{strategy="s",le="1e-06"} ',
      'gantry_tick_to_order_seconds_bucket{strategy="s",le="0.1"} ',
      'gantry_tick_to_order_seconds_bucket{strategy="s",le="+Inf"} ',
      'gantry_position{strategy="s",symbol="XYZ"} 5', 'gantry_rejects_total{reason="max_position"} 0',
      'gantry_strategy_state{strategy="s",state="running"} 1', "gantry_venue_up 1",
      "gantry_feed_last_event_age_seconds ", 'gantry_fills_total{strategy="s"} 1',
      'gantry_sandbox_memory_bytes{strategy="s"} ', "gantry_drawdown_ratio", "gantry_pnl",
      "# TYPE gantry_journal_lag_seconds gauge", "# TYPE gantry_journal_lag_bytes gauge",
    }) do
      assert.matches(want, body, 1, true)
    end
    -- the counters move with the feed
    -- the journal's lag (paper writes one in its out dir): a number, never negative
    local lag = tonumber(body:match("\ngantry_journal_lag_seconds ([%d.e+-]+)"))
    local lagb = tonumber(body:match("\ngantry_journal_lag_bytes ([%d.e+-]+)"))
    assert.truthy(lag and lag >= 0 and lagb and lagb >= 0, body:match("gantry_journal_lag[^\n]*"))
    local ev1 = tonumber(body:match("\ngantry_events_total (%d+)"))
    T.sleep(0.3)
    local _, body2 = H.curl(port, "/metrics", { token = H.READ })
    assert.truthy(tonumber(body2:match("\ngantry_events_total (%d+)")) > ev1)
    local n = tonumber(body2:match('gantry_callback_duration_seconds_count{strategy="s"} (%d+)'))
    assert.truthy(n and n > 0)
    stop()
  end)

  it("escapes label values", function()
    start('{ listen = "127.0.0.1:0", sample = 4 }', nil,
      [[return { name = 'we"ird\\me', params = { symbol = "XYZ" }, on_bar = function() end }]])
    local code, body = H.curl(port, "/metrics")
    assert.equal(200, code) -- no token file: /metrics is open, the API closed
    assert.matches('gantry_strategy_events_total{strategy="we\\"ird\\\\me"}', body, 1, true)
    T.write(dir .. "/m.txt", body)
    assert.equal(0, (T.sh("promtool check metrics < " .. T.quote(dir .. "/m.txt"))))
    -- sample = 4: one event in 4 is timed
    T.sleep(0.5)
    code, body = H.curl(port, "/metrics")
    local ev = tonumber(body:match('gantry_strategy_events_total{strategy="[^\n]-"} (%d+)'))
    local timed = tonumber(body:match('gantry_callback_duration_seconds_count{strategy="[^\n]-"} (%d+)'))
    assert.truthy(ev > 8 and timed > 0 and timed <= ev // 4 + 1, ("%d of %d events timed"):format(timed, ev))
    code, body = H.curl(port, "/api/status", { token = H.ADMIN })
    assert.equal(401, code)
    assert.matches("no token file is configured", body, 1, true)
    stop()
  end)

  it("needs a token of the right scope for each command, and records who issued it", function()
    start('{ listen = "127.0.0.1:0", token_file = "tokens" }')
    local code, body = H.curl(port, "/api/status")
    assert.equal(401, code)
    assert.matches("expected Authorization: Bearer TOKEN", body, 1, true)
    code = H.curl(port, "/api/status", { token = "not-a-token-at-all-0000" })
    assert.equal(401, code)
    code, body = H.curl(port, "/api/status", { token = H.READ })
    assert.equal(200, code)
    assert.matches('"mode": "paper"', body, 1, true)
    assert.matches('"name": "s", "version": 1', body, 1, true)
    -- read may not halt; trade may not halt; risk may
    code, body = H.curl(port, "/api/halt", { token = H.READ, method = "POST" })
    assert.equal(403, code)
    assert.matches("the token's scope (read) does not allow this", body, 1, true)
    assert.equal(403, (H.curl(port, "/api/halt", { token = H.TRADE, method = "POST" })))
    code, body = H.curl(port, "/api/halt?strategy=s", { token = H.RISK, method = "POST" })
    assert.equal(200, code)
    assert.matches('"halted": [{"name": "s"', body, 1, true)
    -- resume is trade's; risk may not resume
    assert.equal(403, (H.curl(port, "/api/resume", { token = H.RISK, method = "POST" })))
    code, body = H.curl(port, "/api/resume", { token = H.TRADE, method = "POST", data = '{"strategy": "s"}' })
    assert.equal(200, code)
    assert.matches('"state": "running"', body, 1, true)
    -- set: a risk limit needs risk, a parameter trade
    assert.equal(403, (H.curl(port, "/api/set", { token = H.TRADE, method = "POST",
      data = '{"key": "risk.max_order_qty", "value": 500}' })))
    code, body = H.curl(port, "/api/set", { token = H.RISK, method = "POST",
      data = '{"key": "risk.max_order_qty", "value": 500}' })
    assert.equal(200, code)
    assert.matches('"old": "none"', body, 1, true)
    code, body = H.curl(port, "/api/set", { token = H.TRADE, method = "POST", data = '{"key": "nope", "value": "1"}' })
    assert.equal(400, code)
    assert.matches("unknown parameter 'nope'", body, 1, true)
    code, body = H.curl(port, "/api/halt?strategy=zz", { token = H.RISK, method = "POST" })
    assert.equal(400, code)
    assert.matches("no strategy named 'zz'", body, 1, true)
    -- history and latency
    T.sleep(1.2)
    code, body = H.curl(port, "/api/history", { token = H.READ })
    assert.equal(200, code)
    assert.matches('"strategies": ["s"], "points": [{"time": ', body, 1, true)
    code, body = H.curl(port, "/api/latency", { token = H.READ })
    assert.equal(200, code)
    assert.matches('"tick_to_order": {"count": ', body, 1, true)
    -- stop is admin's
    assert.equal(403, (H.curl(port, "/api/stop", { token = H.RISK, method = "POST" })))
    code = H.curl(port, "/api/stop", { token = H.ADMIN, method = "POST" })
    assert.equal(200, code)
    assert.equal(0, T.wait_exit(h))
    local err = T.read(h.err)
    assert.truthy(T.logged(err, "WARN api: ", "halt s by ops%-risk %(risk%) from 127%.0%.0%.1: ok"))
    assert.truthy(T.logged(err, "WARN api: ", "refused viewer %(read%) from 127%.0%.0%.1"))
    assert.truthy(T.logged(err, "WARN api: ", "set nope=1 by desk %(trade%) from 127%.0%.0%.1: refused"))
    local audit = T.read(dir .. "/out/audit.jsonl")
    assert.matches('"who": "ops-risk", "scope": "risk", "from": "127.0.0.1", "command": "halt s", "ok": true}', audit, 1, true)
    assert.matches('"who": "root", "scope": "admin", "from": "127.0.0.1", "command": "stop", "ok": true}', audit, 1, true)
    assert.is_nil(audit:find(H.RISK, 1, true)) -- secrets never in the record
    assert.is_nil(err:find(H.RISK, 1, true))
  end)

  it("refuses bad requests: unknown endpoint, wrong method, bad body, too long, too many", function()
    start('{ listen = "127.0.0.1:0", token_file = "tokens", rate = 5 }')
    local code, body = H.curl(port, "/api/nope", { token = H.READ })
    assert.equal(404, code)
    assert.matches("no such endpoint /api/nope", body, 1, true)
    code, body = H.curl(port, "/api/halt", { token = H.RISK })
    assert.equal(405, code)
    assert.matches("/api/halt takes POST", body, 1, true)
    code, body = H.curl(port, "/api/halt", { token = H.RISK, method = "POST", data = '{"strategy": ' })
    assert.equal(400, code)
    code, body = H.curl(port, "/api/halt", { token = H.RISK, method = "POST", data = '{"strategy": "a b"}' })
    assert.equal(400, code)
    assert.matches("expected a strategy's name", body, 1, true)
    code = H.curl(port, "/api/halt", { token = H.RISK, method = "POST", data = '{"strategy": "' .. ("x"):rep(5000) .. '"}' })
    assert.equal(413, code)
    code = H.curl(port, "/nope")
    assert.equal(404, code)
    -- rate 5 a second, burst 10: a burst of 30 is cut
    local url = T.quote("http://127.0.0.1:" .. port .. "/api/status")
    local _, codes = T.sh("curl -s -m 5 -w '%{http_code}\\n' -H " ..
      T.quote("Authorization: Bearer " .. H.READ) .. (" -o /dev/null " .. url):rep(30))
    local limited = select(2, codes:gsub("429", ""))
    assert.truthy(limited >= 10, "only " .. limited .. " of 30 refused")
    T.sleep(1.1)
    assert.equal(200, (H.curl(port, "/api/status", { token = H.READ })))
    stop()
  end)

  it("speaks TLS when given a certificate and a key", function()
    local c = T.sh(("cd %s && openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem " ..
      "-days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1"):format(T.quote(dir)))
    assert.equal(0, c)
    start('{ listen = "127.0.0.1:0", token_file = "tokens", tls = { cert = "cert.pem", key = "key.pem" } }')
    assert.matches("listening on https://127.0.0.1:", T.read(h.err), 1, true)
    local code, body = H.curl(port, "/api/status", { token = H.READ, tls = dir .. "/cert.pem" })
    assert.equal(200, code)
    assert.matches('"ok": true', body, 1, true)
    code = H.curl(port, "/api/status", { token = H.READ }) -- plain HTTP on a TLS port
    assert.is_not.equal(200, code)
    stop()
  end)

  it("--http ADDR turns the server on without a config", function()
    local data = T.day_bars(dir, 50)
    local s = T.write(dir .. "/s.lua", strategy)
    h = T.spawn({ "paper", s, "--feed", "file:" .. data, "--http", "127.0.0.1:0", "--out", dir .. "/out",
                  "--no-report", "--linger" }, dir)
    port = H.port(h)
    assert.equal(200, (H.curl(port, "/metrics")))
    assert.matches("no token file: the API is closed", T.read(h.err), 1, true)
    stop()
  end)

  it("refuses a bad http config or token file with exit 2 and what to do", function()
    local data = T.day_bars(dir, 5)
    local s = T.write(dir .. "/s.lua", strategy)
    local function run(http, tokens, mode)
      local tf = T.write(dir .. "/tokens", tokens or (H.READ .. " read viewer\n"))
      os.execute("chmod " .. (mode or "600") .. " " .. T.quote(tf))
      local cfg = T.write(dir .. "/deploy.lua", "return { http = " .. http .. " }")
      return T.gantry({ "paper", s, "--feed", "file:" .. data, "--config", cfg, "--out", dir .. "/out",
                        "--overwrite", "--no-report" })
    end
    local ok = '{ listen = "127.0.0.1:0", token_file = "tokens" }'
    local cases = {
      { ok, nil, "644", "tokens: the token file is readable or writable by others (mode 644); chmod 600 it" },
      { ok, "short read viewer\n", nil, "tokens:1: a token must have 16 to 128 characters" },
      { ok, H.READ .. " read\n", nil, "tokens:1: expected TOKEN SCOPE NAME (three fields)" },
      { ok, "# c\n" .. H.READ .. " root viewer\n", nil, "tokens:2: unknown scope 'root' (read, trade, risk, admin)" },
      { ok, H.READ .. " read a\n" .. H.READ .. " risk b\n", nil, "tokens:2: the same token as a's" },
      { ok, "\n", nil, "tokens: no token (lines of TOKEN SCOPE NAME)" },
      { '{ listen = "127.0.0.1" }', nil, nil, "http.listen: expected HOST:PORT" },
      { '{ listen = "127.0.0.1:0", tls = { cert = "c.pem" } }', nil, nil, "http.tls: needs both cert and key" },
      { '{ listen = "127.0.0.1:0", tls = { cert = "c.pem", key = "k.pem" } }', nil, nil, "c.pem: cannot read the TLS certificate" },
      { '{ listen = "127.0.0.1:0", port = 1 }', nil, nil, "http: unknown key 'port'" },
      { '{ listen = "127.0.0.1:0", rate = 0 }', nil, nil, "http.rate: expected a number from 1 to 100000" },
      { '{ listen = "127.0.0.1:0", sample = 3 }', nil, nil, "http.sample: expected a power of two (1, 2, 4 ... 1024)" },
      { '{ listen = "127.0.0.1:0", token_file = "missing" }', nil, nil, "missing: cannot open the token file" },
    }
    for _, c in ipairs(cases) do
      local code, _, err = run(c[1], c[2], c[3])
      assert.equal(2, code, c[4])
      assert.matches(c[4], err, 1, true)
      assert.is_nil(err:find(H.READ, 1, true)) -- a secret is never echoed
    end
  end)
end)
