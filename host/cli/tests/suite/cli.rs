//! The `boundary` binary as a user runs it.

use crate::support::{ABI_WAT, bad_input_line, fixture_file, mutated_wat, world_component_wat};
use std::path::PathBuf;
use std::process::{Command, Output};

fn boundary(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_boundary")).args(args).output().unwrap()
}

fn fixture(name: &str, contents: &[u8]) -> PathBuf {
    fixture_file("cli-fixtures", name, contents)
}

/// Exit status 2, exactly one line on stderr starting with `error:` and mentioning `needle`, no panic.
fn assert_bad_input(out: &Output, needle: &str) {
    if let Err(e) = bad_input_line(out, needle) {
        panic!("{e}");
    }
}

/// The summary line of a run of the built-in guest (every optional export checked), of a module without the
/// optional exports (the ABI fixture, the article's guest), and of the C++ host (which binds none of them).
const ALL_CHECKED: &str = "5 passed, 0 failed; 5 more exports checked";
/// The same for the component, which has every export of its world.
const COMPONENT_CHECKED: &str = "5 passed, 0 failed; 6 more exports checked";
const NONE_EXPORTED: &str = "5 passed, 0 failed; 0 more exports checked (`nop`, `point_add_batch`, `call_host_n`, `checksum_bytes`, `fill_bytes` not exported)";
#[cfg(feature = "cpp")]
const CPP_UNBOUND: &str = "5 passed, 0 failed; 0 more exports checked (`nop`, `point_add_batch`, `call_host_n`, `checksum_bytes`, `fill_bytes` not bound by the C++ host)";

