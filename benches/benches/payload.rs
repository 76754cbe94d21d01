//! `cargo bench --bench payload`: bytes across the boundary, 8 bytes to 16 MiB, by direction and method
//! (`benches/src/payload.rs`), against native Rust doing the same work and a plain `memcpy`. A complete run writes
//! `results/payload/<date>/` and README's payload block; `--quick` writes `target/boundary-results/payload/`;
//! `--wasm PATH` (a module with `checksum_bytes` and `fill_bytes`; with `--abi component`, a component of the
//! guest's world) writes `target/boundary-results/<module>-<hash>/payload/`.
//!
//! ```text
//! cargo bench --bench payload                        # the sweep (1 min 15 s in results/payload/2026-12-01-2)
//! cargo bench --bench payload -- --quick             # shorter batches
//! cargo bench --bench payload -- --profile cranelift # one profile
//! cargo bench --bench payload -- component/          # the methods whose ids contain a filter
//! cargo bench --bench payload -- --reindex           # rewrite README's payload block from results/payload/
//! ```

use boundary_benches::environment::Environment;
use boundary_benches::payload::{
    self, Buffers, ComponentMover, CoreMover, LARGE, LARGE_PROFILES, Method, Native, SIZES,
};
use boundary_benches::payload_report::{self, Cell, Record};
use boundary_benches::subject::{self, ModuleArgs, Needs};
use std::process::ExitCode;
use std::time::{Duration, Instant};

fn main() -> ExitCode {
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
    let args: Vec<String> = std::env::args().skip(1).collect();
    let workspace = boundary_benches::workspace_root();
    let payload_dir = workspace.join("results").join("payload");
    if args.iter().any(|a| a == "--reindex") {
        return payload_report::write_readme_block(&workspace.join("README.md"), &payload_dir)
            .map_err(|e| format!("rewriting README's payload block: {e}"));
    }
    let (own, rest) = subject::split_module_args(args.clone())?;
    let module = ModuleArgs::parse(&own)?;
    // `cargo bench -- ARGS` passes ARGS to the matrix and the serving path too: what only they take, or a module
    // without the payload exports, makes this bench say so and measure nothing, rather than fail the whole run.
    if !module.invokes.is_empty() {
        println!("payload: nothing measured: --invoke is the matrix's");
        return Ok(());
    }
    let (mut measuring, mut quick) = (false, false);
    // Positional arguments filter the methods by their ids, as criterion's filters do the matrix's rows (so that
    // `cargo bench -- FILTER`, which passes FILTER to every bench, works here too).
    let mut filters: Vec<&str> = Vec::new();
    for arg in &rest {
        match arg.as_str() {
            "--bench" => measuring = true,
            "--quick" => quick = true,
            other if other.starts_with('-') => return Err(format!("unexpected argument `{other}`")),
            other => filters.push(other),
        }
    }
    let methods: Vec<Method> =
        Method::ALL.into_iter().filter(|m| filters.is_empty() || filters.iter().any(|f| m.id().contains(f))).collect();
    if methods.is_empty() {
        println!("payload: no method matches {}; nothing measured", filters.join(" "));
        return Ok(());
    }
    let subject = module.subject()?;
    let serves = subject::prepare(&subject)?.serves;
    let core = subject.core.as_ref().filter(|_| serves.check(Needs::Payload).is_ok());
    let component = subject.component.as_ref().filter(|_| serves.check(Needs::World).is_ok());
    if core.is_none() && component.is_none() {
        let why = serves.check(Needs::Payload).err().or(serves.check(Needs::World).err()).unwrap_or_default();
        println!("payload: nothing measured: the module serves no payload method: {why}");
        return Ok(());
    }
    // Under `cargo test --benches`: every method once at the smallest size and a middling one, nothing recorded.
    let (sizes, batch, rounds): (Vec<usize>, Duration, usize) = match (measuring, quick) {
        (false, _) => (vec![SIZES[0], SIZES[5]], Duration::ZERO, 1),
        (true, true) => (SIZES.to_vec(), Duration::from_millis(8), 3),
        (true, false) => (SIZES.to_vec(), Duration::from_millis(25), 7),
    };
    let max = *sizes.iter().max().unwrap_or(&SIZES[0]);
    let mut buffers = Buffers::new(max);
    let mut cells = Vec::new();
    for &n in &sizes {
        for row in Native::ALL {
            let ns = payload::time(|| payload::native(row, n, &mut buffers), batch, rounds).as_nanos() as f64;
            cells.push(Cell { row: row.id().to_string(), profile: None, bytes: n, ns });
        }
    }
    let profiles = module.profiles_or_all();
    for &profile in &profiles {
        let engine = profile.engine().map_err(|e| e.to_string())?;
        let mut core_mover = core.map(|wasm| CoreMover::new(profile, &engine, wasm, max));
        let mut component_mover = component.map(|wasm| ComponentMover::new(profile, &engine, wasm));
        for &n in sizes.iter().filter(|&&n| n <= LARGE || LARGE_PROFILES.contains(&profile)) {
            for &method in &methods {
                let ns = match (method.component(), core_mover.as_mut(), component_mover.as_mut()) {
                    (false, Some(m), _) => payload::time(|| m.run(method, n, &mut buffers), batch, rounds),
                    (true, _, Some(m)) => payload::time(|| m.run(method, n, &mut buffers), batch, rounds),
                    _ => continue,
                }
                .as_nanos() as f64;
                cells.push(Cell {
                    row: method.id().to_string(),
                    profile: Some(profile.name().to_string()),
                    bytes: n,
                    ns,
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
    let mut command = "cargo bench --bench payload".to_string();
    let extra: Vec<&String> = args.iter().filter(|a| *a != "--bench").collect();
    if !extra.is_empty() {
        command = format!("{command} -- {}", extra.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" "));
    }
    let mode = if quick {
        "--quick: batches of 8 ms, the median of 3".to_string()
    } else {
        "batches of 25 ms, the median of 7".to_string()
    };
    let mut environment = Environment::capture(&workspace, command, mode);
    if !subject.is_built_in() {
        environment.module = Some(subject.describe());
    }
    environment.elapsed_s = Some(started.elapsed().as_secs_f64());
    let record = Record { environment, cells };
    let complete = !quick && filters.is_empty() && profiles.len() == boundary_host::EngineProfile::ALL.len();
    let target = boundary_benches::target_dir().join("boundary-results");
    let dir = if !subject.is_built_in() {
        target.join(subject.results_name()).join("payload")
    } else if complete {
        payload_report::run_dir(&payload_dir, &record.environment)
    } else {
        target.join("payload")
    };
    record.write(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if subject.is_built_in() && complete {
        payload_report::write_readme_block(&workspace.join("README.md"), &payload_dir)
            .map_err(|e| format!("README.md: {e}"))?;
    }
    println!("payload record written to {}", dir.display());
    for &method in &methods {
        let even = record.break_even(method, "cranelift").map_or("none".to_string(), payload_report::size_name);
        println!("break-even under cranelift: {:<22} {even}", method.id());
    }
    Ok(())
}
