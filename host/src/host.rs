//! The embedding core: load a module once ([`GuestModule`]), then run it in stores ([`WasmHost`]).
//!
//! Everything a call needs is resolved before the first call: export signatures are checked against the ABI in
//! [`crate::guest`] when the module loads, imports are linked once into an `InstancePre`, and each instance
//! caches its exports as typed functions. A call is then one typed wasmtime call and nothing else.

use crate::error::{Error, MemoryError, MemoryLimitExceeded, one_line};
use crate::guest::{self, AbiFunc, AbiType, export, import};
use crate::memory::{GuestMemory, checked_range, guest_offset};
use crate::profile::{DEFAULT_FUEL, EngineProfile};
use bytemuck::Pod;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::time::Duration;
use wasmtime::{
    AsContextMut, Caller, Engine, ExternType, Func, FuncType, Instance, InstancePre, Linker, Module, ModuleExport,
    ResourceLimiter, Store, StoreContextMut, TypedFunc, Val, ValType, WasmParams, WasmResults,
};
use wasmtime_wasi::WasiCtxBuilder;
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
    wasi: WasiP1Ctx,
}

/// The store's resource limiter: caps linear memory at [`HostOptions::max_memory`] bytes. A growth past the cap
/// fails (the guest's `memory.grow` returns -1, a host [`WasmHost::grow`] is an error) or, with
/// [`HostOptions::trap_on_grow_failure`], traps with [`crate::TrapKind::MemoryLimit`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryLimit {
    pub max_bytes: Option<usize>,
    pub trap_on_failure: bool,
    /// The last growth the limit refused, if any.
    pub refused: Option<MemoryLimitExceeded>,
}

impl ResourceLimiter for MemoryLimit {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        match self.max_bytes {
            Some(limit) if desired > limit => {
                let refused = MemoryLimitExceeded { requested: desired, limit };
                self.refused = Some(refused);
                if self.trap_on_failure { Err(refused.into()) } else { Ok(false) }
            }
            _ => Ok(true),
        }
    }

    fn table_growing(&mut self, _current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(maximum.is_none_or(|max| desired <= max))
    }
}

/// Per-function call counters of the host functions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostCalls {
    pub log_value: u64,
    pub get_shared_value: u64,
    pub set_shared_value: u64,
}

impl std::fmt::Debug for HostState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostState")
            .field("shared_value", &self.shared_value)
            .field("last_logged", &self.last_logged)
            .field("calls", &self.calls)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

// The three host functions, written once; `link_env` wraps them typed or untyped. No printing, formatting or
// allocation here: they are on the measured path of every callback.
fn host_log_value(state: &mut HostState, value: i32) {
    state.last_logged = Some(value);
    state.calls.log_value += 1;
}

fn host_get_shared_value(state: &mut HostState) -> i32 {
    state.calls.get_shared_value += 1;
    state.shared_value
}

fn host_set_shared_value(state: &mut HostState, value: i32) {
    state.calls.set_shared_value += 1;
    state.shared_value = value;
}

/// Where the guest's stdout and stderr go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum GuestOutput {
    /// To the host process's stdout and stderr.
    #[default]
    Inherit,
    /// Nowhere.
    Discard,
}

/// How the `env` host functions are defined in the linker.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HostFuncStyle {
    /// `Linker::func_wrap`: statically typed closures.
    #[default]
    Typed,
    /// `Linker::func_new`: closures over `&[Val]` and `&mut [Val]`.
    Untyped,
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
}

impl Default for HostOptions {
    fn default() -> Self {
        HostOptions {
            output: GuestOutput::Inherit,
            host_funcs: HostFuncStyle::Typed,
            fuel: DEFAULT_FUEL,
            max_memory: None,
            trap_on_grow_failure: false,
        }
    }
}

/// A compiled, checked and linked guest module, ready to instantiate any number of times. Cheap to clone.
#[derive(Clone)]
pub struct GuestModule {
    name: String,
    profile: EngineProfile,
    engine: Engine,
    module: Module,
    pre: InstancePre<HostState>,
    options: HostOptions,
    exports: ExportIndices,
}

