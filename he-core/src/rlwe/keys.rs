//! The key types both schemes share, generic over their parameters: each
//! scheme names them (`bfv::SecretKey = rlwe::SecretKey<bfv::Parameters>`)
//! and adds its own methods (encryption, decryption, noise measurement).

use std::collections::BTreeMap;
use std::sync::Arc;

use zeroize::Zeroize;

use crate::Error;
use crate::ring::small_poly::{automorphism_i64, square_i64};
use crate::ring::{Coeff, Ntt, RnsBasis, RnsPoly, Sampler};
use crate::ring::{GaloisPermutation, check_galois_element, rotation_galois_element};
use crate::rlwe::secret::SecretPoly;
use crate::rlwe::{RlweParameters, SwitchingKey};

/// A secret key: a uniform ternary polynomial `s`. Its coefficients and its
/// NTT form are wiped from memory when the key is dropped, and `Debug`
/// prints no part of it.
pub struct SecretKey<P: RlweParameters> {
    params: Arc<P>,
    secret: SecretPoly,
}

impl<P: RlweParameters> std::fmt::Debug for SecretKey<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

impl<P: RlweParameters> SecretKey<P> {
    /// A fresh key from the sampler (use [`Sampler::from_os`] outside tests).
    pub fn generate(params: &Arc<P>, sampler: &mut Sampler) -> Self {
        Self {
            params: Arc::clone(params),
            secret: SecretPoly::generate(params.ciphertext_basis(), sampler),
        }
    }

    /// The key with ternary coefficients `coeffs` (read back from bytes).
    pub(crate) fn from_coeffs(params: &Arc<P>, coeffs: Vec<i64>) -> Result<Self, Error> {
        Ok(Self {
            params: Arc::clone(params),
            secret: SecretPoly::from_coeffs(params.ciphertext_basis(), coeffs)?,
        })
    }

    /// The parameters the key belongs to.
    pub fn params(&self) -> &Arc<P> {
        &self.params
    }

    /// `s` in NTT form over the full ciphertext basis; lower levels use its
    /// prefix (`RnsPoly::mul_prefix`), so the secret is never copied.
    pub(crate) fn ntt(&self) -> &RnsPoly<Ntt> {
        self.secret.ntt()
    }

    /// The ternary coefficients (key switching needs them modulo `P`).
    pub(crate) fn coeffs(&self) -> &[i64] {
        self.secret.coeffs()
    }
}

/// A public key `(b, a) = (-a·s + e, a)` in NTT form, with `a` expanded
/// from a seed (what serialization stores).
///
/// For CKKS it extends to the special primes `P` (as SEAL's does) so
/// encryption can run modulo `Q·P` and divide by `P`: the noise
/// `e·u + e_0 + e_1·s` of a public-key encryption shrinks to the rounding
/// of that division ([`RlweParameters::PUBLIC_KEY_MOD_P`]).
#[derive(Debug)]
pub struct PublicKey<P: RlweParameters> {
    pub(crate) params: Arc<P>,
    pub(crate) b: RnsPoly<Ntt>,
    pub(crate) a: RnsPoly<Ntt>,
    /// `(b, a)` modulo `P`, when the scheme's public keys extend there.
    pub(crate) special: Option<[RnsPoly<Ntt>; 2]>,
    pub(crate) seed: [u8; 32],
}

impl<P: RlweParameters> PublicKey<P> {
    /// The public key of `sk`.
    pub fn new(sk: &SecretKey<P>, sampler: &mut Sampler) -> Result<Self, Error> {
        let params = sk.params();
        let q = params.ciphertext_basis();
        let seed = sampler.seed();
        let (a, a_p) = Self::expand_a(params, seed)?;
        let e = sampler.error(params.degree())?;
        // -a·s + e on one basis (Q or P).
        let b_of = |a: &RnsPoly<Ntt>, s: &RnsPoly<Ntt>, basis: &Arc<RnsBasis>| {
            let mut b = a.clone();
            b.mul_prefix(s);
            b.neg_assign();
            b.add_assign(&RnsPoly::<Coeff>::from_i64(basis, basis.len(), &e)?.into_ntt())?;
            Ok::<_, Error>(b)
        };
        let b = b_of(&a, sk.ntt(), q)?;
        let special = match a_p {
            Some(a_p) => {
                let p = params.key_switching()?.special_basis();
                let mut s_p = RnsPoly::<Coeff>::from_i64(p, p.len(), sk.coeffs())?.into_ntt();
                let b_p = b_of(&a_p, &s_p, p);
                s_p.zeroize_data();
                Some([b_p?, a_p])
            }
            None => None,
        };
        Ok(Self {
            params: Arc::clone(params),
            b,
            a,
            special,
            seed,
        })
    }

    /// The uniform half `a` modulo `Q` (and modulo `P` where the scheme's
    /// public keys extend there), from its seed.
    pub(crate) fn expand_a(
        params: &Arc<P>,
        seed: [u8; 32],
    ) -> Result<(RnsPoly<Ntt>, Option<RnsPoly<Ntt>>), Error> {
        if P::PUBLIC_KEY_MOD_P {
            let (a, a_p) = params.key_switching()?.expand_a(seed)?;
            Ok((a, Some(a_p)))
        } else {
            let q = params.ciphertext_basis();
            Ok((Sampler::from_seed(seed).uniform::<Ntt>(q, q.len())?, None))
        }
    }

