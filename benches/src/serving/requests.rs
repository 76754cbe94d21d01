//! The serving path: what a request costs an embedder that makes a fresh instance for each one (as `wasmtime serve`
//! and the like do), under each way of allocating and resetting instances, and how many instances fit in memory.
//! The command (`mod.rs`) runs it and writes the record; the gate counts one request on demand and pooled.
//!
//! A request is a new store and instance from an `InstancePre`, one call of `just_add` (after the host dirties `n`
//! disjoint 4 KiB pages of linear memory, for the workloads that do: what a request dirties is what a reset pays
//! for), and the drop of the store. For a module without `just_add` it is the instance alone.

use crate::guard::OrStop;
use crate::ops::plugin::{FreshRequest, PreparedRequest};
use crate::ops::raw::{Linked, RawState};
use boundary_host::Wasm;
use boundary_host::plugin::Request;
use boundary_host::profile::{SlotReset, pagemap_scan_available, pooled_config};
use boundary_host::wasmtime::{Config, Engine, Extern, Memory, ModuleExport, Store, TypedFunc};
use boundary_host::{EngineProfile, guest};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// How instances are allocated and reset between requests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Allocator {
    /// wasmtime's default: each instance's memory mapped afresh, unmapped when the store is dropped.
    OnDemand,
    /// The pooling allocator with these reset settings (slots for the workers, 64 MiB of memory each).
    Pooled(SlotReset),
    /// This project's `pooling` profile as it is (2 MiB kept resident and reset by copying, 64 KiB of tables).
    PoolingProfile,
}

/// One configuration of the serving rows.
#[derive(Debug, Clone, Copy)]
pub struct Allocation {
    pub id: &'static str,
    pub what: &'static str,
    pub allocator: Allocator,
}

const fn pooled(copy_on_write: bool, keep_resident: usize, pagemap_scan: bool) -> Allocator {
    Allocator::Pooled(SlotReset { copy_on_write, keep_resident, pagemap_scan })
}

/// The configurations, in table order.
pub const ALLOCATIONS: &[Allocation] = &[
    Allocation {
        id: "on-demand",
        what: "wasmtime's default allocator: memory mapped for each instance and unmapped on drop",
        allocator: Allocator::OnDemand,
    },
    Allocation {
        id: "pooled",
        what: "pooling allocator, copy-on-write memory image, nothing kept resident: a freed slot is decommitted",
        allocator: pooled(true, 0, false),
    },
    Allocation {
        id: "pooled/no-cow",
        what: "the same without copy-on-write: the data segments are copied in at each instantiation",
        allocator: pooled(false, 0, false),
    },
    Allocation {
        id: "pooled/keep-64k",
        what: "pooled, copy-on-write, the first 64 KiB of memory reset by hand and kept resident",
        allocator: pooled(true, 64 << 10, false),
    },
    Allocation {
        id: "pooled/keep-1m",
        what: "pooled, copy-on-write, the first 1 MiB reset by hand and kept resident",
        allocator: pooled(true, 1 << 20, false),
    },
    Allocation {
        id: "pooled/keep-1m-pagemap",
        what: "the same, the pages to reset found by the kernel's PAGEMAP_SCAN",
        allocator: pooled(true, 1 << 20, true),
    },
    Allocation {
        id: "pooling-profile",
        what: "this project's `pooling` profile: 2 MiB kept resident and reset by copying, tables 64 KiB",
        allocator: Allocator::PoolingProfile,
    },
];

/// What one request does besides instantiating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// One call of `just_add`.
    Call,
    /// The host writes one byte into each of `n` 4 KiB pages, every other page (so no two are neighbours), then the
    /// call.
    Dirty(usize),
    /// A plugin's request (`--request`) on the fresh instance: allocate, copy in, call, copy out, free.
    Plugin,
}

pub const WORKLOADS: [Workload; 4] = [Workload::Call, Workload::Dirty(1), Workload::Dirty(16), Workload::Dirty(64)];

