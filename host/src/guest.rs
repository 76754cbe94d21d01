//! The guest: its embedded builds (and the article-style fixture) and its ABI, named once here for the whole project.
//!
//! `build.rs` compiles `../guest` for `wasm32-wasip1` (and as a `wasm32-wasip2` component) and this module embeds
//! the results, so the host binary,
//! tests and benches carry the exact guest they were built with.

use std::fmt;

/// The guest built with its `verbose` feature: each export narrates itself on stdout through WASI.
pub const VERBOSE_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/guest-verbose.wasm"));

/// The same guest with no printing at all: what benches and fuzzing drive.
pub const QUIET_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/guest-quiet.wasm"));

/// The quiet guest with a 16 KiB stack instead of 1 MiB and one page of memory: what the fuzz oracle drives, so
/// that comparing all of linear memory after every program compares little. Its stack and statics are in the first
/// half of the page; the second half ([`FUZZ_HOST_AREA`]) it never uses and leaves to the host.
pub const FUZZ_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/guest-fuzz.wasm"));

/// The part of [`FUZZ_WASM`]'s initial memory that the guest leaves to the host: past its stack (0 to 0x4000) and
/// its statics, up to the end of its one page (the build script links it with `--initial-memory`; the guest
/// allocates nothing, so nothing of the guest's lands there).
pub const FUZZ_HOST_AREA: std::ops::Range<usize> = 0x8000..0x10000;

/// The same guest crate as a `wasm32-wasip2` component (`guest/wit/boundary.wit`), verbose: what
/// `cargo run --release -- --abi component` drives.
pub const COMPONENT_VERBOSE_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/guest-component-verbose.wasm"));

/// The component without printing: what the component rows of the benches drive.
pub const COMPONENT_QUIET_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/guest-component-quiet.wasm"));

/// A test fixture: the guest as a component of its world as it stood before the payload exports (`checksum-bytes`,
/// `fill-bytes`, `checksum-string`; `guest/wit-before-payload/`), verbose. A component written to an earlier form of
/// the world runs the five patterns and the checks of the optional exports it has.
pub const COMPONENT_BEFORE_PAYLOAD_WASM: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/guest-component-before-payload.wasm"));

/// A test fixture: a guest written as the reference article writes it (`../guest/article`), with the article's
/// five exports and no `read_plugin_shared_value`, printing on every call. Tests check that both hosts drive it.
pub const ARTICLE_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/guest-article.wasm"));

/// A test fixture: a WASI command written in Rust (`../guest/command`), run by request files' `[command]`. Its
/// first argument says what it does: `upper` (stdin to stdout in upper case), `args`, `env`, `ls DIR`, `cat FILE`,
/// `write FILE`, `exit N`, and the hostile `flood` (stdout without end), `spin` and `grow`.
pub const COMMAND_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/guest-command.wasm"));

/// A test fixture: a component of a world of its own (`../guest/wasi-component/wit/fixture.wit`) built from Rust for
/// `wasm32-wasip2`, so importing WASI 0.2: exports taking and returning strings, lists, records, tuples, enums,
/// options and results; `environment`, `list-dir` and `connect`, which show the WASI world the host gives it; and
/// the hostile `spin`, `grow` and `flood`.
pub const WASI_COMPONENT_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/guest-wasi-component.wasm"));

/// The struct passed through linear memory: `#[repr(C)] { x: i32, y: i32 }`, 8 bytes, little-endian.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Point {
    pub x: i32,
    pub y: i32,
}

impl Point {
    pub const fn new(x: i32, y: i32) -> Self {
        Point { x, y }
    }
}

impl fmt::Display for Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{ x: {}, y: {} }}", self.x, self.y)
    }
}

/// The native model of the guest's `point_add`: per-field wrapping sum.
pub fn add_points(a: Point, b: Point) -> Point {
    Point::new(a.x.wrapping_add(b.x), a.y.wrapping_add(b.y))
}

/// The native model of the guest's checksum (`checksum_bytes`, and the component's `checksum-bytes` and
/// `checksum-string`): FNV-1a's multiply over the little-endian 8-byte words, then over the bytes left, seeded with
/// the length. The guest's `checksum` (guest/src/lib.rs) must stay the same function; the tests compare them.
pub fn checksum(bytes: &[u8]) -> u64 {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut acc = 0xcbf2_9ce4_8422_2325 ^ bytes.len() as u64;
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        acc = (acc ^ u64::from_le_bytes(w)).wrapping_mul(PRIME);
    }
    for &byte in words.remainder() {
        acc = (acc ^ u64::from(byte)).wrapping_mul(PRIME);
    }
    acc
}

/// The native model of the byte the guest's `fill_bytes` writes at index `i` of a buffer filled with `seed`.
pub fn fill_byte(seed: u32, i: usize) -> u8 {
    (seed.wrapping_add((i as u32).wrapping_mul(0x9e37_79b1)) >> 24) as u8
}

/// The value types that appear in the ABI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AbiType {
    I32,
    I64,
}

impl fmt::Display for AbiType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AbiType::I32 => "i32",
            AbiType::I64 => "i64",
        })
    }
}

