//! Deliberate slowdowns, for proving that the performance gate catches a slower host core. Compiled only with
//! the `inject-slowdown` feature, and even then off unless `BOUNDARY_INJECT_SLOWDOWN` says what to inject:
//!
//! - `lookup`: look the export up by name on every call, as the article's host does;
//! - `spin:N`: `N` turns of an empty loop on every call and every host memory access;
//! - `pages:F`: `F` times the pages a served request of the bench library dirties (work the kernel does on a page
//!   fault, which instruction counts cannot see).

use std::hint::black_box;
use std::sync::OnceLock;
use wasmtime::{AsContextMut, Instance};

/// The variable that selects the slowdown.
pub const VARIABLE: &str = "BOUNDARY_INJECT_SLOWDOWN";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Lookup,
    Spin(u32),
    Pages(usize),
}

fn mode() -> Option<Mode> {
    static MODE: OnceLock<Option<Mode>> = OnceLock::new();
    *MODE.get_or_init(|| {
        let value = std::env::var(VARIABLE).ok()?;
        match value.as_str() {
            "lookup" => Some(Mode::Lookup),
            other => match other.split_once(':') {
                Some(("spin", n)) => n.parse().ok().map(Mode::Spin),
                Some(("pages", f)) => f.parse().ok().map(Mode::Pages),
                _ => None,
            },
        }
    })
}

fn spin(turns: u32) {
    for i in 0..turns {
        black_box(i);
    }
}

/// Called before every typed call into the guest.
pub(crate) fn on_call(store: impl AsContextMut, instance: &Instance, export: &str) {
    match mode() {
        Some(Mode::Lookup) => {
            black_box(instance.get_export(store, export));
        }
        Some(Mode::Spin(turns)) => spin(turns),
        Some(Mode::Pages(_)) | None => {}
    }
}

/// Called on every host read or write of guest memory.
pub(crate) fn on_memory_access() {
    if let Some(Mode::Spin(turns)) = mode() {
        spin(turns);
    }
}

/// How many times the pages it names a served request dirties: 1 unless `pages:F` is injected.
pub fn dirty_factor() -> usize {
    match mode() {
        Some(Mode::Pages(factor)) => factor,
        _ => 1,
    }
}
