//! Every row of the matrix, named once: the bench registers its closures under these ids and the results
//! writer lays out its table from them.

use crate::probe::Serves;
use crate::subject::{Needs, Subject};
use boundary_host::component::export as cexport;

/// One row of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    /// Slash path; under a profile, criterion's id is `{id}/{profile}`, so `cargo bench -- calls/nop` picks a
    /// family.
    pub id: &'static str,
    /// What one iteration does.
    pub what: &'static str,
    /// The native row this one is compared with, if there is one that does the same work without wasm.
    pub native: Option<&'static str>,
    /// Elements per iteration, for rows measured with `Throughput::Elements`.
    pub elements: Option<u64>,
    /// The profiles the row is measured under, for rows that do not apply to all (see [`INSTANTIATION_PROFILES`]
    /// and [`TRAP_PROFILES`]); the C++ host's rows run wasmtime's default configuration, `cranelift`, only.
    pub profiles: Option<&'static [&'static str]>,
    /// Whether the row is the C++ host's, measured only in a build with the `cpp` feature (and for the project's
    /// own guest: the C++ host's loops are written for it).
    pub needs_cpp: bool,
    /// What the row needs of the module it measures ([`crate::subject::Serves`] says whether a module has it).
    pub needs: Needs,
}

impl Row {
    /// The same row needing `needs` of its module.
    pub const fn needing(self, needs: Needs) -> Row {
        Row { needs, ..self }
    }

    /// Whether the row is measured under `profile`.
    pub fn measured_under(&self, profile: &str) -> bool {
        self.profiles.is_none_or(|only| only.contains(&profile))
    }
}

const fn row(id: &'static str, what: &'static str, native: &'static str) -> Row {
    Row { id, what, native: Some(native), elements: None, profiles: None, needs_cpp: false, needs: Needs::Abi }
}

/// A row with no native floor, measured under `profiles`.
const fn unfloored(id: &'static str, what: &'static str, profiles: &'static [&'static str]) -> Row {
    Row { id, what, native: None, elements: None, profiles: Some(profiles), needs_cpp: false, needs: Needs::Abi }
}

/// A row of the C++ host (`host/cpp`), which runs wasmtime's default configuration: the `cranelift` profile.
const fn cpp(id: &'static str, what: &'static str, native: &'static str) -> Row {
    Row {
        id,
        what,
        native: Some(native),
        elements: None,
        profiles: Some(&["cranelift"]),
        needs_cpp: true,
        needs: Needs::Abi,
    }
}

const fn batch(id: &'static str, native: &'static str, n: u64) -> Row {
    Row {
        id,
        what: "one `point_add_batch` call over n Points already in guest memory",
        native: Some(native),
        elements: Some(n),
        profiles: None,
        needs_cpp: false,
        needs: Needs::Batch,
    }
}

/// The core module's counterpart of a list call (see `component_ops::core_batch_copy`).
const fn batch_copy(id: &'static str, native: &'static str, n: u64) -> Row {
    Row {
        id,
        what: "n Points of each input copied into guest memory, one `point_add_batch`, n sums copied out (host core)",
        native: Some(native),
        elements: Some(n),
        profiles: None,
        needs_cpp: false,
        needs: Needs::Batch,
    }
}

/// A list call into the component.
const fn list(id: &'static str, native: &'static str, n: u64) -> Row {
    Row {
        id,
        what: "the component's `point-add-batch` over two `list<point>` of n: lowered in, the sums lifted into a new `Vec`",
        native: Some(native),
        elements: Some(n),
        profiles: None,
        needs_cpp: false,
        needs: Needs::WorldExport(cexport::POINT_ADD_BATCH),
    }
}

/// The profiles instantiation rows are measured under: the ones whose configuration changes what instantiating
/// does. The compiler does not (code is compiled once per module, not per instance), so `cranelift` stands for
/// `cranelift-none`, `cranelift-size`, `winch` and `pulley`, and for `fuel` and `epoch` (a counter set per store).
/// The memory configuration does (`bounds-checked` reserves no guard region), and so does the allocator
/// (`pooling` takes a slot and resets it by copy-on-write).
pub const INSTANTIATION_PROFILES: &[&str] = &["cranelift", "bounds-checked", "pooling"];

