//! BFV (FV-RNS): parameters, keys, batch encoding, encryption, decryption,
//! noise measurement and homomorphic operations.
//!
//! Ciphertext multiplication runs in full RNS (HPS), or modulo `Q` alone at
//! levels where `Q ≡ 1 (mod t)` ([`moduli_dividing_q_minus_one`]);
//! relinearization and rotations use the shared hybrid key switching
//! ([`crate::KeySwitcher`]).

mod ciphertext;
mod crt;
mod encoder;
mod encryption;
mod evaluator;
mod integer_encoder;
mod moduli;
mod multiply;
mod params;
mod plain_product;
mod plaintext;
pub mod presets;
mod serial;

pub use ciphertext::Ciphertext;
pub use crt::{CrtBfv, MAX_PARTS};
pub use encoder::Encoder;
pub use evaluator::{Evaluator, Monomials, PreparedPlaintext};
pub use integer_encoder::{IntegerEncoder, IntegerRange};
pub use moduli::moduli_dividing_q_minus_one;
pub use params::{Parameters, ParametersBuilder};
pub use plain_product::{PlainProduct, PlainProductCosts};
pub use plaintext::Plaintext;
pub use presets::{CrtPreset, FASTER_CRYPTONETS, PRESETS, PRESETS_W32, Preset};

/// A BFV secret key (see [`rlwe::SecretKey`](crate::rlwe::SecretKey)).
pub type SecretKey = crate::rlwe::SecretKey<Parameters>;
/// A BFV public key, modulo `Q` (see [`rlwe::PublicKey`](crate::rlwe::PublicKey)).
pub type PublicKey = crate::rlwe::PublicKey<Parameters>;
/// A BFV relinearization key (see [`rlwe::RelinearizationKey`](crate::rlwe::RelinearizationKey)).
pub type RelinearizationKey = crate::rlwe::RelinearizationKey<Parameters>;
/// BFV Galois keys: row rotations and the row swap (see [`rlwe::GaloisKeys`](crate::rlwe::GaloisKeys)).
pub type GaloisKeys = crate::rlwe::GaloisKeys<Parameters>;
