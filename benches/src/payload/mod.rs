//! The payload sweep's command (`cargo bench --bench payload`, `boundary payload`): bytes across the boundary, 8
//! bytes to 16 MiB, by direction and method (`mod.rs`), against native Rust doing the same work and a plain
//! `memcpy`. A complete run of the project's guest under `cargo bench` writes `results/payload/<date>/` and README's
//! payload block; any other run writes under the scratch folder ([`Records`]): `payload/`, or
//! `<module>-<hash>/payload/` for a user's module (with `checksum_bytes` and `fill_bytes`; with `--abi component`,
//! a component of the guest's world).
//!
//! ```text
//! cargo bench --bench payload                        # the sweep
//! cargo bench --bench payload -- --quick             # shorter batches
//! cargo bench --bench payload -- --profile cranelift # one profile
//! cargo bench --bench payload -- component/          # the methods whose ids contain a filter
//! cargo bench --bench payload -- --reindex           # rewrite README's payload block from results/payload/
//! ```

pub mod fit;
pub mod methods;
pub mod record;

use crate::guard;
use crate::options::{self, ProfileOptions, SubjectOptions};
use crate::probe;
use crate::record::{Environment, Records};
use crate::subject::{Needs, Subject};
use methods::{
    self as payload, Buffers, ComponentMover, CoreMover, LARGE, LARGE_PROFILES, Method, Native, SIZES, Timing,
};
use record::{self as payload_report, Cell, Record};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// The payload sweep's options. `cargo bench -- ARGS` passes the same ARGS to the matrix and the serving path, so
/// `--invoke` is taken too, and makes this bench say that it measures nothing.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "cargo bench --bench payload --", about = "Bytes across the boundary, 8 bytes to 16 MiB.")]
pub struct PayloadOptions {
    #[command(flatten)]
    pub subject: SubjectOptions,
    /// With --request: the input whose size is varied [default: the first].
    #[arg(long, value_name = "NAME")]
    pub vary: Option<String>,
    #[command(flatten)]
    pub profiles: ProfileOptions,
    /// Shorter batches, written under target/boundary-results/ only.
    #[arg(long)]
    pub quick: bool,
    /// Only the methods whose ids contain one of these strings.
    #[arg(value_name = "FILTER")]
    pub filters: Vec<String>,
    /// Rewrite README's payload block from the newest record in results/payload/, measuring nothing.
    #[arg(long)]
    pub reindex: bool,
    /// Passed by `cargo bench` (not by `cargo test --benches`): measure and record.
    #[arg(long, hide = true)]
    pub bench: bool,
}

/// `cargo bench --bench payload -- ARGS`.
pub fn cargo_main() -> ExitCode {
    options::exit_status(run(options::parse_or_exit(std::env::args()), &Records::checkout()))
}

