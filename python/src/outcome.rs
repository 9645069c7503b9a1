//! An [`Outcome`] as Python values: `(kind, results, losses, notes)`.
//!
//! | kind | results |
//! |---|---|
//! | `"scalars"` | a list of records, one per loss |
//! | `"groups"` | a list of records, per loss then per group in key order |
//! | `"elements"` | a numpy array of the computed shape |
//! | `"cells"` | a list of dicts, one per loss: `values`, `counts`, `sums`, `linear_fractions`, `weight_sums` (numpy arrays of the kept shape), `axes`, `shape`, `dtype` |
//! | `"top"` | a list of `(record, table)` pairs, one per loss; `table` a dict of numpy arrays: `index`, `loss`, `pred`, `target`, and `weight`, `line` when there are |

use huber_engine::{Cells, Outcome, Results, TopList};
use numpy::IntoPyArray;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use crate::arrays::to_numpy;
use crate::record::Result as Record;

pub fn to_python(py: Python<'_>, outcome: Outcome) -> PyResult<Bound<'_, PyTuple>> {
    let losses: Vec<(&'static str, Option<f64>)> = outcome
        .losses
        .iter()
        .map(|l| (l.kind().name(), l.param().map(|(_, v)| v)))
        .collect();
    let (kind, results): (&str, Bound<'_, PyAny>) = match outcome.results {
        Results::Scalars(s) => ("scalars", records(py, s)?),
        Results::Groups(groups) => {
            let all = py
                .detach(|| groups.iter().collect::<Result<Vec<_>, _>>())
                .map_err(|e| crate::DataError::new_err(format!("{e:?}")))?;
            ("groups", records(py, all)?)
        }
        Results::Elements { shape, values } => {
            let values = values.ok_or_else(|| {
                pyo3::exceptions::PyRuntimeError::new_err("element losses were not collected")
            })?;
            ("elements", to_numpy(py, values, &shape)?)
        }
        Results::Cells(cells) => {
            let list = PyList::empty(py);
            for c in cells {
                list.append(cells_dict(py, c)?)?;
            }
            ("cells", list.into_any())
        }
        Results::Top(tops) => {
            let list = PyList::empty(py);
            for t in tops {
                list.append(top_pair(py, t)?)?;
            }
            ("top", list.into_any())
        }
    };
    (kind, results, losses, outcome.notes).into_pyobject(py)
}

fn records(
    py: Python<'_>,
    summaries: Vec<huber_core::summary::Summary>,
) -> PyResult<Bound<'_, PyAny>> {
    let list = PyList::empty(py);
    for s in summaries {
        list.append(Bound::new(py, Record::from(s))?)?;
    }
    Ok(list.into_any())
}

fn cells_dict<'py>(py: Python<'py>, c: Cells) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let shape = c.shape.clone();
    let reshape = |a: Bound<'py, PyAny>| a.call_method1("reshape", (shape.clone(),));
    d.set_item("loss", c.loss.kind().name())?;
    d.set_item("param", c.loss.param().map(|(_, v)| v))?;
    d.set_item("reduction", c.reduction.name())?;
    d.set_item("axes", c.axes)?;
    d.set_item("shape", c.shape.clone())?;
    d.set_item("dtype", c.precision.name())?;
    d.set_item("values", reshape(c.values.into_pyarray(py).into_any())?)?;
    d.set_item("counts", reshape(c.counts.into_pyarray(py).into_any())?)?;
    d.set_item("sums", reshape(c.sums.into_pyarray(py).into_any())?)?;
    if let Some(l) = c.linear_fractions {
        d.set_item("linear_fractions", reshape(l.into_pyarray(py).into_any())?)?;
    }
    if let Some(w) = c.weight_sums {
        d.set_item("weight_sums", reshape(w.into_pyarray(py).into_any())?)?;
    }
    Ok(d)
}

fn top_pair(py: Python<'_>, t: TopList) -> PyResult<Bound<'_, PyTuple>> {
    let table = PyDict::new(py);
    let column =
        |f: &dyn Fn(&huber_engine::Worst) -> f64| -> Vec<f64> { t.worst.iter().map(f).collect() };
    let index: Vec<u64> = t.worst.iter().map(|w| w.index as u64).collect();
    table.set_item("index", index.into_pyarray(py))?;
    table.set_item("loss", column(&|w| w.loss).into_pyarray(py))?;
    table.set_item("pred", column(&|w| w.pred).into_pyarray(py))?;
    table.set_item("target", column(&|w| w.target).into_pyarray(py))?;
    if t.worst.iter().any(|w| w.weight.is_some()) {
        table.set_item(
            "weight",
            column(&|w| w.weight.unwrap_or(f64::NAN)).into_pyarray(py),
        )?;
    }
    if let Some(files) = t.files {
        table.set_item("file", files)?;
    }
    if let Some(lines) = t.lines {
        table.set_item("line", lines.into_pyarray(py))?;
    }
    let record = Bound::new(py, Record::from(t.result))?;
    (record, table).into_pyobject(py)
}
