//! CSV, TSV and plain-text tables, streamed: RFC 4180 as pandas, polars and Excel write it.
//!
//! A table is read once or twice. A run that needs the shape before its output (elements,
//! gradients, `--axis`, `--top`) makes a first pass that finds the header and counts the rows,
//! then a second that parses the selected columns; a reduction of columns of one table reads it
//! once, open-ended ([`scan_uncounted`]). Both read the file in
//! blocks cut at record boundaries (see the `frame` module), split each block into pieces and
//! work on the pieces on all cores. Only the selected columns are parsed as numbers; the other
//! fields are stepped over, whatever they hold. Memory stays bounded by the block size and the
//! longest record allowed ([`MAX_LINE`]).

pub(crate) mod blocks;
mod count;
mod frame;
pub(crate) use frame::too_long;
mod number;
mod record;

use std::collections::VecDeque;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::sync::{Arc, Mutex, MutexGuard};

use anyhow::{Context, Result, bail, ensure};
use rayon::prelude::*;

use super::{Buf, Position, Source, Text};
use crate::dtype::Dtype;
use blocks::Blocks;
use frame::{count_lines, is_blank, record_end, skipped};
pub use number::{Missing, parse_number};
use number::{clip, field_value};
pub(crate) use number::{json_decimal, number};

/// The longest record accepted, in bytes.
pub const MAX_LINE: usize = 1 << 20;
/// Bytes read per block.
const BLOCK: usize = 4 << 20;

/// The block size: [`BLOCK`], or in tests whatever a test set for its thread, so that small
/// inputs are cut into many blocks.
fn block_size() -> usize {
    #[cfg(test)]
    return tests::BLOCK_SIZE.with(|b| b.get());
    #[cfg(not(test))]
    BLOCK
}

/// Whether the first record is a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HeaderMode {
    /// A header if any field of the first record is not a number (nor empty). A first record
    /// of numbers is read as data, with a note.
    #[default]
    Detect,
    /// The first record is a header (`--header`).
    Present,
    /// The first record is data (`--no-header`).
    Absent,
}

/// How CSV input is read: the options of the command line that concern it, in one place.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CsvOptions {
    /// The field delimiter; `None` picks tab for `.tsv` and comma otherwise.
    pub delimiter: Option<u8>,
    /// Header handling.
    pub header: HeaderMode,
    /// Spellings of a missing value besides the empty field and pandas' defaults
    /// (`Missing`): `--na`. None of them may be a number.
    pub na: Vec<String>,
}

/// What a first pass over a table finds: its header and the number of data rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Column names (unquoted and unescaped), if the first record is a header.
    pub names: Option<Vec<String>>,
    /// Fields per record.
    pub ncols: usize,
    /// Data rows (blank lines do not count); an upper bound if `open_ended`.
    pub rows: usize,
    /// The rows were not counted: the table is read to its end in one pass, and `rows` is
    /// only what its length allows (see [`scan_uncounted`]).
    pub open_ended: bool,
    /// Byte offset of the first record after the header (or of the first record, without one).
    pub data_start: usize,
    /// The 1-based line number at `data_start`.
    pub data_line: u64,
    /// How an ambiguous first record was read, for the user to see; `None` when it was not
    /// ambiguous or the header mode was given.
    pub note: Option<String>,
}

/// A hint when the header is one name that holds `key` between tabs or semicolons: the table
/// is split by another delimiter (a TSV on stdin, where no extension tells).
fn other_delimiter(names: &[String], key: &str) -> &'static str {
    let [name] = names else {
        return "";
    };
    let split_by = |d: char| name.split(d).any(|n| n.trim() == key);
    if split_by('\t') {
        " (a header split by tabs: pass --delimiter '\\t')"
    } else if split_by(';') {
        " (a header split by semicolons: pass --delimiter ';')"
    } else {
        ""
    }
}

impl Layout {
    /// Finds a column by header name or 1-based number (as `cut -f`; `#N` is always a number).
    /// Returns its 0-based index. A name held by several columns is an error that lists their
    /// numbers. A name wins over a number, as in pandas; [`Layout::key_note`] tells the user.
    pub fn column(&self, key: &str) -> Result<usize> {
        if let Some(n) = key.strip_prefix('#')
            && let Ok(k) = n.parse::<usize>()
        {
            return self.numbered(k);
        }
        let named = self.named(key)?;
        let number = key.parse::<usize>().ok();
        match (named, number) {
            (Some(i), _) => Ok(i),
            (None, Some(k)) => self.numbered(k),
            (None, None) => match &self.names {
                Some(names) => bail!(
                    "no column named '{}'; the columns are: {}{}",
                    clip(key),
                    list_names(names),
                    other_delimiter(names, key)
                ),
                None => bail!(
                    "no column named '{}': the table has no header; use a column number 1..{}",
                    clip(key),
                    self.ncols
                ),
            },
        }
    }

