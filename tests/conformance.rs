//! The binary against PyTorch's numbers (fixtures/conformance, written by fixtures/generate.py):
//! `none` bit for bit, `mean` and `sum` within 1 ulp (f16, f32) or 2 ulp (f64) of the exact value.

use std::collections::BTreeMap;
use std::fs;

use serde_json::Value;

use crate::util::{self, Dtype, huber, number, read_npy, same_bits};

const MANIFEST: &str = "fixtures/conformance/manifest.json";

/// Failures are collected so that one run shows them all; more than this are counted only.
const SHOW: usize = 40;

fn cases(loss: &str, reduced: bool) -> Vec<Value> {
    let cases: Vec<Value> = util::manifest(MANIFEST)
        .into_iter()
        .filter(|c| c["loss"] == loss && (c["reduction"] != "none") == reduced)
        .collect();
    assert!(!cases.is_empty(), "no {loss} cases in {MANIFEST}");
    cases
}

fn text(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string in {v}"))
        .to_string()
}

/// The loss parameter of a case as the command line spells it: `("-d", "0.5")`.
fn param(case: &Value) -> Option<(&'static str, String)> {
    let as_arg = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => format!("{:?}", n.as_f64().expect("number")),
        other => panic!("bad parameter {other}"),
    };
    if !case["delta"].is_null() {
        Some(("-d", as_arg(&case["delta"])))
    } else if !case["beta"].is_null() {
        Some(("-b", as_arg(&case["beta"])))
    } else {
        None
    }
}

fn base_args(case: &Value) -> Vec<String> {
    vec![
        "-p".into(),
        text(case, "pred"),
        "-t".into(),
        text(case, "target"),
        "-l".into(),
        text(case, "loss"),
    ]
}

fn shape_of(case: &Value) -> Vec<u64> {
    case["shape"]
        .as_array()
        .expect("shape")
        .iter()
        .map(|d| d.as_u64().expect("dimension"))
        .collect()
}

fn report(what: &str, total: usize, failures: Vec<String>) {
    if failures.is_empty() {
        return;
    }
    let shown = failures
        .iter()
        .take(SHOW)
        .cloned()
        .collect::<Vec<_>>()
        .join("\n");
    panic!(
        "{what}: {} of {total} cases failed:\n{shown}{}",
        failures.len(),
        if failures.len() > SHOW { "\n…" } else { "" }
    );
}

/// `-r none -o out.npy`, compared with PyTorch's array bit for bit.
fn check_none(loss: &str) {
    let cases = cases(loss, false);
    let dir = util::temp_dir();
    let out = dir.path().join("out.npy");
    let mut failures = Vec::new();
    for case in &cases {
        let name = text(case, "name");
        let mut args = base_args(case);
        if let Some((flag, v)) = param(case) {
            args.extend([flag.to_string(), v]);
        }
        args.extend([
            "-r".into(),
            "none".into(),
            "-o".into(),
            out.display().to_string(),
        ]);
        let run = huber(&args, None);
        if run.status != Some(0) || !run.stderr.is_empty() || !run.stdout.is_empty() {
            failures.push(format!(
                "{name}: status {:?}, stderr {:?}, {} bytes on stdout",
                run.status,
                run.stderr,
                run.stdout.len()
            ));
            continue;
        }
        let expected_path = util::root().join(text(case, "expected"));
        let expected = read_npy(&fs::read(&expected_path).expect("expected array"), &name);
        let got = read_npy(&fs::read(&out).expect("output file"), &name);
        let dtype = Dtype::from_name(&text(case, "dtype"));
        if got.dtype != dtype || expected.dtype != dtype {
            failures.push(format!("{name}: dtype {:?}, expected {dtype:?}", got.dtype));
            continue;
        }
        if got.shape != shape_of(case) || got.shape != expected.shape {
            failures.push(format!(
                "{name}: shape {:?}, expected {:?}",
                got.shape, expected.shape
            ));
            continue;
        }
        if let Some(i) =
            (0..got.values.len()).find(|&i| !same_bits(dtype, got.values[i], expected.values[i]))
        {
            failures.push(format!(
                "{name}: element {i} is {:e} (bits {:#x}), PyTorch gives {:e} (bits {:#x})",
                got.values[i],
                dtype.bits(got.values[i]),
                expected.values[i],
                dtype.bits(expected.values[i])
            ));
        }
        fs::remove_file(&out).expect("remove output");
    }
    report(&format!("{loss} none"), cases.len(), failures);
}

