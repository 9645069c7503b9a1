//! What the breakdowns' tests share: element data and chunked runs over it.

use proptest::prelude::*;

use super::Chunk;
use crate::loss::Loss;

/// Inputs and their huber (δ = 1) losses, times the weights.
pub struct Data {
    pub pred: Vec<f32>,
    pub target: Vec<f32>,
    pub weight: Option<Vec<f32>>,
    pub losses: Vec<f32>,
}

impl Data {
    pub fn new(pred: Vec<f32>, target: Vec<f32>, weight: Option<Vec<f32>>) -> Data {
        let mut losses = vec![0.0; pred.len()];
        Loss::huber(1.0)
            .unwrap()
            .forward(&pred, &target, &mut losses);
        if let Some(w) = &weight {
            for (l, w) in losses.iter_mut().zip(w) {
                *l *= w;
            }
        }
        Data {
            pred,
            target,
            weight,
            losses,
        }
    }

    /// The chunk `start..end`.
    pub fn chunk(&self, start: usize, end: usize, omit_nan: bool) -> Chunk<'_, f32> {
        Chunk {
            offset: start,
            pred: &self.pred[start..end],
            target: &self.target[start..end],
            weight: self.weight.as_ref().map(|w| &w[start..end]),
            losses: &self.losses[start..end],
            threshold: Some(1.0),
            omit_nan,
            linear: None,
        }
    }

    /// Consecutive chunks covering everything, of the sizes in `sizes` (cycled; 0 counts as 1).
    pub fn chunks(&self, sizes: &[usize], omit_nan: bool) -> Vec<Chunk<'_, f32>> {
        let (mut out, mut start) = (Vec::new(), 0);
        for &s in sizes.iter().cycle() {
            if start >= self.losses.len() {
                break;
            }
            let end = (start + s.max(1)).min(self.losses.len());
            out.push(self.chunk(start, end, omit_nan));
            start = end;
        }
        out
    }
}

/// Values on a grid of 1/8 within ±4: their losses and every sum of them are exact in `f64`,
/// so any grouping of the additions gives the same bits.
pub fn dyadic(n: usize) -> impl Strategy<Value = Vec<f32>> {
    proptest::collection::vec((-32i32..=32).prop_map(|k| k as f32 / 8.0), n)
}

/// Chunk sizes, small enough that chunks cut cells and groups in the middle.
pub fn chunk_sizes() -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(1usize..40, 1..6)
}
