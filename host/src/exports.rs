//! The exports of one instance, resolved from the module's checked export positions and typed once, so that a call
//! is one typed wasmtime call and nothing else.

use crate::abi_check::ExportIndices;
use crate::error::{Error, one_line};
use crate::guest::{self, AbiFunc, export};
use crate::memory::GuestMemory;
use crate::state::HostState;
use wasmtime::{Instance, ModuleExport, Store, TypedFunc, WasmParams, WasmResults};

/// The instance's export at `index` as a `TypedFunc<P, R>`, type-checked by wasmtime.
pub(crate) fn typed<P: WasmParams, R: WasmResults>(
    store: &mut Store<HostState>,
    instance: &Instance,
    index: &ModuleExport,
    abi: &AbiFunc,
) -> Result<TypedFunc<P, R>, Error> {
    export_func(store, instance, index, abi)?.typed::<P, R>(&*store).map_err(|e| Error::Instantiate {
        module: "the instance".to_string(),
        message: format!("export `{}` does not take the host's Rust types: {}", abi.name, one_line(&e)),
    })
}

/// [`typed`], or, when `proven`, the same without wasmtime's type check.
///
/// # Safety
///
/// `proven` may be true only if [`typed`] with these `P` and `R` succeeded for the export at `index` on an earlier
/// instance of the module that `instance` is an instance of (the same compiled module, so the same engine).
unsafe fn typed_as_proven<P: WasmParams, R: WasmResults>(
    store: &mut Store<HostState>,
    instance: &Instance,
    index: &ModuleExport,
    abi: &AbiFunc,
    proven: bool,
) -> Result<TypedFunc<P, R>, Error> {
    if !proven {
        return typed(store, instance, index, abi);
    }
    let func = export_func(store, instance, index, abi)?;
    // SAFETY: `new_unchecked` is sound when `Func::typed::<P, R>` would succeed. By this function's contract it
    // did succeed for this export on an earlier instance of the same module, and an export's function type is the
    // module's, whatever the instance (wasmtime refuses a `ModuleExport` of another module: `export_func` fails):
    // so it would succeed here too.
    Ok(unsafe { TypedFunc::new_unchecked(&*store, func) })
}

fn export_func(
    store: &mut Store<HostState>,
    instance: &Instance,
    index: &ModuleExport,
    abi: &AbiFunc,
) -> Result<wasmtime::Func, Error> {
    instance.get_module_export(&mut *store, index).and_then(|e| e.into_func()).ok_or_else(|| vanished(abi.name))
}

/// An export that the module check found but the instance does not have: a wasmtime invariant broken.
fn vanished(name: &str) -> Error {
    Error::Instantiate {
        module: "the instance".to_string(),
        message: format!("export `{name}` was checked in the module but is missing from the instance"),
    }
}

/// Exports of one instance, resolved and typed once.
#[derive(Clone)]
pub(crate) struct Exports {
    pub(crate) memory: GuestMemory,
    pub(crate) just_add: TypedFunc<(u64, u64), u64>,
    pub(crate) simple_add: TypedFunc<(u64, u64), u64>,
    pub(crate) trigger_host_calls: TypedFunc<i32, ()>,
    pub(crate) point_add: TypedFunc<(u32, u32, u32), ()>,
    pub(crate) get_plugin_shared_value_ptr: TypedFunc<(), u32>,
    pub(crate) read_plugin_shared_value: Option<TypedFunc<(), i32>>,
    pub(crate) nop: Option<TypedFunc<(), ()>>,
    pub(crate) point_add_batch: Option<TypedFunc<(u32, u32, u32, u32), ()>>,
    pub(crate) call_host_n: Option<TypedFunc<u32, ()>>,
    pub(crate) checksum_bytes: Option<TypedFunc<(u32, u32), u64>>,
    pub(crate) fill_bytes: Option<TypedFunc<(u32, u32, u32), ()>>,
}

impl Exports {
    /// Resolves and types every export. The first instance of a module types them with wasmtime's check, and
    /// records that they passed (`ExportIndices::types_proven`); later instances skip the check, which was most
    /// of the cost of resolving.
    pub(crate) fn resolve(
        store: &mut Store<HostState>,
        instance: &Instance,
        idx: &ExportIndices,
    ) -> Result<Self, Error> {
        let proven = idx.types_proven();
        // SAFETY: `proven` is the module's own flag, which is set (below, and nowhere else) only after every export
        // of an instance of this module was typed with these very types (`Exports`' field types) by the checked
        // path: `typed_as_proven`'s contract for each export.
        let exports = unsafe { Self::resolve_as_proven(store, instance, idx, proven)? };
        if !proven {
            // SAFETY: `proven` was false, so `resolve_as_proven` typed every export through the checked `typed`,
            // and it succeeded.
            unsafe { idx.mark_types_proven() };
        }
        Ok(exports)
    }

    /// # Safety
    ///
    /// As [`typed_as_proven`], for every export of `idx`.
    unsafe fn resolve_as_proven(
        store: &mut Store<HostState>,
        instance: &Instance,
        idx: &ExportIndices,
        proven: bool,
    ) -> Result<Self, Error> {
        let memory = instance
            .get_module_export(&mut *store, &idx.memory)
            .and_then(|e| e.into_memory())
            .ok_or_else(|| vanished(guest::MEMORY))?;
        // SAFETY: each call below passes on this function's contract.
        unsafe {
            Ok(Exports {
                memory: GuestMemory::new(memory),
                just_add: typed_as_proven(store, instance, &idx.just_add, &export::JUST_ADD, proven)?,
                simple_add: typed_as_proven(store, instance, &idx.simple_add, &export::SIMPLE_ADD, proven)?,
                trigger_host_calls: typed_as_proven(
                    store,
                    instance,
                    &idx.trigger_host_calls,
                    &export::TRIGGER_HOST_CALLS,
                    proven,
                )?,
                point_add: typed_as_proven(store, instance, &idx.point_add, &export::POINT_ADD, proven)?,
                get_plugin_shared_value_ptr: typed_as_proven(
                    store,
                    instance,
                    &idx.get_plugin_shared_value_ptr,
                    &export::GET_PLUGIN_SHARED_VALUE_PTR,
                    proven,
                )?,
                read_plugin_shared_value: opt_typed(
                    store,
                    instance,
                    &idx.read_plugin_shared_value,
                    &export::READ_PLUGIN_SHARED_VALUE,
                    proven,
                )?,
                nop: opt_typed(store, instance, &idx.nop, &export::NOP, proven)?,
                point_add_batch: opt_typed(store, instance, &idx.point_add_batch, &export::POINT_ADD_BATCH, proven)?,
                call_host_n: opt_typed(store, instance, &idx.call_host_n, &export::CALL_HOST_N, proven)?,
                checksum_bytes: opt_typed(store, instance, &idx.checksum_bytes, &export::CHECKSUM_BYTES, proven)?,
                fill_bytes: opt_typed(store, instance, &idx.fill_bytes, &export::FILL_BYTES, proven)?,
            })
        }
    }
}

/// [`typed_as_proven`] for an optional export.
///
/// # Safety
///
/// As [`typed_as_proven`].
unsafe fn opt_typed<P: WasmParams, R: WasmResults>(
    store: &mut Store<HostState>,
    instance: &Instance,
    index: &Option<ModuleExport>,
    abi: &AbiFunc,
    proven: bool,
) -> Result<Option<TypedFunc<P, R>>, Error> {
    // SAFETY: this function's contract, passed on.
    index.as_ref().map(|i| unsafe { typed_as_proven(store, instance, i, abi, proven) }).transpose()
}
