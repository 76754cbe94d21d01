//! The main job's last line of defence against a guest that never finishes: every step that can run guest code
//! (compiling, instantiating, each pattern) runs under [`Watchdog::guard`]. If a step is still running when its
//! time is up, the watchdog prints one `error:` line saying what did not finish and ends the process with exit
//! status 2.
//!
//! Under the `epoch` profile the host core interrupts the guest first, cleanly, at the deadline itself
//! (`WasmHost::with_deadline`), and the watchdog waits a moment longer: it only fires for a guest that is stuck
//! where an epoch cannot reach (inside a host call, such as a long WASI sleep). Every other profile's code has
//! no interruption checks, and a thread cannot be stopped from outside, so there the watchdog is the deadline.
//! It costs nothing on any measured path: the benches and the gate never use it.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Exit status for a step that ran out of time, as for any misbehaving guest.
const EXIT_MISBEHAVED: i32 = 2;

/// The step being watched: what to say if it runs out of time, and when it does.
struct Armed {
    message: String,
    by: Instant,
}

#[derive(Default)]
struct Shared {
    armed: Mutex<Option<Armed>>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Option<Armed>> {
        self.armed.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A thread that watches one step at a time.
pub struct Watchdog {
    shared: Arc<Shared>,
}

impl Watchdog {
    pub fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let watched = Arc::clone(&shared);
        // Detached: it dies with the process, and it sleeps on the condition variable when nothing is armed.
        std::thread::spawn(move || watch(&watched));
        Watchdog { shared }
    }

    /// Runs `step`; if it is still running after `limit`, the process ends with `error: {message}`.
    ///
    /// Arming and disarming take the lock the watchdog holds while it reports, so a step that finishes at the
    /// deadline either disarms first (and nothing is reported) or finds the process ending: never both its own
    /// result and the watchdog's line.
    pub fn guard<R>(&self, message: String, limit: Duration, step: impl FnOnce() -> R) -> R {
        // A limit too far off to represent is no limit.
        if let Some(by) = Instant::now().checked_add(limit) {
            *self.shared.lock() = Some(Armed { message, by });
            self.shared.changed.notify_one();
        }
        let result = step();
        *self.shared.lock() = None;
        self.shared.changed.notify_one();
        result
    }
}

fn watch(shared: &Shared) {
    let mut armed = shared.lock();
    loop {
        let due = armed.as_ref().map(|step| step.by);
        armed = match due {
            None => shared.changed.wait(armed).unwrap_or_else(PoisonError::into_inner),
            Some(by) => {
                let now = Instant::now();
                if now >= by {
                    stop(armed.as_ref().map_or("", |step| step.message.as_str()));
                }
                shared.changed.wait_timeout(armed, by - now).unwrap_or_else(PoisonError::into_inner).0
            }
        };
    }
}

/// Ends the process: one line on stderr, exit status 2, with the lock held so the step cannot report too. The main
/// thread may be inside guest code that will never return, so nothing waits for it; `process::exit` still flushes
/// what the host printed on stdout, unless the guest is writing to it at that moment.
fn stop(message: &str) -> ! {
    let _ = writeln!(std::io::stderr(), "error: {message}");
    std::process::exit(EXIT_MISBEHAVED)
}

/// A duration as a user wrote it: `10 s`, `0.5 s`.
pub fn seconds(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}
