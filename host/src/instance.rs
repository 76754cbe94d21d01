//! One instance of a guest in its own store ([`WasmHost`]): its exports resolved and typed once, every call into
//! the guest guarded (a trap or a host function's panic discards the store), and bounds-checked memory access.

use crate::abi_check::INITIALIZE;
use crate::call::{call_initialize, call_initialize_async, call_typed, call_typed_async, guarded};
use crate::deadline::{self, EpochTicker};
use crate::error::{Crossing, Error, MemoryError, one_line};
use crate::exports::Exports;
use crate::guest::{AbiFunc, WASM_PAGE, export};
use crate::memory::{GuestMemory, checked_range, guest_offset};
use crate::module::{GuestModule, started};
use crate::profile::EngineProfile;
use crate::state::{HostFuncStyle, HostState};
use bytemuck::Pod;
use futures::FutureExt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};
use wasmtime::{Func, Instance, Store, Val};

/// One instance of a guest in its own store, with its exports cached: the host side of every pattern.
///
/// After a call traps, the store is in an unknown state (the guest's stack pointer was not restored), so every
/// later call returns [`Error::StoreDiscarded`] until [`WasmHost::reset`] makes a fresh instance.
pub struct WasmHost {
    guest: GuestModule,
    store: Store<HostState>,
    instance: Instance,
    memory: GuestMemory,
    exports: Exports,
    poisoned: Option<String>,
}

impl std::fmt::Debug for WasmHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmHost")
            .field("guest", &self.guest)
            .field("state", self.store.data())
            .field("poisoned", &self.poisoned)
            .finish_non_exhaustive()
    }
}

/// Instances of a loaded module: here beside the instance they make, so that loading (`module.rs`) needs nothing of
/// the instance.
impl GuestModule {
    /// A new instance in a new store: the module's start function and, for a WASI reactor, its `_initialize` run
    /// here. A module linked with async host functions ([`HostFuncStyle::Async`]) is instantiated with
    /// [`GuestModule::instantiate_async`] instead.
    pub fn instantiate(&self) -> Result<WasmHost, Error> {
        self.instantiate_until(None)
    }

    /// [`GuestModule::instantiate`] with the store's deadline (`epoch` profile only) already set to `deadline`: how
    /// a reset keeps a pending deadline. The caller keeps an epoch ticker running for it.
    pub(crate) fn instantiate_until(&self, deadline: Option<Instant>) -> Result<WasmHost, Error> {
        if self.options.host_funcs == HostFuncStyle::Async {
            let message = "its host functions are async: instantiate it with `GuestModule::instantiate_async`";
            return Err(Error::Instantiate { module: self.name.clone(), message: message.to_string() });
        }
        let mut store = self.new_store()?;
        store.data_mut().deadline = deadline;
        let instance = self.instantiate_in(&mut store)?;
        WasmHost::from_parts(self.clone(), store, instance)
    }

    /// [`GuestModule::instantiate`] from async code (`InstancePre::instantiate_async`): how a module linked with
    /// async host functions is instantiated, and then called through the `_async` calls of [`WasmHost`].
    pub async fn instantiate_async(&self) -> Result<WasmHost, Error> {
        self.instantiate_async_until(None).await
    }

    pub(crate) async fn instantiate_async_until(&self, deadline: Option<Instant>) -> Result<WasmHost, Error> {
        let mut store = self.new_store()?;
        store.data_mut().deadline = deadline;
        let instantiated = AssertUnwindSafe(self.pre.instantiate_async(&mut store)).catch_unwind().await;
        let instance = started(&self.name, instantiated, store.data().limits.refused)?;
        if let Some(init) = &self.exports().initialize {
            call_initialize_async(&mut store, &instance, init, &INITIALIZE).await?;
        }
        WasmHost::from_parts(self.clone(), store, instance)
    }

    /// [`GuestModule::instantiate`] under a deadline: a start function or `_initialize` still running `timeout`
    /// after this starts is interrupted, as [`WasmHost::with_deadline`] interrupts a call. Needs the `epoch`
    /// profile ([`Error::NoDeadline`] under any other).
    pub fn instantiate_with_deadline(&self, timeout: Duration) -> Result<WasmHost, Error> {
        let deadline = self.deadline_after(timeout)?;
        let _ticker = deadline.map(|at| EpochTicker::start(&self.engine, at));
        let mut host = self.instantiate_until(deadline)?;
        host.state_mut().deadline = None;
        Ok(host)
    }

