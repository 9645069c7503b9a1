//! The mean that divides by the weights' sum: Σwℓ / Σw (Keras 3's `mean_with_sample_weight`,
//! PyTorch's `mse_loss` and `l1_loss` with `weight=`), beside `mean`, which divides by the count.

use anyhow::Result;

use crate::array::Element;
use crate::float::Float;
use crate::loss::Loss;
use crate::pipeline::Sink;
use crate::reduce::{Accumulator, Dd, Reduction, SCALE_EXPONENT};

use super::Chunk;

/// Σwℓ and Σw over the counted elements, both exact as a whole-array sum is.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WeightedMean {
    /// The weighted losses: its sum is Σwℓ, its count the elements counted.
    pub losses: Accumulator,
    /// The weights of the same elements (its linear count is unused and stays 0).
    pub weights: Accumulator,
}

impl WeightedMean {
    /// Sums one chunk (on a worker thread). Elements left out by `--nan omit` leave their weight
    /// out too. Without weights every weight is 1, and the result is the plain mean.
    pub fn partial<T: Float>(c: &Chunk<'_, T>) -> WeightedMean {
        let mut part = WeightedMean::default();
        c.add_run(&mut part.losses, 0..c.len());
        let Some(w) = c.weight else {
            // Weights of 1: their sum is the count, exactly.
            let n = part.losses.count;
            part.weights = Accumulator {
                sum: Dd {
                    hi: n as f64,
                    lo: 0.0,
                },
                count: n,
                ..Accumulator::default()
            };
            return part;
        };
        if c.omit_nan && c.losses.iter().any(|x| x.is_nan()) {
            let kept: Vec<T> = (0..c.len())
                .filter(|&i| c.counts(i))
                .map(|i| w[i])
                .collect();
            part.weights.add(&kept, 0);
        } else {
            part.weights.add(w, 0);
        }
        part
    }

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

/// The weighted means of several losses over one run, as a sink of the engine.
pub struct WeightedSums {
    losses: Vec<Loss>,
    /// One per loss, in the order of the kernel's outputs.
    pub sums: Vec<WeightedMean>,
}

impl WeightedSums {
    /// Empty sums for `losses`, the kernel's losses in order.
    pub fn new(losses: &[Loss]) -> WeightedSums {
        WeightedSums {
            losses: losses.to_vec(),
            sums: vec![WeightedMean::default(); losses.len()],
        }
    }
}

impl Sink for WeightedSums {
    type Part = Vec<WeightedMean>;
    fn chunk<T: Element>(&self, c: &crate::pipeline::Chunk<'_, T>) -> Result<Vec<WeightedMean>> {
        let parts = self.losses.iter().enumerate();
        Ok(parts
            .map(|(k, loss)| WeightedMean::partial(&Chunk::of(c, k, loss)))
            .collect())
    }
    fn combine(&mut self, part: Vec<WeightedMean>) -> Result<()> {
        for (sum, p) in self.sums.iter_mut().zip(part) {
            sum.combine(p);
        }
        Ok(())
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

#[cfg(test)]
mod tests;
