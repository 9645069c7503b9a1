//! Columnar files: Parquet and Arrow IPC (file and stream). Only the columns asked for are
//! decoded, piece by piece (row groups, record batches) on threads of their own, and handed to
//! the column readers in row order, so memory stays bounded whatever the file size and the values
//! are the same whatever the thread count.

mod ids;
pub mod ipc;
pub mod keys;
pub mod parquet;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use anyhow::{Context, Result, bail, ensure};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    ArrowDictionaryKeyType, ArrowPrimitiveType, Decimal128Type, Decimal256Type, Float16Type,
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, DictionaryArray, PrimitiveArray, RecordBatch};
use arrow_buffer::{ArrowNativeType, NullBuffer};
use arrow_schema::{DataType, Field, Fields, Schema};

use super::{Buf, Source};
use crate::dtype::{Dtype, Kind};

/// The magic bytes a Parquet file starts and ends with.
pub const PARQUET_MAGIC: &[u8; 4] = b"PAR1";
/// The magic bytes an Arrow IPC file starts (and ends) with.
pub const ARROW_MAGIC: &[u8; 6] = b"ARROW1";
/// The marker before each message of an Arrow IPC stream (format 0.15 and later).
pub const CONTINUATION: [u8; 4] = [0xff; 4];

/// Rows per decoded piece: small enough that a few pieces in flight per thread stay far below
/// the memory bound, large enough that the per-piece overhead vanishes.
const PIECE_ROWS: usize = 64 * 1024;
/// Bytes of decoded values that may wait between the decoding threads and the readers.
const QUEUE_BYTES: usize = 16 << 20;
/// The largest footer or message header read (a wide schema needs some hundred KiB).
pub const MAX_METADATA: u64 = 16 << 20;

/// The bytes of a columnar file: a regular file read by position (so several threads share one
/// descriptor), or standard input held in memory.
#[derive(Clone)]
pub enum Store {
    /// A regular file and its length.
    File(Arc<File>, u64),
    /// Bytes in memory.
    Mem(bytes::Bytes),
}

impl Store {
    /// Opens `file`, which must be a regular file (a pipe cannot be read by position).
    pub fn file(file: File) -> Result<Store> {
        let len = file.metadata()?.len();
        Ok(Store::File(Arc::new(file), len))
    }

    /// Bytes held in memory.
    pub fn mem(data: Arc<[u8]>) -> Store {
        Store::Mem(bytes::Bytes::from_owner(data))
    }

    /// The number of bytes.
    pub fn len(&self) -> u64 {
        match self {
            Store::File(_, len) => *len,
            Store::Mem(b) => b.len() as u64,
        }
    }

    /// Whether the store holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reads `len` bytes at `start`; a range past the end is an error before anything is
    /// allocated, so a length read from the file cannot make a large allocation.
    pub fn bytes(&self, start: u64, len: u64) -> io::Result<bytes::Bytes> {
        let end = start.checked_add(len).filter(|&e| e <= self.len());
        let Some(end) = end else {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "truncated: {len} bytes at byte {start} reach past the end of the file ({} bytes)",
                    self.len()
                ),
            ));
        };
        match self {
            Store::Mem(b) => Ok(b.slice(start as usize..end as usize)),
            Store::File(f, _) => {
                // Read into the vector's spare capacity: zeroing it first costs as much as a
                // tenth of a Parquet read (the page bytes are written over at once).
                let len = len as usize;
                let mut buf = Vec::with_capacity(len);
                while buf.len() < len {
                    let at = start + buf.len() as u64;
                    match rustix::io::pread(&**f, rustix::buffer::spare_capacity(&mut buf), at) {
                        Ok(0) => {
                            return Err(io::Error::new(
                                io::ErrorKind::UnexpectedEof,
                                "the file was cut short while it was read",
                            ));
                        }
                        Ok(_) => {}
                        Err(rustix::io::Errno::INTR) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                buf.truncate(len);
                Ok(buf.into())
            }
        }
    }

    /// A reader from byte `start` on.
    pub fn reader(&self, start: u64) -> PosReader {
        PosReader {
            store: self.clone(),
            pos: start,
        }
    }
}

/// Reads a [`Store`] from a position on.
pub struct PosReader {
    store: Store,
    pos: u64,
}

impl Read for PosReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match &self.store {
            Store::File(f, _) => f.read_at(buf, self.pos)?,
            Store::Mem(b) => {
                let start = (self.pos as usize).min(b.len());
                let n = buf.len().min(b.len() - start);
                buf[..n].copy_from_slice(&b[start..start + n]);
                n
            }
        };
        self.pos += n as u64;
        Ok(n)
    }
}

