//! The criterion matrix of host <-> guest crossings under every engine profile (`cargo bench --bench matrix`,
//! `boundary bench`): what a row is (`row`), every row (`rows`), what the rows of a profile measure (`fixtures`), the
//! runner (`bench`), the host core against raw wasmtime (`overhead`,
//! `paired`), and its record (`record`). Row ids are slash paths, so a filter (`calls/nop`, `/winch`) picks a family
//! or a profile. A complete run (no filter, not `--quick`) of the project's guest under `cargo bench` writes its
//! summary to `results/<date>/`; every run writes one to `<scratch>/latest/` ([`Records`]).

mod bench;
pub mod fixtures;
pub mod overhead;
pub mod paired;
pub mod record;
pub mod row;
pub mod rows;

use crate::child::{self, Child, Launcher};
use crate::guard;
use crate::options::{self, ProfileOptions, SubjectOptions};
use crate::probe::{self, Prepared};
use crate::record::{Environment, Records};
use crate::subject::Subject;
use bench::{measure_natives, measure_profile};
use boundary_host::EngineProfile;
use criterion::Criterion;
use record::Summary;
use row::Row;
use std::io::Write as _;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

/// The matrix's own options: everything else on its command line is criterion's (filters, `--quick`,
/// `--sample-size`, ...), handed to criterion as it is.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "cargo bench --bench matrix --",
    about = "The criterion matrix of host <-> guest crossings under every engine profile.",
    after_help = "Every other argument is criterion's (a filter, --quick, --sample-size N, ...) and is passed to it."
)]
pub struct MatrixOptions {
    #[command(flatten)]
    pub subject: SubjectOptions,
    #[command(flatten)]
    pub profiles: ProfileOptions,
    /// Rewrite results/README.md and README's latest-results block from the committed runs, measuring nothing.
    #[arg(long)]
    pub reindex: bool,
}

impl MatrixOptions {
    /// The options as a command line gives them (paths absolute), for the child copy and the record.
    pub fn to_args(&self) -> Vec<String> {
        let mut args = self.subject.to_args();
        args.extend(self.profiles.to_args());
        args
    }
}

/// How criterion was asked to run, read from its part of the command line (the matrix's own options are apart).
struct RunArgs {
    measuring: bool,
    quick: bool,
    command: String,
}

impl RunArgs {
    fn parse(criterion: &[String], own: &[String], records: &Records) -> Self {
        let has = |flag: &str| criterion.iter().any(|a| a == flag);
        let criterion_args: Vec<&str> = criterion.iter().map(String::as_str).filter(|a| *a != "--bench").collect();
        let command = if records.committed.is_none() {
            // The `boundary` command: its own options, then criterion's after `--`.
            let mut command = format!("{} bench", records.program);
            for arg in own {
                command.push(' ');
                command.push_str(arg);
            }
            if !criterion_args.is_empty() {
                command.push_str(&format!(" -- {}", criterion_args.join(" ")));
            }
            command
        } else {
            let user_args: Vec<&str> = own.iter().map(String::as_str).chain(criterion_args).collect();
            let base = if cfg!(feature = "cpp") { "cargo bench --features cpp" } else { "cargo bench" };
            // The matrix's own options are the matrix's alone: with them, the user named the bench target.
            let base = if own.is_empty() { base.to_string() } else { format!("{base} --bench matrix") };
            if user_args.is_empty() { base } else { format!("{base} -- {}", user_args.join(" ")) }
        };
        RunArgs {
            // Criterion measures only when cargo passed `--bench` and nobody asked for `--test` or `--list`.
            measuring: has("--bench") && !has("--test") && !has("--list") && !has("--profile-time"),
            quick: has("--quick"),
            command,
        }
    }
}

/// The role of this executable's child copies that measure the host-core-against-raw check (see `overhead.rs`).
pub const OVERHEAD_ROLE: &str = "overhead";
/// The role of the child copy that runs criterion when the matrix's own options were on the command line: criterion
/// refuses options it does not know, so the child gets criterion's alone and the matrix's in its role.
pub const CRITERION_ROLE: &str = "matrix";

