//! The commands, one file each: the loss computation, `merge` and `completions`.

pub mod completions;
pub mod merge;
pub mod run;

use anyhow::Result;

use crate::cli::Task;

/// Runs a checked command line.
pub fn run(task: &Task) -> Result<()> {
    match task {
        Task::Run(config) => run::run(config),
        Task::Merge(config) => merge::run(config),
        Task::Completions(shell) => completions::run(*shell),
    }
}
