//! `--by`: one exact accumulator per distinct key.
//!
//! Keys are bytes: a CSV field after unquoting, compared byte for byte, or an integer or bool
//! label stored as its 8 little-endian bytes (so that integers are compared exactly, never
//! through `f64`). A [`GroupTable`] maps them to dense ids with an open-addressing table over
//! one byte arena: about 60 bytes per group plus the key's length. Results come out sorted by
//! key (integers numerically, text bytewise), as pandas' `groupby(sort=True)` gives them: the
//! order does not depend on which shard or chunk saw a key first, so grouped shards merge by
//! key into the same list.

use anyhow::{Result, bail};

use crate::float::Float;
use crate::reduce::Accumulator;

use super::Chunk;

/// At most this many groups: about 256 MiB of tables, before the keys' own bytes.
pub const MAX_GROUPS: usize = 1 << 22;
/// At most this many bytes of key text, over all groups.
pub const MAX_KEY_BYTES: usize = 256 << 20;

/// What the keys are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// Text (a CSV field): compared and sorted bytewise.
    Text,
    /// Integers, sorted numerically.
    Int,
    /// Bools (false before true).
    Bool,
}

/// A key as it is reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// Text, as the bytes of the field.
    Text(Vec<u8>),
    /// An integer label.
    Int(i64),
    /// A bool label.
    Bool(bool),
}

/// The keys of consecutive rows `first..first + len()`: key `i` is
/// `data[ends[i - 1]..ends[i]]` (integers and bools as 8 little-endian bytes of an `i64`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyBatch {
    /// What the keys are.
    pub kind: KeyKind,
    /// Index of the first key.
    pub first: usize,
    /// The keys' bytes, back to back.
    pub data: Vec<u8>,
    /// Where each key ends in `data`.
    pub ends: Vec<usize>,
}

impl KeyBatch {
    /// An empty batch starting at key `first`.
    pub fn new(kind: KeyKind, first: usize) -> KeyBatch {
        KeyBatch {
            kind,
            first,
            data: Vec::new(),
            ends: Vec::new(),
        }
    }

    /// Appends one key's bytes.
    pub fn push(&mut self, key: &[u8]) {
        self.data.extend_from_slice(key);
        self.ends.push(self.data.len());
    }

    /// Appends an integer key.
    pub fn push_int(&mut self, key: i64) {
        self.push(&key.to_le_bytes());
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there is no key.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The bytes of key `first + i`.
    pub fn get(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.data[start..self.ends[i]]
    }

    /// Appends the keys `range` (indices into `from`).
    pub fn append(&mut self, from: &KeyBatch, range: std::ops::Range<usize>) {
        if range.is_empty() {
            return;
        }
        let base = if range.start == 0 {
            0
        } else {
            from.ends[range.start - 1]
        };
        let shift = self.data.len();
        self.data
            .extend_from_slice(&from.data[base..from.ends[range.end - 1]]);
        self.ends
            .extend(from.ends[range].iter().map(|e| e - base + shift));
    }
}

/// Distinct keys with dense ids in order of first appearance, and an accumulator per id.
#[derive(Debug, Clone)]
pub struct GroupTable {
    kind: KeyKind,
    arena: Vec<u8>,
    ends: Vec<u32>,
    /// Open addressing, linear probing: 0 is empty, else id + 1. At most half full.
    slots: Vec<u32>,
    accs: Vec<Accumulator>,
}

/// The 8 bytes of `key` from `i`, little-endian.
#[inline(always)]
fn word(key: &[u8], i: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&key[i..i + 8]);
    u64::from_le_bytes(w)
}

/// Hashes a key without calls or data-dependent copies: short keys (ids, names, dates) are the
/// common case, and a lookup per row must stay a few nanoseconds.
#[inline]
fn hash(key: &[u8]) -> u64 {
    const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
    let mix = |h: u64, x: u64| (h.rotate_left(5) ^ x).wrapping_mul(K);
    let n = key.len();
    let mut h = n as u64;
    if n >= 8 {
        let mut i = 0;
        while i + 8 < n {
            h = mix(h, word(key, i));
            i += 8;
        }
        // The last 8 bytes, overlapping the word before if need be.
        h = mix(h, word(key, n - 8));
    } else {
        let x = key
            .iter()
            .enumerate()
            .fold(0u64, |x, (k, &b)| x | u64::from(b) << (8 * k));
        h = mix(h, x);
    }
    // Keys that differ only in their last bytes (store-17, store-18) differ in the high bits
    // of the product; one wide multiply folded onto itself spreads them into the low bits the
    // table indexes by.
    let wide = u128::from(h) * 0x9e37_79b9_7f4a_7c15;
    (wide as u64) ^ ((wide >> 64) as u64)
}

/// Whether two keys are equal; keys of 8 to 16 bytes are compared as two words, without a
/// call to `memcmp`.
#[inline]
fn same_key(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if (8..=16).contains(&n) {
        return word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8);
    }
    a == b
}

impl GroupTable {
    /// An empty table for keys of `kind`.
    pub fn new(kind: KeyKind) -> GroupTable {
        GroupTable::with_room(kind, 0)
    }

    /// An empty table for keys of `kind` with room for `groups` groups before it grows.
    fn with_room(kind: KeyKind, groups: usize) -> GroupTable {
        GroupTable {
            kind,
            arena: Vec::new(),
            ends: Vec::with_capacity(groups),
            slots: vec![0; (2 * groups + 1).next_power_of_two().max(16)],
            accs: Vec::new(),
        }
    }

