//! `--by`: one result per group, against pandas' `groupby(sort=True)` and numpy, and against
//! separate runs over each group's rows.

use proptest::prelude::*;
use serde_json::Value;

use crate::util::{Dir, huber, npy_bytes, number, repo_path};

const SALES: &str = "fixtures/breakdowns/sales.csv";

/// The breakdowns' reference manifest (pandas and numpy results).
fn manifest_object(path: &str) -> Value {
    let text = std::fs::read_to_string(repo_path(path)).expect("manifest");
    serde_json::from_str(&text).expect("manifest is JSON")
}

fn json(stdout: &[u8]) -> Vec<Value> {
    match serde_json::from_slice(stdout).expect("JSON output") {
        Value::Array(items) => items,
        other => panic!("expected an array, got {other}"),
    }
}

fn loss_args(case: &Value) -> Vec<String> {
    let mut args = vec!["-l".to_string(), case["loss"].as_str().unwrap().to_string()];
    if let Some(d) = case.get("delta") {
        args.extend(["-d".to_string(), d.to_string()]);
    }
    args
}

/// The JSON records of a `--by` run with the loss of manifest `case`; the run must succeed.
fn grouped(pred: &str, target: &str, by: &str, case: &Value) -> Vec<Value> {
    let mut args: Vec<String> = ["-p", pred, "-t", target, "--by", by, "-f", "json"]
        .map(String::from)
        .to_vec();
    args.extend(loss_args(case));
    let run = huber(&args, None);
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    json(&run.stdout)
}

#[test]
fn a_text_column_gives_pandas_groupby_sorted_bit_for_bit() {
    let cases = manifest_object("fixtures/breakdowns/manifest.json");
    for case in cases["by_csv"].as_array().unwrap() {
        let records = grouped(
            &format!("{SALES}:pred"),
            &format!("{SALES}:target"),
            &format!("{SALES}:store"),
            case,
        );
        let groups = case["groups"].as_array().unwrap();
        assert_eq!(records.len(), groups.len());
        for (r, g) in records.iter().zip(groups) {
            assert_eq!(r["by"], format!("{SALES}:store"));
            assert_eq!(r["key"], g["key"], "keys in pandas' order");
            assert_eq!(r["count"], g["count"]);
            assert_eq!(
                number(&r["sum"]).to_bits(),
                number(&g["sum"]).to_bits(),
                "{g}"
            );
            assert_eq!(
                number(&r["value"]).to_bits(),
                number(&g["exact"]).to_bits(),
                "{g}"
            );
            assert_eq!(r["shape"], serde_json::json!([240]));
        }
    }
}

#[test]
fn labels_per_sample_give_numpy_means_bit_for_bit() {
    let cases = manifest_object("fixtures/breakdowns/manifest.json");
    let dir = "fixtures/breakdowns";
    for case in cases["by_labels"].as_array().unwrap() {
        let records = grouped(
            &format!("{dir}/pred.npy"),
            &format!("{dir}/target.npy"),
            &format!("{dir}/labels.npy"),
            case,
        );
        let groups = case["groups"].as_array().unwrap();
        assert_eq!(records.len(), groups.len());
        for (r, g) in records.iter().zip(groups) {
            assert_eq!(r["key"], g["key"]);
            assert_eq!(r["count"], g["count"]);
            assert_eq!(r["dtype"], "float32");
            assert_eq!(number(&r["sum"]).to_bits(), number(&g["sum"]).to_bits());
            let value = number(&r["value"]) as f32;
            assert_eq!(value.to_bits(), (number(&g["result"]) as f32).to_bits());
        }
    }
}

/// Keys that differ only in how a control character is spelt stay apart in text output: a key
/// holding a line break prints as `a\nb`, one holding a backslash and an `n` as `a\\nb`, a
/// backslash alone as `\\`, a tab as `\t`.
#[test]
fn text_output_tells_every_key_apart() {
    let dir = Dir::new();
    dir.write(
        "k.csv",
        "k,p,t\n\"a\nb\",1,0\na\\nb,2,0\n\\,3,0\n\"x\ty\",4,0\nx\\ty,5,0\n",
    );
    let out = dir.run(
        [
            "-p", "k.csv:p", "-t", "k.csv:t", "--by", "k.csv:k", "-r", "sum", "-l", "l1",
        ],
        None,
    );
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let text = out.out();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort_unstable();
    let mut want = [
        "a\\nb\t1.0",
        "a\\\\nb\t2.0",
        "\\\\\t3.0",
        "x\\ty\t4.0",
        "x\\\\ty\t5.0",
    ];
    want.sort_unstable();
    assert_eq!(lines, want);
}

