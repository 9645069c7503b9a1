//! The loss family of [huber](https://crates.io/crates/huber) — Huber, SmoothL1, MSE, L1,
//! log-cosh and pseudo-Huber — with PyTorch's element losses bit for bit, exact reductions, and
//! the result record that merges exactly.
//!
//! This crate knows no files, flags or threads: kernels take slices ([`loss`]), accumulators
//! sum what the kernels write ([`reduce`], [`weighted`]), and a finished accumulator becomes a
//! [`summary::Summary`], the record `huber -f json` writes and [`merge`] combines.
//!
//! ```
//! use huber_core::loss::Loss;
//! use huber_core::reduce::{Accumulator, Reduction};
//!
//! let pred = [0.0_f32, 2.0, -3.0];
//! let target = [0.5_f32, 0.0, 0.0];
//! let mut losses = [0.0_f32; 3];
//! let linear = Loss::huber(1.0)?.forward(&pred, &target, &mut losses);
//! assert_eq!(losses, [0.125, 1.5, 2.5]);
//!
//! let mut acc = Accumulator::default();
//! acc.add(&losses, linear);
//! assert_eq!(acc.reduce(Reduction::Mean), 4.125 / 3.0);
//! assert_eq!(acc.linear_fraction(), 2.0 / 3.0);
//! # Ok::<(), huber_core::Error>(())
//! ```

#![deny(missing_docs)]

pub mod dtype;
pub mod error;
pub mod exact;
pub mod float;
pub mod loss;
pub mod merge;
pub mod number;
pub mod reduce;
pub mod summary;
pub mod weighted;
/// A small deterministic generator for tests (of this crate and the engine): not a stable API.
#[doc(hidden)]
pub mod xorshift;

pub use error::{Error, Result};
