//! The engine: reads the inputs batch by batch, runs a kernel on fixed-size chunks in parallel,
//! and hands each chunk with its kernel output to a [`Sink`], whose per-chunk parts are combined
//! in index order.
//!
//! Reading the next batch overlaps with computing the current one. Chunk boundaries depend only
//! on element indices ([`CHUNK`]) and parts are combined in index order, so the result is the
//! same bits for every thread count and every way the input arrived.

mod feed;
pub mod sinks;

use std::sync::{Arc, Mutex};

use anyhow::Result;
use half::f16;
use rayon::prelude::*;

use self::feed::{Batch, Feeds};
use self::sinks::{Accumulate, Observe, Unbroadcast, write_behind};
use crate::array::{Element, Values, common_shape};
use crate::dtype::Precision;
use crate::float::Float;
use crate::input::{ReadAt, Source, Window};
use crate::loss::Loss;
use crate::reduce::Reduction;
use crate::summary::Summary;

/// Elements per chunk, the unit of parallel work and of partial results.
pub const CHUNK: usize = 1 << 14;

/// Elements read by position (arrays in memory, mapped files) that one thread computes alone.
const ONE_THREAD: usize = 1 << 17;
/// Elements per batch read from the inputs: a whole number of chunks.
pub const BATCH: usize = CHUNK * 16;

/// Batches per step of a run whose inputs are read by position.
pub(crate) const STEP_AT: usize = 4;

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
    pub pred: &'a mut dyn Source,
    pub target: &'a mut dyn Source,
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

    /// The inputs, pred, target and weight (if any), in that order.
    pub fn sources(&self) -> impl Iterator<Item = &dyn Source> {
        [
            Some(&*self.pred),
            Some(&*self.target),
            self.weight.as_deref(),
        ]
        .into_iter()
        .flatten()
    }

    /// Whether an input is open-ended: its length is known only once it is read (see
    /// [`Source::open_ended`]).
    pub fn open_ended(&self) -> bool {
        self.sources().any(|s| s.open_ended())
    }

    /// Fails if an input is open-ended: a streamed output states its shape before the data.
    fn check_counted(&self) -> Result<()> {
        anyhow::ensure!(
            !self.open_ended(),
            "internal error: a streamed output of an input not counted"
        );
        Ok(())
    }

    /// The compute and result type: the widest float among the inputs.
    pub fn precision(&self) -> Precision {
        let mut dtypes = vec![self.pred.dtype(), self.target.dtype()];
        if let Some(w) = &self.weight {
            dtypes.push(w.dtype());
        }
        Precision::of(dtypes)
    }
}

/// What a run does with its chunks: [`Sink::chunk`] makes a part of each chunk on the worker
/// threads, [`Sink::combine`] takes the parts one by one in index order on the driving thread.
/// Pairs and options of sinks are sinks, so observers ride along with the main one.
pub trait Sink: Sync {
    /// What a chunk gives.
    type Part: Send;
    /// The part of one chunk.
    fn chunk<T: Element>(&self, c: &Chunk<'_, T>) -> Result<Self::Part>;
    /// Takes the next part, in index order.
    fn combine(&mut self, part: Self::Part) -> Result<()>;
    /// Called on the driving thread before the chunks of elements `start..start + len` are
    /// computed, in order: a sink with an input of its own (the group keys of `--by`) reads
    /// that input's elements here, for [`Sink::chunk`] to find by offset.
    fn begin_batch(&mut self, start: usize, len: usize) -> Result<()> {
        let _ = (start, len);
        Ok(())
    }
}

/// One chunk of the inputs, in the compute type, with what the kernel made of it.
pub struct Chunk<'a, T> {
    /// Flat C-order index of the chunk's first element.
    pub offset: usize,
    /// Predictions, broadcast to the computed shape.
    pub pred: &'a [T],
    /// Targets, likewise.
    pub target: &'a [T],
    /// Weights, likewise, if any.
    pub weight: Option<&'a [T]>,
    /// What `--nan` says about NaN losses; the kernel has already failed on one for `Error`.
    pub nan: NanPolicy,
    /// The kernel's output, `len` values per output, one after the other.
    out: &'a [T],
    /// Per output, the elements in the linear regime (left-out ones not counted).
    linear: &'a [u64],
}

