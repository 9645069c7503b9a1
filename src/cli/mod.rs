//! The command line, and only it: flags, help, the terminal, signals and exit statuses. Each
//! command has a file (the loss computation, `merge`, `completions`); here the top-level parser
//! that picks one, and the program's exit status.

pub mod args;
pub mod completions;
pub mod help;
pub mod merge;
pub mod output;
pub mod plot;
pub mod progress;
pub mod run;

use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::Result;
use clap::error::{ContextKind, ErrorKind};
use clap::{Parser, Subcommand};

use args::{Config, RunArgs};
use huber_core::Error as UsageError;
use huber_engine::message::escape_controls;
use merge::{MergeArgs, MergeConfig};

/// Runs a checked command line.
pub fn run(task: &Task) -> Result<()> {
    match task {
        Task::Run(config) => run::run(config),
        Task::Merge(config) => merge::run(config),
        Task::Completions(shell) => completions::run(*shell),
    }
}

/// Robust regression losses over NPY, NPZ, CSV, JSON Lines, Parquet and Arrow files, with PyTorch's numbers.
#[derive(Debug, Parser)]
#[command(name = "huber", version, about, long_about = crate::cli::help::LONG_ABOUT)]
#[command(after_help = crate::cli::help::short_after_help())]
#[command(after_long_help = crate::cli::help::long_after_help())]
#[command(subcommand_negates_reqs = true)]
pub struct Cli {
    /// A subcommand; without one, huber computes a loss.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// The loss computation.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Combine JSON results of shards (mean, sum and weighted-mean) into one result; - reads
    /// results (concatenated or one a line) from stdin.
    Merge(MergeArgs),
    /// Print a shell completion script to stdout.
    #[command(after_help = "Load now: source <(huber completions bash)\n\
        Install: huber completions bash > ~/.local/share/bash-completion/completions/huber\n\
        zsh: huber completions zsh > \"${fpath[1]}/_huber\"\n\
        fish: huber completions fish > ~/.config/fish/completions/huber.fish")]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// What to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Task {
    /// Compute a loss.
    Run(Box<Config>),
    /// Merge shard results.
    Merge(MergeConfig),
    /// Print a completion script.
    Completions(clap_complete::Shell),
}

impl Cli {
    /// Checks the arguments and resolves defaults.
    pub fn into_task(self) -> Result<Task, UsageError> {
        match self.command {
            Some(Command::Merge(m)) => Ok(Task::Merge(m.into_config()?)),
            Some(Command::Completions { shell }) => Ok(Task::Completions(shell)),
            None => Ok(Task::Run(Box::new(self.run.into_config()?))),
        }
    }
}

/// The `huber` program: parses the command line, runs it, and turns the outcome into an exit
/// status (0 success, 1 bad data, 2 bad command line) and at most one line on stderr.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_exit(&e),
    };
    let result = cli
        .into_task()
        .map_err(anyhow::Error::from)
        .and_then(|t| run(&t));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // Names from the command line and from files may hold line breaks: one line always.
            let message = format!("{e:#}");
            let _ = writeln!(io::stderr(), "huber: error: {}", escape_controls(&message));
            ExitCode::from(if is_usage(&e) { 2 } else { 1 })
        }
    }
}

/// Whether an error chain holds a bad argument (exit status 2) rather than bad data (1).
fn is_usage(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<UsageError>()
            .is_some_and(UsageError::is_invalid_argument)
            || c.downcast_ref::<huber_engine::Error>()
                .is_some_and(|e| e.kind() == huber_engine::ErrorKind::InvalidArgument)
    })
}

/// A reader that went away (`huber … | head -1`) is not an error.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Whether the command line has `word`, a file, right after the value of -p, -t, -w or --by.
fn after_an_input(word: &str) -> bool {
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let input = |a: &str| ["-p", "-t", "-w", "--pred", "--target", "--weight", "--by"].contains(&a);
    std::path::Path::new(word).exists()
        && args
            .windows(3)
            .any(|w| input(&w[0]) && w[1] != word && w[2] == word)
}

/// Help and version go to stdout with status 0; usage errors become one `huber: error:` line
/// and a hint, with status 2.
fn clap_exit(e: &clap::Error) -> ExitCode {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = write!(io::stdout(), "{}", e.render());
            ExitCode::SUCCESS
        }
        ErrorKind::InvalidSubcommand => {
            // A stray word after the options: clap takes it for a subcommand's name.
            let word = e
                .get(ContextKind::InvalidSubcommand)
                .map(|v| escape_controls(&v.to_string()).into_owned())
                .unwrap_or_default();
            // A file right after an input's file is most often the second match of an unquoted
            // glob, split by the shell (`-p preds/*.npy`).
            let why = if after_an_input(&word) {
                "a file after an input's file: if the shell expanded a glob into several files, quote \
                 it ('preds/*.parquet'), and huber reads them as one dataset"
            } else {
                "inputs are given with -p and -t, and the subcommands are merge and completions"
            };
            let _ = writeln!(
                io::stderr(),
                "huber: error: unexpected argument '{word}': {why}\nTry 'huber --help' for more \
                 information."
            );
            ExitCode::from(2)
        }
        _ => {
            let text = e.render().to_string();
            // clap's message up to its first blank line (a missing argument is named on the
            // line after "the following required arguments were not provided:").
            let message = text
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" ");
            let first = message.strip_prefix("error: ").unwrap_or(&message);
            let _ = writeln!(
                io::stderr(),
                "huber: error: {}\nTry 'huber --help' for more information.",
                escape_controls(first)
            );
            ExitCode::from(2)
        }
    }
}
