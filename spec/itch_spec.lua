-- gantry itch, end to end: the real capture, generated days with their
-- ground truth, and every data-integrity error with its byte offset.
local json = require "dkjson"
local T = require "support"

local BIN, TOOLS = T.bin, T.tools
local DATA = T.root .. "/spec/fixtures" -- copied from the reference data (README there)
local sh_quote, write = T.quote, T.write

local function read(path) return assert(T.read(path), path) end

local tmp
local function run(args)
  local out, err = tmp .. "/out", tmp .. "/err"
  local ok, _, code = os.execute(args .. " >" .. out .. " 2>" .. err)
  return { ok = ok, code = code, out = read(out), err = read(err) }
end

local function itch(...)
  local parts = { BIN, "itch" }
  for _, a in ipairs({ ... }) do parts[#parts + 1] = sh_quote(a) end
  return run(table.concat(parts, " "))
end

-- ITCH framing helpers (big-endian)
local function frame(msg) return string.pack(">I2", #msg) .. msg end
local function hdr(t, locate, ts) return t .. string.pack(">I2I2", locate, 0) .. string.pack(">I6", ts) end
local function add(ref, side, shares, stock, price, ts)
  return frame(hdr("A", 1, ts) .. string.pack(">I8", ref) .. side .. string.pack(">I4", shares)
    .. string.format("%-8s", stock) .. string.pack(">I4", price))
end
local function del(ref, ts) return frame(hdr("D", 1, ts) .. string.pack(">I8", ref)) end

describe("gantry itch", function()
  setup(function() tmp = T.tmpdir() end)
  teardown(function() T.rmdir(tmp) end)

  describe("on the real capture", function()

    it("--dump matches itch50-real.jsonl field for field", function()
      local r = itch(DATA .. "/itch50-real.itch", "--dump")
      assert.is_true(r.ok)
      local got = {}
      for line in r.out:gmatch("[^\n]+") do got[#got + 1] = json.decode(line) end
      local want = {}
      for line in read(DATA .. "/itch50-real.jsonl"):gmatch("[^\n]+") do
        local o = json.decode(line)
        o.mold = nil
        want[#want + 1] = o
      end
      assert.are.equal(227, #want)
      assert.are.equal(#want, #got)
      for i = 1, #want do
        assert.are.same(want[i], got[i], "message " .. i)
      end
    end)

    it("--stats stops at the first integrity error with its byte offset", function()
      local r = itch(DATA .. "/itch50-real.itch", "--stats")
      assert.are.equal(2, r.code)
      assert.are.equal("", r.out)
      assert.matches("^gantry: .*itch50%-real%.itch: byte 210: timestamp 34199999357223 is before", r.err)
    end)

    it("--lenient counts every warning by kind", function()
      local r = itch(DATA .. "/itch50-real.itch", "--stats", "--lenient")
      assert.is_true(r.ok)
      local s = json.decode(r.out)
      assert.are.equal(227, s.messages)
      assert.are.equal(7687, s.bytes)
      assert.are.equal(53, s.by_type.A)
      assert.are.equal(105, s.warnings)
      assert.are.same({ time_backwards = 22, unknown_ref = 81, duplicate_ref = 2 }, s.warnings_by_kind)
      assert.matches("105 warnings in all", r.err)
      for _, k in ipairs({ "symbols", "elapsed_s", "msgs_per_s", "crossed", "locked" }) do
        assert.is_number(s[k], k)
      end
    end)

    it("--dump --symbol keeps one symbol's messages", function()
      local r = itch(DATA .. "/itch50-real.itch", "--dump", "--symbol", "ZXZZT")
      assert.is_true(r.ok)
      local n = 0
      for line in r.out:gmatch("[^\n]+") do
        n = n + 1
        assert.are.equal(11325, json.decode(line).locate)
      end
      assert.is_true(n >= 2)
    end)
  end)

  describe("on a generated day", function()
    local day, truth
    setup(function()
      day, truth = tmp .. "/day.itch", tmp .. "/day.truth"
      local r = run(table.concat({ TOOLS .. "/gen_itch", "--seed 7 --messages 300000 --symbols 300",
        "--truth AAAA,AAAB,AAAK,AAEZ --truth-out", truth, "--out", day }, " "))
      assert.is_true(r.ok, r.err)
    end)

    it("rebuilds the true final book of each chosen symbol", function()
      local n = 0
      for line in read(truth):gmatch("[^\n]+") do
        local want = json.decode(line)
        local r = itch(day, "--book", want.symbol)
        assert.is_true(r.ok, r.err)
        assert.are.equal(line .. "\n", r.out)
        n = n + 1
      end
      assert.are.equal(4, n)
      local aaaa = json.decode(read(truth):match("[^\n]+"))
      assert.is_true(#aaaa.bids > 3 and #aaaa.asks > 3)
    end)

    it("rebuilds them as well with a direct order table of 1024 slots (most orders overflow)", function()
      -- --orders 16: the smallest table; the day's 150k references wrap it
      -- many times, so long-lived orders move to the overflow table
      for line in read(truth):gmatch("[^\n]+") do
        local want = json.decode(line)
        local r = itch(day, "--book", want.symbol, "--orders", "16")
        assert.is_true(r.ok, r.err)
        assert.are.equal(line .. "\n", r.out)
      end
      local a = json.decode(itch(day, "--stats").out)
      local b = json.decode(itch(day, "--stats", "--orders", "16").out)
      assert.are.equal(a.live_orders, b.live_orders)
      assert.are.equal(a.peak_orders, b.peak_orders)
      assert.are.equal(0, b.warnings)
    end)

    it("--depth cuts each side, best first", function()
      local r = itch(day, "--book", "AAAA", "--depth", "2")
      local b = json.decode(r.out)
      assert.are.equal(2, #b.bids)
      assert.are.equal(2, #b.asks)
      assert.is_true(tonumber(b.bids[1][1]) > tonumber(b.bids[2][1]))
      assert.is_true(tonumber(b.asks[1][1]) < tonumber(b.asks[2][1]))
      assert.is_true(tonumber(b.bids[1][1]) < tonumber(b.asks[1][1]))
      assert.matches("^%d+%.%d%d%d%d$", b.bids[1][1])
    end)

    it("--stats counts every type, no warnings, never crossed", function()
      local r = itch(day, "--stats")
      assert.is_true(r.ok, r.err)
      local s = json.decode(r.out)
      local total = 0
      for _, n in pairs(s.by_type) do total = total + n end
      assert.are.equal(s.messages, total)
      for _, t in ipairs({ "S", "R", "H", "A", "F", "E", "C", "X", "D", "U", "P", "Q" }) do
        assert.is_true((s.by_type[t] or 0) > 0, t)
      end
      assert.are.equal(300, s.symbols)
      assert.are.equal(0, s.warnings)
      assert.are.equal(0, s.crossed)
      assert.are.equal(0, s.locked)
    end)

    it("is the same day for the same seed, and reads the same gzipped", function()
      local again, gz = tmp .. "/again.itch", tmp .. "/day.itch.gz"
      assert.is_true(run(TOOLS .. "/gen_itch --seed 7 --messages 300000 --symbols 300 --out " .. again).ok)
      assert.is_true(read(day) == read(again))
      assert.is_true(run(TOOLS .. "/gen_itch --seed 7 --messages 300000 --symbols 300 --out " .. gz).ok)
      assert.are.equal(itch(day, "--book", "AAAB").out, itch(gz, "--book", "AAAB").out)
      assert.is_false(read(day) == read(gz))
    end)
  end)

  describe("data integrity", function()
    local base = add(1, "B", 100, "XYZ", 100000, 10) .. add(2, "S", 100, "XYZ", 100100, 20)

    local function expect_error(bytes, offset, text, ...)
      local f = tmp .. "/bad.itch"
      write(f, bytes)
      local r = itch(f, "--stats", ...)
      assert.are.equal(2, r.code)
      assert.are.equal("gantry: " .. f .. ": byte " .. offset .. ": " .. text .. "\n", r.err)
      local l = itch(f, "--stats", "--lenient", ...)
      assert.is_true(l.ok, l.err)
      return json.decode(l.out)
    end

    it("reports a truncated file", function()
      local s = expect_error(base:sub(1, #base - 3), 38, "truncated message: length 36 but only 33 bytes left")
      assert.are.same({ truncated = 1 }, s.warnings_by_kind)
      assert.are.equal(1, s.messages)
    end)

    it("reports a length that does not match the type", function()
      local bad = frame(hdr("D", 1, 30) .. string.pack(">I8", 1) .. "x")
      local s = expect_error(base .. bad .. del(2, 40), 76, "message type 'D' has length 20, expected 19")
      assert.are.same({ length = 1 }, s.warnings_by_kind)
      assert.are.equal(1, s.live_orders)
    end)

    it("reports an unknown type", function()
      local s = expect_error(base .. frame("z" .. string.rep("\0", 11)), 76, "unknown message type 'z' (0x7a)")
      assert.are.equal(1, s.warnings_by_kind.unknown_type)
    end)

    it("reports a reference to an unknown order", function()
      local s = expect_error(base .. del(9, 30), 76, "message 'D' refers to order 9, which is not in the book")
      assert.are.equal(1, s.warnings_by_kind.unknown_ref)
      assert.are.equal(2, s.live_orders)
    end)

    it("reports a timestamp going backwards", function()
      local s = expect_error(base .. del(1, 15), 76, "timestamp 15 is before the previous message's 20")
      assert.are.equal(1, s.warnings_by_kind.time_backwards)
      assert.are.equal(1, s.live_orders)
    end)

    it("reports an add of a live reference", function()
      expect_error(base .. add(2, "B", 5, "XYZ", 1, 30), 76,
        "message 'A' adds order 2, which is already in the book")
    end)
  end)

  describe("usage", function()
    it("--help prints usage with exit 0", function()
      local r = itch("--help")
      assert.is_true(r.ok)
      assert.matches("usage: gantry itch FILE", r.out)
    end)

    it("rejects bad options and missing files with exit 2", function()
      local cases = {
        { { "/nonexistent.itch", "--stats" }, "gantry: /nonexistent.itch: cannot open" },
        { { "x.itch" }, "gantry: itch: missing %-%-stats" },
        { { "--stats" }, "gantry: itch: missing FILE" },
        { { "x.itch", "--stats", "--bogus" }, "unknown option '%-%-bogus'" },
        { { "x.itch", "--book" }, "%-%-book needs a symbol" },
        { { "x.itch", "--book", "A", "--depth", "0" }, "%-%-depth needs" },
        { { "x.itch", "--stats", "--dump" }, "choose one of" },
        { { "x.itch", "--stats", "--depth", "3" }, "%-%-depth goes with %-%-book" },
      }
      for _, c in ipairs(cases) do
        local r = itch(table.unpack(c[1]))
        assert.are.equal(2, r.code, table.concat(c[1], " "))
        assert.matches(c[2], r.err)
      end
    end)

    it("says so when the symbol is not in the file", function()
      local f = tmp .. "/one.itch"
      write(f, add(1, "B", 100, "XYZ", 100000, 10))
      local r = itch(f, "--book", "NOPE")
      assert.are.equal(2, r.code)
      assert.matches("no symbol 'NOPE'", r.err)
      local ok = itch(f, "--book", "XYZ")
      assert.are.equal('{"symbol":"XYZ","bids":[["10.0000",100,1]],"asks":[]}\n', ok.out)
    end)
  end)
end)
