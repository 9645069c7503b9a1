//! Reductions: exact-to-an-ulp sums in double-double arithmetic, combined in a fixed order.
//!
//! PyTorch sums f32 losses in f32, which drifts on long inputs. Here every element loss is
//! widened to `f64` and added into a double-double (`hi + lo`, about 106 bits), so the sum is
//! correct to within a tiny fraction of an f64 ulp before it is rounded once to the result type.
//! Partial sums are made per fixed-size chunk and combined in chunk order, so the result does not
//! depend on how chunks were spread over threads.

use std::fmt;

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

/// A double-double: the unevaluated sum `hi + lo` with `|lo| ≤ ulp(hi)/2`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Dd {
    /// The leading part.
    pub hi: f64,
    /// The rounding error of `hi`.
    pub lo: f64,
}

impl Dd {
    /// Adds one `f64` exactly (Knuth's TwoSum), renormalising.
    #[inline(always)]
    pub fn add(&mut self, x: f64) {
        let s = self.hi + x;
        let bb = s - self.hi;
        let err = (self.hi - (s - bb)) + (x - bb);
        self.hi = s;
        self.lo += err;
    }

    /// Adds another double-double.
    pub fn add_dd(&mut self, other: Dd) {
        if !(self.hi + other.hi).is_finite() {
            // Infinities and NaN: the low parts carry nothing (and may be NaN themselves).
            *self = Dd {
                hi: self.hi + other.hi,
                lo: 0.0,
            };
            return;
        }
        self.add(other.hi);
        self.lo += other.lo;
        let s = self.hi + self.lo;
        self.lo -= s - self.hi;
        self.hi = s;
    }

    /// The value rounded to `f64`. Non-finite sums are returned as they are (the low part of an
    /// overflowed sum is meaningless).
    pub fn value(self) -> f64 {
        if self.hi.is_finite() {
            self.hi + self.lo
        } else {
            self.hi
        }
    }

    /// `(hi + lo) / n` rounded to `f64`; NaN for `n == 0`.
    pub fn divided_by(self, n: u64) -> f64 {
        if n == 0 {
            return f64::NAN;
        }
        let d = n as f64;
        if !self.hi.is_finite() {
            return self.hi / d;
        }
        let q = self.hi / d;
        // Remainder of the leading division, exact by fma, plus the low part.
        let r = (-q).mul_add(d, self.hi) + self.lo;
        q + r / d
    }
}

/// The power of two a scaled sum is kept divided by (see [`Accumulator::scaled`]).
pub const SCALE_EXPONENT: i32 = 600;
/// 2^-600: sums that would overflow `f64` are kept scaled by this (exact for a power of two; only
/// values below 2^-422 lose bits, which is far below the last bit of such a sum).
const SCALE_DOWN: f64 = 2.409919865102884e-181;
/// 2^600.
const SCALE_UP: f64 = 4.149515568880993e180;

/// What a reduction keeps while elements stream past: the sum, the count and the linear count.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Accumulator {
    /// The sum of the element losses (times 2^-600 when `scaled`).
    pub sum: Dd,
    /// Whether `sum` is kept scaled down by 2^[`SCALE_EXPONENT`], because the true sum exceeds
    /// `f64`'s range.
    pub scaled: bool,
    /// How many element losses went into `sum`.
    pub count: u64,
    /// How many of them had `|r| ≥ δ`.
    pub linear: u64,
}

crate::vectorised! {
    /// The sum of `xs` times `factor`, as a double-double.
    fn chunk_sum<T: Float>(xs: &[T], factor: f64) -> Dd = chunk_sum_portable
}

/// [`chunk_sum`] in whatever instructions the caller is compiled for.
#[inline(always)]
fn chunk_sum_portable<T: Float>(xs: &[T], factor: f64) -> Dd {
    if T::BITS == 32 {
        // f32 values have 24-bit significands: a plain f64 sum of a chunk errs by at most
        // len · 2^-53 relative, far below an f32 ulp, and vectorises. Chunks then meet in a
        // double-double, so the error does not grow with the input's length.
        let mut lanes = [0.0f64; 8];
        let mut it = xs.chunks_exact(8);
        for c in &mut it {
            for (lane, &x) in lanes.iter_mut().zip(c) {
                *lane += x.to_f64() * factor;
            }
        }
        let mut total = Dd::default();
        for (lane, &x) in lanes.iter_mut().zip(it.remainder()) {
            *lane += x.to_f64() * factor;
        }
        for lane in lanes {
            total.add(lane);
        }
        return total;
    }
    // f64 values: four independent double-doubles keep the adder pipelines busy; they are
    // combined in a fixed order, so the result depends only on the chunk's contents.
    let mut lanes = [Dd::default(); 4];
    let mut it = xs.chunks_exact(4);
    for c in &mut it {
        for (lane, &x) in lanes.iter_mut().zip(c) {
            lane.add(x.to_f64() * factor);
        }
    }
    for (lane, &x) in lanes.iter_mut().zip(it.remainder()) {
        lane.add(x.to_f64() * factor);
    }
    let mut total = lanes[0];
    for lane in &lanes[1..] {
        total.add_dd(*lane);
    }
    total
}