impl<'a, T> Chunk<'a, T> {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.pred.len()
    }

    /// The kernel's `k`-th output: the weighted element losses of the `k`-th loss, or the
    /// residuals, or the gradient.
    pub fn values(&self, k: usize) -> &'a [T] {
        &self.out[k * self.len()..(k + 1) * self.len()]
    }

    /// The number of elements of output `k` in the linear regime (`|r| ≥ δ`), without those
    /// `--nan omit` leaves out.
    pub fn linear(&self, k: usize) -> u64 {
        self.linear[k]
    }
}

/// What is computed for each element of a chunk.
#[derive(Debug, Clone, Copy)]
pub enum Kernel<'a> {
    /// The weighted element losses of each loss.
    Losses(&'a [Loss]),
    /// The residuals `pred − target`.
    Residuals,
    /// The derivative of `scale · w · loss` with respect to `pred`; 0 where `--nan` leaves the
    /// element out.
    Gradient {
        /// The loss.
        loss: Loss,
        /// The reduction's factor: 1/N for a mean, else 1.
        scale: f64,
    },
}

impl Kernel<'_> {
    fn outputs(&self) -> usize {
        match self {
            Kernel::Losses(losses) => losses.len(),
            Kernel::Residuals | Kernel::Gradient { .. } => 1,
        }
    }
}

/// Runs kernels and sinks on a pool of threads.
pub struct Engine {
    pool: Arc<rayon::ThreadPool>,
    nan: NanPolicy,
}

/// Address space a worker thread takes: its stack (Rust's default, 2 MiB) and a margin for the
/// guard pages and the signal stack that the standard library maps when the thread starts.
const THREAD_SPACE: usize = 3 << 20;

/// Checks that the address space for `threads` worker threads is there, by mapping that much
/// (untouched, so it costs no memory) and unmapping it. Without the check, a limit (`ulimit -v`)
/// that lets the stacks be created but not a started thread's signal stack ends that thread with a
/// panic of the standard library's instead of one clean error.
fn reserve_stacks(threads: usize) -> Result<()> {
    memmap2::MmapMut::map_anon(threads * THREAD_SPACE)
        .map(drop)
        .map_err(|e| {
            let reason = crate::message::io_reason(&e);
            anyhow::anyhow!("cannot start {threads} worker threads: {reason}")
        })
}

/// The pools started so far, by thread count: a process that runs many small computations (the
/// Python package, a metric updated per batch) starts its threads once, not once a run.
static POOLS: Mutex<Vec<(usize, Arc<rayon::ThreadPool>)>> = Mutex::new(Vec::new());

/// A pool of `threads` worker threads (0: one per core), started on first use.
fn pool(threads: usize) -> Result<Arc<rayon::ThreadPool>> {
    let threads = crate::threads_or_cores(threads);
    let mut pools = POOLS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, pool)) = pools.iter().find(|(n, _)| *n == threads) {
        return Ok(pool.clone());
    }
    reserve_stacks(threads)?;
    // rayon's error repeats its I/O cause as its source: one line from its message alone.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| {
            let reason = e.to_string();
            let reason = reason.split(" (os error").next().unwrap_or_default();
            anyhow::anyhow!("cannot start {threads} worker threads: {reason}")
        })?;
    let pool = Arc::new(pool);
    pools.push((threads, pool.clone()));
    Ok(pool)
}

thread_local! {
    /// A pool of one worker per core whose first worker is this thread: work handed to it starts
    /// here, with no hand-over to another thread and back (which costs more than a small run),
    /// and the other workers take what they steal. Started on a thread's first run over arrays
    /// in memory (a Python caller's), kept for its next ones.
    static HERE: Option<Arc<rayon::ThreadPool>> = rayon::ThreadPoolBuilder::new()
        .num_threads(crate::threads_or_cores(0))
        .use_current_thread()
        .build()
        .ok()
        .map(Arc::new);
}

impl Engine {
    /// An engine with `threads` worker threads (0: one per core).
    pub fn new(threads: usize, nan: NanPolicy) -> Result<Engine> {
        Ok(Engine {
            pool: pool(threads)?,
            nan,
        })
    }

    /// An engine whose pool this thread works in (one worker per core): for runs over arrays in
    /// memory, many of them small (batches of a metric), which start and end on this thread
    /// without waiting for another to wake. Results are the same bits on any pool.
    pub fn here(nan: NanPolicy) -> Result<Engine> {
        match HERE.with(|p| p.clone()) {
            Some(pool) => Ok(Engine { pool, nan }),
            None => Engine::new(0, nan),
        }
    }

