//! `cargo run --release`: runs the five interaction patterns against the guest and verifies each.
//!
//! Exit status: 0 when every pattern passes, 1 when one gives a wrong value, 2 on bad input (usage, an unreadable
//! or incompatible module, an unknown profile) or a guest that misbehaves (traps, runs away, grows memory past the
//! limit, hands over a pointer the host will not follow).

use boundary_host::patterns::{self, Failure, Outcome, PatternHost};
use boundary_host::{EngineProfile, Error, GuestModule, GuestOutput, HostOptions};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "\
Runs the five host <-> guest interaction patterns on Wasmtime and verifies each.

Usage: boundary [OPTIONS]

Options:
  --wasm PATH       drive this module instead of the built-in guest (binary .wasm, or WAT text if PATH ends in
                    .wat); it must have the guest's ABI (see README)
  --host rust|cpp   the host that drives the guest: the Rust host core, or the C++ host on wasmtime.hh
                    (default configuration only) [default: rust]
  --profile NAME    engine profile [default: cranelift]
  --fuel N          fuel for each instance under --profile fuel [default: 1000000000]
  --timeout SECS    deadline for each pattern under --profile epoch [default: 10]
  --max-memory MIB  most linear memory the guest may have; growing past it traps (Rust host) [default: 1024]
  --quiet           print only failures and the summary; guest output is discarded
  --list-profiles   print the engine profiles and exit
  -h, --help        print this help and exit

Exit status: 0 all patterns passed, 1 a pattern gave a wrong value, 2 bad input or a misbehaving guest
(a trap, a runaway loop, memory past the limit, a pointer the host will not follow).";

/// Which host drives the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HostKind {
    Rust,
    Cpp,
}

struct Args {
    host: HostKind,
    wasm: Option<PathBuf>,
    profile: EngineProfile,
    quiet: bool,
    fuel: Option<u64>,
    timeout: Option<Duration>,
    max_memory_mib: Option<usize>,
}

const DEFAULT_FUEL: u64 = 1_000_000_000;
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_MAX_MEMORY_MIB: usize = 1024;
/// A 32-bit linear memory holds at most 4 GiB.
const MAX_MEMORY_MIB: usize = 4096;

enum Command {
    Run(Args),
    Help,
    ListProfiles,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Command, String> {
    let mut parsed = Args {
        host: HostKind::Rust,
        wasm: None,
        profile: EngineProfile::Cranelift,
        quiet: false,
        fuel: None,
        timeout: None,
        max_memory_mib: None,
    };
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value =
            |name: &str| inline.clone().or_else(|| args.next()).ok_or_else(|| format!("{name} needs a value"));
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--list-profiles" => return Ok(Command::ListProfiles),
            "--quiet" | "-q" => parsed.quiet = true,
            "--wasm" => parsed.wasm = Some(PathBuf::from(value("--wasm")?)),
            "--host" => {
                parsed.host = match value("--host")?.as_str() {
                    "rust" => HostKind::Rust,
                    "cpp" => HostKind::Cpp,
                    other => return Err(format!("unknown host `{other}` (known: rust, cpp)")),
                }
            }
            "--profile" => {
                parsed.profile = EngineProfile::from_name(&value("--profile")?).map_err(|e| e.to_string())?
            }
            "--fuel" => {
                let text = value("--fuel")?;
                let fuel = text.parse().map_err(|_| format!("--fuel takes a whole number, not `{text}`"))?;
                parsed.fuel = Some(fuel);
            }
            "--timeout" => {
                let text = value("--timeout")?;
                let seconds = text
                    .parse::<f64>()
                    .ok()
                    .and_then(|s| Duration::try_from_secs_f64(s).ok())
                    .filter(|d| !d.is_zero())
                    .ok_or_else(|| format!("--timeout takes a positive number of seconds, not `{text}`"))?;
                parsed.timeout = Some(seconds);
            }
            "--max-memory" => {
                let text = value("--max-memory")?;
                let mib = text.parse().ok().filter(|m| (1..=MAX_MEMORY_MIB).contains(m)).ok_or_else(|| {
                    format!("--max-memory takes a number of MiB from 1 to {MAX_MEMORY_MIB}, not `{text}`")
                })?;
                parsed.max_memory_mib = Some(mib);
            }
            other => return Err(format!("unexpected argument `{other}` (see --help)")),
        }
    }
    if parsed.fuel.is_some() && parsed.profile != EngineProfile::Fuel {
        return Err(format!("--fuel needs --profile fuel (the profile is `{}`)", parsed.profile));
    }
    if parsed.timeout.is_some() && parsed.profile != EngineProfile::Epoch {
        return Err(format!("--timeout needs --profile epoch (the profile is `{}`)", parsed.profile));
    }
    if parsed.host == HostKind::Cpp {
        if parsed.profile != EngineProfile::Cranelift {
            return Err(format!(
                "the C++ host runs wasmtime's default configuration only (`cranelift`), not `{}`",
                parsed.profile
            ));
        }
        if parsed.max_memory_mib.is_some() {
            return Err("--max-memory applies to the Rust host only".to_string());
        }
    }
    Ok(Command::Run(parsed))
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Command::Run(args)) => args,
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Command::ListProfiles) => {
            for profile in EngineProfile::ALL {
                println!("{:<16}{}", profile.name(), profile.summary());
            }
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    run(&args)
}

