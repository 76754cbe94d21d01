//! Loading a plugin for its request ([`Plugin`]) and its instances ([`PluginInstance`]): the module compiled and
//! checked against the request, each export it calls typed once, every call guarded.

use super::request::{Arg, Import, Length, Locate, Request, Source};
use super::values::number_val;
use crate::abi_check::{INITIALIZE, check_imports, check_memory, link_error};
use crate::call::{call_initialize, guarded};
use crate::command::START;
use crate::deadline::{self, EpochTicker};
use crate::error::{Crossing, Error, escape_controls};
use crate::imports::Stub;
use crate::input::Wasm;
use crate::memory::GuestMemory;
use crate::module::{CommandWorld, compile, make_linker, new_store_for, started};
use crate::profile::EngineProfile;
use crate::state::{HostOptions, HostState};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmtime::{Engine, ExternType, Func, FuncType, InstancePre, Module, Store, ValType};

/// A plugin module, compiled, checked against its request and linked (WASI preview 1 and the guest ABI's `env`
/// functions), ready to instantiate any number of times. Cheap to clone.
#[derive(Clone)]
pub struct Plugin {
    pub(crate) name: String,
    pub(crate) profile: EngineProfile,
    pub(crate) engine: Engine,
    module: Module,
    pre: InstancePre<HostState>,
    options: HostOptions,
    pub(super) request: Arc<Request>,
    /// Every export the request calls, in the order of [`Plugin::exports`], with its type.
    exports: Vec<(String, FuncType)>,
    has_initialize: bool,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin").field("name", &self.name).field("profile", &self.profile).finish_non_exhaustive()
    }
}

/// The exports a request calls, each once in this list, so an instance looks each up once.
fn called_exports(request: &Request) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut add = |name: &str| {
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    };
    add(&request.call.export);
    if let Some(a) = &request.allocator {
        add(&a.alloc);
        if let Some(free) = &a.free {
            add(&free.export);
        }
    }
    let mut sources: Vec<&Source> = Vec::new();
    if let Some((source, _)) = &request.call.status {
        sources.push(source);
    }
    if let Some(output) = &request.output {
        match &output.locate {
            Locate::PtrLen { ptr, len } => {
                sources.push(ptr);
                if let Length::From(len) = len {
                    sources.push(len);
                }
            }
            Locate::Packed { from, .. } | Locate::Pair(from) => sources.push(from),
        }
        if let Some(free) = &output.free {
            add(&free.export);
        }
        if let Some((ptr, len)) = &output.error {
            sources.push(ptr);
            if let Length::From(len) = len {
                sources.push(len);
            }
        }
    }
    for source in sources {
        if let Source::Export(name) = source {
            add(name);
        }
    }
    names
}

/// A request's own imports (`[[import]]`) as `module` takes them: each a function import of it, its results
/// converted to the import's result types. The error names the import.
pub fn import_stubs(module: &Module, imports: &[Import]) -> Result<Vec<Stub>, String> {
    let mut stubs = Vec::with_capacity(imports.len());
    for import in imports {
        let shown = format!("`{}::{}`", escape_controls(&import.module), escape_controls(&import.name));
        let ty = module.imports().find(|i| i.module() == import.module && i.name() == import.name).map(|i| i.ty());
        let Some(ExternType::Func(ty)) = ty else {
            return Err(format!("the request defines the import {shown}, which is no function import of the module"));
        };
        let results = match &import.results {
            None => None,
            Some(numbers) => {
                let types: Vec<ValType> = ty.results().collect();
                if let Some(other) = types.iter().find(|t| !is_number(t)) {
                    return Err(format!(
                        "the request gives the import {shown} results, but it returns {other}: only numbers can be given"
                    ));
                }
                if numbers.len() != types.len() {
                    return Err(format!(
                        "the request gives the import {shown} {} result(s); it has {}",
                        numbers.len(),
                        signature(&ty)
                    ));
                }
                let values = numbers
                    .iter()
                    .zip(&types)
                    .map(|(n, t)| number_val(*n, t).map_err(|why| format!("the import {shown}'s result: {why}")))
                    .collect::<Result<Vec<_>, _>>()?;
                Some(values)
            }
        };
        stubs.push(Stub { module: import.module.clone(), name: import.name.clone(), results });
    }
    Ok(stubs)
}

fn is_integer(ty: &ValType) -> bool {
    matches!(ty, ValType::I32 | ValType::I64)
}

fn is_number(ty: &ValType) -> bool {
    matches!(ty, ValType::I32 | ValType::I64 | ValType::F32 | ValType::F64)
}

fn signature(ty: &FuncType) -> String {
    crate::guest::signature_text(ty.params(), ty.results())
}