impl std::fmt::Debug for GuestModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuestModule")
            .field("name", &self.name)
            .field("profile", &self.profile)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl GuestModule {
    /// Loads a module from a file: binary wasm, or WAT text if the file name ends in `.wat`.
    pub fn from_file(path: &Path, profile: EngineProfile, options: HostOptions) -> Result<Self, Error> {
        let bytes = std::fs::read(path).map_err(|source| Error::ReadModule { path: path.to_path_buf(), source })?;
        let is_text = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("wat"));
        Self::load(path.display().to_string(), &bytes, is_text, profile, options)
    }

    /// Loads a binary module from memory; `name` names it in errors.
    pub fn from_binary(name: &str, bytes: &[u8], profile: EngineProfile, options: HostOptions) -> Result<Self, Error> {
        Self::load(name.to_string(), bytes, false, profile, options)
    }

    /// Loads a module from WAT text; `name` names it in errors.
    pub fn from_wat(name: &str, text: &str, profile: EngineProfile, options: HostOptions) -> Result<Self, Error> {
        Self::load(name.to_string(), text.as_bytes(), true, profile, options)
    }

    /// The quiet build of the project's guest (no printing), as benches and fuzzing drive it.
    pub fn quiet_guest(profile: EngineProfile, options: HostOptions) -> Result<Self, Error> {
        Self::from_binary("the quiet guest", guest::QUIET_WASM, profile, options)
    }

    /// The verbose build of the project's guest (narrates each call on stdout), as the demo drives it.
    pub fn verbose_guest(profile: EngineProfile, options: HostOptions) -> Result<Self, Error> {
        Self::from_binary("the verbose guest", guest::VERBOSE_WASM, profile, options)
    }

    /// Loads with an engine made from `profile`.
    pub fn load(
        name: String,
        bytes: &[u8],
        is_text: bool,
        profile: EngineProfile,
        options: HostOptions,
    ) -> Result<Self, Error> {
        let engine = profile.engine()?;
        Self::load_with_engine(name, bytes, is_text, profile, &engine, options)
    }

    /// Loads with a given engine, which must have been made from `profile` (possibly adjusted, e.g. for
    /// deterministic compilation).
    pub fn load_with_engine(
        name: String,
        bytes: &[u8],
        is_text: bool,
        profile: EngineProfile,
        engine: &Engine,
        options: HostOptions,
    ) -> Result<Self, Error> {
        Self::load_with_linker(name, bytes, is_text, profile, engine, options, |_| Ok(()))
    }

    /// Like [`GuestModule::load_with_engine`], with more host functions defined by `define` beside WASI and the
    /// three `env` functions: an embedder's own imports. A panic in one of them is caught where the host calls
    /// into the guest and reported as [`crate::TrapKind::HostPanic`].
    pub fn load_with_linker(
        name: String,
        bytes: &[u8],
        is_text: bool,
        profile: EngineProfile,
        engine: &Engine,
        options: HostOptions,
        define: impl FnOnce(&mut Linker<HostState>) -> wasmtime::Result<()>,
    ) -> Result<Self, Error> {
        let module = compile(&name, bytes, is_text, engine)?;
        check_imports(&name, &module)?;
        let exports = ExportIndices::check(&name, &module)?;
        let linker = make_linker(engine, options.host_funcs)
            .and_then(|mut linker| define(&mut linker).map(|()| linker))
            .map_err(|e| Error::Instantiate { module: name.clone(), message: one_line(&e) })?;
        let pre = linker.instantiate_pre(&module).map_err(|e| link_error(&name, e))?;
        Ok(GuestModule { name, profile, engine: engine.clone(), module, pre, options, exports })
    }

    /// The name used in messages: a file path or a description.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn profile(&self) -> EngineProfile {
        self.profile
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn module(&self) -> &Module {
        &self.module
    }

    /// A fresh store, set up as the profile requires, with the host state at its initial values.
    pub fn new_store(&self) -> Result<Store<HostState>, Error> {
        let mut wasi = WasiCtxBuilder::new();
        if self.options.output == GuestOutput::Inherit {
            wasi.inherit_stdout().inherit_stderr();
        }
        let state = HostState {
            shared_value: guest::HOST_SHARED_VALUE_INITIAL,
            last_logged: None,
            calls: HostCalls::default(),
            limits: MemoryLimit {
                max_bytes: self.options.max_memory,
                trap_on_failure: self.options.trap_on_grow_failure,
                refused: None,
            },
            wasi: wasi.build_p1(),
        };
        let mut store = Store::new(&self.engine, state);
        if self.options.max_memory.is_some() {
            store.limiter(|state| &mut state.limits);
        }
        self.profile.prepare_store(&mut store, self.options.fuel)?;
        Ok(store)
    }

    /// A new instance in a new store.
    pub fn instantiate(&self) -> Result<WasmHost, Error> {
        let mut store = self.new_store()?;
        let instance = self.pre.instantiate(&mut store).map_err(|e| match e.downcast_ref::<wasmtime::Trap>() {
            Some(_) => Error::from_call("(instantiation)", e),
            None => Error::Instantiate { module: self.name.clone(), message: one_line(&e) },
        })?;
        // A WASI reactor exports `_initialize`, to be called once before anything else.
        if let Some(init) = &self.exports.initialize {
            let init = typed::<(), ()>(&mut store, &instance, init, &INITIALIZE)?;
            guarded(&mut store, &mut None, INITIALIZE.name, |store| init.call(store, ()))?;
        }
        let exports = Exports::resolve(&mut store, &instance, &self.exports)?;
        Ok(WasmHost { guest: self.clone(), store, instance, memory: exports.memory, exports, poisoned: None })
    }
}

