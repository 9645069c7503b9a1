//! The loss family and its elementwise kernels.
//!
//! Each kernel of the PyTorch losses (huber, smooth-l1, mse, l1) evaluates exactly PyTorch's
//! CPU expression (same operations, same order, no fused multiply-add), so `f32` and `f64`
//! results are bit-identical to `torch.nn.functional.*_loss(..., reduction="none")`; their
//! gradients ([`Loss::backward`]) follow PyTorch's backward kernels in the same way.
//! log-cosh and pseudo-Huber, which PyTorch lacks, are accurate to a few ulp over the whole
//! range instead (see the module `accurate` for the formulas).

use std::fmt;

use crate::dtype::Precision;
use crate::error::Error;
use crate::float::Float;

mod accurate;
#[cfg(test)]
mod tests;

/// A loss with its parameter, checked once when it is built.
///
/// ```
/// use huber_core::loss::Loss;
///
/// let loss = Loss::huber(0.5).unwrap();
/// let pred = [-2.0_f64, -0.5, 0.0, 0.3, 1.0];
/// let target = [0.0; 5];
/// let mut out = [0.0; 5];
/// loss.forward(&pred, &target, &mut out);
/// assert_eq!(out, [0.875, 0.125, 0.0, 0.045, 0.375]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Loss {
    /// `z < δ ? (0.5·z)·z : δ·(z − 0.5·δ)` with `z = |pred − target|`.
    Huber {
        /// δ > 0; +inf gives `0.5·r²`.
        delta: f64,
    },
    /// `z < β ? ((0.5·z)·z)/β : z − 0.5·β`; β = 0 gives `z`.
    SmoothL1 {
        /// β ≥ 0.
        beta: f64,
    },
    /// `r·r`.
    Mse,
    /// `|r|`.
    L1,
    /// `log(cosh(r))`: ≈ `r²/2` near 0, ≈ `|r| − ln 2` far from it, evaluated without
    /// overflow or cancellation anywhere.
    LogCosh,
    /// `δ²·(sqrt(1 + (r/δ)²) − 1)`: ≈ `r²/2` near 0, ≈ `δ·|r|` far from it.
    PseudoHuber {
        /// δ > 0 and finite.
        delta: f64,
    },
}

/// The name of a loss as the command line spells it (`--loss`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LossKind {
    /// Huber: quadratic below δ, linear above.
    Huber,
    /// SmoothL1: Huber divided by β.
    SmoothL1,
    /// Squared error.
    Mse,
    /// Absolute error.
    L1,
    /// log(cosh(r)).
    LogCosh,
    /// δ²·(sqrt(1 + (r/δ)²) − 1).
    PseudoHuber,
}

impl LossKind {
    /// Every loss, in the order the help lists them.
    pub const ALL: [LossKind; 6] = [
        LossKind::Huber,
        LossKind::SmoothL1,
        LossKind::Mse,
        LossKind::L1,
        LossKind::LogCosh,
        LossKind::PseudoHuber,
    ];

    /// `huber`, `smooth-l1`, `mse`, `l1`, `log-cosh` or `pseudo-huber`.
    pub fn name(self) -> &'static str {
        match self {
            LossKind::Huber => "huber",
            LossKind::SmoothL1 => "smooth-l1",
            LossKind::Mse => "mse",
            LossKind::L1 => "l1",
            LossKind::LogCosh => "log-cosh",
            LossKind::PseudoHuber => "pseudo-huber",
        }
    }

    /// Parses a name as [`LossKind::name`] prints it.
    pub fn from_name(name: &str) -> Option<LossKind> {
        LossKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The parameter this loss takes, if any.
    pub fn parameter(self) -> Option<Parameter> {
        match self {
            LossKind::Huber | LossKind::PseudoHuber => Some(Parameter::Delta),
            LossKind::SmoothL1 => Some(Parameter::Beta),
            LossKind::Mse | LossKind::L1 | LossKind::LogCosh => None,
        }
    }

    /// Builds the loss, checking the parameter (`None` takes the default, 1.0).
    ///
    /// ```
    /// use huber_core::loss::{Loss, LossKind};
    ///
    /// assert_eq!(LossKind::SmoothL1.with_param(Some(0.5))?, Loss::SmoothL1 { beta: 0.5 });
    /// assert!(LossKind::Mse.with_param(Some(0.5)).is_err());
    /// # Ok::<(), huber_core::Error>(())
    /// ```
    pub fn with_param(self, param: Option<f64>) -> Result<Loss, Error> {
        let p = param.unwrap_or(1.0);
        match self {
            LossKind::Huber => Loss::huber(p),
            LossKind::SmoothL1 => Loss::smooth_l1(p),
            LossKind::PseudoHuber => Loss::pseudo_huber(p),
            LossKind::Mse | LossKind::L1 | LossKind::LogCosh if param.is_some() => Err(
                Error::invalid_argument(format!("the {} loss takes no parameter", self.name())),
            ),
            LossKind::Mse => Ok(Loss::Mse),
            LossKind::L1 => Ok(Loss::L1),
            LossKind::LogCosh => Ok(Loss::LogCosh),
        }
    }
}

