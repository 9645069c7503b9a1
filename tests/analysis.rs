//! The analysis options against the PyTorch and mpmath fixtures of `fixtures/analysis` (schema in its
//! README.txt): gradients, weights, broadcasting, NaN policies, the log-cosh and pseudo-Huber
//! references and `--delta auto`, each run through the built binary; then the option
//! combinations that must be refused and those that must work together.
//!
//! The largest error seen for each kind is printed (`cargo test -- --nocapture`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

use serde_json::Value;

use crate::util::{Dir, Output, repo_path};

// ---------------------------------------------------------------------------------------------
// Numbers in a dtype

#[derive(Clone, Copy, Debug, PartialEq)]
enum Dt {
    F16,
    F32,
    F64,
}

impl Dt {
    fn from_name(name: &str) -> Dt {
        match name {
            "float16" => Dt::F16,
            "float32" => Dt::F32,
            "float64" => Dt::F64,
            other => panic!("unknown dtype {other}"),
        }
    }

    /// `x` rounded to this dtype, as an f64.
    fn round(self, x: f64) -> f64 {
        match self {
            Dt::F16 => half::f16::from_f64(x).to_f64(),
            Dt::F32 => x as f32 as f64,
            Dt::F64 => x,
        }
    }

    /// A value of this dtype from its repr (Python's or ours); `nan`, `inf` in any spelling.
    fn parse(self, s: &str) -> f64 {
        let x = match s.trim().to_ascii_lowercase().as_str() {
            "nan" => f64::NAN,
            "inf" | "infinity" | "+inf" => f64::INFINITY,
            "-inf" | "-infinity" => f64::NEG_INFINITY,
            t => match self {
                // Read as f32 directly so that the shortest f32 repr reads back exactly.
                Dt::F32 => t.parse::<f32>().map(f64::from).ok(),
                _ => t.parse::<f64>().ok(),
            }
            .unwrap_or_else(|| panic!("not a number: {s:?}")),
        };
        self.round(x)
    }

    /// The value's position on the line of this dtype's numbers (±0 share a position).
    fn key(self, x: f64) -> i64 {
        let (bits, sign, mag) = match self {
            Dt::F16 => {
                let b = half::f16::from_f64(x).to_bits() as u64;
                (b, 0x8000, b & 0x7fff)
            }
            Dt::F32 => {
                let b = (x as f32).to_bits() as u64;
                (b, 0x8000_0000, b & 0x7fff_ffff)
            }
            Dt::F64 => {
                let b = x.to_bits();
                (b, 1 << 63, b & !(1 << 63))
            }
        };
        let mag = mag as i64;
        if bits & sign != 0 { -mag } else { mag }
    }

    /// Distance in ulp of this dtype: 0 between two NaNs, `u64::MAX` between NaN and a number.
    fn ulps(self, a: f64, b: f64) -> u64 {
        match (a.is_nan(), b.is_nan()) {
            (true, true) => 0,
            (false, false) => self.key(a).abs_diff(self.key(b)),
            _ => u64::MAX,
        }
    }

    /// The same bits in this dtype (any NaN matches any NaN).
    fn identical(self, a: f64, b: f64) -> bool {
        (a.is_nan() && b.is_nan())
            || match self {
                Dt::F16 => half::f16::from_f64(a).to_bits() == half::f16::from_f64(b).to_bits(),
                Dt::F32 => (a as f32).to_bits() == (b as f32).to_bits(),
                Dt::F64 => a.to_bits() == b.to_bits(),
            }
    }

    /// Allowed error of a mean or sum against the exact result: 1 ulp, 2 for f64.
    fn reduce_tolerance(self) -> u64 {
        if self == Dt::F64 { 2 } else { 1 }
    }
}

/// An NPY array: its shape, dtype and values widened to f64 (exactly).
#[derive(Debug)]
struct Array {
    shape: Vec<u64>,
    dt: Dt,
    data: Vec<f64>,
}

fn parse_npy(bytes: &[u8]) -> Result<Array, String> {
    let npy = npyz::NpyFile::new(bytes).map_err(|e| format!("not NPY: {e}"))?;
    let shape = npy.shape().to_vec();
    let npyz::DType::Plain(ts) = npy.dtype() else {
        return Err(format!("not a plain dtype: {:?}", npy.dtype()));
    };
    if ts.type_char() != npyz::TypeChar::Float {
        return Err(format!("not a float dtype: {ts}"));
    }
    let err = |e: std::io::Error| e.to_string();
    let (dt, data) = match ts.size_field() {
        2 => (
            Dt::F16,
            npy.into_vec::<half::f16>()
                .map_err(err)?
                .into_iter()
                .map(|x| x.to_f64())
                .collect(),
        ),
        4 => (
            Dt::F32,
            npy.into_vec::<f32>()
                .map_err(err)?
                .into_iter()
                .map(f64::from)
                .collect(),
        ),
        8 => (Dt::F64, npy.into_vec::<f64>().map_err(err)?),
        n => return Err(format!("float of {n} bytes")),
    };
    Ok(Array { shape, dt, data })
}

