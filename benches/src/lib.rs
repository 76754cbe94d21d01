//! Support for the criterion matrix (`benches/matrix.rs`): the rows, the raw-wasmtime baseline, the native
//! floors, and the results writer.

pub mod component_ops;
pub mod counting;
pub mod gate;
pub mod invoke;
pub mod native;
pub mod ops;
pub mod overhead;
pub mod paired;
pub mod raw;
pub mod report;
pub mod rows;
pub mod subject;

use std::path::PathBuf;

/// The workspace root (the folder holding `results/`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().map(PathBuf::from).unwrap_or_default()
}
