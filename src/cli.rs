//! The command line: clap's raw arguments ([`Cli`]), checked once into a [`Config`] so that
//! nothing downstream re-validates user input.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::error::UsageError;
use crate::input::csv::parse_delimiter;
use crate::input::{CsvOptions, HeaderMode, InputSpec};
use crate::loss::{Loss, LossKind};
use crate::output::Format;
use crate::reduce::Reduction;

/// Robust regression losses over NPY, NPZ and CSV files, with PyTorch's numbers.
#[derive(Debug, Parser)]
#[command(name = "huber", version, about, long_about = crate::help::LONG_ABOUT)]
#[command(after_help = crate::help::short_after_help())]
#[command(after_long_help = crate::help::long_after_help())]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Cli {
    /// Other things huber does than computing a loss.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Predictions: PATH, PATH:KEY (NPZ array or CSV column), - (stdin) or -:KEY.
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

    /// The loss function.
    #[arg(short = 'l', long, value_enum, default_value_t = LossArg::Huber)]
    pub loss: LossArg,

    /// Huber threshold δ > 0 (default 1.0); several, comma-separated, give one result each.
    #[arg(short = 'd', long, value_name = "DELTA", allow_negative_numbers = true)]
    pub delta: Option<String>,

    /// SmoothL1 threshold β ≥ 0 (default 1.0; 0 gives L1); several, comma-separated, give one result each.
    #[arg(short = 'b', long, value_name = "BETA", allow_negative_numbers = true)]
    pub beta: Option<String>,

    /// How element losses are combined.
    #[arg(short = 'r', long, value_enum, default_value_t = ReductionArg::Mean)]
    pub reduction: ReductionArg,

    /// Output format [default: from the --output extension, else text].
    #[arg(short = 'f', long, value_enum)]
    pub format: Option<FormatArg>,

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

    /// Worker threads [default: one per core]; results are identical for every count.
    #[arg(short = 'j', long, value_name = "N")]
    pub threads: Option<usize>,

    /// Also draw a histogram of the residuals with ±δ marked, as SVG.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,

    /// No progress bar (shown otherwise on a terminal's stderr when a run takes over a second).
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print a shell completion script to stdout.
    #[command(after_help = "Load now: source <(huber completions bash)\n\
        Install: huber completions bash > ~/.local/share/bash-completion/completions/huber\n\
        zsh: huber completions zsh > \"${fpath[1]}/_huber\"\n\
        fish: huber completions fish > ~/.config/fish/completions/huber.fish")]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// `--loss` values.
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
}

/// `--reduction` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReductionArg {
    /// Every element loss, in C order.
    None,
    /// The mean.
    Mean,
    /// The sum.
    Sum,
}

/// `--format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Plain numbers, one per line.
    Text,
    /// JSON.
    Json,
    /// CSV.
    Csv,
    /// NumPy .npy (never to a terminal).
    Npy,
}

/// A checked command line.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Predictions.
    pub pred: InputSpec,
    /// Targets.
    pub target: InputSpec,
    /// One loss per parameter value (several for a sweep).
    pub losses: Vec<Loss>,
    /// The reduction.
    pub reduction: Reduction,
    /// The output format.
    pub format: Format,
    /// The output file, or stdout.
    pub output: Option<PathBuf>,
    /// How CSV inputs are read.
    pub csv: CsvOptions,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Where to draw the residual histogram.
    pub plot: Option<PathBuf>,
    /// Whether a progress bar may be shown.
    pub progress: bool,
}

