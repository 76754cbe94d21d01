//! What the matrix's rows run, registered with criterion: one function per family of rows, each setting up its
//! subjects (under the watchdog) and registering each row's operation through [`register`], the one place a row
//! becomes a benchmark. Every export lookup, instantiation and memory reservation happens before the timed closures.

use super::rows::{self, Row};
use crate::guard::{self, Batches, OrStop, expect_eq};
use crate::ops::component::{self as component_ops, BatchCopy, ComponentBench};
use crate::ops::invoke::{ComponentInvoke, CoreInvoke};
use crate::ops::native::{self, NativeHost};
use crate::ops::plugin::PreparedRequest;
use crate::ops::raw::{self, Linked, PointSlots};
use crate::ops::{self, A, B, CoreBench, RawBench};
use crate::probe::Serves;
use crate::subject::{Needs, Subject};
#[cfg(feature = "cpp")]
use boundary_cpp_host::{CppHost, CppLoop};
#[cfg(feature = "cpp")]
use boundary_host::patterns::PatternHost;
use boundary_host::wasmtime::{Engine, Trap};
use boundary_host::{EngineProfile, HostFuncStyle, Point, Wasm, WasmHost};
use criterion::{BenchmarkId, Criterion, Throughput};
use futures::executor::block_on;
use std::collections::{BTreeSet, HashSet};
use std::hint::black_box;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

/// Guest calls per `call_host_n` in the per-callback rows are at most this many; each chunk's entry cost is
/// measured right after it and subtracted.
const CALLBACK_CHUNK: u64 = 1 << 20;
const BATCH_SIZES: [(Row, &str, u32); 3] = [
    (rows::BATCH_1, rows::native::BATCH_1, 1),
    (rows::BATCH_64, rows::native::BATCH_64, 64),
    (rows::BATCH_4096, rows::native::BATCH_4096, 4096),
];
const MAX_BATCH: usize = 4096;

/// Registers one benchmark under its row id (and profile), in a group named by the id's first segment: `op` is one
/// iteration, timed as criterion's `Bencher::iter` times it, each batch of calls under the watchdog
/// ([`guard::Batches`]).
fn bench<O>(c: &mut Criterion, row_id: &str, profile: Option<&str>, elements: Option<u64>, op: impl FnMut() -> O) {
    bench_timed(c, row_id, profile, elements, None, op)
}

/// Warm-up and measurement of the rows whose iteration takes microseconds (instantiation, traps): enough samples
/// in less time, which keeps a complete run within its budget.
const SHORT: (Duration, Duration) = (Duration::from_millis(300), Duration::from_millis(700));

/// [`bench`], with the group's warm-up and measurement times set if `timing` is given.
fn bench_timed<O>(
    c: &mut Criterion,
    row_id: &str,
    profile: Option<&str>,
    elements: Option<u64>,
    timing: Option<(Duration, Duration)>,
    mut op: impl FnMut() -> O,
) {
    register(c, row_id, profile, elements, timing, move |batches, iters| batches.time(iters, &mut op))
}

/// A benchmark that times its own batches: `batch(n)` makes `n` iterations and returns the time they took.
fn bench_custom(
    c: &mut Criterion,
    row_id: &str,
    profile: Option<&str>,
    timing: Option<(Duration, Duration)>,
    mut batch: impl FnMut(u64) -> Duration,
) {
    register(c, row_id, profile, None, timing, move |batches, iters| batches.run(iters, || batch(iters)))
}

