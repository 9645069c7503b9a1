//! What a run is asked to do: [`Options`], checked once, and the [`Hooks`] through which it
//! reports progress and hands over element losses.

use crate::array::Values;
use crate::dtype::Precision;
use crate::input::{CsvOptions, InputSpec};
use crate::loss::{Loss, LossKind};
use crate::pipeline::NanPolicy;
use crate::reduce::Reduction;

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
/// that differ from the defaults, and [`evaluate`](crate::evaluate) checks it once.
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
    /// Drop every axis of length 1 from pred, target, weight and the `--by` keys first (numpy's
    /// `squeeze`), so that `(N, 1)` predictions pair with `(N,)` targets element by element.
    pub squeeze: bool,
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
    /// A column of the inputs' table (CSV or JSON Lines) whose value is listed beside each
    /// `top` element (`--id`).
    pub top_id: Option<String>,
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
            squeeze: false,
            csv: CsvOptions::default(),
            threads: 0,
            axis: None,
            by: None,
            top: None,
            top_id: None,
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
            return match self.top_id {
                Some(_) => Err(huber_core::Error::invalid_argument(
                    "--id names the column listed beside the rows of --top: give --top K too",
                )),
                None => Ok(()),
            };
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
    /// Whether the caller wants the run to stop (a Ctrl-C seen by a caller that handles it):
    /// asked before each batch; `true` ends the run with an error, and nothing is returned.
    fn interrupted(&self) -> bool {
        false
    }
}

/// Where element losses or gradients go as they are computed, in C order.
pub trait ElementSink: Send {
    /// The array starts: its shape and the type of its values.
    fn begin(&mut self, shape: &[usize], precision: Precision) -> anyhow::Result<()>;
    /// The next values, in C order.
    fn values(&mut self, values: Values<'_>) -> anyhow::Result<()>;
    /// The array is complete; `shape` is its shape, which is the one [`begin`](Self::begin)
    /// was given unless the sink takes the shape at the end.
    fn end(&mut self, shape: &[usize]) -> anyhow::Result<()>;
    /// Whether [`begin`](Self::begin) may be given a provisional shape whose first axis is not
    /// known yet (a bound, not the length), the array's shape coming to [`end`](Self::end):
    /// then a table read as it arrives (standard input) is not held and counted first. A sink
    /// that needs the shape before the first value (JSON nests by it) says no, the default.
    fn shape_at_end(&self) -> bool {
        false
    }
}

/// Hooks into a run: a progress observer, and where element losses go.
#[derive(Default)]
pub struct Hooks<'a> {
    /// Told of each pass and its progress.
    pub progress: Option<&'a dyn Progress>,
    /// Takes element losses or gradients as they are computed; without one they are collected
    /// into [`Results::Elements`](crate::Results::Elements).
    pub elements: Option<&'a mut dyn ElementSink>,
}
