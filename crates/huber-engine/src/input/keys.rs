//! The keys of `--by`, opened as every other input is (the same [`Opener`], so the same
//! sniffing, streams and shared tables) and read by the same readers: the NPY reader's stored
//! elements, a CSV table's text reader, or a columnar file's key reader.

use anyhow::{Context, Result, bail};

use super::columnar::keys::KeySource;
use super::csv::{Layout, TextSource};
use super::npy::NpySource;
use super::{ColumnarTables, InputSpec, Opened, Opener, Source, Streams, open_one};

/// What the keys are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// Text (a CSV field, a string column): compared and sorted bytewise.
    Text,
    /// Integers, sorted numerically.
    Int,
    /// Bools (false before true).
    Bool,
}

/// The reader of a key input.
pub enum KeyColumn {
    /// An NPY array (a file, a stream or an archive member), read as its stored elements.
    Array(NpySource),
    /// A column of a CSV table, as text.
    Text(TextSource),
    /// A column of a Parquet or Arrow file.
    Columnar(KeySource),
}

/// A key input, opened.
pub struct KeyInput {
    /// Its reader.
    pub column: KeyColumn,
    /// The shape of the keys.
    pub shape: Vec<usize>,
    /// Whether the keys are a column of a table that the inputs read too: then they are decoded
    /// with the inputs' values, in the same pass.
    pub shared: bool,
}

impl Opener {
    /// Opens the keys `spec` names, after [`Opener::open`] opened the inputs: a column of a table
    /// that an input reads is read with it, and a stream an input read is served from its held
    /// bytes. `taken` says whether an input names the same file or stream, so that a stream
    /// read once already is refused rather than read again.
    pub fn open_keys(&mut self, spec: &InputSpec, taken: bool) -> Result<KeyInput> {
        self.keys_of(spec, taken)
            .with_context(|| format!("--by {spec}"))
    }

    fn keys_of(&mut self, spec: &InputSpec, taken: bool) -> Result<KeyInput> {
        let key = spec.key.as_deref();
        let csv = self.tables.iter().find(|(loc, _)| *loc == spec.location);
        if let Some((_, table)) = csv {
            return text_keys(table, key, true);
        }
        let columnar = self.columnar.iter().find(|(loc, _)| *loc == spec.location);
        if let Some((_, table)) = columnar {
            let column = KeyColumn::Columnar(table.key_reader(key)?);
            return Ok(KeyInput {
                column,
                shape: vec![table.rows()],
                shared: true,
            });
        }
        let streams = Streams {
            users: 1,
            once: false,
            taken,
            held: &mut self.streams,
            csv: &self.csv,
            keys: spec.key.as_deref().into_iter().collect(),
        };
        let mut tables = Vec::new();
        let mut columnar = ColumnarTables::new(self.threads);
        let opened = open_one(spec, (&self.csv, true), streams, &mut tables, &mut columnar)?;
        Ok(match opened {
            Opened::Array(array) => KeyInput {
                shape: array.shape().to_vec(),
                column: KeyColumn::Array(array),
                shared: false,
            },
            Opened::Csv(table) => text_keys(&table, key, false)?,
            Opened::Columnar(table) => KeyInput {
                column: KeyColumn::Columnar(table.key_reader(key)?),
                shape: vec![table.rows()],
                shared: false,
            },
        })
    }
}

/// The keys of a column of a CSV table.
fn text_keys(table: &super::csv::Table, key: Option<&str>, shared: bool) -> Result<KeyInput> {
    let column = key_column(table.layout(), key)?;
    Ok(KeyInput {
        column: KeyColumn::Text(table.text_reader(column)?),
        shape: vec![table.layout().rows],
        shared,
    })
}

/// The key column of a table: the one `key` names, or the only one.
fn key_column(layout: &Layout, key: Option<&str>) -> Result<usize> {
    match key {
        Some(key) => layout.column(key),
        None if layout.ncols == 1 => Ok(0),
        None => bail!(
            "the table has {} columns: name the key column as PATH:COLUMN",
            layout.ncols
        ),
    }
}
