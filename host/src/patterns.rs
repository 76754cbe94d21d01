//! The five interaction patterns (README's "The run"), each run against a host and verified. The demo
//! (`cargo run --release`) and the tests both run them through [`run_pattern`] or [`run_all`], on the Rust host
//! core ([`WasmHost`]) or on the C++ host (`host/cpp`): both implement [`PatternHost`], so both face the very same
//! checks.
//!
//! Pattern 5 asks the guest what it sees. A guest with `read_plugin_shared_value` answers through it. A guest
//! written as the article writes it has no such export and only prints the value from `simple_add`; then the
//! check reads what the guest printed (when the host keeps the guest's output), and counts it as evidence only if
//! the printed value follows the static: after the host writes a second value, the guest must print that one.
//! Without such evidence the pattern is [`Verdict::Unverified`], never passed.

use crate::error::{Error, MemoryError};
use crate::guest::{self, AbiFunc, Point, add_points, export};
use crate::instance::WasmHost;
use crate::state::HostCalls;
use bytemuck::Pod;
use std::fmt::{self, Display};
use std::time::Duration;

/// What the five patterns need of a host.
pub trait PatternHost {
    fn just_add(&mut self, left: u64, right: u64) -> Result<u64, Error>;
    fn simple_add(&mut self, left: u64, right: u64) -> Result<u64, Error>;
    fn trigger_host_calls(&mut self, input: i32) -> Result<(), Error>;
    fn point_add(&mut self, out: u32, a: u32, b: u32) -> Result<(), Error>;
    /// The guest static's offset, refused if out of bounds or misaligned (see [`crate::static_offset`]).
    fn plugin_shared_value_offset(&mut self) -> Result<usize, Error>;
    /// Whether the guest exports `read_plugin_shared_value` (optional in the ABI).
    fn reads_plugin_shared_value(&self) -> bool;
    /// The guest's own reading of its static.
    fn read_plugin_shared_value(&mut self) -> Result<i32, Error>;
    /// What the guest wrote to stdout since the last take, or `None` if this host does not keep it.
    fn take_guest_output(&mut self) -> Option<Vec<u8>>;
    /// Bounds-checked copies out of and into linear memory.
    fn read_bytes(&self, offset: usize, buf: &mut [u8]) -> Result<(), MemoryError>;
    fn write_bytes(&mut self, offset: usize, bytes: &[u8]) -> Result<(), MemoryError>;
    fn memory_size(&self) -> usize;
    /// Bytes of linear memory nothing in the guest owns (see [`WasmHost::reserve`]).
    fn reserve(&mut self, len: usize) -> Result<usize, Error>;
    /// The host state the `env` functions keep: shared value, last logged value, call counts.
    fn host_state(&self) -> (i32, Option<i32>, HostCalls);
    /// Sets the shared value and clears the last logged value and the call counts.
    fn restart_host_state(&mut self, shared_value: i32);
    /// The export whose trap discarded the store, if one did.
    fn discarded_by(&self) -> Option<&str>;
    /// A fresh instance in a fresh store.
    fn reset(&mut self) -> Result<(), Error>;
    /// Whether this host binds `export`, one of the ABI's optional exports, for the module it drives (the module
    /// exports it and the host has a call for it), or why not. What a host binds, the main job checks
    /// ([`EXPORT_CHECKS`]).
    fn binds(&self, export: &AbiFunc) -> Result<(), &'static str>;
    /// The optional exports' calls; a host that does not bind one returns [`Error::MissingExport`].
    fn nop(&mut self) -> Result<(), Error>;
    fn point_add_batch(&mut self, out: u32, a: u32, b: u32, count: u32) -> Result<(), Error>;
    fn call_host_n(&mut self, count: u32) -> Result<(), Error>;
    fn checksum_bytes(&mut self, ptr: u32, len: u32) -> Result<u64, Error>;
    fn fill_bytes(&mut self, ptr: u32, len: u32, seed: u32) -> Result<(), Error>;
    /// Runs `run` under a deadline; a host that cannot interrupt a guest refuses with [`Error::NoDeadline`].
    fn within_deadline(
        &mut self,
        timeout: Duration,
        run: &mut dyn FnMut(&mut (dyn PatternHost + 'static)) -> Result<Verdict, Failure>,
    ) -> Result<Verdict, Failure>;
}

impl PatternHost for WasmHost {
    fn just_add(&mut self, left: u64, right: u64) -> Result<u64, Error> {
        WasmHost::just_add(self, left, right)
    }
    fn simple_add(&mut self, left: u64, right: u64) -> Result<u64, Error> {
        WasmHost::simple_add(self, left, right)
    }
    fn trigger_host_calls(&mut self, input: i32) -> Result<(), Error> {
        WasmHost::trigger_host_calls(self, input)
    }
    fn point_add(&mut self, out: u32, a: u32, b: u32) -> Result<(), Error> {
        WasmHost::point_add(self, out, a, b)
    }
    fn plugin_shared_value_offset(&mut self) -> Result<usize, Error> {
        WasmHost::plugin_shared_value_offset(self)
    }
    fn reads_plugin_shared_value(&self) -> bool {
        self.guest().reads_plugin_shared_value()
    }
    fn read_plugin_shared_value(&mut self) -> Result<i32, Error> {
        WasmHost::read_plugin_shared_value(self)
    }
    fn take_guest_output(&mut self) -> Option<Vec<u8>> {
        self.take_output()
    }
    fn read_bytes(&self, offset: usize, buf: &mut [u8]) -> Result<(), MemoryError> {
        WasmHost::read_bytes(self, offset, buf)
    }
    fn write_bytes(&mut self, offset: usize, bytes: &[u8]) -> Result<(), MemoryError> {
        WasmHost::write_bytes(self, offset, bytes)
    }
    fn memory_size(&self) -> usize {
        WasmHost::memory_size(self)
    }
    fn reserve(&mut self, len: usize) -> Result<usize, Error> {
        WasmHost::reserve(self, len)
    }
    fn host_state(&self) -> (i32, Option<i32>, HostCalls) {
        let state = self.state();
        (state.shared_value, state.last_logged, state.calls)
    }
    fn restart_host_state(&mut self, shared_value: i32) {
        let state = self.state_mut();
        state.shared_value = shared_value;
        state.last_logged = None;
        state.calls = HostCalls::default();
    }
    fn discarded_by(&self) -> Option<&str> {
        WasmHost::discarded_by(self)
    }
    fn reset(&mut self) -> Result<(), Error> {
        WasmHost::reset(self)
    }
    fn binds(&self, export: &AbiFunc) -> Result<(), &'static str> {
        if self.guest().exports_optional(export) { Ok(()) } else { Err("not exported") }
    }
    fn nop(&mut self) -> Result<(), Error> {
        WasmHost::nop(self)
    }
    fn point_add_batch(&mut self, out: u32, a: u32, b: u32, count: u32) -> Result<(), Error> {
        WasmHost::point_add_batch(self, out, a, b, count)
    }
    fn call_host_n(&mut self, count: u32) -> Result<(), Error> {
        WasmHost::call_host_n(self, count)
    }
    fn checksum_bytes(&mut self, ptr: u32, len: u32) -> Result<u64, Error> {
        WasmHost::checksum_bytes(self, ptr, len)
    }
    fn fill_bytes(&mut self, ptr: u32, len: u32, seed: u32) -> Result<(), Error> {
        WasmHost::fill_bytes(self, ptr, len, seed)
    }
    fn within_deadline(
        &mut self,
        timeout: Duration,
        run: &mut dyn FnMut(&mut (dyn PatternHost + 'static)) -> Result<Verdict, Failure>,
    ) -> Result<Verdict, Failure> {
        self.with_deadline(timeout, |host| run(host)).unwrap_or_else(|e| Err(e.into()))
    }
}

/// What running the patterns and the export checks needs of a host beyond the calls they make, a core module's host
/// ([`PatternHost`]) and a component's ([`crate::ComponentHost`]) alike: the patterns, the checks and the runners
/// below are written once for both.
pub trait Driven {
    /// The export whose trap discarded the store, if one did.
    fn discarded(&self) -> Option<&str>;
    /// A fresh instance in a fresh store.
    fn instantiate_again(&mut self) -> Result<(), Error>;
    /// Whether this host binds the optional export `export` for the guest it drives, or why not.
    fn binds_optional(&self, export: &str) -> Result<(), &'static str>;
    /// Runs `run` under a deadline of `timeout`, or refuses if this host cannot interrupt its guest.
    fn run_within(
        &mut self,
        timeout: Duration,
        run: &mut dyn FnMut(&mut Self) -> Result<Verdict, Failure>,
    ) -> Result<Verdict, Failure>;
}

/// The optional exports of the core ABI that [`EXPORT_CHECKS`] checks, by name.
const CHECKED_EXPORTS: [&AbiFunc; 5] =
    [&export::NOP, &export::POINT_ADD_BATCH, &export::CALL_HOST_N, &export::CHECKSUM_BYTES, &export::FILL_BYTES];

impl Driven for dyn PatternHost {
    fn discarded(&self) -> Option<&str> {
        PatternHost::discarded_by(self)
    }
    fn instantiate_again(&mut self) -> Result<(), Error> {
        PatternHost::reset(self)
    }
    fn binds_optional(&self, name: &str) -> Result<(), &'static str> {
        let export = CHECKED_EXPORTS.into_iter().find(|e| e.name == name).ok_or("not an optional export of the ABI")?;
        PatternHost::binds(self, export)
    }
    fn run_within(
        &mut self,
        timeout: Duration,
        run: &mut dyn FnMut(&mut Self) -> Result<Verdict, Failure>,
    ) -> Result<Verdict, Failure> {
        PatternHost::within_deadline(self, timeout, run)
    }
}

/// What patterns 1 and 2 need of a host, core module or component alike: they run the very same checks on both
/// (the component's patterns are in [`crate::component::patterns`]).
pub trait GuestCalls {
    fn just_add(&mut self, left: u64, right: u64) -> Result<u64, Error>;
    fn trigger_host_calls(&mut self, input: i32) -> Result<(), Error>;
    /// The host state the host functions keep: shared value, last logged value, call counts.
    fn host_state(&self) -> (i32, Option<i32>, HostCalls);
    /// Sets the shared value and clears the last logged value and the call counts.
    fn restart_host_state(&mut self, shared_value: i32);
    fn nop(&mut self) -> Result<(), Error>;
    fn call_host_n(&mut self, count: u32) -> Result<(), Error>;
}

impl GuestCalls for dyn PatternHost + '_ {
    fn nop(&mut self) -> Result<(), Error> {
        PatternHost::nop(self)
    }
    fn call_host_n(&mut self, count: u32) -> Result<(), Error> {
        PatternHost::call_host_n(self, count)
    }
    fn just_add(&mut self, left: u64, right: u64) -> Result<u64, Error> {
        PatternHost::just_add(self, left, right)
    }
    fn trigger_host_calls(&mut self, input: i32) -> Result<(), Error> {
        PatternHost::trigger_host_calls(self, input)
    }
    fn host_state(&self) -> (i32, Option<i32>, HostCalls) {
        PatternHost::host_state(self)
    }
    fn restart_host_state(&mut self, shared_value: i32) {
        PatternHost::restart_host_state(self, shared_value)
    }
}

/// Reads a `T` by copy through a host's byte access.
fn read<T: Pod>(host: &dyn PatternHost, offset: usize) -> Result<T, MemoryError> {
    let mut value = T::zeroed();
    host.read_bytes(offset, bytemuck::bytes_of_mut(&mut value))?;
    Ok(value)
}

/// Writes a `T` by copy through a host's byte access.
fn write<T: Pod>(host: &mut dyn PatternHost, offset: usize, value: &T) -> Result<(), MemoryError> {
    host.write_bytes(offset, bytemuck::bytes_of(value))
}

/// Where a pattern narrates what it does, one line per call.
pub type Log<'a> = dyn FnMut(fmt::Arguments<'_>) + 'a;

