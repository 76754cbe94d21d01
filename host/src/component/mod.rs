//! The guest as a component (`guest/wit/boundary.wit`): loading it ([`GuestComponent`]) and one instance of it in
//! its own store ([`ComponentHost`]), through bindings that `wasmtime::component::bindgen!` generates from the
//! same WIT world the guest's bindings come from.
//!
//! The error discipline is the core module's: every call guarded (a trap or a host function's panic discards the
//! store, and later calls are refused until [`ComponentHost::reset`]), errors typed and naming what was wrong, host
//! functions that never panic (the very functions the core module's `env` imports call, in `state.rs`). What a
//! component cannot do is hand out a pointer: there is no linear memory for the host to read or write (the
//! component exports none), so pattern 3 passes its Points by value (a WIT `record`) and pattern 4 goes through a
//! reader and a setter of the guest's static (`patterns.rs`).

pub mod patterns;

use crate::call::guarded;
use crate::deadline::{self, EpochTicker};
use crate::error::{Crossing, Error, escape_controls, one_line};
use crate::guest::{self, Point};
use crate::module::{WasmKind, new_store, started, wasm_header};
use crate::profile::EngineProfile;
use crate::state::{self, HostFuncStyle, HostOptions, HostState};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};
use wasmtime::component::{
    Component, ComponentExportIndex, Func, HasSelf, Instance, InstancePre, Linker, TypedFunc, Val,
};
use wasmtime::{Engine, Store};

/// What `bindgen!` generates from the guest's world without its optional exports (`guest-required` in
/// `guest/wit/boundary.wit`): `GuestRequired` (those exports, typed), `GuestRequiredIndices`, the `point` record and
/// the `Host` trait of the imported `host` interface. The optional exports are looked up one by one
/// ([`OptionalExports`]). Public so that benches can measure the generated calls without the host core around them
/// ([`ComponentHost::raw_parts`]).
#[allow(missing_docs, missing_debug_implementations, clippy::all)]
pub mod bindings {
    wasmtime::component::bindgen!({
        path: "../guest/wit",
        world: "guest-required",
    });
}

pub use bindings::Point as WitPoint;
use bindings::boundary::guest::host as wit_host;

/// The WIT names of the world's exports, for messages and the untyped call path.
pub mod export {
    pub const JUST_ADD: &str = "just-add";
    pub const SIMPLE_ADD: &str = "simple-add";
    pub const TRIGGER_HOST_CALLS: &str = "trigger-host-calls";
    pub const POINT_ADD: &str = "point-add";
    pub const POINT_ADD_BATCH: &str = "point-add-batch";
    pub const READ_PLUGIN_SHARED_VALUE: &str = "read-plugin-shared-value";
    pub const SET_PLUGIN_SHARED_VALUE: &str = "set-plugin-shared-value";
    pub const NOP: &str = "nop";
    pub const CALL_HOST_N: &str = "call-host-n";
    pub const CHECKSUM_BYTES: &str = "checksum-bytes";
    pub const FILL_BYTES: &str = "fill-bytes";
    pub const CHECKSUM_STRING: &str = "checksum-string";

    /// The exports a component of the world may lack, as the core ABI's optional exports.
    pub const OPTIONAL: [&str; 6] = [POINT_ADD_BATCH, NOP, CALL_HOST_N, CHECKSUM_BYTES, FILL_BYTES, CHECKSUM_STRING];
}

/// A component's optional exports ([`export::OPTIONAL`]), each found in the component or not: indices found once
/// per component ([`GuestComponent`]), functions type-checked once per instance ([`OptionalExports`]).
#[derive(Debug, Clone, Copy, Default)]
struct OptionalIndices([Option<ComponentExportIndex>; 6]);

impl OptionalIndices {
    fn of(component: &Component) -> Self {
        OptionalIndices(export::OPTIONAL.map(|name| component.get_export_index(None, name)))
    }
}

/// A component instance's optional exports, each type-checked against the world (an export of another type is
/// [`Error::ComponentWorld`]) and called, as `bindgen!`'s calls are, through a `TypedFunc` made without a second
/// check.
#[derive(Debug, Clone, Copy, Default)]
struct OptionalExports([Option<Func>; 6]);

