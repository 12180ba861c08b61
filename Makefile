# gantry — build, test, bench.
#
#   make            the release binary ./gantry
#   make demo       install what is missing, build, backtest an example strategy
#   make test       install what is missing, build under ASan+UBSan, run every suite
#   make bench      build optimised, print the figures (nothing here fails on time)
#   make lint       clang-tidy and cppcheck over host/ and bindings/
#   make install    the binary to PREFIX/bin, the stdlib to PREFIX/share/gantry (mk/install.mk)
#   make VM=luajit  the LuaJIT 2.1 build ./gantry-luajit (JIT and the FFI fast path);
#                   make test and make bench build and run it beside ./gantry
#
# Sources are found by wildcard: a new host/x.c, bindings/x.c, spec/c/test_x.c,
# bench/bench_x.c or scripts/x.c is built without touching this file.
# Extra targets live in mk/*.mk.

VM        ?= lua54
ifeq ($(filter lua54 luajit,$(VM)),)
$(error VM must be lua54 or luajit, not '$(VM)')
endif
CC        ?= cc
BUILD     ?= $(if $(filter luajit,$(VM)),build/luajit,build)
BIN       := $(if $(filter luajit,$(VM)),gantry-luajit,gantry)
PKGS_LUA  := $(if $(filter luajit,$(VM)),luajit,lua5.4)

WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
             -Wno-format-truncation

# Layers, lowest first (docs/architecture.md). A file in a layer's folder is
# compiled with the include paths of its own layer and of those below it only,
# so an #include that points up fails to compile. Tests, benchmarks and tools
# see every layer.
LAYERS    := base market core io bindings vm feed venue engine cmd
layer_dir  = $(if $(filter bindings,$(1)),bindings,host/$(1))
upto       = $(wordlist 1,$(words $(call upto_n,$(1))),$(LAYERS))
upto_n     = $(if $(filter $(1),$(firstword $(LAYERS))),x,$(call _upto,$(1),$(LAYERS),))
_upto      = $(if $(filter $(1),$(firstword $(2))),$(3) x,$(call _upto,$(1),$(wordlist 2,99,$(2)),$(3) x))
layer_inc  = $(foreach l,$(call upto,$(1)),-I$(call layer_dir,$(l)))
layer_of   = $(firstword $(foreach l,$(LAYERS),$(if $(filter $(call layer_dir,$(l))/%,$(1)),$(l))))
ALL_INC   := $(call layer_inc,cmd)

BASEFLAGS := -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE $(WARN) \
             $(shell pkg-config --cflags $(PKGS_LUA) libevent libevent_openssl openssl 2>/dev/null) \
             -DGANTRY_ROOT='"$(CURDIR)"' -DGANTRY_VM_$(VM)=1
LIBS      := $(shell pkg-config --libs $(PKGS_LUA) libevent libevent_openssl openssl 2>/dev/null) -lz -lm -lpthread
# The release binary links Lua statically when Debian's .a is there: no PLT
# hop on every API call of the hot path. Sanitized builds use the .so.
LUA_A     := $(wildcard $(shell pkg-config --variable=libdir $(PKGS_LUA) 2>/dev/null)/lib$(if $(filter luajit,$(VM)),luajit-5.1,lua5.4).a)
REL_LIBS  := $(if $(LUA_A),$(LUA_A) $(filter-out -llua5.4 -lluajit-5.1,$(LIBS)) -ldl,$(LIBS))

REL_CFLAGS  := $(BASEFLAGS) -O2 -g -march=x86-64-v2 -fno-plt
SAN_CFLAGS  := $(BASEFLAGS) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
               -fno-sanitize-recover=undefined
SAN_LDFLAGS := -fsanitize=address,undefined

