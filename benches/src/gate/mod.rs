//! The instruction-count performance gate: scenarios, the committed baseline's format, and the comparison.
//! `benches/gate.rs` runs each scenario under callgrind and calls into here.
//!
//! Wall-clock figures on the project's machines move by 20-40% between runs, so CI gates on instruction counts:
//! under callgrind, with compilation single-threaded and code generation pinned to the target's baseline
//! features, the count of one scenario repeats exactly from run to run and from machine to machine of the same
//! kind.

pub mod runner;

use crate::probe::Serves;
use crate::subject::{Needs, Subject};
use boundary_host::EngineProfile;
use boundary_host::component::export as cexport;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// What a scenario runs; `benches/gate.rs` has one body per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    RawTypedCall,
    RawUntypedCall,
    RawUncheckedCall,
    CoreTypedCall,
    RawNop,
    CoreNop,
    RawRoundTrip,
    CoreRoundTrip,
    CorePerCallback,
    RawPointAddMemcpy,
    RawPointAddBytemuck,
    CorePointAdd,
    CoreBatch4096,
    RawPointWriteRead,
    CorePointWriteRead,
    CoreAsyncCall,
    CoreAsyncRoundTrip,
    CoreHookCall,
    CoreUncheckedPerCallback,
    RawInstantiatePre,
    CoreInstantiate,
    RawTrap,
    RawTrapNoBacktrace,
    CoreTrapReset,
    ComponentTypedCall,
    ComponentBindingsCall,
    ComponentUntypedCall,
    ComponentNop,
    ComponentRoundTrip,
    ComponentPerCallback,
    ComponentPointAdd,
    ComponentList64,
    CoreBatchCopy64,
    /// One request of the serving path (`serving.rs`): a new store and instance, 16 pages dirtied, `just_add`, the
    /// drop; on demand, and pooled (copy-on-write, nothing kept resident).
    RequestOnDemand,
    RequestPooled,
    /// A buffer across the boundary (`payload.rs`): the fastest way in measured (a copy into `data_mut` and the
    /// guest's checksum) and the slowest (the component's `list<u8>`), at 64 bytes and at 1 MiB.
    PayloadDataMutSmall,
    PayloadDataMutLarge,
    PayloadListSmall,
    PayloadListLarge,
    /// The `--invoke` export at this index of the subject's list, called one way.
    InvokeTyped(usize),
    InvokeUntyped(usize),
    InvokeUnchecked(usize),
    InvokeComponent(usize),
    /// A plugin's request (`--request`) served on one instance, whole (allocate, copy in, call, copy out, free).
    PluginRequest,
    /// The same request on a fresh instance each time, made from the loaded plugin and dropped after.
    PluginRequestFresh,
}

/// One counted scenario: what one operation is, and how many operations one measurement runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scenario {
    pub id: &'static str,
    pub kind: Kind,
    pub what: &'static str,
    pub iterations: u64,
}

impl Kind {
    /// What the scenario needs of the module it counts.
    pub fn needs(self) -> Needs {
        match self {
            Kind::RawNop | Kind::CoreNop => Needs::Nop,
            Kind::CorePerCallback | Kind::CoreUncheckedPerCallback => Needs::CallHostN,
            Kind::CoreBatch4096 | Kind::CoreBatchCopy64 => Needs::Batch,
            Kind::RawInstantiatePre | Kind::RequestOnDemand | Kind::RequestPooled => Needs::Module,
            Kind::PluginRequest | Kind::PluginRequestFresh => Needs::Module,
            Kind::ComponentTypedCall
            | Kind::ComponentBindingsCall
            | Kind::ComponentUntypedCall
            | Kind::ComponentRoundTrip
            | Kind::ComponentPointAdd => Needs::World,
            Kind::ComponentNop => Needs::WorldExport(cexport::NOP),
            Kind::ComponentPerCallback => Needs::WorldExport(cexport::CALL_HOST_N),
            Kind::ComponentList64 => Needs::WorldExport(cexport::POINT_ADD_BATCH),
            Kind::PayloadDataMutSmall | Kind::PayloadDataMutLarge => Needs::Payload,
            Kind::PayloadListSmall | Kind::PayloadListLarge => Needs::WorldExport(cexport::CHECKSUM_BYTES),
            Kind::InvokeTyped(_) | Kind::InvokeUntyped(_) | Kind::InvokeUnchecked(_) => Needs::Module,
            Kind::InvokeComponent(_) => Needs::AnyComponent,
            Kind::RawTrap | Kind::RawTrapNoBacktrace | Kind::CoreTrapReset => Needs::Trap,
            _ => Needs::Abi,
        }
    }

