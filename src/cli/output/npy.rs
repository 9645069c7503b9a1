//! NPY: the element losses as an array with `pred`'s shape in the result type; a scalar result
//! as a 0-d array, several (a δ sweep) as a 1-d array.

use std::io::{self, Write};

use super::Writer;
use huber_core::dtype::Precision;
use huber_core::summary::Summary;
use huber_engine::Values;
use huber_engine::npy_header as header_bytes;

/// The NPY writer.
pub struct Npy;

fn descr(p: Precision) -> &'static str {
    match p {
        Precision::F16 => "<f2",
        Precision::F32 => "<f4",
        Precision::F64 => "<f8",
    }
}

impl Writer for Npy {
    fn scalars(&mut self, out: &mut dyn Write, results: &[Summary]) -> io::Result<()> {
        let p = results.first().map_or(Precision::F64, |r| r.precision);
        let shape: &[usize] = if results.len() == 1 {
            &[]
        } else {
            &[results.len()]
        };
        self.begin(out, shape, p)?;
        let vals: Vec<f64> = results.iter().map(|r| r.value).collect();
        match p {
            Precision::F64 => self.values(out, Values::F64(&vals)),
            Precision::F32 => self.values(
                out,
                Values::F32(&vals.iter().map(|&x| x as f32).collect::<Vec<_>>()),
            ),
            Precision::F16 => {
                let v: Vec<half::f16> = vals.iter().map(|&x| half::f16::from_f64(x)).collect();
                self.values(out, Values::F16(&v))
            }
        }
    }

    fn begin(
        &mut self,
        out: &mut dyn Write,
        shape: &[usize],
        precision: Precision,
    ) -> io::Result<()> {
        out.write_all(&header_bytes(descr(precision), shape))
    }

    /// The header for the array's shape: as long as any other for a first axis of up to 21
    /// digits (numpy leaves that room), so it is written over the provisional one in place.
    fn restart(&self, shape: &[usize], precision: Precision) -> Option<Vec<u8>> {
        Some(header_bytes(descr(precision), shape))
    }

    fn values(&mut self, out: &mut dyn Write, values: Values<'_>) -> io::Result<()> {
        if cfg!(target_endian = "little") {
            // Little-endian in memory already: the bytes go out as they are.
            return match values {
                Values::F16(v) => out.write_all(bytemuck::cast_slice(
                    &v.iter().map(|x| x.to_bits()).collect::<Vec<u16>>(),
                )),
                Values::F32(v) => out.write_all(bytemuck::cast_slice(v)),
                Values::F64(v) => out.write_all(bytemuck::cast_slice(v)),
            };
        }
        let mut buf = Vec::with_capacity(values.len() * 8);
        match values {
            Values::F16(v) => v
                .iter()
                .for_each(|x| buf.extend_from_slice(&x.to_le_bytes())),
            Values::F32(v) => v
                .iter()
                .for_each(|x| buf.extend_from_slice(&x.to_le_bytes())),
            Values::F64(v) => v
                .iter()
                .for_each(|x| buf.extend_from_slice(&x.to_le_bytes())),
        }
        out.write_all(&buf)
    }

    fn end(&mut self, _out: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }
}
