//! `cargo +nightly fuzz run differential`: the memory I/O programs under Cranelift and under Pulley, which must
//! both match the model and leave identical outcomes and memory. The logic is `boundary_oracle` (`host/oracle`).
#![no_main]

use boundary_host::EngineProfile;
use boundary_oracle::{self as oracle, Oracle, Program};
use std::sync::OnceLock;

fn oracles() -> &'static (Oracle, Oracle) {
    static PAIR: OnceLock<(Oracle, Oracle)> = OnceLock::new();
    PAIR.get_or_init(|| (Oracle::new(EngineProfile::Cranelift).unwrap(), Oracle::new(EngineProfile::Pulley).unwrap()))
}

libfuzzer_sys::fuzz_target!(|program: Program| {
    let (first, second) = oracles();
    if let Err(divergence) = oracle::differential(&program, first, second) {
        panic!("{divergence}\n{program:?}");
    }
});
