//! A guest written as the reference article writes it (`guest/article`): its five exports, no
//! `read_plugin_shared_value`, a `println!` in every function. The host drives it, and pattern 5 passes only on
//! evidence: what the guest printed, shown to follow its static.

use crate::support::quiet_options;
use boundary_host::guest::ARTICLE_WASM;
use boundary_host::patterns::{Outcome, Verdict, run_all};
use boundary_host::{EngineProfile, GuestModule, GuestOutput, HostOptions};

fn article(output: GuestOutput) -> GuestModule {
    let options = HostOptions { output, ..quiet_options() };
    GuestModule::from_binary("the article's guest", ARTICLE_WASM, EngineProfile::Cranelift, options).unwrap()
}

fn run(guest: &GuestModule) -> (Vec<Outcome>, Vec<String>) {
    let mut host = guest.instantiate().unwrap();
    let mut lines = Vec::new();
    let outcomes = run_all(&mut host, &mut |l| lines.push(l.to_string()));
    (outcomes, lines)
}

#[test]
fn the_article_guest_passes_all_five_with_pattern_5_read_from_its_output() {
    let guest = article(GuestOutput::Keep { echo: false });
    assert!(!guest.reads_plugin_shared_value());
    let (outcomes, lines) = run(&guest);
    for o in &outcomes {
        assert!(o.passed(), "pattern {}: {:?}\n{lines:#?}", o.number, o.result);
    }
    assert!(lines.iter().any(|l| l.contains("the guest printed 777, and 424242 after")), "{lines:#?}");
}

#[test]
fn without_its_output_pattern_5_is_unverified_not_passed() {
    let (outcomes, _) = run(&article(GuestOutput::Discard));
    assert!(outcomes[..4].iter().all(Outcome::passed), "{outcomes:?}");
    assert!(
        matches!(&outcomes[4].result, Ok(Verdict::Unverified(why)) if why.contains("does not keep what the guest prints")),
        "{:?}",
        outcomes[4].result
    );
}

/// The ABI fixture without `read_plugin_shared_value`, whose `simple_add` prints `text` through WASI.
fn printing_guest(text: &str) -> GuestModule {
    let simple_add =
        "(func (export \"simple_add\") (param i64 i64) (result i64)\n    (i64.add (local.get 0) (local.get 1)))";
    let printing = format!(
        "(data (i32.const 3000) \"{text}\")
  (func (export \"simple_add\") (param i64 i64) (result i64)
    (i32.store (i32.const 3100) (i32.const 3000))
    (i32.store (i32.const 3104) (i32.const {len}))
    (drop (call $fd_write (i32.const 1) (i32.const 3100) (i32.const 1) (i32.const 3200)))
    (i64.add (local.get 0) (local.get 1)))",
        len = text.len()
    );
    let text = crate::support::mutated_wat(&[
        ("(export \"read_plugin_shared_value\")", ""),
        (simple_add, &printing),
        (
            "(memory",
            "(import \"wasi_snapshot_preview1\" \"fd_write\" (func $fd_write (param i32 i32 i32 i32) (result i32)))\n  (memory",
        ),
    ]);
    let options = HostOptions { output: GuestOutput::Keep { echo: false }, ..quiet_options() };
    GuestModule::from_wat("printing.wat", &text, EngineProfile::Cranelift, options).unwrap()
}

#[test]
fn output_that_does_not_follow_the_static_is_not_evidence() {
    // Prints 777 whatever the static holds: the second write shows it.
    let (outcomes, _) = run(&printing_guest("I see 777"));
    assert!(
        matches!(&outcomes[4].result, Ok(Verdict::Unverified(why)) if why.contains("does not follow the static")),
        "{:?}",
        outcomes[4].result
    );
    // Prints something else, or a longer number that merely contains 777.
    for text in ["nothing to see", "I see 17770"] {
        let (outcomes, _) = run(&printing_guest(text));
        assert!(
            matches!(&outcomes[4].result, Ok(Verdict::Unverified(why)) if why.contains("does not show 777")),
            "{text}: {:?}",
            outcomes[4].result
        );
    }
}
