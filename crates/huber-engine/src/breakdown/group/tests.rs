use proptest::prelude::*;

use super::*;
use crate::breakdown::testing::{Data, chunk_sizes, dyadic};

fn text_keys(keys: &[&str]) -> KeyBatch {
    let mut b = KeyBatch::new(KeyKind::Text, 0);
    for k in keys {
        b.push(k.as_bytes());
    }
    b
}

fn run(data: &Data, keys: &KeyBatch, repeat: usize, sizes: &[usize]) -> GroupTable {
    let mut table = GroupTable::new(keys.kind);
    for c in data.chunks(sizes, false) {
        let part = table.partial(&c, keys, repeat).unwrap();
        table.combine(part).unwrap();
    }
    table
}

#[test]
fn a_range_of_keys_reads_them_in_order() {
    let keys = text_keys(&["a", "", "bcd", "ef"]);
    for (from, to) in [(0, 4), (1, 3), (2, 2), (3, 4)] {
        let got: Vec<&[u8]> = keys.range(from..to).collect();
        let want: Vec<&[u8]> = (from..to).map(|i| keys.get(i)).collect();
        assert_eq!(got, want);
    }
}

#[test]
fn text_keys_are_exact_bytes_sorted_bytewise() {
    let mut t = GroupTable::new(KeyKind::Text);
    for k in ["b", "a ", "a", "B", "b", "a,\"x\""] {
        t.id(k.as_bytes()).unwrap();
    }
    assert_eq!(t.len(), 5);
    let keys: Vec<Key> = t.sorted().into_iter().map(|id| t.key(id)).collect();
    let want = ["B", "a", "a ", "a,\"x\"", "b"];
    assert_eq!(keys, want.map(|k| Key::Text(k.as_bytes().to_vec())));
}

#[test]
fn integer_keys_sort_numerically_and_exactly() {
    let mut t = GroupTable::new(KeyKind::Int);
    for k in [3i64, -1, i64::MAX, i64::MAX - 1, 3, 0] {
        t.id(&k.to_le_bytes()).unwrap();
    }
    let keys: Vec<Key> = t.sorted().into_iter().map(|id| t.key(id)).collect();
    let want = [-1, 0, 3, i64::MAX - 1, i64::MAX].map(Key::Int);
    assert_eq!(keys, want);
}

#[test]
fn labels_per_sample_repeat_over_trailing_elements() {
    // Shape (3, 2): sample labels 7, 5, 7.
    let pred = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let data = Data::new(pred, vec![0.0; 6], None);
    let mut keys = KeyBatch::new(KeyKind::Int, 0);
    for k in [7, 5, 7] {
        keys.push_int(k);
    }
    let t = run(&data, &keys, 2, &[3]);
    let order = t.sorted();
    assert_eq!(t.key(order[0]), Key::Int(5));
    let five = t.accumulator(order[0]);
    let seven = t.accumulator(order[1]);
    assert_eq!((five.count(), five.linear()), (2, 2));
    // Huber δ = 1 of 1, 2, 5, 6: 0.5 + 1.5 + 4.5 + 5.5.
    assert_eq!(seven.reduce(crate::reduce::Reduction::Sum), 12.0);
    assert_eq!(seven.count(), 4);
}

#[test]
fn a_batch_may_start_anywhere() {
    let data = Data::new(vec![1.0, 2.0, 3.0, 4.0], vec![0.0; 4], None);
    let mut keys = text_keys(&["x", "y"]);
    keys.first = 2;
    let mut t = GroupTable::new(KeyKind::Text);
    let part = t.partial(&data.chunk(2, 4, false), &keys, 1).unwrap();
    t.combine(part).unwrap();
    assert_eq!(t.len(), 2);
    assert_eq!(t.accumulator(0).reduce(crate::reduce::Reduction::Sum), 2.5);
}

#[test]
fn too_many_groups_is_an_error_naming_the_limit() {
    let mut t = GroupTable::new(KeyKind::Int);
    for k in 0..MAX_GROUPS as i64 {
        t.id(&k.to_le_bytes()).unwrap();
    }
    assert!(t.id(&0i64.to_le_bytes()).is_ok());
    let err = t.id(&(-1i64).to_le_bytes()).unwrap_err().to_string();
    assert!(err.contains(&MAX_GROUPS.to_string()), "{err}");
}

#[test]
fn a_million_groups_fit_in_the_budget() {
    let mut t = GroupTable::new(KeyKind::Text);
    for k in 0..1_000_000u32 {
        t.id(format!("store-{k:07}").as_bytes()).unwrap();
    }
    // Each group's exact sum holding typical losses (its limbs are on the heap).
    for acc in &mut t.accs {
        acc.push(0.123_456_789_f64, true);
        acc.push(1.5e-7_f64, false);
    }
    let per_group = t.heap_bytes() / t.len();
    // 13-byte keys: the arena, the end offsets, the slots and the accumulators with their limbs.
    assert!(per_group <= 192, "{per_group} bytes per group");
    assert!(t.heap_bytes() <= 256 << 20);
}