/// The one place a row becomes a criterion benchmark.
fn register(
    c: &mut Criterion,
    row_id: &str,
    profile: Option<&str>,
    elements: Option<u64>,
    timing: Option<(Duration, Duration)>,
    mut run: impl FnMut(&mut Batches, u64) -> Duration,
) {
    // Only the rows planned for this run's module are registered (natives, which have no profile, always are).
    if profile.is_some() && !PLAN.get().is_some_and(|plan| plan.contains(row_id)) {
        return;
    }
    if let Some(p) = profile {
        REGISTERED.lock().unwrap_or_else(PoisonError::into_inner).insert(rows::criterion_id(row_id, p));
    }
    let (family, rest) = row_id.split_once('/').expect("row ids are slash paths");
    let mut group = c.benchmark_group(family);
    if let Some((warm_up, measurement)) = timing {
        group.warm_up_time(warm_up).measurement_time(measurement);
    }
    if let Some(n) = elements {
        group.throughput(Throughput::Elements(n));
    }
    if rows::COMPILE_ROWS.contains(&row_id) {
        // An iteration takes milliseconds: fewer samples keep the row to a few seconds.
        group.sample_size(10);
    }
    let what = match profile {
        Some(p) => format!("matrix row `{row_id}` under `{p}`"),
        None => format!("matrix row `{row_id}`"),
    };
    let mut batches = Batches::new(&what);
    let mut body = |b: &mut criterion::Bencher| b.iter_custom(|iters| run(&mut batches, iters));
    match profile {
        Some(p) => group.bench_function(BenchmarkId::new(rest, p), &mut body),
        None => group.bench_function(rest, &mut body),
    };
    group.finish();
}

pub(super) fn bench_natives(c: &mut Criterion) {
    use rows::native as n;
    bench(c, n::JUST_ADD, None, None, || native::just_add(black_box(15), black_box(27)));
    bench(c, n::NOP, None, None, native::nop);
    let (mut host, mut shared) = (NativeHost::default(), 42);
    bench(c, n::TRIGGER_HOST_CALLS, None, None, || {
        native::trigger_host_calls(black_box(&mut host), black_box(&mut shared), black_box(7))
    });
    bench(c, n::HOST_LOG_VALUE, None, None, || native::log_value(black_box(&mut host), black_box(7)));
    let mut memory = [0u8; 64];
    let slots = PointSlots::at(8);
    bench(c, n::POINT_ADD, None, None, || {
        let memory = black_box(&mut memory[..]);
        memory[slots.a..slots.a + 8].copy_from_slice(bytemuck::bytes_of(&black_box(A)));
        memory[slots.b..slots.b + 8].copy_from_slice(bytemuck::bytes_of(&black_box(B)));
        native::point_add_in(memory, slots.out, slots.a, slots.b);
        bytemuck::pod_read_unaligned::<Point>(&memory[slots.out..slots.out + 8])
    });
    bench(c, n::POINT_WRITE_READ, None, None, || {
        let memory = black_box(&mut memory[..]);
        memory[slots.a..slots.a + 8].copy_from_slice(bytemuck::bytes_of(&black_box(A)));
        bytemuck::pod_read_unaligned::<Point>(&memory[slots.a..slots.a + 8])
    });
    let a: Vec<Point> = (0..MAX_BATCH as i32).map(|i| Point::new(i, -i)).collect();
    let bs: Vec<Point> = (0..MAX_BATCH as i32).map(|i| Point::new(3 * i, 7)).collect();
    let mut out = vec![Point::default(); MAX_BATCH];
    for (_, native_id, count) in BATCH_SIZES {
        let count = count as usize;
        bench(c, native_id, None, Some(count as u64), || {
            native::point_add_batch(black_box(&mut out[..count]), black_box(&a[..count]), black_box(&bs[..count]))
        });
    }
}

fn bench_calls(c: &mut Criterion, p: &str, raw: &mut RawBench, core: &mut CoreBench, hooked: &mut CoreBench) {
    bench(c, rows::JUST_ADD_TYPED.id, Some(p), None, || ops::raw_just_add(raw));
    bench(c, rows::JUST_ADD_UNTYPED.id, Some(p), None, || ops::raw_just_add_untyped(raw));
    bench(c, rows::JUST_ADD_UNCHECKED.id, Some(p), None, || ops::raw_just_add_unchecked(raw));
    bench(c, rows::JUST_ADD_CORE.id, Some(p), None, || ops::core_just_add(core));
    bench(c, rows::NOP_TYPED.id, Some(p), None, || ops::raw_nop(raw));
    bench(c, rows::NOP_UNTYPED.id, Some(p), None, || ops::raw_nop_untyped(raw));
    bench(c, rows::NOP_UNCHECKED.id, Some(p), None, || ops::raw_nop_unchecked(raw));
    bench(c, rows::NOP_CORE.id, Some(p), None, || ops::core_nop(core));
    bench(c, rows::JUST_ADD_HOOK.id, Some(p), None, || ops::core_just_add(hooked));
}

