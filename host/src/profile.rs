//! Named engine profiles: the one place where a `wasmtime::Config` is made. The demo, tests, benches and
//! fuzzing all pick a profile by name from here.

use crate::error::{Error, one_line};
use std::fmt;
use std::str::FromStr;
use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig, Store, Strategy,
};

/// Fuel given to a store under the `fuel` profile unless the caller sets a budget: as much as there is, so that no
/// measurement runs out (the main job sets a budget of its own, [`crate::limits::DEFAULT_FUEL_BUDGET`]).
pub const UNMETERED_FUEL: u64 = u64::MAX;

/// The epoch deadline of a store under the `epoch` profile, in ticks from now, when no deadline is asked for.
/// (Not `u64::MAX`: wasmtime adds it to the current epoch.)
const NO_DEADLINE: u64 = 1 << 48;

/// Declares the profiles, one line each: variant, name, one-sentence summary, and how it changes the default
/// `Config`.
macro_rules! profiles {
    ($($variant:ident = $name:literal, $summary:literal, $configure:expr;)+) => {
        /// A named engine configuration.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum EngineProfile {
            $(#[doc = $summary] $variant,)+
        }

        impl EngineProfile {
            /// Every profile, in the order reports list them.
            pub const ALL: &'static [EngineProfile] = &[$(EngineProfile::$variant,)+];

            /// The profile's name, as given to `--profile` and shown in results.
            pub const fn name(self) -> &'static str {
                match self { $(EngineProfile::$variant => $name,)+ }
            }

            /// One sentence on what the profile changes.
            pub const fn summary(self) -> &'static str {
                match self { $(EngineProfile::$variant => $summary,)+ }
            }

            fn apply(self, config: &mut Config) -> wasmtime::Result<()> {
                match self { $(EngineProfile::$variant => ($configure)(config),)+ }
            }
        }
    };
}

profiles! {
    Cranelift = "cranelift", "Cranelift optimising for speed: wasmtime's default.",
        |c: &mut Config| -> wasmtime::Result<()> { c.strategy(Strategy::Cranelift).cranelift_opt_level(OptLevel::Speed); Ok(()) };
    CraneliftNone = "cranelift-none", "Cranelift with optimisations off.",
        |c: &mut Config| -> wasmtime::Result<()> { c.strategy(Strategy::Cranelift).cranelift_opt_level(OptLevel::None); Ok(()) };
    CraneliftSize = "cranelift-size", "Cranelift optimising for speed and size.",
        |c: &mut Config| -> wasmtime::Result<()> { c.strategy(Strategy::Cranelift).cranelift_opt_level(OptLevel::SpeedAndSize); Ok(()) };
    Winch = "winch", "Winch, the single-pass baseline compiler.",
        |c: &mut Config| -> wasmtime::Result<()> { c.strategy(Strategy::Winch); Ok(()) };
    Pulley = "pulley", "Pulley, wasmtime's portable interpreter (target pulley64).",
        |c: &mut Config| -> wasmtime::Result<()> { c.target("pulley64")?; Ok(()) };
    BoundsChecked = "bounds-checked", "Cranelift without guard pages or signal handlers: every access checked in code.",
        |c: &mut Config| -> wasmtime::Result<()> { c.signals_based_traps(false).memory_reservation(0).memory_guard_size(0); Ok(()) };
    Fuel = "fuel", "Cranelift with fuel metering (every store gets a fuel budget).",
        |c: &mut Config| -> wasmtime::Result<()> { c.consume_fuel(true); Ok(()) };
    Epoch = "epoch", "Cranelift with epoch interruption checks (every store gets a deadline).",
        |c: &mut Config| -> wasmtime::Result<()> { c.epoch_interruption(true); Ok(()) };
    Pooling = "pooling", "Cranelift with wasmtime's default pooling instance allocator, 64 slots of each kind.",
        |c: &mut Config| -> wasmtime::Result<()> { c.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling_config())); Ok(()) };
}

/// The slots of each kind in the `pooling` profile's pool: enough for the tests' and benches' handful of live
/// stores (four threads instantiating at once among them), few enough that reserving the pool's address space stays
/// cheap. wasmtime's default is 1,000.
pub const POOLING_SLOTS: u32 = 64;

