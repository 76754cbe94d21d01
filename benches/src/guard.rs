//! The main job's guard rails for every measuring command (the matrix, the payload sweep, the serving path, the
//! gate's runs): each step that runs guest code under the watchdog with `--timeout`, each store within `--max-memory`,
//! and a guest that traps or runs out of budget in the middle of a measurement ended with one `error:` line naming
//! the step, exit status 2, never a panic.
//!
//! What is timed stays as it was. A step (compiling, instantiating, a trial call, a row's setup) is armed once. A
//! measured loop is armed once per batch of calls ([`Batches`], as criterion hands out batches), outside the batch's
//! timing: its limit is `--timeout`, or four times what the calls before it predict for the batch if that is longer,
//! so a batch of a million fast calls is not cut short, and a guest that stops returning is stopped within
//! `--timeout` of its call. The measured operations report a failure through [`ok`], whose failing path is cold, as
//! `unwrap`'s was.

use boundary_host::plugin::Import;
use boundary_host::watchdog::{seconds, stop, watchdog};
use boundary_host::{ForeignImports, Limits};
use std::cell::RefCell;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// How many times the batch's predicted time a batch may take before the watchdog stops it, when that is more than
/// `--timeout`.
pub const BATCH_SLACK: f64 = 4.0;

static LIMITS: OnceLock<Limits> = OnceLock::new();
static IMPORTS: OnceLock<Imports> = OnceLock::new();

/// What a run's module gets for the function imports the host does not provide: the policy (`--foreign-imports`,
/// or a request's `foreign_imports`) and a request's own `[[import]]` definitions. The host core's modules
/// (`ops::CoreBench`, the probe), its plugins and the raw baseline's linker all take it.
#[derive(Debug, Clone, Default)]
pub struct Imports {
    pub foreign: ForeignImports,
    pub defined: Vec<Import>,
}

/// Sets this run's guard rails and what its module's imports become (`Subject::imports`), once, before anything
/// runs (later calls are ignored). A process that never calls it runs with the defaults (20 s, 1024 MiB, foreign
/// imports refused), as the tests do.
pub fn configure(limits: Limits, imports: Imports) {
    let _ = LIMITS.set(limits);
    let _ = IMPORTS.set(imports);
}

/// This run's imports.
pub fn imports() -> &'static Imports {
    static NONE: Imports = Imports { foreign: ForeignImports::Refuse, defined: Vec::new() };
    IMPORTS.get().unwrap_or(&NONE)
}

/// This run's guard rails.
pub fn limits() -> Limits {
    LIMITS.get().copied().unwrap_or_default()
}

/// Each store's memory budget in bytes, as the host core's stores and the raw baseline's stores take it.
pub fn max_memory() -> usize {
    limits().max_memory_bytes()
}

/// The host core's options for a measured guest: its output dropped (a guest printing is measured, not shown), and
/// the run's memory budget, a growth past it trapping.
pub fn host_options() -> boundary_host::HostOptions {
    boundary_host::HostOptions {
        output: boundary_host::GuestOutput::Discard,
        max_memory: Some(max_memory()),
        trap_on_grow_failure: true,
        foreign_imports: imports().foreign,
        ..boundary_host::HostOptions::default()
    }
}

thread_local! {
    /// What this thread is doing, for the line a failing measured operation ends the run with.
    static STEP: RefCell<Option<Arc<str>>> = const { RefCell::new(None) };
}

/// Runs `f` as the step `what` on this thread, without arming the watchdog (its caller has armed it for the whole
/// of what this thread does): a failure reported through [`ok`] names it.
pub fn in_step<R>(what: &str, f: impl FnOnce() -> R) -> R {
    as_step(&Arc::from(what), f)
}

fn as_step<R>(what: &Arc<str>, f: impl FnOnce() -> R) -> R {
    let before = STEP.with(|step| step.replace(Some(Arc::clone(what))));
    let result = f();
    STEP.with(|step| *step.borrow_mut() = before);
    result
}

/// Runs one step in which guest code may run (compiling, instantiating with its start function, a row's setup,
/// a trial call) under the watchdog, with `--timeout`.
pub fn step<R>(what: &str, f: impl FnOnce() -> R) -> R {
    let what: Arc<str> = Arc::from(what);
    let timeout = limits().timeout;
    let message = format!("{what} did not finish within {}: the guest was still running (--timeout)", seconds(timeout));
    watchdog().guard(message, timeout, || as_step(&what, f))
}

/// A measured loop's batches, each under the watchdog: see the module's documentation.
#[derive(Debug)]
pub struct Batches {
    what: Arc<str>,
    timeout: Duration,
    /// The longest time per call seen in a batch so far, in seconds.
    per_call: f64,
}

