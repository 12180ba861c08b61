-- The example strategies' output files, byte for byte, against the manifest
-- recorded with the build before the engine was split into layers (issue 11:
-- the seams must not change a single output). Runs with each VM build.
local T = require "support"

local function manifest(vm)
  local want = {}
  for line in io.lines(T.root .. "/spec/golden/manifest.txt") do
    local path, sum = line:match("^(%S+) (%x+)$")
    if path and path:sub(1, #vm + 1) == vm .. "/" then want[path] = sum end
  end
  return want
end

describe("the example strategies' outputs", function()
  it("are byte-identical to those recorded before the seams were opened", function()
    local dir = T.tmpdir()
    local code, out, err = T.sh(table.concat({ T.quote(T.root .. "/spec/golden/run.sh"),
      T.quote(T.bin), T.quote(T.tools), T.quote(dir) }, " "))
    T.rmdir(dir)
    assert.equal(0, code, err)
    local want, got, n = manifest(T.vm), {}, 0
    for line in out:gmatch("[^\n]+") do
      local path, sum = line:match("^(%S+) (%x+)$")
      assert.truthy(path, "unexpected line: " .. line)
      got[path] = sum
    end
    for path, sum in pairs(want) do
      n = n + 1
      assert.equal(sum, got[path], path)
    end
    for path in pairs(got) do assert.truthy(want[path], "not in the manifest: " .. path) end
    assert.equal(20, n) -- 4 strategies x 5 files
  end)
end)