fn compile(name: &str, bytes: &[u8], is_text: bool, engine: &Engine) -> Result<Module, Error> {
    let compile_error = |e: wasmtime::Error| Error::Compile { module: name.to_string(), message: one_line(&e) };
    if is_text {
        return Module::new(engine, bytes).map_err(compile_error);
    }
    const MAGIC: &[u8] = b"\0asm";
    if bytes.is_empty() {
        return Err(Error::NotWasm { module: name.to_string(), reason: "it is empty".to_string() });
    }
    if !bytes.starts_with(MAGIC) {
        return Err(Error::NotWasm {
            module: name.to_string(),
            reason: "it does not start with the wasm magic bytes `\\0asm`".to_string(),
        });
    }
    Module::from_binary(engine, bytes).map_err(compile_error)
}

fn abi_type(ty: &ValType) -> Option<AbiType> {
    match ty {
        ValType::I32 => Some(AbiType::I32),
        ValType::I64 => Some(AbiType::I64),
        _ => None,
    }
}

fn matches_abi(ty: &FuncType, want: &AbiFunc) -> bool {
    let same = |have: &mut dyn ExactSizeIterator<Item = ValType>, want: &[AbiType]| {
        have.len() == want.len() && have.zip(want).all(|(h, w)| abi_type(&h) == Some(*w))
    };
    same(&mut ty.params(), want.params) && same(&mut ty.results(), want.results)
}

fn func_type_text(ty: &FuncType) -> String {
    guest::signature_text(ty.params(), ty.results())
}

fn extern_kind(ty: &ExternType) -> &'static str {
    match ty {
        ExternType::Func(_) => "a function",
        ExternType::Global(_) => "a global",
        ExternType::Table(_) => "a table",
        ExternType::Memory(_) => "a memory",
        ExternType::Tag(_) => "a tag",
    }
}

/// Every import of one of the `env` host functions must have its exact signature, named in the error if not.
/// Whether every other import is provided (WASI preview1, an embedder's own functions) is the linker's to say,
/// and [`link_error`] names what it lacks.
fn check_imports(name: &str, module: &Module) -> Result<(), Error> {
    for imp in module.imports() {
        if imp.module() != import::MODULE {
            continue;
        }
        let Some(want) = import::ALL.iter().find(|f| f.name == imp.name()) else { continue };
        let matches = match imp.ty() {
            ExternType::Func(ty) => matches_abi(&ty, want),
            _ => false,
        };
        if !matches {
            let found = match imp.ty() {
                ExternType::Func(ty) => format!("a function {}", func_type_text(&ty)),
                other => extern_kind(&other).to_string(),
            };
            return Err(Error::WrongImportSignature {
                module: name.to_string(),
                import_module: imp.module().to_string(),
                field: imp.name().to_string(),
                expected: format!("a function {}", want.signature()),
                found,
            });
        }
    }
    Ok(())
}

fn link_error(name: &str, e: wasmtime::Error) -> Error {
    match e.downcast_ref::<wasmtime::UnknownImportError>() {
        Some(unknown) => Error::UnknownImport {
            module: name.to_string(),
            import_module: unknown.module().to_string(),
            field: unknown.name().to_string(),
        },
        None => Error::Instantiate { module: name.to_string(), message: one_line(&e) },
    }
}

fn make_linker(engine: &Engine, style: HostFuncStyle) -> wasmtime::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |state: &mut HostState| &mut state.wasi)?;
    link_env(&mut linker, style)?;
    Ok(linker)
}

