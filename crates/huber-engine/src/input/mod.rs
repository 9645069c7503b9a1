//! Inputs: what `--pred`, `--target` and `--weight` name, and readers that stream their
//! elements in C order.

mod ahead;
pub mod columnar;
mod compressed;
pub mod csv;
mod dataset;
pub mod decode;
mod held;
pub mod jsonl;
pub mod keys;
mod mapped;
mod memory;
pub mod npy;
pub mod npz;

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs::File;
use std::io::{self, Cursor, Read};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail, ensure};

pub use self::csv::{CsvOptions, HeaderMode};
use self::held::{Held, hold};
pub use self::memory::MemoryArray;
use self::npy::NpySource;
pub use self::npy::Window;
pub use crate::array::Buf;
use crate::dtype::Dtype;
use crate::message::io_reason;
use huber_core::Error as UsageError;

/// A stream of an array's elements in C order, converted to the compute float on the way.
pub trait Source: Send {
    /// The array's shape.
    fn shape(&self) -> &[usize];
    /// The element type as stored.
    fn dtype(&self) -> Dtype;
    /// Fills `out` with the next `out.len()` elements.
    fn read(&mut self, out: Buf<'_>) -> Result<()>;
    /// Whether the first axis of [`Source::shape`] is only an upper bound: a CSV table whose
    /// rows were not counted before the run (see `Opener::count_rows`). Then
    /// [`Source::read_upto`] says where it ends.
    fn open_ended(&self) -> bool {
        false
    }
    /// Fills the start of `out` with the next elements, as many as there are up to
    /// `out.len()`, and returns how many: fewer only at the end of an open-ended input.
    fn read_upto(&mut self, out: Buf<'_>) -> Result<usize> {
        let n = out.len();
        self.read(out)?;
        Ok(n)
    }
    /// Called after the last element: checks what can only be checked at the end (an archive
    /// member's CRC).
    fn finish(&mut self) -> Result<()> {
        Ok(())
    }
    /// A reader of the elements by index from any thread, where the input allows it (a regular
    /// NPY file): then each chunk is read where it is computed, while it is in the cache.
    fn positional(&self) -> Option<Box<dyn ReadAt>> {
        None
    }
    /// What only a text table can do (see [`Text`]): `None` for any other input.
    fn text(&self) -> Option<&dyn Text> {
        None
    }
    /// Starts decoding ahead of the first read, where the reader decodes on threads of its own
    /// (a Parquet file): a dataset calls it on its next file while the current one is read.
    fn prefetch(&mut self) {}
    /// Tells a reader that decodes on threads of its own that it is one file of a dataset, whose
    /// next file decodes beside it: a small file then takes one thread, not all of them.
    fn in_dataset(&mut self) {}
}

/// The capabilities of a source parsed from a text table (a CSV column): elements that have
/// lines and columns, parsed on the engine's thread pool. A Parquet or Arrow column has only the
/// other columns of its rows ([`Text::fields`], for `--id`): no lines, no parse on the pool.
pub trait Text {
    /// Where element `index` (flat, C order) is in the input, for a message: a line and
    /// column. `None` where a position says nothing more than the index.
    fn locate(&self, index: usize) -> Option<Position>;
    /// The 1-based lines of the file on which the records holding elements `indices` (flat,
    /// C order, ascending) start, found by reading the input again: `None` where it cannot be
    /// read again (standard input).
    fn lines(&self, indices: &[usize]) -> Option<Result<Vec<u64>>>;
    /// The file that holds each of elements `indices` (flat, C order, ascending), for an input
    /// that is a dataset of files; `None` for one file.
    fn files(&self, indices: &[usize]) -> Option<Vec<String>> {
        let _ = indices;
        None
    }
    /// Whether reads parse on the engine's thread pool, under a lock that other inputs of the
    /// same file share: then inputs are read one after another, because a pool thread waiting
    /// for that lock could not help with the parse.
    fn parses_on_pool(&self) -> bool;
    /// Whether the table has a column (CSV, Parquet, Arrow) or may have a field (JSON Lines)
    /// named `key`.
    fn has_field(&self, key: &str) -> bool {
        let _ = key;
        false
    }
    /// The text of column `key` in the rows of elements `indices` (flat, C order, ascending),
    /// found by reading the input again: `None` where it cannot be read again.
    fn fields(&self, key: &str, indices: &[usize]) -> Option<Result<Vec<String>>> {
        let _ = (key, indices);
        None
    }
}

/// Reads elements by their flat C-order index (see [`Source::positional`]).
pub trait ReadAt: Send + Sync {
    /// Fills `out` with the elements from `index` on.
    fn read_at(&self, index: usize, out: Buf<'_>) -> Result<()>;
    /// The elements `index..index + len` where they lie in the file, mapped into memory without
    /// a copy, when they are stored as `native` (the compute type in this machine's byte order)
    /// and aligned for it; `None` where they are not, or the mapping fails: then
    /// [`ReadAt::read_at`] reads and converts them.
    fn window(&self, index: usize, len: usize, native: Dtype) -> Option<Window> {
        let _ = (index, len, native);
        None
    }
}

/// Where an element is in its input (see [`Text::locate`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// The place, for a message (`data.csv:pred: line 7, column 2`).
    pub text: String,
    /// Whether the value there is NaN or missing.
    pub nan: bool,
}

/// Where an input comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Location {
    /// Standard input (`-`).
    Stdin,
    /// A file.
    Path(PathBuf),
    /// An array in memory.
    Array(MemoryArray),
}

/// The name of the input for a message: the file's path, or [`STDIN`](crate::message::STDIN).
impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Stdin => f.write_str(crate::message::STDIN),
            Location::Path(p) => write!(f, "{}", p.display()),
            Location::Array(a) => f.write_str(&a.name()),
        }
    }
}

