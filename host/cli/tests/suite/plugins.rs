//! Real plugins through request files (`--request`): every output convention served and verified under every
//! profile; a wrong output (exit 1) told from a failure the plugin reports (exit 1, its message shown) and from a
//! guest breaking the request's rules (exit 2, one line); bad request files refused with one line naming the field.

use crate::support::{bad_input_line, fixture_file};
use boundary_host::EngineProfile;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub(crate) fn plugins() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/support/fixtures/plugins")
}

pub(crate) fn boundary(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_boundary")).args(args).output().unwrap()
}

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A request file in the tests' scratch folder, for `module` (a fixture), with `body` after the module line.
fn request(name: &str, module: &str, body: &str) -> PathBuf {
    let module = plugins().join(module);
    let contents = format!("module = {:?}\n{body}", module.display().to_string());
    fixture_file("plugins", &format!("{name}.toml"), contents.as_bytes())
}

#[test]
fn every_output_convention_is_served_and_verified_under_every_profile() {
    for name in ["render", "transform", "shout", "packed", "pair", "multi"] {
        let path = plugins().join(format!("{name}.toml"));
        for profile in EngineProfile::ALL {
            let out = boundary(&["run", "--request", path.to_str().unwrap(), "--profile", profile.name()]);
            let (stdout, stderr) = text(&out);
            assert_eq!(out.status.code(), Some(0), "{name} under {profile}: {stdout}{stderr}");
            assert!(stdout.contains(", 0 failed") && !stdout.contains("FAILED"), "{name} under {profile}: {stdout}");
            assert!(stdout.contains("[host] output: "), "{name}: the log shows the output: {stdout}");
        }
    }
}