fn run(args: &Args) -> ExitCode {
    let quiet = args.quiet;
    let say = |line: std::fmt::Arguments<'_>| {
        if !quiet {
            println!("[host] {line}");
        }
    };
    let deadline = (args.profile == EngineProfile::Epoch).then(|| args.timeout.unwrap_or(DEFAULT_TIMEOUT));
    let mut host = match load(args, &say) {
        Ok(host) => host,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };

    let mut log = say;
    let outcomes = patterns::run_all_within(&mut *host, &mut log, deadline);
    // A guest that trapped, ran away, outgrew its memory or handed over a bad pointer is bad input, not a wrong
    // answer: one line, exit 2.
    let misbehaved = outcomes.iter().find_map(|o| match &o.result {
        Err(Failure::Host(e)) => Some((o, e)),
        _ => None,
    });
    if let Some((outcome, e)) = misbehaved {
        eprintln!("error: pattern {} ({}): {e}", outcome.number, outcome.title);
        return ExitCode::from(2);
    }
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| o.result.is_err()).collect();
    for outcome in &outcomes {
        match &outcome.result {
            Ok(()) => say(format_args!("pattern {} passed: {}", outcome.number, outcome.title)),
            Err(e) => println!("[host] pattern {} FAILED: {}: {e}", outcome.number, outcome.title),
        }
    }
    println!("{} passed, {} failed", outcomes.len() - failed.len(), failed.len());
    if failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// Loads the module into the chosen host.
fn load(args: &Args, say: &dyn Fn(std::fmt::Arguments<'_>)) -> Result<Box<dyn PatternHost>, Error> {
    let quiet = args.quiet;
    match args.host {
        HostKind::Rust => {
            let options = HostOptions {
                output: if quiet { GuestOutput::Discard } else { GuestOutput::Inherit },
                fuel: args.fuel.unwrap_or(DEFAULT_FUEL),
                max_memory: Some(args.max_memory_mib.unwrap_or(DEFAULT_MAX_MEMORY_MIB) << 20),
                trap_on_grow_failure: true,
                ..HostOptions::default()
            };
            let guest = match &args.wasm {
                Some(path) => GuestModule::from_file(path, args.profile, options)?,
                None => GuestModule::verbose_guest(args.profile, options)?,
            };
            say(format_args!(
                "loaded {} under engine profile `{}` ({})",
                guest.name(),
                args.profile,
                args.profile.summary()
            ));
            Ok(Box::new(guest.instantiate()?))
        }
        HostKind::Cpp => load_cpp(args, say),
    }
}

#[cfg(feature = "cpp-host")]
fn load_cpp(args: &Args, say: &dyn Fn(std::fmt::Arguments<'_>)) -> Result<Box<dyn PatternHost>, Error> {
    let (name, bytes) = match &args.wasm {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|source| Error::ReadModule { path: path.clone(), source })?;
            (path.display().to_string(), bytes)
        }
        None => ("the verbose guest".to_string(), boundary_host::guest::VERBOSE_WASM.to_vec()),
    };
    let host = boundary_host::cpp::CppHost::new(&name, &bytes, !args.quiet)?;
    say(format_args!("loaded {name} in the C++ host (wasmtime.hh, default configuration)"));
    Ok(Box::new(host))
}

#[cfg(not(feature = "cpp-host"))]
fn load_cpp(_: &Args, _: &dyn Fn(std::fmt::Arguments<'_>)) -> Result<Box<dyn PatternHost>, Error> {
    Err(Error::CppHost { message: "this build has no C++ host (build with the `cpp-host` feature)".to_string() })
}
