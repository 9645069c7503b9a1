//! Numbers in the shortest decimal form that reads back to the same value in the result type.

use std::fmt::Write;

use half::f16;

use crate::dtype::Precision;

/// Appends `x` (a value of type `p`, widened to `f64`) to `buf` in its shortest round-trip form:
/// `0.1`, `1.0`, `1e-7`, `1e300`; `NaN`, `inf`, `-inf` for the non-finite values.
pub fn push(buf: &mut String, x: f64, p: Precision) {
    // Rust's `Debug` for floats is the shortest representation that parses back to the same
    // value of that type, switching to an exponent for very large and very small magnitudes.
    let _ = match p {
        Precision::F64 => write!(buf, "{x:?}"),
        Precision::F32 => write!(buf, "{:?}", x as f32),
        Precision::F16 => write!(buf, "{:?}", shortest_f16(f16::from_f64(x))),
    };
}

/// The value as a JSON token: a number, or for non-finite values the strings `"NaN"`,
/// `"Infinity"` and `"-Infinity"`, since RFC 8259 has no such numbers.
pub fn push_json(buf: &mut String, x: f64, p: Precision) {
    if x.is_nan() {
        buf.push_str("\"NaN\"");
    } else if x.is_infinite() {
        buf.push_str(if x > 0.0 {
            "\"Infinity\""
        } else {
            "\"-Infinity\""
        });
    } else {
        push(buf, x, p);
    }
}

/// The `f64` whose shortest form is the shortest form of `x` as a value of type `p`: for
/// writers, such as serde's, that print every number as an `f64`.
pub fn shortest(x: f64, p: Precision) -> f64 {
    match p {
        Precision::F64 => x,
        Precision::F32 => format!("{:?}", x as f32).parse().unwrap_or(x),
        Precision::F16 => shortest_f16(f16::from_f64(x)),
    }
}

/// The `f64` with the fewest significant digits that rounds to `v` as a half-precision value
/// (numpy reads a float16 by parsing an `f64` and rounding it, and so does this).
fn shortest_f16(v: f16) -> f64 {
    let x = f64::from(v);
    if !x.is_finite() || x == 0.0 {
        return x;
    }
    for digits in 0..17 {
        let s = format!("{x:.digits$e}");
        if let Ok(y) = s.parse::<f64>()
            && f16::from_f64(y).to_bits() == v.to_bits()
        {
            return y;
        }
    }
    x
}

#[cfg(test)]
mod tests;

/// serde_json's number printing with huber's: serde_json has a shortest form of its own
/// (`0.00001` where [`push`] writes `1e-5`); results print as every other output does. Use it
/// with `serde_json::Serializer::with_formatter`.
pub struct Shortest;

impl serde_json::ser::Formatter for Shortest {
    fn write_f64<W: ?Sized + std::io::Write>(
        &mut self,
        out: &mut W,
        x: f64,
    ) -> std::io::Result<()> {
        let mut buf = String::new();
        push(&mut buf, x, Precision::F64);
        out.write_all(buf.as_bytes())
    }
}
