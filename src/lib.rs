//! Robust regression losses — Huber, SmoothL1, MSE, L1 — over arrays stored in NPY, NPZ and CSV
//! files, with PyTorch's numbers.
//!
//! The data flows top to bottom through the modules: an [`input`] spec opens a streaming
//! [`input::Source`], the [`pipeline`] feeds its chunks to a [`loss`] kernel, the element losses
//! go to a [`reduce`] accumulator or an [`output`] writer.
//!
//! ```
//! use huber::loss::Loss;
//! use huber::reduce::{Accumulator, Reduction};
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
//! # Ok::<(), huber::error::UsageError>(())
//! ```

pub mod array;
pub mod auto_delta;
pub mod breakdown;
pub mod cli;
pub mod cmd;
pub mod dtype;
pub mod error;
pub mod float;
pub mod help;
pub mod histogram;
pub mod input;
pub mod loss;
pub mod npy;
pub mod number;
pub mod output;
pub mod pipeline;
pub mod plan;
pub mod plot;
pub mod progress;
pub mod reduce;
pub mod select;
pub mod summary;
