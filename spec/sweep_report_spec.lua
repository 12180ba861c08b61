-- gantry.sweep_report: a small made-up sweep, checked in the HTML: the
-- cells and their values, errors and missing cells, the best rows, the
-- out-of-sample heatmap, more than two parameters, and a walk-forward's
-- windows on the stitched equity.
local sweep_report = require "gantry.sweep_report"

local function r(fast, slow, sharpe, extra)
  local m = { sharpe = sharpe, total_return = sharpe / 10, max_drawdown = 0.05, round_trips = 12 }
  for k, v in pairs(extra or {}) do m[k] = v end
  return { params = { fast = fast, slow = slow }, metrics = m }
end

-- fast 5, 10, 20 by slow 30, 50; (20, 50) failed; (20, 30) never ran
local RESULTS = {
  r(5, 30, 0.5), r(5, 50, 1.25), r(10, 30, -0.4), r(10, 50, 2.0),
  { params = { fast = 20, slow = 50 }, error = "on_bar: attempt to index a nil value" },
}

local function cell(html, x, y)
  return html:match('<g class="cell[^"]*" data%-x="' .. x .. '" data%-y="' .. y .. '"[^>]*>(.-)</g>')
end

describe("sweep_report.render", function()
  it("is one page with nothing external", function()
    local html = sweep_report.render { title = "sweep of sma <cross>", metric = "sharpe", x = "fast", y = "slow", results = RESULTS }
    assert.truthy(html:find("^<!DOCTYPE html>"))
    assert.truthy(html:find("default-src 'none'", 1, true))
    assert.falsy(html:find("https?://"))
    assert.falsy(html:find("<script", 1, true))
    assert.truthy(html:find("sweep of sma &lt;cross&gt;", 1, true))
  end)

  it("puts each combination's metric in its cell, an error as an error, a gap as missing", function()
    local html = sweep_report.render { title = "t", metric = "sharpe", x = "fast", y = "slow", results = RESULTS }
    assert.truthy(cell(html, "5", "30"):find(">0.500<", 1, true))
    assert.truthy(cell(html, "5", "50"):find(">1.25<", 1, true))
    assert.truthy(cell(html, "10", "30"):find(">-0.400<", 1, true))
    assert.truthy(cell(html, "10", "50"):find(">2.00<", 1, true))
    assert.truthy(html:find('<g class="cell error" data-x="20" data-y="50">', 1, true))
    assert.truthy(cell(html, "20", "50"):find("error: on_bar: attempt to index a nil value", 1, true))
    assert.truthy(html:find('<g class="cell missing" data-x="20" data-y="30">', 1, true))
    -- axes: the values in order
    local xs = {}
    for v in html:gmatch('<text class="xl" x="[%d.]+" y="%d+">(%d+)</text>') do xs[#xs + 1] = v end
    assert.are.same({ "5", "10", "20" }, xs)
    -- the best is the greenest, the worst the reddest
    assert.truthy(cell(html, "10", "50"):find('fill="rgb(22,163,74)"', 1, true))
    assert.truthy(cell(html, "10", "30"):find('fill="rgb(', 1, true))
    assert.falsy(cell(html, "10", "30"):find('fill="rgb(22,163,74)"', 1, true))
  end)

  it("ranks the best combinations, failed ones counted apart", function()
    local html = sweep_report.render { title = "t", metric = "sharpe", x = "fast", y = "slow", results = RESULTS }
    assert.truthy(html:find("top 4 of 5 by sharpe, 1 failed", 1, true))
    local rows = {}
    for row in html:gmatch('<tr class="best%-row" data%-rank="%d+">(.-)</tr>') do rows[#rows + 1] = row end
    assert.are.equal(4, #rows)
    assert.truthy(rows[1]:find("<td>1</td><td>10</td><td>50</td><td class=\"num\">2.00</td>", 1, true))
    assert.truthy(rows[2]:find("<td>2</td><td>5</td><td>50</td><td class=\"num\">1.25</td>", 1, true))
    assert.truthy(rows[4]:find("<td>4</td><td>10</td><td>30</td><td class=\"num\">-0.400</td>", 1, true))
  end)

  it("ranks lower-is-better metrics from the lowest", function()
    local res = { r(5, 30, 1, { max_drawdown = 0.2 }), r(10, 30, 1, { max_drawdown = 0.05 }) }
    local html = sweep_report.render { title = "t", metric = "max_drawdown", x = "fast", y = "slow", results = res }
    assert.truthy(html:find("(lower is better)", 1, true))
    local first = html:match('<tr class="best%-row" data%-rank="1">(.-)</tr>')
    assert.truthy(first:find("<td>10</td><td>30</td>", 1, true))
  end)

  it("shows out of sample beside in sample, and the out-of-sample value of the best rows", function()
    local oos = { r(5, 30, 0.1), r(5, 50, 0.9), r(10, 30, -1.0), r(10, 50, 0.3) }
    local html = sweep_report.render { title = "t", metric = "sharpe", x = "fast", y = "slow", results = RESULTS, oos_results = oos }
    assert.truthy(html:find('<svg class="heatmap" data-label="In sample"', 1, true))
    assert.truthy(html:find('<svg class="heatmap" data-label="Out of sample"', 1, true))
    local oos_part = html:sub((html:find('data-label="Out of sample"', 1, true)))
    assert.truthy(cell(oos_part, "5", "50"):find(">0.900<", 1, true))
    assert.truthy(html:find("sharpe (out of sample)</th>", 1, true))
    local first = html:match('<tr class="best%-row" data%-rank="1">(.-)</tr>')
    assert.truthy(first:find('<td class="num">0.300</td></tr>$') or first:find('<td class="num">0.300</td>$'), first)
  end)

  it("with more than two parameters, shows the best over the others and says so", function()
    local res = {
      { params = { fast = 5, slow = 30, stop = 1 }, metrics = { sharpe = 0.2 } },
      { params = { fast = 5, slow = 30, stop = 2 }, metrics = { sharpe = 0.7 } },
      { params = { fast = 10, slow = 30, stop = 1 }, metrics = { sharpe = 0.4 } },
    }
    local html = sweep_report.render { title = "t", metric = "sharpe", x = "fast", y = "slow", results = res }
    assert.truthy(html:find("Each cell is the best sharpe over stop (3 parameters", 1, true))
    local c = cell(html, "5", "30")
    assert.truthy(c:find(">0.700<", 1, true))
    assert.truthy(c:find("fast=5 slow=30 stop=2", 1, true))
  end)

  it("marks a walk-forward's windows on the stitched out-of-sample equity", function()
    local day = 86400
    local t0 = 1704067200 -- 2024-01-01
    local wf = {
      windows = {
        { train = { t0, t0 + 60 * day }, test = { t0 + 60 * day, t0 + 90 * day }, params = { fast = 5, slow = 50 },
          is = { sharpe = 1.5 }, oos = { sharpe = 0.8 } },
        { train = { t0 + 30 * day, t0 + 90 * day }, test = { t0 + 90 * day, t0 + 120 * day }, params = { fast = 10, slow = 50 },
          is = { sharpe = 2.1 }, oos = { sharpe = -0.2 } },
      },
      equity = {},
      metrics = { total_return = 0.031, sharpe = 0.6, max_drawdown = 0.04 },
    }
    for i = 60, 119 do wf.equity[#wf.equity + 1] = { t0 + i * day, 100000 + (i - 60) * 50 } end
    local html = sweep_report.render { title = "wf", metric = "sharpe", x = "fast", y = "slow", results = RESULTS, walk_forward = wf }
    assert.truthy(html:find("2 windows, out-of-sample pieces stitched", 1, true))
    local marks = {}
    for k, title in html:gmatch('<g class="window" data%-window="(%d)">.-<title>(.-)</title></g>') do marks[#marks + 1] = { k, title } end
    assert.are.equal(2, #marks)
    assert.are.equal("window 1: test 2024-03-01 → 2024-03-31, fast=5 slow=50", marks[1][2])
    assert.are.equal("window 2: test 2024-03-31 → 2024-04-30, fast=10 slow=50", marks[2][2])
    assert.truthy(html:find(">W1</text>", 1, true) and html:find(">W2</text>", 1, true))
    -- the first window's band starts at the chart's left edge
    assert.truthy(html:find('<rect class="win1" x="76.0"', 1, true))
    assert.truthy(html:find('<path class="eq" d="M76.0 ', 1, true))
    local row = html:match('<tr class="window%-row" data%-window="2">(.-)</tr>')
    assert.truthy(row:find("<td>2024-01-31 → 2024-03-31</td><td>2024-03-31 → 2024-04-30</td><td>fast=10 slow=50</td>", 1, true))
    assert.truthy(row:find('<td class="num">2.10</td><td class="num">-0.200</td>', 1, true))
    assert.truthy(html:find("<b>total_return</b> 0.031<", 1, true))
  end)

  it("takes nanosecond times too, and survives empty or odd input", function()
    local html = sweep_report.render { walk_forward = { windows = { { test = { 1.7040672e18, 1.7066592e18 } } },
      equity = { { 1.7040672e18, 1 }, { 1.7066592e18, 2 } } } }
    assert.truthy(html:find("window 1: test 2024-01-01 → 2024-01-31", 1, true))
    assert.truthy(html:find("No results.", 1, true))
    assert.truthy(sweep_report.render(nil):find("Parameter sweep", 1, true))
    assert.truthy(sweep_report.render { results = { "junk", { params = 3 } } }:find("</html>", 1, true))
  end)

  it("one parameter: one row of cells", function()
    local res = { { params = { n = 1 }, metrics = { sharpe = 1.5 } }, { params = { n = 2 }, metrics = { sharpe = 2.0 } } }
    local html = sweep_report.render { metric = "sharpe", x = "n", results = res }
    assert.truthy(html:find('<g class="cell" data-x="2" data-value="2.00">', 1, true))
  end)
end)
