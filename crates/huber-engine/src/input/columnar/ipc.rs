//! Arrow IPC, file (Feather v2) and stream. Both are lists of messages: a schema, dictionary
//! batches and record batches. The file format lists them in its footer; a stream is walked
//! message header by message header (skipping the bodies) to find them and count the rows.
//! Every length is checked against the file before anything is allocated for it; record batches
//! are then decoded one at a time, in order, with only the selected columns.
//!
//! Format: <https://arrow.apache.org/docs/format/Columnar.html#serialization-and-interprocess-communication-ipc>.

use std::collections::VecDeque;
use std::sync::Arc;

use anyhow::{Context, Result, bail, ensure};
use arrow_array::ArrayRef;
use arrow_ipc::reader::FileDecoder;
use arrow_ipc::{Block, MessageHeader, MetadataVersion};
use arrow_schema::{DataType, Schema};

use super::{
    ARROW_MAGIC, CONTINUATION, Column, Decoder, MAX_METADATA, Store, Table, emit_columns, one_line,
};

/// A message of the file, in the order it must be read.
#[derive(Debug, Clone, Copy)]
struct Entry {
    block: Block,
    /// Rows of a record batch; `None` for a dictionary batch.
    rows: Option<u64>,
}

/// The parts of an IPC file or stream.
struct Layout {
    schema: Schema,
    version: MetadataVersion,
    entries: Vec<Entry>,
}

/// Opens an Arrow IPC file or stream in `store`.
pub fn open(store: Store) -> Result<Table> {
    ensure!(
        store.len() < 4 || store.bytes(0, 4)?[..] != b"FEA1"[..],
        "Feather version 1 files are not supported; write version 2 (pyarrow's default since 0.17)"
    );
    let layout = if store.len() >= 6 && store.bytes(0, 6)?[..] == ARROW_MAGIC[..] {
        file_layout(&store)?
    } else {
        stream_layout(&store)?
    };
    let rows: u64 = layout.entries.iter().filter_map(|e| e.rows).sum();
    let rows = usize::try_from(rows).context("the file claims more rows than can exist")?;
    let schema = Arc::new(layout.schema);
    let decoder = IpcDecoder {
        store,
        schema: schema.clone(),
        version: layout.version,
        entries: layout.entries,
        rows: rows as u64,
    };
    Ok(Table::new(Arc::new(decoder), schema, rows, 1))
}

