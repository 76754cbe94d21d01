//! The C++ host (`host/cpp/cpp/`): the same patterns and checks as the Rust host core, its bounds-checked memory
//! access at the edges, its handling of bad modules and traps, and the loops the benches time.

use crate::support::{ABI_WAT, mutated_wat};
use boundary_cpp_host::{CppHost, CppLoop};
use boundary_host::patterns::Verdict;
use boundary_host::patterns::{PatternHost, run_all};
use boundary_host::{Error, GuestOutput, MemoryError, Point, guest_offset};

fn quiet_guest() -> CppHost {
    CppHost::new("the quiet guest", boundary_host::guest::QUIET_WASM, false, GuestOutput::Discard).unwrap()
}

fn passes_all(host: &mut CppHost) {
    let mut lines = Vec::new();
    let outcomes = run_all(host, &mut |l| lines.push(l.to_string()));
    assert_eq!(outcomes.len(), 5);
    for o in &outcomes {
        assert!(o.passed(), "pattern {} did not pass in the C++ host: {:?}", o.number, o.result);
    }
    assert!(lines.iter().any(|l| l.contains("just_add(15, 27) = 42")), "narration missing: {lines:?}");
}

#[test]
fn the_patterns_pass_on_both_guest_builds_and_the_wat_module() {
    passes_all(&mut quiet_guest());
    passes_all(
        &mut CppHost::new("the verbose guest", boundary_host::guest::VERBOSE_WASM, false, GuestOutput::Discard)
            .unwrap(),
    );
    passes_all(&mut CppHost::new("abi.wat", ABI_WAT.as_bytes(), true, GuestOutput::Discard).unwrap());
}

#[test]
fn memory_access_is_bounds_checked_like_a_native_buffer() {
    let mut host = quiet_guest();
    let size = host.memory_size();
    let mut all = vec![0u8; size];
    host.read_bytes(0, &mut all).unwrap();
    for offset in [0, 1, size - 8, size - 7, size - 1, size, u32::MAX as usize, guest_offset(-1i32), usize::MAX - 7] {
        let fits = offset.checked_add(8).is_some_and(|end| end <= size);
        let mut buf = [0u8; 8];
        let read = host.read_bytes(offset, &mut buf);
        let write = host.write_bytes(offset, &[0xab; 8]);
        if fits {
            assert_eq!(read, Ok(()), "offset {offset:#x}");
            assert_eq!(&buf[..], &all[offset..offset + 8], "offset {offset:#x}");
            assert_eq!(write, Ok(()), "offset {offset:#x}");
            all[offset..offset + 8].copy_from_slice(&[0xab; 8]);
        } else {
            let expected = MemoryError { offset, len: 8, memory_size: size };
            assert_eq!(read, Err(expected), "offset {offset:#x}");
            assert_eq!(write, Err(expected), "offset {offset:#x}");
        }
    }
    // Nothing was written where the model says nothing may be.
    let mut after = vec![0u8; size];
    host.read_bytes(0, &mut after).unwrap();
    assert!(after == all, "the C++ host's memory differs from the model");
}

/// The Rust core checks a module against the ABI before the C++ host sees it: the same refusals as the Rust host,
/// with the same errors.
#[test]
fn bad_modules_are_refused_as_the_rust_host_refuses_them() {
    // (bytes, whether they are WAT text, what the error must say)
    let cases: Vec<(Vec<u8>, bool, &str)> = vec![
        (b"plain text, not a module".to_vec(), false, "is not a wasm module"),
        (b"plain text, not a module".to_vec(), true, "does not compile"),
        (Vec::new(), false, "it is empty"),
        (boundary_host::guest::QUIET_WASM[..40].to_vec(), false, "does not compile"),
        (ABI_WAT.replacen("(export \"point_add\")", "", 1).into_bytes(), true, "lacks the export `point_add`"),
        (
            mutated_wat(&[(
                "(func (export \"just_add\") (param i64 i64)",
                "(func (export \"just_add\") (param i32 i64)",
            )])
            .into_bytes(),
            true,
            "does not compile",
        ),
        (
            ABI_WAT.replacen("(memory", "(import \"env\" \"host_rand\" (func))\n  (memory", 1).into_bytes(),
            true,
            "host_rand",
        ),
        (
            ABI_WAT
                .replacen("(memory (export \"memory\") 1)", "(memory (export \"memory\") 1) (memory 1)", 1)
                .into_bytes(),
            true,
            "2 linear memories",
        ),
        (
            mutated_wat(&[(
                "(func (export \"read_plugin_shared_value\") (result i32)\n    (i32.load (i32.const 1024)))",
                "(func (export \"read_plugin_shared_value\") (result i64) (i64.const 777))",
            )])
            .into_bytes(),
            true,
            "`read_plugin_shared_value` as a function () -> i64",
        ),
    ];
    for (bytes, is_text, needle) in cases {
        match CppHost::new("bad.wasm", &bytes, is_text, GuestOutput::Discard) {
            Err(e) => assert!(e.to_string().contains("bad.wasm") && e.to_string().contains(needle), "{needle}: {e}"),
            Ok(_) => panic!("expected an error containing {needle:?}"),
        }
    }
}

