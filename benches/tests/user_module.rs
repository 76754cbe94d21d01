//! A module the project did not build, measured and gated without editing Rust: the gate's runner (the very code
//! behind `cargo bench --bench gate -- --wasm PATH --baseline FILE`) on a WAT file written here, with the article's
//! ABI and one export more. Counting needs valgrind, so those tests are ignored in a plain `cargo test` and run by
//! `.ci/run` (`cargo test --release -p boundary-benches --test user_module -- --include-ignored`); the bad-input
//! tests need nothing and always run.

use boundary_benches::gate::Baseline;
use boundary_benches::gate::runner::{self as counting, Launcher, Options};
use boundary_benches::options::{self, InvokeOptions, ModuleOptions, ProfileOptions};
use boundary_benches::probe;
use boundary_benches::subject::Subject;
use std::path::{Path, PathBuf};

/// The article's five exports, `memory`, and one export more (`scale`), by hand. `just_add` does `extra` more work
/// in a changed copy.
fn module(extra: &str) -> String {
    format!(
        r#"(module
  (import "env" "host_log_value" (func $log (param i32)))
  (import "env" "host_get_shared_value" (func $get (result i32)))
  (import "env" "host_set_shared_value" (func $set (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 1024) "\64\00\00\00")
  (func (export "just_add") (param i64 i64) (result i64)
    {extra}
    (i64.add (local.get 0) (local.get 1)))
  (func (export "simple_add") (param i64 i64) (result i64) (i64.add (local.get 0) (local.get 1)))
  (func (export "trigger_host_calls") (param $v i32)
    (call $log (i32.mul (local.get $v) (i32.const 2)))
    (call $set (i32.add (i32.add (call $get) (local.get $v)) (i32.const 5))))
  (func (export "point_add") (param $out i32) (param $a i32) (param $b i32)
    (i32.store (local.get $out) (i32.add (i32.load (local.get $a)) (i32.load (local.get $b))))
    (i32.store offset=4 (local.get $out) (i32.add (i32.load offset=4 (local.get $a)) (i32.load offset=4 (local.get $b)))))
  (func (export "get_plugin_shared_value_ptr") (result i32) (i32.const 1024))
  (func (export "scale") (param $x i64) (param $k i32) (result i64)
    (i64.mul (local.get $x) (i64.extend_i32_s (local.get $k)))))"#
    )
}

/// `just_add` with a loop of 200 more additions first.
const MORE_WORK: &str = "(local $i i32) (loop $more
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $more (i32.lt_u (local.get $i) (i32.const 200))))";

/// The module options as the matrix takes them.
#[derive(Debug, clap::Parser)]
struct ModuleArgs {
    #[command(flatten)]
    module: ModuleOptions,
    #[command(flatten)]
    invoke: InvokeOptions,
    #[command(flatten)]
    profiles: ProfileOptions,
}

/// The subject `args` name, or the one line that says why not.
fn subject_of(args: &[String]) -> Result<Subject, String> {
    let parsed: ModuleArgs = options::parse(std::iter::once("matrix".to_string()).chain(args.iter().cloned()))
        .map_err(|e| format!("{e:?}"))?;
    Subject::from_options(&parsed.module, &parsed.invoke.invokes)
}

