//! CSV, TSV and plain-text tables of numbers, streamed.
//!
//! Every record is one line: numbers never hold line breaks, so a quoted field must close on its
//! own line. That makes line ends record boundaries, which lets a file be counted in one fast
//! pass and its blocks parsed on all cores. Memory stays bounded by the block size and the
//! longest line allowed ([`MAX_LINE`]).

use std::collections::VecDeque;
use std::io::{Read, Seek, SeekFrom};
use std::sync::{Arc, Mutex, MutexGuard};

use anyhow::{Context, Result, anyhow, bail, ensure};
use rayon::prelude::*;

use super::Source;
use crate::dtype::Dtype;
use crate::error::UsageError;

/// The longest line accepted, in bytes.
pub const MAX_LINE: usize = 1 << 20;
/// Bytes read per block.
const BLOCK: usize = 8 << 20;

/// Whether the first record is a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HeaderMode {
    /// A header if any field of the first record is not a number.
    #[default]
    Detect,
    /// The first record is a header (`--header`).
    Present,
    /// The first record is data (`--no-header`).
    Absent,
}

/// How CSV input is read: the options of the command line that concern it, in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CsvOptions {
    /// The field delimiter; `None` picks tab for `.tsv` and comma otherwise.
    pub delimiter: Option<u8>,
    /// Header handling.
    pub header: HeaderMode,
}

/// Parses `--delimiter`: one ASCII character, or `tab` / `\t`.
pub fn parse_delimiter(s: &str) -> Result<u8, UsageError> {
    match s {
        "\\t" | "tab" | "\t" => Ok(b'\t'),
        _ if s.len() == 1 && s.is_ascii() && s != "\"" && s != "\n" && s != "\r" => {
            Ok(s.as_bytes()[0])
        }
        _ => Err(UsageError::new(format!(
            "--delimiter must be one ASCII character other than a quote or line break (or 'tab'), got {s:?}"
        ))),
    }
}

/// Parses a number as SPEC §2 allows: decimal or scientific, `nan`/`inf`/`infinity` in any case
/// with an optional sign, surrounded by optional spaces, optionally in double quotes.
pub fn parse_number(field: &str) -> Option<f64> {
    let s = unquote(field.as_bytes()).ok()?;
    number(s)
}

/// A whole byte string as a number (no spaces around it).
fn number(s: &[u8]) -> Option<f64> {
    // fast-float2 reads "inf", "infinity" and "nan" in any case with a sign, and no hex or
    // underscores; it must consume the whole field.
    match fast_float2::parse_partial::<f64, _>(s) {
        Ok((x, n)) if n == s.len() => Some(x),
        _ => None,
    }
}

fn is_space(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s
        && is_space(*first)
    {
        s = rest;
    }
    while let [rest @ .., last] = s
        && is_space(*last)
    {
        s = rest;
    }
    s
}

/// A field without surrounding spaces and quotes. A doubled quote inside stands for one quote.
fn unquote(field: &[u8]) -> Result<&[u8], &'static str> {
    let s = trim(field);
    match s {
        [b'"', inner @ .., b'"'] if !inner.is_empty() || s.len() >= 2 => Ok(trim(inner)),
        [b'"', ..] => Err("unterminated quote (a quoted field must close on its own line)"),
        _ => Ok(s),
    }
}

/// The fields of a line, split at the delimiter outside quotes.
fn split(
    line: &[u8],
    delimiter: u8,
    mut each: impl FnMut(&[u8]) -> Result<(), String>,
) -> Result<(), String> {
    let mut start = 0;
    let mut quoted = false;
    for (i, &c) in line.iter().enumerate() {
        if c == b'"' {
            quoted = !quoted;
        } else if c == delimiter && !quoted {
            each(&line[start..i])?;
            start = i + 1;
        }
    }
    if quoted {
        return Err("unterminated quote (a quoted field must close on its own line)".into());
    }
    each(&line[start..])
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|c| c.is_ascii_whitespace())
}

/// What a first pass over a table finds: its header and the number of data rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Column names, if the first record is a header.
    pub names: Option<Vec<String>>,
    /// Fields per record.
    pub ncols: usize,
    /// Data rows (blank lines do not count).
    pub rows: usize,
    /// Byte offset of the first line after the header (or of the first line, without one).
    pub data_start: usize,
    /// The 1-based line number at `data_start`.
    pub data_line: u64,
}

