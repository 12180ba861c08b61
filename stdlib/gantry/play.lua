-- gantry.play — the playbook API (`gantry play PLAYBOOK.lua`), over the
-- native module of bindings/play.c. Every step is appended to the
-- deployment record (deployments.jsonl in the working directory, or
-- play.record(PATH)), each line chained to the one before by its SHA-256.
-- A step that fails raises {play_failure = MESSAGE}: the command prints it
-- and exits 1. A wrong call is a plain error naming the playbook's line
-- (exit 2).
local native = require "gantry.play.native"
local json = require "gantry.play.json"

local M = { json = json }
local S = {
  record = "deployments.jsonl",
  out = native.out,
  seq = 0,
  names = {},
}

-- ------------------------------------------------------------ helpers

local function fail(msg)
  error({ play_failure = msg }, 0)
end
M.fail = fail

-- a wrong call: the command puts the playbook's file and line in front
local function usage(msg)
  error(msg, 0)
end

-- floor division (LuaJIT has no //)
local function idiv(a, b) return math.floor(a / b) end

local function days_from_civil(y, m, d)
  y = m <= 2 and y - 1 or y
  local era = idiv((y >= 0 and y or y - 399), 400)
  local yoe = y - era * 400
  local doy = idiv(153 * (m + (m > 2 and -3 or 9)) + 2, 5) + d - 1
  local doe = yoe * 365 + idiv(yoe, 4) - idiv(yoe, 100) + doy
  return era * 146097 + doe - 719468
end

local function civil_from_days(z)
  z = z + 719468
  local era = idiv((z >= 0 and z or z - 146096), 146097)
  local doe = z - era * 146097
  local yoe = idiv((doe - idiv(doe, 1460) + idiv(doe, 36524) - idiv(doe, 146096)), 365)
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + idiv(yoe, 4) - idiv(yoe, 100))
  local mp = idiv((5 * doy + 2), 153)
  local d = doy - idiv((153 * mp + 2), 5) + 1
  local m = mp + (mp < 10 and 3 or -9)
  return m <= 2 and y + 1 or y, m, d
end

-- "YYYY-MM-DD[ HH:MM[:SS]]" (UTC) or epoch seconds -> epoch seconds
function M.time(v)
  if v == nil then return nil end
  if type(v) == "number" then return v end
  local y, mo, d, rest = tostring(v):match("^(%d%d%d%d)-(%d%d)-(%d%d)(.*)$")
  if not y then usage("time '" .. tostring(v) .. "': expected YYYY-MM-DD[ HH:MM[:SS]] or epoch seconds") end
  local h, mi, s = rest:match("^[ T](%d%d):(%d%d):?(%d*)Z?$")
  local t = days_from_civil(tonumber(y), tonumber(mo), tonumber(d)) * 86400
  if h then t = t + tonumber(h) * 3600 + tonumber(mi) * 60 + (tonumber(s) or 0)
  elseif rest ~= "" then usage("time '" .. tostring(v) .. "': expected YYYY-MM-DD[ HH:MM[:SS]]") end
  return t
end