fn scratch(name: &str, contents: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("user-module");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

/// This test binary as the gate's child: it runs the scenario the runner names when started as below.
#[test]
#[ignore = "a child of the tests below, run under callgrind"]
fn gate_child() {
    if let Err(e) = counting::child_from_env() {
        panic!("{e}");
    }
}

fn launcher() -> Launcher {
    let args = ["--exact", "gate_child", "--ignored", "--test-threads=1", "--quiet"];
    Launcher { program: std::env::current_exe().unwrap(), args: args.map(String::from).to_vec() }
}

/// The gate's options for `module`, its baseline `baseline`, counting only scenarios whose ids contain `filter`.
fn options(module: &Path, baseline: &Path, filter: &str, extra: &[&str], save: bool) -> Options {
    let mut args: Vec<String> = ["--wasm", module.to_str().unwrap(), "--baseline", baseline.to_str().unwrap()]
        .iter()
        .chain(["--filter", filter].iter())
        .chain(extra)
        .map(|s| s.to_string())
        .collect();
    if save {
        args.push("--save-baseline".into());
    }
    counting::parse(&args).unwrap()
}

fn read(baseline: &Path) -> Baseline {
    serde_json::from_str(&std::fs::read_to_string(baseline).unwrap()).unwrap()
}

#[test]
#[ignore = "needs valgrind: `.ci/run` runs it"]
fn a_user_module_is_gated_against_its_own_baseline_and_its_counts_repeat_exactly() {
    let it = scratch("it.wat", &module(""));
    // Fresh baselines: a file that exists must be a baseline (a saved count with --filter merges into it).
    let fresh = |name: &str| {
        let path = scratch(name, "");
        std::fs::remove_file(&path).unwrap();
        path
    };
    let (first, second) = (fresh("first.json"), fresh("second.json"));
    // The host core's typed call of `just_add`, and the extra export called typed.
    for filter in ["calls/core", "invoke/scale/typed"] {
        let extra = ["--invoke", "scale=21,2"];
        let saved = counting::run(&options(&it, &first, filter, &extra, true), &launcher()).unwrap();
        assert!(saved.passed && !saved.counts.is_empty(), "{filter}: {saved:?}");
        counting::run(&options(&it, &second, filter, &extra, true), &launcher()).unwrap();
        let (a, b) = (read(&first), read(&second));
        let totals = |b: &Baseline| b.counts.iter().map(|c| (c.key(), c.total_instructions)).collect::<Vec<_>>();
        assert_eq!(totals(&a), totals(&b), "{filter}: the counts did not repeat exactly");
        assert!(a.module.as_deref().is_some_and(|m| m.contains("it.wat")), "{:?}", a.module);
        let checked = counting::run(&options(&it, &first, filter, &extra, false), &launcher()).unwrap();
        assert!(checked.passed, "{filter}: {checked:?}");
    }
    // A changed copy whose `just_add` does more work fails, naming the scenario.
    let changed = scratch("it.wat", &module(MORE_WORK));
    let outcome = counting::run(&options(&changed, &first, "calls/core", &[], false), &launcher()).unwrap();
    assert!(!outcome.passed);
    assert!(outcome.regressed.iter().any(|r| r == "calls/core under cranelift"), "{:?}", outcome.regressed);
}

/// A component of a world of its own using WASI 0.2 (the fixture built from `guest/wasi-component`), its exports
/// called with a string and a `list<u8>` written in WAVE: counted, and the counts repeat exactly.
#[test]
#[ignore = "needs valgrind: `.ci/run` runs it"]
fn a_wasi_component_invoked_with_wave_values_is_gated_and_its_counts_repeat_exactly() {
    let component = scratch("wasi-component.wasm", "");
    std::fs::write(&component, boundary_host::guest::WASI_COMPONENT_WASM).unwrap();
    let fresh = |name: &str| {
        let path = scratch(name, "");
        std::fs::remove_file(&path).unwrap();
        path
    };
    let (first, second) = (fresh("component-first.json"), fresh("component-second.json"));
    let extra = [
        "--abi",
        "component",
        "--profile",
        "cranelift",
        "--invoke",
        r#"greet="world""#,
        "--invoke",
        "sum-bytes=[1, 2, 3]",
    ];
    let saved = counting::run(&options(&component, &first, "invoke/", &extra, true), &launcher()).unwrap();
    assert!(saved.passed && !saved.counts.is_empty(), "{saved:?}");
    counting::run(&options(&component, &second, "invoke/", &extra, true), &launcher()).unwrap();
    let totals = |b: &Baseline| b.counts.iter().map(|c| (c.key(), c.total_instructions)).collect::<Vec<_>>();
    let (a, b) = (read(&first), read(&second));
    assert_eq!(totals(&a), totals(&b), "the counts did not repeat exactly");
    let keys: Vec<String> = a.counts.iter().map(|c| c.key().0).collect();
    assert!(keys.iter().any(|k| k.contains("invoke/greet/component")), "{keys:?}");
    assert!(keys.iter().any(|k| k.contains("invoke/sum-bytes/component")), "{keys:?}");
    let checked = counting::run(&options(&component, &first, "invoke/", &extra, false), &launcher()).unwrap();
    assert!(checked.passed, "{checked:?}");
}

/// With `--keep-going`, a scenario that fails (here an export that traps from its ninth call in an instance on: the
/// probe and the native trial call it fewer times, the counted run's warm-up more) is listed with its error, kept
/// in the saved baseline's `failed`, and the others are counted; the gate does not pass.
#[test]
#[ignore = "needs valgrind: `.ci/run` runs it"]
fn with_keep_going_a_failing_scenario_is_listed_and_the_others_counted() {
    let text = module("").replacen("(memory", "(global $n (mut i32) (i32.const 0))\n  (memory", 1);
    let traps_later = r#"(func (export "traps_later") (result i32)
    (global.set $n (i32.add (global.get $n) (i32.const 1)))
    (if (i32.gt_u (global.get $n) (i32.const 8)) (then unreachable))
    (global.get $n))"#;
    let it = scratch("traps-later.wat", &format!("{}\n  {traps_later})", &text[..text.len() - 1]));
    let baseline = scratch("keep-going.json", "");
    std::fs::remove_file(&baseline).unwrap();
    let extra = ["--invoke", "scale=21,2", "--invoke", "traps_later", "--profile", "cranelift", "--keep-going"];
    let outcome = counting::run(&options(&it, &baseline, "invoke/", &extra, true), &launcher()).unwrap();
    assert!(!outcome.passed, "{outcome:?}");
    assert!(!outcome.failed.is_empty(), "{outcome:?}");
    assert!(outcome.failed.iter().all(|f| f.starts_with("invoke/traps_later/")), "{:?}", outcome.failed);
    assert!(outcome.counts.iter().any(|c| c.scenario.starts_with("invoke/scale/")), "{:?}", outcome.counts);
    let saved = read(&baseline);
    assert_eq!(saved.counts.len(), outcome.counts.len());
    assert_eq!(saved.failed.len(), outcome.failed.len());
    // Each error is one line (callgrind 3.19 itself gives up on this module's trap; the line says so).
    assert!(saved.failed.iter().all(|f| !f.error.is_empty() && !f.error.contains('\n')), "{:?}", saved.failed);
    // Without it, the same failure ends the gate with its error.
    let extra = &extra[..extra.len() - 1];
    let error = counting::run(&options(&it, &baseline, "invoke/traps_later", extra, true), &launcher()).unwrap_err();
    assert!(error.contains("invoke/traps_later/") && !error.contains('\n'), "{error}");
}