/// `PATH`, `PATH:KEY`, `-` or `-:KEY`, as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputSpec {
    /// The file or stdin.
    pub location: Location,
    /// An NPZ array name or a CSV column (name or 1-based number).
    pub key: Option<String>,
}

impl InputSpec {
    /// An array in memory as an input.
    pub fn array(array: MemoryArray) -> InputSpec {
        InputSpec {
            location: Location::Array(array),
            key: None,
        }
    }

    /// Splits an argument into location and key. A path that exists as written is taken whole,
    /// even if it holds a colon; otherwise the longest part before a colon that names a file,
    /// folder or glob matches is the path and the rest the key (which may hold colons), and
    /// where none does, the text after the last colon is the key.
    pub fn parse(arg: &OsStr) -> Result<InputSpec, UsageError> {
        let bytes = arg.as_bytes();
        if bytes.is_empty() {
            return Err(UsageError::invalid_argument("an input name is empty"));
        }
        if bytes == b"-" {
            return Ok(InputSpec {
                location: Location::Stdin,
                key: None,
            });
        }
        if Path::new(arg).exists() {
            return Ok(InputSpec {
                location: Location::Path(arg.into()),
                key: None,
            });
        }
        // The longest prefix before a colon that names something is the path: a column
        // `pred:xgb` of `a.csv` is `a.csv:pred:xgb`, unless a file `a.csv:pred` exists.
        let colons = bytes.iter().enumerate().filter(|(_, c)| **c == b':');
        let mut colons: Vec<usize> = colons.map(|(i, _)| i).collect();
        colons.reverse();
        let names_something = |i: usize| {
            let path = Path::new(OsStr::from_bytes(&bytes[..i]));
            path.exists() || (dataset::is_pattern(path) && dataset::matches_any(path))
        };
        let found = colons.iter().copied().find(|&i| names_something(i));
        let Some(colon) = found.or(colons.first().copied()) else {
            return Ok(InputSpec {
                location: Location::Path(arg.into()),
                key: None,
            });
        };
        let (path, key) = (&bytes[..colon], &bytes[colon + 1..]);
        let key = String::from_utf8(key.to_vec()).map_err(|_| {
            UsageError::invalid_argument(format!(
                "'{}': the KEY after the last ':' is not valid UTF-8",
                arg.to_string_lossy()
            ))
        })?;
        if key.is_empty() {
            return Err(UsageError::invalid_argument(format!(
                "'{}' ends in ':' but names no KEY",
                arg.to_string_lossy()
            )));
        }
        let location = match path {
            b"-" => Location::Stdin,
            b"" => {
                return Err(UsageError::invalid_argument(format!(
                    "'{}' names no file before ':'",
                    arg.to_string_lossy()
                )));
            }
            _ => Location::Path(PathBuf::from(OsString::from_vec(path.to_vec()))),
        };
        Ok(InputSpec {
            location,
            key: Some(key),
        })
    }
}

impl fmt::Display for InputSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.location)?;
        match &self.key {
            Some(k) => write!(f, ":{k}"),
            None => Ok(()),
        }
    }
}

/// The container formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Container {
    Npy,
    Npz,
    Csv,
    Parquet,
    /// Arrow IPC, file or stream.
    Arrow,
    /// JSON Lines (NDJSON).
    Jsonl,
}

pub(crate) fn sniff(head: &[u8]) -> Container {
    if head.starts_with(crate::npy::MAGIC) {
        Container::Npy
    } else if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        Container::Npz
    } else if head.starts_with(columnar::PARQUET_MAGIC) {
        Container::Parquet
    } else if head.starts_with(columnar::ARROW_MAGIC) || head.starts_with(&columnar::CONTINUATION) {
        Container::Arrow
    } else if json_start(head) {
        // No CSV starts so: a header name or a number does not begin with a brace.
        Container::Jsonl
    } else {
        Container::Csv
    }
}

/// Whether text starts as JSON Lines does (after a byte-order mark), or as a JSON array of
/// objects (pandas' `to_json(orient="records")`, DuckDB's `ARRAY true`; `[]` when empty), which
/// the JSON Lines reader then names.
fn json_start(head: &[u8]) -> bool {
    let text = head
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(head)
        .trim_ascii_start();
    match text.split_first() {
        Some((b'{', _)) => true,
        Some((b'[', rest)) => matches!(rest.trim_ascii_start().first(), Some(b'{' | b']')),
        _ => false,
    }
}

/// The container of the file at `path`: from its extension, else from its first bytes.
pub(crate) fn container_of(path: &Path) -> Result<Container> {
    if let Some(c) = by_extension(path) {
        return Ok(c);
    }
    let mut head = Vec::new();
    open_file(path)?.take(8).read_to_end(&mut head)?;
    Ok(sniff(&head))
}

pub(crate) fn by_extension(path: &Path) -> Option<Container> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "npy" => Some(Container::Npy),
        "npz" => Some(Container::Npz),
        "csv" | "tsv" | "txt" => Some(Container::Csv),
        "parquet" => Some(Container::Parquet),
        "arrow" | "feather" | "ipc" | "arrows" => Some(Container::Arrow),
        "jsonl" | "ndjson" => Some(Container::Jsonl),
        _ => None,
    }
}

/// A source whose read errors name the input, as its open errors do: streamed stdin and archive
/// members are found truncated or corrupt only while reading.
struct Named<S = Box<dyn Source>> {
    name: String,
    inner: S,
}

impl Source for Named {
    fn shape(&self) -> &[usize] {
        self.inner.shape()
    }

    fn dtype(&self) -> Dtype {
        self.inner.dtype()
    }

    fn read(&mut self, out: Buf<'_>) -> Result<()> {
        self.inner.read(out).map_err(|e| self.named(e))
    }

