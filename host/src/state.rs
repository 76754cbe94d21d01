//! The host's side of a store: its state, the `env` host functions that read and change it, the memory limit, and
//! the options chosen once per loaded module.

use crate::error::{Grown, MemoryLimitExceeded};
use crate::guest::{AbiFunc, AbiType, import};
#[cfg(feature = "wasi")]
use crate::output::KeptOutput;
use crate::profile::UNMETERED_FUEL;
use std::mem::MaybeUninit;
use wasmtime::{Caller, FuncType, Linker, ResourceLimiter, Val, ValRaw, ValType};
#[cfg(feature = "wasi")]
use wasmtime_wasi::p1::WasiP1Ctx;

/// The host's state, kept in the `Store` data (never in globals), read and changed by the `env` host functions.
pub struct HostState {
    /// The value the guest reads with `host_get_shared_value` and replaces with `host_set_shared_value`.
    pub shared_value: i32,
    /// The last value passed to `host_log_value`.
    pub last_logged: Option<i32>,
    /// How many times the guest called each host function since the store was made.
    pub calls: HostCalls,
    /// The store's memory limit, and the last growth it refused.
    pub limits: MemoryLimit,
    /// How many times the call hook ran (entering or leaving wasm or a host function), when
    /// [`HostOptions::call_hook`] installed one.
    pub hook_calls: u64,
    /// When code in this store is interrupted (`epoch` profile only; `deadline.rs`): set by
    /// [`crate::WasmHost::with_deadline`] and its kin, carried into the new store by a reset.
    pub(crate) deadline: Option<std::time::Instant>,
    /// What the guest wrote to stdout, when [`GuestOutput::Keep`] asks for it.
    #[cfg(feature = "wasi")]
    pub(crate) kept: Option<KeptOutput>,
    #[cfg(feature = "wasi")]
    pub(crate) wasi: WasiP1Ctx,
}

impl HostState {
    /// What the guest wrote to stdout since the last take, if its output is kept.
    pub(crate) fn take_output(&self) -> Option<Vec<u8>> {
        #[cfg(feature = "wasi")]
        return self.kept.as_ref().map(|kept| kept.take());
        #[cfg(not(feature = "wasi"))]
        None
    }
}

/// WASI 0.2 for a guest component (its `wasi:cli` output, for one), on the same context as WASI preview 1.
#[cfg(feature = "wasi")]
impl wasmtime_wasi::WasiView for HostState {
    fn ctx(&mut self) -> wasmtime_wasi::WasiCtxView<'_> {
        self.wasi.ctx()
    }
}

impl std::fmt::Debug for HostState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostState")
            .field("shared_value", &self.shared_value)
            .field("last_logged", &self.last_logged)
            .field("calls", &self.calls)
            .field("limits", &self.limits)
            .field("hook_calls", &self.hook_calls)
            .finish_non_exhaustive()
    }
}

/// Per-function call counters of the host functions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostCalls {
    pub log_value: u64,
    pub get_shared_value: u64,
    pub set_shared_value: u64,
}

impl std::fmt::Display for HostCalls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "host_log_value {}x, host_get_shared_value {}x, host_set_shared_value {}x",
            self.log_value, self.get_shared_value, self.set_shared_value
        )
    }
}

/// The store's memory budget, [`HostOptions::max_memory`] bytes for everything the guest makes grow in it: every
/// linear memory (a component's core instances may have several) and every table, counted together, from their
/// creation at instantiation on. A growth that would take the total past the budget fails (the guest's
/// `memory.grow` or `table.grow` returns -1, a host [`crate::WasmHost::grow`] is an error) or, with
/// [`HostOptions::trap_on_grow_failure`], traps with [`crate::TrapKind::MemoryLimit`].
///
/// A table is charged [`TABLE_ELEMENT_BYTES`] per element. The GC heap where exception objects live grows through
/// the limiter as a memory does, so it is counted with them (wasm GC itself is off in every profile: `profile.rs`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryLimit {
    pub max_bytes: Option<usize>,
    pub trap_on_failure: bool,
    /// Bytes of linear memory and tables the store's guest has now, as the budget counts them.
    pub used: usize,
    /// The last growth the limit was asked for, if it refused it (an admitted growth clears it).
    pub refused: Option<MemoryLimitExceeded>,
    /// `used` before the last admitted growth: what a growth that then fails elsewhere (a pool slot too small for a
    /// GC heap, a failed mapping) gives back.
    pub used_before: usize,
}

