//! The isolation oracle for recycled pool slots: one definition of the input, the check and its negative control,
//! which the proptest (`proptests/tests/isolation.rs`) and the fuzz target (`fuzz/fuzz_targets/isolation.rs`) call.
//!
//! A pooling engine with a single slot serves every instance, so instance B necessarily takes the slot instance A
//! left. A [`Case`] picks one of the slot-reset configurations ([`RESETS`]: copy-on-write on and off,
//! `linear_memory_keep_resident` of 0, 64 KiB and 1 MiB, `PAGEMAP_SCAN` on and off) and a program that A runs:
//! writes from the host and from the guest at arbitrary offsets (grown pages and page edges included), memory
//! growth, changes to the globals and the table. A is dropped; B must then see exactly what a fresh instance of the
//! module sees on an engine that never reused anything: the initial memory size and every byte of the initial
//! image, the globals' initial values, the table's initial size and elements.

use arbitrary::Arbitrary;
use boundary_host::profile::{SlotReset, pagemap_scan_available, pooled_config};
use boundary_host::wasmtime::{Engine, Instance, Module, Ref, Store, Val};
use std::fmt;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

/// The guest every case runs: a memory with data across a page edge and in its second page, two mutable globals,
/// a table with two elements, and exports that write, fill and grow memory from inside the guest.
pub const GUEST_WAT: &str = r#"(module
  (memory (export "memory") 2 16)
  (global (export "g32") (mut i32) (i32.const 0x11223344))
  (global (export "g64") (mut i64) (i64.const 0x0102030405060708))
  (table (export "table") 4 16 funcref)
  (elem (i32.const 0) $seven $seven)
  (func $seven (result i32) (i32.const 7))
  (data (i32.const 0) "the isolation guest's initial image")
  (data (i32.const 65530) "\de\ad\be\ef\ca\fe\ba\be\00\11\22\33")
  (data (i32.const 70000) "in the second page")
  (func (export "store8") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
  (func (export "fill") (param i32 i32 i32) (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#;

/// The guest's initial memory, in 64 KiB pages, and the most it may have.
pub const INITIAL_PAGES: u64 = 2;
const MAX_MEMORY: usize = 16 * 65536;
/// Operations per program beyond which the rest are ignored, and bytes per host write at most.
pub const MAX_OPS: usize = 32;
pub const MAX_BYTES: usize = 64;

/// The slot-reset configurations the oracle covers.
pub const RESETS: [SlotReset; 12] = {
    const fn reset(copy_on_write: bool, keep_resident: usize, pagemap_scan: bool) -> SlotReset {
        SlotReset { copy_on_write, keep_resident, pagemap_scan }
    }
    [
        reset(true, 0, false),
        reset(true, 64 << 10, false),
        reset(true, 1 << 20, false),
        reset(true, 0, true),
        reset(true, 64 << 10, true),
        reset(true, 1 << 20, true),
        reset(false, 0, false),
        reset(false, 64 << 10, false),
        reset(false, 1 << 20, false),
        reset(false, 0, true),
        reset(false, 64 << 10, true),
        reset(false, 1 << 20, true),
    ]
};

/// Where an operation lands, resolved against the memory's size when it runs.
#[derive(Clone, Copy, PartialEq, Eq, Arbitrary)]
pub enum Spot {
    /// Any offset below the current size (taken modulo the size).
    Any(u32),
    /// `size - 1 - n`: the last bytes of memory.
    FromEnd(u16),
    /// Around the start of page `page` (modulo the pages there are): `page * 64 KiB - 8 + n`, for `n` in `0..16`.
    PageEdge { page: u8, n: u8 },
    /// In memory the program grew: past the initial pages (at their end if nothing was grown).
    Grown(u32),
}

impl fmt::Debug for Spot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Spot::Any(n) => write!(f, "Spot::Any({n:#x})"),
            Spot::FromEnd(n) => write!(f, "Spot::FromEnd({n})"),
            Spot::PageEdge { page, n } => write!(f, "Spot::PageEdge {{ page: {page}, n: {n} }}"),
            Spot::Grown(n) => write!(f, "Spot::Grown({n:#x})"),
        }
    }
}

