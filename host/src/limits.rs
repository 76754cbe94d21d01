//! The guard rails every command that runs a guest shares, with their defaults in one place: how long each step may
//! take (`--timeout`), how much memory each store may take (`--max-memory`), and how a step's deadline is kept
//! under each profile.

use crate::profile::EngineProfile;
use crate::watchdog::{seconds, watchdog};
use std::time::Duration;

/// The most time one step may take unless the user says otherwise (`--timeout`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);
/// The memory budget of each store, in MiB, unless the user says otherwise (`--max-memory`).
pub const DEFAULT_MAX_MEMORY_MIB: usize = 1024;
/// A 32-bit linear memory holds at most 4 GiB: the largest budget `--max-memory` takes.
pub const MAX_MEMORY_MIB: usize = 4096;
/// The fuel of each instance under the `fuel` profile in the main job unless `--fuel` says otherwise: enough for
/// every pattern of any honest guest, and an end for one that runs away.
pub const DEFAULT_FUEL_BUDGET: u64 = 1_000_000_000;
/// Under the `epoch` profile the guest is interrupted at the deadline; the watchdog waits this much longer.
pub const INTERRUPT_GRACE: Duration = Duration::from_secs(1);

/// The guard rails of one run: each step's time, and each store's memory budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most time one step may take (compiling, instantiating, one call or one batch of measured calls).
    pub timeout: Duration,
    /// The most bytes of linear memory and tables one store may have.
    pub max_memory_mib: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { timeout: DEFAULT_TIMEOUT, max_memory_mib: DEFAULT_MAX_MEMORY_MIB }
    }
}

impl Limits {
    /// The memory budget in bytes.
    pub fn max_memory_bytes(&self) -> usize {
        self.max_memory_mib << 20
    }

    /// How a step that runs guest code under `profile` is watched: the watchdog's limit and why it must act there.
    pub fn for_profile(&self, profile: EngineProfile) -> Deadline {
        let interrupts = profile == EngineProfile::Epoch;
        let why = if interrupts {
            "it did not stop when interrupted (it may be blocked inside a host call)".to_string()
        } else {
            format!("profile `{profile}` cannot interrupt it (`epoch` can; `fuel` bounds it)")
        };
        let limit = if interrupts { self.timeout.saturating_add(INTERRUPT_GRACE) } else { self.timeout };
        Deadline { timeout: self.timeout, limit, why, interrupt: interrupts.then_some(self.timeout) }
    }
}

/// How steps of one profile are watched: the deadline shown to the user, the watchdog's limit (a moment later under
/// `epoch`, which interrupts the guest itself at the deadline), why the watchdog had to act, and the deadline the
/// host core enforces itself (`epoch` only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadline {
    pub timeout: Duration,
    pub limit: Duration,
    pub why: String,
    pub interrupt: Option<Duration>,
}

impl Deadline {
    /// Runs a step in which guest code runs (instantiating, a pattern, a call): if it has not finished by the
    /// deadline, one `error:` line and exit status 2.
    pub fn guest_step<R>(&self, what: &str, step: impl FnOnce() -> R) -> R {
        watchdog().guard(self.message(what), self.limit, step)
    }

    /// Runs the compilation of a module, which no profile can interrupt.
    pub fn compile_step<R>(&self, name: &str, step: impl FnOnce() -> R) -> R {
        let message = format!(
            "compiling {name} did not finish within {} (a large module may need a longer --timeout)",
            seconds(self.timeout)
        );
        watchdog().guard(message, self.timeout, step)
    }

    /// What the watchdog says of a step that did not finish.
    pub fn message(&self, what: &str) -> String {
        format!("{what} did not finish within {}: the guest was still running, and {}", seconds(self.timeout), self.why)
    }
}
