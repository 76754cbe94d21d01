//! The payload sweep's record (`cargo bench --bench payload`): `payload.md`, `payload.json`, `throughput.svg` and
//! `environment.json` in a run's folder, and the top-level README's payload block, written from the newest record.

use crate::payload::fit::{self, Fit, Regime, with_interval};
use crate::payload::methods::{LARGE, LARGE_PROFILES, Method, Native, SIZES, floor_of, size_name};
use crate::record::{Environment, format_ns};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::Path;

/// One row at one size under one profile: the median time of one iteration over the rounds, and the fastest and
/// slowest round. A native row runs in each profile's rounds and carries that profile (records of schema 2 and
/// before timed the native rows once, before any profile, with no profile, and kept no range).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cell {
    pub row: String,
    pub profile: Option<String>,
    pub bytes: usize,
    pub ns: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_ns: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ns: Option<f64>,
}

/// One sweep.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub environment: Environment,
    /// How many rounds each cell was timed in (0 in records that did not say).
    #[serde(default)]
    pub rounds: usize,
    /// The cache regimes the lines are fitted within (empty in records before schema 3: [`fit::regimes`] of the
    /// machine reading them is used then).
    #[serde(default)]
    pub regimes: Vec<Regime>,
    pub cells: Vec<Cell>,
    /// A line per row, profile and regime (empty in records before schema 3: fitted from the cells when read).
    #[serde(default)]
    pub fits: Vec<Fit>,
}

/// What a crossing costs beyond its native floor in one regime: the differences of the two lines, with their
/// intervals combined as independent ones (the root of the sum of their squares).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Excess {
    pub fixed_ns: f64,
    pub fixed_ns_95: f64,
    pub per_byte_ns: f64,
    pub per_byte_ns_95: f64,
}

/// A fixed cost with its interval, in nanoseconds.
fn fixed_text(ns: f64, half: f64) -> String {
    format!("{} ns", with_interval(ns, half))
}

/// A cost per byte with its interval, in picoseconds per byte.
fn per_byte_text(ns: f64, half: f64) -> String {
    format!("{} ps/B", with_interval(ns * 1e3, half * 1e3))
}

impl Record {
    /// A record of `cells`, its lines fitted within `regimes`.
    pub fn new(environment: Environment, rounds: usize, regimes: Vec<Regime>, cells: Vec<Cell>) -> Self {
        let mut record = Record { environment, rounds, regimes, cells, fits: Vec::new() };
        record.fits = record.fitted();
        record
    }

    /// The record as read: a record before schema 3 gets this machine's regimes and its lines fitted now.
    fn completed(mut self) -> Self {
        if self.regimes.is_empty() {
            self.regimes = fit::regimes();
        }
        if self.fits.is_empty() {
            self.fits = self.fitted();
        }
        self
    }

    /// A line through every row's medians under every profile, within each regime.
    fn fitted(&self) -> Vec<Fit> {
        let mut lines = Vec::new();
        for profile in self.profiles() {
            let rows = Native::ALL.iter().map(|n| n.id()).chain(Method::ALL.iter().map(|m| m.id()));
            for row in rows {
                let points: Vec<(usize, f64)> =
                    SIZES.iter().filter_map(|&n| Some((n, self.time(row, &profile, n)?))).collect();
                lines.extend(fit::fits(row, &profile, &points, &self.regimes, false));
            }
        }
        lines
    }

    /// The cell of `row` at `bytes` under `profile`; a native row's from the profile's rounds, or the one timed
    /// before every profile in an older record.
    pub fn cell(&self, row: &str, profile: &str, bytes: usize) -> Option<&Cell> {
        let at =
            |p: Option<&str>| self.cells.iter().find(|c| c.row == row && c.profile.as_deref() == p && c.bytes == bytes);
        at(Some(profile)).or_else(|| at(None).filter(|c| c.row.starts_with("native/")))
    }

    /// The median time of `row` at `bytes` under `profile`.
    pub fn time(&self, row: &str, profile: &str, bytes: usize) -> Option<f64> {
        self.cell(row, profile, bytes).map(|c| c.ns)
    }

    pub fn fit(&self, row: &str, profile: &str, regime: &str) -> Option<&Fit> {
        self.fits.iter().find(|f| f.row == row && f.profile == profile && f.regime == regime)
    }

