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

fn files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = std::fs::read_dir(path).map_err(|e| format!("{}: {e}", path.display()))?;
            for entry in entries {
                let entry = entry.map_err(|e| format!("{}: {e}", path.display()))?.path();
                if entry.is_file() {
                    out.push(entry);
                }
            }
        } else {
            out.push(path.clone());
        }
    }
    out.sort();
    Ok(out)
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
pub extern "Rust" fn replay_measured(
    oracle: Option<&Oracle>,
    programs: &[(&Path, Program)],
) -> Result<(usize, usize), String> {
    let (mut ops, mut traps) = (0, 0);
    for (path, program) in programs {
        let run = oracle
            .map_or_else(|| oracle::check(program), |o| o.check(program))
            .map_err(|d| format!("{}: the oracle diverged: {d} ({program:?})", path.display()))?;
        ops += run.trace.len();
        traps += run.traps;
    }
    Ok((ops, traps))
}

fn main() -> std::process::ExitCode {
    match replay() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", e.replace(['\n', '\r'], " "));
            std::process::ExitCode::from(2)
        }
    }
}

fn replay() -> Result<(), String> {
    let mut rounds = 1usize;
    let mut per_op = false;
    let mut counting = false;
    let mut paths = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rounds" => {
                rounds = args.next().and_then(|n| n.parse().ok()).ok_or("--rounds takes a number of passes")?;
            }
            "--ops" => per_op = true,
            "--counting" => counting = true,
            _ => paths.push(PathBuf::from(arg)),
        }
    }
    let files = files(&paths)?;
    let mut programs: Vec<(&Path, Program)> = Vec::new();
    for path in &files {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        programs.extend(oracle::decode(&bytes).map(|program| (path.as_path(), program)));
    }
    if programs.is_empty() {
        return Err("no input decodes to a program (give the seed folder, or files of fuzz inputs)".into());
    }
    // The oracle is prepared before the first round (the default one on first use): not part of any round.
    let counted =
        if counting { Some(Oracle::counting().map_err(|e| format!("the counting oracle: {e}"))?) } else { None };
    let empty = Program { ops: Vec::new() };
    counted
        .as_ref()
        .map_or_else(|| oracle::check(&empty), |o| o.check(&empty))
        .map_err(|d| format!("the empty program diverged: {d}"))?;
    let start = Instant::now();
    let (mut ops, mut traps) = (0, 0);
    for _ in 0..rounds {
        (ops, traps) = replay_measured(counted.as_ref(), &programs)?;
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
                    let run = oracle::check(&single).map_err(|d| format!("{op:?} alone diverged: {d}"))?;
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
    Ok(())
}
