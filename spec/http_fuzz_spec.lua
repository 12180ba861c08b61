-- The HTTP side's own parsing under libFuzzer (fuzz/fuzz_http.c): token
-- files, /api routes with query and JSON arguments, alert rules, webhook URL
-- and template, label escaping. A short deterministic pass over the seeds in
-- fuzz/corpus-http; `make http-fuzz` runs the long version.
describe("http fuzzing", function()
  it("survives the seed corpus and 20000 mutated inputs (make http-fuzz-smoke)", function()
    local p = io.popen("make -s --no-print-directory http-fuzz-smoke 2>&1; echo \"exit=$?\"")
    local out = p:read("a")
    p:close()
    assert.matches("exit=0", out, out)
    assert.matches("number_of_executed_units: 20000", out)
  end)
end)
