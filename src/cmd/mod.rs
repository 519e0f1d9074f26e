//! The subcommands of `flowc`, one module each, and the exit statuses they
//! share.
//!
//! A subcommand module exposes an `…Args` struct (clap derive, with an
//! EXAMPLES section in its help) and a `run` function returning [`Exit`].

pub mod build;
pub mod check;
pub mod completions;
pub mod explain;
pub mod fmt;
pub mod graph;
pub mod job;
pub mod peer;
pub mod run;

use std::process::ExitCode;

/// How a subcommand ended, as the process exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Everything was fine (warnings allowed).
    Success,
    /// `fmt --check` found files that are not formatted.
    Changes,
    /// `run`: the job failed at run time.
    Failed,
    /// The program or the command line has errors, or a file could not be
    /// read or written.
    Errors,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        match exit {
            Exit::Success => ExitCode::SUCCESS,
            Exit::Changes | Exit::Failed => ExitCode::from(1),
            Exit::Errors => ExitCode::from(2),
        }
    }
}
