//! Imports the host does not provide (`HostOptions::foreign_imports`, a request's `foreign_imports` and
//! `[[import]]`): refused by default, naming the import and the option; defined to trap when asked, so that the
//! module runs wherever it does not call them, under every profile; a call of one ends that call with an error naming
//! it and leaves the host able to go on; a request's constants returned as given. A component's alike: its foreign
//! functions refused or defined to trap, its foreign resource types refused, named.

use crate::support::{mutated_wat, quiet_options};
use boundary_host::error::HostFunctionError;
use boundary_host::plugin::{Plugin, Request};
use boundary_host::wasmtime::component::Val;
use boundary_host::{EngineProfile, Error, ForeignImports, GuestModule, HostOptions, LinkedComponent, TrapKind, Wasm};

/// The ABI fixture importing a clock and a logger of its own host; `simple_add` calls the logger.
fn with_foreign_imports() -> String {
    mutated_wat(&[
        (
            "(memory",
            "(import \"clock\" \"now_ms\" (func $now (result i64)))\n  (import \"clock\" \"log\" (func $clog (param i32 i32)))\n  (memory",
        ),
        (
            "(func (export \"simple_add\") (param i64 i64) (result i64)\n",
            "(func (export \"simple_add\") (param i64 i64) (result i64)\n    (call $clog (i32.const 0) (i32.const 0))\n",
        ),
    ])
}

fn load(text: &str, profile: EngineProfile, foreign_imports: ForeignImports) -> Result<GuestModule, Error> {
    GuestModule::from_wat("foreign.wat", text, profile, HostOptions { foreign_imports, ..quiet_options() })
}

#[test]
fn a_foreign_import_is_refused_by_default_naming_it_and_the_option() {
    let err = load(&with_foreign_imports(), EngineProfile::Cranelift, ForeignImports::Refuse).unwrap_err();
    assert!(matches!(&err, Error::UnknownImport { import_module, .. } if import_module == "clock"), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("`clock::") && text.contains("--foreign-imports trap"), "{text}");
}

#[test]
fn defined_to_trap_the_module_runs_where_it_does_not_call_them_and_a_call_names_the_import() {
    for &profile in EngineProfile::ALL {
        let guest = load(&with_foreign_imports(), profile, ForeignImports::Trap).unwrap();
        let mut host = guest.instantiate().unwrap();
        assert_eq!(host.just_add(15, 27).unwrap(), 42, "{profile}");
        let err = host.simple_add(1, 2).unwrap_err();
        match &err {
            Error::Trap { export, trap: TrapKind::Host(message) } => {
                assert_eq!(export, "simple_add", "{profile}");
                assert!(
                    message.contains("`clock::log`") && message.contains("does not provide"),
                    "{profile}: {message}"
                );
            }
            other => panic!("{profile}: {other:?}"),
        }
        assert!(!err.to_string().contains('\n'), "one line: {err}");
        // The call failed; the instance is fresh again after a reset, and answers.
        host.reset().unwrap();
        assert_eq!(host.just_add(1, 2).unwrap(), 3, "{profile}");
    }
}

#[test]
fn imports_of_other_kinds_are_never_made_up() {
    let text = mutated_wat(&[("(memory", "(import \"clock\" \"epoch\" (global i64))\n  (memory")]);
    let err = load(&text, EngineProfile::Cranelift, ForeignImports::Trap).unwrap_err();
    assert!(matches!(&err, Error::UnknownImport { field, hint, .. } if field == "epoch" && hint.is_empty()), "{err:?}");
}

/// A plugin importing a clock and a logger of its own host (`fixtures/plugins/clock.wat`).
const CLOCK_PLUGIN: &str = include_str!("../support/fixtures/plugins/clock.wat");

fn clock_request(body: &str) -> Request {
    Request::parse(&format!("{body}\n[output]\nptr = \"result\"\nlen = \"nul\"\n"), std::path::Path::new(".")).unwrap()
}

fn clock_plugin(request: &Request) -> Result<Plugin, Error> {
    let wasm = Wasm { name: "clock.wat".into(), bytes: CLOCK_PLUGIN.as_bytes().to_vec(), is_text: true };
    Plugin::load(&wasm, EngineProfile::Cranelift, quiet_options(), request)
}

#[test]
fn a_request_gives_an_import_its_results_and_defines_the_others_to_trap() {
    let request = clock_request(
        "foreign_imports = \"trap\"\n[[import]]\nmodule = \"clock\"\nname = \"now_ms\"\nresults = [1700000000000]\n\
         [call]\nexport = \"stamp\"",
    );
    let plugin = clock_plugin(&request).unwrap();
    let served = plugin.instantiate().unwrap().serve(&[]).unwrap();
    assert_eq!(served.output, b"1700000000000");

    let request = clock_request(
        "foreign_imports = \"trap\"\n[[import]]\nmodule = \"clock\"\nname = \"now_ms\"\nresults = [7]\n\
         [call]\nexport = \"log_stamp\"",
    );
    let failure = clock_plugin(&request).unwrap().instantiate().unwrap().serve(&[]).unwrap_err();
    let text = failure.to_string();
    assert!(text.contains("`clock::log`") && !text.contains('\n'), "{text}");
}

