//! The serving path's command (`cargo bench --bench serving`, `boundary serve`): for each way of allocating and
//! resetting instances, each request workload (a named pattern of dirtied pages) and 1 and 2 worker threads sharing
//! one engine, repeated windows in one shuffled order: requests per second, latency percentiles, each phase's time
//! and minor page faults per request, as medians and ranges over the windows (`requests.rs`); then how much memory
//! live instances take (touching the pages `footprint.rs` finds) and how many fit. A complete run of the project's
//! guest under `cargo bench` writes `results/serving/<date>/`; any other run writes under the scratch folder
//! ([`Records`]): `serving/`, or `<module>-<hash>/serving/` for a user's module.
//!
//! ```text
//! cargo bench --bench serving                        # everything (about two minutes)
//! cargo bench --bench serving -- --quick             # the same, rougher
//! cargo bench --bench serving -- --wasm my.wasm      # your module (its `just_add` if it has one, else instances alone)
//! cargo bench --bench serving -- --request req.toml # a plugin's request (README, "Real plugins") on each fresh instance
//! cargo bench --bench serving -- --filter pooled     # only configurations whose id contains a string
//! cargo bench --bench serving -- --reindex           # rewrite README's serving block from results/serving/
//! ```

pub mod footprint;
pub mod record;
pub mod requests;

use crate::child::{Child, Launcher};
use crate::guard;
use crate::options::{self, LimitOptions, ModuleOptions, ProfileOptions, RequestOptions, SubjectOptions};
use crate::probe;
use crate::record::{Environment, Records};
use crate::subject::Subject;
use footprint::Footprint;
use record::{self as serving_report, Method, Record};
use requests::{self as serving, ALLOCATIONS, DENSITY_CONFIGS, Density, Measurement, Server, Servers, Timing};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// The serving path's options. `cargo bench -- ARGS` passes the same ARGS to the matrix and the payload sweep, so
/// their options are taken too, and make this bench say that it measures nothing.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "cargo bench --bench serving --", about = "The serving path: a fresh instance per request.")]
pub struct ServingOptions {
    #[command(flatten)]
    pub subject: SubjectOptions,
    #[command(flatten)]
    pub profiles: ProfileOptions,
    /// Shorter measurements, written under target/boundary-results/ only.
    #[arg(long)]
    pub quick: bool,
    /// Only configurations whose id contains this string.
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
    /// A filter, as criterion takes one (the last one given counts).
    #[arg(value_name = "FILTER")]
    pub filters: Vec<String>,
    /// Rewrite README's serving block from the newest record in results/serving/, measuring nothing.
    #[arg(long)]
    pub reindex: bool,
    /// Passed by `cargo bench` (not by `cargo test --benches`): measure and record.
    #[arg(long, hide = true)]
    pub bench: bool,
}

impl ServingOptions {
    /// Why the serving rows do not apply to what was asked (an option of the matrix's), if they do not.
    fn not_served(&self) -> Option<&'static str> {
        if !self.subject.invoke.invokes.is_empty() {
            Some("--invoke is the matrix's (a request here calls `just_add`)")
        } else if self.subject.module.abi == options::Abi::Component {
            Some("--abi component: the serving rows serve core modules")
        } else if !self.profiles.profiles.is_empty() {
            Some("--profile: each serving configuration is an engine of its own")
        } else {
            None
        }
    }

    fn filter(&self) -> Option<&str> {
        self.filter.as_deref().or(self.filters.last().map(String::as_str))
    }
}

/// The role of the process that makes one density run (see [`density_in_child`]).
pub const DENSITY_ROLE: &str = "density";

/// `cargo bench --bench serving -- ARGS`.
pub fn cargo_main() -> ExitCode {
    options::exit_status(run(options::parse_or_exit(std::env::args()), &Records::checkout()))
}