    /// [`GuestModule::instantiate_async`] under a deadline, as [`GuestModule::instantiate_with_deadline`]: a start
    /// function that never returns is interrupted instead of hanging the future. Needs the `epoch` profile.
    pub async fn instantiate_async_with_deadline(&self, timeout: Duration) -> Result<WasmHost, Error> {
        let deadline = self.deadline_after(timeout)?;
        let _ticker = deadline.map(|at| EpochTicker::start(&self.engine, at));
        let mut host = self.instantiate_async_until(deadline).await?;
        host.state_mut().deadline = None;
        Ok(host)
    }

    /// The instant `timeout` from now, for a deadline under the `epoch` profile ([`Error::NoDeadline`] otherwise).
    fn deadline_after(&self, timeout: Duration) -> Result<Option<Instant>, Error> {
        if self.profile != EngineProfile::Epoch {
            return Err(Error::NoDeadline { profile: self.profile.name() });
        }
        Ok(deadline::instant_after(timeout))
    }

    fn instantiate_in(&self, store: &mut Store<HostState>) -> Result<wasmtime::Instance, Error> {
        // A start function can call an embedder's host function, which can panic: caught here as in every call.
        let instantiated = catch_unwind(AssertUnwindSafe(|| self.pre.instantiate(&mut *store)));
        let instance = started(&self.name, instantiated, store.data().limits.refused)?;
        if let Some(init) = &self.exports().initialize {
            call_initialize(store, &instance, init, &INITIALIZE)?;
        }
        Ok(instance)
    }
}

/// An optional export the module lacks. Takes the module's name rather than the `GuestModule`: see [`guarded`]
/// on why no pointer into the `WasmHost` goes to a function the optimiser cannot see into.
#[cold]
#[inline(never)]
fn absent(module: &str, abi: &AbiFunc) -> Error {
    Error::MissingExport { module: module.to_string(), export: abi.name.to_string(), kind: "a function" }
}

impl WasmHost {
    /// The host of a new instance of `guest` in `store`, its exports resolved and typed.
    pub(crate) fn from_parts(
        guest: GuestModule,
        mut store: Store<HostState>,
        instance: Instance,
    ) -> Result<Self, Error> {
        let exports = Exports::resolve(&mut store, &instance, guest.exports())?;
        Ok(WasmHost { guest, store, instance, memory: exports.memory, exports, poisoned: None })
    }

    /// Loads nothing: instantiates `guest` (shorthand for [`GuestModule::instantiate`]).
    pub fn new(guest: &GuestModule) -> Result<Self, Error> {
        guest.instantiate()
    }

    /// Discards this store and instance and makes fresh ones: guest and host state start over.
    /// A deadline pending on this store ([`WasmHost::with_deadline`]) carries over to the new one, and bounds the
    /// new instance's start function too.
    pub fn reset(&mut self) -> Result<(), Error> {
        *self = self.guest.instantiate_until(self.store.data().deadline)?;
        Ok(())
    }

    /// [`WasmHost::reset`] from async code, for a module linked with async host functions.
    pub async fn reset_async(&mut self) -> Result<(), Error> {
        *self = self.guest.instantiate_async_until(self.store.data().deadline).await?;
        Ok(())
    }

    /// The deadline pending on this store ([`WasmHost::with_deadline`]), if one is.
    pub fn deadline(&self) -> Option<std::time::Instant> {
        self.store.data().deadline
    }

    /// The export whose trap discarded this store, if one did.
    pub fn discarded_by(&self) -> Option<&str> {
        self.poisoned.as_deref()
    }

    pub fn guest(&self) -> &GuestModule {
        &self.guest
    }

    pub fn state(&self) -> &HostState {
        self.store.data()
    }

    pub fn state_mut(&mut self) -> &mut HostState {
        self.store.data_mut()
    }

    /// The store, for measuring raw wasmtime beside this core.
    pub fn store(&self) -> &Store<HostState> {
        &self.store
    }

    /// The store, for measuring raw wasmtime beside this core.
    pub fn store_mut(&mut self) -> &mut Store<HostState> {
        &mut self.store
    }

