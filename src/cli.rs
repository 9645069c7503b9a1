//! The loss computation's command line: clap's raw arguments ([`RunArgs`]), checked once into a
//! [`Config`] so that nothing downstream re-validates user input.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Args;

use crate::error::UsageError;
use crate::input::csv::parse_delimiter;
use crate::input::{CsvOptions, HeaderMode, InputSpec};
use crate::loss::{Loss, LossKind};
use crate::output::Format;
use crate::pipeline::NanPolicy;
use crate::reduce::Reduction;

/// Options of a loss computation.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Predictions: PATH, PATH:KEY (NPZ array; CSV, Parquet or Arrow column), - (stdin) or -:KEY.
    #[arg(
        short = 'p',
        long,
        value_name = "INPUT",
        required = true,
        allow_hyphen_values = true
    )]
    pub pred: Option<OsString>,

    /// Targets, in the same forms as --pred.
    #[arg(
        short = 't',
        long,
        value_name = "INPUT",
        required = true,
        allow_hyphen_values = true
    )]
    pub target: Option<OsString>,

    /// Per-element weights (same forms); each loss is multiplied by its weight, and mean still
    /// divides by the element count (-r weighted-mean divides by the weights' sum).
    #[arg(short = 'w', long, value_name = "INPUT", allow_hyphen_values = true)]
    pub weight: Option<OsString>,

    /// The loss function.
    #[arg(short = 'l', long, value_enum, default_value_t = LossKind::Huber)]
    pub loss: LossKind,

    /// Threshold δ > 0 of huber and pseudo-huber (default 1.0). Several, comma-separated, give
    /// one result each; `auto` picks 1.345 · 1.4826 · MAD of the residuals.
    #[arg(short = 'd', long, value_name = "DELTA", allow_negative_numbers = true)]
    pub delta: Option<String>,

    /// Threshold β ≥ 0 of smooth-l1 (default 1.0; 0 gives L1). Several, comma-separated, give
    /// one result each.
    #[arg(short = 'b', long, value_name = "BETA", allow_negative_numbers = true)]
    pub beta: Option<String>,

    /// How element losses are combined.
    #[arg(short = 'r', long, value_enum, default_value_t = Reduction::Mean)]
    pub reduction: Reduction,

    /// Print the gradient of the (reduced) loss with respect to pred instead of the loss.
    #[arg(short = 'g', long)]
    pub grad: bool,

    /// Elements whose loss is NaN: propagate (as PyTorch), omit from sum, mean and count, or
    /// fail naming the first one.
    #[arg(long, value_enum, default_value_t = NanPolicy::Propagate)]
    pub nan: NanPolicy,

    /// Allow NumPy broadcasting between pred, target and weight instead of requiring one shape.
    #[arg(long)]
    pub broadcast: bool,

    /// Output format [default: from the --output extension, else text].
    #[arg(short = 'f', long, value_enum)]
    pub format: Option<Format>,

    /// Write to PATH instead of stdout (replaced only when the run succeeds).
    #[arg(short = 'o', long, value_name = "PATH")]
    pub output: Option<PathBuf>,

    /// CSV field delimiter [default: tab for .tsv, else comma].
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<String>,

    /// The first CSV row is a header [default: detected].
    #[arg(long, conflicts_with = "no_header")]
    pub header: bool,

    /// The first CSV row is data.
    #[arg(long)]
    pub no_header: bool,

    /// Worker threads, at most 1024 [default: one per core]; results are identical for every
    /// count.
    #[arg(short = 'j', long, value_name = "N")]
    pub threads: Option<usize>,

    /// Also draw a histogram of the residuals with ±δ marked, as SVG.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,

    /// No progress bar (shown otherwise on a terminal's stderr when a run takes over a second) and
    /// no notes on stderr (such as how a CSV first line of numbers was read).
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// Reduce over these axes only and keep the others, as numpy's axis= (negative counts from
    /// the end): --axis 1,2 over an (N,H,W) batch gives one result per sample.
    #[arg(long, value_name = "A[,B…]", allow_hyphen_values = true)]
    pub axis: Option<String>,

    /// One result per group: keys from a CSV column (PATH:COLUMN, any text) or an NPY/NPZ array
    /// of integers or bools with pred's shape or that of its leading axes (a label per sample).
    #[arg(long, value_name = "INPUT", allow_hyphen_values = true)]
    pub by: Option<OsString>,

    /// List the K elements with the largest loss (NaN first), with their positions: as a table
    /// (text, CSV), or added to the result (JSON). At most 1000000.
    #[arg(long, value_name = "K")]
    pub top: Option<usize>,
}

/// The most worker threads `--threads` may ask for: far more than any machine's cores, and few
/// enough that starting them cannot take the machine's memory or minutes.
pub const MAX_THREADS: usize = 1024;