/// Which of [`export::OPTIONAL`] each call is.
const BATCH: usize = 0;
const NOP: usize = 1;
const CALL_HOST_N: usize = 2;
const CHECKSUM_BYTES: usize = 3;
const FILL_BYTES: usize = 4;
const CHECKSUM_STRING: usize = 5;

impl OptionalExports {
    /// The optional exports `indices` found, in `instance`, each checked to have its type in the world.
    fn load(
        component: &str,
        store: &mut Store<HostState>,
        instance: &Instance,
        indices: &OptionalIndices,
    ) -> Result<Self, Error> {
        let mut funcs = [None; 6];
        for (slot, (index, name)) in indices.0.iter().zip(export::OPTIONAL).enumerate() {
            let Some(index) = index else { continue };
            let checked = match slot {
                BATCH => instance
                    .get_typed_func::<(&[WitPoint], &[WitPoint]), (Vec<WitPoint>,)>(&mut *store, index)
                    .map(|f| *f.func()),
                NOP => instance.get_typed_func::<(), ()>(&mut *store, index).map(|f| *f.func()),
                CALL_HOST_N => instance.get_typed_func::<(u32,), ()>(&mut *store, index).map(|f| *f.func()),
                CHECKSUM_BYTES => instance.get_typed_func::<(&[u8],), (u64,)>(&mut *store, index).map(|f| *f.func()),
                FILL_BYTES => instance.get_typed_func::<(u32, u32), (Vec<u8>,)>(&mut *store, index).map(|f| *f.func()),
                _ => instance.get_typed_func::<(&str,), (u64,)>(&mut *store, index).map(|f| *f.func()),
            };
            let func = checked.map_err(|e| Error::ComponentWorld {
                component: component.to_string(),
                message: format!("its optional export `{name}` does not have the world's type: {}", one_line(&e)),
            })?;
            funcs[slot] = Some(func);
        }
        Ok(OptionalExports(funcs))
    }
}

// The imported `host` interface: the same three functions the core module imports from `env`.
impl wit_host::Host for HostState {
    fn log_value(&mut self, value: i32) {
        state::host_log_value(self, value)
    }

    fn get_shared_value(&mut self) -> i32 {
        state::host_get_shared_value(self)
    }

    fn set_shared_value(&mut self, value: i32) {
        state::host_set_shared_value(self, value)
    }
}

impl From<Point> for WitPoint {
    #[inline]
    fn from(p: Point) -> Self {
        WitPoint { x: p.x, y: p.y }
    }
}

impl From<WitPoint> for Point {
    #[inline]
    fn from(p: WitPoint) -> Self {
        Point::new(p.x, p.y)
    }
}

/// A compiled and linked guest component, ready to instantiate any number of times. Cheap to clone.
#[derive(Clone)]
pub struct GuestComponent {
    name: String,
    profile: EngineProfile,
    engine: Engine,
    pre: InstancePre<HostState>,
    indices: std::sync::Arc<bindings::GuestRequiredIndices>,
    optional: OptionalIndices,
    options: HostOptions,
}

