//! Datasets: a glob, a folder of shards or a hive-partitioned folder (`store=a/part-0.parquet`),
//! read as one input. Each shard is opened as a file of its own (so `-p` and `-t` share each
//! shard's read, as they share one file's), and their elements are concatenated along the
//! first axis, in path order.

use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail, ensure};

use super::{Buf, Dtype, Position, Source, Text};
use crate::array::fmt_shape;
use crate::message::escape_controls;

/// One file of a dataset.
pub(crate) struct Shard {
    pub path: PathBuf,
    /// The hive partition keys and values of the folders above it (`store=a`), outermost first.
    pub partitions: Vec<(String, String)>,
}

impl Shard {
    /// The shard's path for a message.
    pub fn name(&self) -> String {
        escape_controls(&self.path.to_string_lossy()).into_owned()
    }
}

/// Whether `path` holds glob syntax (`*`, `?`, `[`).
pub(crate) fn is_pattern(path: &Path) -> bool {
    path.as_os_str()
        .as_bytes()
        .iter()
        .any(|c| matches!(c, b'*' | b'?' | b'['))
}

/// Whether a glob pattern matches any path (a quick check for splitting `PATH:KEY`).
pub(crate) fn matches_any(pattern: &Path) -> bool {
    let Some(text) = pattern.to_str() else {
        return false;
    };
    glob::glob_with(text, OPTIONS).is_ok_and(|mut m| m.any(|p| p.is_ok_and(|p| shown(pattern, &p))))
}

/// `*` matches no `/`. A leading `.` is left to [`shown`]: the glob crate's own check
/// (`require_literal_leading_dot`) panics on a file name that is not UTF-8 in a folder it reads.
const OPTIONS: glob::MatchOptions = glob::MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: false,
};

/// How many leading components of `pattern` are literal (no glob syntax): its folders that are
/// not partitions of the dataset.
fn literal_prefix(pattern: &Path) -> usize {
    named(pattern)
        .take_while(|c| !is_pattern(Path::new(c.as_os_str())))
        .count()
}

/// The components of a path as the glob crate gives its matches: without a leading `./`.
fn named(path: &Path) -> impl Iterator<Item = Component<'_>> {
    path.components()
        .filter(|c| !matches!(c, Component::CurDir))
}

/// The names of `path` after its first `base` components.
fn names_after(path: &Path, base: usize) -> Vec<&OsStr> {
    named(path)
        .skip(base)
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n),
            _ => None,
        })
        .collect()
}

/// Whether a match of `pattern` is kept: as in the shell, `*`, `?` and `[…]` match no leading
/// `.`, and as in a dataset folder, no writer's markers (`_SUCCESS`, `_metadata`) or checksum
/// files either: a match with such a name after the pattern's literal folders is dropped, unless
/// the pattern spells it there itself (`preds/.*.csv`, `preds/_*`, `*.crc`).
fn shown(pattern: &Path, path: &Path) -> bool {
    let base = literal_prefix(pattern);
    let (spelt, found) = (names_after(pattern, base), names_after(path, base));
    if spelt.iter().any(|n| n.as_bytes() == b"**") {
        // `**` spans folders: a name is kept if any component of the pattern spells its kind.
        let allowed = spelt.iter().fold(0, |a, n| a | skip_marks(n));
        return found.iter().all(|n| skip_marks(n) & !allowed == 0);
    }
    // Else component by component: `_r*/*.csv` keeps `_runs/b.csv`, not `_runs/_b.csv`.
    found.iter().enumerate().all(|(i, n)| {
        let allowed = spelt.get(i).map_or(0, |p| skip_marks(p));
        skip_marks(n) & !allowed == 0
    })
}

