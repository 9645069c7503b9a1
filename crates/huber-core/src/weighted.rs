//! The mean that divides by the weights' sum: Σwℓ / Σw (Keras 3's `mean_with_sample_weight`,
//! PyTorch's `mse_loss` and `l1_loss` with `weight=`), beside `mean`, which divides by the count.

use crate::dtype::Precision;
use crate::exact::ExactSum;
use crate::float::Float;
use crate::reduce::{Accumulator, Reduction};

/// Σwℓ and Σw over the counted elements, both exact.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct WeightedMean {
    /// The weighted losses: its sum is Σwℓ, its count the elements counted.
    pub losses: Accumulator,
    /// The weights of the same elements (its linear count is unused and stays 0).
    pub weights: Accumulator,
}

impl WeightedMean {
    /// Adds the partial of another part of the elements (in any order).
    pub fn combine(&mut self, other: &WeightedMean) {
        self.losses.merge(&other.losses);
        self.weights.merge(&other.weights);
    }

    /// Σw, correctly rounded to `f64`.
    pub fn weight_sum(&self) -> f64 {
        self.weights.reduce(Reduction::Sum)
    }

    /// Σwℓ / Σw in `f64`, correctly rounded from the two exact sums. Σw = 0 gives NaN or ±inf,
    /// as a division does in PyTorch.
    pub fn value(&self) -> f64 {
        self.value_in(Precision::F64)
    }

    /// Σwℓ / Σw rounded once, directly from the two exact sums, to `precision` (and widened to
    /// `f64`, exactly).
    pub fn value_in(&self, precision: Precision) -> f64 {
        let (num, den) = (self.losses.sum(), self.weights.sum());
        match precision {
            Precision::F64 => num.ratio_f64(den),
            Precision::F32 => f64::from(num.ratio_f32(den)),
            Precision::F16 => half::f16::from_bits(num.ratio_f16_bits(den)).to_f64(),
        }
    }

    /// The factor of the gradient of Σwℓ/Σw with respect to `pred`, by which each element's
    /// `w · ∂ℓ/∂pred` is multiplied: 1/Σw from the exact Σw, rounded once to `T` as the mean's
    /// 1/N is.
    pub fn gradient_scale<T: Float>(&self) -> T {
        let mut one = ExactSum::default();
        one.push_f64(1.0);
        if T::BITS == 32 {
            T::from_f64(f64::from(one.ratio_f32(self.weights.sum())))
        } else {
            T::from_f64(one.ratio_f64(self.weights.sum()))
        }
    }
}
