//! A request file: one request to a user's plugin, written in TOML, read and checked here before anything runs.
//! What the file says is described in README ("Your own module: real plugins"); this module turns it into a
//! [`Request`], whose every name and reference is resolved, or one line saying what in the file is wrong.
//!
//! The words of the file's small language, in one place:
//! - an *argument* of the call is a number, `NAME.ptr` or `NAME.len` of an input or an out-slot;
//! - an allocator's or a free's argument is a number, `len` or `ptr`;
//! - a *source* (where an output's pointer or length comes from) is `result` (`result.N` for the N-th of several
//!   results), `NAME.value` (the `u32` the guest wrote into an out-slot), `NAME.ptr` (an out-slot's own address),
//!   `export:NAME` (the first result of a zero-argument export), or, for a length, `nul`.

use crate::command::{Command, DEFAULT_MAX_STDOUT, MAX_STDIN_BYTES, MAX_STDOUT_LIMIT, Preopen, START};
use crate::imports::ForeignImports;
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// The most bytes a request's inputs may hold together, unless the host's memory budget is smaller: every input
/// is held in host memory and copied into the guest.
pub const MAX_INPUT_BYTES: u64 = 1 << 32;

/// A request file as it is written, before its names are resolved.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestFile {
    /// The module, relative to the request file.
    module: Option<PathBuf>,
    /// The exported linear memory the pointers point into.
    #[serde(default = "default_memory")]
    memory: String,
    allocator: Option<AllocatorFile>,
    #[serde(default, rename = "input")]
    inputs: Vec<InputFile>,
    #[serde(default, rename = "out")]
    outs: Vec<OutFile>,
    call: Option<CallFile>,
    command: Option<CommandFile>,
    invoke: Option<InvokeFile>,
    output: Option<OutputFile>,
    expect: Option<ExpectFile>,
    /// What the host does with the module's other function imports: `refuse` (the default) or `trap`.
    foreign_imports: Option<String>,
    #[serde(default, rename = "import")]
    imports: Vec<ImportFile>,
}

/// A function import the request defines: its results, or a trap when `results` is absent.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportFile {
    module: String,
    name: String,
    results: Option<Vec<toml::Value>>,
}

/// A component's export the request calls instead (`[invoke]`), with its arguments in WAVE.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct InvokeFile {
    export: String,
    args: Option<String>,
}

