//! The result record ([`Summary`]) as a Python object, its JSON (the command line's schema) and
//! the exact merge of records, as `huber merge` does it.

use huber_core::summary::{GroupKey, Summary, to_json};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

/// One scalar result: the value, the exact state it was rounded from, and what it is of. The
/// Python class `huber.Result` wraps it.
#[pyclass(module = "huber._huber", name = "Record", frozen)]
#[derive(Clone)]
pub struct Result {
    pub summary: Summary,
}

impl From<Summary> for Result {
    fn from(summary: Summary) -> Result {
        Result { summary }
    }
}

#[pymethods]
impl Result {
    /// The result, rounded once to `dtype`, widened to a Python float.
    #[getter]
    fn value(&self) -> f64 {
        self.summary.value
    }

    /// The sum of the (weighted) element losses, rounded once to float64.
    #[getter]
    fn sum(&self) -> f64 {
        self.summary.sum
    }

    /// Elements counted.
    #[getter]
    fn count(&self) -> u64 {
        self.summary.count
    }

    /// The inputs' shape (concatenated along the first axis for merged results).
    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.summary.shape)
    }

    /// `float16`, `float32` or `float64`.
    #[getter]
    fn dtype(&self) -> &'static str {
        self.summary.precision.name()
    }

    /// The share of counted elements in the linear regime (|r| ≥ δ), for losses with a threshold.
    #[getter]
    fn linear_fraction(&self) -> Option<f64> {
        self.summary.linear_fraction
    }

    /// The loss's name (`huber`, `smooth_l1`, …).
    #[getter]
    fn loss(&self) -> &'static str {
        self.summary.loss.kind().name()
    }

    /// The loss's parameter: (`"delta"` or `"beta"`, its value), or None.
    #[getter]
    fn param(&self) -> Option<(&'static str, f64)> {
        self.summary.loss.param().map(|(p, v)| (p.name(), v))
    }

    /// `mean`, `sum` or `weighted-mean`.
    #[getter]
    fn reduction(&self) -> &'static str {
        self.summary.reduction.name()
    }

    /// For a weighted mean, the exact sum of the weights rounded to float64.
    #[getter]
    fn weight_sum(&self) -> Option<f64> {
        self.summary
            .weights
            .as_ref()
            .map(|w| w.reduce(huber_core::reduce::Reduction::Sum))
    }

    /// The group's key, for a per-group result.
    #[getter]
    fn key<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let Some(group) = &self.summary.group else {
            return Ok(None);
        };
        Ok(Some(match &group.key {
            GroupKey::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
            GroupKey::Int(i) => i.into_pyobject(py)?.into_any(),
            GroupKey::Text(t) => t.into_pyobject(py)?.into_any(),
        }))
    }

    /// The key input of a per-group result, as given.
    #[getter]
    fn by(&self) -> Option<&str> {
        self.summary.group.as_ref().map(|g| g.by.as_str())
    }

    /// The record as `huber -f json` writes it.
    fn to_json(&self) -> String {
        to_json(std::slice::from_ref(&self.summary))
    }

    /// The same result over data of `shape` (of as many elements as the one it was counted
    /// over): for results merged from blocks of an array cut along other axes than the first.
    fn with_shape(&self, shape: Vec<usize>) -> PyResult<Result> {
        let elements = |s: &[usize]| huber_core::summary::shape_len(s).ok();
        if elements(&shape).is_none() || elements(&shape) != elements(&self.summary.shape) {
            return Err(PyValueError::new_err(format!(
                "with_shape: {shape:?} does not hold the {:?} elements of {:?}",
                elements(&self.summary.shape),
                self.summary.shape
            )));
        }
        let mut summary = self.summary.clone();
        summary.shape = shape;
        Ok(Result { summary })
    }

    /// The same result as the result of group `key` (a bool, an integer or text) of the labels
    /// `by`: for labels the package turned into codes.
    fn with_key(&self, by: String, key: &Bound<'_, PyAny>) -> PyResult<Result> {
        let key = if let Ok(b) = key.cast::<pyo3::types::PyBool>() {
            GroupKey::Bool(b.is_true())
        } else if let Ok(i) = key.extract::<i64>() {
            GroupKey::Int(i)
        } else if let Ok(t) = key.extract::<String>() {
            GroupKey::Text(t)
        } else {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "a group key is a bool, an integer or a str",
            ));
        };
        let mut summary = self.summary.clone();
        summary.group = Some(huber_core::summary::Group { by, key });
        Ok(Result { summary })
    }

    fn __eq__(&self, other: &Result) -> bool {
        self.summary == other.summary
    }
}

/// The records of a JSON text written by `huber -f json`, `huber merge` or `to_json`: one object,
/// or an array of them. `name` names the text in messages.
#[pyfunction]
pub fn parse(text: &str, name: &str) -> PyResult<Vec<Result>> {
    let summaries = huber_core::merge::parse(text)
        .map_err(|e| crate::DataError::new_err(format!("{name}: {e}")))?;
    Ok(summaries.into_iter().map(Result::from).collect())
}

/// Merges shards of results exactly, as `huber merge` does: `shards` is a list of (name, records)
/// pairs, the records of each shard in the order `huber` wrote them.
#[pyfunction]
pub fn merge(
    py: Python<'_>,
    shards: Vec<(String, Vec<PyRef<'_, Result>>)>,
) -> PyResult<Vec<Result>> {
    let owned: Vec<(String, Vec<Summary>)> = shards
        .into_iter()
        .map(|(name, results)| (name, results.iter().map(|r| r.summary.clone()).collect()))
        .collect();
    let merged = py.detach(|| {
        let borrowed: Vec<(&str, Vec<Summary>)> = owned
            .iter()
            .map(|(name, results)| (name.as_str(), results.clone()))
            .collect();
        huber_core::merge::merge(&borrowed)
    });
    match merged {
        Ok(results) => Ok(results.into_iter().map(Result::from).collect()),
        Err(e) if e.is_invalid_argument() => Err(PyValueError::new_err(e.to_string())),
        Err(e) => Err(crate::DataError::new_err(e.to_string())),
    }
}
