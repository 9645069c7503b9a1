//! Breakdowns of a loss: by the weights' sum, per cell of the kept axes, per group of a key, and
//! the worst elements.
//!
//! Each breakdown has the same two steps as the whole-array reduction: `partial` looks at one
//! chunk of elements on a worker thread and returns a small partial result, and `combine` folds
//! the partials in index order on one thread. Sums are exact
//! ([`Accumulator`](crate::reduce::Accumulator)): a cell's or group's state depends only on its
//! elements, so chunk boundaries, thread counts and the order partials meet in never show.

pub mod axis;
pub mod by;
pub mod group;
pub mod keys;
pub mod top;
pub mod weighted;

use huber_core::exact::Grid;

use crate::float::Float;
use crate::loss::Loss;
use crate::pipeline::NanPolicy;
use crate::reduce::Accumulator;

/// A group's sum over one chunk in units of the chunk's [`Grid`], and its counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    units: i128,
    count: u64,
    linear: u64,
}

/// A chunk's sums per group, in the order of the chunk's groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupSums {
    /// On the grid made for the chunk's losses.
    Units(Grid, Vec<Tally>),
    /// As exact sums (losses with ±∞ or NaN, or spanning too many binades for a grid).
    Exact(Vec<Accumulator>),
}

impl GroupSums {
    /// Adds group `k`'s sum to `acc`.
    #[inline]
    pub fn add_to(&self, k: usize, acc: &mut Accumulator) {
        match self {
            GroupSums::Units(grid, tallies) => {
                let t = &tallies[k];
                acc.add_units(t.units, *grid, t.count, t.linear);
            }
            GroupSums::Exact(accs) => acc.merge(&accs[k]),
        }
    }

    /// The sums as accumulators.
    #[cfg(test)]
    pub fn accumulators(&self) -> Vec<Accumulator> {
        let n = match self {
            GroupSums::Units(_, t) => t.len(),
            GroupSums::Exact(a) => a.len(),
        };
        (0..n)
            .map(|k| {
                let mut acc = Accumulator::default();
                self.add_to(k, &mut acc);
                acc
            })
            .collect()
    }
}

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
        let (pred, target) = (&self.pred[range.clone()], &self.target[range.clone()]);
        if self.omit_nan {
            crate::pipeline::linear_not_nan(pred, target, &self.losses[range], d)
        } else {
            pred.iter()
                .zip(target)
                .map(|(&p, &t)| u64::from((p - t).abs() >= d))
                .sum()
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

    /// Sums the chunk per group, where element `offset + i` belongs to key `(offset + i) /
    /// repeat` and the chunk's `k`-th key to group `of_key[k]` (of `groups`). Where the chunk's
    /// losses have a [`Grid`] (finite, within some 60 binades), each goes into its group's
    /// `i128` of grid units, an integer addition; otherwise each goes straight into its group's
    /// exact sum. Either way a group's state is the one its elements added one by one make.
    fn sums_by_key(&self, of_key: &[u32], groups: usize, repeat: usize) -> GroupSums {
        if groups <= 1 {
            let mut acc = Accumulator::default();
            self.add_run(&mut acc, 0..self.len());
            return GroupSums::Exact(if groups == 0 { Vec::new() } else { vec![acc] });
        }
        if let Some(grid) = T::grid(self.losses) {
            return GroupSums::Units(grid, self.tallies_by_key(grid, of_key, groups, repeat));
        }
        let mut accs = vec![Accumulator::default(); groups];
        if repeat == 1 {
            for (i, &g) in of_key.iter().enumerate() {
                if self.counts(i) {
                    accs[g as usize].push(self.losses[i], self.is_linear(i));
                }
            }
        } else {
            for (&g, run) in of_key.iter().zip(self.key_runs(repeat)) {
                self.add_run(&mut accs[g as usize], run);
            }
        }
        GroupSums::Exact(accs)
    }

    /// [`Chunk::sums_by_key`] on `grid`, made for the chunk's losses (so none is NaN: every
    /// element counts).
    fn tallies_by_key(
        &self,
        grid: Grid,
        of_key: &[u32],
        groups: usize,
        repeat: usize,
    ) -> Vec<Tally> {
        let mut tallies = vec![Tally::default(); groups];
        if repeat == 1 {
            for (&g, (i, &x)) in of_key.iter().zip(self.losses.iter().enumerate()) {
                let t = &mut tallies[g as usize];
                t.units += x.units(grid);
                t.count += 1;
                t.linear += u64::from(self.is_linear(i));
            }
        } else {
            for (&g, run) in of_key.iter().zip(self.key_runs(repeat)) {
                let t = &mut tallies[g as usize];
                t.units += self.losses[run.clone()]
                    .iter()
                    .map(|&x| x.units(grid))
                    .sum::<i128>();
                t.count += run.len() as u64;
                t.linear += self.linear_in(run);
            }
        }
        tallies
    }

    /// The elements of each of the chunk's keys in turn, chunk-relative, where element
    /// `offset + i` belongs to key `(offset + i) / repeat`.
    fn key_runs(&self, repeat: usize) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
        let skip = self.offset % repeat;
        let mut from = 0;
        std::iter::from_fn(move || {
            (from < self.len()).then(|| {
                let end = (from + repeat - if from == 0 { skip } else { 0 }).min(self.len());
                let run = from..end;
                from = end;
                run
            })
        })
    }
}

