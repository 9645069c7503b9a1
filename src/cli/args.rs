//! The loss computation's command line: clap's raw arguments ([`RunArgs`]), checked once into a
//! [`Config`]: the engine's [`Options`] and what only the command line has (where and how the
//! output is written, the plot, the progress bar), so that nothing downstream re-validates user
//! input.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use huber_core::Error as UsageError;
use huber_core::loss::{LossKind, Parameter};
use huber_core::reduce::Reduction;
use huber_engine::{CsvOptions, HeaderMode, InputSpec, NanPolicy, Options, Params};

use crate::cli::output::Format;

/// Options of a loss computation.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Predictions: PATH, PATH:KEY (NPZ array; CSV, Parquet or Arrow column; JSON Lines field,
    /// a.b nested), - (stdin) or -:KEY. KEY p0,p1,p2 reads several columns as one (N, 3) input.
    /// PATH may be a glob, a folder of shards or a hive-partitioned folder, and compressed.
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
    #[arg(short = 'l', long, value_enum, default_value_t = LossArg::Huber)]
    pub loss: LossArg,

    /// Threshold δ > 0 of huber and pseudo-huber (default 1.0). Several, comma-separated, give
    /// one result each; `auto` picks 1.345 · 1.4826 · MAD of the residuals.
    #[arg(short = 'd', long, value_name = "DELTA", allow_negative_numbers = true)]
    pub delta: Option<String>,

    /// Threshold β ≥ 0 of smooth-l1 (default 1.0; 0 gives L1). Several, comma-separated, give
    /// one result each.
    #[arg(short = 'b', long, value_name = "BETA", allow_negative_numbers = true)]
    pub beta: Option<String>,

    /// How element losses are combined.
    #[arg(short = 'r', long, value_enum, default_value_t = ReductionArg::Mean)]
    pub reduction: ReductionArg,

    /// Print the gradient of the (reduced) loss with respect to pred instead of the loss.
    #[arg(short = 'g', long)]
    pub grad: bool,

    /// Elements whose loss is NaN: propagate (as PyTorch), omit from sum, mean and count, or
    /// fail naming the first one.
    #[arg(long, value_enum, default_value_t = NanArg::Propagate)]
    pub nan: NanArg,

    /// Allow NumPy broadcasting between pred, target and weight instead of requiring one shape.
    #[arg(long)]
    pub broadcast: bool,

    /// Drop every axis of length 1 from pred, target, weight and --by keys first (numpy's
    /// squeeze), so that (N, 1) predictions pair with (N,) targets element by element.
    #[arg(long)]
    pub squeeze: bool,

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

    /// A CSV field VALUE is a missing value too (repeatable), besides an empty field and
    /// pandas' defaults (NA, N/A, NULL, #N/A, None, …); not a number.
    #[arg(long, value_name = "VALUE", allow_hyphen_values = true)]
    pub na: Vec<String>,

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

    /// One result per group: keys from a CSV column (PATH:COLUMN, any text), a JSON Lines
    /// field, a Parquet or Arrow column of text, integers or bools, a hive dataset's partition key
    /// (DATASET:store), or an NPY/NPZ array of integers or bools with pred's shape or that of its
    /// leading axes (a label per sample).
    #[arg(long, value_name = "INPUT", allow_hyphen_values = true)]
    pub by: Option<OsString>,

    /// List the K elements with the largest loss (NaN first), with their positions: as a table
    /// (text, CSV), or added to the result (JSON). At most 1000000.
    #[arg(long, value_name = "K")]
    pub top: Option<usize>,

    /// With --top: list the value of COLUMN of the inputs' CSV, JSON Lines, Parquet or Arrow
    /// table beside each row (an id, a file name).
    #[arg(long, value_name = "COLUMN", requires = "top")]
    pub id: Option<String>,
}

/// `--loss`: the losses of [`LossKind`], as the command line spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LossArg {
    /// Huber: quadratic below δ, linear above.
    Huber,
    /// SmoothL1: Huber divided by β.
    SmoothL1,
    /// Squared error.
    Mse,
    /// Absolute error.
    L1,
    /// log(cosh(r)).
    LogCosh,
    /// δ²·(sqrt(1 + (r/δ)²) − 1).
    PseudoHuber,
}

