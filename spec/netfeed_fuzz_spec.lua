-- The SoupBinTCP and MoldUDP64 framing under libFuzzer (fuzz/fuzz_soup.c,
-- fuzz/fuzz_mold.c): a short deterministic pass over the committed seeds
-- (fuzz/corpus_soup, fuzz/corpus_mold), ASan and UBSan on. `make fuzz-net`
-- runs the long version.
describe("network framing fuzzing", function()
  it("survives the seed corpora and 20000 mutated inputs each (make fuzz-smoke-net)", function()
    local p = io.popen("make -s --no-print-directory fuzz-smoke-net 2>&1; echo \"exit=$?\"")
    local out = p:read("a")
    p:close()
    assert.matches("exit=0", out, out)
    assert.matches("soup: stat::number_of_executed_units: 20000", out, 1, true)
    assert.matches("mold: stat::number_of_executed_units: 20000", out, 1, true)
  end)
end)
