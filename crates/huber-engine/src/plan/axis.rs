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
