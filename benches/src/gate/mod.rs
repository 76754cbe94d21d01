//! The instruction-count performance gate: scenarios, the committed baseline's format, and the comparison.
//! `benches/gate.rs` runs each scenario under callgrind and calls into here.
//!
//! Wall-clock figures on the project's machines move by 20-40% between runs, so CI gates on instruction counts:
//! under callgrind, with compilation single-threaded and code generation pinned to the target's baseline
//! features, the count of one scenario repeats exactly from run to run and from machine to machine of the same
//! kind.

pub mod runner;
pub mod scenarios;

pub use scenarios::{PROFILES, SCENARIOS, Scenario, find, for_subject};

use boundary_host::EngineProfile;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// The counts in Bencher's metric format (BMF JSON: `{"<benchmark>": {"instructions": {"value": n}}}`), one
/// benchmark per scenario and profile (`scenario/profile`), its value the instructions per operation.
pub fn bmf(counts: &[Count]) -> serde_json::Value {
    let mut benchmarks = serde_json::Map::new();
    for c in counts {
        let measure = serde_json::json!({ "instructions": { "value": c.instructions_per_op } });
        benchmarks.insert(format!("{}/{}", c.scenario, c.profile), measure);
    }
    serde_json::Value::Object(benchmarks)
}

/// `baseline`'s counts with those of `fresh` put in place of the same scenario and profile (and added where there
/// were none): what `--save-baseline --filter` keeps.
pub fn merge_counts(baseline: &[Count], fresh: &[Count]) -> Vec<Count> {
    let mut merged: Vec<Count> =
        baseline.iter().filter(|b| !fresh.iter().any(|f| f.key() == b.key())).cloned().collect();
    merged.extend(fresh.iter().cloned());
    merged
}

/// The gate's loose threshold: with no measured spread, or on another toolchain than the baseline's, a scenario
/// whose count grows by more than this many percent fails the gate.
pub const DEFAULT_THRESHOLD_PERCENT: f64 = 2.0;

/// On the baseline's toolchain, a scenario whose count repeated exactly fails on a growth of more than this many
/// instructions per operation, or of [`TIGHT_PERCENT`], whichever is larger.
pub const TIGHT_INSTRUCTIONS: f64 = 1.0;
pub const TIGHT_PERCENT: f64 = 0.1;
/// On the baseline's toolchain, a scenario whose counts spread fails on a growth of more than this many times its
/// measured spread (and never on less than the exact scenarios' margin).
pub const SPREAD_MARGIN: f64 = 4.0;
/// The scenarios counted in several processes ([`Scenario::processes`]) keep at least this many percent, under every
/// rule: the smallest of three processes still moves between runs, by up to 4.8% here (`calls/async_core` under
/// Pulley counted 4,202 and 4,404 instructions per op at one commit, after three rounds of `--repeat` that agreed),
/// so no number of agreeing rounds makes such a count exact; their page faults, which the instantiation and serving
/// scenarios exist to watch, are gated apart.
pub const SEVERAL_PROCESSES_PERCENT: f64 = 5.0;
/// A scenario whose minor page faults per operation grow past this multiple of the baseline's, plus
/// [`FAULT_SLACK`], fails: twice the faults always does.
pub const FAULT_FACTOR: f64 = 1.25;
pub const FAULT_SLACK: f64 = 0.5;

/// The symbol callgrind collects inside; nothing outside it is counted.
pub const MEASURED_SYMBOL: &str = "boundary_gate_measured";

/// One scenario under one profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Count {
    pub scenario: String,
    pub profile: String,
    pub iterations: u64,
    /// All instructions executed inside the measured function.
    pub total_instructions: u64,
    /// `total_instructions / iterations`.
    pub instructions_per_op: f64,
    /// The largest count minus the smallest, per operation, over the rounds of `--repeat` that made the baseline
    /// (of the count kept in each: the smallest of [`Scenario::processes`]); none where it was counted once. 0 means the
    /// count repeated exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spread_per_op: Option<f64>,
    /// Minor page faults per operation in a native run of the counted loop, for the scenarios that make instances
    /// (what instruction counts cannot see: the kernel's work).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faults_per_op: Option<f64>,
}

