//! `boundary versions` from the command line: what it refuses before building anything, each with one line. The
//! comparison itself builds wasmtime twice (many minutes), so it runs in its own workflow
//! (`.github/workflows/versions.yml`); its logic (the generated manifests, the feature tables, the settings read back
//! from an artifact, the report) is unit-tested in `boundary-benches` and `boundary-host`.

use crate::plugins::boundary;
use crate::support::bad_input_line;

#[test]
fn versions_that_are_not_exact_or_not_two_are_refused_with_one_line() {
    bad_input_line(&boundary(&["versions", "47"]), "`47` is not an exact version").unwrap();
    bad_input_line(&boundary(&["versions", "47.0.4", "latest"]), "`latest` is not an exact version").unwrap();
    let this = boundary_host::build_info::WASMTIME_VERSION;
    bad_input_line(&boundary(&["versions", this]), &format!("both versions are {this}")).unwrap();
    bad_input_line(&boundary(&["versions", "47.0.4", "--features", "gc null"]), "`gc null` is not a cargo feature")
        .unwrap();
}

#[test]
fn a_folder_that_is_not_the_checkout_is_refused_before_anything_is_built() {
    let empty = std::env::temp_dir().join(format!("boundary-versions-not-a-checkout-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let out = boundary(&["versions", "47.0.4", "--source", empty.to_str().unwrap()]);
    bad_input_line(&out, "is not this harness's checkout").unwrap();
    assert!(!empty.join("target").exists(), "nothing may be written into a folder that is not the checkout");
    let _ = std::fs::remove_dir_all(&empty);
}

/// The `boundary` command in one of its children's roles.
fn in_role(words: &[&str]) -> std::process::Output {
    let role = serde_json::to_string(words).unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_boundary"))
        .env(boundary_benches::child::ROLE_VAR, role)
        .output()
        .unwrap()
}

#[test]
fn a_build_reports_its_engines_settings_for_the_default_config_and_every_profile() {
    use boundary_benches::versions::{DEFAULT_CONFIG, SETTINGS_ROLE, report::SettingsReport};
    let out = in_role(&[SETTINGS_ROLE]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: SettingsReport = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report.wasmtime, boundary_host::build_info::WASMTIME_VERSION);
    let names: Vec<&str> = report.configs.iter().map(|c| c.config.as_str()).collect();
    let expected: Vec<&str> =
        std::iter::once(DEFAULT_CONFIG).chain(boundary_host::EngineProfile::ALL.iter().map(|p| p.name())).collect();
    assert_eq!(names, expected);
    let fuel = &report.configs.iter().find(|c| c.config == "fuel").unwrap().settings;
    assert!(fuel.tunables.contains(&("consume_fuel".into(), "true".into())), "{:?}", fuel.tunables);
}

#[test]
fn a_timed_child_prints_its_nanoseconds_per_operation_and_a_bad_one_says_why() {
    use boundary_benches::gate::runner::{TIME_LINE, TIME_ROLE};
    let out = in_role(&[TIME_ROLE, "calls/core", "cranelift"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let ns: f64 = stdout.lines().find_map(|l| l.strip_prefix(TIME_LINE)?.trim().parse().ok()).expect("a time line");
    assert!(ns > 0.0 && ns.is_finite(), "{stdout}");
    bad_input_line(&in_role(&[TIME_ROLE, "no/such", "cranelift"]), "unknown scenario `no/such`").unwrap();
}
