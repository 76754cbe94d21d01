//! `cargo bench`: the criterion matrix of host <-> guest crossings under every engine profile.
//!
//! Rows and their ids are in `benches/src/rows.rs`; ids are slash paths, so `cargo bench -- calls/nop` or
//! `cargo bench -- /winch` picks a family or a profile. A complete run (no filter, not `--quick`) writes its
//! summary to `results/<date>/`; every run writes one to `target/boundary-results/latest/`.
//!
//! Every export lookup, instantiation and memory reservation happens before the timed closures.

use boundary_benches::component_ops::{self, BatchCopy, ComponentBench};
use boundary_benches::environment::{self, Environment};
use boundary_benches::invoke::{ComponentInvoke, CoreInvoke};
use boundary_benches::native::{self, NativeHost};
use boundary_benches::ops::{self, A, B, CoreBench, RawBench};
use boundary_benches::overhead;
use boundary_benches::raw::{self, Linked, PointSlots};
use boundary_benches::report::{self, Summary};
use boundary_benches::rows::{self, Row};
use boundary_benches::subject::{self, ModuleArgs, Needs, Prepared, Serves, Subject, Wasm};
#[cfg(feature = "cpp")]
use boundary_cpp_host::{CppHost, CppLoop};
#[cfg(feature = "cpp")]
use boundary_host::patterns::PatternHost;
use boundary_host::wasmtime::{Engine, Trap};
use boundary_host::{EngineProfile, HostFuncStyle, Point, WasmHost};
use criterion::{Bencher, BenchmarkId, Criterion, Throughput};
use futures::executor::block_on;
use std::collections::{BTreeSet, HashSet};
use std::hint::black_box;
use std::io::Write as _;
use std::process::{Command, ExitCode, Stdio};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant, SystemTime};
/// Guest calls per `call_host_n` in the per-callback rows are at most this many; each chunk's entry cost is
/// measured right after it and subtracted.
const CALLBACK_CHUNK: u64 = 1 << 20;
const BATCH_SIZES: [(Row, &str, u32); 3] = [
    (rows::BATCH_1, rows::native::BATCH_1, 1),
    (rows::BATCH_64, rows::native::BATCH_64, 64),
    (rows::BATCH_4096, rows::native::BATCH_4096, 4096),
];
const MAX_BATCH: usize = 4096;

/// How this process was asked to run, read from the arguments cargo and the user passed.
struct RunArgs {
    measuring: bool,
    quick: bool,
    /// The user's filters (criterion's positional arguments).
    filters: Vec<String>,
    /// `--ignored`, which filters too.
    ignored: bool,
    command: String,
}

impl RunArgs {
    fn parse() -> Self {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let has = |flag: &str| args.iter().any(|a| a == flag);
        // Options of criterion's command line that take a value, so their values are not read as filters.
        const VALUED: &[&str] = &[
            "--color",
            "--save-baseline",
            "--baseline",
            "--baseline-lenient",
            "--load-baseline",
            "--format",
            "--profile-time",
            "--sample-size",
            "--warm-up-time",
            "--measurement-time",
            "--nresamples",
            "--noise-threshold",
            "--confidence-level",
            "--significance-level",
            "--plotting-backend",
            "--output-format",
            "-c",
            "-s",
            "-b",
        ];
        let mut filters = Vec::new();
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            if VALUED.contains(&arg.as_str()) {
                iter.next();
            } else if !arg.starts_with('-') {
                filters.push(arg.clone());
            }
        }
        let user_args: Vec<&str> = args.iter().map(String::as_str).filter(|a| *a != "--bench").collect();
        let base = if cfg!(feature = "cpp") { "cargo bench --features cpp" } else { "cargo bench" };
        let command =
            if user_args.is_empty() { base.to_string() } else { format!("{base} -- {}", user_args.join(" ")) };
        RunArgs {
            // Criterion measures only when cargo passed `--bench` and nobody asked for `--test` or `--list`.
            measuring: has("--bench") && !has("--test") && !has("--list") && !has("--profile-time"),
            quick: has("--quick"),
            filters,
            ignored: has("--ignored"),
            command,
        }
    }
}

/// Registers one benchmark under its row id (and profile), in a group named by the id's first segment.
fn bench(c: &mut Criterion, row_id: &str, profile: Option<&str>, elements: Option<u64>, f: impl FnMut(&mut Bencher)) {
    bench_timed(c, row_id, profile, elements, None, f)
}

/// Warm-up and measurement of the rows whose iteration takes microseconds (instantiation, traps): enough samples
/// in less time, which keeps a complete run within its budget.
const SHORT: (Duration, Duration) = (Duration::from_millis(300), Duration::from_millis(700));

/// [`bench`], with the group's warm-up and measurement times set if `timing` is given.
fn bench_timed(
    c: &mut Criterion,
    row_id: &str,
    profile: Option<&str>,
    elements: Option<u64>,
    timing: Option<(Duration, Duration)>,
    f: impl FnMut(&mut Bencher),
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
    match profile {
        Some(p) => group.bench_function(BenchmarkId::new(rest, p), f),
        None => group.bench_function(rest, f),
    };
    group.finish();
}

