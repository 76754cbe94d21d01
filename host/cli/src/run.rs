//! The main job (`boundary run`, `boundary` with no subcommand, `cargo run --release`): runs the five interaction
//! patterns against the guest and verifies each, then every optional export the host binds.
//!
//! Every step that can run guest code (compiling, instantiating, each pattern, each check) has a deadline
//! (`--timeout`, kept by the host core's watchdog), so no guest makes this command hang, and everything the guest
//! prints goes through the host core's console (marked, escaped, capped). Exit status: 0 when every pattern passes,
//! 1 when one gives a wrong value, 2 on bad input (usage, an unreadable or incompatible module, an unknown profile)
//! or a guest that misbehaves (traps, runs away, grows memory past the limit, hands over a pointer the host will not
//! follow), 3 when nothing failed but a pattern could not be verified.

use crate::report;
use boundary_benches::options::{Abi, LimitOptions, ModuleOptions, RequestOptions, profile_parser};
use boundary_host::component::patterns as component_patterns;
use boundary_host::console::{self, host_err, host_out};
use boundary_host::limits::{DEFAULT_FUEL_BUDGET, Deadline};
use boundary_host::patterns::{
    self, CheckOutcome, EXPORT_CHECKS, Failure, Log, Outcome, PATTERNS, PatternHost, Verdict,
};
use boundary_host::{
    ComponentHost, EngineProfile, Error, GuestComponent, GuestModule, GuestOutput, HostOptions, Limits, escape_controls,
};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Which host drives the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum HostKind {
    /// The Rust host core.
    #[default]
    Rust,
    /// The C++ host on wasmtime.hh (default configuration only; in a build made with `--features cpp`).
    Cpp,
}

/// The main job's options.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "Exit status: 0 all patterns passed, 1 a pattern gave a wrong value, 2 bad input or a \
                        misbehaving guest (a trap, a step past its deadline, memory past the limit, a pointer the \
                        host will not follow), 3 nothing failed but a pattern could not be verified (a guest \
                        without read_plugin_shared_value whose output does not show what it sees).")]
