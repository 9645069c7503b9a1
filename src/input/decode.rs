//! Raw element bytes to compute floats.

use half::f16;

use crate::dtype::{Dtype, Kind};
use crate::float::Float;

/// A compute float that stored elements can be converted to.
pub trait Element: Float + bytemuck::Pod {
    /// The stored type whose bytes are this type's bytes as they are in memory.
    const NATIVE: Dtype;

    /// Converts `out.len()` elements of type `dtype` from `bytes` (exactly `out.len() * dtype.size`
    /// bytes). Returns `false` if `dtype` does not convert to this type exactly; SPEC §3 never
    /// asks for that, since integers and bool always compute in `f64`.
    fn decode(dtype: Dtype, bytes: &[u8], out: &mut [Self]) -> bool;
}

macro_rules! each {
    ($bytes:expr, $out:expr, $n:literal, $big:expr, |$a:ident| $conv:expr) => {{
        let (chunks, _) = $bytes.as_chunks::<$n>();
        if $big {
            for (o, c) in $out.iter_mut().zip(chunks) {
                let mut $a = *c;
                $a.reverse();
                *o = $conv;
            }
        } else {
            for (o, c) in $out.iter_mut().zip(chunks) {
                let $a = *c;
                *o = $conv;
            }
        }
    }};
}

impl Element for f64 {
    const NATIVE: Dtype = Dtype {
        kind: Kind::Float,
        size: 8,
        big_endian: cfg!(target_endian = "big"),
    };
    fn decode(dt: Dtype, bytes: &[u8], out: &mut [f64]) -> bool {
        let big = dt.big_endian;
        match (dt.kind, dt.size) {
            (Kind::Float, 8) => each!(bytes, out, 8, big, |a| f64::from_le_bytes(a)),
            (Kind::Float, 4) => each!(bytes, out, 4, big, |a| f64::from(f32::from_le_bytes(a))),
            (Kind::Float, 2) => each!(bytes, out, 2, big, |a| f64::from(f16::from_le_bytes(a))),
            (Kind::Bool, _) => each!(bytes, out, 1, false, |a| f64::from(u8::from(a[0] != 0))),
            (Kind::Int, 1) => each!(bytes, out, 1, false, |a| f64::from(a[0] as i8)),
            (Kind::Int, 2) => each!(bytes, out, 2, big, |a| f64::from(i16::from_le_bytes(a))),
            (Kind::Int, 4) => each!(bytes, out, 4, big, |a| f64::from(i32::from_le_bytes(a))),
            (Kind::Int, 8) => each!(bytes, out, 8, big, |a| i64::from_le_bytes(a) as f64),
            (Kind::UInt, 1) => each!(bytes, out, 1, false, |a| f64::from(a[0])),
            (Kind::UInt, 2) => each!(bytes, out, 2, big, |a| f64::from(u16::from_le_bytes(a))),
            (Kind::UInt, 4) => each!(bytes, out, 4, big, |a| f64::from(u32::from_le_bytes(a))),
            (Kind::UInt, 8) => each!(bytes, out, 8, big, |a| u64::from_le_bytes(a) as f64),
            _ => return false,
        }
        true
    }
}

impl Element for f32 {
    const NATIVE: Dtype = Dtype {
        kind: Kind::Float,
        size: 4,
        big_endian: cfg!(target_endian = "big"),
    };
    fn decode(dt: Dtype, bytes: &[u8], out: &mut [f32]) -> bool {
        let big = dt.big_endian;
        match (dt.kind, dt.size) {
            (Kind::Float, 4) => each!(bytes, out, 4, big, |a| f32::from_le_bytes(a)),
            (Kind::Float, 2) => each!(bytes, out, 2, big, |a| f32::from(f16::from_le_bytes(a))),
            _ => return false,
        }
        true
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
        assert!(f64::decode(
            dt,
            &[0xff, 0xff, 0xff, 0xfe, 0, 0, 1, 0],
            &mut out
        ));
        assert_eq!(out, [-2.0, 256.0]);
        let dt = Dtype {
            kind: Kind::Float,
            size: 2,
            big_endian: true,
        };
        let mut out32 = [0.0f32; 1];
        assert!(f32::decode(dt, &[0x3c, 0x00], &mut out32));
        assert_eq!(out32, [1.0]);
    }

    #[test]
    fn ints_do_not_decode_to_f32() {
        let dt = Dtype {
            kind: Kind::Int,
            size: 1,
            big_endian: false,
        };
        assert!(!f32::decode(dt, &[1], &mut [0.0]));
    }
}