impl Workload {
    pub fn id(self) -> String {
        match self {
            Workload::Call => "call".to_string(),
            Workload::Dirty(n) => format!("dirty-{n}"),
            Workload::Plugin => "request".to_string(),
        }
    }
}

/// Where the dirtied pages start: 64 KiB into memory, inside the guest's shadow stack, far below where `just_add`'s
/// frame lies (the stack grows down from 1 MiB), so the writes change nothing the call reads.
const DIRTY_BASE: usize = 64 << 10;
/// Two OS pages between the starts of dirtied pages: each dirtied page is its own region to a scan.
const DIRTY_STRIDE: usize = 8 << 10;
/// Worker threads the rows run with; all share one engine.
pub const THREADS: [usize; 2] = [1, 2];
/// Pool slots of the pooled configurations: enough for every worker, with room for wasmtime's slot affinity.
const POOL_SLOTS: u32 = 16;
const POOL_MAX_MEMORY: usize = 64 << 20;

/// The engine of a configuration on this machine, or why it cannot run here.
pub fn engine(allocation: &Allocation) -> Result<Engine, String> {
    Engine::new(&config(allocation)?).map_err(|e| format!("{}: {e:#}", allocation.id))
}

/// The same for the gate: compiled on one thread for the target's baseline features, so its counts repeat. A
/// pooled engine reserves 64 MiB per slot there instead of wasmtime's 4 GiB (and checks bounds in code past it):
/// valgrind cannot reserve the 64 GiB the serving rows' pool of 16 slots takes.
pub fn counting_engine(allocation: &Allocation) -> Result<Engine, String> {
    let mut config = config(allocation)?;
    EngineProfile::Cranelift.make_countable(&mut config).map_err(|e| e.to_string())?;
    if matches!(allocation.allocator, Allocator::Pooled(_) | Allocator::PoolingProfile) {
        config.memory_reservation(POOL_MAX_MEMORY as u64);
    }
    Engine::new(&config).map_err(|e| format!("{}: {e:#}", allocation.id))
}

fn config(allocation: &Allocation) -> Result<Config, String> {
    let config: Config = match allocation.allocator {
        Allocator::OnDemand => EngineProfile::Cranelift.config().map_err(|e| e.to_string())?,
        Allocator::PoolingProfile => EngineProfile::Pooling.config().map_err(|e| e.to_string())?,
        Allocator::Pooled(reset) => {
            if reset.pagemap_scan && !pagemap_scan_available() {
                return Err("this kernel has no PAGEMAP_SCAN (Linux 6.7 or later)".to_string());
            }
            pooled_config(POOL_SLOTS, POOL_MAX_MEMORY, reset).map_err(|e| e.to_string())?
        }
    };
    Ok(config)
}

/// The configuration called `id`.
pub fn allocation(id: &str) -> Option<&'static Allocation> {
    ALLOCATIONS.iter().find(|a| a.id == id)
}

/// A module ready to serve: linked once, its exports' indices looked up once.
pub struct Server {
    linked: Linked,
    just_add: Option<ModuleExport>,
    memory: Option<ModuleExport>,
    /// A plugin's request, served by [`Workload::Plugin`] on an instance of its own made from the same engine.
    plugin: Option<FreshRequest>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("calls", &self.just_add.is_some()).finish_non_exhaustive()
    }
}

impl Server {
    /// Links `wasm` for `engine` (which was made for `profile`'s compiler settings).
    pub fn new(engine: &Engine, wasm: &Wasm) -> Result<Self, String> {
        let profile = EngineProfile::Cranelift;
        let linked = Linked::load(profile, engine, wasm)?;
        let module = &linked.module;
        // `just_add` of the ABI's type; a module without it, or with another, is served as instances alone.
        let is_func = |name: &str| {
            module.get_export(name).and_then(|t| t.func().cloned()).is_some_and(|f| {
                use boundary_host::wasmtime::ValType;
                let i64 = |t: ValType| matches!(t, ValType::I64);
                f.params().len() == 2 && f.params().all(i64) && f.results().len() == 1 && f.results().all(i64)
            })
        };
        let just_add = is_func(guest::export::JUST_ADD.name)
            .then(|| module.get_export_index(guest::export::JUST_ADD.name))
            .flatten();
        let memory = module
            .get_export(guest::MEMORY)
            .and_then(|t| t.memory().cloned())
            .and_then(|_| module.get_export_index(guest::MEMORY));
        Ok(Server { linked, just_add, memory, plugin: None })
    }