#[test]
fn the_log_shows_the_bytes_in_the_call_the_bytes_out_and_the_checks() {
    let out = boundary(&["--request", plugins().join("render.toml").to_str().unwrap()]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    for needle in [
        "input `graph`: 18 byte(s) at 0x",
        "allocated by `malloc`: \"digraph { a -> b }\"",
        "out-slot `out_len`: 4 byte(s)",
        "called render(graph.ptr, graph.len, out_len.ptr) -> ",
        "output: 18 byte(s) at 0x",
        "\"DIGRAPH { A -> B }\"",
        "phases: alloc ",
        "checked: the output equals the expected 18 byte(s)",
        "request served: 1 check(s) passed, 0 failed",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in {stdout}");
    }
}

const RENDER: &str = r#"
[allocator]
alloc = "malloc"
free = "free"
[[input]]
name = "graph"
text = "INPUT"
[[out]]
name = "out_len"
[call]
export = "render"
args = ["graph.ptr", "graph.len", "out_len.ptr"]
[output]
ptr = "result"
len = "out_len.value"
free = { export = "free_result" }
error = { ptr = "export:last_error", len = "nul" }
"#;

#[test]
fn a_wrong_output_exits_1_and_says_where_it_differs() {
    let body = RENDER.replace("INPUT", "abc") + "[expect]\ntext = \"ABD\"\n";
    let out = boundary(&["--request", request("wrong", "plugin.wat", &body).to_str().unwrap()]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("check FAILED: the output equals the expected 3 byte(s)"), "{stdout}");
    assert!(stdout.contains("differs from byte 2: \"C\" where \"D\" was expected"), "{stdout}");
    assert!(stdout.contains("0 check(s) passed, 1 failed"), "{stdout}");
}

#[test]
fn a_failure_the_plugin_reports_exits_1_with_its_message() {
    // An empty input: `render` returns NULL and `last_error` says why; `transform` returns status 1.
    let out = boundary(&["--request", request("null", "plugin.wat", &RENDER.replace("INPUT", "")).to_str().unwrap()]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("`render` returned a null output pointer: empty input"), "{stdout}");
    let transform = std::fs::read_to_string(plugins().join("transform.toml")).unwrap();
    let body = transform.replace("module = \"plugin.wat\"\n", "").replace("let answer = 42;", "");
    let out = boundary(&["--request", request("status", "plugin.wat", &body).to_str().unwrap()]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("`transform` returned status 1 (success is 0)"), "{stdout}");
}

#[test]
fn a_request_without_expectations_says_its_output_was_not_checked() {
    let out =
        boundary(&["--request", request("unchecked", "plugin.wat", &RENDER.replace("INPUT", "x")).to_str().unwrap()]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("its output was not checked"), "{stdout}");
}

/// The request `body` on the hostile fixture ends with exit 2 and one line containing `needle`, under `profile`.
fn misbehaves(name: &str, body: &str, needle: &str, profile: &str, extra: &[&str]) {
    let path = request(name, "hostile.wat", body);
    let started = Instant::now();
    let mut args = vec!["--quiet", "--request", path.to_str().unwrap(), "--profile", profile, "--timeout", "2"];
    args.extend_from_slice(extra);
    let out = boundary(&args);
    let took = started.elapsed();
    if let Err(why) = bad_input_line(&out, needle) {
        panic!("{name} under {profile}: {why}");
    }
    assert!(took < Duration::from_secs(10), "{name} under {profile} took {took:?}");
}

/// A request to the hostile fixture: `alloc` allocates, the input is `abc`, `call(input.ptr, input.len [, extra])`.
fn hostile(alloc: &str, free: &str, call: &str, extra_arg: &str, output: &str) -> String {
    let (outs, arg) = if extra_arg.is_empty() { ("", "") } else { ("[[out]]\nname = \"slot\"\n", ", \"slot.ptr\"") };
    format!(
        "[allocator]\nalloc = \"{alloc}\"\nfree = \"{free}\"\n[[input]]\nname = \"input\"\ntext = \"abc\"\n{outs}\
         [call]\nexport = \"{call}\"\nargs = [\"input.ptr\", \"input.len\"{arg}]\n{output}"
    )
}

#[test]
fn a_guest_breaking_the_requests_rules_exits_2_with_one_line() {
    let plain = "[output]\nptr = \"result\"\nlen = \"nul\"\n";
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "alloc-null",
            hostile("malloc_null", "free", "crash", "", ""),
            "allocator `malloc_null` returned 0 for input `input` (3 bytes)",
        ),
        (
            "alloc-past",
            hostile("malloc_past", "free", "crash", "", ""),
            "allocator `malloc_past` returned 0xfffe for input `input`",
        ),
        (
            "len-past",
            hostile("malloc", "free", "len_past", "slot", "[output]\nptr = \"result\"\nlen = \"slot.value\"\n"),
            "the output (2147483647 bytes at 0x",
        ),
        (
            "packed-past",
            hostile("malloc", "free", "packed_past", "", "[output]\npacked = \"result\"\n"),
            "the output (16 bytes at 0xfffff0) does not lie in memory",
        ),
        (
            "pair-past",
            hostile("malloc", "free", "pair_past", "", "[output]\npair = \"result\"\n"),
            "the output's pointer and length: 8 byte(s) at guest offset 4294967292",
        ),
        ("crash", hostile("malloc", "free", "crash", "", plain), "`crash` trapped"),
        (
            "no-nul",
            hostile("malloc", "free", "no_nul", "", plain)
                .replace("args = [\"input.ptr\", \"input.len\"]", "args = [\"input.ptr\"]"),
            "the output at 0xfde8 has no NUL before the end of memory (65536 bytes)",
        ),
    ];
    for (name, body, needle) in &cases {
        misbehaves(name, body, needle, "cranelift", &[]);
    }
    // A free that traps, after a good call.
    let body = hostile("malloc", "free_trap", "crash", "", "")
        .replace("export = \"crash\"", "export = \"free\"")
        .replace("args = [\"input.ptr\", \"input.len\"]", "args = [\"input.ptr\"]");
    misbehaves("free-trap-after", &body, "`free_trap` trapped", "cranelift", &[]);
}

#[test]
fn a_looping_or_memory_hungry_plugin_ends_within_its_deadline_and_budget_under_every_profile() {
    let spin = hostile("malloc", "free", "spin", "", "");
    let bomb = hostile("malloc", "free", "bomb", "", "");
    for profile in EngineProfile::ALL {
        let needle = if *profile == EngineProfile::Fuel { "ran out of fuel" } else { "did not finish within 2 s" };
        let needle = if *profile == EngineProfile::Epoch { "was interrupted" } else { needle };
        let fuel: &[&str] = if *profile == EngineProfile::Fuel { &["--fuel", "10000000"] } else { &[] };
        misbehaves("spin", &spin, needle, profile.name(), fuel);
        misbehaves("bomb", &bomb, "went past the memory budget", profile.name(), &["--max-memory", "64"]);
    }
}

