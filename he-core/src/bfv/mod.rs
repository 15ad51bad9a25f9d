//! BFV (FV-RNS): parameters, keys, batch encoding, encryption, decryption,
//! noise measurement and homomorphic operations.
//!
//! Ciphertext multiplication runs in full RNS (HPS); relinearization and
//! rotations use the shared hybrid key switching ([`crate::KeySwitcher`]).

mod ciphertext;
mod encoder;
mod encryption;
mod eval_keys;
mod evaluator;
mod keys;
mod multiply;
mod params;
mod plaintext;
mod scale_round;

pub use ciphertext::Ciphertext;
pub use encoder::BatchEncoder;
pub use eval_keys::{GaloisKeys, RelinearizationKey};
pub use evaluator::{Evaluator, PreparedPlaintext};
pub use keys::{PublicKey, SecretKey};
pub use params::{BfvParameters, BfvParametersBuilder};
pub use plaintext::Plaintext;
pub use scale_round::ScaleRound;
