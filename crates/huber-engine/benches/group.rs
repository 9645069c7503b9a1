//! Micro-benchmark of the `--by` group table (`GroupTable`, re-exported for it in
//! `huber_engine::internals`): adding distinct keys, and looking up one key per element, which
//! is the path `--by` takes for each element whose key differs from the previous one's (a hash,
//! a probe and a key comparison), for 1000 and a million distinct keys.
//!
//! Run: `cargo bench -p huber-engine --bench group` (add `-- --sample-count 10` for a short
//! run). The item throughput is keys per second; ns per key is the time divided by the keys
//! (N for `insert`, 65536 for `lookup`).
//!
//! Keys of three typical shapes: `int`, an integer label (8 bytes, `KeyKind::Int`); `id`, a text
//! id such as `cust0123456` (11 bytes, held whole in the table's two words); `uuid`, 36 bytes of
//! text (hashed in 16-byte steps and compared against the arena).
//!
//! Divan rather than criterion: see the comment at the top of `crates/huber-core/benches/kernel.rs`
//! (a much lighter build; items/s from a counter; constants and arguments as attributes).

use divan::Bencher;
use divan::counter::ItemsCount;
use huber_core::xorshift::Rng;
use huber_engine::internals::{GroupTable, KeyKind};

fn main() {
    divan::main();
}

/// Distinct keys: a thousand (the table stays in the first-level cache) and a million (every
/// lookup misses the caches).
const SIZES: [usize; 2] = [1000, 1_000_000];

/// Key shapes, as [`Keys::new`] writes them.
const SHAPES: [&str; 3] = ["int", "id", "uuid"];

/// Lookups per iteration of `lookup`.
const LOOKUPS: usize = 1 << 16;

/// `n` distinct keys of one shape, back to back in one buffer as the engine's key batches hold
/// them.
struct Keys {
    kind: KeyKind,
    data: Vec<u8>,
    ends: Vec<usize>,
}

impl Keys {
    fn new(shape: &str, n: usize) -> Keys {
        let mut rng = Rng(0xda94_2042_e4dd_58b5);
        let mut keys = Keys {
            kind: if shape == "int" {
                KeyKind::Int
            } else {
                KeyKind::Text
            },
            data: Vec::new(),
            ends: Vec::with_capacity(n),
        };
        for i in 0..n {
            match shape {
                // Sparse integer ids, as a database hands them out.
                "int" => keys
                    .data
                    .extend_from_slice(&(100_003 + 37 * i as i64).to_le_bytes()),
                "id" => keys
                    .data
                    .extend_from_slice(format!("cust{i:07}").as_bytes()),
                // Random hex, made distinct by the index in the last group.
                "uuid" => {
                    let (a, b) = (rng.next(), rng.next());
                    let uuid = format!(
                        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
                        a >> 32,
                        (a >> 16) & 0xffff,
                        a & 0xfff,
                        0x8000 | (b & 0x3fff),
                        i
                    );
                    keys.data.extend_from_slice(uuid.as_bytes());
                }
                _ => unreachable!("unknown shape {shape}"),
            }
            keys.ends.push(keys.data.len());
        }
        keys
    }

    fn get(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.data[start..self.ends[i]]
    }

    fn iter(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.ends.len()).map(|i| self.get(i))
    }

    /// A table holding every key.
    fn table(&self) -> GroupTable {
        let mut table = GroupTable::new(self.kind);
        for key in self.iter() {
            table.id(key).expect("within the limits");
        }
        table
    }
}

/// Adding `N` distinct keys to an empty table (which grows as they come), per key.
#[divan::bench(consts = SIZES, args = SHAPES)]
fn insert<const N: usize>(bencher: Bencher, shape: &str) {
    let keys = Keys::new(shape, N);
    bencher
        .counter(ItemsCount::new(N))
        .bench_local(|| keys.table());
}

/// Looking up keys drawn at random among the `N` a table holds, per key: what `--by` does
/// for an element whose key is not the previous element's.
#[divan::bench(consts = SIZES, args = SHAPES)]
fn lookup<const N: usize>(bencher: Bencher, shape: &str) {
    let keys = Keys::new(shape, N);
    let mut table = keys.table();
    let mut rng = Rng(0x1405_7b7e_f767_814f);
    let order: Vec<usize> = (0..LOOKUPS).map(|_| rng.below(N)).collect();
    bencher.counter(ItemsCount::new(LOOKUPS)).bench_local(|| {
        let mut sum = 0;
        for &i in &order {
            sum += table
                .id(divan::black_box(keys.get(i)))
                .expect("a key it holds");
        }
        sum
    });
}
