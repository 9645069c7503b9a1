//! `--by INPUT` end to end: opening the key input, the engine sink that sums each chunk per
//! group, and the grouped results in their listed order.
//!
//! Keys are handed to the sink on the driving thread ([`Sink::begin_batch`]) before the chunks
//! that need them. A key column of a table that the inputs read (CSV, Parquet, Arrow) is
//! decoded in the same pass as their numbers, so its keys are already there; any other key
//! input is read by a reader on a thread of its own, ahead of the chunks, so that its parse
//! overlaps the computation.

use std::sync::Mutex;
use std::sync::mpsc::{Receiver, sync_channel};

use anyhow::{Context, Result, bail, ensure};

use super::group::{GroupTable, KeyBatch, Part};
use super::keys::{self, KeyReader, key_repeat};
use crate::array::Element;
use crate::dtype::Precision;
use crate::input::InputSpec;
use crate::input::keys::KeyInput;
use crate::loss::Loss;
use crate::pipeline::{Chunk, Sink};
use crate::reduce::Reduction;
use crate::summary::{Group, GroupKey, Summary};

/// An opened key input: its reader and the shape of its keys.
pub struct Keys {
    reader: Box<dyn KeyReader>,
    shape: Vec<usize>,
    name: String,
    /// Whether the reader decodes a table that the inputs read too: then its keys are decoded
    /// with theirs and read where they are needed, not on a thread of their own.
    shared: bool,
}

impl Keys {
    /// The keys of `spec`, which [`crate::input::Opener::open_keys`] opened as `input`.
    pub fn new(spec: &InputSpec, input: KeyInput) -> Result<Keys> {
        let name = spec.to_string();
        let reader = keys::reader(input.column, &name).with_context(|| format!("--by {name}"))?;
        Ok(Keys {
            reader,
            shape: input.shape,
            name,
            shared: input.shared,
        })
    }
}

/// How many groups ahead of the one read out the read-out asks for the next ones' memory.
const PREFETCH_AHEAD: usize = 16;

/// Keys asked for at a time from a reader.
const KEYS_AHEAD: usize = 1 << 16;

/// Where the sink's keys come from. The mutexes are there only so that the sink is `Sync`:
/// only the driving thread reads.
enum KeyFeed {
    /// A reader on a thread of its own, ahead of what is asked, so that parsing a key input
    /// of its own overlaps the computation.
    Ahead(Ahead),
    /// A reader of a table that the inputs read too, whose keys are parsed with their values:
    /// read where they are needed.
    Here(Mutex<Box<dyn KeyReader>>),
}

impl KeyFeed {
    fn new(reader: Box<dyn KeyReader>, shared: bool) -> KeyFeed {
        if shared {
            KeyFeed::Here(Mutex::new(reader))
        } else {
            KeyFeed::Ahead(Ahead::spawn(reader))
        }
    }

    /// Appends the next `n` keys to `to`; fewer only at the end of the input. Returns how many.
    fn read_into(&mut self, to: &mut KeyBatch, n: usize) -> Result<usize> {
        match self {
            KeyFeed::Ahead(ahead) => ahead.read_into(to, n),
            KeyFeed::Here(reader) => reader
                .get_mut()
                .unwrap_or_else(|p| p.into_inner())
                .read_into(to, n),
        }
    }
}

/// A key reader on a thread of its own that reads [`KEYS_AHEAD`] keys at a time, two batches
/// ahead of what is asked.
struct Ahead {
    rx: Mutex<Receiver<Result<KeyBatch>>>,
    /// The batch last received; its keys from `used` on are not yet handed out. Keys are
    /// copied from it straight into the caller's batch, so that no second batch-sized buffer
    /// of keys is held.
    pending: KeyBatch,
    used: usize,
    done: bool,
}

impl Ahead {
    fn spawn(mut reader: Box<dyn KeyReader>) -> Ahead {
        let kind = reader.kind();
        let (tx, rx) = sync_channel(2);
        std::thread::spawn(move || {
            loop {
                let batch = reader.next_keys(KEYS_AHEAD);
                let last = !matches!(&batch, Ok(b) if b.len() == KEYS_AHEAD);
                // The receiver is gone when the run failed or ended: nothing more to read.
                if tx.send(batch).is_err() || last {
                    break;
                }
            }
        });
        Ahead {
            rx: Mutex::new(rx),
            pending: KeyBatch::new(kind, 0),
            used: 0,
            done: false,
        }
    }

    /// Appends the next `n` keys to `to`; fewer only at the end of the input. Returns how many.
    fn read_into(&mut self, to: &mut KeyBatch, n: usize) -> Result<usize> {
        let mut got = 0;
        while got < n {
            if self.used == self.pending.len() {
                if self.done {
                    break;
                }
                let rx = self.rx.get_mut().unwrap_or_else(|p| p.into_inner());
                self.pending = match rx.recv() {
                    Ok(b) => b?,
                    Err(_) => bail!("internal error: the key reader stopped"),
                };
                self.used = 0;
                self.done = self.pending.len() < KEYS_AHEAD;
            }
            let take = (n - got).min(self.pending.len() - self.used);
            to.append(&self.pending, self.used..self.used + take);
            self.used += take;
            got += take;
        }
        Ok(got)
    }
}

/// Drops the first `n` keys of `b` in place, keeping its buffers for the keys to come.
fn drop_front(b: &mut KeyBatch, n: usize) {
    let n = n.min(b.len());
    let cut = if n == 0 { 0 } else { b.ends[n - 1] };
    b.data.drain(..cut);
    b.ends.drain(..n);
    for e in &mut b.ends {
        *e -= cut;
    }
    b.first += n;
}

