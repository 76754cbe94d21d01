//! The same guest driven through raw wasmtime, with nothing of the host core in between: the baseline the
//! core's rows are compared with. Its host functions are deliberately written here again, plainly, so the
//! comparison measures the core and not a shared helper.

use boundary_host::Wasm;
use boundary_host::guest::{self, export, import};
use boundary_host::wasmtime::{
    Caller, Engine, Func, Instance, InstancePre, Linker, Memory, Module, Store, TypedFunc, UnknownImportError,
};
use boundary_host::{EngineProfile, MemoryLimit, Point, escape_controls};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p1::WasiP1Ctx;

impl std::fmt::Debug for RawState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawState").field("shared_value", &self.shared_value).finish_non_exhaustive()
    }
}

impl std::fmt::Debug for RawGuest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawGuest").field("state", self.store.data()).finish_non_exhaustive()
    }
}

/// Host state of the raw baseline: what the core keeps, in a plain struct, and the store's memory budget (the host
/// core's limiter: `--max-memory` for memories and tables together, a growth past it trapping). The limiter is
/// asked only when the guest makes or grows a memory or table, never on a call.
pub struct RawState {
    pub shared_value: i32,
    pub last_logged: i32,
    limits: MemoryLimit,
    wasi: WasiP1Ctx,
}

/// A core module compiled and linked in raw wasmtime (WASI preview 1 and the guest's three `env` functions, written
/// plainly here), not yet instantiated: what the compile and instantiation rows need of any module, with or without
/// the guest ABI.
pub struct Linked {
    pub profile: EngineProfile,
    pub module: Module,
    pub linker: Linker<RawState>,
    pub pre: InstancePre<RawState>,
}

impl std::fmt::Debug for Linked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Linked").field("profile", &self.profile).finish_non_exhaustive()
    }
}

impl Linked {
    /// Compiles and links `wasm`; an error names what failed (a module that does not compile, an import nothing
    /// provides).
    pub fn load(profile: EngineProfile, engine: &Engine, wasm: &Wasm) -> Result<Self, String> {
        let module = compile(engine, wasm)?;
        let mut linker = raw_linker(engine);
        let imports = crate::guard::imports();
        boundary_host::plugin::import_stubs(&module, &imports.defined)
            .and_then(|stubs| boundary_host::imports::define(&mut linker, &module, &stubs, imports.foreign))
            .map_err(|why| format!("cannot link {}: {why}", wasm.name))?;
        let pre = linker.instantiate_pre(&module).map_err(|e| match e.downcast_ref::<UnknownImportError>() {
            Some(unknown) => format!(
                "{} imports `{}::{}`, which neither WASI preview 1 nor the guest ABI provides{}",
                wasm.name,
                escape_controls(unknown.module()),
                escape_controls(unknown.name()),
                match unknown.ty() {
                    boundary_host::wasmtime::ExternType::Func(_) =>
                        " (`--foreign-imports trap` defines such functions to trap when called)",
                    _ => "",
                }
            ),
            None => format!("cannot link {}: {}", wasm.name, escape_controls(&format!("{e:#}"))),
        })?;
        Ok(Linked { profile, module, linker, pre })
    }

    /// A fresh store for an instance of this module.
    pub fn new_store(&self) -> Store<RawState> {
        new_store(self.module.engine(), self.profile)
    }
}

/// Compiles `wasm` (binary or WAT text) for `engine`.
pub fn compile(engine: &Engine, wasm: &Wasm) -> Result<Module, String> {
    let compiled =
        if wasm.is_text { Module::new(engine, &wasm.bytes) } else { Module::from_binary(engine, &wasm.bytes) };
    compiled.map_err(|e| format!("{} does not compile: {}", wasm.name, escape_controls(&format!("{e:#}"))))
}

/// The raw host's linker: WASI preview 1 and the three `env` functions.
fn raw_linker(engine: &Engine) -> Linker<RawState> {
    let mut linker: Linker<RawState> = Linker::new(engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |s: &mut RawState| &mut s.wasi).unwrap();
    linker
        .func_wrap(import::MODULE, import::HOST_LOG_VALUE.name, |mut c: Caller<'_, RawState>, v: i32| {
            c.data_mut().last_logged = v;
        })
        .unwrap()
        .func_wrap(import::MODULE, import::HOST_GET_SHARED_VALUE.name, |c: Caller<'_, RawState>| c.data().shared_value)
        .unwrap()
        .func_wrap(import::MODULE, import::HOST_SET_SHARED_VALUE.name, |mut c: Caller<'_, RawState>, v: i32| {
            c.data_mut().shared_value = v;
        })
        .unwrap();
    linker
}

/// One instance of a guest with the ABI in a raw wasmtime store, with its exports looked up once; and the module,
/// the linker and the pre-instantiated module it came from, for the instantiation rows.
pub struct RawGuest {
    pub profile: EngineProfile,
    pub module: Module,
    pub linker: Linker<RawState>,
    pub pre: InstancePre<RawState>,
    pub store: Store<RawState>,
    pub instance: Instance,
    pub memory: Memory,
    pub just_add: TypedFunc<(u64, u64), u64>,
    /// `nop` is optional in the ABI: `None` for a guest without it (its rows are not registered).
    pub nop: Option<TypedFunc<(), ()>>,
    pub trigger_host_calls: TypedFunc<i32, ()>,
    pub point_add: TypedFunc<(u32, u32, u32), ()>,
    pub just_add_func: Func,
    pub nop_func: Option<Func>,
}