    /// The columns a KEY selects: the column it names whole, if one does (a header name may hold
    /// commas); else, read from the left, the longest run of its comma-separated parts that
    /// names a column, then the next (`p0,p1,p2`: three columns, shape `(rows, 3)`).
    pub fn columns(&self, key: &str) -> Result<Vec<usize>> {
        if !key.contains(',') || matches!(self.named(key), Ok(Some(_))) {
            return Ok(vec![self.column(key)?]);
        }
        let parts: Vec<&str> = key.split(',').collect();
        let mut out = Vec::new();
        let mut i = 0;
        while i < parts.len() {
            let longest = (i + 1..=parts.len())
                .rev()
                .find(|&j| j == i + 1 || matches!(self.named(&parts[i..j].join(",")), Ok(Some(_))));
            let j = longest.unwrap_or(i + 1);
            out.push(
                self.column(&parts[i..j].join(","))
                    .with_context(|| format!("in the list of columns '{}'", clip(key)))?,
            );
            i = j;
        }
        Ok(out)
    }

    /// A note for a key that is a number and also the header name of another column: it was read
    /// as the name, and `#N` picks the number.
    pub fn key_note(&self, key: &str) -> Option<String> {
        let i = self.named(key).ok()??;
        let k = key.parse::<usize>().ok()?;
        (k >= 1 && k <= self.ncols && k - 1 != i).then(|| {
            format!(
                "column '{key}' was read as the column named '{key}' (#{}), not as column number {k} ({}); write #{k} for that one (-q silences this note)",
                i + 1,
                self.describe(k - 1)
            )
        })
    }

    /// The column a header name picks, if one does; a name held by several is an error.
    fn named(&self, key: &str) -> Result<Option<usize>> {
        let Some(names) = &self.names else {
            return Ok(None);
        };
        let mut held = names.iter().enumerate().filter(|(_, h)| *h == key);
        let Some((i, _)) = held.next() else {
            return Ok(None);
        };
        let others: Vec<usize> = held.map(|(j, _)| j + 1).collect();
        ensure!(
            others.is_empty(),
            "the name '{}' is held by columns {} and {}; select one by its number: {}",
            clip(key),
            i + 1,
            join(&others, " and ", ""),
            join(&[&[i + 1], &others[..]].concat(), " or ", "#")
        );
        Ok(Some(i))
    }

    /// The column a 1-based number picks.
    fn numbered(&self, k: usize) -> Result<usize> {
        ensure!(
            k >= 1 && k <= self.ncols,
            "column {k} does not exist: the table has {} column{}",
            self.ncols,
            if self.ncols == 1 { "" } else { "s" }
        );
        Ok(k - 1)
    }

    /// A column for a message: its name, if the table has a header.
    fn describe(&self, i: usize) -> String {
        match &self.names {
            Some(names) => format!("'{}'", clip(&names[i])),
            None => "unnamed".to_string(),
        }
    }
}

