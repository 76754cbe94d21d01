//! What a matrix row is: its id, its text, its floor, its profiles, what it needs of the module, its timing and the
//! operation it measures ([`Measure`]), and [`Bench`], through which a row's operation becomes a criterion benchmark.
//! The rows themselves are entries of one list, `rows::ROWS`.

use super::fixtures::Fixtures;
use crate::guard::Batches;
use crate::subject::Needs;
use boundary_host::EngineProfile;
use criterion::{BenchmarkId, Criterion, Throughput};
use std::borrow::Cow;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Measures a row under one profile: takes what it needs from the profile's [`Fixtures`] (made on first use, before
/// anything is timed), checks its operation's result once, and hands the operation to the [`Bench`] (`iter` or
/// `batch`). Called once per row and profile; the operation inside is a closure of its own type, so the timed loop
/// makes no indirect call.
pub type Measure = fn(&mut Bench<'_>, &mut Fixtures<'_>);

/// How long a row's benchmark is warmed up and measured, by how long one iteration takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    /// Nanoseconds: the run's own warm-up, measurement time and sample count.
    Call,
    /// Microseconds (instantiation, traps): a shorter warm-up and measurement, enough samples in less time.
    Short,
    /// Milliseconds (compiling): as `Short`, with 10 samples, which keeps the row to a few seconds.
    Compile,
}

/// Warm-up and measurement of the rows whose iteration takes microseconds or more.
const SHORT: (Duration, Duration) = (Duration::from_millis(300), Duration::from_millis(700));

/// One row of the matrix.
#[derive(Clone)]
pub struct Row {
    /// Slash path; under a profile, criterion's id is `{id}/{profile}`, so `cargo bench -- calls/nop` picks a
    /// family.
    pub id: Cow<'static, str>,
    /// What one iteration does.
    pub what: Cow<'static, str>,
    /// The native row this one is compared with, if there is one that does the same work without wasm.
    pub native: Option<&'static str>,
    /// Elements per iteration, for rows measured with `Throughput::Elements`.
    pub elements: Option<u64>,
    /// The profiles the row is measured under, for rows that do not apply to all (see `rows::INSTANTIATION_PROFILES`
    /// and `rows::TRAP_PROFILES`); the C++ host's rows run wasmtime's default configuration, `cranelift`, only.
    pub profiles: Option<&'static [EngineProfile]>,
    /// Whether the row is the C++ host's, measured only in a build with the `cpp` feature (and for the project's
    /// own guest: the C++ host's loops are written for it).
    pub needs_cpp: bool,
    /// What the row needs of the module it measures (`probe::Serves` says whether a module has it).
    pub needs: Needs,
    /// How long it is warmed up and measured.
    pub timing: Timing,
    /// What it measures.
    pub measure: Measure,
}

impl std::fmt::Debug for Row {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Row").field("id", &self.id).field("needs", &self.needs).finish_non_exhaustive()
    }
}

impl Row {
    /// A row compared with the native row `native`, measured under every profile, needing the guest ABI.
    pub fn new(id: &'static str, what: &'static str, native: &'static str, measure: Measure) -> Row {
        Row {
            id: Cow::Borrowed(id),
            what: Cow::Borrowed(what),
            native: Some(native),
            elements: None,
            profiles: None,
            needs_cpp: false,
            needs: Needs::Abi,
            timing: Timing::Call,
            measure,
        }
    }

    /// A row with no native floor whose iteration takes microseconds, measured under `profiles`.
    pub fn unfloored(
        id: &'static str,
        what: &'static str,
        profiles: &'static [EngineProfile],
        measure: Measure,
    ) -> Row {
        Row { native: None, profiles: Some(profiles), timing: Timing::Short, ..Row::new(id, what, "", measure) }
    }

    /// A row made at run time for the subject (`--invoke`, `--request`): no floor, every profile.
    pub fn of_subject(id: String, what: String, needs: Needs, measure: Measure) -> Row {
        Row { id: Cow::Owned(id), what: Cow::Owned(what), native: None, needs, ..Row::new("", "", "", measure) }
    }

    /// The same row needing `needs` of its module.
    pub fn needing(self, needs: Needs) -> Row {
        Row { needs, ..self }
    }

    /// The same row, `n` elements per iteration (reported as throughput).
    pub fn elements(self, n: u64) -> Row {
        Row { elements: Some(n), ..self }
    }

    /// The same row, measured under `profiles` only.
    pub fn only_under(self, profiles: &'static [EngineProfile]) -> Row {
        Row { profiles: Some(profiles), ..self }
    }

    /// The same row, measured under every profile.
    pub fn every_profile(self) -> Row {
        Row { profiles: None, ..self }
    }

    /// The same row, timed as `timing` says.
    pub fn timed(self, timing: Timing) -> Row {
        Row { timing, ..self }
    }

