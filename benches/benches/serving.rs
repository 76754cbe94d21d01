//! `cargo bench --bench serving`: the serving path. For each way of allocating and resetting instances
//! (`benches/src/serving.rs`), each request workload and 1 and 2 worker threads sharing one engine: requests per
//! second, latency percentiles and minor page faults per request; then how much memory live instances take and how
//! many fit. A complete run writes `results/serving/<date>/`; `--quick` (shorter measurements) writes
//! `target/boundary-results/serving/` only; `--wasm PATH` serves your module and writes
//! `target/boundary-results/<module>-<hash>/serving/`.
//!
//! ```text
//! cargo bench --bench serving                        # everything (about two minutes)
//! cargo bench --bench serving -- --quick             # the same, rougher
//! cargo bench --bench serving -- --wasm my.wasm      # your module (its `just_add` if it has one, else instances alone)
//! cargo bench --bench serving -- --filter pooled     # only configurations whose id contains a string
//! cargo bench --bench serving -- --reindex           # rewrite README's serving block from results/serving/
//! ```

use boundary_benches::environment::Environment;
use boundary_benches::report;
use boundary_benches::serving::{self, ALLOCATIONS, DENSITY_CONFIGS, Density, Measurement, Server, THREADS, WORKLOADS};
use boundary_benches::serving_report::{self, Record};
use boundary_benches::subject::{self, ModuleArgs};
use std::process::ExitCode;
use std::time::{Duration, Instant};

struct Args {
    quick: bool,
    filter: Option<String>,
    module: ModuleArgs,
    /// Why the serving rows do not apply to what was asked (an option of the matrix's), if they do not.
    not_served: Option<&'static str>,
    /// Whether cargo ran this to measure (`cargo bench`), not as a test (`cargo test --benches`).
    measuring: bool,
}

fn parse() -> Result<Args, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (own, rest) = subject::split_module_args(args)?;
    let module = ModuleArgs::parse(&own)?;
    // `cargo bench -- ARGS` passes ARGS to the matrix, the payload sweep and this bench alike: an option that only
    // the others take makes this one say so and measure nothing, rather than fail the whole `cargo bench`.
    let not_served = if !module.invokes.is_empty() {
        Some("--invoke is the matrix's (a request here calls `just_add`)")
    } else if module.component {
        Some("--abi component: the serving rows serve core modules")
    } else if !module.profiles.is_empty() {
        Some("--profile: each serving configuration is an engine of its own")
    } else {
        None
    };
    let mut parsed = Args { quick: false, filter: None, module, not_served, measuring: false };
    let mut iter = rest.into_iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--bench" => parsed.measuring = true,
            "--quick" => parsed.quick = true,
            "--filter" => parsed.filter = Some(iter.next().ok_or("--filter needs a value")?),
            other if other.starts_with('-') => return Err(format!("unexpected argument `{other}`")),
            // A positional argument is a filter, as criterion takes it.
            other => parsed.filter = Some(other.to_string()),
        }
    }
    Ok(parsed)
}