    /// How many processes count this scenario; the gate keeps the smallest count.
    ///
    /// Most scenarios count the same in every process. Those that create stores, fiber stacks or instances go
    /// through state wasmtime sets up per process (hash tables whose seeds are random, the placement of fresh
    /// mappings), and some processes count up to 1.5% more for it, a constant amount on every iteration. The
    /// smallest of three processes is steadier, but still moved by up to 1.6% over three rounds
    /// (`instantiate/core` under Cranelift), so these never get the exact threshold ([`allowed_growth`]).
    pub fn processes(self) -> usize {
        match self {
            Kind::CoreAsyncCall
            | Kind::CoreAsyncRoundTrip
            | Kind::RawInstantiatePre
            | Kind::CoreInstantiate
            | Kind::RawTrap
            | Kind::RawTrapNoBacktrace
            | Kind::CoreTrapReset
            | Kind::RequestOnDemand
            | Kind::RequestPooled
            | Kind::PluginRequestFresh => 3,
            _ => 1,
        }
    }

    /// The profiles the scenario is counted under: the gate's four, but for the serving requests, whose engines are
    /// the serving configurations' own (on Cranelift), counted once.
    pub fn profiles(self) -> &'static [EngineProfile] {
        match self {
            Kind::RequestOnDemand | Kind::RequestPooled => &[EngineProfile::Cranelift],
            _ => PROFILES,
        }
    }
}

const fn scenario(id: &'static str, kind: Kind, what: &'static str, iterations: u64) -> Scenario {
    Scenario { id, kind, what, iterations }
}

/// Every counted scenario. Each counts only the measured function (setup, compilation, instantiation and a
/// warm-up excluded), divided by its number of operations.
pub const SCENARIOS: &[Scenario] = &[
    scenario("calls/typed", Kind::RawTypedCall, "`TypedFunc::call` of `just_add`, raw wasmtime", 1000),
    scenario(
        "calls/untyped",
        Kind::RawUntypedCall,
        "`Func::call` of `just_add` with reused `Val` buffers, raw wasmtime",
        1000,
    ),
    scenario("calls/unchecked", Kind::RawUncheckedCall, "`Func::call_unchecked` of `just_add`, raw wasmtime", 1000),
    scenario("calls/core", Kind::CoreTypedCall, "`WasmHost::just_add`, the host core's typed call", 1000),
    scenario("calls/nop_typed", Kind::RawNop, "`TypedFunc::call` of the empty export `nop`, raw wasmtime", 1000),
    scenario("calls/nop_core", Kind::CoreNop, "`WasmHost::nop`, the host core's call of the empty export", 1000),
    scenario("callbacks/round_trip_raw", Kind::RawRoundTrip, "`trigger_host_calls` through raw wasmtime", 1000),
    scenario(
        "callbacks/round_trip_core",
        Kind::CoreRoundTrip,
        "`WasmHost::trigger_host_calls`: one call in, three host calls out",
        1000,
    ),
    scenario(
        "callbacks/per_callback_core",
        Kind::CorePerCallback,
        "one `host_log_value` call from the guest loop of `call_host_n(1000)`",
        1000,
    ),
    scenario(
        "structs/point_add_memcpy",
        Kind::RawPointAddMemcpy,
        "write two Points, `point_add`, read one: `Memory::write`/`read`",
        1000,
    ),
    scenario(
        "structs/point_add_bytemuck",
        Kind::RawPointAddBytemuck,
        "the same with bytemuck on `Memory::data_mut`",
        1000,
    ),
    scenario(
        "structs/point_add_core",
        Kind::CorePointAdd,
        "the same through `WasmHost::write`/`point_add`/`read`",
        1000,
    ),
    scenario(
        "structs/batch_4096_core",
        Kind::CoreBatch4096,
        "one `point_add_batch` over 4096 Points, through the host core",
        10,
    ),
    scenario(
        "structs/point_write_read_raw",
        Kind::RawPointWriteRead,
        "one Point written and read back with bytemuck on `Memory::data_mut`",
        1000,
    ),
    scenario(
        "structs/point_write_read_core",
        Kind::CorePointWriteRead,
        "the host core's own write and read of one Point",
        1000,
    ),
    scenario(
        "calls/async_core",
        Kind::CoreAsyncCall,
        "`WasmHost::just_add_async` run to completion by `futures::executor::block_on`",
        1000,
    ),
    scenario(
        "callbacks/round_trip_async_core",
        Kind::CoreAsyncRoundTrip,
        "`WasmHost::trigger_host_calls_async` into host functions defined by `func_wrap_async`",
        1000,
    ),
    scenario("calls/hook_core", Kind::CoreHookCall, "`WasmHost::just_add` with a call hook installed", 1000),
    scenario(
        "callbacks/per_callback_unchecked_core",
        Kind::CoreUncheckedPerCallback,
        "one `host_log_value` call, defined by `func_new_unchecked`, from the loop of `call_host_n(1000)`",
        1000,
    ),
    scenario(
        "instantiate/pre_raw",
        Kind::RawInstantiatePre,
        "a new store and `InstancePre::instantiate` of the quiet guest, dropped",
        100,
    ),
    scenario("instantiate/core", Kind::CoreInstantiate, "`GuestModule::instantiate`, dropped", 100),
    scenario("traps/trap_raw", Kind::RawTrap, "`point_add` trapping on its write, with a wasm backtrace", 100),
    scenario(
        "traps/trap_no_backtrace_raw",
        Kind::RawTrapNoBacktrace,
        "the same trap with `Config::wasm_backtrace_max_frames(None)` (no wasm backtrace)",
        100,
    ),
    scenario(
        "traps/trap_reset_core",
        Kind::CoreTrapReset,
        "the trap through `WasmHost::point_add`, then `WasmHost::reset`",
        100,
    ),
    scenario(
        "component/calls/typed",
        Kind::ComponentTypedCall,
        "the guest as a component: `ComponentHost::just_add` through `bindgen!`'s bindings",
        1000,
    ),
    scenario(
        "component/calls/bindings",
        Kind::ComponentBindingsCall,
        "the component's `just-add` through the generated bindings alone, without the host core's guard",
        1000,
    ),
    scenario(
        "component/calls/untyped",
        Kind::ComponentUntypedCall,
        "the component's `just-add` by `component::Func::call` with reused `Val` buffers",
        1000,
    ),
    scenario("component/calls/nop", Kind::ComponentNop, "`ComponentHost::nop`", 1000),
    scenario(
        "component/callbacks/round_trip",
        Kind::ComponentRoundTrip,
        "`ComponentHost::trigger_host_calls`: one call in, three calls of the `host` interface out",
        1000,
    ),
    scenario(
        "component/callbacks/per_callback",
        Kind::ComponentPerCallback,
        "one `log-value` call from the component's loop of `call-host-n(1000)`",
        1000,
    ),
    scenario(
        "component/structs/point_add_record",
        Kind::ComponentPointAdd,
        "the component's `point-add`: two Points by value (a WIT record), the sum returned",
        1000,
    ),
    scenario(
        "component/structs/list_64",
        Kind::ComponentList64,
        "the component's `point-add-batch` over two `list<point>` of 64, the sums lifted into a new `Vec`",
        100,
    ),
    scenario(
        "serving/request_on_demand",
        Kind::RequestOnDemand,
        "a request: new store and instance from `InstancePre`, 16 pages dirtied, `just_add`, drop; on demand",
        100,
    ),
    scenario(
        "serving/request_pooled",
        Kind::RequestPooled,
        "the same request under the pooling allocator (copy-on-write, nothing kept resident)",
        100,
    ),
    scenario(
        "payload/in_data_mut_64",
        Kind::PayloadDataMutSmall,
        "64 bytes copied into `Memory::data_mut`, then the guest's `checksum_bytes` over them",
        1000,
    ),
    scenario("payload/in_data_mut_1m", Kind::PayloadDataMutLarge, "the same with 1 MiB", 10),
    scenario(
        "payload/list_in_64",
        Kind::PayloadListSmall,
        "the component's `checksum-bytes` over a `list<u8>` of 64 bytes",
        1000,
    ),
    scenario("payload/list_in_1m", Kind::PayloadListLarge, "the same with 1 MiB", 10),
    scenario(
        "structs/batch_copy_64_core",
        Kind::CoreBatchCopy64,
        "64 Points of each input copied in, one `point_add_batch`, 64 sums copied out, through the host core",
        100,
    ),
];

