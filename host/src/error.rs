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

    #[error("{module} imports `{import_module}::{field}`, which the host does not provide{hint}")]
    UnknownImport { module: String, import_module: String, field: String, hint: &'static str },

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

    /// Instantiating the module (making its memories and tables) would take the store past its memory budget.
    #[error("instantiating {module} went past the memory budget: {limit}")]
    OverBudget { module: String, limit: MemoryLimitExceeded },

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

    /// A plugin broke the rules of the request it was serving (`plugin/`): an allocator returning 0 or a pointer
    /// past memory, an output past memory, a string without its NUL.
    #[error("{module} broke the request's rules: {message}")]
    BrokeRequest { module: String, message: String },

    /// A WASI command's instance asked to run it again: `_start` runs once per instance.
    #[error("{module} is a WASI command, whose `_start` runs once per instance: serve each run on a new instance")]
    CommandRan { module: String },

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

    /// Whether this is the guest going past the store's memory budget ([`crate::HostOptions::max_memory`]), in a
    /// call, its start function or its instantiation.
    pub fn is_memory_limit(&self) -> bool {
        matches!(
            self,
            Error::Trap { trap: TrapKind::MemoryLimit(_), .. }
                | Error::StartTrapped { trap: TrapKind::MemoryLimit(_), .. }
                | Error::OverBudget { .. }
        )
    }

    /// Classifies an error returned by a call into the guest; `crossing` says how the call's values crossed.
    pub(crate) fn from_call(export: &str, error: wasmtime::Error, crossing: Crossing) -> Self {
        Error::Trap { export: export.to_string(), trap: TrapKind::of(&error, crossing) }
    }

    /// A panic caught at the call boundary, raised by a host function the guest called.
    pub(crate) fn from_panic(export: &str, payload: &(dyn std::any::Any + Send)) -> Self {
        Error::Trap { export: export.to_string(), trap: TrapKind::from_panic(payload) }
    }
}

/// How a call's values cross the boundary, which decides who an error that names no one is put down to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Crossing {
    /// Values the host checked against the export's type before the call (a core call, an untyped component
    /// call): an error wasmtime raises outside the guest's code is wasmtime refusing the call.
    Checked,
    /// A component call through the generated bindings, whose values the canonical ABI lowers into the guest's
    /// memory and lifts out of it (lists, records, return areas, `cabi_realloc`, post-return): an error wasmtime
    /// raises outside the guest's code is the guest breaking the canonical ABI.
    Lifted,
}

/// An error that a host function returned on purpose, so that it is reported as the host function's own wherever
/// it is raised (the three `env` functions never return one on a well-typed call). An embedder's host function may
/// return it too.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HostFunctionError(pub String);

/// Why a call into the guest did not return normally, named by who failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrapKind {
    /// A wasm trap with its code (out-of-bounds access, unreachable, out of fuel, interrupted, ...).
    Wasm(wasmtime::Trap),
    /// A host function returned an error, which unwound the guest like a trap.
    Host(String),
    /// A host function panicked; the panic was caught where the host called into the guest.
    HostPanic(String),
    /// The guest tried to grow its memories and tables past the store's budget, and the limit is set to trap.
    MemoryLimit(MemoryLimitExceeded),
    /// The guest asked to exit (WASI `proc_exit`, `wasi:cli/exit`) with this status.
    Exit(i32),
    /// A WASI command wrote more to stdout than its request allows (`max_stdout`, this many bytes).
    StdoutLimit(usize),
    /// A GC heap could not take an allocation, and no refusal of the store's budget explains it (an exception
    /// object is the only GC object a profile lets a guest make).
    GcHeapFull(String),
    /// The guest threw a wasm exception (exception handling) that nothing in it caught.
    Uncaught,
    /// A component broke the canonical ABI: a list, string or return area outside its memory or misaligned, a
    /// `cabi_realloc` result out of bounds, a bad discriminant (wasmtime's checks, with its message).
    Abi(String),
    /// wasmtime refused the call outside the guest's code, for a reason of the host's (for example a plain call on
    /// a store that needs async calls, or an untyped call with values of the wrong types).
    Refused(String),
}

impl TrapKind {
    /// A host function's panic, caught where the host called into the guest, with its message.
    pub(crate) fn from_panic(payload: &(dyn std::any::Any + Send)) -> Self {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic whose payload is not a string".to_string());
        TrapKind::HostPanic(escape_controls(&message).into_owned())
    }

    /// How a wasmtime error that ended a call into the guest ended it. Typed errors say it themselves. An error
    /// raised while the guest's code was on the stack (wasmtime attached the guest's backtrace to it) came from a
    /// host function the guest called. Any other came from wasmtime around the guest's code: put down to the guest
    /// for a call whose values the canonical ABI lifts, to the host's call otherwise (see [`Crossing`]).
    pub(crate) fn of(error: &wasmtime::Error, crossing: Crossing) -> Self {
        if let Some(code) = error.downcast_ref::<wasmtime::Trap>() {
            TrapKind::Wasm(*code)
        } else if let Some(limit) = error.downcast_ref::<MemoryLimitExceeded>() {
            TrapKind::MemoryLimit(*limit)
        } else if let Some(status) = exit_status(error) {
            TrapKind::Exit(status)
        } else if let Some(limit) = stdout_limit(error) {
            TrapKind::StdoutLimit(limit)
        } else if error.downcast_ref::<wasmtime::ThrownException>().is_some() {
            TrapKind::Uncaught
        } else if error.downcast_ref::<wasmtime::GcHeapOutOfMemory<()>>().is_some() {
            TrapKind::GcHeapFull(one_line(error))
        } else if let Some(unknown) = error.downcast_ref::<wasmtime::UnknownImportError>() {
            // An import defined to trap (`ForeignImports::Trap`), called.
            TrapKind::Host(foreign_import_called(unknown.module(), unknown.name()))
        } else if error.downcast_ref::<HostFunctionError>().is_some()
            || error.downcast_ref::<wasmtime::WasmBacktrace>().is_some()
        {
            TrapKind::Host(one_line(error))
        } else if crossing == Crossing::Lifted {
            TrapKind::Abi(one_line(error))
        } else {
            TrapKind::Refused(one_line(error))
        }
    }
}

