//! `boundary versions OLD [NEW]`: the gate's scenarios under two wasmtime versions, side by side. Each version is
//! built from this checkout in a generated workspace of its own ([`workspace`]); each build's `boundary` counts the
//! scenarios (its own gate, `--save-baseline` to a file of the comparison's), reports its engines' resolved settings
//! ([`SETTINGS_ROLE`]), and times each scenario natively in rounds that interleave the two builds
//! ([`crate::gate::runner::TIME_ROLE`]); [`report`] puts them side by side.

pub mod report;
pub mod workspace;

use crate::child::{Child, Launcher};
use crate::gate::{self, Baseline, runner};
use crate::options::{self, ProfileOptions, SubjectOptions};
use crate::record::{self, Environment};
use boundary_host::EngineProfile;
use report::{NamedSettings, Report, ScenarioRow, SettingsReport};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};
use workspace::{Build, FeatureSet};

/// The role of a child that prints its engines' resolved settings as JSON ([`SettingsReport`]).
pub const SETTINGS_ROLE: &str = "engine-settings";

/// The name the report gives wasmtime's own default configuration.
pub const DEFAULT_CONFIG: &str = "wasmtime's default Config";

/// `boundary versions`' options.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "boundary versions",
    about = "The gate's scenarios under two wasmtime versions, side by side: instructions per operation, wall-time \
             medians of interleaved runs, page faults, and the cargo features and engine settings whose defaults \
             differ.",
    after_help = "Each version is built from this checkout in target/versions/ (a first build of wasmtime takes 5 to \
                  17 minutes); the counts need valgrind. The report goes to OUT/versions/<date>/."
)]
pub struct Options {
    /// The older wasmtime version, exactly (`47.0.4`).
    #[arg(value_name = "OLD", value_parser = version_value)]
    pub old: String,
    /// The newer one [default: the version this checkout builds with].
    #[arg(value_name = "NEW", value_parser = version_value)]
    pub new: Option<String>,
    /// wasmtime's cargo features in both builds: `default` (wasmtime's defaults, as embedders build it, plus what
    /// the harness needs), `harness` (this workspace's own set), or a list of features added to the harness's set.
    #[arg(long, value_name = "SET", default_value = "default", value_parser = FeatureSet::parse)]
    pub features: FeatureSet,
    /// The rustup toolchain both builds are made with (`nightly` for a wasmtime that needs a newer Rust).
    #[arg(long, value_name = "NAME")]
    pub toolchain: Option<String>,
    /// Count each scenario this many times in each version (the spread measured gives the exact thresholds).
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: u32,
    /// Interleaved rounds of wall-time runs (0: no wall times).
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub rounds: u32,
    /// Only scenarios (or profiles) whose names contain this string.
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
    #[command(flatten)]
    pub profiles: ProfileOptions,
    /// How many scenarios each gate counts at once [default: one per core].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: Option<u32>,
    #[command(flatten)]
    pub subject: SubjectOptions,
    /// The checkout to build from [default: the one this command was built from].
    #[arg(long, value_name = "DIR")]
    pub source: Option<PathBuf>,
    /// Write the report under DIR/versions/<date>/.
    #[arg(long, value_name = "DIR", default_value = "boundary-results")]
    pub out: PathBuf,
}

/// A version as cargo pins it exactly: `MAJOR.MINOR.PATCH`, with an optional pre-release.
fn version_value(text: &str) -> Result<String, String> {
    let (core, _pre) = text.split_once('-').unwrap_or((text, ""));
    let parts: Vec<&str> = core.split('.').collect();
    if parts.len() == 3 && parts.iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit())) {
        Ok(text.to_string())
    } else {
        Err(format!("`{text}` is not an exact version: give all three numbers, as in 47.0.4"))
    }
}

/// Runs the comparison: exit status 0 with the report written, 2 with one `error:` line.
pub fn command(options: &Options) -> ExitCode {
    options::exit_status(run(options).map(|dir| println!("versions: the report is in {}", dir.display())))
}

/// Prints one progress line.
fn say(line: &str) {
    eprintln!("versions: {line}");
}

