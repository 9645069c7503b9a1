//! The driver: reads the inputs batch by batch, runs the loss kernels on fixed-size chunks in
//! parallel, and hands the element losses, in order, to accumulators or a writer.
//!
//! Reading the next batch overlaps with computing the current one. Chunk boundaries depend only
//! on element indices ([`CHUNK`]) and chunk results are combined in index order, so the result is
//! the same bits for every thread count and every way the input arrived.

use std::sync::Mutex;

use anyhow::Result;
use half::f16;
use rayon::prelude::*;

use crate::array::{Values, common_shape};
use crate::dtype::Precision;
use crate::float::Float;
use crate::histogram::ResidualHistogram;
use crate::input::{Element, Source};
use crate::loss::Loss;
use crate::progress::Progress;
use crate::reduce::{Accumulator, Dd, Reduction, Summary};

/// Elements per chunk, the unit of parallel work and of partial sums.
pub const CHUNK: usize = 1 << 14;
/// Elements per batch read from the inputs: a whole number of chunks.
pub const BATCH: usize = CHUNK * 16;

/// What to do with element losses that are NaN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NanPolicy {
    /// They make the reduction NaN, as in PyTorch.
    #[default]
    Propagate,
    /// They are left out of sum, mean and count.
    Omit,
    /// The run fails, naming the first one.
    Error,
}

/// The inputs of one computation. `weight` multiplies each element loss.
pub struct Inputs<'a> {
    /// Predictions.
    pub pred: &'a mut dyn Source,
    /// Targets.
    pub target: &'a mut dyn Source,
    /// Per-element weights.
    pub weight: Option<&'a mut dyn Source>,
}

impl Inputs<'_> {
    /// The shape the inputs are computed over (see [`common_shape`]).
    pub fn shape(&self, broadcast: bool) -> Result<Vec<usize>> {
        let mut shapes = vec![self.pred.shape(), self.target.shape()];
        if let Some(w) = &self.weight {
            shapes.push(w.shape());
        }
        common_shape(&shapes, broadcast)
    }

    /// The compute and result type: the widest float among the inputs (SPEC §3).
    pub fn precision(&self) -> Precision {
        let mut dtypes = vec![self.pred.dtype(), self.target.dtype()];
        if let Some(w) = &self.weight {
            dtypes.push(w.dtype());
        }
        Precision::of(dtypes)
    }
}

/// Runs the kernels on a pool of threads.
pub struct Engine {
    pool: rayon::ThreadPool,
    nan: NanPolicy,
    progress: Option<Progress>,
    /// Where residuals are counted, for `--plot`.
    histogram: Option<Mutex<ResidualHistogram>>,
}