/// The shards of `path` if it names a dataset (a folder, or a glob pattern that is not a path
/// as written), in path order; `None` for any other path. A pattern that matches nothing and a
/// folder without data files are errors.
pub(crate) fn expand(path: &Path) -> Result<Option<Vec<Shard>>> {
    let shards = match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => {
            let mut shards = Vec::new();
            walk(path, &[], &mut shards)?;
            ensure!(
                !shards.is_empty(),
                "the folder holds no data file (names starting with '.' or '_', and .crc files, \
                 are skipped)"
            );
            shards
        }
        Err(_) if is_pattern(path) => glob(path)?,
        _ => return Ok(None),
    };
    check_partitions(&shards)?;
    // A file of no bytes holds no rows in any format (numpy's savetxt of an empty array, an
    // empty partition some writers leave): it adds nothing, as a header-only CSV shard does,
    // for every reader of the dataset alike (-p, --by, --id).
    let all = shards.len();
    let shards: Vec<Shard> = shards
        .into_iter()
        .filter(|s| !std::fs::metadata(&s.path).is_ok_and(|m| m.is_file() && m.len() == 0))
        .collect();
    ensure!(
        !shards.is_empty(),
        "every file of the dataset is empty (0 bytes), {all} of them"
    );
    Ok(Some(shards))
}

/// Whether a file or folder of a dataset folder is skipped, as Spark, Dask and pyarrow skip them:
/// hidden names and markers (`.part-0.crc`, `_SUCCESS`, `_metadata`, `_temporary/`), and
/// Hadoop's checksum files.
fn skipped(name: &OsStr) -> bool {
    skip_marks(name) != 0
}

/// Why a name is skipped, as bits: 1 hidden (`.`), 2 a marker (`_`), 4 a checksum (`.crc`).
fn skip_marks(name: &OsStr) -> u8 {
    let b = name.as_bytes();
    u8::from(b.starts_with(b"."))
        | u8::from(b.starts_with(b"_")) << 1
        | u8::from(b.ends_with(b".crc")) << 2
}

/// `key=value` of a hive partition folder, the value percent-decoded as Spark and pyarrow write it.
fn hive(name: &OsStr) -> Option<(String, String)> {
    let name = name.to_str()?;
    let (key, value) = name.split_once('=')?;
    (!key.is_empty()).then(|| (key.to_string(), percent_decode(value)))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

/// The data files under `dir`, folder by folder in name order, with the partitions of the
/// folders on the way.
fn walk(dir: &Path, partitions: &[(String, String)], out: &mut Vec<Shard>) -> Result<()> {
    let reason = |e: io::Error| anyhow!("{}: {}", dir.display(), crate::message::io_reason(&e));
    let mut entries = std::fs::read_dir(dir)
        .map_err(reason)?
        .collect::<io::Result<Vec<_>>>()
        .map_err(reason)?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        if skipped(&name) {
            continue;
        }
        let path = entry.path();
        if std::fs::metadata(&path).is_ok_and(|m| m.is_dir()) {
            let mut inner = partitions.to_vec();
            inner.extend(hive(&name));
            walk(&path, &inner, out)?;
        } else {
            out.push(Shard {
                path,
                partitions: partitions.to_vec(),
            });
        }
    }
    Ok(())
}

/// The files a glob pattern matches, in path order (a folder it matches stands for its files).
fn glob(pattern: &Path) -> Result<Vec<Shard>> {
    let text = pattern.to_str().context("the pattern is not valid UTF-8")?;
    let matches = glob::glob_with(text, OPTIONS).map_err(|e| anyhow!("bad pattern: {e}"))?;
    // The folders above the first component with glob syntax are not partitions of the dataset.
    let base = literal_prefix(pattern);
    let mut paths = Vec::new();
    for m in matches {
        // A hidden folder the pattern's `*` walked into is none of its business, readable or not.
        match m {
            Ok(path) if shown(pattern, &path) => paths.push(path),
            Err(e) if shown(pattern, e.path()) => {
                bail!("{}: {}", e.path().display(), e.error())
            }
            _ => {}
        }
    }
    paths.sort();
    let mut shards = Vec::new();
    for path in paths {
        let partitions: Vec<_> = path
            .parent()
            .into_iter()
            .flat_map(|p| names_after(p, base))
            .filter_map(hive)
            .collect();
        if path.is_dir() {
            walk(&path, &partitions, &mut shards)?;
        } else {
            shards.push(Shard { path, partitions });
        }
    }
    ensure!(
        !shards.is_empty(),
        "no file matches the pattern (quote it or not: huber expands it)"
    );
    Ok(shards)
}

