//! Every row of the matrix, one entry each in [`ROWS`], in table order: its id, what one iteration does, its floor,
//! its profiles and needs, and the operation it measures. The runner (`bench.rs`) measures the planned ones, the
//! results writer lays out its table from them. Adding a row is adding its entry here (benches/README.md,
//! "Extending").

use super::fixtures::{BatchSlots, Fixtures};
use super::row::{Bench, Row, Timing};
use crate::guard::{self, OrStop, expect_eq};
use crate::ops::component::{self as component_ops};
use crate::ops::plugin::FreshRequest;
use crate::ops::raw;
use crate::ops::{self, A, B, CoreBench, RawBench};
use crate::probe::Serves;
use crate::subject::{Needs, Subject};
use boundary_host::component::export as cexport;
use boundary_host::{EngineProfile, Point};
use futures::executor::block_on;
use std::hint::black_box;
use std::sync::LazyLock;

/// The profiles instantiation rows are measured under: the ones whose configuration changes what instantiating
/// does. The compiler does not (code is compiled once per module, not per instance), so `cranelift` stands for
/// `cranelift-none`, `cranelift-size`, `winch` and `pulley`, and for `fuel` and `epoch` (a counter set per store).
/// The memory configuration does (`bounds-checked` reserves no guard region), and so does the allocator
/// (`pooling` takes a slot and resets it by copy-on-write).
pub const INSTANTIATION_PROFILES: &[EngineProfile] =
    &[EngineProfile::Cranelift, EngineProfile::BoundsChecked, EngineProfile::Pooling];

/// The profiles trap rows are measured under: one for each way a trap is raised and recovered from. Compiled code
/// traps by a signal (`cranelift`, `winch`; `cranelift-none`, `cranelift-size`, `fuel` and `epoch` trap the same
/// way as `cranelift`), `bounds-checked` code by an explicit check, `pulley` inside the interpreter, and `pooling`
/// recovers into a pooled slot.
pub const TRAP_PROFILES: &[EngineProfile] = &[
    EngineProfile::Cranelift,
    EngineProfile::Winch,
    EngineProfile::Pulley,
    EngineProfile::BoundsChecked,
    EngineProfile::Pooling,
];

/// Native floors: measured once, not per profile, each an entry of [`native::ALL`].
pub mod native {
    use crate::matrix::row::Bench;
    use crate::ops::native::{self, NativeHost};
    use crate::ops::raw::PointSlots;
    use crate::ops::{A, B};
    use boundary_host::Point;
    use std::hint::black_box;

    pub const JUST_ADD: &str = "native/just_add";
    pub const NOP: &str = "native/nop";
    pub const TRIGGER_HOST_CALLS: &str = "native/trigger_host_calls";
    pub const HOST_LOG_VALUE: &str = "native/host_log_value";
    pub const POINT_ADD: &str = "native/point_add";
    pub const POINT_WRITE_READ: &str = "native/point_write_read";
    pub const BATCH_1: &str = "native/batch/1";
    pub const BATCH_64: &str = "native/batch/64";
    pub const BATCH_4096: &str = "native/batch/4096";

    /// A native floor: the same work as the rows compared with it, without wasm.
    pub struct Native {
        pub id: &'static str,
        pub what: &'static str,
        pub elements: Option<u64>,
        pub measure: fn(&mut Bench<'_>),
    }

    impl std::fmt::Debug for Native {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Native").field("id", &self.id).finish_non_exhaustive()
        }
    }

