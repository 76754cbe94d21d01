//! Where the host's lines and the guest's bytes meet the terminal. A guest's output is the guest's: every byte it
//! writes to stdout or stderr that a host shows goes through [`guest`], which keeps it apart from the host's own
//! lines:
//!
//! - it is shown line by line, each line behind [`GUEST_MARK`], a marker no host line starts with, on the host's
//!   stream of the same name (a guest cannot forge a `[host]` line or an `error:` line);
//! - every control character but the tab, the separators and the marks that reorder text on screen are written as
//!   `\u{..}` escapes, as guest-chosen names are in errors ([`crate::escape_controls`]): no escape sequence, bell or
//!   carriage return of the guest's reaches the terminal;
//! - a line the guest has not ended is ended (and shown) before the host writes a line of its own ([`host_out`],
//!   [`host_err`]) or the process ends;
//! - at most [`GUEST_SHOWN_BYTES`] bytes are written to the host's streams for the guest per process, stdout and
//!   stderr together, markers and escapes included. The guest's writes past that still succeed and are dropped, and
//!   [`finish`] says in one host line how many of the guest's bytes were not shown.
//!
//! Hosts that keep the guest's stdout for a check (pattern 5) keep its bytes as they were: the console changes only
//! what is shown. The console is process-wide, as the streams it writes to are.

use std::fmt;
use std::io::Write;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// What every line of guest output shown starts with. Host lines start with `[host]`, `error:` or a summary's words.
pub const GUEST_MARK: &str = "[guest] ";
/// The most bytes written to the host's streams for the guest per process; the rest is counted and dropped.
pub const GUEST_SHOWN_BYTES: usize = 64 * 1024;
/// The longest guest line shown as one line; a longer one is shown in pieces of this many bytes, each marked.
pub const GUEST_LINE_BYTES: usize = 4096;

/// One of the two streams a guest writes to, shown on the host's stream of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn index(self) -> usize {
        match self {
            Stream::Stdout => 0,
            Stream::Stderr => 1,
        }
    }
}

struct Console {
    /// The guest's unfinished line on each stream.
    pending: [Vec<u8>; 2],
    /// Bytes written to the host's streams for the guest so far (markers and escapes included).
    shown: usize,
    /// Bytes of guest output dropped past [`GUEST_SHOWN_BYTES`].
    hidden: u64,
}

static CONSOLE: Mutex<Console> = Mutex::new(Console { pending: [Vec::new(), Vec::new()], shown: 0, hidden: 0 });

fn console() -> MutexGuard<'static, Console> {
    CONSOLE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Shows `bytes` the guest wrote to `stream`, as the module documentation says. Never fails: a host stream that
/// is closed loses what the guest wrote, not the guest's write.
pub fn guest(stream: Stream, bytes: &[u8]) {
    let mut console = console();
    if console.shown >= GUEST_SHOWN_BYTES {
        console.hidden += bytes.len() as u64;
        return;
    }
    let mut rest = bytes;
    while !rest.is_empty() {
        let pending = &console.pending[stream.index()];
        let room = GUEST_LINE_BYTES - pending.len();
        match rest.iter().position(|&b| b == b'\n') {
            Some(end) if end <= room => {
                console.pending[stream.index()].extend_from_slice(&rest[..end]);
                rest = &rest[end + 1..];
                emit(&mut console, stream);
            }
            // No end of line in reach: as much as the line has room for (never the end of line itself).
            _ => {
                let take = rest.len().min(room);
                console.pending[stream.index()].extend_from_slice(&rest[..take]);
                rest = &rest[take..];
                if console.pending[stream.index()].len() == GUEST_LINE_BYTES {
                    emit(&mut console, stream);
                }
            }
        }
    }
}

