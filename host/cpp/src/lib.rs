//! The C++ host (`cpp/`): the article's `WasmHost` design on Wasmtime's C++ API (`wasmtime.hh`), built by
//! `build.rs` against the headers of the very wasmtime this crate links (`wasmtime-c-api-impl`), so one wasmtime
//! build serves both hosts. [`CppHost`] wraps its C bridge (`cpp/bridge.h`) safely and runs the same five patterns
//! as the Rust host core, through [`PatternHost`]; its timed loops run inside C++ so that the benches measure C++
//! calling wasmtime, not Rust calling C++.
//!
//! A module is checked against the ABI by the Rust host core before the C++ host sees it
//! ([`boundary_host::GuestModule`]), so both hosts refuse the same modules with the same errors; the C++ host
//! still looks up and type-checks every export itself.

use boundary_host::console;
use boundary_host::guest::{AbiFunc, export};
use boundary_host::patterns::{Failure, PatternHost, Verdict};
use boundary_host::wasmtime::StoreLimitsBuilder;
use boundary_host::{
    EngineProfile, Error, Grown, GuestModule, GuestOutput, HostCalls, HostOptions, MemoryError, MemoryLimitExceeded,
    TABLE_ELEMENT_BYTES, TrapKind, WASM_PAGE, static_offset,
};
use std::ffi::{CStr, c_char, c_int};
use std::ptr::NonNull;
use std::time::Duration;

// The C API's symbols, which the C++ host calls, live in this crate; naming it makes sure it is linked.
use wasmtime_c_api as _;

/// The opaque host of `bridge.h`.
#[repr(C)]
struct RawCppHost {
    _private: [u8; 0],
}

/// `boundary_cpp_state` of `bridge.h`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
struct RawState {
    shared_value: i32,
    last_logged: i32,
    logged: i32,
    log_calls: u64,
    get_calls: u64,
    set_calls: u64,
}

unsafe extern "C" {
    fn boundary_cpp_host_new(
        wasm: *const u8,
        len: usize,
        output: c_int,
        memory_bytes: i64,
        table_elements: i64,
        error: *mut c_char,
        error_len: usize,
    ) -> *mut RawCppHost;
    fn boundary_cpp_host_free(host: *mut RawCppHost);
    fn boundary_cpp_last_error(host: *const RawCppHost) -> *const c_char;
    fn boundary_cpp_just_add(host: *mut RawCppHost, a: u64, b: u64, out: *mut u64) -> c_int;
    fn boundary_cpp_simple_add(host: *mut RawCppHost, a: u64, b: u64, out: *mut u64) -> c_int;
    fn boundary_cpp_trigger_host_calls(host: *mut RawCppHost, value: i32) -> c_int;
    fn boundary_cpp_point_add(host: *mut RawCppHost, out: u32, a: u32, b: u32) -> c_int;
    fn boundary_cpp_plugin_shared_value_ptr(host: *mut RawCppHost, out: *mut u32) -> c_int;
    fn boundary_cpp_read_plugin_shared_value(host: *mut RawCppHost, out: *mut i32) -> c_int;
    fn boundary_cpp_has_read_plugin_shared_value(host: *const RawCppHost) -> c_int;
    fn boundary_cpp_take_output(host: *mut RawCppHost, dest: *mut u8, len: usize) -> usize;
    fn boundary_cpp_grow(host: *mut RawCppHost, pages: u64, old_pages: *mut u64) -> c_int;
    fn boundary_cpp_read(host: *mut RawCppHost, offset: usize, dest: *mut u8, len: usize) -> c_int;
    fn boundary_cpp_write(host: *mut RawCppHost, offset: usize, src: *const u8, len: usize) -> c_int;
    fn boundary_cpp_memory_size(host: *mut RawCppHost) -> usize;
    fn boundary_cpp_get_state(host: *mut RawCppHost, out: *mut RawState);
    fn boundary_cpp_set_state(host: *mut RawCppHost, state: *const RawState);
    fn boundary_cpp_time(host: *mut RawCppHost, which: c_int, iterations: u64, base: u32, ns: *mut u64) -> c_int;
}

