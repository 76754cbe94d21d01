//! The instruction-count gate's runner (`cargo bench --bench gate`, and the tests that gate a module of their own):
//! counting each scenario of `gate.rs` in a child process under callgrind, comparing with a baseline, saving one.
//! The child is whatever executable [`Launcher`] names: the gate's bench binary, or a test binary running
//! [`child_from_env`] from a test, so that tests count exactly as the gate does.
//!
//! Before any child goes under callgrind, each scenario runs once natively ([`TRIAL_ROLE`]: its setup, one
//! operation) under the plain `--timeout`, so a guest that loops, traps or takes too much memory fails in seconds,
//! with one line naming the scenario. Under callgrind a child runs [`VALGRIND_SLOWDOWN`] times slower, and gets that
//! many times `--timeout` for each step; the runner stops it at twice that.

use crate::child::{Child, ChildError};
use crate::gate::{self, Baseline, Count, Failed, MEASURED_SYMBOL, Scenario, Verdict};
use crate::guard;
use crate::options::{self, ProfileOptions, SubjectOptions};
use crate::probe::{self, Prepared};
use crate::subject::Subject;
use boundary_host::EngineProfile;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

pub use crate::child::Launcher;

/// Iterations of each scenario's body run before collection starts, so one-time work is not counted.
const WARM_UP: u64 = 10;

/// The only function callgrind collects in. Everything it calls is counted; nothing else is.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn boundary_gate_measured(body: &mut dyn FnMut(u64), iterations: u64) {
    body(iterations);
}

/// The role of a child that counts one scenario under callgrind: its arguments are the scenario's id, the
/// profile's name and the module options.
pub const COUNT_ROLE: &str = "gate-count";
/// The role of a child that runs one scenario natively, once, before it is counted.
pub const TRIAL_ROLE: &str = "gate-trial";
/// The role of a child that times one scenario natively (`boundary versions`' wall-time medians): it prints the
/// nanoseconds per operation of its counted loop, run until [`TIMED_AT_LEAST`] has passed.
pub const TIME_ROLE: &str = "gate-time";
/// How long a timed child runs the scenario's loop at the least, whole batches of its iterations.
pub const TIMED_AT_LEAST: Duration = Duration::from_millis(100);
/// The line a timed child prints with its nanoseconds per operation.
pub const TIME_LINE: &str = "boundary-gate-ns-per-op: ";
/// The role of a child that prints the CPU it sees ([`cpu_seen`]), run under valgrind before the counting.
pub const CPU_ROLE: &str = "gate-cpu";
/// How many times slower a child runs under callgrind than natively, as the gate allows for: each of its steps gets
/// this many times `--timeout`.
pub const VALGRIND_SLOWDOWN: u32 = 100;

/// Runs the scenario this process's role names (a child of the runner); `Ok(false)` if it is not a gate child.
pub fn child_from_env() -> Result<bool, String> {
    let Some((role, args)) = crate::child::role()? else { return Ok(false) };
    if role == CPU_ROLE {
        println!("{}", cpu_seen());
        return Ok(true);
    }
    let Some(mode) = Mode::from_role(&role) else { return Ok(false) };
    match args.as_slice() {
        [scenario, profile, subject @ ..] => child(scenario, profile, subject, mode).map(|()| true),
        _ => Err(format!("the gate's child role names no scenario: {args:?}")),
    }
}

/// Runs the gate's child role `role` with its arguments (see [`crate::roles`]): exit status 0 when the scenario ran,
/// or one `error:` line and 2.
pub fn child_role(role: &str, args: &[String]) -> ExitCode {
    if role == CPU_ROLE {
        println!("{}", cpu_seen());
        return ExitCode::SUCCESS;
    }
    let run = match (Mode::from_role(role), args) {
        (None, _) => Err(format!("`{role}` is not a role of the gate's children")),
        (Some(mode), [scenario, profile, subject @ ..]) => child(scenario, profile, subject, mode),
        _ => Err(format!("the gate's child role names no scenario: {args:?}")),
    };
    match run {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", boundary_host::escape_controls(&e));
            ExitCode::from(options::EXIT_BAD_INPUT)
        }
    }
}

/// The module options and guard rails a counted child is given.
#[derive(Debug, Clone, clap::Parser)]
struct ChildOptions {
    #[command(flatten)]
    subject: SubjectOptions,
}

/// What a child does with its scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// One operation natively, and the page faults of the counted loop where the scenario counts them.
    Trial,
    /// The counted loop, under valgrind.
    Count,
    /// The counted loop natively, timed.
    Time,
}

impl Mode {
    /// The mode of a child started in `role`, if it is one of the roles that run a scenario.
    fn from_role(role: &str) -> Option<Mode> {
        match role {
            TRIAL_ROLE => Some(Mode::Trial),
            COUNT_ROLE => Some(Mode::Count),
            TIME_ROLE => Some(Mode::Time),
            _ => None,
        }
    }
}

