//! `cargo bench`: the criterion matrix of host <-> guest crossings under every engine profile.
//!
//! Rows and their ids are in `benches/src/rows.rs`; ids are slash paths, so `cargo bench -- calls/nop` or
//! `cargo bench -- /winch` picks a family or a profile. A complete run (no filter, not `--quick`) writes its
//! summary to `results/<date>/`; every run writes one to `target/boundary-results/latest/`.
//!
//! Every export lookup, instantiation and memory reservation happens before the timed closures.

use boundary_benches::native::{self, NativeHost};
use boundary_benches::raw::{PointSlots, RawGuest};
use boundary_benches::report::{self, Environment, Summary};
use boundary_benches::rows::{self, Row};
use boundary_host::wasmtime::{Val, ValRaw};
use boundary_host::{EngineProfile, GuestModule, GuestOutput, HostFuncStyle, HostOptions, Point, WasmHost};
use criterion::{Bencher, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

const A: Point = Point::new(100, 200);
const B: Point = Point::new(30, 70);
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
    filtered: bool,
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
        let mut filtered = has("--ignored");
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            if VALUED.contains(&arg.as_str()) {
                iter.next();
            } else if !arg.starts_with('-') {
                filtered = true;
            }
        }
        let user_args: Vec<&str> = args.iter().map(String::as_str).filter(|a| *a != "--bench").collect();
        let command = if user_args.is_empty() {
            "cargo bench".to_string()
        } else {
            format!("cargo bench -- {}", user_args.join(" "))
        };
        RunArgs {
            // Criterion measures only when cargo passed `--bench` and nobody asked for `--test` or `--list`.
            measuring: has("--bench") && !has("--test") && !has("--list") && !has("--profile-time"),
            quick: has("--quick"),
            filtered,
            command,
        }
    }
}

/// `<target>/`: the bench executable lives in `<target>/<profile>/deps/`.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the bench knows its own path");
    exe.ancestors().nth(3).map(PathBuf::from).unwrap_or_else(|| PathBuf::from("target"))
}

/// Registers one benchmark under its row id (and profile), in a group named by the id's first segment.
fn bench(c: &mut Criterion, row_id: &str, profile: Option<&str>, elements: Option<u64>, f: impl FnMut(&mut Bencher)) {
    let (family, rest) = row_id.split_once('/').expect("row ids are slash paths");
    let mut group = c.benchmark_group(family);
    if let Some(n) = elements {
        group.throughput(Throughput::Elements(n));
    }
    match profile {
        Some(p) => group.bench_function(BenchmarkId::new(rest, p), f),
        None => group.bench_function(rest, f),
    };
    group.finish();
}

fn quiet_options(host_funcs: HostFuncStyle) -> HostOptions {
    HostOptions { output: GuestOutput::Discard, host_funcs, ..HostOptions::default() }
}

fn core_host(profile: EngineProfile, host_funcs: HostFuncStyle) -> WasmHost {
    let guest = GuestModule::quiet_guest(profile, quiet_options(host_funcs))
        .unwrap_or_else(|e| panic!("profile {profile}: {e}"));
    guest.instantiate().unwrap_or_else(|e| panic!("profile {profile}: {e}"))
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
    let mut memory = vec![0u8; 64];
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
            b.iter(|| native::point_add_batch(black_box(&mut out[..count]), black_box(&a[..count]), black_box(&bs[..count])))
        });
    }
}

