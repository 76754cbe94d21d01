//! The host core's async calls, host functions defined the four ways, and the call hook.

use crate::support::{mutated_wat, quiet_options};
use boundary_host::patterns::run_all;
use boundary_host::wasmtime::{self, Trap};
use boundary_host::{EngineProfile, Error, GuestModule, HostFuncStyle, HostOptions, TrapKind};
use futures::executor::block_on;

/// `just_add` as the ABI fixture has it.
const JUST_ADD: &str =
    "(func (export \"just_add\") (param i64 i64) (result i64)\n    (i64.add (local.get 0) (local.get 1)))";

fn quiet(options: HostOptions) -> GuestModule {
    GuestModule::quiet_guest(EngineProfile::Cranelift, HostOptions { output: quiet_options().output, ..options })
        .unwrap()
}

fn styled(style: HostFuncStyle) -> GuestModule {
    quiet(HostOptions { host_funcs: style, ..HostOptions::default() })
}

#[test]
fn async_calls_give_the_sync_answers_under_every_profile() {
    for &profile in EngineProfile::ALL {
        let options = HostOptions { host_funcs: HostFuncStyle::Async, ..quiet_options() };
        let guest = GuestModule::quiet_guest(profile, options).unwrap();
        let mut host = block_on(guest.instantiate_async()).unwrap();
        assert_eq!(block_on(host.just_add_async(15, 27)).unwrap(), 42, "{profile}");
        block_on(host.nop_async()).unwrap();
        block_on(host.trigger_host_calls_async(7)).unwrap();
        assert_eq!((host.state().shared_value, host.state().last_logged), (54, Some(14)), "{profile}");
        block_on(host.call_host_n_async(5)).unwrap();
        assert_eq!(host.state().calls.log_value, 6, "{profile}");
    }
}

#[test]
fn every_way_of_defining_host_functions_gives_the_same_host_state() {
    for style in [HostFuncStyle::Typed, HostFuncStyle::Untyped, HostFuncStyle::Unchecked] {
        let mut host = styled(style).instantiate().unwrap();
        host.trigger_host_calls(7).unwrap();
        assert_eq!((host.state().shared_value, host.state().last_logged), (54, Some(14)), "{style:?}");
        host.call_host_n(3).unwrap();
        assert_eq!(host.state().last_logged, Some(2), "{style:?}");
        // And the five patterns pass.
        let mut host = styled(style).instantiate().unwrap();
        assert!(run_all(&mut host, &mut |_| {}).iter().all(|o| o.passed()), "{style:?}");
    }
}

#[test]
fn a_guest_with_async_host_functions_must_be_driven_async_and_says_so() {
    let guest = styled(HostFuncStyle::Async);
    let err = guest.instantiate().unwrap_err();
    assert!(err.to_string().contains("instantiate it with `GuestModule::instantiate_async`"), "{err}");
    let mut host = block_on(guest.instantiate_async()).unwrap();
    // A plain call on such a store is wasmtime refusing the call (no host function is involved), not a panic; the
    // store is discarded like after a trap.
    let err = host.just_add(15, 27).unwrap_err();
    assert!(
        matches!(&err, Error::Trap { export, trap: TrapKind::Refused(message) } if export == "just_add" && message.contains("_async")),
        "{err:?}"
    );
    assert!(matches!(host.nop(), Err(Error::StoreDiscarded { .. })));
    block_on(host.reset_async()).unwrap();
    assert_eq!(block_on(host.just_add_async(15, 27)).unwrap(), 42);
}

#[test]
fn an_async_call_that_traps_discards_the_store() {
    let text = mutated_wat(&[(JUST_ADD, "(func (export \"just_add\") (param i64 i64) (result i64)\n    unreachable)")]);
    let options = HostOptions { host_funcs: HostFuncStyle::Async, ..quiet_options() };
    let guest = GuestModule::from_wat("trap.wat", &text, EngineProfile::Cranelift, options).unwrap();
    let mut host = block_on(guest.instantiate_async()).unwrap();
    let err = block_on(host.just_add_async(1, 1)).unwrap_err();
    assert_eq!(err.trap_code(), Some(Trap::UnreachableCodeReached));
    assert!(matches!(block_on(host.trigger_host_calls_async(7)), Err(Error::StoreDiscarded { .. })));
    block_on(host.reset_async()).unwrap();
    block_on(host.trigger_host_calls_async(7)).unwrap();
    assert_eq!(host.state().shared_value, 54);
}

