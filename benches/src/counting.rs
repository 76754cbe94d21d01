//! The instruction-count gate's runner (`cargo bench --bench gate`, and the tests that gate a module of their own):
//! counting each scenario of `gate.rs` in a child process under callgrind, comparing with a baseline, saving one.
//! The child is whatever executable [`Launcher`] names: the gate's bench binary, or a test binary running
//! [`child`] from a test, so that tests count exactly as the gate does.

use crate::component_ops::{self, BatchCopy, ComponentBench};
use crate::gate::{self, Baseline, Count, Kind, MEASURED_SYMBOL, Scenario, Verdict};
use crate::invoke::{ComponentInvoke, CoreInvoke};
use crate::ops::{self, CoreBench, RawBench};
use crate::payload::{Buffers, ComponentMover, CoreMover, Method};
use crate::raw::{self, Linked};
use crate::serving::{self, Server, Workload};
use crate::subject::{self, ModuleArgs, Needs, Prepared, Subject};
use boundary_host::{EngineProfile, HostFuncStyle, Point};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
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

/// The environment variable that tells a child process which scenario to run: a JSON array of the scenario's id,
/// the profile's name and the module options.
pub const CHILD_VAR: &str = "BOUNDARY_GATE_CHILD";

/// What counts a scenario: an executable that runs [`child_from_env`] when started with `args` (and [`CHILD_VAR`]
/// set by the runner).
#[derive(Debug, Clone)]
pub struct Launcher {
    pub program: PathBuf,
    pub args: Vec<String>,
}

/// Runs the scenario [`CHILD_VAR`] names (in the child process, under valgrind); `Ok(false)` if it names none.
pub fn child_from_env() -> Result<bool, String> {
    let Ok(json) = std::env::var(CHILD_VAR) else { return Ok(false) };
    let args: Vec<String> = serde_json::from_str(&json).map_err(|e| format!("{CHILD_VAR}: {e}"))?;
    match args.as_slice() {
        [scenario, profile, subject @ ..] => child(scenario, profile, subject).map(|()| true),
        _ => Err(format!("{CHILD_VAR} names no scenario")),
    }
}