impl TrapKind {
    /// The trap as the store's budget explains it, given the refusal of the last growth the store asked for
    /// ([`crate::MemoryLimit::refused`]): a GC heap full right after the budget refused its growth is the budget's
    /// doing, the GC heap what grew (wasmtime reports a refused GC heap growth as a full heap, under either setting
    /// of `trap_on_grow_failure`).
    pub(crate) fn within_budget(self, refused: Option<MemoryLimitExceeded>) -> Self {
        match (self, refused) {
            (TrapKind::GcHeapFull(_), Some(limit)) => {
                TrapKind::MemoryLimit(MemoryLimitExceeded { grown: Grown::GcHeap, ..limit })
            }
            (trap, _) => trap,
        }
    }
}

/// What an import the host does not provide, defined to trap (`imports::ForeignImports::Trap`), says when the guest
/// calls it.
pub fn foreign_import_called(module: &str, field: &str) -> String {
    foreign_component_import_called(&format!("{module}::{field}"))
}

/// [`foreign_import_called`] for a component's import, named by its path (`my:host/clock#now`).
pub fn foreign_component_import_called(path: &str) -> String {
    format!("the guest called `{}`, an import the host does not provide (defined to trap)", escape_controls(path))
}

/// The status of a WASI exit, if `error` is one.
fn exit_status(error: &wasmtime::Error) -> Option<i32> {
    #[cfg(feature = "wasi")]
    return error.downcast_ref::<wasmtime_wasi::I32Exit>().map(|exit| exit.0);
    #[cfg(not(feature = "wasi"))]
    {
        let _ = error;
        None
    }
}

/// A WASI command wrote more to stdout than its request allows (`max_stdout`): the error its write ends it with
/// (`output.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("wrote more than {limit} bytes to stdout, past the request's `max_stdout`")]
pub struct StdoutLimitExceeded {
    pub limit: usize,
}

/// The bound of a command's stdout, if `error` is a write past it.
fn stdout_limit(error: &wasmtime::Error) -> Option<usize> {
    error.downcast_ref::<StdoutLimitExceeded>().map(|e| e.limit)
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
            TrapKind::MemoryLimit(limit) => write!(f, "went past the memory budget: {limit}"),
            TrapKind::Exit(status) => write!(f, "exited with status {status} (WASI exit)"),
            TrapKind::StdoutLimit(limit) => StdoutLimitExceeded { limit: *limit }.fmt(f),
            TrapKind::GcHeapFull(message) => write!(f, "failed: a GC heap is full: {message}"),
            TrapKind::Uncaught => f.write_str("threw a wasm exception that nothing caught"),
            TrapKind::Abi(message) => write!(f, "failed: the guest broke the canonical ABI: {message}"),
            TrapKind::Refused(message) => write!(f, "failed: wasmtime refused the call: {message}"),
        }
    }
}

/// A growth past the store's memory budget ([`crate::HostOptions::max_memory`]), which counts every linear memory
/// and table of the store together. Carried through wasmtime as the error of the call that grew, when the limit is
/// set to trap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "{grown} growing to {} would bring the store's memories and tables to {}, past its budget of {}",
    Bytes(*size), Bytes(*requested), Bytes(*limit)
)]
pub struct MemoryLimitExceeded {
    /// What grew.
    pub grown: Grown,
    /// The size in bytes it asked for (a table's elements at what the budget charges for each).
    pub size: usize,
    /// The store's total after the growth.
    pub requested: usize,
    pub limit: usize,
}

/// A size in bytes as messages give it: exact, and in MiB beside it when that is more readable.
struct Bytes(usize);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MIB: usize = 1 << 20;
        if self.0 < MIB {
            write!(f, "{} bytes", self.0)
        } else if self.0.is_multiple_of(MIB) {
            write!(f, "{} MiB", self.0 / MIB)
        } else {
            write!(f, "{} bytes ({:.1} MiB)", self.0, self.0 as f64 / MIB as f64)
        }
    }
}

/// What a growth past the budget grew.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grown {
    Memory,
    Table,
    /// The store's GC heap, where exception objects live: a memory to the limiter, told apart after the fact.
    GcHeap,
}

impl fmt::Display for Grown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Grown::Memory => "a linear memory",
            Grown::GcHeap => "the GC heap (of exception objects)",
            Grown::Table => "a table",
        })
    }
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
pub fn one_line(error: &wasmtime::Error) -> String {
    let causes: Vec<String> = error
        .chain()
        .map(|cause| cause.to_string())
        .filter(|text| !text.starts_with("error while executing at wasm backtrace"))
        .collect();
    escape_controls(&causes.join(": ").split_whitespace().collect::<Vec<_>>().join(" ")).into_owned()
}

/// `text` with every character that could break a one-line message or drive a terminal written as a `\u{..}`
/// escape: control characters (a newline, an escape sequence's ESC, DEL, C1 controls), line and paragraph
/// separators, and the marks that reorder text on screen. Names chosen by a guest (an import's module and field, an
/// export's name) and messages that quote them pass through here before they reach an [`Error`]; the main job
/// passes each `error:` line through it again.
pub fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| {
        c.is_control()
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.contains(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            escaped.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            escaped.push(c);
        }
    }
    std::borrow::Cow::Owned(escaped)
}