/// A column's type as the shards of a dataset must agree on it: the values it holds, not their
/// Arrow layout. Text is text whether a writer chose 32-bit offsets (DuckDB), 64-bit (pandas) or
/// views (polars), and a dictionary-encoded column (a pandas categorical) holds its values' type;
/// each file is read in its own layout.
fn logical(t: &DataType) -> String {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "Utf8".to_string(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "Binary".to_string(),
        DataType::Dictionary(_, values) => logical(values),
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::ListView(f)
        | DataType::LargeListView(f) => format!("List({})", logical(f.data_type())),
        DataType::FixedSizeList(f, k) => format!("FixedSizeList({k} x {})", logical(f.data_type())),
        DataType::Struct(fields) => {
            let inner: Vec<_> = fields
                .iter()
                .map(|f| format!("{}: {}", f.name(), logical(f.data_type())))
                .collect();
            format!("Struct({})", inner.join(", "))
        }
        other => other.to_string(),
    }
}

/// A column to read: where it sits in the schema and what it holds.
#[derive(Debug, Clone)]
pub struct Column {
    /// Field names from the top level down to the column (one for a top-level column).
    pub path: Vec<String>,
    /// Index of the top-level field.
    pub root: usize,
    /// Values per row: 1, or `k` for a fixed-size list of `k` (read as `k` columns).
    pub width: usize,
}

impl Column {
    /// Rows per decoded piece: [`PIECE_ROWS`], fewer for a wide list, so that a piece holds
    /// about as many values as one of a plain column.
    pub fn piece_rows(columns: &[Column]) -> usize {
        let widest = columns.iter().map(|c| c.width).max().unwrap_or(1);
        (PIECE_ROWS / widest.max(1)).max(1)
    }
}

/// The columns `key` selects, each with its element type: the column it names whole, if one
/// does (a name may hold commas), else, read from the left, the longest run of its
/// comma-separated parts that names a column, then the next (`p0,p1,p2`: three columns, shape
/// `(rows, 3)`), as a CSV KEY is read.
pub fn find_columns(schema: &Schema, key: Option<&str>) -> Result<Vec<(Column, Dtype)>> {
    let names = |k: &str| find_field(schema, Some(k)).is_ok();
    let Some(key) = key.filter(|k| k.contains(',') && !names(k)) else {
        return Ok(vec![find_column(schema, key)?]);
    };
    let parts: Vec<&str> = key.split(',').collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < parts.len() {
        let j = (i + 2..=parts.len())
            .rev()
            .find(|&j| names(&parts[i..j].join(",")))
            .unwrap_or(i + 1);
        out.push(
            find_column(schema, Some(&parts[i..j].join(",")))
                .with_context(|| format!("in the list of columns '{}'", clip(key)))?,
        );
        i = j;
    }
    Ok(out)
}

/// The element type of columns read as one input: theirs if they agree, else the widest float
/// among them, integers and bools counting as float64 (SPEC §3).
fn common_dtype(dtypes: &[Dtype]) -> Dtype {
    if dtypes.windows(2).all(|w| w[0] == w[1]) {
        return dtypes[0];
    }
    let floats = dtypes.iter().all(|d| d.kind == Kind::Float);
    let size = match floats {
        true => dtypes.iter().map(|d| d.size).max().unwrap_or(8),
        false => 8,
    };
    Dtype {
        kind: Kind::Float,
        size,
        big_endian: false,
    }
}

/// Finds the column `key` names in `schema` (see [`find_field`]), which must hold numbers, or
/// fixed-size lists of them, and the element type reported for it.
pub fn find_column(schema: &Schema, key: Option<&str>) -> Result<(Column, Dtype)> {
    let (mut column, field) = find_field(schema, key)?;
    let name = || clip(&column.path.join("."));
    let (t, width) = match field.data_type() {
        DataType::FixedSizeList(child, k) => (child.data_type(), usize::try_from(*k).unwrap_or(0)),
        DataType::List(_)
        | DataType::LargeList(_)
        | DataType::ListView(_)
        | DataType::LargeListView(_) => bail!(
            "column '{}' is a list of any length ({}); huber reads fixed-size lists (Arrow's FixedSizeList, polars' Array) as (rows, k) arrays: cast it to one, as polars' .cast(pl.Array(pl.Float64, k)) does",
            name(),
            field.data_type()
        ),
        t => (t, 1),
    };
    ensure!(
        width > 0,
        "column '{}' is a fixed-size list of 0 values; huber reads lists of 1 or more",
        name()
    );
    let dtype = dtype_of(t).ok_or_else(|| {
        anyhow::anyhow!(
            "column '{}' has type {}; huber reads float, integer and bool columns and fixed-size lists of them",
            name(),
            field.data_type()
        )
    })?;
    column.width = width;
    Ok((column, dtype))
}

