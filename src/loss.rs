//! The loss family and its elementwise kernels.
//!
//! Each kernel evaluates exactly PyTorch's CPU expression (same operations, same order, no
//! fused multiply-add), so `f32` and `f64` results are bit-identical to
//! `torch.nn.functional.*_loss(..., reduction="none")`.

use std::fmt;

use crate::error::UsageError;
use crate::float::Float;

/// A loss with its parameter, checked once when it is built.
///
/// ```
/// use huber::loss::Loss;
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
}

/// The name of a loss as the command line spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LossKind {
    /// [`Loss::Huber`].
    Huber,
    /// [`Loss::SmoothL1`].
    SmoothL1,
    /// [`Loss::Mse`].
    Mse,
    /// [`Loss::L1`].
    L1,
}

impl LossKind {
    /// Every loss, in the order the help lists them.
    pub const ALL: [LossKind; 4] = [
        LossKind::Huber,
        LossKind::SmoothL1,
        LossKind::Mse,
        LossKind::L1,
    ];

    /// `huber`, `smooth-l1`, `mse` or `l1`.
    pub fn name(self) -> &'static str {
        match self {
            LossKind::Huber => "huber",
            LossKind::SmoothL1 => "smooth-l1",
            LossKind::Mse => "mse",
            LossKind::L1 => "l1",
        }
    }

    /// Parses a name as [`LossKind::name`] prints it.
    pub fn from_name(name: &str) -> Option<LossKind> {
        LossKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The name of the parameter this loss takes, if any.
    pub fn param_name(self) -> Option<&'static str> {
        match self {
            LossKind::Huber => Some("delta"),
            LossKind::SmoothL1 => Some("beta"),
            LossKind::Mse | LossKind::L1 => None,
        }
    }

    /// Builds the loss, checking the parameter (`None` takes the default, 1.0).
    pub fn with_param(self, param: Option<f64>) -> Result<Loss, UsageError> {
        let p = param.unwrap_or(1.0);
        match self {
            LossKind::Huber => Loss::huber(p),
            LossKind::SmoothL1 => Loss::smooth_l1(p),
            LossKind::Mse | LossKind::L1 if param.is_some() => Err(UsageError::new(format!(
                "the {} loss takes no parameter",
                self.name()
            ))),
            LossKind::Mse => Ok(Loss::Mse),
            LossKind::L1 => Ok(Loss::L1),
        }
    }
}

impl fmt::Display for LossKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Loss {
    /// Huber loss with threshold δ, which must be > 0 (+inf allowed).
    pub fn huber(delta: f64) -> Result<Loss, UsageError> {
        if delta > 0.0 {
            Ok(Loss::Huber { delta })
        } else {
            Err(UsageError::new(format!(
                "--delta must be greater than 0, got {delta}"
            )))
        }
    }

    /// SmoothL1 loss with threshold β, which must be ≥ 0 (+inf allowed).
    pub fn smooth_l1(beta: f64) -> Result<Loss, UsageError> {
        if beta >= 0.0 {
            Ok(Loss::SmoothL1 { beta })
        } else {
            Err(UsageError::new(format!(
                "--beta must be 0 or greater, got {beta}"
            )))
        }
    }

    /// Which loss this is.
    pub fn kind(&self) -> LossKind {
        match self {
            Loss::Huber { .. } => LossKind::Huber,
            Loss::SmoothL1 { .. } => LossKind::SmoothL1,
            Loss::Mse => LossKind::Mse,
            Loss::L1 => LossKind::L1,
        }
    }

    /// The parameter's name and value, if the loss has one.
    pub fn param(&self) -> Option<(&'static str, f64)> {
        match *self {
            Loss::Huber { delta } => Some(("delta", delta)),
            Loss::SmoothL1 { beta } => Some(("beta", beta)),
            Loss::Mse | Loss::L1 => None,
        }
    }

    /// The residual size from which the loss is linear, for `linear_fraction`.
    pub fn threshold(&self) -> Option<f64> {
        match *self {
            Loss::Huber { delta } => Some(delta),
            Loss::SmoothL1 { beta } => Some(beta),
            Loss::Mse | Loss::L1 => None,
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
                map(pred, target, out, |r| r * r);
                0
            }
            Loss::L1 => {
                map(pred, target, out, |r| r.abs());
                0
            }
        }
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

fn huber<T: Float>(pred: &[T], target: &[T], delta: T, out: &mut [T]) -> u64 {
    let mut linear = 0u64;
    for ((o, &a), &b) in out.iter_mut().zip(pred).zip(target) {
        let z = (a - b).abs();
        let lin = z >= delta;
        linear += u64::from(lin);
        *o = if z < delta {
            (T::HALF * z) * z
        } else {
            delta * (z - T::HALF * delta)
        };
    }
    linear
}

fn smooth_l1<T: Float>(pred: &[T], target: &[T], beta: T, out: &mut [T]) -> u64 {
    let mut linear = 0u64;
    for ((o, &a), &b) in out.iter_mut().zip(pred).zip(target) {
        let z = (a - b).abs();
        linear += u64::from(z >= beta);
        *o = if z < beta {
            ((T::HALF * z) * z) / beta
        } else {
            z - T::HALF * beta
        };
    }
    linear
}

#[cfg(test)]
mod tests {
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
}
