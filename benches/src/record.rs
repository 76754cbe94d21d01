//! Where and how a run was measured, recorded beside every results writer's figures (the matrix's, the payload
//! sweep's and the serving path's), and where a complete run's record goes.

use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

/// The version of the records' formats (a matrix summary, a payload or serving record, the gate's baseline), so
/// that tooling can tell them apart: 1 for the records written before the field existed (they lack it), 2 since the
/// commands moved into the `boundary` command (`environment.command` may then read `boundary ...`), 3 since the
/// payload record holds its cache regimes, fitted lines and each cell's range (its native rows timed in every
/// profile's rounds), the serving record its repeats and phases, and the gate's baseline the CPU valgrind presents.
pub const SCHEMA: u32 = 3;

/// The schema of a record that does not say: the first.
pub fn schema_one() -> u32 {
    1
}

/// Where and how the figures were measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Environment {
    /// The record's format ([`SCHEMA`]), in every record that has an environment.
    #[serde(default = "schema_one")]
    pub schema: u32,
    pub date: String,
    pub cpu: String,
    pub cores: usize,
    pub os: String,
    pub rustc: String,
    pub wasmtime: String,
    pub git_revision: String,
    pub command: String,
    pub mode: String,
    /// What was measured, when it was not the project's guest: the user's module, its path and content hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    /// The run's wall-clock time in seconds, from the bench's start to its record (records before 2026-12-01 lack
    /// it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed_s: Option<f64>,
    /// What the timings ran on beyond the CPU: virtualisation, transparent huge pages, the clock source, the C
    /// library (records before schema 2 lack it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
}

/// The parts of the machine that move wall-clock timings and page faults, as Linux reports them ("unknown" where it
/// does not).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Platform {
    /// "bare metal", or the hypervisor's vendor and product as the firmware names them.
    pub virtualisation: String,
    /// The selected mode of `/sys/kernel/mm/transparent_hugepage/enabled`.
    pub transparent_huge_pages: String,
    /// `/sys/devices/system/clocksource/clocksource0/current_clocksource`.
    pub clocksource: String,
    /// `getconf GNU_LIBC_VERSION`.
    pub libc: String,
}

impl Platform {
    pub fn capture() -> Self {
        let read = |path: &str| fs::read_to_string(path).ok().map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        let hypervisor = read("/proc/cpuinfo").is_some_and(|text| {
            text.lines().any(|l| l.starts_with("flags") && l.split_whitespace().any(|f| f == "hypervisor"))
        });
        let firmware = [read("/sys/class/dmi/id/sys_vendor"), read("/sys/class/dmi/id/product_name")]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let virtualisation = match (hypervisor, firmware.is_empty()) {
            (true, false) => format!("virtual machine ({firmware})"),
            (true, true) => "virtual machine (the CPU's hypervisor flag)".to_string(),
            (false, _) if std::path::Path::new("/proc/cpuinfo").exists() => "bare metal".to_string(),
            _ => "unknown".to_string(),
        };
        // `always [madvise] never`: the bracketed word is the mode.
        let transparent_huge_pages = read("/sys/kernel/mm/transparent_hugepage/enabled")
            .and_then(|modes| Some(modes.split_once('[')?.1.split_once(']')?.0.to_string()))
            .unwrap_or_else(|| "unknown".to_string());
        let clocksource = read("/sys/devices/system/clocksource/clocksource0/current_clocksource")
            .unwrap_or_else(|| "unknown".into());
        let libc = command_output(Command::new("getconf").arg("GNU_LIBC_VERSION")).unwrap_or_else(|| "unknown".into());
        Platform { virtualisation, transparent_huge_pages, clocksource, libc }
    }
}