impl Cli {
    /// Checks the arguments and resolves defaults.
    pub fn into_config(self) -> Result<Config, UsageError> {
        let kind = match self.loss {
            LossArg::Huber => LossKind::Huber,
            LossArg::SmoothL1 => LossKind::SmoothL1,
            LossArg::Mse => LossKind::Mse,
            LossArg::L1 => LossKind::L1,
        };
        let (given, other) = match kind {
            LossKind::Huber => (
                self.delta.as_deref().map(|d| ("delta", d)),
                self.beta.as_ref().map(|_| "--beta"),
            ),
            LossKind::SmoothL1 => (
                self.beta.as_deref().map(|b| ("beta", b)),
                self.delta.as_ref().map(|_| "--delta"),
            ),
            _ => (
                None,
                self.delta
                    .as_ref()
                    .map(|_| "--delta")
                    .or(self.beta.as_ref().map(|_| "--beta")),
            ),
        };
        if let Some(flag) = other {
            let takes = match kind.param_name() {
                Some(p) => format!("its parameter is --{p}"),
                None => "it takes no parameter".to_string(),
            };
            return Err(UsageError::new(format!(
                "{flag} does not apply to the {} loss: {takes}",
                kind.name()
            )));
        }
        let losses = match given {
            None => vec![kind.with_param(None)?],
            Some((name, list)) => parse_list(name, list)?
                .into_iter()
                .map(|v| kind.with_param(Some(v)))
                .collect::<Result<Vec<_>, _>>()?,
        };
        let reduction = match self.reduction {
            ReductionArg::None => Reduction::None,
            ReductionArg::Mean => Reduction::Mean,
            ReductionArg::Sum => Reduction::Sum,
        };
        if reduction == Reduction::None && losses.len() > 1 {
            return Err(UsageError::new(
                "several parameter values need a scalar reduction (mean or sum); run once per value for --reduction none",
            ));
        }
        let format = match (self.format, &self.output) {
            (Some(f), _) => match f {
                FormatArg::Text => Format::Text,
                FormatArg::Json => Format::Json,
                FormatArg::Csv => Format::Csv,
                FormatArg::Npy => Format::Npy,
            },
            (None, Some(path)) => Format::from_path(path).unwrap_or(Format::Text),
            (None, None) => Format::Text,
        };
        if format == Format::Npy && self.output.is_none() && std::io::stdout().is_terminal() {
            return Err(UsageError::new(
                "refusing to write binary NPY to a terminal; use -o FILE.npy or redirect stdout",
            ));
        }
        let header = match (self.header, self.no_header) {
            (true, _) => HeaderMode::Present,
            (_, true) => HeaderMode::Absent,
            _ => HeaderMode::Detect,
        };
        let delimiter = self.delimiter.as_deref().map(parse_delimiter).transpose()?;
        let (Some(pred), Some(target)) = (&self.pred, &self.target) else {
            return Err(UsageError::new("--pred and --target are required"));
        };
        Ok(Config {
            pred: InputSpec::parse(pred)?,
            target: InputSpec::parse(target)?,
            losses,
            reduction,
            format,
            output: self.output,
            csv: CsvOptions { delimiter, header },
            threads: self.threads.unwrap_or(0),
            plot: self.plot,
            progress: !self.quiet,
        })
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
mod tests {
    use super::*;

    fn config(args: &[&str]) -> Result<Config, UsageError> {
        let mut all = vec!["huber", "-p", "p.npy", "-t", "t.npy"];
        all.extend_from_slice(args);
        Cli::try_parse_from(all).unwrap().into_config()
    }

    #[test]
    fn parameters_belong_to_their_loss() {
        assert!(
            config(&["--beta", "1"])
                .unwrap_err()
                .to_string()
                .contains("--delta")
        );
        assert!(config(&["-l", "smooth-l1", "-d", "1"]).is_err());
        assert!(
            config(&["-l", "mse", "-b", "1"])
                .unwrap_err()
                .to_string()
                .contains("no parameter")
        );
        assert_eq!(
            config(&["-l", "smooth-l1", "-b", "0"]).unwrap().losses,
            vec![Loss::SmoothL1 { beta: 0.0 }]
        );
    }

    #[test]
    fn delta_lists_and_bad_deltas() {
        assert_eq!(config(&["-d", "0.5, 1,2"]).unwrap().losses.len(), 3);
        for bad in ["0", "-1", "nan", "x", "1,,2"] {
            assert!(config(&["-d", bad]).is_err(), "{bad}");
        }
        assert!(config(&["-d", "inf"]).is_ok());
        assert!(config(&["-d", "1,2", "-r", "none"]).is_err());
    }

    #[test]
    fn format_from_output_extension() {
        assert_eq!(config(&["-o", "x.json"]).unwrap().format, Format::Json);
        assert_eq!(
            config(&["-o", "x.json", "-f", "csv"]).unwrap().format,
            Format::Csv
        );
        assert_eq!(config(&["-o", "x.out"]).unwrap().format, Format::Text);
    }
}
