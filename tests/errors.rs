//! Exit statuses and messages: every bad command line exits 2 and every bad input 1, with one `huber: error:` line
//! that names the problem, nothing on stdout, and no output file created or changed.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::util::{self, Run, huber, write};

/// An NPY version 1.0 file with the given header fields, padded as numpy pads, then `data`.
fn npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let mut header =
        format!("{{'descr': {descr}, 'fortran_order': False, 'shape': {shape}, }}").into_bytes();
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(b' ');
    }
    header.push(b'\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&u16::try_from(header.len()).unwrap().to_le_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(data);
    out
}

/// A float64 NPY file holding `values`.
fn npy_f64(values: &[f64]) -> Vec<u8> {
    let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    npy("'<f8'", &format!("({},)", values.len()), &data)
}

/// One failing invocation and what its message must mention (case-insensitive).
struct Case {
    name: &'static str,
    args: Vec<String>,
    stdin: Option<Vec<u8>>,
    status: i32,
    mentions: Vec<String>,
}

impl Case {
    fn new(name: &'static str, status: i32, args: &[&str], mentions: &[&str]) -> Case {
        Case {
            name,
            args: args.iter().map(|a| a.to_string()).collect(),
            stdin: None,
            status,
            mentions: mentions.iter().map(|m| m.to_lowercase()).collect(),
        }
    }

    fn stdin(mut self, bytes: &[u8]) -> Case {
        self.stdin = Some(bytes.to_vec());
        self
    }

    fn run(&self, extra: &[&str]) -> Run {
        let mut args = self.args.clone();
        args.extend(extra.iter().map(|a| a.to_string()));
        huber(&args, self.stdin.as_deref())
    }

    /// Runs the case to stdout, over an existing `-o` file and towards a new `-o` file.
    fn check(&self) -> Result<(), String> {
        let name = self.name;
        let plain = self.run(&[]);
        self.check_run(&plain, "")?;

        let dir = util::temp_dir();
        let existing = write(dir.path(), "result.txt", "an earlier result\n");
        let over = self.run(&["-o", existing.to_str().unwrap()]);
        self.check_run(&over, " (with -o over an existing file)")?;
        if fs::read(&existing).unwrap() != b"an earlier result\n" {
            return Err(format!("{name}: the existing -o file was changed"));
        }
        let fresh = dir.path().join("fresh.npy");
        let new = self.run(&["-o", fresh.to_str().unwrap()]);
        self.check_run(&new, " (with -o to a new file)")?;
        if fresh.exists() {
            return Err(format!("{name}: the -o file was created"));
        }
        let left = listing(dir.path());
        if left != ["result.txt"] {
            return Err(format!("{name}: files left beside the -o file: {left:?}"));
        }
        Ok(())
    }

