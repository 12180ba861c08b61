#!/usr/bin/env bash
# journal: append cost per record and records/s under each fsync policy, the
# same workload into SQLite (WAL, the matching synchronous setting), alternated
# in one run, as ratios; the read side of recovery over 1,000,000 records
# (bench_journal); then a paper host's whole recovery on a journal of about a
# million records (replay against the simulator and the feed), and a
# backtest's events/s without and with --journal (fsync off).
# Environment: GANTRY_BIN, GANTRY_BENCH, BENCH_TMP (set by bench/run.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${GANTRY_BENCH:-build/rel/bench}/bench_journal
gantry=${GANTRY_BIN:-./gantry}
d=${BENCH_TMP:-$(mktemp -d)}/journal
mkdir -p "$d"
if [ ! -x "$bin" ]; then
  echo "journal: $bin not built (make build/rel/bench/bench_journal)" >&2
  exit 2
fi
"$bin" "$d" "${JOURNAL_BENCH_FAST:-200000}" "${JOURNAL_BENCH_ALWAYS:-300}" "${JOURNAL_BENCH_RECOVERY:-1000000}"

# ~6 records an event with bench/journal_churn.lua: 2 x 85,000 bars
bars=${JOURNAL_BENCH_BARS:-85000}
scripts/gen_bars --seed 9 --bars "$bars" --symbols AAA,BBB --interval 1m --out "$d/data" >/dev/null
args=(bench/journal_churn.lua --feed "file:$d/data/AAA.csv" --feed "file:$d/data/BBB.csv"
      --no-report --quiet --no-watch --callback-ms 1000 --out "$d/p")
"$gantry" paper "${args[@]}" 2>/dev/null
recs=$("$gantry" journal "$d/p/journal" --stats | grep -o '"records": [0-9]*' | awk '{print $2}')
line=$("$gantry" paper "${args[@]}" --resume 2>&1 | grep 'recovered:' || true)
echo "recovery (paper --resume) of a journal of $recs records: ${line#*recovered: }"

# a backtest pays nothing for the journal unless asked: best of 3 each, alternated
best_off=0 best_on=0
for _ in 1 2 3; do
  for mode in off on; do
    rm -rf "$d/bt" "$d/btj"
    extra=()
    if [ "$mode" = on ]; then extra=(--journal "$d/btj"); fi
    "$gantry" backtest strategies/sma_cross.lua --data "$d/data/AAA.csv" --param symbol=AAA --out "$d/bt" \
      --no-report --quiet "${extra[@]}" 2>/dev/null
    eps=$(grep -o '"events_per_s": [0-9.e+]*' "$d/bt/summary.json" | awk '{print int($2)}')
    if [ "$mode" = off ]; then
      if [ "$eps" -gt "$best_off" ]; then best_off=$eps; fi
    elif [ "$eps" -gt "$best_on" ]; then
      best_on=$eps
    fi
  done
done
echo "backtest sma_cross $bars bars: no journal $best_off events/s, --journal (fsync off) $best_on events/s"
rm -rf "$d"
