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
use serde::Serialize;
use std::path::Path;
use std::time::Duration;

/// Where the regimes meet.
pub const SPLIT: usize = 256 << 10;

/// One timed size.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    pub profile: String,
    pub bytes: usize,
    pub ns: f64,
}

/// A line fitted to some of the points of one profile.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Fit {
    pub profile: String,
    /// Which sizes: `all`, `small` (up to [`SPLIT`]) or `large` (from [`SPLIT`]).
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

/// The three fits of one profile's points.
pub fn fits(profile: &str, points: &[Point]) -> Vec<Fit> {
    let mine: Vec<&Point> = points.iter().filter(|p| p.profile == profile).collect();
    let regimes: [(&str, &dyn Fn(usize) -> bool); 3] =
        [("all", &|_| true), ("small", &|n| n <= SPLIT), ("large", &|n| n >= SPLIT)];
    regimes
        .iter()
        .filter_map(|(regime, keep)| {
            let chosen: Vec<(f64, f64)> =
                mine.iter().filter(|p| keep(p.bytes)).map(|p| (p.bytes as f64, p.ns)).collect();
            let (fixed, fixed_95, per_byte, per_byte_95) = fit_line(&chosen)?;
            Some(Fit {
                profile: profile.to_string(),
                regime: regime.to_string(),
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
    let fits = profiles.iter().flat_map(|p| fits(p.name(), &points)).collect();
    Ok((points, fits))
}

/// The sizes of the sweep.
pub fn sizes(measuring: bool) -> Vec<usize> {
    if measuring { SIZES.to_vec() } else { vec![SIZES[0], SIZES[5]] }
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
             intervals; the small regime is the sizes up to 256 KiB, the large one from 256 KiB. The output is \
             not checked at the varied sizes (the request's expectations hold for its own input, checked once per \
             profile before timing).\n\n",
            self.request, self.varied_input
        ));
        out.push_str(
            "The large regime's fixed cost is not shown: its sizes start at 256 KiB, so the line's value at zero \
             bytes lies far outside them and says nothing of a request's fixed cost.\n\n",
        );
        out.push_str("| profile | sizes | points | fixed | per byte |\n|---|---|---:|---:|---:|\n");
        for f in &self.fits {
            let fixed = if f.regime == "large" {
                "-".to_string()
            } else {
                format!("{} ± {}", ns_text(f.fixed_ns), ns_text(f.fixed_ns_95))
            };
            let per_byte = with_interval(f.per_byte_ns, f.per_byte_ns_95);
            out.push_str(&format!("| {} | {} | {} | {fixed} | {per_byte} ns |\n", f.profile, f.regime, f.points));
        }
        out.push_str("\n| profile | bytes | time |\n|---|---:|---:|\n");
        for p in &self.points {
            out.push_str(&format!("| {} | {} | {} |\n", p.profile, super::record::size_name(p.bytes), ns_text(p.ns)));
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
    use super::fit_line;

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