impl Plugin {
    /// Compiles `wasm` under `profile` and checks it against `request`: the memory it names, and every export it
    /// calls, with as many parameters as the request gives and numbers for types. Errors name the export.
    pub fn load(wasm: &Wasm, profile: EngineProfile, options: HostOptions, request: &Request) -> Result<Self, Error> {
        let engine = profile.engine()?;
        Self::load_with_engine(wasm, profile, &engine, options, request)
    }

    /// [`Plugin::load`] with a given engine, made from `profile`.
    pub fn load_with_engine(
        wasm: &Wasm,
        profile: EngineProfile,
        engine: &Engine,
        options: HostOptions,
        request: &Request,
    ) -> Result<Self, Error> {
        let name = wasm.name.clone();
        if request.invoke.is_some() {
            return Err(Error::Instantiate {
                module: name,
                message: "the request's [invoke] calls a component's export: its module is loaded as a component, \
                          not as a plugin of the core ABI"
                    .into(),
            });
        }
        if request.command.is_some() && options.host_funcs == crate::HostFuncStyle::Async {
            return Err(Error::Instantiate {
                module: name,
                message: "a WASI command's `_start` is called synchronously: async host functions do not apply".into(),
            });
        }
        if request.command.is_some() && !cfg!(feature = "wasi") {
            return Err(Error::Instantiate {
                module: name,
                message: "the request runs a WASI command, and this build of the host has no WASI".into(),
            });
        }
        let module = compile(&name, &wasm.bytes, wasm.is_text, profile, engine)?;
        check_imports(&name, &module)?;
        if request.command.is_some() {
            check_entry_point(&name, &module)?;
        }
        match module.get_export(&request.memory) {
            Some(ExternType::Memory(ty)) => check_memory(&name, &module, &ty)?,
            Some(_) => {
                return Err(Error::WrongSignature {
                    module: name,
                    export: escape_controls(&request.memory).into_owned(),
                    expected: "a memory".into(),
                    found: "another kind of export".into(),
                });
            }
            None => {
                return Err(Error::MissingExport {
                    module: name,
                    export: escape_controls(&request.memory).into_owned(),
                    kind: "a memory (the request's `memory`)",
                });
            }
        }
        let exports = check_exports(&name, &module, request)?;
        let has_initialize = matches!(module.get_export(INITIALIZE.name), Some(ExternType::Func(_)));
        let mut linker = make_linker(engine, options.host_funcs)
            .map_err(|e| Error::Instantiate { module: name.clone(), message: crate::error::one_line(&e) })?;
        let stubs = import_stubs(&module, &request.imports)
            .map_err(|message| Error::Instantiate { module: name.clone(), message })?;
        crate::imports::define(&mut linker, &module, &stubs, options.foreign_imports.or(request.foreign_imports))
            .map_err(|message| Error::Instantiate { module: name.clone(), message })?;
        let pre = linker.instantiate_pre(&module).map_err(|e| link_error(&name, e))?;
        Ok(Plugin {
            name,
            profile,
            engine: engine.clone(),
            module,
            pre,
            options,
            request: Arc::new(request.clone()),
            exports,
            has_initialize,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn profile(&self) -> EngineProfile {
        self.profile
    }

    pub fn request(&self) -> &Request {
        &self.request
    }

    pub fn module(&self) -> &Module {
        &self.module
    }

    /// The type of export `name`, one the request calls.
    pub fn export_type(&self, name: &str) -> Option<&FuncType> {
        self.exports.iter().find(|(n, _)| n == name).map(|(_, ty)| ty)
    }

    /// A new instance in a new store; the start function and a reactor's `_initialize` run here.
    pub fn instantiate(&self) -> Result<PluginInstance, Error> {
        self.instantiate_until(None)
    }

    /// [`Plugin::instantiate`] under a deadline (`epoch` profile only; [`Error::NoDeadline`] otherwise).
    pub fn instantiate_with_deadline(&self, timeout: Duration) -> Result<PluginInstance, Error> {
        if self.profile != EngineProfile::Epoch {
            return Err(Error::NoDeadline { profile: self.profile.name() });
        }
        let at = deadline::instant_after(timeout);
        let _ticker = at.map(|at| EpochTicker::start(&self.engine, at));
        let mut instance = self.instantiate_until(at)?;
        instance.store.data_mut().deadline = None;
        Ok(instance)
    }

    fn instantiate_until(&self, at: Option<Instant>) -> Result<PluginInstance, Error> {
        let world = self.request.command.as_ref().map(|command| CommandWorld { command, name: self.program_name() });
        let mut store = new_store_for(&self.engine, self.profile, &self.options, world)?;
        store.data_mut().deadline = at;
        let instantiated = catch_unwind(AssertUnwindSafe(|| self.pre.instantiate(&mut store)));
        let instance = started(&self.name, instantiated, store.data().limits.refused)?;
        if self.has_initialize {
            let index = self.module.get_export_index(INITIALIZE.name);
            if let Some(index) = index {
                call_initialize(&mut store, &instance, &index, &INITIALIZE)?;
            }
        }
        let memory = instance.get_memory(&mut store, &self.request.memory).map(GuestMemory::new).ok_or_else(|| {
            Error::MissingExport { module: self.name.clone(), export: self.request.memory.clone(), kind: "a memory" }
        })?;
        let mut funcs = Vec::with_capacity(self.exports.len());
        for (name, _) in &self.exports {
            let func = instance.get_func(&mut store, name).ok_or_else(|| Error::MissingExport {
                module: self.name.clone(),
                export: escape_controls(name).into_owned(),
                kind: "a function",
            })?;
            funcs.push(func);
        }
        Ok(PluginInstance { plugin: self.clone(), store, memory, funcs, poisoned: None, command_ran: false })
    }

    /// The name a command runs as when its request gives none: the module's file name.
    pub fn program_name(&self) -> &str {
        let name = self.name.rsplit(['/', '\\']).next().unwrap_or(&self.name);
        if name.is_empty() { &self.name } else { name }
    }
}

/// A WASI command's entry point: `_start`, a function of no parameters and no results.
fn check_entry_point(name: &str, module: &Module) -> Result<(), Error> {
    let expected = "a WASI command's entry point, a function () -> ()";
    let found = match module.get_export(START) {
        Some(ExternType::Func(ty)) if ty.params().len() == 0 && ty.results().len() == 0 => return Ok(()),
        Some(ExternType::Func(ty)) => format!("a function {}", signature(&ty)),
        Some(_) => "another kind of export".to_string(),
        None => {
            let kind = if module.get_export(INITIALIZE.name).is_some() {
                "the entry point of a WASI command: it exports `_initialize`, so it is a reactor, whose exports a \
                 request's [call] reaches"
            } else {
                "the entry point of a WASI command (the request's [command])"
            };
            return Err(Error::MissingExport { module: name.to_string(), export: START.to_string(), kind });
        }
    };
    Err(Error::WrongSignature { module: name.to_string(), export: START.to_string(), expected: expected.into(), found })
}

/// Every export `request` calls is a function with numeric parameters and as many arguments as the request gives;
/// the sources the request reads a pointer or length from are integers.
fn check_exports(name: &str, module: &Module, request: &Request) -> Result<Vec<(String, FuncType)>, Error> {
    let wrong = |export: &str, expected: String, found: String| Error::WrongSignature {
        module: name.to_string(),
        export: escape_controls(export).into_owned(),
        expected,
        found,
    };
    let mut typed = Vec::new();
    for export in called_exports(request) {
        let ty = match module.get_export(&export) {
            Some(ExternType::Func(ty)) => ty,
            Some(_) => return Err(wrong(&export, "a function".into(), "another kind of export".into())),
            None => {
                return Err(Error::MissingExport {
                    module: name.to_string(),
                    export: escape_controls(&export).into_owned(),
                    kind: "a function the request calls",
                });
            }
        };
        if !ty.params().all(|p| is_number(&p)) || !ty.results().all(|r| is_number(&r)) {
            return Err(wrong(
                &export,
                "a function of numbers (i32, i64, f32, f64)".into(),
                format!("a function {}", signature(&ty)),
            ));
        }
        typed.push((export, ty));
    }
    let ty_of = |export: &str| typed.iter().find(|(n, _)| n == export).map(|(_, ty)| ty.clone());
    let arity = |export: &str, given: usize, what: &str| -> Result<(), Error> {
        let ty = ty_of(export).expect("every called export was typed above");
        if ty.params().len() != given {
            return Err(wrong(
                export,
                format!("a function of {given} parameter(s), as {what} gives"),
                format!("a function {}", signature(&ty)),
            ));
        }
        Ok(())
    };
    let integer_result = |export: &str, index: usize, what: &str| -> Result<(), Error> {
        let ty = ty_of(export).expect("every called export was typed above");
        match ty.results().nth(index) {
            Some(r) if is_integer(&r) => Ok(()),
            _ => Err(wrong(
                export,
                format!("a function whose result {index} is an integer ({what})"),
                format!("a function {}", signature(&ty)),
            )),
        }
    };
    arity(&request.call.export, request.call.args.len(), "[call] args")?;
    for (position, arg) in request.call.args.iter().enumerate() {
        let ty = ty_of(&request.call.export).expect("typed above");
        let param = ty.params().nth(position).expect("the arity was checked");
        if matches!(arg, Arg::Ptr(_) | Arg::Len(_)) && !is_integer(&param) {
            return Err(wrong(
                &request.call.export,
                format!("an integer parameter {} for a pointer or length", position + 1),
                format!("a function {}", signature(&ty)),
            ));
        }
        if let Arg::Number(n) = arg {
            super::values::number_val(*n, &param).map_err(|why| Error::WrongSignature {
                module: name.to_string(),
                export: escape_controls(&request.call.export).into_owned(),
                expected: format!("a parameter {} that takes {n}", position + 1),
                found: why,
            })?;
        }
    }
    if let Some(a) = &request.allocator {
        arity(&a.alloc, a.alloc_args.len(), "[allocator] alloc_args")?;
        integer_result(&a.alloc, 0, "the pointer it allocated")?;
        if let Some(free) = &a.free {
            arity(&free.export, free.args.len(), "[allocator] free_args")?;
        }
    }
    let mut sources: Vec<(&Source, &str)> = Vec::new();
    if let Some((source, _)) = &request.call.status {
        sources.push((source, "the status"));
    }
    if let Some(output) = &request.output {
        if let Some(free) = &output.free {
            arity(&free.export, free.args.len(), "[output.free] args")?;
        }
        match &output.locate {
            Locate::PtrLen { ptr, len } => {
                sources.push((ptr, "the output's pointer"));
                if let Length::From(len) = len {
                    sources.push((len, "the output's length"));
                }
            }
            Locate::Packed { from, .. } => sources.push((from, "the packed pointer and length")),
            Locate::Pair(from) => sources.push((from, "the address of the pointer and length")),
        }
        if let Some((ptr, len)) = &output.error {
            sources.push((ptr, "the error message's pointer"));
            if let Length::From(len) = len {
                sources.push((len, "the error message's length"));
            }
        }
    }
    for (source, what) in sources {
        match source {
            Source::Result(index) => integer_result(&request.call.export, *index, what)?,
            Source::Export(export) => {
                arity(export, 0, "a source `export:NAME`")?;
                integer_result(export, 0, what)?;
            }
            Source::Value(_) | Source::SlotPtr(_) => {}
        }
    }
    Ok(typed)
}

/// One instance of a plugin in its own store, serving its request. After a trap the store is discarded: every
/// later call is [`Error::StoreDiscarded`] (make a new instance).
pub struct PluginInstance {
    pub(super) plugin: Plugin,
    store: Store<HostState>,
    memory: GuestMemory,
    /// The functions of [`Plugin::exports`], in its order.
    funcs: Vec<Func>,
    poisoned: Option<String>,
    /// Whether a WASI command's `_start` has run on this instance (it runs once per instance).
    pub(super) command_ran: bool,
}

impl std::fmt::Debug for PluginInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginInstance")
            .field("plugin", &self.plugin)
            .field("poisoned", &self.poisoned)
            .finish_non_exhaustive()
    }
}

impl PluginInstance {
    pub fn plugin(&self) -> &Plugin {
        &self.plugin
    }

