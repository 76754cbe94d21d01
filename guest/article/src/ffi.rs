//! The article's FFI layer: host imports and their wrappers, the shared `Point`, the guest's `static mut`, and the
//! exports.

#[link(wasm_import_module = "env")]
unsafe extern "C" {
    fn host_log_value(value: i32);
    fn host_get_shared_value() -> i32;
    fn host_set_shared_value(value: i32);
}

pub fn log_value_from_host(value: i32) {
    unsafe { host_log_value(value) }
}

pub fn get_shared_value_from_host() -> i32 {
    unsafe { host_get_shared_value() }
}

pub fn set_shared_value_in_host(value: i32) {
    unsafe { host_set_shared_value(value) }
}

#[repr(C)]
#[derive(Debug, Copy, Clone, Default)]
pub struct Point {
    pub x: i32,
    pub y: i32,
}

static mut PLUGIN_SHARED_VALUE: i32 = 100;

pub(crate) fn read_plugin_value_internal() -> i32 {
    unsafe { PLUGIN_SHARED_VALUE }
}

#[no_mangle]
pub extern "C" fn just_add(left: u64, right: u64) -> u64 {
    println!("[WASM FFI] just_add called with: {} + {}", left, right);
    let result = crate::core::perform_basic_add(left, right);
    println!("[WASM FFI] just_add result: {}", result);
    result
}

#[no_mangle]
pub extern "C" fn trigger_host_calls(input_val: i32) {
    println!("[WASM FFI] trigger_host_calls called with input: {}", input_val);
    crate::core::perform_host_calls_test(input_val);
    println!("[WASM FFI] trigger_host_calls finished.");
}

#[no_mangle]
pub extern "C" fn point_add(result_ptr: *mut Point, p1_ptr: *const Point, p2_ptr: *const Point) {
    println!("[WASM FFI] point_add called with pointers...");
    unsafe {
        if result_ptr.is_null() || p1_ptr.is_null() || p2_ptr.is_null() {
            println!("[WASM FFI] Error: Received null pointer.");
            return;
        }
        let p1 = *p1_ptr;
        let p2 = *p2_ptr;
        let result = crate::core::add_points(p1, p2);
        *result_ptr = result;
        println!("[WASM FFI] Wrote result to address {:?}", result_ptr);
    }
}

#[no_mangle]
pub unsafe extern "C" fn get_plugin_shared_value_ptr() -> *mut i32 {
    let ptr = &raw mut PLUGIN_SHARED_VALUE as *mut i32;
    println!("[WASM FFI] get_plugin_shared_value_ptr() -> {:?}", ptr);
    ptr
}

#[no_mangle]
pub extern "C" fn simple_add(left: u64, right: u64) -> u64 {
    println!("[WASM FFI] simple_add (verification step) called...");
    crate::core::perform_simple_add_and_read_internal_state(left, right)
}
