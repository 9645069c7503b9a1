//! Records into numbers and text: only the wanted columns are parsed (as numbers, or kept as
//! text for the keys of `--by`), every other field is skipped.
//!
//! Most records take the fast path, which parses numbers straight from the bytes and steps over
//! other fields (quoted ones too, when they hold no line break). Anything else (quoted numbers,
//! line breaks inside quotes, stray quotes, errors) is tokenized by `csv-core`, which then
//! decides what the record holds, and reports errors with their physical line and column.

use csv_core::{ReadRecordResult, Reader, ReaderBuilder};

use super::MAX_LINE;
use super::frame::{UNCLOSED, count_lines, record_end, skipped, too_long};
use super::number::{Missing, fast_number};

/// The fields of one text column in a piece, unquoted and unescaped but otherwise byte for
/// byte: their bytes back to back and where each ends (a piece is far shorter than 4 GiB).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Texts {
    pub data: Vec<u8>,
    pub ends: Vec<u32>,
}

impl Texts {
    /// Empties it, keeping its buffers.
    pub fn clear(&mut self) {
        self.data.clear();
        self.ends.clear();
    }

    /// Appends a field as `csv-core` gives it.
    fn push(&mut self, field: &[u8]) {
        self.data.extend_from_slice(field);
        self.end();
    }

    /// Ends the field whose bytes were appended last.
    fn end(&mut self) {
        self.ends.push(self.data.len() as u32);
    }

    /// Appends the field at `s[from..to]` as it stands in a record the fast path took:
    /// unquoted, or quoted with its closing quote last (then its doubled quotes stand for one).
    #[inline]
    fn push_raw(&mut self, s: &[u8], from: usize, to: usize) {
        if to - from >= 2 && s[from] == b'"' {
            let (mut from, to) = (from + 1, to - 1);
            // Inside, every quote is the first of a doubled pair, up to the closing one at `to`.
            loop {
                let q = find_stop(s, from, [b'"'; 4]);
                if q >= to {
                    break;
                }
                self.append(s, from, q + 1);
                from = q + 2;
            }
            self.append(s, from, to);
        } else {
            self.append(s, from, to);
        }
        self.end();
    }

    /// Appends the bytes `s[from..to]`. Short ones (as keys mostly are) are copied as a fixed
    /// 16 bytes and cut back, one move instead of a call to `memcpy`, where `s` has them.
    #[inline(always)]
    fn append(&mut self, s: &[u8], from: usize, to: usize) {
        let wide = s
            .get(from..from + 16)
            .and_then(|w| <&[u8; 16]>::try_from(w).ok());
        match wide {
            Some(wide) if to - from <= 16 => {
                let len = self.data.len();
                self.data.extend_from_slice(wide);
                self.data.truncate(len + to - from);
            }
            _ => self.data.extend_from_slice(&s[from..to]),
        }
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.ends.len()
    }
}

/// What a piece's records are parsed into.
pub(super) struct Parsed {
    /// Per reader, its values in order.
    pub values: Vec<Vec<f64>>,
    /// Per text reader, its fields in order.
    pub texts: Vec<Texts>,
    /// Line ends in the piece.
    pub lines: u64,
    /// Rows (non-blank records).
    pub rows: usize,
    /// The line (from the piece's start) and text of the first error.
    pub error: Option<(u64, String)>,
    /// The column whose value the error is about, if it is about one.
    pub column: Option<usize>,
}

/// The values of a record one reader takes.
pub(super) enum Pick {
    One(usize),
    All,
    /// These columns, in this order.
    Several(Vec<usize>),
}

/// How the records of one table are read.
pub(super) struct Plan<'a> {
    pub ncols: usize,
    pub delimiter: u8,
    /// Words that spell a missing value.
    pub missing: &'a Missing,
    /// Per column, whether some reader wants its numbers.
    pub want: &'a [bool],
    /// Per reader, the values of a record it takes.
    pub selects: &'a [Pick],
    /// Per text reader, its column.
    pub texts: &'a [usize],
}

