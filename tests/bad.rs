//! Hostile input: the broken files and command lines of `fixtures/bad/cases.json`,
//! interrupted and failing writes, and paths as users have them.
//!
//! `fixtures/bad/generate.py` writes the cases; each must fail with its status, one
//! `huber: error:` line holding its words, nothing on stdout, an existing `--output` untouched
//! and no temporary file left, in well under a second and 64 MiB of address space.

use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileTypeExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::util;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_huber");

fn bad_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/bad")
}

struct Case {
    name: String,
    args: Vec<String>,
    stdin: Option<String>,
    status: i32,
    words: Vec<String>,
}

fn cases() -> Vec<Case> {
    let text = fs::read_to_string(bad_dir().join("cases.json")).unwrap();
    let json: Value = serde_json::from_str(&text).unwrap();
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    json.as_array()
        .unwrap()
        .iter()
        .map(|c| Case {
            name: c["name"].as_str().unwrap().to_string(),
            args: strings(&c["args"]),
            stdin: c["stdin"].as_str().map(str::to_string),
            status: c["status"].as_i64().unwrap() as i32,
            words: strings(&c["stderr"]),
        })
        .collect()
}

/// Runs the binary in `fixtures/bad/files` with `pre` before the case's arguments.
fn run_case(case: &Case, pre: &[&OsStr]) -> (Output, Duration) {
    let files = bad_dir().join("files");
    let stdin = match &case.stdin {
        Some(f) => Stdio::from(fs::File::open(files.join(f)).unwrap()),
        None => Stdio::null(),
    };
    let start = Instant::now();
    // Under a 64 MiB address-space limit, so that an allocation bomb aborts the run instead of
    // passing slowly.
    let out = limited()
        .args(pre)
        .args(&case.args)
        .current_dir(&files)
        .stdin(stdin)
        .output()
        .unwrap();
    (out, start.elapsed())
}

/// What is wrong with one run of a case, if anything.
fn check(case: &Case, out: &Output, took: Duration) -> Option<String> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let first = stderr.lines().next().unwrap_or("");
    let lower = first.to_lowercase();
    let mut wrong = Vec::new();
    if out.status.code() != Some(case.status) {
        wrong.push(format!("status {:?}, want {}", out.status, case.status));
    }
    if !out.stdout.is_empty() {
        wrong.push(format!(
            "stdout not empty: {:?}",
            String::from_utf8_lossy(&out.stdout)
        ));
    }
    if !first.starts_with("huber: error: ") {
        wrong.push("stderr does not start with 'huber: error: '".to_string());
    }
    // A usage error may add clap's "Try 'huber --help'" hint; a data error is one line.
    let lines = stderr.lines().count();
    if lines != 1 && !(case.status == 2 && lines == 2 && stderr.contains("--help")) {
        wrong.push(format!("{lines} lines on stderr"));
    }
    for w in &case.words {
        if !lower.contains(&w.to_lowercase()) {
            wrong.push(format!("message lacks '{w}'"));
        }
    }
    if took > Duration::from_secs(1) {
        wrong.push(format!("took {took:?}"));
    }
    (!wrong.is_empty())
        .then(|| format!("{}: {}\n    stderr: {stderr}", case.name, wrong.join("; ")))
}