    const fn native(id: &'static str, what: &'static str, measure: fn(&mut Bench<'_>)) -> Native {
        Native { id, what, elements: None, measure }
    }

    /// A native loop over `n` Point pairs.
    const fn batch(id: &'static str, what: &'static str, n: u64, measure: fn(&mut Bench<'_>)) -> Native {
        Native { id, what, elements: Some(n), measure }
    }

    fn batch_of(b: &mut Bench<'_>, n: usize) {
        let (a, bs) = crate::ops::component::batch_inputs(n);
        let mut out = vec![Point::default(); n];
        b.iter(|| native::point_add_batch(black_box(&mut out[..]), black_box(&a[..]), black_box(&bs[..])));
    }

    /// Every native floor.
    pub const ALL: &[Native] = &[
        native(JUST_ADD, "a non-inlined Rust call of a wrapping add", |b| {
            b.iter(|| native::just_add(black_box(15), black_box(27)))
        }),
        native(NOP, "a non-inlined call of an empty Rust function", |b| b.iter(native::nop)),
        native(TRIGGER_HOST_CALLS, "a non-inlined Rust function making the same three host-state calls", |b| {
            let (mut host, mut shared) = (NativeHost::default(), 42);
            b.iter(|| native::trigger_host_calls(black_box(&mut host), black_box(&mut shared), black_box(7)))
        }),
        native(HOST_LOG_VALUE, "one non-inlined call of a host function updating host state", |b| {
            let mut host = NativeHost::default();
            b.iter(|| native::log_value(black_box(&mut host), black_box(7)))
        }),
        native(POINT_ADD, "two Points copied into a byte buffer, added by a non-inlined call, one read back", |b| {
            let (mut memory, slots) = ([0u8; 64], PointSlots::at(8));
            b.iter(|| {
                let memory = black_box(&mut memory[..]);
                memory[slots.a..slots.a + 8].copy_from_slice(bytemuck::bytes_of(&black_box(A)));
                memory[slots.b..slots.b + 8].copy_from_slice(bytemuck::bytes_of(&black_box(B)));
                native::point_add_in(memory, slots.out, slots.a, slots.b);
                bytemuck::pod_read_unaligned::<Point>(&memory[slots.out..slots.out + 8])
            })
        }),
        native(POINT_WRITE_READ, "one Point copied into a byte buffer and read back", |b| {
            let (mut memory, slots) = ([0u8; 64], PointSlots::at(8));
            b.iter(|| {
                let memory = black_box(&mut memory[..]);
                memory[slots.a..slots.a + 8].copy_from_slice(bytemuck::bytes_of(&black_box(A)));
                bytemuck::pod_read_unaligned::<Point>(&memory[slots.a..slots.a + 8])
            })
        }),
        batch(BATCH_1, "a native loop adding 1 Point pair", 1, |b| batch_of(b, 1)),
        batch(BATCH_64, "a native loop adding 64 Point pairs", 64, |b| batch_of(b, 64)),
        batch(BATCH_4096, "a native loop adding 4096 Point pairs", 4096, |b| batch_of(b, 4096)),
    ];
}

/// `op` on raw wasmtime, timed.
fn on_raw<O>(b: &mut Bench<'_>, f: &mut Fixtures<'_>, mut op: impl FnMut(&mut RawBench) -> O) {
    let raw = f.raw();
    b.iter(|| op(raw))
}

/// `op` through the host core, timed.
fn on_core<O>(b: &mut Bench<'_>, f: &mut Fixtures<'_>, mut op: impl FnMut(&mut CoreBench) -> O) {
    let core = f.core();
    b.iter(|| op(core))
}

/// `op` on the guest as a component, timed.
fn on_component<O>(
    b: &mut Bench<'_>,
    f: &mut Fixtures<'_>,
    mut op: impl FnMut(&mut component_ops::ComponentBench) -> O,
) {
    let component = f.component();
    b.iter(|| op(component))
}

/// The answer every `just_add(15, 27)` row's call gives once before it is timed.
fn adds_up<T: PartialEq + std::fmt::Debug + From<u8>>(what: &str, got: T) {
    expect_eq(&format!("`just_add(15, 27)` {what}"), got, T::from(42));
}

/// The host state a `trigger_host_calls(7)` leaves from a shared value of 42, checked on `core`.
fn triggers(core: &mut CoreBench, asynchronous: bool) {
    core.host.state_mut().shared_value = 42;
    if asynchronous {
        ops::core_trigger_async(core);
    } else {
        ops::core_trigger(core);
    }
    let state = (core.host.state().shared_value, core.host.state().last_logged);
    expect_eq("host state after `trigger_host_calls(7)` from 42", state, (54, Some(14)));
}

/// The sum every Point round trip gives.
fn sum() -> Point {
    boundary_host::guest::add_points(A, B)
}

/// A batch row: `point_add_batch` over `n` Points already in guest memory, its sums checked once.
fn batch(b: &mut Bench<'_>, f: &mut Fixtures<'_>, n: u32) {
    let (host, BatchSlots { a, b: bs, out }) = f.batch();
    host.point_add_batch(out, a, bs, n).or_stop();
    let mut sums = vec![Point::default(); n as usize];
    host.read_bytes(out as usize, bytemuck::cast_slice_mut(&mut sums)).or_stop();
    expect_eq("`point_add_batch` of Points in guest memory", sums, component_ops::expected_batch(n as usize));
    b.iter(|| host.point_add_batch(out, a, bs, black_box(n)).or_stop())
}

/// A batch-copy row: `n` Points of each input copied in, one `point_add_batch`, `n` sums copied out.
fn batch_copy(b: &mut Bench<'_>, f: &mut Fixtures<'_>, n: usize) {
    let (core, copy) = f.batch_copy();
    component_ops::core_batch_copy(core, copy, n);
    expect_eq("`point_add_batch` of copied Points", &copy.out[..n], &component_ops::expected_batch(n)[..]);
    b.iter(|| component_ops::core_batch_copy(core, copy, n))
}

/// A list row: the component's `point-add-batch` over two lists of `n` Points.
fn list(b: &mut Bench<'_>, f: &mut Fixtures<'_>, n: usize) {
    let comp = f.component();
    let sums: Vec<Point> = component_ops::component_batch(comp, n).into_iter().map(Point::from).collect();
    expect_eq("the component's `point-add-batch`", sums, component_ops::expected_batch(n));
    b.iter(|| component_ops::component_batch(comp, n))
}

/// `threads` workers instantiating through `InstancePre` at once.
fn instantiating_in(b: &mut Bench<'_>, f: &mut Fixtures<'_>, threads: usize) {
    ops::with_instantiating_workers(f.linked(), threads, |batch| b.batch(batch))
}

/// The C++ host's loops (`host/cpp`), each timed inside C++: Rust calls into C++ once per batch of iterations, so
/// what is measured is C++ calling wasmtime.
#[derive(Debug, Clone, Copy)]
enum CppRow {
    TypedCall,
    UntypedCall,
    LookupPerCall,
    TriggerHostCalls,
    PointAdd,
}

#[cfg(feature = "cpp")]
fn cpp(b: &mut Bench<'_>, f: &mut Fixtures<'_>, row: CppRow) {
    use boundary_cpp_host::CppLoop;
    use boundary_host::patterns::PatternHost;
    let which = match row {
        CppRow::TypedCall => CppLoop::TypedCall,
        CppRow::UntypedCall => CppLoop::UntypedCall,
        CppRow::LookupPerCall => CppLoop::LookupPerCall,
        CppRow::TriggerHostCalls => CppLoop::TriggerHostCalls,
        CppRow::PointAdd => CppLoop::PointAdd,
    };
    let (host, base) = f.cpp();
    if let CppRow::PointAdd = row {
        // One Point round trip leaves its sum in guest memory: check it, as the Rust rows check theirs.
        host.time(which, 1, base).or_stop();
        let mut out = Point::default();
        host.read_bytes(base as usize + 16, bytemuck::bytes_of_mut(&mut out)).or_stop();
        expect_eq("the C++ host's Point round trip", out, sum());
    }
    b.batch(|iters| host.time(which, iters, base).or_stop())
}

/// Without the C++ host no C++ row is planned (`for_subject`): reaching one is a planning mistake, said as one.
#[cfg(not(feature = "cpp"))]
fn cpp(_: &mut Bench<'_>, _: &mut Fixtures<'_>, row: CppRow) {
    guard::refuse(&format!("the C++ row {row:?} was planned in a build without the C++ host"))
}

/// Every row measured under each profile, in table order: one entry per row.
pub static ROWS: LazyLock<Vec<Row>> = LazyLock::new(|| {
    use native as n;
    vec![
        Row::new("calls/just_add/typed", "`TypedFunc::call` of `just_add`", n::JUST_ADD, |b, f| {
            adds_up("called typed", ops::raw_just_add(f.raw()));
            on_raw(b, f, ops::raw_just_add)
        }),
        Row::new("calls/just_add/untyped", "`Func::call` with reused `Val` buffers", n::JUST_ADD, |b, f| {
            adds_up("called untyped", ops::raw_just_add_untyped(f.raw()));
            on_raw(b, f, ops::raw_just_add_untyped)
        }),
        Row::new(
            "calls/just_add/unchecked",
            "`Func::call_unchecked` with a reused `ValRaw` buffer",
            n::JUST_ADD,
            |b, f| {
                adds_up("called unchecked", ops::raw_just_add_unchecked(f.raw()));
                on_raw(b, f, ops::raw_just_add_unchecked)
            },
        ),
        Row::new("calls/just_add/core", "`WasmHost::just_add` (the host core)", n::JUST_ADD, |b, f| {
            adds_up("through the host core", ops::core_just_add(f.core()));
            on_core(b, f, ops::core_just_add)
        }),
        Row::new(
            "calls/just_add/component",
            "the guest as a component: `ComponentHost::just_add`, a typed call through `bindgen!`'s bindings",
            n::JUST_ADD,
            |b, f| on_component(b, f, component_ops::component_just_add),
        )
        .needing(Needs::World),
        Row::new(
            "calls/just_add/component_untyped",
            "the component's `just-add` by `component::Func::call` with reused `Val` buffers (through the host core)",
            n::JUST_ADD,
            |b, f| on_component(b, f, component_ops::component_just_add_untyped),
        )
        .needing(Needs::World),
        Row::new(
            "calls/just_add/cpp_typed",
            "C++ host (`wasmtime.hh`): `TypedFunc::call` looked up once; the loop is timed inside C++",
            n::JUST_ADD,
            |b, f| cpp(b, f, CppRow::TypedCall),
        )
        .of_cpp_host(),
        Row::new(
            "calls/just_add/cpp_untyped",
            "C++ host: `Func::call` with a list of `Val`s, looked up once",
            n::JUST_ADD,
            |b, f| cpp(b, f, CppRow::UntypedCall),
        )
        .of_cpp_host(),
        Row::new(
            "calls/just_add/cpp_lookup_per_call",
            "C++ host, the article's habit: `Instance::get` by name on every call, then `Func::call`",
            n::JUST_ADD,
            |b, f| cpp(b, f, CppRow::LookupPerCall),
        )
        .of_cpp_host(),
        Row::new("calls/nop/typed", "`TypedFunc::call` of `nop`", n::NOP, |b, f| on_raw(b, f, ops::raw_nop))
            .needing(Needs::Nop),
        Row::new("calls/nop/untyped", "`Func::call` with empty `Val` buffers", n::NOP, |b, f| {
            on_raw(b, f, ops::raw_nop_untyped)
        })
        .needing(Needs::Nop),
        Row::new("calls/nop/unchecked", "`Func::call_unchecked`", n::NOP, |b, f| on_raw(b, f, ops::raw_nop_unchecked))
            .needing(Needs::Nop),
        Row::new("calls/nop/core", "`WasmHost::nop` (the host core)", n::NOP, |b, f| on_core(b, f, ops::core_nop))
            .needing(Needs::Nop),
        Row::new("calls/nop/component", "`ComponentHost::nop`: the component's empty export", n::NOP, |b, f| {
            on_component(b, f, component_ops::component_nop)
        })
        .needing(Needs::WorldExport(cexport::NOP)),
        Row::new("calls/nop/component_untyped", "the component's `nop` by `component::Func::call`", n::NOP, |b, f| {
            on_component(b, f, component_ops::component_nop_untyped)
        })
        .needing(Needs::WorldExport(cexport::NOP)),
        Row::new(
            "calls/just_add/async_typed",
            "`TypedFunc::call_async` of `just_add`, run to completion by `futures::executor::block_on`",
            n::JUST_ADD,
            |b, f| {
                adds_up("called async", ops::raw_just_add_async(f.raw()));
                on_raw(b, f, ops::raw_just_add_async)
            },
        ),
        Row::new(
            "calls/just_add/async_untyped",
            "`Func::call_async` with reused `Val` buffers, by `block_on`",
            n::JUST_ADD,
            |b, f| {
                adds_up("called async, untyped", ops::raw_just_add_async_untyped(f.raw()));
                on_raw(b, f, ops::raw_just_add_async_untyped)
            },
        ),
        Row::new(
            "calls/just_add/async_core",
            "`WasmHost::just_add_async` (the host core), by `block_on`",
            n::JUST_ADD,
            |b, f| {
                adds_up("called async through the host core", ops::core_just_add_async(f.core()));
                on_core(b, f, ops::core_just_add_async)
            },
        ),
        Row::new(
            "calls/just_add/hook_core",
            "`WasmHost::just_add` with a call hook installed (`Store::call_hook`, counting each crossing)",
            n::JUST_ADD,
            |b, f| {
                let hooked = &mut f.callbacks().hooked;
                adds_up("with a call hook", ops::core_just_add(hooked));
                if hooked.host.state().hook_calls == 0 {
                    guard::refuse("the call hook never ran");
                }
                b.iter(|| ops::core_just_add(hooked))
            },
        ),
        Row::new(
            "callbacks/trigger_host_calls/raw",
            "one call in, three typed host calls out, raw wasmtime",
            n::TRIGGER_HOST_CALLS,
            |b, f| on_raw(b, f, ops::raw_trigger),
        ),
        Row::new(
            "callbacks/trigger_host_calls/core",
            "the same through `WasmHost::trigger_host_calls`",
            n::TRIGGER_HOST_CALLS,
            |b, f| {
                triggers(f.core(), false);
                on_core(b, f, ops::core_trigger)
            },
        ),
        Row::new(
            "callbacks/trigger_host_calls/component",
            "`ComponentHost::trigger_host_calls`: one call in, three calls of the imported `host` interface out",
            n::TRIGGER_HOST_CALLS,
            |b, f| on_component(b, f, component_ops::component_trigger),
        )
        .needing(Needs::World),
        Row::new(
            "callbacks/trigger_host_calls/cpp",
            "C++ host: `TypedFunc::call` in, three host functions defined by `Linker::func_wrap` out",
            n::TRIGGER_HOST_CALLS,
            |b, f| cpp(b, f, CppRow::TriggerHostCalls),
        )
        .of_cpp_host(),
        Row::new(
            "callbacks/trigger_host_calls/async_core",
            "`WasmHost::trigger_host_calls_async` into three host functions defined by `func_wrap_async`, by \
             `block_on`",
            n::TRIGGER_HOST_CALLS,
            |b, f| {
                let host = &mut f.callbacks().asynchronous;
                triggers(host, true);
                b.iter(|| ops::core_trigger_async(host))
            },
        ),
        Row::new(
            "callbacks/trigger_host_calls/hook_core",
            "`WasmHost::trigger_host_calls` with a call hook installed",
            n::TRIGGER_HOST_CALLS,
            |b, f| {
                let host = &mut f.callbacks().hooked;
                triggers(host, false);
                b.iter(|| ops::core_trigger(host))
            },
        ),
        Row::new(
            "callbacks/per_callback/typed",
            "one guest -> host call inside a guest loop (entry cost excluded), host function by `func_wrap`",
            n::HOST_LOG_VALUE,
            |b, f| {
                let host = &mut f.core().host;
                b.per_callback(|n| host.call_host_n(n).or_stop())
            },
        )
        .needing(Needs::CallHostN),
        Row::new(
            "callbacks/per_callback/untyped",
            "the same with the host function defined by `func_new`",
            n::HOST_LOG_VALUE,
            |b, f| {
                let host = &mut f.callbacks().untyped;
                triggers(host, false);
                b.per_callback(|n| host.host.call_host_n(n).or_stop())
            },
        )
        .needing(Needs::CallHostN),
        Row::new(
            "callbacks/per_callback/unchecked",
            "one guest -> host call inside a guest loop, host function by `func_new_unchecked`",
            n::HOST_LOG_VALUE,
            |b, f| {
                let host = &mut f.callbacks().unchecked;
                triggers(host, false);
                b.per_callback(|n| host.host.call_host_n(n).or_stop())
            },
        )
        .needing(Needs::CallHostN),
        Row::new(
            "callbacks/per_callback/async",
            "one guest -> host call inside a guest loop, host function by `func_wrap_async`, the loop entered by \
             `call_async`",
            n::HOST_LOG_VALUE,
            |b, f| {
                let host = &mut f.callbacks().asynchronous.host;
                b.per_callback(|n| block_on(host.call_host_n_async(n)).or_stop())
            },
        )
        .needing(Needs::CallHostN),
        Row::new(
            "callbacks/per_callback/hook",
            "one guest -> host call inside a guest loop, `func_wrap`, with a call hook installed",
            n::HOST_LOG_VALUE,
            |b, f| {
                let host = &mut f.callbacks().hooked.host;
                b.per_callback(|n| host.call_host_n(n).or_stop())
            },
        )
        .needing(Needs::CallHostN),
        Row::new(
            "callbacks/per_callback/component",
            "one call of the component's imported `log-value` inside a guest loop (entry cost excluded)",
            n::HOST_LOG_VALUE,
            |b, f| {
                let host = &mut f.component().host;
                b.per_callback(|n| host.call_host_n(n).or_stop())
            },
        )
        .needing(Needs::WorldExport(cexport::CALL_HOST_N)),
        Row::new(
            "structs/point_add/memcpy",
            "write two Points, call `point_add`, read one: one `Memory::write`/`read` per Point, bytes taken by raw \
             pointer",
            n::POINT_ADD,
            |b, f| {
                expect_eq("`point_add` of two Points by memcpy", ops::raw_point_add_memcpy(f.raw()), sum());
                on_raw(b, f, ops::raw_point_add_memcpy)
            },
        ),
        Row::new(
            "structs/point_add/bytemuck",
            "the same with `bytemuck::bytes_of`/`pod_read_unaligned` on `Memory::data_mut` (one borrow for both \
             writes)",
            n::POINT_ADD,
            |b, f| {
                expect_eq("`point_add` of two Points by bytemuck", ops::raw_point_add_bytemuck(f.raw()), sum());
                on_raw(b, f, ops::raw_point_add_bytemuck)
            },
        ),
        Row::new(
            "structs/point_add/bytemuck_cast",
            "the same with an in-place `bytemuck::from_bytes` cast (alignment checked)",
            n::POINT_ADD,
            |b, f| {
                expect_eq("`point_add` of two Points by a cast", ops::raw_point_add_cast(f.raw()), sum());
                on_raw(b, f, ops::raw_point_add_cast)
            },
        ),
        Row::new(
            "structs/point_add/core",
            "the same through `WasmHost::write`/`read`/`point_add`",
            n::POINT_ADD,
            |b, f| {
                expect_eq("`point_add` through the host core", ops::core_point_add(f.core()), sum());
                on_core(b, f, ops::core_point_add)
            },
        ),
        Row::new(
            "structs/point_add/component_record",
            "the component's `point-add`: two Points passed by value (a WIT record), the sum returned by value",
            n::POINT_ADD,
            |b, f| on_component(b, f, component_ops::component_point_add),
        )
        .needing(Needs::World),
        Row::new(
            "structs/point_add/cpp",
            "C++ host: two Points `memcpy`d into `Memory::data` after a bounds check, typed `point_add`, one read back",
            n::POINT_ADD,
            |b, f| cpp(b, f, CppRow::PointAdd),
        )
        .of_cpp_host(),
        Row::new(
            "structs/point_write_read/raw",
            "write one Point and read it back with `Memory::data_mut` and bytemuck, no call",
            n::POINT_WRITE_READ,
            |b, f| {
                expect_eq("a Point written and read back", ops::raw_point_write_read(f.raw()), A);
                on_raw(b, f, ops::raw_point_write_read)
            },
        ),
        Row::new(
            "structs/point_write_read/core",
            "the same through `WasmHost::write`/`read`",
            n::POINT_WRITE_READ,
            |b, f| {
                expect_eq("a Point written and read back, host core", ops::core_point_write_read(f.core()), A);
                on_core(b, f, ops::core_point_write_read)
            },
        ),
        Row::new("structs/batch/1", BATCH, n::BATCH_1, |b, f| batch(b, f, 1)).elements(1).needing(Needs::Batch),
        Row::new("structs/batch/64", BATCH, n::BATCH_64, |b, f| batch(b, f, 64)).elements(64).needing(Needs::Batch),
        Row::new("structs/batch/4096", BATCH, n::BATCH_4096, |b, f| batch(b, f, 4096))
            .elements(4096)
            .needing(Needs::Batch),
        Row::new("structs/batch_copy/1", BATCH_COPY, n::BATCH_1, |b, f| batch_copy(b, f, 1))
            .elements(1)
            .needing(Needs::Batch),
        Row::new("structs/batch_copy/64", BATCH_COPY, n::BATCH_64, |b, f| batch_copy(b, f, 64))
            .elements(64)
            .needing(Needs::Batch),
        Row::new("structs/batch_copy/4096", BATCH_COPY, n::BATCH_4096, |b, f| batch_copy(b, f, 4096))
            .elements(4096)
            .needing(Needs::Batch),
        Row::new("structs/component_list/1", LIST, n::BATCH_1, |b, f| list(b, f, 1))
            .elements(1)
            .needing(Needs::WorldExport(cexport::POINT_ADD_BATCH)),
        Row::new("structs/component_list/64", LIST, n::BATCH_64, |b, f| list(b, f, 64))
            .elements(64)
            .needing(Needs::WorldExport(cexport::POINT_ADD_BATCH)),
        Row::new("structs/component_list/4096", LIST, n::BATCH_4096, |b, f| list(b, f, 4096))
            .elements(4096)
            .needing(Needs::WorldExport(cexport::POINT_ADD_BATCH)),
        Row::unfloored(
            "instantiate/linker",
            "a new store (an empty WASI context in it) and `Linker::instantiate` of the quiet guest, imports resolved \
             by name on every instantiation; the drop not timed",
            INSTANTIATION_PROFILES,
            |b, f| {
                let linked = f.linked();
                b.batch(|iters| ops::time_without_drop(iters, || ops::raw_instance_linker(linked)))
            },
        )
        .needing(Needs::Module),
        Row::unfloored(
            "instantiate/pre",
            "a new store (an empty WASI context in it) and `InstancePre::instantiate`, imports resolved once \
             beforehand; the drop not timed",
            INSTANTIATION_PROFILES,
            |b, f| {
                let linked = f.linked();
                b.batch(|iters| ops::time_without_drop(iters, || ops::raw_instance_pre(linked)))
            },
        )
        .needing(Needs::Module),
        Row::unfloored(
            "instantiate/core",
            "`GuestModule::instantiate`: a new store with its WASI context, the instance, its exports typed; the drop \
             not timed",
            INSTANTIATION_PROFILES,
            |b, f| {
                let guest = f.core().host.guest();
                b.batch(|iters| ops::time_without_drop(iters, || guest.instantiate().or_stop()))
            },
        ),
        Row::unfloored(
            "instantiate/drop",
            "the drop of a store holding an instance made by `InstancePre`: its memory unmapped, or its pool slot \
             reset and returned",
            INSTANTIATION_PROFILES,
            |b, f| {
                let linked = f.linked();
                b.batch(|iters| ops::time_drops(iters, || ops::raw_instance_pre(linked)))
            },
        )
        .needing(Needs::Module),
        Row::unfloored(
            "instantiate/threads/1",
            "wall time per instance while 1 worker makes instances through `InstancePre` (a store, the instance, its \
             drop), the worker started before the timing (the baseline of the two below)",
            INSTANTIATION_PROFILES,
            |b, f| instantiating_in(b, f, 1),
        )
        .needing(Needs::Module),
        Row::unfloored(
            "instantiate/threads/2",
            "the same with 2 workers at once: half of /1 if it scales",
            INSTANTIATION_PROFILES,
            |b, f| instantiating_in(b, f, 2),
        )
        .needing(Needs::Module),
        Row::unfloored("instantiate/threads/4", "the same with 4 workers at once", INSTANTIATION_PROFILES, |b, f| {
            instantiating_in(b, f, 4)
        })
        .needing(Needs::Module),
        Row::unfloored(
            "traps/point_add/returns",
            "`point_add` on valid pointers, returning normally: what the trapping calls below are compared with",
            TRAP_PROFILES,
            |b, f| {
                let raw = &mut f.traps().raw;
                b.iter(|| ops::raw_point_add_returns(raw))
            },
        )
        .needing(Needs::Trap),
        Row::unfloored(
            "traps/point_add/trap",
            "`point_add` writing out of bounds: the call traps, a wasm backtrace is captured (wasmtime's default)",
            TRAP_PROFILES,
            |b, f| {
                let raw = &mut f.traps().raw;
                b.iter(|| ops::raw_point_add_trap(raw))
            },
        )
        .needing(Needs::Trap),
        Row::unfloored(
            "traps/point_add/trap_no_backtrace",
            "the same trap with `Config::wasm_backtrace_max_frames(None)` (no wasm backtrace)",
            TRAP_PROFILES,
            |b, f| {
                let raw = &mut f.traps().no_backtrace;
                b.iter(|| ops::raw_point_add_trap(raw))
            },
        )
        .needing(Needs::Trap),
        Row::unfloored(
            "traps/point_add/core",
            "the same trap through `WasmHost::point_add`, then `WasmHost::reset`: the host core's whole policy",
            TRAP_PROFILES,
            |b, f| {
                let core = &mut f.traps().core;
                b.iter(|| ops::core_point_add_trap_reset(core))
            },
        )
        .needing(Needs::Trap),
        Row::unfloored(
            "traps/reset/core",
            "`WasmHost::reset` alone: the store discarded, a fresh store and instance",
            TRAP_PROFILES,
            |b, f| {
                let core = &mut f.traps().core;
                b.iter(|| ops::core_reset(core))
            },
        )
        .needing(Needs::Trap),
        Row::unfloored(
            "lifecycle/compile",
            "`Module::from_binary` of the module: compiling it for this profile",
            &[],
            |b, f| {
                let (engine, wasm) = (&f.engine, f.wasm());
                b.iter(|| raw::compile(engine, wasm).or_stop())
            },
        )
        .every_profile()
        .timed(Timing::Compile)
        .needing(Needs::Module),
        Row::unfloored(
            "lifecycle/component_compile",
            "`Component::from_binary` of the component: compiling it for this profile",
            &[],
            |b, f| {
                let (engine, wasm) = (&f.engine, f.component_wasm());
                b.iter(|| component_ops::compile(engine, wasm))
            },
        )
        .every_profile()
        .timed(Timing::Compile)
        .needing(Needs::AnyComponent),
        Row::unfloored(
            "lifecycle/component_instantiate",
            "a new store and `component::InstancePre::instantiate` of the component through the host core, dropped",
            INSTANTIATION_PROFILES,
            |b, f| {
                let linked = f.linked_component();
                b.iter(|| linked.instantiate().or_stop())
            },
        )
        .needing(Needs::AnyComponent),
    ]
});

const BATCH: &str = "one `point_add_batch` call over n Points already in guest memory";
const BATCH_COPY: &str =
    "n Points of each input copied into guest memory, one `point_add_batch`, n sums copied out (host core)";
const LIST: &str =
    "the component's `point-add-batch` over two `list<point>` of n: lowered in, the sums lifted into a new `Vec`";

/// The kinds of call an `--invoke` export is measured by, as the last segment of its rows' ids.
pub const INVOKE_WAYS: &[(&str, &str)] = &[
    ("typed", "`TypedFunc::call`"),
    ("untyped", "`Func::call` with reused `Val` buffers"),
    ("unchecked", "`Func::call_unchecked` with a reused `ValRaw` buffer"),
];

/// The row of an `--invoke` export of a core module called one way (`typed`, `untyped`, `unchecked`), or of a
/// component's export (`component`).
pub fn invoke_row(export_id: &str, way: &str, what: String) -> Row {
    let needs = if way == "component" { Needs::AnyComponent } else { Needs::Module };
    Row::of_subject(format!("invoke/{export_id}/{way}"), what, needs, measure_invoke)
}

/// An `--invoke` row: its export and way are its id's (`invoke/<export>/<way>`); each export is prepared (and
/// called once) before anything is timed.
fn measure_invoke(b: &mut Bench<'_>, f: &mut Fixtures<'_>) {
    let id = b.id().to_string();
    let Some((name, way)) = id.strip_prefix("invoke/").and_then(|rest| rest.rsplit_once('/')) else {
        guard::refuse(&format!("`{id}` is no `--invoke` row"))
    };
    if way == "component" {
        let Some(c) = f.component_call(name) else { guard::refuse(&format!("`{id}` names no `--invoke` export")) };
        return b.iter(|| c.call.call(&mut c.store).or_stop());
    }
    let Some(c) = f.core_call(name) else { guard::refuse(&format!("`{id}` names no `--invoke` export")) };
    match way {
        // Left out when the typed path does not cover the signature (`Row::may_be_left_out`).
        "typed" if c.call.typed_unsupported().is_some() => {}
        "typed" => b.iter(|| c.call.call_typed(&mut c.store).or_stop()),
        "untyped" => b.iter(|| c.call.call_untyped(&mut c.store).or_stop()),
        "unchecked" => b.iter(|| c.call.call_unchecked(&mut c.store).or_stop()),
        _ => guard::refuse(&format!("`{id}` names no way of calling an export")),
    }
}

/// The rows of a plugin's request (`--request`): the whole request on one instance, then each of its phases, timed
/// within the same requests (phase by phase, so the phases' rows add up to about the whole).
pub const REQUEST_PHASES: &[(&str, &str)] = &[
    ("whole", "the whole request on one instance: allocate, copy in, call, copy out, free"),
    ("alloc", "its allocator calls for the inputs and out-slots"),
    ("copy_in", "copying the inputs in (and zeroing the out-slots)"),
    ("call", "the call itself"),
    ("copy_out", "finding the output and copying it out"),
    ("free", "the frees of the output, inputs and out-slots"),
];

/// The row of one phase of a plugin's request (`request/<phase>`).
pub fn request_row(phase: &str, what: &str) -> Row {
    Row::of_subject(format!("request/{phase}"), what.to_string(), Needs::Module, measure_request)
}

/// The row of a WASI command's request (`[command]`), which runs once per instance.
pub const REQUEST_COMMAND: (&str, &str) = (
    "command",
    "the command on a fresh instance each time: store and WASI context (arguments, stdin), instantiate, `_start`, \
     stdout taken, drop",
);

/// A request row: prepared and checked once under the profile, then timed whole or phase by phase on one instance;
/// a command's, on a fresh instance each time.
fn measure_request(b: &mut Bench<'_>, f: &mut Fixtures<'_>) {
    let phase = b.id().strip_prefix("request/").unwrap_or_default().to_string();
    if phase == REQUEST_COMMAND.0 {
        let prepared = f.request();
        let fresh = FreshRequest { plugin: prepared.plugin.clone(), inputs: prepared.inputs.clone() };
        return b.iter(|| fresh.serve().or_stop());
    }
    let Some(index) = REQUEST_PHASES.iter().position(|(p, _)| *p == phase) else {
        guard::refuse(&format!("`{}` is no phase of a request", b.id()))
    };
    let prepared = f.request();
    if index == 0 {
        return b.iter(|| prepared.serve().or_stop());
    }
    b.batch(|iters| (0..iters).map(|_| prepared.serve().or_stop().phases.each()[index - 1]).sum())
}

/// A row the subject cannot serve, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub id: String,
    pub why: String,
}

/// The rows a run measures for `subject`, in table order, and the rows it skips with the reason: every row of
/// [`ROWS`] the subject serves (the C++ host's only in a build `with_cpp`, and only for the project's guest), then a
/// row per `--invoke` export and way, then the request's.
pub fn for_subject(subject: &Subject, serves: &Serves, with_cpp: bool) -> (Vec<Row>, Vec<Skipped>) {
    let mut rows = Vec::new();
    let mut skipped = Vec::new();
    for row in ROWS.iter() {
        if row.needs_cpp && !with_cpp {
            continue;
        }
        let verdict = if row.needs_cpp && !subject.is_built_in() {
            Err("the C++ host's loops are written for the project's guest".to_string())
        } else {
            serves.check(row.needs)
        };
        match verdict {
            Ok(()) => rows.push(row.clone()),
            Err(why) => skipped.push(Skipped { id: row.id.to_string(), why }),
        }
    }
    for spec in &subject.invokes {
        let name = spec.id_name();
        if subject.core.is_some() {
            for (way, how) in INVOKE_WAYS {
                rows.push(invoke_row(&name, way, format!("`{}` called by {how}", spec.name)));
            }
        }
        if subject.component.is_some() {
            let what = format!("the component's `{}` by `component::Func::call` with reused `Val` buffers", spec.name);
            rows.push(invoke_row(&name, "component", what));
        }
    }
    match &subject.request {
        Some(request) if request.command.is_some() => {
            rows.push(request_row(REQUEST_COMMAND.0, REQUEST_COMMAND.1));
            for (phase, _) in REQUEST_PHASES {
                let why = "a WASI command runs once per instance: its request is timed on a fresh instance each time \
                           (`request/command`)";
                skipped.push(Skipped { id: format!("request/{phase}"), why: why.to_string() });
            }
        }
        Some(_) => {
            for (phase, what) in REQUEST_PHASES {
                rows.push(request_row(phase, what));
            }
        }
        None => {}
    }
    (rows, skipped)
}

/// The row of [`ROWS`] with the id `id`.
pub fn find(id: &str) -> Option<&'static Row> {
    ROWS.iter().find(|row| row.id == id)
}

