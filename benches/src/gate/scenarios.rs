//! Every scenario the gate counts, each one entry of [`SCENARIOS`]: its id, what one operation is, how many
//! operations one measurement runs, what it needs of the module, how it is counted, and the body that runs it.
//! The scenarios of a user's `--invoke` exports and `--request` are made here too ([`for_subject`]).

use crate::guard::{self, OrStop};
use crate::ops::component::{self as component_ops, BatchCopy, ComponentBench};
use crate::ops::invoke::{ComponentInvoke, CoreInvoke};
use crate::ops::plugin::PreparedRequest;
use crate::ops::raw::Linked;
use crate::ops::{self, CoreBench, RawBench};
use crate::payload::methods::{Buffers, ComponentMover, CoreMover, Method};
use crate::probe::Serves;
use crate::serving::requests::{self as serving, SPARSE_16, Server, Workload};
use crate::subject::{Needs, Subject};
use boundary_host::component::export as cexport;
use boundary_host::wasmtime::Engine;
use boundary_host::{EngineProfile, HostFuncStyle, Point, Wasm};
use std::borrow::Cow;
use std::hint::black_box;
use std::sync::LazyLock;

/// The profiles the gate counts under.
pub const PROFILES: &[EngineProfile] =
    &[EngineProfile::Cranelift, EngineProfile::Winch, EngineProfile::Pulley, EngineProfile::BoundsChecked];

/// A scenario's body: runs the operation `n` times.
pub type Body = Box<dyn FnMut(u64)>;

/// What a scenario's body is made from: the profile and its engine (made with [`EngineProfile::counting_config`]),
/// the module (the component for a scenario that needs one, else the core module) and the subject it came from.
#[derive(Debug)]
struct Setup<'a> {
    profile: EngineProfile,
    engine: Engine,
    wasm: Wasm,
    subject: &'a Subject,
    /// The index of the `--invoke` export in the subject's list, for an `invoke/…` scenario.
    invoke: usize,
}

impl Setup<'_> {
    fn raw(&self) -> RawBench {
        RawBench::for_wasm(self.profile, &self.engine, &self.wasm)
    }

    fn core(&self) -> CoreBench {
        self.core_with(HostFuncStyle::Typed)
    }

    fn core_with(&self, host_funcs: HostFuncStyle) -> CoreBench {
        CoreBench::for_wasm(self.profile, &self.engine, &self.wasm, host_funcs)
    }

    fn component(&self) -> ComponentBench {
        ComponentBench::for_wasm(self.profile, &self.engine, &self.wasm)
    }
}

/// Makes a scenario's body for a setup.
type Make = fn(&Setup) -> Result<Body, String>;

/// One counted scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Slash path: `family/name`.
    pub id: Cow<'static, str>,
    /// What one operation is.
    pub what: Cow<'static, str>,
    /// Operations in one measurement; the count is divided by it.
    pub iterations: u64,
    /// What the scenario needs of the module it counts.
    pub needs: Needs,
    /// How many processes count it; the gate keeps the smallest count ([`Scenario::in_processes`]).
    pub processes: usize,
    /// The profiles it is counted under.
    pub profiles: &'static [EngineProfile],
    /// Whether its minor page faults are counted (natively) and gated: the scenarios that make instances.
    pub counts_faults: bool,
    /// What its count depends on besides the code, where that is more than the toolchain (printed as a note).
    pub depends_on: Option<&'static str>,
    /// Its count is known to move without a change on its path: it keeps the loose threshold.
    pub moves_alone: bool,
    invoke: usize,
    make: Make,
}

/// A scenario of `iterations` operations that needs the guest ABI, counted once under each of [`PROFILES`].
fn scenario(id: &'static str, what: &'static str, iterations: u64, make: Make) -> Scenario {
    Scenario {
        id: Cow::Borrowed(id),
        what: Cow::Borrowed(what),
        iterations,
        needs: Needs::Abi,
        processes: 1,
        profiles: PROFILES,
        counts_faults: false,
        depends_on: None,
        moves_alone: false,
        invoke: 0,
        make,
    }
}