/// Column numbers for a message, each after `prefix`.
fn join(numbers: &[usize], sep: &str, prefix: &str) -> String {
    let texts: Vec<String> = numbers.iter().map(|n| format!("{prefix}{n}")).collect();
    texts.join(sep)
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

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The first record of a table: its fields, where it starts and ends, and its line.
struct First {
    fields: Vec<Vec<u8>>,
    start: usize,
    next: usize,
    line: u64,
    next_line: u64,
}

/// Reads the first non-blank record from the top of `r` (after a byte order mark).
fn first_record(r: &mut dyn Read, delimiter: u8) -> Result<First> {
    let mut head = Vec::new();
    let limit = HEAD_BYTES;
    r.take(limit).read_to_end(&mut head)?;
    let eof = (head.len() as u64) < limit;
    let (mut i, mut line) = (usize::from(head.starts_with(BOM)) * BOM.len(), 1u64);
    loop {
        ensure!(i < head.len(), "no data: the input is empty");
        let Some((end, next)) =
            record_end(&head, i, false).filter(|&(_, next)| eof || next < head.len())
        else {
            if !eof {
                bail!("line {line}{}", frame::too_long());
            }
            bail!("line {line}{}", frame::UNCLOSED);
        };
        ensure!(end - i <= MAX_LINE, "line {line}{}", frame::too_long());
        let next_line = line + count_lines(&head[i..next]);
        if is_blank(&head[i..end], delimiter) {
            (i, line) = (next, next_line);
            continue;
        }
        let fields = record::tokenize_all(&head[i..end], delimiter)
            .map_err(|(at, msg)| anyhow::anyhow!("line {}{msg}", line + at))?;
        return Ok(First {
            fields,
            start: i,
            next,
            line,
            next_line,
        });
    }
}

/// The first pass: header, column count, data rows.
pub fn scan<R: Read + Seek + Send>(r: &mut R, delimiter: u8, header: HeaderMode) -> Result<Layout> {
    let layout = scan_head(r, delimiter, header)?;
    r.seek(SeekFrom::Start(layout.data_start as u64))?;
    counted(layout, &mut Blocks::stream(Box::new(r)), delimiter)
}

/// [`scan`] for a file, which is mapped into memory where it can be.
pub fn scan_file(mut file: File, delimiter: u8, header: HeaderMode) -> Result<Layout> {
    file.rewind()?;
    let layout = scan_head(&mut file, delimiter, header)?;
    let mut blocks = Blocks::file(file, layout.data_start)?;
    counted(layout, &mut blocks, delimiter)
}

/// [`scan`] for a stream that can be opened again from the top (a compressed file): the header
/// read from `first`, the rows counted from `again`, which starts at the top too.
pub fn scan_reopened(
    first: &mut dyn Read,
    again: Box<dyn Read + Send>,
    delimiter: u8,
    header: HeaderMode,
) -> Result<Layout> {
    let layout = scan_head(first, delimiter, header)?;
    let mut blocks = Blocks::stream(again);
    blocks.ahead(layout.data_start)?;
    blocks.advance(layout.data_start);
    counted(layout, &mut blocks, delimiter)
}

/// [`scan`] without the count, for a run that needs the rows only at its end: the header and
/// column count of the table read from `r`, whose whole length is `len` bytes if it is known,
/// and as `rows` the most rows that many bytes can hold. A row takes at least a byte per
/// column (empty fields and their delimiters, the last one's line end; in a table of one
/// column an empty line is a row, a missing value), less one for a last record without a line
/// end. A stream of unknown length is bounded by `STREAM_ROWS`.
pub fn scan_uncounted(
    r: &mut dyn Read,
    len: Option<u64>,
    delimiter: u8,
    header: HeaderMode,
) -> Result<Layout> {
    let mut layout = scan_head(r, delimiter, header)?;
    layout.rows = match len {
        Some(len) => {
            let data = len.saturating_sub(layout.data_start as u64) as usize;
            (data + 1) / layout.ncols
        }
        None => STREAM_ROWS,
    };
    layout.open_ended = true;
    Ok(layout)
}

/// The rows a stream of unknown length is taken to hold at most: more than any brings (2^48
/// rows take half a pebibyte), few enough that every count of elements fits.
pub const STREAM_ROWS: usize = 1 << 48;

/// The bytes [`scan_head`] reads at most: a record's length, a byte-order mark and a line end.
pub const HEAD_BYTES: u64 = (MAX_LINE + BOM.len() + 2) as u64;

/// `layout` with its rows counted from `blocks`, which start at its first data record.
fn counted(mut layout: Layout, blocks: &mut Blocks, delimiter: u8) -> Result<Layout> {
    // A header without rows is a table of 0 rows, as a Parquet file of 0 rows is (Dask writes
    // such shards for an empty partition).
    layout.rows = count_rows(blocks, layout.data_line, delimiter, layout.ncols)?;
    Ok(layout)
}

/// The header and column count of a table, without counting its rows (`rows` is 0).
fn scan_head(r: &mut dyn Read, delimiter: u8, header: HeaderMode) -> Result<Layout> {
    let first = first_record(r, delimiter)?;
    let numeric = first.fields.iter().all(|f| field_value(f).is_ok());
    let is_header = match header {
        HeaderMode::Present => true,
        HeaderMode::Absent => false,
        HeaderMode::Detect => !numeric,
    };
    let note = (header == HeaderMode::Detect && numeric).then(|| {
        let text: Vec<String> = first
            .fields
            .iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect();
        format!(
            "the first line ({}) holds only numbers, so it was read as data; if it is a header, pass --header (--no-header or -q silences this note)",
            clip(&text.join(&char::from(delimiter).to_string()))
        )
    });
    let names = is_header.then(|| {
        first
            .fields
            .iter()
            .map(|f| String::from_utf8_lossy(number::trim(f)).into_owned())
            .collect()
    });
    let (data_start, data_line) = if is_header {
        (first.next, first.next_line)
    } else {
        (first.start, first.line)
    };
    Ok(Layout {
        names,
        ncols: first.fields.len(),
        rows: 0,
        open_ended: false,
        data_start,
        data_line,
        note,
    })
}

/// Goes through `blocks` in blocks cut at record boundaries and calls `each` with each block,
/// its split into about `pieces` pieces of whole records, and the line it starts on; `each`
/// returns the line ends the block held, or `None` to stop. Stops at the end of the input too.
fn for_each_block(
    blocks: &mut Blocks,
    mut line: u64,
    pieces: usize,
    mut each: impl FnMut(&[u8], &[&[u8]], u64) -> Result<Option<u64>>,
) -> Result<()> {
    let block = block_size();
    let mut want = block;
    loop {
        let (bytes, eof) = blocks.ahead(want)?;
        let Some((end, split)) = frame::cut_pieces(bytes, eof, pieces) else {
            // The start of a record with no end in sight yet.
            ensure!(bytes.len() <= MAX_LINE, "line {line}{}", frame::too_long());
            want = bytes.len() + block / 2;
            continue;
        };
        let Some(lines) = each(&bytes[..end], &split, line)? else {
            return Ok(());
        };
        line += lines;
        blocks.advance(end);
        if eof {
            return Ok(());
        }
        want = block;
    }
}

/// Counts the rows of `blocks` (whose first line is line `line`), checking the records' length.
fn count_rows(blocks: &mut Blocks, line: u64, delimiter: u8, ncols: usize) -> Result<usize> {
    let mut rows = 0;
    let pieces = rayon::current_num_threads() * 4;
    for_each_block(blocks, line, pieces, |_, pieces, line| {
        let counts: Vec<count::Count> = pieces
            .par_iter()
            .map(|p| count::count_piece(p, true, delimiter, ncols))
            .collect();
        let mut lines = 0;
        for c in counts {
            if let Some((at, msg)) = c.error {
                bail!("line {}{msg}", line + lines + at);
            }
            rows += c.rows;
            lines += c.lines;
        }
        Ok(Some(lines))
    })?;
    Ok(rows)
}

/// Which values of each record a reader wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Select {
    /// One column.
    Column(usize),
    /// Every column, row after row.
    All,
    /// These columns, in this order, row after row (`t.csv:p0,p1,p2`).
    Several(Vec<usize>),
}

