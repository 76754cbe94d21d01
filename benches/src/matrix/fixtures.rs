//! What the matrix's rows measure under one engine profile, each made on the first row that asks for it (under the
//! watchdog, named in its failure) and kept for the profile's other rows: the raw and host-core benches, the
//! callback hosts, the trap rows' own instances, the batch memory, the linked module and component, the `--invoke`
//! calls and the request. Every export lookup, instantiation and memory reservation happens here, before anything is
//! timed.

use crate::guard::{self, OrStop, expect_eq};
use crate::ops::component::{self as component_ops, BatchCopy, ComponentBench};
use crate::ops::invoke::{ComponentInvoke, CoreInvoke};
use crate::ops::plugin::PreparedRequest;
use crate::ops::raw::{Linked, RawState};
use crate::ops::{self, CoreBench, RawBench};
use crate::subject::Subject;
use boundary_host::wasmtime::{Engine, Store, Trap};
use boundary_host::{EngineProfile, HostFuncStyle, HostState, LinkedComponent, Point, Wasm, WasmHost};

/// The most Points a batch row adds.
pub const MAX_BATCH: usize = 4096;

/// The host cores whose host functions are defined each way other than `func_wrap`, and one with a call hook.
#[derive(Debug)]
pub struct Callbacks {
    pub untyped: CoreBench,
    pub unchecked: CoreBench,
    pub asynchronous: CoreBench,
    pub hooked: CoreBench,
}

/// The trap rows' instances: a store that trapped is left as the trap left it, so they have their own.
#[derive(Debug)]
pub struct Traps {
    /// Raw wasmtime with wasm backtraces (wasmtime's default).
    pub raw: RawBench,
    /// Raw wasmtime on an engine capturing no wasm backtrace.
    pub no_backtrace: RawBench,
    /// The host core, which recovers by `reset`.
    pub core: CoreBench,
}

/// Where the batch rows' Points lie in the host core's guest memory: `MAX_BATCH` of each input and of the sums.
#[derive(Debug, Clone, Copy)]
pub struct BatchSlots {
    pub a: u32,
    pub b: u32,
    pub out: u32,
}

/// A core module's `--invoke` export, prepared in a store of its own.
#[derive(Debug)]
pub struct CoreCall {
    pub store: Store<RawState>,
    pub call: CoreInvoke,
}

/// A component's `--invoke` export, prepared in a store of its own.
#[derive(Debug)]
pub struct ComponentCall {
    pub store: Store<HostState>,
    pub call: ComponentInvoke,
}

/// Everything the rows of one profile measure, made on first use.
pub struct Fixtures<'s> {
    pub profile: EngineProfile,
    pub engine: Engine,
    pub subject: &'s Subject,
    raw: Option<RawBench>,
    core: Option<CoreBench>,
    callbacks: Option<Callbacks>,
    traps: Option<Traps>,
    batch: Option<BatchSlots>,
    batch_copy: Option<BatchCopy>,
    linked: Option<Linked>,
    component: Option<ComponentBench>,
    linked_component: Option<LinkedComponent>,
    core_calls: Vec<(String, Option<CoreCall>)>,
    component_calls: Vec<(String, ComponentCall)>,
    request: Option<PreparedRequest>,
    #[cfg(feature = "cpp")]
    cpp: Option<(boundary_cpp_host::CppHost, u32)>,
}

impl std::fmt::Debug for Fixtures<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fixtures").field("profile", &self.profile).finish_non_exhaustive()
    }
}

impl<'s> Fixtures<'s> {
    /// Nothing made yet but the profile's engine.
    pub fn new(profile: EngineProfile, subject: &'s Subject) -> Self {
        Fixtures {
            profile,
            engine: profile.engine().or_stop(),
            subject,
            raw: None,
            core: None,
            callbacks: None,
            traps: None,
            batch: None,
            batch_copy: None,
            linked: None,
            component: None,
            linked_component: None,
            core_calls: Vec::new(),
            component_calls: Vec::new(),
            request: None,
            #[cfg(feature = "cpp")]
            cpp: None,
        }
    }