/// A loop the C++ host times itself (the `BOUNDARY_CPP_*` values of `bridge.h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum CppLoop {
    /// `TypedFunc::call` of `just_add`, looked up once.
    TypedCall = 0,
    /// `Func::call` of `just_add` with a list of `Val`s, looked up once.
    UntypedCall = 1,
    /// The article's habit: `Instance::get` of `just_add` by name on every call, then `Func::call`.
    LookupPerCall = 2,
    /// `TypedFunc::call` of `trigger_host_calls(7)`: one call in, three host calls out.
    TriggerHostCalls = 3,
    /// Two Points copied into memory (bounds-checked), typed `point_add`, one Point copied out.
    PointAdd = 4,
}

/// The C++ host's share of a memory budget of `total` bytes. The C API's store limiter caps each linear memory and
/// each table on its own, not their sum, so the budget is split ahead: the module's tables (if it has any) get a
/// sixteenth of it between them, at [`TABLE_ELEMENT_BYTES`] an element as in the Rust host, and its one linear
/// memory (the ABI check allows one) the rest. Together they can never pass `total`; with GC off there is nothing
/// else a guest can make the store allocate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CppBudget {
    pub total: usize,
    pub memory_bytes: usize,
    pub table_elements: usize,
}

impl CppBudget {
    pub fn split(total: usize, tables: usize) -> Self {
        if tables == 0 {
            return CppBudget { total, memory_bytes: total, table_elements: 0 };
        }
        let share = total / 16;
        CppBudget { total, memory_bytes: total - share, table_elements: share / TABLE_ELEMENT_BYTES / tables }
    }

    /// What a growth the limiter refused (as its message names it) comes to against the whole budget: the rest of
    /// the store counted at its caps.
    fn refused(&self, message: &str) -> Option<MemoryLimitExceeded> {
        let after = |prefix: &str| {
            let rest = &message[message.find(prefix)? + prefix.len()..];
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<usize>().ok()
        };
        let (grown, size, cap) = if let Some(bytes) = after("forcing trap when growing memory to ") {
            (Grown::Memory, bytes, self.memory_bytes)
        } else {
            let elements = after("forcing trap when growing table to ")?;
            let bytes = |n: usize| n.saturating_mul(TABLE_ELEMENT_BYTES);
            (Grown::Table, bytes(elements), bytes(self.table_elements))
        };
        let requested = size.saturating_add(self.total.saturating_sub(cap));
        Some(MemoryLimitExceeded { grown, size, requested, limit: self.total })
    }
}

/// Installs the limiter of a store the C++ host has just made (`wasm_host.cc` calls it before it instantiates
/// anything): the C API's store limiter with `memory_bytes` per linear memory and `table_elements` per table, set
/// to trap on a growth past them, which the C API cannot ask for (`wasmtime_store_limiter` leaves growth failing
/// quietly with -1, and a guest would go on as if it had the memory).
///
/// # Safety
///
/// `store` must point to a live `wasmtime_store_t` that nothing else uses during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn boundary_rust_set_store_budget(
    store: *mut wasmtime_c_api::wasmtime_store_t,
    memory_bytes: i64,
    table_elements: i64,
) {
    // SAFETY: the caller's contract: the C++ host passes the store it has just made and owns (`store.capi()`),
    // alive for the whole call and touched by nothing else meanwhile.
    let Some(store) = (unsafe { store.as_mut() }) else { return };
    wasmtime_c_api::wasmtime_store_limiter(store, -1, -1, -1, -1, -1);
    let caps = StoreLimitsBuilder::new()
        .memory_size(usize::try_from(memory_bytes).unwrap_or(0))
        .table_elements(usize::try_from(table_elements).unwrap_or(0))
        .trap_on_grow_failure(true)
        .build();
    wasmtime_c_api::wasmtime_store_context(store).data_mut().store_limits = caps;
}

/// Shows what a guest of the C++ host wrote to its stdout (`stream` 1) or stderr (2), as the Rust host shows a
/// guest's output ([`boundary_host::console`]).
///
/// # Safety
///
/// `bytes` must point to `len` readable bytes (or be null with `len` 0), alive for the whole call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn boundary_rust_guest_output(stream: c_int, bytes: *const u8, len: usize) {
    let bytes = if bytes.is_null() || len == 0 {
        &[][..]
    } else {
        // SAFETY: the caller's contract: WASI's write callback hands over its buffer of `len` bytes, alive until
        // the callback returns, which is after this call.
        unsafe { std::slice::from_raw_parts(bytes, len) }
    };
    let stream = if stream == 2 { console::Stream::Stderr } else { console::Stream::Stdout };
    console::guest(stream, bytes);
}

