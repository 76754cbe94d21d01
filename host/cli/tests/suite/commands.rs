//! WASI commands through request files (`[command]`), from the command line: run, timed by the matrix and served
//! like any request, on a fresh instance each time (the gate's choice of scenarios for a command is a unit test of
//! `boundary-benches`; counting under valgrind is too slow for every run); the hostile ones (stdout flooded,
//! a loop without end, memory without end, an exit status the request does not expect) each end with its exit
//! status and one line, within their deadline and budget.

use crate::plugins::boundary;
use crate::support::{bad_input_line, fixture_file};
use boundary_host::EngineProfile;
use boundary_host::guest::COMMAND_WASM;
use std::path::PathBuf;
use std::process::Output;
use std::time::{Duration, Instant};

fn shown(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// A request running the Rust command fixture with `table` as its `[command]` table's lines and `expect` after.
fn command_request(name: &str, table: &str, expect: &str) -> PathBuf {
    let wasm = fixture_file("commands", "command_guest.wasm", COMMAND_WASM);
    let text = format!("module = {:?}\n[command]\n{table}\n{expect}", wasm.display().to_string());
    fixture_file("commands", &format!("{name}.toml"), text.as_bytes())
}

fn upper() -> PathBuf {
    command_request(
        "upper",
        "args = [\"upper\"]\nstdin = { text = \"hello, boundary\\n\" }",
        "[expect]\ntext = \"HELLO, BOUNDARY\\n\"\n",
    )
}

#[test]
fn a_command_runs_under_every_profile_and_the_log_shows_its_argv_stdin_and_stdout() {
    let path = upper();
    for profile in EngineProfile::ALL {
        let out = boundary(&["--request", path.to_str().unwrap(), "--profile", profile.name()]);
        assert_eq!(out.status.code(), Some(0), "{profile}: {}", shown(&out));
    }
    let out = boundary(&["--request", path.to_str().unwrap()]);
    for needle in [
        "stdin: 16 byte(s): \"hello, boundary\\u{a}\"",
        "ran `_start` with argv [\"command_guest.wasm\", \"upper\"]: exit status 0",
        "stdout: 16 byte(s): \"HELLO, BOUNDARY\\u{a}\"",
        "phases: `_start` ",
        "request served: 1 check(s) passed, 0 failed",
    ] {
        assert!(shown(&out).contains(needle), "missing {needle:?} in {}", shown(&out));
    }
    let wrong = command_request("wrong", "args = [\"upper\"]\nstdin = { text = \"a\" }", "[expect]\ntext = \"a\"\n");
    let out = boundary(&["--request", wrong.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", shown(&out));
    assert!(shown(&out).contains("check FAILED"), "{}", shown(&out));
    let status = command_request("status", "args = [\"exit\", \"5\"]", "");
    let out = boundary(&["--request", status.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", shown(&out));
    assert!(shown(&out).contains("the command exited with status 5; the request expects 0"), "{}", shown(&out));
}

#[test]
fn hostile_commands_end_with_one_line_within_their_deadline_and_budget() {
    let flood = command_request("flood", "args = [\"flood\"]\nmax_stdout = 65536", "");
    let out = boundary(&["--request", flood.to_str().unwrap(), "--profile", "winch"]);
    bad_input_line(&out, "wrote more than 65536 bytes to stdout, past the request's `max_stdout`").unwrap();
    let spin = command_request("spin", "args = [\"spin\"]", "");
    for (profile, needle) in [("cranelift", "within 1 s"), ("epoch", "deadline passed"), ("pulley", "within 1 s")] {
        let started = Instant::now();
        let out = boundary(&["--request", spin.to_str().unwrap(), "--timeout", "1", "--profile", profile]);
        bad_input_line(&out, needle).unwrap_or_else(|e| panic!("{profile}: {e}"));
        assert!(started.elapsed() < Duration::from_secs(15), "{profile}: {:?}", started.elapsed());
    }
    let grow = command_request("grow", "args = [\"grow\"]", "");
    let out = boundary(&["--request", grow.to_str().unwrap(), "--max-memory", "64"]);
    bad_input_line(&out, "past its budget of 64 MiB (--max-memory 64)").unwrap();
}

#[test]
fn a_command_is_timed_and_served_on_a_fresh_instance_each_time_and_not_swept_or_fuzzed() {
    let path = upper();
    let path = path.to_str().unwrap();
    let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("commands-out");
    let out = out_dir.to_str().unwrap();
    let bench =
        boundary(&["bench", "--request", path, "--profile", "pulley", "--out", out, "--", "--test", "request/"]);
    let text = shown(&bench);
    assert_eq!(bench.status.code(), Some(0), "{text}");
    assert!(text.contains("request/command/pulley"), "{text}");
    assert!(text.contains("request/whole") && text.contains("runs once per instance"), "the skip is named: {text}");
    let serve = boundary(&["serve", "--request", path, "--quick", "--filter", "keep-1m-pagemap", "--out", out]);
    let text = shown(&serve);
    assert_eq!(serve.status.code(), Some(0), "{text}");
    assert!(text.contains(" request   1 thread(s):"), "{text}");
    let payload = boundary(&["payload", "--request", path, "--quick", "--out", out]);
    assert_eq!(payload.status.code(), Some(0), "{}", shown(&payload));
    assert!(shown(&payload).contains("takes no input to vary"), "{}", shown(&payload));
    let fuzz = boundary(&["fuzz", "--request", path, "--runs", "10"]);
    bad_input_line(&fuzz, "its stdin is not mutated").unwrap();
}
