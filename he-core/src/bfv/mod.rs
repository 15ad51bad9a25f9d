//! BFV (FV-RNS): parameters, keys, batch encoding, encryption, decryption,
//! noise measurement and homomorphic operations.
//!
//! Ciphertext multiplication runs in full RNS (HPS); relinearization and
//! rotations use the shared hybrid key switching ([`crate::KeySwitcher`]).

mod ciphertext;
mod crt;
mod encoder;
mod encryption;
mod eval_keys;
mod evaluator;
mod integer_encoder;
mod keys;
mod multiply;
mod params;
mod plain_product;
mod plaintext;
mod serial;

pub use ciphertext::Ciphertext;
pub use crt::{CrtBfv, FASTER_CRYPTONETS_MODULI};
pub use encoder::BatchEncoder;
pub use eval_keys::{GaloisKeys, RelinearizationKey};
pub use evaluator::{Evaluator, PreparedPlaintext};
pub use integer_encoder::{IntegerEncoder, IntegerRange};
pub use keys::{PublicKey, SecretKey};
pub use params::{BfvParameters, BfvParametersBuilder};
pub use plain_product::{PlainProduct, PlainProductCosts};
pub use plaintext::Plaintext;