fn bench_calls(c: &mut Criterion, p: &str, raw: &mut RawGuest, core: &mut WasmHost) {
    let store = &mut raw.store;
    let f = raw.just_add.clone();
    bench(c, rows::JUST_ADD_TYPED.id, Some(p), None, |b| {
        b.iter(|| f.call(&mut *store, (black_box(15), black_box(27))).unwrap())
    });
    let func = raw.just_add_func;
    let params = [Val::I64(15), Val::I64(27)];
    let mut results = [Val::I64(0)];
    bench(c, rows::JUST_ADD_UNTYPED.id, Some(p), None, |b| {
        b.iter(|| {
            func.call(&mut *store, black_box(&params), &mut results).unwrap();
            black_box(&results);
        })
    });
    let mut buf = [ValRaw::i64(0); 2];
    bench(c, rows::JUST_ADD_UNCHECKED.id, Some(p), None, |b| {
        b.iter(|| {
            buf[0] = ValRaw::i64(black_box(15));
            buf[1] = ValRaw::i64(black_box(27));
            // SAFETY: `func` is `just_add`, (i64, i64) -> i64, checked at setup: `buf` holds two i64 parameters,
            // has room for the one i64 result, contains no references, and lives across the call.
            unsafe { func.call_unchecked(&mut *store, &mut buf as *mut [ValRaw]) }.unwrap();
            black_box(buf[0].get_i64())
        })
    });
    bench(c, rows::JUST_ADD_CORE.id, Some(p), None, |b| {
        b.iter(|| core.just_add(black_box(15), black_box(27)).unwrap())
    });

    let f = raw.nop.clone();
    bench(c, rows::NOP_TYPED.id, Some(p), None, |b| b.iter(|| f.call(&mut *store, ()).unwrap()));
    let func = raw.nop_func;
    bench(c, rows::NOP_UNTYPED.id, Some(p), None, |b| b.iter(|| func.call(&mut *store, &[], &mut []).unwrap()));
    let mut buf = [ValRaw::i32(0); 1];
    bench(c, rows::NOP_UNCHECKED.id, Some(p), None, |b| {
        // SAFETY: `func` is `nop`, () -> (), checked at setup; the buffer needs no room and holds no references.
        b.iter(|| unsafe { func.call_unchecked(&mut *store, &mut buf as *mut [ValRaw]) }.unwrap())
    });
    bench(c, rows::NOP_CORE.id, Some(p), None, |b| b.iter(|| core.nop().unwrap()));
}

/// One measured iteration is one guest -> host call: `iters` calls are made by as few `call_host_n` calls as
/// fit, and each chunk's entry cost (a `call_host_n(0)` right after it) is subtracted.
fn per_callback(host: &mut WasmHost) -> impl FnMut(&mut Bencher) + '_ {
    move |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let chunk = left.min(CALLBACK_CHUNK);
                left -= chunk;
                let start = Instant::now();
                host.call_host_n(black_box(chunk as u32)).unwrap();
                let with_calls = start.elapsed();
                let start = Instant::now();
                host.call_host_n(black_box(0)).unwrap();
                total += with_calls.saturating_sub(start.elapsed());
            }
            total
        })
    }
}

fn bench_callbacks(c: &mut Criterion, p: &str, raw: &mut RawGuest, core: &mut WasmHost, untyped: &mut WasmHost) {
    let f = raw.trigger_host_calls.clone();
    let store = &mut raw.store;
    bench(c, rows::TRIGGER_RAW.id, Some(p), None, |b| b.iter(|| f.call(&mut *store, black_box(7)).unwrap()));
    bench(c, rows::TRIGGER_CORE.id, Some(p), None, |b| b.iter(|| core.trigger_host_calls(black_box(7)).unwrap()));
    bench(c, rows::PER_CALLBACK_TYPED.id, Some(p), None, per_callback(core));
    bench(c, rows::PER_CALLBACK_UNTYPED.id, Some(p), None, per_callback(untyped));
}

/// The 8 bytes of a Point, the way a C host's `memcpy` sees them.
fn point_bytes(point: &Point) -> &[u8] {
    // SAFETY: `Point` is `#[repr(C)]` with two `i32` fields and no padding, so all 8 bytes behind the reference
    // are initialised; the slice borrows `point` and cannot outlive it.
    unsafe { std::slice::from_raw_parts((point as *const Point).cast::<u8>(), size_of::<Point>()) }
}

