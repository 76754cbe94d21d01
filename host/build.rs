//! Builds the guest (`../guest`) for `wasm32-wasip1` three times (verbose, quiet, and the fuzz oracle's
//! one-page build) and as a `wasm32-wasip2` component twice (verbose and quiet), and three test fixtures once each:
//! the article's guest (`../guest/article`), a WASI command (`../guest/command`) and a component of a world of its
//! own (`../guest/wasi-component`); each with a nested cargo, leaving `guest-<name>.wasm` in `OUT_DIR` for
//! `src/guest.rs` to embed.
//!
//! The nested build gets its own target directory inside `OUT_DIR`, so it never waits on the outer build's lock,
//! and none of the outer build's flags: host `RUSTFLAGS` (sanitizers under cargo-fuzz, coverage) and the clippy
//! wrapper must not reach a wasm build. If the `wasm32-wasip1` standard library is missing it is installed with
//! rustup, or the build stops with one sentence saying what to run. When the toolchain running this build cannot
//! get it (a nightly whose wasm standard library is not published, as under `cargo +nightly fuzz`), the guest is
//! built with the `stable` toolchain instead, and a build warning says so. The same goes for `wasm32-wasip2`, whose
//! builds link a component directly (the toolchain's `wasm-component-ld`).

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The core module's target.
const CORE_TARGET: &str = "wasm32-wasip1";
/// The component's target.
const COMPONENT_TARGET: &str = "wasm32-wasip2";
const WASM_TARGETS: [&str; 2] = [CORE_TARGET, COMPONENT_TARGET];

/// One wasm build: the variant's name in `guest-<name>.wasm`, its target, the crate's folder under `guest/`, the
/// crate's file name, the features it is built with, flags for rustc, and the folder under `OUT_DIR/guest-target`
/// it builds in (builds that differ only in features share one, so their dependencies are built once; builds run
/// one after the other, each artifact copied out before the next).
struct GuestBuild {
    name: &'static str,
    target: &'static str,
    folder: &'static str,
    crate_file: &'static str,
    features: Option<&'static str>,
    rustflags: Option<&'static str>,
    target_dir: &'static str,
}

const BUILDS: &[GuestBuild] = &[
    GuestBuild {
        name: "verbose",
        target: CORE_TARGET,
        folder: "",
        crate_file: "boundary_guest",
        features: Some("verbose"),
        rustflags: None,
        target_dir: "verbose",
    },
    GuestBuild {
        name: "quiet",
        target: CORE_TARGET,
        folder: "",
        crate_file: "boundary_guest",
        features: None,
        rustflags: None,
        target_dir: "quiet",
    },
    // The quiet guest for the fuzz oracle, which compares all of linear memory after every program (and wasmtime
    // resets all of it for each fresh instance): one 64 KiB page instead of 17. The stack is 16 KiB instead of the
    // default 1 MiB (the guest's functions hardly use their shadow stack; one that overflowed it would trap below
    // address 0, not overwrite the statics above it); the statics follow it; and the second half of the page is left
    // to the host (`guest::FUZZ_HOST_AREA`, the oracle's scratch area), so that a fresh instance needs no
    // `memory.grow` (nor wasmtime's pooling allocator an `mprotect` to shrink the recycled slot and grow it again).
    GuestBuild {
        name: "fuzz",
        target: CORE_TARGET,
        folder: "",
        crate_file: "boundary_guest",
        features: None,
        rustflags: Some("-Clink-arg=-zstack-size=16384\x1f-Clink-arg=--initial-memory=65536"),
        target_dir: "fuzz",
    },
    // The same crate as a component (`guest/wit/boundary.wit`, bindings by `wit-bindgen`).
    GuestBuild {
        name: "component-verbose",
        target: COMPONENT_TARGET,
        folder: "",
        crate_file: "boundary_guest",
        features: Some("component,verbose"),
        rustflags: None,
        target_dir: "component",
    },
    GuestBuild {
        name: "component-quiet",
        target: COMPONENT_TARGET,
        folder: "",
        crate_file: "boundary_guest",
        features: Some("component"),
        rustflags: None,
        target_dir: "component",
    },
    // A component of the world as it stood before its payload exports: a test fixture (`wit-before-payload/`).
    GuestBuild {
        name: "component-before-payload",
        target: COMPONENT_TARGET,
        folder: "",
        crate_file: "boundary_guest",
        features: Some("world-before-payload,verbose"),
        rustflags: None,
        target_dir: "component",
    },
    GuestBuild {
        name: "article",
        target: CORE_TARGET,
        folder: "article",
        crate_file: "article_guest",
        features: None,
        rustflags: None,
        target_dir: "article",
    },
    // A WASI command written in Rust (`../guest/command`, a test fixture): `_start`, arguments, stdin, a
    // preopened directory, and ways to misbehave.
    GuestBuild {
        name: "command",
        target: CORE_TARGET,
        folder: "command",
        crate_file: "command_guest",
        features: None,
        rustflags: None,
        target_dir: "command",
    },
    // A component of a world of its own using WASI 0.2 (`../guest/wasi-component`, a test fixture): the value types
    // `--invoke` writes in WAVE, the WASI world a component is given, and ways to misbehave.
    GuestBuild {
        name: "wasi-component",
        target: COMPONENT_TARGET,
        folder: "wasi-component",
        crate_file: "wasi_component_guest",
        features: None,
        rustflags: None,
        target_dir: "component",
    },
];