impl Count {
    pub fn new(scenario: &Scenario, profile: EngineProfile, total_instructions: u64) -> Self {
        Count {
            scenario: scenario.id.to_string(),
            profile: profile.name().to_string(),
            iterations: scenario.iterations,
            total_instructions,
            instructions_per_op: total_instructions as f64 / scenario.iterations as f64,
            spread_per_op: None,
            faults_per_op: None,
        }
    }

    pub fn key(&self) -> (String, String) {
        (self.scenario.clone(), self.profile.clone())
    }
}

/// A kernel as page faults are compared under it: its system, version and machine (`Linux 6.18.44 x86_64`), without
/// the build's own suffix (`6.18.44-fc-v1045`): two builds of one version fault alike on these scenarios' paths. An
/// empty string for a kernel that was not recorded.
pub fn kernel_version(uname: &str) -> String {
    uname
        .split_whitespace()
        .map(|word| match word.split_once('-') {
            Some((version, _)) if version.starts_with(|c: char| c.is_ascii_digit()) => version,
            _ => word,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// What the counts were taken with. Tight thresholds hold only where all of it matches the baseline's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toolchain {
    /// The host's CPU model: compared only when either side lacks [`Toolchain::cpu_counted`].
    pub cpu: String,
    /// The CPU as the counted process sees it under valgrind ([`crate::gate::runner::cpu_seen`]): what glibc and
    /// the standard library choose their code paths by. valgrind answers CPUID with a fixed model for each level
    /// of the host's capabilities, so two different hosts count alike when this matches.
    pub cpu_counted: String,
    pub glibc: String,
    pub valgrind: String,
    pub rustc: String,
    pub wasmtime: String,
}

impl Toolchain {
    /// What differs between `self` (the baseline's) and `other` (this run's), one phrase each.
    pub fn differences(&self, other: &Toolchain) -> Vec<String> {
        let cpu = if self.cpu_counted.is_empty() || other.cpu_counted.is_empty() {
            ("CPU", &self.cpu, &other.cpu)
        } else {
            ("the CPU valgrind presents", &self.cpu_counted, &other.cpu_counted)
        };
        let pairs = [
            cpu,
            ("glibc", &self.glibc, &other.glibc),
            ("valgrind", &self.valgrind, &other.valgrind),
            ("rustc", &self.rustc, &other.rustc),
            ("wasmtime", &self.wasmtime, &other.wasmtime),
        ];
        pairs
            .into_iter()
            .filter(|(_, a, b)| a != b)
            .map(|(what, a, b)| format!("{what} {} (this run: {b})", if a.is_empty() { "not recorded" } else { a }))
            .collect()
    }
}

/// The committed baseline (`results/gate-baseline.json`): one row per scenario and profile, with the versions
/// the counts were taken with.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Baseline {
    /// The format's version (`crate::record::SCHEMA`; 1 for a baseline that does not say).
    #[serde(default = "crate::record::schema_one")]
    pub schema: u32,
    pub date: String,
    pub command: String,
    pub git_revision: String,
    pub cpu: String,
    /// The CPU as the counted process saw it under valgrind ([`Toolchain::cpu_counted`]); empty in a baseline that
    /// did not record it.
    #[serde(default)]
    pub cpu_under_valgrind: String,
    /// The C library's version (`getconf GNU_LIBC_VERSION`); empty in a baseline that did not record it.
    #[serde(default)]
    pub glibc: String,
    pub rustc: String,
    pub wasmtime: String,
    pub valgrind: String,
    /// The kernel (`uname -srm`) and the transparent huge pages' mode the page faults were counted under: faults
    /// are compared only under the same (empty in a baseline that did not record them).
    #[serde(default)]
    pub kernel: String,
    #[serde(default)]
    pub transparent_huge_pages: String,
    /// The module counted, when it is not the project's guest: its path and content hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    pub counts: Vec<Count>,
    /// The scenarios that could not be counted (`--keep-going`), each with its error.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<Failed>,
}

/// A scenario under a profile that ran into an error, natively or under callgrind, and so has no count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failed {
    pub scenario: String,
    pub profile: String,
    pub error: String,
}

