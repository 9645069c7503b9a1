//! Exact combination of results: what `huber merge` and `huber.merge` do.
//!
//! Each result carries its exact accumulator state (the exact sum, the count and the linear
//! count), so the combined accumulator is the one a single run over all the data would finish
//! from, in whatever order the results come, and the result is rounded once from it. The results' own `value`, `sum` and
//! `linear_fraction` are for people; they are only checked against the state.
//!
//! A result's fields are data, not options: anything out of range or inconsistent is an
//! [`Error::InvalidRecord`] naming the shard and the field.

use serde::Deserialize;
use serde_json::Value;

use crate::error::{Context, Error, Result, bail, clip, ensure};
use crate::reduce::Accumulator;
use crate::summary::{Summary, shape_len};

/// Checks and merges results given as the JSON text `huber -f json` writes, each shard named
/// (by its path, say) for messages.
///
/// ```
/// let shard = r#"{"loss":"mse","reduction":"sum","value":2.0,"sum":2.0,"count":2,"shape":[2],"dtype":"float64","state":{"sum":"0x1p+1"}}"#;
/// let merged = huber_core::merge::combine(&[("a.json", shard), ("b.json", shard)])?;
/// assert_eq!((merged[0].value, merged[0].count), (4.0, 4));
/// # Ok::<(), huber_core::Error>(())
/// ```
pub fn combine(shards: &[(&str, &str)]) -> Result<Vec<Summary>> {
    let mut parsed = Vec::with_capacity(shards.len());
    for &(name, text) in shards {
        parsed.push((name, parse(text).context(name)?));
    }
    merge(&parsed)
}

/// Reads `huber -f json` output: one object, or an array of them (a δ sweep), each checked.
pub fn parse(text: &str) -> Result<Vec<Summary>> {
    let v: Value = serde_json::from_str(text)
        .map_err(|e| Error::invalid_record(format!("not valid JSON: {e}")))?;
    match v {
        // A `--by` run over no elements has no group to write: a shard that adds nothing.
        Value::Array(items) if items.is_empty() => Ok(Vec::new()),
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| result(item).with_context(|| format!("result {}", i + 1)))
            .collect(),
        obj @ Value::Object(_) => Ok(vec![result(obj)?]),
        _ => bail!("expected a JSON object or array written by huber -f json"),
    }
}

/// One result, checked as the record's schema says (see [`Summary`]).
fn result(v: Value) -> Result<Summary> {
    ensure!(
        v.is_object(),
        "expected a result object, found {}",
        clip(&v.to_string(), 40, false)
    );
    ensure!(
        v.get("axis").is_none(),
        "a per-cell result of --axis: those do not merge (merge whole-array results, or run \
         --axis over all the data)"
    );
    Summary::deserialize(v).map_err(|e| Error::invalid_record(e.to_string()))
}

/// Merges checked results, each shard named for messages: the results of each shard in the
/// order the first shard lists them (grouped results by loss and key).
pub fn merge(shards: &[(&str, Vec<Summary>)]) -> Result<Vec<Summary>> {
    ensure!(!shards.is_empty(), "nothing to merge");
    // Shards without results (`[]`, what `--by` writes for no elements) add nothing.
    let kept: Vec<(&str, Vec<Summary>)> = shards
        .iter()
        .filter(|(_, results)| !results.is_empty())
        .cloned()
        .collect();
    if kept.is_empty() {
        return Ok(Vec::new());
    }
    let shards = &kept[..];
    let grouped = |(_, results): &&(&str, Vec<Summary>)| results.iter().any(|r| r.group.is_some());
    if shards.iter().any(|s| grouped(&s)) {
        return grouped::merge(shards);
    }
    let Some((first_path, first)) = shards.first() else {
        bail!("nothing to merge")
    };
    let mut out = Vec::with_capacity(first.len());
    for (i, head) in first.iter().enumerate() {
        let mut acc = Accumulator::default();
        // A weighted mean's Σw: merged as exactly as the loss sums.
        let mut weights = head.weights.as_ref().map(|_| Accumulator::default());
        let mut shape: Option<Vec<usize>> = None;
        for (path, parts) in shards {
            ensure!(
                parts.len() == first.len(),
                "{} holds {} results but {} holds {}: shards must come from the same command",
                path,
                parts.len(),
                first_path,
                first.len()
            );
            let p = &parts[i];
            same_kind(head, p).map_err(|(what, a, b)| {
                Error::invalid_record(format!(
                    "cannot merge: {path} has {what} {b} where {first_path} has {a}"
                ))
            })?;
            let joined = match shape {
                None => Some(p.shape.clone()),
                Some(s) => join_shapes(&s, &p.shape),
            };
            shape = Some(joined.with_context(|| {
                format!(
                    "{}: field 'shape': the merged element count overflows 64 bits",
                    path
                )
            })?);
            ensure!(
                acc.count().checked_add(p.state.count()).is_some(),
                "{}: field 'count': the merged count overflows 64 bits",
                path
            );
            acc.merge(&p.state);
            if let (Some(w), Some(pw)) = (&mut weights, &p.weights) {
                w.merge(pw);
            }
        }
        out.push(Summary::finish(
            head.loss,
            head.reduction,
            &acc,
            weights.as_ref(),
            shape.unwrap_or_default(),
            head.precision,
        ));
    }
    Ok(out)
}

/// The first field in which two results differ so that they cannot be merged: its name and the
/// two values.
fn same_kind(head: &Summary, p: &Summary) -> Result<(), (&'static str, String, String)> {
    if p.loss.kind() != head.loss.kind() {
        return Err((
            "loss",
            head.loss.kind().to_string(),
            p.loss.kind().to_string(),
        ));
    }
    if let (Some((name, a)), Some((_, b))) = (head.loss.param(), p.loss.param())
        && a.to_bits() != b.to_bits()
    {
        return Err((name.name(), a.to_string(), b.to_string()));
    }
    if p.reduction != head.reduction {
        return Err((
            "reduction",
            head.reduction.to_string(),
            p.reduction.to_string(),
        ));
    }
    if p.precision != head.precision {
        return Err(("dtype", head.precision.to_string(), p.precision.to_string()));
    }
    Ok(())
}

/// The shape of two shards' data taken together: stacked along the first axis when the other
/// axes agree, else flat. `None` when the element count overflows.
fn join_shapes(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let joined = if a.len() == b.len() && !a.is_empty() && a[1..] == b[1..] {
        let mut s = a.to_vec();
        s[0] = a[0].checked_add(b[0])?;
        s
    } else {
        vec![
            shape_len(a)
                .ok()?
                .checked_add(shape_len(b).ok()?)?
                .try_into()
                .ok()?,
        ]
    };
    shape_len(&joined).ok()?;
    Some(joined)
}

mod grouped;
mod stream;

pub use stream::{Kinds, MAX_RESULT_BYTES, MAX_RESULTS_PER_KIND, read_results};

#[cfg(test)]
mod tests;
