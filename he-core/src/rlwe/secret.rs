//! The secret polynomial both schemes' secret keys hold: ternary
//! coefficients and their NTT form over the ciphertext basis, wiped from
//! memory on drop.

use std::sync::Arc;

use zeroize::Zeroize;

use crate::{Error, Ntt, RnsBasis, RnsPoly, Sampler};

/// `s` as small signed coefficients and in NTT form over the full basis.
pub(crate) struct SecretPoly {
    coeffs: Vec<i64>,
    ntt: RnsPoly<Ntt>,
}

impl Drop for SecretPoly {
    fn drop(&mut self) {
        self.coeffs.zeroize();
        self.ntt.zeroize_data();
    }
}

impl SecretPoly {
    /// A fresh uniform ternary secret over `basis`.
    pub(crate) fn generate(basis: &Arc<RnsBasis>, sampler: &mut Sampler) -> Self {
        let coeffs = sampler
            .ternary(basis.degree())
            .expect("a basis's degree is at most MAX_DEGREE");
        Self::from_coeffs(basis, coeffs).expect("the sampler draws one coefficient per degree")
    }

    /// The secret with coefficients `coeffs` (read back from bytes).
    pub(crate) fn from_coeffs(basis: &Arc<RnsBasis>, coeffs: Vec<i64>) -> Result<Self, Error> {
        let ntt = RnsPoly::from_i64(basis, basis.len(), &coeffs)?.into_ntt();
        Ok(Self { coeffs, ntt })
    }

    /// The coefficients.
    pub(crate) fn coeffs(&self) -> &[i64] {
        &self.coeffs
    }

    /// The NTT form over the full ciphertext basis (lower levels use its prefix).
    pub(crate) fn ntt(&self) -> &RnsPoly<Ntt> {
        &self.ntt
    }
}