    fn open_ended(&self) -> bool {
        self.inner.open_ended()
    }

    fn read_upto(&mut self, out: Buf<'_>) -> Result<usize> {
        self.inner.read_upto(out).map_err(|e| self.named(e))
    }

    fn finish(&mut self) -> Result<()> {
        self.inner.finish().with_context(|| self.name.clone())
    }

    fn positional(&self) -> Option<Box<dyn ReadAt>> {
        Some(Box::new(Named {
            name: self.name.clone(),
            inner: self.inner.positional()?,
        }))
    }

    fn text(&self) -> Option<&dyn Text> {
        self.inner.text().map(|_| self as &dyn Text)
    }

    fn prefetch(&mut self) {
        self.inner.prefetch();
    }

    fn in_dataset(&mut self) {
        self.inner.in_dataset();
    }
}

impl<S> Named<S> {
    /// `e` with the input's name, unless it names the input it is about already (a bad value
    /// in another column of the same table, found while this one was read).
    fn named(&self, e: anyhow::Error) -> anyhow::Error {
        match e.downcast_ref::<csv::Owner>() {
            Some(_) => e,
            None => e.context(self.name.clone()),
        }
    }
}

/// A source read with its axes of length 1 dropped: the same elements in the same order.
struct Squeezed {
    inner: Box<dyn Source>,
    shape: Vec<usize>,
}

impl Squeezed {
    fn new(inner: Box<dyn Source>) -> Squeezed {
        Squeezed {
            shape: squeezed(inner.shape()),
            inner,
        }
    }
}

/// `shape` without its axes of length 1 (numpy's `squeeze`).
pub(crate) fn squeezed(shape: &[usize]) -> Vec<usize> {
    shape.iter().copied().filter(|&d| d != 1).collect()
}

impl Source for Squeezed {
    fn shape(&self) -> &[usize] {
        // An open-ended source's shape grows as it is read: the plan counts tables first when
        // it squeezes, so none is.
        match self.inner.open_ended() {
            true => self.inner.shape(),
            false => &self.shape,
        }
    }
    fn dtype(&self) -> Dtype {
        self.inner.dtype()
    }
    fn read(&mut self, out: Buf<'_>) -> Result<()> {
        self.inner.read(out)
    }
    fn open_ended(&self) -> bool {
        self.inner.open_ended()
    }
    fn read_upto(&mut self, out: Buf<'_>) -> Result<usize> {
        self.inner.read_upto(out)
    }
    fn finish(&mut self) -> Result<()> {
        self.inner.finish()
    }
    fn positional(&self) -> Option<Box<dyn ReadAt>> {
        self.inner.positional()
    }
    fn text(&self) -> Option<&dyn Text> {
        self.inner.text()
    }
    fn prefetch(&mut self) {
        self.inner.prefetch();
    }

    fn in_dataset(&mut self) {
        self.inner.in_dataset();
    }
}

/// Only reached through [`Named::text`], which checks that the inner source is text.
impl Text for Named {
    fn locate(&self, index: usize) -> Option<Position> {
        let at = self.inner.text()?.locate(index)?;
        Some(Position {
            text: format!("{}: {}", self.name, at.text),
            nan: at.nan,
        })
    }

    fn lines(&self, indices: &[usize]) -> Option<Result<Vec<u64>>> {
        let lines = self.inner.text()?.lines(indices)?;
        Some(lines.with_context(|| self.name.clone()))
    }

    fn files(&self, indices: &[usize]) -> Option<Vec<String>> {
        self.inner.text()?.files(indices)
    }

    fn parses_on_pool(&self) -> bool {
        self.inner.text().is_some_and(|t| t.parses_on_pool())
    }

    fn has_field(&self, key: &str) -> bool {
        self.inner.text().is_some_and(|t| t.has_field(key))
    }

    fn fields(&self, key: &str, indices: &[usize]) -> Option<Result<Vec<String>>> {
        let fields = self.inner.text()?.fields(key, indices)?;
        Some(fields.with_context(|| self.name.clone()))
    }
}

impl ReadAt for Named<Box<dyn ReadAt>> {
    fn read_at(&self, index: usize, out: Buf<'_>) -> Result<()> {
        self.inner
            .read_at(index, out)
            .with_context(|| self.name.clone())
    }
    fn window(&self, index: usize, len: usize, native: Dtype) -> Option<Window> {
        self.inner.window(index, len, native)
    }
}

/// Bytes read once and shared by every input that names them (stdin, or a CSV file read for
/// several columns).
enum Bytes {
    Shared(Held),
    File(PathBuf),
}

/// Where a CSV table's bytes come from.
enum CsvBytes {
    /// Held in memory or in a file: they can be read again.
    Again(Bytes),
    /// A stream, parsed as it arrives.
    Once(Box<dyn Read + Send>),
    /// A stream that can be opened again from the top (a compressed file).
    Reopen(csv::Reopen),
}

/// Opens inputs. Inputs that name the same file or stdin share one read of it, so
/// `-p -:pred -t -:target < data.csv` works. A path that is a pipe (`<(…)`, `/dev/stdin`, a
/// FIFO) reads as stdin does: it cannot be read twice, so it is never sniffed and reopened. For
/// runs that need two passes over the data (such as `--delta auto`) the inputs are opened more
/// than once: then such streams are read into memory once and served from there every time.
pub struct Opener {
    csv: CsvOptions,
    streams: Vec<(Location, Held)>,
    again: bool,
    /// Whether CSV tables are counted before they are read (see [`Opener::count_rows`]).
    count: bool,
    /// Whether a CSV stream is parsed as it arrives (see [`Opener::stream_csv`]).
    stream_csv: bool,
    notes: Vec<String>,
    threads: usize,
    /// Whether every input's axes of length 1 are dropped (see [`Opener::squeeze`]).
    squeeze: bool,
    /// The CSV tables that the last [`Opener::open`] opened.
    tables: Vec<(Location, Arc<csv::Table>)>,
    /// The Parquet and Arrow files that the last [`Opener::open`] opened.
    columnar: Vec<(Location, Arc<columnar::Table>)>,
    /// The JSON Lines tables that the last [`Opener::open`] opened.
    json: Vec<(Location, Arc<jsonl::Table>)>,
}

