//! Datasets (a glob, a folder of shards, a hive-partitioned folder) and compressed files as one
//! input, on the fixtures of `fixtures/datasets/` (written by pyarrow, polars, DuckDB, pandas
//! as Dask does, and the gzip, zstd, bzip2, xz and lz4 tools; see its `generate.py`): each must
//! give the bits of the one file it was split or compressed from.

use std::fs;

use serde_json::Value;

use crate::util::{Run, huber, repo_path};

const DIR: &str = "fixtures/datasets";

/// `huber -p INPUT:pred -t INPUT:target -f json ARGS…`, which must succeed.
fn json(input: &str, extra: &[&str]) -> Value {
    let run = pair(input, extra);
    assert_eq!(run.status, Some(0), "{input}: {}", run.stderr);
    serde_json::from_str(&run.out()).unwrap()
}

fn pair(input: &str, extra: &[&str]) -> Run {
    let (p, t) = (format!("{input}:pred"), format!("{input}:target"));
    let mut args = vec!["-p", &p, "-t", &t, "-f", "json"];
    args.extend_from_slice(extra);
    huber(&args, None)
}

/// The result of the one file the datasets were made from.
fn reference(extra: &[&str]) -> Value {
    json(&format!("{DIR}/all.parquet"), extra)
}

#[test]
fn folders_and_globs_give_the_bits_of_the_one_file() {
    let want = reference(&[]);
    assert_eq!(want["count"], 240);
    for input in [
        "pyarrow",
        "polars",
        "hive",
        "duckdb_hive",
        "dask_csv",
        "pyarrow/part-*.parquet",
        "pyarrow/part-0000[0-3].parquet",
        "dask_csv/*.part",
        "*/data-?.parquet",
    ] {
        let got = json(&format!("{DIR}/{input}"), &[]);
        assert_eq!(got, want, "{input}");
    }
    // With several passes (δ chosen from the data), and counted CSV shards (reduction none: the
    // same elements in the same order; a hive folder holds them grouped by partition).
    let auto = reference(&["-d", "auto"]);
    assert_eq!(json(&format!("{DIR}/dask_csv"), &["-d", "auto"]), auto);
    assert_eq!(json(&format!("{DIR}/polars"), &["-d", "auto"]), auto);
    let none = reference(&["-r", "none"]);
    assert_eq!(json(&format!("{DIR}/dask_csv"), &["-r", "none"]), none);
    assert_eq!(json(&format!("{DIR}/polars"), &["-r", "none"]), none);
}

#[test]
fn a_glob_is_expanded_by_huber_when_quoted() {
    // The pattern reaches huber as written (no shell here), as a quoted one does.
    let run = huber(
        &[
            "-p",
            &format!("{DIR}/pyarrow/*.parquet:pred"),
            "-t",
            &format!("{DIR}/all.csv:target"),
        ],
        None,
    );
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    let one = huber(
        &[
            "-p",
            &format!("{DIR}/all.parquet:pred"),
            "-t",
            &format!("{DIR}/all.csv:target"),
        ],
        None,
    );
    assert_eq!(run.stdout, one.stdout);
}

/// A glob over a folder that holds a file whose name is not UTF-8, and hidden files: no panic
/// (the glob crate's own leading-dot check unwraps names as UTF-8), the hidden files are not
/// matched by `*` as in the shell, and a pattern that spells the leading dot matches them.
#[test]
fn a_glob_skips_hidden_names_and_bears_names_that_are_not_utf8() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let dir = crate::util::Dir::new();
    dir.write("a.csv", "p,t\n1,0\n");
    dir.write(".b.csv", "p,t\n100,0\n");
    let odd = dir
        .path("a.csv")
        .with_file_name(OsStr::from_bytes(b"\xfe.csv.txt"));
    fs::write(odd, "x").unwrap();
    for (pattern, want) in [("*.csv", "0.5"), ("[a.]*.csv", "0.5"), (".*.csv", "99.5")] {
        let (p, t) = (format!("{pattern}:p"), format!("{pattern}:t"));
        let run = dir.run(["-p", &p, "-t", &t], None);
        assert_eq!(run.status, Some(0), "{pattern}: {}", run.stderr);
        assert_eq!(
            String::from_utf8_lossy(&run.stdout).trim(),
            want,
            "{pattern}"
        );
    }
}

