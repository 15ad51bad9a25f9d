//! Fast (approximate) base conversion between RNS bases.

use hefty_ntt::{Modulus, ShoupConst};

use crate::{Coeff, Error, RnsBasis, RnsPoly};

/// Converts residues modulo `Q = q_0 ⋯ q_{k-1}` into residues modulo other
/// primes `p_j` without leaving RNS:
///
/// `y_j = Σ_i [x_i · (Q/q_i)^-1]_{q_i} · (Q/q_i) mod p_j`,
///
/// which is `x + α·Q` modulo `p_j` for one integer `0 <= α < k` per
/// coefficient (the "fast base conversion" of Bajard et al. and Halevi et al.,
/// the first step of BFV multiplication and of hybrid key switching). The
/// `α·Q` overflow is what those schemes then cancel or tolerate.
#[derive(Debug, Clone)]
pub struct BaseConverter {
    id: crate::backend::TableId,
    from: Vec<Modulus>,
    to: Vec<Modulus>,
    q_hat_inv: Vec<ShoupConst>,
    /// `(Q/q_i) mod p_j`, indexed `[j][i]`.
    q_hat_mod_p: Vec<Vec<ShoupConst>>,
}

impl BaseConverter {
    /// A converter from the first `level` primes of `from` to the primes `to`.
    pub fn new(from: &RnsBasis, level: usize, to: &[Modulus]) -> Result<Self, Error> {
        from.check_level(level)?;
        Ok(Self::between(&from.moduli()[..level], to))
    }

    /// A converter between any two sets of moduli (the source pairwise coprime).
    pub fn between(from: &[Modulus], to: &[Modulus]) -> Self {
        let moduli = from.to_vec();
        let q: num_bigint::BigUint = moduli
            .iter()
            .map(|m| num_bigint::BigUint::from(m.value()))
            .product();
        let first = |x: num_bigint::BigUint| x.to_u64_digits().first().copied().unwrap_or(0);
        let q_hat_inv = moduli
            .iter()
            .map(|m| {
                let q_hat = first((&q / m.value()) % m.value());
                m.shoup(m.inv(q_hat).expect("source moduli are pairwise coprime"))
            })
            .collect();
        let q_hat_mod_p = to
            .iter()
            .map(|p| {
                moduli
                    .iter()
                    .map(|m| {
                        let v = (&q / m.value()) % p.value();
                        p.shoup(v.to_u64_digits().first().copied().unwrap_or(0))
                    })
                    .collect()
            })
            .collect();
        Self {
            id: crate::backend::TableId::fresh(),
            q_hat_inv,
            from: moduli,
            to: to.to_vec(),
            q_hat_mod_p,
        }
    }

    /// The table's identity (device backends cache their copy by it).
    pub fn id(&self) -> crate::backend::TableId {
        self.id
    }

    /// The target moduli.
    pub fn to_moduli(&self) -> &[Modulus] {
        &self.to
    }

    /// The source moduli.
    pub fn from_moduli(&self) -> &[Modulus] {
        &self.from
    }

    /// `[(Q/q_i)^-1]_{q_i}`.
    pub fn q_hat_inv(&self) -> &[ShoupConst] {
        &self.q_hat_inv
    }

    /// `(Q/q_i) mod p_j`, indexed `[j][i]`.
    pub fn q_hat_mod_p(&self) -> &[Vec<ShoupConst>] {
        &self.q_hat_mod_p
    }

    /// Converts a coefficient-form polynomial (whose level must be the
    /// converter's source level) into the target primes.
    pub fn convert_poly(&self, poly: &RnsPoly<Coeff>) -> Result<Vec<u64>, Error> {
        if poly.level() != self.from.len() {
            return Err(Error::LevelMismatch {
                left: poly.level(),
                right: self.from.len(),
            });
        }
        let mut out = Vec::new();
        crate::backend::cpu::kernels::base_convert(self, &poly.to_host()?, poly.degree(), &mut out);
        Ok(out)
    }
}
