//! # hefty-core
//!
//! The ring layer of hefty, on top of [`hefty_ntt`]:
//!
//! - [`RnsBasis`]: pairwise distinct NTT primes, their plans, exact CRT.
//! - [`RnsPoly`]: polynomials of `Z_Q[x]/(x^n + 1)` in one limb-major buffer,
//!   with their form ([`Coeff`] / [`Ntt`]) as a type and their level tracked.
//! - Galois automorphisms in both forms, fast base conversion
//!   ([`BaseConverter`]), and sampling from a CSPRNG ([`Sampler`]).
//! - [`KeySwitcher`]: hybrid key switching shared by every scheme.
//! - [`Backend`]: the ring primitives every scheme is written against, and
//!   the CPU backend [`Cpu`] (GPU backends live in `hefty-kernels`).
//! - [`bfv`]: the BFV scheme. [`HopCounter`]: counts of homomorphic operations.
//!
//! CKKS is built on these next.

pub mod backend;
mod base_conv;
mod basis;
pub mod bfv;
mod buffer_pool;
pub mod ckks;
mod divide_round;
mod error;
mod exact_lift;
mod fixed_point;
mod form;
mod galois;
mod hops;
mod keyswitch;
mod parallel;
mod poly;
mod sampling;
mod secret_poly;
mod security;
pub mod serial;
mod small_poly;

pub use backend::{Backend, Buffer, Cpu};
pub use base_conv::BaseConverter;
pub use basis::RnsBasis;
pub use bfv::ScaleRound;
pub use error::Error;
pub use exact_lift::ExactLift;
pub use form::{Coeff, Form, Ntt};
pub use galois::{check_galois_element, ntt_galois_permutation, rotation_galois_element};
pub use hefty_ntt as ntt;
pub use hops::{Hop, HopCounter, HopCounts, HopScope, HopTable};
pub use keyswitch::{Decomposition, KeySwitcher, SwitchingKey};
pub use poly::RnsPoly;
pub use sampling::Sampler;
pub use security::SecurityLevel;