/// Every shard must have the same partition keys.
fn check_partitions(shards: &[Shard]) -> Result<()> {
    let keys = |s: &Shard| {
        s.partitions
            .iter()
            .map(|(k, _)| k.clone())
            .collect::<Vec<_>>()
    };
    let first = keys(&shards[0]);
    if let Some(other) = shards.iter().find(|s| keys(s) != first) {
        bail!(
            "{}: partition keys [{}] differ from those of the first file, {} ([{}])",
            other.name(),
            keys(other).join(", "),
            shards[0].name(),
            first.join(", ")
        );
    }
    Ok(())
}

/// The elements of several sources, one after another: the shards of a dataset, concatenated
/// along the first axis.
pub(crate) struct Concat {
    parts: Vec<Part>,
    /// The part being read.
    current: usize,
    shape: Vec<usize>,
    dtype: Dtype,
    open_ended: bool,
    /// The flat index at which each part reached so far starts.
    starts: Vec<usize>,
    /// Elements read so far.
    read: usize,
}

struct Part {
    source: Box<dyn Source>,
    /// The file's name, for messages.
    name: String,
    /// The hive partitions of its folders (`store=a/`), as `(key, value)`.
    partitions: Vec<(String, String)>,
    /// Elements not read yet (an upper bound for an open-ended source).
    left: usize,
}

impl Concat {
    /// The concatenation of `parts` (each with its file's name), which must agree in dtype and
    /// in shape past the first axis.
    pub fn new(parts: Vec<(String, Box<dyn Source>)>) -> Result<Concat> {
        let (first_name, first) = parts.first().context("a dataset without files")?;
        let dtype = first.dtype();
        let tail = first.shape().get(1..).map(<[usize]>::to_vec);
        let tail = tail.with_context(|| {
            format!("{first_name}: a 0-d array (one value) cannot be a shard of a dataset")
        })?;
        let mut rows = 0usize;
        let mut open_ended = false;
        for (name, source) in &parts {
            let shape = source.shape();
            ensure!(
                source.dtype().to_string() == dtype.to_string(),
                "{name}: the data is {} but the first file's ({first_name}) is {dtype}: the files \
                 of a dataset must agree",
                source.dtype()
            );
            ensure!(
                shape.len() == tail.len() + 1 && shape[1..] == tail[..],
                "{name}: shape {} does not continue the first file's ({first_name}) {}: the \
                 files of a dataset must agree past the first axis",
                fmt_shape(shape),
                fmt_shape(first.shape())
            );
            rows = rows
                .checked_add(shape[0])
                .context("the dataset holds too many rows")?;
            open_ended |= source.open_ended();
        }
        let mut shape = vec![rows];
        shape.extend_from_slice(&tail);
        let several = parts.len() > 1;
        let parts = parts
            .into_iter()
            .map(|(name, mut source)| {
                if several {
                    source.in_dataset();
                }
                Part {
                    left: source.shape().iter().product(),
                    source,
                    name,
                    partitions: Vec::new(),
                }
            })
            .collect();
        Ok(Concat {
            parts,
            current: 0,
            shape,
            dtype,
            open_ended,
            starts: vec![0],
            read: 0,
        })
    }

    /// Finishes the current part and moves to the next, and lets the one after it start
    /// decoding.
    fn advance(&mut self) -> Result<()> {
        self.parts[self.current].source.finish()?;
        self.current += 1;
        if self.current < self.parts.len() {
            self.starts.push(self.read);
        }
        if let Some(next) = self.parts.get_mut(self.current + 1) {
            next.source.prefetch();
        }
        Ok(())
    }
}