/// The value pattern 4 writes into the guest's static and pattern 5 expects the guest to see.
pub const PLUGIN_VALUE_WRITTEN: i32 = 777;

/// The second value pattern 5 writes when it goes by the guest's output, to see that the output follows the static.
pub const PLUGIN_VALUE_PROBE: i32 = 424_242;

/// Why a pattern did not pass.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("{what}: expected {expected}, got {actual}")]
    Mismatch { what: String, expected: String, actual: String },
    #[error(transparent)]
    Host(#[from] Error),
}

impl From<crate::error::MemoryError> for Failure {
    fn from(e: crate::error::MemoryError) -> Self {
        Failure::Host(e.into())
    }
}

/// How a pattern ended, when nothing went wrong: checked and passed, or run without the evidence to check it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Passed,
    /// Every step ran and every value the host could check was right, but the host has no evidence for the rest
    /// (the reason says what is missing).
    Unverified(String),
}

/// One pattern: its number, title and the function that runs and checks it on a host `H` (`dyn PatternHost` for a
/// core module, [`crate::ComponentHost`] for a component).
pub struct Pattern<H: ?Sized + 'static> {
    pub number: u8,
    pub title: &'static str,
    run: fn(&mut H, &mut Log<'_>) -> Result<Verdict, Failure>,
}

