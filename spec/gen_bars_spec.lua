-- scripts/gen_bars: the seeded synthetic bar generator, run as a process.
local T = require "support"
local SCRIPT = "scripts/gen_bars"
local q, slurp, lines = T.quote, T.read, T.lines

local function run(args)
  local p = io.popen("lua5.4 " .. SCRIPT .. " " .. args .. " 2>&1; echo \"rc=$?\"")
  local out = p:read("a")
  p:close()
  local rc = tonumber(out:match("rc=(%d+)%s*$"))
  return rc, (out:gsub("rc=%d+%s*$", ""))
end


local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = y // 400
  local yoe = y - era * 400
  local doy = (153 * ((m + 9) % 12) + 2) // 5 + d - 1
  return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
end

local function weekday(date) -- 0 = Sunday
  local y, m, d = date:match("^(%d+)-(%d+)-(%d+)")
  return (days_from_civil(tonumber(y), tonumber(m), tonumber(d)) + 4) % 7
end

-- Checks every data row of a per-symbol CSV; returns the rows' datetimes.
local function check_bars(path, first_col)
  local rows = lines(path)
  local times, prev = {}, nil
  for i = 2, #rows do
    local f = {}
    for x in rows[i]:gmatch("[^,]+") do f[#f + 1] = x end
    local dt = f[1]
    local o, h, l, c, v = tonumber(f[first_col]), tonumber(f[first_col + 1]),
      tonumber(f[first_col + 2]), tonumber(f[first_col + 3]), f[first_col + 4]
    assert(l > 0, "low > 0 at row " .. i)
    assert(l <= math.min(o, c) and math.max(o, c) <= h, "OHLC order at row " .. i .. ": " .. rows[i])
    for k = first_col, first_col + 3 do
      assert(f[k]:match("^%d+%.%d%d$"), "price in cents at row " .. i)
    end
    assert(v:match("^%d+$"), "integer volume at row " .. i)
    if prev then assert(dt > prev, "time increases at row " .. i) end
    prev = dt
    times[#times + 1] = dt
  end
  return times, rows
end

describe("gen_bars", function()
  local dir

  before_each(function() dir = T.tmpdir() end)
  after_each(function() T.rmdir(dir) end)

  it("writes one CSV per symbol with the exact header", function()
    local rc = run("--seed 42 --bars 50 --symbols AAPL,MSFT --out " .. q(dir))
    assert.equal(0, rc)
    for _, sym in ipairs({ "AAPL", "MSFT" }) do
      local rows = lines(dir .. "/" .. sym .. ".csv")
      assert.equal("datetime,open,high,low,close,volume", rows[1])
      assert.equal(51, #rows)
    end
  end)

  it("is byte-identical for the same seed and differs for another", function()
    assert.equal(0, (run("--seed 42 --bars 300 --symbols AAPL --out " .. q(dir .. "/a"))))
    assert.equal(0, (run("--seed 42 --bars 300 --symbols AAPL --out " .. q(dir .. "/b"))))
    assert.equal(0, (run("--seed 43 --bars 300 --symbols AAPL --out " .. q(dir .. "/c"))))
    local a, b, c = slurp(dir .. "/a/AAPL.csv"), slurp(dir .. "/b/AAPL.csv"), slurp(dir .. "/c/AAPL.csv")
    assert.equal(a, b)
    assert.not_equal(a, c)
  end)

  it("writes valid OHLC with increasing weekday dates for daily bars", function()
    assert.equal(0, (run("--seed 1 --bars 2000 --symbols 3 --corr 0.5 --out " .. q(dir))))
    for _, sym in ipairs({ "SYM000", "SYM001", "SYM002" }) do
      local times = check_bars(dir .. "/" .. sym .. ".csv", 2)
      assert.equal(2000, #times)
      assert.equal("2020-01-02", times[1])
      for _, dt in ipairs(times) do
        assert.matches("^%d%d%d%d%-%d%d%-%d%d$", dt)
        local wd = weekday(dt)
        assert(wd ~= 0 and wd ~= 6, "weekend date " .. dt)
      end
    end
  end)

  it("starts on the next weekday when --start is a weekend", function()
    assert.equal(0, (run("--bars 3 --symbols X --start 2021-01-02 --out " .. q(dir))))
    local rows = lines(dir .. "/X.csv")
    assert.same({ "2021-01-04", "2021-01-05", "2021-01-06" },
                { rows[2]:sub(1, 10), rows[3]:sub(1, 10), rows[4]:sub(1, 10) })
  end)

  it("keeps intraday bars inside the 09:30-16:00 session on weekdays", function()
    assert.equal(0, (run("--seed 5 --bars 1200 --symbols X --interval 1m --out " .. q(dir))))
    local times = check_bars(dir .. "/X.csv", 2)
    assert.equal(1200, #times)
    assert.equal("2020-01-02 09:30:00", times[1])
    assert.equal("2020-01-02 15:59:00", times[390])
    assert.equal("2020-01-03 09:30:00", times[391])
    for _, dt in ipairs(times) do
      local hm = dt:sub(12, 16)
      assert(hm >= "09:30" and hm < "16:00", "outside the session: " .. dt)
      local wd = weekday(dt)
      assert(wd ~= 0 and wd ~= 6, "weekend bar " .. dt)
    end
  end)

  it("writes one combined file sorted by time then symbol with --file", function()
    local path = dir .. "/all.csv"
    assert.equal(0, (run("--seed 9 --bars 100 --symbols MSFT,AAPL --interval 1h --file " .. q(path))))
    local rows = lines(path)
    assert.equal("datetime,symbol,open,high,low,close,volume", rows[1])
    assert.equal(201, #rows)
    local prev
    for i = 2, #rows do
      local dt, sym = rows[i]:match("^([^,]+),([^,]+),")
      local key = dt .. "|" .. sym
      if prev then assert(key > prev, "sorted at row " .. i) end
      prev = key
    end
    -- the same prices as the per-symbol files of the same seed
    assert.equal(0, (run("--seed 9 --bars 100 --symbols AAPL,MSFT --interval 1h --out " .. q(dir))))
    local aapl = lines(dir .. "/AAPL.csv")
    assert.equal(aapl[2], (rows[2]:gsub(",AAPL,", ",", 1)))
  end)

  it("correlates symbols through --corr", function()
    assert.equal(0, (run("--seed 3 --bars 1000 --symbols A,B --corr 0.9 --out " .. q(dir))))
    local function returns(sym)
      local r, prev = {}, nil
      for i, line in ipairs(lines(dir .. "/" .. sym .. ".csv")) do
        if i > 1 then
          local c = tonumber(line:match("([^,]+),[^,]+$"))
          if prev then r[#r + 1] = math.log(c / prev) end
          prev = c
        end
      end
      return r
    end
    local a, b = returns("A"), returns("B")
    local n, ma, mb = #a, 0, 0
    for i = 1, n do ma, mb = ma + a[i] / n, mb + b[i] / n end
    local sab, saa, sbb = 0, 0, 0
    for i = 1, n do
      sab = sab + (a[i] - ma) * (b[i] - mb)
      saa, sbb = saa + (a[i] - ma) ^ 2, sbb + (b[i] - mb) ^ 2
    end
    assert.is_true(sab / math.sqrt(saa * sbb) > 0.6)
  end)

  it("rejects bad arguments with exit status 2 and a message", function()
    for _, args in ipairs({
      "--bars 10",                                   -- no symbols
      "--symbols A",                                 -- no bars
      "--bars 0 --symbols A",
      "--bars ten --symbols A",
      "--bars 10 --symbols A --interval 2d",
      "--bars 10 --symbols A --start 2021-02-30",
      "--bars 10 --symbols A --corr 1.5",
      "--bars 10 --symbols A,A",
      "--bars 10 --symbols ../x",
      "--bars 10 --symbols A --seed",
      "--bars 10 --symbols A --frobnicate",
      "--bars 10 --symbols A --out x --file y",
    }) do
      local rc, out = run(args .. " --out " .. q(dir .. "/never"))
      assert.equal(2, rc, args)
      assert.matches("^gen_bars: ", out, 1, false, args)
    end
  end)
end)
