//! The guest as a component: the five patterns under every profile, its calls against the core module's on the
//! same inputs, and hostile components (wrong kind, missing exports, traps, runaway guests) refused or contained.

use crate::support::{quiet_options, world_component_wat};
use boundary_host::component::{WitPoint, patterns};
use boundary_host::wasmtime::component::Val;
use boundary_host::{EngineProfile, Error, GuestComponent, GuestModule, Point, TrapKind, guest, wasmtime};
use std::time::Duration;

fn component(profile: EngineProfile) -> GuestComponent {
    GuestComponent::quiet_guest(profile, quiet_options()).unwrap()
}

#[test]
fn the_five_patterns_pass_under_every_profile() {
    for &profile in EngineProfile::ALL {
        for guest in [component(profile), GuestComponent::verbose_guest(profile, quiet_options()).unwrap()] {
            let mut host = guest.instantiate().unwrap();
            let mut lines = Vec::new();
            let outcomes = patterns::run_all(&mut host, &mut |l| lines.push(l.to_string()));
            assert_eq!(outcomes.len(), 5);
            for o in &outcomes {
                assert!(
                    o.passed(),
                    "{} under {profile}: pattern {}: {:?}\n{lines:#?}",
                    guest.name(),
                    o.number,
                    o.result
                );
            }
            assert!(lines.iter().any(|l| l.contains("the Point returned = { x: 130, y: 270 }")), "{lines:#?}");
        }
    }
}

#[test]
fn component_calls_agree_with_the_core_module_on_the_same_inputs() {
    let mut comp = component(EngineProfile::Cranelift).instantiate().unwrap();
    let mut core = GuestModule::quiet_guest(EngineProfile::Cranelift, quiet_options()).unwrap().instantiate().unwrap();
    for (l, r) in [(0, 0), (u64::MAX, 1), (1 << 63, 1 << 63), (15, 27)] {
        assert_eq!(comp.just_add(l, r).unwrap(), core.just_add(l, r).unwrap());
    }
    for input in [i32::MIN, -1, 0, 7, i32::MAX] {
        comp.trigger_host_calls(input).unwrap();
        core.trigger_host_calls(input).unwrap();
        assert_eq!(comp.state().shared_value, core.state().shared_value, "after trigger_host_calls({input})");
        assert_eq!(comp.state().last_logged, core.state().last_logged);
        assert_eq!(comp.state().calls, core.state().calls);
    }
    comp.call_host_n(1000).unwrap();
    assert_eq!(comp.state().last_logged, Some(999));
    let (a, b) = (Point::new(i32::MAX, i32::MIN), Point::new(1, -1));
    assert_eq!(comp.point_add(a, b).unwrap(), guest::add_points(a, b));
    let xs: Vec<WitPoint> = (0..100).map(|i| Point::new(i, -i).into()).collect();
    let ys: Vec<WitPoint> = (0..100).map(|i| Point::new(i * 3, i32::MAX - i).into()).collect();
    let sums = comp.point_add_batch(&xs, &ys).unwrap();
    let expected: Vec<Point> = xs.iter().zip(&ys).map(|(&a, &b)| guest::add_points(a.into(), b.into())).collect();
    assert_eq!(sums.into_iter().map(Point::from).collect::<Vec<_>>(), expected);
    // Lists of different lengths: the shorter decides.
    assert_eq!(comp.point_add_batch(&xs[..3], &ys).unwrap().len(), 3);
    assert!(comp.point_add_batch(&[], &ys).unwrap().is_empty());
}

#[test]
fn the_untyped_path_gives_the_typed_results() {
    let mut host = component(EngineProfile::Cranelift).instantiate().unwrap();
    let func = host.func("just-add").unwrap();
    let mut results = [Val::U64(0)];
    host.call_func(&func, &[Val::U64(15), Val::U64(27)], &mut results).unwrap();
    assert_eq!(results[0], Val::U64(42));
    // Wrong parameter types are an error naming the call, not a panic; the store is discarded as after a trap.
    let err = host.call_func(&func, &[Val::S32(1)], &mut results).unwrap_err();
    assert!(matches!(err, Error::Trap { .. }), "{err}");
    assert!(matches!(host.nop(), Err(Error::StoreDiscarded { .. })));
    host.reset().unwrap();
    assert!(matches!(host.func("no-such-export"), Err(Error::MissingExport { .. })));
}

