use proptest::prelude::*;

use super::*;
use crate::breakdown::testing::{Data, chunk_sizes, dyadic};

fn run(data: &Data, k: usize, sizes: &[usize], omit: bool) -> TopK {
    let mut top = TopK::new(k);
    for c in data.chunks(sizes, omit) {
        let part = top.partial(&c);
        top.combine(part);
    }
    top
}

fn indices(top: &TopK) -> Vec<usize> {
    top.worst().iter().map(|w| w.index).collect()
}

#[test]
fn ties_go_to_the_lower_index_and_nan_ranks_first() {
    // Losses (huber δ = 1 against 0): 0.5, 0.5, NaN, 2.5, 0.5, 2.5.
    let pred = vec![1.0, -1.0, f32::NAN, 3.0, 1.0, -3.0];
    let data = Data::new(pred, vec![0.0; 6], None);
    let top = run(&data, 4, &[2], false);
    assert_eq!(indices(&top), vec![2, 3, 5, 0]);
    let w = top.worst()[1];
    assert_eq!((w.pred, w.target, w.loss), (3.0, 0.0, 2.5));
    assert_eq!(indices(&run(&data, 4, &[2], true)), vec![3, 5, 0, 1]);
    assert!(run(&data, 0, &[3], false).worst().is_empty());
    assert_eq!(run(&data, 10, &[1], true).worst().len(), 5);
}

proptest! {
    #[test]
    fn equals_a_full_sort_for_every_chunking(
        (pred, target) in (0usize..200).prop_flat_map(|n| (dyadic(n), dyadic(n))),
        k in 0usize..20,
        sizes in chunk_sizes(),
        omit in any::<bool>(),
        nans in proptest::collection::vec(0usize..200, 0..4),
    ) {
        let mut pred = pred;
        let n = pred.len();
        for i in nans {
            if i < n {
                pred[i] = f32::NAN;
            }
        }
        let data = Data::new(pred, target, None);
        let mut all: Vec<Worst> = data
            .losses
            .iter()
            .enumerate()
            .filter(|(_, l)| !(omit && l.is_nan()))
            .map(|(i, &l)| Worst {
                index: i,
                pred: data.pred[i] as f64,
                target: data.target[i] as f64,
                weight: None,
                loss: l as f64,
            })
            .collect();
        all.sort_by(rank);
        all.truncate(k);
        let got = run(&data, k, &sizes, omit);
        prop_assert_eq!(indices(&got), all.iter().map(|w| w.index).collect::<Vec<_>>());
    }
}

#[test]
fn the_sink_gathers_candidates_and_gives_the_same_lists() {
    // Enough elements for many merges of the pending candidates, with equal losses.
    let pred: Vec<f32> = (0..3000).map(|i| ((i * 37) % 101) as f32).collect();
    let data = Data::new(pred, vec![0.0; 3000], None);
    for k in [1, 7, 150, 5000] {
        let mut sink = Top::new(&[Loss::huber(1.0).unwrap()], k);
        let mut direct = TopK::new(k);
        for c in data.chunks(&[64, 1000, 3], false) {
            let part = sink.lists[0].partial(&c);
            sink.combine(vec![part]).unwrap();
            assert!(sink.pending[0].len() < k.max(1) + 1000);
            let part = direct.partial(&c);
            direct.combine(part);
        }
        assert_eq!(sink.finish()[0].worst(), direct.worst(), "k = {k}");
    }
}
