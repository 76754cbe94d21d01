//! Hostile guests, round 4: every command that measures a user's module (`boundary bench`, `serve`, `payload`,
//! `gate`, the very code behind `cargo bench`) keeps the main job's guard rails. A guest that loops (at its start,
//! in its first call or only after thousands of calls), traps mid-measurement or takes more memory than
//! `--max-memory` ends the command with exit status 2 and one `error:` line naming the step, within its deadline and
//! a few seconds, under every profile; nothing panics and no record is written.

use crate::support::{ABI_WAT, bad_input_line, fixture_file};
use boundary_host::EngineProfile;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Each step's deadline in these tests, in seconds.
const TIMEOUT: &str = "1";
/// What a command may take beyond its deadline: loading, compiling and probing the module, and criterion's start.
const SLACK: Duration = Duration::from_secs(20);

/// A module without the guest ABI whose exports misbehave on demand: `spin` never returns, `later` and `trap_later`
/// loop or trap from their 100,001st call on, and `grow` takes 100 pages (6.25 MiB) more on every call.
const MISBEHAVING: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "spin") (loop $l (br $l)))
  (func $count (result i32) (local $n i32)
    (local.set $n (i32.add (i32.load (i32.const 0)) (i32.const 1)))
    (i32.store (i32.const 0) (local.get $n))
    (i32.gt_u (local.get $n) (i32.const 100000)))
  (func (export "later") (if (call $count) (then (loop $l (br $l)))))
  (func (export "trap_later") (if (call $count) (then unreachable)))
  (func (export "grow") (drop (memory.grow (i32.const 100)))))"#;

/// A module whose start function never returns.
const START_LOOPS: &str = r#"(module (memory (export "memory") 1) (func $s (loop $l (br $l))) (start $s)
  (func (export "answer") (result i32) (i32.const 42)))"#;

/// A module whose start function asks for 4 GiB of memory.
const START_BOMB: &str = r#"(module (memory (export "memory") 1) (func $s (drop (memory.grow (i32.const 65535))))
  (start $s) (func (export "answer") (result i32) (i32.const 42)))"#;

/// A module for the serving path whose `just_add` does `body`: every request calls it.
fn serving_module(body: &str) -> String {
    format!(
        r#"(module (memory (export "memory") 2)
  (func (export "just_add") (param i64 i64) (result i64) {body} (i64.add (local.get 0) (local.get 1))))"#
    )
}

/// The ABI fixture with the payload exports, `checksum_bytes` doing `body` first.
fn payload_module(body: &str) -> String {
    let exports = format!(
        r#"  (func (export "checksum_bytes") (param i32 i32) (result i64) {body} (i64.const 0))
  (func (export "fill_bytes") (param i32 i32 i32))
)"#
    );
    let end = ABI_WAT.rfind(')').unwrap();
    format!("{}{exports}", &ABI_WAT[..end])
}

fn module(name: &str, text: &str) -> PathBuf {
    fixture_file("measuring", name, text.as_bytes())
}

/// What `boundary ARGS` did, and how long it took.
pub(crate) fn boundary(args: &[&str]) -> (Output, Duration) {
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_boundary")).args(args).output().unwrap();
    (output, started.elapsed())
}

