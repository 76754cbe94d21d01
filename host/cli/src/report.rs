//! `boundary run --json FILE`: the main job's checks as JSON, for CI. Every pattern, export check and request
//! expectation with its result, the `error:` line if the run ended on one, the summary line and the exit status, written
//! whichever way the run ends (once the options have been read).
//!
//! ```json
//! {"schema": 3, "module": "the built-in guest", "abi": "core", "profile": "cranelift",
//!  "checks": [{"kind": "pattern", "name": "1: host calls guest", "result": "passed"}, ...],
//!  "error": null, "summary": "5 passed, 0 failed; 3 more exports checked", "exit_status": 0}
//! ```

use serde::Serialize;
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Mutex, PoisonError};

/// One check of the run.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// `pattern`, `export` or `request`.
    pub kind: &'static str,
    /// The pattern's number and title, the export's name, or the expectation on the request's output.
    pub name: String,
    /// `passed`, `failed`, `unverified`, or `not checked` (an export the guest lacks).
    pub result: &'static str,
    /// What was wrong, or why it was not checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// What `--json` writes.
#[derive(Debug, Clone, Serialize)]
struct Report {
    schema: u32,
    module: String,
    abi: String,
    profile: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    request: Option<String>,
    checks: Vec<Check>,
    error: Option<String>,
    summary: Option<String>,
    exit_status: u8,
}

/// The run's report, while it runs (one main job per process).
static REPORT: Mutex<Option<Report>> = Mutex::new(None);

fn with(f: impl FnOnce(&mut Report)) {
    if let Some(report) = REPORT.lock().unwrap_or_else(PoisonError::into_inner).as_mut() {
        f(report);
    }
}

/// Starts collecting (only when `--json` was given: otherwise every call below does nothing).
pub fn start(module: String, abi: &str, profile: &str, request: Option<String>) {
    *REPORT.lock().unwrap_or_else(PoisonError::into_inner) = Some(Report {
        schema: boundary_benches::record::SCHEMA,
        module,
        abi: abi.to_string(),
        profile: profile.to_string(),
        request,
        checks: Vec::new(),
        error: None,
        summary: None,
        exit_status: 0,
    });
}

pub fn check(kind: &'static str, name: String, result: &'static str, detail: Option<String>) {
    with(|r| r.checks.push(Check { kind, name, result, detail }));
}

/// The `error:` line the run ended on, without its `error: `.
pub fn error(text: &str) {
    with(|r| r.error = Some(text.to_string()));
}

pub fn summary(text: &str) {
    with(|r| r.summary = Some(text.to_string()));
}

/// The exit status `code`, recorded as the run ends with it.
pub fn exit(code: u8) -> ExitCode {
    with(|r| r.exit_status = code);
    ExitCode::from(code)
}

/// Writes the report to `path`; `Err` with one line if it cannot.
pub fn write(path: &Path) -> Result<(), String> {
    let report = REPORT.lock().unwrap_or_else(PoisonError::into_inner).clone();
    let Some(report) = report else { return Ok(()) };
    let json = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())? + "\n";
    std::fs::write(path, json).map_err(|e| format!("--json {}: {e}", path.display()))
}