/// Defines the three `env` host functions, typed (`func_wrap`) or untyped (`func_new`).
fn link_env(linker: &mut Linker<HostState>, style: HostFuncStyle) -> wasmtime::Result<()> {
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
            let engine = linker.engine().clone();
            let ty = |f: &AbiFunc| {
                let val = |t: &AbiType| match t {
                    AbiType::I32 => ValType::I32,
                    AbiType::I64 => ValType::I64,
                };
                FuncType::new(&engine, f.params.iter().map(val), f.results.iter().map(val))
            };
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
    }
    Ok(())
}

fn i32_param(params: &[Val]) -> wasmtime::Result<i32> {
    params.first().and_then(Val::i32).ok_or_else(|| wasmtime::format_err!("expected one i32 parameter, got {params:?}"))
}

/// The WASI reactor initialiser: called once after instantiation when a module exports it.
const INITIALIZE: AbiFunc = AbiFunc { name: "_initialize", params: &[], results: &[] };

/// Export positions resolved once per module, so instantiating never looks a name up.
#[derive(Clone)]
struct ExportIndices {
    memory: ModuleExport,
    initialize: Option<ModuleExport>,
    just_add: ModuleExport,
    simple_add: ModuleExport,
    trigger_host_calls: ModuleExport,
    point_add: ModuleExport,
    get_plugin_shared_value_ptr: ModuleExport,
    read_plugin_shared_value: ModuleExport,
    nop: Option<ModuleExport>,
    point_add_batch: Option<ModuleExport>,
    call_host_n: Option<ModuleExport>,
}

impl ExportIndices {
    /// Checks the module's exports against the ABI: the memory and every required function must be there with
    /// the right type, and optional functions, where present, must have the right signature.
    fn check(name: &str, module: &Module) -> Result<Self, Error> {
        let missing =
            |export: &str, kind| Error::MissingExport { module: name.to_string(), export: export.to_string(), kind };
        let wrong = |export: &str, expected: String, found: String| Error::WrongSignature {
            module: name.to_string(),
            export: export.to_string(),
            expected,
            found,
        };
        let memory = match module.get_export(guest::MEMORY) {
            Some(ExternType::Memory(_)) => module.get_export_index(guest::MEMORY),
            Some(other) => return Err(wrong(guest::MEMORY, "a memory".into(), extern_kind(&other).into())),
            None => None,
        };
        let memory = memory.ok_or_else(|| missing(guest::MEMORY, "a memory"))?;
        let optional = |f: &AbiFunc| -> Result<Option<ModuleExport>, Error> {
            let found = match module.get_export(f.name) {
                None => return Ok(None),
                Some(ExternType::Func(ty)) if matches_abi(&ty, f) => return Ok(module.get_export_index(f.name)),
                Some(ExternType::Func(ty)) => format!("a function {}", func_type_text(&ty)),
                Some(other) => extern_kind(&other).to_string(),
            };
            Err(wrong(f.name, format!("a function {}", f.signature()), found))
        };
        let required = |f: &AbiFunc| optional(f)?.ok_or_else(|| missing(f.name, "a function"));
        let initialize = optional(&INITIALIZE)?;
        Ok(ExportIndices {
            memory,
            initialize,
            just_add: required(&export::JUST_ADD)?,
            simple_add: required(&export::SIMPLE_ADD)?,
            trigger_host_calls: required(&export::TRIGGER_HOST_CALLS)?,
            point_add: required(&export::POINT_ADD)?,
            get_plugin_shared_value_ptr: required(&export::GET_PLUGIN_SHARED_VALUE_PTR)?,
            read_plugin_shared_value: required(&export::READ_PLUGIN_SHARED_VALUE)?,
            nop: optional(&export::NOP)?,
            point_add_batch: optional(&export::POINT_ADD_BATCH)?,
            call_host_n: optional(&export::CALL_HOST_N)?,
        })
    }
}