/// The most elements `--top` may list: a list of a million is already more than anyone reads,
/// and the list is held in memory (with its candidates, up to about 150 bytes an element, per loss).
pub const MAX_TOP: usize = 1_000_000;

/// The parameter values asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum Params {
    /// These losses, one result each.
    Given(Vec<Loss>),
    /// One huber or pseudo-huber loss with δ from the residuals' MAD.
    AutoDelta(LossKind),
}

/// A checked loss computation: each field is the option of the same name, checked, with its
/// default resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub pred: InputSpec,
    pub target: InputSpec,
    pub weight: Option<InputSpec>,
    /// The losses from `--loss` with `--delta` or `--beta`.
    pub params: Params,
    pub reduction: Reduction,
    pub grad: bool,
    pub nan: NanPolicy,
    pub broadcast: bool,
    /// From `--format`, else from the output's extension.
    pub format: Format,
    /// The output file, or stdout.
    pub output: Option<PathBuf>,
    /// `--delimiter`, `--header` and `--no-header`.
    pub csv: CsvOptions,
    /// Worker threads (0: one per core).
    pub threads: usize,
    pub plot: Option<PathBuf>,
    /// Whether a progress bar and notes may be shown on stderr (not `--quiet`).
    pub progress: bool,
    /// `--axis`, as typed (checked against the inputs' dimensions once they are open).
    pub axis: Option<Vec<i64>>,
    /// The group keys of `--by`.
    pub by: Option<InputSpec>,
    /// `--top K`: list the K worst elements.
    pub top: Option<usize>,
}

impl RunArgs {
    /// Checks the arguments of a loss computation.
    pub fn into_config(self) -> Result<Config, UsageError> {
        let params = params(self.loss, self.delta.as_deref(), self.beta.as_deref())?;
        check_combination(&params, self.reduction, self.grad, self.nan)?;
        let csv = csv_options(self.header, self.no_header, self.delimiter.as_deref())?;
        let threads = threads(self.threads)?;
        let axis = breakdown_options(
            self.reduction,
            self.weight.is_some(),
            self.grad,
            self.axis.as_deref(),
        )?;
        let format = Format::resolve(self.format, self.output.as_deref())?;
        let by = by(
            self.by.as_deref(),
            self.reduction,
            self.grad,
            format,
            self.axis.is_some(),
        )?;
        let spec = |s: Option<OsString>| InputSpec::parse(&s.unwrap_or_default());
        let config = Config {
            pred: spec(self.pred)?,
            target: spec(self.target)?,
            weight: self.weight.map(|w| InputSpec::parse(&w)).transpose()?,
            params,
            reduction: self.reduction,
            grad: self.grad,
            nan: self.nan,
            broadcast: self.broadcast,
            format,
            output: self.output,
            csv,
            threads,
            plot: self.plot,
            progress: !self.quiet,
            axis,
            by,
            top: self.top,
        };
        check_top(&config)?;
        Ok(config)
    }
}

/// The losses `--delta` or `--beta` ask for, each checked; the flag of another loss's
/// parameter is refused.
fn params(kind: LossKind, delta: Option<&str>, beta: Option<&str>) -> Result<Params, UsageError> {
    let (given, other) = match kind.param_name() {
        Some("delta") => (delta, beta.map(|_| "--beta")),
        Some(_) => (beta, delta.map(|_| "--delta")),
        None => (None, delta.map(|_| "--delta").or(beta.map(|_| "--beta"))),
    };
    if let Some(flag) = other {
        let takes = match kind.param_name() {
            Some(p) => format!("its parameter is --{p}"),
            None => "it takes no parameter".to_string(),
        };
        return Err(UsageError::new(format!(
            "{flag} does not apply to the {kind} loss: {takes}"
        )));
    }
    match (given, kind.param_name()) {
        (None, _) | (_, None) => Ok(Params::Given(vec![kind.with_param(None)?])),
        (Some("auto"), Some("delta")) => Ok(Params::AutoDelta(kind)),
        (Some(list), Some(name)) => Ok(Params::Given(
            parse_list(name, list)?
                .into_iter()
                .map(|v| kind.with_param(Some(v)))
                .collect::<Result<_, _>>()?,
        )),
    }
}

/// Refuses options that make no sense together.
fn check_combination(
    params: &Params,
    reduction: Reduction,
    grad: bool,
    nan: NanPolicy,
) -> Result<(), UsageError> {
    let several = matches!(params, Params::Given(l) if l.len() > 1);
    if several && grad {
        return Err(UsageError::new(
            "--grad takes one parameter value: the gradient is of one loss",
        ));
    }
    if several && reduction == Reduction::None {
        return Err(UsageError::new(
            "several parameter values need a scalar reduction (mean or sum); run once per value for --reduction none",
        ));
    }
    if nan == NanPolicy::Omit && reduction == Reduction::None && !grad {
        return Err(UsageError::new(
            "--nan omit leaves elements out of a sum or mean; with --reduction none there is nothing to leave them out of",
        ));
    }
    Ok(())
}

