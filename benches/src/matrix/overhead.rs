//! The host core against raw wasmtime: each pair of operations timed in interleaved blocks ([`crate::matrix::paired`])
//! at many memory layouts, and summarised as the median over layouts.
//!
//! Why many layouts: on the project's machines the ratio of one pair depends on where code, stacks, stores and
//! guest memory happen to sit. In the run of `results/2026-11-24-2/` the 32 measurements of `nop` under Cranelift
//! span -6.3% to +8.8% around a median of +4.8%. A throwaway experiment (not kept) showed the cause: fresh store
//! pairs in one process each kept their own ratio when measured again, whole processes differed (medians of
//! +6.6%, +6.8% and -4.8%), and with address randomisation off (`setarch -R`) processes gave the same median. So one
//! process at one placement measures its layout as much as the code. The check therefore runs in
//! [`PROCESSES`] child processes (each with its own randomised addresses), each with [`PLACEMENTS`] fresh pairs of
//! stores, and reports the median of all those ratios with their range.

use crate::matrix::paired::{self, Paired};
use crate::matrix::rows;
use crate::ops::{self, CoreBench, RawBench};
use boundary_host::{EngineProfile, HostFuncStyle};
use serde::{Deserialize, Serialize};
use std::hint::black_box;
use std::time::Duration;

/// Child processes per check, each at its own randomised addresses.
pub const PROCESSES: usize = 8;
/// Fresh raw/core store pairs per profile in each child.
pub const PLACEMENTS: usize = 4;
/// ABBA rounds per measurement, and the length of one block.
const ROUNDS: usize = 101;
const BLOCK: Duration = Duration::from_micros(50);

/// One host-core operation and the raw-wasmtime row it is held against.
#[derive(Debug)]
pub struct Pair {
    pub core_row: &'static str,
    pub raw_row: &'static str,
}

/// The pairs checked under every profile: typed call, `nop`, the callback round trip, the Point round trip and a
/// Point write and read. [`measure`] times them in this order.
pub const PAIRS: &[Pair] = &[
    Pair { core_row: "calls/just_add/core", raw_row: "calls/just_add/typed" },
    Pair { core_row: "calls/nop/core", raw_row: "calls/nop/typed" },
    Pair { core_row: "callbacks/trigger_host_calls/core", raw_row: "callbacks/trigger_host_calls/raw" },
    Pair { core_row: "structs/point_add/core", raw_row: "structs/point_add/memcpy" },
    Pair { core_row: "structs/point_write_read/core", raw_row: "structs/point_write_read/raw" },
];

/// One interleaved measurement of one pair, as a child process reports it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sample {
    pub profile: String,
    /// Index into [`PAIRS`].
    pub pair: usize,
    pub paired: Paired,
}

/// Measures every pair under `profile` at [`PLACEMENTS`] fresh pairs of stores (the child's work). Each
/// operation is a closure of its own, so the timing loop inlines it as the loops of the criterion rows do.
pub fn measure(profile: EngineProfile) -> Vec<Sample> {
    // Allocated one after another, so each placement's stores, instances and code sit at different addresses.
    let mut placements: Vec<(Box<RawBench>, Box<CoreBench>)> = (0..PLACEMENTS)
        .map(|_| (Box::new(RawBench::new(profile)), Box::new(CoreBench::new(profile, HostFuncStyle::Typed))))
        .collect();
    let mut samples = Vec::new();
    let mut out = Timed { profile, placements: &mut placements, samples: &mut samples };
    // In the order of `PAIRS`.
    out.time(
        0,
        |c| {
            black_box(ops::core_just_add(c));
        },
        |r| {
            black_box(ops::raw_just_add(r));
        },
    );
    out.time(1, ops::core_nop, ops::raw_nop);
    out.time(2, ops::core_trigger, ops::raw_trigger);
    out.time(
        3,
        |c| {
            black_box(ops::core_point_add(c));
        },
        |r| {
            black_box(ops::raw_point_add_memcpy(r));
        },
    );
    out.time(
        4,
        |c| {
            black_box(ops::core_point_write_read(c));
        },
        |r| {
            black_box(ops::raw_point_write_read(r));
        },
    );
    assert_eq!(samples.len(), PAIRS.len() * PLACEMENTS, "every pair is timed at every placement");
    samples
}

struct Timed<'a> {
    profile: EngineProfile,
    placements: &'a mut [(Box<RawBench>, Box<CoreBench>)],
    samples: &'a mut Vec<Sample>,
}