impl std::fmt::Debug for GuestComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuestComponent")
            .field("name", &self.name)
            .field("profile", &self.profile)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl GuestComponent {
    /// The quiet build of the project's guest as a component (no printing), as the benches drive it.
    pub fn quiet_guest(profile: EngineProfile, options: HostOptions) -> Result<Self, Error> {
        Self::from_binary("the quiet guest component", guest::COMPONENT_QUIET_WASM, profile, options)
    }

    /// The verbose build as a component (narrates each call on stdout through `wasi:cli`), as the demo drives it.
    pub fn verbose_guest(profile: EngineProfile, options: HostOptions) -> Result<Self, Error> {
        Self::from_binary("the verbose guest component", guest::COMPONENT_VERBOSE_WASM, profile, options)
    }

    /// Loads a component file: binary, or WAT text if the file name ends in `.wat`.
    pub fn from_file(path: &std::path::Path, profile: EngineProfile, options: HostOptions) -> Result<Self, Error> {
        let bytes = std::fs::read(path).map_err(|source| Error::ReadModule { path: path.to_path_buf(), source })?;
        let is_text = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("wat"));
        let engine = profile.engine()?;
        let name = escape_controls(&path.display().to_string()).into_owned();
        Self::load_with_engine(name, &bytes, is_text, profile, &engine, options)
    }

    /// Loads a binary component with an engine made from `profile`; `name` names it in errors.
    pub fn from_binary(name: &str, bytes: &[u8], profile: EngineProfile, options: HostOptions) -> Result<Self, Error> {
        let engine = profile.engine()?;
        Self::load_with_engine(name.to_string(), bytes, false, profile, &engine, options)
    }

    /// Loads a component from WAT text; `name` names it in errors.
    pub fn from_wat(name: &str, text: &str, profile: EngineProfile, options: HostOptions) -> Result<Self, Error> {
        let engine = profile.engine()?;
        Self::load_with_engine(name.to_string(), text.as_bytes(), true, profile, &engine, options)
    }

    /// Loads with a given engine, which must have been made from `profile`. The component must be the guest's
    /// world: it may import the `host` interface and WASI 0.2, must export every function of `guest-required` with
    /// its WIT type ([`Error::ComponentWorld`] names the first that does not fit), and may export any of the optional
    /// ones ([`export::OPTIONAL`]), each checked when the component is instantiated.
    pub fn load_with_engine(
        name: String,
        bytes: &[u8],
        is_text: bool,
        profile: EngineProfile,
        engine: &Engine,
        options: HostOptions,
    ) -> Result<Self, Error> {
        let linked = LinkedComponent::load(name, bytes, is_text, profile, engine, options)?;
        let indices = bindings::GuestRequiredIndices::new(&linked.pre)
            .map_err(|e| Error::ComponentWorld { component: linked.name.clone(), message: one_line(&e) })?;
        let optional = OptionalIndices::of(&linked.component);
        let LinkedComponent { name, pre, .. } = linked;
        Ok(GuestComponent {
            name,
            profile,
            engine: engine.clone(),
            pre,
            indices: std::sync::Arc::new(indices),
            optional,
            options,
        })
    }
}

/// A component of any world, compiled and linked against what the host provides (WASI 0.2 and the guest world's
/// `host` interface), without the check that it exports the guest's world: what the compile, instantiation and
/// `--invoke` rows of the benches need of a user's component. [`GuestComponent`] is one of these that fits the world.
#[derive(Clone)]
pub struct LinkedComponent {
    name: String,
    profile: EngineProfile,
    component: Component,
    pre: InstancePre<HostState>,
    options: HostOptions,
}

impl std::fmt::Debug for LinkedComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkedComponent")
            .field("name", &self.name)
            .field("profile", &self.profile)
            .finish_non_exhaustive()
    }
}