    /// [`Server::new`], also serving `request` (checked once here: a trial request whose output must be right).
    pub fn with_request(engine: &Engine, wasm: &Wasm, request: &Request) -> Result<Self, String> {
        let mut server = Self::new(engine, wasm)?;
        let options = crate::guard::host_options();
        server.plugin = Some(PreparedRequest::new(EngineProfile::Cranelift, engine, wasm, request, options)?.fresh());
        Ok(server)
    }

    /// The workloads this server runs: a plugin's request alone, or the built-in ones its memory has room for.
    pub fn workloads(&self) -> Vec<Workload> {
        if self.plugin.is_some() {
            return vec![Workload::Plugin];
        }
        WORKLOADS.into_iter().filter(|w| !matches!(w, Workload::Dirty(n) if !self.can_dirty(*n))).collect()
    }

    /// Whether a request calls `just_add` (else it is the instance alone).
    pub fn calls(&self) -> bool {
        self.just_add.is_some()
    }

    /// Whether the module's memory starts with room for `n` dirtied pages.
    pub fn can_dirty(&self, n: usize) -> bool {
        let needed = (DIRTY_BASE + n * DIRTY_STRIDE) as u64;
        self.memory.is_some()
            && self
                .linked
                .module
                .get_export(guest::MEMORY)
                .and_then(|t| t.memory().map(|m| m.minimum() * 65536))
                .is_some_and(|bytes| bytes >= needed)
    }

    /// One request: a new store and instance, the workload, the drop. A request that fails ends the run with one
    /// `error:` line ([`crate::guard::ok`]): the rows checked the module beforehand, and a request that fails must
    /// not be timed as one that succeeded.
    #[inline]
    pub fn request(&self, workload: Workload) {
        if workload == Workload::Plugin {
            let plugin = self.plugin.as_ref().expect("the plugin workload is run only by a server with a request");
            std::hint::black_box(plugin.serve().or_stop());
            return;
        }
        let mut store: Store<RawState> = self.linked.new_store();
        let instance = self.linked.pre.instantiate(&mut store).or_stop();
        if let Workload::Dirty(n) = workload {
            // The gate's evidence makes a request dirty more pages (benches/gate-evidence.sh).
            #[cfg(feature = "inject-slowdown")]
            let n = n * boundary_host::slowdown::dirty_factor();
            let memory: Memory = match self.memory.as_ref().and_then(|m| instance.get_module_export(&mut store, m)) {
                Some(Extern::Memory(memory)) => memory,
                _ => panic!("the module has no memory to dirty"),
            };
            let data = memory.data_mut(&mut store);
            for page in 0..n {
                data[DIRTY_BASE + page * DIRTY_STRIDE] = 1;
            }
        }
        if let Some(index) = &self.just_add {
            let func = match instance.get_module_export(&mut store, index) {
                Some(Extern::Func(func)) => func,
                _ => panic!("`just_add` is not a function"),
            };
            let typed: TypedFunc<(u64, u64), u64> = func.typed(&store).or_stop();
            std::hint::black_box(typed.call(&mut store, (15, 27)).or_stop());
        }
    }
}

/// One serving row: a configuration, a workload, a number of workers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Measurement {
    pub allocation: String,
    pub workload: String,
    pub threads: usize,
    pub requests: u64,
    pub seconds: f64,
    pub requests_per_second: f64,
    pub p50_ns: u64,
    pub p99_ns: u64,
    pub p999_ns: u64,
    pub max_ns: u64,
    /// Minor page faults per request (`getrusage(RUSAGE_THREAD)` around each worker's loop, summed).
    pub minor_faults_per_request: f64,
}