impl Select {
    /// The row and column of element `index` of a reader of `ncols` columns.
    fn cell(&self, index: usize, ncols: usize) -> (usize, usize) {
        match self {
            Select::Column(c) => (index, *c),
            Select::All => (index / ncols, index % ncols),
            Select::Several(cs) => (index / cs.len(), cs[index % cs.len()]),
        }
    }
}

/// The parsing state shared by all readers of one table.
struct Shared {
    blocks: Blocks<'static>,
    /// The bytes to look at for the next block: more than a block after a record longer than
    /// what was looked at last.
    want: usize,
    line: u64,
    rows_left: usize,
    /// The rows were not counted: running out of input is the end, not an error.
    open_ended: bool,
    ncols: usize,
    delimiter: u8,
    missing: Arc<Missing>,
    selects: Vec<Select>,
    /// Per number reader, its input's name, for the errors found in its column.
    names: Vec<String>,
    queues: Vec<Queue<Vec<f64>>>,
    /// Per text reader, its column and the fields parsed but not yet handed out.
    texts: Vec<(usize, Queue<record::Texts>)>,
}

/// What a piece was parsed into for one reader: its numbers, or its fields as text.
trait Parts: Default {
    fn len(&self) -> usize;
    fn clear(&mut self);
}

impl Parts for Vec<f64> {
    fn len(&self) -> usize {
        Vec::len(self)
    }
    fn clear(&mut self) {
        Vec::clear(self);
    }
}

impl Parts for record::Texts {
    fn len(&self) -> usize {
        record::Texts::len(self)
    }
    fn clear(&mut self) {
        record::Texts::clear(self);
    }
}

/// A reader's parts of the pieces parsed but not yet handed out, kept piece by piece as they
/// were parsed, so that no buffer grows to hold them all. The buffers of pieces handed out are
/// kept for the pieces to come: the same few buffers serve the whole file, rather than a
/// stream of allocations that the allocator's per-thread arenas let grow apart.
struct Queue<P> {
    pieces: VecDeque<P>,
    /// How many items of the first piece were handed out.
    taken: usize,
    /// Items not yet handed out.
    len: usize,
    /// Empty buffers to parse pieces into.
    spare: Vec<P>,
}