/// Runs one scenario (the child process, under valgrind).
fn child(scenario_id: &str, profile_name: &str, subject_args: &[String]) -> Result<(), String> {
    let profile = EngineProfile::from_name(profile_name).map_err(|e| e.to_string())?;
    let (subject, _) = parse_subject(subject_args)?;
    let scenario = gate::find(scenario_id, &subject).ok_or(format!("unknown scenario `{scenario_id}`"))?;
    let engine =
        profile.engine_from(&profile.counting_config().map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    let core_wasm = || subject.core.clone().ok_or("this scenario needs a core module");
    let component_wasm = || subject.component.clone().ok_or("this scenario needs a component");
    let needs_component = matches!(scenario.kind.needs(), Needs::World | Needs::AnyComponent);
    // The module the scenario's benches are made from: the component for a component scenario, else the core module.
    let wasm = if needs_component { component_wasm()? } else { core_wasm()? };
    let raw = || RawBench::for_wasm(profile, &engine, &wasm);
    let core = || CoreBench::for_wasm(profile, &engine, &wasm, HostFuncStyle::Typed);
    let component = || ComponentBench::for_wasm(profile, &engine, &wasm);
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
            let mut c = CoreBench::for_wasm(profile, &engine, &wasm, HostFuncStyle::Async);
            Box::new(repeat(move || ops::core_trigger_async(&mut c)))
        }
        Kind::CoreHookCall => {
            let mut c = CoreBench::with_hook(profile, &engine, &wasm);
            Box::new(repeat(move || ops::core_just_add(&mut c)))
        }
        Kind::CoreUncheckedPerCallback => {
            let mut c = CoreBench::for_wasm(profile, &engine, &wasm, HostFuncStyle::Unchecked);
            Box::new(move |n: u64| c.host.call_host_n(black_box(n as u32)).unwrap())
        }
        Kind::RawInstantiatePre => {
            let linked = Linked::load(profile, &engine, &wasm)?;
            Box::new(repeat(move || ops::raw_instantiate_pre(&linked)))
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
            let mut r = RawBench::for_wasm(profile, &engine, &wasm);
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
        Kind::PayloadDataMutSmall | Kind::PayloadDataMutLarge => {
            let n = if scenario.kind == Kind::PayloadDataMutSmall { 64 } else { 1 << 20 };
            let mut buffers = Buffers::new(n);
            let mut mover = CoreMover::new(profile, &engine, &wasm, n);
            Box::new(repeat(move || mover.run(Method::InDataMut, n, &mut buffers)))
        }
        Kind::PayloadListSmall | Kind::PayloadListLarge => {
            let n = if scenario.kind == Kind::PayloadListSmall { 64 } else { 1 << 20 };
            let mut buffers = Buffers::new(n);
            let mut mover = ComponentMover::new(profile, &engine, &wasm);
            Box::new(repeat(move || mover.run(Method::ListIn, n, &mut buffers)))
        }
        Kind::RequestOnDemand | Kind::RequestPooled => {
            let id = if scenario.kind == Kind::RequestOnDemand { "on-demand" } else { "pooled" };
            let allocation = serving::allocation(id).ok_or("no such serving configuration")?;
            let server = Server::new(&serving::counting_engine(allocation)?, &wasm)?;
            let workload = if server.can_dirty(16) { Workload::Dirty(16) } else { Workload::Call };
            Box::new(repeat(move || server.request(workload)))
        }
        Kind::InvokeTyped(i) | Kind::InvokeUntyped(i) | Kind::InvokeUnchecked(i) => {
            let spec = subject.invokes.get(i).ok_or("no such --invoke export")?;
            let linked = Linked::load(profile, &engine, &core_wasm()?)?;
            let mut store = raw::new_store(&engine, profile);
            let instance = linked.pre.instantiate(&mut store).map_err(|e| format!("{e:#}"))?;
            let mut call = CoreInvoke::prepare(&mut store, &instance, spec)?;
            match scenario.kind {
                Kind::InvokeTyped(_) => Box::new(repeat(move || call.call_typed(&mut store).unwrap())),
                Kind::InvokeUntyped(_) => Box::new(repeat(move || call.call_untyped(&mut store).unwrap())),
                _ => Box::new(repeat(move || call.call_unchecked(&mut store).unwrap())),
            }
        }
        Kind::InvokeComponent(i) => {
            let spec = subject.invokes.get(i).ok_or("no such --invoke export")?;
            let linked = component_ops::link(profile, &engine, &component_wasm()?)?;
            let (mut store, instance) = linked.instantiate().map_err(|e| e.to_string())?;
            let mut call = ComponentInvoke::prepare(&mut store, &instance, spec)?;
            Box::new(repeat(move || call.call(&mut store).unwrap()))
        }
    };
    body(WARM_UP);
    boundary_gate_measured(&mut *body, scenario.iterations);
    Ok(())
}

/// The gate's options, as its command line gives them.
#[derive(Debug, Clone)]
pub struct Options {
    pub threshold: f64,
    pub save: bool,
    pub repeat: usize,
    pub filter: Option<String>,
    pub jobs: usize,
    /// The module's own options (`--wasm`, `--abi`, `--invoke`), passed on to every counted child.
    pub subject_args: Vec<String>,
    pub baseline: Option<PathBuf>,
    pub bmf: Option<PathBuf>,
}