/// Minor page faults of the calling thread so far.
fn thread_minor_faults() -> u64 {
    // SAFETY: `rusage` is plain data for which zero is a valid value; getrusage only writes into it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_THREAD with a valid, writable `rusage`.
    let ok = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) } == 0;
    if ok { usage.ru_minflt as u64 } else { 0 }
}

/// Serves requests from `threads` workers for `warm_up`, then for `duration`, timing each request. Each window of
/// requests is armed on the watchdog once, outside every request's timing, for its length and `--timeout` more:
/// a request that does not finish is stopped within `--timeout` of the window's end.
pub fn measure(
    server: &Server,
    allocation: &str,
    workload: Workload,
    threads: usize,
    warm_up: Duration,
    duration: Duration,
) -> Measurement {
    let run = |until: Instant, record: bool| -> (Histogram<u64>, u64, u64) {
        let mut histogram = Histogram::<u64>::new(3).unwrap_or_else(|e| panic!("{e}"));
        let faults_before = thread_minor_faults();
        let mut requests = 0u64;
        while Instant::now() < until {
            let start = Instant::now();
            server.request(workload);
            if record {
                let ns = start.elapsed().as_nanos().min(u128::from(u64::MAX)) as u64;
                histogram.record(ns.max(1)).unwrap_or_else(|e| panic!("{e}"));
            }
            requests += 1;
        }
        (histogram, requests, thread_minor_faults() - faults_before)
    };
    let what = format!("serving `{allocation}`, {}, {threads} worker(s)", workload.id());
    let in_threads = |span: Duration, record: bool| {
        let until = Instant::now() + span;
        let timeout = crate::guard::limits().timeout;
        let message = format!(
            "{what}: a request did not finish within {} after its window ended: the guest was still running (--timeout)",
            boundary_host::watchdog::seconds(timeout)
        );
        let _armed = boundary_host::watchdog::watchdog().arm(message, span.saturating_add(timeout));
        std::thread::scope(|scope| {
            let workers: Vec<_> =
                (0..threads).map(|_| scope.spawn(|| crate::guard::in_step(&what, || run(until, record)))).collect();
            workers.into_iter().map(|w| w.join().unwrap_or_else(|_| panic!("a worker panicked"))).collect::<Vec<_>>()
        })
    };
    in_threads(warm_up, false);
    let started = Instant::now();
    let results = in_threads(duration, true);
    let seconds = started.elapsed().as_secs_f64();
    let mut histogram = Histogram::<u64>::new(3).unwrap_or_else(|e| panic!("{e}"));
    let (mut requests, mut faults) = (0, 0);
    for (h, n, f) in results {
        histogram.add(h).unwrap_or_else(|e| panic!("{e}"));
        requests += n;
        faults += f;
    }
    Measurement {
        allocation: allocation.to_string(),
        workload: workload.id(),
        threads,
        requests,
        seconds,
        requests_per_second: requests as f64 / seconds,
        p50_ns: histogram.value_at_quantile(0.5),
        p99_ns: histogram.value_at_quantile(0.99),
        p999_ns: histogram.value_at_quantile(0.999),
        max_ns: histogram.max(),
        minor_faults_per_request: faults as f64 / requests.max(1) as f64,
    }
}

/// Resident and virtual memory of this process, in bytes (`VmRSS`, `VmSize`).
pub fn process_memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kib| kib.parse::<u64>().ok())
            .map_or(0, |kib| kib * 1024)
    };
    (field("VmRSS:"), field("VmSize:"))
}