/// The `pooling` profile's pool: wasmtime's default `PoolingAllocationConfig` (nothing kept resident when a slot is
/// freed, no `PAGEMAP_SCAN`, 4 GiB of memory at most per slot), only its slot counts sized for this machine
/// ([`POOLING_SLOTS`]). A freed slot's memory is decommitted, so the next instance in it faults its pages in.
fn pooling_config() -> PoolingAllocationConfig {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_core_instances(POOLING_SLOTS)
        .total_component_instances(POOLING_SLOTS)
        .total_memories(POOLING_SLOTS)
        .total_tables(POOLING_SLOTS)
        .total_stacks(POOLING_SLOTS)
        .total_gc_heaps(POOLING_SLOTS);
    pool
}

/// How a pooled slot is made ready for its next instance when an instance is freed: the settings the serving rows
/// and the isolation oracle vary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SlotReset {
    /// Memory initialised from a copy-on-write image of the module's data (`Config::memory_init_cow`), restored by
    /// unmapping; without it, the data is copied in at instantiation.
    pub copy_on_write: bool,
    /// Bytes at the start of each memory, and of each table, reset by hand (zeroed or copied back) and kept resident
    /// instead of being decommitted (`PoolingAllocationConfig::linear_memory_keep_resident` and
    /// `table_keep_resident`).
    pub keep_resident: usize,
    /// Whether the kernel's `PAGEMAP_SCAN` finds the pages to reset within `keep_resident`, instead of resetting all
    /// of them (`PoolingAllocationConfig::pagemap_scan`; Linux 6.7 and later).
    pub pagemap_scan: bool,
}

/// A pool of `slots` instances, each with one memory of at most `max_memory` bytes and one table, reset as `reset`
/// says. (Copy-on-write is the engine's setting; [`pooled_config`] applies it.)
fn pool(slots: u32, max_memory: usize, reset: SlotReset) -> PoolingAllocationConfig {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_core_instances(slots)
        .total_memories(slots)
        .total_tables(slots)
        .max_memory_size(max_memory)
        .linear_memory_keep_resident(reset.keep_resident)
        .table_keep_resident(reset.keep_resident)
        .pagemap_scan(if reset.pagemap_scan { Enabled::Yes } else { Enabled::No });
    pool
}

/// The configuration of a pooling engine on Cranelift (the `pooling` profile's compiler and memory settings) with
/// `slots` instances of at most `max_memory` bytes of memory each, reset between instances as `reset` says. An
/// error names what wasmtime refused: `pagemap_scan` on a kernel without it, for one.
pub fn pooled_config(slots: u32, max_memory: usize, reset: SlotReset) -> Result<Config, Error> {
    let mut config = EngineProfile::Pooling.config()?;
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool(slots, max_memory, reset)));
    config.memory_init_cow(reset.copy_on_write);
    Ok(config)
}

/// The configuration of an engine on Cranelift whose memories each reserve `reservation` bytes of address space
/// (wasmtime's default, 4 GiB on 64-bit hosts, if `None`), with a pool of `pool_slots` slots (each of the
/// reservation, or `max_memory` bytes), nothing kept resident, if given: what the serving path's density runs vary.
pub fn reserved_config(reservation: Option<u64>, pool_slots: Option<u32>, max_memory: usize) -> Result<Config, Error> {
    let mut config = EngineProfile::Cranelift.config()?;
    if let Some(bytes) = reservation {
        config.memory_reservation(bytes);
    }
    if let Some(slots) = pool_slots {
        let max = reservation.map_or(max_memory, |bytes| usize::try_from(bytes).unwrap_or(max_memory));
        let reset = SlotReset { copy_on_write: true, keep_resident: 0, pagemap_scan: false };
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool(slots, max, reset)));
    }
    Ok(config)
}

/// Whether this kernel has `PAGEMAP_SCAN`, which [`SlotReset::pagemap_scan`] needs.
pub fn pagemap_scan_available() -> bool {
    PoolingAllocationConfig::is_pagemap_scan_available()
}