/// One result object of `-f json`, checked against its manifest case.
fn check_result(case: &Value, got: &Value) -> Result<(), String> {
    let dtype = Dtype::from_name(&text(case, "dtype"));
    let exact = number(&case["exact_result"]);
    // JSON prints the shortest text for the result dtype, so read it back in that dtype.
    let value = dtype.round(number(&got["value"]));
    let count = case["count"].as_u64().expect("count");
    let tol = dtype.tolerance();
    let value_ok = if exact.is_nan() {
        value.is_nan()
    } else {
        !value.is_nan() && dtype.ulps(value, exact) <= tol
    };
    if !value_ok {
        return Err(format!(
            "value {value:e}, exact {exact:e} (exact before rounding {}; within {tol} ulp of {dtype:?} wanted)",
            case["exact"]
        ));
    }
    for key in ["loss", "reduction", "dtype"] {
        if got[key] != case[key] {
            return Err(format!("{key} is {}, expected {}", got[key], case[key]));
        }
    }
    if got["count"].as_u64() != Some(count) {
        return Err(format!("count {}, expected {count}", got["count"]));
    }
    if got["shape"] != case["shape"] {
        return Err(format!(
            "shape {}, expected {}",
            got["shape"], case["shape"]
        ));
    }
    for key in ["delta", "beta"] {
        if !case[key].is_null() && !same_bits(Dtype::F64, number(&got[key]), number(&case[key])) {
            return Err(format!("{key} is {}, expected {}", got[key], case[key]));
        }
    }
    let sum = number(&got["sum"]);
    let reduced_sum = match case["reduction"].as_str() {
        Some("sum") => sum,
        _ => sum / count as f64,
    };
    let consistent = if count == 0 {
        sum == 0.0 && (value.is_nan() == (case["reduction"] == "mean"))
    } else if sum.is_nan() || value.is_nan() {
        sum.is_nan() && value.is_nan()
    } else if sum.is_infinite() {
        // An f64 overflow of the sum; the mean is kept exact by scaling, so may be finite.
        sum > 0.0 && (case["reduction"] == "mean" || value.is_infinite())
    } else {
        sum >= 0.0 && dtype.ulps(value, dtype.round(reduced_sum)) <= tol
    };
    if !consistent {
        return Err(format!(
            "sum {sum:e} and count {count} do not give value {value:e}"
        ));
    }
    Ok(())
}

/// `mean` and `sum` through `-f json`, all parameter values of one input pair in one run.
fn check_reduced(loss: &str) {
    let cases = cases(loss, true);
    let mut groups: BTreeMap<(String, String, String), Vec<&Value>> = BTreeMap::new();
    for case in &cases {
        let key = (
            text(case, "pred"),
            text(case, "target"),
            text(case, "reduction"),
        );
        groups.entry(key).or_default().push(case);
    }
    let mut failures = Vec::new();
    for ((_, _, reduction), group) in &groups {
        let mut args = base_args(group[0]);
        args.extend(["-r".into(), reduction.clone(), "-f".into(), "json".into()]);
        let params: Vec<(&str, String)> = group.iter().filter_map(|c| param(c)).collect();
        if let Some((flag, _)) = params.first() {
            let list: Vec<&str> = params.iter().map(|(_, v)| v.as_str()).collect();
            args.extend([flag.to_string(), list.join(",")]);
        }
        let names = group
            .iter()
            .map(|c| text(c, "name"))
            .collect::<Vec<_>>()
            .join(", ");
        let run = huber(&args, None);
        if run.status != Some(0) || !run.stderr.is_empty() {
            failures.push(format!(
                "{names}: status {:?}, stderr {:?}",
                run.status, run.stderr
            ));
            continue;
        }
        let json: Value = match serde_json::from_slice(&run.stdout) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("{names}: invalid JSON ({e}): {}", run.out()));
                continue;
            }
        };
        let results = match (&json, group.len()) {
            (Value::Array(a), n) if n > 1 && a.len() == n => a.clone(),
            (Value::Object(_), 1) => vec![json.clone()],
            _ => {
                failures.push(format!(
                    "{names}: expected {} result(s), got {json}",
                    group.len()
                ));
                continue;
            }
        };
        for (case, got) in group.iter().zip(&results) {
            if let Err(why) = check_result(case, got) {
                failures.push(format!("{}: {why}; output {got}", text(case, "name")));
            }
        }
    }
    report(&format!("{loss} mean/sum"), cases.len(), failures);
}

