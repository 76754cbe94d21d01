//! Proptest drivers of the memory I/O oracle (`boundary_oracle`): random bytes decoded into a `Program`
//! exactly as libFuzzer's `fuzz_target!` decodes them, checked against the native model. On failure proptest
//! shrinks the bytes, which shortens the program and simplifies its operations, and records the case in
//! `proptest-regressions/` so it is replayed first from then on.

use boundary_host::EngineProfile;
use boundary_oracle::{self as oracle, Oracle};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use std::sync::OnceLock;

/// `cases` cases, with failures recorded in `proptests/proptest-regressions/memory_io.txt` (tests run from the
/// package folder) and replayed first on every later run.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("proptest-regressions/memory_io.txt"))),
        ..ProptestConfig::with_cases(cases)
    }
}

/// Input sizes: enough bytes for a few dozen operations.
fn input() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..1024)
}

fn oracle_for(profile: EngineProfile) -> &'static Oracle {
    static ORACLES: OnceLock<Vec<Oracle>> = OnceLock::new();
    let all = ORACLES.get_or_init(|| EngineProfile::ALL.iter().map(|p| Oracle::new(*p).unwrap()).collect());
    let index = EngineProfile::ALL.iter().position(|p| *p == profile).unwrap();
    &all[index]
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn host_memory_io_matches_the_native_model(bytes in input()) {
        let Some(program) = oracle::decode(&bytes) else { return Ok(()) };
        if let Err(divergence) = oracle::check(&program) {
            prop_assert!(false, "{divergence}\n{program:?}");
        }
    }
}

proptest! {
    #![proptest_config(config(300))]

    #[test]
    fn cranelift_and_pulley_agree(bytes in input()) {
        if let Some(program) = oracle::decode(&bytes) {
            let result = oracle::differential(&program, oracle_for(EngineProfile::Cranelift), oracle_for(EngineProfile::Pulley));
            if let Err(divergence) = result {
                prop_assert!(false, "{divergence}\n{program:?}");
            }
        }
    }

    #[test]
    fn cranelift_and_winch_agree(bytes in input()) {
        if let Some(program) = oracle::decode(&bytes) {
            let result = oracle::differential(&program, oracle_for(EngineProfile::Cranelift), oracle_for(EngineProfile::Winch));
            if let Err(divergence) = result {
                prop_assert!(false, "{divergence}\n{program:?}");
            }
        }
    }

    #[test]
    fn every_profile_matches_the_model(bytes in input(), index in 0..EngineProfile::ALL.len()) {
        if let Some(program) = oracle::decode(&bytes) {
            let profile = EngineProfile::ALL[index];
            if let Err(divergence) = oracle_for(profile).check(&program) {
                prop_assert!(false, "under {profile}: {divergence}\n{program:?}");
            }
        }
    }
}

/// The properties above mean something only if random inputs reach every kind of outcome: in bounds and out,
/// guest calls that return and that trap, growth. This counts them over a fixed set of inputs.
#[test]
fn random_inputs_reach_every_kind_of_outcome() {
    use boundary_oracle::{Op, Outcome};
    use std::collections::BTreeSet;
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        // xorshift64*: a fixed, dependency-free byte stream, so the test sees the same inputs every run.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
    };
    let mut seen = BTreeSet::new();
    for _ in 0..300 {
        let bytes: Vec<u8> = (0..512).map(|_| next()).collect();
        let program = oracle::decode(&bytes).expect("any bytes decode");
        let run = oracle::check(&program).unwrap_or_else(|d| panic!("{d}\n{program:?}"));
        for (op, outcome) in program.ops.iter().zip(&run.trace) {
            let op = match op {
                Op::WritePoint { .. } | Op::WriteBytes { .. } | Op::WriteStatic { .. } => "host write",
                Op::ReadPoint { .. } | Op::ReadBytes { .. } | Op::ReadStatic => "host read",
                Op::PointAdd { .. } | Op::PointAddBatch { .. } | Op::GuestReadsStatic => "guest call",
                Op::Grow { .. } => "grow",
                Op::Checksum { .. } | Op::Fill { .. } => "payload",
            };
            let outcome = match outcome {
                Outcome::Wrote | Outcome::Read(_) => "in bounds",
                Outcome::OutOfBounds(_) => "out of bounds",
                Outcome::Returned | Outcome::Value(_) | Outcome::Checksum(_) => "returned",
                Outcome::Trapped(_) => "trapped",
                Outcome::Grew(_) => "grew",
                Outcome::Skipped => "skipped",
                other => panic!("unexpected outcome {other:?}"),
            };
            seen.insert((op, outcome));
        }
    }
    let wanted = [
        ("host write", "in bounds"),
        ("host write", "out of bounds"),
        ("host read", "in bounds"),
        ("host read", "out of bounds"),
        ("guest call", "returned"),
        ("guest call", "trapped"),
        ("grow", "grew"),
        ("payload", "returned"),
        ("payload", "trapped"),
    ];
    for pair in wanted {
        assert!(seen.contains(&pair), "no random input reached {pair:?}; seen: {seen:?}");
    }
}