/// Writes the pending line of `stream`, marked, escaped and cut to what is left of [`GUEST_SHOWN_BYTES`], and
/// empties it; the bytes cut off are counted as not shown.
fn emit(console: &mut Console, stream: Stream) {
    let line = std::mem::take(&mut console.pending[stream.index()]);
    let line = line.strip_suffix(b"\r").unwrap_or(&line);
    let room = GUEST_SHOWN_BYTES.saturating_sub(console.shown);
    let mut shown = String::with_capacity(GUEST_MARK.len() + line.len() + 1);
    shown.push_str(GUEST_MARK);
    // Room for the marker and the end of line, or nothing is shown.
    let mut cut = shown.len() + 1 > room;
    let mut hidden = 0u64;
    for chunk in line.utf8_chunks() {
        let pieces = chunk.valid().chars().map(|c| (escape_guest_char(c), c.len_utf8()));
        let invalid = (!chunk.invalid().is_empty()).then(|| ('\u{fffd}'.to_string(), chunk.invalid().len()));
        for (piece, raw) in pieces.chain(invalid) {
            if cut || shown.len() + piece.len() + 1 > room {
                cut = true;
                hidden += raw as u64;
            } else {
                shown.push_str(&piece);
            }
        }
    }
    console.hidden += hidden;
    if shown.len() + 1 > room {
        console.shown = GUEST_SHOWN_BYTES;
        return;
    }
    shown.push('\n');
    console.shown += shown.len();
    // A closed or full host stream loses the guest's line; the guest's write has already succeeded.
    let _ = match stream {
        Stream::Stdout => std::io::stdout().lock().write_all(shown.as_bytes()),
        Stream::Stderr => std::io::stderr().lock().write_all(shown.as_bytes()),
    };
    if cut {
        console.shown = GUEST_SHOWN_BYTES;
    }
}

/// One character of a guest line as shown: as [`crate::escape_controls`] shows it, but a tab stays a tab.
fn escape_guest_char(c: char) -> String {
    if c == '\t' {
        return c.to_string();
    }
    let mut buf = [0u8; 4];
    crate::error::escape_controls(c.encode_utf8(&mut buf)).into_owned()
}

/// Ends the guest's unfinished lines (each is shown as a line of its own).
fn end_guest_lines(console: &mut Console) {
    for stream in [Stream::Stdout, Stream::Stderr] {
        if !console.pending[stream.index()].is_empty() {
            emit(console, stream);
        }
    }
}

/// Prints one line of the host's on stdout, after the guest's unfinished lines.
pub fn host_out(line: fmt::Arguments<'_>) {
    let mut console = console();
    end_guest_lines(&mut console);
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// Prints one line of the host's on stderr, after the guest's unfinished lines.
pub fn host_err(line: fmt::Arguments<'_>) {
    let mut console = console();
    end_guest_lines(&mut console);
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// Ends the guest's unfinished lines and, if guest output was dropped, says so in one host line on stdout. Call it
/// before the process ends (the watchdog does, before its `error:` line).
pub fn finish() {
    let mut console = console();
    end_guest_lines(&mut console);
    if console.hidden > 0 {
        let _ = writeln!(
            std::io::stdout().lock(),
            "[host] {} bytes of the guest's output were not shown (at most {} KiB is shown per run)",
            console.hidden,
            GUEST_SHOWN_BYTES >> 10
        );
        console.hidden = 0;
    }
    let _ = std::io::stdout().flush();
}

/// How many bytes of guest output were dropped so far, for tests.
pub fn hidden_bytes() -> u64 {
    console().hidden
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_text_keeps_tabs_and_escapes_every_other_control() {
        let escape = |text: &str| text.chars().map(escape_guest_char).collect::<String>();
        assert_eq!(escape("a\tb"), "a\tb");
        assert_eq!(escape("\u{1b}]0;title\u{7}\u{1b}[2J"), "\\u{1b}]0;title\\u{7}\\u{1b}[2J");
        assert_eq!(escape("x\u{202e}y\u{9b}"), "x\\u{202e}y\\u{9b}");
    }
}
