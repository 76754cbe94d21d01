//! The serving path: what a request costs an embedder that makes a fresh instance for each one (as `wasmtime serve`
//! and the like do), under each way of allocating and resetting instances, and how many instances fit in memory.
//! The command (`mod.rs`) runs it and writes the record; the gate counts one request on demand and pooled.
//!
//! A request is four [`Phase`]s: a new store with its WASI context, an instance from an `InstancePre`, the guest work
//! (the host dirtying the pages of a named [`Pattern`], then one call of `just_add`; for a module without `just_add`,
//! the pages alone), and the drop of the store, where a pooled slot is reset. [`measure`] serves each configuration
//! (allocation, workload, worker threads) in several short windows, all windows of all configurations in one seeded,
//! shuffled order, so that the machine's drift lands in each configuration's range instead of between
//! configurations; each configuration is reported as the median and range over its windows.

use crate::guard::OrStop;
use crate::ops::plugin::{FreshRequest, PreparedRequest};
use crate::ops::raw::{Linked, RawState};
use crate::serving::footprint::Footprint;
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
        what: "pooling allocator, copy-on-write memory image, nothing kept resident: a freed slot is decommitted \
               (wasmtime's default `PoolingAllocationConfig` but for the slot counts and sizes)",
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
        what: "pooled, copy-on-write, up to 1 MiB of dirty pages anywhere in memory found by the kernel's \
               PAGEMAP_SCAN (at most 32 regions per scan), reset by hand and kept resident; the rest decommitted",
        allocator: pooled(true, 1 << 20, true),
    },
];

/// The page the kernel maps, faults in and resets, and that a pattern dirties one byte of.
pub const PAGE: usize = 4 << 10;
/// Where the project's guest's shadow stack starts (Rust's wasm32 layout: a 1 MiB stack at the bottom of memory,
/// growing down from here; statics and data from here up).
pub const STACK_TOP: usize = 1 << 20;
/// The bytes just below [`STACK_TOP`] that no pattern touches: room for a call's frames (`just_add` needs none).
pub const STACK_KEPT: usize = 16 << 10;

/// Pages of linear memory a request dirties: the host writes one byte into each, after instantiating and before
/// the call. What a request dirties is what a reset pays for, and where the pages lie decides which reset setting
/// covers them. The offsets are fixed, chosen for the project's guest (17 pages of 64 KiB: the stack below 1 MiB,
/// the data above): a request is a fresh instance and `just_add` reads no memory, so the writes change nothing the
/// call sees, and none touches the top [`STACK_KEPT`] of the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pattern {
    pub id: &'static str,
    /// Where the pages lie and which setting they exercise, for the record.
    pub what: &'static str,
    /// The first dirtied page's offset.
    pub start: usize,
    pub pages: usize,
    /// From one dirtied page to the next: [`PAGE`] for contiguous pages, two pages for every other one.
    pub stride: usize,
}

impl Pattern {
    /// The byte after the last dirtied page: what the memory must hold.
    pub const fn end(&self) -> usize {
        self.start + (self.pages - 1) * self.stride + PAGE
    }

    /// The separate runs of dirtied pages: what a `PAGEMAP_SCAN` reports as regions.
    pub const fn regions(&self) -> usize {
        if self.stride == PAGE { 1 } else { self.pages }
    }

    /// The offset of each dirtied page, lowest first.
    pub fn offsets(self) -> impl Iterator<Item = usize> {
        (0..self.pages).map(move |page| self.start + page * self.stride)
    }
}

