//! Unit and property tests of the loss kernels.
use super::*;

fn run<T: Float>(loss: Loss, pred: &[T], target: &[T]) -> Vec<T> {
    let mut out = vec![T::ZERO; pred.len()];
    loss.forward(pred, target, &mut out);
    out
}

#[test]
fn burn_vectors() {
    let pred = [-2.0_f32, -0.5, 0.0, 0.3, 1.0];
    let out = run(Loss::huber(0.5).unwrap(), &pred, &[0.0; 5]);
    assert_eq!(out, [0.875, 0.125, 0.0, 0.045, 0.375]);
}

#[test]
fn linear_branch_at_delta() {
    let mut out = [0.0];
    let n = Loss::huber(2.0)
        .unwrap()
        .forward(&[3.0_f64], &[1.0], &mut out);
    assert_eq!((n, out[0]), (1, 2.0));
}

#[test]
fn smooth_l1_beta_zero_is_l1() {
    let pred = [-3.0_f64, 0.0, 2.5, f64::NAN];
    let a = run(Loss::smooth_l1(0.0).unwrap(), &pred, &[0.0; 4]);
    let b = run(Loss::L1, &pred, &[0.0; 4]);
    assert_eq!(&a[..3], &b[..3]);
    assert!(a[3].is_nan() && b[3].is_nan());
}

#[test]
fn infinite_delta_is_half_square() {
    let out = run(
        Loss::huber(f64::INFINITY).unwrap(),
        &[1e10_f64, -3.0],
        &[0.0; 2],
    );
    assert_eq!(out, [0.5e20, 4.5]);
}

#[test]
fn bad_parameters_are_refused() {
    for d in [0.0, -1.0, f64::NAN, f64::NEG_INFINITY] {
        assert!(Loss::huber(d).is_err(), "{d}");
    }
    for b in [-1e-300, f64::NAN] {
        assert!(Loss::smooth_l1(b).is_err(), "{b}");
    }
    assert!(LossKind::Mse.with_param(Some(1.0)).is_err());
}

// ---------------------------------------------------------------------------------------------
// fixtures/analysis (written by fixtures/generate.py; schema in fixtures/analysis/README.txt)

mod fixtures {
    use std::fs::File;
    use std::io::BufReader;
    use std::path::Path;

    use half::f16;
    use serde_json::Value;

    use crate::float::Float;
    use crate::loss::{Loss, LossKind, mean_scale};

    fn path(rel: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(rel)
    }

    pub fn manifest(kind: &str) -> Vec<Value> {
        let text = std::fs::read_to_string(path("fixtures/analysis/manifest.json")).unwrap();
        let all: Vec<Value> = serde_json::from_str(&text).unwrap();
        all.into_iter().filter(|c| c["kind"] == kind).collect()
    }

    /// The array as `f64` whatever its float dtype.
    pub fn load(rel: &str) -> Vec<f64> {
        let file = BufReader::new(File::open(path(rel)).unwrap());
        let npy = npyz::NpyFile::new(file).unwrap();
        let descr = match npy.dtype() {
            npyz::DType::Plain(t) => t.to_string(),
            other => panic!("{rel}: unexpected dtype {other:?}"),
        };
        match descr.as_str() {
            "<f8" => npy.into_vec::<f64>().unwrap(),
            "<f4" => npy
                .into_vec::<f32>()
                .unwrap()
                .into_iter()
                .map(f64::from)
                .collect(),
            "<f2" => npy
                .into_vec::<f16>()
                .unwrap()
                .into_iter()
                .map(f64::from)
                .collect(),
            other => panic!("{rel}: unexpected dtype {other}"),
        }
    }

    pub fn loss_of(case: &Value) -> Loss {
        let kind = LossKind::from_name(case["loss"].as_str().unwrap()).unwrap();
        let param = case
            .get("delta")
            .or(case.get("beta"))
            .map(|v| v.as_f64().unwrap());
        kind.with_param(param).unwrap()
    }

