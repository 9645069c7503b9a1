//! CSV: a header and one row per scalar result; for element losses, one row per index of the
//! leading axes and one column per index of the last (a 1-d array is one column, as
//! `numpy.savetxt` writes it).

use std::io::{self, Write};

use serde_json::Value;

use super::Writer;
use huber_core::dtype::Precision;
use huber_core::number;
use huber_core::summary::Summary;
use huber_engine::Values;

/// The CSV writer.
#[derive(Default)]
pub struct Csv {
    /// Values per row.
    width: usize,
    /// Values written in the current row.
    col: usize,
}

impl Writer for Csv {
    fn scalars(&mut self, out: &mut dyn Write, results: &[Summary]) -> io::Result<()> {
        let mut buf = String::new();
        for (i, r) in results.iter().enumerate() {
            let Value::Object(fields) = serde_json::to_value(r).map_err(io::Error::other)? else {
                continue;
            };
            // The record's scalar fields, in its order; the shape and the state are JSON's.
            let row: Vec<_> = fields
                .iter()
                .filter(|(_, v)| !v.is_array() && !v.is_object())
                .collect();
            if i == 0 {
                let names: Vec<&str> = row.iter().map(|(name, _)| name.as_str()).collect();
                buf.push_str(&names.join(","));
                buf.push('\n');
            }
            for (j, (_, v)) in row.into_iter().enumerate() {
                if j > 0 {
                    buf.push(',');
                }
                push_cell(&mut buf, v);
            }
            buf.push('\n');
        }
        out.write_all(buf.as_bytes())
    }

    fn begin(
        &mut self,
        _out: &mut dyn Write,
        shape: &[usize],
        _precision: Precision,
    ) -> io::Result<()> {
        self.width = if shape.len() >= 2 {
            shape[shape.len() - 1]
        } else {
            1
        };
        self.col = 0;
        Ok(())
    }

    fn values(&mut self, out: &mut dyn Write, values: Values<'_>) -> io::Result<()> {
        let p = values.precision();
        let mut buf = String::with_capacity(values.len() * 12);
        for i in 0..values.len() {
            if self.col > 0 {
                buf.push(',');
            }
            number::push(&mut buf, values.get(i), p);
            self.col += 1;
            if self.col == self.width {
                buf.push('\n');
                self.col = 0;
            }
        }
        out.write_all(buf.as_bytes())
    }

    fn end(&mut self, _out: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }
}

/// Appends one field of the record. Its numbers are `f64`s that print in the result type's
/// shortest form; the non-finite ones, which the record spells as JSON strings, are written as
/// text output writes them.
pub(super) fn push_cell(buf: &mut String, v: &Value) {
    match v {
        Value::Number(n) => match n.as_u64() {
            Some(k) => buf.push_str(&k.to_string()),
            None => number::push(buf, n.as_f64().unwrap_or(f64::NAN), Precision::F64),
        },
        Value::String(s) => match s.as_str() {
            "NaN" => buf.push_str("NaN"),
            "Infinity" => buf.push_str("inf"),
            "-Infinity" => buf.push_str("-inf"),
            s => push_text(buf, s),
        },
        _ => {}
    }
}

/// Appends a text field as RFC 4180 wants it: as it is, or quoted with inner quotes doubled when
/// it holds a delimiter, quote or line break (today's names never do; a group key may).
pub(super) fn push_text(buf: &mut String, s: &str) {
    if s.contains([',', '"', '\n', '\r']) {
        buf.push('"');
        buf.push_str(&s.replace('"', "\"\""));
        buf.push('"');
    } else {
        buf.push_str(s);
    }
}

#[cfg(test)]
mod tests {
    use super::push_text;

    #[test]
    fn text_is_quoted_only_where_rfc_4180_needs_it() {
        let mut row = String::new();
        for (i, s) in ["huber", "a,b", "say \"hi\"", "two\nlines"]
            .iter()
            .enumerate()
        {
            if i > 0 {
                row.push(',');
            }
            push_text(&mut row, s);
        }
        assert_eq!(row, "huber,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\"");
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(row.as_bytes());
        let record = reader.records().next().unwrap().unwrap();
        assert_eq!(
            record.iter().collect::<Vec<_>>(),
            ["huber", "a,b", "say \"hi\"", "two\nlines"]
        );
    }
}