impl<H: ?Sized> Pattern<H> {
    pub const fn new(
        number: u8,
        title: &'static str,
        run: fn(&mut H, &mut Log<'_>) -> Result<Verdict, Failure>,
    ) -> Self {
        Pattern { number, title, run }
    }

    /// Runs the pattern on `host`, narrating to `log`.
    pub fn run(&self, host: &mut H, log: &mut Log<'_>) -> Result<Verdict, Failure> {
        (self.run)(host, log)
    }
}

impl<H: ?Sized> Clone for Pattern<H> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<H: ?Sized> Copy for Pattern<H> {}

impl<H: ?Sized> fmt::Debug for Pattern<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pattern").field("number", &self.number).field("title", &self.title).finish_non_exhaustive()
    }
}

/// The five patterns, in order. Pattern 5 checks what pattern 4 wrote, so they run on one instance.
pub const PATTERNS: [Pattern<dyn PatternHost>; 5] = [
    Pattern::new(1, TITLE_1, |host, log| host_calls_guest(host, log)),
    Pattern::new(2, TITLE_2, |host, log| guest_calls_host(host, log)),
    Pattern::new(3, "structs passed through linear memory", |host, log| structs_through_memory(host, log)),
    Pattern::new(4, "host reads and writes a guest static through its pointer", |host, log| {
        host_writes_guest_static(host, log)
    }),
    Pattern::new(5, TITLE_5, |host, log| guest_sees_host_write(host, log)),
];

