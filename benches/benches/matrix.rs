//! `cargo bench --bench matrix`: the criterion matrix (`benches/src/matrix/`), as `boundary bench` runs it.

fn main() -> std::process::ExitCode {
    boundary_benches::roles::serve().unwrap_or_else(boundary_benches::matrix::cargo_main)
}
