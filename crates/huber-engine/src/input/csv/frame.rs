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

/// How often `x` occurs in `s`, counted in a form the compiler vectorizes: in chunks of a
/// fixed length, a multiple of the vectors' that a byte's count cannot overflow, so that no
/// chunk ends in a byte-by-byte loop.
pub(super) fn count_byte(s: &[u8], x: u8) -> usize {
    let chunks = s.chunks_exact(192);
    let tail = chunks.remainder();
    let counted: usize = chunks
        .map(|c| usize::from(c.iter().fold(0u8, |n, &b| n + u8::from(b == x))))
        .sum();
    counted + tail.iter().filter(|&&b| b == x).count()
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

/// The end of the last whole record of `buf` (not at the end of the input), which holds
/// `quotes` quotes: the last line end after which an even number of them precede it.
fn last_boundary_after(buf: &[u8], mut quotes: usize) -> Option<usize> {
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

/// Where to cut a block off `buf`, which starts at a record boundary, and the block split into
/// about `n` pieces of whole records: the end of its last whole record (at the end of the
/// input, the end of `buf`). `None` if `buf` holds no whole record yet. The quotes of `buf` are
/// counted once, on all cores, for both the end and the pieces; a block without quotes costs a
/// search from the end for a line end and a search for quotes.
pub(super) fn cut_pieces(buf: &[u8], eof: bool, n: usize) -> Option<(usize, Vec<&[u8]>)> {
    let end = if eof { buf.len() } else { last_line_end(buf)? };
    let quoted = buf[..end]
        .par_chunks(1 << 20)
        .any(|c| memchr::memchr(b'"', c).is_some());
    if !quoted {
        return Some((end, split_block(&buf[..end], n, false)));
    }
    // The stretches between the points where pieces are cut, counted over all of `buf`: their
    // sum finds the last whole record, and the block ends before any stretch that reaches
    // past it is used.
    let target = buf.len() / n.max(1) + 1;
    let quotes = stretch_quotes(buf, target);
    let end = if eof {
        buf.len()
    } else {
        last_boundary_after(buf, quotes.iter().sum())?
    };
    Some((end, split_counted(&buf[..end], target, &quotes)))
}

/// The quotes of each stretch of `target` bytes of `s`, counted on all cores.
fn stretch_quotes(s: &[u8], target: usize) -> Vec<usize> {
    s.par_chunks(target).map(|c| count_byte(c, b'"')).collect()
}

/// Splits a block of whole records into about `n` pieces at record boundaries; `quoted` says
/// whether the block may hold a quote.
pub(super) fn split_block(block: &[u8], n: usize, quoted: bool) -> Vec<&[u8]> {
    let target = block.len() / n.max(1) + 1;
    let quotes = if quoted {
        stretch_quotes(block, target)
    } else {
        vec![0; block.len().div_ceil(target)]
    };
    split_counted(block, target, &quotes)
}

/// Splits a block of whole records at the end of the record that holds each multiple of
/// `target`, given the quotes in each stretch of `target` bytes from its start (stretches past
/// its end are not used).
fn split_counted<'a>(block: &'a [u8], target: usize, quotes: &[usize]) -> Vec<&'a [u8]> {
    // Whether a cut point lies inside quotes is the parity of the quotes before it (the block
    // starts outside quotes).
    let mut pieces = Vec::with_capacity(quotes.len() + 1);
    let (mut start, mut before) = (0, 0);
    for (k, q) in quotes.iter().enumerate() {
        before += q;
        let t = (k + 1) * target;
        if t >= block.len() {
            break;
        }
        if t < start {
            continue;
        }
        match record_end(block, t, before % 2 == 1) {
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

/// The message for a quote left open at the end of the input.
pub(super) const UNCLOSED: &str = ": unterminated quote: a quote in the record that starts here is never closed (a field that holds a quote must be quoted, with the quote doubled)";

/// The message for a record over [`MAX_LINE`].
pub(crate) fn too_long() -> String {
    format!(
        ": a record is longer than {} MiB (is a quote left open?)",
        MAX_LINE >> 20
    )
}

#[cfg(test)]
pub(super) mod tests;