impl Opener {
    /// An opener; `again` says the inputs will be opened more than once.
    pub fn new(csv: CsvOptions, again: bool) -> Opener {
        Opener {
            csv,
            streams: Vec::new(),
            again,
            count: true,
            stream_csv: false,
            notes: Vec::new(),
            threads: 0,
            squeeze: false,
            tables: Vec::new(),
            columnar: Vec::new(),
            json: Vec::new(),
        }
    }

    /// Decodes columnar files on up to `threads` threads (0: one per core).
    pub fn with_threads(mut self, threads: usize) -> Opener {
        self.threads = threads;
        self
    }

    /// Whether to count the rows of a CSV table in a pass of their own before it is read
    /// (the default). A run that needs no shape before its end (a reduction of columns of one
    /// table) skips that pass: its tables are then open-ended (see [`Source::open_ended`]).
    pub fn count_rows(mut self, count: bool) -> Opener {
        self.count = count;
        self
    }

    /// Whether the sources opened have their axes of length 1 dropped (numpy's `squeeze`):
    /// their elements are read in the same order, with the squeezed shape.
    pub fn squeeze(mut self, squeeze: bool) -> Opener {
        self.squeeze = squeeze;
        self
    }

    /// Whether a CSV table on stdin or a pipe, in a run that does not count rows first, is
    /// parsed as it arrives rather than held in memory. Then its lines can not be read again
    /// to name where an element is (as `--nan error` does).
    pub fn stream_csv(mut self, stream: bool) -> Opener {
        self.stream_csv = stream;
        self
    }

    /// Notes on how inputs were read (a CSV first record that could be a header), each once,
    /// for the user to see when the run succeeds.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Adds a note of the run's own for the user (each note once).
    pub fn note(&mut self, note: String) {
        if !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }

    /// Opens `specs`, in order.
    pub fn open(&mut self, specs: &[&InputSpec]) -> Result<Vec<Box<dyn Source>>> {
        let mut tables: Vec<(Location, Arc<csv::Table>)> = Vec::new();
        let mut columnar = ColumnarTables::new(self.threads);
        let mut out: Vec<Box<dyn Source>> = Vec::with_capacity(specs.len());
        for spec in specs {
            let users = if self.again {
                usize::MAX
            } else {
                specs.iter().filter(|s| s.location == spec.location).count()
            };
            let streams = Streams {
                users,
                once: self.stream_csv && !self.count,
                taken: false,
                held: &mut self.streams,
                csv: &self.csv,
                keys: specs
                    .iter()
                    .filter(|s| s.location == spec.location)
                    .filter_map(|s| s.key.as_deref())
                    .collect(),
            };
            let opened = open_one(
                spec,
                (&self.csv, self.count),
                streams,
                &mut tables,
                &mut columnar,
            );
            let source = opened
                .and_then(|opened| opened.source(spec))
                .with_context(|| spec.to_string())?;
            let named: Box<dyn Source> = Box::new(Named {
                name: spec.to_string(),
                inner: source,
            });
            out.push(match self.squeeze {
                true => Box::new(Squeezed::new(named)),
                false => named,
            });
        }
        // The files of a dataset read alike: a note on how one was read (its first line, which
        // differs from file to file) is shown for the first.
        let mut said: Vec<Option<PathBuf>> = Vec::new();
        for (location, table) in &tables {
            let shard = !specs.iter().any(|s| s.location == *location);
            if shard && table.note().is_some() {
                // Once per folder of shards (so once for each dataset of flat files).
                let folder = match location {
                    Location::Path(p) => p.parent().map(Path::to_path_buf),
                    _ => None,
                };
                if said.contains(&folder) {
                    continue;
                }
                said.push(folder);
            }
            let keys = specs
                .iter()
                .filter(|s| s.location == *location)
                .filter_map(|s| s.key.as_deref());
            let key_notes = keys.filter_map(|k| table.key_note(k));
            for note in table
                .note()
                .map(str::to_string)
                .into_iter()
                .chain(key_notes)
            {
                let note = format!("{location}: {note}");
                if !self.notes.contains(&note) {
                    self.notes.push(note);
                }
            }
        }
        self.tables = tables;
        self.columnar = columnar.tables;
        self.json = columnar.json;
        Ok(out)
    }
}

/// An input opened: an NPY array (a file, a stream or an archive member), or a table whose
/// columns are read.
enum Opened {
    Array(NpySource),
    Csv(Arc<csv::Table>),
    Columnar(Arc<columnar::Table>),
    /// The files of a dataset, each opened.
    Dataset(Vec<(dataset::Shard, Opened)>),
    Json(Arc<jsonl::Table>),
}

impl Opened {
    /// The reader of the elements `spec` names.
    fn source(self, spec: &InputSpec) -> Result<Box<dyn Source>> {
        self.source_owned(spec, spec.to_string())
    }

