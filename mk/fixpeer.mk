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
# (make test needs them too for spec/fix_peer_spec.lua: the lead wires it.)
bench: peers
