//! Every role a child copy of a command may be started in, dispatched in one place: each binary that hosts the
//! commands (`boundary`, the `cargo bench` targets) calls [`serve`] first, so that a child started by [`Child`]
//! finds its role whichever binary it is. Roles and their arguments travel in [`crate::child::ROLE_VAR`].
//!
//! [`Child`]: crate::child::Child

use crate::{child, gate, matrix, options, serving, versions};
use std::process::ExitCode;

/// If this process is a child in one of the commands' roles, runs the role and returns its exit status; `None`
/// for a process started by a user.
pub fn serve() -> Option<ExitCode> {
    let (role, args) = match child::role() {
        Ok(None) => return None,
        Ok(Some(role)) => role,
        Err(e) => {
            eprintln!("error: {e}");
            return Some(ExitCode::from(options::EXIT_BAD_INPUT));
        }
    };
    Some(match role.as_str() {
        matrix::OVERHEAD_ROLE => matrix::overhead_child(),
        matrix::CRITERION_ROLE => matrix::criterion_child(&args),
        serving::DENSITY_ROLE => serving::density_child(&args),
        gate::runner::COUNT_ROLE | gate::runner::TRIAL_ROLE | gate::runner::TIME_ROLE | gate::runner::CPU_ROLE => {
            gate::runner::child_role(&role, &args)
        }
        versions::SETTINGS_ROLE => versions::settings_child(),
        other => {
            eprintln!("error: no command has a child role `{}`", boundary_host::escape_controls(other));
            ExitCode::from(options::EXIT_BAD_INPUT)
        }
    })
}
