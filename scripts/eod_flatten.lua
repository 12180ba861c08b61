-- eod_flatten.lua — at a time of day (UTC), flatten and stop every running
-- strategy of the deploy directories given.
--
--   gantry play scripts/eod_flatten.lua DEPLOY_DIR [DEPLOY_DIR ...] [at=HH:MM[:SS]]
--
-- Without at=, now. A time already past today waits for tomorrow's.
local play = require "gantry.play"

local at
local dirs = {}
for _, a in ipairs(args) do
  local v = a:match("^at=(.*)$")
  if v then at = v else dirs[#dirs + 1] = a end
end
if #dirs == 0 then error("usage: gantry play scripts/eod_flatten.lua DEPLOY_DIR [...] [at=HH:MM[:SS]]") end

if at then
  local h, m, s = at:match("^(%d%d?):(%d%d):?(%d*)$")
  if not h then error("at=" .. at .. ": expected HH:MM or HH:MM:SS (UTC)") end
  local target = tonumber(h) * 3600 + tonumber(m) * 60 + (tonumber(s) or 0)
  local now = play.now()
  local wait = (target - now % 86400) % 86400
  play.log(string.format("flattening at %s UTC, in %.0f s", at, wait))
  play.sleep(wait)
end

for _, d in ipairs(dirs) do
  local h = play.attach(d)
  local st = h:status()
  if st then
    h:flatten()
    -- the closing orders fill on the host's next bars: give them a moment
    play.sleep(0.5)
    h:stop()
    play.log("flattened and stopped " .. tostring(h.strategy))
  else
    play.log("not running: " .. d)
  end
end
play.note("eod_flatten", { dirs = dirs, at = at })
