//! The weighted mean's sums over a run: Σwℓ and Σw of each loss, per chunk, combined in order
//! (the arithmetic of the quotient is the core's [`WeightedMean`]).

use anyhow::Result;

use crate::array::Element;
use crate::float::Float;
use crate::loss::Loss;
use crate::pipeline::Sink;
use huber_core::exact::ExactSum;
use huber_core::reduce::Accumulator;
pub use huber_core::weighted::WeightedMean;

use super::Chunk;

/// Sums one chunk (on a worker thread). Elements left out by `--nan omit` leave their weight
/// out too. Without weights every weight is 1, and the result is the plain mean.
pub fn partial<T: Float>(c: &Chunk<'_, T>) -> WeightedMean {
    let mut part = WeightedMean::default();
    c.add_run(&mut part.losses, 0..c.len());
    let Some(w) = c.weight else {
        // Weights of 1: their sum is the count, exactly (a count below 2^53 is an f64).
        let n = part.losses.count();
        let mut ones = ExactSum::default();
        ones.push_f64(n as f64);
        part.weights = Accumulator::from_parts(ones, n, 0);
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
            .map(|(k, loss)| partial(&Chunk::of(c, k, loss)))
            .collect())
    }
    fn combine(&mut self, part: Vec<WeightedMean>) -> Result<()> {
        for (sum, p) in self.sums.iter_mut().zip(part) {
            sum.combine(&p);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
