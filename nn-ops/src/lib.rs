//! # hefty-nn
//!
//! Encrypted tensors and layers, packings, HOP tables and HE-friendly
//! training. Content arrives with the hefty-nn issues.

pub use hefty_core as core;