impl Scenario {
    fn needing(self, needs: Needs) -> Self {
        Scenario { needs, ..self }
    }

    /// Counted in `processes` processes, keeping the smallest count. Most scenarios count the same in every
    /// process. Those that create stores, fiber stacks or instances go through state wasmtime sets up per process
    /// (hash tables whose seeds are random, the placement of fresh mappings), and some processes count up to 1.5%
    /// more for it, a constant amount on every iteration. The smallest of three processes is steadier, but still
    /// moved by up to 1.6% over three rounds (`instantiate/core` under Cranelift), so these never get the exact
    /// threshold ([`crate::gate::allowed_growth`]).
    fn in_processes(self, processes: usize) -> Self {
        Scenario { processes, ..self }
    }

    /// Makes instances: counted in three processes, and its page faults gated.
    fn making_instances(self) -> Self {
        Scenario { counts_faults: true, ..self.in_processes(3) }
    }

    fn only_under(self, profiles: &'static [EngineProfile]) -> Self {
        Scenario { profiles, ..self }
    }

    fn depending_on(self, what: &'static str) -> Self {
        Scenario { depends_on: Some(what), ..self }
    }

    /// Known to move alone, for the reason given: loose threshold, and a note.
    fn moving_alone(self, why: &'static str) -> Self {
        Scenario { moves_alone: true, ..self.depending_on(why) }
    }

    /// The scenario's body under `profile` for `subject`: the engine made, the module compiled and instantiated.
    pub fn body(&self, profile: EngineProfile, subject: &Subject) -> Result<Body, String> {
        let config = profile.counting_config().map_err(|e| e.to_string())?;
        let engine = profile.engine_from(&config).map_err(|e| e.to_string())?;
        let needs_component = matches!(self.needs, Needs::World | Needs::WorldExport(_) | Needs::AnyComponent);
        let wasm = if needs_component {
            subject.component.clone().ok_or("this scenario needs a component")?
        } else {
            subject.core.clone().ok_or("this scenario needs a core module")?
        };
        (self.make)(&Setup { profile, engine, wasm, subject, invoke: self.invoke })
    }
}

/// A body that runs `op` `n` times, keeping each result alive so nothing is optimised away.
fn repeat<R>(mut op: impl FnMut() -> R) -> impl FnMut(u64) {
    move |n| {
        for _ in 0..n {
            black_box(op());
        }
    }
}

/// `op` on raw wasmtime's bench, `n` times.
fn on_raw<R: 'static>(s: &Setup, mut op: impl FnMut(&mut RawBench) -> R + 'static) -> Result<Body, String> {
    let mut r = s.raw();
    Ok(Box::new(repeat(move || op(&mut r))))
}

/// `op` on the host core's bench, `n` times.
fn on_core<R: 'static>(mut c: CoreBench, mut op: impl FnMut(&mut CoreBench) -> R + 'static) -> Result<Body, String> {
    Ok(Box::new(repeat(move || op(&mut c))))
}

/// `op` on the component's bench, `n` times.
fn on_component<R: 'static>(s: &Setup, mut op: impl FnMut(&mut ComponentBench) -> R + 'static) -> Result<Body, String> {
    let mut c = s.component();
    Ok(Box::new(repeat(move || op(&mut c))))
}

