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

/// Where [`exception_bomb`] puts its loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BombIn {
    JustAdd,
    Start,
}

/// An exception bomb: `ABI_WAT` whose `just_add` (or start function) throws exceptions of 900 `i64`s (7 KiB each)
/// without end, catching each with its reference and keeping it in a table, so that their GC heap grows with them.
/// It stops if the table cannot grow: under the pooling allocator, whose slots hold 20,000 elements, 140 MiB of
/// exceptions by then, past any budget the tests set.
pub fn exception_bomb(place: BombIn) -> String {
    let params = "i64 ".repeat(900);
    let zeros = "(i64.const 0) ".repeat(900);
    let keep = format!(
        "(loop $keep
      (block $caught (result exnref)
        (try_table (catch_all_ref $caught) (throw $big {zeros}))
        (unreachable))
      (i32.const 1)
      (table.grow $held)
      (br_if $keep (i32.ge_s (i32.const 0))))"
    );
    let memory = "(memory (export \"memory\") 1)";
    let declarations = format!("(tag $big (param {params}))\n  (table $held 0 exnref)\n  {memory}");
    match place {
        BombIn::Start => mutated_wat(&[(memory, &format!("{declarations}\n  (func $bomb {keep})\n  (start $bomb)"))]),
        BombIn::JustAdd => mutated_wat(&[
            (memory, &declarations),
            (
                "(func (export \"just_add\") (param i64 i64) (result i64)\n    (i64.add (local.get 0) (local.get 1)))",
                &format!("(func (export \"just_add\") (param i64 i64) (result i64)\n    {keep}\n    (i64.const 0))"),
            ),
        ]),
    }
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
    let funcs: [(&str, &str, &str, &str); 12] = [
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
        (
            "checksum-bytes",
            "(param \"bytes\" $bytes) (result u64)",
            "(param i32 i32) (result i64)",
            "(memory (core memory $i \"mem\")) (realloc (core func $i \"realloc\"))",
        ),
        (
            "fill-bytes",
            "(param \"len\" u32) (param \"seed\" u32) (result $bytes)",
            "(param i32 i32) (result i32)",
            "(memory (core memory $i \"mem\")) (realloc (core func $i \"realloc\"))",
        ),
        (
            "checksum-string",
            "(param \"text\" string) (result u64)",
            "(param i32 i32) (result i64)",
            "(memory (core memory $i \"mem\")) (realloc (core func $i \"realloc\"))",
        ),
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
          (type $bytes (list u8))
          {lifted})"
    )
}

/// The parts of [`world_component`] a test may replace, each a piece of core WAT; `None` keeps the correct one.
#[derive(Debug, Clone, Copy, Default)]
pub struct ComponentParts<'a> {
    /// The body of `cabi_realloc` `(param $old i32) (param $old_size i32) (param $align i32) (param $size i32)
    /// (result i32)`; the correct one bump-allocates from `$heap`, growing memory as needed.
    pub realloc: Option<&'a str>,
    /// The body of `point-add-batch`'s post-return function `(param $ret i32)`; the correct one frees everything.
    pub post_return: Option<&'a str>,
    /// What `point-add-batch` leaves on the stack after its loop: the return area's address. The correct one stores
    /// `$out` and `$n` at 32 and returns 32.
    pub batch_result: Option<&'a str>,
    /// An `i32` expression added to each sum's `x` (the correct one adds `(i32.const 0)`).
    pub batch_x_extra: Option<&'a str>,
    /// More core WAT at the component's top level (for example more core modules and instances).
    pub extra: Option<&'a str>,
}

