//! `huber._huber`: the engine of huber as a Python extension module. The Python package
//! (`python/huber/`) wraps it in PyTorch-shaped functions, result objects and a metric; this
//! module only turns Python values into [`huber_engine::Options`], runs [`huber_engine::evaluate`]
//! without the GIL, and turns the [`huber_engine::Outcome`] back into Python values.
//!
//! Nothing here installs a signal handler, writes to stdout or exits: a Ctrl-C is seen by Python
//! and ends a long run between batches (see `run::interruptible`).

use pyo3::prelude::*;

/// The engine's buffers come from mimalloc, not the host process's malloc: Dask starts its
/// workers with `MALLOC_TRIM_THRESHOLD_=65536`, which fixes glibc's mmap threshold at 128 KiB,
/// so every decoded Parquet page and column piece was mapped, faulted in, zeroed and unmapped
/// again (1.6x the time of a file's read in a worker). mimalloc keeps freed pages for reuse
/// within the module, and leaves the process's own malloc settings as its owner set them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod arrays;
mod metric;
mod outcome;
mod record;
mod run;

pyo3::create_exception!(
    huber,
    DataError,
    pyo3::exceptions::PyValueError,
    "Bad or unreadable data: a missing file, a bad format, a value that is not a number, a NaN \
     under nan=\"error\". The message names the input and, for text, the line and column."
);

/// The extension module.
#[pymodule]
fn _huber(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<record::Result>()?;
    m.add_class::<metric::Accumulator>()?;
    m.add_function(wrap_pyfunction!(run::run, m)?)?;
    m.add_function(wrap_pyfunction!(run::reduce, m)?)?;
    m.add_function(wrap_pyfunction!(record::merge, m)?)?;
    m.add_function(wrap_pyfunction!(record::parse, m)?)?;
    m.add("DataError", m.py().get_type::<DataError>())?;
    m.add("MAX_THREADS", huber_engine::MAX_THREADS)?;
    Ok(())
}