impl Layout {
    /// Finds a column by header name or 1-based number (as `cut -f`). Returns its 0-based index.
    pub fn column(&self, key: &str) -> Result<usize> {
        if let Some(i) = self
            .names
            .as_ref()
            .and_then(|n| n.iter().position(|h| h == key))
        {
            return Ok(i);
        }
        if let Ok(k) = key.parse::<usize>() {
            ensure!(
                k >= 1 && k <= self.ncols,
                "column {k} does not exist: the table has {} column{}",
                self.ncols,
                if self.ncols == 1 { "" } else { "s" }
            );
            return Ok(k - 1);
        }
        match &self.names {
            Some(names) => bail!(
                "no column named '{key}'; the columns are: {}",
                list_names(names)
            ),
            None => bail!(
                "no column named '{key}': the table has no header; use a column number 1..{}",
                self.ncols
            ),
        }
    }
}

/// The first few column names, for a message.
fn list_names(names: &[String]) -> String {
    const SHOWN: usize = 12;
    let mut list: Vec<String> = names.iter().take(SHOWN).map(|n| clip(n)).collect();
    if names.len() > SHOWN {
        list.push(format!("… ({} columns in all)", names.len()));
    }
    list.join(", ")
}

/// Reads `r` line by line in blocks, calling `f(line_number, start, next, line)` for every line:
/// its absolute byte offset, the offset just past its line end, and its text without the line
/// end. A UTF-8 byte order mark before the first line is skipped. Stops when `f` returns `false`.
fn for_each_line(
    r: &mut dyn Read,
    mut f: impl FnMut(u64, usize, usize, &[u8]) -> Result<bool>,
) -> Result<()> {
    let mut buf = vec![0u8; BLOCK];
    let (mut len, mut base, mut line) = (0usize, 0usize, 1u64);
    let mut eof = false;
    let mut first = true;
    loop {
        while !eof && len < buf.len() {
            let n = r.read(&mut buf[len..])?;
            eof = n == 0;
            len += n;
        }
        let mut consumed = 0;
        if first && buf[..len].starts_with(b"\xEF\xBB\xBF") {
            consumed = 3;
        }
        first = false;
        let from = consumed;
        for rel in memchr::memchr_iter(b'\n', &buf[from..len]) {
            let end = from + rel;
            ensure!(
                end - consumed <= MAX_LINE,
                "line {line} is longer than {} MiB",
                MAX_LINE >> 20
            );
            if !f(
                line,
                base + consumed,
                base + end + 1,
                strip_cr(&buf[consumed..end]),
            )? {
                return Ok(());
            }
            line += 1;
            consumed = end + 1;
        }
        if eof {
            ensure!(
                len - consumed <= MAX_LINE,
                "line {line} is longer than {} MiB",
                MAX_LINE >> 20
            );
            if consumed < len {
                f(
                    line,
                    base + consumed,
                    base + len,
                    strip_cr(&buf[consumed..len]),
                )?;
            }
            return Ok(());
        }
        if consumed == 0 {
            ensure!(
                buf.len() < MAX_LINE,
                "line {line} is longer than {} MiB",
                MAX_LINE >> 20
            );
            buf.resize((buf.len() * 2).min(MAX_LINE), 0);
        }
        buf.copy_within(consumed..len, 0);
        len -= consumed;
        base += consumed;
    }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The first pass: header, column count, data rows.
pub fn scan<R: Read + Seek>(r: &mut R, delimiter: u8, header: HeaderMode) -> Result<Layout> {
    let mut layout = Layout {
        names: None,
        ncols: 0,
        rows: 0,
        data_start: 0,
        data_line: 1,
    };
    let mut seen_first = false;
    // The first non-blank line, line by line; the rest is only counted, on all cores.
    let mut rest = (0usize, 1u64);
    for_each_line(r, |line_no, start, next, line| {
        if is_blank(line) {
            return Ok(true);
        }
        seen_first = true;
        rest = (next, line_no + 1);
        let mut fields = Vec::new();
        split(line, delimiter, |f| {
            fields.push(f.to_vec());
            Ok(())
        })
        .map_err(|e| anyhow!("line {line_no}: {e}"))?;
        layout.ncols = fields.len();
        let is_header = match header {
            HeaderMode::Present => true,
            HeaderMode::Absent => false,
            HeaderMode::Detect => fields.iter().any(|f| {
                let s = String::from_utf8_lossy(f);
                parse_number(&s).is_none() && !trim(f).is_empty()
            }),
        };
        if is_header {
            let names = fields.iter().map(|f| {
                let f = unquote(f).unwrap_or(f);
                String::from_utf8(f.to_vec())
                    .map_err(|_| anyhow!("line {line_no}: the header is not valid UTF-8"))
            });
            layout.names = Some(names.collect::<Result<_>>()?);
            (layout.data_start, layout.data_line) = (next, line_no + 1);
        } else {
            (layout.data_start, layout.data_line, layout.rows) = (start, line_no, 1);
        }
        Ok(false)
    })?;
    ensure!(seen_first, "no data: the input is empty");
    r.seek(SeekFrom::Start(rest.0 as u64))?;
    layout.rows += count_rows(r, rest.1)?;
    ensure!(
        layout.rows > 0,
        "no data rows: the input holds only a header"
    );
    Ok(layout)
}

/// Counts the non-blank lines of `r` (whose first line is line `line`), checking their length.
/// Blocks are read in turn and split at line ends into pieces counted in parallel.
fn count_rows(r: &mut dyn Read, mut line: u64) -> Result<usize> {
    let mut buf: Vec<u8> = Vec::with_capacity(BLOCK);
    let mut rows = 0;
    loop {
        let want = BLOCK.saturating_sub(buf.len()).max(BLOCK / 2);
        let n = r.take(want as u64).read_to_end(&mut buf)?;
        let eof = n < want;
        let end = if eof {
            buf.len()
        } else {
            memchr::memrchr(b'\n', &buf).map_or(0, |i| i + 1)
        };
        ensure!(
            end > 0 || eof || buf.len() <= MAX_LINE,
            "line {line} is longer than {} MiB",
            MAX_LINE >> 20
        );
        let pieces = split_block(&buf[..end], rayon::current_num_threads() * 4);
        let counts: Vec<(usize, u64, Option<u64>)> =
            pieces.par_iter().map(|p| count_piece(p)).collect();
        for (piece_rows, lines, too_long) in counts {
            if let Some(k) = too_long {
                bail!("line {} is longer than {} MiB", line + k, MAX_LINE >> 20);
            }
            rows += piece_rows;
            line += lines;
        }
        buf.drain(..end);
        if eof {
            return Ok(rows);
        }
    }
}

/// Non-blank lines, lines, and the index of the first line over [`MAX_LINE`], of a piece of whole
/// lines (the last may lack its line end).
fn count_piece(piece: &[u8]) -> (usize, u64, Option<u64>) {
    let (mut rows, mut lines, mut start) = (0, 0u64, 0);
    let mut line = |l: &[u8], lines: &mut u64| -> bool {
        // A line that starts with a non-space byte is not blank; only others need a look.
        if l.first().is_some_and(|c| !c.is_ascii_whitespace()) || !is_blank(l) {
            rows += 1;
        }
        *lines += 1;
        l.len() <= MAX_LINE
    };
    for end in memchr::memchr_iter(b'\n', piece) {
        if !line(&piece[start..end], &mut lines) {
            return (0, 0, Some(lines - 1));
        }
        start = end + 1;
    }
    if start < piece.len() && !line(&piece[start..], &mut lines) {
        return (0, 0, Some(lines - 1));
    }
    (rows, lines, None)
}

/// Which values of each record a reader wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Select {
    /// One column.
    Column(usize),
    /// Every column, row after row.
    All,
}