/// One instance of a guest in the C++ host. Not `Send`: the C++ host is used from the thread that made it.
pub struct CppHost {
    raw: NonNull<RawCppHost>,
    /// The module, kept to instantiate afresh after a trap.
    wasm: Vec<u8>,
    name: String,
    output: GuestOutput,
    budget: Option<CppBudget>,
    /// The export whose trap discarded the instance, as in [`boundary_host::WasmHost`].
    poisoned: Option<String>,
}

impl std::fmt::Debug for CppHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CppHost").field("name", &self.name).field("poisoned", &self.poisoned).finish_non_exhaustive()
    }
}

impl Drop for CppHost {
    fn drop(&mut self) {
        // SAFETY: `raw` came from `boundary_cpp_host_new`, is freed only here, and is not used afterwards.
        unsafe { boundary_cpp_host_free(self.raw.as_ptr()) }
    }
}

/// The C API's error text on one line: wasmtime formats errors with their causes on separate lines, a trap with
/// its wasm backtrace, and any error with a Rust backtrace when `RUST_BACKTRACE` is set. The causes are kept,
/// joined by `: `; the backtraces are dropped, and so is wasmtime's "wasm trap: " after the host's own "trapped:".
fn one_line(text: &str) -> String {
    const FRAMES: &str = "error while executing at wasm backtrace:";
    let mut parts: Vec<&str> = Vec::new();
    // Inside the wasm backtrace's frames, which run from the line that announces them to the next blank line.
    let mut in_frames = false;
    for line in text.lines().map(str::trim) {
        if line.to_ascii_lowercase().starts_with("stack backtrace") {
            break;
        }
        if in_frames {
            in_frames = !line.is_empty();
            continue;
        }
        let line = match line.strip_suffix(FRAMES) {
            Some(before) => {
                in_frames = true;
                before.trim()
            }
            None => line,
        };
        // Causes are listed as `0: message`: the index goes.
        let line = match line.split_once(": ") {
            Some((n, rest)) if n.parse::<u32>().is_ok() => rest,
            _ => line,
        };
        if !line.is_empty() && line != "Caused by:" {
            parts.push(line.trim_end_matches(':'));
        }
    }
    parts.join(": ").replace("trapped: wasm trap: ", "trapped: ")
}

/// The bridge's `BOUNDARY_CPP_OUTPUT_*` value for `output`.
fn output_mode(output: GuestOutput) -> c_int {
    match output {
        GuestOutput::Discard => 0,
        GuestOutput::Inherit => 1,
        GuestOutput::Keep { echo: false } => 2,
        GuestOutput::Keep { echo: true } => 3,
    }
}

fn create(
    name: &str,
    wasm: &[u8],
    output: GuestOutput,
    budget: Option<CppBudget>,
) -> Result<NonNull<RawCppHost>, Error> {
    let mut error = [0 as c_char; 512];
    let as_i64 = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    let (memory_bytes, table_elements) =
        budget.map_or((-1, -1), |b| (as_i64(b.memory_bytes), as_i64(b.table_elements)));
    // SAFETY: `wasm` is a live slice of `wasm.len()` bytes and `error` a writable buffer of `error.len()` bytes; the
    // bridge reads and writes only within them and keeps neither.
    let raw = unsafe {
        boundary_cpp_host_new(
            wasm.as_ptr(),
            wasm.len(),
            output_mode(output),
            memory_bytes,
            table_elements,
            error.as_mut_ptr(),
            error.len(),
        )
    };
    NonNull::new(raw).ok_or_else(|| {
        // SAFETY: on failure the bridge wrote a NUL-terminated string into `error`, which is zeroed beforehand and
        // one byte longer than the longest message it writes, so a NUL is there either way.
        let why = one_line(&unsafe { CStr::from_ptr(error.as_ptr()) }.to_string_lossy());
        match budget.and_then(|b| b.refused(&why)) {
            Some(limit) => Error::OverBudget { module: name.to_string(), limit },
            None => Error::CppHost { message: format!("{name} {why}") },
        }
    })
}

