--[[
gantry.report: the backtest tear sheet, one self-contained HTML page.

  local report = require "gantry.report"
  local html = report.render(data)      -- a string; the host writes report.html

`data` (every field optional; missing or malformed parts render as "n/a" or
an empty-state note, never an error):

  title    string                      page heading, e.g. "sma_cross on AAPL"
  summary  table  strategy, events, fills, round_trips, start_equity,
                  final_equity, total_return, sharpe, sortino, max_drawdown,
                  win_rate, elapsed_s, events_per_s (the summary.json fields).
                  total_return, max_drawdown and win_rate are fractions
                  (0.125 = 12.50%); max_drawdown is shown as a loss whatever
                  its sign. nan/inf/nil render "n/a". Unknown keys are listed too.
                  With oco_pairs (a run that had OCO pairs), bracket_ambiguous
                  is shown as "Bracket ambiguity: N of M OCO pairs".
  params   table  name -> value, shown sorted by name
  equity   { t = {ns...}, equity = {num...} }  parallel arrays, t in ns since
                  the epoch (UTC), ascending, already downsampled (<= ~2000)
  prices   { SYM = { t = {ns...}, close = {num...} }, ... }  downsampled closes
  fills    { {t=ns, symbol="AAPL", side="buy"|"sell", qty=100, price=101.5}, ... }
  status   "ok" or "failed" (a strategy failed and the run stopped: a banner
           says so above everything, with `error` (string) and `failed_at`
           (ns since the epoch, absent before the first event))

What a reader must know:
  * Pure: no io/os, no globals; the output depends only on `data`.
  * Nothing external: inline CSS and inline SVG only, no scripts, no URLs
    (a CSP meta tag forbids any fetch). Every piece of user text goes
    through esc(), which escapes & < > " '.
  * Charts put points at equal spacing by index (trading time), so nights,
    weekends and holidays take no room; x ticks sit where the calendar
    unit (minute .. decade) changes, at the finest unit that fits.
]]

local report = {}

local fmt, concat, sort = string.format, table.concat, table.sort
local floor, ceil, abs, huge, log = math.floor, math.ceil, math.abs, math.huge, math.log
local max, min = math.max, math.min

-- Floor division and the integer test on both VMs the host runs (Lua 5.4,
-- LuaJIT): 5.4's // (exact on integers, so timestamps in ns stay exact) where
-- there is one; LuaJIT has one number type, a double, and no // to parse.
local idiv = math.type and load("return function(a, b) return a // b end")()
  or function(a, b) return floor(a / b) end
local tointeger = math.tointeger or function(x) return x end
local function is_integer(v)
  if math.type then return math.type(v) == "integer" end
  return v == floor(v) and abs(v) < 2 ^ 53
end

-- Text and numbers ------------------------------------------------------------

local ESC = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&#39;" }

local function esc(s)
  return (tostring(s):gsub("[&<>\"']", ESC))
end

local function finite(x)
  return type(x) == "number" and x == x and x ~= huge and x ~= -huge
end

local function group_thousands(digits)
  local head = #digits % 3
  if #digits <= 3 then return digits end
  local out = head > 0 and { digits:sub(1, head) } or {}
  for i = head + 1, #digits, 3 do out[#out + 1] = digits:sub(i, i + 2) end
  return concat(out, ",")
end

-- A number with thousands separators and `decimals` places; "n/a" if not finite.
local function num(x, decimals)
  if not finite(x) then return "n/a" end
  local s = fmt(fmt("%%.%df", decimals or 0), abs(x))
  local int, frac = s:match("^(%d+)(.*)$")
  if not int then return s end -- e.g. 1e300 printed in full is still digits
  local negative = x < 0 and s:find("[1-9]") ~= nil
  return (negative and "-" or "") .. group_thousands(int) .. frac
end

local function pct(x, decimals)
  if not finite(x) then return "n/a" end
  return num(x * 100, decimals or 2) .. "%"
end

-- Decimal places that print every multiple of `step` exactly (2.5 needs one).
local function step_decimals(step)
  if not finite(step) or step <= 0 then return 0 end
  local d = max(0, -floor(log(step, 10) + 1e-9)) + 0 -- + 0: never -0 (LuaJIT)
  while d < 8 and abs(tonumber(fmt(fmt("%%.%df", d), step)) - step) > step * 1e-6 do d = d + 1 end
  return min(d, 8)
end

-- Axis labels: compact for millions and up (one unit for the whole axis,
-- chosen by its largest label), decimals enough for the step.
local function axis_num(v, step, biggest)
  local a, scale, suffix = max(abs(v), biggest or 0), 1, ""
  if a >= 1e9 then scale, suffix = 1e9, "B"
  elseif a >= 1e6 then scale, suffix = 1e6, "M" end
  if a >= 1e15 or (step > 0 and step / scale < 1e-6) then return fmt("%.4g", v) end
  return num(v / scale, step_decimals(step / scale)) .. suffix
end

-- Time --------------------------------------------------------------------------

local NS = 1000000000

local function civil_from_days(z)
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

local function seconds(t)
  local s = idiv(t, NS)
  return tointeger(s) or s
end

local function date_of(s)
  return fmt("%04d-%02d-%02d", civil_from_days(idiv(s, 86400)))
end

