//! The serving path's request and configurations (`benches/src/serving/requests.rs`): every configuration serves the
//! project's guest and a module without `just_add`, the pooled ones from two threads sharing an engine, and the
//! measurement counts what it says.

use boundary_benches::serving::requests::{self as serving, ALLOCATIONS, Server, Workload};
use boundary_host::Wasm;
use std::time::Duration;

fn wat(name: &str, text: &str) -> Wasm {
    Wasm { name: name.to_string(), bytes: text.as_bytes().to_vec(), is_text: true }
}

#[test]
fn every_configuration_serves_requests() {
    for allocation in ALLOCATIONS {
        let engine = serving::engine(allocation).unwrap_or_else(|e| panic!("{}: {e}", allocation.id));
        let server = Server::new(&engine, &Wasm::quiet_guest()).unwrap();
        assert!(server.calls() && server.can_dirty(64), "{}", allocation.id);
        for workload in serving::WORKLOADS {
            server.request(workload);
        }
        let m =
            serving::measure(&server, allocation.id, Workload::Dirty(16), 2, Duration::ZERO, Duration::from_millis(20));
        assert!(m.requests > 0 && m.requests_per_second > 0.0, "{m:?}");
        assert!(m.p50_ns <= m.p99_ns && m.p99_ns <= m.p999_ns && m.p999_ns <= m.max_ns, "{m:?}");
    }
}

#[test]
fn a_module_without_just_add_is_served_as_instances_alone() {
    let bare = wat(
        "bare.wat",
        "(module (memory (export \"memory\") 2) (func (export \"answer\") (result i32) (i32.const 42)))",
    );
    let engine = serving::engine(&ALLOCATIONS[0]).unwrap();
    let server = Server::new(&engine, &bare).unwrap();
    assert!(!server.calls());
    // Two pages of memory have room for one dirtied page past the first 64 KiB, not for sixteen.
    assert!(server.can_dirty(1) && !server.can_dirty(16));
    server.request(Workload::Dirty(1));
    let no_memory = wat("none.wat", "(module (func (export \"f\")))");
    let server = Server::new(&engine, &no_memory).unwrap();
    assert!(!server.can_dirty(1));
    server.request(Workload::Call);
}

#[test]
fn a_module_with_an_import_nothing_provides_is_refused_naming_it() {
    let engine = serving::engine(&ALLOCATIONS[0]).unwrap();
    let err = Server::new(&engine, &wat("imp.wat", "(module (import \"acme\" \"f\" (func)))")).unwrap_err();
    assert!(err.contains("`acme::f`"), "{err}");
}
