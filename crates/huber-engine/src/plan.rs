//! The plan of a run: the passes it makes over the inputs, decided once from the checked command
//! line, and how the inputs are opened for them. Each pass opens the inputs, runs the engine
//! with its sink and the observers that ride along (the `--plot` histogram, the progress bar).

mod axis;
mod top;

use anyhow::{Result, bail};

use crate::array::Owned;
use crate::auto_delta::auto_delta;
use crate::breakdown::by::{GroupSink, Keys};
use crate::histogram::ResidualHistogram;
use crate::input::{InputSpec, Opener, Position, Source};
use crate::loss::{Loss, LossKind};
use crate::options::{ElementSink, Hooks, Options, Params, Progress};
use crate::outcome::{Groups, Outcome, Results};
use crate::pipeline::sinks::Ticks;
use crate::pipeline::{Engine, Inputs, Kernel, NanAt, NanPolicy, Sink};
use crate::reduce::Reduction;

/// One pass over the inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// `--delta auto`: a few passes over the residuals find their median absolute deviation,
    /// and δ from it.
    AutoDelta(LossKind),
    /// Counts the elements `--nan omit` keeps: the divisor of the mean whose gradient is asked.
    CountKept,
    /// Sums the weights of the elements kept: the divisor of the weighted mean whose gradient
    /// is asked.
    WeightSum,
    /// The result itself.
    Main(Main),
}

/// What the main pass computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Main {
    /// One result per loss.
    Reduce(Reduction),
    /// The element losses, streamed out.
    Elementwise,
    /// The gradient of the reduced loss, streamed out.
    Gradient(Reduction),
    /// One result per cell of the axes `--axis` keeps, per loss.
    Axis(Reduction),
    /// One result per loss and group of `--by`.
    Grouped(Reduction),
    /// One result per loss and its `k` worst elements (`--top`).
    Top {
        /// The reduction of the results.
        reduction: Reduction,
        /// Elements listed per loss.
        k: usize,
    },
}

/// The passes of a run.
#[derive(Debug)]
pub struct Plan<'a> {
    config: &'a Options,
    passes: Vec<Pass>,
}

impl Plan<'_> {
    /// The passes `config` needs.
    pub fn new(config: &Options) -> Plan<'_> {
        let mut passes = Vec::new();
        if let Params::AutoDelta(kind) = config.params {
            passes.push(Pass::AutoDelta(kind));
        }
        let main = match (config.grad, config.reduction) {
            (_, reduction) if config.by.is_some() => Main::Grouped(reduction),
            (true, reduction) => Main::Gradient(reduction),
            (false, reduction) if config.axis.is_some() => Main::Axis(reduction),
            (false, Reduction::None) => Main::Elementwise,
            (false, reduction) => match config.top {
                Some(k) => Main::Top { reduction, k },
                None => Main::Reduce(reduction),
            },
        };
        if main == Main::Gradient(Reduction::Mean) && config.nan == NanPolicy::Omit {
            passes.push(Pass::CountKept);
        }
        if main == Main::Gradient(Reduction::WeightedMean) {
            passes.push(Pass::WeightSum);
        }
        passes.push(Pass::Main(main));
        Plan { config, passes }
    }

    /// Whether the run needs the shape of its inputs only at its end, so that a CSV table can be
    /// read in one pass, without counting its rows first: one pass that reduces (to one
    /// result, or one per group), over columns of one and the same table, with no broadcasting
    /// (which matches shapes first) or squeezing. A progress bar then counts elements without a total.
    ///
    /// Element losses (`-r none`) are streamed so too when their sink takes the shape at its
    /// end (`late`, see [`ElementSink::shape_at_end`]).
    fn shape_at_end(&self, late: bool) -> bool {
        let c = self.config;
        let reduces = matches!(
            self.passes[..],
            [Pass::Main(Main::Reduce(_) | Main::Grouped(_))]
        ) || (late && self.passes[..] == [Pass::Main(Main::Elementwise)]);
        let columns_of_pred = c
            .inputs()
            .chain(c.by.as_ref())
            .all(|s| s.location == c.pred.location && s.key.is_some());
        reduces && columns_of_pred && !c.broadcast && !c.squeeze
    }

    /// Runs the passes on `engine` and returns what the main pass found.
    pub fn run(&self, engine: &Engine, hooks: Hooks<'_>) -> Result<Outcome> {
        let c = self.config;
        let Hooks { progress, elements } = hooks;
        let late = elements.as_ref().is_some_and(|e| e.shape_at_end());
        let mut run = Runner {
            config: c,
            specs: c.inputs().collect(),
            // Streams that can be read only once are held in memory when there are passes to
            // read them again.
            opener: Opener::new(c.csv.clone(), self.passes.len() > 1)
                .with_threads(c.threads)
                .squeeze(c.squeeze)
                .count_rows(!self.shape_at_end(late))
                // `--nan error` names the line of the element, read again from held bytes.
                .stream_csv(c.nan != NanPolicy::Error),
            engine,
            progress,
            losses: match &c.params {
                Params::Given(losses) => losses.clone(),
                Params::AutoDelta(_) => Vec::new(),
            },
            kept: None,
            histogram: None,
            gradient_scale: None,
            elements,
        };
        let mut results = None;
        for pass in &self.passes {
            match *pass {
                Pass::AutoDelta(kind) => {
                    let delta = run.auto_delta()?;
                    run.losses = vec![kind.with_param(Some(delta))?];
                }
                Pass::CountKept => run.kept = Some(run.count_kept()?),
                Pass::WeightSum => run.gradient_scale = Some(run.weight_sum_scale()?),
                Pass::Main(main) => results = Some(run.main(main)?),
            }
        }
        let Some(results) = results else {
            bail!("internal error: a plan without a main pass");
        };
        Ok(Outcome {
            results,
            histogram: run.histogram,
            notes: run.opener.notes().to_vec(),
            losses: run.losses,
        })
    }
}

