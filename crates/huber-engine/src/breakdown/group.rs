//! `--by`: one exact accumulator per distinct key.
//!
//! Keys are bytes: a CSV field after unquoting, compared byte for byte, or an integer or bool
//! label stored as its 8 little-endian bytes (so that integers are compared exactly, never
//! through `f64`). A [`GroupTable`] maps them to dense ids with an open-addressing table over
//! one byte arena: about 75 bytes per group plus the key's length. Results come out sorted by
//! key (integers numerically, text bytewise), as pandas' `groupby(sort=True)` gives them: the
//! order does not depend on which shard or chunk saw a key first, so grouped shards merge by
//! key into the same list.

use anyhow::{Result, bail};

use crate::float::Float;
use crate::reduce::Accumulator;

use super::{Chunk, GroupSums};

/// At most this many groups: about 256 MiB of tables, before the keys' own bytes.
pub const MAX_GROUPS: usize = 1 << 22;
/// At most this many bytes of key text, over all groups.
pub const MAX_KEY_BYTES: usize = 256 << 20;

pub use crate::input::keys::KeyKind;

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
    #[cfg(test)]
    pub fn get(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.data[start..self.ends[i]]
    }

    /// The keys `range` (indices into the batch), in order.
    pub fn range(&self, range: std::ops::Range<usize>) -> impl Iterator<Item = &[u8]> {
        let mut start = if range.start == 0 {
            0
        } else {
            self.ends[range.start - 1]
        };
        self.ends[range].iter().map(move |&end| {
            let key = &self.data[start..end];
            start = end;
            key
        })
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

/// The 8 bytes of `key` from `i`, little-endian.
#[inline(always)]
fn word(key: &[u8], i: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&key[i..i + 8]);
    u64::from_le_bytes(w)
}

/// The 4 bytes of `key` from `i`, little-endian.
#[inline(always)]
fn half(key: &[u8], i: usize) -> u64 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&key[i..i + 4]);
    u64::from(u32::from_le_bytes(w))
}

/// The product of `a` and `b` in 128 bits, its halves folded onto each other: every bit of
/// either factor reaches the low bits the table indexes by.
#[inline(always)]
fn fold(a: u64, b: u64) -> u64 {
    let wide = u128::from(a) * u128::from(b);
    (wide as u64) ^ ((wide >> 64) as u64)
}

/// Keys of at most this many bytes are held whole in two words, and compared without reading
/// the arena.
const SHORT: usize = 15;

/// A key as the table looks it up: its hash and two words, which hold a short key's bytes
/// and, in the last byte, its length (a longer key's first bytes and hash).
#[derive(Clone, Copy)]
struct Probe<'k> {
    key: &'k [u8],
    words: [u64; 2],
    hash: u64,
}

