//! Turns criterion's output into the matrix's committed results: a markdown table, the same data as JSON, an SVG
//! chart, the results index and README's block (the environment beside them is `crate::record`'s).

use crate::matrix::overhead::{self, OverheadCheck};
use crate::matrix::row::{self, Row};
use crate::matrix::rows::{self, OVERHEAD_LIMIT};
use crate::record::Environment;
use crate::record::{format_ns, xml};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::Path;
use std::time::SystemTime;

/// Criterion's median estimate for one benchmark.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Estimate {
    /// Median time per iteration, in nanoseconds.
    pub median_ns: f64,
    /// The bounds of criterion's confidence interval for that median.
    pub low_ns: f64,
    pub high_ns: f64,
}

#[derive(Deserialize)]
struct BenchmarkFile {
    full_id: String,
}

#[derive(Deserialize)]
struct EstimatesFile {
    median: EstimateFile,
}

#[derive(Deserialize)]
struct EstimateFile {
    point_estimate: f64,
    confidence_interval: Interval,
}

#[derive(Deserialize)]
struct Interval {
    lower_bound: f64,
    upper_bound: f64,
}

/// Reads every `new/` estimate under criterion's output directory that was written at or after `since`.
pub fn collect(criterion_dir: &Path, since: SystemTime) -> io::Result<BTreeMap<String, Estimate>> {
    let mut found = BTreeMap::new();
    let mut stack = vec![criterion_dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else { continue };
        for entry in entries {
            let path = entry?.path();
            if !path.is_dir() {
                continue;
            }
            if path.file_name().is_some_and(|n| n == "new") {
                if let Some((id, estimate)) = read_estimate(&path, since)? {
                    found.insert(id, estimate);
                }
            } else {
                stack.push(path);
            }
        }
    }
    Ok(found)
}

fn read_estimate(new_dir: &Path, since: SystemTime) -> io::Result<Option<(String, Estimate)>> {
    let estimates_path = new_dir.join("estimates.json");
    let Ok(meta) = fs::metadata(&estimates_path) else { return Ok(None) };
    if meta.modified()? < since {
        return Ok(None);
    }
    let parse_error = |path: &Path, e: serde_json::Error| io::Error::other(format!("{}: {e}", path.display()));
    let bench_path = new_dir.join("benchmark.json");
    let bench: BenchmarkFile =
        serde_json::from_str(&fs::read_to_string(&bench_path)?).map_err(|e| parse_error(&bench_path, e))?;
    let estimates: EstimatesFile =
        serde_json::from_str(&fs::read_to_string(&estimates_path)?).map_err(|e| parse_error(&estimates_path, e))?;
    let m = estimates.median;
    let estimate = Estimate {
        median_ns: m.point_estimate,
        low_ns: m.confidence_interval.lower_bound,
        high_ns: m.confidence_interval.upper_bound,
    };
    Ok(Some((bench.full_id, estimate)))
}

/// One cell of the table: a row under one profile.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cell {
    pub median_ns: f64,
    pub low_ns: f64,
    pub high_ns: f64,
    /// Median divided by the row's native floor.
    pub times_native: Option<f64>,
}

