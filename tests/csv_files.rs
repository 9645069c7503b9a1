//! CSV files as pandas, polars and Python's csv module write them (fixtures/csv, made by its
//! generate.py): each gives the mean numpy computed from the frame's own values, the element
//! losses bit for bit where asked, the same bytes for every thread count, and the header note
//! exactly where the first line could be a header.

use std::process::Command;

use serde_json::Value;

use crate::util::{self, Run};

const DIR: &str = "fixtures/csv";

struct Case {
    name: String,
    args: Vec<String>,
    mean: Option<String>,
    none: Option<Vec<String>>,
    note: bool,
    error: Option<Vec<String>>,
}

fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(util::root().join(DIR).join("manifest.json")).unwrap();
    let json: Value = serde_json::from_str(&text).unwrap();
    let strings = |v: &Value| -> Option<Vec<String>> {
        v.as_array()
            .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
    };
    let cases: Vec<Case> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Case {
            name: c["name"].as_str().unwrap().to_string(),
            args: strings(&c["args"]).unwrap(),
            mean: c["mean"].as_str().map(str::to_string),
            none: strings(&c["none"]),
            note: c["note"].as_bool().unwrap(),
            error: strings(&c["error"]),
        })
        .collect();
    assert!(cases.len() >= 25, "only {} cases", cases.len());
    cases
}

/// Runs huber in fixtures/csv with the case's arguments and `extra`.
fn run(case: &Case, extra: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_huber"));
    cmd.args(&case.args)
        .args(extra)
        .current_dir(util::root().join(DIR));
    util::run(cmd, None)
}

/// Parses Python's repr of a float.
fn float(s: &str) -> f64 {
    match s {
        "nan" => f64::NAN,
        "inf" => f64::INFINITY,
        "-inf" => f64::NEG_INFINITY,
        _ => s.parse().unwrap(),
    }
}

fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || a.is_nan() && b.is_nan()
}

/// What is wrong with a case, if anything.
fn check(case: &Case) -> Option<String> {
    let out = run(case, &[]);
    let notes: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("huber: note: "))
        .collect();
    if let Some(words) = &case.error {
        let ok = out.status == Some(1)
            && out.stdout.is_empty()
            && out.stderr.lines().count() == 1
            && words.iter().all(|w| out.stderr.contains(w.as_str()));
        return (!ok).then(|| format!("want an error with {words:?}, got {out:?}"));
    }
    if out.status != Some(0) {
        return Some(format!("status {:?}: {}", out.status, out.stderr));
    }
    if notes.len() != usize::from(case.note) || out.stderr.lines().count() != notes.len() {
        return Some(format!(
            "note expected: {}; stderr: {:?}",
            case.note, out.stderr
        ));
    }
    let text = out.out();
    if let Some(want) = &case.none {
        let got: Vec<&str> = text.lines().collect();
        let ok =
            got.len() == want.len() && got.iter().zip(want).all(|(g, w)| same(float(g), float(w)));
        return (!ok).then(|| format!("element losses differ: {text}"));
    }
    let json: Value = serde_json::from_str(&text).unwrap();
    let value = match &json["value"] {
        Value::String(s) if s == "NaN" => f64::NAN,
        v => v.as_f64().unwrap(),
    };
    let want = float(case.mean.as_deref().unwrap());
    // The mean is the exact sum rounded once, divided by the count: as math.fsum(…) / n.
    (!same(value, want)).then(|| format!("mean {value:?}, numpy {want:?}"))
}

