//! Results read as a stream: JSON values one after another (results concatenated, or one per
//! line as NDJSON), each an object or an array of them, every record checked as it is read so
//! that memory holds checked records, never a document's text or tree.

use std::cell::Cell;
use std::collections::HashMap;
use std::fmt;
use std::io::{BufReader, Read};
use std::rc::Rc;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::error::Category;

use crate::error::{Error, Result, ensure};
use crate::summary::Summary;

/// The most results of one kind (loss, parameter, reduction, dtype) a shard, or a merge, holds:
/// as many as `huber --by` keeps groups.
pub const MAX_RESULTS_PER_KIND: usize = 1 << 22;

/// The most bytes of JSON text one result may take: far more than huber writes for a key of the
/// longest record it reads (1 MiB, each byte escaped as `\u00XX`), and little enough that an
/// endless string in a stream fails instead of filling memory.
pub const MAX_RESULT_BYTES: u64 = 8 << 20;

/// Reads the JSON values of `reader` one after another, calling `each(k, results)` with the
/// 1-based number of each value and its checked results (none for `[]`). Returns how many values
/// there were. A syntax error, a record that is not huber's, more than
/// [`MAX_RESULTS_PER_KIND`] results of one kind in a value, or a result longer than
/// [`MAX_RESULT_BYTES`] is an [`Error::InvalidRecord`].
pub fn read_results<R: Read>(
    reader: R,
    mut each: impl FnMut(usize, Vec<Summary>) -> Result<()>,
) -> Result<usize> {
    let since = Rc::new(Cell::new(0u64));
    let limited = Limited {
        inner: reader,
        since: Rc::clone(&since),
    };
    let mut de = serde_json::Deserializer::from_reader(BufReader::with_capacity(64 << 10, limited));
    let mut k = 0;
    loop {
        since.set(0);
        match skip_space(&mut de) {
            Ok(false) => return Ok(k),
            Ok(true) => {}
            Err(e) => return Err(json_error(e, &since)),
        }
        let seed = Results {
            since: Rc::clone(&since),
        };
        let results = seed
            .deserialize(&mut de)
            .map_err(|e| json_error(e, &since))?;
        k += 1;
        each(k, results)?;
    }
}

/// Whether another value follows (after white space).
fn skip_space<R: serde_json::de::Read<'static>>(
    de: &mut serde_json::Deserializer<R>,
) -> serde_json::Result<bool> {
    // `end` succeeds only at the end of the input after white space.
    match de.end() {
        Ok(()) => Ok(false),
        Err(e) if e.classify() == Category::Syntax => Ok(true),
        Err(e) => Err(e),
    }
}

/// A serde error as a record error: JSON syntax as "not valid JSON", a refused record as itself.
fn json_error(e: serde_json::Error, since: &Cell<u64>) -> Error {
    if since.get() > MAX_RESULT_BYTES {
        return Error::invalid_record(format!(
            "a result longer than {} MiB of JSON: not a result written by huber -f json",
            MAX_RESULT_BYTES >> 20
        ));
    }
    match e.classify() {
        Category::Data => Error::invalid_record(e.to_string()),
        Category::Io => Error::invalid_record(format!("cannot read: {e}")),
        _ => Error::invalid_record(format!("not valid JSON: {e}")),
    }
}

/// A reader that fails once more than [`MAX_RESULT_BYTES`] were read since `since` was reset.
struct Limited<R> {
    inner: R,
    since: Rc<Cell<u64>>,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.since.get() > MAX_RESULT_BYTES {
            return Err(std::io::Error::other("result too long"));
        }
        let n = self.inner.read(buf)?;
        self.since.set(self.since.get() + n as u64);
        Ok(n)
    }
}

/// The results of one JSON value: an object, or an array read record by record.
struct Results {
    since: Rc<Cell<u64>>,
}

impl<'de> DeserializeSeed<'de> for Results {
    type Value = Vec<Summary>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<Summary>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Results {
    type Value = Vec<Summary>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object or array written by huber -f json")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Summary>, A::Error> {
        let mut out = Vec::new();
        let mut kinds = Kinds::default();
        while let Some(v) = seq.next_element::<Value>()? {
            let checked = super::result(v)
                .and_then(|r| kinds.add(&r).map(|()| r))
                .map_err(|e| de::Error::custom(format!("result {}: {e}", out.len() + 1)))?;
            out.push(checked);
            self.since.set(0);
        }
        Ok(out)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Vec<Summary>, A::Error> {
        let v = Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
        let r = super::result(v).map_err(de::Error::custom)?;
        Ok(vec![r])
    }
}

/// How many results of each kind (loss, parameter, reduction, dtype) were seen.
#[derive(Default)]
pub struct Kinds(HashMap<String, usize>);

impl Kinds {
    /// Counts `r`, failing beyond [`MAX_RESULTS_PER_KIND`] of its kind.
    pub fn add(&mut self, r: &Summary) -> Result<()> {
        let kind = format!("{:?} {} {}", r.loss, r.reduction, r.precision);
        let n = self.0.entry(kind).or_default();
        *n += 1;
        ensure!(
            *n <= MAX_RESULTS_PER_KIND,
            "more than {MAX_RESULTS_PER_KIND} results of {} {}: more groups than huber --by keeps",
            r.loss.kind(),
            r.reduction
        );
        Ok(())
    }
}

impl fmt::Debug for Kinds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kinds({} kinds)", self.0.len())
    }
}