fn fixture_npy(rel: &str) -> Array {
    let bytes = std::fs::read(repo_path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    parse_npy(&bytes).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Compares `got` with `want` element by element: the largest distance in ulp, or why not.
/// `tol` = 0 asks for identical bits.
fn compare(got: &Array, want: &Array, tol: u64) -> Result<u64, String> {
    if got.shape != want.shape || got.dt != want.dt {
        return Err(format!(
            "shape/dtype {:?} {:?}, expected {:?} {:?}",
            got.shape, got.dt, want.shape, want.dt
        ));
    }
    let dt = want.dt;
    let mut max = 0;
    let mut first_bad = None;
    for (i, (&g, &w)) in got.data.iter().zip(&want.data).enumerate() {
        let d = dt.ulps(g, w);
        let bad = if tol == 0 {
            !dt.identical(g, w)
        } else {
            d > tol
        };
        if bad && first_bad.is_none() {
            first_bad = Some(format!("element {i}: {g:e}, expected {w:e} ({d} ulp)"));
        }
        max = max.max(d);
    }
    match first_bad {
        Some(why) => Err(format!("{why}; max {max} ulp")),
        None => Ok(max),
    }
}

/// The two losses without a PyTorch kernel: their fixtures are mpmath values, correctly rounded,
/// which huber meets to a few ulp rather than bit for bit.
fn is_mp_loss(case: &Value) -> bool {
    matches!(s(case, "loss"), "log-cosh" | "pseudo-huber")
}

/// Tolerance of element results that PyTorch defines bit for bit (0: identical bits), or,
/// for log-cosh and pseudo-Huber, the references' 3 ulp.
fn element_tolerance(case: &Value) -> u64 {
    if is_mp_loss(case) { 3 } else { 0 }
}

/// The spacing of this dtype's numbers at `x` (ulp(x)).
fn spacing(dt: Dt, x: f64) -> f64 {
    let a = x.abs();
    match dt {
        Dt::F16 => {
            let h = half::f16::from_f64(a);
            half::f16::from_bits(h.to_bits() + 1).to_f64() - h.to_f64()
        }
        Dt::F32 => {
            let f = a as f32;
            (f32::from_bits(f.to_bits() + 1) - f) as f64
        }
        Dt::F64 => f64::from_bits(a.to_bits() + 1) - a,
    }
}

/// The bytes of a C-order NPY file of `dt` holding `data` (version 1.0, header padded to 64).
fn npy_bytes(dt: Dt, shape: &[u64], data: &[f64]) -> Vec<u8> {
    let descr = match dt {
        Dt::F16 => "<f2",
        Dt::F32 => "<f4",
        Dt::F64 => "<f8",
    };
    let dims: String = shape.iter().map(|d| format!("{d}, ")).collect();
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({dims}), }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    for &x in data {
        match dt {
            Dt::F16 => out.extend(half::f16::from_f64(x).to_le_bytes()),
            Dt::F32 => out.extend((x as f32).to_le_bytes()),
            Dt::F64 => out.extend(x.to_le_bytes()),
        }
    }
    out
}

/// For every element of the broadcast shape `full` (C order), the flat index of the element of
/// an array of shape `small` that NumPy broadcasting pairs with it.
fn broadcast_map(full: &[u64], small: &[u64]) -> Vec<usize> {
    let lead = full.len() - small.len();
    let n: u64 = full.iter().product();
    (0..n)
        .map(|mut flat| {
            let mut index = 0;
            let mut stride = 1;
            for axis in (0..full.len()).rev() {
                let i = flat % full[axis];
                flat /= full[axis];
                if axis >= lead {
                    let d = small[axis - lead];
                    if d != 1 {
                        index += i * stride;
                    }
                    stride *= d;
                }
            }
            index as usize
        })
        .collect()
}

/// A gradient summed over broadcast copies against the exact sum of correctly rounded terms,
/// when the terms themselves are only accurate to `term_ulps`: each term may be off by that many
/// of its own ulp, so the sum may be off by the sum of those, plus 2 ulp of the result.
/// Cancellation between copies can make this many ulp of the result; `terms` are huber's own
/// elementwise gradients over the broadcast shape, `map` pairs them with pred's elements.
/// Returns the largest distance in ulp of the result.
fn compare_summed(
    got: &Array,
    want: &Array,
    terms: &Array,
    map: &[usize],
    term_ulps: f64,
) -> Result<u64, String> {
    if got.shape != want.shape || got.dt != want.dt {
        return Err(format!(
            "shape/dtype {:?} {:?}, expected {:?} {:?}",
            got.shape, got.dt, want.shape, want.dt
        ));
    }
    let dt = want.dt;
    let mut slack = vec![0.0; want.data.len()];
    let mut sums = vec![0.0; want.data.len()];
    for (&t, &j) in terms.data.iter().zip(map) {
        slack[j] += term_ulps * spacing(dt, t);
        sums[j] += t;
    }
    let mut max = 0;
    for (j, (&g, &w)) in got.data.iter().zip(&want.data).enumerate() {
        let d = dt.ulps(g, w);
        max = max.max(d);
        let bound = slack[j] + 2.0 * spacing(dt, w);
        // The terms are the right ones: their plain sum is as near the result.
        let terms_ok = d <= 2 || (sums[j] - g).abs() <= bound;
        if d > 2 && !((g - w).abs() <= bound && terms_ok) {
            return Err(format!(
                "element {j}: {g:e}, expected {w:e} ({d} ulp), terms sum to {:e}; bound {bound:e}",
                sums[j]
            ));
        }
    }
    Ok(max)
}

// ---------------------------------------------------------------------------------------------
// Cases and runs

fn manifest() -> &'static [Value] {
    static CASES: OnceLock<Vec<Value>> = OnceLock::new();
    CASES.get_or_init(|| {
        let text = std::fs::read_to_string(repo_path("fixtures/analysis/manifest.json"))
            .expect("fixtures/analysis/manifest.json");
        serde_json::from_str(&text).expect("manifest JSON")
    })
}

