//! Where `--by` keys come from: a CSV column of any text, an NPY array of integer or bool
//! labels, or a Parquet or Arrow column of text, integers or bools, each read by the reader of
//! its format. All stream: they hold one block of input and the keys asked for, whatever the
//! number of rows.

#[cfg(test)]
use std::io::Read;

use anyhow::{Context, Result, bail, ensure};

use crate::array::fmt_shape;
use crate::dtype::{Dtype, Kind};
use crate::input::Source;
use crate::input::columnar::keys::KeySource;
use crate::input::csv::TextSource;
use crate::input::jsonl::JsonKeys;
use crate::input::keys::KeyColumn;
use crate::input::npy::NpySource;

use super::group::{KeyBatch, KeyKind};

/// How many elements each key covers: 1 when the keys have the inputs' shape, the product of
/// the trailing axes when they have the shape of the inputs' leading axes (a label per sample).
/// Any other shape is an error that shows both.
pub fn key_repeat(key_shape: &[usize], shape: &[usize]) -> Result<usize> {
    ensure!(
        key_shape.len() <= shape.len() && shape[..key_shape.len()] == *key_shape,
        "the keys of --by have shape {} but the inputs {}: keys need the inputs' shape or the \
         shape of their leading axes (one label per sample)",
        fmt_shape(key_shape),
        fmt_shape(shape)
    );
    Ok(shape[key_shape.len()..].iter().product())
}

/// A source of keys, read in order.
pub trait KeyReader: Send {
    /// What the keys are.
    fn kind(&self) -> KeyKind;
    /// The next `n` keys; fewer only at the end of the input.
    fn next_keys(&mut self, n: usize) -> Result<KeyBatch>;
    /// Appends the next `n` keys to `to`; fewer only at the end of the input. Returns how many.
    fn read_into(&mut self, to: &mut KeyBatch, n: usize) -> Result<usize> {
        let keys = self.next_keys(n)?;
        to.append(&keys, 0..keys.len());
        Ok(keys.len())
    }
}

/// A column of keys as its format's reader hands them over: fields back to back in `data`, where
/// each ends in `ends`.
pub trait KeyFields: Send {
    /// What the keys are.
    fn kind(&self) -> KeyKind;
    /// Appends the next `n` keys; fewer only at the end of the input. Returns how many.
    fn read_into(&mut self, n: usize, data: &mut Vec<u8>, ends: &mut Vec<usize>) -> Result<usize>;
}

/// A CSV column: each data row's field, unquoted, compared byte for byte. The column is parsed
/// with the table's other columns when another input reads the same table.
impl KeyFields for TextSource {
    fn kind(&self) -> KeyKind {
        KeyKind::Text
    }
    fn read_into(&mut self, n: usize, data: &mut Vec<u8>, ends: &mut Vec<usize>) -> Result<usize> {
        TextSource::read_into(self, n, data, ends)
    }
}

/// A Parquet or Arrow column: text, integers or bools.
impl KeyFields for KeySource {
    fn kind(&self) -> KeyKind {
        KeySource::kind(self)
    }
    fn read_into(&mut self, n: usize, data: &mut Vec<u8>, ends: &mut Vec<usize>) -> Result<usize> {
        KeySource::read_into(self, n, data, ends)
    }
}

/// The keys of the files of a dataset, one after another.
impl KeyFields for crate::input::keys::DatasetKeys {
    fn kind(&self) -> KeyKind {
        crate::input::keys::DatasetKeys::kind(self)
    }
    fn read_into(&mut self, n: usize, data: &mut Vec<u8>, ends: &mut Vec<usize>) -> Result<usize> {
        crate::input::keys::DatasetKeys::read_into(self, n, data, ends)
    }
}

/// A JSON Lines field: a string's contents, or a number's or bool's text, compared byte for byte.
impl KeyFields for JsonKeys {
    fn kind(&self) -> KeyKind {
        KeyKind::Text
    }
    fn read_into(&mut self, n: usize, data: &mut Vec<u8>, ends: &mut Vec<usize>) -> Result<usize> {
        JsonKeys::read_into(self, n, data, ends)
    }
}

/// The keys of a column of a table (CSV, Parquet or Arrow), read in order.
pub struct ColumnKeys<C> {
    column: C,
    /// The index of the next key.
    next: usize,
    /// The key input, for messages.
    name: String,
}

impl<C: KeyFields> ColumnKeys<C> {
    /// Keys from a column reader of a table; `name` names the key input in errors.
    pub fn new(column: C, name: &str) -> ColumnKeys<C> {
        ColumnKeys {
            column,
            next: 0,
            name: name.to_string(),
        }
    }
}

