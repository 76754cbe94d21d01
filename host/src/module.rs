//! Loading a guest: compile it once, check it against the ABI, link its imports once ([`GuestModule`]); then
//! make stores and instances from it, as many as wanted.

use crate::abi_check::{ExportIndices, check_imports, link_error};
use crate::command::Command;
use crate::deadline;
use crate::error::{Crossing, Error, MemoryLimitExceeded, TrapKind, escape_controls, one_line};
use crate::guest;
use crate::imports::Stub;
#[cfg(feature = "wasi")]
use crate::output::{GuestStream, KeptOutput};
use crate::profile::EngineProfile;
#[cfg(feature = "wasi")]
use crate::state::GuestOutput;
use crate::state::{HostCalls, HostFuncStyle, HostOptions, HostState, MemoryLimit, link_env};
use std::path::Path;
use wasmtime::{Engine, InstancePre, Linker, Module, Store};
#[cfg(feature = "wasi")]
use wasmtime_wasi::WasiCtxBuilder;

/// A compiled, checked and linked guest module, ready to instantiate any number of times. Cheap to clone.
#[derive(Clone)]
pub struct GuestModule {
    pub(crate) name: String,
    pub(crate) profile: EngineProfile,
    pub(crate) engine: Engine,
    module: Module,
    pub(crate) pre: InstancePre<HostState>,
    pub(crate) options: HostOptions,
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
        Self::load(escape_controls(&path.display().to_string()).into_owned(), &bytes, is_text, profile, options)
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
        Self::load_defining(name, bytes, is_text, profile, engine, options, define, |_| Ok(Vec::new()))
    }

    /// [`GuestModule::load_with_engine`] with the function imports that `stubs` makes for the compiled module
    /// defined as it says (a request's `[[import]]` constants: [`crate::plugin::import_stubs`]), before the
    /// options' [`crate::ForeignImports`] policy takes the rest.
    pub fn load_with_stubs(
        name: String,
        bytes: &[u8],
        is_text: bool,
        profile: EngineProfile,
        engine: &Engine,
        options: HostOptions,
        stubs: impl FnOnce(&Module) -> Result<Vec<Stub>, String>,
    ) -> Result<Self, Error> {
        Self::load_defining(name, bytes, is_text, profile, engine, options, |_| Ok(()), stubs)
    }

    #[allow(clippy::too_many_arguments)]
    fn load_defining(
        name: String,
        bytes: &[u8],
        is_text: bool,
        profile: EngineProfile,
        engine: &Engine,
        options: HostOptions,
        define: impl FnOnce(&mut Linker<HostState>) -> wasmtime::Result<()>,
        stubs: impl FnOnce(&Module) -> Result<Vec<Stub>, String>,
    ) -> Result<Self, Error> {
        let module = compile(&name, bytes, is_text, profile, engine)?;
        check_imports(&name, &module)?;
        let exports = ExportIndices::check(&name, &module)?;
        let mut linker = make_linker(engine, options.host_funcs)
            .and_then(|mut linker| define(&mut linker).map(|()| linker))
            .map_err(|e| Error::Instantiate { module: name.clone(), message: one_line(&e) })?;
        stubs(&module)
            .and_then(|stubs| crate::imports::define(&mut linker, &module, &stubs, options.foreign_imports))
            .map_err(|message| Error::Instantiate { module: name.clone(), message })?;
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

    /// Whether the module exports `read_plugin_shared_value`, the guest's own reading of its static. Without
    /// it (a guest written as the article writes it) pattern 5 has only the guest's output to go on.
    pub fn reads_plugin_shared_value(&self) -> bool {
        self.exports.read_plugin_shared_value.is_some()
    }

    /// Whether the module exports `export`, one of the ABI's optional functions ([`guest::export::OPTIONAL`]).
    pub fn exports_optional(&self, export: &guest::AbiFunc) -> bool {
        let e = &self.exports;
        let present = [
            (&guest::export::READ_PLUGIN_SHARED_VALUE, e.read_plugin_shared_value.is_some()),
            (&guest::export::NOP, e.nop.is_some()),
            (&guest::export::POINT_ADD_BATCH, e.point_add_batch.is_some()),
            (&guest::export::CALL_HOST_N, e.call_host_n.is_some()),
            (&guest::export::CHECKSUM_BYTES, e.checksum_bytes.is_some()),
            (&guest::export::FILL_BYTES, e.fill_bytes.is_some()),
        ];
        present.iter().any(|(f, present)| *present && f.name == export.name)
    }

    /// A fresh store, set up as the profile requires, with the host state at its initial values.
    pub fn new_store(&self) -> Result<Store<HostState>, Error> {
        new_store(&self.engine, self.profile, &self.options)
    }

    pub(crate) fn exports(&self) -> &ExportIndices {
        &self.exports
    }
}

/// A fresh store for `engine`, set up as `profile` requires, with the host state at its initial values: the one
/// place stores are made, for modules and components alike.
pub(crate) fn new_store(
    engine: &Engine,
    profile: EngineProfile,
    options: &HostOptions,
) -> Result<Store<HostState>, Error> {
    new_store_for(engine, profile, options, None)
}

