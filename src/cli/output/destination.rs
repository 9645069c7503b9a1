//! Where output goes, shown only on success.
//!
//! - stdout: spooled (memory, then an unnamed temporary file) and copied out at the end, so an
//!   error leaves stdout empty.
//! - `--output` naming a regular file or nothing yet: a temporary file in the same folder,
//!   renamed over the target at the end. A symlink is followed, so the file it points to is
//!   replaced and the link stays a link. A new file gets the usual `0666 & !umask` mode, a
//!   replaced one keeps its mode.
//! - `--output` naming a device, FIFO or socket (`/dev/full`, `/dev/stdout`, a named pipe):
//!   spooled like stdout and written to it directly at the end. Renaming a temporary file over
//!   such a path would replace the device node itself, which as root succeeds.
//!
//! SIGINT, SIGTERM and SIGHUP while a temporary file exists remove it before the process dies
//! of the signal, so an interrupted run leaves the old output as it was and no debris beside it.

use std::fs::{self, OpenOptions, Permissions};
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, Once};

use anyhow::{Result, bail};
use tempfile::{NamedTempFile, SpooledTempFile};

use huber_engine::message::io_reason;

/// Bytes of output kept in memory before the spool moves to a temporary file.
const SPOOL_IN_MEMORY: usize = 16 << 20;

/// An output being written.
pub struct Destination {
    sink: Sink,
    /// How the output is named in messages.
    label: String,
}

enum Sink {
    /// Spooled, then copied to stdout or to a special file.
    Spool {
        spool: BufWriter<SpooledTempFile>,
        special: Option<PathBuf>,
    },
    /// A temporary file renamed over `path` at the end.
    File {
        tmp: BufWriter<PendingFile>,
        path: PathBuf,
    },
}

/// The file a chain of symlinks ends at, existing or not: a dangling link's target is created
/// and the link kept, as `echo > link` does. A loop, or more than 40 links, ends at the last one
/// (renaming over it then fails or replaces that link, as the system decides).
fn link_target(path: &Path) -> PathBuf {
    let mut path = path.to_path_buf();
    for _ in 0..40 {
        let Ok(m) = fs::symlink_metadata(&path) else {
            break;
        };
        if !m.file_type().is_symlink() {
            break;
        }
        let Ok(next) = fs::read_link(&path) else {
            break;
        };
        path = match path.parent() {
            Some(dir) if next.is_relative() => dir.join(next),
            _ => next,
        };
    }
    path
}

impl Destination {
    /// Output to stdout.
    pub fn stdout() -> Destination {
        Destination {
            sink: Sink::Spool {
                spool: spool(),
                special: None,
            },
            label: "standard output".to_string(),
        }
    }

    /// Output to `path`: through a temporary file in the same folder when `path` is (or will be)
    /// a regular file, else written directly at the end.
    pub fn file(path: &Path) -> Result<Destination> {
        let label = path.display().to_string();
        let meta = fs::metadata(path).ok();
        if let Some(m) = &meta {
            let t = m.file_type();
            if t.is_dir() {
                bail!("{label}: cannot write: is a directory");
            }
            if t.is_char_device() || t.is_block_device() || t.is_fifo() || t.is_socket() {
                return Ok(Destination {
                    sink: Sink::Spool {
                        spool: spool(),
                        special: Some(path.to_path_buf()),
                    },
                    label,
                });
            }
        }
        // Replace what a symlink points to, not the link.
        let target = link_target(path);
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let tmp = PendingFile::create(&dir).map_err(|e| {
            anyhow::anyhow!(
                "{label}: cannot write in {}: {}",
                dir.display(),
                io_reason(&e)
            )
        })?;
        if let Some(m) = meta.filter(|m| m.is_file()) {
            // Best effort: a file we may replace but not chmod keeps the default mode.
            let _ = tmp.file().as_file().set_permissions(m.permissions());
        }
        Ok(Destination {
            sink: Sink::File {
                tmp: BufWriter::with_capacity(1 << 20, tmp),
                path: target,
            },
            label,
        })
    }

    /// Whether the output is a device, FIFO or socket named by path: written only at
    /// [`commit`](Self::commit), directly, so it can fail there after other outputs were shown.
    pub fn is_special_file(&self) -> bool {
        matches!(
            self.sink,
            Sink::Spool {
                special: Some(_),
                ..
            }
        )
    }

    /// The writer to write the output to. Its errors name the output.
    pub fn writer(&mut self) -> &mut dyn Write {
        self
    }

    /// Writes `bytes` over the start of what was written (a header known only at the end, as
    /// long as the one written first), then goes on at the end.
    pub fn rewrite_start(&mut self, bytes: &[u8]) -> io::Result<()> {
        fn at_start(w: &mut (impl Write + Seek), bytes: &[u8]) -> io::Result<()> {
            let end = w.stream_position()?;
            w.seek(SeekFrom::Start(0))?;
            w.write_all(bytes)?;
            w.seek(SeekFrom::Start(end)).map(drop)
        }
        let r = match &mut self.sink {
            Sink::Spool { spool, .. } => at_start(spool, bytes),
            Sink::File { tmp, .. } => at_start(tmp, bytes),
        };
        r.map_err(|e| annotate(&self.label, e))
    }