/// The titles of the patterns that read the same for a core module and a component.
pub(crate) const TITLE_1: &str = "host calls a guest function";
pub(crate) const TITLE_2: &str = "guest calls host functions and changes host state";
pub(crate) const TITLE_5: &str = "the guest sees the host's write";

/// The result of one pattern.
#[derive(Debug)]
pub struct Outcome {
    pub number: u8,
    pub title: &'static str,
    pub result: Result<Verdict, Failure>,
}

impl Outcome {
    /// Whether the pattern passed, checked.
    pub fn passed(&self) -> bool {
        matches!(self.result, Ok(Verdict::Passed))
    }
}

/// Runs every pattern in order on `host`. A pattern that traps discards the store (as the safety rules
/// require) and the next pattern runs on a fresh instance.
pub fn run_all(host: &mut (dyn PatternHost + 'static), log: &mut Log<'_>) -> Vec<Outcome> {
    run_patterns(host, &PATTERNS, log)
}

/// Runs `patterns` in order on `host`, a fresh instance after any that discarded the store: [`run_all`], and the
/// component's (`crate::component::patterns::run_all`).
pub fn run_patterns<H: Driven + ?Sized>(host: &mut H, patterns: &[Pattern<H>], log: &mut Log<'_>) -> Vec<Outcome> {
    let mut outcomes = Vec::with_capacity(patterns.len());
    for pattern in patterns {
        outcomes.push(run_pattern(host, pattern, log, None));
        if let Some(export) = host.discarded().map(str::to_string) {
            log(format_args!("`{export}` did not return normally: discarding the store and instantiating again"));
            if let Err(e) = host.instantiate_again() {
                log(format_args!("instantiating again failed: {e}"));
            }
        }
    }
    outcomes
}

/// Runs one pattern on `host`, under `deadline` if one is given (see [`WasmHost::with_deadline`]: it needs the
/// `epoch` profile). A pattern that traps leaves the store discarded ([`Driven::discarded`]); what comes next is
/// the caller's choice ([`run_patterns`] instantiates afresh).
pub fn run_pattern<H: Driven + ?Sized>(
    host: &mut H,
    pattern: &Pattern<H>,
    log: &mut Log<'_>,
    deadline: Option<Duration>,
) -> Outcome {
    log(format_args!("pattern {}: {}", pattern.number, pattern.title));
    let result = match deadline {
        Some(timeout) => host.run_within(timeout, &mut |host| pattern.run(host, log)),
        None => pattern.run(host, log),
    };
    Outcome { number: pattern.number, title: pattern.title, result }
}

/// Compares and narrates one checked value.
pub(crate) fn check<T: PartialEq + Display>(
    log: &mut Log<'_>,
    what: &str,
    expected: T,
    actual: T,
) -> Result<(), Failure> {
    if expected == actual {
        log(format_args!("  ok: {what} = {actual}"));
        Ok(())
    } else {
        Err(Failure::Mismatch { what: what.to_string(), expected: expected.to_string(), actual: actual.to_string() })
    }
}

pub(crate) fn host_calls_guest<H: GuestCalls + ?Sized>(host: &mut H, log: &mut Log<'_>) -> Result<Verdict, Failure> {
    log(format_args!("calling just_add(15, 27)"));
    let sum = host.just_add(15, 27)?;
    check(log, "just_add(15, 27)", 42, sum)?;
    Ok(Verdict::Passed)
}

pub(crate) fn guest_calls_host<H: GuestCalls + ?Sized>(host: &mut H, log: &mut Log<'_>) -> Result<Verdict, Failure> {
    let input = 7;
    let before = guest::HOST_SHARED_VALUE_INITIAL;
    host.restart_host_state(before);
    log(format_args!("host state is {before}; calling trigger_host_calls({input})"));
    host.trigger_host_calls(input)?;
    let (after, logged, calls) = host.host_state();
    log(format_args!(
        "the guest called host_log_value {}x, host_get_shared_value {}x, host_set_shared_value {}x",
        calls.log_value, calls.get_shared_value, calls.set_shared_value
    ));
    let one_each = HostCalls { log_value: 1, get_shared_value: 1, set_shared_value: 1 };
    check(log, "host functions called once each", true, calls == one_each)?;
    let logged = logged.map_or("nothing".to_string(), |v| v.to_string());
    check(log, "value the host logged", "14", &logged)?;
    check(log, "host state after the call", 54, after)?;
    Ok(Verdict::Passed)
}

fn structs_through_memory(host: &mut dyn PatternHost, log: &mut Log<'_>) -> Result<Verdict, Failure> {
    let size = size_of::<Point>();
    let pages_before = host.memory_size() / crate::guest::WASM_PAGE;
    let base = host.reserve(3 * size)?;
    log(format_args!(
        "memory grown from {pages_before} to {} pages; the new page at {base:#x} lies above the guest's stack, \
         statics and heap, so the Points go there",
        host.memory_size() / crate::guest::WASM_PAGE
    ));
    let (a_at, b_at, out_at) = (base, base + size, base + 2 * size);
    let (a, b) = (Point::new(100, 200), Point::new(30, 70));
    write(host, a_at, &a)?;
    write(host, b_at, &b)?;
    log(format_args!("wrote a = {a} at {a_at:#x} and b = {b} at {b_at:#x}"));
    let offset = |at: usize| {
        u32::try_from(at).map_err(|_| Failure::Mismatch {
            what: "guest offset".to_string(),
            expected: "an offset below 4 GiB".to_string(),
            actual: format!("{at:#x}"),
        })
    };
    log(format_args!("calling point_add({out_at:#x}, {a_at:#x}, {b_at:#x})"));
    host.point_add(offset(out_at)?, offset(a_at)?, offset(b_at)?)?;
    let out: Point = read(host, out_at)?;
    check(log, "Point read back from the output offset", add_points(a, b), out)?;
    check(log, "the sum", Point::new(130, 270), out)?;
    check(log, "input a left as written", a, read(host, a_at)?)?;
    check(log, "input b left as written", b, read(host, b_at)?)?;
    Ok(Verdict::Passed)
}

fn host_writes_guest_static(host: &mut dyn PatternHost, log: &mut Log<'_>) -> Result<Verdict, Failure> {
    let at = host.plugin_shared_value_offset()?;
    log(format_args!("the guest says PLUGIN_SHARED_VALUE lives at {at:#x}: inside linear memory and aligned"));
    check(log, "value read through the pointer", guest::PLUGIN_SHARED_VALUE_INITIAL, read::<i32>(host, at)?)?;
    log(format_args!("writing {PLUGIN_VALUE_WRITTEN} through the pointer"));
    write(host, at, &PLUGIN_VALUE_WRITTEN)?;
    check(log, "value read back", PLUGIN_VALUE_WRITTEN, read::<i32>(host, at)?)?;
    Ok(Verdict::Passed)
}

fn guest_sees_host_write(host: &mut dyn PatternHost, log: &mut Log<'_>) -> Result<Verdict, Failure> {
    log(format_args!("calling simple_add(1, 1)"));
    host.take_guest_output();
    check(log, "simple_add(1, 1)", 2, host.simple_add(1, 1)?)?;
    let printed = host.take_guest_output();
    if host.reads_plugin_shared_value() {
        log(format_args!("asking the guest what it sees with read_plugin_shared_value()"));
        let seen = host.read_plugin_shared_value()?;
        check(log, "PLUGIN_SHARED_VALUE as the guest sees it", PLUGIN_VALUE_WRITTEN, seen)?;
        return Ok(Verdict::Passed);
    }
    log(format_args!("the guest has no read_plugin_shared_value(): looking at what it printed"));
    let Some(printed) = printed else {
        return Ok(Verdict::Unverified(
            "the guest has no `read_plugin_shared_value`, and this host does not keep what the guest prints".into(),
        ));
    };
    if !mentions(&printed, PLUGIN_VALUE_WRITTEN) {
        return Ok(Verdict::Unverified(format!(
            "the guest has no `read_plugin_shared_value`, and what it printed during simple_add(1, 1) does not show \
             {PLUGIN_VALUE_WRITTEN}"
        )));
    }
    // A guest that prints 777 whatever its static holds would pass so far: write another value and look again.
    let at = host.plugin_shared_value_offset()?;
    log(format_args!("it printed {PLUGIN_VALUE_WRITTEN}; writing {PLUGIN_VALUE_PROBE} to see that its output follows"));
    write(host, at, &PLUGIN_VALUE_PROBE)?;
    host.take_guest_output();
    let sum = host.simple_add(1, 1);
    let probed = host.take_guest_output().unwrap_or_default();
    write(host, at, &PLUGIN_VALUE_WRITTEN)?;
    check(log, "simple_add(1, 1) again", 2, sum?)?;
    if mentions(&probed, PLUGIN_VALUE_PROBE) && !mentions(&probed, PLUGIN_VALUE_WRITTEN) {
        log(format_args!(
            "  ok: the guest printed {PLUGIN_VALUE_WRITTEN}, and {PLUGIN_VALUE_PROBE} after the host wrote that instead"
        ));
        Ok(Verdict::Passed)
    } else {
        Ok(Verdict::Unverified(format!(
            "the guest printed {PLUGIN_VALUE_WRITTEN}, but not {PLUGIN_VALUE_PROBE} after the host wrote that to its \
             static: its output does not follow the static"
        )))
    }
}

/// Whether `value` appears in `text` as a whole decimal number (not as part of a longer one).
fn mentions(text: &[u8], value: i32) -> bool {
    let text = String::from_utf8_lossy(text);
    let wanted = value.to_string();
    text.split(|c: char| !(c.is_ascii_digit() || c == '-')).any(|word| word == wanted)
}

/// The optional exports of the ABI that the five patterns do not call, each checked after them when the module has
/// it: an export the host binds but never calls would be a claim nobody verified. Each runs as a pattern does
/// ([`run_check`]: under the deadline, a trap or misbehaviour an error, a wrong value a [`Failure::Mismatch`]).
pub struct ExportCheck<H: ?Sized + 'static> {
    pub export: &'static str,
    pub title: &'static str,
    run: fn(&mut H, &mut Log<'_>) -> Result<Verdict, Failure>,
}

impl<H: ?Sized> ExportCheck<H> {
    pub const fn new(
        export: &'static str,
        title: &'static str,
        run: fn(&mut H, &mut Log<'_>) -> Result<Verdict, Failure>,
    ) -> Self {
        ExportCheck { export, title, run }
    }
}

impl<H: ?Sized> Clone for ExportCheck<H> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<H: ?Sized> Copy for ExportCheck<H> {}

impl<H: ?Sized> fmt::Debug for ExportCheck<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExportCheck").field("export", &self.export).field("title", &self.title).finish_non_exhaustive()
    }
}

