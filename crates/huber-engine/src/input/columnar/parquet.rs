//! Parquet: the footer is checked against the file before it is read, every page header is
//! looked at before the page is decompressed, and row groups are decoded in parallel, a slice of
//! rows at a time, with only the selected leaf columns.
//!
//! Format: <https://parquet.apache.org/docs/file-format/>.

use std::io::{BufReader, Read};
use std::sync::Arc;

use ::parquet::arrow::ProjectionMask;
use ::parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use ::parquet::errors::ParquetError;
use ::parquet::file::metadata::ParquetMetaDataReader;
use ::parquet::file::reader::{ChunkReader, Length};
use anyhow::{Context, Result, bail, ensure};
use arrow_array::ArrayRef;

use super::{
    Column, Decoder, MAX_METADATA, PARQUET_MAGIC, PosReader, Store, Table, emit_columns, one_line,
};

/// The largest page read, uncompressed. Writers aim at 1 MiB (pyarrow, polars, Spark, DuckDB);
/// a page that claims more is refused before it is decompressed, so a small file cannot expand
/// into gigabytes.
pub const MAX_PAGE: u64 = 32 << 20;

/// Opens the Parquet file in `store`, to be decoded on up to `threads` threads.
pub fn open(store: Store, threads: usize) -> Result<Table> {
    let len = store.len();
    ensure!(
        len >= 12,
        "not a Parquet file: {len} bytes, fewer than magic and footer take"
    );
    let head = store.bytes(0, 4)?;
    let tail = store.bytes(len - 8, 8)?;
    ensure!(
        &head[..] == PARQUET_MAGIC && &tail[4..] == PARQUET_MAGIC,
        "not a Parquet file: it does not start and end with PAR1 (truncated?)"
    );
    let meta_len = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
    ensure!(
        meta_len <= len - 12,
        "truncated or corrupt: the footer claims {meta_len} bytes of metadata but the file holds {len} bytes in all"
    );
    ensure!(
        meta_len <= MAX_METADATA,
        "the footer claims {meta_len} bytes of metadata, more than the limit of {} MiB",
        MAX_METADATA >> 20
    );
    let footer = store.bytes(len - 8 - meta_len, meta_len)?;
    let metadata = ParquetMetaDataReader::decode_metadata(&footer)
        .map_err(parquet_error)
        .context("corrupt Parquet footer")?;
    let mut rows = Vec::with_capacity(metadata.num_row_groups());
    for (i, rg) in metadata.row_groups().iter().enumerate() {
        let n = u64::try_from(rg.num_rows())
            .map_err(|_| anyhow::anyhow!("row group {i} claims {} rows", rg.num_rows()))?;
        rows.push(n);
    }
    let total: u64 = rows.iter().sum();
    let claimed = metadata.file_metadata().num_rows();
    ensure!(
        u64::try_from(claimed) == Ok(total),
        "corrupt Parquet footer: the file claims {claimed} rows but its row groups hold {total}"
    );
    let total = usize::try_from(total).context("the file claims more rows than can exist")?;
    let meta = ArrowReaderMetadata::try_new(Arc::new(metadata), ArrowReaderOptions::new())
        .map_err(parquet_error)
        .context("unsupported Parquet schema")?;
    let schema = meta.schema().clone();
    let decoder = ParquetDecoder {
        store: PageGuard(store),
        meta,
        rows,
    };
    Ok(Table::new(Arc::new(decoder), schema, total, threads))
}

/// A Parquet error as one line, without the library's "Parquet error:" prefixes.
fn parquet_error(e: impl std::fmt::Display) -> anyhow::Error {
    let text = e.to_string();
    let mut s = text.as_str();
    for prefix in [
        "Parquet argument error: ",
        "Parquet error: ",
        "External: ",
        "External error: ",
        "Arrow: ",
        "EOF: ",
    ] {
        s = s.strip_prefix(prefix).unwrap_or(s);
    }
    one_line(s)
}

struct ParquetDecoder {
    store: PageGuard,
    meta: ArrowReaderMetadata,
    rows: Vec<u64>,
}