/// The elements `range` of `out`.
fn sub<'a>(out: &'a mut Buf<'_>, range: std::ops::Range<usize>) -> Buf<'a> {
    match out {
        Buf::F64(v) => Buf::F64(&mut v[range]),
        Buf::F32(v) => Buf::F32(&mut v[range]),
    }
}

impl Source for Concat {
    fn shape(&self) -> &[usize] {
        &self.shape
    }

    fn dtype(&self) -> Dtype {
        self.dtype
    }

    fn read(&mut self, out: Buf<'_>) -> Result<()> {
        let want = out.len();
        let got = self.read_upto(out)?;
        ensure!(got == want, "the files hold fewer elements than they said");
        Ok(())
    }

    fn open_ended(&self) -> bool {
        self.open_ended
    }

    fn read_upto(&mut self, mut out: Buf<'_>) -> Result<usize> {
        if self.read == 0
            && let Some(next) = self.parts.get_mut(1)
        {
            next.source.prefetch();
        }
        let mut done = 0;
        while done < out.len() && self.current < self.parts.len() {
            let part = &mut self.parts[self.current];
            let want = (out.len() - done).min(part.left);
            let mut n = want;
            if want > 0 {
                let to = sub(&mut out, done..done + want);
                if part.source.open_ended() {
                    n = part.source.read_upto(to)?;
                } else {
                    part.source.read(to)?;
                }
                done += n;
                part.left -= n;
                self.read += n;
            }
            if n < want || part.left == 0 {
                self.advance()?;
            }
        }
        Ok(done)
    }

    fn finish(&mut self) -> Result<()> {
        while self.current < self.parts.len() {
            ensure!(
                self.parts[self.current].left == 0 || self.open_ended,
                "internal error: a shard was not read to its end"
            );
            self.advance()?;
        }
        Ok(())
    }

    /// Always: whatever its files are, a dataset can say which file an element is in.
    fn text(&self) -> Option<&dyn Text> {
        Some(self as &dyn Text)
    }
}

impl Concat {
    /// The same, each part with the hive partitions of its folders, so that a partition key can
    /// be listed beside rows (`--id store`) as a column can.
    pub fn with_partitions(mut self, partitions: Vec<Vec<(String, String)>>) -> Concat {
        for (part, p) in self.parts.iter_mut().zip(partitions) {
            part.partitions = p;
        }
        self
    }

    /// The value of partition key `key` in part `i`, if its folders have that key.
    fn partition(&self, i: usize, key: &str) -> Option<&str> {
        // The innermost folder of the key, as --by reads it (`k=a/k=b/` is `b`).
        let found = self
            .parts
            .get(i)?
            .partitions
            .iter()
            .rev()
            .find(|(k, _)| k == key);
        found.map(|(_, v)| v.as_str())
    }

    /// The part holding element `index`, and where that part starts.
    fn part_of(&self, index: usize) -> (usize, usize) {
        let i = self.starts.partition_point(|&s| s <= index).max(1) - 1;
        (i, self.starts[i])
    }
}

impl Text for Concat {
    fn locate(&self, index: usize) -> Option<Position> {
        let (i, start) = self.part_of(index);
        let part = &self.parts[i];
        let local = index - start;
        let found = part.source.text().and_then(|t| t.locate(local));
        // A file that cannot say more (Parquet, Arrow, NPY) is named with the row in it.
        found.or_else(|| {
            let width = self.shape[1..].iter().product::<usize>().max(1);
            Some(Position {
                text: format!("{}: row {} (from 0)", part.name, local / width),
                nan: false,
            })
        })
    }

    fn lines(&self, indices: &[usize]) -> Option<Result<Vec<u64>>> {
        self.per_part(indices, |text, local| text.lines(local))
    }

    fn files(&self, indices: &[usize]) -> Option<Vec<String>> {
        let name = |&i: &usize| self.parts[self.part_of(i).0].name.clone();
        Some(indices.iter().map(name).collect())
    }

