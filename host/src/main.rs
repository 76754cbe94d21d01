//! `cargo run --release`: runs the five interaction patterns against the guest and verifies each.
//!
//! Exit status: 0 when every pattern passes, 1 when one fails, 2 on bad input (usage, an unreadable or
//! incompatible module, an unknown profile).

use boundary_host::patterns::{self, Outcome};
use boundary_host::{EngineProfile, GuestModule, GuestOutput, HostOptions};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
Runs the five host <-> guest interaction patterns on Wasmtime and verifies each.

Usage: boundary [OPTIONS]

Options:
  --wasm PATH       drive this module instead of the built-in guest (binary .wasm, or WAT text if PATH ends in
                    .wat); it must have the guest's ABI (see README)
  --profile NAME    engine profile [default: cranelift]
  --quiet           print only failures and the summary; guest output is discarded
  --list-profiles   print the engine profiles and exit
  -h, --help        print this help and exit

Exit status: 0 all patterns passed, 1 a pattern failed, 2 bad input.";

struct Args {
    wasm: Option<PathBuf>,
    profile: EngineProfile,
    quiet: bool,
}

enum Command {
    Run(Args),
    Help,
    ListProfiles,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Command, String> {
    let mut parsed = Args { wasm: None, profile: EngineProfile::Cranelift, quiet: false };
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
            "--profile" => {
                parsed.profile = EngineProfile::from_name(&value("--profile")?).map_err(|e| e.to_string())?
            }
            other => return Err(format!("unexpected argument `{other}` (see --help)")),
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
    let options = HostOptions {
        output: if quiet { GuestOutput::Discard } else { GuestOutput::Inherit },
        ..HostOptions::default()
    };
    let loaded = match &args.wasm {
        Some(path) => GuestModule::from_file(path, args.profile, options),
        None => GuestModule::verbose_guest(args.profile, options),
    };
    let host = loaded.and_then(|guest| {
        say(format_args!(
            "loaded {} under engine profile `{}` ({})",
            guest.name(),
            args.profile,
            args.profile.summary()
        ));
        guest.instantiate()
    });
    let mut host = match host {
        Ok(host) => host,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };

    let mut log = say;
    let outcomes = patterns::run_all(&mut host, &mut log);
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
