//! BFV's scale-and-round step of multiplication (Halevi–Polyakov–Shoup).

use std::sync::Arc;

use hefty_ntt::{Modulus, ShoupConst};
use num_bigint::BigUint;

use crate::RnsBasis;
use crate::ring::exact_lift::{product, small};
use crate::ring::fixed_point::fraction_128;

/// The constants of `round(t·e/Q) mod r_j` for `e` given modulo `Q ∪ R`
/// (`Q = Q_ℓ` the ciphertext modulus at one level, `R` the auxiliary basis):
/// `t·e/Q = Σ_i e_i·(t·R·[(QR/q_i)^-1]_{q_i}/q_i) + Σ_j e_j·t·(R/r_j)·[(QR/r_j)^-1]_{r_j}`
/// modulo `R`, each `q_i` term split into an integer part and a 128-bit fraction.
#[derive(Debug)]
pub struct ScaleRound {
    id: crate::backend::TableId,
    r: Vec<Modulus>,
    q: Vec<Modulus>,
    /// `frac(t·R·[(QR/q_i)^-1]_{q_i} / q_i)`.
    theta: Vec<u128>,
    /// `[j][i]`: `floor(t·R·[(QR/q_i)^-1]_{q_i} / q_i) mod r_j`.
    omega: Vec<Vec<ShoupConst>>,
    /// `[t·(R/r_j)·[(QR/r_j)^-1]_{r_j}]_{r_j}`.
    c_r: Vec<ShoupConst>,
}

impl ScaleRound {
    /// The constants for ciphertext primes `q`, auxiliary basis `r`, plaintext modulus `t`.
    pub fn new(q: &[Modulus], r: &Arc<RnsBasis>, t: u64) -> Self {
        let (q_big, r_big) = (product(q), product(r.moduli()));
        let qr = &q_big * &r_big;
        let mut theta = Vec::with_capacity(q.len());
        let mut omega_cols = Vec::with_capacity(q.len());
        for m in q {
            let inv = m
                .inv(small(&((&qr / m.value()) % m.value())))
                .expect("coprime moduli");
            let num = BigUint::from(t) * &r_big * inv;
            omega_cols.push(&num / m.value());
            theta.push(fraction_128(&(&num % m.value()), &BigUint::from(m.value())));
        }
        let omega = r
            .moduli()
            .iter()
            .map(|rj| {
                omega_cols
                    .iter()
                    .map(|w| rj.shoup(small(&(w % rj.value()))))
                    .collect()
            })
            .collect();
        let c_r = r
            .moduli()
            .iter()
            .map(|rj| {
                let r_hat = &r_big / rj.value();
                let inv = rj
                    .inv(small(&((&qr / rj.value()) % rj.value())))
                    .expect("coprime moduli");
                rj.shoup(rj.mul(rj.mul(rj.reduce(t), small(&(r_hat % rj.value()))), inv))
            })
            .collect();
        Self {
            id: crate::backend::TableId::fresh(),
            r: r.moduli().to_vec(),
            q: q.to_vec(),
            theta,
            omega,
            c_r,
        }
    }

    /// The table's identity (device backends cache their copy by it).
    pub fn id(&self) -> crate::backend::TableId {
        self.id
    }

    /// The fractional parts `θ_i` (128-bit fixed point).
    pub fn theta(&self) -> &[u128] {
        &self.theta
    }

    /// The integer parts modulo `r_j`, indexed `[j][i]`.
    pub fn omega(&self) -> &[Vec<ShoupConst>] {
        &self.omega
    }

    /// The weights of the `R` residues.
    pub fn c_r(&self) -> &[ShoupConst] {
        &self.c_r
    }

    /// The ciphertext primes `Q` (at the top level; a call at level `ℓ`
    /// uses the first `ℓ`).
    pub fn q_moduli(&self) -> &[Modulus] {
        &self.q
    }

    /// The auxiliary primes `R`.
    pub fn r_moduli(&self) -> &[Modulus] {
        &self.r
    }
}
