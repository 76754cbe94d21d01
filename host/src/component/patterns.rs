//! The five patterns against the guest as a component, verified as the core module's are
//! ([`crate::patterns`]). Patterns 1 and 2 are the same functions. The others take the component's form: a
//! component exports no memory and hands out no pointer, so pattern 3 passes its Points by value (the WIT `point`
//! record, lowered and lifted by the canonical ABI) and pattern 4 reads and writes the guest's static through the
//! guest's own reader and setter; pattern 5 asks the guest what it sees, as with the core module.

use super::{ComponentHost, WitPoint, export};
use crate::error::Error;
use crate::guest::{self, Point, add_points};
use crate::patterns::{
    self, CHECK_BUFFER_LENS, Driven, ExportCheck, Failure, GuestCalls, Log, Outcome, PLUGIN_VALUE_WRITTEN, Pattern,
    TITLE_1, TITLE_2, TITLE_5, TITLE_BATCH, TITLE_CALL_HOST_N, TITLE_CHECKSUM, TITLE_FILL, TITLE_NOP, Verdict, check,
    check_batch, check_buffer, check_sums,
};
use crate::state::HostCalls;
use std::time::Duration;

impl GuestCalls for ComponentHost {
    fn just_add(&mut self, left: u64, right: u64) -> Result<u64, Error> {
        ComponentHost::just_add(self, left, right)
    }
    fn trigger_host_calls(&mut self, input: i32) -> Result<(), Error> {
        ComponentHost::trigger_host_calls(self, input)
    }
    fn host_state(&self) -> (i32, Option<i32>, HostCalls) {
        let state = self.state();
        (state.shared_value, state.last_logged, state.calls)
    }
    fn nop(&mut self) -> Result<(), Error> {
        ComponentHost::nop(self)
    }
    fn call_host_n(&mut self, count: u32) -> Result<(), Error> {
        ComponentHost::call_host_n(self, count)
    }
    fn restart_host_state(&mut self, shared_value: i32) {
        let state = self.state_mut();
        state.shared_value = shared_value;
        state.last_logged = None;
        state.calls = HostCalls::default();
    }
}

impl Driven for ComponentHost {
    fn discarded(&self) -> Option<&str> {
        self.discarded_by()
    }
    fn instantiate_again(&mut self) -> Result<(), Error> {
        self.reset()
    }
    fn binds_optional(&self, export: &str) -> Result<(), &'static str> {
        if self.exports_optional(export) { Ok(()) } else { Err("not exported") }
    }
    fn run_within(
        &mut self,
        timeout: Duration,
        run: &mut dyn FnMut(&mut Self) -> Result<Verdict, Failure>,
    ) -> Result<Verdict, Failure> {
        self.with_deadline(timeout, |host| run(host)).unwrap_or_else(|e| Err(e.into()))
    }
}

/// The five patterns in their component form, in order. Pattern 5 checks what pattern 4 wrote, so they run on one
/// instance.
pub const PATTERNS: [Pattern<ComponentHost>; 5] = [
    Pattern::new(1, TITLE_1, patterns::host_calls_guest::<ComponentHost>),
    Pattern::new(2, TITLE_2, patterns::guest_calls_host::<ComponentHost>),
    Pattern::new(3, "structs passed by value (a WIT record)", structs_by_value),
    Pattern::new(4, "host reads and writes a guest static through the guest's reader and setter", static_through_calls),
    Pattern::new(5, TITLE_5, guest_sees_host_write),
];

/// Runs every pattern in order on `host`; a pattern that traps discards the store and the next one runs on a fresh
/// instance, as [`crate::patterns::run_all`] does for a core module.
pub fn run_all(host: &mut ComponentHost, log: &mut Log<'_>) -> Vec<Outcome> {
    patterns::run_patterns(host, &PATTERNS, log)
}

fn structs_by_value(host: &mut ComponentHost, log: &mut Log<'_>) -> Result<Verdict, Failure> {
    let (a, b) = (Point::new(100, 200), Point::new(30, 70));
    log(format_args!("calling point-add({a}, {b}): both records lowered into the guest, the sum lifted back"));
    let sum = host.point_add(a, b)?;
    check(log, "the Point returned", add_points(a, b), sum)?;
    check(log, "the sum", Point::new(130, 270), sum)?;
    Ok(Verdict::Passed)
}

