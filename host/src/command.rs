//! A WASI command as a request runs it (`[command]`, `plugin/request.rs`): what its store's WASI context gives the
//! guest (`module.rs` builds it). Apart from the plugin code, so that the store's maker needs nothing of it.

use std::path::PathBuf;

/// The export a WASI command runs.
pub const START: &str = "_start";

/// The most a command's stdout may hold when the request does not say (`max_stdout`).
pub const DEFAULT_MAX_STDOUT: usize = 1 << 20;

/// The most bytes a command's stdin may hold (it is held in host memory once, beside the stores).
pub const MAX_STDIN_BYTES: usize = 1 << 30;

/// The largest `max_stdout` a request may give: what the host may hold of one command's stdout.
pub const MAX_STDOUT_LIMIT: usize = 1 << 30;

/// A WASI command a request runs: `_start` on an instance of its own, which sees these arguments, this
/// environment and this stdin and nothing else of the host's (no inherited environment, no directory but the
/// preopened one); its stdout, at most `max_stdout` bytes, is the request's output.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    /// The program's name (`argv[0]`); the module's file name when the request gives none.
    pub program: Option<String>,
    /// The arguments after the program's name.
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Shared by every store that runs the command: its WASI stdin reads it without a copy.
    pub stdin: std::sync::Arc<[u8]>,
    /// The exit status that means success.
    pub exit: i32,
    /// The most bytes the command may write to stdout: one more ends it with an error.
    pub max_stdout: usize,
    /// A host directory the guest sees, read-only.
    pub preopen: Option<Preopen>,
}

impl Command {
    /// `argv` as the guest sees it, with `name` as the program's name unless the request gives one.
    pub fn argv(&self, name: &str) -> Vec<String> {
        let program = self.program.clone().unwrap_or_else(|| name.to_string());
        std::iter::once(program).chain(self.args.iter().cloned()).collect()
    }
}

/// A host directory a command sees read-only, at `guest` (`.` unless the request says).
#[derive(Debug, Clone, PartialEq)]
pub struct Preopen {
    pub dir: PathBuf,
    pub guest: String,
}