/// Runs one scenario: once natively (a trial), counted (under valgrind), or timed.
fn child(scenario_id: &str, profile_name: &str, subject_args: &[String], mode: Mode) -> Result<(), String> {
    let trial = mode == Mode::Trial;
    let profile = EngineProfile::from_name(profile_name).map_err(|e| e.to_string())?;
    let parsed: ChildOptions =
        options::parse(std::iter::once("gate-child".to_string()).chain(subject_args.iter().cloned()))
            .map_err(|e| format!("{e:?}"))?;
    let mut limits = parsed.subject.limits.limits();
    if !trial {
        limits.timeout = limits.timeout.saturating_mul(VALGRIND_SLOWDOWN);
    }
    let subject = Subject::of(&parsed.subject)?;
    guard::configure(limits, subject.imports());
    let scenario = gate::find(scenario_id, &subject).ok_or(format!("unknown scenario `{scenario_id}`"))?;
    let what = format!("gate scenario `{}` under `{}`", scenario.id, profile.name());
    let mut body =
        guard::step(&format!("{what}: setting up (compiling, instantiating)"), || scenario.body(profile, &subject))?;
    if trial {
        guard::step(&format!("{what}: one operation"), || body(1));
        if scenario.counts_faults {
            // The kernel's share, which callgrind cannot see: minor page faults over the counted loop, natively.
            guard::step(&format!("{what}: the warm-up"), || body(WARM_UP));
            let before = minor_faults();
            guard::step(&format!("{what}: the operations whose page faults are counted"), || body(scenario.iterations));
            if let (Some(before), Some(after)) = (before, minor_faults()) {
                let per_op = after.saturating_sub(before) as f64 / scenario.iterations as f64;
                println!("{FAULTS_LINE}{per_op}");
            }
        }
        return Ok(());
    }
    guard::step(&format!("{what}: the warm-up"), || body(WARM_UP));
    if mode == Mode::Time {
        let (operations, elapsed) = guard::step(&format!("{what}: the timed operations"), || {
            let (mut operations, start) = (0u64, Instant::now());
            while operations == 0 || start.elapsed() < TIMED_AT_LEAST {
                body(scenario.iterations);
                operations += scenario.iterations;
            }
            (operations, start.elapsed())
        });
        println!("{TIME_LINE}{}", elapsed.as_nanos() as f64 / operations as f64);
        return Ok(());
    }
    guard::step(&format!("{what}: the counted operations"), || boundary_gate_measured(&mut *body, scenario.iterations));
    Ok(())
}

/// The line a trial child prints with the minor page faults per operation of its counted loop.
const FAULTS_LINE: &str = "boundary-gate-minor-faults-per-op: ";

/// This process's minor page faults so far (`/proc/self/stat`, field 10), where the system has them.
fn minor_faults() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count the fields after its end.
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(7)?.parse().ok()
}

/// The gate's options (`cargo bench --bench gate -- OPTIONS`, `boundary gate OPTIONS`).
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "cargo bench --bench gate --",
    about = "The performance gate: instruction counts of its scenarios under callgrind, against a baseline.",
    after_help = "Each scenario first runs once natively under --timeout; counted under callgrind, where code runs \
                  about 100 times slower, each of its steps gets 100 times --timeout."
)]
pub struct Options {
    /// The loose threshold: fail on a growth of more than this many percent where the baseline measured no
    /// spread or was counted on another toolchain (on its own toolchain, a count that repeated exactly fails on
    /// more than 1 instruction per operation or 0.1%, whichever is larger; one that spread on more than 4 times
    /// its spread).
    #[arg(long, value_name = "PERCENT", default_value_t = gate::DEFAULT_THRESHOLD_PERCENT, value_parser = threshold_value)]
    pub threshold: f64,
    /// Refuse to compare with a baseline counted on another CPU, glibc, valgrind, rustc or wasmtime.
    #[arg(long)]
    pub strict: bool,
    /// Write the counts as the baseline instead of comparing with it (with --filter or --profile: only the counts
    /// they select change).
    #[arg(long = "save-baseline")]
    pub save: bool,
    /// Count every scenario even after one fails: each failure is listed (and, with --save-baseline, kept in the
    /// baseline's `failed`), and the gate still fails.
    #[arg(long = "keep-going")]
    pub keep_going: bool,
    #[command(flatten)]
    pub counting: Counting,
    /// The baseline to compare with or write [default: results/gate-baseline.json; needed with --wasm].
    #[arg(long, value_name = "FILE", value_parser = user_path_value)]
    pub baseline: Option<PathBuf>,
    /// Also write the counts in Bencher's metric format to FILE.
    #[arg(long, value_name = "FILE", value_parser = user_path_value)]
    pub bmf: Option<PathBuf>,
    /// Passed by `cargo bench`.
    #[arg(long, hide = true)]
    pub bench: bool,
}

/// What the gate counts and how: the options it shares with every command that runs it (`boundary versions`).
#[derive(Debug, Clone, clap::Args)]
pub struct Counting {
    /// Count everything this many times and report the spread.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: u32,
    /// Only scenarios (or profiles) whose names contain this string.
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
    #[command(flatten)]
    pub profiles: ProfileOptions,
    /// How many scenarios are counted at once [default: one per core].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: Option<u32>,
    #[command(flatten)]
    pub subject: SubjectOptions,
}

impl Counting {
    /// The options as a command line gives them, for a gate started as a command of its own.
    pub fn to_args(&self) -> Vec<String> {
        let mut args = vec!["--repeat".to_string(), self.repeat.to_string()];
        if let Some(filter) = &self.filter {
            args.extend(["--filter".to_string(), filter.clone()]);
        }
        if let Some(jobs) = self.jobs {
            args.extend(["--jobs".to_string(), jobs.to_string()]);
        }
        args.extend(self.profiles.to_args());
        args.extend(self.subject.to_args());
        args
    }
}

impl Options {
    /// The options a counted child needs to set up the same subject under the same guard rails.
    fn child_args(&self) -> Vec<String> {
        self.counting.subject.to_args()
    }

    /// The module options as the user gave them (paths absolute), for the commands the gate prints.
    fn subject_args(&self) -> Vec<String> {
        self.counting.subject.subject_args()
    }

    fn jobs(&self) -> usize {
        let jobs = self.counting.jobs;
        jobs.map_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()), |j| j as usize)
    }
}

