//! Imports the host does not provide, from the command line: refused by every command, naming the import and the
//! option; with `--foreign-imports trap` (or a request's `foreign_imports`) the module is run, measured and served
//! wherever it does not call them, and a call of one is one `error:` line naming it; a request's constant results
//! are what the guest sees; a guest calling a constant import forever ends at its deadline.

use crate::plugins::{boundary, plugins};
use crate::support::{ABI_WAT, bad_input_line, fixture_file};
use boundary_host::EngineProfile;
use std::path::PathBuf;
use std::process::Output;
use std::time::{Duration, Instant};

fn shown(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// The ABI fixture importing a clock of its own host, which none of its exports calls.
fn abi_with_a_clock() -> PathBuf {
    let text = ABI_WAT.replacen("(memory", "(import \"clock\" \"now_ms\" (func (result i64)))\n  (memory", 1);
    fixture_file("foreign-imports", "abi-clock.wat", text.as_bytes())
}

/// A request to the clock plugin calling `export`, with `imports` before its call.
fn clock_request(name: &str, imports: &str, export: &str) -> PathBuf {
    let module = plugins().join("clock.wat");
    let text = format!(
        "module = {:?}\n{imports}\n[call]\nexport = \"{export}\"\n[output]\nptr = \"result\"\nlen = \"nul\"\n",
        module.display().to_string()
    );
    fixture_file("foreign-imports", &format!("{name}.toml"), text.as_bytes())
}

#[test]
fn every_command_refuses_a_foreign_import_naming_it_and_the_option() {
    let wasm = abi_with_a_clock();
    let wasm = wasm.to_str().unwrap();
    let baseline = std::env::temp_dir().join(format!("boundary-foreign-{}.json", std::process::id()));
    let baseline = baseline.to_str().unwrap();
    for args in [
        vec!["--wasm", wasm],
        vec!["bench", "--wasm", wasm, "--profile", "cranelift", "--", "--test"],
        vec!["serve", "--wasm", wasm, "--timeout", "5"],
        vec!["gate", "--wasm", wasm, "--baseline", baseline, "--save-baseline"],
    ] {
        let out = boundary(&args);
        bad_input_line(&out, "`clock::now_ms`").unwrap_or_else(|e| panic!("{args:?}: {e}"));
        assert!(shown(&out).contains("--foreign-imports trap"), "{args:?}: {}", shown(&out));
    }
}

#[test]
fn with_foreign_imports_trapping_the_module_is_run_and_measured() {
    let wasm = abi_with_a_clock();
    let wasm = wasm.to_str().unwrap();
    let out = boundary(&["--wasm", wasm, "--foreign-imports", "trap", "--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    let out = boundary(&[
        "bench",
        "--wasm",
        wasm,
        "--foreign-imports",
        "trap",
        "--invoke",
        "just_add=1,2",
        "--profile",
        "pulley",
        "--",
        "--test",
        "calls/just_add/typed",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    assert!(shown(&out).contains("calls/just_add/typed/pulley"), "{}", shown(&out));
}

#[test]
fn a_request_s_constant_is_what_the_guest_sees_under_every_profile() {
    let path = plugins().join("clock.toml");
    for profile in EngineProfile::ALL {
        let out = boundary(&["--request", path.to_str().unwrap(), "--profile", profile.name()]);
        assert_eq!(out.status.code(), Some(0), "{profile}: {}", shown(&out));
        assert!(shown(&out).contains("\"1700000000000\""), "{profile}: {}", shown(&out));
    }
    // The matrix times it as any request.
    let out = boundary(&["bench", "--request", path.to_str().unwrap(), "--profile", "winch", "--", "--test"]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    assert!(shown(&out).contains("request/whole/winch"), "{}", shown(&out));
}

#[test]
fn a_call_of_an_import_defined_to_trap_is_one_line_naming_it() {
    let constant = "foreign_imports = \"trap\"\n[[import]]\nmodule = \"clock\"\nname = \"now_ms\"\nresults = [5]";
    let path = clock_request("log-stamp", constant, "log_stamp");
    let out = boundary(&["--request", path.to_str().unwrap()]);
    bad_input_line(&out, "the guest called `clock::log`").unwrap();
    // Without the policy, the logger is refused at load, named.
    let only_clock = "[[import]]\nmodule = \"clock\"\nname = \"now_ms\"\nresults = [5]";
    let path = clock_request("no-policy", only_clock, "stamp");
    let out = boundary(&["--request", path.to_str().unwrap()]);
    bad_input_line(&out, "`clock::log`").unwrap();
    // The C++ host has no such option.
    let wasm = abi_with_a_clock();
    let out = boundary(&["--wasm", wasm.to_str().unwrap(), "--foreign-imports", "trap", "--host", "cpp"]);
    bad_input_line(&out, "--foreign-imports trap runs in the Rust host").unwrap();
}

#[test]
fn a_guest_calling_a_constant_import_forever_ends_at_its_deadline() {
    let text = r#"(module
  (import "clock" "now_ms" (func $now (result i64)))
  (memory (export "memory") 1)
  (func (export "wait_forever") (result i32)
    (loop $l (drop (call $now)) (br $l))
    (i32.const 0)))"#;
    let wasm = fixture_file("foreign-imports", "spin-clock.wat", text.as_bytes());
    let request = format!(
        "module = {:?}\n[[import]]\nmodule = \"clock\"\nname = \"now_ms\"\nresults = [0]\n[call]\nexport = \"wait_forever\"\n",
        wasm.display().to_string()
    );
    let path = fixture_file("foreign-imports", "spin-clock.toml", request.as_bytes());
    for profile in ["cranelift", "winch", "pulley"] {
        let started = Instant::now();
        let out = boundary(&["--request", path.to_str().unwrap(), "--timeout", "1", "--profile", profile]);
        bad_input_line(&out, "did not finish within 1 s").unwrap_or_else(|e| panic!("{profile}: {e}"));
        assert!(started.elapsed() < Duration::from_secs(15), "{profile}: {:?}", started.elapsed());
    }
}

#[test]
fn a_request_s_constant_reaches_the_host_core_s_rows_of_a_module_with_the_abi() {
    let wasm = abi_with_a_clock();
    let request = format!(
        "module = {:?}\n[[import]]\nmodule = \"clock\"\nname = \"now_ms\"\nresults = [3]\n[call]\nexport = \"just_add\"\nargs = [1, 2]\n",
        wasm.display().to_string()
    );
    let path = fixture_file("foreign-imports", "abi-clock.toml", request.as_bytes());
    let out = boundary(&[
        "bench",
        "--request",
        path.to_str().unwrap(),
        "--profile",
        "cranelift",
        "--",
        "--test",
        "just_add/core",
    ]);
    let text = shown(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("calls/just_add/core/cranelift") && !text.contains("does not provide"), "{text}");
}
