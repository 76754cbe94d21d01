//! A build of this checkout against another wasmtime: a generated copy of the workspace's manifest (the wasmtime
//! crates at one exact version, with the feature set asked for) in a folder of its own under
//! `target/versions/`, whose members are links to the checkout's own folders, and whose build goes to its own target
//! folder. The checkout itself is never written to but for that folder: one source of scenarios, compiled against
//! each version.

use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The wasmtime crates whose version the generated manifest sets (every one the workspace names).
pub const WASMTIME_CRATES: &[&str] = &["wasmtime", "wasmtime-wasi", "wasmtime-environ", "wasmtime-c-api-impl"];

/// The cargo features of wasmtime the harness cannot be built without that wasmtime's default features leave out
/// (the matrix's rows with a call hook, the Pulley and Winch profiles, component values in WAVE).
pub const HARNESS_NEEDS: &[&str] = &["call-hook", "pulley", "winch", "wave"];

/// Which cargo features wasmtime is built with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeatureSet {
    /// wasmtime's default features, as an embedder gets them, plus [`HARNESS_NEEDS`] (and wasmtime-wasi's defaults).
    Default,
    /// The workspace's own feature set (`default-features = false` and its list).
    Harness,
    /// The workspace's own set plus these.
    HarnessPlus(Vec<String>),
}

impl FeatureSet {
    /// `default`, `harness`, or a comma-separated list of features added to the harness's own.
    pub fn parse(text: &str) -> Result<FeatureSet, String> {
        match text {
            "default" => Ok(FeatureSet::Default),
            "harness" => Ok(FeatureSet::Harness),
            list => {
                let features: Vec<String> =
                    list.split(',').map(str::trim).filter(|f| !f.is_empty()).map(String::from).collect();
                let bad = features.iter().find(|f| !f.chars().all(|c| c.is_ascii_alphanumeric() || "-_".contains(c)));
                match bad {
                    _ if features.is_empty() => {
                        Err("--features takes `default`, `harness` or a list of features".into())
                    }
                    Some(f) => Err(format!("--features: `{f}` is not a cargo feature's name")),
                    None => Ok(FeatureSet::HarnessPlus(features)),
                }
            }
        }
    }

    /// A short name for folders: `default`, `harness`, `harness+a+b`.
    pub fn label(&self) -> String {
        match self {
            FeatureSet::Default => "default".into(),
            FeatureSet::Harness => "harness".into(),
            FeatureSet::HarnessPlus(list) => format!("harness+{}", list.join("+")),
        }
    }

    /// What the report says the builds were made with.
    pub fn describe(&self) -> String {
        match self {
            FeatureSet::Default => {
                format!(
                    "wasmtime's default cargo features, plus {} (which the harness needs)",
                    HARNESS_NEEDS.join(", ")
                )
            }
            FeatureSet::Harness => "the harness's own cargo features of wasmtime (its workspace manifest)".into(),
            FeatureSet::HarnessPlus(list) => {
                format!("the harness's own cargo features of wasmtime, plus {}", list.join(", "))
            }
        }
    }
}

/// The workspace manifest `source` (its text) with every wasmtime crate of [`WASMTIME_CRATES`] at exactly `version`
/// and wasmtime's features as `features` says. The other dependencies stay as they are.
pub fn generated_manifest(source: &str, version: &str, features: &FeatureSet) -> Result<String, String> {
    let mut manifest: toml::Table = source.parse().map_err(|e| format!("the workspace manifest: {e}"))?;
    let deps = manifest
        .get_mut("workspace")
        .and_then(|w| w.get_mut("dependencies"))
        .and_then(toml::Value::as_table_mut)
        .ok_or("the workspace manifest has no [workspace.dependencies]")?;
    for name in WASMTIME_CRATES {
        let Some(dep) = deps.get_mut(*name) else { continue };
        let table = match dep {
            toml::Value::Table(table) => table,
            plain => {
                *plain = toml::Value::Table(toml::Table::new());
                plain.as_table_mut().expect("just made a table")
            }
        };
        table.insert("version".into(), toml::Value::String(format!("={version}")));
        let own: Vec<String> = table
            .get("features")
            .and_then(toml::Value::as_array)
            .map(|list| list.iter().filter_map(|f| f.as_str().map(String::from)).collect())
            .unwrap_or_default();
        match (*name, features) {
            ("wasmtime", FeatureSet::Default) => {
                table.remove("default-features");
                table.insert("features".into(), strings(HARNESS_NEEDS.iter().map(|s| s.to_string())));
            }
            ("wasmtime-wasi", FeatureSet::Default) => {
                table.remove("default-features");
                table.remove("features");
            }
            ("wasmtime", FeatureSet::HarnessPlus(more)) => {
                let mut all = own;
                for feature in more {
                    if !all.contains(feature) {
                        all.push(feature.clone());
                    }
                }
                table.insert("features".into(), strings(all.into_iter()));
            }
            _ => {}
        }
    }
    let header = format!(
        "# Generated by `boundary versions` from the checkout's workspace manifest: the wasmtime crates at {version}, \
         with {}. Not to be edited: it is written again on each run.\n\n",
        features.describe()
    );
    let body = toml::to_string(&manifest).map_err(|e| format!("writing the generated manifest: {e}"))?;
    Ok(header + &body)
}