fn bench_natives(c: &mut Criterion) {
    use rows::native as n;
    bench(c, n::JUST_ADD, None, None, |b| b.iter(|| native::just_add(black_box(15), black_box(27))));
    bench(c, n::NOP, None, None, |b| b.iter(native::nop));
    let (mut host, mut shared) = (NativeHost::default(), 42);
    bench(c, n::TRIGGER_HOST_CALLS, None, None, |b| {
        b.iter(|| native::trigger_host_calls(black_box(&mut host), black_box(&mut shared), black_box(7)))
    });
    bench(c, n::HOST_LOG_VALUE, None, None, |b| b.iter(|| native::log_value(black_box(&mut host), black_box(7))));
    let mut memory = [0u8; 64];
    let slots = PointSlots::at(8);
    bench(c, n::POINT_ADD, None, None, |b| {
        b.iter(|| {
            let memory = black_box(&mut memory[..]);
            memory[slots.a..slots.a + 8].copy_from_slice(bytemuck::bytes_of(&black_box(A)));
            memory[slots.b..slots.b + 8].copy_from_slice(bytemuck::bytes_of(&black_box(B)));
            native::point_add_in(memory, slots.out, slots.a, slots.b);
            bytemuck::pod_read_unaligned::<Point>(&memory[slots.out..slots.out + 8])
        })
    });
    bench(c, n::POINT_WRITE_READ, None, None, |b| {
        b.iter(|| {
            let memory = black_box(&mut memory[..]);
            memory[slots.a..slots.a + 8].copy_from_slice(bytemuck::bytes_of(&black_box(A)));
            bytemuck::pod_read_unaligned::<Point>(&memory[slots.a..slots.a + 8])
        })
    });
    let a: Vec<Point> = (0..MAX_BATCH as i32).map(|i| Point::new(i, -i)).collect();
    let bs: Vec<Point> = (0..MAX_BATCH as i32).map(|i| Point::new(3 * i, 7)).collect();
    let mut out = vec![Point::default(); MAX_BATCH];
    for (_, native_id, count) in BATCH_SIZES {
        let count = count as usize;
        bench(c, native_id, None, Some(count as u64), |b| {
            b.iter(|| {
                native::point_add_batch(black_box(&mut out[..count]), black_box(&a[..count]), black_box(&bs[..count]))
            })
        });
    }
}

fn bench_calls(c: &mut Criterion, p: &str, raw: &mut RawBench, core: &mut CoreBench, hooked: &mut CoreBench) {
    bench(c, rows::JUST_ADD_TYPED.id, Some(p), None, |b| b.iter(|| ops::raw_just_add(raw)));
    bench(c, rows::JUST_ADD_UNTYPED.id, Some(p), None, |b| b.iter(|| ops::raw_just_add_untyped(raw)));
    bench(c, rows::JUST_ADD_UNCHECKED.id, Some(p), None, |b| b.iter(|| ops::raw_just_add_unchecked(raw)));
    bench(c, rows::JUST_ADD_CORE.id, Some(p), None, |b| b.iter(|| ops::core_just_add(core)));
    bench(c, rows::NOP_TYPED.id, Some(p), None, |b| b.iter(|| ops::raw_nop(raw)));
    bench(c, rows::NOP_UNTYPED.id, Some(p), None, |b| b.iter(|| ops::raw_nop_untyped(raw)));
    bench(c, rows::NOP_UNCHECKED.id, Some(p), None, |b| b.iter(|| ops::raw_nop_unchecked(raw)));
    bench(c, rows::NOP_CORE.id, Some(p), None, |b| b.iter(|| ops::core_nop(core)));
    bench(c, rows::JUST_ADD_HOOK.id, Some(p), None, |b| b.iter(|| ops::core_just_add(hooked)));
}

/// Async calls into the guest, each run to completion by `futures::executor::block_on`.
fn bench_async(c: &mut Criterion, p: &str, raw: &mut RawBench, core: &mut CoreBench) {
    bench(c, rows::JUST_ADD_ASYNC_TYPED.id, Some(p), None, |b| b.iter(|| ops::raw_just_add_async(raw)));
    bench(c, rows::JUST_ADD_ASYNC_UNTYPED.id, Some(p), None, |b| b.iter(|| ops::raw_just_add_async_untyped(raw)));
    bench(c, rows::JUST_ADD_ASYNC_CORE.id, Some(p), None, |b| b.iter(|| ops::core_just_add_async(core)));
    assert_eq!(ops::raw_just_add_async(raw), 42);
    assert_eq!(ops::raw_just_add_async_untyped(raw), 42);
    assert_eq!(ops::core_just_add_async(core), 42);
}

