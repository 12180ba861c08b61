-- rollback.lua — put back the version of a deployed strategy that ran
-- before the current one (by its hash, from the deploy directory), or with
-- flatten=true close its positions and stop it.
--
--   gantry play scripts/rollback.lua DEPLOY_DIR [flatten=true]
--
-- DEPLOY_DIR is the directory deploy{} made (OUT/deploy-NAME, with its
-- handle.json); the output directory is the playbook's (--out).
local play = require "gantry.play"

local o = play.options(args, { flatten = false }, { "dir" })
local h = play.attach(o.dir)
local r = play.rollback(h, { flatten = o.flatten })
if r.how == "reload" then
  play.log("rolled back to version " .. r.version:sub(1, 12))
else
  play.log("flattened and stopped " .. tostring(h.strategy))
end