    /// Distance in units in the last place of `dtype`, 0 for equal values (NaN equals NaN,
    /// +0 equals −0), `u64::MAX` when only one is NaN or infinite.
    pub fn ulps(a: f64, b: f64, dtype: &str) -> u64 {
        if (a.is_nan() && b.is_nan()) || a == b {
            return 0;
        }
        if !a.is_finite() || !b.is_finite() {
            return u64::MAX;
        }
        let key = |x: f64| -> i64 {
            let i = match dtype {
                "float64" => x.to_bits() as i64,
                "float32" => i64::from((x as f32).to_bits()),
                _ => i64::from(f16::from_f64(x).to_bits()),
            };
            let sign = match dtype {
                "float64" => i64::MIN,
                "float32" => 1 << 31,
                _ => 1 << 15,
            };
            if i & sign != 0 { -(i & !sign) } else { i }
        };
        key(a).abs_diff(key(b))
    }

    /// Runs `f` in the compute type of `dtype` (f32 for f16) on `f64` data and returns the
    /// results rounded to `dtype`, widened back to `f64`.
    pub fn in_dtype(dtype: &str, args: &[&[f64]], f: &dyn Fn(&dyn Kernel) -> Vec<f64>) -> Vec<f64> {
        match dtype {
            "float64" => f(&Typed::<f64>(args.iter().map(|a| a.to_vec()).collect())),
            "float32" | "float16" => {
                let out = f(&Typed::<f32>(
                    args.iter()
                        .map(|a| a.iter().map(|&x| x as f32).collect())
                        .collect(),
                ));
                if dtype == "float16" {
                    out.into_iter()
                        .map(|x| f64::from(f16::from_f64(x)))
                        .collect()
                } else {
                    out
                }
            }
            other => panic!("dtype {other}"),
        }
    }

    /// The loss calls of one compute type, on arguments stored in it (pred, target[, weight]).
    pub trait Kernel {
        fn forward(&self, loss: &Loss) -> Vec<f64>;
        fn forward_weighted(&self, loss: &Loss) -> Vec<f64>;
        fn backward(&self, loss: &Loss, mean_of: Option<u64>) -> Vec<f64>;
    }

    struct Typed<T>(Vec<Vec<T>>);

    impl<T: Float> Kernel for Typed<T> {
        fn forward(&self, loss: &Loss) -> Vec<f64> {
            let mut out = vec![T::ZERO; self.0[0].len()];
            loss.forward(&self.0[0], &self.0[1], &mut out);
            out.into_iter().map(T::to_f64).collect()
        }
        fn forward_weighted(&self, loss: &Loss) -> Vec<f64> {
            let mut out = vec![T::ZERO; self.0[0].len()];
            loss.forward(&self.0[0], &self.0[1], &mut out);
            out.iter()
                .zip(&self.0[2])
                .map(|(&l, &w)| (l * w).to_f64())
                .collect()
        }
        fn backward(&self, loss: &Loss, mean_of: Option<u64>) -> Vec<f64> {
            let mut out = vec![T::ZERO; self.0[0].len()];
            let scale = mean_of.map_or(T::ONE, mean_scale);
            let w = self.0.get(2).map(Vec::as_slice);
            loss.backward(&self.0[0], &self.0[1], scale, w, &mut out);
            out.into_iter().map(T::to_f64).collect()
        }
    }
}

/// log-cosh and pseudo-Huber against the 60-digit mpmath references, over |r| in
/// 1e-300..1e300 (f64) and 1e-40..3.4e38 (f32), loss and derivative.
#[test]
fn high_precision_references() {
    use std::collections::BTreeMap;
    let mut worst: BTreeMap<String, (u64, f64)> = BTreeMap::new();
    for case in fixtures::manifest("reference") {
        let dtype = case["dtype"].as_str().unwrap();
        let loss = fixtures::loss_of(&case);
        let p = fixtures::load(case["pred"].as_str().unwrap());
        let t = fixtures::load(case["target"].as_str().unwrap());
        let want = fixtures::load(case["expected"].as_str().unwrap());
        let want_grad = fixtures::load(case["expected_grad"].as_str().unwrap());
        let got = fixtures::in_dtype(dtype, &[&p, &t], &|k| k.forward(&loss));
        let got_grad = fixtures::in_dtype(dtype, &[&p, &t], &|k| k.backward(&loss, None));
        for (what, got, want) in [("loss", &got, &want), ("grad", &got_grad, &want_grad)] {
            let key = format!("{dtype} {} {what}", loss.kind());
            for i in 0..got.len() {
                let u = fixtures::ulps(got[i], want[i], dtype);
                assert!(
                    u <= 3,
                    "{}: {what} at r = {:e}: got {:e}, want {:e} ({u} ulp)",
                    case["name"],
                    p[i] - t[i],
                    got[i],
                    want[i]
                );
                let e = worst.entry(key.clone()).or_default();
                if u > e.0 {
                    *e = (u, p[i] - t[i]);
                }
            }
        }
    }
    for (k, (u, r)) in &worst {
        println!("max error {k}: {u} ulp (at r = {r:e})");
    }
}

