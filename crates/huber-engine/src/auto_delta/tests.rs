use anyhow::ensure;
use proptest::prelude::*;

use super::*;

/// The in-memory δ that `--delta auto` computed before it streamed: the oracle.
fn sorted_delta(mut r: Vec<f64>, nan: NanPolicy) -> Result<f64> {
    if r.iter().any(|x| x.is_nan()) {
        ensure!(
            nan == NanPolicy::Omit,
            "--delta auto: some residuals are NaN, so their median is undefined; use --nan omit to leave them out, or give --delta"
        );
        r.retain(|x| !x.is_nan());
    }
    ensure!(
        !r.is_empty(),
        "--delta auto: there are no residuals to take the median of; give --delta"
    );
    let med = sorted_median(&mut r);
    let mut dev: Vec<f64> = r.iter().map(|x| (x - med).abs()).collect();
    let mad = sorted_median(&mut dev);
    check_scale(mad)?;
    Ok(1.345 * 1.4826 * mad)
}

/// numpy's median: the middle value, or the mean of the two middle values.
fn sorted_median(v: &mut [f64]) -> f64 {
    let n = v.len();
    let mid = n / 2;
    let (_, &mut upper, _) = v.select_nth_unstable_by(mid, f64::total_cmp);
    if n % 2 == 1 {
        return upper;
    }
    let lower = v[..mid].iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (lower + upper) / 2.0
}

/// Residuals as the engine hands them on: in chunks of `chunk`, from two threads at once,
/// in the compute type. Counts the passes.
struct Fake {
    r32: Option<Vec<f32>>,
    r64: Vec<f64>,
    chunk: usize,
    passes: usize,
}

impl Fake {
    fn f64(r: &[f64], chunk: usize) -> Fake {
        Fake {
            r32: None,
            r64: r.to_vec(),
            chunk,
            passes: 0,
        }
    }

    fn f32(r: &[f32], chunk: usize) -> Fake {
        Fake {
            r32: Some(r.to_vec()),
            r64: r.iter().map(|&x| f64::from(x)).collect(),
            chunk,
            passes: 0,
        }
    }

    fn delta(&mut self, nan: NanPolicy) -> Result<f64> {
        let (r32, r64, chunk, passes) = (&self.r32, &self.r64, self.chunk, &mut self.passes);
        auto_delta(nan, &mut |observe| {
            *passes += 1;
            std::thread::scope(|s| {
                for half in [0, 1] {
                    s.spawn(move || match r32 {
                        Some(r) => (r.chunks(chunk).skip(half).step_by(2))
                            .for_each(|c| observe(Values::F32(c))),
                        None => (r64.chunks(chunk).skip(half).step_by(2))
                            .for_each(|c| observe(Values::F64(c))),
                    });
                }
            });
            Ok(())
        })
    }
}

fn same(got: Result<f64>, want: Result<f64>) -> Result<(), String> {
    match (got, want) {
        (Ok(g), Ok(w)) if g.to_bits() == w.to_bits() => Ok(()),
        (Err(g), Err(w)) if g.to_string() == w.to_string() => Ok(()),
        (g, w) => {
            let show = |r: Result<f64>| r.map_err(|e| e.to_string());
            Err(format!("streamed {:?}, in memory {:?}", show(g), show(w)))
        }
    }
}

#[test]
fn auto_delta_from_mad() {
    let d = Fake::f64(&[-1.0, 0.0, 1.0, 2.0, 10.0], 2).delta(NanPolicy::Propagate);
    assert_eq!(d.unwrap(), 1.345 * 1.4826 * 1.0);
    let equal = Fake::f64(&[1.0, 1.0, 1.0, 5.0], 3).delta(NanPolicy::Propagate);
    assert!(equal.unwrap_err().to_string().contains("--delta"));
    assert!(
        Fake::f64(&[f64::NAN, 1.0], 1)
            .delta(NanPolicy::Propagate)
            .is_err()
    );
    assert!(
        Fake::f64(&[f64::NAN, 1.0], 1)
            .delta(NanPolicy::Error)
            .is_err()
    );
    let empty = Fake::f64(&[f64::NAN], 1).delta(NanPolicy::Omit);
    assert!(empty.unwrap_err().to_string().contains("no residuals"));
}

