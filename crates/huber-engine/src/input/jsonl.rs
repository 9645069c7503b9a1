//! JSON Lines (NDJSON): one JSON object per line, as pandas (`to_json(orient="records",
//! lines=True)`), polars (`write_ndjson`) and DuckDB (`COPY … (FORMAT json)`) write it.
//!
//! A table is read as a CSV table is: in blocks cut at line ends (mapped windows of a file, or a
//! stream's buffer), each block split into pieces parsed on all cores, once for every input that
//! names a field of it (`-p f.jsonl:pred -t f.jsonl:target --by f.jsonl:id`). A KEY is a field,
//! or a dotted path into nested objects; only the selected fields are parsed (see `scan`).
//! A line break cannot occur inside a JSON string, so every line end is a record boundary.

mod scan;

use std::collections::VecDeque;
use std::fs::File;
use std::io::Read;
use std::sync::{Arc, Mutex, MutexGuard};

use anyhow::{Context, Result, bail, ensure};
use rayon::prelude::*;

use super::csv::blocks::Blocks;
use super::csv::{MAX_LINE, Owner, Reopen, STREAM_ROWS};
use super::{Buf, Position, Source, Text};
use crate::dtype::Dtype;
pub(crate) use scan::Kind;
use scan::{Bad, Fields, Layout, Row, clip, is_blank};

/// Bytes read per block: 4 MiB, or 64 in unit tests, so that small inputs are cut into many
/// blocks and lines cross block ends.
const BLOCK: usize = if cfg!(test) { 64 } else { 4 << 20 };

/// The field of [`Table::row_reader`]: a name no writer gives a field.
const ROWS_KEY: &str = "\0rows";

/// The parsing state shared by all readers of one table.
struct Shared {
    blocks: Blocks<'static>,
    want: usize,
    /// The 1-based line at the start of `blocks`.
    line: u64,
    rows_left: usize,
    open_ended: bool,
    /// The selected fields: the KEY, and what it is read as. Readers of one KEY share a slot.
    slots: Vec<(String, Kind)>,
    /// Per number reader: its slots (several for `a,b,c`, read row after row), its input's
    /// name and the values parsed but not handed out.
    numbers: Vec<(Vec<usize>, String, VecDeque<f64>)>,
    /// Per text reader: its slot, the texts parsed but not handed out (bytes, lengths), and its
    /// input's name.
    texts: Vec<(usize, VecDeque<u8>, VecDeque<usize>, String)>,
    /// Per slot, whether a line read so far has its field; and the rows read so far.
    found: Vec<bool>,
    rows: usize,
}

/// What a piece of lines was parsed into.
struct Parsed {
    /// Per slot, the numbers of its rows (empty for a text slot).
    values: Vec<Vec<f64>>,
    /// Per slot, the texts of its rows, back to back, and their lengths.
    texts: Vec<(Vec<u8>, Vec<usize>)>,
    rows: usize,
    lines: u64,
    /// Per slot, whether a line of the piece has its field.
    found: Vec<bool>,
    /// The line (from the piece's start) and error of the first bad line.
    error: Option<(u64, Bad)>,
}

/// A line without the UTF-8 byte-order mark a Windows editor puts before the first (CSV skips
/// it too); JSON itself has no use for one anywhere.
fn unmarked(line: &[u8]) -> &[u8] {
    line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line)
}

