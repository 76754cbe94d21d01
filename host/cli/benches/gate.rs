//! `cargo bench --bench gate`: the deterministic performance gate (`benches/src/gate/`), run as `boundary gate` with
//! the same arguments, so that both count with one binary: every counted child is the `boundary` command, whichever
//! entry point started the gate, and the counts of `results/gate-baseline.json` do not depend on it. `--help` lists
//! the options.

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    // cargo passes `--bench`; the gate takes none of cargo's arguments.
    let args = std::env::args().skip(1).filter(|a| a != "--bench");
    match Command::new(env!("CARGO_BIN_EXE_boundary")).arg("gate").args(args).status() {
        Ok(status) => ExitCode::from(status.code().map_or(1, |c| c.clamp(0, 255) as u8)),
        Err(e) => {
            eprintln!("error: cannot run {}: {e}", env!("CARGO_BIN_EXE_boundary"));
            ExitCode::from(2)
        }
    }
}