/// The checks of the optional exports, in the order the main job runs them.
pub const EXPORT_CHECKS: [ExportCheck<dyn PatternHost>; 5] = [
    ExportCheck::new(export::NOP.name, TITLE_NOP, |host, log| nop_does_nothing(host, log)),
    ExportCheck::new(export::POINT_ADD_BATCH.name, TITLE_BATCH, |host, log| batch_matches_model(host, log)),
    ExportCheck::new(export::CALL_HOST_N.name, TITLE_CALL_HOST_N, |host, log| calls_host_n_times(host, log)),
    ExportCheck::new(export::CHECKSUM_BYTES.name, TITLE_CHECKSUM, |host, log| checksum_matches_model(host, log)),
    ExportCheck::new(export::FILL_BYTES.name, TITLE_FILL, |host, log| fill_matches_model(host, log)),
];

pub(crate) const TITLE_NOP: &str = "returns and calls no host function";
pub(crate) const TITLE_BATCH: &str = "sums a batch of Points as the native model does";
pub(crate) const TITLE_CALL_HOST_N: &str = "calls the host exactly n times";
pub(crate) const TITLE_CHECKSUM: &str = "checksums a buffer as the native model does";
pub(crate) const TITLE_FILL: &str = "fills a buffer as the native model does";

/// The buffer lengths the checksum and fill checks pass: empty, shorter than a word, not a multiple of one, and a
/// few pages.
pub const CHECK_BUFFER_LENS: [usize; 4] = [0, 7, 1001, 3 * 65536 + 5];