/// Sweeps the payload methods the options select, and records the run in `records`.
pub fn run(args: PayloadOptions, records: &Records) -> Result<(), String> {
    let started = Instant::now();
    let workspace = crate::record::workspace_root();
    let payload_dir = workspace.join("results").join("payload");
    if args.reindex {
        return payload_report::write_readme_block(&workspace.join("README.md"), &payload_dir)
            .map_err(|e| format!("rewriting README's payload block: {e}"));
    }
    // `cargo bench -- ARGS` passes ARGS to the matrix and the serving path too: what only they take, or a module
    // without the payload exports, makes this bench say so and measure nothing, rather than fail the whole run.
    if !args.subject.invoke.invokes.is_empty() {
        println!("payload: nothing measured: --invoke is the matrix's");
        return Ok(());
    }
    if args.subject.request.request.is_some() {
        return request_sweep(&args, records, started);
    }
    let (measuring, quick) = (args.bench, args.quick);
    let filters = &args.filters;
    let methods: Vec<Method> =
        Method::ALL.into_iter().filter(|m| filters.is_empty() || filters.iter().any(|f| m.id().contains(f))).collect();
    if methods.is_empty() {
        println!("payload: no method matches {}; nothing measured", filters.join(" "));
        return Ok(());
    }
    let subject = Subject::from_options(&args.subject.module, &[])?;
    guard::configure(args.subject.limits.limits(), subject.imports());
    let serves = probe::prepare(&subject)?.serves;
    let core = subject.core.as_ref().filter(|_| serves.check(Needs::Payload).is_ok());
    let component = subject.component.as_ref().filter(|_| serves.check(Needs::World).is_ok());
    // A component's methods each need their own optional export of the world.
    let methods: Vec<Method> = methods
        .into_iter()
        .filter(|m| m.component_export().is_none_or(|export| serves.check(Needs::WorldExport(export)).is_ok()))
        .collect();
    if core.is_none() && component.is_none() {
        let why = serves.check(Needs::Payload).err().or(serves.check(Needs::World).err()).unwrap_or_default();
        println!("payload: nothing measured: the module serves no payload method: {why}");
        return Ok(());
    }
    // Under `cargo test --benches`: every method once at the smallest size and a middling one, nothing recorded.
    let (sizes, timing): (Vec<usize>, Timing) = match (measuring, quick) {
        (false, _) => (fit::sizes(false), Timing { batch: Duration::ZERO, rounds: 1 }),
        (true, true) => (SIZES.to_vec(), QUICK),
        (true, false) => (SIZES.to_vec(), FULL),
    };
    let max = *sizes.iter().max().unwrap_or(&SIZES[0]);
    let mut buffers = Buffers::new(max);
    let mut cells = Vec::new();
    let profiles = subject.compiled_under(args.profiles.or_all())?;
    for &profile in &profiles {
        let engine = profile.engine().map_err(|e| e.to_string())?;
        let (mut core_mover, mut component_mover) =
            guard::step(&format!("setting up the payload rows under `{profile}`"), || {
                (
                    core.map(|wasm| CoreMover::new(profile, &engine, wasm, max)),
                    component.map(|wasm| ComponentMover::new(profile, &engine, wasm)),
                )
            });
        // The rows this profile times: the native floors, then the methods its module serves.
        let mut rows: Vec<Row> = Native::ALL.into_iter().map(Row::Native).collect();
        rows.extend(
            methods
                .iter()
                .filter(|m| if m.component() { component_mover.is_some() } else { core_mover.is_some() })
                .map(|&m| Row::Method(m)),
        );
        for (i, &n) in sizes.iter().filter(|&&n| n <= LARGE || LARGE_PROFILES.contains(&profile)).enumerate() {
            let seed = (profile as u64) << 32 | i as u64;
            let what = |row: usize| format!("payload `{}` under `{profile}` at {n} bytes", rows[row].id());
            let times = payload::interleaved(
                rows.len(),
                what,
                |row| match rows[row] {
                    Row::Native(native) => payload::native(native, n, &mut buffers),
                    Row::Method(m) if m.component() => {
                        component_mover.as_mut().map_or(0, |mover| mover.run(m, n, &mut buffers))
                    }
                    Row::Method(m) => core_mover.as_mut().map_or(0, |mover| mover.run(m, n, &mut buffers)),
                },
                timing,
                seed,
            );
            for (row, rounds) in rows.iter().zip(times) {
                cells.push(Cell {
                    row: row.id().to_string(),
                    profile: Some(profile.name().to_string()),
                    bytes: n,
                    ns: payload::median(&rounds),
                    min_ns: rounds.iter().copied().reduce(f64::min),
                    max_ns: rounds.iter().copied().reduce(f64::max),
                });
            }
        }
        if measuring {
            println!("{profile}: done");
        }
    }
    if !measuring {
        return Ok(());
    }
    let command = records.command_line("payload");
    let timing_said = |t: Timing| {
        format!("at each size, {} rounds of a batch of {} ms per row, shuffled", t.rounds, t.batch.as_millis())
    };
    let mode = if quick { format!("--quick: {}", timing_said(QUICK)) } else { timing_said(FULL) };
    let mut environment = Environment::capture(&workspace, command, mode);
    if !subject.is_built_in() {
        environment.module = Some(subject.describe());
    }
    environment.elapsed_s = Some(started.elapsed().as_secs_f64());
    let record = Record::new(environment, timing.rounds, fit::regimes(), cells);
    let complete = !quick && filters.is_empty() && profiles.len() == boundary_host::EngineProfile::ALL.len();
    let module = (!subject.is_built_in()).then(|| subject.results_name());
    let (dir, committed) = records.sweep_folder("payload", module, complete, &record.environment);
    record.write(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if let Some(committed) = &committed {
        payload_report::write_readme_block(&workspace.join("README.md"), committed)
            .map_err(|e| format!("README.md: {e}"))?;
    }
    println!("payload record written to {}", dir.display());
    let first = record.regimes.first().map(|r| r.name.clone()).unwrap_or_default();
    for &method in &methods {
        if let Some(e) = record.excess(method, "cranelift", &first) {
            println!(
                "under cranelift, {:<22} {} beyond native, and {} per byte in {first}",
                method.id(),
                crate::payload::fit::with_interval(e.fixed_ns, e.fixed_ns_95) + " ns",
                crate::payload::fit::with_interval(e.per_byte_ns * 1e3, e.per_byte_ns_95 * 1e3) + " ps"
            );
        }
    }
    Ok(())
}

/// How the sweep times each row at each size, measured (`FULL`) and with `--quick`.
const FULL: Timing = Timing { batch: Duration::from_millis(10), rounds: 5 };
const QUICK: Timing = Timing { batch: Duration::from_millis(3), rounds: 3 };

/// A row of the sweep: a native floor or a method.
#[derive(Debug, Clone, Copy)]
enum Row {
    Native(Native),
    Method(Method),
}

impl Row {
    fn id(self) -> &'static str {
        match self {
            Row::Native(n) => n.id(),
            Row::Method(m) => m.id(),
        }
    }
}