fn threshold_value(text: &str) -> Result<f64, String> {
    text.parse()
        .ok()
        .filter(|t: &f64| t.is_finite() && *t >= 0.0)
        .ok_or_else(|| "--threshold takes a number of percent, 0 or more".to_string())
}

fn user_path_value(text: &str) -> Result<PathBuf, String> {
    Ok(options::user_path(text))
}

/// Runs the gate with `options`, counting in child copies of this executable: exit status 0 when it passed, 1 on
/// a regression (or a scenario without a baseline, or with `--keep-going` a scenario that failed), 2 with one
/// `error:` line on bad input or a failed count.
pub fn command(options: &Options) -> ExitCode {
    match Launcher::this(Vec::new()).and_then(|launcher| run(options, &launcher)) {
        Ok(outcome) if outcome.passed => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(e) => options::exit_status(Err(e)),
    }
}

/// Reads the gate's command line (without the program name); bad input is one line.
pub fn parse(args: &[String]) -> Result<Options, String> {
    let options: Options =
        options::parse(std::iter::once("gate".to_string()).chain(args.iter().cloned())).map_err(|e| match e {
            options::Parsed::Help(text) => text,
            options::Parsed::Bad(line) => line,
        })?;
    Ok(options)
}

/// The CPU this process sees: its vendor and model name as CPUID gives them, and a hash of the CPUID leaves that
/// glibc's and the standard library's choice of code (`memcpy`'s variant, its thresholds by cache size) depends on:
/// the features (leaves 1, 7 and 0x80000001), the caches (leaf 4 and 0x80000006). Under valgrind it is the CPU
/// valgrind presents, not the host's.
pub fn cpu_seen() -> String {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{__cpuid_count, CpuidResult};
        let words = |r: CpuidResult| [r.eax, r.ebx, r.ecx, r.edx];
        let bytes = |regs: &[u32]| -> String {
            let raw: Vec<u8> = regs.iter().flat_map(|r| r.to_le_bytes()).collect();
            String::from_utf8_lossy(&raw).trim_matches(char::from(0)).trim().to_string()
        };
        let leaf0 = __cpuid_count(0, 0);
        let vendor = bytes(&[leaf0.ebx, leaf0.edx, leaf0.ecx]);
        let extended_max = __cpuid_count(0x8000_0000, 0).eax;
        let brand = if extended_max >= 0x8000_0004 {
            let regs: Vec<u32> = (0x8000_0002..=0x8000_0004u32).flat_map(|l| words(__cpuid_count(l, 0))).collect();
            bytes(&regs)
        } else {
            String::new()
        };
        let mut hashed: Vec<u32> = Vec::new();
        let mut leaf = |l: u32, sub: u32, max: u32| {
            if l <= max {
                // `l` is at most the maximum leaf of its range.
                let mut r = words(__cpuid_count(l, sub));
                if l == 1 {
                    // The APIC id and logical-processor count say which core ran this, not what it is.
                    r[1] &= 0x0000_ffff;
                }
                hashed.extend(r);
            }
        };
        leaf(1, 0, leaf0.eax);
        leaf(7, 0, leaf0.eax);
        for sub in 0..8 {
            leaf(4, sub, leaf0.eax);
        }
        leaf(0x8000_0001, 0, extended_max);
        leaf(0x8000_0006, 0, extended_max);
        let bytes: Vec<u8> = hashed.iter().flat_map(|r| r.to_le_bytes()).collect();
        let hash =
            bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
        format!("{vendor} {brand} (CPUID {hash:016x})")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        format!("{} (no CPUID read)", std::env::consts::ARCH)
    }
}

/// The CPU as a counted child sees it under valgrind ([`cpu_seen`]); an empty string if it could not be read (the
/// host's model is compared then).
fn cpu_under_valgrind(launcher: &Launcher) -> String {
    let child = Child {
        launcher,
        role: CPU_ROLE,
        role_args: Vec::new(),
        wrapper: vec!["valgrind".to_string(), "--tool=none".to_string(), "--quiet".to_string()],
        capture: true,
        deadline: Some(Duration::from_secs(120)),
    };
    match child.run() {
        Ok(out) if out.status.success() => {
            String::from_utf8_lossy(&out.stdout).lines().last().unwrap_or_default().trim().to_string()
        }
        _ => String::new(),
    }
}

/// What this run counts with, for comparing with a baseline's.
fn toolchain(valgrind: &str, cpu_counted: &str) -> gate::Toolchain {
    gate::Toolchain {
        cpu_counted: cpu_counted.to_string(),
        cpu: crate::record::Environment::capture(&workspace(), String::new(), String::new()).cpu,
        glibc: crate::record::Platform::capture().libc,
        valgrind: valgrind.to_string(),
        rustc: boundary_host::build_info::RUSTC_VERSION.to_string(),
        wasmtime: boundary_host::build_info::WASMTIME_VERSION.to_string(),
    }
}

