//! What a subject serves, worked out before anything is measured: its module and component loaded, instantiated
//! and probed once under `cranelift`, each step under the watchdog, so that bad input or a misbehaving guest is one
//! line before any row or scenario runs. [`Serves::check`] says for each of [`Needs`] whether the subject meets it,
//! or which export it lacks.

use crate::guard;
use crate::subject::{Needs, Subject};
use boundary_host::{EngineProfile, GuestComponent, GuestModule, Wasm, guest};

/// Which rows a subject can serve, worked out once by loading it; each `Err` says why not.
#[derive(Debug, Clone)]
pub struct Serves {
    module: Result<(), String>,
    any_component: Result<(), String>,
    abi: Result<(), String>,
    nop: bool,
    batch: bool,
    call_host_n: bool,
    payload: bool,
    trap: Result<(), String>,
    world: Result<(), String>,
    /// The optional exports the component has.
    world_exports: Vec<&'static str>,
}

impl Serves {
    /// Loads the subject's core module and component under the `cranelift` profile to see what they have.
    pub fn of(subject: &Subject) -> Self {
        let profile = EngineProfile::Cranelift;
        let options = crate::guard::host_options();
        let engine = profile.engine().map_err(|e| e.to_string());
        let none = |what: &str| Err(format!("the subject has no {what}"));
        let (module, abi, (nop, batch, call_host_n, payload)) = match (&subject.core, &engine) {
            (None, _) => (none("core module"), none("core module"), (false, false, false, false)),
            (Some(_), Err(e)) => (Err(e.clone()), Err(e.clone()), (false, false, false, false)),
            (Some(wasm), Ok(engine)) => {
                let module = crate::ops::raw::Linked::load(profile, engine, wasm).map(|_| ());
                let name = wasm.name.clone();
                let stubs = |m: &_| boundary_host::plugin::import_stubs(m, &crate::guard::imports().defined);
                match GuestModule::load_with_stubs(name, &wasm.bytes, wasm.is_text, profile, engine, options, stubs) {
                    Ok(guest) => {
                        let has = |f| guest.exports_optional(f);
                        let optional = (
                            has(&guest::export::NOP),
                            has(&guest::export::POINT_ADD_BATCH),
                            has(&guest::export::CALL_HOST_N),
                            has(&guest::export::CHECKSUM_BYTES) && has(&guest::export::FILL_BYTES),
                        );
                        (module, Ok(()), optional)
                    }
                    Err(e) => (module, Err(format!("needs the guest ABI: {e}")), (false, false, false, false)),
                }
            }
        };
        let (any_component, world, world_exports) = match (&subject.component, &engine) {
            (None, _) => (none("component"), none("component"), Vec::new()),
            (Some(_), Err(e)) => (Err(e.clone()), Err(e.clone()), Vec::new()),
            (Some(wasm), Ok(engine)) => {
                let load = |name: String| {
                    boundary_host::LinkedComponent::load(name, &wasm.bytes, wasm.is_text, profile, engine, options)
                };
                let any = load(wasm.name.clone()).map(|_| ()).map_err(|e| e.to_string());
                let world = GuestComponent::load_with_engine(
                    wasm.name.clone(),
                    &wasm.bytes,
                    wasm.is_text,
                    profile,
                    engine,
                    options,
                )
                .map_err(|e| format!("needs a component of the guest's WIT world: {e}"));
                let exports = world.as_ref().map_or(Vec::new(), |guest| {
                    boundary_host::component::export::OPTIONAL
                        .into_iter()
                        .filter(|e| guest.exports_optional(e))
                        .collect()
                });
                (any, world.map(|_| ()), exports)
            }
        };
        // Probed by [`prepare`], which runs guest code under the watchdog.
        let trap = Err("not probed".to_string());
        Serves { module, any_component, abi, nop, batch, call_host_n, payload, trap, world, world_exports }
    }

    /// Whether the subject serves a row that needs `needs`, or why not (naming the export it lacks).
    pub fn check(&self, needs: Needs) -> Result<(), String> {
        let optional = |present: bool, export: &str| {
            self.abi.clone()?;
            if present { Ok(()) } else { Err(format!("needs the optional export `{export}`")) }
        };
        match needs {
            Needs::Module => self.module.clone(),
            Needs::AnyComponent => self.any_component.clone(),
            Needs::Abi => self.abi.clone(),
            Needs::Nop => optional(self.nop, guest::export::NOP.name),
            Needs::Batch => optional(self.batch, guest::export::POINT_ADD_BATCH.name),
            Needs::CallHostN => optional(self.call_host_n, guest::export::CALL_HOST_N.name),
            Needs::Payload => optional(self.payload, "checksum_bytes` and `fill_bytes"),
            Needs::Trap => self.abi.clone().and_then(|()| self.trap.clone()),
            Needs::World => self.world.clone(),
            Needs::WorldExport(export) => self.world.clone().and_then(|()| {
                if self.world_exports.contains(&export) {
                    Ok(())
                } else {
                    Err(format!("needs the component's optional export `{export}`"))
                }
            }),
        }
    }

    /// Whether the core module loads at all (compiles and links): what every core row needs first. An error here
    /// is the user's module being unusable, not a row being skipped.
    pub fn module_error(&self) -> Option<&str> {
        self.module.as_ref().err().map(String::as_str)
    }

