//! One run of the engine from Python: arguments to [`Options`], [`evaluate`] without the GIL, the
//! [`Outcome`](huber_engine::Outcome) back to Python values.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use huber_core::loss::{Loss, LossKind};
use huber_core::reduce::Reduction;
use huber_engine::{
    CsvOptions, ErrorKind, HeaderMode, Hooks, Location, NanPolicy, Options, Outcome, Params,
    Progress, evaluate,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::arrays::input;
use crate::outcome::to_python;

/// Runs over arrays in memory of up to this many bytes are not watched for Ctrl-C (they end in
/// milliseconds); larger ones, files and broadcasts are.
const INLINE_BYTES: usize = 16 << 20;

fn bad(message: impl Into<String>) -> PyErr {
    PyValueError::new_err(message.into())
}

pub(crate) fn reduction(name: &str) -> PyResult<Reduction> {
    Ok(match name {
        "none" => Reduction::None,
        "mean" => Reduction::Mean,
        "sum" => Reduction::Sum,
        "weighted-mean" | "weighted_mean" => Reduction::WeightedMean,
        _ => {
            return Err(bad(format!(
                "reduction={name:?}: not one of 'none', 'mean', 'sum', 'weighted_mean'"
            )));
        }
    })
}

pub(crate) fn nan_policy(name: &str) -> PyResult<NanPolicy> {
    Ok(match name {
        "propagate" => NanPolicy::Propagate,
        "omit" => NanPolicy::Omit,
        "error" | "raise" => NanPolicy::Error,
        _ => {
            return Err(bad(format!(
                "nan={name:?}: not one of 'propagate', 'omit', 'raise' (or 'error', as the command line spells it)"
            )));
        }
    })
}

fn loss_kind(name: &str) -> PyResult<LossKind> {
    let name = name.strip_suffix("_loss").unwrap_or(name).replace('_', "-");
    LossKind::from_name(&name).ok_or_else(|| {
        let all: Vec<&str> = LossKind::ALL.iter().map(|k| k.name()).collect();
        bad(format!("loss={name:?}: not one of {}", all.join(", ")))
    })
}

/// The losses asked for: the kind and its parameter values (`None`: δ found from the residuals).
pub(crate) fn params(kind: &str, values: Option<Vec<f64>>) -> PyResult<Params> {
    let kind = loss_kind(kind)?;
    let Some(values) = values else {
        return Ok(Params::AutoDelta(kind));
    };
    if values.is_empty() {
        return Err(bad("no parameter values: give at least one"));
    }
    let losses: Vec<Loss> = if kind.parameter().is_none() {
        vec![kind.with_param(None).map_err(|e| bad(e.to_string()))?]
    } else {
        values
            .into_iter()
            .map(|v| kind.with_param(Some(v)).map_err(|e| bad(e.to_string())))
            .collect::<PyResult<_>>()?
    };
    Ok(Params::Given(losses))
}

fn csv_options(delimiter: Option<&str>, header: Option<bool>) -> PyResult<CsvOptions> {
    let delimiter = match delimiter {
        None => None,
        Some("\\t" | "tab") => Some(b'\t'),
        Some(d) if d.len() == 1 => Some(d.as_bytes()[0]),
        Some(d) => return Err(bad(format!("delimiter={d:?}: one ASCII character"))),
    };
    let header = match header {
        None => HeaderMode::Detect,
        Some(true) => HeaderMode::Present,
        Some(false) => HeaderMode::Absent,
    };
    Ok(CsvOptions {
        delimiter,
        header,
        ..CsvOptions::default()
    })
}

/// Watches for a Ctrl-C between batches: at most every 50 ms it takes the GIL for a moment and
/// lets Python run its signal handlers (on the main thread; elsewhere there are none to run). An
/// exception they raise (`KeyboardInterrupt`) stops the run and is raised to the caller.
struct Interrupts {
    start: Instant,
    /// Milliseconds from `start` of the last check.
    checked: AtomicU64,
    raised: Mutex<Option<PyErr>>,
}

impl Interrupts {
    fn new() -> Interrupts {
        Interrupts {
            start: Instant::now(),
            checked: AtomicU64::new(0),
            raised: Mutex::new(None),
        }
    }
}

impl Progress for Interrupts {
    fn start(&self, _total: Option<u64>) {}
    fn advance(&self, _done: u64) {}
    fn finish(&self) {}
    fn interrupted(&self) -> bool {
        let now = self.start.elapsed().as_millis() as u64;
        if now < self.checked.load(Ordering::Relaxed) + 50 {
            return false;
        }
        self.checked.store(now, Ordering::Relaxed);
        let mut raised = self.raised.lock().unwrap_or_else(|e| e.into_inner());
        if raised.is_none()
            && let Err(e) = Python::attach(|py| py.check_signals())
        {
            *raised = Some(e);
        }
        raised.is_some()
    }
}

/// Bytes held by array inputs, and whether any input is read from a file.
fn weight_of(options: &Options) -> (usize, bool) {
    let mut bytes = 0;
    let mut files = false;
    for spec in options.inputs().chain(options.by.as_ref()) {
        match &spec.location {
            Location::Array(a) => {
                bytes += a.shape().iter().product::<usize>() * a.dtype().size;
            }
            _ => files = true,
        }
    }
    (bytes, files)
}

/// Runs `options` without the GIL, on this thread (and the engine's pool). A run that is not
/// small is watched for Ctrl-C between batches: it stops and raises `KeyboardInterrupt`.
pub(crate) fn interruptible(py: Python<'_>, options: Options) -> PyResult<Outcome> {
    let (bytes, files) = weight_of(&options);
    let watch = files || options.broadcast || bytes > INLINE_BYTES;
    let interrupts = Interrupts::new();
    let result = py.detach(|| {
        let hooks = Hooks {
            progress: watch.then_some(&interrupts as &dyn Progress),
            elements: None,
        };
        evaluate(&options, hooks)
    });
    if let Some(e) = interrupts
        .raised
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
    {
        return Err(e);
    }
    result.map_err(|e| {
        let message = format!("{e:?}");
        match e.kind() {
            ErrorKind::InvalidArgument => PyValueError::new_err(message),
            _ => crate::DataError::new_err(message),
        }
    })
}

/// Runs one computation. Returns `(kind, results, losses, notes)`: see `outcome::to_python` for
/// what `results` is for each kind. The Python package checks and documents the arguments.
#[pyfunction]
#[pyo3(signature = (pred, target, weight, loss, params, reduction, nan, grad, broadcast, threads, axis, by, top, delimiter, header))]
#[allow(clippy::too_many_arguments)]
pub fn run<'py>(
    py: Python<'py>,
    pred: &Bound<'py, PyAny>,
    target: &Bound<'py, PyAny>,
    weight: Option<&Bound<'py, PyAny>>,
    loss: &str,
    params: Option<Vec<f64>>,
    reduction: &str,
    nan: &str,
    grad: bool,
    broadcast: bool,
    threads: usize,
    axis: Option<Vec<i64>>,
    by: Option<&Bound<'py, PyAny>>,
    top: Option<usize>,
    delimiter: Option<&str>,
    header: Option<bool>,
) -> PyResult<Bound<'py, PyTuple>> {
    let pred = input(pred, "pred")?;
    let target = input(target, "target")?;
    let mut options = Options::new(pred, target);
    options.weight = weight.map(|w| input(w, "weight")).transpose()?;
    options.params = self::params(loss, params)?;
    options.reduction = self::reduction(reduction)?;
    options.nan = nan_policy(nan)?;
    options.grad = grad;
    options.broadcast = broadcast;
    options.threads = threads;
    options.axis = axis;
    options.by = by.map(|b| input(b, "by")).transpose()?;
    options.top = top;
    options.csv = csv_options(delimiter, header)?;
    options.check().map_err(|e| bad(e.to_string()))?;
    let outcome = interruptible(py, options)?;
    to_python(py, outcome)
}

/// The common call, with the fewest steps: one loss of two arrays, no weights or breakdowns.
/// Returns `(dtype name, value)` for a reduction, or the element array for `"none"`.
#[pyfunction]
pub fn reduce<'py>(
    py: Python<'py>,
    pred: &Bound<'py, PyAny>,
    target: &Bound<'py, PyAny>,
    loss: &str,
    param: f64,
    reduction: &str,
    nan: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let mut options = Options::new(input(pred, "pred")?, input(target, "target")?);
    options.params = self::params(loss, Some(vec![param]))?;
    options.reduction = self::reduction(reduction)?;
    options.nan = nan_policy(nan)?;
    options.check().map_err(|e| bad(e.to_string()))?;
    match interruptible(py, options)?.results {
        huber_engine::Results::Scalars(s) => {
            let s = &s[0];
            (s.precision.name(), s.value)
                .into_pyobject(py)
                .map(|t| t.into_any())
        }
        huber_engine::Results::Elements {
            shape,
            values: Some(values),
        } => crate::arrays::to_numpy(py, values, &shape),
        _ => Err(pyo3::exceptions::PyRuntimeError::new_err(
            "internal error: a reduction of two arrays gave no value",
        )),
    }
}