impl Timed<'_> {
    fn time(&mut self, pair: usize, mut core_op: impl FnMut(&mut CoreBench), mut raw_op: impl FnMut(&mut RawBench)) {
        for (raw, core) in self.placements.iter_mut() {
            let (raw, core) = (&mut **raw, &mut **core);
            let paired = paired::compare(|| core_op(core), || raw_op(raw), BLOCK, ROUNDS);
            self.samples.push(Sample { profile: self.profile.name().to_string(), pair, paired });
        }
    }
}

/// One pair under one profile, summarised over every process and placement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverheadCheck {
    pub profile: String,
    pub core_row: String,
    pub raw_row: String,
    /// How many interleaved measurements (processes times placements) this summarises.
    pub measurements: usize,
    /// Medians over the measurements of the time per operation, in nanoseconds.
    pub core_ns: f64,
    pub raw_ns: f64,
    /// Median over the measurements of `core time / raw time - 1`: how much slower (positive) or faster
    /// (negative) the core is.
    pub overhead: f64,
    /// The smallest and largest of those per-measurement values: the spread the layout makes.
    pub lowest: f64,
    pub highest: f64,
    pub within_limit: bool,
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 { values[n / 2] } else { (values[n / 2 - 1] + values[n / 2]) / 2.0 }
}

/// One [`OverheadCheck`] per profile (in `profiles` order) and pair (in [`PAIRS`] order) that has samples.
pub fn summarise(profiles: &[&str], samples: &[Sample]) -> Vec<OverheadCheck> {
    let mut checks = Vec::new();
    for profile in profiles {
        for (index, pair) in PAIRS.iter().enumerate() {
            let mine: Vec<&Paired> =
                samples.iter().filter(|s| s.profile == *profile && s.pair == index).map(|s| &s.paired).collect();
            if mine.is_empty() {
                continue;
            }
            let mut ratios: Vec<f64> = mine.iter().map(|p| p.median_ratio - 1.0).collect();
            let mut core: Vec<f64> = mine.iter().map(|p| p.first_ns).collect();
            let mut raw: Vec<f64> = mine.iter().map(|p| p.second_ns).collect();
            let overhead = median(&mut ratios);
            checks.push(OverheadCheck {
                profile: profile.to_string(),
                core_row: pair.core_row.to_string(),
                raw_row: pair.raw_row.to_string(),
                measurements: mine.len(),
                core_ns: median(&mut core),
                raw_ns: median(&mut raw),
                overhead,
                lowest: ratios[0],
                highest: ratios[ratios.len() - 1],
                within_limit: overhead <= rows::OVERHEAD_LIMIT,
            });
        }
    }
    checks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(profile: &str, pair: usize, ratio: f64) -> Sample {
        let paired = Paired {
            median_ratio: ratio,
            q1_ratio: ratio,
            q3_ratio: ratio,
            first_ns: 10.0 * ratio,
            second_ns: 10.0,
            rounds: 1,
            ops_per_block: 1,
        };
        Sample { profile: profile.to_string(), pair, paired }
    }

    #[test]
    fn every_pair_names_rows_of_the_list() {
        for pair in PAIRS {
            for id in [pair.core_row, pair.raw_row] {
                assert!(rows::find(id).is_some(), "the pair names `{id}`, which is no row of `rows::ROWS`");
            }
        }
    }

    #[test]
    fn the_check_is_the_median_over_measurements_with_their_range() {
        let samples = [
            sample("winch", 1, 1.10),
            sample("winch", 1, 0.96),
            sample("winch", 1, 1.02),
            sample("winch", 1, 1.04),
            sample("cranelift", 1, 1.2),
            sample("winch", 0, 1.5),
        ];
        let checks = summarise(&["winch"], &samples);
        assert_eq!(checks.len(), 2, "{checks:?}");
        let nop = &checks[1];
        assert_eq!((nop.core_row.as_str(), nop.raw_row.as_str()), ("calls/nop/core", "calls/nop/typed"));
        assert_eq!(nop.measurements, 4);
        assert!((nop.overhead - 0.03).abs() < 1e-9, "{nop:?}");
        assert!((nop.lowest + 0.04).abs() < 1e-9 && (nop.highest - 0.10).abs() < 1e-9, "{nop:?}");
        assert!(nop.within_limit);
        assert!((nop.raw_ns - 10.0).abs() < 1e-9 && (nop.core_ns - 10.3).abs() < 1e-9, "{nop:?}");
        assert!(!checks[0].within_limit, "a single +50% measurement is over the limit: {:?}", checks[0]);
    }
}
