//! `--axis`: reduce over some axes and keep the others, as numpy's `axis=` does.
//!
//! Elements reach a cell of the kept shape in runs: the trailing reduced axes (those after the
//! last kept axis) make runs of consecutive elements of one cell. When the kept axes lead (a
//! batch `(N,H,W)` with axis 1,2) every cell is one run, and a chunk is a few slices added
//! whole. Otherwise a chunk's runs are gathered per cell (a counting sort over the cells the
//! chunk touches) before they are added, so that each cell's sum is the one a whole-array
//! reduction of its elements in that chunk would make. Memory is one accumulator per kept cell.

use anyhow::Result;

use crate::array::Element;
use crate::dtype::Precision;
use crate::float::Float;
use crate::loss::Loss;
use crate::pipeline::Sink;
use crate::reduce::{Accumulator, Reduction};
use huber_core::Error as UsageError;

use super::Chunk;
use super::weighted::WeightedMean;

/// Checks axes against `ndim` as numpy does (negative counts from the end) and returns them
/// ascending. Out-of-range and repeated axes are errors that name the axis and `ndim`.
pub fn normalize_axes(axes: &[i64], ndim: usize) -> Result<Vec<usize>, UsageError> {
    let n = ndim as i64;
    if ndim == 0 && !axes.is_empty() {
        return Err(UsageError::invalid_argument(format!(
            "--axis {}: the inputs are 0-dimensional (a single value) and have no axis to \
             reduce over",
            axes[0]
        )));
    }
    let mut out: Vec<(usize, i64)> = Vec::with_capacity(axes.len());
    for &a in axes {
        let k = if a < 0 { a + n } else { a };
        if !(0..n).contains(&k) {
            return Err(UsageError::invalid_argument(format!(
                "axis {a} is out of bounds for the inputs' {ndim} dimension{} (axes run from \
                 {} to {})",
                if ndim == 1 { "" } else { "s" },
                -n,
                n - 1
            )));
        }
        if let Some(&(_, first)) = out.iter().find(|(k2, _)| *k2 == k as usize) {
            return Err(UsageError::invalid_argument(format!(
                "axis {k} is given twice in --axis ({first} and {a}, for inputs with {ndim} \
                 dimensions)"
            )));
        }
        out.push((k as usize, a));
    }
    let mut axes: Vec<usize> = out.into_iter().map(|(k, _)| k).collect();
    axes.sort_unstable();
    Ok(axes)
}

/// How the elements of an array map to the cells of its kept shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AxisLayout {
    shape: Vec<usize>,
    kept_shape: Vec<usize>,
    /// Axes before the trailing reduced ones: walked one step per run.
    outer: Vec<usize>,
    /// Per outer axis, how far a step moves the cell (0 for a reduced axis).
    cell_strides: Vec<usize>,
    /// Elements per run: the product of the trailing reduced axes.
    run: usize,
    /// Whether every kept axis precedes every reduced one: then a cell is one run.
    kept_leading: bool,
}

impl AxisLayout {
    /// The layout of `shape` reduced over `axes` (from [`normalize_axes`]).
    pub fn new(shape: &[usize], axes: &[usize]) -> AxisLayout {
        let reduced = |d: usize| axes.contains(&d);
        let last_kept = (0..shape.len()).rev().find(|&d| !reduced(d));
        let split = last_kept.map_or(0, |d| d + 1);
        let kept_shape: Vec<usize> = (0..shape.len())
            .filter(|&d| !reduced(d))
            .map(|d| shape[d])
            .collect();
        let mut cell_strides = vec![0; split];
        let mut stride = 1;
        for d in (0..split).rev() {
            if !reduced(d) {
                cell_strides[d] = stride;
                stride *= shape[d];
            }
        }
        AxisLayout {
            shape: shape.to_vec(),
            kept_leading: (0..split).all(|d| !reduced(d)),
            outer: shape[..split].to_vec(),
            run: shape[split..].iter().product(),
            cell_strides,
            kept_shape,
        }
    }

    /// The shape of the result: the input's shape without the reduced axes.
    pub fn kept_shape(&self) -> &[usize] {
        &self.kept_shape
    }

    /// The number of cells (1 when every axis is reduced).
    pub fn cells(&self) -> usize {
        self.kept_shape.iter().product()
    }

