//! CSV: a header and one row per scalar result; for element losses, one row per index of the
//! leading axes and one column per index of the last (a 1-d array is one column, as
//! `numpy.savetxt` writes it).

use std::io::{self, Write};

use super::json::{Field, fields};
use super::{Writer, number};
use crate::array::Values;
use crate::dtype::Precision;
use crate::reduce::Summary;

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
            let row: Vec<_> = fields(r)
                .into_iter()
                .filter(|(_, f)| !matches!(f, Field::Shape(_) | Field::State(..)))
                .collect();
            if i == 0 {
                buf.push_str(
                    &row.iter()
                        .map(|(name, _)| *name)
                        .collect::<Vec<_>>()
                        .join(","),
                );
                buf.push('\n');
            }
            for (j, (_, field)) in row.into_iter().enumerate() {
                if j > 0 {
                    buf.push(',');
                }
                match field {
                    Field::Str(s) => push_text(&mut buf, &s),
                    Field::Num(x, p) => number::push(&mut buf, x, p),
                    Field::Int(n) => buf.push_str(&n.to_string()),
                    Field::Shape(_) | Field::State(..) => {}
                }
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

/// Appends a text field as RFC 4180 wants it: as it is, or quoted with inner quotes doubled when
/// it holds a delimiter, quote or line break (today's names never do; a group key may).
fn push_text(buf: &mut String, s: &str) {
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