impl<P: Parts> Queue<P> {
    fn new() -> Queue<P> {
        Queue {
            pieces: VecDeque::new(),
            taken: 0,
            len: 0,
            spare: Vec::new(),
        }
    }

    /// An empty buffer to parse a piece into.
    fn buffer(&mut self) -> P {
        self.spare.pop().unwrap_or_default()
    }

    fn push(&mut self, piece: P) {
        self.len += piece.len();
        self.pieces.push_back(piece);
    }

    /// Hands the next `n` items (at most `len`) to `each`, as runs of a piece, then drops them.
    fn take(&mut self, mut n: usize, mut each: impl FnMut(&P, std::ops::Range<usize>)) {
        self.len -= n;
        while n > 0 {
            let Some(front) = self.pieces.front() else {
                return;
            };
            let upto = front.len().min(self.taken + n);
            if upto > self.taken {
                each(front, self.taken..upto);
            }
            n -= upto - self.taken;
            self.taken = upto;
            if upto == front.len() {
                if let Some(mut done) = self.pieces.pop_front() {
                    done.clear();
                    self.spare.push(done);
                }
                self.taken = 0;
            }
        }
    }
}

impl Shared {
    /// Parses blocks until `enough` holds; running out of input first is an error, unless the
    /// rows were not counted.
    fn parse_until(&mut self, enough: impl Fn(&Shared) -> bool) -> Result<()> {
        while !enough(self) {
            if self.blocks.done() {
                ensure!(
                    self.open_ended,
                    "the file has fewer rows than when it was counted"
                );
                return Ok(());
            }
            self.parse_block()?;
        }
        Ok(())
    }

    /// Parses the next block into the queues.
    fn parse_block(&mut self) -> Result<()> {
        let (want, selects, texts) = self.columns();
        let (bytes, eof) = self.blocks.ahead(self.want)?;
        let n = rayon::current_num_threads() * 8;
        let Some((end, pieces)) = frame::cut_pieces(bytes, eof, n) else {
            ensure!(
                bytes.len() <= MAX_LINE,
                "line {}{}",
                self.line,
                frame::too_long()
            );
            // No whole record yet: look further before parsing.
            self.want = bytes.len() + block_size();
            return Ok(());
        };
        self.want = block_size();
        ensure!(
            end > 0 || !eof || self.rows_left == 0 || self.open_ended,
            "the file has fewer rows than when it was counted"
        );
        let plan = record::Plan {
            ncols: self.ncols,
            delimiter: self.delimiter,
            missing: &self.missing,
            want: &want,
            selects: &selects,
            texts: &texts,
        };
        let jobs: Vec<_> = pieces
            .into_iter()
            .map(|p| {
                let values = self.queues.iter_mut().map(Queue::buffer).collect();
                let texts = self.texts.iter_mut().map(|(_, q)| q.buffer()).collect();
                (p, values, texts)
            })
            .collect();
        let parsed: Vec<record::Parsed> = jobs
            .into_par_iter()
            .map(|(p, values, texts)| record::parse_piece(p, &plan, values, texts))
            .collect();
        self.queue(parsed)?;
        self.blocks.advance(end);
        Ok(())
    }

    /// What the readers want of each record: per column, whether its numbers are wanted; per
    /// number reader, its column (`None`: all); per text reader, its column.
    fn columns(&self) -> (Vec<bool>, Vec<record::Pick>, Vec<usize>) {
        let mut want = vec![false; self.ncols];
        let selects: Vec<record::Pick> = self
            .selects
            .iter()
            .map(|s| match s {
                Select::Column(c) => record::Pick::One(*c),
                Select::All => record::Pick::All,
                Select::Several(cs) => record::Pick::Several(cs.clone()),
            })
            .collect();
        for s in &self.selects {
            match s {
                Select::Column(c) => want[*c] = true,
                Select::All => want.fill(true),
                Select::Several(cs) => cs.iter().for_each(|&c| want[c] = true),
            }
        }
        let texts = self.texts.iter().map(|(c, _)| *c).collect();
        (want, selects, texts)
    }