/// The profiles trap rows are measured under: one for each way a trap is raised and recovered from. Compiled code
/// traps by a signal (`cranelift`, `winch`; `cranelift-none`, `cranelift-size`, `fuel` and `epoch` trap the same
/// way as `cranelift`), `bounds-checked` code by an explicit check, `pulley` inside the interpreter, and `pooling`
/// recovers into a pooled slot.
pub const TRAP_PROFILES: &[&str] = &["cranelift", "winch", "pulley", "bounds-checked", "pooling"];

/// Native floors: measured once, not per profile.
pub mod native {
    pub const JUST_ADD: &str = "native/just_add";
    pub const NOP: &str = "native/nop";
    pub const TRIGGER_HOST_CALLS: &str = "native/trigger_host_calls";
    pub const HOST_LOG_VALUE: &str = "native/host_log_value";
    pub const POINT_ADD: &str = "native/point_add";
    pub const POINT_WRITE_READ: &str = "native/point_write_read";
    pub const BATCH_1: &str = "native/batch/1";
    pub const BATCH_64: &str = "native/batch/64";
    pub const BATCH_4096: &str = "native/batch/4096";

    /// (id, what one iteration does).
    pub const ALL: &[(&str, &str)] = &[
        (JUST_ADD, "a non-inlined Rust call of a wrapping add"),
        (NOP, "a non-inlined call of an empty Rust function"),
        (TRIGGER_HOST_CALLS, "a non-inlined Rust function making the same three host-state calls"),
        (HOST_LOG_VALUE, "one non-inlined call of a host function updating host state"),
        (POINT_ADD, "two Points copied into a byte buffer, added by a non-inlined call, one read back"),
        (POINT_WRITE_READ, "one Point copied into a byte buffer and read back"),
        (BATCH_1, "a native loop adding 1 Point pair"),
        (BATCH_64, "a native loop adding 64 Point pairs"),
        (BATCH_4096, "a native loop adding 4096 Point pairs"),
    ];
}

pub const JUST_ADD_TYPED: Row = row("calls/just_add/typed", "`TypedFunc::call` of `just_add`", native::JUST_ADD);
pub const JUST_ADD_UNTYPED: Row =
    row("calls/just_add/untyped", "`Func::call` with reused `Val` buffers", native::JUST_ADD);
pub const JUST_ADD_UNCHECKED: Row =
    row("calls/just_add/unchecked", "`Func::call_unchecked` with a reused `ValRaw` buffer", native::JUST_ADD);
pub const JUST_ADD_CORE: Row = row("calls/just_add/core", "`WasmHost::just_add` (the host core)", native::JUST_ADD);
pub const JUST_ADD_CPP_TYPED: Row = cpp(
    "calls/just_add/cpp_typed",
    "C++ host (`wasmtime.hh`): `TypedFunc::call` looked up once; the loop is timed inside C++",
    native::JUST_ADD,
);
pub const JUST_ADD_CPP_UNTYPED: Row =
    cpp("calls/just_add/cpp_untyped", "C++ host: `Func::call` with a list of `Val`s, looked up once", native::JUST_ADD);
pub const JUST_ADD_CPP_LOOKUP: Row = cpp(
    "calls/just_add/cpp_lookup_per_call",
    "C++ host, the article's habit: `Instance::get` by name on every call, then `Func::call`",
    native::JUST_ADD,
);
pub const NOP_TYPED: Row = row("calls/nop/typed", "`TypedFunc::call` of `nop`", native::NOP).needing(Needs::Nop);
pub const NOP_UNTYPED: Row =
    row("calls/nop/untyped", "`Func::call` with empty `Val` buffers", native::NOP).needing(Needs::Nop);