/// Gradients against PyTorch autograd, weighted and not, every reduction and dtype.
#[test]
fn gradients_match_pytorch() {
    let mut worst = (0, String::new());
    for case in fixtures::manifest("grad") {
        let dtype = case["dtype"].as_str().unwrap();
        let loss = fixtures::loss_of(&case);
        let mut args = vec![
            fixtures::load(case["pred"].as_str().unwrap()),
            fixtures::load(case["target"].as_str().unwrap()),
        ];
        if let Some(w) = case.get("weight") {
            args.push(fixtures::load(w.as_str().unwrap()));
        }
        let n = args[0].len() as u64;
        let mean_of = (case["reduction"] == "mean").then_some(n);
        let refs: Vec<&[f64]> = args.iter().map(Vec::as_slice).collect();
        let got = fixtures::in_dtype(dtype, &refs, &|k| k.backward(&loss, mean_of));
        let want = fixtures::load(case["expected"].as_str().unwrap());
        // PyTorch's own losses: bit-identical; log-cosh and pseudo-Huber: the reference is the
        // correctly rounded derivative times g
        let tol = match loss {
            Loss::LogCosh | Loss::PseudoHuber { .. } => 2,
            _ => 0,
        };
        let (u, i) = assert_within(&case, &got, &want, dtype, tol);
        if u > worst.0 {
            worst = (u, format!("{} [{i}]", case["name"]));
        }
    }
    println!("gradients: max {} ulp from PyTorch ({})", worst.0, worst.1);
}

/// Weighted element losses `loss·w` against PyTorch (reduction none).
#[test]
fn weighted_losses_match_pytorch() {
    for case in fixtures::manifest("weighted") {
        if case["reduction"] != "none" {
            continue;
        }
        let dtype = case["dtype"].as_str().unwrap();
        let loss = fixtures::loss_of(&case);
        let args = ["pred", "target", "weight"].map(|k| fixtures::load(case[k].as_str().unwrap()));
        let refs: Vec<&[f64]> = args.iter().map(Vec::as_slice).collect();
        let got = fixtures::in_dtype(dtype, &refs, &|k| k.forward_weighted(&loss));
        let want = fixtures::load(case["expected"].as_str().unwrap());
        // bit-identical for PyTorch's losses; log-cosh and pseudo-Huber are compared with
        // correctly rounded references
        let tol = match loss {
            Loss::LogCosh | Loss::PseudoHuber { .. } => 4,
            _ => 0,
        };
        assert_within(&case, &got, &want, dtype, tol);
    }
}

/// Checks every element of `got` within `tol` ulps of `want`; the largest distance and where.
fn assert_within(
    case: &serde_json::Value,
    got: &[f64],
    want: &[f64],
    dtype: &str,
    tol: u64,
) -> (u64, usize) {
    let mut worst = (0, 0);
    for i in 0..got.len() {
        let u = fixtures::ulps(got[i], want[i], dtype);
        assert!(
            u <= tol,
            "{} [{i}]: got {:e}, want {:e}",
            case["name"],
            got[i],
            want[i]
        );
        worst = worst.max((u, i));
    }
    worst
}

// ---------------------------------------------------------------------------------------------
// properties

mod properties {
    use proptest::prelude::*;

    use crate::loss::Loss;

    fn f(loss: Loss, r: f64) -> f64 {
        let mut out = [0.0];
        loss.forward(&[r], &[0.0], &mut out);
        out[0]
    }

    fn df(loss: Loss, r: f64) -> f64 {
        let mut out = [0.0];
        loss.backward(&[r], &[0.0], 1.0, None, &mut out);
        out[0]
    }

