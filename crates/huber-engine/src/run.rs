//! The engine's one entry point: [`evaluate`] takes checked [`Options`] and returns an
//! [`Outcome`]: values, never output. Element losses and gradients, which may be larger than
//! memory, stream into the caller's [`ElementSink`] (or are collected when none is given).

use std::fmt;

use crate::array::{Owned, Values};
use crate::breakdown::axis::Cells;
use crate::breakdown::by::GroupSink;
use crate::breakdown::top::Worst;
use crate::dtype::Precision;
use crate::histogram::ResidualHistogram;
use crate::input::{CsvOptions, InputSpec};
use crate::loss::{Loss, LossKind};
use crate::pipeline::{Engine, NanPolicy};
use crate::plan::Plan;
use crate::reduce::Reduction;
use crate::summary::Summary;

/// The most worker threads a run may ask for: far more than any machine's cores, and few enough
/// that starting them cannot take the machine's memory or minutes.
pub const MAX_THREADS: usize = 1024;

/// The most elements `top` may list: a list of a million is already more than anyone reads, and
/// the list is held in memory (with its candidates, up to about 150 bytes an element, per loss).
pub const MAX_TOP: usize = 1_000_000;

/// The parameter values asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum Params {
    /// These losses, one result each.
    Given(Vec<Loss>),
    /// One huber or pseudo-huber loss with δ from the residuals' MAD.
    AutoDelta(LossKind),
}

/// What to compute, over which inputs: one run. Build it with [`Options::new`], set the fields
/// that differ from the defaults, and [`evaluate`] checks it once.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Predictions.
    pub pred: InputSpec,
    /// Targets.
    pub target: InputSpec,
    /// Per-element weights: each loss is multiplied by its weight.
    pub weight: Option<InputSpec>,
    /// The losses, one result each (several δ in one pass), or δ found from the residuals.
    pub params: Params,
    /// How element losses are combined.
    pub reduction: Reduction,
    /// The gradient of the reduced loss with respect to pred instead of the loss.
    pub grad: bool,
    /// What NaN element losses do.
    pub nan: NanPolicy,
    /// NumPy broadcasting between pred, target and weight instead of one shape.
    pub broadcast: bool,
    /// How CSV text is read: delimiter and header.
    pub csv: CsvOptions,
    /// Worker threads, at most [`MAX_THREADS`] (0: one per core). Results are identical for
    /// every count.
    pub threads: usize,
    /// Reduce over these axes only (numpy's `axis=`, negative from the end).
    pub axis: Option<Vec<i64>>,
    /// One result per group of these keys.
    pub by: Option<InputSpec>,
    /// List the K elements with the largest loss beside the results.
    pub top: Option<usize>,
    /// Also make a histogram of the residuals with the losses' thresholds marked.
    pub histogram: bool,
}

impl Options {
    /// The mean huber loss (δ = 1) of `pred` against `target`, with every other option at its
    /// default: as `huber -p PRED -t TARGET`.
    pub fn new(pred: InputSpec, target: InputSpec) -> Options {
        Options {
            pred,
            target,
            weight: None,
            params: Params::Given(vec![Loss::Huber { delta: 1.0 }]),
            reduction: Reduction::Mean,
            grad: false,
            nan: NanPolicy::Propagate,
            broadcast: false,
            csv: CsvOptions::default(),
            threads: 0,
            axis: None,
            by: None,
            top: None,
            histogram: false,
        }
    }

    /// The inputs whose elements are computed over: pred, target and weight (if any), in that
    /// order.
    pub fn inputs(&self) -> impl Iterator<Item = &InputSpec> {
        [Some(&self.pred), Some(&self.target), self.weight.as_ref()]
            .into_iter()
            .flatten()
    }

