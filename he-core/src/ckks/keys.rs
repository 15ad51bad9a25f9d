//! CKKS keys: secret, public, relinearization and Galois keys.

use std::collections::BTreeMap;
use std::sync::Arc;

use zeroize::Zeroize;

use crate::ckks::CkksParameters;
use crate::small_poly::{automorphism_i64, square_i64};
use crate::{
    Coeff, Error, Ntt, RnsPoly, Sampler, SwitchingKey, check_galois_element,
    rotation_galois_element,
};

/// A CKKS secret key: a uniform ternary `s`, wiped from memory on drop.
pub struct CkksSecretKey {
    params: Arc<CkksParameters>,
    coeffs: Vec<i64>,
    ntt: RnsPoly<Ntt>,
}

impl std::fmt::Debug for CkksSecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CkksSecretKey(<redacted>)")
    }
}

impl Drop for CkksSecretKey {
    fn drop(&mut self) {
        self.coeffs.zeroize();
        self.ntt.zeroize_data();
    }
}

impl CkksSecretKey {
    /// A fresh key (use [`Sampler::from_os`] outside tests).
    pub fn generate(params: &Arc<CkksParameters>, sampler: &mut Sampler) -> Self {
        let coeffs = sampler.ternary(params.degree());
        let basis = params.ciphertext_basis();
        let ntt = RnsPoly::from_i64(basis, basis.len(), &coeffs)
            .expect("degree and level match the parameters")
            .into_ntt();
        Self {
            params: Arc::clone(params),
            coeffs,
            ntt,
        }
    }

    /// The parameters the key belongs to.
    pub fn params(&self) -> &Arc<CkksParameters> {
        &self.params
    }

    pub(crate) fn ntt(&self) -> &RnsPoly<Ntt> {
        &self.ntt
    }

    pub(crate) fn coeffs(&self) -> &[i64] {
        &self.coeffs
    }
}

/// A CKKS public key `(-a·s + e, a)` in NTT form.
#[derive(Debug, Clone)]
pub struct CkksPublicKey {
    params: Arc<CkksParameters>,
    pub(crate) b: RnsPoly<Ntt>,
    pub(crate) a: RnsPoly<Ntt>,
}

impl CkksPublicKey {
    /// The public key of `sk`.
    pub fn new(sk: &CkksSecretKey, sampler: &mut Sampler) -> Result<Self, Error> {
        let params = sk.params();
        let basis = params.ciphertext_basis();
        let level = basis.len();
        let a = sampler.uniform::<Ntt>(basis, level)?;
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
    keys: BTreeMap<usize, SwitchingKey>,
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