/// The scenario `id` counts for `subject`: one of [`SCENARIOS`], or an `--invoke` export's
/// (`invoke/<name>/<way>`), as [`for_subject`] names them.
pub fn find(id: &str, subject: &Subject) -> Option<Scenario> {
    if let Some(found) = SCENARIOS.iter().find(|s| s.id == id) {
        return Some(*found);
    }
    if subject.request.is_some()
        && let Some(found) = request_scenarios().into_iter().find(|s| s.id == id)
    {
        return Some(found);
    }
    let (name, way) = id.strip_prefix("invoke/")?.rsplit_once('/')?;
    let index = subject.invokes.iter().position(|spec| spec.id_name() == name)?;
    let kind = match way {
        "typed" => Kind::InvokeTyped(index),
        "untyped" => Kind::InvokeUntyped(index),
        "unchecked" => Kind::InvokeUnchecked(index),
        "component" => Kind::InvokeComponent(index),
        _ => return None,
    };
    let id: &'static str = Box::leak(id.to_string().into_boxed_str());
    Some(scenario(id, kind, "an `--invoke` export", 1000))
}

/// The scenarios of a plugin's request (`--request`).
fn request_scenarios() -> [Scenario; 2] {
    [
        scenario(
            "request/whole",
            Kind::PluginRequest,
            "the request file's request on one instance: allocate, copy in, call, copy out, free",
            1000,
        ),
        scenario(
            "request/fresh_instance",
            Kind::PluginRequestFresh,
            "the same request on a fresh instance each time (instantiate, serve, drop)",
            100,
        ),
    ]
}