fn strings(items: impl Iterator<Item = String>) -> toml::Value {
    toml::Value::Array(items.map(toml::Value::String).collect())
}

/// The folders a generated workspace links to: the first folder of each member's path, and `guest` (the host
/// core's build script builds the guests from `../guest`).
pub fn linked_folders(source_manifest: &str) -> Result<Vec<String>, String> {
    let manifest: toml::Table = source_manifest.parse().map_err(|e| format!("the workspace manifest: {e}"))?;
    let members = manifest
        .get("workspace")
        .and_then(|w| w.get("members"))
        .and_then(toml::Value::as_array)
        .ok_or("the workspace manifest lists no members")?;
    let mut folders: BTreeSet<String> = members
        .iter()
        .filter_map(|m| m.as_str()?.split('/').next().map(String::from))
        .filter(|f| !f.is_empty() && f != "." && f != "..")
        .collect();
    folders.insert("guest".into());
    Ok(folders.into_iter().collect())
}

/// One side of a comparison: a wasmtime version built in its own generated workspace.
#[derive(Debug, Clone)]
pub struct Build {
    pub version: String,
    /// The generated workspace (`<checkout>/target/versions/wasmtime-<version>-<features>`).
    pub root: PathBuf,
    /// The `+toolchain` the build is made with, if not the default one.
    pub toolchain: Option<String>,
}

impl Build {
    pub fn new(checkout: &Path, version: &str, features: &FeatureSet, toolchain: Option<&str>) -> Build {
        let mut name = format!("wasmtime-{version}-{}", features.label());
        if let Some(t) = toolchain {
            name.push_str(&format!("-{t}"));
        }
        Build {
            version: version.to_string(),
            root: checkout.join("target").join("versions").join(name),
            toolchain: toolchain.map(String::from),
        }
    }

    /// Writes the generated workspace: its manifest, links to the checkout's folders, and the checkout's lock file
    /// the first time (so every other dependency is the version the checkout builds with).
    pub fn generate(&self, checkout: &Path, features: &FeatureSet) -> Result<(), String> {
        let manifest_path = checkout.join("Cargo.toml");
        let source = std::fs::read_to_string(&manifest_path)
            .map_err(|e| format!("cannot read {}: {e}", manifest_path.display()))?;
        std::fs::create_dir_all(&self.root).map_err(|e| format!("cannot create {}: {e}", self.root.display()))?;
        let manifest = generated_manifest(&source, &self.version, features)?;
        write_if_changed(&self.root.join("Cargo.toml"), &manifest)?;
        for folder in linked_folders(&source)? {
            let link = self.root.join(&folder);
            let target = checkout.join(&folder);
            if std::fs::read_link(&link).is_ok_and(|t| t == target) {
                continue;
            }
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(&target, &link)
                .map_err(|e| format!("cannot link {} to {}: {e}", link.display(), target.display()))?;
        }
        let lock = self.root.join("Cargo.lock");
        if !lock.exists() {
            let _ = std::fs::copy(checkout.join("Cargo.lock"), &lock);
        }
        Ok(())
    }

    /// A `cargo` command in the generated workspace, with its toolchain, and without the variables of a cargo that
    /// may have started this process (its target folder would take the build out of its own).
    pub fn cargo(&self, subcommand: &str) -> Command {
        let mut cargo = Command::new("cargo");
        if let Some(toolchain) = &self.toolchain {
            cargo.arg(format!("+{toolchain}"));
        }
        // From the generated workspace, inside the checkout: the checkout's `rust-toolchain.toml` chooses the
        // toolchain unless one is named.
        cargo.current_dir(&self.root).arg(subcommand).arg("--manifest-path").arg(self.root.join("Cargo.toml"));
        // The host core's build script reads the wasmtime version from this workspace's lock file.
        cargo.env("BOUNDARY_VERSIONS_WORKSPACE", &self.root);
        for var in ["CARGO_TARGET_DIR", "CARGO_BUILD_TARGET_DIR", "CARGO_BUILD_TARGET", "RUSTUP_TOOLCHAIN", "CARGO"] {
            cargo.env_remove(var);
        }
        cargo
    }