/// `--by`: a key input, for a scalar reduction written as text, JSON or CSV.
fn by(
    arg: Option<&std::ffi::OsStr>,
    reduction: Reduction,
    grad: bool,
    format: Format,
    axis: bool,
) -> Result<Option<InputSpec>, UsageError> {
    let Some(arg) = arg else {
        return Ok(None);
    };
    if axis {
        return Err(UsageError::new(
            "--by and --axis do not go together yet: give one result per group or per cell",
        ));
    }
    if grad {
        return Err(UsageError::new(
            "--by gives one loss per group; --grad is the gradient of one loss, not per group",
        ));
    }
    if !matches!(reduction, Reduction::Mean | Reduction::Sum) {
        return Err(UsageError::new(format!(
            "--by gives one mean or sum per group, not --reduction {reduction}"
        )));
    }
    if format == Format::Npy {
        return Err(UsageError::new(
            "--by results are records with a key each: write them as text, JSON or CSV",
        ));
    }
    InputSpec::parse(arg).map(Some)
}

/// Checks `-r weighted-mean` (it needs weights) and `--axis` (a per-cell mean or sum, not the
/// elements, not a gradient); returns the axes as typed.
fn breakdown_options(
    reduction: Reduction,
    weighted: bool,
    grad: bool,
    axis: Option<&str>,
) -> Result<Option<Vec<i64>>, UsageError> {
    if reduction == Reduction::WeightedMean && !weighted {
        return Err(UsageError::new(
            "weighted-mean divides by the weights' sum; give --weight (without weights it is mean)",
        ));
    }
    let Some(axis) = axis else {
        return Ok(None);
    };
    if reduction == Reduction::None {
        return Err(UsageError::new(
            "--axis reduces over axes: use it with mean, sum or weighted-mean, not --reduction none",
        ));
    }
    if grad {
        return Err(UsageError::new(
            "--axis gives one result per cell and --grad the gradient of one result: use one of them",
        ));
    }
    crate::breakdown::axis::parse_axes(axis).map(Some)
}

/// `--top K`: K from 1 to [`MAX_TOP`], listed beside a scalar result in a format that can
/// hold a table.
fn check_top(config: &Config) -> Result<(), UsageError> {
    let Some(k) = config.top else {
        return Ok(());
    };
    let refusal = if k == 0 {
        "--top 0 lists nothing: give K of at least 1".to_string()
    } else if k > MAX_TOP {
        format!("--top {k} is more than the limit of {MAX_TOP}")
    } else if config.grad {
        "--top lists element losses, not gradients: drop --grad or --top".to_string()
    } else if config.reduction == Reduction::None {
        "--top lists the worst of the element losses; --reduction none prints them all: use one or the other".to_string()
    } else if config.axis.is_some() || config.by.is_some() {
        "--top lists the worst elements of the whole input; it cannot be combined with --axis or --by"
            .to_string()
    } else if config.reduction == Reduction::WeightedMean {
        "--top goes beside -r mean or sum; with -r weighted-mean, run --top separately".to_string()
    } else if config.format == Format::Npy {
        "--top writes a table (text, CSV) or a JSON result, not NPY: use -f text, csv or json"
            .to_string()
    } else {
        return Ok(());
    };
    Err(UsageError::new(refusal))
}

/// `--header`, `--no-header` and `--delimiter`.
fn csv_options(
    header: bool,
    no_header: bool,
    delimiter: Option<&str>,
) -> Result<CsvOptions, UsageError> {
    let header = match (header, no_header) {
        (true, _) => HeaderMode::Present,
        (_, true) => HeaderMode::Absent,
        _ => HeaderMode::Detect,
    };
    let delimiter = delimiter.map(parse_delimiter).transpose()?;
    Ok(CsvOptions { delimiter, header })
}

/// `--threads`, at most [`MAX_THREADS`]; 0 when not given (one per core).
fn threads(n: Option<usize>) -> Result<usize, UsageError> {
    match n {
        Some(n) if n > MAX_THREADS => Err(UsageError::new(format!(
            "--threads {n} is more than the limit of {MAX_THREADS}"
        ))),
        n => Ok(n.unwrap_or(0)),
    }
}

/// Parses `0.5,1,2` (spaces allowed around values).
fn parse_list(name: &str, list: &str) -> Result<Vec<f64>, UsageError> {
    list.split(',')
        .map(|v| {
            let v = v.trim();
            v.parse::<f64>()
                .map_err(|_| UsageError::new(format!("--{name} must be a number, got '{v}'")))
        })
        .collect()
}

#[cfg(test)]
mod tests;