/// What looks at each chunk of a scan, on the worker threads.
pub type Observer<'a> = &'a (dyn Fn(Values<'_>) + Sync);

/// What an elementwise or gradient run sends on: values in C order, batch by batch.
pub type Sink<'a> = &'a mut (dyn FnMut(Values<'_>) -> Result<()> + Send);

impl Engine {
    /// An engine with `threads` worker threads (0: one per core).
    pub fn new(threads: usize, nan: NanPolicy) -> Result<Engine> {
        // rayon's error repeats its I/O cause as its source: one line from its message alone.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| {
                let reason = e.to_string();
                let reason = reason.split(" (os error").next().unwrap_or_default();
                anyhow::anyhow!("cannot start {threads} worker threads: {reason}")
            })?;
        Ok(Engine {
            pool,
            nan,
            progress: None,
            histogram: None,
        })
    }

    /// Reports the elements done to `progress` as batches finish.
    pub fn with_progress(mut self, progress: Option<Progress>) -> Engine {
        self.progress = progress;
        self
    }

    /// From now on, also counts the residuals in a histogram, with `|r| ≥ δ` for each of
    /// `thresholds` (for `--plot`).
    pub fn count_residuals(&mut self, thresholds: &[f64]) {
        self.histogram = Some(Mutex::new(ResidualHistogram::new(thresholds)));
    }

    /// The residual histogram, if [`Engine::count_residuals`] asked for one.
    pub fn residual_histogram(&self) -> Option<ResidualHistogram> {
        let hist = self.histogram.as_ref()?;
        Some(hist.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }

    /// Reduces the loss for each of `losses` over `shape` (from [`common_shape`]), in one pass.
    pub fn reduce(
        &self,
        inputs: &mut Inputs<'_>,
        shape: &[usize],
        losses: &[Loss],
        reduction: Reduction,
    ) -> Result<Vec<Summary>> {
        let precision = inputs.precision();
        let accs = match precision {
            Precision::F64 => self.reduce_in::<f64>(inputs, shape, losses, false)?,
            p => self.reduce_in::<f32>(inputs, shape, losses, p == Precision::F16)?,
        };
        Ok(losses
            .iter()
            .zip(&accs)
            .map(|(l, acc)| Summary::new(*l, reduction, acc, shape.to_vec(), precision))
            .collect())
    }

    fn reduce_in<T: Float + Element>(
        &self,
        inputs: &mut Inputs<'_>,
        shape: &[usize],
        losses: &[Loss],
        round_f16: bool,
    ) -> Result<Vec<Accumulator>> {
        let nan = self.nan;
        let work = |c: &ChunkIn<'_, T>, out: &mut [T]| -> Result<Vec<Accumulator>> {
            let mut accs = vec![Accumulator::default(); losses.len()];
            for (loss, acc) in losses.iter().zip(&mut accs) {
                let linear = forward(loss, c, out, round_f16);
                match nan {
                    NanPolicy::Propagate => acc.add(out, linear),
                    NanPolicy::Omit => acc.add_omitting_nan(out, linear_kept(loss, c, out, linear)),
                    NanPolicy::Error => {
                        first_nan(out, c.offset)?;
                        acc.add(out, linear)
                    }
                }
            }
            Ok(accs)
        };
        let mut accs = vec![Accumulator::default(); losses.len()];
        self.drive(inputs, shape, false, &work, &mut |chunks, _| {
            for chunk in &chunks {
                for (acc, part) in accs.iter_mut().zip(chunk) {
                    acc.merge(part);
                }
            }
            Ok(())
        })?;
        Ok(accs)
    }

    /// Computes the element losses over `shape` and passes them, in C order, to `sink`.
    pub fn elementwise(
        &self,
        inputs: &mut Inputs<'_>,
        shape: &[usize],
        loss: Loss,
        sink: Sink<'_>,
    ) -> Result<()> {
        match inputs.precision() {
            Precision::F64 => self
                .elementwise_in::<f64>(inputs, shape, loss, false, &mut |v| sink(Values::F64(v))),
            Precision::F32 => self
                .elementwise_in::<f32>(inputs, shape, loss, false, &mut |v| sink(Values::F32(v))),
            Precision::F16 => {
                self.elementwise_in::<f32>(inputs, shape, loss, true, &mut |v| emit_f16(v, sink))
            }
        }
    }

    fn elementwise_in<T: Float + Element>(
        &self,
        inputs: &mut Inputs<'_>,
        shape: &[usize],
        loss: Loss,
        round_f16: bool,
        sink: &mut (dyn FnMut(&[T]) -> Result<()> + Send),
    ) -> Result<()> {
        let nan = self.nan;
        let work = |c: &ChunkIn<'_, T>, out: &mut [T]| -> Result<()> {
            forward(&loss, c, out, round_f16);
            if nan == NanPolicy::Error {
                first_nan(out, c.offset)?;
            }
            Ok(())
        };
        write_behind(sink, |emit| {
            self.drive(inputs, shape, true, &work, &mut |_, out| emit(out))
        })
    }

    /// The gradient of the reduced loss with respect to `pred`, in `pred`'s shape, passed in C
    /// order to `sink`. `count` is the mean's divisor (the elements counted: with `--nan omit`
    /// the caller counts them in a first pass). Elements left out by `--nan omit` get 0.
    /// Where `pred` was broadcast, the gradients of its copies are summed exactly.
    pub fn gradient(
        &self,
        inputs: &mut Inputs<'_>,
        shape: &[usize],
        loss: Loss,
        reduction: Reduction,
        count: u64,
        sink: Sink<'_>,
    ) -> Result<()> {
        match inputs.precision() {
            Precision::F64 => {
                self.gradient_in::<f64>(inputs, shape, loss, reduction, count, false, &mut |v| {
                    sink(Values::F64(v))
                })
            }
            Precision::F32 => {
                self.gradient_in::<f32>(inputs, shape, loss, reduction, count, false, &mut |v| {
                    sink(Values::F32(v))
                })
            }
            Precision::F16 => {
                self.gradient_in::<f32>(inputs, shape, loss, reduction, count, true, &mut |v| {
                    emit_f16(v, sink)
                })
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn gradient_in<T: Float + Element>(
        &self,
        inputs: &mut Inputs<'_>,
        shape: &[usize],
        loss: Loss,
        reduction: Reduction,
        count: u64,
        round_f16: bool,
        sink: &mut (dyn FnMut(&[T]) -> Result<()> + Send),
    ) -> Result<()> {
        let scale: T = match reduction {
            Reduction::Mean => crate::loss::mean_scale(count),
            Reduction::Sum | Reduction::None => T::ONE,
        };
        let nan = self.nan;
        let work = |c: &ChunkIn<'_, T>, out: &mut [T]| -> Result<()> {
            let mut dropped = Vec::new();
            if nan != NanPolicy::Propagate {
                forward(&loss, c, out, false);
                if nan == NanPolicy::Error {
                    first_nan(out, c.offset)?;
                }
                dropped = out.iter().map(|x| x.is_nan()).collect();
            }
            loss.backward(c.pred, c.target, scale, c.weight, out);
            for (g, d) in out.iter_mut().zip(&dropped) {
                if *d {
                    *g = T::ZERO;
                }
            }
            if round_f16 {
                round_to_f16(out);
            }
            Ok(())
        };
        let pred_shape = inputs.pred.shape().to_vec();
        if pred_shape == shape {
            return write_behind(sink, |emit| {
                self.drive(inputs, shape, true, &work, &mut |_, out| emit(out))
            });
        }
        // pred was broadcast: sum the gradients of each of its elements' copies.
        let strides = broadcast_strides(&pred_shape, shape);
        // Made once the first batch is in, when pred has been read whole: its size then follows
        // bytes that were there, not what a header claimed.
        let mut sums = Vec::new();
        let mut index = MultiIndex::new(shape);
        self.drive(inputs, shape, true, &work, &mut |_, out| {
            if sums.is_empty() {
                sums = vec![Dd::default(); pred_shape.iter().product()];
            }
            for &g in out {
                sums[index.offset(&strides)].add(g.to_f64());
                index.advance();
            }
            Ok(())
        })?;
        let mut grads: Vec<T> = sums.iter().map(|d| T::from_f64(d.value())).collect();
        if round_f16 {
            round_to_f16(&mut grads);
        }
        for chunk in grads.chunks(BATCH) {
            sink(chunk)?;
        }
        Ok(())
    }

    /// Streams the residuals `pred − target` over `shape`, in the compute type, chunk by chunk
    /// to `observe` on the worker threads, in no particular order (for `--delta auto`, which
    /// finds their median in a few such passes).
    pub fn scan_residuals(
        &self,
        inputs: &mut Inputs<'_>,
        shape: &[usize],
        observe: Observer<'_>,
    ) -> Result<()> {
        fn run<T: Float + Element>(
            e: &Engine,
            inputs: &mut Inputs<'_>,
            shape: &[usize],
            observe: &(dyn Fn(&[T]) + Sync),
        ) -> Result<()> {
            let work = |c: &ChunkIn<'_, T>, out: &mut [T]| -> Result<()> {
                for ((o, &p), &t) in out.iter_mut().zip(c.pred).zip(c.target) {
                    *o = p - t;
                }
                observe(out);
                Ok(())
            };
            e.drive(inputs, shape, false, &work, &mut |_, _| Ok(()))
        }
        match inputs.precision() {
            Precision::F64 => run::<f64>(self, inputs, shape, &|r| observe(Values::F64(r))),
            _ => run::<f32>(self, inputs, shape, &|r| observe(Values::F32(r))),
        }
    }

    /// The one loop every run goes through: reads batches (overlapping the next read with the
    /// current computation), runs `work` on each chunk in parallel, and hands each batch's chunk
    /// results (in order) and, with `keep`, its output values to `each`.
    fn drive<T: Float + Element, R: Send>(
        &self,
        inputs: &mut Inputs<'_>,
        shape: &[usize],
        keep: bool,
        work: Work<'_, T, R>,
        each: EachBatch<'_, T, R>,
    ) -> Result<()> {
        let n: usize = shape.iter().product();
        let mut feeds = Feeds::new(inputs, shape)?;
        let first = BATCH.min(n);
        let mut cur = Batch::<T>::new(first, feeds.weight.is_some());
        let mut next = Batch::<T>::new(first, feeds.weight.is_some());
        let mut out = vec![T::ZERO; if keep { first } else { 0 }];
        feeds.fill(&mut cur, 0, first)?;
        if let Some(p) = &self.progress {
            p.start(n as u64);
        }
        let histogram = self.histogram.as_ref();
        while cur.len > 0 {
            let start = cur.start + cur.len;
            let len = BATCH.min(n - start);
            let (read, computed) = self.pool.install(|| {
                rayon::join(
                    || feeds.fill(&mut next, start, len),
                    || run_batch(&cur, &mut out, keep, work, histogram),
                )
            });
            each(computed?, &out[..if keep { cur.len } else { 0 }])?;
            read?;
            if let Some(p) = &self.progress {
                p.set(start as u64);
            }
            std::mem::swap(&mut cur, &mut next);
        }
        if let Some(p) = &self.progress {
            p.finish();
        }
        feeds.finish()
    }
}

/// Runs `produce`, handing what it emits to `sink` on a thread of its own, so that formatting
/// and writing the output overlap reading and computing. At most two batches wait in between.
fn write_behind<T: Copy + Send>(
    sink: &mut (dyn FnMut(&[T]) -> Result<()> + Send),
    produce: impl FnOnce(&mut dyn FnMut(&[T]) -> Result<()>) -> Result<()>,
) -> Result<()> {
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<T>>(2);
        let writer = s.spawn(move || -> Result<()> {
            for batch in rx {
                sink(&batch)?;
            }
            Ok(())
        });
        let produced = produce(&mut |v| {
            tx.send(v.to_vec())
                .map_err(|_| anyhow::anyhow!("the output writer stopped"))
        });
        drop(tx);
        let written = writer
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the output writer failed")));
        // A failed write stops the writer first, and then the producer: its error is the cause.
        written.and(produced)
    })
}

