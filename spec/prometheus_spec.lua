-- End to end: a real Prometheus server (Debian's prometheus) scrapes a paper
-- host's /metrics with a bearer token; its query API sees the host up and
-- gantry's metrics. Everything on 127.0.0.1, in a temporary directory.
local T = require "support"
local H = require "http_support"

-- A free port: the sink binds port 0, says which, and exits at once.
local function free_port(dir)
  local f = dir .. "/free.port"
  T.sh(T.quote(T.tools .. "/webhook_sink") .. " --port-file " .. T.quote(f) .. " --log /dev/null --timeout 0")
  return tonumber(T.read(f))
end

describe("prometheus", function()
  local dir, h, prom
  before_each(function() dir = T.tmpdir() end)
  after_each(function() H.reap(h, dir .. "/out/ctl.sock"); H.kill(prom); T.rmdir(dir) end)

  it("scrapes the host's metrics", function()
    H.tokens(dir)
    local data = T.day_bars(dir, 100000)
    local cfg = T.write(dir .. "/deploy.lua", 'return { http = { listen = "127.0.0.1:0", token_file = "tokens" } }')
    local s = T.write(dir .. "/s.lua", [[
      local S = { params = { symbol = "XYZ" } }
      function S.on_bar(ctx, bar) if #ctx:orders() < 1 then ctx:buy("XYZ", 1, { limit = 50 }) end end
      return S]])
    h = T.spawn({ "paper", s, "--feed", "file:" .. data .. "?speed=864000", "--config", cfg,
                  "--out", dir .. "/out", "--no-report" }, dir)
    local port = H.port(h)
    local pport = free_port(dir)
    local tok = T.write(dir .. "/prom.token", H.READ)
    T.write(dir .. "/prometheus.yml", ([[
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: gantry
    scrape_interval: 1s
    authorization:
      type: Bearer
      credentials_file: %s
    static_configs:
      - targets: ["127.0.0.1:%d"]
]]):format(tok, port))
    local cmd = ("prometheus --config.file=%s --storage.tsdb.path=%s --web.listen-address=127.0.0.1:%d"):format(
      T.quote(dir .. "/prometheus.yml"), T.quote(dir .. "/tsdb"), pport)
    local p = io.popen("sh -c " .. T.quote(cmd .. " >" .. T.quote(dir .. "/prom.log") .. " 2>&1 & echo $!"))
    prom = tonumber(p:read("l"))
    p:close()
    local function query(q)
      local _, out = T.sh(("curl -s -m 2 'http://127.0.0.1:%d/api/v1/query' --data-urlencode %s"):format(pport, T.quote("query=" .. q)))
      return out
    end
    local up = T.wait_for(function()
      local out = query('up{job="gantry"}')
      return out:match('"value":%[[%d.]+,"1"%]') and out
    end, 30)
    assert.truthy(up, "Prometheus never scraped the host: " .. (T.read(dir .. "/prom.log") or ""):sub(-2000))
    local ev = T.wait_for(function()
      local out = query('gantry_events_total{job="gantry"}')
      local v = out:match('"value":%[[%d.]+,"(%d+)"%]')
      return v and tonumber(v) > 0 and out
    end, 10)
    assert.truthy(ev, "no gantry_events_total in Prometheus")
    local hist = query('histogram_quantile(0.99, rate(gantry_callback_duration_seconds_bucket[5s]))')
    assert.matches('"status":"success"', hist, 1, true)
    assert.matches('"strategy":"s"', query('gantry_orders_total'), 1, true)
    H.kill(prom); prom = nil
    T.ctl(dir .. "/out/ctl.sock", "stop")
    assert.equal(0, T.wait_exit(h))
  end)
end)