/// Async calls into the guest, each run to completion by `futures::executor::block_on`.
fn bench_async(c: &mut Criterion, p: &str, raw: &mut RawBench, core: &mut CoreBench) {
    bench(c, rows::JUST_ADD_ASYNC_TYPED.id, Some(p), None, || ops::raw_just_add_async(raw));
    bench(c, rows::JUST_ADD_ASYNC_UNTYPED.id, Some(p), None, || ops::raw_just_add_async_untyped(raw));
    bench(c, rows::JUST_ADD_ASYNC_CORE.id, Some(p), None, || ops::core_just_add_async(core));
    expect_eq("`just_add(15, 27)` called async", ops::raw_just_add_async(raw), 42);
    expect_eq("`just_add(15, 27)` called async, untyped", ops::raw_just_add_async_untyped(raw), 42);
    expect_eq("`just_add(15, 27)` called async through the host core", ops::core_just_add_async(core), 42);
}

/// One measured iteration is one guest -> host call: `iters` calls are made by as few `call_host_n` calls as
/// fit (`call(n)` makes one), and each chunk's entry cost (a `call_host_n(0)` right after it) is subtracted.
fn per_callback(mut call: impl FnMut(u32)) -> impl FnMut(u64) -> Duration {
    move |iters| {
        let mut total = Duration::ZERO;
        let mut left = iters;
        while left > 0 {
            let chunk = left.min(CALLBACK_CHUNK);
            left -= chunk;
            let start = Instant::now();
            call(black_box(chunk as u32));
            let with_calls = start.elapsed();
            let start = Instant::now();
            call(black_box(0));
            total += with_calls.saturating_sub(start.elapsed());
        }
        total
    }
}

fn sync_callbacks(host: &mut WasmHost) -> impl FnMut(u32) + '_ {
    move |n| host.call_host_n(n).or_stop()
}

/// The host cores whose host functions are defined each way.
struct Callbacks {
    untyped: CoreBench,
    unchecked: CoreBench,
    asynchronous: CoreBench,
    hooked: CoreBench,
}

fn bench_callbacks(c: &mut Criterion, p: &str, raw: &mut RawBench, core: &mut CoreBench, hosts: &mut Callbacks) {
    bench(c, rows::TRIGGER_RAW.id, Some(p), None, || ops::raw_trigger(raw));
    bench(c, rows::TRIGGER_CORE.id, Some(p), None, || ops::core_trigger(core));
    bench(c, rows::TRIGGER_ASYNC.id, Some(p), None, || ops::core_trigger_async(&mut hosts.asynchronous));
    bench(c, rows::TRIGGER_HOOK.id, Some(p), None, || ops::core_trigger(&mut hosts.hooked));
    bench_custom(c, rows::PER_CALLBACK_TYPED.id, Some(p), None, per_callback(sync_callbacks(&mut core.host)));
    bench_custom(
        c,
        rows::PER_CALLBACK_UNTYPED.id,
        Some(p),
        None,
        per_callback(sync_callbacks(&mut hosts.untyped.host)),
    );
    bench_custom(
        c,
        rows::PER_CALLBACK_UNCHECKED.id,
        Some(p),
        None,
        per_callback(sync_callbacks(&mut hosts.unchecked.host)),
    );
    bench_custom(c, rows::PER_CALLBACK_HOOK.id, Some(p), None, per_callback(sync_callbacks(&mut hosts.hooked.host)));
    let asynchronous = &mut hosts.asynchronous.host;
    bench_custom(
        c,
        rows::PER_CALLBACK_ASYNC.id,
        Some(p),
        None,
        per_callback(|n| block_on(asynchronous.call_host_n_async(n)).or_stop()),
    );
    // Each way of defining the host functions gives the guest the same host state.
    let state = |host: &CoreBench| (host.host.state().shared_value, host.host.state().last_logged);
    for host in [&mut hosts.untyped, &mut hosts.unchecked, &mut hosts.hooked] {
        host.host.state_mut().shared_value = 42;
        ops::core_trigger(host);
        expect_eq("host state after `trigger_host_calls(7)` from 42", state(host), (54, Some(14)));
    }
    hosts.asynchronous.host.state_mut().shared_value = 42;
    ops::core_trigger_async(&mut hosts.asynchronous);
    expect_eq("host state after `trigger_host_calls(7)` called async", state(&hosts.asynchronous).0, 54);
    if hosts.hooked.host.state().hook_calls == 0 {
        guard::refuse("the call hook never ran");
    }
}