/// What the store of a WASI command (a request's `[command]`) gives the guest beyond the host's options: its
/// arguments, environment, stdin and directory, and stdout kept up to the command's bound.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(not(feature = "wasi"), allow(dead_code))] // Without WASI, a command is refused at load.
pub(crate) struct CommandWorld<'a> {
    pub command: &'a Command,
    /// The program's name when the command gives none (the module's).
    pub name: &'a str,
}

/// [`new_store`] for a WASI command when `world` is given.
pub(crate) fn new_store_for(
    engine: &Engine,
    profile: EngineProfile,
    options: &HostOptions,
    world: Option<CommandWorld<'_>>,
) -> Result<Store<HostState>, Error> {
    #[cfg(feature = "wasi")]
    let (wasi, kept) = wasi_context(options.output, options.deterministic, world)?;
    // Without WASI a command's request is refused at load (`Plugin::load`), so no world reaches here.
    #[cfg(not(feature = "wasi"))]
    let _ = world;
    let state = HostState {
        shared_value: guest::HOST_SHARED_VALUE_INITIAL,
        last_logged: None,
        calls: HostCalls::default(),
        limits: MemoryLimit {
            max_bytes: options.max_memory,
            trap_on_failure: options.trap_on_grow_failure,
            used: 0,
            refused: None,
            used_before: 0,
        },
        hook_calls: 0,
        deadline: None,
        #[cfg(feature = "wasi")]
        kept,
        #[cfg(feature = "wasi")]
        wasi,
    };
    let mut store = Store::new(engine, state);
    if options.max_memory.is_some() {
        store.limiter(|state| &mut state.limits);
    }
    if options.call_hook {
        // The hook's first argument is a `StoreContextMut` before wasmtime 50 and a `StoreHookState` from 50 on.
        store.call_hook(|mut store, _| {
            store.data_mut().hook_calls += 1;
            Ok(())
        });
    }
    profile.prepare_store(&mut store, options.fuel)?;
    if profile == EngineProfile::Epoch {
        deadline::install(&mut store);
    }
    Ok(store)
}

/// A store's WASI context, its stdout and stderr going where `output` says (shown through the console, never
/// straight to the host's streams), and the kept output if it is kept. No environment, arguments or directories,
/// unless `world` is a command's: then its arguments, environment, stdin and read-only directory, its stdout kept
/// (up to its bound) and not shown, its stderr shown when `output` shows the guest's output.
#[cfg(feature = "wasi")]
fn wasi_context(
    output: GuestOutput,
    deterministic: bool,
    world: Option<CommandWorld<'_>>,
) -> Result<(wasmtime_wasi::p1::WasiP1Ctx, Option<KeptOutput>), Error> {
    use crate::console::Stream;
    let mut wasi = WasiCtxBuilder::new();
    if deterministic {
        crate::output::make_deterministic(&mut wasi);
    }
    let show = match output {
        GuestOutput::Inherit => true,
        GuestOutput::Discard => false,
        GuestOutput::Keep { echo } => echo,
    };
    if let Some(world) = world {
        let command = world.command;
        let kept = KeptOutput::bounded(command.max_stdout);
        wasi.stdout(GuestStream::new(Stream::Stdout, Some(kept.clone()), false));
        if show {
            wasi.stderr(GuestStream::new(Stream::Stderr, None, true));
        }
        wasi.args(&command.argv(world.name));
        for (key, value) in &command.env {
            wasi.env(key, value);
        }
        wasi.stdin(wasmtime_wasi::p2::pipe::MemoryInputPipe::new(bytes::Bytes::from_owner(command.stdin.clone())));
        if let Some(preopen) = &command.preopen {
            // wasmtime-wasi 48 takes one set of permissions; before 48, the directory's and its files' apart
            // (`boundary versions` builds this crate against both).
            #[cfg(not(wasmtime_before_48))]
            let opened = wasi.preopened_dir(&preopen.dir, &preopen.guest, wasmtime_wasi::FsPerms::ReadOnly);
            #[cfg(wasmtime_before_48)]
            let opened = wasi.preopened_dir(
                &preopen.dir,
                &preopen.guest,
                wasmtime_wasi::DirPerms::READ,
                wasmtime_wasi::FilePerms::READ,
            );
            opened.map_err(|e| Error::Instantiate {
                module: world.name.to_string(),
                message: format!(
                    "cannot open the request's `preopen` directory {}: {}",
                    escape_controls(&preopen.dir.display().to_string()),
                    one_line(&e)
                ),
            })?;
        }
        return Ok((wasi.build_p1(), Some(kept)));
    }
    let kept = matches!(output, GuestOutput::Keep { .. }).then(KeptOutput::default);
    if kept.is_some() || show {
        wasi.stdout(GuestStream::new(Stream::Stdout, kept.clone(), show));
    }
    if show {
        wasi.stderr(GuestStream::new(Stream::Stderr, None, true));
    }
    Ok((wasi.build_p1(), kept))
}