fn emit_f16(v: &[f32], sink: Sink<'_>) -> Result<()> {
    let half: Vec<f16> = v.iter().map(|&x| f16::from_f32(x)).collect();
    sink(Values::F16(&half))
}

fn round_to_f16<T: Float>(xs: &mut [T]) {
    for x in xs {
        *x = T::from_f64(f64::from(f16::from_f64(x.to_f64())));
    }
}

/// The weighted element losses of a chunk; returns the linear count.
fn forward<T: Float>(loss: &Loss, c: &ChunkIn<'_, T>, out: &mut [T], round_f16: bool) -> u64 {
    let linear = loss.forward(c.pred, c.target, out);
    if let Some(w) = c.weight {
        for (o, &w) in out.iter_mut().zip(w) {
            *o = *o * w;
        }
    }
    if round_f16 {
        round_to_f16(out);
    }
    linear
}

/// The linear count of the elements `--nan omit` keeps. `linear` counts every element with
/// |r| ≥ δ, but a weight can still make such an element's loss NaN (w = NaN, or 0 · inf), and
/// an omitted element must not count as linear either.
fn linear_kept<T: Float>(loss: &Loss, c: &ChunkIn<'_, T>, out: &[T], linear: u64) -> u64 {
    let Some(threshold) = loss.threshold() else {
        return linear;
    };
    if linear == 0 || !out.iter().any(|x| x.is_nan()) {
        return linear;
    }
    let threshold = T::from_f64(threshold);
    let kept = c.pred.iter().zip(c.target).zip(out);
    kept.filter(|&((&p, &t), o)| !o.is_nan() && (p - t).abs() >= threshold)
        .count() as u64
}

