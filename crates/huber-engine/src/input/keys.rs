//! The keys of `--by`, opened as every other input is (the same [`Opener`], so the same
//! sniffing, streams and shared tables) and read by the same readers: the NPY reader's stored
//! elements, a CSV table's text reader, or a columnar file's key reader.

use anyhow::{Context, Result, bail};

use std::collections::VecDeque;

use anyhow::ensure;

use super::columnar::keys::KeySource;
use super::csv::{Layout, TextSource};
use super::dataset::{self, Shard};
use super::jsonl::JsonKeys;
use super::npy::NpySource;
use super::{ColumnarTables, InputSpec, Location, Opened, Opener, Source, Streams, open_one};

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
    /// A column or partition key of the files of a dataset, one after another.
    Dataset(DatasetKeys),
    /// A field of a JSON Lines table, as text.
    Json(JsonKeys),
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
        let mut keys = self
            .keys_of(spec, taken)
            .with_context(|| format!("--by {spec}"))?;
        if self.squeeze {
            keys.shape = super::squeezed(&keys.shape);
        }
        Ok(keys)
    }

    fn keys_of(&mut self, spec: &InputSpec, taken: bool) -> Result<KeyInput> {
        if let Location::Path(path) = &spec.location
            && let Some(shards) = dataset::expand(path)?
        {
            return self.dataset_keys(spec, shards, taken);
        }
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
        let json = self.json.iter().find(|(loc, _)| *loc == spec.location);
        if let Some((_, table)) = json {
            return Ok(KeyInput {
                column: KeyColumn::Json(table.key_reader(key, spec.to_string())?),
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
            Opened::Dataset(_) => bail!("internal error: a dataset opened as a file"),
            Opened::Json(table) => KeyInput {
                column: KeyColumn::Json(table.key_reader(key, spec.to_string())?),
                shape: vec![table.rows()],
                shared: false,
            },
        })
    }

    /// The keys of a dataset: a column of each file, or a partition key of the folders (the
    /// same text for every row of a file).
    fn dataset_keys(
        &mut self,
        spec: &InputSpec,
        shards: Vec<Shard>,
        taken: bool,
    ) -> Result<KeyInput> {
        let key = spec.key.as_deref();
        let partition = key.filter(|k| shards[0].partitions.iter().any(|(p, _)| p == k));
        // A partition key is integers where every folder writes one as pyarrow infers them (32
        // bits, printed back the same), so Dask's read_parquet gives the same keys; else text.
        let ints = partition.is_some_and(|p| {
            shards
                .iter()
                .all(|s| plain_int(partition_value(s, p)).is_some())
        });
        let mut parts = VecDeque::with_capacity(shards.len());
        let (mut rows, mut shared, mut kind) = (0usize, false, None);
        for shard in &shards {
            let sub = InputSpec {
                location: Location::Path(shard.path.clone()),
                key: match partition {
                    Some(_) => None,
                    None => spec.key.clone(),
                },
            };
            let (part, input_shape, input_shared) = match partition {
                Some(p) => {
                    let text = partition_value(shard, p);
                    let label = match plain_int(text) {
                        Some(v) if ints => Label {
                            kind: KeyKind::Int,
                            bytes: v.to_le_bytes().to_vec(),
                        },
                        _ => Label {
                            kind: KeyKind::Text,
                            bytes: text.as_bytes().to_vec(),
                        },
                    };
                    self.partition_part(label, &sub, taken)
                }
                None => self.column_part(&sub, taken).map_err(|e| {
                    // A misspelt partition key is not among the file's columns either: name the
                    // keys the folders give too.
                    let keys: Vec<&str> =
                        shard.partitions.iter().map(|(k, _)| k.as_str()).collect();
                    match keys[..] {
                        [] => e,
                        _ => anyhow::anyhow!(
                            "{e:#}; the folders' partition keys: {}",
                            keys.join(", ")
                        ),
                    }
                }),
            }
            .with_context(|| shard.name())?;
            let part_kind = part.kind();
            ensure!(
                *kind.get_or_insert(part_kind) == part_kind,
                "{}: its keys are {part_kind:?} but those of the first file, {}, are {:?}",
                shard.name(),
                shards[0].name(),
                kind.unwrap_or(part_kind)
            );
            rows = rows.checked_add(input_shape).context("too many keys")?;
            shared |= input_shared;
            parts.push_back(part);
        }
        Ok(KeyInput {
            column: KeyColumn::Dataset(DatasetKeys {
                parts,
                kind: kind.unwrap_or(KeyKind::Text),
                scratch: (Vec::new(), Vec::new()),
            }),
            shape: vec![rows],
            shared,
        })
    }

    /// The keys of a column of one file of a dataset: its rows and whether an input reads it.
    fn column_part(&mut self, sub: &InputSpec, taken: bool) -> Result<(KeyPart, usize, bool)> {
        let input = self.keys_of(sub, taken)?;
        ensure!(
            input.shape.len() == 1,
            "--by of a dataset needs table columns as keys"
        );
        let part = match input.column {
            KeyColumn::Text(t) => KeyPart::Text(t),
            KeyColumn::Columnar(c) => KeyPart::Columnar(c),
            KeyColumn::Json(j) => KeyPart::Json(j),
            _ => bail!("--by of a dataset needs table columns as keys, not NPY arrays"),
        };
        Ok((part, input.shape[0], input.shared))
    }

    /// A partition key's value for every row of one file of a dataset. The rows of a CSV table
    /// not counted before the run are those of its first column, read with the table.
    fn partition_part(
        &mut self,
        value: Label,
        sub: &InputSpec,
        taken: bool,
    ) -> Result<(KeyPart, usize, bool)> {
        let csv = self.tables.iter().find(|(loc, _)| *loc == sub.location);
        if let Some((_, table)) = csv {
            let rows = table.layout().rows;
            if table.layout().open_ended {
                let rows_of = table.text_reader(0)?;
                return Ok((
                    KeyPart::Relabel {
                        rows: Box::new(KeyPart::Text(rows_of)),
                        value,
                    },
                    rows,
                    true,
                ));
            }
            return Ok((KeyPart::Constant { value, rows }, rows, false));
        }
        let columnar = self.columnar.iter().find(|(loc, _)| *loc == sub.location);
        if let Some((_, table)) = columnar {
            let rows = table.rows();
            return Ok((KeyPart::Constant { value, rows }, rows, false));
        }
        // A JSON Lines file an input reads, its rows not counted: one key for each row read.
        let json = self.json.iter().find(|(loc, _)| *loc == sub.location);
        if let Some((_, table)) = json
            && table.open_ended()
        {
            let rows = KeyPart::Relabel {
                rows: Box::new(KeyPart::Json(table.row_reader(sub.to_string())?)),
                value,
            };
            return Ok((rows, table.rows(), true));
        }
        // A file no input reads: only its rows are needed.
        let streams = Streams {
            users: 1,
            once: false,
            taken,
            held: &mut self.streams,
            csv: &self.csv,
            keys: Vec::new(),
        };
        let mut tables = Vec::new();
        let mut columnar = ColumnarTables::new(self.threads);
        let opened = open_one(sub, (&self.csv, true), streams, &mut tables, &mut columnar)?;
        let rows = match opened {
            Opened::Array(a) => a.shape().first().copied().unwrap_or(1),
            Opened::Csv(t) => t.layout().rows,
            Opened::Columnar(t) => t.rows(),
            Opened::Json(t) => t.rows(),
            Opened::Dataset(_) => bail!("internal error: a dataset opened as a file"),
        };
        Ok((KeyPart::Constant { value, rows }, rows, false))
    }
}

