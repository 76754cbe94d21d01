//! The comparison of two wasmtime versions as a report: per scenario and profile, instructions per operation under
//! each (called by the gate's own thresholds), the wall-time medians of interleaved runs, the page faults where
//! counted; the cargo features whose defaults differ; the resolved settings that differ, per configuration.

use crate::gate::{self, Baseline, Count, Threshold, Verdict};
use crate::record::{self, Environment};
use crate::versions::workspace::CargoFeatures;
use boundary_host::settings::EngineSettings;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One engine configuration's resolved settings, named (`wasmtime's default Config`, a profile's name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedSettings {
    pub config: String,
    pub settings: EngineSettings,
}

/// What one build says of its engines' settings (the settings child's output).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsReport {
    pub wasmtime: String,
    pub configs: Vec<NamedSettings>,
}

/// One setting whose value differs between the versions (`None`: the version has no such setting).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettingDifference {
    pub config: String,
    /// `target`, `wasm feature`, `tunable`, `shared flag`, `target flag`.
    pub kind: String,
    pub name: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// The settings that differ between `old` and `new`, configuration by configuration; a configuration only one
/// side has is one difference of kind `configuration`.
pub fn settings_differences(old: &SettingsReport, new: &SettingsReport) -> Vec<SettingDifference> {
    let mut out = Vec::new();
    let configs: Vec<&String> = {
        let mut names: Vec<&String> = old.configs.iter().map(|c| &c.config).collect();
        names.extend(new.configs.iter().map(|c| &c.config).filter(|n| !old.configs.iter().any(|c| &c.config == *n)));
        names
    };
    for config in configs {
        fn find<'r>(report: &'r SettingsReport, config: &str) -> Option<&'r EngineSettings> {
            report.configs.iter().find(|c| c.config == config).map(|c| &c.settings)
        }
        let (Some(a), Some(b)) = (find(old, config), find(new, config)) else {
            let present = |s: Option<&EngineSettings>| s.map(|_| "present".to_string());
            out.push(SettingDifference {
                config: config.clone(),
                kind: "configuration".into(),
                name: config.clone(),
                old: present(find(old, config)),
                new: present(find(new, config)),
            });
            continue;
        };
        let mut push = |kind: &str, name: &str, x: Option<String>, y: Option<String>| {
            if x != y {
                out.push(SettingDifference {
                    config: config.clone(),
                    kind: kind.into(),
                    name: name.into(),
                    old: x,
                    new: y,
                });
            }
        };
        push("target", "target", Some(a.target.clone()), Some(b.target.clone()));
        // On or off where the version knows the feature (a record without the list knows those it enables).
        let on = |s: &EngineSettings, name: &str| {
            let enabled = s.features.iter().any(|f| f == name);
            let known = enabled || s.known_features.is_empty() || s.known_features.iter().any(|f| f == name);
            known.then(|| if enabled { "on" } else { "off" }.to_string())
        };
        let mut features: Vec<&String> =
            a.features.iter().chain(&b.features).chain(&a.known_features).chain(&b.known_features).collect();
        features.sort();
        features.dedup();
        for f in features {
            push("wasm feature", f, on(a, f), on(b, f));
        }
        for (kind, x, y) in [
            ("tunable", &a.tunables, &b.tunables),
            ("shared flag", &a.shared_flags, &b.shared_flags),
            ("target flag", &a.target_flags, &b.target_flags),
        ] {
            let x: BTreeMap<&String, &String> = x.iter().map(|(k, v)| (k, v)).collect();
            let y: BTreeMap<&String, &String> = y.iter().map(|(k, v)| (k, v)).collect();
            let mut names: Vec<&&String> = x.keys().chain(y.keys()).collect();
            names.sort();
            names.dedup();
            for name in names {
                push(kind, name, x.get(*name).map(|v| v.to_string()), y.get(*name).map(|v| v.to_string()));
            }
        }
    }
    out
}

/// One scenario under one profile, under both versions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioRow {
    pub scenario: String,
    pub profile: String,
    /// Instructions per operation under the old and the new version.
    pub old_instructions: Option<f64>,
    pub new_instructions: Option<f64>,
    pub change_percent: Option<f64>,
    /// The growth (or shrinkage) in instructions per operation beyond which the gate calls a change, and its rule.
    pub allowed: Option<f64>,
    pub threshold: String,
    /// `same`, `more instructions`, `fewer instructions`, `more page faults`, or where a version has no count,
    /// `only under <version>` (the other does not have the scenario) or `failed under <version>: <error>`.
    pub verdict: String,
    pub old_faults: Option<f64>,
    pub new_faults: Option<f64>,
    /// Nanoseconds per operation, one per round, in the rounds' order (empty when not timed).
    pub old_ns: Vec<f64>,
    pub new_ns: Vec<f64>,
    /// Why a version has no timing (a child that failed: its error line).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_timed: Option<String>,
}

impl ScenarioRow {
    pub fn key(&self) -> (String, String) {
        (self.scenario.clone(), self.profile.clone())
    }

    /// The new version's time over the old's, per round where both were timed: median, smallest and largest.
    pub fn time_ratio(&self) -> Option<(f64, f64, f64)> {
        let ratios: Vec<f64> =
            self.old_ns.iter().zip(&self.new_ns).filter(|(a, _)| **a > 0.0).map(|(a, b)| b / a).collect();
        let (min, max) = ratios.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), r| (lo.min(*r), hi.max(*r)));
        Some((median(&ratios)?, min, max))
    }
}

/// The median of `values` (the mean of the middle two for an even count); `None` for none.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if !n.is_multiple_of(2) => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// The rows of both versions' counts: compared by the gate's rules where both have the scenario, the new version
/// as the "current" counts against the old as the baseline. Each count repeated exactly within its own version
/// (the same build, the same toolchain), so the tight thresholds apply wherever `--repeat` measured the spread.
pub fn scenario_rows(old: &Baseline, new: &Baseline, loose_percent: f64) -> Vec<ScenarioRow> {
    // The gate's rules read the baseline's spread; here both versions measured one, and the larger is the one that
    // holds (none where either was counted once).
    let mut reference = old.clone();
    for count in &mut reference.counts {
        let other = new.counts.iter().find(|n| n.key() == count.key());
        count.spread_per_op = match (count.spread_per_op, other.and_then(|n| n.spread_per_op)) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        };
    }
    let comparisons = gate::compare(&reference, &new.counts, true, true, loose_percent);
    let mut rows: Vec<ScenarioRow> = comparisons
        .into_iter()
        .map(|c| {
            let find =
                |counts: &[Count]| counts.iter().find(|x| x.scenario == c.scenario && x.profile == c.profile).cloned();
            let (o, n) = (find(&old.counts), find(&new.counts));
            let verdict = match c.verdict {
                Verdict::Same => "same".to_string(),
                Verdict::Regressed => "more instructions".to_string(),
                Verdict::Improved => "fewer instructions".to_string(),
                Verdict::MoreFaults => "more page faults".to_string(),
                Verdict::New => format!("only under {}", new.wasmtime),
            };
            ScenarioRow {
                scenario: c.scenario,
                profile: c.profile,
                old_instructions: c.baseline,
                new_instructions: Some(c.current),
                change_percent: c.change_percent,
                allowed: c.allowed,
                threshold: match c.threshold {
                    Threshold::Exact => "exact",
                    Threshold::Spread => "spread",
                    Threshold::Loose => "loose",
                }
                .into(),
                verdict,
                old_faults: o.and_then(|x| x.faults_per_op),
                new_faults: n.and_then(|x| x.faults_per_op),
                old_ns: Vec::new(),
                new_ns: Vec::new(),
                not_timed: None,
            }
        })
        .collect();
    // What only the old version counted, in its order, after the rest.
    for o in old.counts.iter().filter(|o| !new.counts.iter().any(|n| n.key() == o.key())) {
        rows.push(ScenarioRow {
            scenario: o.scenario.clone(),
            profile: o.profile.clone(),
            old_instructions: Some(o.instructions_per_op),
            new_instructions: None,
            change_percent: None,
            allowed: None,
            threshold: "-".into(),
            verdict: format!("only under {}", old.wasmtime),
            old_faults: o.faults_per_op,
            new_faults: None,
            old_ns: Vec::new(),
            new_ns: Vec::new(),
            not_timed: None,
        });
    }
    // A scenario that failed under a version is said to have failed there, not to exist only under the other; one
    // that failed under both (so counted under neither) gets a row of its own.
    let failure = |b: &Baseline, key: &(String, String)| {
        b.failed.iter().find(|f| &f.key() == key).map(|f| format!("failed under {}: {}", b.wasmtime, f.error))
    };
    for row in &mut rows {
        let failures: Vec<String> =
            [failure(old, &row.key()), failure(new, &row.key())].into_iter().flatten().collect();
        if !failures.is_empty() {
            row.verdict = failures.join("; ");
            row.threshold = "-".into();
        }
    }
    for f in old.failed.iter().chain(&new.failed) {
        if !rows.iter().any(|r| r.key() == f.key()) {
            let verdict =
                [failure(old, &f.key()), failure(new, &f.key())].into_iter().flatten().collect::<Vec<_>>().join("; ");
            rows.push(ScenarioRow {
                scenario: f.scenario.clone(),
                profile: f.profile.clone(),
                old_instructions: None,
                new_instructions: None,
                change_percent: None,
                allowed: None,
                threshold: "-".into(),
                verdict,
                old_faults: None,
                new_faults: None,
                old_ns: Vec::new(),
                new_ns: Vec::new(),
                not_timed: None,
            });
        }
    }
    rows
}

/// A whole comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub environment: Environment,
    /// The wasmtime versions, old then new.
    pub old: String,
    pub new: String,
    /// The cargo features the builds were made with, in words.
    pub built_with: String,
    /// The compiler both builds were made with.
    pub rustc: String,
    pub old_features: CargoFeatures,
    pub new_features: CargoFeatures,
    /// The configurations whose settings were compared (wasmtime's default, then each profile).
    pub configurations: Vec<String>,
    pub settings: Vec<SettingDifference>,
    /// Why the settings were not compared, if they could not be read from a version's build.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settings_not_read: Option<String>,
    /// How many times each version counted every scenario (`--repeat`).
    pub repeat: u32,
    /// Each scenario's wall time: how many interleaved rounds, and how long each timed loop ran at least.
    pub rounds: u32,
    pub timed_at_least_ms: u64,
    /// The loose threshold the counts were called by where no spread was measured.
    pub loose_percent: f64,
    pub scenarios: Vec<ScenarioRow>,
}

impl Report {
    /// The features in one version's default set and not the other's: (only old, only new).
    pub fn default_feature_differences(&self) -> (Vec<&String>, Vec<&String>) {
        fn only<'r>(a: &'r CargoFeatures, b: &CargoFeatures) -> Vec<&'r String> {
            a.default.iter().filter(|f| !b.default.contains(f)).collect()
        }
        (only(&self.old_features, &self.new_features), only(&self.new_features, &self.old_features))
    }

    /// The setting differences with the same change in several configurations as one, with the configurations it
    /// is found in (`every configuration` where it is all of them), in the order first seen.
    pub fn grouped_settings(&self) -> Vec<(&SettingDifference, String)> {
        let mut configs: Vec<&String> = Vec::new();
        for d in &self.settings {
            if !configs.contains(&&d.config) {
                configs.push(&d.config);
            }
        }
        let same = |a: &SettingDifference, b: &SettingDifference| {
            (&a.kind, &a.name, &a.old, &a.new) == (&b.kind, &b.name, &b.old, &b.new)
        };
        let mut groups: Vec<(&SettingDifference, Vec<&String>)> = Vec::new();
        for d in &self.settings {
            match groups.iter_mut().find(|(first, _)| same(first, d)) {
                Some((_, found_in)) => found_in.push(&d.config),
                None => groups.push((d, vec![&d.config])),
            }
        }
        let all = self.configurations.len();
        groups
            .into_iter()
            .map(|(d, found_in)| {
                let text = if found_in.len() == all && all > 1 {
                    "every configuration".to_string()
                } else {
                    found_in.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")
                };
                (d, text)
            })
            .collect()
    }

    pub fn markdown(&self) -> String {
        let (old, new) = (&self.old, &self.new);
        let mut md = format!("# wasmtime {old} against {new}: the boundary's scenarios\n\n");
        let _ = writeln!(
            md,
            "Both builds: {}, compiled by {}. Instructions per operation are the gate's counts (callgrind, a \
             process per scenario and profile, the smallest of three where a count moves between processes), each version's \
             counted in {} rounds; a change is called by the gate's thresholds, with the larger of the two versions' \
             spreads: `exact` where both repeated exactly (a move of more than 1 instruction or 0.1%, whichever is \
             larger), `spread` 4 times the spread, `loose` {}% (at least {}% for the scenarios counted in several \
             processes). Wall time: nanoseconds per operation of the same loop run natively for at least {} ms, each \
             scenario's two builds in separate processes one after the other, their order alternating, in {} \
             rounds; the ratio is new over old per round (median, and the range).\n",
            self.built_with,
            self.rustc,
            self.repeat,
            self.loose_percent,
            gate::SEVERAL_PROCESSES_PERCENT,
            self.timed_at_least_ms,
            self.rounds
        );
        md.push_str(&self.environment.markdown("the harness's built-in guest"));
        md.push_str("\n## Cargo features\n\n");
        let (only_old, only_new) = self.default_feature_differences();
        let list = |l: &[&String]| {
            if l.is_empty() {
                "none".to_string()
            } else {
                l.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ")
            }
        };
        let _ = writeln!(md, "In wasmtime {old}'s default features and not {new}'s: {}.  ", list(&only_old));
        let _ = writeln!(md, "In wasmtime {new}'s default features and not {old}'s: {}.\n", list(&only_new));
        let built = |f: &CargoFeatures| f.built.iter().map(|x| format!("`{x}`")).collect::<Vec<_>>().join(", ");
        let _ = writeln!(md, "Built with, under {old}: {}.  ", built(&self.old_features));
        let _ = writeln!(md, "Built with, under {new}: {}.\n", built(&self.new_features));
        md.push_str("## Settings that differ\n\n");
        md.push_str(
            "What each engine resolved its configuration to, as it records it in a compiled artifact: the wasm \
             features it enables, every tunable, the code generator's shared and target flags.\n\n",
        );
        if let Some(why) = &self.settings_not_read {
            let _ = writeln!(md, "Not compared: {why}.");
        } else if self.settings.is_empty() {
            md.push_str("None.\n");
        } else {
            let _ = writeln!(md, "| setting | kind | {old} | {new} | in |\n|---|---|---|---|---|");
            for (d, configs) in self.grouped_settings() {
                let v = |x: &Option<String>| x.clone().unwrap_or_else(|| "(none)".into());
                let _ = writeln!(md, "| `{}` | {} | {} | {} | {configs} |", d.name, d.kind, v(&d.old), v(&d.new));
            }
        }
        md.push_str("\n## Scenarios\n\n");
        let _ = writeln!(
            md,
            "| scenario | profile | instr/op {old} | instr/op {new} | change | verdict | ns/op {old} | ns/op {new} | \
             time ratio (range) | faults/op {old} | faults/op {new} |\n|---|---|--:|--:|--:|---|--:|--:|--:|--:|--:|"
        );
        for r in &self.scenarios {
            let num = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.1}"));
            let ns = |v: &[f64]| median(v).map_or("-".to_string(), record::format_ns);
            let ratio = r.time_ratio().map_or("-".to_string(), |(m, lo, hi)| format!("{m:.2} ({lo:.2}-{hi:.2})"));
            let change = r.change_percent.map_or("-".to_string(), |c| format!("{c:+.2}%"));
            let faults = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.2}"));
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} ({}) | {} | {} | {} | {} | {} |",
                r.scenario,
                r.profile,
                num(r.old_instructions),
                num(r.new_instructions),
                change,
                r.verdict.replace('|', "\\|"),
                r.threshold,
                ns(&r.old_ns),
                ns(&r.new_ns),
                ratio,
                faults(r.old_faults),
                faults(r.new_faults)
            );
        }
        let untimed: Vec<&ScenarioRow> = self.scenarios.iter().filter(|r| r.not_timed.is_some()).collect();
        if !untimed.is_empty() {
            md.push_str("\nNot timed:\n\n");
            for r in untimed {
                let _ = writeln!(md, "- {} under {}: {}", r.scenario, r.profile, r.not_timed.as_deref().unwrap_or(""));
            }
        }
        md
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(scenario: &str, per_op: f64, spread: Option<f64>) -> Count {
        Count {
            scenario: scenario.into(),
            profile: "cranelift".into(),
            iterations: 100,
            total_instructions: (per_op * 100.0) as u64,
            instructions_per_op: per_op,
            spread_per_op: spread,
            faults_per_op: None,
        }
    }

    fn baseline(wasmtime: &str, counts: Vec<Count>) -> Baseline {
        serde_json::from_value(serde_json::json!({
            "date": "", "command": "", "git_revision": "", "cpu": "", "rustc": "", "wasmtime": wasmtime, "valgrind": "",
            "counts": counts,
        }))
        .unwrap()
    }

    #[test]
    fn a_scenario_that_failed_under_a_version_is_listed_as_failed_there_with_its_error() {
        let failed = |scenario: &str, error: &str| crate::gate::Failed {
            scenario: scenario.into(),
            profile: "cranelift".into(),
            error: error.into(),
        };
        let mut old = baseline("47.0.4", vec![count("calls/core", 100.0, Some(0.0)), count("traps/raw", 9.0, None)]);
        old.failed = vec![failed("both", "old | broke")];
        let mut new = baseline("48.0.8", vec![count("calls/core", 100.0, Some(0.0))]);
        new.failed = vec![failed("traps/raw", "no such export"), failed("both", "new broke")];
        let rows = scenario_rows(&old, &new, 2.0);
        let row = |id: &str| rows.iter().find(|r| r.scenario == id).unwrap();
        assert_eq!(row("calls/core").verdict, "same");
        assert_eq!(row("traps/raw").verdict, "failed under 48.0.8: no such export");
        assert_eq!((row("traps/raw").old_instructions, row("traps/raw").threshold.as_str()), (Some(9.0), "-"));
        assert_eq!(row("both").verdict, "failed under 47.0.4: old | broke; failed under 48.0.8: new broke");
        assert_eq!((row("both").old_instructions, row("both").new_instructions), (None, None));
        assert_eq!(rows.len(), 3);
    }

    #[test]
    fn counts_are_called_by_the_gates_thresholds_and_absent_ones_named() {
        let old = baseline(
            "47.0.4",
            vec![
                count("calls/core", 100.0, Some(0.0)),
                count("calls/untyped", 200.0, Some(0.0)),
                count("gone", 5.0, None),
            ],
        );
        let new = baseline(
            "48.0.8",
            vec![
                count("calls/core", 100.0, Some(0.0)),
                count("calls/untyped", 210.0, Some(0.0)),
                count("added", 7.0, None),
            ],
        );
        let rows = scenario_rows(&old, &new, 2.0);
        let verdict =
            |id: &str| rows.iter().find(|r| r.scenario == id).map(|r| (r.verdict.clone(), r.threshold.clone()));
        assert_eq!(verdict("calls/core"), Some(("same".into(), "exact".into())));
        assert_eq!(verdict("calls/untyped"), Some(("more instructions".into(), "exact".into())));
        assert_eq!(verdict("added").unwrap().0, "only under 48.0.8");
        assert_eq!(verdict("gone").unwrap().0, "only under 47.0.4");
        assert_eq!(rows.len(), 4);
    }

    #[test]
    fn the_larger_spread_of_the_two_versions_calls_a_change_and_faults_stay_on_their_side() {
        let with_faults = |per_op: f64, spread: Option<f64>, faults: f64| Count {
            faults_per_op: Some(faults),
            ..count("instantiate/core", per_op, spread)
        };
        // The old count repeated exactly, the new one spread by 10: a move of 5 is within 4 times that spread.
        let old = baseline("47.0.4", vec![with_faults(1000.0, Some(0.0), 1.0), count("calls/core", 100.0, Some(0.0))]);
        let new = baseline("48.0.8", vec![with_faults(1005.0, Some(10.0), 3.0), count("calls/core", 100.0, None)]);
        let rows = scenario_rows(&old, &new, 2.0);
        let row = |id: &str| rows.iter().find(|r| r.scenario == id).unwrap();
        assert_eq!(row("instantiate/core").threshold, "spread");
        assert_eq!(row("instantiate/core").verdict, "more page faults");
        assert_eq!((row("instantiate/core").old_faults, row("instantiate/core").new_faults), (Some(1.0), Some(3.0)));
        // Counted once under one version: no spread is known, so the loose rule.
        assert_eq!(row("calls/core").threshold, "loose");
        assert_eq!(old.counts[0].spread_per_op, Some(0.0), "the old baseline itself is left as it was");
    }

    #[test]
    fn the_time_ratio_pairs_each_rounds_two_runs() {
        let mut row = scenario_rows(
            &baseline("a", vec![count("x", 1.0, None)]),
            &baseline("b", vec![count("x", 1.0, None)]),
            2.0,
        )
        .remove(0);
        row.old_ns = vec![10.0, 20.0, 10.0];
        row.new_ns = vec![15.0, 20.0, 12.0];
        assert_eq!(row.time_ratio(), Some((1.2, 1.0, 1.5)));
        row.old_ns.clear();
        assert_eq!(row.time_ratio(), None);
        assert_eq!(median(&[3.0, 1.0, 2.0, 10.0]), Some(2.5));
    }

    #[test]
    fn the_markdown_groups_a_change_found_everywhere_and_shows_every_scenario() {
        let features = |version: &str| CargoFeatures {
            version: version.into(),
            default: vec!["gc".into()],
            built: vec![],
            rust_version: None,
        };
        let difference = |config: &str, name: &str| SettingDifference {
            config: config.into(),
            kind: "target flag".into(),
            name: name.into(),
            old: None,
            new: Some("true".into()),
        };
        let mut new = baseline("48.0.8", vec![count("calls/core", 110.0, Some(0.0))]);
        new.failed = vec![crate::gate::Failed {
            scenario: "traps/raw".into(),
            profile: "cranelift".into(),
            error: "a | b".into(),
        }];
        let mut rows = scenario_rows(&baseline("47.0.4", vec![count("calls/core", 100.0, Some(0.0))]), &new, 2.0);
        rows[0].old_ns = vec![30.0, 32.0];
        rows[0].new_ns = vec![36.0, 32.0];
        let report = Report {
            environment: Environment::capture(&record::workspace_root(), "boundary versions 47.0.4".into(), "".into()),
            old: "47.0.4".into(),
            new: "48.0.8".into(),
            built_with: "x".into(),
            rustc: "rustc".into(),
            old_features: features("47.0.4"),
            new_features: CargoFeatures { default: vec!["gc".into(), "debug".into()], ..features("48.0.8") },
            configurations: vec!["default".into(), "winch".into()],
            settings: vec![
                difference("default", "has_vnni"),
                difference("winch", "has_vnni"),
                difference("winch", "only"),
            ],
            settings_not_read: None,
            repeat: 2,
            rounds: 2,
            timed_at_least_ms: 100,
            loose_percent: 2.0,
            scenarios: rows,
        };
        let md = report.markdown();
        for needle in [
            "| `has_vnni` | target flag | (none) | true | every configuration |",
            "| `only` | target flag | (none) | true | winch |",
            "In wasmtime 48.0.8's default features and not 47.0.4's: `debug`.",
            "| calls/core | cranelift | 100.0 | 110.0 | +10.00% | more instructions (exact) | 31.0 ns | 34.0 ns | 1.10 (1.00-1.20) |",
            // A `|` in an error stays inside its cell.
            "| traps/raw | cranelift | - | - | - | failed under 48.0.8: a \\| b (-) |",
        ] {
            assert!(md.contains(needle), "missing {needle:?} in\n{md}");
        }
        assert_eq!(report.grouped_settings().len(), 2);
    }

    fn settings(features: &[&str], tunables: &[(&str, &str)]) -> EngineSettings {
        EngineSettings {
            target: "x86_64-unknown-linux-gnu".into(),
            features: features.iter().map(|s| s.to_string()).collect(),
            known_features: vec![],
            tunables: tunables.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            shared_flags: vec![("opt_level".into(), "speed".into())],
            target_flags: vec![],
        }
    }

    #[test]
    fn settings_differ_by_name_and_a_missing_setting_or_configuration_is_named() {
        let old = SettingsReport {
            wasmtime: "47".into(),
            configs: vec![
                NamedSettings {
                    config: "default".into(),
                    settings: settings(&["SIMD", "GC"], &[("a", "1"), ("b", "2")]),
                },
                NamedSettings { config: "winch".into(), settings: settings(&[], &[]) },
            ],
        };
        let new = SettingsReport {
            wasmtime: "48".into(),
            configs: vec![NamedSettings {
                config: "default".into(),
                settings: settings(&["SIMD", "EXCEPTIONS"], &[("a", "1"), ("b", "3"), ("c", "0")]),
            }],
        };
        let diff = settings_differences(&old, &new);
        let row = |kind: &str, name: &str| {
            diff.iter().find(|d| d.kind == kind && d.name == name).map(|d| (d.old.clone(), d.new.clone()))
        };
        let s = |x: &str| Some(x.to_string());
        assert_eq!(row("wasm feature", "GC"), Some((s("on"), s("off"))));
        assert_eq!(row("wasm feature", "EXCEPTIONS"), Some((s("off"), s("on"))));
        assert_eq!(row("tunable", "b"), Some((s("2"), s("3"))));
        assert_eq!(row("tunable", "c"), Some((None, s("0"))));
        assert_eq!(row("configuration", "winch"), Some((s("present"), None)));
        assert_eq!(row("wasm feature", "SIMD"), None);
        // A feature the old version does not know is not "off" there.
        let mut newer = new.clone();
        newer.configs[0].settings.known_features = vec!["SIMD".into(), "EXCEPTIONS".into(), "WIDE_ARITHMETIC".into()];
        let mut older = old.clone();
        older.configs[0].settings.known_features = vec!["SIMD".into(), "GC".into(), "EXCEPTIONS".into()];
        let with_lists = settings_differences(&older, &newer);
        let feature = |name: &str| with_lists.iter().find(|d| d.name == name).map(|d| (d.old.clone(), d.new.clone()));
        assert_eq!(feature("WIDE_ARITHMETIC"), Some((None, s("off"))));
        assert_eq!(feature("GC"), Some((s("on"), None)));
        assert_eq!(row("tunable", "a"), None);
        assert_eq!(diff.len(), 5);
    }
}