/// A WASI command the request runs instead of a call (`[command]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CommandFile {
    program: Option<String>,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: std::collections::BTreeMap<String, String>,
    stdin: Option<StdinFile>,
    #[serde(default)]
    exit: i32,
    max_stdout: Option<u64>,
    preopen: Option<PreopenFile>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct StdinFile {
    text: Option<String>,
    hex: Option<String>,
    file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PreopenFile {
    dir: PathBuf,
    #[serde(rename = "as")]
    guest: Option<String>,
}

fn default_memory() -> String {
    "memory".to_string()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct AllocatorFile {
    alloc: String,
    #[serde(default = "default_alloc_args")]
    alloc_args: Vec<toml::Value>,
    free: Option<String>,
    #[serde(default = "default_free_args")]
    free_args: Vec<toml::Value>,
}

fn default_alloc_args() -> Vec<toml::Value> {
    vec![toml::Value::String("len".into())]
}

fn default_free_args() -> Vec<toml::Value> {
    vec![toml::Value::String("ptr".into())]
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct InputFile {
    name: String,
    text: Option<String>,
    hex: Option<String>,
    file: Option<PathBuf>,
    size: Option<u64>,
    #[serde(default)]
    seed: u32,
    #[serde(default)]
    nul: bool,
    at: Option<u64>,
    free: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct OutFile {
    name: String,
    #[serde(default = "default_slot_size")]
    size: u32,
}

fn default_slot_size() -> u32 {
    4
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CallFile {
    export: String,
    #[serde(default)]
    args: Vec<toml::Value>,
    /// Which result is a status, and the value that means success.
    status: Option<String>,
    #[serde(default)]
    ok: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct OutputFile {
    ptr: Option<String>,
    len: Option<String>,
    packed: Option<String>,
    #[serde(default = "default_packing")]
    packing: String,
    pair: Option<String>,
    free: Option<FreeFile>,
    error: Option<ErrorFile>,
}

fn default_packing() -> String {
    "ptr-low".to_string()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct FreeFile {
    export: String,
    #[serde(default = "default_free_args")]
    args: Vec<toml::Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ErrorFile {
    ptr: String,
    #[serde(default = "default_error_len")]
    len: String,
}

fn default_error_len() -> String {
    "nul".to_string()
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectFile {
    text: Option<String>,
    hex: Option<String>,
    file: Option<PathBuf>,
    sha256: Option<String>,
    #[serde(default)]
    non_empty: bool,
    starts_with: Option<String>,
    contains: Option<String>,
    len: Option<u64>,
}

/// One request to a plugin, checked: every name it uses is defined, every reference well formed.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The file it was read from (for messages), if any.
    pub path: Option<PathBuf>,
    /// The module the file names, resolved against the file's folder.
    pub module: Option<PathBuf>,
    pub memory: String,
    pub allocator: Option<Allocator>,
    pub inputs: Vec<Input>,
    pub outs: Vec<OutSlot>,
    pub call: Call,
    pub output: Option<Output>,
    pub expect: Vec<Expectation>,
    /// What the host does with function imports neither it nor [`Request::imports`] provides.
    pub foreign_imports: ForeignImports,
    /// The function imports the request defines itself.
    pub imports: Vec<Import>,
    /// The WASI command the request runs (`[command]`), whose call is then `_start` with no arguments.
    pub command: Option<Command>,
    /// The component export the request calls (`[invoke]`): the module is then a component, its output the
    /// results written in WAVE, and the call's `export` this export's name.
    pub invoke: Option<Invoke>,
}

/// A component's export a request calls (`[invoke]`): its name (`NAME`, or `INSTANCE#NAME` for a function of an
/// exported instance) and its arguments as WAVE values separated by commas (zeros of their types when absent), read
/// when the component's types are known.
#[derive(Debug, Clone, PartialEq)]
pub struct Invoke {
    pub export: String,
    pub args: Option<String>,
}

/// A function import a request defines: the numbers it returns (converted to its result types when the module is
/// loaded), or, with `results` absent, a trap naming it when called.
#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    pub module: String,
    pub name: String,
    pub results: Option<Vec<Number>>,
}

/// The guest's allocator: the export that allocates (and its arguments) and the one that frees, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Allocator {
    pub alloc: String,
    pub alloc_args: Vec<SizedArg>,
    pub free: Option<Free>,
}

/// A call that frees guest memory: the export and its arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Free {
    pub export: String,
    pub args: Vec<SizedArg>,
}

/// An argument of an allocator or a free: a number, or the length or the pointer of what is allocated or freed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SizedArg {
    Number(Number),
    Len,
    Ptr,
}

/// A number in a request file, kept as written until the export's parameter type says what it is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    Int(i64),
    Float(f64),
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Number::Int(n) => write!(f, "{n}"),
            Number::Float(x) => write!(f, "{x}"),
        }
    }
}

/// An input: its bytes, and how they reach the guest.
#[derive(Debug, Clone, PartialEq)]
pub struct Input {
    pub name: String,
    pub bytes: InputBytes,
    /// A NUL byte after the bytes (a C string); the input's length leaves it out.
    pub nul: bool,
    /// Placed at a fixed offset instead of through the allocator.
    pub at: Option<u64>,
    /// Whether the host frees it after the call (through the allocator's free).
    pub free: bool,
}

/// Where an input's bytes come from.
#[derive(Debug, Clone, PartialEq)]
pub enum InputBytes {
    /// Given in the file (`text` or `hex`), or read from a file when the request was read.
    Given(Vec<u8>),
    /// `size` bytes of a deterministic pattern of `seed`, made when the request runs.
    Generated { size: u64, seed: u32 },
}

impl InputBytes {
    /// How many bytes the input holds (without a NUL the request adds).
    pub fn len(&self) -> u64 {
        match self {
            InputBytes::Given(bytes) => bytes.len() as u64,
            InputBytes::Generated { size, .. } => *size,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Byte `i` of the generated input of `seed`: printable ASCII, so that text plugins take it too.
pub fn generated_byte(seed: u32, i: u64) -> u8 {
    let mixed = (i ^ u64::from(seed)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    b' ' + ((mixed >> 56) % 95) as u8
}

/// A slot the host allocates for the guest to write a result into (a length, a pointer, a `(ptr, len)` pair).
#[derive(Debug, Clone, PartialEq)]
pub struct OutSlot {
    pub name: String,
    pub size: u32,
}

/// The call the request makes.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub export: String,
    pub args: Vec<Arg>,
    /// The result that is a status, and the value that means success.
    pub status: Option<(Source, i64)>,
}

/// An argument of the call.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Number(Number),
    /// The pointer of input or out-slot `index` (inputs first, then out-slots).
    Ptr(Slot),
    /// The length of an input (or the size of an out-slot).
    Len(Slot),
}

/// An input or an out-slot, by position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    Input(usize),
    Out(usize),
}

/// Where a value comes from after the call.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// The call's result at this position.
    Result(usize),
    /// The `u32` (or, in an 8-byte slot, the `u64`) the guest wrote into an out-slot.
    Value(usize),
    /// An out-slot's own address.
    SlotPtr(usize),
    /// The first result of a zero-argument export.
    Export(String),
}

/// Where the output's length comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Length {
    From(Source),
    /// Up to the first NUL byte from the pointer.
    Nul,
}

/// How the output is found.
#[derive(Debug, Clone, PartialEq)]
pub enum Locate {
    /// A pointer and a length, each from its own source.
    PtrLen { ptr: Source, len: Length },
    /// A pointer and a length in one 64-bit value; `ptr_high` when the pointer is in the high 32 bits.
    Packed { from: Source, ptr_high: bool },
    /// A `u32` pointer and a `u32` length, one after the other in memory at the address a source gives.
    Pair(Source),
}

/// The output: where it is, what frees it, and where the guest's error message is when the call fails.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    pub locate: Locate,
    pub free: Option<Free>,
    pub error: Option<(Source, Length)>,
}

/// A check of the output.
#[derive(Debug, Clone, PartialEq)]
pub enum Expectation {
    Equals(Vec<u8>),
    Sha256([u8; 32]),
    NonEmpty,
    StartsWith(Vec<u8>),
    Contains(Vec<u8>),
    Len(u64),
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expectation::Equals(bytes) => write!(f, "equals the expected {} byte(s)", bytes.len()),
            Expectation::Sha256(_) => f.write_str("has the expected SHA-256"),
            Expectation::NonEmpty => f.write_str("is not empty"),
            Expectation::StartsWith(bytes) => write!(f, "starts with {}", shown(bytes)),
            Expectation::Contains(bytes) => write!(f, "contains {}", shown(bytes)),
            Expectation::Len(len) => write!(f, "is {len} byte(s) long"),
        }
    }
}

/// Bytes as a message shows them: quoted text, escaped, at most 64 bytes of it.
pub fn shown(bytes: &[u8]) -> String {
    const SHOWN: usize = 64;
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(SHOWN)]);
    let more = if bytes.len() > SHOWN { format!("... ({} bytes)", bytes.len()) } else { String::new() };
    format!("\"{}\"{more}", crate::escape_controls(&text).replace('"', "\\\""))
}

/// What is wrong with a request file: one line, naming the file and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("request {file}: {message}")]
pub struct RequestError {
    pub file: String,
    pub message: String,
}