/// The value of partition key `key` of a file of a dataset (the innermost folder's; every file
/// has the dataset's keys).
fn partition_value<'a>(shard: &'a Shard, key: &str) -> &'a str {
    let found = shard.partitions.iter().rev().find(|(k, _)| k == key);
    found.map_or("", |(_, v)| v.as_str())
}

/// `text` as an integer if it is a 32-bit one as it would be printed (`-5`, `12`; not `007`,
/// `+3`, `-0`, `1e3` or `3000000000`, which pyarrow's partitioning reads as text).
fn plain_int(text: &str) -> Option<i64> {
    let v: i32 = text.parse().ok()?;
    (v.to_string() == text).then_some(i64::from(v))
}

/// A partition key's value, as the key of each row of its file: text, or an integer as integer
/// keys are held (8 bytes, little-endian).
struct Label {
    kind: KeyKind,
    bytes: Vec<u8>,
}

/// One file's keys in a dataset's.
enum KeyPart {
    Text(TextSource),
    Columnar(KeySource),
    Json(JsonKeys),
    /// The same key for each of `rows` rows.
    Constant {
        value: Label,
        rows: usize,
    },
    /// The same key for each row `rows` reads (a text column of a CSV or JSON Lines table).
    Relabel {
        rows: Box<KeyPart>,
        value: Label,
    },
}

