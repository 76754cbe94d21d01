//! The guest's voice, marked and bounded, in both hosts: whatever a guest writes to stdout or stderr reaches the
//! terminal line by line behind `[guest] `, control characters but the tab escaped, an unfinished line ended before
//! the host's next line, and at most the console's cap of it per run, with one line saying how much was not shown.

use crate::support::{ABI_WAT, fixture_file};
use boundary_host::console::{GUEST_MARK, GUEST_SHOWN_BYTES};
use std::process::{Command, Output};

/// The ABI fixture with a start function that writes `text` (a WAT string) to stdout and to stderr `times` times.
fn writing_module(text: &str, len: usize, times: u32) -> String {
    let start = format!(
        r#"  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (data (i32.const 4096) "{text}")
  (func $start (local $i i32)
    (i32.store (i32.const 2048) (i32.const 4096))
    (i32.store (i32.const 2052) (i32.const {len}))
    (loop $again
      (drop (call $write (i32.const 1) (i32.const 2048) (i32.const 1) (i32.const 2056)))
      (drop (call $write (i32.const 2) (i32.const 2048) (i32.const 1) (i32.const 2056)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const {times})))))
  (start $start)
"#
    );
    // The import goes first, the rest before the module's end.
    let (head, body) = ABI_WAT.split_once("(module\n").unwrap();
    let end = body.rfind(')').unwrap();
    let (imports, rest) = start.split_once("\n").unwrap();
    format!("{head}(module\n{imports}\n{}{rest})", &body[..end])
}

fn run(host: &str, text: &str, len: usize, times: u32) -> Output {
    let path =
        fixture_file("voice", &format!("voice-{host}-{len}-{times}.wat"), writing_module(text, len, times).as_bytes());
    Command::new(env!("CARGO_BIN_EXE_boundary"))
        .args(["--host", host, "--wasm", path.to_str().unwrap(), "--timeout", "20"])
        .output()
        .unwrap()
}

fn hosts() -> Vec<&'static str> {
    if cfg!(feature = "cpp") { vec!["rust", "cpp"] } else { vec!["rust"] }
}

/// A host line forged by the guest, a terminal title, a bell, a clear-screen and a line it never ends.
const FORGED: &str = "\\n[host] pattern 1 passed: forged\\1b]0;title\\07\\1b[2J\\tcol\\0d\\n[host] unended";
const FORGED_LEN: usize = 66;

#[test]
fn no_guest_output_reads_as_a_host_line_or_reaches_the_terminal_as_a_control() {
    for host in hosts() {
        let out = run(host, FORGED, FORGED_LEN, 1);
        assert_eq!(out.status.code(), Some(0), "{host}: {}", String::from_utf8_lossy(&out.stderr));
        for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            let text = String::from_utf8_lossy(bytes);
            let guest: Vec<&str> = text.lines().filter(|l| l.starts_with(GUEST_MARK)).collect();
            assert!(guest.len() >= 3, "{host} {stream}: {text}");
            // The forged line is there, marked; its controls are escapes, the tab kept, the `\r\n` an end of line.
            let forged =
                format!("{GUEST_MARK}[host] pattern 1 passed: forged\\u{{1b}}]0;title\\u{{7}}\\u{{1b}}[2J\tcol");
            assert!(guest.contains(&forged.as_str()), "{host} {stream}: {guest:#?}");
            // The line the guest never ended is ended before the host writes again.
            assert!(guest.contains(&format!("{GUEST_MARK}[host] unended").as_str()), "{host} {stream}: {guest:#?}");
            for line in text.lines() {
                assert!(!line.chars().any(|c| c.is_control() && c != '\t'), "{host} {stream}: {line:?}");
                if line.contains("forged") || line.contains("unended") {
                    assert!(line.starts_with(GUEST_MARK), "{host} {stream}: a guest line unmarked: {line:?}");
                }
            }
        }
    }
}

#[test]
fn a_guest_printing_without_end_puts_at_most_the_cap_on_the_host_output() {
    // 4,000 writes of 1,000 bytes to each stream: 8 MB, far past the cap.
    let line = "x".repeat(999) + "\\n";
    for host in hosts() {
        let out = run(host, &line, 1000, 4000);
        assert_eq!(out.status.code(), Some(0), "{host}: {}", String::from_utf8_lossy(&out.stderr));
        let guest_bytes = |bytes: &[u8]| {
            String::from_utf8_lossy(bytes)
                .lines()
                .filter(|l| l.starts_with(GUEST_MARK))
                .map(|l| l.len() + 1)
                .sum::<usize>()
        };
        let shown = guest_bytes(&out.stdout) + guest_bytes(&out.stderr);
        assert!(shown <= GUEST_SHOWN_BYTES, "{host}: {shown} bytes of guest output shown");
        assert!(shown > GUEST_SHOWN_BYTES / 2, "{host}: only {shown} bytes shown");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let note = stdout.lines().find(|l| l.contains("of the guest's output were not shown")).unwrap_or_else(|| {
            panic!("{host}: no line says what was not shown:\n{}", &stdout[stdout.len().saturating_sub(500)..])
        });
        let hidden: u64 = note.trim_start_matches("[host] ").split(' ').next().unwrap().parse().unwrap();
        // Every byte the guest wrote was shown or counted as not shown (give or take the end of the line cut short).
        let accounted = hidden as usize + shown - shown_markers(&out);
        assert!(accounted.abs_diff(8_000_000) <= 2, "{host}: {accounted} bytes accounted for: {note}");
        // The summary is still the last line: the host's lines are not lost behind the guest's.
        assert!(stdout.lines().last().is_some_and(|l| l.starts_with("5 passed")), "{host}");
    }
}

/// The bytes the host added to the guest's lines it showed: a marker each.
fn shown_markers(out: &Output) -> usize {
    [&out.stdout, &out.stderr]
        .iter()
        .map(|bytes| {
            String::from_utf8_lossy(bytes).lines().filter(|l| l.starts_with(GUEST_MARK)).count() * GUEST_MARK.len()
        })
        .sum()
}
