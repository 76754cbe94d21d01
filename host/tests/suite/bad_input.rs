use crate::support::{load_mutated_wat, load_wat, memoryless_abi, mutated_wat, quiet_options};
use boundary_host::guest::export;
use boundary_host::{EngineProfile, Error, GuestModule};
use std::path::Path;

fn load_bytes(bytes: &[u8]) -> Result<GuestModule, Error> {
    GuestModule::from_binary("input.wasm", bytes, EngineProfile::Cranelift, quiet_options())
}

#[test]
fn a_missing_file_names_the_path() {
    let err = GuestModule::from_file(Path::new("/no/such/guest.wasm"), EngineProfile::Cranelift, quiet_options())
        .unwrap_err();
    assert!(matches!(&err, Error::ReadModule { path, .. } if path == Path::new("/no/such/guest.wasm")), "{err:?}");
    assert!(err.to_string().contains("/no/such/guest.wasm"));
}

#[test]
fn bytes_that_are_not_wasm_are_refused_before_compiling() {
    for bytes in [&b""[..], b"hello, this is text\n", &[0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4]] {
        let err = load_bytes(bytes).unwrap_err();
        assert!(matches!(&err, Error::NotWasm { module, .. } if module == "input.wasm"), "{err:?}");
    }
}

#[test]
fn a_truncated_module_is_a_compile_error_naming_the_module() {
    let whole = boundary_host::guest::QUIET_WASM;
    // (8 bytes is a whole, empty module: it compiles and then lacks every export.)
    for len in [4, 7, 9, 20, whole.len() / 2, whole.len() - 1] {
        let err = load_bytes(&whole[..len]).unwrap_err();
        assert!(matches!(&err, Error::Compile { module, .. } if module == "input.wasm"), "len {len}: {err:?}");
    }
}

#[test]
fn each_missing_export_is_named() {
    for f in export::REQUIRED {
        let err = load_mutated_wat(&format!("(export \"{}\")", f.name), "(export \"renamed\")").unwrap_err();
        assert!(matches!(&err, Error::MissingExport { export, .. } if export == f.name), "{}: {err:?}", f.name);
    }
    let err = load_mutated_wat("(export \"memory\")", "(export \"mem\")").unwrap_err();
    assert!(matches!(&err, Error::MissingExport { export, kind: "a memory", .. } if export == "memory"), "{err:?}");
}

#[test]
fn a_wrong_export_signature_names_expected_and_found() {
    let err = load_wat(&mutated_wat(&[(
        "(func (export \"just_add\") (param i64 i64) (result i64)\n    (i64.add (local.get 0) (local.get 1)))",
        "(func (export \"just_add\") (param i32 i64) (result i64) (local.get 1))",
    )]))
    .unwrap_err();
    match &err {
        Error::WrongSignature { export, expected, found, .. } => {
            assert_eq!(export, "just_add");
            assert_eq!(expected, "a function (i64, i64) -> i64");
            assert_eq!(found, "a function (i32, i64) -> i64");
        }
        other => panic!("expected WrongSignature, got {other:?}"),
    }
    // A bench-only export is optional, but if present its signature is checked too.
    let err = load_mutated_wat(
        "(memory (export \"memory\") 1)",
        "(memory (export \"memory\") 1)\n  (func (export \"nop\") (param i32))",
    )
    .unwrap_err();
    assert!(matches!(&err, Error::WrongSignature { export, .. } if export == "nop"), "{err:?}");
    let err =
        load_mutated_wat("(memory (export \"memory\") 1)", "(memory 1) (global (export \"memory\") i32 (i32.const 0))")
            .unwrap_err();
    assert!(
        matches!(&err, Error::WrongSignature { export, found, .. } if export == "memory" && found == "a global"),
        "{err:?}"
    );
}

