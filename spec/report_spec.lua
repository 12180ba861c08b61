-- gantry.report: the backtest tear sheet rendered to one HTML string.
local report = require "gantry.report"

local NS, DAY = 1000000000, 86400 * 1000000000
local T0 = 1577923200 * NS -- 2020-01-02 00:00:00 UTC
local nan, inf = 0 / 0, math.huge

local function sample(n)
  n = n or 300
  local t, eq, close = {}, {}, {}
  for i = 1, n do
    t[i] = T0 + (i - 1) * DAY
    eq[i] = 100000 + 5000 * math.sin(i / 20) + 20 * i
    close[i] = 100 + 10 * math.cos(i / 15)
  end
  return {
    title = "sma_cross on AAPL",
    summary = {
      strategy = "sma_cross", events = 12345, fills = 2, round_trips = 1,
      start_equity = 100000, final_equity = 112345.678, total_return = 0.12345678,
      sharpe = 1.23456, sortino = -0.5, max_drawdown = 0.0873, win_rate = 0.5,
      elapsed_s = 0.25, events_per_s = 49380,
    },
    params = { fast = 10, slow = 30 },
    equity = { t = t, equity = eq },
    prices = { AAPL = { t = t, close = close } },
    fills = {
      { t = T0 + 10 * DAY, symbol = "AAPL", side = "buy", qty = 100, price = 101.5 },
      { t = T0 + 40 * DAY, symbol = "AAPL", side = "sell", qty = 100, price = 104.25 },
    },
  }
end

local function count(s, pattern)
  local c = 0
  for _ in s:gmatch(pattern) do c = c + 1 end
  return c
end