/// The bytes the checksum check passes: a pattern unlike the guest's fill, every byte value in it.
pub fn check_buffer(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i as u32).wrapping_mul(2_654_435_761).rotate_left(7) as u8).collect()
}

/// How many Points the batch check passes, and how many host calls the `call_host_n` check asks for.
pub const CHECK_BATCH_LEN: usize = 1000;
pub const CHECK_HOST_CALLS: u32 = 1000;

/// The outcome of one export check: `Err` with the reason when the host does not bind the export (the module
/// lacks it, or the host has no call for it), and nothing was run.
#[derive(Debug)]
pub struct CheckOutcome {
    pub export: &'static str,
    pub title: &'static str,
    pub result: Result<Result<Verdict, Failure>, &'static str>,
}

/// Runs one export check on `host`, under `deadline` if one is given, if the host binds the export.
pub fn run_check<H: Driven + ?Sized>(
    host: &mut H,
    check: &ExportCheck<H>,
    log: &mut Log<'_>,
    deadline: Option<Duration>,
) -> CheckOutcome {
    let (export, title) = (check.export, check.title);
    if let Err(why) = host.binds_optional(export) {
        return CheckOutcome { export, title, result: Err(why) };
    }
    log(format_args!("checking `{export}`: it {title}"));
    let result = match deadline {
        Some(timeout) => host.run_within(timeout, &mut |host| (check.run)(host, log)),
        None => (check.run)(host, log),
    };
    CheckOutcome { export, title, result: Ok(result) }
}