    /// [`Opened::source`], a bad value in a text table named as `owner`'s: `spec`, and in a
    /// dataset the file it is in (`ds:target: ds/part-1.jsonl: line 4, …`).
    fn source_owned(self, spec: &InputSpec, owner: String) -> Result<Box<dyn Source>> {
        Ok(match self {
            Opened::Array(array) => Box::new(array),
            Opened::Csv(table) => Box::new(table.reader_as(spec.key.as_deref(), owner)?),
            Opened::Columnar(table) => Box::new(table.reader(spec.key.as_deref())?),
            Opened::Dataset(shards) => {
                let mut parts = Vec::with_capacity(shards.len());
                let mut partitions = Vec::with_capacity(shards.len());
                for (shard, opened) in shards {
                    partitions.push(shard.partitions.clone());
                    let name = shard.name();
                    let owner = format!("{spec}: {name}");
                    let inner = opened
                        .source_owned(spec, owner)
                        .with_context(|| name.clone())?;
                    let named = Named {
                        name: name.clone(),
                        inner,
                    };
                    parts.push((name, Box::new(named) as Box<dyn Source>));
                }
                Box::new(dataset::Concat::new(parts)?.with_partitions(partitions))
            }
            Opened::Json(table) => Box::new(table.reader(spec.key.as_deref(), owner)?),
        })
    }

    /// What a dataset's files must agree on beyond their elements' type and shape: the format,
    /// and a table's columns (names, and types for Parquet and Arrow).
    fn schema(&self) -> String {
        match self {
            Opened::Array(_) => "an NPY array".to_string(),
            Opened::Csv(t) => match &t.layout().names {
                Some(names) => format!("a CSV table of columns [{}]", names.join(", ")),
                None => format!("a CSV table of {} columns, no header", t.layout().ncols),
            },
            Opened::Columnar(t) => format!("a table of columns [{}]", t.describe_columns()),
            Opened::Dataset(_) => "a dataset".to_string(),
            Opened::Json(_) => "a JSON Lines table".to_string(),
        }
    }
}

/// Opens each file of a dataset as an input of its own, with the KEY of `spec`, so that the
/// inputs naming the same dataset share each file's read; they must agree on their columns.
fn open_dataset(
    spec: &InputSpec,
    shards: Vec<dataset::Shard>,
    csv_opts: (&CsvOptions, bool),
    streams: Streams<'_>,
    tables: &mut Vec<(Location, Arc<csv::Table>)>,
    columnar: &mut ColumnarTables,
) -> Result<Opened> {
    if let Some(key) = &spec.key
        && shards[0].partitions.iter().any(|(k, _)| k == key)
    {
        bail!("'{key}' is a partition key of the dataset: it can be a --by or --id key, not data");
    }
    let mut opened: Vec<(dataset::Shard, Opened)> = Vec::with_capacity(shards.len());
    for shard in shards {
        let sub = InputSpec {
            location: Location::Path(shard.path.clone()),
            key: spec.key.clone(),
        };
        let s = Streams {
            users: streams.users,
            once: streams.once,
            taken: false,
            held: &mut *streams.held,
            csv: streams.csv,
            keys: streams.keys.clone(),
        };
        let one = open_one(&sub, csv_opts, s, tables, columnar).with_context(|| shard.name())?;
        if let Some((first, first_opened)) = opened.first() {
            let (a, b) = (first_opened.schema(), one.schema());
            let formats = std::mem::discriminant(first_opened) != std::mem::discriminant(&one);
            // Files of two formats: the first may be the odd one (a README beside the shards).
            let hint = if formats {
                format!(
                    ": a dataset's files are all one format; if {} or {} is not data, leave it \
                     out (a glob such as 'DIR/*.parquet' names only the shards)",
                    first.name(),
                    shard.name()
                )
            } else {
                String::new()
            };
            ensure!(
                a == b,
                "{}: {b}, but the first file of the dataset, {}, is {a}{hint}",
                shard.name(),
                first.name()
            );
        }
        opened.push((shard, one));
    }
    Ok(Opened::Dataset(opened))
}

/// A stream (stdin or a pipe named by path), opened: an NPY source reading it directly when it is
/// read once, a CSV table's bytes as they arrive when it is parsed once, else all its bytes.
enum Stream {
    Npy(NpySource),
    Csv(Box<dyn Read + Send>),
    Json(Box<dyn Read + Send>),
    Bytes(Held),
}

/// How the streams of one opening are read.
struct Streams<'a> {
    /// The inputs that read the stream being opened (`usize::MAX` if it is opened again later).
    users: usize,
    /// Whether a CSV stream is parsed as it arrives (see [`Opener::stream_csv`]).
    once: bool,
    /// Whether another reader took the stream already: then it can be read only if held.
    taken: bool,
    /// The streams held so far.
    held: &'a mut Vec<(Location, Held)>,
    /// How a CSV stream's first record is read, and the columns its inputs name, checked before
    /// the stream is held.
    csv: &'a CsvOptions,
    keys: Vec<&'a str>,
}

