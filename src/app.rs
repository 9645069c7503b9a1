//! One run of the command: open the inputs, compute, write, commit.

use anyhow::{Result, bail};

use crate::cli::Config;
use crate::input::open_all;
use crate::output::Destination;
use crate::pipeline::{Engine, NanPolicy, common_shape, precision_of};
use crate::plot;
use crate::progress::Progress;
use crate::reduce::Reduction;

/// Runs a checked command line. Output appears only if everything succeeded.
pub fn run(config: &Config) -> Result<()> {
    let mut sources = open_all(&[&config.pred, &config.target], &config.csv)?;
    let (pred, rest) = sources.split_at_mut(1);
    let (pred, target) = (pred[0].as_mut(), rest[0].as_mut());
    let mut dest = match &config.output {
        Some(path) => Destination::file(path)?,
        None => Destination::stdout(),
    };
    let mut writer = config.format.writer();
    let (thresholds, symbol) = plot::thresholds(&config.losses);
    let mut engine = Engine::new(config.threads, NanPolicy::Propagate)?
        .with_progress(config.progress.then(Progress::for_stderr).flatten());
    if config.plot.is_some() {
        engine = engine.with_residuals(&thresholds);
    }
    match config.reduction {
        Reduction::None => {
            let [loss] = config.losses[..] else {
                bail!("internal error: one loss expected for --reduction none")
            };
            let shape = common_shape(pred, target)?;
            writer.begin(dest.writer(), &shape, precision_of(pred, target))?;
            engine.elementwise(pred, target, loss, &mut |v| {
                Ok(writer.values(dest.writer(), v)?)
            })?;
            writer.end(dest.writer())?;
        }
        reduction => {
            let results = engine.reduce(pred, target, &config.losses, reduction)?;
            writer.scalars(dest.writer(), &results)?;
        }
    }
    if let (Some(path), Some(hist)) = (&config.plot, engine.residuals()) {
        let inputs = format!("pred {} · target {}", config.pred, config.target);
        plot::write(path, &hist, &inputs, symbol)?;
    }
    dest.commit()
}