#[test]
fn files_from_pandas_polars_and_csv_give_numpys_mean() {
    let failures: Vec<String> = cases()
        .iter()
        .filter_map(|c| check(c).map(|e| format!("{}: {e}", c.name)))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_thread_count_prints_the_same_bytes() {
    for case in cases().iter().filter(|c| c.error.is_none()) {
        let one = run(case, &["-j", "1"]);
        for j in ["2", "3", "8"] {
            let other = run(case, &["-j", j]);
            assert_eq!(
                (&one.stdout, one.status),
                (&other.stdout, other.status),
                "{}: -j1 and -j{j} differ",
                case.name
            );
        }
    }
}

/// A big file written in many blocks, with quoted text that holds line breaks, read by 1, 2, 3
/// and 8 threads: the same mean, bit for bit, and an error after a quoted line break names the
/// physical line.
#[test]
fn big_quoted_file_is_thread_independent() {
    let dir = util::temp_dir();
    let mut text = String::from("id,note,pred,target\n");
    let mut line = 2;
    for i in 0..400_000u64 {
        let note = match i % 5 {
            0 => "\"a, \"\"b\"\"\nc\"".to_string(),
            1 => "plain".to_string(),
            2 => "\"x\r\ny\"".to_string(),
            _ => String::new(),
        };
        line += 1 + u64::from(i % 5 == 0) + u64::from(i % 5 == 2);
        text.push_str(&format!(
            "id{i},{note},{}.{},{}e-2\n",
            i % 17,
            i % 7,
            i % 101
        ));
    }
    let path = util::write(dir.path(), "big.csv", &text);
    let arg = |k: &str| format!("{}:{k}", path.display());
    let mean = |j: &str| {
        let run = util::huber(
            &[
                "-p",
                &arg("pred"),
                "-t",
                &arg("target"),
                "-f",
                "json",
                "-j",
                j,
            ],
            None,
        );
        assert_eq!(run.status, Some(0), "{}", run.stderr);
        run.stdout
    };
    let one = mean("1");
    for j in ["2", "3", "8"] {
        assert_eq!(one, mean(j), "-j{j}");
    }
    text.push_str("idX,\"a\nb\",1,oops\n");
    let path = util::write(dir.path(), "bad.csv", &text);
    let run = util::huber(
        &[
            "-p",
            &format!("{}:pred", path.display()),
            "-t",
            &format!("{}:target", path.display()),
        ],
        None,
    );
    let want = format!("line {}, column 4: 'oops' is not a number", line + 1);
    run.fails(1, &[&want], "");
}

/// A reduction of columns of one table reads it in one pass, without counting its rows first:
/// the shape it reports is still the table's rows, however its records are spread over lines,
/// and a table that ends where a row could not is still an error.
#[test]
fn one_pass_reductions_report_the_rows_of_the_table() {
    let dir = util::temp_dir();
    let text = "k,p,t\r\n\"a\r\nb\",1,2\r\n\r\nc,\"3\",4\r\n\n\"d,\"\"e\"\"\",5,6";
    let path = util::write(dir.path(), "t.csv", text);
    let p = |col: &str| format!("{}:{col}", path.display());
    let plain = util::huber(&["-p", &p("p"), "-t", &p("t"), "-f", "json"], None);
    assert_eq!(plain.status, Some(0), "{}", plain.stderr);
    let record: Value = serde_json::from_str(&plain.out()).unwrap();
    assert_eq!(record["shape"], serde_json::json!([3]));
    assert_eq!(record["count"], 3);
    let by = ["-p", &p("p"), "-t", &p("t"), "--by", &p("k"), "-f", "json"];
    let grouped = util::huber(&by, None);
    assert_eq!(grouped.status, Some(0), "{}", grouped.stderr);
    let groups: Vec<Value> = serde_json::from_str(&grouped.out()).unwrap();
    let keys: Vec<&str> = groups.iter().map(|g| g["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["a\r\nb", "c", "d,\"e\""]);
    assert!(groups.iter().all(|g| g["shape"] == serde_json::json!([3])));
    // Only a header, and a header with blank lines: 0 rows, as a Parquet file of 0 rows (Dask
    // writes such shards), counted or not.
    for text in ["k,p,t\n", "k,p,t\n\n\r\n"] {
        let path = util::write(dir.path(), "h.csv", text);
        let p = |col: &str| format!("{}:{col}", path.display());
        let (pred, target) = (p("p"), p("t"));
        for extra in [&["-r", "sum"][..], &["-r", "none"]] {
            let mut args = vec!["-p", &pred, "-t", &target, "-f", "json"];
            args.extend_from_slice(extra);
            let run = util::huber(&args, None);
            assert_eq!(run.status, Some(0), "{}", run.stderr);
            assert!(run.out().contains("\"shape\":[0]"), "{}", run.out());
        }
    }
}

/// Several columns as one `(N, k)` input (`-p f.csv:p0,p1,p2`): the mean over all N·k elements
/// and, with `--axis 0`, one mean per output, as numpy computes them from the frame; a header
/// name holding a comma (`p,odd`) is taken whole before the KEY is split at its commas.
#[test]
fn several_columns_are_one_input_of_shape_n_by_k() {
    let text = std::fs::read_to_string(util::root().join(DIR).join("multi_output.json")).unwrap();
    let want: Value = serde_json::from_str(&text).unwrap();
    let f = format!("{DIR}/{}", want["file"].as_str().unwrap());
    let (p, t) = (format!("{f}:p0,p1,p2"), format!("{f}:t0,t1,t2"));
    let out = util::huber(&["-p", &p, "-t", &t, "-f", "json"], None).ok("mean");
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["shape"], serde_json::json!([50, 3]));
    let mean = want["mean"].as_str().unwrap().parse::<f64>().unwrap();
    assert_eq!(json["value"].as_f64().unwrap().to_bits(), mean.to_bits());
    let out = util::huber(&["-p", &p, "-t", &t, "--axis", "0"], None).ok("axis");
    let got: Vec<f64> = out.out().lines().map(|l| l.parse().unwrap()).collect();
    let per: Vec<f64> = want["per_output"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(got, per);
    // `p,odd` is one column (a copy of p2): the same as p0,p1,p2.
    let odd = format!("{f}:p0,p1,p,odd");
    let out = util::huber(&["-p", &odd, "-t", &t, "--axis", "0"], None).ok("odd");
    assert_eq!(out.out().lines().count(), 3);
    let again: Vec<f64> = out.out().lines().map(|l| l.parse().unwrap()).collect();
    assert_eq!(again, per);
    let bad = util::huber(&["-p", &format!("{f}:p0,nope"), "-t", &t], None);
    bad.fails(1, &["no column named 'nope'"], "");
}

/// Several columns of a table on standard input give what they give from the file, on every
/// path: read as it arrives (a mean, `-r none` in every format), and held to be read again
/// (`--nan error`, `--top`, `-d auto`), whose first record is checked before it is held.
#[test]
fn several_columns_of_stdin_are_the_file_s() {
    let f = format!("{DIR}/multi_output.csv");
    let table = std::fs::read(util::root().join(&f)).unwrap();
    let (p, t) = (format!("{f}:p0,p1,p2"), format!("{f}:t0,t1,t2"));
    for extra in [
        &[][..],
        &["-r", "none", "-f", "npy"],
        &["-r", "none", "-f", "csv"],
        &["-r", "none", "-f", "json"],
        &["-r", "none", "--nan", "error"],
        &["--top", "2"],
        &["-d", "auto"],
        &["--axis", "0"],
    ] {
        let file = util::huber(&[&["-p", &p, "-t", &t][..], extra].concat(), None);
        assert_eq!(file.status, Some(0), "{extra:?}: {}", file.stderr);
        let args = [&["-p", "-:p0,p1,p2", "-t", "-:t0,t1,t2"][..], extra].concat();
        let piped = util::huber(&args, Some(&table));
        assert_eq!(piped.stdout, file.stdout, "{extra:?}: {}", piped.stderr);
    }
    let bad = util::huber(
        &["-p", "-:p0,nope", "-t", "-:t0,t1", "--top", "1"],
        Some(&table),
    );
    bad.fails(1, &["no column named 'nope'"], "");
}

/// A table whose third line is a record of `len` bytes (without its line end): `k,p,t` with a
/// long key, quoted or not, and lines ended by `eol`.
fn long_record_table(len: usize, quoted: bool, eol: &str) -> String {
    let key = if quoted {
        format!("\"{}\"", "y".repeat(len - 6))
    } else {
        "y".repeat(len - 4)
    };
    ["k,p,t", "a,1,0", &format!("{key},1,0"), "b,2,0", ""].join(eol)
}

/// One limit for a record (1 MiB without its line end) on every path: counted first or read
/// once, numbers or `--by` keys (of the same table or a file of their own), a file or a pipe,
/// quoted or not, LF or CRLF; a record one byte longer is refused on each, naming its line.
#[test]
fn the_record_limit_holds_on_every_path() {
    let dir = util::Dir::new();
    let max = 1 << 20;
    for (quoted, eol) in [(false, "\n"), (true, "\n"), (false, "\r\n"), (true, "\r")] {
        for len in [max, max + 1] {
            dir.write("t.csv", long_record_table(len, quoted, eol));
            dir.write("k.csv", long_record_table(len, quoted, eol));
            for extra in [
                &["-r", "none", "-f", "csv"][..],
                &[],
                &["-r", "sum"],
                &["--top", "1"],
                &["--by", "t.csv:k"],
                &["--by", "k.csv:k"],
            ] {
                for pipe in [false, true] {
                    check_long_record(&dir, len, pipe, extra, &format!("quoted {quoted}, {eol:?}"));
                }
            }
        }
    }
}

/// Runs huber over `t.csv` (or it piped) with `extra`, expecting success for a record of the
/// limit and the limit's message for one over it.
fn check_long_record(dir: &util::Dir, len: usize, pipe: bool, extra: &[&str], what: &str) {
    let (p, t) = if pipe {
        ("-:p", "-:t")
    } else {
        ("t.csv:p", "t.csv:t")
    };
    let mut args = vec!["-p".to_string(), p.into(), "-t".into(), t.into()];
    // Keys of the piped table come from stdin too.
    args.extend(extra.iter().map(|a| match (pipe, *a) {
        (true, "t.csv:k") => "-:k".to_string(),
        (_, a) => a.to_string(),
    }));
    let stdin = pipe.then(|| dir.read("t.csv"));
    let out = dir.run(&args, stdin.as_deref());
    let what = format!("{len} bytes, {what}, {args:?}");
    if len == 1 << 20 {
        assert_eq!(out.status, Some(0), "{what}: {}", out.stderr);
    } else {
        out.fails(1, &["line 3: a record is longer than 1 MiB"], &what);
    }
}

#[test]
fn a_header_over_the_record_limit_is_refused() {
    let dir = util::Dir::new();
    let max = 1 << 20;
    // The header is a record too.
    for (len, status) in [(max, Some(0)), (max + 1, Some(1))] {
        let header = format!("p,t,{}\n1,0,x\n", "h".repeat(len - 4));
        dir.write("h.csv", &header);
        let out = dir.run(["-p", "h.csv:p", "-t", "h.csv:t"], None);
        assert_eq!(out.status, status, "header of {len}: {}", out.stderr);
        let out = dir.run(["-p", "-:p", "-t", "-:t"], Some(header.as_bytes()));
        assert_eq!(out.status, status, "piped header of {len}: {}", out.stderr);
    }
}
