#!/usr/bin/env bash
# ITCH 5.0: decode only, decode + every book, and `gantry itch --stats`, on a
# generated day of ITCH_BENCH_MESSAGES messages (default 50 million, 8000
# symbols, about a million live orders at the peak).
set -euo pipefail
n=${ITCH_BENCH_MESSAGES:-50000000}
day="$BENCH_TMP/itch-day.itch"
t0=$(date +%s.%N)
"$GANTRY_TOOLS/gen_itch" --seed 1 --messages "$n" --symbols 8000 --live 1000000 --out "$day" 2>/dev/null
t1=$(date +%s.%N)
printf 'gen_itch       %s msgs  %.1f s  %s bytes\n' "$n" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')" "$(stat -c %s "$day")"
# In the page cache as a file read from disk is: written by gen_itch, the day
# sits in small folios mapped 4 KB at a time; dropped and read back, it is
# cached in large folios that mmap maps 2 MB at a time. Under a hypervisor
# (nested paging) a TLB miss is dear: on this VM decoding the first way ran
# 11-28 ns/msg, the second 4 ns/msg. `sync` first: the writeback of a fresh
# 1.5 GB file would otherwise run under the figures.
sync "$day"
dd if="$day" iflag=nocache count=0 status=none
cat "$day" >/dev/null
"$GANTRY_BENCH/bench_itch" --decode "$day"
# decode + books reads the 64 MB direct table at random once a message: the
# memory latency of the minute, before and after, says what the machine gave
"$GANTRY_BENCH/bench_mem"
"$GANTRY_BENCH/bench_itch" --books "$day"
printf 'without prefetching: '
BENCH_PREFETCH=0,0 "$GANTRY_BENCH/bench_itch" --books "$day"
"$GANTRY_BIN" itch "$day" --stats | sed -E 's/.*"messages":([0-9]+).*"elapsed_s":([0-9.]+),"msgs_per_s":([0-9.]+).*"peak_orders":([0-9]+).*/gantry itch    \1 msgs  \2 s  \3 msgs\/s  peak orders \4/'
"$GANTRY_BENCH/bench_mem"
# the day stays for tick.bench.sh; run.sh removes BENCH_TMP at the end
