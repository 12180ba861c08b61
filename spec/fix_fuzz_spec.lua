-- The FIX 4.4 framer and parser under libFuzzer: a short deterministic pass over
-- the committed seed corpus (fuzz/corpus-fix), ASan and UBSan on. `make fuzz-fix`
-- runs the long version. clang is installed by `make test` (make deps).
describe("fix fuzzing", function()
  it("survives the seed corpus and 20000 mutated inputs (make fuzz-fix-smoke)", function()
    local p = io.popen("make -s --no-print-directory fuzz-fix-smoke 2>&1; echo \"exit=$?\"")
    local out = p:read("a")
    p:close()
    assert.matches("exit=0", out, out)
    assert.matches("number_of_executed_units: 20000", out)
  end)
end)