    /// Runs `kernel` over `shape` (from [`Inputs::shape`]) and hands every chunk to `sink`, in
    /// the inputs' compute type: `f64`, or `f32` for float32 and float16 (whose kernel outputs
    /// are rounded to float16). Returns the shape run over: `shape`, or for open-ended inputs
    /// (see [`Source::open_ended`]) `shape` with its first axis as long as they turned out.
    pub fn run<S: Sink>(
        &self,
        inputs: &mut Inputs<'_>,
        shape: &[usize],
        kernel: Kernel<'_>,
        sink: &mut S,
    ) -> Result<Vec<usize>> {
        match inputs.precision() {
            Precision::F64 => self.drive::<f64, S>(inputs, shape, kernel, false, sink),
            Precision::F32 => self.drive::<f32, S>(inputs, shape, kernel, false, sink),
            Precision::F16 => self.drive::<f32, S>(inputs, shape, kernel, true, sink),
        }
    }

    /// The one loop every run goes through: reads batches (overlapping the next read with the
    /// current computation), runs the kernel and the sink's [`Sink::chunk`] on each chunk in
    /// parallel, and combines the parts in order.
    fn drive<T: Element, S: Sink>(
        &self,
        inputs: &mut Inputs<'_>,
        shape: &[usize],
        kernel: Kernel<'_>,
        round_f16: bool,
        sink: &mut S,
    ) -> Result<Vec<usize>> {
        let mut n: usize = shape.iter().product();
        let compute = Compute {
            kernel,
            nan: self.nan,
            round_f16,
        };
        if let Some(at) = positional(inputs, shape) {
            // Inputs read by position know their length: none is open-ended.
            anyhow::ensure!(
                !inputs.open_ended(),
                "internal error: an open-ended input read by position"
            );
            self.drive_at::<T, S>(inputs, &at, n, &compute, sink)?;
            return Ok(shape.to_vec());
        }
        let mut feeds = Feeds::new(inputs, shape)?;
        let first = BATCH.min(n);
        let mut cur = Batch::<T>::new(first, feeds.weighted());
        let mut next = Batch::<T>::new(first, feeds.weighted());
        // On the pool, as every read: a CSV table parses on the threads of the pool it runs
        // on, and `--threads` bounds them.
        self.pool.install(|| feeds.fill(&mut cur, 0, first))?;
        // Open-ended inputs end at their first short batch.
        if cur.len < first {
            n = cur.len;
        }
        while cur.len > 0 {
            let start = cur.start + cur.len;
            let len = BATCH.min(n - start);
            sink.begin_batch(cur.start, cur.len)?;
            let shared: &S = sink;
            let (read, parts) = self.pool.install(|| {
                rayon::join(
                    || feeds.fill(&mut next, start, len),
                    || compute.batch(&cur, shared),
                )
            });
            for part in parts? {
                sink.combine(part)?;
            }
            read?;
            if next.len < len {
                n = start + next.len;
            }
            std::mem::swap(&mut cur, &mut next);
        }
        feeds.finish()?;
        Ok(ran_shape(shape, n))
    }

    /// The loop for inputs read by position: each chunk is read on the thread that computes
    /// it, so the kernel finds its inputs in the cache. With no read to overlap, steps are
    /// larger than a batch and each thread takes a few chunks at a time, so that fewer
    /// hand-overs between the threads are needed.
    fn drive_at<T: Element, S: Sink>(
        &self,
        inputs: &mut Inputs<'_>,
        at: &[Box<dyn ReadAt>],
        n: usize,
        compute: &Compute<'_>,
        sink: &mut S,
    ) -> Result<()> {
        let mut start = 0;
        while start < n {
            let len = (STEP_AT * BATCH).min(n - start);
            sink.begin_batch(start, len)?;
            // Mapped for this step only, and unmapped at its end, so that resident memory stays
            // at one step's pages.
            let native = T::buf(&mut []).native();
            let windows: Vec<Option<Window>> =
                at.iter().map(|a| a.window(start, len, native)).collect();
            let shared: &S = sink;
            let parts = self
                .pool
                .install(|| compute.batch_at::<T, S>(at, &windows, start, len, shared))?;
            drop(windows);
            for part in parts {
                sink.combine(part)?;
            }
            start += len;
        }
        inputs.pred.finish()?;
        inputs.target.finish()?;
        match inputs.weight.as_deref_mut() {
            Some(w) => w.finish(),
            None => Ok(()),
        }
    }

