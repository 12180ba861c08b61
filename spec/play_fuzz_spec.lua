-- The deployment record's verifier under libFuzzer: a short deterministic
-- pass over fuzz/record-corpus, ASan and UBSan on (`make fuzz-record` runs
-- the long version).
describe("record fuzzing", function()
  it("survives the seed corpus and 20000 mutated inputs (make fuzz-record-smoke)", function()
    local p = io.popen("make -s --no-print-directory fuzz-record-smoke 2>&1; echo \"exit=$?\"")
    local out = p:read("a")
    p:close()
    assert.matches("exit=0", out, out)
    assert.matches("number_of_executed_units: 20000", out)
  end)
end)