    /// The name of the input that reads column `c`: the first reader of it alone, else the
    /// first reader of every column.
    fn owner(&self, c: usize) -> Option<&str> {
        let of = |want: Select| {
            let mut readers = self.selects.iter().zip(&self.names);
            readers.find(|(s, _)| **s == want).map(|(_, n)| n.as_str())
        };
        let several = self.selects.iter().zip(&self.names);
        let mut several =
            several.filter(|(s, _)| matches!(s, Select::Several(cs) if cs.contains(&c)));
        of(Select::Column(c))
            .or_else(|| several.next().map(|(_, n)| n.as_str()))
            .or_else(|| of(Select::All))
    }

    /// Queues the pieces of a block for their readers, in order; the first error wins.
    fn queue(&mut self, parsed: Vec<record::Parsed>) -> Result<()> {
        for piece in parsed {
            if let Some((at, msg)) = piece.error {
                let error = anyhow::anyhow!("line {}{msg}", self.line + at);
                return Err(match piece.column.and_then(|c| self.owner(c)) {
                    Some(name) if !name.is_empty() => error.context(Owner(name.to_string())),
                    _ => error,
                });
            }
            ensure!(
                piece.rows <= self.rows_left,
                "the file has more rows than when it was {}",
                match self.open_ended {
                    true => "opened (it grew while it was read)",
                    false => "counted",
                }
            );
            self.rows_left -= piece.rows;
            self.line += piece.lines;
            for (q, v) in self.queues.iter_mut().zip(piece.values) {
                q.push(v);
            }
            for ((_, q), t) in self.texts.iter_mut().zip(piece.texts) {
                q.push(t);
            }
        }
        Ok(())
    }
}

/// Opens a table's input again from the top: to name the line of a row after the fact.
pub type Reopen = Arc<dyn Fn() -> Result<Box<dyn Read + Send>> + Send + Sync>;

/// The input whose column held a bad value, as the context of the error: the input that read
/// it is not always the one that names it (`-p a.csv:pred -t a.csv:target` parses both columns
/// when pred is read).
#[derive(Debug)]
pub struct Owner(pub String);

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Readers of the columns of one table, which is parsed once for all of them.
pub struct Table {
    shared: Arc<Mutex<Shared>>,
    layout: Arc<Layout>,
    delimiter: u8,
    reopen: Option<Reopen>,
}

impl Table {
    /// Prepares to read the table whose first pass gave `layout`; `reader` starts at the top of
    /// the file.
    pub fn new(reader: Box<dyn Read + Send>, layout: Layout, delimiter: u8) -> Result<Table> {
        let mut blocks = Blocks::stream(reader);
        blocks.ahead(layout.data_start)?;
        blocks.advance(layout.data_start);
        Ok(Table::of(blocks, layout, delimiter))
    }

    /// [`Table::new`] for a file, which is mapped into memory where it can be.
    pub fn of_file(file: File, layout: Layout, delimiter: u8) -> Result<Table> {
        let blocks = Blocks::file(file, layout.data_start)?;
        Ok(Table::of(blocks, layout, delimiter))
    }

    fn of(blocks: Blocks<'static>, layout: Layout, delimiter: u8) -> Table {
        let shared = Shared {
            blocks,
            want: block_size(),
            line: layout.data_line,
            rows_left: layout.rows,
            open_ended: layout.open_ended,
            ncols: layout.ncols,
            delimiter,
            missing: Arc::new(Missing::default()),
            selects: Vec::new(),
            names: Vec::new(),
            queues: Vec::new(),
            texts: Vec::new(),
        };
        Table {
            shared: Arc::new(Mutex::new(shared)),
            layout: Arc::new(layout),
            delimiter,
            reopen: None,
        }
    }

    /// Reads `missing`'s spellings as missing values (by default only pandas' own).
    pub fn missing(self, missing: Missing) -> Table {
        lock(&self.shared).missing = Arc::new(missing);
        self
    }

    /// Lets the readers name the line of an element (see [`Text::locate`]) by reading the
    /// input again with `reopen`.
    pub fn reopen_with(mut self, reopen: Reopen) -> Table {
        self.reopen = Some(reopen);
        self
    }

    /// How an ambiguous first record was read, if it was: a note for the user.
    pub fn note(&self) -> Option<&str> {
        self.layout.note.as_deref()
    }

    /// How an ambiguous key (a number that is also a header name) was read: a note for the user.
    pub fn key_note(&self, key: &str) -> Option<String> {
        self.layout.key_note(key)
    }

    /// A reader of column `key` (name or 1-based number), or of every column without a key.
    pub fn reader(&self, key: Option<&str>) -> Result<CsvSource> {
        self.reader_as(key, String::new())
    }

