# journal (issue 14): the libFuzzer target over the record reader and the
# payload decoders, and the benchmark's SQLite link.
#   make fuzz-journal          fuzz for FUZZ_SECONDS (default 60) from fuzz/corpus-journal
#   make fuzz-journal-smoke    a short deterministic pass (spec/journal_fuzz_spec.lua)
JFUZZ_BIN  := $(BUILD)/fuzz/fuzz_journal
JFUZZ_SRC  := fuzz/fuzz_journal.c host/base/crc32c.c host/base/jsonfmt.c host/base/timefmt.c host/base/log.c host/base/clock.c \
              host/core/journal.c host/core/journal_fmt.c
JFUZZ_FLAGS = $(subst -Ihost/market,-Ihost/market -Ihost/core,$(FUZZ_FLAGS))

.PHONY: fuzz-journal fuzz-journal-smoke

$(JFUZZ_BIN): $(JFUZZ_SRC) host/core/journal.h host/core/journal_fmt.h host/base/crc32c.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(JFUZZ_FLAGS) -o $@ $(JFUZZ_SRC) -lz -lpthread

fuzz-journal: $(JFUZZ_BIN)
	@mkdir -p $(BUILD)/fuzz/jcorpus && cp fuzz/corpus-journal/* $(BUILD)/fuzz/jcorpus/
	$(JFUZZ_BIN) -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	  -artifact_prefix=$(BUILD)/fuzz/ $(BUILD)/fuzz/jcorpus

fuzz-journal-smoke: $(JFUZZ_BIN)
	@rm -rf $(BUILD)/fuzz/jsmoke && mkdir -p $(BUILD)/fuzz/jsmoke && cp fuzz/corpus-journal/* $(BUILD)/fuzz/jsmoke/
	@$(JFUZZ_BIN) -runs=$(FUZZ_RUNS) -seed=1 -max_len=4096 -print_final_stats=1 \
	  -artifact_prefix=$(BUILD)/fuzz/ $(BUILD)/fuzz/jsmoke 2>$(BUILD)/fuzz/jsmoke.log \
	  || { tail -n 60 $(BUILD)/fuzz/jsmoke.log; exit 1; }
	@grep -E '^stat::number_of_executed_units' $(BUILD)/fuzz/jsmoke.log || true

# The benchmark compares with SQLite (WAL): linked into the benchmark only.
$(BUILD)/rel/bench/bench_journal: bench/bench_journal.c $(BUILD)/rel/libgantry.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  BENCH   $<")
	$(Q)$(CC) $(REL_CFLAGS) $(ALL_INC) -o $@ $< $(BUILD)/rel/libgantry.a $(REL_LIBS) -lsqlite3
