//! The host core's error type: one enum, so callers branch on the kind (out of bounds, trap, missing export, ...)
//! instead of matching message strings. Every message names what was wrong: the file, export, import, offset or
//! profile involved.

use std::fmt;
use std::path::PathBuf;

/// Everything the host core can report. Display is one line, fit for a command-line error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read module {}: {source}", path.display())]
    ReadModule {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{module} is not a wasm module: {reason}")]
    NotWasm { module: String, reason: String },

    /// A component where a core module was expected, or the other way round.
    #[error("{module} is {found}, not {expected}: {hint}")]
    WrongKind { module: String, found: &'static str, expected: &'static str, hint: &'static str },

    #[error("{module} does not compile: {message}")]
    Compile { module: String, message: String },

    #[error("unknown engine profile `{name}` (known: {known})")]
    UnknownProfile { name: String, known: String },

    #[error("engine profile `{profile}` is rejected by wasmtime: {message}")]
    Profile { profile: &'static str, message: String },

    #[error("{module} lacks the export `{export}` ({kind}) that the host needs")]
    MissingExport { module: String, export: String, kind: &'static str },

    #[error("{module} exports `{export}` as {found}, but the host needs {expected}")]
    WrongSignature { module: String, export: String, expected: String, found: String },

    #[error("{module} imports `{import_module}::{field}`, which the host does not provide")]
    UnknownImport { module: String, import_module: String, field: String },

    #[error("{module} imports `{import_module}::{field}` as {found}, but the host provides {expected}")]
    WrongImportSignature { module: String, import_module: String, field: String, expected: String, found: String },

    /// The module's linear memory is of a kind the host cannot drive safely (see `abi_check.rs`).
    #[error("{module} cannot be driven: {reason}")]
    UnsupportedMemory { module: String, reason: String },

    /// A component that does not fit the guest's WIT world (`guest/wit/boundary.wit`): an import the host does not
    /// provide, or an export missing or of another type (wasmtime's message names which).
    #[error("{component} does not fit the guest's WIT world: {message}")]
    ComponentWorld { component: String, message: String },

    #[error("cannot instantiate {module}: {message}")]
    Instantiate { module: String, message: String },

    /// The module's start function trapped (or was interrupted) during instantiation.
    #[error("the start function of {module} {trap}")]
    StartTrapped { module: String, trap: TrapKind },

    /// The guest trapped. The store that ran it is in an unknown state and must be discarded.
    #[error("`{export}` {trap}")]
    Trap { export: String, trap: TrapKind },

    /// A call on a store that an earlier trap left in an unknown state.
    #[error("this store was discarded after `{export}` trapped; reset the host to get a fresh instance")]
    StoreDiscarded { export: String },

    /// A deadline was asked for under a profile whose code has no epoch checks to interrupt it.
    #[error("a deadline needs the `epoch` engine profile; `{profile}` cannot interrupt a running guest")]
    NoDeadline { profile: &'static str },

    /// A pointer the guest handed over is in bounds but not aligned for the value it should point at.
    #[error("`{export}` returned {offset:#x}, which is not aligned to {align} bytes")]
    MisalignedPointer { export: &'static str, offset: usize, align: usize },

    #[error("cannot grow linear memory by {pages} page(s): {message}")]
    Grow { pages: u64, message: String },

    /// The C++ host could not load the module, or a call into the guest through it failed (its message says
    /// which export and why: a trap, a missing export, a module that does not compile).
    #[error("the C++ host: {message}")]
    CppHost { message: String },

    #[error("host memory access failed: {0}")]
    Memory(#[from] MemoryError),
}

impl Error {
    /// True for errors after which the store that produced them must not be used again.
    pub fn poisons_store(&self) -> bool {
        matches!(self, Error::Trap { .. })
    }

    /// The wasm trap code, when this is a trap with one.
    pub fn trap_code(&self) -> Option<wasmtime::Trap> {
        match self {
            Error::Trap { trap: TrapKind::Wasm(code), .. } | Error::StartTrapped { trap: TrapKind::Wasm(code), .. } => {
                Some(*code)
            }
            _ => None,
        }
    }

    /// Classifies an error returned by a call into the guest.
    pub(crate) fn from_call(export: &str, error: wasmtime::Error) -> Self {
        Error::Trap { export: export.to_string(), trap: TrapKind::of(&error) }
    }

    /// A panic caught at the call boundary, raised by a host function the guest called.
    pub(crate) fn from_panic(export: &str, payload: &(dyn std::any::Any + Send)) -> Self {
        Error::Trap { export: export.to_string(), trap: TrapKind::from_panic(payload) }
    }
}

/// Why a call into the guest did not return normally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrapKind {
    /// A wasm trap with its code (out-of-bounds access, unreachable, out of fuel, ...).
    Wasm(wasmtime::Trap),
    /// A host function returned an error, which unwound the guest like a trap.
    Host(String),
    /// A host function panicked; the panic was caught where the host called into the guest.
    HostPanic(String),
    /// The guest tried to grow linear memory past the store's limit, and the limit is set to trap.
    MemoryLimit(MemoryLimitExceeded),
}

impl TrapKind {
    /// A host function's panic, caught where the host called into the guest, with its message.
    pub(crate) fn from_panic(payload: &(dyn std::any::Any + Send)) -> Self {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic whose payload is not a string".to_string());
        TrapKind::HostPanic(message)
    }

    /// How a wasmtime error that ended a call into the guest ended it.
    pub(crate) fn of(error: &wasmtime::Error) -> Self {
        if let Some(code) = error.downcast_ref::<wasmtime::Trap>() {
            TrapKind::Wasm(*code)
        } else if let Some(limit) = error.downcast_ref::<MemoryLimitExceeded>() {
            TrapKind::MemoryLimit(*limit)
        } else {
            TrapKind::Host(one_line(error))
        }
    }
}

/// What happened, as the rest of a sentence whose subject is what ran: "`just_add` trapped: unreachable code
/// reached", "`just_add` was interrupted: its deadline passed".
impl fmt::Display for TrapKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrapKind::Wasm(wasmtime::Trap::Interrupt) => f.write_str("was interrupted: its deadline passed"),
            TrapKind::Wasm(wasmtime::Trap::OutOfFuel) => f.write_str("ran out of fuel"),
            TrapKind::Wasm(code) => {
                // wasmtime's own text starts with "wasm trap: ", which would say "trap" twice.
                let text = code.to_string();
                write!(f, "trapped: {}", text.strip_prefix("wasm trap: ").unwrap_or(&text))
            }
            TrapKind::Host(message) => write!(f, "failed: a host function returned an error: {message}"),
            TrapKind::HostPanic(message) => write!(f, "failed: a host function panicked: {message}"),
            TrapKind::MemoryLimit(limit) => write!(f, "trapped: {limit}"),
        }
    }
}

/// A growth of linear memory past the store's limit ([`crate::HostOptions::max_memory`]). Carried through
/// wasmtime as the error of the call that grew, when the limit is set to trap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("linear memory may not grow to {requested} bytes: the store's limit is {limit} bytes")]
pub struct MemoryLimitExceeded {
    pub requested: usize,
    pub limit: usize,
}

/// A host-side access to guest memory that does not fit inside linear memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{len} byte(s) at guest offset {offset} ({offset:#x}) do not fit in linear memory of {memory_size} bytes")]
pub struct MemoryError {
    pub offset: usize,
    pub len: usize,
    pub memory_size: usize,
}

/// A wasmtime error and its causes on one line, for messages that must stay one line. The wasm backtrace wasmtime
/// attaches as context is left out: it lists frames, not causes.
pub(crate) fn one_line(error: &wasmtime::Error) -> String {
    let causes: Vec<String> = error
        .chain()
        .map(|cause| cause.to_string())
        .filter(|text| !text.starts_with("error while executing at wasm backtrace"))
        .collect();
    causes.join(": ").split_whitespace().collect::<Vec<_>>().join(" ")
}
