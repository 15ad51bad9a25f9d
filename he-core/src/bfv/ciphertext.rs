//! BFV ciphertexts.

use std::sync::Arc;

use crate::rlwe::check_same_params;

use crate::bfv::Parameters;
use crate::{Coeff, Error, RnsPoly};

/// A BFV ciphertext `(c_0, c_1, …)` in coefficient form at some level; it
/// decrypts to `round(t/Q · [c_0 + c_1·s + c_2·s² + …]_Q)`.
#[derive(Debug, Clone)]
pub struct Ciphertext {
    pub(crate) params: Arc<Parameters>,
    pub(crate) polys: Vec<RnsPoly<Coeff>>,
    /// For a fresh secret-key encryption: the seed `c_1` was expanded from,
    /// so that serialization can store 32 bytes instead of `c_1`.
    pub(crate) seed: Option<[u8; 32]>,
}

impl PartialEq for Ciphertext {
    /// Equal when made from the same parameter object with equal polynomials.
    fn eq(&self, other: &Self) -> bool {
        crate::rlwe::same_params(self.params.as_ref(), other.params.as_ref())
            && self.polys == other.polys
    }
}

impl Eq for Ciphertext {}

impl Ciphertext {
    /// The parameters it belongs to.
    pub fn params(&self) -> &Arc<Parameters> {
        &self.params
    }

    /// The number of polynomials (2 fresh, 3 after a multiplication before relinearization).
    pub fn len(&self) -> usize {
        self.polys.len()
    }

    /// Always false: a ciphertext has at least two polynomials.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The number of active ciphertext primes.
    pub fn level(&self) -> usize {
        self.polys[0].level()
    }

    /// The polynomials.
    pub fn polys(&self) -> &[RnsPoly<Coeff>] {
        &self.polys
    }

    /// The seed of a fresh symmetric encryption, if this is one.
    pub fn seed(&self) -> Option<[u8; 32]> {
        self.seed
    }

    /// Fails unless `other` uses the same parameters and level.
    pub(crate) fn check_compatible(&self, other: &Ciphertext) -> Result<(), Error> {
        check_same_params(&self.params, &other.params)?;
        if self.level() != other.level() {
            return Err(Error::LevelMismatch {
                left: self.level(),
                right: other.level(),
            });
        }
        Ok(())
    }
}