fn typed<P: WasmParams, R: WasmResults>(
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
struct Exports {
    memory: GuestMemory,
    just_add: TypedFunc<(u64, u64), u64>,
    simple_add: TypedFunc<(u64, u64), u64>,
    trigger_host_calls: TypedFunc<i32, ()>,
    point_add: TypedFunc<(u32, u32, u32), ()>,
    get_plugin_shared_value_ptr: TypedFunc<(), u32>,
    read_plugin_shared_value: TypedFunc<(), i32>,
    nop: Option<TypedFunc<(), ()>>,
    point_add_batch: Option<TypedFunc<(u32, u32, u32, u32), ()>>,
    call_host_n: Option<TypedFunc<u32, ()>>,
}

impl Exports {
    fn resolve(store: &mut Store<HostState>, instance: &Instance, idx: &ExportIndices) -> Result<Self, Error> {
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
            read_plugin_shared_value: typed(
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
fn guarded<R>(
    store: &mut Store<HostState>,
    poisoned: &mut Option<String>,
    export: &str,
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
            Err(trapped(export, e))
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
fn call_typed<P: WasmParams + Copy, R: WasmResults>(
    store: &mut Store<HostState>,
    poisoned: &mut Option<String>,
    func: &TypedFunc<P, R>,
    abi: &AbiFunc,
    params: P,
    #[cfg_attr(not(feature = "inject-slowdown"), allow(unused_variables))] instance: &Instance,
) -> Result<R, Error> {
    #[cfg(feature = "inject-slowdown")]
    crate::slowdown::on_call(&mut *store, instance, abi.name);
    guarded(store, poisoned, abi.name, |store| func.call(store, params))
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

#[cold]
#[inline(never)]
fn trapped(export: &str, e: wasmtime::Error) -> Error {
    Error::from_call(export, e)
}

#[cold]
#[inline(never)]
fn panicked(export: &str, payload: Box<dyn std::any::Any + Send>) -> Error {
    Error::from_panic(export, &*payload)
}

/// An optional export the module lacks. Takes the module's name rather than the `GuestModule`: see [`guarded`]
/// on why no pointer into the `WasmHost` goes to a function the optimiser cannot see into.
#[cold]
#[inline(never)]
fn absent(module: &str, abi: &AbiFunc) -> Error {
    Error::MissingExport { module: module.to_string(), export: abi.name.to_string(), kind: "a function" }
}

impl WasmHost {
    /// Loads nothing: instantiates `guest` (shorthand for [`GuestModule::instantiate`]).
    pub fn new(guest: &GuestModule) -> Result<Self, Error> {
        guest.instantiate()
    }

    /// Discards this store and instance and makes fresh ones: guest and host state start over.
    pub fn reset(&mut self) -> Result<(), Error> {
        *self = self.guest.instantiate()?;
        Ok(())
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

    /// Pattern 5: the guest's own reading of `PLUGIN_SHARED_VALUE`.
    pub fn read_plugin_shared_value(&mut self) -> Result<i32, Error> {
        let f = &self.exports.read_plugin_shared_value;
        call_typed(&mut self.store, &mut self.poisoned, f, &export::READ_PLUGIN_SHARED_VALUE, (), &self.instance)
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
        guarded(&mut self.store, &mut self.poisoned, "(untyped call)", |store| func.call(store, params, results))
    }

    /// Looks `name` up and calls it through the untyped path: for exports outside the ABI, where a lookup per
    /// call does not matter. Errors name the export.
    pub fn call_export(&mut self, name: &str, params: &[Val], results: &mut [Val]) -> Result<(), Error> {
        let func = self.func(name)?;
        guarded(&mut self.store, &mut self.poisoned, name, |store| func.call(store, params, results))
    }

    /// Runs `run` with a deadline: a guest still running `timeout` after this starts is interrupted with
    /// `Trap::Interrupt` (and its store discarded, like after any trap). Needs the `epoch` profile, whose code
    /// checks the engine's epoch; a timer thread advances that epoch once, when the deadline passes, unless `run`
    /// has finished by then. Other stores of the engine keep their far deadlines and are not disturbed.
    pub fn with_deadline<R>(&mut self, timeout: Duration, run: impl FnOnce(&mut Self) -> R) -> Result<R, Error> {
        if self.guest.profile != EngineProfile::Epoch {
            return Err(Error::NoDeadline { profile: self.guest.profile.name() });
        }
        self.store.set_epoch_deadline(1);
        let engine = self.guest.engine.clone();
        let (finished, wait) = channel::<()>();
        let timer = std::thread::spawn(move || {
            if wait.recv_timeout(timeout) == Err(RecvTimeoutError::Timeout) {
                engine.increment_epoch();
            }
        });
        let result = run(self);
        drop(finished);
        // Joined before the deadline is lifted, so a late tick cannot reach a later call. The timer cannot
        // panic, so there is nothing to report from the join.
        let _ = timer.join();
        self.guest.profile.prepare_store(&mut self.store, self.guest.options.fuel)?;
        Ok(result)
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

/// Size of a wasm page.
pub const WASM_PAGE: usize = 64 * 1024;
