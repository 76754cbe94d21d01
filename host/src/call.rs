//! The guard around every call into a guest, for modules and components alike: a call refused on a discarded store,
//! a failure classified and the store marked as discarded, a host function's panic caught, the drop of an async
//! call's future part-way handled; and a WASI reactor's `_initialize`, run through it.

use crate::error::{Crossing, Error, MemoryLimitExceeded};
use crate::exports::typed;
use crate::guest::AbiFunc;
use crate::state::HostState;
use futures::FutureExt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use wasmtime::{AsContextMut, Instance, ModuleExport, Store, StoreContextMut, TypedFunc, WasmParams, WasmResults};

/// Every call into the guest goes through here: refused on a discarded store, and a failure classified, with the
/// store marked as discarded. A host function that panics unwinds out of wasmtime's call (wasmtime carries the
/// panic across the guest's frames); it is caught here, so the harness carries on, and the store, left mid-call,
/// is discarded like after a trap. On the normal path the unwind guard costs nothing.
///
/// Written so that the optimiser can keep the `WasmHost`'s fields (the store pointer, the memory handle) in
/// registers across calls, as it does for raw wasmtime code: no pointer into the `WasmHost` may reach code it
/// cannot see into, or it must assume that code changed the fields and reload them after every call and every
/// write into guest memory. So `call` gets a `StoreContextMut` (a pointer to the store's inner data, not to the
/// `Store` field), the cold paths get only names, never `&mut self.poisoned` or the `GuestModule`, and
/// [`call_typed`] keeps the parameters apart from the pointer to the function (see there). Inlined always, so
/// that every caller gets the same code. Measured by the gate (`cargo bench --bench gate`), the core now costs 4-10
/// instructions more than raw wasmtime per call (of 300-540); with the parameters captured by value next to
/// `func`, the Point round trip cost 28 more (466 instructions against raw wasmtime's 438).
#[inline(always)]
pub(crate) fn guarded<R>(
    store: &mut Store<HostState>,
    poisoned: &mut Option<String>,
    export: &str,
    crossing: Crossing,
    call: impl FnOnce(StoreContextMut<'_, HostState>) -> wasmtime::Result<R>,
) -> Result<R, Error> {
    if let Some(by) = poisoned {
        return Err(discarded(by.as_str()));
    }
    let context = store.as_context_mut();
    match catch_unwind(AssertUnwindSafe(move || call(context))) {
        Ok(Ok(results)) => Ok(results),
        Ok(Err(e)) => {
            *poisoned = Some(owned(export));
            Err(trapped(export, e, crossing, store.data().limits.refused))
        }
        Err(payload) => {
            *poisoned = Some(owned(export));
            Err(panicked(export, payload))
        }
    }
}

/// Calls a typed export through [`guarded`]. The closure captures `params` by reference (they are plain numbers,
/// hence `Copy`): wasmtime reads the parameters through a pointer, and captured by value they would sit in the
/// unwind guard's data next to `func`, a pointer into the `WasmHost`, which would then count as escaped.
#[inline(always)]
pub(crate) fn call_typed<P: WasmParams + Copy, R: WasmResults>(
    store: &mut Store<HostState>,
    poisoned: &mut Option<String>,
    func: &TypedFunc<P, R>,
    abi: &AbiFunc,
    params: P,
    #[cfg_attr(not(feature = "inject-slowdown"), allow(unused_variables))] instance: &Instance,
) -> Result<R, Error> {
    #[cfg(feature = "inject-slowdown")]
    crate::slowdown::on_call(&mut *store, instance, abi.name);
    guarded(store, poisoned, abi.name, Crossing::Checked, |store| func.call(store, params))
}

/// The async path of [`call_typed`]: `TypedFunc::call_async`, refused on a discarded store, a failure classified
/// and the store discarded, a panic of a host function caught (`FutureExt::catch_unwind`, the async form of the
/// unwind guard). For embedders that call guests from async code and host functions defined with
/// [`crate::HostFuncStyle::Async`]. A future dropped before it completes (an embedder's timeout, a `select!` that
/// took another branch) leaves the guest unwound in the middle of the call, so the store is discarded then too, as
/// after a trap: [`DiscardUnlessFinished`] marks it when the future is dropped unfinished.
pub(crate) async fn call_typed_async<P: WasmParams + Copy + Sync, R: WasmResults + Sync>(
    store: &mut Store<HostState>,
    poisoned: &mut Option<String>,
    func: &TypedFunc<P, R>,
    abi: &AbiFunc,
    params: P,
    #[cfg_attr(not(feature = "inject-slowdown"), allow(unused_variables))] instance: &Instance,
) -> Result<R, Error> {
    #[cfg(feature = "inject-slowdown")]
    crate::slowdown::on_call(&mut *store, instance, abi.name);
    if let Some(by) = poisoned {
        return Err(discarded(by.as_str()));
    }
    let mut unfinished = DiscardUnlessFinished { poisoned, export: abi.name, finished: false };
    let outcome = AssertUnwindSafe(func.call_async(store.as_context_mut(), params)).catch_unwind().await;
    unfinished.finished = true;
    match outcome {
        Ok(Ok(results)) => Ok(results),
        Ok(Err(e)) => {
            *unfinished.poisoned = Some(owned(abi.name));
            Err(trapped(abi.name, e, Crossing::Checked, store.data().limits.refused))
        }
        Err(payload) => {
            *unfinished.poisoned = Some(owned(abi.name));
            Err(panicked(abi.name, payload))
        }
    }
}

/// Discards the store (marks it as `export` left it) when dropped before the call it guards finished: the drop of
/// an async call's future part-way. Costs a flag on the normal path.
pub(crate) struct DiscardUnlessFinished<'a> {
    pub(crate) poisoned: &'a mut Option<String>,
    pub(crate) export: &'static str,
    pub(crate) finished: bool,
}