impl<'k> Probe<'k> {
    /// Reads and hashes `key` without calls or loops: short keys (ids, names, dates) are the
    /// common case, and a lookup per row must stay a few nanoseconds. Bytes are read as
    /// overlapping words, and the overlap shifted out; one folded multiply mixes the words.
    #[inline(always)]
    fn of(key: &'k [u8]) -> Probe<'k> {
        const K: [u64; 2] = [0x243f_6a88_85a3_08d3, 0x1319_8a2e_0370_7344];
        let n = key.len();
        let words = match n {
            0 => [0, 0],
            1..4 => {
                let at = |i: usize| u64::from(key[i]) << (8 * i);
                [at(0) | at(n / 2) | at(n - 1), 0]
            }
            4..8 => [half(key, 0) | (half(key, n - 4) >> (8 * (8 - n))) << 32, 0],
            8..=SHORT => {
                let rest = word(key, n - 8).checked_shr(8 * (16 - n) as u32);
                [word(key, 0), rest.unwrap_or(0)]
            }
            _ => {
                let mut h = K[0];
                let mut i = 0;
                while i + 16 < n {
                    h = fold(word(key, i) ^ h, word(key, i + 8) ^ K[1]);
                    i += 16;
                }
                // The last 16 bytes, overlapping the ones before if need be.
                let h = fold(word(key, n - 16) ^ h, word(key, n - 8) ^ K[1]);
                return Probe {
                    key,
                    words: [word(key, 0), h | 0xff << 56],
                    hash: h,
                };
            }
        };
        let words = [words[0], words[1] | (n as u64) << 56];
        let hash = fold(words[0] ^ K[0], words[1] ^ K[1]);
        Probe { key, words, hash }
    }

    /// What a slot keeps of the hash beside the id.
    #[inline(always)]
    fn tag(&self) -> u32 {
        (self.hash >> (64 - TAG_BITS)) as u32
    }
}

/// Bits of a slot that hold [`Probe::tag`]; the others hold the id + 1 (at most
/// [`MAX_GROUPS`]).
const TAG_BITS: u32 = 9;
const ID_BITS: u32 = 32 - TAG_BITS;
const _: () = assert!(MAX_GROUPS < 1 << ID_BITS);

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

/// Distinct keys with dense ids in order of first appearance: an open-addressing table over
/// one byte arena. What a lookup of a short key reads, the slots and the words, is about 24
/// bytes per key, so that a thousand keys stay in a core's first-level cache.
#[derive(Debug, Clone)]
struct KeySet {
    kind: KeyKind,
    arena: Vec<u8>,
    /// Key `id` is `arena[bounds[id]..bounds[id + 1]]`.
    bounds: Vec<u32>,
    /// Per id, the key's [`Probe`] words.
    words: Vec<[u64; 2]>,
    /// Linear probing, at most half full: 0 is empty, else the key's [`Probe::tag`] above its
    /// id + 1, so that a probe reads a key's words only where 9 bits of the hashes agree.
    slots: Vec<u32>,
}

impl KeySet {
    /// An empty set with room for `keys` keys before it grows.
    fn with_room(kind: KeyKind, keys: usize) -> KeySet {
        let mut bounds = Vec::with_capacity(keys + 1);
        bounds.push(0);
        KeySet {
            kind,
            arena: Vec::new(),
            bounds,
            words: Vec::with_capacity(keys),
            slots: vec![0; (2 * keys + 1).next_power_of_two().max(16)],
        }
    }

    fn len(&self) -> usize {
        self.bounds.len() - 1
    }

    #[inline]
    fn bytes(&self, id: usize) -> &[u8] {
        &self.arena[self.bounds[id] as usize..self.bounds[id + 1] as usize]
    }

    /// Where the key of `p` is: `Ok(id)`, or `Err(slot)`, the empty slot it would take.
    #[inline(always)]
    fn find(&self, p: &Probe<'_>) -> Result<usize, usize> {
        let (mask, tag) = (self.slots.len() - 1, p.tag());
        let mut s = p.hash as usize & mask;
        loop {
            let slot = self.slots[s];
            if slot == 0 {
                return Err(s);
            }
            if slot >> ID_BITS == tag {
                let id = (slot & ((1 << ID_BITS) - 1)) as usize - 1;
                if self.words[id] == p.words
                    && (p.key.len() <= SHORT || same_key(self.bytes(id), p.key))
                {
                    return Ok(id);
                }
            }
            s = (s + 1) & mask;
        }
    }

