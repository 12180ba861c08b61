-- The sweep benchmark's playbook (bench/play.bench.sh): an SMA crossover
-- over DATA, fast 2..41 by slow 51.., N combinations on JOBS workers, into
-- OUT (fresh each time: a sweep resumes from what OUT holds).
--   gantry play --out DIR bench/play_sweep.lua DATA JOBS N OUT
local play = require "gantry.play"
local function idiv(a, b) return math.floor(a / b) end
local data, jobs, n, out = args[1], tonumber(args[2]), tonumber(args[3]), args[4]
local fast, slow = {}, {}
for i = 1, 40 do fast[i] = i + 1 end
for i = 1, idiv(n, 40) do slow[i] = 50 + i end
play.record(out .. "/deployments.jsonl") -- in the benchmark's directory, not the tree
local s = play.sweep { strategy = "strategies/sma_cross.lua", data = data, jobs = jobs,
  grid = { fast = fast, slow = slow }, out = out, quiet = true }
play.log(string.format("RESULT %d %.3f", s.done, s.elapsed_s))