    /// Calls `f(cell, start..end)` for each run of consecutive elements of one cell within the
    /// flat range `offset..offset + len`, with positions relative to `offset`, in order.
    fn for_each_run(&self, offset: usize, len: usize, mut f: impl FnMut(usize, usize, usize)) {
        if len == 0 || self.run == 0 {
            return;
        }
        let block = offset / self.run;
        let mut index = unravel(block, &self.outer);
        let mut cell: usize = index
            .iter()
            .zip(&self.cell_strides)
            .map(|(i, s)| i * s)
            .sum();
        let mut pos = 0;
        let mut start = offset - block * self.run;
        while pos < len {
            let take = (self.run - start).min(len - pos);
            f(cell, pos, pos + take);
            pos += take;
            start = 0;
            // The odometer: the last outer axis steps, carrying into the ones before it.
            for d in (0..index.len()).rev() {
                index[d] += 1;
                cell += self.cell_strides[d];
                if index[d] < self.outer[d] {
                    break;
                }
                cell -= self.cell_strides[d] * index[d];
                index[d] = 0;
            }
        }
    }
}

/// The multi-index of flat C-order `index` in `shape`.
pub fn unravel(mut index: usize, shape: &[usize]) -> Vec<usize> {
    let mut out = vec![0; shape.len()];
    for (o, &d) in out.iter_mut().zip(shape).rev() {
        if d > 0 {
            *o = index % d;
            index /= d;
        }
    }
    out
}

/// One exact accumulator per kept cell, made as the elements of the cells arrive: memory follows
/// the data read, not the shape a header claims.
#[derive(Debug, Clone)]
pub struct AxisSums {
    layout: AxisLayout,
    cells: Vec<Accumulator>,
}

/// The sums a chunk adds to the cells it touches, ascending by cell.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AxisPartial(pub Vec<(usize, Accumulator)>);

impl AxisSums {
    /// Empty sums for `layout`.
    pub fn new(layout: AxisLayout) -> AxisSums {
        AxisSums {
            cells: Vec::new(),
            layout,
        }
    }

    /// The layout.
    pub fn layout(&self) -> &AxisLayout {
        &self.layout
    }

    /// Sums one chunk per cell (on a worker thread).
    pub fn partial<T: Float>(&self, c: &Chunk<'_, T>) -> AxisPartial {
        let mut runs: Vec<(usize, usize, usize)> = Vec::new();
        self.layout
            .for_each_run(c.offset, c.len(), |cell, a, b| runs.push((cell, a, b)));
        let mut out = Vec::new();
        if self.layout.kept_leading || runs.windows(2).all(|w| w[0].0 < w[1].0) {
            for (cell, a, b) in runs {
                let mut acc = Accumulator::default();
                c.add_run(&mut acc, a..b);
                out.push((cell, acc));
            }
            return AxisPartial(out);
        }
        // The cells a chunk touches lie close together (within about a chunk's length of each
        // other) unless the kept axes are huge: then sort the runs instead of counting them.
        let lo = runs.iter().map(|r| r.0).min().unwrap_or(0);
        let hi = runs.iter().map(|r| r.0).max().unwrap_or(0);
        if hi - lo < 4 * c.len() + 64 {
            let sums = c.sums_by_group(&runs, lo, hi - lo + 1);
            for (k, acc) in sums.into_iter().enumerate() {
                out.extend(acc.map(|acc| (lo + k, acc)));
            }
            return AxisPartial(out);
        }
        // Stable by position within a cell: the gathered elements stay in C order.
        runs.sort_by_key(|r| (r.0, r.1));
        let (mut positions, mut buf) = (Vec::new(), Vec::new());
        for group in runs.chunk_by(|x, y| x.0 == y.0) {
            positions.clear();
            for &(_, a, b) in group {
                positions.extend(a as u32..b as u32);
            }
            let mut acc = Accumulator::default();
            c.add_gathered(&mut acc, &positions, &mut buf);
            out.push((group[0].0, acc));
        }
        AxisPartial(out)
    }

    /// Adds the partial of the chunk that follows the ones combined so far.
    pub fn combine(&mut self, later: AxisPartial) {
        for (cell, acc) in later.0 {
            if cell >= self.cells.len() {
                self.cells.resize(cell + 1, Accumulator::default());
            }
            self.cells[cell].merge(&acc);
        }
    }

    #[cfg(test)]
    /// The accumulators of the cells reached so far, in C order of the kept shape (the cells
    /// after them have no element yet; see [`AxisSums::cell`]).
    pub fn cells(&self) -> &[Accumulator] {
        &self.cells
    }

    /// The accumulator of cell `i` (empty if no element of it has been added).
    pub fn cell(&self, i: usize) -> Accumulator {
        self.cells.get(i).cloned().unwrap_or_default()
    }
}

/// Per-cell sums of several losses over one run, as a sink of the engine; for a weighted mean
/// also the per-cell sums of the weights of the elements counted.
pub struct AxisSink {
    losses: Vec<Loss>,
    sums: Vec<AxisSums>,
    weights: Option<Vec<AxisSums>>,
}

/// What one chunk adds, per loss: to the loss sums and to the weights' sums.
type AxisParts = Vec<(AxisPartial, Option<AxisPartial>)>;