fn cases(kind: &str) -> Vec<&'static Value> {
    let v: Vec<_> = manifest().iter().filter(|c| c["kind"] == kind).collect();
    assert!(!v.is_empty(), "no {kind} cases in the manifest");
    v
}

fn s<'a>(case: &'a Value, field: &str) -> &'a str {
    case[field]
        .as_str()
        .unwrap_or_else(|| panic!("{}: no string field {field}", case["name"]))
}

fn dtype(case: &Value) -> Dt {
    Dt::from_name(s(case, "dtype"))
}

/// `-p P -t T [-w W] -l LOSS [-d δ | -b β] -j 1` for a case.
fn case_args(case: &Value) -> Vec<String> {
    let mut args = vec![
        "-j".to_string(),
        "1".to_string(),
        "-p".to_string(),
        path_arg(s(case, "pred")),
        "-t".to_string(),
        path_arg(s(case, "target")),
        "-l".to_string(),
        s(case, "loss").to_string(),
    ];
    if let Some(w) = case.get("weight") {
        args.extend(["-w".to_string(), path_arg(w.as_str().unwrap())]);
    }
    for (field, flag) in [("delta", "-d"), ("beta", "-b")] {
        if let Some(v) = case.get(field).and_then(Value::as_f64) {
            // Debug prints the shortest round-trip form, with an exponent where useful.
            args.extend([flag.to_string(), format!("{v:?}")]);
        }
    }
    args
}

fn path_arg(rel: &str) -> String {
    repo_path(rel).to_str().expect("UTF-8 path").to_string()
}

/// Runs a case with extra arguments in its own directory.
fn run(case: &Value, extra: &[&str]) -> (Dir, Output) {
    let dir = Dir::new();
    let mut args = case_args(case);
    args.extend(extra.iter().map(|a| a.to_string()));
    let out = dir.run(&args, None);
    (dir, out)
}

/// Runs a case that writes `out.npy` and reads it back.
fn run_npy(case: &Value, extra: &[&str]) -> Result<Array, String> {
    let mut args = extra.to_vec();
    args.extend(["-o", "out.npy"]);
    let (dir, out) = run(case, &args);
    if out.status != Some(0) {
        return Err(format!("status {:?}: {}", out.status, out.stderr.trim()));
    }
    parse_npy(&dir.read("out.npy"))
}

/// Runs a case with `-f json` and parses the one result object.
fn run_json(case: &Value, extra: &[&str]) -> Result<Value, String> {
    let mut args = extra.to_vec();
    args.extend(["-f", "json"]);
    let (_dir, out) = run(case, &args);
    if out.status != Some(0) {
        return Err(format!("status {:?}: {}", out.status, out.stderr.trim()));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("bad JSON {:?}: {e}", out.text()))
}

/// A JSON number as written by huber: a number, or "NaN", "Infinity", "-Infinity".
fn json_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            _ => None,
        },
        _ => None,
    }
}

/// Checks a scalar JSON result against the case's "exact_result" and "count"; the ulp distance.
fn check_scalar(case: &Value, result: &Value) -> Result<u64, String> {
    let dt = dtype(case);
    let want = dt.parse(s(case, "exact_result"));
    let got = json_number(&result["value"])
        .map(|x| dt.round(x))
        .ok_or_else(|| format!("no value in {result}"))?;
    let count = case["count"].as_u64().expect("count");
    if result["count"].as_u64() != Some(count) {
        return Err(format!("count {}, expected {count}", result["count"]));
    }
    let d = dt.ulps(got, want);
    if d > dt.reduce_tolerance() {
        return Err(format!("value {got:e}, exact {want:e}: {d} ulp"));
    }
    Ok(d)
}

