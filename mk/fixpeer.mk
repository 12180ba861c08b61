# fixpeer: the FIX 4.4 test counterparty and a QuickFIX initiator (spec/peers/README.md),
# C++ on Debian's QuickFIX 1.15.1 (libquickfix-dev); test tooling, not part of gantry.
#   make peers                       build/peers/fix_acceptor, build/peers/fix_initiator
#   make build/peers/fix_acceptor    one of them
# The spec that proves the peer is spec/fix_peer_spec.lua; the benchmark peer
# is bench/fix_quickfix_rtt.bench.sh (the initiator's --bench mode).
# QuickFIX 1.15.1's headers declare dynamic exception specifications (gone in
# C++17): C++14, and -Wno-deprecated for them.
PEER_CXX      ?= g++
PEER_CXXFLAGS := -std=gnu++14 -O2 -g -Wall -Wextra -Werror -Wno-deprecated -pthread \
                 -DPEER_DICT='"$(CURDIR)/spec/fixtures/fix/FIX44.xml"'
PEER_LIBS     := -lquickfix -pthread
PEERS         := build/peers/fix_acceptor build/peers/fix_initiator

.PHONY: peers
peers: $(PEERS)

build/peers/%: spec/peers/%.cpp spec/peers/peer_common.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  C++     $<")
	$(Q)$(PEER_CXX) $(PEER_CXXFLAGS) -o $@ $< $(PEER_LIBS)

# make bench runs bench/fix_quickfix_rtt.sh (bench/run.sh): the peers first.
# (make test builds them too: mk/fix.mk has `test: peers`.)
bench: peers

# fuzz_peer: libFuzzer over what the acceptor reads (its record on restart,
# script and control lines). fuzz-peer-smoke is a short deterministic pass
# over copies of spec/peers/fuzz-corpus (spec/fix_peer_spec.lua runs it).
PEER_FUZZ_CXX  ?= clang++
PEER_FUZZ_BIN  := $(BUILD)/fuzz/fuzz_peer
PEER_FUZZ_RUNS ?= 2000

.PHONY: fuzz-peer fuzz-peer-smoke

$(PEER_FUZZ_BIN): spec/peers/fuzz_peer.cpp spec/peers/fix_acceptor.cpp spec/peers/peer_common.h
	@mkdir -p $(dir $@)
	$(PEER_FUZZ_CXX) -std=gnu++14 -g -O1 -Wall -Wextra -Werror -Wno-deprecated -Wno-unused-function \
	  -DPEER_DICT='"$(CURDIR)/spec/fixtures/fix/FIX44.xml"' \
	  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -o $@ $< -lquickfix -pthread

fuzz-peer: $(PEER_FUZZ_BIN)
	@mkdir -p $(BUILD)/fuzz/peer-corpus && cp spec/peers/fuzz-corpus/* $(BUILD)/fuzz/peer-corpus/
	$(PEER_FUZZ_BIN) -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	  -artifact_prefix=$(BUILD)/fuzz/peer- $(BUILD)/fuzz/peer-corpus

fuzz-peer-smoke: $(PEER_FUZZ_BIN)
	@rm -rf $(BUILD)/fuzz/peer-smoke && mkdir -p $(BUILD)/fuzz/peer-smoke && cp spec/peers/fuzz-corpus/* $(BUILD)/fuzz/peer-smoke/
	@$(PEER_FUZZ_BIN) -runs=$(PEER_FUZZ_RUNS) -seed=1 -max_len=4096 -print_final_stats=1 \
	  -artifact_prefix=$(BUILD)/fuzz/peer- $(BUILD)/fuzz/peer-smoke 2>$(BUILD)/fuzz/peer-smoke.log \
	  || { tail -n 60 $(BUILD)/fuzz/peer-smoke.log; exit 1; }
	@grep -E '^stat::number_of_executed_units' $(BUILD)/fuzz/peer-smoke.log || true
