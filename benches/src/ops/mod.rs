//! The measured operations, one function each, shared by the criterion rows and the paired overhead check so
//! both time exactly the same code. Setup (instances, lookups, reserved slots) lives in [`RawBench`] and
//! [`CoreBench`] and happens before any timing.

pub mod component;
pub mod invoke;
pub mod native;
pub mod plugin;
pub mod raw;

use crate::guard::OrStop;
use crate::ops::raw::{Linked, PointSlots, RawGuest, RawState};
use boundary_host::Wasm;
use boundary_host::wasmtime::{Engine, Instance, Store, Trap, Val, ValRaw, WasmBacktrace};
use boundary_host::{EngineProfile, GuestModule, HostFuncStyle, HostOptions, Point, WasmHost};
use futures::executor::block_on;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// The Points every round trip writes.
pub const A: Point = Point::new(100, 200);
pub const B: Point = Point::new(30, 70);

/// Raw wasmtime with three Point slots reserved.
#[derive(Debug)]
pub struct RawBench {
    pub guest: RawGuest,
    pub slots: PointSlots,
    params: [Val; 2],
    results: [Val; 1],
    raw_buf: [ValRaw; 2],
}

impl RawBench {
    pub fn new(profile: EngineProfile) -> Self {
        Self::with_guest(RawGuest::new(profile))
    }

    /// With an engine made from `profile` and adjusted (the gate's deterministic compilation).
    pub fn with_engine(profile: EngineProfile, engine: &Engine) -> Self {
        Self::with_guest(RawGuest::with_engine(profile, engine))
    }

    /// For `wasm`, a module with the guest ABI.
    pub fn for_wasm(profile: EngineProfile, engine: &Engine, wasm: &Wasm) -> Self {
        Self::with_guest(RawGuest::load(profile, engine, wasm).or_stop())
    }

    fn with_guest(mut guest: RawGuest) -> Self {
        let slots = PointSlots::at(guest.reserve_page());
        RawBench {
            guest,
            slots,
            params: [Val::I64(15), Val::I64(27)],
            results: [Val::I64(0)],
            raw_buf: [ValRaw::i64(0); 2],
        }
    }
}

/// The host core with three Point slots reserved.
#[derive(Debug)]
pub struct CoreBench {
    pub host: WasmHost,
    pub slots: PointSlots,
}

impl CoreBench {
    pub fn new(profile: EngineProfile, host_funcs: HostFuncStyle) -> Self {
        let engine = profile.engine().or_stop();
        Self::with_engine(profile, &engine, host_funcs)
    }

    /// With an engine made from `profile` and adjusted (the gate's deterministic compilation).
    pub fn with_engine(profile: EngineProfile, engine: &Engine, host_funcs: HostFuncStyle) -> Self {
        Self::for_wasm(profile, engine, &Wasm::quiet_guest(), host_funcs)
    }

    /// For `wasm`, a module with the guest ABI.
    pub fn for_wasm(profile: EngineProfile, engine: &Engine, wasm: &Wasm, host_funcs: HostFuncStyle) -> Self {
        Self::with_options(profile, engine, wasm, HostOptions { host_funcs, ..HostOptions::default() })
    }

    /// The same with a call hook installed in the store.
    pub fn with_hook(profile: EngineProfile, engine: &Engine, wasm: &Wasm) -> Self {
        Self::with_options(profile, engine, wasm, HostOptions { call_hook: true, ..HostOptions::default() })
    }

    fn with_options(profile: EngineProfile, engine: &Engine, wasm: &Wasm, options: HostOptions) -> Self {
        let options = HostOptions {
            host_funcs: options.host_funcs,
            call_hook: options.call_hook,
            ..crate::guard::host_options()
        };
        let guest =
            GuestModule::load_with_stubs(wasm.name.clone(), &wasm.bytes, wasm.is_text, profile, engine, options, |m| {
                boundary_host::plugin::import_stubs(m, &crate::guard::imports().defined)
            })
            .or_stop();
        let instantiated = match options.host_funcs {
            HostFuncStyle::Async => block_on(guest.instantiate_async()),
            _ => guest.instantiate(),
        };
        let mut host = instantiated.or_stop();
        let slots = PointSlots::at(host.reserve(3 * size_of::<Point>()).or_stop());
        CoreBench { host, slots }
    }
}

#[inline]
pub fn raw_just_add(r: &mut RawBench) -> u64 {
    r.guest.just_add.call(&mut r.guest.store, (black_box(15), black_box(27))).or_stop()
}

