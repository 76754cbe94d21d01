//! A paired, interleaved comparison of two operations, for the host-core-versus-raw-wasmtime check.
//!
//! Separate criterion runs of the two rows are seconds apart, and on a shared machine the speed of the machine
//! itself moves by 20-40% over seconds. Here blocks of the two operations alternate in ABBA order every few tens
//! of microseconds, so both see the same machine, and the median of the per-round ratios is what is reported.

use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// Result of [`compare`]: `first` time divided by `second` time.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Paired {
    /// Median over rounds of `time(first) / time(second)`.
    pub median_ratio: f64,
    /// First and third quartile of the per-round ratios.
    pub q1_ratio: f64,
    pub q3_ratio: f64,
    /// Median time per operation over all rounds, in nanoseconds.
    pub first_ns: f64,
    pub second_ns: f64,
    pub rounds: usize,
    pub ops_per_block: u64,
}

fn time_block(op: &mut impl FnMut(), n: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        op();
    }
    start.elapsed()
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i]
}

/// Times `first` against `second` over `rounds` ABBA rounds of blocks lasting about `block` each.
pub fn compare(mut first: impl FnMut(), mut second: impl FnMut(), block: Duration, rounds: usize) -> Paired {
    // Warm both up and size the block from the slower of the two.
    let probe = 1_000;
    let per_op = time_block(&mut first, probe).max(time_block(&mut second, probe)) / probe as u32;
    let n = (block.as_nanos() / per_op.as_nanos().max(1)).max(1) as u64;
    let mut ratios = Vec::with_capacity(rounds);
    let (mut firsts, mut seconds) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    for _ in 0..rounds {
        let a1 = time_block(&mut first, n);
        let b1 = time_block(&mut second, n);
        let b2 = time_block(&mut second, n);
        let a2 = time_block(&mut first, n);
        let (a, b) = ((a1 + a2).as_nanos() as f64, (b1 + b2).as_nanos() as f64);
        ratios.push(a / b.max(1.0));
        firsts.push(a / (2 * n) as f64);
        seconds.push(b / (2 * n) as f64);
    }
    for v in [&mut ratios, &mut firsts, &mut seconds] {
        v.sort_by(f64::total_cmp);
    }
    Paired {
        median_ratio: quantile(&ratios, 0.5),
        q1_ratio: quantile(&ratios, 0.25),
        q3_ratio: quantile(&ratios, 0.75),
        first_ns: quantile(&firsts, 0.5),
        second_ns: quantile(&seconds, 0.5),
        rounds,
        ops_per_block: n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hint::black_box;

    /// Checks direction and rough size only: this runs under `cargo test` on a shared machine, where even
    /// interleaved timings can move by half in a burst of load.
    #[test]
    fn ten_times_the_work_takes_several_times_longer() {
        let work = |n: u64| (0..n).fold(0u64, |acc, i| black_box(acc.wrapping_mul(31).wrapping_add(i)));
        let block = Duration::from_micros(200);
        let tenfold = compare(
            || {
                black_box(work(10_000));
            },
            || {
                black_box(work(1000));
            },
            block,
            51,
        );
        assert!(tenfold.median_ratio > 3.0 && tenfold.median_ratio < 30.0, "{tenfold:?}");
        let same = compare(
            || {
                black_box(work(1000));
            },
            || {
                black_box(work(1000));
            },
            block,
            51,
        );
        assert!(same.median_ratio > 0.5 && same.median_ratio < 2.0, "{same:?}");
    }
}
