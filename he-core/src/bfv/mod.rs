//! BFV (FV-RNS): parameters, keys, batch encoding, encryption, decryption,
//! noise measurement and homomorphic operations.
//!
//! Relinearization and rotations use the shared hybrid key switching
//! ([`crate::KeySwitcher`]). Ciphertext-ciphertext multiplication and
//! modulus switching build on these next (see docs/ARCHITECTURE.md).

mod ciphertext;
mod encoder;
mod encryption;
mod eval_keys;
mod evaluator;
mod keys;
mod params;
mod plaintext;

pub use ciphertext::Ciphertext;
pub use encoder::BatchEncoder;
pub use eval_keys::{GaloisKeys, RelinearizationKey};
pub use evaluator::Evaluator;
pub use keys::{PublicKey, SecretKey};
pub use params::{BfvParameters, BfvParametersBuilder};
pub use plaintext::Plaintext;
