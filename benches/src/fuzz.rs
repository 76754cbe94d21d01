//! The differential fuzzer of a user's plugin (`boundary fuzz --request FILE`): the request's inputs mutated over and
//! over, each mutation served on a fresh instance under two engine profiles (Cranelift and Pulley unless told
//! otherwise), and the two outcomes compared by `boundary_host::plugin::differential`, which the cargo-fuzz target
//! `plugin` drives too (with libFuzzer's mutations). Each finding is written as a request file that replays it (`boundary --request FILE
//! --profile P`), its header saying what each profile gave. The guard rails hold for every input: `--max-memory` for
//! each store, `--timeout` for each request (an input still running at half its deadline is written out as a
//! finding before the watchdog ends the run).

use crate::guard;
use crate::options::{LimitOptions, ModuleOptions, RequestOptions, profile_parser, user_path};
use crate::subject::Subject;
use boundary_host::plugin::differential::{self, Outcome};
use boundary_host::plugin::{self, Plugin, Request};
use boundary_host::{EngineProfile, escape_controls};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The fuzzer's options.
#[derive(Debug, Clone, clap::Args)]
pub struct FuzzOptions {
    #[command(flatten)]
    pub module: ModuleOptions,
    #[command(flatten)]
    pub request: RequestOptions,
    /// The two engine profiles compared (give it twice) [default: cranelift and pulley].
    #[arg(long = "profile", value_name = "NAME", value_parser = profile_parser())]
    pub profiles: Vec<EngineProfile>,
    /// How many mutated inputs to try.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub runs: u64,
    /// The seed of the mutations (the same seed tries the same inputs).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,
    /// The most bytes a mutated input may grow to.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 16)]
    pub max_input: usize,
    /// Where findings are written [default: <out>/<module>-<hash>/findings].
    #[arg(long, value_name = "DIR")]
    pub findings: Option<PathBuf>,
    #[command(flatten)]
    pub limits: LimitOptions,
}

/// A small deterministic generator for the mutations (SplitMix64).
struct Mutator(u64);

impl Mutator {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }

    /// A mutation of `bytes`, at most `max` long.
    fn mutate(&mut self, bytes: &[u8], max: usize) -> Vec<u8> {
        const INTERESTING: [u8; 8] = [0, 0xff, 0x7f, 0x80, b'%', b'\\', b'"', b'\n'];
        let mut out = bytes.to_vec();
        for _ in 0..1 + self.below(4) {
            match self.below(7) {
                0 if !out.is_empty() => {
                    let at = self.below(out.len());
                    out[at] ^= 1 << self.below(8);
                }
                1 if !out.is_empty() => {
                    let at = self.below(out.len());
                    out[at] = INTERESTING[self.below(INTERESTING.len())];
                }
                2 => {
                    let at = self.below(out.len() + 1);
                    out.insert(at, self.next() as u8);
                }
                3 if !out.is_empty() => {
                    let at = self.below(out.len());
                    out.remove(at);
                }
                4 => out.truncate(self.below(out.len() + 1)),
                5 if !out.is_empty() => {
                    // A run of the input repeated: longer inputs.
                    let from = self.below(out.len());
                    let len = 1 + self.below((out.len() - from).min(256));
                    let copy = out[from..from + len].to_vec();
                    let at = self.below(out.len() + 1);
                    out.splice(at..at, copy);
                }
                _ => {
                    let len = self.below(64);
                    out.extend((0..len).map(|_| self.next() as u8));
                }
            }
        }
        out.truncate(max);
        out
    }
}

/// The input in flight, for the monitor that writes it out if it runs too long.
#[derive(Default)]
struct InFlight {
    index: AtomicU64,
    started_ms: AtomicU64,
    inputs: Mutex<Vec<Vec<u8>>>,
    written: AtomicBool,
}

