#!/usr/bin/env bash
# Evidence that the instruction-count gate works (see README, "The performance gate"):
#   1. the unchanged code passes five counted runs in a row, and the runs agree;
#   2. slowdowns injected into the host core (feature `inject-slowdown`, off by default) fail the gate, which
#      names the scenarios, down to one turn of an empty loop per call; and a served request that dirties twice the
#      pages fails on its minor page faults. The script fails unless every injection is caught.
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

# Kernel work instruction counts cannot see: a served request that dirties twice the pages must fail on its page
# faults, counted natively beside the instructions.
echo
echo "=== injected slowdown: pages:2, the serving requests"
log=$(mktemp)
BOUNDARY_INJECT_SLOWDOWN=pages:2 cargo bench --bench gate --features boundary-benches/inject-slowdown \
    -- --filter serving/ 2>&1 | tee "$log"
if grep -q "minor page faults per op" "$log"; then
    caught+=("pages:2 (page faults)")
else
    missed+=("pages:2 (page faults)")
fi
rm -f "$log"

echo
echo "caught by the gate: ${caught[*]:-none}"
echo "not caught:         ${missed[*]:-none}"
# Every injection must be caught.
[ "${#missed[@]}" -eq 0 ]