/// Every counted scenario of the project's guest, in the order the gate reports them. Each counts only the measured
/// function (setup, compilation, instantiation and a warm-up excluded), divided by its number of operations.
pub static SCENARIOS: LazyLock<Vec<Scenario>> = LazyLock::new(|| {
    vec![
        scenario("calls/typed", "`TypedFunc::call` of `just_add`, raw wasmtime", 1000, |s| {
            on_raw(s, ops::raw_just_add)
        }),
        scenario("calls/untyped", "`Func::call` of `just_add` with reused `Val` buffers, raw wasmtime", 1000, |s| {
            on_raw(s, ops::raw_just_add_untyped)
        }),
        scenario("calls/unchecked", "`Func::call_unchecked` of `just_add`, raw wasmtime", 1000, |s| {
            on_raw(s, ops::raw_just_add_unchecked)
        }),
        scenario("calls/core", "`WasmHost::just_add`, the host core's typed call", 1000, |s| {
            on_core(s.core(), ops::core_just_add)
        }),
        scenario("calls/nop_typed", "`TypedFunc::call` of the empty export `nop`, raw wasmtime", 1000, |s| {
            on_raw(s, ops::raw_nop)
        })
        .needing(Needs::Nop),
        scenario("calls/nop_core", "`WasmHost::nop`, the host core's call of the empty export", 1000, |s| {
            on_core(s.core(), ops::core_nop)
        })
        .needing(Needs::Nop),
        scenario("callbacks/round_trip_raw", "`trigger_host_calls` through raw wasmtime", 1000, |s| {
            on_raw(s, ops::raw_trigger)
        }),
        scenario(
            "callbacks/round_trip_core",
            "`WasmHost::trigger_host_calls`: one call in, three host calls out",
            1000,
            |s| on_core(s.core(), ops::core_trigger),
        ),
        scenario(
            "callbacks/per_callback_core",
            "one `host_log_value` call from the guest loop of `call_host_n(1000)`",
            1000,
            |s| {
                let mut c = s.core();
                Ok(Box::new(move |n: u64| c.host.call_host_n(black_box(n as u32)).or_stop()))
            },
        )
        .needing(Needs::CallHostN),
        scenario(
            "structs/point_add_memcpy",
            "write two Points, `point_add`, read one: `Memory::write`/`read`",
            1000,
            |s| on_raw(s, ops::raw_point_add_memcpy),
        ),
        scenario("structs/point_add_bytemuck", "the same with bytemuck on `Memory::data_mut`", 1000, |s| {
            on_raw(s, ops::raw_point_add_bytemuck)
        }),
        scenario("structs/point_add_core", "the same through `WasmHost::write`/`point_add`/`read`", 1000, |s| {
            on_core(s.core(), ops::core_point_add)
        }),
        scenario("structs/batch_4096_core", "one `point_add_batch` over 4096 Points, through the host core", 10, |s| {
            let mut c = s.core();
            const N: usize = 4096;
            let base = c.host.reserve(3 * N * size_of::<Point>()).or_stop();
            for i in 0..N {
                c.host.write(base + 8 * i, &Point::new(i as i32, 1)).or_stop();
                c.host.write(base + 8 * (N + i), &Point::new(2, -(i as i32))).or_stop();
            }
            let p = |o: usize| u32::try_from(o).expect("reserved offsets lie in a 32-bit memory");
            let (a, b, out) = (p(base), p(base + 8 * N), p(base + 16 * N));
            Ok(Box::new(repeat(move || c.host.point_add_batch(out, a, b, N as u32).or_stop())))
        })
        .needing(Needs::Batch),
        scenario(
            "structs/point_write_read_raw",
            "one Point written and read back with bytemuck on `Memory::data_mut`",
            1000,
            |s| on_raw(s, ops::raw_point_write_read),
        ),
        scenario("structs/point_write_read_core", "the host core's own write and read of one Point", 1000, |s| {
            on_core(s.core(), ops::core_point_write_read)
        }),
        scenario(
            "calls/async_core",
            "`WasmHost::just_add_async` run to completion by `futures::executor::block_on`",
            1000,
            |s| on_core(s.core(), ops::core_just_add_async),
        )
        .in_processes(3),
        scenario(
            "callbacks/round_trip_async_core",
            "`WasmHost::trigger_host_calls_async` into host functions defined by `func_wrap_async`",
            1000,
            |s| on_core(s.core_with(HostFuncStyle::Async), ops::core_trigger_async),
        )
        .in_processes(3),
        scenario("calls/hook_core", "`WasmHost::just_add` with a call hook installed", 1000, |s| {
            on_core(CoreBench::with_hook(s.profile, &s.engine, &s.wasm), ops::core_just_add)
        }),
        scenario(
            "callbacks/per_callback_unchecked_core",
            "one `host_log_value` call, defined by `func_new_unchecked`, from the loop of `call_host_n(1000)`",
            1000,
            |s| {
                let mut c = s.core_with(HostFuncStyle::Unchecked);
                Ok(Box::new(move |n: u64| c.host.call_host_n(black_box(n as u32)).or_stop()))
            },
        )
        .needing(Needs::CallHostN),
        scenario(
            "instantiate/pre_raw",
            "a new store and `InstancePre::instantiate` of the quiet guest, dropped",
            100,
            |s| {
                let linked = Linked::load(s.profile, &s.engine, &s.wasm)?;
                Ok(Box::new(repeat(move || ops::raw_instantiate_pre(&linked))))
            },
        )
        .needing(Needs::Module)
        .making_instances(),
        scenario("instantiate/core", "`GuestModule::instantiate`, dropped", 100, |s| {
            let guest = s.core().host.guest().clone();
            Ok(Box::new(repeat(move || ops::core_instantiate(&guest))))
        })
        .making_instances(),
        scenario("traps/trap_raw", "`point_add` trapping on its write, with a wasm backtrace", 100, |s| {
            on_raw(s, ops::raw_point_add_trap)
        })
        .needing(Needs::Trap)
        .in_processes(3),
        scenario(
            "traps/trap_no_backtrace_raw",
            "the same trap with `Config::wasm_backtrace_max_frames(None)` (no wasm backtrace)",
            100,
            |s| {
                let mut config = s.profile.counting_config().map_err(|e| e.to_string())?;
                config.wasm_backtrace_max_frames(None);
                let engine = s.profile.engine_from(&config).map_err(|e| e.to_string())?;
                let mut r = RawBench::for_wasm(s.profile, &engine, &s.wasm);
                Ok(Box::new(repeat(move || ops::raw_point_add_trap(&mut r))))
            },
        )
        .needing(Needs::Trap)
        .in_processes(3),
        scenario("traps/trap_reset_core", "the trap through `WasmHost::point_add`, then `WasmHost::reset`", 100, |s| {
            on_core(s.core(), ops::core_point_add_trap_reset)
        })
        .needing(Needs::Trap)
        .in_processes(3),
        scenario(
            "component/calls/typed",
            "the guest as a component: `ComponentHost::just_add` through `bindgen!`'s bindings",
            1000,
            |s| on_component(s, component_ops::component_just_add),
        )
        .needing(Needs::World),
        scenario(
            "component/calls/bindings",
            "the component's `just-add` through the generated bindings alone, without the host core's guard",
            1000,
            |s| on_component(s, component_ops::component_just_add_bindings),
        )
        .needing(Needs::World),
        scenario(
            "component/calls/untyped",
            "the component's `just-add` by `component::Func::call` with reused `Val` buffers",
            1000,
            |s| on_component(s, component_ops::component_just_add_untyped),
        )
        .needing(Needs::World),
        scenario("component/calls/nop", "`ComponentHost::nop`", 1000, |s| {
            on_component(s, component_ops::component_nop)
        })
        .needing(Needs::WorldExport(cexport::NOP)),
        scenario(
            "component/callbacks/round_trip",
            "`ComponentHost::trigger_host_calls`: one call in, three calls of the `host` interface out",
            1000,
            |s| on_component(s, component_ops::component_trigger),
        )
        .needing(Needs::World),
        scenario(
            "component/callbacks/per_callback",
            "one `log-value` call from the component's loop of `call-host-n(1000)`",
            1000,
            |s| {
                let mut c = s.component();
                Ok(Box::new(move |n: u64| c.host.call_host_n(black_box(n as u32)).or_stop()))
            },
        )
        .needing(Needs::WorldExport(cexport::CALL_HOST_N)),
        scenario(
            "component/structs/point_add_record",
            "the component's `point-add`: two Points by value (a WIT record), the sum returned",
            1000,
            |s| on_component(s, component_ops::component_point_add),
        )
        .needing(Needs::World),
        scenario(
            "component/structs/list_64",
            "the component's `point-add-batch` over two `list<point>` of 64, the sums lifted into a new `Vec`",
            100,
            |s| on_component(s, |c| component_ops::component_batch(c, 64)),
        )
        .needing(Needs::WorldExport(cexport::POINT_ADD_BATCH))
        .moving_alone(
            "moves by about 3,200 instructions per call with changes elsewhere in the binary (cause not found): if \
             it moves alone, recount it",
        ),
        scenario(
            "serving/request_on_demand",
            "a request: new store and instance from `InstancePre`, 16 pages dirtied, `just_add`, drop; on demand",
            100,
            |s| serving_request(s, "on-demand"),
        )
        .needing(Needs::Module)
        .making_instances()
        .only_under(&[EngineProfile::Cranelift]),
        scenario(
            "serving/request_pooled",
            "the same request under the pooling allocator (copy-on-write, nothing kept resident)",
            100,
            |s| serving_request(s, "pooled"),
        )
        .needing(Needs::Module)
        .making_instances()
        .only_under(&[EngineProfile::Cranelift]),
        scenario(
            "payload/in_data_mut_64",
            "64 bytes copied into `Memory::data_mut`, then the guest's `checksum_bytes` over them",
            1000,
            |s| data_mut_in(s, 64),
        )
        .needing(Needs::Payload),
        scenario("payload/in_data_mut_1m", "the same with 1 MiB", 10, |s| data_mut_in(s, 1 << 20))
            .needing(Needs::Payload)
            .depending_on(MOSTLY_MEMCPY),
        scenario("payload/list_in_64", "the component's `checksum-bytes` over a `list<u8>` of 64 bytes", 1000, |s| {
            list_in(s, 64)
        })
        .needing(Needs::WorldExport(cexport::CHECKSUM_BYTES)),
        scenario("payload/list_in_1m", "the same with 1 MiB", 10, |s| list_in(s, 1 << 20))
            .needing(Needs::WorldExport(cexport::CHECKSUM_BYTES))
            .depending_on(MOSTLY_MEMCPY),
        scenario(
            "structs/batch_copy_64_core",
            "64 Points of each input copied in, one `point_add_batch`, 64 sums copied out, through the host core",
            // 1,000, not 100: its count moves by 200 instructions now and then, 2 an operation over 100.
            1000,
            |s| {
                let mut c = s.core();
                let mut copy = BatchCopy::new(&mut c);
                Ok(Box::new(repeat(move || component_ops::core_batch_copy(&mut c, &mut copy, 64))))
            },
        )
        .needing(Needs::Batch),
    ]
});