fn first_nan<T: Float>(out: &[T], offset: usize) -> Result<()> {
    match out.iter().position(|x| x.is_nan()) {
        Some(i) => Err(NanAt(offset + i).into()),
        None => Ok(()),
    }
}

/// The work done on each chunk: fills the output slice, returns the chunk's result.
type Work<'a, T, R> = &'a (dyn Fn(&ChunkIn<'_, T>, &mut [T]) -> Result<R> + Sync);
/// What receives each batch's chunk results and output values, in order.
type EachBatch<'a, T, R> = &'a mut dyn FnMut(Vec<R>, &[T]) -> Result<()>;

/// One chunk of the inputs.
struct ChunkIn<'a, T> {
    pred: &'a [T],
    target: &'a [T],
    weight: Option<&'a [T]>,
    /// Flat index of the chunk's first element.
    offset: usize,
}

fn run_batch<T: Float, R: Send>(
    b: &Batch<T>,
    out: &mut [T],
    keep: bool,
    work: Work<'_, T, R>,
    histogram: Option<&Mutex<ResidualHistogram>>,
) -> Result<Vec<R>> {
    let n = b.len;
    let chunk_in = |i: usize| {
        let r = i * CHUNK..((i + 1) * CHUNK).min(n);
        ChunkIn {
            pred: &b.pred[r.clone()],
            target: &b.target[r.clone()],
            weight: b.weight.as_ref().map(|w| &w[r.clone()]),
            offset: b.start + r.start,
        }
    };
    // Counts are integers: merging them in whatever order threads finish gives the same result.
    let count = |c: &ChunkIn<'_, T>| {
        if let Some(shared) = histogram {
            let mut local = shared
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .empty_like();
            local.add(c.pred, c.target);
            shared
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .merge(&local);
        }
    };
    let results: Vec<Result<R>> = if keep {
        out[..n]
            .par_chunks_mut(CHUNK)
            .enumerate()
            .map(|(i, out)| {
                let c = chunk_in(i);
                count(&c);
                work(&c, out)
            })
            .collect()
    } else {
        (0..n.div_ceil(CHUNK))
            .into_par_iter()
            .map_init(
                || vec![T::ZERO; CHUNK],
                |scratch, i| {
                    let c = chunk_in(i);
                    count(&c);
                    let len = c.pred.len();
                    work(&c, &mut scratch[..len])
                },
            )
            .collect()
    };
    results.into_iter().collect()
}