impl LinkedComponent {
    /// Compiles `bytes` (binary, or WAT text if `is_text`) with `engine`, made from `profile`, and links its imports:
    /// WASI 0.2 (no environment, arguments or directories, and no network: every address is refused) and the guest
    /// world's `host` interface, and under the options' [`crate::ForeignImports::Trap`] every other function import
    /// as a trap naming it. An import the host does not provide, or cannot make up (a resource type), is
    /// [`Error::ComponentWorld`] naming it.
    pub fn load(
        name: String,
        bytes: &[u8],
        is_text: bool,
        profile: EngineProfile,
        engine: &Engine,
        options: HostOptions,
    ) -> Result<Self, Error> {
        if options.host_funcs != HostFuncStyle::Typed {
            return Err(Error::Instantiate {
                module: name,
                message: format!(
                    "a component's host functions are linked through the typed bindings that `bindgen!` generates; \
                     {:?} host functions are for core modules",
                    options.host_funcs
                ),
            });
        }
        let compile_error = |e: wasmtime::Error| Error::Compile { module: name.clone(), message: one_line(&e) };
        let component = if is_text {
            Component::new(engine, bytes).map_err(compile_error)?
        } else {
            GuestComponent::compile_binary(&name, bytes, engine)?
        };
        let world_error = |message: String| Error::ComponentWorld { component: name.clone(), message };
        let mut linker = make_linker(engine).map_err(|e| world_error(one_line(&e)))?;
        crate::imports::define_for_component(&mut linker, &component, options.foreign_imports).map_err(world_error)?;
        let pre = linker.instantiate_pre(&component).map_err(|e| world_error(one_line(&e)))?;
        Ok(LinkedComponent { name, profile, component, pre, options })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn component(&self) -> &Component {
        &self.component
    }

    /// A new instance in a new store, set up as the profile requires, guarded as every instantiation is.
    pub fn instantiate(&self) -> Result<(Store<HostState>, Instance), Error> {
        self.instantiate_until(None)
    }

    /// [`LinkedComponent::instantiate`] under a deadline, its start functions interrupted when it passes (needs the
    /// `epoch` profile, as [`GuestComponent::instantiate_with_deadline`] does). The store keeps no deadline after.
    pub fn instantiate_with_deadline(&self, timeout: Duration) -> Result<(Store<HostState>, Instance), Error> {
        if self.profile != EngineProfile::Epoch {
            return Err(Error::NoDeadline { profile: self.profile.name() });
        }
        let deadline = deadline::instant_after(timeout);
        let _ticker = deadline.map(|at| EpochTicker::start(self.pre.engine(), at));
        let (mut store, instance) = self.instantiate_until(deadline)?;
        store.data_mut().deadline = None;
        Ok((store, instance))
    }

    fn instantiate_until(&self, deadline: Option<Instant>) -> Result<(Store<HostState>, Instance), Error> {
        let mut store = new_store(self.pre.engine(), self.profile, &self.options)?;
        store.data_mut().deadline = deadline;
        let instantiated = catch_unwind(AssertUnwindSafe(|| self.pre.instantiate(&mut store)));
        let instance = started(&self.name, instantiated, store.data().limits.refused)?;
        Ok((store, instance))
    }

    /// Runs `run` on `store`, one of this component's, with a deadline `timeout` from now, its calls interrupted when
    /// it passes, as [`ComponentHost::with_deadline`] does (needs the `epoch` profile).
    pub fn within_deadline<R>(
        &self,
        store: &mut Store<HostState>,
        timeout: Duration,
        run: impl FnOnce(&mut Store<HostState>) -> R,
    ) -> Result<R, Error> {
        if self.profile != EngineProfile::Epoch {
            return Err(Error::NoDeadline { profile: self.profile.name() });
        }
        let engine = self.pre.engine().clone();
        Ok(deadline::within(store, &engine, timeout, |store| &mut store.data_mut().deadline, run))
    }
}

impl GuestComponent {
    /// Compiles a binary component, refusing what is not one with a sentence that says what it is.
    fn compile_binary(name: &str, bytes: &[u8], engine: &Engine) -> Result<Component, Error> {
        let name = name.to_string();
        match wasm_header(bytes) {
            Err(reason) => return Err(Error::NotWasm { module: name, reason }),
            Ok(WasmKind::Module) => {
                return Err(Error::WrongKind {
                    module: name,
                    found: "a core wasm module",
                    expected: "a component",
                    hint: "load it as a module (`--abi core`, the default; a request file's [call], not [invoke])",
                });
            }
            Ok(WasmKind::Component) => {}
        }
        Component::from_binary(engine, bytes).map_err(|e| Error::Compile { module: name, message: one_line(&e) })
    }

    /// The name used in messages: a file path or a description.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn profile(&self) -> EngineProfile {
        self.profile
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Whether the component exports `name`, one of the world's optional exports ([`export::OPTIONAL`]).
    pub fn exports_optional(&self, name: &str) -> bool {
        export::OPTIONAL.iter().zip(self.optional.0).any(|(optional, index)| *optional == name && index.is_some())
    }

    /// A new instance in a new store, with the host state at its initial values.
    pub fn instantiate(&self) -> Result<ComponentHost, Error> {
        self.instantiate_until(None)
    }

    /// [`GuestComponent::instantiate`] with the store's deadline (`epoch` profile only) already set to `deadline`:
    /// how a reset keeps a pending deadline.
    fn instantiate_until(&self, deadline: Option<Instant>) -> Result<ComponentHost, Error> {
        let mut store = new_store(&self.engine, self.profile, &self.options)?;
        store.data_mut().deadline = deadline;
        let (instance, bindings, optional) = self.instantiate_in(&mut store)?;
        Ok(ComponentHost { guest: self.clone(), store, instance, bindings, optional, poisoned: None })
    }

