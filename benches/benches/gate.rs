//! `cargo bench --bench gate`: the deterministic performance gate. Counts the instructions of each scenario in
//! `benches/src/gate.rs` under callgrind, compares them with `results/gate-baseline.json`, prints a table, and
//! fails when any scenario grows by more than the threshold.
//!
//! ```text
//! cargo bench --bench gate                           # the gate (exit status 1 on a regression)
//! cargo bench --bench gate -- --threshold 5          # another threshold, in percent
//! cargo bench --bench gate -- --save-baseline        # refresh results/gate-baseline.json
//! cargo bench --bench gate -- --repeat 5             # count everything five times and report the spread
//! cargo bench --bench gate -- --filter calls/        # only scenarios (or profiles) containing a string
//! ```
//!
//! Each scenario runs in its own process under `valgrind --tool=callgrind`, which collects only inside
//! `boundary_gate_measured`: engine creation, compilation, instantiation and a warm-up are not counted.

use boundary_benches::component_ops::{self, BatchCopy, ComponentBench};
use boundary_benches::gate::{self, Baseline, Count, Kind, MEASURED_SYMBOL, PROFILES, SCENARIOS, Scenario, Verdict};
use boundary_benches::ops::{self, CoreBench, RawBench};
use boundary_host::{EngineProfile, HostFuncStyle, Point};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

/// Iterations of each scenario's body run before collection starts, so one-time work is not counted.
const WARM_UP: u64 = 10;

/// The only function callgrind collects in. Everything it calls is counted; nothing else is.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn boundary_gate_measured(body: &mut dyn FnMut(u64), iterations: u64) {
    body(iterations);
}

/// A body that runs `op` `n` times, keeping each result alive so nothing is optimised away.
fn repeat<R>(mut op: impl FnMut() -> R) -> impl FnMut(u64) {
    move |n| {
        for _ in 0..n {
            black_box(op());
        }
    }
}