/// Reads the footer of an IPC file: the schema and the blocks of its messages.
fn file_layout(store: &Store) -> Result<Layout> {
    let len = store.len();
    ensure!(
        len >= 18,
        "truncated Arrow file: {len} bytes, fewer than magic and footer take"
    );
    let tail = store.bytes(len - 10, 10)?;
    ensure!(
        tail[4..] == ARROW_MAGIC[..],
        "truncated Arrow file: it does not end with ARROW1"
    );
    let footer_len = i64::from(i32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
    ensure!(
        (0..=len as i64 - 18).contains(&footer_len),
        "corrupt Arrow file: the footer claims {footer_len} bytes but the file holds {len} bytes in all"
    );
    let footer_len = footer_len as u64;
    ensure!(
        footer_len <= MAX_METADATA,
        "the Arrow footer claims {footer_len} bytes, more than the limit of {} MiB",
        MAX_METADATA >> 20
    );
    let data_end = len - 10 - footer_len;
    let bytes = store.bytes(data_end, footer_len)?;
    let footer = arrow_ipc::root_as_footer(&bytes)
        .map_err(|e| one_line(format!("corrupt Arrow footer: {e}")))?;
    let schema = footer.schema().context("corrupt Arrow footer: no schema")?;
    ensure!(
        schema.endianness().equals_to_target_endianness(),
        "the Arrow file is big-endian; huber reads little-endian Arrow files"
    );
    let schema = arrow_ipc::convert::try_fb_to_schema(schema)
        .map_err(|e| one_line(format!("unsupported Arrow schema: {e}")))?;
    let mut entries = Vec::new();
    for block in footer.dictionaries().iter().flatten() {
        check_block(block, data_end)?;
        entries.push(Entry {
            block: *block,
            rows: None,
        });
    }
    for block in footer.recordBatches().iter().flatten() {
        check_block(block, data_end)?;
        let rows = message_rows(store, block)?;
        entries.push(Entry {
            block: *block,
            rows: Some(rows),
        });
    }
    Ok(Layout {
        schema,
        version: footer.version(),
        entries,
    })
}

/// Checks that a block lies inside the data part of the file.
fn check_block(block: &Block, data_end: u64) -> Result<()> {
    let (offset, meta, body) = (block.offset(), block.metaDataLength(), block.bodyLength());
    let end = u64::try_from(offset)
        .ok()
        .zip(u64::try_from(meta).ok())
        .zip(u64::try_from(body).ok())
        .and_then(|((o, m), b)| o.checked_add(m)?.checked_add(b));
    ensure!(
        end.is_some_and(|e| e <= data_end) && meta >= 8 && (meta as u64) <= MAX_METADATA,
        "corrupt Arrow file: a block claims {meta} + {body} bytes at byte {offset}, outside the {data_end} bytes of data"
    );
    Ok(())
}

/// The row count in the header of the record batch message at `block`, checked against it.
fn message_rows(store: &Store, block: &Block) -> Result<u64> {
    let meta = store.bytes(block.offset() as u64, block.metaDataLength() as u64)?;
    let message = parse(&meta, block.offset())?;
    ensure!(
        message.bodyLength() == block.bodyLength(),
        "corrupt Arrow file: the message at byte {} claims a body of {} bytes, its block {}",
        block.offset(),
        message.bodyLength(),
        block.bodyLength()
    );
    let batch = message.header_as_record_batch().with_context(|| {
        format!(
            "corrupt Arrow file: no record batch at byte {}",
            block.offset()
        )
    })?;
    u64::try_from(batch.length()).map_err(|_| {
        anyhow::anyhow!(
            "corrupt Arrow file: a record batch claims {} rows",
            batch.length()
        )
    })
}

/// Parses an encapsulated message (continuation marker and length, or the length alone).
fn parse(buf: &[u8], at: i64) -> Result<arrow_ipc::Message<'_>> {
    let body = match buf.get(..4) {
        Some(m) if m == CONTINUATION => &buf[8.min(buf.len())..],
        Some(_) => &buf[4..],
        None => bail!("corrupt Arrow data: a message at byte {at} is cut off"),
    };
    arrow_ipc::root_as_message(body)
        .map_err(|e| one_line(format!("corrupt Arrow message at byte {at}: {e}")))
}

/// Walks the messages of an IPC stream, reading each header and skipping each body.
fn stream_layout(store: &Store) -> Result<Layout> {
    let len = store.len();
    let mut pos = 0u64;
    let mut schema = None;
    let mut entries = Vec::new();
    while pos < len {
        let word = store
            .bytes(pos, 4.min(len - pos))
            .context("truncated Arrow stream")?;
        ensure!(word.len() == 4, "truncated Arrow stream at byte {pos}");
        let (prefix, meta_len) = if word[..] == CONTINUATION {
            let l = store.bytes(pos + 4, 4).context("truncated Arrow stream")?;
            (8, i32::from_le_bytes([l[0], l[1], l[2], l[3]]))
        } else {
            (4, i32::from_le_bytes([word[0], word[1], word[2], word[3]]))
        };
        if meta_len == 0 {
            break;
        }
        ensure!(
            meta_len > 0 && (meta_len as u64) <= MAX_METADATA.min(len - pos - prefix),
            "corrupt or truncated Arrow stream: a message at byte {pos} claims {meta_len} bytes of metadata"
        );
        let meta_len = meta_len as u64;
        let meta = store.bytes(pos, prefix + meta_len)?;
        let message = parse(&meta, pos as i64)?;
        let body = u64::try_from(message.bodyLength())
            .ok()
            .filter(|&b| b <= len - pos - prefix - meta_len);
        let Some(body) = body else {
            bail!(
                "truncated Arrow stream: a message at byte {pos} claims a body of {} bytes but {} follow",
                message.bodyLength(),
                len - pos - prefix - meta_len
            );
        };
        let block = Block::new(pos as i64, (prefix + meta_len) as i32, body as i64);
        match message.header_type() {
            MessageHeader::Schema if schema.is_none() => {
                let fb = message.header_as_schema().context("corrupt Arrow schema")?;
                let s = arrow_ipc::convert::try_fb_to_schema(fb)
                    .map_err(|e| one_line(format!("unsupported Arrow schema: {e}")))?;
                schema = Some((s, message.version()));
            }
            MessageHeader::DictionaryBatch if schema.is_some() => {
                entries.push(Entry { block, rows: None })
            }
            MessageHeader::RecordBatch if schema.is_some() => {
                let rows = message_rows(store, &block)?;
                entries.push(Entry {
                    block,
                    rows: Some(rows),
                });
            }
            other => bail!("not an Arrow IPC stream: unexpected {other:?} message at byte {pos}"),
        }
        pos += prefix + meta_len + body;
    }
    let (schema, version) = schema.context("not an Arrow IPC stream: it holds no schema")?;
    Ok(Layout {
        schema,
        version,
        entries,
    })
}