/// The engine sink of `--by`: per loss, one accumulator per group.
pub struct GroupSink {
    losses: Vec<Loss>,
    keys: KeyFeed,
    /// Elements per key: 1, or the product of the trailing axes for a label per sample.
    repeat: usize,
    /// The keys of the batch being computed (and of a sample it shares with the one before).
    batch: KeyBatch,
    name: String,
    samples: usize,
    /// One table per loss.
    tables: Vec<GroupTable>,
}

impl GroupSink {
    /// A sink for `losses` over inputs of `shape`, keyed by `keys`, whose shape must be the
    /// inputs' or that of their leading axes.
    pub fn new(losses: &[Loss], keys: Keys, shape: &[usize]) -> Result<GroupSink> {
        let repeat =
            key_repeat(&keys.shape, shape).with_context(|| format!("--by {}", keys.name))?;
        let kind = keys.reader.kind();
        Ok(GroupSink {
            losses: losses.to_vec(),
            keys: KeyFeed::new(keys.reader, keys.shared),
            // A trailing axis of length 0 leaves no element to key.
            repeat: repeat.max(1),
            batch: KeyBatch::new(kind, 0),
            name: keys.name,
            samples: keys.shape.iter().product(),
            tables: losses.iter().map(|_| GroupTable::new(kind)).collect(),
        })
    }

    /// The results, per loss in order and within a loss by key, as `reduction` finishes them,
    /// one at a time (a million groups are not held as results at once). `by` names the key
    /// input in each result.
    pub fn results<'s>(
        &'s self,
        reduction: Reduction,
        shape: &'s [usize],
        precision: Precision,
    ) -> impl Iterator<Item = Result<Summary>> + 's {
        self.losses
            .iter()
            .zip(&self.tables)
            .flat_map(move |(loss, table)| {
                let order = table.sorted();
                (0..order.len()).map(move |i| {
                    if let Some(&ahead) = order.get(i + PREFETCH_AHEAD) {
                        table.prefetch(ahead);
                    }
                    let id = order[i];
                    let acc = table.accumulator(id);
                    let group = Group {
                        by: self.name.clone(),
                        key: group_key(table.key(id), &self.name)?,
                    };
                    Ok(
                        Summary::new(*loss, reduction, acc, shape.to_vec(), precision)
                            .in_group(group),
                    )
                })
            })
    }
}

/// A key as results carry it; text keys must be UTF-8, as JSON and CSV text is.
fn group_key(key: super::group::Key, name: &str) -> Result<GroupKey> {
    Ok(match key {
        super::group::Key::Int(k) => GroupKey::Int(k),
        super::group::Key::Bool(b) => GroupKey::Bool(b),
        super::group::Key::Text(bytes) => {
            GroupKey::Text(String::from_utf8(bytes).map_err(|e| {
                let lossy = String::from_utf8_lossy(e.as_bytes()).into_owned();
                anyhow::anyhow!("--by {name}: the key {lossy:?} is not valid UTF-8 text")
            })?)
        }
    })
}

impl Sink for GroupSink {
    type Part = Vec<Part>;

    fn chunk<T: Element>(&self, c: &Chunk<'_, T>) -> Result<Vec<Part>> {
        let losses = self.losses.iter().zip(&self.tables).enumerate();
        losses
            .map(|(k, (loss, table))| {
                let view = super::Chunk::of(c, k, loss);
                table.partial(&view, &self.batch, self.repeat)
            })
            .collect()
    }

    fn combine(&mut self, part: Vec<Part>) -> Result<()> {
        for (table, p) in self.tables.iter_mut().zip(part) {
            table.combine(p)?;
        }
        Ok(())
    }

    fn begin_batch(&mut self, start: usize, len: usize) -> Result<()> {
        if len == 0 {
            return Ok(());
        }
        let (first, end) = (start / self.repeat, (start + len - 1) / self.repeat + 1);
        let have = self.batch.first + self.batch.len();
        // Keys already read from `first` on (a sample that the batch before also covered)
        // stay; the batch's buffers are reused, so that a batch of keys is not copied.
        if first < have {
            let stale = first - self.batch.first;
            drop_front(&mut self.batch, stale);
        } else {
            self.batch.data.clear();
            self.batch.ends.clear();
            self.batch.first = first;
        }
        let want = end.saturating_sub(have.max(first));
        let read = self.keys.read_into(&mut self.batch, want)?;
        ensure!(
            read == want,
            "--by {}: the keys end after {} of the {} expected",
            self.name,
            have.max(first) + read,
            self.samples
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::breakdown::group::KeyKind;

    fn batch(keys: &[&str], first: usize) -> KeyBatch {
        let mut b = KeyBatch::new(KeyKind::Text, first);
        for k in keys {
            b.push(k.as_bytes());
        }
        b
    }

    #[test]
    fn a_batch_drops_its_front_and_appends_by_key() {
        let mut b = batch(&["a", "bb", "", "ccc"], 5);
        drop_front(&mut b, 2);
        assert_eq!(b, batch(&["", "ccc"], 7));
        let mut joined = batch(&["x"], 3);
        joined.append(&b, 1..2);
        assert_eq!(joined, batch(&["x", "ccc"], 3));
        joined.append(&b, 0..0);
        assert_eq!(joined, batch(&["x", "ccc"], 3));
        drop_front(&mut b, 9);
        assert_eq!(b, KeyBatch::new(KeyKind::Text, 9));
    }
}
