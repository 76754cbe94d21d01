//! The payload sweep of a plugin's request (`--request`): one input's size varied from 8 bytes to 16 MiB, the whole
//! request timed at each size under each profile, and a straight line fitted to the times, `t = fixed + per_byte *
//! n`, with a 95% interval on each: what the request costs before any byte, and what each byte adds. There is no
//! native floor for a user's work, so the fit is the figure. It is fitted three times: over every size, and over the
//! sizes up to 256 KiB and from 256 KiB, where the bytes stop fitting the caches and the cost per byte changes.
//!
//! Each point is the median of several batches. The fit weighs each point by the inverse square of its time, so that
//! it minimises relative error: unweighted, the largest sizes would decide the fixed cost alone.

use super::methods::{self as payload, LARGE, LARGE_PROFILES, SIZES};
use crate::guard::{self, OrStop};
use crate::ops::plugin::PreparedRequest;
use crate::record::Environment;
use boundary_host::EngineProfile;
use boundary_host::plugin::{InputBytes, Request};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;

/// A cache regime of a sweep: the sizes whose bytes, twice over (a source and a copy: the host's buffer and the
/// guest's memory, or native Rust's two buffers), fit in one level of this machine's data cache and not in the one
/// below it. The line of time against size bends where the bytes leave a cache, so each regime gets its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Regime {
    /// `L1d`, `L2`, `L3`, or `memory` past the last cache.
    pub name: String,
    /// The cache's size in bytes (0 for `memory`).
    pub cache_bytes: usize,
    /// The sizes in the regime: larger than `above`, at most `up_to`.
    pub above: usize,
    pub up_to: usize,
    /// Where the cache's size came from: `sysfs`, or `assumed` where Linux did not say.
    pub source: String,
}

impl Regime {
    pub fn holds(&self, bytes: usize) -> bool {
        bytes > self.above && bytes <= self.up_to
    }

    /// `L1d (8 B to 16 KiB)`.
    pub fn label(&self) -> String {
        let name = super::methods::size_name;
        match self.name.as_str() {
            "memory" => format!("memory (above {})", name(self.above)),
            _ => format!("{} (to {})", self.name, name(self.up_to)),
        }
    }
}

/// This machine's data caches (cpu0's, as Linux lists them under `/sys/devices/system/cpu/cpu0/cache`), each as the
/// regime of the sizes it holds twice over; then `memory`. A level Linux does not list is assumed (32 KiB, 1 MiB,
/// 32 MiB), and says so.
pub fn regimes() -> Vec<Regime> {
    let dir = Path::new("/sys/devices/system/cpu/cpu0/cache");
    let read =
        |index: &Path, field: &str| std::fs::read_to_string(index.join(field)).ok().map(|s| s.trim().to_string());
    let mut caches: Vec<(u32, usize)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let index = entry.path();
            let level: u32 = read(&index, "level")?.parse().ok()?;
            let kind = read(&index, "type")?;
            let size = parse_cache_size(&read(&index, "size")?)?;
            (kind == "Data" || kind == "Unified").then_some((level, size))
        })
        .collect();
    caches.sort_unstable();
    let mut regimes = Vec::new();
    let mut above = 0;
    for (level, assumed) in [(1u32, 32usize << 10), (2, 1 << 20), (3, 32 << 20)] {
        let (bytes, source) = match caches.iter().find(|(l, _)| *l == level) {
            Some(&(_, bytes)) => (bytes, "sysfs"),
            None => (assumed, "assumed"),
        };
        let up_to = (bytes / 2).max(above);
        let name = if level == 1 { "L1d".to_string() } else { format!("L{level}") };
        regimes.push(Regime { name, cache_bytes: bytes, above, up_to, source: source.to_string() });
        above = up_to;
    }
    regimes.push(Regime { name: "memory".into(), cache_bytes: 0, above, up_to: usize::MAX, source: String::new() });
    regimes
}

/// A cache size as sysfs writes it (`32K`, `1024K`, `2M`), in bytes.
fn parse_cache_size(text: &str) -> Option<usize> {
    let (digits, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let n: usize = digits.parse().ok()?;
    match unit {
        "" => Some(n),
        "K" => Some(n << 10),
        "M" => Some(n << 20),
        "G" => Some(n << 30),
        _ => None,
    }
}

/// One timed size.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    pub profile: String,
    pub bytes: usize,
    pub ns: f64,
}