    /// The id of the key of `p`, adding it if it is new. Fails beyond [`MAX_GROUPS`] keys or
    /// [`MAX_KEY_BYTES`] bytes of keys, naming the limit.
    fn id(&mut self, p: &Probe<'_>) -> Result<usize> {
        let s = match self.find(p) {
            Ok(id) => return Ok(id),
            Err(s) => s,
        };
        let id = self.len();
        if id >= MAX_GROUPS {
            bail!(
                "--by found more than {MAX_GROUPS} distinct keys; huber keeps one result per \
                 group in memory and stops there (is the key column the one you meant?)"
            );
        }
        if self.arena.len() + p.key.len() > MAX_KEY_BYTES {
            bail!(
                "the keys of --by hold more than {} MiB of text; huber keeps every distinct key \
                 in memory and stops there (is the key column the one you meant?)",
                MAX_KEY_BYTES >> 20
            );
        }
        self.arena.extend_from_slice(p.key);
        self.bounds.push(self.arena.len() as u32);
        self.words.push(p.words);
        self.slots[s] = p.tag() << ID_BITS | (id as u32 + 1);
        if 2 * self.len() > self.slots.len() {
            self.grow();
        }
        Ok(id)
    }

    fn grow(&mut self) {
        let mut slots = vec![0u32; self.slots.len() * 2];
        let mask = slots.len() - 1;
        for id in 0..self.len() {
            let p = Probe::of(self.bytes(id));
            let mut s = p.hash as usize & mask;
            while slots[s] != 0 {
                s = (s + 1) & mask;
            }
            slots[s] = p.tag() << ID_BITS | (id as u32 + 1);
        }
        self.slots = slots;
    }

    #[cfg(test)]
    fn heap_bytes(&self) -> usize {
        self.arena.capacity()
            + self.bounds.capacity() * size_of::<u32>()
            + self.words.capacity() * size_of::<[u64; 2]>()
            + self.slots.capacity() * size_of::<u32>()
    }
}

/// Distinct keys with dense ids in order of first appearance, and an accumulator per id.
#[derive(Debug, Clone)]
pub struct GroupTable {
    keys: KeySet,
    accs: Vec<Accumulator>,
}

/// One chunk's sums per group, for [`GroupTable::combine`].
#[derive(Debug)]
pub struct Part {
    /// The table's number of groups when the chunk was summed: an id below it is the table's
    /// own; `base + i` is the chunk's `i`-th key that the table did not hold then.
    base: usize,
    /// The chunk's groups in order of first appearance.
    ids: Vec<u32>,
    /// Their sums.
    sums: GroupSums,
    /// The keys the table did not hold.
    new: KeySet,
}

/// Per worker thread: the chunk's index of each group id it meets. Up to [`DENSE_IDS`] ids, an
/// entry per id holds which chunk met it last (a stamp) and its index there; kept from chunk
/// to chunk, so that numbering a chunk's groups costs neither a hash nor clearing an entry per
/// group of the table. Beyond, a table hashed by id, sized for the chunk's keys, so that what
/// a thread holds stays bounded however many groups the run has.
#[derive(Default)]
struct ChunkIds {
    entries: Vec<[u32; 2]>,
    stamp: u32,
    /// Whether the chunk's ids are hashed: entries are then `[id + 1, index]`, 0 for empty.
    hashed: bool,
}

/// Group ids numbered through one entry each (8 bytes a thread): 512 KiB.
const DENSE_IDS: usize = 1 << 16;

impl ChunkIds {
    /// Starts a chunk of `keys` keys over ids below `ids`.
    fn start(&mut self, ids: usize, keys: usize) {
        if ids > DENSE_IDS {
            // At most half full: a chunk has at most `keys` groups.
            let slots = (2 * keys).next_power_of_two().max(16);
            self.entries.clear();
            self.entries.resize(slots, [0, 0]);
            self.hashed = true;
            return;
        }
        self.stamp = self.stamp.wrapping_add(1);
        // Stamps start again after a hashed chunk (whose entries are not stamps) and when
        // they wrap.
        if self.hashed || self.stamp == 0 {
            self.entries.clear();
            self.stamp = 1;
        }
        self.hashed = false;
        if self.entries.len() < ids {
            self.entries.resize(ids, [0, 0]);
        }
    }

