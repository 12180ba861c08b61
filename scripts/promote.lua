-- promote.lua — take a strategy from a change to full size, with every step
-- recorded in deployments.jsonl:
--   walk-forward sweep -> pick the parameters by out-of-sample Sharpe ->
--   gate -> paper replay -> parity gate (paper fills == backtest fills) ->
--   approval (risk) -> canary at 10 % -> watch -> full size, or roll back.
--
--   gantry play scripts/promote.lua STRATEGY DATA.csv [key=value ...]
--
-- The canary runs on a paper host replaying DATA (speed=: event seconds per
-- wall second); it is left running at full size, its control socket named
-- in the record and the log (stop=true stops it at the end).
local play = require "gantry.play"

local o = play.options(args, {
  grid = "fast:5,10,20/slow:30,50,100", metric = "sharpe", jobs = 0,
  train = 250, test = 60, purge = 0,
  min_sharpe = 0.0, max_drawdown = 0.25, min_trades = 1,
  approve_timeout = 3600, role = "risk",
  canary = 0.1, max_position = 1000, speed = 8640000,
  watch = 2, every = 0.25, max_loss = 5000, stop = false,
}, { "strategy", "data" })

local grid = play.parse_grid(o.grid)
local where
if grid.fast and grid.slow then where = function(p) return p.fast < p.slow end end

-- 1. walk-forward: optimise on each training window, test on the next
local wf = play.walk_forward {
  strategy = o.strategy, data = o.data, grid = grid, where = where, metric = o.metric,
  train = o.train, test = o.test, purge = o.purge, jobs = o.jobs > 0 and o.jobs or nil,
  name = "walk_forward",
}

-- 2. the parameters of the window with the best out-of-sample Sharpe
local params = play.pick(wf, "sharpe")
play.log("candidate " .. play.params_text(params))

-- 3. the gate, on the stitched out-of-sample curve and the full backtest
play.gate(wf, { sharpe = ">= " .. o.min_sharpe, max_drawdown = "<= " .. o.max_drawdown }, "out-of-sample")
local bt = play.backtest { strategy = o.strategy, data = o.data, params = params, name = "backtest" }
play.gate(bt, { trades = ">= " .. o.min_trades, max_drawdown = "<= " .. o.max_drawdown }, "backtest")

-- 4. the paper replay of the same data, and the parity gate
local pp = play.paper { strategy = o.strategy, feed = o.data, params = params, name = "paper" }
play.parity(bt, pp, "paper-vs-backtest")

-- 5. a designated person authorises the deployment (RTS 6 Art. 5(2))
play.approve("promote", { role = o.role, timeout = o.approve_timeout })

-- 6. the canary: 10 % of the position limit, this data's symbols only
local h = play.deploy {
  strategy = o.strategy, mode = "paper", feed = o.data, params = params, speed = o.speed,
  canary = { scale = o.canary, max_position = o.max_position },
}

-- 7. watch it; halt on a failure or a loss past max_loss
local w = play.watch(h, { seconds = o.watch, every = o.every, halt_if = function(st)
  for _, s in ipairs(st.strategies or {}) do
    if s.state ~= "running" then return s.name .. " is " .. s.state .. ": " .. tostring(s.reason) end
    if s.pnl < -o.max_loss then return string.format("%s lost %.2f", s.name, -s.pnl) end
  end
end })

-- 8. full size, or roll back
if not w.ok then
  play.rollback(h, { flatten = true })
  play.fail("canary of " .. o.strategy .. " rolled back: " .. tostring(w.reason))
end
h:scale(1)
play.note("promoted", { strategy = o.strategy, params = params, socket = h.sock })
play.log("promoted " .. o.strategy .. " (" .. play.params_text(params) .. ") to full size on " .. h.sock)
if o.stop then h:stop() end
