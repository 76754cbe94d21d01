//! Native Rust floors: the same work with no wasm boundary, so each row can say how many times native it costs.
//! Every function is `#[inline(never)]` so a call stays a call, as a crossing is.

use boundary_host::Point;
use boundary_host::guest::add_points;

#[inline(never)]
pub fn just_add(left: u64, right: u64) -> u64 {
    left.wrapping_add(right)
}

#[inline(never)]
pub fn nop() {}

/// What the host's `host_log_value` does, as a native call.
#[derive(Debug, Default)]
pub struct NativeHost {
    pub last_logged: i32,
    pub calls: u64,
}

#[inline(never)]
pub fn log_value(host: &mut NativeHost, value: i32) {
    host.last_logged = value;
    host.calls += 1;
}

/// `point_add` on a byte buffer standing in for linear memory: read a and b by copy, write the sum.
#[inline(never)]
pub fn point_add_in(memory: &mut [u8], out: usize, a: usize, b: usize) {
    let read = |at: usize| bytemuck::pod_read_unaligned::<Point>(&memory[at..at + 8]);
    let sum = add_points(read(a), read(b));
    memory[out..out + 8].copy_from_slice(bytemuck::bytes_of(&sum));
}

/// The batch: `out[i] = a[i] + b[i]`.
#[inline(never)]
pub fn point_add_batch(out: &mut [Point], a: &[Point], b: &[Point]) {
    for ((o, a), b) in out.iter_mut().zip(a).zip(b) {
        *o = add_points(*a, *b);
    }
}

/// What `trigger_host_calls` does, natively: log `v*2`, read the host value, write `h + v + 5`.
#[inline(never)]
pub fn trigger_host_calls(host: &mut NativeHost, shared: &mut i32, input: i32) {
    log_value(host, input.wrapping_mul(2));
    let h = get_shared(shared);
    set_shared(shared, h.wrapping_add(input).wrapping_add(5));
}

#[inline(never)]
fn get_shared(shared: &i32) -> i32 {
    *shared
}

#[inline(never)]
fn set_shared(shared: &mut i32, value: i32) {
    *shared = value;
}