/// `args` ended with exit status 2 and one `error:` line containing every one of `needles`, in time. Criterion's
/// progress lines (`Benchmarking ...`, on stderr) may come before it; nothing else may.
pub(crate) fn ends_with_one_line(args: &[&str], needles: &[&str]) {
    let (mut out, took) = boundary(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    out.stderr = stderr
        .lines()
        .filter(|line| !line.starts_with("Benchmarking "))
        .map(|line| format!("{line}\n"))
        .collect::<String>()
        .into_bytes();
    for needle in needles {
        if let Err(e) = bad_input_line(&out, needle) {
            panic!("boundary {}: {e}\nstdout: {}", args.join(" "), String::from_utf8_lossy(&out.stdout));
        }
    }
    let limit = Duration::from_secs_f64(TIMEOUT.parse().unwrap()) + SLACK;
    assert!(took < limit, "boundary {}: took {took:?}", args.join(" "));
}

/// Runs `check` for every profile, two at a time.
fn every_profile(check: impl Fn(&str) + Sync) {
    let profiles: Vec<&str> = EngineProfile::ALL.iter().map(|p| p.name()).collect();
    std::thread::scope(|scope| {
        for pair in profiles.chunks(profiles.len().div_ceil(2)) {
            let check = &check;
            scope.spawn(move || pair.iter().for_each(|p| check(p)));
        }
    });
}

/// A test's folder under the system's temporary folder (`boundary-measuring-NAME-PID`), removed with what it holds
/// when the test ends, passed or failed.
pub(crate) struct Scratch(String);

impl Scratch {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(crate) fn out_dir(name: &str) -> Scratch {
    Scratch(
        std::env::temp_dir().join(format!("boundary-measuring-{name}-{}", std::process::id())).display().to_string(),
    )
}

#[test]
fn the_matrix_ends_a_guest_that_loops_traps_or_outgrows_its_budget_under_every_profile() {
    let path = module("misbehaving.wat", MISBEHAVING);
    let wasm = path.to_str().unwrap();
    let out = out_dir("matrix");
    every_profile(|profile| {
        let bench = |invoke: &str, extra: &[&str]| -> Vec<String> {
            let mut args =
                vec!["bench", "--wasm", wasm, "--invoke", invoke, "--profile", profile, "--timeout", TIMEOUT];
            args.extend(extra);
            args.extend(["--out", out.as_str(), "--", "--quick", "invoke/"]);
            args.into_iter().map(String::from).collect()
        };
        let ends = |args: Vec<String>, needles: &[&str]| {
            ends_with_one_line(&args.iter().map(String::as_str).collect::<Vec<_>>(), needles)
        };
        // The first call never returns: the trial call, before anything is measured.
        ends(bench("spin", &[]), &["the trial call of `--invoke spin`", "did not finish within 1 s"]);
        // Calls that stop returning (or trap) after 100,000 good ones: in the middle of a measurement.
        // (Within 1 s, or four times what the batches before it took if that is longer.)
        ends(bench("later", &[]), &["matrix row `invoke/later/", "measured call(s) did not finish within"]);
        ends(bench("trap_later", &[]), &["matrix row `invoke/trap_later/", "unreachable"]);
        // Each call takes 6.25 MiB more: the tenth goes past a budget of 64 MiB.
        ends(bench("grow", &["--max-memory", "64"]), &["matrix row `invoke/grow/", "--max-memory 64"]);
    });
    // A start function that never returns or takes 4 GiB: before any row, whatever the rows asked for.
    for (name, text, extra, needle) in [
        ("start-loops.wat", START_LOOPS, "--timeout", "did not finish within 1 s"),
        ("start-bomb.wat", START_BOMB, "--max-memory", "--max-memory 64"),
    ] {
        // "instantiating ... did not finish", or "cannot instantiate ...: ... past its budget".
        let path = module(name, text);
        let value = if extra == "--timeout" { TIMEOUT } else { "64" };
        let args = [
            "bench",
            "--wasm",
            path.to_str().unwrap(),
            extra,
            value,
            "--out",
            out.as_str(),
            "--",
            "--quick",
            "lifecycle/",
        ];
        ends_with_one_line(&args, &["instantiat", needle]);
    }
    // A run that failed wrote no record.
    let written: Vec<_> =
        std::fs::read_dir(out.as_str()).map_or(Vec::new(), |dir| dir.flatten().map(|e| e.file_name()).collect());
    assert!(!written.iter().any(|name| name.to_string_lossy().starts_with("misbehaving")), "{written:?}");
}

#[test]
fn the_serving_path_ends_a_guest_that_loops_traps_or_outgrows_its_budget() {
    let out = out_dir("serving");
    let cases = [
        ("serve-loop.wat", serving_module("(loop $l (br $l))"), "did not finish within 1 s after its window ended"),
        ("serve-trap.wat", serving_module("unreachable"), "unreachable"),
        ("serve-bomb.wat", serving_module("(drop (memory.grow (i32.const 2000)))"), "--max-memory 64"),
    ];
    for (name, text, needle) in cases {
        let path = module(name, &text);
        let args = [
            "serve",
            "--wasm",
            path.to_str().unwrap(),
            "--timeout",
            TIMEOUT,
            "--max-memory",
            "64",
            "--out",
            out.as_str(),
        ];
        ends_with_one_line(&args, &["serving `on-demand`", needle]);
    }
    let path = module("serve-start.wat", START_LOOPS);
    ends_with_one_line(
        &["serve", "--wasm", path.to_str().unwrap(), "--timeout", TIMEOUT, "--out", out.as_str()],
        &["instantiating", "did not finish within 1 s"],
    );
}

#[test]
fn the_payload_sweep_ends_a_guest_that_loops_traps_or_outgrows_its_budget_under_every_profile() {
    let out = out_dir("payload");
    let looping = module("payload-loop.wat", &payload_module("(loop $l (br $l))"));
    let trapping = module("payload-trap.wat", &payload_module("unreachable"));
    let bomb = module("payload-bomb.wat", &payload_module("(drop (memory.grow (i32.const 2000)))"));
    every_profile(|profile| {
        let payload = |path: &PathBuf| {
            vec![
                "payload".to_string(),
                "--wasm".to_string(),
                path.display().to_string(),
                "--profile".to_string(),
                profile.to_string(),
                "--timeout".to_string(),
                TIMEOUT.to_string(),
                "--max-memory".to_string(),
                "64".to_string(),
                "--quick".to_string(),
                "--out".to_string(),
                out.as_str().to_string(),
                "in/".to_string(),
            ]
        };
        let run = |path: &PathBuf, needles: &[&str]| {
            let args = payload(path);
            ends_with_one_line(&args.iter().map(String::as_str).collect::<Vec<_>>(), needles);
        };
        let row = format!("under `{profile}`");
        run(&looping, &[row.as_str(), "did not finish within 1 s"]);
        run(&trapping, &[row.as_str(), "unreachable"]);
        run(&bomb, &[row.as_str(), "--max-memory 64"]);
    });
}

/// The gate runs each scenario natively under `--timeout` before it goes under callgrind: a guest that loops or
/// traps there is found in seconds, naming the scenario, whether or not valgrind is installed.
#[test]
fn the_gate_ends_a_misbehaving_guest_natively_before_callgrind() {
    let scratch = out_dir("gate");
    let dir = PathBuf::from(scratch.as_str());
    std::fs::create_dir_all(&dir).unwrap();
    let baseline = dir.join("baseline.json");
    let baseline = baseline.to_str().unwrap();
    let gate = |path: &PathBuf, extra: &[&str]| {
        let mut args = vec!["gate", "--wasm", path.to_str().unwrap(), "--baseline", baseline, "--save-baseline"];
        args.extend(["--timeout", TIMEOUT]);
        args.extend(extra.iter().copied());
        args.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let check = |args: Vec<String>, needles: &[&str]| {
        ends_with_one_line(&args.iter().map(String::as_str).collect::<Vec<_>>(), needles);
    };
    let looping = module("gate-loop.wat", &serving_module("(loop $l (br $l))"));
    check(
        gate(&looping, &["--filter", "serving/"]),
        &["gate scenario `serving/request_", "one operation did not finish within 1 s"],
    );
    let trapping = module("gate-trap.wat", &serving_module("unreachable"));
    check(gate(&trapping, &["--filter", "serving/"]), &["gate scenario `serving/request_", "unreachable"]);
    let start = module("gate-start.wat", START_LOOPS);
    check(gate(&start, &[]), &["instantiating", "did not finish within 1 s"]);
    let bomb = module("gate-bomb.wat", START_BOMB);
    check(gate(&bomb, &["--max-memory", "64"]), &["instantiate", "--max-memory 64"]);
    let spin = module("gate-spin.wat", MISBEHAVING);
    check(gate(&spin, &["--invoke", "spin"]), &["the trial call of `--invoke spin`"]);
    assert!(!std::path::Path::new(baseline).exists(), "a gate that failed wrote a baseline");
}
