//! The serving path's record (`cargo bench --bench serving`): `serving.md`, `serving.json`, `latency.svg` and
//! `environment.json` in a run's folder, and the top-level README's serving block, written from the newest
//! committed record. A record from before the repeated windows (no [`Method`]) still reads and renders: each of its
//! figures is one window's, and it has no phases.

use crate::record::{self, Environment};
use crate::serving::footprint::{Footprint, at};
use crate::serving::requests::{
    ALLOCATIONS, DENSITY_CONFIGS, DENSITY_MAP_HEADROOM, DENSITY_MAX_INSTANCES, DENSITY_MAX_RESIDENT, Density,
    Measurement, PATTERNS, Phase, STACK_KEPT, STACK_TOP, Spread, Timing, Workload,
};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::Path;

/// One serving run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub environment: Environment,
    /// One row per configuration, in table order.
    pub rows: Vec<Measurement>,
    pub density: Vec<Density>,
    /// Configurations this machine could not run, and why.
    pub unavailable: Vec<(String, String)>,
    /// How the requests were timed (records before the repeated windows lack it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<Method>,
    /// The pages each live instance of the density runs touched (records before it lack it: their instances
    /// touched none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub footprint: Option<Footprint>,
}

/// A dirty pattern as the record keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatternRecord {
    pub id: String,
    pub what: String,
    /// Offsets of the first and the last dirtied page.
    pub first_page: u64,
    pub last_page: u64,
    pub pages: usize,
    /// Separate runs of dirtied pages: what a `PAGEMAP_SCAN` reports as regions.
    pub regions: usize,
}

/// How a run's requests were timed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Method {
    /// Timed windows per configuration.
    pub repeats: usize,
    pub window_s: f64,
    /// Untimed requests of the same configuration before each window.
    pub warm_up_s: f64,
    /// The untimed window each configuration served first, in table order.
    pub check_s: f64,
    /// The seed of the windows' shuffled order.
    pub order_seed: u64,
    /// What one read of the clock costs here (`Instant::now`): each phase holds about one read, and a request timed
    /// by phase three more than one timed only at its ends.
    pub clock_read_ns: f64,
    pub patterns: Vec<PatternRecord>,
}

impl Method {
    pub fn new(timing: &Timing, clock_read_ns: f64) -> Self {
        let patterns = PATTERNS
            .iter()
            .map(|p| PatternRecord {
                id: p.id.to_string(),
                what: p.what.to_string(),
                first_page: p.start as u64,
                last_page: p.offsets().last().unwrap_or(p.start) as u64,
                pages: p.pages,
                regions: p.regions(),
            })
            .collect();
        Method {
            repeats: timing.repeats,
            window_s: timing.window.as_secs_f64(),
            warm_up_s: timing.warm_up.as_secs_f64(),
            check_s: timing.check.as_secs_f64(),
            order_seed: timing.seed,
            clock_read_ns,
            patterns,
        }
    }
}

/// A size in bytes, readably: three significant figures in the largest binary unit it reaches (`7.00 KiB`,
/// `78.7 TiB`), whole bytes below a KiB.
pub fn format_bytes(bytes: f64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes;
    let mut unit = None;
    for u in UNITS {
        if value.abs() < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = Some(u);
    }
    let Some(unit) = unit else { return format!("{bytes:.0} B") };
    let digits = match value.abs() {
        v if v < 10.0 => 2,
        v if v < 100.0 => 1,
        _ => 0,
    };
    format!("{value:.digits$} {unit}")
}

/// `spread` with `format`: `median (min–max)`, or the median alone where the range reads as one value.
fn spread_cell(spread: &Spread, format: impl Fn(f64) -> String) -> String {
    let (median, min, max) = (format(spread.median), format(spread.min), format(spread.max));
    if min == max { median } else { format!("{median} ({min}–{max})") }
}

fn ns_cell(spread: &Spread) -> String {
    spread_cell(spread, record::format_ns)
}

fn rate_cell(spread: &Spread) -> String {
    spread_cell(spread, |v| format!("{v:.0}"))
}

fn faults_cell(spread: &Spread) -> String {
    spread_cell(spread, |v| format!("{v:.1}"))
}

/// A figure a record may lack, readably, or `-`.
fn optional_bytes(bytes: Option<f64>) -> String {
    bytes.map_or("-".to_string(), format_bytes)
}