impl CppHost {
    /// Checks `wasm` (binary, or WAT text if `is_text`, as for [`GuestModule::load`]) against the ABI with the
    /// Rust host core, then compiles, links and instantiates it in the C++ host; `name` names it in errors.
    pub fn new(name: &str, wasm: &[u8], is_text: bool, output: GuestOutput) -> Result<Self, Error> {
        Self::with_budget(name, wasm, is_text, output, None)
    }

    /// [`CppHost::new`] with a memory budget of `max_memory` bytes for the store (split as [`CppBudget`] says),
    /// a growth past it trapping as [`boundary_host::TrapKind::MemoryLimit`].
    pub fn with_budget(
        name: &str,
        wasm: &[u8],
        is_text: bool,
        output: GuestOutput,
        max_memory: Option<usize>,
    ) -> Result<Self, Error> {
        let check = HostOptions { output: GuestOutput::Discard, ..HostOptions::default() };
        let checked = GuestModule::load(name.to_string(), wasm, is_text, EngineProfile::CraneliftNone, check)?;
        let tables = checked.module().imports().filter(|i| i.ty().table().is_some()).count()
            + checked.module().resources_required().num_tables as usize;
        let budget = max_memory.map(|total| CppBudget::split(total, tables));
        let raw = create(name, wasm, output, budget)?;
        Ok(CppHost { raw, wasm: wasm.to_vec(), name: name.to_string(), output, budget, poisoned: None })
    }

    /// The error for an export this host does not bind.
    fn unbound(&self, abi: &AbiFunc) -> Error {
        Error::MissingExport { module: self.name.clone(), export: abi.name.to_string(), kind: "a function" }
    }

    fn last_error(&self) -> String {
        // SAFETY: `raw` is live; the bridge returns a NUL-terminated string it owns, valid until the next call on
        // this host, and it is copied out before any.
        one_line(&unsafe { CStr::from_ptr(boundary_cpp_last_error(self.raw.as_ptr())) }.to_string_lossy())
    }

    /// Turns a bridge status into a result; a failed call discards the instance, as after a trap in the Rust host.
    fn status(&mut self, export: &str, status: c_int) -> Result<(), Error> {
        if status == 0 {
            return Ok(());
        }
        self.poisoned = Some(export.to_string());
        let message = self.last_error();
        match self.budget.and_then(|b| b.refused(&message)) {
            Some(limit) => Err(Error::Trap { export: export.to_string(), trap: TrapKind::MemoryLimit(limit) }),
            None => Err(Error::CppHost { message }),
        }
    }

    fn usable(&self) -> Result<(), Error> {
        match &self.poisoned {
            Some(export) => Err(Error::StoreDiscarded { export: export.clone() }),
            None => Ok(()),
        }
    }

    /// Times `iterations` runs of `which` inside C++; `base` is 24 bytes of guest memory for the Point loop.
    pub fn time(&mut self, which: CppLoop, iterations: u64, base: u32) -> Result<Duration, Error> {
        self.usable()?;
        let mut ns = 0;
        // SAFETY: `raw` is live and `ns` a valid place for one u64.
        let status = unsafe { boundary_cpp_time(self.raw.as_ptr(), which as c_int, iterations, base, &mut ns) };
        self.status("(timed loop)", status)?;
        Ok(Duration::from_nanos(ns))
    }

    /// Grows linear memory by `pages`; returns the previous size in bytes.
    pub fn grow(&mut self, pages: u64) -> Result<usize, Error> {
        self.usable()?;
        let mut old = 0;
        // SAFETY: `raw` is live and `old` a valid place for one u64.
        let status = unsafe { boundary_cpp_grow(self.raw.as_ptr(), pages, &mut old) };
        if status != 0 {
            return Err(Error::Grow { pages, message: self.last_error() });
        }
        usize::try_from(old).ok().and_then(|p| p.checked_mul(WASM_PAGE)).ok_or(Error::Grow {
            pages,
            message: format!("a memory of {old} pages does not fit this host's address space"),
        })
    }