/// The parameter of a loss that has one: δ of huber and pseudo-huber, β of smooth-l1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Parameter {
    /// δ, the threshold of huber and the scale of pseudo-huber.
    Delta,
    /// β, the threshold of smooth-l1.
    Beta,
}

impl Parameter {
    /// `delta` or `beta`: the option's name on the command line and the result record's field.
    pub fn name(self) -> &'static str {
        match self {
            Parameter::Delta => "delta",
            Parameter::Beta => "beta",
        }
    }

    /// `δ` or `β`: how a person writes it.
    pub fn symbol(self) -> &'static str {
        match self {
            Parameter::Delta => "δ",
            Parameter::Beta => "β",
        }
    }
}

impl fmt::Display for Parameter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for LossKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Loss {
    /// Huber loss with threshold δ, which must be > 0 (+inf allowed).
    pub fn huber(delta: f64) -> Result<Loss, Error> {
        if delta > 0.0 {
            Ok(Loss::Huber { delta })
        } else {
            Err(Error::invalid_argument(format!(
                "--delta must be greater than 0, got {delta}"
            )))
        }
    }

    /// SmoothL1 loss with threshold β, which must be ≥ 0 (+inf allowed).
    pub fn smooth_l1(beta: f64) -> Result<Loss, Error> {
        if beta >= 0.0 {
            Ok(Loss::SmoothL1 { beta })
        } else {
            Err(Error::invalid_argument(format!(
                "--beta must be 0 or greater, got {beta}"
            )))
        }
    }

    /// Pseudo-Huber loss with scale δ, which must be > 0 and finite (δ = inf would make every
    /// loss 0 in the formula, unlike Huber's `0.5·r²` limit, so it is refused).
    pub fn pseudo_huber(delta: f64) -> Result<Loss, Error> {
        if delta > 0.0 && delta.is_finite() {
            Ok(Loss::PseudoHuber { delta })
        } else {
            Err(Error::invalid_argument(format!(
                "--delta must be greater than 0 and finite for the pseudo-huber loss, got {delta}"
            )))
        }
    }

    /// Checks that the parameter keeps its meaning once rounded to the type results of
    /// `precision` are computed in (float32 for float16 data), as the kernels round it: a δ or β
    /// that rounds to 0 there would give NaN or a silently different loss, and a β that
    /// overflows there would make every loss 0. A δ that overflows is the δ = +inf limit, which
    /// huber and pseudo-huber compute exactly within the type's range.
    ///
    /// ```
    /// use huber_core::dtype::Precision;
    /// use huber_core::loss::Loss;
    ///
    /// assert!(Loss::pseudo_huber(1e-46)?.check_for(Precision::F64).is_ok());
    /// assert!(Loss::pseudo_huber(1e-46)?.check_for(Precision::F32).is_err());
    /// # Ok::<(), huber_core::Error>(())
    /// ```
    pub fn check_for(&self, precision: Precision) -> Result<(), Error> {
        let Some((name, p)) = self.param() else {
            return Ok(());
        };
        let (rounded, ty) = match precision {
            Precision::F64 => (p, "float64"),
            Precision::F32 => (f64::from(p as f32), "float32"),
            Precision::F16 => (
                f64::from(p as f32),
                "float32 (float16 data is computed in float32)",
            ),
        };
        let vanishes = p > 0.0 && rounded == 0.0;
        let overflows = name == Parameter::Beta && p.is_finite() && rounded.is_infinite();
        if !vanishes && !overflows {
            return Ok(());
        }
        let (what, hint) = if vanishes {
            (
                "rounds to 0",
                "the smallest positive value of float32 is about 1.4e-45",
            )
        } else {
            ("overflows", "the largest finite float32 is about 3.4e38")
        };
        Err(Error::invalid_argument(format!(
            "--{name} {p:?} {what} in {ty}, the type this data is computed in; {hint}"
        )))
    }