    /// What `method` under `profile` costs beyond its native floor within `regime`, where both have a line.
    pub fn excess(&self, method: Method, profile: &str, regime: &str) -> Option<Excess> {
        let (m, n) = (self.fit(method.id(), profile, regime)?, self.fit(floor_of(method).id(), profile, regime)?);
        Some(Excess {
            fixed_ns: m.fixed_ns - n.fixed_ns,
            fixed_ns_95: m.fixed_ns_95.hypot(n.fixed_ns_95),
            per_byte_ns: m.per_byte_ns - n.per_byte_ns,
            per_byte_ns_95: m.per_byte_ns_95.hypot(n.per_byte_ns_95),
        })
    }

    /// The regimes that have a line for some row.
    fn fitted_regimes(&self) -> Vec<&Regime> {
        self.regimes.iter().filter(|r| self.fits.iter().any(|f| f.regime == r.name)).collect()
    }

    pub fn write(&self, dir: &Path) -> io::Result<()> {
        fs::create_dir_all(dir)?;
        fs::write(dir.join("payload.md"), self.markdown())?;
        fs::write(dir.join("payload.json"), serde_json::to_string_pretty(self).map_err(io::Error::other)? + "\n")?;
        fs::write(dir.join("throughput.svg"), self.svg())?;
        let env = serde_json::to_string_pretty(&self.environment).map_err(io::Error::other)?;
        fs::write(dir.join("environment.json"), env + "\n")?;
        Ok(())
    }

    fn profiles(&self) -> Vec<String> {
        let mut profiles: Vec<String> = Vec::new();
        for c in self.cells.iter().filter(|c| !c.row.starts_with("native/")) {
            if let Some(p) = &c.profile
                && !profiles.contains(p)
            {
                profiles.push(p.clone());
            }
        }
        profiles
    }