    /// The same row as one of the C++ host's (`host/cpp`), which runs wasmtime's default configuration: `cranelift`.
    pub fn of_cpp_host(self) -> Row {
        Row { needs_cpp: true, profiles: Some(&[EngineProfile::Cranelift]), ..self }
    }

    /// Whether the row is measured under `profile`.
    pub fn measured_under(&self, profile: &str) -> bool {
        self.profiles.is_none_or(|only| only.iter().any(|p| p.name() == profile))
    }

    /// Whether a run may leave the row's benchmark out without a word: an `--invoke` export's typed row, when the
    /// typed path does not cover its signature.
    pub fn may_be_left_out(&self) -> bool {
        self.id.starts_with("invoke/") && self.id.ends_with("/typed")
    }
}

/// Criterion's full id of a row under a profile.
pub fn criterion_id(row_id: &str, profile: &str) -> String {
    format!("{row_id}/{profile}")
}

/// Guest calls per `call_host_n` in the per-callback rows are at most this many; each chunk's entry cost is
/// measured right after it and subtracted.
const CALLBACK_CHUNK: u64 = 1 << 20;

/// One row's benchmark under one profile (or a native row's, under none), as its [`Measure`] registers it.
pub struct Bench<'a> {
    c: &'a mut Criterion,
    id: &'a str,
    profile: Option<&'static str>,
    elements: Option<u64>,
    timing: Timing,
    registered: bool,
}

impl std::fmt::Debug for Bench<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bench").field("id", &self.id).field("profile", &self.profile).finish_non_exhaustive()
    }
}

impl<'a> Bench<'a> {
    /// The benchmark of row `id` under `profile`, to be registered with `c`.
    pub fn new(
        c: &'a mut Criterion,
        id: &'a str,
        profile: Option<&'static str>,
        elements: Option<u64>,
        timing: Timing,
    ) -> Self {
        Bench { c, id, profile, elements, timing, registered: false }
    }

    /// The profile the row is measured under (none for a native row).
    pub fn profile(&self) -> Option<&'static str> {
        self.profile
    }

    /// The row's id.
    pub fn id(&self) -> &str {
        self.id
    }

    /// Whether the operation was handed over (a row's measure that never calls [`Bench::iter`] or [`Bench::batch`]
    /// is a missed step).
    pub fn registered(&self) -> bool {
        self.registered
    }

    /// `op` is one iteration, timed as criterion's `Bencher::iter` times it, each batch of calls under the
    /// watchdog ([`Batches`]).
    pub fn iter<O>(&mut self, mut op: impl FnMut() -> O) {
        self.register(move |batches, iters| batches.time(iters, &mut op))
    }

    /// A row that times its own batches: `batch(n)` makes `n` iterations and returns the time they took.
    pub fn batch(&mut self, mut batch: impl FnMut(u64) -> Duration) {
        self.register(move |batches, iters| batches.run(iters, || batch(iters)))
    }

    /// One iteration is one guest -> host call: `iters` calls are made by as few `call(n)` calls (a guest loop of
    /// `n` host calls) as fit, and each chunk's entry cost (a `call(0)` right after it) is subtracted.
    pub fn per_callback(&mut self, mut call: impl FnMut(u32)) {
        self.batch(move |iters| {
            let mut total = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let chunk = left.min(CALLBACK_CHUNK);
                left -= chunk;
                let start = Instant::now();
                call(black_box(chunk as u32));
                let with_calls = start.elapsed();
                let start = Instant::now();
                call(black_box(0));
                total += with_calls.saturating_sub(start.elapsed());
            }
            total
        })
    }

    /// The one place a row becomes a criterion benchmark, in a group named by the id's first segment.
    fn register(&mut self, mut run: impl FnMut(&mut Batches, u64) -> Duration) {
        self.registered = true;
        let (family, rest) = self.id.split_once('/').expect("row ids are slash paths");
        let mut group = self.c.benchmark_group(family);
        if self.timing != Timing::Call {
            group.warm_up_time(SHORT.0).measurement_time(SHORT.1);
        }
        if self.timing == Timing::Compile {
            group.sample_size(10);
        }
        if let Some(n) = self.elements {
            group.throughput(Throughput::Elements(n));
        }
        let what = match self.profile {
            Some(p) => format!("matrix row `{}` under `{p}`", self.id),
            None => format!("matrix row `{}`", self.id),
        };
        let mut batches = Batches::new(&what);
        let mut body = |b: &mut criterion::Bencher| b.iter_custom(|iters| run(&mut batches, iters));
        match self.profile {
            Some(p) => group.bench_function(BenchmarkId::new(rest, p), &mut body),
            None => group.bench_function(rest, &mut body),
        };
        group.finish();
    }
}
