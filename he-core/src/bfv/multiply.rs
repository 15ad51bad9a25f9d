//! Ciphertext × ciphertext multiplication in full RNS (Halevi–Polyakov–Shoup).
//!
//! The product `round(t/Q · c ⊗ d)` needs the tensor `c ⊗ d` exactly, which
//! is larger than `Q`. Each input is lifted exactly (as its centred
//! representative) to an auxiliary basis `R` with `R > t·n·Q`, the tensor is
//! taken in `Q ∪ R` by NTT, `round(t·e/Q)` is computed directly modulo the
//! primes of `R`, and that result — smaller than `R/2` — is lifted exactly
//! back to `Q`. Exact lifts and the rounding use 128-bit fixed-point sums
//! (see `ExactLift` and `ScaleRound`), no big integers; the backend runs both.

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
}

impl MulContext {
    pub fn new(q: &[Modulus], r: &Arc<RnsBasis>, t: u64) -> Self {
        Self {
            r: Arc::clone(r),
            q_to_r: ExactLift::new(q, r.moduli()),
            r_to_q: ExactLift::new(r.moduli(), q),
            round: ScaleRound::new(q, r, t),
        }
    }

    /// `round(t/Q · a ⊗ b)` for ciphertexts given as coefficient-form polynomials.
    pub fn multiply(
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
