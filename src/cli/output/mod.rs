//! Writing results: one [`Writer`] per format, and a [`Destination`] that only shows output once
//! the whole run has succeeded.

pub mod axis;
pub mod csv;
pub mod destination;
pub mod groups;
pub mod json;
pub mod npy;
pub mod text;
pub mod top;

use std::io::{self, IsTerminal, Write};
use std::path::Path;

pub use self::destination::Destination;
use huber_core::Error as UsageError;
use huber_core::dtype::Precision;
use huber_core::summary::Summary;
use huber_engine::Values;

/// An output format (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One value per line.
    #[value(help = "Plain numbers, one per line")]
    Text,
    /// One JSON document.
    #[value(help = "JSON")]
    Json,
    /// Comma-separated values.
    #[value(help = "CSV")]
    Csv,
    /// A NumPy array file.
    #[value(help = "NumPy .npy (never to a terminal)")]
    Npy,
}

impl Format {
    /// The format an output file's extension implies: `.json`, `.csv`, `.npy`; `None` for others.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "json" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            "npy" => Some(Format::Npy),
            "txt" => Some(Format::Text),
            _ => None,
        }
    }

    /// The format asked for with `--format`, else the one `--output`'s extension implies, else
    /// text. Binary NPY is refused on a terminal.
    pub fn resolve(format: Option<Format>, output: Option<&Path>) -> Result<Format, UsageError> {
        let format = format
            .or_else(|| output.and_then(Format::from_path))
            .unwrap_or(Format::Text);
        if format == Format::Npy && output.is_none() && io::stdout().is_terminal() {
            return Err(UsageError::invalid_argument(
                "refusing to write binary NPY to a terminal; use -o FILE.npy or redirect stdout",
            ));
        }
        Ok(format)
    }

    /// A writer for this format.
    pub fn writer(self) -> Box<dyn Writer> {
        match self {
            Format::Text => Box::new(text::Text),
            Format::Json => Box::new(json::Json::default()),
            Format::Csv => Box::new(csv::Csv::default()),
            Format::Npy => Box::new(npy::Npy),
        }
    }
}

/// Writes results in one format. Scalar results come in one call; element losses stream as
/// `begin`, `values` for each chunk in C order, then `end`.
pub trait Writer: Send {
    /// Writes one result per loss (several for a δ sweep).
    fn scalars(&mut self, out: &mut dyn Write, results: &[Summary]) -> io::Result<()>;
    /// Starts an array of element losses.
    fn begin(
        &mut self,
        out: &mut dyn Write,
        shape: &[usize],
        precision: Precision,
    ) -> io::Result<()>;
    /// Writes the next chunk of element losses.
    fn values(&mut self, out: &mut dyn Write, values: Values<'_>) -> io::Result<()>;
    /// Finishes the array.
    fn end(&mut self, out: &mut dyn Write) -> io::Result<()>;
    /// Whether `begin` may be given a provisional shape whose first axis is not known yet, the
    /// array's own coming to [`restart`](Self::restart) at its end (see
    /// `huber_engine::ElementSink::shape_at_end`): yes unless the format nests by the shape.
    fn shape_at_end(&self) -> bool {
        true
    }
    /// What to write over the start of the output once the array's `shape` is known: what
    /// `begin` writes for that shape, when that is more than nothing (a header).
    fn restart(&self, _shape: &[usize], _precision: Precision) -> Option<Vec<u8>> {
        None
    }
}