    /// The parameters the key belongs to.
    pub fn params(&self) -> &Arc<P> {
        &self.params
    }
}

/// The key that relinearizes `(c_0, c_1, c_2)` back to two polynomials: it
/// switches `c_2·s²` to a key under `s`.
#[derive(Debug)]
pub struct RelinearizationKey<P: RlweParameters> {
    pub(crate) params: Arc<P>,
    pub(crate) key: SwitchingKey,
}

impl<P: RlweParameters> RelinearizationKey<P> {
    /// The relinearization key of `sk`.
    pub fn new(sk: &SecretKey<P>, sampler: &mut Sampler) -> Result<Self, Error> {
        let params = sk.params();
        let s = sk.coeffs();
        let switcher = params.key_switching()?;
        // s² is as secret as s: wipe the temporary whatever happens.
        let mut s2 = square_i64(s)?;
        let key = switcher.generate(s, &s2, sampler);
        s2.zeroize();
        Ok(Self {
            params: Arc::clone(params),
            key: key?,
        })
    }

    /// The parameters the key belongs to.
    pub fn params(&self) -> &Arc<P> {
        &self.params
    }
}

/// Galois keys for the rotations (and the conjugation, or BFV's row swap) a
/// computation needs, and only those.
#[derive(Debug)]
pub struct GaloisKeys<P: RlweParameters> {
    pub(crate) params: Arc<P>,
    pub(crate) keys: BTreeMap<usize, SwitchingKey>,
    /// `σ_g` on NTT-form evaluations for every key, built once with the keys.
    perms: BTreeMap<usize, GaloisPermutation>,
}

impl<P: RlweParameters> GaloisKeys<P> {
    /// Keys for rotating by each of `steps` (positive: to the left; BFV
    /// rotates within rows, CKKS over all slots) and, if `conjugation`, for
    /// the element `2n − 1` (CKKS: complex conjugation of the slots; BFV:
    /// swapping the two rows).
    pub fn new(
        sk: &SecretKey<P>,
        steps: &[i64],
        conjugation: bool,
        sampler: &mut Sampler,
    ) -> Result<Self, Error> {
        let n = sk.params().degree();
        let mut elements: Vec<usize> = steps
            .iter()
            .map(|&s| rotation_galois_element(n, s))
            .collect();
        if conjugation {
            elements.push(2 * n - 1);
        }
        Self::for_elements(sk, &elements, sampler)
    }

    /// Keys for arbitrary Galois elements (odd, below `2n`).
    pub fn for_elements(
        sk: &SecretKey<P>,
        elements: &[usize],
        sampler: &mut Sampler,
    ) -> Result<Self, Error> {
        let params = sk.params();
        for &g in elements {
            check_galois_element(params.degree(), g)?;
        }
        let switcher = params.key_switching()?;
        let mut keys = BTreeMap::new();
        for &g in elements {
            if g != 1 && !keys.contains_key(&g) {
                let mut rotated = automorphism_i64(sk.coeffs(), g);
                let key = switcher.generate(sk.coeffs(), &rotated, sampler);
                rotated.zeroize();
                keys.insert(g, key?);
            }
        }
        Self::from_keys(params, keys)
    }

    /// The keys with their permutation tables (read back from bytes).
    pub(crate) fn from_keys(
        params: &Arc<P>,
        keys: BTreeMap<usize, SwitchingKey>,
    ) -> Result<Self, Error> {
        let perms = keys
            .keys()
            .map(|&g| Ok((g, GaloisPermutation::new(params.degree(), g)?)))
            .collect::<Result<_, Error>>()?;
        Ok(Self {
            params: Arc::clone(params),
            keys,
            perms,
        })
    }

    /// The key for Galois element `g` and its permutation, if it was generated.
    pub(crate) fn get(&self, g: usize) -> Option<(&SwitchingKey, &GaloisPermutation)> {
        Some((self.keys.get(&g)?, self.perms.get(&g)?))
    }

    /// The Galois elements these keys cover.
    pub fn elements(&self) -> impl Iterator<Item = usize> + '_ {
        self.keys.keys().copied()
    }

    /// The parameters the keys belong to.
    pub fn params(&self) -> &Arc<P> {
        &self.params
    }
}

// Not derived: a derive would require `P: Clone`, and parameters are shared by `Arc`.
impl<P: RlweParameters> Clone for PublicKey<P> {
    fn clone(&self) -> Self {
        Self {
            params: Arc::clone(&self.params),
            b: self.b.clone(),
            a: self.a.clone(),
            special: self.special.clone(),
            seed: self.seed,
        }
    }
}

impl<P: RlweParameters> Clone for RelinearizationKey<P> {
    fn clone(&self) -> Self {
        Self {
            params: Arc::clone(&self.params),
            key: self.key.clone(),
        }
    }
}

impl<P: RlweParameters> Clone for GaloisKeys<P> {
    fn clone(&self) -> Self {
        Self {
            params: Arc::clone(&self.params),
            keys: self.keys.clone(),
            perms: self.perms.clone(),
        }
    }
}