/// What a table costs the budget per element. wasmtime 48 stores a funcref table element in 8 bytes (a GC
/// reference in 4; continuation tables need stack switching, which no profile turns on), and a table that grows
/// (not pooled) keeps its elements in a vector that may reserve up to twice the elements it holds: 16 bytes an
/// element bounds what it really allocates.
pub const TABLE_ELEMENT_BYTES: usize = 16;

impl MemoryLimit {
    /// Admits a memory or table of `kind` growing from `current` to `desired` bytes, if the store's total stays
    /// within the budget; a growth that would not pass the budget but that the memory or table cannot take anyway
    /// (`fits` false: past its own maximum) fails without being counted.
    fn admit(&mut self, kind: Grown, current: usize, desired: usize, fits: bool) -> wasmtime::Result<bool> {
        let total = self.used.saturating_sub(current).saturating_add(desired);
        match self.max_bytes {
            Some(limit) if total > limit => {
                let refused = MemoryLimitExceeded { grown: kind, size: desired, requested: total, limit };
                self.refused = Some(refused);
                if self.trap_on_failure { Err(refused.into()) } else { Ok(false) }
            }
            _ if !fits => Ok(false),
            _ => {
                self.refused = None;
                self.used_before = self.used;
                self.used = total;
                Ok(true)
            }
        }
    }
}

impl ResourceLimiter for MemoryLimit {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        // wasmtime has already refused a growth past the memory's own maximum by now.
        self.admit(Grown::Memory, current, desired, true)
    }

    /// A table's growth is weighed against the budget before its own maximum (which, under the pooling allocator,
    /// is the pool's slot), so that a guest asking for more than the budget is stopped as such everywhere.
    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        let bytes = |elements: usize| elements.saturating_mul(TABLE_ELEMENT_BYTES);
        let fits = maximum.is_none_or(|max| desired <= max);
        self.admit(Grown::Table, bytes(current), bytes(desired), fits)
    }

    /// An admitted growth failed after all: what it counted is given back.
    fn memory_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        self.used = self.used_before;
        Ok(())
    }

    fn table_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        self.used = self.used_before;
        Ok(())
    }
}

// The three host functions, written once; `link_env` wraps them typed or untyped for core modules, and the
// component's `host` interface calls them too (`component/mod.rs`). No printing, formatting or
// allocation here: they are on the measured path of every callback.
pub(crate) fn host_log_value(state: &mut HostState, value: i32) {
    state.last_logged = Some(value);
    state.calls.log_value += 1;
}

pub(crate) fn host_get_shared_value(state: &mut HostState) -> i32 {
    state.calls.get_shared_value += 1;
    state.shared_value
}

pub(crate) fn host_set_shared_value(state: &mut HostState, value: i32) {
    state.calls.set_shared_value += 1;
    state.shared_value = value;
}

/// Where the guest's stdout and stderr go. What is shown goes through [`crate::console`]: line by line, each line
/// marked as the guest's, control characters escaped, at most [`crate::console::GUEST_SHOWN_BYTES`] per process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum GuestOutput {
    /// Shown on the host process's stdout and stderr.
    #[default]
    Inherit,
    /// Nowhere (the guest's writes succeed).
    Discard,
    /// Stdout is kept for [`crate::WasmHost::take_output`] (the first [`crate::output::KEPT_BYTES`] bytes since
    /// the last take, as the guest wrote them) and, with `echo`, also shown as it arrives; stderr is shown with
    /// `echo`, dropped without.
    Keep { echo: bool },
}

