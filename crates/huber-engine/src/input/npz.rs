//! NPZ: a zip archive of NPY members, stored or deflated, zip64 included.
//!
//! The zip crate reads the central directory; the chosen member's bytes are then streamed
//! through a reader of our own that inflates them, refuses to produce more than the member
//! declares, and checks the CRC at the end, so a lying or corrupted archive fails in bounded
//! memory.

use std::io::{self, Read, Seek, SeekFrom};

use anyhow::{Context, Result, bail, ensure};
use flate2::read::DeflateDecoder;
use zip::{CompressionMethod, ZipArchive};

/// Deflate cannot expand data by more than about 1032:1; a member that claims more is lying.
const MAX_DEFLATE_RATIO: u64 = 1032;

/// An input that can be read from any position.
pub trait ReadSeek: Read + Seek + Send {}
impl<T: Read + Seek + Send> ReadSeek for T {}

/// A member of an archive, ready to be read.
pub struct Member {
    /// The member's name in the archive.
    pub name: String,
    /// Its uncompressed size as declared.
    pub size: u64,
    /// Its bytes, inflated and checked.
    pub reader: Box<dyn Read + Send>,
}

/// Finds the member `key` (with or without `.npy`), or the only member when `key` is `None`.
pub fn open_member(reader: Box<dyn ReadSeek>, key: Option<&str>) -> Result<Member> {
    let mut zip = ZipArchive::new(reader)
        .map_err(|e| anyhow::anyhow!("not a valid NPZ (zip) archive: {e}"))?;
    let names: Vec<String> = zip
        .file_names()
        .map(|n| n.map(|n| n.into_owned()))
        .collect::<Result<_, _>>()?;
    let name = choose(&names, key)?;
    let (start, compressed, size, crc, method) = {
        let f = zip
            .by_name(&name)
            .map_err(|e| anyhow::anyhow!("cannot open '{name}' in the archive: {e}"))?;
        ensure!(!f.encrypted(), "'{name}' is encrypted");
        let start = f
            .data_start()
            .context("the archive does not say where the member's data starts")?;
        (
            start,
            f.compressed_size(),
            f.size(),
            f.crc32(),
            f.compression(),
        )
    };
    let mut raw = zip.into_inner();
    let total = raw.seek(SeekFrom::End(0))?;
    ensure!(
        start
            .checked_add(compressed)
            .is_some_and(|end| end <= total),
        "'{name}' claims {compressed} compressed bytes, more than the archive holds"
    );
    raw.seek(SeekFrom::Start(start))?;
    let body = raw.take(compressed);
    let inner: Box<dyn Read + Send> = match method {
        CompressionMethod::Stored => {
            ensure!(
                size == compressed,
                "'{name}' is stored but its sizes disagree ({size} vs {compressed} bytes)"
            );
            Box::new(body)
        }
        m if m == CompressionMethod::DEFLATE => {
            ensure!(
                size <= compressed
                    .saturating_mul(MAX_DEFLATE_RATIO)
                    .saturating_add(1024),
                "'{name}' claims to inflate {compressed} bytes to {size}, which deflate cannot do"
            );
            Box::new(DeflateDecoder::new(body))
        }
        other => bail!("'{name}' uses compression {other}; NPZ members are stored or deflated"),
    };
    let reader = Box::new(Checked {
        inner,
        left: size,
        crc: crc32fast::Hasher::new(),
        expected: crc,
        done: false,
    });
    Ok(Member { name, size, reader })
}

/// The member `key` names (with or without `.npy`), or the only one; the error lists the arrays.
fn choose(names: &[String], key: Option<&str>) -> Result<String> {
    // torch.save writes a zip of a pickle (`archive/data.pkl`) and raw storages.
    let pickled = names
        .iter()
        .any(|n| n == "data.pkl" || n.ends_with("/data.pkl"));
    if pickled && !names.iter().any(|n| n.ends_with(".npy")) {
        bail!(
            "a PyTorch file (torch.save), which holds pickled objects, not arrays: save the \
             tensor with np.save(path, t.numpy()) (or t.detach().cpu().numpy())"
        );
    }
    let arrays = || {
        names
            .iter()
            .map(|n| n.strip_suffix(".npy").unwrap_or(n))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let name = match key {
        Some(k) => {
            let with_ext = format!("{k}.npy");
            let found = names.iter().find(|n| **n == with_ext || *n == k);
            found
                .cloned()
                .with_context(|| format!("no array '{k}' in the archive; it holds: {}", arrays()))?
        }
        None => match names {
            [only] => only.clone(),
            [] => bail!("the archive holds no arrays"),
            _ => bail!(
                "the archive holds several arrays; choose one with PATH:KEY, one of: {}",
                arrays()
            ),
        },
    };
    Ok(name)
}

/// Yields exactly `left` bytes of `inner`, then checks their CRC-32.
struct Checked {
    inner: Box<dyn Read + Send>,
    left: u64,
    crc: crc32fast::Hasher,
    expected: u32,
    done: bool,
}

impl Read for Checked {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            if !self.done {
                self.done = true;
                if self.crc.clone().finalize() != self.expected {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "the archive member is corrupted (CRC mismatch)",
                    ));
                }
            }
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want]).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the archive member is corrupted: {e}"),
            )
        })?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "the archive member ends {} bytes before its declared size",
                    self.left
                ),
            ));
        }
        self.crc.update(&buf[..n]);
        self.left -= n as u64;
        Ok(n)
    }
}
