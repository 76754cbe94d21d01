//! Deadlines under the `epoch` profile, whose compiled code checks the engine's epoch at function entries and loop
//! back-edges. Each store of the host core keeps its own deadline, an instant, in its host state
//! ([`crate::HostState`]), and a callback that runs when the store's code sees the epoch move: past the store's
//! deadline it traps with `Trap::Interrupt`, otherwise the code runs on. While a deadline is pending, an
//! [`EpochTicker`] moves the engine's epoch when it passes, and then every [`TICK`] until it is dropped, so that a
//! store made or reset after the deadline passed is still stopped.
//!
//! Because every store compares the time with its own deadline, a tick meant for one store does not cut another
//! short, a deadline survives a reset of the store (the host carries it into the new store), and nested deadlines
//! keep the nearer of the two. Other profiles' code has no epoch checks: there a deadline can only be watched from
//! outside (the main job stops the process; see `host/cli`).

use crate::state::HostState;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use wasmtime::{Engine, Store, Trap, UpdateDeadline};

/// How often the ticker moves the epoch once the deadline has passed, until it is dropped.
pub(crate) const TICK: Duration = Duration::from_millis(10);

/// Moves an engine's epoch at an instant and then every [`TICK`], on a thread of its own, until dropped; dropping it
/// joins the thread, so no tick of it reaches anything that runs afterwards.
pub(crate) struct EpochTicker {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    pub(crate) fn start(engine: &Engine, at: Instant) -> Self {
        let engine = engine.clone();
        let (stop, stopped) = channel::<()>();
        let thread = std::thread::spawn(move || tick(&engine, at, &stopped));
        EpochTicker { stop: Some(stop), thread: Some(thread) }
    }
}

fn tick(engine: &Engine, at: Instant, stopped: &Receiver<()>) {
    let mut wait = at.saturating_duration_since(Instant::now());
    loop {
        match stopped.recv_timeout(wait) {
            Err(RecvTimeoutError::Timeout) => engine.increment_epoch(),
            // Dropped (or, never, sent to): the deadline's owner is done.
            _ => return,
        }
        wait = TICK;
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            // The ticker's loop cannot panic, so there is nothing to report from the join.
            let _ = thread.join();
        }
    }
}

/// What an `epoch` store does when its code sees the epoch move: trap once the store's deadline has passed, run on
/// (until the next tick) otherwise. Installed on every store the core makes under the `epoch` profile.
pub(crate) fn install(store: &mut Store<HostState>) {
    // The callback's argument is a `StoreContextMut` before wasmtime 50 and a `StoreHookState` from 50 on; both
    // give the store's data, so the closure names neither.
    store.epoch_deadline_callback(|store| check(store.data().deadline));
    store.set_epoch_deadline(1);
}

fn check(deadline: Option<Instant>) -> wasmtime::Result<UpdateDeadline> {
    match deadline {
        Some(deadline) if Instant::now() >= deadline => Err(Trap::Interrupt.into()),
        _ => Ok(UpdateDeadline::Continue(1)),
    }
}

/// The instant `timeout` from now, or `None` if that is too far off to represent (no deadline at all).
pub(crate) fn instant_after(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

/// The nearer of a deadline already pending and a new one.
pub(crate) fn nearer(pending: Option<Instant>, new: Option<Instant>) -> Option<Instant> {
    match (pending, new) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Runs `run(host)` with the deadline in `slot(host)` brought to `timeout` from now (or left where it is, if that
/// is nearer), an [`EpochTicker`] moving the epoch once it passes; the deadline that was pending before is put back
/// when `run` returns or unwinds. `slot` is asked again afterwards, since `run` may have replaced the store.
pub(crate) fn within<H, R>(
    host: &mut H,
    engine: &Engine,
    timeout: Duration,
    slot: fn(&mut H) -> &mut Option<Instant>,
    run: impl FnOnce(&mut H) -> R,
) -> R {
    let pending = *slot(host);
    let deadline = nearer(pending, instant_after(timeout));
    let _ticker = deadline.map(|at| EpochTicker::start(engine, at));
    *slot(host) = deadline;
    let result = catch_unwind(AssertUnwindSafe(|| run(&mut *host)));
    *slot(host) = pending;
    result.unwrap_or_else(|payload| resume_unwind(payload))
}