    fn call_u64(
        &mut self,
        export: &str,
        f: unsafe extern "C" fn(*mut RawCppHost, u64, u64, *mut u64) -> c_int,
        a: u64,
        b: u64,
    ) -> Result<u64, Error> {
        self.usable()?;
        let mut out = 0;
        // SAFETY: `f` is one of the bridge's `(host, a, b, out)` functions; `raw` is live and `out` a valid place.
        let status = unsafe { f(self.raw.as_ptr(), a, b, &mut out) };
        self.status(export, status)?;
        Ok(out)
    }
}

impl PatternHost for CppHost {
    fn just_add(&mut self, left: u64, right: u64) -> Result<u64, Error> {
        self.call_u64("just_add", boundary_cpp_just_add, left, right)
    }

    fn simple_add(&mut self, left: u64, right: u64) -> Result<u64, Error> {
        self.call_u64("simple_add", boundary_cpp_simple_add, left, right)
    }

    fn trigger_host_calls(&mut self, input: i32) -> Result<(), Error> {
        self.usable()?;
        // SAFETY: `raw` is live.
        let status = unsafe { boundary_cpp_trigger_host_calls(self.raw.as_ptr(), input) };
        self.status("trigger_host_calls", status)
    }

    fn point_add(&mut self, out: u32, a: u32, b: u32) -> Result<(), Error> {
        self.usable()?;
        // SAFETY: `raw` is live; the offsets are guest offsets, which the guest itself bounds-checks.
        let status = unsafe { boundary_cpp_point_add(self.raw.as_ptr(), out, a, b) };
        self.status("point_add", status)
    }

    fn plugin_shared_value_offset(&mut self) -> Result<usize, Error> {
        self.usable()?;
        let mut ptr = 0;
        // SAFETY: `raw` is live and `ptr` a valid place for one u32.
        let status = unsafe { boundary_cpp_plugin_shared_value_ptr(self.raw.as_ptr(), &mut ptr) };
        self.status("get_plugin_shared_value_ptr", status)?;
        static_offset(ptr, self.memory_size())
    }

    fn reads_plugin_shared_value(&self) -> bool {
        // SAFETY: `raw` is live.
        unsafe { boundary_cpp_has_read_plugin_shared_value(self.raw.as_ptr()) != 0 }
    }

    fn read_plugin_shared_value(&mut self) -> Result<i32, Error> {
        if !self.reads_plugin_shared_value() {
            let (module, export) = (self.name.clone(), "read_plugin_shared_value".to_string());
            return Err(Error::MissingExport { module, export, kind: "a function" });
        }
        self.usable()?;
        let mut value = 0;
        // SAFETY: `raw` is live and `value` a valid place for one i32.
        let status = unsafe { boundary_cpp_read_plugin_shared_value(self.raw.as_ptr(), &mut value) };
        self.status("read_plugin_shared_value", status)?;
        Ok(value)
    }

    fn take_guest_output(&mut self) -> Option<Vec<u8>> {
        if !matches!(self.output, GuestOutput::Keep { .. }) {
            return None;
        }
        let mut buf = vec![0; boundary_host::output::KEPT_BYTES];
        // SAFETY: `raw` is live and `buf` writable for `buf.len()` bytes; the bridge copies at most that many.
        let len = unsafe { boundary_cpp_take_output(self.raw.as_ptr(), buf.as_mut_ptr(), buf.len()) };
        buf.truncate(len);
        Some(buf)
    }

    fn read_bytes(&self, offset: usize, buf: &mut [u8]) -> Result<(), MemoryError> {
        // SAFETY: `raw` is live; `buf` is writable for `buf.len()` bytes, and the C++ host copies into it only after
        // checking that `offset .. offset + len` lies inside linear memory.
        match unsafe { boundary_cpp_read(self.raw.as_ptr(), offset, buf.as_mut_ptr(), buf.len()) } {
            0 => Ok(()),
            _ => Err(MemoryError { offset, len: buf.len(), memory_size: self.memory_size() }),
        }
    }