/// What the large payloads' counts depend on: callgrind counts one instruction per byte of `rep movsb`/`rep stosb`,
/// so a scenario that is mostly memcpy counts glibc's choice of copy for the CPU valgrind reports.
const MOSTLY_MEMCPY: &str =
    "mostly memcpy: counted per byte of `rep movsb`, so it depends on glibc and the CPU valgrind reports";

/// One request of the serving path (`serving/`): a new store and instance, 16 pages dirtied, `just_add`, the drop;
/// under the serving configuration `allocation` (`on-demand`, or `pooled`: copy-on-write, nothing kept resident),
/// whose engine is its own (on Cranelift).
fn serving_request(s: &Setup, allocation: &str) -> Result<Body, String> {
    let allocation = serving::allocation(allocation).ok_or("no such serving configuration")?;
    let server = Server::new(&serving::counting_engine(allocation)?, &s.wasm)?;
    let workload = if server.can_dirty(&SPARSE_16) { Workload::Dirty(SPARSE_16) } else { Workload::Call };
    Ok(Box::new(repeat(move || server.request(workload))))
}

/// A buffer of `n` bytes across the boundary the fastest way the payload sweep measured (`payload/`): a copy into
/// `data_mut` and the guest's checksum.
fn data_mut_in(s: &Setup, n: usize) -> Result<Body, String> {
    let mut buffers = Buffers::new(n);
    let mut mover = CoreMover::new(s.profile, &s.engine, &s.wasm, n);
    Ok(Box::new(repeat(move || mover.run(Method::InDataMut, n, &mut buffers))))
}