    /// Refuses options that make no sense together, each with a message that says why.
    pub fn check(&self) -> Result<(), huber_core::Error> {
        let refuse = |msg: String| Err(huber_core::Error::invalid_argument(msg));
        let several = matches!(&self.params, Params::Given(l) if l.len() > 1);
        let reduction = self.reduction;
        if several && self.grad {
            return refuse("--grad takes one parameter value: the gradient is of one loss".into());
        }
        if several && reduction == Reduction::None {
            return refuse("several parameter values need a scalar reduction (mean or sum); run once per value for --reduction none".into());
        }
        if self.nan == NanPolicy::Omit && reduction == Reduction::None && !self.grad {
            return refuse("--nan omit leaves elements out of a sum or mean; with --reduction none there is nothing to leave them out of".into());
        }
        if self.threads > MAX_THREADS {
            return refuse(format!(
                "--threads {} is more than the limit of {MAX_THREADS}",
                self.threads
            ));
        }
        self.check_breakdowns()?;
        self.check_top()
    }

    /// `weighted-mean` needs weights; `--axis` and `--by` give means or sums of element losses.
    fn check_breakdowns(&self) -> Result<(), huber_core::Error> {
        let refuse = |msg: String| Err(huber_core::Error::invalid_argument(msg));
        let reduction = self.reduction;
        if reduction == Reduction::WeightedMean && self.weight.is_none() {
            return refuse("weighted-mean divides by the weights' sum; give --weight (without weights it is mean)".into());
        }
        if self.axis.is_some() {
            if reduction == Reduction::None {
                return refuse("--axis reduces over axes: use it with mean, sum or weighted-mean, not --reduction none".into());
            }
            if self.grad {
                return refuse("--axis gives one result per cell and --grad the gradient of one result: use one of them".into());
            }
        }
        if self.by.is_none() {
            return Ok(());
        }
        if self.axis.is_some() {
            return refuse(
                "--by and --axis do not go together yet: give one result per group or per cell"
                    .into(),
            );
        }
        if self.grad {
            return refuse(
                "--by gives one loss per group; --grad is the gradient of one loss, not per group"
                    .into(),
            );
        }
        if !matches!(reduction, Reduction::Mean | Reduction::Sum) {
            return refuse(format!(
                "--by gives one mean or sum per group, not --reduction {reduction}"
            ));
        }
        Ok(())
    }

    /// `top`: K from 1 to [`MAX_TOP`], beside a whole-input mean or sum.
    fn check_top(&self) -> Result<(), huber_core::Error> {
        let Some(k) = self.top else {
            return Ok(());
        };
        let refusal = if k == 0 {
            "--top 0 lists nothing: give K of at least 1".to_string()
        } else if k > MAX_TOP {
            format!("--top {k} is more than the limit of {MAX_TOP}")
        } else if self.grad {
            "--top lists element losses, not gradients: drop --grad or --top".to_string()
        } else if self.reduction == Reduction::None {
            "--top lists the worst of the element losses; --reduction none prints them all: use one or the other".to_string()
        } else if self.axis.is_some() || self.by.is_some() {
            "--top lists the worst elements of the whole input; it cannot be combined with --axis or --by"
                .to_string()
        } else if self.reduction == Reduction::WeightedMean {
            "--top goes beside -r mean or sum; with -r weighted-mean, run --top separately"
                .to_string()
        } else {
            return Ok(());
        };
        Err(huber_core::Error::invalid_argument(refusal))
    }
}

/// Watches a run's passes, for a progress bar: each pass starts, its elements get done, it ends.
pub trait Progress: Sync {
    /// A pass over `total` elements starts (`None`: not known before its end).
    fn start(&self, total: Option<u64>);
    /// `done` elements of the pass are finished.
    fn advance(&self, done: u64);
    /// The pass ended.
    fn finish(&self);
}