    fn p(&self) -> &'static str {
        self.profile.name()
    }

    /// The subject's core module (every row that asks for one needs it: the plan left the others out).
    pub fn wasm(&self) -> &'s Wasm {
        self.subject.core.as_ref().unwrap_or_else(|| guard::refuse("a core-module row was planned without a module"))
    }

    /// The subject's component.
    pub fn component_wasm(&self) -> &'s Wasm {
        self.subject.component.as_ref().unwrap_or_else(|| guard::refuse("a component row was planned without one"))
    }

    fn setting_up(&self, what: &str) -> String {
        format!("setting up {what} under `{}` ({})", self.p(), self.wasm().name)
    }

    /// Raw wasmtime on the module, three Point slots reserved.
    pub fn raw(&mut self) -> &mut RawBench {
        let raw = match self.raw.take() {
            Some(raw) => raw,
            None => {
                let (profile, wasm) = (self.profile, self.wasm());
                guard::step(&self.setting_up("raw wasmtime"), || RawBench::for_wasm(profile, &self.engine, wasm))
            }
        };
        self.raw.insert(raw)
    }

    /// The host core on the module, its host functions by `func_wrap`, three Point slots reserved.
    pub fn core(&mut self) -> &mut CoreBench {
        let core = match self.core.take() {
            Some(core) => core,
            None => {
                let (profile, wasm) = (self.profile, self.wasm());
                guard::step(&self.setting_up("the host core"), || {
                    CoreBench::for_wasm(profile, &self.engine, wasm, HostFuncStyle::Typed)
                })
            }
        };
        self.core.insert(core)
    }

    /// The host cores with the other ways of defining host functions, and the one with a call hook.
    pub fn callbacks(&mut self) -> &mut Callbacks {
        let callbacks = match self.callbacks.take() {
            Some(callbacks) => callbacks,
            None => {
                let (profile, wasm, engine) = (self.profile, self.wasm(), &self.engine);
                guard::step(&self.setting_up("the callback hosts"), || {
                    let style = |s| CoreBench::for_wasm(profile, engine, wasm, s);
                    Callbacks {
                        untyped: style(HostFuncStyle::Untyped),
                        unchecked: style(HostFuncStyle::Unchecked),
                        asynchronous: style(HostFuncStyle::Async),
                        hooked: CoreBench::with_hook(profile, engine, wasm),
                    }
                })
            }
        };
        self.callbacks.insert(callbacks)
    }

    /// The trap rows' instances, each checked to trap as its rows say: out of bounds, with a backtrace or without.
    pub fn traps(&mut self) -> &mut Traps {
        let traps = match self.traps.take() {
            Some(traps) => traps,
            None => self.make_traps(),
        };
        self.traps.insert(traps)
    }

    fn make_traps(&self) -> Traps {
        let (profile, wasm, engine) = (self.profile, self.wasm(), &self.engine);
        let mut traps = guard::step(&self.setting_up("the trap rows"), || {
            let mut config = profile.config().or_stop();
            config.wasm_backtrace_max_frames(None);
            Traps {
                no_backtrace: RawBench::for_wasm(profile, &profile.engine_from(&config).or_stop(), wasm),
                raw: RawBench::for_wasm(profile, engine, wasm),
                core: CoreBench::for_wasm(profile, engine, wasm, HostFuncStyle::Typed),
            }
        });
        let trap = ops::raw_point_add_trap(&mut traps.raw);
        expect_eq("`point_add` past memory", trap, (Trap::MemoryOutOfBounds, true));
        let trap = ops::raw_point_add_trap(&mut traps.no_backtrace);
        expect_eq("`point_add` past memory, without backtraces", trap, (Trap::MemoryOutOfBounds, false));
        let trap = ops::core_point_add_trap_reset(&mut traps.core);
        expect_eq("`point_add` past memory, through the host core", trap, Some(Trap::MemoryOutOfBounds));
        traps
    }

    /// The host core with [`MAX_BATCH`] Points of each batch input written into its guest memory, and where.
    pub fn batch(&mut self) -> (&mut WasmHost, BatchSlots) {
        let slots = match self.batch {
            Some(slots) => slots,
            None => {
                let host = &mut self.core().host;
                let base = host.reserve(3 * MAX_BATCH * size_of::<Point>()).or_stop();
                let (a, b) = component_ops::batch_inputs(MAX_BATCH);
                host.write_bytes(base, bytemuck::cast_slice(&a)).or_stop();
                host.write_bytes(base + MAX_BATCH * 8, bytemuck::cast_slice(&b)).or_stop();
                let at = |offset| u32::try_from(offset).unwrap_or_else(|_| guard::refuse("the batch lies past 4 GiB"));
                *self.batch.insert(BatchSlots {
                    a: at(base),
                    b: at(base + MAX_BATCH * 8),
                    out: at(base + 2 * MAX_BATCH * 8),
                })
            }
        };
        (&mut self.core().host, slots)
    }

    /// The host core with room reserved for the batch-copy rows, and their inputs.
    pub fn batch_copy(&mut self) -> (&mut CoreBench, &mut BatchCopy) {
        let copy = match self.batch_copy.take() {
            Some(copy) => copy,
            None => BatchCopy::new(self.core()),
        };
        self.core();
        let copy = self.batch_copy.insert(copy);
        // `core()` above made the host core if it was not there.
        let core = self.core.as_mut().unwrap_or_else(|| guard::refuse("the host core was not made"));
        (core, copy)
    }

    /// The module compiled and linked by raw wasmtime, for the instantiation rows.
    pub fn linked(&mut self) -> &Linked {
        let linked = match self.linked.take() {
            Some(linked) => linked,
            None => {
                let (profile, wasm) = (self.profile, self.wasm());
                let what = format!("compiling {} under `{}`", wasm.name, self.p());
                guard::step(&what, || Linked::load(profile, &self.engine, wasm).or_stop())
            }
        };
        self.linked.insert(linked)
    }

    /// The component of the guest's world in a store of its own, every row's check made once.
    pub fn component(&mut self) -> &mut ComponentBench {
        let component = match self.component.take() {
            Some(component) => component,
            None => self.make_component(),
        };
        self.component.insert(component)
    }

    fn make_component(&self) -> ComponentBench {
        let (profile, wasm) = (self.profile, self.component_wasm());
        let what = format!("setting up the component rows under `{}`", self.p());
        let mut component = guard::step(&what, || ComponentBench::for_wasm(profile, &self.engine, wasm));
        let comp = &mut component;
        // Every component row gives what the core module gives.
        expect_eq("the component's `just-add(15, 27)`", component_ops::component_just_add(comp), 42);
        let untyped = component_ops::component_just_add_untyped(comp);
        expect_eq("the component's `just-add(15, 27)`, untyped", untyped, 42);
        let sum = boundary_host::guest::add_points(ops::A, ops::B);
        expect_eq("the component's `point-add`", component_ops::component_point_add(comp), sum);
        comp.host.state_mut().shared_value = 42;
        component_ops::component_trigger(comp);
        let state = (comp.host.state().shared_value, comp.host.state().last_logged);
        expect_eq("host state after the component's `trigger-host-calls(7)` from 42", state, (54, Some(14)));
        component
    }

    /// The component, of any world, compiled and linked by the host core.
    pub fn linked_component(&mut self) -> &LinkedComponent {
        let linked = match self.linked_component.take() {
            Some(linked) => linked,
            None => {
                let (profile, wasm) = (self.profile, self.component_wasm());
                let what = format!("linking {} under `{}`", wasm.name, self.p());
                guard::step(&what, || component_ops::link(profile, &self.engine, wasm).or_stop())
            }
        };
        self.linked_component.insert(linked)
    }

    /// The `--invoke` export whose id name is `name` on the core module, instantiated and called once; `None` if the
    /// subject names no such export.
    pub fn core_call(&mut self, name: &str) -> Option<&mut CoreCall> {
        if !self.core_calls.iter().any(|(n, _)| n == name) {
            let spec = self.subject.invokes.iter().find(|spec| spec.id_name() == name);
            let prepared = spec.map(|spec| {
                let (profile, wasm, engine) = (self.profile, self.wasm(), &self.engine);
                let what =
                    format!("preparing `--invoke {}` under `{}` (instantiating, a trial call)", spec.name, self.p());
                guard::step(&what, || {
                    let linked = Linked::load(profile, engine, wasm).or_stop();
                    let mut store = linked.new_store();
                    let instance = linked.pre.instantiate(&mut store).or_stop();
                    let call = CoreInvoke::prepare(&mut store, &instance, spec).or_stop();
                    CoreCall { store, call }
                })
            });
            self.core_calls.push((name.to_string(), prepared));
        }
        self.core_calls.iter_mut().find(|(n, _)| n == name).and_then(|(_, call)| call.as_mut())
    }

    /// The same for the component's export.
    pub fn component_call(&mut self, name: &str) -> Option<&mut ComponentCall> {
        if !self.component_calls.iter().any(|(n, _)| n == name) {
            let spec = self.subject.invokes.iter().find(|spec| spec.id_name() == name)?;
            let what = format!("preparing `--invoke {}` under `{}` (instantiating, a trial call)", spec.name, self.p());
            let linked = self.linked_component();
            let prepared = guard::step(&what, || {
                let (mut store, instance) = linked.instantiate().or_stop();
                let call = ComponentInvoke::prepare(&mut store, &instance, spec).or_stop();
                ComponentCall { store, call }
            });
            self.component_calls.push((name.to_string(), prepared));
        }
        self.component_calls.iter_mut().find(|(n, _)| n == name).map(|(_, call)| call)
    }

    /// The plugin's request, prepared on one instance and checked once.
    pub fn request(&mut self) -> &mut PreparedRequest {
        let prepared = match self.request.take() {
            Some(prepared) => prepared,
            None => self.prepare_request(),
        };
        self.request.insert(prepared)
    }

    fn prepare_request(&self) -> PreparedRequest {
        let (profile, wasm, engine) = (self.profile, self.wasm(), &self.engine);
        let request = self.subject.request.as_ref().unwrap_or_else(|| guard::refuse("no request was given"));
        let what = format!(
            "preparing the request `{}` under `{}` (instantiating, a trial request)",
            request.call_text(),
            self.p()
        );
        guard::step(&what, || PreparedRequest::new(profile, engine, wasm, request, guard::host_options()).or_stop())
    }

    /// The C++ host (`host/cpp`) on the quiet guest, three Point slots reserved at the offset given beside it.
    #[cfg(feature = "cpp")]
    pub fn cpp(&mut self) -> (&mut boundary_cpp_host::CppHost, u32) {
        use boundary_host::patterns::PatternHost;
        let made = match self.cpp.take() {
            Some(made) => made,
            None => guard::step("setting up the C++ host", || {
                let mut host = boundary_cpp_host::CppHost::new(
                    "the quiet guest",
                    boundary_host::guest::QUIET_WASM,
                    false,
                    boundary_host::GuestOutput::Discard,
                )
                .or_stop();
                let base = host.reserve(3 * size_of::<Point>()).or_stop();
                let base = u32::try_from(base).unwrap_or_else(|_| guard::refuse("the C++ host's slots lie past 4 GiB"));
                (host, base)
            }),
        };
        let (host, base) = self.cpp.insert(made);
        (host, *base)
    }
}