impl AxisSink {
    /// Empty sums of `losses` (the kernel's, in order) over `layout`'s cells; `weighted` also
    /// sums the weights per cell.
    pub fn new(losses: &[Loss], layout: &AxisLayout, weighted: bool) -> AxisSink {
        let sums = || vec![AxisSums::new(layout.clone()); losses.len()];
        AxisSink {
            losses: losses.to_vec(),
            sums: sums(),
            weights: weighted.then(sums),
        }
    }

    /// The results, one per loss: each cell rounded once to `precision`. Cells are read one at a
    /// time, so that cells no element reached cost only their results.
    pub fn finish(&self, reduction: Reduction, axes: &[usize], precision: Precision) -> Vec<Cells> {
        let weights = self.weights.as_ref();
        (0..self.losses.len())
            .map(|k| {
                let sums = &self.sums[k];
                let n = sums.layout().cells();
                let value = |i: usize| match weights {
                    Some(w) => WeightedMean {
                        losses: sums.cell(i),
                        weights: w[k].cell(i),
                    }
                    .value(),
                    None => sums.cell(i).reduce(reduction),
                };
                let loss = self.losses[k];
                Cells {
                    loss,
                    reduction,
                    axes: axes.to_vec(),
                    shape: sums.layout().kept_shape().to_vec(),
                    precision,
                    values: (0..n).map(|i| precision.round(value(i))).collect(),
                    counts: (0..n).map(|i| sums.cell(i).count()).collect(),
                    sums: (0..n)
                        .map(|i| sums.cell(i).reduce(Reduction::Sum))
                        .collect(),
                    linear_fractions: loss
                        .threshold()
                        .map(|_| (0..n).map(|i| sums.cell(i).linear_fraction()).collect()),
                    weight_sums: weights.map(|w| {
                        (0..n)
                            .map(|i| w[k].cell(i).reduce(Reduction::Sum))
                            .collect()
                    }),
                }
            })
            .collect()
    }
}

impl Sink for AxisSink {
    type Part = AxisParts;
    fn chunk<T: Element>(&self, c: &crate::pipeline::Chunk<'_, T>) -> Result<AxisParts> {
        let mut parts = Vec::with_capacity(self.losses.len());
        for (k, loss) in self.losses.iter().enumerate() {
            let view = Chunk::of(c, k, loss);
            let weights = match (&self.weights, c.weight) {
                (Some(w), Some(weight)) => {
                    let masked = masked_weights(&view, weight);
                    let weights = Chunk {
                        losses: masked.as_deref().unwrap_or(weight),
                        threshold: None,
                        linear: None,
                        ..view
                    };
                    Some(w[k].partial(&weights))
                }
                _ => None,
            };
            parts.push((self.sums[k].partial(&view), weights));
        }
        Ok(parts)
    }
    fn combine(&mut self, part: AxisParts) -> Result<()> {
        for (k, (sums, weights)) in part.into_iter().enumerate() {
            self.sums[k].combine(sums);
            if let (Some(all), Some(w)) = (&mut self.weights, weights) {
                all[k].combine(w);
            }
        }
        Ok(())
    }
}

/// The weights of a chunk's counted elements where `--nan omit` leaves some out: an element
/// whose loss is NaN gets a NaN weight, which the omitting sum skips (a NaN weight makes the
/// loss NaN anyway). `None` when the weights count as they are.
fn masked_weights<T: Float>(losses: &Chunk<'_, T>, weight: &[T]) -> Option<Vec<T>> {
    if !losses.omit_nan || !losses.losses.iter().any(|x| x.is_nan()) {
        return None;
    }
    let kept = weight.iter().zip(losses.losses);
    Some(
        kept.map(|(&w, l)| if l.is_nan() { T::from_f64(f64::NAN) } else { w })
            .collect(),
    )
}

/// The per-cell results of one loss over the kept axes, in C order of the kept shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Cells {
    /// The loss and its parameter.
    pub loss: Loss,
    /// `mean`, `sum` or `weighted-mean`.
    pub reduction: Reduction,
    /// The reduced axes, ascending and non-negative.
    pub axes: Vec<usize>,
    /// The kept shape.
    pub shape: Vec<usize>,
    /// The result type.
    pub precision: Precision,
    /// Each cell's result, rounded once to `precision`.
    pub values: Vec<f64>,
    /// Each cell's elements counted.
    pub counts: Vec<u64>,
    /// Each cell's sum of element losses, in `f64`.
    pub sums: Vec<f64>,
    /// Each cell's share of counted elements with `|r| ≥ δ`, for losses with a threshold.
    pub linear_fractions: Option<Vec<f64>>,
    /// Each cell's weights' sum, for a weighted mean.
    pub weight_sums: Option<Vec<f64>>,
}

#[cfg(test)]
mod tests;
