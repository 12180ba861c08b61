-- Helpers for the FIX specs: the QuickFIX acceptor (spec/peers/README.md) in
-- a spec's temporary directory, its record, stunnel4 in front of it as a TLS
-- server, the test certificates (scripts/fix_certs.sh), raw FIX messages,
-- and the QuickFIX initiator. Everything on 127.0.0.1; every wait bounded;
-- a spec stops what it started (peer:stop(), tls:stop(), or F.cleanup() in
-- an after_each / finally, which stops everything still running).
--
--   local F = require("fix_support")
--   local peer = F.acceptor{ dir = dir, script = "price XYZ 100\n" }
--   ... gantry live ... --venue "fix://127.0.0.1:" .. peer.port .. "?sender=HOST&target=EXEC"
--   local rec = peer:wait_record(function(r) return r.t == "exec" and r.exec_type == "F" end)
--   peer:stop()
local T = require("support")

local F = {}
local q = T.quote

F.peers = os.getenv("GANTRY_PEERS") or (T.root .. "/build/peers")
F.acceptor_bin = F.peers .. "/fix_acceptor"
F.initiator_bin = F.peers .. "/fix_initiator"
F.certs_script = T.root .. "/scripts/fix_certs.sh"

local running = {} -- every process started here and not yet stopped: handle -> true

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() return true end
  return false
end

-- The peers are built by `make peers` (make test builds them first).
function F.require_peers()
  for _, b in ipairs({ F.acceptor_bin, F.initiator_bin }) do
    assert(exists(b), b .. " is not built: run `make peers` (mk/fixpeer.mk)")
  end
end

-- --------------------------------------------------------------- JSON lines