/// Parses a piece of whole records.
/// `values` and `texts` are empty buffers for its readers, one each, reused from pieces read
/// before.
pub(super) fn parse_piece(
    piece: &[u8],
    plan: &Plan,
    values: Vec<Vec<f64>>,
    texts: Vec<Texts>,
) -> Parsed {
    let mut out = Parsed {
        values,
        texts,
        lines: 0,
        rows: 0,
        error: None,
        column: None,
    };
    let mut row = vec![f64::NAN; plan.ncols];
    let mut spans = vec![(0, 0); plan.ncols];
    let mut slow = Tokenizer::default();
    let mut i = 0;
    while i < piece.len() {
        let first = piece[i];
        let fast = if first.is_ascii_whitespace() {
            None
        } else {
            fast_record(piece, i, plan.delimiter, plan.want, &mut row, &mut spans)
        };
        if let Some(next) = fast {
            // The fast path's records end in one line end; one over the limit with it is
            // measured without it.
            if next - i > MAX_LINE
                && record_end(piece, i, false).is_some_and(|(e, _)| e - i > MAX_LINE)
            {
                out.error = Some((out.lines, too_long()));
                return out;
            }
            out.lines += 1;
            i = next;
            for (t, &c) in out.texts.iter_mut().zip(plan.texts) {
                t.push_raw(piece, spans[c].0, spans[c].1);
            }
        } else {
            match slow.record(piece, i, plan, &mut row, &mut out.texts) {
                Ok((next, lines, blank)) => {
                    out.lines += lines;
                    i = next;
                    if blank {
                        continue;
                    }
                }
                Err((at, msg)) => {
                    out.error = Some((out.lines + at, msg));
                    out.column = slow.failed;
                    return out;
                }
            }
        }
        out.rows += 1;
        for (v, sel) in out.values.iter_mut().zip(plan.selects) {
            match sel {
                Pick::One(c) => v.push(row[*c]),
                Pick::All => v.extend_from_slice(&row),
                Pick::Several(cs) => push_several(v, cs, &row),
            }
        }
    }
    out
}

/// The values of columns `cs` of `row`, in that order: out of line, so that the loop over the
/// records of one-column readers stays as small as it was.
#[inline(never)]
#[cold]
fn push_several(v: &mut Vec<f64>, cs: &[usize], row: &[f64]) {
    v.extend(cs.iter().map(|&c| row[c]));
}

/// The common record, fast: returns where the next record starts, or `None` for anything the
/// fast path does not take (which then goes to `csv-core`). It accepts a subset of what the
/// general path does and gives the same numbers for it: numbers with spaces around them or
/// empty (missing) in wanted columns, unquoted fields or quoted ones without line breaks in the
/// others. `spans` gets where each field lies, for the text columns.
#[inline]
fn fast_record(
    s: &[u8],
    mut i: usize,
    d: u8,
    want: &[bool],
    row: &mut [f64],
    spans: &mut [(usize, usize)],
) -> Option<usize> {
    let last = want.len() - 1;
    // Zipped rather than indexed: no bounds checks in the loop.
    let columns = want.iter().zip(row.iter_mut()).zip(spans.iter_mut());
    for (c, ((&w, value), span)) in columns.enumerate() {
        let start = i;
        if w {
            let (x, len) = fast_number(&s[i..], d)?;
            *value = x;
            i += len;
        } else {
            i = skip_field(s, i, d)?;
        }
        *span = (start, i);
        match s.get(i) {
            Some(&b) if b == d && c < last => i += 1,
            Some(b'\n') if c == last => return Some(i + 1),
            Some(b'\r') if c == last => {
                return Some(i + 1 + usize::from(s.get(i + 1) == Some(&b'\n')));
            }
            None if c == last => return Some(i),
            _ => return None,
        }
    }
    None
}

