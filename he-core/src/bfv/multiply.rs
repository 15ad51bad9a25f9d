//! Ciphertext × ciphertext multiplication in full RNS (Halevi–Polyakov–Shoup).
//!
//! The product `round(t/Q · c ⊗ d)` needs the tensor `c ⊗ d` exactly, which
//! is larger than `Q`. Each input is lifted exactly (as its centred
//! representative) to an auxiliary basis `R` with `R > t·n·Q`, the tensor is
//! taken in `Q ∪ R` by NTT, `round(t·e/Q)` is computed directly modulo the
//! primes of `R`, and that result — smaller than `R/2` — is lifted exactly
//! back to `Q`. Exact lifts and the rounding use 128-bit fixed-point sums
//! (see [`FixedAcc`]), no big integers.

use std::sync::Arc;

use num_bigint::BigUint;

use hefty_ntt::{Modulus, ShoupConst, slice_ops};

use crate::bfv::fixed_point::{FixedAcc, fraction_128};
use crate::{Coeff, Ntt, RnsBasis, RnsPoly, parallel};

fn small(x: &BigUint) -> u64 {
    x.to_u64_digits().first().copied().unwrap_or(0)
}

fn product(moduli: &[Modulus]) -> BigUint {
    moduli.iter().map(|m| BigUint::from(m.value())).product()
}

/// Exact base extension of the centred representative: from residues modulo
/// `A = ∏ a_i` to residues modulo other primes `b_j`, for `|x| < A/2`:
/// `x = Σ_i y_i·(A/a_i) - v·A` with `y_i = [x_i·(A/a_i)^-1]_{a_i}` and
/// `v = round(Σ_i y_i / a_i)`.
#[derive(Debug)]
pub(crate) struct ExactLift {
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
            from: from.to_vec(),
            to: to.to_vec(),
            a_hat_inv,
            inv_frac,
            a_hat_mod_b,
            minus_a_mod_b,
        }
    }

    /// Lifts a limb-major buffer (`from.len()` limbs of `n`) to `to.len()` limbs.
    pub fn lift(&self, input: &[u64], n: usize) -> Vec<u64> {
        let mut y = crate::buffer_pool::take_zeroed(input.len());
        for ((dst, limb), (m, &w)) in y
            .chunks_exact_mut(n)
            .zip(input.chunks_exact(n))
            .zip(self.from.iter().zip(&self.a_hat_inv))
        {
            slice_ops::mul_scalar(m, dst, limb, w, m.value())
                .expect("limbs of one ring have equal lengths");
        }
        let v: Vec<u64> = (0..n)
            .map(|c| {
                let mut acc = FixedAcc::default();
                for (i, &f) in self.inv_frac.iter().enumerate() {
                    acc.add_mul(y[i * n + c], f);
                }
                acc.round() as u64
            })
            .collect();
        let v_bound = self.from.len() as u64 + 1;
        let mut out = crate::buffer_pool::take_zeroed(self.to.len() * n);
        for (j, (b, dst)) in self.to.iter().zip(out.chunks_exact_mut(n)).enumerate() {
            for ((yi, &w), m) in y.chunks_exact(n).zip(&self.a_hat_mod_b[j]).zip(&self.from) {
                slice_ops::mul_scalar_add(b, dst, yi, w, m.value())
                    .expect("limbs of one ring have equal lengths");
            }
            // - v·A mod b_j, as + v·(-A mod b_j).
            slice_ops::mul_scalar_add(b, dst, &v, self.minus_a_mod_b[j], v_bound)
                .expect("limbs of one ring have equal lengths");
        }
        crate::buffer_pool::give(y);
        out
    }
}

