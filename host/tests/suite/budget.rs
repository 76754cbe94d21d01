//! One memory budget per store (`HostOptions::max_memory`): linear memories and tables count together, from their
//! creation on, for a module and for all the core instances of a component, and the GC heap where exception
//! objects live (wasm GC itself is off). Under every profile.

use crate::support::{BombIn, ComponentParts, exception_bomb, mutated_wat, quiet_options, world_component};
use boundary_host::wasmtime::Val;
use boundary_host::{
    EngineProfile, Error, Grown, GuestComponent, GuestModule, HostOptions, TABLE_ELEMENT_BYTES, TrapKind,
};

const MIB: usize = 1 << 20;
const BUDGET: usize = 64 * MIB;

fn budget(trap: bool) -> HostOptions {
    HostOptions { max_memory: Some(BUDGET), trap_on_grow_failure: trap, ..quiet_options() }
}

/// The ABI fixture with `extra` before its memory (of `pages` pages) and `grow(n)`, an export that runs `body`.
fn module(extra: &str, pages: u32, body: &str) -> String {
    mutated_wat(&[(
        "(memory (export \"memory\") 1)",
        &format!(
            "{extra}\n  (memory (export \"memory\") {pages})\n  (func (export \"grow\") (param $n i32) (result i32) {body})"
        ),
    )])
}

fn load(text: &str, profile: EngineProfile, options: HostOptions) -> GuestModule {
    GuestModule::from_wat("budget.wat", text, profile, options).unwrap()
}

fn grow(host: &mut boundary_host::WasmHost, n: i32) -> Result<i32, Error> {
    let mut result = [Val::I32(0)];
    host.call_export("grow", &[Val::I32(n)], &mut result)?;
    Ok(result[0].unwrap_i32())
}

#[test]
fn memories_and_tables_draw_on_one_budget() {
    let table_pages_worth = (32 * MIB / TABLE_ELEMENT_BYTES) as i32;
    // 40 MiB of memory, then a table of 32 MiB's worth: each alone within 64 MiB, together past it.
    let text = module("(table $t 0 funcref)", 640, "(table.grow $t (ref.null func) (local.get $n))");
    for &profile in EngineProfile::ALL {
        let mut host = load(&text, profile, budget(false)).instantiate().unwrap();
        assert_eq!(host.state().limits.used, 640 * 65536, "{profile}");
        // Quietly failing (-1), with the refusal kept.
        assert_eq!(grow(&mut host, table_pages_worth).unwrap(), -1, "{profile}");
        let refused = host.state().limits.refused.unwrap();
        assert_eq!((refused.grown, refused.limit), (Grown::Table, BUDGET), "{profile}");
        // A smaller table fits beside the memory.
        assert_eq!(grow(&mut host, 1000).unwrap(), 0, "{profile}");
        assert_eq!(host.state().limits.used, 640 * 65536 + 1000 * TABLE_ELEMENT_BYTES, "{profile}");
        // Set to trap, the same growth traps, named as the budget's.
        let mut host = load(&text, profile, budget(true)).instantiate().unwrap();
        let err = grow(&mut host, table_pages_worth).unwrap_err();
        assert!(err.is_memory_limit(), "{profile}: {err:?}");
        assert!(matches!(err, Error::Trap { trap: TrapKind::MemoryLimit(ref l), .. } if l.grown == Grown::Table));
        assert!(err.to_string().contains("past its budget of 64 MiB"), "{err}");
    }
}

#[test]
fn a_table_past_the_budget_is_refused_under_the_pooling_allocator_too() {
    // The pool's table slots are small; a growth past the budget is still the budget's to refuse.
    let text = module("(table $t 1 funcref)", 1, "(table.grow $t (ref.null func) (local.get $n))");
    let mut host = load(&text, EngineProfile::Pooling, budget(true)).instantiate().unwrap();
    assert!(grow(&mut host, 16_000_000).unwrap_err().is_memory_limit());
    // Within the budget but past the pool's slot: -1, as wasm says.
    host.reset().unwrap();
    assert_eq!(grow(&mut host, 1_000_000).unwrap(), -1);
}

#[test]
fn instantiation_past_the_budget_is_named_as_such() {
    // A memory of 65 MiB at the start, and a start function that grows one of 40 MiB by 40 more.
    let big = module("", 1040, "(i32.const 0)");
    let growing = module("(func $start (drop (memory.grow (i32.const 640))))\n  (start $start)", 640, "(i32.const 0)");
    for &profile in EngineProfile::ALL {
        for text in [&big, &growing] {
            let err = load(text, profile, budget(true)).instantiate().unwrap_err();
            assert!(matches!(err, Error::OverBudget { .. }), "{profile}: {err:?}");
            assert!(err.to_string().starts_with("instantiating budget.wat went past the memory budget: "), "{err}");
        }
    }
}