    /// [`Table::reader`] for the input `name` (`a.csv:target`): a bad value in its column is
    /// reported as that input's, whichever reader found it.
    pub fn reader_as(&self, key: Option<&str>, name: String) -> Result<CsvSource> {
        let (select, shape) = match key {
            Some(k) => match self.layout.columns(k)? {
                cs if cs.len() == 1 => (Select::Column(cs[0]), vec![self.layout.rows]),
                cs => (
                    Select::Several(cs.clone()),
                    vec![self.layout.rows, cs.len()],
                ),
            },
            None if self.layout.ncols == 1 => (Select::All, vec![self.layout.rows]),
            None => (Select::All, vec![self.layout.rows, self.layout.ncols]),
        };
        let mut shared = lock(&self.shared);
        shared.selects.push(select.clone());
        shared.names.push(name);
        shared.queues.push(Queue::new());
        let locator = self.reopen.clone().map(|reopen| Locator {
            reopen,
            layout: self.layout.clone(),
            delimiter: self.delimiter,
            missing: shared.missing.clone(),
            select,
        });
        Ok(CsvSource {
            shared: self.shared.clone(),
            index: shared.queues.len() - 1,
            shape,
            open_ended: self.layout.open_ended,
            read: 0,
            locator,
        })
    }
}

impl Table {
    /// The table's header, column count and rows.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// A reader of column `column` (0-based) as text: each row's field, unquoted, byte for
    /// byte.
    pub fn text_reader(&self, column: usize) -> Result<TextSource> {
        ensure!(column < self.layout.ncols, "no column {}", column + 1);
        let mut shared = lock(&self.shared);
        shared.texts.push((column, Queue::new()));
        Ok(TextSource {
            shared: self.shared.clone(),
            index: shared.texts.len() - 1,
            left: self.layout.rows,
        })
    }
}

/// One column of a table as text, streamed (the keys of `--by`).
pub struct TextSource {
    shared: Arc<Mutex<Shared>>,
    index: usize,
    /// Rows not yet handed out.
    left: usize,
}

impl TextSource {
    /// Appends the next `n` fields to `data`, back to back, and where each ends to `ends`;
    /// fewer only at the end of the table. Returns how many.
    pub fn read_into(
        &mut self,
        n: usize,
        data: &mut Vec<u8>,
        ends: &mut Vec<usize>,
    ) -> Result<usize> {
        let mut shared = lock(&self.shared);
        let index = self.index;
        let n = n.min(self.left);
        shared.parse_until(|s| s.texts[index].1.len >= n)?;
        // Fewer at the end of a table whose rows were not counted.
        let n = n.min(shared.texts[index].1.len);
        self.left -= n;
        // A run of a piece's fields is one copy of its bytes.
        shared.texts[self.index].1.take(n, |t, run| {
            let from = if run.start == 0 {
                0
            } else {
                t.ends[run.start - 1] as usize
            };
            let to = t.ends[run.end - 1] as usize;
            let base = data.len();
            data.extend_from_slice(&t.data[from..to]);
            ends.extend(t.ends[run].iter().map(|&e| base + e as usize - from));
        });
        Ok(n)
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
    /// The rows were not counted: `shape` is an upper bound.
    open_ended: bool,
    /// Elements handed out.
    read: usize,
    locator: Option<Locator>,
}

/// What it takes to find the line of an element again.
struct Locator {
    reopen: Reopen,
    layout: Arc<Layout>,
    delimiter: u8,
    missing: Arc<Missing>,
    select: Select,
}

impl Locator {
    /// The line and column of element `index`, found by reading the table again up to it.
    fn locate(&self, index: usize) -> Result<Position> {
        let (row, col) = self.select.cell(index, self.layout.ncols);
        let mut r = Blocks::stream((self.reopen)()?);
        r.ahead(self.layout.data_start)?;
        r.advance(self.layout.data_start);
        let (mut left, mut found) = (row, None);
        for_each_block(&mut r, self.layout.data_line, 1, |block, _, mut line| {
            let mut i = 0;
            while i < block.len() {
                let (end, next) = record_end(block, i, false).context("unterminated quote")?;
                let raw = &block[i..end];
                if !skipped(raw, self.delimiter, self.layout.ncols) {
                    if left == 0 {
                        let fields = record::tokenize_all(raw, self.delimiter)
                            .map_err(|(_, msg)| anyhow::anyhow!("{msg}"))?;
                        let nan = fields
                            .get(col)
                            .is_some_and(|f| self.missing.value(f).is_ok_and(f64::is_nan));
                        found = Some((line + record::field_line(raw, col, self.delimiter), nan));
                        return Ok(None);
                    }
                    left -= 1;
                }
                line += count_lines(&block[i..next]);
                i = next;
            }
            Ok(Some(count_lines(block)))
        })?;
        let (line, nan) = found.context("the file has fewer rows than when it was counted")?;
        Ok(Position {
            text: format!("line {line}, column {}", col + 1),
            nan,
        })
    }
}

impl Locator {
    /// The lines on which the records of elements `indices` (ascending) start, found by reading
    /// the table again up to the last of them.
    fn lines(&self, indices: &[usize]) -> Result<Vec<u64>> {
        self.rows_of(indices, |_, line| Ok(line))
    }

