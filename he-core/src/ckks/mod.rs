//! RNS-CKKS: approximate arithmetic on vectors of complex numbers.
//!
//! Shares the ring, the [`Backend`](crate::Backend) primitives and hybrid key
//! switching ([`crate::KeySwitcher`]) with BFV. Ciphertexts track their
//! level and scale; the evaluator aligns them for the caller.

mod encoder;
mod encryption;
mod evaluator;
mod linear;
mod params;
mod partial_layer;
mod plaintext;
pub mod presets;
mod serial;

pub use crate::ring::Word;
pub use encoder::Encoder;
pub use evaluator::Evaluator;
pub use linear::LinearTransform;
pub use num_complex::Complex64;
pub use params::{Parameters, ParametersBuilder};
pub use partial_layer::PartialLayer;
pub use plaintext::{Ciphertext, Plaintext};
pub use presets::{PRESETS, PRESETS_W32, Preset};

/// A CKKS secret key (see [`rlwe::SecretKey`](crate::rlwe::SecretKey)).
pub type SecretKey = crate::rlwe::SecretKey<Parameters>;
/// A CKKS public key, modulo `Q·P` (see [`rlwe::PublicKey`](crate::rlwe::PublicKey)).
pub type PublicKey = crate::rlwe::PublicKey<Parameters>;
/// A CKKS relinearization key (see [`rlwe::RelinearizationKey`](crate::rlwe::RelinearizationKey)).
pub type RelinearizationKey = crate::rlwe::RelinearizationKey<Parameters>;
/// CKKS Galois keys: slot rotations and conjugation (see [`rlwe::GaloisKeys`](crate::rlwe::GaloisKeys)).
pub type GaloisKeys = crate::rlwe::GaloisKeys<Parameters>;