/// A hand-written component of the guest's WIT world (`guest/wit/boundary.wit`) that implements every function
/// correctly, in plain core WAT: it calls the `host` interface, keeps its shared value in a global, passes Points
/// through return areas and lists through a bump allocator. The five patterns and the export checks pass on it;
/// replacing one of its [`ComponentParts`] makes a hostile component of one kind.
pub fn world_component(parts: &ComponentParts<'_>) -> String {
    const REALLOC: &str = "(local $p i32)
        (local.set $p (i32.and (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
                               (i32.sub (i32.const 0) (local.get $align))))
        (global.set $heap (i32.add (local.get $p) (local.get $size)))
        (block $done
          (loop $grow
            (br_if $done (i32.le_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536))))
            (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1)) (then unreachable))
            (br $grow)))
        (local.get $p)";
    const POST_RETURN: &str = "(global.set $heap (i32.const 1024))";
    const BATCH_RESULT: &str = "(i32.store (i32.const 32) (local.get $out))
        (i32.store (i32.const 36) (local.get $n))
        (i32.const 32)";
    let realloc = parts.realloc.unwrap_or(REALLOC);
    let post_return = parts.post_return.unwrap_or(POST_RETURN);
    let batch_result = parts.batch_result.unwrap_or(BATCH_RESULT);
    let x_extra = parts.batch_x_extra.unwrap_or("(i32.const 0)");
    let extra = parts.extra.unwrap_or("");
    format!(
        r#"(component
  (import "boundary:guest/host@0.1.0" (instance $host
    (export "log-value" (func (param "value" s32)))
    (export "get-shared-value" (func (result s32)))
    (export "set-shared-value" (func (param "value" s32)))))
  (alias export $host "log-value" (func $log-value))
  (alias export $host "get-shared-value" (func $get-shared-value))
  (alias export $host "set-shared-value" (func $set-shared-value))
  (core func $log (canon lower (func $log-value)))
  (core func $get (canon lower (func $get-shared-value)))
  (core func $set (canon lower (func $set-shared-value)))
  (core instance $host-core (export "log" (func $log)) (export "get" (func $get)) (export "set" (func $set)))
  (core module $m
    (import "host" "log" (func $log (param i32)))
    (import "host" "get" (func $get (result i32)))
    (import "host" "set" (func $set (param i32)))
    (memory (export "mem") 1)
    (global $heap (mut i32) (i32.const 1024))
    (global $shared (mut i32) (i32.const 100))
    (func $realloc (export "realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $size i32)
      (result i32)
      {realloc})
    (func (export "post-batch") (param $ret i32) {post_return})
    (func (export "just-add") (param i64 i64) (result i64) (i64.add (local.get 0) (local.get 1)))
    (func (export "simple-add") (param i64 i64) (result i64) (i64.add (local.get 0) (local.get 1)))
    (func (export "trigger-host-calls") (param $v i32)
      (call $log (i32.mul (local.get $v) (i32.const 2)))
      (call $set (i32.add (i32.add (call $get) (local.get $v)) (i32.const 5))))
    (func (export "point-add") (param i32 i32 i32 i32) (result i32)
      (i32.store (i32.const 16) (i32.add (local.get 0) (local.get 2)))
      (i32.store (i32.const 20) (i32.add (local.get 1) (local.get 3)))
      (i32.const 16))
    (func (export "point-add-batch") (param $ap i32) (param $al i32) (param $bp i32) (param $bl i32) (result i32)
      (local $n i32) (local $out i32) (local $i i32) (local $at i32)
      (local.set $n (select (local.get $al) (local.get $bl) (i32.lt_u (local.get $al) (local.get $bl))))
      (local.set $out (call $realloc (i32.const 0) (i32.const 0) (i32.const 4) (i32.mul (local.get $n) (i32.const 8))))
      (block $done
        (loop $each
          (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
          (local.set $at (i32.mul (local.get $i) (i32.const 8)))
          (i32.store (i32.add (local.get $out) (local.get $at))
            (i32.add (i32.add (i32.load (i32.add (local.get $ap) (local.get $at)))
                              (i32.load (i32.add (local.get $bp) (local.get $at))))
                     {x_extra}))
          (i32.store offset=4 (i32.add (local.get $out) (local.get $at))
            (i32.add (i32.load offset=4 (i32.add (local.get $ap) (local.get $at)))
                     (i32.load offset=4 (i32.add (local.get $bp) (local.get $at)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $each)))
      {batch_result})
    (func (export "read-plugin-shared-value") (result i32) (global.get $shared))
    (func (export "set-plugin-shared-value") (param i32) (global.set $shared (local.get 0)))
    (func (export "nop"))
    (func (export "checksum-bytes") (param $p i32) (param $n i32) (result i64)
      (call $checksum (local.get $p) (local.get $n)))
    (func (export "checksum-string") (param $p i32) (param $n i32) (result i64)
      (call $checksum (local.get $p) (local.get $n)))
    (func (export "fill-bytes") (param $n i32) (param $seed i32) (result i32)
      (local $out i32) (local $i i32)
      (local.set $out (call $realloc (i32.const 0) (i32.const 0) (i32.const 1) (local.get $n)))
      (block $done
        (loop $each
          (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
          (i32.store8 (i32.add (local.get $out) (local.get $i))
            (i32.shr_u (i32.add (local.get $seed) (i32.mul (local.get $i) (i32.const 0x9e3779b1))) (i32.const 24)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $each)))
      (i32.store (i32.const 40) (local.get $out))
      (i32.store (i32.const 44) (local.get $n))
      (i32.const 40))
    ;; The checksum of the ABI (`boundary_host::guest::checksum`), byte by byte after the 8-byte words.
    (func $checksum (param $p i32) (param $n i32) (result i64)
      (local $acc i64) (local $i i32) (local $words i32)
      (local.set $acc (i64.xor (i64.const 0xcbf29ce484222325) (i64.extend_i32_u (local.get $n))))
      (local.set $words (i32.and (local.get $n) (i32.const -8)))
      (block $done
        (loop $each
          (br_if $done (i32.ge_u (local.get $i) (local.get $words)))
          (local.set $acc (i64.mul (i64.xor (local.get $acc) (i64.load (i32.add (local.get $p) (local.get $i))))
            (i64.const 0x100000001b3)))
          (local.set $i (i32.add (local.get $i) (i32.const 8)))
          (br $each)))
      (block $done
        (loop $each
          (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
          (local.set $acc (i64.mul (i64.xor (local.get $acc) (i64.load8_u (i32.add (local.get $p) (local.get $i))))
            (i64.const 0x100000001b3)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $each)))
      (local.get $acc))
    (func (export "call-host-n") (param $n i32) (local $i i32)
      (block $done
        (loop $each
          (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
          (call $log (local.get $i))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $each)))))
  (core instance $i (instantiate $m (with "host" (instance $host-core))))
  {extra}
  (type $point' (record (field "x" s32) (field "y" s32)))
  (export $point "point" (type $point'))
  (type $points (list $point))
  (func $just-add (param "left" u64) (param "right" u64) (result u64) (canon lift (core func $i "just-add")))
  (export "just-add" (func $just-add))
  (func $simple-add (param "left" u64) (param "right" u64) (result u64) (canon lift (core func $i "simple-add")))
  (export "simple-add" (func $simple-add))
  (func $trigger (param "input" s32) (canon lift (core func $i "trigger-host-calls")))
  (export "trigger-host-calls" (func $trigger))
  (func $point-add (param "a" $point) (param "b" $point) (result $point)
    (canon lift (core func $i "point-add") (memory (core memory $i "mem"))))
  (export "point-add" (func $point-add))
  (func $point-add-batch (param "a" $points) (param "b" $points) (result $points)
    (canon lift (core func $i "point-add-batch") (memory (core memory $i "mem")) (realloc (core func $i "realloc"))
      (post-return (core func $i "post-batch"))))
  (export "point-add-batch" (func $point-add-batch))
  (func $read (result s32) (canon lift (core func $i "read-plugin-shared-value")))
  (export "read-plugin-shared-value" (func $read))
  (func $set-value (param "value" s32) (canon lift (core func $i "set-plugin-shared-value")))
  (export "set-plugin-shared-value" (func $set-value))
  (func $nop (canon lift (core func $i "nop")))
  (export "nop" (func $nop))
  (func $call-host-n (param "count" u32) (canon lift (core func $i "call-host-n")))
  (export "call-host-n" (func $call-host-n))
  (type $bytes (list u8))
  (func $checksum-bytes (param "bytes" $bytes) (result u64)
    (canon lift (core func $i "checksum-bytes") (memory (core memory $i "mem")) (realloc (core func $i "realloc"))))
  (export "checksum-bytes" (func $checksum-bytes))
  (func $fill-bytes (param "len" u32) (param "seed" u32) (result $bytes)
    (canon lift (core func $i "fill-bytes") (memory (core memory $i "mem")) (realloc (core func $i "realloc"))
      (post-return (core func $i "post-batch"))))
  (export "fill-bytes" (func $fill-bytes))
  (func $checksum-string (param "text" string) (result u64)
    (canon lift (core func $i "checksum-string") (memory (core memory $i "mem")) (realloc (core func $i "realloc"))))
  (export "checksum-string" (func $checksum-string)))"#
    )
}
