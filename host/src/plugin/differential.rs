//! Two engine profiles serving one request on the same inputs, their outcomes compared: the core of the differential
//! fuzzer of a user's plugin, driven by `boundary fuzz` (its own mutations, `benches/src/fuzz.rs`) and by the
//! cargo-fuzz target `plugin` (libFuzzer's, `fuzz/fuzz_targets/plugin.rs`).
//!
//! The guest's world is made deterministic ([`options`]: clocks standing still, seeded random numbers; [`engine`]:
//! NaNs canonicalised by the compiler), so that two profiles disagreeing on an input is a finding, not noise. A
//! finding is written as a request file that replays it ([`finding`]).

use super::{Failure, Plugin, Request, Served, shown};
use crate::wasmtime::{Engine, Trap};
use crate::{EngineProfile, Error, GuestOutput, HostOptions, TrapKind, Wasm, escape_controls};
use std::path::Path;

/// What one input came to under one profile, as two profiles are compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The output's bytes.
    Output(Vec<u8>),
    /// A failure the plugin reported.
    Reported(String),
    /// The guest misbehaved: a trap (by its code), a broken rule, memory past the budget.
    Misbehaved(String),
    /// Out of time or fuel: not compared (profiles run at different speeds).
    OutOfTime,
}

impl Outcome {
    /// The outcome of serving a request.
    pub fn of(result: Result<Served, Failure>) -> Self {
        match result {
            Ok(served) => Outcome::Output(served.output),
            Err(Failure::Reported(why)) => Outcome::Reported(why),
            Err(Failure::Guest(e)) => Outcome::of_error(&e),
        }
    }

    /// The outcome of an error on the way (instantiating, serving).
    pub fn of_error(e: &Error) -> Self {
        match e {
            Error::Trap { trap: TrapKind::Wasm(Trap::Interrupt | Trap::OutOfFuel), .. } => Outcome::OutOfTime,
            other if other.is_memory_limit() => Outcome::Misbehaved("went past the memory budget".to_string()),
            other => Outcome::Misbehaved(other.to_string()),
        }
    }

    /// Which of the four it is, in words.
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Output(_) => "an output",
            Outcome::Reported(_) => "a reported failure",
            Outcome::Misbehaved(_) => "a misbehaving guest",
            Outcome::OutOfTime => "out of time",
        }
    }

    /// The outcome in one line.
    pub fn text(&self) -> String {
        match self {
            Outcome::Output(bytes) => format!("output {}", shown(bytes)),
            Outcome::Reported(why) => format!("reported: {}", escape_controls(why)),
            Outcome::Misbehaved(why) => format!("misbehaved: {}", escape_controls(why)),
            Outcome::OutOfTime => "out of time".to_string(),
        }
    }
}

/// The options of a fuzzed plugin's stores: `base` (its budgets) with the guest's world deterministic and its
/// output dropped.
pub fn options(base: HostOptions) -> HostOptions {
    HostOptions { output: GuestOutput::Discard, deterministic: true, ..base }
}

/// The engine of `profile` with NaNs canonicalised, so that a NaN's bits cannot tell two compilers apart.
pub fn engine(profile: EngineProfile) -> Result<Engine, String> {
    let mut config = profile.config().map_err(|e| e.to_string())?;
    config.cranelift_nan_canonicalization(true);
    profile.engine_from(&config).map_err(|e| format!("profile `{profile}` cannot fuzz: {e}"))
}

/// The two profiles compared: `given` if it names two different ones, Cranelift and Pulley if it names none.
pub fn profiles(given: &[EngineProfile]) -> Result<[EngineProfile; 2], String> {
    match given {
        [] => Ok([EngineProfile::Cranelift, EngineProfile::Pulley]),
        [a, b] if a != b => Ok([*a, *b]),
        _ => Err("fuzz compares two engine profiles: give --profile twice, with two names".to_string()),
    }
}

/// `wasm` loaded under `profile` for fuzzing `request` (the engine of [`engine`], the options of [`options`]).
pub fn load(wasm: &Wasm, profile: EngineProfile, base: HostOptions, request: &Request) -> Result<Plugin, String> {
    let engine = engine(profile)?;
    Plugin::load_with_engine(wasm, profile, &engine, options(base), request).map_err(|e| e.to_string())
}

/// Serves `inputs` once on a fresh instance of `plugin`.
pub fn serve(plugin: &Plugin, inputs: &[Vec<u8>]) -> Outcome {
    match plugin.instantiate() {
        Ok(mut instance) => Outcome::of(instance.serve(inputs)),
        Err(e) => Outcome::of_error(&e),
    }
}

/// Whether two outcomes are a finding: they differ, and neither ran out of time.
pub fn differ(outcomes: &[Outcome; 2]) -> bool {
    outcomes[0] != outcomes[1] && !outcomes.contains(&Outcome::OutOfTime)
}

/// The request file that replays a finding: `what` (one line: which input, how it was found), what each profile
/// gave, the replay command, then `request` with `inputs` in place of its own and, where the first profile gave an
/// output, that output as the expectation (so the request fails its check under the other profile).
pub fn finding(
    what: &str,
    request: &Request,
    module: Option<&Path>,
    inputs: &[Vec<u8>],
    profiles: [EngineProfile; 2],
    outcomes: &[Outcome; 2],
) -> String {
    let mut text = format!(
        "# A finding of {what} gave\n#   under `{}`: {}\n#   under `{}`: {}\n# Replay: boundary --request <this file> \
         --profile {}\n",
        profiles[0],
        outcomes[0].text(),
        profiles[1],
        outcomes[1].text(),
        profiles[0]
    );
    text.push_str(&request.to_toml(module, inputs));
    if let Outcome::Output(bytes) = &outcomes[0] {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        text.push_str(&format!("\n# What `{}` gave.\n[expect]\nhex = \"{hex}\"\n", profiles[0]));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_profiles_are_compared_unless_one_ran_out_of_time() {
        let out = |b: &[u8]| Outcome::Output(b.to_vec());
        assert!(!differ(&[out(b"a"), out(b"a")]));
        assert!(differ(&[out(b"a"), out(b"b")]));
        assert!(differ(&[out(b"a"), Outcome::Misbehaved("trap".into())]));
        assert!(!differ(&[out(b"a"), Outcome::OutOfTime]));
        assert!(!differ(&[Outcome::OutOfTime, Outcome::Reported("no".into())]));
    }

    #[test]
    fn two_profiles_by_default_and_never_one_twice() {
        assert_eq!(profiles(&[]), Ok([EngineProfile::Cranelift, EngineProfile::Pulley]));
        assert_eq!(profiles(&[EngineProfile::Winch, EngineProfile::Cranelift]).unwrap()[0], EngineProfile::Winch);
        assert!(profiles(&[EngineProfile::Winch, EngineProfile::Winch]).is_err());
        assert!(profiles(&[EngineProfile::Winch]).is_err());
    }
}
