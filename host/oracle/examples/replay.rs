//! Replays fuzz inputs through the oracle natively (no libFuzzer): `cargo run --release -p boundary-oracle
//! --example replay -- [--rounds N] [--ops] FILE_OR_FOLDER...`.
//!
//! Every file is decoded as libFuzzer's `fuzz_target!` decodes it and checked with [`boundary_oracle::check`],
//! `--rounds` times over (default 1), in path order; a divergence stops the replay. It prints the inputs, the
//! operations, the traps and the time per input, and with `--ops` the time and traps of each kind of operation
//! (each operation checked alone, as a program of one operation on a fresh instance). `fuzz/instructions.sh` counts this replay's instructions with callgrind;
//! the region it counts is [`replay_measured`] (one pass over every input), under `--counting`
//! ([`Oracle::counting`], the one valgrind can run) instead of the default oracle.

use boundary_oracle::{self as oracle, Op, Oracle, Program};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn files(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = std::fs::read_dir(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            out.extend(entries.map(|entry| entry.expect("a folder entry").path()).filter(|p| p.is_file()));
        } else {
            out.push(path.clone());
        }
    }
    out.sort();
    out
}

fn kind(op: &Op) -> String {
    let text = format!("{op:?}");
    let name = text.split([' ', '{', '(']).next().unwrap_or_default().to_string();
    match op {
        Op::Checksum { len, .. } | Op::Fill { len, .. } => {
            let len = format!("{len:?}");
            format!("{name} {}", len.split('(').next().unwrap_or_default())
        }
        _ => name,
    }
}

/// One pass over every program: what callgrind counts (its name is the `--toggle-collect` pattern).
#[inline(never)]
#[unsafe(no_mangle)]
pub extern "Rust" fn replay_measured(oracle: Option<&Oracle>, programs: &[(&Path, Program)]) -> (usize, usize) {
    let (mut ops, mut traps) = (0, 0);
    for (path, program) in programs {
        let run = oracle
            .map_or_else(|| oracle::check(program), |o| o.check(program))
            .unwrap_or_else(|d| panic!("{}: {d}\n{program:?}", path.display()));
        ops += run.trace.len();
        traps += run.traps;
    }
    (ops, traps)
}

fn main() {
    let mut rounds = 1usize;
    let mut per_op = false;
    let mut counting = false;
    let mut paths = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rounds" => rounds = args.next().and_then(|n| n.parse().ok()).expect("--rounds takes a number"),
            "--ops" => per_op = true,
            "--counting" => counting = true,
            _ => paths.push(PathBuf::from(arg)),
        }
    }
    let files = files(&paths);
    let programs: Vec<(&Path, Program)> = files
        .iter()
        .filter_map(|path| {
            let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            oracle::decode(&bytes).map(|program| (path.as_path(), program))
        })
        .collect();
    assert!(!programs.is_empty(), "no input decodes to a program");
    // The oracle is prepared before the first round (the default one on first use): not part of any round.
    let counted = counting.then(|| Oracle::counting().expect("the counting oracle"));
    let empty = Program { ops: Vec::new() };
    counted.as_ref().map_or_else(|| oracle::check(&empty), |o| o.check(&empty)).expect("the empty program");
    let start = Instant::now();
    let (mut ops, mut traps) = (0, 0);
    for _ in 0..rounds {
        (ops, traps) = replay_measured(counted.as_ref(), &programs);
    }
    let elapsed = start.elapsed();
    let runs = (programs.len() * rounds) as f64;
    println!(
        "{} files, {} programs, {ops} operations, {traps} traps per pass; {rounds} passes in {:.3} s: {:.2} us per \
         input, {:.0} inputs/s",
        files.len(),
        programs.len(),
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e6 / runs,
        runs / elapsed.as_secs_f64()
    );
    if per_op {
        let mut table: BTreeMap<String, (usize, usize, Duration)> = BTreeMap::new();
        for _ in 0..rounds {
            for (_, program) in &programs {
                for op in program.ops.iter().take(oracle::MAX_OPS) {
                    let single = Program { ops: vec![op.clone()] };
                    let start = Instant::now();
                    let run = oracle::check(&single).expect("a single operation");
                    let row = table.entry(kind(op)).or_default();
                    row.0 += 1;
                    row.1 += run.traps;
                    row.2 += start.elapsed();
                }
            }
        }
        println!("{:<22} {:>8} {:>8} {:>12} {:>10}", "operation", "count", "traps", "total ms", "us each");
        for (name, (count, traps, time)) in &table {
            println!(
                "{name:<22} {count:>8} {traps:>8} {:>12.1} {:>10.2}",
                time.as_secs_f64() * 1e3,
                time.as_secs_f64() * 1e6 / *count as f64
            );
        }
    }
}