/// Runs the fuzzer; `Ok(findings)` when it ran, one line when the input was bad.
pub fn run(options: &FuzzOptions, out: &Path) -> Result<usize, String> {
    let subject = Subject::with_request(&options.module, &options.request, &[])?;
    guard::configure(options.limits.limits(), subject.imports());
    if options.request.request.is_some() && subject.core.is_none() && subject.component.is_some() {
        return Err("fuzz: the request invokes a component's export; its WAVE arguments are not mutated (a request \
                    with [[input]]s is)"
            .into());
    }
    let (Some(mut request), Some(wasm)) = (subject.request.clone(), subject.core.clone()) else {
        return Err("fuzz needs --request FILE (a request to your plugin: README, \"Real plugins\")".to_string());
    };
    // A finding is written as this request: with `--foreign-imports trap` in it, so that it replays alone.
    request.foreign_imports = subject.foreign_imports;
    if request.command.is_some() {
        return Err(
            "fuzz: the request runs a WASI command; its stdin is not mutated (a request with [[input]]s is)".into()
        );
    }
    if request.inputs.is_empty() {
        return Err("fuzz: the request has no input to mutate".to_string());
    }
    let profiles = differential::profiles(&options.profiles)?;
    let plugins: Vec<Plugin> = profiles
        .iter()
        .map(|&p| {
            guard::step(&format!("loading {} under `{p}`", wasm.name), || {
                differential::load(&wasm, p, guard::host_options(), &request)
            })
        })
        .collect::<Result<_, _>>()?;
    let findings_dir = options
        .findings
        .as_ref()
        .map_or_else(|| out.join(subject.results_name()).join("findings"), |dir| user_path(&dir.to_string_lossy()));
    let module_path = subject.path.clone();
    let base: Vec<Vec<u8>> = (0..request.inputs.len()).map(|i| plugin::input_bytes(&request, i)).collect();
    let timeout = guard::limits().timeout;
    let in_flight = Arc::new(InFlight::default());
    let epoch = Instant::now();
    let monitor = {
        let in_flight = Arc::clone(&in_flight);
        let (request, dir, module) = (request.clone(), findings_dir.clone(), module_path.clone());
        std::thread::spawn(move || monitor(&in_flight, epoch, timeout, &request, &dir, module.as_deref()))
    };
    let mut mutator = Mutator(options.seed);
    let mut findings = 0usize;
    let mut tally = [0u64; 4];
    let started = Instant::now();
    let mut last_report = Instant::now();
    println!(
        "fuzzing {} through `{}`: {} inputs, `{}` against `{}`, findings to {}",
        subject.describe(),
        escape_controls(&request.call_text()),
        options.runs,
        profiles[0],
        profiles[1],
        findings_dir.display()
    );
    for index in 0..=options.runs {
        // Input 0 is the request's own; the others mutate one of its inputs.
        let mut inputs = base.clone();
        if index > 0 {
            let which = mutator.below(inputs.len());
            inputs[which] = mutator.mutate(&base[which], options.max_input);
        }
        *in_flight.inputs.lock().unwrap_or_else(PoisonError::into_inner) = inputs.clone();
        in_flight.index.store(index, Ordering::Release);
        in_flight.started_ms.store(epoch.elapsed().as_millis() as u64, Ordering::Release);
        let outcomes: [Outcome; 2] = [0, 1].map(|i| {
            let what = format!("fuzz input {index} under `{}`", profiles[i]);
            guard::step(&what, || differential::serve(&plugins[i], &inputs))
        });
        in_flight.started_ms.store(u64::MAX, Ordering::Release);
        let slot = match &outcomes[0] {
            Outcome::Output(_) => 0,
            Outcome::Reported(_) => 1,
            Outcome::Misbehaved(_) => 2,
            Outcome::OutOfTime => 3,
        };
        tally[slot] += 1;
        if differential::differ(&outcomes) {
            findings += 1;
            let what = format!("`boundary fuzz`: input {index} (seed {})", options.seed);
            let text = differential::finding(&what, &request, module_path.as_deref(), &inputs, profiles, &outcomes);
            let path = write_finding(&findings_dir, &format!("finding-{index}"), &text)?;
            println!(
                "finding: input {index}: `{}` gave {}, `{}` gave {}; written to {}",
                profiles[0],
                outcomes[0].kind(),
                profiles[1],
                outcomes[1].kind(),
                path.display()
            );
        }
        if last_report.elapsed() >= Duration::from_secs(2) {
            last_report = Instant::now();
            report(index + 1, started, &tally, findings);
        }
    }
    in_flight.index.store(u64::MAX, Ordering::Release);
    let _ = monitor.join();
    report(options.runs + 1, started, &tally, findings);
    Ok(findings)
}

fn report(done: u64, started: Instant, tally: &[u64; 4], findings: usize) {
    let rate = done as f64 / started.elapsed().as_secs_f64().max(1e-9);
    println!(
        "{done} inputs ({rate:.0}/s): {} outputs, {} reported failures, {} misbehaving, {} out of time; {findings} finding(s)",
        tally[0], tally[1], tally[2], tally[3]
    );
}

/// Writes a finding's request file (`text`) as `<dir>/<name>.toml` and returns its path.
fn write_finding(dir: &Path, name: &str, text: &str) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// Writes the input in flight out as a finding once it has run for half its deadline: the watchdog ends the run at
/// the deadline, and the input that hung must not be lost with it.
fn monitor(
    in_flight: &InFlight,
    epoch: Instant,
    timeout: Duration,
    request: &Request,
    dir: &Path,
    module: Option<&Path>,
) {
    loop {
        std::thread::sleep(Duration::from_millis(50));
        let index = in_flight.index.load(Ordering::Acquire);
        if index == u64::MAX {
            return;
        }
        let started = in_flight.started_ms.load(Ordering::Acquire);
        if started == u64::MAX || in_flight.written.load(Ordering::Acquire) {
            continue;
        }
        let running = Duration::from_millis((epoch.elapsed().as_millis() as u64).saturating_sub(started));
        if running >= timeout / 2 {
            in_flight.written.store(true, Ordering::Release);
            let inputs = in_flight.inputs.lock().unwrap_or_else(PoisonError::into_inner).clone();
            let text = format!(
                "# A finding of `boundary fuzz`: input {index} was still running after {} s\n# Replay: boundary \
                 --request <this file>\n{}",
                running.as_secs_f64(),
                request.to_toml(module, &inputs)
            );
            if let Ok(path) = write_finding(dir, &format!("hang-{index}"), &text) {
                println!("finding: input {index} is still running; written to {}", path.display());
            }
        }
    }
}
