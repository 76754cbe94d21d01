//! Helpers shared by the test suites of the host core, the command line and the C++ host (each includes this file
//! with `#[path]`): the hand-written ABI fixture and its mutations, scratch files, and the bad-input check.
#![allow(dead_code)] // Each suite uses its own share of these.

use boundary_host::{EngineProfile, GuestModule, GuestOutput, HostOptions};
use std::path::PathBuf;
use std::process::Output;

/// The hand-written WAT module with the guest's ABI.
pub const ABI_WAT: &str = include_str!("fixtures/abi.wat");

/// A module whose ABI functions touch no memory, so that any kind of `memory` export validates with them.
pub fn memoryless_abi(memory: &str) -> String {
    format!(
        "(module
          {memory}
          (func (export \"just_add\") (param i64 i64) (result i64) (i64.add (local.get 0) (local.get 1)))
          (func (export \"simple_add\") (param i64 i64) (result i64) (i64.add (local.get 0) (local.get 1)))
          (func (export \"trigger_host_calls\") (param i32))
          (func (export \"point_add\") (param i32 i32 i32))
          (func (export \"get_plugin_shared_value_ptr\") (result i32) (i32.const 1024)))"
    )
}

/// Options for tests: guest output discarded so test logs stay readable.
pub fn quiet_options() -> HostOptions {
    HostOptions { output: GuestOutput::Discard, ..HostOptions::default() }
}

/// The quiet guest under the default profile.
pub fn quiet_guest() -> GuestModule {
    GuestModule::quiet_guest(EngineProfile::Cranelift, quiet_options()).unwrap()
}

/// `ABI_WAT` with each `(from, to)` replacement made once; every `from` must occur in it.
pub fn mutated_wat(replacements: &[(&str, &str)]) -> String {
    let mut text = ABI_WAT.to_string();
    for (from, to) in replacements {
        assert!(text.contains(from), "fixture does not contain {from:?}");
        text = text.replacen(from, to, 1);
    }
    text
}

/// Loads `ABI_WAT` after replacing `from` with `to` (which must occur in it).
pub fn load_mutated_wat(from: &str, to: &str) -> Result<GuestModule, boundary_host::Error> {
    load_wat(&mutated_wat(&[(from, to)]))
}

/// Loads WAT text under the default profile.
pub fn load_wat(text: &str) -> Result<GuestModule, boundary_host::Error> {
    GuestModule::from_wat("mutated.wat", text, EngineProfile::Cranelift, quiet_options())
}

/// Writes `contents` to `name` in the tests' scratch folder `dir` and returns its path.
pub fn fixture_file(dir: &str, name: &str, contents: &[u8]) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

/// Whether the `boundary` binary treated its input as bad: exit status 2, exactly one line on stderr starting with
/// `error:` and containing `needle`, and no panic or backtrace. The error says what differed.
pub fn bad_input_line(out: &Output, needle: &str) -> Result<(), String> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let one_line = stderr.lines().count() == 1 && stderr.starts_with("error: ");
    let clean = !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE");
    if out.status.code() == Some(2) && one_line && clean && stderr.contains(needle) {
        Ok(())
    } else {
        Err(format!("status {:?}, stderr {stderr:?}, wanted one error line containing {needle:?}", out.status.code()))
    }
}

/// A hand-written component of the guest's WIT world (`guest/wit/boundary.wit`) whose every function runs `body`
/// (for example `unreachable`, or a loop that never ends) and which leaves out the exports named in `missing`:
/// a hostile guest in component form.
pub fn world_component_wat(body: &str, missing: &[&str]) -> String {
    // The WIT function, its core signature under the canonical ABI, and its canonical options.
    let funcs: [(&str, &str, &str, &str); 9] = [
        ("just-add", "(param \"left\" u64) (param \"right\" u64) (result u64)", "(param i64 i64) (result i64)", ""),
        ("simple-add", "(param \"left\" u64) (param \"right\" u64) (result u64)", "(param i64 i64) (result i64)", ""),
        ("trigger-host-calls", "(param \"input\" s32)", "(param i32)", ""),
        (
            "point-add",
            "(param \"a\" $point) (param \"b\" $point) (result $point)",
            "(param i32 i32 i32 i32) (result i32)",
            "(memory (core memory $i \"mem\"))",
        ),
        (
            "point-add-batch",
            "(param \"a\" $points) (param \"b\" $points) (result $points)",
            "(param i32 i32 i32 i32) (result i32)",
            "(memory (core memory $i \"mem\")) (realloc (core func $i \"realloc\"))",
        ),
        ("read-plugin-shared-value", "(result s32)", "(result i32)", ""),
        ("set-plugin-shared-value", "(param \"value\" s32)", "(param i32)", ""),
        ("nop", "", "", ""),
        ("call-host-n", "(param \"count\" u32)", "(param i32)", ""),
    ];
    let mut core = String::new();
    let mut lifted = String::new();
    for (name, wit, flat, options) in funcs {
        core.push_str(&format!("(func (export \"{name}\") {flat} {body})\n"));
        if !missing.contains(&name) {
            lifted.push_str(&format!(
                "(func ${name} {wit} (canon lift (core func $i \"{name}\") {options}))\n(export \"{name}\" (func ${name}))\n"
            ));
        }
    }
    format!(
        "(component
          (core module $m
            (memory (export \"mem\") 1)
            (func (export \"realloc\") (param i32 i32 i32 i32) (result i32) (i32.const 1024))
            {core})
          (core instance $i (instantiate $m))
          (type $point' (record (field \"x\" s32) (field \"y\" s32)))
          (export $point \"point\" (type $point'))
          (type $points (list $point))
          {lifted})"
    )
}
