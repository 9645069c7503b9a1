//! Wording shared by the engine's messages and its faces': names made safe for one line, and
//! I/O errors without the operating system's suffix.

/// How standard input is named in messages.
pub const STDIN: &str = "<stdin>";

/// `s` with control characters escaped as Rust's `{:?}` writes them (`\n`, `\t`, `\r`, `\0`,
/// `\u{1b}`), and the Unicode line and paragraph separators too, so that a message holding a
/// path, KEY or archive member name stays on one line. Other characters, backslashes included,
/// are kept as they are.
pub fn escape_controls(s: &str) -> std::borrow::Cow<'_, str> {
    let escaped = |c: char| c.is_control() || c == '\u{2028}' || c == '\u{2029}';
    if !s.chars().any(escaped) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if escaped(c) {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// An I/O error's reason without Rust's "(os error 2)" suffix.
pub fn io_reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_breaks_a_line() {
        assert_eq!(escape_controls("a.npy"), "a.npy");
        assert_eq!(
            escape_controls("a\nb\r\t\0\u{1b}\u{85}\u{2028}é\\n"),
            "a\\nb\\r\\t\\0\\u{1b}\\u{85}\\u{2028}é\\n"
        );
    }
}
