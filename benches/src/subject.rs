//! What the matrix and the gate measure: the project's own guest (its core module and its component), or a module or
//! component the user names with `--wasm PATH` (and `--abi component`), with the exports they name with `--invoke`.
//! Built-in and user modules go through the same code: every bench constructor takes a [`Wasm`] from here, and
//! [`Serves`] says which rows a subject can serve and, for those it cannot, which export they need.

use crate::invoke::InvokeSpec;
use boundary_host::{EngineProfile, GuestComponent, GuestModule, GuestOutput, HostOptions, guest};
use std::path::{Path, PathBuf};

/// A wasm binary (or WAT text) to load, with the name that stands for it in messages.
#[derive(Debug, Clone)]
pub struct Wasm {
    pub name: String,
    pub bytes: Vec<u8>,
    pub is_text: bool,
}

impl Wasm {
    /// The project's quiet guest as a core module.
    pub fn quiet_guest() -> Self {
        Wasm { name: "the quiet guest".into(), bytes: guest::QUIET_WASM.to_vec(), is_text: false }
    }

    /// The project's quiet guest as a component.
    pub fn quiet_component() -> Self {
        Wasm { name: "the quiet guest component".into(), bytes: guest::COMPONENT_QUIET_WASM.to_vec(), is_text: false }
    }
}

/// Which form a user's file is loaded as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Core,
    Component,
}

/// The module (and component) a run measures.
#[derive(Debug, Clone)]
pub struct Subject {
    /// The core module, if the subject has one.
    pub core: Option<Wasm>,
    /// The component, if the subject has one.
    pub component: Option<Wasm>,
    /// The user's file, for a user's module.
    pub path: Option<PathBuf>,
    /// A short hash of the file's bytes, for a user's module (FNV-1a, 64 bits, as 16 hex digits).
    pub hash: Option<String>,
    /// The exports to call by name (`--invoke`).
    pub invokes: Vec<InvokeSpec>,
}

impl Subject {
    /// The project's guest: the quiet core module and the quiet component.
    pub fn built_in() -> Self {
        Subject {
            core: Some(Wasm::quiet_guest()),
            component: Some(Wasm::quiet_component()),
            path: None,
            hash: None,
            invokes: Vec::new(),
        }
    }

    /// The user's file at `path`, as a core module or a component; binary, or WAT text if it ends in `.wat`.
    pub fn from_file(path: &Path, form: Form, invokes: Vec<InvokeSpec>) -> Result<Self, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("cannot read module {}: {e}", path.display()))?;
        let is_text = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("wat"));
        let name = boundary_host::escape_controls(&path.display().to_string()).into_owned();
        let hash = format!("{:016x}", fnv1a(&bytes));
        let wasm = Some(Wasm { name, bytes, is_text });
        let (core, component) = match form {
            Form::Core => (wasm, None),
            Form::Component => (None, wasm),
        };
        Ok(Subject { core, component, path: Some(path.to_path_buf()), hash: Some(hash), invokes })
    }

    pub fn is_built_in(&self) -> bool {
        self.path.is_none()
    }

    /// The folder name of a user's run under `target/boundary-results/`: the file's stem and the first 8 hex digits of
    /// its hash, so that a changed module gets a folder of its own.
    pub fn results_name(&self) -> String {
        let stem = self
            .path
            .as_ref()
            .and_then(|p| p.file_stem())
            .map(|s| {
                s.to_string_lossy()
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
                    .collect()
            })
            .unwrap_or_else(|| "guest".to_string());
        match &self.hash {
            Some(hash) => format!("{stem}-{}", &hash[..8]),
            None => stem,
        }
    }

    /// One line naming the subject, for logs and result records.
    pub fn describe(&self) -> String {
        match (&self.path, &self.hash) {
            (Some(path), Some(hash)) => {
                let form = if self.component.is_some() { "component" } else { "module" };
                format!("{form} {} (FNV-1a {hash})", boundary_host::escape_controls(&path.display().to_string()))
            }
            _ => "the project's guest (its quiet core module and component)".to_string(),
        }
    }
}

/// The 64-bit FNV-1a hash of `bytes`: a content fingerprint for naming result folders, not a security measure.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// What a row needs of the subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Any core module that links (WASI preview 1 and the guest's `env` imports): compiling and instantiating it.
    Module,
    /// Any component that links (WASI 0.2 and the guest's `host` interface).
    AnyComponent,
    /// A core module with the guest ABI (the article's five exports and `memory`).
    Abi,
    /// The ABI and the optional export `nop`.
    Nop,
    /// The ABI and `point_add_batch`.
    Batch,
    /// The ABI and `call_host_n`.
    CallHostN,
    /// The ABI and the payload exports `checksum_bytes` and `fill_bytes`.
    Payload,
    /// A component of the guest's WIT world.
    World,
}