#[test]
fn a_component_s_memories_draw_on_one_budget() {
    // The correct component with two more core instances of 40 MiB each: 80 MiB together.
    let extra = "(core module $big (memory (export \"m\") 640))
  (core instance $big1 (instantiate $big))
  (core instance $big2 (instantiate $big))";
    let text = world_component(&ComponentParts { extra: Some(extra), ..ComponentParts::default() });
    for &profile in EngineProfile::ALL {
        let guest = GuestComponent::from_wat("memories.wat", &text, profile, budget(true)).unwrap();
        let err = guest.instantiate().unwrap_err();
        assert!(matches!(err, Error::OverBudget { .. }), "{profile}: {err:?}");
        // With room for all three, it runs.
        let roomy = HostOptions { max_memory: Some(128 * MIB), ..budget(true) };
        let mut host = GuestComponent::from_wat("memories.wat", &text, profile, roomy).unwrap().instantiate().unwrap();
        assert_eq!(host.just_add(15, 27).unwrap(), 42, "{profile}");
        assert_eq!(host.state().limits.used, (1 + 640 + 640) * 65536, "{profile}");
    }
}

#[test]
fn wasm_gc_is_refused_at_load_under_every_profile_naming_it() {
    let gc =
        module("(type $bytes (array (mut i8)))", 1, "(drop (array.new_default $bytes (local.get $n))) (i32.const 0)");
    for &profile in EngineProfile::ALL {
        let err = GuestModule::from_wat("gc.wat", &gc, profile, budget(true)).unwrap_err();
        assert!(matches!(err, Error::Compile { .. }), "{profile}: {err:?}");
        assert!(err.to_string().contains("gc"), "{profile}: {err}");
    }
}

/// A module with exception handling: `grow(n)` throws an exception carrying `n` and catches it, returning what it
/// carried plus one; `throw` throws one that nothing catches.
fn with_exceptions() -> String {
    module(
        "(tag $oops (param i32))\n  (func (export \"throw\") (throw $oops (i32.const 7)))",
        1,
        "(block $caught (result i32) (try_table (catch $oops $caught) (throw $oops (local.get $n))) (unreachable))
         (i32.add (i32.const 1))",
    )
}

#[test]
fn exception_handling_runs_under_every_profile_but_winch_which_refuses_it_naming_both() {
    for &profile in EngineProfile::ALL {
        let loaded = GuestModule::from_wat("exceptions.wat", &with_exceptions(), profile, budget(true));
        if !profile.runs_exceptions() {
            let err = loaded.unwrap_err();
            let text = err.to_string();
            assert!(matches!(err, Error::Compile { .. }), "{profile}: {err:?}");
            assert!(text.contains("engine profile `winch`") && text.contains("exception handling"), "{text}");
            continue;
        }
        let mut host = loaded.unwrap().instantiate().unwrap();
        assert_eq!(grow(&mut host, 41).unwrap(), 42, "{profile}");
        // An exception nothing catches ends the call, named; the host goes on after a reset.
        let err = host.call_export("throw", &[], &mut []).unwrap_err();
        assert!(matches!(err, Error::Trap { trap: TrapKind::Uncaught, .. }), "{profile}: {err:?}");
        assert!(err.to_string().contains("threw a wasm exception that nothing caught"), "{err}");
        host.reset().unwrap();
        assert_eq!(grow(&mut host, 1).unwrap(), 2, "{profile}");
    }
}

#[test]
fn an_exception_bomb_is_named_as_the_budget_s_in_a_start_function_and_an_async_call_too() {
    let options = HostOptions { max_memory: Some(8 * MIB), ..quiet_options() };
    let err = GuestModule::from_wat("start.wat", &exception_bomb(BombIn::Start), EngineProfile::Cranelift, options)
        .unwrap()
        .instantiate()
        .unwrap_err();
    assert!(
        matches!(&err, Error::StartTrapped { trap: TrapKind::MemoryLimit(l), .. } if l.grown == Grown::GcHeap),
        "{err:?}"
    );
    let options = HostOptions { host_funcs: boundary_host::HostFuncStyle::Async, ..options };
    let guest = GuestModule::from_wat("async.wat", &exception_bomb(BombIn::JustAdd), EngineProfile::Cranelift, options);
    let mut host = futures::executor::block_on(guest.unwrap().instantiate_async()).unwrap();
    let err = futures::executor::block_on(host.just_add_async(0, 0)).unwrap_err();
    assert!(matches!(&err, Error::Trap { trap: TrapKind::MemoryLimit(l), .. } if l.grown == Grown::GcHeap), "{err:?}");
}

#[test]
fn an_exception_bomb_s_gc_heap_is_held_inside_the_budget_under_every_profile_that_runs_it() {
    const SMALL: usize = 8 * MIB;
    for &profile in EngineProfile::ALL.iter().filter(|p| p.runs_exceptions()) {
        for trap in [false, true] {
            let options = HostOptions { max_memory: Some(SMALL), trap_on_grow_failure: trap, ..quiet_options() };
            let mut host = load(&exception_bomb(BombIn::JustAdd), profile, options).instantiate().unwrap();
            // The GC heap's growth refused by the budget: named as the budget's, the GC heap as what grew.
            let err = host.just_add(0, 0).unwrap_err();
            assert!(err.is_memory_limit(), "{profile}: {err:?}");
            let text = err.to_string();
            assert!(text.contains("the GC heap") && text.contains("past its budget of 8 MiB"), "{profile}: {text}");
            // The budget counted the GC heap: one page of memory and a table of a few hundred elements are far
            // less than half of it.
            assert!(host.state().limits.used > SMALL / 2, "{profile}: {}", host.state().limits.used);
        }
    }
}