impl RawGuest {
    /// Compiles and instantiates the quiet guest under `profile`; a failure ends the run ([`crate::guard::ok`]).
    pub fn new(profile: EngineProfile) -> Self {
        let engine = crate::guard::ok(profile.engine());
        Self::with_engine(profile, &engine)
    }

    pub fn with_engine(profile: EngineProfile, engine: &Engine) -> Self {
        crate::guard::ok(Self::load(profile, engine, &Wasm::quiet_guest()))
    }

    /// Compiles and instantiates `wasm`, which must have the guest ABI (the caller checked it with
    /// [`crate::subject::Serves`]); a module without it is an error naming the export it lacks.
    pub fn load(profile: EngineProfile, engine: &Engine, wasm: &Wasm) -> Result<Self, String> {
        let Linked { module, linker, pre, .. } = Linked::load(profile, engine, wasm)?;
        let mut store = new_store(engine, profile);
        let instance = pre.instantiate(&mut store).map_err(|e| format!("cannot instantiate {}: {e:#}", wasm.name))?;
        let missing = |what: &str| format!("{} lacks `{what}` (or it has another type)", wasm.name);
        let memory = instance.get_memory(&mut store, guest::MEMORY).ok_or_else(|| missing(guest::MEMORY))?;
        let just_add = instance.get_typed_func(&mut store, export::JUST_ADD.name).map_err(|_| missing("just_add"))?;
        let nop = instance.get_typed_func(&mut store, export::NOP.name).ok();
        let trigger_host_calls = instance
            .get_typed_func(&mut store, export::TRIGGER_HOST_CALLS.name)
            .map_err(|_| missing("trigger_host_calls"))?;
        let point_add =
            instance.get_typed_func(&mut store, export::POINT_ADD.name).map_err(|_| missing("point_add"))?;
        let just_add_func = instance.get_func(&mut store, export::JUST_ADD.name).ok_or_else(|| missing("just_add"))?;
        let nop_func = instance.get_func(&mut store, export::NOP.name);
        Ok(RawGuest {
            profile,
            module,
            linker,
            pre,
            store,
            instance,
            memory,
            just_add,
            nop,
            trigger_host_calls,
            point_add,
            just_add_func,
            nop_func,
        })
    }

    /// A fresh store for another instance of the same guest.
    pub fn new_store(&self) -> Store<RawState> {
        new_store(self.module.engine(), self.profile)
    }

    /// Grows memory by one page and returns the offset of the new page: room nothing in the guest uses.
    pub fn reserve_page(&mut self) -> usize {
        let pages = crate::guard::ok(self.memory.grow(&mut self.store, 1));
        crate::guard::ok(usize::try_from(pages).map_err(|e| e.to_string())) * boundary_host::WASM_PAGE
    }
}

/// A store with the raw host's initial state and the run's memory budget ([`crate::guard::max_memory`]), set up as
/// `profile` requires. Its WASI context has no environment, arguments or directories, and drops what the guest
/// writes.
pub fn new_store(engine: &Engine, profile: EngineProfile) -> Store<RawState> {
    let limits =
        MemoryLimit { max_bytes: Some(crate::guard::max_memory()), trap_on_failure: true, ..MemoryLimit::default() };
    let state = RawState {
        shared_value: guest::HOST_SHARED_VALUE_INITIAL,
        last_logged: 0,
        limits,
        wasi: WasiCtxBuilder::new().build_p1(),
    };
    let mut store = Store::new(engine, state);
    store.limiter(|state| &mut state.limits);
    crate::guard::ok(profile.prepare_store(&mut store, boundary_host::profile::UNMETERED_FUEL));
    store
}

/// Three Point slots (a, b, out) at 8-byte-aligned offsets in a page nothing in the guest uses.
#[derive(Debug, Clone, Copy)]
pub struct PointSlots {
    pub a: usize,
    pub b: usize,
    pub out: usize,
    /// `(out, a, b)` as the `u32` guest pointers `point_add` takes, converted once here.
    args: (u32, u32, u32),
}

impl PointSlots {
    /// Ends the run if the slots do not fit a 32-bit memory (a guest whose memory is already 4 GiB).
    pub fn at(base: usize) -> Self {
        let size = size_of::<Point>();
        let (a, b, out) = (base, base + size, base + 2 * size);
        let p = |o: usize| {
            crate::guard::ok(u32::try_from(o).map_err(|_| format!("offset {o:#x} is outside a 32-bit memory")))
        };
        PointSlots { a, b, out, args: (p(out), p(a), p(b)) }
    }

    /// The offsets as the `u32` guest pointers `point_add` takes. Inlined, and converted at setup: a call here
    /// would return the tuple through memory, and how each caller then copies it decides whether a load waits on
    /// a store it cannot forward from, a stall of a few nanoseconds that belongs to neither side of a comparison.
    #[inline]
    pub fn args(&self) -> (u32, u32, u32) {
        self.args
    }
}
