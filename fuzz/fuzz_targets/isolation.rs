//! `cargo +nightly fuzz run isolation`: a recycled pool slot shows nothing of the instance before it, under every
//! slot-reset configuration. The input type and the check are `boundary_oracle::isolation`; this file only connects
//! them.
#![no_main]

use boundary_oracle::isolation::{self, Case};

libfuzzer_sys::fuzz_target!(|case: Case| {
    if let Err(leak) = isolation::check(&case) {
        panic!("{leak}\n{case:?}");
    }
});
