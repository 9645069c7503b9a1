//! One run of the command: open the inputs, compute, write, commit.

use std::io::Write;

use anyhow::{Result, bail};

use crate::auto_delta::auto_delta;
use crate::cli::{Config, Params, Task};
use crate::input::{InputSpec, Opener, Position, Source};
use crate::loss::Loss;
use crate::output::Destination;
use crate::pipeline::{Engine, Inputs, NanAt, NanPolicy};
use crate::plot;
use crate::progress::Progress;
use crate::reduce::Reduction;

/// Runs a checked command line. Output appears only if everything succeeded.
pub fn run(task: &Task) -> Result<()> {
    match task {
        Task::Run(config) => run_loss(config),
        Task::Merge(m) => crate::merge::run(m),
        Task::Completions(shell) => {
            // Generated into memory: clap_complete panics on a failed write, and `| head` is no bug.
            let mut script = Vec::new();
            clap_complete::generate(
                *shell,
                &mut <crate::cli::Cli as clap::CommandFactory>::command(),
                "huber",
                &mut script,
            );
            let mut out = std::io::stdout().lock();
            out.write_all(&script)?;
            Ok(out.flush()?)
        }
    }
}

/// Borrows the opened sources as pred, target and weight, and finds the shape to compute over.
fn inputs<'a>(
    sources: &'a mut [Box<dyn Source>],
    broadcast: bool,
) -> Result<(Inputs<'a>, Vec<usize>)> {
    let (pred, rest) = sources.split_at_mut(1);
    let (target, weight) = rest.split_at_mut(1);
    let inputs = Inputs {
        pred: pred[0].as_mut(),
        target: target[0].as_mut(),
        weight: weight.first_mut().map(|w| w.as_mut() as &mut dyn Source),
    };
    let shape = inputs.shape(broadcast)?;
    Ok((inputs, shape))
}

fn run_loss(config: &Config) -> Result<()> {
    let specs: Vec<&InputSpec> = [
        Some(&config.pred),
        Some(&config.target),
        config.weight.as_ref(),
    ]
    .into_iter()
    .flatten()
    .collect();
    let count_first =
        config.grad && config.nan == NanPolicy::Omit && config.reduction == Reduction::Mean;
    let auto = matches!(config.params, Params::AutoDelta(_));
    let mut opener = Opener::new(config.csv, auto || count_first).with_threads(config.threads);
    let mut engine = Engine::new(config.threads, config.nan)?
        .with_progress(config.progress.then(Progress::for_stderr).flatten());
    let mut dest = match &config.output {
        Some(path) => Destination::file(path)?,
        None => Destination::stdout(),
    };

    let losses: Vec<Loss> = match &config.params {
        Params::Given(losses) => losses.clone(),
        Params::AutoDelta(kind) => {
            let delta = auto_delta(config.nan, &mut |observe| {
                let mut sources = opener.open(&specs)?;
                let (mut inputs, shape) = inputs(&mut sources, config.broadcast)?;
                engine
                    .scan_residuals(&mut inputs, &shape, observe)
                    .map_err(|e| with_position(e, &inputs, &shape))
            })?;
            vec![kind.with_param(Some(delta))?]
        }
    };
    let (thresholds, symbol) = plot::thresholds(&losses);
    if config.plot.is_some() {
        engine.count_residuals(&thresholds);
    }
    let mut sources = opener.open(&specs)?;
    let (mut inputs, shape) = inputs(&mut sources, config.broadcast)?;
    let precision = inputs.precision();
    for loss in &losses {
        loss.check_for(precision)?;
    }
    let mut writer = config.format.writer();
    if config.grad {
        let [loss] = losses[..] else {
            bail!("internal error: one loss expected for --grad")
        };
        let count = if count_first {
            let omitted = engine
                .reduce(&mut inputs, &shape, &[loss], Reduction::Sum)
                .map_err(|e| with_position(e, &inputs, &shape))?;
            sources = opener.open(&specs)?;
            (inputs, _) = self::inputs(&mut sources, config.broadcast)?;
            omitted[0].count
        } else {
            shape.iter().product::<usize>() as u64
        };
        let pred_shape = inputs.pred.shape().to_vec();
        writer.begin(dest.writer(), &pred_shape, precision)?;
        engine
            .gradient(
                &mut inputs,
                &shape,
                loss,
                config.reduction,
                count,
                &mut |v| Ok(writer.values(dest.writer(), v)?),
            )
            .map_err(|e| with_position(e, &inputs, &shape))?;
        writer.end(dest.writer())?;
    } else if config.reduction == Reduction::None {
        let [loss] = losses[..] else {
            bail!("internal error: one loss expected for --reduction none")
        };
        writer.begin(dest.writer(), &shape, precision)?;
        engine
            .elementwise(&mut inputs, &shape, loss, &mut |v| {
                Ok(writer.values(dest.writer(), v)?)
            })
            .map_err(|e| with_position(e, &inputs, &shape))?;
        writer.end(dest.writer())?;
    } else {
        let results = engine
            .reduce(&mut inputs, &shape, &losses, config.reduction)
            .map_err(|e| with_position(e, &inputs, &shape))?;
        writer.scalars(dest.writer(), &results)?;
    }
    let picture = match (&config.plot, engine.residual_histogram()) {
        (Some(path), Some(hist)) => Some(plot::prepare(
            path,
            &hist,
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
        for note in opener.notes() {
            // A note that cannot be shown is no reason to fail a run that succeeded.
            let _ = writeln!(err, "huber: note: {note}");
        }
    }
    Ok(())
}

/// Adds to a `--nan error` failure where the element is in an input that can say more than its
/// index (a CSV line and column).
fn with_position(e: anyhow::Error, inputs: &Inputs<'_>, shape: &[usize]) -> anyhow::Error {
    let Some(&NanAt(index)) = e.downcast_ref::<NanAt>() else {
        return e;
    };
    let sources = [
        Some(&*inputs.pred),
        Some(&*inputs.target),
        inputs.weight.as_deref(),
    ];
    // The input that holds a NaN there, else any that can say where the element is.
    let found: Vec<Position> = sources
        .into_iter()
        .flatten()
        .filter(|s| s.shape() == shape)
        .filter_map(|s| s.locate(index))
        .collect();
    match found.iter().find(|p| p.nan).or(found.first()) {
        Some(at) => anyhow::anyhow!("{e} ({})", at.text),
        None => e,
    }
}