#[cfg(test)]
pub(crate) mod testing;

#[cfg(test)]
mod reference_tests;

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::Chunk;
    use super::testing::Data;
    use crate::reduce::Accumulator;

    /// [`Chunk::sums_by_key`] by gathering each group's elements.
    fn gathered_sums(
        c: &Chunk<'_, f32>,
        of_key: &[u32],
        groups: usize,
        repeat: usize,
    ) -> Vec<Accumulator> {
        let runs: Vec<(usize, usize, usize)> = of_key
            .iter()
            .zip(c.key_runs(repeat))
            .map(|(&g, run)| (g as usize, run.start, run.end))
            .collect();
        let sums = c.sums_by_group(&runs, 0, groups);
        sums.into_iter().map(Option::unwrap_or_default).collect()
    }

    proptest! {
        #[test]
        fn sums_per_key_equal_gathered_ones(
            (pred, labels) in (1usize..300).prop_flat_map(|n| (
                proptest::collection::vec(-1e3f32..1e3, n),
                proptest::collection::vec(0u32..7, n),
            )),
            repeat in 1usize..4,
            offset in 0usize..5,
            nan in proptest::option::of(0usize..300),
        ) {
            let mut pred = pred;
            if let Some(i) = nan.filter(|&i| i < pred.len()) {
                pred[i] = f32::NAN;
            }
            let n = pred.len();
            // Elements `offset..offset + n` of a longer array, so that the first key's
            // elements may begin before the chunk.
            let mut all = vec![0.5; offset];
            all.extend(pred);
            let data = Data::new(all, vec![0.25; offset + n], None);
            let keys = (offset + n - 1) / repeat + 1 - offset / repeat;
            let of_key = &labels[..keys.min(labels.len())];
            prop_assume!(of_key.len() == keys);
            let groups = *of_key.iter().max().unwrap() as usize + 1;
            for omit in [false, true] {
                let c = data.chunk(offset, offset + n, omit);
                let pushed = c.sums_by_key(of_key, groups, repeat).accumulators();
                let gathered = gathered_sums(&c, of_key, groups, repeat);
                prop_assert_eq!(pushed, gathered);
            }
        }
    }

    #[test]
    fn a_group_with_an_infinite_loss_is_summed_as_it_is() {
        let data = Data::new(vec![1.0, f32::INFINITY, 2.0, 3.0], vec![0.0; 4], None);
        let c = data.chunk(0, 4, false);
        let sums = c.sums_by_key(&[0, 1, 0, 1], 2, 1).accumulators();
        assert_eq!(sums[1].sum().to_f64(), f64::INFINITY);
        assert_eq!((sums[1].count(), sums[1].linear()), (2, 2));
        // Huber δ = 1 of 1 and 2: 0.5 + 1.5.
        assert_eq!(sums[0].sum().to_f64(), 2.0);
    }

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