    /// The chunk's index of group `id`, appending it to `groups` when the chunk meets it first.
    #[inline]
    fn index(&mut self, id: usize, groups: &mut Vec<u32>) -> u32 {
        if self.hashed {
            return self.hashed_index(id, groups);
        }
        let e = &mut self.entries[id];
        if e[0] != self.stamp {
            *e = [self.stamp, groups.len() as u32];
            groups.push(id as u32);
        }
        e[1]
    }

    /// [`ChunkIds::index`] in a chunk whose ids are hashed (linear probing).
    fn hashed_index(&mut self, id: usize, groups: &mut Vec<u32>) -> u32 {
        let mask = self.entries.len() - 1;
        let mut s = fold(id as u64, 0x9e37_79b9_7f4a_7c15) as usize & mask;
        loop {
            let e = &mut self.entries[s];
            if e[0] == id as u32 + 1 {
                return e[1];
            }
            if e[0] == 0 {
                *e = [id as u32 + 1, groups.len() as u32];
                groups.push(id as u32);
                return e[1];
            }
            s = (s + 1) & mask;
        }
    }
}

thread_local! {
    static CHUNK_IDS: std::cell::RefCell<ChunkIds> = std::cell::RefCell::default();
}

impl GroupTable {
    /// An empty table for keys of `kind`.
    pub fn new(kind: KeyKind) -> GroupTable {
        GroupTable {
            keys: KeySet::with_room(kind, 0),
            accs: Vec::new(),
        }
    }

    /// Number of groups.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there is no group yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The key of group `id`.
    pub fn key(&self, id: usize) -> Key {
        let b = self.keys.bytes(id);
        let int = || i64::from_le_bytes(b.try_into().unwrap_or_default());
        match self.keys.kind {
            KeyKind::Text => Key::Text(b.to_vec()),
            KeyKind::Int => Key::Int(int()),
            KeyKind::Bool => Key::Bool(int() != 0),
        }
    }

    /// The accumulator of group `id`.
    pub fn accumulator(&self, id: usize) -> &Accumulator {
        &self.accs[id]
    }

    /// Asks the CPU to bring group `id`'s accumulator and key into the cache: the read-out
    /// visits groups in key order, which is random in memory, and with a million groups every
    /// visit would wait for memory twice.
    #[inline]
    pub fn prefetch(&self, id: usize) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            let acc = self.accs.as_ptr().wrapping_add(id).cast::<i8>();
            let at = self.keys.bounds.get(id).map_or(0, |&b| b as usize);
            let key = self.keys.arena.as_ptr().wrapping_add(at).cast::<i8>();
            // SAFETY: a prefetch is a hint: it never faults and reads nothing back.
            unsafe {
                _mm_prefetch::<_MM_HINT_T0>(acc);
                _mm_prefetch::<_MM_HINT_T0>(key);
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = id;
    }

    /// The id of `key`, adding a group for it if it is new. Fails beyond [`MAX_GROUPS`] groups
    /// or [`MAX_KEY_BYTES`] bytes of keys, naming the limit.
    pub fn id(&mut self, key: &[u8]) -> Result<usize> {
        let id = self.keys.id(&Probe::of(key))?;
        if id == self.accs.len() {
            self.accs.push(Accumulator::default());
        }
        Ok(id)
    }

    /// Merges a chunk's sums into the groups of their keys. Parts are combined in the order of
    /// their chunks, so that each group's sum is the same for every thread count.
    pub fn combine(&mut self, part: Part) -> Result<()> {
        for (k, &id) in part.ids.iter().enumerate() {
            let id = match (id as usize).checked_sub(part.base) {
                None => id as usize,
                Some(new) => self.id(part.new.bytes(new))?,
            };
            part.sums.add_to(k, &mut self.accs[id]);
        }
        Ok(())
    }

