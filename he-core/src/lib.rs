//! # hefty-core
//!
//! The RNS ring, sampling, parameters, keys, key switching, BFV and CKKS,
//! written against a `Backend` trait with a CPU implementation. This crate
//! is the next layer above [`hefty_ntt`]; its content arrives with the
//! hefty-core issues. For now it re-exports the NTT layer it builds on.

pub use hefty_ntt as ntt;
