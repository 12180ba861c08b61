--[[ gantry.ta: streaming technical indicators for strategies.

Every indicator is a table with an `update` method and a `value` field (nil
until the indicator has enough data). One update is O(1) (amortised for
the rolling max/min; O(n) for CCI, as in TA-Lib) and allocates nothing:
windows live in rings preallocated by the constructor, and the update
function is stored in the object itself, so `obj:update(x)` is one field
lookup and one call. Definitions are TA-Lib's, down to its warm-up, seeds
and zero tests, and spec/ta_spec.lua checks them bar for bar against
TA-Lib's output (spec/fixtures/talib/); where TA-Lib loses digits (stddev,
bbands, CCI) we keep the exact value instead. docs/ta.md has each one.

Two things a reader must know:
  * Constructors install a warm-up `update` that swaps itself for the
    steady-state one once the indicator is ready. A caller that cached the
    warm-up function keeps getting correct answers, only a little slower.
  * Rolling sums (SMA, WMA, the mean and squared deviations behind stddev,
    bbands and zscore) are updated incrementally and recomputed exactly from
    the ring when the ring wraps, about every RESYNC updates (every n
    updates when n > RESYNC), so rounding error cannot accumulate over a
    long run. The recompute is O(n) on one update in ~RESYNC: amortised
    O(1). We chose it over a compensated (Kahan/Neumaier) sum because it
    costs the common step nothing: the countdown lives in the wrap branch.

Runs in the strategy sandbox: uses only base, string and math; sets no
globals. Inputs must be finite numbers: a NaN or infinity makes windowed
outputs NaN until it has left the window and the next resync has run.
]]

local floor, sqrt = math.floor, math.sqrt
local type, error, tostring, fmt = type, error, tostring, string.format

local RESYNC = 1024        -- updates between exact recomputes of rolling sums
local MAX_N = 16777216     -- largest window; keeps a typo from eating memory
local TA_EPSILON = 1e-14   -- TA-Lib's zero test: |v| < 1e-14 counts as 0

local ta = {}

