//! `--axis` and `-r weighted-mean` through the binary: against the references of
//! `fixtures/breakdowns/generate.py` (numpy's `mean(axis=…)`, the Keras weighted mean), against
//! separate runs over each cell, across thread counts, merged from shards, and their usage
//! errors.

use std::path::Path;

use serde_json::Value;

use crate::util::{Dtype, huber, npy_bytes, number, read_npy, root, same_bits, temp_dir, write};

const PRED: &str = "fixtures/breakdowns/pred.npy";
const TARGET: &str = "fixtures/breakdowns/target.npy";
const WEIGHT: &str = "fixtures/breakdowns/weight.npy";

fn manifest() -> Value {
    let text = std::fs::read_to_string(root().join("fixtures/breakdowns/manifest.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// `--loss L [--delta D]` of a manifest case.
fn loss_args(case: &Value) -> Vec<String> {
    let mut args = vec!["-l".to_string(), case["loss"].as_str().unwrap().to_string()];
    if let Some(d) = case.get("delta") {
        args.extend(["-d".to_string(), d.to_string()]);
    }
    args
}

/// Runs huber, expecting success, and parses its JSON output.
fn json_of(args: &[String]) -> Value {
    let run = huber(args, None);
    assert_eq!(run.status, Some(0), "huber {args:?}: {}", run.stderr);
    serde_json::from_slice(&run.stdout).unwrap_or_else(|e| panic!("huber {args:?}: {e}"))
}

/// A nested JSON list, flattened in C order.
fn flat(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(items) => items.iter().flat_map(flat).collect(),
        other => vec![other.clone()],
    }
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

#[test]
fn per_axis_means_match_numpy_bit_for_bit() {
    for case in manifest()["axis"].as_array().unwrap() {
        let axes: Vec<String> = case["axis"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.to_string())
            .collect();
        let mut args = strings(&["-p", PRED, "-t", TARGET, "-f", "json", "--axis"]);
        args.push(axes.join(","));
        args.extend(loss_args(case));
        let got = json_of(&args);
        assert_eq!(got["shape"], case["shape"], "{case}");
        assert_eq!(got["dtype"], "float32");
        assert_eq!(flat(&got["count"]), flat(&case["count"]), "{case}");
        let want = flat(&case["result"]);
        let values = flat(&got["values"]);
        assert_eq!(values.len(), want.len(), "{case}");
        for (i, (g, w)) in values.iter().zip(&want).enumerate() {
            assert!(
                same_bits(Dtype::F32, number(g), number(w)),
                "{case}: cell {i}: got {g}, want {w}"
            );
        }
        // The NPY output: the kept shape, float32, the same values.
        let npy: Vec<String> = args
            .iter()
            .map(|a| if a == "json" { "npy".into() } else { a.clone() })
            .collect();
        let run = huber(&npy, None);
        assert_eq!(run.status, Some(0), "{}", run.stderr);
        let array = read_npy(&run.stdout, "--axis -f npy");
        let shape: Vec<u64> = serde_json::from_value(case["shape"].clone()).unwrap();
        assert_eq!((array.shape, array.dtype), (shape, Dtype::F32));
        for (g, w) in array.values.iter().zip(&want) {
            assert!(
                same_bits(Dtype::F32, *g, number(w)),
                "{case}: NPY {g} vs {w}"
            );
        }
    }
}

#[test]
fn weighted_means_match_the_keras_formula_bit_for_bit() {
    for case in manifest()["weighted_mean"].as_array().unwrap() {
        for name in ["weighted-mean", "mean_with_sample_weight"] {
            let mut args = strings(&["-p", PRED, "-t", TARGET, "-w", WEIGHT, "-f", "json", "-r"]);
            args.push(name.to_string());
            args.extend(loss_args(case));
            let got = json_of(&args);
            assert_eq!(got["reduction"], "weighted-mean");
            let (value, want) = (number(&got["value"]), number(&case["result"]));
            assert!(
                same_bits(Dtype::F32, value, want),
                "{case}: got {value}, want {want}"
            );
            let (sum, want_sum) = (number(&got["weight_sum"]), number(&case["weight_sum"]));
            assert_eq!(sum.to_bits(), want_sum.to_bits(), "{case}: Σw");
        }
    }
}

/// Writes a float NPY file (`<f4` or `<f8`) of `shape` holding `values`.
fn npy_file(dir: &Path, name: &str, dtype: Dtype, shape: &[usize], values: &[f64]) -> String {
    let (descr, data): (_, Vec<u8>) = match dtype {
        Dtype::F32 => (
            "<f4",
            values
                .iter()
                .flat_map(|&v| (v as f32).to_le_bytes())
                .collect(),
        ),
        _ => ("<f8", values.iter().flat_map(|v| v.to_le_bytes()).collect()),
    };
    let bytes = npy_bytes(descr, shape, &data);
    write(dir, name, bytes).to_string_lossy().into_owned()
}

/// A small deterministic generator (xorshift), so that failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// A value on the grid of 1/8 within ±4.
    fn dyadic(&mut self) -> f64 {
        (self.below(65) as f64 - 32.0) / 8.0
    }
    /// A value with a full significand.
    fn real(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 * 8.0 - 4.0
    }
}

/// The multi-index of flat C-order `i` in `shape`.
fn unravel(mut i: usize, shape: &[usize]) -> Vec<usize> {
    let mut out = vec![0; shape.len()];
    for (o, &d) in out.iter_mut().zip(shape).rev() {
        *o = i % d;
        i /= d;
    }
    out
}

/// Runs `--axis` over pred/target of `shape`, then plain `-f json` over each cell's elements
/// (gathered in C order into files of their own) and compares value, sum and count bit for bit.
fn check_cells_against_separate_runs(
    dtype: Dtype,
    shape: &[usize],
    axes: &[usize],
    pred: &[f64],
    target: &[f64],
    extra: &[&str],
) {
    let dir = temp_dir();
    let p = npy_file(dir.path(), "p.npy", dtype, shape, pred);
    let t = npy_file(dir.path(), "t.npy", dtype, shape, target);
    let axis_list: Vec<String> = axes.iter().map(|a| a.to_string()).collect();
    let mut args = vec!["-p".into(), p, "-t".into(), t, "-f".into(), "json".into()];
    args.extend(["--axis".to_string(), axis_list.join(",")]);
    args.extend(strings(extra));
    let got = json_of(&args);
    let kept: Vec<usize> = (0..shape.len()).filter(|d| !axes.contains(d)).collect();
    let cells: usize = kept.iter().map(|&d| shape[d]).product();
    let mut members = vec![Vec::new(); cells];
    for i in 0..pred.len() {
        let idx = unravel(i, shape);
        members[kept.iter().fold(0, |c, &d| c * shape[d] + idx[d])].push(i);
    }
    let (values, sums, counts) = (flat(&got["values"]), flat(&got["sum"]), flat(&got["count"]));
    for (cell, m) in members.iter().enumerate() {
        let cp: Vec<f64> = m.iter().map(|&i| pred[i]).collect();
        let ct: Vec<f64> = m.iter().map(|&i| target[i]).collect();
        let p = npy_file(dir.path(), "cp.npy", dtype, &[m.len()], &cp);
        let t = npy_file(dir.path(), "ct.npy", dtype, &[m.len()], &ct);
        let mut one = vec!["-p".into(), p, "-t".into(), t, "-f".into(), "json".into()];
        one.extend(strings(extra));
        let want = json_of(&one);
        let what = format!("{shape:?} axis {axes:?} {extra:?}: cell {cell}");
        assert!(
            same_bits(dtype, number(&values[cell]), number(&want["value"])),
            "{what}: {} vs {}",
            values[cell],
            want["value"]
        );
        assert!(
            same_bits(Dtype::F64, number(&sums[cell]), number(&want["sum"])),
            "{what}: sum"
        );
        assert_eq!(counts[cell], want["count"], "{what}: count");
    }
}

/// Every cell of `--axis` is the result of a separate run over that cell's elements. With
/// values on a grid of 1/8 every sum is exact, so this holds bit for bit whatever the cells'
/// layout (cells cut by chunks, gathered from strided runs); with full-significand values it is
/// checked where each cell is one whole chunk (16384 elements), where the sums are the same
/// additions in the same order.
#[test]
fn each_cell_equals_a_separate_run_over_its_elements() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for case in 0..8 {
        let ndim = 1 + rng.below(3) as usize;
        let shape: Vec<usize> = (0..ndim).map(|_| 1 + rng.below(5) as usize).collect();
        let mut axes: Vec<usize> = (0..ndim).filter(|_| rng.below(2) == 0).collect();
        if axes.len() == ndim {
            axes.pop();
        }
        if axes.is_empty() {
            axes.push(rng.below(ndim as u64) as usize);
            if ndim == 1 {
                continue;
            }
        }
        let n: usize = shape.iter().product();
        let pred: Vec<f64> = (0..n).map(|_| rng.dyadic()).collect();
        let target: Vec<f64> = (0..n).map(|_| rng.dyadic()).collect();
        let dtype = if case % 2 == 0 {
            Dtype::F32
        } else {
            Dtype::F64
        };
        for extra in [
            &["-r", "mean"][..],
            &["-r", "sum", "-l", "mse"],
            &["-l", "l1"],
        ] {
            check_cells_against_separate_runs(dtype, &shape, &axes, &pred, &target, extra);
        }
    }
    // Cells of one whole chunk each, with values that do not add exactly.
    let shape = [3, 128, 128];
    let n = 3 * 128 * 128;
    let pred: Vec<f64> = (0..n).map(|_| rng.real()).collect();
    let target: Vec<f64> = (0..n).map(|_| rng.real()).collect();
    for dtype in [Dtype::F32, Dtype::F64] {
        check_cells_against_separate_runs(dtype, &shape, &[1, 2], &pred, &target, &["-d", "0.3"]);
    }
    // Cells across chunk boundaries, as runs and gathered from strided elements, on the
    // exact grid.
    let pred: Vec<f64> = (0..40000).map(|_| rng.dyadic()).collect();
    let target: Vec<f64> = (0..40000).map(|_| rng.dyadic()).collect();
    check_cells_against_separate_runs(Dtype::F32, &[2, 20000], &[1], &pred, &target, &[]);
    check_cells_against_separate_runs(Dtype::F64, &[20000, 2], &[0], &pred, &target, &[]);
}

#[test]
fn the_same_bits_for_every_thread_count() {
    let mut rng = Rng(42);
    let dir = temp_dir();
    let shape = [7, 5000, 3];
    let n = 7 * 5000 * 3;
    let pred: Vec<f64> = (0..n).map(|_| rng.real()).collect();
    let target: Vec<f64> = (0..n).map(|_| rng.real()).collect();
    let weight: Vec<f64> = (0..n).map(|_| rng.real().abs()).collect();
    let p = npy_file(dir.path(), "p.npy", Dtype::F64, &shape, &pred);
    let t = npy_file(dir.path(), "t.npy", Dtype::F64, &shape, &target);
    let w = npy_file(dir.path(), "w.npy", Dtype::F64, &shape, &weight);
    for (axes, extra) in [
        ("1", &["-d", "0.5,2"][..]),
        ("0,2", &["-r", "sum"]),
        ("-2", &["-w", &w, "-r", "weighted-mean"]),
        ("0", &["-w", &w, "-l", "mse"]),
    ] {
        let outputs: Vec<Vec<u8>> = ["1", "2", "3"]
            .iter()
            .map(|j| {
                let mut args =
                    strings(&["-p", &p, "-t", &t, "-f", "json", "--axis", axes, "-j", j]);
                args.extend(strings(extra));
                let run = huber(&args, None);
                assert_eq!(run.status, Some(0), "{}", run.stderr);
                run.stdout
            })
            .collect();
        assert_eq!(
            outputs[0], outputs[1],
            "--axis {axes} {extra:?}: -j 1 vs -j 2"
        );
        assert_eq!(
            outputs[0], outputs[2],
            "--axis {axes} {extra:?}: -j 1 vs -j 3"
        );
    }
}

#[test]
fn outputs_in_every_format() {
    let base = strings(&["-p", PRED, "-t", TARGET, "--axis", "0,2", "-l", "mse"]);
    let run_with = |extra: &[&str]| {
        let mut args = base.clone();
        args.extend(strings(extra));
        let run = huber(&args, None);
        assert_eq!(run.status, Some(0), "{}", run.stderr);
        run.out()
    };
    let json = json_of(&[base.clone(), strings(&["-f", "json"])].concat());
    let values: Vec<String> = flat(&json["values"])
        .iter()
        .map(|v| v.to_string())
        .collect();
    assert_eq!(json["axis"], serde_json::json!([0, 2]));
    assert!(
        json.get("linear_fraction").is_none(),
        "mse has no linear regime"
    );
    // Text: one value per line in C order; CSV of a 1-d kept shape: one value per row.
    assert_eq!(run_with(&[]).lines().collect::<Vec<_>>(), values);
    assert_eq!(run_with(&["-f", "csv"]).lines().collect::<Vec<_>>(), values);
    // A 2-d kept shape in CSV: a row per index of the first kept axis.
    let csv = huber(
        &strings(&["-p", PRED, "-t", TARGET, "--axis", "0", "-f", "csv"]),
        None,
    );
    let rows: Vec<&str> = std::str::from_utf8(&csv.stdout).unwrap().lines().collect();
    assert_eq!(rows.len(), 16);
    assert!(rows.iter().all(|r| r.split(',').count() == 16), "{rows:?}");
    // Several δ: a JSON array; in NPY stacked along a leading axis in the order given.
    let sweep = strings(&["-p", PRED, "-t", TARGET, "--axis", "1,2", "-d", "0.5,1"]);
    let objects = json_of(&[sweep.clone(), strings(&["-f", "json"])].concat());
    assert_eq!(objects.as_array().unwrap().len(), 2);
    let run = huber(&[sweep, strings(&["-f", "npy"])].concat(), None);
    let stacked = read_npy(&run.stdout, "a δ sweep's NPY");
    assert_eq!(stacked.shape, vec![2, 4]);
    for (k, object) in objects.as_array().unwrap().iter().enumerate() {
        for (i, v) in flat(&object["values"]).iter().enumerate() {
            assert!(same_bits(Dtype::F32, stacked.values[k * 4 + i], number(v)));
        }
    }
    // Every axis reduced: the usual scalar result.
    let all = json_of(&strings(&[
        "-p", PRED, "-t", TARGET, "--axis", "0,1,-1", "-f", "json",
    ]));
    let plain = json_of(&strings(&["-p", PRED, "-t", TARGET, "-f", "json"]));
    assert_eq!(all, plain);
}

#[test]
fn nan_omit_and_broadcast_per_cell() {
    let dir = temp_dir();
    // pred (2, 3) against a target broadcast from (3,); one NaN in the second row.
    let p = npy_file(
        dir.path(),
        "p.npy",
        Dtype::F64,
        &[2, 3],
        &[1.0, 2.0, 3.0, f64::NAN, 0.5, 4.0],
    );
    let t = npy_file(dir.path(), "t.npy", Dtype::F64, &[3], &[0.0, 0.0, 1.0]);
    let w = npy_file(
        dir.path(),
        "w.npy",
        Dtype::F64,
        &[2, 3],
        &[1.0, 1.0, 2.0, 9.0, 1.0, 3.0],
    );
    let args = |extra: &[&str]| {
        let mut a = strings(&[
            "-p",
            &p,
            "-t",
            &t,
            "--broadcast",
            "--axis",
            "1",
            "-f",
            "json",
        ]);
        a.extend(strings(extra));
        a
    };
    let omit = json_of(&args(&["--nan", "omit", "-l", "mse"]));
    // Row 0: (1 + 4 + 4) / 3; row 1: (0.25 + 9) / 2.
    assert_eq!(omit["values"], serde_json::json!([3.0, 4.625]));
    assert_eq!(omit["count"], serde_json::json!([3, 2]));
    let propagate = json_of(&args(&["-l", "mse"]));
    assert_eq!(propagate["values"], serde_json::json!([3.0, "NaN"]));
    // Weighted: Σwℓ / Σw per row, the NaN element's weight left out with --nan omit.
    let weighted = json_of(&args(&[
        "--nan",
        "omit",
        "-l",
        "mse",
        "-w",
        &w,
        "-r",
        "weighted-mean",
    ]));
    assert_eq!(
        weighted["values"],
        serde_json::json!([13.0 / 4.0, 27.25 / 4.0])
    );
    assert_eq!(weighted["weight_sum"], serde_json::json!([4.0, 4.0]));
}

#[test]
fn usage_errors_name_what_is_wrong() {
    let cases: [(&[&str], &str); 8] = [
        (&["-r", "weighted-mean"], "give --weight"),
        (&["--axis", "1", "-r", "none"], "--reduction none"),
        (&["--axis", "1", "--grad"], "--grad"),
        (
            &["--axis", "3"],
            "axis 3 is out of bounds for the inputs' 3 dimensions",
        ),
        (&["--axis", "-4"], "axis -4 is out of bounds"),
        (&["--axis", "1,-2"], "axis 1 is given twice"),
        (&["--axis", "1,x"], "invalid axis 'x'"),
        (&["--axis", ""], "invalid axis"),
    ];
    for (extra, message) in cases {
        let mut args = strings(&["-p", PRED, "-t", TARGET]);
        args.extend(strings(extra));
        let run = huber(&args, None);
        run.fails(2, &[message], &format!("{extra:?}"));
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        assert!(run.stdout.is_empty());
    }
    let dir = temp_dir();
    let scalar = npy_file(dir.path(), "s.npy", Dtype::F64, &[], &[1.0]);
    let run = huber(
        &strings(&["-p", &scalar, "-t", &scalar, "--axis", "0"]),
        None,
    );
    run.fails(2, &["0-dimensional"], "");
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}

#[test]
fn a_list_starting_with_a_negative_axis_is_the_value_of_axis() {
    let run = |axis: &str| {
        let args = strings(&["-p", PRED, "-t", TARGET, "--axis", axis, "-f", "json"]);
        let out = huber(&args, None);
        assert_eq!(out.status, Some(0), "--axis {axis}: {}", out.stderr);
        out.stdout
    };
    assert_eq!(run("-1,0"), run("0,2"));
    assert_eq!(run("-2,-1"), run("1,2"));
}

/// Runs huber under a 256 MiB address-space limit.
fn huber_in_256_mib(args: &[String]) -> crate::util::Run {
    let mut cmd = std::process::Command::new("sh");
    cmd.args(["-c", "ulimit -v 262144 && exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_huber"))
        .args(args);
    crate::util::run(cmd, None)
}

#[test]
fn empty_cells_stay_small_in_every_format_or_are_refused() {
    let dir = temp_dir();
    let most = npy_file(dir.path(), "m.npy", Dtype::F32, &[1 << 16, 0], &[]);
    for format in ["json", "csv", "text", "npy"] {
        let out = dir.path().join(format!("out.{format}"));
        let out = out.to_string_lossy().into_owned();
        let args = strings(&[
            "-p", &most, "-t", &most, "--axis", "1", "-f", format, "-o", &out,
        ]);
        let run = huber_in_256_mib(&args);
        assert_eq!(run.status, Some(0), "{format}: {}", run.stderr);
    }
    // One cell more, or as many cells for each of two deltas, is refused before it is made.
    let over = npy_file(dir.path(), "o.npy", Dtype::F32, &[(1 << 16) + 1, 0], &[]);
    let split = npy_file(dir.path(), "s.npy", Dtype::F32, &[1 << 8, 0, 1 << 8], &[]);
    for (file, delta) in [(&over, "1"), (&split, "0.5,1")] {
        let args = strings(&[
            "-p", file, "-t", file, "--axis", "1", "-d", delta, "-f", "json",
        ]);
        let run = huber_in_256_mib(&args);
        run.fails(1, &["each of them empty"], file);
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        assert!(run.stdout.is_empty());
    }
}

#[test]
fn weighted_mean_shards_merge_into_one_run() {
    let dir = temp_dir();
    let (p, t, w) = (
        read_npy(&std::fs::read(root().join(PRED)).unwrap(), PRED),
        read_npy(&std::fs::read(root().join(TARGET)).unwrap(), TARGET),
        read_npy(&std::fs::read(root().join(WEIGHT)).unwrap(), WEIGHT),
    );
    let mut shards = Vec::new();
    for (k, rows) in [(0..1), (1..3), (3..4)].into_iter().enumerate() {
        let span = rows.start * 256..rows.end * 256;
        let shape = [rows.len(), 16, 16];
        let file = |name: &str, a: &crate::util::Array| {
            npy_file(
                dir.path(),
                &format!("{name}{k}.npy"),
                Dtype::F32,
                &shape,
                &a.values[span.clone()],
            )
        };
        let args = vec![
            "-p".into(),
            file("p", &p),
            "-t".into(),
            file("t", &t),
            "-w".into(),
            file("w", &w),
        ];
        let run = huber(
            &[
                args,
                strings(&["-r", "weighted-mean", "-d", "0.5,1", "-f", "json"]),
            ]
            .concat(),
            None,
        );
        assert_eq!(run.status, Some(0), "{}", run.stderr);
        shards.push(write(dir.path(), &format!("s{k}.json"), &run.stdout));
    }
    let mut merge = strings(&["merge", "-f", "json"]);
    merge.extend(shards.iter().map(|s| s.to_string_lossy().into_owned()));
    let merged = huber(&merge, None);
    assert_eq!(merged.status, Some(0), "{}", merged.stderr);
    let whole = huber(
        &strings(&[
            "-p",
            PRED,
            "-t",
            TARGET,
            "-w",
            WEIGHT,
            "-r",
            "weighted-mean",
            "-d",
            "0.5,1",
            "-f",
            "json",
        ]),
        None,
    );
    assert_eq!(merged.out(), whole.out());
    // A shard edited in Σw and not in its state is refused, naming the field.
    let text = std::fs::read_to_string(&shards[0]).unwrap();
    let mut edited: Value = serde_json::from_str(&text).unwrap();
    edited[0]["weight_sum"] = serde_json::json!(1.5);
    let bad = write(dir.path(), "bad.json", edited.to_string());
    let run = huber(
        &[
            "merge".to_string(),
            bad.to_string_lossy().into_owned(),
            shards[1].to_string_lossy().into_owned(),
        ],
        None,
    );
    run.fails(1, &["field 'weight_sum'"], "");
}

/// The derivative of Σwℓ/Σw with respect to pred, computed here as the kernel's order of
/// operations gives it: the factor 1/Σw rounded to the compute type, times w, times huber's
/// ℓ' (r inside ±δ, else ±δ).
fn weighted_huber_grad(pred: &[f64], target: &[f64], w: &[f64], kept: &[bool], d: f64) -> Vec<f64> {
    let sum: f64 = w
        .iter()
        .zip(kept)
        .filter(|(_, k)| **k)
        .map(|(w, _)| w)
        .sum();
    let scale = 1.0 / sum;
    (0..pred.len())
        .map(|i| {
            if !kept[i] {
                return 0.0;
            }
            let (r, g) = (pred[i] - target[i], scale * w[i]);
            if r <= -d {
                -(g * d)
            } else if r >= d {
                g * d
            } else {
                r * g
            }
        })
        .collect()
}

#[test]
fn weighted_mean_gradient_is_w_times_the_derivative_over_the_weights_sum() {
    let dir = temp_dir();
    let mut rng = Rng(7);
    let n = 40000;
    let pred: Vec<f64> = (0..n).map(|_| rng.real()).collect();
    let target: Vec<f64> = (0..n).map(|_| rng.real()).collect();
    // Weights on a grid of 1/8: their sum is exact, whatever the order of the additions.
    let mut weight: Vec<f64> = (0..n).map(|_| rng.dyadic().abs()).collect();
    let mut pred_nan = pred.clone();
    pred_nan[123] = f64::NAN;
    weight[7] = 3.0;
    let p = npy_file(dir.path(), "p.npy", Dtype::F64, &[n], &pred);
    let pn = npy_file(dir.path(), "pn.npy", Dtype::F64, &[n], &pred_nan);
    let t = npy_file(dir.path(), "t.npy", Dtype::F64, &[n], &target);
    let w = npy_file(dir.path(), "w.npy", Dtype::F64, &[n], &weight);
    let all = vec![true; n];
    let mut kept = all.clone();
    kept[123] = false;
    for (pfile, pvals, keep, extra) in [
        (&p, &pred, &all, &[][..]),
        (&pn, &pred_nan, &kept, &["--nan", "omit"][..]),
    ] {
        let mut args = strings(&[
            "-p",
            pfile,
            "-t",
            &t,
            "-w",
            &w,
            "-r",
            "weighted-mean",
            "--grad",
            "-d",
            "0.75",
            "-f",
            "npy",
        ]);
        args.extend(strings(extra));
        let run = huber(&args, None);
        assert_eq!(run.status, Some(0), "{}", run.stderr);
        let got = read_npy(&run.stdout, "weighted-mean --grad");
        let want = weighted_huber_grad(pvals, &target, &weight, keep, 0.75);
        assert_eq!(got.values.len(), n);
        for (i, (g, e)) in got.values.iter().zip(&want).enumerate() {
            assert_eq!(
                g.to_bits(),
                e.to_bits(),
                "{extra:?}: element {i}: {g} vs {e}"
            );
        }
    }
}

#[test]
fn empty_reduced_axes_give_empty_cells_as_numpy_does() {
    let dir = temp_dir();
    let e = npy_file(dir.path(), "e.npy", Dtype::F32, &[3, 0, 2], &[]);
    let mean = json_of(&strings(&[
        "-p", &e, "-t", &e, "--axis", "1", "-f", "json", "-l", "l1",
    ]));
    assert_eq!(mean["shape"], serde_json::json!([3, 2]));
    assert_eq!(flat(&mean["values"]), vec![serde_json::json!("NaN"); 6]);
    assert_eq!(flat(&mean["count"]), vec![serde_json::json!(0); 6]);
    let sum = json_of(&strings(&[
        "-p", &e, "-t", &e, "--axis", "0", "-r", "sum", "-f", "json",
    ]));
    assert_eq!(
        (&sum["shape"], &sum["values"]),
        (&serde_json::json!([0, 2]), &serde_json::json!([]))
    );
    // A header that claims cells out of nothing is refused, not allocated.
    let huge = npy_file(dir.path(), "h.npy", Dtype::F32, &[1 << 40, 0, 3], &[]);
    let run = huber(&strings(&["-p", &huge, "-t", &huge, "--axis", "1"]), None);
    run.fails(1, &["would keep 3298534883328 cells"], "");
}

#[test]
fn per_cell_results_are_not_merged() {
    let dir = temp_dir();
    let run = huber(
        &strings(&["-p", PRED, "-t", TARGET, "--axis", "1,2", "-f", "json"]),
        None,
    );
    let cells = write(dir.path(), "cells.json", &run.stdout);
    let cells = cells.to_string_lossy().into_owned();
    let merged = huber(&strings(&["merge", &cells, &cells]), None);
    merged.fails(1, &["per-cell result of --axis"], "");
}

#[test]
fn more_kept_cells_than_the_bound_are_refused_before_reading_on_every_path() {
    // 4194305 rows of one byte, reduced over their axis of length 1: one cell over the bound.
    let dir = temp_dir();
    let rows = 4_194_305;
    let over = npy_bytes("|u1", &[rows, 1], &vec![0; rows]);
    let path = write(dir.path(), "over.npy", &over);
    let path = path.to_str().unwrap();
    for (args, stdin) in [
        (vec!["-p", path, "-t", path, "--axis", "1"], None),
        (
            vec!["-p", "-", "-t", path, "--axis", "-1", "-f", "json"],
            Some(&over[..]),
        ),
        (
            vec![
                "-p", path, "-t", "-", "--axis", "1", "-r", "sum", "-o", "x.npy",
            ],
            Some(&over[..]),
        ),
    ] {
        let run = huber(&args, stdin);
        run.fails(
            1,
            &["would keep 4194305 cells, more than the 4194304"],
            &format!("{args:?}"),
        );
        assert!(run.stdout.is_empty());
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    }
    assert!(!dir.path().join("x.npy").exists() && !Path::new("x.npy").exists());
}