impl From<LossArg> for LossKind {
    fn from(l: LossArg) -> LossKind {
        match l {
            LossArg::Huber => LossKind::Huber,
            LossArg::SmoothL1 => LossKind::SmoothL1,
            LossArg::Mse => LossKind::Mse,
            LossArg::L1 => LossKind::L1,
            LossArg::LogCosh => LossKind::LogCosh,
            LossArg::PseudoHuber => LossKind::PseudoHuber,
        }
    }
}

/// `--reduction`: the reductions of [`Reduction`], with Keras' name for the weighted mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReductionArg {
    /// Every element loss, in C order.
    None,
    /// The sum divided by the element count.
    #[value(help = "The mean")]
    Mean,
    /// The sum.
    Sum,
    /// The sum divided by the weights' sum.
    #[value(
        name = "weighted-mean",
        alias = "mean_with_sample_weight",
        help = "The sum divided by the weights' sum (Keras' mean_with_sample_weight; needs --weight)"
    )]
    WeightedMean,
}

impl From<ReductionArg> for Reduction {
    fn from(r: ReductionArg) -> Reduction {
        match r {
            ReductionArg::None => Reduction::None,
            ReductionArg::Mean => Reduction::Mean,
            ReductionArg::Sum => Reduction::Sum,
            ReductionArg::WeightedMean => Reduction::WeightedMean,
        }
    }
}

/// `--nan`: the policies of [`NanPolicy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NanArg {
    /// They make the reduction NaN, as in PyTorch.
    #[value(help = "NaN losses make the result NaN")]
    Propagate,
    /// They are left out of sum, mean and count.
    #[value(help = "NaN losses are left out of sum, mean and count")]
    Omit,
    /// The run fails, naming the first one.
    #[value(help = "A NaN loss is an error")]
    Error,
}

impl From<NanArg> for NanPolicy {
    fn from(n: NanArg) -> NanPolicy {
        match n {
            NanArg::Propagate => NanPolicy::Propagate,
            NanArg::Omit => NanPolicy::Omit,
            NanArg::Error => NanPolicy::Error,
        }
    }
}

/// A checked loss computation: what the engine runs, and how the command line shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The run.
    pub options: Options,
    /// From `--format`, else from the output's extension.
    pub format: Format,
    /// The output file, or stdout.
    pub output: Option<PathBuf>,
    /// `--plot`: where the residuals' histogram is drawn.
    pub plot: Option<PathBuf>,
    /// Whether a progress bar and notes may be shown on stderr (not `--quiet`).
    pub progress: bool,
}

impl RunArgs {
    /// Checks the arguments of a loss computation.
    pub fn into_config(self) -> Result<Config, UsageError> {
        let kind = LossKind::from(self.loss);
        let params = params(kind, self.delta.as_deref(), self.beta.as_deref())?;
        let mut csv = csv_options(self.header, self.no_header, self.delimiter.as_deref())?;
        csv.na = parse_na(self.na)?;
        let axis = self.axis.as_deref().map(parse_axes).transpose()?;
        let format = Format::resolve(self.format, self.output.as_deref())?;
        let spec = |s: Option<OsString>| InputSpec::parse(&s.unwrap_or_default());
        let options = Options {
            pred: spec(self.pred)?,
            target: spec(self.target)?,
            weight: self.weight.map(|w| InputSpec::parse(&w)).transpose()?,
            params,
            reduction: self.reduction.into(),
            grad: self.grad,
            nan: self.nan.into(),
            broadcast: self.broadcast,
            squeeze: self.squeeze,
            csv,
            threads: self.threads.unwrap_or(0),
            axis,
            by: self.by.map(|b| InputSpec::parse(&b)).transpose()?,
            top: self.top,
            top_id: self.id,
            histogram: self.plot.is_some(),
        };
        options.check()?;
        check_format(&options, format)?;
        Ok(Config {
            options,
            format,
            output: self.output,
            plot: self.plot,
            progress: !self.quiet,
        })
    }
}

