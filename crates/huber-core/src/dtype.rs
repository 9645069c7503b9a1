//! Element types as files store them, and the float precision a computation runs in.

use std::fmt;

/// The family of a stored element type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `bool` (`|b1`).
    Bool,
    /// Signed integer.
    Int,
    /// Unsigned integer.
    UInt,
    /// IEEE 754 binary float.
    Float,
}

/// An element type as stored in a file: kind, size in bytes and byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dtype {
    /// Bool, integer or float.
    pub kind: Kind,
    /// Bytes per element: 1 for bool, 1/2/4/8 for integers, 2/4/8 for floats.
    pub size: usize,
    /// Whether multi-byte elements are stored most significant byte first.
    pub big_endian: bool,
}

impl Dtype {
    /// Little-endian 64-bit float, the type of every CSV value.
    pub const F64: Dtype = Dtype {
        kind: Kind::Float,
        size: 8,
        big_endian: false,
    };
    /// Little-endian 32-bit float.
    pub const F32: Dtype = Dtype {
        kind: Kind::Float,
        size: 4,
        big_endian: false,
    };
    /// Little-endian 16-bit float.
    pub const F16: Dtype = Dtype {
        kind: Kind::Float,
        size: 2,
        big_endian: false,
    };

    /// The precision losses over this type are computed in.
    pub fn precision(self) -> Precision {
        match (self.kind, self.size) {
            (Kind::Float, 2) => Precision::F16,
            (Kind::Float, 4) => Precision::F32,
            _ => Precision::F64,
        }
    }
}

impl fmt::Display for Dtype {
    /// numpy's name for the type, e.g. `float32`, `int64`, `bool`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bits = self.size * 8;
        match self.kind {
            Kind::Bool => f.write_str("bool"),
            Kind::Int => write!(f, "int{bits}"),
            Kind::UInt => write!(f, "uint{bits}"),
            Kind::Float => write!(f, "float{bits}"),
        }
    }
}

/// The float type a result is given in. `F16` is computed in `f32` and rounded once per element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Precision {
    /// IEEE binary16.
    F16,
    /// IEEE binary32.
    F32,
    /// IEEE binary64.
    F64,
}

impl Precision {
    /// The widest of the inputs' precisions: the compute and result type.
    pub fn of(dtypes: impl IntoIterator<Item = Dtype>) -> Precision {
        dtypes
            .into_iter()
            .map(Dtype::precision)
            .max()
            .unwrap_or(Precision::F64)
    }

    /// The name JSON reports: `float16`, `float32` or `float64`.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F16 => "float16",
            Precision::F32 => "float32",
            Precision::F64 => "float64",
        }
    }

    /// Parses a name as [`Precision::name`] prints it.
    pub fn from_name(name: &str) -> Option<Precision> {
        match name {
            "float16" => Some(Precision::F16),
            "float32" => Some(Precision::F32),
            "float64" => Some(Precision::F64),
            _ => None,
        }
    }

    /// Rounds an `f64` to this precision and back, as a value of the result type reads.
    pub fn round(self, x: f64) -> f64 {
        match self {
            Precision::F16 => f64::from(half::f16::from_f64(x)),
            Precision::F32 => f64::from(x as f32),
            Precision::F64 => x,
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_and_bool_compute_in_f64() {
        let i8 = Dtype {
            kind: Kind::Int,
            size: 1,
            big_endian: false,
        };
        let b = Dtype {
            kind: Kind::Bool,
            size: 1,
            big_endian: false,
        };
        assert_eq!(Precision::of([Dtype::F32, i8]), Precision::F64);
        assert_eq!(Precision::of([Dtype::F16, b]), Precision::F64);
        assert_eq!(Precision::of([Dtype::F16, Dtype::F16]), Precision::F16);
        assert_eq!(Precision::of([Dtype::F16, Dtype::F32]), Precision::F32);
    }

    #[test]
    fn names_read_back() {
        for p in [Precision::F16, Precision::F32, Precision::F64] {
            assert_eq!(Precision::from_name(p.name()), Some(p));
        }
    }
}
