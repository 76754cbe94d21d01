//! Deadlines under the `epoch` profile, whose compiled code checks the engine's epoch at function entries and loop
//! back-edges: a timer thread advances the epoch once, when the deadline passes, and code running in a store whose
//! epoch deadline is the next tick traps with `Trap::Interrupt`. Other profiles' code has no such checks: there a
//! deadline can only be watched from outside (the main job stops the process; see `host/cli`).

use std::sync::mpsc::{RecvTimeoutError, channel};
use std::time::Duration;
use wasmtime::Engine;

/// Runs `run`, advancing `engine`'s epoch once if it is still running `timeout` after it started. The timer is
/// joined before this returns, so a late tick cannot reach anything that runs afterwards.
pub(crate) fn with_epoch_timer<R>(engine: &Engine, timeout: Duration, run: impl FnOnce() -> R) -> R {
    let engine = engine.clone();
    let (finished, wait) = channel::<()>();
    let timer = std::thread::spawn(move || {
        if wait.recv_timeout(timeout) == Err(RecvTimeoutError::Timeout) {
            engine.increment_epoch();
        }
    });
    let result = run();
    drop(finished);
    // The timer cannot panic, so there is nothing to report from the join.
    let _ = timer.join();
    result
}