fn parse_piece(piece: &[u8], fields: &Fields) -> Parsed {
    let mut out = Parsed {
        values: vec![Vec::new(); fields.len()],
        texts: vec![(Vec::new(), Vec::new()); fields.len()],
        rows: 0,
        lines: 0,
        found: vec![false; fields.len()],
        error: None,
    };
    let mut unfound = fields.len();
    let mut row = Row::new(fields);
    let mut layout = Layout::default();
    let mut start = 0;
    while start < piece.len() {
        let end = memchr::memchr(b'\n', &piece[start..]).map_or(piece.len(), |k| start + k);
        let line = unmarked(&piece[start..end]);
        start = end + 1;
        let at = out.lines;
        out.lines += 1;
        if is_blank(line) {
            continue;
        }
        if let Err(e) = layout.line(line, fields, &mut row) {
            out.error = Some((at, e));
            return out;
        }
        out.rows += 1;
        if unfound > 0 {
            for (s, found) in out.found.iter_mut().enumerate() {
                if !*found && row.found(s) {
                    *found = true;
                    unfound -= 1;
                }
            }
        }
        for (s, kind) in fields.kinds().iter().enumerate() {
            match kind {
                Kind::Number => out.values[s].push(row.values[s]),
                Kind::Text => {
                    out.texts[s].0.extend_from_slice(&row.texts[s]);
                    out.texts[s].1.push(row.texts[s].len());
                }
            }
        }
    }
    out
}