    /// |x| spread over many orders of magnitude, either sign.
    fn wide(lo: f64, hi: f64) -> impl Strategy<Value = f64> {
        (lo.log2()..hi.log2(), any::<bool>()).prop_map(|(e, neg)| {
            let x = e.exp2();
            if neg { -x } else { x }
        })
    }

    fn delta() -> impl Strategy<Value = f64> {
        (-20.0..20.0_f64).prop_map(f64::exp2)
    }

    fn all(d: f64) -> [Loss; 6] {
        [
            Loss::huber(d).unwrap(),
            Loss::smooth_l1(d).unwrap(),
            Loss::Mse,
            Loss::L1,
            Loss::LogCosh,
            Loss::pseudo_huber(d).unwrap(),
        ]
    }

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * a.abs().max(b.abs())
    }

    const EPS: f64 = f64::EPSILON;

    proptest! {
        #[test]
        fn symmetric_in_r(r in wide(1e-300, 1e300), d in delta()) {
            for loss in all(d) {
                prop_assert_eq!(f(loss, r), f(loss, -r), "{}", loss);
                prop_assert_eq!(df(loss, r), -df(loss, -r), "{}", loss);
            }
        }

        #[test]
        fn continuous_at_delta(d in delta()) {
            // the last quadratic point and the first linear one are within a few ulp
            let below = f64::from_bits(d.to_bits() - 1);
            let h = Loss::huber(d).unwrap();
            prop_assert!(close(f(h, below), f(h, d), 4.0 * EPS));
            prop_assert!(close(df(h, below), df(h, d), 2.0 * EPS));
            let s = Loss::smooth_l1(d).unwrap();
            prop_assert!(close(f(s, below), f(s, d), 4.0 * EPS));
            prop_assert!(close(df(s, below), df(s, d), 2.0 * EPS));
        }

        /// huber(δ) = δ·smooth_l1(β = δ) to 1 ulp: the quadratic branches differ by the
        /// round trip `(x/δ)·δ`, which is within 1 ulp of x; the linear ones are the same
        /// product. (While both stay normal: subnormal results lose the bound.)
        #[test]
        fn huber_is_delta_times_smooth_l1(r in wide(1e-140, 1e140), d in delta()) {
            let h = f(Loss::huber(d).unwrap(), r);
            let s = d * f(Loss::smooth_l1(d).unwrap(), r);
            prop_assert!((h - s).abs() <= ulp(h), "{} vs {}", h, s);
        }

        #[test]
        fn huber_below_half_mse_and_delta_l1(r in wide(1e-140, 1e140), d in delta()) {
            let h = f(Loss::huber(d).unwrap(), r);
            prop_assert!(h <= 0.5 * f(Loss::Mse, r) * (1.0 + 2.0 * EPS));
            prop_assert!(h <= d * f(Loss::L1, r) * (1.0 + 2.0 * EPS));
        }

        #[test]
        fn gradient_is_central_difference(r in -50.0..50.0_f64, d in 0.1..10.0_f64) {
            let step = 1e-5 * r.abs().max(1.0);
            for loss in all(d) {
                // keep away from the kinks of huber, smooth-l1 and l1
                if matches!(loss, Loss::Huber { .. } | Loss::SmoothL1 { .. } | Loss::L1)
                    && ((r.abs() - d).abs() < 2.0 * step || r.abs() < 2.0 * step)
                {
                    continue;
                }
                let num = (f(loss, r + step) - f(loss, r - step)) / (2.0 * step);
                let g = df(loss, r);
                prop_assert!((num - g).abs() <= 1e-6 * g.abs().max(1.0), "{}: {} vs {}", loss, num, g);
            }
        }

        #[test]
        fn smooth_losses_are_half_square_near_zero(r in wide(1e-300, 1e-9), d in 1e-3..1e3_f64) {
            let half_sq = 0.5 * r * r;
            for loss in [Loss::LogCosh, Loss::pseudo_huber(d).unwrap()] {
                let v = f(loss, r);
                if half_sq >= f64::MIN_POSITIVE {
                    prop_assert!(close(v, half_sq, 2.0 * EPS), "{}: {} vs {}", loss, v, half_sq);
                } else {
                    // subnormal results: within an absolute ulp of the smallest subnormal
                    prop_assert!((v - half_sq).abs() <= 5e-324, "{}: {} vs {}", loss, v, half_sq);
                }
                prop_assert!(close(df(loss, r), r, 2.0 * EPS));
            }
        }

        #[test]
        fn smooth_losses_are_linear_far_out(r in wide(1e3, 1e300), d in 1e-3..1.0_f64) {
            let lc = f(Loss::LogCosh, r);
            prop_assert!(close(lc, r.abs() - std::f64::consts::LN_2, 2.0 * EPS));
            prop_assert_eq!(df(Loss::LogCosh, r), r.signum());
            let ph = Loss::pseudo_huber(d).unwrap();
            // δ²(sqrt(1 + x²) − 1) = δ|r| − δ² + δ²/(2x) + …, x = |r|/δ ≥ 10³
            let v = f(ph, r);
            let lin = d * r.abs() - d * d;
            prop_assert!(close(v, lin, 1e-6), "{} vs {}", v, lin);
            prop_assert!(close(v, d * r.abs(), 1e-3));
            prop_assert!(close(df(ph, r), d.copysign(r), 1e-6));
        }
    }

    /// The spacing of f64 values at x.
    fn ulp(x: f64) -> f64 {
        let x = x.abs();
        f64::from_bits(x.to_bits() + 1) - x
    }

    #[test]
    fn extremes_do_not_overflow() {
        for r in [1e300, f64::MAX, -f64::MAX] {
            assert_eq!(f(Loss::LogCosh, r), r.abs() - std::f64::consts::LN_2);
            let ph = f(Loss::pseudo_huber(1e-10).unwrap(), r);
            assert!(ph.is_finite() && close(ph, 1e-10 * r.abs(), 4.0 * EPS));
            assert_eq!(
                df(Loss::pseudo_huber(1e-10).unwrap(), r),
                1e-10_f64.copysign(r)
            );
        }
        assert_eq!(f(Loss::LogCosh, f64::INFINITY), f64::INFINITY);
        assert_eq!(
            f(Loss::pseudo_huber(2.0).unwrap(), f64::NEG_INFINITY),
            f64::INFINITY
        );
        assert!(f(Loss::LogCosh, f64::NAN).is_nan());
        assert!(f(Loss::pseudo_huber(2.0).unwrap(), f64::NAN).is_nan());
        // pseudo-Huber where δ² would underflow or overflow but the result does not
        let v = f(Loss::pseudo_huber(1e-170).unwrap(), 1e-100);
        assert!(close(v, 1e-170 * 1e-100, 4.0 * EPS), "{v}");
        let v = f(Loss::pseudo_huber(1e200).unwrap(), 1e100);
        assert!(close(v, 0.5e200, 4.0 * EPS), "{v}");
    }

    #[test]
    fn torch_nan_and_zero_gradients() {
        let nan = f64::NAN;
        // l1 and smooth-l1 with β = 0: torch.sign(NaN) = 0, gradient 0 at r = 0
        for loss in [Loss::L1, Loss::smooth_l1(0.0).unwrap()] {
            assert_eq!(df(loss, nan), 0.0);
            assert_eq!(df(loss, 0.0), 0.0);
        }
        for loss in [
            Loss::huber(1.0).unwrap(),
            Loss::smooth_l1(0.5).unwrap(),
            Loss::Mse,
        ] {
            assert!(df(loss, nan).is_nan());
        }
        assert_eq!(
            df(Loss::huber(1.0).unwrap(), -0.0).to_bits(),
            (-0.0_f64).to_bits()
        );
        assert_eq!(df(Loss::Mse, f64::INFINITY), f64::INFINITY);
        assert_eq!(df(Loss::huber(0.5).unwrap(), f64::INFINITY), 0.5);
    }
}

