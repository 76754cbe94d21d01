use crate::support::{ABI_WAT, load_mutated_wat, quiet_guest, quiet_options};
use boundary_host::patterns::{Failure, PATTERNS, run_all};
use boundary_host::wasmtime;
use boundary_host::{EngineProfile, GuestModule, Point};

fn passes_all(guest: &GuestModule) {
    let mut host = guest.instantiate().unwrap();
    let mut lines = Vec::new();
    let outcomes = run_all(&mut host, &mut |l| lines.push(l.to_string()));
    assert_eq!(outcomes.len(), 5);
    for o in &outcomes {
        assert!(
            o.passed(),
            "{} under {}: pattern {} did not pass: {:?}",
            guest.name(),
            guest.profile(),
            o.number,
            o.result
        );
    }
    assert!(lines.iter().any(|l| l.contains("just_add(15, 27) = 42")), "narration missing: {lines:?}");
}

#[test]
fn each_pattern_passes_on_both_guest_builds() {
    passes_all(&quiet_guest());
    passes_all(&GuestModule::verbose_guest(EngineProfile::Cranelift, quiet_options()).unwrap());
}

#[test]
fn patterns_pass_under_every_profile() {
    for &profile in EngineProfile::ALL {
        passes_all(&GuestModule::quiet_guest(profile, quiet_options()).unwrap());
    }
}

#[test]
fn patterns_pass_on_the_hand_written_wat_module() {
    passes_all(&GuestModule::from_wat("abi.wat", ABI_WAT, EngineProfile::Cranelift, quiet_options()).unwrap());
}

#[test]
fn pattern_values_are_the_documented_ones() {
    let mut host = quiet_guest().instantiate().unwrap();
    assert_eq!(host.just_add(15, 27).unwrap(), 42);
    assert_eq!(host.state().shared_value, 42);
    host.trigger_host_calls(7).unwrap();
    assert_eq!(host.state().last_logged, Some(14));
    assert_eq!(host.state().shared_value, 54);
    let base = host.reserve(24).unwrap();
    host.write(base, &Point::new(100, 200)).unwrap();
    host.write(base + 8, &Point::new(30, 70)).unwrap();
    host.point_add((base + 16) as u32, base as u32, (base + 8) as u32).unwrap();
    assert_eq!(host.read::<Point>(base + 16).unwrap(), Point::new(130, 270));
    let ptr = host.plugin_shared_value_ptr().unwrap() as usize;
    assert_eq!(host.read::<i32>(ptr).unwrap(), 100);
    host.write(ptr, &777i32).unwrap();
    assert_eq!(host.simple_add(1, 1).unwrap(), 2);
    assert_eq!(host.read_plugin_shared_value().unwrap(), 777);
}

#[test]
fn pattern_3_offsets_avoid_everything_the_guest_owns() {
    // The article's offset 2048 is inside the guest's 1 MiB shadow stack; ours must lie above the memory the
    // module started with.
    let mut host = quiet_guest().instantiate().unwrap();
    let initial = host.memory_size();
    let base = host.reserve(24).unwrap();
    assert_eq!(base, initial);
    assert!(base >= 1 << 20);
}

/// A check that cannot fail is no check: a module that answers wrongly must fail the pattern it breaks.
#[test]
fn a_lying_module_fails_the_pattern_it_breaks() {
    // (text to replace, replacement, patterns that must fail). Pattern 5 checks what pattern 4 wrote, so a
    // module that breaks pattern 4 breaks 5 too.
    let cases: [(&str, &str, &[u8]); 5] = [
        (
            "(i64.add (local.get 0) (local.get 1)))\n  (func (export \"simple_add\")",
            "(i64.const 41))\n  (func (export \"simple_add\")",
            &[1],
        ),
        ("(i32.mul (local.get $v) (i32.const 2))", "(i32.mul (local.get $v) (i32.const 3))", &[2]),
        (
            "(i32.store offset=4 (local.get $out) (local.get $y))",
            "(i32.store offset=4 (local.get $out) (local.get $x))",
            &[3],
        ),
        ("\"\\64\\00\\00\\00\"", "\"\\65\\00\\00\\00\"", &[4, 5]),
        ("(i32.load (i32.const 1024)))\n)", "(i32.const 100))\n)", &[5]),
    ];
    for (from, to, broken) in cases {
        let guest = load_mutated_wat(from, to).unwrap();
        let mut host = guest.instantiate().unwrap();
        let outcomes = run_all(&mut host, &mut |_| {});
        for o in &outcomes {
            let should_fail = broken.contains(&o.number);
            assert_eq!(
                o.result.is_err(),
                should_fail,
                "mutation breaking {broken:?}: pattern {} gave {:?}",
                o.number,
                o.result
            );
            if should_fail {
                assert!(matches!(o.result, Err(Failure::Mismatch { .. })), "{:?}", o.result);
            }
        }
    }
}

#[test]
fn a_trap_in_a_pattern_discards_the_store_and_later_patterns_run_on_a_fresh_one() {
    // just_add traps; the other patterns must still pass on a new instance.
    let guest = load_mutated_wat(
        "(i64.add (local.get 0) (local.get 1)))\n  (func (export \"simple_add\")",
        "unreachable)\n  (func (export \"simple_add\")",
    )
    .unwrap();
    let mut host = guest.instantiate().unwrap();
    let outcomes = run_all(&mut host, &mut |_| {});
    let first = &outcomes[0].result;
    assert!(
        matches!(first, Err(Failure::Host(e)) if e.trap_code() == Some(wasmtime::Trap::UnreachableCodeReached)),
        "{first:?}"
    );
    assert!(outcomes[1..].iter().all(|o| o.passed()));
    assert_eq!(PATTERNS.len(), outcomes.len());
}

#[test]
fn patterns_pass_with_untyped_host_functions() {
    let options = boundary_host::HostOptions { host_funcs: boundary_host::HostFuncStyle::Untyped, ..quiet_options() };
    passes_all(&GuestModule::quiet_guest(EngineProfile::Cranelift, options).unwrap());
}

#[test]
fn the_untyped_val_path_gives_the_typed_answers() {
    use boundary_host::wasmtime::Val;
    let mut host = quiet_guest().instantiate().unwrap();
    let just_add = host.func("just_add").unwrap();
    let mut results = [Val::I64(0)];
    host.call_func(&just_add, &[Val::I64(15), Val::I64(27)], &mut results).unwrap();
    assert_eq!(results[0].i64(), Some(42));
    let wrapped = [Val::I64(-1), Val::I64(2)];
    host.call_func(&just_add, &wrapped, &mut results).unwrap();
    assert_eq!(results[0].i64(), Some(1));
    // Wrong argument types are an error, not a panic.
    assert!(host.call_func(&just_add, &[Val::I32(1), Val::I32(2)], &mut results).is_err());
    assert!(host.func("no_such_export").is_err());
}
