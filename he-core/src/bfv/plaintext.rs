//! BFV plaintexts: polynomials with coefficients modulo t.

use std::sync::Arc;

use crate::bfv::Parameters;
use crate::{Coeff, Error, RnsPoly};

/// A plaintext polynomial of `Z_t[x]/(x^n + 1)`, coefficients in `[0, t)`.
#[derive(Debug, Clone)]
pub struct Plaintext {
    params: Arc<Parameters>,
    coeffs: Vec<u64>,
}

impl PartialEq for Plaintext {
    /// Equal when made from the same parameter object and equal coefficients.
    fn eq(&self, other: &Self) -> bool {
        crate::rlwe::same_params(self.params.as_ref(), other.params.as_ref())
            && self.coeffs == other.coeffs
    }
}

impl Eq for Plaintext {}

impl Plaintext {
    /// The plaintext with the given coefficients (at most n, each below t;
    /// missing high coefficients are zero).
    pub fn from_coeffs(params: &Arc<Parameters>, coeffs: &[u64]) -> Result<Self, Error> {
        let (n, t) = (params.degree(), params.plaintext_modulus());
        if coeffs.len() > n {
            return Err(Error::WrongLength {
                expected: n,
                got: coeffs.len(),
            });
        }
        if let Some(&bad) = coeffs.iter().find(|&&c| c >= t) {
            return Err(Error::InvalidParameters(format!(
                "plaintext coefficient {bad} is not below t = {t}"
            )));
        }
        let mut all = coeffs.to_vec();
        all.resize(n, 0);
        Ok(Self {
            params: Arc::clone(params),
            coeffs: all,
        })
    }

    /// The constant polynomial `c mod t` (every batching slot holds `c`).
    pub fn constant(params: &Arc<Parameters>, c: u64) -> Self {
        let mut coeffs = vec![0; params.degree()];
        coeffs[0] = params.plaintext().reduce(c);
        Self {
            params: Arc::clone(params),
            coeffs,
        }
    }

    pub(crate) fn from_reduced(params: &Arc<Parameters>, coeffs: Vec<u64>) -> Self {
        Self {
            params: Arc::clone(params),
            coeffs,
        }
    }

    /// The coefficients, `n` of them, in `[0, t)`.
    pub fn coeffs(&self) -> &[u64] {
        &self.coeffs
    }

    /// The parameters it belongs to.
    pub fn params(&self) -> &Arc<Parameters> {
        &self.params
    }

    /// `Δ·m` at `level` in coefficient form, `Δ = floor(Q_ℓ/t)`: the plaintext
    /// as it sits inside a ciphertext (without noise).
    pub(crate) fn scaled(&self, level: usize) -> Result<RnsPoly<Coeff>, Error> {
        let basis = self.params.ciphertext_basis();
        basis.check_level(level)?;
        let delta = &self.params.level_constants(level).delta;
        // Encoding crosses the bus: computed on the host, uploaded once.
        let mut data = Vec::with_capacity(level * basis.degree());
        for (m, &d) in basis.moduli()[..level].iter().zip(delta) {
            let d = m.shoup(d);
            data.extend(self.coeffs.iter().map(|&c| m.mul_shoup(c, d)));
        }
        RnsPoly::from_raw(basis, level, data)
    }

    /// The coefficients lifted to `(-t/2, t/2]`: the smallest representatives,
    /// which keep the noise of plaintext multiplication low.
    pub(crate) fn centered(&self) -> Vec<i64> {
        let t = self.params.plaintext_modulus();
        self.coeffs
            .iter()
            .map(|&c| {
                if c > t / 2 {
                    c as i64 - t as i64
                } else {
                    c as i64
                }
            })
            .collect()
    }
}
