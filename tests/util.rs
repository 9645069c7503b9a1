//! Running the built `huber` binary, and reading back what it wrote.

use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use half::f16;
pub use tempfile::TempDir;

/// Longer than any run should take, even a debug build on a loaded machine.
const TIMEOUT: Duration = Duration::from_secs(60);

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    /// Exit status; `None` if killed by a signal.
    pub status: Option<i32>,
    /// Standard output, as bytes.
    pub stdout: Vec<u8>,
    /// Standard error, lossily decoded.
    pub stderr: String,
}

impl Run {
    /// Standard output as text.
    pub fn out(&self) -> String {
        String::from_utf8(self.stdout.clone()).expect("stdout is UTF-8")
    }
}

/// The command, run from the package root so fixture paths in the manifests resolve.
pub fn command<S: AsRef<OsStr>>(args: &[S]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_huber"));
    cmd.args(args).current_dir(root());
    cmd
}

/// Runs `huber ARGS` with `stdin` (empty if `None`).
pub fn huber<S: AsRef<OsStr>>(args: &[S], stdin: Option<&[u8]>) -> Run {
    run(command(args), stdin)
}

/// Runs a prepared command with `stdin` (empty if `None`) and collects its outputs.
pub fn run(mut cmd: Command, stdin: Option<&[u8]>) -> Run {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("the huber binary runs");
    let mut pipe = child.stdin.take().expect("stdin is piped");
    let input = stdin.unwrap_or_default().to_vec();
    // A writer thread, so that a child that stops reading early cannot deadlock the test.
    let feeder = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    // A hung run fails its test instead of hanging the whole suite.
    let pid = child.id();
    let (done, finished) = mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let out = child.wait_with_output();
        let _ = done.send(());
        out
    });
    if finished.recv_timeout(TIMEOUT).is_err() {
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        panic!(
            "huber {:?} did not finish within {TIMEOUT:?}",
            cmd.get_args().collect::<Vec<_>>()
        );
    }
    let out = waiter.join().expect("waiter").expect("wait for huber");
    feeder.join().expect("stdin feeder");
    Run {
        status: out.status.code(),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The package root (where `fixtures/` is).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh temporary directory, removed when dropped.
pub fn temp_dir() -> TempDir {
    tempfile::tempdir().expect("temporary directory")
}

/// Writes `bytes` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, bytes).expect("write test input");
    path
}

/// A float type of a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    /// `float16`.
    F16,
    /// `float32`.
    F32,
    /// `float64`.
    F64,
}

impl Dtype {
    /// From numpy's name (`float32`).
    pub fn from_name(name: &str) -> Dtype {
        match name {
            "float16" => Dtype::F16,
            "float32" => Dtype::F32,
            "float64" => Dtype::F64,
            _ => panic!("unexpected dtype {name}"),
        }
    }

    /// Ulps a reduced result may be off the exact value.
    pub fn tolerance(self) -> u64 {
        match self {
            Dtype::F64 => 2,
            _ => 1,
        }
    }

    /// `x` rounded to this type, widened back.
    pub fn round(self, x: f64) -> f64 {
        match self {
            Dtype::F16 => f64::from(f16::from_f64(x)),
            Dtype::F32 => f64::from(x as f32),
            Dtype::F64 => x,
        }
    }

    /// The bits of `x` rounded to this type.
    pub fn bits(self, x: f64) -> u64 {
        match self {
            Dtype::F16 => u64::from(f16::from_f64(x).to_bits()),
            Dtype::F32 => u64::from((x as f32).to_bits()),
            Dtype::F64 => x.to_bits(),
        }
    }

    /// Parses decimal text to the nearest value of this type. (`f16::from_str` goes through
    /// f32, whose double rounding can miss; through f64 it cannot for the short texts printed.)
    pub fn parse(self, s: &str) -> Option<f64> {
        match self {
            Dtype::F16 => s.parse::<f64>().ok().map(|x| f64::from(f16::from_f64(x))),
            Dtype::F32 => s.parse::<f32>().ok().map(f64::from),
            Dtype::F64 => s.parse::<f64>().ok(),
        }
    }

    /// How many representable values of this type lie between `a` and `b` (both finite, or
    /// the same infinity).
    pub fn ulps(self, a: f64, b: f64) -> u64 {
        let (a, b) = (self.round(a), self.round(b));
        if a == b {
            return 0;
        }
        if a.is_infinite() || b.is_infinite() {
            return u64::MAX;
        }
        let ordered = |x: f64| -> i128 {
            let (bits, sign) = match self {
                Dtype::F16 => (i128::from(f16::from_f64(x).to_bits()), 1i128 << 15),
                Dtype::F32 => (i128::from((x as f32).to_bits()), 1i128 << 31),
                Dtype::F64 => (i128::from(x.to_bits()), 1i128 << 63),
            };
            if bits & sign != 0 {
                -(bits & (sign - 1))
            } else {
                bits
            }
        };
        (ordered(a) - ordered(b)).unsigned_abs() as u64
    }

    /// The fewest significant decimal digits that read back to `x` in this type.
    pub fn shortest_digits(self, x: f64) -> usize {
        (0..17)
            .find(|&p| {
                let text = format!("{x:.p$e}");
                self.parse(&text).map(|y| self.bits(y)) == Some(self.bits(x))
            })
            .expect("17 digits always round-trip")
            + 1
    }
}

