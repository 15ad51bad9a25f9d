//! BFV (FV-RNS): parameters, keys, batch encoding, encryption, decryption,
//! noise measurement and homomorphic operations.
//!
//! Ciphertext-ciphertext multiplication, relinearization, rotations and
//! modulus switching build on these next (see docs/ARCHITECTURE.md).

mod ciphertext;
mod encoder;
mod encryption;
mod evaluator;
mod keys;
mod params;
mod plaintext;

pub use ciphertext::Ciphertext;
pub use encoder::BatchEncoder;
pub use evaluator::Evaluator;
pub use keys::{PublicKey, SecretKey};
pub use params::{BfvParameters, BfvParametersBuilder};
pub use plaintext::Plaintext;
