//! `huber -p … -t …`: open the inputs, compute, write, commit.

use std::io::Write;

use anyhow::Result;

use crate::cli::Config;
use crate::output::Destination;
use crate::pipeline::Engine;
use crate::plan::Plan;
use crate::plot;

/// Computes what a checked command line asks for and writes it. Output appears only if
/// everything succeeded.
pub fn run(config: &Config) -> Result<()> {
    run_loss(config)
}

fn run_loss(config: &Config) -> Result<()> {
    let plan = Plan::new(config);
    let engine = Engine::new(config.threads, config.nan)?;
    let mut dest = match &config.output {
        Some(path) => Destination::file(path)?,
        None => Destination::stdout(),
    };
    let ran = plan.run(&engine, &mut dest)?;
    let picture = match (&config.plot, &ran.histogram) {
        (Some(path), Some((hist, symbol))) => Some(plot::prepare(
            path,
            hist,
            &format!("pred {} · target {}", config.pred, config.target),
            symbol,
        )?),
        _ => None,
    };
    // The picture appears only with the result: a run that fails to write its output (a full
    // disk, a closed pipe) leaves no new plot. A plot to a device or FIFO is written directly and
    // may fail itself, so it goes first: its failure then leaves stdout and the output untouched.
    let (first, last) = match picture {
        Some(p) if p.is_special_file() => (Some(p), None),
        p => (None, p),
    };
    if let Some(p) = first {
        p.commit()?;
    }
    dest.commit()?;
    if let Some(p) = last {
        p.commit()?;
    }
    if config.progress {
        let mut err = std::io::stderr().lock();
        for note in &ran.notes {
            // A note that cannot be shown is no reason to fail a run that succeeded.
            let _ = writeln!(err, "huber: note: {note}");
        }
    }
    Ok(())
}