/// A float array read from an NPY file by an independent reader (npyz).
#[derive(Debug)]
pub struct Array {
    /// Element type.
    pub dtype: Dtype,
    /// Shape.
    pub shape: Vec<u64>,
    /// Elements in C order, widened to f64 (exactly).
    pub values: Vec<f64>,
}

/// Reads a float NPY array; panics with `what` if it is not one.
pub fn read_npy(bytes: &[u8], what: &str) -> Array {
    let file = npyz::NpyFile::new(bytes).unwrap_or_else(|e| panic!("{what}: not NPY: {e}"));
    assert_eq!(
        file.order(),
        npyz::Order::C,
        "{what}: NPY output in Fortran order"
    );
    let shape = file.shape().to_vec();
    let descr = file.dtype().descr();
    let (dtype, values) = match descr.as_str() {
        "'<f2'" => (Dtype::F16, read_all::<f16>(file, what, f64::from)),
        "'<f4'" => (Dtype::F32, read_all::<f32>(file, what, f64::from)),
        "'<f8'" => (Dtype::F64, read_all::<f64>(file, what, |x| x)),
        other => panic!("{what}: unexpected NPY descr {other}"),
    };
    Array {
        dtype,
        shape,
        values,
    }
}

fn read_all<T: npyz::Deserialize>(
    file: npyz::NpyFile<&[u8]>,
    what: &str,
    widen: fn(T) -> f64,
) -> Vec<f64> {
    file.into_vec::<T>()
        .unwrap_or_else(|e| panic!("{what}: bad NPY data: {e}"))
        .into_iter()
        .map(widen)
        .collect()
}

/// Whether two results are the same value of `dtype`: NaN equals NaN, zeros compare by sign.
pub fn same_bits(dtype: Dtype, a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || (!a.is_nan() && !b.is_nan() && dtype.bits(a) == dtype.bits(b))
}

/// Reads a float from a manifest repr string or a JSON value (`"NaN"`, `"Infinity"`, …).
pub fn number(v: &serde_json::Value) -> f64 {
    match v {
        serde_json::Value::Number(n) => n.as_f64().expect("finite JSON number"),
        serde_json::Value::String(s) => match s.as_str() {
            "NaN" | "nan" => f64::NAN,
            "Infinity" | "inf" => f64::INFINITY,
            "-Infinity" | "-inf" => f64::NEG_INFINITY,
            other => other
                .parse()
                .unwrap_or_else(|_| panic!("not a number: {other}")),
        },
        other => panic!("not a number: {other}"),
    }
}

/// Loads a manifest (a JSON array of cases).
pub fn manifest(path: &str) -> Vec<serde_json::Value> {
    let text = fs::read_to_string(root().join(path)).expect("manifest");
    serde_json::from_str(&text).expect("manifest is JSON")
}

/// What a run in a [`Dir`] left behind.
pub type Output = Run;

impl Run {
    /// Standard output as text, lossily.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Panics with the command's stderr unless it succeeded.
    pub fn ok(self, what: &str) -> Self {
        assert_eq!(self.status, Some(0), "{what}: {}", self.stderr);
        self
    }

    /// Panics unless the run exited with `status` and its stderr holds every one of `texts`;
    /// the message names the case by `what` (if not empty) and shows the status, the missing
    /// text and the whole stderr.
    #[track_caller]
    pub fn fails(&self, status: i32, texts: &[&str], what: &str) -> &Self {
        let case = if what.is_empty() {
            String::new()
        } else {
            format!("{what}: ")
        };
        assert_eq!(
            self.status,
            Some(status),
            "{case}exit status; stderr:\n{}",
            self.stderr
        );
        for text in texts {
            assert!(
                self.stderr.contains(text),
                "{case}stderr lacks {text:?}; status {:?}, stderr:\n{}",
                self.status,
                self.stderr
            );
        }
        self
    }
}

/// A scratch directory that commands run in; removed when dropped.
pub struct Dir {
    tmp: TempDir,
}

impl Dir {
    pub fn new() -> Dir {
        Dir { tmp: temp_dir() }
    }

    /// A path inside the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// Writes a file into the directory and returns its path.
    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        write(self.tmp.path(), name, bytes)
    }

    /// Reads a file of the directory.
    pub fn read(&self, name: &str) -> Vec<u8> {
        fs::read(self.path(name)).unwrap_or_else(|e| panic!("reading {name}: {e}"))
    }

    /// Runs `huber ARGS` in the directory, with `stdin` (empty if `None`).
    pub fn run<I, S>(&self, args: I, stdin: Option<&[u8]>) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_huber"));
        cmd.args(args).current_dir(self.tmp.path());
        run(cmd, stdin)
    }
}

/// A file of the repository, by its path relative to the repository root.
pub fn repo_path(rel: &str) -> PathBuf {
    root().join(rel)
}

/// An NPY (version 1, C order) file of `shape` with dtype `descr` (`<f4`, `<f8`, `<i8`, …) and
/// `data`, its elements' little-endian bytes.
pub fn npy_bytes(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| format!("{d},")).collect();
    let mut header = format!(
        "{{'descr': '{descr}', 'fortran_order': False, 'shape': ({}), }}",
        dims.join(" ")
    );
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}
