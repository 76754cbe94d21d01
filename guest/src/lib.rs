//! The guest side of the boundary harness: a `wasm32-wasip1` module with the article's ABI (README, "Your own
//! guest") plus the exports the benches need.
//!
//! The logic lives here in safe Rust; every `unsafe` block (host imports, guest pointers from the host) is
//! confined to [`ffi`]. Built twice by `host/build.rs`: with the `verbose` feature the guest narrates each call on
//! stdout through WASI, without it the guest prints nothing, so measured paths never include `fd_write`.

mod ffi;

use core::sync::atomic::{AtomicI32, Ordering};

pub use ffi::Point;

/// The guest's own state that the host reaches through `get_plugin_shared_value_ptr` (pattern 4).
///
/// An atomic rather than a `static mut`: the host writes these four bytes between calls, and an atomic is the
/// Rust way to say that the value may change behind the compiler's back without any `unsafe`. In single-threaded
/// wasm its relaxed loads and stores are plain `i32.load`/`i32.store`.
static PLUGIN_SHARED_VALUE: AtomicI32 = AtomicI32::new(100);

/// Guest-side narration; compiled out entirely unless the `verbose` feature is on.
#[cfg(feature = "verbose")]
macro_rules! say {
    ($($arg:tt)*) => { ffi::print_line(format_args!($($arg)*)) };
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
    ffi::log_value(input.wrapping_mul(2));
    let host_value = ffi::get_shared_value();
    let new_value = host_value.wrapping_add(input).wrapping_add(5);
    say!("trigger_host_calls: host value {host_value}, setting it to {new_value}");
    ffi::set_shared_value(new_value);
}

/// Per-field wrapping sum: the native model of `point_add`.
pub fn add_points(a: Point, b: Point) -> Point {
    Point { x: a.x.wrapping_add(b.x), y: a.y.wrapping_add(b.y) }
}

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

pub(crate) fn call_host_n(count: u32) {
    for i in 0..count {
        ffi::log_value(i as i32);
    }
}
