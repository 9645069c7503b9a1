//! The main pass of `--top K`: the usual results with the K worst elements of each loss riding
//! along, then, for CSV inputs, a short read of the file again to find the lines of the rows
//! listed.

use anyhow::{Context, Result};

use super::with_position;
use crate::breakdown::top::{Top, Worst};
use crate::loss::Loss;
use crate::outcome::TopList;
use crate::pipeline::{Engine, Inputs, Sink};
use crate::reduce::Reduction;

/// What a `--top` pass computes.
pub(super) struct Run<'a> {
    pub engine: &'a Engine,
    pub shape: &'a [usize],
    pub losses: &'a [Loss],
    pub reduction: Reduction,
    pub k: usize,
    /// The column listed beside each element (`--id`).
    pub id: Option<&'a str>,
}

impl Run<'_> {
    /// Computes the results and the worst elements, with `watch` seeing every chunk.
    pub fn lists(&self, inputs: &mut Inputs<'_>, watch: &mut impl Sink) -> Result<Vec<TopList>> {
        let mut top = Top::new(self.losses, self.k);
        let results = self
            .engine
            .reduce(
                inputs,
                self.shape,
                self.losses,
                self.reduction,
                &mut (&mut top, watch),
            )
            .map_err(|e| with_position(e, inputs, self.shape))?;
        results
            .into_iter()
            .zip(top.finish())
            .map(|(result, list)| {
                let worst = list.worst().to_vec();
                let (lines, files) = lines(inputs, self.shape, &worst)?;
                let ids = match self.id {
                    Some(key) => Some(ids(inputs, self.shape, &worst, key)?),
                    None => None,
                };
                Ok(TopList {
                    result,
                    worst,
                    lines,
                    files,
                    ids,
                })
            })
            .collect()
    }
}

/// The values of column `key` in the rows of the `worst` elements, from the first input whose
/// table (CSV, JSON Lines, Parquet or Arrow) has that column, in the order [`lines`] takes them.
fn ids(inputs: &Inputs<'_>, shape: &[usize], worst: &[Worst], key: &str) -> Result<Vec<String>> {
    let found = of_rows(inputs, shape, worst, |text, indices| {
        let fields = text.has_field(key).then(|| text.fields(key, indices))??;
        Some(fields.with_context(|| format!("--id {key}")))
    })?;
    found.with_context(|| {
        format!(
            "--id {key}: no input is a CSV, JSON Lines, Parquet or Arrow table with that column (that can be read again: not standard input)"
        )
    })
}

/// The lines of listed elements, and the files they are in.
type Located = (Option<Vec<u64>>, Option<Vec<String>>);

/// The lines of the `worst` elements' records in the first input that has lines (a CSV or JSON
/// Lines file): pred's, else target's, else weight's, one of the computed shape before a
/// broadcast one (whose element is the row that broadcasting repeated); `None` if none has. With
/// them, the files they are in where that input is a dataset; without, the files of the first
/// input that is a dataset (of Parquet, Arrow or NPY files).
fn lines(inputs: &Inputs<'_>, shape: &[usize], worst: &[Worst]) -> Result<Located> {
    let found = of_rows(inputs, shape, worst, |text, indices| {
        let lines = text.lines(indices)?;
        let files = text.files(indices);
        Some(lines.map(|lines| {
            let file = |k: usize| files.as_ref().map(|f| f[k].clone());
            lines
                .into_iter()
                .enumerate()
                .map(|(k, line)| (line, file(k)))
                .collect::<Vec<_>>()
        }))
    })?;
    let Some(found) = found else {
        let files = of_rows(inputs, shape, worst, |text, indices| {
            text.files(indices).map(Ok)
        })?;
        return Ok((None, files));
    };
    let (lines, files): (Vec<u64>, Vec<Option<String>>) = found.into_iter().unzip();
    Ok((Some(lines), files.into_iter().collect()))
}

/// What `fetch` finds in the rows of the `worst` elements of the first input that is a table
/// and answers (pred's, else target's, else weight's, one of the computed shape before a
/// broadcast one), in rank order; `None` if none answers. `fetch` is given the rows ascending,
/// so that the table is read once, in order.
fn of_rows<T: Clone + Default>(
    inputs: &Inputs<'_>,
    shape: &[usize],
    worst: &[Worst],
    fetch: impl Fn(&dyn crate::input::Text, &[usize]) -> Option<Result<Vec<T>>>,
) -> Result<Option<Vec<T>>> {
    let (whole, broadcast): (Vec<_>, Vec<_>) = inputs.sources().partition(|s| s.shape() == shape);
    for source in whole.into_iter().chain(broadcast) {
        let Some(text) = source.text() else {
            continue;
        };
        let mine: Vec<usize> = worst
            .iter()
            .map(|w| index_in(w.index, shape, source.shape()))
            .collect();
        let mut order: Vec<usize> = (0..worst.len()).collect();
        order.sort_unstable_by_key(|&r| mine[r]);
        let indices: Vec<usize> = order.iter().map(|&r| mine[r]).collect();
        let Some(found) = fetch(text, &indices) else {
            continue;
        };
        let mut ranked = vec![T::default(); worst.len()];
        for (&rank, value) in order.iter().zip(found?) {
            ranked[rank] = value;
        }
        return Ok(Some(ranked));
    }
    Ok(None)
}

/// The index, in an input of shape `own` broadcast to `shape` (numpy's rules: aligned to the
/// trailing axes, an axis of length 1 repeated), of the element at `index` of `shape`.
fn index_in(index: usize, shape: &[usize], own: &[usize]) -> usize {
    let at = crate::breakdown::axis::unravel(index, shape);
    let skip = shape.len() - own.len();
    own.iter()
        .zip(&at[skip..])
        .fold(0, |flat, (&n, &i)| flat * n + if n == 1 { 0 } else { i })
}
