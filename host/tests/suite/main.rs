//! The host core's test suite: the five patterns, bad input, memory bounds, deadlines, and the article's guest.

#[path = "../support/mod.rs"]
mod support;

mod article_guest;
mod async_calls;
mod bad_input;
mod budget;
mod commands;
mod component;
mod deadlines;
mod foreign_imports;
mod memory_bounds;
mod patterns;