// ---------------------------------------------------------------------------------------------
// The kernels chosen at run time (AVX2 where the CPU has it) against the same loops compiled
// for the baseline instruction set: the bits of every output and the linear counts agree.

mod dispatch {
    use super::*;

    /// xorshift64*: a fixed sequence, so that a failure replays.
    struct Bits(u64);

    impl Bits {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
    }

    /// A float type seen as bits.
    trait Bitwise: Float + std::fmt::Debug {
        fn from_raw(bits: u64) -> Self;
        fn raw(self) -> u64;
        fn up(self) -> Self;
        fn down(self) -> Self;
    }

    macro_rules! bitwise {
        ($t:ty, $u:ty) => {
            impl Bitwise for $t {
                fn from_raw(bits: u64) -> Self {
                    <$t>::from_bits(bits as $u)
                }
                fn raw(self) -> u64 {
                    u64::from(self.to_bits())
                }
                fn up(self) -> Self {
                    self.next_up()
                }
                fn down(self) -> Self {
                    self.next_down()
                }
            }
        };
    }
    bitwise!(f32, u32);
    bitwise!(f64, u64);

    /// `n` values mixing random bit patterns (NaNs, infinities, subnormals among them) with
    /// zeros, infinities, NaN, the smallest subnormals and the values at and next to ±δ.
    fn awkward<T: Bitwise>(n: usize, delta: T, bits: &mut Bits) -> Vec<T> {
        let d = delta;
        let specials = [
            T::ZERO,
            -T::ZERO,
            T::from_f64(f64::INFINITY),
            T::from_f64(f64::NEG_INFINITY),
            T::from_f64(f64::NAN),
            T::from_raw(1),
            -T::from_raw(1),
            T::from_raw(0x000f_ffff),
            d,
            -d,
            d.up(),
            d.down(),
            -d.up(),
            -d.down(),
            T::HALF,
            T::ONE,
        ];
        (0..n)
            .map(|_| {
                let r = bits.next();
                match r % 4 {
                    0 | 1 => specials[(r >> 8) as usize % specials.len()],
                    2 => T::from_raw(r >> 2),
                    _ => T::from_f64(((r >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 8.0),
                }
            })
            .collect()
    }

    fn same<T: Bitwise>(a: &[T], b: &[T], what: &str) {
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert_eq!(x.raw(), y.raw(), "{what}: element {i}: {x:?} vs {y:?}");
        }
    }

    fn check<T: Bitwise>(seed: u64) {
        let mut bits = Bits(seed);
        // Longer than a count block, not a multiple of any vector width.
        let n = COUNT_BLOCK + 4099;
        for delta in [1.0, 0.5, 3.0e-3, 1.0e-40, f64::INFINITY] {
            let d = T::from_f64(delta);
            let pred = awkward(n, d, &mut bits);
            let mut target = awkward(n, d, &mut bits);
            // Every third target 0, so that residuals at and next to ±δ occur as they are.
            target.iter_mut().step_by(3).for_each(|t| *t = T::ZERO);
            for skip in [0, 1, 3] {
                let (p, t) = (&pred[skip..], &target[skip..]);
                let (mut fast, mut slow) = (vec![T::ZERO; p.len()], vec![T::ZERO; p.len()]);
                let a = huber(p, t, d, &mut fast);
                let b = huber_portable(p, t, d, &mut slow);
                assert_eq!(a, b, "huber δ {delta}: linear counts");
                let naive = p.iter().zip(t).filter(|&(&x, &y)| (x - y).abs() >= d);
                assert_eq!(a, naive.count() as u64, "huber δ {delta}: linear count");
                same(&fast, &slow, "huber");
                let a = smooth_l1(p, t, d, &mut fast);
                let b = smooth_l1_portable(p, t, d, &mut slow);
                assert_eq!(a, b, "smooth-l1 β {delta}: linear counts");
                same(&fast, &slow, "smooth-l1");
                Loss::Mse.forward(p, t, &mut fast);
                squared_portable(p, t, &mut slow);
                same(&fast, &slow, "mse");
                Loss::L1.forward(p, t, &mut fast);
                absolute_portable(p, t, &mut slow);
                same(&fast, &slow, "l1");
            }
        }
    }

    #[test]
    fn dispatched_kernels_match_portable_ones_f32() {
        check::<f32>(0x9e37_79b9_7f4a_7c15);
    }

    #[test]
    fn dispatched_kernels_match_portable_ones_f64() {
        check::<f64>(0xd1b5_4a32_d192_ed03);
    }
}