/// The first 64 KiB, whole: all of it kept resident by `keep-64k`.
pub const LOW_16: Pattern = Pattern {
    id: "low-16",
    what: "16 contiguous pages filling the first 64 KiB: inside what `keep-64k` keeps resident",
    start: 0,
    pages: 16,
    stride: PAGE,
};
/// Past 64 KiB and inside 1 MiB, contiguous: one region.
pub const MID_16: Pattern = Pattern {
    id: "mid-16",
    what: "16 contiguous pages from 64 KiB to 128 KiB: past `keep-64k`, inside `keep-1m`; one region to a scan",
    start: 64 << 10,
    pages: 16,
    stride: PAGE,
};
/// The same number of pages every other page: as many regions as pages, fewer than a scan reports. The gate's
/// request dirties these.
pub const SPARSE_16: Pattern = Pattern {
    id: "sparse-16",
    what: "16 pages, every other page from 64 KiB to 188 KiB: inside `keep-1m`, 16 regions to a scan (of the 32 \
           one reports)",
    start: 64 << 10,
    pages: 16,
    stride: 2 * PAGE,
};
/// Twice as many regions as a scan reports.
pub const SPARSE_64: Pattern = Pattern {
    id: "sparse-64",
    what: "64 pages, every other page from 64 KiB to 572 KiB: inside `keep-1m`, 64 regions, twice the 32 a scan \
           reports (the rest of memory is decommitted)",
    start: 64 << 10,
    pages: 64,
    stride: 2 * PAGE,
};
/// Past 1 MiB: beyond `keep-1m`'s reach, and the data segment's copy-on-write page among them.
pub const HIGH_16: Pattern = Pattern {
    id: "high-16",
    what: "16 contiguous pages from 1 MiB to 1.0625 MiB, the data's copy-on-write page first: past the 1 MiB \
           `keep-1m` resets in place (it decommits them); `keep-1m-pagemap`'s scan covers all of memory",
    start: STACK_TOP,
    pages: 16,
    stride: PAGE,
};

/// The patterns, in table order.
pub const PATTERNS: [Pattern; 5] = [LOW_16, MID_16, SPARSE_16, SPARSE_64, HIGH_16];

/// What one request does besides making and dropping its instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// One call of `just_add`.
    Call,
    /// The host writes one byte into each page of the pattern, then the call.
    Dirty(Pattern),
    /// A plugin's request (`--request`) on the fresh instance: allocate, copy in, call, copy out, free.
    Plugin,
}

/// The built-in workloads, in table order.
pub const WORKLOADS: [Workload; 6] = [
    Workload::Call,
    Workload::Dirty(LOW_16),
    Workload::Dirty(MID_16),
    Workload::Dirty(SPARSE_16),
    Workload::Dirty(SPARSE_64),
    Workload::Dirty(HIGH_16),
];

impl Workload {
    pub fn id(self) -> &'static str {
        match self {
            Workload::Call => "call",
            Workload::Dirty(pattern) => pattern.id,
            Workload::Plugin => "request",
        }
    }

    /// The phases a request of this workload is timed in: a plugin's store is made inside its instantiation.
    pub fn phases(self) -> &'static [Phase] {
        match self {
            Workload::Plugin => &[Phase::Instantiate, Phase::Work, Phase::Drop],
            _ => &Phase::ALL,
        }
    }
}

/// A part of a request, timed apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// `Store::new` with the host's state: its WASI preview 1 context and memory limiter.
    Store,
    /// `InstancePre::instantiate`: memory and table allocated (mapped, or a pool slot taken), the copy-on-write image
    /// mapped or the data copied in, the module's start function if it has one.
    Instantiate,
    /// The guest work: the export looked up by index, the pattern's pages dirtied by the host (a page fault each
    /// where the page is not resident), the type check and the call of `just_add`.
    Work,
    /// The drop of the store: the instance freed, its memory unmapped (on demand) or its pool slot reset (the kept
    /// bytes zeroed or copied back, the rest decommitted).
    Drop,
}

impl Phase {
    pub const ALL: [Phase; 4] = [Phase::Store, Phase::Instantiate, Phase::Work, Phase::Drop];