#[inline]
pub fn raw_just_add_untyped(r: &mut RawBench) -> i64 {
    r.guest.just_add_func.call(&mut r.guest.store, black_box(&r.params), &mut r.results).or_stop();
    r.results[0].unwrap_i64()
}

#[inline]
pub fn raw_just_add_unchecked(r: &mut RawBench) -> i64 {
    r.raw_buf = [ValRaw::i64(black_box(15)), ValRaw::i64(black_box(27))];
    let buf: *mut [ValRaw] = &mut r.raw_buf;
    // SAFETY: `just_add_func` is `just_add`, (i64, i64) -> i64, type-checked at setup: the buffer holds two i64
    // parameters, has room for the one i64 result, holds no references, and outlives the call.
    unsafe { r.guest.just_add_func.call_unchecked(&mut r.guest.store, buf) }.or_stop();
    r.raw_buf[0].get_i64()
}

#[inline]
pub fn core_just_add(c: &mut CoreBench) -> u64 {
    c.host.just_add(black_box(15), black_box(27)).or_stop()
}

#[inline]
pub fn raw_nop(r: &mut RawBench) {
    r.guest
        .nop
        .as_ref()
        .expect("the nop rows are registered for guests with `nop`")
        .call(&mut r.guest.store, ())
        .or_stop()
}

#[inline]
pub fn raw_nop_untyped(r: &mut RawBench) {
    let nop = r.guest.nop_func.as_ref().expect("the nop rows are registered for guests with `nop`");
    nop.call(&mut r.guest.store, &[], &mut []).or_stop()
}

#[inline]
pub fn raw_nop_unchecked(r: &mut RawBench) {
    let buf: *mut [ValRaw] = &mut r.raw_buf;
    // SAFETY: `nop_func` is `nop`, () -> (), type-checked at setup: no parameters or results are read or
    // written, and the buffer holds no references.
    let nop = r.guest.nop_func.as_ref().expect("the nop rows are registered for guests with `nop`");
    // SAFETY: as above.
    unsafe { nop.call_unchecked(&mut r.guest.store, buf) }.or_stop()
}

#[inline]
pub fn core_nop(c: &mut CoreBench) {
    c.host.nop().or_stop()
}

#[inline]
pub fn raw_trigger(r: &mut RawBench) {
    r.guest.trigger_host_calls.call(&mut r.guest.store, black_box(7)).or_stop()
}

#[inline]
pub fn core_trigger(c: &mut CoreBench) {
    c.host.trigger_host_calls(black_box(7)).or_stop()
}

/// The 8 bytes of a Point, the way a C host's `memcpy` sees them.
fn point_bytes(point: &Point) -> &[u8] {
    // SAFETY: `Point` is `#[repr(C)]` with two `i32` fields and no padding, so all 8 bytes behind the reference
    // are initialised; the slice borrows `point` and cannot outlive it.
    unsafe { std::slice::from_raw_parts((point as *const Point).cast::<u8>(), size_of::<Point>()) }
}

/// Round trip with C-style byte copies through `Memory::write` and `Memory::read`.
#[inline]
pub fn raw_point_add_memcpy(r: &mut RawBench) -> Point {
    let (g, s) = (&mut r.guest, r.slots);
    g.memory.write(&mut g.store, s.a, point_bytes(&black_box(A))).or_stop();
    g.memory.write(&mut g.store, s.b, point_bytes(&black_box(B))).or_stop();
    g.point_add.call(&mut g.store, s.args()).or_stop();
    let mut out = [0u8; 8];
    g.memory.read(&g.store, s.out, &mut out).or_stop();
    // SAFETY: `out` holds 8 initialised bytes, every 8 bytes are a valid Point, and `read_unaligned` assumes no
    // alignment.
    unsafe { out.as_ptr().cast::<Point>().read_unaligned() }
}

/// Round trip with `bytemuck` on the memory slice.
#[inline]
pub fn raw_point_add_bytemuck(r: &mut RawBench) -> Point {
    let (g, s) = (&mut r.guest, r.slots);
    let data = g.memory.data_mut(&mut g.store);
    data[s.a..s.a + 8].copy_from_slice(bytemuck::bytes_of(&black_box(A)));
    data[s.b..s.b + 8].copy_from_slice(bytemuck::bytes_of(&black_box(B)));
    g.point_add.call(&mut g.store, s.args()).or_stop();
    bytemuck::pod_read_unaligned(&g.memory.data(&g.store)[s.out..s.out + 8])
}