    pub fn target_dir(&self) -> PathBuf {
        self.root.join("target")
    }

    /// The `boundary` command this build makes.
    pub fn binary(&self) -> PathBuf {
        self.target_dir().join("release").join("boundary")
    }

    /// Builds the `boundary` command in release, cargo's progress shown as it goes.
    pub fn build(&self) -> Result<(), String> {
        let status = self
            .cargo("build")
            .args(["--release", "--package", "boundary-cli", "--bin", "boundary", "--target-dir"])
            .arg(self.target_dir())
            .stdin(Stdio::null())
            .status()
            .map_err(|e| format!("could not start cargo: {e}"))?;
        if !status.success() {
            let hint = if self.toolchain.is_none() {
                " (a wasmtime that needs a newer Rust than the default toolchain's builds with --toolchain nightly)"
            } else {
                ""
            };
            return Err(format!("building the harness against wasmtime {} failed{hint}", self.version));
        }
        Ok(())
    }

    /// What cargo resolved for this workspace: wasmtime's feature table and the features it is built with.
    pub fn wasmtime_features(&self) -> Result<CargoFeatures, String> {
        let output = self
            .cargo("metadata")
            .args(["--format-version", "1"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("could not start cargo metadata: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "cargo metadata for wasmtime {} failed: {}",
                self.version,
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)
            .map_err(|e| format!("cargo metadata for wasmtime {}: {e}", self.version))?;
        CargoFeatures::from_metadata(&metadata, &self.version)
    }
}

fn write_if_changed(path: &Path, text: &str) -> Result<(), String> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(());
    }
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// wasmtime's cargo features in one resolved workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CargoFeatures {
    pub version: String,
    /// Every feature `default` turns on, through the features it names (not other crates' features).
    pub default: Vec<String>,
    /// The features the build turns on.
    pub built: Vec<String>,
}

impl CargoFeatures {
    /// wasmtime's features at `version` in `cargo metadata`'s output.
    pub fn from_metadata(metadata: &serde_json::Value, version: &str) -> Result<CargoFeatures, String> {
        let missing = || format!("cargo metadata lists no wasmtime {version}");
        let packages = metadata["packages"].as_array().ok_or_else(missing)?;
        let package =
            packages.iter().find(|p| p["name"] == "wasmtime" && p["version"] == version).ok_or_else(missing)?;
        let table: BTreeMap<String, Vec<String>> = serde_json::from_value(package["features"].clone())
            .map_err(|e| format!("wasmtime {version}'s feature table: {e}"))?;
        let id = &package["id"];
        let built = metadata["resolve"]["nodes"]
            .as_array()
            .and_then(|nodes| nodes.iter().find(|n| &n["id"] == id))
            .and_then(|n| n["features"].as_array())
            .map(|list| list.iter().filter_map(|f| f.as_str().map(String::from)).collect::<BTreeSet<_>>())
            .unwrap_or_default();
        Ok(CargoFeatures {
            version: version.to_string(),
            default: enabled_by(&table, "default").into_iter().collect(),
            // `default` itself is not a feature of wasmtime's code, only a name for a list.
            built: built.into_iter().filter(|f| f != "default").collect(),
        })
    }
}

