//! The `boundary` command as a user runs it: the run, bad input, deadlines on every step, the guard-rails table,
//! and the article's guest.

#[path = "../../../tests/support/mod.rs"]
mod support;

mod cli;
mod commands;
mod components;
mod deadlines;
mod exceptions;
mod foreign_imports;
mod guard_rails;
mod hostile;
mod measuring;
mod plugins;
mod versions;
mod voice;
