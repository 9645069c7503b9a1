//! `--top K`: the worst elements, against numpy's argsort (fixtures/breakdowns), for every thread
//! count, with the physical lines of CSV rows, and the refusals.

use serde_json::Value;

use crate::util::{Dir, huber, npy_bytes, number, repo_path};

/// An NPY file of float32 values with `shape`.
fn npy_f32(shape: &[usize], data: &[f32]) -> Vec<u8> {
    let data: Vec<u8> = data.iter().flat_map(|x| x.to_le_bytes()).collect();
    npy_bytes("<f4", shape, &data)
}

fn json(args: &[&str]) -> Value {
    let run = huber(args, None).ok(&args.join(" "));
    serde_json::from_slice(&run.stdout).expect("JSON output")
}

#[test]
fn the_worst_elements_match_numpy_argsort() {
    let text = std::fs::read_to_string(repo_path("fixtures/breakdowns/manifest.json")).unwrap();
    let manifest: Value = serde_json::from_str(&text).unwrap();
    for case in manifest["top"].as_array().unwrap() {
        let (pred, target) = match case["input"].as_str().unwrap() {
            "depth" => ("pred", "target"),
            _ => ("top_nan_pred", "top_nan_target"),
        };
        let pred = format!("fixtures/breakdowns/{pred}.npy");
        let target = format!("fixtures/breakdowns/{target}.npy");
        let k = case["k"].to_string();
        let mut args = vec!["-p", &pred, "-t", &target, "-l"];
        args.push(case["loss"].as_str().unwrap());
        let delta = case["delta"].as_f64().map(|d| d.to_string());
        if let Some(d) = &delta {
            args.extend(["-d", d]);
        }
        if case["omit_nan"].as_bool().unwrap() {
            args.extend(["--nan", "omit"]);
        }
        args.extend(["--top", &k, "-f", "json"]);
        let out = json(&args);
        let top = out["top"].as_array().unwrap();
        assert_eq!(top.len(), case["index"].as_array().unwrap().len(), "{case}");
        for (rank, e) in top.iter().enumerate() {
            assert_eq!(e["flat"], case["index"][rank], "{case}");
            assert_eq!(e["index"], case["multi_index"][rank], "{case}");
            let (got, want) = (number(&e["loss"]), number(&case["losses"][rank]));
            assert!(
                got == want || (got.is_nan() && want.is_nan()),
                "{case}: {got} {want}"
            );
        }
        assert!(out["value"].is_number() || out["value"].is_string());
    }
}

#[test]
fn every_thread_count_gives_the_same_list_as_a_full_sort() {
    // Five chunks of elements with many equal losses and a few NaNs, listed past the NaNs
    // into the ties.
    let n = 80_000;
    let mut pred: Vec<f32> = (0..n).map(|i| ((i * 7919) % 1000) as f32 / 10.0).collect();
    for i in [17, 40_000, 79_999] {
        pred[i] = f32::NAN;
    }
    let dir = Dir::new();
    dir.write("p.npy", npy_f32(&[n / 100, 100], &pred));
    dir.write("t.npy", npy_f32(&[n / 100, 100], &vec![0.0; n]));
    let mut want: Vec<usize> = (0..n).collect();
    // The loss against 0 grows with pred: rank by pred, NaN first, ties by position.
    want.sort_by(|&a, &b| {
        let key = |i: usize| match pred[i] {
            x if x.is_nan() => (false, 0.0),
            x => (true, -x),
        };
        key(a).partial_cmp(&key(b)).unwrap().then(a.cmp(&b))
    });
    let args = |threads: &str| {
        let a = [
            "-p", "p.npy", "-t", "t.npy", "--top", "60", "-f", "csv", "-j",
        ];
        let mut a: Vec<String> = a.iter().map(|s| s.to_string()).collect();
        a.push(threads.to_string());
        a
    };
    let one = dir.run(args("1"), None).ok("--top -j 1").text();
    let lines: Vec<&str> = one.lines().collect();
    assert_eq!(lines[0], "i0,i1,flat,pred,target,loss");
    let flat: Vec<usize> = lines[1..]
        .iter()
        .map(|l| l.split(',').nth(2).unwrap().parse().unwrap())
        .collect();
    assert_eq!(flat, want[..60]);
    assert!(lines[1].ends_with(",NaN,0.0,NaN"), "{}", lines[1]);
    assert_eq!(lines[4], "3,21,321,99.9,0.0,99.4");
    for threads in ["2", "3"] {
        let other = dir.run(args(threads), None).ok("--top -j N").text();
        assert_eq!(other, one, "--threads {threads}");
    }
}