/// valgrind's version, or an error saying how to install it.
pub fn valgrind_version() -> Result<String, String> {
    let out = Command::new("valgrind").arg("--version").output().map_err(|_| {
        "valgrind is not installed; the gate needs it (on Debian: `apt-get install valgrind`)".to_string()
    })?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Runs one scenario under one profile natively, once: its setup and one operation under the plain `--timeout`,
/// before it goes under callgrind. The child ends a misbehaving guest itself, with one `error:` line.
///
/// Returns the minor page faults per operation where the scenario counts them ([`Scenario::counts_faults`]).
fn trial(
    launcher: &Launcher,
    scenario: &Scenario,
    profile: EngineProfile,
    options: &Options,
) -> Result<Option<f64>, String> {
    // The child's own watchdog stops it; this is a backstop for one that cannot even start its steps.
    let deadline = options.counting.subject.limits.timeout.saturating_mul(4).saturating_add(Duration::from_secs(60));
    let child = Child {
        launcher,
        role: TRIAL_ROLE,
        role_args: role_args(scenario, profile, options),
        wrapper: Vec::new(),
        capture: true,
        deadline: Some(deadline),
    };
    let finished = child.run().map_err(|e| format!("{} under {}: the trial run {e}", scenario.id, profile.name()))?;
    if !finished.status.success() {
        let line = finished.stderr_line();
        return Err(line.strip_prefix("error: ").unwrap_or(&line).to_string());
    }
    let stdout = String::from_utf8_lossy(&finished.stdout);
    Ok(stdout.lines().rev().find_map(|l| l.strip_prefix(FAULTS_LINE)?.trim().parse().ok()))
}

/// Counts one scenario under one profile: the smallest count of [`Scenario::processes`] runs of [`count_once`].
fn count(
    launcher: &Launcher,
    out_dir: &Path,
    scenario: &Scenario,
    profile: EngineProfile,
    options: &Options,
) -> Result<Count, String> {
    let mut counts = Vec::new();
    for _ in 0..scenario.processes {
        counts.push(count_once(launcher, out_dir, scenario, profile, options)?);
    }
    counts.into_iter().min_by_key(|c| c.total_instructions).ok_or_else(|| format!("{} counted no run", scenario.id))
}

/// Counts one scenario under one profile: runs the launcher under callgrind in its counting role.
fn count_once(
    launcher: &Launcher,
    out_dir: &Path,
    scenario: &Scenario,
    profile: EngineProfile,
    options: &Options,
) -> Result<Count, String> {
    let out_file = out_dir.join(format!("{}.{}.callgrind", scenario.id.replace('/', "."), profile.name()));
    let wrapper = vec![
        "valgrind".to_string(),
        "--tool=callgrind".to_string(),
        "--collect-atstart=no".to_string(),
        format!("--toggle-collect={MEASURED_SYMBOL}"),
        format!("--callgrind-out-file={}", out_file.display()),
        // A wasm trap is a signal; with this valgrind hands it to wasmtime's handler with exact registers.
        "--vex-iropt-register-updates=allregs-at-mem-access".to_string(),
        "--quiet".to_string(),
    ];
    // The child's steps each get VALGRIND_SLOWDOWN times --timeout (setup, warm-up, the counted loop); this is a
    // backstop for a child stuck where its own watchdog cannot end it.
    let deadline = options.counting.subject.limits.timeout.saturating_mul(VALGRIND_SLOWDOWN * 2);
    let child = Child {
        launcher,
        role: COUNT_ROLE,
        role_args: role_args(scenario, profile, options),
        wrapper,
        capture: true,
        deadline: Some(deadline),
    };
    let output = child.run().map_err(|e| match e {
        ChildError::Start(why) => format!("could not start valgrind: {why}"),
        timed_out => format!("{} under {}: the counted run {timed_out}", scenario.id, profile.name()),
    })?;
    if !output.status.success() {
        let why = counted_run_error(&String::from_utf8_lossy(&output.stderr));
        return Err(format!("{} under {}: the counted run failed: {why}", scenario.id, profile.name()));
    }
    let text = std::fs::read_to_string(&out_file).map_err(|e| format!("{}: {e}", out_file.display()))?;
    let total = gate::callgrind_total(&text).ok_or(format!("{}: no instruction total", out_file.display()))?;
    if total == 0 {
        return Err(format!("{} under {}: nothing was counted in {MEASURED_SYMBOL}", scenario.id, profile.name()));
    }
    Ok(Count::new(scenario, profile, total))
}

/// What ended a counted run, in one line, from its stderr: the child's own `error:` line; else, where valgrind
/// itself gave up (callgrind 3.19 aborts on some wasm traps, as on the one in the `--keep-going` test's module), the
/// line that says so; else the last line.
fn counted_run_error(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let line = if let Some(own) = lines.iter().rev().find_map(|l| l.strip_prefix("error: ")) {
        own.to_string()
    } else if let Some(gave_up) =
        lines.iter().find(|l| l.contains("Assertion") || l.contains("the 'impossible' happened"))
    {
        format!("valgrind itself failed: {gave_up}")
    } else {
        lines.last().map_or("no output".to_string(), |l| l.to_string())
    };
    boundary_host::escape_controls(&line).into_owned()
}

/// The arguments of a child's role for `scenario` under `profile`.
fn role_args(scenario: &Scenario, profile: EngineProfile, options: &Options) -> Vec<String> {
    let mut args = vec![scenario.id.to_string(), profile.name().to_string()];
    args.extend(options.child_args());
    args
}

/// The scenarios and profiles `options` select, under the profiles that compile the subject (`compiled`).
fn selected<'a>(
    options: &Options,
    scenarios: &'a [Scenario],
    compiled: &[EngineProfile],
) -> Result<Vec<(&'a Scenario, EngineProfile)>, String> {
    let selected: Vec<(&Scenario, EngineProfile)> = scenarios
        .iter()
        .flat_map(|s| s.profiles.iter().map(move |p| (s, *p)))
        .filter(|(_, p)| compiled.contains(p))
        .filter(|(s, p)| {
            options.counting.filter.as_ref().is_none_or(|f| s.id.contains(f.as_str()) || p.name().contains(f.as_str()))
        })
        .collect();
    if selected.is_empty() {
        return Err("the filter and the profiles asked for select no scenario".into());
    }
    Ok(selected)
}

/// What [`in_parallel`] says as each scenario ends: its place (`[ n/total]`), the scenario, the profile, the result
/// and the time it took.
type Report<'a, T> = &'a (dyn Fn(&str, &Scenario, EngineProfile, &Result<T, String>, Duration) + Sync);

