//! Every crossing of the boundary, and every `unsafe` block of the guest, lives in this module.
//!
//! Pointers arrive from the host as 32-bit offsets. The guest never assumes they are aligned (every access is
//! `read_unaligned`/`write_unaligned`) and never assumes they are in bounds: an access past the end of linear
//! memory is a wasm trap, which is the defined outcome the host checks for. A null pointer makes `point_add` and
//! `point_add_batch` do nothing, as in the article's guest.

use crate::{Point, add_points};

#[link(wasm_import_module = "env")]
unsafe extern "C" {
    fn host_log_value(value: i32);
    fn host_get_shared_value() -> i32;
    fn host_set_shared_value(value: i32);
}

pub(crate) fn log_value(value: i32) {
    // SAFETY: the import takes an i32 by value and touches no guest memory; the host is bound to this signature
    // at instantiation, so a mismatched host cannot link.
    unsafe { host_log_value(value) }
}

pub(crate) fn get_shared_value() -> i32 {
    // SAFETY: as for `log_value`: scalar in, scalar out, no guest memory involved.
    unsafe { host_get_shared_value() }
}

pub(crate) fn set_shared_value(value: i32) {
    // SAFETY: as for `log_value`: scalar in, no guest memory involved.
    unsafe { host_set_shared_value(value) }
}

/// Reads a Point at a host-chosen address.
///
/// # Safety
/// `ptr` must be non-null. Alignment is not required. An address outside linear memory traps in wasm rather
/// than reading anything, and every 8 bytes inside it are a valid `Point`, so any non-null address is sound here.
unsafe fn load_point(ptr: *const Point) -> Point {
    // SAFETY: per this function's contract; the unaligned read makes no alignment assumption.
    unsafe { ptr.read_unaligned() }
}

/// Writes a Point at a host-chosen address.
///
/// # Safety
/// As for [`load_point`]: `ptr` must be non-null; out-of-bounds addresses trap instead of writing.
unsafe fn store_point(ptr: *mut Point, value: Point) {
    // SAFETY: per this function's contract. No Rust reference to that memory is live in the guest: the only
    // guest-owned data a host pointer can hit is the shadow stack, the statics and the heap, all of which the
    // guest touches only through raw reads and atomics around this call.
    unsafe { ptr.write_unaligned(value) }
}

#[unsafe(no_mangle)]
pub extern "C" fn just_add(left: u64, right: u64) -> u64 {
    crate::just_add(left, right)
}

#[unsafe(no_mangle)]
pub extern "C" fn simple_add(left: u64, right: u64) -> u64 {
    crate::simple_add(left, right)
}

#[unsafe(no_mangle)]
pub extern "C" fn trigger_host_calls(input: i32) {
    crate::trigger_host_calls(input)
}

/// `*out = *a + *b`, reading both inputs before writing, so `out` may alias either input.
#[unsafe(no_mangle)]
pub extern "C" fn point_add(out: *mut Point, a: *const Point, b: *const Point) {
    if out.is_null() || a.is_null() || b.is_null() {
        say_null("point_add");
        return;
    }
    // SAFETY: all three are non-null; see `load_point`/`store_point` for why any other address is sound.
    let sum = unsafe { add_points(load_point(a), load_point(b)) };
    // SAFETY: as above.
    unsafe { store_point(out, sum) };
    #[cfg(feature = "verbose")]
    crate::print_line(format_args!(
        "point_add({:#x}, {:#x}, {:#x}): wrote {{ x: {}, y: {} }}",
        out as usize, a as usize, b as usize, sum.x, sum.y
    ));
}

/// `out[i] = a[i] + b[i]` for `i` in `0..count`, element by element in increasing `i` (each element's inputs
/// are read before its output is written). Addresses are computed as `base + 8 * i` with 32-bit wrapping
/// arithmetic, exactly as wasm's `i32.add` does, so the outcome is defined for every input.
#[unsafe(no_mangle)]
pub extern "C" fn point_add_batch(out: *mut Point, a: *const Point, b: *const Point, count: u32) {
    if out.is_null() || a.is_null() || b.is_null() {
        say_null("point_add_batch");
        return;
    }
    let (out, a, b) = (out as usize as u32, a as usize as u32, b as usize as u32);
    let stride = core::mem::size_of::<Point>() as u32;
    for i in 0..count {
        let step = i.wrapping_mul(stride);
        let at = |base: u32| base.wrapping_add(step) as usize;
        // SAFETY: non-null bases were checked above; an element address that wraps to 0 is still a wasm address
        // (offset 0 of linear memory), read and written without alignment assumptions; out of range traps.
        let sum = unsafe { add_points(load_point(at(a) as *const Point), load_point(at(b) as *const Point)) };
        // SAFETY: as above.
        unsafe { store_point(at(out) as *mut Point, sum) };
    }
}

