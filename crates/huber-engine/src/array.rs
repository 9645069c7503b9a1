//! Element buffers: the compute floats, the buffers sources fill, the values results travel in;
//! and shapes: how they print and how they broadcast.

use anyhow::{Result, ensure};
use half::f16;

use crate::dtype::{Dtype, Kind, Precision};
use crate::float::Float;

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

/// Element values owned, in the result type.
#[derive(Debug, Clone)]
pub enum Owned {
    /// Half precision.
    F16(Vec<f16>),
    /// Single precision.
    F32(Vec<f32>),
    /// Double precision.
    F64(Vec<f64>),
}

impl Owned {
    /// The values, borrowed.
    pub fn as_values(&self) -> Values<'_> {
        match self {
            Owned::F16(v) => Values::F16(v),
            Owned::F32(v) => Values::F32(v),
            Owned::F64(v) => Values::F64(v),
        }
    }
}

/// A buffer a source fills, in one of the compute floats.
#[derive(Debug)]
pub enum Buf<'a> {
    /// Double precision: every dtype computes exactly in it.
    F64(&'a mut [f64]),
    /// Single precision, for float16 and float32 data.
    F32(&'a mut [f32]),
}

impl Buf<'_> {
    /// Number of elements to fill.
    pub fn len(&self) -> usize {
        match self {
            Buf::F64(v) => v.len(),
            Buf::F32(v) => v.len(),
        }
    }

    /// Whether there is nothing to fill.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The stored type whose bytes are the buffer's elements as they are in memory: data of
    /// this type is read straight into place.
    pub fn native(&self) -> Dtype {
        let size = match self {
            Buf::F64(_) => 8,
            Buf::F32(_) => 4,
        };
        Dtype {
            kind: Kind::Float,
            size,
            big_endian: cfg!(target_endian = "big"),
        }
    }

    /// The buffer's memory, to read [`Buf::native`] data into.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        match self {
            Buf::F64(v) => bytemuck::cast_slice_mut(v),
            Buf::F32(v) => bytemuck::cast_slice_mut(v),
        }
    }

    /// Fills the buffer from `values` (rounded to `f32` for an `F32` buffer, which the dtype
    /// rules never ask of `f64` data).
    pub fn copy_from(&mut self, values: impl IntoIterator<Item = f64>) {
        match self {
            Buf::F64(v) => v.iter_mut().zip(values).for_each(|(o, x)| *o = x),
            Buf::F32(v) => v.iter_mut().zip(values).for_each(|(o, x)| *o = x as f32),
        }
    }

    /// Copies `values` into the buffer from element `at` on (rounded as in [`Buf::copy_from`]).
    pub fn copy_at(&mut self, at: usize, values: &[f64]) {
        match self {
            Buf::F64(v) => v[at..at + values.len()].copy_from_slice(values),
            Buf::F32(v) => v[at..at + values.len()]
                .iter_mut()
                .zip(values)
                .for_each(|(o, x)| *o = *x as f32),
        }
    }
}

/// A compute float: what kernels compute in and sources read into.
pub trait Element: Float + bytemuck::Pod + Send + Sync {
    /// `out` as a buffer for a source to fill.
    fn buf(out: &mut [Self]) -> Buf<'_>;
    /// `v`, borrowed as values.
    fn values(v: &[Self]) -> Values<'_>;
    /// `v` copied as values of the result type `precision`: float16 results are computed in
    /// `f32` and rounded to float16 already, so the conversion is exact.
    fn to_owned(v: &[Self], precision: Precision) -> Owned;
}

impl Element for f64 {
    fn buf(out: &mut [f64]) -> Buf<'_> {
        Buf::F64(out)
    }
    fn values(v: &[f64]) -> Values<'_> {
        Values::F64(v)
    }
    fn to_owned(v: &[f64], _: Precision) -> Owned {
        Owned::F64(v.to_vec())
    }
}

impl Element for f32 {
    fn buf(out: &mut [f32]) -> Buf<'_> {
        Buf::F32(out)
    }
    fn values(v: &[f32]) -> Values<'_> {
        Values::F32(v)
    }
    fn to_owned(v: &[f32], precision: Precision) -> Owned {
        match precision {
            Precision::F16 => Owned::F16(v.iter().map(|&x| f16::from_f32(x)).collect()),
            _ => Owned::F32(v.to_vec()),
        }
    }
}

/// A shape as Python prints a tuple, and so as NPY headers and numpy show it: `(3, 4)`, `(5,)`,
/// `()`.
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

/// The shape that the inputs of these `shapes` (pred, target and weight, in that order) are
/// computed over: all equal, or with `broadcast` NumPy's broadcast of them. The error shows every
/// shape.
pub fn common_shape(shapes: &[&[usize]], broadcast: bool) -> Result<Vec<usize>> {
    let describe = || {
        let names = ["pred", "target", "weight"];
        let parts: Vec<String> = shapes
            .iter()
            .zip(names)
            .map(|(s, n)| format!("{n} is {}", fmt_shape(s)))
            .collect();
        parts.join(", ")
    };
    if !broadcast {
        let squeezed =
            |s: &[usize]| -> Vec<usize> { s.iter().copied().filter(|&d| d != 1).collect() };
        ensure!(
            shapes.iter().all(|s| *s == shapes[0]),
            "shapes differ: {} ({})",
            describe(),
            if shapes.iter().all(|s| squeezed(s) == squeezed(shapes[0])) {
                // (N, 1) against (N,), as Keras models predict: broadcasting would pair every
                // element of one with every element of the other.
                "they hold the same elements in the same order: --squeeze pairs them one to one \
                 (numpy's squeeze); --broadcast would pair every element of one with every \
                 element of the other"
            } else {
                "use --broadcast for NumPy broadcasting"
            }
        );
        return Ok(shapes[0].to_vec());
    }
    let ndim = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut out = vec![1usize; ndim];
    for s in shapes {
        for (k, &d) in s.iter().enumerate() {
            let o = &mut out[ndim - s.len() + k];
            if *o == 1 {
                *o = d;
            } else {
                ensure!(
                    d == 1 || d == *o,
                    "shapes cannot be broadcast together: {}",
                    describe()
                );
            }
        }
    }
    ensure!(
        out.iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .is_some(),
        "the broadcast shape {} is too large",
        fmt_shape(&out)
    );
    Ok(out)
}