/// Instantiation: raw wasmtime through the `Linker` and through `InstancePre`, the host core (for a module with the
/// ABI), each without its drop, which has a row of its own; and `InstancePre` in 1, 2 and 4 threads at once, each a
/// store, an instance and its drop, on workers started before the row's first batch.
fn bench_instantiation(c: &mut Criterion, p: &str, linked: &Linked, core: Option<&CoreBench>) {
    bench_custom(c, rows::INSTANTIATE_LINKER.id, Some(p), Some(SHORT), |iters| {
        ops::time_without_drop(iters, || ops::raw_instance_linker(linked))
    });
    bench_custom(c, rows::INSTANTIATE_PRE.id, Some(p), Some(SHORT), |iters| {
        ops::time_without_drop(iters, || ops::raw_instance_pre(linked))
    });
    if let Some(core) = core {
        let guest = core.host.guest();
        bench_custom(c, rows::INSTANTIATE_CORE.id, Some(p), Some(SHORT), |iters| {
            ops::time_without_drop(iters, || guest.instantiate().or_stop())
        });
    }
    bench_custom(c, rows::INSTANTIATE_DROP.id, Some(p), Some(SHORT), |iters| {
        ops::time_drops(iters, || ops::raw_instance_pre(linked))
    });
    for (row, threads) in
        [(rows::INSTANTIATE_THREADS_1, 1), (rows::INSTANTIATE_THREADS_2, 2), (rows::INSTANTIATE_THREADS_4, 4)]
    {
        ops::with_instantiating_workers(linked, threads, |batch| bench_custom(c, row.id, Some(p), Some(SHORT), batch));
    }
}

/// Compiling the module and the component, and instantiating the component through the host core: rows that need
/// nothing of the guest ABI, for any module.
fn bench_lifecycle(c: &mut Criterion, p: &str, profile: EngineProfile, engine: &Engine, subject: &Subject) {
    if let Some(wasm) = &subject.core {
        bench_timed(c, rows::COMPILE.id, Some(p), None, Some(SHORT), || raw::compile(engine, wasm).or_stop());
    }
    if let Some(wasm) = &subject.component {
        bench_timed(c, rows::COMPONENT_COMPILE.id, Some(p), None, Some(SHORT), || component_ops::compile(engine, wasm));
        if rows::COMPONENT_INSTANTIATE.measured_under(p)
            && PLAN.get().is_some_and(|plan| plan.contains(rows::COMPONENT_INSTANTIATE.id))
        {
            let linked = guard::step(&format!("linking {} under `{p}`", wasm.name), || {
                component_ops::link(profile, engine, wasm).or_stop()
            });
            bench_timed(c, rows::COMPONENT_INSTANTIATE.id, Some(p), None, Some(SHORT), || {
                linked.instantiate().or_stop()
            });
        }
    }
}