/// Decodes the record batches in order; dictionaries are read as they come. The whole file is
/// one unit: dictionary batches may replace one another between record batches.
struct IpcDecoder {
    store: Store,
    schema: Arc<Schema>,
    version: MetadataVersion,
    entries: Vec<Entry>,
    rows: u64,
}

impl Decoder for IpcDecoder {
    fn units(&self) -> usize {
        1
    }
    fn rows(&self, _unit: usize) -> u64 {
        self.rows
    }
    fn unit_name(&self) -> Option<&'static str> {
        None
    }
    fn parallel(&self) -> bool {
        false
    }
    fn decode(
        &self,
        _unit: usize,
        columns: &[Column],
        emit: &mut dyn FnMut(Vec<ArrayRef>) -> bool,
    ) -> Result<()> {
        let mut roots: Vec<usize> = columns.iter().map(|c| c.root).collect();
        roots.sort_unstable();
        roots.dedup();
        let mut decoder =
            FileDecoder::new(self.schema.clone(), self.version).with_projection(roots.clone());
        for (i, entry) in self.entries.iter().enumerate() {
            let b = &entry.block;
            let len = b.metaDataLength() as u64 + b.bodyLength() as u64;
            let buf = arrow_buffer::Buffer::from(self.store.bytes(b.offset() as u64, len)?);
            let (meta, body) = buf.split_at(b.metaDataLength() as usize);
            check_buffers(&parse(meta, b.offset())?, body, &self.schema, &roots)
                .with_context(|| format!("corrupt Arrow message at byte {}", b.offset()))?;
            let Some(rows) = entry.rows else {
                decoder.read_dictionary(b, &buf).map_err(|e| {
                    one_line(format!("dictionary batch at byte {}: {e}", b.offset()))
                })?;
                continue;
            };
            let batch = decoder
                .read_record_batch(b, &buf)
                .map_err(|e| one_line(format!("record batch at byte {}: {e}", b.offset())))?
                .with_context(|| format!("no record batch at byte {}", b.offset()))?;
            ensure!(
                batch.num_rows() as u64 == rows,
                "record batch {i} holds {} rows but its header says {rows}",
                batch.num_rows()
            );
            if !emit_columns(&batch, columns, emit)? {
                break;
            }
        }
        Ok(())
    }
}