impl Drop for DiscardUnlessFinished<'_> {
    fn drop(&mut self) {
        if !self.finished {
            *self.poisoned = Some(owned(self.export));
        }
    }
}

#[cold]
#[inline(never)]
fn owned(export: &str) -> String {
    export.to_string()
}

#[cold]
#[inline(never)]
fn discarded(by: &str) -> Error {
    Error::StoreDiscarded { export: by.to_string() }
}

/// The error of a call that failed, told the store's refusal of its last growth (`TrapKind::within_budget`).
#[cold]
#[inline(never)]
fn trapped(export: &str, e: wasmtime::Error, crossing: Crossing, refused: Option<MemoryLimitExceeded>) -> Error {
    match Error::from_call(export, e, crossing) {
        Error::Trap { export, trap } => Error::Trap { export, trap: trap.within_budget(refused) },
        other => other,
    }
}

#[cold]
#[inline(never)]
fn panicked(export: &str, payload: Box<dyn std::any::Any + Send>) -> Error {
    Error::from_panic(export, &*payload)
}

/// Runs a WASI reactor's `_initialize` once, guarded like every call into the guest.
pub(crate) fn call_initialize(
    store: &mut Store<HostState>,
    instance: &Instance,
    index: &ModuleExport,
    abi: &AbiFunc,
) -> Result<(), Error> {
    let init = typed::<(), ()>(store, instance, index, abi)?;
    guarded(store, &mut None, abi.name, Crossing::Checked, |store| init.call(store, ()))
}

/// [`call_initialize`] for a store that needs async calls.
pub(crate) async fn call_initialize_async(
    store: &mut Store<HostState>,
    instance: &Instance,
    index: &ModuleExport,
    abi: &AbiFunc,
) -> Result<(), Error> {
    let init = typed::<(), ()>(store, instance, index, abi)?;
    call_typed_async(store, &mut None, &init, abi, (), instance).await
}