/// The two input batches of the batch check: every Point different, with fields at and near both ends of `i32`
/// so that a sum that does not wrap (or wraps per Point instead of per field) shows.
pub fn check_batch() -> (Vec<Point>, Vec<Point>) {
    let at = |i: usize, salt: u32| {
        let mut x = (i as u32).wrapping_mul(0x9e37_79b9) ^ salt;
        x ^= x >> 15;
        x.wrapping_mul(0x85eb_ca6b) as i32
    };
    let edges = [i32::MAX, i32::MIN, -1, 0, 1];
    let a =
        (0..CHECK_BATCH_LEN).map(|i| Point::new(edges.get(i).copied().unwrap_or_else(|| at(i, 1)), at(i, 2))).collect();
    let b = (0..CHECK_BATCH_LEN)
        .map(|i| Point::new(edges.get(i).map_or_else(|| at(i, 3), |_| i32::MAX), at(i, 4)))
        .collect();
    (a, b)
}

/// Compares a batch's sums with the native model; the first Point that differs is the failure.
pub(crate) fn check_sums(log: &mut Log<'_>, a: &[Point], b: &[Point], sums: &[Point]) -> Result<(), Failure> {
    check(log, "number of sums", a.len().min(b.len()), sums.len())?;
    for (i, ((&a, &b), &sum)) in a.iter().zip(b).zip(sums).enumerate() {
        if add_points(a, b) != sum {
            let what = format!("the sum of Points {i} ({a} + {b})");
            check(log, &what, add_points(a, b), sum)?;
        }
    }
    log(format_args!("  ok: all {} sums match the native model", sums.len()));
    Ok(())
}

pub(crate) fn nop_does_nothing<H: GuestCalls + ?Sized>(host: &mut H, log: &mut Log<'_>) -> Result<Verdict, Failure> {
    host.restart_host_state(guest::HOST_SHARED_VALUE_INITIAL);
    host.nop()?;
    let (after, _, calls) = host.host_state();
    check(log, "host functions called by nop", HostCalls::default(), calls)?;
    check(log, "host state after nop", guest::HOST_SHARED_VALUE_INITIAL, after)?;
    Ok(Verdict::Passed)
}