impl Failed {
    pub fn key(&self) -> (String, String) {
        (self.scenario.clone(), self.profile.clone())
    }
}

impl Baseline {
    pub fn toolchain(&self) -> Toolchain {
        Toolchain {
            cpu: self.cpu.clone(),
            cpu_counted: self.cpu_under_valgrind.clone(),
            glibc: self.glibc.clone(),
            valgrind: self.valgrind.clone(),
            rustc: self.rustc.clone(),
            wasmtime: self.wasmtime.clone(),
        }
    }
}

/// How one scenario compares with its baseline.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Same,
    Regressed,
    /// More minor page faults per operation than the baseline allows.
    MoreFaults,
    Improved,
    /// The baseline has no row for it.
    New,
}

/// Which threshold a comparison used.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    /// The count repeated exactly on the baseline's toolchain.
    Exact,
    /// The count spread on the baseline's toolchain: a multiple of the spread.
    Spread,
    /// No spread was measured, or the toolchain differs: `--threshold` percent.
    Loose,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub scenario: String,
    pub profile: String,
    pub baseline: Option<f64>,
    pub current: f64,
    /// Relative change in percent, when there is a baseline.
    pub change_percent: Option<f64>,
    /// The growth in instructions per operation beyond which it fails, when there is a baseline.
    pub allowed: Option<f64>,
    pub threshold: Threshold,
    /// Minor page faults per operation: the baseline's and this run's, where counted.
    pub faults: Option<(f64, f64)>,
    /// The faults grew beyond [`FAULT_FACTOR`] and [`FAULT_SLACK`] (whatever the instructions did).
    pub more_faults: bool,
    pub verdict: Verdict,
}

/// The growth in instructions per operation that `base` allows, and which rule gave it: tight when `tight` (the
/// toolchains match) and the baseline measured a spread, else `loose_percent` of the count.
pub fn allowed_growth(base: &Count, tight: bool, loose_percent: f64) -> (f64, Threshold) {
    let exact = (base.instructions_per_op * TIGHT_PERCENT / 100.0).max(TIGHT_INSTRUCTIONS);
    let scenario = scenarios::known(&base.scenario);
    let several = scenario.as_ref().is_some_and(|s| s.processes > 1);
    // A scenario counted in several processes never gets less than its floor, whichever rule applies.
    let loose_percent = if several { loose_percent.max(SEVERAL_PROCESSES_PERCENT) } else { loose_percent };
    let loose = base.instructions_per_op * loose_percent / 100.0;
    let floor = if several { base.instructions_per_op * SEVERAL_PROCESSES_PERCENT / 100.0 } else { exact };
    match base.spread_per_op {
        _ if scenario.is_some_and(|s| s.moves_alone) => (loose, Threshold::Loose),
        Some(s) if tight && s == 0.0 && !several => (exact, Threshold::Exact),
        // Never looser than the loose rule: a few rounds' spread is an estimate, not a licence.
        Some(s) if tight => (floor.max(exact).max(SPREAD_MARGIN * s).min(loose.max(exact)), Threshold::Spread),
        _ => (loose, Threshold::Loose),
    }
}

