//! Where a run's input elements come from, batch by batch: streamed from their sources in C
//! order, or, for an input that is broadcast, held whole and repeated.

use anyhow::{Result, ensure};

use super::{BATCH, Inputs};
use crate::array::Element;
use crate::input::Source;

/// A batch of input elements, `start..start + len` in C order.
pub(super) struct Batch<T> {
    pub(super) pred: Vec<T>,
    pub(super) target: Vec<T>,
    pub(super) weight: Option<Vec<T>>,
    pub(super) start: usize,
    pub(super) len: usize,
}

impl<T: Element> Batch<T> {
    pub(super) fn new(capacity: usize, weighted: bool) -> Batch<T> {
        Batch {
            pred: vec![T::ZERO; capacity],
            target: vec![T::ZERO; capacity],
            weight: weighted.then(|| vec![T::ZERO; capacity]),
            start: 0,
            len: 0,
        }
    }
}

/// Where one input's elements come from: streamed in order, or held whole and broadcast.
enum Feed<'a, T> {
    Stream(&'a mut dyn Source),
    Held {
        data: Vec<T>,
        strides: Vec<usize>,
        index: MultiIndex,
    },
}

impl<T: Element> Feed<'_, T> {
    /// Fills the start of `out`; returns how many elements: fewer only at the end of an
    /// open-ended input.
    fn fill(&mut self, out: &mut [T]) -> Result<usize> {
        match self {
            Feed::Stream(src) => src.read_upto(T::buf(out)),
            Feed::Held {
                data,
                strides,
                index,
            } => {
                for o in out.iter_mut() {
                    *o = data[index.offset(strides)];
                    index.advance();
                }
                Ok(out.len())
            }
        }
    }
}

/// The three inputs' feeds.
pub(super) struct Feeds<'a, T> {
    pred: Feed<'a, T>,
    target: Feed<'a, T>,
    weight: Option<Feed<'a, T>>,
}

impl<'a, T: Element> Feeds<'a, T> {
    pub(super) fn new(inputs: &'a mut Inputs<'_>, shape: &[usize]) -> Result<Feeds<'a, T>> {
        fn feed<'a, T: Element>(src: &'a mut dyn Source, shape: &[usize]) -> Result<Feed<'a, T>> {
            if src.shape() == shape {
                return Ok(Feed::Stream(src));
            }
            // A broadcast input is smaller than the result: hold it whole. It grows batch by
            // batch as its data arrives, so a header (on stdin, where no file size guards it)
            // that claims more than follows fails before memory follows the claim.
            let own = src.shape().to_vec();
            let total: usize = own.iter().product();
            let mut data = Vec::new();
            while data.len() < total {
                let start = data.len();
                data.resize(start + (total - start).min(BATCH), T::ZERO);
                src.read(T::buf(&mut data[start..]))?;
            }
            src.finish()?;
            Ok(Feed::Held {
                data,
                strides: broadcast_strides(&own, shape),
                index: MultiIndex::new(shape),
            })
        }
        Ok(Feeds {
            pred: feed(inputs.pred, shape)?,
            target: feed(inputs.target, shape)?,
            weight: match inputs.weight.as_deref_mut() {
                Some(w) => Some(feed(w, shape)?),
                None => None,
            },
        })
    }

    /// Whether there are weights.
    pub(super) fn weighted(&self) -> bool {
        self.weight.is_some()
    }

    /// Reads elements `start..start + len` into `b`: the inputs side by side on the pool's
    /// threads, or one after another when one of them parses on the pool itself (see
    /// [`Text::parses_on_pool`](crate::input::Text::parses_on_pool)). An error of pred's comes before target's, and target's
    /// before weight's. Fewer than `len` (as `b.len` says) only at the end of open-ended
    /// inputs, which end together: they are columns of one table.
    pub(super) fn fill(&mut self, b: &mut Batch<T>, start: usize, len: usize) -> Result<()> {
        b.start = start;
        let on_pool = [Some(&self.pred), Some(&self.target), self.weight.as_ref()]
            .into_iter()
            .flatten()
            .any(|f| matches!(f, Feed::Stream(src) if src.text().is_some_and(|t| t.parses_on_pool())));
        let mut weight = || match (&mut self.weight, &mut b.weight) {
            (Some(f), Some(w)) => f.fill(&mut w[..len]).map(Some),
            _ => Ok(None),
        };
        let (pred, target, weight) = if on_pool {
            (
                self.pred.fill(&mut b.pred[..len])?,
                self.target.fill(&mut b.target[..len])?,
                weight()?,
            )
        } else {
            let (pred, (target, weight)) = rayon::join(
                || self.pred.fill(&mut b.pred[..len]),
                || rayon::join(|| self.target.fill(&mut b.target[..len]), weight),
            );
            (pred?, target?, weight?)
        };
        ensure!(
            target == pred && weight.unwrap_or(pred) == pred,
            "internal error: inputs read together ended apart ({pred}, {target} and {weight:?} elements)"
        );
        b.len = pred;
        Ok(())
    }

    pub(super) fn finish(&mut self) -> Result<()> {
        for f in [
            Some(&mut self.pred),
            Some(&mut self.target),
            self.weight.as_mut(),
        ]
        .into_iter()
        .flatten()
        {
            if let Feed::Stream(src) = f {
                src.finish()?;
            }
        }
        Ok(())
    }
}

/// Strides (in elements) that map an index of `shape` to an element of the broadcast input of
/// shape `own`: 0 along the axes it is repeated on.
pub(super) fn broadcast_strides(own: &[usize], shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![0; shape.len()];
    let mut step = 1;
    for k in (0..own.len()).rev() {
        let axis = shape.len() - own.len() + k;
        if own[k] != 1 {
            strides[axis] = step;
        }
        step *= own[k];
    }
    strides
}

/// A C-order multi-index that advances one element at a time.
pub(super) struct MultiIndex {
    shape: Vec<usize>,
    index: Vec<usize>,
}

impl MultiIndex {
    pub(super) fn new(shape: &[usize]) -> MultiIndex {
        MultiIndex {
            shape: shape.to_vec(),
            index: vec![0; shape.len()],
        }
    }

    pub(super) fn offset(&self, strides: &[usize]) -> usize {
        self.index.iter().zip(strides).map(|(i, s)| i * s).sum()
    }

    pub(super) fn advance(&mut self) {
        for k in (0..self.shape.len()).rev() {
            self.index[k] += 1;
            if self.index[k] < self.shape[k] {
                return;
            }
            self.index[k] = 0;
        }
    }
}