/// The exports named by `--invoke`: a core module's called typed, untyped and unchecked, a component's untyped.
/// Each is prepared (and called once) before anything is timed.
fn bench_invoke(c: &mut Criterion, p: &str, profile: EngineProfile, engine: &Engine, subject: &Subject) {
    for spec in &subject.invokes {
        let name = spec.id_name();
        let what = format!("preparing `--invoke {}` under `{p}` (instantiating, a trial call)", spec.name);
        if let Some(wasm) = &subject.core {
            let (mut store, mut call) = guard::step(&what, || {
                let linked = Linked::load(profile, engine, wasm).or_stop();
                let mut store = linked.new_store();
                let instance = linked.pre.instantiate(&mut store).or_stop();
                let call = CoreInvoke::prepare(&mut store, &instance, spec).or_stop();
                (store, call)
            });
            let row = |way| format!("invoke/{name}/{way}");
            if call.typed_unsupported().is_none() {
                bench(c, &row("typed"), Some(p), None, || call.call_typed(&mut store).or_stop());
            }
            bench(c, &row("untyped"), Some(p), None, || call.call_untyped(&mut store).or_stop());
            bench(c, &row("unchecked"), Some(p), None, || call.call_unchecked(&mut store).or_stop());
        }
        if let Some(wasm) = &subject.component {
            let (mut store, mut call) = guard::step(&what, || {
                let linked = component_ops::link(profile, engine, wasm).or_stop();
                let (mut store, instance) = linked.instantiate().or_stop();
                let call = ComponentInvoke::prepare(&mut store, &instance, spec).or_stop();
                (store, call)
            });
            bench(c, &format!("invoke/{name}/component"), Some(p), None, || call.call(&mut store).or_stop());
        }
    }
}

/// A plugin's request (`--request`): prepared and checked once under the profile, then timed whole and phase by
/// phase on one instance.
fn bench_request(c: &mut Criterion, p: &str, profile: EngineProfile, engine: &Engine, subject: &Subject) {
    let (Some(request), Some(wasm)) = (&subject.request, &subject.core) else { return };
    let what = format!("preparing the request `{}` under `{p}` (instantiating, a trial request)", request.call_text());
    let prepared =
        guard::step(&what, || PreparedRequest::new(profile, engine, wasm, request, guard::host_options()).or_stop());
    let prepared = std::cell::RefCell::new(prepared);
    bench(c, "request/whole", Some(p), None, || prepared.borrow_mut().serve().or_stop());
    for (index, (phase, _)) in rows::REQUEST_PHASES.iter().enumerate().skip(1) {
        bench_custom(c, &format!("request/{phase}"), Some(p), None, |iters| {
            let mut prepared = prepared.borrow_mut();
            (0..iters).map(|_| prepared.serve().or_stop().phases.each()[index - 1]).sum()
        });
    }
}

/// A call that traps, with and without a wasm backtrace, beside the same call returning; the host core's trap and
/// recovery, and its recovery alone. Instances of their own: a store that trapped is left as the trap left it.
fn bench_traps(c: &mut Criterion, p: &str, profile: EngineProfile, engine: &Engine, wasm: &Wasm) {
    let (mut no_backtrace, mut raw, mut core) = guard::step(&format!("setting up the trap rows under `{p}`"), || {
        let mut config = profile.config().or_stop();
        config.wasm_backtrace_max_frames(None);
        let no_backtrace = RawBench::for_wasm(profile, &profile.engine_from(&config).or_stop(), wasm);
        let raw = RawBench::for_wasm(profile, engine, wasm);
        let core = CoreBench::for_wasm(profile, engine, wasm, HostFuncStyle::Typed);
        (no_backtrace, raw, core)
    });
    let raw = &mut raw;
    // Each row measures what it says: a memory-out-of-bounds trap, with a backtrace or without.
    expect_eq("`point_add` past memory", ops::raw_point_add_trap(raw), (Trap::MemoryOutOfBounds, true));
    let trap = ops::raw_point_add_trap(&mut no_backtrace);
    expect_eq("`point_add` past memory, without backtraces", trap, (Trap::MemoryOutOfBounds, false));
    let trap = ops::core_point_add_trap_reset(&mut core);
    expect_eq("`point_add` past memory, through the host core", trap, Some(Trap::MemoryOutOfBounds));
    let short = Some(SHORT);
    bench_timed(c, rows::TRAP_RETURNS.id, Some(p), None, short, || ops::raw_point_add_returns(raw));
    bench_timed(c, rows::TRAP_BACKTRACE.id, Some(p), None, short, || ops::raw_point_add_trap(raw));
    bench_timed(c, rows::TRAP_NO_BACKTRACE.id, Some(p), None, short, || ops::raw_point_add_trap(&mut no_backtrace));
    bench_timed(c, rows::TRAP_CORE.id, Some(p), None, short, || ops::core_point_add_trap_reset(&mut core));
    bench_timed(c, rows::TRAP_RESET.id, Some(p), None, short, || ops::core_reset(&mut core));
}

