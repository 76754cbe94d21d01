#!/bin/bash -eu
# Builds the fuzz targets for ClusterFuzzLite (and for `.ci/run`, which runs this script with OUT in a temporary
# folder so that it cannot rot): `cargo fuzz build` from the repository's root, the fuzz-targets' binaries, the
# dictionary and the seed corpus into $OUT. Coverage instrumentation is kept to the crates under test by
# `.cargo/config.toml`, for this build as for every `cargo fuzz` run.
#
# Environment: OUT (where the fuzzers go; required), SANITIZER (address, or none; default address),
# BOUNDARY_SRC (the repository; default the current folder, which is the image's WORKDIR).
cd "${BOUNDARY_SRC:-$PWD}"
sanitizer=${SANITIZER:-address}
case "$sanitizer" in
address | none) ;;
*)
    echo "error: sanitizer '$sanitizer' is not built for this project (address or none)" >&2
    exit 1
    ;;
esac
# One target folder per build, as fuzz/README.md's commands use: fuzz/target (AddressSanitizer, cargo-fuzz's
# default) and fuzz/target-none.
# The fast build (no sanitizer) leaves out comparison tracing, as README's command does (fuzz/README.md, "Throughput").
if [ "$sanitizer" = address ]; then target_dir=fuzz/target; flags=(); else target_dir=fuzz/target-$sanitizer; flags=(--no-trace-compares); fi
cargo fuzz build -s "$sanitizer" "${flags[@]}" --target-dir "$target_dir"
release=$target_dir/x86_64-unknown-linux-gnu/release
for target in memory_io differential; do
    cp "$release/$target" "$OUT/"
    cp fuzz/memory_io.dict "$OUT/$target.dict"
done
# The isolation oracle's target decodes its own inputs: no dictionary or seeds of the memory I/O targets.
cp "$release/isolation" "$OUT/"
# The seed corpus serves both targets: they decode the same inputs. (Python's zipfile: `zip` is not everywhere.)
python3 - "$OUT" fuzz/seeds/memory_io <<'PY'
import os, sys, zipfile
out, seeds = sys.argv[1], sys.argv[2]
for target in ("memory_io", "differential"):
    with zipfile.ZipFile(os.path.join(out, f"{target}_seed_corpus.zip"), "w") as z:
        for name in sorted(os.listdir(seeds)):
            z.write(os.path.join(seeds, name), name)
PY
