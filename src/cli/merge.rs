//! `huber merge`: reads shard results, combines them exactly with [`huber_core::merge`], and
//! writes the combined result.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, ensure};
use clap::Args;
use huber_core::Error as UsageError;
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

/// Merges the shard results named by `cfg` and writes the combined result.
pub fn run(cfg: &MergeConfig) -> Result<()> {
    let mut shards = Vec::new();
    for path in &cfg.files {
        shards.push((name(path), read(path)?));
    }
    let named: Vec<(&str, &str)> = shards
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let merged = huber_core::merge::combine(&named)?;
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
    let (bytes, more) = read_capped(reader, MAX_SHARD_BYTES as usize)
        .map_err(|e| anyhow::anyhow!("cannot read: {}", io_reason(&e)))
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