fn bench_structs(c: &mut Criterion, p: &str, raw: &mut RawBench, core: &mut CoreBench) {
    bench(c, rows::POINT_ADD_MEMCPY.id, Some(p), None, || ops::raw_point_add_memcpy(raw));
    bench(c, rows::POINT_ADD_BYTEMUCK.id, Some(p), None, || ops::raw_point_add_bytemuck(raw));
    bench(c, rows::POINT_ADD_CAST.id, Some(p), None, || ops::raw_point_add_cast(raw));
    bench(c, rows::POINT_ADD_CORE.id, Some(p), None, || ops::core_point_add(core));
    bench(c, rows::POINT_RW_RAW.id, Some(p), None, || ops::raw_point_write_read(raw));
    bench(c, rows::POINT_RW_CORE.id, Some(p), None, || ops::core_point_write_read(core));
    let sum = boundary_host::guest::add_points(A, B);
    for op in [ops::raw_point_add_memcpy, ops::raw_point_add_bytemuck, ops::raw_point_add_cast] {
        expect_eq("`point_add` of two Points, raw wasmtime", op(raw), sum);
    }
    expect_eq("`point_add` of two Points, through the host core", ops::core_point_add(core), sum);

    if !core.host.guest().exports_optional(&boundary_host::guest::export::POINT_ADD_BATCH) {
        return;
    }
    let host = &mut core.host;
    let base = host.reserve(3 * MAX_BATCH * size_of::<Point>()).or_stop();
    let (a_at, b_at, out_at) = (base, base + MAX_BATCH * 8, base + 2 * MAX_BATCH * 8);
    for i in 0..MAX_BATCH {
        host.write(a_at + 8 * i, &Point::new(i as i32, -(i as i32))).or_stop();
        host.write(b_at + 8 * i, &Point::new(3 * i as i32, 7)).or_stop();
    }
    let ptr = |o: usize| u32::try_from(o).expect("reserved offsets lie in a 32-bit memory");
    for (row, _, count) in BATCH_SIZES {
        bench(c, row.id, Some(p), row.elements, || {
            host.point_add_batch(ptr(out_at), ptr(a_at), ptr(b_at), black_box(count)).or_stop()
        });
    }
}

/// The guest as a component, beside the core module's rows: typed and untyped calls, the callback round trip and
/// per callback, a record by value, and lists of 1, 64 and 4096 Points against the core module's batch with the
/// same copies in and out.
/// The core module's counterpart of a list call: two batches copied into guest memory, one `point_add_batch`, the
/// sums copied out, for 1, 64 and 4096 Points (compared with the component's list rows in the README's table).
fn bench_batch_copy(c: &mut Criterion, p: &str, core: &mut CoreBench) {
    if !core.host.guest().exports_optional(&boundary_host::guest::export::POINT_ADD_BATCH) {
        return;
    }
    let copy = &mut BatchCopy::new(core);
    for (row, (_, _, n)) in
        [rows::BATCH_COPY_1, rows::BATCH_COPY_64, rows::BATCH_COPY_4096].into_iter().zip(BATCH_SIZES)
    {
        let n = n as usize;
        bench(c, row.id, Some(p), row.elements, || component_ops::core_batch_copy(core, copy, n));
        component_ops::core_batch_copy(core, copy, n);
        expect_eq("`point_add_batch` of copied Points", &copy.out[..n], &component_ops::expected_batch(n)[..]);
    }
}

