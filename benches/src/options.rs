//! The command-line options every command shares, defined once (clap's derive): the module a command runs
//! (`--wasm`, `--abi`), the exports it calls by name (`--invoke`), the engine profiles (`--profile`), and the
//! guard rails (`--timeout`, `--max-memory`). The main job (`boundary run`), the matrix, the payload sweep, the
//! serving path and the gate flatten the groups they take into their own options; nothing parses these by hand.
//!
//! Parse errors are one `error:` line, as every other bad input is ([`parse_or_exit`]).

use crate::ops::invoke::InvokeSpec;
use boundary_host::limits::{DEFAULT_MAX_MEMORY_MIB, MAX_MEMORY_MIB};
use boundary_host::plugin::Request;
use boundary_host::{EngineProfile, ForeignImports, Limits, Wasm};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, CommandFactory, FromArgMatches, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

/// Which form of a guest a command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Abi {
    /// A core wasm module of the guest ABI (README's ABI table).
    #[default]
    Core,
    /// A component of the guest's WIT world (guest/wit/boundary.wit).
    Component,
}

/// What a measuring command measures, and the guard rails it keeps: the module (`--wasm`, `--abi`), the exports it
/// calls by name (`--invoke`), a plugin's request (`--request`), `--timeout` and `--max-memory`. The matrix, the
/// payload sweep, the serving path and the gate each flatten it into their options.
#[derive(Debug, Clone, Default, Args)]
pub struct SubjectOptions {
    #[command(flatten)]
    pub module: ModuleOptions,
    #[command(flatten)]
    pub invoke: InvokeOptions,
    #[command(flatten)]
    pub request: RequestOptions,
    #[command(flatten)]
    pub limits: LimitOptions,
}

impl SubjectOptions {
    /// The module, `--invoke` and `--request` options as a command line gives them (paths absolute).
    pub fn subject_args(&self) -> Vec<String> {
        let mut args = self.module.to_args();
        args.extend(self.invoke.to_args());
        args.extend(self.request.to_args());
        args
    }

    /// All of them, the guard rails included, for a child copy or a record.
    pub fn to_args(&self) -> Vec<String> {
        let mut args = self.subject_args();
        args.extend(self.limits.to_args());
        args
    }
}

/// The module a command runs: the built-in guest, or the user's.
#[derive(Debug, Clone, Default, Args)]
pub struct ModuleOptions {
    /// Run this module instead of the built-in guest: binary .wasm, or WAT text if PATH ends in .wat (with
    /// --abi component, a component). A relative PATH is taken from the directory the command was typed in.
    #[arg(long, value_name = "PATH", overrides_with = "wasm")]
    pub wasm: Option<PathBuf>,
    /// The guest as a core wasm module (the article's ABI), or as a component of the guest's WIT world.
    #[arg(long, value_enum, default_value_t = Abi::Core, overrides_with = "abi")]
    pub abi: Abi,
    /// What to do with the module's function imports that the host does not provide (WASI preview 1 and the guest
    /// ABI's `env` functions are provided; to a component, WASI 0.2 and the guest world's `host` interface): refuse
    /// the module, naming the first, or define each as a function that traps when called, naming it, so the module
    /// runs wherever it does not call them.
    #[arg(
        long = "foreign-imports",
        value_name = "WHAT",
        default_value = "refuse",
        value_parser = foreign_imports_parser(),
        overrides_with = "foreign_imports"
    )]
    pub foreign_imports: ForeignImports,
}

impl ModuleOptions {
    /// The module's path as the user meant it: relative to the directory the command was typed in ([`user_path`]).
    pub fn resolved(&self) -> Option<PathBuf> {
        self.wasm.as_ref().map(|path| user_path(&path.to_string_lossy()))
    }

    /// The options as a command line gives them, for a child copy or a record (paths absolute).
    pub fn to_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(path) = self.resolved() {
            args.extend(["--wasm".to_string(), path.display().to_string()]);
        }
        if self.abi == Abi::Component {
            args.extend(["--abi".to_string(), "component".to_string()]);
        }
        if self.foreign_imports != ForeignImports::Refuse {
            args.extend(["--foreign-imports".to_string(), self.foreign_imports.name().to_string()]);
        }
        args
    }
}

/// The exports a command calls by name.
#[derive(Debug, Clone, Default, Args)]
pub struct InvokeOptions {
    /// Also measure calling this export of --wasm's module, with these arguments (comma-separated numbers, one per
    /// parameter; for a component, WAVE values such as "text", [1, 2] or {x: 1}; zeros if none are given).
    /// Repeatable.
    #[arg(long = "invoke", value_name = "NAME[=ARGS]", value_parser = InvokeSpec::parse)]
    pub invokes: Vec<InvokeSpec>,
}