/// Opens a stream that can be read only once. The only reader of an NPY stream streams it, and
/// a CSV table is parsed as it arrives where `streams.once` allows; anything else (an archive,
/// a stream with several readers) is read into memory once and shared through `streams.held`.
fn open_stream(
    spec: &InputSpec,
    streams: Streams<'_>,
    open: impl FnOnce() -> Result<Box<dyn Read + Send>>,
) -> Result<Stream> {
    let Streams {
        users,
        once,
        taken,
        held,
        csv: csv_opts,
        keys,
    } = streams;
    if let Some((_, b)) = held.iter().find(|(loc, _)| *loc == spec.location) {
        return Ok(Stream::Bytes(b.clone()));
    }
    if taken {
        return Err(UsageError::invalid_argument(format!(
            "{spec} is read as an NPY stream by another input and cannot be read a second time \
             for the keys; give the keys in a file"
        ))
        .into());
    }
    let mut input = ahead::read_ahead(open()?);
    let mut head = Vec::new();
    (&mut input).take(8).read_to_end(&mut head)?;
    if let Some(codec) = compressed::detect(&head) {
        input = compressed::decoder(codec, Box::new(Cursor::new(head).chain(input)));
        head = Vec::new();
        (&mut input).take(8).read_to_end(&mut head)?;
    }
    if once && sniff(&head) == Container::Csv {
        return Ok(Stream::Csv(Box::new(Cursor::new(head).chain(input))));
    }
    if once && sniff(&head) == Container::Jsonl {
        return Ok(Stream::Json(Box::new(Cursor::new(head).chain(input))));
    }
    if users == 1 && sniff(&head) == Container::Npy {
        ensure!(
            spec.key.is_none(),
            "a KEY was given but the input is an NPY file, which holds one array"
        );
        let rest = Box::new(Cursor::new(head).chain(input));
        return Ok(Stream::Npy(NpySource::open(rest, None)?));
    }
    let container = sniff(&head);
    let text = matches!(container, Container::Csv | Container::Jsonl);
    if container == Container::Csv {
        // A column that the first record shows is not there fails before anything is held.
        (&mut input).take(csv::HEAD_BYTES).read_to_end(&mut head)?;
        check_head(spec, csv_opts, &keys, &head)?;
    }
    let all = hold(head, &mut input, text)?;
    held.push((spec.location.clone(), all.clone()));
    Ok(Stream::Bytes(all))
}

/// Reads the first record of a CSV stream's `head` as its table will, and finds the columns
/// `keys` in it.
fn check_head(spec: &InputSpec, opts: &CsvOptions, keys: &[&str], head: &[u8]) -> Result<()> {
    let layout = csv::scan_uncounted(
        &mut Cursor::new(head),
        None,
        delimiter_of(spec, opts),
        opts.header,
    )?;
    for key in keys {
        layout.columns(key)?;
    }
    Ok(())
}

/// The delimiter of `spec`'s table: as given, else tab for `.tsv` and comma otherwise.
fn delimiter_of(spec: &InputSpec, opts: &CsvOptions) -> u8 {
    opts.delimiter.unwrap_or(match &spec.location {
        Location::Path(p) if is_tsv(p) => b'\t',
        _ => b',',
    })
}

/// `/dev/null`'s device number (major 1, minor 3), which reads as empty.
const DEV_NULL: u64 = (1 << 8) | 3;

/// Refuses a device other than `/dev/null` (`/dev/zero`, `/dev/urandom`, a disk): its data never
/// ends, or is not a data file's, and holding it to be read again would fill the disk.
fn refuse_devices(meta: &std::fs::Metadata) -> Result<()> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let t = meta.file_type();
    let device = (t.is_char_device() && meta.rdev() != DEV_NULL) || t.is_block_device();
    ensure!(
        !device,
        "is a device, not a data file: huber reads regular files, pipes and standard input"
    );
    Ok(())
}

fn open_one(
    spec: &InputSpec,
    csv_opts: (&CsvOptions, bool),
    streams: Streams<'_>,
    tables: &mut Vec<(Location, Arc<csv::Table>)>,
    columnar: &mut ColumnarTables,
) -> Result<Opened> {
    // Another column of a CSV table opened already: the table is read once for all of them.
    if let Some((_, t)) = tables.iter().find(|(loc, _)| *loc == spec.location) {
        return Ok(Opened::Csv(t.clone()));
    }
    if let Some((_, t)) = columnar.json.iter().find(|(loc, _)| *loc == spec.location) {
        return Ok(Opened::Json(t.clone()));
    }
    let stream = match &spec.location {
        Location::Array(array) => return Ok(Opened::Array(array.source()?)),
        Location::Stdin => {
            if let Ok(meta) = std::fs::metadata("/dev/stdin") {
                refuse_devices(&meta)?;
            }
            Some(open_stream(spec, streams, || Ok(Box::new(io::stdin())))?)
        }
        Location::Path(path) => {
            if let Some(shards) = dataset::expand(path)? {
                return open_dataset(spec, shards, csv_opts, streams, tables, columnar);
            }
            let meta = std::fs::metadata(path)
                .map_err(|e| anyhow::anyhow!("cannot open: {}", io_reason(&e)))?;
            ensure!(!meta.is_dir(), "is a directory, not a data file");
            refuse_devices(&meta)?;
            if meta.is_file() {
                if let Some(codec) = codec_of(path)? {
                    return open_compressed(spec, csv_opts, path, codec, tables, columnar);
                }
                None
            } else {
                Some(open_stream(spec, streams, || {
                    Ok(Box::new(open_file(path)?))
                })?)
            }
        }
    };
    let (bytes, container) = match (stream, &spec.location) {
        (Some(Stream::Npy(source)), _) => return Ok(Opened::Array(source)),
        (Some(Stream::Csv(input)), _) => {
            return open_csv(spec, csv_opts.0, false, CsvBytes::Once(input), tables);
        }
        (Some(Stream::Json(input)), _) => return columnar.open_json_stream(spec, input),
        (Some(Stream::Bytes(data)), _) => {
            let c = sniff(&data.head(8)?);
            (Bytes::Shared(data), c)
        }
        (None, Location::Path(path)) => {
            let container = container_of(path)?;
            (Bytes::File(path.clone()), container)
        }
        (None, Location::Stdin | Location::Array(_)) => {
            bail!(
                "internal error: {} was not opened as a stream",
                spec.location
            )
        }
    };
    open_container(spec, csv_opts, bytes, container, tables, columnar)
}

/// The codec a regular file is compressed with, from its first bytes.
fn codec_of(path: &Path) -> Result<Option<compressed::Codec>> {
    let mut head = Vec::new();
    open_file(path)?
        .take(compressed::MAGIC_LEN as u64)
        .read_to_end(&mut head)?;
    Ok(compressed::detect(&head))
}