/// A line fitted to some of the points of one row under one profile.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Fit {
    /// The row fitted (a payload method or native floor; `request` for a plugin's request).
    #[serde(default)]
    pub row: String,
    pub profile: String,
    /// Which sizes: `all`, or a [`Regime`]'s name.
    pub regime: String,
    pub points: usize,
    pub fixed_ns: f64,
    /// Half the width of the 95% interval of `fixed_ns`.
    pub fixed_ns_95: f64,
    pub per_byte_ns: f64,
    pub per_byte_ns_95: f64,
}

/// Student's t at 97.5% for `dof` degrees of freedom (1 to 10, then the normal's 1.96 from 30 on).
fn t_975(dof: usize) -> f64 {
    const TABLE: [f64; 10] = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228];
    match dof {
        0 => f64::INFINITY,
        1..=10 => TABLE[dof - 1],
        11..=29 => 2.1,
        _ => 1.96,
    }
}

/// The weighted least-squares line through `(n, t)` with weights `1/t^2`, and the 95% half-intervals of its two
/// coefficients; `None` for fewer than three points or sizes that do not vary.
pub fn fit_line(points: &[(f64, f64)]) -> Option<(f64, f64, f64, f64)> {
    if points.len() < 3 {
        return None;
    }
    let w: Vec<f64> = points.iter().map(|(_, t)| 1.0 / (t * t).max(f64::MIN_POSITIVE)).collect();
    let sw: f64 = w.iter().sum();
    let swx: f64 = points.iter().zip(&w).map(|((x, _), w)| w * x).sum();
    let swy: f64 = points.iter().zip(&w).map(|((_, y), w)| w * y).sum();
    let swxx: f64 = points.iter().zip(&w).map(|((x, _), w)| w * x * x).sum();
    let swxy: f64 = points.iter().zip(&w).map(|((x, y), w)| w * x * y).sum();
    let det = sw * swxx - swx * swx;
    if det.abs() <= f64::EPSILON * sw * swxx {
        return None;
    }
    let slope = (sw * swxy - swx * swy) / det;
    let intercept = (swy - slope * swx) / sw;
    let dof = points.len() - 2;
    let residual: f64 =
        points.iter().zip(&w).map(|((x, y), w)| w * (y - intercept - slope * x).powi(2)).sum::<f64>() / dof as f64;
    let se_slope = (residual * sw / det).sqrt();
    let se_intercept = (residual * swxx / det).sqrt();
    let t = t_975(dof);
    Some((intercept, t * se_intercept, slope, t * se_slope))
}

/// The lines through the points `(bytes, ns)` of `row` under `profile`: one per regime with at least three sizes, and
/// with `all` one over every size too.
pub fn fits(row: &str, profile: &str, points: &[(usize, f64)], regimes: &[Regime], all: bool) -> Vec<Fit> {
    let all_sizes = Regime { name: "all".into(), cache_bytes: 0, above: 0, up_to: usize::MAX, source: String::new() };
    std::iter::once(&all_sizes)
        .filter(|_| all)
        .chain(regimes)
        .filter_map(|regime| {
            let chosen: Vec<(f64, f64)> =
                points.iter().filter(|(n, _)| regime.holds(*n)).map(|&(n, ns)| (n as f64, ns)).collect();
            let (fixed, fixed_95, per_byte, per_byte_95) = fit_line(&chosen)?;
            Some(Fit {
                row: row.to_string(),
                profile: profile.to_string(),
                regime: regime.name.clone(),
                points: chosen.len(),
                fixed_ns: fixed,
                fixed_ns_95: fixed_95,
                per_byte_ns: per_byte,
                per_byte_ns_95: per_byte_95,
            })
        })
        .collect()
}

/// The sweep's record.
#[derive(Debug, Clone, Serialize)]
pub struct SweepRecord {
    pub environment: Environment,
    pub request: String,
    pub varied_input: String,
    pub regimes: Vec<Regime>,
    pub points: Vec<Point>,
    pub fits: Vec<Fit>,
}

