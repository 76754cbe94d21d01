//! Versions this build was made with, recorded by `build.rs` for results and baselines.

/// `rustc -V` of the compiler that built this crate.
pub const RUSTC_VERSION: &str = env!("BOUNDARY_RUSTC_VERSION");

/// The wasmtime version in `Cargo.lock`.
pub const WASMTIME_VERSION: &str = env!("BOUNDARY_WASMTIME_VERSION");

/// The target triple this crate was built for.
pub const TARGET: &str = env!("BOUNDARY_TARGET");