/// The features `feature` turns on in `table`, through the features it names, itself left out.
pub fn enabled_by(table: &BTreeMap<String, Vec<String>>, feature: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![feature.to_string()];
    while let Some(next) = todo.pop() {
        for item in table.get(&next).into_iter().flatten() {
            // `dep:x` and `x/feature` are other crates'; `x?/feature` too.
            if item.contains(':') || item.contains('/') {
                continue;
            }
            if seen.insert(item.clone()) {
                todo.push(item.clone());
            }
        }
    }
    seen.remove(feature);
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = r#"
[workspace]
members = ["host", "host/cli", "benches"]

[workspace.dependencies]
wasmtime = { version = "48.0.8", default-features = false, features = ["cranelift", "winch"] }
wasmtime-wasi = { version = "48.0.8", default-features = false, features = ["p1"] }
wasmtime-environ = "48.0.8"
serde = "1"
"#;

    fn deps(text: &str) -> toml::Table {
        let manifest: toml::Table = text.parse().unwrap();
        manifest["workspace"]["dependencies"].as_table().unwrap().clone()
    }

    #[test]
    fn the_default_set_is_wasmtimes_defaults_with_what_the_harness_needs() {
        let deps = deps(&generated_manifest(SOURCE, "47.0.4", &FeatureSet::Default).unwrap());
        let wasmtime = deps["wasmtime"].as_table().unwrap();
        assert_eq!(wasmtime["version"].as_str(), Some("=47.0.4"));
        assert!(!wasmtime.contains_key("default-features"), "{wasmtime:?}");
        let features: Vec<&str> =
            wasmtime["features"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
        assert_eq!(features, HARNESS_NEEDS);
        let wasi = deps["wasmtime-wasi"].as_table().unwrap();
        assert_eq!(wasi["version"].as_str(), Some("=47.0.4"));
        assert!(!wasi.contains_key("default-features") && !wasi.contains_key("features"), "{wasi:?}");
        assert_eq!(deps["wasmtime-environ"]["version"].as_str(), Some("=47.0.4"));
        assert_eq!(deps["serde"].as_str(), Some("1"));
    }

    #[test]
    fn the_harness_set_keeps_the_workspaces_features_at_the_other_version() {
        let plus = FeatureSet::parse("gc-null,wmemcheck").unwrap();
        for (set, extra) in [(FeatureSet::Harness, vec![]), (plus, vec!["gc-null", "wmemcheck"])] {
            let deps = deps(&generated_manifest(SOURCE, "49.0.0", &set).unwrap());
            let wasmtime = deps["wasmtime"].as_table().unwrap();
            assert_eq!(wasmtime["version"].as_str(), Some("=49.0.0"));
            assert_eq!(wasmtime["default-features"].as_bool(), Some(false));
            let features: Vec<&str> =
                wasmtime["features"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
            let expected: Vec<&str> = ["cranelift", "winch"].into_iter().chain(extra).collect();
            assert_eq!(features, expected);
            assert_eq!(deps["wasmtime-wasi"]["features"].as_array().unwrap().len(), 1);
        }
    }

    #[test]
    fn feature_sets_are_read_and_bad_names_refused() {
        assert_eq!(FeatureSet::parse("default").unwrap(), FeatureSet::Default);
        assert_eq!(FeatureSet::parse("harness").unwrap().label(), "harness");
        assert_eq!(FeatureSet::parse("a, b").unwrap().label(), "harness+a+b");
        assert!(FeatureSet::parse("a b").unwrap_err().contains("`a b`"));
        assert!(FeatureSet::parse(",").is_err());
    }

    #[test]
    fn the_linked_folders_are_the_members_top_folders_and_the_guest() {
        assert_eq!(linked_folders(SOURCE).unwrap(), ["benches", "guest", "host"]);
    }

    #[test]
    fn the_default_features_are_followed_through_the_features_they_name() {
        let table: BTreeMap<String, Vec<String>> = [
            ("default", vec!["async", "gc-drc", "dep:rayon"]),
            ("async", vec!["dep:wasmtime-fiber", "runtime", "wasmtime-component-macro?/async"]),
            ("gc-drc", vec!["gc", "wasmtime-environ/gc-drc"]),
            ("gc", vec![]),
            ("runtime", vec![]),
            ("winch", vec![]),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
        .collect();
        let on: Vec<String> = enabled_by(&table, "default").into_iter().collect();
        assert_eq!(on, ["async", "gc", "gc-drc", "runtime"]);
    }

    #[test]
    fn cargo_metadata_gives_the_default_and_the_built_features() {
        let metadata = serde_json::json!({
            "packages": [
                {"name": "wasmtime", "version": "48.0.8", "id": "w48", "features": {"default": ["gc"], "gc": [], "winch": []}},
                {"name": "wasmtime", "version": "47.0.4", "id": "w47", "features": {"default": []}}
            ],
            "resolve": {"nodes": [{"id": "w48", "features": ["default", "gc", "winch"]}]}
        });
        let features = CargoFeatures::from_metadata(&metadata, "48.0.8").unwrap();
        assert_eq!(features.default, ["gc"]);
        assert_eq!(features.built, ["gc", "winch"]);
        assert!(CargoFeatures::from_metadata(&metadata, "46.0.0").unwrap_err().contains("no wasmtime 46.0.0"));
    }
}
