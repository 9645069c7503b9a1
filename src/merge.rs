//! `huber merge`: exact combination of shard results.
//!
//! Each shard's JSON carries its exact accumulator state (the double-double sum with its scale,
//! the count and the linear count), so the combined accumulator is the one a single run over all
//! the data would finish from, and the result is rounded once from it. The shards' own `value`,
//! `sum` and `linear_fraction` are for people; they are only checked against the state.
//!
//! A shard's fields are data, not options: anything out of range or inconsistent is an input
//! error (status 1) naming the shard and the field.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use serde_json::Value;

use crate::cli::MergeConfig;
use crate::dtype::Precision;
use crate::error::io_reason;
use crate::loss::{Loss, LossKind};
use crate::output::Destination;
use crate::reduce::{Accumulator, Dd, Reduction, SCALE_EXPONENT, Summary};

/// One result of one shard.
#[derive(Debug, Clone, PartialEq)]
struct Part {
    loss: Loss,
    reduction: Reduction,
    shape: Vec<usize>,
    precision: Precision,
    /// Whether the result reports `linear_fraction`.
    has_linear: bool,
    state: Accumulator,
}

/// Merges the shard results named by `cfg` and writes the combined result.
pub fn run(cfg: &MergeConfig) -> Result<()> {
    let mut shards = Vec::new();
    for path in &cfg.files {
        shards.push((path.clone(), read(path)?));
    }
    let merged = combine(&shards)?;
    let mut dest = match &cfg.output {
        Some(path) => Destination::file(path)?,
        None => Destination::stdout(),
    };
    cfg.format.writer().scalars(dest.writer(), &merged)?;
    dest.commit()
}

/// Checks and merges shard results given as the JSON text of each shard file (named by its
/// path in messages): the whole of `huber merge` but reading and writing.
///
/// ```
/// use std::path::PathBuf;
///
/// let shard = r#"{"loss":"mse","reduction":"sum","value":2.0,"sum":2.0,"count":2,"shape":[2],"dtype":"float64","state":{"hi":2.0,"lo":0.0,"scale":0}}"#;
/// let a = (PathBuf::from("a.json"), shard.to_string());
/// let merged = huber::merge::combine(&[a.clone(), a])?;
/// assert_eq!((merged[0].value, merged[0].count), (4.0, 4));
/// # Ok::<(), anyhow::Error>(())
/// ```
pub fn combine(shards: &[(PathBuf, String)]) -> Result<Vec<Summary>> {
    let mut parsed = Vec::with_capacity(shards.len());
    for (path, text) in shards {
        parsed.push((path, parse(text).with_context(|| name(path))?));
    }
    merge(&parsed)
}

/// How a shard is named in messages.
fn name(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    }
}

/// The most bytes a shard result may hold: far more than huber writes for a sweep of thousands
/// of δ, and little enough that `huber merge /dev/zero` fails instead of filling memory.
const MAX_SHARD_BYTES: u64 = 16 << 20;

fn read(path: &Path) -> Result<String> {
    let reader: Box<dyn Read> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(
            std::fs::File::open(path)
                .map_err(|e| anyhow::anyhow!("cannot read: {}", io_reason(&e)))
                .with_context(|| name(path))?,
        )
    };
    let mut bytes = Vec::new();
    reader
        .take(MAX_SHARD_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| anyhow::anyhow!("cannot read: {}", io_reason(&e)))
        .with_context(|| name(path))?;
    ensure!(
        bytes.len() as u64 <= MAX_SHARD_BYTES,
        "{}: more than {} MiB: not a result written by huber -f json",
        name(path),
        MAX_SHARD_BYTES >> 20
    );
    String::from_utf8(bytes).with_context(|| format!("{}: not valid UTF-8", name(path)))
}

/// Reads `huber -f json` output: one object, or an array of them (a δ sweep).
fn parse(text: &str) -> Result<Vec<Part>> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| anyhow::anyhow!("not valid JSON: {e}"))?;
    match v {
        Value::Array(items) if items.is_empty() => bail!("an empty array holds no result"),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| part(item).with_context(|| format!("result {}", i + 1)))
            .collect(),
        obj @ Value::Object(_) => Ok(vec![part(&obj)?]),
        _ => bail!("expected a JSON object or array written by huber -f json"),
    }
}

/// A JSON number, or one of the strings huber writes for non-finite values.
fn number(v: &Value, field: &str) -> Result<f64> {
    number_at(v, field, field)
}

/// [`number`] of `v[key]`, named `field` in messages.
fn number_at(v: &Value, key: &str, field: &str) -> Result<f64> {
    match v.get(key) {
        Some(Value::Number(n)) => n
            .as_f64()
            .with_context(|| format!("field '{field}': not a number")),
        Some(Value::String(s)) if s == "NaN" => Ok(f64::NAN),
        Some(Value::String(s)) if s == "Infinity" => Ok(f64::INFINITY),
        Some(Value::String(s)) if s == "-Infinity" => Ok(f64::NEG_INFINITY),
        Some(other) => bail!("field '{field}': expected a number, found {}", clip(other)),
        None => bail!("the result has no field '{field}'"),
    }
}