local function hhmm(s)
  local sod = s % 86400
  return fmt("%02d:%02d", idiv(sod, 3600), idiv(sod % 3600, 60))
end

local function iso_time(t)
  if not finite(t) then return "n/a" end
  local s = seconds(t)
  if s % 86400 == 0 then return date_of(s) end
  return date_of(s) .. " " .. hhmm(s)
end

-- Calendar units for x ticks, finest first. key(s, y, m) changes at a boundary.
local UNITS = {
  { sub_day = true, key = function(s) return idiv(s, 60) end },
  { sub_day = true, key = function(s) return idiv(s, 300) end },
  { sub_day = true, key = function(s) return idiv(s, 900) end },
  { sub_day = true, key = function(s) return idiv(s, 1800) end },
  { sub_day = true, key = function(s) return idiv(s, 3600) end },
  { sub_day = true, key = function(s) return idiv(s, 7200) end },
  { sub_day = true, key = function(s) return idiv(s, 21600) end },
  { key = function(s) return idiv(s, 86400) end },
  { key = function(s) return idiv(idiv(s, 86400) - 4, 7) end },     -- weeks from Monday
  { key = function(_, y, m) return y * 12 + m end },
  { key = function(_, y, m) return y * 4 + idiv(m - 1, 3) end },
  { key = function(_, y) return y end },
  { key = function(_, y) return idiv(y, 2) end },
  { key = function(_, y) return idiv(y, 5) end },
  { key = function(_, y) return idiv(y, 10) end },
  { key = function(_, y) return idiv(y, 50) end },
}

