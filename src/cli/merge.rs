//! `huber merge`: reads shard results, combines them exactly with [`huber_core::merge`], and
//! writes the combined result.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, ensure};
use clap::Args;
use huber_core::Error as UsageError;
use huber_core::merge::{Kinds, merge, read_results};
use huber_core::summary::Summary;
use huber_engine::message::{STDIN, io_reason};

use super::output::{Destination, Format};

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
            return Err(UsageError::invalid_argument(
                "merge writes text, JSON or CSV",
            ));
        }
        Ok(MergeConfig {
            files: self.files,
            format,
            output: self.output,
        })
    }
}

/// Merges the shard results named by `cfg` and writes the combined result. Each input holds
/// one result value or several (concatenated, or one per line): each value is a shard, folded
/// into the merge as it is read, so memory holds the merged results and one shard's.
pub fn run(cfg: &MergeConfig) -> Result<()> {
    let mut merged: Option<(String, Vec<Summary>)> = None;
    for path in &cfg.files {
        let values = read(path, |k, results| {
            let name = match k {
                1 => name(path),
                k => format!("{} (result value {k})", name(path)),
            };
            let (first, next) = match merged.take() {
                None => {
                    let m = merge(&[(name.as_str(), results)])?;
                    (name, m)
                }
                Some((first, sofar)) => {
                    let m = merge(&[(first.as_str(), sofar), (name.as_str(), results)])?;
                    (first, m)
                }
            };
            let mut kinds = Kinds::default();
            for r in &next {
                kinds.add(r).map_err(|e| e.context("the merged results"))?;
            }
            merged = Some((first, next));
            Ok(())
        })?;
        ensure!(values > 0, "{}: holds no result", name(path));
    }
    let merged = merged.map(|(_, m)| m).unwrap_or_default();
    let mut dest = match &cfg.output {
        Some(path) => Destination::file(path)?,
        None => Destination::stdout(),
    };
    // No result at all (every shard `[]`) is what `--by` writes for no elements: merged, the same.
    if merged.is_empty() || merged.iter().any(|s| s.group.is_some()) {
        let several = merged.iter().any(|s| s.loss != merged[0].loss);
        let results = merged.into_iter().map(Ok);
        super::output::groups::write(cfg.format, dest.writer(), results, several)?;
    } else {
        cfg.format.writer().scalars(dest.writer(), &merged)?;
    }
    dest.commit()
}

/// How a shard is named in messages.
fn name(path: &Path) -> String {
    if path.as_os_str() == "-" {
        STDIN.to_string()
    } else {
        path.display().to_string()
    }
}

/// Reads the result values of `path` (`-`: stdin), calling `each` with each one's checked
/// results; returns how many values it held.
fn read(
    path: &Path,
    each: impl FnMut(usize, Vec<Summary>) -> huber_core::Result<()>,
) -> Result<usize> {
    let reader: Box<dyn Read> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(
            std::fs::File::open(path)
                .map_err(|e| anyhow::anyhow!("cannot read: {}", io_reason(&e)))
                .with_context(|| name(path))?,
        )
    };
    Ok(read_results(reader, each).map_err(|e| e.context(name(path)))?)
}
