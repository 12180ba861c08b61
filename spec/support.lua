-- Helpers shared by the end-to-end specs: temporary directories, running the
-- binary with its exit status, stdout and stderr, small file utilities.
local M = {}

M.root = os.getenv("PWD")
M.bin = os.getenv("GANTRY_BIN") or (M.root .. "/gantry")
M.tools = os.getenv("GANTRY_TOOLS") or (M.root .. "/build/tools")

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
M.quote = q

-- The VM the binary under test embeds, from its --version: "lua54" or
-- "luajit". make test runs the VM-facing specs once with each build.
do
  local p = io.popen(q(M.bin) .. " --version 2>/dev/null")
  local v = p and p:read("a") or ""
  if p then p:close() end
  M.vm = v:find("(LuaJIT", 1, true) and "luajit" or "lua54"
  M.luajit = M.vm == "luajit"
end

-- A runtime error's words, as each VM puts them: what = "index" or "call",
-- kind = "global", "field", "local", ...; e.g. Lua 5.4's
-- "attempt to index a nil value (global 'io')" is LuaJIT's
-- "attempt to index global 'io' (a nil value)".
function M.nil_error(what, kind, name)
  if M.luajit then return ("attempt to %s %s '%s' (a nil value)"):format(what, kind, name) end
  return ("attempt to %s a nil value (%s '%s')"):format(what, kind, name)
end

-- A whole-number parameter: Lua 5.4's integer; LuaJIT has one number type.
M.int_type = M.luajit and "number" or "integer"
M.an_int = M.luajit and "a number" or "an integer"

function M.tmpdir()
  local base = os.getenv("TMPDIR") or "/tmp"
  local p = io.popen("mktemp -d " .. q(base .. "/gantry-spec.XXXXXX"))
  local dir = p:read("l")
  p:close()
  assert(dir and #dir > 0, "mktemp failed")
  return dir
end

function M.rmdir(dir)
  if dir and dir:match("gantry%-spec%.") then os.execute("rm -rf " .. q(dir)) end
end

function M.write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  return path
end

function M.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

function M.lines(path)
  local t = {}
  for l in io.lines(path) do t[#t + 1] = l end
  return t
end

-- Runs a shell command line; returns exit code, stdout, stderr.
function M.sh(cmd, dir)
  local own = not dir -- a directory of its own for the two files, removed after
  dir = dir or M.tmpdir()
  local out, err = dir .. "/.stdout", dir .. "/.stderr"
  local ok, how, code = os.execute(cmd .. " >" .. q(out) .. " 2>" .. q(err))
  if how == "signal" then code = 128 + code end
  local o, e = M.read(out) or "", M.read(err) or ""
  os.remove(out); os.remove(err)
  if own then M.rmdir(dir) end
  return code, o, e
end

-- Runs gantry with the given arguments (a list); returns code, stdout, stderr.
-- The command line: env (a "K=V ..." prefix, optional), the binary (bin, or
-- the one under test), the arguments (a list), each quoted.
local function command(args, env, bin)
  local parts = { env or "", q(bin or M.bin) }
  for _, a in ipairs(args) do parts[#parts + 1] = q(a) end
  return table.concat(parts, " ")
end

-- Runs gantry (or bin) with the arguments, under env; returns code, stdout, stderr.
function M.gantry(args, dir, env, bin)
  return M.sh(command(args, env, bin), dir)
end

-- Starts gantry in the background; returns a handle with the pid and the
-- files its exit status and output go to.
function M.spawn(args, dir, env)
  local h = { rc = dir .. "/.rc", out = dir .. "/.out", err = dir .. "/.err" }
  os.remove(h.rc)
  local cmd = "sh -c " .. q(command(args, env) .. " >" .. q(h.out) .. " 2>" .. q(h.err)
    .. "; echo $? >" .. q(h.rc .. ".tmp") .. "; mv " .. q(h.rc .. ".tmp") .. " " .. q(h.rc))
    .. " >/dev/null 2>&1 & echo $!"
  local p = io.popen(cmd)
  h.pid = tonumber(p:read("l"))
  p:close()
  return h
end

function M.sleep(s) os.execute("sleep " .. s) end

-- Polls pred every 50 ms for at most `timeout` seconds; returns its last value.
function M.wait_for(pred, timeout)
  local tries = math.floor((timeout or 10) / 0.05)
  for _ = 1, tries do
    local v = pred()
    if v then return v end
    M.sleep(0.05)
  end
  return pred()
end

-- Waits for a spawned gantry to exit; returns its exit status (nil on timeout).
function M.wait_exit(h, timeout)
  local ok = M.wait_for(function() return M.read(h.rc) end, timeout or 20)
  if not ok then os.execute("kill -9 " .. h.pid .. " 2>/dev/null"); return nil end
  return tonumber(ok)
end

-- After a test: a host it started and did not stop is killed.
function M.reap(h)
  if h and not M.read(h.rc) then os.execute("kill -9 " .. h.pid .. " 2>/dev/null") end
end

-- Waits (10 s at most) for a started host's control socket to answer.
function M.await_ctl(sock, h)
  local ok = M.wait_for(function() return M.ctl(sock, "status") == 0 end, 10)
  assert(ok, "the control socket never answered: " .. (h and M.read(h.err) or ""))
end

function M.ctl(sock, ...)
  local code, out, err = M.gantry({ "ctl", sock, ... })
  return code, out, err
end

function M.gen_bars(dir, args)
  local cmd = "lua5.4 " .. q(M.root .. "/scripts/gen_bars") .. " " .. args .. " --out " .. q(dir)
  local code, _, err = M.sh(cmd, dir)
  assert(code == 0, "gen_bars failed: " .. err)
end

-- Whether text has a log line `... PREFIX MESSAGE`, where a backtest's lines
-- have the event time between them (`WARN risk: [event 2024-...Z] s rejected`).
-- prefix is plain ("WARN risk: "), message a Lua pattern.
function M.logged(text, prefix, message)
  local p = prefix:gsub("%p", "%%%0")
  return text:match(p .. message) or text:match(p .. "%[event [^%]]+%] " .. message)
end

-- A minimal JSON object reader for our own flat outputs (numbers, strings).
function M.json(text)
  local t = {}
  for k, v in text:gmatch('"([%w_]+)"%s*:%s*"([^"]*)"') do t[k] = v end
  for k, v in text:gmatch('"([%w_]+)"%s*:%s*([-%d.eE+]+)') do t[k] = tonumber(v) end
  return t
end

-- CSV rows as tables keyed by the header.
function M.csv(path)
  local rows, header = {}, nil
  for line in io.lines(path) do
    local f = {}
    for v in (line .. ","):gmatch("([^,]*),") do f[#f + 1] = v end
    if not header then header = f else
      local r = {}
      for i, h in ipairs(header) do r[h] = f[i] end
      rows[#rows + 1] = r
    end
  end
  return rows, header
end

-- N daily bars from 2024-01-01 of one symbol (default XYZ) in DIR/NAME.csv,
-- prices cycling over a week; returns the path. The specs' common data.
function M.day_bars(dir, n, name)
  local rows = { "datetime,open,high,low,close,volume" }
  for i = 1, n do
    local d = os.date("!%Y-%m-%d", 1704067200 + (i - 1) * 86400)
    local px = 100 + (i % 7)
    rows[#rows + 1] = string.format("%s,%d,%d,%d,%d,1000", d, px, px + 2, px - 2, px + 1)
  end
  return M.write(dir .. "/" .. (name or "XYZ") .. ".csv", table.concat(rows, "\n") .. "\n")
end

return M