#[test]
fn small_inputs_are_read_once() {
    // Up to the sample's size the first pass keeps every residual; the other passes replay them.
    let r: Vec<f64> = (0..60).map(|i| f64::from((i * 37) % 61) - 30.0).collect();
    let mut fake = Fake::f64(&r, 7);
    same(
        fake.delta(NanPolicy::Propagate),
        sorted_delta(r.clone(), NanPolicy::Propagate),
    )
    .unwrap();
    assert_eq!(fake.passes, 1);
}

#[test]
fn a_wrong_guess_costs_a_pass_not_the_result() {
    // Sorted residuals: the first ones say nothing about the median.
    let r: Vec<f32> = (0..3000).map(|i| (i as f32 / 100.0).powi(3)).collect();
    let mut fake = Fake::f32(&r, 50);
    same(
        fake.delta(NanPolicy::Propagate),
        sorted_delta(fake.r64.clone(), NanPolicy::Propagate),
    )
    .unwrap();
    assert!(fake.passes > 1, "{} passes", fake.passes);
}

#[test]
fn infinite_and_undefined_medians() {
    for r in [
        vec![f64::INFINITY, f64::INFINITY, 1.0],
        vec![f64::NEG_INFINITY, f64::INFINITY],
        vec![f64::NEG_INFINITY, f64::INFINITY, 1.0, 2.0],
        vec![f64::INFINITY, 0.0, 1.0, -0.0, 3.0, f64::NEG_INFINITY],
        vec![-0.0, 0.0, -0.0, 0.0, 1e-320, -1e-320],
    ] {
        let got = Fake::f64(&r, 1).delta(NanPolicy::Propagate);
        same(got, sorted_delta(r.clone(), NanPolicy::Propagate)).unwrap();
    }
}

/// Residuals with ties, zeros of both signs, infinities, NaNs, around a centre that may be far
/// from zero compared with their spread.
fn residuals() -> impl Strategy<Value = Vec<f64>> {
    let value = prop_oneof![
        4 => -1e3..1e3f64,
        2 => (-3i32..3).prop_map(f64::from),
        1 => Just(0.0),
        1 => Just(-0.0),
        1 => prop_oneof![Just(f64::INFINITY), Just(f64::NEG_INFINITY), Just(f64::NAN)],
        1 => any::<f32>().prop_map(f64::from),
        1 => -1e-300..1e-300f64,
    ];
    let centre = prop_oneof![Just(0.0), -1e6..1e6f64];
    (prop::collection::vec(value, 0..400), centre)
        .prop_map(|(v, c)| v.into_iter().map(|x| x + c).collect())
}

proptest! {
    #[test]
    fn streamed_delta_is_the_in_memory_delta(r in residuals(), chunk in 1usize..64) {
        for nan in [NanPolicy::Propagate, NanPolicy::Omit] {
            let got = Fake::f64(&r, chunk).delta(nan);
            prop_assert_eq!(same(got, sorted_delta(r.clone(), nan)), Ok(()));
        }
    }

    #[test]
    fn streamed_delta_of_f32_residuals(r in residuals(), chunk in 1usize..64) {
        let r: Vec<f32> = r.iter().map(|&x| x as f32).collect();
        let mut fake = Fake::f32(&r, chunk);
        let got = fake.delta(NanPolicy::Omit);
        prop_assert_eq!(same(got, sorted_delta(fake.r64.clone(), NanPolicy::Omit)), Ok(()));
    }
}

#[test]
fn a_scale_that_is_not_finite_is_explained() {
    let e = check_scale(f64::NAN).unwrap_err().to_string();
    assert!(
        e.contains("is NaN (more than half of the residuals are infinite"),
        "{e}"
    );
    let e = check_scale(0.0).unwrap_err().to_string();
    assert!(
        e.contains("is 0 (more than half of the residuals are equal)"),
        "{e}"
    );
    assert!(check_scale(f64::MIN_POSITIVE).is_ok());
}
