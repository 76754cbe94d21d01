//! The last line of defence against a guest that never finishes, for every command that runs one: each step that
//! can run guest code (compiling, instantiating with its start function, a pattern, a trial call, a batch of
//! measured calls) is armed on the process's [`Watchdog`] with the time it may take. If a step is still running when
//! its time is up, the watchdog ends the guest's unfinished output lines ([`crate::console::finish`]), prints one
//! `error:` line saying what did not finish, and ends the process with exit status 2.
//!
//! Under the `epoch` profile the host core interrupts a guest first, cleanly, at the deadline itself
//! ([`crate::WasmHost::with_deadline`]), and callers give the watchdog a moment longer: it fires only for a guest stuck
//! where an epoch cannot reach (inside a host call, such as a long WASI sleep). Every other profile's code has no
//! interruption checks, and a thread cannot be stopped from outside, so there the watchdog is the deadline.
//!
//! Several steps may be armed at once (worker threads each arm their own); the watchdog thread sleeps until the
//! nearest deadline. Arming and disarming take a lock and wake that thread: a microsecond, spent outside any timed
//! region (the benches arm once per batch of measured calls, never per call).

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

/// Exit status for a step that ran out of time, as for any misbehaving guest.
pub const EXIT_MISBEHAVED: i32 = 2;

/// One armed step: what to say if it runs out of time, and when it does.
struct Step {
    id: u64,
    by: Instant,
    message: Arc<str>,
}

#[derive(Default)]
struct Steps {
    next_id: u64,
    armed: Vec<Step>,
}

#[derive(Default)]
struct Shared {
    steps: Mutex<Steps>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Steps> {
        self.steps.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The process's watchdog: a thread that watches every armed step.
pub struct Watchdog {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Watchdog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watchdog").field("armed", &self.shared.lock().armed.len()).finish()
    }
}

/// The process's watchdog, its thread started on first use.
pub fn watchdog() -> &'static Watchdog {
    static WATCHDOG: OnceLock<Watchdog> = OnceLock::new();
    WATCHDOG.get_or_init(|| {
        let shared = Arc::new(Shared::default());
        let watched = Arc::clone(&shared);
        // Detached: it dies with the process, and it sleeps on the condition variable when nothing is armed.
        std::thread::Builder::new()
            .name("boundary-watchdog".into())
            .spawn(move || watch(&watched))
            .unwrap_or_else(|e| stop(&format!("cannot start the watchdog thread: {e}")));
        Watchdog { shared }
    })
}

/// A step armed on the watchdog; dropping it disarms the step.
#[must_use = "the step is disarmed when this is dropped"]
pub struct Armed {
    shared: Arc<Shared>,
    id: u64,
}

impl std::fmt::Debug for Armed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Armed").field("id", &self.id).finish()
    }
}

impl Drop for Armed {
    fn drop(&mut self) {
        let mut steps = self.shared.lock();
        steps.armed.retain(|step| step.id != self.id);
        drop(steps);
        self.shared.changed.notify_one();
    }
}

impl Watchdog {
    /// Arms a step that may take `limit`: if the returned token is not dropped by then, the process ends with
    /// `error: {message}`. A limit too far off to represent is no limit.
    ///
    /// Arming and disarming take the lock the watchdog holds while it reports, so a step that finishes at the
    /// deadline either disarms first (and nothing is reported) or finds the process ending: never both its own
    /// result and the watchdog's line.
    pub fn arm(&self, message: impl Into<Arc<str>>, limit: Duration) -> Armed {
        let mut steps = self.shared.lock();
        let id = steps.next_id;
        steps.next_id += 1;
        if let Some(by) = Instant::now().checked_add(limit) {
            steps.armed.push(Step { id, by, message: message.into() });
        }
        drop(steps);
        self.shared.changed.notify_one();
        Armed { shared: Arc::clone(&self.shared), id }
    }

    /// Runs `step`; if it is still running after `limit`, the process ends with `error: {message}`.
    pub fn guard<R>(&self, message: impl Into<Arc<str>>, limit: Duration, step: impl FnOnce() -> R) -> R {
        let _armed = self.arm(message, limit);
        step()
    }
}

fn watch(shared: &Shared) {
    let mut steps = shared.lock();
    loop {
        let nearest = steps.armed.iter().min_by_key(|step| step.by);
        steps = match nearest.map(|step| (step.by, Arc::clone(&step.message))) {
            None => shared.changed.wait(steps).unwrap_or_else(PoisonError::into_inner),
            Some((by, message)) => {
                let now = Instant::now();
                if now >= by {
                    // With the lock held: the step cannot disarm and report too.
                    stop(&message);
                }
                shared.changed.wait_timeout(steps, by - now).unwrap_or_else(PoisonError::into_inner).0
            }
        };
    }
}

/// Ends the process: the guest's unfinished lines ended, one line on stderr, exit status 2. The thread that ran the
/// step may be inside guest code that will never return, so nothing waits for it.
pub fn stop(message: &str) -> ! {
    crate::console::finish();
    let _ = writeln!(std::io::stderr().lock(), "error: {}", crate::error::escape_controls(message));
    std::process::exit(EXIT_MISBEHAVED)
}

/// A duration as a user writes it, to the millisecond: `10 s`, `0.5 s`, `1.381 s`.
pub fn seconds(d: Duration) -> String {
    format!("{} s", (d.as_secs_f64() * 1000.0).round() / 1000.0)
}