fn batch_matches_model(host: &mut dyn PatternHost, log: &mut Log<'_>) -> Result<Verdict, Failure> {
    let (a, b) = check_batch();
    let bytes = CHECK_BATCH_LEN * size_of::<Point>();
    let base = host.reserve(3 * bytes)?;
    let (a_at, b_at, out_at) = (base, base + bytes, base + 2 * bytes);
    host.write_bytes(a_at, bytemuck::cast_slice(&a))?;
    host.write_bytes(b_at, bytemuck::cast_slice(&b))?;
    let offset = |at: usize| u32::try_from(at).map_err(|_| Failure::Host(Error::Memory(out_of_range(at))));
    let count = CHECK_BATCH_LEN as u32;
    log(format_args!("calling point_add_batch({out_at:#x}, {a_at:#x}, {b_at:#x}, {count}) in a page it grew"));
    host.point_add_batch(offset(out_at)?, offset(a_at)?, offset(b_at)?, count)?;
    let mut sums = vec![Point::default(); CHECK_BATCH_LEN];
    host.read_bytes(out_at, bytemuck::cast_slice_mut(&mut sums))?;
    check_sums(log, &a, &b, &sums)?;
    let mut left = vec![Point::default(); CHECK_BATCH_LEN];
    host.read_bytes(a_at, bytemuck::cast_slice_mut(&mut left))?;
    check(log, "inputs a left as written", true, left == a)?;
    host.read_bytes(b_at, bytemuck::cast_slice_mut(&mut left))?;
    check(log, "inputs b left as written", true, left == b)?;
    Ok(Verdict::Passed)
}

/// An offset the ABI's `i32` pointers cannot reach.
fn out_of_range(at: usize) -> MemoryError {
    MemoryError { offset: at, len: 0, memory_size: u32::MAX as usize }
}

pub(crate) fn calls_host_n_times<H: GuestCalls + ?Sized>(host: &mut H, log: &mut Log<'_>) -> Result<Verdict, Failure> {
    host.restart_host_state(guest::HOST_SHARED_VALUE_INITIAL);
    host.call_host_n(CHECK_HOST_CALLS)?;
    let (_, logged, calls) = host.host_state();
    let expected = HostCalls { log_value: u64::from(CHECK_HOST_CALLS), get_shared_value: 0, set_shared_value: 0 };
    check(log, "host functions called", expected, calls)?;
    let logged = logged.map_or("nothing".to_string(), |v| v.to_string());
    check(log, "the last value logged", (CHECK_HOST_CALLS - 1).to_string(), logged)?;
    Ok(Verdict::Passed)
}

fn checksum_matches_model(host: &mut dyn PatternHost, log: &mut Log<'_>) -> Result<Verdict, Failure> {
    let longest = CHECK_BUFFER_LENS.iter().copied().max().unwrap_or(0);
    let base = host.reserve(longest)?;
    let at = u32::try_from(base).map_err(|_| Failure::Host(Error::Memory(out_of_range(base))))?;
    for len in CHECK_BUFFER_LENS {
        let bytes = check_buffer(len);
        host.write_bytes(base, &bytes)?;
        let sum = host.checksum_bytes(at, len as u32)?;
        check(log, &format!("checksum_bytes of {len} bytes"), guest::checksum(&bytes), sum)?;
    }
    Ok(Verdict::Passed)
}

fn fill_matches_model(host: &mut dyn PatternHost, log: &mut Log<'_>) -> Result<Verdict, Failure> {
    let longest = CHECK_BUFFER_LENS.iter().copied().max().unwrap_or(0);
    // A byte before and after the buffer shows that nothing outside it is written.
    let base = host.reserve(longest + 2)?;
    let at = u32::try_from(base + 1).map_err(|_| Failure::Host(Error::Memory(out_of_range(base))))?;
    for (n, len) in CHECK_BUFFER_LENS.into_iter().enumerate() {
        let seed = 0x5eed_0000 + n as u32;
        host.write_bytes(base, &vec![0xa5; len + 2])?;
        host.fill_bytes(at, len as u32, seed)?;
        let mut seen = vec![0; len + 2];
        host.read_bytes(base, &mut seen)?;
        let expected: Vec<u8> = std::iter::once(0xa5)
            .chain((0..len).map(|i| guest::fill_byte(seed, i)))
            .chain(std::iter::once(0xa5))
            .collect();
        check(log, &format!("fill_bytes of {len} bytes, and the bytes around them"), true, seen == expected)?;
    }
    Ok(Verdict::Passed)
}
