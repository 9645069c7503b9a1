//! JSON: one object per scalar result (an array of them for a δ sweep), or
//! `{"shape":[…],"dtype":"…","values":[…]}` with values nested as the shape.

use std::io::{self, Write};

use serde::Serialize;

use super::Writer;
use huber_core::dtype::Precision;
use huber_core::number;
use huber_core::summary::Summary;
use huber_engine::Values;

pub(super) use huber_core::number::Shortest;

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
        let mut buf = Vec::new();
        let mut json = serde_json::Serializer::with_formatter(&mut buf, Shortest);
        match results {
            [one] => one.serialize(&mut json),
            _ => results.serialize(&mut json),
        }
        .map_err(io::Error::other)?;
        buf.push(b'\n');
        out.write_all(&buf)
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

    /// The array nests by its shape, which comes first.
    fn shape_at_end(&self) -> bool {
        false
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
                huber_engine::fmt_shape(shape)
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