/// The sweep of a plugin's request (`--request`): one input's size varied, the line fitted (`fit.rs`).
fn request_sweep(args: &PayloadOptions, records: &Records, started: Instant) -> Result<(), String> {
    let subject = Subject::with_request(&args.subject.module, &args.subject.request, &[])?;
    guard::configure(args.subject.limits.limits(), subject.imports());
    if subject.core.is_none() && subject.component.is_some() {
        println!(
            "payload: nothing measured: the request invokes a component's export, whose arguments are WAVE values, \
             not inputs to vary"
        );
        return Ok(());
    }
    let (Some(request), Some(wasm)) = (subject.request.clone(), subject.core.clone()) else {
        return Err("--request needs a core module".to_string());
    };
    if request.command.is_some() {
        println!(
            "payload: nothing measured: the request runs a WASI command, which takes no input to vary (stdin is not swept)"
        );
        return Ok(());
    }
    probe::prepare(&subject)?;
    let varied =
        match &args.vary {
            Some(name) => request.inputs.iter().position(|i| &i.name == name).ok_or_else(|| {
                format!("--vary {}: the request has no such input", boundary_host::escape_controls(name))
            })?,
            None if request.inputs.is_empty() => return Err("--request: the request has no input to vary".to_string()),
            None => 0,
        };
    let (measuring, quick) = (args.bench, args.quick);
    let timing = match (measuring, quick) {
        (false, _) => (Duration::ZERO, 1),
        (true, true) => (Duration::from_millis(8), 3),
        (true, false) => (Duration::from_millis(25), 7),
    };
    let profiles = subject.compiled_under(args.profiles.or_all())?;
    let regimes = fit::regimes();
    let (points, fits) = fit::sweep(&request, &wasm, varied, &profiles, timing, &fit::sizes(measuring), &regimes)?;
    for f in fits.iter().filter(|f| f.regime == "all") {
        println!(
            "{:<16} fixed {} ± {}, per byte {} ns ({} sizes)",
            f.profile,
            crate::record::format_ns(f.fixed_ns),
            crate::record::format_ns(f.fixed_ns_95),
            fit::with_interval(f.per_byte_ns, f.per_byte_ns_95),
            f.points
        );
    }
    if !measuring {
        return Ok(());
    }
    let workspace = crate::record::workspace_root();
    let mode = if quick { "--quick: batches of 8 ms, the median of 3" } else { "batches of 25 ms, the median of 7" };
    let mut environment = Environment::capture(&workspace, records.command_line("payload"), mode.to_string());
    environment.module = Some(subject.describe());
    environment.elapsed_s = Some(started.elapsed().as_secs_f64());
    let record = fit::SweepRecord {
        environment,
        request: request.call_text(),
        varied_input: request.inputs[varied].name.clone(),
        regimes,
        points,
        fits,
    };
    let (dir, _) = records.sweep_folder("payload", Some(subject.results_name()), false, &record.environment);
    record.write(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    println!("payload record written to {}", dir.display());
    Ok(())
}