impl Spot {
    fn resolve(self, size: usize) -> usize {
        let page = 65536;
        let initial = INITIAL_PAGES as usize * page;
        let at = match self {
            Spot::Any(n) => n as usize % size,
            Spot::FromEnd(n) => size.saturating_sub(1 + usize::from(n) % size),
            Spot::PageEdge { page: p, n } => {
                let pages = (size / page).max(1);
                ((usize::from(p) % pages) * page).saturating_sub(8) + usize::from(n % 16)
            }
            Spot::Grown(n) if size > initial => initial + n as usize % (size - initial),
            Spot::Grown(_) => size - 1,
        };
        at.min(size - 1)
    }
}

/// One thing instance A does to its slot.
#[derive(Debug, Clone, PartialEq, Eq, Arbitrary)]
pub enum Op {
    /// The host writes bytes (cut to [`MAX_BYTES`] and to the end of memory).
    HostWrite { at: Spot, bytes: Vec<u8> },
    /// The guest stores one byte (`i32.store8`).
    GuestStore { at: Spot, value: u8 },
    /// The guest fills `len` bytes (cut to the end of memory) with `value` (`memory.fill`).
    GuestFill { at: Spot, value: u8, len: u16 },
    /// The guest grows memory by `pages % 4` pages (up to its maximum).
    Grow { pages: u8 },
    /// The host sets the globals.
    SetGlobals { g32: i32, g64: i64 },
    /// The host sets table element `index % size` to null, or to the table's first function.
    SetTable { index: u8, null: bool },
    /// The host grows the table by `by % 4` null elements.
    GrowTable { by: u8 },
}

/// A program for instance A under one slot-reset configuration.
#[derive(Debug, Clone, PartialEq, Eq, Arbitrary)]
pub struct Case {
    /// Index into [`RESETS`], modulo its length.
    pub reset: u8,
    pub ops: Vec<Op>,
}

impl Case {
    pub fn reset(&self) -> SlotReset {
        RESETS[usize::from(self.reset) % RESETS.len()]
    }
}

/// What B saw that a fresh instance does not: the first difference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leak {
    pub reset: SlotReset,
    pub what: String,
}

impl fmt::Display for Leak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a recycled slot was not clean under {:?}: {}", self.reset, self.what)
    }
}

/// What a fresh instance of the guest holds, read on an engine that recycles nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fresh {
    memory: Vec<u8>,
    g32: i32,
    g64: i64,
    table: Vec<bool>,
}

/// The state of an instance, in the form [`Fresh`] has it.
fn observe(store: &mut Store<()>, instance: &Instance) -> Result<Fresh, String> {
    let memory = instance.get_memory(&mut *store, "memory").ok_or("no memory export")?;
    let global = |store: &mut Store<()>, name: &str| {
        instance.get_global(&mut *store, name).map(|g| g.get(&mut *store)).ok_or(format!("no global `{name}`"))
    };
    let g32 = global(store, "g32")?.i32().ok_or("g32 is not an i32")?;
    let g64 = global(store, "g64")?.i64().ok_or("g64 is not an i64")?;
    let table = instance.get_table(&mut *store, "table").ok_or("no table export")?;
    let size = table.size(&mut *store);
    let mut elements = Vec::new();
    for i in 0..size {
        let element = table.get(&mut *store, i).ok_or("table element out of bounds")?;
        elements.push(!element.is_null());
    }
    Ok(Fresh { memory: memory.data(&*store).to_vec(), g32, g64, table: elements })
}