    /// Reduces the loss for each of `losses` over `shape`, in one pass; `watch` sees every chunk.
    pub fn reduce(
        &self,
        inputs: &mut Inputs<'_>,
        shape: &[usize],
        losses: &[Loss],
        reduction: Reduction,
        watch: &mut impl Sink,
    ) -> Result<Vec<Summary>> {
        let precision = inputs.precision();
        let mut sink = (Accumulate::new(losses.len()), watch);
        let ran = self.run(inputs, shape, Kernel::Losses(losses), &mut sink)?;
        Ok(losses
            .iter()
            .zip(&sink.0.accs)
            .map(|(l, acc)| Summary::new(*l, reduction, acc, ran.clone(), precision))
            .collect())
    }

    /// Computes the element losses over `shape` and passes them, in C order, to `emit` on a
    /// thread of its own. Returns the shape computed over: `shape`, or for open-ended inputs
    /// `shape` with its first axis as long as they turned out (see [`Engine::run`]).
    pub fn elementwise(
        &self,
        inputs: &mut Inputs<'_>,
        shape: &[usize],
        loss: Loss,
        watch: &mut impl Sink,
        emit: Emit<'_>,
    ) -> Result<Vec<usize>> {
        let precision = inputs.precision();
        write_behind(emit, precision, |forward| {
            let mut sink = (forward, watch);
            self.run(inputs, shape, Kernel::Losses(&[loss]), &mut sink)
        })
    }

    /// The gradient of the reduced loss with respect to `pred`, in `pred`'s shape, passed in C
    /// order to `emit`. `scale` is the reduction's factor of each element's `w · ∂ℓ/∂pred`: 1/N
    /// for a mean (the elements counted: with `--nan omit` the caller counts them in a pass of
    /// their own), 1/Σw for a weighted mean, else 1. Elements left out by `--nan omit` get 0.
    /// Where `pred` was broadcast, the gradients of its copies are summed exactly.
    pub fn gradient(
        &self,
        inputs: &mut Inputs<'_>,
        shape: &[usize],
        loss: Loss,
        scale: f64,
        watch: &mut impl Sink,
        emit: Emit<'_>,
    ) -> Result<()> {
        let precision = inputs.precision();
        let kernel = Kernel::Gradient { loss, scale };
        let pred_shape = inputs.pred.shape().to_vec();
        inputs.check_counted()?;
        if pred_shape == shape {
            return write_behind(emit, precision, |forward| {
                let mut sink = (forward, watch);
                self.run(inputs, shape, kernel, &mut sink).map(drop)
            });
        }
        let mut sink = (Unbroadcast::new(&pred_shape, shape), watch);
        self.run(inputs, shape, kernel, &mut sink)?;
        sink.0.emit(precision, emit)
    }

    /// Streams the residuals `pred − target` over `shape`, in the compute type, chunk by chunk
    /// to `observe` on the worker threads, in no particular order (for `--delta auto`, which
    /// finds their median in a few such passes).
    pub fn scan_residuals(
        &self,
        inputs: &mut Inputs<'_>,
        shape: &[usize],
        observe: Observer<'_>,
        watch: &mut impl Sink,
    ) -> Result<()> {
        let mut sink = (Observe(observe), watch);
        self.run(inputs, shape, Kernel::Residuals, &mut sink)
            .map(drop)
    }
}

/// `shape` with its first axis cut to hold `n` elements (open-ended inputs end where they
/// end); `shape` itself when it holds `n`.
fn ran_shape(shape: &[usize], n: usize) -> Vec<usize> {
    let mut ran = shape.to_vec();
    if let Some((first, rest)) = ran.split_first_mut() {
        let inner: usize = rest.iter().product();
        if let Some(rows) = n.checked_div(inner) {
            *first = rows;
        }
    }
    ran
}

