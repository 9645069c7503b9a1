//! Where `--by` keys come from: a CSV column of any text, or an NPY array of integer or bool
//! labels. Both stream: they hold one block of input and the keys asked for, whatever the
//! number of rows.

use std::io::Read;

use anyhow::{Context, Result, bail, ensure};

use crate::array::fmt_shape;
use crate::dtype::{Dtype, Kind};
use crate::input::csv::TextSource;
use crate::npy::read_header;

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

/// The keys of a CSV column: each data row's field, unquoted, compared byte for byte. The
/// column is parsed with the table's other columns when another input reads the same table.
pub struct CsvKeys {
    column: TextSource,
    /// The index of the next key.
    next: usize,
    /// The key input, for messages.
    name: String,
}

impl CsvKeys {
    /// Keys from a text reader of a table; `name` names the key input in errors.
    pub fn new(column: TextSource, name: &str) -> CsvKeys {
        CsvKeys {
            column,
            next: 0,
            name: name.to_string(),
        }
    }
}

impl KeyReader for CsvKeys {
    fn kind(&self) -> KeyKind {
        KeyKind::Text
    }

    fn next_keys(&mut self, n: usize) -> Result<KeyBatch> {
        let mut out = KeyBatch::new(KeyKind::Text, self.next);
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

/// The keys of an NPY array of integers (any size, signed or not) or bools, in C order.
pub struct NpyKeys {
    reader: Box<dyn Read + Send>,
    dtype: Dtype,
    shape: Vec<usize>,
    left: usize,
    next: usize,
    name: String,
}

impl NpyKeys {
    /// Reads the header; `name` names the input in errors. Floats and Fortran-ordered arrays of
    /// more than one axis are refused.
    pub fn open(mut reader: Box<dyn Read + Send>, name: &str) -> Result<NpyKeys> {
        let header = read_header(&mut reader).with_context(|| name.to_string())?;
        let dtype = header.dtype;
        ensure!(
            dtype.kind != Kind::Float,
            "{name}: --by needs integer or bool labels, not floats (cast them with \
             labels.astype(np.int64))"
        );
        ensure!(
            !header.fortran_order || header.shape.iter().filter(|&&d| d > 1).count() <= 1,
            "{name}: --by labels in Fortran order are not read (save them with \
             np.ascontiguousarray(labels))"
        );
        Ok(NpyKeys {
            reader,
            dtype,
            left: header.len(),
            shape: header.shape,
            next: 0,
            name: name.to_string(),
        })
    }

    /// The labels' shape.
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
        let take = n.min(self.left);
        let size = self.dtype.size;
        let mut raw = vec![0u8; take * size];
        self.reader.read_exact(&mut raw).with_context(|| {
            format!(
                "{}: the data ends before the {} labels its header promises",
                self.name,
                self.shape.iter().product::<usize>()
            )
        })?;
        let mut out = KeyBatch::new(self.kind(), self.next);
        out.data.reserve(take * 8);
        for b in raw.chunks_exact(size) {
            out.push_int(self.label(b)?);
        }
        self.left -= take;
        self.next += take;
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
