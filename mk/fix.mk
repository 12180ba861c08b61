# fix: the libFuzzer target over the FIX 4.4 framer and parser (host/io/fix.c).
#   make fuzz-fix          fuzz for FUZZ_SECONDS (default 60), new inputs in build/fuzz/corpus-fix
#   make fuzz-fix-smoke    a short deterministic pass over fuzz/corpus-fix (spec/fix_fuzz_spec.lua)
FIX_FUZZ_FLAGS := -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE $(filter-out -Wno-format-truncation,$(WARN)) \
                  -Ihost/base -Ihost/io -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FIX_FUZZ_BIN   := $(BUILD)/fuzz/fuzz_fix

.PHONY: fuzz-fix fuzz-fix-smoke

$(FIX_FUZZ_BIN): fuzz/fuzz_fix.c host/io/fix.c host/io/fix.h host/base/timefmt.c host/base/timefmt.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FIX_FUZZ_FLAGS) -o $@ fuzz/fuzz_fix.c host/io/fix.c host/base/timefmt.c -lm

fuzz-fix: $(FIX_FUZZ_BIN)
	@mkdir -p $(BUILD)/fuzz/corpus-fix && cp fuzz/corpus-fix/* $(BUILD)/fuzz/corpus-fix/
	$(FIX_FUZZ_BIN) -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	  -artifact_prefix=$(BUILD)/fuzz/ $(BUILD)/fuzz/corpus-fix

fuzz-fix-smoke: $(FIX_FUZZ_BIN)
	@rm -rf $(BUILD)/fuzz/smoke-fix && mkdir -p $(BUILD)/fuzz/smoke-fix && cp fuzz/corpus-fix/* $(BUILD)/fuzz/smoke-fix/
	@$(FIX_FUZZ_BIN) -runs=$(FUZZ_RUNS) -seed=1 -max_len=4096 -print_final_stats=1 \
	  -artifact_prefix=$(BUILD)/fuzz/ $(BUILD)/fuzz/smoke-fix 2>$(BUILD)/fuzz/smoke-fix.log \
	  || { tail -n 60 $(BUILD)/fuzz/smoke-fix.log; exit 1; }
	@grep -E '^stat::number_of_executed_units' $(BUILD)/fuzz/smoke-fix.log || true

# the FIX specs run the QuickFIX acceptor (mk/fixpeer.mk)
test: peers
