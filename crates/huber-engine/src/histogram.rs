//! A histogram of residuals `r = pred − target` on fixed logarithmic bins, for `--plot`.
//!
//! The bins do not depend on the data: one per octave of `|r|`, for each sign, from
//! [`MIN_EXP`] to [`MAX_EXP`], plus a bin for `|r|` below `2^MIN_EXP` (exact zeros included),
//! one for `|r| ≥ 2^MAX_EXP` (infinities included) and one for NaN. Counts are integers, so
//! histograms of chunks merge exactly in any order and the result is the same for every
//! thread count. Alongside, for each threshold δ, the exact number of residuals with `|r| ≥ δ`
//! is counted, with δ rounded to the compute type as the loss kernels do.

use anyhow::Result;

use crate::array::Element;
use crate::float::Float;
use crate::pipeline::{Chunk, Sink};

/// `|r|` below `2^MIN_EXP` (about 1e-18) counts as zero.
pub const MIN_EXP: i32 = -60;
/// `|r|` from `2^MAX_EXP` (about 1.8e19) up, infinity included, counts in the overflow bin.
pub const MAX_EXP: i32 = 64;
/// Octave bins per sign.
pub const OCTAVES: usize = (MAX_EXP - MIN_EXP) as usize;

/// Counts of residuals by sign and octave of magnitude.
#[derive(Debug, Clone, PartialEq)]
pub struct ResidualHistogram {
    /// The thresholds δ whose linear share is counted.
    thresholds: Vec<f64>,
    /// `negative[k]`: residuals in `−2^(MIN_EXP+k+1) < r ≤ −2^(MIN_EXP+k)`.
    negative: Vec<u64>,
    /// `positive[k]`: residuals in `2^(MIN_EXP+k) ≤ r < 2^(MIN_EXP+k+1)`.
    positive: Vec<u64>,
    /// `|r| < 2^MIN_EXP`.
    zero: u64,
    /// `r ≤ −2^MAX_EXP`, `r ≥ 2^MAX_EXP`.
    overflow: [u64; 2],
    /// NaN residuals.
    nan: u64,
    /// Per threshold, residuals with `|r| ≥ δ`.
    beyond: Vec<u64>,
}

impl ResidualHistogram {
    /// An empty histogram marking the thresholds of `losses` (δ of huber and pseudo-huber, β of
    /// smooth-l1).
    pub fn for_losses(losses: &[crate::loss::Loss]) -> ResidualHistogram {
        let thresholds: Vec<f64> = losses
            .iter()
            .filter_map(|l| l.param())
            .map(|(_, v)| v)
            .collect();
        ResidualHistogram::new(&thresholds)
    }

    /// An empty histogram that also counts `|r| ≥ δ` for each of `thresholds`.
    pub fn new(thresholds: &[f64]) -> ResidualHistogram {
        ResidualHistogram {
            thresholds: thresholds.to_vec(),
            negative: vec![0; OCTAVES],
            positive: vec![0; OCTAVES],
            zero: 0,
            overflow: [0; 2],
            nan: 0,
            beyond: vec![0; thresholds.len()],
        }
    }

    /// An empty histogram with the same thresholds.
    pub fn empty_like(&self) -> ResidualHistogram {
        ResidualHistogram::new(&self.thresholds)
    }

    /// Adds the residuals `pred[i] − target[i]`, computed in `T` as the kernels compute them.
    ///
    /// # Panics
    /// If the slices differ in length.
    pub fn add<T: Float>(&mut self, pred: &[T], target: &[T]) {
        assert_eq!(pred.len(), target.len(), "slices of different lengths");
        let deltas: Vec<T> = self.thresholds.iter().map(|&d| T::from_f64(d)).collect();
        for (&p, &t) in pred.iter().zip(target) {
            let r = p - t;
            let z = r.abs();
            for (n, &d) in self.beyond.iter_mut().zip(&deltas) {
                *n += u64::from(z >= d);
            }
            self.add_one(r.to_f64());
        }
    }

    fn add_one(&mut self, r: f64) {
        if r.is_nan() {
            self.nan += 1;
            return;
        }
        let bits = r.abs().to_bits();
        // The biased exponent is floor(log2|r|) for normal numbers; subnormals are below MIN_EXP.
        let exp = (bits >> 52) as i32 - 1023;
        let side = usize::from(r > 0.0);
        if exp < MIN_EXP {
            self.zero += 1;
        } else if exp >= MAX_EXP {
            self.overflow[side] += 1;
        } else {
            let k = (exp - MIN_EXP) as usize;
            if side == 1 {
                self.positive[k] += 1;
            } else {
                self.negative[k] += 1;
            }
        }
    }

