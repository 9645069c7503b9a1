//! The core's one error type.
//!
//! Two things go wrong in the core, and callers treat them differently: an argument out of its
//! domain (a δ ≤ 0; the command line exits with status 2 and Python raises `ValueError`), and a
//! result record that huber could not have written or that does not merge with the others (data,
//! not arguments: status 1).

use std::fmt;

/// At most `limit` characters of `s` for a message, with `…` where it was cut; with `escape`,
/// control characters (and quotes and backslashes) escaped as Rust's `{:?}` writes them, so that
/// a name or field from a file keeps the message on one line.
///
/// ```
/// use huber_core::error::clip;
/// assert_eq!(clip("a\nb", 10, true), "a\\nb");
/// assert_eq!(clip("abcdef", 3, false), "abc…");
/// ```
pub fn clip(s: &str, limit: usize, escape: bool) -> String {
    let cut = s.char_indices().nth(limit).map_or(s.len(), |(i, _)| i);
    let mut out = if escape {
        s[..cut].chars().flat_map(char::escape_debug).collect()
    } else {
        s[..cut].to_string()
    };
    if cut < s.len() {
        out.push('…');
    }
    out
}

/// An error of the core: what kind it is and a message that says what to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// An argument out of its domain, such as δ ≤ 0 or a parameter that rounds to 0 in the
    /// compute dtype.
    InvalidArgument(String),
    /// A result record that huber could not have written, or records that do not merge.
    InvalidRecord(String),
}

/// `Result` with the core's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An [`Error::InvalidArgument`] with this message.
    pub fn invalid_argument(msg: impl Into<String>) -> Error {
        Error::InvalidArgument(msg.into())
    }

    /// An [`Error::InvalidRecord`] with this message.
    pub fn invalid_record(msg: impl Into<String>) -> Error {
        Error::InvalidRecord(msg.into())
    }

    /// The message, without the kind.
    pub fn message(&self) -> &str {
        match self {
            Error::InvalidArgument(m) | Error::InvalidRecord(m) => m,
        }
    }

    /// Whether the error is the caller's argument rather than data.
    pub fn is_invalid_argument(&self) -> bool {
        matches!(self, Error::InvalidArgument(_))
    }

    /// The same error with `context` (what was being read) before its message, as
    /// `context: message`.
    pub fn context(self, context: impl fmt::Display) -> Error {
        let prefixed = |m: String| format!("{context}: {m}");
        match self {
            Error::InvalidArgument(m) => Error::InvalidArgument(prefixed(m)),
            Error::InvalidRecord(m) => Error::InvalidRecord(prefixed(m)),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for Error {}

/// `.context(…)` and `.with_context(|| …)` on results, as anyhow writes them, for the core's
/// own error.
pub(crate) trait Context<T> {
    /// Puts `context` before the error's message.
    fn context(self, context: impl fmt::Display) -> Result<T>;
    /// Puts the context `f` makes before the error's message.
    fn with_context<C: fmt::Display>(self, f: impl FnOnce() -> C) -> Result<T>;
}

impl<T> Context<T> for Result<T> {
    fn context(self, context: impl fmt::Display) -> Result<T> {
        self.map_err(|e| e.context(context))
    }
    fn with_context<C: fmt::Display>(self, f: impl FnOnce() -> C) -> Result<T> {
        self.map_err(|e| e.context(f()))
    }
}

impl<T> Context<T> for Option<T> {
    fn context(self, context: impl fmt::Display) -> Result<T> {
        self.ok_or_else(|| Error::InvalidRecord(context.to_string()))
    }
    fn with_context<C: fmt::Display>(self, f: impl FnOnce() -> C) -> Result<T> {
        self.ok_or_else(|| Error::InvalidRecord(f().to_string()))
    }
}

/// Returns an [`Error::InvalidRecord`] made with `format!`.
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err($crate::error::Error::InvalidRecord(format!($($arg)*)))
    };
}
pub(crate) use bail;

/// Returns an [`Error::InvalidRecord`] made with `format!` unless the condition holds.
macro_rules! ensure {
    ($cond:expr, $($arg:tt)*) => {
        if !$cond {
            $crate::error::bail!($($arg)*);
        }
    };
}
pub(crate) use ensure;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_comes_first_and_keeps_the_kind() {
        let e = Error::invalid_argument("δ must be > 0").context("--delta");
        assert_eq!(e.to_string(), "--delta: δ must be > 0");
        assert!(e.is_invalid_argument());
        let r: Result<()> = Err(Error::invalid_record("field 'count'"));
        let e = r.with_context(|| "a.json").unwrap_err();
        assert_eq!(e, Error::invalid_record("a.json: field 'count'"));
    }
}