/// Largest error per label, with how many results were bit-exact; failures with their case.
#[derive(Default)]
struct Tally {
    seen: BTreeMap<String, (u64, usize, usize)>,
    failures: Vec<String>,
}

impl Tally {
    fn record(&mut self, label: String, case: &Value, what: &str, r: Result<u64, String>) {
        match r {
            Ok(d) => {
                let e = self.seen.entry(label).or_default();
                e.0 = e.0.max(d);
                e.1 += usize::from(d == 0);
                e.2 += 1;
            }
            Err(why) => self.failures.push(format!(
                "{} ({what}): {why}",
                case["name"].as_str().unwrap()
            )),
        }
    }

    /// Records a distance that is reported but not checked.
    fn observe(&mut self, label: String, d: u64) {
        let e = self.seen.entry(label).or_default();
        e.0 = e.0.max(d);
        e.1 += usize::from(d == 0);
        e.2 += 1;
    }

    fn finish(self, title: &str) {
        let mut report = format!("{title}: max ulp (bit-exact/results)\n");
        for (label, (max, exact, n)) in &self.seen {
            let _ = writeln!(report, "  {label:<40} {max:>3} ulp ({exact}/{n} exact)");
        }
        println!("{report}");
        assert!(
            self.failures.is_empty(),
            "{} failures:\n{}",
            self.failures.len(),
            self.failures.join("\n")
        );
    }
}

fn label(kind: &str, case: &Value) -> String {
    format!("{kind} {} {}", s(case, "dtype"), s(case, "loss"))
}

// ---------------------------------------------------------------------------------------------
// The fixture kinds

#[test]
fn gradients_match_torch_autograd() {
    let mut t = Tally::default();
    for case in cases("grad") {
        let r = s(case, "reduction");
        let want = fixture_npy(s(case, "expected"));
        let got = run_npy(case, &["--grad", "-r", r]);
        let w = if case.get("weight").is_some() {
            " w"
        } else {
            ""
        };
        let label = format!("{} {r}{w}", label("grad", case));
        t.record(
            label,
            case,
            "--grad",
            got.and_then(|g| compare(&g, &want, 2)),
        );
    }
    t.finish("grad");
}

#[test]
fn weighted_losses() {
    let mut t = Tally::default();
    for case in cases("weighted") {
        let r = s(case, "reduction");
        let label = format!("{} {r}", label("weighted", case));
        if r == "none" {
            let want = fixture_npy(s(case, "expected"));
            let got = run_npy(case, &["-r", "none"]);
            let tol = element_tolerance(case);
            t.record(
                label,
                case,
                "none",
                got.and_then(|g| compare(&g, &want, tol)),
            );
        } else {
            let got = run_json(case, &["-r", r]);
            t.record(label, case, r, got.and_then(|v| check_scalar(case, &v)));
        }
    }
    t.finish("weighted");
}

/// `--broadcast`: element losses (torch's bits) and reductions over the broadcast shape.
#[test]
fn broadcasting() {
    let mut t = Tally::default();
    for case in cases("broadcast") {
        let r = s(case, "reduction");
        let w = if case.get("weight").is_some() {
            " w"
        } else {
            ""
        };
        let label = format!("{} {r}{w}", label("broadcast", case));
        if r == "none" {
            let want = fixture_npy(s(case, "expected"));
            let got = run_npy(case, &["--broadcast", "-r", "none"]);
            let tol = element_tolerance(case);
            t.record(
                label.clone(),
                case,
                "none",
                got.and_then(|g| compare(&g, &want, tol)),
            );
        } else {
            let got = run_json(case, &["--broadcast", "-r", r]);
            t.record(
                label.clone(),
                case,
                r,
                got.and_then(|v| check_scalar(case, &v)),
            );
        }
    }
    t.finish("broadcast");
}

/// `--broadcast --grad` sums the gradients of pred's copies: against the exact sum of the
/// elementwise gradients ("grad_exact"); torch's own float sum ("grad") is only reported.
#[test]
fn broadcast_gradients() {
    let mut t = Tally::default();
    for case in cases("broadcast") {
        let r = s(case, "reduction");
        let w = if case.get("weight").is_some() {
            " w"
        } else {
            ""
        };
        let label = format!("{} {r}{w}", label("broadcast", case));
        let exact = fixture_npy(s(case, "grad_exact"));
        let torch = fixture_npy(s(case, "grad"));
        match run_npy(case, &["--broadcast", "--grad", "-r", r]) {
            Ok(g) => {
                if let Ok(d) = compare(&g, &torch, u64::MAX) {
                    t.observe(format!("{label} torch's grad (not checked)"), d);
                }
                let checked = if is_mp_loss(case) {
                    expanded_terms(case, r)
                        .and_then(|(terms, map)| compare_summed(&g, &exact, &terms, &map, 3.0))
                } else {
                    compare(&g, &exact, 2)
                };
                t.record(format!("{label} grad"), case, "--grad", checked);
            }
            Err(why) => t.record(label, case, "--grad", Err(why)),
        }
    }
    t.finish("broadcast --grad");
}