/// The scenarios the gate counts for `subject`: every one of [`SCENARIOS`] it serves, then three for each `--invoke`
/// export of a core module (the typed one only if the typed path covers its signature, as `typed` says) and one for
/// each of a component's; and the scenarios it skips, with the reason.
pub fn for_subject(
    subject: &Subject,
    serves: &Serves,
    typed: impl Fn(usize) -> Result<(), String>,
) -> (Vec<Scenario>, Vec<(&'static str, String)>) {
    let mut chosen = Vec::new();
    let mut skipped = Vec::new();
    for scenario in SCENARIOS {
        match serves.check(scenario.kind.needs()) {
            Ok(()) => chosen.push(*scenario),
            Err(why) => skipped.push((scenario.id, why)),
        }
    }
    let leak = |text: String| -> &'static str { Box::leak(text.into_boxed_str()) };
    for (index, spec) in subject.invokes.iter().enumerate() {
        let name = spec.id_name();
        let what = |how: &str| leak(format!("`{}` called by {how}", spec.name));
        if subject.core.is_some() {
            let typed_id = leak(format!("invoke/{name}/typed"));
            match typed(index) {
                Ok(()) => chosen.push(scenario(typed_id, Kind::InvokeTyped(index), what("`TypedFunc::call`"), 1000)),
                Err(why) => skipped.push((typed_id, why)),
            }
            let untyped = leak(format!("invoke/{name}/untyped"));
            chosen.push(scenario(untyped, Kind::InvokeUntyped(index), what("`Func::call`"), 1000));
            let unchecked = leak(format!("invoke/{name}/unchecked"));
            chosen.push(scenario(unchecked, Kind::InvokeUnchecked(index), what("`Func::call_unchecked`"), 1000));
        }
        if subject.component.is_some() {
            let id = leak(format!("invoke/{name}/component"));
            chosen.push(scenario(id, Kind::InvokeComponent(index), what("`component::Func::call`"), 1000));
        }
    }
    if subject.request.is_some() {
        chosen.extend(request_scenarios());
    }
    (chosen, skipped)
}

/// The counts in Bencher's metric format (BMF JSON: `{"<benchmark>": {"instructions": {"value": n}}}`), one
/// benchmark per scenario and profile (`scenario/profile`), its value the instructions per operation.
pub fn bmf(counts: &[Count]) -> serde_json::Value {
    let mut benchmarks = serde_json::Map::new();
    for c in counts {
        let measure = serde_json::json!({ "instructions": { "value": c.instructions_per_op } });
        benchmarks.insert(format!("{}/{}", c.scenario, c.profile), measure);
    }
    serde_json::Value::Object(benchmarks)
}

/// `baseline`'s counts with those of `fresh` put in place of the same scenario and profile (and added where there
/// were none): what `--save-baseline --filter` keeps.
pub fn merge_counts(baseline: &[Count], fresh: &[Count]) -> Vec<Count> {
    let mut merged: Vec<Count> =
        baseline.iter().filter(|b| !fresh.iter().any(|f| f.key() == b.key())).cloned().collect();
    merged.extend(fresh.iter().cloned());
    merged
}

/// The profiles the gate counts under.
pub const PROFILES: &[EngineProfile] =
    &[EngineProfile::Cranelift, EngineProfile::Winch, EngineProfile::Pulley, EngineProfile::BoundsChecked];

/// The gate's loose threshold: with no measured spread, or on another toolchain than the baseline's, a scenario
/// whose count grows by more than this many percent fails the gate.
pub const DEFAULT_THRESHOLD_PERCENT: f64 = 2.0;

/// On the baseline's toolchain, a scenario whose count repeated exactly fails on a growth of more than this many
/// instructions per operation, or of [`TIGHT_PERCENT`], whichever is larger.
pub const TIGHT_INSTRUCTIONS: f64 = 1.0;
pub const TIGHT_PERCENT: f64 = 0.1;
/// On the baseline's toolchain, a scenario whose counts spread fails on a growth of more than this many times its
/// measured spread (and never on less than the exact scenarios' margin).
pub const SPREAD_MARGIN: f64 = 4.0;
/// The scenarios counted in several processes ([`Kind::processes`]) keep at least this many percent on the
/// baseline's toolchain: the smallest of three processes still moves by a few tenths of a percent between runs, so
/// a few rounds of `--repeat` that happen to agree do not make such a count exact.
pub const SEVERAL_PROCESSES_PERCENT: f64 = 0.5;
/// A scenario whose minor page faults per operation grow past this multiple of the baseline's, plus
/// [`FAULT_SLACK`], fails: twice the faults always does.
pub const FAULT_FACTOR: f64 = 1.25;
pub const FAULT_SLACK: f64 = 0.5;

/// The symbol callgrind collects inside; nothing outside it is counted.
pub const MEASURED_SYMBOL: &str = "boundary_gate_measured";

/// One scenario under one profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Count {
    pub scenario: String,
    pub profile: String,
    pub iterations: u64,
    /// All instructions executed inside the measured function.
    pub total_instructions: u64,
    /// `total_instructions / iterations`.
    pub instructions_per_op: f64,
    /// The largest count minus the smallest, per operation, over the rounds of `--repeat` that made the baseline
    /// (of the count kept in each: the smallest of [`Kind::processes`]); none where it was counted once. 0 means the
    /// count repeated exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spread_per_op: Option<f64>,
    /// Minor page faults per operation in a native run of the counted loop, for the scenarios that make instances
    /// (what instruction counts cannot see: the kernel's work).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faults_per_op: Option<f64>,
}