/// How a density run is bounded.
pub const DENSITY_POINTS: [usize; 3] = [100, 1_000, 10_000];
pub const DENSITY_MAX_INSTANCES: usize = 20_000;
pub const DENSITY_MAX_RESIDENT: u64 = 8 << 30;
/// Memory mappings a density run leaves free below the kernel's limit (`vm.max_map_count`). Past the limit every
/// `mmap` fails, the Rust allocator's too, and an allocation that fails there aborts the process instead of
/// returning an error: the run stops while the next [`DENSITY_MAP_CHECK`] instances and this much more still fit.
pub const DENSITY_MAP_HEADROOM: usize = 2_048;
/// How often, in instances, a density run counts its mappings (reading `/proc/self/maps` costs time at 60,000 lines).
pub const DENSITY_MAP_CHECK: usize = 128;

/// The memory configurations of a density run.
#[derive(Debug, Clone, Copy)]
pub struct DensityConfig {
    pub id: &'static str,
    pub what: &'static str,
    /// Pool slots, for a pooled run.
    pooled: bool,
    /// `Config::memory_reservation`, if not wasmtime's default (4 GiB on 64-bit hosts).
    reservation: Option<u64>,
}

/// The smaller reservation: the guest's memory is 17 pages (1.06 MiB); 8 MiB lets it grow sevenfold in place, and
/// each instance then reserves 40 MiB of address space (with the 32 MiB guard) instead of 4 GiB. The price is that
/// compiled code checks bounds explicitly past what the reservation covers, as the `bounds-checked` profile shows.
pub const SMALL_RESERVATION: u64 = 8 << 20;

pub const DENSITY_CONFIGS: [DensityConfig; 4] = [
    DensityConfig {
        id: "on-demand",
        what: "on-demand, wasmtime's default reservation (4 GiB and a 32 MiB guard per memory)",
        pooled: false,
        reservation: None,
    },
    DensityConfig {
        id: "on-demand/reserve-8m",
        what: "on-demand, 8 MiB reserved per memory",
        pooled: false,
        reservation: Some(SMALL_RESERVATION),
    },
    DensityConfig {
        id: "pooled",
        what: "pooling allocator sized for 20,000 instances, wasmtime's default reservation per slot",
        pooled: true,
        reservation: None,
    },
    DensityConfig {
        id: "pooled/reserve-8m",
        what: "pooling allocator sized for 20,000 instances, 8 MiB reserved per slot",
        pooled: true,
        reservation: Some(SMALL_RESERVATION),
    },
];

/// Memory at one number of live instances.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DensityPoint {
    pub live: usize,
    pub resident_per_instance: f64,
    pub virtual_per_instance: f64,
    /// Memory mappings of the process per instance (`/proc/self/maps`): what runs into `vm.max_map_count`.
    pub mappings_per_instance: f64,
}

/// The number of memory mappings of this process.
pub fn process_mappings() -> usize {
    std::fs::read_to_string("/proc/self/maps").map_or(0, |maps| maps.lines().count())
}

/// The kernel's limit on mappings per process (`/proc/sys/vm/max_map_count`), if it can be read.
pub fn max_map_count() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/vm/max_map_count").ok()?.trim().parse().ok()
}

/// A density run: the points it passed and why it stopped. Each runs in a process of its own (`benches/serving.rs`
/// starts one per configuration), so that memory one run freed cannot hide what the next one takes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Density {
    pub config: String,
    pub points: Vec<DensityPoint>,
    pub reached: usize,
    pub stopped_by: String,
    /// Virtual memory the engine reserved when it was made, before any instance (the pooling allocator reserves
    /// all of its slots then); the points' figures do not include it.
    #[serde(default)]
    pub engine_virtual: u64,
}

/// The density configuration called `id`.
pub fn density_config(id: &str) -> Option<&'static DensityConfig> {
    DENSITY_CONFIGS.iter().find(|c| c.id == id)
}

/// The engine of a density configuration, or why it cannot be made (a pool whose address space this machine
/// cannot reserve, for one: that is a result too).
fn density_engine(config: &DensityConfig) -> Result<Engine, String> {
    let slots = config.pooled.then_some(DENSITY_MAX_INSTANCES as u32);
    let c = boundary_host::profile::reserved_config(config.reservation, slots, POOL_MAX_MEMORY)
        .map_err(|e| e.to_string())?;
    Engine::new(&c).map_err(|e| format!("{e:#}"))
}