/// One measured iteration is one guest -> host call: `iters` calls are made by as few `call_host_n` calls as
/// fit (`call(n)` makes one), and each chunk's entry cost (a `call_host_n(0)` right after it) is subtracted.
fn per_callback(mut call: impl FnMut(u32)) -> impl FnMut(&mut Bencher) {
    move |b| {
        b.iter_custom(|iters| {
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
        })
    }
}

fn sync_callbacks(host: &mut WasmHost) -> impl FnMut(u32) + '_ {
    move |n| host.call_host_n(n).unwrap()
}

/// The host cores whose host functions are defined each way.
struct Callbacks {
    untyped: CoreBench,
    unchecked: CoreBench,
    asynchronous: CoreBench,
    hooked: CoreBench,
}

fn bench_callbacks(c: &mut Criterion, p: &str, raw: &mut RawBench, core: &mut CoreBench, hosts: &mut Callbacks) {
    bench(c, rows::TRIGGER_RAW.id, Some(p), None, |b| b.iter(|| ops::raw_trigger(raw)));
    bench(c, rows::TRIGGER_CORE.id, Some(p), None, |b| b.iter(|| ops::core_trigger(core)));
    bench(c, rows::TRIGGER_ASYNC.id, Some(p), None, |b| b.iter(|| ops::core_trigger_async(&mut hosts.asynchronous)));
    bench(c, rows::TRIGGER_HOOK.id, Some(p), None, |b| b.iter(|| ops::core_trigger(&mut hosts.hooked)));
    bench(c, rows::PER_CALLBACK_TYPED.id, Some(p), None, per_callback(sync_callbacks(&mut core.host)));
    bench(c, rows::PER_CALLBACK_UNTYPED.id, Some(p), None, per_callback(sync_callbacks(&mut hosts.untyped.host)));
    bench(c, rows::PER_CALLBACK_UNCHECKED.id, Some(p), None, per_callback(sync_callbacks(&mut hosts.unchecked.host)));
    bench(c, rows::PER_CALLBACK_HOOK.id, Some(p), None, per_callback(sync_callbacks(&mut hosts.hooked.host)));
    let asynchronous = &mut hosts.asynchronous.host;
    bench(
        c,
        rows::PER_CALLBACK_ASYNC.id,
        Some(p),
        None,
        per_callback(|n| block_on(asynchronous.call_host_n_async(n)).unwrap()),
    );
    // Each way of defining the host functions gives the guest the same host state.
    for host in [&mut hosts.untyped, &mut hosts.unchecked, &mut hosts.hooked] {
        host.host.state_mut().shared_value = 42;
        ops::core_trigger(host);
        assert_eq!((host.host.state().shared_value, host.host.state().last_logged), (54, Some(14)));
    }
    hosts.asynchronous.host.state_mut().shared_value = 42;
    ops::core_trigger_async(&mut hosts.asynchronous);
    assert_eq!(hosts.asynchronous.host.state().shared_value, 54);
    assert!(hosts.hooked.host.state().hook_calls > 0, "the call hook never ran");
}

/// Instantiation: raw wasmtime through the `Linker` and through `InstancePre`, the host core (for a module with the
/// ABI), and `InstancePre` in 1, 2 and 4 threads at once.
fn bench_instantiation(c: &mut Criterion, p: &str, linked: &Linked, core: Option<&CoreBench>) {
    bench_timed(c, rows::INSTANTIATE_LINKER.id, Some(p), None, Some(SHORT), |b| {
        b.iter(|| ops::raw_instantiate_linker(linked))
    });
    bench_timed(c, rows::INSTANTIATE_PRE.id, Some(p), None, Some(SHORT), |b| {
        b.iter(|| ops::raw_instantiate_pre(linked))
    });
    if let Some(core) = core {
        let guest = core.host.guest();
        bench_timed(c, rows::INSTANTIATE_CORE.id, Some(p), None, Some(SHORT), |b| {
            b.iter(|| ops::core_instantiate(guest))
        });
    }
    for (row, threads) in
        [(rows::INSTANTIATE_THREADS_1, 1), (rows::INSTANTIATE_THREADS_2, 2), (rows::INSTANTIATE_THREADS_4, 4)]
    {
        bench_timed(c, row.id, Some(p), None, Some(SHORT), |b| {
            b.iter_custom(|iters| ops::instantiate_in_threads(linked, threads, iters))
        });
    }
}

