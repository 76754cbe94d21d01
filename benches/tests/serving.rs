//! The serving path's request and configurations (`benches/src/serving/`): every configuration serves the project's
//! guest and a module without `just_add`, the pooled ones from two threads sharing an engine; the windows run
//! repeated in a shuffled order and each row holds its windows and phases; the dirty patterns stay where each
//! exercises its setting; a density instance's footprint is found from the module; old records still render.

use boundary_benches::serving::footprint::{Footprint, PAGE};
use boundary_benches::serving::record::{self, Record, format_bytes};
use boundary_benches::serving::requests::{
    self as serving, ALLOCATIONS, HIGH_16, LOW_16, MID_16, PATTERNS, Phase, SPARSE_16, SPARSE_64, STACK_KEPT,
    STACK_TOP, Server, Servers, Timing, Workload,
};
use boundary_host::Wasm;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

fn wat(name: &str, text: &str) -> Wasm {
    Wasm { name: name.to_string(), bytes: text.as_bytes().to_vec(), is_text: true }
}

#[test]
fn every_configuration_serves_every_workload_repeated_in_a_shuffled_order() {
    let mut servers: Servers = Vec::new();
    for allocation in ALLOCATIONS {
        let engine = match serving::engine(allocation) {
            Ok(engine) => engine,
            // A kernel without PAGEMAP_SCAN cannot run the scanning configuration; the command says so.
            Err(why) if why.contains("PAGEMAP_SCAN") => continue,
            Err(why) => panic!("{}: {why}", allocation.id),
        };
        let server = Server::new(&engine, &Wasm::quiet_guest()).unwrap();
        assert!(server.calls(), "{}", allocation.id);
        assert_eq!(server.workloads(), serving::WORKLOADS, "{}: the guest has room for every pattern", allocation.id);
        for workload in serving::WORKLOADS {
            server.request(workload);
        }
        servers.push((allocation, server));
    }
    let timing = Timing {
        check: Duration::ZERO,
        repeats: 3,
        warm_up: Duration::ZERO,
        window: Duration::from_millis(1),
        seed: serving::ORDER_SEED,
    };
    let rows = serving::measure(&servers, &timing);
    assert_eq!(rows.len(), servers.len() * serving::WORKLOADS.len() * serving::THREADS.len());
    let mut positions = BTreeSet::new();
    for m in &rows {
        assert_eq!(m.windows.len(), 3, "{m:?}");
        positions.extend(m.windows.iter().map(|w| w.position));
        let rate = &m.requests_per_second;
        assert!(rate.min > 0.0 && rate.min <= rate.median && rate.median <= rate.max, "{m:?}");
        assert!(m.p50_ns.median <= m.p99_ns.median && m.p99_ns.median <= m.p999_ns.median, "{m:?}");
        let phases: Vec<&str> = m.phases.iter().map(|p| p.phase.as_str()).collect();
        assert_eq!(phases, ["store", "instantiate", "work", "drop"], "{m:?}");
        for w in &m.windows {
            assert!(w.requests > 0 && w.p50_ns <= w.max_ns, "{w:?}");
            // The phases partition the whole request: their means add up to its mean.
            let phases: f64 = w.phases.iter().map(|p| p.mean_ns).sum();
            assert!(phases > 0.0 && (phases - w.mean_ns).abs() <= 1e-6 * w.mean_ns, "{w:?}");
        }
    }
    // Every window ran once, at its own place in the order.
    assert_eq!(positions, (0..rows.len() * 3).collect::<BTreeSet<_>>());
}

#[test]
fn the_order_is_a_seeded_shuffle_of_every_window() {
    let order = serving::shuffled_order(10, 5, 7);
    assert_eq!(order, serving::shuffled_order(10, 5, 7), "the same seed gives the same order");
    assert_ne!(order, serving::shuffled_order(10, 5, 8));
    let mut sorted = order.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..10).flat_map(|c| [c; 5]).collect::<Vec<_>>(), "each configuration 5 times");
    // Shuffled, not in table order or one configuration's windows in a row.
    assert_ne!(order, (0..5).flat_map(|_| 0..10).collect::<Vec<_>>());
    assert!(order.windows(5).all(|w| w.iter().any(|c| *c != w[0])), "{order:?}");
}

#[test]
fn the_patterns_exercise_their_settings_and_spare_the_stack() {
    let guest_memory = 17 * 65536;
    for p in PATTERNS {
        let offsets: Vec<usize> = p.offsets().collect();
        assert_eq!(offsets.len(), p.pages, "{}", p.id);
        assert!(offsets.iter().all(|o| o % PAGE as usize == 0), "{}: pages start on a page", p.id);
        assert!(p.end() <= guest_memory, "{}: past the guest's 17 pages", p.id);
        let stack_top = STACK_TOP - STACK_KEPT..STACK_TOP;
        assert!(
            offsets.iter().all(|o| !stack_top.contains(o)),
            "{} touches the top {} KiB of the stack",
            p.id,
            STACK_KEPT >> 10
        );
    }
    assert!(LOW_16.end() <= 64 << 10, "low-16 lies inside what keep-64k keeps");
    for p in [MID_16, SPARSE_16, SPARSE_64] {
        assert!(p.start >= 64 << 10 && p.end() <= STACK_TOP - STACK_KEPT, "{} lies in 64 KiB..1 MiB", p.id);
    }
    const { assert!(HIGH_16.start >= 1 << 20, "high-16 lies past 1 MiB") };
    assert_eq!((MID_16.regions(), SPARSE_16.regions(), SPARSE_64.regions()), (1, 16, 64));
    // The gate's request: 16 pages, as its baseline's 16 faults per request on demand count.
    assert_eq!(SPARSE_16.pages, 16);
}

