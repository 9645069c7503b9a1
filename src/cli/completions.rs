//! `huber completions SHELL`: a completion script generated from the command-line definition.

use std::io::Write;

use anyhow::Result;
use clap::CommandFactory;
use clap_complete::Shell;

use super::Cli;

/// Writes the completion script for `shell` to stdout.
pub fn run(shell: Shell) -> Result<()> {
    // Generated into memory: clap_complete panics on a failed write, and `| head` is no bug.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "huber", &mut script);
    let mut out = std::io::stdout().lock();
    out.write_all(&script)?;
    Ok(out.flush()?)
}
