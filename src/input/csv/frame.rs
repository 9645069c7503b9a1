//! Where records begin and end, without tokenizing them.
//!
//! A record ends at a line end (LF, CRLF or a lone CR) that lies outside quotes. In RFC 4180 a
//! quote either opens or closes a quoted field or is one of a doubled pair, so a line end is
//! outside quotes exactly when an even number of quotes precede it in the record. That rule
//! needs no tokenizer, gives the same records wherever a block is cut, and lets blocks be split
//! into pieces that are parsed on all cores. A file whose quotes break the rule (a quote inside
//! an unquoted field) is caught when a record is tokenized: the tokenizer then ends the record
//! somewhere else.

use rayon::prelude::*;

use super::MAX_LINE;

/// Whether `c` ends a line.
#[inline]
pub(super) fn is_eol(c: u8) -> bool {
    c == b'\n' || c == b'\r'
}

/// The length of the line end at `s[i]`: 2 for CRLF, else 1.
#[inline]
fn eol_len(s: &[u8], i: usize) -> usize {
    if s[i] == b'\r' && s.get(i + 1) == Some(&b'\n') {
        2
    } else {
        1
    }
}

/// How often `x` occurs in `s`, counted in a form the compiler vectorizes.
pub(super) fn count_byte(s: &[u8], x: u8) -> usize {
    s.chunks(255)
        .map(|c| usize::from(c.iter().fold(0u8, |n, &b| n + u8::from(b == x))))
        .sum()
}

/// The physical lines that `s` ends: LF, CRLF and lone CR each end one.
pub(super) fn count_lines(s: &[u8]) -> u64 {
    let (lf, cr) = (count_byte(s, b'\n'), count_byte(s, b'\r'));
    let crlf = if cr == 0 {
        0
    } else {
        s.iter()
            .zip(&s[1..])
            .filter(|(a, b)| **a == b'\r' && **b == b'\n')
            .count()
    };
    (lf + cr - crlf) as u64
}

/// Whether a record is blank: nothing but spaces. A record that holds a delimiter (a tab in a
/// TSV file) has fields, even if they are all empty.
pub(super) fn is_blank(raw: &[u8], delimiter: u8) -> bool {
    raw.iter()
        .all(|&c| c.is_ascii_whitespace() && c != delimiter)
}

/// Whether a record is skipped rather than read as a row. Blank lines are skipped in a table of
/// several columns (as pandas does). In a table of one column a blank line is an empty field,
/// a missing value: polars writes a missing value so, and skipping it would silently pair the
/// rows of two such files wrongly.
pub(super) fn skipped(raw: &[u8], delimiter: u8, ncols: usize) -> bool {
    ncols > 1 && is_blank(raw, delimiter)
}

/// The record that starts at `s[i]`, outside quotes (or inside, if `quoted`): the index of its
/// line end (`s.len()` if it runs to the end) and where the next record starts. `None` when a
/// quote is still open at the end of `s`.
#[inline]
pub(super) fn record_end(s: &[u8], mut i: usize, mut quoted: bool) -> Option<(usize, usize)> {
    loop {
        let rest = &s[i..];
        let found = if quoted {
            memchr::memchr(b'"', rest)
        } else {
            memchr::memchr3(b'"', b'\n', b'\r', rest)
        };
        match found {
            None if quoted => return None,
            None => return Some((s.len(), s.len())),
            Some(k) if s[i + k] == b'"' => {
                quoted = !quoted;
                i += k + 1;
            }
            Some(k) => return Some((i + k, i + k + eol_len(s, i + k))),
        }
    }
}

/// Where to cut a block off `buf`, which starts at a record boundary: the end of its last whole
/// record (at the end of the input, the end of `buf`), and whether the block may hold a quote.
/// `None` if `buf` holds no whole record yet. The common case, no quotes, costs a search from
/// the end for a line end and a search for quotes that runs on all cores.
pub(super) fn cut(buf: &[u8], eof: bool) -> Option<(usize, bool)> {
    let end = if eof { buf.len() } else { last_line_end(buf)? };
    let quoted = buf[..end]
        .par_chunks(1 << 20)
        .any(|c| memchr::memchr(b'"', c).is_some());
    if !quoted {
        return Some((end, false));
    }
    Some((last_boundary(buf, eof)?, true))
}

/// The end of the last line of `buf`. A CR at the very end is not taken as a line end: an LF
/// may follow it.
fn last_line_end(buf: &[u8]) -> Option<usize> {
    let mut hi = buf.len();
    loop {
        let p = memchr::memrchr2(b'\n', b'\r', &buf[..hi])?;
        if !(buf[p] == b'\r' && p + 1 == buf.len()) {
            return Some(p + 1);
        }
        hi = p;
    }
}

/// The end of the last whole record of `buf`, following quotes (see [`cut`]).
fn last_boundary(buf: &[u8], eof: bool) -> Option<usize> {
    if eof {
        return Some(buf.len());
    }
    let mut quotes = count_byte(buf, b'"');
    let mut hi = buf.len();
    loop {
        let p = memchr::memrchr3(b'"', b'\n', b'\r', &buf[..hi])?;
        if buf[p] == b'"' {
            quotes -= 1;
        } else if quotes.is_multiple_of(2) && !(buf[p] == b'\r' && p + 1 == buf.len()) {
            return Some(p + 1);
        }
        hi = p;
    }
}