-- Constructor arguments are checked once, with the caller's position in the
-- message (level 3: our caller's caller, since we sit inside a constructor).
local function show(v)
  if type(v) == "string" then return fmt("%q", v) end
  return tostring(v)
end

local function check_int(fname, arg, v, min)
  if type(v) ~= "number" or not (v >= min) or v % 1 ~= 0 then
    if min == 1 then
      error(fmt("ta.%s: %s must be a positive integer, got %s", fname, arg, show(v)), 3)
    end
    error(fmt("ta.%s: %s must be an integer >= %d, got %s", fname, arg, min, show(v)), 3)
  end
  if v > MAX_N then
    error(fmt("ta.%s: %s must be at most %d, got %s", fname, arg, MAX_N, show(v)), 3)
  end
  return floor(v)
end

local function check_opts(fname, opts)
  if opts ~= nil and type(opts) ~= "table" then
    error(fmt("ta.%s: options must be a table, got %s", fname, show(opts)), 3)
  end
  return opts or {}
end

local function new_ring(n)
  local ring = {}
  for i = 1, n do ring[i] = 0.0 end
  return ring
end

-- Wraps between two exact recomputes: about RESYNC updates, at least 1.
local function resync_wraps(n)
  local w = floor((RESYNC + n - 1) / n)
  if w < 1 then w = 1 end
  return w
end

local function ring_sum(ring, n)
  local s = 0.0
  for j = 1, n do s = s + ring[j] end
  return s
end

------------------------------------------------------------------ SMA

local function sma_step(self, x)
  local ring, n = self.ring, self.n
  local i = self.i + 1
  local sum
  if i <= n then
    sum = self.sum + (x - ring[i])
    ring[i] = x
  else
    i = 1
    local left = self.left - 1
    if left > 0 then
      sum = self.sum + (x - ring[1])
      ring[1] = x
    else
      ring[1] = x
      sum = ring_sum(ring, n)
      left = self.wraps
    end
    self.left = left
  end
  self.i = i
  self.sum = sum
  local v = sum / n
  self.value = v
  return v
end

-- The ring starts as zeros, so the steady step also sums the first n values.
local function sma_warm(self, x)
  local c = self.count + 1
  self.count = c
  local v = sma_step(self, x)
  if c < self.n then
    self.value = nil
    return nil
  end
  self.update = sma_step
  return v
end

function ta.sma(n)
  n = check_int("sma", "n", n, 1)
  local w = resync_wraps(n)
  return { n = n, ring = new_ring(n), i = 0, sum = 0.0, count = 0,
           wraps = w, left = w, value = nil, update = sma_warm }
end

------------------------------------------------------------------ EMA

local function ema_step(self, x)
  local v = self.value
  v = (x - v) * self.k + v          -- TA-Lib's order of operations
  self.value = v
  return v
end

local function ema_warm(self, x)
  local c = self.count + 1
  self.count = c
  if c > self.n then return ema_step(self, x) end
  local sum = self.sum + x
  self.sum = sum
  if c < self.n then return nil end
  local v = sum / self.n
  self.value = v
  self.update = ema_step
  return v
end

function ta.ema(n)
  n = check_int("ema", "n", n, 1)
  return { n = n, k = 2 / (n + 1), sum = 0.0, count = 0, value = nil,
           update = ema_warm }
end

------------------------------------------------------------------ WMA
-- Weights 1 (oldest) .. n (newest). When x replaces the oldest value o:
-- every kept value loses one unit of weight, so wsum' = wsum - sum + n*x,
-- then sum' = sum - o + x.

local function wma_resync(self, ring, n, newest)
  local s, ws, k = 0.0, 0.0, 0
  for j = newest + 1, n do k = k + 1; s = s + ring[j]; ws = ws + k * ring[j] end
  for j = 1, newest do k = k + 1; s = s + ring[j]; ws = ws + k * ring[j] end
  self.sum = s
  return ws
end

local function wma_step(self, x)
  local ring, n = self.ring, self.n
  local i = self.i + 1
  if i > n then
    i = 1
    local left = self.left - 1
    if left == 0 then
      ring[1] = x
      self.i = 1
      self.left = self.wraps
      local ws = wma_resync(self, ring, n, 1)
      self.wsum = ws
      local v = ws / self.denom
      self.value = v
      return v
    end
    self.left = left
  end
  local sum = self.sum
  local ws = self.wsum - sum + n * x
  self.sum = sum + (x - ring[i])
  ring[i] = x
  self.i = i
  self.wsum = ws
  local v = ws / self.denom
  self.value = v
  return v
end

local function wma_warm(self, x)
  local c = self.count + 1
  self.count = c
  local n = self.n
  if c > n then return wma_step(self, x) end
  self.ring[c] = x
  self.i = c
  self.sum = self.sum + x
  local ws = self.wsum + c * x
  self.wsum = ws
  if c < n then return nil end
  local v = ws / self.denom
  self.value = v
  self.update = wma_step
  return v
end

function ta.wma(n)
  n = check_int("wma", "n", n, 1)
  local w = resync_wraps(n)
  return { n = n, ring = new_ring(n), i = 0, sum = 0.0, wsum = 0.0,
           denom = n * (n + 1) / 2, count = 0, wraps = w, left = w,
           value = nil, update = wma_warm }
end

------------------------------------------------------------------ RSI
-- Wilder: average gain and loss seeded with the plain mean of the first n
-- changes, then avg = (avg * (n - 1) + change) / n. RSI = 100 * g / (g + l),
-- 0 when g + l is below TA_EPSILON = 1e-14 (TA-Lib's test, absolute).

local function rsi_step(self, x)
  local d = x - self.prev
  self.prev = x
  local n, n1 = self.n, self.n1
  local g, l = self.gain * n1, self.loss * n1
  if d < 0 then l = l - d else g = g + d end
  g = g / n
  l = l / n
  self.gain = g
  self.loss = l
  local s = g + l
  local v = 0.0
  if s >= TA_EPSILON or s <= -TA_EPSILON then v = 100 * (g / s) end
  self.value = v
  return v
end

local function rsi_warm(self, x)
  local c = self.count + 1
  self.count = c
  local n = self.n
  if c > n + 1 then return rsi_step(self, x) end
  if c > 1 then
    local d = x - self.prev
    if d < 0 then self.loss = self.loss - d else self.gain = self.gain + d end
  end
  self.prev = x
  if c <= n then return nil end
  local g, l = self.gain / n, self.loss / n
  self.gain = g
  self.loss = l
  local s = g + l
  local v = 0.0
  if s >= TA_EPSILON or s <= -TA_EPSILON then v = 100 * (g / s) end
  self.value = v
  self.update = rsi_step
  return v
end

function ta.rsi(n)
  n = check_int("rsi", "n", n, 1)
  return { n = n, n1 = n - 1, prev = 0.0, gain = 0.0, loss = 0.0, count = 0,
           value = nil, update = rsi_warm }
end

------------------------------------------------------------------ MACD
-- TA-Lib aligns the two EMAs: both are seeded on the slow-th value, the fast
-- one with the mean of the last `fast` values (it ignores the first
-- slow - fast values). With {talib = false} the fast EMA starts at the first
-- value, exactly ta.ema(fast). The signal EMA is seeded with the mean of the
-- first `signal` MACD values.

local function macd_step(self, x)
  local ef, es, sg = self.ef, self.es, self.sg
  ef = (x - ef) * self.kf + ef
  es = (x - es) * self.ks + es
  local m = ef - es
  sg = (m - sg) * self.kg + sg
  local h = m - sg
  self.ef = ef
  self.es = es
  self.sg = sg
  self.macd = m
  self.signal = sg
  self.hist = h
  self.value = m
  return m, sg, h
end

local function macd_warm(self, x)
  local c = self.count + 1
  self.count = c
  if c > self.ready then return macd_step(self, x) end
  local fast, slow = self.fast, self.slow
  local fc = c - self.skip
  if fc > 0 then
    if fc < fast then
      self.fsum = self.fsum + x
    elseif fc == fast then
      self.ef = (self.fsum + x) / fast
    else
      self.ef = (x - self.ef) * self.kf + self.ef
    end
  end
  if c < slow then
    self.ssum = self.ssum + x
    return nil
  elseif c == slow then
    self.es = (self.ssum + x) / slow
  else
    self.es = (x - self.es) * self.ks + self.es
  end
  local m = self.ef - self.es
  local gsum = self.gsum + m
  self.gsum = gsum
  if c < self.ready then return nil end
  local sg = gsum / self.nsig
  local h = m - sg
  self.sg = sg
  self.macd = m
  self.signal = sg
  self.hist = h
  self.value = m
  self.update = macd_step
  return m, sg, h
end

function ta.macd(fast, slow, signal, opts)
  fast = check_int("macd", "fast", fast == nil and 12 or fast, 1)
  slow = check_int("macd", "slow", slow == nil and 26 or slow, 1)
  signal = check_int("macd", "signal", signal == nil and 9 or signal, 1)
  opts = check_opts("macd", opts)
  if fast >= slow then
    error(fmt("ta.macd: fast must be less than slow, got fast=%d slow=%d", fast, slow), 2)
  end
  local skip = slow - fast
  if opts.talib == false then skip = 0 end
  return { fast = fast, slow = slow, nsig = signal, skip = skip,
           ready = slow + signal - 1,
           kf = 2 / (fast + 1), ks = 2 / (slow + 1), kg = 2 / (signal + 1),
           fsum = 0.0, ssum = 0.0, gsum = 0.0, ef = 0.0, es = 0.0, sg = 0.0,
           count = 0, macd = nil, signal = nil, hist = nil, value = nil,
           update = macd_warm }
end

------------------------------------------------------------------ window statistics
-- Shared by stddev, bbands and zscore: a ring of raw values, and for the
-- window the sum of (x - shift) and m2, the sum of squared deviations from
-- the mean. `shift` is a value near the window, re-chosen at every resync:
-- working on x - shift keeps rounding at the scale of the spread rather than
-- of the price (1e9 prices moving by cents stay accurate). Replacing o by x
-- moves m2 by (x - o) * ((x - mean') + (o - mean)), which avoids the
-- cancellation of sum(x^2) - n*mean^2. `run` counts equal consecutive
-- inputs: in the steady step a window of n equal values is forced to m2 = 0,
-- since the incremental update can leave a residue (~1e-8 on prices ~100).
-- `err` bounds the rounding error the sliding updates have put in m2 since
-- the last exact pass; each costs about eps * |change|, so when a quiet
-- window follows a volatile one the error left by the big values leaving
-- can exceed the quiet window's own m2 (a std of 1e-9 where it is 3e-13).
-- When err passes ERR_REL * m2 the window is recomputed exactly (two
-- passes, O(n)); that happens only while m2 falls steeply, so steady state
-- stays O(1).

local ERR_REL = 1e-11      -- recompute when m2 may be off by more than this
local EPS4 = 4 * 2.220446049250313e-16

local function win_new(n)
  local w = resync_wraps(n)
  return { n = n, ring = new_ring(n), i = 0, shift = 0.0, sum = 0.0, m2 = 0.0,
           err = 0.0, run = 0, count = 0, wraps = w, left = w, value = nil }
end

-- Warm-up: add x as the c-th value (Welford's update).
-- Returns c and, once c == n, the mean and m2.
local function win_add(self, x)
  local c = self.count + 1
  self.count = c
  local ring = self.ring
  ring[c] = x
  self.i = c
  if c == 1 then
    self.run = 1
    self.shift = x
    self.sum = 0.0
    self.m2 = 0.0
  else
    if x == ring[c - 1] then self.run = self.run + 1 else self.run = 1 end
    local d = x - self.shift
    local sum = self.sum
    local mean_old = sum / (c - 1)
    sum = sum + d
    self.sum = sum
    self.m2 = self.m2 + (d - mean_old) * (d - sum / c)
  end
  if c < self.n then return c end
  local m2 = self.m2
  if m2 < 0 then m2 = 0.0; self.m2 = 0.0 end
  return c, self.shift + self.sum / c, m2
end

-- Exact recompute of the window's sum and m2 around `shift` (a value of
-- the window, so a constant window gives m2 = 0 exactly, as in warm-up).
local function win_exact(self, ring, n, shift)
  local sum = 0.0
  for j = 1, n do sum = sum + (ring[j] - shift) end
  local mean = sum / n
  local m2 = 0.0
  for j = 1, n do local d = (ring[j] - shift) - mean; m2 = m2 + d * d end
  self.shift = shift
  self.sum = sum
  self.m2 = m2
  self.err = 0.0
  return shift + mean, m2
end

-- The periodic resync, after x was written to slot 1; x becomes the shift.
local function win_resync(self, ring, n, x)
  self.i = 1
  self.left = self.wraps
  return win_exact(self, ring, n, x)
end

-- Steady state: x replaces the oldest value. Returns mean, m2 (>= 0).
local function win_step(self, x)
  local ring, n = self.ring, self.n
  local i = self.i
  local run = self.run
  if x == ring[i] then run = run + 1 else run = 1 end
  self.run = run
  i = i + 1
  if i > n then
    i = 1
    local left = self.left - 1
    if left == 0 then
      ring[1] = x
      return win_resync(self, ring, n, x)
    end
    self.left = left
  end
  local o = ring[i]
  ring[i] = x
  self.i = i
  if run >= n then                   -- n equal values: exact
    self.sum = n * (x - self.shift)
    self.m2 = 0.0
    self.err = 0.0
    return x, 0.0
  end
  local shift, sum = self.shift, self.sum
  local mean_old = sum / n
  sum = sum + (x - o)
  local mean = sum / n
  local a, b = (x - shift) - mean, (o - shift) - mean_old
  local dx = x - o
  local m2 = self.m2 + dx * (a + b)
  -- rounding of this step: a few ulps of |dx| * (|a| + |b|), and of m2
  if a < 0 then a = -a end
  if b < 0 then b = -b end
  if dx < 0 then dx = -dx end
  local err = self.err + EPS4 * (dx * (a + b) + m2)
  self.sum = sum
  if m2 < 0 or err > ERR_REL * m2 then
    return win_exact(self, ring, n, x)
  end
  self.m2 = m2
  self.err = err
  return shift + mean, m2
end

------------------------------------------------------------------ stddev

local function stddev_step(self, x)
  local _, m2 = win_step(self, x)
  local v = sqrt(m2 / self.div)
  self.value = v
  return v
end

local function stddev_warm(self, x)
  if self.count >= self.n then return stddev_step(self, x) end
  local c, _, m2 = win_add(self, x)
  if c < self.n then return nil end
  local v = sqrt(m2 / self.div)
  self.value = v
  self.update = stddev_step
  return v
end

function ta.stddev(n, opts)
  opts = check_opts("stddev", opts)
  local sample = opts.sample and true or false
  if sample then
    n = check_int("stddev", "n (with sample=true)", n, 2)
  else
    n = check_int("stddev", "n", n, 1)
  end
  local self = win_new(n)
  self.sample = sample
  self.div = sample and n - 1 or n
  self.update = stddev_warm
  return self
end

------------------------------------------------------------------ bbands

local function bb_out(self, mean, m2)
  local d = self.k * sqrt(m2 / self.n)
  local up, lo = mean + d, mean - d
  self.upper = up
  self.middle = mean
  self.lower = lo
  self.value = mean
  return up, mean, lo
end

local function bbands_step(self, x)
  local mean, m2 = win_step(self, x)
  return bb_out(self, mean, m2)
end

local function bbands_warm(self, x)
  if self.count >= self.n then return bbands_step(self, x) end
  local c, mean, m2 = win_add(self, x)
  if c < self.n then return nil end
  self.update = bbands_step
  return bb_out(self, mean, m2)
end

function ta.bbands(n, k)
  n = check_int("bbands", "n", n, 1)
  if k == nil then k = 2 end
  if type(k) ~= "number" or not (k >= 0) or k == math.huge then
    error(fmt("ta.bbands: k must be a finite number >= 0, got %s", show(k)), 2)
  end
  local self = win_new(n)
  self.k = k
  self.upper, self.middle, self.lower = nil, nil, nil
  self.update = bbands_warm
  return self
end

------------------------------------------------------------------ zscore

local function z_out(self, x, mean, m2)
  if m2 <= 0 then
    self.value = nil
    return nil
  end
  local v = (x - mean) / sqrt(m2 / self.n)
  self.value = v
  return v
end

local function zscore_step(self, x)
  local mean, m2 = win_step(self, x)
  return z_out(self, x, mean, m2)
end

local function zscore_warm(self, x)
  if self.count >= self.n then return zscore_step(self, x) end
  local c, mean, m2 = win_add(self, x)
  if c < self.n then return nil end
  self.update = zscore_step
  return z_out(self, x, mean, m2)
end

function ta.zscore(n)
  n = check_int("zscore", "n", n, 1)
  local self = win_new(n)
  self.update = zscore_warm
  return self
end

------------------------------------------------------------------ ATR
-- As TA-Lib: true range = max(high, prev close) - min(low, prev close),
-- which equals max(high - low, |high - pc|, |low - pc|); bar 1 has no
-- previous close and no true range. Seeded with the mean of the n true
-- ranges of bars 2..n+1, then Wilder smoothing (atr * (n - 1) + tr) / n.

local function atr_step(self, h, l, c)
  local pc = self.pc
  self.pc = c
  if pc > h then h = pc end
  if pc < l then l = pc end
  local v = (self.value * self.n1 + (h - l)) / self.n
  self.value = v
  return v
end

local function atr_warm(self, h, l, c)
  local k = self.count + 1
  self.count = k
  local n = self.n
  if k > n + 1 then return atr_step(self, h, l, c) end
  local pc = self.pc
  self.pc = c
  if k == 1 then return nil end
  if pc > h then h = pc end
  if pc < l then l = pc end
  local sum = self.sum + (h - l)
  self.sum = sum
  if k <= n then return nil end
  local v = sum / n
  self.value = v
  self.update = atr_step
  return v
end

function ta.atr(n)
  n = check_int("atr", "n", n, 1)
  return { n = n, n1 = n - 1, pc = 0.0, sum = 0.0, count = 0, value = nil,
           update = atr_warm }
end

------------------------------------------------------------------ rolling max / min
-- A monotonic deque in two preallocated rings (values and bar numbers):
-- each value enters and leaves once, so an update is amortised O(1). The
-- front is the window's extreme; it is dropped once its bar is n old.

local function mq_new(n)
  return { n = n, vals = new_ring(n), idx = new_ring(n), head = 0, tail = 0 }
end

local function mq_max(q, t, x)
  local n, vals, idx = q.n, q.vals, q.idx
  local head, tail = q.head, q.tail
  if head < tail and idx[head % n + 1] <= t - n then head = head + 1 end
  while tail > head and vals[(tail - 1) % n + 1] <= x do tail = tail - 1 end
  local s = tail % n + 1
  vals[s] = x
  idx[s] = t
  q.head = head
  q.tail = tail + 1
  return vals[head % n + 1]
end

local function mq_min(q, t, x)
  local n, vals, idx = q.n, q.vals, q.idx
  local head, tail = q.head, q.tail
  if head < tail and idx[head % n + 1] <= t - n then head = head + 1 end
  while tail > head and vals[(tail - 1) % n + 1] >= x do tail = tail - 1 end
  local s = tail % n + 1
  vals[s] = x
  idx[s] = t
  q.head = head
  q.tail = tail + 1
  return vals[head % n + 1]
end

------------------------------------------------------------------ ADX / DMI
-- TA-Lib's PLUS_DI, MINUS_DI and ADX in one object. From bar 2: +DM =
-- high - prev high when that is > 0 and > -DM's move, -DM = prev low - low
-- likewise; TR as in ATR. The sums of the first n - 1 (bars 2..n) seed
-- Wilder sums s = s - s/n + v; from bar n + 1, DI = 100 * DM / TR (0 when
-- TR < 1e-14). DX = 100 * |+DI - -DI| / (+DI + -DI); ADX is the mean of the
-- DX of bars n+1..2n (a bar whose TR or DI sum is below 1e-14 adds no DX
-- but still counts), then Wilder (adx * (n - 1) + dx) / n, skipping such
-- bars. So +DI/-DI from bar n + 1, ADX from bar 2n.

local function adx_update(self, h, l, c)
  local k = self.count + 1
  self.count = k
  local ph, pl, pc = self.ph, self.pl, self.pc
  self.ph = h
  self.pl = l
  self.pc = c
  if k == 1 then return nil end
  local up, dn = h - ph, pl - l
  local pdm, mdm = 0.0, 0.0
  if dn > 0 and up < dn then mdm = dn elseif up > 0 and up > dn then pdm = up end
  local tr = h - l
  local v = h - pc
  if v < 0 then v = -v end
  if v > tr then tr = v end
  v = l - pc
  if v < 0 then v = -v end
  if v > tr then tr = v end
  local n = self.n
  if k <= n then                    -- bars 2..n: plain sums
    self.sp = self.sp + pdm
    self.sm = self.sm + mdm
    self.str = self.str + tr
    return nil
  end
  local sp, sm, st = self.sp, self.sm, self.str
  sp = sp - sp / n + pdm
  sm = sm - sm / n + mdm
  st = st - st / n + tr
  self.sp = sp
  self.sm = sm
  self.str = st
  local pdi, mdi, dx = 0.0, 0.0, nil
  if not (st > -TA_EPSILON and st < TA_EPSILON) then
    pdi = 100.0 * (sp / st)
    mdi = 100.0 * (sm / st)
    local s = mdi + pdi
    if not (s > -TA_EPSILON and s < TA_EPSILON) then
      local d = mdi - pdi
      if d < 0 then d = -d end
      dx = 100.0 * (d / s)
    end
  end
  self.plus_di = pdi
  self.minus_di = mdi
  local adx = self.adx
  if k < 2 * n then                 -- bars n+1..2n-1: sum the DX
    if dx then self.sumdx = self.sumdx + dx end
    return nil, pdi, mdi
  elseif k == 2 * n then
    if dx then self.sumdx = self.sumdx + dx end
    adx = self.sumdx / n
  elseif dx then
    adx = (adx * (n - 1) + dx) / n
  end
  self.adx = adx
  self.value = adx
  return adx, pdi, mdi
end

function ta.adx(n)
  n = check_int("adx", "n", n == nil and 14 or n, 2)
  return { n = n, count = 0, ph = 0.0, pl = 0.0, pc = 0.0, sp = 0.0, sm = 0.0,
           str = 0.0, sumdx = 0.0, adx = nil, plus_di = nil, minus_di = nil,
           value = nil, update = adx_update }
end

------------------------------------------------------------------ Stochastic
-- TA-Lib's STOCH with SMA smoothing: fast %K = (close - lowest low) /
-- ((highest high - lowest low) / 100) over fastk bars (0 when the range is
-- 0); slow %K = SMA(slowk) of fast %K; %D = SMA(slowd) of slow %K. Like
-- TA-Lib, both appear together, at bar fastk + slowk + slowd - 2.

local function stoch_update(self, h, l, c)
  local t = self.count + 1
  self.count = t
  local hh = mq_max(self.hq, t, h)
  local ll = mq_min(self.lq, t, l)
  if t < self.fastk then return nil end
  local diff = (hh - ll) / 100.0
  local fk = 0.0
  if diff ~= 0.0 then fk = (c - ll) / diff end
  local sk = self.ks:update(fk)
  if sk == nil then return nil end
  local sd = self.ds:update(sk)
  if sd == nil then return nil end
  self.k = sk
  self.d = sd
  self.value = sk
  return sk, sd
end

function ta.stoch(fastk, slowk, slowd)
  fastk = check_int("stoch", "fastk", fastk == nil and 5 or fastk, 1)
  slowk = check_int("stoch", "slowk", slowk == nil and 3 or slowk, 1)
  slowd = check_int("stoch", "slowd", slowd == nil and 3 or slowd, 1)
  return { fastk = fastk, hq = mq_new(fastk), lq = mq_new(fastk),
           ks = ta.sma(slowk), ds = ta.sma(slowd), count = 0,
           k = nil, d = nil, value = nil, update = stoch_update }
end

------------------------------------------------------------------ CCI
-- (tp - mean) / (0.015 * mean absolute deviation), tp = (high+low+close)/3,
-- over n bars; 0 when either is 0 (TA-Lib). The mean deviation needs the
-- whole window, so an update is O(n), as in TA-Lib. Sums are taken around
-- the newest tp, so a flat window gives exactly 0 where TA-Lib's plain sums
-- can give rounding noise.

local function cci_update(self, h, l, c)
  local t = self.count + 1
  self.count = t
  local n, ring = self.n, self.ring
  local tp = (h + l + c) / 3
  local i = self.i % n + 1
  self.i = i
  ring[i] = tp
  if t < n then return nil end
  local sum = 0.0
  for j = 1, n do sum = sum + (ring[j] - tp) end
  local m = sum / n                  -- mean - tp
  local dev = 0.0
  for j = 1, n do
    local d = (ring[j] - tp) - m
    if d < 0 then d = -d end
    dev = dev + d
  end
  local v = 0.0
  if m ~= 0.0 and dev ~= 0.0 then v = -m / (0.015 * (dev / n)) end
  self.value = v
  return v
end

function ta.cci(n)
  n = check_int("cci", "n", n == nil and 14 or n, 2)
  return { n = n, ring = new_ring(n), i = 0, count = 0, value = nil,
           update = cci_update }
end

------------------------------------------------------------------ OBV
-- TA-Lib: starts at the first bar's volume; then + volume on a higher
-- close, - volume on a lower one, unchanged on an equal one.

local function obv_update(self, close, volume)
  local v = self.value
  if v == nil then
    v = volume
  elseif close > self.prev then
    v = v + volume
  elseif close < self.prev then
    v = v - volume
  end
  self.prev = close
  self.value = v
  return v
end

function ta.obv()
  return { prev = 0.0, value = nil, update = obv_update }
end

------------------------------------------------------------------ ROC
-- (x / x[n bars ago] - 1) * 100, 0 when the old value is 0 (TA-Lib);
-- from bar n + 1.

local function roc_update(self, x)
  local t = self.count + 1
  self.count = t
  local n, ring = self.n, self.ring
  local i = self.i % n + 1
  self.i = i
  local old = ring[i]
  ring[i] = x
  if t <= n then return nil end
  local v = 0.0
  if old ~= 0.0 then v = ((x / old) - 1.0) * 100.0 end
  self.value = v
  return v
end

function ta.roc(n)
  n = check_int("roc", "n", n == nil and 10 or n, 1)
  return { n = n, ring = new_ring(n), i = 0, count = 0, value = nil,
           update = roc_update }
end

------------------------------------------------------------------ Williams %R
-- (highest high - close) / ((highest high - lowest low) / -100) over n
-- bars, so -100..0; 0 when the range is 0 (TA-Lib). From bar n.

local function willr_update(self, h, l, c)
  local t = self.count + 1
  self.count = t
  local hh = mq_max(self.hq, t, h)
  local ll = mq_min(self.lq, t, l)
  if t < self.n then return nil end
  local diff = (hh - ll) / -100.0
  local v = 0.0
  if diff ~= 0.0 then v = (hh - c) / diff end
  self.value = v
  return v
end

function ta.willr(n)
  n = check_int("willr", "n", n == nil and 14 or n, 1)
  return { n = n, hq = mq_new(n), lq = mq_new(n), count = 0, value = nil,
           update = willr_update }
end

------------------------------------------------------------------ Donchian
-- upper = highest high, lower = lowest low of the last n bars (this one
-- included), middle = (upper + lower) / 2. From bar n.

local function donchian_update(self, h, l)
  local t = self.count + 1
  self.count = t
  local up = mq_max(self.hq, t, h)
  local lo = mq_min(self.lq, t, l)
  if t < self.n then return nil end
  local mid = (up + lo) / 2
  self.upper = up
  self.middle = mid
  self.lower = lo
  self.value = mid
  return up, mid, lo
end

function ta.donchian(n)
  n = check_int("donchian", "n", n == nil and 20 or n, 1)
  return { n = n, hq = mq_new(n), lq = mq_new(n), count = 0, upper = nil,
           middle = nil, lower = nil, value = nil, update = donchian_update }
end

------------------------------------------------------------------ Keltner
-- middle = EMA(n) of the typical price (high + low + close) / 3, bands
-- middle +- k * ATR(atr_n) (ta.ema and ta.atr above). From bar
-- max(n, atr_n + 1).

local function keltner_update(self, h, l, c)
  local mid = self.ema:update((h + l + c) / 3)
  local atr = self.atr:update(h, l, c)
  if mid == nil or atr == nil then return nil end
  local d = self.k * atr
  local up, lo = mid + d, mid - d
  self.upper = up
  self.middle = mid
  self.lower = lo
  self.value = mid
  return up, mid, lo
end

function ta.keltner(n, k, atr_n)
  n = check_int("keltner", "n", n == nil and 20 or n, 1)
  if k == nil then k = 2 end
  if type(k) ~= "number" or not (k >= 0) or k == math.huge then
    error(fmt("ta.keltner: k must be a finite number >= 0, got %s", show(k)), 2)
  end
  atr_n = check_int("keltner", "atr_n", atr_n == nil and 10 or atr_n, 1)
  return { n = n, k = k, atr_n = atr_n, ema = ta.ema(n), atr = ta.atr(atr_n),
           upper = nil, middle = nil, lower = nil, value = nil,
           update = keltner_update }
end

------------------------------------------------------------------ parabolic SAR
-- TA-Lib's SAR. Bar 2 picks the direction: short if the low fell more than
-- the high rose (-DM > 0), else long; the SAR starts at bar 1's low (long)
-- or high (short), the extreme point at bar 2's high (long) or low. On each
-- bar from 2: if the bar reaches the SAR the position reverses, the SAR
-- becomes the old extreme point (kept outside the last two bars) and af
-- restarts; else a new extreme raises af by `af` up to `max`. Then
-- sar += af * (ep - sar), kept outside the last two bars. The value for a
-- bar is the SAR in force during it. From bar 2.

local function sar_update(self, h, l)
  local t = self.count + 1
  self.count = t
  if t == 1 then
    self.ph = h
    self.pl = l
    return nil
  end
  local ph, pl = self.ph, self.pl   -- the bar before
  local long, sar, ep, af = self.long, self.sar, self.ep, self.af
  local step, max = self.step, self.max
  if t == 2 then
    local dn, up = pl - l, h - ph
    long = not (dn > 0 and up < dn)
    if long then ep = h; sar = pl else ep = l; sar = ph end
    ph = h                          -- TA-Lib: bar 2 is its own "previous"
    pl = l
    af = step
  end
  local v
  if long then
    if l <= sar then
      long = false
      sar = ep
      if sar < ph then sar = ph end
      if sar < h then sar = h end
      v = sar
      af = step
      ep = l
      sar = sar + af * (ep - sar)
      if sar < ph then sar = ph end
      if sar < h then sar = h end
    else
      v = sar
      if h > ep then
        ep = h
        af = af + step
        if af > max then af = max end
      end
      sar = sar + af * (ep - sar)
      if sar > pl then sar = pl end
      if sar > l then sar = l end
    end
  else
    if h >= sar then
      long = true
      sar = ep
      if sar > pl then sar = pl end
      if sar > l then sar = l end
      v = sar
      af = step
      ep = h
      sar = sar + af * (ep - sar)
      if sar > pl then sar = pl end
      if sar > l then sar = l end
    else
      v = sar
      if l < ep then
        ep = l
        af = af + step
        if af > max then af = max end
      end
      sar = sar + af * (ep - sar)
      if sar < ph then sar = ph end
      if sar < h then sar = h end
    end
  end
  self.ph = h
  self.pl = l
  self.long = long
  self.sar = sar
  self.ep = ep
  self.af = af
  self.value = v
  return v
end

function ta.sar(af, max)
  if af == nil then af = 0.02 end
  if max == nil then max = 0.2 end
  if type(af) ~= "number" or not (af >= 0) or af == math.huge then
    error(fmt("ta.sar: af must be a finite number >= 0, got %s", show(af)), 2)
  end
  if type(max) ~= "number" or not (max >= 0) or max == math.huge then
    error(fmt("ta.sar: max must be a finite number >= 0, got %s", show(max)), 2)
  end
  if af > max then af = max end     -- as TA-Lib
  return { step = af, max = max, count = 0, ph = 0.0, pl = 0.0, long = true,
           sar = 0.0, ep = 0.0, af = af, value = nil, update = sar_update }
end

------------------------------------------------------------------ VWAP
-- Cumulative sum(price * volume) / sum(volume) since creation or reset().

local function vwap_update(self, price, volume)
  local pv = self.pv + price * volume
  local vol = self.volume + volume
  self.pv = pv
  self.volume = vol
  local v = nil
  if vol > 0 then v = pv / vol end
  self.value = v
  return v
end

local function vwap_reset(self)
  self.pv = 0.0
  self.volume = 0.0
  self.value = nil
end

function ta.vwap()
  return { pv = 0.0, volume = 0.0, value = nil, update = vwap_update,
           reset = vwap_reset }
end

------------------------------------------------------------------ crosses

-- a crossed above b between the previous and the current observation.
function ta.crossover(a_prev, a, b_prev, b)
  if a_prev == nil or a == nil or b_prev == nil or b == nil then return false end
  return a_prev <= b_prev and a > b
end

function ta.crossunder(a_prev, a, b_prev, b)
  if a_prev == nil or a == nil or b_prev == nil or b == nil then return false end
  return a_prev >= b_prev and a < b
end

-- Remembers which side of b a was last strictly on. A cross is reported on
-- the update where a reaches the other side (through equality or not); a
-- touch that returns to the same side is not a cross. nil inputs (an
-- indicator still warming up) return 0 and leave the state alone.
local function cross_update(self, a, b)
  if a == nil or b == nil then
    self.value = 0
    return 0
  end
  local side
  if a > b then side = 1 elseif a < b then side = -1 else
    self.value = 0
    return 0
  end
  local prev = self.side
  self.side = side
  local r = 0
  if prev ~= 0 and prev ~= side then r = side end
  self.value = r
  return r
end

function ta.cross()
  return { side = 0, value = 0, update = cross_update }
end

return ta