#[test]
fn a_panicking_async_host_function_is_caught_at_the_async_call() {
    let text = mutated_wat(&[
        (JUST_ADD, "(func (export \"just_add\") (param i64 i64) (result i64)\n    (call $boom) (i64.const 0))"),
        ("(memory", "(import \"test\" \"boom\" (func $boom))\n  (memory"),
    ]);
    let profile = EngineProfile::Cranelift;
    let engine = profile.engine().unwrap();
    let guest = GuestModule::load_with_linker(
        "boom.wat".into(),
        text.as_bytes(),
        true,
        profile,
        &engine,
        quiet_options(),
        |l| {
            l.func_wrap_async(
                "test",
                "boom",
                |_: wasmtime::Caller<'_, _>, (): ()| -> Box<dyn Future<Output = ()> + Send> {
                    panic!("an async host function panicked on purpose")
                },
            )?;
            Ok(())
        },
    )
    .unwrap();
    let mut host = block_on(guest.instantiate_async()).unwrap();
    match block_on(host.just_add_async(1, 1)) {
        Err(Error::Trap { trap: TrapKind::HostPanic(message), .. }) => assert!(message.contains("on purpose")),
        other => panic!("{other:?}"),
    }
    assert_eq!(host.discarded_by(), Some("just_add"));
}

#[test]
fn the_call_hook_sees_every_crossing() {
    let mut host = quiet(HostOptions { call_hook: true, ..HostOptions::default() }).instantiate().unwrap();
    let before = host.state().hook_calls;
    host.just_add(15, 27).unwrap();
    // Into wasm and back out.
    assert_eq!(host.state().hook_calls - before, 2);
    host.trigger_host_calls(7).unwrap();
    // And into each of the three host functions and back.
    assert_eq!(host.state().hook_calls - before, 2 + 2 + 3 * 2);
    let mut unhooked = styled(HostFuncStyle::Typed).instantiate().unwrap();
    unhooked.trigger_host_calls(7).unwrap();
    assert_eq!(unhooked.state().hook_calls, 0);
}

/// A host function whose future never completes: the guest waits in it until the embedder gives up.
fn waiting_guest() -> GuestModule {
    let text = mutated_wat(&[
        (JUST_ADD, "(func (export \"just_add\") (param i64 i64) (result i64)\n    (call $wait) (i64.const 0))"),
        ("(memory", "(import \"test\" \"wait\" (func $wait))\n  (memory"),
    ]);
    let profile = EngineProfile::Cranelift;
    let engine = profile.engine().unwrap();
    let options = HostOptions { host_funcs: HostFuncStyle::Async, ..quiet_options() };
    GuestModule::load_with_linker("wait.wat".into(), text.as_bytes(), true, profile, &engine, options, |l| {
        l.func_wrap_async("test", "wait", |_: wasmtime::Caller<'_, _>, (): ()| {
            Box::new(std::future::pending::<()>()) as Box<dyn Future<Output = ()> + Send>
        })?;
        Ok(())
    })
    .unwrap()
}

#[test]
fn an_async_call_dropped_part_way_discards_the_store() {
    use futures::FutureExt;
    let mut host = block_on(waiting_guest().instantiate_async()).unwrap();
    // Polled once, it is waiting inside the host function; then dropped, as an embedder's timeout would.
    assert!(host.just_add_async(1, 1).now_or_never().is_none());
    assert_eq!(host.discarded_by(), Some("just_add"));
    assert!(matches!(block_on(host.trigger_host_calls_async(7)), Err(Error::StoreDiscarded { .. })));
    block_on(host.reset_async()).unwrap();
    block_on(host.trigger_host_calls_async(7)).unwrap();
    assert_eq!(host.state().shared_value, 54);
}

#[test]
fn an_async_call_that_finishes_leaves_the_store_usable() {
    use futures::FutureExt;
    let guest = styled(HostFuncStyle::Async);
    let mut host = block_on(guest.instantiate_async()).unwrap();
    // Ready at its first poll: nothing was left half-done.
    assert_eq!(host.just_add_async(15, 27).now_or_never().map(Result::unwrap), Some(42));
    assert_eq!(host.discarded_by(), None);
}