/// Runs one scenario (the child process, under valgrind).
fn child(scenario_id: &str, profile_name: &str) -> Result<(), String> {
    let profile = EngineProfile::from_name(profile_name).map_err(|e| e.to_string())?;
    let scenario = SCENARIOS.iter().find(|s| s.id == scenario_id).ok_or(format!("unknown scenario `{scenario_id}`"))?;
    let engine =
        profile.engine_from(&profile.counting_config().map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    let raw = || RawBench::with_engine(profile, &engine);
    let core = || CoreBench::with_engine(profile, &engine, HostFuncStyle::Typed);
    let component = || ComponentBench::with_engine(profile, &engine);
    let mut body: Box<dyn FnMut(u64)> = match scenario.kind {
        Kind::RawTypedCall => {
            let mut r = raw();
            Box::new(repeat(move || ops::raw_just_add(&mut r)))
        }
        Kind::RawUntypedCall => {
            let mut r = raw();
            Box::new(repeat(move || ops::raw_just_add_untyped(&mut r)))
        }
        Kind::RawUncheckedCall => {
            let mut r = raw();
            Box::new(repeat(move || ops::raw_just_add_unchecked(&mut r)))
        }
        Kind::CoreTypedCall => {
            let mut c = core();
            Box::new(repeat(move || ops::core_just_add(&mut c)))
        }
        Kind::RawNop => {
            let mut r = raw();
            Box::new(repeat(move || ops::raw_nop(&mut r)))
        }
        Kind::CoreNop => {
            let mut c = core();
            Box::new(repeat(move || ops::core_nop(&mut c)))
        }
        Kind::RawRoundTrip => {
            let mut r = raw();
            Box::new(repeat(move || ops::raw_trigger(&mut r)))
        }
        Kind::CoreRoundTrip => {
            let mut c = core();
            Box::new(repeat(move || ops::core_trigger(&mut c)))
        }
        Kind::CorePerCallback => {
            let mut c = core();
            Box::new(move |n: u64| c.host.call_host_n(black_box(n as u32)).unwrap())
        }
        Kind::RawPointAddMemcpy => {
            let mut r = raw();
            Box::new(repeat(move || ops::raw_point_add_memcpy(&mut r)))
        }
        Kind::RawPointAddBytemuck => {
            let mut r = raw();
            Box::new(repeat(move || ops::raw_point_add_bytemuck(&mut r)))
        }
        Kind::CorePointAdd => {
            let mut c = core();
            Box::new(repeat(move || ops::core_point_add(&mut c)))
        }
        Kind::CoreBatch4096 => {
            let mut c = core();
            const N: usize = 4096;
            let base = c.host.reserve(3 * N * size_of::<Point>()).unwrap();
            for i in 0..N {
                c.host.write(base + 8 * i, &Point::new(i as i32, 1)).unwrap();
                c.host.write(base + 8 * (N + i), &Point::new(2, -(i as i32))).unwrap();
            }
            let p = |o: usize| u32::try_from(o).unwrap();
            let (a, b, out) = (p(base), p(base + 8 * N), p(base + 16 * N));
            Box::new(repeat(move || c.host.point_add_batch(out, a, b, N as u32).unwrap()))
        }
        Kind::RawPointWriteRead => {
            let mut r = raw();
            Box::new(repeat(move || ops::raw_point_write_read(&mut r)))
        }
        Kind::CorePointWriteRead => {
            let mut c = core();
            Box::new(repeat(move || ops::core_point_write_read(&mut c)))
        }
        Kind::CoreAsyncCall => {
            let mut c = core();
            Box::new(repeat(move || ops::core_just_add_async(&mut c)))
        }
        Kind::CoreAsyncRoundTrip => {
            let mut c = CoreBench::with_engine(profile, &engine, HostFuncStyle::Async);
            Box::new(repeat(move || ops::core_trigger_async(&mut c)))
        }
        Kind::CoreHookCall => {
            let mut c = CoreBench::with_hook(profile, &engine);
            Box::new(repeat(move || ops::core_just_add(&mut c)))
        }
        Kind::CoreUncheckedPerCallback => {
            let mut c = CoreBench::with_engine(profile, &engine, HostFuncStyle::Unchecked);
            Box::new(move |n: u64| c.host.call_host_n(black_box(n as u32)).unwrap())
        }
        Kind::RawInstantiatePre => {
            let r = raw();
            Box::new(repeat(move || ops::raw_instantiate_pre(&r.guest)))
        }
        Kind::CoreInstantiate => {
            let guest = core().host.guest().clone();
            Box::new(repeat(move || ops::core_instantiate(&guest)))
        }
        Kind::RawTrap => {
            let mut r = raw();
            Box::new(repeat(move || ops::raw_point_add_trap(&mut r)))
        }
        Kind::RawTrapNoBacktrace => {
            let mut config = profile.counting_config().map_err(|e| e.to_string())?;
            config.wasm_backtrace_max_frames(None);
            let engine = profile.engine_from(&config).map_err(|e| e.to_string())?;
            let mut r = RawBench::with_engine(profile, &engine);
            Box::new(repeat(move || ops::raw_point_add_trap(&mut r)))
        }
        Kind::CoreTrapReset => {
            let mut c = core();
            Box::new(repeat(move || ops::core_point_add_trap_reset(&mut c)))
        }
        Kind::ComponentTypedCall => {
            let mut c = component();
            Box::new(repeat(move || component_ops::component_just_add(&mut c)))
        }
        Kind::ComponentBindingsCall => {
            let mut c = component();
            Box::new(repeat(move || component_ops::component_just_add_bindings(&mut c)))
        }
        Kind::ComponentUntypedCall => {
            let mut c = component();
            Box::new(repeat(move || component_ops::component_just_add_untyped(&mut c)))
        }
        Kind::ComponentNop => {
            let mut c = component();
            Box::new(repeat(move || component_ops::component_nop(&mut c)))
        }
        Kind::ComponentRoundTrip => {
            let mut c = component();
            Box::new(repeat(move || component_ops::component_trigger(&mut c)))
        }
        Kind::ComponentPerCallback => {
            let mut c = component();
            Box::new(move |n: u64| c.host.call_host_n(black_box(n as u32)).unwrap())
        }
        Kind::ComponentPointAdd => {
            let mut c = component();
            Box::new(repeat(move || component_ops::component_point_add(&mut c)))
        }
        Kind::ComponentList64 => {
            let mut c = component();
            Box::new(repeat(move || component_ops::component_batch(&mut c, 64)))
        }
        Kind::CoreBatchCopy64 => {
            let mut c = core();
            let mut copy = BatchCopy::new(&mut c);
            Box::new(repeat(move || component_ops::core_batch_copy(&mut c, &mut copy, 64)))
        }
    };
    body(WARM_UP);
    boundary_gate_measured(&mut *body, scenario.iterations);
    Ok(())
}

struct Options {
    threshold: f64,
    save: bool,
    repeat: usize,
    filter: Option<String>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options { threshold: gate::DEFAULT_THRESHOLD_PERCENT, save: false, repeat: 1, filter: None };
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let mut value = |name: &str| iter.next().cloned().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--bench" => {}
            "--save-baseline" => options.save = true,
            "--threshold" => {
                options.threshold = value("--threshold")?.parse().map_err(|_| "--threshold takes a number (percent)")?
            }
            "--repeat" => {
                options.repeat = value("--repeat")?.parse().map_err(|_| "--repeat takes a whole number")?;
                if options.repeat == 0 {
                    return Err("--repeat takes a number of at least 1".into());
                }
            }
            "--filter" => options.filter = Some(value("--filter")?),
            other => return Err(format!("unexpected argument `{other}` (see the top of benches/gate.rs)")),
        }
    }
    Ok(options)
}

