//! Breakdowns of a loss: by the weights' sum, per cell of the kept axes, per group of a key, and
//! the worst elements.
//!
//! Each breakdown has the same two steps as the whole-array reduction: `partial` looks at one
//! chunk of elements on a worker thread and returns a small partial result, and `combine` folds
//! the partials in index order on one thread. Within a chunk, the elements of a cell or group
//! are gathered in C order and added with [`Accumulator::add`](crate::reduce::Accumulator::add),
//! exactly as a whole-array reduction adds its chunks; chunk boundaries follow element indices
//! only, so the results are the same bits for every thread count.

pub mod axis;
pub mod by;
pub mod group;
pub mod keys;
pub mod top;
pub mod weighted;

use crate::float::Float;
use crate::loss::Loss;
use crate::pipeline::NanPolicy;
use crate::reduce::Accumulator;

/// One chunk of elements as a breakdown sees it, for one loss.
#[derive(Debug, Clone, Copy)]
pub struct Chunk<'a, T> {
    /// Flat C-order index of the chunk's first element.
    pub offset: usize,
    /// Predictions.
    pub pred: &'a [T],
    /// Targets.
    pub target: &'a [T],
    /// Weights, if any.
    pub weight: Option<&'a [T]>,
    /// The element losses (already multiplied by the weights).
    pub losses: &'a [T],
    /// The loss's threshold in the compute type (`|r| ≥ δ` counts as linear), if it has one.
    pub threshold: Option<T>,
    /// Whether elements whose loss is NaN are left out (`--nan omit`).
    pub omit_nan: bool,
    /// The linear count of the whole chunk's counted elements, if the kernel already made it:
    /// saves a second count when a cell or group takes the whole chunk.
    pub linear: Option<u64>,
}

impl<'a, T: Float> Chunk<'a, T> {
    /// The breakdown's view of the engine's chunk `c` for its `k`-th loss, `loss`.
    pub fn of(c: &crate::pipeline::Chunk<'a, T>, k: usize, loss: &Loss) -> Chunk<'a, T> {
        Chunk {
            offset: c.offset,
            pred: c.pred,
            target: c.target,
            weight: c.weight,
            losses: c.values(k),
            threshold: loss.threshold().map(T::from_f64),
            omit_nan: c.nan == NanPolicy::Omit,
            linear: Some(c.linear(k)),
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.losses.len()
    }

    /// Whether the chunk holds no element.
    pub fn is_empty(&self) -> bool {
        self.losses.is_empty()
    }

    /// Whether element `i` (chunk-relative) is in the linear regime.
    #[inline]
    fn is_linear(&self, i: usize) -> bool {
        self.threshold
            .is_some_and(|d| (self.pred[i] - self.target[i]).abs() >= d)
    }

    /// Whether element `i` goes into sums and counts.
    #[inline]
    fn counts(&self, i: usize) -> bool {
        !(self.omit_nan && self.losses[i].is_nan())
    }

    /// The linear count of the elements `range` that count.
    fn linear_in(&self, range: std::ops::Range<usize>) -> u64 {
        let Some(d) = self.threshold else {
            return 0;
        };
        if let Some(n) = self.linear
            && range == (0..self.len())
        {
            return n;
        }
        let pairs = self.pred[range.clone()]
            .iter()
            .zip(&self.target[range.clone()]);
        if self.omit_nan {
            let kept = pairs.zip(&self.losses[range]);
            kept.map(|((&p, &t), l)| u64::from(!l.is_nan() && (p - t).abs() >= d))
                .sum()
        } else {
            pairs.map(|(&p, &t)| u64::from((p - t).abs() >= d)).sum()
        }
    }

    /// Adds the elements `range` (chunk-relative, consecutive) to `acc`.
    fn add_run(&self, acc: &mut Accumulator, range: std::ops::Range<usize>) {
        let linear = self.linear_in(range.clone());
        let losses = &self.losses[range];
        if self.omit_nan {
            acc.add_omitting_nan(losses, linear);
        } else {
            acc.add(losses, linear);
        }
    }

    /// Sums the chunk's runs `(group, start, end)` per group, for groups `base..base + groups`:
    /// each group's elements are gathered in C order (a counting sort of the positions) and
    /// added to one accumulator; `None` for a group without elements.
    fn sums_by_group(
        &self,
        runs: &[(usize, usize, usize)],
        base: usize,
        groups: usize,
    ) -> Vec<Option<Accumulator>> {
        let (mut starts, mut nruns) = (vec![0usize; groups + 1], vec![0u32; groups]);
        for &(g, a, b) in runs {
            starts[g - base + 1] += b - a;
            nruns[g - base] += 1;
        }
        for g in 0..groups {
            starts[g + 1] += starts[g];
        }
        let mut fill = starts.clone();
        let mut positions = vec![0u32; starts[groups]];
        for &(g, a, b) in runs {
            let at = &mut fill[g - base];
            for (slot, p) in positions[*at..].iter_mut().zip(a..b) {
                *slot = p as u32;
            }
            *at += b - a;
        }
        let mut buf = Vec::new();
        (0..groups)
            .map(|g| {
                let mine = &positions[starts[g]..starts[g + 1]];
                let mut acc = Accumulator::default();
                match nruns[g] {
                    0 => return None,
                    // One run: added in place, as the gathered copy would be.
                    1 => self.add_run(&mut acc, mine[0] as usize..mine[0] as usize + mine.len()),
                    _ => self.add_gathered(&mut acc, mine, &mut buf),
                }
                Some(acc)
            })
            .collect()
    }

    /// Adds the elements at `positions` (chunk-relative, ascending) to `acc`, gathered in order
    /// into `buf`, so that the sum is the one a whole-array reduction of them would make.
    fn add_gathered(&self, acc: &mut Accumulator, positions: &[u32], buf: &mut Vec<T>) {
        buf.clear();
        let mut linear = 0;
        for &p in positions {
            let p = p as usize;
            if !self.counts(p) {
                continue;
            }
            buf.push(self.losses[p]);
            linear += u64::from(self.is_linear(p));
        }
        acc.add(buf, linear);
    }
}

#[cfg(test)]
pub(crate) mod testing;

#[cfg(test)]
mod reference_tests;

#[cfg(test)]
mod tests {
    use super::testing::Data;

    #[test]
    fn a_whole_chunk_takes_the_kernels_linear_count() {
        // Huber δ = 1 of residuals 0.5, 2, 3: two linear.
        let data = Data::new(vec![0.5, 2.0, 3.0], vec![0.0; 3], None);
        let mut c = data.chunk(0, 3, false);
        assert_eq!(c.linear_in(0..3), 2);
        assert_eq!(c.linear_in(0..2), 1);
        c.linear = Some(2);
        assert_eq!(c.linear_in(0..3), 2);
        let nan = Data::new(vec![f32::NAN, 2.0, 3.0], vec![0.0; 3], None);
        let mut omit = nan.chunk(0, 3, true);
        assert_eq!(omit.linear_in(0..3), 2);
        omit.threshold = None;
        assert_eq!(omit.linear_in(0..3), 0);
    }
}
