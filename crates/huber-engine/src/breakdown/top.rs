//! `--top K`: the K elements with the largest loss, descending, ties by position.
//!
//! Ranking follows `torch.topk`: NaN ranks above every number (and NaNs among themselves by
//! position); with `--nan omit` NaN losses are left out, as from every other result. Each chunk
//! keeps at most K candidates; once it has K, an element that does not beat the K-th is
//! skipped with one comparison, so the cost is close to a scan when K is small.

use std::cmp::Ordering;

use anyhow::Result;

use crate::array::Element;
use crate::float::Float;
use crate::loss::Loss;
use crate::pipeline::{self, Sink};

use super::Chunk;

/// Losses looked at together when checking whether any reaches the bar.
const SCAN: usize = 256;

/// One of the worst elements.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Worst {
    /// Flat C-order index (see [`unravel`](super::axis::unravel) for the multi-index).
    pub index: usize,
    /// The prediction, widened to `f64`.
    pub pred: f64,
    /// The target, widened to `f64`.
    pub target: f64,
    /// The weight, widened to `f64`, if there are weights.
    pub weight: Option<f64>,
    /// The element loss (times the weight), widened to `f64`.
    pub loss: f64,
}

/// How two candidates rank: larger loss first, NaN first of all, then lower index.
pub fn rank(a: &Worst, b: &Worst) -> Ordering {
    let by_loss = match (a.loss.is_nan(), b.loss.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        // -0 and 0 are one loss: the position decides.
        (false, false) => b.loss.partial_cmp(&a.loss).unwrap_or(Ordering::Equal),
    };
    by_loss.then(a.index.cmp(&b.index))
}

/// The K worst elements seen so far, best-ranked first.
#[derive(Debug, Clone, PartialEq)]
pub struct TopK {
    k: usize,
    worst: Vec<Worst>,
}

impl TopK {
    /// An empty list that keeps `k` elements.
    pub fn new(k: usize) -> TopK {
        TopK {
            k,
            worst: Vec::new(),
        }
    }

    /// The candidates of one chunk (on a worker thread), ranked: at most K, and none that
    /// cannot beat the K-th of the chunks combined so far.
    pub fn partial<T: Float>(&self, c: &Chunk<'_, T>) -> TopK {
        let k = self.k;
        if k == 0 {
            return TopK::new(0);
        }
        // Allocated on the first candidate: once the bar is high, most chunks have none.
        let mut kept: Vec<Worst> = Vec::new();
        // The K-th best once K are known, in this chunk or in the chunks combined before it:
        // anything that does not rank before it cannot be in the answer and is skipped.
        let mut bar: Option<Worst> = (self.worst.len() == k).then(|| self.worst[k - 1]);
        // A loss below the bar's (a comparison that is false for NaN) is skipped at once.
        let mut below = bar.map_or(T::ZERO, |b| T::from_f64(b.loss));
        let mut has_bar = bar.is_some_and(|b| !b.loss.is_nan());
        for (b, block) in c.losses.chunks(SCAN).enumerate() {
            // Once the bar is high, most blocks hold nothing at or above it: one pass the
            // compiler vectorises (no early exit) finds that.
            let reaching = |x: &T| u32::from(*x >= below || x.is_nan());
            if has_bar && block.iter().map(reaching).sum::<u32>() == 0 {
                continue;
            }
            for (j, &x) in block.iter().enumerate() {
                let i = b * SCAN + j;
                if (has_bar && x < below) || (c.omit_nan && x.is_nan()) {
                    continue;
                }
                let w = Worst {
                    index: c.offset + i,
                    pred: c.pred[i].to_f64(),
                    target: c.target[i].to_f64(),
                    weight: c.weight.map(|w| w[i].to_f64()),
                    loss: x.to_f64(),
                };
                if bar.is_some_and(|b| rank(&w, &b) != Ordering::Less) {
                    continue;
                }
                kept.push(w);
                if kept.len() == 2 * k {
                    kept.select_nth_unstable_by(k - 1, rank);
                    kept.truncate(k);
                    bar = kept.iter().copied().max_by(rank);
                    if let Some(b) = bar {
                        (below, has_bar) = (T::from_f64(b.loss), !b.loss.is_nan());
                    }
                }
            }
        }
        kept.sort_unstable_by(rank);
        kept.truncate(k);
        TopK { k, worst: kept }
    }

    /// Merges the partial of a later chunk (or any other list: the merge is by rank alone).
    pub fn combine(&mut self, later: TopK) {
        // Most chunks of a long run bring nothing once the list is full: no copy for them.
        let full = self.worst.len() == self.k;
        match (self.worst.last(), later.worst.first()) {
            (_, None) => return,
            (Some(last), Some(first)) if full && rank(first, last) == Ordering::Greater => return,
            _ => {}
        }
        let mut merged = Vec::with_capacity(self.k.min(self.worst.len() + later.worst.len()));
        let (mut a, mut b) = (self.worst.iter().peekable(), later.worst.iter().peekable());
        while merged.len() < self.k {
            let next = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) if rank(x, y) != Ordering::Greater => a.next(),
                (Some(_), Some(_)) => b.next(),
                (Some(_), None) => a.next(),
                (None, Some(_)) => b.next(),
                (None, None) => break,
            };
            merged.extend(next.copied());
        }
        self.worst = merged;
    }

    /// The worst elements, worst first.
    pub fn worst(&self) -> &[Worst] {
        &self.worst
    }
}

/// `--top K` as an engine sink: the K worst elements of each loss of the run.
///
/// The chunks' candidates are gathered and merged into a list once there are K of them, not
/// one chunk at a time: a merge costs K, so with a large K the run stays linear in its input.
pub struct Top {
    losses: Vec<Loss>,
    lists: Vec<TopK>,
    /// Per loss, candidates not merged into its list yet (at most about 2K).
    pending: Vec<Vec<Worst>>,
}

impl Top {
    /// Keeps the `k` worst elements of each of `losses` (the kernel's outputs, in order).
    pub fn new(losses: &[Loss], k: usize) -> Top {
        Top {
            losses: losses.to_vec(),
            lists: vec![TopK::new(k); losses.len()],
            pending: vec![Vec::new(); losses.len()],
        }
    }

    /// The lists, one per loss, with every candidate merged.
    pub fn finish(mut self) -> Vec<TopK> {
        for (list, pending) in self.lists.iter_mut().zip(&mut self.pending) {
            merge_pending(list, pending);
        }
        self.lists
    }
}

/// Merges the candidates `pending` into `list`, ranked; leaves `pending` empty.
fn merge_pending(list: &mut TopK, pending: &mut Vec<Worst>) {
    pending.sort_unstable_by(rank);
    pending.truncate(list.k);
    list.combine(TopK {
        k: list.k,
        worst: std::mem::take(pending),
    });
}

impl Sink for Top {
    type Part = Vec<TopK>;
    fn chunk<T: Element>(&self, c: &pipeline::Chunk<'_, T>) -> Result<Vec<TopK>> {
        let lists = self.lists.iter().zip(&self.losses).enumerate();
        Ok(lists
            .map(|(k, (list, loss))| list.partial(&Chunk::of(c, k, loss)))
            .collect())
    }
    fn combine(&mut self, parts: Vec<TopK>) -> Result<()> {
        let lists = self.lists.iter_mut().zip(&mut self.pending);
        for ((list, pending), part) in lists.zip(parts) {
            pending.extend(part.worst);
            if pending.len() >= list.k {
                merge_pending(list, pending);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