impl SummaryRow {
    /// Whether the row was meant to be measured under `profile` (a missing cell under another is "-").
    pub fn measured_under(&self, profile: &str) -> bool {
        match (&self.profiles, &self.only_profile) {
            (Some(profiles), _) => profiles.iter().any(|p| p == profile),
            (None, Some(only)) => only == profile,
            (None, None) => true,
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SummaryRow {
    pub id: String,
    pub what: String,
    pub elements: Option<u64>,
    /// The profiles the row is measured under, if it is not measured under all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profiles: Option<Vec<String>>,
    /// The same, as runs before 2026-11-30 recorded it: the one profile of a C++ row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only_profile: Option<String>,
    /// The native floor, if the row has one.
    pub native_id: Option<String>,
    pub native_ns: Option<f64>,
    /// Keyed by profile name.
    pub cells: BTreeMap<String, Cell>,
}

/// Everything written to `results/`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    pub environment: Environment,
    pub profiles: Vec<String>,
    pub natives: BTreeMap<String, Estimate>,
    pub rows: Vec<SummaryRow>,
    pub overhead_limit: f64,
    pub overhead: Vec<OverheadCheck>,
    /// The rows this run did not measure because the module cannot serve them, with the reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<SkippedRow>,
}

/// A row left out of a run, and why (the export it needs, for a user's module).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SkippedRow {
    pub id: String,
    pub why: String,
}

/// The ids this matrix registers for `rows`: each row under each of its profiles, and the natives.
pub fn expected_ids(profiles: &[&str], rows: &[Row]) -> Vec<String> {
    let mut ids: Vec<String> = rows::native::ALL.iter().map(|n| n.id.to_string()).collect();
    for row in rows {
        ids.extend(profiles.iter().filter(|p| row.measured_under(p)).map(|p| row::criterion_id(&row.id, p)));
    }
    ids
}

impl Summary {
    /// Lays out measured estimates of `rows` as the results table; `skipped` lists the rows left out.
    pub fn build(
        environment: Environment,
        profiles: &[&str],
        rows: &[Row],
        skipped: &[rows::Skipped],
        measured: &BTreeMap<String, Estimate>,
        overhead: Vec<OverheadCheck>,
    ) -> Self {
        let natives: BTreeMap<String, Estimate> =
            rows::native::ALL.iter().filter_map(|n| measured.get(n.id).map(|e| (n.id.to_string(), *e))).collect();
        let table = rows.iter().map(|row| summary_row(row, profiles, measured, &natives)).collect();
        Summary {
            environment,
            profiles: profiles.iter().map(|p| p.to_string()).collect(),
            natives,
            rows: table,
            overhead_limit: OVERHEAD_LIMIT,
            overhead,
            skipped: skipped.iter().map(|s| SkippedRow { id: s.id.to_string(), why: s.why.clone() }).collect(),
        }
    }

    /// Writes `summary.md`, `summary.json`, `chart.svg` and `environment.json` into `dir`.
    pub fn write(&self, dir: &Path) -> io::Result<()> {
        fs::create_dir_all(dir)?;
        fs::write(dir.join("summary.md"), self.markdown())?;
        fs::write(dir.join("summary.json"), serde_json::to_string_pretty(self).map_err(io::Error::other)? + "\n")?;
        fs::write(dir.join("chart.svg"), self.svg())?;
        let env = serde_json::to_string_pretty(&self.environment).map_err(io::Error::other)?;
        fs::write(dir.join("environment.json"), env + "\n")?;
        Ok(())
    }