/// A non-negative integer field.
fn integer(v: &Value, field: &str) -> Result<u64> {
    match v.get(field) {
        Some(n) => n.as_u64().with_context(|| {
            format!(
                "field '{field}': expected an integer from 0 to {}, found {}",
                u64::MAX,
                clip(n)
            )
        }),
        None => bail!("the result has no field '{field}'"),
    }
}

fn text<'a>(v: &'a Value, field: &str) -> Result<&'a str> {
    match v.get(field) {
        Some(Value::String(s)) => Ok(s),
        Some(other) => bail!("field '{field}': expected a string, found {}", clip(other)),
        None => bail!("the result has no field '{field}'"),
    }
}

/// A JSON value for a message: short, and on one line.
fn clip(v: &Value) -> String {
    let s = v.to_string();
    match s.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s,
    }
}

fn part(v: &Value) -> Result<Part> {
    ensure!(v.is_object(), "expected a result object, found {}", clip(v));
    let name = text(v, "loss")?;
    let kind = LossKind::from_name(name)
        .with_context(|| format!("field 'loss': unknown loss {}", clip(&v["loss"])))?;
    let param = match kind.param_name() {
        Some(p) => Some((p, number(v, p)?)),
        None => None,
    };
    // A bad parameter here is bad data, not a bad command line: no UsageError in the chain, and
    // no mention of an option the user did not give.
    let loss = kind.with_param(param.map(|(_, x)| x)).map_err(|e| {
        let field = param.map_or("loss", |(p, _)| p);
        let why = e.to_string().replacen(&format!("--{field} "), "", 1);
        anyhow::anyhow!("field '{field}': {why}")
    })?;
    let reduction = match text(v, "reduction")? {
        "mean" => Reduction::Mean,
        "sum" => Reduction::Sum,
        _ => bail!(
            "field 'reduction': cannot merge {}: only mean and sum results merge",
            clip(&v["reduction"])
        ),
    };
    let dtype = text(v, "dtype")?;
    let precision = Precision::from_name(dtype)
        .with_context(|| format!("field 'dtype': unknown dtype {}", clip(&v["dtype"])))?;
    let shape = shape(v)?;
    let state = state(v, loss, shape_len(&shape)?)?;
    let has_linear = loss.threshold().is_some();
    let p = Part {
        loss,
        reduction,
        shape,
        precision,
        has_linear,
        state,
    };
    check_reported(v, &p)?;
    let mut known = vec![
        "loss",
        "reduction",
        "value",
        "sum",
        "count",
        "shape",
        "dtype",
        "state",
    ];
    known.extend(param.map(|(p, _)| p));
    if has_linear {
        known.push("linear_fraction");
    }
    only_known(v, &known, "")?;
    Ok(p)
}

fn shape(v: &Value) -> Result<Vec<usize>> {
    let dims = match v.get("shape") {
        Some(Value::Array(dims)) => dims,
        Some(other) => bail!("field 'shape': expected an array, found {}", clip(other)),
        None => bail!("the result has no field 'shape'"),
    };
    ensure!(
        dims.len() <= 64,
        "field 'shape': {} dimensions, more than 64",
        dims.len()
    );
    dims.iter()
        .map(|d| {
            d.as_u64()
                .and_then(|d| usize::try_from(d).ok())
                .with_context(|| format!("field 'shape': {} is not a dimension", clip(d)))
        })
        .collect()
}

/// The element count of a shape, checked.
fn shape_len(shape: &[usize]) -> Result<u64> {
    shape
        .iter()
        .try_fold(1u64, |n, &d| n.checked_mul(d as u64))
        .context("field 'shape': the element count overflows 64 bits")
}

/// Refuses a field huber does not write (`prefix` names the enclosing object): a hand-edited or
/// foreign result (a `delta` on an `mse` result, a misspelt `cout`) is not merged silently.
fn only_known(v: &Value, known: &[&str], prefix: &str) -> Result<()> {
    let fields = v.as_object().map(|m| m.keys()).into_iter().flatten();
    for f in fields {
        ensure!(
            known.contains(&f.as_str()),
            "field '{prefix}{}': not a field of this result (huber -f json writes {})",
            f.escape_debug(),
            known.join(", ")
        );
    }
    Ok(())
}