LAYER_SRC := $(foreach l,$(LAYERS),$(wildcard $(call layer_dir,$(l))/*.c))
# A file named *_lua54.c or *_luajit.c is one VM backend's: built only with that VM.
VM_OTHER  := $(if $(filter luajit,$(VM)),_lua54.c,_luajit.c)
HOST_SRC  := $(filter-out host/cmd/main.c %$(VM_OTHER),$(LAYER_SRC))
HDRS      := $(foreach l,$(LAYERS),$(wildcard $(call layer_dir,$(l))/*.h)) $(wildcard bindings/ffi/*.lua)
TESTS_C   := $(wildcard spec/c/test_*.c)
BENCH_C   := $(wildcard bench/*.c)
# scripts/talib_reference.c needs TA-Lib's sources (see its header): not built
TOOLS_C   := $(filter-out scripts/talib_reference.c,$(wildcard scripts/*.c))

REL_OBJ   := $(HOST_SRC:%.c=$(BUILD)/rel/%.o)
SAN_OBJ   := $(HOST_SRC:%.c=$(BUILD)/san/%.o)

.PHONY: all deps demo test test-c test-lua bench lint clean tools format layer-flags
.DEFAULT_GOAL := all

all: $(BIN) tools

$(BIN): $(BUILD)/rel/libgantry.a $(BUILD)/rel/host/cmd/main.o
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -o $@ $(BUILD)/rel/host/cmd/main.o $(BUILD)/rel/libgantry.a $(REL_LIBS)

$(BUILD)/san/gantry: $(BUILD)/san/libgantry.a $(BUILD)/san/host/cmd/main.o
	@$(if $(Q),echo "  LD san  $@")
	$(Q)$(CC) $(SAN_LDFLAGS) -o $@ $(BUILD)/san/host/cmd/main.o $(BUILD)/san/libgantry.a $(LIBS)

$(BUILD)/rel/libgantry.a: $(REL_OBJ)
	@rm -f $@; ar rcs $@ $^
$(BUILD)/san/libgantry.a: $(SAN_OBJ)
	@rm -f $@; ar rcs $@ $^

# V=1 shows the compiler command lines
Q := $(if $(V),,@)

$(BUILD)/rel/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(REL_CFLAGS) $(call layer_inc,$(call layer_of,$<)) -c -o $@ $<
$(BUILD)/san/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC san  $<")
	$(Q)$(CC) $(SAN_CFLAGS) $(call layer_inc,$(call layer_of,$<)) -c -o $@ $<

# C unit tests: spec/c/test_x.c -> build/san/test_x (sanitized)
$(BUILD)/san/spec/c/%: spec/c/%.c spec/c/check.h $(BUILD)/san/libgantry.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST    $<")
	$(Q)$(CC) $(SAN_CFLAGS) $(ALL_INC) -Ispec/c -o $@ $< $(BUILD)/san/libgantry.a $(LIBS) $(SAN_LDFLAGS)

# The pure core (base, market, core: ITCH, books, oms, risk) links without
# Lua, libevent or OpenSSL: the tests of its parts are linked against it and
# libz, libm and pthreads alone, so a dependency creeping in fails the build.
CORE_SRC   := $(foreach l,base market core,$(wildcard host/$(l)/*.c))
CORE_TESTS := $(addprefix $(BUILD)/san/spec/c/,test_bars test_itch test_jsonfmt test_metrics \
              test_oms test_series test_timefmt)
$(BUILD)/san/libgantry_core.a: $(CORE_SRC:%.c=$(BUILD)/san/%.o)
	@rm -f $@; ar rcs $@ $^
$(CORE_TESTS): $(BUILD)/san/spec/c/%: spec/c/%.c spec/c/check.h $(BUILD)/san/libgantry_core.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST    $< (core only)")
	$(Q)$(CC) $(SAN_CFLAGS) $(call layer_inc,core) -Ispec/c -o $@ $< \
	  $(BUILD)/san/libgantry_core.a -lz -lm -lpthread $(SAN_LDFLAGS)

# Benchmark probes (host/base/probe.h) exist only in this build: release
# and test builds carry none of them.
PROBE_OBJ := $(HOST_SRC:%.c=$(BUILD)/probe/%.o)
$(BUILD)/probe/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC prb  $<")
	$(Q)$(CC) $(REL_CFLAGS) -DGANTRY_PROBES=1 $(call layer_inc,$(call layer_of,$<)) -c -o $@ $<
$(BUILD)/probe/libgantry.a: $(PROBE_OBJ)
	@rm -f $@; ar rcs $@ $^
$(BUILD)/probe/gantry: $(BUILD)/probe/libgantry.a $(BUILD)/probe/host/cmd/main.o
	$(Q)$(CC) -o $@ $(BUILD)/probe/host/cmd/main.o $(BUILD)/probe/libgantry.a $(REL_LIBS)

# benchmarks and tools: optimised
$(BUILD)/rel/bench/%: bench/%.c $(BUILD)/rel/libgantry.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  BENCH   $<")
	$(Q)$(CC) $(REL_CFLAGS) $(ALL_INC) -o $@ $< $(BUILD)/rel/libgantry.a $(REL_LIBS)
$(BUILD)/tools/%: scripts/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TOOL    $<")
	$(Q)$(CC) $(REL_CFLAGS) $(ALL_INC) -o $@ $< $(LIBS)

tools: $(TOOLS_C:scripts/%.c=$(BUILD)/tools/%)

# ---------------------------------------------------------------- deps
DEB_PKGS := build-essential pkg-config liblua5.4-dev lua5.4 libluajit2-5.1-dev libevent-dev \
            libssl-dev zlib1g-dev lua-busted clang libclang-rt-14-dev procps tzdata \
            g++ libquickfix-dev stunnel4 openssl prometheus chromium sqlite3 libsqlite3-dev
# mk/*.mk may add to DEB_PKGS (DEB_PKGS += ...): the deps recipe expands it late.
deps:
	@scripts/deps.sh $(DEB_PKGS)

# ---------------------------------------------------------------- demo
demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh

# ---------------------------------------------------------------- test
SAN_TESTS := $(TESTS_C:spec/c/%.c=$(BUILD)/san/spec/c/%)
# Both VMs: the C units and every spec with the Lua 5.4 build, then the specs
# that run strategies again with the LuaJIT build (spec/run_all.sh).
# The builds run on every core (the specs then run one at a time); the
# libFuzzer targets the fuzz specs run are built here too, beside the rest.
NPROC     := $(shell nproc 2>/dev/null || echo 2)
FUZZ_BINS  = $(FUZZ_BIN) $(FIX_FUZZ_BIN) $(PEER_FUZZ_BIN) $(HTTP_FUZZ_BIN) $(JFUZZ_BIN) \
             $(FUZZ_RECORD_BIN) $(FUZZ_DC_BIN) $(BUILD)/fuzz/fuzz_soup $(BUILD)/fuzz/fuzz_mold
test: deps
	@$(MAKE) --no-print-directory -j$(NPROC) gantry tools $(BUILD)/san/gantry $(SAN_TESTS) \
	  $(BUILD)/probe/gantry $(FUZZ_BINS)
	@$(MAKE) --no-print-directory -j$(NPROC) VM=luajit build/luajit/san/gantry
	@GANTRY_BIN=$(CURDIR)/$(BUILD)/san/gantry GANTRY_TOOLS=$(CURDIR)/$(BUILD)/tools \
	  GANTRY_BIN_LUAJIT=$(CURDIR)/build/luajit/san/gantry \
	  GANTRY_BIN_PROBE=$(CURDIR)/$(BUILD)/probe/gantry \
	  spec/run_all.sh scripts/check_layers.sh $(SAN_TESTS)

# ---------------------------------------------------------------- bench
BENCH_BIN := $(BENCH_C:bench/%.c=$(BUILD)/rel/bench/%)
bench: deps
	@$(MAKE) --no-print-directory gantry tools $(BENCH_BIN) $(BUILD)/probe/gantry
	@$(MAKE) --no-print-directory VM=luajit gantry-luajit build/luajit/rel/bench/bench_vm \
	  build/luajit/probe/gantry
	@GANTRY_BIN=$(CURDIR)/gantry GANTRY_BIN_LUAJIT=$(CURDIR)/gantry-luajit \
	  GANTRY_BIN_PROBE=$(CURDIR)/$(BUILD)/probe/gantry \
	  GANTRY_BIN_PROBE_LUAJIT=$(CURDIR)/build/luajit/probe/gantry \
	  GANTRY_TOOLS=$(CURDIR)/$(BUILD)/tools GANTRY_BENCH=$(CURDIR)/$(BUILD)/rel/bench \
	  GANTRY_BENCH_LUAJIT=$(CURDIR)/build/luajit/rel/bench bench/run.sh

# ---------------------------------------------------------------- lint
lint:
	clang-tidy --quiet $(filter-out %$(VM_OTHER),$(LAYER_SRC)) -- $(filter-out -Wno-format-truncation,$(BASEFLAGS)) $(ALL_INC)
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --inline-suppr $(ALL_INC) host bindings

format:
	clang-format -i $(wildcard host/*/*.[ch] bindings/*.[ch] spec/c/*.[ch] bench/*.c scripts/*.c)

clean:
	rm -rf build gantry gantry-luajit

-include mk/*.mk

# The compiler flags of one layer's files (spec/seams_spec.lua compiles a
# deliberate upward include with them): make -s layer-flags LAYER=core
layer-flags:
	@echo $(REL_CFLAGS) $(call layer_inc,$(LAYER))