    pub fn instance(&self) -> Instance {
        self.instance
    }

    pub fn memory(&self) -> GuestMemory {
        self.memory
    }

    /// Pattern 1: `just_add(left, right)`.
    #[inline]
    pub fn just_add(&mut self, left: u64, right: u64) -> Result<u64, Error> {
        let f = &self.exports.just_add;
        call_typed(&mut self.store, &mut self.poisoned, f, &export::JUST_ADD, (left, right), &self.instance)
    }

    /// Pattern 5: `simple_add(left, right)`.
    #[inline]
    pub fn simple_add(&mut self, left: u64, right: u64) -> Result<u64, Error> {
        let f = &self.exports.simple_add;
        call_typed(&mut self.store, &mut self.poisoned, f, &export::SIMPLE_ADD, (left, right), &self.instance)
    }

    /// Pattern 2: `trigger_host_calls(input)`, which calls back into the three host functions.
    #[inline]
    pub fn trigger_host_calls(&mut self, input: i32) -> Result<(), Error> {
        let f = &self.exports.trigger_host_calls;
        call_typed(&mut self.store, &mut self.poisoned, f, &export::TRIGGER_HOST_CALLS, input, &self.instance)
    }

    /// Pattern 3: `point_add(out, a, b)` on guest offsets.
    #[inline]
    pub fn point_add(&mut self, out: u32, a: u32, b: u32) -> Result<(), Error> {
        let f = &self.exports.point_add;
        call_typed(&mut self.store, &mut self.poisoned, f, &export::POINT_ADD, (out, a, b), &self.instance)
    }

    /// Pattern 4: the guest offset of its `PLUGIN_SHARED_VALUE` static, as the guest reports it.
    pub fn plugin_shared_value_ptr(&mut self) -> Result<u32, Error> {
        let f = &self.exports.get_plugin_shared_value_ptr;
        call_typed(&mut self.store, &mut self.poisoned, f, &export::GET_PLUGIN_SHARED_VALUE_PTR, (), &self.instance)
    }

    /// Pattern 4, checked: the offset of the guest's `PLUGIN_SHARED_VALUE`, if the pointer the guest returns
    /// leaves room for an `i32` inside linear memory ([`MemoryError`] if not) and is aligned for one
    /// ([`Error::MisalignedPointer`] if not). A guest that hands the host a pointer it should not follow is
    /// refused before the host reads or writes anything.
    pub fn plugin_shared_value_offset(&mut self) -> Result<usize, Error> {
        let ptr = self.plugin_shared_value_ptr()?;
        static_offset(ptr, self.memory_size())
    }

    /// Pattern 5: the guest's own reading of `PLUGIN_SHARED_VALUE` ([`Error::MissingExport`] for a guest without
    /// this export; [`GuestModule::reads_plugin_shared_value`] says which).
    pub fn read_plugin_shared_value(&mut self) -> Result<i32, Error> {
        let abi = &export::READ_PLUGIN_SHARED_VALUE;
        let f = self.exports.read_plugin_shared_value.as_ref().ok_or_else(|| absent(&self.guest.name, abi))?;
        call_typed(&mut self.store, &mut self.poisoned, f, abi, (), &self.instance)
    }

    /// What the guest wrote to stdout since the last take (at most [`crate::output::KEPT_BYTES`]), when its
    /// module was loaded with [`crate::GuestOutput::Keep`]; `None` otherwise.
    pub fn take_output(&mut self) -> Option<Vec<u8>> {
        self.store.data().take_output()
    }

    /// The empty export.
    #[inline]
    pub fn nop(&mut self) -> Result<(), Error> {
        let f = self.exports.nop.as_ref().ok_or_else(|| absent(&self.guest.name, &export::NOP))?;
        call_typed(&mut self.store, &mut self.poisoned, f, &export::NOP, (), &self.instance)
    }

    /// `point_add` over `count` consecutive Points at guest offsets.
    #[inline]
    pub fn point_add_batch(&mut self, out: u32, a: u32, b: u32, count: u32) -> Result<(), Error> {
        let abi = &export::POINT_ADD_BATCH;
        let f = self.exports.point_add_batch.as_ref().ok_or_else(|| absent(&self.guest.name, abi))?;
        call_typed(&mut self.store, &mut self.poisoned, f, abi, (out, a, b, count), &self.instance)
    }