pub fn run(options: &Options) -> Result<PathBuf, String> {
    let started = Instant::now();
    let checkout =
        options.source.as_ref().map_or_else(record::workspace_root, |s| options::user_path(&s.to_string_lossy()));
    if !checkout.join("Cargo.toml").is_file() || !checkout.join("host").join("Cargo.toml").is_file() {
        return Err(format!(
            "{} is not this harness's checkout (no Cargo.toml and host/Cargo.toml): give it with --source",
            checkout.display()
        ));
    }
    let new = options.new.clone().unwrap_or_else(|| boundary_host::build_info::WASMTIME_VERSION.to_string());
    if new == options.old {
        return Err(format!("both versions are {new}: name two different ones"));
    }
    runner::valgrind_version().map_err(|e| format!("the comparison counts instructions: {e}"))?;
    let toolchain = options.toolchain.as_deref();
    let builds = [
        Build::new(&checkout, &options.old, &options.features, toolchain),
        Build::new(&checkout, &new, &options.features, toolchain),
    ];
    for build in &builds {
        build.generate(&checkout, &options.features)?;
        say(&format!(
            "building the harness against wasmtime {} in {} (a first build of wasmtime takes 5 to 17 minutes)",
            build.version,
            build.root.display()
        ));
        build.build()?;
    }
    let features = [builds[0].wasmtime_features()?, builds[1].wasmtime_features()?];
    let settings = [engine_settings(&builds[0])?, engine_settings(&builds[1])?];
    let counts = [counted(&builds[0], options)?, counted(&builds[1], options)?];
    let mut rows = report::scenario_rows(&counts[0], &counts[1], gate::DEFAULT_THRESHOLD_PERCENT);
    time_interleaved(&builds, &mut rows, options);
    let command = std::iter::once("boundary versions".to_string()).chain(std::env::args().skip(2)).collect::<Vec<_>>();
    let mode =
        format!("{} counting rounds per version; {} interleaved wall-time rounds", options.repeat, options.rounds);
    let mut environment = Environment::capture(&checkout, command.join(" "), mode);
    environment.wasmtime = format!("{} and {new}", options.old);
    environment.rustc = counts[1].rustc.clone();
    environment.module = counts[1].module.clone();
    environment.elapsed_s = Some(started.elapsed().as_secs_f64());
    let [old_features, new_features] = features;
    let report = Report {
        environment,
        old: options.old.clone(),
        new,
        built_with: options.features.describe(),
        rustc: counts[1].rustc.clone(),
        old_features,
        new_features,
        configurations: settings[1].configs.iter().map(|c| c.config.clone()).collect(),
        settings: report::settings_differences(&settings[0], &settings[1]),
        rounds: options.rounds,
        timed_at_least_ms: runner::TIMED_AT_LEAST.as_millis() as u64,
        loose_percent: gate::DEFAULT_THRESHOLD_PERCENT,
        scenarios: rows,
    };
    write_report(&report, &options::user_path(&options.out.to_string_lossy()).join("versions"))
}

fn write_report(report: &Report, under: &Path) -> Result<PathBuf, String> {
    let dir = record::run_dir(under, &report.environment);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let json = serde_json::to_string_pretty(report).map_err(|e| e.to_string())?;
    for (file, text) in [("report.json", json + "\n"), ("report.md", report.markdown())] {
        let path = dir.join(file);
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(dir)
}

/// The child that prints this build's engine settings: wasmtime's default `Config`, then each profile's.
pub fn settings_child() -> ExitCode {
    let mut configs = Vec::new();
    let mut named = vec![(DEFAULT_CONFIG.to_string(), Ok(boundary_host::wasmtime::Config::new()))];
    named.extend(EngineProfile::ALL.iter().map(|p| (p.name().to_string(), p.config().map_err(|e| e.to_string()))));
    for (config, made) in named {
        match made.and_then(|c| boundary_host::settings::resolved(&c)) {
            Ok(settings) => configs.push(NamedSettings { config, settings }),
            Err(e) => {
                eprintln!("error: {config}: {}", boundary_host::escape_controls(&e));
                return ExitCode::from(options::EXIT_BAD_INPUT);
            }
        }
    }
    let report = SettingsReport { wasmtime: boundary_host::build_info::WASMTIME_VERSION.to_string(), configs };
    match serde_json::to_string(&report) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => options::exit_status(Err(e.to_string())),
    }
}

/// The child processes of one build, without the variables that would make them count something else (with
/// wasmtime's `backtrace` feature, a default one, every trap captures a Rust backtrace when these are set).
fn launcher(build: &Build) -> (Launcher, Vec<String>) {
    let wrapper = ["env", "-u", "RUST_BACKTRACE", "-u", "RUST_LIB_BACKTRACE"].map(String::from).to_vec();
    (Launcher { program: build.binary(), args: Vec::new() }, wrapper)
}

fn engine_settings(build: &Build) -> Result<SettingsReport, String> {
    let (launcher, wrapper) = launcher(build);
    let child = Child {
        launcher: &launcher,
        role: SETTINGS_ROLE,
        role_args: Vec::new(),
        wrapper,
        capture: true,
        deadline: Some(Duration::from_secs(300)),
    };
    let finished = child.run().map_err(|e| format!("wasmtime {}'s settings: the child {e}", build.version))?;
    if !finished.status.success() {
        return Err(format!("wasmtime {}'s settings: {}", build.version, finished.stderr_line()));
    }
    serde_json::from_slice(&finished.stdout).map_err(|e| format!("wasmtime {}'s settings: {e}", build.version))
}

