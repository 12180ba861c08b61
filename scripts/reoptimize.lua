-- reoptimize.lua — run the walk-forward again on the latest data and, when
-- the new parameters pass the gates, apply them to the running host with
-- `set` (each recorded).
--
--   gantry play scripts/reoptimize.lua STRATEGY DATA.csv DEPLOY_DIR [key=value ...]
local play = require "gantry.play"

local o = play.options(args, {
  grid = "fast:5,10,20/slow:30,50,100", metric = "sharpe", jobs = 0,
  train = 250, test = 60, purge = 0, min_sharpe = 0.0, max_drawdown = 0.25,
}, { "strategy", "data", "dir" })

local grid = play.parse_grid(o.grid)
local where
if grid.fast and grid.slow then where = function(p) return p.fast < p.slow end end

local wf = play.walk_forward {
  strategy = o.strategy, data = o.data, grid = grid, where = where, metric = o.metric,
  train = o.train, test = o.test, purge = o.purge, jobs = o.jobs > 0 and o.jobs or nil,
  name = "reoptimize",
}
play.gate(wf, { sharpe = ">= " .. o.min_sharpe, max_drawdown = "<= " .. o.max_drawdown }, "out-of-sample")

local h = play.attach(o.dir)
local params = wf.params -- the latest window's: optimised on the most recent data
local now = h:status()
if not now then play.fail(o.dir .. ": the host is not running") end
for _, k in ipairs((function() local t = {} for k in pairs(params) do t[#t + 1] = k end table.sort(t) return t end)()) do
  h:set(k, params[k])
end
play.note("reoptimized", { strategy = o.strategy, params = params })
play.log("applied " .. play.params_text(params))
