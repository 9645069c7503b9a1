//! JSON Lines files as pandas, polars and DuckDB write them (fixtures/jsonl, made by its
//! generate.py): each gives the mean numpy computed from the values the file holds, per group
//! where `--by` asks, the same bytes for every thread count and on stdin, and one error line
//! that names the input, line and field of a bad value.

use std::process::Command;

use serde_json::Value;

use crate::util::{self, Run};

const DIR: &str = "fixtures/jsonl";

fn cases() -> Vec<Value> {
    let text = std::fs::read_to_string(util::root().join(DIR).join("manifest.json")).unwrap();
    let cases: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert!(cases.len() >= 12, "only {} cases", cases.len());
    cases
}

/// Runs huber in fixtures/jsonl with the case's arguments and `extra`.
fn run(case: &Value, extra: &[&str]) -> Run {
    let args: Vec<&str> = case["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    let stdin = case["stdin"]
        .as_str()
        .map(|f| std::fs::read(util::root().join(DIR).join(f)).unwrap());
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_huber"));
    cmd.args(&args)
        .args(extra)
        .current_dir(util::root().join(DIR));
    util::run(cmd, stdin.as_deref())
}

/// A result's value, or a Python repr of a float.
fn float(v: &Value) -> f64 {
    match v.as_str() {
        Some("nan" | "NaN") => f64::NAN,
        Some(s) => s.parse().unwrap(),
        None => v.as_f64().unwrap(),
    }
}

fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || a.is_nan() && b.is_nan()
}

/// What is wrong with a case, if anything.
fn check(case: &Value) -> Option<String> {
    let out = run(case, &[]);
    if let Some(words) = case["error"].as_array() {
        let ok = out.status == Some(1)
            && out.stdout.is_empty()
            && out.stderr.lines().count() == 1
            && words
                .iter()
                .all(|w| out.stderr.contains(w.as_str().unwrap()));
        return (!ok).then(|| format!("want an error with {words:?}, got {out:?}"));
    }
    if out.status != Some(0) || !out.stderr.is_empty() {
        return Some(format!("status {:?}: {}", out.status, out.stderr));
    }
    let json: Value = serde_json::from_str(&out.out()).unwrap();
    if let Some(groups) = case["groups"].as_object() {
        let got = json.as_array().unwrap();
        let ok = got.len() == groups.len()
            && got.iter().all(|g| {
                let want = &groups[g["key"].as_str().unwrap()];
                same(float(&g["value"]), float(want))
            });
        return (!ok).then(|| format!("groups differ: {}", out.out()));
    }
    let (value, want) = (float(&json["value"]), float(&case["mean"]));
    (!same(value, want)).then(|| format!("mean {value:?}, numpy {want:?}"))
}

#[test]
fn files_from_pandas_polars_and_duckdb_give_numpys_mean() {
    let failures: Vec<String> = cases()
        .iter()
        .filter_map(|c| check(c).map(|e| format!("{}: {e}", c["name"])))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_thread_count_prints_the_same_bytes() {
    for case in cases().iter().filter(|c| c["error"].is_null()) {
        let one = run(case, &["-j", "1"]);
        for j in ["2", "3"] {
            let other = run(case, &["-j", j]);
            assert_eq!(
                (&one.stdout, one.status),
                (&other.stdout, other.status),
                "{}: -j1 and -j{j} differ",
                case["name"]
            );
        }
    }
}

/// `-r none` and `--top` (which count the rows first) give the element losses of a mean run,
/// and name the lines of the worst rows.
#[test]
fn elements_and_top_rows_name_their_lines() {
    let f = "fixtures/jsonl/polars.ndjson";
    let (p, t) = (format!("{f}:pred"), format!("{f}:target"));
    let out = util::huber(&["-p", &p, "-t", &t, "--top", "2", "--nan", "omit"], None);
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let text = out.out();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "index\tline\tpred\ttarget\tloss");
    // Each row is on the line after its index, the file having no blank line.
    for row in &lines[1..] {
        let cells: Vec<&str> = row.split('\t').collect();
        let index: u64 = cells[0].parse().unwrap();
        assert_eq!(cells[1], (index + 1).to_string(), "{row}");
    }
    let none = util::huber(&["-p", &p, "-t", &t, "-r", "none"], None);
    assert_eq!(none.out().lines().count(), 300);
    let error = util::huber(&["-p", &p, "-t", &t, "--nan", "error"], None);
    assert!(
        error.stderr.contains("polars.ndjson:pred: line ") && error.stderr.contains("field 'pred'"),
        "{}",
        error.stderr
    );
}

/// Several fields as one `(N, k)` input: `pred,out.p` against `target,out.t` (the same values,
/// the second pair nested) gives per column (`--axis 0`) the mean of one pair, twice.
#[test]
fn several_fields_are_one_input_of_shape_n_by_k() {
    let f = "fixtures/jsonl/polars.ndjson";
    let one = util::huber(
        &[
            "-p",
            &format!("{f}:pred"),
            "-t",
            &format!("{f}:target"),
            "--nan",
            "omit",
        ],
        None,
    )
    .ok("one pair")
    .out();
    let (p, t) = (format!("{f}:pred,out.p"), format!("{f}:target,out.t"));
    let args = ["-p", &p, "-t", &t, "--nan", "omit", "--axis", "0"];
    let both = util::huber(&args, None).ok("two pairs").out();
    assert_eq!(both, format!("{one}{one}"));
    let json = util::huber(&["-p", &p, "-t", &t, "-f", "json"], None).ok("json");
    let json: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["shape"], serde_json::json!([300, 2]));
}

/// `--by` a field of a JSON Lines dataset (a folder of shards, a glob, and the field of another
/// dataset than the inputs'): the groups of the one file the shards were cut from, bit for bit.
#[test]
fn a_json_lines_dataset_is_grouped_by_its_field() {
    let text = std::fs::read_to_string(util::root().join(DIR).join("polars.ndjson")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let dir = util::Dir::new();
    std::fs::create_dir(dir.path("shards")).unwrap();
    for (i, part) in lines.chunks(110).enumerate() {
        let body: String = part.iter().map(|l| format!("{l}\n")).collect();
        dir.write(&format!("shards/part-{i}.jsonl"), body);
    }
    dir.write("one.jsonl", &text);
    let grouped = |input: &str, by: &str| {
        let (p, t, k) = (
            format!("{input}:pred"),
            format!("{input}:target"),
            format!("{by}:store"),
        );
        let run = dir.run(["-p", &p, "-t", &t, "--by", &k, "-f", "json"], None);
        assert_eq!(run.status, Some(0), "{input} --by {by}: {}", run.stderr);
        // Each group names the --by input; the rest must be the one file's, bit for bit.
        let mut groups: Value = serde_json::from_slice(&run.stdout).unwrap();
        for g in groups.as_array_mut().unwrap() {
            g.as_object_mut().unwrap().remove("by");
        }
        groups
    };
    let want = grouped("one.jsonl", "one.jsonl");
    assert_eq!(want.as_array().unwrap().len(), 4);
    assert!(want.to_string().contains("Zürich"));
    for (input, by) in [
        ("shards", "shards"),
        ("shards/part-*.jsonl", "shards/part-*.jsonl"),
        ("one.jsonl", "shards"),
        ("shards", "one.jsonl"),
    ] {
        assert_eq!(grouped(input, by), want, "{input} --by {by}");
    }
}