fn bench_component(c: &mut Criterion, p: &str, profile: EngineProfile, engine: &Engine, wasm: &Wasm) {
    let comp = &mut guard::step(&format!("setting up the component rows under `{p}`"), || {
        ComponentBench::for_wasm(profile, engine, wasm)
    });
    bench(c, rows::JUST_ADD_COMPONENT.id, Some(p), None, || component_ops::component_just_add(comp));
    bench(c, rows::JUST_ADD_COMPONENT_UNTYPED.id, Some(p), None, || component_ops::component_just_add_untyped(comp));
    bench(c, rows::NOP_COMPONENT.id, Some(p), None, || component_ops::component_nop(comp));
    bench(c, rows::NOP_COMPONENT_UNTYPED.id, Some(p), None, || component_ops::component_nop_untyped(comp));
    bench(c, rows::TRIGGER_COMPONENT.id, Some(p), None, || component_ops::component_trigger(comp));
    let host = &mut comp.host;
    bench_custom(c, rows::PER_CALLBACK_COMPONENT.id, Some(p), None, per_callback(|n| host.call_host_n(n).or_stop()));
    bench(c, rows::POINT_ADD_COMPONENT.id, Some(p), None, || component_ops::component_point_add(comp));
    // Every component row gives what the core module gives.
    expect_eq("the component's `just-add(15, 27)`", component_ops::component_just_add(comp), 42);
    expect_eq("the component's `just-add(15, 27)`, untyped", component_ops::component_just_add_untyped(comp), 42);
    let sum = boundary_host::guest::add_points(A, B);
    expect_eq("the component's `point-add`", component_ops::component_point_add(comp), sum);
    comp.host.state_mut().shared_value = 42;
    component_ops::component_trigger(comp);
    let state = (comp.host.state().shared_value, comp.host.state().last_logged);
    expect_eq("host state after the component's `trigger-host-calls(7)` from 42", state, (54, Some(14)));

    if !comp.host.exports_optional(boundary_host::component::export::POINT_ADD_BATCH) {
        return;
    }
    for (list_row, (_, _, n)) in [rows::LIST_1, rows::LIST_64, rows::LIST_4096].into_iter().zip(BATCH_SIZES) {
        let n = n as usize;
        bench(c, list_row.id, Some(p), list_row.elements, || component_ops::component_batch(comp, n));
        let sums: Vec<Point> = component_ops::component_batch(comp, n).into_iter().map(Point::from).collect();
        // The core batch rows check theirs against the same model (`bench_batch_copy`).
        expect_eq("the component's `point-add-batch`", sums, component_ops::expected_batch(n));
    }
}

/// The C++ host's rows (`host/cpp`, wasmtime's default configuration, so the `cranelift` column only). Each
/// measurement is one loop timed inside C++ (`iter_custom`): Rust calls into C++ once per batch of iterations, so
/// what is measured is C++ calling wasmtime.
#[cfg(feature = "cpp")]
fn bench_cpp(c: &mut Criterion, p: &str) {
    use boundary_host::GuestOutput;
    let mut host =
        CppHost::new("the quiet guest", boundary_host::guest::QUIET_WASM, false, GuestOutput::Discard).unwrap();
    let base = u32::try_from(host.reserve(3 * size_of::<Point>()).unwrap()).unwrap();
    for (row, which) in [
        (rows::JUST_ADD_CPP_TYPED, CppLoop::TypedCall),
        (rows::JUST_ADD_CPP_UNTYPED, CppLoop::UntypedCall),
        (rows::JUST_ADD_CPP_LOOKUP, CppLoop::LookupPerCall),
        (rows::TRIGGER_CPP, CppLoop::TriggerHostCalls),
        (rows::POINT_ADD_CPP, CppLoop::PointAdd),
    ] {
        bench_custom(c, row.id, Some(p), None, |iters| host.time(which, iters, base).or_stop());
    }
    // One more Point round trip leaves its sum in guest memory: check it, as the Rust rows check theirs.
    host.time(CppLoop::PointAdd, 1, base).or_stop();
    let mut out = Point::default();
    host.read_bytes(base as usize + 16, bytemuck::bytes_of_mut(&mut out)).or_stop();
    expect_eq("the C++ host's Point round trip", out, boundary_host::guest::add_points(A, B));
}