/// The slowest: the component's `list<u8>`.
fn list_in(s: &Setup, n: usize) -> Result<Body, String> {
    let mut buffers = Buffers::new(n);
    let mut mover = ComponentMover::new(s.profile, &s.engine, &s.wasm);
    Ok(Box::new(repeat(move || mover.run(Method::ListIn, n, &mut buffers))))
}

/// The ways an `--invoke` export is called, each a scenario `invoke/<name>/<way>`.
const INVOKE_WAYS: &[(&str, &str, Make)] = &[
    ("typed", "`TypedFunc::call`", |s| invoke_core(s, "typed")),
    ("untyped", "`Func::call`", |s| invoke_core(s, "untyped")),
    ("unchecked", "`Func::call_unchecked`", |s| invoke_core(s, "unchecked")),
    ("component", "`component::Func::call`", invoke_component),
];

fn invoke_core(s: &Setup, way: &str) -> Result<Body, String> {
    let spec = s.subject.invokes.get(s.invoke).ok_or("no such --invoke export")?;
    let linked = Linked::load(s.profile, &s.engine, &s.wasm)?;
    let mut store = linked.new_store();
    let instance = linked.pre.instantiate(&mut store).map_err(|e| guard::describe(&e))?;
    let mut call = CoreInvoke::prepare(&mut store, &instance, spec)?;
    Ok(match way {
        "typed" => Box::new(repeat(move || call.call_typed(&mut store).or_stop())),
        "untyped" => Box::new(repeat(move || call.call_untyped(&mut store).or_stop())),
        _ => Box::new(repeat(move || call.call_unchecked(&mut store).or_stop())),
    })
}