    pub fn component_error(&self) -> Option<&str> {
        self.any_component.as_ref().err().map(String::as_str)
    }
}

/// A subject checked before anything is measured: what it serves, and for each `--invoke` export whether the
/// typed path covers its signature (or why not).
#[derive(Debug)]
pub struct Prepared {
    pub serves: Serves,
    pub typed: Vec<Result<(), String>>,
}

/// Loads `subject` and prepares (and calls once) every `--invoke` export under `cranelift`: a file that is not wasm,
/// a module that does not compile or link (an import nothing provides), a name the module lacks, a signature that
/// cannot be called, or a call that traps is an error here, one line, before any measurement.
pub fn prepare(subject: &Subject) -> Result<Prepared, String> {
    let mut serves = guard::step(&format!("loading {}", subject.describe()), || Serves::of(subject));
    if let Some(e) = serves.module_error().filter(|_| subject.core.is_some()) {
        return Err(e.to_string());
    }
    if let Some(e) = serves.component_error().filter(|_| subject.component.is_some() && subject.core.is_none()) {
        return Err(e.to_string());
    }
    let profile = EngineProfile::Cranelift;
    let engine = profile.engine().map_err(|e| e.to_string())?;
    if let Some(wasm) = &subject.core {
        let linked = crate::ops::raw::Linked::load(profile, &engine, wasm)?;
        guard::step(&format!("instantiating {} (its start function included)", wasm.name), || {
            let mut store = linked.new_store();
            linked.pre.instantiate(&mut store).map(|_| ()).map_err(|e| instantiate_error(&wasm.name, &e))
        })?;
        if serves.abi.is_ok() {
            serves.trap = guard::step("calling `point_add` with its output past memory, as the trap rows do", || {
                probe_trap(profile, &engine, wasm)
            });
        }
    }
    if let (Some(wasm), true) = (&subject.component, serves.any_component.is_ok()) {
        let linked = crate::ops::component::link(profile, &engine, wasm)?;
        guard::step(&format!("instantiating {} (its start functions included)", wasm.name), || {
            linked.instantiate().map(|_| ()).map_err(|e| guard::describe(&e))
        })?;
    }
    if let (Some(request), Some(wasm)) = (&subject.request, &subject.core) {
        let what = format!("the trial request `{}`", boundary_host::escape_controls(&request.call_text()));
        guard::step(&what, || {
            crate::ops::plugin::PreparedRequest::new(profile, &engine, wasm, request, guard::host_options()).map(|_| ())
        })?;
    }
    let mut typed = Vec::new();
    for spec in &subject.invokes {
        let what = format!("the trial call of `--invoke {}`", boundary_host::escape_controls(&spec.name));
        let mut covered = Err("a component's exports are called untyped only".to_string());
        if let Some(wasm) = &subject.core {
            let linked = crate::ops::raw::Linked::load(profile, &engine, wasm)?;
            covered = guard::step(&what, || {
                let mut store = linked.new_store();
                let instance = linked.pre.instantiate(&mut store).map_err(|e| instantiate_error(&wasm.name, &e))?;
                let call = crate::ops::invoke::CoreInvoke::prepare(&mut store, &instance, spec)?;
                trial_returned(&call.call_text(), &call.results_text());
                Ok::<_, String>(call.typed_unsupported().map_or(Ok(()), Err))
            })?;
        }
        if let Some(wasm) = &subject.component {
            let linked = crate::ops::component::link(profile, &engine, wasm)?;
            guard::step(&what, || {
                let (mut store, instance) = linked.instantiate().map_err(|e| guard::describe(&e))?;
                let call = crate::ops::invoke::ComponentInvoke::prepare(&mut store, &instance, spec)?;
                trial_returned(&call.call_text(), &call.results_text());
                call.check_results(spec)
            })?;
        }
        typed.push(covered);
    }
    Ok(Prepared { serves, typed })
}

/// The line saying what the trial call of an `--invoke` export returned: the call and its results as WAVE writes
/// them, so that a user sees what is measured before it is.
fn trial_returned(call: &str, results: &str) {
    let results = if results.is_empty() { "nothing".to_string() } else { format!("`{results}`") };
    println!("invoke: `{call}` returned {results}");
}

/// An instantiation that failed, as one line: the start function's trap, or the budget it went past.
fn instantiate_error(name: &str, e: &boundary_host::wasmtime::Error) -> String {
    format!("cannot instantiate {name}: {}", guard::describe(e))
}

/// Whether `point_add` traps with an out-of-bounds access when its output lies past memory, as the trap rows need.
fn probe_trap(profile: EngineProfile, engine: &boundary_host::wasmtime::Engine, wasm: &Wasm) -> Result<(), String> {
    use boundary_host::wasmtime::Trap;
    let mut guest = crate::ops::raw::RawGuest::load(profile, engine, wasm)?;
    match guest.point_add.call(&mut guest.store, crate::ops::TRAP_ARGS) {
        Err(e) if e.downcast_ref::<Trap>() == Some(&Trap::MemoryOutOfBounds) => Ok(()),
        Err(e) => Err(format!(
            "needs `point_add` to trap out of bounds on an output past memory; it failed: {}",
            guard::describe(&e)
        )),
        Ok(()) => Err("needs `point_add` to trap on an output past memory; it returned".to_string()),
    }
}