/// Variables of the outer build that must not leak into the nested one.
const SCRUBBED_ENV: &[&str] = &[
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "RUSTDOCFLAGS",
    "CARGO_ENCODED_RUSTDOCFLAGS",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET",
    "CARGO_BUILD_TARGET_DIR",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_MAKEFLAGS",
];

/// The shims for wasmtime versions whose API differs from the one the workspace pins (`boundary versions` builds
/// this crate against others): each `cfg` is set when the wasmtime built on is older than the major version named.
/// Adding one: a line here, then `#[cfg(name)]` and `#[cfg(not(name))]` where the API differs, in this crate or the
/// measuring library (whose build script sets the same ones); host/README.md, "Another wasmtime version", has the
/// recipe.
const VERSION_SHIMS: &[(&str, u32)] = &[
    // wasmtime-wasi's preopen permissions (one `FsPerms` from 48), the component model's fixed-length lists (48).
    ("wasmtime_before_48", 48),
];

/// Set by `boundary versions` to the generated workspace it builds in.
const WORKSPACE_VAR: &str = "BOUNDARY_VERSIONS_WORKSPACE";

fn main() {
    if let Err(message) = run() {
        // A build script's panic prints a backtrace hint; one clear sentence is what the user needs.
        eprintln!("error: {message}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let manifest_dir = PathBuf::from(env_var("CARGO_MANIFEST_DIR")?);
    let out_dir = PathBuf::from(env_var("OUT_DIR")?);
    let guest_dir = manifest_dir.parent().ok_or("the host crate has no parent folder")?.join("guest");
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());

    let toolchain = choose_toolchain(&rustc)?;

    let mut inputs = Vec::new();
    for build in BUILDS {
        let crate_dir = guest_dir.join(build.folder);
        inputs.extend([crate_dir.join("Cargo.toml"), crate_dir.join("Cargo.lock")]);
        let variant = build.name;
        let target_dir = out_dir.join("guest-target").join(build.target_dir);
        let mut cmd = match &toolchain {
            GuestToolchain::Current => {
                let mut cmd = Command::new(&cargo);
                cmd.env("RUSTC", &rustc);
                cmd
            }
            GuestToolchain::Other { cargo, rustc } => {
                let mut cmd = Command::new(cargo);
                cmd.env("RUSTC", rustc).env_remove("RUSTUP_TOOLCHAIN");
                cmd
            }
        };
        cmd.arg("build")
            .arg("--release")
            .arg("--locked")
            .args(["--target", build.target])
            .arg("--manifest-path")
            .arg(crate_dir.join("Cargo.toml"))
            .arg("--target-dir")
            .arg(&target_dir);
        if let Some(features) = build.features {
            cmd.args(["--features", features]);
        }
        for var in SCRUBBED_ENV {
            cmd.env_remove(var);
        }
        if let Some(flags) = build.rustflags {
            cmd.env("CARGO_ENCODED_RUSTFLAGS", flags);
        }
        let output = cmd.output().map_err(|e| format!("could not start cargo to build the guest: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "building the {variant} guest for {} failed:\n{}",
                build.target,
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let artifact_dir = target_dir.join(build.target).join("release");
        let built = artifact_dir.join(format!("{}.wasm", build.crate_file));
        let dest = out_dir.join(format!("guest-{variant}.wasm"));
        fs::copy(&built, &dest)
            .map_err(|e| format!("could not copy {} to {}: {e}", built.display(), dest.display()))?;
        inputs.extend(dep_info_sources(&artifact_dir.join(format!("{}.d", build.crate_file)))?);
    }

    inputs.push(guest_dir.join("wit"));
    inputs.push(guest_dir.join("wasi-component/wit"));
    record_versions(&rustc, &manifest_dir)?;

    inputs.sort();
    inputs.dedup();
    for input in inputs {
        println!("cargo:rerun-if-changed={}", input.display());
    }
    println!("cargo:rerun-if-changed=build.rs");
    Ok(())
}

/// Records the rustc and wasmtime versions of this build for results and baselines (`src/build_info.rs`).
fn record_versions(rustc: &str, manifest_dir: &Path) -> Result<(), String> {
    let version = Command::new(rustc).arg("-V").output().map_err(|e| format!("could not run `{rustc} -V`: {e}"))?;
    let version = String::from_utf8_lossy(&version.stdout).trim().to_string();
    println!("cargo:rustc-env=BOUNDARY_RUSTC_VERSION={version}");
    println!("cargo:rustc-env=BOUNDARY_TARGET={}", env_var("TARGET")?);

    // The workspace whose lock file chose the version: this crate's own, or the generated workspace that
    // `boundary versions` builds this crate in (cargo gives the build script the linked folder's real path, so the
    // generated workspace names itself).
    println!("cargo:rerun-if-env-changed={WORKSPACE_VAR}");
    let workspace = env::var_os(WORKSPACE_VAR).map_or_else(|| manifest_dir.join(".."), PathBuf::from);
    let lock_path = workspace.join("Cargo.lock");
    let lock = fs::read_to_string(&lock_path).map_err(|e| format!("could not read {}: {e}", lock_path.display()))?;
    let mut lines = lock.lines();
    let wasmtime = loop {
        match lines.next() {
            Some("name = \"wasmtime\"") => break lines.next().and_then(|l| l.strip_prefix("version = ")),
            Some(_) => continue,
            None => break None,
        }
    };
    let wasmtime = wasmtime.ok_or("Cargo.lock has no `wasmtime` package")?.trim_matches('"');
    println!("cargo:rustc-env=BOUNDARY_WASMTIME_VERSION={wasmtime}");
    let major: u32 = wasmtime.split('.').next().and_then(|m| m.parse().ok()).ok_or("Cargo.lock's wasmtime version")?;
    let mut set = Vec::new();
    for (cfg, from) in VERSION_SHIMS {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        if major < *from {
            println!("cargo:rustc-cfg={cfg}");
            set.push(*cfg);
        }
    }
    // For the crates that depend on this one (`links`): the measuring library's build script sets the same ones.
    let all: Vec<&str> = VERSION_SHIMS.iter().map(|(cfg, _)| *cfg).collect();
    println!("cargo::metadata=shims={}", all.join(","));
    println!("cargo::metadata=shims_set={}", set.join(","));
    println!("cargo:rerun-if-changed={}", lock_path.display());
    Ok(())
}

fn env_var(name: &str) -> Result<String, String> {
    env::var(name).map_err(|_| format!("cargo did not set {name} for the build script"))
}

/// Which toolchain builds the guest.
enum GuestToolchain {
    /// The one running this build (`RUSTC` and `CARGO`).
    Current,
    /// Another rustup toolchain's cargo and rustc.
    Other { cargo: PathBuf, rustc: PathBuf },
}

/// The path of `tool` in the rustup toolchain `toolchain`.
fn rustup_which(tool: &str, toolchain: &str) -> Option<PathBuf> {
    let out = Command::new("rustup").args(["which", tool, "--toolchain", toolchain]).output().ok()?;
    out.status.success().then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// Whether the toolchain of `rustc` has the standard library of every wasm target (`None` if it cannot say).
fn has_wasm_targets(rustc: &Path) -> Option<bool> {
    let out = Command::new(rustc).args(["--print", "sysroot"]).output().ok()?;
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let rustlib = Path::new(&sysroot).join("lib/rustlib");
    Some(WASM_TARGETS.iter().all(|target| rustlib.join(target).join("lib").is_dir()))
}

fn rustup_add_targets(toolchain: Option<&str>) -> Result<(), String> {
    let mut rustup = Command::new("rustup");
    rustup.arg("target").arg("add").args(WASM_TARGETS);
    if let Some(name) = toolchain {
        rustup.args(["--toolchain", name]);
    }
    match rustup.output() {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(String::from_utf8_lossy(&out.stderr)
            .lines()
            .find(|l| l.starts_with("error"))
            .unwrap_or("failed")
            .to_string()),
        Err(e) => Err(format!("rustup is not available ({e})")),
    }
}

/// The toolchain running this build if it has (or can install) the standard libraries of both wasm targets, else
/// the stable toolchain if that has (or can install) them.
fn choose_toolchain(rustc: &str) -> Result<GuestToolchain, String> {
    let targets = WASM_TARGETS.join(" ");
    let how = format!("rustup target add {targets}");
    let rustc_path = Path::new(rustc);
    let ready = has_wasm_targets(rustc_path).ok_or_else(|| format!("could not run `{rustc} --print sysroot`"))?;
    if ready {
        return Ok(GuestToolchain::Current);
    }
    // `RUSTUP_TOOLCHAIN` is set by rustup's proxies, so this installs for the toolchain running this build.
    let current_error = match rustup_add_targets(None) {
        Ok(()) if has_wasm_targets(rustc_path) == Some(true) => {
            println!("cargo:warning=installed the {targets} standard libraries with `{how}` (the guest needs them)");
            return Ok(GuestToolchain::Current);
        }
        Ok(()) => "they did not appear after installing".to_string(),
        Err(e) => e,
    };
    let stable = "stable";
    if let (Some(cargo), Some(rustc)) = (rustup_which("cargo", stable), rustup_which("rustc", stable)) {
        let ready = match has_wasm_targets(&rustc) {
            Some(true) => true,
            Some(false) => rustup_add_targets(Some(stable)).is_ok() && has_wasm_targets(&rustc) == Some(true),
            None => false,
        };
        if ready {
            println!(
                "cargo:warning=building the guest with the {stable} toolchain: this toolchain lacks the standard \
                 library of {targets} ({current_error})"
            );
            return Ok(GuestToolchain::Other { cargo, rustc });
        }
    }
    Err(format!(
        "the standard library of {targets} is missing and `{how}` failed ({current_error}): install the targets \
         for this toolchain or for `stable` (with rustup: `{how}`), then build again"
    ))
}

/// The source files listed in a rustc dep-info file (`target: dep dep ...`, spaces in paths escaped as `\ `).
fn dep_info_sources(dep_file: &Path) -> Result<Vec<PathBuf>, String> {
    let text = fs::read_to_string(dep_file)
        .map_err(|e| format!("could not read the guest's dep-info {}: {e}", dep_file.display()))?;
    let mut sources = Vec::new();
    for line in text.lines() {
        let Some((_, deps)) = line.split_once(": ") else {
            continue;
        };
        let mut current = String::new();
        let mut chars = deps.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if chars.peek() == Some(&' ') => {
                    current.push(' ');
                    chars.next();
                }
                ' ' => {
                    if !current.is_empty() {
                        sources.push(PathBuf::from(std::mem::take(&mut current)));
                    }
                }
                _ => current.push(c),
            }
        }
        if !current.is_empty() {
            sources.push(PathBuf::from(current));
        }
    }
    Ok(sources)
}