fn bench_structs(c: &mut Criterion, p: &str, raw: &mut RawGuest, core: &mut WasmHost) {
    let slots = PointSlots::at(raw.reserve_page());
    let args = slots.args();
    let (memory, f) = (raw.memory, raw.point_add.clone());
    let store = &mut raw.store;
    bench(c, rows::POINT_ADD_MEMCPY.id, Some(p), None, |b| {
        b.iter(|| {
            memory.write(&mut *store, slots.a, point_bytes(&black_box(A))).unwrap();
            memory.write(&mut *store, slots.b, point_bytes(&black_box(B))).unwrap();
            f.call(&mut *store, args).unwrap();
            let mut out = [0u8; 8];
            memory.read(&*store, slots.out, &mut out).unwrap();
            // SAFETY: `out` holds 8 initialised bytes, every 8 bytes are a valid Point, and `read_unaligned`
            // assumes no alignment.
            unsafe { out.as_ptr().cast::<Point>().read_unaligned() }
        })
    });
    bench(c, rows::POINT_ADD_BYTEMUCK.id, Some(p), None, |b| {
        b.iter(|| {
            let data = memory.data_mut(&mut *store);
            data[slots.a..slots.a + 8].copy_from_slice(bytemuck::bytes_of(&black_box(A)));
            data[slots.b..slots.b + 8].copy_from_slice(bytemuck::bytes_of(&black_box(B)));
            f.call(&mut *store, args).unwrap();
            bytemuck::pod_read_unaligned::<Point>(&memory.data(&*store)[slots.out..slots.out + 8])
        })
    });
    bench(c, rows::POINT_ADD_CAST.id, Some(p), None, |b| {
        b.iter(|| {
            let data = memory.data_mut(&mut *store);
            // `try_from_bytes_mut` checks length and alignment: the slots are 8-aligned offsets in a page-aligned
            // memory, so the cast succeeds; `unwrap` states that proof.
            *bytemuck::try_from_bytes_mut::<Point>(&mut data[slots.a..slots.a + 8]).unwrap() = black_box(A);
            *bytemuck::try_from_bytes_mut::<Point>(&mut data[slots.b..slots.b + 8]).unwrap() = black_box(B);
            f.call(&mut *store, args).unwrap();
            *bytemuck::try_from_bytes::<Point>(&memory.data(&*store)[slots.out..slots.out + 8]).unwrap()
        })
    });
    bench(c, rows::POINT_RW_RAW.id, Some(p), None, |b| {
        b.iter(|| {
            let data = memory.data_mut(&mut *store);
            data[slots.a..slots.a + 8].copy_from_slice(bytemuck::bytes_of(&black_box(A)));
            bytemuck::pod_read_unaligned::<Point>(&memory.data(&*store)[slots.a..slots.a + 8])
        })
    });

    let core_slots = PointSlots::at(core.reserve(3 * size_of::<Point>()).unwrap());
    let (out, a, b_at) = core_slots.args();
    bench(c, rows::POINT_ADD_CORE.id, Some(p), None, |b| {
        b.iter(|| {
            core.write(core_slots.a, &black_box(A)).unwrap();
            core.write(core_slots.b, &black_box(B)).unwrap();
            core.point_add(out, a, b_at).unwrap();
            core.read::<Point>(core_slots.out).unwrap()
        })
    });
    bench(c, rows::POINT_RW_CORE.id, Some(p), None, |b| {
        b.iter(|| {
            core.write(core_slots.a, &black_box(A)).unwrap();
            core.read::<Point>(core_slots.a).unwrap()
        })
    });

    let base = core.reserve(3 * MAX_BATCH * size_of::<Point>()).unwrap();
    let (a_at, b_at, out_at) = (base, base + MAX_BATCH * 8, base + 2 * MAX_BATCH * 8);
    for i in 0..MAX_BATCH {
        core.write(a_at + 8 * i, &Point::new(i as i32, -(i as i32))).unwrap();
        core.write(b_at + 8 * i, &Point::new(3 * i as i32, 7)).unwrap();
    }
    let ptr = |o: usize| u32::try_from(o).unwrap();
    for (row, _, count) in BATCH_SIZES {
        bench(c, row.id, Some(p), row.elements, |b| {
            b.iter(|| core.point_add_batch(ptr(out_at), ptr(a_at), ptr(b_at), black_box(count)).unwrap())
        });
    }
    // One check that the batch did the work the rows claim.
    let last = core.read::<Point>(out_at + 8 * (MAX_BATCH - 1)).unwrap();
    let i = (MAX_BATCH - 1) as i32;
    assert!(last == Point::new(4 * i, 7 - i) || last == Point::default(), "batch result {last}");
}