/// Compares fresh counts with the baseline: a growth beyond [`allowed_growth`] is a regression, as many
/// minor page faults per operation beyond [`FAULT_FACTOR`] and [`FAULT_SLACK`]; a shrinkage beyond the same margin
/// an improvement (so the baseline gets refreshed).
///
/// Page faults are compared only when `faults_comparable` (the same kernel and transparent huge pages).
pub fn compare(
    baseline: &Baseline,
    current: &[Count],
    tight: bool,
    faults_comparable: bool,
    loose_percent: f64,
) -> Vec<Comparison> {
    current
        .iter()
        .map(|c| {
            let base = baseline.counts.iter().find(|b| b.key() == c.key());
            let allowed = base.map(|b| allowed_growth(b, tight, loose_percent));
            let faults = base.filter(|_| faults_comparable).and_then(|b| Some((b.faults_per_op?, c.faults_per_op?)));
            let more_faults = faults.is_some_and(|(was, now)| now > was * FAULT_FACTOR + FAULT_SLACK);
            let verdict = match (base, allowed) {
                (Some(b), Some((limit, _))) => {
                    let growth = c.instructions_per_op - b.instructions_per_op;
                    if growth > limit {
                        Verdict::Regressed
                    } else if more_faults {
                        Verdict::MoreFaults
                    } else if growth < -limit {
                        Verdict::Improved
                    } else {
                        Verdict::Same
                    }
                }
                _ => Verdict::New,
            };
            Comparison {
                scenario: c.scenario.clone(),
                profile: c.profile.clone(),
                baseline: base.map(|b| b.instructions_per_op),
                current: c.instructions_per_op,
                change_percent: base
                    .map(|b| (c.instructions_per_op - b.instructions_per_op) / b.instructions_per_op * 100.0),
                allowed: allowed.map(|(limit, _)| limit),
                threshold: allowed.map_or(Threshold::Loose, |(_, t)| t),
                faults,
                more_faults,
                verdict,
            }
        })
        .collect()
}

/// The table the gate prints: scenario, profile, baseline, current, change, the growth allowed and the rule that
/// allowed it, and the page faults where counted.
pub fn table(comparisons: &[Comparison]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<32} {:<15} {:>14} {:>14} {:>9} {:>16}  verdict",
        "scenario", "profile", "baseline", "current", "change", "allowed (+/op)"
    );
    for c in comparisons {
        let base = c.baseline.map_or("-".to_string(), |b| format!("{b:.1}"));
        let change = c.change_percent.map_or("-".to_string(), |x| format!("{x:+.2}%"));
        let rule = match c.threshold {
            Threshold::Exact => "exact",
            Threshold::Spread => "spread",
            Threshold::Loose => "loose",
        };
        let allowed = c.allowed.map_or("-".to_string(), |a| format!("{a:.1} {rule}"));
        let verdict = match c.verdict {
            Verdict::Same => "ok",
            Verdict::Regressed => "REGRESSED",
            Verdict::MoreFaults => "MORE PAGE FAULTS",
            Verdict::Improved => "improved: refresh the baseline",
            Verdict::New => "no baseline: refresh it",
        };
        let faults = c.faults.map_or(String::new(), |(was, now)| format!(" (faults/op {was:.2} -> {now:.2})"));
        let _ = writeln!(
            out,
            "{:<32} {:<15} {:>14} {:>14.1} {:>9} {:>16}  {verdict}{faults}",
            c.scenario, c.profile, base, c.current, change, allowed
        );
    }
    out
}