#[test]
fn npy_shards_concatenate_along_the_first_axis() {
    let npy = |p: &str| {
        huber(
            &["-p", p, "-t", &format!("{DIR}/npy_all.npy"), "-r", "none"],
            None,
        )
    };
    let shards = npy(&format!("{DIR}/npy"));
    assert_eq!(shards.status, Some(0), "{}", shards.stderr);
    let mut zeros = String::new();
    for _ in 0..36 {
        zeros.push_str("0.0\n");
    }
    assert_eq!(shards.out(), zeros);
    let shape = huber(
        &[
            "-p",
            &format!("{DIR}/npy/*.npy"),
            "-t",
            &format!("{DIR}/npy_all.npy"),
            "-f",
            "json",
        ],
        None,
    );
    let v: Value = serde_json::from_str(&shape.out()).unwrap();
    assert_eq!(v["shape"], serde_json::json!([12, 3]));
    assert_eq!(v["dtype"], "float32");
}

#[test]
fn hive_partition_keys_are_by_keys() {
    let strip = |mut v: Value| {
        for g in v.as_array_mut().unwrap() {
            g.as_object_mut().unwrap().remove("by");
        }
        v
    };
    let all = format!("{DIR}/all.csv");
    let want = strip(json(&all, &["--by", &format!("{all}:store")]));
    let keys: Vec<&str> = want
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["a", "b", "c d"]);
    for input in ["hive", "duckdb_hive", "dask_csv", "pyarrow", "polars"] {
        let d = format!("{DIR}/{input}");
        let got = strip(json(&d, &["--by", &format!("{d}:store")]));
        assert_eq!(got, want, "{input}");
    }
    // A partition key is text for --by, not numbers.
    let run = huber(
        &[
            "-p",
            &format!("{DIR}/hive:store"),
            "-t",
            &format!("{DIR}/hive:target"),
        ],
        None,
    );
    run.fails(1, &["partition key"], "");
    // A misspelt partition key is named beside the files' columns.
    let d = format!("{DIR}/hive");
    let run = pair(&d, &["--by", &format!("{d}:stor")]);
    assert_eq!(run.status, Some(1));
    assert!(
        run.stderr.trim_end().ends_with("no column 'stor'; the file has 'id', 'pred', 'target'; the folders' partition keys: store"),
        "{}",
        run.stderr
    );
}

#[test]
fn shards_that_differ_are_named() {
    let run = pair(&format!("{DIR}/mismatch"), &[]);
    run.fails(
        1,
        &[
            "mismatch/part-1.parquet: a table of columns [id: Int64",
            "the first file of the dataset",
        ],
        "",
    );
    let run = pair(&format!("{DIR}/mismatch_dtype"), &[]);
    run.fails(1, &["mismatch_dtype/part-1.parquet"], "");
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}

#[test]
fn an_empty_glob_names_the_pattern() {
    let run = pair(&format!("{DIR}/pyarrow/nothing-*.parquet"), &[]);
    assert_eq!(run.status, Some(1));
    assert_eq!(
        run.stderr,
        format!(
            "huber: error: {DIR}/pyarrow/nothing-*.parquet:pred: no file matches the pattern \
             (quote it or not: huber expands it)\n"
        )
    );
}

#[test]
fn a_header_only_shard_counts_zero_rows() {
    let header = format!("{DIR}/dask_csv/1.part");
    for extra in [&[][..], &["-r", "none"][..], &["--nan", "error"][..]] {
        let v = json(&header, extra);
        assert_eq!(v["shape"], serde_json::json!([0]), "{extra:?}");
        if extra.is_empty() {
            assert_eq!(v["count"], 0);
        }
    }
    let parquet = json(&format!("{DIR}/pyarrow/part-00001.parquet"), &[]);
    assert_eq!(parquet["count"], 0);
}

