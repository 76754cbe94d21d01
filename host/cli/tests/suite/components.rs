//! A component of a world of its own, as toolchains emit them: the WASI 0.2 component fixture (`guest/wasi-component`)
//! measured with its exports called with WAVE values, its hostile exports ended within their deadline and budget
//! with one line, and a component importing functions of its own host, refused or defined to trap.

use crate::measuring::{boundary, ends_with_one_line, out_dir};
use crate::support::fixture_file;
use std::path::PathBuf;

fn wasi_component() -> PathBuf {
    fixture_file("components", "wasi-component.wasm", boundary_host::guest::WASI_COMPONENT_WASM)
}

#[test]
fn a_wasi_component_is_measured_with_its_exports_called_with_a_string_and_a_list() {
    let path = wasi_component();
    let out = out_dir("wave");
    let args = [
        "bench",
        "--wasm",
        path.to_str().unwrap(),
        "--abi",
        "component",
        "--profile",
        "cranelift",
        "--invoke",
        r#"greet="world""#,
        "--invoke",
        "sum-bytes=[1, 2, 3]",
        "--out",
        out.as_str(),
        "--",
        "--quick",
        "invoke/",
    ];
    let (output, _) = boundary(&args);
    let said = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{said}{}", String::from_utf8_lossy(&output.stderr));
    assert!(said.contains(r#"invoke: `greet("world")` returned `"hello, world!"`"#), "{said}");
    assert!(said.contains("invoke: `sum-bytes([1, 2, 3])` returned `6`"), "{said}");
    let summary = std::fs::read_dir(out.as_str())
        .unwrap()
        .map(|entry| entry.unwrap().path().join("summary.json"))
        .find(|p| p.exists())
        .expect("a summary");
    let summary = std::fs::read_to_string(summary).unwrap();
    for row in ["invoke/greet/component", "invoke/sum-bytes/component"] {
        assert!(summary.contains(row), "{row}: {summary}");
    }
    // Arguments that are not WAVE values of the parameters: one line naming the export and the types.
    let bad = ["bench", "--wasm", path.to_str().unwrap(), "--abi", "component", "--invoke", "greet=5"];
    ends_with_one_line(&bad, &["export `greet`", "are not WAVE values of its parameter types (string)"]);
}

#[test]
fn the_wasi_components_hostile_exports_end_with_one_line_within_their_deadline_and_budget() {
    let path = wasi_component();
    let out = out_dir("hostile-component");
    for profile in ["cranelift", "winch", "pulley"] {
        let bench = |invoke: &str, extra: &[&str]| -> Vec<String> {
            let wasm = path.to_str().unwrap();
            let mut args =
                vec!["bench", "--wasm", wasm, "--abi", "component", "--invoke", invoke, "--profile", profile];
            args.extend(["--timeout", "1"]);
            args.extend(extra);
            args.extend(["--out", out.as_str(), "--", "--quick", "invoke/"]);
            args.into_iter().map(String::from).collect()
        };
        let ends = |args: Vec<String>, needles: &[&str]| {
            ends_with_one_line(&args.iter().map(String::as_str).collect::<Vec<_>>(), needles)
        };
        ends(bench("spin", &[]), &["the trial call of `--invoke spin`", "did not finish within 1 s"]);
        ends(bench("flood", &[]), &["the trial call of `--invoke flood`", "did not finish within 1 s"]);
        ends(bench("grow=8", &["--max-memory", "64"]), &["export `grow`: the trial call", "past its budget of 64 MiB"]);
    }
}

/// A component importing a clock instance of its own host: `stamp` calls it, `answer` does not.
const WITH_A_CLOCK: &str = r#"(component
  (import "my:host/clock" (instance $clock (export "now" (func (result u64)))))
  (alias export $clock "now" (func $now))
  (core func $now_lowered (canon lower (func $now)))
  (core module $m
    (import "host" "now" (func $now (result i64)))
    (func (export "stamp") (result i64) (call $now))
    (func (export "answer") (result i32) (i32.const 42)))
  (core instance $host (export "now" (func $now_lowered)))
  (core instance $i (instantiate $m (with "host" (instance $host))))
  (func (export "stamp") (result u64) (canon lift (core func $i "stamp")))
  (func (export "answer") (result u32) (canon lift (core func $i "answer"))))"#;

#[test]
fn a_components_foreign_imports_are_refused_or_defined_to_trap_naming_them() {
    let path = fixture_file("components", "clock.wat", WITH_A_CLOCK.as_bytes());
    let wasm = path.to_str().unwrap();
    let out = out_dir("clock-component");
    let bench = |extra: &[&str]| -> Vec<String> {
        let mut args = vec!["bench", "--wasm", wasm, "--abi", "component", "--profile", "cranelift"];
        args.extend(extra);
        args.extend(["--out", out.as_str(), "--", "--quick", "invoke/"]);
        args.into_iter().map(String::from).collect()
    };
    let ends = |args: Vec<String>, needles: &[&str]| {
        ends_with_one_line(&args.iter().map(String::as_str).collect::<Vec<_>>(), needles)
    };
    ends(bench(&["--invoke", "answer"]), &["imports `my:host/clock`", "--foreign-imports trap"]);
    let stamp = bench(&["--invoke", "stamp", "--foreign-imports", "trap"]);
    ends(stamp, &["export `stamp`: the trial call", "the guest called `my:host/clock#now`"]);
    let args = bench(&["--invoke", "answer", "--foreign-imports", "trap"]);
    let (output, _) = boundary(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let said = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{said}{}", String::from_utf8_lossy(&output.stderr));
    assert!(said.contains("invoke: `answer()` returned `42`"), "{said}");
}

/// A request file for the WASI component fixture: `[invoke]` with `invoke`'s lines, and `[expect]`'s.
fn component_request(name: &str, invoke: &str, expect: &str) -> PathBuf {
    wasi_component();
    let text = format!("module = \"wasi-component.wasm\"\n[invoke]\n{invoke}\n[expect]\n{expect}\n");
    fixture_file("components", name, text.as_bytes())
}

#[test]
fn a_components_request_file_is_served_checked_and_measured() {
    let greet = component_request("greet.toml", "export = \"greet\"\nargs = '\"world\"'", "text = '\"hello, world!\"'");
    let greet = greet.to_str().unwrap();
    let (output, _) = boundary(&["--request", greet]);
    let said = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{said}{}", String::from_utf8_lossy(&output.stderr));
    assert!(said.contains(r#"[host] called greet("world"): (name: string) -> string -> "hello, world!""#), "{said}");
    assert!(said.contains("request served: 1 check(s) passed, 0 failed"), "{said}");
    // Results other than expected: exit status 1, the check named.
    let wrong = component_request("wrong.toml", "export = \"sum-bytes\"\nargs = '[1, 2, 3]'", "text = '7'");
    let wrong = wrong.to_str().unwrap();
    let (output, _) = boundary(&["--request", wrong]);
    let said = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{said}{}", String::from_utf8_lossy(&output.stderr));
    assert!(said.contains("check FAILED: the results equals the expected 1 byte(s)"), "{said}");
    // Measured as an `--invoke` export, its results checked before anything is.
    let out = out_dir("component-request");
    let args =
        ["bench", "--request", greet, "--profile", "cranelift", "--out", out.as_str(), "--", "--quick", "invoke/"];
    let (output, _) = boundary(&args);
    let said = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{said}{}", String::from_utf8_lossy(&output.stderr));
    assert!(said.contains("invoke/greet/component/cranelift"), "{said}");
    let args =
        ["bench", "--request", wrong, "--profile", "cranelift", "--out", out.as_str(), "--", "--quick", "invoke/"];
    ends_with_one_line(&args, &["export `sum-bytes`: the call returned `6`, which fails the request's [expect]"]);
    // The serving path and the payload sweep say they measure nothing; the fuzzer refuses it.
    for (command, said) in [("serve", "serving: nothing measured"), ("payload", "payload: nothing measured")] {
        let (output, _) = boundary(&[command, "--request", greet]);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(0), "{command}: {stdout}{}", String::from_utf8_lossy(&output.stderr));
        assert!(stdout.contains(said), "{command}: {stdout}");
    }
    ends_with_one_line(&["fuzz", "--request", greet], &["its WAVE arguments are not mutated"]);
    // What belongs to a core plugin's request, or a core request with --abi component: one line.
    let mixed = component_request("mixed.toml", "export = \"greet\"\n[[input]]\nname = \"a\"\ntext = \"x\"", "len = 1");
    ends_with_one_line(&["--request", mixed.to_str().unwrap()], &["[[input]] do not apply"]);
}

/// A component request's `foreign_imports = "trap"` applies to `boundary --request` as to the measuring commands,
/// and a guest that loops under `epoch` is interrupted at its deadline, named.
#[test]
fn a_components_request_takes_its_import_policy_and_its_deadline() {
    fixture_file("components", "clock.wat", WITH_A_CLOCK.as_bytes());
    let text =
        "module = \"clock.wat\"\nforeign_imports = \"trap\"\n[invoke]\nexport = \"answer\"\n[expect]\ntext = \"42\"\n";
    let request = fixture_file("components", "clock.toml", text.as_bytes());
    let (output, _) = boundary(&["--request", request.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{said}{}", String::from_utf8_lossy(&output.stderr));
    assert!(said.contains("request served: 1 check(s) passed, 0 failed"), "{said}");
    let spin = component_request("spin.toml", "export = \"spin\"", "len = 0");
    let args = ["--request", spin.to_str().unwrap(), "--profile", "epoch", "--timeout", "1"];
    ends_with_one_line(&args, &["export `spin`", "interrupted at its deadline"]);
}
