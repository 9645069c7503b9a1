//! Records into numbers and text: only the wanted columns are parsed (as numbers, or kept as
//! text for the keys of `--by`), every other field is skipped.
//!
//! Most records take the fast path, which parses numbers straight from the bytes and steps over
//! other fields (quoted ones too, when they hold no line break). Anything else (quoted numbers,
//! line breaks inside quotes, stray quotes, errors) is tokenized by `csv-core`, which then
//! decides what the record holds, and reports errors with their physical line and column.

use csv_core::{ReadRecordResult, Reader, ReaderBuilder};

use super::frame::{UNCLOSED, count_lines, is_eol, record_end, skipped};
use super::number::{fast_number, field_value};

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

    /// Appends a field as it stands in a record the fast path took: unquoted, or quoted with
    /// its closing quote last (then its doubled quotes stand for one).
    fn push_raw(&mut self, raw: &[u8]) {
        match raw {
            [b'"', inner @ .., b'"'] => {
                let mut rest = inner;
                while let Some(k) = memchr::memchr(b'"', rest) {
                    self.data.extend_from_slice(&rest[..=k]);
                    rest = &rest[k + 2..];
                }
                self.data.extend_from_slice(rest);
                self.end();
            }
            _ => self.push(raw),
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
}

/// How the records of one table are read.
pub(super) struct Plan<'a> {
    pub ncols: usize,
    pub delimiter: u8,
    /// Per column, whether some reader wants its numbers.
    pub want: &'a [bool],
    /// Per reader, its column (`None`: all columns).
    pub selects: &'a [Option<usize>],
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
            out.lines += 1;
            i = next;
            for (t, &c) in out.texts.iter_mut().zip(plan.texts) {
                t.push_raw(&piece[spans[c].0..spans[c].1]);
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
                    return out;
                }
            }
        }
        out.rows += 1;
        for (v, sel) in out.values.iter_mut().zip(plan.selects) {
            match sel {
                Some(c) => v.push(row[*c]),
                None => v.extend_from_slice(&row),
            }
        }
    }
    out
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
    for (c, &w) in want.iter().enumerate() {
        let start = i;
        if w {
            let (x, len) = fast_number(&s[i..], d)?;
            row[c] = x;
            i += len;
        } else {
            i = skip_field(s, i, d)?;
        }
        spans[c] = (start, i);
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
            let q = j + memchr::memchr3(b'"', b'\n', b'\r', &s[j..])?;
            if s[q] != b'"' {
                return None;
            }
            if s.get(q + 1) != Some(&b'"') {
                return Some(q + 1);
            }
            j = q + 2;
        }
    }
    let mut j = i;
    while let Some(&b) = s.get(j) {
        if b == d || is_eol(b) {
            return Some(j);
        }
        if b == b'"' {
            return None;
        }
        j += 1;
    }
    Some(j)
}

/// The general path: `csv-core` and its buffers, kept for a piece (building a `csv-core` reader
/// costs more than tokenizing a record).
#[derive(Default)]
pub(super) struct Tokenizer {
    reader: Option<Reader>,
    out: Vec<u8>,
    ends: Vec<usize>,
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
            match field_value(self.field(c)) {
                Ok(x) => row[c] = x,
                Err(why) => {
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