impl Environment {
    /// Reads the machine and the checkout; `command` is what was run, `mode` how criterion sampled.
    pub fn capture(workspace: &Path, command: String, mode: String) -> Self {
        let cpu = fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|text| {
                text.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".to_string());
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        let os =
            command_output(Command::new("uname").args(["-srm"])).unwrap_or_else(|| std::env::consts::OS.to_string());
        let revision = command_output(Command::new("git").arg("-C").arg(workspace).args(["rev-parse", "HEAD"]));
        // The records and README blocks an earlier bench of the same `cargo bench` wrote are not changes to what is
        // measured: only a change outside `results/` and the READMEs marks the revision.
        let status = ["status", "--porcelain", "--", ".", ":!results", ":!README.md", ":!*/README.md"];
        let dirty =
            command_output(Command::new("git").arg("-C").arg(workspace).args(status)).is_some_and(|s| !s.is_empty());
        let git_revision = match revision {
            Some(rev) if dirty => format!("{rev} (with uncommitted changes)"),
            Some(rev) => rev,
            None => "unknown (not a git checkout)".to_string(),
        };
        Environment {
            schema: SCHEMA,
            date: utc_timestamp(SystemTime::now()),
            cpu,
            cores,
            os,
            rustc: boundary_host::build_info::RUSTC_VERSION.to_string(),
            wasmtime: boundary_host::build_info::WASMTIME_VERSION.to_string(),
            git_revision,
            command,
            mode,
            module: None,
            elapsed_s: None,
            platform: Some(Platform::capture()),
        }
    }

    /// The record's "Environment" section: a heading and a two-column table; `guest` names what was measured when
    /// it was the project's own guest.
    pub fn markdown(&self, guest: &str) -> String {
        let mut md = String::from("## Environment\n\n| | |\n|---|---|\n");
        let mut rows = vec![
            ("date", self.date.clone()),
            ("command", format!("`{}`", self.command)),
            ("sampling", self.mode.clone()),
        ];
        if let Some(seconds) = self.elapsed_s {
            rows.push(("elapsed", format_elapsed(seconds)));
        }
        rows.extend([
            ("CPU", self.cpu.clone()),
            ("cores", self.cores.to_string()),
            ("OS", self.os.clone()),
            ("rustc", self.rustc.clone()),
            ("wasmtime", self.wasmtime.clone()),
            ("git revision", self.git_revision.clone()),
            ("module", self.module.clone().unwrap_or_else(|| guest.to_string())),
        ]);
        if let Some(p) = &self.platform {
            rows.extend([
                ("virtualisation", p.virtualisation.clone()),
                ("transparent huge pages", p.transparent_huge_pages.clone()),
                ("clock source", p.clocksource.clone()),
                ("C library", p.libc.clone()),
            ]);
        }
        for (k, v) in rows {
            let _ = writeln!(md, "| {k} | {v} |");
        }
        md
    }
}

/// A run's wall-clock time as minutes and seconds: `14 min 23 s`, or `48 s` under a minute.
pub fn format_elapsed(seconds: f64) -> String {
    let whole = seconds.round() as u64;
    match (whole / 60, whole % 60) {
        (0, s) => format!("{s} s"),
        (m, s) => format!("{m} min {s} s"),
    }
}

fn command_output(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `YYYY-MM-DDTHH:MM:SSZ` for a system time (UTC, proleptic Gregorian).
pub fn utc_timestamp(time: SystemTime) -> String {
    let secs = time.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Days since 1970-01-01 to (year, month, day): Howard Hinnant's `civil_from_days`.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Where a complete run's results go: `results/<date>` under the workspace, or `<date>-2`, `<date>-3`, ... when
/// runs of that day are already there, so a second run never replaces a committed one.
pub fn run_dir(results_dir: &Path, env: &Environment) -> PathBuf {
    let day = env.date.get(..10).unwrap_or("undated");
    (1..)
        .map(|n| if n == 1 { results_dir.join(day) } else { results_dir.join(format!("{day}-{n}")) })
        .find(|dir| !dir.exists())
        .expect("some numbered folder name is free")
}

/// Every path under `results/` that `text` names: `results/` not preceded by a letter, digit, `-` or `_` (so not
/// `boundary-results/`), up to the first character that cannot be in a path, without trailing punctuation, and
/// without placeholders such as `<date>`.
pub fn cited_records(text: &str) -> Vec<String> {
    let path_char = |c: char| c.is_ascii_alphanumeric() || "/._-<>".contains(c);
    text.match_indices("results/")
        .filter(|(at, _)| {
            text[..*at].chars().next_back().is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        })
        .map(|(at, _)| {
            let rest = &text[at..];
            let end = rest.find(|c: char| !path_char(c)).unwrap_or(rest.len());
            rest[..end].trim_end_matches(['.', ',', ';', ':']).to_string()
        })
        .filter(|path| !path.contains('<'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(20_780), (2026, 11, 23));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn the_platform_is_read_or_said_unknown() {
        let p = Platform::capture();
        for field in [&p.virtualisation, &p.transparent_huge_pages, &p.clocksource, &p.libc] {
            assert!(!field.is_empty() && !field.contains('\n'), "{p:?}");
        }
        assert!(["always", "madvise", "never", "unknown"].contains(&p.transparent_huge_pages.as_str()), "{p:?}");
        if cfg!(target_os = "linux") {
            assert_ne!(p.clocksource, "unknown", "{p:?}");
        }
    }

    #[test]
    fn a_second_run_of_the_day_gets_its_own_folder() {
        let results = std::env::temp_dir().join(format!("boundary-run-dir-{}", std::process::id()));
        let text = String::new;
        let env = Environment {
            schema: SCHEMA,
            date: "2026-11-24T09:00:00Z".to_string(),
            cpu: text(),
            cores: 2,
            os: text(),
            rustc: text(),
            wasmtime: text(),
            git_revision: text(),
            command: text(),
            mode: text(),
            module: None,
            elapsed_s: None,
            platform: None,
        };
        assert_eq!(run_dir(&results, &env), results.join("2026-11-24"));
        fs::create_dir_all(results.join("2026-11-24")).unwrap();
        assert_eq!(run_dir(&results, &env), results.join("2026-11-24-2"));
        fs::create_dir_all(results.join("2026-11-24-2")).unwrap();
        assert_eq!(run_dir(&results, &env), results.join("2026-11-24-3"));
        fs::remove_dir_all(&results).unwrap();
    }

    #[test]
    fn elapsed_times_read_well() {
        assert_eq!(format_elapsed(47.6), "48 s");
        assert_eq!(format_elapsed(863.2), "14 min 23 s");
    }
}

/// `text` escaped for XML character data and attribute values (the charts' SVG).
pub fn xml(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// A duration in nanoseconds, to three significant figures with a unit.
pub fn format_ns(ns: f64) -> String {
    let (value, unit) = match ns {
        n if n < 1e3 => (n, "ns"),
        n if n < 1e6 => (n / 1e3, "µs"),
        n if n < 1e9 => (n / 1e6, "ms"),
        n => (n / 1e9, "s"),
    };
    let digits = if value < 10.0 {
        2
    } else if value < 100.0 {
        1
    } else {
        0
    };
    format!("{value:.digits$} {unit}")
}

/// The workspace root of the checkout this was built from (the folder holding `results/`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().map(PathBuf::from).unwrap_or_default()
}

/// Where a command writes what it records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Records {
    /// The checkout's `results/`, where a complete run of the project's guest goes, to be committed; `None` for the
    /// installed `boundary`, which writes everything under `scratch`.
    pub committed: Option<PathBuf>,
    /// Where every other record goes: `target/boundary-results/` under `cargo bench`, `--out` (by default
    /// `./boundary-results/`) for `boundary`.
    pub scratch: PathBuf,
    /// Criterion's own folder (its estimates, which the matrix's record reads back).
    pub criterion: PathBuf,
    /// The program the user ran, as records write its command line: `cargo bench` or `boundary`.
    pub program: String,
}

impl Records {
    /// The places of a `cargo bench` run in this checkout: `results/` and `<target>/boundary-results/`, where
    /// `<target>` holds the running executable (`<target>/<profile>/deps/`).
    pub fn checkout() -> Self {
        let target = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.ancestors().nth(3).map(PathBuf::from))
            .unwrap_or_else(|| workspace_root().join("target"));
        Records {
            committed: Some(workspace_root().join("results")),
            scratch: target.join("boundary-results"),
            criterion: target.join("criterion"),
            program: "cargo bench".to_string(),
        }
    }

    /// The command line a record writes for a run of this process: `cargo bench --bench TARGET -- ARGS` or
    /// `boundary ARGS`, from the arguments this process was given.
    pub fn command_line(&self, cargo_target: &str) -> String {
        let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
        if self.committed.is_none() {
            return std::iter::once(self.program.clone()).chain(args).collect::<Vec<_>>().join(" ");
        }
        let command = format!("{} --bench {cargo_target}", self.program);
        if args.is_empty() { command } else { format!("{command} -- {}", args.join(" ")) }
    }

    /// Where a run of the sweep `kind` (`payload`, `serving`) writes its record, and the committed folder it goes
    /// into, if it does: a user's module's under `<scratch>/<module>-<hash>/<kind>/` (`module` names it); a complete
    /// run of the project's guest in this checkout under `results/<kind>/<date>/`; any other under `<scratch>/<kind>/`.
    pub fn sweep_folder(
        &self,
        kind: &str,
        module: Option<String>,
        complete: bool,
        environment: &Environment,
    ) -> (PathBuf, Option<PathBuf>) {
        let committed = self.committed.as_ref().map(|results| results.join(kind)).filter(|_| complete);
        match (module, committed) {
            (Some(module), _) => (self.scratch.join(module).join(kind), None),
            (None, Some(committed)) => (run_dir(&committed, environment), Some(committed)),
            (None, None) => (self.scratch.join(kind), None),
        }
    }

    /// The places of the `boundary` command: everything under `out`.
    pub fn under(out: &Path) -> Self {
        Records {
            committed: None,
            scratch: out.to_path_buf(),
            criterion: out.join("criterion"),
            program: "boundary".to_string(),
        }
    }
}

/// The run folders under `dir` that hold `file`, oldest first. A run folder is named by its date (`YYYY-MM-DD`),
/// with `-2`, `-3`, ... for a day's later runs ([`run_dir`]): sorted by date, then by number, so `...-24-10` comes
/// after `...-24-2`.
pub fn run_folders(dir: &Path, file: &str) -> io::Result<Vec<String>> {
    let mut names: Vec<String> = match fs::read_dir(dir) {
        Ok(entries) => entries.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    names.retain(|name| dir.join(name).join(file).is_file());
    names.sort_by_key(|name| run_order(name));
    Ok(names)
}

/// Where a run folder's name puts it: its date, then its number in the day (1 for the first).
fn run_order(name: &str) -> (String, u32) {
    match name.get(10..).and_then(|rest| rest.strip_prefix('-')) {
        Some(number) => (name[..10].to_string(), number.parse().unwrap_or(0)),
        None => (name.to_string(), 1),
    }
}

/// The newest run folder under `dir` holding `file`, and the record in it.
pub fn newest<T: serde::de::DeserializeOwned>(dir: &Path, file: &str) -> io::Result<Option<(String, T)>> {
    let Some(name) = run_folders(dir, file)?.pop() else { return Ok(None) };
    let text = fs::read_to_string(dir.join(&name).join(file))?;
    let record = serde_json::from_str(&text).map_err(io::Error::other)?;
    Ok(Some((name, record)))
}

/// `text` with the block after the line `begin` and before `end` replaced by `block`, or `None` without the
/// markers.
pub fn replace_block(text: &str, begin: &str, end: &str, block: &str) -> Option<String> {
    let from = text.find(begin)? + begin.len();
    let to = text.find(end)?;
    (from <= to).then(|| format!("{}\n{block}{}", &text[..from], &text[to..]))
}

/// Rewrites the block of `readme` between the markers `begin` and `end` as `block`.
pub fn write_block(readme: &Path, begin: &str, end: &str, block: &str) -> io::Result<()> {
    let text = fs::read_to_string(readme)?;
    let replaced = replace_block(&text, begin, end, block)
        .ok_or_else(|| io::Error::other(format!("{} lacks the markers `{begin}` and `{end}`", readme.display())))?;
    fs::write(readme, replaced)
}