impl KeyPart {
    /// Appends the next `want` keys of the file to `data` and `ends`; fewer at its end. A
    /// relabelled part reads its rows' fields into `scratch` and drops them.
    fn read_into(
        &mut self,
        want: usize,
        data: &mut Vec<u8>,
        ends: &mut Vec<usize>,
        scratch: &mut (Vec<u8>, Vec<usize>),
    ) -> Result<usize> {
        Ok(match self {
            KeyPart::Text(t) => t.read_into(want, data, ends)?,
            KeyPart::Columnar(c) => c.read_into(want, data, ends)?,
            KeyPart::Json(j) => j.read_into(want, data, ends)?,
            KeyPart::Constant { value, rows } => {
                let got = want.min(*rows);
                *rows -= got;
                push_copies(&value.bytes, got, data, ends);
                got
            }
            KeyPart::Relabel { rows, value } => {
                let (d, e) = scratch;
                d.clear();
                e.clear();
                let got = rows.read_into(want, d, e, &mut (Vec::new(), Vec::new()))?;
                push_copies(&value.bytes, got, data, ends);
                got
            }
        })
    }

    fn kind(&self) -> KeyKind {
        match self {
            KeyPart::Columnar(c) => c.kind(),
            KeyPart::Constant { value, .. } | KeyPart::Relabel { value, .. } => value.kind,
            _ => KeyKind::Text,
        }
    }
}

/// The keys of the files of a dataset, one file after another.
pub struct DatasetKeys {
    parts: VecDeque<KeyPart>,
    kind: KeyKind,
    /// Fields read and dropped (the rows of a [`KeyPart::Relabel`]).
    scratch: (Vec<u8>, Vec<usize>),
}

impl DatasetKeys {
    /// What the keys are.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// Appends the next `n` keys to `data`, back to back, and where each ends to `ends`; fewer
    /// only at the end of the last file. Returns how many.
    pub fn read_into(
        &mut self,
        n: usize,
        data: &mut Vec<u8>,
        ends: &mut Vec<usize>,
    ) -> Result<usize> {
        let mut done = 0;
        while done < n {
            let Some(part) = self.parts.front_mut() else {
                break;
            };
            let want = n - done;
            let got = part.read_into(want, data, ends, &mut self.scratch)?;
            done += got;
            if got < want {
                self.parts.pop_front();
            }
        }
        Ok(done)
    }
}

fn push_copies(value: &[u8], n: usize, data: &mut Vec<u8>, ends: &mut Vec<usize>) {
    for _ in 0..n {
        data.extend_from_slice(value);
        ends.push(data.len());
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