/// The parsing state shared by all readers of one table.
struct Shared {
    reader: Box<dyn Read + Send>,
    buf: Vec<u8>,
    eof: bool,
    line: u64,
    rows_left: usize,
    ncols: usize,
    delimiter: u8,
    selects: Vec<Select>,
    queues: Vec<VecDeque<f64>>,
}

/// One parsed piece of a block.
struct Piece {
    values: Vec<Vec<f64>>,
    lines: u64,
    rows: usize,
    error: Option<(u64, String)>,
}

impl Shared {
    /// Parses the next block into the queues.
    fn parse_block(&mut self) -> Result<()> {
        if !self.eof && self.buf.len() < BLOCK {
            self.read_more(BLOCK - self.buf.len())?;
        }
        let end = if self.eof {
            self.buf.len()
        } else {
            match memchr::memrchr(b'\n', &self.buf) {
                Some(i) => i + 1,
                None => {
                    ensure!(
                        self.buf.len() < MAX_LINE,
                        "line {} is longer than {} MiB",
                        self.line,
                        MAX_LINE >> 20
                    );
                    // No full line yet: read more before parsing.
                    return self.read_more(BLOCK);
                }
            }
        };
        ensure!(
            end > 0 || !self.eof || self.rows_left == 0,
            "the file has fewer rows than when it was counted"
        );
        let block = &self.buf[..end];
        let pieces = split_block(block, rayon::current_num_threads() * 8);
        let (ncols, delim, selects) = (self.ncols, self.delimiter, &self.selects);
        let parsed: Vec<Piece> = pieces
            .par_iter()
            .map(|p| parse_piece(p, ncols, delim, selects))
            .collect();
        for piece in parsed {
            if let Some((at, msg)) = piece.error {
                bail!("line {}{msg}", self.line + at);
            }
            ensure!(
                piece.rows <= self.rows_left,
                "the file has more rows than when it was counted"
            );
            self.rows_left -= piece.rows;
            self.line += piece.lines;
            for (q, v) in self.queues.iter_mut().zip(piece.values) {
                q.extend(v);
            }
        }
        self.buf.drain(..end);
        Ok(())
    }
}

