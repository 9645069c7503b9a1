//! The one error type that changes the exit status.
//!
//! Everything that goes wrong with input data travels as an [`anyhow::Error`] with context naming
//! the file (exit status 1). A [`UsageError`] anywhere in the chain means the command line itself
//! was wrong (exit status 2, SPEC §5).

use std::fmt;

/// A bad command line: an unknown option value, a bad δ or β, options that do not go together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(String);

impl UsageError {
    /// A usage error with this message.
    pub fn new(msg: impl Into<String>) -> UsageError {
        UsageError(msg.into())
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Whether an error chain holds a [`UsageError`].
pub fn is_usage(err: &anyhow::Error) -> bool {
    err.chain().any(|e| e.is::<UsageError>())
}