    /// The text of column `column` in the rows of elements `indices` (ascending).
    fn fields(&self, column: usize, indices: &[usize]) -> Result<Vec<String>> {
        self.rows_of(indices, |raw, _| {
            let fields = record::tokenize_all(raw, self.delimiter)
                .map_err(|(_, msg)| anyhow::anyhow!("{msg}"))?;
            let field = fields.get(column).map(Vec::as_slice).unwrap_or_default();
            Ok(String::from_utf8_lossy(field).into_owned())
        })
    }

    /// `each` of the record (its bytes, and the line it starts on) of every element of
    /// `indices` (ascending), found by reading the table again up to the last of them.
    fn rows_of<T>(
        &self,
        indices: &[usize],
        each: impl Fn(&[u8], u64) -> Result<T>,
    ) -> Result<Vec<T>> {
        let row_of = |i: usize| self.select.cell(i, self.layout.ncols).0;
        let mut r = Blocks::stream((self.reopen)()?);
        r.ahead(self.layout.data_start)?;
        r.advance(self.layout.data_start);
        let mut lines = Vec::with_capacity(indices.len());
        let mut row = 0;
        for_each_block(&mut r, self.layout.data_line, 1, |block, _, mut line| {
            let mut i = 0;
            while i < block.len() && lines.len() < indices.len() {
                let (end, next) = record_end(block, i, false).context("unterminated quote")?;
                if !skipped(&block[i..end], self.delimiter, self.layout.ncols) {
                    while lines.len() < indices.len() && row_of(indices[lines.len()]) == row {
                        lines.push(each(&block[i..end], line)?);
                    }
                    row += 1;
                }
                line += count_lines(&block[i..next]);
                i = next;
            }
            Ok((lines.len() < indices.len()).then(|| count_lines(block)))
        })?;
        ensure!(
            lines.len() == indices.len(),
            "the file has fewer rows than when it was counted"
        );
        Ok(lines)
    }
}

impl Source for CsvSource {
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn dtype(&self) -> Dtype {
        Dtype::F64
    }
    fn read(&mut self, out: Buf<'_>) -> Result<()> {
        let want = out.len();
        let n = self.read_upto(out)?;
        ensure!(
            n == want,
            "the file has fewer rows than when it was counted"
        );
        Ok(())
    }
    fn open_ended(&self) -> bool {
        self.open_ended
    }
    fn read_upto(&mut self, mut out: Buf<'_>) -> Result<usize> {
        let mut shared = lock(&self.shared);
        let (index, want) = (self.index, out.len());
        shared.parse_until(|s| s.queues[index].len >= want)?;
        let n = want.min(shared.queues[index].len);
        let mut at = 0;
        shared.queues[self.index].take(n, |v, run| {
            out.copy_at(at, &v[run.clone()]);
            at += run.len();
        });
        self.read += n;
        Ok(n)
    }
    fn text(&self) -> Option<&dyn Text> {
        Some(self)
    }
}

impl Text for CsvSource {
    fn locate(&self, index: usize) -> Option<Position> {
        self.locator.as_ref()?.locate(index).ok()
    }
    fn lines(&self, indices: &[usize]) -> Option<Result<Vec<u64>>> {
        Some(self.locator.as_ref()?.lines(indices))
    }
    fn parses_on_pool(&self) -> bool {
        true
    }
    fn has_field(&self, key: &str) -> bool {
        self.locator
            .as_ref()
            .is_some_and(|l| l.layout.column(key).is_ok())
    }
    fn fields(&self, key: &str, indices: &[usize]) -> Option<Result<Vec<String>>> {
        let locator = self.locator.as_ref()?;
        Some(
            locator
                .layout
                .column(key)
                .and_then(|c| locator.fields(c, indices)),
        )
    }
}

#[cfg(test)]
mod tests;