impl Shared {
    /// Appends up to `want` bytes to the buffer (fewer only at the end of the input).
    fn read_more(&mut self, want: usize) -> Result<()> {
        let n = (&mut self.reader)
            .take(want as u64)
            .read_to_end(&mut self.buf)?;
        self.eof = n < want;
        Ok(())
    }
}

/// Splits a block of whole lines into about `n` pieces at line ends.
fn split_block(block: &[u8], n: usize) -> Vec<&[u8]> {
    let target = block.len() / n.max(1) + 1;
    let mut pieces = Vec::with_capacity(n + 1);
    let mut rest = block;
    while rest.len() > target {
        match memchr::memchr(b'\n', &rest[target..]) {
            Some(i) => {
                let (a, b) = rest.split_at(target + i + 1);
                pieces.push(a);
                rest = b;
            }
            None => break,
        }
    }
    if !rest.is_empty() {
        pieces.push(rest);
    }
    pieces
}

fn parse_piece(piece: &[u8], ncols: usize, delimiter: u8, selects: &[Select]) -> Piece {
    let mut out = Piece {
        values: vec![Vec::new(); selects.len()],
        lines: 0,
        rows: 0,
        error: None,
    };
    let mut row = Vec::with_capacity(ncols);
    let mut start = 0;
    while start < piece.len() {
        let at = out.lines;
        out.lines += 1;
        if let Some(next) = fast_line(piece, start, delimiter, &mut row) {
            start = next;
        } else {
            let end = memchr::memchr(b'\n', &piece[start..]).map_or(piece.len(), |e| start + e);
            let line = strip_cr(&piece[start..end]);
            start = end + 1;
            if is_blank(line) {
                continue;
            }
            row.clear();
            if let Err((col, msg)) = parse_line(line, delimiter, &mut row) {
                out.error = Some((at, format!(", column {col}: {msg}")));
                return out;
            }
        }
        if row.len() != ncols {
            let (col, what) = if row.len() < ncols {
                (row.len() + 1, "missing field")
            } else {
                (ncols + 1, "extra field")
            };
            let msg = format!(
                ", column {col}: {what} (this row has {}, the first row {ncols})",
                row.len()
            );
            out.error = Some((at, msg));
            return out;
        }
        out.rows += 1;
        for (v, sel) in out.values.iter_mut().zip(selects) {
            match sel {
                Select::Column(c) => v.push(row[*c]),
                Select::All => v.extend_from_slice(&row),
            }
        }
    }
    out
}