fn bench_profile(c: &mut Criterion, profile: EngineProfile) {
    let p = profile.name();
    let mut raw = RawGuest::new(profile);
    let mut core = core_host(profile, HostFuncStyle::Typed);
    let mut untyped = core_host(profile, HostFuncStyle::Untyped);
    bench_calls(c, p, &mut raw, &mut core);
    bench_callbacks(c, p, &mut raw, &mut core, &mut untyped);
    bench_structs(c, p, &mut raw, &mut core);
}

fn main() {
    let args = RunArgs::parse();
    let criterion_dir = target_dir().join("criterion");
    let started = SystemTime::now();
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(700))
        .measurement_time(Duration::from_millis(1500))
        .sample_size(50)
        .output_directory(&criterion_dir)
        .configure_from_args();

    bench_natives(&mut c);
    for &profile in EngineProfile::ALL {
        if args.measuring {
            println!("\n--- engine profile `{profile}`: {}", profile.summary());
        }
        bench_profile(&mut c, profile);
    }
    c.final_summary();
    if args.measuring {
        if let Err(e) = finish(&args, &criterion_dir, started) {
            eprintln!("error: writing the results summary failed: {e}");
            std::process::exit(1);
        }
    }
}

/// Summarises what this run measured: always into `target/boundary-results/latest/`, and into
/// `results/<date>/` when the run was complete and not `--quick`.
fn finish(args: &RunArgs, criterion_dir: &std::path::Path, started: SystemTime) -> std::io::Result<()> {
    let measured = report::collect(criterion_dir, started)?;
    let profiles = EngineProfile::names();
    let expected = report::expected_ids(&profiles);
    let missing: Vec<&String> = expected.iter().filter(|id| !measured.contains_key(*id)).collect();
    let mode = if args.quick {
        "criterion --quick".to_string()
    } else {
        "criterion: 0.7 s warm-up, 1.5 s measurement, 50 samples (unless overridden on the command line)".to_string()
    };
    let workspace = boundary_benches::workspace_root();
    let env = Environment::capture(&workspace, args.command.clone(), mode);
    let summary = Summary::build(env.clone(), &profiles, &measured);
    let scratch = target_dir().join("boundary-results").join("latest");
    summary.write(&scratch)?;
    println!("\nsummary of this run: {}", scratch.join("summary.md").display());
    for o in summary.overhead.iter().filter(|o| !o.within_limit) {
        println!(
            "host core over the {:.0}% limit: {} vs {} under {}: {:+.1}%",
            rows::OVERHEAD_LIMIT * 100.0,
            o.core_row,
            o.raw_row,
            o.profile,
            o.overhead * 100.0
        );
    }
    if args.quick || args.filtered || !missing.is_empty() {
        let why = if args.quick {
            "a --quick run".to_string()
        } else {
            format!("{} of {} benchmarks were not measured in this run", missing.len(), expected.len())
        };
        println!("results/ left as it was: {why}; a complete `cargo bench` writes results/<date>/");
        return Ok(());
    }
    let results = workspace.join("results");
    let dir = report::run_dir(&results, &env);
    summary.write(&dir)?;
    report::write_index(&results)?;
    println!("results written to {}", dir.display());
    Ok(())
}