/// Steps over a field that is not wanted: unquoted, or quoted without a line break inside.
#[inline]
fn skip_field(s: &[u8], i: usize, d: u8) -> Option<usize> {
    if s.get(i) == Some(&b'"') {
        let mut j = i + 1;
        loop {
            let q = find_stop(s, j, [b'"', b'\n', b'\r', b'"']);
            if s.get(q) != Some(&b'"') {
                return None;
            }
            if s.get(q + 1) != Some(&b'"') {
                return Some(q + 1);
            }
            j = q + 2;
        }
    }
    let j = find_stop(s, i, [d, b'\n', b'\r', b'"']);
    (s.get(j) != Some(&b'"')).then_some(j)
}

/// The index of the first byte of `s` from `j` on that is one of `stops`, or `s.len()`: eight
/// bytes at a time as one word while they last (fields are short: a call to `memchr` costs more
/// than it saves), then byte by byte.
#[inline(always)]
fn find_stop(s: &[u8], mut j: usize, stops: [u8; 4]) -> usize {
    while let Some(word) = s.get(j..j + 8).and_then(|w| <[u8; 8]>::try_from(w).ok()) {
        let w = u64::from_le_bytes(word);
        let hit = stops.iter().fold(0, |m, &c| m | equal_bytes(w, c));
        if hit != 0 {
            return j + (hit.trailing_zeros() / 8) as usize;
        }
        j += 8;
    }
    s[j..]
        .iter()
        .position(|c| stops.contains(c))
        .map_or(s.len(), |k| j + k)
}

/// Bit 7 set in the first byte of `w` (as little-endian) that equals `c`, and maybe in some
/// after it (a borrow out of a byte that equals `c` may mark the next), never in one before it:
/// the lowest bit set marks the first byte equal to `c`.
#[inline(always)]
fn equal_bytes(w: u64, c: u8) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let x = w ^ (ONES * u64::from(c));
    x.wrapping_sub(ONES) & !x & (ONES << 7)
}

/// The general path: `csv-core` and its buffers, kept for a piece (building a `csv-core` reader
/// costs more than tokenizing a record).
#[derive(Default)]
pub(super) struct Tokenizer {
    reader: Option<Reader>,
    out: Vec<u8>,
    ends: Vec<usize>,
    /// The column of the value that was not a number, after such an error.
    failed: Option<usize>,
}

impl Tokenizer {
    /// Parses the record at `s[i]` into `row`, and appends its text columns to `texts`.
    /// Returns where the next record starts, its line ends and whether it was blank; or the
    /// line (from `i`) and text of an error.
    fn record(
        &mut self,
        s: &[u8],
        i: usize,
        plan: &Plan,
        row: &mut [f64],
        texts: &mut [Texts],
    ) -> Result<(usize, u64, bool), (u64, String)> {
        let (end, next) = record_end(s, i, false).ok_or((0, UNCLOSED.to_string()))?;
        if end - i > MAX_LINE {
            return Err((0, too_long()));
        }
        let raw = &s[i..end];
        let lines = count_lines(&s[i..next]);
        if skipped(raw, plan.delimiter, plan.ncols) {
            return Ok((next, lines, true));
        }
        let nfields = self.tokenize(raw, plan.delimiter)?;
        if nfields != plan.ncols {
            let (col, what) = if nfields < plan.ncols {
                (nfields + 1, "missing field")
            } else {
                (plan.ncols + 1, "extra field")
            };
            let msg = format!(
                ", column {col}: {what} (this row has {nfields}, the first row {})",
                plan.ncols
            );
            return Err((count_lines(raw), msg));
        }
        for (c, &w) in plan.want.iter().enumerate() {
            if !w {
                continue;
            }
            match plan.missing.value(self.field(c)) {
                Ok(x) => row[c] = x,
                Err(why) => {
                    self.failed = Some(c);
                    let at = field_line(raw, c, plan.delimiter);
                    return Err((at, format!(", column {}: {why}", c + 1)));
                }
            }
        }
        for (t, &c) in texts.iter_mut().zip(plan.texts) {
            t.push(self.field(c));
        }
        Ok((next, lines, false))
    }

