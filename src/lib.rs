//! Robust regression losses — Huber, SmoothL1, MSE, L1, log-cosh, pseudo-Huber — with PyTorch's
//! numbers: the library under the `huber` command.
//!
//! The public API is the loss family ([`loss`]), the exact accumulators and reductions
//! ([`reduce`]), the result record ([`summary`]) and the dtypes they speak of ([`dtype`],
//! [`float`]). How the command reads files and runs them on threads is described in
//! `ARCHITECTURE.md`; those modules are private to the crate.
//!
//! ```
//! use huber::loss::Loss;
//! use huber::reduce::{Accumulator, Reduction};
//!
//! let pred = [0.0_f32, 2.0, -3.0];
//! let target = [0.5_f32, 0.0, 0.0];
//! let mut losses = [0.0_f32; 3];
//! let linear = Loss::huber(1.0)?.forward(&pred, &target, &mut losses);
//! assert_eq!(losses, [0.125, 1.5, 2.5]);
//!
//! let mut acc = Accumulator::default();
//! acc.add(&losses, linear);
//! assert_eq!(acc.reduce(Reduction::Mean), 4.125 / 3.0);
//! assert_eq!(acc.linear_fraction(), 2.0 / 3.0);
//! # Ok::<(), huber::error::UsageError>(())
//! ```

pub(crate) mod array;
pub(crate) mod auto_delta;
pub(crate) mod breakdown;
pub(crate) mod cli;
pub(crate) mod cmd;
pub mod dtype;
pub mod error;
pub mod float;
pub(crate) mod help;
pub(crate) mod histogram;
pub(crate) mod input;
pub mod loss;
pub(crate) mod npy;
pub(crate) mod number;
pub(crate) mod output;
pub(crate) mod pipeline;
pub(crate) mod plan;
pub(crate) mod plot;
pub(crate) mod progress;
pub mod reduce;
pub(crate) mod select;
pub mod summary;
#[cfg(test)]
pub(crate) mod xorshift;

/// The `huber` program itself, for `src/main.rs`.
#[doc(hidden)]
pub use cmd::main as run_command_line;

/// What the fuzz targets and the integration tests reach inside: not a stable API.
#[doc(hidden)]
pub mod internals {
    pub use crate::cli::RunArgs;
    pub use crate::cmd::merge::combine;
    pub use crate::cmd::{Cli, Task, run};
    pub use crate::help::{EXAMPLES, EXIT_STATUS};
    pub use crate::input::columnar::{
        Store, ipc::open as open_arrow_ipc, parquet::open as open_parquet,
    };
    pub use crate::input::csv::{Layout, Table, parse_number, scan, scan_uncounted};
    pub use crate::input::npy::NpySource;
    pub use crate::input::npz::open_member;
    pub use crate::input::{Buf, HeaderMode, InputSpec, Location, Source};
    pub use crate::npy::{parse_descr, parse_dict, read_header};
    pub use crate::output::Format;
}