/// Sweeps input `varied` of `request` over `sizes` under each profile (the sizes past [`LARGE`] under
/// [`LARGE_PROFILES`] only), each point the median of `rounds` batches of `batch`.
pub fn sweep(
    request: &Request,
    wasm: &boundary_host::Wasm,
    varied: usize,
    profiles: &[EngineProfile],
    (batch, rounds): (Duration, usize),
    sizes: &[usize],
    regimes: &[Regime],
) -> Result<(Vec<Point>, Vec<Fit>), String> {
    let mut points = Vec::new();
    for &profile in profiles {
        let engine = profile.engine().map_err(|e| e.to_string())?;
        let what = format!("setting up the request under `{profile}` (a trial request, checked)");
        let mut prepared = guard::step(&what, || {
            PreparedRequest::new(profile, &engine, wasm, request, guard::host_options()).or_stop()
        });
        let name = &request.inputs[varied].name;
        for &n in sizes.iter().filter(|&&n| n <= LARGE || LARGE_PROFILES.contains(&profile)) {
            prepared.inputs[varied] = boundary_host::plugin::input_bytes(
                &request.with_input(varied, InputBytes::Generated { size: n as u64, seed: 1 }),
                varied,
            );
            let what = format!("the request under `{profile}` with input `{name}` of {n} bytes");
            let ns = payload::time(&what, || prepared.serve().or_stop().output.len() as u64, batch, rounds);
            points.push(Point { profile: profile.name().to_string(), bytes: n, ns });
        }
        println!("{profile}: done");
    }
    let fits = profiles
        .iter()
        .flat_map(|p| {
            let mine: Vec<(usize, f64)> =
                points.iter().filter(|q| q.profile == p.name()).map(|q| (q.bytes, q.ns)).collect();
            fits("request", p.name(), &mine, regimes, true)
        })
        .collect();
    Ok((points, fits))
}

/// The sizes of the sweep.
pub fn sizes(measuring: bool) -> Vec<usize> {
    if measuring { SIZES.to_vec() } else { vec![SIZES[0], 8 << 10] }
}

/// The regimes as a sentence's list: `L1d to 16 KiB, L2 to 512 KiB, ...` with where each cache size came from.
pub fn regimes_text(regimes: &[Regime]) -> String {
    regimes
        .iter()
        .map(|r| match r.source.as_str() {
            "" | "sysfs" => r.label(),
            source => format!("{}, its cache {source}", r.label()),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `value ± half` with as many decimals as the interval's two leading digits need: the precision the fit has.
pub fn with_interval(value: f64, half: f64) -> String {
    let decimals =
        if half > 0.0 && half.is_finite() { (1.0 - half.log10().floor()).clamp(0.0, 9.0) as usize } else { 4 };
    format!("{value:.decimals$} ± {half:.decimals$}")
}

fn ns_text(ns: f64) -> String {
    crate::record::format_ns(ns)
}

impl SweepRecord {
    /// The record as markdown: the fits, then every point.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!("# Payload sweep of a request, {}\n\n", self.environment.date));
        out.push_str(&format!(
            "The request `{}`, its input `{}` varied from 8 bytes to 16 MiB (generated bytes), timed whole on one \
             instance: allocate, copy in, call, copy out, free. Each point is the median of the batches. Each line \
             `t = fixed + per_byte * n` is fitted by least squares weighted by 1/t² (relative error), with 95% \
             intervals, over every size and within each cache regime ({}). The output is not checked at the varied \
             sizes (the request's expectations hold for its own input, checked once per profile before timing).\n\n",
            self.request,
            self.varied_input,
            regimes_text(&self.regimes)
        ));
        out.push_str(
            "A regime's fixed cost is shown only for the first one: the others start far from zero bytes, where the \
             line's value says nothing of a request's fixed cost.\n\n",
        );
        out.push_str("| profile | sizes | points | fixed | per byte |\n|---|---|---:|---:|---:|\n");
        for f in &self.fits {
            let first = self.regimes.first().is_some_and(|r| r.name == f.regime);
            let fixed = if f.regime != "all" && !first {
                "-".to_string()
            } else {
                format!("{} ± {}", ns_text(f.fixed_ns), ns_text(f.fixed_ns_95))
            };
            let per_byte = with_interval(f.per_byte_ns, f.per_byte_ns_95);
            out.push_str(&format!("| {} | {} | {} | {fixed} | {per_byte} ns |\n", f.profile, f.regime, f.points));
        }
        out.push_str("\n| profile | bytes | time |\n|---|---:|---:|\n");
        for p in &self.points {
            out.push_str(&format!("| {} | {} | {} |\n", p.profile, super::methods::size_name(p.bytes), ns_text(p.ns)));
        }
        out
    }

    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("sweep.md"), self.markdown())?;
        let json = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(dir.join("sweep.json"), json)
    }
}