#[test]
fn bad_request_files_are_one_line_naming_what_is_wrong() {
    let cases: Vec<(&str, String, &str)> = vec![
        ("unknown-field", RENDER.replace("[call]", "[call]\ncolour = 1"), "unknown field `colour`"),
        (
            "unknown-name",
            RENDER.replace("\"graph.len\"", "\"grph.len\""),
            "[call] argument 2 names `grph`, which is not an input or out-slot (defined: `graph`, `out_len`)",
        ),
        (
            "bad-arg",
            RENDER.replace("\"graph.len\"", "\"graph.size\""),
            "[call] argument 2 (`graph.size`) is not a number",
        ),
        (
            "missing-export",
            RENDER.replace("export = \"render\"", "export = \"draw\""),
            "lacks the export `draw` (a function the request calls)",
        ),
        (
            "arity",
            RENDER.replace(", \"out_len.ptr\"]", "]"),
            "exports `render` as a function (i32, i32, i32) -> i32, but the host needs a function of 2 parameter(s), as [call] args gives",
        ),
        (
            "no-allocator",
            RENDER.replace("[allocator]\nalloc = \"malloc\"\nfree = \"free\"\n", ""),
            "the request needs an [allocator]",
        ),
        (
            "two-sources",
            RENDER.replace("[output]\n", "[output]\npacked = \"result\"\n"),
            "[output] says where the output is with `ptr` and `len`, or `packed`, or `pair` (one of them)",
        ),
        ("not-toml", "this is not toml".to_string(), "not a request file"),
        (
            "bad-source",
            RENDER.replace("len = \"out_len.value\"", "len = \"out_len.size\""),
            "[output] len: `out_len.size` is not `result`",
        ),
        (
            "twice",
            RENDER.replace("name = \"out_len\"", "name = \"graph\"").replace("out_len.", "graph."),
            "`graph` is defined twice",
        ),
        (
            "memory",
            format!("memory = \"heap\"\n{RENDER}"),
            "lacks the export `heap` (a memory (the request's `memory`))",
        ),
    ];
    for (name, body, needle) in &cases {
        let out = boundary(&["--request", request(name, "plugin.wat", body).to_str().unwrap()]);
        if let Err(why) = bad_input_line(&out, needle) {
            panic!("{name}: {why}");
        }
    }
    let missing = boundary(&["--request", "/nonexistent/request.toml"]);
    bad_input_line(&missing, "cannot read it").unwrap();
    let no_module = fixture_file("plugins", "no-module.toml", RENDER.as_bytes());
    bad_input_line(
        &boundary(&["--request", no_module.to_str().unwrap()]),
        "it names no `module`, and no --wasm was given",
    )
    .unwrap();
}

