//! No guest makes the `boundary` command hang: a guest that loops in an export or in its start function, or that
//! blocks in a host call, ends within `--timeout` (plus a little) under every profile, with exit status 2 and one
//! line naming the step that ran out of time.

use crate::support::{bad_input_line, fixture_file, mutated_wat, world_component_wat};
use boundary_host::EngineProfile;
use std::process::Command;
use std::time::{Duration, Instant};

const TIMEOUT: &str = "1";
/// Generous: a step stops at the deadline (the `epoch` profile's watchdog one second after); this only guards
/// against "never" on a loaded machine.
const BOUND: Duration = Duration::from_secs(15);

const JUST_ADD: &str =
    "(func (export \"just_add\") (param i64 i64) (result i64)\n    (i64.add (local.get 0) (local.get 1)))";
const MEMORY: &str = "(memory (export \"memory\") 1)";

fn looping_export() -> String {
    mutated_wat(&[(
        JUST_ADD,
        "(func (export \"just_add\") (param i64 i64) (result i64)\n    (loop $l (br $l)) unreachable)",
    )])
}

fn looping_start() -> String {
    mutated_wat(&[(MEMORY, &format!("{MEMORY}\n  (func $spin (loop $l (br $l)))\n  (start $spin)"))])
}

/// `just_add` asks WASI to sleep for an hour (`poll_oneoff` on a monotonic clock): stuck in a host call, where
/// no epoch check can reach it.
fn sleeping_in_a_host_call() -> String {
    let sleep = "(func (export \"just_add\") (param i64 i64) (result i64)
    (i32.store (i32.const 2064) (i32.const 1))
    (i64.store (i32.const 2072) (i64.const 3600000000000))
    (drop (call $poll (i32.const 2048) (i32.const 4096) (i32.const 1) (i32.const 8192)))
    (i64.const 42))";
    let import =
        "(import \"wasi_snapshot_preview1\" \"poll_oneoff\" (func $poll (param i32 i32 i32 i32) (result i32)))";
    mutated_wat(&[(JUST_ADD, sleep), (MEMORY, &format!("{import}\n  {MEMORY}"))])
}

/// Runs `boundary --quiet --wasm <text> --profile <profile> --timeout 1 <extra>`; checks one `error:` line
/// containing `needle`, exit 2, and an end within `BOUND`; returns the line.
fn ends_in_time(name: &str, text: &str, profile: &str, extra: &[&str], needle: &str) -> String {
    let path = fixture_file("deadlines", &format!("{name}-{profile}.wat"), text.as_bytes());
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_boundary"))
        .args(["--quiet", "--wasm", path.to_str().unwrap(), "--profile", profile, "--timeout", TIMEOUT])
        .args(extra)
        .output()
        .unwrap();
    let took = started.elapsed();
    if let Err(e) = bad_input_line(&out, needle) {
        panic!("{name} under {profile} {extra:?}: {e}");
    }
    assert!(took < BOUND, "{name} under {profile} took {took:?}");
    String::from_utf8_lossy(&out.stderr).trim_end().to_string()
}

/// Fuel enough for a fraction of a second of looping, so that running out comes well before the deadline.
const LITTLE_FUEL: &[&str] = &["--fuel", "10000000"];

#[test]
fn a_guest_looping_in_an_export_ends_within_the_deadline_under_every_profile() {
    let text = looping_export();
    for profile in EngineProfile::names() {
        match profile {
            "epoch" => ends_in_time("loop", &text, profile, &[], "`just_add` was interrupted: its deadline passed"),
            "fuel" => ends_in_time("loop", &text, profile, LITTLE_FUEL, "`just_add` ran out of fuel"),
            _ => {
                let needle = "pattern 1 (host calls a guest function) did not finish within 1 s";
                let line = ends_in_time("loop", &text, profile, &[], needle);
                assert!(line.contains(&format!("profile `{profile}` cannot interrupt it")), "{line}");
                line
            }
        };
    }
}

#[test]
fn a_guest_looping_in_its_start_function_ends_within_the_deadline_under_every_profile() {
    let text = looping_start();
    for profile in EngineProfile::names() {
        match profile {
            "epoch" => ends_in_time("start", &text, profile, &[], "the start function of "),
            "fuel" => ends_in_time("start", &text, profile, LITTLE_FUEL, "ran out of fuel"),
            _ => ends_in_time("start", &text, profile, &[], "instantiating "),
        };
    }
}

#[test]
fn a_guest_blocked_in_a_host_call_ends_even_under_epoch() {
    let text = sleeping_in_a_host_call();
    let line = ends_in_time("sleep", &text, "epoch", &[], "did not finish within 1 s");
    assert!(line.contains("did not stop when interrupted"), "{line}");
    ends_in_time("sleep", &text, "cranelift", &[], "did not finish within 1 s");
}

#[test]
fn compiling_has_a_deadline_too() {
    // A millisecond is too little to compile even the built-in guest; the line says what to do.
    let out = Command::new(env!("CARGO_BIN_EXE_boundary")).args(["--quiet", "--timeout", "0.001"]).output().unwrap();
    if let Err(e) = bad_input_line(&out, "compiling the verbose guest did not finish within 0.001 s") {
        panic!("{e}");
    }
    assert!(String::from_utf8_lossy(&out.stderr).contains("--timeout"));
}

#[test]
fn a_component_looping_in_an_export_or_at_its_start_ends_within_the_deadline_under_every_profile() {
    let looping = world_component_wat("(loop $l (br $l)) unreachable", &[]);
    let memory = "(memory (export \"mem\") 1)";
    assert!(looping.contains(memory));
    let starting = looping.replacen(memory, &format!("{memory} (func $spin (loop $l (br $l))) (start $spin)"), 1);
    let component = ["--abi", "component"];
    for profile in EngineProfile::names() {
        match profile {
            "epoch" => {
                ends_in_time("component-loop", &looping, profile, &component, "`just-add` was interrupted");
                ends_in_time("component-start", &starting, profile, &component, "the start function of ");
            }
            "fuel" => {
                let extra = [&component[..], LITTLE_FUEL].concat();
                ends_in_time("component-loop", &looping, profile, &extra, "`just-add` ran out of fuel");
                ends_in_time("component-start", &starting, profile, &extra, "ran out of fuel");
            }
            _ => {
                let needle = "pattern 1 (host calls a guest function) did not finish within 1 s";
                ends_in_time("component-loop", &looping, profile, &component, needle);
                ends_in_time("component-start", &starting, profile, &component, "instantiating ");
            }
        };
    }
}

/// The C++ host cannot interrupt a guest: the watchdog ends the run, and says so.
#[cfg(feature = "cpp")]
#[test]
fn the_cpp_host_ends_within_the_deadline_too() {
    let needle = "the C++ host cannot interrupt a running guest";
    for (name, text) in [("loop", looping_export()), ("start", looping_start())] {
        ends_in_time(name, &text, "cranelift", &["--host", "cpp"], needle);
    }
}