pub const NOP_UNCHECKED: Row = row("calls/nop/unchecked", "`Func::call_unchecked`", native::NOP).needing(Needs::Nop);
pub const NOP_CORE: Row = row("calls/nop/core", "`WasmHost::nop` (the host core)", native::NOP).needing(Needs::Nop);
pub const TRIGGER_RAW: Row = row(
    "callbacks/trigger_host_calls/raw",
    "one call in, three typed host calls out, raw wasmtime",
    native::TRIGGER_HOST_CALLS,
);
pub const TRIGGER_CORE: Row = row(
    "callbacks/trigger_host_calls/core",
    "the same through `WasmHost::trigger_host_calls`",
    native::TRIGGER_HOST_CALLS,
);
pub const TRIGGER_CPP: Row = cpp(
    "callbacks/trigger_host_calls/cpp",
    "C++ host: `TypedFunc::call` in, three host functions defined by `Linker::func_wrap` out",
    native::TRIGGER_HOST_CALLS,
);
pub const PER_CALLBACK_TYPED: Row = row(
    "callbacks/per_callback/typed",
    "one guest -> host call inside a guest loop (entry cost excluded), host function by `func_wrap`",
    native::HOST_LOG_VALUE,
)
.needing(Needs::CallHostN);
pub const PER_CALLBACK_UNTYPED: Row = row(
    "callbacks/per_callback/untyped",
    "the same with the host function defined by `func_new`",
    native::HOST_LOG_VALUE,
)
.needing(Needs::CallHostN);
pub const POINT_ADD_MEMCPY: Row = row(
    "structs/point_add/memcpy",
    "write two Points, call `point_add`, read one: one `Memory::write`/`read` per Point, bytes taken by raw pointer",
    native::POINT_ADD,
);
pub const POINT_ADD_BYTEMUCK: Row = row(
    "structs/point_add/bytemuck",
    "the same with `bytemuck::bytes_of`/`pod_read_unaligned` on `Memory::data_mut` (one borrow for both writes)",
    native::POINT_ADD,
);
pub const POINT_ADD_CAST: Row = row(
    "structs/point_add/bytemuck_cast",
    "the same with an in-place `bytemuck::from_bytes` cast (alignment checked)",
    native::POINT_ADD,
);
pub const POINT_ADD_CORE: Row =
    row("structs/point_add/core", "the same through `WasmHost::write`/`read`/`point_add`", native::POINT_ADD);
pub const POINT_ADD_CPP: Row = cpp(
    "structs/point_add/cpp",
    "C++ host: two Points `memcpy`d into `Memory::data` after a bounds check, typed `point_add`, one read back",
    native::POINT_ADD,
);
pub const POINT_RW_RAW: Row = row(
    "structs/point_write_read/raw",
    "write one Point and read it back with `Memory::data_mut` and bytemuck, no call",
    native::POINT_WRITE_READ,
);
pub const POINT_RW_CORE: Row =
    row("structs/point_write_read/core", "the same through `WasmHost::write`/`read`", native::POINT_WRITE_READ);
pub const JUST_ADD_ASYNC_TYPED: Row = row(
    "calls/just_add/async_typed",
    "`TypedFunc::call_async` of `just_add`, run to completion by `futures::executor::block_on`",
    native::JUST_ADD,
);
pub const JUST_ADD_ASYNC_UNTYPED: Row = row(
    "calls/just_add/async_untyped",
    "`Func::call_async` with reused `Val` buffers, by `block_on`",
    native::JUST_ADD,
);
pub const JUST_ADD_ASYNC_CORE: Row =
    row("calls/just_add/async_core", "`WasmHost::just_add_async` (the host core), by `block_on`", native::JUST_ADD);