/// A plugin's request (`--request`) is counted, its counts repeat exactly, and a request that makes the plugin do
/// more work fails the gate, naming the scenario.
#[test]
#[ignore = "needs valgrind: `.ci/run` runs it"]
fn a_plugins_request_is_gated_against_its_own_baseline() {
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../host/tests/support/fixtures/plugins");
    let plugin = fixtures.join("plugin.wat");
    let render = std::fs::read_to_string(fixtures.join("render.toml")).unwrap();
    let request = scratch("render.toml", &render);
    let baseline = scratch("plugin-baseline.json", "");
    std::fs::remove_file(&baseline).unwrap();
    let extra = ["--request", request.to_str().unwrap()];
    let saved = counting::run(&options(&plugin, &baseline, "request/whole", &extra, true), &launcher()).unwrap();
    assert!(saved.passed && saved.counts.len() == 4, "{saved:?}");
    let checked = counting::run(&options(&plugin, &baseline, "request/whole", &extra, false), &launcher()).unwrap();
    assert!(checked.passed, "the same request counted again: {checked:?}");
    // The same request with an input four times as long: the call upper-cases four times as many bytes.
    let longer = render
        .replace("digraph { a -> b }", &"digraph { a -> b }".repeat(4))
        .replace("text = \"DIGRAPH { A -> B }\"", &format!("text = \"{}\"", "DIGRAPH { A -> B }".repeat(4)));
    let request = scratch("render.toml", &longer);
    let extra = ["--request", request.to_str().unwrap()];
    let outcome = counting::run(&options(&plugin, &baseline, "request/whole", &extra, false), &launcher()).unwrap();
    assert!(!outcome.passed);
    assert!(outcome.regressed.iter().any(|r| r == "request/whole under cranelift"), "{:?}", outcome.regressed);
}