#[test]
fn csv_inputs_give_the_physical_line_of_each_row() {
    let dir = Dir::new();
    // Row 0 spans lines 2-3, row 1 is line 4, line 5 is blank, row 2 spans lines 6-8.
    dir.write(
        "d.csv",
        "id,note,pred,target\n1,\"a\nb\",1,2\n2,x,5,0\n\n3,\"q\nr\ns\",0,9\n4,y,1,1\n",
    );
    let args = ["-p", "d.csv:pred", "-t", "d.csv:target", "--top", "3"];
    let text = dir.run(args, None).ok("--top on CSV").text();
    assert_eq!(
        text,
        "index\tline\tpred\ttarget\tloss\n2\t6\t0.0\t9.0\t8.5\n1\t4\t5.0\t0.0\t4.5\n0\t2\t1.0\t2.0\t0.5\n"
    );
    // The same from stdin, with weights and JSON; K beyond the rows lists them all.
    let csv = dir.read("d.csv");
    let args = [
        "-p", "-:pred", "-t", "-:target", "-w", "-:id", "--top", "10", "-f", "json",
    ];
    let out: Value = serde_json::from_slice(&dir.run(args, Some(&csv)).ok("stdin").stdout).unwrap();
    let top = out["top"].as_array().unwrap();
    assert_eq!(top.len(), 4);
    let lines: Vec<u64> = top.iter().map(|e| e["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, [6, 4, 2, 9]);
    assert_eq!(top[0]["weight"], 3.0);
    assert_eq!(top[0]["loss"], 25.5);
    assert_eq!(out["count"], 4);
}

#[test]
fn several_deltas_list_one_table_each() {
    let p = "fixtures/example/pred.npy";
    let t = "fixtures/example/target.npy";
    let args = ["-p", p, "-t", t, "-d", "0.1,1", "--top", "2", "-f", "csv"];
    let text = huber(&args, None).ok("sweep").out();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 5, "{text}");
    assert_eq!(rows[0], "delta,i0,i1,flat,pred,target,loss");
    assert!(rows[1].starts_with("0.1,") && rows[3].starts_with("1.0,"));
    let out = json(&["-p", p, "-t", t, "-d", "0.1,1", "--top", "2", "-f", "json"]);
    assert_eq!(out.as_array().unwrap().len(), 2);
    assert_eq!(out[1]["top"][0]["flat"], out[0]["top"][0]["flat"]);
}

#[test]
fn nan_is_listed_first_left_out_by_omit_and_an_error_with_error() {
    let p = "fixtures/breakdowns/top_nan_pred.npy";
    let t = "fixtures/breakdowns/top_nan_target.npy";
    let text = huber(&["-p", p, "-t", t, "--top", "2"], None)
        .ok("NaN")
        .out();
    assert!(text.lines().nth(1).unwrap().ends_with("\tNaN"), "{text}");
    let omit = ["-p", p, "-t", t, "--top", "2", "--nan", "omit"];
    let text = huber(&omit, None).ok("omit").out();
    assert!(!text.contains("NaN"), "{text}");
    let run = huber(&["-p", p, "-t", t, "--top", "2", "--nan", "error"], None);
    run.fails(1, &["element 1 is NaN"], "");
    assert!(run.stdout.is_empty());
}

#[test]
fn bad_k_and_combinations_are_usage_errors() {
    let p = "fixtures/example/pred.npy";
    let t = "fixtures/example/target.npy";
    for (extra, says) in [
        (&["--top", "0"][..], "--top 0"),
        (&["--top", "1000001"], "limit of 1000000"),
        (&["--top", "3", "-r", "none"], "--reduction none"),
        (&["--top", "3", "--grad"], "--grad"),
        (&["--top", "3", "-f", "npy"], "NPY"),
        (&["--top", "3", "-o", "out.npy"], "NPY"),
    ] {
        let mut args = vec!["-p", p, "-t", t];
        args.extend(extra);
        let run = huber(&args, None);
        run.fails(2, &[says], &format!("{extra:?}"));
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        assert!(run.stdout.is_empty());
    }
    assert!(!repo_path("out.npy").exists());
    for k in ["-3", "x", "1e3"] {
        let run = huber(&["-p", p, "-t", t, "--top", k], None);
        run.fails(2, &[k], &format!("--top {k}"));
    }
}

/// A CSV input broadcast against a larger one still names the line of each listed element's row:
/// the row that broadcasting repeated.
#[test]
fn a_broadcast_csv_input_gives_the_line_of_its_row() {
    let dir = Dir::new();
    // pred rows on lines 2, 4 and 5 (line 3 is blank); target (2, 3) zeros.
    dir.write("p.csv", "id,pred\na,1\n\nb,-4\nc,2\n");
    dir.write("t.npy", npy_f32(&[2, 3], &[0.0; 6]));
    let args = [
        "-p",
        "p.csv:pred",
        "-t",
        "t.npy",
        "--broadcast",
        "--top",
        "4",
        "-l",
        "l1",
        "-f",
        "csv",
    ];
    let text = dir.run(args, None).ok("--top over a broadcast CSV").text();
    assert_eq!(
        text,
        "i0,i1,flat,line,pred,target,loss\n0,1,1,4,-4.0,0.0,4.0\n1,1,4,4,-4.0,0.0,4.0\n0,2,2,5,2.0,0.0,2.0\n1,2,5,5,2.0,0.0,2.0\n"
    );
}

/// `--id COLUMN` lists the column's value in each listed row, from the inputs' CSV or JSON Lines
/// table (the ids of both fixtures are `img` and the row's index), quoted where CSV needs it.
#[test]
fn id_lists_a_column_of_the_same_table() {
    for file in [
        "fixtures/csv/pandas_default.csv",
        "fixtures/jsonl/polars.ndjson",
    ] {
        let (p, t) = (format!("{file}:pred"), format!("{file}:target"));
        let args = [
            "-p", &p, "-t", &t, "--nan", "omit", "--top", "5", "--id", "id", "-f", "json",
        ];
        let out = json(&args);
        let top = out["top"].as_array().unwrap();
        assert_eq!(top.len(), 5);
        for row in top {
            let want = format!("img{:04}", row["flat"].as_u64().unwrap());
            assert_eq!(row["id"], want.as_str(), "{file}");
        }
        let args = [
            "-p", &p, "-t", &t, "--nan", "omit", "--top", "5", "--id", "id",
        ];
        let text = huber(&args, None).ok("--top --id").out();
        assert!(
            text.starts_with("index\tline\tid\tpred\ttarget\tloss\n"),
            "{text}"
        );
        for row in text.lines().skip(1) {
            let cells: Vec<&str> = row.split('\t').collect();
            assert_eq!(
                cells[2],
                format!("img{:04}", cells[0].parse::<u64>().unwrap())
            );
        }
    }
    // A text id with a line break is quoted in CSV, escaped in text.
    let f = "fixtures/csv/pandas_default.csv";
    let (p, t) = (format!("{f}:pred"), format!("{f}:target"));
    let args = [
        "-p", &p, "-t", &t, "--nan", "omit", "--top", "3", "--id", "store",
    ];
    let csv = huber(&[&args[..], &["-f", "csv"]].concat(), None)
        .ok("csv")
        .out();
    assert!(csv.contains(",\"x\r\ny\","), "{csv}");
    let text = huber(&args, None).ok("text").out();
    assert!(text.contains("\tx\\r\\ny\t"), "{text}");
}

#[test]
fn id_without_a_table_that_holds_it_is_refused() {
    let f = "fixtures/csv/pandas_default.csv";
    let (p, t) = (format!("{f}:pred"), format!("{f}:target"));
    let run = huber(&["-p", &p, "-t", &t, "--top", "2", "--id", "nope"], None);
    run.fails(1, &["--id nope: no input"], "");
    let run = huber(&["-p", &p, "-t", &t, "--id", "id"], None);
    assert_eq!(run.status, Some(2), "{}", run.stderr);
    let npy = "fixtures/example/pred.npy";
    let run = huber(&["-p", npy, "-t", npy, "--top", "2", "--id", "id"], None);
    assert_eq!(run.status, Some(1), "{}", run.stderr);
    assert!(run.stdout.is_empty());
}

/// `--id COLUMN` of a Parquet or Arrow table (pyarrow's and polars' files, an id column of each
/// type): the rows and ids of pandas' `nlargest(K, "loss")`, each id as pandas prints it (text as
/// it is, integers as integers, floats as numpy's `str`, bools, decimals with their scale); a
/// null id is empty. A glob of shards lists the ids of the file they were split from.
#[test]
fn id_of_parquet_and_arrow_tables_as_pandas_prints_it() {
    let dir = "fixtures/columnar";
    let text = std::fs::read_to_string(crate::util::repo_path(&format!("{dir}/manifest.json")));
    let manifest: serde_json::Value = serde_json::from_str(&text.unwrap()).unwrap();
    let ids = &manifest["ids"];
    let k = ids["k"].to_string();
    let rows: Vec<u64> = ids["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_u64().unwrap())
        .collect();
    for file in ids["files"].as_array().unwrap() {
        let f = format!("{dir}/{}", file.as_str().unwrap());
        let (p, t) = (format!("{f}:pred"), format!("{f}:target"));
        for (column, want) in ids["columns"].as_object().unwrap() {
            let args = [
                "-p", &p, "-t", &t, "--top", &k, "--id", column, "-f", "json",
            ];
            let out = json(&args);
            let top = out["top"].as_array().unwrap();
            let flat: Vec<u64> = top.iter().map(|r| r["flat"].as_u64().unwrap()).collect();
            assert_eq!(flat, rows, "{f} {column}");
            let got: Vec<&str> = top.iter().map(|r| r["id"].as_str().unwrap()).collect();
            assert_eq!(
                got,
                want.as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap())
                    .collect::<Vec<_>>(),
                "{f} {column}"
            );
        }
    }
    let shards = "fixtures/columnar/part-*.parquet";
    let (p, t) = (format!("{shards}:pred"), format!("{shards}:target"));
    let whole = "fixtures/columnar/all.parquet";
    let (wp, wt) = (format!("{whole}:pred"), format!("{whole}:target"));
    let top = |p: &str, t: &str| {
        let args = [
            "-p", p, "-t", t, "--nan", "omit", "--top", "7", "--id", "id",
        ];
        huber(&args, None).ok("--top --id").out()
    };
    // The same rows, each named with its shard.
    let (glob, one) = (top(&p, &t), top(&wp, &wt));
    let without_file: Vec<String> = glob
        .lines()
        .map(|l| {
            let mut cells: Vec<&str> = l.split('\t').collect();
            let file = cells.remove(1);
            assert!(
                file == "file" || file.starts_with("fixtures/columnar/part-"),
                "{l}"
            );
            cells.join("\t") + "\n"
        })
        .collect();
    assert_eq!(without_file.concat(), one);
    let bad = huber(&["-p", &wp, "-t", &wt, "--top", "2", "--id", "nope"], None);
    bad.fails(1, &["--id nope: no input"], "");
}