    /// [`GuestComponent::instantiate`] under a deadline (needs the `epoch` profile, as
    /// [`crate::GuestModule::instantiate_with_deadline`] does).
    pub fn instantiate_with_deadline(&self, timeout: Duration) -> Result<ComponentHost, Error> {
        if self.profile != EngineProfile::Epoch {
            return Err(Error::NoDeadline { profile: self.profile.name() });
        }
        let deadline = deadline::instant_after(timeout);
        let _ticker = deadline.map(|at| EpochTicker::start(&self.engine, at));
        let mut host = self.instantiate_until(deadline)?;
        host.state_mut().deadline = None;
        Ok(host)
    }

    fn instantiate_in(
        &self,
        store: &mut Store<HostState>,
    ) -> Result<(Instance, bindings::GuestRequired, OptionalExports), Error> {
        // A component's start functions can call a host function: caught here as in every call.
        let instantiated = catch_unwind(AssertUnwindSafe(|| self.pre.instantiate(&mut *store)));
        let instance = started(&self.name, instantiated, store.data().limits.refused)?;
        let bindings = self
            .indices
            .load(&mut *store, &instance)
            .map_err(|e| Error::ComponentWorld { component: self.name.clone(), message: one_line(&e) })?;
        let optional = OptionalExports::load(&self.name, store, &instance, &self.optional)?;
        Ok((instance, bindings, optional))
    }
}

/// The linker of every guest component: WASI 0.2 (the verbose guest prints through `wasi:cli/stdout`) and the
/// world's `host` interface.
fn make_linker(engine: &Engine) -> wasmtime::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    #[cfg(feature = "wasi")]
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    bindings::GuestRequired::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |state| state)?;
    Ok(linker)
}

/// One instance of a guest component in its own store: the component counterpart of [`crate::WasmHost`].
///
/// After a call traps, the store is in an unknown state, so every later call returns [`Error::StoreDiscarded`]
/// until [`ComponentHost::reset`] makes a fresh instance.
pub struct ComponentHost {
    guest: GuestComponent,
    store: Store<HostState>,
    instance: Instance,
    bindings: bindings::GuestRequired,
    optional: OptionalExports,
    poisoned: Option<String>,
}

impl std::fmt::Debug for ComponentHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComponentHost")
            .field("guest", &self.guest)
            .field("state", self.store.data())
            .field("poisoned", &self.poisoned)
            .finish_non_exhaustive()
    }
}

/// Calls one typed export of the bindings, guarded as every call of the host core is.
macro_rules! call {
    ($self:ident, $export:expr, |$bindings:ident, $store:ident| $call:expr) => {{
        let $bindings = &$self.bindings;
        guarded(&mut $self.store, &mut $self.poisoned, $export, Crossing::Lifted, |$store| $call)
    }};
}

/// Calls one of the optional exports, the `slot` of [`OptionalExports`], as `bindgen!`'s calls do, guarded as
/// every call of the host core is; [`Error::MissingExport`] if the component lacks it.
macro_rules! call_optional {
    ($self:ident, $slot:expr, $params:ty, $results:ty, $args:expr) => {{
        let name = export::OPTIONAL[$slot];
        match $self.optional.0[$slot] {
            None => Err(absent(&$self.guest.name, name)),
            Some(func) => {
                // SAFETY: `func` was type-checked as `TypedFunc<$params, $results>` when the instance was made
                // (`OptionalExports::load`), as `bindgen!`'s generated calls check theirs once and then make their
                // `TypedFunc`s the same way.
                let typed = unsafe { TypedFunc::<$params, $results>::new_unchecked(func) };
                guarded(&mut $self.store, &mut $self.poisoned, name, Crossing::Lifted, |store| typed.call(store, $args))
            }
        }
    }};
}

/// An optional export the component lacks.
#[cold]
#[inline(never)]
fn absent(component: &str, export: &str) -> Error {
    Error::MissingExport { module: component.to_string(), export: export.to_string(), kind: "a function" }
}

impl ComponentHost {
    /// Discards this store and instance and makes fresh ones: guest and host state start over.
    /// A pending deadline ([`ComponentHost::with_deadline`]) carries over to the new instance.
    pub fn reset(&mut self) -> Result<(), Error> {
        *self = self.guest.instantiate_until(self.store.data().deadline)?;
        Ok(())
    }