    /// Shows the output: copies the spool out, or renames the temporary file into place.
    pub fn commit(self) -> Result<()> {
        let label = self.label;
        let fail = |e: io::Error| annotate(&label, e);
        match self.sink {
            Sink::Spool { spool, special } => {
                let mut spool = spool.into_inner().map_err(|e| fail(e.into_error()))?;
                spool.seek(SeekFrom::Start(0)).map_err(fail)?;
                match special {
                    None => {
                        let mut out = io::stdout().lock();
                        io::copy(&mut spool, &mut out).map_err(fail)?;
                        out.flush().map_err(fail)?;
                    }
                    Some(path) => {
                        let mut out = OpenOptions::new().write(true).open(&path).map_err(fail)?;
                        io::copy(&mut spool, &mut out).map_err(fail)?;
                        out.flush().map_err(fail)?;
                    }
                }
            }
            Sink::File { tmp, path } => {
                let tmp = tmp.into_inner().map_err(|e| fail(e.into_error()))?;
                tmp.persist(&path).map_err(fail)?;
            }
        }
        Ok(())
    }
}

impl Write for Destination {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let r = match &mut self.sink {
            Sink::Spool { spool, .. } => spool.write(buf),
            Sink::File { tmp, .. } => tmp.write(buf),
        };
        r.map_err(|e| annotate(&self.label, e))
    }

    fn flush(&mut self) -> io::Result<()> {
        let r = match &mut self.sink {
            Sink::Spool { spool, .. } => spool.flush(),
            Sink::File { tmp, .. } => tmp.flush(),
        };
        r.map_err(|e| annotate(&self.label, e))
    }
}

fn spool() -> BufWriter<SpooledTempFile> {
    BufWriter::new(SpooledTempFile::new(SPOOL_IN_MEMORY))
}

/// Names the output in an I/O error and keeps its kind, so a closed stdout is still recognised
/// as a broken pipe.
fn annotate(label: &str, e: io::Error) -> io::Error {
    io::Error::new(
        e.kind(),
        format!("{label}: cannot write: {}", io_reason(&e)),
    )
}

/// Temporary files that exist now; the signal thread deletes them. Every change to the set and
/// every creation, deletion or rename of such a file happens under this lock, so the signal
/// thread never misses a file nor deletes one that has become the output.
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn pending() -> MutexGuard<'static, Vec<PathBuf>> {
    PENDING.lock().unwrap_or_else(|e| e.into_inner())
}

/// A temporary output file, registered for deletion on SIGINT, SIGTERM and SIGHUP.
struct PendingFile {
    file: Option<NamedTempFile>,
}

impl PendingFile {
    fn create(dir: &Path) -> io::Result<PendingFile> {
        watch_signals();
        let mut list = pending();
        let file = tempfile::Builder::new()
            .prefix(".huber-")
            .suffix(".tmp")
            .permissions(Permissions::from_mode(0o666))
            .tempfile_in(dir)?;
        list.push(file.path().to_path_buf());
        Ok(PendingFile { file: Some(file) })
    }

    fn file(&self) -> &NamedTempFile {
        self.file
            .as_ref()
            .expect("present until persisted or dropped")
    }

    fn file_mut(&mut self) -> &mut NamedTempFile {
        self.file
            .as_mut()
            .expect("present until persisted or dropped")
    }

    /// Flushes to disk and renames over `path`.
    fn persist(mut self, path: &Path) -> io::Result<()> {
        let mut list = pending();
        let file = self
            .file
            .take()
            .expect("present until persisted or dropped");
        let tmp_path = file.path().to_path_buf();
        list.retain(|p| *p != tmp_path);
        // On failure the returned file is dropped here, which deletes it.
        file.persist(path).map_err(|e| e.error)?;
        Ok(())
    }
}

impl Write for PendingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file_mut().write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file_mut().flush()
    }
}

impl Seek for PendingFile {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.file_mut().seek(pos)
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        if let Some(file) = self.file.take() {
            let mut list = pending();
            let tmp_path = file.path().to_path_buf();
            drop(file);
            list.retain(|p| *p != tmp_path);
        }
    }
}

/// Starts, once, a thread that on SIGINT, SIGTERM or SIGHUP deletes the pending temporary files
/// and then lets the signal take its default course (the process dies of it, so the shell sees
/// 130, 143 or 129 and a script loop stops as it would for any other tool).
///
/// The signal-hook crate is used because the work cannot be done in a signal handler: deleting
/// files needs the lock above and allocation. Its iterator delivers signals to an ordinary
/// thread through a self-pipe, and `emulate_default_handler` re-raises with the default action.
fn watch_signals() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
            return;
        };
        std::thread::spawn(move || {
            if let Some(sig) = signals.forever().next() {
                let list = pending();
                for p in list.iter() {
                    let _ = fs::remove_file(p);
                }
                let _ = signal_hook::low_level::emulate_default_handler(sig);
                std::process::exit(128 + sig);
            }
        });
    });
}

#[cfg(test)]
mod tests;
