//! Raw element bytes converted to the compute floats.

use half::f16;

use crate::array::Buf;
use crate::dtype::{Dtype, Kind};
use crate::float::Float;

/// Fills `out` with `out.len()` elements of type `dtype` from `bytes` (exactly
/// `out.len() * dtype.size` of them). The dtype rules only ever ask for exact conversions
/// (integers and bool compute in `f64`); a narrower buffer gets them rounded.
pub fn decode(dtype: Dtype, bytes: &[u8], out: &mut Buf<'_>) {
    match out {
        Buf::F64(v) => decode_to(dtype, bytes, v),
        Buf::F32(v) => decode_to(dtype, bytes, v),
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
fn decode_to<T: Float>(dt: Dtype, bytes: &[u8], out: &mut [T]) {
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
        decode(
            dt,
            &[0xff, 0xff, 0xff, 0xfe, 0, 0, 1, 0],
            &mut Buf::F64(&mut out),
        );
        assert_eq!(out, [-2.0, 256.0]);
        let dt = Dtype {
            kind: Kind::Float,
            size: 2,
            big_endian: true,
        };
        let mut out32 = [0.0f32; 1];
        decode(dt, &[0x3c, 0x00], &mut Buf::F32(&mut out32));
        assert_eq!(out32, [1.0]);
    }
}
