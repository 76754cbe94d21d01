//! Deadlines in the host core: under the `epoch` profile a call, a start function and `_initialize` are
//! interrupted when their deadline passes; other profiles refuse to promise one. (That no guest can hang the
//! `boundary` command under any profile is tested in `host/cli`.)

use crate::support::{mutated_wat, quiet_options};
use boundary_host::wasmtime::Trap;
use boundary_host::{EngineProfile, Error, GuestModule, TrapKind};
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_millis(200);
/// Generous: only guards against "never".
const BOUND: Duration = Duration::from_secs(10);

/// The ABI fixture with `extra` added after its memory.
fn with(extra: &str) -> String {
    let memory = "(memory (export \"memory\") 1)";
    mutated_wat(&[(memory, &format!("{memory}\n  {extra}"))])
}

fn load(text: &str, profile: EngineProfile) -> GuestModule {
    GuestModule::from_wat("spin.wat", text, profile, quiet_options()).unwrap()
}

#[test]
fn a_start_function_that_never_returns_is_interrupted_under_epoch() {
    let guest = load(&with("(func $spin (loop $l (br $l)))\n  (start $spin)"), EngineProfile::Epoch);
    let started = Instant::now();
    let err = guest.instantiate_with_deadline(DEADLINE).unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(&err, Error::StartTrapped { module, trap: TrapKind::Wasm(Trap::Interrupt) } if module == "spin.wat"),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "the start function of spin.wat was interrupted: its deadline passed");
    assert!(took >= DEADLINE && took < BOUND, "{took:?}");
}

#[test]
fn an_initialize_that_never_returns_is_interrupted_under_epoch() {
    let guest = load(&with("(func (export \"_initialize\") (loop $l (br $l)))"), EngineProfile::Epoch);
    let err = guest.instantiate_with_deadline(DEADLINE).unwrap_err();
    assert!(matches!(&err, Error::Trap { export, .. } if export == "_initialize"), "{err:?}");
    assert_eq!(err.trap_code(), Some(Trap::Interrupt));
}

#[test]
fn profiles_without_epoch_checks_refuse_a_deadline() {
    for &profile in EngineProfile::ALL.iter().filter(|p| **p != EngineProfile::Epoch) {
        let guest = load(crate::support::ABI_WAT, profile);
        let err = guest.instantiate_with_deadline(DEADLINE).unwrap_err();
        assert!(matches!(err, Error::NoDeadline { profile: p } if p == profile.name()), "{profile}: {err:?}");
        let mut host = guest.instantiate().unwrap();
        let err = host.with_deadline(DEADLINE, |h| h.just_add(1, 1)).unwrap_err();
        assert!(matches!(err, Error::NoDeadline { .. }), "{profile}: {err:?}");
    }
}

/// The ABI fixture with `spin`, which never returns, and `count(n)`, which loops `n` times and returns.
fn spinning() -> String {
    with(
        "(func (export \"spin\") (loop $l (br $l)))
  (func (export \"count\") (param $n i32) (loop $l (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))",
    )
}

fn interrupted(result: Result<(), Error>) -> bool {
    matches!(result, Err(Error::Trap { trap: TrapKind::Wasm(Trap::Interrupt), .. }))
}

#[test]
fn a_deadline_holds_across_a_reset_inside_it() {
    let mut host = load(&spinning(), EngineProfile::Epoch).instantiate().unwrap();
    let started = Instant::now();
    let result = host
        .with_deadline(DEADLINE, |h| {
            h.reset().unwrap();
            h.call_export("spin", &[], &mut [])
        })
        .unwrap();
    assert!(interrupted(result), "the call after the reset was not interrupted");
    assert!(started.elapsed() < BOUND);
    assert_eq!(host.deadline(), None, "the deadline outlived with_deadline");
}

#[test]
fn nested_deadlines_keep_the_nearer_and_give_the_outer_one_back() {
    let mut host = load(&spinning(), EngineProfile::Epoch).instantiate().unwrap();
    // A far deadline inside a near one: the near one still holds.
    let started = Instant::now();
    let result =
        host.with_deadline(DEADLINE, |h| h.with_deadline(BOUND * 6, |h| h.call_export("spin", &[], &mut [])).unwrap());
    assert!(interrupted(result.unwrap()));
    assert!(started.elapsed() < BOUND, "{:?}", started.elapsed());
    host.reset().unwrap();
    // A near one inside a far one: after it, the far one is pending again.
    host.with_deadline(BOUND * 6, |h| {
        let outer = h.deadline();
        assert!(outer.is_some());
        let inner = h.with_deadline(DEADLINE, |h| h.call_export("spin", &[], &mut [])).unwrap();
        assert!(interrupted(inner));
        assert_eq!(h.deadline(), outer);
    })
    .unwrap();
    assert_eq!(host.deadline(), None);
}

#[test]
fn a_panic_inside_with_deadline_leaves_no_deadline_behind() {
    let guest = load(&spinning(), EngineProfile::Epoch);
    let mut host = guest.instantiate().unwrap();
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        host.with_deadline(Duration::from_millis(1), |_| panic!("on purpose")).unwrap();
    }));
    assert!(panicked.is_err());
    assert_eq!(host.deadline(), None);
    // Another store of the same engine runs out its own deadline meanwhile, ticking the engine's epoch: this store,
    // with no deadline, is not disturbed by those ticks.
    let mut other = guest.instantiate().unwrap();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let result = other.with_deadline(Duration::from_millis(20), |h| h.call_export("spin", &[], &mut []));
            assert!(interrupted(result.unwrap()));
        });
        for _ in 0..20 {
            host.call_export("count", &[boundary_host::wasmtime::Val::I32(2_000_000)], &mut []).unwrap();
        }
    });
}

#[test]
fn async_instantiation_takes_a_deadline() {
    let text = with("(func $spin (loop $l (br $l)))\n  (start $spin)");
    let guest = load(&text, EngineProfile::Epoch);
    let started = Instant::now();
    let err = futures::executor::block_on(guest.instantiate_async_with_deadline(DEADLINE)).unwrap_err();
    assert!(matches!(&err, Error::StartTrapped { trap: TrapKind::Wasm(Trap::Interrupt), .. }), "{err:?}");
    assert!(started.elapsed() >= DEADLINE && started.elapsed() < BOUND);
    for &profile in EngineProfile::ALL.iter().filter(|p| **p != EngineProfile::Epoch) {
        let err =
            futures::executor::block_on(load(&text, profile).instantiate_async_with_deadline(DEADLINE)).unwrap_err();
        assert!(matches!(err, Error::NoDeadline { .. }), "{profile}: {err:?}");
    }
    // Under `fuel`, a store's fuel bounds an async start function as it bounds a sync one.
    let options = boundary_host::HostOptions { fuel: 1_000_000, ..quiet_options() };
    let guest = GuestModule::from_wat("spin.wat", &text, EngineProfile::Fuel, options).unwrap();
    let err = futures::executor::block_on(guest.instantiate_async()).unwrap_err();
    assert!(matches!(&err, Error::StartTrapped { trap: TrapKind::Wasm(Trap::OutOfFuel), .. }), "{err:?}");
}