/// The common line, fast: plain decimals (see [`plain_decimal`]) separated by the delimiter and
/// ending in a line end or the end of the piece, parsed in one pass without looking for the line
/// end first. Returns where the next line starts, or `None` for anything else (spaces, quotes,
/// exponents, blank lines, errors), which then takes the general path: the fast path accepts a
/// subset of what [`parse_line`] does and gives the same numbers for it.
#[inline]
fn fast_line(piece: &[u8], mut i: usize, delimiter: u8, row: &mut Vec<f64>) -> Option<usize> {
    row.clear();
    loop {
        let (x, len) = plain_decimal(&piece[i..])?;
        row.push(x);
        i += len;
        match piece.get(i) {
            Some(&c) if c == delimiter => i += 1,
            Some(b'\n') => return Some(i + 1),
            Some(b'\r') if piece.get(i + 1) == Some(&b'\n') => return Some(i + 2),
            None => return Some(i),
            Some(_) => return None,
        }
    }
}

/// Exact powers of ten as `f64`.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// The common case, fast: `-?digits[.digits]` with at most 15 significant digits and no
/// exponent. The digits form an integer below 2^53 and the divisor is an exact power of ten, so
/// one IEEE division gives the correctly rounded value (Clinger's fast path). Anything else
/// returns `None` and goes to the general parser.
#[inline]
fn plain_decimal(s: &[u8]) -> Option<(f64, usize)> {
    let neg = s.first() == Some(&b'-');
    let mut i = usize::from(neg);
    let (mut mant, mut digits, mut frac) = (0u64, 0u32, 0usize);
    while let Some(d) = s.get(i).map(|c| c.wrapping_sub(b'0')).filter(|d| *d < 10) {
        mant = mant.wrapping_mul(10).wrapping_add(u64::from(d));
        digits += u32::from(mant != 0);
        i += 1;
    }
    if s.get(i) == Some(&b'.') {
        i += 1;
        while let Some(d) = s.get(i).map(|c| c.wrapping_sub(b'0')).filter(|d| *d < 10) {
            mant = mant.wrapping_mul(10).wrapping_add(u64::from(d));
            digits += u32::from(mant != 0);
            frac += 1;
            i += 1;
        }
    }
    if i == usize::from(neg)
        || s[usize::from(neg)..i] == *b"."
        || digits > 15
        || frac >= POW10.len()
        || s.get(i).is_some_and(|c| c | 0x20 == b'e')
    {
        return None;
    }
    let v = mant as f64 / POW10[frac];
    Some((if neg { -v } else { v }, i))
}

/// Parses the numbers of one line into `row`; on error returns the 1-based column and why.
fn parse_line(line: &[u8], delimiter: u8, row: &mut Vec<f64>) -> Result<(), (usize, String)> {
    // Spaces around fields are allowed, unless the space is the delimiter itself.
    let pad = |c: u8| is_space(c) && c != delimiter;
    let n = line.len();
    let (mut i, mut col) = (0, 0);
    loop {
        col += 1;
        while i < n && pad(line[i]) {
            i += 1;
        }
        let start = i;
        let mut value = None;
        if i < n && line[i] == b'"' {
            let Some(close) = memchr::memchr(b'"', &line[i + 1..]) else {
                return Err((
                    col,
                    "unterminated quote (a quoted field must close on its own line)".into(),
                ));
            };
            let inner = trim(&line[i + 1..i + 1 + close]);
            i += close + 2;
            value = number(inner);
            if value.is_none() {
                return Err((col, describe(inner)));
            }
        } else if let Some((x, len)) = plain_decimal(&line[i..]) {
            value = Some(x);
            i += len;
        } else if let Ok((x, len)) = fast_float2::parse_partial::<f64, _>(&line[i..]) {
            value = Some(x);
            i += len;
        }
        while i < n && pad(line[i]) {
            i += 1;
        }
        let at_end = i == n || line[i] == delimiter;
        match value {
            Some(x) if at_end => row.push(x),
            _ => {
                let end = memchr::memchr(delimiter, &line[start..]).map_or(n, |e| start + e);
                let field = trim(&line[start..end]);
                return Err((
                    col,
                    if field.is_empty() {
                        "empty field".into()
                    } else {
                        describe(field)
                    },
                ));
            }
        }
        if i == n {
            return Ok(());
        }
        i += 1;
        if i == n {
            return Err((col + 1, "empty field".into()));
        }
    }
}