/// Round trip with in-place `bytemuck` casts. `try_from_bytes` checks length and alignment: the slots are
/// 8-aligned offsets in page-aligned memory, so the casts succeed, and `expect` states that.
#[inline]
pub fn raw_point_add_cast(r: &mut RawBench) -> Point {
    let (g, s) = (&mut r.guest, r.slots);
    let data = g.memory.data_mut(&mut g.store);
    *bytemuck::try_from_bytes_mut::<Point>(&mut data[s.a..s.a + 8]).expect(ALIGNED) = black_box(A);
    *bytemuck::try_from_bytes_mut::<Point>(&mut data[s.b..s.b + 8]).expect(ALIGNED) = black_box(B);
    g.point_add.call(&mut g.store, s.args()).or_stop();
    *bytemuck::try_from_bytes::<Point>(&g.memory.data(&g.store)[s.out..s.out + 8]).expect(ALIGNED)
}

#[inline]
pub fn core_point_add(c: &mut CoreBench) -> Point {
    let s = c.slots;
    let (out, a, b) = s.args();
    c.host.write(s.a, &black_box(A)).or_stop();
    c.host.write(s.b, &black_box(B)).or_stop();
    c.host.point_add(out, a, b).or_stop();
    c.host.read::<Point>(s.out).or_stop()
}

#[inline]
pub fn raw_point_write_read(r: &mut RawBench) -> Point {
    let (g, s) = (&mut r.guest, r.slots);
    g.memory.data_mut(&mut g.store)[s.a..s.a + 8].copy_from_slice(bytemuck::bytes_of(&black_box(A)));
    bytemuck::pod_read_unaligned(&g.memory.data(&g.store)[s.a..s.a + 8])
}

#[inline]
pub fn core_point_write_read(c: &mut CoreBench) -> Point {
    c.host.write(c.slots.a, &black_box(A)).or_stop();
    c.host.read::<Point>(c.slots.a).or_stop()
}

/// `point_add`'s output pointer for the trap rows: the last 4 bytes of the 32-bit address space, far past the
/// guest's memory, so the guest traps when it writes the sum. The inputs are read from offset 1024, inside the
/// memory every instance starts with, so the trap is the write, in a fresh instance as in a used one.
pub const TRAP_ARGS: (u32, u32, u32) = (u32::MAX - 3, 1024, 1024);

#[inline]
pub fn raw_just_add_async(r: &mut RawBench) -> u64 {
    block_on(r.guest.just_add.call_async(&mut r.guest.store, (black_box(15), black_box(27)))).or_stop()
}

#[inline]
pub fn raw_just_add_async_untyped(r: &mut RawBench) -> i64 {
    block_on(r.guest.just_add_func.call_async(&mut r.guest.store, black_box(&r.params), &mut r.results)).or_stop();
    r.results[0].unwrap_i64()
}

#[inline]
pub fn core_just_add_async(c: &mut CoreBench) -> u64 {
    block_on(c.host.just_add_async(black_box(15), black_box(27))).or_stop()
}

#[inline]
pub fn core_trigger_async(c: &mut CoreBench) {
    block_on(c.host.trigger_host_calls_async(black_box(7))).or_stop()
}

/// `point_add` returning normally: what the trap rows are compared with.
#[inline]
pub fn raw_point_add_returns(r: &mut RawBench) {
    r.guest.point_add.call(&mut r.guest.store, black_box(r.slots.args())).or_stop()
}

/// The slots are 8-aligned offsets in page-aligned memory.
const ALIGNED: &str = "Point slots are 8-aligned";

/// `point_add` trapping on its write; returns the trap and whether wasmtime captured a wasm backtrace. A guest
/// whose `point_add` does not trap there is refused beforehand ([`crate::subject::Needs::Trap`]).
#[inline]
pub fn raw_point_add_trap(r: &mut RawBench) -> (Trap, bool) {
    match r.guest.point_add.call(&mut r.guest.store, black_box(TRAP_ARGS)) {
        Err(e) => match e.downcast_ref::<Trap>() {
            Some(trap) => (*trap, e.downcast_ref::<WasmBacktrace>().is_some()),
            None => crate::guard::ok(Err(e)),
        },
        Ok(()) => crate::guard::refuse("`point_add` returned where it should have trapped"),
    }
}