/// Serves requests under every configuration the options select, and records the run in `records`.
pub fn run(args: ServingOptions, records: &Records) -> Result<(), String> {
    let started = Instant::now();
    if args.reindex {
        // Rewrites README's serving block from the newest committed record, measuring nothing.
        let workspace = crate::record::workspace_root();
        let serving = workspace.join("results").join("serving");
        return serving_report::write_readme_block(&workspace.join("README.md"), &serving)
            .map_err(|e| format!("rewriting README's serving block failed: {e}"));
    }
    if let Some(why) = args.not_served() {
        println!("serving: nothing measured: {why}");
        return Ok(());
    }
    if !serving::LINUX_FIGURES {
        println!(
            "note: page faults (getrusage's RUSAGE_THREAD) and the density rows' memory (/proc/self/status) are \
             taken on Linux only: they read 0 here"
        );
    }
    let filter = args.filter();
    let selected = |id: &str| filter.is_none_or(|f| id.contains(f));
    if !ALLOCATIONS.iter().any(|a| selected(a.id)) && !DENSITY_CONFIGS.iter().any(|c| selected(c.id)) {
        println!("serving: no configuration matches `{}`; nothing measured", filter.unwrap_or(""));
        return Ok(());
    }
    let subject = Subject::with_request(&args.subject.module, &args.subject.request, &[])?;
    guard::configure(args.subject.limits.limits(), subject.imports());
    if subject.core.is_none() && subject.component.is_some() {
        println!(
            "serving: nothing measured: the serving path serves a core module; a component's request ([invoke]) is \
             measured by `boundary bench` and `boundary gate`"
        );
        return Ok(());
    }
    let wasm = subject.core.clone().ok_or("the serving rows need a core module")?;
    // Bad input is said once, before anything runs.
    probe::prepare(&subject)?;
    // Under `cargo test --benches`: every configuration serves a few requests, nothing is recorded.
    let measuring = args.bench;
    let timing = timing(measuring, args.quick);
    // Every engine and server is made before the first window, so that the windows can run in any order.
    let mut servers: Servers = Vec::new();
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
        let server =
            guard::step(&format!("compiling {} for `{}`", wasm.name, allocation.id), || match &subject.request {
                Some(request) => Server::with_request(&engine, &wasm, request),
                None => Server::new(&engine, &wasm),
            })?;
        servers.push((allocation, server));
    }
    let configurations = serving::configurations(&servers).len();
    if configurations > 0 {
        println!(
            "serving: {configurations} configurations, {} windows of {} each in a shuffled order",
            configurations * timing.repeats,
            crate::record::format_ns(timing.window.as_nanos() as f64)
        );
    }
    let clock_read_ns = serving::clock_read_ns();
    let rows = serving::measure(&servers, &timing);
    drop(servers);
    for m in &rows {
        print_row(m);
    }
    let mut densities: Vec<Density> = Vec::new();
    if measuring {
        for config in DENSITY_CONFIGS.iter().filter(|c| selected(c.id)) {
            let d = density_in_child(config.id, &args)?;
            println!("density {:<22} {} live instances, stopped by {}", d.config, d.reached, d.stopped_by);
            for p in &d.points {
                let optional = |v: Option<f64>| v.map_or("-".to_string(), serving_report::format_bytes);
                println!(
                    "  {:>6} live: {:>9} resident ({:>9} anonymous, {:>9} page tables), {:>9} virtual per instance",
                    p.live,
                    serving_report::format_bytes(p.resident_per_instance),
                    optional(p.anonymous_per_instance),
                    optional(p.page_tables_per_instance),
                    serving_report::format_bytes(p.virtual_per_instance)
                );
            }
            densities.push(d);
        }
    }
    if !measuring {
        return Ok(());
    }
    let workspace = crate::record::workspace_root();
    let command = records.command_line("serving");
    let mode = format!(
        "{}each configuration {} windows of {}, each after {} of untimed warm-up, all windows in one shuffled \
         order (seed {:#x}), after one untimed {} window per configuration in table order",
        if args.quick { "--quick: " } else { "" },
        timing.repeats,
        crate::record::format_ns(timing.window.as_nanos() as f64),
        crate::record::format_ns(timing.warm_up.as_nanos() as f64),
        timing.seed,
        crate::record::format_ns(timing.check.as_nanos() as f64),
    );
    let mut environment = Environment::capture(&workspace, command, mode);
    if !subject.is_built_in() {
        environment.module = Some(subject.describe());
    }
    environment.elapsed_s = Some(started.elapsed().as_secs_f64());
    let method = Method::new(&timing, clock_read_ns);
    let footprint = (!densities.is_empty()).then(|| Footprint::of(&wasm));
    let record = Record { environment, rows, density: densities, unavailable, method: Some(method), footprint };
    let complete = filter.is_none() && !args.quick;
    let module = (!subject.is_built_in()).then(|| subject.results_name());
    let (dir, committed) = records.sweep_folder("serving", module, complete, &record.environment);
    record.write(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if let Some(committed) = &committed {
        serving_report::write_readme_block(&workspace.join("README.md"), committed)
            .map_err(|e| format!("README.md: {e}"))?;
    }
    println!("serving record written to {}", dir.display());
    Ok(())
}

