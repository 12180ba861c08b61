-- Alert rules on a running host: a stale feed and a drawdown each reach a
-- local webhook within 5 s of their cause (RTS 6 Art. 16), the drawdown rule
-- halts the strategy, and a failing webhook is retried while events flow.
local T = require "support"
local H = require "http_support"

describe("alerts", function()
  local dir, h, sink
  before_each(function() dir = T.tmpdir() end)
  after_each(function()
    H.reap(h, dir .. "/out/ctl.sock"); if sink then H.kill(sink.pid) end; sink = nil; T.rmdir(dir)
  end)

  it("a drawdown and a stale feed reach the webhook within 5 s; the drawdown halts", function()
    -- one day of data every 0.25 s of wall time; the price halves at day 6;
    -- no data from day 12 to day 30 (4.5 s): the feed goes stale
    local list = {}
    for d = 0, 11 do list[#list + 1] = { d, d < 6 and 100 or 50 } end
    for d = 30, 33 do list[#list + 1] = { d, 50 } end
    local data = H.bars(dir, list)
    sink = H.sink(dir)
    local cfg = T.write(dir .. "/deploy.lua", ([[
      return {
        http = { listen = "127.0.0.1:0", token_file = "tokens" },
        alerts = {
          webhook = { url = "http://127.0.0.1:%d/hook", timeout = 2, retries = 3 },
          rules = {
            { name = "dd", when = "drawdown", over = 0.05, severity = "critical",
              actions = { "log", "webhook", "halt" } },
            { name = "stale", when = "feed_stale", over = 1.5, actions = "log,webhook" },
          },
        },
      }]]):format(sink.port))
    H.tokens(dir)
    local s = T.write(dir .. "/s.lua", [[
      local S = { params = { symbol = "XYZ" } }
      function S.on_bar(ctx, bar)
        if not ctx.state.bought then ctx.state.bought = true; ctx:buy("XYZ", 900) end
        if bar.close < 60 and not ctx.state.crash then ctx.state.crash = true; ctx:log("info", "crash seen") end
        ctx.state.n = (ctx.state.n or 0) + 1
        if ctx.state.n == 12 then ctx:log("info", "last bar before the gap") end
      end
      return S]])
    h = T.spawn({ "paper", s, "--feed", "file:" .. data .. "?speed=345600", "--config", cfg,
                  "--out", dir .. "/out", "--no-report", "--linger" }, dir)
    local port = H.port(h)
    -- both alerts, and the stale one's recovery once data comes again
    assert.truthy(T.wait_for(function()
      local n = 0
      for _, l in ipairs(H.sink_lines(sink)) do if l.body:find('"status": "resolved"', 1, true) then n = n + 1 end end
      return n >= 1
    end, 20), "no recovery notice: " .. (T.read(sink.log) or "") .. (T.read(h.err) or ""))
    local err = T.read(h.err)
    local crash = H.iso_ms(err:match("(%S+) INFO s: crash seen"))
    local gap = H.iso_ms(err:match("(%S+) INFO s: last bar before the gap"))
    local dd, stale, resolved
    for _, l in ipairs(H.sink_lines(sink)) do
      if l.body:find('"rule": "dd"', 1, true) and l.body:find('"status": "firing"', 1, true) then dd = dd or l end
      if l.body:find('"rule": "stale"', 1, true) and l.body:find('"status": "firing"', 1, true) then stale = stale or l end
      if l.body:find('"rule": "stale"', 1, true) and l.body:find('"status": "resolved"', 1, true) then resolved = l end
    end
    assert.truthy(dd, "no drawdown alert")
    assert.truthy(stale, "no stale-feed alert")
    assert.truthy(resolved)
    local dd_delay, stale_delay = dd.ms - crash, stale.ms - (gap + 1500)
    print(("\n    drawdown alert %d ms after the crash; stale alert %d ms after the feed went stale"):format(dd_delay, stale_delay))
    assert.truthy(dd_delay >= 0 and dd_delay < 5000, "drawdown alert after " .. dd_delay .. " ms")
    assert.truthy(stale_delay >= 0 and stale_delay < 5000, "stale alert after " .. stale_delay .. " ms")
    assert.matches('"severity": "critical"', dd.body, 1, true)
    assert.matches('"when": "drawdown"', dd.body, 1, true)
    -- deduplicated while true: one firing notice per rule
    local fired = 0
    for _, l in ipairs(H.sink_lines(sink)) do if l.body:find('"rule": "dd", "status": "firing"', 1, true) then fired = fired + 1 end end
    assert.equal(1, fired)
    -- the drawdown rule halted the strategy
    local code, st = H.curl(port, "/api/status", { token = H.READ })
    assert.equal(200, code)
    assert.matches('"state": "halted", "reason": "alert dd"', st, 1, true)
    assert.truthy(T.logged(err, "ERROR alert: ", "FIRING critical: dd s: drawdown"))
    code, st = H.curl(port, "/api/alerts", { token = H.READ })
    assert.equal(200, code)
    assert.matches('"active": [{"rule": "dd", "strategy": "s"', st, 1, true)
    assert.matches('"status": "resolved"', st, 1, true)
    assert.equal(0, (T.ctl(dir .. "/out/ctl.sock", "stop")))
    assert.equal(0, T.wait_exit(h))
  end)

  it("a failing webhook (closed, then 500) is retried with backoff while events keep flowing", function()
    local list = {}
    for d = 0, 99 do list[#list + 1] = { d, 100 } end
    local data = H.bars(dir, list)
    sink = H.sink(dir, "--close 1 --fail 2")
    local cfg = T.write(dir .. "/deploy.lua", ([[
      return { alerts = {
        webhook = { url = "http://127.0.0.1:%d/hook", timeout = 1, retries = 5,
                    template = '{"text": "{{severity}} {{summary}}", "rule": "{{rule}}"}' },
        rules = { { name = "mem", when = "memory", over = 0.000001, actions = { "webhook" } } } } }]]):format(sink.port))
    -- each bar logged: the log's wall times say whether events flowed during the retries
    local s = T.write(dir .. "/s.lua", [[return { params = { symbol = 'XYZ' },
      on_bar = function(ctx, bar) ctx:log("info", "bar %.0f", bar.close) end }]])
    -- 100 days at 0.04 s each: 4 s of events
    h = T.spawn({ "paper", s, "--feed", "file:" .. data .. "?speed=2160000", "--config", cfg,
                  "--out", dir .. "/out", "--no-report" }, dir)
    assert.equal(0, T.wait_exit(h, 30))
    local lines = H.sink_lines(sink)
    assert.equal(4, #lines, T.read(sink.log))
    for _, l in ipairs(lines) do
      assert.matches('^{"text": "warning mem s: memory [%d.e-]+ over 1e%-06", "rule": "mem"}$', l.body)
    end
    -- backoff: 0.25 s, 0.5 s, 1 s between the attempts (with slack for the loop)
    assert.truthy(lines[2].ms - lines[1].ms >= 200)
    assert.truthy(lines[4].ms - lines[3].ms >= 900)
    -- the feed went on between the first attempt and the success
    local during = 0
    for stamp in (T.read(h.err) or ""):gmatch("(%S+) INFO s: bar ") do
      local ms = H.iso_ms(stamp)
      if ms > lines[1].ms and ms < lines[4].ms then during = during + 1 end
    end
    assert.truthy(during >= 10, during .. " events while the webhook failed")
    local err = T.read(h.err)
    assert.truthy(T.logged(err, "WARN alert: ", "webhook http://127%.0%.0%.1:%d+/hook: no answer; retry 1 of 5"))
    assert.truthy(T.logged(err, "WARN alert: ", "webhook http://127%.0%.0%.1:%d+/hook: status 500; retry 2 of 5"))
  end)

  it("a host stopping while a delivery hangs exits cleanly (nothing leaks)", function()
    local data = H.bars(dir, { { 0, 100 }, { 1, 100 } })
    sink = H.sink(dir, "--hang 1")
    local cfg = T.write(dir .. "/deploy.lua", ([[
      return { alerts = {
        webhook = { url = "http://127.0.0.1:%d/hook", timeout = 30 },
        rules = { { name = "mem", when = "memory", over = 0.000001, actions = { "webhook" } } } } }]]):format(sink.port))
    local s = T.write(dir .. "/s.lua", "return { params = { symbol = 'XYZ' }, on_bar = function() end }")
    h = T.spawn({ "paper", s, "--feed", "file:" .. data, "--config", cfg, "--out", dir .. "/out",
                  "--no-report", "--linger" }, dir)
    assert.truthy(T.wait_for(function() return #H.sink_lines(sink) == 1 end, 10), "the sink got nothing")
    assert.equal(0, (T.ctl(dir .. "/out/ctl.sock", "stop")))
    assert.equal(0, T.wait_exit(h))
    assert.is_nil((T.read(h.err) or ""):find("LeakSanitizer", 1, true))
  end)

  it("watches halts, reject rate, latency and loss; clears when the cause goes", function()
    local list = {}
    for d = 0, 39 do list[#list + 1] = { d, 100 - d } end
    local data = H.bars(dir, list)
    local cfg = T.write(dir .. "/deploy.lua", [[
      return {
        risk = { max_order_qty = 10 },
        http = { listen = "127.0.0.1:0", token_file = "tokens" },
        alerts = { every = 0.1, rules = {
          { name = "stopped", when = "halted", severity = "critical" },
          { name = "rejects", when = "reject_rate", over = 0.5, window = 2 },
          { name = "slow", when = "latency_p99", of = "callback", over = 0, window = 5, severity = "info" },
          { name = "losing", when = "loss", over = 1, strategy = "s", actions = { "log", "flatten" } },
          { name = "venue", when = "venue_down" },
          { name = "mkt", when = "market_halt" },
        } } }]])
    H.tokens(dir)
    local s = T.write(dir .. "/s.lua", [[
      local S = { params = { symbol = "XYZ" } }
      function S.on_bar(ctx, bar)
        if not ctx.state.x then ctx.state.x = 1; ctx:buy("XYZ", 10) end
        ctx:buy("XYZ", 50) -- over max_order_qty: a reject on every bar
      end
      return S]])
    -- a bar every 0.1 s: 4 s of data, the price falling a point a bar
    h = T.spawn({ "paper", s, "--feed", "file:" .. data .. "?speed=864000", "--config", cfg,
                  "--out", dir .. "/out", "--no-report", "--linger" }, dir)
    local port = H.port(h)
    local function alerts() return select(2, H.curl(port, "/api/alerts", { token = H.READ })) end
    local got = T.wait_for(function()
      local a = alerts()
      return a:find('"rule": "rejects"', 1, true) and a:find('"rule": "slow"', 1, true)
        and a:find('"rule": "losing"', 1, true) and a
    end, 10)
    assert.truthy(got, alerts())
    -- the loss rule flattened the position (its orders are the operator's)
    assert.truthy(T.wait_for(function()
      return select(2, H.curl(port, "/api/status", { token = H.READ })):find('"positions": {}', 1, true)
    end, 5))
    assert.equal(200, (H.curl(port, "/api/halt", { token = H.RISK, method = "POST" })))
    assert.truthy(T.wait_for(function() return alerts():find('"active": [{"rule": "stopped"', 1, true) end, 5))
    assert.equal(200, (H.curl(port, "/api/resume", { token = H.TRADE, method = "POST" })))
    assert.truthy(T.wait_for(function()
      return not alerts():find('{"rule": "stopped", "strategy"', 1, true)
    end, 5))
    -- the feed is over: no more rejects; the rate falls under 0.5/s within its window
    assert.truthy(T.wait_for(function() return not alerts():find('{"rule": "rejects", "strategy"', 1, true) end, 6))
    local a = alerts()
    assert.is_nil(a:find('"rule": "venue", "strategy"', 1, true)) -- the simulator stays up
    assert.is_nil(a:find('"rule": "mkt", "strategy"', 1, true))   -- bars never halt
    local _, m = H.curl(port, "/metrics", { token = H.READ })
    assert.matches('gantry_alerts_total{rule="stopped"} 1', m, 1, true)
    assert.matches('gantry_alert_firing{rule="venue",severity="warning"} 0', m, 1, true)
    local err = T.read(h.err)
    assert.truthy(T.logged(err, "ERROR alert: ", "FIRING critical: stopped s: halted"))
    assert.truthy(T.logged(err, "WARN alert: ", "resolved critical: stopped s: halted"))
    assert.truthy(T.logged(err, "WARN alert: ", "FIRING warning: rejects: reject_rate [%d.]+ over 0.5"))
    assert.truthy(T.logged(err, "WARN alert: ", "FIRING info: slow: latency_p99"))
    assert.truthy(T.logged(err, "WARN alert: ", "FIRING warning: losing s: loss"))
    assert.equal(0, (T.ctl(dir .. "/out/ctl.sock", "stop")))
    assert.equal(0, T.wait_exit(h))
  end)

  it("refuses a bad rule with the config's name and the rule's index (exit 2)", function()
    local data = H.bars(dir, { { 0, 100 } })
    local s = T.write(dir .. "/s.lua", "return { params = { symbol = 'XYZ' }, on_bar = function() end }")
    local cases = {
      { "rules = { { when = 'drawdown' } }", "alerts.rules[1].over: drawdown needs a threshold" },
      { "rules = { { when = 'sunspots' } }", "alerts.rules[1].when: unknown condition 'sunspots'" },
      { "rules = { { when = 'halted', actions = { 'page' } } }", "alerts.rules[1].actions: unknown action 'page'" },
      { "rules = { { when = 'drawdown', over = 5 } }", "alerts.rules[1].over: drawdown is a fraction" },
      { "rules = { { when = 'halted', actions = 'webhook' } }", "alerts.rules[1].actions: webhook, but alerts.webhook has no url" },
      { "webhook = { url = 'ftp://x' }", "alerts.webhook.url: expected http://HOST[:PORT]/PATH" },
      { "rules = { { when = 'halted', colour = 'red' } }", "alerts.rules[1].unknown key 'colour'" },
      { "rules = { { when = 'halted', strategy = 'nope' } }", "alerts: rule halted_1: no strategy named 'nope'" },
    }
    for _, c in ipairs(cases) do
      local cfg = T.write(dir .. "/deploy.lua", "return { alerts = { " .. c[1] .. " } }")
      local code, _, err = T.gantry({ "paper", s, "--feed", "file:" .. data, "--config", cfg,
                                      "--out", dir .. "/out", "--overwrite", "--no-report" })
      assert.equal(2, code, c[1])
      assert.matches(c[2], err, 1, true)
    end
  end)
end)