#[test]
fn an_import_the_host_does_not_provide_is_named() {
    let cases = [
        ("env", "host_explode", "(func)"),
        ("other", "host_log_value", "(func (param i32))"),
        ("wasi_snapshot_preview1", "no_such_call", "(func)"),
    ];
    for (module, field, ty) in cases {
        let err =
            load_mutated_wat("(memory", &format!("(import \"{module}\" \"{field}\" {ty})\n  (memory")).unwrap_err();
        assert!(
            matches!(&err, Error::UnknownImport { import_module, field: f, .. } if import_module == module && f == field),
            "{module}::{field}: {err:?}"
        );
        assert!(err.to_string().contains(&format!("{module}::{field}")));
    }
}

#[test]
fn a_host_import_with_the_wrong_signature_is_named() {
    let err = load_wat(&mutated_wat(&[
        ("(func $log (param i32))", "(func $log (param i64))"),
        ("(call $log (i32.mul (local.get $v) (i32.const 2)))", "(call $log (i64.const 14))"),
    ]))
    .unwrap_err();
    match &err {
        Error::WrongImportSignature { field, expected, found, .. } => {
            assert_eq!(field, "host_log_value");
            assert_eq!(expected, "a function (i32) -> ()");
            assert_eq!(found, "a function (i64) -> ()");
        }
        other => panic!("expected WrongImportSignature, got {other:?}"),
    }
}

#[test]
fn an_unknown_profile_lists_the_known_ones() {
    let err = EngineProfile::from_name("turbo").unwrap_err();
    assert!(matches!(&err, Error::UnknownProfile { name, .. } if name == "turbo"));
    for name in EngineProfile::names() {
        assert!(err.to_string().contains(name));
        assert_eq!(EngineProfile::from_name(name).unwrap().name(), name);
    }
}

#[test]
fn a_configuration_wasmtime_rejects_names_the_profile() {
    // Winch needs signal-based traps; turning them off on top of the winch profile is refused by wasmtime.
    let mut config = EngineProfile::Winch.config().unwrap();
    config.signals_based_traps(false);
    let err = EngineProfile::Winch.engine_from(&config).unwrap_err();
    assert!(matches!(&err, Error::Profile { profile: "winch", .. }), "{err:?}");
    assert!(err.to_string().contains("`winch`"), "{err}");
}

#[test]
fn the_memory_kinds_the_host_cannot_drive_are_refused_at_load() {
    // The control: the same module with an ordinary memory loads.
    load_wat(&memoryless_abi("(memory (export \"memory\") 17)")).unwrap();
    let cases = [
        // A 64-bit memory: its pointers do not fit the ABI's i32 (checked by the host: wasmtime accepts memory64).
        ("(memory (export \"memory\") i64 17)", "64-bit"),
        // Two memories: the exported one need not be the one the guest's pointers point into.
        ("(memory (export \"memory\") 17) (memory 1)", "2 linear memories"),
        ("(memory (export \"memory\") 17) (memory i64 1)", "2 linear memories"),
    ];
    for (memory, needle) in cases {
        let err = load_wat(&memoryless_abi(memory)).unwrap_err();
        assert!(
            matches!(&err, Error::UnsupportedMemory { module, reason } if module == "mutated.wat" && reason.contains(needle)),
            "{memory}: {err:?}"
        );
    }
    // A shared memory and 1-byte pages: this build of wasmtime has the threads and custom-page-sizes proposals off,
    // so compiling refuses them, naming what is wrong (the host's own check stands behind it, should they be on).
    for (memory, needle) in [
        ("(memory (export \"memory\") 17 17 shared)", "shared memories"),
        ("(memory (export \"memory\") 65536 (pagesize 1))", "page size"),
    ] {
        let err = load_wat(&memoryless_abi(memory)).unwrap_err();
        assert!(matches!(&err, Error::Compile { message, .. } if message.contains(needle)), "{memory}: {err:?}");
    }
}

#[test]
fn read_plugin_shared_value_is_optional_and_checked_when_present() {
    let without = load_mutated_wat("(export \"read_plugin_shared_value\")", "").unwrap();
    assert!(!without.reads_plugin_shared_value());
    let err = without.instantiate().unwrap().read_plugin_shared_value().unwrap_err();
    assert!(matches!(&err, Error::MissingExport { export, .. } if export == "read_plugin_shared_value"), "{err:?}");
    assert!(load_wat(crate::support::ABI_WAT).unwrap().reads_plugin_shared_value());
}