#[test]
fn the_matrix_and_the_serving_path_measure_a_request_and_stop_on_a_plugin_that_misbehaves() {
    let render = plugins().join("render.toml");
    let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("plugins-records");
    let out = out_dir.to_str().unwrap();
    let bench = boundary(&[
        "bench",
        "--request",
        render.to_str().unwrap(),
        "--profile",
        "cranelift",
        "--out",
        out,
        "--",
        "--quick",
        "request/",
    ]);
    let (stdout, stderr) = text(&bench);
    assert_eq!(bench.status.code(), Some(0), "{stdout}{stderr}");
    let summary = std::fs::read_to_string(out_dir.join("latest/summary.md")).unwrap();
    for phase in ["whole", "alloc", "copy_in", "call", "copy_out", "free"] {
        let row = summary.lines().find(|l| l.starts_with(&format!("| `request/{phase}` |"))).unwrap_or_default();
        assert!(row.contains(" ns") || row.contains(" µs"), "request/{phase} has no time: {row:?}\n{summary}");
    }
    let serve = boundary(&[
        "serve",
        "--request",
        render.to_str().unwrap(),
        "--quick",
        "--filter",
        "keep-1m-pagemap",
        "--out",
        out,
    ]);
    let (stdout, stderr) = text(&serve);
    assert_eq!(serve.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains(" request   1 thread(s):"), "{stdout}");
    let packed = plugins().join("packed.toml");
    let sweep = boundary(&[
        "payload",
        "--request",
        packed.to_str().unwrap(),
        "--profile",
        "cranelift",
        "--quick",
        "--out",
        out,
    ]);
    let (stdout, stderr) = text(&sweep);
    assert_eq!(sweep.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("cranelift        fixed ") && stdout.contains("(43 sizes)"), "{stdout}");
    let no_such = boundary(&["payload", "--request", packed.to_str().unwrap(), "--vary", "nope", "--out", out]);
    bad_input_line(&no_such, "--vary nope: the request has no such input").unwrap();
    // A request whose output is wrong is not timed; a plugin that loops ends within its deadline.
    let wrong = request("bench-wrong", "plugin.wat", &(RENDER.replace("INPUT", "abc") + "[expect]\ntext = \"abc\"\n"));
    let out_wrong =
        boundary(&["bench", "--request", wrong.to_str().unwrap(), "--out", out, "--", "--quick", "request/"]);
    bad_input_line(&out_wrong, "the request's output is wrong under `cranelift`").unwrap();
    let spin = request("bench-spin", "hostile.wat", &hostile("malloc", "free", "spin", "", ""));
    for command in ["bench", "serve"] {
        let started = Instant::now();
        let out_spin = boundary(&[command, "--request", spin.to_str().unwrap(), "--timeout", "2", "--out", out]);
        bad_input_line(&out_spin, "did not finish within 2 s").unwrap_or_else(|why| panic!("{command}: {why}"));
        assert!(started.elapsed() < Duration::from_secs(15), "{command} took {:?}", started.elapsed());
    }
}

#[test]
fn the_differential_fuzzer_finds_a_difference_and_writes_a_request_that_replays_it() {
    let findings = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("plugins-findings");
    let _ = std::fs::remove_dir_all(&findings);
    let dir = findings.to_str().unwrap();
    // The built-in conventions agree under Cranelift and Pulley: no finding, exit 0.
    let render = plugins().join("render.toml");
    let clean = boundary(&["fuzz", "--request", render.to_str().unwrap(), "--runs", "300", "--findings", dir]);
    let (stdout, stderr) = text(&clean);
    assert_eq!(clean.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("301 inputs") && stdout.contains("0 finding(s)"), "{stdout}");
    // 190 bytes grow the table by 19,000 elements; a few more pass the pooling profile's 20,000 a table (wasmtime's
    // default pool), not the store's budget.
    let body = format!(
        "[allocator]\nalloc = \"malloc\"\n[[input]]\nname = \"data\"\ntext = \"{}\"\n[call]\nexport = \"grow\"\n\
         args = [\"data.ptr\", \"data.len\"]\n[output]\nptr = \"result\"\nlen = \"export:four\"\n",
        "a".repeat(190)
    );
    let grow = request("grow", "grow.wat", &body);
    let args = ["fuzz", "--request", grow.to_str().unwrap(), "--profile", "cranelift", "--profile", "pooling"];
    let found = boundary(&[&args[..], &["--runs", "200", "--max-memory", "2048", "--findings", dir]].concat());
    let (stdout, stderr) = text(&found);
    assert_eq!(found.status.code(), Some(1), "{stdout}{stderr}");
    let line = stdout.lines().find(|l| l.starts_with("finding: input ")).unwrap_or_else(|| panic!("{stdout}"));
    let path = line.rsplit_once("written to ").unwrap().1;
    let replay = |profile: &str| boundary(&["--request", path, "--profile", profile, "--max-memory", "2048"]);
    assert_eq!(replay("cranelift").status.code(), Some(0), "{}", text(&replay("cranelift")).0);
    let (stdout, _) = text(&replay("pooling"));
    assert_eq!(replay("pooling").status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("check FAILED"), "{stdout}");
    // An input that never returns is written out before the watchdog ends the run.
    let spin = request("fuzz-spin", "hostile.wat", &hostile("malloc", "free", "spin", "", ""));
    let hung = boundary(&["fuzz", "--request", spin.to_str().unwrap(), "--timeout", "2", "--findings", dir]);
    bad_input_line(&hung, "fuzz input 0 under `cranelift` did not finish within 2 s").unwrap();
    let (stdout, _) = text(&hung);
    assert!(stdout.contains("finding: input 0 is still running; written to"), "{stdout}");
    assert!(findings.join("hang-0.toml").exists());
}
