//! JSON: one object per scalar result (an array of them for a δ sweep), or
//! `{"shape":[…],"dtype":"…","values":[…]}` with values nested as the shape.

use std::io::{self, Write};

use super::{Writer, number};
use crate::array::Values;
use crate::dtype::Precision;
use crate::reduce::{Accumulator, SCALE_EXPONENT, Summary};

/// One field of a scalar result.
pub enum Field {
    /// A string.
    Str(String),
    /// A float of the given type.
    Num(f64, Precision),
    /// A count.
    Int(u64),
    /// A shape.
    Shape(Vec<usize>),
    /// The exact accumulator state, for merging shards (JSON only: an object), with the linear
    /// count when the loss has a threshold.
    State(Accumulator, bool),
}

/// The fields of a result, in the order JSON and CSV print them.
pub fn fields(r: &Summary) -> Vec<(&'static str, Field)> {
    let mut f = vec![("loss", Field::Str(r.loss.kind().name().to_string()))];
    if let Some((name, v)) = r.loss.param() {
        f.push((name, Field::Num(v, Precision::F64)));
    }
    f.push(("reduction", Field::Str(r.reduction.name().to_string())));
    f.push(("value", Field::Num(r.value, r.precision)));
    f.push(("sum", Field::Num(r.sum, Precision::F64)));
    f.push(("count", Field::Int(r.count)));
    f.push(("shape", Field::Shape(r.shape.clone())));
    f.push(("dtype", Field::Str(r.precision.name().to_string())));
    if let Some(lf) = r.linear_fraction {
        f.push(("linear_fraction", Field::Num(lf, Precision::F64)));
    }
    f.push(("state", Field::State(r.state, r.linear_fraction.is_some())));
    f
}

/// `{"hi":…,"lo":…,"scale":…}`: the sum is exactly `(hi + lo) · 2^scale`, `hi` and `lo` printed
/// so that they read back to the same bits; then `"linear"`, the integer count behind
/// `linear_fraction`.
fn push_state(buf: &mut String, acc: &Accumulator, linear: bool) {
    buf.push_str("{\"hi\":");
    number::push_json(buf, acc.sum.hi, Precision::F64);
    buf.push_str(",\"lo\":");
    number::push_json(buf, acc.sum.lo, Precision::F64);
    let scale = if acc.scaled { SCALE_EXPONENT } else { 0 };
    buf.push_str(&format!(",\"scale\":{scale}"));
    if linear {
        buf.push_str(&format!(",\"linear\":{}", acc.linear));
    }
    buf.push('}');
}

fn push_object(buf: &mut String, r: &Summary) {
    buf.push('{');
    for (i, (name, field)) in fields(r).into_iter().enumerate() {
        if i > 0 {
            buf.push(',');
        }
        buf.push_str(&serde_json::to_string(name).unwrap_or_default());
        buf.push(':');
        match field {
            Field::Str(s) => buf.push_str(&serde_json::to_string(&s).unwrap_or_default()),
            Field::Num(x, p) => number::push_json(buf, x, p),
            Field::Int(n) => buf.push_str(&n.to_string()),
            Field::Shape(s) => buf.push_str(&shape_json(&s)),
            Field::State(acc, linear) => push_state(buf, &acc, linear),
        }
    }
    buf.push('}');
}

fn shape_json(shape: &[usize]) -> String {
    format!(
        "[{}]",
        shape
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(",")
    )
}

/// The JSON writer. While streaming element losses it tracks the multi-index of the next element
/// to know where brackets open and close.
#[derive(Default)]
pub struct Json {
    shape: Vec<usize>,
    index: Vec<usize>,
    started: bool,
}

