//! # hefty-core
//!
//! Homomorphic-encryption arithmetic over the RNS ring, on top of
//! [`hefty_ntt`]. The modules are the layers, lowest first:
//!
//! - [`ring`]: [`RnsBasis`], [`RnsPoly`] (form-typed: [`Coeff`] / [`Ntt`]),
//!   Galois maps, base conversion, exact lifts, rounding division, sampling
//!   from a CSPRNG ([`Sampler`]).
//! - [`backend`]: the [`Backend`] trait every ring operation is a call of,
//!   its [`Buffer`]s, and the CPU backend [`Cpu`] (GPU backends live in
//!   `hefty-kernels`).
//! - [`rlwe`]: what both schemes share — secret polynomial, key types and
//!   generation, hybrid key switching ([`KeySwitcher`]), HOP accounting
//!   ([`HopCounter`]).
//! - [`bfv`] and [`ckks`]: the two schemes, with the same type names in each
//!   (`Ciphertext`, `Evaluator`, `RelinearizationKey`, …).
//! - [`serial`] (compact, validated bytes) and the HE Standard's security
//!   table ([`SecurityLevel`]).

pub mod backend;
pub mod bfv;
pub mod ckks;
#[cfg(feature = "conformance")]
pub mod conformance;
mod error;
pub mod ring;
pub mod rlwe;
mod security;
pub mod serial;

pub use backend::{Backend, Buffer, Cpu};
pub use error::Error;
pub use hefty_ntt as ntt;
pub use ring::{
    BaseConverter, Coeff, ExactLift, Form, Ntt, RnsBasis, RnsPoly, Sampler, ScaleRound,
    check_galois_element, ntt_galois_permutation, rotation_galois_element,
};
pub use rlwe::{
    Decomposition, Hop, HopCounter, HopCounts, HopScope, HopTable, KeySwitcher, SwitchingKey,
};
pub use security::SecurityLevel;