/// Runs `work` for every selected scenario, [`Options::jobs`] at a time, `report`ing each as it ends, and returns
/// the results in the scenarios' order; after the first failure nothing new is begun (`None` for those), unless
/// `--keep-going`.
fn in_parallel<T: Clone + Send>(
    options: &Options,
    selected: &[(&Scenario, EngineProfile)],
    work: impl Fn(&Scenario, EngineProfile) -> Result<T, String> + Sync,
    report: Report<'_, T>,
) -> Vec<Option<Result<T, String>>> {
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<T, String>>>> = Mutex::new(vec![None; selected.len()]);
    std::thread::scope(|scope| {
        for _ in 0..options.jobs().min(selected.len()) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((scenario, profile)) = selected.get(i) else { break };
                    let started = Instant::now();
                    let result = work(scenario, *profile);
                    let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                    report(&format!("[{n:>3}/{}]", selected.len()), scenario, *profile, &result, started.elapsed());
                    let failed = result.is_err();
                    results.lock().unwrap_or_else(PoisonError::into_inner)[i] = Some(result);
                    if failed && !options.keep_going {
                        // The others finish what they started; nothing new is begun.
                        next.store(selected.len(), Ordering::Relaxed);
                    }
                }
            });
        }
    });
    results.into_inner().unwrap_or_else(PoisonError::into_inner)
}

/// Scenarios under profiles, as the gate selects them.
type Selected<'a> = Vec<(&'a Scenario, EngineProfile)>;

/// The scenarios of `selected` whose `results` (from [`in_parallel`]) succeeded, with their values, in order.
/// Without `--keep-going` the first failure is the error; with it, each failure is added to `failed` (its error
/// without the leading `<scenario> under <profile>: ` that `Failed` says already).
fn survivors<'a, T>(
    options: &Options,
    selected: &[(&'a Scenario, EngineProfile)],
    results: Vec<Option<Result<T, String>>>,
    failed: &mut Vec<Failed>,
) -> Result<(Selected<'a>, Vec<T>), String> {
    let (mut kept, mut values) = (Vec::new(), Vec::new());
    for (&(scenario, profile), result) in selected.iter().zip(results) {
        match result {
            Some(Ok(value)) => {
                kept.push((scenario, profile));
                values.push(value);
            }
            Some(Err(error)) if options.keep_going => {
                let named = format!("{} under {}: ", scenario.id, profile.name());
                let error = error.strip_prefix(&named).map_or(error.clone(), str::to_string);
                failed.push(Failed { scenario: scenario.id.to_string(), profile: profile.name().to_string(), error });
            }
            Some(Err(error)) => return Err(error),
            // Never begun: only after a failure, which comes first in the scenarios' order.
            None => return Err("a scenario failed (see above)".into()),
        }
    }
    Ok((kept, values))
}

/// Runs every selected scenario once natively. Returns, for each in the scenarios' order, the minor page faults
/// per operation where counted, or its error.
fn trial_all(
    launcher: &Launcher,
    options: &Options,
    selected: &[(&Scenario, EngineProfile)],
) -> Vec<Option<Result<Option<f64>, String>>> {
    let started = Instant::now();
    // A failure ends the gate with its error, unless --keep-going: then it is said here and the others go on.
    let report = |n: &str, scenario: &Scenario, profile: EngineProfile, result: &Result<_, String>, _: Duration| {
        if let (true, Err(e)) = (options.keep_going, result) {
            println!("{n} {:<32} {:<15} failed natively: {e}", scenario.id, profile.name());
        }
    };
    let faults =
        in_parallel(options, selected, |scenario, profile| trial(launcher, scenario, profile, options), &report);
    let failed = faults.iter().filter(|r| matches!(r, Some(Err(_)))).count();
    if failed == 0 {
        println!(
            "{} scenario run(s) checked natively (setup and one operation, and the page faults of the counted loop \
             where gated; --timeout {} s) in {:.1} s",
            selected.len(),
            options.counting.subject.limits.timeout.as_secs_f64(),
            started.elapsed().as_secs_f64()
        );
    } else if options.keep_going {
        println!("{} scenario run(s) checked natively, {failed} of them failed", selected.len());
    }
    faults
}

/// Counts every selected scenario and returns the counts (or errors) in the scenarios' order.
fn count_all(
    launcher: &Launcher,
    options: &Options,
    selected: &[(&Scenario, EngineProfile)],
    out_dir: &Path,
) -> Vec<Option<Result<Count, String>>> {
    let report =
        |n: &str, scenario: &Scenario, profile: EngineProfile, result: &Result<Count, String>, took: Duration| {
            match result {
                Ok(c) => println!(
                    "{n} {:<32} {:<15} {:>12.1} instructions per op ({:.1} s)",
                    scenario.id,
                    profile.name(),
                    c.instructions_per_op,
                    took.as_secs_f64()
                ),
                Err(e) => println!("{n} {:<32} {:<15} failed: {e}", scenario.id, profile.name()),
            }
        };
    in_parallel(options, selected, |scenario, profile| count(launcher, out_dir, scenario, profile, options), &report)
}

fn workspace() -> PathBuf {
    crate::record::workspace_root()
}

fn default_baseline() -> PathBuf {
    workspace().join("results").join("gate-baseline.json")
}

/// How a run of the gate ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// No regression, no scenario without a baseline and none that failed (or the baseline was saved, with no
    /// scenario that failed).
    pub passed: bool,
    /// `scenario under profile` for each regression.
    pub regressed: Vec<String>,
    /// The same for each scenario the baseline lacks.
    pub unbaselined: Vec<String>,
    /// The same for each scenario that failed (`--keep-going`).
    pub failed: Vec<String>,
    /// Every count of the run.
    pub counts: Vec<Count>,
}