pub struct RunOptions {
    #[command(flatten)]
    pub module: ModuleOptions,
    #[command(flatten)]
    pub request: RequestOptions,
    /// The host that drives the guest.
    #[arg(long, value_enum, default_value_t = HostKind::Rust, overrides_with = "host")]
    pub host: HostKind,
    /// The engine profile (`boundary profiles` lists them).
    #[arg(long, value_name = "NAME", default_value = "cranelift", value_parser = profile_parser(), overrides_with = "profile")]
    pub profile: EngineProfile,
    /// Fuel for each instance under --profile fuel [default: 1000000000].
    #[arg(long, value_name = "N", value_parser = fuel_value, overrides_with = "fuel")]
    pub fuel: Option<u64>,
    #[command(flatten)]
    pub limits: LimitOptions,
    /// Print only failures and the summary; guest output is not shown.
    #[arg(long, short)]
    pub quiet: bool,
    /// Print the engine profiles and exit (as `boundary profiles` does).
    #[arg(long)]
    pub list_profiles: bool,
    /// Also write the run's checks as JSON to FILE, for CI (every pattern, export check or request expectation
    /// with its result, the error line, the summary and the exit status). A relative FILE is taken from the
    /// directory the command was typed in.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

fn fuel_value(text: &str) -> Result<u64, String> {
    text.parse().map_err(|_| format!("--fuel takes a whole number, not `{text}`"))
}

/// The main job's options, checked against each other.
#[derive(Debug, Clone)]
pub struct Args {
    abi: Abi,
    host: HostKind,
    wasm: Option<PathBuf>,
    profile: EngineProfile,
    quiet: bool,
    fuel: Option<u64>,
    timeout: Duration,
    max_memory_mib: usize,
    foreign_imports: boundary_host::ForeignImports,
    /// The request to serve instead of the patterns, and the module it goes to.
    request: Option<(boundary_host::plugin::Request, boundary_host::Wasm)>,
}

const EXIT_FAILED: u8 = 1;
const EXIT_MISBEHAVED: u8 = 2;
const EXIT_UNVERIFIED: u8 = 3;

impl RunOptions {
    /// The options checked against each other: one line saying what does not go together.
    pub fn check(&self) -> Result<Args, String> {
        let parsed = Args {
            abi: self.module.abi,
            host: self.host,
            wasm: self.module.wasm.clone(),
            profile: self.profile,
            quiet: self.quiet,
            fuel: self.fuel,
            timeout: self.limits.timeout,
            max_memory_mib: self.limits.max_memory_mib,
            foreign_imports: self.module.foreign_imports,
            request: self.request.load(&self.module)?,
        };
        if parsed.request.is_some() && parsed.host == HostKind::Cpp {
            return Err("--request runs in the Rust host: the C++ host drives the guest ABI only".to_string());
        }
        if parsed.fuel.is_some() && parsed.profile != EngineProfile::Fuel {
            return Err(format!("--fuel needs --profile fuel (the profile is `{}`)", parsed.profile));
        }
        if parsed.host == HostKind::Cpp {
            if parsed.abi == Abi::Component {
                return Err("the C++ host drives core modules only: --abi component needs --host rust".to_string());
            }
            if parsed.foreign_imports != boundary_host::ForeignImports::Refuse {
                return Err(
                    "--foreign-imports trap runs in the Rust host: the C++ host links the guest ABI only".to_string()
                );
            }
            if !cfg!(feature = "cpp") {
                return Err("this build has no C++ host: run `cargo run --release --features cpp -- --host cpp` \
                            (the C++ host needs cmake and a C++17 compiler; see README)"
                    .to_string());
            }
            if parsed.profile != EngineProfile::Cranelift {
                return Err(format!(
                    "the C++ host runs wasmtime's default configuration only (`cranelift`), not `{}`",
                    parsed.profile
                ));
            }
        }
        Ok(parsed)
    }
}

/// Prints the engine profiles, one a line.
pub fn list_profiles() -> ExitCode {
    for profile in EngineProfile::ALL {
        println!("{:<16}{}", profile.name(), profile.summary());
    }
    ExitCode::SUCCESS
}

/// How each step is watched: the Rust host's deadlines come from the profile (`epoch` interrupts the guest itself,
/// the others leave it to the watchdog); the C++ host cannot interrupt a guest, so the watchdog keeps its deadline.
fn deadline(args: &Args) -> Deadline {
    let limits = Limits { timeout: args.timeout, max_memory_mib: args.max_memory_mib };
    match args.host {
        HostKind::Rust => limits.for_profile(args.profile),
        HostKind::Cpp => Deadline {
            timeout: args.timeout,
            limit: args.timeout,
            why: "the C++ host cannot interrupt a running guest".to_string(),
            interrupt: None,
        },
    }
}

/// Runs the five patterns and the export checks as `args` ask, and says how it went.
pub fn run(args: &Args) -> ExitCode {
    let quiet = args.quiet;
    let say = |line: std::fmt::Arguments<'_>| {
        if !quiet {
            host_out(format_args!("[host] {line}"));
        }
    };
    let deadlines = deadline(args);
    if let Some((request, wasm)) = &args.request {
        let options = rust_host_options(args);
        let error = |e: &Error| error_text(e, args);
        return crate::request::run(request, wasm, args.profile, options, &deadlines, quiet, &error);
    }
    let loaded = match args.abi {
        Abi::Core => load(args, &deadlines, &say).map(Loaded::Core),
        Abi::Component => load_component(args, &deadlines, &say).map(|host| Loaded::Component(Box::new(host))),
    };
    let mut host = match loaded {
        Ok(host) => host,
        Err(e) => {
            console::finish();
            let line = error_text(&e, args);
            report::error(&line);
            host_err(format_args!("error: {line}"));
            return report::exit(EXIT_MISBEHAVED);
        }
    };