/// The accumulator a result was finished from, checked: counts within the shape, a normalised
/// double-double (`hi` is `hi + lo` rounded, `lo` is 0 when `hi` is not finite) and a known scale.
fn state(v: &Value, loss: Loss, elements: u64) -> Result<Accumulator> {
    let count = integer(v, "count")?;
    ensure!(
        count <= elements,
        "field 'count': {count} is more than the {elements} elements of the shape"
    );
    let s = match v.get("state") {
        Some(s @ Value::Object(_)) => s,
        Some(other) => bail!("field 'state': expected an object, found {}", clip(other)),
        None => bail!(
            "the result has no field 'state' (the exact sum that merging needs; huber -f json writes it)"
        ),
    };
    let field = |f: &str| format!("state.{f}");
    let hi = number_at(s, "hi", "state.hi")?;
    let lo = number_at(s, "lo", "state.lo")?;
    ensure!(
        if hi.is_finite() {
            hi + lo == hi
        } else {
            lo == 0.0
        },
        "field '{}': {lo:?} is not the rounding error of state.hi {hi:?}",
        field("lo")
    );
    ensure!(
        count > 0 || (hi == 0.0 && lo == 0.0),
        "field '{}': {hi:?}, but the count is 0: a sum of nothing is 0",
        field("hi")
    );
    let scaled = match s.get("scale").and_then(Value::as_i64) {
        Some(0) => false,
        Some(e) if e == i64::from(SCALE_EXPONENT) => true,
        _ => bail!(
            "field '{}': expected 0 or {SCALE_EXPONENT}, found {}",
            field("scale"),
            s.get("scale").map_or("nothing".to_string(), clip)
        ),
    };
    let linear = match (loss.threshold(), s.get("linear")) {
        (Some(_), Some(n)) => n.as_u64().filter(|&n| n <= count).with_context(|| {
            format!(
                "field '{}': expected an integer from 0 to the count {count}, found {}",
                field("linear"),
                clip(n)
            )
        })?,
        (Some(_), None) => bail!("the result has no field 'state.linear'"),
        (None, Some(_)) => bail!(
            "field '{}': the {} loss has no linear regime to count",
            field("linear"),
            loss.kind()
        ),
        (None, None) => 0,
    };
    let known: &[&str] = match loss.threshold() {
        Some(_) => &["hi", "lo", "scale", "linear"],
        None => &["hi", "lo", "scale"],
    };
    only_known(s, known, "state.")?;
    Ok(Accumulator {
        sum: Dd { hi, lo },
        scaled,
        count,
        linear,
    })
}

/// Checks the fields written for people (`value`, `sum`, `linear_fraction`) against the state,
/// so that a shard edited in one place and not the other is not merged silently.
fn check_reported(v: &Value, p: &Part) -> Result<()> {
    let s = Summary::new(p.loss, p.reduction, &p.state, p.shape.clone(), p.precision);
    let mut given = vec![("value", s.value), ("sum", s.sum)];
    if let Some(lf) = s.linear_fraction {
        given.push(("linear_fraction", lf));
    } else {
        ensure!(
            v.get("linear_fraction").is_none(),
            "field 'linear_fraction': the {} loss has no linear regime",
            p.loss.kind()
        );
    }
    for (field, want) in given {
        let got = number(v, field)?;
        let same = match field {
            "value" => {
                p.precision.round(got).to_bits() == want.to_bits()
                    || (got.is_nan() && want.is_nan())
            }
            _ => got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
        };
        ensure!(
            same,
            "field '{field}': {got:?} disagrees with the exact state, which gives {want:?}"
        );
    }
    Ok(())
}
fn merge(shards: &[(&PathBuf, Vec<Part>)]) -> Result<Vec<Summary>> {
    let Some((first_path, first)) = shards.first() else {
        bail!("nothing to merge")
    };
    let mut out = Vec::with_capacity(first.len());
    for (i, head) in first.iter().enumerate() {
        let mut acc = Accumulator::default();
        let mut shape: Option<Vec<usize>> = None;
        for (path, parts) in shards {
            ensure!(
                parts.len() == first.len(),
                "{} holds {} results but {} holds {}: shards must come from the same command",
                name(path),
                parts.len(),
                name(first_path),
                first.len()
            );
            let p = &parts[i];
            same_kind(head, p).map_err(|(what, a, b)| {
                anyhow::anyhow!(
                    "cannot merge: {} has {what} {b} where {} has {a}",
                    name(path),
                    name(first_path)
                )
            })?;
            let joined = match shape {
                None => Some(p.shape.clone()),
                Some(s) => join_shapes(&s, &p.shape),
            };
            shape = Some(joined.with_context(|| {
                format!(
                    "{}: field 'shape': the merged element count overflows 64 bits",
                    name(path)
                )
            })?);
            ensure!(
                acc.count.checked_add(p.state.count).is_some(),
                "{}: field 'count': the merged count overflows 64 bits",
                name(path)
            );
            acc.merge(&p.state);
        }
        let mut s = Summary::new(
            head.loss,
            head.reduction,
            &acc,
            shape.unwrap_or_default(),
            head.precision,
        );
        if !head.has_linear {
            s.linear_fraction = None;
        }
        out.push(s);
    }
    Ok(out)
}

/// The first field in which two results differ so that they cannot be merged: its name and the
/// two values.
fn same_kind(head: &Part, p: &Part) -> Result<(), (&'static str, String, String)> {
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
        return Err((name, a.to_string(), b.to_string()));
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

#[cfg(test)]
mod tests;
