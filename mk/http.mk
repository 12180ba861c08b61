# http: the monitoring server's test tools (README: Monitoring, docs/monitoring.md).
#   make dashboard-deps   npm ci of spec/dashboard (puppeteer-core, for the dashboard
#                         spec in headless Chromium); make test runs it
#   make http-fuzz        libFuzzer over the HTTP side's parsing for FUZZ_SECONDS
#   make http-fuzz-smoke  a short deterministic pass (spec/http_fuzz_spec.lua)
# npm comes with NodeSource's nodejs on the CI image; Debian's npm conflicts with it, so
# the Debian packages are asked for only where no npm is found.
DEB_PKGS += curl $(if $(shell command -v npm 2>/dev/null),,nodejs npm)

DASH_DIR  := spec/dashboard
DASH_LOCK := $(DASH_DIR)/node_modules/.package-lock.json

.PHONY: dashboard-deps http-fuzz http-fuzz-smoke

$(DASH_LOCK): $(DASH_DIR)/package.json $(DASH_DIR)/package-lock.json
	cd $(DASH_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

dashboard-deps: $(DASH_LOCK)

test: dashboard-deps

HTTP_FUZZ_SRC := fuzz/fuzz_http.c host/base/tokens.c host/base/httpreq.c host/base/alert_rule.c \
                 host/base/promtext.c host/base/histo.c host/base/log.c host/base/timefmt.c host/base/clock.c
HTTP_FUZZ_BIN := $(BUILD)/fuzz/fuzz_http

$(HTTP_FUZZ_BIN): $(HTTP_FUZZ_SRC) $(wildcard host/base/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $(HTTP_FUZZ_SRC) -lm

http-fuzz: $(HTTP_FUZZ_BIN)
	@mkdir -p $(BUILD)/fuzz/corpus-http && cp fuzz/corpus-http/* $(BUILD)/fuzz/corpus-http/
	$(HTTP_FUZZ_BIN) -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	  -artifact_prefix=$(BUILD)/fuzz/http- $(BUILD)/fuzz/corpus-http

http-fuzz-smoke: $(HTTP_FUZZ_BIN)
	@rm -rf $(BUILD)/fuzz/smoke-http && mkdir -p $(BUILD)/fuzz/smoke-http && cp fuzz/corpus-http/* $(BUILD)/fuzz/smoke-http/
	@$(HTTP_FUZZ_BIN) -runs=$(FUZZ_RUNS) -seed=1 -max_len=4096 -print_final_stats=1 \
	  -artifact_prefix=$(BUILD)/fuzz/http- $(BUILD)/fuzz/smoke-http 2>$(BUILD)/fuzz/smoke-http.log \
	  || { tail -n 60 $(BUILD)/fuzz/smoke-http.log; exit 1; }
	@grep -E '^stat::number_of_executed_units' $(BUILD)/fuzz/smoke-http.log || true
