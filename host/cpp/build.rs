//! Compiles the C++ host (`cpp/`) against the `wasmtime.hh` headers that `wasmtime-c-api-impl` installs for the
//! very wasmtime this crate links, into a static library bundled with this crate.
//!
//! `wasmtime-c-api-impl`'s own build script runs cmake to install those headers: without cmake it stops the build
//! before this script runs, with a panic of its own. That is why this crate is outside the workspace's default
//! members and behind the `cpp` features: README says what to install.

use std::env;
use std::path::PathBuf;

fn main() {
    if let Err(message) = run() {
        // A build script's panic prints a backtrace hint; one clear sentence is what the user needs.
        eprintln!("error: {message}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let manifest_dir =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").map_err(|_| "cargo did not set CARGO_MANIFEST_DIR")?);
    let include = env::var("DEP_WASMTIME_C_API_INCLUDE")
        .map_err(|_| "wasmtime-c-api-impl did not say where its headers are (DEP_WASMTIME_C_API_INCLUDE)")?;
    let dir = manifest_dir.join("cpp");
    let sources = ["wasm_host.cc", "bridge.cc"].map(|f| dir.join(f));
    cc::Build::new()
        .cpp(true)
        .std("c++17")
        .include(&include)
        .include(&dir)
        .files(&sources)
        .warnings(true)
        .try_compile("boundary_cpp_host")
        .map_err(|e| {
            format!(
                "could not compile the C++ host in {} (it needs a C++17 compiler, e.g. `apt-get install g++`): {e}",
                dir.display()
            )
        })?;
    for file in ["wasm_host.hh", "wasm_host.cc", "bridge.h", "bridge.cc"] {
        println!("cargo:rerun-if-changed={}", dir.join(file).display());
    }
    println!("cargo:rerun-if-changed=build.rs");
    Ok(())
}