/// The sum of one chunk's elements that arrive one at a time, between other chunks' elements
/// (the groups of `--by`): the `k`-th element goes into lane `k mod 8` for f32 values and
/// `k mod 4` for f64 values, exactly as [`Accumulator::add`] sums a slice of them, so that the
/// sum has the same bits without the elements being gathered first. One cache line; the
/// caller counts the elements.
#[derive(Debug, Clone, Copy, Default)]
#[repr(align(64))]
pub struct LaneSum {
    /// For f32 values, eight plain sums; for f64 values, four double-doubles as (hi, lo).
    lanes: [f64; 8],
}

impl LaneSum {
    /// Adds `x`, the `k`-th element.
    #[inline(always)]
    pub fn push<T: Float>(&mut self, k: usize, x: T) {
        let x = x.to_f64();
        if T::BITS == 32 {
            self.lanes[k % 8] += x;
        } else {
            let k = k % 4 * 2;
            let mut lane = Dd {
                hi: self.lanes[k],
                lo: self.lanes[k + 1],
            };
            lane.add(x);
            (self.lanes[k], self.lanes[k + 1]) = (lane.hi, lane.lo);
        }
    }

    /// The lanes combined in the order [`Accumulator::add`] combines them.
    fn total<T: Float>(&self) -> Dd {
        if T::BITS == 32 {
            let mut total = Dd::default();
            for lane in self.lanes {
                total.add(lane);
            }
            return total;
        }
        let lane = |k: usize| Dd {
            hi: self.lanes[2 * k],
            lo: self.lanes[2 * k + 1],
        };
        let mut total = lane(0);
        for k in 1..4 {
            total.add_dd(lane(k));
        }
        total
    }
}

impl Dd {
    fn scaled(self, f: f64) -> Dd {
        Dd {
            hi: self.hi * f,
            lo: self.lo * f,
        }
    }
}

impl Accumulator {
    /// Adds a chunk of element losses.
    pub fn add<T: Float>(&mut self, losses: &[T], linear: u64) {
        let mut sum = chunk_sum(losses, 1.0);
        let mut scaled = false;
        if !sum.hi.is_finite() && losses.iter().all(|x| x.is_finite()) {
            sum = chunk_sum(losses, SCALE_DOWN);
            scaled = true;
        }
        self.combine(sum, scaled);
        self.count += losses.len() as u64;
        self.linear += linear;
    }

