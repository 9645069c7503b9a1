//! The engine's error: what kind it is, and a message that names the file, line and column.

use std::fmt;

/// What can go wrong in a run: a bad argument, or bad or unreadable data. Its message names the
/// file and, for text, the line and column; [`std::error::Error::source`] gives the causes.
pub struct Error(pub(crate) anyhow::Error);

/// The kind of an [`Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The options: a bad δ, options that do not go together (exit status 2).
    InvalidArgument,
    /// The data: a missing file, a bad format, a parse error, a NaN under `nan = error`.
    Data,
}

impl Error {
    /// What kind of error this is.
    pub fn kind(&self) -> ErrorKind {
        let usage = self.0.chain().any(|e| {
            e.downcast_ref::<huber_core::Error>()
                .is_some_and(huber_core::Error::is_invalid_argument)
        });
        if usage {
            ErrorKind::InvalidArgument
        } else {
            ErrorKind::Data
        }
    }
}

impl From<anyhow::Error> for Error {
    fn from(e: anyhow::Error) -> Error {
        Error(e)
    }
}

impl From<huber_core::Error> for Error {
    fn from(e: huber_core::Error) -> Error {
        Error(e.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The outermost message; `{:#}` of an anyhow error made from this one adds the causes.
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}