impl Count {
    pub fn new(scenario: &Scenario, profile: EngineProfile, total_instructions: u64) -> Self {
        Count {
            scenario: scenario.id.to_string(),
            profile: profile.name().to_string(),
            iterations: scenario.iterations,
            total_instructions,
            instructions_per_op: total_instructions as f64 / scenario.iterations as f64,
            spread_per_op: None,
            faults_per_op: None,
        }
    }

    pub fn key(&self) -> (String, String) {
        (self.scenario.clone(), self.profile.clone())
    }
}

/// Whether the scenario's minor page faults are counted and gated: those that make instances.
pub fn counts_faults(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::RawInstantiatePre
            | Kind::CoreInstantiate
            | Kind::RequestOnDemand
            | Kind::RequestPooled
            | Kind::PluginRequestFresh
    )
}

/// What a count depends on besides the code, where it is more than the toolchain: callgrind counts one
/// instruction per byte of `rep movsb`/`rep stosb`, so a scenario that is mostly memcpy counts glibc's choice of
/// copy for the CPU valgrind reports.
pub fn depends_on(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::PayloadDataMutLarge | Kind::PayloadListLarge => {
            Some("mostly memcpy: counted per byte of `rep movsb`, so it depends on glibc and the CPU valgrind reports")
        }
        Kind::ComponentList64 => Some(
            "moves by about 3,200 instructions per call with changes elsewhere in the binary (cause not found): if it \
             moves alone, recount it",
        ),
        _ => None,
    }
}

/// Whether the scenario's count is known to move without a change on its path (see [`depends_on`]): it keeps the
/// loose threshold until the cause is found.
pub fn moves_alone(kind: Kind) -> bool {
    matches!(kind, Kind::ComponentList64)
}

/// A kernel as page faults are compared under it: its system, version and machine (`Linux 6.18.44 x86_64`), without
/// the build's own suffix (`6.18.44-fc-v1045`): two builds of one version fault alike on these scenarios' paths. An
/// empty string for a kernel that was not recorded.
pub fn kernel_version(uname: &str) -> String {
    uname
        .split_whitespace()
        .map(|word| match word.split_once('-') {
            Some((version, _)) if version.starts_with(|c: char| c.is_ascii_digit()) => version,
            _ => word,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// What the counts were taken with. Tight thresholds hold only where all of it matches the baseline's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toolchain {
    /// The host's CPU model: compared only when either side lacks [`Toolchain::cpu_counted`].
    pub cpu: String,
    /// The CPU as the counted process sees it under valgrind ([`crate::gate::runner::cpu_seen`]): what glibc and
    /// the standard library choose their code paths by. valgrind answers CPUID with a fixed model for each level
    /// of the host's capabilities, so two different hosts count alike when this matches.
    pub cpu_counted: String,
    pub glibc: String,
    pub valgrind: String,
    pub rustc: String,
    pub wasmtime: String,
}

impl Toolchain {
    /// What differs between `self` (the baseline's) and `other` (this run's), one phrase each.
    pub fn differences(&self, other: &Toolchain) -> Vec<String> {
        let cpu = if self.cpu_counted.is_empty() || other.cpu_counted.is_empty() {
            ("CPU", &self.cpu, &other.cpu)
        } else {
            ("the CPU valgrind presents", &self.cpu_counted, &other.cpu_counted)
        };
        let pairs = [
            cpu,
            ("glibc", &self.glibc, &other.glibc),
            ("valgrind", &self.valgrind, &other.valgrind),
            ("rustc", &self.rustc, &other.rustc),
            ("wasmtime", &self.wasmtime, &other.wasmtime),
        ];
        pairs
            .into_iter()
            .filter(|(_, a, b)| a != b)
            .map(|(what, a, b)| format!("{what} {} (this run: {b})", if a.is_empty() { "not recorded" } else { a }))
            .collect()
    }
}

/// The committed baseline (`results/gate-baseline.json`): one row per scenario and profile, with the versions
/// the counts were taken with.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Baseline {
    /// The format's version (`crate::record::SCHEMA`; 1 for a baseline that does not say).
    #[serde(default = "crate::record::schema_one")]
    pub schema: u32,
    pub date: String,
    pub command: String,
    pub git_revision: String,
    pub cpu: String,
    /// The CPU as the counted process saw it under valgrind ([`Toolchain::cpu_counted`]); empty in a baseline that
    /// did not record it.
    #[serde(default)]
    pub cpu_under_valgrind: String,
    /// The C library's version (`getconf GNU_LIBC_VERSION`); empty in a baseline that did not record it.
    #[serde(default)]
    pub glibc: String,
    pub rustc: String,
    pub wasmtime: String,
    pub valgrind: String,
    /// The kernel (`uname -srm`) and the transparent huge pages' mode the page faults were counted under: faults
    /// are compared only under the same (empty in a baseline that did not record them).
    #[serde(default)]
    pub kernel: String,
    #[serde(default)]
    pub transparent_huge_pages: String,
    /// The module counted, when it is not the project's guest: its path and content hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    pub counts: Vec<Count>,
}

impl Baseline {
    pub fn toolchain(&self) -> Toolchain {
        Toolchain {
            cpu: self.cpu.clone(),
            cpu_counted: self.cpu_under_valgrind.clone(),
            glibc: self.glibc.clone(),
            valgrind: self.valgrind.clone(),
            rustc: self.rustc.clone(),
            wasmtime: self.wasmtime.clone(),
        }
    }
}

/// How one scenario compares with its baseline.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Same,
    Regressed,
    /// More minor page faults per operation than the baseline allows.
    MoreFaults,
    Improved,
    /// The baseline has no row for it.
    New,
}