impl Batches {
    /// The batches of the measured loop `what` (a row under a profile, a configuration's requests).
    pub fn new(what: &str) -> Self {
        Batches { what: Arc::from(what), timeout: limits().timeout, per_call: 0.0 }
    }

    /// The limit of a batch of `calls` calls.
    fn limit(&self, calls: u64) -> Duration {
        let predicted = self.per_call * calls as f64 * BATCH_SLACK;
        Duration::try_from_secs_f64(predicted).unwrap_or(Duration::MAX).max(self.timeout)
    }

    /// Runs `batch`, a batch of `calls` calls that returns the time it measured, under the watchdog.
    pub fn run(&mut self, calls: u64, batch: impl FnOnce() -> Duration) -> Duration {
        let limit = self.limit(calls);
        let message = format!(
            "{}: {calls} measured call(s) did not finish within {}: the guest was still running (--timeout {} per \
             call, a batch {BATCH_SLACK}x what the calls before it took)",
            self.what,
            seconds(limit),
            seconds(self.timeout)
        );
        let armed = watchdog().arm(message, limit);
        let elapsed = as_step(&self.what, batch);
        drop(armed);
        if calls > 0 {
            self.per_call = self.per_call.max(elapsed.as_secs_f64() / calls as f64);
        }
        elapsed
    }

    /// Runs `calls` calls of `op`, timed as criterion's `Bencher::iter` times them (the loop alone), under the
    /// watchdog.
    #[inline]
    pub fn time<O>(&mut self, calls: u64, mut op: impl FnMut() -> O) -> Duration {
        self.run(calls, || {
            let start = Instant::now();
            for _ in 0..calls {
                std::hint::black_box(op());
            }
            start.elapsed()
        })
    }
}

/// A measured operation's failure as the `error:` line says it.
pub trait Failure {
    /// What went wrong, on one line.
    fn text(&self) -> String;
    /// Whether the guest went past `--max-memory`.
    fn over_budget(&self) -> bool;
}

impl Failure for boundary_host::Error {
    fn text(&self) -> String {
        self.to_string()
    }
    fn over_budget(&self) -> bool {
        self.is_memory_limit()
    }
}

impl Failure for boundary_host::wasmtime::Error {
    fn text(&self) -> String {
        boundary_host::error::one_line(self)
    }
    fn over_budget(&self) -> bool {
        self.chain().any(|cause| cause.downcast_ref::<boundary_host::MemoryLimitExceeded>().is_some())
    }
}

/// Failures that are what they say, never the budget.
macro_rules! plain_failures {
    ($($t:ty),*) => {$(
        impl Failure for $t {
            fn text(&self) -> String {
                self.to_string()
            }
            fn over_budget(&self) -> bool {
                false
            }
        }
    )*};
}

plain_failures!(String, boundary_host::MemoryError, boundary_host::wasmtime::MemoryAccessError);

/// The value of a measured operation that must succeed; a failure ends the run with one `error:` line naming the
/// step and what the guest did, exit status 2. The failing path is cold and out of line, as `unwrap`'s is.
#[inline(always)]
pub fn ok<T, E: Failure>(result: Result<T, E>) -> T {
    match result {
        Ok(value) => value,
        Err(e) => failed(&e),
    }
}

/// [`ok`] as a method, for chains: `call(...).or_stop()`.
pub trait OrStop<T> {
    fn or_stop(self) -> T;
}

impl<T, E: Failure> OrStop<T> for Result<T, E> {
    #[inline(always)]
    fn or_stop(self) -> T {
        ok(self)
    }
}

/// Ends the run with one `error:` line naming this thread's step and `why`: for a guest that did something a
/// measurement cannot go on from (a call that should have trapped and returned, a wrong result).
#[cold]
#[inline(never)]
pub fn refuse(why: &str) -> ! {
    failed(&why.to_string())
}

/// Ends the run as [`refuse`] does if the guest gave `got` where the measurement needs `want`: a row measures what
/// it says only if its operation does what it says.
pub fn expect_eq<T: PartialEq + std::fmt::Debug>(what: &str, got: T, want: T) {
    if got != want {
        refuse(&format!("{what}: the guest gave {got:?} where {want:?} was due"));
    }
}

/// A failure as the `error:` line says it: on one line, a guest past the budget named as going past `--max-memory`.
pub fn describe(e: &dyn Failure) -> String {
    let mut text = one_line(&e.text());
    if e.over_budget() {
        text.push_str(&format!(" (--max-memory {})", limits().max_memory_mib));
    }
    text
}

#[cold]
#[inline(never)]
fn failed(e: &dyn Failure) -> ! {
    let step = STEP.with(|step| step.borrow().clone());
    let text = describe(e);
    match step {
        Some(step) => stop(&format!("{step}: {text}")),
        None => stop(&text),
    }
}

/// `text` on one line: its whitespace runs (newlines among them) as single spaces.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
