//! `--by` results: one record per group, written as they come (a million groups are not held
//! as results at once).
//!
//! - text: `key<TAB>value` per line; a key's control characters (a tab, a line break) are
//!   escaped as in error messages (`\t`, `\n`) and its backslashes doubled, so that each result
//!   stays one line and no two keys print alike. With several losses (a sweep of δ or β) each
//!   line starts with the one it is for: `delta=0.5<TAB>key<TAB>value`.
//! - JSON: an array of the usual result records, each with `by` and `key`, one per line.
//! - CSV: the records' scalar fields with `key` first, text quoted as RFC 4180 wants it.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;
use serde_json::Value;

use super::Format;
use super::csv::{push_cell, push_text};
use super::json::Shortest;
use huber_core::dtype::Precision;
use huber_core::number;
use huber_core::summary::{GroupKey, Summary};
use huber_engine::message::escape_controls;

/// Writes grouped results in `format` (text, JSON or CSV); `several` says that they are for
/// several losses (a sweep of δ or β), which text lines then name.
pub fn write(
    format: Format,
    out: &mut dyn Write,
    results: impl Iterator<Item = Result<Summary>>,
    several: bool,
) -> Result<()> {
    let mut buf = Vec::with_capacity(1 << 16);
    if format == Format::Json {
        buf.push(b'[');
    }
    for (i, r) in results.enumerate() {
        let r = r?;
        match format {
            Format::Json => json(&mut buf, &r, i)?,
            Format::Csv => csv(&mut buf, &r, i)?,
            Format::Text | Format::Npy => text(&mut buf, &r, several),
        }
        if buf.len() >= 1 << 16 {
            out.write_all(&buf)?;
            buf.clear();
        }
    }
    if format == Format::Json {
        buf.extend_from_slice(b"]\n");
    }
    out.write_all(&buf)?;
    Ok(())
}

fn text(buf: &mut Vec<u8>, r: &Summary, several: bool) {
    let mut line = String::new();
    if let Some((param, value)) = r.loss.param().filter(|_| several) {
        line.push_str(param.name());
        line.push('=');
        number::push(&mut line, value, Precision::F64);
        line.push('\t');
    }
    match r.group.as_ref().map(|g| &g.key) {
        Some(GroupKey::Text(s)) => line.push_str(&escape_key(s)),
        Some(GroupKey::Int(k)) => line.push_str(&k.to_string()),
        Some(GroupKey::Bool(b)) => line.push_str(&b.to_string()),
        None => {}
    }
    line.push('\t');
    number::push(&mut line, r.value, r.precision);
    line.push('\n');
    buf.extend_from_slice(line.as_bytes());
}

/// A text key on one line that no other key prints as: control characters escaped as in error
/// messages (`\n`, `\t`), and a backslash doubled first, so that a key holding a line break
/// (`a\nb`) and one holding a backslash and an `n` (`a\\nb`) stay apart.
fn escape_key(key: &str) -> std::borrow::Cow<'_, str> {
    if key.contains('\\') {
        std::borrow::Cow::Owned(escape_controls(&key.replace('\\', "\\\\")).into_owned())
    } else {
        escape_controls(key)
    }
}

fn json(buf: &mut Vec<u8>, r: &Summary, i: usize) -> Result<()> {
    if i > 0 {
        buf.extend_from_slice(b",\n");
    }
    let mut json = serde_json::Serializer::with_formatter(&mut *buf, Shortest);
    r.serialize(&mut json)?;
    Ok(())
}

fn csv(buf: &mut Vec<u8>, r: &Summary, i: usize) -> Result<()> {
    let Value::Object(mut fields) = serde_json::to_value(r)? else {
        return Ok(());
    };
    let key = fields.shift_remove("key").unwrap_or(Value::Null);
    // The key first, then the record's scalar fields in its order; the shape and the state are
    // JSON's.
    let rest: Vec<_> = fields
        .iter()
        .filter(|(_, v)| !v.is_array() && !v.is_object())
        .collect();
    let mut line = String::new();
    if i == 0 {
        line.push_str("key");
        for (name, _) in &rest {
            line.push(',');
            line.push_str(name);
        }
        line.push('\n');
    }
    match &key {
        Value::String(s) => push_text(&mut line, s),
        v => line.push_str(&v.to_string()),
    }
    for (_, v) in rest {
        line.push(',');
        push_cell(&mut line, v);
    }
    line.push('\n');
    buf.extend_from_slice(line.as_bytes());
    Ok(())
}
