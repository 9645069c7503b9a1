//! `huber -p … -t …`: run the engine, write what it returns, commit.

use std::io::Write;

use anyhow::Result;
use huber_core::dtype::Precision;
use huber_engine::{ElementSink, Hooks, Location, Results, Values, evaluate};

use super::args::Config;
use super::output::{Destination, Writer, axis, groups, top};
use super::plot;
use super::progress::Progress;

/// Computes what a checked command line asks for and writes it. Output appears only if
/// everything succeeded.
pub fn run(config: &Config) -> Result<()> {
    let options = &config.options;
    check_stdin(config)?;
    let mut dest = match &config.output {
        Some(path) => Destination::file(path)?,
        None => Destination::stdout(),
    };
    let progress = config.progress.then(Progress::for_stderr).flatten();
    let mut elements = Elements {
        writer: config.format.writer(),
        dest: &mut dest,
        begun: None,
    };
    let hooks = Hooks {
        progress: progress.as_ref().map(|p| p as &dyn huber_engine::Progress),
        elements: Some(&mut elements),
    };
    let outcome = evaluate(options, hooks)?;
    drop(progress);
    let writer = dest.writer();
    match &outcome.results {
        Results::Scalars(results) => config.format.writer().scalars(writer, results)?,
        Results::Cells(cells) => axis::write(config.format, writer, cells)?,
        Results::Groups(g) => {
            let several = outcome.losses.len() > 1;
            groups::write(config.format, writer, g.iter().map(|r| Ok(r?)), several)?
        }
        Results::Top(lists) => top::write(writer, config.format, lists, options.weight.is_some())?,
        Results::Elements { .. } => {}
    }
    let picture = match (&config.plot, &outcome.histogram) {
        (Some(path), Some(hist)) => Some(plot::prepare(
            path,
            hist,
            &format!("pred {} · target {}", options.pred, options.target),
            plot::symbol(&outcome.losses),
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
        for note in &outcome.notes {
            // A note that cannot be shown is no reason to fail a run that succeeded.
            let _ = writeln!(err, "huber: note: {note}");
        }
    }
    Ok(())
}

/// Refuses to wait for a person to type numbers: an input read from standard input needs a pipe
/// or a file there.
fn check_stdin(config: &Config) -> Result<()> {
    use std::io::IsTerminal;
    let o = &config.options;
    let reads_stdin = o
        .inputs()
        .chain(o.by.as_ref())
        .any(|s| s.location == Location::Stdin);
    if reads_stdin && std::io::stdin().is_terminal() {
        return Err(huber_core::Error::invalid_argument(
            "standard input is a terminal; pipe data in (huber -p - ... < file) or give a file name",
        )
        .into());
    }
    Ok(())
}

/// Element losses and gradients, written in the output format as the engine computes them.
struct Elements<'a> {
    writer: Box<dyn Writer>,
    dest: &'a mut Destination,
    /// The shape and type `begin` was given.
    begun: Option<(Vec<usize>, Precision)>,
}

impl ElementSink for Elements<'_> {
    fn begin(&mut self, shape: &[usize], precision: Precision) -> Result<()> {
        self.begun = Some((shape.to_vec(), precision));
        Ok(self.writer.begin(self.dest.writer(), shape, precision)?)
    }
    fn values(&mut self, values: Values<'_>) -> Result<()> {
        Ok(self.writer.values(self.dest.writer(), values)?)
    }
    fn end(&mut self, shape: &[usize]) -> Result<()> {
        if let Some((begun, precision)) = &self.begun
            && begun != shape
            && let Some(header) = self.writer.restart(shape, *precision)
        {
            // The output spools to a file (or memory) until the run succeeds: its start can be
            // written again, in place.
            let written = self
                .writer
                .restart(begun, *precision)
                .map_or(0, |h| h.len());
            anyhow::ensure!(
                header.len() == written,
                "internal error: the output's header for shape {shape:?} has another length"
            );
            self.dest.rewrite_start(&header)?;
        }
        Ok(self.writer.end(self.dest.writer())?)
    }
    fn shape_at_end(&self) -> bool {
        self.writer.shape_at_end()
    }
}
