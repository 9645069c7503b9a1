//! A column of a columnar file read as the keys of `--by`: text (UTF-8, large UTF-8, string
//! views, or a dictionary of them, as pandas writes a categorical), integers or bools, each key
//! as the bytes the group table compares (see [`KeyKind`]).

use std::sync::{Arc, Mutex};

use anyhow::{Result, bail, ensure};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrowPrimitiveType, OffsetSizeTrait};
use arrow_buffer::ArrowNativeType;
use arrow_schema::DataType;

use super::{Shared, Table, clip, find_field, lock};
use crate::input::keys::KeyKind;

/// What keys a column of type `t` gives; `None` for a type that cannot be a key.
fn key_kind(t: &DataType) -> Option<KeyKind> {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Some(KeyKind::Text),
        DataType::Boolean => Some(KeyKind::Bool),
        t if t.is_integer() => Some(KeyKind::Int),
        DataType::Dictionary(_, values) => key_kind(values),
        _ => None,
    }
}

impl Table {
    /// A reader of the column `key` names (see [`find_field`]) as keys.
    pub fn key_reader(&self, key: Option<&str>) -> Result<KeySource> {
        let (column, field) = find_field(&self.schema, key)?;
        let name = clip(&column.path.join("."));
        let t = field.data_type();
        let Some(kind) = key_kind(t) else {
            let values = match t {
                DataType::Dictionary(_, values) => values,
                t => t,
            };
            ensure!(
                !values.is_floating(),
                "column '{name}' holds floats; --by needs text, integer or bool keys (cast the \
                 column with .astype('int64') or .astype(str))"
            );
            bail!("column '{name}' has type {t}; --by reads text, integer and bool key columns");
        };
        Ok(KeySource {
            shared: self.shared.clone(),
            index: self.add(column)?,
            kind,
            left: self.rows,
        })
    }
}

/// One column of a columnar file as keys, streamed (the keys of `--by`).
pub struct KeySource {
    shared: Arc<Mutex<Shared>>,
    index: usize,
    kind: KeyKind,
    /// Rows not yet handed out.
    left: usize,
}

impl KeySource {
    /// What the keys are.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// Appends the next `n` keys to `data`, back to back, and where each ends to `ends`; fewer
    /// only at the end of the file. Returns how many. A null is the empty key in a text column,
    /// as an empty CSV field is, and an error in an integer or bool column.
    pub fn read_into(
        &mut self,
        n: usize,
        data: &mut Vec<u8>,
        ends: &mut Vec<usize>,
    ) -> Result<usize> {
        let n = n.min(self.left);
        let mut out = Keys { data, ends };
        lock(&self.shared).take(self.index, n, |array, offset, len| {
            push_run(array.slice(offset, len).as_ref(), &mut out)
        })?;
        self.left -= n;
        Ok(n)
    }
}

/// Where keys are appended: their bytes back to back, and where each ends.
struct Keys<'a> {
    data: &'a mut Vec<u8>,
    ends: &'a mut Vec<usize>,
}

impl Keys<'_> {
    fn push(&mut self, key: &[u8]) {
        self.data.extend_from_slice(key);
        self.ends.push(self.data.len());
    }
}

/// Appends the keys of `run`, a decoded array or a slice of one.
fn push_run(run: &dyn Array, out: &mut Keys<'_>) -> Result<()> {
    let Some(dict) = run.as_any_dictionary_opt() else {
        return push_keys(run, (0..run.len()).map(Some), out);
    };
    let values = dict.values();
    let rows = dict.normalized_keys();
    for (k, &row) in rows.iter().enumerate() {
        if dict.keys().is_valid(k) && row >= values.len() {
            bail!("a dictionary key ({row}) is out of range");
        }
    }
    let valid = |k: usize| dict.keys().is_valid(k);
    let rows = rows.iter().enumerate().map(|(k, &r)| valid(k).then_some(r));
    push_keys(values.as_ref(), rows, out)
}

/// Appends the keys of `values` at `rows` (`None`: a null dictionary key).
fn push_keys(
    values: &dyn Array,
    rows: impl Iterator<Item = Option<usize>>,
    out: &mut Keys<'_>,
) -> Result<()> {
    match values.data_type() {
        DataType::Utf8 => text::<i32>(values, rows, out),
        DataType::LargeUtf8 => text::<i64>(values, rows, out),
        DataType::Utf8View => {
            let a = values.as_string_view();
            for row in rows {
                let row = row.filter(|&r| a.is_valid(r));
                out.push(row.map_or(&b""[..], |r| a.value(r).as_bytes()));
            }
            Ok(())
        }
        DataType::Boolean => {
            let a = values.as_boolean();
            for row in rows {
                let row = row.filter(|&r| a.is_valid(r)).ok_or_else(null_key)?;
                out.push(&i64::from(a.value(row)).to_le_bytes());
            }
            Ok(())
        }
        DataType::Int8 => ints::<Int8Type>(values, rows, out),
        DataType::Int16 => ints::<Int16Type>(values, rows, out),
        DataType::Int32 => ints::<Int32Type>(values, rows, out),
        DataType::Int64 => ints::<Int64Type>(values, rows, out),
        DataType::UInt8 => ints::<UInt8Type>(values, rows, out),
        DataType::UInt16 => ints::<UInt16Type>(values, rows, out),
        DataType::UInt32 => ints::<UInt32Type>(values, rows, out),
        DataType::UInt64 => ints::<UInt64Type>(values, rows, out),
        other => bail!("internal error: a key column of type {other} reached the reader"),
    }
}