/// Where element losses or gradients go as they are computed, in C order.
pub trait ElementSink: Send {
    /// The array starts: its shape and the type of its values.
    fn begin(&mut self, shape: &[usize], precision: Precision) -> anyhow::Result<()>;
    /// The next values, in C order.
    fn values(&mut self, values: Values<'_>) -> anyhow::Result<()>;
    /// The array is complete.
    fn end(&mut self) -> anyhow::Result<()>;
}

/// What a run computed.
#[derive(Debug)]
pub struct Outcome {
    /// The results.
    pub results: Results,
    /// The losses computed: as given, or with the δ found by auto-δ.
    pub losses: Vec<Loss>,
    /// The residuals' histogram, when [`Options::histogram`] asked for it.
    pub histogram: Option<ResidualHistogram>,
    /// Notes on how the inputs were read (a CSV first line of numbers read as a header, say).
    pub notes: Vec<String>,
}

/// The results of a run, by what it computed.
#[derive(Debug)]
pub enum Results {
    /// One result per loss.
    Scalars(Vec<Summary>),
    /// One array of per-cell results per loss (`axis`).
    Cells(Vec<Cells>),
    /// One result per loss and group (`by`).
    Groups(Box<Groups>),
    /// One result per loss with its worst elements (`top`).
    Top(Vec<TopList>),
    /// Element losses or the gradient: `values` when no [`ElementSink`] took them.
    Elements {
        /// The array's shape.
        shape: Vec<usize>,
        /// The values, in C order, unless they streamed into a sink.
        values: Option<Owned>,
    },
}

/// A result with the elements of largest loss.
#[derive(Debug, Clone, PartialEq)]
pub struct TopList {
    /// The result over all elements.
    pub result: Summary,
    /// The worst elements, worst first.
    pub worst: Vec<Worst>,
    /// The line of each listed element's record, for an input that has lines (a CSV file).
    pub lines: Option<Vec<u64>>,
}

/// The per-group results of a run, made one at a time as they are listed (a million groups are
/// not held as results at once).
pub struct Groups {
    pub(crate) sink: GroupSink,
    pub(crate) reduction: Reduction,
    pub(crate) shape: Vec<usize>,
    pub(crate) precision: Precision,
}

impl Groups {
    /// The results: per loss, per group in key order.
    pub fn iter(&self) -> impl Iterator<Item = Result<Summary, Error>> + '_ {
        self.sink
            .results(self.reduction, &self.shape, self.precision)
            .map(|r| r.map_err(Error))
    }
}

impl fmt::Debug for Groups {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Groups")
            .field("reduction", &self.reduction)
            .field("shape", &self.shape)
            .finish_non_exhaustive()
    }
}

/// What can go wrong in a run: a bad argument, or bad or unreadable data. Its message names the
/// file and, for text, the line and column; [`std::error::Error::source`] gives the causes.
pub struct Error(pub(crate) anyhow::Error);

/// The kind of an [`Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The options: a bad δ, options that do not go together (exit status 2).
    InvalidArgument,
    /// The data: a missing file, a bad format, a parse error, a NaN under `nan = error`.
    Data,
}

impl Error {
    /// What kind of error this is.
    pub fn kind(&self) -> ErrorKind {
        let usage = self.0.chain().any(|e| {
            e.downcast_ref::<huber_core::Error>()
                .is_some_and(huber_core::Error::is_invalid_argument)
        });
        if usage {
            ErrorKind::InvalidArgument
        } else {
            ErrorKind::Data
        }
    }
}

impl From<anyhow::Error> for Error {
    fn from(e: anyhow::Error) -> Error {
        Error(e)
    }
}

impl From<huber_core::Error> for Error {
    fn from(e: huber_core::Error) -> Error {
        Error(e.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The outermost message; `{:#}` of an anyhow error made from this one adds the causes.
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// Hooks into a run: a progress observer, and where element losses go.
#[derive(Default)]
pub struct Hooks<'a> {
    /// Told of each pass and its progress.
    pub progress: Option<&'a dyn Progress>,
    /// Takes element losses or gradients as they are computed; without one they are collected
    /// into [`Results::Elements`].
    pub elements: Option<&'a mut dyn ElementSink>,
}

/// Runs `options`: checks them, opens the inputs, makes the passes the run needs and returns
/// what it computed.
///
/// ```no_run
/// use huber_engine::{InputSpec, Options, Results, evaluate};
///
/// let spec = |s: &str| InputSpec::parse(s.as_ref());
/// let options = Options::new(spec("pred.npy")?, spec("target.npy")?);
/// if let Results::Scalars(results) = evaluate(&options, Default::default())?.results {
///     println!("{}", results[0].value);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn evaluate(options: &Options, hooks: Hooks<'_>) -> Result<Outcome, Error> {
    options.check()?;
    let engine = Engine::new(options.threads, options.nan)?;
    Ok(Plan::new(options).run(&engine, hooks)?)
}