function M.iso(t)
  t = t or native.now()
  local secs = math.floor(t)
  local days = idiv(secs, 86400)
  local y, m, d = civil_from_days(days)
  local r = secs - days * 86400
  return string.format("%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, idiv(r, 3600), idiv(r % 3600, 60), r % 60)
end

local function list(v)
  if v == nil then return {} end
  if type(v) == "string" then return { v } end
  return v
end

-- the lines of a text (the sandbox refuses a pattern over a long string)
local function lines_of(text)
  local i = 1
  return function()
    while i <= #text do
      local j = text:find("\n", i, true) or #text + 1
      local line = text:sub(i, j - 1)
      i = j + 1
      if line ~= "" then return line end
    end
    return nil
  end
end
M.lines_of = lines_of

local function sorted_keys(t)
  local k = {}
  for key in pairs(t or {}) do k[#k + 1] = key end
  table.sort(k)
  return k
end

local function kv_list(params)
  local out = {}
  for _, k in ipairs(sorted_keys(params)) do
    out[#out + 1] = k .. "=" .. tostring(params[k])
  end
  return out
end

local function params_text(params)
  local parts = {}
  for _, k in ipairs(sorted_keys(params)) do parts[#parts + 1] = k .. "=" .. tostring(params[k]) end
  return table.concat(parts, " ")
end
M.params_text = params_text

local function base(path)
  return (path:match("([^/]+)$") or path)
end

local function stem(path)
  return (base(path):match("^([^.]*)") or base(path))
end

-- a fresh directory name under the output directory for a step
local function step_dir(kind, name)
  local n = name or kind
  S.names[n] = (S.names[n] or 0) + 1
  if S.names[n] > 1 then n = n .. "-" .. S.names[n] end
  return native.mkdir(S.out .. "/" .. n)
end

local function data_hash(files)
  local parts = {}
  for _, f in ipairs(files) do
    local h, err = native.sha256_file(f)
    if not h then usage(err) end
    parts[#parts + 1] = h
  end
  return native.sha256(table.concat(parts, "\n"))
end

local function file_hash(path)
  if not path then return nil end
  local h, err = native.sha256_file(path)
  if not h then usage(err) end
  return h
end

local function checked_strategy(path)
  if type(path) ~= "string" then usage("strategy: expected a Lua file's path") end
  if not native.exists(path) then usage(path .. ": no such strategy file") end
  return native.path(path)
end

local function checked_data(data)
  local files = {}
  for i, f in ipairs(list(data)) do
    if not native.exists(f) then usage(tostring(f) .. ": no such data file") end
    files[i] = native.path(f)
  end
  if #files == 0 then usage("data: expected a CSV file or a list of them") end
  return files
end

-- options(args, defaults, positional): "key=value" arguments typed like the
-- defaults (number, boolean, string); the others fill the positional names
-- in order. An unknown key, a bad value or a missing positional is an error.
function M.options(argv, defaults, positional)
  local o, pos = {}, {}
  for k, v in pairs(defaults or {}) do o[k] = v end
  for _, a in ipairs(argv or {}) do
    local k, v = a:match("^([%w_]+)=(.*)$")
    if k then
      local d = defaults and defaults[k]
      if d == nil then usage(string.format("%s: unknown option '%s' (known: %s)", a, k,
        table.concat(sorted_keys(defaults or {}), ", "))) end
      if type(d) == "number" then
        o[k] = tonumber(v)
        if not o[k] then usage(string.format("%s: expected a number", a)) end
      elseif type(d) == "boolean" then
        if v ~= "true" and v ~= "false" then usage(string.format("%s: expected true or false", a)) end
        o[k] = v == "true"
      else
        o[k] = v
      end
    else
      pos[#pos + 1] = a
    end
  end
  for i, name in ipairs(positional or {}) do
    if not pos[i] then usage(string.format("missing argument %s (usage: %s %s [key=value ...])", name:upper(),
      native.playbook, table.concat(positional, " "):upper())) end
    o[name] = pos[i]
  end
  return o
end

-- "fast:5,10,20/slow:30,50" -> {fast = {5, 10, 20}, slow = {30, 50}}
function M.parse_grid(text)
  local grid = {}
  for part in tostring(text):gmatch("[^/]+") do
    local k, vals = part:match("^([%w_]+):(.+)$")
    if not k then usage(string.format("grid '%s': expected name:v1,v2/name:v1,v2", text)) end
    grid[k] = {}
    for v in vals:gmatch("[^,]+") do grid[k][#grid[k] + 1] = tonumber(v) or v end
  end
  return grid
end

-- ------------------------------------------------------------ the record

function M.record(path)
  if path then S.record = path end
  return S.record
end

local function run_id()
  if not S.run then
    S.run = native.sha256(native.playbook .. tostring(native.now()) .. tostring(native.mono())):sub(1, 12)
  end
  return S.run
end

-- Appends one step: fields plus what, when, run, playbook and who.
function M.note(what, fields)
  local line = {}
  for k, v in pairs(fields or {}) do line[k] = v end
  S.seq = S.seq + 1
  line.what = what
  line.when = M.iso()
  line.run = run_id()
  line.seq = S.seq
  line.playbook = native.playbook
  line.by = native.user()
  native.record_append(S.record, json.encode(line))
  return line
end

function M.verify(path)
  local ok, n, why = native.record_verify(path or S.record)
  if ok then return true, n end
  return false, n, why
end

-- ------------------------------------------------------------ log, time

function M.log(...)
  local parts = {}
  for i = 1, select("#", ...) do parts[#parts + 1] = tostring((select(i, ...))) end
  native.log("info", table.concat(parts, " "))
end

function M.sleep(s) native.sleep(s) end
function M.now() return native.now() end

-- ------------------------------------------------------------ results

local function read_json(path)
  local text, err = native.read(path)
  if not text then return nil, err end
  local ok, v = pcall(json.decode, text)
  if not ok then return nil, path .. ": " .. tostring(v) end
  return v
end

local function result_of(dir, extra)
  local r = read_json(dir .. "/summary.json") or {}
  r.out = dir
  r.summary = dir .. "/summary.json"
  r.fills_csv = dir .. "/fills.csv"
  r.equity_csv = dir .. "/equity.csv"
  r.orders_csv = dir .. "/orders.csv"
  r.report = dir .. "/report.html"
  for k, v in pairs(extra) do r[k] = v end
  return r
end

local function metrics_of(r)
  local m = {}
  for k, v in pairs(r) do
    if type(v) == "number" and k ~= "elapsed_s" and k ~= "events_per_s" then m[k] = v end
  end
  return m
end
M.metrics_of = metrics_of

-- ------------------------------------------------------------ backtest

function M.backtest(o)
  if type(o) ~= "table" then usage("backtest{...}: expected a table") end
  local strategy = checked_strategy(o.strategy)
  local files = checked_data(o.data)
  local config = o.config and native.path(o.config)
  local dir = o.out and native.mkdir(o.out) or step_dir("backtest", o.name)
  local status, err = native.backtest {
    strategy = strategy, data = files, params = kv_list(o.params), config = config,
    from = M.time(o.from), to = M.time(o.to), out = dir, cash = o.cash,
  }
  local r = result_of(dir, {
    strategy = o.strategy, strategy_hash = file_hash(strategy), data = files,
    data_hash = data_hash(files), params = o.params or {}, status = status == 0 and "ok" or "failed",
  })
  M.note("backtest", { strategy = o.strategy, strategy_hash = r.strategy_hash, data_hash = r.data_hash,
    params = o.params or {}, from = o.from, to = o.to, out = dir,
    result = status == 0 and metrics_of(r) or nil, error = status ~= 0 and err or nil })
  if status ~= 0 then
    fail(string.format("backtest of %s failed: %s", o.strategy, err))
  end
  return r
end

-- ------------------------------------------------------------ gates

local ops = {
  [">="] = function(a, b) return a >= b end, ["<="] = function(a, b) return a <= b end,
  [">"] = function(a, b) return a > b end, ["<"] = function(a, b) return a < b end,
  ["=="] = function(a, b) return a == b end, ["~="] = function(a, b) return a ~= b end,
}

local aliases = { trades = "round_trips" }

local function value_of(result, k)
  local v = result[k]
  if v == nil and type(result.metrics) == "table" then v = result.metrics[k] end
  if v == nil and aliases[k] then return value_of(result, aliases[k]) end
  return v
end

-- check(result, conditions) -> ok, failures (no stop, no record)
function M.check(result, conds)
  if type(result) ~= "table" or type(conds) ~= "table" then usage("check(result, {metric = \">= x\"})") end
  local failures, verdicts = {}, {}
  for _, k in ipairs(sorted_keys(conds)) do
    local op, num = tostring(conds[k]):match("^%s*([<>=~]=?)%s*(%-?[%d.eE+-]+)%s*$")
    local want = tonumber(num)
    if not op or not ops[op] or not want then
      usage(string.format("gate: %s = %q: expected an operator (>=, <=, >, <, ==, ~=) and a number", k, tostring(conds[k])))
    end
    local v = value_of(result, k)
    local ok = type(v) == "number" and ops[op](v, want)
    verdicts[k] = { cond = conds[k], value = v, pass = ok }
    if not ok then
      failures[#failures + 1] = string.format("%s %s (needs %s %s)", k,
        type(v) == "number" and string.format("%.6g", v) or "missing", op, num)
    end
  end
  return #failures == 0, failures, verdicts
end

function M.gate(result, conds, name)
  local ok, failures, verdicts = M.check(result, conds)
  name = name or "gate"
  M.note("gate", { gate = name, pass = ok, verdicts = verdicts,
    strategy = result.strategy, params = result.params })
  if not ok then
    fail(string.format("gate '%s' failed: %s", name, table.concat(failures, "; ")))
  end
  M.log(string.format("gate '%s' passed", name))
  return result
end

-- ------------------------------------------------------------ sweep

local function expand(grid, where)
  local keys = sorted_keys(grid)
  if #keys == 0 then usage("grid: expected {name = {values...}, ...}") end
  for _, k in ipairs(keys) do
    if type(grid[k]) ~= "table" or #grid[k] == 0 then usage("grid." .. k .. ": expected a list of values") end
  end
  local out, cur = {}, {}
  local function rec(i)
    if i > #keys then
      local p = {}
      for k, v in pairs(cur) do p[k] = v end
      if not where or where(p) then out[#out + 1] = p end
      return
    end
    for _, v in ipairs(grid[keys[i]]) do
      cur[keys[i]] = v
      rec(i + 1)
    end
  end
  rec(1)
  return out
end
M.expand = expand

-- the lines of a sweep's file, decoded, in grid order: M.results(file) all
-- of them; M.each_result(file) one at a time (memory flat in the grid)
function M.each_result(file)
  local it = native.lines(file)
  if not it then usage(file .. ": cannot read") end
  return function()
    local line = it()
    return line and json.decode(line)
  end
end

function M.results(file)
  local out = {}
  for r in M.each_result(file) do out[#out + 1] = r end
  return out
end

-- sweep.html, by gantry.sweep_report when the stdlib has it; it takes the
-- results in memory, so a grid past report_limit (5000) gets none
local REPORT_LIMIT = 5000

local function render_report(dir, opts)
  local ok, rep = pcall(require, "gantry.sweep_report")
  if not ok or type(rep) ~= "table" or type(rep.render) ~= "function" then return nil end
  if opts.results_file then
    if (opts.count or 0) > (opts.limit or REPORT_LIMIT) then
      M.log(string.format("sweep.html not written: %d combinations (report_limit %d)", opts.count, opts.limit or REPORT_LIMIT))
      return nil
    end
    opts.results = M.results(opts.results_file)
    opts.results_file, opts.count, opts.limit = nil, nil, nil
  end
  local ok2, html = pcall(rep.render, opts)
  if not ok2 or type(html) ~= "string" then
    M.log("sweep.html not written: " .. tostring(html))
    return nil
  end
  native.write(dir .. "/sweep.html", html)
  return dir .. "/sweep.html"
end

-- the sweep itself, without the record (walk_forward runs many)
-- The grid as the sweep's workers take it: keys sorted, each value as JSON
-- and as --param text, and which combinations `where` accepts ('1'/'0' per
-- combination of the full product, the last key varying fastest). No
-- combination is kept: the workers make each from its index.
local function grid_spec(grid, where)
  local keys = sorted_keys(grid)
  if #keys == 0 then usage("grid: expected {name = {values...}, ...}") end
  local spec, total = {}, 1
  for i, k in ipairs(keys) do
    local vals = grid[k]
    if type(vals) ~= "table" or #vals == 0 then usage("grid." .. k .. ": expected a list of values") end
    local js, tx = {}, {}
    for j, v in ipairs(vals) do
      if type(v) ~= "number" and type(v) ~= "string" and type(v) ~= "boolean" then
        usage("grid." .. k .. "[" .. j .. "]: expected a number, a string or a boolean")
      end
      js[j], tx[j] = json.encode(v), tostring(v)
    end
    spec[i] = { name = k, json = js, text = tx }
    total = total * #vals
  end
  local accept, count = nil, total
  if where then
    local flags, digit, p = {}, {}, {}
    count = 0
    for i = 1, #keys do digit[i] = 1; p[keys[i]] = grid[keys[i]][1] end
    for n = 1, total do
      local ok = where(p) and true or false
      flags[n] = ok and "1" or "0"
      if ok then count = count + 1 end
      for i = #keys, 1, -1 do -- next combination: the last key fastest
        digit[i] = digit[i] + 1
        if digit[i] <= #grid[keys[i]] then p[keys[i]] = grid[keys[i]][digit[i]]; break end
        digit[i] = 1
        p[keys[i]] = grid[keys[i]][1]
      end
    end
    accept = table.concat(flags)
  end
  return spec, accept, count
end

-- the sweep itself, without the record (walk_forward runs many)
local function sweep_run(o, dir, files, strategy)
  local spec, accept, count = grid_spec(o.grid, o.where)
  if count == 0 then usage("sweep: the grid (with where) has no combination") end
  local prefix = native.sha256(table.concat({ file_hash(strategy), data_hash(files),
    o.config and file_hash(native.path(o.config)) or "", tostring(M.time(o.from)), tostring(M.time(o.to)) }, "\n"))
  local file = dir .. "/sweep.jsonl"
  local jobs = o.jobs or native.ncpu()
  local t0 = native.mono()
  local metric = o.metric or "sharpe"
  -- the workers' lines are not decoded here: the sweep names the best line
  -- (the first in grid order among equals), and only that one is decoded
  local done, resumed, errors, bad_i, bad_msg, bad_params, best_line = native.sweep {
    strategy = strategy, data = files, config = o.config and native.path(o.config),
    from = M.time(o.from), to = M.time(o.to), jobs = jobs, out = file,
    grid = spec, accept = accept, prefix = prefix, metric = metric, minimize = o.minimize,
    progress = native.isatty() and not o.quiet,
  }
  local combos = { n = count }
  local elapsed = native.mono() - t0
  if bad_i then
    fail(string.format("sweep of %s: combination %s failed: %s", o.strategy, bad_params, bad_msg))
  end
  local best, best_v, best_i
  if best_line then
    local it, i = native.lines(file), 0
    if not it then usage(file .. ": cannot read") end
    for line in it do
      i = i + 1
      if i == best_line then
        local r = json.decode(line)
        local v = r.metrics and r.metrics[metric]
        if type(v) == "number" then best, best_v, best_i = r, v, i end
        break
      end
    end
  end
  return {
    file = file, out = dir, count = combos.n, done = done, resumed = resumed, errors = errors,
    metric = metric, best = best, best_params = best and best.params, best_value = best_v,
    best_index = best_i, elapsed_s = elapsed,
    rate = elapsed > 0 and done / elapsed or 0, jobs = jobs,
  }
end

function M.sweep(o)
  if type(o) ~= "table" or type(o.grid) ~= "table" then usage("sweep{strategy=, data=, grid={...}}") end
  local strategy = checked_strategy(o.strategy)
  local files = checked_data(o.data)
  local dir = o.out and native.mkdir(o.out) or step_dir("sweep", o.name)
  local r = sweep_run(o, dir, files, strategy)
  r.strategy = o.strategy
  r.report = render_report(dir, { title = "sweep of " .. o.strategy, metric = r.metric,
    x = o.x or sorted_keys(o.grid)[1], y = o.y or sorted_keys(o.grid)[2], results_file = r.file,
    count = r.count, limit = o.report_limit })
  M.note("sweep", { strategy = o.strategy, strategy_hash = file_hash(strategy), data_hash = data_hash(files),
    grid = o.grid, count = r.count, resumed = r.resumed, metric = r.metric, best_params = r.best_params,
    best_value = r.best_value, file = r.file })
  M.log(string.format("sweep of %s: %d combinations (%d resumed) in %.2fs on %d jobs, best %s = %.4g at %s",
    o.strategy, r.count, r.resumed, r.elapsed_s, r.jobs, r.metric, r.best_value or 0 / 0,
    r.best_params and params_text(r.best_params) or "none"))
  return r
end

-- ------------------------------------------------------------ walk-forward

local function read_equity(path)
  local text = native.read(path)
  local out = {}
  if not text then return out end
  local first = true
  for line in lines_of(text) do
    if first then first = false else
      local t, eq = line:match("^([^,]+),([^,]+)")
      if t then out[#out + 1] = { M.time(t:sub(1, 19):gsub("T", " ")), tonumber(eq) } end
    end
  end
  return out
end

local function curve_metrics(eq, start)
  local rets, peak, mdd = {}, start, 0
  local prev = start
  for _, p in ipairs(eq) do
    local v = p[2]
    if prev and prev > 0 then rets[#rets + 1] = v / prev - 1 end
    prev = v
    if v > peak then peak = v end
    if peak > 0 and (peak - v) / peak > mdd then mdd = (peak - v) / peak end
  end
  local n, mean, var = #rets, 0, 0
  for _, r in ipairs(rets) do mean = mean + r end
  mean = n > 0 and mean / n or 0
  for _, r in ipairs(rets) do var = var + (r - mean) ^ 2 end
  local sd = n > 1 and math.sqrt(var / (n - 1)) or 0
  local final = #eq > 0 and eq[#eq][2] or start
  return { start_equity = start, final_equity = final, total_return = final / start - 1,
    sharpe = sd > 0 and mean / sd * math.sqrt(252) or 0, max_drawdown = mdd, periods = n }
end

function M.walk_forward(o)
  if type(o) ~= "table" or type(o.grid) ~= "table" then usage("walk_forward{strategy=, data=, grid=, train=, test=}") end
  if type(o.train) ~= "number" or o.train <= 0 or type(o.test) ~= "number" or o.test <= 0 then
    usage("walk_forward: train and test: expected a number of days > 0")
  end
  local strategy = checked_strategy(o.strategy)
  local files = checked_data(o.data)
  local dir = o.out and native.mkdir(o.out) or step_dir("walk_forward", o.name)
  local first, last = native.span { strategy = strategy, data = files }
  first = M.time(o.from) or first
  local stop = (M.time(o.to) or last + 1)
  local day = 86400
  local train, test, step = o.train * day, o.test * day, (o.step or o.test) * day
  local purge = (o.purge or 0) * day
  local windows, equity, k = {}, {}, 0
  local level, start_cash = nil, nil
  while true do
    local t0 = o.anchored and first or first + k * step
    local t1 = first + k * step + train
    local t2 = t1 + purge
    local t3 = math.min(t2 + test, stop)
    if t2 >= stop or t3 <= t2 then break end
    k = k + 1
    local wdir = native.mkdir(dir .. "/window-" .. k)
    local so = {}
    for key, v in pairs(o) do so[key] = v end
    so.from, so.to, so.quiet = t0, t1, true
    local sw = sweep_run(so, native.mkdir(wdir .. "/train"), files, strategy)
    if not sw.best then fail(string.format("walk_forward window %d: no combination has a %s", k, sw.metric)) end
    local tdir = native.mkdir(wdir .. "/test")
    local status, err = native.backtest { strategy = strategy, data = files, params = kv_list(sw.best.params),
      config = o.config and native.path(o.config), from = t2, to = t3, out = tdir }
    if status ~= 0 then
      fail(string.format("walk_forward window %d: test of %s failed: %s", k, params_text(sw.best.params), err))
    end
    local oos = metrics_of(read_json(tdir .. "/summary.json") or {})
    windows[#windows + 1] = { train = json.array { t0, t1 }, test = json.array { t2, t3 },
      params = sw.best.params, is = sw.best.metrics, oos = oos }
    -- stitch: each test piece starts from its own cash; chain its returns
    local piece = read_equity(tdir .. "/equity.csv")
    local base0 = oos.start_equity or (piece[1] and piece[1][2]) or 1
    start_cash = start_cash or base0
    level = level or base0
    local lvl0 = level
    for _, p in ipairs(piece) do
      level = lvl0 * p[2] / base0
      equity[#equity + 1] = json.array { p[1], level }
    end
  end
  if #windows == 0 then
    usage(string.format("walk_forward: the data (%s to %s) is too short for train %g + purge %g + test %g days",
      M.iso(first), M.iso(last), o.train, o.purge or 0, o.test))
  end
  local metrics = curve_metrics(equity, start_cash)
  local wf = { windows = json.array(windows), equity = json.array(equity), metrics = metrics }
  native.write(dir .. "/walk_forward.json", json.encode(wf) .. "\n")
  local r = { out = dir, file = dir .. "/walk_forward.json", windows = windows, equity = equity,
    metrics = metrics, params = windows[#windows].params, strategy = o.strategy }
  for key, v in pairs(metrics) do r[key] = v end
  r.report = render_report(dir, { title = "walk-forward of " .. o.strategy, metric = o.metric or "sharpe",
    x = o.x or sorted_keys(o.grid)[1], y = o.y or sorted_keys(o.grid)[2],
    results_file = dir .. "/window-" .. #windows .. "/train/sweep.jsonl", count = 0, walk_forward = wf })
  M.note("walk_forward", { strategy = o.strategy, strategy_hash = file_hash(strategy), data_hash = data_hash(files),
    grid = o.grid, train = o.train, test = o.test, step = o.step or o.test, anchored = o.anchored or false,
    purge = o.purge or 0, windows = #windows, params = r.params, result = metrics, file = r.file })
  return r
end

-- the window whose out-of-sample metric is best (promote: pick by OOS Sharpe)
function M.pick(wf, metric)
  metric = metric or "sharpe"
  local best
  for _, w in ipairs(wf.windows) do
    local v = w.oos and w.oos[metric]
    if type(v) == "number" and (not best or v > best.oos[metric]) then best = w end
  end
  return best and best.params, best
end

-- ------------------------------------------------------------ paper

local function paper_args(o, dir, strategy, files, extra)
  local a = { "paper", strategy }
  for _, f in ipairs(files) do a[#a + 1] = "--feed"; a[#a + 1] = "file:" .. f .. (o.speed and ("?speed=" .. o.speed) or "") end
  a[#a + 1] = "--out"; a[#a + 1] = dir
  a[#a + 1] = "--overwrite"
  a[#a + 1] = "--no-watch"
  a[#a + 1] = "--quiet"
  if o.config then a[#a + 1] = "--config"; a[#a + 1] = native.path(o.config) end
  for _, kv in ipairs(kv_list(o.params)) do a[#a + 1] = "--param"; a[#a + 1] = kv end
  for _, x in ipairs(extra or {}) do a[#a + 1] = x end
  return a
end

local function tail(path)
  local t = native.read(path) or ""
  local lines = {}
  for l in lines_of(t) do lines[#lines + 1] = l end
  local out = {}
  for i = math.max(1, #lines - 3), #lines do out[#out + 1] = lines[i] end
  return table.concat(out, " | ")
end

function M.paper(o)
  if type(o) ~= "table" then usage("paper{strategy=, feed=, ...}") end
  local strategy = checked_strategy(o.strategy)
  local files = checked_data(o.feed or o.data)
  local dir = o.out and native.mkdir(o.out) or step_dir("paper", o.name)
  local log = dir .. "/paper.log"
  native.write(log, "")
  local pid = native.spawn(paper_args(o, dir, strategy, files), { stderr = log, stdout = log })
  local limit = o.until_s or o["until"] or 600
  local how, code = native.wait(pid, limit)
  if how == "running" then
    native.kill(-pid, "TERM")
    how, code = native.wait(pid, 10)
    if how == "running" then native.kill(-pid, "KILL"); native.wait(pid, 5) end
  end
  local r = result_of(dir, { strategy = o.strategy, strategy_hash = file_hash(strategy), data = files,
    data_hash = data_hash(files), params = o.params or {}, log = log })
  local ok = (how == "exited" and code == 0) or (how ~= "exited" and r.status == "ok")
  M.note("paper", { strategy = o.strategy, strategy_hash = r.strategy_hash, data_hash = r.data_hash,
    params = o.params or {}, out = dir, result = ok and metrics_of(r) or nil,
    error = not ok and tail(log) or nil })
  if not ok then
    fail(string.format("paper run of %s failed (%s %s): %s", o.strategy, how, tostring(code), tail(log)))
  end
  return r
end

-- ------------------------------------------------------------ parity

-- parity(a, b): the fills of two runs (a backtest, a paper replay) must be
-- the same rows. Recorded; stops the playbook when they differ.
function M.parity(a, b, name)
  name = name or "parity"
  local fa = native.read(a.fills_csv) or ""
  local fb = native.read(b.fills_csv) or ""
  local la, lb = {}, {}
  for l in lines_of(fa) do la[#la + 1] = l end
  for l in lines_of(fb) do lb[#lb + 1] = l end
  local diff
  for i = 1, math.max(#la, #lb) do
    if la[i] ~= lb[i] then
      diff = string.format("fill %d differs: backtest %s, paper %s", i - 1,
        la[i] and ("'" .. la[i] .. "'") or "none", lb[i] and ("'" .. lb[i] .. "'") or "none")
      break
    end
  end
  M.note("gate", { gate = name, kind = "parity", pass = diff == nil, fills = #la - 1, paper_fills = #lb - 1,
    difference = diff, strategy = a.strategy })
  if diff then
    fail(string.format("parity gate '%s' failed: %d fills in the backtest, %d on paper; %s",
      name, math.max(#la - 1, 0), math.max(#lb - 1, 0), diff))
  end
  M.log(string.format("parity gate '%s' passed: %d identical fills", name, math.max(#la - 1, 0)))
  return true
end

-- ------------------------------------------------------------ approvals

function M.approve(step, o)
  o = o or {}
  if type(step) ~= "string" or step == "" then usage("approve(step, {role=, timeout=})") end
  local timeout = o.timeout or 3600
  local record = native.path(S.record)
  local before = native.read(record) or ""
  local _, seen = before:gsub("\n", "")
  M.note("approval_requested", { step = step, role = o.role, timeout = timeout })
  seen = seen + 1
  M.log(string.format("waiting up to %gs for approval: gantry approve %s %s --as NAME%s",
    timeout, S.record, step, o.role and (" --role " .. o.role) or ""))
  local deadline = native.mono() + timeout
  while true do
    local text = native.read(record) or ""
    local n = 0
    for line in lines_of(text) do
      n = n + 1
      if n > seen then
        local ok, rec = pcall(json.decode, line)
        if ok and rec.what == "approval" and rec.step == step and
          (not o.role or rec.role == o.role) then
          M.log(string.format("approved: %s by %s%s", step, rec.by, rec.role ~= "" and (" (" .. rec.role .. ")") or ""))
          return rec
        end
      end
    end
    if native.mono() >= deadline then
      M.note("approval_timeout", { step = step, role = o.role, timeout = timeout })
      fail(string.format("approval of '%s'%s timed out after %gs", step,
        o.role and (" (role " .. o.role .. ")") or "", timeout))
    end
    native.sleep(math.min(0.2, math.max(0, deadline - native.mono())))
  end
end

-- ------------------------------------------------------------ deploy

local Handle = {}
Handle.__index = Handle

local function lua_value(v, indent)
  indent = indent or ""
  if type(v) == "table" then
    local parts = {}
    if #v > 0 then
      for _, x in ipairs(v) do parts[#parts + 1] = lua_value(x, indent .. "  ") end
    else
      for _, k in ipairs(sorted_keys(v)) do
        parts[#parts + 1] = string.format("[%q] = %s", k, lua_value(v[k], indent .. "  "))
      end
    end
    return "{ " .. table.concat(parts, ", ") .. " }"
  elseif type(v) == "string" then
    return string.format("%q", v)
  else
    return tostring(v)
  end
end

local function load_config(path)
  if not path then return {} end
  local text = assert(native.read(path))
  local fn, err = load(text, "=" .. path, "t", {})
  if not fn then usage(err) end
  local ok, t = pcall(fn)
  if not ok or type(t) ~= "table" then usage(path .. ": a deploy config must return a table") end
  return t
end

local function data_symbols(files)
  local out = {}
  for _, f in ipairs(files) do out[#out + 1] = stem(f) end
  return out
end

-- the canary's limits as risk limits (MiFID II RTS 6 Art. 8)
local function canary_risk(risk, canary, files)
  risk = risk or {}
  if canary.max_order_value then risk.max_order_notional = canary.max_order_value end
  if canary.max_orders then risk.max_open_orders = canary.max_orders end
  if canary.max_position then risk.max_position = canary.max_position end
  if canary.instruments then
    local allowed, restricted = {}, {}
    for _, s in ipairs(canary.instruments) do allowed[s] = true end
    for _, s in ipairs(risk.restricted or {}) do restricted[#restricted + 1] = s end
    for _, s in ipairs(data_symbols(files)) do
      if not allowed[s] then restricted[#restricted + 1] = s end
    end
    if #restricted > 0 then risk.restricted = restricted end
  end
  return risk
end

local function scaled(v, x)
  if type(v) ~= "number" then return nil end
  return math.max(1, math.floor(v * x + 0.5))
end

function M.deploy(o)
  if type(o) ~= "table" then usage("deploy{strategy=, mode=, feed=, canary={...}}") end
  local mode = o.mode or "paper"
  if mode ~= "paper" and mode ~= "live" then usage("deploy: mode: expected \"paper\" or \"live\"") end
  local strategy = checked_strategy(o.strategy)
  local files = checked_data(o.feed or o.data)
  local name = o.name or stem(strategy)
  local dir = native.mkdir(S.out .. "/deploy-" .. name)
  native.mkdir(dir .. "/versions")
  local live = dir .. "/" .. base(strategy)
  local src = assert(native.read(strategy))
  local hash = native.sha256(src)
  native.write(dir .. "/versions/" .. hash .. ".lua", src)
  native.write(live, src)
  -- the deploy config: the team's, with the canary's limits on top
  local cfg = load_config(o.config and native.path(o.config))
  local canary = o.canary or {}
  cfg.risk = canary_risk(cfg.risk, canary, files)
  local full_position = type(cfg.risk.max_position) == "number" and cfg.risk.max_position or nil
  local full_qty = cfg.risk.max_order_qty
  local scale = canary.scale or 1
  if canary.scale then
    if not full_position then usage("deploy: canary.scale needs a number max_position (canary or config risk)") end
    cfg.risk.max_position = scaled(full_position, scale)
    if full_qty then cfg.risk.max_order_qty = scaled(full_qty, scale) end
  end
  local cfgpath = dir .. "/config.lua"
  native.write(cfgpath, "return " .. lua_value(cfg) .. "\n")
  local sock = dir .. "/ctl.sock"
  local log = dir .. "/host.log"
  native.write(log, "")
  local extra = { "--config", cfgpath, "--ctl", sock, "--linger" }
  if mode == "live" then
    -- gantry live: the venue URL from the deploy, its settings from the
    -- config's venue table (copied into config.lua above), as `gantry live` takes them
    if type(o.venue) ~= "string" or not (o.venue:match("^fix://") or o.venue:match("^fixs://")) then
      usage("deploy: mode \"live\" needs venue = \"fix://HOST:PORT?sender=S&target=T\" (or fixs://)")
    end
    if type(cfg.venue) ~= "table" then
      usage("deploy: mode \"live\" needs a config with a venue table (gantry live --config)")
    end
    extra[#extra + 1] = "--venue"; extra[#extra + 1] = o.venue
  end
  local args = paper_args({ config = nil, params = o.params, speed = o.speed }, dir .. "/run", live, files, extra)
  if mode == "live" then args[1] = "live" end
  native.mkdir(dir .. "/run")
  local pid = native.spawn(args, { stderr = log, stdout = log })
  local h = setmetatable({ pid = pid, sock = sock, dir = dir, live = live, name = name, strategy = o.strategy,
    versions = { hash }, full_position = full_position, full_qty = full_qty, scale_now = scale, log = log }, Handle)
  -- bounded wait for the socket to answer
  local deadline = native.mono() + (o.start_timeout or 30)
  local st
  while native.mono() < deadline do
    local how, code = native.wait(pid, 0)
    if how ~= "running" then
      M.note("deploy", { strategy = o.strategy, strategy_hash = hash, mode = mode, error = tail(log) })
      fail(string.format("deploy of %s failed to start (%s %s): %s", o.strategy, how, tostring(code), tail(log)))
    end
    local reply = native.ctl(sock, "status", 2)
    if reply then st = json.decode(reply); break end
    native.sleep(0.05)
  end
  if not st then
    native.kill(-pid, "KILL")
    native.wait(pid, 5)
    M.note("deploy", { strategy = o.strategy, strategy_hash = hash, mode = mode, error = "no answer on " .. sock })
    fail(string.format("deploy of %s: the host did not answer on %s within %gs (stopped)", o.strategy, sock, o.start_timeout or 30))
  end
  native.write(dir .. "/handle.json", json.encode({ pid = pid, sock = sock, live = live, versions = h.versions,
    full_position = full_position, full_qty = full_qty, scale = scale }) .. "\n")
  M.note("deploy", { strategy = o.strategy, strategy_hash = hash, data_hash = data_hash(files), mode = mode,
    venue = mode == "live" and o.venue or nil,
    params = o.params or {}, canary = canary, risk = cfg.risk, socket = sock, pid = pid })
  M.log(string.format("deployed %s (%s, version %s) on %s", o.strategy, mode, hash:sub(1, 12), sock))
  return h
end

-- a host started by an earlier playbook: its deploy directory (handle.json)
function M.attach(dir)
  local st = read_json(native.path(dir) .. "/handle.json")
  if not st then usage(dir .. ": no handle.json (not a deploy directory)") end
  local h = setmetatable({ pid = st.pid, attached = true, sock = st.sock, dir = native.path(dir), live = st.live,
    versions = st.versions or {}, full_position = st.full_position, full_qty = st.full_qty,
    scale_now = st.scale or 1, name = stem(st.live or dir), strategy = st.live }, Handle)
  return h
end

function Handle:ctl(line, quiet)
  local reply, err = native.ctl(self.sock, line, 10)
  if not reply then
    if quiet then return nil, err end
    M.note("ctl", { command = line, socket = self.sock, error = err })
    fail(string.format("%s: %s: %s", self.name, line, err))
  end
  local v = json.decode(reply)
  if not quiet then
    M.note("ctl", { command = line, socket = self.sock, ok = v.ok, error = v.error })
  end
  if v.ok ~= true and not quiet then
    fail(string.format("%s: %s refused: %s", self.name, line, tostring(v.error)))
  end
  return v
end

function Handle:status() return self:ctl("status", true) end
function Handle:halt() return self:ctl("halt") end
function Handle:resume() return self:ctl("resume") end
function Handle:flatten() return self:ctl("flatten") end
function Handle:set(k, v) return self:ctl("set " .. k .. "=" .. tostring(v)) end

-- scale(x): the position limits at x of full size
function Handle:scale(x)
  if type(x) ~= "number" or x <= 0 then usage("scale(x): expected a number > 0") end
  if not self.full_position then usage("scale: the deploy has no number max_position to scale") end
  local r = self:ctl("set risk.max_position=" .. scaled(self.full_position, x))
  if self.full_qty then self:ctl("set risk.max_order_qty=" .. scaled(self.full_qty, x)) end
  self.scale_now = x
  M.note("scale", { strategy = self.strategy, scale = x, max_position = scaled(self.full_position, x) })
  return r
end

local function save_handle(h)
  native.write(h.dir .. "/handle.json", json.encode({ pid = h.pid, sock = h.sock, live = h.live,
    versions = h.versions, full_position = h.full_position, full_qty = h.full_qty, scale = h.scale_now }) .. "\n")
end

-- reload(file): that file's source becomes the running version
function Handle:reload(file)
  local src
  if file then
    src = native.read(native.path(file))
    if not src then usage(tostring(file) .. ": cannot read") end
  else
    src = native.read(self.live)
  end
  local hash = native.sha256(src)
  native.write(self.dir .. "/versions/" .. hash .. ".lua", src)
  native.write(self.live, src)
  local r = self:ctl("reload", true)
  local ok = r and r.ok == true and not tostring(json.encode(r)):find('"ok": false')
  M.note("reload", { strategy = self.strategy, file = file, strategy_hash = hash, ok = ok, answer = r })
  if not ok then
    fail(string.format("%s: reload of %s refused: %s", self.name, tostring(file), json.encode(r or {})))
  end
  if self.versions[#self.versions] ~= hash then self.versions[#self.versions + 1] = hash end
  save_handle(self)
  return r
end

function Handle:stop(timeout)
  local r = self:ctl("stop", true)
  local how
  if self.attached then
    -- not our child: it is gone when its socket stops answering
    local deadline = native.mono() + (timeout or 15)
    while native.ctl(self.sock, "status", 1) and native.mono() < deadline do native.sleep(0.05) end
    how = "exited"
  else
    how = native.wait(self.pid, timeout or 15)
  end
  if how == "running" then
    native.kill(-self.pid, "TERM")
    how = native.wait(self.pid, 5)
    if how == "running" then native.kill(-self.pid, "KILL"); native.wait(self.pid, 5) end
  end
  M.note("stop", { strategy = self.strategy, socket = self.sock })
  return r
end

-- watch(handle, {seconds=, every=, halt_if=function(status) ... end})
function M.watch(h, o)
  o = o or {}
  local seconds, every = o.seconds or 10, o.every or 1
  local deadline = native.mono() + seconds
  local samples, last = 0, nil
  while true do
    local st = h:status()
    if not st then
      M.note("watch", { strategy = h.strategy, ok = false, reason = "the host stopped answering" })
      return { ok = false, reason = "the host stopped answering", samples = samples, status = last }
    end
    samples, last = samples + 1, st
    local why = o.halt_if and o.halt_if(st)
    if why then
      h:halt()
      local reason = type(why) == "string" and why or "halt_if"
      M.note("watch", { strategy = h.strategy, ok = false, reason = reason, samples = samples })
      return { ok = false, reason = reason, samples = samples, status = st }
    end
    if native.mono() >= deadline then break end
    native.sleep(math.min(every, math.max(0, deadline - native.mono())))
  end
  M.note("watch", { strategy = h.strategy, ok = true, samples = samples, seconds = seconds })
  return { ok = true, samples = samples, status = last }
end

-- rollback(handle [, {flatten = true}]): the version that ran before, or
-- (none, or by choice) flatten and stop
function M.rollback(h, o)
  o = o or {}
  local prev = #h.versions >= 2 and h.versions[#h.versions - 1]
  if prev and not o.flatten then
    local file = h.dir .. "/versions/" .. prev .. ".lua"
    local src = assert(native.read(file))
    native.write(h.live, src)
    local r = h:ctl("reload", true)
    local ok = r and r.ok == true
    if ok then
      h.versions[#h.versions + 1] = prev
      save_handle(h)
    end
    M.note("rollback", { strategy = h.strategy, to = prev, how = "reload", ok = ok })
    if not ok then fail(h.name .. ": rollback reload refused: " .. json.encode(r or {})) end
    return { how = "reload", version = prev }
  end
  h:ctl("flatten", true)
  h:stop()
  M.note("rollback", { strategy = h.strategy, how = "flatten_and_stop" })
  return { how = "flatten_and_stop" }
end

return M