    fn parses_on_pool(&self) -> bool {
        self.parts
            .iter()
            .any(|p| p.source.text().is_some_and(|t| t.parses_on_pool()))
    }

    fn has_field(&self, key: &str) -> bool {
        self.partition(0, key).is_some()
            || self
                .parts
                .iter()
                .all(|p| p.source.text().is_some_and(|t| t.has_field(key)))
    }

    fn fields(&self, key: &str, indices: &[usize]) -> Option<Result<Vec<String>>> {
        if self.partition(0, key).is_some() {
            // Every part has the key: the dataset's folders were checked to agree on their keys.
            let value = |&i: &usize| self.partition(self.part_of(i).0, key).unwrap_or_default();
            return Some(Ok(indices.iter().map(|i| value(i).to_string()).collect()));
        }
        self.per_part(indices, |text, local| text.fields(key, local))
    }
}

impl Concat {
    /// `each` of the parts holding elements `indices` (ascending), with their indices in the
    /// part, the results put together in order.
    fn per_part<T>(
        &self,
        indices: &[usize],
        each: impl Fn(&dyn Text, &[usize]) -> Option<Result<Vec<T>>>,
    ) -> Option<Result<Vec<T>>> {
        let mut out = Vec::with_capacity(indices.len());
        let mut rest = indices;
        while let Some(&first) = rest.first() {
            let (i, start) = self.part_of(first);
            let end = self.starts.get(i + 1).copied().unwrap_or(usize::MAX);
            let n = rest.partition_point(|&x| x < end);
            let local: Vec<usize> = rest[..n].iter().map(|&x| x - start).collect();
            match each(self.parts[i].source.text()?, &local)? {
                Ok(found) => out.extend(found),
                Err(e) => return Some(Err(e)),
            }
            rest = &rest[n..];
        }
        Some(Ok(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hive_folders_and_skipped_names() {
        assert_eq!(
            hive(OsStr::new("store=Berlin%20Mitte")),
            Some(("store".into(), "Berlin Mitte".into()))
        );
        assert_eq!(hive(OsStr::new("=x")), None);
        assert_eq!(hive(OsStr::new("plain")), None);
        for name in [
            "_SUCCESS",
            ".part-0.parquet.crc",
            "_metadata",
            "x.crc",
            ".hidden",
        ] {
            assert!(skipped(OsStr::new(name)), "{name}");
        }
        assert!(!skipped(OsStr::new("part-0.parquet")));
        assert_eq!(percent_decode("a%3Ab%2"), "a:b%2");
    }

    #[test]
    fn a_glob_drops_the_names_a_folder_skips_unless_it_spells_them() {
        let kept = |pattern: &str, path: &str| shown(Path::new(pattern), Path::new(path));
        assert!(kept("out/*", "out/part-0.parquet"));
        assert!(!kept("out/*", "out/_SUCCESS"));
        assert!(!kept("out/*", "out/_metadata"));
        assert!(!kept("out/*", "out/part-0.parquet.crc"));
        assert!(!kept("out/*", "out/.part-0.crc"));
        assert!(!kept("*/p.csv", "_tmp/p.csv"));
        // The folders before the first pattern component are the user's.
        assert!(kept("_runs/*.csv", "_runs/a.csv"));
        assert!(kept("out/_*", "out/_metadata"));
        assert!(kept("out/*.crc", "out/a.crc"));
        assert!(kept("out/.*", "out/.hidden"));
        // Each component spells its own: `_r*` is the folder's, not the file's.
        assert!(kept("_r*/*.csv", "_runs/b.csv"));
        assert!(!kept("_r*/*.csv", "_runs/_b.csv"));
        assert!(kept("out/**/_*", "out/a/_x"));
        assert!(!kept("out/**/*.csv", "out/_tmp/a.csv"));
        // A leading ./ is not a folder of the matches (the glob crate drops it).
        assert!(!kept("./out/*", "out/_metadata"));
        assert!(kept("./out/*", "out/part-0.csv"));
        assert_eq!(literal_prefix(Path::new("./out/*")), 1);
    }
}
