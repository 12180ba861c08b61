# play: the libFuzzer target over the deployment record's verifier
# (bindings/play_record.c), beside mk/itch.mk's.
#   make fuzz-record         fuzz for FUZZ_SECONDS, new inputs in build/fuzz/record-corpus
#   make fuzz-record-smoke   a short deterministic pass over fuzz/record-corpus
#                            (spec/play_fuzz_spec.lua)
FUZZ_RECORD_BIN := $(BUILD)/fuzz/fuzz_record

.PHONY: fuzz-record fuzz-record-smoke

$(FUZZ_RECORD_BIN): fuzz/fuzz_record.c bindings/play_record.c bindings/play_record.h host/base/log.c host/base/timefmt.c host/base/clock.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(filter-out -Ihost/market,$(FUZZ_FLAGS)) -Ibindings -o $@ fuzz/fuzz_record.c \
	  bindings/play_record.c host/base/log.c host/base/timefmt.c host/base/clock.c -lcrypto -lpthread

fuzz-record: $(FUZZ_RECORD_BIN)
	@mkdir -p $(BUILD)/fuzz/record-corpus && cp fuzz/record-corpus/* $(BUILD)/fuzz/record-corpus/
	$(FUZZ_RECORD_BIN) -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	  -artifact_prefix=$(BUILD)/fuzz/ $(BUILD)/fuzz/record-corpus

fuzz-record-smoke: $(FUZZ_RECORD_BIN)
	@rm -rf $(BUILD)/fuzz/record-smoke && mkdir -p $(BUILD)/fuzz/record-smoke && \
	  cp fuzz/record-corpus/* $(BUILD)/fuzz/record-smoke/
	@$(FUZZ_RECORD_BIN) -runs=$(FUZZ_RUNS) -seed=1 -max_len=4096 -print_final_stats=1 \
	  -artifact_prefix=$(BUILD)/fuzz/ $(BUILD)/fuzz/record-smoke 2>$(BUILD)/fuzz/record-smoke.log \
	  || { tail -n 60 $(BUILD)/fuzz/record-smoke.log; exit 1; }
	@grep -E '^stat::number_of_executed_units' $(BUILD)/fuzz/record-smoke.log || true
