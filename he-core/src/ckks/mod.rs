//! RNS-CKKS: approximate arithmetic on vectors of complex numbers.
//!
//! Shares the ring, the [`Backend`](crate::Backend) primitives and hybrid key
//! switching ([`crate::KeySwitcher`]) with BFV. Ciphertexts track their
//! level and scale; the evaluator aligns them for the caller.

mod encoder;
mod encryption;
mod evaluator;
mod keys;
mod linear;
mod params;
mod plaintext;
mod serial;

pub use encoder::CkksEncoder;
pub use evaluator::CkksEvaluator;
pub use keys::{CkksGaloisKeys, CkksPublicKey, CkksRelinKey, CkksSecretKey};
pub use linear::LinearTransform;
pub use num_complex::Complex64;
pub use params::{CkksParameters, CkksParametersBuilder, Word};
pub use plaintext::{CkksCiphertext, CkksPlaintext};