    pub fn id(self) -> &'static str {
        match self {
            Phase::Store => "store",
            Phase::Instantiate => "instantiate",
            Phase::Work => "work",
            Phase::Drop => "drop",
        }
    }

    /// What the phase holds of a request of `workload`.
    pub fn what(self, workload: Workload) -> &'static str {
        match (self, workload) {
            (Phase::Store, _) => "`Store::new` with the host's state: its WASI preview 1 context and memory limiter",
            (Phase::Instantiate, Workload::Plugin) => {
                "the plugin's `instantiate`: its store and WASI context, the instance, `_initialize` if exported, the \
                 exports looked up"
            }
            (Phase::Instantiate, _) => {
                "`InstancePre::instantiate`: memory and table allocated (mapped, or a pool slot taken), the \
                 copy-on-write image mapped or the data copied in"
            }
            (Phase::Work, Workload::Plugin) => {
                "the plugin's request: allocate, copy in, call, copy out, free, the output checked by nothing"
            }
            (Phase::Work, _) => {
                "the export looked up by index, the pattern's pages dirtied by the host (a page fault each where the \
                 page is not resident), the type check and the call of `just_add`"
            }
            (Phase::Drop, _) => {
                "the drop of the store: the instance freed, its memory unmapped (on demand) or its pool slot reset \
                 (kept bytes zeroed or copied back, the rest decommitted)"
            }
        }
    }
}

/// What a request does as each of its phases ends: nothing, for a request measured whole (the gate counts it so),
/// or read the clock ([`PhaseClock`]). The request's code is the same either way.
pub trait Laps {
    fn lap(&mut self, phase: Phase);
}

impl Laps for () {
    #[inline(always)]
    fn lap(&mut self, _: Phase) {}
}

/// The clock read as each phase of one request ends.
#[derive(Debug, Clone, Copy)]
pub struct PhaseClock {
    /// When the request started, and when its last phase so far ended.
    pub started: Instant,
    pub last: Instant,
    /// Nanoseconds of each phase, by [`Phase::ALL`]'s order (0 for a phase the workload does not time).
    pub ns: [u64; 4],
}

impl PhaseClock {
    #[inline(always)]
    pub fn start() -> Self {
        let now = Instant::now();
        PhaseClock { started: now, last: now, ns: [0; 4] }
    }

    /// The whole request, from its start to the end of its last phase.
    pub fn whole_ns(&self) -> u64 {
        nanos(self.last - self.started)
    }
}

impl Laps for PhaseClock {
    #[inline(always)]
    fn lap(&mut self, phase: Phase) {
        let now = Instant::now();
        self.ns[phase as usize] = nanos(now - self.last);
        self.last = now;
    }
}

fn nanos(d: Duration) -> u64 {
    d.as_nanos().min(u128::from(u64::MAX)) as u64
}

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
    if matches!(allocation.allocator, Allocator::Pooled(_)) {
        config.memory_reservation(POOL_MAX_MEMORY as u64);
    }
    Engine::new(&config).map_err(|e| format!("{}: {e:#}", allocation.id))
}