    /// Adds the counts of another histogram with the same thresholds.
    ///
    /// # Panics
    /// If the thresholds differ.
    pub fn merge(&mut self, other: &ResidualHistogram) {
        assert_eq!(self.thresholds, other.thresholds, "different thresholds");
        for (a, b) in self.negative.iter_mut().zip(&other.negative) {
            *a += b;
        }
        for (a, b) in self.positive.iter_mut().zip(&other.positive) {
            *a += b;
        }
        for (a, b) in self.beyond.iter_mut().zip(&other.beyond) {
            *a += b;
        }
        self.zero += other.zero;
        self.overflow[0] += other.overflow[0];
        self.overflow[1] += other.overflow[1];
        self.nan += other.nan;
    }

    /// The thresholds.
    pub fn thresholds(&self) -> &[f64] {
        &self.thresholds
    }

    /// Residuals counted, NaN excluded.
    pub fn count(&self) -> u64 {
        self.zero
            + self.overflow[0]
            + self.overflow[1]
            + self.negative.iter().sum::<u64>()
            + self.positive.iter().sum::<u64>()
    }

    /// NaN residuals.
    pub fn nan(&self) -> u64 {
        self.nan
    }

    /// Residuals with `|r|` below `2^MIN_EXP`.
    pub fn zero(&self) -> u64 {
        self.zero
    }

    /// Residuals with `|r| ≥ 2^MAX_EXP`, negative and positive.
    pub fn overflow(&self) -> [u64; 2] {
        self.overflow
    }

    /// Counts per octave `k` (`2^(MIN_EXP+k) ≤ |r| < 2^(MIN_EXP+k+1)`): negative, positive.
    pub fn octaves(&self) -> (&[u64], &[u64]) {
        (&self.negative, &self.positive)
    }

    /// Share of non-NaN residuals with `|r| ≥ δ`, for the `i`-th threshold; NaN if none counted.
    pub fn beyond_share(&self, i: usize) -> f64 {
        self.beyond[i] as f64 / self.count() as f64
    }
}

/// As an observer of a run: each chunk's residuals are counted apart and the counts added up.
impl Sink for ResidualHistogram {
    type Part = ResidualHistogram;
    fn chunk<T: Element>(&self, c: &Chunk<'_, T>) -> Result<ResidualHistogram> {
        let mut part = self.empty_like();
        part.add(c.pred, c.target);
        Ok(part)
    }
    fn combine(&mut self, part: ResidualHistogram) -> Result<()> {
        self.merge(&part);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_by_sign_and_octave() {
        let mut h = ResidualHistogram::new(&[0.5, 1.0]);
        let p = [
            0.0,
            1.0,
            -1.0,
            1.5,
            0.75,
            3.0,
            f64::NAN,
            0.0,
            1e300,
            f64::INFINITY,
        ];
        let t = [0.0; 10];
        h.add(&p, &t);
        let k0 = (-MIN_EXP) as usize; // [1, 2)
        assert_eq!(h.positive[k0], 2);
        assert_eq!(h.negative[k0], 1);
        assert_eq!(h.positive[k0 - 1], 1);
        assert_eq!(h.positive[k0 + 1], 1);
        assert_eq!((h.zero, h.nan, h.overflow), (2, 1, [0, 2]));
        assert_eq!(h.count(), 9);
        // |r| ≥ 0.5: 1, 1, 1.5, 0.75, 3, 1e300, inf; |r| ≥ 1: all but 0.75.
        assert_eq!(h.beyond, vec![7, 6]);
    }

    #[test]
    fn merge_is_the_sum_in_any_order() {
        let p: Vec<f32> = (0..1000).map(|i| (i as f32 - 500.0) * 0.37).collect();
        let t = vec![0.0_f32; 1000];
        let mut whole = ResidualHistogram::new(&[1.0]);
        whole.add(&p, &t);
        let mut parts = ResidualHistogram::new(&[1.0]);
        for (p, t) in p.chunks(77).zip(t.chunks(77)).rev() {
            let mut h = parts.empty_like();
            h.add(p, t);
            parts.merge(&h);
        }
        assert_eq!(whole, parts);
    }

    #[test]
    fn thresholds_are_rounded_to_the_compute_type() {
        // 0.7 rounds down in f32: 0.7f32 is below 0.7 but equal to δ as the kernels see it.
        let mut h = ResidualHistogram::new(&[0.7]);
        h.add(&[0.7_f32], &[0.0]);
        assert_eq!(h.beyond, vec![1]);
    }
}