/// Runs a case plainly, then again with `-o` naming an existing file, which must stay as it was
/// with nothing beside it.
fn failures(cases: &[Case]) -> Vec<String> {
    let mut failed = Vec::new();
    for case in cases {
        let (out, took) = run_case(case, &[]);
        if let Some(f) = check(case, &out, took) {
            failed.push(f);
            continue;
        }
        if case
            .args
            .iter()
            .any(|a| a == "-o" || a.starts_with("--output"))
        {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("out.json");
        fs::write(&old, "old\n").unwrap();
        let (out, took) = run_case(case, &[OsStr::new("-o"), old.as_os_str()]);
        if let Some(f) = check(case, &out, took) {
            failed.push(format!("with -o: {f}"));
        }
        if fs::read_to_string(&old).unwrap() != "old\n" {
            failed.push(format!("{}: the -o file was changed", case.name));
        }
        if fs::read_dir(dir.path()).unwrap().count() != 1 {
            failed.push(format!("{}: a file was left beside the -o file", case.name));
        }
    }
    failed
}

#[test]
fn broken_files_and_command_lines_fail_cleanly() {
    let all = cases();
    assert!(all.len() >= 60, "only {} cases", all.len());
    let failed = failures(&all);
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

/// An NPY file of float64 values (format 1.0, header padded to 64 bytes).
fn npy(values: &[f64]) -> Vec<u8> {
    let dict = format!(
        "{{'descr': '<f8', 'fortran_order': False, 'shape': ({},), }}",
        values.len()
    );
    npy_header_only(&dict, values.iter().flat_map(|v| v.to_le_bytes()).collect())
}

fn npy_header_only(dict: &str, data: Vec<u8>) -> Vec<u8> {
    let total = (10 + dict.len() + 1).div_ceil(64) * 64;
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&((total - 10) as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.resize(total - 1, b' ');
    out.push(b'\n');
    out.extend(data);
    out
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Starts a run whose pred comes from a pipe that delivers a header and then nothing, so the run
/// waits mid-way with its temporary output file open; sends `signal` once that file exists.
fn interrupt(signal: &str, code: i32) {
    let dir = tempfile::tempdir().unwrap();
    let n = 100_000;
    let target = dir.path().join("target.npy");
    fs::write(&target, npy(&vec![0.0; n])).unwrap();
    let out_dir = dir.path().join("out");
    fs::create_dir(&out_dir).unwrap();
    let out = out_dir.join("loss.txt");
    fs::write(&out, "old\n").unwrap();
    let mut child = Command::new(BIN)
        .args([OsStr::new("-p"), OsStr::new("-"), OsStr::new("-t")])
        .arg(&target)
        .args([OsStr::new("-r"), OsStr::new("none"), OsStr::new("-o")])
        .arg(&out)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let header = npy(&vec![1.0; n]);
    stdin.write_all(&header[..128 + 800]).unwrap();
    stdin.flush().unwrap();
    let start = Instant::now();
    while names_in(&out_dir).len() < 2 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no temporary file appeared"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let killed = Command::new("kill")
        .args([format!("-{signal}"), child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    drop(stdin);
    assert!(
        status.signal() == Some(code - 128) || status.code() == Some(code),
        "{signal}: {status:?}"
    );
    assert_eq!(names_in(&out_dir), ["loss.txt"], "{signal}");
    assert_eq!(fs::read_to_string(&out).unwrap(), "old\n");
}

#[test]
fn sigint_leaves_the_old_output_and_no_temporary_file() {
    interrupt("INT", 130);
}

#[test]
fn sigterm_leaves_the_old_output_and_no_temporary_file() {
    interrupt("TERM", 143);
}

fn two_files(dir: &Path) -> (PathBuf, PathBuf) {
    let p = dir.join("p.npy");
    let t = dir.join("t.npy");
    fs::write(&p, npy(&[0.5, -1.0, 2.0])).unwrap();
    fs::write(&t, npy(&[0.0, 0.0, 0.0])).unwrap();
    (p, t)
}

#[test]
fn a_full_disk_is_a_clean_error() {
    let dir = tempfile::tempdir().unwrap();
    let (p, t) = two_files(dir.path());
    // A copy of /dev/full's node in a temporary folder: were the output renamed over it, only
    // this copy would be lost.
    let full = dir.path().join("full");
    let made = Command::new("mknod")
        .arg(&full)
        .args(["c", "1", "7"])
        .status()
        .is_ok_and(|s| s.success());
    if made {
        let out = Command::new(BIN)
            .arg("-p")
            .arg(&p)
            .arg("-t")
            .arg(&t)
            .arg("-o")
            .arg(&full)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.starts_with("huber: error: "), "{stderr}");
        assert!(stderr.contains("No space left on device"), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(fs::metadata(&full).unwrap().file_type().is_char_device());
        assert_eq!(names_in(dir.path()), ["full", "p.npy", "t.npy"]);
    } else {
        eprintln!("mknod is not permitted here: -o to a full device not tested");
    }
    let Ok(dev_full) = fs::OpenOptions::new().write(true).open("/dev/full") else {
        return;
    };
    let out = Command::new(BIN)
        .arg("-p")
        .arg(&p)
        .arg("-t")
        .arg(&t)
        .stdout(dev_full)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("huber: error: standard output"),
        "{stderr}"
    );
    assert!(stderr.contains("No space left on device"), "{stderr}");
}

#[test]
fn a_closed_stdout_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let (p, t) = two_files(dir.path());
    let mut child = Command::new(BIN)
        .arg("-p")
        .arg(&p)
        .arg("-t")
        .arg(&t)
        .args(["-r", "none"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn huber(dir: &Path, args: &[&OsStr], stdin: Option<&Path>) -> Output {
    let stdin = match stdin {
        Some(f) => Stdio::from(fs::File::open(f).unwrap()),
        None => Stdio::null(),
    };
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .stdin(stdin)
        .output()
        .unwrap()
}

/// Two NPY files `p.npy` and `t.npy` in `d`, and huber's output for them by plain names.
fn two_files_and_expected(d: &Path) -> (PathBuf, PathBuf, String) {
    let (p, t) = two_files(d);
    let os = OsStr::new;
    let expected = huber(d, &[os("-p"), os("p.npy"), os("-t"), os("t.npy")], None);
    assert_eq!(expected.status.code(), Some(0));
    let expected = String::from_utf8(expected.stdout).unwrap();
    assert_eq!(expected, "0.7083333333333334\n");
    (p, t, expected)
}

/// Input paths with spaces, colons, non-UTF-8 bytes, a symlink, a file named `-`, and stdin
/// (NPY and CSV) all give the same output as plain names.
#[test]
fn input_paths_as_users_have_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (p, _, expected) = two_files_and_expected(d);
    let os = OsStr::new;
    let latin1 = OsStr::from_bytes(b"caf\xe9 p.npy");
    for name in [os("with space.npy"), os("a:b.npy"), os("-"), latin1] {
        fs::copy(&p, d.join(name)).unwrap();
    }
    std::os::unix::fs::symlink(&p, d.join("link.npy")).unwrap();
    let mut csv = "pred,target\n".to_string();
    csv.push_str("0.5,0\n-1,0\n2,0\n");
    fs::write(d.join("x:y.csv"), csv).unwrap();

    let dash = d.join("-");
    let table = d.join("x:y.csv");
    let runs: Vec<(Vec<&OsStr>, Option<&Path>)> = vec![
        (
            vec![os("-p"), os("with space.npy"), os("-t"), os("t.npy")],
            None,
        ),
        (vec![os("-p"), os("a:b.npy"), os("-t"), os("t.npy")], None),
        (vec![os("-p"), latin1, os("-t"), os("t.npy")], None),
        (vec![os("-p"), os("link.npy"), os("-t"), os("t.npy")], None),
        (vec![os("-p"), os("./-"), os("-t"), os("t.npy")], None),
        (vec![os("-p"), os("-"), os("-t"), os("t.npy")], Some(&p)),
        (vec![os("--pred=-"), os("-t"), os("t.npy")], Some(&dash)),
        (
            vec![os("-p"), os("x:y.csv:pred"), os("-t"), os("x:y.csv:target")],
            None,
        ),
        (
            vec![os("-p"), os("x:y.csv:1"), os("-t"), os("x:y.csv:2")],
            None,
        ),
        (
            vec![os("--pred=-:pred"), os("--target=-:target")],
            Some(&table),
        ),
    ];
    for (args, stdin) in runs {
        let out = huber(d, &args, stdin);
        assert_eq!(
            (out.status.code(), String::from_utf8_lossy(&out.stdout)),
            (Some(0), expected.as_str().into()),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A missing file is named as given, non-UTF-8 bytes shown lossily.
#[test]
fn missing_non_utf8_path_is_named_lossily() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    two_files_and_expected(d);
    let os = OsStr::new;
    let out = huber(
        d,
        &[
            os("-p"),
            OsStr::from_bytes(b"no\xff.npy"),
            os("-t"),
            os("t.npy"),
        ],
        None,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no\u{fffd}.npy: cannot open"), "{stderr}");
}

/// Output paths: spaces, non-UTF-8 bytes, and a symlink that stays a link while its target
/// gets the output.
#[test]
fn output_paths_as_users_have_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (p, t, expected) = two_files_and_expected(d);
    let os = OsStr::new;
    let target_file = d.join("real out.txt");
    fs::write(&target_file, "old\n").unwrap();
    std::os::unix::fs::symlink(&target_file, d.join("out link.txt")).unwrap();
    for out_name in [
        os("out with space.txt"),
        OsStr::from_bytes(b"out\xe9.txt"),
        os("out link.txt"),
    ] {
        let out = huber(
            d,
            &[
                os("-p"),
                p.as_os_str(),
                os("-t"),
                t.as_os_str(),
                os("-o"),
                out_name,
            ],
            None,
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(fs::read_to_string(d.join(out_name)).unwrap(), expected);
    }
    assert!(
        fs::symlink_metadata(d.join("out link.txt"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(fs::read_to_string(&target_file).unwrap(), expected);
}

#[test]
fn stdin_that_is_a_terminal_gets_a_hint_not_a_hang() {
    // `script` (util-linux) runs the command on a pseudo-terminal.
    let dir = tempfile::tempdir().unwrap();
    let (_, t) = two_files(dir.path());
    let cmd = format!("{BIN} -p - -t '{}'", t.display());
    let Ok(mut child) = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        eprintln!("no `script` here: the terminal case is not tested");
        return;
    };
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("huber waited on a terminal");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("huber: error: "), "{text}");
    assert!(text.contains("terminal"), "{text}");
    assert_eq!(out.status.code(), Some(2), "{text}");
}

/// The huber binary, run under a 64 MiB address-space limit (`ulimit -v`).
fn limited() -> Command {
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "ulimit -v 65536 && exec \"$0\" \"$@\"", BIN]);
    cmd
}

/// Runs `huber -p ARG -t ARG` in `dir` under the 64 MiB address-space limit.
fn huber_limited(dir: &Path, arg: &str) -> (Output, Duration) {
    let start = Instant::now();
    let out = limited()
        .args(["-p", arg, "-t", arg])
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (out, start.elapsed())
}

/// Over-long CSV input: a line longer than 1 MiB is refused as soon as that much has
/// been read, and messages stay one short line however wide the table is.
#[test]
fn over_long_csv_lines_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut late = "1\n".repeat(1000);
    late.push_str(&"2".repeat(2 << 20));
    late.push('\n');
    let cases = [
        ("digits.csv", "1".repeat(8 << 20), "line 1"),
        ("fields.csv", "1,".repeat(2 << 20) + "1\n", "line 1"),
        (
            "quote.csv",
            format!("1\n\"{}", "1".repeat(8 << 20)),
            "line 2",
        ),
        ("late.csv", late, "line 1001"),
    ];
    for (name, text, line) in cases {
        fs::write(d.join(name), text).unwrap();
        let (out, took) = huber_limited(d, name);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        assert!(out.stdout.is_empty(), "{name}");
        assert_eq!(stderr.lines().count(), 1, "{name}: {stderr}");
        for w in [name, line, "longer than"] {
            assert!(stderr.contains(w), "{name}: lacks '{w}': {stderr}");
        }
        assert!(took < Duration::from_secs(1), "{name}: {took:?}");
    }
    // A wide header: a missing KEY lists some of the names, not all 100 000.
    let names: Vec<String> = (0..100_000).map(|i| format!("c{i}")).collect();
    let ones = vec!["1"; names.len()];
    fs::write(
        d.join("wide.csv"),
        format!("{}\n{}\n", names.join(","), ones.join(",")),
    )
    .unwrap();
    let (out, _) = huber_limited(d, "wide.csv:nope");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no column named 'nope'"), "{stderr}");
    assert!(stderr.len() < 1000, "{} bytes of message", stderr.len());
    // A long non-numeric field is clipped in the message.
    fs::write(d.join("word.csv"), format!("1\n{}\n", "x".repeat(500_000))).unwrap();
    let (out, _) = huber_limited(d, "word.csv");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not a number") && stderr.len() < 1000,
        "{stderr}"
    );
}

/// An NPY file of `values` as float16, float32 or float64 (`size` bytes each, little-endian).
fn npy_sized(values: &[f64], size: usize) -> Vec<u8> {
    let descr = format!("<f{size}");
    let dict = format!(
        "{{'descr': '{descr}', 'fortran_order': False, 'shape': ({},), }}",
        values.len()
    );
    let data = values
        .iter()
        .flat_map(|&v| match size {
            2 => half::f16::from_f64(v).to_le_bytes().to_vec(),
            4 => (v as f32).to_le_bytes().to_vec(),
            _ => v.to_le_bytes().to_vec(),
        })
        .collect();
    npy_header_only(&dict, data)
}

/// Runs `huber ARGS` in `dir` and returns its stdout, failing on a non-zero status.
fn ok(dir: &Path, args: &[&str]) -> String {
    let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
    let out = huber(dir, &args, None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A merge of shards gives the bits of one run over all the data, for every dtype, loss and
/// reduction, at random cut points; also when the float64 sum overflows.
#[test]
fn merged_shards_equal_one_run_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for trial in 0..24 {
        let n = 200 + (next() % 3000) as usize;
        let scale = if trial % 6 == 0 { 1e149 } else { 1.0 };
        let pred: Vec<f64> = (0..n)
            .map(|_| {
                let m = (next() >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                let e = (next() % 12) as i32 - 6;
                m * 10f64.powi(e) * scale
            })
            .collect();
        let size = [8, 4, 2][trial % 3];
        let (loss, red) = [
            ("mse", "mean"),
            ("huber", "sum"),
            ("l1", "mean"),
            ("smooth-l1", "mean"),
        ][trial % 4];
        let cuts = {
            let mut c: Vec<usize> = (0..3).map(|_| 1 + (next() as usize) % (n - 1)).collect();
            c.push(0);
            c.push(n);
            c.sort();
            c
        };
        fs::write(d.join("p.npy"), npy_sized(&pred, size)).unwrap();
        fs::write(d.join("t.npy"), npy_sized(&vec![0.0; n], size)).unwrap();
        let base = ["-l", loss, "-r", red, "-f", "json"];
        let whole = ok(d, &[&["-p", "p.npy", "-t", "t.npy"][..], &base].concat());
        let mut shards = Vec::new();
        for (i, w) in cuts.windows(2).enumerate() {
            let (p, t, o) = (
                format!("p{i}.npy"),
                format!("t{i}.npy"),
                format!("s{i}.json"),
            );
            fs::write(d.join(&p), npy_sized(&pred[w[0]..w[1]], size)).unwrap();
            fs::write(d.join(&t), npy_sized(&vec![0.0; w[1] - w[0]], size)).unwrap();
            ok(d, &[&["-p", &p, "-t", &t, "-o", &o][..], &base].concat());
            shards.push(o);
        }
        let mut args = vec!["merge", "-f", "json"];
        args.extend(shards.iter().map(String::as_str));
        let merged: Value = serde_json::from_str(&ok(d, &args)).unwrap();
        let whole: Value = serde_json::from_str(&whole).unwrap();
        // float32 and float16 chunks are summed in plain float64 lanes (far below their ulp, and
        // fast): their float64 `sum` may differ in its last bits; their value does not.
        let fields: &[&str] = if size == 8 {
            &["value", "sum"]
        } else {
            &["value"]
        };
        for field in fields
            .iter()
            .chain(&["count", "linear_fraction", "dtype", "shape"])
        {
            assert_eq!(
                merged.get(*field),
                whole.get(*field),
                "trial {trial} ({loss} {red} f{size}, cuts {cuts:?}): {field}: {merged} vs {whole}"
            );
        }
        if scale > 1.0 && size == 8 && loss == "mse" {
            assert_eq!(whole["sum"], "Infinity", "{whole}");
        }
    }
}

/// `-w -:KEY` reads a weight column from stdin as `-p -:KEY` does.
#[test]
fn weights_from_a_stdin_column() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(
        d.join("data.csv"),
        "pred,target,w\n0.5,0,2\n-1,0,2\n2,0,2\n",
    )
    .unwrap();
    let os = OsStr::new;
    let out = huber(
        d,
        &[
            os("-p"),
            os("-:pred"),
            os("-t"),
            os("-:target"),
            os("-w"),
            os("-:w"),
        ],
        Some(&d.join("data.csv")),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1.4166666666666667\n");
}

/// `-o` through a dangling symlink creates the link's target and keeps the link; a chain of
/// links and a relative target are followed the same way.
#[test]
fn output_through_a_dangling_symlink_creates_its_target() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (p, t) = two_files(d);
    fs::create_dir(d.join("sub")).unwrap();
    std::os::unix::fs::symlink("sub/result.txt", d.join("link")).unwrap();
    std::os::unix::fs::symlink("link", d.join("link2")).unwrap();
    for name in ["link", "link2"] {
        let _ = fs::remove_file(d.join("sub/result.txt"));
        let out = huber(
            d,
            &[
                OsStr::new("-p"),
                p.as_os_str(),
                OsStr::new("-t"),
                t.as_os_str(),
                OsStr::new("-o"),
                OsStr::new(name),
            ],
            None,
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for link in ["link", "link2"] {
            let m = fs::symlink_metadata(d.join(link)).unwrap();
            assert!(
                m.file_type().is_symlink(),
                "{name}: {link} is no longer a link"
            );
        }
        assert_eq!(
            fs::read_to_string(d.join("sub/result.txt")).unwrap(),
            "0.7083333333333334\n"
        );
    }
}

/// `--threads` beyond the cap is a usage error; threads that cannot start (here: too little
/// address space for their stacks) give one clean line.
#[test]
fn threads_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    two_files(d);
    let out = limited()
        .args(["-p", "p.npy", "-t", "t.npy", "-j", "1000"])
        .current_dir(d)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("huber: error: cannot start 1000 worker threads: "),
        "{stderr}"
    );
    assert!(!stderr.contains("os error"), "{stderr}");
}

/// A plot for any δ stays small, and a run that fails after drawing it leaves no picture.
#[test]
fn plots_are_bounded_and_written_only_on_success() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    two_files(d);
    for delta in ["1e308", "0.5,1e300", "1e-300"] {
        let out = limited()
            .args(["-p", "p.npy", "-t", "t.npy", "-d", delta, "--plot", "x.svg"])
            .current_dir(d)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{delta}: {stderr}");
        let svg = fs::read_to_string(d.join("x.svg")).unwrap();
        assert!(svg.len() < 64 << 10, "{delta}: {} bytes", svg.len());
        fs::remove_file(d.join("x.svg")).unwrap();
    }
    let Ok(full) = fs::OpenOptions::new().write(true).open("/dev/full") else {
        return;
    };
    let out = Command::new(BIN)
        .args(["-p", "p.npy", "-t", "t.npy", "--plot", "y.svg"])
        .current_dir(d)
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(names_in(d), ["p.npy", "t.npy"]);
    // The sibling: a plot that fails to be written (to a full device) leaves stdout empty.
    let out = Command::new(BIN)
        .args(["-p", "p.npy", "-t", "t.npy", "--plot", "/dev/full"])
        .current_dir(d)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    assert_eq!(names_in(d), ["p.npy", "t.npy"]);
}

/// A path that is a pipe reads like `-`: `/dev/stdin` on a pipe, a named FIFO, bash's `<(…)`;
/// NPY, NPZ and CSV, with and without KEY, and for runs that read their inputs twice.
#[test]
fn pipes_named_by_path_read_like_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    two_files(d);
    fs::write(d.join("data.csv"), "pred,target\n0.5,0\n-1,0\n2,0\n").unwrap();
    let expected = "0.7083333333333334\n";
    let bash = |script: &str| {
        Command::new("bash")
            .args(["-c", script, BIN])
            .current_dir(d)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    for script in [
        "cat p.npy | \"$0\" -p /dev/stdin -t t.npy",
        "\"$0\" -p <(cat p.npy) -t <(cat t.npy)",
        "\"$0\" -p <(cat data.csv):pred -t data.csv:target",
        "cat data.csv | \"$0\" -p /dev/stdin:pred -t /dev/stdin:target",
        "mkfifo fifo && { cat p.npy > fifo & } && \"$0\" -p fifo -t t.npy; rm -f fifo",
        "mkfifo fifo && { cat data.csv > fifo & } && \"$0\" -p fifo:pred -t fifo:target; rm -f fifo",
        // Read twice: the count of kept elements first, then the gradient.
        "\"$0\" -p <(cat p.npy) -t <(cat t.npy) --nan omit --grad -f json | grep -q 0.16666666666666666 && cat p.npy | \"$0\" -p /dev/stdin -t t.npy",
    ] {
        let out = bash(script);
        assert_eq!(
            (out.status.code(), String::from_utf8_lossy(&out.stdout)),
            (Some(0), expected.into()),
            "{script}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A CSV table piped in is parsed as it arrives when a reduction needs its rows only at the
/// end: a stream larger than the 64 MiB address-space limit still gives its mean, where holding
/// it (as a run that counts rows first must) would not fit.
#[test]
fn a_piped_csv_reduction_streams_in_bounded_memory() {
    let row = format!("1.5,2.5,{}\n", "x".repeat(64));
    let rows = (80 << 20) / row.len();
    let mut child = limited()
        .args(["-p", "-:1", "-t", "-:2", "-f", "json", "--no-header"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        let block = row.repeat(rows / 64);
        for _ in 0..64 {
            if pipe.write_all(block.as_bytes()).is_err() {
                return;
            }
        }
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let record: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(record["count"], (rows / 64 * 64) as u64);
    assert_eq!(record["value"], 0.5);
}

/// An endless device as an input (a path to it, a link to it named like a data file, or
/// standard input) fails at once with one line, under the 64 MiB address-space limit, instead of
/// being held whole: a device other than `/dev/null` is refused before it is read (`/dev/urandom`
/// holds line ends, so no record limit would stop it).
#[test]
fn endless_devices_fail_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("ok.csv"), "pred,target\n1,2\n3,4\n").unwrap();
    std::os::unix::fs::symlink("/dev/zero", d.join("zeros.npy")).unwrap();
    std::os::unix::fs::symlink("/dev/urandom", d.join("zeros.csv")).unwrap();
    let runs: [&[&str]; 7] = [
        &["-p", "/dev/zero", "-t", "ok.csv:target"],
        &["-p", "/dev/urandom", "-t", "ok.csv:target"],
        &[
            "-p",
            "ok.csv:pred",
            "-t",
            "ok.csv:target",
            "--by",
            "/dev/urandom",
        ],
        &[
            "-p",
            "ok.csv:pred",
            "-t",
            "ok.csv:target",
            "-w",
            "/dev/zero",
        ],
        &[
            "-p",
            "ok.csv:pred",
            "-t",
            "ok.csv:target",
            "--by",
            "/dev/zero",
        ],
        &["-p", "zeros.npy", "-t", "ok.csv:target"],
        &["-p", "zeros.csv:1", "-t", "ok.csv:target"],
    ];
    for args in runs {
        let start = Instant::now();
        let out = limited()
            .args(args)
            .current_dir(d)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {text}");
        assert!(
            text.contains("is a device, not a data file"),
            "{args:?}: {text}"
        );
        assert_eq!(text.lines().count(), 1, "{args:?}: {text}");
        assert!(start.elapsed() < Duration::from_secs(1), "{args:?}");
    }
    for (device, input) in [("/dev/urandom", "-:p"), ("/dev/zero", "-")] {
        let out = limited()
            .args(["-p", input, "-t", "ok.csv:target"])
            .current_dir(d)
            .stdin(std::fs::File::open(device).unwrap())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{device}: {text}");
        assert!(text.contains("<stdin>"), "{device}: {text}");
        assert!(text.contains("is a device, not a data file"), "{text}");
    }
    // /dev/null is a device too, and reads as empty.
    let out = limited()
        .args(["-p", "-:p", "-t", "ok.csv:target"])
        .current_dir(d)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("empty"));
}

/// An endless CSV stream whose first record lacks a column the inputs name fails at once, before
/// anything is held (`yes a | huber -p -:p -t -:t --by -`), whichever of the inputs names it.
#[test]
fn endless_streams_without_the_columns_fail_at_once() {
    let runs: [(&str, &[&str], &str); 3] = [
        (
            "yes a",
            &["-p", "-:p", "-t", "-:t", "--by", "-"],
            "no column named 'p'",
        ),
        (
            "echo p,t; yes 1,0",
            &["-p", "-:p", "-t", "-:x", "--top", "5"],
            "no column named 'x'",
        ),
        (
            "echo p,t; yes 1,0",
            &["-p", "-:p", "-t", "-:t", "--by", "-:k"],
            "no column named 'k'",
        ),
    ];
    for (feed, args, words) in runs {
        let mut feeder = Command::new("sh")
            .args(["-c", feed])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let start = Instant::now();
        let out = limited()
            .args(args)
            .stdin(feeder.stdout.take().unwrap())
            .output()
            .unwrap();
        let elapsed = start.elapsed();
        let _ = feeder.kill();
        let _ = feeder.wait();
        let text = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {text}");
        assert!(text.contains(words), "{args:?}: {text}");
        assert_eq!(text.lines().count(), 1, "{args:?}: {text}");
        assert!(elapsed < Duration::from_secs(1), "{args:?}: {elapsed:?}");
    }
}

/// Keras-shaped predictions `(N, 1)` against targets `(N,)`: refused with a hint that leads to one
/// shape (`--squeeze`), never to `--broadcast` (which would pair all N² combinations); other
/// shapes that differ keep the hint to broadcast.
#[test]
fn same_elements_in_other_shapes_are_not_sent_to_broadcast() {
    let dir = util::Dir::new();
    let data: Vec<u8> = [1.0f64, 2.0, 3.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    dir.write("col.npy", util::npy_bytes("<f8", &[3, 1], &data));
    dir.write("flat.npy", util::npy_bytes("<f8", &[3], &data));
    dir.write("row.npy", util::npy_bytes("<f8", &[1, 3], &data));
    let out = dir.run(["-p", "col.npy", "-t", "flat.npy"], None);
    out.fails(1, &["--squeeze pairs them"], "");
    assert!(!out.stderr.contains("use --broadcast"), "{}", out.stderr);
    let out = dir.run(["-p", "col.npy", "-t", "row.npy"], None);
    assert!(
        out.stderr.contains("--squeeze pairs them"),
        "{}",
        out.stderr
    );
    let other = util::npy_bytes("<f8", &[2], &data[..16]);
    dir.write("two.npy", other);
    let out = dir.run(["-p", "col.npy", "-t", "two.npy"], None);
    assert!(
        out.stderr
            .contains("use --broadcast for NumPy broadcasting"),
        "{}",
        out.stderr
    );
}

/// `--squeeze` pairs `(N, 1)`, `(1, N)` and `(N,)` element by element: the same result as the
/// flat inputs, for every reduction, and `-r none` writes the squeezed shape. `--broadcast` of
/// the same inputs warns that it makes N² elements; one that grows nothing says nothing.
#[test]
fn squeeze_pairs_elements_one_to_one_and_broadcast_warns_when_it_grows() {
    let dir = util::Dir::new();
    let bytes = |v: &[f64]| -> Vec<u8> { v.iter().flat_map(|v| v.to_le_bytes()).collect() };
    let (pred, target) = (bytes(&[1.0, 2.0, 3.0, 7.5]), bytes(&[0.5, 2.0, -1.0, 7.0]));
    dir.write("col.npy", util::npy_bytes("<f8", &[4, 1], &pred));
    dir.write("row.npy", util::npy_bytes("<f8", &[1, 4], &target));
    dir.write("p.npy", util::npy_bytes("<f8", &[4], &pred));
    dir.write("t.npy", util::npy_bytes("<f8", &[4], &target));
    dir.write("w.npy", util::npy_bytes("<f8", &[4, 1, 1], &target));
    dir.write("s.npy", util::npy_bytes("<f8", &[], &pred[..8]));
    let run = |args: &str| dir.run(args.split(' '), None);
    let pairs = [
        ("-p p.npy -t t.npy", "-p col.npy -t row.npy --squeeze"),
        (
            "-p p.npy -t t.npy -w t.npy",
            "-p col.npy -t t.npy -w w.npy --squeeze",
        ),
    ];
    for (flat, squeezed) in pairs {
        let extras = [
            "-r mean",
            "-r sum",
            "-r none",
            "--top 2",
            "-r weighted-mean",
        ];
        for extra in extras {
            if extra == "-r weighted-mean" && !flat.contains("-w") {
                continue;
            }
            let want = run(&format!("{flat} {extra}"));
            let got = run(&format!("{squeezed} {extra}"));
            assert_eq!(want.status, Some(0), "{flat} {extra}: {}", want.stderr);
            assert_eq!(
                got.stdout, want.stdout,
                "{squeezed} {extra}: {}",
                got.stderr
            );
            assert_eq!(got.stderr, "", "{squeezed} {extra}");
        }
    }
    run("-p col.npy -t t.npy --squeeze -r none -o out.npy");
    assert!(dir.read("out.npy").windows(6).any(|w| w == b"(4,), "));
    let grown = run("-p col.npy -t t.npy --broadcast");
    assert_eq!(grown.status, Some(0), "{}", grown.stderr);
    let note = "note: --broadcast pairs inputs of shapes (4, 1), (4,) into (4, 4): 16 elements, \
                more than any input holds (4); if they hold the same elements in the same \
                order, --squeeze pairs them one to one";
    assert!(grown.stderr.contains(note), "{}", grown.stderr);
    assert_eq!(run("-p col.npy -t t.npy --broadcast -q").stderr, "");
    let plain = run("-p p.npy -t s.npy --broadcast");
    assert_eq!(plain.stderr, "", "broadcasting a scalar grows nothing");
}