fn invoke_component(s: &Setup) -> Result<Body, String> {
    let spec = s.subject.invokes.get(s.invoke).ok_or("no such --invoke export")?;
    let linked = component_ops::link(s.profile, &s.engine, &s.wasm)?;
    let (mut store, instance) = linked.instantiate().map_err(|e| e.to_string())?;
    let mut call = ComponentInvoke::prepare(&mut store, &instance, spec)?;
    Ok(Box::new(repeat(move || call.call(&mut store).or_stop())))
}

/// The scenario calling the subject's `--invoke` export `index` the way `way` (one of [`INVOKE_WAYS`]).
fn invoke_scenario(subject: &Subject, index: usize, way: &str) -> Option<Scenario> {
    let spec = subject.invokes.get(index)?;
    let &(way, how, make) = INVOKE_WAYS.iter().find(|(name, ..)| *name == way)?;
    Some(Scenario {
        id: Cow::Owned(format!("invoke/{}/{way}", spec.id_name())),
        what: Cow::Owned(format!("`{}` called by {how}", spec.name)),
        needs: if way == "component" { Needs::AnyComponent } else { Needs::Module },
        invoke: index,
        ..scenario("", "", 1000, make)
    })
}

/// The scenarios of a plugin's request (`--request`).
fn request_scenarios() -> [Scenario; 2] {
    [
        scenario(
            "request/whole",
            "the request file's request on one instance: allocate, copy in, call, copy out, free",
            1000,
            |s| {
                let request = s.subject.request.as_ref().ok_or("this scenario needs --request")?;
                let mut prepared = PreparedRequest::new(s.profile, &s.engine, &s.wasm, request, guard::host_options())?;
                Ok(Box::new(repeat(move || prepared.serve().or_stop())))
            },
        )
        .needing(Needs::Module)
        // The host side of a request allocates (each phase's vectors, the output), and glibc's allocator takes paths
        // whose length varies per process: the render plugin's request counted up to 2% apart between processes
        // under `cranelift` and `bounds-checked` (`_int_malloc`, `_int_free`), more since exception handling is on.
        .in_processes(3),
        scenario(
            "request/fresh_instance",
            "the same request on a fresh instance each time (instantiate, serve, drop)",
            100,
            |s| {
                let request = s.subject.request.as_ref().ok_or("this scenario needs --request")?;
                let prepared = PreparedRequest::new(s.profile, &s.engine, &s.wasm, request, guard::host_options())?;
                let fresh = prepared.fresh();
                Ok(Box::new(repeat(move || fresh.serve().or_stop())))
            },
        )
        .needing(Needs::Module)
        .making_instances(),
    ]
}

