//! The element buffer results travel in, and shapes: how they print and how they broadcast.

use anyhow::{Result, ensure};
use half::f16;

use crate::dtype::Precision;

/// A chunk of element losses in the result type.
#[derive(Debug, Clone, Copy)]
pub enum Values<'a> {
    /// Half precision.
    F16(&'a [f16]),
    /// Single precision.
    F32(&'a [f32]),
    /// Double precision.
    F64(&'a [f64]),
}

impl Values<'_> {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Values::F16(v) => v.len(),
            Values::F32(v) => v.len(),
            Values::F64(v) => v.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The type of the values.
    pub fn precision(&self) -> Precision {
        match self {
            Values::F16(_) => Precision::F16,
            Values::F32(_) => Precision::F32,
            Values::F64(_) => Precision::F64,
        }
    }

    /// The `i`-th value, widened to `f64`.
    pub fn get(&self, i: usize) -> f64 {
        match self {
            Values::F16(v) => f64::from(v[i]),
            Values::F32(v) => f64::from(v[i]),
            Values::F64(v) => v[i],
        }
    }
}

/// A shape as Python prints a tuple, and so as NPY headers and numpy show it: `(3, 4)`, `(5,)`,
/// `()`.
pub fn fmt_shape(shape: &[usize]) -> String {
    match shape {
        [d] => format!("({d},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The shape that the inputs of these `shapes` (pred, target and weight, in that order) are
/// computed over: all equal, or with `broadcast` NumPy's broadcast of them. The error shows every
/// shape.
pub fn common_shape(shapes: &[&[usize]], broadcast: bool) -> Result<Vec<usize>> {
    let describe = || {
        let names = ["pred", "target", "weight"];
        let parts: Vec<String> = shapes
            .iter()
            .zip(names)
            .map(|(s, n)| format!("{n} is {}", fmt_shape(s)))
            .collect();
        parts.join(", ")
    };
    if !broadcast {
        ensure!(
            shapes.iter().all(|s| *s == shapes[0]),
            "shapes differ: {} (use --broadcast for NumPy broadcasting)",
            describe()
        );
        return Ok(shapes[0].to_vec());
    }
    let ndim = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut out = vec![1usize; ndim];
    for s in shapes {
        for (k, &d) in s.iter().enumerate() {
            let o = &mut out[ndim - s.len() + k];
            if *o == 1 {
                *o = d;
            } else {
                ensure!(
                    d == 1 || d == *o,
                    "shapes cannot be broadcast together: {}",
                    describe()
                );
            }
        }
    }
    ensure!(
        out.iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .is_some(),
        "the broadcast shape {} is too large",
        fmt_shape(&out)
    );
    Ok(out)
}
