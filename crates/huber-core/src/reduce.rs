//! Reductions: exact sums, rounded once to the result type.
//!
//! PyTorch sums f32 losses in f32, which drifts on long inputs. Here every element loss goes
//! into an [`ExactSum`], which keeps the sum exactly, whatever its range; the reduced value is
//! that exact sum (or the exact sum ÷ the count) rounded once to the result type: correctly
//! rounded. The state depends only on the multiset of element losses, so chunk boundaries,
//! thread counts, shards and the order partial sums are merged in never show in it.

use std::fmt;

use crate::dtype::Precision;
use crate::exact::{ExactSum, Grid};
use crate::float::Float;

/// How element losses are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reduction {
    /// Every element loss, in C order.
    None,
    /// The sum divided by the element count.
    #[default]
    Mean,
    /// The sum.
    Sum,
    /// The sum divided by the weights' sum, Σwℓ / Σw: Keras 3's `mean_with_sample_weight`,
    /// what PyTorch's `mse_loss` and `l1_loss` with `weight=` compute.
    WeightedMean,
}

impl Reduction {
    /// `none`, `mean`, `sum` or `weighted-mean`.
    pub fn name(self) -> &'static str {
        match self {
            Reduction::None => "none",
            Reduction::Mean => "mean",
            Reduction::Sum => "sum",
            Reduction::WeightedMean => "weighted-mean",
        }
    }
}

impl fmt::Display for Reduction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a reduction keeps while elements stream past: the exact sum, the count and the linear
/// count. Two accumulators of the same multiset of element losses are equal, whatever chunks,
/// threads or merges made them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Accumulator {
    /// The exact sum of the element losses.
    sum: ExactSum,
    /// How many element losses went into `sum`.
    count: u64,
    /// How many of them had `|r| ≥ δ`.
    linear: u64,
}

impl Accumulator {
    /// The accumulator of `count` element losses that sum to `sum`, `linear` of them in the
    /// linear regime (a state read back from a record; the caller checks that it is one).
    pub fn from_parts(sum: ExactSum, count: u64, linear: u64) -> Accumulator {
        Accumulator { sum, count, linear }
    }

    /// The exact sum of the element losses.
    pub fn sum(&self) -> &ExactSum {
        &self.sum
    }

    /// The exact sum of the element losses, taken out of the accumulator.
    pub fn into_sum(self) -> ExactSum {
        self.sum
    }

    /// How many element losses went into the sum.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// How many of them had `|r| ≥ δ`.
    pub fn linear(&self) -> u64 {
        self.linear
    }

    /// Adds a chunk of element losses.
    pub fn add<T: Float>(&mut self, losses: &[T], linear: u64) {
        T::add_exact(losses, &mut self.sum);
        self.count += losses.len() as u64;
        self.linear += linear;
    }

    /// Adds one element loss (the elements of a `--by` group, which arrive between other
    /// groups' elements); `linear` says whether it is in the linear regime.
    #[inline]
    pub fn push<T: Float>(&mut self, x: T, linear: bool) {
        x.push_exact(&mut self.sum);
        self.count += 1;
        self.linear += u64::from(linear);
    }

    /// Adds `count` element losses, `linear` of them in the linear regime, that sum to `units`
    /// units of `grid` (a sum of [`Float::units`] over a slice that `grid` was made for).
    pub fn add_units(&mut self, units: i128, grid: Grid, count: u64, linear: u64) {
        self.sum.add_units(units, grid);
        self.count += count;
        self.linear += linear;
    }

    /// Adds the element losses of a chunk that are not NaN (`--nan omit`); `linear` counts only
    /// those.
    pub fn add_omitting_nan<T: Float>(&mut self, losses: &[T], linear: u64) {
        if !losses.iter().any(|x| x.is_nan()) {
            return self.add(losses, linear);
        }
        let kept: Vec<T> = losses.iter().copied().filter(|x| !x.is_nan()).collect();
        self.add(&kept, linear);
    }

    /// Combines another accumulator: the result is the same in any order.
    pub fn merge(&mut self, other: &Accumulator) {
        self.sum.merge(&other.sum);
        self.count += other.count;
        self.linear += other.linear;
    }

    /// The reduced value, correctly rounded to `f64`. An accumulator alone knows no weights: its
    /// weighted mean is the mean (every weight 1).
    pub fn reduce(&self, reduction: Reduction) -> f64 {
        self.value(reduction, Precision::F64)
    }

    /// The reduced value rounded once, directly from the exact sum, to `precision` (and widened
    /// to `f64`, exactly): the sum, or the mean as the exact sum ÷ the count (NaN for a count of
    /// 0). A mean of values whose sum is beyond `f64`'s range is still finite.
    pub fn value(&self, reduction: Reduction, precision: Precision) -> f64 {
        let s = &self.sum;
        match (reduction, precision) {
            (Reduction::Mean | Reduction::WeightedMean, Precision::F64) => {
                s.div_count_f64(self.count)
            }
            (Reduction::Mean | Reduction::WeightedMean, Precision::F32) => {
                f64::from(s.div_count_f32(self.count))
            }
            (Reduction::Mean | Reduction::WeightedMean, Precision::F16) => {
                half::f16::from_bits(s.div_count_f16_bits(self.count)).to_f64()
            }
            (Reduction::Sum | Reduction::None, Precision::F64) => s.to_f64(),
            (Reduction::Sum | Reduction::None, Precision::F32) => f64::from(s.to_f32()),
            (Reduction::Sum | Reduction::None, Precision::F16) => {
                half::f16::from_bits(s.to_f16_bits()).to_f64()
            }
        }
    }

