//! What a run returns: an [`Outcome`] of values, never output.

use std::fmt;

use crate::array::Owned;
use crate::breakdown::axis::Cells;
use crate::breakdown::by::GroupSink;
use crate::breakdown::top::Worst;
use crate::dtype::Precision;
use crate::error::Error;
use crate::histogram::ResidualHistogram;
use crate::loss::Loss;
use crate::reduce::Reduction;
use crate::summary::Summary;

/// What a run computed.
#[derive(Debug)]
pub struct Outcome {
    /// The results.
    pub results: Results,
    /// The losses computed: as given, or with the δ found by auto-δ.
    pub losses: Vec<Loss>,
    /// The residuals' histogram, when [`Options::histogram`](crate::Options::histogram) asked for it.
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
    /// Element losses or the gradient: `values` when no [`ElementSink`](crate::ElementSink) took them.
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
    /// The file of each listed element, for an input that is a dataset of files: the file its
    /// line is in, or where no input has lines, the file its row is in.
    pub files: Option<Vec<String>>,
    /// The value of the `--id` column in each listed element's row.
    pub ids: Option<Vec<String>>,
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