-- Indices (into t) where x tick labels go, and each label's lines.
local function time_ticks(t, n, max_ticks)
  if n == 0 then return {} end
  local secs, ys, ms, intraday = {}, {}, {}, false
  for i = 1, n do
    local ti = t[i]
    local s = finite(ti) and seconds(ti) or 0
    secs[i] = s
    ys[i], ms[i] = civil_from_days(idiv(s, 86400))
    if s % 86400 ~= 0 then intraday = true end
  end
  -- The finest unit whose boundaries fit; when that leaves too few ticks,
  -- every k-th boundary of the next finer unit instead.
  local chosen, idx, finer, finer_unit
  for _, u in ipairs(UNITS) do
    if intraday or not u.sub_day then
      local list, prev = {}, u.key(secs[1], ys[1], ms[1])
      for i = 2, n do
        local k = u.key(secs[i], ys[i], ms[i])
        if k ~= prev then list[#list + 1] = i; prev = k end
      end
      if #list <= max_ticks then chosen, idx = u, list; break end
      finer, finer_unit = list, u
    end
  end
  if finer and (not idx or #idx < 3) then
    local stride = ceil(#finer / max_ticks)
    idx, chosen = {}, finer_unit
    for k = 1, #finer, stride do idx[#idx + 1] = finer[k] end
  end
  idx = idx or {}
  if #idx < 2 then table.insert(idx, 1, 1) end
  if #idx < 2 and n > 1 then idx[#idx + 1] = n end
  local ticks, last_day = {}, nil
  for _, i in ipairs(idx) do
    local s = secs[i]
    local day = date_of(s)
    local tick = { i = i }
    if chosen and chosen.sub_day then
      tick[1] = hhmm(s)
      if day ~= last_day then tick[2] = day end
    elseif intraday and not chosen then
      tick[1], tick[2] = hhmm(s), day
    else
      tick[1] = day
    end
    last_day = day
    ticks[#ticks + 1] = tick
  end
  return ticks
end

-- Scales ----------------------------------------------------------------------------

local function nice_step(range, target)
  local raw = range / target
  local mag = 10 ^ floor(log(raw, 10))
  local r = raw / mag
  local k = r < 1.5 and 1 or r < 2.25 and 2 or r < 3.5 and 2.5 or r < 7 and 5 or 10
  return k * mag
end

-- A y scale over [lo, hi] with padding and nice ticks. Flat or empty input
-- gets a made-up range so nothing divides by zero.
local function y_scale(lo, hi, opts)
  opts = opts or {}
  if not (finite(lo) and finite(hi)) then lo, hi = 0, 1 end
  if hi - lo <= abs(hi) * 1e-12 or not finite(hi - lo) then
    local pad = lo ~= 0 and abs(lo) * 0.01 or 1
    lo, hi = lo - pad, hi + pad
    if opts.top_zero then hi = 0 end
  end
  local pad = (hi - lo) * (opts.pad or 0.06)
  if not opts.top_zero then hi = hi + pad end
  lo = lo - pad
  local step = nice_step(hi - lo, opts.target or 5)
  local ticks = {}
  if finite(step) and step > 0 then
    local v = ceil(lo / step) * step
    while v <= hi + step * 1e-9 and #ticks < 20 do
      ticks[#ticks + 1] = abs(v) < step * 1e-9 and 0 or v
      v = v + step
    end
  end
  return { lo = lo, hi = hi, step = step, ticks = ticks }
end

-- Charts ------------------------------------------------------------------------------

local ids = 0
local function new_id(prefix)
  ids = ids + 1
  return prefix .. ids
end

-- A plot frame: maps point index -> x and value -> y inside the margins.
local function frame(w, h, n, ys, margin)
  local m = margin or {}
  local left, right, top, bottom = m.left or 72, m.right or 18, m.top or 12, m.bottom or 30
  local pw, ph = w - left - right, h - top - bottom
  local lo, hi, span = ys.lo, ys.hi, ys.hi - ys.lo
  local f = { w = w, h = h, left = left, right = w - right, top = top, bottom = h - bottom, ys = ys, n = n }
  function f.x(i)
    if n <= 1 then return left + pw / 2 end
    return left + (i - 1) * pw / (n - 1)
  end
  function f.y(v)
    if v > hi then v = hi elseif v < lo then v = lo end
    return top + (hi - v) * ph / span
  end
  return f
end

local function svg_open(b, f, label)
  b[#b + 1] = fmt('<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s">',
                  f.w, f.h, esc(label))
end

local function draw_y_axis(b, f, fmt_tick)
  local biggest = 0
  for _, v in ipairs(f.ys.ticks) do biggest = max(biggest, abs(v)) end
  for _, v in ipairs(f.ys.ticks) do
    local y = f.y(v)
    b[#b + 1] = fmt('<line class="grid" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>',
                    f.left, y, f.right, y)
    b[#b + 1] = fmt('<text class="yl" x="%.1f" y="%.1f">%s</text>',
                    f.left - 8, y + 4, esc(fmt_tick(v, f.ys.step, biggest)))
  end
end

local function draw_x_axis(b, f, ticks, labels)
  b[#b + 1] = fmt('<line class="axis" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>',
                  f.left, f.bottom, f.right, f.bottom)
  local last_x = -huge
  for _, tk in ipairs(ticks) do
    local x = f.x(tk.i)
    local wide = (tk[2] and #tk[2] or #tk[1]) * 6.4
    if x - last_x >= wide + 12 and x - wide / 2 >= 2 and x + wide / 2 <= f.w - 2 then
      b[#b + 1] = fmt('<line class="vgrid" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>',
                      x, f.top, x, f.bottom)
      if labels then
        b[#b + 1] = fmt('<text class="xl" x="%.1f" y="%.1f">%s</text>',
                        x, f.bottom + 15, esc(tk[1]))
        if tk[2] then
          b[#b + 1] = fmt('<text class="xl xd" x="%.1f" y="%.1f">%s</text>',
                          x, f.bottom + 28, esc(tk[2]))
        end
      end
      last_x = x
    end
  end
end

-- Path through the finite values; a non-finite value breaks the line.
local function line_path(f, vals, n)
  local parts, k, pen = {}, 0, "M"
  local x, y = f.x, f.y
  for i = 1, n do
    local v = vals[i]
    if finite(v) then
      k = k + 1
      parts[k] = fmt("%s%.1f %.1f", pen, x(i), y(v))
      pen = "L"
    else
      pen = "M"
    end
  end
  return concat(parts), k
end

-- Closed area between the line and `base`, only when every value is finite.
local function area_path(f, vals, n, base)
  for i = 1, n do if not finite(vals[i]) then return nil end end
  local line = line_path(f, vals, n)
  if n < 2 then return nil end
  local yb = f.y(base)
  return fmt("%sL%.1f %.1fL%.1f %.1fZ", line, f.x(n), yb, f.x(1), yb)
end

local function finite_range(vals, n, extra)
  local lo, hi = huge, -huge
  for i = 1, n do
    local v = vals[i]
    if finite(v) then
      if v < lo then lo = v end
      if v > hi then hi = v end
    end
  end
  for _, v in ipairs(extra or {}) do
    if finite(v) then
      if v < lo then lo = v end
      if v > hi then hi = v end
    end
  end
  if lo > hi then return nil end
  return lo, hi
end

local function single_points(b, f, vals, n, cls)
  local _, k = line_path(f, vals, n)
  if k ~= 1 then return end
  for i = 1, n do
    if finite(vals[i]) then
      b[#b + 1] = fmt('<circle class="%s" cx="%.1f" cy="%.1f" r="3.5"/>', cls, f.x(i), f.y(vals[i]))
    end
  end
end

local function empty_chart(b, w, h, message)
  b[#b + 1] = fmt('<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s">', w, h, esc(message))
  b[#b + 1] = fmt('<rect class="empty" x="1" y="1" width="%d" height="%d" rx="6"/>', w - 2, h - 2)
  b[#b + 1] = fmt('<text class="emptytext" x="%d" y="%d">%s</text></svg>', idiv(w, 2), idiv(h, 2) + 5, esc(message))
end

-- Series helpers ----------------------------------------------------------------------

local function series(tbl, key)
  if type(tbl) ~= "table" or type(tbl.t) ~= "table" or type(tbl[key]) ~= "table" then
    return {}, {}, 0
  end
  local n = min(#tbl.t, #tbl[key])
  return tbl.t, tbl[key], n
end

-- Underwater curve (fraction below the running peak) and the worst dip.
local function drawdown(eq, n)
  local dd, peak = {}, -huge
  local worst, worst_i, worst_peak_i, peak_i = 0, nil, nil, nil
  for i = 1, n do
    local v = eq[i]
    if finite(v) then
      if v > peak then peak, peak_i = v, i end
      local d = peak > 0 and v / peak - 1 or (peak < 0 and (v - peak) / -peak or 0)
      dd[i] = d
      if d < worst then worst, worst_i, worst_peak_i = d, i, peak_i end
    else
      dd[i] = 0 / 0
    end
  end
  return dd, worst, worst_peak_i, worst_i
end

-- Sections ------------------------------------------------------------------------------

local W = 1000

local function equity_chart(b, t, eq, n, ticks)
  local lo, hi = finite_range(eq, n)
  if not lo then
    empty_chart(b, W, 120, "No equity data")
    return
  end
  local f = frame(W, 300, n, y_scale(lo, hi), { bottom = ticks.two_lines and 40 or 30 })
  local _, worst, pi, ti = drawdown(eq, n)
  local gid = new_id("eqfill")
  svg_open(b, f, "Equity curve")
  b[#b + 1] = fmt('<defs><linearGradient id="%s" x1="0" y1="0" x2="0" y2="1">'
    .. '<stop offset="0" stop-color="#2563eb" stop-opacity="0.20"/>'
    .. '<stop offset="1" stop-color="#2563eb" stop-opacity="0.02"/></linearGradient></defs>', gid)
  if pi and ti and ti > pi and n > 1 then
    local x1, x2 = f.x(pi), f.x(ti)
    b[#b + 1] = fmt('<rect class="ddzone" x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>',
                    x1, f.top, x2 - x1, f.bottom - f.top)
    local lx, anchor = x1 + 4, "start"
    if lx > f.right - 120 then lx, anchor = x2 - 4, "end" end
    b[#b + 1] = fmt('<text class="ddnote" x="%.1f" y="%.1f" text-anchor="%s">max drawdown %s</text>',
                    lx, f.top + 14, anchor, esc(pct(worst)))
  end
  draw_y_axis(b, f, axis_num)
  draw_x_axis(b, f, ticks, true)
  local first
  for i = 1, n do if finite(eq[i]) then first = eq[i]; break end end
  local yb = f.y(first)
  b[#b + 1] = fmt('<line class="base" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>', f.left, yb, f.right, yb)
  local area = area_path(f, eq, n, f.ys.lo)
  if area then b[#b + 1] = fmt('<path d="%s" fill="url(#%s)" stroke="none"/>', area, gid) end
  b[#b + 1] = fmt('<path class="eq" d="%s"/>', (line_path(f, eq, n)))
  single_points(b, f, eq, n, "eqdot")
  local last
  for i = n, 1, -1 do if finite(eq[i]) then last = i; break end end
  b[#b + 1] = fmt('<circle class="eqdot" cx="%.1f" cy="%.1f" r="3"/>', f.x(last), f.y(eq[last]))
  b[#b + 1] = "</svg>"
end

local function drawdown_chart(b, eq, n, ticks)
  local dd = drawdown(eq, n)
  local lo = finite_range(dd, n)
  if not lo then
    empty_chart(b, W, 90, "No drawdown data")
    return
  end
  if lo > -1e-9 then lo = -0.01 end -- never below its peak: show a 1% scale
  local f = frame(W, 170, n, y_scale(lo, 0, { top_zero = true, target = 4, pad = 0.08 }),
                  { bottom = ticks.two_lines and 40 or 30 })
  svg_open(b, f, "Drawdown from peak")
  draw_y_axis(b, f, function(v, step)
    return num(v * 100, step_decimals(step * 100)) .. "%"
  end)
  draw_x_axis(b, f, ticks, true)
  local area = area_path(f, dd, n, 0)
  if area then b[#b + 1] = fmt('<path class="ddarea" d="%s"/>', area) end
  b[#b + 1] = fmt('<path class="ddline" d="%s"/>', (line_path(f, dd, n)))
  local y0 = f.y(0)
  b[#b + 1] = fmt('<line class="zero" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>', f.left, y0, f.right, y0)
  b[#b + 1] = "</svg>"
end

-- Fractional index of time `tf` in ascending `t` (clamped to the ends).
local function index_of_time(t, n, tf)
  if n == 0 then return nil end
  if tf <= t[1] then return 1 end
  if tf >= t[n] then return n end
  local lo, hi = 1, n
  while hi - lo > 1 do
    local mid = idiv(lo + hi, 2)
    if t[mid] <= tf then lo = mid else hi = mid end
  end
  local span = t[hi] - t[lo]
  if span <= 0 then return lo end
  return lo + (tf - t[lo]) / span
end

local function fill_title(fl)
  return fmt("%s %s %s @ %s · %s", fl.side, num(tonumber(fl.qty) or 0 / 0, 0),
             tostring(fl.symbol), num(fl.price, 2), iso_time(fl.t))
end

local MARKERS_WITH_TITLES = 400

local function draw_fills(b, f, t, n, fills)
  local buys, sells, titled = {}, {}, #fills <= MARKERS_WITH_TITLES
  for _, fl in ipairs(fills) do
    local fi = finite(fl.t) and index_of_time(t, n, fl.t)
    if fi and finite(fl.price) then
      local x, y = f.x(fi), f.y(fl.price)
      local buy = fl.side == "buy"
      local pts = buy
        and fmt("M%.1f %.1fL%.1f %.1fL%.1f %.1fZ", x, y + 3, x - 5, y + 12, x + 5, y + 12)
        or fmt("M%.1f %.1fL%.1f %.1fL%.1f %.1fZ", x, y - 3, x - 5, y - 12, x + 5, y - 12)
      if titled then
        b[#b + 1] = fmt('<path class="%s" d="%s"><title>%s</title></path>',
                        buy and "buy" or "sell", pts, esc(fill_title(fl)))
      else
        local list = buy and buys or sells
        list[#list + 1] = pts
      end
    end
  end
  if #buys > 0 then b[#b + 1] = fmt('<path class="buy" d="%s"/>', concat(buys)) end
  if #sells > 0 then b[#b + 1] = fmt('<path class="sell" d="%s"/>', concat(sells)) end
end

local function price_chart(b, sym, px, fills, w, max_ticks)
  local t, close, n = series(px, "close")
  local fill_prices = {}
  for i, fl in ipairs(fills) do fill_prices[i] = fl.price end
  local lo, hi = finite_range(close, n, fill_prices)
  if not lo or n == 0 then
    empty_chart(b, w, 110, "No price data for " .. sym)
    return
  end
  local ticks = time_ticks(t, n, max_ticks)
  local two = false
  for _, tk in ipairs(ticks) do if tk[2] then two = true end end
  local f = frame(w, 250, n, y_scale(lo, hi, { pad = 0.12, target = 4 }),
                  { left = 62, bottom = two and 40 or 30 })
  svg_open(b, f, "Price and fills for " .. sym)
  draw_y_axis(b, f, axis_num)
  draw_x_axis(b, f, ticks, true)
  b[#b + 1] = fmt('<path class="px" d="%s"/>', (line_path(f, close, n)))
  single_points(b, f, close, n, "pxdot")
  draw_fills(b, f, t, n, fills)
  b[#b + 1] = "</svg>"
end

local function kpi(b, label, value, cls)
  b[#b + 1] = fmt('<div class="kpi"><div class="label">%s</div><div class="value%s">%s</div></div>',
                  esc(label), cls and (" " .. cls) or "", esc(value))
end

-- "pos" / "neg" for a fraction shown with `decimals` places as a percentage;
-- nothing when it would print as zero.
local function sign_class(x, decimals)
  if not finite(x) or abs(x) < 0.5 * 10 ^ -((decimals or 2) + 2) then return nil end
  return x > 0 and "pos" or "neg"
end

local function neg_abs(x)
  if not finite(x) then return x end
  return -abs(x)
end

local function plain(v)
  if type(v) == "number" then
    if not finite(v) then return "n/a" end
    if is_integer(v) then return num(v, 0) end
    return fmt("%.6g", v)
  end
  if type(v) == "table" then
    local parts = {}
    for k, x in pairs(v) do parts[#parts + 1] = tostring(k) .. "=" .. tostring(x) end
    sort(parts)
    return "{" .. concat(parts, ", ") .. "}"
  end
  if v == nil then return "n/a" end
  return tostring(v)
end

local function money(x) return num(x, 2) end
local function count(x) return finite(x) and num(x, 0) or "n/a" end

-- The summary fields in display order with their formatters.
local SUMMARY_ROWS = {
  { "strategy", "Strategy", plain },
  { "start_equity", "Start equity", money },
  { "final_equity", "Final equity", money },
  { "total_return", "Total return", pct },
  { "sharpe", "Sharpe ratio", function(x) return num(x, 2) end },
  { "sortino", "Sortino ratio", function(x) return num(x, 2) end },
  { "max_drawdown", "Max drawdown", function(x) return pct(neg_abs(x)) end },
  { "win_rate", "Win rate", pct },
  { "round_trips", "Round trips", count },
  { "fills", "Fills", count },
  { "events", "Events", count },
  { "elapsed_s", "Elapsed", function(x) return finite(x) and fmt("%.3f s", x) or "n/a" end },
  { "events_per_s", "Events / s", count },
}

local function summary_table(b, s, period)
  b[#b + 1] = '<table class="kv">'
  local known = {}
  for _, row in ipairs(SUMMARY_ROWS) do
    local key, label, f = row[1], row[2], row[3]
    known[key] = true
    b[#b + 1] = fmt('<tr><th>%s</th><td class="num">%s</td></tr>', esc(label), esc(f(s[key])))
    if key == "strategy" and period then
      b[#b + 1] = fmt('<tr><th>Period</th><td class="num">%s</td></tr>', esc(period))
    end
  end
  if s.oco_pairs then -- a run with OCO pairs: how often a bar reached both of one
    known.oco_pairs, known.bracket_ambiguous = true, true
    b[#b + 1] = fmt('<tr><th>Bracket ambiguity</th><td class="num">%s</td></tr>',
      esc(fmt("%s of %s OCO pairs (a bar reached both exits: stop-loss assumed first)",
        count(s.bracket_ambiguous), count(s.oco_pairs))))
  end
  local extra = {}
  for k in pairs(s) do if not known[k] then extra[#extra + 1] = tostring(k) end end
  sort(extra)
  for _, k in ipairs(extra) do
    b[#b + 1] = fmt('<tr><th>%s</th><td class="num">%s</td></tr>', esc(k), esc(plain(s[k])))
  end
  b[#b + 1] = "</table>"
end

local function params_table(b, params)
  local keys = {}
  for k in pairs(params) do keys[#keys + 1] = tostring(k) end
  sort(keys)
  if #keys == 0 then
    b[#b + 1] = '<p class="muted">No parameters.</p>'
    return
  end
  local by_name = {}
  for k, v in pairs(params) do by_name[tostring(k)] = v end
  b[#b + 1] = '<table class="kv">'
  for _, k in ipairs(keys) do
    b[#b + 1] = fmt('<tr><th><code>%s</code></th><td class="num">%s</td></tr>', esc(k), esc(plain(by_name[k])))
  end
  b[#b + 1] = "</table>"
end

-- Month-by-month returns from the (downsampled) equity curve: each month's
-- last value against the previous month's last value.
local MONTHS = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" }

local function monthly_returns(b, t, eq, n)
  local ends, order = {}, {}
  local first_val
  for i = 1, n do
    if finite(t[i]) and finite(eq[i]) then
      first_val = first_val or eq[i]
      local y, m = civil_from_days(idiv(seconds(t[i]), 86400))
      local key = y * 12 + m - 1
      if not ends[key] then order[#order + 1] = key end
      ends[key] = eq[i]
    end
  end
  if #order < 2 then return false end
  local years, cells, year_ret, prev = {}, {}, {}, first_val
  local year_start, biggest = {}, 0
  for _, key in ipairs(order) do
    local y = idiv(key, 12)
    if not year_start[y] then year_start[y] = prev; years[#years + 1] = y end
    local r = prev ~= 0 and ends[key] / prev - 1 or 0 / 0
    cells[key] = r
    if finite(r) and abs(r) > biggest then biggest = abs(r) end
    prev = ends[key]
    year_ret[y] = year_start[y] ~= 0 and ends[key] / year_start[y] - 1 or 0 / 0
  end
  b[#b + 1] = '<table class="months"><tr><th></th>'
  for _, name in ipairs(MONTHS) do b[#b + 1] = "<th>" .. name .. "</th>" end
  b[#b + 1] = "<th>Year</th></tr>"
  for _, y in ipairs(years) do
    b[#b + 1] = fmt("<tr><th>%d</th>", y)
    for m = 0, 11 do
      local r = cells[y * 12 + m]
      if r == nil then
        b[#b + 1] = "<td></td>"
      elseif not finite(r) then
        b[#b + 1] = "<td>n/a</td>"
      else
        local a = biggest > 0 and 0.08 + 0.5 * abs(r) / biggest or 0
        local rgb = r >= 0 and "22,163,74" or "220,38,38"
        b[#b + 1] = fmt('<td style="background:rgba(%s,%.2f)">%s</td>', rgb, a, esc(pct(r, 1)))
      end
    end
    b[#b + 1] = fmt('<td class="yr %s">%s</td></tr>', sign_class(year_ret[y], 1) or "", esc(pct(year_ret[y], 1)))
  end
  b[#b + 1] = "</table>"
  return true
end

local FILL_ROWS = 500

local function fills_table(b, fills)
  b[#b + 1] = fmt('<details class="card"><summary>Fills <span class="note">%s</span></summary>',
                  esc(#fills > FILL_ROWS and fmt("first %d of %s", FILL_ROWS, num(#fills, 0))
                      or num(#fills, 0)))
  b[#b + 1] = '<table class="fills"><tr><th>Time (UTC)</th><th>Symbol</th><th>Side</th>'
    .. '<th class="num">Qty</th><th class="num">Price</th><th class="num">Notional</th></tr>'
  for i = 1, min(#fills, FILL_ROWS) do
    local fl = fills[i]
    local qty, price = tonumber(fl.qty), fl.price
    b[#b + 1] = fmt('<tr><td>%s</td><td>%s</td><td class="%s">%s</td><td class="num">%s</td>'
      .. '<td class="num">%s</td><td class="num">%s</td></tr>',
      esc(iso_time(fl.t)), esc(plain(fl.symbol)), fl.side == "buy" and "pos" or "neg",
      esc(plain(fl.side)), esc(num(qty, 0)), esc(num(price, 2)),
      esc(num(finite(qty) and finite(price) and qty * price or nil, 2)))
  end
  b[#b + 1] = "</table></details>"
end

local MAX_SYMBOL_CHARTS = 48

local function symbols_section(b, prices, fills)
  local by_sym, names, seen = {}, {}, {}
  for _, fl in ipairs(fills) do
    local s = tostring(fl.symbol)
    by_sym[s] = by_sym[s] or {}
    by_sym[s][#by_sym[s] + 1] = fl
    if not seen[s] then seen[s] = true; names[#names + 1] = s end
  end
  for s in pairs(prices) do
    s = tostring(s)
    if not seen[s] then seen[s] = true; names[#names + 1] = s end
  end
  if #names == 0 then return end
  sort(names)
  local multi = #names > 2
  local w = multi and 560 or W
  b[#b + 1] = fmt('<h2 class="section">Prices and fills <span class="note">%s</span></h2>',
                  esc(num(#names, 0) .. (#names == 1 and " symbol" or " symbols")
                      .. " · ▲ buy  ▼ sell"))
  b[#b + 1] = multi and '<div class="symgrid multi">' or '<div class="symgrid">'
  for k, sym in ipairs(names) do
    if k > MAX_SYMBOL_CHARTS then break end
    local list = by_sym[sym] or {}
    local nb, ns = 0, 0
    for _, fl in ipairs(list) do if fl.side == "buy" then nb = nb + 1 else ns = ns + 1 end end
    local px = prices[sym]
    if px == nil then
      for key, v in pairs(prices) do if tostring(key) == sym then px = v end end
    end
    local _, close, n = series(px, "close")
    local last = n > 0 and close[n] or nil
    b[#b + 1] = fmt('<div class="card sym"><h3>%s <span class="note">%s buys · %s sells%s</span></h3>',
                    esc(sym), num(nb, 0), num(ns, 0),
                    finite(last) and (" · last " .. esc(num(last, 2))) or "")
    price_chart(b, sym, px, list, w, multi and 6 or 9)
    b[#b + 1] = "</div>"
  end
  b[#b + 1] = "</div>"
  if #names > MAX_SYMBOL_CHARTS then
    b[#b + 1] = fmt('<p class="muted">%d more symbols not charted.</p>', #names - MAX_SYMBOL_CHARTS)
  end
end

local CSS = [[
:root{--fg:#0f172a;--muted:#64748b;--line:#e2e8f0;--bg:#f4f6f9;--card:#fff;--pos:#15803d;--neg:#b91c1c}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
.page{max-width:1120px;margin:0 auto;padding:28px 24px 40px}
header{display:flex;justify-content:space-between;align-items:flex-end;gap:16px;border-bottom:2px solid var(--fg);padding-bottom:12px;margin-bottom:18px}
.eyebrow{font-size:11px;letter-spacing:.09em;text-transform:uppercase;color:var(--muted);font-weight:600}
h1{font-size:26px;line-height:1.2;margin:4px 0 0;font-weight:650;overflow-wrap:anywhere}
.meta{color:var(--muted);font-size:13px;text-align:right;white-space:nowrap}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:12px;margin-bottom:16px}
.kpi{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 14px}
.kpi .label{font-size:11px;letter-spacing:.05em;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;text-transform:uppercase;color:var(--muted);font-weight:600}
.kpi .value{font-size:22px;font-weight:600;margin-top:2px;font-variant-numeric:tabular-nums;white-space:nowrap}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:14px 16px;margin-bottom:16px}
.card h2,.card h3,h2.section,details summary{font-size:12px;letter-spacing:.07em;text-transform:uppercase;color:#334155;margin:0 0 8px;font-weight:700}
h2.section{margin:24px 0 10px}
.note{font-weight:400;text-transform:none;letter-spacing:0;color:var(--muted);margin-left:6px}
.pos{color:var(--pos)}.neg{color:var(--neg)}.muted{color:var(--muted)}
.cols{display:grid;grid-template-columns:3fr 2fr;gap:16px;align-items:start}
.cols .card{margin-bottom:0}
@media (max-width:760px){.cols{grid-template-columns:1fr}header{display:block}.meta{text-align:left}}
table{width:100%;border-collapse:collapse;font-variant-numeric:tabular-nums;font-size:13px}
th,td{padding:5px 8px;border-bottom:1px solid var(--line);text-align:left}
table.kv th{font-weight:500;color:#475569}
td.num,th.num{text-align:right}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
table.months th,table.months td{text-align:right;padding:4px 6px;font-size:12px}
table.months th{color:#475569;font-weight:600}
table.months td.yr{font-weight:700;border-left:2px solid var(--line)}
.scroll{overflow-x:auto}
.symgrid{display:grid;grid-template-columns:1fr;gap:16px}
.symgrid .card{margin-bottom:0}
.symgrid.multi{grid-template-columns:repeat(auto-fill,minmax(420px,1fr))}
details summary{cursor:pointer;margin:0}
details[open] summary{margin-bottom:10px}
table.fills{font-size:12px}
footer{margin-top:28px;color:var(--muted);font-size:12px;border-top:1px solid var(--line);padding-top:10px}
svg.chart{display:block;width:100%;height:auto;overflow:visible}
svg.chart text{font-size:11px;fill:#64748b;font-variant-numeric:tabular-nums}
svg.chart .yl{text-anchor:end}
svg.chart .xl{text-anchor:middle}
svg.chart .xd{fill:#94a3b8}
svg.chart .grid{stroke:#e9edf2;stroke-width:1}
svg.chart .vgrid{stroke:#f1f4f7;stroke-width:1}
svg.chart .axis{stroke:#94a3b8;stroke-width:1}
svg.chart .base{stroke:#94a3b8;stroke-width:1;stroke-dasharray:4 4}
svg.chart .zero{stroke:#64748b;stroke-width:1}
svg.chart .eq{fill:none;stroke:#1d4ed8;stroke-width:1.8;stroke-linejoin:round}
svg.chart .eqdot{fill:#1d4ed8}
svg.chart .ddzone{fill:#dc2626;fill-opacity:.06}
svg.chart .ddnote{fill:#b91c1c;font-size:11px}
svg.chart .ddarea{fill:#dc2626;fill-opacity:.18}
svg.chart .ddline{fill:none;stroke:#b91c1c;stroke-width:1.3;stroke-linejoin:round}
svg.chart .px{fill:none;stroke:#334155;stroke-width:1.4;stroke-linejoin:round}
svg.chart .pxdot{fill:#334155}
svg.chart .buy{fill:#16a34a;stroke:#fff;stroke-width:.8}
svg.chart .sell{fill:#dc2626;stroke:#fff;stroke-width:.8}
svg.chart .empty{fill:#f8fafc;stroke:#e2e8f0;stroke-dasharray:4 4}
svg.chart .emptytext{text-anchor:middle;font-size:13px;fill:#94a3b8}
@media print{body{background:#fff}.card,.kpi{border-color:#cbd5e1;break-inside:avoid}}
]]

local function tbl(x) return type(x) == "table" and x or {} end

-- A failed run's figures stop where it failed: say so first, in red, so no
-- one reads a half run as a result. Inline style: a successful run's page
-- stays byte for byte what it was.
local function failure_banner(b, data)
  local at = finite(data.failed_at) and ("at " .. iso_time(data.failed_at)) or "before the first event"
  b[#b + 1] = '<section class="card" role="alert" style="border:2px solid #b91c1c;background:#fef2f2;color:#7f1d1d">'
  b[#b + 1] = fmt("<h2 style=\"color:#b91c1c\">This run failed %s</h2>", esc(at))
  b[#b + 1] = "<p>A strategy failed and the run stopped there: every figure below covers the run "
    .. "only up to that point and is not a result.</p>"
  if data.error ~= nil then b[#b + 1] = "<p><code>" .. esc(plain(data.error)) .. "</code></p>" end
  b[#b + 1] = "</section>"
end

-- Render the report; see the header comment for the shape of `data`.
function report.render(data)
  ids = 0
  data = tbl(data)
  local s, params, prices = tbl(data.summary), tbl(data.params), tbl(data.prices)
  local fills = {}
  for _, fl in ipairs(tbl(data.fills)) do
    if type(fl) == "table" then fills[#fills + 1] = fl end
  end
  local t, eq, n = series(data.equity, "equity")
  local title = data.title ~= nil and tostring(data.title)
    or (s.strategy ~= nil and tostring(s.strategy) or "Backtest")
  local period
  if n > 0 and finite(t[1]) and finite(t[n]) then
    period = iso_time(t[1]) .. " → " .. iso_time(t[n])
  end

  local b = {}
  b[#b + 1] = '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
  b[#b + 1] = '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'; img-src data:">'
  b[#b + 1] = '<meta name="viewport" content="width=device-width,initial-scale=1">'
  b[#b + 1] = "<title>" .. esc(title) .. " · gantry report</title><style>" .. CSS .. "</style></head><body><main class=\"page\">"

  b[#b + 1] = '<header><div><div class="eyebrow">gantry · backtest report</div><h1>' .. esc(title) .. "</h1></div>"
  b[#b + 1] = '<div class="meta">'
  if s.strategy ~= nil then b[#b + 1] = "strategy <strong>" .. esc(plain(s.strategy)) .. "</strong><br>" end
  b[#b + 1] = esc(period or "no equity data") .. "<br>all times UTC</div></header>"
  if data.status == "failed" then failure_banner(b, data) end

  b[#b + 1] = '<section class="kpis">'
  kpi(b, "Total return", pct(s.total_return), sign_class(s.total_return))
  kpi(b, "Sharpe", num(s.sharpe, 2))
  kpi(b, "Sortino", num(s.sortino, 2))
  kpi(b, "Max drawdown", pct(neg_abs(s.max_drawdown)), finite(s.max_drawdown) and s.max_drawdown ~= 0 and "neg" or nil)
  kpi(b, "Win rate", pct(s.win_rate))
  kpi(b, "Final equity", num(s.final_equity, finite(s.final_equity) and abs(s.final_equity) >= 1e4 and 0 or 2))
  b[#b + 1] = "</section>"

  local ticks = time_ticks(t, n, 9)
  for _, tk in ipairs(ticks) do if tk[2] then ticks.two_lines = true end end
  b[#b + 1] = fmt('<section class="card"><h2>Equity <span class="note">%s</span></h2>', n == 1 and "1 point" or num(n, 0) .. " points")
  equity_chart(b, t, eq, n, ticks)
  b[#b + 1] = '</section><section class="card"><h2>Drawdown <span class="note">underwater, from the running peak</span></h2>'
  drawdown_chart(b, eq, n, ticks)
  b[#b + 1] = "</section>"

  b[#b + 1] = '<section class="cols"><div class="card"><h2>Summary</h2>'
  summary_table(b, s, period)
  b[#b + 1] = '</div><div class="card"><h2>Parameters</h2>'
  params_table(b, params)
  b[#b + 1] = "</div></section>"

  local mb = {}
  if monthly_returns(mb, t, eq, n) then
    b[#b + 1] = '<section class="card" style="margin-top:16px"><h2>Monthly returns</h2><div class="scroll">'
    b[#b + 1] = concat(mb)
    b[#b + 1] = "</div></section>"
  end

  symbols_section(b, prices, fills)
  if #fills > 0 then
    b[#b + 1] = '<div style="height:16px"></div>'
    fills_table(b, fills)
  end
  b[#b + 1] = "<footer>Generated by gantry. Charts are downsampled; markers show each fill at its price. "
    .. "Returns and drawdowns are fractions of equity shown as percentages.</footer>"
  b[#b + 1] = "</main></body></html>\n"
  return concat(b)
end

-- Exposed for specs and other tools.
report.escape = esc
report.format_number = num
report.format_percent = pct

return report