    /// The share of counted elements in the linear regime (NaN when nothing was counted).
    pub fn linear_fraction(&self) -> f64 {
        if self.count == 0 {
            f64::NAN
        } else {
            self.linear as f64 / self.count as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_tiny_next_to_huge_exactly() {
        let mut acc = Accumulator::default();
        acc.add(&[1e16_f64, 1.0, 1.0, -1e16], 0);
        assert_eq!(acc.reduce(Reduction::Sum), 2.0);
    }

    #[test]
    fn mean_of_nothing_is_nan_and_sum_is_zero() {
        let acc = Accumulator::default();
        assert!(acc.reduce(Reduction::Mean).is_nan());
        assert_eq!(acc.reduce(Reduction::Sum), 0.0);
    }

    #[test]
    fn non_finite_sums() {
        let mut acc = Accumulator::default();
        acc.add(&[1.0_f64, f64::INFINITY, 2.0], 0);
        assert_eq!(acc.reduce(Reduction::Mean), f64::INFINITY);
        acc.add(&[f64::NAN], 0);
        assert!(acc.reduce(Reduction::Sum).is_nan());
        let mut big = Accumulator::default();
        big.add(&[f64::MAX, f64::MAX], 0);
        assert_eq!(big.reduce(Reduction::Sum), f64::INFINITY);
    }

    #[test]
    fn mean_of_values_whose_sum_overflows() {
        let mut acc = Accumulator::default();
        acc.add(&[f64::MAX, f64::MAX / 2.0], 0);
        assert_eq!(acc.reduce(Reduction::Mean), f64::MAX * 0.75);
        assert_eq!(acc.reduce(Reduction::Sum), f64::INFINITY);
        let mut a = Accumulator::default();
        a.add(&[f64::MAX], 0);
        let mut b = Accumulator::default();
        b.add(&[f64::MAX], 0);
        a.merge(&b);
        assert_eq!(a.reduce(Reduction::Mean), f64::MAX);
    }

    #[test]
    fn pushes_equal_sums_of_slices() {
        let mut rng = crate::xorshift::Rng(0x9e37_79b9_7f4a_7c15);
        let mut next = move || {
            let r = rng.next();
            // Magnitudes over 40 binades, so that any rounding of the additions would show.
            ((r >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 2f64.powi((r % 40) as i32)
        };
        for len in [0, 1, 3, 4, 5, 8, 9, 17, 100, 5000] {
            let xs: Vec<f64> = (0..len).map(|_| next()).collect();
            let ys: Vec<f32> = xs.iter().map(|&x| x as f32).collect();
            let (mut a, mut b) = (Accumulator::default(), Accumulator::default());
            a.add(&xs, len.min(2) as u64);
            for (k, &x) in xs.iter().enumerate() {
                b.push(x, k < 2);
            }
            assert_eq!(a, b, "f64, {len} values");
            let (mut a, mut b) = (Accumulator::default(), Accumulator::default());
            a.add(&ys, 0);
            for &y in ys.iter().rev() {
                b.push(y, false);
            }
            assert_eq!(a, b, "f32, {len} values");
        }
    }

    #[test]
    fn rounds_once_to_the_result_type() {
        // 1 + 2^-24 + 2^-60 rounds up in f32 directly; via f64 it would be 1 + 2^-24, a tie that
        // rounds to even, 1.
        let mut acc = Accumulator::default();
        acc.add(&[1.0_f64, 2f64.powi(-24), 2f64.powi(-60)], 0);
        assert_eq!(
            acc.value(Reduction::Sum, Precision::F32),
            f64::from(1.0f32 + f32::EPSILON)
        );
        assert_eq!((acc.reduce(Reduction::Sum) as f32), 1.0);
        // In f16 likewise: 1 + 2^-11 + 2^-40.
        let mut acc = Accumulator::default();
        acc.add(&[1.0_f64, 2f64.powi(-11), 2f64.powi(-40)], 0);
        assert_eq!(
            acc.value(Reduction::Sum, Precision::F16),
            1.0 + 2f64.powi(-10)
        );
    }

    #[test]
    fn sum_is_correctly_rounded_past_a_tie() {
        // [1, 2^-53, 2^-200]: exactly above the tie between 1 and 1 + 2^-52.
        let mut acc = Accumulator::default();
        acc.add(&[1.0_f64, 2f64.powi(-53), 2f64.powi(-200)], 0);
        assert_eq!(acc.reduce(Reduction::Sum), 1.0000000000000002);
    }

    #[test]
    fn mean_is_correctly_rounded_for_thirds() {
        let mut acc = Accumulator::default();
        acc.add(&[1.0_f64, 0.0, 0.0], 0);
        assert_eq!(acc.reduce(Reduction::Mean), 1.0 / 3.0);
    }

    #[test]
    fn merge_equals_one_pass_in_any_order() {
        let xs: Vec<f64> = (0..1000)
            .map(|i| (i as f64).sqrt() * 1e-3 + 1e10 * ((i % 7) as f64))
            .collect();
        let mut whole = Accumulator::default();
        whole.add(&xs, 3);
        let (a, b) = xs.split_at(333);
        let (mut x, mut y) = (Accumulator::default(), Accumulator::default());
        x.add(a, 1);
        y.add(b, 2);
        let mut yx = y.clone();
        yx.merge(&x);
        x.merge(&y);
        assert_eq!(x, whole);
        assert_eq!(yx, whole);
        assert_eq!(x.reduce(Reduction::Sum), whole.reduce(Reduction::Sum));
    }
}
