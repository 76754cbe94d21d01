//! The exports of one instance, resolved from the module's checked export positions and typed once, so that a call
//! is one typed wasmtime call and nothing else.

use crate::abi_check::ExportIndices;
use crate::error::{Error, one_line};
use crate::guest::{self, AbiFunc, export};
use crate::memory::GuestMemory;
use crate::state::HostState;
use wasmtime::{Instance, ModuleExport, Store, TypedFunc, WasmParams, WasmResults};

pub(crate) fn typed<P: WasmParams, R: WasmResults>(
    store: &mut Store<HostState>,
    instance: &Instance,
    index: &ModuleExport,
    abi: &AbiFunc,
) -> Result<TypedFunc<P, R>, Error> {
    instance
        .get_module_export(&mut *store, index)
        .and_then(|e| e.into_func())
        .ok_or_else(|| vanished(abi.name))?
        .typed::<P, R>(&*store)
        .map_err(|e| Error::Instantiate {
            module: "the instance".to_string(),
            message: format!("export `{}` does not take the host's Rust types: {}", abi.name, one_line(&e)),
        })
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
}

impl Exports {
    pub(crate) fn resolve(
        store: &mut Store<HostState>,
        instance: &Instance,
        idx: &ExportIndices,
    ) -> Result<Self, Error> {
        let memory = instance
            .get_module_export(&mut *store, &idx.memory)
            .and_then(|e| e.into_memory())
            .ok_or_else(|| vanished(guest::MEMORY))?;
        Ok(Exports {
            memory: GuestMemory::new(memory),
            just_add: typed(store, instance, &idx.just_add, &export::JUST_ADD)?,
            simple_add: typed(store, instance, &idx.simple_add, &export::SIMPLE_ADD)?,
            trigger_host_calls: typed(store, instance, &idx.trigger_host_calls, &export::TRIGGER_HOST_CALLS)?,
            point_add: typed(store, instance, &idx.point_add, &export::POINT_ADD)?,
            get_plugin_shared_value_ptr: typed(
                store,
                instance,
                &idx.get_plugin_shared_value_ptr,
                &export::GET_PLUGIN_SHARED_VALUE_PTR,
            )?,
            read_plugin_shared_value: opt_typed(
                store,
                instance,
                &idx.read_plugin_shared_value,
                &export::READ_PLUGIN_SHARED_VALUE,
            )?,
            nop: opt_typed(store, instance, &idx.nop, &export::NOP)?,
            point_add_batch: opt_typed(store, instance, &idx.point_add_batch, &export::POINT_ADD_BATCH)?,
            call_host_n: opt_typed(store, instance, &idx.call_host_n, &export::CALL_HOST_N)?,
        })
    }
}

fn opt_typed<P: WasmParams, R: WasmResults>(
    store: &mut Store<HostState>,
    instance: &Instance,
    index: &Option<ModuleExport>,
    abi: &AbiFunc,
) -> Result<Option<TypedFunc<P, R>>, Error> {
    index.as_ref().map(|i| typed(store, instance, i, abi)).transpose()
}