/// huber's elementwise gradients over the broadcast shape (pred expanded to it first), and the
/// pairing of those elements with pred's.
fn expanded_terms(case: &Value, reduction: &str) -> Result<(Array, Vec<usize>), String> {
    let full: Vec<u64> = serde_json::from_value(case["shape"].clone()).expect("shape");
    let pred = fixture_npy(s(case, "pred"));
    let map = broadcast_map(&full, &pred.shape);
    let expanded: Vec<f64> = map.iter().map(|&i| pred.data[i]).collect();
    let dir = Dir::new();
    let path = dir.write("pred.npy", npy_bytes(pred.dt, &full, &expanded));
    let mut args = case_args(case);
    let at = args.iter().position(|a| a == "-p").expect("-p") + 1;
    args[at] = path.to_str().expect("UTF-8 path").to_string();
    args.extend(["--broadcast", "--grad", "-r", reduction, "-o", "terms.npy"].map(String::from));
    let out = dir.run(&args, None);
    if out.status != Some(0) {
        return Err(format!("expanded pred: {}", out.stderr.trim()));
    }
    Ok((parse_npy(&dir.read("terms.npy"))?, map))
}

#[test]
fn nan_policies() {
    let mut t = Tally::default();
    for case in cases("nan_omit") {
        let r = s(case, "reduction");
        let w = if case.get("weight").is_some() {
            " w"
        } else {
            ""
        };
        let label = format!("{} {r}{w}", label("nan", case));

        let got = run_json(case, &["--nan", "omit", "-r", r]);
        t.record(
            format!("{label} omit"),
            case,
            "--nan omit",
            got.and_then(|v| check_scalar(case, &v)),
        );

        let want = fixture_npy(s(case, "grad"));
        let got = run_npy(case, &["--nan", "omit", "--grad", "-r", r]);
        t.record(
            format!("{label} omit grad"),
            case,
            "--nan omit --grad",
            got.and_then(|g| compare(&g, &want, 2)),
        );

        let want = fixture_npy(s(case, "propagate_grad"));
        let got = run_npy(case, &["--nan", "propagate", "--grad", "-r", r]);
        t.record(
            format!("{label} propagate grad"),
            case,
            "--nan propagate --grad",
            got.and_then(|g| compare(&g, &want, 2)),
        );

        if r != "mean" {
            continue; // --nan error fails alike for both reductions: once per case pair
        }
        let has_nan = case["count"] != case["count_all"];
        let (_dir, out) = run(case, &["--nan", "error", "-r", r]);
        let ok = if has_nan {
            out.status == Some(1)
                && out.stdout.is_empty()
                && out.stderr.starts_with("huber: error:")
                && out.stderr.contains("element")
                && out.stderr.chars().any(|c| c.is_ascii_digit())
        } else {
            out.status == Some(0)
        };
        let why = format!(
            "status {:?}, stdout {:?}, stderr {:?}",
            out.status,
            out.text(),
            out.stderr
        );
        t.record(
            "nan error".to_string(),
            case,
            "--nan error",
            if ok { Ok(0) } else { Err(why) },
        );
    }
    t.finish("nan_omit");
}

#[test]
fn log_cosh_and_pseudo_huber_references() {
    let mut t = Tally::default();
    for case in cases("reference") {
        let name = s(case, "name");
        let label = format!("ref {} {name}", s(case, "dtype"));
        let want = fixture_npy(s(case, "expected"));
        let got = run_npy(case, &["-r", "none"]);
        t.record(
            label.clone(),
            case,
            "none",
            got.and_then(|g| compare(&g, &want, 3)),
        );
        let want = fixture_npy(s(case, "expected_grad"));
        let got = run_npy(case, &["--grad", "-r", "none"]);
        t.record(
            format!("{label} grad"),
            case,
            "--grad",
            got.and_then(|g| compare(&g, &want, 3)),
        );
    }
    t.finish("reference");
}

#[test]
fn delta_auto_from_mad() {
    let mut t = Tally::default();
    for case in cases("delta_auto") {
        let label = format!("delta_auto {}", s(case, "name"));
        let got = run_json(case, &["-d", "auto"]).and_then(|v| {
            let want = Dt::F64.parse(s(case, "delta"));
            match v["delta"].as_f64() {
                Some(d) if d.to_bits() == want.to_bits() => check_scalar(case, &v),
                other => Err(format!("delta {other:?}, expected {want:?}")),
            }
        });
        t.record(label, case, "-d auto", got);
    }
    t.finish("delta_auto");
}