/// With several δ each text line names the δ it is for (one δ: `key<TAB>value`, as before); a
/// merge of such shards prints the same lines. An empty key is a group of its own, `""`.
#[test]
fn text_lines_of_several_deltas_name_their_delta() {
    let dir = Dir::new();
    dir.write("k.csv", "k,p,t\na,1,0\n,3,0\na,2,0\n");
    let base = [
        "-p", "k.csv:p", "-t", "k.csv:t", "--by", "k.csv:k", "-r", "sum",
    ];
    let run = |extra: &[&str]| {
        let out = dir.run([&base[..], extra].concat(), None);
        assert_eq!(out.status, Some(0), "{}", out.stderr);
        out.out()
    };
    assert_eq!(run(&["-d", "2"]), "\t4.0\na\t2.5\n");
    let want = "delta=0.5\t\t1.375\ndelta=0.5\ta\t1.25\n\
                delta=2.0\t\t4.0\ndelta=2.0\ta\t2.5\n";
    assert_eq!(run(&["-d", "0.5,2"]), want);
    let smooth = run(&["-l", "smooth-l1", "--beta", "1,2"]);
    assert!(smooth.starts_with("beta=1.0\t\t"), "{smooth}");
    dir.write("s.json", run(&["-d", "0.5,2", "-f", "json"]));
    let merged = dir.run(["merge", "s.json"], None);
    assert_eq!(merged.out(), want);
}

#[test]
fn text_and_csv_outputs_escape_and_quote_keys() {
    let args = [
        "-p",
        "fixtures/breakdowns/sales.csv:pred",
        "-t",
        "fixtures/breakdowns/sales.csv:target",
        "--by",
        "fixtures/breakdowns/sales.csv:store",
    ];
    let text = huber(&args, None);
    assert_eq!(text.status, Some(0), "{}", text.stderr);
    let json_run = huber(&[&args[..], &["-f", "json"]].concat(), None);
    let records = json(&json_run.stdout);
    let lines: Vec<String> = text.out().lines().map(str::to_string).collect();
    assert_eq!(lines.len(), records.len());
    for (line, r) in lines.iter().zip(&records) {
        let key = r["key"].as_str().unwrap().replace('\n', "\\n");
        let (k, v) = line.split_once('\t').expect("key<TAB>value");
        assert_eq!(k, key);
        assert_eq!(
            number(&Value::from(v)).to_bits(),
            number(&r["value"]).to_bits()
        );
    }
    let csv_run = huber(&[&args[..], &["-f", "csv"]].concat(), None);
    assert_eq!(csv_run.status, Some(0), "{}", csv_run.stderr);
    let mut reader = csv::Reader::from_reader(&csv_run.stdout[..]);
    let header = reader.headers().unwrap().clone();
    assert_eq!(&header[0], "key");
    assert_eq!(&header[1], "by");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), records.len());
    for (row, r) in rows.iter().zip(&records) {
        assert_eq!(&row[0], r["key"].as_str().unwrap());
        let value = header.iter().position(|h| h == "value").unwrap();
        assert_eq!(row[value].parse::<f64>().unwrap(), number(&r["value"]));
    }
}

/// A row: key, pred (`None`: missing), target, weight.
type Row = (String, Option<f64>, f64, f64);

/// A CSV of `rows`; an empty pred is a missing value.
fn table(rows: &[Row]) -> String {
    let mut s = String::from("key,pred,target,weight\n");
    for (k, p, t, w) in rows {
        let p = p.map(|p| p.to_string()).unwrap_or_default();
        s.push_str(&format!("\"{}\",{p},{t},{w}\n", k.replace('"', "\"\"")));
    }
    s
}

