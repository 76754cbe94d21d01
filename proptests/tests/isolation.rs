//! Proptest drivers of the isolation oracle (`boundary_oracle::isolation`): random bytes decoded into a `Case`
//! exactly as libFuzzer's `fuzz_target!` decodes them. Instance A runs the case's program in a single-slot pool and
//! is dropped; instance B, in the same slot, must see a fresh instance, under every slot-reset configuration. The
//! negative control examines A itself instead of B, as a slot nothing reset would be seen: the same check must then
//! catch every program that left anything changed.

use boundary_oracle::isolation::{self, Case, Op, RESETS, Spot};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("proptest-regressions/isolation.txt"))),
        ..ProptestConfig::with_cases(cases)
    }
}

proptest! {
    #![proptest_config(config(600))]

    #[test]
    fn a_recycled_slot_shows_nothing_of_the_instance_before(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let Some(case) = isolation::decode(&bytes) else { return Ok(()) };
        if let Err(leak) = isolation::check(&case) {
            prop_assert!(false, "{leak}\n{case:?}");
        }
    }
}

/// Every configuration is exercised by a program that changes every kind of state, and the kernel has what each
/// needs (a configuration this kernel cannot run would be passed over by `check`, so that is asserted here).
#[test]
fn every_reset_configuration_recycles_a_slot_cleanly() {
    let everything = vec![
        Op::Grow { pages: 3 },
        Op::HostWrite { at: Spot::Grown(5), bytes: vec![0xff; 64] },
        Op::HostWrite { at: Spot::PageEdge { page: 1, n: 3 }, bytes: vec![0x5a; 16] },
        Op::GuestStore { at: Spot::Any(12), value: 0x99 },
        Op::GuestFill { at: Spot::FromEnd(4000), value: 0x77, len: 4000 },
        Op::SetGlobals { g32: -1, g64: -2 },
        Op::SetTable { index: 3, null: false },
        Op::SetTable { index: 0, null: true },
        Op::GrowTable { by: 3 },
    ];
    for index in 0..RESETS.len() {
        let case = Case { reset: index as u8, ops: everything.clone() };
        assert!(isolation::available(case.reset()), "{:?} cannot run on this kernel", case.reset());
        isolation::check(&case).unwrap_or_else(|leak| panic!("{leak}"));
        // The same program seen without a reset: the control catches it.
        let leak = isolation::check_without_reset(&case).expect_err("a dirty slot passed the check");
        assert!(leak.what.contains("memory of"), "{leak}");
    }
}

/// The control catches each kind of change on its own: a byte, a global, a table element.
#[test]
fn the_check_catches_a_slot_left_dirty() {
    let cases = [
        (vec![Op::HostWrite { at: Spot::Any(100), bytes: vec![0xee] }], "byte 0x64"),
        (vec![Op::GuestStore { at: Spot::PageEdge { page: 1, n: 8 }, value: 1 }], "byte 0x10000"),
        (vec![Op::SetGlobals { g32: 5, g64: 0x0102030405060708 }], "globals"),
        (vec![Op::SetTable { index: 0, null: true }], "table"),
    ];
    for (ops, needle) in cases {
        let case = Case { reset: 0, ops };
        isolation::check(&case).unwrap_or_else(|leak| panic!("{leak}"));
        let leak = isolation::check_without_reset(&case).expect_err("a dirty slot passed the check");
        assert!(leak.what.contains(needle), "{leak}");
    }
}

proptest! {
    #![proptest_config(config(200))]

    /// Whenever the program leaves a byte other than the image, the control reports it.
    #[test]
    fn the_control_catches_every_write_that_changes_a_byte(at in 0u32..(2 * 65536), value in 1u8..=255) {
        let case = Case { reset: 0, ops: vec![Op::HostWrite { at: Spot::Any(at), bytes: vec![value] }] };
        let control = isolation::check_without_reset(&case);
        let fresh_byte = fresh_byte(at as usize);
        prop_assert_eq!(control.is_err(), value != fresh_byte, "{:?}", control);
    }
}

/// The byte at `at` in a fresh instance, read on its own engine.
fn fresh_byte(at: usize) -> u8 {
    use boundary_host::wasmtime::{Engine, Instance, Module, Store};
    use boundary_oracle::isolation::GUEST_WAT;
    let engine = Engine::default();
    let module = Module::new(&engine, GUEST_WAT).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    instance.get_memory(&mut store, "memory").unwrap().data(&store)[at]
}
