//! Exact base extension of centred residues (no `α·Q` overflow).

use hefty_ntt::{Modulus, ShoupConst};
use num_bigint::BigUint;

use crate::ring::fixed_point::fraction_128;

pub(crate) fn small(x: &BigUint) -> u64 {
    x.to_u64_digits().first().copied().unwrap_or(0)
}

pub(crate) fn product(moduli: &[Modulus]) -> BigUint {
    moduli.iter().map(|m| BigUint::from(m.value())).product()
}

/// Exact base extension of the centred representative: from residues modulo
/// `A = ∏ a_i` to residues modulo other primes `b_j`, for `|x| < A/2`:
/// `x = Σ_i y_i·(A/a_i) - v·A` with `y_i = [x_i·(A/a_i)^-1]_{a_i}` and
/// `v = round(Σ_i y_i / a_i)` (computed with 128-bit fixed-point fractions).
///
/// BFV multiplication lifts ciphertexts to its auxiliary basis with it; a
/// backend runs it through [`Backend::exact_lift`](crate::Backend::exact_lift).
#[derive(Debug)]
pub struct ExactLift {
    id: crate::backend::TableId,
    from: Vec<Modulus>,
    to: Vec<Modulus>,
    a_hat_inv: Vec<ShoupConst>,
    inv_frac: Vec<u128>,
    /// `[j][i]`: `(A/a_i) mod b_j`.
    a_hat_mod_b: Vec<Vec<ShoupConst>>,
    /// `-A mod b_j`.
    minus_a_mod_b: Vec<ShoupConst>,
}

impl ExactLift {
    /// The lift from the (pairwise coprime) primes `from` to the primes `to`.
    pub fn new(from: &[Modulus], to: &[Modulus]) -> Self {
        let a = product(from);
        let a_hat_inv = from
            .iter()
            .map(|m| {
                m.shoup(
                    m.inv(small(&((&a / m.value()) % m.value())))
                        .expect("coprime moduli"),
                )
            })
            .collect();
        let inv_frac = from
            .iter()
            .map(|m| fraction_128(&BigUint::from(1u32), &BigUint::from(m.value())))
            .collect();
        let a_hat_mod_b = to
            .iter()
            .map(|b| {
                from.iter()
                    .map(|m| b.shoup(small(&((&a / m.value()) % b.value()))))
                    .collect()
            })
            .collect();
        let minus_a_mod_b = to
            .iter()
            .map(|b| b.shoup(b.neg(small(&(&a % b.value())))))
            .collect();
        Self {
            id: crate::backend::TableId::fresh(),
            from: from.to_vec(),
            to: to.to_vec(),
            a_hat_inv,
            inv_frac,
            a_hat_mod_b,
            minus_a_mod_b,
        }
    }

    /// The table's identity (device backends cache their copy by it).
    pub fn id(&self) -> crate::backend::TableId {
        self.id
    }

    /// The source primes `a_i`.
    pub fn from_moduli(&self) -> &[Modulus] {
        &self.from
    }

    /// The target primes `b_j`.
    pub fn to_moduli(&self) -> &[Modulus] {
        &self.to
    }

    /// `[(A/a_i)^-1]_{a_i}`.
    pub fn a_hat_inv(&self) -> &[ShoupConst] {
        &self.a_hat_inv
    }

    /// `1/a_i` as 128-bit binary fractions.
    pub fn inv_fractions(&self) -> &[u128] {
        &self.inv_frac
    }

    /// `(A/a_i) mod b_j`, indexed `[j][i]`.
    pub fn a_hat_mod_b(&self) -> &[Vec<ShoupConst>] {
        &self.a_hat_mod_b
    }

    /// `-A mod b_j`.
    pub fn minus_a_mod_b(&self) -> &[ShoupConst] {
        &self.minus_a_mod_b
    }
}