/// A function in the ABI: name and wasm signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbiFunc {
    pub name: &'static str,
    pub params: &'static [AbiType],
    pub results: &'static [AbiType],
}

impl AbiFunc {
    /// The signature as `(i64, i64) -> i64`.
    pub fn signature(&self) -> String {
        signature_text(self.params.iter(), self.results.iter())
    }
}

/// Formats a signature as `(p, ...) -> r` or `(p, ...) -> ()`.
pub fn signature_text<P: fmt::Display, R: fmt::Display>(
    params: impl Iterator<Item = P>,
    results: impl Iterator<Item = R>,
) -> String {
    let join = |items: Vec<String>| items.join(", ");
    let params = join(params.map(|p| p.to_string()).collect());
    let results: Vec<String> = results.map(|r| r.to_string()).collect();
    match results.len() {
        0 => format!("({params}) -> ()"),
        1 => format!("({params}) -> {}", results[0]),
        _ => format!("({params}) -> ({})", join(results)),
    }
}

use AbiType::{I32, I64};

const fn func(name: &'static str, params: &'static [AbiType], results: &'static [AbiType]) -> AbiFunc {
    AbiFunc { name, params, results }
}

/// The exported linear memory.
pub const MEMORY: &str = "memory";

/// The size of a page of that memory: the only page size the host drives (`abi_check.rs` refuses others).
pub const WASM_PAGE: usize = 64 * 1024;

/// Exports, by name and signature. Pointers are `i32` offsets into linear memory.
pub mod export {
    use super::*;

    pub const JUST_ADD: AbiFunc = func("just_add", &[I64, I64], &[I64]);
    pub const SIMPLE_ADD: AbiFunc = func("simple_add", &[I64, I64], &[I64]);
    pub const TRIGGER_HOST_CALLS: AbiFunc = func("trigger_host_calls", &[I32], &[]);
    pub const POINT_ADD: AbiFunc = func("point_add", &[I32, I32, I32], &[]);
    pub const GET_PLUGIN_SHARED_VALUE_PTR: AbiFunc = func("get_plugin_shared_value_ptr", &[], &[I32]);
    /// The guest's own reading of its static, so pattern 5 is checked rather than eyeballed in a log. Optional: a
    /// guest written as the article writes it lacks it, and pattern 5 then goes by what the guest prints.
    pub const READ_PLUGIN_SHARED_VALUE: AbiFunc = func("read_plugin_shared_value", &[], &[I32]);
    /// Bench export: does nothing.
    pub const NOP: AbiFunc = func("nop", &[], &[]);
    /// Bench export: `point_add` over `count` consecutive Points.
    pub const POINT_ADD_BATCH: AbiFunc = func("point_add_batch", &[I32, I32, I32, I32], &[]);
    /// Bench export: calls `host_log_value(i)` for `i` in `0..count`.
    pub const CALL_HOST_N: AbiFunc = func("call_host_n", &[I32], &[]);
    /// Payload export: the checksum ([`super::checksum`]) of `len` bytes at `ptr`; traps (`unreachable`) if they do
    /// not lie inside memory, or if `ptr` is null and `len` is not 0.
    pub const CHECKSUM_BYTES: AbiFunc = func("checksum_bytes", &[I32, I32], &[I64]);
    /// Payload export: writes `len` bytes at `ptr`, byte `i` being [`super::fill_byte`]`(seed, i)`; traps as
    /// `checksum_bytes` does.
    pub const FILL_BYTES: AbiFunc = func("fill_bytes", &[I32, I32, I32], &[]);

    /// What the five patterns need: the article's five exports. A module without one of these cannot be driven.
    pub const REQUIRED: &[AbiFunc] =
        &[JUST_ADD, SIMPLE_ADD, TRIGGER_HOST_CALLS, POINT_ADD, GET_PLUGIN_SHARED_VALUE_PTR];

    /// What the project's guest adds: may be absent, but if present must have this signature.
    pub const OPTIONAL: &[AbiFunc] =
        &[READ_PLUGIN_SHARED_VALUE, NOP, POINT_ADD_BATCH, CALL_HOST_N, CHECKSUM_BYTES, FILL_BYTES];
}

/// Host functions the guest imports from module `env`.
pub mod import {
    use super::*;

    pub const MODULE: &str = "env";
    pub const HOST_LOG_VALUE: AbiFunc = func("host_log_value", &[I32], &[]);
    pub const HOST_GET_SHARED_VALUE: AbiFunc = func("host_get_shared_value", &[], &[I32]);
    pub const HOST_SET_SHARED_VALUE: AbiFunc = func("host_set_shared_value", &[I32], &[]);

    pub const ALL: &[AbiFunc] = &[HOST_LOG_VALUE, HOST_GET_SHARED_VALUE, HOST_SET_SHARED_VALUE];
}

/// The WASI preview1 import module, provided by `wasmtime-wasi`.
pub const WASI_MODULE: &str = "wasi_snapshot_preview1";

/// Initial value of the guest's `PLUGIN_SHARED_VALUE`.
pub const PLUGIN_SHARED_VALUE_INITIAL: i32 = 100;

/// Initial value of the host's shared state (pattern 2 starts from it).
pub const HOST_SHARED_VALUE_INITIAL: i32 = 42;