#[test]
fn a_module_without_just_add_is_served_the_patterns_it_has_room_for() {
    let bare = wat(
        "bare.wat",
        "(module (memory (export \"memory\") 2) (func (export \"answer\") (result i32) (i32.const 42)))",
    );
    let engine = serving::engine(&ALLOCATIONS[0]).unwrap();
    let server = Server::new(&engine, &bare).unwrap();
    assert!(!server.calls());
    // Two pages of memory (128 KiB) hold the first 64 KiB and the next, not the sparse pages past them.
    assert!(server.can_dirty(&LOW_16) && server.can_dirty(&MID_16) && !server.can_dirty(&SPARSE_16));
    let ids: Vec<&str> = server.workloads().iter().map(|w| w.id()).collect();
    assert_eq!(ids, ["call", "low-16", "mid-16"]);
    server.request(Workload::Dirty(MID_16));
    let no_memory = wat("none.wat", "(module (func (export \"f\")))");
    let server = Server::new(&engine, &no_memory).unwrap();
    assert!(!server.can_dirty(&LOW_16));
    assert_eq!(server.workloads(), [Workload::Call]);
    server.request(Workload::Call);
}

#[test]
fn a_plugins_request_is_timed_without_a_store_phase() {
    assert_eq!(Workload::Plugin.phases(), [Phase::Instantiate, Phase::Work, Phase::Drop]);
    assert_eq!(Workload::Call.phases(), Phase::ALL);
}

#[test]
fn a_module_with_an_import_nothing_provides_is_refused_naming_it() {
    let engine = serving::engine(&ALLOCATIONS[0]).unwrap();
    let err = Server::new(&engine, &wat("imp.wat", "(module (import \"acme\" \"f\" (func)))")).unwrap_err();
    assert!(err.contains("`acme::f`"), "{err}");
}

#[test]
fn the_guests_footprint_is_its_stack_top_and_its_data_page() {
    let footprint = Footprint::of(&Wasm::quiet_guest());
    let offsets: Vec<u64> = footprint.pages.iter().map(|p| p.offset).collect();
    // The stack grows down from 1 MiB; the data (and the heap after it) start at 1 MiB.
    assert_eq!(offsets, [(1 << 20) - PAGE, 1 << 20], "{footprint:?}");
    assert!(footprint.pages[0].holds.contains("`__stack_pointer`"), "{footprint:?}");
    assert!(footprint.pages[1].holds.contains("data segment") && footprint.pages[1].holds.contains("heap"));
    assert!(footprint.not_found.is_empty(), "{footprint:?}");
}

#[test]
fn a_modules_footprint_is_read_from_its_globals_and_data() {
    let module = wat(
        "laid-out.wat",
        r#"(module (memory (export "memory") 4)
             (global $sp (mut i32) (i32.const 65536))
             (global (export "__heap_base") i32 (i32.const 200000))
             (data (i32.const 70000) "ab") (data (i32.const 81915) "straddles"))"#,
    );
    let footprint = Footprint::of(&module);
    let offsets: Vec<u64> = footprint.pages.iter().map(|p| p.offset).collect();
    // The page below 64 KiB, the data's pages (one segment straddles two), and the heap's first page.
    assert_eq!(offsets, [60 << 10, 68 << 10, 76 << 10, 80 << 10, 192 << 10], "{footprint:?}");
    assert!(footprint.pages[0].holds.contains("global 0, the first mutable one"), "{footprint:?}");
    assert!(footprint.pages[4].holds.contains("`__heap_base`, exported"), "{footprint:?}");
    let mut memory = vec![7u8; 4 * 65536];
    footprint.touch(&mut memory);
    assert!(memory.iter().all(|b| *b == 7), "touching writes back what is there");

    let without_memory = Footprint::of(&wat("none.wat", "(module (global (mut i32) (i32.const 8)))"));
    assert!(without_memory.pages.is_empty());
    assert!(without_memory.not_found[0].contains("no memory"), "{without_memory:?}");
    let bare = Footprint::of(&wat("bare.wat", "(module (memory (export \"memory\") 1))"));
    assert!(bare.pages.is_empty() && bare.not_found.len() == 2, "{bare:?}");
}

#[test]
fn the_committed_records_still_render() {
    let serving = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join("results").join("serving");
    let (run, newest) = record::latest(&serving).unwrap().expect("a committed serving record");
    let block = record::readme_block(&run, &newest);
    let committed: BTreeSet<String> = newest.allocations().iter().map(|a| a.to_string()).collect();
    for allocation in committed {
        assert!(block.contains(&format!("| `{allocation}` |")), "{allocation} missing from\n{block}");
    }
    if newest.method.is_none() {
        // A record from before the windows: its figures as they were, its reservations readable.
        assert!(block.contains("one window per configuration"), "{block}");
        assert!(!block.contains("80630.04 GiB"), "{block}");
    }
    let markdown = newest.markdown();
    assert!(markdown.contains("| configuration | workload | threads | requests/s | p50 |"), "{markdown}");
    // A record written now reads back as itself.
    let json = serde_json::to_string(&newest).unwrap();
    let again: Record = serde_json::from_str(&json).unwrap();
    assert_eq!(again.markdown(), markdown);
    assert_eq!(format_bytes(80_630.04 * (1u64 << 30) as f64), "78.7 TiB");
}
