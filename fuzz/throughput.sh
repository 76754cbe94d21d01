#!/usr/bin/env bash
# How fast the README's fuzz commands run: `bash fuzz/throughput.sh [SECONDS] [SANITIZER...]` (default 60 seconds,
# sanitizers `none address`) builds the memory_io target with each sanitizer, runs it RUNS times (default 3) for
# SECONDS from the committed seeds with the dictionary, on one core, each time from an empty corpus folder (so each
# run starts from the seeds alone), and writes results/fuzz/throughput-<date>.md: date, CPU, commit, the exact
# command, for each run the coverage counters, the edges and features over the seeds alone, and the inputs, inputs
# per second, edges and features libFuzzer reported at the end; then the seeds and the last run's corpus replayed
# natively (host/oracle/examples/replay.rs --ops), operation by operation. Runs are repeated because this machine's speed swings between runs: compare medians.
#
# Each sanitizer builds into a target folder of its own (`fuzz/target` for AddressSanitizer, cargo-fuzz's default;
# `fuzz/target-<sanitizer>` for the others), as README's commands do, so that the builds do not replace each other.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
runs=${RUNS:-3}
case "$runs" in
'' | *[!0-9]* | 0) echo "error: RUNS must be a whole number of runs, at least 1 (got '$runs')" >&2; exit 2 ;;
esac
shift || true
sanitizers=("$@")
[ ${#sanitizers[@]} -gt 0 ] || sanitizers=(none address)

day=$(date -u +%Y-%m-%d)
out=results/fuzz/throughput-$day.md
n=2
while [ -e "$out" ]; do
    out=results/fuzz/throughput-$day-$n.md
    n=$((n + 1))
done
mkdir -p results/fuzz
cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
revision=$(git rev-parse HEAD)
[ -z "$(git status --porcelain)" ] || revision="$revision (with uncommitted changes)"
rows=""
medians=""
last_corpus=""
trap 'rm -rf "$last_corpus"' EXIT
for sanitizer in "${sanitizers[@]}"; do
    # The fast build (no sanitizer) is built without comparison tracing, as README's command builds it.
    if [ "$sanitizer" = address ]; then target_dir=fuzz/target; flags=(); else target_dir=fuzz/target-$sanitizer; flags=(--no-trace-compares); fi
    echo "=== building memory_io with sanitizer $sanitizer (into $target_dir)"
    cargo +nightly fuzz build -s "$sanitizer" "${flags[@]}" --target-dir "$target_dir" memory_io
    command="cargo +nightly fuzz run -s $sanitizer ${flags[*]:+${flags[*]} }--target-dir $target_dir memory_io <empty folder> fuzz/seeds/memory_io -- -dict=fuzz/memory_io.dict -max_total_time=$seconds"
    rates=()
    for run in $(seq 1 "$runs"); do
        corpus=$(mktemp -d)
        log=$(mktemp)
        echo "=== run $run of $runs: $command"
        cargo +nightly fuzz run -s "$sanitizer" "${flags[@]}" --target-dir "$target_dir" memory_io "$corpus" fuzz/seeds/memory_io -- \
            -dict=fuzz/memory_io.dict -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1 || {
            tail -n 30 "$log"
            echo "error: the $sanitizer run failed (a finding, or a broken build); its log is $log" >&2
            exit 1
        }
        counters=$(sed -n -E 's/.*\(([0-9]+) inline 8-bit counters\).*/\1/p' "$log" | head -n 1)
        units=$(sed -n -E 's/^stat::number_of_executed_units: *([0-9]+)$/\1/p' "$log" | head -n 1)
        rate=$(sed -n -E 's/^stat::average_exec_per_sec: *([0-9]+)$/\1/p' "$log" | head -n 1)
        done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true)
        if [ -z "$counters" ] || [ -z "$units" ] || [ -z "$rate" ] || [ -z "$done_line" ]; then
            echo "error: could not read libFuzzer's statistics from the $sanitizer run; its log is $log" >&2
            exit 1
        fi
        cov=$(sed -E 's/.* cov: ([0-9]+) .*/\1/' <<<"$done_line")
        ft=$(sed -E 's/.* ft: ([0-9]+) .*/\1/' <<<"$done_line")
        # What the seeds alone reach: libFuzzer's line once it has run them all.
        inited=$(grep -E '^#[0-9]+[[:space:]]+INITED' "$log" | tail -n 1 || true)
        seed_cov=$(sed -E 's/.* cov: ([0-9]+) .*/\1/' <<<"$inited")
        seed_ft=$(sed -E 's/.* ft: ([0-9]+) .*/\1/' <<<"$inited")
        echo "    $rate inputs/s ($units inputs, $counters counters, $cov edges, $ft features; the seeds $seed_cov and $seed_ft)"
        rows+="| \`$sanitizer\` | $run | $counters | $seed_cov | $seed_ft | $units | $rate inputs/s | $cov | $ft |"$'\n'
        rates+=("$rate")
        # The last run's corpus is replayed natively below: what its inputs cost, operation by operation.
        rm -rf "$last_corpus"
        last_corpus=$corpus
        rm -f "$log"
    done
    median=$(printf '%s\n' "${rates[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p")
    medians+="| \`$sanitizer\` | \`$command\` | $median inputs/s |"$'\n'
done
# The inputs natively, without libFuzzer (host/oracle/examples/replay.rs --ops): the seeds, and the corpus the last run
# left, five passes each, with the time and traps of each kind of operation.
cargo build --release -p boundary-oracle --example replay
replay_seeds=$(target/release/examples/replay --rounds 5 --ops fuzz/seeds/memory_io)
replay_corpus=$(target/release/examples/replay --rounds 5 --ops "$last_corpus")
cat >"$out" <<MD
# Fuzzing throughput, $day

Written by \`bash fuzz/throughput.sh $seconds ${sanitizers[*]}\` (RUNS=$runs); do not edit by hand. One process on one
core, from the committed seeds (an empty corpus folder each run), with the dictionary.

| | |
|---|---|
| CPU | $cpu, $(nproc) cores |
| rustc | $(rustc +nightly -V) |
| git revision | $revision |

| sanitizer | command | median inputs per second |
|---|---|---|
$medians
| sanitizer | run | coverage counters | edges over the seeds | features over the seeds | inputs | inputs per second | edges | features |
|---|---|---|---|---|---|---|---|---|
$rows
## The inputs replayed natively

\`target/release/examples/replay --rounds 5 --ops\` (no libFuzzer, no coverage instrumentation): each operation's
time is that of a program of that one operation on a fresh instance.

The seeds (\`fuzz/seeds/memory_io\`):

\`\`\`
$replay_seeds
\`\`\`

The corpus the last run left (\`${sanitizers[${#sanitizers[@]}-1]}\`, run $runs):

\`\`\`
$replay_corpus
\`\`\`
MD
echo "=== written to $out"
