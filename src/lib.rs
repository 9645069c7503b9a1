//! The `huber` command line: one face of [`huber_engine`] and [`huber_core`]. Only this crate
//! knows flags, terminals, signals and exit statuses.
//!
//! It is a library only so that the integration tests and the fuzz targets can reach the parser
//! and the commands; it is not a stable API.

pub mod cli;

pub use cli::main as run_command_line;

/// What the integration tests and the fuzz targets reach inside: not a stable API.
#[doc(hidden)]
pub mod internals {
    pub use crate::cli::help::{EXAMPLES, EXIT_STATUS};
    pub use crate::cli::{Cli, Task, run};
}