/// Checks that every buffer of a message lies inside its body and, for compressed bodies, that
/// no buffer that will be decompressed (those of the selected columns, and dictionaries) claims
/// more than its rows can need: the claim is what the decompressor allocates.
fn check_buffers(
    message: &arrow_ipc::Message<'_>,
    body: &[u8],
    schema: &Schema,
    roots: &[usize],
) -> Result<()> {
    // Which buffers are decompressed: a record batch's selected columns; a dictionary's (one
    // column, read whatever is selected) all of them.
    let (batch, fields) = match message.header_type() {
        MessageHeader::RecordBatch => {
            let batch = message
                .header_as_record_batch()
                .context("no record batch")?;
            let fields = schema.fields().iter().enumerate();
            let fields: Vec<(&DataType, bool)> = fields
                .map(|(i, f)| (f.data_type(), roots.contains(&i)))
                .collect();
            (batch, Some(fields))
        }
        MessageHeader::DictionaryBatch => {
            let dict = message
                .header_as_dictionary_batch()
                .context("no dictionary")?;
            (
                dict.data().context("a dictionary batch without data")?,
                None,
            )
        }
        _ => return Ok(()),
    };
    let buffers: Vec<(usize, usize)> = batch
        .buffers()
        .iter()
        .flatten()
        .map(|b| {
            let (offset, len) = (usize::try_from(b.offset()), usize::try_from(b.length()));
            match (offset, len) {
                (Ok(o), Ok(l)) if o.checked_add(l).is_some_and(|e| e <= body.len()) => Ok((o, l)),
                _ => bail!(
                    "a buffer of {} bytes at {} lies outside the {}-byte body",
                    b.length(),
                    b.offset(),
                    body.len()
                ),
            }
        })
        .collect::<Result<_>>()?;
    let Some(compression) = batch.compression() else {
        return Ok(());
    };
    // What a compressed buffer can hold at most, whatever its rows claim: an LZ4 frame expands
    // at most 255-fold, a zstd frame (blocks of 128 KiB repeating one byte, in 4 bytes each)
    // about 32768-fold.
    let ratio: u64 = match compression.codec() {
        arrow_ipc::CompressionType::LZ4_FRAME => 256,
        _ => 1 << 15,
    };
    let rows = u64::try_from(batch.length()).unwrap_or(u64::MAX);
    let limit = rows.saturating_mul(16).saturating_add(64).max(MAX_BUFFER);
    let mut read = vec![fields.is_none(); buffers.len()];
    let mut variadic: VecDeque<i64> = batch.variadicBufferCounts().iter().flatten().collect();
    let mut next = 0usize;
    for (data_type, selected) in fields.unwrap_or_default() {
        let count = buffer_count(data_type, &mut variadic)?;
        let end = (next + count).min(read.len());
        read[next.min(end)..end].fill(selected);
        next += count;
    }
    let claims = buffers
        .iter()
        .zip(&read)
        .filter(|(_, r)| **r)
        .map(|(b, _)| *b);
    check_claims(claims, body, limit, ratio, rows)
}

/// Checks what the compressed buffers at `(offset, len)` of `body` claim uncompressed (their first
/// eight bytes): at most `limit`, and at most what their codec can expand them to (`ratio`-fold).
fn check_claims(
    buffers: impl Iterator<Item = (usize, usize)>,
    body: &[u8],
    limit: u64,
    ratio: u64,
    rows: u64,
) -> Result<()> {
    for (offset, len) in buffers {
        if len >= 8 {
            let claim = i64::from_le_bytes(body[offset..offset + 8].try_into()?);
            ensure!(
                claim == -1 || u64::try_from(claim).is_ok_and(|c| c <= limit),
                "a compressed buffer of {len} bytes claims {claim} bytes uncompressed, more than {rows} rows need"
            );
            let most = (len as u64 - 8).saturating_mul(ratio).saturating_add(64);
            ensure!(
                claim == -1 || u64::try_from(claim).is_ok_and(|c| c <= most),
                "a compressed buffer of {len} bytes claims {claim} bytes uncompressed, more than \
                 its codec can expand it to"
            );
        }
    }
    Ok(())
}

/// The most a compressed buffer may claim whatever its row count: room for long text.
const MAX_BUFFER: u64 = 32 << 20;

/// How many buffers a column of `data_type` takes in a message, children included, as Arrow's
/// IPC format lays them out.
fn buffer_count(data_type: &DataType, variadic: &mut VecDeque<i64>) -> Result<usize> {
    use DataType::*;
    let children = |fields: Vec<&DataType>, variadic: &mut VecDeque<i64>| -> Result<usize> {
        let mut n = 0;
        for f in fields {
            n += buffer_count(f, variadic)?;
        }
        Ok(n)
    };
    Ok(match data_type {
        Null => 0,
        Utf8 | Binary | LargeUtf8 | LargeBinary => 3,
        Utf8View | BinaryView => {
            let extra = variadic
                .pop_front()
                .context("a view column without its buffer count")?;
            2 + usize::try_from(extra).context("a negative buffer count")?
        }
        List(f) | LargeList(f) | Map(f, _) => 2 + buffer_count(f.data_type(), variadic)?,
        ListView(f) | LargeListView(f) => 3 + buffer_count(f.data_type(), variadic)?,
        FixedSizeList(f, _) => 1 + buffer_count(f.data_type(), variadic)?,
        Struct(fields) => 1 + children(fields.iter().map(|f| f.data_type()).collect(), variadic)?,
        RunEndEncoded(a, b) => children(vec![a.data_type(), b.data_type()], variadic)?,
        Union(fields, mode) => {
            let own = 1 + usize::from(*mode == arrow_schema::UnionMode::Dense);
            own + children(
                fields.iter().map(|(_, f)| f.data_type()).collect(),
                variadic,
            )?
        }
        _ => 2,
    })
}