/// Reads `lines` one after another through one [`Layout`], as a piece is read, and each alone
/// with the full scanner, for `keys` (a name, and whether it is read as text); panics where the
/// two differ in values, texts, fields found or error. For the `jsonl` fuzz target.
#[doc(hidden)]
pub fn check_layout(keys: &[(String, bool)], lines: &[&[u8]]) {
    let keys: Vec<(String, Kind)> = keys
        .iter()
        .map(|(k, text)| (k.clone(), if *text { Kind::Text } else { Kind::Number }))
        .collect();
    let fields = Fields::new(&keys);
    let mut layout = Layout::default();
    let (mut alone, mut by_layout) = (Row::new(&fields), Row::new(&fields));
    for line in lines {
        let want = scan::line(line, &fields, &mut alone).map_err(|b| (b.slot, b.message));
        let got = layout
            .line(line, &fields, &mut by_layout)
            .map_err(|b| (b.slot, b.message));
        assert_eq!(want, got, "{}", String::from_utf8_lossy(line));
        if want.is_ok() {
            let bits = |r: &Row| r.values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(&alone),
                bits(&by_layout),
                "{}",
                String::from_utf8_lossy(line)
            );
            assert_eq!(
                alone.texts,
                by_layout.texts,
                "{}",
                String::from_utf8_lossy(line)
            );
            let found = |r: &Row| (0..fields.len()).map(|s| r.found(s)).collect::<Vec<_>>();
            assert_eq!(
                found(&alone),
                found(&by_layout),
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }
}

/// The end of the last whole line of `bytes` (after its line end), or of all of them at the
/// end of the input; `None` when no line has ended yet.
fn whole_lines(bytes: &[u8], eof: bool) -> Option<usize> {
    if eof {
        return Some(bytes.len());
    }
    memchr::memrchr(b'\n', bytes).map(|i| i + 1)
}

/// Splits whole lines into about `n` pieces at line ends.
fn pieces(block: &[u8], n: usize) -> Vec<&[u8]> {
    let target = block.len() / n.max(1) + 1;
    let mut out = Vec::with_capacity(n + 1);
    let mut start = 0;
    while start < block.len() {
        let want = (start + target).min(block.len());
        let end = match memchr::memchr(b'\n', &block[want - 1..]) {
            Some(k) => want + k,
            None => block.len(),
        };
        out.push(&block[start..end]);
        start = end;
    }
    out
}

impl Shared {
    /// Parses the next block into the readers' queues.
    fn parse_block(&mut self) -> Result<()> {
        let fields = Fields::new(&self.slots);
        let (bytes, eof) = self.blocks.ahead(self.want)?;
        let Some(end) = whole_lines(bytes, eof) else {
            ensure!(
                bytes.len() <= MAX_LINE,
                "line {}: a line is longer than {} MiB",
                self.line,
                MAX_LINE >> 20
            );
            self.want = bytes.len() + BLOCK;
            return Ok(());
        };
        self.want = BLOCK;
        let n = rayon::current_num_threads() * 8;
        let parsed: Vec<Parsed> = pieces(&bytes[..end], n)
            .into_par_iter()
            .map(|p| parse_piece(p, &fields))
            .collect();
        for piece in parsed {
            self.queue(piece)?;
        }
        self.blocks.advance(end);
        Ok(())
    }

    fn queue(&mut self, piece: Parsed) -> Result<()> {
        if let Some((at, bad)) = piece.error {
            let line = self.line + at;
            return Err(match bad.slot {
                Some(s) => {
                    let error = anyhow::anyhow!(
                        "line {line}, field '{}': {}",
                        clip(&self.slots[s].0),
                        bad.message
                    );
                    match self.numbers.iter().find(|(slots, _, _)| slots.contains(&s)) {
                        Some((_, name, _)) if !name.is_empty() => {
                            error.context(Owner(name.clone()))
                        }
                        _ => error,
                    }
                }
                None => anyhow::anyhow!("line {line}: {}", bad.message),
            });
        }
        ensure!(
            piece.rows <= self.rows_left,
            "the file has more rows than when it was counted"
        );
        self.rows_left -= piece.rows;
        self.rows += piece.rows;
        self.line += piece.lines;
        self.found.resize(piece.found.len(), false);
        for (all, piece) in self.found.iter_mut().zip(&piece.found) {
            *all |= piece;
        }
        for (slots, _, queue) in &mut self.numbers {
            match slots[..] {
                [slot] => queue.extend(&piece.values[slot]),
                _ => {
                    for row in 0..piece.rows {
                        queue.extend(slots.iter().map(|&s| piece.values[s][row]));
                    }
                }
            }
        }
        for (slot, data, lens, _) in &mut self.texts {
            data.extend(&piece.texts[*slot].0);
            lens.extend(&piece.texts[*slot].1);
        }
        if !self.open_ended && self.rows_left == 0 {
            // Every counted row is read: readers ask for no more, so the end is not reached.
            self.check_found()?;
        }
        Ok(())
    }

    /// Parses blocks until `enough` holds or the input ends.
    fn parse_until(&mut self, enough: impl Fn(&Shared) -> bool) -> Result<()> {
        while !enough(self) {
            if self.blocks.done() {
                ensure!(
                    self.open_ended || self.rows_left == 0,
                    "the file has fewer rows than when it was counted"
                );
                return self.check_found();
            }
            self.parse_block()?;
        }
        Ok(())
    }

    /// Refuses a field that no line has: a field missing from some lines is missing there, but
    /// one missing from every line is a misspelt name (CSV and Parquet refuse a column they do
    /// not have), not data to read as all missing.
    fn check_found(&self) -> Result<()> {
        if self.rows == 0 {
            return Ok(());
        }
        let missing = (0..self.slots.len())
            .find(|&s| !self.found.get(s).copied().unwrap_or(false) && self.slots[s].0 != ROWS_KEY);
        let Some(s) = missing else {
            return Ok(());
        };
        let error = anyhow::anyhow!(
            "no line has a field '{}' (of {} lines with data): is the name right?",
            clip(&self.slots[s].0),
            self.rows
        );
        let numbers = self
            .numbers
            .iter()
            .map(|(slots, name, _)| (slots.contains(&s), name));
        let texts = self
            .texts
            .iter()
            .map(|(slot, _, _, name)| (*slot == s, name));
        Err(match numbers.chain(texts).find(|(ours, _)| *ours) {
            Some((_, name)) if !name.is_empty() => error.context(Owner(name.clone())),
            _ => error,
        })
    }

    /// The slot of `key` read as `kind`, added if it is new.
    fn slot(&mut self, key: &str, kind: Kind) -> usize {
        let at = self.slots.iter().position(|(k, t)| k == key && *t == kind);
        at.unwrap_or_else(|| {
            self.slots.push((key.to_string(), kind));
            self.slots.len() - 1
        })
    }
}

fn lock(m: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Readers of the fields of one JSON Lines table, which is parsed once for all of them.
pub struct Table {
    shared: Arc<Mutex<Shared>>,
    rows: usize,
    open_ended: bool,
    reopen: Option<Reopen>,
}

impl Table {
    /// The table read from `blocks`; `rows` counted (see [`count`]) or, without a count, an
    /// upper bound from the input's length (`None`: a stream of unknown length).
    fn of(blocks: Blocks<'static>, rows: Rows) -> Result<Table> {
        let (rows, open_ended) = match rows {
            // No object (pandas writes an empty frame as a line end, polars as nothing): a
            // table of no rows, as a CSV file of a header alone, so an empty shard counts 0.
            Rows::Counted(n) => (n, false),
            // The shortest row, `{}`, takes two bytes and a line end.
            Rows::Length(Some(len)) => ((len as usize).div_ceil(3).max(1), true),
            Rows::Length(None) => (STREAM_ROWS, true),
        };
        let shared = Shared {
            blocks,
            want: BLOCK,
            line: 1,
            rows_left: rows,
            open_ended,
            slots: Vec::new(),
            numbers: Vec::new(),
            texts: Vec::new(),
            found: Vec::new(),
            rows: 0,
        };
        Ok(Table {
            shared: Arc::new(Mutex::new(shared)),
            rows,
            open_ended,
            reopen: None,
        })
    }

    /// The table of a stream, read from where it stands (its rows counted first if `rows`
    /// says so: then it must be a stream that can be read again, see [`Table::reopen_with`]).
    pub fn stream(reader: Box<dyn Read + Send>, rows: Rows) -> Result<Table> {
        Table::of(Blocks::stream(reader), rows)
    }

    /// The table of a file, mapped into memory where it can be.
    pub fn file(file: File, rows: Rows) -> Result<Table> {
        Table::of(Blocks::file(file, 0)?, rows)
    }

    /// Lets the readers name the line of an element by reading the input again with `reopen`.
    pub fn reopen_with(mut self, reopen: Reopen) -> Table {
        self.reopen = Some(reopen);
        self
    }

    /// The rows (an upper bound if the table is open-ended).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// A reader of the field `key` as numbers, for the input `name` (`f.jsonl:target`); a
    /// KEY of several fields (`p0,p1,p2`) reads them as one `(rows, k)` array.
    pub fn reader(&self, key: Option<&str>, name: String) -> Result<JsonSource> {
        let Some(key) = key else {
            bail!("a JSON Lines input needs a field: give it as PATH:FIELD (a.b for a nested one)");
        };
        let keys: Vec<&str> = key.split(',').collect();
        ensure!(
            keys.iter().all(|k| !k.is_empty()),
            "'{}' names an empty field",
            clip(key)
        );
        let mut shared = lock(&self.shared);
        let slots: Vec<usize> = keys.iter().map(|k| shared.slot(k, Kind::Number)).collect();
        let shape = match keys.len() {
            1 => vec![self.rows],
            k => vec![self.rows, k],
        };
        shared.numbers.push((slots, name, VecDeque::new()));
        Ok(JsonSource {
            shared: self.shared.clone(),
            index: shared.numbers.len() - 1,
            shape,
            open_ended: self.open_ended,
            locator: self.reopen.clone().map(|reopen| Locator {
                reopen,
                keys: keys.iter().map(|k| k.to_string()).collect(),
            }),
        })
    }

    /// Whether the rows are a bound, not a count (see [`Table::rows`]).
    pub fn open_ended(&self) -> bool {
        self.open_ended
    }

    /// A reader that gives one (empty) text a row, as the rows are parsed: for the rows of a
    /// table whose rows are not counted (a hive partition key is one value for each). It reads a
    /// field no line is expected to have, exempt from [`Shared::check_found`].
    pub fn row_reader(&self, name: String) -> Result<JsonKeys> {
        self.key_reader(Some(ROWS_KEY), name)
    }

    /// A reader of the field `key` as text: the keys of `--by`; `name` names its input in
    /// messages.
    pub fn key_reader(&self, key: Option<&str>, name: String) -> Result<JsonKeys> {
        let Some(key) = key else {
            bail!("a JSON Lines key input needs a field: give it as PATH:FIELD");
        };
        let mut shared = lock(&self.shared);
        let slot = shared.slot(key, Kind::Text);
        shared
            .texts
            .push((slot, VecDeque::new(), VecDeque::new(), name));
        Ok(JsonKeys {
            shared: self.shared.clone(),
            index: shared.texts.len() - 1,
            left: self.rows,
        })
    }
}

/// How many rows a table has: counted by [`count`], or bounded by the input's length.
pub enum Rows {
    /// Counted before the read.
    Counted(usize),
    /// Not counted: the input's length in bytes, if known.
    Length(Option<u64>),
}

/// Counts the rows (lines that are not blank) of `blocks`, on all cores; a line longer than
/// [`MAX_LINE`] is an error.
pub fn count(mut blocks: Blocks<'_>) -> Result<usize> {
    let (mut rows, mut line, mut want) = (0, 1u64, BLOCK);
    loop {
        let (bytes, eof) = blocks.ahead(want)?;
        let Some(end) = whole_lines(bytes, eof) else {
            ensure!(
                bytes.len() <= MAX_LINE,
                "line {line}: a line is longer than {} MiB",
                MAX_LINE >> 20
            );
            want = bytes.len() + BLOCK;
            continue;
        };
        want = BLOCK;
        let n = rayon::current_num_threads() * 4;
        let counts: Vec<(usize, u64)> = pieces(&bytes[..end], n)
            .par_iter()
            .map(|p| {
                let lines = p.split(|&c| c == b'\n');
                let rows = lines.filter(|l| !is_blank(l)).count();
                (rows, memchr::memchr_iter(b'\n', p).count() as u64)
            })
            .collect();
        for (r, l) in counts {
            rows += r;
            line += l;
        }
        blocks.advance(end);
        if eof {
            return Ok(rows);
        }
    }
}

/// Counts the rows of a file.
pub fn count_file(file: File) -> Result<usize> {
    count(Blocks::file(file, 0)?)
}

/// Counts the rows of a stream.
pub fn count_stream(reader: Box<dyn Read + Send>) -> Result<usize> {
    count(Blocks::stream(reader))
}

/// One field of a table as numbers, streamed.
pub struct JsonSource {
    shared: Arc<Mutex<Shared>>,
    index: usize,
    shape: Vec<usize>,
    open_ended: bool,
    locator: Option<Locator>,
}

impl Source for JsonSource {
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
        shared.parse_until(|s| s.numbers[index].2.len() >= want)?;
        let queue = &mut shared.numbers[index].2;
        let n = want.min(queue.len());
        let (a, b) = queue.as_slices();
        let first = n.min(a.len());
        out.copy_at(0, &a[..first]);
        out.copy_at(first, &b[..n - first]);
        queue.drain(..n);
        Ok(n)
    }
    fn text(&self) -> Option<&dyn Text> {
        Some(self)
    }
}

impl Text for JsonSource {
    fn locate(&self, index: usize) -> Option<Position> {
        self.locator.as_ref()?.locate(index).ok()
    }
    fn lines(&self, indices: &[usize]) -> Option<Result<Vec<u64>>> {
        Some(self.locator.as_ref()?.lines(indices))
    }
    fn parses_on_pool(&self) -> bool {
        true
    }
    fn has_field(&self, _key: &str) -> bool {
        // Any line may hold any field: `fields` finds out.
        self.locator.is_some()
    }
    fn fields(&self, key: &str, indices: &[usize]) -> Option<Result<Vec<String>>> {
        Some(self.locator.as_ref()?.fields(key, indices))
    }
}

/// What it takes to find the line of a row again.
struct Locator {
    reopen: Reopen,
    /// The fields read, one per element of a row.
    keys: Vec<String>,
}

impl Locator {
    /// Calls `each` with every row's line (1-based) and bytes, in order, until it returns false.
    fn rows(&self, mut each: impl FnMut(u64, &[u8]) -> bool) -> Result<()> {
        let mut blocks = Blocks::stream((self.reopen)()?);
        let (mut line, mut want) = (1u64, BLOCK);
        loop {
            let (bytes, eof) = blocks.ahead(want)?;
            let Some(end) = whole_lines(bytes, eof) else {
                want = bytes.len() + BLOCK;
                continue;
            };
            want = BLOCK;
            for l in bytes[..end].split(|&c| c == b'\n') {
                if !is_blank(l) && !each(line, unmarked(l)) {
                    return Ok(());
                }
                line += 1;
            }
            // The split sees an empty line after the block's last line end.
            line -= 1;
            blocks.advance(end);
            if eof {
                bail!("the file has fewer rows than when it was counted");
            }
        }
    }

    fn locate(&self, index: usize) -> Result<Position> {
        let k = self.keys.len();
        let key = &self.keys[index % k];
        let (mut left, mut found) = (index / k, None);
        let fields = Fields::new(&[(key.clone(), Kind::Number)]);
        self.rows(|line, bytes| {
            if left > 0 {
                left -= 1;
                return true;
            }
            let mut row = Row::new(&fields);
            let nan = scan::line(bytes, &fields, &mut row).is_ok() && row.values[0].is_nan();
            found = Some((line, nan));
            false
        })?;
        let (line, nan) = found.context("the file has fewer rows than when it was counted")?;
        Ok(Position {
            text: format!("line {line}, field '{}'", clip(key)),
            nan,
        })
    }

    fn lines(&self, indices: &[usize]) -> Result<Vec<u64>> {
        let rows: Vec<usize> = indices.iter().map(|i| i / self.keys.len()).collect();
        self.rows_of(&rows, |line, _| line)
    }

    /// The text of field `key` in the rows `indices` (ascending): a string's contents, a
    /// number's text; an error if none of them has the field.
    fn fields(&self, key: &str, indices: &[usize]) -> Result<Vec<String>> {
        let fields = Fields::new(&[(key.to_string(), Kind::Text)]);
        let rows: Vec<usize> = indices.iter().map(|i| i / self.keys.len()).collect();
        let texts = self.rows_of(&rows, |_, bytes| {
            let mut row = Row::new(&fields);
            match scan::line(bytes, &fields, &mut row) {
                Ok(()) => Some(String::from_utf8_lossy(&row.texts[0]).into_owned()),
                Err(_) => None,
            }
        })?;
        ensure!(
            indices.is_empty()
                || texts
                    .iter()
                    .any(|t| t.as_ref().is_some_and(|t| !t.is_empty())),
            "no row listed has a field '{}'",
            clip(key)
        );
        Ok(texts.into_iter().map(Option::unwrap_or_default).collect())
    }

    /// `each` of the line number and bytes of the rows `indices` (ascending).
    fn rows_of<T>(&self, indices: &[usize], each: impl Fn(u64, &[u8]) -> T) -> Result<Vec<T>> {
        let mut out = Vec::with_capacity(indices.len());
        let mut row = 0;
        if indices.is_empty() {
            return Ok(out);
        }
        self.rows(|line, bytes| {
            while out.len() < indices.len() && indices[out.len()] == row {
                out.push(each(line, bytes));
            }
            row += 1;
            out.len() < indices.len()
        })?;
        Ok(out)
    }
}

/// One field of a table as text, streamed (the keys of `--by`): a string's contents, a
/// number's or bool's text as written, nothing for `null` or a missing field.
pub struct JsonKeys {
    shared: Arc<Mutex<Shared>>,
    index: usize,
    left: usize,
}

impl JsonKeys {
    /// Appends the next `n` keys to `data`, back to back, and where each ends to `ends`;
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
        shared.parse_until(|s| s.texts[index].2.len() >= n)?;
        let (_, bytes, lens, _) = &mut shared.texts[index];
        let n = n.min(lens.len());
        for len in lens.drain(..n) {
            data.extend(bytes.drain(..len));
            ends.push(data.len());
        }
        self.left -= n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests;