    let mut log = say;
    let mut outcomes: Vec<Outcome> = Vec::with_capacity(PATTERNS.len());
    for index in 0..PATTERNS.len() {
        let (number, title) = host.pattern(index);
        let what = format!("pattern {number} ({title})");
        let outcome = deadlines.guest_step(&what, || host.run_pattern(index, &mut log, deadlines.interrupt));
        // A guest that trapped, ran out of time, outgrew its memory or handed over a bad pointer is bad input, not
        // a wrong answer: after what went wrong before it, one line, exit 2, and nothing more is asked of it.
        if let Err(Failure::Host(e)) = &outcome.result {
            report_failures(&outcomes);
            console::finish();
            let line = format!("{what}: {}", error_text(e, args));
            report::error(&line);
            host_err(format_args!("error: {line}"));
            return report::exit(EXIT_MISBEHAVED);
        }
        outcomes.push(outcome);
    }
    // Then every optional export the host binds, which the patterns do not call: each under its own deadline, a
    // misbehaving guest ending the run as above.
    let mut checks: Vec<CheckOutcome> = Vec::with_capacity(host.checks());
    for index in 0..host.checks() {
        let what = format!("the check of `{}`", host.check_export(index));
        let check = deadlines.guest_step(&what, || host.run_check(index, &mut log, deadlines.interrupt));
        if let Ok(Err(Failure::Host(e))) = &check.result {
            report_failures(&outcomes);
            console::finish();
            let line = format!("{what}: {}", error_text(e, args));
            report::error(&line);
            host_err(format_args!("error: {line}"));
            return report::exit(EXIT_MISBEHAVED);
        }
        checks.push(check);
    }
    summarise(&outcomes, &checks, &say)
}

/// An error as the one `error:` line says it: a guest past the memory budget named as going past `--max-memory`,
/// and no character that could break the line or drive the terminal (names in it may be the guest's).
fn error_text(e: &Error, args: &Args) -> String {
    let text = if e.is_memory_limit() {
        let mib = args.max_memory_mib;
        format!("{e} (--max-memory {mib})")
    } else {
        e.to_string()
    };
    escape_controls(&text).into_owned()
}

/// The lines of the patterns that failed or could not be verified, shown even when quiet.
fn report_failures(outcomes: &[Outcome]) {
    for outcome in outcomes {
        report(outcome, &|_| {});
    }
}

