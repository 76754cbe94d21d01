//! Running this executable again in another role: the one way every command starts a child copy of itself (the
//! matrix handing criterion a command line of its own, the host-core-against-raw check's measuring processes, a
//! density run, the gate's trial runs and its counted runs under callgrind).
//!
//! The child learns its role from the environment ([`ROLE_VAR`], a JSON array: the role's name, then its
//! arguments), so its command line stays free for whoever else reads it (criterion, a test harness's filter). A
//! child may get a deadline: past it, it is killed and the caller gets [`ChildError::TimedOut`].

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The environment variable that names a child's role and carries its arguments.
pub const ROLE_VAR: &str = "BOUNDARY_ROLE";

/// How often a child with a deadline is checked on.
const POLL: Duration = Duration::from_millis(20);

/// The role this process was started in and its arguments, if it is a child; an `Err` if the variable is set but
/// is not a role.
pub fn role() -> Result<Option<(String, Vec<String>)>, String> {
    let Ok(json) = std::env::var(ROLE_VAR) else { return Ok(None) };
    let mut words: Vec<String> = serde_json::from_str(&json).map_err(|e| format!("{ROLE_VAR}: {e}"))?;
    if words.is_empty() {
        return Err(format!("{ROLE_VAR} names no role"));
    }
    let name = words.remove(0);
    Ok(Some((name, words)))
}

/// What runs the child: this executable (or another that serves the same roles, such as a test binary) with its
/// own arguments, optionally under a wrapper such as valgrind.
#[derive(Debug, Clone)]
pub struct Launcher {
    pub program: PathBuf,
    /// The arguments the program itself is given (criterion's options, a test harness's filter).
    pub args: Vec<String>,
}

impl Launcher {
    /// This executable, with `args`.
    pub fn this(args: Vec<String>) -> Result<Self, String> {
        let program = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
        Ok(Launcher { program, args })
    }
}

/// One child to run: its role and the role's arguments, an optional wrapper command (its program first), whether
/// its stdout is captured (else inherited; stderr is always captured when stdout is), and a deadline.
#[derive(Debug, Clone)]
pub struct Child<'a> {
    pub launcher: &'a Launcher,
    pub role: &'a str,
    pub role_args: Vec<String>,
    pub wrapper: Vec<String>,
    pub capture: bool,
    pub deadline: Option<Duration>,
}

/// What a child that ran to its end did.
#[derive(Debug, Clone)]
pub struct Finished {
    pub status: ExitStatus,
    /// Empty unless captured.
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Finished {
    /// The child's stderr as one line, for a message.
    pub fn stderr_line(&self) -> String {
        let text = String::from_utf8_lossy(&self.stderr);
        let text = text.trim();
        boundary_host::escape_controls(text.lines().last().unwrap_or("")).into_owned()
    }
}

/// Why a child did not finish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChildError {
    /// It could not be started.
    Start(String),
    /// It ran past its deadline and was killed.
    TimedOut(Duration),
}

impl std::fmt::Display for ChildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChildError::Start(why) => write!(f, "could not start: {why}"),
            ChildError::TimedOut(after) => {
                write!(f, "was still running after {} s and was stopped", after.as_secs_f64())
            }
        }
    }
}

impl Child<'_> {
    /// Runs the child to its end or its deadline.
    pub fn run(&self) -> Result<Finished, ChildError> {
        let mut words = vec![self.role.to_string()];
        words.extend(self.role_args.iter().cloned());
        let role = serde_json::to_string(&words).map_err(|e| ChildError::Start(e.to_string()))?;
        let mut command = match self.wrapper.split_first() {
            Some((wrapper, wrapper_args)) => {
                let mut command = Command::new(wrapper);
                command.args(wrapper_args).arg(&self.launcher.program);
                command
            }
            None => Command::new(&self.launcher.program),
        };
        command.args(&self.launcher.args).env(ROLE_VAR, role).stdin(Stdio::null());
        if self.capture {
            command.stdout(Stdio::piped()).stderr(Stdio::piped());
        }
        let started = Instant::now();
        let mut child = command.spawn().map_err(|e| ChildError::Start(format!("{}: {e}", self.program_name())))?;
        // Drained on threads of their own, so a child that writes a lot never blocks on a full pipe.
        let drain = |pipe: Option<Box<dyn Read + Send>>| {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                if let Some(mut pipe) = pipe {
                    let _ = pipe.read_to_end(&mut bytes);
                }
                bytes
            })
        };
        let stdout = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
        let stderr = drain(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) => {}
                Err(e) => return Err(ChildError::Start(format!("{}: {e}", self.program_name()))),
            }
            if let Some(deadline) = self.deadline
                && started.elapsed() >= deadline
            {
                let _ = child.kill();
                let _ = child.wait();
                return Err(ChildError::TimedOut(deadline));
            }
            std::thread::sleep(POLL);
        };
        Ok(Finished { status, stdout: stdout.join().unwrap_or_default(), stderr: stderr.join().unwrap_or_default() })
    }

    fn program_name(&self) -> String {
        self.wrapper.first().cloned().unwrap_or_else(|| self.launcher.program.display().to_string())
    }
}

/// An exit status as a process's own exit code: the child's code, or 1 if a signal ended it.
pub fn exit_code(status: ExitStatus) -> std::process::ExitCode {
    std::process::ExitCode::from(status.code().map_or(1, |c| c.clamp(0, 255) as u8))
}
