//! `boundary versions OLD [NEW]`: the gate's scenarios under two wasmtime versions, side by side. Each version is
//! built from this checkout in a generated workspace of its own ([`workspace`]); each build's `boundary` counts the
//! scenarios (its own gate, `--save-baseline` to a file of the comparison's), reports its engines' resolved settings
//! ([`SETTINGS_ROLE`]), and times each scenario natively in rounds that interleave the two builds
//! ([`crate::gate::runner::TIME_ROLE`]); [`report`] puts them side by side.

pub mod report;
pub mod workspace;

use crate::child::{Child, Launcher};
use crate::gate::{self, Baseline, runner};
use crate::options;
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

/// `boundary versions`' options (the CLI adds `--out`, the folder the report goes under, as its other measuring
/// subcommands have it).
#[derive(Debug, Clone, clap::Args)]
#[command(
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
    /// Interleaved rounds of wall-time runs (0: no wall times).
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub rounds: u32,
    /// The gate's own options: what it counts, and how many times (`--repeat 2` or more measures each count's
    /// spread, so that a change is called on the exact threshold).
    #[command(flatten)]
    pub counting: runner::Counting,
    /// The checkout to build from [default: the one this command was built from].
    #[arg(long, value_name = "DIR")]
    pub source: Option<PathBuf>,
}

/// A version as cargo pins it exactly: `MAJOR.MINOR.PATCH`, with an optional pre-release.
fn version_value(text: &str) -> Result<String, String> {
    let (core, pre) = match text.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (text, None),
    };
    let parts: Vec<&str> = core.split('.').collect();
    let numbers = parts.len() == 3 && parts.iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    let pre_ok = pre.is_none_or(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '.'));
    if numbers && pre_ok {
        Ok(text.to_string())
    } else {
        Err(format!("`{text}` is not an exact version: give all three numbers, as in 47.0.4"))
    }
}

/// Runs the comparison, its report under `out/versions/`: exit status 0 with the report written, 2 with one
/// `error:` line.
pub fn command(options: &Options, out: &Path) -> ExitCode {
    options::exit_status(run(options, out).map(|dir| println!("versions: the report is in {}", dir.display())))
}

/// Prints one progress line.
fn say(line: &str) {
    eprintln!("versions: {line}");
}

