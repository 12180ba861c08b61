-- The FIX test counterparty itself (spec/peers/README.md): a QuickFIX
-- initiator logs on to the QuickFIX acceptor and the acceptor's record shows
-- each scripted behaviour; the session faults; a restart; the logon check;
-- the TLS terminator with each test certificate; the certificates' claimed
-- properties. Needs `make peers` (build/peers/).
local T = require("support")
local F = require("fix_support")

local function count(list, pred)
  local n = 0
  for _, r in ipairs(list) do if pred(r) then n = n + 1 end end
  return n
end

local function execs(peer, n)
  local out = {}
  for _, r in ipairs(peer:select("exec", { n = n })) do out[#out + 1] = r.exec_type .. ":" .. r.ord_status end
  return table.concat(out, " ")
end

describe("fix_acceptor (QuickFIX, scripted)", function()
  local dir
  before_each(function() dir = T.tmpdir() end)
  after_each(function() F.cleanup(); T.rmdir(dir) end)

  it("fills market orders at the script's price and records the initiator's position", function()
    local peer = F.acceptor{ dir = dir, script = "price XYZ 100.5\nprice ABC 20\n" }
    local code, out, err = F.initiator(peer.port, { dir = dir, orders = [[
buy XYZ 10
sell XYZ 4
buy ABC 3
wait reports=6
]] })
    assert.are.equal(0, code, err)
    assert.are.equal("0:0 F:2", execs(peer, 1))
    local p = peer:positions()
    assert.are.equal(6, p.XYZ.qty)
    assert.are.equal(100.5, p.XYZ.avg_px)
    assert.are.equal(-1005 + 402, p.XYZ.cash)
    assert.are.equal(0, p.XYZ.realized)
    assert.are.equal(3, p.ABC.qty)
    assert.are.equal(-60, p.ABC.cash)
    -- the initiator saw the same fills
    local fills = count(out, function(r) return r.msg == "8" and r.exec_type == "F" end)
    assert.are.equal(3, fills)
    peer:control("tick XYZ 102")
    -- the same initiator again (its store: the sequence numbers go on)
    local code2 = F.initiator(peer.port, { dir = dir, orders = "sell XYZ 6\nwait reports=2\n" })
    assert.are.equal(0, code2)
    p = peer:positions()
    assert.are.equal(0, p.XYZ.qty)
    assert.are.equal(0, p.XYZ.avg_px)
    assert.are.equal(9, p.XYZ.realized) -- 6 x (102 - 100.5)
    assert.are.equal(0, peer:stop())
    local recs = peer:records()
    assert.are.equal("stop", recs[#recs].t)
    local finals = peer:select("final")
    assert.are.equal(2, #finals)
    table.sort(finals, function(a, b) return a.symbol < b.symbol end)
    assert.are.same({ "ABC", 3, -60 }, { finals[1].symbol, finals[1].qty, finals[1].cash })
    assert.are.same({ "XYZ", 0, 9 }, { finals[2].symbol, finals[2].qty, finals[2].realized })
  end)

  it("listens on 127.0.0.1 only (QuickFIX 1.15.1 binds every interface; the peer moves it)", function()
    local peer = F.acceptor{ dir = dir }
    local port = string.format("%04X", peer.port)
    local addrs = {}
    for line in io.lines("/proc/net/tcp") do
      local addr, p, st = line:match("^%s*%d+: (%x+):(%x+) %x+:%x+ (%x+)")
      if p == port and st == "0A" then addrs[#addrs + 1] = addr end -- 0A: LISTEN
    end
    assert.are.same({ "0100007F" }, addrs)
  end)

  it("runs per-order steps: partial fills, a fill without an ack, pending new, reject with text", function()
    local peer = F.acceptor{ dir = dir, script = [[
price XYZ 50
order 1 ack fill=3 fill=4
order 2 fill@49.5
order 3 pending ack fill
order 4 reject no shorting today
symbol ABC reject closed
]] }
    local code, _, err = F.initiator(peer.port, { dir = dir, orders = [[
buy XYZ 10 limit=51
buy XYZ 2
buy XYZ 1
sell XYZ 1
buy ABC 1
wait reports=9
]] })
    assert.are.equal(0, code, err)
    assert.are.equal("0:0 F:1 F:1", execs(peer, 1))
    local last = peer:select("exec", { n = 1 })[3]
    assert.are.equal(7, last.cum_qty)
    assert.are.equal(3, last.leaves_qty)
    assert.are.equal("F:2", execs(peer, 2))
    assert.are.equal(49.5, peer:select("exec", { n = 2 })[1].last_px)
    assert.are.equal("A:A 0:0 F:2", execs(peer, 3))
    assert.are.equal("8:8", execs(peer, 4))
    assert.are.equal("no shorting today", peer:select("exec", { n = 4 })[1].text)
    assert.are.equal("closed", peer:select("exec", { n = 5 })[1].text)
    assert.are.equal(10, peer:positions().XYZ.qty)
  end)

  it("rests limit orders, fills them when a tick crosses, fills marketable ones at once, cancels IOC rests", function()
    local peer = F.acceptor{ dir = dir, script = "price XYZ 100\ntick XYZ 97 after=3\n" }
    local code, _, err = F.initiator(peer.port, { dir = dir, orders = [[
buy XYZ 5 limit=98
buy XYZ 5 limit=101
buy XYZ 5 limit=95 tif=ioc
wait reports=6
sell XYZ 1 limit=120
wait reports=7
]] })
    assert.are.equal(0, code, err)
    assert.are.equal("0:0 F:2", execs(peer, 1)) -- filled by the tick to 97, at its limit
    assert.are.equal(98, peer:select("exec", { n = 1 })[2].last_px)
    assert.are.equal("0:0 F:2", execs(peer, 2)) -- marketable: at the price, 100
    assert.are.equal(100, peer:select("exec", { n = 2 })[2].last_px)
    assert.are.equal("0:0 4:4", execs(peer, 3))
    assert.are.equal("0:0", execs(peer, 4))
    peer:control("tick XYZ 121")
    assert.truthy(peer:wait_record(function(r) return r.t == "exec" and r.n == 4 and r.exec_type == "F" end))
    assert.are.equal(120, peer:select("exec", { n = 4 })[2].last_px)
    assert.are.equal(9, peer:positions().XYZ.qty)
  end)

  it("answers cancels and replaces as scripted, and unknown or finished orders with a cancel reject", function()
    local peer = F.acceptor{ dir = dir, script = [[
price XYZ 100
cancel 2 reject too late to cancel
cancel 3 pending ack
replace 4 reject not allowed
replace 5 pending ack
]] }
    local code, out, err = F.initiator(peer.port, { dir = dir, orders = [[
buy XYZ 5 limit=90
buy XYZ 5 limit=90
buy XYZ 5 limit=90
buy XYZ 5 limit=90
buy XYZ 5 limit=90
buy XYZ 1
wait reports=7
cancel 1
cancel 2
cancel 3
replace 4 qty=6
replace 5 qty=3 price=101
cancel 6
wait reports=16
]] })
    assert.are.equal(0, code, err)
    assert.are.equal("0:0 4:4", execs(peer, 1))
    local rej = peer:select("cancel_reject")
    assert.are.equal(3, #rej)
    assert.are.same({ 2, "cancel", "too late to cancel" }, { rej[1].n, rej[1].response_to, rej[1].text })
    assert.are.equal("0:0 6:6 4:4", execs(peer, 3))
    assert.are.same({ 4, "replace", "not allowed" }, { rej[2].n, rej[2].response_to, rej[2].text })
    -- pending replace, then replaced to a marketable price: it fills at 100
    assert.are.equal("0:0 E:E 5:0 F:2", execs(peer, 5))
    local r5 = peer:select("exec", { n = 5 })
    assert.are.same({ 3, 101 }, { r5[3].qty, r5[3].price })
    assert.are.equal(100, r5[4].last_px)
    assert.are.equal(r5[3].clordid, r5[4].clordid)
    -- order 6 had filled: too late (reason 0)
    assert.are.same({ 6, 0 }, { rej[3].n, rej[3].reason })
    -- the initiator got the cancel rejects (35=9) with 434
    assert.are.equal(3, count(out, function(r) return r.msg == "9" end))
    assert.are.equal(1, count(out, function(r) return r.msg == "9" and r.response_to == "2" end))
  end)

  it("sends unsolicited cancels, expiries and done for day", function()
    local peer = F.acceptor{ dir = dir, script = [[
price XYZ 100
order 1 ack fill=2 cancel
order 2 ack expire
order 3 ack dfd
]] }
    local code, _, err = F.initiator(peer.port, { dir = dir, orders = [[
buy XYZ 5 limit=90
buy XYZ 5 limit=90
buy XYZ 5 limit=90
wait reports=7
]] })
    assert.are.equal(0, code, err)
    assert.are.equal("0:0 F:1 4:4", execs(peer, 1))
    assert.are.equal(0, peer:select("exec", { n = 1 })[3].leaves_qty)
    assert.are.equal("0:0 C:C", execs(peer, 2))
    assert.are.equal("0:0 3:3", execs(peer, 3))
  end)

  it("answers OrderStatusRequest and OrderMassStatusRequest with ExecType I", function()
    local peer = F.acceptor{ dir = dir, script = "price XYZ 100\n" }
    local code, out, err = F.initiator(peer.port, { dir = dir, orders = [[
buy XYZ 5 limit=90
buy XYZ 5 limit=91
buy XYZ 1
wait reports=4
status 1
mass
wait reports=7
]] })
    assert.are.equal(0, code, err)
    local st = {}
    for _, r in ipairs(out) do if r.exec_type == "I" then st[#st + 1] = r end end
    assert.are.equal(3, #st)
    assert.are.same({ "O1", "0", "5" }, { st[1].order_id, st[1].ord_status, st[1].leaves_qty })
    assert.are.same({ "O1", "2", "" }, { st[2].order_id, st[2].tot, st[2].last_rpt })
    assert.are.same({ "O2", "2", "Y" }, { st[3].order_id, st[3].tot, st[3].last_rpt })
    assert.are.equal(st[2].mass_id, st[3].mass_id)
    assert.are.equal(1, #peer:select("mass_status_request"))
  end)
end)

describe("fix_acceptor session faults", function()
  local dir
  before_each(function() dir = T.tmpdir() end)
  after_each(function() F.cleanup(); T.rmdir(dir) end)

  it("skips outgoing sequence numbers; the initiator's ResendRequest gets a gap fill", function()
    local peer = F.acceptor{ dir = dir, script = "price XYZ 100\nfault gap at=2 count=3\n" }
    local code, out, err = F.initiator(peer.port, { dir = dir, orders = "buy XYZ 1\nbuy XYZ 1\nwait reports=4\n" })
    assert.are.equal(0, code, err)
    local rr = peer:wait_record(function(r) return r.t == "admin" and r.type == "2" end, 5)
    assert.truthy(rr, "no ResendRequest from the initiator")
    assert.are.equal(1, #peer:select("fault", { kind = "gap", at = 2 }))
    local gapfill = count(out, function(r) return r.t == "admin" and r.type == "4" end)
    assert.are.equal(1, gapfill)
  end)

  it("sends a ResendRequest; the initiator resends its orders with PossDupFlag", function()
    local peer = F.acceptor{ dir = dir, script = "price XYZ 100\nfault resend at=2 begin=1 end=0\n" }
    local code, _, err = F.initiator(peer.port, { dir = dir, orders = "buy XYZ 1\nbuy XYZ 2\nwait reports=4\nsleep 300\n" })
    assert.are.equal(0, code, err)
    local pd = peer:wait_record(function(r) return r.t == "poss_dup" and r.type == "D" end, 5)
    assert.truthy(pd, "no resent order")
    -- resent orders are not new orders
    assert.are.equal(2, #peer:select("order"))
  end)

  it("drops the connection after message K; the initiator logs on again and trades on", function()
    local peer = F.acceptor{ dir = dir, script = "price XYZ 100\nfault drop at=1\n" }
    local code, _, err = F.initiator(peer.port, { dir = dir, orders = [[
buy XYZ 1
wait reports=2
wait logons=2
buy XYZ 2
wait reports=4
]] })
    assert.are.equal(0, code, err)
    assert.are.equal(2, #peer:select("logon"))
    assert.are.equal(3, peer:positions().XYZ.qty)
  end)

  it("drops before answering: the answers reach the initiator by resend after it logs on again", function()
    local peer = F.acceptor{ dir = dir, script = "price XYZ 100\nfault drop at=1 before\n" }
    local code, out, err = F.initiator(peer.port, { dir = dir, orders = "buy XYZ 1\nwait logons=2\nwait reports=2\n" })
    assert.are.equal(0, code, err)
    assert.are.equal("0:0 F:2", execs(peer, 1))
    local resent = count(out, function(r) return r.msg == "8" and r.poss_dup == true end)
    assert.are.equal(2, resent)
    assert.truthy(peer:wait_record(function(r) return r.t == "admin" and r.type == "2" end, 5))
  end)

  it("sends a too-low MsgSeqNum without PossDupFlag: QuickFIX's initiator logs out", function()
    local peer = F.acceptor{ dir = dir, script = "price XYZ 100\nfault lowseq at=1\n" }
    F.initiator(peer.port, { dir = dir, orders = "buy XYZ 1\nwait reports=2\nsleep 500\n" })
    local lo = peer:wait_record(function(r) return r.t == "admin" and r.type == "5" end, 5)
    assert.truthy(lo, "no Logout from the initiator")
    assert.truthy(lo.text:find("MsgSeqNum too low", 1, true), lo.text)
  end)

  it("exits as scripted and, restarted on the same store and record, continues the session", function()
    local peer = F.acceptor{ dir = dir, script = "price XYZ 100\nfault exit at=1\n" }
    local port = peer.port
    -- the initiator runs in the background, reconnecting every second while
    -- the spec restarts the acceptor
    local ini = dir .. "/bg"
    os.execute("mkdir -p " .. ini .. "/store")
    T.write(ini .. "/orders", "buy XYZ 1\nwait reports=2\nwait logons=2\nbuy XYZ 2\nwait reports=4\n")
    local cmd = "timeout -k 2 25 " .. T.quote(F.initiator_bin) .. " --port " .. port .. " --store " .. ini
      .. "/store --sender HOST --target EXEC --out " .. ini .. "/out.jsonl --timeout 15 --orders " .. ini
      .. "/orders >" .. ini .. "/stdout 2>" .. ini .. "/stderr; echo $? >" .. ini .. "/rc"
    os.execute("sh -c " .. T.quote(cmd) .. " >/dev/null 2>&1 &")
    assert.are.equal(3, peer:wait_exit(10))
    assert.are.equal(1, #peer:select("order"))
    peer:start()
    assert.are.equal(port, peer.port)
    local rc = T.wait_for(function() return T.read(ini .. "/rc") end, 25)
    assert.truthy(rc, "the initiator did not finish")
    assert.are.equal("0", rc:match("%d+"), T.read(ini .. "/stderr"))
    local starts = peer:select("start")
    assert.are.same({ false, true }, { starts[1].restarted, starts[2].restarted })
    local logons = peer:select("logon")
    assert.are.equal(2, #logons)
    assert.is_true(logons[2].in_seq > 2) -- the sequence numbers went on
    local orders = peer:select("order")
    assert.are.same({ 1, 2 }, { orders[1].n, orders[2].n }) -- so did the order numbers
    assert.are.equal(3, peer:positions().XYZ.qty)
    assert.are.equal(1, #peer:select("fault")) -- fired once only
  end)

  it("refuses a logon with the wrong password and accepts the right one", function()
    local peer = F.acceptor{ dir = dir, username = "gantry", password = "s3cret" }
    local code, _, err = F.initiator(peer.port, { dir = dir, username = "gantry", password = "wrong",
                                                  orders = "buy XYZ 1\n" })
    assert.are.equal(1, code)
    assert.truthy(err:find("fix_initiator: no logon: refused: Rejected Logon Attempt: bad credentials", 1, true), err)
    local refused = peer:wait_record(function(r) return r.t == "logon_refused" end, 5)
    assert.are.same({ "bad credentials", "gantry" }, { refused.reason, refused.username })
    local code2, _, err2 = F.initiator(peer.port, { dir = dir, name = "ini2", username = "gantry", reset = true,
                                                    password = "s3cret", orders = "buy XYZ 1\nwait reports=2\n" })
    assert.are.equal(0, code2, err2)
    assert.are.equal("gantry", peer:select("logon")[1].username)
  end)

  it("answers a message missing a required field with a session Reject naming the tag", function()
    local peer = F.acceptor{ dir = dir }
    local now = os.date("!%Y%m%d-%H:%M:%S")
    local hdr = function(seq) return { { 34, seq }, { 49, "HOST" }, { 52, now }, { 56, "EXEC" } } end
    local d = hdr(2)
    for _, f in ipairs({ { 11, "X1" }, { 55, "XYZ" }, { 60, now }, { 38, 1 }, { 40, 1 } }) do d[#d + 1] = f end
    local bytes = F.logon("HOST", "EXEC", 1) .. F.fix_message("D", d) .. F.logout("HOST", "EXEC", 3)
    local got = F.tcp_exchange(peer.port, bytes, { dir = dir })
    local msgs = F.parse_stream(got)
    local types = {}
    for _, m in ipairs(msgs) do types[#types + 1] = m.type end
    assert.are.equal("A", types[1], got)
    local rej
    for _, m in ipairs(msgs) do if m.type == "3" then rej = m end end
    assert.truthy(rej, "no Reject in " .. got)
    assert.are.same({ "2", "54", "1" }, { rej[45], rej[371], rej[373] }) -- required tag missing
    assert.are.equal(0, #peer:select("order"))
  end)
end)

describe("fix_acceptor command line and script errors", function()
  local dir
  before_each(function() dir = T.tmpdir() end)
  after_each(function() F.cleanup(); T.rmdir(dir) end)

  local function run(args)
    local parts = { T.quote(F.acceptor_bin) }
    for _, a in ipairs(args) do parts[#parts + 1] = T.quote(a) end
    return T.sh("timeout 10 " .. table.concat(parts, " "), dir)
  end
  local function base(script)
    return { "--script", T.write(dir .. "/s", script), "--store", dir .. "/st", "--record", dir .. "/r",
             "--sender", "EXEC", "--target", "HOST" }
  end

  it("names the script's file and line of a bad directive, exit 2", function()
    local code, _, err = run(base("price XYZ 100\norder 2 fill=abc\n"))
    assert.are.equal(2, code)
    assert.truthy(err:find(dir .. "/s:2: bad fill size in 'fill=abc' (fill=QTY)", 1, true), err)
    code, _, err = run(base("fault boom at=1\n"))
    assert.are.equal(2, code)
    assert.truthy(err:find("/s:1: unknown fault 'boom'", 1, true), err)
    code, _, err = run(base("fault drop count=2\n"))
    assert.are.equal(2, code)
    assert.truthy(err:find("/s:1: fault needs at=K (K from 1)", 1, true), err)
    code, _, err = run(base("price XYZ -1\n"))
    assert.are.equal(2, code)
    assert.truthy(err:find("/s:1: price needs SYMBOL PRICE", 1, true), err)
  end)

  it("refuses a bad command line, a missing script or password file, exit 2", function()
    local code, _, err = run({ "--bogus", "1" })
    assert.are.equal(2, code)
    assert.truthy(err:find("unknown argument '--bogus'", 1, true), err)
    code, _, err = run({ "--script", "x" })
    assert.are.equal(2, code)
    assert.truthy(err:find("--store is required", 1, true), err)
    local args = base("price XYZ 1\n")
    args[2] = dir .. "/none"
    code, _, err = run(args)
    assert.are.equal(2, code)
    assert.truthy(err:find(dir .. "/none: cannot read the script", 1, true), err)
    args = base("price XYZ 1\n")
    args[#args + 1] = "--password-file"; args[#args + 1] = dir .. "/nopw"
    code, _, err = run(args)
    assert.are.equal(2, code)
    assert.truthy(err:find("cannot read the password file", 1, true), err)
    args = base("price XYZ 1\n")
    args[#args + 1] = "--port"; args[#args + 1] = "70000"
    code, _, err = run(args)
    assert.are.equal(2, code)
    assert.truthy(err:find("--port must be 0..65535", 1, true), err)
  end)

  it("refuses an unreadable dictionary or log directory (exit 2) and a port in use (exit 1)", function()
    local args = base("price XYZ 1\n")
    args[#args + 1] = "--dict"; args[#args + 1] = dir .. "/nodict.xml"
    local code, _, err = run(args)
    assert.are.equal(2, code)
    assert.truthy(err:find(dir .. "/nodict.xml: cannot read the data dictionary", 1, true), err)
    args = base("price XYZ 1\n")
    args[#args + 1] = "--log"; args[#args + 1] = dir .. "/no/such/dir"
    code, _, err = run(args)
    assert.are.equal(2, code)
    assert.truthy(err:find("/no/such/dir: cannot write messages.log there", 1, true), err)
    local peer = F.acceptor{ dir = dir }
    args = base("price XYZ 1\n")
    args[6] = dir .. "/r2"
    args[#args + 1] = "--port"; args[#args + 1] = tostring(peer.port)
    code, _, err = run(args)
    assert.are.equal(1, code)
    assert.truthy(err:find("cannot start on 127.0.0.1:" .. peer.port, 1, true), err)
  end)

  it("fix_initiator: a bad command line exits 2, a bad orders line 1, naming the line", function()
    local code, _, err = T.sh(T.quote(F.initiator_bin) .. " --port 1", dir)
    assert.are.equal(2, code)
    assert.truthy(err:find("--store is required", 1, true), err)
    code, _, err = T.sh(T.quote(F.initiator_bin) .. " --port 0 --store s --sender A --target B --out o --bench 1", dir)
    assert.are.equal(2, code)
    assert.truthy(err:find("--port must be 1..65535", 1, true), err)
    local peer = F.acceptor{ dir = dir }
    local c2, _, e2 = F.initiator(peer.port, { dir = dir, orders = "buy XYZ 1\nfrobnicate 3\n" })
    assert.are.equal(1, c2)
    assert.truthy(e2:find("/orders:2: unknown command 'frobnicate'", 1, true), e2)
    c2, _, e2 = F.initiator(peer.port, { dir = dir, orders = "cancel 4\n" })
    assert.are.equal(1, c2)
    assert.truthy(e2:find("/orders:1: cancel needs the number of an order sent earlier", 1, true), e2)
  end)

  it("fix_certs.sh: usage without a directory, exit 2", function()
    local code, _, err = T.sh(T.quote(F.certs_script), dir)
    assert.are.equal(2, code)
    assert.truthy(err:find("usage: scripts/fix_certs.sh DIR", 1, true), err)
  end)

  it("reports a bad control line in the record and keeps running", function()
    local peer = F.acceptor{ dir = dir }
    peer:control("tick XYZ")
    local e = peer:wait_record(function(r) return r.t == "control_error" end, 5)
    assert.truthy(e)
    assert.are.equal("tick needs SYMBOL PRICE (a positive number)", e.message)
    assert.is_true(peer:running())
    peer:control("stop")
    assert.are.equal(0, peer:wait_exit(5))
  end)
end)

describe("the TLS terminator and the test certificates", function()
  local dir, certs, peer
  setup(function()
    dir = T.tmpdir()
    certs = F.certs(dir)
  end)
  teardown(function() F.cleanup(); T.rmdir(dir) end)

  local function openssl(args)
    return T.sh("openssl " .. args, dir)
  end

  it("makes the certificates it claims", function()
    local code, out = openssl("x509 -in " .. certs.server .. " -noout -subject -ext subjectAltName")
    assert.are.equal(0, code)
    assert.truthy(out:find("CN = localhost", 1, true), out)
    assert.truthy(out:find("DNS:localhost, IP Address:127.0.0.1", 1, true), out)
    assert.are.equal(0, (openssl("verify -CAfile " .. certs.ca .. " " .. certs.server)))
    assert.are.equal(0, (openssl("x509 -in " .. certs.server .. " -noout -checkend 86400")))
    -- expired: by the CA, for localhost, past its notAfter
    assert.are.equal(1, (openssl("x509 -in " .. certs.expired .. " -noout -checkend 0")))
    local _, _, err = openssl("verify -CAfile " .. certs.ca .. " " .. certs.expired)
    assert.truthy(err:find("certificate has expired", 1, true), err)
    -- wrong host: chain good, host not
    assert.are.equal(0, (openssl("verify -CAfile " .. certs.ca .. " " .. certs.wronghost)))
    _, _, err = openssl("verify -CAfile " .. certs.ca .. " -verify_hostname localhost " .. certs.wronghost)
    assert.truthy(err:find("hostname mismatch", 1, true), err)
    _, out = openssl("x509 -in " .. certs.wronghost .. " -noout -subject")
    assert.truthy(out:find("CN = wrong.example", 1, true), out)
    -- unknown CA: fine by its own CA, not by ours
    assert.are.equal(0, (openssl("verify -CAfile " .. certs.unknown_ca .. " " .. certs.unknown)))
    _, _, err = openssl("verify -CAfile " .. certs.ca .. " " .. certs.unknown)
    assert.truthy(err:find("unable to get local issuer certificate", 1, true), err)
    -- client: by the CA, for client auth
    assert.are.equal(0, (openssl("verify -CAfile " .. certs.ca .. " -purpose sslclient " .. certs.client)))
    -- keys private to their owner
    local p = io.popen("stat -c %a " .. T.quote(certs.server_key) .. " " .. T.quote(certs.client_key))
    local modes = p:read("a")
    p:close()
    assert.are.equal("600\n600\n", modes)
  end)

  it("carries a FIX logon over TLS with the good certificate", function()
    peer = F.acceptor{ dir = dir }
    local tls = F.tls(peer.port, { dir = dir, cert = certs.server, key = certs.server_key })
    local code, out, err = F.tls_client(tls.port, certs.ca,
      F.logon("HOST", "EXEC", 1) .. F.logout("HOST", "EXEC", 2), { dir = dir })
    assert.are.equal(0, code, err)
    local msgs = F.parse_stream(out)
    assert.are.equal("A", msgs[1] and msgs[1].type, out)
    assert.are.equal("5", msgs[#msgs].type)
    assert.truthy(peer:wait_record(function(r) return r.t == "logon" end, 5))
    tls:stop()
    peer:stop()
  end)

  for _, c in ipairs({
    { "expired", "certificate has expired" },
    { "wronghost", "hostname mismatch" },
    { "unknown", "unable to get local issuer certificate" },
  }) do
    it("fails the handshake for the " .. c[1] .. " certificate, naming why", function()
      local p = F.acceptor{ dir = dir, name = "peer-" .. c[1] }
      local tls = F.tls(p.port, { dir = dir, name = "tls-" .. c[1], cert = certs[c[1]], key = certs[c[1] .. "_key"] })
      local code, out, err = F.tls_client(tls.port, certs.ca, F.logon("HOST", "EXEC", 1), { dir = dir, timeout = 5 })
      assert.are_not.equal(0, code)
      assert.are_not.equal(124, code) -- failed fast, not by the timeout
      assert.truthy(err:find(c[2], 1, true), err)
      assert.are.equal(0, #F.parse_stream(out))
      assert.are.equal(0, #p:select("logon"))
      tls:stop()
      p:stop()
    end)
  end

  it("requires a client certificate when given a client CA", function()
    local p = F.acceptor{ dir = dir, name = "peer-client" }
    local tls = F.tls(p.port, { dir = dir, name = "tls-client", cert = certs.server, key = certs.server_key,
                                client_ca = certs.ca })
    local msg = F.logon("HOST", "EXEC", 1) .. F.logout("HOST", "EXEC", 2)
    local code, out = F.tls_client(tls.port, certs.ca, msg, { dir = dir, timeout = 5 })
    assert.are.equal(0, #F.parse_stream(out), "logged on without a client certificate")
    assert.are_not.equal(124, code)
    code, out = F.tls_client(tls.port, certs.ca, msg, { dir = dir, cert = certs.client, key = certs.client_key })
    assert.are.equal(0, code)
    assert.are.equal("A", F.parse_stream(out)[1].type)
    tls:stop()
    p:stop()
  end)
end)

describe("fix_acceptor under libFuzzer", function()
  it("reads any record or script line without a sanitizer error (make fuzz-peer-smoke)", function()
    local p = io.popen("make -s --no-print-directory fuzz-peer-smoke 2>&1; echo \"exit=$?\"")
    local out = p:read("a")
    p:close()
    assert.matches("exit=0", out, out)
    assert.matches("number_of_executed_units: 2000", out)
  end)
end)