/// Opens a compressed file: inflated as a stream, and again from the top for each pass that
/// reads it, never held. An NPY array or a text table; other formats compress their own pages.
fn open_compressed(
    spec: &InputSpec,
    csv_opts: (&CsvOptions, bool),
    path: &Path,
    codec: compressed::Codec,
    tables: &mut Vec<(Location, Arc<csv::Table>)>,
    columnar: &mut ColumnarTables,
) -> Result<Opened> {
    let file = path.to_path_buf();
    let reopen: csv::Reopen =
        Arc::new(move || Ok(compressed::decoder(codec, Box::new(open_file(&file)?))));
    let mut input = reopen()?;
    let mut head = Vec::new();
    (&mut input).take(8).read_to_end(&mut head)?;
    match sniff(&head) {
        Container::Npy => {
            ensure!(
                spec.key.is_none(),
                "a KEY was given but the input is an NPY file, which holds one array"
            );
            let rest = Box::new(Cursor::new(head).chain(input));
            Ok(Opened::Array(NpySource::open(rest, None)?))
        }
        Container::Csv => {
            drop(input);
            let bytes = CsvBytes::Reopen(reopen);
            open_csv(spec, csv_opts.0, csv_opts.1, bytes, tables)
        }
        Container::Jsonl => {
            drop(input);
            columnar.open_json_again(spec, reopen, csv_opts.1)
        }
        container @ (Container::Npz | Container::Parquet | Container::Arrow) => {
            let format = match container {
                Container::Npz => "NPZ",
                Container::Parquet => "Parquet",
                _ => "Arrow",
            };
            bail!(
                "a {codec}-compressed {format} file: decompress it first (the format compresses its own data)"
            )
        }
    }
}

fn open_container(
    spec: &InputSpec,
    csv_opts: (&CsvOptions, bool),
    bytes: Bytes,
    container: Container,
    tables: &mut Vec<(Location, Arc<csv::Table>)>,
    columnar: &mut ColumnarTables,
) -> Result<Opened> {
    match container {
        Container::Npy => open_npy(spec, bytes).map(Opened::Array),
        Container::Npz => open_npz(spec, bytes).map(Opened::Array),
        Container::Csv => open_csv(spec, csv_opts.0, csv_opts.1, CsvBytes::Again(bytes), tables),
        Container::Parquet | Container::Arrow => columnar.open(spec, bytes, container),
        Container::Jsonl => columnar.open_json(spec, bytes, csv_opts.1),
    }
}

fn open_npy(spec: &InputSpec, bytes: Bytes) -> Result<NpySource> {
    ensure!(
        spec.key.is_none(),
        "a KEY was given but the input is an NPY file, which holds one array"
    );
    Ok(match bytes {
        Bytes::Shared(b) => NpySource::open(Box::new(b.reader()), Some(b.len()))?,
        Bytes::File(p) => NpySource::open_file(open_file(&p)?)?,
    })
}

fn open_npz(spec: &InputSpec, bytes: Bytes) -> Result<NpySource> {
    let reader: Box<dyn npz::ReadSeek> = match bytes {
        Bytes::Shared(b) => Box::new(b.reader()),
        Bytes::File(p) => Box::new(open_file(&p)?),
    };
    let member = npz::open_member(reader, spec.key.as_deref())?;
    let name = member.name.clone();
    let src = NpySource::open(member.reader, Some(member.size))
        .with_context(|| format!("array '{name}'"))?;
    Ok(src.drain_on_finish())
}

/// Opens a column of a CSV table; the table is read once for all the inputs that name it,
/// after a pass that counts its rows if `count` says so.
fn open_csv(
    spec: &InputSpec,
    csv_opts: &CsvOptions,
    count: bool,
    bytes: CsvBytes,
    tables: &mut Vec<(Location, Arc<csv::Table>)>,
) -> Result<Opened> {
    let delimiter = delimiter_of(spec, csv_opts);
    let table = csv_table(bytes, delimiter, csv_opts.header, count)?;
    let table = Arc::new(table.missing(csv::Missing::new(&csv_opts.na)));
    tables.push((spec.location.clone(), table.clone()));
    Ok(Opened::Csv(table))
}

/// Whether a file is named as TSV: `.tsv`, also before a compression's extension (`.tsv.gz`).
fn is_tsv(path: &Path) -> bool {
    let ext = |p: &Path| p.extension().map(|e| e.to_ascii_lowercase());
    let compressed = ["gz", "zst", "zstd", "bz2", "xz", "lz4"];
    match ext(path) {
        Some(e) if e == "tsv" => true,
        Some(e) if compressed.iter().any(|c| e == *c) => {
            ext(Path::new(path.file_stem().unwrap_or_default())).is_some_and(|e| e == "tsv")
        }
        _ => false,
    }
}

