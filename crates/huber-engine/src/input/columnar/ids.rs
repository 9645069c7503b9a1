//! The values of a column of a columnar file in given rows, as text the way pandas prints them:
//! the ids `--top K --id COLUMN` lists beside the worst elements. The column is decoded again
//! after the pass, only in the row groups that hold a listed row.

use anyhow::{Result, bail, ensure};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Decimal128Type, Decimal256Type, Float16Type, Float32Type, Float64Type, Int8Type, Int16Type,
    Int32Type, Int64Type, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrowPrimitiveType};
use arrow_schema::DataType;
use huber_core::dtype::Precision;

use super::{ColumnSource, clip, find_field, guarded, lock};
use crate::input::{Position, Text};

/// A Parquet or Arrow column has no lines; its table has other columns to list (`--id`).
impl Text for ColumnSource {
    fn locate(&self, _: usize) -> Option<Position> {
        None
    }
    fn lines(&self, _: &[usize]) -> Option<Result<Vec<u64>>> {
        None
    }
    fn parses_on_pool(&self) -> bool {
        false
    }
    fn has_field(&self, key: &str) -> bool {
        find_field(&self.schema, Some(key)).is_ok()
    }
    fn fields(&self, key: &str, indices: &[usize]) -> Option<Result<Vec<String>>> {
        Some(self.texts(key, indices))
    }
}

impl ColumnSource {
    /// The text of column `key` in the rows of elements `indices` (flat, ascending).
    fn texts(&self, key: &str, indices: &[usize]) -> Result<Vec<String>> {
        let (column, field) = find_field(&self.schema, Some(key))?;
        ensure!(
            printable(field.data_type()),
            "column '{}' has type {}; --id reads text, integer, float, bool and decimal columns",
            clip(key),
            field.data_type()
        );
        let width = self.shape.get(1).copied().unwrap_or(1).max(1);
        let rows: Vec<usize> = indices.iter().map(|&i| i / width).collect();
        let decoder = lock(&self.shared).decoder.clone();
        let mut out = Vec::with_capacity(rows.len());
        let mut start = 0;
        for unit in 0..decoder.units() {
            let end = start + usize::try_from(decoder.rows(unit)).unwrap_or(usize::MAX);
            if rows.get(out.len()).is_some_and(|&r| r < end) {
                let mut at = start;
                let mut failed = None;
                guarded(|| {
                    decoder.decode(unit, std::slice::from_ref(&column), &mut |arrays| {
                        let piece = arrays[0].as_ref();
                        let wanted = rows[out.len()..].partition_point(|&r| r < at + piece.len());
                        let mine = rows[out.len()..out.len() + wanted].iter().map(|&r| r - at);
                        match texts(piece, mine) {
                            Ok(t) => out.extend(t),
                            Err(e) => failed = Some(e),
                        }
                        at += piece.len();
                        failed.is_none() && out.len() < rows.len()
                    })
                })?;
                if let Some(e) = failed {
                    return Err(e);
                }
            }
            start = end;
        }
        ensure!(
            out.len() == rows.len(),
            "the file holds fewer rows than when it was read"
        );
        Ok(out)
    }
}

/// Whether [`texts`] prints values of type `t`.
fn printable(t: &DataType) -> bool {
    match t {
        DataType::Dictionary(_, values) => printable(values),
        t => {
            t.is_integer()
                || t.is_floating()
                || matches!(
                    t,
                    DataType::Utf8
                        | DataType::LargeUtf8
                        | DataType::Utf8View
                        | DataType::Boolean
                        | DataType::Decimal128(..)
                        | DataType::Decimal256(..)
                )
        }
    }
}

/// The values of `piece` at `rows`, as pandas prints a value of the column: text as it is,
/// integers as integers, floats as numpy's `str` (see [`numpy_str`]), bools
/// `True`/`False`, decimals with their scale's digits; a null is empty, as an empty CSV field.
fn texts(piece: &dyn Array, rows: impl Iterator<Item = usize>) -> Result<Vec<String>> {
    let nulls = piece.logical_nulls();
    let (values, keys): (&dyn Array, Option<Vec<usize>>) = match piece.as_any_dictionary_opt() {
        Some(dict) => (dict.values().as_ref(), Some(dict.normalized_keys())),
        None => (piece, None),
    };
    let mut out = Vec::new();
    for row in rows {
        if nulls.as_ref().is_some_and(|n| n.is_null(row)) {
            out.push(String::new());
            continue;
        }
        let at = keys.as_ref().map_or(row, |k| k[row]);
        ensure!(at < values.len(), "a dictionary key ({at}) is out of range");
        out.push(text(values, at)?);
    }
    Ok(out)
}

