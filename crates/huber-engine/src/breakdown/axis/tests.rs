use proptest::prelude::*;

use super::*;
use crate::breakdown::testing::{Data, chunk_sizes, dyadic};

#[test]
fn axes_normalize_like_numpy() {
    assert_eq!(normalize_axes(&[-1, 1], 3).unwrap(), vec![1, 2]);
    assert_eq!(normalize_axes(&[2, 0], 3).unwrap(), vec![0, 2]);
    assert_eq!(normalize_axes(&[], 3).unwrap(), Vec::<usize>::new());
    let out = normalize_axes(&[3], 3).unwrap_err().to_string();
    assert!(
        out.contains("axis 3 is out of bounds") && out.contains("3 dimensions"),
        "{out}"
    );
    let neg = normalize_axes(&[-4], 3).unwrap_err().to_string();
    assert!(
        neg.contains("axis -4") && neg.contains("from -3 to 2"),
        "{neg}"
    );
    let twice = normalize_axes(&[1, -2], 3).unwrap_err().to_string();
    assert!(
        twice.contains("axis 1 is given twice") && twice.contains("1 and -2"),
        "{twice}"
    );
    let scalar = normalize_axes(&[0], 0).unwrap_err().to_string();
    assert!(scalar.contains("0-dimensional"), "{scalar}");
}

#[test]
fn kept_shapes() {
    let batch = AxisLayout::new(&[4, 16, 16], &[1, 2]);
    assert_eq!(batch.kept_shape(), &[4]);
    assert!(batch.kept_leading);
    let pixels = AxisLayout::new(&[4, 16, 16], &[0]);
    assert_eq!(pixels.kept_shape(), &[16, 16]);
    assert!(!pixels.kept_leading);
    assert_eq!(AxisLayout::new(&[4, 16, 16], &[0, 1, 2]).cells(), 1);
    assert_eq!(AxisLayout::new(&[], &[]).cells(), 1);
    assert_eq!(AxisLayout::new(&[3, 0, 2], &[1]).kept_shape(), &[3, 2]);
}

#[test]
fn unravel_is_c_order() {
    assert_eq!(unravel(0, &[2, 3, 4]), vec![0, 0, 0]);
    assert_eq!(unravel(23, &[2, 3, 4]), vec![1, 2, 3]);
    assert_eq!(unravel(13, &[2, 3, 4]), vec![1, 0, 1]);
    assert_eq!(unravel(0, &[]), Vec::<usize>::new());
}

/// Each cell's elements, gathered in C order: the reference a whole-array run would see.
fn gather(shape: &[usize], axes: &[usize], values: &[f32]) -> Vec<Vec<usize>> {
    let layout = AxisLayout::new(shape, axes);
    let kept: Vec<usize> = (0..shape.len()).filter(|d| !axes.contains(d)).collect();
    let mut cells = vec![Vec::new(); layout.cells()];
    for i in 0..values.len() {
        let idx = unravel(i, shape);
        let cell = kept.iter().fold(0, |c, &d| c * shape[d] + idx[d]);
        cells[cell].push(i);
    }
    cells
}

/// A shape, the axes to reduce, pred, target and chunk sizes.
type Case = (Vec<usize>, Vec<usize>, Vec<f32>, Vec<f32>, Vec<usize>);

fn case() -> impl Strategy<Value = Case> {
    proptest::collection::vec(0usize..5, 0..5).prop_flat_map(|shape| {
        let n: usize = shape.iter().product();
        let ndim = shape.len();
        (
            Just(shape),
            proptest::sample::subsequence((0..ndim).collect::<Vec<_>>(), 0..=ndim),
            dyadic(n),
            dyadic(n),
            chunk_sizes(),
        )
    })
}

proptest! {
    #[test]
    fn each_cell_equals_a_reduction_of_its_elements(
        (shape, axes, pred, target, sizes) in case(),
        omit in any::<bool>(),
    ) {
        let mut pred = pred;
        if let Some(p) = pred.first_mut() {
            *p = f32::NAN;
        }
        let data = Data::new(pred, target, None);
        check(&shape, &axes, &data, &sizes, omit);
    }
}

/// Each cell of a chunked run against a reduction of the cell's gathered elements.
fn check(shape: &[usize], axes: &[usize], data: &Data, sizes: &[usize], omit: bool) {
    let mut sums = AxisSums::new(AxisLayout::new(shape, axes));
    for c in data.chunks(sizes, omit) {
        let part = sums.partial(&c);
        sums.combine(part);
    }
    for (cell, members) in gather(shape, axes, &data.losses).iter().enumerate() {
        let c = data.chunk(0, data.losses.len(), omit);
        let mut want = crate::reduce::Accumulator::default();
        let positions: Vec<u32> = members.iter().map(|&i| i as u32).collect();
        c.add_gathered(&mut want, &positions, &mut Vec::new());
        let got = sums.cell(cell);
        assert_eq!(
            (got.count(), got.linear()),
            (want.count(), want.linear()),
            "cell {cell}"
        );
        assert_eq!(got.sum(), want.sum(), "cell {cell}");
    }
}

#[test]
fn cells_far_apart_in_one_chunk_are_sorted_rather_than_counted() {
    // (1, 3, 1000) over axis 1: a chunk of 10 that crosses a row end touches cells 995..999
    // and 0..4, too far apart for a counting sort over the span.
    let n = 3000;
    let pred: Vec<f32> = (0..n).map(|i| ((i * 37) % 64) as f32 / 8.0).collect();
    let data = Data::new(pred, vec![0.5; n], None);
    check(&[1, 3, 1000], &[1], &data, &[995, 10, 990, 10, 995], false);
}

#[test]
fn chunk_cut_inside_a_run_gives_the_same_cells() {
    // (3, 5) over axis 1: runs of 5; chunks of 4 cut every run.
    let pred: Vec<f32> = (0..15).map(|i| i as f32 * 0.37).collect();
    let data = Data::new(pred, vec![0.0; 15], None);
    let layout = AxisLayout::new(&[3, 5], &[1]);
    let mut cut = AxisSums::new(layout.clone());
    for c in data.chunks(&[4], false) {
        let p = cut.partial(&c);
        cut.combine(p);
    }
    let mut whole = AxisSums::new(layout);
    let p = whole.partial(&data.chunk(0, 15, false));
    whole.combine(p);
    for (a, b) in cut.cells().iter().zip(whole.cells()) {
        assert_eq!(a.count(), 5);
        let mean = |x: &crate::reduce::Accumulator| x.reduce(crate::reduce::Reduction::Mean);
        assert!((mean(a) - mean(b)).abs() <= mean(b) * 1e-15);
    }
}

#[test]
fn weights_of_omitted_elements_are_masked() {
    let data = Data::new(
        vec![1.0, f32::NAN, 3.0],
        vec![0.0; 3],
        Some(vec![2.0, 5.0, 1.0]),
    );
    let w = data.weight.as_deref().unwrap();
    let omit = data.chunk(0, 3, true);
    let masked = masked_weights(&omit, w).unwrap();
    assert_eq!((masked[0], masked[2]), (2.0, 1.0));
    assert!(masked[1].is_nan());
    assert_eq!(masked_weights(&data.chunk(0, 3, false), w), None);
    assert_eq!(masked_weights(&data.chunk(2, 3, true), &w[2..]), None);
}