    fn write_bytes(&mut self, offset: usize, bytes: &[u8]) -> Result<(), MemoryError> {
        // SAFETY: as in `read_bytes`, with `bytes` readable for `bytes.len()` bytes.
        match unsafe { boundary_cpp_write(self.raw.as_ptr(), offset, bytes.as_ptr(), bytes.len()) } {
            0 => Ok(()),
            _ => Err(MemoryError { offset, len: bytes.len(), memory_size: self.memory_size() }),
        }
    }

    fn memory_size(&self) -> usize {
        // SAFETY: `raw` is live.
        unsafe { boundary_cpp_memory_size(self.raw.as_ptr()) }
    }

    fn reserve(&mut self, len: usize) -> Result<usize, Error> {
        self.grow(len.div_ceil(WASM_PAGE).max(1) as u64)
    }

    fn host_state(&self) -> (i32, Option<i32>, HostCalls) {
        let mut state = RawState::default();
        // SAFETY: `raw` is live and `state` a valid place for one `boundary_cpp_state`.
        unsafe { boundary_cpp_get_state(self.raw.as_ptr(), &mut state) };
        let calls = HostCalls {
            log_value: state.log_calls,
            get_shared_value: state.get_calls,
            set_shared_value: state.set_calls,
        };
        (state.shared_value, (state.logged != 0).then_some(state.last_logged), calls)
    }

    fn restart_host_state(&mut self, shared_value: i32) {
        let state = RawState { shared_value, ..RawState::default() };
        // SAFETY: `raw` is live and `state` a valid `boundary_cpp_state`, read during the call only.
        unsafe { boundary_cpp_set_state(self.raw.as_ptr(), &state) };
    }

    fn discarded_by(&self) -> Option<&str> {
        self.poisoned.as_deref()
    }

    fn reset(&mut self) -> Result<(), Error> {
        let fresh = create(&self.name, &self.wasm, self.output, self.budget)?;
        // SAFETY: the old `raw` came from `boundary_cpp_host_new` and is replaced right after, never used again.
        unsafe { boundary_cpp_host_free(self.raw.as_ptr()) };
        self.raw = fresh;
        self.poisoned = None;
        Ok(())
    }

    /// The C++ host binds the article's exports and `read_plugin_shared_value`, none of the bench exports.
    fn binds(&self, _export: &AbiFunc) -> Result<(), &'static str> {
        Err("not bound by the C++ host")
    }

    fn nop(&mut self) -> Result<(), Error> {
        Err(self.unbound(&export::NOP))
    }

    fn point_add_batch(&mut self, _out: u32, _a: u32, _b: u32, _count: u32) -> Result<(), Error> {
        Err(self.unbound(&export::POINT_ADD_BATCH))
    }

    fn call_host_n(&mut self, _count: u32) -> Result<(), Error> {
        Err(self.unbound(&export::CALL_HOST_N))
    }

    fn checksum_bytes(&mut self, _ptr: u32, _len: u32) -> Result<u64, Error> {
        Err(self.unbound(&export::CHECKSUM_BYTES))
    }

    fn fill_bytes(&mut self, _ptr: u32, _len: u32, _seed: u32) -> Result<(), Error> {
        Err(self.unbound(&export::FILL_BYTES))
    }

    fn within_deadline(
        &mut self,
        _timeout: Duration,
        _run: &mut dyn FnMut(&mut (dyn PatternHost + 'static)) -> Result<Verdict, Failure>,
    ) -> Result<Verdict, Failure> {
        Err(Error::NoDeadline { profile: "cranelift (the C++ host's only configuration)" }.into())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn wasmtime_messages_become_one_line() {
        let text =
            "failed to parse\n\nCaused by:\n    0: expected `(`\n    1: at line 1\n\nStack backtrace:\n   0: capture";
        assert_eq!(super::one_line(text), "failed to parse: expected `(`: at line 1");
        assert_eq!(super::one_line("plain"), "plain");
        let trap = "`just_add` trapped: error while executing at wasm backtrace:\n    0: <unknown>!ja\n    1:    0x104 - \
                    <unknown>!ja\n\nCaused by:\n    wasm trap: wasm `unreachable` instruction executed\n\nStack \
                    backtrace:\n   0: capture";
        assert_eq!(super::one_line(trap), "`just_add` trapped: wasm `unreachable` instruction executed");
    }
}
