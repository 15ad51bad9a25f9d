//! Ciphertext × ciphertext multiplication in full RNS (Halevi–Polyakov–Shoup).
//!
//! The product `round(t/Q · c ⊗ d)` needs the tensor `c ⊗ d` exactly, which
//! is larger than `Q`. Each input is lifted exactly (as its centred
//! representative) to an auxiliary basis `R` with `R > t·n·Q`, the tensor is
//! taken in `Q ∪ R` by NTT, `round(t·e/Q)` is computed directly modulo the
//! primes of `R`, and that result — smaller than `R/2` — is lifted exactly
//! back to `Q`. Exact lifts and the rounding use 128-bit fixed-point sums
//! (see `ExactLift` and `ScaleRound`), no big integers; the backend runs both.
//!
//! At a level where `Q ≡ 1 (mod t)` none of that is needed. There
//! `t·Δ = Q − 1 ≡ −1`, so for phases `Δ·m_a + e_a` and `Δ·m_b + e_b`
//!
//! ```text
//! −t·(Δm_a + e_a)(Δm_b + e_b) ≡ Δ·m_a·m_b + (m_a·e_b + m_b·e_a) − t·e_a·e_b   (mod Q)
//! ```
//!
//! and `Δ·m_a·m_b ≡ Δ·[m_a·m_b]_t − k` for the carry `k = ⌊m_a·m_b / t⌋`:
//! the tensor taken modulo `Q` alone and multiplied by `−t` is already a
//! BFV encryption of the product, with noise `m_a·e_b + m_b·e_a − t·e_a·e_b
//! − k` — of the same order as the full-RNS product's (both grow by about
//! `t·n` times the inputs' noise), as BGV's product is when `q ≡ 1 (mod t)`.
//! Five NTTs per limb of `Q` (two inputs forward, three outputs back)
//! instead of five per limb of `Q ∪ R` and three base conversions: about a
//! quarter of the work at `n = 8192` with four primes. Plaintext moduli
//! that divide `Q − 1` come from [`crate::bfv::moduli_dividing_q_minus_one`].

use std::sync::Arc;

use hefty_ntt::Modulus;

use crate::Error;
use crate::backend::independent as parallel;
use crate::ring::ScaleRound;
use crate::{Coeff, ExactLift, Ntt, RnsBasis, RnsPoly};

/// The constants of multiplication at one level `Q = Q_ℓ`.
#[derive(Debug)]
pub(crate) struct MulContext {
    r: Arc<RnsBasis>,
    q_to_r: ExactLift,
    r_to_q: ExactLift,
    round: ScaleRound,
    /// `−t mod q_i` for each prime when `Q ≡ 1 (mod t)`: the product is
    /// then the tensor modulo `Q` times `−t` (module documentation).
    in_q: Option<Vec<u64>>,
}

impl MulContext {
    pub fn new(q: &[Modulus], r: &Arc<RnsBasis>, t: u64) -> Self {
        let q_mod_t = q.iter().fold(1 % u128::from(t), |acc, m| {
            acc * (u128::from(m.value()) % u128::from(t)) % u128::from(t)
        });
        let in_q = (q_mod_t == 1).then(|| q.iter().map(|m| m.neg(m.reduce(t))).collect());
        Self {
            r: Arc::clone(r),
            q_to_r: ExactLift::new(q, r.moduli()),
            r_to_q: ExactLift::new(r.moduli(), q),
            round: ScaleRound::new(q, r, t),
            in_q,
        }
    }

    /// Whether products at this level are taken modulo `Q` alone
    /// (`Q ≡ 1 (mod t)`), without the auxiliary basis.
    pub fn in_q(&self) -> bool {
        self.in_q.is_some()
    }

    /// The product of ciphertexts given as coefficient-form polynomials:
    /// modulo `Q` alone where `Q ≡ 1 (mod t)`, else in full RNS.
    pub fn multiply(
        &self,
        a: &[RnsPoly<Coeff>],
        b: &[RnsPoly<Coeff>],
    ) -> Result<Vec<RnsPoly<Coeff>>, Error> {
        match &self.in_q {
            Some(neg_t) => multiply_in_q(a, b, neg_t),
            None => self.multiply_extended(a, b),
        }
    }

