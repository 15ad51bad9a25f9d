//! BFV's scale-and-round step of multiplication (Halevi–Polyakov–Shoup).

use std::sync::Arc;

use hefty_ntt::{Modulus, ShoupConst, slice_ops};
use num_bigint::BigUint;

use crate::RnsBasis;
use crate::ring::exact_lift::{product, small};
use crate::ring::fixed_point::{FixedAcc, fraction_128};

/// The constants of `round(t·e/Q) mod r_j` for `e` given modulo `Q ∪ R`
/// (`Q = Q_ℓ` the ciphertext modulus at one level, `R` the auxiliary basis):
/// `t·e/Q = Σ_i e_i·(t·R·[(QR/q_i)^-1]_{q_i}/q_i) + Σ_j e_j·t·(R/r_j)·[(QR/r_j)^-1]_{r_j}`
/// modulo `R`, each `q_i` term split into an integer part and a 128-bit fraction.
#[derive(Debug)]
pub struct ScaleRound {
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
            r: r.moduli().to_vec(),
            q: q.to_vec(),
            theta,
            omega,
            c_r,
        }
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

    /// Host implementation (the CPU backend's): `eq` holds `level` limbs
    /// modulo `Q`, `er` the limbs modulo `R`; returns the limbs modulo `R`.
    pub fn apply(&self, n: usize, level: usize, eq: &[u64], er: &[u64]) -> Vec<u64> {
        let limb = |buf: &'_ [u64], i: usize| -> std::ops::Range<usize> {
            debug_assert!(buf.len() >= (i + 1) * n);
            i * n..(i + 1) * n
        };
        let rounded: Vec<u64> = (0..n)
            .map(|c| {
                let mut acc = FixedAcc::default();
                for (i, &th) in self.theta.iter().enumerate().take(level) {
                    acc.add_mul(eq[i * n + c], th);
                }
                acc.round() as u64
            })
            .collect();
        let mut out = crate::backend::cpu::pool::take_zeroed(self.r.len() * n);
        for (j, (rj, dst)) in self.r.iter().zip(out.chunks_exact_mut(n)).enumerate() {
            for (d, &x) in dst.iter_mut().zip(&rounded) {
                *d = rj.reduce(x);
            }
            for (i, q) in self.q[..level].iter().enumerate() {
                slice_ops::mul_scalar_add(rj, dst, &eq[limb(eq, i)], self.omega[j][i], q.value())
                    .expect("limbs of one ring have equal lengths");
            }
            slice_ops::mul_scalar_add(rj, dst, &er[limb(er, j)], self.c_r[j], rj.value())
                .expect("limbs of one ring have equal lengths");
        }
        out
    }
}
