-- Helpers of the monitoring specs (http_spec, alerts_spec, prometheus_spec,
-- dashboard_spec): a paper host with --http on a free port, curl, tokens.
local T = require "support"
local M = {}

-- Bars of one symbol from a list of {day_offset, close} in DIR/NAME.csv.
function M.bars(dir, list, name)
  local rows = { "datetime,open,high,low,close,volume" }
  for _, b in ipairs(list) do
    local d = os.date("!%Y-%m-%d", 1704067200 + b[1] * 86400)
    rows[#rows + 1] = string.format("%s,%s,%s,%s,%s,1000", d, b[2], b[2], b[2], b[2])
  end
  return T.write(dir .. "/" .. (name or "XYZ") .. ".csv", table.concat(rows, "\n") .. "\n")
end

M.READ = "read-token-0123456789abcdef"
M.RISK = "risk-token-0123456789abcdef"
M.TRADE = "trade-token-0123456789abcdef"
M.ADMIN = "admin-token-0123456789abcdef"

function M.tokens(dir)
  local p = T.write(dir .. "/tokens", table.concat({
    "# TOKEN SCOPE NAME", M.READ .. " read viewer", M.RISK .. " risk ops-risk",
    M.TRADE .. " trade desk", M.ADMIN .. " admin root" }, "\n") .. "\n")
  os.execute("chmod 600 " .. T.quote(p))
  return p
end

-- Waits for the host's "listening on" log line; returns the port.
function M.port(h, timeout)
  local port = T.wait_for(function()
    local e = T.read(h.err) or ""
    return e:match("listening on https?://127%.0%.0%.1:(%d+)")
  end, timeout or 10)
  assert(port, "the HTTP server never listened: " .. (T.read(h.err) or ""))
  return tonumber(port)
end

-- curl: returns status code and body. opts: token, method, data, tls.
function M.curl(port, path, opts)
  opts = opts or {}
  local args = { "curl", "-s", "-m", "5", "-o", "-", "-w", "'\\n%{http_code}'" }
  if opts.token then args[#args + 1] = "-H " .. T.quote("Authorization: Bearer " .. opts.token) end
  if opts.method then args[#args + 1] = "-X " .. opts.method end
  if opts.data then args[#args + 1] = "--data-binary " .. T.quote(opts.data) end
  if opts.header then args[#args + 1] = "-H " .. T.quote(opts.header) end
  local scheme = "http"
  if opts.tls then scheme = "https"; args[#args + 1] = "--cacert " .. T.quote(opts.tls) end
  args[#args + 1] = T.quote(scheme .. "://127.0.0.1:" .. port .. path)
  local _, out = T.sh(table.concat(args, " "))
  local body, code = out:match("^(.*)\n(%d+)$")
  return tonumber(code or 0), body or out
end

-- ISO-8601 UTC (the log's stamps) to milliseconds since the epoch.
function M.iso_ms(s)
  local y, mo, d, h, mi, se, frac = s:match("(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)%.?(%d*)Z")
  y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
  if mo <= 2 then y = y - 1 end
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local doy = (153 * (mo + (mo > 2 and -3 or 9)) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  local days = era * 146097 + doe - 719468
  local ms = ((days * 24 + tonumber(h)) * 60 + tonumber(mi)) * 60 + tonumber(se)
  return ms * 1000 + math.floor(tonumber("0." .. (frac ~= "" and frac or "0")) * 1000)
end

-- The webhook sink (scripts/webhook_sink.c): returns a handle with port, log.
function M.sink(dir, extra, timeout)
  local s = { log = dir .. "/sink.log", portf = dir .. "/sink.port" }
  os.remove(s.portf)
  local cmd = T.quote(T.tools .. "/webhook_sink") .. " --port-file " .. T.quote(s.portf) ..
    " --log " .. T.quote(s.log) .. " --timeout " .. (timeout or 40) .. " " .. (extra or "")
  local p = io.popen("sh -c " .. T.quote(cmd .. " >/dev/null 2>&1 & echo $!"))
  s.pid = tonumber(p:read("l"))
  p:close()
  s.port = tonumber(T.wait_for(function() return T.read(s.portf) end, 5))
  assert(s.port, "the webhook sink did not start")
  return s
end

function M.sink_lines(s)
  local t = {}
  for l in ((T.read(s.log) or "")):gmatch("[^\n]+") do
    local ms, body = l:match("^(%d+) (.*)$")
    t[#t + 1] = { ms = tonumber(ms), body = body }
  end
  return t
end

-- After a test: a host still running is stopped through its control socket,
-- else killed with the shell that started it (T.reap kills the shell only).
function M.reap(h, sock)
  if not h or T.read(h.rc) then return end
  if sock then T.ctl(sock, "stop") end
  if not T.wait_for(function() return T.read(h.rc) end, 3) then
    os.execute("pkill -9 -P " .. h.pid .. " 2>/dev/null")
    T.reap(h)
  end
end

function M.kill(pid) if pid then os.execute("kill " .. pid .. " 2>/dev/null") end end

return M
