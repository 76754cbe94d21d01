//! Modules with exception handling, from the command line: run under every profile but `winch`, which refuses them
//! with one line naming itself and the feature; measured and served with `winch` skipped, named; an exception that
//! nothing catches is one line.

use crate::plugins::boundary;
use crate::support::{bad_input_line, fixture_file, mutated_wat};
use boundary_host::EngineProfile;
use std::path::PathBuf;
use std::process::Output;

fn shown(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// The ABI fixture whose `just_add` throws its sum as an exception and catches it; `throw_away` throws one that
/// nothing catches.
fn adding_by_exception() -> PathBuf {
    let text = mutated_wat(&[
        (
            "(func (export \"just_add\") (param i64 i64) (result i64)\n    (i64.add (local.get 0) (local.get 1)))",
            "(func (export \"just_add\") (param i64 i64) (result i64)
    (block $caught (result i64)
      (try_table (catch $sum $caught) (throw $sum (i64.add (local.get 0) (local.get 1))))
      (unreachable)))
  (func (export \"throw_away\") (result i32) (throw $sum (i64.const 1)))",
        ),
        ("(memory (export \"memory\") 1)", "(tag $sum (param i64))\n  (memory (export \"memory\") 1)"),
    ]);
    fixture_file("exceptions", "adding-by-exception.wat", text.as_bytes())
}

#[test]
fn a_module_with_exceptions_runs_under_every_profile_but_winch_which_names_itself_and_the_feature() {
    let wasm = adding_by_exception();
    for profile in EngineProfile::ALL {
        let out = boundary(&["--wasm", wasm.to_str().unwrap(), "--quiet", "--profile", profile.name()]);
        if profile.runs_exceptions() {
            assert_eq!(out.status.code(), Some(0), "{profile}: {}", shown(&out));
        } else {
            bad_input_line(&out, "engine profile `winch`: Winch does not compile exception handling").unwrap();
        }
    }
    let request = format!("module = {:?}\n[call]\nexport = \"throw_away\"\n", wasm.display().to_string());
    let request = fixture_file("exceptions", "throw-away.toml", request.as_bytes());
    let out = boundary(&["--request", request.to_str().unwrap()]);
    bad_input_line(&out, "`throw_away` threw a wasm exception that nothing caught").unwrap();
}

#[test]
fn a_module_with_exceptions_is_measured_and_served_with_winch_skipped_named() {
    let wasm = adding_by_exception();
    let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("exceptions-out");
    let out = out_dir.to_str().unwrap();
    let bench = boundary(&["bench", "--wasm", wasm.to_str().unwrap(), "--out", out, "--", "--test", "calls/just_add"]);
    let text = shown(&bench);
    assert_eq!(bench.status.code(), Some(0), "{text}");
    assert!(text.contains("skipped: engine profile `winch`") && text.contains("exception handling"), "{text}");
    assert!(text.contains("calls/just_add/core/cranelift") && text.contains("calls/just_add/core/pulley"), "{text}");
    assert!(!text.contains("just_add/core/winch"), "{text}");
    let only_winch = boundary(&["bench", "--wasm", wasm.to_str().unwrap(), "--profile", "winch", "--out", out]);
    let stderr = String::from_utf8_lossy(&only_winch.stderr).into_owned();
    assert_eq!(only_winch.status.code(), Some(2), "{}", shown(&only_winch));
    assert!(stderr.contains("error: no engine profile asked for can compile the module"), "{stderr}");
    let serve =
        boundary(&["serve", "--wasm", wasm.to_str().unwrap(), "--quick", "--filter", "keep-1m-pagemap", "--out", out]);
    assert_eq!(serve.status.code(), Some(0), "{}", shown(&serve));
}