/// Builds both versions, counts, reads the settings, times, and writes the report under `out/versions/<date>/`,
/// returning its folder.
pub fn run(options: &Options, out: &Path) -> Result<PathBuf, String> {
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
    // Both workspaces and what cargo resolves in them first: a version that does not exist, or that needs a newer
    // Rust than the toolchain, is refused before any build.
    let mut features = Vec::new();
    for build in &builds {
        build.generate(&checkout, &options.features)?;
        let resolved = build.wasmtime_features()?;
        build.check_toolchain(&resolved)?;
        features.push(resolved);
    }
    for build in &builds {
        say(&format!(
            "building the harness against wasmtime {} in {} (a first build of wasmtime takes 5 to 17 minutes)",
            build.version,
            build.root.display()
        ));
        build.build()?;
    }
    for (build, resolved) in builds.iter().zip(&mut features) {
        resolved.built = build.built_features()?;
    }
    // Settings that cannot be read (another version's artifact layout) leave the rest of the comparison standing.
    let settings = match (engine_settings(&builds[0]), engine_settings(&builds[1])) {
        (Ok(old), Ok(new)) => Ok([old, new]),
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    let counts = [counted(&builds[0], options)?, counted(&builds[1], options)?];
    let mut rows = report::scenario_rows(&counts[0], &counts[1], gate::DEFAULT_THRESHOLD_PERCENT);
    time_interleaved(&builds, &mut rows, options);
    let command = std::iter::once("boundary versions".to_string()).chain(std::env::args().skip(2)).collect::<Vec<_>>();
    let mode = format!(
        "{} counting rounds per version; {} interleaved wall-time rounds",
        options.counting.repeat, options.rounds
    );
    let mut environment = Environment::capture(&checkout, command.join(" "), mode);
    environment.wasmtime = format!("{} and {new}", options.old);
    environment.rustc = counts[1].rustc.clone();
    environment.module = counts[1].module.clone();
    environment.elapsed_s = Some(started.elapsed().as_secs_f64());
    let new_features = features.pop().ok_or("no features resolved")?;
    let old_features = features.pop().ok_or("no features resolved")?;
    let (configurations, differences, settings_not_read) = match &settings {
        Ok([old, new]) => {
            (new.configs.iter().map(|c| c.config.clone()).collect(), report::settings_differences(old, new), None)
        }
        Err(why) => (Vec::new(), Vec::new(), Some(why.clone())),
    };
    let report = Report {
        environment,
        old: options.old.clone(),
        new,
        built_with: options.features.describe(),
        rustc: counts[1].rustc.clone(),
        old_features,
        new_features,
        configurations,
        settings: differences,
        settings_not_read,
        repeat: options.counting.repeat,
        rounds: options.rounds,
        timed_at_least_ms: runner::TIMED_AT_LEAST.as_millis() as u64,
        loose_percent: gate::DEFAULT_THRESHOLD_PERCENT,
        scenarios: rows,
    };
    write_report(&report, &out.join("versions"))
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
    let report: SettingsReport =
        serde_json::from_slice(&finished.stdout).map_err(|e| format!("wasmtime {}'s settings: {e}", build.version))?;
    same_version(build, &report.wasmtime)?;
    Ok(report)
}

/// An error unless the build reports the version it was made for (a lock file that chose another would mislabel the
/// whole report).
fn same_version(build: &Build, reported: &str) -> Result<(), String> {
    if reported == build.version {
        return Ok(());
    }
    Err(format!(
        "the build in {} reports wasmtime {reported}, not {}: remove that folder and run again",
        build.root.display(),
        build.version
    ))
}

/// Counts the scenarios with `build`'s own gate, its output shown as it goes, into a baseline file of the
/// comparison's in the build's folder. The gate keeps going past a scenario that fails (`--keep-going`): the
/// baseline lists it with its error, and the report shows it as failed under that version.
fn counted(build: &Build, options: &Options) -> Result<Baseline, String> {
    let file = build.root.join("counts.json");
    let _ = std::fs::remove_file(&file);
    say(&format!("counting the scenarios under wasmtime {} (its own gate, under valgrind)", build.version));
    let mut gate = Command::new(build.binary());
    gate.args(["gate", "--save-baseline", "--keep-going", "--baseline"]).arg(&file).args(options.counting.to_args());
    gate.env_remove("RUST_BACKTRACE").env_remove("RUST_LIB_BACKTRACE").stdin(Stdio::null());
    let status = gate.status().map_err(|e| format!("could not start {}: {e}", build.binary().display()))?;
    // Exit status 1: the baseline was written, with the scenarios that failed in it; 2: an error ended the gate.
    if !(status.success() || (status.code() == Some(1) && file.is_file())) {
        return Err(format!("the gate under wasmtime {} failed (its error is above)", build.version));
    }
    let text = std::fs::read_to_string(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let counts: Baseline = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
    same_version(build, &counts.wasmtime)?;
    Ok(counts)
}

/// Times every row's scenario under both builds, each run a process of its build ([`runner::TIME_ROLE`]).
fn time_interleaved(builds: &[Build; 2], rows: &mut [ScenarioRow], options: &Options) {
    let launchers = [launcher(&builds[0]), launcher(&builds[1])];
    let subject = &options.counting.subject;
    let deadline = subject.limits.timeout.saturating_mul(4).saturating_add(Duration::from_secs(60));
    let timed = rows.iter().filter(|r| r.old_instructions.is_some() && r.new_instructions.is_some()).count();
    let progress = |round: u32| {
        say(&format!(
            "wall time, round {} of {}: {timed} scenarios, each under both versions",
            round + 1,
            options.rounds
        ))
    };
    interleave(rows, options.rounds, progress, |side, row| {
        let (launcher, wrapper) = &launchers[side];
        let mut role_args = vec![row.scenario.clone(), row.profile.clone()];
        role_args.extend(subject.to_args());
        let child = Child {
            launcher,
            role: runner::TIME_ROLE,
            role_args,
            wrapper: wrapper.clone(),
            capture: true,
            deadline: Some(deadline),
        };
        let outcome = match child.run() {
            Ok(f) if f.status.success() => String::from_utf8_lossy(&f.stdout)
                .lines()
                .find_map(|l| l.strip_prefix(runner::TIME_LINE)?.trim().parse::<f64>().ok())
                .ok_or_else(|| "the timed run printed no time".to_string()),
            Ok(f) => Err(f.stderr_line()),
            Err(e) => Err(format!("the timed run {e}")),
        };
        outcome.map_err(|e| format!("under wasmtime {}: {e}", builds[side].version))
    });
}

/// The rounds of timed runs: in each, every row counted under both versions runs once under each (`time(side,
/// row)`, side 0 the old version), one right after the other, the side that goes first alternating from row to row
/// and round to round, so neither always runs first after the other's process. A run that fails leaves its row
/// untimed under both, with the error, and it is not run again.
fn interleave(
    rows: &mut [ScenarioRow],
    rounds: u32,
    mut progress: impl FnMut(u32),
    mut time: impl FnMut(usize, &ScenarioRow) -> Result<f64, String>,
) {
    for round in 0..rounds {
        progress(round);
        for (index, row) in rows.iter_mut().enumerate() {
            if row.old_instructions.is_none() || row.new_instructions.is_none() || row.not_timed.is_some() {
                continue;
            }
            let order = if (round as usize + index).is_multiple_of(2) { [0, 1] } else { [1, 0] };
            for side in order {
                match time(side, row) {
                    Ok(ns) if side == 0 => row.old_ns.push(ns),
                    Ok(ns) => row.new_ns.push(ns),
                    Err(e) => {
                        row.not_timed = Some(e);
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

    fn row(scenario: &str, counted_under_both: bool) -> ScenarioRow {
        let count = |wasmtime: &str| {
            let count = crate::gate::Count {
                scenario: scenario.into(),
                profile: "cranelift".into(),
                iterations: 1,
                total_instructions: 10,
                instructions_per_op: 10.0,
                spread_per_op: None,
                faults_per_op: None,
            };
            serde_json::from_value::<Baseline>(serde_json::json!({
                "date": "", "command": "", "git_revision": "", "cpu": "", "rustc": "", "wasmtime": wasmtime,
                "valgrind": "", "counts": [count],
            }))
            .unwrap()
        };
        let new = if counted_under_both { count("48") } else { Baseline { counts: vec![], ..count("48") } };
        report::scenario_rows(&count("47"), &new, 2.0).remove(0)
    }

    #[test]
    fn rounds_alternate_which_version_goes_first_and_pair_each_rounds_runs() {
        let mut rows = vec![row("a", true), row("b", true), row("only-old", false)];
        let (mut calls, mut rounds_seen) = (Vec::new(), Vec::new());
        interleave(
            &mut rows,
            2,
            |r| rounds_seen.push(r),
            |side, row| {
                calls.push((row.scenario.clone(), side));
                Ok(if side == 0 { 10.0 } else { 12.0 } + calls.len() as f64)
            },
        );
        let order: Vec<(&str, usize)> = calls.iter().map(|(s, side)| (s.as_str(), *side)).collect();
        // Round 0: a old first, b new first; round 1 the other way round. A row counted under one version only is
        // not timed.
        assert_eq!(order, [("a", 0), ("a", 1), ("b", 1), ("b", 0), ("a", 1), ("a", 0), ("b", 0), ("b", 1)]);
        assert_eq!(rounds_seen, [0, 1]);
        assert_eq!((rows[0].old_ns.clone(), rows[0].new_ns.clone()), (vec![11.0, 16.0], vec![14.0, 17.0]));
        assert!(rows[2].old_ns.is_empty() && rows[2].new_ns.is_empty());
    }

    #[test]
    fn a_failed_run_leaves_its_row_untimed_under_both_and_is_not_run_again() {
        let mut rows = vec![row("a", true), row("b", true)];
        let mut runs_of_a = 0;
        interleave(
            &mut rows,
            3,
            |_| {},
            |side, row| {
                if row.scenario == "a" {
                    runs_of_a += 1;
                    if side == 1 {
                        return Err("under wasmtime 48: it trapped".into());
                    }
                }
                Ok(1.0)
            },
        );
        assert_eq!(rows[0].not_timed.as_deref(), Some("under wasmtime 48: it trapped"));
        assert!(rows[0].old_ns.is_empty() && rows[0].new_ns.is_empty());
        assert_eq!(runs_of_a, 2, "old then new in the first round, then never again");
        assert_eq!(rows[1].old_ns.len(), 3);
    }

    #[test]
    fn versions_are_exact() {
        assert_eq!(version_value("47.0.4").unwrap(), "47.0.4");
        assert_eq!(version_value("50.0.0-rc.1").unwrap(), "50.0.0-rc.1");
        for bad in ["47", "47.0", "v47.0.4", "47.0.x", "", "47.0.4-", "47.0.4-a b"] {
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