/// The rows of the top-level README's headline table (the latest run, `record::readme_block`), by id, with the
/// words that name them there.
pub const HEADLINE: &[(&str, &str)] = &[
    ("calls/just_add/typed", "host -> guest call, typed (`TypedFunc::call`)"),
    ("calls/just_add/untyped", "host -> guest call, untyped (`Func::call`)"),
    ("calls/just_add/core", "host -> guest call through the host core"),
    ("callbacks/per_callback/typed", "guest -> host call, host function by `func_wrap`"),
    ("callbacks/per_callback/untyped", "guest -> host call, host function by `func_new`"),
    ("calls/just_add/async_typed", "host -> guest call, async (`TypedFunc::call_async`)"),
    ("structs/point_add/bytemuck", "two Points in, `point_add`, one out (bytemuck)"),
    ("structs/batch/4096", "`point_add_batch` over 4096 Points"),
    ("instantiate/pre", "a new store and instance (`InstancePre::instantiate`)"),
    ("traps/point_add/trap", "a call that traps, with its wasm backtrace"),
];

/// The rows of the README's component table: the guest as a component beside the same guest as a core module,
/// doing the same work (component row, core module row, the words that name them), by id.
pub const COMPONENT_HEADLINE: &[(&str, &str, &str)] = &[
    ("calls/just_add/component", "calls/just_add/core", "typed call (`just-add` / `just_add`), through the host core"),
    ("calls/nop/component", "calls/nop/core", "typed call of the empty export"),
    (
        "calls/just_add/component_untyped",
        "calls/just_add/untyped",
        "untyped call with `Val` buffers (`component::Func` / `Func`)",
    ),
    (
        "callbacks/trigger_host_calls/component",
        "callbacks/trigger_host_calls/core",
        "one call in, three host calls out",
    ),
    ("callbacks/per_callback/component", "callbacks/per_callback/typed", "one guest -> host call"),
    (
        "structs/point_add/component_record",
        "structs/point_add/core",
        "two Points in, their sum out: a record by value / copies through memory",
    ),
    (
        "structs/component_list/64",
        "structs/batch_copy/64",
        "64 Point pairs in, 64 sums out: `list<point>` / copies and `point_add_batch`",
    ),
    ("structs/component_list/4096", "structs/batch_copy/4096", "the same with 4096"),
];