/// Finds the column `key` names in `schema`: a top-level field, or a field inside structs by its
/// dotted path (`a.b`). Without a key the file must hold exactly one column.
pub fn find_field<'s>(schema: &'s Schema, key: Option<&str>) -> Result<(Column, &'s Field)> {
    let fields = schema.fields();
    let column = |path, root| Column {
        path,
        root,
        width: 1,
    };
    let Some(key) = key else {
        ensure!(
            fields.len() == 1,
            "the file has {} columns ({}); name one as PATH:COLUMN",
            fields.len(),
            list_names(fields)
        );
        return Ok((column(vec![fields[0].name().clone()], 0), &fields[0]));
    };
    let exact: Vec<usize> = (0..fields.len())
        .filter(|&i| fields[i].name() == key)
        .collect();
    match exact[..] {
        [i] => return Ok((column(vec![key.to_string()], i), &fields[i])),
        [_, _, ..] => bail!(
            "{} columns are named '{}'; huber cannot tell them apart",
            exact.len(),
            clip(key)
        ),
        [] => {}
    }
    let parts: Vec<&str> = key.split('.').collect();
    if parts.len() > 1
        && let Some(root) = fields.iter().position(|f| f.name() == parts[0])
    {
        let mut field = &fields[root];
        for part in &parts[1..] {
            let DataType::Struct(children) = field.data_type() else {
                bail!(
                    "no column '{}': '{}' is not a struct",
                    clip(key),
                    field.name()
                );
            };
            let Some(child) = children.iter().find(|c| c.name() == part) else {
                bail!(
                    "no column '{}': struct '{}' has the fields {}",
                    clip(key),
                    field.name(),
                    list_names(children)
                );
            };
            field = child;
        }
        let path = parts.iter().map(|p| p.to_string()).collect();
        return Ok((column(path, root), field));
    }
    bail!(
        "no column '{}'; the file has {}",
        clip(key),
        list_names(fields)
    )
}

/// The element type of an Arrow column that holds numbers, if it does.
fn dtype_of(t: &DataType) -> Option<Dtype> {
    let (kind, size) = match t {
        DataType::Boolean => (Kind::Bool, 1),
        DataType::Int8 => (Kind::Int, 1),
        DataType::Int16 => (Kind::Int, 2),
        DataType::Int32 => (Kind::Int, 4),
        DataType::Int64 => (Kind::Int, 8),
        DataType::UInt8 => (Kind::UInt, 1),
        DataType::UInt16 => (Kind::UInt, 2),
        DataType::UInt32 => (Kind::UInt, 4),
        DataType::UInt64 => (Kind::UInt, 8),
        DataType::Float16 => (Kind::Float, 2),
        DataType::Float32 => (Kind::Float, 4),
        DataType::Float64 => (Kind::Float, 8),
        // Decimals (DuckDB writes money so) are read as float64, correctly rounded.
        DataType::Decimal128(..) | DataType::Decimal256(..) => (Kind::Float, 8),
        DataType::Dictionary(_, values) => return dtype_of(values),
        _ => return None,
    };
    Some(Dtype {
        kind,
        size,
        big_endian: false,
    })
}

/// Up to ten names, quoted, for an error message.
fn list_names(fields: &Fields) -> String {
    let mut names: Vec<String> = fields
        .iter()
        .take(10)
        .map(|f| format!("'{}'", clip(f.name())))
        .collect();
    if fields.len() > 10 {
        names.push(format!("and {} more", fields.len() - 10));
    }
    names.join(", ")
}

/// At most 60 characters of a name, escaped so messages stay on one line.
fn clip(s: &str) -> String {
    huber_core::error::clip(s, 60, true)
}