fn config(allocation: &Allocation) -> Result<Config, String> {
    let config: Config = match allocation.allocator {
        Allocator::OnDemand => EngineProfile::Cranelift.config().map_err(|e| e.to_string())?,
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
    /// Bytes of the exported memory when an instance starts.
    memory_bytes: u64,
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
        let memory_type = module.get_export(guest::MEMORY).and_then(|t| t.memory().cloned());
        let memory_bytes = memory_type.as_ref().map_or(0, |m| m.minimum().saturating_mul(m.page_size()));
        let memory = memory_type.and_then(|_| module.get_export_index(guest::MEMORY));
        Ok(Server { linked, just_add, memory, memory_bytes, plugin: None })
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
        WORKLOADS.into_iter().filter(|w| !matches!(w, Workload::Dirty(p) if !self.can_dirty(p))).collect()
    }

    /// Whether a request calls `just_add` (else it is the instance alone).
    pub fn calls(&self) -> bool {
        self.just_add.is_some()
    }

    /// Whether the module exports a memory that starts with room for `pattern`.
    pub fn can_dirty(&self, pattern: &Pattern) -> bool {
        self.memory.is_some() && self.memory_bytes >= pattern.end() as u64
    }

    /// One request, measured whole: see [`Server::request_with`].
    #[inline]
    pub fn request(&self, workload: Workload) {
        self.request_with(workload, &mut ());
    }

    /// One request: a new store and instance, the workload, the drop, with `laps` told as each [`Phase`] ends. A
    /// request that fails ends the run with one `error:` line ([`crate::guard::ok`]): the rows checked the module
    /// beforehand, and a request that fails must not be timed as one that succeeded.
    #[inline(always)]
    pub fn request_with(&self, workload: Workload, laps: &mut impl Laps) {
        if workload == Workload::Plugin {
            let plugin = self.plugin.as_ref().expect("the plugin workload is run only by a server with a request");
            // `FreshRequest::serve`, in its two steps, and the drop.
            let mut instance = plugin.plugin.instantiate().or_stop();
            laps.lap(Phase::Instantiate);
            std::hint::black_box(instance.serve(&plugin.inputs).or_stop());
            laps.lap(Phase::Work);
            drop(instance);
            laps.lap(Phase::Drop);
            return;
        }
        let mut store: Store<RawState> = self.linked.new_store();
        laps.lap(Phase::Store);
        let instance = self.linked.pre.instantiate(&mut store).or_stop();
        laps.lap(Phase::Instantiate);
        if let Workload::Dirty(pattern) = workload {
            // The gate's evidence makes a request dirty more pages (benches/gate-evidence.sh).
            #[cfg(feature = "inject-slowdown")]
            let pattern = Pattern { pages: pattern.pages * boundary_host::slowdown::dirty_factor(), ..pattern };
            let memory: Memory = match self.memory.as_ref().and_then(|m| instance.get_module_export(&mut store, m)) {
                Some(Extern::Memory(memory)) => memory,
                _ => panic!("the module has no memory to dirty"),
            };
            let data = memory.data_mut(&mut store);
            for offset in pattern.offsets() {
                data[offset] = 1;
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
        laps.lap(Phase::Work);
        drop(store);
        laps.lap(Phase::Drop);
    }
}

/// A server for each allocation a run measures, all made before the first window.
pub type Servers = Vec<(&'static Allocation, Server)>;

/// One configuration of a run: a server (by its place in [`Servers`]), a workload and a number of workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Configuration {
    pub server: usize,
    pub workload: Workload,
    pub threads: usize,
}

/// Every configuration of `servers`, in table order: by allocation, then workload, then threads.
pub fn configurations(servers: &Servers) -> Vec<Configuration> {
    let mut all = Vec::new();
    for (index, (_, server)) in servers.iter().enumerate() {
        for workload in server.workloads() {
            for threads in THREADS {
                all.push(Configuration { server: index, workload, threads });
            }
        }
    }
    all
}

/// How a run's requests are timed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    /// The untimed window each configuration serves first, in table order: the check that it serves at all (at
    /// least one request per worker, whatever its length).
    pub check: Duration,
    /// Timed windows per configuration.
    pub repeats: usize,
    /// Untimed requests of the same configuration just before each timed window.
    pub warm_up: Duration,
    pub window: Duration,
    /// The seed of the windows' shuffled order.
    pub seed: u64,
}

/// The seed of a run's order: fixed, so that two runs serve their windows in the same order.
pub const ORDER_SEED: u64 = 0x5e41_0a11_0ca7_e5ed;

/// The order the timed windows run in: each of `configurations` `repeats` times, shuffled (Fisher-Yates driven by
/// SplitMix64 from `seed`).
pub fn shuffled_order(configurations: usize, repeats: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..repeats).flat_map(|_| 0..configurations).collect();
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    for i in (1..order.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    order
}

/// A median and the range around it, over a configuration's windows. A record from before the windows holds one
/// number where this stands; it reads as a range of one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(from = "SpreadOrNumber")]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum SpreadOrNumber {
    Number(f64),
    Spread { median: f64, min: f64, max: f64 },
}