    /// Field `c` of the record tokenized last.
    fn field(&self, c: usize) -> &[u8] {
        let from = if c == 0 { 0 } else { self.ends[c - 1] };
        &self.out[from..self.ends[c]]
    }

    /// Tokenizes one record (without its line end) into `out` and `ends`; returns its field
    /// count. A record that `csv-core` ends early holds a quote inside an unquoted field.
    pub(super) fn tokenize(&mut self, raw: &[u8], delimiter: u8) -> Result<usize, (u64, String)> {
        let reader = self
            .reader
            .get_or_insert_with(|| ReaderBuilder::new().delimiter(delimiter).build());
        reader.reset();
        if self.ends.len() < 16 {
            self.ends.resize(16, 0);
        }
        if raw.is_empty() {
            // An empty line (in a table of one column) is one empty field.
            self.ends[0] = 0;
            return Ok(1);
        }
        if self.out.len() < raw.len() + 1 {
            self.out.resize(raw.len() + 1, 0);
        }
        let (mut nin, mut nout, mut nend) = (0, 0, 0);
        loop {
            // After the whole record, an empty input tells csv-core that it is complete.
            let (res, a, b, c) =
                reader.read_record(&raw[nin..], &mut self.out[nout..], &mut self.ends[nend..]);
            (nin, nout, nend) = (nin + a, nout + b, nend + c);
            match res {
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => self.out.resize(self.out.len() * 2, 0),
                ReadRecordResult::OutputEndsFull => self.ends.resize(self.ends.len() * 2, 0),
                ReadRecordResult::Record if a == 0 && nin == raw.len() => return Ok(nend),
                ReadRecordResult::Record | ReadRecordResult::End => {
                    return Err(stray_quote(raw, delimiter));
                }
            }
        }
    }
}

/// Where a record that the quote count and `csv-core` end in different places goes wrong: the
/// first quote that neither opens nor closes a quoted field.
fn stray_quote(raw: &[u8], d: u8) -> (u64, String) {
    let (mut i, mut col, mut at_start) = (0, 1, true);
    while i < raw.len() {
        let b = raw[i];
        if at_start && b == b'"' {
            i = after_closing_quote(raw, i + 1);
            at_start = false;
            continue;
        }
        if b == b'"' {
            break;
        }
        at_start = b == d;
        col += usize::from(b == d);
        i += 1;
    }
    (
        count_lines(&raw[..i.min(raw.len())]),
        format!(
            ", column {col}: a quote inside a field that does not start with one; quote the whole field and double the quotes inside it (RFC 4180)"
        ),
    )
}

/// The index just past the quote that closes a quoted field whose content starts at `j` (a
/// doubled quote stays inside); the end of `raw` if none does.
fn after_closing_quote(raw: &[u8], mut j: usize) -> usize {
    while let Some(k) = memchr::memchr(b'"', &raw[j..]) {
        j += k + 1;
        if raw.get(j) != Some(&b'"') {
            return j;
        }
        j += 1;
    }
    raw.len()
}

/// The line (from the record's start) on which field `col` (0-based) of a record starts.
pub(super) fn field_line(raw: &[u8], col: usize, d: u8) -> u64 {
    let (mut seen, mut quoted) = (0, false);
    for (i, &b) in raw.iter().enumerate() {
        if seen == col {
            return count_lines(&raw[..i]);
        }
        if b == b'"' {
            quoted = !quoted;
        } else if b == d && !quoted {
            seen += 1;
        }
    }
    count_lines(raw)
}