#[test]
fn every_codec_is_found_by_its_magic_bytes() {
    let want = reference(&[]);
    for name in [
        "all.csv.gz",
        "all.csv.zst",
        "all.csv.bz2",
        "all.csv.xz",
        "all.csv.lz4",
        "zstd_inside.csv",
    ] {
        let input = format!("{DIR}/compressed/{name}");
        assert_eq!(json(&input, &[]), want, "{name}");
        assert_eq!(json(&input, &["-d", "auto"]), reference(&["-d", "auto"]));
    }
    for ext in ["gz", "zst", "bz2", "xz", "lz4"] {
        let npy = format!("{DIR}/compressed/all.npy.{ext}");
        let run = huber(
            &[
                "-p",
                &npy,
                "-t",
                &format!("{DIR}/all.csv:pred"),
                "-f",
                "json",
            ],
            None,
        );
        assert_eq!(run.status, Some(0), "{ext}: {}", run.stderr);
        let v: Value = serde_json::from_str(&run.out()).unwrap();
        assert_eq!(
            (v["count"].clone(), v["value"].clone()),
            (240.into(), 0.0.into())
        );
    }
}

#[test]
fn compressed_stdin_is_inflated() {
    let want = reference(&[]);
    for name in ["all.csv.gz", "all.csv.zst", "all.csv.bz2", "all.csv.xz"] {
        let bytes = fs::read(repo_path(&format!("{DIR}/compressed/{name}"))).unwrap();
        let run = huber(
            &["-p", "-:pred", "-t", "-:target", "-f", "json"],
            Some(&bytes),
        );
        assert_eq!(run.status, Some(0), "{name}: {}", run.stderr);
        let got: Value = serde_json::from_str(&run.out()).unwrap();
        assert_eq!(got, want, "{name}");
    }
    let npy = fs::read(repo_path(&format!("{DIR}/compressed/all.npy.gz"))).unwrap();
    let run = huber(
        &["-p", "-", "-t", &format!("{DIR}/all.csv:pred")],
        Some(&npy),
    );
    assert_eq!((run.status, run.out()), (Some(0), "0.0\n".to_string()));
}

#[test]
fn bad_compressed_data_names_the_codec() {
    for (name, reason) in [("corrupt.csv.gz", "gzip: "), ("truncated.csv.gz", "gzip: ")] {
        let input = format!("{DIR}/compressed/{name}");
        let run = pair(&input, &[]);
        assert_eq!(run.status, Some(1), "{name}");
        assert!(
            run.stderr.starts_with(&format!("huber: error: {input}:"))
                && run.stderr.contains(reason),
            "{}",
            run.stderr
        );
        assert_eq!(run.stderr.lines().count(), 1);
        assert!(!run.stderr.contains("gzip: gzip:"), "{}", run.stderr);
        assert!(run.stdout.is_empty());
        let bytes = fs::read(repo_path(&input)).unwrap();
        let run = huber(&["-p", "-:pred", "-t", "-:target"], Some(&bytes));
        run.fails(1, &[reason], "");
    }
}