/// Refuses results that NPY cannot hold: records with a key each, and a table beside a result.
fn check_format(options: &Options, format: Format) -> Result<(), UsageError> {
    if format != Format::Npy {
        return Ok(());
    }
    let refusal = if options.by.is_some() {
        "--by results are records with a key each: write them as text, JSON or CSV"
    } else if options.top.is_some() {
        "--top writes a table (text, CSV) or a JSON result, not NPY: use -f text, csv or json"
    } else {
        return Ok(());
    };
    Err(UsageError::invalid_argument(refusal))
}

/// The losses `--delta` or `--beta` ask for, each checked; the flag of another loss's
/// parameter is refused.
fn params(kind: LossKind, delta: Option<&str>, beta: Option<&str>) -> Result<Params, UsageError> {
    let given = |p: Parameter| match p {
        Parameter::Delta => delta,
        Parameter::Beta => beta,
    };
    let other = [Parameter::Delta, Parameter::Beta]
        .into_iter()
        .find(|&p| Some(p) != kind.parameter() && given(p).is_some());
    if let Some(other) = other {
        let takes = match kind.parameter() {
            Some(p) => format!("its parameter is --{p}"),
            None => "it takes no parameter".to_string(),
        };
        return Err(UsageError::invalid_argument(format!(
            "--{other} does not apply to the {kind} loss: {takes}"
        )));
    }
    let Some(param) = kind.parameter() else {
        return Ok(Params::Given(vec![kind.with_param(None)?]));
    };
    match given(param) {
        None => Ok(Params::Given(vec![kind.with_param(None)?])),
        Some("auto") if param == Parameter::Delta => Ok(Params::AutoDelta(kind)),
        Some(list) => Ok(Params::Given(
            parse_list(param.name(), list)?
                .into_iter()
                .map(|v| kind.with_param(Some(v)))
                .collect::<Result<_, _>>()?,
        )),
    }
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
    Ok(CsvOptions {
        delimiter,
        header,
        na: Vec::new(),
    })
}

/// Checks `--na`: a number stays a number (the parser's fast path does not look words up), and
/// an empty value or one with a line break could not be a field of its own.
fn parse_na(values: Vec<String>) -> Result<Vec<String>, UsageError> {
    for v in &values {
        let bad = if v.trim().is_empty() {
            Some("is empty (an empty field is a missing value already)")
        } else if v.trim().parse::<f64>().is_ok() {
            Some("is a number; --na takes words only (NaN is one already)")
        } else if v.contains(['\n', '\r', '"']) {
            Some("holds a line break or a quote")
        } else {
            None
        };
        if let Some(why) = bad {
            return Err(UsageError::invalid_argument(format!("--na {v:?} {why}")));
        }
    }
    Ok(values)
}

/// Parses `0.5,1,2` (spaces allowed around values).
fn parse_list(name: &str, list: &str) -> Result<Vec<f64>, UsageError> {
    list.split(',')
        .map(|v| {
            let v = v.trim();
            v.parse::<f64>().map_err(|_| {
                UsageError::invalid_argument(format!("--{name} must be a number, got '{v}'"))
            })
        })
        .collect()
}

/// Parses `A[,B…]` into axis numbers as typed (possibly negative).
pub fn parse_axes(s: &str) -> Result<Vec<i64>, UsageError> {
    s.split(',')
        .map(|a| {
            a.trim().parse::<i64>().map_err(|_| {
                UsageError::invalid_argument(format!(
                    "invalid axis '{a}' in --axis '{s}' (expected integers separated by commas, \
                     e.g. 1,2 or -1)"
                ))
            })
        })
        .collect()
}

/// Parses `--delimiter`: one ASCII character, or `tab` / `\t`.
pub fn parse_delimiter(s: &str) -> Result<u8, UsageError> {
    match s {
        "\\t" | "tab" | "\t" => Ok(b'\t'),
        _ if s.len() == 1 && s.is_ascii() && s != "\"" && s != "\n" && s != "\r" => {
            Ok(s.as_bytes()[0])
        }
        _ => Err(UsageError::invalid_argument(format!(
            "--delimiter must be one ASCII character other than a quote or line break (or 'tab'), got {s:?}"
        ))),
    }
}

#[cfg(test)]
mod tests;