/// Counts the scenarios with `build`'s own gate, its output shown as it goes, into a baseline file of the
/// comparison's in the build's folder.
fn counted(build: &Build, options: &Options) -> Result<Baseline, String> {
    let file = build.root.join("counts.json");
    let _ = std::fs::remove_file(&file);
    say(&format!("counting the scenarios under wasmtime {} (its own gate, under valgrind)", build.version));
    let mut gate = Command::new(build.binary());
    gate.arg("gate")
        .arg("--save-baseline")
        .arg("--baseline")
        .arg(&file)
        .arg("--repeat")
        .arg(options.repeat.to_string());
    if let Some(filter) = &options.filter {
        gate.args(["--filter", filter]);
    }
    if let Some(jobs) = options.jobs {
        gate.args(["--jobs", &jobs.to_string()]);
    }
    gate.args(options.profiles.to_args()).args(options.subject.to_args());
    gate.env_remove("RUST_BACKTRACE").env_remove("RUST_LIB_BACKTRACE").stdin(Stdio::null());
    let status = gate.status().map_err(|e| format!("could not start {}: {e}", build.binary().display()))?;
    if !status.success() {
        return Err(format!("the gate under wasmtime {} failed (its error is above)", build.version));
    }
    let text = std::fs::read_to_string(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))
}

/// Times every row's scenario under both builds: in each round, each scenario runs once in a process of each build,
/// one right after the other, the build that goes first alternating from scenario to scenario and round to round.
/// A run that fails leaves its scenario untimed under both, its error kept.
fn time_interleaved(builds: &[Build; 2], rows: &mut [ScenarioRow], options: &Options) {
    if options.rounds == 0 {
        return;
    }
    let launchers = [launcher(&builds[0]), launcher(&builds[1])];
    let deadline = options.subject.limits.timeout.saturating_mul(4).saturating_add(Duration::from_secs(60));
    let timed = rows.iter().filter(|r| r.old_instructions.is_some() && r.new_instructions.is_some()).count();
    for round in 0..options.rounds {
        say(&format!(
            "wall time, round {} of {}: {timed} scenarios, each under both versions",
            round + 1,
            options.rounds
        ));
        for (index, row) in rows.iter_mut().enumerate() {
            if row.old_instructions.is_none() || row.new_instructions.is_none() || row.not_timed.is_some() {
                continue;
            }
            let order = if (round as usize + index).is_multiple_of(2) { [0, 1] } else { [1, 0] };
            for side in order {
                let (launcher, wrapper) = &launchers[side];
                let mut role_args = vec![row.scenario.clone(), row.profile.clone()];
                role_args.extend(options.subject.to_args());
                let child = Child {
                    launcher,
                    role: runner::TIME_ROLE,
                    role_args,
                    wrapper: wrapper.clone(),
                    capture: true,
                    deadline: Some(deadline),
                };
                let result = match child.run() {
                    Ok(f) if f.status.success() => String::from_utf8_lossy(&f.stdout)
                        .lines()
                        .find_map(|l| l.strip_prefix(runner::TIME_LINE)?.trim().parse::<f64>().ok())
                        .ok_or_else(|| "the timed run printed no time".to_string()),
                    Ok(f) => Err(f.stderr_line()),
                    Err(e) => Err(format!("the timed run {e}")),
                };
                match result {
                    Ok(ns) if side == 0 => row.old_ns.push(ns),
                    Ok(ns) => row.new_ns.push(ns),
                    Err(e) => {
                        row.not_timed = Some(format!("under wasmtime {}: {e}", builds[side].version));
                        row.old_ns.clear();
                        row.new_ns.clear();
                        break;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_exact() {
        assert_eq!(version_value("47.0.4").unwrap(), "47.0.4");
        assert_eq!(version_value("50.0.0-rc.1").unwrap(), "50.0.0-rc.1");
        for bad in ["47", "47.0", "v47.0.4", "47.0.x", ""] {
            assert!(version_value(bad).unwrap_err().contains("exact version"), "{bad}");
        }
    }

    #[test]
    fn the_settings_child_reports_the_default_config_and_every_profile() {
        // The role's work without its printing: what it resolves.
        let default = boundary_host::settings::resolved(&boundary_host::wasmtime::Config::new()).unwrap();
        assert!(default.features.iter().any(|f| f == "SIMD"), "{:?}", default.features);
        for profile in EngineProfile::ALL {
            boundary_host::settings::resolved(&profile.config().unwrap()).unwrap();
        }
    }
}