/// The overhead check's child: measures every pair under every profile and prints the samples as JSON lines.
pub fn overhead_child() -> ExitCode {
    let mut out = std::io::stdout().lock();
    for &profile in EngineProfile::ALL {
        for sample in overhead::measure(profile) {
            let line = serde_json::to_string(&sample).expect("a sample is plain numbers and strings");
            if writeln!(out, "{line}").is_err() {
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

/// The host core against raw wasmtime, pair by pair, in [`overhead::PROCESSES`] child processes.
fn overhead_checks() -> Result<Vec<overhead::OverheadCheck>, String> {
    let launcher = Launcher::this(Vec::new())?;
    let mut samples = Vec::new();
    for process in 1..=overhead::PROCESSES {
        let started = Instant::now();
        let child = Child {
            launcher: &launcher,
            role: OVERHEAD_ROLE,
            role_args: Vec::new(),
            wrapper: Vec::new(),
            capture: true,
            deadline: None,
        };
        let output = child.run().map_err(|e| format!("measuring process {process} {e}"))?;
        if !output.status.success() {
            return Err(format!("measuring process {process} failed ({}): {}", output.status, output.stderr_line()));
        }
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            let sample: overhead::Sample = serde_json::from_str(line)
                .map_err(|e| format!("measuring process {process} printed `{line}`, not a sample: {e}"))?;
            samples.push(sample);
        }
        println!(
            "process {process} of {}: {} profiles x {} pairs x {} placements in {:.1} s",
            overhead::PROCESSES,
            EngineProfile::ALL.len(),
            overhead::PAIRS.len(),
            overhead::PLACEMENTS,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(overhead::summarise(&EngineProfile::names(), &samples))
}

/// Rewrites `results/README.md` and the top-level README's latest-results block from the committed runs.
fn reindex() -> ExitCode {
    let workspace = crate::record::workspace_root();
    let results = workspace.join("results");
    let done =
        record::write_index(&results).and_then(|()| record::write_readme_block(&workspace.join("README.md"), &results));
    match done {
        Ok(()) => {
            println!("rewrote {} and the latest-results block of README.md", results.join("README.md").display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: rewriting the results index failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The program name and `words`, as clap parses a command line.
fn with_program(words: &[String]) -> Vec<String> {
    std::iter::once("matrix".to_string()).chain(words.iter().cloned()).collect()
}

/// `cargo bench --bench matrix -- ARGS`: the matrix's own options taken out by their names, the rest criterion's.
pub fn cargo_main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        let _: MatrixOptions = options::parse_or_exit(with_program(&["--help".to_string()]));
    }
    let (own, criterion) = options::split_known::<MatrixOptions>(&args);
    let options: MatrixOptions = options::parse_or_exit(with_program(&own));
    run(options, criterion, Records::checkout())
}

/// Runs the matrix with its own options and criterion's arguments (`criterion`), writing its records to `records`.
/// Criterion reads the process's command line itself: unless that holds criterion's arguments alone, the matrix runs
/// in a child copy of this executable whose command line does.
pub fn run(options: MatrixOptions, criterion: Vec<String>, records: Records) -> ExitCode {
    if options.reindex {
        return reindex();
    }
    let own = options.to_args();
    if std::env::args().skip(1).eq(criterion.iter().cloned()) {
        return measure(options, &own, &criterion, &records);
    }
    // Criterion gets a command line of its own; this process waits for it.
    let child = Launcher::this(criterion).and_then(|launcher| {
        let records = serde_json::to_string(&records).map_err(|e| e.to_string())?;
        let child = Child {
            launcher: &launcher,
            role: CRITERION_ROLE,
            role_args: std::iter::once(records).chain(own).collect(),
            wrapper: Vec::new(),
            capture: false,
            deadline: None,
        };
        child.run().map_err(|e| format!("the matrix {e}"))
    });
    match child {
        Ok(finished) => child::exit_code(finished.status),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(options::EXIT_BAD_INPUT)
        }
    }
}

/// The child that runs criterion ([`CRITERION_ROLE`]): the records' places and the matrix's options in its role,
/// criterion's on its command line.
pub fn criterion_child(args: &[String]) -> ExitCode {
    let Some((records, own)) = args.split_first() else {
        eprintln!("error: the matrix's child was given no records");
        return ExitCode::from(options::EXIT_BAD_INPUT);
    };
    let records: Records = match serde_json::from_str(records) {
        Ok(records) => records,
        Err(e) => {
            eprintln!("error: the matrix's child was given no records: {e}");
            return ExitCode::from(options::EXIT_BAD_INPUT);
        }
    };
    let options: MatrixOptions = options::parse_or_exit(with_program(own));
    let criterion: Vec<String> = std::env::args().skip(1).collect();
    measure(options, own, &criterion, &records)
}

/// Measures: criterion's command line is `criterion` (criterion itself reads this process's arguments).
fn measure(options: MatrixOptions, own: &[String], criterion: &[String], records: &Records) -> ExitCode {
    let args = RunArgs::parse(criterion, own, records);
    let filters: Vec<&String> = criterion.iter().filter(|a| !a.starts_with('-')).collect();
    if !cfg!(feature = "cpp") && filters.iter().any(|f| f.contains("cpp")) {
        eprintln!(
            "error: this build has no C++ host rows: run `cargo bench --features cpp -- {}` (the C++ host needs \
             cmake and a C++17 compiler; see README)",
            criterion.join(" ")
        );
        return ExitCode::from(2);
    }
    let prepared = Subject::of(&options.subject).and_then(|subject| {
        guard::configure(options.subject.limits.limits(), subject.imports());
        probe::prepare(&subject).map(|p| (subject, p))
    });
    let (subject, Prepared { serves, .. }) = match prepared {
        Ok(prepared) => prepared,
        Err(e) => {
            eprintln!("error: {}", boundary_host::escape_controls(&e));
            return ExitCode::from(2);
        }
    };
    let profiles = match subject.compiled_under(options.profiles.or_all()) {
        Ok(profiles) => profiles,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let (planned, skipped) = rows::for_subject(&subject, &serves, cfg!(feature = "cpp"));
    if !subject.is_built_in() {
        println!("measuring {}", subject.describe());
        // One line per reason: a plugin skips most rows for the same one.
        let mut reasons: Vec<(&str, Vec<&str>)> = Vec::new();
        for s in &skipped {
            match reasons.iter_mut().find(|(why, _)| *why == s.why) {
                Some((_, ids)) => ids.push(&s.id),
                None => reasons.push((&s.why, vec![&s.id])),
            }
        }
        for (why, ids) in &reasons {
            let shown: Vec<&str> = ids.iter().take(3).copied().collect();
            let more =
                if ids.len() > shown.len() { format!(" and {} more", ids.len() - shown.len()) } else { String::new() };
            println!("skipped: {}{more} ({why})", shown.join(", "));
        }
    }
    let criterion_dir = records.criterion.clone();
    let started = SystemTime::now();
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(700))
        .measurement_time(Duration::from_millis(1500))
        .sample_size(50)
        .output_directory(&criterion_dir)
        .configure_from_args();

    measure_natives(&mut c);
    let mut unregistered = Vec::new();
    for &profile in &profiles {
        if args.measuring {
            println!("\n--- engine profile `{profile}`: {}", profile.summary());
        }
        unregistered.extend(measure_profile(&mut c, profile, &subject, &planned));
    }
    c.final_summary();
    if !unregistered.is_empty() {
        // Every run says it, `cargo test --benches` (CI) included: such a row would stop every complete run from
        // writing `results/`.
        eprintln!(
            "error: {} planned benchmark(s) were never registered: {}; each row's measure in `rows::ROWS` must hand \
             its operation to `Bench::iter` or `Bench::batch` (see benches/README.md, \"Extending\")",
            unregistered.len(),
            unregistered.iter().take(8).cloned().collect::<Vec<_>>().join(", ")
        );
        return ExitCode::FAILURE;
    }
    if args.measuring {
        let checks = if subject.is_built_in() {
            println!(
                "\n--- host core against raw wasmtime, interleaved, in {} processes of {} placements each",
                overhead::PROCESSES,
                overhead::PLACEMENTS
            );
            match overhead_checks() {
                Ok(checks) => checks,
                Err(e) => {
                    eprintln!("error: the host-core-against-raw check failed: {e}");
                    return ExitCode::FAILURE;
                }
            }
        } else {
            Vec::new()
        };
        for check in &checks {
            println!(
                "{:<16}{:<34} {:+6.1}% (range {:+.1}% .. {:+.1}% over {})",
                check.profile,
                check.core_row,
                check.overhead * 100.0,
                check.lowest * 100.0,
                check.highest * 100.0,
                check.measurements
            );
        }
        let run = Run { args: &args, subject: &subject, profiles: &profiles, planned: &planned, skipped: &skipped };
        if let Err(e) = finish(&run, records, started, checks) {
            eprintln!("error: writing the results summary failed: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

/// What a run was asked to measure, for its summary.
struct Run<'a> {
    args: &'a RunArgs,
    subject: &'a Subject,
    profiles: &'a [EngineProfile],
    planned: &'a [Row],
    skipped: &'a [rows::Skipped],
}

/// Summarises what this run measured: always into `target/boundary-results/latest/`; for the project's guest,
/// into `results/<date>/` when the run was complete and not `--quick`; for a user's module, into
/// `target/boundary-results/<module>-<hash>/`, never into `results/`.
fn finish(
    run: &Run<'_>,
    records: &Records,
    started: SystemTime,
    overhead: Vec<overhead::OverheadCheck>,
) -> std::io::Result<()> {
    let args = run.args;
    let measured = record::collect(&records.criterion, started)?;
    let profiles: Vec<&str> = run.profiles.iter().map(|p| p.name()).collect();
    // The typed calls of an `--invoke` export whose signature the typed path does not cover are never registered.
    let expected_rows: Vec<Row> = run
        .planned
        .iter()
        .filter(|row| !row.id.starts_with("invoke/") || measured.keys().any(|k| k.starts_with(&*row.id)))
        .cloned()
        .collect();
    let expected = record::expected_ids(&profiles, &expected_rows);
    let missing: Vec<&String> = expected.iter().filter(|id| !measured.contains_key(*id)).collect();
    let mut mode = if args.quick {
        "criterion --quick".to_string()
    } else {
        "criterion: 0.7 s warm-up, 1.5 s measurement, 50 samples (unless overridden on the command line)".to_string()
    };
    if !cfg!(feature = "cpp") {
        mode.push_str("; built without the C++ host, so no C++ rows (`cargo bench --features cpp` has them)");
    }
    let workspace = crate::record::workspace_root();
    let mut env = Environment::capture(&workspace, args.command.clone(), mode);
    if !run.subject.is_built_in() {
        env.module = Some(run.subject.describe());
    }
    env.elapsed_s = started.elapsed().ok().map(|d| d.as_secs_f64());
    let summary = Summary::build(env.clone(), &profiles, &expected_rows, run.skipped, &measured, overhead);
    let scratch = records.scratch.join("latest");
    summary.write(&scratch)?;
    println!("\nsummary of this run: {}", scratch.join("summary.md").display());
    for o in summary.overhead.iter().filter(|o| !o.within_limit) {
        println!(
            "host core over the {:.0}% limit, interleaved: {} vs {} under {}: {:+.1}%",
            rows::OVERHEAD_LIMIT * 100.0,
            o.core_row,
            o.raw_row,
            o.profile,
            o.overhead * 100.0
        );
    }
    if !run.subject.is_built_in() {
        let dir = records.scratch.join(run.subject.results_name());
        summary.write(&dir)?;
        if !missing.is_empty() {
            println!("{} of {} benchmarks were not measured in this run (a filter?)", missing.len(), expected.len());
        }
        println!("results for {} written to {}", run.subject.describe(), dir.display());
        return Ok(());
    }
    let Some(results) = &records.committed else {
        println!("the record of this run is {}", scratch.display());
        return Ok(());
    };
    if args.quick || !missing.is_empty() || profiles.len() < EngineProfile::ALL.len() {
        let why = if args.quick {
            "a --quick run".to_string()
        } else {
            let named: Vec<&str> = missing.iter().take(8).map(|id| id.as_str()).collect();
            let more = if missing.len() > named.len() { ", ..." } else { "" };
            format!(
                "{} of {} benchmarks were not measured in this run ({}{more})",
                missing.len(),
                expected.len(),
                named.join(", ")
            )
        };
        println!("results/ left as it was: {why}; a complete `cargo bench` writes results/<date>/");
        return Ok(());
    }
    let dir = crate::record::run_dir(results, &env);
    summary.write(&dir)?;
    record::write_index(results)?;
    record::write_readme_block(&workspace.join("README.md"), results)?;
    println!("results written to {}", dir.display());
    Ok(())
}
