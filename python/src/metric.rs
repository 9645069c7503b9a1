//! The state of `huber.Metric`: batches computed and their exact results merged here, in Rust, so
//! that an update costs one engine run and no Python objects.

use huber_core::summary::Summary;
use huber_engine::{NanPolicy, Options, Params, Results};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

use crate::arrays::input;
use crate::record::Result as Record;
use crate::run::{interruptible, nan_policy, params, reduction};

/// Batches held before they are merged into the state: one merge of many costs less than many
/// merges of two.
const FOLD_AT: usize = 256;

/// The exact results of the batches seen so far, for one loss (or several parameter values).
#[pyclass(module = "huber._huber", name = "Accumulator")]
pub struct Accumulator {
    params: Params,
    reduction: huber_core::reduce::Reduction,
    nan: NanPolicy,
    threads: usize,
    /// The batches merged, if any.
    merged: Option<Vec<Summary>>,
    /// Batches not merged yet.
    pending: Vec<Vec<Summary>>,
}

impl Accumulator {
    /// Holds the results of a batch: refused, with nothing else touched, when they cannot be
    /// merged with the earlier ones (another dtype, weights where there were none).
    fn absorb(&mut self, results: Vec<Summary>) -> PyResult<()> {
        let earlier = self.merged.as_ref().or(self.pending.first());
        if let (Some(a), Some(b)) = (earlier.and_then(|r| r.first()), results.first()) {
            if a.precision != b.precision {
                return Err(PyValueError::new_err(format!(
                    "this batch's result is {} but the metric's earlier batches' are {}: a \
                     metric keeps one dtype (convert the batch, or use one metric per dtype)",
                    b.precision, a.precision
                )));
            }
            if a.weights.is_some() != b.weights.is_some() {
                return Err(PyValueError::new_err(
                    "a weighted mean needs weights with every batch",
                ));
            }
        }
        self.pending.push(results);
        if self.pending.len() >= FOLD_AT {
            self.fold()?;
        }
        Ok(())
    }

    /// Merges the pending batches into the state; on failure the state is left as it was.
    fn fold(&mut self) -> PyResult<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let names: Vec<String> = (1..=self.pending.len())
            .map(|i| format!("batch {i}"))
            .collect();
        let mut shards: Vec<(&str, Vec<Summary>)> = Vec::with_capacity(names.len() + 1);
        shards.extend(self.merged.clone().map(|m| ("metric", m)));
        shards.extend(
            names
                .iter()
                .map(String::as_str)
                .zip(self.pending.iter().cloned()),
        );
        let merged = match shards.len() {
            1 => Ok(shards.pop().map(|(_, r)| r).unwrap_or_default()),
            _ => huber_core::merge::merge(&shards),
        };
        self.merged = Some(merged.map_err(|e| crate::DataError::new_err(e.to_string()))?);
        self.pending.clear();
        Ok(())
    }

    /// The options of a batch's run.
    fn options(
        &self,
        pred: &Bound<'_, PyAny>,
        target: &Bound<'_, PyAny>,
        weight: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Options> {
        let mut options = Options::new(input(pred, "pred")?, input(target, "target")?);
        options.weight = weight.map(|w| input(w, "weight")).transpose()?;
        options.params = self.params.clone();
        options.reduction = self.reduction;
        options.nan = self.nan;
        options.threads = self.threads;
        options
            .check()
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(options)
    }
}

#[pymethods]
impl Accumulator {
    #[new]
    fn new(
        loss: &str,
        values: Vec<f64>,
        reduction: &str,
        nan: &str,
        threads: usize,
    ) -> PyResult<Accumulator> {
        Ok(Accumulator {
            params: params(loss, Some(values))?,
            reduction: self::reduction(reduction)?,
            nan: nan_policy(nan)?,
            threads,
            merged: None,
            pending: Vec::new(),
        })
    }

    /// Computes a batch and adds its results. The metric is not borrowed while the engine runs
    /// (without the GIL), so other threads may read it meanwhile.
    #[pyo3(signature = (pred, target, weight=None))]
    fn update(
        slf: &Bound<'_, Self>,
        pred: &Bound<'_, PyAny>,
        target: &Bound<'_, PyAny>,
        weight: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let options = slf.borrow().options(pred, target, weight)?;
        match interruptible(slf.py(), options)?.results {
            Results::Scalars(results) => slf.borrow_mut().absorb(results),
            _ => Err(PyRuntimeError::new_err(
                "internal error: a metric's batch gave no scalar results",
            )),
        }
    }

    /// Adds results computed elsewhere (another metric's, or read from JSON).
    fn add(&mut self, records: Vec<PyRef<'_, Record>>) -> PyResult<()> {
        self.absorb(records.iter().map(|r| r.summary.clone()).collect())
    }

    /// The results of every batch, merged; `None` before any.
    fn results(&mut self) -> PyResult<Option<Vec<Record>>> {
        self.fold()?;
        Ok(self
            .merged
            .as_ref()
            .map(|m| m.iter().cloned().map(Record::from).collect()))
    }

    /// Elements counted so far.
    fn count(&mut self) -> PyResult<u64> {
        self.fold()?;
        Ok(self
            .merged
            .as_ref()
            .and_then(|m| m.first())
            .map_or(0, |s| s.count))
    }

    /// Forgets every batch.
    fn reset(&mut self) {
        self.merged = None;
        self.pending.clear();
    }
}