impl From<SpreadOrNumber> for Spread {
    fn from(value: SpreadOrNumber) -> Self {
        match value {
            SpreadOrNumber::Number(n) => Spread { median: n, min: n, max: n },
            SpreadOrNumber::Spread { median, min, max } => Spread { median, min, max },
        }
    }
}

impl Spread {
    /// The median (of the middle two, for an even count), least and greatest of `values`; zeros if there are none.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Spread {
        let mut sorted: Vec<f64> = values.into_iter().collect();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        if n == 0 {
            return Spread { median: 0.0, min: 0.0, max: 0.0 };
        }
        let median = if n % 2 == 1 { sorted[n / 2] } else { (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0 };
        Spread { median, min: sorted[0], max: sorted[n - 1] }
    }

    /// Whether the range is a single value (one window, or a record from before the windows).
    pub fn is_single(&self) -> bool {
        self.min == self.max
    }
}

/// One phase of one window: its median and mean over the window's requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseTime {
    pub phase: String,
    pub p50_ns: u64,
    pub mean_ns: f64,
}

/// One timed window of one configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Window {
    /// Where the window ran in the run's shuffled order, from 0.
    pub position: usize,
    pub requests: u64,
    pub seconds: f64,
    pub requests_per_second: f64,
    pub p50_ns: u64,
    pub p99_ns: u64,
    pub p999_ns: u64,
    pub max_ns: u64,
    pub mean_ns: f64,
    /// Minor page faults per request (`getrusage(RUSAGE_THREAD)` around each worker's loop, summed).
    pub minor_faults_per_request: f64,
    pub phases: Vec<PhaseTime>,
}

/// One phase of a configuration over its windows: the spread of the windows' medians and means.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseSpread {
    pub phase: String,
    pub p50_ns: Spread,
    pub mean_ns: Spread,
}

/// One serving row: a configuration (allocation, workload, workers) over its windows. Each figure is the median and
/// range over the windows of that figure; a record from before the windows has one window's figures, no phases and
/// no windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    pub allocation: String,
    pub workload: String,
    pub threads: usize,
    pub requests_per_second: Spread,
    pub p50_ns: Spread,
    pub p99_ns: Spread,
    pub p999_ns: Spread,
    /// Minor page faults per request.
    pub minor_faults_per_request: Spread,
    #[serde(default)]
    pub phases: Vec<PhaseSpread>,
    /// The timed windows, in the order they ran.
    #[serde(default)]
    pub windows: Vec<Window>,
}

impl Measurement {
    /// The row of a configuration from its windows.
    pub fn from_windows(allocation: &str, workload: Workload, threads: usize, windows: Vec<Window>) -> Self {
        let spread = |f: &dyn Fn(&Window) -> f64| Spread::of(windows.iter().map(f));
        let phases = workload
            .phases()
            .iter()
            .map(|phase| {
                let of = |w: &Window| w.phases.iter().find(|p| p.phase == phase.id()).cloned();
                PhaseSpread {
                    phase: phase.id().to_string(),
                    p50_ns: Spread::of(windows.iter().filter_map(of).map(|p| p.p50_ns as f64)),
                    mean_ns: Spread::of(windows.iter().filter_map(of).map(|p| p.mean_ns)),
                }
            })
            .collect();
        Measurement {
            allocation: allocation.to_string(),
            workload: workload.id().to_string(),
            threads,
            requests_per_second: spread(&|w| w.requests_per_second),
            p50_ns: spread(&|w| w.p50_ns as f64),
            p99_ns: spread(&|w| w.p99_ns as f64),
            p999_ns: spread(&|w| w.p999_ns as f64),
            minor_faults_per_request: spread(&|w| w.minor_faults_per_request),
            phases,
            windows,
        }
    }

