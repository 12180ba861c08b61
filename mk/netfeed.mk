# netfeed: the test peers of the network feed specs (SoupBinTCP server,
# MoldUDP64 publisher with re-request server) and the libFuzzer targets of
# the SoupBinTCP and MoldUDP64 framing (run briefly by fuzz-smoke-net,
# spec/netfeed_fuzz_spec.lua).
#   make fuzz-net        NET_FUZZ_SECONDS (60) of each target
#   make fuzz-smoke-net  a short deterministic pass over fuzz/corpus_soup, fuzz/corpus_mold
NET_FUZZ_SECONDS ?= 60
NET_FUZZ_RUNS    ?= 20000
NETFRAME_SRC := host/market/netframe.c host/market/itch.c host/market/book.c
NETFRAME_HDR := host/market/netframe.h host/market/itch.h host/market/book.h

tools: $(BUILD)/tools/feedpeer

$(BUILD)/tools/feedpeer: spec/peers/feedpeer.c host/market/netframe.c host/market/netframe.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TOOL    $<")
	$(Q)$(CC) $(REL_CFLAGS) -Ihost/base -Ihost/market -o $@ spec/peers/feedpeer.c host/market/netframe.c

$(BUILD)/fuzz/fuzz_soup $(BUILD)/fuzz/fuzz_mold: $(BUILD)/fuzz/%: fuzz/%.c $(NETFRAME_SRC) $(NETFRAME_HDR)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(NETFRAME_SRC) -lz

.PHONY: fuzz-net fuzz-smoke-net
fuzz-net: $(BUILD)/fuzz/fuzz_soup $(BUILD)/fuzz/fuzz_mold
	@for t in soup mold; do mkdir -p $(BUILD)/fuzz/corpus_$$t && cp fuzz/corpus_$$t/* $(BUILD)/fuzz/corpus_$$t/ && \
	  $(BUILD)/fuzz/fuzz_$$t -max_total_time=$(NET_FUZZ_SECONDS) -max_len=4096 \
	    -artifact_prefix=$(BUILD)/fuzz/ $(BUILD)/fuzz/corpus_$$t || exit 1; done

fuzz-smoke-net: $(BUILD)/fuzz/fuzz_soup $(BUILD)/fuzz/fuzz_mold
	@for t in soup mold; do rm -rf $(BUILD)/fuzz/smoke_$$t && mkdir -p $(BUILD)/fuzz/smoke_$$t && \
	  cp fuzz/corpus_$$t/* $(BUILD)/fuzz/smoke_$$t/ && \
	  { $(BUILD)/fuzz/fuzz_$$t -runs=$(NET_FUZZ_RUNS) -seed=1 -max_len=4096 -print_final_stats=1 \
	    -artifact_prefix=$(BUILD)/fuzz/ $(BUILD)/fuzz/smoke_$$t 2>$(BUILD)/fuzz/smoke_$$t.log \
	    || { tail -n 60 $(BUILD)/fuzz/smoke_$$t.log; exit 1; }; } && \
	  echo "$$t: $$(grep -E '^stat::number_of_executed_units' $(BUILD)/fuzz/smoke_$$t.log)"; done