impl EngineProfile {
    /// The profile named `name`, or an error listing the known names.
    pub fn from_name(name: &str) -> Result<Self, Error> {
        EngineProfile::ALL
            .iter()
            .copied()
            .find(|p| p.name() == name)
            .ok_or_else(|| Error::UnknownProfile { name: name.to_string(), known: EngineProfile::names().join(", ") })
    }

    /// All profile names.
    pub fn names() -> Vec<&'static str> {
        EngineProfile::ALL.iter().map(|p| p.name()).collect()
    }

    /// The wasmtime configuration of this profile. Every profile turns the wasm GC proposal off (a module that uses
    /// GC types is refused at load, naming it); every profile but Winch, which does not compile it, turns exception
    /// handling on, as toolchains emit it (a C++ or Python runtime built with exceptions). Exception objects live in
    /// the store's GC heap, which grows through the store's resource limiter like a linear memory, so the memory
    /// budget holds it (wasmtime reports a refused growth as a full heap; the call guard names the budget).
    pub fn config(self) -> Result<Config, Error> {
        let mut config = Config::new();
        let exceptions = self.runs_exceptions();
        config.wasm_gc(false).wasm_exceptions(exceptions).gc_support(exceptions);
        self.apply(&mut config).map_err(|e| self.rejected(&e))?;
        Ok(config)
    }

    /// This profile's configuration made for counting instructions: compilation on one thread, so it is the
    /// same every time, and, for native code, code generation for the target's baseline features instead of
    /// the host CPU's, so the generated code is the same on every machine of this architecture.
    pub fn counting_config(self) -> Result<Config, Error> {
        let mut config = self.config()?;
        self.make_countable(&mut config)?;
        Ok(config)
    }

    /// Adjusts a configuration derived from this profile for counting, as [`EngineProfile::counting_config`] does.
    pub fn make_countable(self, config: &mut Config) -> Result<(), Error> {
        config.parallel_compilation(false);
        if self != EngineProfile::Pulley {
            // Naming the target explicitly is what turns off wasmtime's detection of the host's CPU features.
            config.target(crate::build_info::TARGET).map_err(|e| self.rejected(&e))?;
        }
        Ok(())
    }

    /// Whether modules using exception handling run under this profile (Winch does not compile them).
    pub fn runs_exceptions(self) -> bool {
        self != EngineProfile::Winch
    }

    /// What this profile's compiler leaves out that others have, said after a compile error under it.
    pub(crate) fn compile_hint(self) -> Option<&'static str> {
        (self == EngineProfile::Winch).then_some(
            "engine profile `winch`: Winch does not compile exception handling, tail calls, relaxed SIMD or typed \
             function references, which the other profiles do",
        )
    }

    /// An engine for this profile; an error naming the profile if wasmtime rejects the configuration.
    pub fn engine(self) -> Result<Engine, Error> {
        self.engine_from(&self.config()?)
    }

    /// An engine from a configuration derived from this profile (for callers that adjust it further).
    pub fn engine_from(self, config: &Config) -> Result<Engine, Error> {
        Engine::new(config).map_err(|e| self.rejected(&e))
    }

    fn rejected(self, error: &wasmtime::Error) -> Error {
        Error::Profile { profile: self.name(), message: one_line(error) }
    }

    /// Gives a new store what the profile's engine requires of every store (fuel, an epoch deadline).
    pub fn prepare_store<T>(self, store: &mut Store<T>, fuel: u64) -> Result<(), Error> {
        let result = match self {
            EngineProfile::Fuel => store.set_fuel(fuel),
            EngineProfile::Epoch => {
                // Far enough never to be reached: only `WasmHost::with_deadline` advances the engine's epoch, and
                // it brings the deadline of its own store close first.
                store.set_epoch_deadline(NO_DEADLINE);
                Ok(())
            }
            _ => Ok(()),
        };
        result.map_err(|e| self.rejected(&e))
    }
}

impl FromStr for EngineProfile {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self, Error> {
        EngineProfile::from_name(name)
    }
}

impl fmt::Display for EngineProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