    /// The spread of `phase`'s medians, if the row timed it.
    pub fn phase(&self, phase: Phase) -> Option<&PhaseSpread> {
        self.phases.iter().find(|p| p.phase == phase.id())
    }
}

/// Minor page faults of the calling thread so far: Linux only (`RUSAGE_THREAD`); elsewhere 0, and the serving
/// command says so ([`LINUX_FIGURES`]).
#[cfg(target_os = "linux")]
fn thread_minor_faults() -> u64 {
    // SAFETY: `rusage` is plain data for which zero is a valid value; getrusage only writes into it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_THREAD with a valid, writable `rusage`.
    let ok = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) } == 0;
    if ok { usage.ru_minflt as u64 } else { 0 }
}

#[cfg(not(target_os = "linux"))]
fn thread_minor_faults() -> u64 {
    0
}

/// Whether this system gives the figures only Linux has: a thread's page faults (`thread_minor_faults`) and the
/// process's memory by kind ([`process_memory`]).
pub const LINUX_FIGURES: bool = cfg!(target_os = "linux");

fn histogram() -> Histogram<u64> {
    Histogram::<u64>::new(3).unwrap_or_else(|e| panic!("{e}"))
}

/// What the workers of one window counted.
struct Tally {
    whole: Histogram<u64>,
    phases: [Histogram<u64>; 4],
    whole_ns: u128,
    phase_ns: [u128; 4],
    requests: u64,
    faults: u64,
}

impl Tally {
    fn new() -> Self {
        Tally {
            whole: histogram(),
            phases: std::array::from_fn(|_| histogram()),
            whole_ns: 0,
            phase_ns: [0; 4],
            requests: 0,
            faults: 0,
        }
    }

    fn add(&mut self, other: Tally) {
        self.whole.add(other.whole).unwrap_or_else(|e| panic!("{e}"));
        for (mine, theirs) in self.phases.iter_mut().zip(other.phases) {
            mine.add(theirs).unwrap_or_else(|e| panic!("{e}"));
        }
        self.whole_ns += other.whole_ns;
        for (mine, theirs) in self.phase_ns.iter_mut().zip(other.phase_ns) {
            *mine += theirs;
        }
        self.requests += other.requests;
        self.faults += other.faults;
    }
}

/// One worker's requests until `until` (at least one): each timed by phase if `timed`.
fn serve_until(server: &Server, workload: Workload, until: Instant, timed: bool) -> Tally {
    let mut tally = Tally::new();
    let phases = workload.phases();
    let faults_before = thread_minor_faults();
    if timed {
        loop {
            let mut clock = PhaseClock::start();
            server.request_with(workload, &mut clock);
            // Recorded after the request's last clock read, outside every phase.
            let whole = clock.whole_ns();
            tally.whole.record(whole.max(1)).unwrap_or_else(|e| panic!("{e}"));
            tally.whole_ns += u128::from(whole);
            for phase in phases {
                let ns = clock.ns[*phase as usize];
                tally.phases[*phase as usize].record(ns.max(1)).unwrap_or_else(|e| panic!("{e}"));
                tally.phase_ns[*phase as usize] += u128::from(ns);
            }
            tally.requests += 1;
            if clock.last >= until {
                break;
            }
        }
    } else {
        loop {
            server.request(workload);
            tally.requests += 1;
            if Instant::now() >= until {
                break;
            }
        }
    }
    tally.faults = thread_minor_faults() - faults_before;
    tally
}

