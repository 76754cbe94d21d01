//! Empty on purpose: see `Cargo.toml`. This crate exists for the features its dependencies are built with.
