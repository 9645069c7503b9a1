//! Runs the built `huber` binary in a scratch directory.

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A scratch directory that the command runs in; removed when dropped.
pub struct Dir {
    tmp: tempfile::TempDir,
}

/// What a run of the binary left behind.
#[derive(Debug)]
pub struct Output {
    /// The exit status; `None` if a signal ended the process.
    pub status: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Output {
    /// stdout as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Panics with the command's stderr unless it succeeded.
    pub fn ok(self, what: &str) -> Self {
        assert_eq!(self.status, Some(0), "{what}: {}", self.stderr);
        self
    }
}

impl Dir {
    pub fn new() -> Dir {
        Dir {
            tmp: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    /// A path inside the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// Writes a file into the directory and returns its path.
    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).expect("writing a test file");
        path
    }

    /// Reads a file of the directory.
    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap_or_else(|e| panic!("reading {name}: {e}"))
    }

    /// Runs `huber ARGS` here, with `stdin` (or nothing) as its standard input.
    pub fn run<I, S>(&self, args: I, stdin: Option<&[u8]>) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut child = Command::new(env!("CARGO_BIN_EXE_huber"))
            .args(args)
            .current_dir(self.tmp.path())
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting huber");
        let out = std::thread::scope(|s| {
            if let Some(bytes) = stdin {
                let mut pipe = child.stdin.take().expect("stdin");
                // Written beside the reading of the output, so that neither pipe fills up; a child
                // that exits without reading all of it closes the pipe, which is not our concern.
                s.spawn(move || {
                    let _ = pipe.write_all(bytes);
                });
            }
            child.wait_with_output().expect("waiting for huber")
        });
        Output {
            status: out.status.code(),
            stdout: out.stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// A file of the repository, by its path relative to the repository root.
pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}
