//! A WASI command as a toolchain emits it (`_start`, WASI preview 1), for the host's request files
//! (`[command]`). The first argument says what it does:
//!
//! - `upper`: stdin to stdout, ASCII letters in upper case;
//! - `args`: each later argument on a line of its own;
//! - `env`: each environment variable as `KEY=value`, one a line, sorted;
//! - `ls DIR`: the names in a directory, sorted, one a line;
//! - `cat FILE`: a file's bytes;
//! - `write FILE`: creates a file and writes to it; says `written` or why it could not;
//! - `exit N`: exits with status N;
//! - `flood`: writes lines to stdout without end;
//! - `spin`: loops without end;
//! - `grow`: takes memory without end.

use std::io::{Read, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest = args.get(1..).unwrap_or_default();
    let mut out = std::io::stdout().lock();
    let result = match args.first().map(String::as_str) {
        Some("upper") => {
            let mut input = Vec::new();
            std::io::stdin().read_to_end(&mut input).and_then(|_| out.write_all(&input.to_ascii_uppercase()))
        }
        Some("args") => rest.iter().try_for_each(|arg| writeln!(out, "{arg}")),
        Some("env") => {
            let mut vars: Vec<String> = std::env::vars().map(|(k, v)| format!("{k}={v}")).collect();
            vars.sort();
            vars.iter().try_for_each(|var| writeln!(out, "{var}"))
        }
        Some("ls") => std::fs::read_dir(arg(rest)).and_then(|entries| {
            let mut names = entries
                .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
                .collect::<Result<Vec<_>, _>>()?;
            names.sort();
            names.iter().try_for_each(|name| writeln!(out, "{name}"))
        }),
        Some("cat") => std::fs::read(arg(rest)).and_then(|bytes| out.write_all(&bytes)),
        Some("write") => match std::fs::write(arg(rest), b"written by the guest\n") {
            Ok(()) => writeln!(out, "written"),
            Err(e) => writeln!(out, "could not write: {}", e.kind()),
        },
        Some("exit") => return ExitCode::from(arg(rest).parse::<u8>().unwrap_or(1)),
        Some("flood") => loop {
            if let Err(e) = out.write_all(b"flooding stdout\n") {
                break Err(e);
            }
        },
        Some("spin") => {
            let mut n: u64 = 0;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        }
        Some("grow") => {
            let mut held: Vec<Vec<u8>> = Vec::new();
            loop {
                held.push(vec![1u8; 1 << 20]);
                std::hint::black_box(&held);
            }
        }
        _ => {
            eprintln!("usage: command_guest upper|args|env|ls DIR|cat FILE|write FILE|exit N|flood|spin|grow");
            return ExitCode::from(64);
        }
    };
    match result.and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("command_guest: {e}");
            ExitCode::from(70)
        }
    }
}

/// The first argument after the command's own, or an empty one.
fn arg(rest: &[String]) -> &str {
    rest.first().map_or("", String::as_str)
}