/// The constants of multiplication at one level `Q = Q_ℓ`.
#[derive(Debug)]
pub(crate) struct MulContext {
    r: Arc<RnsBasis>,
    q_to_r: ExactLift,
    r_to_q: ExactLift,
    /// `frac(t·R·[(QR/q_i)^-1]_{q_i} / q_i)`.
    theta: Vec<u128>,
    /// `[j][i]`: `floor(t·R·[(QR/q_i)^-1]_{q_i} / q_i) mod r_j`.
    omega: Vec<Vec<ShoupConst>>,
    /// `[t·(R/r_j)·[(QR/r_j)^-1]_{r_j}]_{r_j}`.
    c_r: Vec<ShoupConst>,
}

impl MulContext {
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
            r: Arc::clone(r),
            q_to_r: ExactLift::new(q, r.moduli()),
            r_to_q: ExactLift::new(r.moduli(), q),
            theta,
            omega,
            c_r,
        }
    }

    /// `round(t/Q · a ⊗ b)` for ciphertexts given as coefficient-form polynomials.
    pub fn multiply(&self, a: &[RnsPoly<Coeff>], b: &[RnsPoly<Coeff>]) -> Vec<RnsPoly<Coeff>> {
        let q_basis = a[0].basis();
        let (level, n, kr) = (a[0].level(), a[0].degree(), self.r.len());
        // Each input polynomial's extension to Q ∪ R is independent work.
        let inputs: Vec<&RnsPoly<Coeff>> = a.iter().chain(b).collect();
        let mut extended = parallel::map(&inputs, |p| {
            let in_r = RnsPoly::<Coeff>::from_raw(&self.r, kr, self.q_to_r.lift(p.as_slice(), n));
            ((*p).clone().into_ntt(), in_r.into_ntt())
        });
        let eb = extended.split_off(a.len());
        let ea = extended;
        let out_len = a.len() + b.len() - 1;
        let mut tensor: Vec<(RnsPoly<Ntt>, RnsPoly<Ntt>)> = (0..out_len)
            .map(|_| {
                (
                    RnsPoly::zero(q_basis, level).expect("level of an existing polynomial"),
                    RnsPoly::zero(&self.r, kr).expect("full auxiliary level"),
                )
            })
            .collect();
        for (i, (aq, ar)) in ea.iter().enumerate() {
            for (j, (bq, br)) in eb.iter().enumerate() {
                tensor[i + j].0.mul_add_prefix(aq, bq);
                tensor[i + j].1.mul_add_prefix(ar, br);
            }
        }
        parallel::map_owned(tensor, |(eq, er)| {
            let (eq, er) = (eq.into_coeff(), er.into_coeff());
            let y_r = self.scale_round(&eq, &er, n);
            let lifted = self.r_to_q.lift(&y_r, n);
            crate::buffer_pool::give(y_r);
            RnsPoly::from_raw(q_basis, level, lifted)
        })
    }

    /// `round(t·e/Q) mod r_j` for `e` given modulo `Q ∪ R`.
    fn scale_round(&self, eq: &RnsPoly<Coeff>, er: &RnsPoly<Coeff>, n: usize) -> Vec<u64> {
        let k = eq.level();
        let q_moduli = &eq.basis().moduli()[..k];
        let rounded: Vec<u64> = (0..n)
            .map(|c| {
                let mut acc = FixedAcc::default();
                for (i, &th) in self.theta.iter().enumerate().take(k) {
                    acc.add_mul(eq.limb(i)[c], th);
                }
                acc.round() as u64
            })
            .collect();
        let mut out = crate::buffer_pool::take_zeroed(self.r.len() * n);
        for (j, (rj, dst)) in self
            .r
            .moduli()
            .iter()
            .zip(out.chunks_exact_mut(n))
            .enumerate()
        {
            for (d, &x) in dst.iter_mut().zip(&rounded) {
                *d = rj.reduce(x);
            }
            for (i, q) in q_moduli.iter().enumerate() {
                slice_ops::mul_scalar_add(rj, dst, eq.limb(i), self.omega[j][i], q.value())
                    .expect("limbs of one ring have equal lengths");
            }
            slice_ops::mul_scalar_add(rj, dst, er.limb(j), self.c_r[j], rj.value())
                .expect("limbs of one ring have equal lengths");
        }
        out
    }
}