/// Counts, then saves the baseline or compares with it. An `Err` is bad input or (without `--keep-going`) a count
/// that failed, one line.
pub fn run(options: &Options, launcher: &Launcher) -> Result<Outcome, String> {
    if (options.counting.subject.module.wasm.is_some() || options.counting.subject.request.request.is_some())
        && options.baseline.is_none()
    {
        return Err("--wasm and --request need --baseline FILE: the file that keeps your module's counts (made by \
                    --save-baseline)"
            .into());
    }
    let subject = Subject::of(&options.counting.subject)?;
    guard::configure(options.counting.subject.limits.limits(), subject.imports());
    let named = !subject.is_built_in();
    let Prepared { serves, typed } = probe::prepare(&subject)?;
    let baseline_path = options.baseline.clone().unwrap_or_else(default_baseline);
    let (scenarios, skipped) = gate::for_subject(&subject, &serves, |i| typed[i].clone());
    if named {
        println!("counting {}", subject.describe());
        for (id, why) in &skipped {
            println!("skipped: {id} ({why})");
        }
    }
    // callgrind's output files: scratch, read back at once. One folder per run, not per process: a process may run
    // the gate twice at once (the tests do), and one run's clean-up must not take the other's files.
    static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let run_number = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let out_dir = std::env::temp_dir().join(format!("boundary-gate-{}-{run_number}", std::process::id()));

    let compiled = subject.compiled_under(options.counting.profiles.or_all())?;
    let selected = selected(options, &scenarios, &compiled)?;
    // Natively first, so that a guest that misbehaves is found in seconds, with or without valgrind.
    let mut failed = Vec::new();
    let trials = trial_all(launcher, options, &selected);
    let (tried, faults) = survivors(options, &selected, trials, &mut failed)?;
    let valgrind = valgrind_version()?;
    let cpu_counted = cpu_under_valgrind(launcher);
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let counted = count_rounds(launcher, options, &tried, &out_dir, &mut failed);
    let _ = std::fs::remove_dir_all(&out_dir);
    let mut runs = counted?;
    for run in &mut runs {
        for count in run.iter_mut() {
            let at = tried.iter().position(|(s, p)| s.id == count.scenario.as_str() && p.name() == count.profile);
            count.faults_per_op = at.and_then(|i| faults[i]);
        }
    }
    let mut noted = Vec::new();
    for (scenario, _) in &selected {
        if let Some(why) = scenario.depends_on.filter(|_| !noted.contains(&scenario.id)) {
            println!("note: {}: {why}", scenario.id);
            noted.push(scenario.id.clone());
        }
    }
    run_after_counting(options, &subject, named, (valgrind, cpu_counted), baseline_path, runs, failed)
}

/// Counts every selected scenario `--repeat` times. With `--keep-going`, a scenario that fails in a round goes
/// to `failed` and leaves every round's counts, so that each round holds the same scenarios in the same order.
fn count_rounds(
    launcher: &Launcher,
    options: &Options,
    selected: &[(&Scenario, EngineProfile)],
    out_dir: &Path,
    failed: &mut Vec<Failed>,
) -> Result<Vec<Vec<Count>>, String> {
    let mut selected = selected.to_vec();
    let mut runs: Vec<Vec<Count>> = Vec::new();
    for round in 0..options.counting.repeat {
        if options.counting.repeat > 1 {
            println!("--- run {} of {}", round + 1, options.counting.repeat);
        }
        let before = failed.len();
        let results = count_all(launcher, options, &selected, out_dir);
        let (kept, counts) = survivors(options, &selected, results, failed)?;
        without_failed(&mut runs, &failed[before..]);
        selected = kept;
        runs.push(counts);
    }
    Ok(runs)
}

/// Takes the counts of scenarios that have just `failed` out of the earlier rounds' `runs`, so that every round
/// holds the same scenarios in the same order.
fn without_failed(runs: &mut [Vec<Count>], failed: &[Failed]) {
    for run in runs {
        run.retain(|c| !failed.iter().any(|f| f.key() == c.key()));
    }
}

/// The failures a saved baseline lists: the `old` baseline's for scenarios this run neither `counted` nor saw
/// fail, then this run's.
fn failures_to_keep(old: Option<&Baseline>, counted: &[Count], failed: &[Failed]) -> Vec<Failed> {
    old.iter()
        .flat_map(|old| &old.failed)
        .filter(|f| !counted.iter().any(|c| c.key() == f.key()) && !failed.iter().any(|g| g.key() == f.key()))
        .chain(failed)
        .cloned()
        .collect()
}

