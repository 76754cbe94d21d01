//! `cargo bench --bench gate`: the deterministic performance gate. Counts the instructions of each scenario in
//! `benches/src/gate.rs` under callgrind, compares them with a baseline (`results/gate-baseline.json` for the
//! project's guest), prints a table, and fails when any scenario grows by more than the threshold.
//!
//! ```text
//! cargo bench --bench gate                           # the gate (exit status 1 on a regression)
//! cargo bench --bench gate -- --threshold 5          # another threshold, in percent
//! cargo bench --bench gate -- --save-baseline        # refresh the baseline (with --filter: only those scenarios)
//! cargo bench --bench gate -- --repeat 5             # count everything five times and report the spread
//! cargo bench --bench gate -- --filter calls/        # only scenarios (or profiles) containing a string
//! cargo bench --bench gate -- --jobs 1               # count one scenario at a time (default: one per core)
//! cargo bench --bench gate -- --wasm my.wasm --baseline my-gate.json [--save-baseline]
//!                                                    # the scenarios your module serves, against your baseline
//! cargo bench --bench gate -- --wasm my.wasm --invoke f=1,2 --baseline my-gate.json --bmf counts.json
//!                                                    # and the export `f`; the counts also in Bencher's format
//! ```
//!
//! Each scenario runs in its own process under `valgrind --tool=callgrind`, which collects only inside
//! `boundary_gate_measured`: engine creation, compilation, instantiation and a warm-up are not counted. The
//! counts do not depend on how many run at once.

use boundary_benches::{counting, options};
use std::process::ExitCode;

fn main() -> ExitCode {
    match counting::child_from_env() {
        Ok(true) => return ExitCode::SUCCESS,
        Ok(false) => {}
        Err(e) => {
            eprintln!("error: {}", boundary_host::escape_controls(&e));
            return ExitCode::from(options::EXIT_BAD_INPUT);
        }
    }
    let options: counting::Options = options::parse_or_exit(std::env::args());
    let result = counting::Launcher::this(Vec::new()).and_then(|launcher| counting::run(&options, &launcher));
    match result {
        Ok(outcome) if outcome.passed => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {}", boundary_host::escape_controls(&e));
            ExitCode::from(options::EXIT_BAD_INPUT)
        }
    }
}
