//! # hefty-nn
//!
//! Neural networks for encrypted inference:
//!
//! - [`mnist`]: the MNIST data set from its standard files.
//! - [`approx`]: minimax polynomial fits of activations (Remez) and the
//!   best power-of-two polynomials (Faster CryptoNets).
//! - [`model`]: the model file format (JSON graph + safetensors weights),
//!   its validated loader, and the plaintext reference executors (f64 and
//!   the exact fixed-point integer path of encrypted inference).
//! - `train` (feature `train`, on candle): HE-friendly training —
//!   trainable quadratic activations, knowledge distillation, pruning and
//!   power-of-two quantization.

pub mod approx;
mod error;
pub mod exec;
pub mod files;
pub mod mnist;
pub mod model;
pub mod quantize;
#[cfg(feature = "train")]
pub mod train;

pub use error::Error;
pub use files::FileAccess;
pub use hefty_core as core;
