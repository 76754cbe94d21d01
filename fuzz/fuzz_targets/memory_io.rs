//! `cargo +nightly fuzz run memory_io`: host memory I/O and guest struct passing against the native model.
//! The input type, the model and the check are `boundary_oracle` (`host/oracle`); this file only connects them.
#![no_main]

use boundary_oracle::{self as oracle, Program};

libfuzzer_sys::fuzz_target!(|program: Program| {
    if let Err(divergence) = oracle::check(&program) {
        panic!("{divergence}\n{program:?}");
    }
});