impl Request {
    /// Reads and checks the request file at `path`; files it names are read relative to its folder.
    pub fn from_file(path: &Path) -> Result<Self, RequestError> {
        let shown_path = crate::escape_controls(&path.display().to_string()).into_owned();
        let text = std::fs::read_to_string(path)
            .map_err(|e| RequestError { file: shown_path.clone(), message: format!("cannot read it: {e}") })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut request = Self::parse(&text, base).map_err(|message| RequestError { file: shown_path, message })?;
        request.path = Some(path.to_path_buf());
        Ok(request)
    }

    /// Parses and checks request text; files it names are read relative to `base`. The error is the message only.
    pub fn parse(text: &str, base: &Path) -> Result<Self, String> {
        let file: RequestFile = toml::from_str(text).map_err(|e| toml_error(&e))?;
        resolve(file, base)
    }

    /// The name of an input or out-slot.
    pub fn slot_name(&self, slot: Slot) -> &str {
        match slot {
            Slot::Input(i) => &self.inputs[i].name,
            Slot::Out(i) => &self.outs[i].name,
        }
    }

    /// The request as it reads in a log line: the call with its arguments by name.
    pub fn call_text(&self) -> String {
        if let Some(command) = &self.command {
            let argv: Vec<String> = command.args.iter().map(|a| shown(a.as_bytes())).collect();
            return format!("{START} of a WASI command (arguments: [{}])", argv.join(", "));
        }
        if let Some(invoke) = &self.invoke {
            let args = invoke.args.as_deref().unwrap_or_default();
            return format!("{}({})", crate::escape_controls(&invoke.export), crate::escape_controls(args));
        }
        let args: Vec<String> = self
            .call
            .args
            .iter()
            .map(|arg| match arg {
                Arg::Number(n) => n.to_string(),
                Arg::Ptr(slot) => format!("{}.ptr", self.slot_name(*slot)),
                Arg::Len(slot) => format!("{}.len", self.slot_name(*slot)),
            })
            .collect();
        format!("{}({})", self.call.export, args.join(", "))
    }

    /// Whether the request checks its output.
    pub fn checks_output(&self) -> bool {
        !self.expect.is_empty()
    }

    /// The request with input `index`'s bytes replaced: how the payload sweep and the fuzzer vary one input.
    pub fn with_input(&self, index: usize, bytes: InputBytes) -> Request {
        let mut request = self.clone();
        request.inputs[index].bytes = bytes;
        request
    }

    /// Writes the request back as TOML, its inputs given inline (as hex): how a fuzz finding is kept so that it
    /// replays. `module` is written as given.
    pub fn to_toml(&self, module: Option<&Path>, inputs: &[Vec<u8>]) -> String {
        write_toml(self, module, inputs)
    }
}

/// A TOML error on one line: where and what.
fn toml_error(e: &toml::de::Error) -> String {
    let what = e.message().split_whitespace().collect::<Vec<_>>().join(" ");
    match e.span() {
        Some(span) => format!("not a request file (at byte {}): {what}", span.start),
        None => format!("not a request file: {what}"),
    }
}

const RESERVED: &[&str] = &["result", "export", "len", "ptr", "nul"];

impl RequestFile {
    /// The tables of a core plugin's request that the file gives, which a `[command]` and an `[invoke]` take none of:
    /// the allocator, inputs, out-slots and output.
    fn plugin_tables(&self) -> Vec<&'static str> {
        let tables = [
            (self.allocator.is_some(), "[allocator]"),
            (!self.inputs.is_empty(), "[[input]]"),
            (!self.outs.is_empty(), "[[out]]"),
            (self.output.is_some(), "[output]"),
        ];
        tables.into_iter().filter(|(present, _)| *present).map(|(_, what)| what).collect()
    }
}