    /// The deadline pending on this store ([`ComponentHost::with_deadline`]), if one is.
    pub fn deadline(&self) -> Option<Instant> {
        self.store.data().deadline
    }

    /// The export whose trap discarded this store, if one did.
    pub fn discarded_by(&self) -> Option<&str> {
        self.poisoned.as_deref()
    }

    pub fn guest(&self) -> &GuestComponent {
        &self.guest
    }

    pub fn state(&self) -> &HostState {
        self.store.data()
    }

    pub fn state_mut(&mut self) -> &mut HostState {
        self.store.data_mut()
    }

    /// The store, for measuring raw wasmtime beside this core.
    pub fn store_mut(&mut self) -> &mut Store<HostState> {
        &mut self.store
    }

    /// The generated bindings and the store, for measuring the bindings' own calls beside this core's guarded
    /// ones. A call made through them that traps is not seen by this host: the caller must not use the store
    /// afterwards.
    pub fn raw_parts(&mut self) -> (&bindings::GuestRequired, &mut Store<HostState>) {
        (&self.bindings, &mut self.store)
    }

    /// Pattern 1: `just-add(left, right)`.
    #[inline]
    pub fn just_add(&mut self, left: u64, right: u64) -> Result<u64, Error> {
        call!(self, export::JUST_ADD, |b, store| b.call_just_add(store, left, right))
    }

    /// Pattern 5: `simple-add(left, right)`.
    #[inline]
    pub fn simple_add(&mut self, left: u64, right: u64) -> Result<u64, Error> {
        call!(self, export::SIMPLE_ADD, |b, store| b.call_simple_add(store, left, right))
    }

    /// Pattern 2: `trigger-host-calls(input)`, which calls back into the three host functions.
    #[inline]
    pub fn trigger_host_calls(&mut self, input: i32) -> Result<(), Error> {
        call!(self, export::TRIGGER_HOST_CALLS, |b, store| b.call_trigger_host_calls(store, input))
    }

    /// Pattern 3: `point-add(a, b)`, both Points and the sum passed by value (a WIT `record`).
    #[inline]
    pub fn point_add(&mut self, a: Point, b: Point) -> Result<Point, Error> {
        let (a, b) = (WitPoint::from(a), WitPoint::from(b));
        call!(self, export::POINT_ADD, |g, store| g.call_point_add(store, a, b)).map(Point::from)
    }

    /// `point-add-batch(a, b)`: both lists lowered into the guest, the sums lifted back into a new `Vec`.
    #[inline]
    pub fn point_add_batch(&mut self, a: &[WitPoint], b: &[WitPoint]) -> Result<Vec<WitPoint>, Error> {
        call_optional!(self, BATCH, (&[WitPoint], &[WitPoint]), (Vec<WitPoint>,), (a, b)).map(|(sums,)| sums)
    }

    /// Whether this instance's component exports `name`, one of the world's optional exports.
    pub fn exports_optional(&self, name: &str) -> bool {
        self.guest.exports_optional(name)
    }

    /// Pattern 4, the component's form: the guest's own reading of its static.
    pub fn read_plugin_shared_value(&mut self) -> Result<i32, Error> {
        call!(self, export::READ_PLUGIN_SHARED_VALUE, |b, store| b.call_read_plugin_shared_value(store))
    }

    /// Pattern 4, the component's form: replaces the guest's static through its setter.
    pub fn set_plugin_shared_value(&mut self, value: i32) -> Result<(), Error> {
        call!(self, export::SET_PLUGIN_SHARED_VALUE, |b, store| b.call_set_plugin_shared_value(store, value))
    }

    /// The empty export.
    #[inline]
    pub fn nop(&mut self) -> Result<(), Error> {
        call_optional!(self, NOP, (), (), ())
    }

    /// Makes the guest call `log-value` `count` times.
    #[inline]
    pub fn call_host_n(&mut self, count: u32) -> Result<(), Error> {
        call_optional!(self, CALL_HOST_N, (u32,), (), (count,))
    }