fn text<O: OffsetSizeTrait>(
    values: &dyn Array,
    rows: impl Iterator<Item = Option<usize>>,
    out: &mut Keys<'_>,
) -> Result<()> {
    let a = values.as_string::<O>();
    for row in rows {
        let row = row.filter(|&r| a.is_valid(r));
        out.push(row.map_or(&b""[..], |r| a.value(r).as_bytes()));
    }
    Ok(())
}

fn ints<P: ArrowPrimitiveType>(
    values: &dyn Array,
    rows: impl Iterator<Item = Option<usize>>,
    out: &mut Keys<'_>,
) -> Result<()> {
    let a = values.as_primitive::<P>();
    for row in rows {
        let row = row.filter(|&r| a.is_valid(r)).ok_or_else(null_key)?;
        let v = a.value(row);
        let Some(v) = v.to_i64() else {
            bail!("the key {v:?} does not fit in a 64-bit signed integer");
        };
        out.push(&v.to_le_bytes());
    }
    Ok(())
}

fn null_key() -> anyhow::Error {
    anyhow::anyhow!(
        "the key column holds a null; a null is the empty key only in a text column (as an empty \
         CSV field is): fill the nulls (.fillna(-1)) or write the keys as text"
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{
        ArrayRef, BooleanArray, DictionaryArray, Int16Array, LargeStringArray, StringArray,
        UInt64Array,
    };

    use super::*;

    /// The keys of all of `array`, as the reader appends them.
    fn keys(array: ArrayRef) -> Result<Vec<Vec<u8>>> {
        let (mut data, mut ends) = (Vec::new(), Vec::new());
        let mut out = Keys {
            data: &mut data,
            ends: &mut ends,
        };
        push_run(array.as_ref(), &mut out)?;
        let mut start = 0;
        Ok(ends
            .iter()
            .map(|&end| {
                let key = data[start..end].to_vec();
                start = end;
                key
            })
            .collect())
    }

    fn int(v: i64) -> Vec<u8> {
        v.to_le_bytes().to_vec()
    }

    #[test]
    fn text_nulls_are_the_empty_key() {
        let a: ArrayRef = Arc::new(StringArray::from(vec![
            Some("a"),
            None,
            Some(""),
            Some("é"),
        ]));
        let want: Vec<Vec<u8>> = vec![b"a".to_vec(), vec![], vec![], "é".as_bytes().to_vec()];
        assert_eq!(keys(a).unwrap(), want);
        let large: ArrayRef = Arc::new(LargeStringArray::from(vec![None, Some("x")]));
        assert_eq!(keys(large).unwrap(), [vec![], b"x".to_vec()]);
    }

    #[test]
    fn integers_and_bools_are_8_byte_keys_and_their_nulls_refused() {
        let a: ArrayRef = Arc::new(Int16Array::from(vec![-2, 7]));
        assert_eq!(keys(a).unwrap(), [int(-2), int(7)]);
        let b: ArrayRef = Arc::new(BooleanArray::from(vec![true, false]));
        assert_eq!(keys(b).unwrap(), [int(1), int(0)]);
        let huge: ArrayRef = Arc::new(UInt64Array::from(vec![u64::MAX]));
        let err = keys(huge).unwrap_err().to_string();
        assert!(err.contains("18446744073709551615 does not fit"), "{err}");
        let null: ArrayRef = Arc::new(Int16Array::from(vec![Some(1), None]));
        let err = keys(null).unwrap_err().to_string();
        assert!(err.contains("holds a null"), "{err}");
    }

    #[test]
    fn dictionary_keys_and_values_may_be_null() {
        let dict: DictionaryArray<arrow_array::types::Int8Type> =
            vec![Some("b"), None, Some("a"), Some("b")]
                .into_iter()
                .collect();
        let dict: ArrayRef = Arc::new(dict.slice(1, 3));
        assert_eq!(keys(dict).unwrap(), [vec![], b"a".to_vec(), b"b".to_vec()]);
    }
}