    /// Makes the guest call `host_log_value` `count` times.
    #[inline]
    pub fn call_host_n(&mut self, count: u32) -> Result<(), Error> {
        let abi = &export::CALL_HOST_N;
        let f = self.exports.call_host_n.as_ref().ok_or_else(|| absent(&self.guest.name, abi))?;
        call_typed(&mut self.store, &mut self.poisoned, f, abi, count, &self.instance)
    }

    /// The guest's checksum of `len` bytes at `ptr` (`checksum_bytes`).
    #[inline]
    pub fn checksum_bytes(&mut self, ptr: u32, len: u32) -> Result<u64, Error> {
        let abi = &export::CHECKSUM_BYTES;
        let f = self.exports.checksum_bytes.as_ref().ok_or_else(|| absent(&self.guest.name, abi))?;
        call_typed(&mut self.store, &mut self.poisoned, f, abi, (ptr, len), &self.instance)
    }

    /// Makes the guest fill `len` bytes at `ptr` with the pattern of `seed` (`fill_bytes`).
    #[inline]
    pub fn fill_bytes(&mut self, ptr: u32, len: u32, seed: u32) -> Result<(), Error> {
        let abi = &export::FILL_BYTES;
        let f = self.exports.fill_bytes.as_ref().ok_or_else(|| absent(&self.guest.name, abi))?;
        call_typed(&mut self.store, &mut self.poisoned, f, abi, (ptr, len, seed), &self.instance)
    }

    /// [`WasmHost::just_add`] from async code (`TypedFunc::call_async`).
    pub async fn just_add_async(&mut self, left: u64, right: u64) -> Result<u64, Error> {
        let f = &self.exports.just_add;
        call_typed_async(&mut self.store, &mut self.poisoned, f, &export::JUST_ADD, (left, right), &self.instance).await
    }

    /// [`WasmHost::nop`] from async code.
    pub async fn nop_async(&mut self) -> Result<(), Error> {
        let f = self.exports.nop.as_ref().ok_or_else(|| absent(&self.guest.name, &export::NOP))?;
        call_typed_async(&mut self.store, &mut self.poisoned, f, &export::NOP, (), &self.instance).await
    }

    /// [`WasmHost::trigger_host_calls`] from async code: the one call that works when the host functions are
    /// async ([`crate::HostFuncStyle::Async`]).
    pub async fn trigger_host_calls_async(&mut self, input: i32) -> Result<(), Error> {
        let (f, abi) = (&self.exports.trigger_host_calls, &export::TRIGGER_HOST_CALLS);
        call_typed_async(&mut self.store, &mut self.poisoned, f, abi, input, &self.instance).await
    }

    /// [`WasmHost::call_host_n`] from async code.
    pub async fn call_host_n_async(&mut self, count: u32) -> Result<(), Error> {
        let abi = &export::CALL_HOST_N;
        let f = self.exports.call_host_n.as_ref().ok_or_else(|| absent(&self.guest.name, abi))?;
        call_typed_async(&mut self.store, &mut self.poisoned, f, abi, count, &self.instance).await
    }

    /// An export as an untyped function, for the `Val` call path. Look it up once, outside any loop.
    pub fn func(&mut self, name: &str) -> Result<Func, Error> {
        self.instance.get_func(&mut self.store, name).ok_or_else(|| Error::MissingExport {
            module: self.guest.name.clone(),
            export: name.to_string(),
            kind: "a function",
        })
    }

    /// Calls `func` through the untyped path with caller-owned `Val` buffers.
    #[inline]
    pub fn call_func(&mut self, func: &Func, params: &[Val], results: &mut [Val]) -> Result<(), Error> {
        let crossing = Crossing::Checked;
        guarded(&mut self.store, &mut self.poisoned, "(untyped call)", crossing, |store| {
            func.call(store, params, results)
        })
    }

    /// Looks `name` up and calls it through the untyped path: for exports outside the ABI, where a lookup per
    /// call does not matter. Errors name the export.
    pub fn call_export(&mut self, name: &str, params: &[Val], results: &mut [Val]) -> Result<(), Error> {
        let func = self.func(name)?;
        guarded(&mut self.store, &mut self.poisoned, name, Crossing::Checked, |store| func.call(store, params, results))
    }