#[cfg(test)]
mod tests {
    use super::{Regime, fit_line, fits, parse_cache_size, regimes};

    #[test]
    fn cache_sizes_are_read_as_sysfs_writes_them_and_regimes_cover_every_size_once() {
        assert_eq!(parse_cache_size("32K"), Some(32 << 10));
        assert_eq!(parse_cache_size("2M"), Some(2 << 20));
        assert_eq!(parse_cache_size("512"), Some(512));
        assert_eq!(parse_cache_size("big"), None);
        let regimes = regimes();
        assert_eq!(regimes.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["L1d", "L2", "L3", "memory"]);
        for n in crate::payload::methods::SIZES {
            assert_eq!(regimes.iter().filter(|r| r.holds(n)).count(), 1, "{n} bytes");
        }
    }

    #[test]
    fn each_regime_gets_its_own_line_from_three_sizes() {
        let regimes = vec![
            Regime { name: "small".into(), cache_bytes: 64, above: 0, up_to: 32, source: "assumed".into() },
            Regime { name: "large".into(), cache_bytes: 0, above: 32, up_to: usize::MAX, source: String::new() },
        ];
        // 10 ns and 1 ns per byte up to 32 bytes; 2 ns per byte beyond; only two sizes beyond.
        let points: Vec<(usize, f64)> =
            [8, 16, 32, 64, 128].iter().map(|&n| (n, if n <= 32 { 10.0 + n as f64 } else { 2.0 * n as f64 })).collect();
        let lines = fits("row", "p", &points, &regimes, true);
        assert_eq!(lines.iter().map(|f| f.regime.as_str()).collect::<Vec<_>>(), ["all", "small"]);
        let small = &lines[1];
        assert!((small.fixed_ns - 10.0).abs() < 1e-9 && (small.per_byte_ns - 1.0).abs() < 1e-9, "{small:?}");
        assert_eq!((small.row.as_str(), small.profile.as_str(), small.points), ("row", "p", 3));
    }

    #[test]
    fn a_line_is_recovered_with_intervals_that_hold_it() {
        let exact: Vec<(f64, f64)> =
            [8.0, 64.0, 512.0, 4096.0, 32768.0].iter().map(|&n| (n, 100.0 + 0.5 * n)).collect();
        let (fixed, fixed_95, per_byte, per_byte_95) = fit_line(&exact).unwrap();
        assert!((fixed - 100.0).abs() < 1e-6 && (per_byte - 0.5).abs() < 1e-9, "{fixed} {per_byte}");
        assert!(fixed_95 < 1e-6 && per_byte_95 < 1e-9);
        // 5% noise either way: the truth lies inside the intervals, which are no longer zero.
        let noisy: Vec<(f64, f64)> =
            exact.iter().enumerate().map(|(i, &(n, t))| (n, t * if i % 2 == 0 { 1.05 } else { 0.95 })).collect();
        let (fixed, fixed_95, per_byte, per_byte_95) = fit_line(&noisy).unwrap();
        assert!(fixed_95 > 0.0 && (fixed - 100.0).abs() <= fixed_95, "{fixed} ± {fixed_95}");
        assert!(per_byte_95 > 0.0 && (per_byte - 0.5).abs() <= per_byte_95, "{per_byte} ± {per_byte_95}");
        assert!(fit_line(&exact[..2]).is_none());
    }
}