    /// Which loss this is.
    pub fn kind(&self) -> LossKind {
        match self {
            Loss::Huber { .. } => LossKind::Huber,
            Loss::SmoothL1 { .. } => LossKind::SmoothL1,
            Loss::Mse => LossKind::Mse,
            Loss::L1 => LossKind::L1,
            Loss::LogCosh => LossKind::LogCosh,
            Loss::PseudoHuber { .. } => LossKind::PseudoHuber,
        }
    }

    /// The parameter and its value, if the loss has one.
    pub fn param(&self) -> Option<(Parameter, f64)> {
        match *self {
            Loss::Huber { delta } | Loss::PseudoHuber { delta } => Some((Parameter::Delta, delta)),
            Loss::SmoothL1 { beta } => Some((Parameter::Beta, beta)),
            Loss::Mse | Loss::L1 | Loss::LogCosh => None,
        }
    }

    /// The residual size from which the loss is linear, for `linear_fraction`: only huber and
    /// smooth-l1 switch branches; log-cosh and pseudo-Huber bend smoothly and have none.
    pub fn threshold(&self) -> Option<f64> {
        match *self {
            Loss::Huber { delta } => Some(delta),
            Loss::SmoothL1 { beta } => Some(beta),
            Loss::Mse | Loss::L1 | Loss::LogCosh | Loss::PseudoHuber { .. } => None,
        }
    }

    /// Writes the elementwise loss of `pred` against `target` into `out` and returns how many
    /// elements fell in the linear regime (`|r| ≥ δ`; 0 for losses without a threshold).
    ///
    /// The parameter is first rounded to `T`, as PyTorch casts it to the tensor's dtype.
    ///
    /// # Panics
    /// If the three slices differ in length.
    pub fn forward<T: Float>(&self, pred: &[T], target: &[T], out: &mut [T]) -> u64 {
        assert!(
            pred.len() == target.len() && pred.len() == out.len(),
            "slices of different lengths"
        );
        match *self {
            Loss::Huber { delta } => huber(pred, target, T::from_f64(delta), out),
            Loss::SmoothL1 { beta } => smooth_l1(pred, target, T::from_f64(beta), out),
            Loss::Mse => {
                squared(pred, target, out);
                0
            }
            Loss::L1 => {
                absolute(pred, target, out);
                0
            }
            Loss::LogCosh => {
                map(pred, target, out, |r| {
                    T::from_f64(accurate::log_cosh(r.to_f64()))
                });
                0
            }
            Loss::PseudoHuber { delta } => {
                let d = T::from_f64(delta).to_f64();
                map(pred, target, out, |r| {
                    T::from_f64(accurate::pseudo_huber(r.to_f64(), d))
                });
                0
            }
        }
    }