#[test]
fn broadcast_map_pairs_as_numpy() {
    // [2, 1, 3] against [4, 2, 5, 3]: element (a, b, c, d) pairs with (b, 0, d).
    let map = broadcast_map(&[4, 2, 5, 3], &[2, 1, 3]);
    assert_eq!(map.len(), 120);
    for (flat, &i) in map.iter().enumerate() {
        let (b, d) = ((flat / 15) % 2, flat % 3);
        assert_eq!(i, b * 3 + d, "element {flat}");
    }
    assert_eq!(broadcast_map(&[3], &[]), vec![0, 0, 0]);
}

// ---------------------------------------------------------------------------------------------
// Combinations of options

/// Options that make no sense together: status 2, a reason on stderr, no output at all.
#[test]
fn senseless_combinations_are_refused() {
    let p = path_arg("fixtures/analysis/in/float64_grad_pred.npy");
    let t = path_arg("fixtures/analysis/in/float64_grad_target.npy");
    let refused: &[(&[&str], &str)] = &[
        (&["--grad", "-d", "0.5,1"], "--grad"),
        (&["-l", "huber", "-b", "0.5"], "--beta"),
        (&["-b", "0.5"], "--beta"),
        (&["-l", "mse", "-d", "1"], "--delta"),
        (&["-l", "l1", "-b", "1"], "--beta"),
        (&["-l", "smooth-l1", "-d", "1"], "--delta"),
        (&["-d", "1,2", "-r", "none"], "reduction"),
        (&["--nan", "omit", "-r", "none"], "omit"),
    ];
    for (extra, reason) in refused {
        let dir = Dir::new();
        let mut args = vec!["-p", &p, "-t", &t, "-o", "out.json"];
        args.extend_from_slice(extra);
        let out = dir.run(&args, None);
        assert_eq!(out.status, Some(2), "{extra:?}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{extra:?}: {}", out.text());
        assert!(
            out.stderr.starts_with("huber: error: ") && out.stderr.contains(reason),
            "{extra:?} should say why ({reason}): {}",
            out.stderr
        );
        assert!(!dir.path("out.json").exists(), "{extra:?} wrote its output");
    }
}

/// Huber of one residual, in PyTorch's parenthesisation.
fn huber(r: f64, d: f64) -> f64 {
    let z = r.abs();
    if z < d {
        (0.5 * z) * z
    } else {
        d * (z - 0.5 * d)
    }
}

/// A small CSV whose numbers are all exact in binary, with NaN in pred and in a weight.
const MIXED: &str = "pred,target,weight\n\
                     0.5,0,1\n\
                     3,0,2\n\
                     nan,0,1\n\
                     -2,0,0.5\n\
                     1.25,0,4\n\
                     0,0,3\n\
                     1,0,nan\n";

fn mixed_rows() -> Vec<[f64; 3]> {
    MIXED
        .lines()
        .skip(1)
        .map(|l| {
            let v: Vec<f64> = l.split(',').map(|x| x.parse().unwrap()).collect();
            [v[0], v[1], v[2]]
        })
        .collect()
}

fn mixed_args(dir: &Dir) -> Vec<String> {
    let csv = dir.write("data.csv", MIXED);
    let csv = csv.to_str().unwrap();
    ["-p", "-t", "-w"]
        .iter()
        .zip(["pred", "target", "weight"])
        .flat_map(|(flag, key)| [flag.to_string(), format!("{csv}:{key}")])
        .collect()
}

#[test]
fn weights_with_nan_omit_and_a_delta_sweep() {
    let dir = Dir::new();
    let mut args = mixed_args(&dir);
    args.extend(["--nan", "omit", "-d", "0.5,1", "-f", "json"].map(String::from));
    let out = dir.run(&args, None).ok("sweep");
    let results: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let results = results.as_array().expect("one result per δ");
    assert_eq!(results.len(), 2, "{results:?}");
    for (result, delta) in results.iter().zip([0.5, 1.0]) {
        // Every value is a short binary fraction: the sum is exact, the mean rounds once.
        let kept: Vec<[f64; 3]> = mixed_rows()
            .into_iter()
            .filter(|[p, t, w]| !(huber(p - t, delta) * w).is_nan())
            .collect();
        let sum: f64 = kept.iter().map(|[p, t, w]| huber(p - t, delta) * w).sum();
        let linear = kept
            .iter()
            .filter(|[p, t, _]| (p - t).abs() >= delta)
            .count();
        assert_eq!(result["delta"].as_f64(), Some(delta), "{result}");
        assert_eq!(result["count"].as_u64(), Some(5), "{result}");
        assert_eq!(result["sum"].as_f64(), Some(sum), "{result}");
        assert_eq!(result["value"].as_f64(), Some(sum / 5.0), "{result}");
        assert_eq!(
            result["linear_fraction"].as_f64(),
            Some(linear as f64 / 5.0),
            "{result}"
        );
        // The sweep gives what one run per δ gives.
        let mut one = mixed_args(&dir);
        one.extend(["--nan", "omit", "-d", &format!("{delta}"), "-f", "json"].map(String::from));
        let single: Value =
            serde_json::from_slice(&dir.run(&one, None).ok("one δ").stdout).unwrap();
        assert_eq!(&single, result);
    }
}