/// Serves requests of one configuration from `threads` workers for `span`, and what they counted and the wall time
/// it took. The window is armed on the watchdog once, outside every request's timing, for its length and `--timeout`
/// more: a request that does not finish is stopped within `--timeout` of the window's end.
fn serve_window(
    server: &Server,
    allocation: &str,
    workload: Workload,
    threads: usize,
    span: Duration,
    timed: bool,
) -> (Tally, f64) {
    let what = format!("serving `{allocation}`, {}, {threads} worker(s)", workload.id());
    let timeout = crate::guard::limits().timeout;
    let message = format!(
        "{what}: a request did not finish within {} after its window ended: the guest was still running (--timeout)",
        boundary_host::watchdog::seconds(timeout)
    );
    let _armed = boundary_host::watchdog::watchdog().arm(message, span.saturating_add(timeout));
    let started = Instant::now();
    let until = started + span;
    let tallies = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| scope.spawn(|| crate::guard::in_step(&what, || serve_until(server, workload, until, timed))))
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or_else(|_| panic!("a worker panicked"))).collect::<Vec<_>>()
    });
    let seconds = started.elapsed().as_secs_f64();
    let mut tally = Tally::new();
    for t in tallies {
        tally.add(t);
    }
    (tally, seconds)
}

/// One timed window of one configuration, run `position`-th in the run's order.
pub fn window(
    server: &Server,
    allocation: &str,
    workload: Workload,
    threads: usize,
    span: Duration,
    position: usize,
) -> Window {
    let (tally, seconds) = serve_window(server, allocation, workload, threads, span, true);
    let requests = tally.requests.max(1);
    let phases = workload
        .phases()
        .iter()
        .map(|phase| PhaseTime {
            phase: phase.id().to_string(),
            p50_ns: tally.phases[*phase as usize].value_at_quantile(0.5),
            mean_ns: tally.phase_ns[*phase as usize] as f64 / requests as f64,
        })
        .collect();
    Window {
        position,
        requests: tally.requests,
        seconds,
        requests_per_second: tally.requests as f64 / seconds,
        p50_ns: tally.whole.value_at_quantile(0.5),
        p99_ns: tally.whole.value_at_quantile(0.99),
        p999_ns: tally.whole.value_at_quantile(0.999),
        max_ns: tally.whole.max(),
        mean_ns: tally.whole_ns as f64 / requests as f64,
        minor_faults_per_request: tally.faults as f64 / requests as f64,
        phases,
    }
}

/// Serves every configuration of `servers` as `timing` says: first one untimed window each in table order (the
/// check, which also warms the code), then `timing.repeats` timed windows each, every window of every configuration
/// in one shuffled order, each after its own untimed warm-up. The rows come back in table order.
pub fn measure(servers: &Servers, timing: &Timing) -> Vec<Measurement> {
    let configurations = configurations(servers);
    let serve = |c: &Configuration, span: Duration| {
        let (allocation, server) = &servers[c.server];
        serve_window(server, allocation.id, c.workload, c.threads, span, false);
    };
    for c in &configurations {
        serve(c, timing.check);
    }
    let order = shuffled_order(configurations.len(), timing.repeats, timing.seed);
    let mut windows: Vec<Vec<Window>> = vec![Vec::new(); configurations.len()];
    for (position, &index) in order.iter().enumerate() {
        let c = &configurations[index];
        if !timing.warm_up.is_zero() {
            serve(c, timing.warm_up);
        }
        let (allocation, server) = &servers[c.server];
        windows[index].push(window(server, allocation.id, c.workload, c.threads, timing.window, position));
    }
    configurations
        .iter()
        .zip(windows)
        .map(|(c, windows)| Measurement::from_windows(servers[c.server].0.id, c.workload, c.threads, windows))
        .collect()
}

