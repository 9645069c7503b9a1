//! Parquet and Arrow IPC inputs: the fixtures of `fixtures/columnar/` (written by pyarrow and
//! polars, see its `generate.py`) against the losses numpy computed for them, thread counts,
//! stdin, sharing one file between pred and target, shards merged, and memory on hostile files.

use std::fs;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::util::{Dir, Dtype, huber, number, repo_path, same_bits};

const DIR: &str = "fixtures/columnar";

fn manifest() -> Value {
    let text = fs::read_to_string(repo_path(&format!("{DIR}/manifest.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// The arguments that name a case's columns in `file`.
fn case_args(file: &str, case: &Value) -> Vec<String> {
    let mut args = vec![
        "-p".to_string(),
        format!("{DIR}/{file}:{}", case["pred"].as_str().unwrap()),
        "-t".to_string(),
        format!("{DIR}/{file}:{}", case["target"].as_str().unwrap()),
    ];
    if let Some(w) = case["weight"].as_str() {
        args.extend(["-w".to_string(), format!("{DIR}/{file}:{w}")]);
    }
    args
}

/// Runs huber and parses its JSON output; panics with stderr on failure.
fn json(args: &[String]) -> Value {
    let run = huber(args, None);
    assert_eq!(run.status, Some(0), "{args:?}: {}", run.stderr);
    serde_json::from_slice(&run.stdout).unwrap()
}

/// Whether every column of a case is in a file holding `columns` ("full" holds them all).
fn applies(case: &Value, columns: &str, basic: &[String]) -> bool {
    columns == "full"
        || ["pred", "target", "weight"].iter().all(|k| {
            case[k]
                .as_str()
                .is_none_or(|c| basic.iter().any(|b| b == c))
        })
}

#[test]
fn every_fixture_gives_the_reference_losses() {
    let m = manifest();
    let basic = strings(&m["basic"]);
    let mut checked = 0;
    for file in m["files"].as_array().unwrap() {
        let name = file["file"].as_str().unwrap();
        let columns = file["columns"].as_str().unwrap();
        for case in m["cases"].as_array().unwrap() {
            if !applies(case, columns, &basic) {
                continue;
            }
            let what = format!("{name} {}/{}", case["pred"], case["target"]);
            let dtype = Dtype::from_name(case["dtype"].as_str().unwrap());
            let mut args = case_args(name, case);
            args.extend(["-f", "json", "-r", "none"].map(String::from));
            let out = json(&args);
            assert_eq!(out["dtype"], case["dtype"], "{what}");
            let got = out["values"].as_array().unwrap();
            let want = case["none"].as_array().unwrap();
            assert_eq!(got.len(), want.len(), "{what}");
            for (i, (g, w)) in got.iter().zip(want).enumerate() {
                let g = number(g);
                let ok = match w.as_f64() {
                    None => g.is_nan(),
                    Some(w) => same_bits(dtype, g, w),
                };
                assert!(ok, "{what}: element {i} is {g}, numpy says {w}");
            }
            args.truncate(args.len() - 2);
            args.extend(["--nan", "omit"].map(String::from));
            let out = json(&args);
            let mean = number(&out["value"]);
            let exact = case["omit_mean"].as_f64().unwrap();
            assert!(
                dtype.ulps(mean, exact) <= 1,
                "{what}: mean {mean}, exact {exact}"
            );
            assert_eq!(out["count"], case["omit_count"], "{what}");
            args.truncate(args.len() - 2);
            let propagated = number(&json(&args)["value"]);
            assert_eq!(
                propagated.is_nan(),
                case["has_nan"].as_bool().unwrap(),
                "{what}: nulls are missing values"
            );
            checked += 1;
        }
    }
    assert!(checked >= 60, "only {checked} file/case pairs checked");
}

/// The bits of the JSON results' `value` and `sum` fields and the `-r none` output.
fn results(file: &str, threads: &str) -> (Vec<String>, Vec<u8>) {
    let base = [
        "-p",
        &format!("{DIR}/{file}:pred"),
        "-t",
        &format!("{DIR}/{file}:target"),
        "-w",
        &format!("{DIR}/{file}:w"),
        "--threads",
        threads,
    ]
    .map(String::from);
    let mut scalar: Vec<String> = base.to_vec();
    scalar.extend(["-f", "json", "--nan", "omit", "-d", "0.5,1,2"].map(String::from));
    let out = json(&scalar);
    let fields = out
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| [r["value"].to_string(), r["sum"].to_string()])
        .collect();
    let mut none = base.to_vec();
    none.extend(["-r", "none", "-f", "npy"].map(String::from));
    let run = huber(&none, None);
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    (fields, run.stdout)
}

#[test]
fn every_thread_count_gives_the_same_bits() {
    for file in [
        "codec_snappy.parquet",
        "codec_brotli.parquet",
        "full.arrows",
    ] {
        let one = results(file, "1");
        for threads in ["2", "3"] {
            assert_eq!(results(file, threads), one, "{file} with {threads} threads");
        }
    }
}

/// The basic columns written as CSV, for comparing every option against the CSV reader.
fn as_csv(m: &Value) -> String {
    let values = &m["values"];
    let cols = ["pred", "target", "w"];
    let mut csv = String::from("pred,target,w\n");
    for i in 0..m["rows"].as_u64().unwrap() as usize {
        let row: Vec<String> = cols
            .iter()
            .map(|c| match values[c][i].as_f64() {
                Some(x) => format!("{x:?}"),
                None => "nan".to_string(),
            })
            .collect();
        csv.push_str(&row.join(","));
        csv.push('\n');
    }
    csv
}

#[test]
fn every_option_agrees_with_the_same_data_as_csv() {
    let m = manifest();
    let dir = Dir::new();
    let csv = dir.write("data.csv", as_csv(&m));
    let csv = csv.to_str().unwrap();
    let options: &[&[&str]] = &[
        &["-f", "json"],
        &["-l", "log-cosh", "-r", "sum", "--nan", "omit", "-f", "json"],
        &["-l", "pseudo-huber", "-d", "0.3", "-r", "none"],
        &[
            "-l",
            "smooth-l1",
            "-b",
            "0.5",
            "--nan",
            "omit",
            "-f",
            "json",
        ],
        &["-d", "auto", "--nan", "omit", "-f", "json"],
        &["--grad", "--nan", "omit", "-f", "csv"],
        &["--grad", "-r", "sum"],
        &["-w", "W", "-l", "mse", "-f", "json"],
        &["-d", "0.5,1,2", "--nan", "omit", "-f", "csv"],
    ];
    for file in ["codec_zstd.parquet", "full.feather", "polars_stream.arrows"] {
        let path = repo_path(&format!("{DIR}/{file}"));
        let path = path.to_str().unwrap();
        for opts in options {
            let run_with = |src: &str| {
                let mut args: Vec<String> = vec![
                    "-p".into(),
                    format!("{src}:pred"),
                    "-t".into(),
                    format!("{src}:target"),
                ];
                args.extend(opts.iter().map(|o| match *o {
                    "W" => format!("{src}:w"),
                    o => o.to_string(),
                }));
                dir.run(&args, None).ok(&format!("{file} {opts:?}"))
            };
            let (ours, reference) = (run_with(path), run_with(csv));
            assert_eq!(ours.text(), reference.text(), "{file} {opts:?}");
        }
    }
}

#[test]
fn pred_and_target_from_one_stream_on_stdin() {
    for file in [
        "full.parquet",
        "full.arrows",
        "full.arrow",
        "polars.parquet",
    ] {
        let bytes = fs::read(repo_path(&format!("{DIR}/{file}"))).unwrap();
        let args = [
            "-p", "-:pred", "-t", "-:target", "--nan", "omit", "-f", "json",
        ];
        let run = huber(&args, Some(&bytes));
        assert_eq!(run.status, Some(0), "{file}: {}", run.stderr);
        let from_file = json(&[
            "-p".into(),
            format!("{DIR}/{file}:pred"),
            "-t".into(),
            format!("{DIR}/{file}:target"),
            "--nan".into(),
            "omit".into(),
            "-f".into(),
            "json".into(),
        ]);
        let from_stdin: Value = serde_json::from_slice(&run.stdout).unwrap();
        assert_eq!(from_stdin, from_file, "{file}");
    }
}

#[test]
fn shards_merge_to_the_bits_of_one_run() {
    let dir = Dir::new();
    let mut shards = vec!["merge".to_string(), "-f".to_string(), "json".to_string()];
    for k in 0..3 {
        let part = repo_path(&format!("{DIR}/part-{k:05}.parquet"));
        let part = part.to_str().unwrap();
        let args = [
            "-p",
            &format!("{part}:pred"),
            "-t",
            &format!("{part}:target"),
            "--nan",
            "omit",
            "-f",
            "json",
        ];
        let out = dir.run(args, None).ok("shard");
        shards.push(
            dir.write(&format!("{k}.json"), &out.stdout)
                .display()
                .to_string(),
        );
    }
    let merged: Value = serde_json::from_slice(&dir.run(&shards, None).ok("merge").stdout).unwrap();
    let all = json(
        &[
            "-p",
            &format!("{DIR}/all.parquet:pred"),
            "-t",
            &format!("{DIR}/all.parquet:target"),
            "--nan",
            "omit",
            "-f",
            "json",
        ]
        .map(String::from),
    );
    assert_eq!(
        number(&merged["value"]).to_bits(),
        number(&all["value"]).to_bits()
    );
    assert_eq!(merged["count"], all["count"]);
}

#[test]
fn other_column_types_are_refused_by_name() {
    let cases = [
        ("full.parquet:id", "column 'id' has type Utf8"),
        ("full.arrow:s", "column 's' has type Struct"),
        ("full.feather:nope", "no column 'nope'"),
        ("full.parquet", "name one as PATH:COLUMN"),
    ];
    for (spec, words) in cases {
        let args = [
            "-p",
            &format!("{DIR}/{spec}"),
            "-t",
            &format!("{DIR}/full.parquet:pred"),
        ];
        let run = huber(&args, None);
        assert_eq!(run.status, Some(1), "{spec}");
        assert!(run.stdout.is_empty());
        assert!(
            run.stderr.starts_with("huber: error: ") && run.stderr.contains(words),
            "{spec}: {}",
            run.stderr
        );
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    }
}

/// Runs huber in `fixtures/bad/files` with its data segment (heap, thread stacks) limited to
/// 64 MiB, so that a run that needs more aborts instead of passing.
fn in_64_mib(args: &[&str]) -> Output {
    Command::new("sh")
        .args([
            "-c",
            "ulimit -d 65536 && exec \"$0\" \"$@\"",
            env!("CARGO_BIN_EXE_huber"),
        ])
        .args(args)
        .current_dir(repo_path("fixtures/bad/files"))
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn hostile_files_fail_in_64_mib() {
    let full = repo_path(&format!("{DIR}/full.parquet"));
    let full = full.to_str().unwrap();
    let fine = in_64_mib(&[
        "-p",
        &format!("{full}:pred"),
        "-t",
        &format!("{full}:target"),
    ]);
    assert_eq!(
        fine.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&fine.stderr)
    );
    for file in [
        "pq_bomb.parquet",
        "pq_page_size_lies.parquet",
        "pq_footer_len_lies.parquet",
        "pq_rows_huge.parquet",
        "arrow_block_lies.arrow",
        "arrow_stream_meta_lies.arrows",
        "arrow_zstd_claims_1tib.arrow",
    ] {
        let out = in_64_mib(&["-p", &format!("{file}:x"), "-t", &format!("{file}:x")]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{file}: {stderr}");
        assert!(
            stderr.starts_with("huber: error: ") && stderr.lines().count() == 1,
            "{stderr}"
        );
    }
}

/// Decimal columns (fixtures/decimal: DuckDB's DECIMAL(10,2) with NULLs; pyarrow's
/// decimal128(38,30) and decimal256(50,40) with more digits than a float64 holds) read as float64,
/// each value correctly rounded: the mean Python computes from the exact decimals.
#[test]
fn decimal_columns_read_as_correctly_rounded_float64() {
    let text = std::fs::read_to_string(crate::util::repo_path("fixtures/decimal/references.json"))
        .unwrap();
    let refs: serde_json::Value = serde_json::from_str(&text).unwrap();
    for (file, want) in refs.as_object().unwrap() {
        let f = format!("fixtures/decimal/{file}");
        let (p, t) = (format!("{f}:pred"), format!("{f}:target"));
        let run =
            crate::util::huber(&["-p", &p, "-t", &t, "--nan", "omit", "-f", "json"], None).ok(file);
        let json: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
        assert_eq!(json["dtype"], "float64", "{file}");
        let want: f64 = want.as_str().unwrap().parse().unwrap();
        assert_eq!(
            json["value"].as_f64().unwrap().to_bits(),
            want.to_bits(),
            "{file}"
        );
    }
}

/// Several columns as one `(N, k)` input (`-p f.parquet:p0,p1,p2`, spelled as for CSV): every
/// output the same bytes as the CSV route over the same frame (pyarrow wrote both), with a name
/// that holds a comma taken whole, struct fields by dotted path and mixed dtypes; a column that
/// does not exist is named.
#[test]
fn several_columns_read_as_the_csv_route_reads_them() {
    let m = manifest();
    let several = &m["several"];
    let csv = format!("{DIR}/{}", several["csv"].as_str().unwrap());
    let keys = [
        ("p0,p1,p2", "t0,t1,t2"),
        ("p0,p1,p,odd", "t0,t1,t2"),
        ("out.a,n", "out.b,t1"),
    ];
    let options: [&[&str]; 6] = [
        &["-r", "none", "-f", "json"],
        &["--axis", "1"],
        &[],
        &["--nan", "omit", "-f", "json"],
        &["--axis", "0", "--nan", "omit", "-d", "0.5,2"],
        &["-r", "sum", "-w", "{}:{n}", "--nan", "omit"],
    ];
    let args = |file: &str, (p, t): (&str, &str), extra: &[&str]| {
        let mut args = vec![
            "-p".to_string(),
            format!("{file}:{p}"),
            "-t".to_string(),
            format!("{file}:{t}"),
        ];
        let n = vec!["n"; t.split(',').count()].join(",");
        args.extend(
            extra
                .iter()
                .map(|a| a.replace("{}", file).replace("{n}", &n)),
        );
        args
    };
    for file in strings(&several["files"]) {
        let file = format!("{DIR}/{file}");
        for pair in keys {
            for extra in options {
                let want = huber(&args(&csv, pair, extra), None).ok("csv");
                let got = huber(&args(&file, pair, extra), None).ok(&file);
                assert_eq!(got.out(), want.out(), "{file} {pair:?} {extra:?}");
            }
        }
        let out = json(&args(&file, keys[0], &["--nan", "omit", "-f", "json"]));
        assert_eq!(out["shape"], serde_json::json!([several["rows"], 3]));
        let mean = several["omit_mean"].as_f64().unwrap();
        assert_eq!(number(&out["value"]).to_bits(), mean.to_bits(), "{file}");
        let bad = huber(&args(&file, ("p0,nope", "t0,t1"), &[]), None);
        bad.fails(
            1,
            &["in the list of columns 'p0,nope': no column 'nope'; the file has 'id'"],
            "",
        );
    }
}

/// Fixed-size-list columns (pyarrow's FixedSizeList, polars' Array) read as `(N, k)`: the same
/// bytes as the CSV route over the same values (nulls inside the lists as empty fields), alone or
/// beside other columns; whole null rows and float32 lists against numpy's losses; a list of any
/// length refused by name.
#[test]
fn fixed_size_lists_read_as_n_by_k() {
    let m = manifest();
    let lists = &m["several"]["lists"];
    let csv = format!("{DIR}/{}", m["several"]["csv"].as_str().unwrap());
    let run = |file: &str, p: &str, t: &str, extra: &[&str]| {
        let mut args = vec!["-p".to_string(), format!("{file}:{p}")];
        args.extend(["-t".to_string(), format!("{file}:{t}")]);
        args.extend(extra.iter().map(|a| a.to_string()));
        huber(&args, None).ok(&format!("{file} {p} {t} {extra:?}"))
    };
    let options: [&[&str]; 4] = [
        &["-r", "none", "-f", "json"],
        &["--axis", "1"],
        &["--nan", "omit", "-f", "json"],
        &["--axis", "0", "--nan", "omit"],
    ];
    for file in strings(&lists["files"]) {
        let file = format!("{DIR}/{file}");
        for keys in lists["as_csv"].as_array().unwrap() {
            let k = strings(keys);
            for extra in options {
                let want = run(&csv, &k[2], &k[3], extra);
                let got = run(&file, &k[0], &k[1], extra);
                assert_eq!(got.out(), want.out(), "{file} {k:?} {extra:?}");
            }
        }
        for case in lists["cases"].as_array().unwrap() {
            let (p, t) = (
                case["pred"].as_str().unwrap(),
                case["target"].as_str().unwrap(),
            );
            let out = run(&file, p, t, &["-r", "none", "-f", "json"]);
            let out: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(out["dtype"], case["dtype"], "{file} {p}");
            assert_eq!(out["shape"], serde_json::json!([200, 3]), "{file} {p}");
            let got: Vec<f64> = out["values"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|row| row.as_array().unwrap().iter().map(number))
                .collect();
            let want = case["none"].as_array().unwrap();
            let dtype = Dtype::from_name(case["dtype"].as_str().unwrap());
            assert_eq!(got.len(), want.len());
            for (i, (&g, w)) in got.iter().zip(want).enumerate() {
                let w = if w.is_null() { f64::NAN } else { number(w) };
                assert!(same_bits(dtype, g, w), "{file} {p} [{i}]: {g} vs {w}");
            }
        }
        let bad = huber(
            &["-p", &format!("{file}:l"), "-t", &format!("{file}:t")],
            None,
        );
        bad.fails(
            1,
            &[
                "column 'l' is a list of any length",
                "huber reads fixed-size lists",
            ],
            &file,
        );
    }
}