fn valgrind_version() -> Result<String, String> {
    let out = Command::new("valgrind").arg("--version").output().map_err(|_| {
        "valgrind is not installed; the gate needs it (on Debian: `apt-get install valgrind`)".to_string()
    })?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Counts one scenario under one profile: the smallest count of [`Kind::processes`] runs of [`count_once`].
fn count(exe: &Path, out_dir: &Path, scenario: &Scenario, profile: EngineProfile) -> Result<Count, String> {
    let mut counts = Vec::new();
    for _ in 0..scenario.kind.processes() {
        counts.push(count_once(exe, out_dir, scenario, profile)?);
    }
    counts.into_iter().min_by_key(|c| c.total_instructions).ok_or_else(|| format!("{} counted no run", scenario.id))
}

/// Counts one scenario under one profile: runs this executable under callgrind in child mode.
fn count_once(exe: &Path, out_dir: &Path, scenario: &Scenario, profile: EngineProfile) -> Result<Count, String> {
    let out_file = out_dir.join(format!("{}.{}.callgrind", scenario.id.replace('/', "."), profile.name()));
    let output = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg("--collect-atstart=no")
        .arg(format!("--toggle-collect={MEASURED_SYMBOL}"))
        .arg(format!("--callgrind-out-file={}", out_file.display()))
        // A wasm trap is a signal; with this valgrind hands it to wasmtime's handler with exact registers.
        .arg("--vex-iropt-register-updates=allregs-at-mem-access")
        .arg("--quiet")
        .arg(exe)
        .args(["--gate-child", scenario.id, profile.name()])
        .output()
        .map_err(|e| format!("could not start valgrind: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{} under {}: the counted run failed: {}",
            scenario.id,
            profile.name(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let text = std::fs::read_to_string(&out_file).map_err(|e| format!("{}: {e}", out_file.display()))?;
    let total = gate::callgrind_total(&text).ok_or(format!("{}: no instruction total", out_file.display()))?;
    if total == 0 {
        return Err(format!("{} under {}: nothing was counted in {MEASURED_SYMBOL}", scenario.id, profile.name()));
    }
    Ok(Count::new(scenario, profile, total))
}

fn count_all(options: &Options, out_dir: &Path) -> Result<Vec<Count>, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
    let selected: Vec<(&Scenario, EngineProfile)> = SCENARIOS
        .iter()
        .flat_map(|s| PROFILES.iter().map(move |p| (s, *p)))
        .filter(|(s, p)| {
            options.filter.as_ref().is_none_or(|f| s.id.contains(f.as_str()) || p.name().contains(f.as_str()))
        })
        .collect();
    if selected.is_empty() {
        return Err("the filter selects no scenario".into());
    }
    let mut counts = Vec::new();
    for (i, (scenario, profile)) in selected.iter().enumerate() {
        let started = Instant::now();
        let c = count(&exe, out_dir, scenario, *profile)?;
        println!(
            "[{:>2}/{}] {:<32} {:<15} {:>12.1} instructions per op ({:.1} s)",
            i + 1,
            selected.len(),
            scenario.id,
            profile.name(),
            c.instructions_per_op,
            started.elapsed().as_secs_f64()
        );
        counts.push(c);
    }
    Ok(counts)
}

fn workspace() -> PathBuf {
    boundary_benches::workspace_root()
}

fn baseline_path() -> PathBuf {
    workspace().join("results").join("gate-baseline.json")
}

fn run(options: &Options) -> Result<bool, String> {
    let valgrind = valgrind_version()?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let target = exe.ancestors().nth(3).map(PathBuf::from).unwrap_or_else(|| PathBuf::from("target"));
    let out_dir = target.join("boundary-gate");
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;

    let mut runs = Vec::new();
    for round in 0..options.repeat {
        if options.repeat > 1 {
            println!("--- run {} of {}", round + 1, options.repeat);
        }
        runs.push(count_all(options, &out_dir)?);
    }
    let counts = runs.last().cloned().unwrap_or_default();
    if options.repeat > 1 {
        println!("\n--- spread over {} runs (largest minus smallest, relative to the smallest)", options.repeat);
        let mut worst = 0.0f64;
        for (i, c) in counts.iter().enumerate() {
            let values: Vec<u64> = runs.iter().map(|r| r[i].total_instructions).collect();
            let (min, max) = (values.iter().min().copied().unwrap_or(0), values.iter().max().copied().unwrap_or(0));
            let spread = if min > 0 { (max - min) as f64 / min as f64 * 100.0 } else { 0.0 };
            worst = worst.max(spread);
            println!("{:<32} {:<15} {:>14} .. {:>14}  {spread:.4}%", c.scenario, c.profile, min, max);
        }
        println!("largest spread: {worst:.4}%");
    }

    if options.save {
        if options.filter.is_some() {
            return Err("--save-baseline needs every scenario: drop --filter".into());
        }
        let env = boundary_benches::report::Environment::capture(&workspace(), String::new(), String::new());
        let baseline = Baseline {
            date: env.date,
            command: "cargo bench --bench gate -- --save-baseline".to_string(),
            git_revision: env.git_revision,
            cpu: env.cpu,
            rustc: boundary_host::build_info::RUSTC_VERSION.to_string(),
            wasmtime: boundary_host::build_info::WASMTIME_VERSION.to_string(),
            valgrind,
            counts,
        };
        let json = serde_json::to_string_pretty(&baseline).map_err(|e| e.to_string())? + "\n";
        std::fs::write(baseline_path(), json).map_err(|e| format!("{}: {e}", baseline_path().display()))?;
        println!("\nbaseline written to {}", baseline_path().display());
        return Ok(true);
    }

    let text = std::fs::read_to_string(baseline_path()).map_err(|e| {
        format!(
            "cannot read the baseline {}: {e}; make one with `cargo bench --bench gate -- --save-baseline`",
            baseline_path().display()
        )
    })?;
    let baseline: Baseline = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", baseline_path().display()))?;
    if baseline.valgrind != valgrind || baseline.wasmtime != boundary_host::build_info::WASMTIME_VERSION {
        println!(
            "note: the baseline was counted with {} and wasmtime {}; this run uses {} and wasmtime {}",
            baseline.valgrind,
            baseline.wasmtime,
            valgrind,
            boundary_host::build_info::WASMTIME_VERSION
        );
    }
    let comparisons = gate::compare(&baseline, &counts, options.threshold);
    println!("\n{}", gate::table(&comparisons, options.threshold));
    let regressed: Vec<_> = comparisons.iter().filter(|c| c.verdict == Verdict::Regressed).collect();
    let missing = comparisons.iter().filter(|c| c.verdict == Verdict::New).count();
    let improved = comparisons.iter().filter(|c| c.verdict == Verdict::Improved).count();
    if improved > 0 {
        println!(
            "{improved} scenario(s) improved beyond {}%: refresh the baseline with `cargo bench --bench gate -- --save-baseline`",
            options.threshold
        );
    }
    if missing > 0 {
        println!(
            "{missing} scenario(s) have no baseline: refresh it with `cargo bench --bench gate -- --save-baseline`"
        );
    }
    for c in &regressed {
        println!(
            "REGRESSION: {} under {}: {:.1} -> {:.1} instructions per op ({:+.2}%)",
            c.scenario,
            c.profile,
            c.baseline.unwrap_or_default(),
            c.current,
            c.change_percent.unwrap_or_default()
        );
    }
    let passed = regressed.is_empty() && missing == 0;
    println!("gate {}", if passed { "passed" } else { "FAILED" });
    Ok(passed)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--gate-child") {
        return match child(args.get(1).map_or("", String::as_str), args.get(2).map_or("", String::as_str)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        };
    }
    let result = parse(&args).and_then(|options| run(&options));
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