    /// Adds a chunk of `count` element losses summed by `sum` (of values of type `T`), as
    /// [`Accumulator::add`] would add them. Returns false, adding nothing, when their sum is not
    /// finite: then the elements themselves are needed (to sum them scaled if they are finite).
    pub fn add_lanes<T: Float>(&mut self, sum: &LaneSum, count: u64, linear: u64) -> bool {
        let total = sum.total::<T>();
        if !total.hi.is_finite() {
            return false;
        }
        self.combine(total, false);
        self.count += count;
        self.linear += linear;
        true
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

    fn combine(&mut self, mut sum: Dd, scaled: bool) {
        if scaled && !self.scaled {
            self.sum = self.sum.scaled(SCALE_DOWN);
            self.scaled = true;
        } else if self.scaled && !scaled {
            sum = sum.scaled(SCALE_DOWN);
        }
        let mut total = self.sum;
        total.add_dd(sum);
        if !total.hi.is_finite() && self.sum.hi.is_finite() && sum.hi.is_finite() && !self.scaled {
            // Two finite partial sums whose total overflows: keep going scaled.
            self.scaled = true;
            total = self.sum.scaled(SCALE_DOWN);
            total.add_dd(sum.scaled(SCALE_DOWN));
        }
        self.sum = total;
    }

    /// Combines the accumulator of the elements that follow this one's.
    pub fn merge(&mut self, later: &Accumulator) {
        self.combine(later.sum, later.scaled);
        self.count += later.count;
        self.linear += later.linear;
    }

    /// The reduced value in `f64`, before rounding to the result type. An accumulator alone
    /// knows no weights: its weighted mean is the mean (every weight 1).
    pub fn reduce(&self, reduction: Reduction) -> f64 {
        let unscale = if self.scaled { SCALE_UP } else { 1.0 };
        match reduction {
            Reduction::Mean | Reduction::WeightedMean => self.sum.divided_by(self.count) * unscale,
            Reduction::Sum | Reduction::None => self.sum.value() * unscale,
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

    /// Equal bits, or both NaN: where two NaNs meet in a sum, which payload survives depends on
    /// the operand order the compiler picked for a commutative add.
    fn same(a: Dd, b: Dd) -> bool {
        let eq = |x: f64, y: f64| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan());
        eq(a.hi, b.hi) && eq(a.lo, b.lo)
    }

    #[test]
    fn dispatched_chunk_sum_matches_portable_one() {
        // xorshift64*; every fourth value a signed subnormal, or past 10 000 any bit pattern.
        let mut s = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            s.wrapping_mul(0x9e37_79b9_7f4a_7c15)
        };
        let mut f32s = Vec::new();
        let mut f64s = Vec::new();
        for i in 0..20_011 {
            let r = next();
            let x = (r >> 11) as f64 / (1u64 << 53) as f64 * 1e3;
            let (a, b) = match i % 4 {
                3 if i >= 10_000 => (f32::from_bits(r as u32), f64::from_bits(r)),
                3 => (
                    f32::from_bits(r as u32 & 0x807f_ffff),
                    f64::from_bits(r & 0x800f_ffff_ffff_ffff),
                ),
                _ => (x as f32, x),
            };
            f32s.push(a);
            f64s.push(b);
        }
        for len in [0, 1, 7, 8, 9, 4096, 20_011] {
            for factor in [1.0, SCALE_DOWN] {
                let a = chunk_sum(&f32s[..len], factor);
                let b = chunk_sum_portable(&f32s[..len], factor);
                assert!(same(a, b), "f32, {len} values: {a:?} vs {b:?}");
                let a = chunk_sum(&f64s[..len], factor);
                let b = chunk_sum_portable(&f64s[..len], factor);
                assert!(same(a, b), "f64, {len} values: {a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn lane_sums_equal_sums_of_slices() {
        let mut rng = crate::xorshift::Rng(0x9e37_79b9_7f4a_7c15);
        let mut next = move || {
            let r = rng.next();
            // Magnitudes over 40 binades, so that the order of the additions shows.
            ((r >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 2f64.powi((r % 40) as i32)
        };
        for len in [0, 1, 3, 4, 5, 8, 9, 17, 100] {
            let xs: Vec<f64> = (0..len).map(|_| next()).collect();
            let ys: Vec<f32> = xs.iter().map(|&x| x as f32).collect();
            let (mut lanes64, mut lanes32) = (LaneSum::default(), LaneSum::default());
            for (k, (&x, &y)) in xs.iter().zip(&ys).enumerate() {
                lanes64.push(k, x);
                lanes32.push(k, y);
            }
            let (mut a, mut b) = (Accumulator::default(), Accumulator::default());
            a.add(&xs, 2);
            assert!(b.add_lanes::<f64>(&lanes64, len as u64, 2));
            assert_eq!(a, b, "f64, {len} values");
            let (mut a, mut b) = (Accumulator::default(), Accumulator::default());
            a.add(&ys, 1);
            assert!(b.add_lanes::<f32>(&lanes32, len as u64, 1));
            assert_eq!(a, b, "f32, {len} values");
        }
        let mut huge = LaneSum::default();
        huge.push(0, f64::MAX);
        huge.push(1, f64::MAX);
        assert!(!Accumulator::default().add_lanes::<f64>(&huge, 2, 0));
    }

    #[test]
    fn scale_constants_are_powers_of_two() {
        assert_eq!(SCALE_DOWN, 2f64.powi(-SCALE_EXPONENT));
        assert_eq!(SCALE_UP, 2f64.powi(SCALE_EXPONENT));
    }

    #[test]
    fn mean_is_correctly_rounded_for_thirds() {
        let mut acc = Accumulator::default();
        acc.add(&[1.0_f64, 0.0, 0.0], 0);
        assert_eq!(acc.reduce(Reduction::Mean), 1.0 / 3.0);
    }

    #[test]
    fn merge_equals_one_pass() {
        let xs: Vec<f64> = (0..1000)
            .map(|i| (i as f64).sqrt() * 1e-3 + 1e10 * ((i % 7) as f64))
            .collect();
        let mut whole = Accumulator::default();
        whole.add(&xs, 3);
        let (a, b) = xs.split_at(333);
        let (mut x, mut y) = (Accumulator::default(), Accumulator::default());
        x.add(a, 1);
        y.add(b, 2);
        x.merge(&y);
        assert_eq!(x.count, whole.count);
        assert_eq!(x.linear, 3);
        assert_eq!(x.reduce(Reduction::Sum), whole.reduce(Reduction::Sum));
    }
}