impl Record {
    pub fn write(&self, dir: &Path) -> io::Result<()> {
        fs::create_dir_all(dir)?;
        fs::write(dir.join("serving.md"), self.markdown())?;
        fs::write(dir.join("serving.json"), serde_json::to_string_pretty(self).map_err(io::Error::other)? + "\n")?;
        fs::write(dir.join("latency.svg"), self.svg())?;
        let env = serde_json::to_string_pretty(&self.environment).map_err(io::Error::other)?;
        fs::write(dir.join("environment.json"), env + "\n")?;
        Ok(())
    }

    /// The row of `allocation` doing `workload` with `threads` workers, if it was measured.
    pub fn row(&self, allocation: &str, workload: &str, threads: usize) -> Option<&Measurement> {
        self.rows.iter().find(|m| m.allocation == allocation && m.workload == workload && m.threads == threads)
    }

    /// The allocations the record measured, in the order of its rows.
    pub fn allocations(&self) -> Vec<&str> {
        distinct(self.rows.iter().map(|m| m.allocation.as_str()))
    }

    /// The workloads the record measured, in the order of its rows.
    pub fn workloads(&self) -> Vec<&str> {
        distinct(self.rows.iter().map(|m| m.workload.as_str()))
    }

    /// The workload the latency chart and the README's table show beside `call`: the gate's 16 sparse pages, or in
    /// a record from before the named patterns, `dirty-16` (the same pages).
    fn dirty_workload(&self) -> Option<&str> {
        ["sparse-16", "dirty-16"].into_iter().find(|w| self.workloads().contains(w))
    }

    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let env = &self.environment;
        let _ = writeln!(md, "# Serving path, {}\n", env.date);
        let _ = writeln!(md, "Generated by `benches/src/serving/record.rs`; do not edit by hand.\n");
        match &self.method {
            Some(method) => self.method_markdown(&mut md, method),
            None => {
                let _ = writeln!(
                    md,
                    "A request: a new store and instance from an `InstancePre` (with a WASI preview 1 context), `n` \
                     4 KiB pages dirtied by the host every other page from 64 KiB for the `dirty-n` workloads, one \
                     call of `just_add`, and the store dropped, timed whole. Each configuration served one window of \
                     requests, in table order: each figure is that window's.\n"
                );
            }
        }
        let _ = writeln!(md, "## Configurations\n");
        for id in self.allocations() {
            let what = ALLOCATIONS.iter().find(|a| a.id == id).map_or("no longer measured", |a| a.what);
            let _ = writeln!(md, "- `{id}`: {what}");
        }
        for (id, why) in &self.unavailable {
            let _ = writeln!(md, "- `{id}`: **not measured on this machine**: {why}");
        }
        let _ = writeln!(md, "\n## Requests\n");
        if self.method.is_some() {
            let _ = writeln!(
                md,
                "Each cell: the median over the configuration's windows, and their range (least–greatest).\n"
            );
        }
        let _ =
            writeln!(md, "| configuration | workload | threads | requests/s | p50 | p99 | p99.9 | faults/request |");
        let _ = writeln!(md, "|---|---|---:|---:|---:|---:|---:|---:|");
        for m in &self.rows {
            let _ = writeln!(
                md,
                "| `{}` | {} | {} | {} | {} | {} | {} | {} |",
                m.allocation,
                m.workload,
                m.threads,
                rate_cell(&m.requests_per_second),
                ns_cell(&m.p50_ns),
                ns_cell(&m.p99_ns),
                ns_cell(&m.p999_ns),
                faults_cell(&m.minor_faults_per_request)
            );
        }
        if self.rows.iter().any(|m| !m.phases.is_empty()) {
            self.phases_markdown(&mut md);
        }
        self.density_markdown(&mut md);
        let _ = write!(md, "\n{}", env.markdown("the project's quiet guest"));
        md
    }

    fn method_markdown(&self, md: &mut String, method: &Method) {
        let _ = writeln!(
            md,
            "A request is four phases, timed apart by reading the clock as each ends (`Instant::now`, {} a read \
             here):\n",
            record::format_ns(method.clock_read_ns)
        );
        let plugin = self.workloads().contains(&"request");
        let shown = if plugin { Workload::Plugin } else { Workload::Call };
        for phase in Phase::ALL {
            if shown.phases().contains(&phase) {
                let _ = writeln!(md, "- **{}**: {}", phase.id(), phase.what(shown));
            }
        }
        if plugin {
            let _ = writeln!(
                md,
                "\nA plugin's request (`--request`) is timed in three phases: its store and WASI context are made \
                 inside its instantiation, and the store phase is not timed apart."
            );
        }
        let _ = writeln!(
            md,
            "\nThe whole request runs from before the store to after the drop, and the phases partition it: each \
             holds about one clock read, so the whole holds three more than a request timed only at its ends. \
             Latencies are per request, recorded in HDR histograms (3 significant \
             digits) over each window; faults are minor page faults per request (`getrusage(RUSAGE_THREAD)` around \
             each worker's loop). With 2 threads both workers share one engine. Requests/s is all workers' requests over the window's wall \
             time, which includes starting and joining the workers.\n"
        );
        let _ = writeln!(
            md,
            "Each configuration (allocation, workload, threads) first served one untimed window of {} in table \
             order (the check that it serves, which also warms the code). Then each served {} timed windows of {}, \
             each after {} of untimed requests of its own: all {} windows of all configurations in one shuffled \
             order (SplitMix64 from seed {:#x}), so that the machine's drift over the run lands in each \
             configuration's range, not between configurations. Every engine and module was made before the first \
             window.\n",
            record::format_ns(method.check_s * 1e9),
            method.repeats,
            record::format_ns(method.window_s * 1e9),
            record::format_ns(method.warm_up_s * 1e9),
            method.repeats * self.rows.len(),
            method.order_seed
        );
        let _ = writeln!(md, "## Dirty patterns\n");
        let _ = writeln!(
            md,
            "The host writes one byte into each 4 KiB page of a pattern after instantiating, before the call. No \
             pattern touches the {} below the stack's top at {} (the guest's frames); `just_add` reads no memory \
             and each request is a fresh instance, so the writes change nothing the call sees. `call` dirties \
             nothing. A module whose initial memory lacks room for a pattern is not served it.\n",
            at(STACK_KEPT as u64),
            at(STACK_TOP as u64)
        );
        let _ = writeln!(md, "| pattern | pages | first page | last page | regions | what it exercises |");
        let _ = writeln!(md, "|---|---:|---:|---:|---:|---|");
        for p in &method.patterns {
            let _ = writeln!(
                md,
                "| `{}` | {} | {} | {} | {} | {} |",
                p.id,
                p.pages,
                at(p.first_page),
                at(p.last_page),
                p.regions,
                p.what
            );
        }
        md.push('\n');
    }

    fn phases_markdown(&self, md: &mut String) {
        let _ = writeln!(md, "\n## Phases\n");
        let _ = writeln!(
            md,
            "The median of each phase and of the whole request (p50), as the median over the windows and their \
             range. Phase medians need not add up to the whole's; their means (in `serving.json`) do.\n"
        );
        let _ = writeln!(md, "| configuration | workload | threads | store | instantiate | work | drop | request |");
        let _ = writeln!(md, "|---|---|---:|---:|---:|---:|---:|---:|");
        for m in &self.rows {
            let phase = |p: Phase| m.phase(p).map_or("-".to_string(), |s| ns_cell(&s.p50_ns));
            let _ = writeln!(
                md,
                "| `{}` | {} | {} | {} | {} | {} | {} | {} |",
                m.allocation,
                m.workload,
                m.threads,
                phase(Phase::Store),
                phase(Phase::Instantiate),
                phase(Phase::Work),
                phase(Phase::Drop),
                ns_cell(&m.p50_ns)
            );
        }
    }

    fn density_markdown(&self, md: &mut String) {
        let _ = writeln!(md, "\n## Density\n");
        let touched = match &self.footprint {
            Some(_) => "with one byte written into each page the module's footprint names (below)",
            None => "with no page of its memory touched but what the call touched",
        };
        let _ = writeln!(
            md,
            "Live instances, each in its own store, having served one call, {touched}, made until the first \
             allocation failure, {DENSITY_MAX_INSTANCES} instances, {} GiB resident, or {DENSITY_MAP_HEADROOM} \
             memory mappings short of the kernel's limit (past it every allocation fails, and one in the harness \
             itself would abort the run), whichever comes first. Memory per instance is the process's growth since \
             before the first, divided by the count: resident (`VmRSS`), of it anonymous (`RssAnon`: instances' \
             memory and the harness's heap, no mapped files), page tables (`VmPTE`, which `VmRSS` leaves out) and \
             address space (`VmSize`).\n",
            DENSITY_MAX_RESIDENT >> 30
        );
        for c in DENSITY_CONFIGS {
            let _ = writeln!(md, "- `{}`: {}", c.id, c.what);
        }
        if let Some(footprint) = &self.footprint {
            let _ = writeln!(
                md,
                "\nThe pages each live instance touched, found from the module (`benches/src/serving/footprint.rs`):\n"
            );
            if footprint.pages.is_empty() {
                let _ = writeln!(md, "- none");
            }
            for page in &footprint.pages {
                let _ = writeln!(md, "- the page at {}: {}", at(page.offset), page.holds);
            }
            for missing in &footprint.not_found {
                let _ = writeln!(md, "- not touched: {missing}");
            }
        }
        if let Some(limit) = crate::serving::requests::max_map_count() {
            let _ = writeln!(
                md,
                "\nThis machine allows {limit} memory mappings per process (`vm.max_map_count`); each configuration \
                 ran in a process of its own.\n"
            );
        }
        let _ = writeln!(
            md,
            "\n| configuration | live | resident per instance | anonymous | page tables | virtual per instance | \
             mappings per instance |"
        );
        let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|");
        for d in &self.density {
            for p in &d.points {
                let _ = writeln!(
                    md,
                    "| `{}` | {} | {} | {} | {} | {} | {:.2} |",
                    d.config,
                    p.live,
                    format_bytes(p.resident_per_instance),
                    optional_bytes(p.anonymous_per_instance),
                    optional_bytes(p.page_tables_per_instance),
                    format_bytes(p.virtual_per_instance),
                    p.mappings_per_instance
                );
            }
        }
        let _ = writeln!(
            md,
            "\n| configuration | address space reserved with the engine | live instances reached | stopped by |\n\
             |---|---:|---:|---|"
        );
        for d in &self.density {
            let _ = writeln!(
                md,
                "| `{}` | {} | {} | {} |",
                d.config,
                format_bytes(d.engine_virtual as f64),
                d.reached,
                d.stopped_by
            );
        }
    }

    /// Latency percentiles (p50, p99, p99.9: medians over the windows, with their ranges as whiskers) of each
    /// configuration for the 16 sparse pages with one worker, as bars on a logarithmic axis.
    pub fn svg(&self) -> String {
        let workload = self.dirty_workload().unwrap_or("call");
        let rows: Vec<&Measurement> = self.allocations().into_iter().filter_map(|a| self.row(a, workload, 1)).collect();
        let (label_w, plot_w, bar_h, group_h, top) = (190.0, 560.0, 9.0, 36.0, 64.0);
        let height = top + group_h * rows.len() as f64 + 60.0;
        let width = label_w + plot_w + 40.0;
        let (lo, hi) = (1_000.0f64.log10(), 1_000_000.0f64.log10());
        let x = |ns: f64| label_w + (ns.max(1_000.0).log10().min(hi) - lo) / (hi - lo) * plot_w;
        let mut svg = String::new();
        let _ = writeln!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
        let _ = writeln!(
            svg,
            r#"<text x="10" y="22" font-size="15" font-weight="bold">Latency of a request ({workload}, 1 thread): p50, p99, p99.9</text>"#
        );
        let ranges = if self.method.is_some() { "medians over the windows, ranges as whiskers; " } else { "" };
        let _ = writeln!(
            svg,
            r##"<text x="10" y="40" fill="#444">new store and instance, pages dirtied, one call, drop; {ranges}{}, {} cores, {}</text>"##,
            record::xml(&self.environment.cpu),
            self.environment.cores,
            record::xml(&self.environment.date)
        );
        for decade in [1_000.0, 10_000.0, 100_000.0, 1_000_000.0] {
            let gx = x(decade);
            let _ = writeln!(
                svg,
                r##"<line x1="{gx}" y1="{top}" x2="{gx}" y2="{}" stroke="#ddd"/><text x="{gx}" y="{}" text-anchor="middle" fill="#444">{}</text>"##,
                height - 40.0,
                height - 24.0,
                record::format_ns(decade)
            );
        }
        let colours = [("p50", "#4e9a06"), ("p99", "#c4a000"), ("p99.9", "#cc0000")];
        for (i, m) in rows.iter().enumerate() {
            let y = top + group_h * i as f64;
            let _ = writeln!(
                svg,
                r#"<text x="{}" y="{}" text-anchor="end" font-family="monospace">{}</text>"#,
                label_w - 8.0,
                y + group_h / 2.0,
                record::xml(&m.allocation)
            );
            for (j, (spread, (_, colour))) in [m.p50_ns, m.p99_ns, m.p999_ns].iter().zip(colours).enumerate() {
                let by = y + 4.0 + bar_h * j as f64;
                let bw = x(spread.median) - label_w;
                let _ = writeln!(
                    svg,
                    r#"<rect x="{label_w}" y="{by}" width="{bw:.1}" height="{}" fill="{colour}"/><text x="{:.1}" y="{}" font-size="10">{}</text>"#,
                    bar_h - 1.0,
                    x(spread.max) + 4.0,
                    by + bar_h - 1.5,
                    record::format_ns(spread.median)
                );
                if !spread.is_single() {
                    let wy = by + (bar_h - 1.0) / 2.0;
                    let _ = writeln!(
                        svg,
                        r##"<line x1="{:.1}" y1="{wy}" x2="{:.1}" y2="{wy}" stroke="#222"/>"##,
                        x(spread.min),
                        x(spread.max)
                    );
                }
            }
        }
        for (k, (name, colour)) in colours.iter().enumerate() {
            let lx = label_w + 90.0 * k as f64;
            let _ = writeln!(
                svg,
                r#"<rect x="{lx}" y="{}" width="12" height="12" fill="{colour}"/><text x="{}" y="{}">{name}</text>"#,
                height - 16.0,
                lx + 16.0,
                height - 6.0
            );
        }
        svg.push_str("</svg>\n");
        svg
    }
}

