--[[
gantry.sweep_report: a parameter sweep (and a walk-forward) as one
self-contained HTML page, sweep.html.

  local html = require("gantry.sweep_report").render(opts)

`opts` (the playbook API, gantry.play, passes it exactly so):

  title        string   the page heading
  metric       string   the metric of the heatmap and the ranking (default "sharpe")
  x, y         string   the parameters on the heatmap's columns and rows (y may be
                        nil: one row)
  results      list     { {params = {fast = 5, slow = 30}, metrics = {sharpe = 1.2, ...}}
                        or {params = ..., error = "why"}, ... }: the in-sample sweep
  oos_results  list     the same shape, out of sample (a heatmap beside the first), or nil
  walk_forward table    { windows = { {train = {T0, T1}, test = {T2, T3}, params = {...},
                        is = {metrics}, oos = {metrics}}, ... }, equity = { {T, EQUITY}, ... },
                        metrics = {...} } or nil; T in seconds since the epoch (UTC), or
                        nanoseconds (any value above 1e12)

What a reader must know:
  * Pure: no io/os, no globals, nothing external (inline CSS and SVG, a CSP
    that forbids any fetch); every piece of user text goes through esc().
  * A cell is the best value of the metric over the combinations with that x
    and y: with more than two parameters, over the others (the page says so).
    "Best" is the largest, except for metrics where less is better
    (max_drawdown, volatility, longest_drawdown_days, max_drawdown_days).
  * A cell whose every combination failed shows "error" (the first error in
    its tooltip); a combination without the metric (or with a non-number)
    counts as missing; a cell no combination reached shows "–".
]]

local M = {}

local fmt, concat, sort = string.format, table.concat, table.sort
local floor, abs, huge, max, min = math.floor, math.abs, math.huge, math.max, math.min

local LOWER_IS_BETTER = { max_drawdown = true, volatility = true, longest_drawdown_days = true,
  max_drawdown_days = true }

local ESC = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&#39;" }
local function esc(s) return (tostring(s):gsub("[&<>\"']", ESC)) end

local function finite(v) return type(v) == "number" and v == v and v ~= huge and v ~= -huge end

local function num(v, d)
  if not finite(v) then return "n/a" end
  if d == nil then
    if math.type and math.type(v) == "integer" then return fmt("%d", v) end
    local a = abs(v)
    d = a >= 1000 and 0 or a >= 1 and 2 or a >= 0.01 and 3 or 4
    if a == 0 then d = 2 end
  end
  local s = fmt("%." .. d .. "f", v)
  if s:match("^%-0%.?0*$") then s = s:sub(2) end
  return s
end

-- A parameter value as text: whole numbers without a fraction.
local function pval(v)
  if type(v) == "number" then
    if v == floor(v) and abs(v) < 1e15 then return fmt("%d", v) end
    return fmt("%.6g", v)
  end
  return tostring(v)
end

local function tbl(v) return type(v) == "table" and v or {} end

-- Time ---------------------------------------------------------------------

local function idiv(a, b) return floor(a / b) end