fn static_through_calls(host: &mut ComponentHost, log: &mut Log<'_>) -> Result<Verdict, Failure> {
    log(format_args!("a component hands out no pointer: asking the guest for PLUGIN_SHARED_VALUE"));
    let read = host.read_plugin_shared_value()?;
    check(log, "value the guest reports", guest::PLUGIN_SHARED_VALUE_INITIAL, read)?;
    log(format_args!("calling set-plugin-shared-value({PLUGIN_VALUE_WRITTEN})"));
    host.set_plugin_shared_value(PLUGIN_VALUE_WRITTEN)?;
    check(log, "value read back", PLUGIN_VALUE_WRITTEN, host.read_plugin_shared_value()?)?;
    Ok(Verdict::Passed)
}

fn guest_sees_host_write(host: &mut ComponentHost, log: &mut Log<'_>) -> Result<Verdict, Failure> {
    log(format_args!("calling simple-add(1, 1)"));
    check(log, "simple-add(1, 1)", 2, host.simple_add(1, 1)?)?;
    log(format_args!("asking the guest what it sees with read-plugin-shared-value()"));
    check(log, "PLUGIN_SHARED_VALUE as the guest sees it", PLUGIN_VALUE_WRITTEN, host.read_plugin_shared_value()?)?;
    Ok(Verdict::Passed)
}

/// The exports the five patterns do not call, checked after them as the core module's optional exports are
/// ([`crate::patterns::EXPORT_CHECKS`]); each is optional in the world, and a component without it is told so. The
/// batch check lowers two lists into the guest and lifts one back, so the guest's `cabi_realloc` and post-return run
/// too.
pub const EXPORT_CHECKS: [ExportCheck<ComponentHost>; 6] = [
    ExportCheck::new(export::NOP, TITLE_NOP, patterns::nop_does_nothing::<ComponentHost>),
    ExportCheck::new(export::POINT_ADD_BATCH, TITLE_BATCH, batch_matches_model),
    ExportCheck::new(export::CALL_HOST_N, TITLE_CALL_HOST_N, patterns::calls_host_n_times::<ComponentHost>),
    ExportCheck::new(export::CHECKSUM_BYTES, TITLE_CHECKSUM, checksum_matches_model),
    ExportCheck::new(export::FILL_BYTES, TITLE_FILL, fill_matches_model),
    ExportCheck::new(
        export::CHECKSUM_STRING,
        "checksums a string's UTF-8 bytes as the native model does",
        string_checksum_matches_model,
    ),
];

fn batch_matches_model(host: &mut ComponentHost, log: &mut Log<'_>) -> Result<Verdict, Failure> {
    let (a, b) = check_batch();
    let wit = |points: &[Point]| points.iter().map(|&p| WitPoint::from(p)).collect::<Vec<_>>();
    let (wa, wb) = (wit(&a), wit(&b));
    log(format_args!("calling point-add-batch with two lists of {} Points", a.len()));
    let sums: Vec<Point> = host.point_add_batch(&wa, &wb)?.into_iter().map(Point::from).collect();
    check_sums(log, &a, &b, &sums)?;
    // Lists of different lengths: the shorter one decides.
    let short = 3;
    log(format_args!("calling point-add-batch with lists of {short} and {} Points", b.len()));
    let sums: Vec<Point> = host.point_add_batch(&wa[..short], &wb)?.into_iter().map(Point::from).collect();
    check_sums(log, &a[..short], &b, &sums)?;
    Ok(Verdict::Passed)
}

fn checksum_matches_model(host: &mut ComponentHost, log: &mut Log<'_>) -> Result<Verdict, Failure> {
    for len in CHECK_BUFFER_LENS {
        let bytes = check_buffer(len);
        let sum = host.checksum_bytes(&bytes)?;
        check(log, &format!("checksum-bytes of {len} bytes"), guest::checksum(&bytes), sum)?;
    }
    Ok(Verdict::Passed)
}

fn fill_matches_model(host: &mut ComponentHost, log: &mut Log<'_>) -> Result<Verdict, Failure> {
    for (n, len) in CHECK_BUFFER_LENS.into_iter().enumerate() {
        let seed = 0x5eed_0000 + n as u32;
        let bytes = host.fill_bytes(len as u32, seed)?;
        let expected: Vec<u8> = (0..len).map(|i| guest::fill_byte(seed, i)).collect();
        check(log, &format!("fill-bytes of {len} bytes"), true, bytes == expected)?;
    }
    Ok(Verdict::Passed)
}

fn string_checksum_matches_model(host: &mut ComponentHost, log: &mut Log<'_>) -> Result<Verdict, Failure> {
    for text in ["", "é", "the boundary, ünïcödé and all: ✓", &"abcdefgh".repeat(4099)] {
        let sum = host.checksum_string(text)?;
        check(log, &format!("checksum-string of {} bytes", text.len()), guest::checksum(text.as_bytes()), sum)?;
    }
    Ok(Verdict::Passed)
}
