//! CKKS keys: secret, public, relinearization and Galois keys.

use std::collections::BTreeMap;
use std::sync::Arc;

use zeroize::Zeroize;

use crate::ckks::CkksParameters;
use crate::ring::small_poly::{automorphism_i64, square_i64};
use crate::rlwe::secret::SecretPoly;
use crate::{
    Coeff, Error, Ntt, RnsBasis, RnsPoly, Sampler, SwitchingKey, check_galois_element,
    rotation_galois_element,
};

/// A CKKS secret key: a uniform ternary `s`, wiped from memory on drop.
pub struct CkksSecretKey {
    params: Arc<CkksParameters>,
    secret: SecretPoly,
}

impl std::fmt::Debug for CkksSecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CkksSecretKey(<redacted>)")
    }
}

impl CkksSecretKey {
    /// A fresh key (use [`Sampler::from_os`] outside tests).
    pub fn generate(params: &Arc<CkksParameters>, sampler: &mut Sampler) -> Self {
        Self {
            params: Arc::clone(params),
            secret: SecretPoly::generate(params.ciphertext_basis(), sampler),
        }
    }

    /// The key with ternary coefficients `coeffs` (read back from bytes).
    pub(crate) fn from_coeffs(
        params: &Arc<CkksParameters>,
        coeffs: Vec<i64>,
    ) -> Result<Self, Error> {
        Ok(Self {
            params: Arc::clone(params),
            secret: SecretPoly::from_coeffs(params.ciphertext_basis(), coeffs)?,
        })
    }

    /// The parameters the key belongs to.
    pub fn params(&self) -> &Arc<CkksParameters> {
        &self.params
    }

    pub(crate) fn ntt(&self) -> &RnsPoly<Ntt> {
        self.secret.ntt()
    }

    pub(crate) fn coeffs(&self) -> &[i64] {
        self.secret.coeffs()
    }
}

/// A CKKS public key `(-a·s + e, a)` modulo `Q·P` in NTT form.
///
/// It extends to the special primes `P` (as SEAL's does) so encryption can
/// run modulo `Q·P` and divide by `P`: the noise `e·u + e_0 + e_1·s` of a
/// public-key encryption shrinks to the rounding of that division, and
/// fresh public-key ciphertexts are about as precise as secret-key ones.
#[derive(Debug, Clone)]
pub struct CkksPublicKey {
    pub(crate) params: Arc<CkksParameters>,
    pub(crate) b: RnsPoly<Ntt>,
    pub(crate) a: RnsPoly<Ntt>,
    pub(crate) b_p: RnsPoly<Ntt>,
    pub(crate) a_p: RnsPoly<Ntt>,
    /// `(a, a_p)` are expanded from this seed (what serialization stores).
    pub(crate) seed: [u8; 32],
}

impl CkksPublicKey {
    /// The public key of `sk`.
    pub fn new(sk: &CkksSecretKey, sampler: &mut Sampler) -> Result<Self, Error> {
        let params = sk.params();
        let (q, p) = (
            params.ciphertext_basis(),
            params.key_switcher().special_basis(),
        );
        let e = sampler.error(params.degree());
        let seed = sampler.seed();
        let (a, a_p) = params.key_switcher().expand_a(seed)?;
        // -a·s + e on one basis (Q or P).
        let b_of = |a: &RnsPoly<Ntt>, s: &RnsPoly<Ntt>, basis: &Arc<RnsBasis>| {
            let mut b = a.clone();
            b.mul_prefix(s);
            b.neg_assign();
            b.add_assign(&RnsPoly::<Coeff>::from_i64(basis, basis.len(), &e)?.into_ntt())?;
            Ok::<_, Error>(b)
        };
        let b = b_of(&a, sk.ntt(), q)?;
        let mut s_p = RnsPoly::<Coeff>::from_i64(p, p.len(), sk.coeffs())?.into_ntt();
        let b_p = b_of(&a_p, &s_p, p);
        s_p.zeroize_data();
        Ok(Self {
            params: Arc::clone(params),
            b,
            a,
            b_p: b_p?,
            a_p,
            seed,
        })
    }

    /// The parameters the key belongs to.
    pub fn params(&self) -> &Arc<CkksParameters> {
        &self.params
    }
}

/// Switches `c_2·s²` back under `s` after a ciphertext multiplication.
#[derive(Debug, Clone)]
pub struct CkksRelinKey {
    pub(crate) params: Arc<CkksParameters>,
    pub(crate) key: SwitchingKey,
}

impl CkksRelinKey {
    /// The relinearization key of `sk`.
    pub fn new(sk: &CkksSecretKey, sampler: &mut Sampler) -> Result<Self, Error> {
        let params = sk.params();
        let mut s2 = square_i64(sk.coeffs())?;
        let key = params.key_switcher().generate(sk.coeffs(), &s2, sampler);
        s2.zeroize();
        Ok(Self {
            params: Arc::clone(params),
            key: key?,
        })
    }
}

/// Galois keys for the slot rotations (and conjugation) a computation needs.
#[derive(Debug, Clone)]
pub struct CkksGaloisKeys {
    pub(crate) params: Arc<CkksParameters>,
    pub(crate) keys: BTreeMap<usize, SwitchingKey>,
}

impl CkksGaloisKeys {
    /// Keys for rotating slots by each of `steps` (positive: to the left)
    /// and, if `conjugation`, for complex conjugation of the slots.
    pub fn new(
        sk: &CkksSecretKey,
        steps: &[i64],
        conjugation: bool,
        sampler: &mut Sampler,
    ) -> Result<Self, Error> {
        let params = sk.params();
        let n = params.degree();
        let mut elements: Vec<usize> = steps
            .iter()
            .map(|&s| rotation_galois_element(n, s))
            .collect();
        if conjugation {
            elements.push(2 * n - 1);
        }
        let switcher = params.key_switcher();
        let mut keys = BTreeMap::new();
        for g in elements {
            check_galois_element(n, g)?;
            if g != 1 && !keys.contains_key(&g) {
                let mut rotated = automorphism_i64(sk.coeffs(), g);
                let key = switcher.generate(sk.coeffs(), &rotated, sampler);
                rotated.zeroize();
                keys.insert(g, key?);
            }
        }
        Ok(Self {
            params: Arc::clone(params),
            keys,
        })
    }

    pub(crate) fn get(&self, g: usize) -> Option<&SwitchingKey> {
        self.keys.get(&g)
    }

    /// The Galois elements covered.
    pub fn elements(&self) -> impl Iterator<Item = usize> + '_ {
        self.keys.keys().copied()
    }
}