local function civil(z)
  z = z + 719468
  local era = idiv(z, 146097)
  local doe = z - era * 146097
  local yoe = idiv(doe - idiv(doe, 1460) + idiv(doe, 36524) - idiv(doe, 146096), 365)
  local doy = doe - (365 * yoe + idiv(yoe, 4) - idiv(yoe, 100))
  local mp = idiv(5 * doy + 2, 153)
  local d = doy - idiv(153 * mp + 2, 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400
  if m <= 2 then y = y + 1 end
  return y, m, d
end

-- Seconds since the epoch from T (seconds, or nanoseconds above 1e12).
local function secs(t)
  if not finite(t) then return nil end
  if abs(t) > 1e12 then return t / 1e9 end
  return t
end

local function date_text(t)
  local s = secs(t)
  if not s then return "n/a" end
  local day = idiv(s, 86400)
  local y, m, d = civil(day)
  local sod = s - day * 86400
  if sod == 0 then return fmt("%04d-%02d-%02d", y, m, d) end
  return fmt("%04d-%02d-%02d %02d:%02d", y, m, d, idiv(sod, 3600), idiv(sod % 3600, 60))
end

-- Cells --------------------------------------------------------------------

local function params_text(p)
  local keys = {}
  for k in pairs(tbl(p)) do keys[#keys + 1] = tostring(k) end
  sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. pval(p[k]) end
  return concat(parts, " ")
end

local function better(a, b, lower)
  if b == nil then return true end
  if lower then return a < b end
  return a > b
end

-- Distinct values of a parameter, numbers in order then the rest as text.
local function axis_values(results, name)
  if name == nil then return { false } end
  local seen, nums, strs = {}, {}, {}
  for _, r in ipairs(results) do
    local v = tbl(r.params)[name]
    if v ~= nil and not seen[v] then
      seen[v] = true
      if type(v) == "number" then nums[#nums + 1] = v else strs[#strs + 1] = tostring(v) end
    end
  end
  sort(nums)
  sort(strs)
  for _, s in ipairs(strs) do nums[#nums + 1] = s end
  return nums
end

-- The grid of cells: cells[xi][yi] = { value, params, n, errors, first_error }.
local function build_cells(results, metric, x, y, xs, ys, lower)
  local xi, yi = {}, {}
  for i, v in ipairs(xs) do xi[v] = i end
  for i, v in ipairs(ys) do yi[v] = i end
  local cells = {}
  for i = 1, #xs do cells[i] = {} end
  for _, r in ipairs(results) do
    local p = tbl(r.params)
    local cx = xi[p[x]] or xi[tostring(p[x])]
    local cy = y == nil and 1 or (yi[p[y]] or yi[tostring(p[y])])
    if cx and cy then
      local c = cells[cx][cy] or { n = 0, errors = 0 }
      cells[cx][cy] = c
      c.n = c.n + 1
      local v = type(r.metrics) == "table" and r.metrics[metric] or nil
      if r.error ~= nil and r.metrics == nil then
        c.errors = c.errors + 1
        c.first_error = c.first_error or tostring(r.error)
      elseif finite(v) and better(v, c.value, lower) then
        c.value, c.params = v, p
      end
    end
  end
  return cells
end

local function value_range(cells, nx, ny)
  local lo, hi = huge, -huge
  for i = 1, nx do
    for j = 1, ny do
      local c = cells[i][j]
      if c and finite(c.value) then lo, hi = min(lo, c.value), max(hi, c.value) end
    end
  end
  if lo > hi then return nil end
  return lo, hi
end

-- Green for good, red for bad: around 0 when the values straddle it.
local function color(v, lo, hi, lower)
  local t
  if lo < 0 and hi > 0 then
    local m = max(-lo, hi)
    t = 0.5 + 0.5 * v / m
  elseif hi > lo then
    t = (v - lo) / (hi - lo)
  else
    t = 0.5
  end
  if lower then t = 1 - t end
  local r, g, b
  if t < 0.5 then
    local k = t / 0.5 -- red (220,38,38) to a pale middle (241,245,249)
    r, g, b = 220 + (241 - 220) * k, 38 + (245 - 38) * k, 38 + (249 - 38) * k
  else
    local k = (t - 0.5) / 0.5 -- to green (22,163,74)
    r, g, b = 241 + (22 - 241) * k, 245 + (163 - 245) * k, 249 + (74 - 249) * k
  end
  return fmt("rgb(%d,%d,%d)", floor(r + 0.5), floor(g + 0.5), floor(b + 0.5)), t
end

local function heatmap(b, label, results, o)
  local xs, ys = axis_values(results, o.x), axis_values(results, o.y)
  local lower = LOWER_IS_BETTER[o.metric]
  local cells = build_cells(results, o.metric, o.x, o.y, xs, ys, lower)
  local lo, hi = value_range(cells, #xs, #ys)
  local cw, ch, left, top = max(44, min(90, floor(640 / max(1, #xs)))), 30, 70, 26
  local w, h = left + cw * #xs + 8, top + ch * #ys + 34
  b[#b + 1] = fmt('<div class="card heat"><h2>%s <span class="note">%s by %s%s</span></h2>',
    esc(label), esc(o.metric), esc(o.x or "?"), o.y and (" and " .. esc(o.y)) or "")
  if #results == 0 or #xs == 0 then
    b[#b + 1] = '<p class="muted">No results.</p></div>'
    return
  end
  -- never wider than its cells: a small grid stays small
  b[#b + 1] = fmt('<svg class="heatmap" data-label="%s" viewBox="0 0 %d %d" style="max-width:%dpx" role="img" aria-label="%s heatmap">',
    esc(label), w, h, w, esc(label))
  for i, xv in ipairs(xs) do
    b[#b + 1] = fmt('<text class="xl" x="%.1f" y="%d">%s</text>', left + (i - 0.5) * cw, top - 8, esc(pval(xv)))
  end
  b[#b + 1] = fmt('<text class="axisname" x="%.1f" y="%d">%s →</text>', left + cw * #xs / 2, h - 6, esc(o.x or ""))
  if o.y then
    b[#b + 1] = fmt('<text class="axisname y" x="4" y="14">%s ↓</text>', esc(o.y))
  end
  for j, yv in ipairs(ys) do
    local yy = top + (j - 1) * ch
    if o.y then
      b[#b + 1] = fmt('<text class="yl" x="%d" y="%.1f">%s</text>', left - 6, yy + ch / 2 + 4, esc(pval(yv)))
    end
    for i, xv in ipairs(xs) do
      local c = cells[i][j]
      local xx = left + (i - 1) * cw
      local attrs = fmt('data-x="%s"%s', esc(pval(xv)), o.y and fmt(' data-y="%s"', esc(pval(yv))) or "")
      if c == nil then
        b[#b + 1] = fmt('<g class="cell missing" %s><rect x="%d" y="%d" width="%d" height="%d"/>'
          .. '<text x="%.1f" y="%.1f">–</text><title>no combination</title></g>',
          attrs, xx, yy, cw - 2, ch - 2, xx + cw / 2 - 1, yy + ch / 2 + 3)
      elseif not finite(c.value) then
        local why = c.errors > 0 and ("error: " .. c.first_error) or ("no " .. o.metric)
        b[#b + 1] = fmt('<g class="cell %s" %s><rect x="%d" y="%d" width="%d" height="%d"/>'
          .. '<text x="%.1f" y="%.1f">%s</text><title>%s</title></g>',
          c.errors > 0 and "error" or "missing", attrs, xx, yy, cw - 2, ch - 2, xx + cw / 2 - 1,
          yy + ch / 2 + 3, c.errors > 0 and "error" or "n/a", esc(why))
      else
        local fill, t = color(c.value, lo, hi, lower)
        b[#b + 1] = fmt('<g class="cell" %s data-value="%s"><rect x="%d" y="%d" width="%d" height="%d" fill="%s"/>'
          .. '<text x="%.1f" y="%.1f"%s>%s</text><title>%s = %s at %s%s</title></g>',
          attrs, esc(num(c.value)), xx, yy, cw - 2, ch - 2, fill, xx + cw / 2 - 1, yy + ch / 2 + 3,
          (t < 0.15 or t > 0.85) and ' class="dark"' or "", esc(num(c.value)), esc(o.metric),
          esc(num(c.value)), esc(params_text(c.params)),
          c.errors > 0 and fmt(" (%d failed)", c.errors) or "")
      end
    end
  end
  b[#b + 1] = "</svg></div>"
end

-- Best combinations ---------------------------------------------------------

local SHOWN_METRICS = { "total_return", "sharpe", "sortino", "max_drawdown", "profit_factor", "round_trips" }
local TOP = 10

local function best_table(b, o)
  local lower = LOWER_IS_BETTER[o.metric]
  local ok, failed = {}, 0
  for _, r in ipairs(o.results) do
    local v = type(r.metrics) == "table" and r.metrics[o.metric] or nil
    if finite(v) then ok[#ok + 1] = r elseif r.error ~= nil then failed = failed + 1 end
  end
  sort(ok, function(a, c)
    local va, vc = a.metrics[o.metric], c.metrics[o.metric]
    if va ~= vc then if lower then return va < vc end return va > vc end
    return params_text(a.params) < params_text(c.params)
  end)
  local oos = {}
  for _, r in ipairs(tbl(o.oos_results)) do
    if type(r) == "table" then oos[params_text(r.params)] = r end
  end
  local names = {}
  for _, r in ipairs(o.results) do
    for k in pairs(tbl(r.params)) do names[tostring(k)] = true end
  end
  local plist = {}
  for k in pairs(names) do plist[#plist + 1] = k end
  sort(plist)
  local cols = { o.metric }
  for _, m in ipairs(SHOWN_METRICS) do if m ~= o.metric then cols[#cols + 1] = m end end
  b[#b + 1] = fmt('<div class="card"><h2>Best combinations <span class="note">top %d of %d by %s%s%s</span></h2>',
    min(TOP, #ok), #o.results, esc(o.metric), lower and " (lower is better)" or "",
    failed > 0 and fmt(", %d failed", failed) or "")
  b[#b + 1] = '<table class="best"><tr><th>#</th>'
  for _, p in ipairs(plist) do b[#b + 1] = "<th>" .. esc(p) .. "</th>" end
  for _, m in ipairs(cols) do b[#b + 1] = '<th class="num">' .. esc(m) .. "</th>" end
  if o.oos_results then b[#b + 1] = '<th class="num">' .. esc(o.metric) .. " (out of sample)</th>" end
  b[#b + 1] = "</tr>"
  for i = 1, min(TOP, #ok) do
    local r = ok[i]
    b[#b + 1] = fmt('<tr class="best-row" data-rank="%d"><td>%d</td>', i, i)
    for _, p in ipairs(plist) do
      local v = tbl(r.params)[p]
      b[#b + 1] = "<td>" .. esc(v == nil and "" or pval(v)) .. "</td>"
    end
    for _, m in ipairs(cols) do b[#b + 1] = '<td class="num">' .. esc(num(r.metrics[m])) .. "</td>" end
    if o.oos_results then
      local x = oos[params_text(r.params)]
      local v = x and type(x.metrics) == "table" and x.metrics[o.metric] or nil
      b[#b + 1] = '<td class="num">' .. esc(x and x.error ~= nil and "error" or num(v)) .. "</td>"
    end
    b[#b + 1] = "</tr>"
  end
  b[#b + 1] = "</table></div>"
end

-- Walk-forward ----------------------------------------------------------------

local function wf_chart(b, wf)
  local pts = {}
  for _, p in ipairs(tbl(wf.equity)) do
    if type(p) == "table" and secs(p[1]) and finite(p[2]) then pts[#pts + 1] = { secs(p[1]), p[2] } end
  end
  local windows = tbl(wf.windows)
  if #pts == 0 then
    b[#b + 1] = '<p class="muted">No out-of-sample equity.</p>'
    return
  end
  local t0, t1, lo, hi = pts[1][1], pts[#pts][1], huge, -huge
  for _, p in ipairs(pts) do lo, hi = min(lo, p[2]), max(hi, p[2]) end
  for _, w in ipairs(windows) do
    local test = tbl(w.test)
    if secs(test[1]) then t0 = min(t0, secs(test[1])) end
    if secs(test[2]) then t1 = max(t1, secs(test[2])) end
  end
  if t1 <= t0 then t1 = t0 + 1 end
  if hi <= lo then hi, lo = hi + 1, lo - 1 end
  local pad = (hi - lo) * 0.08
  lo, hi = lo - pad, hi + pad
  local W, H, L, R, T, B = 1000, 300, 76, 14, 22, 30
  local function X(t) return L + (t - t0) / (t1 - t0) * (W - L - R) end
  local function Y(v) return T + (hi - v) / (hi - lo) * (H - T - B) end
  b[#b + 1] = fmt('<svg class="chart wf" viewBox="0 0 %d %d" role="img" aria-label="stitched out-of-sample equity">', W, H)
  for k, w in ipairs(windows) do
    local test = tbl(w.test)
    local a, z = secs(test[1]), secs(test[2])
    if a and z then
      local xa, xz = X(max(a, t0)), X(min(z, t1))
      b[#b + 1] = fmt('<g class="window" data-window="%d"><rect class="win%d" x="%.1f" y="%d" width="%.1f" height="%d"/>'
        .. '<line class="wline" x1="%.1f" y1="%d" x2="%.1f" y2="%d"/><text class="wl" x="%.1f" y="%d">W%d</text>'
        .. '<title>window %d: test %s → %s, %s</title></g>',
        k, k % 2, xa, T, max(0, xz - xa), H - T - B, xa, T, xa, H - B, xa + 3, T - 6, k, k,
        esc(date_text(test[1])), esc(date_text(test[2])), esc(params_text(w.params)))
    end
  end
  for i = 0, 4 do
    local v = lo + (hi - lo) * i / 4
    b[#b + 1] = fmt('<line class="grid" x1="%d" y1="%.1f" x2="%d" y2="%.1f"/><text class="yl" x="%d" y="%.1f">%s</text>',
      L, Y(v), W - R, Y(v), L - 6, Y(v) + 4, esc(num(v, abs(v) >= 1000 and 0 or 2)))
  end
  b[#b + 1] = fmt('<text class="xl" x="%d" y="%d" text-anchor="start">%s</text><text class="xl" x="%d" y="%d" text-anchor="end">%s</text>',
    L, H - 10, esc(date_text(t0)), W - R, H - 10, esc(date_text(t1)))
  local d = {}
  for i, p in ipairs(pts) do d[i] = fmt("%s%.1f %.1f", i == 1 and "M" or "L", X(p[1]), Y(p[2])) end
  b[#b + 1] = fmt('<path class="eq" d="%s"/>', concat(d))
  b[#b + 1] = "</svg>"
end

local function wf_section(b, wf, metric)
  local windows = tbl(wf.windows)
  b[#b + 1] = fmt('<div class="card"><h2>Walk-forward <span class="note">%d window%s, out-of-sample pieces stitched; shaded: each test window</span></h2>',
    #windows, #windows == 1 and "" or "s")
  local ms = tbl(wf.metrics)
  b[#b + 1] = '<p class="figures">'
  for _, k in ipairs { "total_return", "sharpe", "max_drawdown" } do
    if ms[k] ~= nil then b[#b + 1] = fmt('<span><b>%s</b> %s</span> ', esc(k), esc(num(ms[k]))) end
  end
  b[#b + 1] = "</p>"
  wf_chart(b, wf)
  b[#b + 1] = fmt('<table class="windows"><tr><th>#</th><th>train</th><th>test</th><th>parameters</th>'
    .. '<th class="num">%s in sample</th><th class="num">%s out of sample</th></tr>', esc(metric), esc(metric))
  for k, w in ipairs(windows) do
    local tr, te = tbl(w.train), tbl(w.test)
    b[#b + 1] = fmt('<tr class="window-row" data-window="%d"><td>%d</td><td>%s → %s</td><td>%s → %s</td><td>%s</td>'
      .. '<td class="num">%s</td><td class="num">%s</td></tr>', k, k, esc(date_text(tr[1])), esc(date_text(tr[2])),
      esc(date_text(te[1])), esc(date_text(te[2])), esc(params_text(w.params)),
      esc(num(tbl(w.is)[metric])), esc(num(tbl(w.oos)[metric])))
  end
  b[#b + 1] = "</table></div>"
end

local CSS = [[
body{margin:0;background:#f4f6f9;color:#0f172a;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
.page{max-width:1120px;margin:0 auto;padding:28px 24px 40px}
header{border-bottom:2px solid #0f172a;padding-bottom:10px;margin-bottom:16px}
.eyebrow{font-size:11px;letter-spacing:.09em;text-transform:uppercase;color:#64748b;font-weight:600}
h1{font-size:24px;margin:4px 0 0;font-weight:650;overflow-wrap:anywhere}
.card{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:14px 16px;margin-bottom:16px}
.card h2{font-size:12px;letter-spacing:.07em;text-transform:uppercase;color:#334155;margin:0 0 8px}
.note{font-weight:400;text-transform:none;letter-spacing:0;color:#64748b;margin-left:6px}
.muted{color:#64748b}.figures span{margin-right:18px}
.heats{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:16px;margin-bottom:16px}
.heats .card{margin-bottom:0}
table{width:100%;border-collapse:collapse;font-variant-numeric:tabular-nums;font-size:13px}
th,td{padding:5px 8px;border-bottom:1px solid #e2e8f0;text-align:left}td.num,th.num{text-align:right}
svg{display:block;width:100%;height:auto}
svg text{font-size:11px;fill:#475569}
.heatmap .cell text{text-anchor:middle;fill:#0f172a;font-size:11px}.heatmap .cell text.dark{fill:#fff}
.heatmap .missing rect{fill:#f8fafc;stroke:#cbd5e1;stroke-dasharray:3 3}
.heatmap .error rect{fill:#fde68a;stroke:#b45309}.heatmap .error text{fill:#92400e}
.heatmap .xl,.heatmap .axisname{text-anchor:middle}.heatmap .yl{text-anchor:end}.heatmap .axisname.y{text-anchor:start}
.wf .win0{fill:#e0e7ff;fill-opacity:.55}.wf .win1{fill:#fef3c7;fill-opacity:.55}
.wf .wline{stroke:#6366f1;stroke-dasharray:4 3}.wf .grid{stroke:#eef1f5}.wf .yl{text-anchor:end}
.wf .eq{fill:none;stroke:#1d4ed8;stroke-width:1.8}.wf .wl{fill:#4338ca}
]]

-- Renders the page; see the header comment for opts.
function M.render(opts)
  opts = tbl(opts)
  local o = {
    title = opts.title ~= nil and tostring(opts.title) or "Parameter sweep",
    metric = opts.metric ~= nil and tostring(opts.metric) or "sharpe",
    x = opts.x ~= nil and tostring(opts.x) or nil,
    y = opts.y ~= nil and tostring(opts.y) or nil,
    oos_results = type(opts.oos_results) == "table" and opts.oos_results or nil,
  }
  local results = {}
  for _, r in ipairs(tbl(opts.results)) do if type(r) == "table" then results[#results + 1] = r end end
  o.results = results
  if o.x == nil then -- the first parameter by name
    local names = {}
    for _, r in ipairs(results) do for k in pairs(tbl(r.params)) do names[tostring(k)] = true end end
    local l = {}
    for k in pairs(names) do l[#l + 1] = k end
    sort(l)
    o.x, o.y = l[1], o.y or l[2]
  end
  local others = {}
  do
    local seen = {}
    for _, r in ipairs(results) do
      for k in pairs(tbl(r.params)) do
        k = tostring(k)
        if k ~= o.x and k ~= o.y and not seen[k] then seen[k] = true; others[#others + 1] = k end
      end
    end
    sort(others)
  end

  local b = {}
  b[#b + 1] = '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
  b[#b + 1] = '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'">'
  b[#b + 1] = '<meta name="viewport" content="width=device-width,initial-scale=1">'
  b[#b + 1] = "<title>" .. esc(o.title) .. " · gantry sweep</title><style>" .. CSS .. '</style></head><body><main class="page">'
  b[#b + 1] = '<header><div class="eyebrow">gantry · sweep report</div><h1>' .. esc(o.title) .. "</h1></header>"
  if #others > 0 then
    b[#b + 1] = fmt('<p class="note-others">Each cell is the best %s over %s (%d parameters; the heatmap shows %s%s).</p>',
      esc(o.metric), esc(concat(others, ", ")), #others + (o.y and 2 or 1), esc(o.x), o.y and (" and " .. esc(o.y)) or "")
  end
  b[#b + 1] = '<section class="heats">'
  heatmap(b, o.oos_results and "In sample" or "Sweep", results, o)
  if o.oos_results then
    local oos = {}
    for _, r in ipairs(o.oos_results) do if type(r) == "table" then oos[#oos + 1] = r end end
    heatmap(b, "Out of sample", oos, o)
  end
  b[#b + 1] = "</section>"
  best_table(b, o)
  if type(opts.walk_forward) == "table" then wf_section(b, opts.walk_forward, o.metric) end
  b[#b + 1] = "</main></body></html>\n"
  return concat(b)
end

M.escape = esc

return M