/// The first difference between `seen` and `fresh`, if there is one.
fn difference(fresh: &Fresh, seen: &Fresh) -> Option<String> {
    if seen.memory.len() != fresh.memory.len() {
        return Some(format!("memory of {} bytes, not the initial {}", seen.memory.len(), fresh.memory.len()));
    }
    if let Some(at) = seen.memory.iter().zip(&fresh.memory).position(|(s, f)| s != f) {
        return Some(format!("byte {at:#x} is {:#04x}, not the initial {:#04x}", seen.memory[at], fresh.memory[at]));
    }
    if (seen.g32, seen.g64) != (fresh.g32, fresh.g64) {
        return Some(format!(
            "globals ({:#x}, {:#x}), not the initial ({:#x}, {:#x})",
            seen.g32, seen.g64, fresh.g32, fresh.g64
        ));
    }
    if seen.table != fresh.table {
        return Some(format!("table elements (non-null) {:?}, not the initial {:?}", seen.table, fresh.table));
    }
    None
}

/// A compiled guest on its engine.
struct Guest {
    engine: Engine,
    module: Module,
}

impl Guest {
    fn new(engine: Engine) -> Result<Self, String> {
        let module = Module::new(&engine, GUEST_WAT).map_err(|e| format!("the isolation guest: {e:#}"))?;
        Ok(Guest { engine, module })
    }

    fn instantiate(&self) -> Result<(Store<()>, Instance), String> {
        let mut store = Store::new(&self.engine, ());
        let instance = Instance::new(&mut store, &self.module, &[]).map_err(|e| format!("instantiating: {e:#}"))?;
        Ok((store, instance))
    }
}

