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
        // The checkout's lock file, whenever it is not the one the workspace last took (cargo then moves only the
        // wasmtime crates and what they need): every other dependency stays the version the checkout builds with.
        let source_lock = checkout.join("Cargo.lock");
        let taken = self.root.join("Cargo.lock.checkout");
        let lock = std::fs::read(&source_lock).map_err(|e| format!("cannot read {}: {e}", source_lock.display()))?;
        if std::fs::read(&taken).ok().as_ref() != Some(&lock) || !self.root.join("Cargo.lock").exists() {
            for path in [self.root.join("Cargo.lock"), taken] {
                std::fs::write(&path, &lock).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            }
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
            return Err(format!(
                "building the harness against wasmtime {} failed (cargo's error is above; where the API differs, \
                 the harness needs a shim: host/README.md, \"Another wasmtime version\")",
                self.version
            ));
        }
        Ok(())
    }

    /// An error unless the toolchain that builds this workspace is at least as new as the Rust wasmtime asks for.
    pub fn check_toolchain(&self, features: &CargoFeatures) -> Result<(), String> {
        let Some(needed) = &features.rust_version else { return Ok(()) };
        let mut rustc = Command::new("rustc");
        if let Some(toolchain) = &self.toolchain {
            rustc.arg(format!("+{toolchain}"));
        }
        rustc.arg("-V").current_dir(&self.root).env_remove("RUSTUP_TOOLCHAIN").stdin(Stdio::null());
        let output = rustc.output().map_err(|e| format!("could not run rustc -V: {e}"))?;
        if !output.status.success() {
            return Err(format!("rustc -V failed: {}", String::from_utf8_lossy(&output.stderr).trim()));
        }
        let have = String::from_utf8_lossy(&output.stdout).trim().to_string();
        match (rust_version(needed), have.split_whitespace().nth(1).and_then(rust_version)) {
            (Some(need), Some(got)) if got < need => Err(format!(
                "wasmtime {} needs Rust {needed} or newer, and the toolchain that would build it is {have}: name a \
                 newer one with --toolchain (both versions are built with it)",
                self.version
            )),
            _ => Ok(()),
        }
    }

    /// The features wasmtime is built with for the `boundary` command alone (`cargo tree`, as `cargo build` of
    /// that package resolves them, not the whole workspace's).
    pub fn built_features(&self) -> Result<Vec<String>, String> {
        let mut tree = self.cargo("tree");
        tree.args(["--package", "boundary-cli", "--edges", "normal,build", "--prefix", "none", "--depth", "0"])
            .args(["--format", "{f}", "--invert"])
            .arg(format!("wasmtime@{}", self.version));
        let stdout = self.cargo_output(tree, "tree")?;
        let text = String::from_utf8_lossy(&stdout);
        let line = text.lines().next().unwrap_or_default();
        let mut features: Vec<String> =
            line.split(',').map(str::trim).filter(|f| !f.is_empty() && *f != "default").map(String::from).collect();
        features.sort();
        Ok(features)
    }

    /// What cargo resolved for this workspace: wasmtime's default features and the Rust it asks for (the features
    /// the build turns on are [`Build::built_features`]'s).
    pub fn wasmtime_features(&self) -> Result<CargoFeatures, String> {
        let mut metadata = self.cargo("metadata");
        metadata.args(["--format-version", "1"]);
        let stdout = self.cargo_output(metadata, "metadata")?;
        let metadata: serde_json::Value = serde_json::from_slice(&stdout)
            .map_err(|e| format!("cargo metadata for wasmtime {}: {e}", self.version))?;
        CargoFeatures::from_metadata(&metadata, &self.version)
    }

    /// The stdout of `command` (`cargo SUBCOMMAND ...`), or one line saying why there is none.
    fn cargo_output(&self, mut command: Command, subcommand: &str) -> Result<Vec<u8>, String> {
        let output =
            command.stdin(Stdio::null()).output().map_err(|e| format!("could not start cargo {subcommand}: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "cargo {subcommand} for wasmtime {} failed: {}",
                self.version,
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        Ok(output.stdout)
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
    /// The features the `boundary` command's build turns on ([`Build::built_features`]).
    pub built: Vec<String>,
    /// The Rust version wasmtime asks for (its `rust-version`).
    pub rust_version: Option<String>,
}

/// A Rust version's numbers (`1.96`, `1.97.0`, `1.97.0-nightly`), a missing patch as 0.
pub fn rust_version(text: &str) -> Option<(u32, u32, u32)> {
    let numbers = text.split('-').next()?;
    let mut parts = numbers.split('.').map(|p| p.parse::<u32>());
    let major = parts.next()?.ok()?;
    let minor = parts.next()?.ok()?;
    let patch = parts.next().unwrap_or(Ok(0)).ok()?;
    Some((major, minor, patch))
}

impl CargoFeatures {
    /// wasmtime's feature table at `version` in `cargo metadata`'s output (the features built are read apart).
    pub fn from_metadata(metadata: &serde_json::Value, version: &str) -> Result<CargoFeatures, String> {
        let missing = || format!("cargo metadata lists no wasmtime {version}");
        let packages = metadata["packages"].as_array().ok_or_else(missing)?;
        let package =
            packages.iter().find(|p| p["name"] == "wasmtime" && p["version"] == version).ok_or_else(missing)?;
        let table: BTreeMap<String, Vec<String>> = serde_json::from_value(package["features"].clone())
            .map_err(|e| format!("wasmtime {version}'s feature table: {e}"))?;
        Ok(CargoFeatures {
            version: version.to_string(),
            default: enabled_by(&table, "default").into_iter().collect(),
            built: Vec::new(),
            rust_version: package["rust_version"].as_str().map(String::from),
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
    fn rust_versions_compare_by_their_numbers() {
        assert_eq!(rust_version("1.96"), Some((1, 96, 0)));
        assert_eq!(rust_version("1.97.0-nightly"), Some((1, 97, 0)));
        assert!(rust_version("1.95.0") < rust_version("1.96"));
        assert!(rust_version("1.97.0-nightly") >= rust_version("1.97.0"));
        assert_eq!(rust_version("nightly"), None);
    }

    #[test]
    fn a_generated_workspace_links_the_checkout_and_takes_its_lock_again_when_it_changes() {
        let dir = std::env::temp_dir().join(format!("boundary-versions-generate-{}", std::process::id()));
        let checkout = dir.join("checkout");
        for folder in ["host", "benches", "guest"] {
            std::fs::create_dir_all(checkout.join(folder)).unwrap();
        }
        std::fs::write(checkout.join("Cargo.toml"), SOURCE).unwrap();
        std::fs::write(checkout.join("Cargo.lock"), "first").unwrap();
        let build = Build::new(&checkout, "47.0.4", &FeatureSet::Default, None);
        assert_eq!(build.root, checkout.join("target/versions/wasmtime-47.0.4-default"));
        build.generate(&checkout, &FeatureSet::Default).unwrap();
        for folder in ["host", "benches", "guest"] {
            assert_eq!(std::fs::read_link(build.root.join(folder)).unwrap(), checkout.join(folder));
        }
        assert!(std::fs::read_to_string(build.root.join("Cargo.toml")).unwrap().contains("\"=47.0.4\""));
        // cargo's own changes to the lock are kept until the checkout's lock changes.
        std::fs::write(build.root.join("Cargo.lock"), "first, resolved for 47").unwrap();
        build.generate(&checkout, &FeatureSet::Default).unwrap();
        assert_eq!(std::fs::read_to_string(build.root.join("Cargo.lock")).unwrap(), "first, resolved for 47");
        std::fs::write(checkout.join("Cargo.lock"), "second").unwrap();
        build.generate(&checkout, &FeatureSet::Default).unwrap();
        assert_eq!(std::fs::read_to_string(build.root.join("Cargo.lock")).unwrap(), "second");
        // Nothing but target/versions/ was written in the checkout.
        let mut entries: Vec<String> = std::fs::read_dir(&checkout)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        entries.sort();
        assert_eq!(entries, ["Cargo.lock", "Cargo.toml", "benches", "guest", "host", "target"]);
        let _ = std::fs::remove_dir_all(&dir);
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
    fn cargo_metadata_gives_the_default_features_and_the_rust_version() {
        let metadata = serde_json::json!({
            "packages": [
                {"name": "wasmtime", "version": "48.0.8", "rust_version": "1.95.0", "features": {"default": ["gc"], "gc": [], "winch": []}},
                {"name": "wasmtime", "version": "47.0.4", "features": {"default": []}}
            ]
        });
        let features = CargoFeatures::from_metadata(&metadata, "48.0.8").unwrap();
        assert_eq!(features.default, ["gc"]);
        assert_eq!(features.rust_version.as_deref(), Some("1.95.0"));
        assert_eq!(CargoFeatures::from_metadata(&metadata, "47.0.4").unwrap().rust_version, None);
        assert!(CargoFeatures::from_metadata(&metadata, "46.0.0").unwrap_err().contains("no wasmtime 46.0.0"));
    }
}