/// The total instruction count of a callgrind output file (its `totals:` or `summary:` line).
pub fn callgrind_total(out_file: &str) -> Option<u64> {
    out_file.lines().find_map(|line| {
        let rest = line.strip_prefix("totals:").or_else(|| line.strip_prefix("summary:"))?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(scenario: usize, per_op: f64, spread: Option<f64>, faults: Option<f64>) -> Count {
        let mut c = Count::new(&SCENARIOS[scenario], EngineProfile::Cranelift, (per_op * 1000.0) as u64);
        c.spread_per_op = spread;
        c.faults_per_op = faults;
        c
    }

    fn baseline(per_op: f64, spread: Option<f64>, faults: Option<f64>) -> Baseline {
        Baseline {
            schema: crate::record::SCHEMA,
            date: String::new(),
            command: String::new(),
            git_revision: String::new(),
            cpu: String::new(),
            cpu_under_valgrind: String::new(),
            glibc: String::new(),
            rustc: String::new(),
            wasmtime: String::new(),
            valgrind: String::new(),
            kernel: String::new(),
            transparent_huge_pages: String::new(),
            module: None,
            failed: Vec::new(),
            counts: vec![count(0, per_op, spread, faults)],
        }
    }

    fn verdict(base: &Baseline, per_op: f64, tight: bool) -> Verdict {
        compare(base, &[count(0, per_op, None, None)], tight, true, 2.0)[0].verdict.clone()
    }

    #[test]
    fn without_a_measured_spread_growth_beyond_the_loose_threshold_fails_and_shrinkage_is_reported() {
        for tight in [false, true] {
            let base = baseline(400.0, None, None);
            assert_eq!(verdict(&base, 400.0, tight), Verdict::Same);
            assert_eq!(verdict(&base, 408.0, tight), Verdict::Same);
            assert_eq!(verdict(&base, 408.5, tight), Verdict::Regressed);
            assert_eq!(verdict(&base, 391.0, tight), Verdict::Improved);
        }
        let other = compare(
            &baseline(400.0, None, None),
            &[Count::new(&SCENARIOS[1], EngineProfile::Winch, 5)],
            true,
            true,
            2.0,
        );
        assert_eq!(other[0].verdict, Verdict::New);
    }

    #[test]
    fn an_exact_count_on_the_baselines_toolchain_fails_on_more_than_one_instruction_or_a_tenth_of_a_percent() {
        let small = baseline(372.0, Some(0.0), None);
        assert_eq!(verdict(&small, 373.0, true), Verdict::Same);
        assert_eq!(verdict(&small, 373.5, true), Verdict::Regressed);
        assert_eq!(verdict(&small, 370.5, true), Verdict::Improved);
        // On another toolchain the same growth is inside the loose threshold.
        assert_eq!(verdict(&small, 373.5, false), Verdict::Same);
        let large = baseline(32_000.0, Some(0.0), None);
        assert_eq!(verdict(&large, 32_032.0, true), Verdict::Same);
        assert_eq!(verdict(&large, 32_033.0, true), Verdict::Regressed);
    }

    #[test]
    fn a_spread_count_keeps_a_margin_of_a_few_times_its_spread() {
        let base = baseline(10_000.0, Some(5.0), None);
        assert_eq!(allowed_growth(&base.counts[0], true, 2.0), (20.0, Threshold::Spread));
        assert_eq!(verdict(&base, 10_020.0, true), Verdict::Same);
        assert_eq!(verdict(&base, 10_021.0, true), Verdict::Regressed);
        // A tiny spread never gives less than the exact scenarios' margin.
        let steady = baseline(10_000.0, Some(0.01), None);
        assert_eq!(allowed_growth(&steady.counts[0], true, 2.0).0, 10.0);
        // A large spread never gives more than the loose threshold.
        let noisy = baseline(10_000.0, Some(100.0), None);
        assert_eq!(allowed_growth(&noisy.counts[0], true, 2.0), (200.0, Threshold::Spread));
    }

    #[test]
    fn a_scenario_counted_in_several_processes_is_never_exact() {
        let several = SCENARIOS.iter().position(|s| s.processes > 1).unwrap();
        let mut base = baseline(30_000.0, Some(0.0), None);
        base.counts = vec![count(several, 30_000.0, Some(0.0), None)];
        assert_eq!(allowed_growth(&base.counts[0], true, 2.0), (1500.0, Threshold::Spread));
        // On another toolchain too.
        assert_eq!(allowed_growth(&base.counts[0], false, 2.0), (1500.0, Threshold::Loose));
    }

    #[test]
    fn a_count_known_to_move_alone_keeps_the_loose_threshold() {
        let list = SCENARIOS.iter().position(|s| s.moves_alone).unwrap();
        let mut base = baseline(32_951.3, Some(0.0), None);
        base.counts = vec![count(list, 32_951.3, Some(0.0), None)];
        assert_eq!(allowed_growth(&base.counts[0], true, 2.0).1, Threshold::Loose);
    }

    #[test]
    fn twice_the_page_faults_fails_even_at_the_same_count() {
        for was in [0.0, 1.0, 16.0, 64.0] {
            let base = baseline(400.0, Some(0.0), Some(was));
            let at = |faults: f64| {
                compare(&base, &[count(0, 400.0, None, Some(faults))], true, true, 2.0)[0].verdict.clone()
            };
            assert_eq!(at(was), Verdict::Same, "{was}");
            assert_eq!(at(was * 2.0 + 1.0), Verdict::MoreFaults, "{was}");
        }
        // Under another kernel or huge-page mode the faults are not compared.
        let base = baseline(400.0, Some(0.0), Some(16.0));
        let other = compare(&base, &[count(0, 400.0, None, Some(32.0))], true, false, 2.0);
        assert_eq!((other[0].verdict.clone(), other[0].faults), (Verdict::Same, None));
        // A count taken without faults is compared on instructions alone.
        assert_eq!(verdict(&baseline(400.0, Some(0.0), Some(1.0)), 400.0, true), Verdict::Same);
    }

    #[test]
    fn kernels_compare_by_version() {
        assert_eq!(kernel_version("Linux 6.18.44-fc-v1045 x86_64"), "Linux 6.18.44 x86_64");
        assert_eq!(kernel_version("Linux 6.18.44-fc-v1045 x86_64"), kernel_version("Linux 6.18.44-fc-v1300 x86_64"));
        assert_ne!(kernel_version("Linux 6.18.44 x86_64"), kernel_version("Linux 6.19.1 x86_64"));
        assert_eq!(kernel_version(""), "");
    }

    #[test]
    fn toolchain_differences_are_named() {
        let a = baseline(1.0, None, None).toolchain();
        let mut b = a.clone();
        assert!(a.differences(&b).is_empty());
        b.glibc = "glibc 2.39".into();
        assert_eq!(a.differences(&b), vec!["glibc not recorded (this run: glibc 2.39)".to_string()]);
        // Two host CPUs count alike where valgrind presents the same one; the model is compared only without that.
        let (mut intel, mut amd) = (a.clone(), a.clone());
        (intel.cpu, amd.cpu) = ("Intel(R) Xeon(R) Processor".into(), "AMD EPYC".into());
        assert_eq!(intel.differences(&amd), vec!["CPU Intel(R) Xeon(R) Processor (this run: AMD EPYC)".to_string()]);
        (intel.cpu_counted, amd.cpu_counted) =
            ("GenuineIntel i7-4910MQ 1a2b".into(), "GenuineIntel i7-4910MQ 1a2b".into());
        assert!(intel.differences(&amd).is_empty());
        amd.cpu_counted = "GenuineIntel i7-4910MQ 3c4d".into();
        assert_eq!(
            intel.differences(&amd),
            vec![
                "the CPU valgrind presents GenuineIntel i7-4910MQ 1a2b (this run: GenuineIntel i7-4910MQ 3c4d)"
                    .to_string()
            ]
        );
    }

    #[test]
    fn callgrind_totals_are_read() {
        let file = "version: 1\ncreator: callgrind-3.19.0\nevents: Ir\nfl=(1) x\nfn=(1) f\n0 5\nsummary: 123456\ntotals: 123456\n";
        assert_eq!(callgrind_total(file), Some(123456));
        assert_eq!(callgrind_total("events: Ir\n"), None);
    }

    /// A scenario without a baseline fails the gate; this says so in `cargo test`, before anyone runs the gate.
    #[test]
    fn every_scenario_of_the_project_s_guest_has_a_baseline() {
        let path = crate::record::workspace_root().join("results").join("gate-baseline.json");
        let text = std::fs::read_to_string(&path).unwrap();
        let baseline: Baseline = serde_json::from_str(&text).unwrap();
        for scenario in SCENARIOS.iter() {
            for profile in scenario.profiles {
                let key = (scenario.id.to_string(), profile.name().to_string());
                assert!(
                    baseline.counts.iter().any(|c| c.key() == key),
                    "{} under {} has no count in {}: count it with `cargo bench --bench gate -- --filter {} \
                     --save-baseline` (benches/README.md, \"Extending\")",
                    scenario.id,
                    profile.name(),
                    path.display(),
                    scenario.id
                );
            }
        }
    }
}
