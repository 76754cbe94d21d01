//! `cargo bench --bench payload`: the payload sweep (`benches/src/payload/`), as `boundary payload` runs it.

fn main() -> std::process::ExitCode {
    boundary_benches::roles::serve().unwrap_or_else(boundary_benches::payload::cargo_main)
}
