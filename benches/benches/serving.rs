//! `cargo bench --bench serving`: the serving path (`benches/src/serving/`), as `boundary serve` runs it.

fn main() -> std::process::ExitCode {
    boundary_benches::roles::serve().unwrap_or_else(boundary_benches::serving::cargo_main)
}
