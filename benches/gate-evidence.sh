#!/usr/bin/env bash
# Evidence that the instruction-count gate works (see README, "The performance gate"):
#   1. the unchanged code passes five counted runs in a row, and the runs agree;
#   2. slowdowns injected into the host core (feature `inject-slowdown`, off by default) fail the gate, which
#      names the scenarios; from the largest to the smallest injection, so the last one caught is the smallest.
# Takes about a quarter of an hour: every counted run executes under valgrind.
set -uo pipefail
cd "$(dirname "$0")/.."

echo "=== unchanged code, five runs"
if ! cargo bench --bench gate -- --repeat 5; then
    echo "FAILED: the unchanged code did not pass the gate"
    exit 1
fi

# Only the scenarios that go through the host core can see a slowdown injected into it.
caught=()
missed=()
for slowdown in lookup spin:64 spin:16 spin:4 spin:1; do
    echo
    echo "=== injected slowdown: $slowdown"
    if BOUNDARY_INJECT_SLOWDOWN=$slowdown cargo bench --bench gate --features boundary-benches/inject-slowdown \
        -- --filter core; then
        missed+=("$slowdown")
    else
        caught+=("$slowdown")
    fi
done

# The async call path has its own guarded call in the host core: a slowdown there must be caught too.
echo
echo "=== injected slowdown in the async call path: spin:4, async scenarios only"
if BOUNDARY_INJECT_SLOWDOWN=spin:4 cargo bench --bench gate --features boundary-benches/inject-slowdown \
    -- --filter async; then
    missed+=("spin:4 (async)")
else
    caught+=("spin:4 (async)")
fi

echo
echo "caught by the gate: ${caught[*]:-none}"
echo "not caught:         ${missed[*]:-none}"
[ "${#caught[@]}" -gt 0 ]
