//! The guest as a component against the same native model, and differentially against the core module on the same
//! inputs (`boundary_oracle::component`): `point-add` by record and `point-add-batch` over lists, under every
//! engine profile.

use boundary_host::EngineProfile;
use boundary_oracle::component::{ComponentOracle, MAX_POINTS, PointCase};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use std::sync::{Mutex, OnceLock};

fn oracle_for(index: usize) -> &'static Mutex<ComponentOracle> {
    static ORACLES: OnceLock<Vec<Mutex<ComponentOracle>>> = OnceLock::new();
    let all = ORACLES.get_or_init(|| {
        EngineProfile::ALL
            .iter()
            .map(|p| Mutex::new(ComponentOracle::new(*p).unwrap_or_else(|e| panic!("{e}"))))
            .collect()
    });
    &all[index]
}

/// Lists of any length up to the oracle's limit, with values from the whole `i32` range (so the sums wrap).
fn points() -> impl Strategy<Value = Vec<(i32, i32)>> {
    prop::collection::vec((any::<i32>(), any::<i32>()), 0..=MAX_POINTS)
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("proptest-regressions/component.txt"))),
        ..ProptestConfig::with_cases(1000)
    })]

    #[test]
    fn the_component_and_the_core_module_give_the_model_sums(
        a in points(),
        b in points(),
        index in 0..EngineProfile::ALL.len(),
    ) {
        let case = PointCase { a, b };
        let mut oracle = oracle_for(index).lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Err(divergence) = oracle.check(&case) {
            prop_assert!(false, "under {}: {divergence}", EngineProfile::ALL[index]);
        }
    }
}

/// The check can fail: against a model whose sum is off by one, the same case is a divergence, for one pair and
/// for the batch alike.
#[test]
fn a_wrong_sum_is_caught() {
    use boundary_host::{Point, guest::add_points};
    let mut oracle = ComponentOracle::new(EngineProfile::Cranelift).unwrap();
    let case = PointCase { a: vec![(i32::MAX, 1), (5, 6)], b: vec![(1, i32::MIN), (7, 8)] };
    oracle.check(&case).unwrap();
    let off_by_one = |a: Point, b: Point| {
        let sum = add_points(a, b);
        Point::new(sum.x.wrapping_add(1), sum.y)
    };
    let divergence = oracle.check_with_model(&case, off_by_one).unwrap_err();
    assert_eq!(divergence.step, Some(0), "{divergence}");
    assert!(divergence.what.contains("point-add"), "{divergence}");
    let batch_only = PointCase { a: vec![(1, 2); 3], b: vec![] };
    oracle.check_with_model(&batch_only, off_by_one).unwrap();
}