/// A plan being run: what the passes share and hand on.
struct Runner<'a, 'h> {
    config: &'a Options,
    specs: Vec<&'a InputSpec>,
    opener: Opener,
    engine: &'a Engine,
    progress: Option<&'h dyn Progress>,
    /// The losses computed: given, or found by the auto-δ pass.
    losses: Vec<Loss>,
    /// The elements kept, from the counting pass.
    kept: Option<u64>,
    histogram: Option<ResidualHistogram>,
    /// The gradient's factor 1/Σw of a weighted mean, from the weights' pass.
    gradient_scale: Option<f64>,
    /// Where element losses and gradients go, if not collected.
    elements: Option<&'h mut dyn ElementSink>,
}

impl Runner<'_, '_> {
    fn auto_delta(&mut self) -> Result<f64> {
        let Runner {
            config,
            specs,
            opener,
            engine,
            progress,
            ..
        } = self;
        auto_delta(config.nan, &mut |observe| {
            let mut sources = opener.open(specs)?;
            let (mut inputs, shape) = inputs(&mut sources, config.broadcast)?;
            let mut ticks = ticks(*progress, &shape, false);
            engine
                .scan_residuals(&mut inputs, &shape, observe, &mut ticks)
                .map_err(|e| with_position(e, &inputs, &shape))
        })
    }

    fn count_kept(&mut self) -> Result<u64> {
        let mut sources = self.opener.open(&self.specs)?;
        let (mut inputs, shape) = self.inputs(&mut sources)?;
        let mut ticks = ticks(self.progress, &shape, false);
        let summed = self
            .engine
            .reduce(
                &mut inputs,
                &shape,
                &self.losses,
                Reduction::Sum,
                &mut ticks,
            )
            .map_err(|e| with_position(e, &inputs, &shape))?;
        Ok(summed[0].count)
    }

    fn weight_sum_scale(&mut self) -> Result<f64> {
        let mut sources = self.opener.open(&self.specs)?;
        let (mut inputs, shape) = self.inputs(&mut sources)?;
        let mut ticks = ticks(self.progress, &shape, false);
        axis::gradient_scale(self.engine, &mut inputs, &shape, self.losses[0], &mut ticks)
            .map_err(|e| with_position(e, &inputs, &shape))
    }