    /// The markdown table, the harness-overhead check and the environment.
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let env = &self.environment;
        let _ = writeln!(md, "# Benchmark matrix, {}\n", env.date);
        let _ = writeln!(
            md,
            "Generated by the bench's results writer (`benches/src/matrix/record.rs`); do not edit by hand.\n"
        );
        let _ = writeln!(
            md,
            "Each cell: criterion's median time per iteration, and in brackets that time divided by the native \
             Rust floor of the row (the `native` column) and the time it takes beyond the floor. Rows are what one iteration does; columns are engine \
             profiles. Wall-clock medians on a shared machine move 20-40% between runs: compare within this table.\n"
        );
        let _ = write!(md, "| row | native |");
        for p in &self.profiles {
            let _ = write!(md, " {p} |");
        }
        let _ = write!(md, "\n|---|---:|");
        for _ in &self.profiles {
            let _ = write!(md, "---:|");
        }
        md.push('\n');
        for row in &self.rows {
            let native = row.native_ns.map_or("-".to_string(), format_ns);
            let _ = write!(md, "| `{}` | {native} |", row.id);
            for p in &self.profiles {
                let cell = match row.cells.get(p) {
                    Some(c) => match c.times_native {
                        Some(x) => beyond_native(c.median_ns, row.native_ns, x),
                        None => format_ns(c.median_ns),
                    },
                    None if !row.measured_under(p) => "-".to_string(),
                    None => "not measured".to_string(),
                };
                let _ = write!(md, " {cell} |");
            }
            md.push('\n');
        }
        if !self.skipped.is_empty() {
            let _ = writeln!(md, "\n## Rows not measured\n\nThe module cannot serve these rows:\n");
            for skipped in &self.skipped {
                let _ = writeln!(md, "- `{}`: {}", skipped.id, skipped.why);
            }
        }
        let _ = writeln!(md, "\n## What each row does\n");
        for row in &self.rows {
            let _ = writeln!(md, "- `{}`: {}", row.id, row.what);
        }
        for native in rows::native::ALL {
            let _ = writeln!(md, "- `{}`: {}", native.id, native.what);
        }
        if self.overhead.is_empty() {
            let _ = writeln!(
                md,
                "\n## Host core against raw wasmtime\n\nNot measured in this run (it is measured on the project's \
                 guest, in a complete run).\n"
            );
        } else {
            let _ = writeln!(
                md,
                "\n## Host core against raw wasmtime\n\nThe host core's operation timed against raw wasmtime doing the \
             same work, in alternating blocks (ABBA, tens of microseconds each) so that both see the same machine. \
             Each pair is measured in {} processes (each at its own randomised addresses) with {} fresh pairs of \
             stores each ({} measurements; column n says how many a row has), because where code and data sit alone moves one measurement by several percent \
             (`benches/src/matrix/overhead.rs`). The ratio is the median of those measurements; the range is their \
             smallest and largest. The limit is {:.0}%. (The two criterion rows of a pair were measured seconds \
             apart and move with the machine; this check does not use them.)\n",
                overhead::PROCESSES,
                overhead::PLACEMENTS,
                overhead::PROCESSES * overhead::PLACEMENTS,
                self.overhead_limit * 100.0
            );
            let _ =
                writeln!(md, "| profile | core row | raw row | core | raw | core vs raw | range | n | within limit |");
            let _ = writeln!(md, "|---|---|---|---:|---:|---:|---|---:|---|");
            for o in &self.overhead {
                let _ = writeln!(
                    md,
                    "| {} | `{}` | `{}` | {} | {} | {:+.1}% | {:+.1}% .. {:+.1}% | {} | {} |",
                    o.profile,
                    o.core_row,
                    o.raw_row,
                    format_ns(o.core_ns),
                    format_ns(o.raw_ns),
                    o.overhead * 100.0,
                    o.lowest * 100.0,
                    o.highest * 100.0,
                    o.measurements,
                    if o.within_limit { "yes" } else { "**no**" }
                );
            }
        }
        let _ = write!(md, "\n{}", env.markdown("the project's guest"));
        md
    }