/// The guest built from the article's fragments: no `read_plugin_shared_value`, so pattern 5 goes by what the guest
/// prints, which the C++ host keeps when asked to.
#[test]
fn the_article_guest_passes_with_its_output_kept_and_is_unverified_without() {
    let article = boundary_host::guest::ARTICLE_WASM;
    let mut kept = CppHost::new("article.wasm", article, false, GuestOutput::Keep { echo: false }).unwrap();
    assert!(!kept.reads_plugin_shared_value());
    let outcomes = run_all(&mut kept, &mut |_| {});
    assert!(outcomes.iter().all(|o| o.passed()), "{outcomes:?}");
    let mut discarded = CppHost::new("article.wasm", article, false, GuestOutput::Discard).unwrap();
    // Asking for the missing export is an error that leaves the instance usable.
    assert!(matches!(discarded.read_plugin_shared_value(), Err(Error::MissingExport { .. })));
    assert_eq!(discarded.discarded_by(), None);
    let outcomes = run_all(&mut discarded, &mut |_| {});
    assert!(outcomes[..4].iter().all(|o| o.passed()), "{outcomes:?}");
    assert!(matches!(outcomes[4].result, Ok(Verdict::Unverified(_))), "{outcomes:?}");
}

#[test]
fn a_trap_discards_the_instance_until_reset() {
    let text = ABI_WAT.replacen("(i64.add (local.get 0) (local.get 1))", "unreachable", 1);
    let mut host = CppHost::new("trap.wat", text.as_bytes(), true, GuestOutput::Discard).unwrap();
    match host.just_add(15, 27) {
        // Said once, on one line: no "wasm trap:" after "trapped:", no backtrace.
        Err(Error::CppHost { message }) => {
            assert_eq!(message, "`just_add` trapped: wasm `unreachable` instruction executed")
        }
        other => panic!("expected a trap, got {other:?}"),
    }
    assert_eq!(host.discarded_by(), Some("just_add"));
    assert!(matches!(host.simple_add(1, 1), Err(Error::StoreDiscarded { .. })));
    host.reset().unwrap();
    assert_eq!(host.simple_add(15, 27).unwrap(), 42);
}

#[test]
fn a_hostile_static_pointer_is_refused() {
    for (ptr, misaligned) in [(-1i64, false), (65534, false), (1025, true)] {
        let text = ABI_WAT.replacen("(i32.const 1024))\n  (func", &format!("(i32.const {ptr}))\n  (func"), 1);
        let mut host = CppHost::new("hostile.wat", text.as_bytes(), true, GuestOutput::Discard).unwrap();
        match host.plugin_shared_value_offset() {
            Err(Error::MisalignedPointer { .. }) if misaligned => {}
            Err(Error::Memory(MemoryError { offset, .. })) if !misaligned && offset == ptr as u32 as usize => {}
            other => panic!("pointer {ptr}: {other:?}"),
        }
    }
}

#[test]
fn the_timed_loops_run_and_compute_the_right_sum() {
    let mut host = quiet_guest();
    let base = host.reserve(24).unwrap();
    let base32 = u32::try_from(base).unwrap();
    for which in
        [CppLoop::TypedCall, CppLoop::UntypedCall, CppLoop::LookupPerCall, CppLoop::TriggerHostCalls, CppLoop::PointAdd]
    {
        host.time(which, 100, base32).unwrap();
    }
    let mut out = Point::default();
    host.read_bytes(base + 16, bytemuck::bytes_of_mut(&mut out)).unwrap();
    assert_eq!(out, Point::new(130, 270));
    // 100 round trips of trigger_host_calls(7) from 42: each adds 7 + 5.
    assert_eq!(host.host_state().0, 42 + 100 * 12);
}