/// The table of `bytes`. Two passes: one counts the rows (the shape must be known before any
/// output), the other parses them; without the count, one. A stream is read once: only what
/// the header scan looks at (the first record, at most a record's length) is kept, and read
/// again by the table.
fn csv_table(
    bytes: CsvBytes,
    delimiter: u8,
    header: HeaderMode,
    count: bool,
) -> Result<csv::Table> {
    Ok(match bytes {
        CsvBytes::Again(Bytes::Shared(b)) => {
            let mut r = b.reader();
            let layout = match count {
                true => csv::scan(&mut r, delimiter, header)?,
                false => csv::scan_uncounted(&mut r, Some(b.len()), delimiter, header)?,
            };
            let again = b.clone();
            csv::Table::new(Box::new(b.reader()), layout, delimiter)?.reopen_with(Arc::new(
                move || Ok(Box::new(again.reader()) as Box<dyn Read + Send>),
            ))
        }
        CsvBytes::Again(Bytes::File(p)) => {
            let mut file = open_file(&p)?;
            let layout = match count {
                true => csv::scan_file(file, delimiter, header)?,
                false => {
                    let len = file.metadata()?.len();
                    csv::scan_uncounted(&mut file, Some(len), delimiter, header)?
                }
            };
            let path = p.clone();
            csv::Table::of_file(open_file(&p)?, layout, delimiter)?.reopen_with(Arc::new(
                move || Ok(Box::new(open_file(&path)?) as Box<dyn Read + Send>),
            ))
        }
        CsvBytes::Reopen(reopen) => {
            let layout = match count {
                true => csv::scan_reopened(&mut *reopen()?, reopen()?, delimiter, header)?,
                false => csv::scan_uncounted(&mut *reopen()?, None, delimiter, header)?,
            };
            csv::Table::new(reopen()?, layout, delimiter)?.reopen_with(reopen)
        }
        CsvBytes::Once(mut input) => {
            let mut head = Vec::new();
            (&mut input).take(csv::HEAD_BYTES).read_to_end(&mut head)?;
            let layout = csv::scan_uncounted(&mut Cursor::new(&head[..]), None, delimiter, header)?;
            csv::Table::new(Box::new(Cursor::new(head).chain(input)), layout, delimiter)?
        }
    })
}

/// The columnar files (and JSON Lines tables) opened so far, so that inputs naming the same
/// file share one read of it.
struct ColumnarTables {
    threads: usize,
    tables: Vec<(Location, Arc<columnar::Table>)>,
    json: Vec<(Location, Arc<jsonl::Table>)>,
}

impl ColumnarTables {
    fn new(threads: usize) -> ColumnarTables {
        ColumnarTables {
            threads,
            tables: Vec::new(),
            json: Vec::new(),
        }
    }

    /// A JSON Lines table of bytes that can be read again: its rows counted first if `count`
    /// says so, else bounded by its length.
    fn open_json(&mut self, spec: &InputSpec, bytes: Bytes, count: bool) -> Result<Opened> {
        if let Some((_, t)) = self.json.iter().find(|(loc, _)| *loc == spec.location) {
            return Ok(Opened::Json(t.clone()));
        }
        let table = match bytes {
            Bytes::Shared(b) => {
                let rows = match count {
                    true => jsonl::Rows::Counted(jsonl::count_stream(Box::new(b.reader()))?),
                    false => jsonl::Rows::Length(Some(b.len())),
                };
                let again = b.clone();
                jsonl::Table::stream(Box::new(b.reader()), rows)?.reopen_with(Arc::new(move || {
                    Ok(Box::new(again.reader()) as Box<dyn Read + Send>)
                }))
            }
            Bytes::File(p) => {
                let file = open_file(&p)?;
                let rows = match count {
                    true => jsonl::Rows::Counted(jsonl::count_file(open_file(&p)?)?),
                    false => jsonl::Rows::Length(Some(file.metadata()?.len())),
                };
                let path = p.clone();
                jsonl::Table::file(file, rows)?.reopen_with(Arc::new(move || {
                    Ok(Box::new(open_file(&path)?) as Box<dyn Read + Send>)
                }))
            }
        };
        Ok(self.add_json(spec, table))
    }

    /// A JSON Lines table of a stream that `reopen` opens from its start each time (a compressed
    /// file): its rows counted first where `count` says so, and read again for `--top`'s lines.
    fn open_json_again(
        &mut self,
        spec: &InputSpec,
        reopen: csv::Reopen,
        count: bool,
    ) -> Result<Opened> {
        let rows = match count {
            true => jsonl::Rows::Counted(jsonl::count_stream(reopen()?)?),
            false => jsonl::Rows::Length(None),
        };
        let table = jsonl::Table::stream(reopen()?, rows)?.reopen_with(reopen);
        Ok(self.add_json(spec, table))
    }

    /// A JSON Lines table of a stream, parsed as it arrives.
    fn open_json_stream(
        &mut self,
        spec: &InputSpec,
        input: Box<dyn Read + Send>,
    ) -> Result<Opened> {
        let table = jsonl::Table::stream(input, jsonl::Rows::Length(None))?;
        Ok(self.add_json(spec, table))
    }

    fn add_json(&mut self, spec: &InputSpec, table: jsonl::Table) -> Opened {
        let table = Arc::new(table);
        self.json.push((spec.location.clone(), table.clone()));
        Opened::Json(table)
    }

    fn open(&mut self, spec: &InputSpec, bytes: Bytes, container: Container) -> Result<Opened> {
        if let Some((_, t)) = self.tables.iter().find(|(loc, _)| *loc == spec.location) {
            return Ok(Opened::Columnar(t.clone()));
        }
        let store = match bytes {
            Bytes::Shared(b) => store(b),
            Bytes::File(p) => {
                let mut f = open_file(&p)?;
                if f.metadata()?.is_file() {
                    columnar::Store::file(f)?
                } else {
                    // A pipe cannot be read by position: hold it.
                    store(hold(Vec::new(), &mut f, false)?)
                }
            }
        };
        let threads = crate::threads_or_cores(self.threads);
        let table = Arc::new(columnar::guarded(|| match container {
            Container::Parquet => columnar::parquet::open(store, threads),
            _ => columnar::ipc::open(store),
        })?);
        self.tables.push((spec.location.clone(), table.clone()));
        Ok(Opened::Columnar(table))
    }
}

/// The columnar store of held bytes.
fn store(held: Held) -> columnar::Store {
    match held {
        Held::Mem(b) => columnar::Store::mem(b),
        Held::File(f, len) => columnar::Store::File(f, len),
    }
}

pub(crate) fn open_file(path: &Path) -> Result<File> {
    File::open(path).map_err(|e| anyhow::anyhow!("cannot open: {}", io_reason(&e)))
}

#[cfg(test)]
mod tests;