/// One pattern's line: a pass through `say` (silent when quiet), anything else on stdout; and its entry in the
/// `--json` report.
fn report(outcome: &Outcome, say: &dyn Fn(std::fmt::Arguments<'_>)) {
    let (number, title) = (outcome.number, outcome.title);
    let name = format!("{number}: {title}");
    match &outcome.result {
        Ok(Verdict::Passed) => {
            report::check("pattern", name, "passed", None);
            say(format_args!("pattern {number} passed: {title}"))
        }
        Ok(Verdict::Unverified(why)) => {
            report::check("pattern", name, "unverified", Some(why.to_string()));
            host_out(format_args!("[host] pattern {number} UNVERIFIED: {title}: {why}"))
        }
        Err(e) => {
            report::check("pattern", name, "failed", Some(e.to_string()));
            host_out(format_args!("[host] pattern {number} FAILED: {title}: {e}"))
        }
    }
}

/// One line per pattern and per export check (failures and unverified ones even when quiet), the summary line, and
/// the exit status.
fn summarise(outcomes: &[Outcome], checks: &[CheckOutcome], say: &dyn Fn(std::fmt::Arguments<'_>)) -> ExitCode {
    for outcome in outcomes {
        report(outcome, say);
    }
    // The exports not checked, grouped by why.
    let mut unbound: Vec<(&str, Vec<String>)> = Vec::new();
    for check in checks {
        match &check.result {
            Err(why) => {
                report::check("export", check.export.to_string(), "not checked", Some(why.to_string()));
                match unbound.iter_mut().find(|(w, _)| w == why) {
                    Some((_, names)) => names.push(format!("`{}`", check.export)),
                    None => unbound.push((why, vec![format!("`{}`", check.export)])),
                }
            }
            Ok(Ok(_)) => {
                report::check("export", check.export.to_string(), "passed", None);
                say(format_args!("export `{}` checked: it {}", check.export, check.title))
            }
            Ok(Err(e)) => {
                report::check("export", check.export.to_string(), "failed", Some(e.to_string()));
                host_out(format_args!("[host] export `{}` FAILED: it {}: {e}", check.export, check.title))
            }
        }
    }
    let passed = outcomes.iter().filter(|o| o.passed()).count();
    let unverified = outcomes.iter().filter(|o| matches!(o.result, Ok(Verdict::Unverified(_)))).count();
    let failed = outcomes.len() - passed - unverified;
    let checks_failed = checks.iter().filter(|c| matches!(c.result, Ok(Err(_)))).count();
    let checked = checks.iter().filter(|c| c.result.is_ok()).count();
    let mut summary = format!("{passed} passed, {failed} failed");
    if unverified > 0 {
        summary.push_str(&format!(", {unverified} unverified"));
    }
    let exports = if checked == 1 { "export" } else { "exports" };
    summary.push_str(&format!("; {checked} more {exports} checked"));
    if checks_failed > 0 {
        summary.push_str(&format!(", {checks_failed} of them failed"));
    }
    if !unbound.is_empty() {
        let groups: Vec<String> = unbound.iter().map(|(why, names)| format!("{} {why}", names.join(", "))).collect();
        summary.push_str(&format!(" ({})", groups.join("; ")));
    }
    console::finish();
    report::summary(&summary);
    host_out(format_args!("{summary}"));
    match (failed + checks_failed, unverified) {
        (0, 0) => report::exit(0),
        (0, _) => report::exit(EXIT_UNVERIFIED),
        _ => report::exit(EXIT_FAILED),
    }
}

/// The guest, loaded and instantiated: a core module in either host, or a component in the Rust host.
enum Loaded {
    Core(Box<dyn PatternHost>),
    Component(Box<ComponentHost>),
}

impl Loaded {
    /// The number and title of the pattern at `index`, in this form of the guest.
    fn pattern(&self, index: usize) -> (u8, &'static str) {
        match self {
            Loaded::Core(_) => (PATTERNS[index].number, PATTERNS[index].title),
            Loaded::Component(_) => {
                (component_patterns::PATTERNS[index].number, component_patterns::PATTERNS[index].title)
            }
        }
    }

    /// How many export checks this form of the guest has.
    fn checks(&self) -> usize {
        match self {
            Loaded::Core(_) => EXPORT_CHECKS.len(),
            Loaded::Component(_) => component_patterns::EXPORT_CHECKS.len(),
        }
    }

    /// The export the check at `index` calls.
    fn check_export(&self, index: usize) -> &'static str {
        match self {
            Loaded::Core(_) => EXPORT_CHECKS[index].export,
            Loaded::Component(_) => component_patterns::EXPORT_CHECKS[index].export,
        }
    }

    fn run_check(&mut self, index: usize, log: &mut Log<'_>, deadline: Option<Duration>) -> CheckOutcome {
        match self {
            Loaded::Core(host) => patterns::run_check(&mut **host, &EXPORT_CHECKS[index], log, deadline),
            Loaded::Component(host) => {
                patterns::run_check(&mut **host, &component_patterns::EXPORT_CHECKS[index], log, deadline)
            }
        }
    }

    fn run_pattern(&mut self, index: usize, log: &mut Log<'_>, deadline: Option<Duration>) -> Outcome {
        match self {
            Loaded::Core(host) => patterns::run_pattern(&mut **host, &PATTERNS[index], log, deadline),
            Loaded::Component(host) => {
                patterns::run_pattern(&mut **host, &component_patterns::PATTERNS[index], log, deadline)
            }
        }
    }
}

/// The options of the Rust host, as the command-line asks for them.
fn rust_host_options(args: &Args) -> HostOptions {
    HostOptions {
        output: GuestOutput::Keep { echo: !args.quiet },
        fuel: args.fuel.unwrap_or(DEFAULT_FUEL_BUDGET),
        max_memory: Some(args.max_memory_mib << 20),
        trap_on_grow_failure: true,
        foreign_imports: args.foreign_imports,
        ..HostOptions::default()
    }
}

/// Loads the guest component into the Rust host, each step under its deadline.
fn load_component(
    args: &Args,
    deadlines: &Deadline,
    say: &dyn Fn(std::fmt::Arguments<'_>),
) -> Result<ComponentHost, Error> {
    let options = rust_host_options(args);
    let name = args.wasm.as_ref().map_or("the verbose guest component".to_string(), |p| p.display().to_string());
    let guest = deadlines.compile_step(&name, || match &args.wasm {
        Some(path) => GuestComponent::from_file(path, args.profile, options),
        None => GuestComponent::verbose_guest(args.profile, options),
    })?;
    say(format_args!("loaded {} under engine profile `{}` ({})", guest.name(), args.profile, args.profile.summary()));
    deadlines.guest_step(&format!("instantiating {name}"), || match deadlines.interrupt {
        Some(timeout) => guest.instantiate_with_deadline(timeout),
        None => guest.instantiate(),
    })
}

/// Loads the module into the chosen host, each step under its deadline.
fn load(
    args: &Args,
    deadlines: &Deadline,
    say: &dyn Fn(std::fmt::Arguments<'_>),
) -> Result<Box<dyn PatternHost>, Error> {
    let output = GuestOutput::Keep { echo: !args.quiet };
    let name = args.wasm.as_ref().map_or("the verbose guest".to_string(), |p| p.display().to_string());
    match args.host {
        HostKind::Rust => {
            let options = rust_host_options(args);
            let guest = deadlines.compile_step(&name, || match &args.wasm {
                Some(path) => GuestModule::from_file(path, args.profile, options),
                None => GuestModule::verbose_guest(args.profile, options),
            })?;
            say(format_args!(
                "loaded {} under engine profile `{}` ({})",
                guest.name(),
                args.profile,
                args.profile.summary()
            ));
            let host = deadlines.guest_step(&format!("instantiating {name}"), || match deadlines.interrupt {
                Some(timeout) => guest.instantiate_with_deadline(timeout),
                None => guest.instantiate(),
            })?;
            Ok(Box::new(host))
        }
        HostKind::Cpp => {
            deadlines.guest_step(&format!("loading {name} into the C++ host"), || load_cpp(args, &name, output, say))
        }
    }
}

#[cfg(feature = "cpp")]
fn load_cpp(
    args: &Args,
    name: &str,
    output: GuestOutput,
    say: &dyn Fn(std::fmt::Arguments<'_>),
) -> Result<Box<dyn PatternHost>, Error> {
    let (bytes, is_text) = match &args.wasm {
        Some(path) => (
            std::fs::read(path).map_err(|source| Error::ReadModule { path: path.clone(), source })?,
            path.extension().is_some_and(|e| e.eq_ignore_ascii_case("wat")),
        ),
        None => (boundary_host::guest::VERBOSE_WASM.to_vec(), false),
    };
    let budget = args.max_memory_mib << 20;
    let host = boundary_cpp_host::CppHost::with_budget(name, &bytes, is_text, output, Some(budget))?;
    say(format_args!("loaded {name} in the C++ host (wasmtime.hh, default configuration)"));
    Ok(Box::new(host))
}

/// Unreachable: `parse_args` refuses `--host cpp` in a build without the C++ host.
#[cfg(not(feature = "cpp"))]
fn load_cpp(
    _: &Args,
    _: &str,
    _: GuestOutput,
    _: &dyn Fn(std::fmt::Arguments<'_>),
) -> Result<Box<dyn PatternHost>, Error> {
    Err(Error::CppHost { message: "this build has no C++ host (build with `--features cpp`)".to_string() })
}
