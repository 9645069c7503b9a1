//! log-cosh and pseudo-Huber in `f64`, accurate over the whole range.
//!
//! Both losses are evaluated in `f64` whatever the element type: an `f32` (or `f16`, via
//! `f32`) residual is exact in `f64`, the `f64` result is within a few `f64` ulp of the true
//! value, and rounding it to `f32` then gives the correctly rounded `f32` value except in the
//! rarest double-rounding cases. The naive formulas fail at both ends of the range, which is
//! why each function below switches between forms; every switch point is chosen where both
//! forms are accurate, so the functions stay monotone in practice.

use std::f64::consts::LN_2;

/// Below this |r|, `log cosh r = r²/2 · (1 − r²/6 + …)` and the correction, `r²/6 < 2⁻⁵⁴`,
/// is below a quarter of an ulp.
const LOG_COSH_TINY: f64 = 1.0 / 134_217_728.0; // 2⁻²⁷

/// Below this |r| the Taylor series of `log cosh` converges fast enough (term ratio
/// `≈ (2r/π)² < 0.0064`) for eight terms to reach full precision.
const LOG_COSH_SERIES: f64 = 0.125;

/// Taylor coefficients of `log cosh r` in powers of `s = r²`, from `s²` on (the first, for
/// `s`, is ½): `−1/12, 1/45, −17/2520, 31/14175, −691/935550, 5461/21282525, …`.
const LOG_COSH_TAYLOR: [f64; 7] = [
    -0.083_333_333_333_333_33,
    0.022_222_222_222_222_223,
    -0.006_746_031_746_031_746,
    0.002_186_948_853_615_520_5,
    -0.000_738_602_960_825_183_1,
    0.000_256_580_574_040_891_5,
    -9.098_964_919_070_74e-5,
];

/// From this |r| on, `log cosh r = |r| − ln 2 + log1p(e^{−2|r|})` has no cancellation:
/// `|r| − ln 2 ≥ 0.3` dominates the small positive last term.
const LOG_COSH_LARGE: f64 = 1.0;

/// Beyond this `x = |r|/δ`, `sqrt(1 + x²) = x·(1 + 1/(2x²) + …)` equals `x` to well under an
/// ulp (`1/(2x²) < 2⁻⁵⁵`), so pseudo-Huber is `δ·(|r| − δ)` and its derivative `±δ`.
const PSEUDO_HUBER_LARGE: f64 = 134_217_728.0; // 2²⁷

/// `log(cosh(r))`.
///
/// * `|r| < 2⁻²⁷`: `(0.5·|r|)·|r|`. The halving is exact, so the only rounding is the product
///   (which underflows gracefully to the subnormals, as the true value does).
/// * `|r| < 1/8`: `s/2 + s·(s·q(s))`, `s = r²`, the Taylor series with `q` in Horner form: the
///   small correction `s·q(s)` (below 0.3 % of the result) is added last to the exact `s/2`,
///   so the error stays within about one ulp.
/// * `|r| < 1`: `log1p(c)` with `c = cosh r − 1 = u²/(2(1 + u))`, `u = expm1(|r|)`, from
///   `e^a + e^{−a} − 2 = (e^a − 1)²/e^a`. All terms are positive, so nothing cancels, unlike
///   `log(cosh r)` itself, which loses every digit of `cosh r − 1` when r is small.
/// * otherwise: `|r| − ln 2 + log1p(e^{−2|r|})`, from `cosh r = e^{|r|}(1 + e^{−2|r|})/2`.
///   `cosh r` itself overflows for `|r| > 710`; this form never does, and gives `+inf` only
///   for `r = ±inf`.
///
/// NaN gives NaN.
pub(super) fn log_cosh(r: f64) -> f64 {
    let a = r.abs();
    if a < LOG_COSH_TINY {
        (0.5 * a) * a
    } else if a < LOG_COSH_SERIES {
        let s = a * a;
        let q = LOG_COSH_TAYLOR.iter().rev().fold(0.0, |q, &c| q * s + c);
        0.5 * s + s * (s * q)
    } else if a < LOG_COSH_LARGE {
        let u = a.exp_m1();
        (0.5 * u * (u / (1.0 + u))).ln_1p()
    } else {
        // NaN fails every comparison above and lands here, where it propagates.
        (a - LN_2) + (-2.0 * a).exp().ln_1p()
    }
}

/// `d/dr log(cosh(r)) = tanh(r)`, which saturates at ±1 without overflow.
pub(super) fn log_cosh_grad(r: f64) -> f64 {
    r.tanh()
}

/// `δ²·(sqrt(1 + (r/δ)²) − 1)` for δ > 0 and finite.
///
/// With `x = |r|/δ`:
/// * `x ≤ 2²⁷`: `|r|·(|r|/(sqrt(1 + x²) + 1))`. Multiplying by the conjugate turns the
///   difference into `δ²·x²/(sqrt(1 + x²) + 1)` (no cancellation for small x, ≈ r²/2), and
///   `δ²·x² = r²` is regrouped as `|r|·|r|/…` so that neither `δ²` nor `r²` is formed: each may
///   overflow or underflow where the result does not (δ = 10⁻²⁰⁰, r = 10⁻¹⁹⁰).
///   `x² ≤ 2⁵⁴` cannot overflow here.
/// * `x > 2²⁷` (including `x = inf` when `|r|/δ` overflows): `δ·(|r| − δ)`, the expansion
///   `δ²(x − 1 + 1/(2x) − …)` with the last terms below an ulp.
///
/// NaN gives NaN; `r = ±inf` gives `+inf`.
pub(super) fn pseudo_huber(r: f64, delta: f64) -> f64 {
    let a = r.abs();
    let x = a / delta;
    if x > PSEUDO_HUBER_LARGE {
        delta * (a - delta)
    } else {
        a * (a / ((1.0 + x * x).sqrt() + 1.0))
    }
}

/// `d/dr = r/sqrt(1 + (r/δ)²)`: `r/sqrt(1 + x²)` while `x²` is finite and significant, else
/// `±δ` (the limit, within `1/(2x²) < 2⁻⁵⁵` relative).
pub(super) fn pseudo_huber_grad(r: f64, delta: f64) -> f64 {
    let x = r / delta;
    if x.abs() > PSEUDO_HUBER_LARGE {
        delta.copysign(r)
    } else {
        r / (1.0 + x * x).sqrt()
    }
}
