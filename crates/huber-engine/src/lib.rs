//! The engine of [huber](https://crates.io/crates/huber): it reads predictions, targets and
//! weights (NPY, NPZ, CSV, Parquet, Arrow IPC), plans the passes a run needs, computes the
//! losses of [`huber_core`] on all cores, and returns the results as values.
//!
//! Its one entry point is [`evaluate`]: [`Options`] in, an [`Outcome`] out. It writes nothing to
//! stdout, draws nothing on a terminal, installs no signal handler and never exits the process;
//! the command line and the Python package are faces over it.
//!
//! The engine reads files with Unix APIs (positional reads, memory maps, `/dev/stdin`): it builds
//! on Unix-like systems only.

pub(crate) mod array;
pub(crate) mod auto_delta;
pub(crate) mod breakdown;
mod error;
pub mod histogram;
pub(crate) mod input;
pub mod message;
pub(crate) mod npy;
mod options;
mod outcome;
pub(crate) mod pipeline;
pub(crate) mod plan;
mod run;
pub(crate) mod select;

#[cfg(test)]
pub(crate) use huber_core::xorshift;
pub(crate) use huber_core::{dtype, float, loss, reduce, summary};

/// The worker threads that `threads` asks for: 0 means one per core.
pub(crate) fn threads_or_cores(threads: usize) -> usize {
    match threads {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        n => n,
    }
}

pub use array::{Owned, Values, fmt_shape};
pub use breakdown::axis::Cells;
pub use breakdown::axis::unravel;
pub use breakdown::top::Worst;
pub use error::{Error, ErrorKind};
pub use input::{CsvOptions, HeaderMode, InputSpec, Location, MemoryArray};
pub use npy::header_bytes as npy_header;
pub use options::{ElementSink, Hooks, MAX_THREADS, MAX_TOP, Options, Params, Progress};
pub use outcome::{Groups, Outcome, Results, TopList};
pub use pipeline::NanPolicy;
pub use run::evaluate;

/// What the fuzz targets and the command line's tests reach inside: not a stable API.
#[doc(hidden)]
pub mod internals {
    pub use crate::array::Buf;
    pub use crate::breakdown::group::{GroupTable, KeyKind};
    pub use crate::input::columnar::{
        Store, ipc::open as open_arrow_ipc, parquet::open as open_parquet,
    };
    pub use crate::input::csv::{Layout, Table, parse_number, scan, scan_uncounted};
    pub use crate::input::jsonl::check_layout as check_jsonl_layout;
    pub use crate::input::npy::NpySource;
    pub use crate::input::npz::open_member;
    pub use crate::input::{Source, Text};
    pub use crate::npy::{parse_descr, parse_dict, read_header};
    pub use crate::pipeline::{BATCH, CHUNK};
}