    /// The group ids sorted by key: integers numerically, text bytewise.
    pub fn sorted(&self) -> Vec<usize> {
        let mut ids: Vec<usize> = (0..self.len()).collect();
        match self.keys.kind {
            KeyKind::Text => return self.sorted_text(),
            KeyKind::Int | KeyKind::Bool => ids.sort_unstable_by_key(|&id| match self.key(id) {
                Key::Int(k) => k,
                Key::Bool(b) => i64::from(b),
                Key::Text(_) => 0,
            }),
        }
        ids
    }

    /// The group ids sorted by their text keys, bytewise. Most comparisons are settled by the
    /// keys' first 16 bytes, read once into integers, rather than by reading two keys from
    /// the arena: a million keys sort in a fraction of the time.
    fn sorted_text(&self) -> Vec<usize> {
        let prefix = |id: usize| {
            let mut head = [0u8; 16];
            let b = self.keys.bytes(id);
            let n = b.len().min(16);
            head[..n].copy_from_slice(&b[..n]);
            let word = |i: usize| u64::from_be_bytes(head[i..i + 8].try_into().unwrap_or_default());
            (word(0), word(8), id as u32)
        };
        let mut order: Vec<(u64, u64, u32)> = (0..self.len()).map(prefix).collect();
        order.sort_unstable_by(|a, b| {
            let bytes = |id: u32| self.keys.bytes(id as usize);
            (a.0, a.1)
                .cmp(&(b.0, b.1))
                .then_with(|| bytes(a.2).cmp(bytes(b.2)))
        });
        order.into_iter().map(|(.., id)| id as usize).collect()
    }

    #[cfg(test)]
    /// Heap bytes held, for the memory budget.
    pub fn heap_bytes(&self) -> usize {
        let sums: usize = self.accs.iter().map(|a| a.sum().heap_bytes()).sum();
        self.keys.heap_bytes() + self.accs.capacity() * size_of::<Accumulator>() + sums
    }

    /// Sums one chunk per group (on a worker thread). Element `offset + i` belongs to key
    /// `(offset + i) / repeat` (a label per sample repeats over the trailing axes), which must
    /// lie in `keys`. Keys the table holds are found in it, read-only, so that combining the
    /// part needs no lookup for them; only the others are kept, in a small table of the part.
    pub fn partial<T: Float>(
        &self,
        c: &Chunk<'_, T>,
        keys: &KeyBatch,
        repeat: usize,
    ) -> Result<Part> {
        let first = c.offset / repeat;
        let count = if c.is_empty() {
            0
        } else {
            (c.offset + c.len() - 1) / repeat + 1 - first
        };
        let base = self.len();
        let mut new = KeySet::with_room(self.keys.kind, 0);
        let mut ids = Vec::new();
        // The chunk's group of each of its keys.
        let mut of_key = Vec::with_capacity(count);
        CHUNK_IDS.with_borrow_mut(|chunk_ids| -> Result<()> {
            chunk_ids.start(base + count, count);
            let mut last: Option<(&[u8], u32)> = None;
            for bytes in keys.range(first - keys.first..first - keys.first + count) {
                let group = match last {
                    // Sorted or clustered keys repeat: comparing with the last one skips the hash.
                    Some((prev, group)) if same_key(prev, bytes) => group,
                    _ => {
                        let p = Probe::of(bytes);
                        let id = match self.keys.find(&p) {
                            Ok(id) => id,
                            Err(_) => {
                                if new.len() == 0 {
                                    // Sized once for the keys left, rather than grown and
                                    // rehashed as a chunk of new keys comes.
                                    let left = count - of_key.len();
                                    new = KeySet::with_room(self.keys.kind, left);
                                }
                                base + new.id(&p)?
                            }
                        };
                        chunk_ids.index(id, &mut ids)
                    }
                };
                of_key.push(group);
                last = Some((bytes, group));
            }
            Ok(())
        })?;
        let sums = c.sums_by_key(&of_key, ids.len(), repeat);
        Ok(Part {
            base,
            ids,
            sums,
            new,
        })
    }
}

#[cfg(test)]
mod tests;