#[test]
fn a_torch_save_file_is_named() {
    let run = huber(
        &["-p", &format!("{DIR}/torch/model.pt"), "-t", "x.npy"],
        None,
    );
    assert_eq!(run.status, Some(1));
    assert!(
        run.stderr.contains("a PyTorch file (torch.save)")
            && run.stderr.contains("np.save(path, t.numpy())")
            && !run.stderr.contains("data.pkl"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_key_may_hold_a_colon() {
    let c = format!("{DIR}/colon.csv");
    let run = huber(
        &["-p", &format!("{c}:pred:xgb"), "-t", &format!("{c}:target")],
        None,
    );
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    let by_number = huber(&["-p", &format!("{c}:2"), "-t", &format!("{c}:3")], None);
    assert_eq!(run.stdout, by_number.stdout);
    let run = huber(
        &["-p", &format!("{c}:pred:lgb"), "-t", &format!("{c}:target")],
        None,
    );
    assert!(
        run.stderr.contains("no column named 'pred:lgb'"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_note_on_how_the_files_were_read_is_shown_once() {
    let dir = crate::util::temp_dir();
    crate::util::write(dir.path(), "a.csv", "0,1\n1,2\n3,4\n");
    // The first lines differ: the note is shown for the first file only all the same.
    crate::util::write(dir.path(), "b.csv", "7,8\n5,6\n");
    let d = dir.path().display().to_string();
    let run = huber(&["-p", &format!("{d}:1"), "-t", &format!("{d}:2")], None);
    assert_eq!(
        (run.status, run.out()),
        (Some(0), "0.5\n".to_string()),
        "{}",
        run.stderr
    );
    assert_eq!(
        run.stderr.matches("huber: note:").count(),
        1,
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("a.csv: the first line (0,1)"),
        "{}",
        run.stderr
    );
}

#[test]
fn json_lines_shards_and_a_compressed_json_lines_file() {
    let want = json(&format!("{DIR}/jsonl_all/all.jsonl"), &[]);
    assert_eq!(want["count"], 240);
    // pandas writes its empty partition as one line end: a shard of 0 rows.
    assert_eq!(json(&format!("{DIR}/jsonl"), &[]), want);
    assert_eq!(json(&format!("{DIR}/jsonl/part-*.jsonl"), &[]), want);
    let empty = json(&format!("{DIR}/jsonl/part-1.jsonl"), &[]);
    assert_eq!(
        (empty["count"].clone(), empty["shape"].clone()),
        (0.into(), serde_json::json!([0]))
    );
    // By path, gzip-compressed JSON Lines is read as JSON Lines (it was named an Arrow file).
    let gz = format!("{DIR}/jsonl_all/all.jsonl.gz");
    assert_eq!(json(&gz, &[]), want);
    // Its rows are counted where a mode needs them, and it is read again for --top's lines.
    let plain = format!("{DIR}/jsonl_all/all.jsonl");
    for extra in [
        &["-r", "none"][..],
        &["--grad"],
        &["-d", "auto"],
        &["--top", "3", "--id", "id"],
    ] {
        let (a, b) = (pair(&gz, extra), pair(&plain, extra));
        assert_eq!(
            (a.status, a.out()),
            (Some(0), b.out()),
            "{extra:?}: {}",
            a.stderr
        );
    }
}

#[test]
fn a_json_lines_field_that_no_line_has_is_refused() {
    let file = format!("{DIR}/jsonl_all/all.jsonl");
    let typo = format!("{file}:tagret");
    let run = huber(&["-p", &format!("{file}:pred"), "-t", &typo], None);
    assert_eq!(run.status, Some(1), "{}", run.stderr);
    assert_eq!(
        run.stderr.trim(),
        format!(
            "huber: error: {typo}: no line has a field 'tagret' (of 240 lines with data): is the name right?"
        )
    );
    // Also where the rows are counted first (the readers then never ask past the last one).
    for extra in [&["--top", "2"][..], &["-r", "none"], &["-d", "auto"]] {
        let pred = format!("{file}:pred");
        let mut args = vec!["-p", &pred, "-t", &typo];
        args.extend_from_slice(extra);
        let run = huber(&args, None);
        run.fails(1, &["no line has a field 'tagret'"], &format!("{extra:?}"));
    }
    // The --by field is named as its own input, not as the pred input that read the lines.
    let by = format!("{file}:stor");
    let run = pair(&file, &["--by", &by]);
    assert_eq!(run.status, Some(1), "{}", run.stderr);
    assert!(
        run.stderr
            .starts_with(&format!("huber: error: {by}: no line has a field 'stor'")),
        "{}",
        run.stderr
    );
    // A field that some lines lack is missing there, as before: not an error.
    let text = "{\"pred\": 1.0, \"target\": 0.5}\n{\"pred\": 2.0}\n";
    let run = huber(
        &[
            "-p", "-:pred", "-t", "-:target", "--nan", "omit", "-f", "json",
        ],
        Some(text.as_bytes()),
    );
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    let v: Value = serde_json::from_str(&run.out()).unwrap();
    assert_eq!(v["count"], 1);
}

#[test]
fn a_bad_value_in_a_shard_names_the_shard() {
    let dir = crate::util::temp_dir();
    let csv = dir.path().join("csv");
    fs::create_dir(&csv).unwrap();
    crate::util::write(&csv, "a.csv", "pred,target\n1,2\n");
    crate::util::write(&csv, "b.csv", "pred,target\n1,2\n1,x\n");
    let jsonl = dir.path().join("jsonl");
    fs::create_dir(&jsonl).unwrap();
    crate::util::write(
        &jsonl,
        "a.jsonl",
        "{\"pred\": 1, \"target\": 2, \"w\": 1}\n",
    );
    crate::util::write(&jsonl, "b.jsonl", "{\"pred\": 1, \"target\": 2}\n");
    let (c, j) = (csv.display().to_string(), jsonl.display().to_string());
    // The line is the shard's: the message says which shard (it said `csv:target: line 3`).
    let run = pair(&c, &[]);
    assert_eq!(run.status, Some(1));
    assert_eq!(
        run.stderr.trim(),
        format!("huber: error: {c}:target: {c}/b.csv: line 3, column 2: 'x' is not a number")
    );
    // A field that no line of one shard has names that shard.
    let run = pair(&j, &["-w", &format!("{j}:w")]);
    assert_eq!(run.status, Some(1));
    assert!(
        run.stderr.starts_with(&format!(
            "huber: error: {j}:w: {j}/b.jsonl: no line has a field 'w'"
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn a_hive_dataset_of_json_lines_gives_its_partition_keys() {
    let dir = crate::util::temp_dir();
    let (jsonl, csv) = (dir.path().join("jsonl"), dir.path().join("csv"));
    for (store, rows) in [
        ("a", &[(1.0, 0.5), (2.0, 0.5)][..]),
        ("b", &[(3.0, 0.5)][..]),
    ] {
        let (j, c) = (
            jsonl.join(format!("store={store}")),
            csv.join(format!("store={store}")),
        );
        fs::create_dir_all(&j).unwrap();
        fs::create_dir_all(&c).unwrap();
        let lines: String = rows
            .iter()
            .map(|(p, t)| format!("{{\"pred\": {p}, \"target\": {t}}}\n"))
            .collect();
        crate::util::write(&j, "part-0.jsonl", lines);
        let table: String = rows.iter().map(|(p, t)| format!("{p},{t}\n")).collect();
        crate::util::write(&c, "part-0.csv", format!("pred,target\n{table}"));
    }
    // The JSON Lines rows are not counted before a reduction: each is given its folder's key as
    // it is read (the keys were counted, 3, against the inputs' bound from the files' length).
    let (j, c) = (jsonl.display().to_string(), csv.display().to_string());
    let want = pair(&c, &["--by", &format!("{c}:store"), "-d", "0.5,1"]);
    let got = pair(&j, &["--by", &format!("{j}:store"), "-d", "0.5,1"]);
    assert_eq!(got.status, Some(0), "{}", got.stderr);
    let strip = |out: String| out.replace(&c, "").replace(&j, "");
    assert_eq!(strip(got.out()), strip(want.out()));
    assert!(got.out().contains("\"key\":\"b\""), "{}", got.out());
}

#[test]
fn a_partition_key_is_listed_beside_the_worst_rows() {
    // The rows with their store, as the one file's store column lists them.
    let rows = |input: &str| {
        let v = json(input, &["--top", "5", "--id", "store"]);
        let mut rows: Vec<(String, String, String)> = v["top"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["pred"].to_string(),
                    r["target"].to_string(),
                    r["id"].to_string(),
                )
            })
            .collect();
        rows.sort();
        rows
    };
    let want = rows(&format!("{DIR}/all.csv"));
    assert_eq!(want.len(), 5);
    for input in ["hive", "duckdb_hive"] {
        assert_eq!(rows(&format!("{DIR}/{input}")), want, "{input}");
    }
}

#[test]
fn integer_partition_keys_are_integers_as_pyarrow_infers_them() {
    // The polars shards under folders pi=10, pi=-1 and pi=2: integer keys, in numeric order (as
    // text they would sort -1, 10, 2), and a number in JSON; a folder pi=007 makes them text.
    let dir = crate::util::temp_dir();
    let folders = |names: [&str; 3]| {
        for (i, name) in names.iter().enumerate() {
            let folder = dir.path().join(name);
            fs::create_dir_all(&folder).unwrap();
            let shard = repo_path(&format!("{DIR}/polars/data-{i}.parquet"));
            fs::copy(shard, folder.join("part-0.parquet")).unwrap();
        }
    };
    let keys = |root: &str| {
        let d = dir.path().join(root).display().to_string();
        let v = json(&d, &["--by", &format!("{d}:pi"), "-r", "sum"]);
        let counts: Vec<(Value, Value)> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["key"].clone(), r["count"].clone()))
            .collect();
        counts
    };
    folders(["ints/pi=10", "ints/pi=-1", "ints/pi=2"]);
    let counts = |v: &[(Value, Value)]| {
        v.iter()
            .map(|(_, c)| c.as_u64().unwrap())
            .collect::<Vec<_>>()
    };
    let got = keys("ints");
    let want_keys: Vec<Value> = vec![(-1).into(), 2.into(), 10.into()];
    assert_eq!(
        got.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
        want_keys
    );
    // data-1 is under -1, data-2 under 2, data-0 under 10.
    let shard_rows = |i: usize| {
        json(&format!("{DIR}/polars/data-{i}.parquet"), &[])["count"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(
        counts(&got),
        vec![shard_rows(1), shard_rows(2), shard_rows(0)]
    );
    folders(["text/pi=10", "text/pi=-1", "text/pi=007"]);
    let got = keys("text");
    let want_keys: Vec<Value> = vec!["-1".into(), "007".into(), "10".into()];
    assert_eq!(
        got.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
        want_keys
    );
    // Past 32 bits pyarrow (and so Dask) reads text, and so does huber; -0 is not printed so.
    folders(["wide/pi=2147483647", "wide/pi=3000000000", "wide/pi=-0"]);
    let want_keys: Vec<Value> = vec!["-0".into(), "2147483647".into(), "3000000000".into()];
    let got: Vec<Value> = keys("wide").into_iter().map(|(k, _)| k).collect();
    assert_eq!(got, want_keys);
    folders(["edge/pi=2147483647", "edge/pi=-2147483648", "edge/pi=0"]);
    let want_keys: Vec<Value> = vec![(-2147483648i64).into(), 0.into(), 2147483647.into()];
    let got: Vec<Value> = keys("edge").into_iter().map(|(k, _)| k).collect();
    assert_eq!(got, want_keys);
}

#[test]
fn the_worst_rows_of_a_dataset_name_their_file() {
    // Each listed row, looked up in the file it names, is that file's own listed row: the same
    // id, values and line (CSV and JSON Lines number lines in their own file).
    for (input, lines) in [
        ("dask_csv", true),
        ("jsonl", true),
        ("polars/*.parquet", false),
        ("hive", false),
    ] {
        let v = json(&format!("{DIR}/{input}"), &["--top", "5", "--id", "id"]);
        let top = v["top"].as_array().unwrap();
        assert_eq!(top.len(), 5, "{input}");
        for row in top {
            assert_eq!(row.get("line").is_some(), lines, "{input}: {row}");
            let file = row["file"].as_str().unwrap();
            assert!(file.starts_with(DIR), "{input}: {file}");
            let own = json(file, &["--top", "240", "--id", "id"]);
            let found = own["top"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["id"] == row["id"]);
            let found = found.unwrap_or_else(|| panic!("{input}: {row} is not in {file}"));
            for key in ["line", "pred", "target", "loss"] {
                assert_eq!(found.get(key), row.get(key), "{input}: {key} of {row}");
            }
        }
    }
    // A single file, and a CSV file's lines beside a dataset's rows, name no file.
    let one = json(&format!("{DIR}/all.csv"), &["--top", "2"]);
    assert!(one["top"][0].get("file").is_none(), "{one}");
    let (p, t) = (
        format!("{DIR}/all.csv:pred"),
        format!("{DIR}/polars:target"),
    );
    let run = huber(&["-p", &p, "-t", &t, "--top", "2"], None);
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    assert!(run.out().starts_with("index\tline\tpred"), "{}", run.out());
    // Text and CSV tables have the column after the index.
    let (p, t) = (
        format!("{DIR}/dask_csv:pred"),
        format!("{DIR}/dask_csv:target"),
    );
    let run = huber(&["-p", &p, "-t", &t, "--top", "1", "-f", "csv"], None);
    let header = run.out().lines().next().map(str::to_string);
    assert_eq!(header.as_deref(), Some("index,file,line,pred,target,loss"));
}

#[test]
fn shards_whose_text_columns_differ_in_layout_only_are_one_dataset() {
    // pandas writes large_string, DuckDB string: the same text, the same table.
    let got = json(
        &format!("{DIR}/writers"),
        &["--by", &format!("{DIR}/writers:store")],
    );
    let want = json(
        &format!("{DIR}/all.parquet"),
        &["--by", &format!("{DIR}/all.parquet:store")],
    );
    let values = |v: &Value| -> Vec<Value> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|g| g["state"].clone())
            .collect()
    };
    assert_eq!(values(&got), values(&want));
}

#[test]
fn an_empty_file_adds_no_rows_to_a_dataset() {
    let dir = crate::util::Dir::new();
    dir.write("a.csv", "p,t\n1,0\n3,0\n");
    dir.write("b.csv", "");
    dir.write("c.csv", "p,t\n0,0\n");
    let d = dir.path("").display().to_string();
    let run = huber(
        &[
            "-p",
            &format!("{d}:p"),
            "-t",
            &format!("{d}:t"),
            "-r",
            "sum",
        ],
        None,
    );
    assert_eq!(
        (run.status, run.out()),
        (Some(0), "3.0\n".to_string()),
        "{}",
        run.stderr
    );
    // --by reads the same files.
    let by = format!("{d}:p");
    let run = huber(
        &["-p", &by, "-t", &format!("{d}:t"), "-r", "sum", "--by", &by],
        None,
    );
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    let only = crate::util::Dir::new();
    only.write("a.csv", "");
    let d = only.path("").display().to_string();
    let run = huber(&["-p", &format!("{d}:p"), "-t", &format!("{d}:t")], None);
    run.fails(1, &["every file of the dataset is empty"], "");
}

#[test]
fn a_glob_skips_the_markers_a_folder_skips() {
    let dir = crate::util::Dir::new();
    dir.write("part-0.csv", "p,t\n1,0\n");
    dir.write("_SUCCESS", "");
    dir.write("_metadata", "not a table");
    dir.write("part-0.csv.crc", "crc");
    let run = dir.run(["-p", "*:p", "-t", "*:t"], None);
    assert_eq!(
        (run.status, run.out()),
        (Some(0), "0.5\n".to_string()),
        "{}",
        run.stderr
    );
    // Spelt by the pattern, a marker is the user's to read.
    let run = dir.run(["-p", "_*:p", "-t", "_*:t"], None);
    assert_eq!(run.status, Some(1), "{}", run.stderr);
}

#[test]
fn a_file_of_another_format_first_in_a_folder_is_named_as_maybe_not_data() {
    let dir = crate::util::Dir::new();
    dir.write("README.txt", "hello\n");
    fs::copy(
        repo_path(&format!("{DIR}/all.parquet")),
        dir.path("part-0.parquet"),
    )
    .unwrap();
    let d = dir.path("").display().to_string();
    let run = huber(
        &["-p", &format!("{d}:pred"), "-t", &format!("{d}:target")],
        None,
    );
    run.fails(
        1,
        &["README.txt or ", "part-0.parquet is not data, leave it out"],
        "",
    );
}

#[test]
fn a_json_array_is_named_and_a_byte_order_mark_is_skipped() {
    let dir = crate::util::Dir::new();
    dir.write("records.json", r#"[{"p":1,"t":0},{"p":2,"t":0}]"#);
    dir.write("duck.json", "[\n\t{\"p\":1,\"t\":0}\n]\n");
    for name in ["records.json", "duck.json"] {
        let run = dir.run(
            ["-p", &format!("{name}:p"), "-t", &format!("{name}:t")],
            None,
        );
        run.fails(
            1,
            &["line 1: a JSON array, not JSON Lines", "lines=True"],
            name,
        );
    }
    dir.write(
        "bom.jsonl",
        b"\xEF\xBB\xBF{\"p\":1,\"t\":0}\n{\"p\":3,\"t\":0}\n",
    );
    dir.write("bom", b"\xEF\xBB\xBF{\"p\":1,\"t\":0}\n{\"p\":3,\"t\":0}\n");
    for name in ["bom.jsonl", "bom"] {
        for extra in [&["-r", "sum"][..], &["-r", "none"][..]] {
            let mut args = vec![
                "-p".to_string(),
                format!("{name}:p"),
                "-t".into(),
                format!("{name}:t"),
            ];
            args.extend(extra.iter().map(|s| s.to_string()));
            let run = dir.run(&args, None);
            assert_eq!(run.status, Some(0), "{name} {extra:?}: {}", run.stderr);
        }
    }
    let run = dir.run(
        ["-p", "bom.jsonl:p", "-t", "bom.jsonl:t", "-r", "sum"],
        None,
    );
    assert_eq!(run.out(), "3.0\n");
}

#[test]
fn a_codec_is_named_once() {
    let dir = crate::util::Dir::new();
    dir.write(
        "bad.csv.bz2",
        b"BZh91AY&SY\x00\x01\x02\x03garbage, not bzip2 blocks",
    );
    let run = dir.run(["-p", "bad.csv.bz2:p", "-t", "bad.csv.bz2:t"], None);
    assert_eq!(run.status, Some(1));
    assert_eq!(run.stderr.matches("bzip2").count(), 1, "{}", run.stderr);
}

#[test]
fn a_nan_in_a_shard_of_numbers_names_the_shard_and_row() {
    let dir = crate::util::Dir::new();
    let f64s = |xs: &[f64]| xs.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let npy = |xs: &[f64]| crate::util::npy_bytes("<f8", &[xs.len()], &f64s(xs));
    fs::create_dir(dir.path("p")).unwrap();
    dir.write("p/a.npy", npy(&[1.0, 2.0]));
    dir.write("p/b.npy", npy(&[3.0, f64::NAN, 4.0]));
    dir.write("t.npy", npy(&[0.0; 5]));
    let run = dir.run(["-p", "p", "-t", "t.npy", "--nan", "error"], None);
    run.fails(
        1,
        &["the loss of element 3 is NaN (p: p/b.npy: row 1 (from 0))"],
        "",
    );
}

#[test]
fn a_glob_the_shell_split_gets_the_hint_to_quote_it() {
    let dir = crate::util::Dir::new();
    dir.write(
        "p1.npy",
        crate::util::npy_bytes("<f8", &[1], &1f64.to_le_bytes()),
    );
    dir.write(
        "p2.npy",
        crate::util::npy_bytes("<f8", &[1], &2f64.to_le_bytes()),
    );
    // What `huber -p p*.npy -t p1.npy` reaches huber as.
    let run = dir.run(["-p", "p1.npy", "p2.npy", "-t", "p1.npy"], None);
    run.fails(2, &["unexpected argument 'p2.npy'", "quote it"], "");
    // Files without -p are not a glob's: they were meant as inputs.
    for args in [
        &["-p", "p1.npy", "stray", "-t", "p1.npy"][..],
        &["p1.npy", "p2.npy"][..],
        &["-t", "p1.npy", "p1.npy"][..],
    ] {
        let run = dir.run(args, None);
        run.fails(
            2,
            &["inputs are given with -p and -t"],
            &format!("{args:?}"),
        );
    }
}

#[test]
fn a_header_split_by_another_delimiter_gets_the_option() {
    let tsv = b"id\tpred\ttarget\n1\t2.5\t0\n";
    let run = huber(&["-p", "-:pred", "-t", "-:target"], Some(tsv));
    run.fails(1, &["pass --delimiter '\\t'"], "");
    let run = huber(
        &["-p", "-:pred", "-t", "-:target", "--delimiter", "\\t"],
        Some(tsv),
    );
    assert_eq!(
        (run.status, run.out()),
        (Some(0), "2.0\n".to_string()),
        "{}",
        run.stderr
    );
}