/// Reports the counts of `runs` (the spread, if repeated), then saves them as the baseline or compares the last
/// run's with it.
fn run_after_counting(
    options: &Options,
    subject: &Subject,
    named: bool,
    (valgrind, cpu_counted): (String, String),
    baseline_path: PathBuf,
    runs: Vec<Vec<Count>>,
    failed: Vec<Failed>,
) -> Result<Outcome, String> {
    let mut counts = runs.last().cloned().unwrap_or_default();
    // The spread of each kept count over the rounds: what the baseline keeps for its threshold.
    for (i, c) in counts.iter_mut().enumerate() {
        let totals = runs.iter().map(|r| r[i].total_instructions);
        let (low, high) = (totals.clone().min().unwrap_or(0), totals.max().unwrap_or(0));
        c.spread_per_op = (runs.len() > 1).then(|| (high - low) as f64 / c.iterations.max(1) as f64);
    }
    if options.counting.repeat > 1 {
        println!(
            "\n--- spread over {} runs (largest minus smallest, relative to the smallest)",
            options.counting.repeat
        );
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
        // With a filter or profiles named, only the counted scenarios change: the rest of the baseline is kept as it
        // was.
        // A baseline that exists but cannot be read is not replaced by a part of one.
        let part = options.counting.filter.is_some() || !options.counting.profiles.profiles.is_empty();
        let old = match (part, baseline_path.exists()) {
            (true, true) => Some(read_baseline(&baseline_path)?),
            _ => None,
        };
        let this_run = toolchain(&valgrind, &cpu_counted);
        let kept = match &old {
            Some(old) => {
                // A scenario that failed this time keeps no count from before.
                let mut kept_old = old.counts.clone();
                kept_old.retain(|c| !failed.iter().any(|f| f.key() == c.key()));
                // The header becomes this run's: counts kept from another toolchain lose their spread, so that
                // they get the loose threshold rather than a tight one they were never measured for.
                let differences = old.toolchain().differences(&this_run);
                if !differences.is_empty() {
                    println!(
                        "note: the counts kept from {} were made on another toolchain ({}): they keep the loose \
                         threshold until recounted",
                        baseline_path.display(),
                        differences.join(", ")
                    );
                    for c in &mut kept_old {
                        c.spread_per_op = None;
                    }
                }
                gate::merge_counts(&kept_old, &counts)
            }
            None => counts.clone(),
        };
        let platform = crate::record::Platform::capture();
        let env = crate::record::Environment::capture(&workspace(), String::new(), String::new());
        let mut command = "cargo bench --bench gate -- --save-baseline".to_string();
        if options.counting.repeat > 1 {
            command.push_str(&format!(" --repeat {}", options.counting.repeat));
        }
        for arg in &options.subject_args() {
            command.push(' ');
            command.push_str(arg);
        }
        if let Some(filter) = &options.counting.filter {
            command.push_str(&format!(" --filter {filter}"));
        }
        for arg in options.counting.profiles.to_args() {
            command.push(' ');
            command.push_str(&arg);
        }
        if options.keep_going {
            command.push_str(" --keep-going");
        }
        if let Some(old) = &old {
            command.push_str(&format!(
                " (the counts it selects; the others as counted at {} on {})",
                old.git_revision, old.date
            ));
        }
        let baseline = Baseline {
            schema: crate::record::SCHEMA,
            date: env.date,
            command,
            git_revision: env.git_revision,
            cpu: env.cpu,
            cpu_under_valgrind: cpu_counted,
            glibc: platform.libc.clone(),
            rustc: boundary_host::build_info::RUSTC_VERSION.to_string(),
            wasmtime: boundary_host::build_info::WASMTIME_VERSION.to_string(),
            valgrind,
            kernel: env.os.clone(),
            transparent_huge_pages: platform.transparent_huge_pages.clone(),
            module: named.then(|| subject.describe()),
            counts: kept,
            failed: failures_to_keep(old.as_ref(), &counts, &failed),
        };
        let json = serde_json::to_string_pretty(&baseline).map_err(|e| e.to_string())? + "\n";
        std::fs::write(&baseline_path, json).map_err(|e| format!("{}: {e}", baseline_path.display()))?;
        println!("\nbaseline written to {}", baseline_path.display());
        if !failed.is_empty() {
            println!("{} scenario(s) failed and have no count in it (their errors are above)", failed.len());
        }
        let passed = failed.is_empty();
        return Ok(Outcome {
            passed,
            regressed: Vec::new(),
            unbaselined: Vec::new(),
            failed: failed_names(&failed),
            counts,
        });
    }

    let baseline = read_baseline(&baseline_path)?;
    let differences = baseline.toolchain().differences(&toolchain(&valgrind, &cpu_counted));
    let tight = differences.is_empty();
    if !tight {
        let said = differences.join(", ");
        if options.strict {
            return Err(format!(
                "--strict: the baseline {} was counted on another toolchain: {said}",
                baseline_path.display()
            ));
        }
        println!(
            "note: the baseline was counted on another toolchain ({said}): every scenario gets the loose threshold \
             of {}%",
            options.threshold
        );
    }
    if named && baseline.module.as_deref() != Some(subject.describe().as_str()) {
        println!(
            "note: the baseline was counted for {}; this run counts {}",
            baseline.module.as_deref().unwrap_or("the project's guest"),
            subject.describe()
        );
    }
    // Page faults depend on the kernel and on transparent huge pages: compared only under the baseline's.
    let platform = crate::record::Platform::capture();
    let kernel = crate::record::Environment::capture(&workspace(), String::new(), String::new()).os;
    let faults_comparable = gate::kernel_version(&baseline.kernel) == gate::kernel_version(&kernel)
        && baseline.transparent_huge_pages == platform.transparent_huge_pages;
    let with_faults = baseline.counts.iter().filter(|b| b.faults_per_op.is_some()).count();
    if with_faults > 0 && !faults_comparable {
        println!(
            "note: page faults not compared: the baseline counted them under {} with transparent huge pages `{}`; \
             this run has {kernel} and `{}`",
            if baseline.kernel.is_empty() { "an unrecorded kernel" } else { &baseline.kernel },
            baseline.transparent_huge_pages,
            platform.transparent_huge_pages
        );
    }
    let unfaulted = counts
        .iter()
        .filter(|c| c.faults_per_op.is_none())
        .filter(|c| baseline.counts.iter().any(|b| b.key() == c.key() && b.faults_per_op.is_some()))
        .count();
    if unfaulted > 0 && faults_comparable {
        println!("note: {unfaulted} count(s) have page faults in the baseline but none counted in this run");
    }
    let comparisons = gate::compare(&baseline, &counts, tight, faults_comparable, options.threshold);
    println!("\n{}", gate::table(&comparisons));
    let regressed: Vec<_> =
        comparisons.iter().filter(|c| matches!(c.verdict, Verdict::Regressed | Verdict::MoreFaults)).collect();
    let missing = comparisons.iter().filter(|c| c.verdict == Verdict::New).count();
    let improved = comparisons.iter().filter(|c| c.verdict == Verdict::Improved).count();
    let refresh = if named {
        format!(
            "`cargo bench --bench gate -- {} --baseline {} --save-baseline`",
            options.subject_args().join(" "),
            baseline_path.display()
        )
    } else {
        "`cargo bench --bench gate -- --save-baseline`".to_string()
    };
    if improved > 0 {
        println!("{improved} scenario(s) improved beyond their threshold: refresh the baseline with {refresh}");
    }
    if missing > 0 {
        println!(
            "{missing} scenario(s) have no baseline: refresh it with {refresh} (add --filter or --profile to count \
             only those)"
        );
    }
    for c in regressed.iter().filter(|c| c.more_faults) {
        let (was, now) = c.faults.unwrap_or_default();
        println!(
            "REGRESSION: {} under {}: {was:.2} -> {now:.2} minor page faults per op (the kernel's work)",
            c.scenario, c.profile
        );
    }
    for c in regressed.iter().filter(|c| c.verdict == Verdict::Regressed) {
        println!(
            "REGRESSION: {} under {}: {:.1} -> {:.1} instructions per op ({:+.2}%; allowed +{:.1})",
            c.scenario,
            c.profile,
            c.baseline.unwrap_or_default(),
            c.current,
            c.change_percent.unwrap_or_default(),
            c.allowed.unwrap_or_default()
        );
    }
    if !failed.is_empty() {
        println!("{} scenario(s) failed and were not counted (their errors are above)", failed.len());
    }
    let passed = regressed.is_empty() && missing == 0 && failed.is_empty();
    println!("gate {}", if passed { "passed" } else { "FAILED" });
    let named = |verdict: Verdict| {
        comparisons
            .iter()
            .filter(|c| c.verdict == verdict)
            .map(|c| format!("{} under {}", c.scenario, c.profile))
            .collect()
    };
    let mut regressed: Vec<String> = named(Verdict::Regressed);
    regressed.extend(named(Verdict::MoreFaults));
    Ok(Outcome { passed, regressed, unbaselined: named(Verdict::New), failed: failed_names(&failed), counts })
}