    /// `round(t/Q · a ⊗ b)` through the auxiliary basis `R` (any `t`).
    pub fn multiply_extended(
        &self,
        a: &[RnsPoly<Coeff>],
        b: &[RnsPoly<Coeff>],
    ) -> Result<Vec<RnsPoly<Coeff>>, Error> {
        let q_basis = a[0].basis();
        let backend = q_basis.backend().as_ref();
        let (level, kr) = (a[0].level(), self.r.len());
        // A square (the same polynomials twice) is extended once.
        let square = std::ptr::eq(a, b);
        // Each input polynomial's extension to Q ∪ R is independent work.
        let inputs: Vec<&RnsPoly<Coeff>> = if square {
            a.iter().collect()
        } else {
            a.iter().chain(b).collect()
        };
        let mut extended = parallel::map(backend, &inputs, |p| {
            let in_r = p.exact_lift(&self.q_to_r, &self.r, kr)?;
            Ok::<_, Error>((p.try_clone()?.into_ntt(), in_r.into_ntt()))
        })
        .into_iter()
        .collect::<Result<Vec<_>, Error>>()?;
        let eb = if square {
            Vec::new()
        } else {
            extended.split_off(a.len())
        };
        let ea = extended;
        let eb = if square { &ea } else { &eb };
        let out_len = a.len() + b.len() - 1;
        let mut tensor: Vec<(RnsPoly<Ntt>, RnsPoly<Ntt>)> = (0..out_len)
            .map(|_| Ok((RnsPoly::zero(q_basis, level)?, RnsPoly::zero(&self.r, kr)?)))
            .collect::<Result<_, Error>>()?;
        for (i, (aq, ar)) in ea.iter().enumerate() {
            for (j, (bq, br)) in eb.iter().enumerate() {
                tensor[i + j].0.mul_add_prefix(aq, bq);
                tensor[i + j].1.mul_add_prefix(ar, br);
            }
        }
        parallel::map_owned(backend, tensor, |(eq, er)| {
            let (eq, er) = (eq.into_coeff(), er.into_coeff());
            let y_r = eq.scale_round(&er, &self.round)?;
            y_r.exact_lift(&self.r_to_q, q_basis, level)
        })
        .into_iter()
        .collect()
    }
}

/// `−t·(a ⊗ b) mod Q` (`neg_t[i] = −t mod q_i`): the product where
/// `Q ≡ 1 (mod t)`, see the module documentation.
fn multiply_in_q(
    a: &[RnsPoly<Coeff>],
    b: &[RnsPoly<Coeff>],
    neg_t: &[u64],
) -> Result<Vec<RnsPoly<Coeff>>, Error> {
    let backend = a[0].basis().backend().as_ref();
    // A square is transformed once.
    let square = std::ptr::eq(a, b);
    let inputs: Vec<&RnsPoly<Coeff>> = if square {
        a.iter().collect()
    } else {
        a.iter().chain(b).collect()
    };
    let mut ntt = parallel::map(backend, &inputs, |p| {
        Ok::<_, Error>(p.try_clone()?.into_ntt())
    })
    .into_iter()
    .collect::<Result<Vec<_>, Error>>()?;
    let nb = if square {
        Vec::new()
    } else {
        ntt.split_off(a.len())
    };
    let na = ntt;
    let nb = if square { &na } else { &nb };
    let tensor: Vec<RnsPoly<Ntt>> = match (na.as_slice(), nb.as_slice()) {
        ([a0, a1], [b0, b1]) => crate::rlwe::keyswitch::compose::tensor([a0, a1], [b0, b1])?.into(),
        _ => {
            let mut out = (0..na.len() + nb.len() - 1)
                .map(|_| RnsPoly::zero(na[0].basis(), na[0].level()))
                .collect::<Result<Vec<_>, Error>>()?;
            for (i, x) in na.iter().enumerate() {
                for (j, y) in nb.iter().enumerate() {
                    x.check_compatible(y)?;
                    out[i + j].mul_add_prefix(x, y);
                }
            }
            out
        }
    };
    Ok(parallel::map_owned(backend, tensor, |mut d| {
        d.mul_limb_constants(neg_t);
        d.into_coeff()
    }))
}