/// Which threshold a comparison used.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    /// The count repeated exactly on the baseline's toolchain.
    Exact,
    /// The count spread on the baseline's toolchain: a multiple of the spread.
    Spread,
    /// No spread was measured, or the toolchain differs: `--threshold` percent.
    Loose,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub scenario: String,
    pub profile: String,
    pub baseline: Option<f64>,
    pub current: f64,
    /// Relative change in percent, when there is a baseline.
    pub change_percent: Option<f64>,
    /// The growth in instructions per operation beyond which it fails, when there is a baseline.
    pub allowed: Option<f64>,
    pub threshold: Threshold,
    /// Minor page faults per operation: the baseline's and this run's, where counted.
    pub faults: Option<(f64, f64)>,
    /// The faults grew beyond [`FAULT_FACTOR`] and [`FAULT_SLACK`] (whatever the instructions did).
    pub more_faults: bool,
    pub verdict: Verdict,
}

/// The growth in instructions per operation that `base` allows, and which rule gave it: tight when `tight` (the
/// toolchains match) and the baseline measured a spread, else `loose_percent` of the count.
pub fn allowed_growth(base: &Count, tight: bool, loose_percent: f64) -> (f64, Threshold) {
    let exact = (base.instructions_per_op * TIGHT_PERCENT / 100.0).max(TIGHT_INSTRUCTIONS);
    let loose = base.instructions_per_op * loose_percent / 100.0;
    let kind = SCENARIOS.iter().find(|s| s.id == base.scenario).map(|s| s.kind);
    let several = kind.is_some_and(|k| k.processes() > 1);
    let floor = if several { base.instructions_per_op * SEVERAL_PROCESSES_PERCENT / 100.0 } else { exact };
    match base.spread_per_op {
        _ if kind.is_some_and(moves_alone) => (loose, Threshold::Loose),
        Some(s) if tight && s == 0.0 && !several => (exact, Threshold::Exact),
        // Never looser than the loose rule: a few rounds' spread is an estimate, not a licence.
        Some(s) if tight => (floor.max(exact).max(SPREAD_MARGIN * s).min(loose.max(exact)), Threshold::Spread),
        _ => (loose, Threshold::Loose),
    }
}

/// Compares fresh counts with the baseline: a growth beyond [`allowed_growth`] is a regression, as many
/// minor page faults per operation beyond [`FAULT_FACTOR`] and [`FAULT_SLACK`]; a shrinkage beyond the same margin
/// an improvement (so the baseline gets refreshed).
///
/// Page faults are compared only when `faults_comparable` (the same kernel and transparent huge pages).
pub fn compare(
    baseline: &Baseline,
    current: &[Count],
    tight: bool,
    faults_comparable: bool,
    loose_percent: f64,
) -> Vec<Comparison> {
    current
        .iter()
        .map(|c| {
            let base = baseline.counts.iter().find(|b| b.key() == c.key());
            let allowed = base.map(|b| allowed_growth(b, tight, loose_percent));
            let faults = base.filter(|_| faults_comparable).and_then(|b| Some((b.faults_per_op?, c.faults_per_op?)));
            let more_faults = faults.is_some_and(|(was, now)| now > was * FAULT_FACTOR + FAULT_SLACK);
            let verdict = match (base, allowed) {
                (Some(b), Some((limit, _))) => {
                    let growth = c.instructions_per_op - b.instructions_per_op;
                    if growth > limit {
                        Verdict::Regressed
                    } else if more_faults {
                        Verdict::MoreFaults
                    } else if growth < -limit {
                        Verdict::Improved
                    } else {
                        Verdict::Same
                    }
                }
                _ => Verdict::New,
            };
            Comparison {
                scenario: c.scenario.clone(),
                profile: c.profile.clone(),
                baseline: base.map(|b| b.instructions_per_op),
                current: c.instructions_per_op,
                change_percent: base
                    .map(|b| (c.instructions_per_op - b.instructions_per_op) / b.instructions_per_op * 100.0),
                allowed: allowed.map(|(limit, _)| limit),
                threshold: allowed.map_or(Threshold::Loose, |(_, t)| t),
                faults,
                more_faults,
                verdict,
            }
        })
        .collect()
}