#[test]
fn a_request_s_import_that_the_module_lacks_or_with_results_of_other_types_is_named() {
    let cases = [
        (
            "[[import]]\nmodule = \"clock\"\nname = \"tick\"\nresults = [1]",
            "`clock::tick`, which is no function import",
        ),
        ("[[import]]\nmodule = \"clock\"\nname = \"now_ms\"\nresults = [1, 2]", "gives the import `clock::now_ms` 2"),
        ("[[import]]\nmodule = \"clock\"\nname = \"now_ms\"\nresults = [1.5]", "`clock::now_ms`'s result"),
    ];
    for (imports, needle) in cases {
        let request = clock_request(&format!("foreign_imports = \"trap\"\n{imports}\n[call]\nexport = \"stamp\""));
        let err = clock_plugin(&request).unwrap_err().to_string();
        assert!(err.contains(needle) && !err.contains('\n'), "{needle}: {err}");
    }
    let err = Request::parse("foreign_imports = \"stub\"\n[call]\nexport = \"stamp\"", std::path::Path::new("."))
        .unwrap_err();
    assert!(err.contains("`foreign_imports`") && err.contains("refuse, trap"), "{err}");
}

/// A component importing a clock instance and a top-level `tick` of its own host: `stamp` calls the clock, `answer`
/// calls nothing.
const COMPONENT_WITH_A_CLOCK: &str = r#"(component
  (import "my:host/clock" (instance $clock (export "now" (func (result u64)))))
  (import "tick" (func $tick))
  (alias export $clock "now" (func $now))
  (core func $now_lowered (canon lower (func $now)))
  (core func $tick_lowered (canon lower (func $tick)))
  (core module $m
    (import "host" "now" (func $now (result i64)))
    (import "host" "tick" (func $tick))
    (func (export "stamp") (result i64) (call $now))
    (func (export "ticked") (call $tick))
    (func (export "answer") (result i32) (i32.const 42)))
  (core instance $host (export "now" (func $now_lowered)) (export "tick" (func $tick_lowered)))
  (core instance $i (instantiate $m (with "host" (instance $host))))
  (func (export "stamp") (result u64) (canon lift (core func $i "stamp")))
  (func (export "ticked") (canon lift (core func $i "ticked")))
  (func (export "answer") (result u32) (canon lift (core func $i "answer"))))"#;

fn link_component(text: &str, profile: EngineProfile, policy: ForeignImports) -> Result<LinkedComponent, Error> {
    let engine = profile.engine().unwrap();
    let options = HostOptions { foreign_imports: policy, ..quiet_options() };
    LinkedComponent::load("foreign.wat".into(), text.as_bytes(), true, profile, &engine, options)
}

#[test]
fn a_components_foreign_functions_are_refused_by_default_and_defined_to_trap_when_asked() {
    let err = link_component(COMPONENT_WITH_A_CLOCK, EngineProfile::Cranelift, ForeignImports::Refuse).unwrap_err();
    assert!(matches!(err, Error::ComponentWorld { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("`my:host/clock`") && text.contains("--foreign-imports trap"), "{text}");
    for &profile in EngineProfile::ALL {
        let linked = link_component(COMPONENT_WITH_A_CLOCK, profile, ForeignImports::Trap).unwrap();
        let (mut store, instance) = linked.instantiate().unwrap();
        let mut results = [Val::U32(0)];
        let answer = instance.get_func(&mut store, "answer").unwrap();
        answer.call(&mut store, &[], &mut results).unwrap();
        assert_eq!(results, [Val::U32(42)], "{profile}");
        let stamp = instance.get_func(&mut store, "stamp").unwrap();
        let err = stamp.call(&mut store, &[], &mut [Val::U64(0)]).unwrap_err();
        let called = err.downcast_ref::<HostFunctionError>().unwrap_or_else(|| panic!("{profile}: {err:?}"));
        assert_eq!(
            called.0, "the guest called `my:host/clock#now`, an import the host does not provide (defined to trap)",
            "{profile}"
        );
        // A trap leaves the instance unusable: a fresh one for the top-level import.
        let (mut store, instance) = linked.instantiate().unwrap();
        let ticked = instance.get_func(&mut store, "ticked").unwrap();
        let err = ticked.call(&mut store, &[], &mut []).unwrap_err();
        let called = err.downcast_ref::<HostFunctionError>().unwrap_or_else(|| panic!("{profile}: {err:?}"));
        assert_eq!(called.0, "the guest called `tick`, an import the host does not provide (defined to trap)");
    }
}

#[test]
fn a_components_foreign_resource_type_is_refused_naming_it() {
    let text = r#"(component
  (import "my:host/store" (instance (export "handle" (type (sub resource))) (export "open" (func)))))"#;
    for policy in [ForeignImports::Refuse, ForeignImports::Trap] {
        let err = link_component(text, EngineProfile::Cranelift, policy).unwrap_err();
        assert!(matches!(err, Error::ComponentWorld { .. }), "{err:?}");
        let text = err.to_string();
        let needle = match policy {
            ForeignImports::Refuse => "imports `my:host/store`",
            ForeignImports::Trap => "imports the resource type `my:host/store#handle`, which the host does not provide",
        };
        assert!(text.contains(needle), "{text}");
        assert!(!text.contains('\n'), "{text}");
    }
}

/// WASI 0.2 and the guest world's `host` interface are the host's own: `--foreign-imports trap` leaves them to the
/// linker, which gives the WASI component fixture everything it imports.
#[test]
fn a_wasi_component_links_under_either_policy() {
    for policy in [ForeignImports::Refuse, ForeignImports::Trap] {
        let engine = EngineProfile::Cranelift.engine().unwrap();
        let options = HostOptions { foreign_imports: policy, ..quiet_options() };
        let bytes = boundary_host::guest::WASI_COMPONENT_WASM;
        let linked = LinkedComponent::load("fixture".into(), bytes, false, EngineProfile::Cranelift, &engine, options);
        linked.unwrap().instantiate().unwrap();
    }
}