/// Tokenizes one record (without its line end) into its fields, unquoted and unescaped.
pub(super) fn tokenize_all(raw: &[u8], delimiter: u8) -> Result<Vec<Vec<u8>>, (u64, String)> {
    let mut slow = Tokenizer::default();
    let n = slow.tokenize(raw, delimiter)?;
    Ok((0..n).map(|c| slow.field(c).to_vec()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::xorshift::Rng;

    /// Field `i` of `texts`.
    fn field(texts: &Texts, i: usize) -> &[u8] {
        let from = if i == 0 {
            0
        } else {
            texts.ends[i - 1] as usize
        };
        &texts.data[from..texts.ends[i] as usize]
    }

    /// Random bytes, mostly the ones that matter to a field's end and their neighbours.
    fn random_bytes(r: &mut Rng, max: usize) -> Vec<u8> {
        let len = r.below(max + 1);
        const BYTES: &[u8] = b",;\"\n\r\t a1\x00\x01\x7f\x80\xff+-";
        (0..len)
            .map(|_| match r.below(4) {
                0 => r.below(256) as u8,
                _ => BYTES[r.below(BYTES.len())],
            })
            .collect()
    }

    /// [`skip_field`] byte by byte, as the fast path first did it.
    fn skip_field_bytewise(s: &[u8], i: usize, d: u8) -> Option<usize> {
        if s.get(i) == Some(&b'"') {
            let mut j = i + 1;
            loop {
                let q = j + s[j..].iter().position(|c| b"\"\n\r".contains(c))?;
                if s[q] != b'"' {
                    return None;
                }
                if s.get(q + 1) != Some(&b'"') {
                    return Some(q + 1);
                }
                j = q + 2;
            }
        }
        let end = s[i..]
            .iter()
            .position(|&c| c == d || c == b'\n' || c == b'\r' || c == b'"');
        match end {
            Some(k) if s[i + k] == b'"' => None,
            Some(k) => Some(i + k),
            None => Some(s.len()),
        }
    }

    #[test]
    fn field_ends_are_found_as_byte_by_byte() {
        let mut r = Rng(0x5DEE_CE66_D1CE_4E5B);
        for _ in 0..200_000 {
            let s = random_bytes(&mut r, 40);
            let i = r.below(s.len() + 1);
            let d = [b',', b';', b'\t', 0xff][r.below(4)];
            assert_eq!(
                skip_field(&s, i, d),
                skip_field_bytewise(&s, i, d),
                "{s:?} {i}"
            );
            let stops = [d, b'\n', b'"', b'\x01'];
            let want = s[i..].iter().position(|c| stops.contains(c));
            assert_eq!(find_stop(&s, i, stops), want.map_or(s.len(), |k| i + k));
        }
    }

    #[test]
    fn raw_fields_are_unquoted_and_unescaped() {
        let mut r = Rng(0x2545_F491_4F6C_DD1D);
        for _ in 0..50_000 {
            // A field of random bytes without quotes, quoted (doubling the quotes it gains) or
            // not, between random bytes, sometimes at the very end of the buffer.
            let inner: Vec<u8> = random_bytes(&mut r, 40)
                .into_iter()
                .filter(|&c| c != b'"')
                .collect();
            let mut text = inner.clone();
            for _ in 0..r.below(4) {
                text.insert(r.below(text.len() + 1), b'"');
            }
            let raw = if r.below(2) == 0 {
                let mut raw = vec![b'"'];
                for &c in &text {
                    raw.push(c);
                    if c == b'"' {
                        raw.push(c);
                    }
                }
                raw.push(b'"');
                raw
            } else {
                text = inner;
                text.clone()
            };
            let mut s = random_bytes(&mut r, 20);
            let from = s.len();
            s.extend_from_slice(&raw);
            let to = s.len();
            if r.below(2) == 0 {
                s.extend(random_bytes(&mut r, 20));
            }
            let mut texts = Texts::default();
            texts.push(b"before");
            texts.push_raw(&s, from, to);
            assert_eq!((texts.len(), field(&texts, 0)), (2, &b"before"[..]));
            assert_eq!(field(&texts, 1), &text[..], "{raw:?}");
        }
    }
}
