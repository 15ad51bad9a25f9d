//! BFV secret and public keys.

use std::sync::Arc;

use crate::bfv::BfvParameters;
use crate::rlwe::secret::SecretPoly;
use crate::{Coeff, Error, Ntt, RnsPoly, Sampler};

/// A secret key: a uniform ternary polynomial `s`. Its coefficients and its
/// NTT form are wiped from memory when the key is dropped.
pub struct SecretKey {
    params: Arc<BfvParameters>,
    secret: SecretPoly,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

impl SecretKey {
    /// A fresh key from the sampler (use [`Sampler::from_os`] outside tests).
    pub fn generate(params: &Arc<BfvParameters>, sampler: &mut Sampler) -> Self {
        Self {
            params: Arc::clone(params),
            secret: SecretPoly::generate(params.ciphertext_basis(), sampler),
        }
    }

    /// The key with ternary coefficients `coeffs` (read back from bytes).
    pub(crate) fn from_coeffs(
        params: &Arc<BfvParameters>,
        coeffs: Vec<i64>,
    ) -> Result<Self, Error> {
        Ok(Self {
            params: Arc::clone(params),
            secret: SecretPoly::from_coeffs(params.ciphertext_basis(), coeffs)?,
        })
    }

    /// The parameters the key belongs to.
    pub fn params(&self) -> &Arc<BfvParameters> {
        &self.params
    }

    /// `s` in NTT form over the full ciphertext basis; lower levels use its
    /// prefix (`RnsPoly::mul_prefix`), so the secret is never copied.
    pub(crate) fn ntt(&self) -> &RnsPoly<Ntt> {
        self.secret.ntt()
    }

    /// The ternary coefficients (crate-internal: key switching needs them mod P).
    pub(crate) fn coeffs(&self) -> &[i64] {
        self.secret.coeffs()
    }
}

/// A public key `(b, a) = (-a·s + e, a)` in NTT form; `a` is expanded from
/// a seed, which is what serialization stores.
#[derive(Debug, Clone)]
pub struct PublicKey {
    pub(crate) params: Arc<BfvParameters>,
    pub(crate) b: RnsPoly<Ntt>,
    pub(crate) a: RnsPoly<Ntt>,
    pub(crate) seed: [u8; 32],
}

impl PublicKey {
    /// The public key of `sk`.
    pub fn new(sk: &SecretKey, sampler: &mut Sampler) -> Result<Self, Error> {
        let params = sk.params();
        let basis = params.ciphertext_basis();
        let level = basis.len();
        let seed = sampler.seed();
        let a = Self::expand_a(params, seed)?;
        let e =
            RnsPoly::<Coeff>::from_i64(basis, level, &sampler.error(params.degree()))?.into_ntt();
        let mut b = a.clone();
        b.mul_prefix(sk.ntt());
        b.neg_assign();
        b.add_assign(&e)?;
        Ok(Self {
            params: Arc::clone(params),
            b,
            a,
            seed,
        })
    }

    /// The uniform half `a`, from its seed.
    pub(crate) fn expand_a(
        params: &Arc<BfvParameters>,
        seed: [u8; 32],
    ) -> Result<RnsPoly<Ntt>, Error> {
        let basis = params.ciphertext_basis();
        Sampler::from_seed(seed).uniform::<Ntt>(basis, basis.len())
    }

    /// The parameters the key belongs to.
    pub fn params(&self) -> &Arc<BfvParameters> {
        &self.params
    }
}