fn describe(field: &[u8]) -> String {
    match std::str::from_utf8(field) {
        Ok(s) => format!("'{}' is not a number", clip(s)),
        Err(_) => "not valid UTF-8".into(),
    }
}

/// At most 40 characters of a field, with control characters escaped so the message stays on
/// one line.
fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(40).flat_map(char::escape_debug).collect();
    if s.chars().nth(40).is_some() {
        out.push('…');
    }
    out
}

/// Readers of the columns of one table, which is parsed once for all of them.
pub struct Table {
    shared: Arc<Mutex<Shared>>,
    layout: Layout,
}

impl Table {
    /// Prepares to read the table whose first pass gave `layout`; `reader` starts at the top of
    /// the file.
    pub fn new(mut reader: Box<dyn Read + Send>, layout: Layout, delimiter: u8) -> Result<Table> {
        std::io::copy(
            &mut (&mut reader).take(layout.data_start as u64),
            &mut std::io::sink(),
        )?;
        let shared = Shared {
            reader,
            buf: Vec::new(),
            eof: false,
            line: layout.data_line,
            rows_left: layout.rows,
            ncols: layout.ncols,
            delimiter,
            selects: Vec::new(),
            queues: Vec::new(),
        };
        Ok(Table {
            shared: Arc::new(Mutex::new(shared)),
            layout,
        })
    }

    /// A reader of column `key` (name or 1-based number), or of every column without a key.
    pub fn reader(&self, key: Option<&str>) -> Result<CsvSource> {
        let (select, shape) = match key {
            Some(k) => (
                Select::Column(self.layout.column(k)?),
                vec![self.layout.rows],
            ),
            None if self.layout.ncols == 1 => (Select::All, vec![self.layout.rows]),
            None => (Select::All, vec![self.layout.rows, self.layout.ncols]),
        };
        let mut shared = lock(&self.shared);
        shared.selects.push(select);
        shared.queues.push(VecDeque::new());
        Ok(CsvSource {
            shared: self.shared.clone(),
            index: shared.queues.len() - 1,
            shape,
        })
    }
}

fn lock(m: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One column (or all columns) of a table, streamed.
pub struct CsvSource {
    shared: Arc<Mutex<Shared>>,
    index: usize,
    shape: Vec<usize>,
}

impl Source for CsvSource {
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn dtype(&self) -> Dtype {
        Dtype::F64
    }
    fn read_f64(&mut self, out: &mut [f64]) -> Result<()> {
        let mut shared = lock(&self.shared);
        while shared.queues[self.index].len() < out.len() {
            ensure!(
                !(shared.eof && shared.buf.is_empty()),
                "the file has fewer rows than when it was counted"
            );
            shared.parse_block()?;
        }
        let n = out.len();
        for (o, v) in out.iter_mut().zip(shared.queues[self.index].drain(..n)) {
            *o = v;
        }
        Ok(())
    }
    fn read_f32(&mut self, _out: &mut [f32]) -> Result<()> {
        bail!("internal error: CSV data is float64")
    }
}

/// Reads a whole table into memory: its header (if any), column count and values row by row.
pub fn read_table(
    input: impl Read + Send + 'static,
    delimiter: u8,
    header: HeaderMode,
) -> Result<(Layout, Vec<f64>)> {
    let mut bytes = Vec::new();
    let mut input = input;
    input.read_to_end(&mut bytes).context("cannot read")?;
    let layout = scan(&mut std::io::Cursor::new(&bytes[..]), delimiter, header)?;
    let table = Table::new(
        Box::new(std::io::Cursor::new(bytes)),
        layout.clone(),
        delimiter,
    )?;
    let mut src = table.reader(None)?;
    let mut data = vec![0.0; layout.rows * layout.ncols];
    src.read_f64(&mut data)?;
    Ok((layout, data))
}

#[cfg(test)]
mod tests;
