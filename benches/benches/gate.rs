//! `cargo bench --bench gate`: the deterministic performance gate (`benches/src/gate/`). Counts the instructions of
//! each scenario under callgrind, compares them with a baseline (`results/gate-baseline.json` for the project's
//! guest), prints a table, and fails when any scenario grows by more than the threshold; `--help` lists the options.

fn main() -> std::process::ExitCode {
    boundary_benches::roles::serve().unwrap_or_else(|| {
        let options: boundary_benches::gate::runner::Options =
            boundary_benches::options::parse_or_exit(std::env::args());
        boundary_benches::gate::runner::command(&options)
    })
}
