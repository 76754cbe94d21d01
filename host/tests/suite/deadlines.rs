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