    /// Opens the inputs and checks the losses can be computed in their precision.
    fn inputs<'s>(&self, sources: &'s mut [Box<dyn Source>]) -> Result<(Inputs<'s>, Vec<usize>)> {
        let (inputs, shape) = inputs(sources, self.config.broadcast)?;
        for loss in &self.losses {
            loss.check_for(inputs.precision())?;
        }
        Ok((inputs, shape))
    }

    /// Opens the keys of `--by`: a column of a table that an input reads is parsed with it, and
    /// a stream another input reads is served from its held bytes.
    fn keys(&mut self) -> Result<Keys> {
        let Some(by) = &self.config.by else {
            bail!("internal error: a grouped run without --by");
        };
        let taken = self.specs.iter().any(|s| s.location == by.location);
        let input = self.opener.open_keys(by, taken)?;
        Keys::new(by, input)
    }

    fn main(&mut self, main: Main) -> Result<Results> {
        let mut sources = self.opener.open(&self.specs)?;
        let (mut inputs, shape) = self.inputs(&mut sources)?;
        if let Some(note) = broadcast_note(&inputs, &shape) {
            self.opener.note(note);
        }
        let mut histogram = self
            .config
            .histogram
            .then(|| ResidualHistogram::for_losses(&self.losses));
        let watch = (
            &mut histogram,
            ticks(self.progress, &shape, inputs.open_ended()),
        );
        let results = match main {
            Main::Reduce(reduction) => self.scalars(&mut inputs, &shape, reduction, watch),
            Main::Axis(reduction) => self.cells(&mut inputs, &shape, reduction, watch),
            Main::Elementwise | Main::Gradient(_) => self.stream(&mut inputs, &shape, main, watch),
            Main::Grouped(reduction) => self.groups(&mut inputs, &shape, reduction, watch),
            Main::Top { reduction, k } => {
                let run = top::Run {
                    engine: self.engine,
                    shape: &shape,
                    losses: &self.losses,
                    reduction,
                    k,
                    id: self.config.top_id.as_deref(),
                };
                let mut watch = watch;
                run.lists(&mut inputs, &mut watch).map(Results::Top)
            }
        };
        let results = results.map_err(|e| with_position(e, &inputs, &shape))?;
        self.histogram = histogram;
        Ok(results)
    }

    /// One result per loss.
    fn scalars(
        &self,
        inputs: &mut Inputs<'_>,
        shape: &[usize],
        reduction: Reduction,
        mut watch: impl Sink,
    ) -> Result<Results> {
        let (engine, losses) = (self.engine, &self.losses[..]);
        let results = match reduction {
            Reduction::WeightedMean => {
                axis::weighted_mean(engine, inputs, shape, losses, &mut watch)?
            }
            _ => engine.reduce(inputs, shape, losses, reduction, &mut watch)?,
        };
        Ok(Results::Scalars(results))
    }

    /// One result per loss and cell of the axes `--axis` keeps.
    fn cells(
        &self,
        inputs: &mut Inputs<'_>,
        shape: &[usize],
        reduction: Reduction,
        mut watch: impl Sink,
    ) -> Result<Results> {
        let axes = self.config.axis.as_deref().unwrap_or_default();
        let (engine, losses) = (self.engine, &self.losses[..]);
        let found = axis::cells(engine, inputs, shape, losses, reduction, axes, &mut watch)?;
        Ok(match found {
            axis::AxisResult::Scalars(r) => Results::Scalars(r),
            axis::AxisResult::Cells(c) => Results::Cells(c),
        })
    }

    /// The element losses or the gradient, streamed to the element sink as they are computed
    /// (or collected, without one).
    fn stream(
        &mut self,
        inputs: &mut Inputs<'_>,
        shape: &[usize],
        main: Main,
        mut watch: impl Sink,
    ) -> Result<Results> {
        let &[loss] = &self.losses[..] else {
            bail!("internal error: one loss expected for --reduction none and --grad")
        };
        let precision = inputs.precision();
        // The gradient has pred's shape (summed over its broadcast copies).
        let written = match main {
            Main::Gradient(_) => inputs.pred.shape().to_vec(),
            _ => shape.to_vec(),
        };
        let mut collected = Collect(None);
        let sink: &mut dyn ElementSink = match self.elements.as_deref_mut() {
            Some(sink) => sink,
            None => &mut collected,
        };
        sink.begin(&written, precision)?;
        let mut emit = |v: crate::array::Values<'_>| sink.values(v);
        let ran = match main {
            Main::Gradient(reduction) => {
                let count = self.kept.unwrap_or(shape.iter().product::<usize>() as u64);
                let scale = match reduction {
                    Reduction::Mean => crate::loss::mean_scale::<f64>(count),
                    Reduction::WeightedMean => self.gradient_scale.unwrap_or(f64::NAN),
                    Reduction::Sum | Reduction::None => 1.0,
                };
                self.engine
                    .gradient(inputs, shape, loss, scale, &mut watch, &mut emit)?;
                written
            }
            _ => self
                .engine
                .elementwise(inputs, shape, loss, &mut watch, &mut emit)?,
        };
        drop(watch);
        sink.end(&ran)?;
        Ok(Results::Elements {
            shape: ran,
            values: collected.0,
        })
    }

    /// One result per loss and group of `--by`.
    fn groups(
        &mut self,
        inputs: &mut Inputs<'_>,
        shape: &[usize],
        reduction: Reduction,
        watch: impl Sink,
    ) -> Result<Results> {
        let keys = self.keys()?;
        let losses = &self.losses[..];
        let mut sink = (GroupSink::new(losses, keys, shape)?, watch);
        let ran = self
            .engine
            .run(inputs, shape, Kernel::Losses(losses), &mut sink)?;
        Ok(Results::Groups(Box::new(Groups {
            sink: sink.0,
            reduction,
            shape: ran,
            precision: inputs.precision(),
        })))
    }
}