pub const JUST_ADD_HOOK: Row = row(
    "calls/just_add/hook_core",
    "`WasmHost::just_add` with a call hook installed (`Store::call_hook`, counting each crossing)",
    native::JUST_ADD,
);
pub const TRIGGER_ASYNC: Row = row(
    "callbacks/trigger_host_calls/async_core",
    "`WasmHost::trigger_host_calls_async` into three host functions defined by `func_wrap_async`, by `block_on`",
    native::TRIGGER_HOST_CALLS,
);
pub const TRIGGER_HOOK: Row = row(
    "callbacks/trigger_host_calls/hook_core",
    "`WasmHost::trigger_host_calls` with a call hook installed",
    native::TRIGGER_HOST_CALLS,
);
pub const PER_CALLBACK_UNCHECKED: Row = row(
    "callbacks/per_callback/unchecked",
    "one guest -> host call inside a guest loop, host function by `func_new_unchecked`",
    native::HOST_LOG_VALUE,
)
.needing(Needs::CallHostN);
pub const PER_CALLBACK_ASYNC: Row = row(
    "callbacks/per_callback/async",
    "one guest -> host call inside a guest loop, host function by `func_wrap_async`, the loop entered by `call_async`",
    native::HOST_LOG_VALUE,
)
.needing(Needs::CallHostN);
pub const PER_CALLBACK_HOOK: Row = row(
    "callbacks/per_callback/hook",
    "one guest -> host call inside a guest loop, `func_wrap`, with a call hook installed",
    native::HOST_LOG_VALUE,
)
.needing(Needs::CallHostN);
pub const INSTANTIATE_LINKER: Row = unfloored(
    "instantiate/linker",
    "a new store (an empty WASI context in it) and `Linker::instantiate` of the quiet guest, imports resolved by name \
     on every instantiation; the drop not timed",
    INSTANTIATION_PROFILES,
)
.needing(Needs::Module);
pub const INSTANTIATE_PRE: Row = unfloored(
    "instantiate/pre",
    "a new store (an empty WASI context in it) and `InstancePre::instantiate`, imports resolved once beforehand; the \
     drop not timed",
    INSTANTIATION_PROFILES,
)
.needing(Needs::Module);
pub const INSTANTIATE_CORE: Row = unfloored(
    "instantiate/core",
    "`GuestModule::instantiate`: a new store with its WASI context, the instance, its exports typed; the drop not timed",
    INSTANTIATION_PROFILES,
);
pub const INSTANTIATE_DROP: Row = unfloored(
    "instantiate/drop",
    "the drop of a store holding an instance made by `InstancePre`: its memory unmapped, or its pool slot reset and \
     returned",
    INSTANTIATION_PROFILES,
)
.needing(Needs::Module);
pub const INSTANTIATE_THREADS_1: Row = unfloored(
    "instantiate/threads/1",
    "wall time per instance while 1 worker makes instances through `InstancePre` (a store, the instance, its drop), \
     the worker started before the timing (the baseline of the two below)",
    INSTANTIATION_PROFILES,
)
.needing(Needs::Module);
pub const INSTANTIATE_THREADS_2: Row = unfloored(
    "instantiate/threads/2",
    "the same with 2 workers at once: half of /1 if it scales",
    INSTANTIATION_PROFILES,
)
.needing(Needs::Module);
pub const INSTANTIATE_THREADS_4: Row =
    unfloored("instantiate/threads/4", "the same with 4 workers at once", INSTANTIATION_PROFILES)
        .needing(Needs::Module);
pub const TRAP_RETURNS: Row = unfloored(
    "traps/point_add/returns",
    "`point_add` on valid pointers, returning normally: what the trapping calls below are compared with",
    TRAP_PROFILES,
)
.needing(Needs::Trap);
pub const TRAP_BACKTRACE: Row = unfloored(
    "traps/point_add/trap",
    "`point_add` writing out of bounds: the call traps, a wasm backtrace is captured (wasmtime's default)",
    TRAP_PROFILES,
)
.needing(Needs::Trap);
pub const TRAP_NO_BACKTRACE: Row = unfloored(
    "traps/point_add/trap_no_backtrace",
    "the same trap with `Config::wasm_backtrace_max_frames(None)` (no wasm backtrace)",
    TRAP_PROFILES,
)
.needing(Needs::Trap);
pub const TRAP_CORE: Row = unfloored(
    "traps/point_add/core",
    "the same trap through `WasmHost::point_add`, then `WasmHost::reset`: the host core's whole policy",
    TRAP_PROFILES,
)
.needing(Needs::Trap);
pub const TRAP_RESET: Row = unfloored(
    "traps/reset/core",
    "`WasmHost::reset` alone: the store discarded, a fresh store and instance",
    TRAP_PROFILES,
)
.needing(Needs::Trap);
pub const JUST_ADD_COMPONENT: Row = row(
    "calls/just_add/component",
    "the guest as a component: `ComponentHost::just_add`, a typed call through `bindgen!`'s bindings",
    native::JUST_ADD,
)
.needing(Needs::World);
pub const JUST_ADD_COMPONENT_UNTYPED: Row = row(
    "calls/just_add/component_untyped",
    "the component's `just-add` by `component::Func::call` with reused `Val` buffers (through the host core)",
    native::JUST_ADD,
)
.needing(Needs::World);
pub const NOP_COMPONENT: Row =
    row("calls/nop/component", "`ComponentHost::nop`: the component's empty export", native::NOP)
        .needing(Needs::WorldExport(cexport::NOP));
