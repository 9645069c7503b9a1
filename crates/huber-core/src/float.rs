//! The two machine float types kernels run in.

use std::ops::{Add, Div, Mul, Neg, Sub};

use crate::exact::{ExactSum, Grid};

/// `f32` or `f64`: what a loss kernel computes in.
///
/// Kernels are written once over this trait so that the f32 and f64 paths evaluate the same
/// expression tree, operation for operation, which is what makes them bit-identical to PyTorch.
pub trait Float:
    Copy
    + Default
    + PartialOrd
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    /// Bits in the type: 32 or 64.
    const BITS: u32;
    /// 0.
    const ZERO: Self;
    /// 0.5.
    const HALF: Self;
    /// 1.
    const ONE: Self;
    /// Absolute value.
    fn abs(self) -> Self;
    /// Rounds an `f64` to this type (round to nearest even).
    fn from_f64(x: f64) -> Self;
    /// Widens (exactly) to `f64`.
    fn to_f64(self) -> f64;
    /// Square root, correctly rounded.
    fn sqrt(self) -> Self;
    /// `e^x`.
    fn exp(self) -> Self;
    /// `ln(1 + x)`, accurate for small `x`.
    fn ln_1p(self) -> Self;
    /// Whether the value is NaN.
    fn is_nan(self) -> bool;
    /// `false` for ±inf and NaN.
    fn is_finite(self) -> bool;
    /// The larger of two values; NaN if either is NaN.
    fn max_nan(self, other: Self) -> Self {
        if self.is_nan() || other.is_nan() {
            return if self.is_nan() { self } else { other };
        }
        if self > other { self } else { other }
    }
    /// Magnitude of `self` with the sign of `sign`.
    fn copysign(self, sign: Self) -> Self;
    /// Adds a slice to an exact sum ([`ExactSum::add_f32`] or [`ExactSum::add_f64`]).
    fn add_exact(xs: &[Self], sum: &mut ExactSum);
    /// Adds one value to an exact sum ([`ExactSum::push_f32`] or [`ExactSum::push_f64`]).
    fn push_exact(self, sum: &mut ExactSum);
    /// The fixed-point grid of a slice ([`Grid::of_f32`] or [`Grid::of_f64`]).
    fn grid(xs: &[Self]) -> Option<Grid>;
    /// This value in units of `grid` ([`Grid::units_f32`] or [`Grid::units_f64`]).
    fn units(self, grid: Grid) -> i128;
}

macro_rules! impl_float {
    ($t:ty, $add:ident, $push:ident, $grid:ident, $units:ident) => {
        impl Float for $t {
            #[inline]
            fn grid(xs: &[Self]) -> Option<Grid> {
                Grid::$grid(xs)
            }
            #[inline(always)]
            fn units(self, grid: Grid) -> i128 {
                grid.$units(self)
            }
            #[inline]
            fn add_exact(xs: &[Self], sum: &mut ExactSum) {
                sum.$add(xs);
            }
            #[inline]
            fn push_exact(self, sum: &mut ExactSum) {
                sum.$push(self);
            }
            const BITS: u32 = (std::mem::size_of::<$t>() * 8) as u32;
            const ZERO: Self = 0.0;
            const HALF: Self = 0.5;
            const ONE: Self = 1.0;
            #[inline(always)]
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            #[inline(always)]
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            #[inline(always)]
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            #[inline(always)]
            fn ln_1p(self) -> Self {
                <$t>::ln_1p(self)
            }
            #[inline(always)]
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
            #[inline(always)]
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
            #[inline(always)]
            fn copysign(self, sign: Self) -> Self {
                <$t>::copysign(self, sign)
            }
        }
    };
}

impl_float!(f32, add_f32, push_f32, of_f32, units_f32);
impl_float!(f64, add_f64, push_f64, of_f64, units_f64);

/// Defines `fn $name`, which runs `$portable` (an `#[inline(always)]` function of the same
/// signature) compiled for the widest vector unit this CPU has: AVX2 where present (found at
/// run time, so that one binary runs on any x86-64), else the baseline instructions.
///
/// Only the instructions change, never the operations or their order: no fused multiply-add is
/// enabled, and IEEE arithmetic gives the same bits in any vector width.
#[doc(hidden)]
#[macro_export]
macro_rules! vectorised {
    ($(#[$m:meta])* fn $name:ident<$t:ident: $bound:path>($($arg:ident: $ty:ty),* $(,)?)
        $(-> $ret:ty)? = $portable:ident) => {
        $(#[$m])*
        fn $name<$t: $bound>($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                fn avx2<$t: $bound>($($arg: $ty),*) $(-> $ret)? {
                    $portable($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU has AVX2, the one feature `avx2` is compiled for.
                    return unsafe { avx2($($arg),*) };
                }
            }
            $portable($($arg),*)
        }
    };
}