/// The table the gate prints: scenario, profile, baseline, current, change, the growth allowed and the rule that
/// allowed it, and the page faults where counted.
pub fn table(comparisons: &[Comparison]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<32} {:<15} {:>14} {:>14} {:>9} {:>16}  verdict",
        "scenario", "profile", "baseline", "current", "change", "allowed (+/op)"
    );
    for c in comparisons {
        let base = c.baseline.map_or("-".to_string(), |b| format!("{b:.1}"));
        let change = c.change_percent.map_or("-".to_string(), |x| format!("{x:+.2}%"));
        let rule = match c.threshold {
            Threshold::Exact => "exact",
            Threshold::Spread => "spread",
            Threshold::Loose => "loose",
        };
        let allowed = c.allowed.map_or("-".to_string(), |a| format!("{a:.1} {rule}"));
        let verdict = match c.verdict {
            Verdict::Same => "ok",
            Verdict::Regressed => "REGRESSED",
            Verdict::MoreFaults => "MORE PAGE FAULTS",
            Verdict::Improved => "improved: refresh the baseline",
            Verdict::New => "no baseline: refresh it",
        };
        let faults = c.faults.map_or(String::new(), |(was, now)| format!(" (faults/op {was:.2} -> {now:.2})"));
        let _ = writeln!(
            out,
            "{:<32} {:<15} {:>14} {:>14.1} {:>9} {:>16}  {verdict}{faults}",
            c.scenario, c.profile, base, c.current, change, allowed
        );
    }
    out
}