impl ParquetDecoder {
    /// The leaf columns `columns` name, each checked to lie inside the file in row group `unit`.
    fn leaves(&self, unit: usize, columns: &[Column]) -> Result<Vec<usize>> {
        let descr = self.meta.parquet_schema();
        let rg = &self.meta.metadata().row_groups()[unit];
        let mut leaves = Vec::new();
        for column in columns {
            // A list's values are a leaf below it (`p.list.element`).
            let found = (0..descr.num_columns())
                .filter(|&i| descr.column(i).path().parts().starts_with(&column.path));
            for leaf in found {
                let (start, len) = rg.column(leaf).byte_range();
                ensure!(
                    start
                        .checked_add(len)
                        .is_some_and(|end| end <= self.store.0.len()),
                    "column '{}' claims bytes {start}..{} but the file holds {}",
                    column.path.join("."),
                    start.saturating_add(len),
                    self.store.0.len()
                );
                leaves.push(leaf);
            }
        }
        Ok(leaves)
    }
}

impl Decoder for ParquetDecoder {
    fn units(&self) -> usize {
        self.rows.len()
    }
    fn rows(&self, unit: usize) -> u64 {
        self.rows[unit]
    }
    fn unit_name(&self) -> Option<&'static str> {
        Some("row group")
    }
    fn parallel(&self) -> bool {
        true
    }
    fn decode(
        &self,
        unit: usize,
        columns: &[Column],
        emit: &mut dyn FnMut(Vec<ArrayRef>) -> bool,
    ) -> Result<()> {
        let mask = ProjectionMask::leaves(self.meta.parquet_schema(), self.leaves(unit, columns)?);
        let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(
            self.store.clone(),
            self.meta.clone(),
        )
        .with_projection(mask)
        .with_row_groups(vec![unit])
        .with_batch_size(Column::piece_rows(columns))
        .build()
        .map_err(parquet_error)?;
        for batch in reader {
            let batch = batch.map_err(parquet_error)?;
            if !emit_columns(&batch, columns, emit)? {
                break;
            }
        }
        Ok(())
    }
}

/// The file as the Parquet decoder reads it. Each page header is read here first (the decoder
/// asks for a reader at a page's start), and a page that claims more than [`MAX_PAGE`]
/// uncompressed is refused before anything is allocated for it.
#[derive(Clone)]
struct PageGuard(Store);

impl Length for PageGuard {
    fn len(&self) -> u64 {
        self.0.len()
    }
}

impl ChunkReader for PageGuard {
    type T = BufReader<PosReader>;

    fn get_read(&self, start: u64) -> ::parquet::errors::Result<Self::T> {
        check_page(&self.0, start).map_err(|e| ParquetError::General(format!("{e:#}")))?;
        Ok(BufReader::with_capacity(4096, self.0.reader(start)))
    }

    fn get_bytes(&self, start: u64, length: usize) -> ::parquet::errors::Result<bytes::Bytes> {
        self.0
            .bytes(start, length as u64)
            .map_err(|e| ParquetError::General(e.to_string()))
    }
}

/// Reads the page header at `start` and checks the uncompressed size it claims.
fn check_page(store: &Store, start: u64) -> Result<()> {
    let mut header = Compact {
        r: BufReader::with_capacity(256, store.reader(start)),
        used: 0,
    };
    let size = header
        .page_size()
        .with_context(|| format!("corrupt page header at byte {start}"))?;
    ensure!(
        (0..=MAX_PAGE as i64).contains(&size),
        "a page at byte {start} claims {size} bytes uncompressed; huber reads pages of up to {} MiB",
        MAX_PAGE >> 20
    );
    Ok(())
}

/// The most bytes a page header may take (its statistics hold a column's min and max).
const MAX_HEADER: u64 = 1 << 20;

/// A reader of Thrift's compact protocol, just enough to find one field of a page header and
/// skip everything else.
struct Compact<R> {
    r: R,
    used: u64,
}

impl<R: Read> Compact<R> {
    /// Field 2 of the `PageHeader` struct, `uncompressed_page_size`, from a header read to its
    /// end: a header that is cut short or malformed anywhere is refused here, in time bounded by
    /// its 1 MiB, before the decoder reads it (a fuzzed header whose later field the decoder
    /// stumbled on once took it seconds of reads at the end of the file).
    fn page_size(&mut self) -> Result<i64> {
        let mut last = 0i64;
        let mut size = None;
        loop {
            let b = self.byte()?;
            if b == 0 {
                return size.context("it has no uncompressed size");
            }
            let (kind, delta) = (b & 0x0f, i64::from(b >> 4));
            let id = if delta == 0 {
                self.zigzag()?
            } else {
                last + delta
            };
            last = id;
            if id == 2 && kind == 5 {
                size = Some(self.zigzag()?);
                continue;
            }
            self.skip(kind, 0)?;
        }
    }

