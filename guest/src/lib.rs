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

/// One line of guest narration on stdout (WASI `fd_write` in the core module, `wasi:cli/stdout` in the
/// component), prefixed so the log tells guest from host.
#[cfg(feature = "verbose")]
pub(crate) fn print_line(args: core::fmt::Arguments<'_>) {
    println!("[guest] {args}");
}