    /// Writes `d L / d pred` into `out`, where `L` is the reduced (or, for `none`, each element's)
    /// loss, as PyTorch autograd computes it.
    ///
    /// `scale` and `weight` describe how each element loss enters `L`: element `i` is scaled by
    /// `g_i = scale` or, with weights, `g_i = scale · weight[i]` (rounded in `T`), and the result
    /// is `loss'(r_i) · g_i`. For reduction `sum` and `none` the scale is 1; for `mean` it is
    /// [`mean_scale`]`(n)`, `n` being the number of counted elements. Elements the caller leaves
    /// out of a reduction (NaN omitted) must get gradient 0; that is the caller's to write.
    ///
    /// The derivatives, each in the operation order of PyTorch's backward kernel (`r` in `T`):
    ///
    /// | loss | `r ≤ −t` | `r ≥ t` | otherwise |
    /// |---|---|---|---|
    /// | huber (t = δ) | `−(g·δ)` | `g·δ` | `r·g` |
    /// | smooth-l1 (t = β > 0) | `−g` | `g` | `(r·g)/β` |
    /// | smooth-l1 (β = 0), l1 | `−g` | `g` | `0` (r = 0 and NaN: `torch.sign` is 0) |
    /// | mse | | | `2·(r·g)` (as `r·g + r·g`, exact doubling) |
    /// | log-cosh | | | `tanh(r)·g` |
    /// | pseudo-huber | | | `r/sqrt(1 + (r/δ)²)·g` (±δ·g when r/δ > 2²⁷) |
    ///
    /// A NaN residual gives NaN, except for l1 and smooth-l1 with β = 0, where it gives 0
    /// (PyTorch's `abs` backward multiplies by `sign(r)`, and `sign(NaN)` is 0). β = 0 goes
    /// through l1 because `torch.nn.functional.smooth_l1_loss` calls `l1_loss` for β = 0: the
    /// gradient at r = 0 is 0, never NaN. Zeros keep PyTorch's signs (`r = −0` gives `−0` for
    /// huber, `sign(±0)·g` is `+0` for l1 when g > 0).
    ///
    /// ```
    /// use huber_core::loss::{Loss, mean_scale};
    ///
    /// let pred = [-2.0_f64, -0.5, 0.0, 0.25];
    /// let target = [0.0; 4];
    /// let mut grad = [0.0; 4];
    /// // mean over 4 elements
    /// Loss::huber(0.5)?.backward(&pred, &target, mean_scale(4), None, &mut grad);
    /// assert_eq!(grad, [-0.125, -0.125, 0.0, 0.0625]);
    /// // sum with weights: each derivative times its weight
    /// let w = [1.0, 2.0, 3.0, 4.0];
    /// Loss::huber(0.5)?.backward(&pred, &target, 1.0, Some(&w), &mut grad);
    /// assert_eq!(grad, [-0.5, -1.0, 0.0, 1.0]);
    /// # Ok::<(), huber_core::Error>(())
    /// ```
    ///
    /// # Panics
    /// If the slices differ in length.
    pub fn backward<T: Float>(
        &self,
        pred: &[T],
        target: &[T],
        scale: T,
        weight: Option<&[T]>,
        out: &mut [T],
    ) {
        assert!(
            pred.len() == target.len()
                && pred.len() == out.len()
                && weight.is_none_or(|w| w.len() == pred.len()),
            "slices of different lengths"
        );
        match weight {
            None => self.backward_with(pred, target, out, |_| scale),
            Some(w) => self.backward_with(pred, target, out, |i| scale * w[i]),
        }
    }

    #[inline(always)]
    fn backward_with<T: Float>(
        &self,
        pred: &[T],
        target: &[T],
        out: &mut [T],
        g: impl Fn(usize) -> T,
    ) {
        match *self {
            Loss::Huber { delta } => {
                let d = T::from_f64(delta);
                map_grad(pred, target, out, g, |r, g| {
                    if r <= -d {
                        -(g * d)
                    } else if r >= d {
                        g * d
                    } else {
                        r * g
                    }
                })
            }
            Loss::SmoothL1 { beta } if beta > 0.0 => {
                let b = T::from_f64(beta);
                map_grad(pred, target, out, g, |r, g| {
                    if r <= -b {
                        -g
                    } else if r >= b {
                        g
                    } else {
                        (r * g) / b
                    }
                })
            }
            Loss::SmoothL1 { .. } | Loss::L1 => map_grad(pred, target, out, g, |r, g| g * sign(r)),
            Loss::Mse => map_grad(pred, target, out, g, |r, g| (r * g) + (r * g)),
            Loss::LogCosh => map_grad(pred, target, out, g, |r, g| {
                T::from_f64(accurate::log_cosh_grad(r.to_f64())) * g
            }),
            Loss::PseudoHuber { delta } => {
                let d = T::from_f64(delta).to_f64();
                map_grad(pred, target, out, g, |r, g| {
                    T::from_f64(accurate::pseudo_huber_grad(r.to_f64(), d)) * g
                })
            }
        }
    }
}