-- Decodes one of the peers' flat JSON objects (strings, numbers, booleans).
function F.json_decode(line)
  local t, i, n = {}, 1, #line
  local function ws() i = line:find("[^ \t\r]", i) or n + 1 end
  local function str()
    assert(line:sub(i, i) == '"', "string expected at " .. i .. ": " .. line)
    local out = {}
    i = i + 1
    while i <= n do
      local c = line:sub(i, i)
      if c == '"' then i = i + 1; return table.concat(out) end
      if c == "\\" then
        local e = line:sub(i + 1, i + 1)
        if e == "u" then
          out[#out + 1] = string.char(tonumber(line:sub(i + 2, i + 5), 16) % 256)
          i = i + 6
        else
          out[#out + 1] = ({ n = "\n", t = "\t" })[e] or e
          i = i + 2
        end
      else
        out[#out + 1] = c
        i = i + 1
      end
    end
    error("unterminated string: " .. line)
  end
  ws()
  assert(line:sub(i, i) == "{", "not a JSON object: " .. line)
  i = i + 1
  while true do
    ws()
    if line:sub(i, i) == "}" then return t end
    local k = str()
    ws()
    assert(line:sub(i, i) == ":", "':' expected: " .. line)
    i = i + 1
    ws()
    local v
    if line:sub(i, i) == '"' then
      v = str()
    else
      local j = line:find("[,}]", i) or n + 1
      local raw = line:sub(i, j - 1):gsub("%s+$", "")
      if raw == "true" then v = true elseif raw == "false" then v = false
      else v = assert(tonumber(raw), "bad value '" .. raw .. "': " .. line) end
      i = j
    end
    t[k] = v
    ws()
    local c = line:sub(i, i)
    if c == "," then i = i + 1 elseif c == "}" then return t
    else error("',' or '}' expected: " .. line) end
  end
end

-- Every complete line of a JSON-lines file, decoded (a line still being
-- written, without its newline, is left for the next read; a line torn by a
-- SIGKILL, which the acceptor ends before going on, is skipped).
function F.read_jsonl(path)
  local text = T.read(path) or ""
  local out = {}
  for line in text:gmatch("([^\n]*)\n") do
    if line ~= "" then
      local ok, r = pcall(F.json_decode, line)
      if ok then out[#out + 1] = r end
    end
  end
  return out
end

-- The last position line of each symbol: { SYM = {qty=, avg_px=, cash=, realized=} }.
function F.positions(records)
  local p = {}
  for _, r in ipairs(records) do
    if r.t == "position" then p[r.symbol] = r end
  end
  return p
end

-- ---------------------------------------------------------------- processes

-- Starts argv (a list) in the background with stdout/stderr to files; the
-- handle has pid (the program's own), out, err, and rc (a file written when
-- it exits).
local function spawn(argv, dir, name)
  local h = { out = dir .. "/" .. name .. ".out", err = dir .. "/" .. name .. ".err",
              rc = dir .. "/" .. name .. ".rc", pidfile = dir .. "/" .. name .. ".pid" }
  os.remove(h.rc); os.remove(h.pidfile)
  local parts = {}
  for _, a in ipairs(argv) do parts[#parts + 1] = q(a) end
  local inner = table.concat(parts, " ") .. " </dev/null >" .. q(h.out) .. " 2>" .. q(h.err)
    .. " & echo $! >" .. q(h.pidfile) .. "; wait $!; echo $? >" .. q(h.rc .. ".tmp")
    .. "; mv " .. q(h.rc .. ".tmp") .. " " .. q(h.rc)
  os.execute("sh -c " .. q(inner) .. " >/dev/null 2>&1 &")
  local pid = T.wait_for(function()
    local s = T.read(h.pidfile)
    return s and tonumber(s:match("%d+"))
  end, 5)
  assert(pid, "could not start " .. argv[1])
  h.pid = pid
  running[h] = true
  return h
end

local function exit_code(h)
  local s = T.read(h.rc)
  return s and tonumber(s:match("%-?%d+"))
end

-- Waits (bounded) for h to exit; returns its exit status, or nil on timeout.
local function wait_exit(h, timeout)
  local code = T.wait_for(function() return exit_code(h) end, timeout or 10)
  if code then running[h] = nil end
  return code
end

-- SIGTERM, then SIGKILL if it has not gone within timeout; returns the status.
local function stop(h, timeout)
  if not h or exit_code(h) then
    if h then running[h] = nil end
    return h and exit_code(h)
  end
  os.execute("kill -TERM " .. h.pid .. " 2>/dev/null")
  local code = wait_exit(h, timeout or 5)
  if not code then
    os.execute("kill -KILL " .. h.pid .. " 2>/dev/null")
    code = wait_exit(h, 5)
  end
  running[h] = nil
  return code
end

-- Stops everything this module started and has not stopped (after_each).
function F.cleanup()
  for h in pairs(running) do stop(h, 2) end
end

-- ----------------------------------------------------------------- acceptor

local Peer = {}
Peer.__index = Peer

-- Starts the acceptor. opts: dir (required, the spec's temporary directory),
-- script (its text; default "price XYZ 100"), sender ("EXEC"), target
-- ("HOST"), port (0: a free one), username + password (a password file, 0600,
-- is written in dir), validate (default true: the FIX44.xml dictionary),
-- log (true: dir/peer/messages.log), name ("peer": the subdirectory).
-- Returns the peer: port, store, record, control, dir; errors if it does
-- not print `port N` within 10 s.
function F.acceptor(opts)
  F.require_peers()
  assert(opts and opts.dir, "F.acceptor needs opts.dir")
  local p = setmetatable({}, Peer)
  p.name = opts.name or "peer"
  p.dir = opts.dir .. "/" .. p.name
  os.execute("mkdir -p " .. q(p.dir .. "/store"))
  p.store = p.dir .. "/store"
  p.record = p.dir .. "/record.jsonl"
  p.control_file = p.dir .. "/control"
  p.script = T.write(p.dir .. "/script", opts.script or "price XYZ 100\n")
  p.sender, p.target = opts.sender or "EXEC", opts.target or "HOST"
  p.args = { F.acceptor_bin, "--script", p.script, "--store", p.store, "--record", p.record,
             "--sender", p.sender, "--target", p.target, "--control", p.control_file }
  if opts.username then
    p.password_file = p.dir .. "/password"
    os.execute("umask 077; : >" .. q(p.password_file))
    T.write(p.password_file, opts.username .. " " .. assert(opts.password, "username needs password") .. "\n")
  end
  if p.password_file then table.insert(p.args, "--password-file"); table.insert(p.args, p.password_file) end
  if opts.validate == false then table.insert(p.args, "--dict"); table.insert(p.args, "none") end
  if opts.log then table.insert(p.args, "--log"); table.insert(p.args, p.dir) end
  p.port = opts.port or 0
  p:start()
  return p
end

function Peer:start()
  local argv = { table.unpack(self.args) }
  argv[#argv + 1] = "--port"
  argv[#argv + 1] = tostring(self.port)
  self.proc = spawn(argv, self.dir, "acceptor")
  local port = T.wait_for(function()
    local s = T.read(self.proc.out)
    return s and tonumber(s:match("^port (%d+)\n"))
  end, 10)
  if not port then
    local code = stop(self.proc, 2)
    error("the acceptor did not start (exit " .. tostring(code) .. "): " .. (T.read(self.proc.err) or ""))
  end
  self.port = port
  self.pid = self.proc.pid
  return self
end

-- Appends a control line (script syntax; `tick SYM PX`, `stop`, ...).
function Peer:control(line)
  local f = assert(io.open(self.control_file, "ab"))
  f:write(line, "\n")
  f:close()
end

function Peer:running() return self.proc ~= nil and exit_code(self.proc) == nil end
function Peer:stop(timeout) return stop(self.proc, timeout) end
function Peer:wait_exit(timeout) return wait_exit(self.proc, timeout) end
function Peer:stderr() return T.read(self.proc.err) or "" end

-- A crash: SIGKILL, no Logout; the store and record stay as they were.
function Peer:kill()
  if self:running() then os.execute("kill -KILL " .. self.proc.pid .. " 2>/dev/null") end
  return wait_exit(self.proc, 5)
end

-- Starts it again on the same port with the same store and record (stopping
-- it first, with SIGTERM, if it still runs).
function Peer:restart()
  if self:running() then self:stop() end
  return self:start()
end

function Peer:records() return F.read_jsonl(self.record) end
function Peer:positions() return F.positions(self:records()) end

-- The first record for which pred(r) is true, waiting up to timeout
-- (default 10 s); nil and the record so far (as text) if none comes.
function Peer:wait_record(pred, timeout)
  local found = T.wait_for(function()
    for _, r in ipairs(self:records()) do
      if pred(r) then return r end
    end
  end, timeout or 10)
  if found then return found end
  return nil, T.read(self.record) or ""
end

-- Records of one type (and optionally one more field): peer:select("exec", {n = 2}).
function Peer:select(t, where)
  local out = {}
  for _, r in ipairs(self:records()) do
    local ok = r.t == t
    for k, v in pairs(where or {}) do ok = ok and r[k] == v end
    if ok then out[#out + 1] = r end
  end
  return out
end

-- ------------------------------------------------------------- certificates

-- Makes the test certificates in dir/certs (scripts/fix_certs.sh); returns
-- their paths: ca, ca_key, server, server_key, expired, expired_key,
-- wronghost, wronghost_key, unknown_ca, unknown, unknown_key, client, client_key.
function F.certs(dir)
  local d = dir .. "/certs"
  local code, _, err = T.sh(q(F.certs_script) .. " " .. q(d), dir)
  assert(code == 0, "fix_certs.sh failed: " .. err)
  local c = { dir = d }
  for _, n in ipairs({ "ca", "server", "expired", "wronghost", "unknown", "client" }) do
    c[n] = d .. "/" .. n .. ".pem"
    c[n .. "_key"] = d .. "/" .. n .. ".key"
  end
  c.unknown_ca = d .. "/unknown-ca.pem"
  return c
end

-- ---------------------------------------------------------------------- TLS

local Tls = {}
Tls.__index = Tls

local function free_port()
  local p = io.popen(q(F.acceptor_bin) .. " --free-port")
  local port = tonumber(p:read("l") or "")
  p:close()
  return assert(port, "no free port")
end

-- stunnel4 as a TLS server on 127.0.0.1 in front of the acceptor (or any
-- port). opts: dir (required), cert and key (paths; e.g. certs.server,
-- certs.server_key), client_ca (a CA file: then a client certificate signed
-- by it is required), name ("tls"). TLS 1.2 at least. Returns tls with port,
-- log (stunnel's), stop().
function F.tls(target_port, opts)
  assert(opts and opts.dir and opts.cert and opts.key, "F.tls needs dir, cert, key")
  local name = opts.name or "tls"
  local dir = opts.dir .. "/" .. name
  os.execute("mkdir -p " .. q(dir))
  local t = setmetatable({ dir = dir }, Tls)
  for _ = 1, 3 do -- the free port may be taken before stunnel binds it: try another
    t.port = free_port()
    local conf = {
      "foreground = yes", "pid =", "debug = 6", "syslog = no",
      "[fix]",
      "accept = 127.0.0.1:" .. t.port,
      "connect = 127.0.0.1:" .. target_port,
      "cert = " .. opts.cert, "key = " .. opts.key,
      "sslVersionMin = TLSv1.2",
    }
    if opts.client_ca then
      conf[#conf + 1] = "CAfile = " .. opts.client_ca
      conf[#conf + 1] = "verifyChain = yes"
      conf[#conf + 1] = "requireCert = yes"
    end
    t.conf = T.write(dir .. "/stunnel.conf", table.concat(conf, "\n") .. "\n")
    t.proc = spawn({ "stunnel4", t.conf }, dir, "stunnel")
    t.log = t.proc.err
    local state = T.wait_for(function()
      local s = (T.read(t.proc.err) or "") .. (T.read(t.proc.out) or "")
      if s:find("bound to 127.0.0.1:" .. t.port, 1, true) then return "up" end
      if s:find("failed", 1, true) or exit_code(t.proc) then return "down" end
    end, 10)
    if state == "up" then return t end
    stop(t.proc, 2)
  end
  error("stunnel did not start: " .. (T.read(t.proc.err) or ""))
end

function Tls:stop() return stop(self.proc, 5) end

-- ------------------------------------------------------------ FIX messages

local SOH = "\1"

-- A FIX 4.4 message from {{tag, value}, ...} (the body after 35, header
-- fields included as given), with 8, 9, 35 in front and the CheckSum.
function F.fix_message(msg_type, fields)
  local body = { "35=" .. msg_type }
  for _, f in ipairs(fields) do body[#body + 1] = f[1] .. "=" .. f[2] end
  local b = table.concat(body, SOH) .. SOH
  local head = "8=FIX.4.4" .. SOH .. "9=" .. #b .. SOH
  local sum = 0
  for i = 1, #head + #b do sum = sum + (head .. b):byte(i) end
  return head .. b .. string.format("10=%03d", sum % 256) .. SOH
end

-- A Logon from sender to target with MsgSeqNum seq (141=Y when reset).
function F.logon(sender, target, seq, opts)
  opts = opts or {}
  local f = { { 34, seq }, { 49, sender }, { 52, os.date("!%Y%m%d-%H:%M:%S") }, { 56, target },
              { 98, 0 }, { 108, opts.heartbeat or 30 } }
  if opts.reset then f[#f + 1] = { 141, "Y" } end
  if opts.username then f[#f + 1] = { 553, opts.username }; f[#f + 1] = { 554, opts.password } end
  return F.fix_message("A", f)
end

function F.logout(sender, target, seq)
  return F.fix_message("5", { { 34, seq }, { 49, sender }, { 52, os.date("!%Y%m%d-%H:%M:%S") }, { 56, target } })
end

-- The messages in a byte stream, each as { [tag] = value, type = 35 }.
function F.parse_stream(bytes)
  local out = {}
  for m in bytes:gmatch("8=FIX%.4%.4\1.-\00110=%d%d%d\1") do
    local t = {}
    for tag, v in m:gmatch("(%d+)=([^\1]*)\1") do t[tonumber(tag)] = v end
    t.type = t[35]
    out[#out + 1] = t
  end
  return out
end

-- openssl s_client to 127.0.0.1:port verifying the server against ca for
-- host ("localhost"), sending `send` (bytes) and keeping the connection
-- until the server closes it or timeout (default 10 s) passes. opts: cert,
-- key (a client certificate). Returns exit code, what came back, stderr.
function F.tls_client(port, ca, send, opts)
  opts = opts or {}
  local dir = opts.dir
  local input = T.write(dir .. "/s_client.in", send or "")
  local cmd = "timeout " .. (opts.timeout or 10) .. " openssl s_client -quiet -ign_eof"
    .. " -connect 127.0.0.1:" .. port .. " -CAfile " .. q(ca) .. " -verify_return_error"
    .. " -verify_hostname " .. q(opts.host or "localhost") .. " -servername " .. q(opts.host or "localhost")
    .. " -tls1_2"
  if opts.cert then cmd = cmd .. " -cert " .. q(opts.cert) .. " -key " .. q(opts.key) end
  return T.sh(cmd .. " <" .. q(input), dir)
end

-- Plain TCP to 127.0.0.1:port (bash's /dev/tcp): sends `send`, returns what
-- came back until the server closed or timeout (default 5 s) passed, and the
-- exit code (124 on the timeout). opts.dir is required.
function F.tcp_exchange(port, send, opts)
  local input = T.write(opts.dir .. "/tcp.in", send)
  local script = "exec 3<>/dev/tcp/127.0.0.1/" .. port .. " && cat " .. q(input) .. " >&3 && cat <&3"
  local code, out = T.sh("timeout " .. (opts.timeout or 5) .. " bash -c " .. q(script), opts.dir)
  return out, code
end

-- ---------------------------------------------------------------- initiator

-- Runs the QuickFIX initiator against port until it is done (bounded by
-- timeout, default 20 s). opts: dir (required), orders (text of the orders
-- file), sender ("HOST"), target ("EXEC"), username + password, reset,
-- heartbeat, name ("ini"). Returns exit code, its JSON-lines output (decoded),
-- stderr.
function F.initiator(port, opts)
  F.require_peers()
  local name = opts.name or "ini"
  local dir = opts.dir .. "/" .. name
  os.execute("mkdir -p " .. q(dir .. "/store"))
  local out = dir .. "/out.jsonl"
  local argv = { F.initiator_bin, "--port", tostring(port), "--store", dir .. "/store",
                 "--sender", opts.sender or "HOST", "--target", opts.target or "EXEC", "--out", out,
                 "--timeout", tostring(opts.wait or 10) }
  if opts.orders then
    argv[#argv + 1] = "--orders"
    argv[#argv + 1] = T.write(dir .. "/orders", opts.orders)
  end
  if opts.bench then argv[#argv + 1] = "--bench"; argv[#argv + 1] = tostring(opts.bench) end
  if opts.reset then argv[#argv + 1] = "--reset" end
  if opts.heartbeat then argv[#argv + 1] = "--heartbeat"; argv[#argv + 1] = tostring(opts.heartbeat) end
  if opts.username then
    local pw = dir .. "/password"
    os.execute("umask 077; : >" .. q(pw))
    T.write(pw, opts.password .. "\n")
    argv[#argv + 1] = "--username"; argv[#argv + 1] = opts.username
    argv[#argv + 1] = "--password-file"; argv[#argv + 1] = pw
  end
  local parts = { "timeout", "-k", "2", tostring(opts.timeout or 20) }
  for _, a in ipairs(argv) do parts[#parts + 1] = q(a) end
  local code, o, e = T.sh(table.concat(parts, " "), dir)
  return code, F.read_jsonl(out), e, o
end

return F
