//! The host core's test suite: the five patterns, bad input, guard rails, memory bounds, and the command line.

mod bad_input;
mod cli;
#[cfg(feature = "cpp-host")]
mod cpp_host;
mod fuzz_replay;
mod guard_rails;
mod memory_bounds;
mod patterns;

use boundary_host::{EngineProfile, GuestModule, GuestOutput, HostOptions};

/// The hand-written WAT module with the guest's ABI.
pub const ABI_WAT: &str = include_str!("../fixtures/abi.wat");

/// Options for tests: guest output discarded so test logs stay readable.
pub fn quiet_options() -> HostOptions {
    HostOptions { output: GuestOutput::Discard, ..HostOptions::default() }
}

/// The quiet guest under the default profile.
pub fn quiet_guest() -> GuestModule {
    GuestModule::quiet_guest(EngineProfile::Cranelift, quiet_options()).unwrap()
}

/// `ABI_WAT` with each `(from, to)` replacement made once; every `from` must occur in it.
pub fn mutated_wat(replacements: &[(&str, &str)]) -> String {
    let mut text = ABI_WAT.to_string();
    for (from, to) in replacements {
        assert!(text.contains(from), "fixture does not contain {from:?}");
        text = text.replacen(from, to, 1);
    }
    text
}

/// Loads `ABI_WAT` after replacing `from` with `to` (which must occur in it).
pub fn load_mutated_wat(from: &str, to: &str) -> Result<GuestModule, boundary_host::Error> {
    load_wat(&mutated_wat(&[(from, to)]))
}

/// Loads WAT text under the default profile.
pub fn load_wat(text: &str) -> Result<GuestModule, boundary_host::Error> {
    GuestModule::from_wat("mutated.wat", text, EngineProfile::Cranelift, quiet_options())
}