/// Splits a block of whole records into about `n` pieces at record boundaries; `quoted` says
/// whether the block may hold a quote.
pub(super) fn split_block(block: &[u8], n: usize, quoted: bool) -> Vec<&[u8]> {
    let target = block.len() / n.max(1) + 1;
    let mut pieces = Vec::with_capacity(n + 1);
    let mut start = 0;
    while block.len() - start > target {
        let t = start + target;
        // Each piece starts outside quotes; the quotes before `t` say whether `t` is inside.
        let inside = quoted && count_byte(&block[start..t], b'"') % 2 == 1;
        match record_end(block, t, inside) {
            Some((_, next)) if next < block.len() => {
                pieces.push(&block[start..next]);
                start = next;
            }
            _ => break,
        }
    }
    if start < block.len() {
        pieces.push(&block[start..]);
    }
    pieces
}

/// What counting a piece finds: its rows (non-blank records) and physical lines, or the line
/// (counted from the piece's start) and text of an error.
pub(super) struct Count {
    pub rows: usize,
    pub lines: u64,
    pub error: Option<(u64, String)>,
}

/// Counts the records of a piece that starts at a record boundary. `lines` counts line ends.
/// `quoted` says whether the piece may hold a quote.
pub(super) fn count_piece(piece: &[u8], quoted: bool, delimiter: u8, ncols: usize) -> Count {
    if quoted && memchr::memchr(b'"', piece).is_some() {
        return count_records(piece, delimiter, ncols);
    }
    let (lines, blank) = scan_lines(piece);
    if ncols > 1 && blank {
        return count_records(piece, delimiter, ncols);
    }
    if let Some(at) = long_line(piece) {
        return Count {
            rows: 0,
            lines: 0,
            error: Some((at, too_long())),
        };
    }
    // The last line of the input may have no line end.
    let open = piece.last().is_some_and(|&c| !is_eol(c));
    Count {
        rows: lines as usize + usize::from(open),
        lines,
        error: None,
    }
}

/// The message for a quote left open at the end of the input.
pub(super) const UNCLOSED: &str = ": unterminated quote: a quote in the record that starts here is never closed (a field that holds a quote must be quoted, with the quote doubled)";

/// The message for a record over [`MAX_LINE`].
pub(super) fn too_long() -> String {
    format!(
        ": a record is longer than {} MiB (is a quote left open?)",
        MAX_LINE >> 20
    )
}

/// The line ends of a quote-free piece (as [`count_lines`]), and whether it may hold a blank
/// line: a line end followed by a space or another line end (other than the LF of a CRLF), or a
/// piece that starts with one. One branch-free pass over 64-byte chunks, at vector speed.
fn scan_lines(piece: &[u8]) -> (u64, bool) {
    let ws = |c: u8| {
        u8::from(c == b' ')
            | u8::from(c == b'\t')
            | u8::from(c == b'\n')
            | u8::from(c == b'\r')
            | u8::from(c == 0x0c)
    };
    let Some(&last) = piece.last() else {
        return (0, false);
    };
    let mut blank = ws(piece[0]) != 0;
    let mut lines = u64::from(is_eol(last));
    let (a, b) = (&piece[..piece.len() - 1], &piece[1..]);
    for (x, y) in a.chunks(64).zip(b.chunks(64)) {
        let (ends, hit) = x.iter().zip(y).fold((0u8, 0u8), |(ends, hit), (&p, &n)| {
            let end = u8::from(p == b'\n') | (u8::from(p == b'\r') & u8::from(n != b'\n'));
            (ends + end, hit | (end & ws(n)))
        });
        lines += u64::from(ends);
        blank |= hit != 0;
    }
    (lines, blank)
}

/// The line (from the piece's start) of the first line longer than [`MAX_LINE`] in a quote-free
/// piece, if any.
fn long_line(piece: &[u8]) -> Option<u64> {
    let mut p = 0;
    while piece.len() - p > MAX_LINE {
        match memchr::memrchr2(b'\n', b'\r', &piece[p..=p + MAX_LINE]) {
            Some(k) => p += k + 1,
            None => return Some(count_lines(&piece[..p])),
        }
    }
    None
}

/// Counts records one by one, following quotes: the general case of [`count_piece`]. A record
/// over several lines is tokenized too, so that a stray quote which merged lines is reported
/// here, before the row count is used.
fn count_records(piece: &[u8], delimiter: u8, ncols: usize) -> Count {
    let mut out = Count {
        rows: 0,
        lines: 0,
        error: None,
    };
    let mut tokenizer = super::record::Tokenizer::default();
    let mut i = 0;
    while i < piece.len() {
        let Some((end, next)) = record_end(piece, i, false) else {
            out.error = Some((out.lines, UNCLOSED.into()));
            return out;
        };
        if next - i > MAX_LINE {
            out.error = Some((out.lines, too_long()));
            return out;
        }
        let raw = &piece[i..end];
        if !skipped(raw, delimiter, ncols) {
            out.rows += 1;
        }
        if memchr::memchr2(b'\n', b'\r', raw).is_some()
            && let Err((at, msg)) = tokenizer.tokenize(raw, delimiter)
        {
            out.error = Some((out.lines + at, msg));
            return out;
        }
        out.lines += count_lines(&piece[i..next]);
        i = next;
    }
    out
}
