//! How many rows and lines a piece of a table holds, counted without parsing its numbers: from
//! bitmasks of 64 bytes at a time where records are one line each, record by record (and
//! tokenized where a record spans lines) where they are not.

use super::MAX_LINE;
use super::frame::{UNCLOSED, count_lines, is_eol, record_end, skipped, too_long};
use super::record::Tokenizer;

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
    let mut tokenizer = Tokenizer::default();
    let mut i = 0;
    while i < piece.len() {
        let Some((end, next)) = record_end(piece, i, false) else {
            out.error = Some((out.lines, UNCLOSED.into()));
            return out;
        };
        if end - i > MAX_LINE {
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
