use std::io::{self, Write};
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};
use huber::cli::{Cli, Command};
use huber::error::is_usage;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_exit(&e),
    };
    if let Some(Command::Completions { shell }) = cli.command {
        // Generated into memory: clap_complete panics on a failed write, `| head` is not a bug.
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "huber", &mut script);
        let _ = io::stdout().write_all(&script);
        return ExitCode::SUCCESS;
    }
    let result = cli
        .into_config()
        .map_err(anyhow::Error::from)
        .and_then(|c| huber::app::run(&c));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(io::stderr(), "huber: error: {e:#}");
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
        _ => {
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("bad command line");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            let _ = writeln!(
                io::stderr(),
                "huber: error: {first}\nTry 'huber --help' for more information."
            );
            ExitCode::from(2)
        }
    }
}
