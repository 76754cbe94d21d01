//! A guest as the reference article writes it, for testing that the host drives it: the article's layout (an FFI
//! layer in `ffi.rs`, the logic in a `core` module), its five exports and three `env` imports, a `static mut`
//! reached through a raw pointer, and a `println!` in every function. It has none of the project guest's
//! additions: no `read_plugin_shared_value` (pattern 5 is only visible in what `simple_add` prints), no bench
//! exports, no quiet build.
//!
//! It is a test fixture, not an example to follow: `../src` is what the project does instead.

mod ffi;

pub use ffi::{get_plugin_shared_value_ptr, just_add, point_add, simple_add, trigger_host_calls, Point};

pub(crate) mod core {
    use crate::ffi::{
        get_shared_value_from_host, log_value_from_host, read_plugin_value_internal, set_shared_value_in_host, Point,
    };

    pub fn perform_basic_add(left: u64, right: u64) -> u64 {
        println!("[WASM Core] perform_basic_add: {} + {}", left, right);
        left.wrapping_add(right)
    }

    pub fn perform_host_calls_test(input_val: i32) {
        println!("[WASM Core] perform_host_calls_test with input: {}", input_val);
        log_value_from_host(input_val * 2);
        let host_val = get_shared_value_from_host();
        println!("[WASM Core] Received value from host: {}", host_val);
        let new_host_val = host_val.wrapping_add(input_val).wrapping_add(5);
        set_shared_value_in_host(new_host_val);
    }

    pub fn add_points(p1: Point, p2: Point) -> Point {
        println!("[WASM Core] add_points called with p1: {:?}, p2: {:?}", p1, p2);
        Point { x: p1.x.wrapping_add(p2.x), y: p1.y.wrapping_add(p2.y) }
    }

    pub fn perform_simple_add_and_read_internal_state(left: u64, right: u64) -> u64 {
        let current_plugin_val = read_plugin_value_internal();
        println!("[WASM Core] Current plugin's internal shared value: {}", current_plugin_val);
        println!("[WASM Core] Performing simple add: {} + {}", left, right);
        left + right
    }
}