pub const NOP_COMPONENT_UNTYPED: Row =
    row("calls/nop/component_untyped", "the component's `nop` by `component::Func::call`", native::NOP)
        .needing(Needs::WorldExport(cexport::NOP));
pub const TRIGGER_COMPONENT: Row = row(
    "callbacks/trigger_host_calls/component",
    "`ComponentHost::trigger_host_calls`: one call in, three calls of the imported `host` interface out",
    native::TRIGGER_HOST_CALLS,
)
.needing(Needs::World);
pub const PER_CALLBACK_COMPONENT: Row = row(
    "callbacks/per_callback/component",
    "one call of the component's imported `log-value` inside a guest loop (entry cost excluded)",
    native::HOST_LOG_VALUE,
)
.needing(Needs::WorldExport(cexport::CALL_HOST_N));
pub const POINT_ADD_COMPONENT: Row = row(
    "structs/point_add/component_record",
    "the component's `point-add`: two Points passed by value (a WIT record), the sum returned by value",
    native::POINT_ADD,
)
.needing(Needs::World);
pub const BATCH_1: Row = batch("structs/batch/1", native::BATCH_1, 1);
pub const BATCH_64: Row = batch("structs/batch/64", native::BATCH_64, 64);
pub const BATCH_4096: Row = batch("structs/batch/4096", native::BATCH_4096, 4096);
pub const BATCH_COPY_1: Row = batch_copy("structs/batch_copy/1", native::BATCH_1, 1);
pub const BATCH_COPY_64: Row = batch_copy("structs/batch_copy/64", native::BATCH_64, 64);
pub const BATCH_COPY_4096: Row = batch_copy("structs/batch_copy/4096", native::BATCH_4096, 4096);
pub const LIST_1: Row = list("structs/component_list/1", native::BATCH_1, 1);
pub const LIST_64: Row = list("structs/component_list/64", native::BATCH_64, 64);
pub const LIST_4096: Row = list("structs/component_list/4096", native::BATCH_4096, 4096);

pub const COMPILE: Row = Row {
    id: "lifecycle/compile",
    what: "`Module::from_binary` of the module: compiling it for this profile",
    native: None,
    elements: None,
    profiles: None,
    needs_cpp: false,
    needs: Needs::Module,
};
pub const COMPONENT_COMPILE: Row = Row {
    id: "lifecycle/component_compile",
    what: "`Component::from_binary` of the component: compiling it for this profile",
    native: None,
    elements: None,
    profiles: None,
    needs_cpp: false,
    needs: Needs::AnyComponent,
};
pub const COMPONENT_INSTANTIATE: Row = unfloored(
    "lifecycle/component_instantiate",
    "a new store and `component::InstancePre::instantiate` of the component through the host core, dropped",
    INSTANTIATION_PROFILES,
)
.needing(Needs::AnyComponent);

/// The rows that compile, of whatever the subject has: they take milliseconds, so they are sampled less.
pub const COMPILE_ROWS: &[&str] = &[COMPILE.id, COMPONENT_COMPILE.id];