fn resolve(file: RequestFile, base: &Path) -> Result<Request, String> {
    if file.invoke.is_some() {
        let mut given = file.plugin_tables();
        for (present, what) in [(!file.imports.is_empty(), "[[import]]"), (file.memory != default_memory(), "`memory`")]
        {
            if present {
                given.push(what);
            }
        }
        if !given.is_empty() {
            return Err(format!(
                "an [invoke] passes a component's export its arguments as WAVE values and checks its results: {} do \
                 not apply to it",
                given.join(", ")
            ));
        }
    }
    let mut names: Vec<String> = Vec::new();
    let mut define = |name: &str, what: &str| -> Result<(), String> {
        let valid = !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            && !name.starts_with(|c: char| c.is_ascii_digit());
        if !valid {
            return Err(format!("{what} name {} is not a name (letters, digits, `_` and `-`)", quoted(name)));
        }
        if RESERVED.contains(&name) {
            return Err(format!("{what} name `{name}` is one of the file's own words ({})", RESERVED.join(", ")));
        }
        if names.iter().any(|n| n == name) {
            return Err(format!("`{name}` is defined twice (inputs and out-slots share one set of names)"));
        }
        names.push(name.to_string());
        Ok(())
    };
    let mut inputs = Vec::with_capacity(file.inputs.len());
    for input in &file.inputs {
        define(&input.name, "an input's")?;
        inputs.push(resolve_input(input, base, file.allocator.as_ref().is_some_and(|a| a.free.is_some()))?);
    }
    let mut total: u64 = 0;
    for input in &inputs {
        total = total.saturating_add(input.bytes.len());
    }
    if total > MAX_INPUT_BYTES {
        return Err(format!("the inputs hold {total} bytes together; a 32-bit memory holds at most {MAX_INPUT_BYTES}"));
    }
    let mut outs = Vec::with_capacity(file.outs.len());
    for out in &file.outs {
        define(&out.name, "an out-slot's")?;
        if !(1..=64).contains(&out.size) {
            return Err(format!("out-slot `{}` has size {}; a slot holds 1 to 64 bytes", out.name, out.size));
        }
        outs.push(OutSlot { name: out.name.clone(), size: out.size });
    }
    let scope = Scope { inputs: &inputs, outs: &outs };
    let allocator = file.allocator.as_ref().map(resolve_allocator).transpose()?;
    let needs_allocator = inputs.iter().any(|i| i.at.is_none()) || !outs.is_empty();
    if needs_allocator && allocator.is_none() {
        return Err("inputs without `at` and out-slots are allocated by the guest: the request needs an \
                    [allocator] (or give each input a fixed offset with `at`)"
            .to_string());
    }
    if allocator.as_ref().is_some_and(|a| a.free.is_none()) && file.inputs.iter().any(|i| i.free == Some(true)) {
        return Err("an input says `free = true`, but the [allocator] names no `free` export".to_string());
    }
    let (call, command) = match (&file.call, &file.command, &file.invoke) {
        (Some(call), None, None) => (resolve_call(call, &scope)?, None),
        (None, None, Some(invoke)) => {
            if invoke.export.is_empty() {
                return Err("[invoke] `export` is empty: name the component's export to call".into());
            }
            (Call { export: invoke.export.clone(), args: Vec::new(), status: None }, None)
        }
        (None, Some(command), None) => {
            let given = file.plugin_tables();
            if !given.is_empty() {
                return Err(format!(
                    "a [command] reads its input from stdin and writes its output to stdout: {} do not apply to it",
                    given.join(", ")
                ));
            }
            let call = Call { export: START.to_string(), args: Vec::new(), status: None };
            (call, Some(resolve_command(command, base)?))
        }
        (None, None, None) => {
            return Err("the request needs [call] (an export to call), [command] (a WASI command to run) or [invoke] \
                        (a component's export to call)"
                .into());
        }
        _ => {
            return Err(
                "the request has more than one of [call], [command] and [invoke]: it makes one call, runs one \
                        command or invokes one export"
                    .into(),
            );
        }
    };
    let invoke = file.invoke.as_ref().map(|i| Invoke { export: i.export.clone(), args: i.args.clone() });
    let output = file.output.as_ref().map(|o| resolve_output(o, &scope)).transpose()?;
    let expect = file.expect.as_ref().map(|e| resolve_expect(e, base)).transpose()?.unwrap_or_default();
    if !expect.is_empty() && output.is_none() && command.is_none() && invoke.is_none() {
        return Err("[expect] checks the output, but the request has no [output] saying where it is".to_string());
    }
    let foreign_imports = match &file.foreign_imports {
        Some(text) => text.parse().map_err(|why| format!("`foreign_imports`: {why}"))?,
        None => ForeignImports::Refuse,
    };
    let mut imports: Vec<Import> = Vec::with_capacity(file.imports.len());
    for import in &file.imports {
        let shown = format!("{}::{}", crate::escape_controls(&import.module), crate::escape_controls(&import.name));
        if imports.iter().any(|i| i.module == import.module && i.name == import.name) {
            return Err(format!("the import `{shown}` is defined twice"));
        }
        let results = import
            .results
            .as_ref()
            .map(|values| {
                values
                    .iter()
                    .map(|v| {
                        number(v).ok_or_else(|| format!("the import `{shown}` returns {}, not a number", value_text(v)))
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        imports.push(Import { module: import.module.clone(), name: import.name.clone(), results });
    }
    Ok(Request {
        path: None,
        module: file.module.map(|m| base.join(m)),
        memory: file.memory,
        allocator,
        inputs,
        outs,
        call,
        output,
        expect,
        foreign_imports,
        imports,
        command,
        invoke,
    })
}

fn resolve_command(file: &CommandFile, base: &Path) -> Result<Command, String> {
    let stdin = match &file.stdin {
        None => Vec::new(),
        Some(stdin) => {
            let given = [stdin.text.is_some(), stdin.hex.is_some(), stdin.file.is_some()];
            if given.iter().filter(|g| **g).count() != 1 {
                return Err("[command] `stdin` needs exactly one of `text`, `hex` and `file`".into());
            }
            if let Some(text) = &stdin.text {
                text.as_bytes().to_vec()
            } else if let Some(hex) = &stdin.hex {
                parse_hex(hex).map_err(|why| format!("[command] stdin's `hex` {why}"))?
            } else {
                let path = base.join(stdin.file.as_deref().expect("one of the three is given"));
                std::fs::read(&path).map_err(|e| {
                    format!(
                        "[command] cannot read stdin from {}: {e}",
                        crate::escape_controls(&path.display().to_string())
                    )
                })?
            }
        }
    };
    if stdin.len() > MAX_STDIN_BYTES {
        return Err(format!("[command] stdin holds {} bytes; at most {MAX_STDIN_BYTES} are taken", stdin.len()));
    }
    if !(0..126).contains(&file.exit) {
        return Err(format!("[command] `exit = {}`: a WASI exit status is 0 to 125", file.exit));
    }
    let max_stdout = match file.max_stdout {
        None => DEFAULT_MAX_STDOUT,
        Some(n) if (1..=MAX_STDOUT_LIMIT as u64).contains(&n) => n as usize,
        Some(n) => return Err(format!("[command] `max_stdout = {n}`: give 1 to {MAX_STDOUT_LIMIT} bytes")),
    };
    let text_ok = |what: &str, text: &str| {
        if text.contains('\0') {
            Err(format!("[command] {what} {} holds a NUL byte, which no C string can", quoted(text)))
        } else {
            Ok(())
        }
    };
    if let Some(program) = &file.program {
        text_ok("`program`", program)?;
    }
    for arg in &file.args {
        text_ok("argument", arg)?;
    }
    for (key, value) in &file.env {
        if key.is_empty() || key.contains('=') {
            return Err(format!("[command] environment variable {} is not a name (no `=`, not empty)", quoted(key)));
        }
        text_ok("environment variable", key)?;
        text_ok("environment value", value)?;
    }
    let preopen = match &file.preopen {
        None => None,
        Some(preopen) => {
            let dir = base.join(&preopen.dir);
            let shown_dir = crate::escape_controls(&dir.display().to_string()).into_owned();
            match std::fs::metadata(&dir) {
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => return Err(format!("[command] `preopen` names {shown_dir}, which is not a directory")),
                Err(e) => return Err(format!("[command] `preopen` names {shown_dir}: {e}")),
            }
            let guest = preopen.guest.clone().unwrap_or_else(|| ".".to_string());
            if guest.is_empty() {
                return Err("[command] `preopen`'s `as` is empty: give the path the guest sees it at".into());
            }
            Some(Preopen { dir, guest })
        }
    };
    Ok(Command {
        program: file.program.clone(),
        args: file.args.clone(),
        env: file.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        stdin: stdin.into(),
        exit: file.exit,
        max_stdout,
        preopen,
    })
}

fn quoted(text: &str) -> String {
    format!("`{}`", crate::escape_controls(text))
}

fn resolve_input(input: &InputFile, base: &Path, has_free: bool) -> Result<Input, String> {
    let name = &input.name;
    let given = [input.text.is_some(), input.hex.is_some(), input.file.is_some(), input.size.is_some()];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(format!("input `{name}` needs exactly one of `text`, `hex`, `file` and `size`"));
    }
    let bytes = if let Some(text) = &input.text {
        InputBytes::Given(text.as_bytes().to_vec())
    } else if let Some(hex) = &input.hex {
        InputBytes::Given(parse_hex(hex).map_err(|why| format!("input `{name}`: `hex` {why}"))?)
    } else if let Some(file) = &input.file {
        let path = base.join(file);
        let bytes = std::fs::read(&path).map_err(|e| {
            format!("input `{name}`: cannot read {}: {e}", crate::escape_controls(&path.display().to_string()))
        })?;
        InputBytes::Given(bytes)
    } else {
        InputBytes::Generated { size: input.size.unwrap_or(0), seed: input.seed }
    };
    if input.at.is_some() && input.free == Some(true) {
        return Err(format!("input `{name}` is placed at a fixed offset (`at`): nothing allocated it to free"));
    }
    if let Some(at) = input.at
        && at > u64::from(u32::MAX)
    {
        return Err(format!("input `{name}`: `at = {at}` is past a 32-bit memory"));
    }
    let free = input.free.unwrap_or(input.at.is_none() && has_free);
    Ok(Input { name: name.clone(), bytes, nul: input.nul, at: input.at, free })
}

fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return Err("has an odd number of hex digits".to_string());
    }
    digits
        .chunks(2)
        .map(|pair| {
            let text: String = pair.iter().collect();
            u8::from_str_radix(&text, 16).map_err(|_| format!("has `{}`, which is not a hex byte", quoted(&text)))
        })
        .collect()
}

fn number(value: &toml::Value) -> Option<Number> {
    match value {
        toml::Value::Integer(n) => Some(Number::Int(*n)),
        toml::Value::Float(x) => Some(Number::Float(*x)),
        _ => None,
    }
}

fn value_text(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => quoted(s),
        other => crate::escape_controls(&other.to_string()).into_owned(),
    }
}