    /// The table of what each method costs beyond its floor under `profile`, and the floors' own lines.
    fn excess_table(&self, profile: &str) -> String {
        let regimes = self.fitted_regimes();
        let mut md = String::new();
        let _ = writeln!(
            md,
            "| method | fixed cost beyond native | {} |",
            regimes.iter().map(|r| format!("per byte beyond native, {}", r.label())).collect::<Vec<_>>().join(" | ")
        );
        let _ = writeln!(md, "|---|---:|{}", "---:|".repeat(regimes.len()));
        let first = regimes.first().map(|r| r.name.as_str()).unwrap_or("");
        for m in Method::ALL {
            if self.fits.iter().all(|f| f.row != m.id() || f.profile != profile) {
                continue;
            }
            let fixed = self.excess(m, profile, first).map_or("-".into(), |e| fixed_text(e.fixed_ns, e.fixed_ns_95));
            let per_byte: Vec<String> = regimes
                .iter()
                .map(|r| {
                    self.excess(m, profile, &r.name)
                        .map_or("-".into(), |e| per_byte_text(e.per_byte_ns, e.per_byte_ns_95))
                })
                .collect();
            let _ = writeln!(md, "| `{}` | {fixed} | {} |", m.id(), per_byte.join(" | "));
        }
        for n in [Native::CopyChecksum, Native::FillCopy, Native::Memcpy] {
            let fixed = self.fit(n.id(), profile, first).map_or("-".into(), |f| fixed_text(f.fixed_ns, f.fixed_ns_95));
            let per_byte: Vec<String> = regimes
                .iter()
                .map(|r| {
                    self.fit(n.id(), profile, &r.name).map_or("-".into(), |f| {
                        let rate = if f.per_byte_ns > 0.0 {
                            format!(" ({:.1} GB/s)", 1.0 / f.per_byte_ns)
                        } else {
                            String::new()
                        };
                        format!("{}{rate}", per_byte_text(f.per_byte_ns, f.per_byte_ns_95))
                    })
                })
                .collect();
            let _ = writeln!(md, "| `{}` (itself) | {fixed} | {} |", n.id(), per_byte.join(" | "));
        }
        md
    }

    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let env = &self.environment;
        let _ = writeln!(md, "# Bytes across the boundary, {}\n", env.date);
        let _ = writeln!(md, "Generated by `benches/src/payload/record.rs`; do not edit by hand.\n");
        let rounds = if self.rounds > 0 { format!("{} rounds", self.rounds) } else { "several batches".to_string() };
        let _ = writeln!(
            md,
            "Each time is one iteration of a row: the whole crossing and the work on every byte (methods), or native \
             Rust doing the same copy and work (`native/copy_checksum` for bytes going in, `native/fill_copy` for \
             bytes coming out: each method's floor) or a plain copy (`native/memcpy`). At each size, every row of one \
             profile is timed in {rounds}, one batch of each per round in an order shuffled each round; a time is \
             the median of its rounds. Sizes above {} are measured under {} only.\n",
            size_name(LARGE),
            LARGE_PROFILES.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ")
        );
        let _ = writeln!(md, "## Methods\n");
        for m in Method::ALL {
            let _ = writeln!(md, "- `{}`: {}", m.id(), m.what());
        }
        for n in Native::ALL {
            let _ = writeln!(md, "- `{}`: {}", n.id(), n.what());
        }
        let _ = writeln!(
            md,
            "\n## What a crossing costs beyond native\n\nFor each row a line `t = fixed + per_byte × n` is fitted \
             through its medians within each cache regime ({}): least squares weighted by 1/t² (relative error), with \
             95% intervals from the fit's residuals. A method's cost beyond native is its line less its floor's (timed \
             in the same rounds): the difference of the fixed costs in the first regime (the others start far from \
             zero bytes, where a line's value says nothing of a fixed cost), and of the costs per byte in each \
             regime, the two intervals combined as independent ones. An excess whose interval holds zero is none \
             that this run can tell. The floors' own lines follow each table.\n",
            fit::regimes_text(&self.regimes)
        );
        for profile in self.profiles() {
            let _ = writeln!(md, "### `{profile}`\n\n{}", self.excess_table(&profile));
        }
        let _ = writeln!(
            md,
            "## Times by size\n\nThe median time of one iteration; in brackets, for a method, that time divided by \
             its floor's at the same size. The widest range of each profile's rounds is named under its table.\n"
        );
        for profile in self.profiles() {
            let rows: Vec<&str> =
                Native::ALL.iter().map(|n| n.id()).chain(Method::ALL.iter().map(|m| m.id())).collect();
            let _ = writeln!(md, "### `{profile}`\n");
            let _ =
                writeln!(md, "| size | {} |", rows.iter().map(|r| format!("`{r}`")).collect::<Vec<_>>().join(" | "));
            let _ = writeln!(md, "|---|{}", "---:|".repeat(rows.len()));
            let mut widest: Option<(f64, String)> = None;
            for &n in &SIZES {
                let cells: Vec<String> = rows
                    .iter()
                    .map(|row| {
                        let Some(cell) = self.cell(row, &profile, n) else { return "-".to_string() };
                        if let (Some(lo), Some(hi)) = (cell.min_ns, cell.max_ns) {
                            let range = (hi - lo) / cell.ns;
                            if widest.as_ref().is_none_or(|(w, _)| range > *w) {
                                let what =
                                    format!("`{row}` at {}: {} to {}", size_name(n), format_ns(lo), format_ns(hi));
                                widest = Some((range, what));
                            }
                        }
                        let floor = Method::ALL
                            .iter()
                            .find(|m| m.id() == *row)
                            .and_then(|m| self.time(floor_of(*m).id(), &profile, n));
                        match floor {
                            Some(floor) => format!("{} ({:.2}×)", format_ns(cell.ns), cell.ns / floor),
                            None => format_ns(cell.ns),
                        }
                    })
                    .collect();
                if cells.iter().any(|c| c != "-") {
                    let _ = writeln!(md, "| {} | {} |", size_name(n), cells.join(" | "));
                }
            }
            if let Some((range, what)) = widest {
                let _ = writeln!(md, "\nWidest range over the rounds: {what} ({:.0}% of its median).\n", range * 100.0);
            } else {
                md.push('\n');
            }
        }
        let _ = writeln!(
            md,
            "## Every line\n\n| row | profile | regime | sizes | fixed | per byte |\n|---|---|---|---:|---:|---:|"
        );
        for f in &self.fits {
            let _ = writeln!(
                md,
                "| `{}` | `{}` | {} | {} | {} | {} |",
                f.row,
                f.profile,
                f.regime,
                f.points,
                fixed_text(f.fixed_ns, f.fixed_ns_95),
                per_byte_text(f.per_byte_ns, f.per_byte_ns_95)
            );
        }
        let _ = write!(md, "\n{}", env.markdown("the project's quiet guest and component"));
        md
    }

    /// Bytes per second against size, log-log: one line per method under `cranelift`, and the native rows, the
    /// `memcpy` ceiling dashed.
    pub fn svg(&self) -> String {
        let (left, top, w, h) = (80.0, 50.0, 640.0, 380.0);
        let width = left + w + 230.0;
        let height = top + h + 60.0;
        let (x_lo, x_hi) = ((SIZES[0] as f64).log10(), (SIZES[SIZES.len() - 1] as f64).log10());
        let (y_lo, y_hi) = (6.0f64, 11.0f64);
        let x = |bytes: usize| left + ((bytes as f64).log10() - x_lo) / (x_hi - x_lo) * w;
        let y = |per_second: f64| top + h - ((per_second.max(1.0).log10() - y_lo) / (y_hi - y_lo)).clamp(0.0, 1.0) * h;
        let mut svg = String::new();
        let _ = writeln!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
        let _ = writeln!(
            svg,
            r#"<text x="10" y="22" font-size="15" font-weight="bold">Bytes per second across the boundary by size (cranelift)</text>"#
        );
        for e in 6..=11 {
            let gy = y(10f64.powi(e));
            let label = match e {
                6 => "1 MB/s",
                7 => "10 MB/s",
                8 => "100 MB/s",
                9 => "1 GB/s",
                10 => "10 GB/s",
                _ => "100 GB/s",
            };
            let _ = writeln!(
                svg,
                r##"<line x1="{left}" y1="{gy}" x2="{}" y2="{gy}" stroke="#ddd"/><text x="{}" y="{}" text-anchor="end" fill="#444">{label}</text>"##,
                left + w,
                left - 6.0,
                gy + 4.0
            );
        }
        for &n in SIZES.iter().filter(|n| n.is_power_of_two() && n.trailing_zeros() % 2 == 1) {
            let gx = x(n);
            let _ = writeln!(
                svg,
                r##"<line x1="{gx}" y1="{top}" x2="{gx}" y2="{}" stroke="#eee"/><text x="{gx}" y="{}" text-anchor="middle" fill="#444" font-size="10">{}</text>"##,
                top + h,
                top + h + 16.0,
                size_name(n)
            );
        }
        let colours =
            ["#204a87", "#3465a4", "#729fcf", "#4e9a06", "#73d216", "#8ae234", "#a40000", "#cc0000", "#f57900"];
        let mut lines: Vec<Line> = Vec::new();
        for (m, colour) in Method::ALL.iter().zip(colours) {
            let points = SIZES.iter().filter_map(|&n| Some((n, self.time(m.id(), "cranelift", n)?))).collect();
            lines.push(Line { name: m.id(), colour, dash: "", points });
        }
        for (row, colour, dash) in [
            (Native::CopyChecksum, "#555753", "2 3"),
            (Native::FillCopy, "#888a85", "5 3"),
            (Native::Memcpy, "#000000", "9 4"),
        ] {
            let points = SIZES.iter().filter_map(|&n| Some((n, self.time(row.id(), "cranelift", n)?))).collect();
            lines.push(Line { name: row.id(), colour, dash, points });
        }
        for (i, Line { name, colour, dash, points }) in lines.iter().enumerate() {
            let path: Vec<String> =
                points.iter().map(|(n, ns)| format!("{:.1},{:.1}", x(*n), y(*n as f64 / ns * 1e9))).collect();
            let dash = if dash.is_empty() { String::new() } else { format!(r#" stroke-dasharray="{dash}""#) };
            let _ = writeln!(
                svg,
                r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>"#,
                path.join(" ")
            );
            let ly = top + 14.0 * i as f64;
            let _ = writeln!(
                svg,
                r#"<line x1="{}" y1="{ly}" x2="{}" y2="{ly}" stroke="{colour}" stroke-width="2"{dash}/><text x="{}" y="{}" font-size="11">{name}</text>"#,
                left + w + 16.0,
                left + w + 40.0,
                left + w + 46.0,
                ly + 4.0
            );
        }
        svg.push_str("</svg>\n");
        svg
    }
}

/// One line of the chart: a row's bytes per second under `cranelift` (or natively) at each size it has.
struct Line {
    name: &'static str,
    colour: &'static str,
    /// An SVG `stroke-dasharray`, or empty for a solid line.
    dash: &'static str,
    /// (size, nanoseconds per iteration).
    points: Vec<(usize, f64)>,
}

/// The newest committed record under `results/payload/`.
pub fn latest(payload_dir: &Path) -> io::Result<Option<(String, Record)>> {
    Ok(crate::record::newest::<Record>(payload_dir, "payload.json")?.map(|(run, record)| (run, record.completed())))
}

const BEGIN: &str =
    "<!-- payload results: generated by benches/src/payload/record.rs; `cargo bench --bench payload` -->";
const END: &str = "<!-- end of payload results -->";

/// The README's payload block: under `cranelift`, what each method costs beyond its native floor (fixed, and per
/// byte in each cache regime), and the floors' and `memcpy`'s own cost per byte; then the chart.
pub fn readme_block(run: &str, record: &Record) -> String {
    let env = &record.environment;
    let mut md = String::new();
    let _ = writeln!(
        md,
        "From [`results/payload/{run}/`](results/payload/{run}/payload.md) ({}, {} cores; `{}`, {}), under \
         `cranelift`: what moving the bytes across costs beyond native Rust doing the same copy and work on them, \
         from lines fitted through the times within each cache regime (95% intervals; the record's \
         \"What a crossing costs beyond native\" says how). The floors' own lines follow.\n",
        env.cpu,
        env.cores,
        env.command,
        env.date.get(..10).unwrap_or(&env.date)
    );
    md.push_str(&record.excess_table("cranelift"));
    let _ = writeln!(md, "\n![Bytes per second against size](results/payload/{run}/throughput.svg)");
    md
}

/// Rewrites README's payload block from the newest record, and that record's generated files from its
/// `payload.json` if it is of this format (an older record's files are left as they were written).
pub fn write_readme_block(readme: &Path, payload_dir: &Path) -> io::Result<()> {
    let Some((run, record)) = latest(payload_dir)? else { return Ok(()) };
    if record.environment.schema >= 3 {
        record.write(&payload_dir.join(&run))?;
    }
    crate::record::write_block(readme, BEGIN, END, &readme_block(&run, &record))
}

#[cfg(test)]
mod tests {
    use super::{Cell, Record};
    use crate::payload::fit::Regime;
    use crate::payload::methods::size_name;
    use crate::payload::methods::{Method, SIZES};

    #[test]
    fn sizes_are_named_exactly() {
        assert_eq!(size_name(12), "12 B");
        assert_eq!(size_name(24 << 10), "24 KiB");
        assert_eq!(size_name(3 << 19), "1.5 MiB");
        assert_eq!(size_name(16 << 20), "16 MiB");
    }

    #[test]
    fn a_crossings_excess_is_its_line_less_its_floors() {
        let environment = crate::record::Environment::capture(std::path::Path::new("."), String::new(), String::new());
        let regimes = vec![Regime {
            name: "L1d".into(),
            cache_bytes: 1 << 20,
            above: 0,
            up_to: 1 << 20,
            source: "assumed".into(),
        }];
        let cell = |row: &str, ns: f64, n: usize| Cell {
            row: row.into(),
            profile: Some("cranelift".into()),
            bytes: n,
            ns,
            min_ns: Some(ns),
            max_ns: Some(ns),
        };
        let cells: Vec<Cell> = SIZES
            .iter()
            .filter(|&&n| n <= 1 << 20)
            .flat_map(|&n| {
                let n_f = n as f64;
                [cell("in/data_mut", 40.0 + 0.3 * n_f, n), cell("native/copy_checksum", 5.0 + 0.2 * n_f, n)]
            })
            .collect();
        let record = Record::new(environment, 5, regimes, cells);
        let excess = record.excess(Method::InDataMut, "cranelift", "L1d").expect("both rows have a line");
        assert!((excess.fixed_ns - 35.0).abs() < 1e-6 && (excess.per_byte_ns - 0.1).abs() < 1e-9, "{excess:?}");
        assert!(excess.fixed_ns_95 < 1e-6);
        assert!(record.excess(Method::OutData, "cranelift", "L1d").is_none());
        assert!(record.markdown().contains("| `in/data_mut` | 35.0"), "{}", record.markdown());
    }

    #[test]
    fn a_record_of_the_older_format_reads_with_its_lines_fitted() {
        let dir = crate::record::workspace_root().join("results").join("payload");
        if let Some((_, record)) = super::latest(&dir).unwrap() {
            assert!(!record.regimes.is_empty() && !record.fits.is_empty(), "no line fitted for {}", dir.display());
            assert!(record.excess(Method::InDataMut, "cranelift", &record.regimes[0].name).is_some());
        }
    }
}