impl InvokeOptions {
    /// The options as a command line gives them.
    pub fn to_args(&self) -> Vec<String> {
        self.invokes.iter().flat_map(|spec| ["--invoke".to_string(), spec.text()]).collect()
    }
}

/// A request file: one request to a plugin of the user's (README, "Real plugins").
#[derive(Debug, Clone, Default, Args)]
pub struct RequestOptions {
    /// Serve the request this file describes (TOML: inputs, the guest's allocator, the call, where the output is,
    /// what it should be) instead of the built-in guest's patterns. Its module is --wasm's, or the file's `module`.
    /// A relative PATH is taken from the directory the command was typed in.
    #[arg(long, value_name = "PATH", overrides_with = "request")]
    pub request: Option<PathBuf>,
}

impl RequestOptions {
    /// The request file's path as the user meant it.
    pub fn resolved(&self) -> Option<PathBuf> {
        self.request.as_ref().map(|path| user_path(&path.to_string_lossy()))
    }

    /// The request and the module it goes to (`--wasm`'s, or the file's `module`), read and checked; `None`
    /// without `--request`.
    pub fn load(&self, module: &ModuleOptions) -> Result<Option<(Request, Wasm)>, String> {
        let Some(path) = self.resolved() else { return Ok(None) };
        let request = Request::from_file(&path).map_err(|e| e.to_string())?;
        if module.abi == Abi::Component && request.invoke.is_none() {
            return Err(
                "--abi component takes a request with [invoke] (a component's export and its WAVE arguments); \
                        this request's [call] or [command] is for a core module"
                    .to_string(),
            );
        }
        let wasm_path = match (module.resolved(), &request.module) {
            (Some(wasm), _) => wasm,
            (None, Some(named)) => named.clone(),
            (None, None) => {
                return Err(format!(
                    "request {}: it names no `module`, and no --wasm was given",
                    boundary_host::escape_controls(&path.display().to_string())
                ));
            }
        };
        let wasm = Wasm::from_file(&wasm_path).map_err(|e| e.to_string())?;
        Ok(Some((request, wasm)))
    }

    /// The options as a command line gives them (paths absolute).
    pub fn to_args(&self) -> Vec<String> {
        self.resolved().map(|path| vec!["--request".to_string(), path.display().to_string()]).unwrap_or_default()
    }
}

/// The engine profiles a measuring command runs under.
#[derive(Debug, Clone, Default, Args)]
pub struct ProfileOptions {
    /// Measure under this engine profile only (repeatable; every profile if none is given).
    #[arg(long = "profile", value_name = "NAME", value_parser = profile_parser())]
    pub profiles: Vec<EngineProfile>,
}

impl ProfileOptions {
    /// The profiles asked for, or every profile.
    pub fn or_all(&self) -> Vec<EngineProfile> {
        if self.profiles.is_empty() { EngineProfile::ALL.to_vec() } else { self.profiles.clone() }
    }

    /// The options as a command line gives them.
    pub fn to_args(&self) -> Vec<String> {
        self.profiles.iter().flat_map(|p| ["--profile".to_string(), p.name().to_string()]).collect()
    }
}

/// The guard rails: how long each step may take and how much memory each store may take. Given twice, the last
/// one counts (as for `--wasm`, `--abi` and the main job's `--profile`).
#[derive(Debug, Clone, Copy, Args)]
pub struct LimitOptions {
    /// The most time each step may take, in seconds: compiling the module, instantiating it (its start function
    /// included), and each call or batch of measured calls.
    #[arg(long, value_name = "SECS", default_value = "20", value_parser = timeout_value, allow_hyphen_values = true, overrides_with = "timeout")]
    pub timeout: Duration,
    /// The memory budget of each store, in MiB: its linear memories and tables together may not grow past it, and
    /// growing past it traps.
    #[arg(
        long = "max-memory",
        value_name = "MIB",
        default_value_t = DEFAULT_MAX_MEMORY_MIB,
        value_parser = mib_value,
        allow_hyphen_values = true,
        overrides_with = "max_memory_mib"
    )]
    pub max_memory_mib: usize,
}

impl Default for LimitOptions {
    fn default() -> Self {
        let limits = Limits::default();
        LimitOptions { timeout: limits.timeout, max_memory_mib: limits.max_memory_mib }
    }
}

impl LimitOptions {
    pub fn limits(&self) -> Limits {
        Limits { timeout: self.timeout, max_memory_mib: self.max_memory_mib }
    }

    /// The options as a command line gives them, defaults left out.
    pub fn to_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        let default = LimitOptions::default();
        if self.timeout != default.timeout {
            args.extend(["--timeout".to_string(), self.timeout.as_secs_f64().to_string()]);
        }
        if self.max_memory_mib != default.max_memory_mib {
            args.extend(["--max-memory".to_string(), self.max_memory_mib.to_string()]);
        }
        args
    }
}