/// Element values gathered in memory, for a caller that gave no [`ElementSink`].
struct Collect(Option<Owned>);

impl ElementSink for Collect {
    fn begin(&mut self, shape: &[usize], precision: crate::dtype::Precision) -> Result<()> {
        let n: usize = shape.iter().product();
        self.0 = Some(match precision {
            crate::dtype::Precision::F16 => Owned::F16(Vec::with_capacity(n)),
            crate::dtype::Precision::F32 => Owned::F32(Vec::with_capacity(n)),
            crate::dtype::Precision::F64 => Owned::F64(Vec::with_capacity(n)),
        });
        Ok(())
    }
    fn values(&mut self, values: crate::array::Values<'_>) -> Result<()> {
        use crate::array::Values;
        match (&mut self.0, values) {
            (Some(Owned::F16(o)), Values::F16(v)) => o.extend_from_slice(v),
            (Some(Owned::F32(o)), Values::F32(v)) => o.extend_from_slice(v),
            (Some(Owned::F64(o)), Values::F64(v)) => o.extend_from_slice(v),
            _ => bail!("internal error: element values of another type than announced"),
        }
        Ok(())
    }
    fn end(&mut self, _shape: &[usize]) -> Result<()> {
        Ok(())
    }
}

/// A warning when broadcasting makes more elements than any input holds: `(N, 1)` against
/// `(N,)` pairs every element of one with every element of the other, which is seldom what
/// was meant (PyTorch warns there too).
fn broadcast_note(inputs: &Inputs<'_>, shape: &[usize]) -> Option<String> {
    let count = |s: &[usize]| s.iter().product::<usize>();
    let most = inputs.sources().map(|s| count(s.shape())).max()?;
    let shapes: Vec<&[usize]> = inputs.sources().map(|s| s.shape()).collect();
    let squeezed: Vec<Vec<usize>> = shapes.iter().map(|s| crate::input::squeezed(s)).collect();
    let hint = match squeezed.iter().all(|s| *s == squeezed[0]) {
        true => {
            "; if they hold the same elements in the same order, --squeeze pairs them one to one"
        }
        false => "",
    };
    let shown: Vec<String> = shapes.iter().map(|s| crate::array::fmt_shape(s)).collect();
    (count(shape) > most).then(|| {
        format!(
            "--broadcast pairs inputs of shapes {} into {}: {} elements, more than any input \
             holds ({most}){hint}",
            shown.join(", "),
            crate::array::fmt_shape(shape),
            count(shape),
        )
    })
}

/// Borrows the opened sources as pred, target and weight, and finds the shape to compute over.
fn inputs(sources: &mut [Box<dyn Source>], broadcast: bool) -> Result<(Inputs<'_>, Vec<usize>)> {
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

/// An observer that moves the progress bar, if there is one, over a pass of `shape`, whose
/// size is known before the end unless `open` (see [`Inputs::open_ended`]).
fn ticks<'p>(progress: Option<&'p dyn Progress>, shape: &[usize], open: bool) -> Option<Ticks<'p>> {
    let total = (!open).then(|| shape.iter().product::<usize>() as u64);
    progress.map(|p| Ticks::new(p, total))
}

/// Adds to a `--nan error` failure where the element is in an input that can say more than its
/// index (a CSV line and column).
fn with_position(e: anyhow::Error, inputs: &Inputs<'_>, shape: &[usize]) -> anyhow::Error {
    let Some(&NanAt(index)) = e.downcast_ref::<NanAt>() else {
        return e;
    };
    // The input that holds a NaN there, else any that can say where the element is.
    let found: Vec<Position> = inputs
        .sources()
        .filter(|s| s.shape() == shape)
        .filter_map(|s| s.text()?.locate(index))
        .collect();
    match found.iter().find(|p| p.nan).or(found.first()) {
        Some(at) => anyhow::anyhow!("{e} ({})", at.text),
        None => e,
    }
}