/// What instantiating `module` came to (under `catch_unwind`): the instance, or the start function's trap or panic,
/// or another error. For modules and components alike; `refused` is the store's refusal of its last growth, which
/// explains a full GC heap (`TrapKind::within_budget`).
pub(crate) fn started<I>(
    module: &str,
    instantiated: std::thread::Result<wasmtime::Result<I>>,
    refused: Option<MemoryLimitExceeded>,
) -> Result<I, Error> {
    let start_trapped = |trap| Error::StartTrapped { module: module.to_string(), trap };
    match instantiated {
        Ok(Ok(instance)) => Ok(instance),
        Ok(Err(e)) => {
            // Making its memories and tables, or its start function growing them, took the store past its budget.
            if let Some(&limit) = e.downcast_ref::<MemoryLimitExceeded>() {
                return Err(Error::OverBudget { module: module.to_string(), limit });
            }
            match TrapKind::of(&e, Crossing::Checked) {
                // Nothing the guest's code did: wasmtime could not instantiate it.
                TrapKind::Refused(message) => Err(Error::Instantiate { module: module.to_string(), message }),
                trap => Err(start_trapped(trap.within_budget(refused))),
            }
        }
        Err(payload) => Err(start_trapped(TrapKind::from_panic(&*payload))),
    }
}

/// The two kinds of wasm binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WasmKind {
    Module,
    Component,
}

/// What kind of wasm binary `bytes` is, from its 8-byte header (magic, version, layer), or why it is none.
pub(crate) fn wasm_header(bytes: &[u8]) -> Result<WasmKind, String> {
    const MAGIC: &[u8] = b"\0asm";
    if bytes.is_empty() {
        return Err("it is empty".to_string());
    }
    if !bytes.starts_with(MAGIC) {
        return Err("it does not start with the wasm magic bytes `\\0asm`".to_string());
    }
    // After the magic: a 16-bit version and a 16-bit layer, 0 for a core module and 1 for a component.
    match bytes.get(6..8) {
        Some([1, 0]) => Ok(WasmKind::Component),
        // Anything else (a truncated header, an unknown version) is for the core parser to name.
        _ => Ok(WasmKind::Module),
    }
}

impl EngineProfile {
    /// Why a core module that compiles under another profile does not compile under this one (a proposal its
    /// compiler lacks: [`EngineProfile::compile_hint`]), or `None` if this profile compiles every module the others
    /// do. What the measuring commands skip a profile for, naming it, instead of failing the run.
    pub fn refuses(self, wasm: &crate::input::Wasm) -> Option<String> {
        self.compile_hint()?;
        match compile(&wasm.name, &wasm.bytes, wasm.is_text, self, &self.engine().ok()?) {
            Err(e) if compiles_under_cranelift(&wasm.bytes, wasm.is_text) => Some(e.to_string()),
            // A module no profile compiles is not skipped: the run fails on it, naming why.
            _ => None,
        }
    }
}

/// Whether the module validates under the `cranelift` profile: what tells a proposal that one profile's compiler
/// lacks from a module that is wrong. Only asked after a compile error.
fn compiles_under_cranelift(bytes: &[u8], is_text: bool) -> bool {
    let Ok(engine) = EngineProfile::Cranelift.engine() else { return false };
    let binary = if is_text {
        match wat::parse_bytes(bytes) {
            Ok(binary) => binary,
            Err(_) => return false,
        }
    } else {
        std::borrow::Cow::Borrowed(bytes)
    };
    Module::validate(&engine, &binary).is_ok()
}

/// Compiles a core module under `profile` (on `engine`, made from it); a compile error under a profile whose
/// compiler lacks proposals says which.
pub(crate) fn compile(
    name: &str,
    bytes: &[u8],
    is_text: bool,
    profile: EngineProfile,
    engine: &Engine,
) -> Result<Module, Error> {
    let compile_error = |e: wasmtime::Error| {
        let message = match profile.compile_hint() {
            Some(hint) if compiles_under_cranelift(bytes, is_text) => format!("{} ({hint})", one_line(&e)),
            _ => one_line(&e),
        };
        Error::Compile { module: name.to_string(), message }
    };
    if is_text {
        return Module::new(engine, bytes).map_err(compile_error);
    }
    match wasm_header(bytes) {
        Err(reason) => Err(Error::NotWasm { module: name.to_string(), reason }),
        Ok(WasmKind::Component) => Err(Error::WrongKind {
            module: name.to_string(),
            found: "a component",
            expected: "a core wasm module",
            hint: "load it as a component (`--abi component`)",
        }),
        Ok(WasmKind::Module) => Module::from_binary(engine, bytes).map_err(compile_error),
    }
}

pub(crate) fn make_linker(engine: &Engine, style: HostFuncStyle) -> wasmtime::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    #[cfg(feature = "wasi")]
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |state: &mut HostState| &mut state.wasi)?;
    link_env(&mut linker, style)?;
    Ok(linker)
}