/// How requests are timed: under `cargo test --benches` a few milliseconds per configuration; `--quick` shorter and
/// fewer windows than a full run.
fn timing(measuring: bool, quick: bool) -> Timing {
    let ms = Duration::from_millis;
    let (check, repeats, warm_up, window) = match (measuring, quick) {
        (false, _) => (Duration::ZERO, 2, Duration::ZERO, ms(2)),
        (true, true) => (ms(20), 3, ms(10), ms(50)),
        (true, false) => (ms(50), 5, ms(20), ms(200)),
    };
    Timing { check, repeats, warm_up, window, seed: serving::ORDER_SEED }
}

/// One configuration's line: medians over its windows, the range of requests per second, and each phase's median.
fn print_row(m: &Measurement) {
    let ns = |s: &serving::Spread| crate::record::format_ns(s.median);
    let phases: Vec<String> =
        m.phases.iter().map(|p| format!("{} {}", p.phase, crate::record::format_ns(p.p50_ns.median))).collect();
    println!(
        "{:<24} {:<9} {} thread(s): {:>9.0} requests/s ({:.0}-{:.0})  p50 {:>8}  p99 {:>8}  {:>6.1} faults/request  [{}]",
        m.allocation,
        m.workload,
        m.threads,
        m.requests_per_second.median,
        m.requests_per_second.min,
        m.requests_per_second.max,
        ns(&m.p50_ns),
        ns(&m.p99_ns),
        m.minor_faults_per_request.median,
        phases.join(", ")
    );
}

/// One density run in a process of its own, which prints the result as JSON. The child keeps the guard rails
/// itself; an `error:` line of its own is passed on.
fn density_in_child(id: &str, args: &ServingOptions) -> Result<Density, String> {
    let launcher = Launcher::this(Vec::new())?;
    let mut role_args = vec![id.to_string()];
    role_args.extend(args.subject.module.to_args());
    role_args.extend(args.subject.request.to_args());
    role_args.extend(args.subject.limits.to_args());
    let child = Child {
        launcher: &launcher,
        role: DENSITY_ROLE,
        role_args,
        wrapper: Vec::new(),
        capture: true,
        deadline: None,
    };
    let out = child.run().map_err(|e| format!("the density run of `{id}` {e}"))?;
    if !out.status.success() {
        let line = out.stderr_line();
        return Err(format!("density `{id}`: {}", line.strip_prefix("error: ").unwrap_or(&line)));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("the density run of {id} printed no result: {e}"))
}

/// The options of a density run's process: its configuration, the module and the guard rails.
#[derive(Debug, Clone, clap::Parser)]
struct DensityOptions {
    config: String,
    #[command(flatten)]
    pub module: ModuleOptions,
    #[command(flatten)]
    pub request: RequestOptions,
    #[command(flatten)]
    pub limits: LimitOptions,
}

/// The density run's process: the configuration and the module its role names.
pub fn density_child(args: &[String]) -> ExitCode {
    options::exit_status(density(args))
}

fn density(args: &[String]) -> Result<(), String> {
    let args: DensityOptions =
        options::parse_or_exit(std::iter::once("density".to_string()).chain(args.iter().cloned()));
    let subject = Subject::with_request(&args.module, &args.request, &[])?;
    guard::configure(args.limits.limits(), subject.imports());
    let config = serving::density_config(&args.config).ok_or(format!("no density configuration `{}`", args.config))?;
    let wasm = subject.core.ok_or("the serving rows need a core module")?;
    let result = serving::density(config, &wasm);
    println!("{}", serde_json::to_string(&result).map_err(|e| e.to_string())?);
    Ok(())
}