impl<C: KeyFields> KeyReader for ColumnKeys<C> {
    fn kind(&self) -> KeyKind {
        self.column.kind()
    }

    fn next_keys(&mut self, n: usize) -> Result<KeyBatch> {
        let mut out = KeyBatch::new(self.kind(), self.next);
        self.read_into(&mut out, n)?;
        Ok(out)
    }

    fn read_into(&mut self, to: &mut KeyBatch, n: usize) -> Result<usize> {
        let read = self.column.read_into(n, &mut to.data, &mut to.ends);
        let read = read.with_context(|| format!("--by {}", self.name))?;
        self.next += read;
        Ok(read)
    }
}

/// The keys of a CSV column.
pub type CsvKeys = ColumnKeys<TextSource>;

/// The keys of an NPY array of integers (any size, signed or not) or bools, in C order, read by
/// the NPY reader as stored.
pub struct NpyKeys {
    array: NpySource,
    dtype: Dtype,
    shape: Vec<usize>,
    next: usize,
    /// Bytes of stored elements, reused from batch to batch.
    raw: Vec<u8>,
    name: String,
}

impl NpyKeys {
    /// Reads the header; `name` names the input in errors. Floats are refused.
    #[cfg(test)]
    pub fn open(reader: Box<dyn Read + Send>, name: &str) -> Result<NpyKeys> {
        let array = NpySource::open(reader, None).with_context(|| name.to_string())?;
        NpyKeys::new(array, name)
    }

    /// The keys of `array`, opened; `name` names the input in errors. Floats are refused.
    pub fn new(array: NpySource, name: &str) -> Result<NpyKeys> {
        let dtype = array.dtype();
        ensure!(
            dtype.kind != Kind::Float,
            "{name}: --by needs integer or bool labels, not floats (cast them with \
             labels.astype(np.int64))"
        );
        Ok(NpyKeys {
            shape: array.shape().to_vec(),
            array,
            dtype,
            next: 0,
            raw: Vec::new(),
            name: name.to_string(),
        })
    }

    /// The labels' shape.
    #[cfg(test)]
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    fn label(&self, b: &[u8]) -> Result<i64> {
        let mut le = [0u8; 8];
        let size = self.dtype.size;
        for (k, &x) in b.iter().enumerate() {
            le[if self.dtype.big_endian {
                size - 1 - k
            } else {
                k
            }] = x;
        }
        let signed = self.dtype.kind == Kind::Int;
        if signed && le[size - 1] & 0x80 != 0 {
            le[size..].fill(0xff);
        }
        let v = i64::from_le_bytes(le);
        if !signed && v < 0 {
            bail!(
                "{}: label {} does not fit in a 64-bit signed integer",
                self.name,
                v as u64
            );
        }
        Ok(if self.dtype.kind == Kind::Bool {
            i64::from(v != 0)
        } else {
            v
        })
    }
}

impl KeyReader for NpyKeys {
    fn kind(&self) -> KeyKind {
        if self.dtype.kind == Kind::Bool {
            KeyKind::Bool
        } else {
            KeyKind::Int
        }
    }

    fn next_keys(&mut self, n: usize) -> Result<KeyBatch> {
        let take = n.min(self.array.left());
        let mut raw = std::mem::take(&mut self.raw);
        raw.clear();
        self.array.read_raw(take, &mut raw).with_context(|| {
            format!(
                "{}: the data ends before the {} labels its header promises",
                self.name,
                self.shape.iter().product::<usize>()
            )
        })?;
        let mut out = KeyBatch::new(self.kind(), self.next);
        out.data.reserve(take * 8);
        for b in raw.chunks_exact(self.dtype.size) {
            out.push_int(self.label(b)?);
        }
        self.raw = raw;
        self.next += take;
        Ok(out)
    }
}

/// The reader of the keys of an opened key input; `name` names it in errors.
pub fn reader(column: KeyColumn, name: &str) -> Result<Box<dyn KeyReader>> {
    Ok(match column {
        KeyColumn::Array(array) => Box::new(NpyKeys::new(array, name)?),
        KeyColumn::Text(text) => Box::new(CsvKeys::new(text, name)),
        KeyColumn::Columnar(column) => Box::new(ColumnKeys::new(column, name)),
        KeyColumn::Dataset(keys) => Box::new(ColumnKeys::new(keys, name)),
        KeyColumn::Json(column) => Box::new(ColumnKeys::new(column, name)),
    })
}

#[cfg(test)]
mod tests;
