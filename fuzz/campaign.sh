#!/usr/bin/env bash
# A fuzzing campaign on record: `bash fuzz/campaign.sh [INPUTS]` runs the memory_io target on every core (libFuzzer's
# -fork) until INPUTS inputs have run (default 10,000,000), from the committed seeds and the campaign's own corpus
# (fuzz/corpus/campaign/, which git ignores), and writes results/fuzz/<date>/ (record.md and record.json: date, CPU,
# cores, commit, command, inputs, time, inputs per second, coverage, corpus size, findings). A second campaign of a
# day gets <date>-2 and so on.
#
# It runs the build without a sanitizer, the fastest (fuzz/README.md has the measurements; CI keeps running the
# AddressSanitizer build), in a target folder of its own, fuzz/target-none, so it does not replace that build.
# A finding stops the campaign: the record says so, and the input is in fuzz/artifacts/memory_io/.
set -euo pipefail
cd "$(dirname "$0")/.."

inputs=${1:-10000000}
jobs=$(nproc)
command="bash fuzz/campaign.sh $inputs"
corpus=fuzz/corpus/campaign
target_dir=fuzz/target-none
binary=$target_dir/x86_64-unknown-linux-gnu/release/memory_io
mkdir -p "$corpus" fuzz/artifacts/memory_io

echo "=== building memory_io without a sanitizer (into $target_dir)"
cargo +nightly fuzz build -s none --no-trace-compares --target-dir "$target_dir" memory_io

log=$(mktemp)
echo "=== $inputs inputs on $jobs cores"
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
start_seconds=$SECONDS
status=0
"$binary" -fork="$jobs" -runs="$inputs" -dict=fuzz/memory_io.dict -artifact_prefix=fuzz/artifacts/memory_io/ \
    "$corpus" fuzz/seeds/memory_io 2>&1 | tee "$log" || status=$?
seconds=$((SECONDS - start_seconds))

# The last progress line of fork mode: "#<inputs>: cov: <c> ft: <f> corp: <n> exec/s: <e> oom/timeout/crash: ...".
# (A run that ends before printing one, or a finding that libFuzzer counts after its last line, leaves the counts
# as they were; the exit status and the artifacts folder decide the findings.)
last=$(grep -E '^#[0-9]+: cov:' "$log" | tail -n 1 || true)
field() { sed -n -E "s|$1|\\1|p" <<<"$last"; }
done_inputs=$(field '^#([0-9]+):.*')
cov=$(field '.* cov: ([0-9]+) .*')
ft=$(field '.* ft: ([0-9]+) .*')
corp=$(field '.* corp: ([0-9]+) .*')
crashes=$(field '.* oom/timeout/crash: ([0-9]+/[0-9]+/[0-9]+) .*')
done_inputs=${done_inputs:-0} cov=${cov:-0} ft=${ft:-0} corp=${corp:-0} crashes=${crashes:-unknown}
rate=$((done_inputs / (seconds > 0 ? seconds : 1)))
new_artifacts=$(find fuzz/artifacts/memory_io -type f -newer "$log" 2>/dev/null | sort | tr '\n' ' ')
if [ "$status" -eq 0 ] && [ "$crashes" = "0/0/0" ] && [ -z "$new_artifacts" ]; then
    findings="none"
else
    findings="libFuzzer exited with status $status (oom/timeout/crash: $crashes); new inputs in fuzz/artifacts/memory_io/: ${new_artifacts:-none}"
fi

day=${started:0:10}
dir=results/fuzz/$day
n=2
while [ -e "$dir" ]; do
    dir=results/fuzz/$day-$n
    n=$((n + 1))
done
mkdir -p "$dir"
cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
revision=$(git rev-parse HEAD)
[ -z "$(git status --porcelain)" ] || revision="$revision (with uncommitted changes)"
rustc=$(rustc +nightly -V)
cat >"$dir/record.json" <<JSON
{
  "date": "$started",
  "command": "$command",
  "target": "memory_io",
  "build": "cargo +nightly fuzz build -s none --no-trace-compares (no sanitizer, no comparison tracing; coverage in the crates under test, .cargo/config.toml)",
  "cpu": "$cpu",
  "cores": $jobs,
  "rustc": "$rustc",
  "git_revision": "$revision",
  "inputs": $done_inputs,
  "seconds": $seconds,
  "inputs_per_second": $rate,
  "coverage_edges": $cov,
  "coverage_features": $ft,
  "corpus_files": $corp,
  "oom_timeout_crash": "$crashes",
  "findings": "$findings"
}
JSON
cat >"$dir/record.md" <<MD
# Fuzzing campaign, $started

Written by \`fuzz/campaign.sh\`; do not edit by hand.

| | |
|---|---|
| command | \`$command\` |
| target | \`memory_io\` (the memory I/O oracle, \`host/oracle\`) |
| build | no sanitizer; coverage in the crates under test |
| CPU | $cpu, $jobs cores (libFuzzer \`-fork=$jobs\`) |
| rustc | $rustc |
| git revision | $revision |
| inputs | $done_inputs |
| time | $seconds s |
| inputs per second | $rate |
| coverage | $cov edges, $ft features (libFuzzer's counts) |
| corpus | $corp files |
| oom / timeout / crash | $crashes |
| findings | $findings |
MD
rm -f "$log"
echo "=== record written to $dir"
[ "$findings" = none ]