/// The newest committed record under `results/serving/`.
pub fn latest(serving_dir: &Path) -> io::Result<Option<(String, Record)>> {
    crate::record::newest(serving_dir, "serving.json")
}

const BEGIN: &str =
    "<!-- serving results: generated by benches/src/serving/record.rs; `cargo bench --bench serving` -->";
const END: &str = "<!-- end of serving results -->";

/// The README's serving block from a record: per configuration with 1 worker, requests/s and p99 of a call and of
/// the 16 sparse pages, faults per request of every workload that dirties pages; memory per live instance.
pub fn readme_block(run: &str, record: &Record) -> String {
    let env = &record.environment;
    let mut md = String::new();
    let what = match &record.method {
        Some(method) => format!(
            "A request is a new store and instance, a pattern of pages dirtied, one call and the drop; 1 worker \
             thread; each cell the median over {} shuffled windows and their range",
            method.repeats
        ),
        None => "A request is a new store and instance, `n` pages dirtied (every other page from 64 KiB), one call \
                 and the drop; 1 worker thread; one window per configuration"
            .to_string(),
    };
    let _ = writeln!(
        md,
        "From [`results/serving/{run}/`](results/serving/{run}/serving.md) ({}, {} cores; `{}`, {}). {what}.\n",
        env.cpu,
        env.cores,
        env.command,
        env.date.get(..10).unwrap_or(&env.date)
    );
    let dirty = record.dirty_workload();
    let dirtying: Vec<&str> = record.workloads().into_iter().filter(|w| *w != "call").collect();
    let mut header = "| configuration | call: requests/s | p99 |".to_string();
    if let Some(dirty) = dirty {
        let _ = write!(header, " {dirty}: requests/s | p99 |");
    }
    if !dirtying.is_empty() {
        let _ = write!(header, " faults/request: {} |", dirtying.join(" / "));
    }
    let _ = writeln!(md, "{header}");
    let columns = header.matches('|').count() - 1;
    let _ = writeln!(md, "|---|{}", "---:|".repeat(columns - 1));
    for allocation in record.allocations() {
        let Some(call) = record.row(allocation, "call", 1) else { continue };
        let mut line =
            format!("| `{allocation}` | {} | {} |", rate_cell(&call.requests_per_second), ns_cell(&call.p99_ns));
        if let Some(dirty) = dirty {
            match record.row(allocation, dirty, 1) {
                Some(m) => {
                    let _ = write!(line, " {} | {} |", rate_cell(&m.requests_per_second), ns_cell(&m.p99_ns));
                }
                None => line.push_str(" - | - |"),
            }
        }
        if !dirtying.is_empty() {
            let faults: Vec<String> = dirtying
                .iter()
                .map(|w| {
                    record
                        .row(allocation, w, 1)
                        .map_or("-".to_string(), |m| format!("{:.1}", m.minor_faults_per_request.median))
                })
                .collect();
            let _ = write!(line, " {} |", faults.join(" / "));
        }
        let _ = writeln!(md, "{line}");
    }
    let _ = writeln!(
        md,
        "\n| density | resident per live instance | anonymous | page tables | virtual per instance | reserved with \
         the engine | instances reached | stopped by |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---|");
    for d in &record.density {
        let last = d.points.last();
        let resident =
            last.map_or("-".to_string(), |p| format!("{} (at {})", format_bytes(p.resident_per_instance), p.live));
        let anonymous = optional_bytes(last.and_then(|p| p.anonymous_per_instance));
        let page_tables = optional_bytes(last.and_then(|p| p.page_tables_per_instance));
        let virt = last.map_or("-".to_string(), |p| format_bytes(p.virtual_per_instance));
        let reserved = format_bytes(d.engine_virtual as f64);
        let _ = writeln!(
            md,
            "| `{}` | {resident} | {anonymous} | {page_tables} | {virt} | {reserved} | {} | {} |",
            d.config, d.reached, d.stopped_by
        );
    }
    if record.footprint.is_none() {
        let _ = writeln!(
            md,
            "\nIts live instances touched no page of their memory: resident memory per instance is wasmtime's and \
             the harness's alone."
        );
    }
    md
}

