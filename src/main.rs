use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;
use clap::error::{ContextKind, ErrorKind};
use huber::cli::Cli;
use huber::error::{escape_controls, is_usage};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_exit(&e),
    };
    let result = cli
        .into_task()
        .map_err(anyhow::Error::from)
        .and_then(|t| huber::cmd::run(&t));
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

/// A reader that went away (`huber … | head -1`) is not an error.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
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
            let _ = writeln!(
                io::stderr(),
                "huber: error: unexpected argument '{word}': inputs are given with -p and -t, and the \
                 subcommands are merge and completions\nTry 'huber --help' for more information."
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
