//! CKKS plaintexts and ciphertexts.

use std::sync::Arc;

use crate::ckks::Parameters;
use crate::{Ntt, RnsPoly};

/// An encoded vector: `round(Δ·m)` at a level, with its scale `Δ`, held in
/// NTT form (ready for products with ciphertexts).
#[derive(Debug, Clone)]
pub struct Plaintext {
    params: Arc<Parameters>,
    poly: RnsPoly<Ntt>,
    scale: f64,
}

impl Plaintext {
    pub(crate) fn new(params: &Arc<Parameters>, poly: RnsPoly<Ntt>, scale: f64) -> Self {
        Self {
            params: Arc::clone(params),
            poly,
            scale,
        }
    }

    /// The parameters it belongs to.
    pub fn params(&self) -> &Arc<Parameters> {
        &self.params
    }

    /// Its level (active primes).
    pub fn level(&self) -> usize {
        self.poly.level()
    }

    /// Its scale `Δ`.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// The encoded polynomial (NTT form).
    pub fn poly(&self) -> &RnsPoly<Ntt> {
        &self.poly
    }

    /// The encoded polynomial, by value.
    pub(crate) fn into_poly(self) -> RnsPoly<Ntt> {
        self.poly
    }
}

/// A CKKS ciphertext: polynomials `(c_0, c_1[, c_2])` in NTT form at one
/// level, with the scale of the message inside. (NTT form, as in SEAL and
/// Lattigo: products are pointwise, and only rescaling and key switching
/// transform the few limbs they must.)
#[derive(Debug, Clone)]
pub struct Ciphertext {
    pub(crate) params: Arc<Parameters>,
    pub(crate) polys: Vec<RnsPoly<Ntt>>,
    pub(crate) scale: f64,
    pub(crate) seed: Option<[u8; 32]>,
}

impl Ciphertext {
    /// The parameters it belongs to.
    pub fn params(&self) -> &Arc<Parameters> {
        &self.params
    }

    /// Its level (active primes).
    pub fn level(&self) -> usize {
        self.polys[0].level()
    }

    /// The scale `Δ` of the message inside.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// The number of polynomials (2, or 3 before relinearization).
    pub fn len(&self) -> usize {
        self.polys.len()
    }

    /// Always false: a ciphertext has at least two polynomials.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The polynomials (NTT form).
    pub fn polys(&self) -> &[RnsPoly<Ntt>] {
        &self.polys
    }

    /// The seed of `c_1` for a fresh secret-key encryption (compact storage).
    pub fn seed(&self) -> Option<[u8; 32]> {
        self.seed
    }
}
