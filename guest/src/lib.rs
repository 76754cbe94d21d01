//! The guest side of the boundary harness: a `wasm32-wasip1` module with the article's ABI (README, "Your own
//! guest") plus the exports the benches need, and the same operations as a `wasm32-wasip2` component
//! (`wit/boundary.wit`).
//!
//! The logic lives here in safe Rust, once for both forms. The core module's exports and imports, and every
//! `unsafe` block (host imports, guest pointers from the host), are confined to `ffi`; the component's, generated
//! by `wit-bindgen` from the WIT world, to `component` (the `component` feature). Built verbose and quiet by
//! `host/build.rs`: with the `verbose` feature the guest narrates each call on stdout through WASI, without it the
//! guest prints nothing, so measured paths never include a write.

#[cfg(feature = "component")]
mod component;
#[cfg(not(feature = "component"))]
mod ffi;

#[cfg(feature = "component")]
use component as imports;
#[cfg(not(feature = "component"))]
use ffi as imports;

use core::sync::atomic::{AtomicI32, Ordering};

/// The struct shared with the host: 8 bytes, little-endian fields, 4-byte alignment in the guest. The core module
/// reads and writes it in linear memory at host-chosen addresses; the component gets and returns it by value (the
/// WIT `point` record).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Point {
    pub x: i32,
    pub y: i32,
}

/// The guest's own state that the host reaches through `get_plugin_shared_value_ptr` (pattern 4).
///
/// An atomic rather than a `static mut`: the host writes these four bytes between calls, and an atomic is the
/// Rust way to say that the value may change behind the compiler's back without any `unsafe`. In single-threaded
/// wasm its relaxed loads and stores are plain `i32.load`/`i32.store`.
static PLUGIN_SHARED_VALUE: AtomicI32 = AtomicI32::new(100);

/// Guest-side narration; compiled out entirely unless the `verbose` feature is on.
#[cfg(feature = "verbose")]
macro_rules! say {
    ($($arg:tt)*) => { print_line(format_args!($($arg)*)) };
}
#[cfg(not(feature = "verbose"))]
macro_rules! say {
    ($($arg:tt)*) => {{
        // Type-check the arguments without printing anything.
        let _ = format_args!($($arg)*);
    }};
}

pub(crate) fn just_add(left: u64, right: u64) -> u64 {
    let sum = left.wrapping_add(right);
    say!("just_add({left}, {right}) = {sum}");
    sum
}

pub(crate) fn simple_add(left: u64, right: u64) -> u64 {
    let seen = PLUGIN_SHARED_VALUE.load(Ordering::Relaxed);
    let sum = left.wrapping_add(right);
    say!("simple_add({left}, {right}) = {sum}; PLUGIN_SHARED_VALUE as the guest sees it: {seen}");
    sum
}

pub(crate) fn trigger_host_calls(input: i32) {
    say!("trigger_host_calls({input}): calling host_log_value({})", input.wrapping_mul(2));
    imports::log_value(input.wrapping_mul(2));
    let host_value = imports::get_shared_value();
    let new_value = host_value.wrapping_add(input).wrapping_add(5);
    say!("trigger_host_calls: host value {host_value}, setting it to {new_value}");
    imports::set_shared_value(new_value);
}

/// Per-field wrapping sum: the native model of `point_add`.
pub fn add_points(a: Point, b: Point) -> Point {
    Point { x: a.x.wrapping_add(b.x), y: a.y.wrapping_add(b.y) }
}

#[cfg(not(feature = "component"))]
pub(crate) fn plugin_shared_value_ptr() -> *mut i32 {
    let ptr = PLUGIN_SHARED_VALUE.as_ptr();
    say!("get_plugin_shared_value_ptr() = {:#x}", ptr as usize);
    ptr
}

pub(crate) fn read_plugin_shared_value() -> i32 {
    let seen = PLUGIN_SHARED_VALUE.load(Ordering::Relaxed);
    say!("read_plugin_shared_value() = {seen}");
    seen
}

/// The component's form of pattern 4's write (a component hands out no pointer to its statics).
#[cfg(feature = "component")]
pub(crate) fn set_plugin_shared_value(value: i32) {
    say!("set_plugin_shared_value({value})");
    PLUGIN_SHARED_VALUE.store(value, Ordering::Relaxed);
}

pub(crate) fn call_host_n(count: u32) {
    for i in 0..count {
        imports::log_value(i as i32);
    }
}

/// The checksum the payload rows have the guest compute over every byte it is given, so that the bytes are really
/// read in wasm: FNV-1a's multiply over the 8-byte little-endian words of a buffer of `len` bytes, then over the
/// bytes left, seeded with the length. `word(k)` gives the `k`th word, `byte(i)` the `i`th byte. The host's model is
/// `boundary_host::guest::checksum`; the two must stay the same function.
// The component of the world before its payload exports (a test fixture) has no use for the payload helpers.
#[cfg_attr(feature = "world-before-payload", allow(dead_code))]
pub(crate) fn checksum(len: usize, word: impl Fn(usize) -> u64, byte: impl Fn(usize) -> u8) -> u64 {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let words = len / 8;
    let mut acc = 0xcbf2_9ce4_8422_2325 ^ len as u64;
    for k in 0..words {
        acc = (acc ^ word(k)).wrapping_mul(PRIME);
    }
    for i in words * 8..len {
        acc = (acc ^ u64::from(byte(i))).wrapping_mul(PRIME);
    }
    acc
}

/// [`checksum`] of a slice (the component's `list<u8>` and `string`).
#[cfg(feature = "component")]
// The component of the world before its payload exports (a test fixture) has no use for the payload helpers.
#[cfg_attr(feature = "world-before-payload", allow(dead_code))]
pub(crate) fn checksum_slice(bytes: &[u8]) -> u64 {
    let word = |k: usize| {
        let at = 8 * k;
        let mut w = [0u8; 8];
        w.copy_from_slice(&bytes[at..at + 8]);
        u64::from_le_bytes(w)
    };
    checksum(bytes.len(), word, |i| bytes[i])
}

/// The byte `fill_bytes` writes at index `i` of a buffer filled with `seed`. The host's model is
/// `boundary_host::guest::fill_byte`.
// The component of the world before its payload exports (a test fixture) has no use for the payload helpers.
#[cfg_attr(feature = "world-before-payload", allow(dead_code))]
pub(crate) fn fill_byte(seed: u32, i: usize) -> u8 {
    (seed.wrapping_add((i as u32).wrapping_mul(0x9e37_79b1)) >> 24) as u8
}

/// The eight bytes `fill_bytes` writes from index `8 * k`, as a little-endian word (the core module's export).
#[cfg(not(feature = "component"))]
pub(crate) fn fill_word(seed: u32, k: usize) -> u64 {
    let mut w = [0u8; 8];
    for (j, b) in w.iter_mut().enumerate() {
        *b = fill_byte(seed, 8 * k + j);
    }
    u64::from_le_bytes(w)
}

/// One line of guest narration on stdout (WASI `fd_write` in the core module, `wasi:cli/stdout` in the
/// component). Unmarked: the host marks every line of a guest's output as the guest's when it shows it.
#[cfg(feature = "verbose")]
pub(crate) fn print_line(args: core::fmt::Arguments<'_>) {
    println!("{args}");
}
