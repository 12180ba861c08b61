-- The data integrity checks under libFuzzer: a short deterministic pass
-- over the seed (fuzz/corpus-datacheck), ASan and UBSan on: bars and ticks
-- of any doubles and times, any thresholds. `make fuzz-datacheck` runs long.
describe("data check fuzzing", function()
  it("survives the seed and 20000 mutated inputs (make fuzz-datacheck-smoke)", function()
    local p = io.popen("make -s --no-print-directory fuzz-datacheck-smoke 2>&1; echo \"exit=$?\"")
    local out = p:read("a")
    p:close()
    assert.matches("exit=0", out, out)
    assert.matches("number_of_executed_units: 20000", out)
  end)
end)