    /// Runs `run` with a deadline, as [`crate::WasmHost::with_deadline`] does (`epoch` profile only).
    pub fn with_deadline<R>(&mut self, timeout: Duration, run: impl FnOnce(&mut Self) -> R) -> Result<R, Error> {
        if self.plugin.profile != EngineProfile::Epoch {
            return Err(Error::NoDeadline { profile: self.plugin.profile.name() });
        }
        let engine = self.plugin.engine.clone();
        Ok(deadline::within(self, &engine, timeout, |host| &mut host.store.data_mut().deadline, run))
    }

    /// What the guest wrote to stdout since the last take, when the plugin's options keep it.
    pub fn take_output(&mut self) -> Option<Vec<u8>> {
        self.store.data().take_output()
    }

    /// Current size of the request's memory in bytes.
    pub fn memory_size(&self) -> usize {
        self.memory.size(&self.store)
    }

    /// Calls export `name` (one the request calls) through the core's call guard.
    pub(crate) fn call(
        &mut self,
        name: &str,
        params: &[wasmtime::Val],
        results: &mut [wasmtime::Val],
    ) -> Result<(), Error> {
        let index = self.plugin.exports.iter().position(|(n, _)| n == name).ok_or_else(|| Error::MissingExport {
            module: self.plugin.name.clone(),
            export: escape_controls(name).into_owned(),
            kind: "a function",
        })?;
        let func = self.funcs[index];
        guarded(&mut self.store, &mut self.poisoned, name, Crossing::Checked, |store| func.call(store, params, results))
    }

    pub(crate) fn memory(&self) -> (&GuestMemory, &Store<HostState>) {
        (&self.memory, &self.store)
    }

    pub(crate) fn memory_mut(&mut self) -> (&GuestMemory, &mut Store<HostState>) {
        (&self.memory, &mut self.store)
    }
}
