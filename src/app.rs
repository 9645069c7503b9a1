//! One run of the command: open the inputs, compute, write, commit.

use std::io::Write;

use anyhow::{Result, bail, ensure};

use crate::cli::{Config, Params, Task};
use crate::input::{InputSpec, Opener, Source};
use crate::loss::Loss;
use crate::output::Destination;
use crate::pipeline::{Engine, Inputs, NanPolicy, common_shape};
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
    let shape = common_shape(&inputs, broadcast)?;
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
            let mut sources = opener.open(&specs)?;
            let (mut inputs, shape) = inputs(&mut sources, config.broadcast)?;
            let residuals = engine.residuals(&mut inputs, &shape)?;
            vec![kind.with_param(Some(auto_delta(residuals, config.nan)?))?]
        }
    };
    let (thresholds, symbol) = plot::thresholds(&losses);
    if config.plot.is_some() {
        engine.count_residuals(&thresholds);
    }
    let mut sources = opener.open(&specs)?;
    let (mut inputs, shape) = inputs(&mut sources, config.broadcast)?;
    let precision = inputs.precision();
    let mut writer = config.format.writer();
    if config.grad {
        let [loss] = losses[..] else {
            bail!("internal error: one loss expected for --grad")
        };
        let count = if count_first {
            let omitted = engine.reduce(&mut inputs, &shape, &[loss], Reduction::Sum)?;
            sources = opener.open(&specs)?;
            (inputs, _) = self::inputs(&mut sources, config.broadcast)?;
            omitted[0].count
        } else {
            shape.iter().product::<usize>() as u64
        };
        let pred_shape = inputs.pred.shape().to_vec();
        writer.begin(dest.writer(), &pred_shape, precision)?;
        engine.gradient(
            &mut inputs,
            &shape,
            loss,
            config.reduction,
            count,
            &mut |v| Ok(writer.values(dest.writer(), v)?),
        )?;
        writer.end(dest.writer())?;
    } else if config.reduction == Reduction::None {
        let [loss] = losses[..] else {
            bail!("internal error: one loss expected for --reduction none")
        };
        writer.begin(dest.writer(), &shape, precision)?;
        engine.elementwise(&mut inputs, &shape, loss, &mut |v| {
            Ok(writer.values(dest.writer(), v)?)
        })?;
        writer.end(dest.writer())?;
    } else {
        let results = engine.reduce(&mut inputs, &shape, &losses, config.reduction)?;
        writer.scalars(dest.writer(), &results)?;
    }
    if let (Some(path), Some(hist)) = (&config.plot, engine.residual_histogram()) {
        plot::write(
            path,
            &hist,
            &format!("pred {} · target {}", config.pred, config.target),
            symbol,
        )?;
    }
    dest.commit()
}

/// δ = 1.345 · 1.4826 · MAD(r): the 95 %-efficiency Huber threshold on the residuals' robust
/// scale. The median is numpy's (the mean of the two middle values for an even count).
pub fn auto_delta(mut r: Vec<f64>, nan: NanPolicy) -> Result<f64> {
    if r.iter().any(|x| x.is_nan()) {
        ensure!(
            nan == NanPolicy::Omit,
            "--delta auto: some residuals are NaN, so their median is undefined; use --nan omit to leave them out, or give --delta"
        );
        r.retain(|x| !x.is_nan());
    }
    ensure!(
        !r.is_empty(),
        "--delta auto: there are no residuals to take the median of; give --delta"
    );
    let med = median(&mut r);
    let mut dev: Vec<f64> = r.iter().map(|x| (x - med).abs()).collect();
    let mad = median(&mut dev);
    ensure!(
        mad > 0.0 && mad.is_finite(),
        "--delta auto: the median absolute deviation of the residuals is {mad} (more than half of them are equal), so it gives no scale; give --delta explicitly"
    );
    Ok(1.345 * 1.4826 * mad)
}

/// numpy's median: the middle value, or the mean of the two middle values.
fn median(v: &mut [f64]) -> f64 {
    let n = v.len();
    let mid = n / 2;
    let (_, &mut upper, _) = v.select_nth_unstable_by(mid, f64::total_cmp);
    if n % 2 == 1 {
        return upper;
    }
    let lower = v[..mid].iter().copied().fold(f64::NEG_INFINITY, f64::max);
    // As numpy: the sum of the two, halved.
    (lower + upper) / 2.0
}

#[cfg(test)]
mod tests;
