-- The dashboard in headless Chromium (spec/dashboard/dashboard_test.js, npm's
-- puppeteer-core installed by `make dashboard-deps`): it loads with no console
-- error, its figures equal /api/status, its halt button is refused without a
-- token (and with a read token) and halts with a risk token. The screenshot
-- is kept under the run's temporary directory; its path is printed.
local T = require "support"
local H = require "http_support"

describe("dashboard", function()
  local dir, h
  before_each(function() dir = T.tmpdir() end)
  after_each(function() H.reap(h, dir .. "/out/ctl.sock"); T.rmdir(dir) end)

  it("shows the run in Chromium; halt works with a risk token and is refused without one", function()
    assert.truthy(T.read(T.root .. "/spec/dashboard/node_modules/puppeteer-core/package.json"),
      "puppeteer-core is not installed: run make dashboard-deps")
    H.tokens(dir)
    local data = T.day_bars(dir, 60)
    local cfg = T.write(dir .. "/deploy.lua", 'return { http = { listen = "127.0.0.1:0", token_file = "tokens" } }')
    local s = T.write(dir .. "/s.lua", [[
      local S = { params = { symbol = "XYZ" } }
      function S.on_bar(ctx, bar)
        if not ctx.state.x then ctx.state.x = 1; ctx:buy("XYZ", 10) end
        if #ctx:orders() < 2 then ctx:buy("XYZ", 1, { limit = 50 }) end
      end
      return S]])
    h = T.spawn({ "paper", s, "--feed", "file:" .. data, "--config", cfg, "--out", dir .. "/out",
                  "--no-report", "--linger" }, dir)
    local port = H.port(h)
    -- the feed has ended (--linger keeps the host up): the figures stand still
    assert.truthy(T.wait_for(function() return (T.read(h.err) or ""):find("feed done", 1, true) end, 10))
    local keep = os.getenv("GANTRY_ARTIFACTS") or dir
    local code, out, err = T.sh(("cd %s && GANTRY_URL=http://127.0.0.1:%d READ_TOKEN=%s RISK_TOKEN=%s OUT_DIR=%s timeout 120 node dashboard_test.js"):format(
      T.quote(T.root .. "/spec/dashboard"), port, H.READ, H.RISK, T.quote(keep)))
    print("\n" .. out)
    assert.equal(0, code, out .. err .. (T.read(h.err) or ""))
    assert.matches("all ok", out, 1, true)
    assert.matches("screenshot " .. keep .. "/dashboard.png", out, 1, true)
    local audit = T.read(dir .. "/out/audit.jsonl")
    assert.matches('"who": "ops-risk", "scope": "risk", "from": "127.0.0.1", "command": "halt s", "ok": true', audit, 1, true)
  end)
end)