/// Rewrites the README's serving block from the newest record under `serving_dir`.
pub fn write_readme_block(readme: &Path, serving_dir: &Path) -> io::Result<()> {
    let Some((run, record)) = latest(serving_dir)? else { return Ok(()) };
    crate::record::write_block(readme, BEGIN, END, &readme_block(&run, &record))
}

/// Each of `items` once, in the order they first come.
fn distinct<'a>(items: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen: Vec<&str> = Vec::new();
    for item in items {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_shows_the_newest_committed_run() {
        let root = crate::record::workspace_root();
        let (run, newest) = latest(&root.join("results").join("serving")).unwrap().expect("a committed serving run");
        let readme = fs::read_to_string(root.join("README.md")).unwrap();
        let expected = crate::record::replace_block(&readme, BEGIN, END, &readme_block(&run, &newest))
            .expect("README has the serving markers");
        assert!(
            readme == expected,
            "README's serving block is not from results/serving/{run}: run `cargo bench --bench serving -- --reindex`"
        );
    }

    #[test]
    fn sizes_read_with_three_significant_figures() {
        assert_eq!(format_bytes(512.0), "512 B");
        assert_eq!(format_bytes(7.0 * 1024.0), "7.00 KiB");
        assert_eq!(format_bytes(72.01 * 1024.0 * 1024.0), "72.0 MiB");
        assert_eq!(format_bytes(4.0625 * (1u64 << 30) as f64), "4.06 GiB");
        assert_eq!(format_bytes(786.29 * (1u64 << 30) as f64), "786 GiB");
        assert_eq!(format_bytes(80_630.04 * (1u64 << 30) as f64), "78.7 TiB");
    }

    #[test]
    fn a_spread_reads_as_its_median_and_range() {
        let s = Spread::of([3.0, 1.0, 2.0, 10.0, 4.0]);
        assert_eq!((s.median, s.min, s.max), (3.0, 1.0, 10.0));
        assert_eq!(Spread::of([1.0, 2.0]).median, 1.5);
        assert_eq!(rate_cell(&s), "3 (1–10)");
        assert_eq!(rate_cell(&Spread::of([5.0])), "5");
        let old: Spread = serde_json::from_str("7667").unwrap();
        assert_eq!(old, Spread { median: 7667.0, min: 7667.0, max: 7667.0 });
        let new: Spread = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(new, s);
    }
}
