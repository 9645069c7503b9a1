//! Where output goes, shown only on success: stdout through a spool (memory, then a temporary
//! file), or `--output` through a temporary file beside the target that is renamed over it.
//! On any error the spool or temporary file is dropped, so stdout stays empty and an existing
//! output file is untouched (SPEC §5).

use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use tempfile::{NamedTempFile, SpooledTempFile};

/// Bytes of stdout output kept in memory before the spool moves to a temporary file.
const SPOOL_IN_MEMORY: usize = 16 << 20;

/// An output being written.
pub enum Destination {
    /// Standard output, spooled.
    Stdout(BufWriter<SpooledTempFile>),
    /// A file, written under a temporary name.
    File {
        /// The temporary file in the target's folder.
        tmp: BufWriter<NamedTempFile>,
        /// The final name.
        path: PathBuf,
    },
}

impl Destination {
    /// Output to stdout.
    pub fn stdout() -> Destination {
        Destination::Stdout(BufWriter::new(SpooledTempFile::new(SPOOL_IN_MEMORY)))
    }

    /// Output to `path`, through a temporary file in the same folder.
    pub fn file(path: &Path) -> Result<Destination> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let mut builder = tempfile::Builder::new();
        builder.prefix(".huber-").suffix(".tmp");
        // tempfile's default 0600 would make outputs private; 0666 less the umask is what any
        // other tool's output gets.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        let tmp = builder.tempfile_in(dir).map_err(|e| {
            anyhow::anyhow!(
                "cannot write in {}: {}",
                dir.display(),
                crate::input::io_reason(&e)
            )
        })?;
        Ok(Destination::File {
            tmp: BufWriter::with_capacity(1 << 20, tmp),
            path: path.to_path_buf(),
        })
    }

    /// The writer to write the output to.
    pub fn writer(&mut self) -> &mut dyn Write {
        match self {
            Destination::Stdout(w) => w,
            Destination::File { tmp, .. } => tmp,
        }
    }

    /// Shows the output: copies the spool to stdout, or renames the temporary file into place.
    pub fn commit(self) -> Result<()> {
        match self {
            Destination::Stdout(w) => {
                let mut spool = w.into_inner().map_err(|e| e.into_error())?;
                spool.seek(SeekFrom::Start(0))?;
                let mut out = io::stdout().lock();
                io::copy(&mut spool, &mut out)?;
                out.flush()?;
                Ok(())
            }
            Destination::File { tmp, path } => {
                let tmp = tmp
                    .into_inner()
                    .map_err(|e| e.into_error())
                    .with_context(|| path.display().to_string())?;
                tmp.persist(&path)
                    .map_err(|e| {
                        anyhow::anyhow!("cannot write: {}", crate::input::io_reason(&e.error))
                    })
                    .with_context(|| path.display().to_string())?;
                Ok(())
            }
        }
    }
}
