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
