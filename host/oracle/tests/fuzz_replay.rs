//! Replays the committed fuzz inputs through the oracle, decoded exactly as libFuzzer's `fuzz_target!` decodes
//! them: the seed corpus (`fuzz/seeds/`) and every minimised finding (`fuzz/regressions/`).

use boundary_host::EngineProfile;
use boundary_oracle::{self as oracle, Oracle};
use std::path::PathBuf;

fn fuzz_dir(sub: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz").join(sub)
}

/// Every file in the given folders, sorted by path (a missing folder holds nothing).
fn inputs(dirs: &[&str]) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(fuzz_dir(dir)) else { continue };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_file() {
                let bytes = std::fs::read(&path).unwrap();
                files.push((path, bytes));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn memory_io_seeds_and_regressions_match_the_model() {
    let files = inputs(&["seeds/memory_io", "regressions/memory_io"]);
    assert!(files.len() >= 10, "expected the committed seed corpus under fuzz/seeds/memory_io, found {}", files.len());
    let mut ops = 0;
    for (path, bytes) in &files {
        let Some(program) = oracle::decode(bytes) else { continue };
        let run = oracle::check(&program).unwrap_or_else(|d| panic!("{}: {d}\n{program:?}", path.display()));
        ops += run.trace.len();
    }
    assert!(ops > files.len(), "the seeds decode to almost no operations ({ops})");
}

#[test]
fn differential_seeds_and_regressions_agree_across_engines() {
    let files = inputs(&["seeds/memory_io", "regressions/memory_io", "regressions/differential"]);
    let cranelift = Oracle::new(EngineProfile::Cranelift).unwrap();
    for other in [EngineProfile::Pulley, EngineProfile::Winch] {
        let other = Oracle::new(other).unwrap();
        for (path, bytes) in &files {
            let Some(program) = oracle::decode(bytes) else { continue };
            if let Err(d) = oracle::differential(&program, &cranelift, &other) {
                panic!("{}: {d}\n{program:?}", path.display());
            }
        }
    }
}

/// The seed corpus the fuzzer starts from reaches every kind of operation, the payload exports' included: a new
/// operation that no seed decodes to would be left for the fuzzer to find by chance.
#[test]
fn the_seeds_reach_every_kind_of_operation() {
    use boundary_oracle::Op;
    use std::collections::BTreeSet;
    let mut kinds = BTreeSet::new();
    for (_, bytes) in inputs(&["seeds/memory_io"]) {
        for op in oracle::decode(&bytes).map(|p| p.ops).unwrap_or_default() {
            // The variant's name: what `Debug` prints before its fields.
            let text = format!("{op:?}");
            kinds.insert(text.split([' ', '{', '(']).next().unwrap_or_default().to_string());
        }
    }
    let every = [
        "WritePoint",
        "ReadPoint",
        "WriteBytes",
        "ReadBytes",
        "PointAdd",
        "PointAddBatch",
        "ReadStatic",
        "WriteStatic",
        "GuestReadsStatic",
        "Grow",
        "Checksum",
        "Fill",
    ];
    for kind in every {
        assert!(
            kinds.contains(kind),
            "no seed under fuzz/seeds/memory_io decodes to `{kind}`: add one; seen {kinds:?}"
        );
    }
    // The list above is every variant: a new one must be added to it (the match does not compile without it).
    let _exhaustive = |op: &Op| match op {
        Op::WritePoint { .. }
        | Op::ReadPoint { .. }
        | Op::WriteBytes { .. }
        | Op::ReadBytes { .. }
        | Op::PointAdd { .. }
        | Op::PointAddBatch { .. }
        | Op::ReadStatic
        | Op::WriteStatic { .. }
        | Op::GuestReadsStatic
        | Op::Grow { .. }
        | Op::Checksum { .. }
        | Op::Fill { .. } => (),
    };
}