fn by_run(dir: &Dir, file: &str, extra: &[&str]) -> Vec<Value> {
    let mut args = vec![
        "-p".to_string(),
        format!("{file}:pred"),
        "-t".to_string(),
        format!("{file}:target"),
        "-w".to_string(),
        format!("{file}:weight"),
        "-f".to_string(),
        "json".to_string(),
        "--nan".to_string(),
        "omit".to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let run = dir.run(&args, None);
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    match serde_json::from_slice(&run.stdout).unwrap() {
        Value::Array(items) => items,
        one => vec![one],
    }
}

/// The fields a group's result shares with a separate run over its rows.
fn exact_fields(r: &Value) -> Vec<Value> {
    [
        "loss",
        "delta",
        "reduction",
        "value",
        "sum",
        "count",
        "linear_fraction",
        "state",
    ]
    .iter()
    .map(|f| r.get(*f).cloned().unwrap_or(Value::Null))
    .collect()
}

const KEYS: [&str; 5] = ["b", "a,1", "", "Zé \"q\"", "a"];

fn rows_strategy() -> impl Strategy<Value = Vec<Row>> {
    // Values on a dyadic grid (multiples of 1/16, small); sums are exact whatever the values, so
    // a group must give the same bits as a separate run over its rows.
    let row = (
        0..KEYS.len(),
        prop::option::weighted(0.95, -400i32..400),
        -400i32..400,
        0i32..32,
    )
        .prop_map(|(k, p, t, w)| {
            (
                KEYS[k].to_string(),
                p.map(|p| f64::from(p) / 16.0),
                f64::from(t) / 16.0,
                f64::from(w) / 16.0,
            )
        });
    prop::collection::vec(row, 1..40_000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn groups_equal_separate_runs_over_their_rows(rows in rows_strategy()) {
        let dir = Dir::new();
        dir.write("all.csv", table(&rows));
        for reduction in ["mean", "sum"] {
            let grouped = by_run(
                &dir,
                "all.csv",
                &["--by", "all.csv:key", "-d", "0.5,2", "-r", reduction],
            );
            let mut keys: Vec<&str> = KEYS.iter().copied()
                .filter(|k| rows.iter().any(|r| r.0 == *k))
                .collect();
            keys.sort();
            prop_assert_eq!(grouped.len(), 2 * keys.len());
            for (i, key) in keys.iter().enumerate() {
                let part: Vec<_> = rows.iter().filter(|r| r.0 == *key).cloned().collect();
                dir.write("part.csv", table(&part));
                let alone = by_run(&dir, "part.csv", &["-d", "0.5,2", "-r", reduction]);
                for (d, single) in alone.iter().enumerate() {
                    let g = &grouped[d * keys.len() + i];
                    prop_assert_eq!(&g["key"], &Value::from(*key));
                    prop_assert_eq!(exact_fields(g), exact_fields(single));
                }
            }
        }
    }
}

/// An NPY file of int64 labels.
fn npy_i64(labels: &[i64], shape: &[usize]) -> Vec<u8> {
    let data: Vec<u8> = labels.iter().flat_map(|l| l.to_le_bytes()).collect();
    npy_bytes("<i8", shape, &data)
}

/// An NPY file of f64 values.
fn npy_f64(values: &[f64]) -> Vec<u8> {
    let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    npy_bytes("<f8", &[values.len()], &data)
}

#[test]
fn every_thread_count_gives_the_same_bytes() {
    let dir = Dir::new();
    let n = 100_003;
    let pred: Vec<f64> = (0..n).map(|i| ((i * 7919) % 1000) as f64 / 7.0).collect();
    let target: Vec<f64> = (0..n).map(|i| ((i * 104_729) % 997) as f64 / 3.0).collect();
    let labels: Vec<i64> = (0..n).map(|i| ((i * 31) % 101) as i64 - 50).collect();
    dir.write("p.npy", npy_f64(&pred));
    dir.write("t.npy", npy_f64(&target));
    dir.write("k.npy", npy_i64(&labels, &[n]));
    let rows: Vec<_> = (0..n)
        .map(|i| (format!("k{}", labels[i]), Some(pred[i]), target[i], 1.0))
        .collect();
    dir.write("all.csv", table(&rows));
    let cases: [&[&str]; 2] = [
        &["-p", "p.npy", "-t", "t.npy", "--by", "k.npy", "-d", "0.5,3"],
        &[
            "-p",
            "all.csv:pred",
            "-t",
            "all.csv:target",
            "--by",
            "all.csv:key",
        ],
    ];
    for args in cases {
        let outs: Vec<Vec<u8>> = ["1", "2", "3"]
            .iter()
            .map(|j| {
                let run = dir.run([args, &["-f", "json", "-j", j]].concat(), None);
                assert_eq!(run.status, Some(0), "{}", run.stderr);
                run.stdout
            })
            .collect();
        assert_eq!(
            json(&outs[0]).len(),
            if args[1] == "p.npy" { 202 } else { 101 }
        );
        assert!(outs.iter().all(|o| *o == outs[0]), "{args:?}");
    }
}

#[test]
fn merged_grouped_shards_equal_one_run() {
    let dir = Dir::new();
    let rows: Vec<_> = (0..3000)
        .map(|i| {
            let key = KEYS[(i * 7) % 5].to_string();
            (key, Some((i % 17) as f64 / 3.0), (i % 5) as f64, 0.5)
        })
        .collect();
    dir.write("all.csv", table(&rows));
    // The first shard lacks the key "b" (only in rows the second holds).
    let (a, b): (Vec<_>, Vec<_>) = rows
        .iter()
        .cloned()
        .enumerate()
        .partition(|(i, r)| *i < 1000 && r.0 != "b");
    let strip = |v: Vec<(usize, Row)>| -> Vec<_> { v.into_iter().map(|(_, r)| r).collect() };
    let (a, b) = (strip(a), strip(b));
    dir.write("a.csv", table(&a));
    dir.write("b.csv", table(&b));
    let args = |f: &str| {
        vec![
            "-p".to_string(),
            format!("{f}:pred"),
            "-t".to_string(),
            format!("{f}:target"),
            "--by".to_string(),
            format!("{f}:key"),
            "-d".to_string(),
            "0.5,2".to_string(),
            "-f".to_string(),
            "json".to_string(),
            "-o".to_string(),
            f.replace(".csv", ".json"),
        ]
    };
    for f in ["a.csv", "b.csv", "all.csv"] {
        let run = dir.run(args(f), None);
        assert_eq!(run.status, Some(0), "{}", run.stderr);
    }
    let merged = dir.run(["merge", "b.json", "a.json", "-f", "json"], None);
    assert_eq!(merged.status, Some(0), "{}", merged.stderr);
    let one = json(&dir.read("all.json"));
    let merged = json(&merged.stdout);
    let without_by = |v: &[Value]| -> Vec<Value> {
        v.iter()
            .map(|r| {
                let mut r = r.clone();
                r.as_object_mut().unwrap().remove("by");
                r
            })
            .collect()
    };
    assert_eq!(without_by(&merged), without_by(&one));
    // Merged again with an ungrouped result: refused, naming that shard.
    let plain = dir.run(
        [
            "-p",
            "all.csv:pred",
            "-t",
            "all.csv:target",
            "-f",
            "json",
            "-o",
            "plain.json",
        ],
        None,
    );
    assert_eq!(plain.status, Some(0), "{}", plain.stderr);
    let mixed = dir.run(["merge", "a.json", "plain.json"], None);
    mixed.fails(1, &["plain.json", "no group key"], "");
}

#[test]
fn one_csv_stream_gives_values_and_keys() {
    let file = std::fs::read(repo_path(SALES)).unwrap();
    let piped = huber(
        &[
            "-p", "-:pred", "-t", "-:target", "--by", "-:store", "-f", "json",
        ],
        Some(&file),
    );
    assert_eq!(piped.status, Some(0), "{}", piped.stderr);
    let named = huber(
        &[
            "-p",
            &format!("{SALES}:pred"),
            "-t",
            &format!("{SALES}:target"),
            "--by",
            &format!("{SALES}:store"),
            "-f",
            "json",
        ],
        None,
    );
    let strip = |out: &[u8]| -> Vec<Value> {
        json(out)
            .into_iter()
            .map(|mut r| {
                r.as_object_mut().unwrap().remove("by");
                r
            })
            .collect()
    };
    assert_eq!(strip(&piped.stdout), strip(&named.stdout));
}

#[test]
fn bad_keys_and_options_are_refused() {
    let dir = Dir::new();
    dir.write("p.npy", npy_f64(&[1.0, 2.0, 3.0, 4.0]));
    dir.write("k3.npy", npy_i64(&[1, 2, 3], &[3]));
    dir.write("kf.npy", npy_f64(&[1.0, 2.0, 3.0, 4.0]));
    dir.write("k.npy", npy_i64(&[1, 2, 1, 2], &[4]));
    dir.write("k.csv", "key\na\nb\n");
    let cases: [(&[&str], i32, &[&str]); 10] = [
        (&["--by", "k3.npy"], 1, &["k3.npy", "(3,)", "(4,)"]),
        (&["--by", "k.csv:key"], 1, &["k.csv:key", "(2,)", "(4,)"]),
        (&["--by", "kf.npy"], 1, &["kf.npy", "not floats"]),
        (
            &["--by", "k.csv:store"],
            1,
            &["no column named 'store'", "key"],
        ),
        (&["--by", "k.npy", "-r", "none"], 2, &["--by", "none"]),
        (&["--by", "k.npy", "--grad"], 2, &["--by", "--grad"]),
        (
            &["--by", "k.npy", "-f", "npy", "-o", "x.npy"],
            2,
            &["--by", "text, JSON or CSV"],
        ),
        (&["--by", "missing.npy"], 1, &["missing.npy", "cannot open"]),
        (&["--by", "k.npy", "--axis", "0"], 2, &["--by", "--axis"]),
        (
            &["--by", "k.npy", "-w", "p.npy", "-r", "weighted-mean"],
            2,
            &["--by", "weighted-mean"],
        ),
    ];
    for (extra, status, words) in cases {
        let run = dir.run([&["-p", "p.npy", "-t", "p.npy"][..], extra].concat(), None);
        run.fails(status, words, &format!("{extra:?}"));
        assert!(run.stdout.is_empty());
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    }
    // An NPY stream on stdin read by --pred cannot also give the keys.
    let p = npy_f64(&[1.0, 2.0]);
    dir.write("p2.npy", &p);
    let run = dir.run(["-p", "-", "-t", "p2.npy", "--by", "-"], Some(&p));
    run.fails(2, &["second time"], "");
}

const KEYS_FILES: &str = "fixtures/breakdowns/keys";

/// Checks grouped records against a `by_columnar` manifest case: pandas' keys in its order,
/// counts, and the exact sums and means bit for bit.
fn assert_pandas_groups(records: &[Value], case: &Value, by: &str) {
    let groups = case["groups"].as_array().unwrap();
    assert_eq!(records.len(), groups.len(), "{by}");
    for (r, g) in records.iter().zip(groups) {
        assert_eq!(r["key"], g["key"], "{by}: keys in pandas' order");
        assert_eq!(r["count"], g["count"], "{by}: {g}");
        let sum = number(&r["sum"]).to_bits();
        assert_eq!(sum, number(&g["sum"]).to_bits(), "{by}: {g}");
        let value = number(&r["value"]).to_bits();
        assert_eq!(value, number(&g["exact"]).to_bits(), "{by}: {g}");
    }
}

#[test]
fn parquet_and_arrow_key_columns_give_pandas_groupby() {
    let cases = manifest_object("fixtures/breakdowns/manifest.json");
    for ext in ["parquet", "arrow", "arrows"] {
        let file = format!("{KEYS_FILES}.{ext}");
        for case in cases["by_columnar"].as_array().unwrap() {
            let by = format!("{file}:{}", case["column"].as_str().unwrap());
            let records = grouped(
                &format!("{file}:pred"),
                &format!("{file}:target"),
                &by,
                case,
            );
            assert_pandas_groups(&records, case, &by);
            assert!(records.iter().all(|r| r["by"] == by.as_str()));
        }
    }
}

#[test]
fn key_columns_of_another_file_or_of_stdin() {
    let cases = manifest_object("fixtures/breakdowns/manifest.json");
    let case = &cases["by_columnar"][2];
    assert_eq!(case["column"], "store_cat");
    // Keys of a file the inputs do not read: an Arrow stream beside Parquet values.
    let by = format!("{KEYS_FILES}.arrows:store_cat");
    let records = grouped(
        &format!("{KEYS_FILES}.parquet:pred"),
        &format!("{KEYS_FILES}.parquet:target"),
        &by,
        case,
    );
    assert_pandas_groups(&records, case, &by);
    // Values and keys from one Parquet file on stdin, read once.
    let bytes = std::fs::read(repo_path(&format!("{KEYS_FILES}.parquet"))).unwrap();
    let mut args: Vec<String> = [
        "-p",
        "-:pred",
        "-t",
        "-:target",
        "--by",
        "-:store_cat",
        "-f",
        "json",
    ]
    .map(String::from)
    .to_vec();
    args.extend(loss_args(case));
    let run = huber(&args, Some(&bytes));
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    assert_pandas_groups(&json(&run.stdout), case, "-:store_cat");
}

#[test]
fn columnar_keys_that_cannot_be_keys_are_refused() {
    let file = format!("{KEYS_FILES}.parquet");
    for (column, words) in [
        ("pred", &["--by", "keys.parquet:pred", "floats"][..]),
        ("nope", &["--by", "no column 'nope'", "store_cat"][..]),
    ] {
        let run = huber(
            &[
                "-p",
                &format!("{file}:pred"),
                "-t",
                &format!("{file}:target"),
                "--by",
                &format!("{file}:{column}"),
            ],
            None,
        );
        run.fails(1, words, "");
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    }
}

#[test]
fn fortran_ordered_labels_read_as_their_c_order() {
    let dir = Dir::new();
    let values: Vec<u8> = (1..=6).flat_map(|v| f64::from(v).to_le_bytes()).collect();
    dir.write("p.npy", npy_bytes("<f8", &[2, 3], &values));
    dir.write("t.npy", npy_bytes("<f8", &[2, 3], &[0; 48]));
    dir.write("c.npy", npy_i64(&[1, 2, 2, 3, 1, 3], &[2, 3]));
    // The same (2, 3) labels stored column by column.
    let f = npy_i64(&[1, 3, 2, 1, 2, 3], &[2, 3]);
    let at = f.windows(5).position(|w| w == b"False").unwrap();
    dir.write("f.npy", [&f[..at], b"True ", &f[at + 5..]].concat());
    let run = |by: &str| dir.run(["-p", "p.npy", "-t", "t.npy", "--by", by, "-l", "l1"], None);
    let (c, f) = (run("c.npy"), run("f.npy"));
    assert_eq!(f.status, Some(0), "{}", f.stderr);
    assert_eq!(
        String::from_utf8_lossy(&c.stdout),
        "1\t3.0\n2\t2.5\n3\t5.0\n"
    );
    assert_eq!(c.stdout, f.stdout);
}

/// A `--by` run over no elements writes `[]`; merged with other shards it adds nothing, as one run
/// over all of them would give, and merged alone it stays `[]`.
#[test]
fn an_empty_grouped_shard_merges() {
    let dir = Dir::new();
    dir.write("g.csv", "k,p,t\na,1,0\nb,3,1\na,2,0\n");
    let args = |f: &str| {
        [
            "-p",
            &format!("{f}:p"),
            "-t",
            &format!("{f}:t"),
            "--by",
            &format!("{f}:k"),
            "-f",
            "json",
        ]
        .map(String::from)
    };
    let one = dir.run(args("g.csv"), None);
    assert_eq!(one.status, Some(0), "{}", one.stderr);
    dir.write("g.json", &one.stdout);
    dir.write("empty.json", "[]\n");
    let merged = dir.run(["merge", "empty.json", "g.json", "-f", "json"], None);
    assert_eq!(merged.status, Some(0), "{}", merged.stderr);
    assert_eq!(json(&merged.stdout), json(&one.stdout));
    let alone = dir.run(["merge", "empty.json", "empty.json", "-f", "json"], None);
    assert_eq!((alone.status, alone.out().trim()), (Some(0), "[]"));
}

/// A grouped result of more than 16 MiB of JSON (a 100,000-group one is 22 MB, once refused as
/// "more than 16 MiB"; here 2,000 groups of 10 KB keys, which a debug build runs in seconds)
/// merges, from files and as a stream on stdin (results concatenated), to one run over both.
#[test]
fn large_grouped_shards_merge_from_files_and_streams() {
    let dir = Dir::new();
    let mut table = String::from("k,p,t\n");
    for i in 0..2_000 {
        let key = format!("{i:05}").repeat(2_000);
        table.push_str(&format!("{key},{}.5,{}\n", i % 7, i % 3));
    }
    dir.write("a.csv", &table);
    dir.write("both.csv", format!("{table}{}", &table[6..]));
    let args = |f: &str| {
        let cols = ["p", "t", "k"].map(|c| format!("{f}:{c}"));
        [
            "-p", &cols[0], "-t", &cols[1], "--by", &cols[2], "-f", "json",
        ]
        .map(String::from)
    };
    let shard = dir.run(args("a.csv"), None);
    assert_eq!(shard.status, Some(0), "{}", shard.stderr);
    assert!(shard.stdout.len() > 16 << 20, "{}", shard.stdout.len());
    dir.write("a.json", &shard.stdout);
    let one = dir.run(args("both.csv"), None);
    assert_eq!(one.status, Some(0), "{}", one.stderr);
    // The same records but for the key input's name (a.csv:k against both.csv:k).
    let one = String::from_utf8(one.stdout)
        .unwrap()
        .replace("both.csv:k", "a.csv:k");
    let merged = dir.run(["merge", "a.json", "a.json", "-f", "json"], None);
    assert_eq!(merged.status, Some(0), "{}", merged.stderr);
    assert!(merged.out() == one, "merged files differ from one run");
    let mut stream = shard.stdout.clone();
    stream.extend_from_slice(&shard.stdout);
    let piped = dir.run(["merge", "-", "-f", "json"], Some(&stream));
    assert_eq!(piped.status, Some(0), "{}", piped.stderr);
    assert!(
        piped.out() == one,
        "a stream of two results differs from one run"
    );
}

/// `huber merge -` reads results concatenated or one per line (NDJSON), as `parallel huber …
/// -f json ::: parts/* | huber merge -` writes them; anything else in the stream is refused by
/// value and result, and an endless string stops at the result length limit.
#[test]
fn merge_reads_a_stream_of_results() {
    let dir = Dir::new();
    dir.write("a.csv", "p,t\n1,0\n2,0\n");
    dir.write("b.csv", "p,t\n4,0\n");
    dir.write("ab.csv", "p,t\n1,0\n2,0\n4,0\n");
    let run = |f: &str| {
        let out = dir.run(
            [
                "-p",
                &format!("{f}:p"),
                "-t",
                &format!("{f}:t"),
                "-f",
                "json",
            ],
            None,
        );
        assert_eq!(out.status, Some(0), "{}", out.stderr);
        out.stdout
    };
    let (a, b, ab) = (run("a.csv"), run("b.csv"), run("ab.csv"));
    let trimmed = |v: &[u8]| String::from_utf8(v.to_vec()).unwrap().trim().to_string();
    for stream in [
        format!("{}{}", trimmed(&a), trimmed(&b)),
        format!("{}\n{}\n", trimmed(&a), trimmed(&b)),
        format!("\n {}\r\n\t{}", trimmed(&b), trimmed(&a)),
        format!("[]\n{}\n[]{}", trimmed(&a), trimmed(&b)),
    ] {
        let out = dir.run(["merge", "-", "-f", "json"], Some(stream.as_bytes()));
        assert_eq!(out.status, Some(0), "{stream:?}: {}", out.stderr);
        assert_eq!(trimmed(&out.stdout), trimmed(&ab), "{stream:?}");
    }
    for (stream, words) in [
        (String::new(), "<stdin>: holds no result"),
        (format!("{}\nnot json", trimmed(&a)), "not valid JSON"),
        (format!("{}\n3", trimmed(&a)), "a JSON object or array"),
        (
            format!("{}\n[{}]", trimmed(&a), "{\"loss\":\"l1\"}"),
            "result 1",
        ),
    ] {
        let out = dir.run(["merge", "-"], Some(stream.as_bytes()));
        out.fails(1, &[words], &format!("{stream:?}"));
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        assert!(out.stdout.is_empty());
    }
    // A string one byte over the limit of a result never ends in memory.
    let mut endless = b"[\"".to_vec();
    endless.resize(8 << 20 | 1, b'a');
    let out = dir.run(["merge", "-"], Some(&endless));
    out.fails(1, &["longer than 8 MiB"], "");
}
