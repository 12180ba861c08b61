# itch: the libFuzzer target over the ITCH decoder and the books.
#   make fuzz          fuzz for FUZZ_SECONDS (default 60), new inputs in build/fuzz/corpus
#   make fuzz-smoke    a short deterministic pass over fuzz/corpus (spec/itch_fuzz_spec.lua)
FUZZ_SECONDS ?= 60
FUZZ_RUNS    ?= 20000
FUZZ_CC      ?= clang
FUZZ_FLAGS   := -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE $(filter-out -Wno-format-truncation,$(WARN)) -Ihost/base -Ihost/market -g -O1 \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_BIN     := $(BUILD)/fuzz/fuzz_itch

.PHONY: fuzz fuzz-smoke

$(FUZZ_BIN): fuzz/fuzz_itch.c host/market/itch.c host/market/book.c host/market/itch.h host/market/book.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ fuzz/fuzz_itch.c host/market/itch.c host/market/book.c -lz

# libFuzzer writes into (and reduces) the corpus directories it is given:
# it only ever gets copies of the committed seeds.
fuzz: $(FUZZ_BIN)
	@mkdir -p $(BUILD)/fuzz/corpus && cp fuzz/corpus/* $(BUILD)/fuzz/corpus/
	$(FUZZ_BIN) -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	  -artifact_prefix=$(BUILD)/fuzz/ $(BUILD)/fuzz/corpus

fuzz-smoke: $(FUZZ_BIN)
	@rm -rf $(BUILD)/fuzz/smoke && mkdir -p $(BUILD)/fuzz/smoke && cp fuzz/corpus/* $(BUILD)/fuzz/smoke/
	@$(FUZZ_BIN) -runs=$(FUZZ_RUNS) -seed=1 -max_len=4096 -print_final_stats=1 \
	  -artifact_prefix=$(BUILD)/fuzz/ $(BUILD)/fuzz/smoke 2>$(BUILD)/fuzz/smoke.log \
	  || { tail -n 60 $(BUILD)/fuzz/smoke.log; exit 1; }
	@grep -E '^stat::number_of_executed_units' $(BUILD)/fuzz/smoke.log || true