/// Every row measured under each profile, in table order.
pub const PROFILED: &[Row] = &[
    JUST_ADD_TYPED,
    JUST_ADD_UNTYPED,
    JUST_ADD_UNCHECKED,
    JUST_ADD_CORE,
    JUST_ADD_COMPONENT,
    JUST_ADD_COMPONENT_UNTYPED,
    JUST_ADD_CPP_TYPED,
    JUST_ADD_CPP_UNTYPED,
    JUST_ADD_CPP_LOOKUP,
    NOP_TYPED,
    NOP_UNTYPED,
    NOP_UNCHECKED,
    NOP_CORE,
    NOP_COMPONENT,
    NOP_COMPONENT_UNTYPED,
    JUST_ADD_ASYNC_TYPED,
    JUST_ADD_ASYNC_UNTYPED,
    JUST_ADD_ASYNC_CORE,
    JUST_ADD_HOOK,
    TRIGGER_RAW,
    TRIGGER_CORE,
    TRIGGER_COMPONENT,
    TRIGGER_CPP,
    TRIGGER_ASYNC,
    TRIGGER_HOOK,
    PER_CALLBACK_TYPED,
    PER_CALLBACK_UNTYPED,
    PER_CALLBACK_UNCHECKED,
    PER_CALLBACK_ASYNC,
    PER_CALLBACK_HOOK,
    PER_CALLBACK_COMPONENT,
    POINT_ADD_MEMCPY,
    POINT_ADD_BYTEMUCK,
    POINT_ADD_CAST,
    POINT_ADD_CORE,
    POINT_ADD_COMPONENT,
    POINT_ADD_CPP,
    POINT_RW_RAW,
    POINT_RW_CORE,
    BATCH_1,
    BATCH_64,
    BATCH_4096,
    BATCH_COPY_1,
    BATCH_COPY_64,
    BATCH_COPY_4096,
    LIST_1,
    LIST_64,
    LIST_4096,
    INSTANTIATE_LINKER,
    INSTANTIATE_PRE,
    INSTANTIATE_CORE,
    INSTANTIATE_DROP,
    INSTANTIATE_THREADS_1,
    INSTANTIATE_THREADS_2,
    INSTANTIATE_THREADS_4,
    TRAP_RETURNS,
    TRAP_BACKTRACE,
    TRAP_NO_BACKTRACE,
    TRAP_CORE,
    TRAP_RESET,
    COMPILE,
    COMPONENT_COMPILE,
    COMPONENT_INSTANTIATE,
];

/// The kinds of call an `--invoke` export is measured by, as the last segment of its rows' ids.
pub const INVOKE_WAYS: &[(&str, &str)] = &[
    ("typed", "`TypedFunc::call`"),
    ("untyped", "`Func::call` with reused `Val` buffers"),
    ("unchecked", "`Func::call_unchecked` with a reused `ValRaw` buffer"),
];

/// The row of an `--invoke` export of a core module called one way (`typed`, `untyped`, `unchecked`), or of a
/// component's export (`component`). Its id and text live as long as the process, as the constant rows' do.
pub fn invoke_row(export_id: &str, way: &str, what: &str) -> Row {
    let id: &'static str = Box::leak(format!("invoke/{export_id}/{way}").into_boxed_str());
    let what: &'static str = Box::leak(what.to_string().into_boxed_str());
    let needs = if way == "component" { Needs::AnyComponent } else { Needs::Module };
    Row { id, what, native: None, elements: None, profiles: None, needs_cpp: false, needs }
}

/// The rows of a plugin's request (`--request`): the whole request on one instance, then each of its phases, timed
/// within the same requests (phase by phase, so the phases' rows add up to about the whole).
pub const REQUEST_PHASES: &[(&str, &str)] = &[
    ("whole", "the whole request on one instance: allocate, copy in, call, copy out, free"),
    ("alloc", "its allocator calls for the inputs and out-slots"),
    ("copy_in", "copying the inputs in (and zeroing the out-slots)"),
    ("call", "the call itself"),
    ("copy_out", "finding the output and copying it out"),
    ("free", "the frees of the output, inputs and out-slots"),
];

/// The row of one phase of a plugin's request (`request/<phase>`).
pub fn request_row(phase: &str, what: &str) -> Row {
    let id: &'static str = Box::leak(format!("request/{phase}").into_boxed_str());
    let what: &'static str = Box::leak(what.to_string().into_boxed_str());
    Row { id, what, native: None, elements: None, profiles: None, needs_cpp: false, needs: Needs::Module }
}

/// A row the subject cannot serve, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub id: &'static str,
    pub why: String,
}

