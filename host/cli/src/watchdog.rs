//! The main job's last line of defence against a guest that never finishes: every step that can run guest code
//! (compiling, instantiating, each pattern) runs under [`Watchdog::guard`]. If a step is still running when its
//! time is up, the watchdog prints one `error:` line naming the step and ends the process with exit status 2.
//!
//! Under the `epoch` profile the host core interrupts the guest first, cleanly, at the deadline itself
//! (`WasmHost::with_deadline`), and the watchdog waits a moment longer: it only fires for a guest that is stuck
//! where an epoch cannot reach (inside a host call, such as a long WASI sleep). Every other profile's code has
//! no interruption checks, and a thread cannot be stopped from outside, so there the watchdog is the deadline.
//! It costs nothing on any measured path: the benches and the gate never use it.

use std::io::Write;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::{Duration, Instant};

/// Exit status for a guest that ran out of time, as for any misbehaving guest.
const EXIT_MISBEHAVED: i32 = 2;

enum Message {
    Arm { what: String, by: Instant },
    Disarm,
}

/// A thread that watches one step at a time.
pub struct Watchdog {
    tell: Sender<Message>,
}

impl Watchdog {
    pub fn start() -> Self {
        let (tell, hear) = channel();
        // Detached: it dies with the process, and it blocks on the channel when nothing is armed.
        std::thread::spawn(move || watch(&hear));
        Watchdog { tell }
    }

    /// Runs `step`; if it is still running after `limit`, the process ends with one line saying that `what` did
    /// not finish within `shown` and why (`why` completes "the guest was still running, and ...").
    pub fn guard<R>(&self, what: &str, limit: Duration, shown: Duration, why: &str, step: impl FnOnce() -> R) -> R {
        let armed = format!("{what} did not finish within {}: the guest was still running, and {why}", seconds(shown));
        // A limit too far off to represent is no limit. A send fails only if the watchdog thread is gone, which
        // it never is while the process runs.
        if let Some(by) = Instant::now().checked_add(limit) {
            let _ = self.tell.send(Message::Arm { what: armed, by });
        }
        let result = step();
        let _ = self.tell.send(Message::Disarm);
        result
    }
}

fn watch(hear: &Receiver<Message>) {
    let mut armed: Option<(String, Instant)> = None;
    loop {
        let message = match &armed {
            None => match hear.recv() {
                Ok(message) => message,
                Err(_) => return,
            },
            Some((what, by)) => match hear.recv_timeout(by.saturating_duration_since(Instant::now())) {
                Ok(message) => message,
                Err(RecvTimeoutError::Timeout) => stop(what),
                Err(RecvTimeoutError::Disconnected) => return,
            },
        };
        armed = match message {
            Message::Arm { what, by } => Some((what, by)),
            Message::Disarm => None,
        };
    }
}

/// Ends the process: one line on stderr, exit status 2. The main thread may be inside guest code that will never
/// return, so nothing waits for it; `process::exit` still flushes what the host printed on stdout.
fn stop(what: &str) -> ! {
    let _ = writeln!(std::io::stderr(), "error: {what}");
    std::process::exit(EXIT_MISBEHAVED)
}

/// A duration as a user wrote it: `10 s`, `0.5 s`.
fn seconds(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}
