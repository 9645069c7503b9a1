//! The mean that divides by the weights' sum: Σwℓ / Σw (Keras 3's `mean_with_sample_weight`,
//! PyTorch's `mse_loss` and `l1_loss` with `weight=`), beside `mean`, which divides by the count.

use crate::float::Float;
use crate::reduce::{Accumulator, Dd, Reduction, SCALE_EXPONENT};

/// Σwℓ and Σw over the counted elements, both exact as a whole-array sum is.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WeightedMean {
    /// The weighted losses: its sum is Σwℓ, its count the elements counted.
    pub losses: Accumulator,
    /// The weights of the same elements (its linear count is unused and stays 0).
    pub weights: Accumulator,
}

impl WeightedMean {
    /// Adds the partial of the chunk that follows the ones combined so far.
    pub fn combine(&mut self, later: WeightedMean) {
        self.losses.merge(&later.losses);
        self.weights.merge(&later.weights);
    }

    /// Σw in `f64`.
    pub fn weight_sum(&self) -> f64 {
        self.weights.reduce(Reduction::Sum)
    }

    /// Σwℓ / Σw in `f64`, from the two double-double sums (one rounding, up to the final one to
    /// the result type). Σw = 0 gives NaN or ±inf, as a division does in PyTorch.
    pub fn value(&self) -> f64 {
        let exponent =
            (i32::from(self.losses.scaled) - i32::from(self.weights.scaled)) * SCALE_EXPONENT;
        let q = dd_quotient(self.losses.sum, self.weights.sum);
        // Each side is kept divided by 2^600 when it overflowed; the quotient is rescaled in two
        // steps so that an intermediate 2^±600 never overflows on its own.
        q * 2f64.powi(exponent / 2) * 2f64.powi(exponent - exponent / 2)
    }

    /// The factor of the gradient of Σwℓ/Σw with respect to `pred`, by which each element's
    /// `w · ∂ℓ/∂pred` is multiplied: 1/Σw, rounded to `T` as the mean's 1/N is.
    pub fn gradient_scale<T: Float>(&self) -> T {
        T::from_f64(1.0 / self.weight_sum())
    }
}

/// `(a.hi + a.lo) / (b.hi + b.lo)` rounded to `f64`, with one correction step (the remainder of
/// the leading quotient is exact by fma).
fn dd_quotient(a: Dd, b: Dd) -> f64 {
    let (x, y) = (a.value(), b.value());
    let q = x / y;
    if !q.is_finite() || q == 0.0 || !a.hi.is_finite() || !b.hi.is_finite() {
        return q;
    }
    let r = (-q).mul_add(b.hi, a.hi) + a.lo - q * b.lo;
    q + r / y
}