/// How the `env` host functions are defined in the linker.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HostFuncStyle {
    /// `Linker::func_wrap`: statically typed closures.
    #[default]
    Typed,
    /// `Linker::func_new`: closures over `&[Val]` and `&mut [Val]`.
    Untyped,
    /// `Linker::func_new_unchecked`: closures over raw `ValRaw` slots, no type checks per call.
    Unchecked,
    /// `Linker::func_wrap_async`: closures returning futures. A guest linked so can only be called through the
    /// `_async` calls of [`crate::WasmHost`]: a plain call is an error.
    Async,
}

/// Choices made once per loaded module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostOptions {
    pub output: GuestOutput,
    pub host_funcs: HostFuncStyle,
    /// Fuel given to each store under the `fuel` profile.
    pub fuel: u64,
    /// The most linear memory a store may have, in bytes; `None` leaves wasmtime's own limits (4 GiB for a
    /// 32-bit memory).
    pub max_memory: Option<usize>,
    /// Whether a growth past `max_memory` traps instead of failing.
    pub trap_on_grow_failure: bool,
    /// Whether the guest's WASI world is deterministic: its clocks stand still at a fixed instant and its random
    /// numbers come from a fixed seed, so that two runs of the same input see the same world (the differential
    /// fuzzer's stores).
    pub deterministic: bool,
    /// Whether each store gets a call hook (`Store::call_hook`), which counts every crossing in
    /// [`HostState::hook_calls`]: what a hook costs, for embedders that need one.
    pub call_hook: bool,
    /// What the host does with function imports it does not provide: refuse the module, or define them to trap.
    pub foreign_imports: crate::imports::ForeignImports,
}

impl Default for HostOptions {
    fn default() -> Self {
        HostOptions {
            output: GuestOutput::Inherit,
            host_funcs: HostFuncStyle::Typed,
            fuel: UNMETERED_FUEL,
            max_memory: None,
            trap_on_grow_failure: false,
            call_hook: false,
            deterministic: false,
            foreign_imports: crate::imports::ForeignImports::Refuse,
        }
    }
}