/// The parser of a profile's name: any of [`EngineProfile::ALL`], listed in `--help`.
pub fn profile_parser() -> impl clap::builder::TypedValueParser<Value = EngineProfile> {
    PossibleValuesParser::new(EngineProfile::names()).map(|name| {
        // The possible values are the profiles' names, so the lookup cannot fail.
        EngineProfile::from_name(&name).unwrap_or(EngineProfile::Cranelift)
    })
}

/// The parser of `--foreign-imports`: any of [`ForeignImports::ALL`], listed in `--help`.
fn foreign_imports_parser() -> impl clap::builder::TypedValueParser<Value = ForeignImports> {
    let names: Vec<&str> = ForeignImports::ALL.iter().map(|p| p.name()).collect();
    // The possible values are the policies' names, so the parse cannot fail.
    PossibleValuesParser::new(names).map(|name| name.parse().unwrap_or_default())
}

fn timeout_value(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("--timeout takes a positive number of seconds, not `{text}`"))
}

fn mib_value(text: &str) -> Result<usize, String> {
    text.parse()
        .ok()
        .filter(|m| (1..=MAX_MEMORY_MIB).contains(m))
        .ok_or_else(|| format!("--max-memory takes a number of MiB from 1 to {MAX_MEMORY_MIB}, not `{text}`"))
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

/// Exit status of bad input, as the main job gives it.
pub const EXIT_BAD_INPUT: u8 = 2;

/// The exit status of a command that ran (`Ok`) or met bad input or a misbehaving guest (`Err`, said here as one
/// `error:` line, exit status 2).
pub fn exit_status(done: Result<(), String>) -> std::process::ExitCode {
    match done {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", boundary_host::escape_controls(&e));
            std::process::ExitCode::from(EXIT_BAD_INPUT)
        }
    }
}

/// Parses `args` (the program's name first) into `T`: `--help` printed (exit 0), or a parse error as one `error:`
/// line naming the argument (exit 2), never clap's several-line report.
pub fn parse_or_exit<T: CommandFactory + FromArgMatches>(args: impl IntoIterator<Item = String>) -> T {
    match parse(args) {
        Ok(parsed) => parsed,
        Err(Parsed::Help(text)) => {
            print!("{text}");
            std::process::exit(0)
        }
        Err(Parsed::Bad(line)) => {
            eprintln!("error: {}", boundary_host::escape_controls(&line));
            std::process::exit(i32::from(EXIT_BAD_INPUT))
        }
    }
}

/// Why parsing gave no options: help asked for, or bad input (one line, without `error: `).
#[derive(Debug)]
pub enum Parsed {
    Help(String),
    Bad(String),
}

/// Parses `args` (the program's name first) into `T`.
pub fn parse<T: CommandFactory + FromArgMatches>(args: impl IntoIterator<Item = String>) -> Result<T, Parsed> {
    let command = T::command().color(clap::ColorChoice::Never);
    let matches = command.try_get_matches_from(args).map_err(|e| match e.kind() {
        clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => Parsed::Help(e.to_string()),
        _ => Parsed::Bad(one_line_error(&e)),
    })?;
    T::from_arg_matches(&matches).map_err(|e| Parsed::Bad(one_line_error(&e)))
}

/// clap's report as one line: its first line, without `error: `, with a pointer to `--help`.
fn one_line_error(e: &clap::Error) -> String {
    let text = e.to_string();
    let first = text.lines().next().unwrap_or("bad arguments");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    format!("{first} (see --help)")
}

/// Splits a command line into the arguments `T` defines (each flag with its value) and the rest, in order: how a
/// measuring command built on criterion takes its own options and hands criterion the rest, whatever they are.
/// `--flag=value` and `--flag value` are both taken; positional arguments are left to the rest.
pub fn split_known<T: CommandFactory>(args: &[String]) -> (Vec<String>, Vec<String>) {
    let command = T::command();
    let known: Vec<(String, bool)> = command
        .get_arguments()
        .filter_map(|arg| arg.get_long().map(|long| (format!("--{long}"), arg.get_action().takes_values())))
        .collect();
    let (mut own, mut rest) = (Vec::new(), Vec::new());
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let flag = arg.split_once('=').map_or(arg.as_str(), |(flag, _)| flag);
        match known.iter().find(|(long, _)| long == flag) {
            Some((_, takes_value)) => {
                own.push(arg.clone());
                if *takes_value
                    && !arg.contains('=')
                    && let Some(value) = iter.next()
                {
                    own.push(value.clone());
                }
            }
            None => rest.push(arg.clone()),
        }
    }
    (own, rest)
}
