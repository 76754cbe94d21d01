#!/usr/bin/env bash
# The exact guard on what a fuzz input costs: `bash fuzz/instructions.sh` replays the committed seed corpus
# (fuzz/seeds/memory_io) natively through the oracle (host/oracle/examples/replay.rs, decoded as libFuzzer decodes
# them, no libFuzzer) once under callgrind, and compares with fuzz/instructions.baseline:
#
# - instructions per input, counted in `replay_measured` (one pass over every seed, the oracle prepared before it),
#   must not exceed the baseline by more than THRESHOLD_PERCENT (default 1; repeated counts differ by ~0.05%:
#   wasmtime's hash maps are seeded at random);
# - the guest traps of the pass must equal the baseline's: each trap costs a fresh instance, and the kernel's part of
#   that (mapping, resetting), which callgrind does not count (fuzz/README.md, "Throughput").
#
# `bash fuzz/instructions.sh --save` writes the baseline from this count. Counts depend on the toolchain, valgrind
# and glibc (recorded in the baseline); the oracle runs under `Oracle::counting` (a pool of 4 slots, which valgrind
# can reserve). Takes a few seconds after `cargo test --release` (whose build it shares).
set -euo pipefail
cd "$(dirname "$0")/.."

baseline=fuzz/instructions.baseline
threshold=${THRESHOLD_PERCENT:-1}
if ! [[ "$threshold" =~ ^[0-9]+$ ]]; then
    echo "error: THRESHOLD_PERCENT takes a whole number of percent, not '$threshold'" >&2
    exit 2
fi
save=false
[ "${1:-}" = --save ] && save=true

# From the workspace root without `-p`: the default members resolve wasmtime's features as `cargo test --release` does,
# so this reuses that build. `-p boundary-oracle` alone leaves WASI out and compiles wasmtime a second time (3.5
# minutes of `.ci/run` on a clean clone); the oracle's code is the same either way.
cargo build --release --example replay
out=$(mktemp)
trap 'rm -f "$out"' EXIT
summary=$(valgrind --tool=callgrind --collect-atstart=no --toggle-collect=replay_measured \
    --vex-iropt-register-updates=allregs-at-mem-access --callgrind-out-file="$out" --quiet \
    target/release/examples/replay --counting fuzz/seeds/memory_io)
total=$(sed -n -E 's/^totals: *([0-9]+)$/\1/p' "$out")
programs=$(sed -n -E 's/^[0-9]+ files, ([0-9]+) programs, .*/\1/p' <<<"$summary")
ops=$(sed -n -E 's/.* programs, ([0-9]+) operations, .*/\1/p' <<<"$summary")
traps=$(sed -n -E 's/.* operations, ([0-9]+) traps per pass.*/\1/p' <<<"$summary")
if [ -z "$total" ] || [ -z "$programs" ] || [ -z "$traps" ]; then
    echo "error: could not read the count (callgrind: '$total') or the replay's summary: $summary" >&2
    exit 1
fi
per_input=$((total / programs))
echo "seeds: $programs programs, $ops operations, $traps traps; $total instructions, $per_input per input"

if $save; then
    cat >"$baseline" <<EOF
# Written by \`bash fuzz/instructions.sh --save\`; compared by \`bash fuzz/instructions.sh\`.
programs=$programs
operations=$ops
traps=$traps
instructions=$total
instructions_per_input=$per_input
rustc=$(rustc -V)
valgrind=$(valgrind --version)
glibc=$(getconf GNU_LIBC_VERSION)
EOF
    echo "written to $baseline"
    exit 0
fi

[ -f "$baseline" ] || { echo "error: no $baseline; write one with --save" >&2; exit 1; }
value() { sed -n -E "s/^$1=(.*)$/\1/p" "$baseline"; }
want_programs=$(value programs)
want_traps=$(value traps)
want_per_input=$(value instructions_per_input)
if ! [[ "$want_per_input" =~ ^[0-9]+$ && "$want_programs" =~ ^[0-9]+$ && "$want_traps" =~ ^[0-9]+$ ]]; then
    echo "error: $baseline lacks programs, traps or instructions_per_input; write it again with --save" >&2
    exit 2
fi
status=0
if [ "$programs" != "$want_programs" ]; then
    echo "FAIL: $programs seed programs, the baseline has $want_programs (the seeds or their decoding changed: --save)"
    status=1
fi
if [ "$traps" != "$want_traps" ]; then
    echo "FAIL: $traps traps over the seeds, the baseline has $want_traps (each costs a fresh instance)"
    status=1
fi
limit=$((want_per_input + want_per_input * threshold / 100))
change=$(awk -v a="$per_input" -v b="$want_per_input" 'BEGIN { printf "%+.2f", (a - b) * 100 / b }')
if [ "$per_input" -gt "$limit" ]; then
    echo "FAIL: $per_input instructions per input, $change% against the baseline's $want_per_input (limit $limit, +$threshold%)"
    status=1
else
    echo "ok: $per_input instructions per input, $change% against the baseline's $want_per_input (limit +$threshold%)"
fi
for key in rustc valgrind glibc; do
    case $key in
    rustc) now=$(rustc -V) ;;
    valgrind) now=$(valgrind --version) ;;
    glibc) now=$(getconf GNU_LIBC_VERSION) ;;
    esac
    [ "$now" = "$(value "$key")" ] || echo "note: $key is '$now', the baseline was counted with '$(value "$key")'"
done
exit $status