/// Compiling the module and the component, and instantiating the component through the host core: rows that need
/// nothing of the guest ABI, for any module.
fn bench_lifecycle(c: &mut Criterion, p: &str, profile: EngineProfile, engine: &Engine, subject: &Subject) {
    if let Some(wasm) = &subject.core {
        bench_timed(c, rows::COMPILE.id, Some(p), None, Some(SHORT), |b| {
            b.iter(|| raw::compile(engine, wasm).unwrap_or_else(|e| panic!("{e}")))
        });
    }
    if let Some(wasm) = &subject.component {
        bench_timed(c, rows::COMPONENT_COMPILE.id, Some(p), None, Some(SHORT), |b| {
            b.iter(|| component_ops::compile(engine, wasm))
        });
        if rows::COMPONENT_INSTANTIATE.measured_under(p)
            && PLAN.get().is_some_and(|plan| plan.contains(rows::COMPONENT_INSTANTIATE.id))
        {
            let linked = component_ops::link(profile, engine, wasm).unwrap_or_else(|e| panic!("{e}"));
            bench_timed(c, rows::COMPONENT_INSTANTIATE.id, Some(p), None, Some(SHORT), |b| {
                b.iter(|| linked.instantiate().unwrap_or_else(|e| panic!("{e}")))
            });
        }
    }
}

/// The exports named by `--invoke`: a core module's called typed, untyped and unchecked, a component's untyped.
/// Each is prepared (and called once) before anything is timed.
fn bench_invoke(c: &mut Criterion, p: &str, profile: EngineProfile, engine: &Engine, subject: &Subject) {
    for spec in &subject.invokes {
        let name = spec.id_name();
        if let Some(wasm) = &subject.core {
            let linked = Linked::load(profile, engine, wasm).unwrap_or_else(|e| panic!("{e}"));
            let mut store = raw::new_store(engine, profile);
            let instance = linked.pre.instantiate(&mut store).unwrap_or_else(|e| panic!("{e:#}"));
            let mut call = CoreInvoke::prepare(&mut store, &instance, spec).unwrap_or_else(|e| panic!("{e}"));
            let row = |way| format!("invoke/{name}/{way}");
            if call.typed_unsupported().is_none() {
                bench(c, &row("typed"), Some(p), None, |b| b.iter(|| call.call_typed(&mut store).unwrap()));
            }
            bench(c, &row("untyped"), Some(p), None, |b| b.iter(|| call.call_untyped(&mut store).unwrap()));
            bench(c, &row("unchecked"), Some(p), None, |b| b.iter(|| call.call_unchecked(&mut store).unwrap()));
        }
        if let Some(wasm) = &subject.component {
            let linked = component_ops::link(profile, engine, wasm).unwrap_or_else(|e| panic!("{e}"));
            let (mut store, instance) = linked.instantiate().unwrap_or_else(|e| panic!("{e}"));
            let mut call = ComponentInvoke::prepare(&mut store, &instance, spec).unwrap_or_else(|e| panic!("{e}"));
            bench(c, &format!("invoke/{name}/component"), Some(p), None, |b| b.iter(|| call.call(&mut store).unwrap()));
        }
    }
}

/// A call that traps, with and without a wasm backtrace, beside the same call returning; the host core's trap and
/// recovery, and its recovery alone. Instances of their own: a store that trapped is left as the trap left it.
fn bench_traps(c: &mut Criterion, p: &str, profile: EngineProfile, engine: &Engine, wasm: &Wasm) {
    let mut config = profile.config().unwrap_or_else(|e| panic!("{e}"));
    config.wasm_backtrace_max_frames(None);
    let mut no_backtrace = RawBench::for_wasm(profile, &profile.engine_from(&config).unwrap(), wasm);
    let raw = &mut RawBench::for_wasm(profile, engine, wasm);
    let mut core = CoreBench::for_wasm(profile, engine, wasm, HostFuncStyle::Typed);
    // Each row measures what it says: a memory-out-of-bounds trap, with a backtrace or without.
    assert_eq!(ops::raw_point_add_trap(raw), (Trap::MemoryOutOfBounds, true));
    assert_eq!(ops::raw_point_add_trap(&mut no_backtrace), (Trap::MemoryOutOfBounds, false));
    assert_eq!(ops::core_point_add_trap_reset(&mut core), Some(Trap::MemoryOutOfBounds));
    let short = Some(SHORT);
    bench_timed(c, rows::TRAP_RETURNS.id, Some(p), None, short, |b| b.iter(|| ops::raw_point_add_returns(raw)));
    bench_timed(c, rows::TRAP_BACKTRACE.id, Some(p), None, short, |b| b.iter(|| ops::raw_point_add_trap(raw)));
    bench_timed(c, rows::TRAP_NO_BACKTRACE.id, Some(p), None, short, |b| {
        b.iter(|| ops::raw_point_add_trap(&mut no_backtrace))
    });
    bench_timed(c, rows::TRAP_CORE.id, Some(p), None, short, |b| b.iter(|| ops::core_point_add_trap_reset(&mut core)));
    bench_timed(c, rows::TRAP_RESET.id, Some(p), None, short, |b| b.iter(|| ops::core_reset(&mut core)));
}

