//! The driver: reads the inputs batch by batch, runs the loss kernels on fixed-size chunks in
//! parallel, and hands the element losses, in order, to accumulators or a writer.
//!
//! Reading the next batch overlaps with computing the current one. Chunk boundaries depend only
//! on element indices ([`CHUNK`]) and chunk results are combined in index order, so the result is
//! the same bits for every thread count and every way the input arrived.

use std::sync::Mutex;

use anyhow::{Result, bail, ensure};
use half::f16;
use rayon::prelude::*;

use crate::dtype::Precision;
use crate::float::Float;
use crate::histogram::ResidualHistogram;
use crate::input::Source;
use crate::loss::Loss;
use crate::progress::Progress;
use crate::reduce::{Accumulator, Reduction, Summary};

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

/// A chunk of element losses in the result type.
#[derive(Debug, Clone, Copy)]
pub enum Values<'a> {
    /// Half precision.
    F16(&'a [f16]),
    /// Single precision.
    F32(&'a [f32]),
    /// Double precision.
    F64(&'a [f64]),
}

impl Values<'_> {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Values::F16(v) => v.len(),
            Values::F32(v) => v.len(),
            Values::F64(v) => v.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The type of the values.
    pub fn precision(&self) -> Precision {
        match self {
            Values::F16(_) => Precision::F16,
            Values::F32(_) => Precision::F32,
            Values::F64(_) => Precision::F64,
        }
    }

    /// The `i`-th value, widened to `f64`.
    pub fn get(&self, i: usize) -> f64 {
        match self {
            Values::F16(v) => f64::from(v[i]),
            Values::F32(v) => f64::from(v[i]),
            Values::F64(v) => v[i],
        }
    }
}

/// The common shape of two inputs, or an error that shows both.
pub fn common_shape(pred: &dyn Source, target: &dyn Source) -> Result<Vec<usize>> {
    ensure!(
        pred.shape() == target.shape(),
        "shapes differ: pred is {} and target is {}",
        fmt_shape(pred.shape()),
        fmt_shape(target.shape())
    );
    Ok(pred.shape().to_vec())
}

/// A shape as numpy prints it: `(3, 4)`, `(5,)`, `()`.
pub fn fmt_shape(shape: &[usize]) -> String {
    match shape {
        [d] => format!("({d},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The precision a pair of inputs computes in.
pub fn precision_of(pred: &dyn Source, target: &dyn Source) -> Precision {
    Precision::of([pred.dtype(), target.dtype()])
}

/// Runs the kernels on a pool of threads.
pub struct Engine {
    pool: rayon::ThreadPool,
    nan: NanPolicy,
    progress: Option<Progress>,
    residuals: Option<Mutex<ResidualHistogram>>,
}

impl Engine {
    /// An engine with `threads` worker threads (0: one per core).
    pub fn new(threads: usize, nan: NanPolicy) -> Result<Engine> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()?;
        Ok(Engine {
            pool,
            nan,
            progress: None,
            residuals: None,
        })
    }

    /// Reports the elements done to `progress` as batches finish.
    pub fn with_progress(mut self, progress: Option<Progress>) -> Engine {
        self.progress = progress;
        self
    }

    /// Also builds a histogram of the residuals, counting `|r| ≥ δ` for each of `thresholds`.
    pub fn with_residuals(mut self, thresholds: &[f64]) -> Engine {
        self.residuals = Some(Mutex::new(ResidualHistogram::new(thresholds)));
        self
    }

    /// The residual histogram of the runs so far, if asked for by [`Engine::with_residuals`].
    pub fn residuals(&self) -> Option<ResidualHistogram> {
        let hist = self.residuals.as_ref()?;
        Some(hist.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }

    /// Reduces the loss of `pred` against `target` for each of `losses`, in one pass.
    pub fn reduce(
        &self,
        pred: &mut dyn Source,
        target: &mut dyn Source,
        losses: &[Loss],
        reduction: Reduction,
    ) -> Result<Vec<Summary>> {
        let shape = common_shape(pred, target)?;
        let precision = precision_of(pred, target);
        let accs = match precision {
            Precision::F64 => self.drive::<f64>(pred, target, losses, false, None)?,
            p => self.drive::<f32>(pred, target, losses, p == Precision::F16, None)?,
        };
        Ok(losses
            .iter()
            .zip(&accs)
            .map(|(l, acc)| Summary::new(*l, reduction, acc, shape.clone(), precision))
            .collect())
    }

    /// Computes the element losses of `pred` against `target` and passes them, batch by batch in
    /// C order, to `sink`.
    pub fn elementwise(
        &self,
        pred: &mut dyn Source,
        target: &mut dyn Source,
        loss: Loss,
        sink: &mut dyn FnMut(Values<'_>) -> Result<()>,
    ) -> Result<()> {
        common_shape(pred, target)?;
        match precision_of(pred, target) {
            Precision::F64 => self.drive::<f64>(
                pred,
                target,
                &[loss],
                false,
                Some(&mut |v| sink(Values::F64(v))),
            )?,
            Precision::F32 => self.drive::<f32>(
                pred,
                target,
                &[loss],
                false,
                Some(&mut |v| sink(Values::F32(v))),
            )?,
            Precision::F16 => {
                let mut half = Vec::new();
                self.drive::<f32>(
                    pred,
                    target,
                    &[loss],
                    true,
                    Some(&mut |v: &[f32]| {
                        half.clear();
                        half.extend(v.iter().map(|&x| f16::from_f32(x)));
                        sink(Values::F16(&half))
                    }),
                )?
            }
        };
        Ok(())
    }

    /// The one loop every run goes through. With `emit`, the element losses of the (single) loss
    /// are passed on in order; the accumulators are returned either way.
    fn drive<T: Float + ReadFrom>(
        &self,
        pred: &mut dyn Source,
        target: &mut dyn Source,
        losses: &[Loss],
        round_f16: bool,
        mut emit: Option<Emit<'_, T>>,
    ) -> Result<Vec<Accumulator>> {
        let n: usize = pred.shape().iter().product();
        let mut accs = vec![Accumulator::default(); losses.len()];
        let first = BATCH.min(n);
        let mut cur = Batch::<T>::new(first);
        let mut next = Batch::<T>::new(first);
        let mut out = vec![T::ZERO; if emit.is_some() { first } else { 0 }];
        cur.fill(pred, target, 0, first)?;
        let ctx = Kernel {
            losses,
            round_f16,
            nan: self.nan,
            keep: emit.is_some(),
            residuals: self.residuals.as_ref(),
        };
        if let Some(progress) = &self.progress {
            progress.start(n as u64);
        }
        while cur.len > 0 {
            let start = cur.start + cur.len;
            let len = BATCH.min(n - start);
            let (read, computed) = self.pool.install(|| {
                rayon::join(
                    || next.fill(pred, target, start, len),
                    || ctx.batch(&cur, &mut out[..]),
                )
            });
            let chunks = computed?;
            for chunk in &chunks {
                for (acc, part) in accs.iter_mut().zip(chunk) {
                    acc.merge(part);
                }
            }
            if let Some(emit) = emit.as_mut() {
                emit(&out[..cur.len])?;
            }
            read?;
            if let Some(progress) = &self.progress {
                progress.set((start + len) as u64);
            }
            std::mem::swap(&mut cur, &mut next);
        }
        if let Some(progress) = &self.progress {
            progress.finish();
        }
        pred.finish()?;
        target.finish()?;
        Ok(accs)
    }
}

/// Where element losses go when they are kept.
type Emit<'a, T> = &'a mut dyn FnMut(&[T]) -> Result<()>;

/// A batch of input elements, `start..start + len` in C order.
struct Batch<T> {
    pred: Vec<T>,
    target: Vec<T>,
    start: usize,
    len: usize,
}

impl<T: Float + ReadFrom> Batch<T> {
    fn new(capacity: usize) -> Batch<T> {
        Batch {
            pred: vec![T::ZERO; capacity],
            target: vec![T::ZERO; capacity],
            start: 0,
            len: 0,
        }
    }

    fn fill(
        &mut self,
        pred: &mut dyn Source,
        target: &mut dyn Source,
        start: usize,
        len: usize,
    ) -> Result<()> {
        self.start = start;
        self.len = len;
        T::read_from(pred, &mut self.pred[..len])?;
        T::read_from(target, &mut self.target[..len])
    }
}

/// What runs on each chunk.
struct Kernel<'a> {
    losses: &'a [Loss],
    round_f16: bool,
    nan: NanPolicy,
    /// Whether element losses are kept for output (one loss only).
    keep: bool,
    /// Where residuals are counted, for `--plot`. Counts are integers: merging in whatever order
    /// threads finish gives the same histogram.
    residuals: Option<&'a Mutex<ResidualHistogram>>,
}

impl Kernel<'_> {
    /// Runs every chunk of `batch` in parallel; returns per chunk one accumulator per loss.
    fn batch<T: Float>(&self, batch: &Batch<T>, out: &mut [T]) -> Result<Vec<Vec<Accumulator>>> {
        let (p, t) = (&batch.pred[..batch.len], &batch.target[..batch.len]);
        let results: Vec<Result<Vec<Accumulator>>> = if self.keep {
            p.par_chunks(CHUNK)
                .zip(t.par_chunks(CHUNK))
                .zip(out[..batch.len].par_chunks_mut(CHUNK))
                .enumerate()
                .map(|(i, ((p, t), out))| self.chunk(p, t, out, batch.start + i * CHUNK))
                .collect()
        } else {
            p.par_chunks(CHUNK)
                .zip(t.par_chunks(CHUNK))
                .enumerate()
                .map_init(
                    || vec![T::ZERO; CHUNK],
                    |scratch, (i, (p, t))| {
                        self.chunk(p, t, &mut scratch[..p.len()], batch.start + i * CHUNK)
                    },
                )
                .collect()
        };
        results.into_iter().collect()
    }

    fn chunk<T: Float>(
        &self,
        p: &[T],
        t: &[T],
        out: &mut [T],
        offset: usize,
    ) -> Result<Vec<Accumulator>> {
        if let Some(shared) = self.residuals {
            let mut local = shared
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .empty_like();
            local.add(p, t);
            shared
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .merge(&local);
        }
        let mut accs = vec![Accumulator::default(); self.losses.len()];
        for (loss, acc) in self.losses.iter().zip(&mut accs) {
            let linear = loss.forward(p, t, out);
            if self.round_f16 {
                for x in out.iter_mut() {
                    *x = T::from_f64(f64::from(f16::from_f64(x.to_f64())));
                }
            }
            match self.nan {
                NanPolicy::Propagate => acc.add(out, linear),
                NanPolicy::Omit => acc.add_omitting_nan(out, linear),
                NanPolicy::Error => {
                    if let Some(i) = out.iter().position(|x| x.is_nan()) {
                        bail!(NanAt(offset + i));
                    }
                    acc.add(out, linear)
                }
            }
        }
        Ok(accs)
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

/// Reads a chunk from a [`Source`] in the float type `Self`.
pub trait ReadFrom: Sized + Send + Sync {
    /// Fills `out` from `src`.
    fn read_from(src: &mut dyn Source, out: &mut [Self]) -> Result<()>;
}

impl ReadFrom for f64 {
    fn read_from(src: &mut dyn Source, out: &mut [f64]) -> Result<()> {
        src.read_f64(out)
    }
}

impl ReadFrom for f32 {
    fn read_from(src: &mut dyn Source, out: &mut [f32]) -> Result<()> {
        src.read_f32(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::MemSource;

    fn run(threads: usize, n: usize) -> Vec<Summary> {
        let p: Vec<f64> = (0..n).map(|i| ((i * 7919) % 1000) as f64 / 37.0).collect();
        let t: Vec<f64> = (0..n)
            .map(|i| ((i * 104729) % 1000) as f64 / 41.0)
            .collect();
        let mut ps = MemSource::new(vec![n], p);
        let mut ts = MemSource::new(vec![n], t);
        let losses = [Loss::huber(0.5).unwrap(), Loss::Mse];
        Engine::new(threads, NanPolicy::Propagate)
            .unwrap()
            .reduce(&mut ps, &mut ts, &losses, Reduction::Mean)
            .unwrap()
    }

    #[test]
    fn thread_count_does_not_change_a_bit() {
        for n in [0, 1, CHUNK - 1, CHUNK + 1, BATCH + 3 * CHUNK + 5] {
            let one = run(1, n);
            for threads in [2, 3, 7] {
                let many = run(threads, n);
                for (a, b) in one.iter().zip(&many) {
                    assert_eq!(
                        a.value.to_bits(),
                        b.value.to_bits(),
                        "n={n} threads={threads}"
                    );
                    assert_eq!(a.sum.to_bits(), b.sum.to_bits());
                }
            }
        }
    }

    #[test]
    fn nan_error_names_the_first_element() {
        let mut p = MemSource::new(vec![4], vec![0.0, f64::NAN, 1.0, f64::NAN]);
        let mut t = MemSource::new(vec![4], vec![0.0; 4]);
        let e = Engine::new(2, NanPolicy::Error).unwrap().reduce(
            &mut p,
            &mut t,
            &[Loss::L1],
            Reduction::Sum,
        );
        let e = e.unwrap_err();
        assert_eq!(e.downcast_ref::<NanAt>(), Some(&NanAt(1)));
    }

    #[test]
    fn nan_omit_leaves_them_out_of_count() {
        let mut p = MemSource::new(vec![3], vec![2.0, f64::NAN, 4.0]);
        let mut t = MemSource::new(vec![3], vec![0.0; 3]);
        let r = Engine::new(1, NanPolicy::Omit)
            .unwrap()
            .reduce(&mut p, &mut t, &[Loss::L1], Reduction::Mean)
            .unwrap();
        assert_eq!((r[0].value, r[0].count), (3.0, 2));
    }
}