/// The value of `a` at `row`, which is not null (see [`texts`]).
fn text(a: &dyn Array, row: usize) -> Result<String> {
    fn int<P: ArrowPrimitiveType>(a: &dyn Array, row: usize) -> String
    where
        P::Native: std::fmt::Display,
    {
        a.as_primitive::<P>().value(row).to_string()
    }
    Ok(match a.data_type() {
        DataType::Utf8 => a.as_string::<i32>().value(row).to_string(),
        DataType::LargeUtf8 => a.as_string::<i64>().value(row).to_string(),
        DataType::Utf8View => a.as_string_view().value(row).to_string(),
        DataType::Boolean => ["False", "True"][usize::from(a.as_boolean().value(row))].to_string(),
        DataType::Int8 => int::<Int8Type>(a, row),
        DataType::Int16 => int::<Int16Type>(a, row),
        DataType::Int32 => int::<Int32Type>(a, row),
        DataType::Int64 => int::<Int64Type>(a, row),
        DataType::UInt8 => int::<UInt8Type>(a, row),
        DataType::UInt16 => int::<UInt16Type>(a, row),
        DataType::UInt32 => int::<UInt32Type>(a, row),
        DataType::UInt64 => int::<UInt64Type>(a, row),
        DataType::Float64 => numpy_str(a.as_primitive::<Float64Type>().value(row), Precision::F64),
        DataType::Float32 => {
            let x = a.as_primitive::<Float32Type>().value(row);
            numpy_str(f64::from(x), Precision::F32)
        }
        DataType::Float16 => {
            let x = a.as_primitive::<Float16Type>().value(row);
            numpy_str(f64::from(x), Precision::F16)
        }
        DataType::Decimal128(..) => a.as_primitive::<Decimal128Type>().value_as_string(row),
        DataType::Decimal256(..) => a.as_primitive::<Decimal256Type>().value_as_string(row),
        other => bail!("internal error: an id column of type {other} reached the printer"),
    })
}

/// `x` (a value of precision `p`) as numpy's `str` writes it, and so pandas: the shortest digits
/// that read back to it in its own precision; positional for 1e-4 ≤ |x| below 1e16 (float64),
/// 1e6 (float32) or 1e3 (float16), and zero (`0.0001`, `1.0`, `1000000000000000.0`), else with
/// an exponent of at least two digits (`1e-05`, `1.5e+16`, `1e+06`); `nan`, `inf`, `-inf`.
/// (Python's `repr` of a float64 is the same but at the edges, where it looks at the digits.)
fn numpy_str(x: f64, p: Precision) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    let sci = format!("{:e}", huber_core::number::shortest(x, p));
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let cutoff = match p {
        Precision::F64 => 1e16,
        Precision::F32 => 1e6,
        Precision::F16 => 1e3,
    };
    if x != 0.0 && !(1e-4..cutoff).contains(&x.abs()) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.unsigned_abs());
    }
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits = mantissa.replace('.', "");
    let point = exp + 1;
    let body = if point <= 0 {
        format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
    } else if point as usize >= digits.len() {
        format!("{digits}{}.0", "0".repeat(point as usize - digits.len()))
    } else {
        let (int, frac) = digits.split_at(point as usize);
        format!("{int}.{frac}")
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// numpy 2.4's `str` of these values of each precision.
    #[test]
    fn floats_print_as_numpy_prints_them() {
        let f64s = [
            (0.1, "0.1"),
            (1.0, "1.0"),
            (-0.0, "-0.0"),
            (0.0001, "0.0001"),
            (9.99e-5, "9.99e-05"),
            (1e-5, "1e-05"),
            (123.456, "123.456"),
            (1e15, "1000000000000000.0"),
            (9999999999999998.0, "9999999999999998.0"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (-2.5e300, "-2.5e+300"),
            (f64::NAN, "nan"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for (x, want) in f64s {
            assert_eq!(numpy_str(x, Precision::F64), want, "{x}");
        }
        let f32s = [
            (0.1, "0.1"),
            (999999.0, "999999.0"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (1e-4, "1e-04"),
            (1.0001e-4, "0.00010001"),
            (3e38, "3e+38"),
        ];
        for (x, want) in f32s {
            assert_eq!(numpy_str(f64::from(x as f32), Precision::F32), want, "{x}");
        }
        for (x, want) in [(999.0, "999.0"), (1000.0, "1e+03"), (0.0001, "0.0001")] {
            let h = f64::from(half::f16::from_f64(x));
            assert_eq!(numpy_str(h, Precision::F16), want, "{x}");
        }
    }
}
