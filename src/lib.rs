//! # hefty
//!
//! Homomorphic-encryption arithmetic that is fast on CPUs and GPUs. This
//! facade re-exports the layers and holds the `hefty` command's benchmark
//! harness:
//!
//! - [`ntt`] (crate `hefty-ntt`): modular arithmetic, NTT primes, the negacyclic NTT.
//! - [`core`] (crate `hefty-core`): the RNS ring, the Backend trait and the
//!   CPU backend, RLWE keys and key switching, BFV and CKKS.
//! - [`kernels`] (crate `hefty-kernels`): GPU backends of the same trait
//!   (wgpu with the `wgpu` feature, CUDA with the `cuda` feature).
//! - [`nn`] (crate `hefty-nn`): HE-friendly networks — model format,
//!   plaintext reference executors, training, encrypted inference.
//! - [`bench`](mod@bench): what `hefty bench` measures and the JSON records it writes.

pub mod bench;

/// The README's code, compiled and run as a doctest so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub use hefty_core as core;
pub use hefty_kernels as kernels;
pub use hefty_nn as nn;
pub use hefty_ntt as ntt;