impl Writer for Json {
    fn scalars(&mut self, out: &mut dyn Write, results: &[Summary]) -> io::Result<()> {
        let mut buf = String::new();
        match results {
            [one] => push_object(&mut buf, one),
            _ => {
                buf.push('[');
                for (i, r) in results.iter().enumerate() {
                    if i > 0 {
                        buf.push(',');
                    }
                    push_object(&mut buf, r);
                }
                buf.push(']');
            }
        }
        buf.push('\n');
        out.write_all(buf.as_bytes())
    }

    fn begin(
        &mut self,
        out: &mut dyn Write,
        shape: &[usize],
        precision: Precision,
    ) -> io::Result<()> {
        let head = format!(
            "{{\"shape\":{},\"dtype\":\"{}\",\"values\":",
            shape_json(shape),
            precision.name()
        );
        out.write_all(head.as_bytes())?;
        self.shape = shape.to_vec();
        self.index = vec![0; shape.len()];
        self.started = false;
        if shape.contains(&0) {
            write_empty_nested(out, shape)?;
        } else {
            out.write_all("[".repeat(shape.len()).as_bytes())?;
        }
        Ok(())
    }

    fn values(&mut self, out: &mut dyn Write, values: Values<'_>) -> io::Result<()> {
        let p = values.precision();
        let mut buf = String::with_capacity(values.len() * 12);
        for i in 0..values.len() {
            if self.started {
                // Advance the multi-index; every axis that wraps closes and reopens a bracket.
                let mut wrapped = 0;
                for k in (0..self.shape.len()).rev() {
                    self.index[k] += 1;
                    if self.index[k] < self.shape[k] {
                        break;
                    }
                    self.index[k] = 0;
                    wrapped += 1;
                }
                for _ in 0..wrapped {
                    buf.push(']');
                }
                buf.push(',');
                for _ in 0..wrapped {
                    buf.push('[');
                }
            }
            self.started = true;
            number::push_json(&mut buf, values.get(i), p);
        }
        out.write_all(buf.as_bytes())
    }

    fn end(&mut self, out: &mut dyn Write) -> io::Result<()> {
        let empty = self.shape.contains(&0);
        let close = if empty {
            String::new()
        } else {
            "]".repeat(self.shape.len())
        };
        out.write_all(format!("{close}}}\n").as_bytes())
    }
}

/// The most empty lists the JSON of an empty array may hold (about 400 MB of `[],`): an NPY
/// header can claim a shape like (2^62, 0) in a few bytes, whose nesting would never end.
pub const MAX_EMPTY_LISTS: u64 = 1 << 27;

/// Nested empty lists as numpy's `tolist()` gives them (shape (3, 0) is `[[],[],[]]`), written
/// in pieces so that memory stays small however many there are.
fn write_empty_nested(out: &mut dyn Write, shape: &[usize]) -> io::Result<()> {
    let zero = shape.iter().position(|&d| d == 0).unwrap_or(shape.len());
    let lists = shape[..zero]
        .iter()
        .try_fold(1u64, |n, &d| n.checked_mul(d as u64))
        .filter(|&n| n <= MAX_EMPTY_LISTS);
    if lists.is_none() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "the JSON of an empty array of shape {} would nest more than {MAX_EMPTY_LISTS} empty lists; use -f npy, or a scalar reduction",
                crate::array::fmt_shape(shape)
            ),
        ));
    }
    let mut buf = String::with_capacity(1 << 16);
    nest_empty(out, &shape[..zero], &mut buf)?;
    out.write_all(buf.as_bytes())
}

fn nest_empty(out: &mut dyn Write, outer: &[usize], buf: &mut String) -> io::Result<()> {
    let Some((&d, rest)) = outer.split_first() else {
        buf.push_str("[]");
        return Ok(());
    };
    buf.push('[');
    for i in 0..d {
        if i > 0 {
            buf.push(',');
        }
        nest_empty(out, rest, buf)?;
        if buf.len() >= 1 << 16 {
            out.write_all(buf.as_bytes())?;
            buf.clear();
        }
    }
    buf.push(']');
    Ok(())
}

#[cfg(test)]
mod tests;