#[test]
fn a_core_module_is_not_a_component_and_the_other_way_round() {
    let err = GuestComponent::from_binary("core.wasm", guest::QUIET_WASM, EngineProfile::Cranelift, quiet_options())
        .unwrap_err();
    assert!(matches!(err, Error::WrongKind { .. }), "{err}");
    assert!(err.to_string().contains("core wasm module, not a component"), "{err}");
    let err = GuestModule::from_binary(
        "component.wasm",
        guest::COMPONENT_QUIET_WASM,
        EngineProfile::Cranelift,
        quiet_options(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("is a component, not a core wasm module"), "{err}");
    for bytes in [&b""[..], b"not wasm", b"\0asm\x0d\0\x01\0"] {
        let err = GuestComponent::from_binary("junk", bytes, EngineProfile::Cranelift, quiet_options()).unwrap_err();
        assert!(matches!(err, Error::NotWasm { .. } | Error::Compile { .. } | Error::ComponentWorld { .. }), "{err}");
    }
}

#[test]
fn a_component_missing_a_required_export_is_refused_naming_it() {
    for missing in ["just-add", "point-add", "read-plugin-shared-value", "set-plugin-shared-value"] {
        let text = world_component_wat("unreachable", &[missing]);
        let err =
            GuestComponent::from_wat("partial.wat", &text, EngineProfile::Cranelift, quiet_options()).unwrap_err();
        assert!(matches!(err, Error::ComponentWorld { .. }), "{err}");
        assert!(err.to_string().contains(missing), "{missing}: {err}");
    }
}

/// Each optional export of the world may be missing on its own, as in the core ABI: the component loads, says it
/// lacks that one (and has the others), and a call of it is `Error::MissingExport`.
#[test]
fn a_component_may_lack_each_optional_export_on_its_own() {
    use boundary_host::component::export::OPTIONAL;
    for missing in OPTIONAL {
        let text = world_component_wat("unreachable", &[missing]);
        let guest = GuestComponent::from_wat("partial.wat", &text, EngineProfile::Cranelift, quiet_options())
            .unwrap_or_else(|e| panic!("without `{missing}`: {e}"));
        for export in OPTIONAL {
            assert_eq!(guest.exports_optional(export), export != missing, "without `{missing}`: `{export}`");
        }
        let mut host = guest.instantiate().unwrap();
        let err = match missing {
            "nop" => host.nop().unwrap_err(),
            "point-add-batch" => host.point_add_batch(&[], &[]).unwrap_err(),
            "call-host-n" => host.call_host_n(1).unwrap_err(),
            "checksum-bytes" => host.checksum_bytes(b"x").unwrap_err(),
            "fill-bytes" => host.fill_bytes(1, 2).map(|_| ()).unwrap_err(),
            _ => host.checksum_string("x").map(|_| ()).unwrap_err(),
        };
        assert!(matches!(&err, Error::MissingExport { export, .. } if export == missing), "{missing}: {err}");
        // A missing export is not a trap: the store goes on.
        assert_eq!(host.discarded_by(), None);
    }
}

/// A component of the world as it stood before its payload exports (same package version) runs the five patterns
/// and the checks of the optional exports it has, under every profile.
#[test]
fn a_component_of_the_world_before_its_payload_exports_passes() {
    for &profile in EngineProfile::ALL {
        let guest = GuestComponent::from_binary(
            "before-payload",
            guest::COMPONENT_BEFORE_PAYLOAD_WASM,
            profile,
            quiet_options(),
        )
        .unwrap_or_else(|e| panic!("{profile}: {e}"));
        let mut host = guest.instantiate().unwrap();
        let outcomes = patterns::run_all(&mut host, &mut |_| {});
        assert!(outcomes.iter().all(|o| o.passed()), "{profile}: {outcomes:?}");
        let checks: Vec<_> = patterns::EXPORT_CHECKS
            .iter()
            .map(|c| boundary_host::patterns::run_check(&mut host, c, &mut |_| {}, None))
            .collect();
        for check in &checks {
            let payload = ["checksum-bytes", "fill-bytes", "checksum-string"].contains(&check.export);
            match &check.result {
                Err(why) => assert!(payload && *why == "not exported", "{profile}: {}: {why}", check.export),
                Ok(result) => assert!(!payload && result.is_ok(), "{profile}: {}: {result:?}", check.export),
            }
        }
    }
}

#[test]
fn a_component_with_a_wrongly_typed_export_is_refused() {
    let text = world_component_wat("unreachable", &[]).replacen(
        "(func $nop  (canon lift (core func $i \"nop\") ))",
        "(func $nop (param \"x\" u32) (canon lift (core func $i \"nop\") ))",
        1,
    );
    let text =
        text.replacen("(func (export \"nop\")  unreachable)", "(func (export \"nop\") (param i32) unreachable)", 1);
    assert!(text.contains("(param \"x\" u32)"), "the fixture changed shape:\n{text}");
    assert!(text.contains("(export \"nop\") (param i32)"), "the fixture changed shape:\n{text}");
    // An optional export is checked when the component is instantiated, before anything is called.
    let guest = GuestComponent::from_wat("typed.wat", &text, EngineProfile::Cranelift, quiet_options()).unwrap();
    let err = guest.instantiate().unwrap_err();
    assert!(matches!(err, Error::ComponentWorld { .. }), "{err}");
    assert!(err.to_string().contains("optional export `nop`"), "{err}");
}

#[test]
fn a_component_importing_what_the_host_lacks_is_refused_naming_it() {
    let text = "(component (import \"acme:widgets/frob\" (instance (export \"frob\" (func)))))";
    let err = GuestComponent::from_wat("imports.wat", text, EngineProfile::Cranelift, quiet_options()).unwrap_err();
    assert!(matches!(err, Error::ComponentWorld { .. }), "{err}");
    assert!(err.to_string().contains("acme:widgets/frob"), "{err}");
}

#[test]
fn a_trapping_component_discards_its_store_and_a_reset_recovers() {
    let text = world_component_wat("unreachable", &[]);
    let guest = GuestComponent::from_wat("trapping.wat", &text, EngineProfile::Cranelift, quiet_options()).unwrap();
    let mut host = guest.instantiate().unwrap();
    let err = host.just_add(1, 2).unwrap_err();
    assert!(
        matches!(&err, Error::Trap { export, trap: TrapKind::Wasm(wasmtime::Trap::UnreachableCodeReached) } if export == "just-add"),
        "{err}"
    );
    assert_eq!(host.discarded_by(), Some("just-add"));
    assert!(matches!(host.point_add(Point::new(1, 2), Point::new(3, 4)), Err(Error::StoreDiscarded { .. })));
    host.reset().unwrap();
    let err = host.point_add_batch(&[Point::new(1, 2).into()], &[Point::new(3, 4).into()]).unwrap_err();
    assert!(matches!(&err, Error::Trap { export, .. } if export == "point-add-batch"), "{err}");
    // The patterns report the trap as a failure of the host, never a pass; every pattern runs on a fresh instance.
    let outcomes = patterns::run_all(&mut guest.instantiate().unwrap(), &mut |_| {});
    assert!(outcomes.iter().all(|o| !o.passed()), "{outcomes:?}");
}

#[test]
fn a_runaway_component_is_interrupted_at_its_deadline() {
    let text = world_component_wat("(loop $l (br $l)) unreachable", &[]);
    let guest = GuestComponent::from_wat("runaway.wat", &text, EngineProfile::Epoch, quiet_options()).unwrap();
    let mut host = guest.instantiate().unwrap();
    let result = host.with_deadline(Duration::from_millis(100), |host| host.nop()).unwrap();
    let err = result.unwrap_err();
    assert!(matches!(&err, Error::Trap { trap: TrapKind::Wasm(wasmtime::Trap::Interrupt), .. }), "{err}");
    assert!(err.to_string().contains("`nop` was interrupted"), "{err}");
    // Under fuel, the same guest runs out of it.
    let fuel = boundary_host::HostOptions { fuel: 100_000, ..quiet_options() };
    let guest = GuestComponent::from_wat("runaway.wat", &text, EngineProfile::Fuel, fuel).unwrap();
    let err = guest.instantiate().unwrap().call_host_n(1).unwrap_err();
    assert!(matches!(&err, Error::Trap { trap: TrapKind::Wasm(wasmtime::Trap::OutOfFuel), .. }), "{err}");
    // A deadline under a profile that cannot interrupt is refused up front.
    let mut host = component(EngineProfile::Cranelift).instantiate().unwrap();
    assert!(matches!(host.with_deadline(Duration::from_secs(1), |_| ()), Err(Error::NoDeadline { .. })));
}

#[test]
fn a_component_cannot_use_untyped_host_functions() {
    let options = boundary_host::HostOptions { host_funcs: boundary_host::HostFuncStyle::Untyped, ..quiet_options() };
    let err = GuestComponent::quiet_guest(EngineProfile::Cranelift, options).unwrap_err();
    assert!(err.to_string().contains("typed bindings"), "{err}");
}
