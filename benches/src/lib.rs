//! The measuring library behind every command that measures a guest: the criterion matrix (`matrix`), the payload
//! sweep (`payload`), the serving path (`serving`) and the instruction-count gate (`gate`), each with its record;
//! the operations they time (`ops`), what a run measures and what it serves (`subject`, `probe`); and the machinery
//! they share: the command-line options (`options`), the guard rails for a measured guest (`guard`), running this
//! executable in another role (`child`), and the records' common parts (`record`). The `boundary` command
//! (`host/cli`) and the `cargo bench` targets (`benches/benches/`) are thin callers of it.

pub mod child;
pub mod fuzz;
pub mod gate;
pub mod guard;
pub mod matrix;
pub mod ops;
pub mod options;
pub mod payload;
pub mod probe;
pub mod record;
pub mod roles;
pub mod serving;
pub mod subject;
pub mod versions;