/// Reads the gate's command line (without the program name).
pub fn parse(args: &[String]) -> Result<Options, String> {
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut options = Options {
        threshold: gate::DEFAULT_THRESHOLD_PERCENT,
        save: false,
        repeat: 1,
        filter: None,
        jobs,
        subject_args: Vec::new(),
        baseline: None,
        bmf: None,
    };
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let mut value = |name: &str| iter.next().cloned().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--bench" => {}
            "--save-baseline" => options.save = true,
            "--threshold" => {
                options.threshold = value("--threshold")?
                    .parse()
                    .ok()
                    .filter(|t: &f64| t.is_finite() && *t >= 0.0)
                    .ok_or("--threshold takes a number of percent, 0 or more")?
            }
            "--repeat" => {
                options.repeat = value("--repeat")?.parse().map_err(|_| "--repeat takes a whole number")?;
                if options.repeat == 0 {
                    return Err("--repeat takes a number of at least 1".into());
                }
            }
            "--jobs" => {
                options.jobs = value("--jobs")?
                    .parse()
                    .ok()
                    .filter(|j| *j > 0)
                    .ok_or("--jobs takes a whole number of at least 1")?
            }
            "--filter" => options.filter = Some(value("--filter")?),
            "--baseline" => options.baseline = Some(subject::user_path(&value("--baseline")?)),
            "--bmf" => options.bmf = Some(subject::user_path(&value("--bmf")?)),
            "--wasm" => {
                // Absolute, so that a counted child finds the module whatever its working directory (cargo bench
                // starts this process in the package's folder, not where the user typed the command).
                let path = subject::user_path(&value("--wasm")?);
                options.subject_args.extend(["--wasm".to_string(), path.to_string_lossy().into_owned()]);
            }
            flag @ ("--abi" | "--invoke" | "--profile") => {
                let v = value(flag)?;
                options.subject_args.extend([flag.to_string(), v]);
            }
            other => return Err(format!("unexpected argument `{other}` (see the top of benches/benches/gate.rs)")),
        }
    }
    if options.subject_args.iter().any(|a| a == "--wasm") && options.baseline.is_none() {
        return Err("--wasm needs --baseline FILE: the file that keeps your module's counts (made by \
                    --save-baseline)"
            .into());
    }
    Ok(options)
}

/// The subject the module options name (the project's guest without `--wasm`), and whether they named one.
fn parse_subject(args: &[String]) -> Result<(Subject, bool), String> {
    let parsed = ModuleArgs::parse(args)?;
    if !parsed.profiles.is_empty() {
        return Err("the gate counts under its own four profiles; --profile is for the matrix".into());
    }
    Ok((parsed.subject()?, parsed.wasm.is_some()))
}

