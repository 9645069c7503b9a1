//! The passes of `--axis` and of the weighted mean: per-cell sums over the kept axes, and the
//! weights' sum that a weighted mean (and its gradient) divides by.

use anyhow::{Result, ensure};

use crate::array::fmt_shape;
use crate::breakdown::axis::{AxisLayout, AxisSink, Cells, normalize_axes};
use crate::breakdown::weighted::WeightedSums;
use crate::loss::Loss;
use crate::pipeline::{Engine, Inputs, Kernel, Sink};
use crate::reduce::Reduction;
use crate::summary::Summary;

/// The most cells kept from inputs without elements: every cell of an input with elements
/// holds at least one, so only an empty reduced axis makes cells out of nothing. Each cell of
/// each loss costs about 100 bytes until it is written (and more while JSON is made), so this
/// keeps such a run within a few MiB.
const MAX_EMPTY_CELLS: usize = 1 << 16;

/// At most this many cells kept by `--axis`, counted once per loss (as many as `--by` keeps
/// groups): each holds exact accumulators until the end of the run, measured at about 170 bytes a
/// cell and loss (310 with the weights' sums of a weighted mean), so a run at the bound peaks near
/// 0.7 GB (1.3 GB weighted). The kept shape is known before anything is read, so a larger one (a
/// broadcast shape, or many reduced axes of length 1) is refused before any of it is allocated.
pub const MAX_CELLS: usize = crate::breakdown::group::MAX_GROUPS;

/// Refuses a kept shape of more than [`MAX_CELLS`] cells over all `losses` losses, naming the
/// shape and the axes.
/// Checked before the layout is made: an empty reduced axis lets the kept ones multiply past usize.
fn bound_cells(shape: &[usize], axes: &[usize], losses: usize) -> Result<()> {
    let mut kept = (0..shape.len())
        .filter(|d| !axes.contains(d))
        .map(|d| shape[d]);
    let cells = kept.try_fold(losses, |n, d| n.checked_mul(d));
    ensure!(
        cells.is_some_and(|n| n <= MAX_CELLS),
        "reducing the inputs of shape {} over --axis {} would keep {} cells{}, more than the \
         {MAX_CELLS} huber keeps in memory (reduce over more axes, or use -r none to write every \
         element)",
        fmt_shape(shape),
        axes.iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join(","),
        cells.map_or_else(|| "over 2^64".to_string(), |n| n.to_string()),
        if losses > 1 {
            format!(" in all for {} losses", losses)
        } else {
            String::new()
        },
    );
    Ok(())
}

/// What an `--axis` pass found.
pub enum AxisResult {
    /// Every axis was reduced: the usual scalar results.
    Scalars(Vec<Summary>),
    /// One array of cells per loss.
    Cells(Vec<Cells>),
}

/// The weighted mean Σwℓ / Σw of each of `losses` over `shape`, in one pass.
pub fn weighted_mean(
    engine: &Engine,
    inputs: &mut Inputs<'_>,
    shape: &[usize],
    losses: &[Loss],
    watch: &mut impl Sink,
) -> Result<Vec<Summary>> {
    let precision = inputs.precision();
    let mut sink = (WeightedSums::new(losses), watch);
    let ran = engine.run(inputs, shape, Kernel::Losses(losses), &mut sink)?;
    let sums = sink.0.sums.iter().zip(losses);
    Ok(sums
        .map(|(s, l)| Summary::weighted(*l, s, ran.clone(), precision))
        .collect())
}

/// The gradient's factor 1/Σw (from the exact Σw) of the weighted mean of `loss`: a pass of its own, since every
/// element's gradient needs it. Σw counts the elements `--nan` keeps.
pub fn gradient_scale(
    engine: &Engine,
    inputs: &mut Inputs<'_>,
    shape: &[usize],
    loss: Loss,
    watch: &mut impl Sink,
) -> Result<f64> {
    let mut sink = (WeightedSums::new(&[loss]), watch);
    engine.run(inputs, shape, Kernel::Losses(&[loss]), &mut sink)?;
    Ok(sink.0.sums[0].gradient_scale::<f64>())
}

/// Reduces each of `losses` over `axes` (as typed: checked here against the inputs' number
/// of dimensions) of `shape`, keeping the other axes, in one pass.
pub fn cells(
    engine: &Engine,
    inputs: &mut Inputs<'_>,
    shape: &[usize],
    losses: &[Loss],
    reduction: Reduction,
    axes: &[i64],
    watch: &mut impl Sink,
) -> Result<AxisResult> {
    let axes = normalize_axes(axes, shape.len())?;
    if axes.len() == shape.len() {
        let scalars = match reduction {
            Reduction::WeightedMean => weighted_mean(engine, inputs, shape, losses, watch)?,
            _ => engine.reduce(inputs, shape, losses, reduction, watch)?,
        };
        return Ok(AxisResult::Scalars(scalars));
    }
    let precision = inputs.precision();
    bound_cells(shape, &axes, losses.len())?;
    let layout = AxisLayout::new(shape, &axes);
    let elements: usize = shape.iter().product();
    let results = layout.cells().saturating_mul(losses.len());
    ensure!(
        elements > 0 || results <= MAX_EMPTY_CELLS,
        "the inputs of shape {} have no element, but reducing over --axis would keep {} cells \
         {}(more than {MAX_EMPTY_CELLS} in all), each of them empty",
        fmt_shape(shape),
        layout.cells(),
        if losses.len() > 1 {
            format!("for each of {} losses ", losses.len())
        } else {
            String::new()
        }
    );
    let weighted = reduction == Reduction::WeightedMean;
    let mut sink = (AxisSink::new(losses, &layout, weighted), watch);
    engine.run(inputs, shape, Kernel::Losses(losses), &mut sink)?;
    Ok(AxisResult::Cells(
        sink.0.finish(reduction, &axes, precision),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bound(shape: &[usize], axes: &[usize], losses: usize) -> Result<()> {
        bound_cells(shape, axes, losses)
    }

    #[test]
    fn cells_are_bounded_over_all_losses() {
        assert!(bound(&[MAX_CELLS, 7], &[1], 1).is_ok());
        let err = bound(&[MAX_CELLS + 1, 7], &[1], 1).unwrap_err().to_string();
        assert!(
            err.contains(&format!(
                "{} cells, more than the {MAX_CELLS}",
                MAX_CELLS + 1
            )),
            "{err}"
        );
        assert!(bound(&[MAX_CELLS / 2, 7], &[1], 2).is_ok());
        let err = bound(&[MAX_CELLS / 2 + 1, 7], &[1], 2)
            .unwrap_err()
            .to_string();
        assert!(err.contains("cells in all for 2 losses"), "{err}");
        // A reduced axis of length 0 lets the kept ones multiply past usize: refused, not wrapped.
        let err = bound(&[1 << 40, 0, 1 << 40], &[1], 1)
            .unwrap_err()
            .to_string();
        assert!(err.contains("over 2^64 cells"), "{err}");
    }
}
