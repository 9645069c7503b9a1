//! The compute floats sources read into, and raw element bytes converted to them.

use half::f16;

use crate::dtype::{Dtype, Kind};
use crate::float::Float;

/// A buffer a [`super::Source`] fills, in one of the compute floats.
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

    /// Fills the buffer with `len()` elements of type `dtype` from `bytes` (exactly
    /// `len() * dtype.size` of them). The dtype rules only ever ask for exact conversions
    /// (integers and bool compute in `f64`); a narrower buffer gets them rounded.
    pub fn decode(&mut self, dtype: Dtype, bytes: &[u8]) {
        match self {
            Buf::F64(v) => decode(dtype, bytes, v),
            Buf::F32(v) => decode(dtype, bytes, v),
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
}

/// A compute float: what kernels compute in and sources read into.
pub trait Element: Float + bytemuck::Pod {
    /// `out` as a buffer for [`super::Source::read`].
    fn buf(out: &mut [Self]) -> Buf<'_>;
}

impl Element for f64 {
    fn buf(out: &mut [f64]) -> Buf<'_> {
        Buf::F64(out)
    }
}

impl Element for f32 {
    fn buf(out: &mut [f32]) -> Buf<'_> {
        Buf::F32(out)
    }
}

macro_rules! each {
    ($bytes:expr, $out:expr, $n:literal, $big:expr, |$a:ident| $conv:expr) => {{
        let (chunks, _) = $bytes.as_chunks::<$n>();
        if $big {
            for (o, c) in $out.iter_mut().zip(chunks) {
                let mut $a = *c;
                $a.reverse();
                *o = T::from_f64($conv);
            }
        } else {
            for (o, c) in $out.iter_mut().zip(chunks) {
                let $a = *c;
                *o = T::from_f64($conv);
            }
        }
    }};
}

/// Converts `out.len()` elements of a supported `dtype` from `bytes`, through `f64`, which holds
/// every value of every supported dtype exactly.
fn decode<T: Float>(dt: Dtype, bytes: &[u8], out: &mut [T]) {
    let big = dt.big_endian;
    match (dt.kind, dt.size) {
        (Kind::Float, 8) => each!(bytes, out, 8, big, |a| f64::from_le_bytes(a)),
        (Kind::Float, 4) => each!(bytes, out, 4, big, |a| f64::from(f32::from_le_bytes(a))),
        (Kind::Float, 2) => each!(bytes, out, 2, big, |a| f64::from(f16::from_le_bytes(a))),
        (Kind::Int, 2) => each!(bytes, out, 2, big, |a| f64::from(i16::from_le_bytes(a))),
        (Kind::Int, 4) => each!(bytes, out, 4, big, |a| f64::from(i32::from_le_bytes(a))),
        (Kind::Int, 8) => each!(bytes, out, 8, big, |a| i64::from_le_bytes(a) as f64),
        (Kind::UInt, 2) => each!(bytes, out, 2, big, |a| f64::from(u16::from_le_bytes(a))),
        (Kind::UInt, 4) => each!(bytes, out, 4, big, |a| f64::from(u32::from_le_bytes(a))),
        (Kind::UInt, 8) => each!(bytes, out, 8, big, |a| u64::from_le_bytes(a) as f64),
        (Kind::Int, 1) => each!(bytes, out, 1, false, |a| f64::from(a[0] as i8)),
        (Kind::UInt, 1) => each!(bytes, out, 1, false, |a| f64::from(a[0])),
        // Bool: the readers make no other dtype.
        _ => each!(bytes, out, 1, false, |a| f64::from(u8::from(a[0] != 0))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_endian_ints_and_floats() {
        let mut out = [0.0f64; 2];
        let dt = Dtype {
            kind: Kind::Int,
            size: 4,
            big_endian: true,
        };
        Buf::F64(&mut out).decode(dt, &[0xff, 0xff, 0xff, 0xfe, 0, 0, 1, 0]);
        assert_eq!(out, [-2.0, 256.0]);
        let dt = Dtype {
            kind: Kind::Float,
            size: 2,
            big_endian: true,
        };
        let mut out32 = [0.0f32; 1];
        Buf::F32(&mut out32).decode(dt, &[0x3c, 0x00]);
        assert_eq!(out32, [1.0]);
    }
}
