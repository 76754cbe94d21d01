//! What a run measures: the project's own guest (its core module and its component), or a module or component the
//! user names with `--wasm PATH` (and `--abi component`), with the exports they name with `--invoke`, and what each
//! row or scenario needs of it ([`Needs`]). Built-in and user modules go through the same code: every operation takes
//! a [`Wasm`], and `probe.rs` works out which needs a subject meets.

use crate::guard;
use crate::ops::invoke::InvokeSpec;
use crate::options::{Abi, ModuleOptions, RequestOptions, SubjectOptions};
use boundary_host::plugin::Request;
use boundary_host::{EngineProfile, ForeignImports, Wasm};
use std::path::{Path, PathBuf};

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
    /// The request a user's plugin serves (`--request`).
    pub request: Option<Request>,
    /// What the module's function imports that the host does not provide become (`--foreign-imports`, or the
    /// request's `foreign_imports`).
    pub foreign_imports: ForeignImports,
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
            request: None,
            foreign_imports: ForeignImports::Refuse,
        }
    }

    /// `profiles` without those that cannot compile the subject's core module although others can (Winch and a module
    /// with exception handling), each of those named on a `skipped:` line with why: what every measuring command runs
    /// the subject under. An error when none is left.
    pub fn compiled_under(&self, profiles: Vec<EngineProfile>) -> Result<Vec<EngineProfile>, String> {
        let Some(core) = self.core.as_ref().filter(|_| !self.is_built_in()) else { return Ok(profiles) };
        let mut refused = Vec::new();
        let left: Vec<EngineProfile> = profiles
            .into_iter()
            .filter(|profile| match profile.refuses(core) {
                Some(why) => {
                    let why = boundary_host::escape_controls(&why).into_owned();
                    println!("skipped: engine profile `{profile}` ({why})");
                    refused.push(why);
                    false
                }
                None => true,
            })
            .collect();
        match (left.is_empty(), refused.first()) {
            (true, Some(why)) => Err(format!("no engine profile asked for can compile the module: {why}")),
            _ => Ok(left),
        }
    }

    /// The Rust WASI command fixture (`guest/command`) serving `request`: for tests of what a command is measured by.
    #[cfg(test)]
    pub fn command_fixture(request: &str) -> Self {
        let wasm = Wasm {
            name: "command_guest.wasm".into(),
            bytes: boundary_host::guest::COMMAND_WASM.to_vec(),
            is_text: false,
        };
        let request = Request::parse(request, Path::new("/")).expect("the test's request parses");
        Subject { core: Some(wasm), component: None, request: Some(request), ..Subject::built_in() }
    }

    /// The user's file at `path`, as a core module or a component; binary, or WAT text if it ends in `.wat`.
    pub fn from_file(path: &Path, form: Form, invokes: Vec<InvokeSpec>) -> Result<Self, String> {
        // Rows and scenarios are named by the export: two calls of one name would be one row measuring the first.
        for (index, spec) in invokes.iter().enumerate() {
            if let Some(earlier) = invokes[..index].iter().find(|earlier| earlier.id_name() == spec.id_name()) {
                return Err(format!(
                    "{} and {} would both be measured as `invoke/{}/...`: give each export once",
                    earlier.given_as(),
                    spec.given_as(),
                    spec.id_name()
                ));
            }
        }
        let wasm = Wasm::from_file(path).map_err(|e| e.to_string())?;
        let hash = format!("{:016x}", wasm.fingerprint());
        let (core, component) = match form {
            Form::Core => (Some(wasm), None),
            Form::Component => (None, Some(wasm)),
        };
        Ok(Subject {
            core,
            component,
            path: Some(path.to_path_buf()),
            hash: Some(hash),
            invokes,
            request: None,
            foreign_imports: ForeignImports::Refuse,
        })
    }

    /// The subject `options` name: [`Subject::with_request`] with the `--invoke` exports.
    pub fn of(options: &SubjectOptions) -> Result<Self, String> {
        Self::with_request(&options.module, &options.request, &options.invoke.invokes)
    }

    /// The subject the options name, with the request a plugin serves (`--request`) if one is given: the module
    /// is `--wasm`'s or the request file's.
    pub fn with_request(
        module: &ModuleOptions,
        request: &RequestOptions,
        invokes: &[InvokeSpec],
    ) -> Result<Self, String> {
        let Some((request, _)) = request.load(module)? else { return Self::from_options(module, invokes) };
        let path = module.resolved().or_else(|| request.module.clone()).expect("a loaded request has a module");
        // A component's request (`[invoke]`) is one more `--invoke`, its results checked against the request's
        // `[expect]`: measured by the `--invoke` rows and scenarios, not by a core plugin's.
        if let Some(requested) = InvokeSpec::requested(&request) {
            let mut invokes = invokes.to_vec();
            invokes.push(requested);
            let mut subject = Subject::from_file(&path, Form::Component, invokes)?;
            subject.foreign_imports = module.foreign_imports.or(request.foreign_imports);
            return Ok(subject);
        }
        let mut subject = Subject::from_file(&path, Form::Core, invokes.to_vec())?;
        subject.foreign_imports = module.foreign_imports.or(request.foreign_imports);
        subject.request = Some(request);
        Ok(subject)
    }

    /// What the subject's module gets for the imports the host does not provide, for [`guard::configure`]: the
    /// policy, and the request's own definitions.
    pub fn imports(&self) -> guard::Imports {
        let defined = self.request.as_ref().map(|r| r.imports.clone()).unwrap_or_default();
        guard::Imports { foreign: self.foreign_imports, defined }
    }

    /// The subject the module options name (the user's file, or the project's guest), with the exports to invoke.
    pub fn from_options(module: &ModuleOptions, invokes: &[InvokeSpec]) -> Result<Self, String> {
        match &module.resolved() {
            Some(path) => {
                let form = match module.abi {
                    Abi::Core => Form::Core,
                    Abi::Component => Form::Component,
                };
                let mut subject = Subject::from_file(path, form, invokes.to_vec())?;
                subject.foreign_imports = module.foreign_imports;
                Ok(subject)
            }
            None if !invokes.is_empty() || module.abi == Abi::Component => {
                Err("--invoke and --abi component need --wasm PATH (the project's guest is measured whole)".into())
            }
            None => Ok(Subject::built_in()),
        }
    }

    pub fn is_built_in(&self) -> bool {
        self.path.is_none()
    }

    /// The folder name of a user's run: the file's stem and the first 8 hex digits of its hash, so that a changed
    /// module gets a folder of its own.
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
    /// The ABI, with a `point_add` that traps with an out-of-bounds access when its output lies past memory (as the
    /// article's and the project's guests do): what the trap rows measure.
    Trap,
    /// A component of the guest's WIT world.
    World,
    /// A component of the guest's WIT world with this one of its optional exports
    /// (`boundary_host::component::export::OPTIONAL`).
    WorldExport(&'static str),
}
