//! Text: the value alone on a line, or one element loss per line.

use std::io::{self, Write};

use super::Writer;
use huber_core::dtype::Precision;
use huber_core::number;
use huber_core::summary::Summary;
use huber_engine::Values;

/// The text writer.
pub struct Text;

impl Writer for Text {
    fn scalars(&mut self, out: &mut dyn Write, results: &[Summary]) -> io::Result<()> {
        let mut buf = String::new();
        for r in results {
            number::push(&mut buf, r.value, r.precision);
            buf.push('\n');
        }
        out.write_all(buf.as_bytes())
    }

    fn begin(
        &mut self,
        _out: &mut dyn Write,
        _shape: &[usize],
        _precision: Precision,
    ) -> io::Result<()> {
        Ok(())
    }

    fn values(&mut self, out: &mut dyn Write, values: Values<'_>) -> io::Result<()> {
        let p = values.precision();
        let mut buf = String::with_capacity(values.len() * 12);
        for i in 0..values.len() {
            number::push(&mut buf, values.get(i), p);
            buf.push('\n');
        }
        out.write_all(buf.as_bytes())
    }

    fn end(&mut self, _out: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }
}