/// The scenario of [`SCENARIOS`] or of a request (`request/…`) with this id, as a baseline names it.
pub fn known(id: &str) -> Option<Scenario> {
    SCENARIOS.iter().cloned().chain(request_scenarios()).find(|s| s.id == id)
}

/// The scenario `id` counts for `subject`: one of [`SCENARIOS`], or an `--invoke` export's
/// (`invoke/<name>/<way>`) or a request's, as [`for_subject`] names them.
pub fn find(id: &str, subject: &Subject) -> Option<Scenario> {
    if let Some(found) = SCENARIOS.iter().find(|s| s.id == id) {
        return Some(found.clone());
    }
    if subject.request.is_some()
        && let Some(found) = request_scenarios().into_iter().find(|s| s.id == id)
    {
        return Some(found);
    }
    let (name, way) = id.strip_prefix("invoke/")?.rsplit_once('/')?;
    let index = subject.invokes.iter().position(|spec| spec.id_name() == name)?;
    invoke_scenario(subject, index, way)
}

/// The scenarios the gate counts for `subject`: every one of [`SCENARIOS`] it serves, then three for each `--invoke`
/// export of a core module (the typed one only if the typed path covers its signature, as `typed` says) and one for
/// each of a component's, then a request's two; and the scenarios it skips, with the reason.
pub fn for_subject(
    subject: &Subject,
    serves: &Serves,
    typed: impl Fn(usize) -> Result<(), String>,
) -> (Vec<Scenario>, Vec<(String, String)>) {
    let mut chosen = Vec::new();
    let mut skipped = Vec::new();
    for scenario in SCENARIOS.iter() {
        match serves.check(scenario.needs) {
            Ok(()) => chosen.push(scenario.clone()),
            Err(why) => skipped.push((scenario.id.to_string(), why)),
        }
    }
    for index in 0..subject.invokes.len() {
        let mut ways = Vec::new();
        if subject.core.is_some() {
            ways.extend(["typed", "untyped", "unchecked"]);
        }
        if subject.component.is_some() {
            ways.push("component");
        }
        for scenario in ways.into_iter().filter_map(|way| invoke_scenario(subject, index, way)) {
            match typed(index) {
                Err(why) if scenario.id.ends_with("/typed") => skipped.push((scenario.id.to_string(), why)),
                _ => chosen.push(scenario),
            }
        }
    }
    if let Some(request) = &subject.request {
        for scenario in request_scenarios() {
            if request.command.is_some() && scenario.id == "request/whole" {
                let why = "a WASI command runs once per instance: request/fresh_instance counts it";
                skipped.push((scenario.id.to_string(), why.to_string()));
            } else {
                chosen.push(scenario);
            }
        }
    }
    (chosen, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_ids_are_unique() {
        let mut ids: Vec<_> = SCENARIOS.iter().chain(&request_scenarios()).map(|s| s.id.clone()).collect();
        let all = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), all);
    }

    #[test]
    fn a_command_s_request_is_counted_on_a_fresh_instance_and_its_whole_on_one_instance_is_skipped_named() {
        let subject = Subject::command_fixture("[command]\nargs = [\"upper\"]\n");
        let (chosen, skipped) = for_subject(&subject, &Serves::of(&subject), |_| Ok(()));
        let ids: Vec<&str> = chosen.iter().map(|s| s.id.as_ref()).collect();
        assert!(ids.contains(&"request/fresh_instance") && !ids.contains(&"request/whole"), "{ids:?}");
        let why = skipped.iter().find(|(id, _)| id == "request/whole").map(|(_, why)| why.as_str());
        assert!(why.is_some_and(|w| w.contains("once per instance")), "{skipped:?}");
    }

    #[test]
    fn the_scenarios_that_make_instances_count_in_three_processes() {
        for s in SCENARIOS.iter().chain(&request_scenarios()) {
            assert!(!s.counts_faults || s.processes == 3, "{}", s.id);
            assert!(s.profiles.iter().all(|p| PROFILES.contains(p)), "{}", s.id);
        }
    }
}