/// The host core's trap policy: the call traps, the store is discarded, a fresh instance takes its place.
#[inline]
pub fn core_point_add_trap_reset(c: &mut CoreBench) -> Option<Trap> {
    let (out, a, b) = black_box(TRAP_ARGS);
    let trap = match c.host.point_add(out, a, b) {
        Err(e) => e.trap_code(),
        Ok(()) => crate::guard::refuse("`point_add` returned where it should have trapped"),
    };
    c.host.reset().or_stop();
    trap
}

#[inline]
pub fn core_reset(c: &mut CoreBench) {
    c.host.reset().or_stop()
}

/// A new store and `Linker::instantiate`; the store (and with it the instance) is dropped at the end.
#[inline]
pub fn raw_instantiate_linker(g: &Linked) {
    let mut store = crate::ops::raw::new_store(g.module.engine(), g.profile);
    black_box(g.linker.instantiate(&mut store, &g.module).or_stop());
}

/// A new store and `InstancePre::instantiate`; dropped at the end.
#[inline]
pub fn raw_instantiate_pre(g: &Linked) {
    let mut store = crate::ops::raw::new_store(g.module.engine(), g.profile);
    black_box(g.pre.instantiate(&mut store).or_stop());
}

/// `GuestModule::instantiate`; the host is dropped at the end.
#[inline]
pub fn core_instantiate(guest: &GuestModule) {
    black_box(guest.instantiate().or_stop());
}

/// A new store (with an empty WASI context) and its instance by `Linker::instantiate`.
#[inline]
pub fn raw_instance_linker(g: &Linked) -> (Store<RawState>, Instance) {
    let mut store = crate::ops::raw::new_store(g.module.engine(), g.profile);
    let instance = g.linker.instantiate(&mut store, &g.module).or_stop();
    (store, instance)
}

/// A new store (with an empty WASI context) and its instance by `InstancePre::instantiate`.
#[inline]
pub fn raw_instance_pre(g: &Linked) -> (Store<RawState>, Instance) {
    let mut store = crate::ops::raw::new_store(g.module.engine(), g.profile);
    let instance = g.pre.instantiate(&mut store).or_stop();
    (store, instance)
}

/// The time `iterations` calls of `make` take, each timed alone: the clock runs while `make` makes a store and its
/// instance and stops before they are dropped (the drop is [`time_drops`]'s). The two readings of the clock per
/// iteration are inside the time (tens of nanoseconds, against microseconds).
pub fn time_without_drop<T>(iterations: u64, mut make: impl FnMut() -> T) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iterations {
        let start = Instant::now();
        let made = black_box(make());
        total += start.elapsed();
        drop(made);
    }
    total
}

/// The time `iterations` drops take of what `make` makes (made outside the clock): for a store with an instance,
/// its memories unmapped, or its pool slot reset and returned.
pub fn time_drops<T>(iterations: u64, mut make: impl FnMut() -> T) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iterations {
        let made = black_box(make());
        let start = Instant::now();
        drop(made);
        total += start.elapsed();
    }
    total
}

/// Runs `measure` with `threads` worker threads that instantiate through `InstancePre` when told to, started before it
/// and ended after it, so that no batch's time holds a thread's start or end. `measure` gets a batch: given `n`, the
/// workers make `n` instances between them (as evenly as they divide), each a new store, its instance and its drop,
/// and the batch returns the wall time from telling them to finishing.
pub fn with_instantiating_workers<R>(
    g: &Linked,
    threads: usize,
    measure: impl FnOnce(&mut dyn FnMut(u64) -> Duration) -> R,
) -> R {
    use std::sync::Barrier;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let (go, done) = (Barrier::new(threads + 1), Barrier::new(threads + 1));
    let (batch_size, stop) = (AtomicU64::new(0), AtomicBool::new(false));
    std::thread::scope(|scope| {
        for t in 0..threads as u64 {
            let (go, done, batch_size, stop) = (&go, &done, &batch_size, &stop);
            scope.spawn(move || {
                loop {
                    go.wait();
                    if stop.load(Ordering::Acquire) {
                        return;
                    }
                    let n = batch_size.load(Ordering::Acquire);
                    let share = n / threads as u64 + u64::from(t < n % threads as u64);
                    for _ in 0..share {
                        drop(black_box(raw_instance_pre(g)));
                    }
                    done.wait();
                }
            });
        }
        let mut batch = |n: u64| {
            batch_size.store(n, Ordering::Release);
            let start = Instant::now();
            go.wait();
            done.wait();
            start.elapsed()
        };
        let result = measure(&mut batch);
        stop.store(true, Ordering::Release);
        go.wait();
        result
    })
}
