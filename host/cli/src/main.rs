//! `boundary`: the harness's one command. With no subcommand (or `run`) it runs the five interaction patterns
//! against the guest and verifies each (`run.rs`); `bench`, `payload`, `serve` and `gate` measure the guest (or the
//! user's module, `--wasm`) as `cargo bench` does, writing their records under `--out` (`./boundary-results/` by
//! default); `profiles` lists the engine profiles. Every subcommand keeps the same guard rails: one deadline per
//! step (`--timeout`), one memory budget per store (`--max-memory`), one `error:` line and exit status 2 for bad
//! input or a misbehaving guest.

mod report;
mod request;
mod run;

use boundary_benches::gate::runner as gate;
use boundary_benches::matrix::{self, MatrixOptions};
use boundary_benches::options;
use boundary_benches::payload::{self, PayloadOptions};
use boundary_benches::record::Records;
use boundary_benches::serving::{self, ServingOptions};
use run::RunOptions;
use std::path::PathBuf;
use std::process::ExitCode;

/// The command line of `boundary`.
#[derive(Debug, clap::Parser)]
#[command(
    name = "boundary",
    version,
    about = "What crossing the Wasmtime host <-> guest boundary costs, verified: the five interaction patterns \
             (the default), the matrix, the payload sweep, the serving path and the instruction-count gate, for \
             the built-in guest or your module (--wasm).",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunOptions,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// The five interaction patterns against the guest, each verified, then every optional export it has (what
    /// `boundary` with no subcommand does).
    Run(RunOptions),
    /// The criterion matrix: what each way of crossing costs under every engine profile. Arguments after `--` are
    /// criterion's (a filter, --quick, --sample-size N).
    Bench(BenchArgs),
    /// Bytes across the boundary, 8 bytes to 16 MiB, by direction and method.
    Payload(PayloadArgs),
    /// The serving path: a fresh instance per request, per way of allocating instances; and instance density.
    Serve(ServeArgs),
    /// The performance gate: instruction counts of its scenarios under callgrind against a baseline (needs
    /// valgrind).
    Gate(gate::Options),
    /// The gate's scenarios under two wasmtime versions, side by side: instruction counts, interleaved wall-time
    /// medians, page faults, and the defaults that differ (cargo features, engine settings). Builds each version from
    /// this checkout in target/versions/; needs valgrind.
    Versions(VersionsArgs),
    /// The differential fuzzer of a plugin's request (--request): mutated inputs served under two engine profiles,
    /// outcomes compared, each difference written as a request file that replays it. Exit status 1 when it found any.
    Fuzz(FuzzArgs),
    /// The engine profiles, one a line.
    Profiles,
}

/// Where a measuring subcommand writes its records.
#[derive(Debug, Clone, clap::Args)]
struct OutOption {
    /// Write the records under DIR (a relative DIR is taken from the directory the command was typed in).
    #[arg(long, value_name = "DIR", default_value = "boundary-results")]
    out: PathBuf,
}

impl OutOption {
    fn records(&self) -> Records {
        Records::under(&options::user_path(&self.out.to_string_lossy()))
    }
}

#[derive(Debug, clap::Args)]
struct BenchArgs {
    #[command(flatten)]
    matrix: MatrixOptions,
    #[command(flatten)]
    out: OutOption,
    /// Criterion's own arguments.
    #[arg(last = true, value_name = "CRITERION")]
    criterion: Vec<String>,
}

#[derive(Debug, clap::Args)]
struct PayloadArgs {
    #[command(flatten)]
    payload: PayloadOptions,
    #[command(flatten)]
    out: OutOption,
}

#[derive(Debug, clap::Args)]
struct FuzzArgs {
    #[command(flatten)]
    fuzz: boundary_benches::fuzz::FuzzOptions,
    #[command(flatten)]
    out: OutOption,
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    #[command(flatten)]
    serving: ServingOptions,
    #[command(flatten)]
    out: OutOption,
}

#[derive(Debug, clap::Args)]
struct VersionsArgs {
    #[command(flatten)]
    versions: boundary_benches::versions::Options,
    #[command(flatten)]
    out: OutOption,
}

fn main() -> ExitCode {
    // A child copy of a measuring subcommand (the matrix's criterion, a density run, a counted scenario).
    if let Some(status) = boundary_benches::roles::serve() {
        return status;
    }
    let cli: Cli = options::parse_or_exit(std::env::args());
    match cli.command {
        None => main_job(&cli.run),
        Some(Command::Run(options)) => main_job(&options),
        Some(Command::Bench(args)) => {
            // Measured, not tested: criterion benchmarks when it is given `--bench`, as `cargo bench` gives it.
            let criterion = std::iter::once("--bench".to_string()).chain(args.criterion).collect();
            matrix::run(args.matrix, criterion, args.out.records())
        }
        Some(Command::Payload(mut args)) => {
            args.payload.bench = true;
            options::exit_status(payload::run(args.payload, &args.out.records()))
        }
        Some(Command::Serve(mut args)) => {
            args.serving.bench = true;
            options::exit_status(serving::run(args.serving, &args.out.records()))
        }
        Some(Command::Gate(options)) => gate::command(&options),
        Some(Command::Fuzz(args)) => {
            let out = options::user_path(&args.out.out.to_string_lossy());
            match boundary_benches::fuzz::run(&args.fuzz, &out) {
                Ok(0) => ExitCode::SUCCESS,
                Ok(_) => ExitCode::from(1),
                Err(e) => options::exit_status(Err(e)),
            }
        }
        Some(Command::Versions(args)) => {
            boundary_benches::versions::command(&args.versions, &options::user_path(&args.out.out.to_string_lossy()))
        }
        Some(Command::Profiles) => run::list_profiles(),
    }
}

fn main_job(options: &RunOptions) -> ExitCode {
    if options.list_profiles {
        return run::list_profiles();
    }
    let json = options.json.as_ref().map(|path| options::user_path(&path.to_string_lossy()));
    if json.is_some() {
        let module = options.module.wasm.as_ref().map_or_else(
            || "the built-in guest".to_string(),
            |p| boundary_host::escape_controls(&p.display().to_string()).into_owned(),
        );
        let abi = match options.module.abi {
            options::Abi::Core => "core",
            options::Abi::Component => "component",
        };
        let request =
            options.request.resolved().map(|p| boundary_host::escape_controls(&p.display().to_string()).into_owned());
        report::start(module, abi, options.profile.name(), request);
    }
    let status = match options.check() {
        Ok(args) => run::run(&args),
        Err(message) => {
            let line = boundary_host::escape_controls(&message).into_owned();
            report::error(&line);
            eprintln!("error: {line}");
            report::exit(options::EXIT_BAD_INPUT)
        }
    };
    match json.map(|path| report::write(&path)) {
        Some(Err(why)) => {
            eprintln!("error: {}", boundary_host::escape_controls(&why));
            ExitCode::from(options::EXIT_BAD_INPUT)
        }
        _ => status,
    }
}