#[test]
fn gradients_with_weights_and_nan_omit() {
    let dir = Dir::new();
    let mut args = mixed_args(&dir);
    args.extend(["--grad", "--nan", "omit", "-r", "sum", "-f", "json"].map(String::from));
    let out = dir.run(&args, None).ok("--grad -w --nan omit");
    let got: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    // d/dpred Σ w·huber(r) = w·clamp(r, −δ, δ); 0 where the weighted loss is NaN.
    let want: Vec<f64> = mixed_rows()
        .iter()
        .map(|&[p, t, w]| {
            if (huber(p - t, 1.0) * w).is_nan() {
                0.0
            } else {
                (p - t).clamp(-1.0, 1.0) * w
            }
        })
        .collect();
    assert_eq!(got["shape"], serde_json::json!([7]), "{got}");
    let values: Vec<f64> = got["values"]
        .as_array()
        .expect("values")
        .iter()
        .map(|v| json_number(v).unwrap())
        .collect();
    assert_eq!(values, want, "{got}");
}

#[test]
fn broadcasting_with_weights_and_gradients() {
    // pred [2, 1], target [3], weight [1, 3]: everything broadcasts to [2, 3].
    let dir = Dir::new();
    dir.write("p.npy", npy_bytes(Dt::F64, &[2, 1], &[1.0, -2.0]));
    dir.write("t.npy", npy_bytes(Dt::F64, &[3], &[0.0, 0.5, 4.0]));
    dir.write("w.npy", npy_bytes(Dt::F64, &[1, 3], &[1.0, 2.0, 0.5]));
    let base = [
        "-p",
        "p.npy",
        "-t",
        "t.npy",
        "-w",
        "w.npy",
        "--broadcast",
        "-r",
        "sum",
    ];
    let (p, t, w) = ([1.0, -2.0], [0.0, 0.5, 4.0], [1.0, 2.0, 0.5]);
    let mut sum = 0.0;
    let mut grad = [0.0; 2];
    for i in 0..2 {
        for j in 0..3 {
            let r: f64 = p[i] - t[j];
            sum += huber(r, 1.0) * w[j];
            grad[i] += r.clamp(-1.0, 1.0) * w[j];
        }
    }
    let out = dir.run(base.iter().chain(&["-f", "json"]), None).ok("loss");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["value"].as_f64(), Some(sum), "{v}");
    assert_eq!(v["count"].as_u64(), Some(6), "{v}");
    assert_eq!(v["shape"], serde_json::json!([2, 3]), "{v}");

    dir.run(base.iter().chain(&["--grad", "-o", "g.npy"]), None)
        .ok("--grad");
    let g = parse_npy(&dir.read("g.npy")).unwrap();
    assert_eq!(g.shape, vec![2, 1]);
    assert_eq!(g.data, grad.to_vec());

    // Without --broadcast the shapes are refused, and the message shows them.
    let out = dir.run(&base[..6], None);
    assert_eq!(out.status, Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("[2, 1]")
            || out.stderr.contains("[2,1]")
            || out.stderr.contains("(2, 1)"),
        "{}",
        out.stderr
    );
}

#[test]
fn delta_auto_with_nan_omit() {
    let dir = Dir::new();
    // Residuals 1, 2, 3, 4, 100 and a NaN: median 3, deviations 2, 1, 0, 1, 97, MAD 1.
    dir.write("p.csv", "1\n2\n3\n4\n100\nnan\n");
    dir.write("t.csv", "0\n0\n0\n0\n0\n0\n");
    let base = ["-p", "p.csv", "-t", "t.csv", "-d", "auto", "-f", "json"];
    let delta = 1.345 * 1.4826 * 1.0;
    let out = dir
        .run(base.iter().chain(&["--nan", "omit"]), None)
        .ok("auto");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["delta"].as_f64(), Some(delta), "{v}");
    assert_eq!(v["count"].as_u64(), Some(5), "{v}");
    // Five positive terms: their f64 sum is within an ulp or two of the exact one.
    let sum: f64 = [1.0, 2.0, 3.0, 4.0, 100.0]
        .iter()
        .map(|&r| huber(r, delta))
        .sum();
    let value = json_number(&v["value"]).unwrap();
    assert!(
        Dt::F64.ulps(value, sum / 5.0) <= 2,
        "{v}, expected {}",
        sum / 5.0
    );

    // Without --nan omit the median is undefined, and the error says what to do.
    let out = dir.run(base, None);
    out.fails(1, &["--nan omit"], "");
    assert!(out.stdout.is_empty());
}

