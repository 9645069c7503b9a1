use proptest::prelude::*;

use super::*;
use crate::breakdown::testing::{Data, chunk_sizes, dyadic};
use crate::reduce::Reduction;

fn run(data: &Data, sizes: &[usize], omit: bool) -> WeightedMean {
    let mut w = WeightedMean::default();
    for c in data.chunks(sizes, omit) {
        w.combine(&crate::breakdown::weighted::partial(&c));
    }
    w
}

#[test]
fn divides_by_the_weights_sum() {
    // Losses 0.5, 2.5, 0.125 with weights 1, 2, 0: (0.5 + 5) / 3.
    let data = Data::new(vec![1.0, 3.0, 0.5], vec![0.0; 3], Some(vec![1.0, 2.0, 0.0]));
    let w = run(&data, &[2], false);
    assert_eq!(w.value(), 5.5 / 3.0);
    assert_eq!(w.weight_sum(), 3.0);
    assert_eq!(w.losses.count(), 3);
    assert_eq!(w.gradient_scale::<f32>(), (1.0f64 / 3.0) as f32);
}

#[test]
fn without_weights_it_is_the_mean() {
    let data = Data::new(vec![1.0, 3.0, 0.5], vec![0.0; 3], None);
    let w = run(&data, &[1], false);
    assert_eq!(w.value(), w.losses.reduce(Reduction::Mean));
}

#[test]
fn omitted_elements_leave_their_weight_out() {
    let data = Data::new(
        vec![1.0, f32::NAN, 3.0],
        vec![0.0; 3],
        Some(vec![1.0, 5.0, 1.0]),
    );
    assert_eq!(run(&data, &[3], true).value(), 1.5);
    assert!(run(&data, &[3], false).value().is_nan());
}

#[test]
fn zero_weight_sum_is_nan() {
    let data = Data::new(vec![1.0, 2.0], vec![0.0; 2], Some(vec![0.0, 0.0]));
    assert!(run(&data, &[1], false).value().is_nan());
    assert!(WeightedMean::default().value().is_nan());
}

#[test]
fn overflowing_sums_still_divide() {
    let mut w = WeightedMean::default();
    w.losses.add(&[f64::MAX, f64::MAX], 0);
    w.weights.add(&[1.0f64, 1.0], 0);
    assert_eq!(w.value(), f64::MAX);
    let mut both = WeightedMean::default();
    both.losses.add(&[f64::MAX, f64::MAX], 0);
    both.weights.add(&[f64::MAX, f64::MAX / 2.0], 0);
    assert_eq!(both.value(), 2.0 / 1.5);
}

#[test]
fn the_quotient_is_correctly_rounded() {
    let mut w = WeightedMean::default();
    // 1 + 2^-60 over 3: the low part changes the rounded quotient's last bit in some cases;
    // the result must be the double nearest to the exact quotient.
    w.losses.add(&[1.0f64, 2f64.powi(-60)], 0);
    w.weights.add(&[3.0f64], 0);
    let exact = 1.0 / 3.0 + 2f64.powi(-60) / 3.0;
    assert_eq!(w.value(), exact);
}

proptest! {
    #[test]
    fn every_chunking_gives_the_same_bits(
        (pred, target, weight) in (0usize..100)
            .prop_flat_map(|n| (dyadic(n), dyadic(n), dyadic(n))),
        sizes in chunk_sizes(),
    ) {
        let data = Data::new(pred, target, Some(weight));
        let whole = run(&data, &[usize::MAX], false);
        let cut = run(&data, &sizes, false);
        prop_assert_eq!(whole.value().to_bits(), cut.value().to_bits());
        // Sums start from +0, as the accumulators do (Rust's `sum` starts from -0).
        let sw = data.weight.as_ref().unwrap().iter().fold(0.0, |a, &w| a + w as f64);
        let swl = data.losses.iter().fold(0.0, |a, &l| a + l as f64);
        // 0/0 is NaN either way (its sign bit is not part of the result).
        let (got, want) = (whole.value(), swl / sw);
        prop_assert!(got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()));
    }
}