fn sized_args(args: &[toml::Value], what: &str, allowed: &[&str]) -> Result<Vec<SizedArg>, String> {
    args.iter()
        .map(|arg| match (number(arg), arg.as_str()) {
            (Some(n), _) => Ok(SizedArg::Number(n)),
            (None, Some(word)) if word == "len" && allowed.contains(&"len") => Ok(SizedArg::Len),
            (None, Some(word)) if word == "ptr" && allowed.contains(&"ptr") => Ok(SizedArg::Ptr),
            _ => Err(format!(
                "{what}: argument {} is not a number or {}",
                value_text(arg),
                allowed.iter().map(|w| format!("`{w}`")).collect::<Vec<_>>().join(" or ")
            )),
        })
        .collect()
}

fn resolve_allocator(file: &AllocatorFile) -> Result<Allocator, String> {
    let alloc_args = sized_args(&file.alloc_args, "[allocator] alloc_args", &["len"])?;
    let free = match &file.free {
        Some(export) => Some(Free {
            export: export.clone(),
            args: sized_args(&file.free_args, "[allocator] free_args", &["ptr", "len"])?,
        }),
        None => None,
    };
    Ok(Allocator { alloc: file.alloc.clone(), alloc_args, free })
}

/// The names a request defines, for resolving its references.
struct Scope<'a> {
    inputs: &'a [Input],
    outs: &'a [OutSlot],
}

impl Scope<'_> {
    fn slot(&self, name: &str) -> Option<Slot> {
        self.inputs
            .iter()
            .position(|i| i.name == name)
            .map(Slot::Input)
            .or_else(|| self.outs.iter().position(|o| o.name == name).map(Slot::Out))
    }

    fn out(&self, name: &str) -> Option<usize> {
        self.outs.iter().position(|o| o.name == name)
    }

    fn known(&self) -> String {
        let names: Vec<String> = self
            .inputs
            .iter()
            .map(|i| format!("`{}`", i.name))
            .chain(self.outs.iter().map(|o| format!("`{}`", o.name)))
            .collect();
        if names.is_empty() { "none are defined".to_string() } else { format!("defined: {}", names.join(", ")) }
    }
}

