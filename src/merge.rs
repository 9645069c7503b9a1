//! `huber merge`: exact combination of shard results.
//!
//! Each shard's JSON carries its sum (in f64) and count, so the combined mean is the sum of the
//! sums, accumulated in double-double, over the sum of the counts, rounded once to the result
//! type. The shards' own `value`s are not used.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, bail, ensure};
use serde_json::Value;

use crate::cli::MergeConfig;
use crate::dtype::Precision;
use crate::loss::{Loss, LossKind};
use crate::output::Destination;
use crate::reduce::{Accumulator, Dd, Reduction, Summary};

/// One result of one shard.
#[derive(Debug, Clone, PartialEq)]
struct Part {
    loss: Loss,
    reduction: Reduction,
    sum: f64,
    count: u64,
    shape: Vec<usize>,
    precision: Precision,
    linear: Option<u64>,
}

/// Merges the shard results named by `cfg` and writes the combined result.
pub fn run(cfg: &MergeConfig) -> Result<()> {
    let mut shards = Vec::new();
    for path in &cfg.files {
        let text = read(path)?;
        let parts = parse(&text).with_context(|| path.display().to_string())?;
        shards.push((path, parts));
    }
    let merged = merge(&shards)?;
    let mut dest = match &cfg.output {
        Some(path) => Destination::file(path)?,
        None => Destination::stdout(),
    };
    cfg.format.writer().scalars(dest.writer(), &merged)?;
    dest.commit()
}

fn read(path: &Path) -> Result<String> {
    let mut text = String::new();
    if path.as_os_str() == "-" {
        std::io::stdin()
            .read_to_string(&mut text)
            .context("<stdin>")?;
    } else {
        std::fs::File::open(path)
            .and_then(|mut f| f.read_to_string(&mut text))
            .map_err(|e| anyhow::anyhow!("cannot read: {}", crate::input::io_reason(&e)))
            .with_context(|| path.display().to_string())?;
    }
    Ok(text)
}

/// Reads `huber -f json` output: one object, or an array of them (a δ sweep).
fn parse(text: &str) -> Result<Vec<Part>> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| anyhow::anyhow!("not valid JSON: {e}"))?;
    match v {
        Value::Array(items) => items.iter().map(part).collect(),
        obj @ Value::Object(_) => Ok(vec![part(&obj)?]),
        _ => bail!("expected a JSON object or array written by huber -f json"),
    }
}

/// A JSON number, or one of the strings huber writes for non-finite values.
fn number(v: &Value, field: &str) -> Result<f64> {
    match v.get(field) {
        Some(Value::Number(n)) => n.as_f64().context("bad number"),
        Some(Value::String(s)) if s == "NaN" => Ok(f64::NAN),
        Some(Value::String(s)) if s == "Infinity" => Ok(f64::INFINITY),
        Some(Value::String(s)) if s == "-Infinity" => Ok(f64::NEG_INFINITY),
        _ => bail!("the result has no number '{field}'"),
    }
}

fn part(v: &Value) -> Result<Part> {
    ensure!(v.is_object(), "expected a result object, found {v}");
    let name = v
        .get("loss")
        .and_then(Value::as_str)
        .context("the result has no 'loss'")?;
    let kind = LossKind::from_name(name).with_context(|| format!("unknown loss '{name}'"))?;
    let param = kind.param_name().map(|p| number(v, p)).transpose()?;
    let loss = kind.with_param(param)?;
    let reduction = match v.get("reduction").and_then(Value::as_str) {
        Some("mean") => Reduction::Mean,
        Some("sum") => Reduction::Sum,
        Some(other) => bail!("cannot merge reduction '{other}': only mean and sum results merge"),
        None => bail!("the result has no 'reduction'"),
    };
    let dtype = v
        .get("dtype")
        .and_then(Value::as_str)
        .context("the result has no 'dtype'")?;
    let precision =
        Precision::from_name(dtype).with_context(|| format!("unknown dtype '{dtype}'"))?;
    let count = v
        .get("count")
        .and_then(Value::as_u64)
        .context("the result has no integer 'count'")?;
    let shape = match v.get("shape").and_then(Value::as_array) {
        Some(dims) => dims
            .iter()
            .map(|d| d.as_u64().map(|d| d as usize))
            .collect::<Option<Vec<_>>>(),
        None => None,
    };
    let shape = shape.context("the result has no 'shape'")?;
    let linear = match v.get("linear_fraction") {
        Some(_) => Some((number(v, "linear_fraction")? * count as f64).round() as u64),
        None => None,
    };
    Ok(Part {
        loss,
        reduction,
        sum: number(v, "sum")?,
        count,
        shape,
        precision,
        linear,
    })
}

fn merge(shards: &[(&std::path::PathBuf, Vec<Part>)]) -> Result<Vec<Summary>> {
    let Some((first_path, first)) = shards.first() else {
        bail!("nothing to merge")
    };
    let mut out = Vec::with_capacity(first.len());
    for (i, head) in first.iter().enumerate() {
        let mut acc = Accumulator::default();
        let mut shape = head.shape.clone();
        for (path, parts) in shards {
            ensure!(
                parts.len() == first.len(),
                "{} holds {} results but {} holds {}: shards must come from the same command",
                path.display(),
                parts.len(),
                first_path.display(),
                first.len()
            );
            let p = &parts[i];
            let differs = |what: &str, a: String, b: String| {
                anyhow::anyhow!(
                    "cannot merge: {} has {what} {b} where {} has {a}",
                    path.display(),
                    first_path.display()
                )
            };
            if p.loss.kind() != head.loss.kind() {
                return Err(differs(
                    "loss",
                    head.loss.kind().to_string(),
                    p.loss.kind().to_string(),
                ));
            }
            if let (Some((name, a)), Some((_, b))) = (head.loss.param(), p.loss.param())
                && a.to_bits() != b.to_bits()
            {
                return Err(differs(name, a.to_string(), b.to_string()));
            }
            if p.reduction != head.reduction {
                return Err(differs(
                    "reduction",
                    head.reduction.to_string(),
                    p.reduction.to_string(),
                ));
            }
            if p.precision != head.precision {
                return Err(differs(
                    "dtype",
                    head.precision.to_string(),
                    p.precision.to_string(),
                ));
            }
            if std::ptr::eq(p, head) {
                // The first shard's part starts the total.
            } else if shape.len() == p.shape.len()
                && !shape.is_empty()
                && shape[1..] == p.shape[1..]
            {
                shape[0] += p.shape[0];
            } else {
                shape = vec![shape.iter().product::<usize>() + p.shape.iter().product::<usize>()];
            }
            let mut sum = Dd::default();
            sum.add(p.sum);
            acc.merge(&Accumulator {
                sum,
                scaled: false,
                count: p.count,
                linear: p.linear.unwrap_or(0),
            });
        }
        let mut s = Summary::new(head.loss, head.reduction, &acc, shape, head.precision);
        if head.linear.is_none() {
            s.linear_fraction = None;
        }
        out.push(s);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