    /// Number of groups.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    fn key_bytes(&self, id: usize) -> &[u8] {
        let start = if id == 0 {
            0
        } else {
            self.ends[id - 1] as usize
        };
        &self.arena[start..self.ends[id] as usize]
    }

    /// The key of group `id`.
    pub fn key(&self, id: usize) -> Key {
        let b = self.key_bytes(id);
        let int = || i64::from_le_bytes(b.try_into().unwrap_or_default());
        match self.kind {
            KeyKind::Text => Key::Text(b.to_vec()),
            KeyKind::Int => Key::Int(int()),
            KeyKind::Bool => Key::Bool(int() != 0),
        }
    }

    /// The accumulator of group `id`.
    pub fn accumulator(&self, id: usize) -> &Accumulator {
        &self.accs[id]
    }

    /// The id of `key`, adding a group for it if it is new. Fails beyond [`MAX_GROUPS`] groups
    /// or [`MAX_KEY_BYTES`] bytes of keys, naming the limit.
    pub fn id(&mut self, key: &[u8]) -> Result<usize> {
        let mask = self.slots.len() - 1;
        let mut s = hash(key) as usize & mask;
        loop {
            match self.slots[s] {
                0 => break,
                id if same_key(self.key_bytes(id as usize - 1), key) => return Ok(id as usize - 1),
                _ => s = (s + 1) & mask,
            }
        }
        let id = self.ends.len();
        if id >= MAX_GROUPS {
            bail!(
                "--by found more than {MAX_GROUPS} distinct keys; huber keeps one result per \
                 group in memory and stops there (is the key column the one you meant?)"
            );
        }
        if self.arena.len() + key.len() > MAX_KEY_BYTES {
            bail!(
                "the keys of --by hold more than {} MiB of text; huber keeps every distinct key \
                 in memory and stops there (is the key column the one you meant?)",
                MAX_KEY_BYTES >> 20
            );
        }
        self.arena.extend_from_slice(key);
        self.ends.push(self.arena.len() as u32);
        self.accs.push(Accumulator::default());
        self.slots[s] = id as u32 + 1;
        if 2 * self.ends.len() > self.slots.len() {
            self.grow();
        }
        Ok(id)
    }

    fn grow(&mut self) {
        let mut slots = vec![0u32; self.slots.len() * 2];
        let mask = slots.len() - 1;
        for id in 0..self.ends.len() {
            let mut s = hash(self.key_bytes(id)) as usize & mask;
            while slots[s] != 0 {
                s = (s + 1) & mask;
            }
            slots[s] = id as u32 + 1;
        }
        self.slots = slots;
    }

    /// Merges another table's groups into this one: each of its groups, in its id order, is
    /// merged into the group of the same key. `later` holds elements that follow this table's.
    pub fn combine(&mut self, later: GroupTable) -> Result<()> {
        for id in 0..later.len() {
            let mine = self.id(later.key_bytes(id))?;
            self.accs[mine].merge(&later.accs[id]);
        }
        Ok(())
    }

    /// The group ids sorted by key: integers numerically, text bytewise.
    pub fn sorted(&self) -> Vec<usize> {
        let mut ids: Vec<usize> = (0..self.len()).collect();
        match self.kind {
            KeyKind::Text => {
                ids.sort_unstable_by(|&a, &b| self.key_bytes(a).cmp(self.key_bytes(b)))
            }
            KeyKind::Int | KeyKind::Bool => ids.sort_unstable_by_key(|&id| match self.key(id) {
                Key::Int(k) => k,
                Key::Bool(b) => i64::from(b),
                Key::Text(_) => 0,
            }),
        }
        ids
    }

    #[cfg(test)]
    /// Heap bytes held, for the memory budget.
    pub fn heap_bytes(&self) -> usize {
        self.arena.capacity()
            + self.ends.capacity() * size_of::<u32>()
            + self.slots.capacity() * size_of::<u32>()
            + self.accs.capacity() * size_of::<Accumulator>()
    }

    /// Sums one chunk per group (on a worker thread). Element `offset + i` belongs to key
    /// `(offset + i) / repeat` (a label per sample repeats over the trailing axes), which must
    /// lie in `keys`. The result is a small table of the chunk's own groups, for
    /// [`GroupTable::combine`].
    pub fn partial<T: Float>(
        &self,
        c: &Chunk<'_, T>,
        keys: &KeyBatch,
        repeat: usize,
    ) -> Result<GroupTable> {
        // A chunk meets at most as many groups as the whole table has (and as it has keys), so
        // its table is sized once rather than grown and rehashed as its groups come.
        let room = self.len().min(c.len() / repeat + 1);
        let mut local = GroupTable::with_room(self.kind, room);
        // Runs of elements that share a key, as (local id, start, end); the key index steps
        // by one per run, so there is one division per chunk, not one per element.
        let mut runs: Vec<(usize, usize, usize)> = Vec::new();
        let mut key = c.offset / repeat;
        let (mut pos, mut end) = (0, ((key + 1) * repeat - c.offset).min(c.len()));
        let mut last: Option<usize> = None;
        while pos < c.len() {
            let bytes = keys.get(key - keys.first);
            // Sorted or clustered keys repeat: comparing with the last one skips the hash.
            let id = match last {
                Some(id) if same_key(local.key_bytes(id), bytes) => id,
                _ => local.id(bytes)?,
            };
            match runs.last_mut() {
                Some(run) if run.0 == id => run.2 = end,
                _ => runs.push((id, pos, end)),
            }
            last = Some(id);
            (pos, end, key) = (end, (end + repeat).min(c.len()), key + 1);
        }
        let sums = c.sums_by_group(&runs, 0, local.len());
        local.accs = sums.into_iter().map(Option::unwrap_or_default).collect();
        Ok(local)
    }
}

#[cfg(test)]
mod tests;