fn bench_structs(c: &mut Criterion, p: &str, raw: &mut RawBench, core: &mut CoreBench) {
    bench(c, rows::POINT_ADD_MEMCPY.id, Some(p), None, |b| b.iter(|| ops::raw_point_add_memcpy(raw)));
    bench(c, rows::POINT_ADD_BYTEMUCK.id, Some(p), None, |b| b.iter(|| ops::raw_point_add_bytemuck(raw)));
    bench(c, rows::POINT_ADD_CAST.id, Some(p), None, |b| b.iter(|| ops::raw_point_add_cast(raw)));
    bench(c, rows::POINT_ADD_CORE.id, Some(p), None, |b| b.iter(|| ops::core_point_add(core)));
    bench(c, rows::POINT_RW_RAW.id, Some(p), None, |b| b.iter(|| ops::raw_point_write_read(raw)));
    bench(c, rows::POINT_RW_CORE.id, Some(p), None, |b| b.iter(|| ops::core_point_write_read(core)));
    for op in [ops::raw_point_add_memcpy, ops::raw_point_add_bytemuck, ops::raw_point_add_cast] {
        assert_eq!(op(raw), boundary_host::guest::add_points(A, B), "a raw round trip gave a wrong sum");
    }
    assert_eq!(ops::core_point_add(core), boundary_host::guest::add_points(A, B));

    let host = &mut core.host;
    let base = host.reserve(3 * MAX_BATCH * size_of::<Point>()).unwrap();
    let (a_at, b_at, out_at) = (base, base + MAX_BATCH * 8, base + 2 * MAX_BATCH * 8);
    for i in 0..MAX_BATCH {
        host.write(a_at + 8 * i, &Point::new(i as i32, -(i as i32))).unwrap();
        host.write(b_at + 8 * i, &Point::new(3 * i as i32, 7)).unwrap();
    }
    let ptr = |o: usize| u32::try_from(o).unwrap();
    for (row, _, count) in BATCH_SIZES {
        bench(c, row.id, Some(p), row.elements, |b| {
            b.iter(|| host.point_add_batch(ptr(out_at), ptr(a_at), ptr(b_at), black_box(count)).unwrap())
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
        bench(c, row.id, Some(p), row.elements, |b| b.iter(|| component_ops::core_batch_copy(core, copy, n)));
        component_ops::core_batch_copy(core, copy, n);
        assert_eq!(copy.out[..n], component_ops::expected_batch(n), "the core batch gave wrong sums ({n} Points)");
    }
}

fn bench_component(c: &mut Criterion, p: &str, profile: EngineProfile, engine: &Engine, wasm: &Wasm) {
    let comp = &mut ComponentBench::for_wasm(profile, engine, wasm);
    bench(c, rows::JUST_ADD_COMPONENT.id, Some(p), None, |b| b.iter(|| component_ops::component_just_add(comp)));
    bench(c, rows::JUST_ADD_COMPONENT_UNTYPED.id, Some(p), None, |b| {
        b.iter(|| component_ops::component_just_add_untyped(comp))
    });
    bench(c, rows::NOP_COMPONENT.id, Some(p), None, |b| b.iter(|| component_ops::component_nop(comp)));
    bench(c, rows::NOP_COMPONENT_UNTYPED.id, Some(p), None, |b| b.iter(|| component_ops::component_nop_untyped(comp)));
    bench(c, rows::TRIGGER_COMPONENT.id, Some(p), None, |b| b.iter(|| component_ops::component_trigger(comp)));
    let host = &mut comp.host;
    bench(c, rows::PER_CALLBACK_COMPONENT.id, Some(p), None, per_callback(|n| host.call_host_n(n).unwrap()));
    bench(c, rows::POINT_ADD_COMPONENT.id, Some(p), None, |b| b.iter(|| component_ops::component_point_add(comp)));
    // Every component row gives what the core module gives.
    assert_eq!(component_ops::component_just_add(comp), 42);
    assert_eq!(component_ops::component_just_add_untyped(comp), 42);
    assert_eq!(component_ops::component_point_add(comp), boundary_host::guest::add_points(A, B));
    comp.host.state_mut().shared_value = 42;
    component_ops::component_trigger(comp);
    assert_eq!((comp.host.state().shared_value, comp.host.state().last_logged), (54, Some(14)));

    for (list_row, (_, _, n)) in [rows::LIST_1, rows::LIST_64, rows::LIST_4096].into_iter().zip(BATCH_SIZES) {
        let n = n as usize;
        bench(c, list_row.id, Some(p), list_row.elements, |b| b.iter(|| component_ops::component_batch(comp, n)));
        let sums: Vec<Point> = component_ops::component_batch(comp, n).into_iter().map(Point::from).collect();
        // The core batch rows check theirs against the same model (`bench_batch_copy`).
        assert_eq!(sums, component_ops::expected_batch(n), "the component's list gave wrong sums ({n} Points)");
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
        bench(c, row.id, Some(p), None, |b| b.iter_custom(|iters| host.time(which, iters, base).unwrap()));
    }
    // One more Point round trip leaves its sum in guest memory: check it, as the Rust rows check theirs.
    host.time(CppLoop::PointAdd, 1, base).unwrap();
    let mut out = Point::default();
    host.read_bytes(base as usize + 16, bytemuck::bytes_of_mut(&mut out)).unwrap();
    assert_eq!(out, boundary_host::guest::add_points(A, B), "the C++ round trip gave a wrong sum");
}

fn bench_profile(c: &mut Criterion, profile: EngineProfile, subject: &Subject, serves: &Serves) {
    let p = profile.name();
    let engine = profile.engine().unwrap_or_else(|e| panic!("{e}"));
    let abi = serves.check(Needs::Abi).is_ok();
    let mut core = None;
    if let (Some(wasm), true) = (&subject.core, abi) {
        let mut raw = RawBench::for_wasm(profile, &engine, wasm);
        let mut with_abi = CoreBench::for_wasm(profile, &engine, wasm, HostFuncStyle::Typed);
        let style = |s| CoreBench::for_wasm(profile, &engine, wasm, s);
        let mut callbacks = Callbacks {
            untyped: style(HostFuncStyle::Untyped),
            unchecked: style(HostFuncStyle::Unchecked),
            asynchronous: style(HostFuncStyle::Async),
            hooked: CoreBench::with_hook(profile, &engine, wasm),
        };
        bench_calls(c, p, &mut raw, &mut with_abi, &mut callbacks.hooked);
        bench_async(c, p, &mut raw, &mut with_abi);
        bench_callbacks(c, p, &mut raw, &mut with_abi, &mut callbacks);
        if rows::TRAP_PROFILES.contains(&p) {
            bench_traps(c, p, profile, &engine, wasm);
        }
        bench_structs(c, p, &mut raw, &mut with_abi);
        bench_batch_copy(c, p, &mut with_abi);
        core = Some(with_abi);
    }
    let instantiates = rows::INSTANTIATION_PROFILES.contains(&p) && serves.check(Needs::Module).is_ok();
    if let (Some(wasm), true) = (&subject.core, instantiates) {
        let linked = Linked::load(profile, &engine, wasm).unwrap_or_else(|e| panic!("{e}"));
        bench_instantiation(c, p, &linked, core.as_ref());
    }
    if let (Some(wasm), true) = (&subject.component, serves.check(Needs::World).is_ok()) {
        bench_component(c, p, profile, &engine, wasm);
    }
    bench_lifecycle(c, p, profile, &engine, subject);
    bench_invoke(c, p, profile, &engine, subject);
    #[cfg(feature = "cpp")]
    if profile == EngineProfile::Cranelift && subject.is_built_in() {
        bench_cpp(c, p);
    }
}

/// The argument that makes this executable a child of the overhead check (see `benches/src/overhead.rs`).
const OVERHEAD_CHILD: &str = "--overhead-child";

/// The child: measures every pair under every profile and prints the samples as JSON lines on stdout.
fn overhead_child() -> ExitCode {
    let mut out = std::io::stdout().lock();
    for &profile in EngineProfile::ALL {
        for sample in overhead::measure(profile) {
            let line = serde_json::to_string(&sample).expect("a sample is plain numbers and strings");
            if writeln!(out, "{line}").is_err() {
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

/// The host core against raw wasmtime, pair by pair, in [`overhead::PROCESSES`] child processes.
fn overhead_checks() -> Result<Vec<overhead::OverheadCheck>, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
    let mut samples = Vec::new();
    for process in 1..=overhead::PROCESSES {
        let started = Instant::now();
        let output = Command::new(&exe)
            .arg(OVERHEAD_CHILD)
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
        if !output.status.success() {
            return Err(format!("measuring process {process} failed ({})", output.status));
        }
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            let sample: overhead::Sample = serde_json::from_str(line)
                .map_err(|e| format!("measuring process {process} printed `{line}`, not a sample: {e}"))?;
            samples.push(sample);
        }
        println!(
            "process {process} of {}: {} profiles x {} pairs x {} placements in {:.1} s",
            overhead::PROCESSES,
            EngineProfile::ALL.len(),
            overhead::PAIRS.len(),
            overhead::PLACEMENTS,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(overhead::summarise(&EngineProfile::names(), &samples))
}

/// The argument that rewrites `results/README.md` and the top-level README's latest-results block from the
/// committed runs, measuring nothing: `cargo bench --bench matrix -- --reindex`.
const REINDEX: &str = "--reindex";

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some(OVERHEAD_CHILD) {
        return overhead_child();
    }
    if std::env::args().any(|a| a == REINDEX) {
        let workspace = boundary_benches::workspace_root();
        let results = workspace.join("results");
        let done = report::write_index(&results)
            .and_then(|()| report::write_readme_block(&workspace.join("README.md"), &results));
        return match done {
            Ok(()) => {
                println!("rewrote {} and the latest-results block of README.md", results.join("README.md").display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: rewriting the results index failed: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let args = RunArgs::parse();
    let module_args = match take_module_args() {
        Ok(Taken::Reexec(code)) => return code,
        Ok(Taken::Here(module_args)) => module_args,
        Err(e) => {
            eprintln!("error: {}", boundary_host::escape_controls(&e));
            return ExitCode::from(2);
        }
    };
    if !cfg!(feature = "cpp") && args.filters.iter().any(|f| f.contains("cpp")) {
        eprintln!(
            "error: this build has no C++ host rows: run `cargo bench --features cpp -- {}` (the C++ host needs \
             cmake and a C++17 compiler; see README)",
            args.filters.join(" ")
        );
        return ExitCode::from(2);
    }
    let prepared = module_args.subject().and_then(|subject| subject::prepare(&subject).map(|p| (subject, p)));
    let (subject, Prepared { serves, .. }) = match prepared {
        Ok(prepared) => prepared,
        Err(e) => {
            eprintln!("error: {}", boundary_host::escape_controls(&e));
            return ExitCode::from(2);
        }
    };
    let profiles = module_args.profiles_or_all();
    let (planned, skipped) = rows::for_subject(&subject, &serves, cfg!(feature = "cpp"));
    let _ = PLAN.set(planned.iter().map(|row| row.id.to_string()).collect());
    if !subject.is_built_in() {
        println!("measuring {}", subject.describe());
        for s in &skipped {
            println!("skipped: {} ({})", s.id, s.why);
        }
    }
    let criterion_dir = boundary_benches::target_dir().join("criterion");
    let started = SystemTime::now();
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(700))
        .measurement_time(Duration::from_millis(1500))
        .sample_size(50)
        .output_directory(&criterion_dir)
        .configure_from_args();

    bench_natives(&mut c);
    for &profile in &profiles {
        if args.measuring {
            println!("\n--- engine profile `{profile}`: {}", profile.summary());
        }
        bench_profile(&mut c, profile, &subject, &serves);
    }
    c.final_summary();
    if let Err(e) = every_planned_row_registered(&planned, &profiles) {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    if args.measuring {
        let checks = if subject.is_built_in() {
            println!(
                "\n--- host core against raw wasmtime, interleaved, in {} processes of {} placements each",
                overhead::PROCESSES,
                overhead::PLACEMENTS
            );
            match overhead_checks() {
                Ok(checks) => checks,
                Err(e) => {
                    eprintln!("error: the host-core-against-raw check failed: {e}");
                    return ExitCode::FAILURE;
                }
            }
        } else {
            Vec::new()
        };
        for check in &checks {
            println!(
                "{:<16}{:<34} {:+6.1}% (range {:+.1}% .. {:+.1}% over {})",
                check.profile,
                check.core_row,
                check.overhead * 100.0,
                check.lowest * 100.0,
                check.highest * 100.0,
                check.measurements
            );
        }
        let run = Run { args: &args, subject: &subject, profiles: &profiles, planned: &planned, skipped: &skipped };
        if let Err(e) = finish(&run, &criterion_dir, started, checks) {
            eprintln!("error: writing the results summary failed: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

/// The rows planned for this process's module: [`bench_timed`] registers no other.
static PLAN: OnceLock<HashSet<String>> = OnceLock::new();
/// Every row and profile [`bench_timed`] registered (whether or not criterion's filter then runs it).
static REGISTERED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// A row planned for a profile but registered by no `bench` call is a missed step in adding a row (see
/// benches/README.md, "Extending"): it would stop every complete run from writing `results/`. Every run checks it,
/// `cargo test --benches` (CI) included, and names what to add.
fn every_planned_row_registered(planned: &[Row], profiles: &[EngineProfile]) -> Result<(), String> {
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

/// The environment variable that carries this matrix's own options (`--wasm`, `--abi`, `--invoke`, `--profile`) to
/// the process that runs criterion, whose command line must hold criterion's options alone.
const SUBJECT_VAR: &str = "BOUNDARY_BENCH_SUBJECT";

/// What [`take_module_args`] did: this process goes on with them, or it ran a child with them and has its status.
enum Taken {
    Here(ModuleArgs),
    Reexec(ExitCode),
}

/// Takes the module options ([`ModuleArgs`]) out of the command line. criterion refuses options it does not know,
/// so when there are any, this process runs itself again with criterion's options alone and the module options in
/// [`SUBJECT_VAR`], and returns the child's exit status.
fn take_module_args() -> Result<Taken, String> {
    if let Ok(own) = std::env::var(SUBJECT_VAR) {
        let own: Vec<String> = serde_json::from_str(&own).map_err(|e| format!("{SUBJECT_VAR}: {e}"))?;
        return ModuleArgs::parse(&own).map(Taken::Here);
    }
    let (own, criterion) = subject::split_module_args(std::env::args().skip(1).collect())?;
    let parsed = ModuleArgs::parse(&own)?;
    if own.is_empty() {
        return Ok(Taken::Here(parsed));
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
    let json = serde_json::to_string(&own).map_err(|e| e.to_string())?;
    let status = Command::new(exe)
        .args(&criterion)
        .env(SUBJECT_VAR, json)
        .status()
        .map_err(|e| format!("cannot run the matrix: {e}"))?;
    Ok(Taken::Reexec(ExitCode::from(status.code().map_or(1, |c| c.clamp(0, 255) as u8))))
}

/// What a run was asked to measure, for its summary.
struct Run<'a> {
    args: &'a RunArgs,
    subject: &'a Subject,
    profiles: &'a [EngineProfile],
    planned: &'a [Row],
    skipped: &'a [rows::Skipped],
}

/// Summarises what this run measured: always into `target/boundary-results/latest/`; for the project's guest,
/// into `results/<date>/` when the run was complete and not `--quick`; for a user's module, into
/// `target/boundary-results/<module>-<hash>/`, never into `results/`.
fn finish(
    run: &Run<'_>,
    criterion_dir: &std::path::Path,
    started: SystemTime,
    overhead: Vec<overhead::OverheadCheck>,
) -> std::io::Result<()> {
    let args = run.args;
    let measured = report::collect(criterion_dir, started)?;
    let profiles: Vec<&str> = run.profiles.iter().map(|p| p.name()).collect();
    // The typed calls of an `--invoke` export whose signature the typed path does not cover are never registered.
    let expected_rows: Vec<Row> = run
        .planned
        .iter()
        .copied()
        .filter(|row| !row.id.starts_with("invoke/") || measured.keys().any(|k| k.starts_with(row.id)))
        .collect();
    let expected = report::expected_ids(&profiles, &expected_rows);
    let missing: Vec<&String> = expected.iter().filter(|id| !measured.contains_key(*id)).collect();
    let mut mode = if args.quick {
        "criterion --quick".to_string()
    } else {
        "criterion: 0.7 s warm-up, 1.5 s measurement, 50 samples (unless overridden on the command line)".to_string()
    };
    if !cfg!(feature = "cpp") {
        mode.push_str("; built without the C++ host, so no C++ rows (`cargo bench --features cpp` has them)");
    }
    let workspace = boundary_benches::workspace_root();
    let mut env = Environment::capture(&workspace, run_command(args, run.subject), mode);
    if !run.subject.is_built_in() {
        env.module = Some(run.subject.describe());
    }
    env.elapsed_s = started.elapsed().ok().map(|d| d.as_secs_f64());
    let summary = Summary::build(env.clone(), &profiles, &expected_rows, run.skipped, &measured, overhead);
    let scratch = boundary_benches::target_dir().join("boundary-results").join("latest");
    summary.write(&scratch)?;
    println!("\nsummary of this run: {}", scratch.join("summary.md").display());
    for o in summary.overhead.iter().filter(|o| !o.within_limit) {
        println!(
            "host core over the {:.0}% limit, interleaved: {} vs {} under {}: {:+.1}%",
            rows::OVERHEAD_LIMIT * 100.0,
            o.core_row,
            o.raw_row,
            o.profile,
            o.overhead * 100.0
        );
    }
    if !run.subject.is_built_in() {
        let dir = boundary_benches::target_dir().join("boundary-results").join(run.subject.results_name());
        summary.write(&dir)?;
        if !missing.is_empty() {
            println!("{} of {} benchmarks were not measured in this run (a filter?)", missing.len(), expected.len());
        }
        println!("results for {} written to {}", run.subject.describe(), dir.display());
        return Ok(());
    }
    if args.quick
        || args.ignored
        || !args.filters.is_empty()
        || !missing.is_empty()
        || profiles.len() < EngineProfile::ALL.len()
    {
        let why = if args.quick {
            "a --quick run".to_string()
        } else {
            let named: Vec<&str> = missing.iter().take(8).map(|id| id.as_str()).collect();
            let more = if missing.len() > named.len() { ", ..." } else { "" };
            format!(
                "{} of {} benchmarks were not measured in this run ({}{more})",
                missing.len(),
                expected.len(),
                named.join(", ")
            )
        };
        println!("results/ left as it was: {why}; a complete `cargo bench` writes results/<date>/");
        return Ok(());
    }
    let results = workspace.join("results");
    let dir = environment::run_dir(&results, &env);
    summary.write(&dir)?;
    report::write_index(&results)?;
    report::write_readme_block(&workspace.join("README.md"), &results)?;
    println!("results written to {}", dir.display());
    Ok(())
}

/// The command as the user typed it, with the matrix's own options (which reached this process by
/// [`SUBJECT_VAR`]).
fn run_command(args: &RunArgs, subject: &Subject) -> String {
    match std::env::var(SUBJECT_VAR).ok().and_then(|own| serde_json::from_str::<Vec<String>>(&own).ok()) {
        Some(own) if !subject.is_built_in() || !own.is_empty() => {
            // Module options are the matrix's alone: the user named the bench target.
            let command = args.command.replacen("cargo bench", "cargo bench --bench matrix", 1);
            let sep = if command.contains(" -- ") { " " } else { " -- " };
            format!("{command}{sep}{}", own.join(" "))
        }
        _ => args.command.clone(),
    }
}