/// The total instruction count of a callgrind output file (its `totals:` or `summary:` line).
pub fn callgrind_total(out_file: &str) -> Option<u64> {
    out_file.lines().find_map(|line| {
        let rest = line.strip_prefix("totals:").or_else(|| line.strip_prefix("summary:"))?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(scenario: usize, per_op: f64, spread: Option<f64>, faults: Option<f64>) -> Count {
        let mut c = Count::new(&SCENARIOS[scenario], EngineProfile::Cranelift, (per_op * 1000.0) as u64);
        c.spread_per_op = spread;
        c.faults_per_op = faults;
        c
    }

    fn baseline(per_op: f64, spread: Option<f64>, faults: Option<f64>) -> Baseline {
        Baseline {
            schema: crate::record::SCHEMA,
            date: String::new(),
            command: String::new(),
            git_revision: String::new(),
            cpu: String::new(),
            cpu_under_valgrind: String::new(),
            glibc: String::new(),
            rustc: String::new(),
            wasmtime: String::new(),
            valgrind: String::new(),
            kernel: String::new(),
            transparent_huge_pages: String::new(),
            module: None,
            counts: vec![count(0, per_op, spread, faults)],
        }
    }

    fn verdict(base: &Baseline, per_op: f64, tight: bool) -> Verdict {
        compare(base, &[count(0, per_op, None, None)], tight, true, 2.0)[0].verdict.clone()
    }

    #[test]
    fn without_a_measured_spread_growth_beyond_the_loose_threshold_fails_and_shrinkage_is_reported() {
        for tight in [false, true] {
            let base = baseline(400.0, None, None);
            assert_eq!(verdict(&base, 400.0, tight), Verdict::Same);
            assert_eq!(verdict(&base, 408.0, tight), Verdict::Same);
            assert_eq!(verdict(&base, 408.5, tight), Verdict::Regressed);
            assert_eq!(verdict(&base, 391.0, tight), Verdict::Improved);
        }
        let other = compare(
            &baseline(400.0, None, None),
            &[Count::new(&SCENARIOS[1], EngineProfile::Winch, 5)],
            true,
            true,
            2.0,
        );
        assert_eq!(other[0].verdict, Verdict::New);
    }

    #[test]
    fn an_exact_count_on_the_baselines_toolchain_fails_on_more_than_one_instruction_or_a_tenth_of_a_percent() {
        let small = baseline(372.0, Some(0.0), None);
        assert_eq!(verdict(&small, 373.0, true), Verdict::Same);
        assert_eq!(verdict(&small, 373.5, true), Verdict::Regressed);
        assert_eq!(verdict(&small, 370.5, true), Verdict::Improved);
        // On another toolchain the same growth is inside the loose threshold.
        assert_eq!(verdict(&small, 373.5, false), Verdict::Same);
        let large = baseline(32_000.0, Some(0.0), None);
        assert_eq!(verdict(&large, 32_032.0, true), Verdict::Same);
        assert_eq!(verdict(&large, 32_033.0, true), Verdict::Regressed);
    }

    #[test]
    fn a_spread_count_keeps_a_margin_of_a_few_times_its_spread() {
        let base = baseline(10_000.0, Some(5.0), None);
        assert_eq!(allowed_growth(&base.counts[0], true, 2.0), (20.0, Threshold::Spread));
        assert_eq!(verdict(&base, 10_020.0, true), Verdict::Same);
        assert_eq!(verdict(&base, 10_021.0, true), Verdict::Regressed);
        // A tiny spread never gives less than the exact scenarios' margin.
        let steady = baseline(10_000.0, Some(0.01), None);
        assert_eq!(allowed_growth(&steady.counts[0], true, 2.0).0, 10.0);
        // A large spread never gives more than the loose threshold.
        let noisy = baseline(10_000.0, Some(100.0), None);
        assert_eq!(allowed_growth(&noisy.counts[0], true, 2.0), (200.0, Threshold::Spread));
    }

    #[test]
    fn a_scenario_counted_in_several_processes_is_never_exact() {
        let several = SCENARIOS.iter().position(|s| s.kind.processes() > 1).unwrap();
        let mut base = baseline(30_000.0, Some(0.0), None);
        base.counts = vec![count(several, 30_000.0, Some(0.0), None)];
        assert_eq!(allowed_growth(&base.counts[0], true, 2.0), (150.0, Threshold::Spread));
    }

    #[test]
    fn a_count_known_to_move_alone_keeps_the_loose_threshold() {
        let list = SCENARIOS.iter().position(|s| s.kind == Kind::ComponentList64).unwrap();
        let mut base = baseline(32_951.3, Some(0.0), None);
        base.counts = vec![count(list, 32_951.3, Some(0.0), None)];
        assert_eq!(allowed_growth(&base.counts[0], true, 2.0).1, Threshold::Loose);
    }

    #[test]
    fn twice_the_page_faults_fails_even_at_the_same_count() {
        for was in [0.0, 1.0, 16.0, 64.0] {
            let base = baseline(400.0, Some(0.0), Some(was));
            let at = |faults: f64| {
                compare(&base, &[count(0, 400.0, None, Some(faults))], true, true, 2.0)[0].verdict.clone()
            };
            assert_eq!(at(was), Verdict::Same, "{was}");
            assert_eq!(at(was * 2.0 + 1.0), Verdict::MoreFaults, "{was}");
        }
        // Under another kernel or huge-page mode the faults are not compared.
        let base = baseline(400.0, Some(0.0), Some(16.0));
        let other = compare(&base, &[count(0, 400.0, None, Some(32.0))], true, false, 2.0);
        assert_eq!((other[0].verdict.clone(), other[0].faults), (Verdict::Same, None));
        // A count taken without faults is compared on instructions alone.
        assert_eq!(verdict(&baseline(400.0, Some(0.0), Some(1.0)), 400.0, true), Verdict::Same);
    }

    #[test]
    fn kernels_compare_by_version() {
        assert_eq!(kernel_version("Linux 6.18.44-fc-v1045 x86_64"), "Linux 6.18.44 x86_64");
        assert_eq!(kernel_version("Linux 6.18.44-fc-v1045 x86_64"), kernel_version("Linux 6.18.44-fc-v1300 x86_64"));
        assert_ne!(kernel_version("Linux 6.18.44 x86_64"), kernel_version("Linux 6.19.1 x86_64"));
        assert_eq!(kernel_version(""), "");
    }

    #[test]
    fn toolchain_differences_are_named() {
        let a = baseline(1.0, None, None).toolchain();
        let mut b = a.clone();
        assert!(a.differences(&b).is_empty());
        b.glibc = "glibc 2.39".into();
        assert_eq!(a.differences(&b), vec!["glibc not recorded (this run: glibc 2.39)".to_string()]);
        // Two host CPUs count alike where valgrind presents the same one; the model is compared only without that.
        let (mut intel, mut amd) = (a.clone(), a.clone());
        (intel.cpu, amd.cpu) = ("Intel(R) Xeon(R) Processor".into(), "AMD EPYC".into());
        assert_eq!(intel.differences(&amd), vec!["CPU Intel(R) Xeon(R) Processor (this run: AMD EPYC)".to_string()]);
        (intel.cpu_counted, amd.cpu_counted) =
            ("GenuineIntel i7-4910MQ 1a2b".into(), "GenuineIntel i7-4910MQ 1a2b".into());
        assert!(intel.differences(&amd).is_empty());
        amd.cpu_counted = "GenuineIntel i7-4910MQ 3c4d".into();
        assert_eq!(
            intel.differences(&amd),
            vec![
                "the CPU valgrind presents GenuineIntel i7-4910MQ 1a2b (this run: GenuineIntel i7-4910MQ 3c4d)"
                    .to_string()
            ]
        );
    }

    #[test]
    fn callgrind_totals_are_read() {
        let file = "version: 1\ncreator: callgrind-3.19.0\nevents: Ir\nfl=(1) x\nfn=(1) f\n0 5\nsummary: 123456\ntotals: 123456\n";
        assert_eq!(callgrind_total(file), Some(123456));
        assert_eq!(callgrind_total("events: Ir\n"), None);
    }

    /// A scenario without a baseline fails the gate; this says so in `cargo test`, before anyone runs the gate.
    #[test]
    fn every_scenario_of_the_project_s_guest_has_a_baseline() {
        let path = crate::record::workspace_root().join("results").join("gate-baseline.json");
        let text = std::fs::read_to_string(&path).unwrap();
        let baseline: Baseline = serde_json::from_str(&text).unwrap();
        for scenario in SCENARIOS {
            for profile in scenario.kind.profiles() {
                let key = (scenario.id.to_string(), profile.name().to_string());
                assert!(
                    baseline.counts.iter().any(|c| c.key() == key),
                    "{} under {} has no count in {}: count it with `cargo bench --bench gate -- --filter {} \
                     --save-baseline` (benches/README.md, \"Extending\")",
                    scenario.id,
                    profile.name(),
                    path.display(),
                    scenario.id
                );
            }
        }
    }

    #[test]
    fn scenario_ids_are_unique() {
        let mut ids: Vec<_> = SCENARIOS.iter().map(|s| s.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), SCENARIOS.len());
    }
}