/// Whether `len` bytes at `ptr` lie inside linear memory, computed without wrapping; a buffer the guest cannot
/// reach makes it trap (`unreachable`) before it touches anything, so a range is read or written whole or not at
/// all. A null pointer is refused the same way unless the buffer is empty.
fn buffer_in_memory(ptr: usize, len: u32) -> bool {
    let size = core::arch::wasm32::memory_size(0) as u64 * 65536;
    (ptr != 0 || len == 0) && ptr as u64 + u64::from(len) <= size
}

/// The checksum (`crate::checksum`) of `len` bytes at `ptr`, every byte read in wasm: the payload rows' guest-side
/// work on a buffer the host wrote.
#[unsafe(no_mangle)]
pub extern "C" fn checksum_bytes(ptr: *const u8, len: u32) -> u64 {
    if !buffer_in_memory(ptr as usize, len) {
        core::arch::wasm32::unreachable();
    }
    // SAFETY (both closures): every address in `ptr .. ptr + len` is inside linear memory (checked just above), all
    // of which wasm keeps readable and initialised; words and bytes are read through the raw pointer without
    // alignment assumptions, so no reference to memory the guest does not own is made, and the host does not run
    // while this does. `checksum` asks only for words and bytes inside `0..len`.
    let word = |k: usize| unsafe { ptr.add(8 * k).cast::<u64>().read_unaligned() };
    // SAFETY: as above.
    let byte = |i: usize| unsafe { ptr.add(i).read() };
    crate::checksum(len as usize, |k| u64::from_le(word(k)), byte)
}

/// Writes `len` bytes at `ptr`, byte `i` being `crate::fill_byte(seed, i)`: the guest producing a buffer the host
/// then reads.
#[unsafe(no_mangle)]
pub extern "C" fn fill_bytes(ptr: *mut u8, len: u32, seed: u32) {
    if !buffer_in_memory(ptr as usize, len) {
        core::arch::wasm32::unreachable();
    }
    let len = len as usize;
    for k in 0..len / 8 {
        // SAFETY: as in `checksum_bytes`, every address of the range is inside linear memory; it is written through
        // the raw pointer without alignment assumptions, no reference made. The host chose the range; that it holds
        // nothing the guest still needs is the host's side of the ABI (README, "The guest ABI").
        unsafe { ptr.add(8 * k).cast::<u64>().write_unaligned(crate::fill_word(seed, k).to_le()) };
    }
    for i in len / 8 * 8..len {
        // SAFETY: as above.
        unsafe { ptr.add(i).write(crate::fill_byte(seed, i)) };
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn get_plugin_shared_value_ptr() -> *mut i32 {
    crate::plugin_shared_value_ptr()
}

/// The guest's own view of `PLUGIN_SHARED_VALUE`, so the host can verify pattern 5 instead of reading a log.
#[unsafe(no_mangle)]
pub extern "C" fn read_plugin_shared_value() -> i32 {
    crate::read_plugin_shared_value()
}

/// Does nothing: the floor of a host -> guest call.
#[unsafe(no_mangle)]
pub extern "C" fn nop() {}

/// Calls `host_log_value(i)` for `i` in `0..count`: the per-callback cost without the entry cost.
#[unsafe(no_mangle)]
pub extern "C" fn call_host_n(count: u32) {
    crate::call_host_n(count)
}

fn say_null(_export: &str) {
    #[cfg(feature = "verbose")]
    crate::print_line(format_args!("{_export}: null pointer, nothing done"));
}

/// One line of guest narration on stdout (WASI `fd_write`). Unmarked: the host marks every line of a guest's
/// output as the guest's when it shows it.
#[cfg(feature = "verbose")]
pub(crate) fn print_line(args: core::fmt::Arguments<'_>) {
    println!("{args}");
}