/// Significant digits of a printed decimal: `0.00125` and `1.25e-3` both have 3.
fn significant_digits(s: &str) -> usize {
    let mantissa = s.trim_start_matches('-').split(['e', 'E']).next().unwrap();
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_start_matches('0').trim_end_matches('0');
    digits.len().max(1)
}

/// `-r none` as text: one line per element, each the shortest text that reads back to the same
/// value in the result dtype. Checked for every input pair at the default parameter.
#[test]
fn text_none_is_shortest_round_trip() {
    let cases: Vec<Value> = util::manifest(MANIFEST)
        .into_iter()
        .filter(|c| {
            c["reduction"] == "none"
                && [&c["delta"], &c["beta"]]
                    .iter()
                    .all(|p| p.is_null() || p.as_f64() == Some(1.0))
        })
        .collect();
    assert!(cases.len() > 50, "too few text cases: {}", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let name = text(case, "name");
        let mut args = base_args(case);
        args.extend(["-r".into(), "none".into()]);
        let run = huber(&args, None);
        if run.status != Some(0) || !run.stderr.is_empty() {
            failures.push(format!(
                "{name}: status {:?}, stderr {:?}",
                run.status, run.stderr
            ));
            continue;
        }
        let expected = read_npy(
            &fs::read(util::root().join(text(case, "expected"))).expect("expected array"),
            &name,
        );
        let dtype = expected.dtype;
        let out = run.out();
        let lines: Vec<&str> = out.lines().collect();
        if lines.len() != expected.values.len() || !(out.is_empty() || out.ends_with('\n')) {
            failures.push(format!(
                "{name}: {} lines for {} elements",
                lines.len(),
                expected.values.len()
            ));
            continue;
        }
        for (i, (line, &want)) in lines.iter().zip(&expected.values).enumerate() {
            let ok = if want.is_nan() {
                *line == "NaN"
            } else if want.is_infinite() {
                *line == if want > 0.0 { "inf" } else { "-inf" }
            } else {
                dtype
                    .parse(line)
                    .is_some_and(|got| same_bits(dtype, got, want))
                    && significant_digits(line) <= dtype.shortest_digits(want)
            };
            if !ok {
                failures.push(format!(
                    "{name}: line {} is {line:?}, expected {want:e} in {} digits",
                    i + 1,
                    dtype.shortest_digits(want)
                ));
                break;
            }
        }
    }
    report("text none", cases.len(), failures);
}

#[test]
fn none_huber_is_bit_identical() {
    check_none("huber");
}

#[test]
fn none_smooth_l1_is_bit_identical() {
    check_none("smooth-l1");
}

#[test]
fn none_mse_is_bit_identical() {
    check_none("mse");
}

#[test]
fn none_l1_is_bit_identical() {
    check_none("l1");
}

#[test]
fn reduced_huber_within_ulps() {
    check_reduced("huber");
}

#[test]
fn reduced_smooth_l1_within_ulps() {
    check_reduced("smooth-l1");
}

#[test]
fn reduced_mse_within_ulps() {
    check_reduced("mse");
}

#[test]
fn reduced_l1_within_ulps() {
    check_reduced("l1");
}
