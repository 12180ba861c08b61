-- gantry live over TLS (fixs://): stunnel4 in front of the QuickFIX acceptor
-- with certificates made for the spec (scripts/fix_certs.sh). A good
-- certificate trades; an expired one, one for another host and one from an
-- unknown CA each fail fast with one line naming the reason and exit 2; a
-- client certificate is sent when the venue requires one.
local T = require("support")
local F = require("fix_support")

describe("fix over TLS", function()
  local dir, certs, peer, cdir
  setup(function() -- the certificates once: making them is most of the time
    cdir = T.tmpdir()
    certs = F.certs(cdir)
  end)
  teardown(function() T.rmdir(cdir) end)
  before_each(function()
    dir = T.tmpdir()
    T.day_bars(dir, 3)
    peer = F.acceptor{ dir = dir, script = "price XYZ 100\ndefault ack fill\n" }
  end)
  after_each(function() F.cleanup(); T.rmdir(dir) end)

  local function strategy()
    return T.write(dir .. "/one.lua", [[
      local S = { params = { symbol = "XYZ" } }
      function S.on_bar(ctx, bar)
        ctx.state.n = (ctx.state.n or 0) + 1
        if ctx.state.n == 1 then ctx:buy("XYZ", 7) end
      end
      return S]])
  end

  local function run(tls, host, extra, strat)
    local cfg = T.write(dir .. "/deploy.lua", "return { venue = { heartbeat_s = 1, store = '" .. dir
      .. "/store', connect_timeout_s = 3, reconnect_s = 0.2, tls = { ca_file = '" .. certs.ca .. "'"
      .. (extra or "") .. " } } }\n")
    local t0 = os.time()
    local args = { "live" }
    for _, a in ipairs(strat or { strategy() }) do args[#args + 1] = a end
    for _, a in ipairs({ "--feed", "file:" .. dir .. "/XYZ.csv",
      "--venue", "fixs://" .. (host or "localhost") .. ":" .. tls.port .. "?sender=HOST&target=EXEC",
      "--config", cfg, "--out", dir .. "/out", "--overwrite", "--no-report", "--quiet" }) do
      args[#args + 1] = a
    end
    local code, out, err = T.gantry(args, dir)
    return code, err, os.time() - t0
  end

  it("trades sma_cross through a server certificate signed by the CA: fills and position equal the acceptor's", function()
    T.day_bars(dir, 40)
    local tls = F.tls(peer.port, { dir = dir, cert = certs.server, key = certs.server_key })
    local code, err = run(tls, nil, nil, { T.root .. "/strategies/sma_cross.lua", "--param", "symbol=XYZ",
                                           "--param", "fast=2", "--param", "slow=4" })
    assert.are.equal(0, code, err)
    assert.truthy(err:find("connected to localhost:" .. tls.port .. " (TLS)", 1, true), err)
    local fills = T.csv(dir .. "/out/fills.csv")
    local execs = peer:select("exec", { exec_type = "F" })
    assert.is_true(#fills >= 8)
    assert.are.equal(#execs, #fills)
    local q = 0
    for i, f in ipairs(fills) do
      assert.are.equal(execs[i].last_qty, tonumber(f.qty))
      q = q + (f.side == "buy" and 1 or -1) * tonumber(f.qty)
    end
    assert.are.equal(peer:positions().XYZ.qty, q)
  end)

  it("checks an address too: fixs://127.0.0.1 against the certificate's IP", function()
    local tls = F.tls(peer.port, { dir = dir, cert = certs.server, key = certs.server_key })
    local code, err = run(tls, "127.0.0.1")
    assert.are.equal(0, code, err)
    assert.are.equal(7, peer:positions().XYZ.qty)
  end)

  local bad = {
    { "expired", "certificate has expired" },
    { "wronghost", "hostname mismatch" },
    { "unknown", "unable to get local issuer certificate" },
  }
  for _, b in ipairs(bad) do
    it("refuses the " .. b[1] .. " certificate: one line naming the reason, exit 2, no hang", function()
      local tls = F.tls(peer.port, { dir = dir, cert = certs[b[1]], key = certs[b[1] .. "_key"] })
      local code, err, took = run(tls)
      assert.are.equal(2, code, err)
      local line = "gantry: fixs://localhost:" .. tls.port .. ": TLS: certificate verify failed: " .. b[2]
      assert.truthy(err:find(line, 1, true), line .. " not in:\n" .. err)
      assert.is_true(took <= 5, "took " .. took .. " s")
      assert.are.equal(0, #peer:select("logon"))
    end)
  end

  it("sends the client certificate when the venue requires one", function()
    local tls = F.tls(peer.port, { dir = dir, cert = certs.server, key = certs.server_key,
                                   client_ca = certs.ca })
    local code, err = run(tls, nil, ", cert_file = '" .. certs.client .. "', key_file = '" .. certs.client_key .. "'")
    assert.are.equal(0, code, err)
    assert.are.equal(7, peer:positions().XYZ.qty)
  end)

  it("says which TLS file it cannot read, exit 2", function()
    local tls = { port = 1 }
    local code, err = run(tls, nil, ", cert_file = '" .. dir .. "/none.pem', key_file = '" .. certs.client_key .. "'")
    assert.are.equal(2, code, err)
    assert.truthy(err:find(dir .. "/none.pem: cannot read the client certificate", 1, true), err)
  end)
end)
