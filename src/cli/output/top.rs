//! `--top K`: the worst elements. Text and CSV write them as a table alone (tab-separated for
//! text, so that `cut` reads it as it is; comma-separated for CSV), with a header line, because
//! a table and a scalar in one stream would not be machine-readable. JSON adds a `"top"` list to
//! each usual result object, so that one pass answers both.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::{Map, Value};

use super::Format;
use super::json::Shortest;
use huber_core::dtype::Precision;
use huber_core::number;
use huber_engine::TopList;
use huber_engine::unravel;

/// Writes the listings (one per loss) in `format`; `weighted` says whether the elements have
/// weights, so that a weight column is there even when a list is empty.
pub fn write(
    out: &mut dyn Write,
    format: Format,
    listings: &[TopList],
    weighted: bool,
) -> io::Result<()> {
    match format {
        Format::Json => json(out, listings),
        Format::Csv => table(out, listings, weighted, ','),
        Format::Text => table(out, listings, weighted, '\t'),
        Format::Npy => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "--top writes a table or JSON, not NPY",
        )),
    }
}

/// A header line and one row per element, worst first; with several losses (a δ sweep), a first
/// column names the parameter and the lists follow one another.
fn table(out: &mut dyn Write, listings: &[TopList], weighted: bool, sep: char) -> io::Result<()> {
    let Some(first) = listings.first() else {
        return Ok(());
    };
    let ndim = first.result.shape.len();
    let param = (listings.len() > 1)
        .then(|| first.result.loss.param().map(|(name, _)| name))
        .flatten();
    let mut names: Vec<String> = param.iter().map(|p| p.to_string()).collect();
    if ndim >= 2 {
        names.extend((0..ndim).map(|d| format!("i{d}")));
        names.push("flat".into());
    } else {
        names.push("index".into());
    }
    if first.files.is_some() {
        names.push("file".into());
    }
    if first.lines.is_some() {
        names.push("line".into());
    }
    if first.ids.is_some() {
        names.push("id".into());
    }
    names.extend(["pred", "target"].map(String::from));
    if weighted {
        names.push("weight".into());
    }
    names.push("loss".into());
    let mut buf = names.join(&sep.to_string());
    buf.push('\n');
    for listing in listings {
        let r = &listing.result;
        for (rank, w) in listing.worst.iter().enumerate() {
            let mut cells: Vec<String> = Vec::with_capacity(names.len());
            if let Some((_, value)) = param.and(r.loss.param()) {
                cells.push(shortest(value, Precision::F64));
            }
            if ndim >= 2 {
                cells.extend(unravel(w.index, &r.shape).iter().map(usize::to_string));
            }
            cells.push(w.index.to_string());
            if let Some(files) = &listing.files {
                cells.push(cell(&files[rank], sep));
            }
            if let Some(lines) = &listing.lines {
                cells.push(lines[rank].to_string());
            }
            if let Some(ids) = &listing.ids {
                cells.push(cell(&ids[rank], sep));
            }
            let weight = weighted.then_some(w.weight.unwrap_or(f64::NAN));
            let numbers = [Some(w.pred), Some(w.target), weight, Some(w.loss)];
            cells.extend(
                numbers
                    .into_iter()
                    .flatten()
                    .map(|x| shortest(x, r.precision)),
            );
            buf.push_str(&cells.join(&sep.to_string()));
            buf.push('\n');
        }
    }
    out.write_all(buf.as_bytes())
}

/// An id or a file name as a cell: quoted as RFC 4180 says where it holds the separator, a quote
/// or a line break (CSV), or with its tabs and line breaks escaped (text, one row a line).
fn cell(id: &str, sep: char) -> String {
    if sep == ',' {
        if id.contains([',', '"', '\n', '\r']) {
            return format!("\"{}\"", id.replace('"', "\"\""));
        }
        return id.to_string();
    }
    id.replace('\\', "\\\\")
        .replace('\t', "\\t")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}

fn shortest(x: f64, p: Precision) -> String {
    let mut s = String::new();
    number::push(&mut s, x, p);
    s
}

/// The usual result object (an array of them for several losses), each with its `"top"` list.
fn json(out: &mut dyn Write, listings: &[TopList]) -> io::Result<()> {
    let objects = listings
        .iter()
        .map(|l| {
            let Value::Object(mut fields) = serde_json::to_value(&l.result)? else {
                return Ok(Value::Null);
            };
            fields.insert("top".into(), Value::Array(entries(l)));
            Ok(Value::Object(fields))
        })
        .collect::<Result<Vec<Value>, serde_json::Error>>()
        .map_err(io::Error::other)?;
    let mut buf = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, Shortest);
    match &objects[..] {
        [one] => one.serialize(&mut ser),
        _ => objects.serialize(&mut ser),
    }
    .map_err(io::Error::other)?;
    buf.push(b'\n');
    out.write_all(&buf)
}

/// The `"top"` entries of one listing.
fn entries(listing: &TopList) -> Vec<Value> {
    let r = &listing.result;
    let number = |x: f64| match number::shortest(x, r.precision) {
        x if x.is_nan() => Value::from("NaN"),
        x if x == f64::INFINITY => Value::from("Infinity"),
        x if x == f64::NEG_INFINITY => Value::from("-Infinity"),
        x => Value::from(x),
    };
    let mut entries = Vec::with_capacity(listing.worst.len());
    for (rank, w) in listing.worst.iter().enumerate() {
        let mut e = Map::new();
        e.insert("index".into(), Value::from(unravel(w.index, &r.shape)));
        e.insert("flat".into(), Value::from(w.index));
        if let Some(files) = &listing.files {
            e.insert("file".into(), Value::from(files[rank].as_str()));
        }
        if let Some(lines) = &listing.lines {
            e.insert("line".into(), Value::from(lines[rank]));
        }
        if let Some(ids) = &listing.ids {
            e.insert("id".into(), Value::from(ids[rank].as_str()));
        }
        e.insert("pred".into(), number(w.pred));
        e.insert("target".into(), number(w.target));
        if let Some(weight) = w.weight {
            e.insert("weight".into(), number(weight));
        }
        e.insert("loss".into(), number(w.loss));
        entries.push(Value::Object(e));
    }
    entries
}

#[cfg(test)]
mod tests;