fn failed_names(failed: &[Failed]) -> Vec<String> {
    failed.iter().map(|f| format!("{} under {}", f.scenario, f.profile)).collect()
}

fn read_baseline(path: &Path) -> Result<Baseline, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the baseline {}: {e}; make one with --save-baseline", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not a gate baseline: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::{Baseline, Count, Failed, counted_run_error, failures_to_keep, without_failed};

    fn count(scenario: &str, total: u64) -> Count {
        Count {
            scenario: scenario.into(),
            profile: "cranelift".into(),
            iterations: 1,
            total_instructions: total,
            instructions_per_op: total as f64,
            spread_per_op: None,
            faults_per_op: None,
        }
    }

    fn failed(scenario: &str, error: &str) -> Failed {
        Failed { scenario: scenario.into(), profile: "cranelift".into(), error: error.into() }
    }

    #[test]
    fn a_scenario_that_fails_in_a_later_round_leaves_the_earlier_ones_and_rounds_line_up() {
        let mut runs = vec![vec![count("a", 1), count("b", 2), count("c", 3)], vec![count("a", 1), count("c", 3)]];
        without_failed(&mut runs, &[failed("b", "trapped")]);
        let ids = |run: &Vec<Count>| run.iter().map(|c| c.scenario.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&runs[0]), ids(&runs[1]));
        assert_eq!(ids(&runs[0]), ["a", "c"]);
    }

    #[test]
    fn a_saved_baseline_keeps_old_failures_only_of_scenarios_this_run_did_not_count_or_fail() {
        let old: Baseline = serde_json::from_value(serde_json::json!({
            "date": "", "command": "", "git_revision": "", "cpu": "", "rustc": "", "wasmtime": "", "valgrind": "",
            "counts": [],
            "failed": [failed("not-counted-now", "old"), failed("counted-now", "old"), failed("failed-again", "old")],
        }))
        .unwrap();
        let kept = failures_to_keep(Some(&old), &[count("counted-now", 5)], &[failed("failed-again", "new")]);
        assert_eq!(kept, [failed("not-counted-now", "old"), failed("failed-again", "new")]);
        assert_eq!(failures_to_keep(None, &[], &[failed("x", "e")]), [failed("x", "e")]);
    }

    #[test]
    fn a_counted_runs_error_is_the_childs_own_line_or_what_valgrind_said() {
        let own = "==1== some valgrind note\nerror: gate scenario `calls/core` under `cranelift`: unreachable\n";
        assert_eq!(counted_run_error(own), "gate scenario `calls/core` under `cranelift`: unreachable");
        let crashed = "0x3c050\nBB# 3542643\n\nCallgrind: threads.c:247 (vgCallgrind_post_signal): Assertion 'x' \
                       failed.\n\nhost stacktrace:\n==1==    at 0x58020C4A: ???\n\nThanks.\n";
        assert_eq!(
            counted_run_error(crashed),
            "valgrind itself failed: Callgrind: threads.c:247 (vgCallgrind_post_signal): Assertion 'x' failed."
        );
        assert_eq!(counted_run_error("first\nlast\n\n"), "last");
        assert_eq!(counted_run_error(""), "no output");
    }
}