    /// A heat map: rows by columns, each cell coloured by its multiple of native and labelled with its median.
    pub fn svg(&self) -> String {
        let (label_w, cell_w, cell_h, head_h, legend_h) = (330.0, 104.0, 26.0, 70.0, 60.0);
        let columns = self.profiles.len() + 1;
        let width = label_w + cell_w * columns as f64 + 20.0;
        let height = head_h + cell_h * self.rows.len() as f64 + legend_h;
        let mut svg = String::new();
        let _ = writeln!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
        let _ = writeln!(
            svg,
            r#"<text x="10" y="22" font-size="15" font-weight="bold">Cost of crossing the Wasmtime boundary: median time per iteration ({})</text>"#,
            xml(&self.environment.date)
        );
        let _ = writeln!(
            svg,
            r##"<text x="10" y="40" fill="#444">colour: multiple of the native Rust floor (native column); {}, {} cores</text>"##,
            xml(&self.environment.cpu),
            self.environment.cores
        );
        let headers = std::iter::once("native").chain(self.profiles.iter().map(String::as_str));
        for (i, name) in headers.enumerate() {
            let x = label_w + cell_w * i as f64 + cell_w / 2.0;
            let _ = writeln!(
                svg,
                r#"<text x="{x}" y="{}" text-anchor="middle" font-weight="bold">{}</text>"#,
                head_h - 8.0,
                xml(name)
            );
        }
        for (r, row) in self.rows.iter().enumerate() {
            let y = head_h + cell_h * r as f64;
            let _ = writeln!(
                svg,
                r#"<text x="{}" y="{}" text-anchor="end" font-family="monospace">{}</text>"#,
                label_w - 8.0,
                y + cell_h * 0.65,
                xml(&row.id)
            );
            let native = row.native_ns.map_or("-".to_string(), format_ns);
            cell(&mut svg, label_w, y, cell_w, cell_h, "#e8e8e8", &native);
            for (c, p) in self.profiles.iter().enumerate() {
                let x = label_w + cell_w * (c + 1) as f64;
                match row.cells.get(p) {
                    Some(v) => {
                        let colour = v.times_native.map_or("#ffffff".to_string(), heat);
                        cell(&mut svg, x, y, cell_w, cell_h, &colour, &format_ns(v.median_ns));
                    }
                    None => cell(&mut svg, x, y, cell_w, cell_h, "#ffffff", "-"),
                }
            }
        }
        let ly = head_h + cell_h * self.rows.len() as f64 + 24.0;
        let _ = writeln!(svg, r#"<text x="10" y="{}">multiple of native:</text>"#, ly + 13.0);
        for (i, x) in [1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0].iter().enumerate() {
            let lx = 150.0 + 80.0 * i as f64;
            cell(&mut svg, lx, ly, 76.0, 20.0, &heat(*x), &format_ratio(*x));
        }
        svg.push_str("</svg>\n");
        svg
    }
}

fn summary_row(
    row: &Row,
    profiles: &[&str],
    measured: &BTreeMap<String, Estimate>,
    natives: &BTreeMap<String, Estimate>,
) -> SummaryRow {
    let native_ns = row.native.and_then(|native| natives.get(native)).map(|e| e.median_ns);
    let cells = profiles
        .iter()
        .filter_map(|p| {
            let e = measured.get(&row::criterion_id(&row.id, p))?;
            let cell = Cell {
                median_ns: e.median_ns,
                low_ns: e.low_ns,
                high_ns: e.high_ns,
                times_native: native_ns.filter(|n| *n > 0.0).map(|n| e.median_ns / n),
            };
            Some((p.to_string(), cell))
        })
        .collect();
    SummaryRow {
        id: row.id.to_string(),
        what: row.what.to_string(),
        elements: row.elements,
        profiles: row.profiles.map(|ps| ps.iter().map(|p| p.to_string()).collect()),
        only_profile: None,
        native_id: row.native.map(str::to_string),
        native_ns,
        cells,
    }
}

fn cell(svg: &mut String, x: f64, y: f64, w: f64, h: f64, fill: &str, text: &str) {
    let _ = writeln!(
        svg,
        r#"<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="{fill}" stroke="white"/><text x="{}" y="{}" text-anchor="middle">{}</text>"#,
        x + w / 2.0,
        y + h * 0.65,
        xml(text)
    );
}

/// Green at 1x native through yellow and orange to red at 1000x and beyond (log scale).
fn heat(times_native: f64) -> String {
    let t = (times_native.max(1.0).log10() / 3.0).clamp(0.0, 1.0);
    let stops = [(0.0, (198, 239, 206)), (0.4, (255, 235, 156)), (0.7, (250, 180, 110)), (1.0, (235, 110, 100))];
    let (mut lo, mut hi) = (stops[0], stops[stops.len() - 1]);
    for pair in stops.windows(2) {
        if t >= pair[0].0 && t <= pair[1].0 {
            (lo, hi) = (pair[0], pair[1]);
        }
    }
    let f = if hi.0 > lo.0 { (t - lo.0) / (hi.0 - lo.0) } else { 0.0 };
    let mix = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * f).round() as u8;
    format!("#{:02x}{:02x}{:02x}", mix(lo.1.0, hi.1.0), mix(lo.1.1, hi.1.1), mix(lo.1.2, hi.1.2))
}

/// A cell with a native floor: the median, its multiple of the floor and the time beyond it ("23.9 ns (18×, +22.6
/// ns)"): a multiple alone hides that 18× of a nanosecond is 22 ns.
fn beyond_native(median_ns: f64, native_ns: Option<f64>, times: f64) -> String {
    let over = median_ns - native_ns.unwrap_or(0.0);
    let sign = if over < 0.0 { "−" } else { "+" };
    format!("{} ({}, {sign}{})", format_ns(median_ns), format_ratio(times), format_ns(over.abs()))
}