fn resolve_call(file: &CallFile, scope: &Scope<'_>) -> Result<Call, String> {
    let args = file
        .args
        .iter()
        .enumerate()
        .map(|(i, arg)| {
            if let Some(n) = number(arg) {
                return Ok(Arg::Number(n));
            }
            let bad = || {
                format!(
                    "[call] argument {} ({}) is not a number, `NAME.ptr` or `NAME.len` of an input or out-slot",
                    i + 1,
                    value_text(arg)
                )
            };
            let text = arg.as_str().ok_or_else(bad)?;
            let (name, field) = text.rsplit_once('.').ok_or_else(bad)?;
            let slot = scope.slot(name).ok_or_else(|| {
                format!(
                    "[call] argument {} names `{}`, which is not an input or out-slot ({})",
                    i + 1,
                    crate::escape_controls(name),
                    scope.known()
                )
            })?;
            match field {
                "ptr" => Ok(Arg::Ptr(slot)),
                "len" => Ok(Arg::Len(slot)),
                _ => Err(bad()),
            }
        })
        .collect::<Result<Vec<_>, String>>()?;
    let status = match &file.status {
        Some(source) => Some((resolve_source(source, scope, "[call] status")?, file.ok)),
        None => None,
    };
    Ok(Call { export: file.export.clone(), args, status })
}

fn resolve_source(text: &str, scope: &Scope<'_>, what: &str) -> Result<Source, String> {
    if text == "result" {
        return Ok(Source::Result(0));
    }
    if let Some(index) = text.strip_prefix("result.") {
        return index
            .parse()
            .map(Source::Result)
            .map_err(|_| format!("{what}: {} is not `result.N` with N a result's position from 0", quoted(text)));
    }
    if let Some(export) = text.strip_prefix("export:") {
        if export.is_empty() {
            return Err(format!("{what}: `export:` names no export"));
        }
        return Ok(Source::Export(export.to_string()));
    }
    let bad = || {
        format!(
            "{what}: {} is not `result`, `result.N`, `NAME.value`, `NAME.ptr` of an out-slot or `export:NAME`",
            quoted(text)
        )
    };
    let (name, field) = text.rsplit_once('.').ok_or_else(bad)?;
    let out = scope
        .out(name)
        .ok_or_else(|| format!("{what}: `{}` is not an out-slot ({})", crate::escape_controls(name), scope.known()))?;
    match field {
        "value" => Ok(Source::Value(out)),
        "ptr" => Ok(Source::SlotPtr(out)),
        _ => Err(bad()),
    }
}

fn resolve_length(text: &str, scope: &Scope<'_>, what: &str) -> Result<Length, String> {
    if text == "nul" { Ok(Length::Nul) } else { resolve_source(text, scope, what).map(Length::From) }
}

fn resolve_output(file: &OutputFile, scope: &Scope<'_>) -> Result<Output, String> {
    let forms = [file.ptr.is_some() || file.len.is_some(), file.packed.is_some(), file.pair.is_some()];
    if forms.iter().filter(|f| **f).count() != 1 {
        return Err(
            "[output] says where the output is with `ptr` and `len`, or `packed`, or `pair` (one of them)".into()
        );
    }
    let locate = if let Some(packed) = &file.packed {
        let ptr_high = match file.packing.as_str() {
            "ptr-low" => false,
            "ptr-high" => true,
            other => return Err(format!("[output] packing is `ptr-low` or `ptr-high`, not {}", quoted(other))),
        };
        Locate::Packed { from: resolve_source(packed, scope, "[output] packed")?, ptr_high }
    } else if let Some(pair) = &file.pair {
        Locate::Pair(resolve_source(pair, scope, "[output] pair")?)
    } else {
        let (Some(ptr), Some(len)) = (&file.ptr, &file.len) else {
            return Err("[output] needs both `ptr` and `len` (`len = \"nul\"` for a NUL-terminated string)".into());
        };
        Locate::PtrLen {
            ptr: resolve_source(ptr, scope, "[output] ptr")?,
            len: resolve_length(len, scope, "[output] len")?,
        }
    };
    let free = match &file.free {
        Some(free) => Some(Free {
            export: free.export.clone(),
            args: sized_args(&free.args, "[output.free] args", &["ptr", "len"])?,
        }),
        None => None,
    };
    let error = match &file.error {
        Some(error) => Some((
            resolve_source(&error.ptr, scope, "[output.error] ptr")?,
            resolve_length(&error.len, scope, "[output.error] len")?,
        )),
        None => None,
    };
    Ok(Output { locate, free, error })
}