/// Makes live instances (each in its own store, each having served one call) until the first allocation failure,
/// [`DENSITY_MAX_INSTANCES`], [`DENSITY_MAX_RESIDENT`] of resident memory, or the kernel's mapping limit less
/// [`DENSITY_MAP_HEADROOM`], recording memory per instance at [`DENSITY_POINTS`].
pub fn density(config: &DensityConfig, wasm: &Wasm) -> Density {
    let (_, before_engine) = process_memory();
    let stopped = |reached: usize, why: String, points: Vec<DensityPoint>, engine_virtual: u64| Density {
        config: config.id.to_string(),
        points,
        reached,
        stopped_by: why,
        engine_virtual,
    };
    let engine = match density_engine(config) {
        Ok(engine) => engine,
        Err(e) => return stopped(0, format!("the engine could not be made: {e}"), Vec::new(), 0),
    };
    let engine_virtual = process_memory().1.saturating_sub(before_engine);
    let server = match Server::new(&engine, wasm) {
        Ok(server) => server,
        Err(e) => return stopped(0, e, Vec::new(), engine_virtual),
    };
    let (rss0, vsz0) = process_memory();
    let maps0 = process_mappings();
    let map_limit = max_map_count().and_then(|l| usize::try_from(l).ok());
    let mut live = Vec::with_capacity(DENSITY_MAX_INSTANCES);
    let mut points = Vec::new();
    let why = loop {
        if live.len() >= DENSITY_MAX_INSTANCES {
            break format!("the bound of {DENSITY_MAX_INSTANCES} instances");
        }
        let what = format!("density `{}`: instance {}", config.id, live.len() + 1);
        let made = crate::guard::step(&what, || {
            let mut store: Store<RawState> = server.linked.new_store();
            let instance = match server.linked.pre.instantiate(&mut store) {
                Ok(instance) => instance,
                // A guest's own failure ends the run; wasmtime's failing to allocate is where density stops.
                Err(e) if e.downcast_ref::<boundary_host::wasmtime::Trap>().is_some() => crate::guard::ok(Err(e)),
                Err(e) => return Err(format!("the first allocation failure: {}", boundary_host::error::one_line(&e))),
            };
            let just_add = server.just_add.as_ref().and_then(|i| instance.get_module_export(&mut store, i));
            if let Some(func) = just_add.and_then(Extern::into_func) {
                // A live instance that has served a call: its stack page is touched, as a real one's is.
                func.typed::<(u64, u64), u64>(&store).and_then(|typed| typed.call(&mut store, (1, 2))).or_stop();
            }
            Ok(store)
        });
        match made {
            Ok(store) => live.push(store),
            Err(why) => break why,
        }
        let n = live.len();
        if DENSITY_POINTS.contains(&n) || n % 1000 == 0 {
            let (rss, vsz) = process_memory();
            if DENSITY_POINTS.contains(&n) {
                points.push(DensityPoint {
                    live: n,
                    resident_per_instance: rss.saturating_sub(rss0) as f64 / n as f64,
                    virtual_per_instance: vsz.saturating_sub(vsz0) as f64 / n as f64,
                    mappings_per_instance: process_mappings().saturating_sub(maps0) as f64 / n as f64,
                });
            }
            if rss >= DENSITY_MAX_RESIDENT {
                break format!("the bound of {} GiB resident", DENSITY_MAX_RESIDENT >> 30);
            }
        }
        if let Some(limit) = map_limit.filter(|_| n % DENSITY_MAP_CHECK == 0) {
            let maps = process_mappings();
            let next = maps.saturating_sub(maps0).div_ceil(n) * DENSITY_MAP_CHECK;
            if maps + next + DENSITY_MAP_HEADROOM >= limit {
                break format!("nearing the kernel's mapping limit (vm.max_map_count {limit}, {maps} in use)");
            }
        }
    };
    let reached = live.len();
    drop(live);
    stopped(reached, why, points, engine_virtual)
}