/// What looks at each chunk of a scan, on the worker threads.
pub type Observer<'a> = &'a (dyn Fn(Values<'_>) + Sync);

/// What receives values in C order, batch by batch, for the output.
pub type Emit<'a> = &'a mut (dyn FnMut(Values<'_>) -> Result<()> + Send);

/// Readers by position of all the inputs (pred, target, weight), where each can be read so and
/// none is broadcast.
fn positional(inputs: &Inputs<'_>, shape: &[usize]) -> Option<Vec<Box<dyn ReadAt>>> {
    inputs
        .sources()
        .map(|s| (s.shape() == shape).then(|| s.positional()).flatten())
        .collect()
}

/// How a run computes each chunk.
struct Compute<'a> {
    kernel: Kernel<'a>,
    nan: NanPolicy,
    round_f16: bool,
}

/// A worker's buffers for the kernel's outputs.
type Scratch<T> = (Vec<T>, Vec<u64>);

impl Compute<'_> {
    /// Room for the kernel's outputs over chunks of up to `len` elements (at most [`CHUNK`]: a
    /// small run zeroes only what it uses).
    fn scratch<T: Element>(&self, len: usize) -> Scratch<T> {
        let outputs = self.kernel.outputs();
        (vec![T::ZERO; len.min(CHUNK) * outputs], vec![0u64; outputs])
    }

    /// Runs the kernel and `sink` on each chunk of `b` in parallel; the parts in order.
    fn batch<T: Element, S: Sink>(&self, b: &Batch<T>, sink: &S) -> Result<Vec<S::Part>> {
        let results: Vec<Result<S::Part>> = (0..b.len.div_ceil(CHUNK))
            .into_par_iter()
            .map_init(
                || self.scratch(b.len),
                |scratch, i| {
                    let r = i * CHUNK..((i + 1) * CHUNK).min(b.len);
                    let weight = b.weight.as_ref().map(|w| &w[r.clone()]);
                    let c = (&b.pred[r.clone()], &b.target[r.clone()], weight);
                    self.part(b.start + r.start, c, scratch, sink)
                },
            )
            .collect();
        results.into_iter().collect()
    }

    /// Reads and computes the chunks of elements `start..start + len` in parallel, each
    /// read by the thread that computes it, or taken in place from the input's mapped
    /// `windows` of these elements where there is one; the parts in order.
    fn batch_at<T: Element, S: Sink>(
        &self,
        at: &[Box<dyn ReadAt>],
        windows: &[Option<Window>],
        start: usize,
        len: usize,
        sink: &S,
    ) -> Result<Vec<S::Part>> {
        let mapped: Vec<Option<&[T]>> = windows
            .iter()
            .map(|w| w.as_ref().and_then(Window::as_slice::<T>))
            .collect();
        let chunks = len.div_ceil(CHUNK);
        // A short run stays on this thread: waking another for a few chunks costs more than it
        // saves (a metric's batches of 50k elements took 1.15x the time split over two).
        let least = match len <= ONE_THREAD {
            true => chunks,
            false => chunks.div_ceil(4 * rayon::current_num_threads()),
        };
        let results: Vec<Result<S::Part>> = (0..chunks)
            .into_par_iter()
            .with_min_len(least)
            .map_init(
                || {
                    (
                        self.scratch(len),
                        // Filled only for inputs not taken in place: allocated on first use.
                        vec![Vec::new(); at.len()],
                    )
                },
                |(scratch, ins), i| {
                    let r = i * CHUNK..((i + 1) * CHUNK).min(len);
                    for ((src, buf), map) in at.iter().zip(ins.iter_mut()).zip(&mapped) {
                        if map.is_none() {
                            if buf.len() < r.len() {
                                buf.resize(len.min(CHUNK), T::ZERO);
                            }
                            src.read_at(start + r.start, T::buf(&mut buf[..r.len()]))?;
                        }
                    }
                    let input = |k: usize| match mapped[k] {
                        Some(m) => &m[r.clone()],
                        None => &ins[k][..r.len()],
                    };
                    let weight = (at.len() > 2).then(|| input(2));
                    let c = (input(0), input(1), weight);
                    self.part(start + r.start, c, scratch, sink)
                },
            )
            .collect();
        results.into_iter().collect()
    }

    /// Runs the kernel on the chunk of pred, target and weight from element `offset` on, then
    /// `sink`.
    fn part<T: Element, S: Sink>(
        &self,
        offset: usize,
        (pred, target, weight): (&[T], &[T], Option<&[T]>),
        (out, linear): &mut Scratch<T>,
        sink: &S,
    ) -> Result<S::Part> {
        let c = Chunk {
            offset,
            pred,
            target,
            weight,
            nan: self.nan,
            out: &[],
            linear: &[],
        };
        let out = &mut out[..c.len() * self.kernel.outputs()];
        self.chunk(&c, out, linear)?;
        sink.chunk(&Chunk { out, linear, ..c })
    }

    /// Fills `out` (and `linear`) with the kernel's outputs for chunk `c`.
    fn chunk<T: Element>(&self, c: &Chunk<'_, T>, out: &mut [T], linear: &mut [u64]) -> Result<()> {
        let nan = self.nan;
        match self.kernel {
            Kernel::Losses(losses) => {
                let outs = out.chunks_mut(c.len().max(1));
                for ((loss, out), lin) in losses.iter().zip(outs).zip(linear.iter_mut()) {
                    *lin = forward(loss, c, out, self.round_f16);
                    match nan {
                        NanPolicy::Propagate => {}
                        NanPolicy::Omit => *lin = linear_kept(loss, c, out, *lin),
                        NanPolicy::Error => first_nan(out, c.offset)?,
                    }
                }
            }
            Kernel::Residuals => {
                for ((o, &p), &t) in out.iter_mut().zip(c.pred).zip(c.target) {
                    *o = p - t;
                }
            }
            Kernel::Gradient { loss, scale } => {
                let mut dropped = Vec::new();
                if nan != NanPolicy::Propagate {
                    forward(&loss, c, out, false);
                    if nan == NanPolicy::Error {
                        first_nan(out, c.offset)?;
                    }
                    dropped = out.iter().map(|x| x.is_nan()).collect();
                }
                loss.backward(c.pred, c.target, T::from_f64(scale), c.weight, out);
                for (g, d) in out.iter_mut().zip(&dropped) {
                    if *d {
                        *g = T::ZERO;
                    }
                }
                if self.round_f16 {
                    round_to_f16(out);
                }
            }
        }
        Ok(())
    }
}

fn round_to_f16<T: Float>(xs: &mut [T]) {
    for x in xs {
        *x = T::from_f64(f64::from(f16::from_f64(x.to_f64())));
    }
}

/// The weighted element losses of a chunk; returns the linear count.
fn forward<T: Float>(loss: &Loss, c: &Chunk<'_, T>, out: &mut [T], round_f16: bool) -> u64 {
    let linear = loss.forward(c.pred, c.target, out);
    if let Some(w) = c.weight {
        weigh(out, w);
    }
    if round_f16 {
        round_to_f16(out);
    }
    linear
}

huber_core::vectorised! {
    /// Multiplies each element loss by its weight.
    fn weigh<T: Float>(out: &mut [T], weight: &[T]) = weigh_portable
}

#[inline(always)]
fn weigh_portable<T: Float>(out: &mut [T], weight: &[T]) {
    for (o, &w) in out.iter_mut().zip(weight) {
        *o = *o * w;
    }
}

/// The linear count of the elements `--nan omit` keeps. `linear` counts every element with
/// |r| ≥ δ, but a weight can still make such an element's loss NaN (w = NaN, or 0 · inf), and
/// an omitted element must not count as linear either.
fn linear_kept<T: Float>(loss: &Loss, c: &Chunk<'_, T>, out: &[T], linear: u64) -> u64 {
    let Some(threshold) = loss.threshold() else {
        return linear;
    };
    if linear == 0 || !out.iter().any(|x| x.is_nan()) {
        return linear;
    }
    linear_not_nan(c.pred, c.target, out, T::from_f64(threshold))
}

/// How many elements are in the linear regime, `|p − t| ≥ threshold`, leaving out those whose
/// loss is NaN: an element that `--nan omit` leaves out does not count as linear either.
pub(crate) fn linear_not_nan<T: Float>(
    pred: &[T],
    target: &[T],
    losses: &[T],
    threshold: T,
) -> u64 {
    let kept = pred.iter().zip(target).zip(losses);
    kept.filter(|&((&p, &t), l)| !l.is_nan() && (p - t).abs() >= threshold)
        .count() as u64
}

fn first_nan<T: Float>(out: &[T], offset: usize) -> Result<()> {
    match out.iter().position(|x| x.is_nan()) {
        Some(i) => Err(NanAt(offset + i).into()),
        None => Ok(()),
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