/// A library error as one line.
pub fn one_line(e: impl std::fmt::Display) -> anyhow::Error {
    let text = e.to_string();
    anyhow::anyhow!("{}", text.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Hands the selected columns of a decoded batch to `emit`; false when `emit` wants no more.
pub fn emit_columns(
    batch: &RecordBatch,
    columns: &[Column],
    emit: &mut dyn FnMut(Vec<ArrayRef>) -> bool,
) -> Result<bool> {
    let arrays = columns
        .iter()
        .map(|c| take_column(batch, &c.path))
        .collect::<Result<Vec<_>>>()?;
    Ok(emit(arrays))
}

/// Takes the column at `path` out of a decoded batch; a null struct makes its fields null too.
fn take_column(batch: &RecordBatch, path: &[String]) -> Result<ArrayRef> {
    let missing = || anyhow::anyhow!("internal error: decoded data lacks '{}'", path.join("."));
    let mut array = batch.column_by_name(&path[0]).ok_or_else(missing)?.clone();
    for name in &path[1..] {
        let parent = array.as_struct_opt().ok_or_else(missing)?;
        let child = parent.column_by_name(name).ok_or_else(missing)?.clone();
        array = match NullBuffer::union(parent.nulls(), child.nulls()) {
            Some(nulls) if child.null_count() != nulls.null_count() => {
                let data = child.to_data().into_builder().nulls(Some(nulls)).build()?;
                arrow_array::make_array(data)
            }
            _ => child,
        };
    }
    Ok(array)
}

/// What decodes a file's pieces. Units (row groups) are decoded independently, possibly on
/// several threads at once; each yields its rows in order, one piece (a column per selected
/// column) at a time.
pub trait Decoder: Send + Sync + 'static {
    /// The number of independent units.
    fn units(&self) -> usize;
    /// The number of rows unit `unit` holds, as the file's metadata says.
    fn rows(&self, unit: usize) -> u64;
    /// What a unit is called in messages ("row group"); `None` where the file is one unit.
    fn unit_name(&self) -> Option<&'static str>;
    /// Whether units may be decoded at the same time.
    fn parallel(&self) -> bool;
    /// Decodes unit `unit` with the columns `columns`, handing each piece to `emit` in order;
    /// stops early when `emit` returns `false`.
    fn decode(
        &self,
        unit: usize,
        columns: &[Column],
        emit: &mut dyn FnMut(Vec<ArrayRef>) -> bool,
    ) -> Result<()>;
}

/// What a decoding thread sends: a piece, the end of a unit, or why it stopped.
enum Message {
    Piece(Vec<ArrayRef>),
    End,
    Failed(anyhow::Error),
}

/// The readers' shared state: the decoding threads' channels and what each reader has not taken
/// yet.
struct Shared {
    decoder: Arc<dyn Decoder>,
    columns: Vec<Column>,
    threads: usize,
    channels: Vec<Receiver<Message>>,
    /// The decoding threads, joined when the readers are done with the file.
    workers: Vec<JoinHandle<()>>,
    /// The unit being received, and the rows received of it so far.
    unit: usize,
    unit_rows: u64,
    /// Per reader: arrays not yet read, and how much of the first one was.
    queues: Vec<VecDeque<ArrayRef>>,
    offsets: Vec<usize>,
    /// One file of a dataset, whose next file decodes beside it.
    in_dataset: bool,
}

impl Shared {
    fn start(&mut self) {
        let units = self.decoder.units();
        let threads = if self.decoder.parallel() {
            self.threads.clamp(1, units.max(1))
        } else {
            1
        };
        let row_bytes = 8 * self.columns.iter().map(|c| c.width).sum::<usize>().max(1);
        // A dataset's file that decodes to little more than one thread's queue takes one thread:
        // the next file decodes on another meanwhile, and a second thread here would only
        // contend for the cores (measured on 8 shards of 1.25M rows: 7% faster, 6% less CPU).
        // Saturating: the row counts are the file's claims, which may be anything.
        let small = || {
            let rows = (0..units).fold(0u64, |sum, u| sum.saturating_add(self.decoder.rows(u)));
            rows.saturating_mul(row_bytes as u64) <= 2 * QUEUE_BYTES as u64
        };
        let threads = if self.in_dataset && small() {
            1
        } else {
            threads
        };
        let depth = (QUEUE_BYTES / threads / (PIECE_ROWS * row_bytes)).max(2);
        for first in 0..threads {
            let (tx, rx) = sync_channel(depth);
            let decoder = self.decoder.clone();
            let columns = self.columns.clone();
            let spawned = std::thread::Builder::new()
                .name("huber-decode".into())
                .spawn(move || produce(&*decoder, &columns, first, threads, &tx));
            match spawned {
                Ok(worker) => self.workers.push(worker),
                Err(e) => {
                    let (tx, rx) = sync_channel(1);
                    let _ = tx.send(Message::Failed(anyhow::anyhow!(
                        "cannot start a thread: {e}"
                    )));
                    self.channels.push(rx);
                    continue;
                }
            }
            self.channels.push(rx);
        }
    }

    /// Hands the next `n` values of reader `index` to `each`, a run of one decoded array at a
    /// time (the array, the offset of the run in it, its length), receiving pieces as needed.
    fn take(
        &mut self,
        index: usize,
        n: usize,
        mut each: impl FnMut(&dyn Array, usize, usize) -> Result<()>,
    ) -> Result<()> {
        let mut done = 0;
        while done < n {
            if self.queues[index].is_empty() {
                ensure!(
                    self.pull()?,
                    "the file holds fewer rows than its metadata says"
                );
                continue;
            }
            let offset = self.offsets[index];
            let array = &self.queues[index][0];
            let len = values(array.as_ref());
            let run = (len - offset).min(n - done);
            each(array.as_ref(), offset, run)?;
            done += run;
            if offset + run == len {
                self.queues[index].pop_front();
                self.offsets[index] = 0;
            } else {
                self.offsets[index] = offset + run;
            }
        }
        Ok(())
    }

    /// Receives the next piece into every reader's queue; `false` once every unit is done.
    fn pull(&mut self) -> Result<bool> {
        if self.channels.is_empty() {
            self.start();
        }
        let units = self.decoder.units();
        while self.unit < units {
            let rx = &self.channels[self.unit % self.channels.len()];
            let msg = rx.recv().unwrap_or_else(|_| {
                Message::Failed(anyhow::anyhow!("internal error: a decoding thread ended"))
            });
            let name = match self.decoder.unit_name() {
                Some(name) => format!("{name} {}", self.unit),
                None => "the file".to_string(),
            };
            let claimed = self.decoder.rows(self.unit);
            match msg {
                Message::Piece(arrays) => {
                    let rows = arrays.first().map_or(0, |a| a.len()) as u64;
                    if rows == 0 {
                        continue;
                    }
                    self.unit_rows += rows;
                    ensure!(
                        self.unit_rows <= claimed,
                        "{name} holds more rows than the {claimed} its metadata says"
                    );
                    for (i, queue) in self.queues.iter_mut().enumerate() {
                        queue.push_back(arrays[i].clone());
                    }
                    return Ok(true);
                }
                Message::End => {
                    ensure!(
                        self.unit_rows == claimed,
                        "{name} holds {} rows but its metadata says {claimed}",
                        self.unit_rows
                    );
                    self.unit += 1;
                    self.unit_rows = 0;
                }
                Message::Failed(e) if self.decoder.unit_name().is_some() => {
                    return Err(e.context(name));
                }
                Message::Failed(e) => return Err(e),
            }
        }
        Ok(false)
    }
}

/// Stops the decoding threads and waits for them, so none outlives the file it reads (a reader
/// that stops early, on an error, would otherwise leave the other threads decoding until the
/// process ends).
impl Drop for Shared {
    fn drop(&mut self) {
        // Closing the channels makes each thread's next send fail, which ends it.
        self.channels.clear();
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

thread_local! {
    /// Set while this thread runs decoder code, whose panics [`guarded`] reports as errors.
    static GUARDED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f`, which hands untrusted bytes to the Arrow and Parquet libraries, turning a panic in
/// them into one error line (and keeping the default panic message off stderr).
pub fn guarded<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !GUARDED.with(|g| g.get()) {
                previous(info);
            }
        }));
    });
    let was = GUARDED.with(|g| g.replace(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(was));
    result.unwrap_or_else(|payload| {
        let msg = if let Some(s) = payload.downcast_ref::<&str>() {
            s
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s
        } else {
            "a panic"
        };
        Err(one_line(format!(
            "corrupt data: the decoder failed ({msg})"
        )))
    })
}

/// A decoding thread: units `first`, `first + step`, … in order, each followed by its end.
fn produce(
    decoder: &dyn Decoder,
    columns: &[Column],
    first: usize,
    step: usize,
    tx: &SyncSender<Message>,
) {
    for unit in (first..decoder.units()).step_by(step) {
        let mut open = true;
        let done = guarded(|| {
            decoder.decode(unit, columns, &mut |arrays| {
                open = tx.send(Message::Piece(arrays)).is_ok();
                open
            })
        });
        let last = match done {
            Ok(()) => Message::End,
            Err(e) => Message::Failed(e),
        };
        let failed = matches!(last, Message::Failed(_));
        if !open || tx.send(last).is_err() || failed {
            return;
        }
    }
}

/// The columns of one file, decoded once for all the inputs that name it.
pub struct Table {
    shared: Arc<Mutex<Shared>>,
    rows: usize,
    schema: Arc<Schema>,
}

impl Table {
    /// A table over `decoder`, whose units hold `rows` rows in all, decoded on up to `threads`
    /// threads.
    pub fn new(
        decoder: Arc<dyn Decoder>,
        schema: Arc<Schema>,
        rows: usize,
        threads: usize,
    ) -> Table {
        let shared = Shared {
            decoder,
            columns: Vec::new(),
            threads,
            channels: Vec::new(),
            workers: Vec::new(),
            unit: 0,
            unit_rows: 0,
            queues: Vec::new(),
            offsets: Vec::new(),
            in_dataset: false,
        };
        Table {
            shared: Arc::new(Mutex::new(shared)),
            rows,
            schema,
        }
    }

    /// A reader of the column `key` names, or of the columns it lists (see [`find_columns`]) as
    /// one `(rows, k)` array, row after row.
    pub fn reader(&self, key: Option<&str>) -> Result<ColumnSource> {
        let picked = find_columns(&self.schema, key)?;
        let dtypes: Vec<Dtype> = picked.iter().map(|(_, d)| *d).collect();
        let mut parts = Vec::with_capacity(picked.len());
        for (column, _) in picked {
            let width = column.width;
            parts.push((self.add(column)?, width));
        }
        let width = parts
            .iter()
            .try_fold(0usize, |sum, &(_, w)| sum.checked_add(w));
        let shape = match (&parts[..], width) {
            ([(_, 1)], _) => vec![self.rows],
            (_, Some(w)) if self.rows.checked_mul(w).is_some() => vec![self.rows, w],
            _ => bail!(
                "{} rows of the columns '{}' are more values than huber can count",
                self.rows,
                clip(key.unwrap_or_default())
            ),
        };
        Ok(ColumnSource {
            shared: self.shared.clone(),
            parts,
            shape,
            dtype: common_dtype(&dtypes),
            read: 0,
            schema: self.schema.clone(),
        })
    }

    /// The columns' names and types, for a message and for the files of a dataset to agree on.
    pub fn describe_columns(&self) -> String {
        let fields = self.schema.fields().iter();
        let described: Vec<_> = fields
            .map(|f| format!("{}: {}", f.name(), logical(f.data_type())))
            .collect();
        described.join(", ")
    }

    /// The number of rows, as the file's metadata says.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Adds `column` to those decoded, before reading begins; returns its reader's index.
    fn add(&self, column: Column) -> Result<usize> {
        let mut shared = lock(&self.shared);
        ensure!(
            shared.channels.is_empty(),
            "internal error: a column added after reading began"
        );
        shared.columns.push(column);
        shared.queues.push(VecDeque::new());
        shared.offsets.push(0);
        Ok(shared.queues.len() - 1)
    }
}

fn lock(m: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One column of a columnar file, or several read as the columns of one array, streamed.
pub struct ColumnSource {
    shared: Arc<Mutex<Shared>>,
    /// The readers' indices in the shared table and their widths (1, or a fixed-size list's
    /// length), one per column, in the array's column order.
    parts: Vec<(usize, usize)>,
    shape: Vec<usize>,
    dtype: Dtype,
    /// The elements read so far (a read may end inside a row).
    read: usize,
    /// The file's columns, for `--id` (see `ids.rs`).
    schema: Arc<Schema>,
}

impl ColumnSource {
    fn read_as<T: Out>(&mut self, out: &mut [T]) -> Result<()> {
        let mut shared = lock(&self.shared);
        if let [(index, _)] = self.parts[..] {
            take_into(&mut shared, index, out)?;
        } else {
            // Each column's values for the rows this read covers (the first and last maybe in
            // part), then laid out row after row: column `c` holds `w` values of each row of
            // `width`, from `before` on.
            let width: usize = self.parts.iter().map(|&(_, w)| w).sum();
            let (first, end) = (self.read, self.read + out.len());
            let mut column = Vec::new();
            let mut before = 0;
            for &(index, w) in &self.parts {
                let taken = |e: usize| e / width * w + (e % width).saturating_sub(before).min(w);
                let (from, to) = (taken(first), taken(end));
                column.clear();
                column.resize(to - from, T::NAN);
                take_into(&mut shared, index, &mut column)?;
                for (t, &v) in (from..to).zip(&column) {
                    out[t / w * width + before + t % w - first] = v;
                }
                before += w;
            }
        }
        self.read += out.len();
        Ok(())
    }
}

/// The next `out.len()` values of reader `index`.
fn take_into<T: Out>(shared: &mut Shared, index: usize, out: &mut [T]) -> Result<()> {
    let mut done = 0;
    shared.take(index, out.len(), |array, offset, n| {
        convert(array, offset, &mut out[done..done + n])?;
        done += n;
        Ok(())
    })
}

impl Source for ColumnSource {
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn read(&mut self, out: Buf<'_>) -> Result<()> {
        match out {
            Buf::F64(out) => self.read_as(out),
            Buf::F32(out) => self.read_as(out),
        }
    }
    fn text(&self) -> Option<&dyn super::Text> {
        Some(self)
    }
    fn prefetch(&mut self) {
        let mut shared = lock(&self.shared);
        // With one thread (`-j1`) the next file waits for this one: one file decodes at a time.
        if shared.channels.is_empty() && shared.threads > 1 {
            shared.start();
        }
    }
    fn in_dataset(&mut self) {
        lock(&self.shared).in_dataset = true;
    }
    /// Reads what is left, so rows beyond what the metadata says are found.
    fn finish(&mut self) -> Result<()> {
        ensure!(
            !lock(&self.shared).pull()?,
            "the file holds more rows than its metadata says"
        );
        Ok(())
    }
}

/// A compute float that decoded values convert to.
trait Out: Copy {
    const NAN: Self;
    fn from_f64(x: f64) -> Option<Self>;
    fn from_f32(x: f32) -> Self;
    fn from_i64(x: i64) -> Option<Self>;
    fn from_u64(x: u64) -> Option<Self>;
}

impl Out for f64 {
    const NAN: f64 = f64::NAN;
    fn from_f64(x: f64) -> Option<f64> {
        Some(x)
    }
    fn from_f32(x: f32) -> f64 {
        f64::from(x)
    }
    fn from_i64(x: i64) -> Option<f64> {
        Some(x as f64)
    }
    fn from_u64(x: u64) -> Option<f64> {
        Some(x as f64)
    }
}

impl Out for f32 {
    const NAN: f32 = f32::NAN;
    fn from_f64(_: f64) -> Option<f32> {
        None
    }
    fn from_f32(x: f32) -> f32 {
        x
    }
    fn from_i64(_: i64) -> Option<f32> {
        None
    }
    fn from_u64(_: u64) -> Option<f32> {
        None
    }
}

/// How one stored value becomes a compute float (`None`: not exactly, which the dtype rules
/// never ask for).
trait Value: Copy {
    fn to<T: Out>(self) -> Option<T>;
}

macro_rules! value {
    ($($t:ty => |$x:ident| $e:expr),* $(,)?) => {
        $(impl Value for $t {
            #[inline]
            fn to<T: Out>(self) -> Option<T> {
                let $x = self;
                $e
            }
        })*
    };
}

value! {
    f64 => |x| T::from_f64(x),
    f32 => |x| Some(T::from_f32(x)),
    half::f16 => |x| Some(T::from_f32(f32::from(x))),
    i8 => |x| T::from_i64(i64::from(x)),
    i16 => |x| T::from_i64(i64::from(x)),
    i32 => |x| T::from_i64(i64::from(x)),
    i64 => |x| T::from_i64(x),
    u8 => |x| T::from_u64(u64::from(x)),
    u16 => |x| T::from_u64(u64::from(x)),
    u32 => |x| T::from_u64(u64::from(x)),
    u64 => |x| T::from_u64(x),
}

/// The values `array` holds: its length, times `k` for a fixed-size list of `k`.
fn values(array: &dyn Array) -> usize {
    match array.data_type() {
        DataType::FixedSizeList(_, k) => array.len() * usize::try_from(*k).unwrap_or(0),
        _ => array.len(),
    }
}

/// Converts `out.len()` values of `array` from `offset` on (values of a fixed-size list, row
/// after row); nulls become NaN, and a null list's values too.
fn convert<T: Out>(array: &dyn Array, offset: usize, out: &mut [T]) -> Result<()> {
    if let Some(list) = array.as_fixed_size_list_opt() {
        convert(list.values().as_ref(), offset, out)?;
        let k = usize::try_from(list.value_length()).unwrap_or(1).max(1);
        if list.null_count() > 0 {
            for (t, o) in out.iter_mut().enumerate() {
                if list.is_null((offset + t) / k) {
                    *o = T::NAN;
                }
            }
        }
        return Ok(());
    }
    let ok = match array.data_type() {
        DataType::Dictionary(key, _) => match key.as_ref() {
            DataType::Int8 => dictionary::<Int8Type, T>(array, offset, out)?,
            DataType::Int16 => dictionary::<Int16Type, T>(array, offset, out)?,
            DataType::Int32 => dictionary::<Int32Type, T>(array, offset, out)?,
            DataType::Int64 => dictionary::<Int64Type, T>(array, offset, out)?,
            DataType::UInt8 => dictionary::<UInt8Type, T>(array, offset, out)?,
            DataType::UInt16 => dictionary::<UInt16Type, T>(array, offset, out)?,
            DataType::UInt32 => dictionary::<UInt32Type, T>(array, offset, out)?,
            DataType::UInt64 => dictionary::<UInt64Type, T>(array, offset, out)?,
            other => bail!("dictionary keys of type {other} are not supported"),
        },
        _ => primitive_any(array, offset, out)?,
    };
    ensure!(
        ok,
        "internal error: {} read as a narrower float",
        array.data_type()
    );
    if array.null_count() > 0
        && let Some(nulls) = array.logical_nulls()
    {
        for (k, o) in out.iter_mut().enumerate() {
            if nulls.is_null(offset + k) {
                *o = T::NAN;
            }
        }
    }
    Ok(())
}

/// Converts a primitive array of any numeric type; `false` if it does not convert to `T`.
fn primitive_any<T: Out>(array: &dyn Array, offset: usize, out: &mut [T]) -> Result<bool> {
    Ok(match array.data_type() {
        DataType::Float64 => primitive::<Float64Type, T>(array, offset, out),
        DataType::Float32 => primitive::<Float32Type, T>(array, offset, out),
        DataType::Float16 => primitive::<Float16Type, T>(array, offset, out),
        DataType::Int8 => primitive::<Int8Type, T>(array, offset, out),
        DataType::Int16 => primitive::<Int16Type, T>(array, offset, out),
        DataType::Int32 => primitive::<Int32Type, T>(array, offset, out),
        DataType::Int64 => primitive::<Int64Type, T>(array, offset, out),
        DataType::UInt8 => primitive::<UInt8Type, T>(array, offset, out),
        DataType::UInt16 => primitive::<UInt16Type, T>(array, offset, out),
        DataType::UInt32 => primitive::<UInt32Type, T>(array, offset, out),
        DataType::UInt64 => primitive::<UInt64Type, T>(array, offset, out),
        DataType::Decimal128(_, scale) => {
            let values = array.as_primitive::<Decimal128Type>().values();
            let values = &values[offset..offset + out.len()];
            fill(
                out,
                values.iter().map(|&v| decimal(v, *scale, || v.to_string())),
            )
        }
        DataType::Decimal256(_, scale) => {
            let values = array.as_primitive::<Decimal256Type>().values();
            let values = &values[offset..offset + out.len()];
            let value = |v: &arrow_buffer::i256| match v.to_i128() {
                Some(small) => decimal(small, *scale, || small.to_string()),
                None => decimal(i128::MAX, *scale, || v.to_string()),
            };
            fill(out, values.iter().map(value))
        }
        DataType::Boolean => {
            let mut ok = true;
            let b = array.as_boolean();
            for (k, o) in out.iter_mut().enumerate() {
                let v = T::from_u64(u64::from(b.value(offset + k)));
                ok &= v.is_some();
                *o = v.unwrap_or(T::NAN);
            }
            ok
        }
        other => bail!("internal error: a column of type {other} reached the reader"),
    })
}

/// Writes `values` into `out`; `false` if one does not convert to `T`.
fn fill<T: Out>(out: &mut [T], values: impl Iterator<Item = f64>) -> bool {
    let mut ok = true;
    for (o, v) in out.iter_mut().zip(values) {
        match T::from_f64(v) {
            Some(x) => *o = x,
            None => ok = false,
        }
    }
    ok
}

/// The decimal `v · 10^-scale` as the nearest `f64` (ties to even): one IEEE division or
/// multiplication of two exact values where both are exact (|v| ≤ 2^53, |scale| ≤ 22), else the
/// number parser on its digits (`text`, which may stand for a value too wide for `v`).
fn decimal(v: i128, scale: i8, text: impl Fn() -> String) -> f64 {
    const EXACT: u128 = 1 << 53;
    let pow = |k: i8| 10f64.powi(i32::from(k));
    match scale {
        0..=22 if v.unsigned_abs() <= EXACT => v as f64 / pow(scale),
        -22..=-1 if v.unsigned_abs() <= EXACT => v as f64 * pow(-scale),
        _ => crate::input::csv::number(format!("{}e{}", text(), -i32::from(scale)).as_bytes())
            .unwrap_or(f64::NAN),
    }
}

fn primitive<P: ArrowPrimitiveType, T: Out>(array: &dyn Array, offset: usize, out: &mut [T]) -> bool
where
    P::Native: Value,
{
    let values: &PrimitiveArray<P> = array.as_primitive();
    let values = &values.values()[offset..offset + out.len()];
    let mut ok = true;
    for (o, v) in out.iter_mut().zip(values) {
        match v.to::<T>() {
            Some(x) => *o = x,
            None => ok = false,
        }
    }
    ok
}

/// Looks dictionary-encoded values up. A key that is null or out of range reads as a missing
/// value: the array's logical nulls (applied afterwards) cover the first, and the second is
/// refused.
fn dictionary<K: ArrowDictionaryKeyType, T: Out>(
    array: &dyn Array,
    offset: usize,
    out: &mut [T],
) -> Result<bool> {
    let dict: &DictionaryArray<K> = array.as_dictionary();
    let values = dict.values();
    let mut lookup = vec![T::NAN; values.len()];
    let ok = primitive_any(values.as_ref(), 0, &mut lookup)?;
    if let Some(nulls) = values.logical_nulls() {
        for (k, v) in lookup.iter_mut().enumerate() {
            if nulls.is_null(k) {
                *v = T::NAN;
            }
        }
    }
    let keys = dict.keys();
    for (k, o) in out.iter_mut().enumerate() {
        if keys.is_null(offset + k) {
            *o = T::NAN;
            continue;
        }
        let key = keys.values()[offset + k].as_usize();
        *o = *lookup
            .get(key)
            .ok_or_else(|| anyhow::anyhow!("a dictionary key ({key}) is out of range"))?;
    }
    Ok(ok)
}