/// The fresh state, read once on an on-demand engine.
fn fresh() -> Result<&'static Fresh, String> {
    static FRESH: OnceLock<Result<Fresh, String>> = OnceLock::new();
    FRESH
        .get_or_init(|| {
            let guest = Guest::new(Engine::default())?;
            let (mut store, instance) = guest.instantiate()?;
            observe(&mut store, &instance)
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// The single-slot pooling engine of each reset configuration, made once; `Err` if wasmtime refuses one (a
/// kernel without `PAGEMAP_SCAN`, for the configurations that ask for it). Each is behind a lock held for a whole
/// case, so that cases run from several threads (the test harness's) do not take each other's slot.
fn guest_for(reset: SlotReset) -> Result<MutexGuard<'static, Guest>, String> {
    static GUESTS: OnceLock<Vec<Result<Mutex<Guest>, String>>> = OnceLock::new();
    let guests = GUESTS.get_or_init(|| {
        RESETS
            .iter()
            .map(|&reset| {
                let config = pooled_config(1, MAX_MEMORY, reset).map_err(|e| e.to_string())?;
                let engine = Engine::new(&config).map_err(|e| format!("{reset:?}: {e:#}"))?;
                Guest::new(engine).map(Mutex::new)
            })
            .collect()
    });
    let index = RESETS.iter().position(|r| *r == reset).ok_or("not one of RESETS")?;
    let guest = guests[index].as_ref().map_err(Clone::clone)?;
    // A case that panicked (a fuzz finding) leaves nothing of its own behind in the guest: its store is gone.
    Ok(guest.lock().unwrap_or_else(PoisonError::into_inner))
}

/// Whether the configuration can run on this machine (`PAGEMAP_SCAN` needs Linux 6.7 or later).
pub fn available(reset: SlotReset) -> bool {
    !reset.pagemap_scan || pagemap_scan_available()
}

/// Runs the case's program on instance A. A guest trap ends the program (the store is left as the trap left it).
fn run_program(store: &mut Store<()>, instance: &Instance, ops: &[Op]) -> Result<(), String> {
    let memory = instance.get_memory(&mut *store, "memory").ok_or("no memory export")?;
    let store8 = instance.get_typed_func::<(u32, u32), ()>(&mut *store, "store8").map_err(|e| e.to_string())?;
    let fill = instance.get_typed_func::<(u32, u32, u32), ()>(&mut *store, "fill").map_err(|e| e.to_string())?;
    let grow = instance.get_typed_func::<u32, i32>(&mut *store, "grow").map_err(|e| e.to_string())?;
    let table = instance.get_table(&mut *store, "table").ok_or("no table export")?;
    let first = table.get(&mut *store, 0).ok_or("an empty table")?;
    for op in ops.iter().take(MAX_OPS) {
        let size = memory.data_size(&*store);
        let trapped = match op {
            Op::HostWrite { at, bytes } => {
                let at = at.resolve(size);
                let len = bytes.len().min(MAX_BYTES).min(size - at);
                memory.write(&mut *store, at, &bytes[..len]).map_err(|e| e.to_string())?;
                false
            }
            Op::GuestStore { at, value } => {
                store8.call(&mut *store, (at.resolve(size) as u32, u32::from(*value))).is_err()
            }
            Op::GuestFill { at, value, len } => {
                let at = at.resolve(size);
                let len = usize::from(*len).min(size - at);
                fill.call(&mut *store, (at as u32, u32::from(*value), len as u32)).is_err()
            }
            Op::Grow { pages } => grow.call(&mut *store, u32::from(pages % 4)).is_err(),
            Op::SetGlobals { g32, g64 } => {
                let set = |store: &mut Store<()>, name: &str, value: Val| {
                    let global = instance.get_global(&mut *store, name).ok_or(format!("no global `{name}`"))?;
                    global.set(&mut *store, value).map_err(|e| e.to_string())
                };
                set(store, "g32", Val::I32(*g32))?;
                set(store, "g64", Val::I64(*g64))?;
                false
            }
            Op::SetTable { index, null } => {
                let size = table.size(&*store);
                let value = if *null { Ref::Func(None) } else { first.clone() };
                table.set(&mut *store, u64::from(*index) % size, value).map_err(|e| e.to_string())?;
                false
            }
            Op::GrowTable { by } => {
                // Past the table's maximum the growth fails, as wasm says; nothing else to check here.
                let _ = table.grow(&mut *store, u64::from(by % 4), Ref::Func(None));
                false
            }
        };
        if trapped {
            break;
        }
    }
    Ok(())
}

/// Runs `case`: A runs its program in the single slot and is dropped; B, in the same slot, must see a fresh
/// instance. `Ok` also for a configuration this kernel cannot run ([`available`] says which).
pub fn check(case: &Case) -> Result<(), Leak> {
    let reset = case.reset();
    let leak = |what: String| Leak { reset, what };
    if !available(reset) {
        return Ok(());
    }
    let fresh = fresh().map_err(leak)?;
    let guest = guest_for(reset).map_err(leak)?;
    {
        let (mut store, instance) = guest.instantiate().map_err(leak)?;
        run_program(&mut store, &instance, &case.ops).map_err(leak)?;
        // A's store, and with it its instance, is dropped here: the slot goes back to the pool and is reset.
    }
    let (mut store, instance) = guest.instantiate().map_err(leak)?;
    let seen = observe(&mut store, &instance).map_err(leak)?;
    match difference(fresh, &seen) {
        Some(what) => Err(leak(what)),
        None => Ok(()),
    }
}

/// The negative control: the same program, and then the instance A itself is examined as if it were B, as a slot
/// that nothing reset would be. The check must report a leak whenever the program left anything changed; `Ok`
/// means A's state is indistinguishable from a fresh instance.
pub fn check_without_reset(case: &Case) -> Result<(), Leak> {
    let reset = case.reset();
    let leak = |what: String| Leak { reset, what };
    if !available(reset) {
        return Ok(());
    }
    let fresh = fresh().map_err(leak)?;
    let guest = guest_for(reset).map_err(leak)?;
    let (mut store, instance) = guest.instantiate().map_err(leak)?;
    run_program(&mut store, &instance, &case.ops).map_err(leak)?;
    let seen = observe(&mut store, &instance).map_err(leak)?;
    match difference(fresh, &seen) {
        Some(what) => Err(leak(what)),
        None => Ok(()),
    }
}

/// Decodes fuzzer bytes into a case, as `fuzz_target!` does.
pub fn decode(bytes: &[u8]) -> Option<Case> {
    Case::arbitrary_take_rest(arbitrary::Unstructured::new(bytes)).ok()
}
