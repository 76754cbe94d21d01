//! The wasmtime version shims of the host core's build script, for this crate too: `wasmtime_before_48` when the
//! wasmtime it is built on is older than 48 (`boundary versions` builds the workspace against other versions).

fn main() {
    println!("cargo::rustc-check-cfg=cfg(wasmtime_before_48)");
    println!("cargo:rerun-if-env-changed=DEP_BOUNDARY_HOST_WASMTIME_BEFORE_48");
    if std::env::var_os("DEP_BOUNDARY_HOST_WASMTIME_BEFORE_48").is_some() {
        println!("cargo:rustc-cfg=wasmtime_before_48");
    }
}
