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

/// What counting a piece finds: its rows (non-blank records) and physical lines, or the line
/// (counted from the piece's start) and text of an error.
pub(super) struct Count {
    pub rows: usize,
    pub lines: u64,
    pub error: Option<(u64, String)>,
}

/// Counts the records of a piece that starts at a record boundary. `lines` counts line ends.
/// `quoted` says whether the piece may hold a quote. Pieces as real files hold them are counted
/// from bitmasks of 64 bytes at a time, with or without quotes; the rest record by record.
pub(super) fn count_piece(piece: &[u8], quoted: bool, delimiter: u8, ncols: usize) -> Count {
    if quoted && memchr::memchr(b'"', piece).is_some() {
        return match scan_quoted(piece, ncols > 1) {
            Some(lines) => whole_lines(piece, lines),
            None => count_records(piece, delimiter, ncols),
        };
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
    whole_lines(piece, lines)
}

/// The count of a piece in which every record is one line and a row: the lines it ends, and
/// the last line of the input, which may have no line end.
fn whole_lines(piece: &[u8], lines: u64) -> Count {
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

/// The line ends of a piece that holds quotes, in one pass over 64-byte chunks that turns each
/// into bitmasks, when the piece is as real files are: every line end outside quotes (so each
/// line is one record), the quotes closed at the end, no record near [`MAX_LINE`] long and, if
/// `blanks` matter, no line that may be blank (as in [`scan_lines`]). `None` otherwise: then
/// [`count_records`] finds the records and the errors one by one.
fn scan_quoted(piece: &[u8], blanks: bool) -> Option<u64> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("popcnt") {
        // A bit count is one instruction with POPCNT, which x86-64 itself lacks.
        #[target_feature(enable = "popcnt")]
        fn with_popcnt(piece: &[u8], blanks: bool) -> Option<u64> {
            scan_quoted_portable(piece, blanks)
        }
        // SAFETY: the CPU has POPCNT, the one feature `with_popcnt` is compiled for.
        return unsafe { with_popcnt(piece, blanks) };
    }
    scan_quoted_portable(piece, blanks)
}

/// [`scan_quoted`] in whatever instructions the caller is compiled for.
#[inline(always)]
fn scan_quoted_portable(piece: &[u8], blanks: bool) -> Option<u64> {
    // A record over MAX_LINE bytes spans at least this many whole chunks without a line end.
    const QUIET: usize = MAX_LINE / 64 - 1;
    if blanks && piece.first().is_some_and(|&c| c.is_ascii_whitespace()) {
        return None;
    }
    let mut lines = 0;
    // All ones while a quote opened in an earlier chunk is still open.
    let mut open = 0u64;
    // The chunks since the last one that held a line end.
    let mut quiet = 0;
    for (k, chunk) in piece.chunks(64).enumerate() {
        let m = Masks::of(chunk);
        let next = piece.get(k * 64 + 64).copied();
        // A line ends at an LF, or at a CR that no LF follows: the byte after the chunk decides
        // for its last CR.
        let next_lf = u64::from(next == Some(b'\n')) << 63;
        let ends = m.lf | (m.cr & !((m.lf >> 1) | next_lf));
        let next_space = u64::from(next.is_some_and(|c| c.is_ascii_whitespace())) << 63;
        let inside = prefix_xor(m.quote) ^ open;
        open = ((inside as i64) >> 63) as u64;
        let blank = blanks && ends & ((m.space >> 1) | next_space) != 0;
        quiet = if ends == 0 { quiet + 1 } else { 0 };
        if ends & inside != 0 || blank || quiet >= QUIET {
            return None;
        }
        lines += u64::from(ends.count_ones());
    }
    (open == 0).then_some(lines)
}

/// Bit `i` of `x ^ (x << 1) ^ … ^ (x << 63)`: whether an odd number of the bits `0..=i` of `x`
/// are set. For the quotes of a chunk, whether byte `i` lies inside quotes (or is a closing one).
fn prefix_xor(mut x: u64) -> u64 {
    for shift in [1, 2, 4, 8, 16, 32] {
        x ^= x << shift;
    }
    x
}

/// Which bytes of a chunk of up to 64 bytes are quotes, LF, CR or ASCII white space (as
/// [`u8::is_ascii_whitespace`]): bit `i` for byte `i`.
#[derive(Debug, Default, PartialEq, Eq)]
struct Masks {
    quote: u64,
    lf: u64,
    cr: u64,
    space: u64,
}

impl Masks {
    /// The masks of `chunk`; missing bytes past a short chunk's end are in none.
    #[inline(always)]
    fn of(chunk: &[u8]) -> Masks {
        match chunk.try_into() {
            Ok(full) => Masks::of_full(full),
            Err(_) => {
                let mut full = [0; 64];
                full[..chunk.len()].copy_from_slice(chunk);
                Masks::of_full(&full)
            }
        }
    }

    /// The masks of 64 bytes, 16 at a time with SSE2, which every x86-64 processor has: the
    /// compiler does not turn the byte loop of [`Masks::of_bytes`] into vector compares.
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn of_full(chunk: &[u8; 64]) -> Masks {
        // SAFETY: SSE2 is part of x86-64 itself.
        unsafe { Masks::sse2(chunk) }
    }

    /// [`Masks::of_full`] on x86-64.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "sse2")]
    #[inline]
    fn sse2(chunk: &[u8; 64]) -> Masks {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
        };
        let mut m = Masks::default();
        for (k, part) in chunk.chunks_exact(16).enumerate() {
            let v: __m128i = bytemuck::pod_read_unaligned(part);
            let eq = |c: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(c as i8));
            let bits = |x: __m128i| u64::from(_mm_movemask_epi8(x) as u16) << (16 * k);
            let (lf, cr) = (eq(b'\n'), eq(b'\r'));
            let space = _mm_or_si128(
                _mm_or_si128(eq(b' '), eq(b'\t')),
                _mm_or_si128(eq(0x0c), _mm_or_si128(lf, cr)),
            );
            m.quote |= bits(eq(b'"'));
            m.lf |= bits(lf);
            m.cr |= bits(cr);
            m.space |= bits(space);
        }
        m
    }

    /// The masks of 64 bytes, elsewhere than on x86-64.
    #[cfg(not(target_arch = "x86_64"))]
    fn of_full(chunk: &[u8; 64]) -> Masks {
        Masks::of_bytes(chunk)
    }

    /// The masks of 64 bytes, one byte at a time.
    #[cfg(any(test, not(target_arch = "x86_64")))]
    fn of_bytes(chunk: &[u8; 64]) -> Masks {
        let mut m = Masks::default();
        for (i, &c) in chunk.iter().enumerate() {
            m.quote |= u64::from(c == b'"') << i;
            m.lf |= u64::from(c == b'\n') << i;
            m.cr |= u64::from(c == b'\r') << i;
            m.space |= u64::from(c.is_ascii_whitespace()) << i;
        }
        m
    }
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

#[cfg(test)]
mod tests;