/// Shards `a.csv` and `b.csv`: the float64 gradient fixture's rows split unevenly in two.
fn write_csv_shards(dir: &Dir) {
    let pred = fixture_npy("fixtures/analysis/in/float64_grad_pred.npy");
    let target = fixture_npy("fixtures/analysis/in/float64_grad_target.npy");
    let half = pred.data.len() / 2 + 3;
    for (name, range) in [("a", 0..half), ("b", half..pred.data.len())] {
        let mut csv = String::from("pred,target\n");
        for i in range {
            let _ = writeln!(csv, "{:?},{:?}", pred.data[i], target.data[i]);
        }
        dir.write(&format!("{name}.csv"), csv);
    }
}

/// `a.json` and `b.json` with δ = 0.5, and `c.json`: the rows of b with δ = 1.
fn run_shards(dir: &Dir, r: &str) {
    for (shard, d) in [("a", "0.5"), ("b", "0.5"), ("c", "1")] {
        // Shard c: the rows of b with another δ.
        let csv = if shard == "c" {
            "b.csv".to_string()
        } else {
            format!("{shard}.csv")
        };
        let args = [
            "-p",
            &format!("{csv}:pred"),
            "-t",
            &format!("{csv}:target"),
            "-d",
            d,
            "-r",
            r,
            "-o",
            &format!("{shard}.json"),
        ];
        dir.run(args, None).ok("shard");
    }
}

/// Merging `a.json` and `b.json` gives the run over the whole fixture, its value within an ulp.
fn assert_merge_equals_whole(dir: &Dir, r: &str) {
    let pred = path_arg("fixtures/analysis/in/float64_grad_pred.npy");
    let target = path_arg("fixtures/analysis/in/float64_grad_target.npy");
    let whole = dir
        .run(
            [
                "-p", &pred, "-t", &target, "-r", r, "-d", "0.5", "-f", "json",
            ],
            None,
        )
        .ok("whole");
    let whole: Value = serde_json::from_slice(&whole.stdout).unwrap();
    let merged = dir
        .run(["merge", "a.json", "b.json", "-f", "json"], None)
        .ok("merge");
    let merged: Value = serde_json::from_slice(&merged.stdout).unwrap();
    for field in ["loss", "delta", "reduction", "count", "dtype"] {
        assert_eq!(merged[field], whole[field], "{field}: {merged} vs {whole}");
    }
    let (m, w) = (
        json_number(&merged["value"]).unwrap(),
        json_number(&whole["value"]).unwrap(),
    );
    assert!(Dt::F64.ulps(m, w) <= 1, "{r}: merged {m:e}, whole {w:e}");
}

/// Numbers read back exactly: a δ with 17 digits and the sum keep their bits through merge.
fn assert_merge_keeps_the_bits(dir: &Dir, r: &str) {
    let d = 1.345 * 1.4826;
    let args = [
        "-p",
        "a.csv:pred",
        "-t",
        "a.csv:target",
        "-r",
        r,
        "-o",
        "x.json",
    ];
    dir.run(args.iter().chain(&["-d", &format!("{d:?}")]), None)
        .ok("shard x");
    let x: Value = serde_json::from_slice(&dir.read("x.json")).unwrap();
    let merged = dir
        .run(["merge", "x.json", "-f", "json"], None)
        .ok("merge x");
    let merged: Value = serde_json::from_slice(&merged.stdout).unwrap();
    assert_eq!(merged["delta"].as_f64(), Some(d), "{merged}");
    for field in ["value", "sum", "count"] {
        assert_eq!(merged[field], x[field], "{field}: {merged} vs {x}");
    }
}

/// Shards with different δ do not merge: status 1, nothing on stdout, and the message says δ.
fn assert_different_deltas_refused(dir: &Dir) {
    let out = dir.run(["merge", "a.json", "c.json"], None);
    out.fails(1, &["delta"], "");
    assert!(out.stdout.is_empty(), "{}", out.text());
}

/// For mean and sum: CSV shards merge into the whole file's result, merged numbers keep their
/// bits, and shards with different δ are refused.
#[test]
fn merged_shards_equal_the_whole() {
    let dir = Dir::new();
    write_csv_shards(&dir);
    for r in ["mean", "sum"] {
        run_shards(&dir, r);
        assert_merge_equals_whole(&dir, r);
        assert_merge_keeps_the_bits(&dir, r);
        assert_different_deltas_refused(&dir);
    }
}