#[inline(always)]
fn map_grad<T: Float>(
    pred: &[T],
    target: &[T],
    out: &mut [T],
    g: impl Fn(usize) -> T,
    f: impl Fn(T, T) -> T,
) {
    for (i, ((o, &a), &b)) in out.iter_mut().zip(pred).zip(target).enumerate() {
        *o = f(a - b, g(i));
    }
}

/// The upstream gradient of one element under reduction `mean` over `n` counted elements:
/// `1/n` rounded to `T` (from `f64`, as PyTorch's loss backward kernels compute their `norm`).
///
/// `n = 0` gives `inf`, harmless since there is then no element to scale.
pub fn mean_scale<T: Float>(n: u64) -> T {
    T::from_f64(1.0 / n as f64)
}

/// `torch.sign`: −1, 0 or 1, and 0 for NaN and for both zeros.
#[inline(always)]
fn sign<T: Float>(r: T) -> T {
    if r > T::ZERO {
        T::ONE
    } else if r < T::ZERO {
        -T::ONE
    } else {
        T::ZERO
    }
}

impl fmt::Display for Loss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.param() {
            Some((name, v)) => write!(f, "{} ({name} {v})", self.kind()),
            None => write!(f, "{}", self.kind()),
        }
    }
}

#[inline(always)]
fn map<T: Float>(pred: &[T], target: &[T], out: &mut [T], f: impl Fn(T) -> T) {
    for ((o, &a), &b) in out.iter_mut().zip(pred).zip(target) {
        *o = f(a - b);
    }
}

crate::vectorised! {
    fn squared<T: Float>(pred: &[T], target: &[T], out: &mut [T]) = squared_portable
}

#[inline(always)]
fn squared_portable<T: Float>(pred: &[T], target: &[T], out: &mut [T]) {
    map(pred, target, out, |r| r * r);
}

crate::vectorised! {
    fn absolute<T: Float>(pred: &[T], target: &[T], out: &mut [T]) = absolute_portable
}

#[inline(always)]
fn absolute_portable<T: Float>(pred: &[T], target: &[T], out: &mut [T]) {
    map(pred, target, out, |r| r.abs());
}

/// Elements counted at a time in a `u32` per vector lane before the count is widened: a `u64`
/// counter in the loop halves the lanes of an f32 loop.
const COUNT_BLOCK: usize = 1 << 16;

/// Runs `f` on `COUNT_BLOCK`-sized pieces of `out`, `pred` and `target`, summing the counts
/// it returns.
#[inline(always)]
fn counted<T: Float>(
    pred: &[T],
    target: &[T],
    out: &mut [T],
    f: impl Fn(&[T], &[T], &mut [T]) -> u32,
) -> u64 {
    let pieces = out.chunks_mut(COUNT_BLOCK).zip(pred.chunks(COUNT_BLOCK));
    pieces
        .zip(target.chunks(COUNT_BLOCK))
        .map(|((o, p), t)| u64::from(f(p, t, o)))
        .sum()
}

crate::vectorised! {
    fn huber<T: Float>(pred: &[T], target: &[T], delta: T, out: &mut [T]) -> u64 = huber_portable
}

#[inline(always)]
fn huber_portable<T: Float>(pred: &[T], target: &[T], delta: T, out: &mut [T]) -> u64 {
    counted(pred, target, out, |pred, target, out| {
        let mut linear = 0u32;
        for ((o, &a), &b) in out.iter_mut().zip(pred).zip(target) {
            let z = (a - b).abs();
            linear += u32::from(z >= delta);
            *o = if z < delta {
                (T::HALF * z) * z
            } else {
                delta * (z - T::HALF * delta)
            };
        }
        linear
    })
}

crate::vectorised! {
    fn smooth_l1<T: Float>(pred: &[T], target: &[T], beta: T, out: &mut [T]) -> u64 =
        smooth_l1_portable
}

#[inline(always)]
fn smooth_l1_portable<T: Float>(pred: &[T], target: &[T], beta: T, out: &mut [T]) -> u64 {
    counted(pred, target, out, |pred, target, out| {
        let mut linear = 0u32;
        for ((o, &a), &b) in out.iter_mut().zip(pred).zip(target) {
            let z = (a - b).abs();
            linear += u32::from(z >= beta);
            *o = if z < beta {
                ((T::HALF * z) * z) / beta
            } else {
                z - T::HALF * beta
            };
        }
        linear
    })
}