/// Which rows a subject can serve, worked out once by loading it; each `Err` says why not.
#[derive(Debug, Clone)]
pub struct Serves {
    module: Result<(), String>,
    any_component: Result<(), String>,
    abi: Result<(), String>,
    nop: bool,
    batch: bool,
    call_host_n: bool,
    payload: bool,
    world: Result<(), String>,
}

impl Serves {
    /// Loads the subject's core module and component under the `cranelift` profile to see what they have.
    pub fn of(subject: &Subject) -> Self {
        let profile = EngineProfile::Cranelift;
        let options = HostOptions { output: GuestOutput::Discard, ..HostOptions::default() };
        let engine = profile.engine().map_err(|e| e.to_string());
        let none = |what: &str| Err(format!("the subject has no {what}"));
        let (module, abi, (nop, batch, call_host_n, payload)) = match (&subject.core, &engine) {
            (None, _) => (none("core module"), none("core module"), (false, false, false, false)),
            (Some(_), Err(e)) => (Err(e.clone()), Err(e.clone()), (false, false, false, false)),
            (Some(wasm), Ok(engine)) => {
                let module = crate::raw::Linked::load(profile, engine, wasm).map(|_| ());
                let name = wasm.name.clone();
                match GuestModule::load_with_engine(name, &wasm.bytes, wasm.is_text, profile, engine, options) {
                    Ok(guest) => {
                        let has = |f| guest.exports_optional(f);
                        let optional = (
                            has(&guest::export::NOP),
                            has(&guest::export::POINT_ADD_BATCH),
                            has(&guest::export::CALL_HOST_N),
                            has(&guest::export::CHECKSUM_BYTES) && has(&guest::export::FILL_BYTES),
                        );
                        (module, Ok(()), optional)
                    }
                    Err(e) => (module, Err(format!("needs the guest ABI: {e}")), (false, false, false, false)),
                }
            }
        };
        let (any_component, world) = match (&subject.component, &engine) {
            (None, _) => (none("component"), none("component")),
            (Some(_), Err(e)) => (Err(e.clone()), Err(e.clone())),
            (Some(wasm), Ok(engine)) => {
                let load = |name: String| {
                    boundary_host::LinkedComponent::load(name, &wasm.bytes, wasm.is_text, profile, engine, options)
                };
                let any = load(wasm.name.clone()).map(|_| ()).map_err(|e| e.to_string());
                let world = GuestComponent::load_with_engine(
                    wasm.name.clone(),
                    &wasm.bytes,
                    wasm.is_text,
                    profile,
                    engine,
                    options,
                )
                .map(|_| ())
                .map_err(|e| format!("needs a component of the guest's WIT world: {e}"));
                (any, world)
            }
        };
        Serves { module, any_component, abi, nop, batch, call_host_n, payload, world }
    }

    /// Whether the subject serves a row that needs `needs`, or why not (naming the export it lacks).
    pub fn check(&self, needs: Needs) -> Result<(), String> {
        let optional = |present: bool, export: &str| {
            self.abi.clone()?;
            if present { Ok(()) } else { Err(format!("needs the optional export `{export}`")) }
        };
        match needs {
            Needs::Module => self.module.clone(),
            Needs::AnyComponent => self.any_component.clone(),
            Needs::Abi => self.abi.clone(),
            Needs::Nop => optional(self.nop, guest::export::NOP.name),
            Needs::Batch => optional(self.batch, guest::export::POINT_ADD_BATCH.name),
            Needs::CallHostN => optional(self.call_host_n, guest::export::CALL_HOST_N.name),
            Needs::Payload => optional(self.payload, "checksum_bytes` and `fill_bytes"),
            Needs::World => self.world.clone(),
        }
    }

    /// Whether the core module loads at all (compiles and links): what every core row needs first. An error here
    /// is the user's module being unusable, not a row being skipped.
    pub fn module_error(&self) -> Option<&str> {
        self.module.as_ref().err().map(String::as_str)
    }

    pub fn component_error(&self) -> Option<&str> {
        self.any_component.as_ref().err().map(String::as_str)
    }
}

/// The options that name what a run measures, shared by the matrix and the gate: `--wasm PATH`, `--abi core|component`,
/// `--invoke NAME[=ARGS]` (repeatable) and, for the matrix, `--profile NAME` (repeatable).
#[derive(Debug, Clone, Default)]
pub struct ModuleArgs {
    pub wasm: Option<PathBuf>,
    pub component: bool,
    pub invokes: Vec<InvokeSpec>,
    pub profiles: Vec<EngineProfile>,
}

impl ModuleArgs {
    /// The flags these options use, each taking one value.
    pub const FLAGS: &[&str] = &["--wasm", "--abi", "--invoke", "--profile"];