/// Bad input to the matrix's and the gate's module options: one line naming what was wrong, before anything is
/// measured (the bench binaries print it as `error:` and exit with status 2).
#[test]
fn bad_input_is_one_line_naming_what_was_wrong() {
    let good = scratch("good.wat", &module(""));
    let imports = scratch("imports.wat", "(module (import \"acme\" \"rand\" (func)) (memory (export \"memory\") 1))");
    let v128 = scratch("v128.wat", "(module (func (export \"f\") (param v128)))");
    let not_wasm = scratch("notes.wat", "this is not wasm");
    let binary_junk = scratch("junk.wasm", "junk");
    let path = |p: &PathBuf| p.to_str().unwrap().to_string();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["--wasm".into(), "/no/such/file.wasm".into()], "/no/such/file.wasm"),
        (vec!["--wasm".into(), path(&not_wasm)], "does not compile"),
        (vec!["--wasm".into(), path(&binary_junk)], "junk.wasm"),
        (vec!["--wasm".into(), path(&imports)], "`acme::rand`"),
        (vec!["--wasm".into(), path(&good), "--invoke".into(), "no_such".into()], "`no_such`"),
        (vec!["--wasm".into(), path(&good), "--invoke".into(), "memory".into()], "`memory`"),
        (vec!["--wasm".into(), path(&v128), "--invoke".into(), "f".into()], "v128"),
        (vec!["--wasm".into(), path(&good), "--invoke".into(), "scale=1".into()], "`scale`"),
        (vec!["--wasm".into(), path(&good), "--invoke".into(), "scale=x,1".into()], "`scale`"),
        (vec!["--invoke".into(), "f".into()], "need --wasm"),
        (
            vec![
                "--wasm".into(),
                path(&good),
                "--invoke".into(),
                "scale=1,2".into(),
                "--invoke".into(),
                "scale".into(),
            ],
            "`--invoke scale=1,2` and `--invoke scale` would both be measured as `invoke/scale/...`",
        ),
        (vec!["--wasm".into(), path(&good), "--abi".into(), "java".into()], "java"),
        (vec!["--wasm".into(), path(&good), "--profile".into(), "turbo".into()], "turbo"),
    ];
    for (args, needle) in cases {
        let result = subject_of(&args).and_then(|s| probe::prepare(&s).map(|_| ()));
        match result {
            Err(e) => {
                assert!(e.contains(needle), "{args:?}: {e:?} does not name {needle:?}");
                assert!(!e.contains('\n'), "{args:?}: {e:?} is more than one line");
            }
            Ok(()) => panic!("{args:?} was accepted"),
        }
    }
    // The gate's own options: a user module needs a baseline of its own.
    let options = counting::parse(&["--wasm".into(), path(&good)]).unwrap();
    let err = counting::run(&options, &launcher()).unwrap_err();
    assert!(err.contains("--baseline"), "{err}");
    assert!(counting::parse(&["--threshold".into(), "lots".into()]).is_err());
    // A relative module path reaches the counted children absolute: they may start in another folder.
    let options =
        counting::parse(&["--wasm".into(), "mine.wat".into(), "--baseline".into(), "mine.json".into()]).unwrap();
    let wasm = options.counting.subject.module.resolved().expect("--wasm taken");
    assert!(wasm.is_absolute() && wasm.ends_with("mine.wat"), "{}", wasm.display());
}

/// The rows and scenarios a module without the optional exports serves, and those it skips with the export they
/// need.
#[test]
fn rows_a_module_cannot_serve_are_skipped_naming_the_export_they_need() {
    let good = scratch("rows.wat", &module(""));
    let subject =
        subject_of(&["--wasm".into(), good.to_str().unwrap().into(), "--invoke".into(), "scale".into()]).unwrap();
    let prepared = probe::prepare(&subject).unwrap();
    let (rows, skipped) = boundary_benches::matrix::rows::for_subject(&subject, &prepared.serves, false);
    let ids: Vec<&str> = rows.iter().map(|r| &*r.id).collect();
    for served in
        ["calls/just_add/typed", "calls/just_add/core", "instantiate/pre", "lifecycle/compile", "invoke/scale/typed"]
    {
        assert!(ids.contains(&served), "{served} missing from {ids:?}");
    }
    let why = |id: &str| skipped.iter().find(|s| s.id == id).map(|s| s.why.clone());
    assert!(why("calls/nop/typed").is_some_and(|w| w.contains("`nop`")), "{skipped:?}");
    assert!(why("structs/batch/64").is_some_and(|w| w.contains("`point_add_batch`")), "{skipped:?}");
    assert!(why("callbacks/per_callback/typed").is_some_and(|w| w.contains("`call_host_n`")), "{skipped:?}");
    assert!(why("calls/just_add/component").is_some(), "{skipped:?}");
    // A module with none of the ABI still serves the rows that need none.
    let bare = scratch("bare.wat", "(module (func (export \"answer\") (result i32) (i32.const 42)))");
    let subject =
        subject_of(&["--wasm".into(), bare.to_str().unwrap().into(), "--invoke".into(), "answer".into()]).unwrap();
    let prepared = probe::prepare(&subject).unwrap();
    let (rows, skipped) = boundary_benches::matrix::rows::for_subject(&subject, &prepared.serves, false);
    let ids: Vec<&str> = rows.iter().map(|r| &*r.id).collect();
    assert_eq!(
        ids,
        [
            "instantiate/linker",
            "instantiate/pre",
            "instantiate/drop",
            "instantiate/threads/1",
            "instantiate/threads/2",
            "instantiate/threads/4",
            "lifecycle/compile",
            "invoke/answer/typed",
            "invoke/answer/untyped",
            "invoke/answer/unchecked"
        ]
    );
    assert!(
        skipped.iter().any(|s| s.id == "calls/just_add/core" && s.why.contains("needs the guest ABI")),
        "{skipped:?}"
    );
}