/// The argument that makes this executable one density run's process (see [`density_in_child`]).
const DENSITY_CHILD: &str = "--density-child";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--reindex") {
        // Rewrites README's serving block from the newest committed record, measuring nothing.
        let workspace = boundary_benches::workspace_root();
        let serving = workspace.join("results").join("serving");
        return match serving_report::write_readme_block(&workspace.join("README.md"), &serving) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: rewriting README's serving block failed: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if args.first().map(String::as_str) == Some(DENSITY_CHILD) {
        return match density_child(&args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {}", boundary_host::escape_controls(&e));
                ExitCode::from(2)
            }
        };
    }
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", boundary_host::escape_controls(&e));
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let started = Instant::now();
    let args = parse()?;
    if let Some(why) = args.not_served {
        println!("serving: nothing measured: {why}");
        return Ok(());
    }
    let selected = |id: &str| args.filter.as_ref().is_none_or(|f| id.contains(f.as_str()));
    if !ALLOCATIONS.iter().any(|a| selected(a.id)) && !DENSITY_CONFIGS.iter().any(|c| selected(c.id)) {
        println!("serving: no configuration matches `{}`; nothing measured", args.filter.as_deref().unwrap_or(""));
        return Ok(());
    }
    let subject = args.module.subject()?;
    let wasm = subject.core.clone().ok_or("the serving rows need a core module")?;
    // Bad input is said once, before anything runs.
    subject::prepare(&subject)?;
    // Under `cargo test --benches`: every configuration serves a few requests, nothing is recorded.
    let (warm_up, duration) = match (args.measuring, args.quick) {
        (false, _) => (Duration::ZERO, Duration::from_millis(5)),
        (true, true) => (Duration::from_millis(50), Duration::from_millis(150)),
        (true, false) => (Duration::from_millis(200), Duration::from_millis(800)),
    };
    let mut rows: Vec<Measurement> = Vec::new();
    let mut unavailable = Vec::new();
    for allocation in ALLOCATIONS.iter().filter(|a| selected(a.id)) {
        let engine = match serving::engine(allocation) {
            Ok(engine) => engine,
            Err(why) => {
                println!("{}: not measured: {why}", allocation.id);
                unavailable.push((allocation.id.to_string(), why));
                continue;
            }
        };
        let server = Server::new(&engine, &wasm)?;
        for workload in WORKLOADS {
            if let serving::Workload::Dirty(n) = workload
                && !server.can_dirty(n)
            {
                continue;
            }
            for threads in THREADS {
                let m = serving::measure(&server, allocation.id, workload, threads, warm_up, duration);
                println!(
                    "{:<24} {:<9} {threads} thread(s): {:>9.0} requests/s  p50 {:>8}  p99 {:>8}  p99.9 {:>8}  {:>6.1} faults/request",
                    allocation.id,
                    m.workload,
                    m.requests_per_second,
                    report::format_ns(m.p50_ns as f64),
                    report::format_ns(m.p99_ns as f64),
                    report::format_ns(m.p999_ns as f64),
                    m.minor_faults_per_request
                );
                rows.push(m);
            }
        }
    }
    let mut densities: Vec<Density> = Vec::new();
    if args.measuring {
        for config in DENSITY_CONFIGS.iter().filter(|c| selected(c.id)) {
            let d = density_in_child(config.id, &args.module)?;
            println!("density {:<22} {} live instances, stopped by {}", d.config, d.reached, d.stopped_by);
            for p in &d.points {
                println!(
                    "  {:>6} live: {:>9} resident, {:>9} virtual per instance",
                    p.live,
                    serving_report::format_bytes(p.resident_per_instance),
                    serving_report::format_bytes(p.virtual_per_instance)
                );
            }
            densities.push(d);
        }
    }
    if !args.measuring {
        return Ok(());
    }
    let workspace = boundary_benches::workspace_root();
    let mut command = "cargo bench --bench serving".to_string();
    let extra: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    if !extra.is_empty() {
        command = format!("{command} -- {}", extra.join(" "));
    }
    let mode = if args.quick {
        "--quick: 50 ms warm-up, 150 ms of requests per row".to_string()
    } else {
        "200 ms warm-up, 800 ms of requests per row".to_string()
    };
    let mut environment = Environment::capture(&workspace, command, mode);
    if !subject.is_built_in() {
        environment.module = Some(subject.describe());
    }
    environment.elapsed_s = Some(started.elapsed().as_secs_f64());
    let record = Record::new(environment, rows, densities, unavailable);
    let target = boundary_benches::target_dir().join("boundary-results");
    let complete = args.filter.is_none() && !args.quick;
    let dir = if !subject.is_built_in() {
        target.join(subject.results_name()).join("serving")
    } else if complete {
        serving_report::run_dir(&workspace.join("results").join("serving"), &record.environment)
    } else {
        target.join("serving")
    };
    record.write(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if subject.is_built_in() && complete {
        serving_report::write_readme_block(&workspace.join("README.md"), &workspace.join("results").join("serving"))
            .map_err(|e| format!("README.md: {e}"))?;
    }
    println!("serving record written to {}", dir.display());
    Ok(())
}

/// One density run in a process of its own, which prints the result as JSON.
fn density_in_child(id: &str, module: &ModuleArgs) -> Result<Density, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
    let mut command = std::process::Command::new(exe);
    command.args([DENSITY_CHILD, id]);
    if let Some(path) = &module.wasm {
        command.arg("--wasm").arg(path);
    }
    let out = command.output().map_err(|e| format!("cannot start the density run: {e}"))?;
    if !out.status.success() {
        return Err(format!("the density run of {id} failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("the density run of {id} printed no result: {e}"))
}

/// The density run's process: the configuration named by the first argument, the module by `--wasm`.
fn density_child(args: &[String]) -> Result<(), String> {
    let id = args.first().ok_or("which density configuration?")?;
    let config = serving::density_config(id).ok_or(format!("no density configuration `{id}`"))?;
    let module = ModuleArgs::parse(&args[1..])?;
    let wasm = module.subject()?.core.ok_or("the serving rows need a core module")?;
    let result = serving::density(config, &wasm);
    println!("{}", serde_json::to_string(&result).map_err(|e| e.to_string())?);
    Ok(())
}
