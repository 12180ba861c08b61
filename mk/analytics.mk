# analytics: the libFuzzer target over the data integrity checks.
#   make fuzz-datacheck        fuzz for FUZZ_SECONDS, new inputs in build/fuzz/corpus-datacheck
#   make fuzz-datacheck-smoke  a short deterministic pass (spec/datacheck_fuzz_spec.lua)
FUZZ_DC_BIN := $(BUILD)/fuzz/fuzz_datacheck

.PHONY: fuzz-datacheck fuzz-datacheck-smoke

$(FUZZ_DC_BIN): fuzz/fuzz_datacheck.c host/market/datacheck.c host/market/datacheck.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ fuzz/fuzz_datacheck.c host/market/datacheck.c -lm

fuzz-datacheck: $(FUZZ_DC_BIN)
	@mkdir -p $(BUILD)/fuzz/corpus-datacheck && cp fuzz/corpus-datacheck/* $(BUILD)/fuzz/corpus-datacheck/
	$(FUZZ_DC_BIN) -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	  -artifact_prefix=$(BUILD)/fuzz/ $(BUILD)/fuzz/corpus-datacheck

fuzz-datacheck-smoke: $(FUZZ_DC_BIN)
	@rm -rf $(BUILD)/fuzz/smoke-dc && mkdir -p $(BUILD)/fuzz/smoke-dc && cp fuzz/corpus-datacheck/* $(BUILD)/fuzz/smoke-dc/
	@$(FUZZ_DC_BIN) -runs=$(FUZZ_RUNS) -seed=1 -max_len=4096 -print_final_stats=1 \
	  -artifact_prefix=$(BUILD)/fuzz/ $(BUILD)/fuzz/smoke-dc 2>$(BUILD)/fuzz/smoke-dc.log \
	  || { tail -n 60 $(BUILD)/fuzz/smoke-dc.log; exit 1; }
	@grep -E '^stat::number_of_executed_units' $(BUILD)/fuzz/smoke-dc.log || true
