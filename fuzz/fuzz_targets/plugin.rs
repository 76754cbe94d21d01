//! `BOUNDARY_FUZZ_REQUEST=my.toml cargo +nightly fuzz run plugin -- -timeout=10`: the differential fuzzer of a
//! user's plugin with libFuzzer's mutations. Each input takes the place of one of the request's inputs (the first
//! byte picks which when it has several), and is served on a fresh instance under two engine profiles; their
//! outcomes must agree (`boundary_host::plugin::differential`, which `boundary fuzz` drives too), the host must not
//! panic, and each store stays within the memory budget. A disagreement is written as a request file that replays
//! it, then reported as a crash. Set up by the environment (fuzz/README.md, "Your plugin"):
//!
//! - `BOUNDARY_FUZZ_REQUEST`: the request file (required); its module is the file's `module`, or
//! - `BOUNDARY_FUZZ_WASM`: the module, when the file names none;
//! - `BOUNDARY_FUZZ_PROFILES`: the two profiles compared, `a,b` (default `cranelift,pulley`);
//! - `BOUNDARY_FUZZ_MAX_MEMORY`: each store's budget in MiB (default 1024, as `--max-memory`);
//! - `BOUNDARY_FUZZ_FINDINGS`: where findings go (default `fuzz/artifacts/plugin`);
//! - `BOUNDARY_FUZZ_TIMEOUT`: seconds an input may run (default 10; give libFuzzer the same `-timeout`): one still
//!   running at half of it is written out as a request file (`hang-<hash>.toml`) before libFuzzer ends the run.
//!
//! Plugins that import WASI need the crate's `wasi` feature (`cargo fuzz run --features wasi plugin`); without it
//! the target links no WASI, as the memory I/O targets do not.
#![no_main]

use boundary_host::limits::{DEFAULT_MAX_MEMORY_MIB, MAX_MEMORY_MIB};
use boundary_host::plugin::differential::{self, Outcome};
use boundary_host::plugin::{Plugin, Request, input_bytes};
use boundary_host::{EngineProfile, HostOptions, Wasm};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

struct Target {
    request: Request,
    module: Option<PathBuf>,
    profiles: [EngineProfile; 2],
    plugins: [Plugin; 2],
    base: Vec<Vec<u8>>,
    findings: PathBuf,
    timeout: Duration,
}

/// The inputs being served and since when, for the watchdog (`watch`).
static IN_FLIGHT: Mutex<Option<(Vec<Vec<u8>>, Instant)>> = Mutex::new(None);
/// Whether the input in flight was written out already.
static WRITTEN: AtomicBool = AtomicBool::new(false);

/// The target as the environment sets it up; a mistake there ends the run with one line and exit status 2 (it is
/// not a finding: it happens in libFuzzer's initialisation, so it is not reported as a crash).
fn target() -> &'static Target {
    static TARGET: OnceLock<Target> = OnceLock::new();
    TARGET.get_or_init(|| {
        set_up().unwrap_or_else(|e| {
            eprintln!("error: {}", boundary_host::escape_controls(&e));
            std::process::exit(2)
        })
    })
}

fn set_up() -> Result<Target, String> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let request_path = var("BOUNDARY_FUZZ_REQUEST").ok_or(
        "set BOUNDARY_FUZZ_REQUEST to your request file (README, \"Real plugins\"): the target fuzzes its inputs",
    )?;
    let request = Request::from_file(Path::new(&request_path)).map_err(|e| e.to_string())?;
    if request.inputs.is_empty() {
        return Err("the request has no input to fuzz".to_string());
    }
    let module = var("BOUNDARY_FUZZ_WASM").map(PathBuf::from).or_else(|| request.module.clone());
    let wasm_path = module.clone().ok_or("the request names no module: set BOUNDARY_FUZZ_WASM")?;
    let wasm = Wasm::from_file(&wasm_path).map_err(|e| e.to_string())?;
    let given = match var("BOUNDARY_FUZZ_PROFILES") {
        None => Vec::new(),
        Some(names) => names
            .to_string_lossy()
            .split(',')
            .map(|name| EngineProfile::from_name(name.trim()).map_err(|e| format!("BOUNDARY_FUZZ_PROFILES: {e}")))
            .collect::<Result<_, _>>()?,
    };
    let profiles = differential::profiles(&given)?;
    let max_memory_mib: usize = match var("BOUNDARY_FUZZ_MAX_MEMORY") {
        None => DEFAULT_MAX_MEMORY_MIB,
        Some(text) => text
            .to_string_lossy()
            .parse()
            .ok()
            .filter(|mib| (1..=MAX_MEMORY_MIB).contains(mib))
            .ok_or(format!("BOUNDARY_FUZZ_MAX_MEMORY takes a whole number of MiB from 1 to {MAX_MEMORY_MIB}"))?,
    };
    let base = HostOptions {
        max_memory: Some(max_memory_mib.saturating_mul(1 << 20)),
        trap_on_grow_failure: true,
        ..HostOptions::default()
    };
    let [a, b] = profiles;
    let plugins = [differential::load(&wasm, a, base, &request)?, differential::load(&wasm, b, base, &request)?];
    let findings = var("BOUNDARY_FUZZ_FINDINGS").map_or_else(|| PathBuf::from("fuzz/artifacts/plugin"), PathBuf::from);
    let timeout = match var("BOUNDARY_FUZZ_TIMEOUT") {
        None => Duration::from_secs(10),
        Some(text) => text
            .to_string_lossy()
            .parse()
            .ok()
            .filter(|&secs| secs > 0)
            .map(Duration::from_secs)
            .ok_or("BOUNDARY_FUZZ_TIMEOUT takes a whole number of seconds above 0")?,
    };
    let base = (0..request.inputs.len()).map(|i| input_bytes(&request, i)).collect();
    Ok(Target { request, module, profiles, plugins, base, findings, timeout })
}