fn format_ratio(x: f64) -> String {
    if x < 10.0 { format!("{x:.1}×") } else { format!("{x:.0}×") }
}

/// Rewrites `results/README.md`: an index of the committed runs, newest first, from their environment files.
pub fn write_index(results_dir: &Path) -> io::Result<()> {
    let mut runs: Vec<(String, Environment)> = Vec::new();
    for name in crate::record::run_folders(results_dir, "environment.json")?.into_iter().rev() {
        let Ok(text) = fs::read_to_string(results_dir.join(&name).join("environment.json")) else { continue };
        let Ok(env) = serde_json::from_str::<Environment>(&text) else { continue };
        runs.push((name, env));
    }
    let mut md = String::from(
        "# Results\n\nGenerated by the bench's results writer (`benches/src/matrix/record.rs`) at the end of a complete \
         `cargo bench`; do not edit by hand. Each folder holds one run: `summary.md` (the table), `summary.json` \
         (the same data), `chart.svg` (the heat map) and `environment.json` (machine, versions, command). How to \
         read them is in `benches/README.md`.\n\n| run | CPU | cores | command | sampling | git revision |\n\
         |---|---|---|---|---|---|\n",
    );
    for (name, env) in &runs {
        let _ = writeln!(
            md,
            "| [{name}]({name}/summary.md) | {} | {} | `{}` | {} | {} |",
            env.cpu, env.cores, env.command, env.mode, env.git_revision
        );
    }
    fs::write(results_dir.join("README.md"), md)
}

/// The markers around the block of the top-level README that [`readme_block`] writes.
pub const README_BEGIN: &str =
    "<!-- latest results: generated by benches/src/matrix/record.rs; `cargo bench --bench matrix -- --reindex` -->";
pub const README_END: &str = "<!-- end of latest results -->";

/// The newest committed run under `results_dir` that has a `summary.json`: its folder name and its summary.
pub fn latest_run(results_dir: &Path) -> io::Result<Option<(String, Summary)>> {
    crate::record::newest(results_dir, "summary.json")
}

/// The top-level README's "latest results" block: the newest run's chart and headline table, with where they
/// come from.
pub fn readme_block(run: &str, summary: &Summary) -> String {
    let env = &summary.environment;
    // The short hash, and what the recorded revision says after it ("(with uncommitted changes)").
    let revision = match env.git_revision.split_once(' ') {
        Some((hash, rest)) => format!("{} {rest}", hash.get(..7).unwrap_or(hash)),
        None => env.git_revision.get(..7).unwrap_or(&env.git_revision).to_string(),
    };
    let mut md = format!(
        "From the newest committed run, [`results/{run}/`](results/{run}/summary.md) ({}, {} cores; `{}` at {}, \
         {}). Median time of one iteration, and in brackets that time divided by native Rust doing the same work and \
         the time it takes beyond it; the full table has every row under all {} profiles.\n\n| crossing | native |",
        env.cpu,
        env.cores,
        env.command,
        revision,
        env.date.get(..10).unwrap_or(&env.date),
        summary.profiles.len()
    );
    for p in rows::HEADLINE_PROFILES {
        let _ = write!(md, " {p} |");
    }
    md.push_str("\n|---|---:|");
    for _ in rows::HEADLINE_PROFILES {
        md.push_str("---:|");
    }
    md.push('\n');
    for (id, words) in rows::HEADLINE {
        let Some(measured) = summary.rows.iter().find(|r| r.id == *id) else { continue };
        let native = measured.native_ns.map_or("-".to_string(), format_ns);
        let _ = write!(md, "| {words} | {native} |");
        for p in rows::HEADLINE_PROFILES {
            let cell = match measured.cells.get(p.name()) {
                Some(c) => match c.times_native {
                    Some(x) => beyond_native(c.median_ns, measured.native_ns, x),
                    None => format_ns(c.median_ns),
                },
                None => "-".to_string(),
            };
            let _ = write!(md, " {cell} |");
        }
        md.push('\n');
    }
    let _ = write!(md, "\n![The matrix as a heat map, coloured by the multiple of native](results/{run}/chart.svg)\n");
    component_table(&mut md, summary);
    md
}

