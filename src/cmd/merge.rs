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
use clap::Args;
use serde::Deserialize;
use serde_json::Value;

use crate::error::UsageError;
use crate::output::{Destination, Format};
use crate::reduce::Accumulator;
use crate::summary::{Summary, shape_len};

/// `huber merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// JSON results written by `huber -f json` (- for stdin).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Output format [default: from the --output extension, else text].
    #[arg(short = 'f', long, value_enum)]
    pub format: Option<Format>,

    /// Write to PATH instead of stdout.
    #[arg(short = 'o', long, value_name = "PATH")]
    pub output: Option<PathBuf>,
}

/// A checked `huber merge`: the shard files, and where and how to write the merged result.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeConfig {
    pub files: Vec<PathBuf>,
    /// Text, JSON or CSV.
    pub format: Format,
    /// The output file, or stdout.
    pub output: Option<PathBuf>,
}

impl MergeArgs {
    /// Checks the arguments: the format, which cannot be NPY.
    pub fn into_config(self) -> Result<MergeConfig, UsageError> {
        let format = Format::resolve(self.format, self.output.as_deref())?;
        if format == Format::Npy {
            return Err(UsageError::new("merge writes text, JSON or CSV"));
        }
        Ok(MergeConfig {
            files: self.files,
            format,
            output: self.output,
        })
    }
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
    if merged.iter().any(|s| s.group.is_some()) {
        let results = merged.into_iter().map(Ok);
        crate::output::groups::write(cfg.format, dest.writer(), results)?;
    } else {
        cfg.format.writer().scalars(dest.writer(), &merged)?;
    }
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
/// let merged = huber::internals::combine(&[a.clone(), a])?;
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
                .map_err(|e| anyhow::anyhow!("cannot read: {}", crate::error::io_reason(&e)))
                .with_context(|| name(path))?,
        )
    };
    let (bytes, more) = read_capped(reader, MAX_SHARD_BYTES as usize)
        .map_err(|e| anyhow::anyhow!("cannot read: {}", crate::error::io_reason(&e)))
        .with_context(|| name(path))?;
    ensure!(
        !more,
        "{}: more than {} MiB: not a result written by huber -f json",
        name(path),
        MAX_SHARD_BYTES >> 20
    );
    String::from_utf8(bytes).with_context(|| format!("{}: not valid UTF-8", name(path)))
}

/// Reads at most `cap` bytes of `r`, and whether more followed. The vector grows by exactly what
/// arrives (large blocks grow in place), so that a stream that never ends costs `cap`, not the
/// twice `cap` a doubling vector could reach.
fn read_capped(mut r: impl Read, cap: usize) -> std::io::Result<(Vec<u8>, bool)> {
    let mut bytes = Vec::new();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => return Ok((bytes, false)),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if bytes.len() + n > cap {
            return Ok((bytes, true));
        }
        bytes.try_reserve_exact(n).map_err(std::io::Error::other)?;
        bytes.extend_from_slice(&buf[..n]);
    }
}

/// Reads `huber -f json` output: one object, or an array of them (a δ sweep).
fn parse(text: &str) -> Result<Vec<Summary>> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| anyhow::anyhow!("not valid JSON: {e}"))?;
    match v {
        Value::Array(items) if items.is_empty() => bail!("an empty array holds no result"),
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
        clip(&v)
    );
    ensure!(
        v.get("axis").is_none(),
        "a per-cell result of --axis: those do not merge (merge whole-array results, or run \
         --axis over all the data)"
    );
    Summary::deserialize(v).map_err(|e| anyhow::anyhow!("{e}"))
}

/// A JSON value for a message: short, and on one line.
fn clip(v: &Value) -> String {
    let s = v.to_string();
    match s.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s,
    }
}

fn merge(shards: &[(&PathBuf, Vec<Summary>)]) -> Result<Vec<Summary>> {
    let grouped =
        |(_, results): &&(&PathBuf, Vec<Summary>)| results.iter().any(|r| r.group.is_some());
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
        let mut weights = head.weights.map(|_| Accumulator::default());
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

mod grouped;

#[cfg(test)]
mod tests;
