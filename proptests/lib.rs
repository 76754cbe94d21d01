//! This crate has no library code: its tests are in `tests/`.