/// The profiles of the headline table.
pub const HEADLINE_PROFILES: &[EngineProfile] =
    &[EngineProfile::Cranelift, EngineProfile::Winch, EngineProfile::Pulley];

/// How much slower than raw wasmtime the host core may be.
pub const OVERHEAD_LIMIT: f64 = 0.05;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn a_command_s_request_has_its_fresh_instance_row_and_the_one_instance_rows_are_skipped_named() {
        let subject = Subject::command_fixture("[command]\nargs = [\"upper\"]\n");
        let (rows, skipped) = for_subject(&subject, &Serves::of(&subject), false);
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_ref()).filter(|id| id.starts_with("request/")).collect();
        assert_eq!(ids, ["request/command"]);
        for (phase, _) in REQUEST_PHASES {
            let id = format!("request/{phase}");
            assert!(skipped.iter().any(|s| s.id == id && s.why.contains("once per instance")), "{id}: {skipped:?}");
        }
    }

    #[test]
    fn every_row_id_is_a_unique_slash_path_with_a_known_floor() {
        let mut seen = BTreeSet::new();
        for row in ROWS.iter() {
            assert!(row.id.contains('/'), "`{}` is no slash path", row.id);
            assert!(seen.insert(row.id.to_string()), "`{}` is in ROWS twice", row.id);
            if let Some(floor) = row.native {
                assert!(
                    native::ALL.iter().any(|n| n.id == floor),
                    "`{}` names the floor `{floor}`, no native row",
                    row.id
                );
            }
        }
        for floor in native::ALL {
            assert!(seen.insert(floor.id.to_string()), "the native `{}` shares its id with a row", floor.id);
        }
    }

    #[test]
    fn the_tables_name_rows_of_the_list() {
        let named = HEADLINE
            .iter()
            .map(|(id, _)| *id)
            .chain(COMPONENT_HEADLINE.iter().flat_map(|(component, core, _)| [*component, *core]));
        for id in named {
            assert!(find(id).is_some(), "a README table names `{id}`, which is no row of ROWS");
        }
    }
}
