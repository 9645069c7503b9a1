//! Exact sums end to end: data cut into shards at random element boundaries, each shard run on
//! its own, the results merged in random orders and trees, must give one state and the result of
//! one run over all the data, bit for bit; and sums on rounding boundaries against their exact,
//! correctly rounded values.

use half::f16;
use serde_json::Value;

use huber_core::xorshift::Rng;

use crate::util::{Dir, npy_bytes, number};

/// The test generator's draws that these tests add: a uniform value in [0, 1).
trait Unit {
    fn unit(&mut self) -> f64;
}

impl Unit for Rng {
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[derive(Clone, Copy, Debug)]
enum Dt {
    F16,
    F32,
    F64,
}

/// An NPY file of `values` rounded to `dt`.
fn npy(dt: Dt, values: &[f64]) -> Vec<u8> {
    let mut data = Vec::new();
    let descr = match dt {
        Dt::F16 => {
            values
                .iter()
                .for_each(|&x| data.extend(f16::from_f64(x).to_le_bytes()));
            "<f2"
        }
        Dt::F32 => {
            values
                .iter()
                .for_each(|&x| data.extend((x as f32).to_le_bytes()));
            "<f4"
        }
        Dt::F64 => {
            values.iter().for_each(|&x| data.extend(x.to_le_bytes()));
            "<f8"
        }
    };
    npy_bytes(descr, &[values.len()], &data)
}

/// Values over many binades, with subnormals, values near the type's largest (so that sums
/// overflow) and, if `nan`, a few NaNs.
fn values(rng: &mut Rng, dt: Dt, n: usize, nan: bool) -> Vec<f64> {
    let (max, tiny) = match dt {
        Dt::F16 => (6.0e4, 6.0e-8),
        Dt::F32 => (3.0e38, 1.0e-45),
        Dt::F64 => (1.0e308, 5.0e-324),
    };
    (0..n)
        .map(|_| {
            let sign = if rng.below(2) == 0 { 1.0 } else { -1.0 };
            sign * match rng.below(40) {
                0 => max * rng.unit(),
                1 => tiny * rng.below(8) as f64,
                2 if nan => f64::NAN,
                3 => (rng.below(64) as f64 - 32.0).exp2() * rng.unit(),
                _ => rng.unit() * 4.0,
            }
        })
        .collect()
}

/// The options of one scenario: a loss sweep, a reduction, a NaN policy, maybe weights and keys.
struct Scenario {
    dt: Dt,
    args: Vec<String>,
    weights: bool,
    keys: bool,
}

fn scenario(rng: &mut Rng) -> Scenario {
    let dt = [Dt::F16, Dt::F32, Dt::F64][rng.below(3)];
    let mut args: Vec<String> = match rng.below(3) {
        0 => vec!["-l".into(), "l1".into()],
        1 => vec!["-d".into(), "0.5,2".into()],
        _ => vec!["-l".into(), "mse".into()],
    };
    let weights = rng.below(2) == 0;
    // --by gives means and sums only.
    let keys = rng.below(3) == 0;
    let reduction = match rng.below(3) {
        0 => "sum",
        1 if weights && !keys => "weighted-mean",
        _ => "mean",
    };
    args.extend(["-r".into(), reduction.into()]);
    if rng.below(2) == 0 {
        args.extend(["--nan".into(), "omit".into()]);
    }
    Scenario {
        dt,
        args,
        weights,
        keys,
    }
}

/// Runs `huber ARGS -f json` in `dir`; its stdout.
fn json_run(dir: &Dir, args: &[String]) -> String {
    let mut all = args.to_vec();
    all.extend(["-f".into(), "json".into()]);
    let run = dir.run(&all, None).ok(&format!("huber {}", all.join(" ")));
    run.text()
}

/// Merges `inputs` (files of `dir`) in a random tree: random pairs or triples become
/// intermediate results until one is left. Returns the last merge's stdout.
fn merge_tree(dir: &Dir, rng: &mut Rng, mut inputs: Vec<String>, tag: &str) -> String {
    let mut step = 0;
    loop {
        // Shuffle, then merge a random-sized prefix.
        for i in (1..inputs.len()).rev() {
            inputs.swap(i, rng.below(i + 1));
        }
        let take = if inputs.len() <= 3 {
            inputs.len()
        } else {
            2 + rng.below(inputs.len() - 1)
        };
        let mut args = vec!["merge".to_string()];
        args.extend(inputs.drain(..take));
        let out = json_run(dir, &args);
        if inputs.is_empty() {
            return out;
        }
        let name = format!("{tag}_m{step}.json");
        dir.write(&name, &out);
        inputs.push(name);
        step += 1;
    }
}

/// Rounds of [`shards_merge_to_one_run_in_any_order`]: `HUBER_EXACT_ROUNDS`, default 24.
fn rounds() -> usize {
    std::env::var("HUBER_EXACT_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(24)
}

#[test]
fn shards_merge_to_one_run_in_any_order() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..rounds() {
        let s = scenario(&mut rng);
        // Now and then more than a chunk (16 Ki elements), so that shards cut chunks.
        let n = if round % 6 == 5 {
            20_000 + rng.below(30_000)
        } else {
            1 + rng.below(3000)
        };
        let nan = s.args.iter().any(|a| a == "omit") || rng.below(4) == 0;
        let pred = values(&mut rng, s.dt, n, nan);
        let target = values(&mut rng, s.dt, n, false);
        let weight: Vec<f64> = (0..n)
            .map(|_| (rng.unit() - 0.25) * [1.0, 1e10, 1e-10][rng.below(3)])
            .collect();
        let keys: Vec<i64> = (0..n).map(|_| rng.below(5) as i64).collect();
        let dir = Dir::new();
        // Cut points: 0 < c1 < … < n, one to five shards.
        let mut cuts: Vec<usize> = (0..rng.below(5)).map(|_| rng.below(n + 1)).collect();
        cuts.extend([0, n]);
        cuts.sort_unstable();
        cuts.dedup();
        let files = |dir: &Dir, tag: &str, a: usize, b: usize| -> Vec<String> {
            dir.write(&format!("{tag}_p.npy"), npy(s.dt, &pred[a..b]));
            dir.write(&format!("{tag}_t.npy"), npy(s.dt, &target[a..b]));
            let mut args = s.args.clone();
            args.extend([
                "-p".into(),
                format!("{tag}_p.npy"),
                "-t".into(),
                format!("{tag}_t.npy"),
            ]);
            if s.weights {
                dir.write(&format!("{tag}_w.npy"), npy(s.dt, &weight[a..b]));
                args.extend(["-w".into(), format!("{tag}_w.npy")]);
            }
            if s.keys {
                let bytes: Vec<u8> = keys[a..b].iter().flat_map(|k| k.to_le_bytes()).collect();
                dir.write(&format!("{tag}_k.npy"), npy_bytes("<i8", &[b - a], &bytes));
                args.extend(["--by".into(), format!("{tag}_k.npy")]);
            }
            args
        };
        let whole = json_run(&dir, &files(&dir, "whole", 0, n));
        let mut shards = Vec::new();
        for (k, w) in cuts.windows(2).enumerate() {
            let tag = format!("s{k}");
            let out = json_run(&dir, &files(&dir, &tag, w[0], w[1]));
            dir.write(&format!("{tag}.json"), out);
            shards.push(format!("{tag}.json"));
        }
        // The `by` field names the key file, which differs between shards and the whole run.
        let normal = |text: &str| -> Vec<Value> {
            let mut v: Vec<Value> = match serde_json::from_str(text).unwrap() {
                Value::Array(a) => a,
                one => vec![one],
            };
            for r in &mut v {
                if let Some(o) = r.as_object_mut() {
                    o.remove("by");
                }
            }
            v
        };
        let want = normal(&whole);
        for order in 0..3 {
            let got = merge_tree(&dir, &mut rng, shards.clone(), &format!("o{order}"));
            assert_eq!(
                normal(&got),
                want,
                "round {round}, {:?} {:?}, cuts {cuts:?}, order {order}",
                s.dt,
                s.args
            );
        }
    }
}

/// Runs `args` on `pred` (target 0) and optional `weight` in `dt`; the one JSON result.
fn result(dt: Dt, args: &[&str], pred: &[f64], weight: Option<&[f64]>) -> Value {
    let dir = Dir::new();
    dir.write("p.npy", npy(dt, pred));
    dir.write("t.npy", npy(dt, &vec![0.0; pred.len()]));
    let mut all: Vec<String> = ["-p", "p.npy", "-t", "t.npy"].map(String::from).to_vec();
    if let Some(w) = weight {
        dir.write("w.npy", npy(dt, w));
        all.extend(["-w".into(), "w.npy".into()]);
    }
    all.extend(args.iter().map(|a| a.to_string()));
    serde_json::from_str(&json_run(&dir, &all)).unwrap()
}

#[test]
fn values_on_rounding_boundaries_are_correctly_rounded() {
    let p = |e: i32| 2f64.powi(e);
    let l1_sum = ["-l", "l1", "-r", "sum"];
    // 1 + 2^-53 is a tie between 1 and 1 + 2^-52; 2^-200 breaks it upwards.
    let r = result(Dt::F64, &l1_sum, &[1.0, p(-53), p(-200)], None);
    assert_eq!(number(&r["value"]), 1.0000000000000002);
    // An exact tie rounds to even, both ways.
    let r = result(Dt::F64, &l1_sum, &[1.0, p(-53)], None);
    assert_eq!(number(&r["value"]), 1.0);
    let r = result(Dt::F64, &l1_sum, &[1.0 + p(-52), p(-53)], None);
    assert_eq!(number(&r["value"]), 1.0 + p(-51));
    // Cancellation to 1 in float32: 2^100 − 2^100 + 1 (negative weight).
    let r = result(
        Dt::F32,
        &l1_sum,
        &[p(100), 1.0, p(100)],
        Some(&[1.0, 1.0, -1.0]),
    );
    assert_eq!(number(&r["value"]), 1.0);
    // 1e308 − 1e308 + the smallest subnormal.
    let r = result(
        Dt::F64,
        &l1_sum,
        &[1e308, 1e308, 5e-324],
        Some(&[1.0, -1.0, 1.0]),
    );
    assert_eq!(number(&r["value"]), 5e-324);
    // A weighted mean whose weights cancel: Σw = 3 + 1e38 − 1e38 = 3, Σwℓ = 3.
    let r = result(
        Dt::F32,
        &["-l", "l1", "-r", "weighted-mean"],
        &[1.0, 1.0, 1.0],
        Some(&[3.0, 1e38, -1e38]),
    );
    assert_eq!(number(&r["weight_sum"]), 3.0);
    assert_eq!(number(&r["value"]), 1.0);
    // float32 sums rounded once from the exact value: 1 + 2^-24 + 2^-60 is above the tie between
    // 1 and 1 + 2^-23 (rounding to float64 first would make it a tie, and give 1).
    let r = result(Dt::F32, &l1_sum, &[1.0, p(-24), p(-60)], None);
    assert_eq!(number(&r["value"]) as f32, 1.0 + f32::EPSILON);
    // A mean of values whose sum overflows float64 is finite, and exact.
    let r = result(Dt::F64, &["-l", "l1"], &[f64::MAX, f64::MAX], None);
    assert_eq!(number(&r["value"]), f64::MAX);
    assert_eq!(number(&r["sum"]), f64::INFINITY);
}

/// `x` rounded to `dt`.
fn in_dtype(dt: Dt, x: f64) -> f64 {
    match dt {
        Dt::F16 => f16::from_f64(x).to_f64(),
        Dt::F32 => x as f32 as f64,
        Dt::F64 => x,
    }
}

/// The cases of `fixtures/exact/cases.json` (made by `fixtures/exact/generate.py` with
/// `fractions.Fraction`): l1 against 0 of `pred`, with `weight`, in every reduction: huber's
/// values are the exact ones rounded once, bit for bit.
#[test]
fn values_equal_fraction_exact_references() {
    let text =
        std::fs::read_to_string(crate::util::repo_path("fixtures/exact/cases.json")).unwrap();
    let cases: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert!(cases.len() >= 30, "{} cases", cases.len());
    let floats = |v: &Value| -> Vec<f64> {
        let all = v.as_array().unwrap().iter();
        all.map(|x| x.as_str().unwrap().parse().unwrap()).collect()
    };
    let float = |v: &Value| -> f64 { v.as_str().unwrap().parse().unwrap() };
    for c in &cases {
        let name = c["name"].as_str().unwrap();
        let dt = match c["dtype"].as_str().unwrap() {
            "float16" => Dt::F16,
            "float32" => Dt::F32,
            _ => Dt::F64,
        };
        let pred = floats(&c["pred"]);
        let weight = (!c["weight"].is_null()).then(|| floats(&c["weight"]));
        let mut checks = vec![("sum", "sum"), ("mean", "mean")];
        if !c["weighted_mean"].is_null() {
            checks.push(("weighted-mean", "weighted_mean"));
        }
        for (reduction, field) in checks {
            let args = ["-l", "l1", "-r", reduction];
            let r = result(dt, &args, &pred, weight.as_deref());
            // Printed as the shortest text that reads back in the dtype.
            let (got, want) = (in_dtype(dt, number(&r["value"])), float(&c[field]));
            assert_eq!(
                got.to_bits(),
                want.to_bits(),
                "{name}: {reduction} {got:e} ≠ {want:e}"
            );
            if reduction == "weighted-mean" {
                let got = in_dtype(dt, number(&r["weight_sum"]));
                let want = float(&c["weight_sum"]);
                assert_eq!(got.to_bits(), want.to_bits(), "{name}: weight_sum");
            }
        }
    }
}