proptest! {
    #[test]
    fn each_group_equals_a_reduction_of_its_elements(
        (pred, target, labels) in (0usize..120).prop_flat_map(|n| {
            (dyadic(n), dyadic(n), proptest::collection::vec(0u8..5, n))
        }),
        sizes in chunk_sizes(),
    ) {
        let data = Data::new(pred, target, None);
        let names: Vec<String> = labels.iter().map(|l| format!("k{l}")).collect();
        let keys = text_keys(&names.iter().map(|s| s.as_str()).collect::<Vec<_>>());
        let table = run(&data, &keys, 1, &sizes);
        for id in 0..table.len() {
            let Key::Text(k) = table.key(id) else { unreachable!() };
            // A separate run over this part of the partition.
            let part: Vec<usize> = (0..names.len()).filter(|&i| names[i].as_bytes() == k).collect();
            let sub = Data::new(
                part.iter().map(|&i| data.pred[i]).collect(),
                part.iter().map(|&i| data.target[i]).collect(),
                None,
            );
            let mut want = crate::reduce::Accumulator::default();
            sub.chunk(0, part.len(), false).add_run(&mut want, 0..part.len());
            let got = table.accumulator(id);
            prop_assert_eq!((got.count(), got.linear()), (want.count(), want.linear()));
            prop_assert_eq!(got.sum(), want.sum());
        }
        let total: u64 = (0..table.len()).map(|id| table.accumulator(id).count()).sum();
        prop_assert_eq!(total as usize, names.len());
    }
}

#[test]
fn keys_of_every_length_stay_apart() {
    // Lengths 0 to 40 (the word-wise hash and compare have edges at 8 and 16), and keys that
    // differ in a single byte anywhere.
    let base: Vec<u8> = (0..40u8).map(|i| b'a' + i % 26).collect();
    let mut keys: Vec<Vec<u8>> = (0..=base.len()).map(|n| base[..n].to_vec()).collect();
    for i in 0..20 {
        let mut k = base[..20].to_vec();
        k[i] ^= 1;
        keys.push(k);
    }
    let mut t = GroupTable::new(KeyKind::Text);
    let ids: Vec<usize> = keys.iter().map(|k| t.id(k).unwrap()).collect();
    assert_eq!(ids, (0..keys.len()).collect::<Vec<_>>());
    for (k, &id) in keys.iter().zip(&ids) {
        assert_eq!(t.id(k).unwrap(), id);
        assert_eq!(t.key(id), Key::Text(k.clone()));
    }
}

proptest! {
    #[test]
    fn text_keys_sort_bytewise_past_a_shared_prefix(
        keys in proptest::collection::vec(
            (0usize..3, proptest::collection::vec(prop_oneof![Just(0u8), Just(b'a'), Just(0xff)], 0..6)),
            0..40,
        ),
    ) {
        // Prefixes of 0, 14 and 16 bytes, so that keys differ before, at and after the first
        // 16 bytes, with NUL and 0xff bytes where a zero-padded comparison could go wrong.
        let keys: Vec<Vec<u8>> = keys
            .into_iter()
            .map(|(p, tail)| [&b"customer-0000000"[..[0, 14, 16][p]], &tail[..]].concat())
            .collect();
        let mut t = GroupTable::new(KeyKind::Text);
        for k in &keys {
            t.id(k).unwrap();
        }
        let got: Vec<Key> = t.sorted().into_iter().map(|id| t.key(id)).collect();
        let mut want = keys.clone();
        want.sort();
        want.dedup();
        prop_assert_eq!(got, want.into_iter().map(Key::Text).collect::<Vec<_>>());
    }
}

/// A chunk's groups are numbered the same whether the run's ids are few (an entry per id) or
/// many (hashed, so that a thread holds memory for the chunk's keys only), and a thread that
/// switches between the two, chunk after chunk and run after run, keeps numbering right.
#[test]
fn chunk_ids_number_groups_alike_dense_or_hashed() {
    let mut rng = crate::xorshift::Rng(0x05ee_d1d5);
    let mut ids = ChunkIds::default();
    for round in 0..40 {
        let many = DENSE_IDS + 1 + rng.below(1000);
        let range = if round % 3 == 0 {
            many
        } else {
            1 + rng.below(5000)
        };
        let keys: Vec<usize> = (0..1 + rng.below(3000)).map(|_| rng.below(range)).collect();
        // The reference: first appearance in a map.
        let mut want_groups: Vec<u32> = Vec::new();
        let want: Vec<u32> = keys
            .iter()
            .map(
                |&k| match want_groups.iter().position(|&g| g as usize == k) {
                    Some(i) => i as u32,
                    None => {
                        want_groups.push(k as u32);
                        want_groups.len() as u32 - 1
                    }
                },
            )
            .collect();
        ids.start(range, keys.len());
        assert_eq!(ids.hashed, range > DENSE_IDS);
        let mut groups = Vec::new();
        let got: Vec<u32> = keys.iter().map(|&k| ids.index(k, &mut groups)).collect();
        assert_eq!((got, groups), (want, want_groups), "round {round}");
    }
}