/// The rows a run measures for `subject`, in table order, and the rows it skips with the reason: every row of
/// [`PROFILED`] the subject serves (the C++ host's only in a build `with_cpp`, and only for the project's guest),
/// then a row per `--invoke` export and way.
pub fn for_subject(subject: &Subject, serves: &Serves, with_cpp: bool) -> (Vec<Row>, Vec<Skipped>) {
    let mut rows = Vec::new();
    let mut skipped = Vec::new();
    for row in PROFILED {
        if row.needs_cpp && !with_cpp {
            continue;
        }
        let verdict = if row.needs_cpp && !subject.is_built_in() {
            Err("the C++ host's loops are written for the project's guest".to_string())
        } else {
            serves.check(row.needs)
        };
        match verdict {
            Ok(()) => rows.push(*row),
            Err(why) => skipped.push(Skipped { id: row.id, why }),
        }
    }
    for spec in &subject.invokes {
        let name = spec.id_name();
        if subject.core.is_some() {
            for (way, how) in INVOKE_WAYS {
                rows.push(invoke_row(&name, way, &format!("`{}` called by {how}", spec.name)));
            }
        }
        if subject.component.is_some() {
            let what = format!("the component's `{}` by `component::Func::call` with reused `Val` buffers", spec.name);
            rows.push(invoke_row(&name, "component", &what));
        }
    }
    if subject.request.is_some() {
        for (phase, what) in REQUEST_PHASES {
            rows.push(request_row(phase, what));
        }
    }
    (rows, skipped)
}

/// The rows of the top-level README's headline table (the latest run, `report::readme_block`), with the words that
/// name them there.
pub const HEADLINE: &[(Row, &str)] = &[
    (JUST_ADD_TYPED, "host -> guest call, typed (`TypedFunc::call`)"),
    (JUST_ADD_UNTYPED, "host -> guest call, untyped (`Func::call`)"),
    (JUST_ADD_CORE, "host -> guest call through the host core"),
    (PER_CALLBACK_TYPED, "guest -> host call, host function by `func_wrap`"),
    (PER_CALLBACK_UNTYPED, "guest -> host call, host function by `func_new`"),
    (JUST_ADD_ASYNC_TYPED, "host -> guest call, async (`TypedFunc::call_async`)"),
    (POINT_ADD_BYTEMUCK, "two Points in, `point_add`, one out (bytemuck)"),
    (BATCH_4096, "`point_add_batch` over 4096 Points"),
    (INSTANTIATE_PRE, "a new store and instance (`InstancePre::instantiate`)"),
    (TRAP_BACKTRACE, "a call that traps, with its wasm backtrace"),
];

/// The rows of the README's component table: the guest as a component beside the same guest as a core module,
/// doing the same work (component row, core module row, the words that name them).
pub const COMPONENT_HEADLINE: &[(Row, Row, &str)] = &[
    (JUST_ADD_COMPONENT, JUST_ADD_CORE, "typed call (`just-add` / `just_add`), through the host core"),
    (NOP_COMPONENT, NOP_CORE, "typed call of the empty export"),
    (JUST_ADD_COMPONENT_UNTYPED, JUST_ADD_UNTYPED, "untyped call with `Val` buffers (`component::Func` / `Func`)"),
    (TRIGGER_COMPONENT, TRIGGER_CORE, "one call in, three host calls out"),
    (PER_CALLBACK_COMPONENT, PER_CALLBACK_TYPED, "one guest -> host call"),
    (POINT_ADD_COMPONENT, POINT_ADD_CORE, "two Points in, their sum out: a record by value / copies through memory"),
    (LIST_64, BATCH_COPY_64, "64 Point pairs in, 64 sums out: `list<point>` / copies and `point_add_batch`"),
    (LIST_4096, BATCH_COPY_4096, "the same with 4096"),
];

/// The profiles of the headline table.
pub const HEADLINE_PROFILES: &[&str] = &["cranelift", "winch", "pulley"];

/// How much slower than raw wasmtime the host core may be.
pub const OVERHEAD_LIMIT: f64 = 0.05;

/// Criterion's full id of a row under a profile.
pub fn criterion_id(row_id: &str, profile: &str) -> String {
    format!("{row_id}/{profile}")
}