fn resolve_expect(file: &ExpectFile, base: &Path) -> Result<Vec<Expectation>, String> {
    let mut expect = Vec::new();
    let exact = [file.text.is_some(), file.hex.is_some(), file.file.is_some(), file.sha256.is_some()];
    if exact.iter().filter(|e| **e).count() > 1 {
        return Err("[expect] takes one of `text`, `hex`, `file` and `sha256`".into());
    }
    if let Some(text) = &file.text {
        expect.push(Expectation::Equals(text.as_bytes().to_vec()));
    }
    if let Some(hex) = &file.hex {
        expect.push(Expectation::Equals(parse_hex(hex).map_err(|why| format!("[expect] `hex` {why}"))?));
    }
    if let Some(path) = &file.file {
        let path = base.join(path);
        let bytes = std::fs::read(&path).map_err(|e| {
            format!("[expect] cannot read {}: {e}", crate::escape_controls(&path.display().to_string()))
        })?;
        expect.push(Expectation::Equals(bytes));
    }
    if let Some(hash) = &file.sha256 {
        let bytes = parse_hex(hash).map_err(|why| format!("[expect] `sha256` {why}"))?;
        let digest: [u8; 32] = bytes.try_into().map_err(|_| "[expect] `sha256` is not 64 hex digits".to_string())?;
        expect.push(Expectation::Sha256(digest));
    }
    if file.non_empty {
        expect.push(Expectation::NonEmpty);
    }
    if let Some(prefix) = &file.starts_with {
        expect.push(Expectation::StartsWith(prefix.as_bytes().to_vec()));
    }
    if let Some(part) = &file.contains {
        expect.push(Expectation::Contains(part.as_bytes().to_vec()));
    }
    if let Some(len) = file.len {
        expect.push(Expectation::Len(len));
    }
    Ok(expect)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

fn number_text(n: &Number) -> String {
    match n {
        Number::Int(i) => i.to_string(),
        Number::Float(x) => toml::Value::Float(*x).to_string(),
    }
}

fn sized_text(args: &[SizedArg]) -> String {
    let items: Vec<String> = args
        .iter()
        .map(|a| match a {
            SizedArg::Number(n) => number_text(n),
            SizedArg::Len => "\"len\"".to_string(),
            SizedArg::Ptr => "\"ptr\"".to_string(),
        })
        .collect();
    format!("[{}]", items.join(", "))
}

fn source_text(request: &Request, source: &Source) -> String {
    match source {
        Source::Result(0) => "result".to_string(),
        Source::Result(i) => format!("result.{i}"),
        Source::Value(i) => format!("{}.value", request.outs[*i].name),
        Source::SlotPtr(i) => format!("{}.ptr", request.outs[*i].name),
        Source::Export(name) => format!("export:{name}"),
    }
}

fn length_text(request: &Request, length: &Length) -> String {
    match length {
        Length::Nul => "nul".to_string(),
        Length::From(source) => source_text(request, source),
    }
}

fn write_toml(request: &Request, module: Option<&Path>, inputs: &[Vec<u8>]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    // Writing to a String cannot fail.
    let mut line = |text: String| {
        let _ = writeln!(out, "{text}");
    };
    if let Some(module) = module {
        line(format!("module = {}", toml_string(&module.display().to_string())));
    }
    line(format!("memory = {}", toml_string(&request.memory)));
    if request.foreign_imports != ForeignImports::Refuse {
        line(format!("foreign_imports = {}", toml_string(request.foreign_imports.name())));
    }
    for import in &request.imports {
        line(String::new());
        line("[[import]]".into());
        line(format!("module = {}", toml_string(&import.module)));
        line(format!("name = {}", toml_string(&import.name)));
        if let Some(results) = &import.results {
            let texts: Vec<String> = results.iter().map(number_text).collect();
            line(format!("results = [{}]", texts.join(", ")));
        }
    }
    if let Some(a) = &request.allocator {
        line(String::new());
        line("[allocator]".into());
        line(format!("alloc = {}", toml_string(&a.alloc)));
        line(format!("alloc_args = {}", sized_text(&a.alloc_args)));
        if let Some(free) = &a.free {
            line(format!("free = {}", toml_string(&free.export)));
            line(format!("free_args = {}", sized_text(&free.args)));
        }
    }
    for (index, input) in request.inputs.iter().enumerate() {
        line(String::new());
        line("[[input]]".into());
        line(format!("name = {}", toml_string(&input.name)));
        let bytes = inputs.get(index).cloned().unwrap_or_else(|| match &input.bytes {
            InputBytes::Given(bytes) => bytes.clone(),
            InputBytes::Generated { size, seed } => (0..*size).map(|i| generated_byte(*seed, i)).collect(),
        });
        line(format!("hex = \"{}\"", hex(&bytes)));
        if input.nul {
            line("nul = true".into());
        }
        if let Some(at) = input.at {
            line(format!("at = {at}"));
        }
        line(format!("free = {}", input.free));
    }
    for slot in &request.outs {
        line(String::new());
        line("[[out]]".into());
        line(format!("name = {}", toml_string(&slot.name)));
        line(format!("size = {}", slot.size));
    }
    if let Some(command) = &request.command {
        write_command(&mut line, command);
    } else if let Some(invoke) = &request.invoke {
        line(String::new());
        line("[invoke]".into());
        line(format!("export = {}", toml_string(&invoke.export)));
        if let Some(args) = &invoke.args {
            line(format!("args = {}", toml_string(args)));
        }
    } else {
        write_call(&mut line, request);
    }
    if let Some(output) = &request.output {
        line(String::new());
        line("[output]".into());
        match &output.locate {
            Locate::PtrLen { ptr, len } => {
                line(format!("ptr = {}", toml_string(&source_text(request, ptr))));
                line(format!("len = {}", toml_string(&length_text(request, len))));
            }
            Locate::Packed { from, ptr_high } => {
                line(format!("packed = {}", toml_string(&source_text(request, from))));
                line(format!("packing = \"{}\"", if *ptr_high { "ptr-high" } else { "ptr-low" }));
            }
            Locate::Pair(from) => line(format!("pair = {}", toml_string(&source_text(request, from)))),
        }
        if let Some(free) = &output.free {
            line(format!("free = {{ export = {}, args = {} }}", toml_string(&free.export), sized_text(&free.args)));
        }
        if let Some((ptr, len)) = &output.error {
            let (ptr, len) = (source_text(request, ptr), length_text(request, len));
            line(format!("error = {{ ptr = {}, len = {} }}", toml_string(&ptr), toml_string(&len)));
        }
    }
    out
}

/// The `[call]` table of a request written back.
fn write_call(line: &mut impl FnMut(String), request: &Request) {
    line(String::new());
    line("[call]".into());
    line(format!("export = {}", toml_string(&request.call.export)));
    let args: Vec<String> = request
        .call
        .args
        .iter()
        .map(|arg| match arg {
            Arg::Number(n) => number_text(n),
            Arg::Ptr(slot) => toml_string(&format!("{}.ptr", request.slot_name(*slot))),
            Arg::Len(slot) => toml_string(&format!("{}.len", request.slot_name(*slot))),
        })
        .collect();
    line(format!("args = [{}]", args.join(", ")));
    if let Some((source, ok)) = &request.call.status {
        line(format!("status = {}", toml_string(&source_text(request, source))));
        line(format!("ok = {ok}"));
    }
}

/// The `[command]` table of a request written back, its stdin as hex.
fn write_command(line: &mut impl FnMut(String), command: &Command) {
    let strings = |items: &[String]| items.iter().map(|s| toml_string(s)).collect::<Vec<_>>().join(", ");
    line(String::new());
    line("[command]".into());
    if let Some(program) = &command.program {
        line(format!("program = {}", toml_string(program)));
    }
    line(format!("args = [{}]", strings(&command.args)));
    let env: Vec<String> =
        command.env.iter().map(|(k, v)| format!("{} = {}", toml_string(k), toml_string(v))).collect();
    line(format!("env = {{ {} }}", env.join(", ")));
    line(format!("stdin = {{ hex = \"{}\" }}", hex(&command.stdin)));
    line(format!("exit = {}", command.exit));
    line(format!("max_stdout = {}", command.max_stdout));
    if let Some(preopen) = &command.preopen {
        let dir = toml_string(&preopen.dir.display().to_string());
        line(format!("preopen = {{ dir = {dir}, as = {} }}", toml_string(&preopen.guest)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVERY_FIELD: &str = r#"
        module = "p.wasm"
        foreign_imports = "trap"
        [[import]]
        module = "clock"
        name = "now"
        results = [1, 2.5]
        [[import]]
        module = "clock"
        name = "log"
        [allocator]
        alloc = "alloc"
        alloc_args = ["len", 8]
        free = "dealloc"
        free_args = ["ptr", "len"]
        [[input]]
        name = "a"
        text = "x\u0000y"
        nul = true
        [[input]]
        name = "b"
        size = 5
        seed = 3
        free = false
        [[input]]
        name = "c"
        hex = "00ff"
        at = 4096
        [[out]]
        name = "ret"
        size = 8
        [call]
        export = "go"
        args = ["a.ptr", "a.len", "b.ptr", 7, -1, 2.5, "ret.ptr"]
        status = "result.1"
        ok = -2
        [output]
        pair = "ret.ptr"
        free = { export = "free_result", args = ["ptr", "len", 1] }
        error = { ptr = "export:last_error", len = "nul" }
    "#;

    #[test]
    fn a_request_written_back_reads_as_the_same_request() {
        let base = Path::new("/plugins");
        let request = Request::parse(EVERY_FIELD, base).unwrap();
        assert_eq!(request.module.as_deref(), Some(Path::new("/plugins/p.wasm")));
        let inputs: Vec<Vec<u8>> =
            vec![b"x\0y".to_vec(), (0..5).map(|i| generated_byte(3, i)).collect(), vec![0, 0xff]];
        let written = request.to_toml(request.module.as_deref(), &inputs);
        let again = Request::parse(&written, Path::new("/elsewhere")).unwrap();
        assert_eq!(again.module, request.module);
        assert_eq!(
            (&again.allocator, &again.outs, &again.call, &again.output),
            (&request.allocator, &request.outs, &request.call, &request.output)
        );
        assert_eq!((again.foreign_imports, &again.imports), (ForeignImports::Trap, &request.imports));
        assert_eq!(request.imports.len(), 2);
        for (index, (old, new)) in request.inputs.iter().zip(&again.inputs).enumerate() {
            assert_eq!((&old.name, old.nul, old.at, old.free), (&new.name, new.nul, new.at, new.free));
            assert_eq!(new.bytes, InputBytes::Given(inputs[index].clone()));
        }
    }

    /// A component's request: its export and WAVE arguments kept as written (read when the component's types are
    /// known), its `[expect]` without an `[output]`, its call written back as it was read; what belongs to a core
    /// plugin's request refused, named.
    #[test]
    fn an_invoke_request_reads_and_is_written_back() {
        let text = "module = \"c.wasm\"\nforeign_imports = \"trap\"\n[invoke]\nexport = \"my:pkg/api#greet\"\n\
                    args = '\"a, b\", [1, 2]'\n[expect]\ntext = '\"hello\"'\n";
        let request = Request::parse(text, Path::new("/c")).unwrap();
        let invoke = Invoke { export: "my:pkg/api#greet".into(), args: Some(r#""a, b", [1, 2]"#.into()) };
        assert_eq!(request.invoke.as_ref(), Some(&invoke));
        assert_eq!(request.expect, [Expectation::Equals(br#""hello""#.to_vec())]);
        assert_eq!(request.call_text(), r#"my:pkg/api#greet("a, b", [1, 2])"#);
        // Written back as a fuzz finding is (without its expectations), it reads as the same call.
        let again = Request::parse(&request.to_toml(request.module.as_deref(), &[]), Path::new("/elsewhere")).unwrap();
        assert_eq!((&again.invoke, again.foreign_imports), (&request.invoke, ForeignImports::Trap));
        let bad = |text: &str, needle: &str| {
            let err = Request::parse(text, Path::new("/")).unwrap_err();
            assert!(err.contains(needle), "{text}: {err}");
        };
        bad("[invoke]\nexport = \"f\"\n[call]\nexport = \"f\"\n", "more than one of [call], [command] and [invoke]");
        bad("[invoke]\nexport = \"\"\n", "`export` is empty");
        bad("[invoke]\nexport = \"f\"\nargs = [1]\n", "expected a string");
        bad("[invoke]\nexport = \"f\"\n[[input]]\nname = \"a\"\ntext = \"x\"\n", "[[input]] do not apply");
        bad("memory = \"m\"\n[invoke]\nexport = \"f\"\n", "`memory` do not apply");
        bad("[invoke]\nexport = \"f\"\n[output]\nptr = \"result\"\nlen = \"nul\"\n", "[output] do not apply");
    }

    #[test]
    fn a_default_input_is_freed_only_when_the_allocator_can_free() {
        let without = EVERY_FIELD.replace("free = \"dealloc\"\n        free_args = [\"ptr\", \"len\"]\n", "");
        let request = Request::parse(&without, Path::new("/")).unwrap();
        assert!(!request.inputs[0].free && request.allocator.as_ref().unwrap().free.is_none());
        assert!(Request::parse(EVERY_FIELD, Path::new("/")).unwrap().inputs[0].free);
    }
}