    fn check_run(&self, run: &Run, how: &str) -> Result<(), String> {
        let name = self.name;
        let fail = |why: String| Err(format!("{name}{how}: {why}; stderr: {:?}", run.stderr));
        if run.status != Some(self.status) {
            return fail(format!("status {:?}, expected {}", run.status, self.status));
        }
        if !run.stdout.is_empty() {
            return fail(format!("stdout not empty: {:?}", run.out()));
        }
        let lines: Vec<&str> = run.stderr.lines().collect();
        let hint = lines.len() == 2 && self.status == 2 && lines[1].contains("--help");
        if !(lines.len() == 1 || hint) || !lines[0].starts_with("huber: error: ") {
            return fail("stderr is not one `huber: error:` line".into());
        }
        let message = lines[0].to_lowercase();
        if let Some(missing) = self.mentions.iter().find(|m| !message.contains(m.as_str())) {
            return fail(format!("the message does not mention {missing:?}"));
        }
        Ok(())
    }
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn check_all(cases: &[Case]) {
    let failures: Vec<String> = cases.iter().filter_map(|c| c.check().err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} error cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temporary path")
}

const PRED: &str = "fixtures/variants/base_pred.npy";
const TARGET: &str = "fixtures/variants/base_target.npy";

#[test]
fn bad_command_lines_exit_2() {
    let with = |extra: &[&'static str]| {
        let mut args = vec!["-p", PRED, "-t", TARGET];
        args.extend_from_slice(extra);
        args
    };
    check_all(&[
        Case::new("delta 0", 2, &with(&["-d", "0"]), &["delta"]),
        Case::new("delta negative", 2, &with(&["-d", "-1"]), &["delta"]),
        Case::new("delta NaN", 2, &with(&["-d", "nan"]), &["delta"]),
        Case::new("delta text", 2, &with(&["-d", "abc"]), &["delta", "abc"]),
        Case::new("delta empty item", 2, &with(&["-d", "1,,2"]), &["delta"]),
        Case::new(
            "beta negative",
            2,
            &with(&["-l", "smooth-l1", "-b", "-1"]),
            &["beta"],
        ),
        Case::new(
            "beta NaN",
            2,
            &with(&["-l", "smooth-l1", "-b", "nan"]),
            &["beta"],
        ),
        Case::new("beta with huber", 2, &with(&["-b", "1"]), &["beta"]),
        Case::new("no target", 2, &["-p", "x.npy"], &["required", "--target"]),
        Case::new(
            "delta with mse",
            2,
            &with(&["-l", "mse", "-d", "1"]),
            &["delta"],
        ),
        Case::new("unknown loss", 2, &with(&["-l", "foo"]), &["foo", "loss"]),
        Case::new("unknown reduction", 2, &with(&["-r", "avg"]), &["avg"]),
        Case::new("unknown format", 2, &with(&["-f", "xml"]), &["xml"]),
        Case::new("unknown flag", 2, &with(&["--bogus"]), &["--bogus"]),
        Case::new("no target", 2, &["-p", PRED], &["required"]),
        Case::new(
            "deltas with none",
            2,
            &with(&["-d", "1,2", "-r", "none"]),
            &["reduction"],
        ),
        Case::new(
            "long delimiter",
            2,
            &with(&["--delimiter", "ab"]),
            &["delimiter"],
        ),
        Case::new(
            "header and no header",
            2,
            &with(&["--header", "--no-header"]),
            &["header"],
        ),
    ]);
}

/// Writes `bytes` to `name` in `d` and returns the path as a string, for a command line.
fn put(d: &Path, name: &str, bytes: &[u8]) -> String {
    write(d, name, bytes).display().to_string()
}

/// A good float64 NPY file of 21 ones, the other side of each bad input.
fn put_ok(d: &Path) -> String {
    put(d, "ok.npy", &npy_f64(&[1.0; 21]))
}

/// `file:key`, a column or member spec.
fn col(p: &str, k: &str) -> String {
    format!("{p}:{k}")
}

/// Missing, unreadable and cut-short NPY files fail with status 1 and name their file.
#[test]
fn unreadable_npy_files_exit_1() {
    let dir = util::temp_dir();
    let d = dir.path();
    let ok = put_ok(d);
    let missing = d.join("missing.npy").display().to_string();
    let magic = put(d, "magic.npy", b"this is certainly not numpy data\n");
    let short = put(d, "short.npy", b"\x93NUM");
    let version = put(
        d,
        "version.npy",
        &[b"\x93NUMPY\x09\x00".as_slice(), &[0; 60]].concat(),
    );
    let trunc = put(d, "trunc.npy", &npy("'<f8'", "(21,)", &[0; 10]));
    let mut cut = npy("'<f8'", "(21,)", &[]);
    cut.truncate(30);
    let cut_header = put(d, "cut_header.npy", &cut);
    check_all(&[
        Case::new(
            "missing file",
            1,
            &["-p", &missing, "-t", &ok],
            &["missing.npy"],
        ),
        Case::new("directory", 1, &["-p", path(d), "-t", &ok], &[path(d)]),
        Case::new(
            "bad magic",
            1,
            &["-p", &magic, "-t", &ok],
            &["magic.npy", "npy"],
        ),
        Case::new(
            "shorter than magic",
            1,
            &["-p", &short, "-t", &ok],
            &["short.npy"],
        ),
        Case::new(
            "unknown version",
            1,
            &["-p", &version, "-t", &ok],
            &["version.npy", "version"],
        ),
        Case::new(
            "truncated data",
            1,
            &["-p", &ok, "-t", &trunc],
            &["trunc.npy", "truncated"],
        ),
        Case::new(
            "truncated data, -r none",
            1,
            &["-p", &ok, "-t", &trunc, "-r", "none"],
            &["trunc.npy"],
        ),
        Case::new(
            "truncated header",
            1,
            &["-p", &cut_header, "-t", &ok],
            &["cut_header.npy", "header"],
        ),
    ]);
}

/// NPY files of dtypes huber does not read fail with status 1, naming the file and the kind.
#[test]
fn unsupported_npy_dtypes_exit_1() {
    let dir = util::temp_dir();
    let d = dir.path();
    let ok = put_ok(d);
    let object = put(d, "object.npy", &npy("'|O'", "(21,)", &[0; 168]));
    let complex = put(d, "complex.npy", &npy("'<c16'", "(21,)", &[0; 336]));
    let unicode = put(d, "unicode.npy", &npy("'<U5'", "(21,)", &[0; 420]));
    let bytes = put(d, "bytes.npy", &npy("'|S8'", "(21,)", &[0; 168]));
    let datetime = put(d, "datetime.npy", &npy("'<M8[D]'", "(21,)", &[0; 168]));
    let record = put(d, "record.npy", &npy("[('a', '<f8')]", "(21,)", &[0; 168]));
    check_all(&[
        Case::new(
            "object dtype",
            1,
            &["-p", &object, "-t", &ok],
            &["object.npy", "object"],
        ),
        Case::new(
            "complex dtype",
            1,
            &["-p", &ok, "-t", &complex],
            &["complex.npy", "complex"],
        ),
        Case::new(
            "unicode dtype",
            1,
            &["-p", &unicode, "-t", &ok],
            &["unicode.npy", "string"],
        ),
        Case::new(
            "bytes dtype",
            1,
            &["-p", &bytes, "-t", &ok],
            &["bytes.npy", "string"],
        ),
        Case::new(
            "datetime dtype",
            1,
            &["-p", &datetime, "-t", &ok],
            &["datetime.npy", "datetime"],
        ),
        Case::new(
            "structured dtype",
            1,
            &["-p", &record, "-t", &ok],
            &["record.npy", "structured"],
        ),
    ]);
}

/// NPZ archives without the member asked for, or not archives at all, fail with status 1.
#[test]
fn bad_npz_archives_exit_1() {
    let dir = util::temp_dir();
    let d = dir.path();
    let ok = put_ok(d);
    let not_zip = put(
        d,
        "not_zip.npz",
        b"PK\x03\x04 and then nothing that makes sense",
    );
    let stored = "fixtures/variants/stored.npz";
    check_all(&[
        Case::new(
            "NPZ without the key",
            1,
            &["-p", &col(stored, "nokey"), "-t", &col(stored, "target")],
            &["stored.npz", "nokey", "pred", "target"],
        ),
        Case::new(
            "NPZ of several arrays without a key",
            1,
            &["-p", "fixtures/variants/mixed_members.npz", "-t", TARGET],
            &["mixed_members.npz", "pred", "target"],
        ),
        Case::new(
            "NPZ not a zip",
            1,
            &["-p", &not_zip, "-t", &ok],
            &["not_zip.npz"],
        ),
    ]);
}

/// CSV files with a text or empty field, a ragged row or no content fail with status 1,
/// naming the file, line and column.
#[test]
fn bad_csv_fields_exit_1() {
    let dir = util::temp_dir();
    let d = dir.path();
    let text_field = put(d, "text_field.csv", b"pred,target\n1,2\n3,x\n");
    let empty_field = put(d, "empty_field.csv", b"1,2\n3,\n5,6\n");
    let ragged = put(d, "ragged.csv", b"1,2\n3,4\n5\n");
    let empty = put(d, "empty.csv", b"");
    check_all(&[
        Case::new(
            "CSV text field",
            1,
            &[
                "-p",
                &col(&text_field, "pred"),
                "-t",
                &col(&text_field, "target"),
            ],
            &["text_field.csv", "line 3", "column 2", "'x'"],
        ),
        Case::new(
            "CSV empty field with --nan error",
            1,
            &[
                "-p",
                &col(&empty_field, "1"),
                "-t",
                &col(&empty_field, "2"),
                "--nan",
                "error",
            ],
            &["empty_field.csv:2", "line 2", "column 2", "is NaN"],
        ),
        Case::new(
            "CSV ragged row",
            1,
            &["-p", &ragged, "-t", &ragged],
            &["ragged.csv", "line 3", "column 2"],
        ),
        Case::new(
            "CSV empty file",
            1,
            &["-p", &empty, "-t", &empty],
            &["empty.csv"],
        ),
    ]);
}

/// In a long CSV file, a bad field after 2000 good rows, an unknown column name and a column
/// number out of range fail with status 1 and say where.
#[test]
fn bad_csv_columns_exit_1() {
    let dir = util::temp_dir();
    let mut long = "pred,target\n".to_string();
    for i in 0..2000 {
        long.push_str(&format!("{i},{}\n", i + 1));
    }
    long.push_str("1,two\n");
    let late = put(dir.path(), "late.csv", long.as_bytes());
    check_all(&[
        Case::new(
            "CSV error after 2000 good rows, -r none",
            1,
            &[
                "-p",
                &col(&late, "pred"),
                "-t",
                &col(&late, "target"),
                "-r",
                "none",
            ],
            &["late.csv", "line 2002", "column 2"],
        ),
        Case::new(
            "CSV unknown column name",
            1,
            &["-p", &col(&late, "nope"), "-t", &col(&late, "target")],
            &["late.csv", "nope"],
        ),
        Case::new(
            "CSV column number out of range",
            1,
            &["-p", &col(&late, "7"), "-t", &col(&late, "target")],
            &["late.csv", "7"],
        ),
    ]);
}

/// Bad CSV, truncated or short NPY, and empty input on stdin fail with status 1 and say "stdin".
#[test]
fn bad_stdin_exits_1() {
    let dir = util::temp_dir();
    let ok = put_ok(dir.path());
    check_all(&[
        Case::new(
            "stdin CSV text field",
            1,
            &["--pred=-:1", "--target=-:2"],
            &["stdin", "line 2"],
        )
        .stdin(b"1,2\nfoo,3\n"),
        Case::new(
            "stdin truncated NPY",
            1,
            &["-p", "-", "-t", &ok],
            &["stdin"],
        )
        .stdin(&npy("'<f8'", "(21,)", &[0; 10])),
        Case::new(
            "stdin shorter than magic",
            1,
            &["-p", "-", "-t", &ok],
            &["stdin"],
        )
        .stdin(b"\x93NUMPY"),
        Case::new("stdin empty", 1, &["-p", "-", "-t", &ok], &["stdin"]).stdin(b""),
    ]);
}

/// Pred and target of different shapes, NPY against CSV and NPY against NPY, fail with
/// status 1 and show both shapes.
#[test]
fn shape_mismatches_exit_1() {
    let dir = util::temp_dir();
    let d = dir.path();
    let ok = put_ok(d);
    let good = put(d, "good.csv", b"pred,target\n1,2\n3,4\n");
    check_all(&[
        Case::new(
            "shape mismatch",
            1,
            &["-p", PRED, "-t", "fixtures/variants/pred_col.csv"],
            &["(7, 3)", "(21,)"],
        ),
        Case::new(
            "NPY against CSV, shape mismatch",
            1,
            &["-p", &ok, "-t", &col(&good, "pred")],
            &["(21,)", "(2,)"],
        ),
    ]);
}

/// A header that claims far more data than the file holds fails at once, without allocating it.
#[test]
fn huge_claimed_shapes_fail_fast() {
    let dir = util::temp_dir();
    let ok = write(dir.path(), "ok.npy", npy_f64(&[1.0; 4]));
    for (name, shape) in [
        ("terabytes.npy", "(1000000000000,)"),
        ("overflow.npy", "(4294967296, 4294967296)"),
        ("many_axes.npy", "(65536, 65536, 65536, 65536, 65536)"),
    ] {
        let huge = write(dir.path(), name, npy("'<f8'", shape, &[0; 64]));
        for (pred, target) in [(&huge, &ok), (&ok, &huge)] {
            let start = Instant::now();
            let run = huber(&["-p", path(pred), "-t", path(target)], None);
            let took = start.elapsed();
            run.fails(1, &[name], name);
            assert!(took < Duration::from_millis(500), "{name} took {took:?}");
        }
        let start = Instant::now();
        let stdin = fs::read(&huge).unwrap();
        let run = huber(&["-p", "-", "-t", path(&ok), "-r", "none"], Some(&stdin));
        assert_eq!(run.status, Some(1), "{name} on stdin: {}", run.stderr);
        assert!(run.stdout.is_empty());
        assert!(
            start.elapsed() < Duration::from_millis(500),
            "{name} on stdin took {:?}",
            start.elapsed()
        );
    }
}

/// `huber … -r none | head -1`: the closed pipe ends the program quietly with status 0.
#[test]
fn closed_stdout_ends_quietly() {
    let dir = util::temp_dir();
    let status = dir.path().join("status");
    let big = "fixtures/conformance/in/float64_large_pred.npy";
    let mut cmd = std::process::Command::new("sh");
    cmd.args([
        "-c",
        r#"{ "$HUBER" -p "$BIG" -t "$BIG" -r none; echo $? >"$STATUS"; } | head -1"#,
    ])
    .env("HUBER", env!("CARGO_BIN_EXE_huber"))
    .env("BIG", big)
    .env("STATUS", &status)
    .current_dir(util::root());
    let run = util::run(cmd, None);
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    let first = run.out();
    assert_eq!(
        first.trim().parse::<f64>().ok(),
        Some(0.0),
        "one line, the first loss of a pred against itself: {first:?}"
    );
    assert_eq!(first.lines().count(), 1);
    assert_eq!(run.stderr, "", "a closed pipe is not an error");
    let code = fs::read_to_string(&status).unwrap();
    assert_eq!(code.trim(), "0", "huber's exit status");
}

/// The input path in the message is the one the user gave, however it was spelled.
#[test]
fn messages_name_relative_paths_as_given() {
    let run = huber(&["-p", "fixtures/no/such.npy", "-t", TARGET], None);
    assert_eq!(run.status, Some(1));
    assert!(
        run.stderr.starts_with("huber: error: fixtures/no/such.npy"),
        "{}",
        run.stderr
    );
}