/// The README's table of the guest as a component against the same guest as a core module, from the same run:
/// each cell is the component's median, the core module's, and how many times the first is the second.
fn component_table(md: &mut String, summary: &Summary) {
    let median = |id: &str, profile: &str| {
        summary.rows.iter().find(|r| r.id == id).and_then(|r| r.cells.get(profile)).map(|c| c.median_ns)
    };
    let mut lines = String::new();
    for (component, core, words) in rows::COMPONENT_HEADLINE {
        let _ = write!(lines, "| {words} |");
        for p in rows::HEADLINE_PROFILES {
            let cell = match (median(component, p.name()), median(core, p.name())) {
                (Some(c), Some(m)) if m > 0.0 => {
                    format!("{} / {} ({})", format_ns(c), format_ns(m), format_ratio(c / m))
                }
                _ => "-".to_string(),
            };
            let _ = write!(lines, " {cell} |");
        }
        lines.push('\n');
    }
    if !rows::COMPONENT_HEADLINE.iter().any(|(component, _, _)| summary.rows.iter().any(|r| r.id == *component)) {
        return; // A run from before the component rows.
    }
    md.push_str(
        "\nThe same guest as a component (`--abi component`) against it as a core module, from the same run: the \
         component's median / the core module's (how many times the first is the second).\n\n| the same work |",
    );
    for p in rows::HEADLINE_PROFILES {
        let _ = write!(md, " {p} |");
    }
    md.push_str("\n|---|");
    for _ in rows::HEADLINE_PROFILES {
        md.push_str("---:|");
    }
    md.push('\n');
    md.push_str(&lines);
}

/// Rewrites the block between [`README_BEGIN`] and [`README_END`] of `readme` with the newest run under
/// `results_dir`. An error if the markers are missing; nothing changes if there is no run.
pub fn write_readme_block(readme: &Path, results_dir: &Path) -> io::Result<()> {
    let Some((run, summary)) = latest_run(results_dir)? else { return Ok(()) };
    crate::record::write_block(readme, README_BEGIN, README_END, &readme_block(&run, &summary))
}

/// `text` with the latest-results block replaced by `block`, or `None` without the markers.
pub fn replace_block(text: &str, block: &str) -> Option<String> {
    crate::record::replace_block(text, README_BEGIN, README_END, block)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_shows_the_newest_committed_run() {
        let root = crate::record::workspace_root();
        let (run, summary) = latest_run(&root.join("results")).unwrap().expect("a committed run under results/");
        let readme = fs::read_to_string(root.join("README.md")).unwrap();
        let expected = replace_block(&readme, &readme_block(&run, &summary)).expect("README has the markers");
        assert!(
            readme == expected,
            "README's latest-results block is not from results/{run}: run `cargo bench --bench matrix -- --reindex`"
        );
    }

    #[test]
    fn the_newest_run_of_a_day_is_its_highest_number() {
        let dir = std::env::temp_dir().join(format!("boundary-latest-{}", std::process::id()));
        for name in ["2026-11-23", "2026-11-24", "2026-11-24-2", "2026-11-24-10", "2026-11-22-3"] {
            fs::create_dir_all(dir.join(name)).unwrap();
        }
        let summary = Summary::build(
            Environment::capture(&dir, "cargo bench".into(), "test".into()),
            &["cranelift"],
            &rows::ROWS,
            &[],
            &BTreeMap::new(),
            Vec::new(),
        );
        for name in ["2026-11-24-2", "2026-11-24-10"] {
            fs::write(dir.join(name).join("summary.json"), serde_json::to_string(&summary).unwrap()).unwrap();
        }
        assert_eq!(latest_run(&dir).unwrap().map(|(name, _)| name).as_deref(), Some("2026-11-24-10"));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(format_ns(1.234), "1.23 ns");
        assert_eq!(format_ns(31.27), "31.3 ns");
        assert_eq!(format_ns(4_560.0), "4.56 µs");
        assert_eq!(format_ns(123_456.0), "123 µs");
    }

    #[test]
    fn heat_runs_green_to_red() {
        assert_eq!(heat(1.0), "#c6efce");
        assert_eq!(heat(1000.0), "#eb6e64");
        assert_eq!(heat(1e9), heat(1000.0));
    }
}