describe("report", function()
  it("renders a full HTML page with inline SVG charts", function()
    local html = report.render(sample())
    assert.is_string(html)
    assert.truthy(html:find("^<!DOCTYPE html>"))
    assert.truthy(html:find("</html>%s*$"))
    -- equity, drawdown and one price chart
    assert.is_true(count(html, "<svg") >= 3)
    assert.truthy(html:find("sma_cross on AAPL", 1, true))
  end)

  it("formats the summary numbers", function()
    local html = report.render(sample())
    assert.truthy(html:find("12.35%", 1, true))      -- total return
    assert.truthy(html:find("1.23", 1, true))        -- sharpe, 2 decimals
    assert.truthy(html:find("-0.50", 1, true))       -- sortino
    assert.truthy(html:find("-8.73%", 1, true))      -- max drawdown as a loss
    assert.truthy(html:find("50.00%", 1, true))      -- win rate
    assert.truthy(html:find("112,345.68", 1, true))  -- final equity
    assert.truthy(html:find("12,345", 1, true))      -- events
    assert.falsy(html:find("1.23456", 1, true))
  end)

  it("opens a failed run's page with a banner saying when and why, escaped", function()
    local data = sample()
    data.status, data.error, data.failed_at = "failed", "s failed in on_bar: <boom>", T0 + 3 * DAY
    local html = report.render(data)
    local banner = html:find('role="alert"', 1, true)
    assert.truthy(banner)
    assert.truthy(banner < html:find("<svg", 1, true), "before the charts")
    assert.truthy(html:find("This run failed at 2020-01-05", 1, true))
    assert.truthy(html:find("s failed in on_bar: &lt;boom&gt;", 1, true))
    data.failed_at = nil
    assert.truthy(report.render(data):find("This run failed before the first event", 1, true))
    data.status, data.error = "ok", nil
    assert.falsy(report.render(data):find('role="alert"', 1, true))
    assert.equal(report.render(sample()), report.render(data))
  end)

  it("shows the parameters", function()
    local html = report.render(sample())
    assert.truthy(html:find("<code>fast</code>", 1, true))
    assert.truthy(html:find("<code>slow</code>", 1, true))
  end)

  it("escapes every piece of user text", function()
    local data = sample()
    local evil = "<b>&\"'"
    data.title = evil
    data.summary.strategy = evil
    data.params = { [evil] = evil }
    data.prices = { [evil] = data.prices.AAPL }
    data.fills = { { t = T0, symbol = evil, side = "buy", qty = 1, price = 100 } }
    local html = report.render(data)
    assert.falsy(html:find(evil, 1, true))
    assert.falsy(html:find("<b>&", 1, true))
    assert.truthy(html:find("&lt;b&gt;&amp;&quot;&#39;", 1, true))
    assert.equal("&lt;&gt;&amp;&quot;&#39;", report.escape("<>&\"'"))
  end)

  it("references nothing outside the page", function()
    local html = report.render(sample())
    assert.falsy(html:find("http://", 1, true))
    assert.falsy(html:find("https://", 1, true))
    assert.falsy(html:find("src=", 1, true))
    assert.falsy(html:find("<script", 1, true))
    assert.falsy(html:find("<link", 1, true))
    assert.falsy(html:find("@import", 1, true))
  end)

  it("marks buys and sells on the price chart", function()
    local html = report.render(sample())
    assert.equal(1, count(html, '<path class="buy"'))
    assert.equal(1, count(html, '<path class="sell"'))
  end)

  it("labels daily axes with dates and intraday axes with times", function()
    local html = report.render(sample())
    assert.truthy(html:find(">2020%-%d%d%-%d%d</text>"))
    local t, eq = {}, {}
    for i = 1, 120 do t[i] = T0 + (9 * 3600 + 1800 + 60 * i) * NS; eq[i] = 1000 + i end
    html = report.render({ equity = { t = t, equity = eq } })
    assert.truthy(html:find(">1[01]:%d%d</text>"))
  end)

  it("renders nan and inf summary values as n/a", function()
    local data = sample()
    data.summary.sharpe, data.summary.sortino = nan, inf
    data.summary.total_return, data.summary.max_drawdown = -inf, nan
    local html = report.render(data)
    assert.truthy(html:find("n/a", 1, true))
    assert.falsy(html:find("[>%s%-]nan[<%%]"))
    assert.falsy(html:find("[>%s%-]inf[<%%]"))
  end)

  it("handles empty and malformed input", function()
    for _, data in ipairs({
      {}, { equity = { t = {}, equity = {} } },
      { title = 42, summary = "x", params = 5, equity = 3, prices = "p", fills = { 1, "x", {} } },
      { equity = { t = { T0, T0 + DAY }, equity = { 1 } } },
    }) do
      local html = report.render(data)
      assert.truthy(html:find("</html>", 1, true))
    end
    assert.truthy(report.render(nil):find("No equity data", 1, true))
  end)

  it("handles a single point, flat series and non-finite values", function()
    local cases = {
      { equity = { t = { T0 }, equity = { 100 } }, prices = { A = { t = { T0 }, close = { 5 } } } },
      { equity = { t = { T0, T0 + DAY, T0 + 2 * DAY }, equity = { 7, 7, 7 } },
        prices = { A = { t = { T0, T0 + DAY }, close = { 0, 0 } } } },
      { equity = { t = { T0, T0 + DAY, T0 + 2 * DAY, T0 + 3 * DAY }, equity = { 1, nan, inf, 2 } } },
      { equity = { t = { T0, T0 + DAY }, equity = { 0, 0 } } },
      { equity = { t = { T0, T0 + DAY, T0 + 2 * DAY }, equity = { -5, -10, -3 } } },
      { fills = { { t = nan, symbol = "Z", side = "sell", qty = nan, price = nan } } },
    }
    for _, data in ipairs(cases) do
      local html = report.render(data)
      assert.truthy(html:find("<svg", 1, true))
      -- no coordinate ever comes out as nan or inf
      assert.falsy(html:find("nan", 1, true))
      assert.falsy(html:find("inf", 1, true))
    end
  end)

  it("renders a chart for each of many symbols", function()
    local prices = {}
    for k = 1, 12 do
      local t, c = {}, {}
      for i = 1, 50 do t[i] = T0 + i * DAY; c[i] = 10 + k + i / 10 end
      prices[string.format("S%02d", k)] = { t = t, close = c }
    end
    local html = report.render({ prices = prices })
    assert.equal(12, count(html, '<path class="px"'))
    assert.truthy(html:find("12 symbols", 1, true))
  end)

  it("renders 2000 points and 5000 fills quickly", function()
    local data = sample(2000)
    local fills = {}
    for i = 1, 5000 do
      fills[i] = { t = T0 + (i % 2000) * DAY, symbol = "AAPL", side = i % 2 == 0 and "buy" or "sell",
                   qty = 10, price = 100 }
    end
    data.fills = fills
    local c0 = os.clock()
    local html = report.render(data)
    assert.is_true(os.clock() - c0 < 1.0)
    assert.truthy(html:find("first 500 of 5,000", 1, true))
  end)
end)