    fn byte(&mut self) -> Result<u8> {
        self.used += 1;
        ensure!(self.used <= MAX_HEADER, "it is longer than 1 MiB");
        let mut b = [0u8];
        self.r
            .read_exact(&mut b)
            .map_err(|_| anyhow::anyhow!("the file ends inside it"))?;
        Ok(b[0])
    }

    fn varint(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        bail!("a number in it is too long")
    }

    fn zigzag(&mut self) -> Result<i64> {
        let v = self.varint()?;
        Ok((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    fn skip_bytes(&mut self, n: u64) -> Result<()> {
        self.used = self.used.saturating_add(n);
        ensure!(self.used <= MAX_HEADER, "it is longer than 1 MiB");
        let copied = std::io::copy(&mut (&mut self.r).take(n), &mut std::io::sink())?;
        ensure!(copied == n, "the file ends inside it");
        Ok(())
    }

    /// Skips one value of compact type `kind`.
    fn skip(&mut self, kind: u8, depth: u32) -> Result<()> {
        ensure!(depth < 32, "it nests too deep");
        match kind {
            1 | 2 => Ok(()),
            3 => self.skip_bytes(1),
            4..=6 => self.varint().map(drop),
            7 => self.skip_bytes(8),
            8 => {
                let n = self.varint()?;
                self.skip_bytes(n)
            }
            9 | 10 => {
                let h = self.byte()?;
                let n = match h >> 4 {
                    15 => self.varint()?,
                    n => u64::from(n),
                };
                let elem = element(h & 0x0f);
                (0..n).try_for_each(|_| self.skip(elem, depth + 1))
            }
            11 => {
                let n = self.varint()?;
                if n == 0 {
                    return Ok(());
                }
                let kv = self.byte()?;
                (0..n).try_for_each(|_| {
                    self.skip(element(kv >> 4), depth + 1)?;
                    self.skip(element(kv & 0x0f), depth + 1)
                })
            }
            12 => loop {
                let b = self.byte()?;
                if b == 0 {
                    return Ok(());
                }
                if b >> 4 == 0 {
                    self.zigzag()?;
                }
                self.skip(b & 0x0f, depth + 1)?;
            },
            _ => bail!("it holds an unknown field type {kind}"),
        }
    }
}

/// The type of a list, set or map element: there booleans take a byte each.
fn element(kind: u8) -> u8 {
    match kind {
        1 | 2 => 3,
        k => k,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page_size(bytes: &[u8]) -> Result<i64> {
        Compact { r: bytes, used: 0 }.page_size()
    }

    #[test]
    fn finds_the_uncompressed_size_in_field_order_or_not() {
        // type = 0, uncompressed = 1000, compressed = 600, as every writer orders them, and the
        // struct's end.
        let header = [0x15, 0x00, 0x15, 0xd0, 0x0f, 0x15, 0xb0, 0x09, 0x00];
        assert_eq!(page_size(&header).unwrap(), 1000);
        // The header is read to its end: cut short after the size, it is refused.
        assert!(page_size(&header[..8]).is_err());
        // A struct (field 5, with a binary and a list of bools inside) before field 2, which
        // then needs the long form (its id as a zigzag varint).
        let reordered = [
            0x15, 0x00, 0x4c, 0x18, 0x02, b'a', b'b', 0x19, 0x21, 0x01, 0x02, 0x00, 0x05, 0x04,
            0x10, 0x00,
        ];
        assert_eq!(page_size(&reordered).unwrap(), 8);
        assert_eq!(page_size(&[0x05, 0x04, 0x07, 0x00]).unwrap(), -4);
    }

    #[test]
    fn refuses_headers_that_end_or_run_on() {
        assert!(page_size(&[0x15, 0x00]).is_err());
        assert!(page_size(&[0x15, 0x00, 0x00]).is_err());
        // A binary field that claims 2 MiB.
        assert!(page_size(&[0x18, 0x80, 0x80, 0x80, 0x01]).is_err());
        // A list of 2^40 empty structs cannot fit in the header.
        let mut list = vec![0x19, 0xfc, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20];
        list.extend([0u8; 64]);
        assert!(page_size(&list).is_err());
    }
}