    /// `checksum-bytes(bytes)`: the list lowered into the guest, which reads every byte.
    #[inline]
    pub fn checksum_bytes(&mut self, bytes: &[u8]) -> Result<u64, Error> {
        call_optional!(self, CHECKSUM_BYTES, (&[u8],), (u64,), (bytes,)).map(|(sum,)| sum)
    }

    /// `fill-bytes(len, seed)`: the guest's buffer lifted into a new `Vec`.
    #[inline]
    pub fn fill_bytes(&mut self, len: u32, seed: u32) -> Result<Vec<u8>, Error> {
        call_optional!(self, FILL_BYTES, (u32, u32), (Vec<u8>,), (len, seed)).map(|(bytes,)| bytes)
    }

    /// `checksum-string(text)`: the string lowered into the guest as UTF-8.
    #[inline]
    pub fn checksum_string(&mut self, text: &str) -> Result<u64, Error> {
        call_optional!(self, CHECKSUM_STRING, (&str,), (u64,), (text,)).map(|(sum,)| sum)
    }

    /// What the guest wrote to stdout since the last take, when loaded with [`crate::GuestOutput::Keep`].
    pub fn take_output(&mut self) -> Option<Vec<u8>> {
        self.store.data().take_output()
    }

    /// An export as an untyped function (`component::Func`), for the `Val` call path. Look it up once.
    pub fn func(&mut self, name: &str) -> Result<Func, Error> {
        self.instance.get_func(&mut self.store, name).ok_or_else(|| Error::MissingExport {
            module: self.guest.name.clone(),
            export: name.to_string(),
            kind: "a function",
        })
    }

    /// Calls `func` through the untyped path with caller-owned `Val` buffers.
    #[inline]
    pub fn call_func(&mut self, func: &Func, params: &[Val], results: &mut [Val]) -> Result<(), Error> {
        let crossing = Crossing::Checked;
        guarded(&mut self.store, &mut self.poisoned, "(untyped call)", crossing, |store| {
            func.call(store, params, results)
        })
    }

    /// Runs `run` with a deadline, as [`crate::WasmHost::with_deadline`] does (needs the `epoch` profile; a reset
    /// inside keeps it, a nested one keeps the nearer).
    pub fn with_deadline<R>(&mut self, timeout: Duration, run: impl FnOnce(&mut Self) -> R) -> Result<R, Error> {
        if self.guest.profile != EngineProfile::Epoch {
            return Err(Error::NoDeadline { profile: self.guest.profile.name() });
        }
        let engine = self.guest.engine.clone();
        Ok(deadline::within(self, &engine, timeout, |host| &mut host.store.data_mut().deadline, run))
    }
}

#[cfg(test)]
mod tests {
    use super::export;

    /// The lines of `world NAME { ... }` in the guest's WIT file, without comments and blank lines.
    fn world_lines(wit: &str, name: &str) -> Vec<String> {
        let open = format!("world {name} {{");
        let lines: Vec<&str> = wit.lines().map(str::trim).collect();
        let start = lines.iter().position(|l| *l == open).unwrap_or_else(|| panic!("no `{open}` in boundary.wit"));
        let mut depth = 0usize;
        let mut body = Vec::new();
        for line in &lines[start + 1..] {
            if *line == "}" {
                if depth == 0 {
                    break;
                }
                depth -= 1;
            } else if line.ends_with('{') {
                depth += 1;
            }
            if !line.is_empty() && !line.starts_with("//") {
                body.push(line.to_string());
            }
        }
        body
    }

    /// The host's bindings come from `guest-required`, the guest's from `guest`: the first must be the second
    /// without its optional exports, line for line.
    #[test]
    fn the_required_world_is_the_guest_world_without_its_optional_exports() {
        let wit = include_str!("../../../guest/wit/boundary.wit");
        let optional = |line: &String| export::OPTIONAL.iter().any(|name| line.starts_with(&format!("export {name}:")));
        let guest: Vec<String> = world_lines(wit, "guest").into_iter().filter(|l| !optional(l)).collect();
        assert_eq!(world_lines(wit, "guest-required"), guest);
        for name in export::OPTIONAL {
            assert!(world_lines(wit, "guest").iter().any(|l| l.starts_with(&format!("export {name}:"))), "{name}");
        }
    }
}