/// Defines the three `env` host functions, typed (`func_wrap`) or untyped (`func_new`).
pub(crate) fn link_env(linker: &mut Linker<HostState>, style: HostFuncStyle) -> wasmtime::Result<()> {
    let m = import::MODULE;
    match style {
        HostFuncStyle::Typed => {
            linker.func_wrap(m, import::HOST_LOG_VALUE.name, |mut c: Caller<'_, HostState>, v: i32| {
                host_log_value(c.data_mut(), v)
            })?;
            linker.func_wrap(m, import::HOST_GET_SHARED_VALUE.name, |mut c: Caller<'_, HostState>| {
                host_get_shared_value(c.data_mut())
            })?;
            linker.func_wrap(m, import::HOST_SET_SHARED_VALUE.name, |mut c: Caller<'_, HostState>, v: i32| {
                host_set_shared_value(c.data_mut(), v)
            })?;
        }
        HostFuncStyle::Untyped => {
            let ty = func_type(linker);
            linker.func_new(m, import::HOST_LOG_VALUE.name, ty(&import::HOST_LOG_VALUE), |mut c, params, _| {
                host_log_value(c.data_mut(), i32_param(params)?);
                Ok(())
            })?;
            linker.func_new(
                m,
                import::HOST_GET_SHARED_VALUE.name,
                ty(&import::HOST_GET_SHARED_VALUE),
                |mut c, _, results| {
                    let value = host_get_shared_value(c.data_mut());
                    let slot = results.first_mut().ok_or_else(|| wasmtime::format_err!("no result slot"))?;
                    *slot = Val::I32(value);
                    Ok(())
                },
            )?;
            linker.func_new(
                m,
                import::HOST_SET_SHARED_VALUE.name,
                ty(&import::HOST_SET_SHARED_VALUE),
                |mut c, params, _| {
                    host_set_shared_value(c.data_mut(), i32_param(params)?);
                    Ok(())
                },
            )?;
        }
        HostFuncStyle::Unchecked => {
            let ty = func_type(linker);
            // SAFETY: each closure reads and writes exactly the slots its function type gives it: an i32 parameter in
            // slot 0 for the two that take one (wasmtime initialises parameter slots before the call), an i32 result
            // written to slot 0 for the one that returns one (the slice has room for max(params, results) values).
            // No slot holds a reference, so nothing is rooted or must outlive the call.
            unsafe {
                linker.func_new_unchecked(
                    m,
                    import::HOST_LOG_VALUE.name,
                    ty(&import::HOST_LOG_VALUE),
                    |mut c, v| {
                        host_log_value(c.data_mut(), raw_i32(v)?);
                        Ok(())
                    },
                )?;
                linker.func_new_unchecked(
                    m,
                    import::HOST_GET_SHARED_VALUE.name,
                    ty(&import::HOST_GET_SHARED_VALUE),
                    |mut c, v| {
                        let value = host_get_shared_value(c.data_mut());
                        let slot = v.first_mut().ok_or_else(|| wasmtime::format_err!("no result slot"))?;
                        slot.write(ValRaw::i32(value));
                        Ok(())
                    },
                )?;
                linker.func_new_unchecked(
                    m,
                    import::HOST_SET_SHARED_VALUE.name,
                    ty(&import::HOST_SET_SHARED_VALUE),
                    |mut c, v| {
                        host_set_shared_value(c.data_mut(), raw_i32(v)?);
                        Ok(())
                    },
                )?;
            }
        }
        HostFuncStyle::Async => {
            // The functions themselves do not wait for anything; the futures complete when first polled. What
            // these rows measure is wasmtime's async machinery around them.
            linker.func_wrap_async(m, import::HOST_LOG_VALUE.name, |mut c: Caller<'_, HostState>, (v,): (i32,)| {
                host_log_value(c.data_mut(), v);
                Box::new(std::future::ready(()))
            })?;
            linker.func_wrap_async(m, import::HOST_GET_SHARED_VALUE.name, |mut c: Caller<'_, HostState>, (): ()| {
                Box::new(std::future::ready(host_get_shared_value(c.data_mut())))
            })?;
            linker.func_wrap_async(
                m,
                import::HOST_SET_SHARED_VALUE.name,
                |mut c: Caller<'_, HostState>, (v,): (i32,)| {
                    host_set_shared_value(c.data_mut(), v);
                    Box::new(std::future::ready(()))
                },
            )?;
        }
    }
    Ok(())
}

/// The wasmtime function type of an ABI function, for the linker's engine.
fn func_type(linker: &Linker<HostState>) -> impl Fn(&AbiFunc) -> FuncType + use<> {
    let engine = linker.engine().clone();
    move |f: &AbiFunc| {
        let val = |t: &AbiType| match t {
            AbiType::I32 => ValType::I32,
            AbiType::I64 => ValType::I64,
        };
        FuncType::new(&engine, f.params.iter().map(val), f.results.iter().map(val))
    }
}

/// The i32 parameter in slot 0 of an unchecked host function's slots.
fn raw_i32(values: &[MaybeUninit<ValRaw>]) -> wasmtime::Result<i32> {
    let slot = values.first().ok_or_else(|| wasmtime::format_err!("expected one i32 parameter, got none"))?;
    // SAFETY: wasmtime writes the parameters into the first slots before calling an unchecked host function, and
    // every caller of this has an i32 parameter first.
    Ok(unsafe { slot.assume_init_ref() }.get_i32())
}

fn i32_param(params: &[Val]) -> wasmtime::Result<i32> {
    params.first().and_then(Val::i32).ok_or_else(|| wasmtime::format_err!("expected one i32 parameter, got {params:?}"))
}
