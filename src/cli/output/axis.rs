//! The results of `--axis`: one array of cells per loss, in the kept shape.
//!
//! NPY, CSV and text write the values as `-r none` writes element losses: one loss gives the
//! kept shape, several (a δ sweep) are stacked along a leading axis, one array per δ in the
//! order given. JSON writes one object per loss (an array of them for several), with each
//! cell's count and sum, and its linear fraction or weights' sum where there is one, nested as
//! the values are, so that a person can check each cell.

use std::io::{self, Write};

use half::f16;

use super::Format;
use super::json::MAX_EMPTY_LISTS;
use huber_core::dtype::Precision;
use huber_core::number;
use huber_engine::Cells;
use huber_engine::Values;

/// Writes `results` (one per loss, all of one kept shape and result type) in `format`.
pub fn write(format: Format, out: &mut dyn Write, results: &[Cells]) -> io::Result<()> {
    let Some(first) = results.first() else {
        return Ok(());
    };
    check_nesting(&first.shape)?;
    if format == Format::Json {
        return write_json(out, results);
    }
    let mut shape = first.shape.clone();
    if results.len() > 1 {
        shape.insert(0, results.len());
    }
    let mut writer = format.writer();
    writer.begin(out, &shape, first.precision)?;
    for r in results {
        write_values(writer.as_mut(), out, &r.values, r.precision)?;
    }
    writer.end(out)
}

/// Passes values already rounded to `precision` to `writer` in that type.
fn write_values(
    writer: &mut dyn super::Writer,
    out: &mut dyn Write,
    values: &[f64],
    precision: Precision,
) -> io::Result<()> {
    match precision {
        Precision::F64 => writer.values(out, Values::F64(values)),
        Precision::F32 => {
            let v: Vec<f32> = values.iter().map(|&x| x as f32).collect();
            writer.values(out, Values::F32(&v))
        }
        Precision::F16 => {
            let v: Vec<f16> = values.iter().map(|&x| f16::from_f64(x)).collect();
            writer.values(out, Values::F16(&v))
        }
    }
}

/// Refuses a kept shape whose nested lists would never end (an empty axis after a huge one:
/// no cell, but that many empty lists).
fn check_nesting(shape: &[usize]) -> io::Result<()> {
    let zero = shape.iter().position(|&d| d == 0).unwrap_or(shape.len());
    let lists = shape[..zero]
        .iter()
        .try_fold(1u64, |n, &d| n.checked_mul(d as u64));
    if lists.is_some_and(|n| n <= MAX_EMPTY_LISTS) {
        return Ok(());
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "the kept shape {} has no cell but would nest more than {MAX_EMPTY_LISTS} empty lists",
            huber_engine::fmt_shape(shape)
        ),
    ))
}

fn write_json(out: &mut dyn Write, results: &[Cells]) -> io::Result<()> {
    let mut buf = String::new();
    if results.len() > 1 {
        buf.push('[');
    }
    for (i, r) in results.iter().enumerate() {
        if i > 0 {
            buf.push(',');
        }
        push_object(&mut buf, r);
    }
    if results.len() > 1 {
        buf.push(']');
    }
    buf.push('\n');
    out.write_all(buf.as_bytes())
}

/// One loss's cells as a JSON object.
fn push_object(buf: &mut String, r: &Cells) {
    let list = |xs: &[usize]| {
        let items: Vec<String> = xs.iter().map(|d| d.to_string()).collect();
        format!("[{}]", items.join(","))
    };
    buf.push_str(&format!("{{\"loss\":\"{}\"", r.loss.kind().name()));
    if let Some((name, value)) = r.loss.param() {
        buf.push_str(&format!(",\"{name}\":"));
        number::push_json(buf, value, Precision::F64);
    }
    buf.push_str(&format!(
        ",\"reduction\":\"{}\",\"axis\":{},\"shape\":{},\"dtype\":\"{}\"",
        r.reduction.name(),
        list(&r.axes),
        list(&r.shape),
        r.precision.name()
    ));
    let p = r.precision;
    push_field(buf, "values", &r.shape, |b, i| {
        number::push_json(b, r.values[i], p)
    });
    push_field(buf, "count", &r.shape, |b, i| {
        b.push_str(&r.counts[i].to_string())
    });
    push_field(buf, "sum", &r.shape, |b, i| {
        number::push_json(b, r.sums[i], Precision::F64)
    });
    if let Some(fractions) = &r.linear_fractions {
        push_field(buf, "linear_fraction", &r.shape, |b, i| {
            number::push_json(b, fractions[i], Precision::F64)
        });
    }
    if let Some(weights) = &r.weight_sums {
        push_field(buf, "weight_sum", &r.shape, |b, i| {
            number::push_json(b, weights[i], Precision::F64)
        });
    }
    buf.push('}');
}

/// `,"name":[…]` with one item per cell, nested as `shape`.
fn push_field(
    buf: &mut String,
    name: &str,
    shape: &[usize],
    mut item: impl FnMut(&mut String, usize),
) {
    buf.push_str(&format!(",\"{name}\":"));
    let mut next = 0;
    nest(buf, shape, &mut next, &mut item);
}

/// The cells from `*next` on, nested as `shape` (numpy's `tolist()`).
fn nest(
    buf: &mut String,
    shape: &[usize],
    next: &mut usize,
    item: &mut impl FnMut(&mut String, usize),
) {
    let Some((&d, rest)) = shape.split_first() else {
        item(buf, *next);
        *next += 1;
        return;
    };
    buf.push('[');
    for i in 0..d {
        if i > 0 {
            buf.push(',');
        }
        nest(buf, rest, next, item);
    }
    buf.push(']');
}