pub(super) fn bench_profile(c: &mut Criterion, profile: EngineProfile, subject: &Subject, serves: &Serves) {
    let p = profile.name();
    let engine = profile.engine().or_stop();
    let abi = serves.check(Needs::Abi).is_ok();
    let mut core = None;
    if let (Some(wasm), true) = (&subject.core, abi) {
        let setup = format!("setting up the ABI rows under `{p}` (compiling and instantiating {})", wasm.name);
        let (mut raw, mut with_abi, mut callbacks) = guard::step(&setup, || {
            let raw = RawBench::for_wasm(profile, &engine, wasm);
            let with_abi = CoreBench::for_wasm(profile, &engine, wasm, HostFuncStyle::Typed);
            let style = |s| CoreBench::for_wasm(profile, &engine, wasm, s);
            let callbacks = Callbacks {
                untyped: style(HostFuncStyle::Untyped),
                unchecked: style(HostFuncStyle::Unchecked),
                asynchronous: style(HostFuncStyle::Async),
                hooked: CoreBench::with_hook(profile, &engine, wasm),
            };
            (raw, with_abi, callbacks)
        });
        bench_calls(c, p, &mut raw, &mut with_abi, &mut callbacks.hooked);
        bench_async(c, p, &mut raw, &mut with_abi);
        bench_callbacks(c, p, &mut raw, &mut with_abi, &mut callbacks);
        if rows::TRAP_PROFILES.contains(&p) && serves.check(Needs::Trap).is_ok() {
            bench_traps(c, p, profile, &engine, wasm);
        }
        bench_structs(c, p, &mut raw, &mut with_abi);
        bench_batch_copy(c, p, &mut with_abi);
        core = Some(with_abi);
    }
    let instantiates = rows::INSTANTIATION_PROFILES.contains(&p) && serves.check(Needs::Module).is_ok();
    if let (Some(wasm), true) = (&subject.core, instantiates) {
        let linked = guard::step(&format!("compiling {} under `{p}`", wasm.name), || {
            Linked::load(profile, &engine, wasm).or_stop()
        });
        bench_instantiation(c, p, &linked, core.as_ref());
    }
    if let (Some(wasm), true) = (&subject.component, serves.check(Needs::World).is_ok()) {
        bench_component(c, p, profile, &engine, wasm);
    }
    bench_lifecycle(c, p, profile, &engine, subject);
    bench_invoke(c, p, profile, &engine, subject);
    bench_request(c, p, profile, &engine, subject);
    #[cfg(feature = "cpp")]
    if profile == EngineProfile::Cranelift && subject.is_built_in() {
        bench_cpp(c, p);
    }
}

/// The rows planned for this process's module: [`bench_timed`] registers no other.
pub(super) static PLAN: OnceLock<HashSet<String>> = OnceLock::new();
/// Every row and profile [`bench_timed`] registered (whether or not criterion's filter then runs it).
static REGISTERED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// A row planned for a profile but registered by no `bench` call is a missed step in adding a row (see
/// benches/README.md, "Extending"): it would stop every complete run from writing `results/`. Every run checks it,
/// `cargo test --benches` (CI) included, and names what to add.
pub(super) fn every_planned_row_registered(planned: &[Row], profiles: &[EngineProfile]) -> Result<(), String> {
    let registered = REGISTERED.lock().unwrap_or_else(PoisonError::into_inner);
    let missing: Vec<String> = planned
        .iter()
        .flat_map(|row| profiles.iter().filter(|p| row.measured_under(p.name())).map(move |p| (row, p)))
        // An `--invoke` export's typed row is planned, and left out when the typed path does not cover it.
        .filter(|(row, _)| !(row.id.starts_with("invoke/") && row.id.ends_with("/typed")))
        .map(|(row, p)| rows::criterion_id(row.id, p.name()))
        .filter(|id| !registered.contains(id))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{} planned benchmark(s) were never registered: {}; each row of `rows::PROFILED` needs a `bench(...)` call \
         in benches/matrix.rs (see benches/README.md, \"Extending\")",
        missing.len(),
        missing.iter().take(8).cloned().collect::<Vec<_>>().join(", ")
    ))
}