fn valgrind_version() -> Result<String, String> {
    let out = Command::new("valgrind").arg("--version").output().map_err(|_| {
        "valgrind is not installed; the gate needs it (on Debian: `apt-get install valgrind`)".to_string()
    })?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Counts one scenario under one profile: the smallest count of [`Kind::processes`] runs of [`count_once`].
fn count(
    launcher: &Launcher,
    out_dir: &Path,
    scenario: &Scenario,
    profile: EngineProfile,
    options: &Options,
) -> Result<Count, String> {
    let mut counts = Vec::new();
    for _ in 0..scenario.kind.processes() {
        counts.push(count_once(launcher, out_dir, scenario, profile, options)?);
    }
    counts.into_iter().min_by_key(|c| c.total_instructions).ok_or_else(|| format!("{} counted no run", scenario.id))
}

/// Counts one scenario under one profile: runs this executable under callgrind in child mode.
fn count_once(
    launcher: &Launcher,
    out_dir: &Path,
    scenario: &Scenario,
    profile: EngineProfile,
    options: &Options,
) -> Result<Count, String> {
    let out_file = out_dir.join(format!("{}.{}.callgrind", scenario.id.replace('/', "."), profile.name()));
    let output = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg("--collect-atstart=no")
        .arg(format!("--toggle-collect={MEASURED_SYMBOL}"))
        .arg(format!("--callgrind-out-file={}", out_file.display()))
        // A wasm trap is a signal; with this valgrind hands it to wasmtime's handler with exact registers.
        .arg("--vex-iropt-register-updates=allregs-at-mem-access")
        .arg("--quiet")
        .arg(&launcher.program)
        .args(&launcher.args)
        .env(CHILD_VAR, child_json(scenario, profile, options)?)
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

/// What [`CHILD_VAR`] says to a child counting `scenario` under `profile`.
fn child_json(scenario: &Scenario, profile: EngineProfile, options: &Options) -> Result<String, String> {
    let mut args = vec![scenario.id.to_string(), profile.name().to_string()];
    args.extend(options.subject_args.iter().cloned());
    serde_json::to_string(&args).map_err(|e| e.to_string())
}

/// Counts every selected scenario, [`Options::jobs`] at a time, and returns the counts in the scenarios' order.
fn count_all(
    launcher: &Launcher,
    options: &Options,
    scenarios: &[Scenario],
    out_dir: &Path,
) -> Result<Vec<Count>, String> {
    let selected: Vec<(&Scenario, EngineProfile)> = scenarios
        .iter()
        .flat_map(|s| s.kind.profiles().iter().map(move |p| (s, *p)))
        .filter(|(s, p)| {
            options.filter.as_ref().is_none_or(|f| s.id.contains(f.as_str()) || p.name().contains(f.as_str()))
        })
        .collect();
    if selected.is_empty() {
        return Err("the filter selects no scenario".into());
    }
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<Count, String>>>> = Mutex::new(vec![None; selected.len()]);
    std::thread::scope(|scope| {
        for _ in 0..options.jobs.min(selected.len()) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((scenario, profile)) = selected.get(i) else { break };
                    let started = Instant::now();
                    let result = count(launcher, out_dir, scenario, *profile, options);
                    let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                    match &result {
                        Ok(c) => println!(
                            "[{n:>3}/{}] {:<32} {:<15} {:>12.1} instructions per op ({:.1} s)",
                            selected.len(),
                            scenario.id,
                            profile.name(),
                            c.instructions_per_op,
                            started.elapsed().as_secs_f64()
                        ),
                        Err(e) => println!(
                            "[{n:>3}/{}] {:<32} {:<15} failed: {e}",
                            selected.len(),
                            scenario.id,
                            profile.name()
                        ),
                    }
                    let failed = result.is_err();
                    results.lock().unwrap_or_else(PoisonError::into_inner)[i] = Some(result);
                    if failed {
                        // The others finish what they started; nothing new is begun.
                        next.store(selected.len(), Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let results = results.into_inner().unwrap_or_else(PoisonError::into_inner);
    let mut counts = Vec::with_capacity(results.len());
    for result in results.into_iter().flatten() {
        counts.push(result?);
    }
    if counts.len() < selected.len() {
        return Err("a count failed (see above)".into());
    }
    Ok(counts)
}

fn workspace() -> PathBuf {
    crate::workspace_root()
}

fn default_baseline() -> PathBuf {
    workspace().join("results").join("gate-baseline.json")
}

/// How a run of the gate ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// No regression and no scenario without a baseline (or the baseline was saved).
    pub passed: bool,
    /// `scenario under profile` for each regression.
    pub regressed: Vec<String>,
    /// The same for each scenario the baseline lacks.
    pub unbaselined: Vec<String>,
    /// Every count of the run.
    pub counts: Vec<Count>,
}

/// Counts, then saves the baseline or compares with it. An `Err` is bad input or a count that failed, one line.
pub fn run(options: &Options, launcher: &Launcher) -> Result<Outcome, String> {
    let (subject, named) = parse_subject(&options.subject_args)?;
    let Prepared { serves, typed } = subject::prepare(&subject)?;
    let valgrind = valgrind_version()?;
    let baseline_path = options.baseline.clone().unwrap_or_else(default_baseline);
    let (scenarios, skipped) = gate::for_subject(&subject, &serves, |i| typed[i].clone());
    if named {
        println!("counting {}", subject.describe());
        for (id, why) in &skipped {
            println!("skipped: {id} ({why})");
        }
    }
    let target = launcher.program.ancestors().nth(3).map(PathBuf::from).unwrap_or_else(|| PathBuf::from("target"));
    let out_dir = target.join("boundary-gate");
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;

    let mut runs = Vec::new();
    for round in 0..options.repeat {
        if options.repeat > 1 {
            println!("--- run {} of {}", round + 1, options.repeat);
        }
        runs.push(count_all(launcher, options, &scenarios, &out_dir)?);
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
    if let Some(path) = &options.bmf {
        let json = serde_json::to_string_pretty(&gate::bmf(&counts)).map_err(|e| e.to_string())? + "\n";
        std::fs::write(path, json).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("counts in Bencher's metric format written to {}", path.display());
    }

    if options.save {
        // With a filter, only the counted scenarios change: the rest of the baseline is kept as it was.
        // A baseline that exists but cannot be read is not replaced by a part of one.
        let old = match (&options.filter, baseline_path.exists()) {
            (Some(_), true) => Some(read_baseline(&baseline_path)?),
            _ => None,
        };
        let kept = match &old {
            Some(old) => gate::merge_counts(&old.counts, &counts),
            None => counts.clone(),
        };
        let env = crate::environment::Environment::capture(&workspace(), String::new(), String::new());
        let mut command = "cargo bench --bench gate -- --save-baseline".to_string();
        for arg in &options.subject_args {
            command.push(' ');
            command.push_str(arg);
        }
        if let (Some(filter), Some(old)) = (&options.filter, &old) {
            command.push_str(&format!(
                " --filter {filter} (the counts it selects; the others as counted at {} on {})",
                old.git_revision, old.date
            ));
        }
        let baseline = Baseline {
            date: env.date,
            command,
            git_revision: env.git_revision,
            cpu: env.cpu,
            rustc: boundary_host::build_info::RUSTC_VERSION.to_string(),
            wasmtime: boundary_host::build_info::WASMTIME_VERSION.to_string(),
            valgrind,
            module: named.then(|| subject.describe()),
            counts: kept,
        };
        let json = serde_json::to_string_pretty(&baseline).map_err(|e| e.to_string())? + "\n";
        std::fs::write(&baseline_path, json).map_err(|e| format!("{}: {e}", baseline_path.display()))?;
        println!("\nbaseline written to {}", baseline_path.display());
        return Ok(Outcome { passed: true, regressed: Vec::new(), unbaselined: Vec::new(), counts });
    }

    let baseline = read_baseline(&baseline_path)?;
    if baseline.valgrind != valgrind || baseline.wasmtime != boundary_host::build_info::WASMTIME_VERSION {
        println!(
            "note: the baseline was counted with {} and wasmtime {}; this run uses {} and wasmtime {}",
            baseline.valgrind,
            baseline.wasmtime,
            valgrind,
            boundary_host::build_info::WASMTIME_VERSION
        );
    }
    if named && baseline.module.as_deref() != Some(subject.describe().as_str()) {
        println!(
            "note: the baseline was counted for {}; this run counts {}",
            baseline.module.as_deref().unwrap_or("the project's guest"),
            subject.describe()
        );
    }
    let comparisons = gate::compare(&baseline, &counts, options.threshold);
    println!("\n{}", gate::table(&comparisons, options.threshold));
    let regressed: Vec<_> = comparisons.iter().filter(|c| c.verdict == Verdict::Regressed).collect();
    let missing = comparisons.iter().filter(|c| c.verdict == Verdict::New).count();
    let improved = comparisons.iter().filter(|c| c.verdict == Verdict::Improved).count();
    let refresh = if named {
        format!(
            "`cargo bench --bench gate -- {} --baseline {} --save-baseline`",
            options.subject_args.join(" "),
            baseline_path.display()
        )
    } else {
        "`cargo bench --bench gate -- --save-baseline`".to_string()
    };
    if improved > 0 {
        println!("{improved} scenario(s) improved beyond {}%: refresh the baseline with {refresh}", options.threshold);
    }
    if missing > 0 {
        println!(
            "{missing} scenario(s) have no baseline: refresh it with {refresh} (add --filter to count only those)"
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
    let named = |verdict: Verdict| {
        comparisons
            .iter()
            .filter(|c| c.verdict == verdict)
            .map(|c| format!("{} under {}", c.scenario, c.profile))
            .collect()
    };
    Ok(Outcome { passed, regressed: named(Verdict::Regressed), unbaselined: named(Verdict::New), counts })
}

fn read_baseline(path: &Path) -> Result<Baseline, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the baseline {}: {e}; make one with --save-baseline", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not a gate baseline: {e}", path.display()))
}