    /// Runs `run` with a deadline: a guest still running `timeout` after this starts is interrupted with
    /// `Trap::Interrupt` (and its store discarded, like after any trap). Needs the `epoch` profile, whose code
    /// checks the engine's epoch (see `deadline.rs`). The deadline holds for everything `run` does with this host,
    /// a [`WasmHost::reset`] included; nested in another deadline, the nearer of the two holds, and the outer one
    /// is back when this returns or unwinds. Each store checks its own deadline, so deadlines of other stores of
    /// the same engine, running at the same time, do not disturb it.
    pub fn with_deadline<R>(&mut self, timeout: Duration, run: impl FnOnce(&mut Self) -> R) -> Result<R, Error> {
        if self.guest.profile != EngineProfile::Epoch {
            return Err(Error::NoDeadline { profile: self.guest.profile.name() });
        }
        let engine = self.guest.engine.clone();
        Ok(deadline::within(self, &engine, timeout, |host| &mut host.store.data_mut().deadline, run))
    }

    /// Reads a plain-old-data value at a guest offset, bounds-checked, by copy.
    #[inline]
    pub fn read<T: Pod>(&self, offset: usize) -> Result<T, MemoryError> {
        #[cfg(feature = "inject-slowdown")]
        crate::slowdown::on_memory_access();
        self.memory.read(&self.store, offset)
    }

    /// Writes a plain-old-data value at a guest offset, bounds-checked, by copy.
    #[inline]
    pub fn write<T: Pod>(&mut self, offset: usize, value: &T) -> Result<(), MemoryError> {
        #[cfg(feature = "inject-slowdown")]
        crate::slowdown::on_memory_access();
        self.memory.write(&mut self.store, offset, value)
    }

    /// Fills `buf` from guest memory at `offset`, bounds-checked.
    #[inline]
    pub fn read_bytes(&self, offset: usize, buf: &mut [u8]) -> Result<(), MemoryError> {
        self.memory.read_bytes(&self.store, offset, buf)
    }

    /// Copies `bytes` into guest memory at `offset`, bounds-checked.
    #[inline]
    pub fn write_bytes(&mut self, offset: usize, bytes: &[u8]) -> Result<(), MemoryError> {
        self.memory.write_bytes(&mut self.store, offset, bytes)
    }

    /// Current size of linear memory in bytes.
    pub fn memory_size(&self) -> usize {
        self.memory.size(&self.store)
    }

    /// Grows linear memory by `pages` 64 KiB pages; returns the previous size in bytes.
    pub fn grow(&mut self, pages: u64) -> Result<usize, Error> {
        let old_pages =
            self.memory.raw().grow(&mut self.store, pages).map_err(|e| Error::Grow { pages, message: one_line(&e) })?;
        usize::try_from(old_pages).ok().and_then(|p| p.checked_mul(WASM_PAGE)).ok_or(Error::Grow {
            pages,
            message: format!("a memory of {old_pages} pages does not fit this host's address space"),
        })
    }

    /// Reserves `len` bytes of linear memory that nothing in the guest owns, by growing memory: the guest's
    /// shadow stack, statics and heap all lie below the old end, and the guest's allocator only uses pages it
    /// grew itself. Returns the offset of the reserved bytes.
    pub fn reserve(&mut self, len: usize) -> Result<usize, Error> {
        let pages = len.div_ceil(WASM_PAGE).max(1) as u64;
        self.grow(pages)
    }
}

/// The offset of the guest static whose pointer `get_plugin_shared_value_ptr` returned, if an `i32` there lies
/// inside a memory of `memory_size` bytes ([`MemoryError`] if not) and is aligned ([`Error::MisalignedPointer`] if
/// not). Every host, Rust or C++, checks the guest's pointer with this before following it.
pub fn static_offset(ptr: u32, memory_size: usize) -> Result<usize, Error> {
    let at = guest_offset(ptr);
    checked_range(at, size_of::<i32>(), memory_size)?;
    let align = align_of::<i32>();
    if !at.is_multiple_of(align) {
        return Err(Error::MisalignedPointer { export: export::GET_PLUGIN_SHARED_VALUE_PTR.name, offset: at, align });
    }
    Ok(at)
}