    /// Reads flag-value pairs (as [`split_module_args`] leaves them).
    pub fn parse(pairs: &[String]) -> Result<Self, String> {
        let mut parsed = ModuleArgs::default();
        let mut iter = pairs.iter();
        while let Some(flag) = iter.next() {
            let value = iter.next().ok_or_else(|| format!("{flag} needs a value"))?;
            match flag.as_str() {
                "--wasm" => parsed.wasm = Some(user_path(value)),
                "--abi" => {
                    parsed.component = match value.as_str() {
                        "core" => false,
                        "component" => true,
                        other => return Err(format!("unknown ABI `{other}` (known: core, component)")),
                    }
                }
                "--invoke" => parsed.invokes.push(InvokeSpec::parse(value)?),
                "--profile" => parsed.profiles.push(EngineProfile::from_name(value).map_err(|e| e.to_string())?),
                other => return Err(format!("unexpected argument `{other}`")),
            }
        }
        if parsed.wasm.is_none() && (!parsed.invokes.is_empty() || parsed.component) {
            return Err("--invoke and --abi component need --wasm PATH (the project's guest is measured whole)".into());
        }
        Ok(parsed)
    }

    /// The profiles asked for, or every profile.
    pub fn profiles_or_all(&self) -> Vec<EngineProfile> {
        if self.profiles.is_empty() { EngineProfile::ALL.to_vec() } else { self.profiles.clone() }
    }

    /// The subject these options name: the user's file, or the project's guest.
    pub fn subject(&self) -> Result<Subject, String> {
        match &self.wasm {
            Some(path) => {
                let form = if self.component { Form::Component } else { Form::Core };
                Subject::from_file(path, form, self.invokes.clone())
            }
            None => Ok(Subject::built_in()),
        }
    }
}

/// Splits a command line into the module options ([`ModuleArgs::FLAGS`], each with its value; `--flag=value` is
/// split in two) and the rest.
pub fn split_module_args(args: Vec<String>) -> Result<(Vec<String>, Vec<String>), String> {
    let (mut own, mut rest) = (Vec::new(), Vec::new());
    let mut iter = args.into_iter();
    while let Some(arg) = iter.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if ModuleArgs::FLAGS.contains(&f) => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        if ModuleArgs::FLAGS.contains(&flag.as_str()) {
            let value = inline.or_else(|| iter.next()).ok_or_else(|| format!("{flag} needs a value"))?;
            own.push(flag);
            own.push(value);
        } else {
            rest.push(arg);
        }
    }
    Ok((own, rest))
}

/// A subject checked before anything is measured: what it serves, and for each `--invoke` export whether the
/// typed path covers its signature (or why not).
#[derive(Debug)]
pub struct Prepared {
    pub serves: Serves,
    pub typed: Vec<Result<(), String>>,
}

/// Loads `subject` and prepares (and calls once) every `--invoke` export under `cranelift`: a file that is not wasm,
/// a module that does not compile or link (an import nothing provides), a name the module lacks, a signature that
/// cannot be called, or a call that traps is an error here, one line, before any measurement.
pub fn prepare(subject: &Subject) -> Result<Prepared, String> {
    let serves = Serves::of(subject);
    if let Some(e) = serves.module_error().filter(|_| subject.core.is_some()) {
        return Err(e.to_string());
    }
    if let Some(e) = serves.component_error().filter(|_| subject.component.is_some() && subject.core.is_none()) {
        return Err(e.to_string());
    }
    let profile = EngineProfile::Cranelift;
    let engine = profile.engine().map_err(|e| e.to_string())?;
    let mut typed = Vec::new();
    for spec in &subject.invokes {
        let mut covered = Err("a component's exports are called untyped only".to_string());
        if let Some(wasm) = &subject.core {
            let linked = crate::raw::Linked::load(profile, &engine, wasm)?;
            let mut store = crate::raw::new_store(&engine, profile);
            let instance =
                linked.pre.instantiate(&mut store).map_err(|e| format!("cannot instantiate {}: {e:#}", wasm.name))?;
            let call = crate::invoke::CoreInvoke::prepare(&mut store, &instance, spec)?;
            covered = call.typed_unsupported().map_or(Ok(()), Err);
        }
        if let Some(wasm) = &subject.component {
            let linked = crate::component_ops::link(profile, &engine, wasm)?;
            let (mut store, instance) = linked.instantiate().map_err(|e| e.to_string())?;
            crate::invoke::ComponentInvoke::prepare(&mut store, &instance, spec)?;
        }
        typed.push(covered);
    }
    Ok(Prepared { serves, typed })
}

/// A path the user typed, relative to the directory they typed it in. cargo runs a bench or test from its
/// package's folder, so a relative path is resolved against the shell's `PWD` (which cargo passes on unchanged),
/// or, without one, against this process's working directory.
pub fn user_path(text: &str) -> PathBuf {
    let path = PathBuf::from(text);
    if path.is_absolute() {
        return path;
    }
    match std::env::var_os("PWD").map(PathBuf::from).filter(|pwd| pwd.is_absolute()) {
        Some(pwd) => pwd.join(path),
        None => std::env::current_dir().map_or(path.clone(), |dir| dir.join(&path)),
    }
}