/// Writes the input in flight out as a request file once it has run for half of `BOUNDARY_FUZZ_TIMEOUT`: libFuzzer's
/// `-timeout` ends the run with the raw input only, and the input that hung must replay as a request.
fn watch(target: &'static Target) {
    loop {
        std::thread::sleep(Duration::from_millis(50));
        let in_flight = IN_FLIGHT.lock().unwrap_or_else(PoisonError::into_inner);
        let Some((inputs, started)) = in_flight.as_ref() else { continue };
        let running = started.elapsed();
        if running < target.timeout / 2 || WRITTEN.swap(true, Ordering::AcqRel) {
            continue;
        }
        let name = format!("hang-{:016x}", fnv1a(&inputs.concat()));
        let text = format!(
            "# A finding of the cargo-fuzz target `plugin`: an input still running after {:.1} s\n# Replay: boundary \
             --request <this file> --profile {}\n{}",
            running.as_secs_f64(),
            target.profiles[0],
            target.request.to_toml(target.module.as_deref(), inputs)
        );
        let path = target.findings.join(format!("{name}.toml"));
        match std::fs::create_dir_all(&target.findings).and_then(|()| std::fs::write(&path, text)) {
            Ok(()) => eprintln!("plugin: an input is still running; written to {}", path.display()),
            Err(e) => eprintln!("plugin: an input is still running; {} not written: {e}", path.display()),
        }
    }
}

libfuzzer_sys::fuzz_target!(
    // Before libFuzzer runs an input: a mistake in the set-up exits here, where libFuzzer does not take it for a
    // crash of the target.
    init: {
        let target = target();
        std::thread::spawn(move || watch(target));
    },
    |data: &[u8]| one_input(data)
);

/// Serves one input under both profiles and compares the outcomes.
fn one_input(data: &[u8]) {
    let target = target();
    let mut inputs = target.base.clone();
    let (which, bytes) = match (inputs.len(), data.split_first()) {
        (1, _) => (0, data),
        (n, Some((&first, rest))) => (usize::from(first) % n, rest),
        (_, None) => return,
    };
    inputs[which] = bytes.to_vec();
    WRITTEN.store(false, Ordering::Release);
    *IN_FLIGHT.lock().unwrap_or_else(PoisonError::into_inner) = Some((inputs.clone(), Instant::now()));
    let outcomes: [Outcome; 2] = [0, 1].map(|i| differential::serve(&target.plugins[i], &inputs));
    *IN_FLIGHT.lock().unwrap_or_else(PoisonError::into_inner) = None;
    if differential::differ(&outcomes) {
        let name = format!("finding-{:016x}", fnv1a(data));
        let what = format!("the cargo-fuzz target `plugin`: input {name}");
        let text = differential::finding(
            &what,
            &target.request,
            target.module.as_deref(),
            &inputs,
            target.profiles,
            &outcomes,
        );
        let written = std::fs::create_dir_all(&target.findings)
            .and_then(|()| std::fs::write(target.findings.join(format!("{name}.toml")), text));
        panic!(
            "`{}` gave {}, `{}` gave {}; the request that replays it: {} ({})",
            target.profiles[0],
            outcomes[0].text(),
            target.profiles[1],
            outcomes[1].text(),
            target.findings.join(format!("{name}.toml")).display(),
            written.map_or_else(|e| format!("not written: {e}"), |()| "written".to_string())
        );
    }
}

/// A name for an input (FNV-1a, 64 bits).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}