/// A batch of input elements, `start..start + len` in C order.
struct Batch<T> {
    pred: Vec<T>,
    target: Vec<T>,
    weight: Option<Vec<T>>,
    start: usize,
    len: usize,
}

impl<T: Float> Batch<T> {
    fn new(capacity: usize, weighted: bool) -> Batch<T> {
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

impl<T: Float + Element> Feed<'_, T> {
    fn fill(&mut self, out: &mut [T]) -> Result<()> {
        match self {
            Feed::Stream(src) => src.read(T::buf(out)),
            Feed::Held {
                data,
                strides,
                index,
            } => {
                for o in out {
                    *o = data[index.offset(strides)];
                    index.advance();
                }
                Ok(())
            }
        }
    }
}

/// The three inputs' feeds.
struct Feeds<'a, T> {
    pred: Feed<'a, T>,
    target: Feed<'a, T>,
    weight: Option<Feed<'a, T>>,
}

impl<'a, T: Float + Element> Feeds<'a, T> {
    fn new(inputs: &'a mut Inputs<'_>, shape: &[usize]) -> Result<Feeds<'a, T>> {
        fn feed<'a, T: Float + Element>(
            src: &'a mut dyn Source,
            shape: &[usize],
        ) -> Result<Feed<'a, T>> {
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

    fn fill(&mut self, b: &mut Batch<T>, start: usize, len: usize) -> Result<()> {
        b.start = start;
        b.len = len;
        self.pred.fill(&mut b.pred[..len])?;
        self.target.fill(&mut b.target[..len])?;
        if let (Some(f), Some(w)) = (&mut self.weight, &mut b.weight) {
            f.fill(&mut w[..len])?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
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
fn broadcast_strides(own: &[usize], shape: &[usize]) -> Vec<usize> {
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
struct MultiIndex {
    shape: Vec<usize>,
    index: Vec<usize>,
}

impl MultiIndex {
    fn new(shape: &[usize]) -> MultiIndex {
        MultiIndex {
            shape: shape.to_vec(),
            index: vec![0; shape.len()],
        }
    }

    fn offset(&self, strides: &[usize]) -> usize {
        self.index.iter().zip(strides).map(|(i, s)| i * s).sum()
    }

    fn advance(&mut self) {
        for k in (0..self.shape.len()).rev() {
            self.index[k] += 1;
            if self.index[k] < self.shape[k] {
                return;
            }
            self.index[k] = 0;
        }
    }
}

/// The flat C-order index of the first element whose loss is NaN (`--nan error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NanAt(pub usize);

impl std::fmt::Display for NanAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the loss of element {} is NaN", self.0)
    }
}

impl std::error::Error for NanAt {}

#[cfg(test)]
mod tests;