#[test]
fn the_default_run_passes_five_patterns_and_tells_host_from_guest() {
    let out = boundary(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert_eq!(stdout.lines().last(), Some(ALL_CHECKED));
    assert!(stdout.lines().any(|l| l.starts_with("[guest] ")));
    assert!(stdout.lines().any(|l| l.starts_with("[host] ")));
    assert!(stdout.lines().all(|l| l.starts_with("[guest] ") || l.starts_with("[host] ") || l == ALL_CHECKED));
    for export in ["nop", "point_add_batch", "call_host_n", "checksum_bytes", "fill_bytes"] {
        assert!(stdout.contains(&format!("[host] export `{export}` checked")), "{stdout}");
    }
}

#[cfg(feature = "cpp")]
#[test]
fn the_cpp_host_passes_the_five_patterns() {
    let out = boundary(&["--host", "cpp"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout.lines().last(), Some(CPP_UNBOUND));
    assert!(stdout.contains("in the C++ host"), "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("[guest] ")), "{stdout}");
    let path = fixture("abi-cpp.wat", ABI_WAT.as_bytes());
    let out = boundary(&["--host", "cpp", "--quiet", "--wasm", path.to_str().unwrap()]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{CPP_UNBOUND}\n"));
}

#[test]
fn quiet_prints_only_the_summary() {
    let out = boundary(&["--quiet", "--profile", "winch"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{ALL_CHECKED}\n"));
}

#[test]
fn another_module_with_the_abi_can_be_driven() {
    let path = fixture("abi.wat", ABI_WAT.as_bytes());
    let out = boundary(&["--quiet", "--wasm", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_failing_pattern_exits_1_with_the_count() {
    let lying = ABI_WAT.replacen("(i64.add (local.get 0) (local.get 1))", "(i64.const 41)", 1);
    let path = fixture("lying.wat", lying.as_bytes());
    let out = boundary(&["--quiet", "--wasm", path.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("pattern 1 FAILED")
            && stdout.ends_with(
                "4 passed, 1 failed; 0 more exports checked (`nop`, `point_add_batch`, `call_host_n`, `checksum_bytes`, `fill_bytes` not exported)\n"
            ),
        "{stdout}"
    );
}

#[test]
fn bad_input_gets_one_line_and_exit_2() {
    let text = fixture("notes.txt", b"just some text\n");
    let empty = fixture("empty.wasm", b"");
    let truncated = fixture("truncated.wasm", &boundary_host::guest::QUIET_WASM[..40]);
    let missing = fixture("missing.wat", ABI_WAT.replacen("(export \"point_add\")", "", 1).as_bytes());
    let wrong_sig = mutated_wat(&[(
        "(func (export \"read_plugin_shared_value\") (result i32)\n    (i32.load (i32.const 1024)))",
        "(func (export \"read_plugin_shared_value\") (result i64) (i64.const 777))",
    )]);
    let wrong = fixture("wrong.wat", wrong_sig.as_bytes());
    let import = fixture(
        "import.wat",
        ABI_WAT.replacen("(memory", "(import \"env\" \"host_rand\" (func))\n  (memory", 1).as_bytes(),
    );
    let p = |p: &PathBuf| p.to_str().unwrap().to_string();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["--wasm".into(), p(&text)], "not a wasm module"),
        (vec!["--wasm".into(), "/no/such/file.wasm".into()], "/no/such/file.wasm"),
        (vec!["--wasm".into(), p(&empty)], "empty"),
        (vec!["--wasm".into(), p(&truncated)], "does not compile"),
        (vec!["--wasm".into(), p(&missing)], "`point_add`"),
        (vec!["--wasm".into(), p(&wrong)], "`read_plugin_shared_value` as a function () -> i64"),
        (vec!["--wasm".into(), p(&import)], "env::host_rand"),
        (vec!["--profile".into(), "turbo".into()], "turbo"),
        (vec!["--frobnicate".into()], "--frobnicate"),
        (vec!["--wasm".into()], "'--wasm <PATH>'"),
        (vec!["--fuel".into(), "5".into()], "--fuel needs --profile fuel"),
        (vec!["--profile".into(), "fuel".into(), "--fuel".into(), "lots".into()], "whole number"),
        (vec!["--timeout".into(), "-1".into()], "positive number"),
        (vec!["--timeout".into(), "0".into()], "positive number"),
        (vec!["--timeout".into(), "soon".into()], "positive number"),
        (vec!["--max-memory".into(), "0".into()], "--max-memory takes"),
        (vec!["--max-memory".into(), "5000".into()], "--max-memory takes"),
        (vec!["--host".into(), "java".into()], "'java'"),
    ];
    #[cfg(feature = "cpp")]
    let cases = {
        let mut cases = cases;
        cases.extend([
            (vec!["--host".into(), "cpp".into(), "--profile".into(), "winch".into()], "`winch`"),
            (vec!["--host".into(), "cpp".into(), "--max-memory".into(), "0".into()], "--max-memory takes"),
            (vec!["--host".into(), "cpp".into(), "--wasm".into(), p(&text)], "not a wasm module"),
            (vec!["--host".into(), "cpp".into(), "--wasm".into(), p(&empty)], "empty"),
            (vec!["--host".into(), "cpp".into(), "--wasm".into(), p(&missing)], "`point_add`"),
            (vec!["--host".into(), "cpp".into(), "--wasm".into(), "/no/such/file.wasm".into()], "/no/such/file.wasm"),
        ]);
        cases
    };
    for (args, needle) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_bad_input(&boundary(&args), needle);
    }
}

/// Without the `cpp` feature, asking for the C++ host says how to get it, in one line.
#[cfg(not(feature = "cpp"))]
#[test]
fn the_cpp_host_in_a_build_without_it_says_what_to_add() {
    for args in [&["--host", "cpp"][..], &["--host=cpp", "--quiet"]] {
        assert_bad_input(&boundary(args), "--features cpp");
    }
}

/// The guest built from the article's fragments (`guest/article`): no `read_plugin_shared_value`, so pattern 5 goes
/// by what it prints, which follows its static.
#[test]
fn the_article_guest_passes_all_five() {
    let path = fixture("article.wasm", boundary_host::guest::ARTICLE_WASM);
    let out = boundary(&["--wasm", path.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("[WASM Core] Current plugin's internal shared value: 777"), "{stdout}");
    assert!(stdout.contains("the guest printed 777, and 424242 after the host wrote that instead"), "{stdout}");
    assert!(stdout.ends_with(&format!("{NONE_EXPORTED}\n")), "{stdout}");
    let quiet = boundary(&["--quiet", "--wasm", path.to_str().unwrap()]);
    assert_eq!(String::from_utf8_lossy(&quiet.stdout), format!("{NONE_EXPORTED}\n"));
    #[cfg(feature = "cpp")]
    for args in [&["--host", "cpp"][..], &["--host", "cpp", "--quiet"]] {
        let out = boundary(&[args, &["--wasm", path.to_str().unwrap()]].concat());
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.ends_with(&format!("{CPP_UNBOUND}\n")), "{args:?}: {stdout}");
    }
}

/// A guest without `read_plugin_shared_value` that prints nothing: pattern 5 is unverified, said in the summary
/// line, and exit status 3.
#[test]
fn an_unverifiable_pattern_is_reported_as_such_with_exit_3() {
    let silent = ABI_WAT.replacen("(export \"read_plugin_shared_value\")", "", 1);
    let path = fixture("silent.wat", silent.as_bytes());
    let out = boundary(&["--quiet", "--wasm", path.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("pattern 5 UNVERIFIED"), "{stdout}");
    assert!(stdout.ends_with("4 passed, 0 failed, 1 unverified; 0 more exports checked (`nop`, `point_add_batch`, `call_host_n`, `checksum_bytes`, `fill_bytes` not exported)\n"), "{stdout}");
}

/// Each thing is said once: no "trap: wasm trap:", no backtrace.
#[test]
fn a_trap_is_one_line_that_says_it_once() {
    let recursing = mutated_wat(&[(
        "(func (export \"just_add\") (param i64 i64) (result i64)\n    (i64.add (local.get 0) (local.get 1)))",
        "(func $f (export \"just_add\") (param i64 i64) (result i64)\n    (call $f (local.get 0) (local.get 1)))",
    )]);
    let path = fixture("recursing.wat", recursing.as_bytes());
    let out = boundary(&["--quiet", "--wasm", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: pattern 1 (host calls a guest function): `just_add` trapped: call stack exhausted\n"
    );
}

#[test]
fn the_component_run_passes_the_five_patterns_in_their_component_form() {
    let out = boundary(&["--abi", "component"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout.lines().last(), Some(COMPONENT_CHECKED));
    assert!(stdout.contains("[guest] point-add: returned { x: 130, y: 270 }"), "{stdout}");
    assert!(stdout.contains("pattern 3 passed: structs passed by value (a WIT record)"), "{stdout}");
    let quiet = boundary(&["--abi=component", "--quiet", "--profile", "winch"]);
    assert_eq!(String::from_utf8_lossy(&quiet.stdout), format!("{COMPONENT_CHECKED}\n"));
}

#[test]
fn bad_components_get_one_line_and_exit_2() {
    let core = fixture("core.wasm", boundary_host::guest::QUIET_WASM);
    let component = fixture("component.wasm", boundary_host::guest::COMPONENT_QUIET_WASM);
    let missing = fixture("missing-component.wat", world_component_wat("unreachable", &["point-add"]).as_bytes());
    let trapping = fixture("trapping-component.wat", world_component_wat("unreachable", &[]).as_bytes());
    let p = |p: &PathBuf| p.to_str().unwrap().to_string();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["--abi".into(), "component".into(), "--wasm".into(), p(&core)], "not a component"),
        (vec!["--wasm".into(), p(&component)], "is a component, not a core wasm module"),
        (vec!["--abi".into(), "component".into(), "--wasm".into(), p(&missing)], "point-add"),
        (
            vec!["--abi".into(), "component".into(), "--wasm".into(), p(&trapping)],
            "pattern 1 (host calls a guest function): `just-add` trapped: wasm `unreachable` instruction executed",
        ),
        (vec!["--abi".into(), "wit".into()], "'wit'"),
        (vec!["--abi".into(), "component".into(), "--host".into(), "cpp".into()], "--abi component needs --host rust"),
    ];
    for (args, needle) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_bad_input(&boundary(&args), needle);
    }
}

#[test]
fn help_and_profile_list_exit_0() {
    let help = boundary(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("--profile <NAME>"), "{help}");
    for command in ["run", "bench", "payload", "serve", "gate", "profiles"] {
        assert!(help.lines().any(|l| l.trim_start().starts_with(command)), "`{command}` not in\n{help}");
    }
    for list in [boundary(&["--list-profiles"]), boundary(&["profiles"])] {
        assert_eq!(String::from_utf8_lossy(&list.stdout).lines().count(), boundary_host::EngineProfile::ALL.len());
    }
    // `boundary run` is what `boundary` does.
    let (run, default) = (boundary(&["run", "--quiet"]), boundary(&["--quiet"]));
    assert_eq!(run.stdout, default.stdout);
    assert_eq!(run.status.code(), Some(0));
}

/// `--json FILE` writes every check with its result, the error line if the run ended on one, the summary and the
/// exit status, whichever way the run ends.
#[test]
fn json_writes_the_runs_checks_for_ci() {
    let read = |path: &PathBuf| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let passing = fixture("passing.json", b"");
    let out = boundary(&["--quiet", "--json", passing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let json = read(&passing);
    assert_eq!(json["exit_status"], 0);
    assert_eq!(json["summary"], ALL_CHECKED);
    assert!(json["error"].is_null());
    let checks = json["checks"].as_array().unwrap();
    let patterns: Vec<&serde_json::Value> = checks.iter().filter(|c| c["kind"] == "pattern").collect();
    assert_eq!(patterns.len(), 5, "{json}");
    assert!(patterns.iter().all(|c| c["result"] == "passed"), "{json}");
    assert_eq!(checks.iter().filter(|c| c["kind"] == "export" && c["result"] == "passed").count(), 5, "{json}");
    // A module without the optional exports: each named as not checked, with why.
    let abi = fixture("json-abi.wat", ABI_WAT.as_bytes());
    let none = fixture("none.json", b"");
    boundary(&["--quiet", "--wasm", abi.to_str().unwrap(), "--json", none.to_str().unwrap()]);
    let json = read(&none);
    let nop = json["checks"].as_array().unwrap().iter().find(|c| c["name"] == "nop").unwrap().clone();
    assert_eq!((nop["result"].as_str(), nop["detail"].as_str()), (Some("not checked"), Some("not exported")));
    // A run that ends on an error line, and options that do not go together: the line and exit status 2.
    let missing = fixture("missing.json", b"");
    let out = boundary(&["--quiet", "--wasm", "/no/such/module.wasm", "--json", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let json = read(&missing);
    assert_eq!(json["exit_status"], 2);
    assert!(json["error"].as_str().unwrap().contains("/no/such/module.wasm"), "{json}");
    let bad = fixture("bad.json", b"");
    boundary(&["--fuel", "5", "--json", bad.to_str().unwrap()]);
    assert!(read(&bad)["error"].as_str().unwrap().contains("--fuel needs --profile fuel"));
    // A request: each expectation on its output.
    let render = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/support/fixtures/plugins/render.toml");
    let request = fixture("request.json", b"");
    let out = boundary(&["--quiet", "--request", render.to_str().unwrap(), "--json", request.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let json = read(&request);
    let checks = json["checks"].as_array().unwrap();
    assert!(!checks.is_empty() && checks.iter().all(|c| c["kind"] == "request" && c["result"] == "passed"), "{json}");
    assert!(json["request"].as_str().unwrap().ends_with("render.toml"), "{json}");
    // A file that cannot be written is one error line too.
    let out = boundary(&["--quiet", "--json", "/no/such/folder/r.json"]);
    assert_bad_input(&out, "--json /no/such/folder/r.json");
}
