//! Support for the criterion matrix (`benches/matrix.rs`): the rows, the raw-wasmtime baseline, the native
//! floors, and the results writer.

pub mod child;
pub mod component_ops;
pub mod counting;
pub mod environment;
pub mod gate;
pub mod guard;
pub mod invoke;
pub mod native;
pub mod ops;
pub mod options;
pub mod overhead;
pub mod paired;
pub mod payload;
pub mod payload_report;
pub mod raw;
pub mod report;
pub mod rows;
pub mod serving;
pub mod serving_report;
pub mod subject;

use std::path::PathBuf;

/// The workspace root (the folder holding `results/`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().map(PathBuf::from).unwrap_or_default()
}

/// `<target>/` of the running executable (bench and test executables live in `<target>/<profile>/deps/`).
pub fn target_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(PathBuf::from))
        .unwrap_or_else(|| workspace_root().join("target"))
}
