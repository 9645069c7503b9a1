//! The driver: reads pred and target chunk by chunk, runs the loss kernel on each chunk and
//! hands the element losses to an accumulator or a writer.
//!
//! Chunk boundaries depend only on element indices ([`CHUNK`]), never on how the input was read,
//! so every way of driving the kernels gives the same bits.

use anyhow::{Result, ensure};
use half::f16;

use crate::dtype::Precision;
use crate::float::Float;
use crate::input::Source;
use crate::loss::Loss;
use crate::reduce::{Accumulator, Reduction, Summary};

/// Elements per chunk: big enough to amortise the per-chunk work, small enough to stay in cache.
pub const CHUNK: usize = 1 << 14;

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

/// Reduces the loss of `pred` against `target` for each of `losses`, in one pass over the data.
pub fn reduce(
    pred: &mut dyn Source,
    target: &mut dyn Source,
    losses: &[Loss],
    reduction: Reduction,
) -> Result<Vec<Summary>> {
    let shape = common_shape(pred, target)?;
    let precision = Precision::of([pred.dtype(), target.dtype()]);
    let mut accs = vec![Accumulator::default(); losses.len()];
    let mut on_chunk = |i: usize, losses: &[f64], linear: u64| accs[i].add(losses, linear);
    match precision {
        Precision::F64 => drive::<f64>(pred, target, losses, false, &mut on_chunk)?,
        p => drive::<f32>(
            pred,
            target,
            losses,
            p == Precision::F16,
            &mut |i, l: &[f32], lin| accs[i].add(l, lin),
        )?,
    }
    Ok(losses
        .iter()
        .zip(&accs)
        .map(|(loss, acc)| Summary::new(*loss, reduction, acc, shape.clone(), precision))
        .collect())
}

/// Computes the element losses of `pred` against `target` and passes them, chunk by chunk in
/// C order, to `sink`. Returns the shape and result type.
pub fn elementwise(
    pred: &mut dyn Source,
    target: &mut dyn Source,
    loss: Loss,
    sink: &mut dyn FnMut(Values<'_>) -> Result<()>,
) -> Result<()> {
    common_shape(pred, target)?;
    let precision = Precision::of([pred.dtype(), target.dtype()]);
    let mut result = Ok(());
    let mut half_buf: Vec<f16> = Vec::new();
    match precision {
        Precision::F64 => drive::<f64>(pred, target, &[loss], false, &mut |_, l, _| {
            if result.is_ok() {
                result = sink(Values::F64(l));
            }
        })?,
        Precision::F32 => drive::<f32>(pred, target, &[loss], false, &mut |_, l, _| {
            if result.is_ok() {
                result = sink(Values::F32(l));
            }
        })?,
        Precision::F16 => drive::<f32>(pred, target, &[loss], true, &mut |_, l, _| {
            if result.is_ok() {
                half_buf.clear();
                half_buf.extend(l.iter().map(|&x| f16::from_f32(x)));
                result = sink(Values::F16(&half_buf));
            }
        })?,
    }
    result
}

/// The precision a pair of inputs computes in.
pub fn precision_of(pred: &dyn Source, target: &dyn Source) -> Precision {
    Precision::of([pred.dtype(), target.dtype()])
}

fn drive<T: Float + ReadFrom>(
    pred: &mut dyn Source,
    target: &mut dyn Source,
    losses: &[Loss],
    round_f16: bool,
    on_chunk: &mut dyn FnMut(usize, &[T], u64),
) -> Result<()> {
    let n: usize = pred.shape().iter().product();
    let mut p = vec![T::ZERO; CHUNK.min(n)];
    let mut t = p.clone();
    let mut out = p.clone();
    let mut done = 0;
    while done < n {
        let m = CHUNK.min(n - done);
        T::read_from(pred, &mut p[..m])?;
        T::read_from(target, &mut t[..m])?;
        for (i, loss) in losses.iter().enumerate() {
            let linear = loss.forward(&p[..m], &t[..m], &mut out[..m]);
            if round_f16 {
                for x in &mut out[..m] {
                    *x = T::from_f64(f64::from(f16::from_f64(x.to_f64())));
                }
            }
            on_chunk(i, &out[..m], linear);
        }
        done += m;
    }
    pred.finish()?;
    target.finish()
}

/// Reads a chunk from a [`Source`] in the float type `Self`.
pub trait ReadFrom: Sized {
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