/// What one read of the clock (`Instant::now`) costs here, in nanoseconds: the median over blocks of reads. A
/// request timed by phase reads it five times, and its phases partition its whole time: each phase holds about one
/// read, the whole three more than a request timed only at its ends.
pub fn clock_read_ns() -> f64 {
    const READS: u32 = 10_000;
    let blocks = (0..11).map(|_| {
        let started = Instant::now();
        for _ in 0..READS {
            std::hint::black_box(Instant::now());
        }
        started.elapsed().as_nanos() as f64 / f64::from(READS)
    });
    Spread::of(blocks).median
}

/// This process's memory as `/proc/self/status` gives it, in bytes: resident in all (`VmRSS`), resident anonymous
/// memory alone (`RssAnon`: what instances' memories and the harness's heap hold, not mapped files), page tables
/// (`VmPTE`, which `VmRSS` leaves out), and the address space (`VmSize`). A field the kernel does not give reads 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcessMemory {
    pub resident: u64,
    pub anonymous: u64,
    pub page_tables: u64,
    pub address_space: u64,
}

/// [`ProcessMemory`] now.
pub fn process_memory() -> ProcessMemory {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kib| kib.parse::<u64>().ok())
            .map_or(0, |kib| kib * 1024)
    };
    ProcessMemory {
        resident: field("VmRSS:"),
        anonymous: field("RssAnon:"),
        page_tables: field("VmPTE:"),
        address_space: field("VmSize:"),
    }
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

/// Memory at one number of live instances: the process's growth since before the first instance, divided by the
/// count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DensityPoint {
    pub live: usize,
    /// `VmRSS`.
    pub resident_per_instance: f64,
    /// `RssAnon` (records before it lack it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anonymous_per_instance: Option<f64>,
    /// `VmPTE`: page tables, which `VmRSS` does not count (records before it lack it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_tables_per_instance: Option<f64>,
    /// `VmSize`.
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// Makes live instances until the first allocation failure, [`DENSITY_MAX_INSTANCES`], [`DENSITY_MAX_RESIDENT`] of
/// resident memory, or the kernel's mapping limit less [`DENSITY_MAP_HEADROOM`], recording memory per instance at
/// [`DENSITY_POINTS`]. Each instance lives in its own store, has served one call of `just_add` (if the module has
/// it), and has had one byte written into each page of `wasm`'s [`Footprint`]: the pages a real instance touches.
pub fn density(config: &DensityConfig, wasm: &Wasm) -> Density {
    let before_engine = process_memory().address_space;
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
    let engine_virtual = process_memory().address_space.saturating_sub(before_engine);
    let server = match Server::new(&engine, wasm) {
        Ok(server) => server,
        Err(e) => return stopped(0, e, Vec::new(), engine_virtual),
    };
    let footprint = Footprint::of(wasm);
    let start = process_memory();
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
                func.typed::<(u64, u64), u64>(&store).and_then(|typed| typed.call(&mut store, (1, 2))).or_stop();
            }
            let memory = server.memory.as_ref().and_then(|m| instance.get_module_export(&mut store, m));
            if let Some(memory) = memory.and_then(Extern::into_memory) {
                footprint.touch(memory.data_mut(&mut store));
            }
            Ok(store)
        });
        match made {
            Ok(store) => live.push(store),
            Err(why) => break why,
        }
        let n = live.len();
        if DENSITY_POINTS.contains(&n) || n % 1000 == 0 {
            let now = process_memory();
            if DENSITY_POINTS.contains(&n) {
                let per = |now: u64, then: u64| now.saturating_sub(then) as f64 / n as f64;
                points.push(DensityPoint {
                    live: n,
                    resident_per_instance: per(now.resident, start.resident),
                    anonymous_per_instance: Some(per(now.anonymous, start.anonymous)),
                    page_tables_per_instance: Some(per(now.page_tables, start.page_tables)),
                    virtual_per_instance: per(now.address_space, start.address_space),
                    mappings_per_instance: process_mappings().saturating_sub(maps0) as f64 / n as f64,
                });
            }
            if now.resident >= DENSITY_MAX_RESIDENT {
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
